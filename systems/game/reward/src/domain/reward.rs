//! A reward (리워드): allocated (할당) for an achieved mission, one per achievement; issued (발급)
//! once the wallet holds it as an entry, exchanged once the entry is exchanged for a gift.

use game_contracts::Tier;
use time::OffsetDateTime;

/// Where a reward stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RewardStatus {
    /// Allocated for its mission.
    Allocated,
    /// In the player's wallet.
    Issued,
    /// Exchanged for a gift.
    Exchanged,
}

impl RewardStatus {
    /// The API and store name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Allocated => "Allocated",
            Self::Issued => "Issued",
            Self::Exchanged => "Exchanged",
        }
    }

    /// Parses a name.
    pub(crate) fn parse(value: &str) -> Option<Self> {
        [Self::Allocated, Self::Issued, Self::Exchanged]
            .into_iter()
            .find(|s| s.as_str() == value)
    }
}

/// Something that happened to a reward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RewardEvent {
    /// Allocated.
    Allocated,
    /// Issued to the wallet as `entry_id`.
    Issued {
        /// The wallet entry.
        entry_id: String,
    },
    /// Exchanged for a gift.
    Exchanged,
}

/// The aggregate (its id is the achievement's: one reward per achieved mission).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reward {
    /// The achievement id.
    pub id: String,
    /// The reward's own id.
    pub reward_id: String,
    /// Whose.
    pub player_id: String,
    /// Its tier.
    pub tier: Tier,
    /// Its points.
    pub points: i64,
    /// Where it stands.
    pub status: RewardStatus,
    /// The wallet entry, once issued.
    pub entry_id: Option<String>,
    /// Events applied.
    pub version: u64,
    /// Allocated at.
    pub created_at: OffsetDateTime,
    /// Last change.
    pub updated_at: OffsetDateTime,
}

impl Reward {
    /// Allocates the reward of an achieved mission.
    pub(crate) fn allocate(
        mission_id: &str,
        reward_id: String,
        player_id: &str,
        (tier, points): (Tier, i64),
        now: OffsetDateTime,
    ) -> (Self, Vec<RewardEvent>) {
        let reward = Self {
            id: mission_id.to_owned(),
            reward_id,
            player_id: player_id.to_owned(),
            tier,
            points,
            status: RewardStatus::Allocated,
            entry_id: None,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        (reward, vec![RewardEvent::Allocated])
    }

    /// The wallet issued it (again: nothing changes).
    pub(crate) fn issue(
        &self,
        entry_id: &str,
    ) -> Result<Vec<RewardEvent>, std::convert::Infallible> {
        Ok(match self.status {
            RewardStatus::Allocated => vec![RewardEvent::Issued {
                entry_id: entry_id.to_owned(),
            }],
            _ => vec![],
        })
    }

    /// Its entry was exchanged (again: nothing changes).
    pub(crate) fn exchange(&self) -> Result<Vec<RewardEvent>, std::convert::Infallible> {
        Ok(match self.status {
            RewardStatus::Exchanged => vec![],
            _ => vec![RewardEvent::Exchanged],
        })
    }

    /// Moves the state.
    pub(crate) fn apply(&mut self, event: &RewardEvent, at: OffsetDateTime) {
        match event {
            RewardEvent::Allocated => self.status = RewardStatus::Allocated,
            RewardEvent::Issued { entry_id } => {
                self.status = RewardStatus::Issued;
                self.entry_id = Some(entry_id.clone());
            }
            RewardEvent::Exchanged => self.status = RewardStatus::Exchanged,
        }
        self.version += 1;
        self.updated_at = at;
    }
}
