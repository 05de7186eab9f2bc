//! How the kernel keeps a wallet entry: its stored record, the keys it is found by (one entry
//! per achievement, the player's entries newest first) and its integration events.

use crate::domain::entry::{Entry, EntryEvent, EntryStatus, Gift, Voucher};
use anyhow::anyhow;
use game_contracts::{self as contract, Tier};
use kernel::NewEvent;
use kernel::aggregate::{Aggregate, Key};
use kernel::model::Contract;
use kernel::owned::owner_key;
use kernel::sql::{from_millis, millis};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Unique key: the achievement (one entry per allocated reward).
pub(crate) const BY_MISSION: &str = "mission";

/// An entry as stored.
#[derive(Serialize, Deserialize)]
pub(crate) struct Record {
    id: String,
    player_id: String,
    mission_id: String,
    reward_id: String,
    tier: String,
    points: i64,
    status: String,
    gift_code: Option<String>,
    gift_name: Option<String>,
    version: u64,
    created_at: i64,
    updated_at: i64,
}

impl Aggregate for Entry {
    type Event = EntryEvent;
    type Record = Record;
    const KIND: &'static str = "wallet_entry";
    const PUBLISHES: &'static [Contract] = &[
        Contract::of::<contract::EntryIssued>(),
        Contract::of::<contract::Exchanged>(),
    ];

    fn id(&self) -> &str {
        &self.id
    }

    fn version(&self) -> u64 {
        self.version
    }

    fn apply(&mut self, event: &EntryEvent, at: OffsetDateTime) {
        Entry::apply(self, event, at);
    }

    fn record(&self) -> Record {
        let v = &self.voucher;
        Record {
            id: self.id.clone(),
            player_id: self.player_id.clone(),
            mission_id: v.mission_id.clone(),
            reward_id: v.reward_id.clone(),
            tier: v.tier.as_str().to_owned(),
            points: v.points,
            status: self.status.as_str().to_owned(),
            gift_code: self.gift.as_ref().map(|g| g.code.clone()),
            gift_name: self.gift.as_ref().map(|g| g.name.clone()),
            version: self.version,
            created_at: millis(self.created_at),
            updated_at: millis(self.updated_at),
        }
    }

    fn restore(r: Record) -> anyhow::Result<Self> {
        Ok(Entry {
            voucher: Voucher {
                mission_id: r.mission_id,
                reward_id: r.reward_id,
                tier: Tier::parse(&r.tier).ok_or_else(|| anyhow!("unknown tier {}", r.tier))?,
                points: r.points,
            },
            status: EntryStatus::parse(&r.status)
                .ok_or_else(|| anyhow!("unknown entry status {}", r.status))?,
            gift: r
                .gift_code
                .zip(r.gift_name)
                .map(|(code, name)| Gift { code, name }),
            id: r.id,
            player_id: r.player_id,
            version: r.version,
            created_at: from_millis(r.created_at)?,
            updated_at: from_millis(r.updated_at)?,
        })
    }

    fn keys(&self) -> Vec<Key> {
        vec![
            Key::unique(BY_MISSION, &self.voucher.mission_id),
            owner_key(&self.player_id, self.created_at),
        ]
    }

    fn integration_event(&self, event: &EntryEvent, sequence: u64) -> Option<NewEvent> {
        let v = &self.voucher;
        let (mission_id, player_id) = (v.mission_id.clone(), self.player_id.clone());
        let (reward_id, entry_id) = (v.reward_id.clone(), self.id.clone());
        let event = match event {
            EntryEvent::Issued => NewEvent::new(
                &contract::EntryIssued {
                    mission_id,
                    player_id,
                    reward_id,
                    entry_id,
                    tier: v.tier.as_str().to_owned(),
                    points: v.points,
                },
                &v.mission_id,
                sequence,
            ),
            EntryEvent::Exchanged(gift) => NewEvent::new(
                &contract::Exchanged {
                    mission_id,
                    player_id,
                    reward_id,
                    entry_id,
                    gift_code: gift.code.clone(),
                    gift_name: gift.name.clone(),
                },
                &v.mission_id,
                sequence,
            ),
        };
        Some(event)
    }
}
