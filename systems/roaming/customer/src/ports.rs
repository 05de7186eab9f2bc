//! The port of the my-page application: where views are kept.

use crate::domain::view::ReservationView;
use async_trait::async_trait;
use kernel::Envelope;

/// Failures of the view store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The view changed since it was read.
    #[error("the view changed concurrently")]
    Conflict,
    /// The event was folded in before.
    #[error("the event was handled before")]
    AlreadyHandled,
    /// Anything else.
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

/// Where my-page views are kept. A save records the event it folds in (inbox) atomically with
/// the view.
#[async_trait]
pub trait MyPageStore: Send + Sync + 'static {
    /// A view and its revision.
    async fn load(
        &self,
        reservation_id: &str,
    ) -> Result<Option<(ReservationView, u64)>, StoreError>;
    /// Stores `view`, which was at `previous_revision` (`None`: new), having folded in `cause`.
    async fn save(
        &self,
        view: &ReservationView,
        previous_revision: Option<u64>,
        cause: &Envelope,
    ) -> Result<(), StoreError>;
    /// A customer's views, newest first.
    async fn by_customer(&self, customer_id: &str) -> Result<Vec<ReservationView>, StoreError>;
}
