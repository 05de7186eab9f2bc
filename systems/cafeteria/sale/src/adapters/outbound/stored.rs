//! How the kernel keeps a month's sales: its stored record (the ledger included) and the keys it
//! is found by. Sales publish nothing.

use crate::domain::sales::{Entry, MonthlySales, Row, SalesEvent};
use anyhow::anyhow;
use kernel::NewEvent;
use kernel::aggregate::{Aggregate, Key};
use kernel::model::Contract;
use kernel::sql::{from_millis, millis};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Index of every customer's sales of a month.
pub(crate) const BY_MONTH: &str = "month";

/// A ledger row as stored.
#[derive(Serialize, Deserialize)]
pub(crate) struct RowRecord {
    order_id: String,
    entry: String,
    amount: i64,
    total: i64,
    at: i64,
}

/// A month's sales as stored.
#[derive(Serialize, Deserialize)]
pub(crate) struct Record {
    id: String,
    customer_id: String,
    month: String,
    total: i64,
    rows: Vec<RowRecord>,
    version: u64,
}

impl Aggregate for MonthlySales {
    type Event = SalesEvent;
    type Record = Record;
    const KIND: &'static str = "sales";
    const PUBLISHES: &'static [Contract] = &[];

    fn id(&self) -> &str {
        &self.id
    }

    fn version(&self) -> u64 {
        self.version
    }

    fn apply(&mut self, event: &SalesEvent, _: OffsetDateTime) {
        MonthlySales::apply(self, event);
    }

    fn record(&self) -> Record {
        let rows = self.rows.iter().map(|r| RowRecord {
            order_id: r.order_id.clone(),
            entry: r.entry.as_str().to_owned(),
            amount: r.amount,
            total: r.total,
            at: millis(r.at),
        });
        Record {
            id: self.id.clone(),
            customer_id: self.customer_id.clone(),
            month: self.month.clone(),
            total: self.total,
            rows: rows.collect(),
            version: self.version,
        }
    }

    fn restore(r: Record) -> anyhow::Result<Self> {
        let rows = r.rows.into_iter().map(|row| {
            Ok(Row {
                entry: Entry::parse(&row.entry)
                    .ok_or_else(|| anyhow!("unknown ledger entry {}", row.entry))?,
                order_id: row.order_id,
                amount: row.amount,
                total: row.total,
                at: from_millis(row.at)?,
            })
        });
        Ok(MonthlySales {
            rows: rows.collect::<anyhow::Result<_>>()?,
            id: r.id,
            customer_id: r.customer_id,
            month: r.month,
            total: r.total,
            version: r.version,
        })
    }

    fn keys(&self) -> Vec<Key> {
        vec![Key::index(BY_MONTH, &self.month).scored(self.total)]
    }

    fn integration_event(&self, _: &SalesEvent, _: u64) -> Option<NewEvent> {
        None
    }
}
