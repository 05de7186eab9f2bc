//! The payment use cases: take a payment (idempotent by order), report it, and void it (refund
//! it when it was taken), on a caller's command or refund request.

use crate::adapters::outbound::stored::BY_ORDER;
use crate::domain::card::Card;
use crate::domain::payment::{Payment, PaymentStatus};
use kernel::aggregate::{ChangeError, Repository, StoreError};
use kernel::{Cause, clock};
use std::convert::Infallible;

/// A payment request.
#[derive(Debug, Clone)]
pub(crate) struct PayCommand {
    /// The order (idempotency key).
    pub order_id: String,
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
    /// The order's payment was voided.
    #[error("the payment of this order was voided")]
    Voided,
    /// The order's payment was refunded.
    #[error("the payment of this order was refunded")]
    Refunded,
    /// The same order was paid with a different amount.
    #[error("order {0} was already paid with a different amount")]
    AmountMismatch(String),
    /// The store failed.
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

/// The use cases.
#[derive(Debug)]
pub(crate) struct PaymentService {
    store: Repository<Payment>,
}

/// How many times a void looks again when a concurrent payment of the same order won.
const VOID_ATTEMPTS: usize = 8;

impl PaymentService {
    /// Wires the use cases to their store.
    pub(crate) fn new(store: Repository<Payment>) -> Self {
        Self { store }
    }

    fn answer(existing: Payment, command: &PayCommand) -> Result<Payment, PayError> {
        if existing.status != PaymentStatus::Voided && existing.amount != command.amount {
            return Err(PayError::AmountMismatch(existing.order_id));
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

    /// Takes a payment; a repeated request for the same order answers as the first did.
    pub(crate) async fn pay(&self, command: PayCommand) -> Result<Payment, PayError> {
        let invalid = |code, message: &str| PayError::Invalid {
            code,
            message: message.to_owned(),
        };
        if command.order_id.is_empty() || command.order_id.len() > 64 {
            return Err(invalid(
                "invalid_order_id",
                "orderId must be 1 to 64 characters",
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
        if let Some(existing) = self.by_order(&command.order_id).await? {
            return Self::answer(existing, &command);
        }
        let (payment, events) = Payment::take(
            uuid::Uuid::now_v7().to_string(),
            &command.order_id,
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
                    .by_order(&command.order_id)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("a concurrent payment vanished"))?;
                Self::answer(existing, &command)
            }
            Err(error) => Err(PayError::Unknown(error.into())),
        }
    }

    /// The payment of an order.
    pub(crate) async fn by_order(&self, order_id: &str) -> anyhow::Result<Option<Payment>> {
        self.store.find_unique(BY_ORDER, order_id).await
    }

    /// Makes sure an order is never charged: refunds its approved payment, or records that
    /// none may be taken (so a late payment request is refused). Idempotent; `cause` is the
    /// refund request it answers, if any.
    pub(crate) async fn void(
        &self,
        order_id: &str,
        cause: Option<&Cause>,
    ) -> Result<Payment, ChangeError<Infallible>> {
        for _ in 0..VOID_ATTEMPTS {
            if let Some(payment) = self.by_order(order_id).await? {
                return self
                    .store
                    .update(&payment.id, cause, |p| Ok(p.refund()))
                    .await;
            }
            let (payment, events) =
                Payment::void_unpaid(uuid::Uuid::now_v7().to_string(), order_id, clock::now());
            match self.store.create(&payment, &events, cause).await {
                Ok(()) => return Ok(payment),
                // A concurrent payment or void won, or this request was handled before: look again.
                Err(StoreError::Duplicate { .. } | StoreError::AlreadyHandled) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(anyhow::anyhow!("payment of order {order_id} kept changing concurrently").into())
    }
}

#[cfg(test)]
mod tests;
