//! Reward's policies: an achieved mission's reward is allocated; the wallet's issue and exchange
//! move it.

use crate::app::RewardService;
use game_contracts::{EntryIssued, Exchanged, MissionAchieved};
use kernel::Policies;
use std::sync::Arc;

/// The policy table.
pub(crate) fn policies(app: Arc<RewardService>) -> Policies<RewardService> {
    Policies::new(app)
        .on(|app, e: MissionAchieved, cause| async move { app.allocate(e, &cause).await })
        .on(|app, e: EntryIssued, cause| async move {
            app.follow(&cause, |r| r.issue(&e.entry_id)).await
        })
        .on(|app, _: Exchanged, cause| async move { app.follow(&cause, |r| r.exchange()).await })
}
