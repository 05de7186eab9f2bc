//! The bus conformance suite: the behaviour every `Bus` adapter must show, run against each one
//! with [`bus_conformance_suite!`](crate::bus_conformance_suite).
//!
//! - fan-out: every group receives every event;
//! - catch-up: a group whose only replica was stopped gets exactly what it missed on restart;
//! - scale-out: replicas of a group split the events with no event handled twice, and a killed
//!   replica's share moves to the others with nothing lost and effects exactly once;
//! - order: within a group, the events of one subject are applied in order, across failover too;
//! - dead letters: a poison message is parked after N attempts without blocking the others, and
//!   can be replayed.

use crate::names::{TempDir, unique_name};
use crate::node::{Effects, Producer, Replica, ReplicaOptions};
use crate::wait::eventually;
use kernel::bus::BusSettings;
use kernel::consumer::{ConsumerSettings, ReplayOutcome};
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use uuid::Uuid;

/// The adapter under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Adapter {
    /// The SQLite-file bus.
    Local,
    /// The SQLite-file bus with retention archiving every consumed event almost at once, so that
    /// readers keep crossing from the archive into the hot log.
    LocalRetaining,
    /// NATS JetStream at [`crate::nats_url`].
    Nats,
}

/// A fresh bus for one test: unique stream, unique files.
#[derive(Debug)]
pub struct Fixture {
    /// Files of this test.
    pub dir: TempDir,
    /// The bus to connect to.
    pub bus: BusSettings,
    /// Where producer outboxes live.
    pub producer_url: String,
    /// Where effects are recorded.
    pub effects_url: String,
    adapter: Adapter,
}

/// Consumer tuning that makes failover quick enough for tests.
pub fn fast_consumer() -> ConsumerSettings {
    ConsumerSettings {
        max_attempts: 3,
        backoff_ms: 20,
        max_backoff_ms: 200,
        heartbeat_ms: 100,
        lease_ms: 1_000,
    }
}

impl Fixture {
    /// A fresh fixture on `adapter`.
    pub fn new(adapter: Adapter) -> Self {
        let dir = TempDir::new("bus");
        let system = unique_name("t");
        let url = match adapter {
            Adapter::Local | Adapter::LocalRetaining => dir.local_bus_url("bus.db"),
            Adapter::Nats => crate::nats_url(),
        };
        let retention_ms = if adapter == Adapter::LocalRetaining {
            1
        } else {
            0
        };
        let bus = BusSettings {
            url,
            system,
            partitions: 8,
            ack_wait_ms: 2_000,
            poll_ms: 10,
            retention_ms,
            ..BusSettings::default()
        };
        Self {
            producer_url: dir.sqlite_url("producer.db"),
            effects_url: dir.sqlite_url("effects.db"),
            dir,
            bus,
            adapter,
        }
    }

    /// Options for a replica of `group`.
    pub fn replica(&self, group: &str) -> ReplicaOptions {
        ReplicaOptions {
            group: group.to_owned(),
            effects_url: self.effects_url.clone(),
            bus: self.bus.clone(),
            consumer: fast_consumer(),
        }
    }

    /// Starts a producer.
    pub async fn producer(&self) -> Producer {
        Producer::start(&self.producer_url, &self.bus)
            .await
            .expect("producer starts")
    }

    /// Opens the effects store.
    pub async fn effects(&self) -> Effects {
        Effects::open(&self.effects_url)
            .await
            .expect("effects store opens")
    }

    /// How many messages the bus holds for this fixture's stream (hot or archived).
    pub async fn bus_messages(&self) -> u64 {
        match self.adapter {
            Adapter::Local | Adapter::LocalRetaining => {
                let path = self.bus.url.trim_start_matches("local://");
                let pool = kernel::sql::connect_sqlite(&format!("sqlite://{path}"))
                    .await
                    .expect("bus file opens");
                let n: i64 = sqlx::query_scalar(
                    "SELECT (SELECT COUNT(*) FROM bus_log WHERE stream = ?1)
                          + (SELECT COALESCE(SUM(events), 0) FROM bus_archive WHERE stream = ?1)",
                )
                .bind(&self.bus.system)
                .fetch_one(&pool)
                .await
                .expect("bus log is readable");
                n as u64
            }
            Adapter::Nats => {
                let client = async_nats::connect(crate::nats_url())
                    .await
                    .expect("NATS answers");
                let js = async_nats::jetstream::new(client);
                let mut stream = js
                    .get_stream(self.bus.system.to_ascii_uppercase())
                    .await
                    .expect("stream exists");
                stream.info().await.expect("stream info").state.messages
            }
        }
    }

