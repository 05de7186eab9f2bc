//! Delivery's policies: the product team's events keep the stock ledger; a rental order is
//! scheduled or out of stock; a return is to be collected.

use crate::app::DeliveryService;
use kernel::Policies;
use office_contracts::{ProductRegistered, ProductRestocked, RentalOrdered, ReturnRequested};
use std::sync::Arc;

/// The policy table.
pub(crate) fn policies(app: Arc<DeliveryService>) -> Policies<DeliveryService> {
    Policies::new(app)
        .on(|app, e: ProductRegistered, cause| async move { app.register(e, &cause).await })
        .on(|app, e: ProductRestocked, cause| async move { app.restock(e.quantity, &cause).await })
        .on(|app, e: RentalOrdered, cause| async move { app.schedule(e, &cause).await })
        .on(|app, _: ReturnRequested, cause| async move { app.request_return(&cause).await })
}
