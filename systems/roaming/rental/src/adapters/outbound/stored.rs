//! How the kernel keeps a rental: its stored record, the keys of the booth queue, and the
//! integration events its domain events publish.

use super::integration::integration_event;
use crate::domain::rental::{Rental, RentalEvent, RentalStatus};
use anyhow::anyhow;
use kernel::aggregate::{Aggregate, Key};
use kernel::model::Contract;
use kernel::sql::{from_millis, millis};
use roaming_contracts::events as contract;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Key of every rental.
pub(crate) const ALL: &str = "all";
/// Key of a booth's rentals.
pub(crate) const BY_BOOTH: &str = "booth";
/// Key of every rental still at work (accepted, handed out or returned), earliest pickup first.
pub(crate) const ACTIVE: &str = "active";
/// Key of a booth's rentals still at work, earliest pickup first.
pub(crate) const ACTIVE_AT_BOOTH: &str = "active_booth";

/// Whether a rental in `status` is still at work at its booth.
pub(crate) fn active(status: RentalStatus) -> bool {
    matches!(
        status,
        RentalStatus::Accepted | RentalStatus::HandedOut | RentalStatus::Returned
    )
}

/// A rental as stored.
#[derive(Serialize, Deserialize)]
pub(crate) struct Record {
    reservation_id: String,
    customer_id: String,
    booth: String,
    device_model: String,
    rental_date: String,
    return_date: String,
    status: String,
    device_serial: Option<String>,
    version: u64,
    created_at: i64,
    updated_at: i64,
}

impl Aggregate for Rental {
    type Event = RentalEvent;
    type Record = Record;
    const KIND: &'static str = "rental";
    const PUBLISHES: &'static [Contract] = &[
        Contract::of::<contract::RentalAccepted>(),
        Contract::of::<contract::RentalHandedOut>(),
        Contract::of::<contract::RentalCanceled>(),
        Contract::of::<contract::RentalCancelRefused>(),
        Contract::of::<contract::RentalReturned>(),
        Contract::of::<contract::RentalCollected>(),
    ];

    fn id(&self) -> &str {
        &self.reservation_id
    }

    fn version(&self) -> u64 {
        self.version
    }

    fn apply(&mut self, event: &RentalEvent, at: OffsetDateTime) {
        Rental::apply(self, event, at);
    }

    fn record(&self) -> Record {
        Record {
            reservation_id: self.reservation_id.clone(),
            customer_id: self.customer_id.clone(),
            booth: self.booth.clone(),
            device_model: self.device_model.clone(),
            rental_date: self.rental_date.clone(),
            return_date: self.return_date.clone(),
            status: self.status.as_str().to_owned(),
            device_serial: self.device_serial.clone(),
            version: self.version,
            created_at: millis(self.created_at),
            updated_at: millis(self.updated_at),
        }
    }

    fn restore(record: Record) -> anyhow::Result<Self> {
        Ok(Rental {
            status: RentalStatus::parse(&record.status)
                .ok_or_else(|| anyhow!("unknown rental status {}", record.status))?,
            reservation_id: record.reservation_id,
            customer_id: record.customer_id,
            booth: record.booth,
            device_model: record.device_model,
            rental_date: record.rental_date,
            return_date: record.return_date,
            device_serial: record.device_serial,
            version: record.version,
            created_at: from_millis(record.created_at)?,
            updated_at: from_millis(record.updated_at)?,
        })
    }

    /// The history keys never change; the queue keys are written when a rental is accepted and
    /// removed when it is collected or canceled, scored so the earliest pickup comes first.
    fn keys(&self) -> Vec<Key> {
        let mut keys = vec![Key::index(ALL, ""), Key::index(BY_BOOTH, &self.booth)];
        if active(self.status) {
            let day: i64 = self
                .rental_date
                .replace('-', "")
                .parse()
                .unwrap_or_default();
            keys.push(Key::index(ACTIVE, "").scored(-day));
            keys.push(Key::index(ACTIVE_AT_BOOTH, &self.booth).scored(-day));
        }
        keys
    }

    fn integration_event(&self, event: &RentalEvent, sequence: u64) -> Option<kernel::NewEvent> {
        Some(integration_event(self, event, sequence))
    }
}
