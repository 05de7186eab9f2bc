//! The delivery's policies: queue a paid booking's ticket, cancel a canceled booking's delivery.

use crate::app::DeliveryService;
use booking_contracts::{BookingStarted, CancelRequested};
use kernel::Policies;
use std::sync::Arc;

/// The policy table.
pub(crate) fn policies(app: Arc<DeliveryService>) -> Policies<DeliveryService> {
    Policies::new(app)
        .on(|app, started: BookingStarted, cause| async move { app.request(started, &cause).await })
        .on(|app, _: CancelRequested, cause| async move { app.cancel(&cause).await })
}
