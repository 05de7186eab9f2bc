//! The payment aggregate: one per reservation, approved or declined when taken, refunded when
//! the booth cancels the rental, voided when reconciliation gives up on it.

use super::card::{Card, DeclineReason, authorize};
use time::OffsetDateTime;

/// Where a payment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PaymentStatus {
    /// Money taken.
    Approved,
    /// Card refused.
    Declined,
    /// Refunded.
    Canceled,
    /// No payment may ever be taken for the order.
    Voided,
}

impl PaymentStatus {
    /// The API and store name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Approved => "Approved",
            Self::Declined => "Declined",
            Self::Canceled => "Canceled",
            Self::Voided => "Voided",
        }
    }

    /// Parses a stored name.
    pub(crate) fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "Approved" => Self::Approved,
            "Declined" => Self::Declined,
            "Canceled" => Self::Canceled,
            "Voided" => Self::Voided,
            _ => return None,
        })
    }
}

/// Something that happened to a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PaymentEvent {
    /// Approved.
    Approved,
    /// Declined.
    Declined {
        /// Why.
        reason: DeclineReason,
    },
    /// Refunded.
    Canceled,
    /// Voided before any payment was taken.
    Voided,
}

/// Why a payment could not be taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PaymentError {
    /// Amounts are positive.
    #[error("amount must be a positive number of KRW")]
    InvalidAmount,
}

/// The aggregate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Payment {
    /// Payment id.
    pub id: String,
    /// The order it pays for (its idempotency key).
    pub order_id: String,
    /// Who paid.
    pub customer_id: String,
    /// KRW.
    pub amount: i64,
    /// Last four card digits.
    pub card_last4: Option<String>,
    /// Where it stands.
    pub status: PaymentStatus,
    /// Why it was declined.
    pub decline_reason: Option<String>,
    /// Events applied.
    pub version: u64,
    /// When it was taken.
    pub created_at: OffsetDateTime,
    /// When it last changed.
    pub updated_at: OffsetDateTime,
}

impl Payment {
    /// Authorizes a charge of `amount` on `card` for an order.
    pub(crate) fn take(
        id: String,
        order_id: &str,
        customer_id: &str,
        amount: i64,
        card: &Card,
        now: OffsetDateTime,
    ) -> Result<(Self, Vec<PaymentEvent>), PaymentError> {
        if amount <= 0 {
            return Err(PaymentError::InvalidAmount);
        }
        let event = match authorize(card) {
            Ok(()) => PaymentEvent::Approved,
            Err(reason) => PaymentEvent::Declined { reason },
        };
        let mut payment = Self {
            id,
            order_id: order_id.to_owned(),
            customer_id: customer_id.to_owned(),
            amount,
            card_last4: Some(card.last4()),
            status: PaymentStatus::Declined,
            decline_reason: None,
            version: 0,
            created_at: now,
            updated_at: now,
        };
        let events = vec![event];
        payment.apply_all(&events, now);
        Ok((payment, events))
    }

    /// Records that no payment may be taken for an order that has none.
    pub(crate) fn void_unpaid(
        id: String,
        order_id: &str,
        now: OffsetDateTime,
    ) -> (Self, Vec<PaymentEvent>) {
        let mut payment = Self {
            id,
            order_id: order_id.to_owned(),
            customer_id: String::new(),
            amount: 0,
            card_last4: None,
            status: PaymentStatus::Voided,
            decline_reason: None,
            version: 0,
            created_at: now,
            updated_at: now,
        };
        let events = vec![PaymentEvent::Voided];
        payment.apply_all(&events, now);
        (payment, events)
    }

    /// Refunds an approved payment; anything else has nothing to refund.
    pub(crate) fn refund(&self) -> Vec<PaymentEvent> {
        match self.status {
            PaymentStatus::Approved => vec![PaymentEvent::Canceled],
            _ => vec![],
        }
    }

    /// Moves the state by one event.
    pub(crate) fn apply(&mut self, event: &PaymentEvent, at: OffsetDateTime) {
        match event {
            PaymentEvent::Approved => self.status = PaymentStatus::Approved,
            PaymentEvent::Declined { reason } => {
                self.status = PaymentStatus::Declined;
                self.decline_reason = Some(reason.code().to_owned());
            }
            PaymentEvent::Canceled => self.status = PaymentStatus::Canceled,
            PaymentEvent::Voided => self.status = PaymentStatus::Voided,
        }
        self.version += 1;
        self.updated_at = at;
    }

    /// Applies events in order.
    pub(crate) fn apply_all(&mut self, events: &[PaymentEvent], at: OffsetDateTime) {
        for event in events {
            self.apply(event, at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-22 10:00 UTC);

    fn take(card: &str) -> (Payment, Vec<PaymentEvent>) {
        Payment::take(
            "p1".into(),
            "r1",
            "c1",
            9_900,
            &Card::parse(card).unwrap(),
            NOW,
        )
        .unwrap()
    }

    #[test]
    fn a_good_card_is_approved_and_can_be_refunded_once() {
        let (payment, events) = take("4242424242424242");
        assert_eq!(events, vec![PaymentEvent::Approved]);
        assert_eq!(payment.refund(), vec![PaymentEvent::Canceled]);
        let mut refunded = payment.clone();
        refunded.apply_all(&payment.refund(), NOW);
        assert_eq!(refunded.status, PaymentStatus::Canceled);
        assert!(refunded.refund().is_empty(), "a refund is never paid twice");
    }

    #[test]
    fn a_declined_card_leaves_nothing_to_refund() {
        let (payment, events) = take("4000000000009995");
        assert_eq!(
            events,
            vec![PaymentEvent::Declined {
                reason: DeclineReason::InsufficientFunds
            }]
        );
        assert_eq!(
            payment.decline_reason.as_deref(),
            Some("insufficient_funds")
        );
        assert!(payment.refund().is_empty());
    }

    #[test]
    fn amounts_must_be_positive() {
        let card = Card::parse("4242424242424242").unwrap();
        assert_eq!(
            Payment::take("p".into(), "r", "c", 0, &card, NOW).unwrap_err(),
            PaymentError::InvalidAmount
        );
    }
}
