//! The booth's policies: a paid reservation becomes a rental, a cancel request is decided, a
//! return is noted.

use crate::app::BoothService;
use crate::domain::rental::Rental;
use kernel::Policies;
use roaming_contracts::events as contract;
use std::sync::Arc;

/// The policy table.
pub(crate) fn policies(app: Arc<BoothService>) -> Policies<BoothService> {
    Policies::new(app)
        .on(|app, reserved: contract::Reserved, cause| async move {
            app.accept(reserved, &cause).await
        })
        .on(|app, _: contract::CancelRequested, cause| async move {
            app.react(&cause, |r| Ok(r.decide_cancel())).await
        })
        .on(|app, _: contract::Returned, cause| async move {
            app.react(&cause, Rental::note_returned).await
        })
}
