//! The order's policies: the cancel saga. The drink canceled → refund asked; the cancel refused →
//! the order restored; the payment refunded → canceled.

use crate::app::OrderService;
use crate::domain::order::DrinkOrder;
use cafeteria_contracts::{CancelRefused, DrinkCanceled};
use kernel::Policies;
use payment_contracts::events::PaymentCanceled;
use std::sync::Arc;

/// The policy table.
pub(crate) fn policies(app: Arc<OrderService>) -> Policies<OrderService> {
    Policies::new(app)
        .on(|app, _: DrinkCanceled, cause| async move {
            app.react(&cause, DrinkOrder::drink_canceled).await
        })
        .on(|app, _: CancelRefused, cause| async move {
            app.react(&cause, DrinkOrder::cancel_refused).await
        })
        .on(|app, _: PaymentCanceled, cause| async move {
            app.react(&cause, DrinkOrder::refunded).await
        })
}
