//! Retention of the embedded bus: consumed events leave the hot log for compressed archive
//! segments, and every reader still sees the whole stream. The conformance suite runs again with
//! retention archiving everything consumed almost at once, so that readers keep crossing from the
//! archive into the hot log while replicas come and go.

#![allow(clippy::unwrap_used)]

use kernel::bus::local::LocalBus;
use kernel::bus::{Bus as _, BusSettings};
use sqlx::{Pool, Sqlite};
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use testkit::conformance::{Adapter, Fixture};
use testkit::node::{Effects, Replica};
use testkit::wait::eventually;
use uuid::Uuid;

testkit::bus_conformance_suite!(Adapter::LocalRetaining);

const PATIENCE: Duration = Duration::from_secs(30);

/// The hot log and the archive as the bus file holds them, read with SQL rather than through the
/// bus.
struct BusFile {
    pool: Pool<Sqlite>,
    stream: String,
}

#[derive(Debug, PartialEq, Eq)]
struct Sizes {
    hot_rows: i64,
    hot_bytes: i64,
    archived_events: i64,
    segments: i64,
    archived_bytes: i64,
}

impl BusFile {
    async fn open(fixture: &Fixture) -> Self {
        let path = fixture.bus.url.trim_start_matches("local://");
        Self {
            pool: kernel::sql::connect_sqlite(&format!("sqlite://{path}"))
                .await
                .unwrap(),
            stream: fixture.bus.system.clone(),
        }
    }

    async fn sizes(&self) -> Sizes {
        let (hot_rows, hot_bytes, archived_events, segments, archived_bytes) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM bus_log WHERE stream = ?1),
                    (SELECT COALESCE(SUM(LENGTH(envelope)), 0) FROM bus_log WHERE stream = ?1),
                    COALESCE(SUM(events), 0), COUNT(*), COALESCE(SUM(LENGTH(segment)), 0)
             FROM bus_archive WHERE stream = ?1",
        )
        .bind(&self.stream)
        .fetch_one(&self.pool)
        .await
        .unwrap();
        Sizes {
            hot_rows,
            hot_bytes,
            archived_events,
            segments,
            archived_bytes,
        }
    }

    async fn hot_ids(&self) -> HashSet<Uuid> {
        let ids: Vec<String> = sqlx::query_scalar("SELECT event_id FROM bus_log WHERE stream = ?")
            .bind(&self.stream)
            .fetch_all(&self.pool)
            .await
            .unwrap();
        ids.iter().map(|id| id.parse().unwrap()).collect()
    }
}

/// The bus as a process with retention on opens it; its passes are run by hand here.
async fn bus(fixture: &Fixture) -> LocalBus {
    let settings = BusSettings {
        retention_ms: 0,
        ..fixture.bus.clone()
    };
    LocalBus::open(fixture.bus.url.trim_start_matches("local://"), &settings)
        .await
        .unwrap()
}

/// Everything a brand-new `group` reads, partition by partition, through the bus's readers.
async fn read_from_start(bus: &LocalBus, group: &str) -> Vec<Vec<Uuid>> {
    let mut partitions = Vec::new();
    for partition in 0..bus.partitions() {
        let expected = bus.lag(group, partition).await.unwrap();
        let mut reader = bus.open(group, partition, &[]).await.unwrap();
        let mut ids = Vec::new();
        for _ in 0..expected {
            let delivery = tokio::time::timeout(PATIENCE, reader.next())
                .await
                .expect("a reader gets every event the lag counts")
                .unwrap();
            ids.push(delivery.envelope.as_ref().unwrap().id);
            reader.ack(&delivery).await.unwrap();
        }
        reader.close().await.unwrap();
        partitions.push(ids);
    }
    partitions
}

async fn consumed_by(effects: &Effects, group: &str, count: usize) {
    eventually(PATIENCE, &format!("{count} effects in {group}"), || async {
        (effects.count(group).await >= count).then_some(())
    })
    .await;
}

