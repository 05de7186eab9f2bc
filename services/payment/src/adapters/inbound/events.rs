//! The payment's policy: refund when a caller requests it.

use crate::app::PaymentService;
use kernel::Policies;
use payment_contracts::events::RefundRequested;
use std::sync::Arc;

/// The policy table.
pub(crate) fn policies(app: Arc<PaymentService>) -> Policies<PaymentService> {
    Policies::new(app).on(|app, request: RefundRequested, cause| async move {
        app.void(&request.order_id, Some(&cause)).await
    })
}
