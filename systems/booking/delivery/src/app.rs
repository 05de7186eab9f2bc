//! The delivery team's use cases (the queue, ship) and the policies that queue the tickets of
//! paid bookings and cancel those of canceled ones.

use crate::domain::delivery::{Delivery, DeliveryError, Parcel};
use booking_contracts::BookingStarted;
use kernel::aggregate::{ChangeError, Repository, StoreError};
use kernel::{Cause, clock};

/// Why a command on a delivery failed.
pub(crate) type CommandError = ChangeError<DeliveryError>;

/// The use cases.
#[derive(Debug)]
pub(crate) struct DeliveryService {
    store: Repository<Delivery>,
}

impl DeliveryService {
    /// Wires the use cases to their store.
    pub(crate) fn new(store: Repository<Delivery>) -> Self {
        Self { store }
    }

    /// The store (for the queue's routes).
    pub(crate) fn store(&self) -> Repository<Delivery> {
        self.store.clone()
    }

    /// The delivery team ships a ticket.
    pub(crate) async fn ship(
        &self,
        booking_id: &str,
        shipper: &str,
    ) -> Result<Delivery, CommandError> {
        self.store
            .update(booking_id, None, |d| d.ship(shipper))
            .await
    }

    /// Policy: a paid booking's ticket joins the queue.
    pub(crate) async fn request(
        &self,
        started: BookingStarted,
        cause: &Cause,
    ) -> Result<(), StoreError> {
        let parcel = Parcel {
            customer_id: started.customer_id,
            musical_title: started.musical_title,
            starts_at: started.starts_at,
            grade: started.grade,
            quantity: started.quantity,
            address: started.delivery_address,
            phone: started.phone,
        };
        let (delivery, events) = Delivery::request(&started.booking_id, parcel, clock::now());
        self.store.create(&delivery, &events, Some(cause)).await
    }

    /// Policy: a canceled booking's delivery is canceled (voided if shipped).
    pub(crate) async fn cancel(&self, cause: &Cause) -> Result<Delivery, CommandError> {
        self.store
            .update(cause.subject(), Some(cause), Delivery::cancel)
            .await
    }
}

#[cfg(test)]
mod tests;
