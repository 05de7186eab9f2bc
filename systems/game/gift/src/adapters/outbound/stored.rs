//! How the kernel keeps a hand-out: its stored record, the stock unit it takes (in the same
//! transaction) and its integration event.

use crate::domain::gift::{self, HandOut, HandOutEvent};
use anyhow::anyhow;
use game_contracts as contract;
use kernel::NewEvent;
use kernel::aggregate::{Aggregate, CounterChange, Key};
use kernel::model::Contract;
use kernel::sql::{from_millis, millis};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The stock counters, one per gift code.
pub(crate) const STOCK: &str = "stock";

/// A hand-out as stored.
#[derive(Serialize, Deserialize)]
pub(crate) struct Record {
    id: String,
    mission_id: String,
    player_id: String,
    gift_code: String,
    version: u64,
    created_at: i64,
}

impl Aggregate for HandOut {
    type Event = HandOutEvent;
    type Record = Record;
    const KIND: &'static str = "hand_out";
    const PUBLISHES: &'static [Contract] = &[Contract::of::<contract::HandedOut>()];

    fn id(&self) -> &str {
        &self.id
    }

    fn version(&self) -> u64 {
        self.version
    }

    fn apply(&mut self, _: &HandOutEvent, _: OffsetDateTime) {
        self.version += 1;
    }

    fn record(&self) -> Record {
        Record {
            id: self.id.clone(),
            mission_id: self.mission_id.clone(),
            player_id: self.player_id.clone(),
            gift_code: self.gift.code.to_owned(),
            version: self.version,
            created_at: millis(self.created_at),
        }
    }

    fn restore(r: Record) -> anyhow::Result<Self> {
        Ok(HandOut {
            gift: gift::gift(&r.gift_code)
                .ok_or_else(|| anyhow!("unknown gift {}", r.gift_code))?,
            id: r.id,
            mission_id: r.mission_id,
            player_id: r.player_id,
            version: r.version,
            created_at: from_millis(r.created_at)?,
        })
    }

    fn keys(&self) -> Vec<Key> {
        vec![]
    }

    fn counter_changes(&self, _: &HandOutEvent) -> Vec<CounterChange> {
        vec![CounterChange::take(STOCK, self.gift.code, 1)]
    }

    fn integration_event(&self, _: &HandOutEvent, sequence: u64) -> Option<NewEvent> {
        let handed = contract::HandedOut {
            mission_id: self.mission_id.clone(),
            player_id: self.player_id.clone(),
            entry_id: self.id.clone(),
            gift_code: self.gift.code.to_owned(),
            gift_name: self.gift.name.to_owned(),
        };
        Some(NewEvent::new(&handed, &self.mission_id, sequence))
    }
}
