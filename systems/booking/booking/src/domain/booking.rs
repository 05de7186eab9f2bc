//! The booking aggregate: seats taken when it is made, paid synchronously, canceled by a saga
//! (payment refunds and delivery cancels, in any order), seats free again on every failure.

use super::catalog::Seats;
use time::OffsetDateTime;

/// At most this many tickets per booking.
pub(crate) const MAX_QUANTITY: u32 = 8;

/// Where a booking stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BookingStatus {
    /// Seats held, waiting for payment.
    PaymentPending,
    /// Paid: the tickets are the customer's.
    Booked,
    /// Not paid, for good; seats free again.
    BookFailed,
    /// The customer asked to cancel; waiting for the refund and the delivery's cancel.
    CancelRequested,
    /// Refunded and delivery canceled; seats free again.
    Canceled,
}

impl BookingStatus {
    /// The API and store name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::PaymentPending => "PaymentPending",
            Self::Booked => "Booked",
            Self::BookFailed => "BookFailed",
            Self::CancelRequested => "CancelRequested",
            Self::Canceled => "Canceled",
        }
    }

    /// Parses a stored name.
    pub(crate) fn parse(value: &str) -> Option<Self> {
        [
            Self::PaymentPending,
            Self::Booked,
            Self::BookFailed,
            Self::CancelRequested,
            Self::Canceled,
        ]
        .into_iter()
        .find(|s| s.as_str() == value)
    }
}

/// What the customer books.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Order {
    /// The seats picked from the catalog.
    pub seats: Seats,
    /// How many tickets (1 to [`MAX_QUANTITY`]).
    pub quantity: u32,
    /// Where the paper tickets go.
    pub delivery_address: String,
    /// A phone number for the delivery.
    pub phone: String,
}

impl Order {
    /// The price: ticket price × quantity (KRW).
    pub(crate) fn amount(&self) -> i64 {
        self.seats.grade.price * i64::from(self.quantity)
    }
}

/// Something that happened to a booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BookingEvent {
    /// Made: seats held, payment pending.
    Requested,
    /// Payment approved.
    Started {
        /// The payment.
        payment_id: String,
    },
    /// Not paid, for good.
    Failed {
        /// Payment's decline code, `payment_unavailable` or `payment_timeout`.
        reason: String,
    },
    /// The payment's outcome could not be learned in time.
    PaymentUnconfirmed,
    /// Cancel asked for.
    CancelRequested,
    /// Payment is asked to refund.
    RefundRequested,
    /// Payment refunded.
    Refunded,
    /// Delivery canceled.
    DeliveryCanceled,
    /// Refunded and delivery canceled.
    Canceled,
}

/// A command the booking's state does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum BookingError {
    /// The performance has begun: too late to cancel.
    #[error("the performance has begun; it can no longer be canceled")]
    PerformanceStarted,
    /// Not in this state.
    #[error("a booking that is {status} cannot be {action}")]
    NotAllowed {
        /// The state.
        status: &'static str,
        /// What was asked.
        action: &'static str,
    },
}

/// The aggregate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Booking {
    /// Booking id (the correlation key).
    pub id: String,
    /// Who booked.
    pub customer_id: String,
    /// What.
    pub order: Order,
    /// The client's idempotency key, if any.
    pub idempotency_key: Option<String>,
    /// Where it stands.
    pub status: BookingStatus,
    /// Why it failed.
    pub failure: Option<String>,
    /// The payment's outcome could not be learned in time.
    pub payment_unconfirmed: bool,
    /// The approved payment.
    pub payment_id: Option<String>,
    /// Payment refunded (cancel saga).
    pub refunded: bool,
    /// Delivery canceled (cancel saga).
    pub delivery_canceled: bool,
    /// Events applied.
    pub version: u64,
    /// Made at.
    pub created_at: OffsetDateTime,
    /// Last changed at.
    pub updated_at: OffsetDateTime,
}

fn not_allowed(status: BookingStatus, action: &'static str) -> BookingError {
    BookingError::NotAllowed {
        status: status.as_str(),
        action,
    }
}

impl Booking {
    /// Makes a booking, waiting for its payment.
    pub(crate) fn request(
        id: String,
        customer_id: &str,
        order: Order,
        idempotency_key: Option<String>,
        now: OffsetDateTime,
    ) -> (Self, Vec<BookingEvent>) {
        let mut booking = Self {
            id,
            customer_id: customer_id.to_owned(),
            order,
            idempotency_key,
            status: BookingStatus::PaymentPending,
            failure: None,
            payment_unconfirmed: false,
            payment_id: None,
            refunded: false,
            delivery_canceled: false,
            version: 0,
            created_at: now,
            updated_at: now,
        };
        let events = vec![BookingEvent::Requested];
        booking.apply(&events[0], now);
        (booking, events)
    }

    /// Payment approved.
    pub(crate) fn confirm_payment(
        &self,
        payment_id: &str,
    ) -> Result<Vec<BookingEvent>, BookingError> {
        match self.status {
            BookingStatus::PaymentPending => Ok(vec![BookingEvent::Started {
                payment_id: payment_id.to_owned(),
            }]),
            BookingStatus::Booked => Ok(vec![]),
            status => Err(not_allowed(status, "paid")),
        }
    }

    /// Not paid, for good.
    pub(crate) fn fail(&self, reason: &str) -> Result<Vec<BookingEvent>, BookingError> {
        match self.status {
            BookingStatus::PaymentPending => Ok(vec![BookingEvent::Failed {
                reason: reason.to_owned(),
            }]),
            BookingStatus::BookFailed => Ok(vec![]),
            status => Err(not_allowed(status, "failed")),
        }
    }