    /// Removes what the test left on shared servers.
    pub async fn cleanup(self) {
        if self.adapter == Adapter::Nats {
            delete_nats_stream(&self.bus.system).await;
        }
    }
}

/// Deletes a system's JetStream stream and lease bucket (best effort).
pub async fn delete_nats_stream(system: &str) {
    let Ok(client) = async_nats::connect(crate::nats_url()).await else {
        return;
    };
    let js = async_nats::jetstream::new(client);
    let stream = system.to_ascii_uppercase();
    let _ = js.delete_stream(&stream).await;
    let _ = js.delete_key_value(format!("{stream}_leases")).await;
}

const PATIENCE: Duration = Duration::from_secs(30);

async fn wait_for_effects(effects: &Effects, group: &str, expected: usize) {
    eventually(
        PATIENCE,
        &format!("{expected} effects in group {group}"),
        || async { (effects.count(group).await >= expected).then_some(()) },
    )
    .await;
}

fn assert_exactly_once(effects: &[crate::node::Effect], expected: &[Uuid]) {
    let mut seen = HashMap::new();
    for effect in effects {
        *seen.entry(effect.event_id).or_insert(0) += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "events applied more than once: {twice:?}");
    let missing: Vec<_> = expected
        .iter()
        .filter(|id| !seen.contains_key(id))
        .collect();
    assert!(missing.is_empty(), "events never applied: {missing:?}");
    assert_eq!(effects.len(), expected.len(), "unexpected extra effects");
}

fn assert_in_order(effects: &[crate::node::Effect]) {
    for effect in effects {
        let expected_previous = if effect.sequence == 1 {
            None
        } else {
            Some(effect.sequence - 1)
        };
        assert_eq!(
            effect.previous, expected_previous,
            "subject {} sequence {} was applied after sequence {:?} (replica {})",
            effect.subject, effect.sequence, effect.previous, effect.replica
        );
    }
}

/// Every group receives every event.
pub async fn fan_out(adapter: Adapter) {
    let fixture = Fixture::new(adapter);
    let a = Replica::start("a1", fixture.replica("alpha"))
        .await
        .unwrap();
    let b = Replica::start("b1", fixture.replica("beta")).await.unwrap();
    let mut producer = fixture.producer().await;
    let ids = producer.publish_spread(120, 12).await.unwrap();
    let effects = fixture.effects().await;
    wait_for_effects(&effects, "alpha", ids.len()).await;
    wait_for_effects(&effects, "beta", ids.len()).await;
    assert_exactly_once(&effects.of("alpha").await, &ids);
    assert_exactly_once(&effects.of("beta").await, &ids);
    assert_in_order(&effects.of("alpha").await);
    a.stop().await;
    b.stop().await;
    producer.stop().await;
    fixture.cleanup().await;
}

/// A group whose only replica was stopped receives exactly what it missed when it comes back.
pub async fn catch_up(adapter: Adapter) {
    let fixture = Fixture::new(adapter);
    let effects = fixture.effects().await;
    let mut producer = fixture.producer().await;
    let first = Replica::start("c1", fixture.replica("gamma"))
        .await
        .unwrap();
    let before = producer.publish_spread(40, 8).await.unwrap();
    wait_for_effects(&effects, "gamma", before.len()).await;
    first.stop().await;

    let missed = producer.publish_spread(60, 8).await.unwrap();
    let again = Replica::start("c2", fixture.replica("gamma"))
        .await
        .unwrap();
    wait_for_effects(&effects, "gamma", before.len() + missed.len()).await;
    let all: Vec<Uuid> = before.iter().chain(&missed).copied().collect();
    assert_exactly_once(&effects.of("gamma").await, &all);
    assert_in_order(&effects.of("gamma").await);
    let delivered: HashSet<Uuid> = again.deliveries().into_iter().collect();
    assert_eq!(
        delivered,
        missed.iter().copied().collect::<HashSet<_>>(),
        "the restarted replica must receive exactly the missed events"
    );
    assert_eq!(
        again.deliveries().len(),
        missed.len(),
        "no missed event delivered twice"
    );
    again.stop().await;
    producer.stop().await;
    fixture.cleanup().await;
}

