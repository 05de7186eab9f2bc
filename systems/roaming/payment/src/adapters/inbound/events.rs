//! The payment's policy: refund when the booth cancels a rental.

use crate::app::PaymentService;
use kernel::Policies;
use roaming_contracts::events as contract;
use std::sync::Arc;

/// The policy table.
pub fn policies(app: Arc<PaymentService>) -> Policies<PaymentService> {
    Policies::new(app).on(
        |app, canceled: contract::RentalCanceled, cause| async move {
            app.refund_canceled_rental(&canceled.reservation_id, &cause)
                .await
        },
    )
}
