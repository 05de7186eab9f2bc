//! How the kernel keeps a drink: its stored record, its queue keys and its integration events.

use crate::domain::drink::{Cup, Drink, DrinkEvent, DrinkStatus};
use anyhow::anyhow;
use cafeteria_contracts as contract;
use kernel::aggregate::{Aggregate, Key, queue_keys};
use kernel::model::Contract;
use kernel::sql::{from_millis, millis};
use kernel::{IntegrationEvent, NewEvent};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A drink as stored.
#[derive(Serialize, Deserialize)]
pub(crate) struct Record {
    id: String,
    customer_id: String,
    drink_id: String,
    drink_name: String,
    qty: u32,
    status: String,
    barista: Option<String>,
    version: u64,
    created_at: i64,
    updated_at: i64,
}

impl Aggregate for Drink {
    type Event = DrinkEvent;
    type Record = Record;
    const KIND: &'static str = "drink";
    const PUBLISHES: &'static [Contract] = &[
        Contract::of::<contract::DrinkQueued>(),
        Contract::of::<contract::DrinkReceipted>(),
        Contract::of::<contract::DrinkMade>(),
        Contract::of::<contract::DrinkCanceled>(),
        Contract::of::<contract::CancelRefused>(),
    ];

    fn id(&self) -> &str {
        &self.id
    }

    fn version(&self) -> u64 {
        self.version
    }

    fn apply(&mut self, event: &DrinkEvent, at: OffsetDateTime) {
        Drink::apply(self, event, at);
    }

    fn record(&self) -> Record {
        Record {
            id: self.id.clone(),
            customer_id: self.cup.customer_id.clone(),
            drink_id: self.cup.drink_id.clone(),
            drink_name: self.cup.drink_name.clone(),
            qty: self.cup.qty,
            status: self.status.as_str().to_owned(),
            barista: self.barista.clone(),
            version: self.version,
            created_at: millis(self.created_at),
            updated_at: millis(self.updated_at),
        }
    }

    fn restore(r: Record) -> anyhow::Result<Self> {
        Ok(Drink {
            status: DrinkStatus::parse(&r.status)
                .ok_or_else(|| anyhow!("unknown drink status {}", r.status))?,
            id: r.id,
            cup: Cup {
                customer_id: r.customer_id,
                drink_id: r.drink_id,
                drink_name: r.drink_name,
                qty: r.qty,
            },
            barista: r.barista,
            version: r.version,
            created_at: from_millis(r.created_at)?,
            updated_at: from_millis(r.updated_at)?,
        })
    }

    fn keys(&self) -> Vec<Key> {
        queue_keys(self.status.as_str(), self.created_at)
    }

    fn integration_event(&self, event: &DrinkEvent, sequence: u64) -> Option<NewEvent> {
        let order_id = self.id.clone();
        let customer_id = self.cup.customer_id.clone();
        let drink_name = self.cup.drink_name.clone();
        Some(match event {
            DrinkEvent::Queued => published(
                &contract::DrinkQueued {
                    order_id,
                    customer_id,
                    drink_name,
                    qty: self.cup.qty,
                },
                self,
                sequence,
            ),
            DrinkEvent::Receipted { .. } => published(
                &contract::DrinkReceipted {
                    order_id,
                    customer_id,
                    drink_name,
                },
                self,
                sequence,
            ),
            DrinkEvent::Made => published(
                &contract::DrinkMade {
                    order_id,
                    customer_id,
                    drink_name,
                },
                self,
                sequence,
            ),
            DrinkEvent::Canceled => published(
                &contract::DrinkCanceled {
                    order_id,
                    customer_id,
                },
                self,
                sequence,
            ),
            DrinkEvent::CancelRefused => published(
                &contract::CancelRefused {
                    order_id,
                    customer_id,
                    drink_name,
                    status: self.status.as_str().to_owned(),
                },
                self,
                sequence,
            ),
        })
    }
}

fn published<E: IntegrationEvent>(event: &E, drink: &Drink, sequence: u64) -> NewEvent {
    NewEvent::new(event, &drink.id, sequence)
}
