//! How the kernel keeps a rental: its stored record, the keys of the booth queue, and the
//! integration events its domain events publish.

use super::integration::integration_event;
use crate::domain::rental::{Rental, RentalEvent, RentalStatus};
use anyhow::anyhow;
use kernel::aggregate::{Aggregate, Key};
use kernel::sql::{from_millis, millis};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Key of every rental.
pub const ALL: &str = "all";
/// Key of a booth's rentals.
pub const BY_BOOTH: &str = "booth";

/// A rental as stored.
#[derive(Serialize, Deserialize)]
pub struct Record {
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

    /// Keys that never change, so a rental's moves write no key rows.
    fn keys(&self) -> Vec<Key> {
        vec![Key::index(ALL, ""), Key::index(BY_BOOTH, &self.booth)]
    }

    fn integration_event(&self, event: &RentalEvent, sequence: u64) -> Option<kernel::NewEvent> {
        Some(integration_event(self, event, sequence))
    }
}
