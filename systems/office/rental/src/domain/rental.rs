//! A rental order (렌탈 주문): a customer rents `qty` units of a product for whole days; the amount
//! is the daily rate × qty × days. Delivery schedules it (or finds it out of stock, 재고부족, and
//! the rental is canceled: the compensation), delivers it, and collects it after the customer's
//! return. The customer cancels before delivery, through delivery (a synchronous call in the
//! application: a rental whose delivery was not canceled is not canceled).

use time::{Date, OffsetDateTime};

/// Most units in one rental.
pub(crate) const MAX_QTY: u32 = 100;
/// Longest rental in days.
pub(crate) const MAX_DAYS: i64 = 365;

/// Where a rental stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RentalStatus {
    /// Ordered; delivery has not answered yet.
    Ordered,
    /// Delivery reserved the stock.
    Scheduled,
    /// At the customer's.
    Delivered,
    /// The customer gives it back.
    ReturnRequested,
    /// Collected: over.
    Completed,
    /// Canceled (out of stock, or by the customer).
    Canceled,
}

const ALL_STATUSES: [RentalStatus; 6] = [
    RentalStatus::Ordered,
    RentalStatus::Scheduled,
    RentalStatus::Delivered,
    RentalStatus::ReturnRequested,
    RentalStatus::Completed,
    RentalStatus::Canceled,
];

impl RentalStatus {
    /// The API and store name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Ordered => "Ordered",
            Self::Scheduled => "Scheduled",
            Self::Delivered => "Delivered",
            Self::ReturnRequested => "ReturnRequested",
            Self::Completed => "Completed",
            Self::Canceled => "Canceled",
        }
    }

    /// Parses a name.
    pub(crate) fn parse(value: &str) -> Option<Self> {
        ALL_STATUSES.into_iter().find(|s| s.as_str() == value)
    }
}

/// What is rented, from rental's catalog replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Item {
    /// The product.
    pub product_id: String,
    /// Its name.
    pub product_name: String,
    /// KRW a day.
    pub daily_rate: i64,
    /// Units.
    pub qty: u32,
}

/// The days rented, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Period {
    /// First day.
    pub from: Date,
    /// Last day.
    pub to: Date,
}

impl Period {
    /// Days rented.
    pub(crate) fn days(&self) -> i64 {
        (self.to - self.from).whole_days() + 1
    }
}

/// Something that happened to a rental.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RentalEvent {
    /// Ordered.
    Ordered,
    /// Delivery reserved the stock.
    Scheduled,
    /// Delivered.
    Delivered,
    /// Canceled (`out_of_stock`, `customer`).
    Canceled {
        /// Why.
        reason: &'static str,
    },
    /// The customer gives it back.
    ReturnRequested,
    /// Collected.
    Completed,
}

/// A request or command the rules refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RentalError {
    /// A quantity out of range.
    #[error("qty must be 1 to {MAX_QTY}")]
    InvalidQty,
    /// A period that ends before it starts, starts in the past or is too long.
    #[error(
        "the period must start today or later, end on or after its start, and last at most {MAX_DAYS} days"
    )]
    InvalidPeriod,
    /// Delivered already: return it instead.
    #[error("the products are delivered already; return them instead")]
    AlreadyDelivered,
    /// Only delivered products can be returned.
    #[error("only delivered products can be returned")]
    NotDelivered,
    /// The rental was canceled.
    #[error("the rental was canceled")]
    Canceled,
}

/// The reasons a rental is canceled.
pub(crate) mod reason {
    /// Delivery had too little stock (재고부족).
    pub(crate) const OUT_OF_STOCK: &str = "out_of_stock";
    /// The customer canceled before delivery.
    pub(crate) const CUSTOMER: &str = "customer";
}

/// The aggregate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rental {
    /// Its id, the correlation key.
    pub id: String,
    /// Who rents.
    pub customer_id: String,
    /// What.
    pub item: Item,
    /// When.
    pub period: Period,
    /// Where it stands.
    pub status: RentalStatus,
    /// Why it was canceled.
    pub cancel_reason: Option<&'static str>,
    /// The client's idempotency key (scoped to the customer).
    pub idempotency_key: Option<String>,
    /// Events applied.
    pub version: u64,
    /// Ordered at.
    pub created_at: OffsetDateTime,
    /// Last change.
    pub updated_at: OffsetDateTime,
}

/// A rental request, checked by [`Rental::order`].
#[derive(Debug, Clone)]
pub(crate) struct Order {
    /// Who rents.
    pub customer_id: String,
    /// What.
    pub item: Item,
    /// When.
    pub period: Period,
    /// The client's key.
    pub idempotency_key: Option<String>,
}

impl Rental {
    /// Orders a rental starting no earlier than `today`.
    pub(crate) fn order(
        id: String,
        order: Order,
        today: Date,
        now: OffsetDateTime,
    ) -> Result<(Self, Vec<RentalEvent>), RentalError> {
        if !(1..=MAX_QTY).contains(&order.item.qty) {
            return Err(RentalError::InvalidQty);
        }
        let period = order.period;
        if period.from < today || period.to < period.from || period.days() > MAX_DAYS {
            return Err(RentalError::InvalidPeriod);
        }
        let mut rental = Self {
            id,
            customer_id: order.customer_id,
            item: order.item,
            period,
            status: RentalStatus::Ordered,
            cancel_reason: None,
            idempotency_key: order.idempotency_key,
            version: 0,
            created_at: now,
            updated_at: now,
        };
        let events = vec![RentalEvent::Ordered];
        rental.apply(&events[0], now);
        Ok((rental, events))
    }

