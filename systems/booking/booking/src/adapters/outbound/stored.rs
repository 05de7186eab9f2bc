//! How the kernel keeps a booking: its stored record, the keys it is found by, the seats its
//! events take and give back, the integration events they publish, and what checkout needs.

use crate::domain::booking::{Booking, BookingError, BookingEvent, BookingStatus, Order};
use crate::domain::catalog;
use anyhow::anyhow;
use booking_contracts as contract;
use kernel::aggregate::{Aggregate, CounterChange, Key};
use kernel::model::Contract;
use kernel::sql::{from_millis, millis};
use kernel::{IntegrationEvent, NewEvent};
use payment_contracts::checkout::{Payable, Progress, Unpaid};
use payment_contracts::events::RefundRequested;
use payment_contracts::orders::order_keys;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The seat counters, one per `<performance>/<grade>`.
pub(crate) const SEATS: &str = "seats";

/// A booking as stored.
#[derive(Serialize, Deserialize)]
pub(crate) struct Record {
    id: String,
    customer_id: String,
    musical_id: String,
    performance_id: String,
    grade: String,
    quantity: u32,
    delivery_address: String,
    phone: String,
    idempotency_key: Option<String>,
    status: String,
    failure: Option<String>,
    payment_unconfirmed: bool,
    payment_id: Option<String>,
    refunded: bool,
    delivery_canceled: bool,
    version: u64,
    created_at: i64,
    updated_at: i64,
}

fn publish<E: IntegrationEvent>(event: &E, booking: &Booking, sequence: u64) -> Option<NewEvent> {
    Some(NewEvent::new(event, &booking.id, sequence))
}

impl Aggregate for Booking {
    type Event = BookingEvent;
    type Record = Record;
    const KIND: &'static str = "booking";
    const PUBLISHES: &'static [Contract] = &[
        Contract::of::<contract::BookingStarted>(),
        Contract::of::<contract::BookFailed>(),
        Contract::of::<contract::CancelRequested>(),
        Contract::of::<RefundRequested>(),
        Contract::of::<contract::BookingCanceled>(),
    ];

    fn id(&self) -> &str {
        &self.id
    }

    fn version(&self) -> u64 {
        self.version
    }

    fn apply(&mut self, event: &BookingEvent, at: OffsetDateTime) {
        Booking::apply(self, event, at);
    }

    fn record(&self) -> Record {
        let seats = &self.order.seats;
        Record {
            id: self.id.clone(),
            customer_id: self.customer_id.clone(),
            musical_id: seats.musical.id.to_owned(),
            performance_id: seats.performance.id.to_owned(),
            grade: seats.grade.grade.to_owned(),
            quantity: self.order.quantity,
            delivery_address: self.order.delivery_address.clone(),
            phone: self.order.phone.clone(),
            idempotency_key: self.idempotency_key.clone(),
            status: self.status.as_str().to_owned(),
            failure: self.failure.clone(),
            payment_unconfirmed: self.payment_unconfirmed,
            payment_id: self.payment_id.clone(),
            refunded: self.refunded,
            delivery_canceled: self.delivery_canceled,
            version: self.version,
            created_at: millis(self.created_at),
            updated_at: millis(self.updated_at),
        }
    }

    fn restore(r: Record) -> anyhow::Result<Self> {
        Ok(Booking {
            order: Order {
                seats: catalog::seats(&r.musical_id, &r.performance_id, &r.grade)?,
                quantity: r.quantity,
                delivery_address: r.delivery_address,
                phone: r.phone,
            },
            status: BookingStatus::parse(&r.status)
                .ok_or_else(|| anyhow!("unknown booking status {}", r.status))?,
            id: r.id,
            customer_id: r.customer_id,
            idempotency_key: r.idempotency_key,
            failure: r.failure,
            payment_unconfirmed: r.payment_unconfirmed,
            payment_id: r.payment_id,
            refunded: r.refunded,
            delivery_canceled: r.delivery_canceled,
            version: r.version,
            created_at: from_millis(r.created_at)?,
            updated_at: from_millis(r.updated_at)?,
        })
    }

    fn keys(&self) -> Vec<Key> {
        order_keys(self, self.idempotency_key.as_deref(), self.created_at)
    }

    fn counter_changes(&self, event: &BookingEvent) -> Vec<CounterChange> {
        let (key, quantity) = (self.order.seats.counter_key(), self.order.quantity.into());
        match event {
            BookingEvent::Requested => vec![CounterChange::take(SEATS, key, quantity)],
            BookingEvent::Failed { .. } | BookingEvent::Canceled => {
                vec![CounterChange::give(SEATS, key, quantity)]
            }
            _ => vec![],
        }
    }

    fn integration_event(&self, event: &BookingEvent, sequence: u64) -> Option<NewEvent> {
        let (booking_id, customer_id) = (self.id.clone(), self.customer_id.clone());
        match event {
            BookingEvent::Started { .. } => {
                let seats = &self.order.seats;
                let started = contract::BookingStarted {
                    booking_id,
                    customer_id,
                    musical_id: seats.musical.id.to_owned(),
                    musical_title: seats.musical.title_ko.to_owned(),
                    performance_id: seats.performance.id.to_owned(),
                    starts_at: seats.performance.starts_at.format(&Rfc3339).ok()?,
                    grade: seats.grade.grade.to_owned(),
                    quantity: self.order.quantity,
                    amount: self.order.amount(),
                    delivery_address: self.order.delivery_address.clone(),
                    phone: self.order.phone.clone(),
                };
                publish(&started, self, sequence)
            }
            BookingEvent::Failed { reason } => {
                let reason = reason.clone();
                let failed = contract::BookFailed {
                    booking_id,
                    customer_id,
                    reason,
                };
                publish(&failed, self, sequence)
            }
            BookingEvent::CancelRequested => {
                let requested = contract::CancelRequested {
                    booking_id,
                    customer_id,
                };
                publish(&requested, self, sequence)
            }
            BookingEvent::RefundRequested => {
                let reason = "canceled".to_owned();
                let order_id = booking_id;
                publish(&RefundRequested { order_id, reason }, self, sequence)
            }
            BookingEvent::Canceled => {
                let canceled = contract::BookingCanceled {
                    booking_id,
                    customer_id,
                };
                publish(&canceled, self, sequence)
            }
            _ => None,
        }
    }
}

impl Payable for Booking {
    type Refusal = BookingError;

    fn bill(&self) -> (String, i64) {
        (self.customer_id.clone(), self.order.amount())
    }

    fn progress(&self) -> Progress {
        match (self.status, self.failure.as_deref()) {
            (BookingStatus::PaymentPending, _) => Progress::Pending {
                unconfirmed: self.payment_unconfirmed,
            },
            (BookingStatus::BookFailed, code) => Progress::Failed(Unpaid::parse(code)),
            _ => Progress::Settled,
        }
    }

    fn changed_at(&self) -> OffsetDateTime {
        self.updated_at
    }

    fn paid(&self, payment_id: &str) -> Result<Vec<BookingEvent>, BookingError> {
        self.confirm_payment(payment_id)
    }

    fn unpaid(&self, why: &Unpaid) -> Result<Vec<BookingEvent>, BookingError> {
        self.fail(why.code())
    }

    fn unconfirmed(&self) -> Result<Vec<BookingEvent>, BookingError> {
        self.report_payment_unconfirmed()
    }
}
