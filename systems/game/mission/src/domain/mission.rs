//! A mission achieved (미션 달성) by a player: one of the board's missions, achieved once per
//! player; the reward allocated (할당) for it is recorded on it. The board is fixed, so that codes,
//! tiers and points are stable for clients and tests.

use game_contracts::Tier;
use time::OffsetDateTime;

/// A mission of the board and the reward it earns.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct MissionDef {
    /// Stable code.
    pub code: &'static str,
    /// Korean title.
    pub title_ko: &'static str,
    /// English title.
    pub title_en: &'static str,
    /// The reward's tier.
    pub tier: Tier,
    /// The reward's points (shown, not spent).
    pub points: i64,
}

/// The mission board.
pub(crate) const BOARD: &[MissionDef] = &[
    MissionDef {
        code: "tutorial",
        title_ko: "튜토리얼 완료",
        title_en: "Finish the tutorial",
        tier: Tier::Bronze,
        points: 50,
    },
    MissionDef {
        code: "first-login",
        title_ko: "첫 로그인",
        title_en: "First sign-in",
        tier: Tier::Bronze,
        points: 100,
    },
    MissionDef {
        code: "daily-7",
        title_ko: "7일 연속 출석",
        title_en: "Seven days in a row",
        tier: Tier::Silver,
        points: 300,
    },
    MissionDef {
        code: "pvp-10",
        title_ko: "PvP 10승",
        title_en: "Ten PvP wins",
        tier: Tier::Silver,
        points: 500,
    },
    MissionDef {
        code: "boss-raid",
        title_ko: "보스 레이드 클리어",
        title_en: "Clear the boss raid",
        tier: Tier::Gold,
        points: 1_000,
    },
];

/// A mission of the board by its code.
pub(crate) fn mission(code: &str) -> Option<&'static MissionDef> {
    BOARD.iter().find(|m| m.code == code)
}

/// Something that happened to an achievement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MissionEvent {
    /// Achieved.
    Achieved,
    /// Its reward was allocated.
    RewardRecorded {
        /// The reward's id.
        reward_id: String,
    },
}

/// The aggregate: one player's achievement of one mission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mission {
    /// Its id, the correlation key of the whole chain.
    pub id: String,
    /// Who achieved it.
    pub player_id: String,
    /// Which mission.
    pub def: &'static MissionDef,
    /// The reward allocated for it, once known.
    pub reward_id: Option<String>,
    /// The client's idempotency key (scoped to the player).
    pub idempotency_key: Option<String>,
    /// Events applied.
    pub version: u64,
    /// Achieved at.
    pub created_at: OffsetDateTime,
    /// Last change.
    pub updated_at: OffsetDateTime,
}

impl Mission {
    /// A player achieves a mission of the board (a second time is refused by the store: one
    /// achievement per player and code).
    pub(crate) fn achieve(
        id: String,
        player_id: &str,
        def: &'static MissionDef,
        idempotency_key: Option<String>,
        now: OffsetDateTime,
    ) -> (Self, Vec<MissionEvent>) {
        let mut mission = Self {
            id,
            player_id: player_id.to_owned(),
            def,
            reward_id: None,
            idempotency_key,
            version: 0,
            created_at: now,
            updated_at: now,
        };
        let events = vec![MissionEvent::Achieved];
        mission.apply(&events[0], now);
        (mission, events)
    }

    /// The reward allocated for it (again: nothing changes).
    pub(crate) fn record_reward(
        &self,
        reward_id: &str,
    ) -> Result<Vec<MissionEvent>, std::convert::Infallible> {
        Ok(match self.reward_id {
            Some(_) => vec![],
            None => vec![MissionEvent::RewardRecorded {
                reward_id: reward_id.to_owned(),
            }],
        })
    }

    /// Moves the state.
    pub(crate) fn apply(&mut self, event: &MissionEvent, at: OffsetDateTime) {
        if let MissionEvent::RewardRecorded { reward_id } = event {
            self.reward_id = Some(reward_id.clone());
        }
        self.version += 1;
        self.updated_at = at;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reward_is_recorded_once() {
        let def = mission("boss-raid").unwrap();
        let now = OffsetDateTime::UNIX_EPOCH;
        let (mut m, _) = Mission::achieve("m".into(), "kim", def, None, now);
        for event in m.record_reward("r1").unwrap() {
            m.apply(&event, now);
        }
        assert_eq!(m.reward_id.as_deref(), Some("r1"));
        assert!(m.record_reward("r2").unwrap().is_empty());
    }
}
