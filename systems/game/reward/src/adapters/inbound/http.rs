//! The operators' view of the rewards: a queue by status (allocated, issued, exchanged).

use crate::app::RewardService;
use crate::domain::reward::Reward;
use axum::Router;
use kernel::queue::QueueApi;
use std::sync::Arc;

/// The rewards, oldest first, by status.
const REWARDS: QueueApi<Reward> = QueueApi {
    base: "/api/rewards",
    plural: "rewards",
    statuses: &["Allocated", "Issued", "Exchanged"],
    show: |r| {
        serde_json::json!({
            "missionId": r.id, "rewardId": r.reward_id, "playerId": r.player_id,
            "tier": r.tier.as_str(), "points": r.points, "status": r.status.as_str(),
            "entryId": r.entry_id,
        })
    },
};

/// The routes.
pub(crate) fn routes(app: Arc<RewardService>) -> Router {
    REWARDS.routes(app.store())
}

/// The API document.
pub(crate) fn openapi() -> utoipa::openapi::OpenApi {
    REWARDS.openapi("reward", "Reward")
}