fn assert_exactly(effects: &[testkit::node::Effect], expected: &[Uuid]) {
    let mut seen: HashMap<Uuid, usize> = HashMap::new();
    for effect in effects {
        *seen.entry(effect.event_id).or_default() += 1;
    }
    assert!(seen.values().all(|n| *n == 1), "an event applied twice");
    assert_eq!(
        seen.keys().copied().collect::<HashSet<_>>(),
        expected.iter().copied().collect::<HashSet<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_every_group_consumed_leave_the_hot_log_for_the_archive() {
    let fixture = Fixture::new(Adapter::Local);
    let effects = fixture.effects().await;
    let alpha = Replica::start("a1", fixture.replica("alpha"))
        .await
        .unwrap();
    let beta = Replica::start("b1", fixture.replica("beta")).await.unwrap();
    let mut producer = fixture.producer().await;
    let ids = producer.publish_spread(400, 40).await.unwrap();
    consumed_by(&effects, "alpha", ids.len()).await;
    consumed_by(&effects, "beta", ids.len()).await;
    alpha.stop().await;
    beta.stop().await;
    let file = BusFile::open(&fixture).await;
    let before = file.sizes().await;
    assert_eq!(before.hot_rows, ids.len() as i64);

    let archived = bus(&fixture).await.retain().await.unwrap();
    let after = file.sizes().await;
    eprintln!("before retention: {before:?}\nafter retention: {after:?}\n{archived:?}");
    assert_eq!(after.hot_rows, 0, "every consumed event left the hot log");
    assert_eq!(after.archived_events, ids.len() as i64);
    assert_eq!(archived.events, ids.len() as u64);
    assert!(
        after.archived_bytes * 2 < before.hot_bytes,
        "the archive is compressed: {after:?} from {before:?}"
    );
    assert_eq!(fixture.bus_messages().await, ids.len() as u64);
    producer.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_that_was_down_during_retention_catches_up_exactly_what_it_missed() {
    let fixture = Fixture::new(Adapter::Local);
    let effects = fixture.effects().await;
    let mut producer = fixture.producer().await;
    let alpha = Replica::start("a1", fixture.replica("alpha"))
        .await
        .unwrap();
    let gamma = Replica::start("c1", fixture.replica("gamma"))
        .await
        .unwrap();
    let seen = producer.publish_spread(80, 16).await.unwrap();
    consumed_by(&effects, "gamma", seen.len()).await;
    gamma.stop().await;
    let missed = producer.publish_spread(120, 16).await.unwrap();
    consumed_by(&effects, "alpha", seen.len() + missed.len()).await;
    alpha.stop().await;

    let file = BusFile::open(&fixture).await;
    let before = file.sizes().await;
    let bus = bus(&fixture).await;
    bus.retain().await.unwrap();
    let after = file.sizes().await;
    eprintln!("gamma down: before retention {before:?}\nafter retention {after:?}");
    assert!(after.archived_events > 0, "what both groups consumed moved");
    let hot = file.hot_ids().await;
    assert!(
        missed.iter().all(|id| hot.contains(id)),
        "nothing gamma has not consumed may leave the hot log"
    );

    let again = Replica::start("c2", fixture.replica("gamma"))
        .await
        .unwrap();
    consumed_by(&effects, "gamma", seen.len() + missed.len()).await;
    let all: Vec<Uuid> = seen.iter().chain(&missed).copied().collect();
    assert_exactly(&effects.of("gamma").await, &all);
    let delivered = again.deliveries();
    assert_eq!(delivered.len(), missed.len(), "no missed event twice");
    assert_eq!(
        delivered.into_iter().collect::<HashSet<_>>(),
        missed.iter().copied().collect::<HashSet<_>>()
    );
    again.stop().await;
    bus.retain().await.unwrap();
    let drained = file.sizes().await;
    eprintln!("gamma caught up, after retention: {drained:?}");
    assert_eq!(drained.hot_rows, 0);
    assert_eq!(drained.archived_events, all.len() as i64);
    producer.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_group_reads_the_same_events_in_the_same_order_after_retention() {
    let fixture = Fixture::new(Adapter::Local);
    let effects = fixture.effects().await;
    let mut producer = fixture.producer().await;
    let alpha = Replica::start("a1", fixture.replica("alpha"))
        .await
        .unwrap();
    let early = producer.publish_spread(300, 30).await.unwrap();
    consumed_by(&effects, "alpha", early.len()).await;
    alpha.stop().await;
    let bus = bus(&fixture).await;
    let before = read_from_start(&bus, "before").await;
    assert_eq!(before.iter().map(Vec::len).sum::<usize>(), early.len());

    bus.retain().await.unwrap();
    let file = BusFile::open(&fixture).await;
    assert_eq!(file.sizes().await.hot_rows, 0);
    // Events that stay hot: a reader from the start crosses from the archive into them.
    let late = producer.publish_spread(60, 30).await.unwrap();
    eventually(PATIENCE, "the late events on the bus", || async {
        (file.sizes().await.hot_rows == late.len() as i64).then_some(())
    })
    .await;
    let late_only = read_from_start(&bus, "before").await;
    let after = read_from_start(&bus, "after").await;
    for (partition, ids) in after.iter().enumerate() {
        let expected: Vec<Uuid> = before[partition]
            .iter()
            .chain(&late_only[partition])
            .copied()
            .collect();
        assert_eq!(ids, &expected, "partition {partition} reads the same");
    }

    // The consumer runtime of a new group (what a read-model rebuild is) sees all of it too.
    let rebuild = Replica::start("r1", fixture.replica("rebuild"))
        .await
        .unwrap();
    let all: Vec<Uuid> = early.iter().chain(&late).copied().collect();
    consumed_by(&effects, "rebuild", all.len()).await;
    assert_exactly(&effects.of("rebuild").await, &all);
    for effect in effects.of("rebuild").await {
        let previous = (effect.sequence > 1).then(|| effect.sequence - 1);
        assert_eq!(effect.previous, previous, "{} out of order", effect.subject);
    }
    rebuild.stop().await;
    producer.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_started_while_retention_runs_reads_the_whole_stream_once_in_order() {
    let fixture = Fixture::new(Adapter::LocalRetaining);
    let effects = fixture.effects().await;
    let mut producer = fixture.producer().await;
    let alpha = Replica::start("a1", fixture.replica("alpha"))
        .await
        .unwrap();
    let mut ids = producer.publish_spread(200, 20).await.unwrap();
    consumed_by(&effects, "alpha", ids.len()).await;
    let file = BusFile::open(&fixture).await;
    eventually(PATIENCE, "background passes to archive", || async {
        (file.sizes().await.archived_events > 0).then_some(())
    })
    .await;
    // The late group starts from the archive while events keep coming and being archived.
    let late = Replica::start("l1", fixture.replica("late")).await.unwrap();
    for _ in 0..10 {
        ids.extend(producer.publish_spread(20, 20).await.unwrap());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    consumed_by(&effects, "late", ids.len()).await;
    assert_exactly(&effects.of("late").await, &ids);
    for effect in effects.of("late").await {
        let previous = (effect.sequence > 1).then(|| effect.sequence - 1);
        assert_eq!(effect.previous, previous, "{} out of order", effect.subject);
    }
    consumed_by(&effects, "alpha", ids.len()).await;
    eventually(PATIENCE, "everything consumed to be archived", || async {
        let sizes = file.sizes().await;
        (sizes.hot_rows == 0 && sizes.archived_events == ids.len() as i64).then_some(())
    })
    .await;
    late.stop().await;
    alpha.stop().await;
    producer.stop().await;
}
