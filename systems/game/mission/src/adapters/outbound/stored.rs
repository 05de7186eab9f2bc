//! How the kernel keeps an achievement: its stored record, the keys it is found by (one per
//! player and mission, the player's idempotency key, the player's achievements newest first) and
//! its integration event.

use crate::domain::mission::{self, Mission, MissionEvent};
use anyhow::anyhow;
use game_contracts as contract;
use kernel::NewEvent;
use kernel::aggregate::{Aggregate, Key};
use kernel::model::Contract;
use kernel::owned::owner_key;
use kernel::sql::{from_millis, millis};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Unique key: `<player>/<mission code>` (a mission is achieved once per player).
pub(crate) const BY_ACHIEVEMENT: &str = "achievement";
/// Unique key: `<player>/<Idempotency-Key>`.
pub(crate) const BY_IDEMPOTENCY_KEY: &str = "idempotency_key";

/// An achievement as stored.
#[derive(Serialize, Deserialize)]
pub(crate) struct Record {
    id: String,
    player_id: String,
    mission_code: String,
    reward_id: Option<String>,
    idempotency_key: Option<String>,
    version: u64,
    created_at: i64,
    updated_at: i64,
}

impl Aggregate for Mission {
    type Event = MissionEvent;
    type Record = Record;
    const KIND: &'static str = "mission";
    const PUBLISHES: &'static [Contract] = &[Contract::of::<contract::MissionAchieved>()];

    fn id(&self) -> &str {
        &self.id
    }

    fn version(&self) -> u64 {
        self.version
    }

    fn apply(&mut self, event: &MissionEvent, at: OffsetDateTime) {
        Mission::apply(self, event, at);
    }

    fn record(&self) -> Record {
        Record {
            id: self.id.clone(),
            player_id: self.player_id.clone(),
            mission_code: self.def.code.to_owned(),
            reward_id: self.reward_id.clone(),
            idempotency_key: self.idempotency_key.clone(),
            version: self.version,
            created_at: millis(self.created_at),
            updated_at: millis(self.updated_at),
        }
    }

    fn restore(r: Record) -> anyhow::Result<Self> {
        Ok(Mission {
            def: mission::mission(&r.mission_code)
                .ok_or_else(|| anyhow!("unknown mission {}", r.mission_code))?,
            id: r.id,
            player_id: r.player_id,
            reward_id: r.reward_id,
            idempotency_key: r.idempotency_key,
            version: r.version,
            created_at: from_millis(r.created_at)?,
            updated_at: from_millis(r.updated_at)?,
        })
    }

    fn keys(&self) -> Vec<Key> {
        let achievement = format!("{}/{}", self.player_id, self.def.code);
        let mut keys = vec![
            Key::unique(BY_ACHIEVEMENT, achievement),
            owner_key(&self.player_id, self.created_at),
        ];
        if let Some(key) = &self.idempotency_key {
            keys.push(Key::unique(BY_IDEMPOTENCY_KEY, key));
        }
        keys
    }

    fn integration_event(&self, event: &MissionEvent, sequence: u64) -> Option<NewEvent> {
        match event {
            MissionEvent::Achieved => {
                let achieved = contract::MissionAchieved {
                    mission_id: self.id.clone(),
                    player_id: self.player_id.clone(),
                    mission_code: self.def.code.to_owned(),
                    title: self.def.title_ko.to_owned(),
                    tier: self.def.tier.as_str().to_owned(),
                    points: self.def.points,
                };
                Some(NewEvent::new(&achieved, &self.id, sequence))
            }
            MissionEvent::RewardRecorded { .. } => None,
        }
    }
}
