//! A wallet entry (지갑): one voucher per allocated reward, issued (발급) to the player, exchanged
//! once for a gift (상품 교환). The exchange happens only when gift hands the gift out: until then
//! the entry stays issued.

use game_contracts::Tier;
use time::OffsetDateTime;

/// Where an entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryStatus {
    /// In the wallet, to exchange.
    Issued,
    /// Exchanged for a gift.
    Exchanged,
}

impl EntryStatus {
    /// The API and store name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Issued => "Issued",
            Self::Exchanged => "Exchanged",
        }
    }

    /// Parses a name.
    pub(crate) fn parse(value: &str) -> Option<Self> {
        [Self::Issued, Self::Exchanged]
            .into_iter()
            .find(|s| s.as_str() == value)
    }
}

/// The gift an entry was exchanged for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Gift {
    /// Its code.
    pub code: String,
    /// Its name.
    pub name: String,
}

/// Something that happened to an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EntryEvent {
    /// Issued to the wallet.
    Issued,
    /// Exchanged for a gift.
    Exchanged(Gift),
}

/// A command the entry's state does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    /// Exchanged already.
    #[error("this entry was exchanged already")]
    AlreadyExchanged,
}

/// The reward an entry holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Voucher {
    /// The achievement (the correlation key).
    pub mission_id: String,
    /// The reward.
    pub reward_id: String,
    /// Its tier.
    pub tier: Tier,
    /// Its points.
    pub points: i64,
}

/// The aggregate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// Its id.
    pub id: String,
    /// Whose.
    pub player_id: String,
    /// What it holds.
    pub voucher: Voucher,
    /// Where it stands.
    pub status: EntryStatus,
    /// The gift, once exchanged.
    pub gift: Option<Gift>,
    /// Events applied.
    pub version: u64,
    /// Issued at.
    pub created_at: OffsetDateTime,
    /// Last change.
    pub updated_at: OffsetDateTime,
}

impl Entry {
    /// Issues an allocated reward to the player's wallet.
    pub(crate) fn issue(
        id: String,
        player_id: &str,
        voucher: Voucher,
        now: OffsetDateTime,
    ) -> (Self, Vec<EntryEvent>) {
        let entry = Self {
            id,
            player_id: player_id.to_owned(),
            voucher,
            status: EntryStatus::Issued,
            gift: None,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        (entry, vec![EntryEvent::Issued])
    }

    /// Whether it may still be exchanged (before asking gift).
    pub(crate) fn may_exchange(&self) -> Result<(), EntryError> {
        match self.status {
            EntryStatus::Issued => Ok(()),
            EntryStatus::Exchanged => Err(EntryError::AlreadyExchanged),
        }
    }

    /// Gift handed `gift` out for it (again: nothing changes).
    pub(crate) fn confirm(&self, gift: &Gift) -> Result<Vec<EntryEvent>, EntryError> {
        Ok(match self.status {
            EntryStatus::Issued => vec![EntryEvent::Exchanged(gift.clone())],
            EntryStatus::Exchanged => vec![],
        })
    }

    /// Moves the state.
    pub(crate) fn apply(&mut self, event: &EntryEvent, at: OffsetDateTime) {
        match event {
            EntryEvent::Issued => self.status = EntryStatus::Issued,
            EntryEvent::Exchanged(gift) => {
                self.status = EntryStatus::Exchanged;
                self.gift = Some(gift.clone());
            }
        }
        self.version += 1;
        self.updated_at = at;
    }
}
