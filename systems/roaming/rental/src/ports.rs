//! The ports of the booth application.

use crate::domain::rental::{Rental, RentalEvent, RentalStatus};
use async_trait::async_trait;
use kernel::Envelope;

/// Failures of the rental store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The rental changed since it was read.
    #[error("the rental changed concurrently")]
    Conflict,
    /// The reservation already has a rental.
    #[error("the reservation already has a rental")]
    Duplicate,
    /// The event that caused the change was handled before.
    #[error("the event was handled before")]
    AlreadyHandled,
    /// Anything else.
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

/// Where the booth keeps rentals; writes carry their events and the event reacted to.
#[async_trait]
pub trait RentalStore: Send + Sync + 'static {
    /// Stores a new rental.
    async fn insert(
        &self,
        rental: &Rental,
        events: &[RentalEvent],
        cause: Option<&Envelope>,
    ) -> Result<(), StoreError>;
    /// Stores a changed rental that was at `previous_version`.
    async fn update(
        &self,
        rental: &Rental,
        previous_version: u64,
        events: &[RentalEvent],
        cause: Option<&Envelope>,
    ) -> Result<(), StoreError>;
    /// One rental.
    async fn get(&self, reservation_id: &str) -> Result<Option<Rental>, StoreError>;
    /// Rentals of a booth (or all booths) in a status (or any), by pickup day.
    async fn queue(
        &self,
        booth: Option<&str>,
        status: Option<RentalStatus>,
    ) -> Result<Vec<Rental>, StoreError>;
}
