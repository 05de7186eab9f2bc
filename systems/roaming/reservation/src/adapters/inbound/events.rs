//! The reservation's policies: how it reacts to the booth's and payment's events.

use crate::app::ReservationService;
use crate::domain::reservation::Reservation;
use kernel::Policies;
use payment_contracts::events::PaymentCanceled;
use roaming_contracts::events as contract;
use std::sync::Arc;

/// The policy table.
pub(crate) fn policies(app: Arc<ReservationService>) -> Policies<ReservationService> {
    Policies::new(app)
        .on(|app, _: contract::RentalHandedOut, cause| async move {
            app.react(&cause, Reservation::note_handed_out).await
        })
        .on(
            |app, refusal: contract::RentalCancelRefused, cause| async move {
                app.react(&cause, |r| r.refuse_cancel(&refusal.reason))
                    .await
            },
        )
        .on(|app, _: contract::RentalCanceled, cause| async move {
            app.react(&cause, Reservation::request_refund).await
        })
        .on(|app, _: PaymentCanceled, cause| async move {
            app.react(&cause, Reservation::complete_cancel).await
        })
        .on(|app, _: contract::RentalCollected, cause| async move {
            app.react(&cause, Reservation::complete).await
        })
}
