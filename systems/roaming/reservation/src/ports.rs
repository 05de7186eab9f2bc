//! The ports the application needs, named by role: how payments are taken and what time it is.
//! (Reservations are kept by the kernel's aggregate repository.)

use crate::domain::reservation::Reservation;
use async_trait::async_trait;
use std::time::Duration;
use time::{Date, OffsetDateTime};

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
