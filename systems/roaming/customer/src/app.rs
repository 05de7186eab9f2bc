//! The my-page application: folds facts into views and answers queries. It never calls another
//! service and never reads another service's store.

use crate::domain::view::{Fact, ReservationView};
use crate::ports::{MyPageStore, StoreError};
use kernel::Envelope;
use std::sync::Arc;

/// The use cases.
pub struct MyPage {
    store: Arc<dyn MyPageStore>,
}

impl std::fmt::Debug for MyPage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MyPage")
    }
}

const CONFLICT_RETRIES: usize = 8;

impl MyPage {
    /// Wires the use cases to their store.
    pub fn new(store: Arc<dyn MyPageStore>) -> Self {
        Self { store }
    }

    /// Folds `fact`, carried by `event`, into its reservation's view.
    pub async fn record(&self, fact: &Fact, event: &Envelope) -> anyhow::Result<()> {
        for _ in 0..CONFLICT_RETRIES {
            let (mut view, revision) = match self.store.load(&event.subject).await? {
                Some((view, revision)) => (view, Some(revision)),
                None => (ReservationView::new(&event.subject, fact.at), None),
            };
            view.apply(fact, time::OffsetDateTime::now_utc());
            match self.store.save(&view, revision, event).await {
                Ok(()) | Err(StoreError::AlreadyHandled) => return Ok(()),
                Err(StoreError::Conflict) => continue,
                Err(StoreError::Unknown(error)) => return Err(error),
            }
        }
        anyhow::bail!("view {} kept changing concurrently", event.subject)
    }

    /// One reservation's view.
    pub async fn reservation(
        &self,
        reservation_id: &str,
    ) -> anyhow::Result<Option<ReservationView>> {
        Ok(self.store.load(reservation_id).await?.map(|(view, _)| view))
    }

    /// A customer's reservations.
    pub async fn customer(&self, customer_id: &str) -> anyhow::Result<Vec<ReservationView>> {
        Ok(self.store.by_customer(customer_id).await?)
    }
}
