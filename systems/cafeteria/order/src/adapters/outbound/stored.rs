//! How the kernel keeps an order: its stored record, the keys it is found by, the integration
//! events its domain events publish, and what checkout needs of it.

use crate::domain::menu;
use crate::domain::order::{DrinkOrder, NotAllowed, OrderEvent, OrderStatus};
use anyhow::anyhow;
use cafeteria_contracts as contract;
use kernel::aggregate::{Aggregate, Key};
use kernel::model::Contract;
use kernel::sql::{from_millis, millis};
use kernel::{IntegrationEvent, NewEvent};
use payment_contracts::checkout::{Payable, Progress, Unpaid};
use payment_contracts::events::RefundRequested;
use payment_contracts::orders::order_keys;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// An order as stored.
#[derive(Serialize, Deserialize)]
pub(crate) struct Record {
    id: String,
    customer_id: String,
    drink_id: String,
    qty: u32,
    idempotency_key: Option<String>,
    status: String,
    failure: Option<String>,
    payment_unconfirmed: bool,
    payment_id: Option<String>,
    paid_at: Option<i64>,
    refund_requested: bool,
    version: u64,
    created_at: i64,
    updated_at: i64,
}

fn publish<E: IntegrationEvent>(event: &E, order: &DrinkOrder, sequence: u64) -> Option<NewEvent> {
    Some(NewEvent::new(event, &order.id, sequence))
}

impl Aggregate for DrinkOrder {
    type Event = OrderEvent;
    type Record = Record;
    const KIND: &'static str = "order";
    const PUBLISHES: &'static [Contract] = &[
        Contract::of::<contract::Ordered>(),
        Contract::of::<contract::OrderFailed>(),
        Contract::of::<contract::CancelRequested>(),
        Contract::of::<contract::OrderRestored>(),
        Contract::of::<RefundRequested>(),
        Contract::of::<contract::OrderCanceled>(),
    ];

    fn id(&self) -> &str {
        &self.id
    }

    fn version(&self) -> u64 {
        self.version
    }

    fn apply(&mut self, event: &OrderEvent, at: OffsetDateTime) {
        DrinkOrder::apply(self, event, at);
    }

    fn record(&self) -> Record {
        Record {
            id: self.id.clone(),
            customer_id: self.customer_id.clone(),
            drink_id: self.drink.id.to_owned(),
            qty: self.qty,
            idempotency_key: self.idempotency_key.clone(),
            status: self.status.as_str().to_owned(),
            failure: self.failure.clone(),
            payment_unconfirmed: self.payment_unconfirmed,
            payment_id: self.payment.as_ref().map(|(id, _)| id.clone()),
            paid_at: self.payment.as_ref().map(|(_, at)| millis(*at)),
            refund_requested: self.refund_requested,
            version: self.version,
            created_at: millis(self.created_at),
            updated_at: millis(self.updated_at),
        }
    }

    fn restore(r: Record) -> anyhow::Result<Self> {
        let payment = match (r.payment_id, r.paid_at) {
            (Some(id), Some(at)) => Some((id, from_millis(at)?)),
            _ => None,
        };
        Ok(DrinkOrder {
            drink: menu::drink(&r.drink_id)
                .ok_or_else(|| anyhow!("drink {} is not on the menu", r.drink_id))?,
            status: OrderStatus::parse(&r.status)
                .ok_or_else(|| anyhow!("unknown order status {}", r.status))?,
            id: r.id,
            customer_id: r.customer_id,
            qty: r.qty,
            idempotency_key: r.idempotency_key,
            failure: r.failure,
            payment_unconfirmed: r.payment_unconfirmed,
            payment,
            refund_requested: r.refund_requested,
            version: r.version,
            created_at: from_millis(r.created_at)?,
            updated_at: from_millis(r.updated_at)?,
        })
    }

    fn keys(&self) -> Vec<Key> {
        order_keys(self, self.idempotency_key.as_deref(), self.created_at)
    }

    fn integration_event(&self, event: &OrderEvent, sequence: u64) -> Option<NewEvent> {
        let (order_id, customer_id) = (self.id.clone(), self.customer_id.clone());
        match event {
            OrderEvent::Paid { paid_at, .. } => {
                let ordered = contract::Ordered {
                    order_id,
                    customer_id,
                    drink_id: self.drink.id.to_owned(),
                    drink_name: self.drink.name_ko.to_owned(),
                    drink_name_en: self.drink.name_en.to_owned(),
                    qty: self.qty,
                    amount: self.amount(),
                    paid_at: paid_at.format(&Rfc3339).ok()?,
                };
                publish(&ordered, self, sequence)
            }
            OrderEvent::Failed { reason } => {
                let reason = reason.clone();
                let failed = contract::OrderFailed {
                    order_id,
                    customer_id,
                    reason,
                };
                publish(&failed, self, sequence)
            }
            OrderEvent::CancelRequested => {
                let requested = contract::CancelRequested {
                    order_id,
                    customer_id,
                };
                publish(&requested, self, sequence)
            }
            OrderEvent::Restored => {
                let restored = contract::OrderRestored {
                    order_id,
                    customer_id,
                };
                publish(&restored, self, sequence)
            }
            OrderEvent::RefundRequested => {
                let reason = "canceled".to_owned();
                publish(&RefundRequested { order_id, reason }, self, sequence)
            }
            OrderEvent::Canceled => {
                let canceled = contract::OrderCanceled {
                    order_id,
                    customer_id,
                };
                publish(&canceled, self, sequence)
            }
            OrderEvent::Placed | OrderEvent::PaymentUnconfirmed => None,
        }
    }
}

impl Payable for DrinkOrder {
    type Refusal = NotAllowed;

    fn bill(&self) -> (String, i64) {
        (self.customer_id.clone(), self.amount())
    }

    fn progress(&self) -> Progress {
        let unconfirmed = self.payment_unconfirmed;
        match (self.status, self.failure.as_deref()) {
            (OrderStatus::PaymentPending, _) => Progress::Pending { unconfirmed },
            (OrderStatus::OrderFailed, code) => Progress::Failed(Unpaid::parse(code)),
            _ => Progress::Settled,
        }
    }

    fn changed_at(&self) -> OffsetDateTime {
        self.updated_at
    }

    fn paid(&self, payment_id: &str) -> Result<Vec<OrderEvent>, NotAllowed> {
        self.pay(payment_id, kernel::clock::now())
    }

    fn unpaid(&self, why: &Unpaid) -> Result<Vec<OrderEvent>, NotAllowed> {
        self.fail(why.code())
    }

    fn unconfirmed(&self) -> Result<Vec<OrderEvent>, NotAllowed> {
        self.leave_unconfirmed()
    }
}
