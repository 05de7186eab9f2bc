//! How the kernel keeps deliveries and the stock ledger: stored records, queue keys, the stock
//! counter each event moves (in the same transaction as the event), the integration events.

use crate::domain::delivery::{Delivery, DeliveryEvent, DeliveryStatus, Parcel, reason};
use crate::domain::stock::{StockEvent, StockItem};
use anyhow::anyhow;
use kernel::aggregate::{Aggregate, CounterChange, Key, queue_keys};
use kernel::model::Contract;
use kernel::sql::{from_millis, millis};
use kernel::{IntegrationEvent, NewEvent};
use office_contracts as contract;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The stock counters, one per product id.
pub(crate) const STOCK: &str = "stock";

/// A delivery as stored.
#[derive(Serialize, Deserialize)]
pub(crate) struct Record {
    id: String,
    customer_id: String,
    product_id: String,
    product_name: String,
    qty: u32,
    status: String,
    cancel_reason: Option<String>,
    version: u64,
    created_at: i64,
    updated_at: i64,
}

impl Aggregate for Delivery {
    type Event = DeliveryEvent;
    type Record = Record;
    const KIND: &'static str = "delivery";
    const PUBLISHES: &'static [Contract] = &[
        Contract::of::<contract::DeliveryScheduled>(),
        Contract::of::<contract::OutOfStock>(),
        Contract::of::<contract::Delivered>(),
        Contract::of::<contract::Collected>(),
        Contract::of::<contract::DeliveryCanceled>(),
    ];

    fn id(&self) -> &str {
        &self.id
    }

    fn version(&self) -> u64 {
        self.version
    }

    fn apply(&mut self, event: &DeliveryEvent, at: OffsetDateTime) {
        Delivery::apply(self, event, at);
    }

    fn record(&self) -> Record {
        Record {
            id: self.id.clone(),
            customer_id: self.parcel.customer_id.clone(),
            product_id: self.parcel.product_id.clone(),
            product_name: self.parcel.product_name.clone(),
            qty: self.parcel.qty,
            status: self.status.as_str().to_owned(),
            cancel_reason: self.cancel_reason.map(str::to_owned),
            version: self.version,
            created_at: millis(self.created_at),
            updated_at: millis(self.updated_at),
        }
    }

    fn restore(r: Record) -> anyhow::Result<Self> {
        Ok(Delivery {
            status: DeliveryStatus::parse(&r.status)
                .ok_or_else(|| anyhow!("unknown delivery status {}", r.status))?,
            cancel_reason: match r.cancel_reason.as_deref() {
                Some(reason::OUT_OF_STOCK) => Some(reason::OUT_OF_STOCK),
                Some(_) => Some(reason::CUSTOMER),
                None => None,
            },
            id: r.id,
            parcel: Parcel {
                customer_id: r.customer_id,
                product_id: r.product_id,
                product_name: r.product_name,
                qty: r.qty,
            },
            version: r.version,
            created_at: from_millis(r.created_at)?,
            updated_at: from_millis(r.updated_at)?,
        })
    }

    fn keys(&self) -> Vec<Key> {
        queue_keys(self.status.as_str(), self.created_at)
    }

    fn counter_changes(&self, event: &DeliveryEvent) -> Vec<CounterChange> {
        let (key, qty) = (self.parcel.product_id.clone(), self.parcel.qty.into());
        match event {
            DeliveryEvent::Scheduled => vec![CounterChange::take(STOCK, key, qty)],
            DeliveryEvent::Canceled | DeliveryEvent::Collected => {
                vec![CounterChange::give(STOCK, key, qty)]
            }
            _ => vec![],
        }
    }

    fn integration_event(&self, event: &DeliveryEvent, sequence: u64) -> Option<NewEvent> {
        let rental_id = self.id.clone();
        let customer_id = self.parcel.customer_id.clone();
        let (product_id, qty) = (self.parcel.product_id.clone(), self.parcel.qty);
        Some(match event {
            DeliveryEvent::Scheduled => published(
                &contract::DeliveryScheduled {
                    rental_id,
                    customer_id,
                    product_id,
                    qty,
                },
                self,
                sequence,
            ),
            DeliveryEvent::OutOfStock => published(
                &contract::OutOfStock {
                    rental_id,
                    customer_id,
                    product_id,
                    qty,
                },
                self,
                sequence,
            ),
            DeliveryEvent::Delivered => published(
                &contract::Delivered {
                    rental_id,
                    customer_id,
                },
                self,
                sequence,
            ),
            DeliveryEvent::Collected => published(
                &contract::Collected {
                    rental_id,
                    customer_id,
                },
                self,
                sequence,
            ),
            DeliveryEvent::Canceled | DeliveryEvent::Tombstoned => published(
                &contract::DeliveryCanceled {
                    rental_id,
                    customer_id,
                },
                self,
                sequence,
            ),
            DeliveryEvent::ReturnRequested => return None,
        })
    }
}

fn published<E: IntegrationEvent>(event: &E, delivery: &Delivery, sequence: u64) -> NewEvent {
    NewEvent::new(event, &delivery.id, sequence)
}

/// A product of the stock ledger as stored.
#[derive(Serialize, Deserialize)]
pub(crate) struct StockRecord {
    id: String,
    name: String,
    version: u64,
    created_at: i64,
}

impl Aggregate for StockItem {
    type Event = StockEvent;
    type Record = StockRecord;
    const KIND: &'static str = "stock";
    const PUBLISHES: &'static [Contract] = &[];

    fn id(&self) -> &str {
        &self.id
    }

    fn version(&self) -> u64 {
        self.version
    }

    fn apply(&mut self, _: &StockEvent, _: OffsetDateTime) {
        self.version += 1;
    }

    fn record(&self) -> StockRecord {
        StockRecord {
            id: self.id.clone(),
            name: self.name.clone(),
            version: self.version,
            created_at: millis(self.created_at),
        }
    }

    fn restore(r: StockRecord) -> anyhow::Result<Self> {
        Ok(StockItem {
            id: r.id,
            name: r.name,
            version: r.version,
            created_at: from_millis(r.created_at)?,
        })
    }

    fn keys(&self) -> Vec<Key> {
        queue_keys("Registered", self.created_at)
    }

    fn counter_changes(&self, event: &StockEvent) -> Vec<CounterChange> {
        let (StockEvent::Registered { qty } | StockEvent::Restocked { qty }) = event;
        vec![CounterChange::give(STOCK, self.id.clone(), (*qty).into())]
    }

    fn integration_event(&self, _: &StockEvent, _: u64) -> Option<NewEvent> {
        None
    }
}
