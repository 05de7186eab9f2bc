//! Reward's policies on the in-memory store: one reward per achievement, whatever is redelivered.

use super::*;
use crate::adapters::inbound::events::policies;
use crate::domain::reward::RewardStatus;
use game_contracts as contract;
use kernel::consumer::EventHandler as _;
use kernel::sql::Storage;
use kernel::{Envelope, IntegrationEvent};
use std::sync::Arc;

async fn deliver<E: IntegrationEvent>(app: &Arc<RewardService>, event: &E, twice: bool) {
    let envelope = Envelope::of("game/mission", event, "m1");
    for _ in 0..if twice { 2 } else { 1 } {
        policies(app.clone()).handle(&envelope).await.unwrap();
    }
}

#[tokio::test]
async fn one_reward_per_achievement_follows_the_wallet() {
    let storage = Storage::memory("game/reward").await.unwrap();
    let app = Arc::new(RewardService::new(storage.repository()));
    let achieved = contract::MissionAchieved {
        mission_id: "m1".into(),
        player_id: "kim".into(),
        mission_code: "boss-raid".into(),
        title: "보스 레이드 클리어".into(),
        tier: "gold".into(),
        points: 1_000,
    };
    deliver(&app, &achieved, true).await;
    // A second delivery of the same fact (a new event id) finds the reward in place.
    deliver(&app, &achieved, false).await;
    assert_eq!(app.store().queue(None, 0, 10).await.unwrap().len(), 1);
    let issued = contract::EntryIssued {
        mission_id: "m1".into(),
        player_id: "kim".into(),
        reward_id: "r".into(),
        entry_id: "e1".into(),
        tier: "gold".into(),
        points: 1_000,
    };
    deliver(&app, &issued, true).await;
    let reward = app.store().get("m1").await.unwrap().unwrap();
    assert_eq!(
        (reward.status, reward.entry_id.as_deref()),
        (RewardStatus::Issued, Some("e1"))
    );
    assert_eq!(
        testkit::published(&storage, "m1").await,
        [contract::RewardAllocated::TYPE]
    );
}