    /// The payment's outcome could not be learned in time.
    pub(crate) fn report_payment_unconfirmed(&self) -> Result<Vec<BookingEvent>, BookingError> {
        match self.status {
            BookingStatus::PaymentPending if !self.payment_unconfirmed => {
                Ok(vec![BookingEvent::PaymentUnconfirmed])
            }
            BookingStatus::PaymentPending => Ok(vec![]),
            status => Err(not_allowed(status, "left unconfirmed")),
        }
    }

    /// The customer cancels, before the performance begins: payment refunds and delivery
    /// cancels, in any order.
    pub(crate) fn request_cancel(
        &self,
        now: OffsetDateTime,
    ) -> Result<Vec<BookingEvent>, BookingError> {
        match self.status {
            BookingStatus::Booked if now >= self.order.seats.performance.starts_at => {
                Err(BookingError::PerformanceStarted)
            }
            BookingStatus::Booked => Ok(vec![
                BookingEvent::CancelRequested,
                BookingEvent::RefundRequested,
            ]),
            BookingStatus::CancelRequested | BookingStatus::Canceled => Ok(vec![]),
            status => Err(not_allowed(status, "canceled")),
        }
    }

    fn cancel_step(&self, done: bool, step: BookingEvent, other_done: bool) -> Vec<BookingEvent> {
        match self.status {
            BookingStatus::CancelRequested if !done && other_done => {
                vec![step, BookingEvent::Canceled]
            }
            BookingStatus::CancelRequested if !done => vec![step],
            _ => vec![],
        }
    }

    /// Payment refunded: the cancel completes once the delivery is canceled too.
    pub(crate) fn note_refunded(&self) -> Result<Vec<BookingEvent>, BookingError> {
        Ok(self.cancel_step(
            self.refunded,
            BookingEvent::Refunded,
            self.delivery_canceled,
        ))
    }

    /// Delivery canceled: the cancel completes once the payment is refunded too.
    pub(crate) fn note_delivery_canceled(&self) -> Result<Vec<BookingEvent>, BookingError> {
        Ok(self.cancel_step(
            self.delivery_canceled,
            BookingEvent::DeliveryCanceled,
            self.refunded,
        ))
    }

    /// Moves the state.
    pub(crate) fn apply(&mut self, event: &BookingEvent, at: OffsetDateTime) {
        match event {
            BookingEvent::Requested => self.status = BookingStatus::PaymentPending,
            BookingEvent::Started { payment_id } => {
                self.status = BookingStatus::Booked;
                self.payment_id = Some(payment_id.clone());
            }
            BookingEvent::Failed { reason } => {
                self.status = BookingStatus::BookFailed;
                self.failure = Some(reason.clone());
            }
            BookingEvent::PaymentUnconfirmed => self.payment_unconfirmed = true,
            BookingEvent::CancelRequested => self.status = BookingStatus::CancelRequested,
            BookingEvent::RefundRequested => {}
            BookingEvent::Refunded => self.refunded = true,
            BookingEvent::DeliveryCanceled => self.delivery_canceled = true,
            BookingEvent::Canceled => self.status = BookingStatus::Canceled,
        }
        self.version += 1;
        self.updated_at = at;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalog::seats;
    use time::macros::datetime;

    fn booked() -> Booking {
        let order = Order {
            seats: seats("elisabeth", "elisabeth-2030-03-14", "R").unwrap(),
            quantity: 2,
            delivery_address: "서울시 종로구".into(),
            phone: "010-1234-5678".into(),
        };
        let now = datetime!(2026-11-22 09:00 UTC);
        let (mut booking, _) = Booking::request("b-1".into(), "kim", order, None, now);
        for event in booking.confirm_payment("p-1").unwrap() {
            booking.apply(&event, now);
        }
        booking
    }

    #[test]
    fn the_price_is_the_ticket_price_times_the_quantity() {
        assert_eq!(booked().order.amount(), 280_000);
        assert_eq!(booked().status, BookingStatus::Booked);
    }

    #[test]
    fn a_cancel_completes_when_both_refund_and_delivery_cancel_are_done_in_either_order() {
        let now = datetime!(2026-11-22 10:00 UTC);
        for refund_first in [true, false] {
            let mut booking = booked();
            for event in booking.request_cancel(now).unwrap() {
                booking.apply(&event, now);
            }
            assert_eq!(booking.status, BookingStatus::CancelRequested);
            type Step = fn(&Booking) -> Result<Vec<BookingEvent>, BookingError>;
            let (first, second): (Step, Step) = if refund_first {
                (Booking::note_refunded, Booking::note_delivery_canceled)
            } else {
                (Booking::note_delivery_canceled, Booking::note_refunded)
            };
            let events = first(&booking).unwrap();
            assert_eq!(events.len(), 1);
            for event in events {
                booking.apply(&event, now);
            }
            assert!(
                first(&booking).unwrap().is_empty(),
                "a repeat changes nothing"
            );
            let events = second(&booking).unwrap();
            assert_eq!(events.last(), Some(&BookingEvent::Canceled));
            for event in events {
                booking.apply(&event, now);
            }
            assert_eq!(booking.status, BookingStatus::Canceled);
        }
    }

    #[test]
    fn a_performance_that_has_begun_cannot_be_canceled() {
        let started = datetime!(2030-03-14 19:30 +09:00);
        assert_eq!(
            booked().request_cancel(started),
            Err(BookingError::PerformanceStarted)
        );
    }
}
