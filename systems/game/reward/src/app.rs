//! Reward's policies: allocate the reward of an achieved mission (once), follow its issue and
//! exchange; and the operators' view of the rewards.

use crate::domain::reward::Reward;
use game_contracts::{MissionAchieved, Tier};
use kernel::aggregate::{ChangeError, Repository, StoreError};
use kernel::{Cause, clock};
use std::convert::Infallible;

/// The use cases.
#[derive(Debug)]
pub(crate) struct RewardService {
    store: Repository<Reward>,
}

impl RewardService {
    /// Wires the use cases to their store.
    pub(crate) fn new(store: Repository<Reward>) -> Self {
        Self { store }
    }

    /// The rewards (for the operators' routes).
    pub(crate) fn store(&self) -> Repository<Reward> {
        self.store.clone()
    }

    /// Policy: an achieved mission's reward is allocated (할당), once per achievement.
    pub(crate) async fn allocate(
        &self,
        e: MissionAchieved,
        cause: &Cause,
    ) -> Result<(), StoreError> {
        let tier = Tier::parse(&e.tier).ok_or_else(|| {
            anyhow::anyhow!("mission {} earns unknown tier {}", e.mission_id, e.tier)
        })?;
        let reward_id = uuid::Uuid::now_v7().to_string();
        let (reward, events) = Reward::allocate(
            &e.mission_id,
            reward_id,
            &e.player_id,
            (tier, e.points),
            clock::now(),
        );
        self.store.create(&reward, &events, Some(cause)).await
    }

    /// Policy: the reward's life follows the wallet (`decide`: issued, exchanged).
    pub(crate) async fn follow<F>(
        &self,
        cause: &Cause,
        decide: F,
    ) -> Result<Reward, ChangeError<Infallible>>
    where
        F: Fn(&Reward) -> Result<Vec<crate::domain::reward::RewardEvent>, Infallible>,
    {
        self.store
            .update(cause.subject(), Some(cause), decide)
            .await
    }
}

#[cfg(test)]
mod tests;
