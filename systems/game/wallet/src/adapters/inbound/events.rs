//! The wallet's policies: an allocated reward is issued; a gift handed out completes its exchange.

use crate::app::WalletService;
use game_contracts::{HandedOut, RewardAllocated};
use kernel::Policies;
use std::sync::Arc;

/// The policy table.
pub(crate) fn policies(app: Arc<WalletService>) -> Policies<WalletService> {
    Policies::new(app)
        .on(|app, e: RewardAllocated, cause| async move { app.issue(e, &cause).await })
        .on(|app, e: HandedOut, cause| async move { app.confirm(e, &cause).await })
}
