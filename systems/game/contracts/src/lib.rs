//! The published language of the game rewards system (seed 002): versioned integration events,
//! reward tiers and the gRPC contract. Every event of the chain carries the achievement (mission)
//! id as its CloudEvents `subject`, the correlation key that links mission, reward, wallet, gift,
//! my page and notification, with the reward and wallet ids in the data (the seed's key changed
//! at every hop). Event tokens drop the service's own name: the short name `mission_achieved` is
//! `game.mission.achieved.v1`, `entry_issued` is `game.wallet.issued.v1`.

use kernel::contract;

/// The gRPC contract (`proto/game/v1/game.proto`), compiled with protox at build time.
pub mod grpc {
    /// `game.v1`.
    #[allow(missing_docs, clippy::all, clippy::pedantic)]
    pub mod v1 {
        tonic::include_proto!("game.v1");
    }

    /// The encoded descriptor set of the .proto, for gRPC reflection.
    pub const DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/game_descriptor.bin"));
}

/// A reward's tier: bronze < silver < gold. A gift asks for a tier at least as high.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tier {
    /// The lowest.
    Bronze,
    /// The middle.
    Silver,
    /// The highest.
    Gold,
}

impl Tier {
    /// The API and event name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bronze => "bronze",
            Self::Silver => "silver",
            Self::Gold => "gold",
        }
    }

    /// Parses a name.
    pub fn parse(value: &str) -> Option<Self> {
        [Self::Bronze, Self::Silver, Self::Gold]
            .into_iter()
            .find(|t| t.as_str() == value)
    }
}

contract! {
    /// A player achieved a mission (미션 달성): its reward is to be allocated.
    MissionAchieved = "game.mission.achieved.v1" {
        mission_id: String,
        player_id: String,
        mission_code: String,
        /// Korean title.
        title: String,
        /// The reward it earns.
        tier: String,
        points: i64,
    }
}

contract! {
    /// The mission's reward is allocated (할당): the wallet is to issue it.
    RewardAllocated = "game.reward.allocated.v1" {
        mission_id: String,
        player_id: String,
        reward_id: String,
        tier: String,
        points: i64,
    }
}

contract! {
    /// The wallet issued (발급) an entry for the reward: a voucher to exchange for a gift.
    EntryIssued = "game.wallet.issued.v1" {
        mission_id: String,
        player_id: String,
        reward_id: String,
        entry_id: String,
        tier: String,
        points: i64,
    }
}

contract! {
    /// The entry was exchanged for a gift (상품 교환).
    Exchanged = "game.wallet.exchanged.v1" {
        mission_id: String,
        player_id: String,
        reward_id: String,
        entry_id: String,
        gift_code: String,
        gift_name: String,
    }
}

contract! {
    /// Gift handed a gift out for a wallet entry (its stock taken): the wallet's exchange is done,
    /// even if the wallet never heard gift's answer.
    HandedOut = "game.gift.handed_out.v1" {
        mission_id: String,
        player_id: String,
        entry_id: String,
        gift_code: String,
        gift_name: String,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kernel::IntegrationEvent;
    use kernel::envelope::EventType;

    #[test]
    fn every_contract_type_belongs_to_game() {
        for name in [
            MissionAchieved::TYPE,
            RewardAllocated::TYPE,
            EntryIssued::TYPE,
            Exchanged::TYPE,
            HandedOut::TYPE,
        ] {
            assert_eq!(EventType::parse(name).unwrap().system, "game");
        }
    }

    #[test]
    fn tiers_are_ordered() {
        assert!(Tier::Bronze < Tier::Silver && Tier::Silver < Tier::Gold);
        assert_eq!(Tier::parse("gold"), Some(Tier::Gold));
    }
}
