//! How the kernel keeps a reward: its stored record, its queue keys and its integration event.

use crate::domain::reward::{Reward, RewardEvent, RewardStatus};
use anyhow::anyhow;
use game_contracts::{self as contract, Tier};
use kernel::NewEvent;
use kernel::aggregate::{Aggregate, Key, queue_keys};
use kernel::model::Contract;
use kernel::sql::{from_millis, millis};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A reward as stored.
#[derive(Serialize, Deserialize)]
pub(crate) struct Record {
    id: String,
    reward_id: String,
    player_id: String,
    tier: String,
    points: i64,
    status: String,
    entry_id: Option<String>,
    version: u64,
    created_at: i64,
    updated_at: i64,
}

impl Aggregate for Reward {
    type Event = RewardEvent;
    type Record = Record;
    const KIND: &'static str = "reward";
    const PUBLISHES: &'static [Contract] = &[Contract::of::<contract::RewardAllocated>()];

    fn id(&self) -> &str {
        &self.id
    }

    fn version(&self) -> u64 {
        self.version
    }

    fn apply(&mut self, event: &RewardEvent, at: OffsetDateTime) {
        Reward::apply(self, event, at);
    }

    fn record(&self) -> Record {
        Record {
            id: self.id.clone(),
            reward_id: self.reward_id.clone(),
            player_id: self.player_id.clone(),
            tier: self.tier.as_str().to_owned(),
            points: self.points,
            status: self.status.as_str().to_owned(),
            entry_id: self.entry_id.clone(),
            version: self.version,
            created_at: millis(self.created_at),
            updated_at: millis(self.updated_at),
        }
    }

    fn restore(r: Record) -> anyhow::Result<Self> {
        Ok(Reward {
            tier: Tier::parse(&r.tier).ok_or_else(|| anyhow!("unknown tier {}", r.tier))?,
            status: RewardStatus::parse(&r.status)
                .ok_or_else(|| anyhow!("unknown reward status {}", r.status))?,
            id: r.id,
            reward_id: r.reward_id,
            player_id: r.player_id,
            points: r.points,
            entry_id: r.entry_id,
            version: r.version,
            created_at: from_millis(r.created_at)?,
            updated_at: from_millis(r.updated_at)?,
        })
    }

    fn keys(&self) -> Vec<Key> {
        queue_keys(self.status.as_str(), self.created_at)
    }

    fn integration_event(&self, event: &RewardEvent, sequence: u64) -> Option<NewEvent> {
        let RewardEvent::Allocated = event else {
            return None;
        };
        let allocated = contract::RewardAllocated {
            mission_id: self.id.clone(),
            player_id: self.player_id.clone(),
            reward_id: self.reward_id.clone(),
            tier: self.tier.as_str().to_owned(),
            points: self.points,
        };
        Some(NewEvent::new(&allocated, &self.id, sequence))
    }
}
