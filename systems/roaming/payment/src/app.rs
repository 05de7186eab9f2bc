//! The payment use cases: take a payment (idempotent by reservation), report it, void it, and
//! refund it when the booth cancels the rental.

use crate::domain::card::Card;
use crate::domain::payment::{Payment, PaymentStatus};
use crate::ports::{PaymentStore, StoreError};
use kernel::Envelope;
use roaming_contracts::events as contract;
use std::sync::Arc;
use time::OffsetDateTime;

/// A payment request.
#[derive(Debug, Clone)]
pub struct PayCommand {
    /// The reservation (idempotency key).
    pub reservation_id: String,
    /// Who pays.
    pub customer_id: String,
    /// KRW.
    pub amount: i64,
    /// Card number.
    pub card_number: String,
}

/// Why a payment was not approved.
#[derive(Debug, thiserror::Error)]
pub enum PayError {
    /// The request is invalid.
    #[error("{message}")]
    Invalid {
        /// Stable code.
        code: &'static str,
        /// What is wrong.
        message: String,
    },
    /// Declined (stored: repeating the request answers the same).
    #[error("declined: {0}")]
    Declined(String),
    /// The reservation's payment was voided.
    #[error("the payment of this reservation was voided")]
    Voided,
    /// The reservation's payment was refunded.
    #[error("the payment of this reservation was refunded")]
    Refunded,
    /// The same reservation was paid with a different amount.
    #[error("reservation {0} was already paid with a different amount")]
    AmountMismatch(String),
    /// The store failed.
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

/// The use cases.
pub struct PaymentService {
    store: Arc<dyn PaymentStore>,
}

impl std::fmt::Debug for PaymentService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PaymentService")
    }
}

const CONFLICT_RETRIES: usize = 8;

impl PaymentService {
    /// Wires the use cases to their store.
    pub fn new(store: Arc<dyn PaymentStore>) -> Self {
        Self { store }
    }

    fn answer(existing: Payment, command: &PayCommand) -> Result<Payment, PayError> {
        if existing.status != PaymentStatus::Voided && existing.amount != command.amount {
            return Err(PayError::AmountMismatch(existing.reservation_id));
        }
        match existing.status {
            PaymentStatus::Approved => Ok(existing),
            PaymentStatus::Declined => Err(PayError::Declined(
                existing
                    .decline_reason
                    .unwrap_or_else(|| "card_declined".to_owned()),
            )),
            PaymentStatus::Voided => Err(PayError::Voided),
            PaymentStatus::Canceled => Err(PayError::Refunded),
        }
    }

    /// Takes a payment; a repeated request for the same reservation answers as the first did.
    pub async fn pay(&self, command: PayCommand) -> Result<Payment, PayError> {
        let invalid = |code, message: &str| PayError::Invalid {
            code,
            message: message.to_owned(),
        };
        if command.reservation_id.is_empty() || command.reservation_id.len() > 64 {
            return Err(invalid(
                "invalid_reservation_id",
                "reservationId must be 1 to 64 characters",
            ));
        }
        if command.customer_id.is_empty() || command.customer_id.len() > 64 {
            return Err(invalid(
                "invalid_customer_id",
                "customerId must be 1 to 64 characters",
            ));
        }
        let card = Card::parse(&command.card_number)
            .map_err(|e| invalid("invalid_card_number", &e.to_string()))?;
        if let Some(existing) = self
            .store
            .by_reservation(&command.reservation_id)
            .await
            .map_err(unknown)?
        {
            return Self::answer(existing, &command);
        }
        let (payment, events) = Payment::take(
            uuid::Uuid::now_v7().to_string(),
            &command.reservation_id,
            &command.customer_id,
            command.amount,
            &card,
            OffsetDateTime::now_utc(),
        )
        .map_err(|e| invalid("invalid_amount", &e.to_string()))?;
        match self.store.insert(&payment, &events).await {
            Ok(()) => Self::answer(payment, &command),
            Err(StoreError::DuplicateReservation) => {
                let existing = self
                    .store
                    .by_reservation(&command.reservation_id)
                    .await
                    .map_err(unknown)?
                    .ok_or_else(|| anyhow::anyhow!("a concurrent payment vanished"))?;
                Self::answer(existing, &command)
            }
            Err(error) => Err(unknown(error)),
        }
    }

    /// The payment of a reservation.
    pub async fn by_reservation(&self, reservation_id: &str) -> anyhow::Result<Option<Payment>> {
        Ok(self.store.by_reservation(reservation_id).await?)
    }

    /// Makes sure a reservation is never charged: refunds its approved payment, or records that
    /// none may be taken. Idempotent.
    pub async fn void(&self, reservation_id: &str) -> anyhow::Result<Payment> {
        for _ in 0..CONFLICT_RETRIES {
            match self.store.by_reservation(reservation_id).await? {
                None => {
                    let (payment, events) = Payment::void_unpaid(
                        uuid::Uuid::now_v7().to_string(),
                        reservation_id,
                        OffsetDateTime::now_utc(),
                    );
                    match self.store.insert(&payment, &events).await {
                        Ok(()) => return Ok(payment),
                        Err(StoreError::DuplicateReservation) => continue,
                        Err(error) => return Err(error.into()),
                    }
                }
                Some(payment) => match self.refund(payment, None).await? {
                    Some(done) => return Ok(done),
                    None => continue,
                },
            }
        }
        anyhow::bail!("payment of reservation {reservation_id} kept changing concurrently")
    }

    /// Refunds; `None` when a concurrent change won and the caller should look again.
    async fn refund(
        &self,
        mut payment: Payment,
        cause: Option<&Envelope>,
    ) -> anyhow::Result<Option<Payment>> {
        let events = payment.refund();
        if events.is_empty() {
            return Ok(Some(payment));
        }
        let previous = payment.version;
        payment.apply_all(&events, OffsetDateTime::now_utc());
        match self.store.update(&payment, previous, &events, cause).await {
            Ok(()) | Err(StoreError::AlreadyHandled) => Ok(Some(payment)),
            Err(StoreError::Conflict) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    /// Policy: when the booth cancels a rental, refund its reservation's payment.
    pub async fn on_event(&self, event: &Envelope) -> anyhow::Result<()> {
        if !event.is::<contract::RentalCanceled>() {
            return Ok(());
        }
        let canceled: contract::RentalCanceled = event.decode()?;
        for _ in 0..CONFLICT_RETRIES {
            let Some(payment) = self.store.by_reservation(&canceled.reservation_id).await? else {
                anyhow::bail!(
                    "rental of reservation {} was canceled but it has no payment to refund",
                    canceled.reservation_id
                );
            };
            if self.refund(payment, Some(event)).await?.is_some() {
                return Ok(());
            }
        }
        anyhow::bail!(
            "payment of reservation {} kept changing concurrently",
            canceled.reservation_id
        )
    }
}

fn unknown(error: StoreError) -> PayError {
    PayError::Unknown(error.into())
}
