//! The ports of the payment application.

use crate::domain::payment::{Payment, PaymentEvent};
use async_trait::async_trait;
use kernel::Envelope;

/// Failures of the payment store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The payment changed since it was read.
    #[error("the payment changed concurrently")]
    Conflict,
    /// The reservation already has a payment.
    #[error("the reservation already has a payment")]
    DuplicateReservation,
    /// The event that caused the change was handled before.
    #[error("the event was handled before")]
    AlreadyHandled,
    /// Anything else.
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

/// Where payments are kept; every write carries its events (outbox) and, for reactions, the
/// event reacted to (inbox) in one transaction.
#[async_trait]
pub trait PaymentStore: Send + Sync + 'static {
    /// Stores a new payment.
    async fn insert(&self, payment: &Payment, events: &[PaymentEvent]) -> Result<(), StoreError>;
    /// Stores a changed payment that was at `previous_version`.
    async fn update(
        &self,
        payment: &Payment,
        previous_version: u64,
        events: &[PaymentEvent],
        cause: Option<&Envelope>,
    ) -> Result<(), StoreError>;
    /// The payment of a reservation.
    async fn by_reservation(&self, reservation_id: &str) -> Result<Option<Payment>, StoreError>;
}
