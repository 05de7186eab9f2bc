//! The booking's policies: the cancel completes when payment has refunded and delivery has
//! canceled.

use crate::app::BookingService;
use crate::domain::booking::Booking;
use booking_contracts::DeliveryCanceled;
use kernel::Policies;
use payment_contracts::events::PaymentCanceled;
use std::sync::Arc;

/// The policy table.
pub(crate) fn policies(app: Arc<BookingService>) -> Policies<BookingService> {
    Policies::new(app)
        .on(|app, _: PaymentCanceled, cause| async move {
            app.react(&cause, Booking::note_refunded).await
        })
        .on(|app, _: DeliveryCanceled, cause| async move {
            app.react(&cause, Booking::note_delivery_canceled).await
        })
}
