//! Given / when / then for a service's application on the in-memory store: what the
//! application published, and the envelopes a consumer would receive.

use kernel::sql::Storage;

/// The types of the events `storage`'s outbox holds about `subject`, in order.
pub async fn published(storage: &Storage, subject: &str) -> Vec<String> {
    let outbox = storage.outbox().expect("a SQL store has an outbox");
    let rows = outbox.unpublished(10_000).await.expect("the outbox reads");
    rows.into_iter()
        .filter(|(_, event)| event.subject == subject)
        .map(|(_, event)| event.event_type)
        .collect()
}
