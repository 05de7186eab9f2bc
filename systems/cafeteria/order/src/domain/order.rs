//! The drink order (주문): paid synchronously when made, then the barista's; canceled by a saga
//! (the drink canceled before the barista accepts it, then the payment refunded), or restored
//! when the barista had already accepted it (the compensation).

use super::menu::Drink;
use time::OffsetDateTime;

/// At most this many cups per order.
pub(crate) const MAX_QTY: u32 = 20;

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OrderStatus {
    /// Waiting for payment.
    PaymentPending,
    /// Paid: the barista makes it.
    Ordered,
    /// Not paid, for good.
    OrderFailed,
    /// The customer asked to cancel; waiting for the drink to be canceled and the refund.
    CancelRequested,
    /// Drink canceled and payment refunded.
    Canceled,
}

const STATUSES: [OrderStatus; 5] = [
    OrderStatus::PaymentPending,
    OrderStatus::Ordered,
    OrderStatus::OrderFailed,
    OrderStatus::CancelRequested,
    OrderStatus::Canceled,
];

impl OrderStatus {
    /// The API and store name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::PaymentPending => "PaymentPending",
            Self::Ordered => "Ordered",
            Self::OrderFailed => "OrderFailed",
            Self::CancelRequested => "CancelRequested",
            Self::Canceled => "Canceled",
        }
    }

    /// Parses a stored name.
    pub(crate) fn parse(value: &str) -> Option<Self> {
        STATUSES.into_iter().find(|s| s.as_str() == value)
    }
}

/// Something that happened to an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OrderEvent {
    /// Made, waiting for payment.
    Placed,
    /// Payment approved at `paid_at`.
    Paid {
        /// The payment.
        payment_id: String,
        /// When.
        paid_at: OffsetDateTime,
    },
    /// Not paid, for good.
    Failed {
        /// Payment's decline code, `payment_unavailable` or `payment_timeout`.
        reason: String,
    },
    /// The payment's outcome could not be learned in time.
    PaymentUnconfirmed,
    /// The customer asked to cancel.
    CancelRequested,
    /// The barista had accepted the drink: the order is `Ordered` again.
    Restored,
    /// The drink was canceled: payment is asked to refund.
    RefundRequested,
    /// Payment refunded: canceled.
    Canceled,
}

/// A command the order's state does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an order that is {status} cannot be {action}")]
pub(crate) struct NotAllowed {
    /// The state.
    pub status: &'static str,
    /// What was asked.
    pub action: &'static str,
}

/// The aggregate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DrinkOrder {
    /// Order id (the correlation key).
    pub id: String,
    /// Who ordered.
    pub customer_id: String,
    /// What.
    pub drink: &'static Drink,
    /// How many cups (1 to [`MAX_QTY`]).
    pub qty: u32,
    /// The client's idempotency key, if any.
    pub idempotency_key: Option<String>,
    /// Where it stands.
    pub status: OrderStatus,
    /// Why it failed.
    pub failure: Option<String>,
    /// The payment's outcome could not be learned in time.
    pub payment_unconfirmed: bool,
    /// The approved payment and when it was approved.
    pub payment: Option<(String, OffsetDateTime)>,
    /// The refund was asked for (the drink is canceled).
    pub refund_requested: bool,
    /// Events applied.
    pub version: u64,
    /// Made at.
    pub created_at: OffsetDateTime,
    /// Last changed at.
    pub updated_at: OffsetDateTime,
}

impl DrinkOrder {
    /// Makes an order for `qty` cups of `drink`, waiting for its payment.
    pub(crate) fn place(
        id: String,
        customer_id: &str,
        drink: &'static Drink,
        qty: u32,
        idempotency_key: Option<String>,
        now: OffsetDateTime,
    ) -> (Self, Vec<OrderEvent>) {
        let mut order = Self {
            id,
            customer_id: customer_id.to_owned(),
            drink,
            qty,
            idempotency_key,
            status: OrderStatus::PaymentPending,
            failure: None,
            payment_unconfirmed: false,
            payment: None,
            refund_requested: false,
            version: 0,
            created_at: now,
            updated_at: now,
        };
        let events = vec![OrderEvent::Placed];
        order.apply(&events[0], now);
        (order, events)
    }

    /// The price: menu price × cups (KRW).
    pub(crate) fn amount(&self) -> i64 {
        self.drink.price * i64::from(self.qty)
    }

    fn refuse(&self, action: &'static str) -> NotAllowed {
        NotAllowed {
            status: self.status.as_str(),
            action,
        }
    }

    /// Payment approved at `now`.
    pub(crate) fn pay(
        &self,
        payment_id: &str,
        now: OffsetDateTime,
    ) -> Result<Vec<OrderEvent>, NotAllowed> {
        let payment_id = payment_id.to_owned();
        let paid = OrderEvent::Paid {
            payment_id,
            paid_at: now,
        };
        match self.status {
            OrderStatus::PaymentPending => Ok(vec![paid]),
            _ if self.payment.is_some() => Ok(vec![]),
            _ => Err(self.refuse("paid")),
        }
    }

