//! The my-page application: folds facts into views and answers queries. It never calls another
//! service and never reads another service's store.

use crate::adapters::outbound::stored::BY_CUSTOMER;
use crate::domain::view::{Fact, ReservationView};
use kernel::Cause;
use kernel::aggregate::{ChangeError, Repository};
use std::convert::Infallible;

/// A customer's page lists at most this many reservations.
const PAGE_LIMIT: u32 = 500;

/// The use cases.
#[derive(Debug)]
pub struct MyPage {
    views: Repository<ReservationView>,
}

impl MyPage {
    /// Wires the use cases to their views.
    pub fn new(views: Repository<ReservationView>) -> Self {
        Self { views }
    }

    /// Folds `fact`, stated by the event behind `cause`, into its reservation's view.
    pub async fn record(
        &self,
        fact: Fact,
        cause: &Cause,
    ) -> Result<ReservationView, ChangeError<Infallible>> {
        let id = cause.subject();
        let init = || ReservationView::new(id, fact.at);
        self.views
            .upsert(id, Some(cause), init, |_| Ok(vec![fact.clone()]))
            .await
    }

    /// One reservation's view.
    pub async fn reservation(
        &self,
        reservation_id: &str,
    ) -> anyhow::Result<Option<ReservationView>> {
        self.views.get(reservation_id).await
    }

    /// A customer's reservations, newest first.
    pub async fn customer(&self, customer_id: &str) -> anyhow::Result<Vec<ReservationView>> {
        self.views.find(BY_CUSTOMER, customer_id, PAGE_LIMIT).await
    }
}

#[cfg(test)]
mod tests;
