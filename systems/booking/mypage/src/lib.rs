//! The mypage service of the booking system: a read model (CQRS) of each booking's booking,
//! payment and delivery status with a timeline, folded from events only (the kernel's document
//! views) — no calls to other services, no shared database. `msa replay booking/mypage` rebuilds
//! it from the stream.

use booking_contracts as booking;
use kernel::policy::Policies;
use kernel::view::{Fold, FoldTable as _, Names, Views};
use kernel::{Application, Service, ServiceSettings};
use payment_contracts::events as payment;
use std::sync::Arc;

/// The service's name.
pub const NAME: &str = "booking/mypage";

/// The service as the `msa` binary runs it.
pub const SERVICE: kernel::ServiceDef = kernel::ServiceDef {
    name: "mypage",
    build: |layers| Box::pin(async move { build(layers.build()?).await }),
    openapi: || kernel::view::openapi("/api/mypage", "booking", "customer", "my page"),
    rebuild: Some(|layers, live, progress| {
        Box::pin(async move {
            kernel::projection::rebuild_from_start(
                &layers.build()?,
                NAME,
                &live,
                |views| projection(Arc::new(Views::new(views, names()))),
                progress,
            )
            .await
        })
    }),
};

/// Booking documents owned by customers: `bookingId`, `customerId`, `/api/mypage/bookings/{id}`.
fn names() -> Names {
    Names::new("booking", "customer")
}

/// The projection: what each event says about its booking's page.
pub fn projection(views: Arc<Views>) -> Policies<Views> {
    Policies::new(views)
        .fold(|e: booking::BookingStarted| {
            Fold::owned_by(&e.customer_id)
                .set("musicalId", e.musical_id)
                .set("musicalTitle", e.musical_title)
                .set("performanceId", e.performance_id)
                .set("startsAt", e.starts_at)
                .set("grade", e.grade)
                .set("quantity", e.quantity)
                .set("amount", e.amount)
                .set("bookingStatus", "Booked")
        })
        .fold(|e: booking::BookFailed| {
            Fold::owned_by(&e.customer_id)
                .set("bookingStatus", "BookFailed")
                .set("failureReason", e.reason)
        })
        .fold(|e: booking::CancelRequested| {
            Fold::owned_by(&e.customer_id).set("bookingStatus", "CancelRequested")
        })
        .fold(|e: booking::BookingCanceled| {
            Fold::owned_by(&e.customer_id).set("bookingStatus", "Canceled")
        })
        .fold(|e: payment::PaymentApproved| {
            Fold::owned_by(&e.customer_id)
                .set("paymentStatus", "Approved")
                .set("paymentId", e.payment_id)
        })
        .fold(|e: payment::PaymentDeclined| {
            Fold::owned_by(&e.customer_id).set("paymentStatus", "Declined")
        })
        .fold(|e: payment::PaymentCanceled| {
            Fold::owned_by(&e.customer_id).set("paymentStatus", "Refunded")
        })
        .fold(|_: payment::PaymentVoided| Fold::new().set("paymentStatus", "Voided"))
        .fold(|e: booking::DeliveryRequested| {
            Fold::owned_by(&e.customer_id).set("deliveryStatus", "Requested")
        })
        .fold(|e: booking::DeliveryShipped| {
            Fold::owned_by(&e.customer_id)
                .set("deliveryStatus", "Shipped")
                .set("shipper", e.shipper)
                .set("shippedAt", e.shipped_at)
        })
        .fold(|e: booking::DeliveryCanceled| {
            let status = if e.voided { "Voided" } else { "Canceled" };
            Fold::owned_by(&e.customer_id).set("deliveryStatus", status)
        })
}

/// Builds the service on the store its URL names (SQLite, PostgreSQL, MariaDB or Redis).
pub async fn build(settings: ServiceSettings) -> anyhow::Result<Application> {
    let (service, storage) = Service::open(NAME, settings).await?;
    let views = Arc::new(Views::new(storage.repository().generational(), names()));
    service
        .routes(kernel::view::routes(
            views.clone(),
            "/api/mypage",
            "customer",
        ))
        .react(projection(views))
        .build()
        .await
}
