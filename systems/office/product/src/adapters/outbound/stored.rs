//! How the kernel keeps a product: its stored record, its catalog keys (oldest first) and its
//! integration events.

use crate::domain::product::{Product, ProductEvent};
use kernel::aggregate::{Aggregate, Key, queue_keys};
use kernel::model::Contract;
use kernel::sql::{from_millis, millis};
use kernel::{IntegrationEvent, NewEvent};
use office_contracts as contract;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A product as stored.
#[derive(Serialize, Deserialize)]
pub(crate) struct Record {
    id: String,
    name: String,
    daily_rate: i64,
    qty: u32,
    version: u64,
    created_at: i64,
    updated_at: i64,
}

impl Aggregate for Product {
    type Event = ProductEvent;
    type Record = Record;
    const KIND: &'static str = "product";
    const PUBLISHES: &'static [Contract] = &[
        Contract::of::<contract::ProductRegistered>(),
        Contract::of::<contract::ProductRestocked>(),
    ];

    fn id(&self) -> &str {
        &self.id
    }

    fn version(&self) -> u64 {
        self.version
    }

    fn apply(&mut self, event: &ProductEvent, at: OffsetDateTime) {
        Product::apply(self, event, at);
    }

    fn record(&self) -> Record {
        Record {
            id: self.id.clone(),
            name: self.name.clone(),
            daily_rate: self.daily_rate,
            qty: self.qty,
            version: self.version,
            created_at: millis(self.created_at),
            updated_at: millis(self.updated_at),
        }
    }

    fn restore(r: Record) -> anyhow::Result<Self> {
        Ok(Product {
            id: r.id,
            name: r.name,
            daily_rate: r.daily_rate,
            qty: r.qty,
            version: r.version,
            created_at: from_millis(r.created_at)?,
            updated_at: from_millis(r.updated_at)?,
        })
    }

    fn keys(&self) -> Vec<Key> {
        queue_keys("Registered", self.created_at)
    }

    fn integration_event(&self, event: &ProductEvent, sequence: u64) -> Option<NewEvent> {
        let product_id = self.id.clone();
        Some(match event {
            ProductEvent::Registered => published(
                &contract::ProductRegistered {
                    product_id,
                    name: self.name.clone(),
                    daily_rate: self.daily_rate,
                    qty: self.qty,
                },
                self,
                sequence,
            ),
            ProductEvent::Restocked { quantity } => published(
                &contract::ProductRestocked {
                    product_id,
                    quantity: *quantity,
                },
                self,
                sequence,
            ),
        })
    }
}

fn published<E: IntegrationEvent>(event: &E, product: &Product, sequence: u64) -> NewEvent {
    NewEvent::new(event, &product.id, sequence)
}
