//! The information service of the office system: my orders (myOrder), a read model (CQRS) of
//! each rental's product, quantity, period, amount, rental and delivery status (with the cancel
//! reason) and a timeline, folded from rental's and delivery's events only (the kernel's document
//! views; Redis in production). `msa replay office/information` rebuilds it.

use kernel::policy::Policies;
use kernel::view::{Fold, FoldTable as _, ReadModel, ViewService, Views};
use office_contracts as office;
use std::sync::Arc;

/// The service's name.
pub const NAME: &str = "office/information";

/// My orders: rental documents owned by customers, served at `/api/myorders`.
pub struct MyOrders;

impl ReadModel for MyOrders {
    const VIEW: ViewService =
        ViewService::new(NAME, "rental", "customer", "/api/myorders", projection);
}

/// The service as the `msa` binary runs it.
pub const SERVICE: kernel::ServiceDef = kernel::view::service::<MyOrders>("information");

/// The projection: what each event says about its rental's page.
pub fn projection(views: Arc<Views>) -> Policies<Views> {
    Policies::new(views)
        .fold(|e: office::RentalOrdered| {
            Fold::owned_by(&e.customer_id)
                .set("productId", e.product_id)
                .set("productName", e.product_name)
                .set("qty", e.qty)
                .set("from", e.from)
                .set("to", e.to)
                .set("amount", e.amount)
                .set("rentalStatus", "Ordered")
        })
        .fold(|e: office::RentalCanceled| {
            Fold::owned_by(&e.customer_id)
                .set("rentalStatus", "Canceled")
                .set("cancelReason", e.reason)
        })
        .fold(|e: office::ReturnRequested| {
            Fold::owned_by(&e.customer_id).set("rentalStatus", "ReturnRequested")
        })
        .fold(|e: office::RentalCompleted| {
            Fold::owned_by(&e.customer_id).set("rentalStatus", "Completed")
        })
        .fold(|e: office::DeliveryScheduled| {
            Fold::owned_by(&e.customer_id)
                .set("deliveryStatus", "Scheduled")
                .set("rentalStatus", "Scheduled")
        })
        .fold(|e: office::OutOfStock| {
            Fold::owned_by(&e.customer_id)
                .set("deliveryStatus", "Canceled")
                .note("out of stock (재고부족)")
        })
        .fold(|e: office::Delivered| {
            Fold::owned_by(&e.customer_id)
                .set("deliveryStatus", "Delivered")
                .set("rentalStatus", "Delivered")
        })
        .fold(|e: office::DeliveryCanceled| {
            Fold::owned_by(&e.customer_id).set("deliveryStatus", "Canceled")
        })
        .fold(|e: office::Collected| {
            Fold::owned_by(&e.customer_id).set("deliveryStatus", "Collected")
        })
}
