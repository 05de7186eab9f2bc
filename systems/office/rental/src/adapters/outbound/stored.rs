//! How the kernel keeps rentals and the catalog replica: stored records, the keys a rental is
//! found by (the customer's idempotency key, the customer's rentals newest first), the
//! integration events.

use crate::domain::catalog::{CatalogEntry, CatalogEvent};
use crate::domain::rental::{Item, Period, Rental, RentalEvent, RentalStatus, reason};
use anyhow::anyhow;
use kernel::aggregate::{Aggregate, Key};
use kernel::model::Contract;
use kernel::owned::owner_key;
use kernel::sql::{from_millis, millis};
use kernel::{IntegrationEvent, NewEvent};
use office_contracts as contract;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

/// Unique key: `<customer>/<Idempotency-Key>`.
pub(crate) const BY_IDEMPOTENCY_KEY: &str = "idempotency_key";

/// A rental as stored.
#[derive(Serialize, Deserialize)]
pub(crate) struct Record {
    id: String,
    customer_id: String,
    product_id: String,
    product_name: String,
    daily_rate: i64,
    qty: u32,
    from: String,
    to: String,
    status: String,
    cancel_reason: Option<String>,
    idempotency_key: Option<String>,
    version: u64,
    created_at: i64,
    updated_at: i64,
}

/// `YYYY-MM-DD`.
pub(crate) fn day(date: Date) -> String {
    date.to_string()
}

/// Parses `YYYY-MM-DD`.
pub(crate) fn parse_day(value: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(value, &format).ok()
}

impl Aggregate for Rental {
    type Event = RentalEvent;
    type Record = Record;
    const KIND: &'static str = "rental";
    const PUBLISHES: &'static [Contract] = &[
        Contract::of::<contract::RentalOrdered>(),
        Contract::of::<contract::RentalCanceled>(),
        Contract::of::<contract::ReturnRequested>(),
        Contract::of::<contract::RentalCompleted>(),
    ];

    fn id(&self) -> &str {
        &self.id
    }

    fn version(&self) -> u64 {
        self.version
    }

    fn apply(&mut self, event: &RentalEvent, at: OffsetDateTime) {
        Rental::apply(self, event, at);
    }

    fn record(&self) -> Record {
        Record {
            id: self.id.clone(),
            customer_id: self.customer_id.clone(),
            product_id: self.item.product_id.clone(),
            product_name: self.item.product_name.clone(),
            daily_rate: self.item.daily_rate,
            qty: self.item.qty,
            from: day(self.period.from),
            to: day(self.period.to),
            status: self.status.as_str().to_owned(),
            cancel_reason: self.cancel_reason.map(str::to_owned),
            idempotency_key: self.idempotency_key.clone(),
            version: self.version,
            created_at: millis(self.created_at),
            updated_at: millis(self.updated_at),
        }
    }

    fn restore(r: Record) -> anyhow::Result<Self> {
        let date = |value: &str| parse_day(value).ok_or_else(|| anyhow!("bad date {value}"));
        Ok(Rental {
            period: Period {
                from: date(&r.from)?,
                to: date(&r.to)?,
            },
            status: RentalStatus::parse(&r.status)
                .ok_or_else(|| anyhow!("unknown rental status {}", r.status))?,
            cancel_reason: match r.cancel_reason.as_deref() {
                Some(reason::OUT_OF_STOCK) => Some(reason::OUT_OF_STOCK),
                Some(_) => Some(reason::CUSTOMER),
                None => None,
            },
            id: r.id,
            customer_id: r.customer_id,
            item: Item {
                product_id: r.product_id,
                product_name: r.product_name,
                daily_rate: r.daily_rate,
                qty: r.qty,
            },
            idempotency_key: r.idempotency_key,
            version: r.version,
            created_at: from_millis(r.created_at)?,
            updated_at: from_millis(r.updated_at)?,
        })
    }

    fn keys(&self) -> Vec<Key> {
        let mut keys = vec![owner_key(&self.customer_id, self.created_at)];
        if let Some(key) = &self.idempotency_key {
            keys.push(Key::unique(BY_IDEMPOTENCY_KEY, key));
        }
        keys
    }

    fn integration_event(&self, event: &RentalEvent, sequence: u64) -> Option<NewEvent> {
        let (rental_id, customer_id) = (self.id.clone(), self.customer_id.clone());
        match event {
            RentalEvent::Ordered => {
                let ordered = contract::RentalOrdered {
                    rental_id,
                    customer_id,
                    product_id: self.item.product_id.clone(),
                    product_name: self.item.product_name.clone(),
                    qty: self.item.qty,
                    from: day(self.period.from),
                    to: day(self.period.to),
                    amount: self.amount(),
                };
                published(&ordered, self, sequence)
            }
            RentalEvent::Canceled { reason } => {
                let reason = (*reason).to_owned();
                let canceled = contract::RentalCanceled {
                    rental_id,
                    customer_id,
                    reason,
                };
                published(&canceled, self, sequence)
            }
            RentalEvent::ReturnRequested => {
                let requested = contract::ReturnRequested {
                    rental_id,
                    customer_id,
                };
                published(&requested, self, sequence)
            }
            RentalEvent::Completed => {
                let completed = contract::RentalCompleted {
                    rental_id,
                    customer_id,
                };
                published(&completed, self, sequence)
            }
            RentalEvent::Scheduled | RentalEvent::Delivered => None,
        }
    }
}

fn published<E: IntegrationEvent>(event: &E, rental: &Rental, sequence: u64) -> Option<NewEvent> {
    Some(NewEvent::new(event, &rental.id, sequence))
}

/// A catalog entry as stored.
#[derive(Serialize, Deserialize)]
pub(crate) struct CatalogRecord {
    id: String,
    name: String,
    daily_rate: i64,
    version: u64,
}

/// Index of every product of the replica (value empty).
pub(crate) const CATALOG: &str = "catalog";

impl Aggregate for CatalogEntry {
    type Event = CatalogEvent;
    type Record = CatalogRecord;
    const KIND: &'static str = "catalog_entry";
    const PUBLISHES: &'static [Contract] = &[];

    fn id(&self) -> &str {
        &self.id
    }

    fn version(&self) -> u64 {
        self.version
    }

    fn apply(&mut self, event: &CatalogEvent, _: OffsetDateTime) {
        CatalogEntry::apply(self, event);
    }

    fn record(&self) -> CatalogRecord {
        CatalogRecord {
            id: self.id.clone(),
            name: self.name.clone(),
            daily_rate: self.daily_rate,
            version: self.version,
        }
    }

    fn restore(r: CatalogRecord) -> anyhow::Result<Self> {
        Ok(CatalogEntry {
            id: r.id,
            name: r.name,
            daily_rate: r.daily_rate,
            version: r.version,
        })
    }

    fn keys(&self) -> Vec<Key> {
        vec![Key::index(CATALOG, "")]
    }

    fn integration_event(&self, _: &CatalogEvent, _: u64) -> Option<NewEvent> {
        None
    }
}
