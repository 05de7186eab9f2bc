//! The delivery team's use cases (the queue, ship) and the policies that queue the tickets of
//! paid bookings and cancel those of canceled ones.

use crate::domain::delivery::{Delivery, DeliveryError, DeliveryStatus, Parcel};
use booking_contracts::BookingStarted;
use kernel::aggregate::{ChangeError, Repository, StoreError};
use kernel::{Cause, clock};

/// Why a command on a delivery failed.
pub type CommandError = ChangeError<DeliveryError>;

/// The use cases.
#[derive(Debug)]
pub struct DeliveryService {
    store: Repository<Delivery>,
}

impl DeliveryService {
    /// Wires the use cases to their store.
    pub fn new(store: Repository<Delivery>) -> Self {
        Self { store }
    }

    /// The store (for the queue's routes).
    pub fn store(&self) -> Repository<Delivery> {
        self.store.clone()
    }

    /// One delivery.
    pub async fn get(&self, booking_id: &str) -> Result<Delivery, CommandError> {
        self.store
            .get(booking_id)
            .await?
            .ok_or_else(|| CommandError::not_found::<Delivery>(booking_id))
    }

    /// The queue, oldest first: `limit` deliveries (of `status`, if given) after `offset`.
    pub async fn queue(
        &self,
        status: Option<DeliveryStatus>,
        offset: u32,
        limit: u32,
    ) -> anyhow::Result<Vec<Delivery>> {
        let status = status.map(DeliveryStatus::as_str);
        self.store.queue(status, offset, limit).await
    }

    /// The delivery team ships a ticket.
    pub async fn ship(&self, booking_id: &str, shipper: &str) -> Result<Delivery, CommandError> {
        self.store
            .update(booking_id, None, |d| d.ship(shipper))
            .await
    }

    /// Policy: a paid booking's ticket joins the queue.
    pub async fn request(&self, started: BookingStarted, cause: &Cause) -> Result<(), StoreError> {
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
    pub async fn cancel(&self, cause: &Cause) -> Result<Delivery, CommandError> {
        self.store
            .update(cause.subject(), Some(cause), Delivery::cancel)
            .await
    }
}

#[cfg(test)]
mod tests;