/// Replicas of one group split a steady stream with no event handled twice; every replica
/// gets a share.
pub async fn scale_out(adapter: Adapter, replicas: usize) {
    let fixture = Fixture::new(adapter);
    let effects = fixture.effects().await;
    let mut running = Vec::new();
    // A steady stream with no replica failing: leases and the ack deadline long enough that a
    // machine busy with other tests does not move a partition or redeliver under a live replica
    // (that is failover, which the tests above check, with its redelivery).
    let mut options = fixture.replica("delta");
    options.consumer.lease_ms = 10_000;
    options.bus.ack_wait_ms = 10_000;
    for i in 0..replicas {
        running.push(
            Replica::start(&format!("r{i}"), options.clone())
                .await
                .unwrap(),
        );
    }
    eventually(PATIENCE, "replicas to split the partitions", || async {
        let owned: Vec<usize> = running.iter().map(|r| r.partitions().len()).collect();
        (owned.iter().all(|n| *n > 0)
            && owned.iter().sum::<usize>() == fixture.bus.partitions as usize)
            .then_some(())
    })
    .await;
    let mut producer = fixture.producer().await;
    let mut ids = Vec::new();
    for _ in 0..30 {
        ids.extend(producer.publish_spread(10, 40).await.unwrap());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    wait_for_effects(&effects, "delta", ids.len()).await;
    let applied = effects.of("delta").await;
    assert_exactly_once(&applied, &ids);
    assert_in_order(&applied);
    // A handler's retry on the same replica (the shared test store was busy) is a delivery
    // again but not a duplicate; an event reaching two replicas is.
    let mut replicas_of: HashMap<Uuid, HashSet<usize>> = HashMap::new();
    for (i, replica) in running.iter().enumerate() {
        for id in replica.deliveries() {
            replicas_of.entry(id).or_default().insert(i);
        }
    }
    let shared: Vec<_> = replicas_of.iter().filter(|(_, r)| r.len() > 1).collect();
    assert!(
        shared.is_empty(),
        "events delivered to more than one replica: {shared:?}"
    );
    assert_eq!(replicas_of.len(), ids.len(), "every event delivered");
    for replica in &running {
        assert!(
            !replica.deliveries().is_empty(),
            "{replica:?} got no share of the work"
        );
    }
    for replica in running {
        replica.stop().await;
    }
    producer.stop().await;
    fixture.cleanup().await;
}

/// Killing a replica abruptly under a steady publish loses nothing: its partitions move to the
/// survivors, effects stay exactly once, and each subject stays in order.
pub async fn takeover_after_kill(adapter: Adapter) {
    let fixture = Fixture::new(adapter);
    let effects = fixture.effects().await;
    let survivor_a = Replica::start("k1", fixture.replica("epsilon"))
        .await
        .unwrap();
    let survivor_b = Replica::start("k2", fixture.replica("epsilon"))
        .await
        .unwrap();
    let victim = Replica::start("k3", fixture.replica("epsilon"))
        .await
        .unwrap();
    eventually(PATIENCE, "the victim to own partitions", || async {
        (!victim.partitions().is_empty()).then_some(())
    })
    .await;
    let mut producer = fixture.producer().await;
    let mut ids = producer.publish_spread(150, 30).await.unwrap();
    eventually(PATIENCE, "the victim to be working", || async {
        (victim.deliveries().len() > 5).then_some(())
    })
    .await;
    victim.kill();
    for _ in 0..20 {
        ids.extend(producer.publish_spread(10, 30).await.unwrap());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    wait_for_effects(&effects, "epsilon", ids.len()).await;
    eventually(PATIENCE, "survivors to own every partition", || async {
        let owned = survivor_a.partitions().len() + survivor_b.partitions().len();
        (owned == fixture.bus.partitions as usize).then_some(())
    })
    .await;
    let applied = effects.of("epsilon").await;
    assert_exactly_once(&applied, &ids);
    assert_in_order(&applied);
    survivor_a.stop().await;
    survivor_b.stop().await;
    producer.stop().await;
    fixture.cleanup().await;
}

/// Within a group, a subject's events are applied in order even while replicas come and go.
pub async fn per_subject_order(adapter: Adapter) {
    let fixture = Fixture::new(adapter);
    let effects = fixture.effects().await;
    let mut producer = fixture.producer().await;
    let first = Replica::start("o1", fixture.replica("zeta")).await.unwrap();
    let mut ids = producer.publish_spread(100, 5).await.unwrap();
    let second = Replica::start("o2", fixture.replica("zeta")).await.unwrap();
    ids.extend(producer.publish_spread(100, 5).await.unwrap());
    first.stop().await;
    let third = Replica::start("o3", fixture.replica("zeta")).await.unwrap();
    ids.extend(producer.publish_spread(100, 5).await.unwrap());
    wait_for_effects(&effects, "zeta", ids.len()).await;
    let applied = effects.of("zeta").await;
    assert_exactly_once(&applied, &ids);
    assert_in_order(&applied);
    let mut by_subject: HashMap<&str, Vec<i64>> = HashMap::new();
    for effect in &applied {
        by_subject
            .entry(&effect.subject)
            .or_default()
            .push(effect.sequence);
    }
    for (subject, sequences) in by_subject {
        let expected: Vec<i64> = (1..=sequences.len() as i64).collect();
        assert_eq!(sequences, expected, "subject {subject} out of order");
    }
    second.stop().await;
    third.stop().await;
    producer.stop().await;
    fixture.cleanup().await;
}

/// A poison message is parked after the configured attempts and does not block the others; once
/// the handler is fixed, a replay applies it.
pub async fn poison_message(adapter: Adapter) {
    let fixture = Fixture::new(adapter);
    let effects = fixture.effects().await;
    let replica = Replica::start("p1", fixture.replica("eta")).await.unwrap();
    let mut producer = fixture.producer().await;
    let mut healthy = producer.publish_spread(10, 5).await.unwrap();
    let poison = producer
        .publish("s0", serde_json::json!({ "poison": true }))
        .await
        .unwrap();
    healthy.extend(producer.publish_spread(20, 5).await.unwrap());
    wait_for_effects(&effects, "eta", healthy.len()).await;
    let parked = eventually(PATIENCE, "the poison message to be parked", || async {
        let letters = replica.group().dead_letters().list().await.ok()?;
        letters
            .into_iter()
            .find(|l| l.event_id.as_deref() == Some(poison.to_string().as_str()))
    })
    .await;
    assert_eq!(parked.attempts, fast_consumer().max_attempts);
    assert!(parked.error.contains("poison pill"), "{}", parked.error);
    assert_eq!(
        replica
            .deliveries()
            .iter()
            .filter(|id| **id == poison)
            .count(),
        fast_consumer().max_attempts as usize
    );
    let applied = effects.of("eta").await;
    assert_exactly_once(&applied, &healthy);

    assert_eq!(
        replica.replay(parked.id).await.unwrap(),
        ReplayOutcome::Failed {
            error: format!("poison pill {poison}")
        }
    );
    replica.cure_poison();
    assert_eq!(
        replica.replay(parked.id).await.unwrap(),
        ReplayOutcome::Replayed
    );
    assert_eq!(
        replica.replay(parked.id).await.unwrap(),
        ReplayOutcome::AlreadyReplayed
    );
    let mut all = healthy.clone();
    all.push(poison);
    assert_exactly_once(&effects.of("eta").await, &all);
    assert_eq!(replica.group().dead_letters().parked().await.unwrap(), 0);
    replica.stop().await;
    producer.stop().await;
    fixture.cleanup().await;
}

/// Generates the conformance tests for one adapter.
#[macro_export]
macro_rules! bus_conformance_suite {
    ($adapter:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn every_group_receives_every_event() {
            $crate::conformance::fan_out($adapter).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn a_stopped_group_receives_exactly_what_it_missed() {
            $crate::conformance::catch_up($adapter).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn two_replicas_split_the_stream_without_duplicates() {
            $crate::conformance::scale_out($adapter, 2).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn three_replicas_split_the_stream_without_duplicates() {
            $crate::conformance::scale_out($adapter, 3).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn a_killed_replica_loses_nothing_and_effects_stay_exactly_once() {
            $crate::conformance::takeover_after_kill($adapter).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn a_subjects_events_are_applied_in_order() {
            $crate::conformance::per_subject_order($adapter).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn a_poison_message_is_parked_and_does_not_block_the_others() {
            $crate::conformance::poison_message($adapter).await;
        }
    };
}
