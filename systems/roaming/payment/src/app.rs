//! The payment use cases: take a payment (idempotent by reservation), report it, void it, and
//! refund it when the booth cancels the rental.

use crate::adapters::outbound::stored::BY_RESERVATION;
use crate::domain::card::Card;
use crate::domain::payment::{Payment, PaymentStatus};
use kernel::aggregate::{ChangeError, Repository, StoreError};
use kernel::{Cause, clock};
use std::convert::Infallible;

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
#[derive(Debug)]
pub struct PaymentService {
    store: Repository<Payment>,
}

/// How many times a void looks again when a concurrent payment of the same reservation won.
const VOID_ATTEMPTS: usize = 8;

impl PaymentService {
    /// Wires the use cases to their store.
    pub fn new(store: Repository<Payment>) -> Self {
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
        if let Some(existing) = self.by_reservation(&command.reservation_id).await? {
            return Self::answer(existing, &command);
        }
        let (payment, events) = Payment::take(
            uuid::Uuid::now_v7().to_string(),
            &command.reservation_id,
            &command.customer_id,
            command.amount,
            &card,
            clock::now(),
        )
        .map_err(|e| invalid("invalid_amount", &e.to_string()))?;
        match self.store.create(&payment, &events, None).await {
            Ok(()) => Self::answer(payment, &command),
            Err(StoreError::Duplicate { .. }) => {
                let existing = self
                    .by_reservation(&command.reservation_id)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("a concurrent payment vanished"))?;
                Self::answer(existing, &command)
            }
            Err(error) => Err(PayError::Unknown(error.into())),
        }
    }

    /// The payment of a reservation.
    pub async fn by_reservation(&self, reservation_id: &str) -> anyhow::Result<Option<Payment>> {
        self.store.find_unique(BY_RESERVATION, reservation_id).await
    }

    /// Makes sure a reservation is never charged: refunds its approved payment, or records that
    /// none may be taken. Idempotent.
    pub async fn void(&self, reservation_id: &str) -> anyhow::Result<Payment> {
        for _ in 0..VOID_ATTEMPTS {
            if let Some(payment) = self.by_reservation(reservation_id).await? {
                return self
                    .refund(&payment.id, None)
                    .await
                    .map_err(anyhow::Error::from);
            }
            let (payment, events) = Payment::void_unpaid(
                uuid::Uuid::now_v7().to_string(),
                reservation_id,
                clock::now(),
            );
            match self.store.create(&payment, &events, None).await {
                Ok(()) => return Ok(payment),
                Err(StoreError::Duplicate { .. }) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        anyhow::bail!("payment of reservation {reservation_id} kept changing concurrently")
    }

    async fn refund(
        &self,
        payment_id: &str,
        cause: Option<&Cause>,
    ) -> Result<Payment, ChangeError<Infallible>> {
        self.store
            .update(payment_id, cause, |p| Ok(p.refund()))
            .await
    }

    /// Policy: when the booth cancels the rental of a reservation, refund its payment.
    pub async fn refund_canceled_rental(
        &self,
        reservation_id: &str,
        cause: &Cause,
    ) -> Result<Payment, ChangeError<Infallible>> {
        let Some(payment) = self.by_reservation(reservation_id).await? else {
            return Err(ChangeError::not_found::<Payment>(format!(
                "for reservation {reservation_id}"
            )));
        };
        self.refund(&payment.id, Some(cause)).await
    }
}

#[cfg(test)]
mod tests;