    /// KRW: daily rate × qty × days.
    pub(crate) fn amount(&self) -> i64 {
        self.item.daily_rate * i64::from(self.item.qty) * self.period.days()
    }

    fn before_delivery(&self) -> bool {
        matches!(self.status, RentalStatus::Ordered | RentalStatus::Scheduled)
    }

    /// Whether a cancel may be asked of delivery: before delivery (a canceled one: nothing to do).
    pub(crate) fn may_cancel(&self) -> Result<bool, RentalError> {
        match self.status {
            RentalStatus::Ordered | RentalStatus::Scheduled => Ok(true),
            RentalStatus::Canceled => Ok(false),
            _ => Err(RentalError::AlreadyDelivered),
        }
    }

    /// Delivery canceled (by the customer's cancel, or a cancel whose answer was lost).
    pub(crate) fn cancel(&self) -> Result<Vec<RentalEvent>, RentalError> {
        Ok(self.move_before_delivery(RentalEvent::Canceled {
            reason: reason::CUSTOMER,
        }))
    }

    /// Delivery found the stock short: the compensation.
    pub(crate) fn note_out_of_stock(&self) -> Result<Vec<RentalEvent>, RentalError> {
        Ok(self.move_before_delivery(RentalEvent::Canceled {
            reason: reason::OUT_OF_STOCK,
        }))
    }

    /// Delivery reserved the stock.
    pub(crate) fn note_scheduled(&self) -> Result<Vec<RentalEvent>, RentalError> {
        Ok(match self.status {
            RentalStatus::Ordered => vec![RentalEvent::Scheduled],
            _ => vec![],
        })
    }

    /// Delivered.
    pub(crate) fn note_delivered(&self) -> Result<Vec<RentalEvent>, RentalError> {
        Ok(self.move_before_delivery(RentalEvent::Delivered))
    }

    fn move_before_delivery(&self, event: RentalEvent) -> Vec<RentalEvent> {
        if self.before_delivery() {
            vec![event]
        } else {
            vec![]
        }
    }

    /// The customer gives the products back (again: nothing changes).
    pub(crate) fn request_return(&self) -> Result<Vec<RentalEvent>, RentalError> {
        match self.status {
            RentalStatus::Delivered => Ok(vec![RentalEvent::ReturnRequested]),
            RentalStatus::ReturnRequested | RentalStatus::Completed => Ok(vec![]),
            RentalStatus::Canceled => Err(RentalError::Canceled),
            RentalStatus::Ordered | RentalStatus::Scheduled => Err(RentalError::NotDelivered),
        }
    }

    /// Delivery collected the products.
    pub(crate) fn note_collected(&self) -> Result<Vec<RentalEvent>, RentalError> {
        Ok(match self.status {
            RentalStatus::Delivered | RentalStatus::ReturnRequested => vec![RentalEvent::Completed],
            _ => vec![],
        })
    }

    /// Moves the state.
    pub(crate) fn apply(&mut self, event: &RentalEvent, at: OffsetDateTime) {
        self.status = match event {
            RentalEvent::Ordered => RentalStatus::Ordered,
            RentalEvent::Scheduled => RentalStatus::Scheduled,
            RentalEvent::Delivered => RentalStatus::Delivered,
            RentalEvent::ReturnRequested => RentalStatus::ReturnRequested,
            RentalEvent::Completed => RentalStatus::Completed,
            RentalEvent::Canceled { reason } => {
                self.cancel_reason = Some(reason);
                RentalStatus::Canceled
            }
        };
        self.version += 1;
        self.updated_at = at;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn order(qty: u32, from: Date, to: Date) -> Result<Rental, RentalError> {
        let item = Item {
            product_id: "p".into(),
            product_name: "computer".into(),
            daily_rate: 5_000,
            qty,
        };
        let period = Period { from, to };
        let order = Order {
            customer_id: "kim".into(),
            item,
            period,
            idempotency_key: None,
        };
        let now = OffsetDateTime::UNIX_EPOCH;
        Rental::order("r".into(), order, date!(2030 - 01 - 01), now).map(|(r, _)| r)
    }

    #[test]
    fn the_amount_is_rate_times_qty_times_days() {
        let rental = order(3, date!(2030 - 01 - 01), date!(2030 - 01 - 02)).unwrap();
        assert_eq!(rental.amount(), 5_000 * 3 * 2);
    }

    #[test]
    fn bad_quantities_and_periods_are_refused() {
        let (jan1, jan2) = (date!(2030 - 01 - 01), date!(2030 - 01 - 02));
        assert_eq!(order(0, jan1, jan2).unwrap_err(), RentalError::InvalidQty);
        assert_eq!(
            order(1, jan2, jan1).unwrap_err(),
            RentalError::InvalidPeriod
        );
        let past = date!(2029 - 12 - 31);
        assert_eq!(
            order(1, past, jan2).unwrap_err(),
            RentalError::InvalidPeriod
        );
        let far = date!(2031 - 06 - 01);
        assert_eq!(order(1, jan1, far).unwrap_err(), RentalError::InvalidPeriod);
    }

    #[test]
    fn out_of_stock_cancels_and_a_late_delivery_event_does_not_revive_it() {
        let mut rental = order(1, date!(2030 - 01 - 01), date!(2030 - 01 - 01)).unwrap();
        for event in rental.note_out_of_stock().unwrap() {
            rental.apply(&event, OffsetDateTime::UNIX_EPOCH);
        }
        assert_eq!(rental.cancel_reason, Some(reason::OUT_OF_STOCK));
        assert!(rental.note_delivered().unwrap().is_empty());
        assert_eq!(rental.may_cancel(), Ok(false));
    }
}
