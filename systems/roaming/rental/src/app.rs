//! The booth use cases (hand out, collect, the queue) and the policies that turn reservation
//! events into rentals.

use crate::domain::rental::{Booking, Rental, RentalError, RentalEvent, RentalStatus};
use crate::ports::{RentalStore, StoreError};
use kernel::Envelope;
use roaming_contracts::events as contract;
use std::sync::Arc;
use time::OffsetDateTime;

/// Why a booth command failed.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// No rental for that reservation (at this booth).
    #[error("no rental for reservation {0}")]
    NotFound(String),
    /// The rental's state does not allow it.
    #[error(transparent)]
    Rejected(#[from] RentalError),
    /// The store failed.
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

/// The use cases.
pub struct BoothService {
    store: Arc<dyn RentalStore>,
}

impl std::fmt::Debug for BoothService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BoothService")
    }
}

const CONFLICT_RETRIES: usize = 8;

impl BoothService {
    /// Wires the use cases to their store.
    pub fn new(store: Arc<dyn RentalStore>) -> Self {
        Self { store }
    }

    /// One rental, if it belongs to `booth` (when given).
    pub async fn get(
        &self,
        reservation_id: &str,
        booth: Option<&str>,
    ) -> Result<Rental, CommandError> {
        let rental = self
            .store
            .get(reservation_id)
            .await
            .map_err(|e| CommandError::Unknown(e.into()))?
            .filter(|r| booth.is_none_or(|b| b == r.booth))
            .ok_or_else(|| CommandError::NotFound(reservation_id.to_owned()))?;
        Ok(rental)
    }

    /// The booth's queue.
    pub async fn queue(
        &self,
        booth: Option<&str>,
        status: Option<RentalStatus>,
    ) -> anyhow::Result<Vec<Rental>> {
        Ok(self.store.queue(booth, status).await?)
    }

    /// Staff hand out the device.
    pub async fn hand_out(
        &self,
        reservation_id: &str,
        serial: &str,
        booth: Option<&str>,
    ) -> Result<Rental, CommandError> {
        self.get(reservation_id, booth).await?;
        self.mutate(reservation_id, None, |r| r.hand_out(serial))
            .await
    }

    /// Staff collect the returned device.
    pub async fn collect(
        &self,
        reservation_id: &str,
        booth: Option<&str>,
    ) -> Result<Rental, CommandError> {
        self.get(reservation_id, booth).await?;
        self.mutate(reservation_id, None, Rental::collect).await
    }

    /// Policies: a paid reservation becomes a rental at its booth; a cancel request is decided;
    /// a return is noted.
    pub async fn on_event(&self, event: &Envelope) -> anyhow::Result<()> {
        if event.is::<contract::Reserved>() {
            let reserved: contract::Reserved = event.decode()?;
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
                OffsetDateTime::now_utc(),
            );
            return match self.store.insert(&rental, &events, Some(event)).await {
                Ok(()) | Err(StoreError::AlreadyHandled | StoreError::Duplicate) => Ok(()),
                Err(error) => Err(error.into()),
            };
        }
        let outcome = if event.is::<contract::CancelRequested>() {
            self.mutate(&event.subject, Some(event), |r| Ok(r.decide_cancel()))
                .await
        } else if event.is::<contract::Returned>() {
            self.mutate(&event.subject, Some(event), Rental::note_returned)
                .await
        } else {
            return Ok(());
        };
        match outcome {
            Ok(_) => Ok(()),
            Err(CommandError::Rejected(rejection)) => {
                tracing::warn!(reservation = %event.subject, event_type = %event.event_type, %rejection, "event ignored");
                Ok(())
            }
            Err(CommandError::NotFound(id)) => {
                anyhow::bail!("event {} is about unknown rental {id}", event.id)
            }
            Err(CommandError::Unknown(error)) => Err(error),
        }
    }

    async fn mutate<F>(
        &self,
        reservation_id: &str,
        cause: Option<&Envelope>,
        decide: F,
    ) -> Result<Rental, CommandError>
    where
        F: Fn(&Rental) -> Result<Vec<RentalEvent>, RentalError>,
    {
        for _ in 0..CONFLICT_RETRIES {
            let mut rental = self
                .store
                .get(reservation_id)
                .await
                .map_err(|e| CommandError::Unknown(e.into()))?
                .ok_or_else(|| CommandError::NotFound(reservation_id.to_owned()))?;
            let events = decide(&rental)?;
            if events.is_empty() {
                return Ok(rental);
            }
            let previous = rental.version;
            rental.apply_all(&events, OffsetDateTime::now_utc());
            match self.store.update(&rental, previous, &events, cause).await {
                Ok(()) | Err(StoreError::AlreadyHandled) => return Ok(rental),
                Err(StoreError::Conflict) => continue,
                Err(error) => return Err(CommandError::Unknown(error.into())),
            }
        }
        Err(CommandError::Unknown(anyhow::anyhow!(
            "rental {reservation_id} kept changing concurrently"
        )))
    }
}
