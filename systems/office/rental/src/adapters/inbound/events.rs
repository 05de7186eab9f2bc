//! Rental's policies: product events keep the catalog replica; delivery's events move rentals
//! (out of stock cancels: the compensation).

use crate::app::{Catalog, RentalService};
use crate::domain::rental::Rental;
use kernel::Policies;
use office_contracts::{
    Collected, Delivered, DeliveryCanceled, DeliveryScheduled, OutOfStock, ProductRegistered,
};
use std::sync::Arc;

/// The policy table.
pub(crate) fn policies(app: Arc<RentalService>) -> Policies<RentalService> {
    catalog_policies(Policies::new(app), RentalService::catalog)
        .on(|app, _: DeliveryScheduled, cause| async move {
            app.follow(&cause, Rental::note_scheduled).await
        })
        .on(|app, _: OutOfStock, cause| async move {
            app.follow(&cause, Rental::note_out_of_stock).await
        })
        .on(|app, _: Delivered, cause| async move {
            app.follow(&cause, Rental::note_delivered).await
        })
        .on(|app, _: DeliveryCanceled, cause| async move {
            app.follow(&cause, Rental::cancel).await
        })
        .on(|app, _: Collected, cause| async move {
            app.follow(&cause, Rental::note_collected).await
        })
}

/// The catalog replica's part of a table over `S` (the live service, or a rebuild's replica).
pub(crate) fn catalog_policies<S: Send + Sync + 'static>(
    policies: Policies<S>,
    catalog: fn(&S) -> Catalog,
) -> Policies<S> {
    policies.on(move |app, e: ProductRegistered, cause| async move {
        catalog(&app).list(e, &cause).await
    })
}
