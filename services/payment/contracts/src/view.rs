//! The payment part of a caller's read model: every view that shows an order's payment (a my
//! page) folds payment's events the same way, into `paymentStatus` (`Approved`, `Declined`,
//! `Refunded`, `Voided`) and `paymentId`.

use crate::events::{PaymentApproved, PaymentCanceled, PaymentDeclined, PaymentVoided};
use kernel::policy::Policies;
use kernel::view::{Fold, FoldTable as _, Views};

/// Folds payment's events into a fold table.
pub trait PaymentFolds {
    /// The table with payment's four events folded in.
    fn payment_folds(self) -> Self;
}

impl PaymentFolds for Policies<Views> {
    fn payment_folds(self) -> Self {
        self.fold(|e: PaymentApproved| {
            Fold::owned_by(&e.customer_id)
                .set("paymentStatus", "Approved")
                .fact("paymentId", e.payment_id)
                .note(format!("card ending {}", e.card_last4))
        })
        .fold(|e: PaymentDeclined| {
            Fold::owned_by(&e.customer_id)
                .set("paymentStatus", "Declined")
                .note(e.reason)
        })
        .fold(|e: PaymentCanceled| Fold::owned_by(&e.customer_id).set("paymentStatus", "Refunded"))
        .fold(|_: PaymentVoided| Fold::new().set("paymentStatus", "Voided"))
    }
}
