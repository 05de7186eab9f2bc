//! The projection: every roaming event, decoded from its contract into a fact for my page.

use crate::app::MyPage;
use crate::domain::view::{Fact, FactKind, Terms};
use kernel::{Cause, IntegrationEvent, Policies};
use payment_contracts::events as payment;
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

/// Folds contract `E` into my page as the fact `fact` makes of it.
trait Fold {
    fn fold<E: IntegrationEvent + Send + 'static>(
        self,
        fact: fn(E) -> (Option<String>, FactKind),
    ) -> Self;
}

impl Fold for Policies<MyPage> {
    fn fold<E: IntegrationEvent + Send + 'static>(
        self,
        fact: fn(E) -> (Option<String>, FactKind),
    ) -> Self {
        self.on(move |app: Arc<MyPage>, event: E, cause: Cause| async move {
            let (customer_id, kind) = fact(event);
            let fact = Fact {
                customer_id,
                sequence: cause.sequence(),
                at: cause.time(),
                kind,
            };
            app.record(fact, &cause).await
        })
    }
}

/// The projection's table: every roaming event my page cares about, as a fact.
pub fn policies(app: Arc<MyPage>) -> Policies<MyPage> {
    Policies::new(app)
        .fold(|e: contract::ReservationRequested| {
            (
                Some(e.terms.customer_id.clone()),
                FactKind::Requested(terms(e.terms)),
            )
        })
        .fold(|e: contract::Reserved| {
            (
                Some(e.terms.customer_id.clone()),
                FactKind::Reserved(terms(e.terms)),
            )
        })
        .fold(|e: contract::ReserveFailed| (Some(e.customer_id), FactKind::ReserveFailed(e.reason)))
        .fold(|e: contract::PaymentUnconfirmed| (Some(e.customer_id), FactKind::PaymentUnconfirmed))
        .fold(|e: contract::CancelRequested| (Some(e.customer_id), FactKind::CancelRequested))
        .fold(|e: contract::ReservationCanceled| (Some(e.customer_id), FactKind::Canceled))
        .fold(|e: contract::CancelRefused| (Some(e.customer_id), FactKind::CancelRefused(e.reason)))
        .fold(|e: contract::ReservationHandedOut| {
            (Some(e.customer_id), FactKind::ReservationHandedOut)
        })
        .fold(|e: contract::Returned| (Some(e.customer_id), FactKind::Returned))
        .fold(|e: contract::Completed| (Some(e.customer_id), FactKind::Completed))
        .fold(|e: payment::PaymentApproved| {
            (
                Some(e.customer_id),
                FactKind::PaymentApproved {
                    payment_id: e.payment_id,
                    card_last4: e.card_last4,
                },
            )
        })
        .fold(|e: payment::PaymentDeclined| {
            (Some(e.customer_id), FactKind::PaymentDeclined(e.reason))
        })
        .fold(|e: payment::PaymentCanceled| (Some(e.customer_id), FactKind::PaymentCanceled))
        .fold(|_e: payment::PaymentVoided| (None, FactKind::PaymentVoided))
        .fold(|e: contract::RentalAccepted| (Some(e.customer_id), FactKind::RentalAccepted))
        .fold(|e: contract::RentalHandedOut| {
            (
                Some(e.customer_id),
                FactKind::RentalHandedOut(e.device_serial),
            )
        })
        .fold(|e: contract::RentalCanceled| (Some(e.customer_id), FactKind::RentalCanceled))
        .fold(|e: contract::RentalCancelRefused| {
            (Some(e.customer_id), FactKind::RentalCancelRefused(e.reason))
        })
        .fold(|e: contract::RentalReturned| (Some(e.customer_id), FactKind::RentalReturned))
        .fold(|e: contract::RentalCollected| (Some(e.customer_id), FactKind::RentalCollected))
}
