//! The players' use cases: achieve a mission of the board (once per player; the player's
//! idempotency key honoured), their achievements; the policy that records the reward.

use crate::adapters::outbound::stored::BY_IDEMPOTENCY_KEY;
use crate::domain::mission::{self, Mission};
use kernel::aggregate::{ChangeError, Repository, StoreError};
use kernel::{Cause, clock};
use std::convert::Infallible;

/// Why an achievement was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum AchieveError {
    /// Not a mission of the board.
    #[error("{0} is not a mission of the board (GET /api/missions/catalog)")]
    UnknownMission(String),
    /// The player achieved it before.
    #[error("this mission was achieved already")]
    AlreadyAchieved,
    /// The store failed.
    #[error(transparent)]
    Store(anyhow::Error),
}

impl From<StoreError> for AchieveError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Duplicate { .. } => Self::AlreadyAchieved,
            other => Self::Store(other.into()),
        }
    }
}

/// The use cases.
#[derive(Debug)]
pub(crate) struct MissionService {
    store: Repository<Mission>,
}

impl MissionService {
    /// Wires the use cases to their store.
    pub(crate) fn new(store: Repository<Mission>) -> Self {
        Self { store }
    }

    /// A player achieves a mission (미션 달성).
    pub(crate) async fn achieve(
        &self,
        player_id: &str,
        code: &str,
        idempotency_key: Option<&str>,
    ) -> Result<Mission, AchieveError> {
        let def =
            mission::mission(code).ok_or_else(|| AchieveError::UnknownMission(code.to_owned()))?;
        let key = idempotency_key.map(|key| format!("{player_id}/{key}"));
        let id = uuid::Uuid::now_v7().to_string();
        let (mission, events) = Mission::achieve(id, player_id, def, key.clone(), clock::now());
        let key = key.as_deref().map(|key| (BY_IDEMPOTENCY_KEY, key));
        Ok(self.store.create_once(mission, &events, key).await?)
    }

    /// The achievements (for the list's routes).
    pub(crate) fn store(&self) -> Repository<Mission> {
        self.store.clone()
    }

    /// Policy: the reward allocated for an achievement is recorded on it.
    pub(crate) async fn record_reward(
        &self,
        reward_id: &str,
        cause: &Cause,
    ) -> Result<Mission, ChangeError<Infallible>> {
        self.store
            .update(cause.subject(), Some(cause), |m| m.record_reward(reward_id))
            .await
    }
}

#[cfg(test)]
mod tests;