    /// Not paid, for good.
    pub(crate) fn fail(&self, reason: &str) -> Result<Vec<OrderEvent>, NotAllowed> {
        let reason = reason.to_owned();
        match self.status {
            OrderStatus::PaymentPending => Ok(vec![OrderEvent::Failed { reason }]),
            OrderStatus::OrderFailed => Ok(vec![]),
            _ => Err(self.refuse("failed")),
        }
    }

    /// The payment's outcome could not be learned in time.
    pub(crate) fn leave_unconfirmed(&self) -> Result<Vec<OrderEvent>, NotAllowed> {
        match self.status {
            OrderStatus::PaymentPending if !self.payment_unconfirmed => {
                Ok(vec![OrderEvent::PaymentUnconfirmed])
            }
            OrderStatus::PaymentPending => Ok(vec![]),
            _ => Err(self.refuse("left unconfirmed")),
        }
    }

    /// The customer cancels: the drink is canceled unless the barista accepted it already.
    pub(crate) fn request_cancel(&self) -> Result<Vec<OrderEvent>, NotAllowed> {
        match self.status {
            OrderStatus::Ordered => Ok(vec![OrderEvent::CancelRequested]),
            OrderStatus::CancelRequested | OrderStatus::Canceled => Ok(vec![]),
            _ => Err(self.refuse("canceled")),
        }
    }

    /// The drink was canceled: payment refunds.
    pub(crate) fn drink_canceled(&self) -> Result<Vec<OrderEvent>, NotAllowed> {
        match self.status {
            OrderStatus::CancelRequested if !self.refund_requested => {
                Ok(vec![OrderEvent::RefundRequested])
            }
            _ => Ok(vec![]),
        }
    }

    /// The barista had accepted the drink: the order stands (the compensation).
    pub(crate) fn cancel_refused(&self) -> Result<Vec<OrderEvent>, NotAllowed> {
        match self.status {
            OrderStatus::CancelRequested if !self.refund_requested => {
                Ok(vec![OrderEvent::Restored])
            }
            _ => Ok(vec![]),
        }
    }

    /// Payment refunded: canceled.
    pub(crate) fn refunded(&self) -> Result<Vec<OrderEvent>, NotAllowed> {
        match self.status {
            OrderStatus::CancelRequested => Ok(vec![OrderEvent::Canceled]),
            _ => Ok(vec![]),
        }
    }

    /// Moves the state.
    pub(crate) fn apply(&mut self, event: &OrderEvent, at: OffsetDateTime) {
        match event {
            OrderEvent::Placed => self.status = OrderStatus::PaymentPending,
            OrderEvent::Paid {
                payment_id,
                paid_at,
            } => {
                self.status = OrderStatus::Ordered;
                self.payment = Some((payment_id.clone(), *paid_at));
            }
            OrderEvent::Failed { reason } => {
                self.status = OrderStatus::OrderFailed;
                self.failure = Some(reason.clone());
            }
            OrderEvent::PaymentUnconfirmed => self.payment_unconfirmed = true,
            OrderEvent::CancelRequested => self.status = OrderStatus::CancelRequested,
            OrderEvent::Restored => self.status = OrderStatus::Ordered,
            OrderEvent::RefundRequested => self.refund_requested = true,
            OrderEvent::Canceled => self.status = OrderStatus::Canceled,
        }
        self.version += 1;
        self.updated_at = at;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::menu::drink;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-23 09:00 +09:00);

    fn ordered() -> DrinkOrder {
        let (mut order, _) = DrinkOrder::place(
            "o-1".into(),
            "kim",
            drink("americano").unwrap(),
            2,
            None,
            NOW,
        );
        for event in order.pay("p-1", NOW).unwrap() {
            order.apply(&event, NOW);
        }
        order
    }

    fn run(order: &mut DrinkOrder, events: Vec<OrderEvent>) {
        for event in events {
            order.apply(&event, NOW);
        }
    }

    #[test]
    fn the_amount_comes_from_the_menu() {
        assert_eq!(ordered().amount(), 9_000);
        assert_eq!(ordered().status, OrderStatus::Ordered);
    }

    #[test]
    fn a_cancel_before_the_barista_accepts_refunds_and_ends_canceled() {
        let mut order = ordered();
        let events = order.request_cancel().unwrap();
        run(&mut order, events);
        let events = order.drink_canceled().unwrap();
        assert_eq!(events, vec![OrderEvent::RefundRequested]);
        run(&mut order, events);
        assert!(order.drink_canceled().unwrap().is_empty(), "asked once");
        assert!(order.cancel_refused().unwrap().is_empty());
        let events = order.refunded().unwrap();
        run(&mut order, events);
        assert_eq!(order.status, OrderStatus::Canceled);
    }

    #[test]
    fn a_cancel_after_the_barista_accepted_restores_the_order() {
        let mut order = ordered();
        let events = order.request_cancel().unwrap();
        run(&mut order, events);
        let events = order.cancel_refused().unwrap();
        run(&mut order, events);
        assert_eq!(order.status, OrderStatus::Ordered);
        assert!(order.payment.is_some());
        assert!(order.refunded().unwrap().is_empty(), "nothing to refund");
    }

    #[test]
    fn an_unpaid_order_cannot_be_canceled() {
        let (order, _) = DrinkOrder::place(
            "o-2".into(),
            "kim",
            drink("lemonade").unwrap(),
            1,
            None,
            NOW,
        );
        assert!(order.request_cancel().is_err());
    }
}
