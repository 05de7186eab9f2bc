//! Gift's use cases: the catalog with its stock, restock, and the wallet's exchange command
//! (idempotent by entry id: the same entry gets the first answer).

use crate::adapters::outbound::stored::STOCK;
use crate::domain::gift::{self, CATALOG, GiftDef, GiftError, HandOut, Request};
use kernel::aggregate::{CounterChange, Repository, StoreError};
use kernel::clock;

/// Most units restocked at once.
pub(crate) const MAX_RESTOCK: i64 = 10_000;

/// Why an exchange or restock failed.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// The catalog or the tier refused it.
    #[error(transparent)]
    Refused(#[from] GiftError),
    /// No stock left.
    #[error("out of stock")]
    OutOfStock,
    /// A restock of a bad quantity.
    #[error("quantity must be 1 to {MAX_RESTOCK}")]
    InvalidQuantity,
    /// The store failed.
    #[error(transparent)]
    Store(anyhow::Error),
}

impl From<StoreError> for ExchangeError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Exhausted { .. } => Self::OutOfStock,
            other => Self::Store(other.into()),
        }
    }
}

impl From<anyhow::Error> for ExchangeError {
    fn from(error: anyhow::Error) -> Self {
        Self::Store(error)
    }
}

/// The use cases.
#[derive(Debug)]
pub(crate) struct GiftService {
    store: Repository<HandOut>,
}

impl GiftService {
    /// Wires the use cases to their store.
    pub(crate) fn new(store: Repository<HandOut>) -> Self {
        Self { store }
    }

    /// Opens a stock counter per gift at its first stock (once; later starts keep what is left).
    pub(crate) async fn open_stock(&self) -> anyhow::Result<()> {
        for gift in CATALOG {
            let store = self.store.store();
            store
                .define_counter(STOCK, gift.code, gift.first_stock)
                .await?;
        }
        Ok(())
    }

    /// The catalog with the units left.
    pub(crate) async fn catalog(&self) -> anyhow::Result<Vec<(&'static GiftDef, i64)>> {
        let left = self.store.store().counters(STOCK).await?;
        Ok(CATALOG
            .iter()
            .map(|gift| {
                (
                    gift,
                    left.get(gift.code).copied().unwrap_or(gift.first_stock),
                )
            })
            .collect())
    }

    /// Adds `quantity` units of a gift; the units now in stock.
    pub(crate) async fn restock(&self, code: &str, quantity: i64) -> Result<i64, ExchangeError> {
        let gift = gift::gift(code).ok_or(GiftError::UnknownGift)?;
        if !(1..=MAX_RESTOCK).contains(&quantity) {
            return Err(ExchangeError::InvalidQuantity);
        }
        let change = CounterChange::give(STOCK, gift.code, quantity);
        Ok(self.store.store().adjust_counter(change).await?)
    }

    /// The hand-out of an entry, if any.
    pub(crate) async fn hand_out_of(&self, entry_id: &str) -> anyhow::Result<Option<HandOut>> {
        self.store.get(entry_id).await
    }

    /// The wallet's exchange: the gift handed out for the entry (the first one, if asked again).
    pub(crate) async fn exchange(&self, request: Request) -> Result<HandOut, ExchangeError> {
        if let Some(done) = self.store.get(&request.entry_id).await? {
            return Ok(done);
        }
        let entry_id = request.entry_id.clone();
        let (hand_out, events) = HandOut::give(request, clock::now())?;
        match self.store.create(&hand_out, &events, None).await {
            Ok(()) => Ok(hand_out),
            // A concurrent exchange of the same entry won: its answer is the answer.
            Err(StoreError::Duplicate { .. }) => {
                self.store.get(&entry_id).await?.ok_or_else(|| {
                    ExchangeError::Store(anyhow::anyhow!("hand-out {entry_id} vanished"))
                })
            }
            Err(error) => Err(error.into()),
        }
    }
}

#[cfg(test)]
mod tests;
