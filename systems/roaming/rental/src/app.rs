//! The booth use cases (hand out, collect, the queue) and the policies that turn reservation
//! events into rentals.

use crate::adapters::outbound::stored::{ACTIVE, ACTIVE_AT_BOOTH, ALL, BY_BOOTH, active};
use crate::domain::rental::{Booking, Rental, RentalError, RentalEvent, RentalStatus};
use kernel::aggregate::{ChangeError, Repository, StoreError};
use kernel::{Cause, clock};
use roaming_contracts::events as contract;

/// Why a booth command failed.
pub(crate) type CommandError = ChangeError<RentalError>;

/// The queue shows at most this many rentals.
const QUEUE_LIMIT: u32 = 500;

/// The use cases.
#[derive(Debug)]
pub(crate) struct BoothService {
    store: Repository<Rental>,
}

impl BoothService {
    /// Wires the use cases to their store.
    pub(crate) fn new(store: Repository<Rental>) -> Self {
        Self { store }
    }

    /// One rental, if it belongs to `booth` (when given).
    pub(crate) async fn get(
        &self,
        reservation_id: &str,
        booth: Option<&str>,
    ) -> Result<Rental, CommandError> {
        self.store
            .get(reservation_id)
            .await?
            .filter(|r| booth.is_none_or(|b| b == r.booth))
            .ok_or_else(|| CommandError::not_found::<Rental>(reservation_id))
    }

    /// The booth's queue (or every booth's), in a status (or any), by pickup day: every rental
    /// still at work (up to 500 by earliest pickup), or the newest 500 of the history.
    pub(crate) async fn queue(
        &self,
        booth: Option<&str>,
        status: Option<RentalStatus>,
    ) -> anyhow::Result<Vec<Rental>> {
        let at_work = status.is_some_and(active);
        let (key, value) = match (booth, at_work) {
            (Some(booth), true) => (ACTIVE_AT_BOOTH, booth),
            (Some(booth), false) => (BY_BOOTH, booth),
            (None, true) => (ACTIVE, ""),
            (None, false) => (ALL, ""),
        };
        let mut rentals = self.store.find(key, value, QUEUE_LIMIT).await?;
        rentals.retain(|r| status.is_none_or(|s| s == r.status));
        rentals.sort_by(|a, b| (&a.rental_date, a.created_at).cmp(&(&b.rental_date, b.created_at)));
        Ok(rentals)
    }

    /// Staff hand out the device.
    pub(crate) async fn hand_out(
        &self,
        reservation_id: &str,
        serial: &str,
        booth: Option<&str>,
    ) -> Result<Rental, CommandError> {
        self.get(reservation_id, booth).await?;
        self.store
            .update(reservation_id, None, |r| r.hand_out(serial))
            .await
    }

    /// Staff collect the returned device.
    pub(crate) async fn collect(
        &self,
        reservation_id: &str,
        booth: Option<&str>,
    ) -> Result<Rental, CommandError> {
        self.get(reservation_id, booth).await?;
        self.store
            .update(reservation_id, None, Rental::collect)
            .await
    }

    /// Policy: a paid reservation becomes a rental at its booth.
    pub(crate) async fn accept(
        &self,
        reserved: contract::Reserved,
        cause: &Cause,
    ) -> Result<(), StoreError> {
        let terms = reserved.terms;
        let (rental, events) = Rental::accept(
            Booking {
                reservation_id: terms.reservation_id,
                customer_id: terms.customer_id,
                booth: terms.booth,
                device_model: terms.device_model,
                rental_date: terms.rental_date,
                return_date: terms.return_date,
            },
            clock::now(),
        );
        self.store.create(&rental, &events, Some(cause)).await
    }

    /// Policy: the event `cause` moves the rental of its reservation as `decide` says.
    pub(crate) async fn react<F>(&self, cause: &Cause, decide: F) -> Result<Rental, CommandError>
    where
        F: Fn(&Rental) -> Result<Vec<RentalEvent>, RentalError>,
    {
        self.store
            .update(cause.subject(), Some(cause), decide)
            .await
    }
}

#[cfg(test)]
mod tests;
