//! The sale's policies: counted from payment's events, not called by payment (a sale outage never
//! blocks an order), each exactly once (the inbox and the ledger's order ids).

use crate::app::{SaleService, paid_at};
use kernel::Policies;
use payment_contracts::events::{PaymentApproved, PaymentCanceled};
use std::sync::Arc;

/// The policy table.
pub(crate) fn policies(app: Arc<SaleService>) -> Policies<SaleService> {
    Policies::new(app)
        .on(|app, e: PaymentApproved, cause| async move {
            let at = paid_at(&e.paid_at, &cause);
            app.count(&e.customer_id, e.amount, at, &cause).await
        })
        .on(|app, e: PaymentCanceled, cause| async move {
            let at = paid_at(&e.paid_at, &cause);
            app.refund(&e.customer_id, e.amount, at, &cause).await
        })
}
