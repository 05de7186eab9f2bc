//! The projection: every roaming event, decoded from its contract into a fact for my page.

use crate::app::MyPage;
use crate::domain::view::{Fact, FactKind, Terms};
use async_trait::async_trait;
use kernel::consumer::{EventHandler, HandleError};
use kernel::envelope::EnvelopeError;
use kernel::{Envelope, IntegrationEvent};
use roaming_contracts::events as contract;
use std::sync::Arc;

fn terms(t: contract::ReservationTerms) -> Terms {
    Terms {
        device_model: t.device_model,
        country: t.country,
        rental_date: t.rental_date,
        return_date: t.return_date,
        booth: t.booth,
        amount: t.amount,
    }
}

macro_rules! facts {
    ($event:expr, $( $contract:ty => |$e:ident| ($customer:expr, $kind:expr) ),* $(,)?) => {{
        let event: &Envelope = $event;
        $(
            if event.is::<$contract>() {
                let $e: $contract = event.decode()?;
                let customer: Option<String> = $customer;
                return Ok(Some(Fact { customer_id: customer, sequence: event.sequence, at: event.time, kind: $kind }));
            }
        )*
        Ok(None)
    }};
}

/// Event types my page folds in.
pub fn subscribed_types() -> Vec<String> {
    [
        contract::ReservationRequested::TYPE,
        contract::Reserved::TYPE,
        contract::ReserveFailed::TYPE,
        contract::PaymentUnconfirmed::TYPE,
        contract::CancelRequested::TYPE,
        contract::ReservationCanceled::TYPE,
        contract::CancelRefused::TYPE,
        contract::ReservationHandedOut::TYPE,
        contract::Returned::TYPE,
        contract::Completed::TYPE,
        contract::PaymentApproved::TYPE,
        contract::PaymentDeclined::TYPE,
        contract::PaymentCanceled::TYPE,
        contract::PaymentVoided::TYPE,
        contract::RentalAccepted::TYPE,
        contract::RentalHandedOut::TYPE,
        contract::RentalCanceled::TYPE,
        contract::RentalCancelRefused::TYPE,
        contract::RentalReturned::TYPE,
        contract::RentalCollected::TYPE,
    ]
    .map(str::to_owned)
    .to_vec()
}

/// The fact an event states, if my page cares about it.
pub fn fact_of(event: &Envelope) -> Result<Option<Fact>, EnvelopeError> {
    facts!(event,
        contract::ReservationRequested => |e| (Some(e.terms.customer_id.clone()), FactKind::Requested(terms(e.terms))),
        contract::Reserved => |e| (Some(e.terms.customer_id.clone()), FactKind::Reserved(terms(e.terms))),
        contract::ReserveFailed => |e| (Some(e.customer_id), FactKind::ReserveFailed(e.reason)),
        contract::PaymentUnconfirmed => |e| (Some(e.customer_id), FactKind::PaymentUnconfirmed),
        contract::CancelRequested => |e| (Some(e.customer_id), FactKind::CancelRequested),
        contract::ReservationCanceled => |e| (Some(e.customer_id), FactKind::Canceled),
        contract::CancelRefused => |e| (Some(e.customer_id), FactKind::CancelRefused(e.reason)),
        contract::ReservationHandedOut => |e| (Some(e.customer_id), FactKind::ReservationHandedOut),
        contract::Returned => |e| (Some(e.customer_id), FactKind::Returned),
        contract::Completed => |e| (Some(e.customer_id), FactKind::Completed),
        contract::PaymentApproved => |e| (Some(e.customer_id), FactKind::PaymentApproved { payment_id: e.payment_id, card_last4: e.card_last4 }),
        contract::PaymentDeclined => |e| (Some(e.customer_id), FactKind::PaymentDeclined(e.reason)),
        contract::PaymentCanceled => |e| (Some(e.customer_id), FactKind::PaymentCanceled),
        contract::PaymentVoided => |_e| (None, FactKind::PaymentVoided),
        contract::RentalAccepted => |e| (Some(e.customer_id), FactKind::RentalAccepted),
        contract::RentalHandedOut => |e| (Some(e.customer_id), FactKind::RentalHandedOut(e.device_serial)),
        contract::RentalCanceled => |e| (Some(e.customer_id), FactKind::RentalCanceled),
        contract::RentalCancelRefused => |e| (Some(e.customer_id), FactKind::RentalCancelRefused(e.reason)),
        contract::RentalReturned => |e| (Some(e.customer_id), FactKind::RentalReturned),
        contract::RentalCollected => |e| (Some(e.customer_id), FactKind::RentalCollected),
    )
}

/// Folds each delivery into my page.
pub struct Projection(pub Arc<MyPage>);

#[async_trait]
impl EventHandler for Projection {
    async fn handle(&self, event: &Envelope) -> Result<(), HandleError> {
        let Some(fact) = fact_of(event)? else {
            return Ok(());
        };
        self.0.record(&fact, event).await.map_err(HandleError::from)
    }
}
