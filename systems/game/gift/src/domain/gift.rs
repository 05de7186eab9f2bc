//! Gifts (상품) and their hand-outs: a wallet entry of a high enough tier is exchanged for a gift
//! while stock remains, once per entry. The catalog is fixed (codes, names, tiers, first stock);
//! the stock is a counter the hand-outs take from and operators restock.

use game_contracts::Tier;
use time::OffsetDateTime;

/// A gift of the catalog.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct GiftDef {
    /// Stable code.
    pub code: &'static str,
    /// Korean and English name.
    pub name: &'static str,
    /// The lowest tier that may have it.
    pub required_tier: Tier,
    /// Units in stock at first.
    pub first_stock: i64,
}

/// The catalog.
pub(crate) const CATALOG: &[GiftDef] = &[
    GiftDef {
        code: "coffee-coupon",
        name: "커피 쿠폰 Coffee coupon",
        required_tier: Tier::Bronze,
        first_stock: 100,
    },
    GiftDef {
        code: "keyring",
        name: "키링 Keyring",
        required_tier: Tier::Bronze,
        first_stock: 3,
    },
    GiftDef {
        code: "movie-ticket",
        name: "영화 예매권 Movie ticket",
        required_tier: Tier::Silver,
        first_stock: 20,
    },
    GiftDef {
        code: "game-console",
        name: "게임기 Game console",
        required_tier: Tier::Gold,
        first_stock: 1,
    },
];

/// A gift of the catalog by its code.
pub(crate) fn gift(code: &str) -> Option<&'static GiftDef> {
    CATALOG.iter().find(|g| g.code == code)
}

/// An exchange gift refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GiftError {
    /// Not in the catalog.
    #[error("no such gift (GET /api/gifts)")]
    UnknownGift,
    /// The entry's tier is below the gift's.
    #[error("this gift needs a higher tier")]
    TierTooLow,
}

/// Something that happened to a hand-out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HandOutEvent {
    /// The gift was handed out (one unit of stock taken).
    HandedOut,
}

/// The aggregate: the gift handed out for one wallet entry (its id is the entry's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HandOut {
    /// The wallet entry.
    pub id: String,
    /// The achievement (the correlation key).
    pub mission_id: String,
    /// Whose.
    pub player_id: String,
    /// The gift.
    pub gift: &'static GiftDef,
    /// Events applied.
    pub version: u64,
    /// Handed out at.
    pub created_at: OffsetDateTime,
}

/// What the wallet asks for.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    /// The wallet entry.
    pub entry_id: String,
    /// The achievement.
    pub mission_id: String,
    /// Whose.
    pub player_id: String,
    /// The entry's tier.
    pub tier: Tier,
    /// The gift wanted.
    pub gift_code: String,
}

impl HandOut {
    /// Hands a gift out for an entry, if its tier is high enough (the stock is the store's
    /// counter: short stock refuses the whole change).
    pub(crate) fn give(
        request: Request,
        now: OffsetDateTime,
    ) -> Result<(Self, Vec<HandOutEvent>), GiftError> {
        let gift = gift(&request.gift_code).ok_or(GiftError::UnknownGift)?;
        if request.tier < gift.required_tier {
            return Err(GiftError::TierTooLow);
        }
        let hand_out = Self {
            id: request.entry_id,
            mission_id: request.mission_id,
            player_id: request.player_id,
            gift,
            version: 1,
            created_at: now,
        };
        Ok((hand_out, vec![HandOutEvent::HandedOut]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(tier: Tier, gift_code: &str) -> Request {
        Request {
            entry_id: "e".into(),
            mission_id: "m".into(),
            player_id: "kim".into(),
            tier,
            gift_code: gift_code.into(),
        }
    }

    #[test]
    fn a_gift_needs_a_high_enough_tier() {
        let now = OffsetDateTime::UNIX_EPOCH;
        assert!(HandOut::give(request(Tier::Gold, "movie-ticket"), now).is_ok());
        let low = HandOut::give(request(Tier::Silver, "game-console"), now);
        assert_eq!(low.unwrap_err(), GiftError::TierTooLow);
        let unknown = HandOut::give(request(Tier::Gold, "yacht"), now);
        assert_eq!(unknown.unwrap_err(), GiftError::UnknownGift);
    }
}
