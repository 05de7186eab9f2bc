//! The customer service of the roaming system: my page, a read model (CQRS) of every
//! reservation's reservation, payment and rental status with a timeline, folded from events only
//! (the kernel's document views) — no calls to other services, no shared database. Each source's
//! status moves only forward by that source's `sequence`; terms, serial and payment id are facts
//! that hold whatever the order. `msa replay roaming/customer` rebuilds it from the stream.

use kernel::policy::Policies;
use kernel::view::{Fold, FoldTable as _, ReadModel, ViewService, Views};
use payment_contracts::view::PaymentFolds as _;
use roaming_contracts::events as contract;
use std::sync::Arc;

/// The service's name.
pub const NAME: &str = "roaming/customer";

/// My page: reservation documents owned by customers, served at `/api/mypage`.
pub struct ReservationPages;

impl ReadModel for ReservationPages {
    const VIEW: ViewService =
        ViewService::new(NAME, "reservation", "customer", "/api/mypage", projection);
}

/// The service as the `msa` binary runs it.
pub const SERVICE: kernel::ServiceDef = kernel::view::service::<ReservationPages>("customer");

fn terms(fold: Fold, terms: &contract::ReservationTerms) -> Fold {
    fold.fact("deviceModel", &terms.device_model)
        .fact("country", &terms.country)
        .fact("rentalDate", &terms.rental_date)
        .fact("returnDate", &terms.return_date)
        .fact("booth", &terms.booth)
        .fact("amount", terms.amount)
}

fn or(status: String, before: &str) -> String {
    if status.is_empty() {
        before.to_owned()
    } else {
        status
    }
}

/// The projection: what each roaming event says about its reservation's page.
pub fn projection(views: Arc<Views>) -> Policies<Views> {
    Policies::new(views)
        .fold(|e: contract::ReservationRequested| {
            terms(Fold::owned_by(&e.terms.customer_id), &e.terms)
                .set("reservationStatus", "PaymentPending")
        })
        .fold(|e: contract::Reserved| {
            terms(Fold::owned_by(&e.terms.customer_id), &e.terms)
                .set("reservationStatus", "Reserved")
        })
        .fold(|e: contract::ReserveFailed| {
            Fold::owned_by(&e.customer_id)
                .set("reservationStatus", "ReserveFailed")
                .set("failureReason", &e.reason)
                .note(e.reason)
        })
        .fold(|e: contract::PaymentUnconfirmed| Fold::owned_by(&e.customer_id))
        .fold(|e: contract::CancelRequested| {
            Fold::owned_by(&e.customer_id).set("reservationStatus", "CancelRequested")
        })
        .fold(|e: contract::ReservationCanceled| {
            Fold::owned_by(&e.customer_id).set("reservationStatus", "Canceled")
        })
        .fold(|e: contract::CancelRefused| {
            Fold::owned_by(&e.customer_id)
                .set("reservationStatus", or(e.status, "Reserved"))
                .set("cancelRefusedReason", &e.reason)
                .note(e.reason)
        })
        .fold(|e: contract::ReservationHandedOut| {
            Fold::owned_by(&e.customer_id)
                .set("reservationStatus", or(e.status, "HandedOut"))
                .fact("handedOut", true)
        })
        .fold(|e: contract::Returned| {
            Fold::owned_by(&e.customer_id).set("reservationStatus", "Returned")
        })
        .fold(|e: contract::Completed| {
            Fold::owned_by(&e.customer_id).set("reservationStatus", "Completed")
        })
        .payment_folds()
        .fold(|e: contract::RentalAccepted| {
            Fold::owned_by(&e.customer_id).set("rentalStatus", "Accepted")
        })
        .fold(|e: contract::RentalHandedOut| {
            Fold::owned_by(&e.customer_id)
                .set("rentalStatus", "HandedOut")
                .fact("deviceSerial", &e.device_serial)
                .fact("handedOut", true)
                .note(e.device_serial)
        })
        .fold(|e: contract::RentalCanceled| {
            Fold::owned_by(&e.customer_id).set("rentalStatus", "Canceled")
        })
        .fold(|e: contract::RentalCancelRefused| Fold::owned_by(&e.customer_id).note(e.reason))
        .fold(|e: contract::RentalReturned| {
            Fold::owned_by(&e.customer_id).set("rentalStatus", "Returned")
        })
        .fold(|e: contract::RentalCollected| {
            Fold::owned_by(&e.customer_id).set("rentalStatus", "Collected")
        })
}

#[cfg(test)]
mod tests;
