//! How the kernel keeps a my-page view: its JSON document with its revision, and the key of a
//! customer's views (newest reservation first).

use crate::adapters::document::ViewDocument;
use crate::domain::view::{Fact, ReservationView};
use kernel::aggregate::{Aggregate, Key};
use kernel::sql::millis;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Key of a customer's views.
pub const BY_CUSTOMER: &str = "customer";

/// A view as stored.
#[derive(Serialize, Deserialize)]
pub struct Record {
    #[serde(flatten)]
    view: ViewDocument,
    revision: u64,
}

impl Aggregate for ReservationView {
    type Event = Fact;
    type Record = Record;
    const KIND: &'static str = "mypage";

    fn id(&self) -> &str {
        &self.reservation_id
    }

    fn version(&self) -> u64 {
        self.revision
    }

    fn apply(&mut self, fact: &Fact, recorded_at: OffsetDateTime) {
        ReservationView::apply(self, fact, recorded_at);
    }

    fn record(&self) -> Record {
        Record {
            view: ViewDocument::from(self),
            revision: self.revision,
        }
    }

    fn restore(record: Record) -> anyhow::Result<Self> {
        let mut view = ReservationView::try_from(record.view)?;
        view.revision = record.revision;
        Ok(view)
    }

    fn keys(&self) -> Vec<Key> {
        self.customer_id
            .iter()
            .map(|customer| Key::index(BY_CUSTOMER, customer).scored(millis(self.created_at)))
            .collect()
    }

    fn integration_event(&self, _: &Fact, _: u64) -> Option<kernel::NewEvent> {
        None
    }
}
