//! The players' use cases on the in-memory store.

use super::*;
use crate::adapters::inbound::events::policies;
use kernel::consumer::EventHandler as _;
use kernel::sql::Storage;
use kernel::{Envelope, IntegrationEvent as _};
use std::sync::Arc;

async fn service() -> (Arc<MissionService>, Storage) {
    let storage = Storage::memory("game/mission").await.unwrap();
    (Arc::new(MissionService::new(storage.repository())), storage)
}

#[tokio::test]
async fn a_mission_is_achieved_once_per_player_and_a_retry_is_the_same_achievement() {
    let (app, storage) = service().await;
    let first = app.achieve("kim", "boss-raid", Some("k1")).await.unwrap();
    let again = app.achieve("kim", "boss-raid", Some("k1")).await.unwrap();
    assert_eq!(again.id, first.id);
    assert!(matches!(
        app.achieve("kim", "boss-raid", Some("k2")).await,
        Err(AchieveError::AlreadyAchieved)
    ));
    app.achieve("lee", "boss-raid", None).await.unwrap();
    assert!(matches!(
        app.achieve("kim", "moon-landing", None).await,
        Err(AchieveError::UnknownMission(_))
    ));
    assert_eq!(
        testkit::published(&storage, &first.id).await,
        [game_contracts::MissionAchieved::TYPE]
    );
}

#[tokio::test]
async fn the_allocated_reward_is_recorded_on_the_achievement() {
    let (app, _) = service().await;
    let mission = app.achieve("kim", "daily-7", None).await.unwrap();
    let allocated = game_contracts::RewardAllocated {
        mission_id: mission.id.clone(),
        player_id: "kim".into(),
        reward_id: "rw-1".into(),
        tier: "silver".into(),
        points: 300,
    };
    let envelope = Envelope::of("game/reward", &allocated, &mission.id);
    policies(app.clone()).handle(&envelope).await.unwrap();
    let recorded = app.store().get(&mission.id).await.unwrap().unwrap();
    assert_eq!(recorded.reward_id.as_deref(), Some("rw-1"));
}
