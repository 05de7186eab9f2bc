//! The kernel's store guarantees on every relational backend, against real servers: migrations
//! apply once, the outbox commits and rolls back with the transaction, the inbox recognises a
//! redelivery, dead letters park and replay, the relay lease has one holder.

#![allow(clippy::unwrap_used)]

use kernel::Envelope;
use kernel::deadletter::DeadLetterStore;
use kernel::outbox::OutboxSource;
use kernel::sql::{Bind, Migration, SqlStore, connect_lite, connect_mysql, connect_postgres};
use std::time::Duration;
use testkit::servers::{drop_mysql, drop_postgres, mysql_url, postgres_url};
use testkit::{TempDir, unique_name};

const EFFECTS: &[Migration] = &[Migration {
    version: 1,
    name: "effects",
    sql: "CREATE TABLE IF NOT EXISTS effects (id VARCHAR(64) NOT NULL PRIMARY KEY, note VARCHAR(64) NOT NULL)",
}];

fn event(n: u64) -> kernel::NewEvent {
    kernel::NewEvent::raw(
        "demo.things.happened.v1",
        format!("s{}", n % 3),
        n,
        serde_json::json!({ "n": n }),
    )
    .unwrap()
}

macro_rules! store_guarantees {
    ($name:ident, $db:ty, $connect:expr, $insert:literal) => {
        async fn $name(url: String) {
            let store = SqlStore::<$db>::new($connect(&url).await.unwrap(), "demo/things");
            store.migrate("demo", EFFECTS).await.unwrap();
            store
                .migrate("demo", EFFECTS)
                .await
                .expect("migrating again is a no-op");

            // Committed events reach the outbox in order; rolled-back ones never do.
            let mut tx = store.begin().await.unwrap();
            let first = tx.publish(event(1)).await.unwrap();
            let second = tx.publish(event(2)).await.unwrap();
            tx.commit().await.unwrap();
            let mut doomed = store.begin().await.unwrap();
            doomed.publish(event(3)).await.unwrap();
            doomed.rollback().await.unwrap();
            let rows = store.unpublished(10).await.unwrap();
            let ids: Vec<_> = rows.iter().map(|(_, e)| e.id).collect();
            assert_eq!(ids, vec![first.id, second.id]);
            assert_eq!(store.backlog().await.unwrap(), 2);
            store.mark_published(&[rows[0].0]).await.unwrap();
            assert_eq!(store.backlog().await.unwrap(), 1);
            assert_eq!(store.unpublished(10).await.unwrap()[0].1.id, second.id);

            // The inbox: the effect and the record commit together; a redelivery is recognised.
            let delivered: Envelope = first.clone();
            let mut tx = store
                .begin_handling(&delivered)
                .await
                .unwrap()
                .expect("first delivery");
            let delivered_id = delivered.id.to_string();
            tx.exec($insert, &[Bind::Text(&delivered_id), Bind::Text("applied")])
                .await
                .unwrap();
            let caused = tx.publish(event(4)).await.unwrap();
            assert_eq!(
                caused.causationid,
                Some(delivered.id),
                "events caused by a delivery name it"
            );
            tx.commit().await.unwrap();
            assert!(
                store.begin_handling(&delivered).await.unwrap().is_none(),
                "a redelivery has no second effect"
            );
            assert!(store.has_handled(delivered.id).await.unwrap());
            // A handling transaction that rolls back leaves the event unhandled.
            let mut aborted = store
                .begin_handling(&second)
                .await
                .unwrap()
                .expect("first delivery");
            aborted.publish(event(5)).await.unwrap();
            aborted.rollback().await.unwrap();
            assert!(!store.has_handled(second.id).await.unwrap());

            // Dead letters.
            store
                .park(&second.to_json(), Some(&second), "boom", 3)
                .await
                .unwrap();
            store
                .park("not json", None, "not an envelope", 0)
                .await
                .unwrap();
            let letters = store.list().await.unwrap();
            assert_eq!(letters.len(), 2);
            assert_eq!(
                letters[0].event_id.as_deref(),
                Some(second.id.to_string().as_str())
            );
            assert_eq!(letters[0].attempts, 3);
            assert_eq!(store.parked().await.unwrap(), 2);
            store.mark_replayed(letters[0].id).await.unwrap();
            assert!(
                store
                    .get(letters[0].id)
                    .await
                    .unwrap()
                    .unwrap()
                    .replayed_at
                    .is_some()
            );
            assert_eq!(store.parked().await.unwrap(), 1);

            // The relay lease has one holder at a time and can be renewed by it.
            let ttl = Duration::from_secs(30);
            assert!(store.try_lease("relay", "a", ttl).await.unwrap());
            assert!(!store.try_lease("relay", "b", ttl).await.unwrap());
            assert!(store.try_lease("relay", "a", ttl).await.unwrap());
            store.ping().await.unwrap();
        }
    };
}

store_guarantees!(
    sqlite_guarantees,
    kernel::sql::Lite,
    connect_lite,
    "INSERT INTO effects (id, note) VALUES (?, ?)"
);
store_guarantees!(
    postgres_guarantees,
    sqlx::Postgres,
    connect_postgres,
    "INSERT INTO effects (id, note) VALUES ($1, $2)"
);
store_guarantees!(
    mysql_guarantees,
    sqlx::MySql,
    connect_mysql,
    "INSERT INTO effects (id, note) VALUES (?, ?)"
);

#[tokio::test]
async fn sqlite_keeps_the_kernel_guarantees() {
    let dir = TempDir::new("store");
    sqlite_guarantees(dir.sqlite_url("store.db")).await;
}

#[tokio::test]
async fn postgresql_keeps_the_kernel_guarantees() {
    let database = unique_name("msa_t");
    postgres_guarantees(postgres_url(&database)).await;
    drop_postgres(&database).await;
}

#[tokio::test]
async fn mariadb_keeps_the_kernel_guarantees() {
    let database = unique_name("msa_t");
    mysql_guarantees(mysql_url(&database)).await;
    drop_mysql(&database).await;
}
