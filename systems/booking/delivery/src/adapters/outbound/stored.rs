//! How the kernel keeps a delivery: its stored record, its queue keys and its integration events.

use crate::domain::delivery::{Delivery, DeliveryEvent, DeliveryStatus, Parcel};
use anyhow::anyhow;
use booking_contracts as contract;
use kernel::NewEvent;
use kernel::aggregate::{Aggregate, Key, queue_keys};
use kernel::model::Contract;
use kernel::sql::{from_millis, millis};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A delivery as stored.
#[derive(Serialize, Deserialize)]
pub(crate) struct Record {
    id: String,
    customer_id: String,
    musical_title: String,
    starts_at: String,
    grade: String,
    quantity: u32,
    address: String,
    phone: String,
    status: String,
    shipper: Option<String>,
    shipped_at: Option<i64>,
    voided: bool,
    version: u64,
    created_at: i64,
    updated_at: i64,
}

impl Aggregate for Delivery {
    type Event = DeliveryEvent;
    type Record = Record;
    const KIND: &'static str = "delivery";
    const PUBLISHES: &'static [Contract] = &[
        Contract::of::<contract::DeliveryRequested>(),
        Contract::of::<contract::DeliveryShipped>(),
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
        let p = &self.parcel;
        Record {
            id: self.id.clone(),
            customer_id: p.customer_id.clone(),
            musical_title: p.musical_title.clone(),
            starts_at: p.starts_at.clone(),
            grade: p.grade.clone(),
            quantity: p.quantity,
            address: p.address.clone(),
            phone: p.phone.clone(),
            status: self.status.as_str().to_owned(),
            shipper: self.shipper.clone(),
            shipped_at: self.shipped_at.map(millis),
            voided: self.voided,
            version: self.version,
            created_at: millis(self.created_at),
            updated_at: millis(self.updated_at),
        }
    }

    fn restore(r: Record) -> anyhow::Result<Self> {
        Ok(Delivery {
            status: DeliveryStatus::parse(&r.status)
                .ok_or_else(|| anyhow!("unknown delivery status {}", r.status))?,
            parcel: Parcel {
                customer_id: r.customer_id,
                musical_title: r.musical_title,
                starts_at: r.starts_at,
                grade: r.grade,
                quantity: r.quantity,
                address: r.address,
                phone: r.phone,
            },
            id: r.id,
            shipper: r.shipper,
            shipped_at: r.shipped_at.map(from_millis).transpose()?,
            voided: r.voided,
            version: r.version,
            created_at: from_millis(r.created_at)?,
            updated_at: from_millis(r.updated_at)?,
        })
    }

    fn keys(&self) -> Vec<Key> {
        queue_keys(self.status.as_str(), self.created_at)
    }

    fn integration_event(&self, event: &DeliveryEvent, sequence: u64) -> Option<NewEvent> {
        let (booking_id, customer_id) = (self.id.clone(), self.parcel.customer_id.clone());
        Some(match event {
            DeliveryEvent::Requested => NewEvent::new(
                &contract::DeliveryRequested {
                    booking_id,
                    customer_id,
                },
                &self.id,
                sequence,
            ),
            DeliveryEvent::Shipped { shipper } => NewEvent::new(
                &contract::DeliveryShipped {
                    booking_id,
                    customer_id,
                    shipper: shipper.clone(),
                    shipped_at: self.shipped_at?.format(&Rfc3339).ok()?,
                },
                &self.id,
                sequence,
            ),
            DeliveryEvent::Canceled { voided } => NewEvent::new(
                &contract::DeliveryCanceled {
                    booking_id,
                    customer_id,
                    voided: *voided,
                },
                &self.id,
                sequence,
            ),
        })
    }
}
