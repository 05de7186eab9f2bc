//! Turns payment domain events into integration events.

use crate::domain::payment::{Payment, PaymentEvent};
use kernel::NewEvent;
use payment_contracts::events as contract;

fn paid_at(payment: &Payment) -> String {
    use time::format_description::well_known::Rfc3339;
    payment.created_at.format(&Rfc3339).unwrap_or_default()
}

/// The integration event for `event`, which moved `payment` to version `sequence`.
pub(crate) fn integration_event(
    payment: &Payment,
    event: &PaymentEvent,
    sequence: u64,
) -> NewEvent {
    let subject = payment.order_id.as_str();
    match event {
        PaymentEvent::Approved => NewEvent::new(
            &contract::PaymentApproved {
                payment_id: payment.id.clone(),
                order_id: payment.order_id.clone(),
                customer_id: payment.customer_id.clone(),
                amount: payment.amount,
                card_last4: payment.card_last4.clone().unwrap_or_default(),
                paid_at: paid_at(payment),
            },
            subject,
            sequence,
        ),
        PaymentEvent::Declined { reason } => NewEvent::new(
            &contract::PaymentDeclined {
                payment_id: payment.id.clone(),
                order_id: payment.order_id.clone(),
                customer_id: payment.customer_id.clone(),
                reason: reason.code().to_owned(),
            },
            subject,
            sequence,
        ),
        PaymentEvent::Canceled => NewEvent::new(
            &contract::PaymentCanceled {
                payment_id: payment.id.clone(),
                order_id: payment.order_id.clone(),
                customer_id: payment.customer_id.clone(),
                amount: payment.amount,
                paid_at: paid_at(payment),
            },
            subject,
            sequence,
        ),
        PaymentEvent::Voided => NewEvent::new(
            &contract::PaymentVoided {
                order_id: payment.order_id.clone(),
            },
            subject,
            sequence,
        ),
    }
}
