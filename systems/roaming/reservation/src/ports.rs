//! The ports the application needs, named by role: where reservations are kept, how payments are
//! taken, and what time it is.

use crate::domain::reservation::{Reservation, ReservationEvent};
use crate::domain::values::{CustomerId, IdempotencyKey};
use async_trait::async_trait;
use kernel::Envelope;
use std::time::Duration;
use time::{Date, OffsetDateTime};

/// Failures of the reservation store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Someone changed the reservation since it was read; decide again on fresh state.
    #[error("the reservation changed concurrently")]
    Conflict,
    /// The event that caused this change was handled before.
    #[error("the event was handled before")]
    AlreadyHandled,
    /// The customer already used this idempotency key.
    #[error("a reservation with this idempotency key exists")]
    DuplicateKey,
    /// Anything else (store down, ...).
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

/// Where reservations are kept. Every write stores the state and its events (outbox) in one
/// transaction, and, when it reacts to an event, records that event (inbox) in it too.
#[async_trait]
pub trait ReservationStore: Send + Sync + 'static {
    /// Stores a new reservation with its first events; when `takes_key_from` names an earlier
    /// reservation, that one gives up its idempotency key in the same transaction.
    async fn create(
        &self,
        reservation: &Reservation,
        events: &[ReservationEvent],
        takes_key_from: Option<&str>,
    ) -> Result<(), StoreError>;
    /// Stores `reservation` (which was at `previous_version`) and the events that moved it.
    async fn update(
        &self,
        reservation: &Reservation,
        previous_version: u64,
        events: &[ReservationEvent],
        cause: Option<&Envelope>,
    ) -> Result<(), StoreError>;
    /// One reservation.
    async fn get(&self, id: &str) -> Result<Option<Reservation>, StoreError>;
    /// A customer's reservations, newest first.
    async fn by_customer(&self, customer: &CustomerId) -> Result<Vec<Reservation>, StoreError>;
    /// The customer's reservation made with `key`.
    async fn by_idempotency_key(
        &self,
        customer: &CustomerId,
        key: &IdempotencyKey,
    ) -> Result<Option<Reservation>, StoreError>;
    /// Reservations still waiting for their payment, last changed before `before`.
    async fn payment_pending_before(
        &self,
        before: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Reservation>, StoreError>;
}

/// A payment decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentOutcome {
    /// Money taken.
    Approved {
        /// The payment.
        payment_id: String,
    },
    /// Card refused.
    Declined {
        /// The payment's reason code.
        reason: String,
    },
}

/// Why no payment decision came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentFailure {
    /// Payment is unavailable and the request certainly did not reach it (breaker open,
    /// connection refused): nothing was charged.
    Unavailable {
        /// When to try again.
        retry_after: Duration,
    },
    /// The request may have reached payment (timeout, error answer): the outcome is unknown.
    Unknown {
        /// When to try again.
        retry_after: Duration,
    },
    /// This reservation's payment was voided: it can never be paid.
    Voided,
}

/// What payment knows about a reservation's payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentState {
    /// No payment request arrived.
    NotFound,
    /// Approved and not refunded.
    Approved {
        /// The payment.
        payment_id: String,
    },
    /// Declined.
    Declined {
        /// The reason code.
        reason: String,
    },
    /// Approved and then refunded.
    Canceled,
    /// Voided: no payment will ever be taken.
    Voided,
}

/// How reservations are paid (request-response: no reservation without its payment).
#[async_trait]
pub trait PaymentGateway: Send + Sync + 'static {
    /// Pays for `reservation` with a card, keyed by the reservation id (safe to repeat).
    async fn pay(
        &self,
        reservation: &Reservation,
        card_number: &str,
    ) -> Result<PaymentOutcome, PaymentFailure>;
    /// Asks what became of the reservation's payment.
    async fn state(&self, reservation_id: &str) -> anyhow::Result<PaymentState>;
    /// Makes sure the reservation is never charged: refunds an approved payment, or records
    /// that none may be taken. Returns the final state.
    async fn void(&self, reservation_id: &str) -> anyhow::Result<PaymentState>;
}

/// What time it is.
pub trait Clock: Send + Sync + 'static {
    /// Now.
    fn now(&self) -> OffsetDateTime;
    /// Today where the booths are (Korea, UTC+9).
    fn today(&self) -> Date;
}
