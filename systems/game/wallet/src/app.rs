//! The wallet's use cases: the player's entries, the exchange for a gift (상품 교환: gift first,
//! synchronously; the entry is exchanged only when gift handed the gift out); the policies that
//! issue allocated rewards and confirm exchanges gift reports.

use crate::domain::entry::{Entry, EntryError, Gift, Voucher};
use async_trait::async_trait;
use game_contracts::{HandedOut, RewardAllocated, Tier};
use kernel::aggregate::{ChangeError, Repository, StoreError};
use kernel::owned::BY_OWNER;
use kernel::remote::{Answer, RemoteFailure};
use kernel::{Cause, clock};
use std::sync::Arc;
use std::time::Duration;

/// What the wallet asks of gift.
#[derive(Debug, Clone)]
pub(crate) struct ExchangeOrder {
    /// The entry (the command's idempotency key).
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

/// Gift's exchange command, as the wallet needs it (idempotent by entry id).
#[async_trait]
pub(crate) trait Gifts: Send + Sync + 'static {
    /// Hands a gift out for an entry (its stock taken), or refuses with a code.
    async fn exchange(&self, order: &ExchangeOrder) -> Result<Answer<Gift>, RemoteFailure>;
}

/// Why a command on an entry failed.
pub(crate) type CommandError = ChangeError<EntryError>;

/// Why an exchange did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// Gift refused it (`tier_too_low`, `out_of_stock`, `unknown_gift`): the entry stays issued.
    #[error("gift refused the exchange: {0}")]
    Refused(String),
    /// Gift is slow, down or its breaker open: the entry stays issued; try again later.
    #[error("gift is busy; the entry is unchanged, try again later")]
    GiftBusy {
        /// When to try again.
        retry_after: Duration,
    },
    /// The rules or the store refused it.
    #[error(transparent)]
    Change(#[from] CommandError),
}

/// The use cases.
pub(crate) struct WalletService {
    store: Repository<Entry>,
    gifts: Arc<dyn Gifts>,
}

impl std::fmt::Debug for WalletService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalletService").finish_non_exhaustive()
    }
}

impl WalletService {
    /// Wires the use cases to their store and gift.
    pub(crate) fn new(store: Repository<Entry>, gifts: Arc<dyn Gifts>) -> Self {
        Self { store, gifts }
    }

    /// The entries (for the wallet's routes).
    pub(crate) fn store(&self) -> Repository<Entry> {
        self.store.clone()
    }

    /// Entry `id`, if `player` (when given) holds it.
    pub(crate) async fn get(&self, id: &str, player: Option<&str>) -> Result<Entry, CommandError> {
        let visible = |e: &Entry| player.is_none_or(|p| p == e.player_id);
        self.store.get_visible(id, visible).await
    }

    /// A player's entries, newest first: `limit` after the first `offset`.
    pub(crate) async fn entries(
        &self,
        player: &str,
        offset: u32,
        limit: u32,
    ) -> anyhow::Result<Vec<Entry>> {
        self.store.find_page(BY_OWNER, player, offset, limit).await
    }

    /// Exchanges an entry for a gift: gift decides (tier, stock) and hands it out first; only
    /// then is the entry exchanged. Gift busy or its answer lost: the entry stays issued; if gift
    /// did hand the gift out, its `handed_out` event completes the exchange.
    pub(crate) async fn exchange(
        &self,
        id: &str,
        player: Option<&str>,
        gift_code: &str,
    ) -> Result<Entry, ExchangeError> {
        let entry = self.get(id, player).await?;
        entry
            .may_exchange()
            .map_err(|e| ExchangeError::Change(ChangeError::Rejected(e)))?;
        let order = ExchangeOrder {
            entry_id: entry.id.clone(),
            mission_id: entry.voucher.mission_id.clone(),
            player_id: entry.player_id.clone(),
            tier: entry.voucher.tier,
            gift_code: gift_code.to_owned(),
        };
        match self.gifts.exchange(&order).await {
            Ok(Answer::Done(gift)) => Ok(self.store.update(id, None, |e| e.confirm(&gift)).await?),
            Ok(Answer::Refused(code)) => Err(ExchangeError::Refused(code)),
            Err(
                RemoteFailure::Unavailable { retry_after } | RemoteFailure::Unknown { retry_after },
            ) => Err(ExchangeError::GiftBusy { retry_after }),
        }
    }

    /// Policy: an allocated reward is issued (발급) to the player's wallet, one entry per reward.
    pub(crate) async fn issue(&self, e: RewardAllocated, cause: &Cause) -> Result<(), StoreError> {
        let tier = Tier::parse(&e.tier)
            .ok_or_else(|| anyhow::anyhow!("reward {} has unknown tier {}", e.reward_id, e.tier))?;
        let voucher = Voucher {
            mission_id: e.mission_id,
            reward_id: e.reward_id,
            tier,
            points: e.points,
        };
        let id = uuid::Uuid::now_v7().to_string();
        let (entry, events) = Entry::issue(id, &e.player_id, voucher, clock::now());
        self.store.create(&entry, &events, Some(cause)).await
    }

    /// Policy: gift handed a gift out for an entry (the answer may have been lost on the way).
    pub(crate) async fn confirm(&self, e: HandedOut, cause: &Cause) -> Result<Entry, CommandError> {
        let gift = Gift {
            code: e.gift_code,
            name: e.gift_name,
        };
        self.store
            .update(&e.entry_id, Some(cause), |entry| entry.confirm(&gift))
            .await
    }
}

#[cfg(test)]
mod tests;
