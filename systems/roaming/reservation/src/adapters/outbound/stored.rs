//! How the kernel keeps a reservation: its stored record, the keys it is found by, and the
//! integration events its domain events publish.

use super::integration::integration_event;
use crate::domain::catalog;
use crate::domain::reservation::{
    FailureReason, Reservation, ReservationError, ReservationEvent, ReservationStatus, Terms,
};
use crate::domain::values::{
    CustomerId, IdempotencyKey, Krw, RentalPeriod, format_date, parse_date,
};
use anyhow::anyhow;
use kernel::aggregate::{Aggregate, Key};
use kernel::model::Contract;
use kernel::sql::{from_millis, millis};
use payment_contracts::checkout::{self, Payable, Progress, Unpaid};
use payment_contracts::events::RefundRequested;
use roaming_contracts::events as contract;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Key of a customer's reservations.
pub(crate) const BY_CUSTOMER: &str = "customer";
/// The value of checkout's idempotency key: `<customer>/<client key>`.
pub(crate) fn idempotency_key(customer: &CustomerId, key: &IdempotencyKey) -> String {
    format!("{}/{}", customer.as_str(), key.as_str())
}

/// A reservation as stored.
#[derive(Serialize, Deserialize)]
pub(crate) struct Record {
    id: String,
    customer_id: String,
    device_model: String,
    country: String,
    rental_date: String,
    return_date: String,
    booth: String,
    amount: i64,
    status: String,
    payment_id: Option<String>,
    failure_reason: Option<String>,
    cancel_refused_reason: Option<String>,
    handed_out: bool,
    payment_unconfirmed: bool,
    idempotency_key: Option<String>,
    version: u64,
    created_at: i64,
    updated_at: i64,
}

impl Aggregate for Reservation {
    type Event = ReservationEvent;
    type Record = Record;
    const KIND: &'static str = "reservation";
    const PUBLISHES: &'static [Contract] = &[
        Contract::of::<contract::ReservationRequested>(),
        Contract::of::<contract::Reserved>(),
        Contract::of::<contract::ReserveFailed>(),
        Contract::of::<contract::PaymentUnconfirmed>(),
        Contract::of::<contract::CancelRequested>(),
        Contract::of::<contract::ReservationCanceled>(),
        Contract::of::<RefundRequested>(),
        Contract::of::<contract::CancelRefused>(),
        Contract::of::<contract::ReservationHandedOut>(),
        Contract::of::<contract::Returned>(),
        Contract::of::<contract::Completed>(),
    ];

    fn id(&self) -> &str {
        &self.id
    }

    fn version(&self) -> u64 {
        self.version
    }

    fn apply(&mut self, event: &ReservationEvent, at: OffsetDateTime) {
        Reservation::apply(self, event, at);
    }

    fn record(&self) -> Record {
        let terms = &self.terms;
        Record {
            id: self.id.clone(),
            customer_id: self.customer.as_str().to_owned(),
            device_model: terms.device_model.id.to_owned(),
            country: terms.country.code.to_owned(),
            rental_date: format_date(terms.period.rental_date()),
            return_date: format_date(terms.period.return_date()),
            booth: terms.booth.code.to_owned(),
            amount: terms.amount.value(),
            status: self.status.as_str().to_owned(),
            payment_id: self.payment_id.clone(),
            failure_reason: self.failure.as_ref().map(|f| f.code().to_owned()),
            cancel_refused_reason: self.cancel_refused_reason.clone(),
            handed_out: self.handed_out,
            payment_unconfirmed: self.payment_unconfirmed,
            idempotency_key: self.idempotency_key.as_ref().map(|k| k.as_str().to_owned()),
            version: self.version,
            created_at: millis(self.created_at),
            updated_at: millis(self.updated_at),
        }
    }

    fn restore(record: Record) -> anyhow::Result<Self> {
        let id = record.id;
        let lost =
            |what: &str| anyhow!("reservation {id} refers to {what} no longer in the catalog");
        let device_model =
            catalog::device_model(&record.device_model).ok_or_else(|| lost("a device model"))?;
        let country = catalog::country(&record.country).ok_or_else(|| lost("a country"))?;
        let booth = catalog::booth(&record.booth).ok_or_else(|| lost("a booth"))?;
        let period = RentalPeriod::restore(
            parse_date(&record.rental_date, "rental_date")?,
            parse_date(&record.return_date, "return_date")?,
        );
        Ok(Reservation {
            customer: CustomerId::parse(&record.customer_id)?,
            terms: Terms {
                device_model,
                country,
                period,
                booth,
                amount: Krw::new(record.amount),
            },
            status: ReservationStatus::parse(&record.status)
                .ok_or_else(|| anyhow!("reservation {id} has unknown status {}", record.status))?,
            payment_id: record.payment_id,
            failure: record
                .failure_reason
                .as_deref()
                .map(FailureReason::from_code),
            cancel_refused_reason: record.cancel_refused_reason,
            handed_out: record.handed_out,
            payment_unconfirmed: record.payment_unconfirmed,
            idempotency_key: record
                .idempotency_key
                .as_deref()
                .map(IdempotencyKey::parse)
                .transpose()?,
            version: record.version,
            created_at: from_millis(record.created_at)?,
            updated_at: from_millis(record.updated_at)?,
            id,
        })
    }

    /// A reservation that failed only because payment was unavailable gives up its idempotency
    /// key, so that a retry with the same key makes a fresh attempt.
    fn keys(&self) -> Vec<Key> {
        let key = self
            .idempotency_key
            .as_ref()
            .map(|key| idempotency_key(&self.customer, key));
        let mut keys = checkout::keys(self, key);
        keys.push(Key::index(BY_CUSTOMER, self.customer.as_str()));
        keys
    }

    fn integration_event(
        &self,
        event: &ReservationEvent,
        sequence: u64,
    ) -> Option<kernel::NewEvent> {
        Some(integration_event(self, event, sequence))
    }
}

impl Payable for Reservation {
    type Refusal = ReservationError;

    fn bill(&self) -> (String, i64) {
        (self.customer.as_str().to_owned(), self.terms.amount.value())
    }

    fn progress(&self) -> Progress {
        match (&self.status, &self.failure) {
            (ReservationStatus::PaymentPending, _) => Progress::Pending {
                unconfirmed: self.payment_unconfirmed,
            },
            (ReservationStatus::ReserveFailed, Some(FailureReason::Declined(code))) => {
                Progress::Failed(Unpaid::Declined(code.clone()))
            }
            (ReservationStatus::ReserveFailed, Some(FailureReason::PaymentUnavailable)) => {
                Progress::Failed(Unpaid::Unavailable)
            }
            (ReservationStatus::ReserveFailed, _) => Progress::Failed(Unpaid::TimedOut),
            _ => Progress::Settled,
        }
    }

    fn changed_at(&self) -> OffsetDateTime {
        self.updated_at
    }

    fn paid(&self, payment_id: &str) -> Result<Vec<ReservationEvent>, ReservationError> {
        self.confirm_payment(payment_id)
    }

    fn unpaid(&self, why: &Unpaid) -> Result<Vec<ReservationEvent>, ReservationError> {
        self.fail(match why {
            Unpaid::Declined(code) => FailureReason::Declined(code.clone()),
            Unpaid::Unavailable => FailureReason::PaymentUnavailable,
            Unpaid::TimedOut => FailureReason::PaymentTimedOut,
        })
    }

    fn unconfirmed(&self) -> Result<Vec<ReservationEvent>, ReservationError> {
        self.report_payment_unconfirmed()
    }
}
