//! The drink's policies: a paid order's drink is queued; a cancel request is answered.

use crate::app::DrinkService;
use cafeteria_contracts::{CancelRequested, Ordered};
use kernel::Policies;
use std::sync::Arc;

/// The policy table.
pub(crate) fn policies(app: Arc<DrinkService>) -> Policies<DrinkService> {
    Policies::new(app)
        .on(|app, ordered: Ordered, cause| async move { app.queue_paid(ordered, &cause).await })
        .on(|app, _: CancelRequested, cause| async move { app.cancel(&cause).await })
}
