//! The mission's policy: the reward allocated for an achievement is recorded on it.

use crate::app::MissionService;
use game_contracts::RewardAllocated;
use kernel::Policies;
use std::sync::Arc;

/// The policy table.
pub(crate) fn policies(app: Arc<MissionService>) -> Policies<MissionService> {
    Policies::new(app).on(|app, e: RewardAllocated, cause| async move {
        app.record_reward(&e.reward_id, &cause).await
    })
}
