//! How the kernel keeps a payment: its stored record, its key (the order it pays), and the
//! integration events its domain events publish.

use super::integration::integration_event;
use crate::domain::payment::{Payment, PaymentEvent, PaymentStatus};
use anyhow::anyhow;
use kernel::aggregate::{Aggregate, Key};
use kernel::model::Contract;
use kernel::sql::{from_millis, millis};
use payment_contracts::events as contract;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Unique key: the order a payment belongs to (one payment per order).
pub(crate) const BY_ORDER: &str = "order";

/// A payment as stored.
#[derive(Serialize, Deserialize)]
pub(crate) struct Record {
    id: String,
    order_id: String,
    customer_id: String,
    amount: i64,
    card_last4: Option<String>,
    status: String,
    decline_reason: Option<String>,
    version: u64,
    created_at: i64,
    updated_at: i64,
}

impl Aggregate for Payment {
    type Event = PaymentEvent;
    type Record = Record;
    const KIND: &'static str = "payment";
    const PUBLISHES: &'static [Contract] = &[
        Contract::of::<contract::PaymentApproved>(),
        Contract::of::<contract::PaymentDeclined>(),
        Contract::of::<contract::PaymentCanceled>(),
        Contract::of::<contract::PaymentVoided>(),
    ];

    fn id(&self) -> &str {
        &self.id
    }

    fn version(&self) -> u64 {
        self.version
    }

    fn apply(&mut self, event: &PaymentEvent, at: OffsetDateTime) {
        Payment::apply(self, event, at);
    }

    fn record(&self) -> Record {
        Record {
            id: self.id.clone(),
            order_id: self.order_id.clone(),
            customer_id: self.customer_id.clone(),
            amount: self.amount,
            card_last4: self.card_last4.clone(),
            status: self.status.as_str().to_owned(),
            decline_reason: self.decline_reason.clone(),
            version: self.version,
            created_at: millis(self.created_at),
            updated_at: millis(self.updated_at),
        }
    }

    fn restore(record: Record) -> anyhow::Result<Self> {
        Ok(Payment {
            status: PaymentStatus::parse(&record.status)
                .ok_or_else(|| anyhow!("unknown payment status {}", record.status))?,
            id: record.id,
            order_id: record.order_id,
            customer_id: record.customer_id,
            amount: record.amount,
            card_last4: record.card_last4,
            decline_reason: record.decline_reason,
            version: record.version,
            created_at: from_millis(record.created_at)?,
            updated_at: from_millis(record.updated_at)?,
        })
    }

    fn keys(&self) -> Vec<Key> {
        vec![Key::unique(BY_ORDER, &self.order_id)]
    }

    fn integration_event(&self, event: &PaymentEvent, sequence: u64) -> Option<kernel::NewEvent> {
        Some(integration_event(self, event, sequence))
    }
}
