//! The mypage service of the booking system: a read model (CQRS) of each booking's booking,
//! payment and delivery status with a timeline, folded from events only (the kernel's document
//! views) — no calls to other services, no shared database. `msa replay booking/mypage` rebuilds
//! it from the stream.

use booking_contracts as booking;
use kernel::policy::Policies;
use kernel::view::{Fold, FoldTable as _, ReadModel, ViewService, Views};
use payment_contracts::view::PaymentFolds as _;
use std::sync::Arc;

/// The service's name.
pub const NAME: &str = "booking/mypage";

/// My page: booking documents owned by customers, served at `/api/mypage`.
pub struct BookingPages;

impl ReadModel for BookingPages {
    const VIEW: ViewService =
        ViewService::new(NAME, "booking", "customer", "/api/mypage", projection);
}

/// The service as the `msa` binary runs it.
pub const SERVICE: kernel::ServiceDef = kernel::view::service::<BookingPages>("mypage");

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
        .payment_folds()
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
