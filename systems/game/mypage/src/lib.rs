//! The my page service of the game system: a read model (CQRS) of each achievement — the mission,
//! its reward (tier, points, status), the wallet entry and the gift — with a timeline, folded from
//! events only, by the achievement id every event carries (the seed's view looked rewards up by
//! the wallet's id). `msa replay game/mypage` rebuilds it.

use game_contracts as game;
use kernel::policy::Policies;
use kernel::view::{Fold, FoldTable as _, ReadModel, ViewService, Views};
use std::sync::Arc;

/// The service's name.
pub const NAME: &str = "game/mypage";

/// My page: achievement documents owned by players, served at `/api/mypage`.
pub struct MissionPages;

impl ReadModel for MissionPages {
    const VIEW: ViewService =
        ViewService::new(NAME, "mission", "player", "/api/mypage", projection);
}

/// The service as the `msa` binary runs it.
pub const SERVICE: kernel::ServiceDef = kernel::view::service::<MissionPages>("mypage");

/// The projection: what each event says about its achievement's page.
pub fn projection(views: Arc<Views>) -> Policies<Views> {
    Policies::new(views)
        .fold(|e: game::MissionAchieved| {
            Fold::owned_by(&e.player_id)
                .set("missionCode", e.mission_code)
                .set("title", e.title)
                .set("tier", e.tier)
                .set("points", e.points)
                .set("missionStatus", "Achieved")
        })
        .fold(|e: game::RewardAllocated| {
            Fold::owned_by(&e.player_id)
                .set("rewardId", e.reward_id)
                .set("rewardStatus", "Allocated")
        })
        .fold(|e: game::EntryIssued| {
            Fold::owned_by(&e.player_id)
                .set("entryId", e.entry_id)
                .set("entryStatus", "Issued")
                .set("rewardStatus", "Issued")
        })
        .fold(|e: game::Exchanged| {
            Fold::owned_by(&e.player_id)
                .set("entryStatus", "Exchanged")
                .set("rewardStatus", "Exchanged")
                .set("giftCode", e.gift_code)
                .set("giftName", e.gift_name)
        })
        .fold(|e: game::HandedOut| Fold::owned_by(&e.player_id).set("giftStatus", "HandedOut"))
}
