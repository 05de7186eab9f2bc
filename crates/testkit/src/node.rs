//! Simulated processes for bus tests: a producer with an outbox and a relay, and consumer-group
//! replicas that record every delivery and every effect. Each replica runs on its own runtime, so
//! that killing it drops everything it had in flight, as a crashed process would.

use anyhow::Context as _;
use async_trait::async_trait;
use kernel::bus::{self, Bus, BusSettings};
use kernel::consumer::{
    ConsumerGroup, ConsumerSettings, EventHandler, HandleError, ReplayOutcome, Subscription,
};
use kernel::metrics::Metrics;
use kernel::outbox::{Relay, RelaySettings};
use kernel::sql::{Bind, Lite, LitePool, Migration, SqlStore, connect_lite};
use kernel::{Envelope, NewEvent};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::runtime::Runtime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The event type test producers publish, within `system`.
pub fn test_event_type(system: &str) -> String {
    format!("{system}.producer.happened.v1")
}

const EFFECTS: &[Migration] = &[Migration {
    version: 1,
    name: "effects",
    sql: "CREATE TABLE IF NOT EXISTS effects (
        grp TEXT NOT NULL,
        event_id TEXT NOT NULL,
        subject TEXT NOT NULL,
        sequence INTEGER NOT NULL,
        previous INTEGER,
        replica TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS effects_subject ON effects (grp, subject, sequence);
    CREATE TABLE IF NOT EXISTS deliveries (
        grp TEXT NOT NULL,
        event_id TEXT NOT NULL,
        replica TEXT NOT NULL
    )",
}];

/// A producing service: an outbox in its own SQLite file and a relay to the bus.
pub struct Producer {
    store: SqlStore<Lite>,
    system: String,
    sequences: HashMap<String, u64>,
    stop: CancellationToken,
    relay: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Producer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer")
            .field("system", &self.system)
            .finish()
    }
}

impl Producer {
    /// Opens the producer's store at `store_url` and starts relaying to the bus.
    pub async fn start(store_url: &str, bus: &BusSettings) -> anyhow::Result<Self> {
        let mut producer = Self::open(store_url, bus).await?;
        producer.start_relay(bus).await?;
        Ok(producer)
    }

    /// Opens the producer's store without relaying yet: what it commits stays in the outbox.
    pub async fn open(store_url: &str, bus: &BusSettings) -> anyhow::Result<Self> {
        let store = SqlStore::<Lite>::new(
            connect_lite(store_url).await?,
            &format!("{}/producer", bus.system),
        );
        store.migrate("producer", &[]).await?;
        Ok(Self {
            store,
            system: bus.system.clone(),
            sequences: HashMap::new(),
            stop: CancellationToken::new(),
            relay: None,
        })
    }

    /// Starts relaying the outbox to the bus.
    pub async fn start_relay(&mut self, bus: &BusSettings) -> anyhow::Result<()> {
        let connected = bus::connect(bus).await?;
        let relay = Relay::new(
            Arc::new(self.store.clone()),
            connected,
            &kernel::consumer::new_member_id(),
            RelaySettings {
                poll_ms: 20,
                ..Default::default()
            },
            Metrics::default(),
        );
        self.relay = Some(tokio::spawn(relay.run(self.stop.clone())));
        Ok(())
    }

    /// Events committed and not yet published.
    pub async fn backlog(&self) -> anyhow::Result<u64> {
        kernel::outbox::OutboxSource::backlog(&self.store).await
    }

    /// Commits one event about `subject` (its next sequence number) with `data`.
    pub async fn publish(
        &mut self,
        subject: &str,
        data: serde_json::Value,
    ) -> anyhow::Result<Uuid> {
        let sequence = self.sequences.entry(subject.to_owned()).or_insert(0);
        *sequence += 1;
        let mut tx = self.store.begin().await?;
        let envelope = tx
            .publish(NewEvent::raw(
                test_event_type(&self.system),
                subject,
                *sequence,
                data,
            )?)
            .await?;
        tx.commit().await?;
        Ok(envelope.id)
    }

    /// Commits `count` events spread over `subjects` subjects (`s0`, `s1`, ...); returns their ids.
    pub async fn publish_spread(
        &mut self,
        count: usize,
        subjects: usize,
    ) -> anyhow::Result<Vec<Uuid>> {
        let mut ids = Vec::with_capacity(count);
        for i in 0..count {
            ids.push(
                self.publish(&format!("s{}", i % subjects), serde_json::json!({ "n": i }))
                    .await?,
            );
        }
        Ok(ids)
    }

    /// Stops the relay after it published what is committed.
    pub async fn stop(mut self) {
        self.stop.cancel();
        if let Some(handle) = self.relay.take() {
            let _ = handle.await;
        }
    }
}

struct RecordingHandler {
    store: SqlStore<Lite>,
    group: String,
    replica: String,
    deliveries: Arc<Mutex<Vec<Uuid>>>,
    reject_poison: Arc<AtomicBool>,
}

#[async_trait]
impl EventHandler for RecordingHandler {
    async fn handle(&self, event: &Envelope) -> Result<(), HandleError> {
        self.deliveries
            .lock()
            .expect("deliveries lock")
            .push(event.id);
        // Recorded outside the effect's transaction, so that it survives a crash after the commit.
        let event_id = event.id.to_string();
        self.store
            .pool()
            .execute(
                "INSERT INTO deliveries (grp, event_id, replica) VALUES (?, ?, ?)",
                &[
                    Bind::Text(&self.group),
                    Bind::Text(&event_id),
                    Bind::Text(&self.replica),
                ],
            )
            .await
            .context("cannot record a delivery")?;
        if event.data.get("poison") == Some(&serde_json::Value::Bool(true))
            && self.reject_poison.load(Ordering::SeqCst)
        {
            return Err(HandleError::Transient(anyhow::anyhow!(
                "poison pill {}",
                event.id
            )));
        }
        let Some(mut tx) = self.store.begin_handling(event).await? else {
            return Ok(());
        };
        // `previous`: the sequence of the subject's effect before this one, read in the same
        // transaction.
        tx.exec(
            "INSERT INTO effects (grp, event_id, subject, sequence, previous, replica) VALUES (?, ?, ?, ?, \
             (SELECT MAX(sequence) FROM effects WHERE grp = ? AND subject = ?), ?)",
            &[
                Bind::Text(&self.group),
                Bind::Text(&event_id),
                Bind::Text(&event.subject),
                Bind::Int(event.sequence as i64),
                Bind::Text(&self.group),
                Bind::Text(&event.subject),
                Bind::Text(&self.replica),
            ],
        )
        .await
        .context("cannot record an effect")?;
        tx.commit().await?;
        Ok(())
    }
}

/// How a replica is set up.
#[derive(Clone, Debug)]
pub struct ReplicaOptions {
    /// The consumer group.
    pub group: String,
    /// The SQLite URL of the effects store the group's replicas share.
    pub effects_url: String,
    /// The bus.
    pub bus: BusSettings,
    /// Consumer runtime tuning.
    pub consumer: ConsumerSettings,
}

/// Builds a consumer-group replica whose handler records deliveries (in memory and in the
/// `deliveries` table) and effects (with the inbox, in the `effects` table).
pub async fn recording_group(
    name: &str,
    options: &ReplicaOptions,
    deliveries: Arc<Mutex<Vec<Uuid>>>,
    reject_poison: Arc<AtomicBool>,
) -> anyhow::Result<Arc<ConsumerGroup>> {
    let store = SqlStore::<Lite>::new(connect_lite(&options.effects_url).await?, &options.group);
    store.migrate("testkit", EFFECTS).await?;
    let bus: Arc<dyn Bus> = bus::connect(&options.bus).await?;
    let handler = RecordingHandler {
        store: store.clone(),
        group: options.group.clone(),
        replica: name.to_owned(),
        deliveries,
        reject_poison,
    };
    let subscription = Subscription {
        group: options.group.clone(),
        types: vec![test_event_type(&options.bus.system)],
        handler: Arc::new(handler),
        dead_letters: Arc::new(store),
    };
    Ok(ConsumerGroup::new(
        bus,
        subscription,
        options.consumer.clone(),
        Metrics::default(),
    ))
}

/// A consumer-group replica on its own runtime.
pub struct Replica {
    name: String,
    runtime: Option<Runtime>,
    stop: CancellationToken,
    done: Option<JoinHandle<()>>,
    deliveries: Arc<Mutex<Vec<Uuid>>>,
    reject_poison: Arc<AtomicBool>,
    group: Arc<ConsumerGroup>,
}

impl std::fmt::Debug for Replica {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replica").field("name", &self.name).finish()
    }
}

impl Replica {
    /// Starts replica `name` of `options.group`.
    pub async fn start(name: &str, options: ReplicaOptions) -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name(format!("replica-{name}"))
            .enable_all()
            .build()
            .context("cannot build a replica runtime")?;
        let deliveries = Arc::new(Mutex::new(Vec::new()));
        let reject_poison = Arc::new(AtomicBool::new(true));
        let stop = CancellationToken::new();
        let (ready, started) = oneshot::channel();
        let done = {
            let deliveries = deliveries.clone();
            let reject_poison = reject_poison.clone();
            let stop = stop.clone();
            let name = name.to_owned();
            runtime.spawn(async move {
                let setup = recording_group(&name, &options, deliveries, reject_poison);
                match setup.await {
                    Ok(group) => {
                        let _ = ready.send(Ok(group.clone()));
                        group.run(stop).await;
                    }
                    Err(error) => {
                        let _ = ready.send(Err(error));
                    }
                }
            })
        };
        let group = match started.await {
            Ok(Ok(group)) => group,
            Ok(Err(error)) => {
                runtime.shutdown_background();
                return Err(error.context(format!("replica {name} cannot start")));
            }
            Err(_) => {
                runtime.shutdown_background();
                anyhow::bail!("replica {name} died while starting");
            }
        };
        Ok(Self {
            name: name.to_owned(),
            runtime: Some(runtime),
            stop,
            done: Some(done),
            deliveries,
            reject_poison,
            group,
        })
    }

    /// Every delivery its handler saw, in order (including redeliveries and failed attempts).
    pub fn deliveries(&self) -> Vec<Uuid> {
        self.deliveries.lock().expect("deliveries lock").clone()
    }

    /// Partitions it reads now.
    pub fn partitions(&self) -> Vec<u32> {
        self.group.status().partitions
    }

    /// Makes the handler accept poison events from now on (the "fix" before a replay).
    pub fn cure_poison(&self) {
        self.reject_poison.store(false, Ordering::SeqCst);
    }

    /// The replica's consumer group (dead letters, replay, status).
    pub fn group(&self) -> Arc<ConsumerGroup> {
        self.group.clone()
    }

    /// Replays dead letter `id` on the replica's own runtime.
    pub async fn replay(&self, id: i64) -> anyhow::Result<ReplayOutcome> {
        let group = self.group.clone();
        let runtime = self.runtime.as_ref().context("replica is gone")?;
        runtime.spawn(async move { group.replay(id).await }).await?
    }

    /// Stops it gracefully: in-flight work finishes, partitions are handed back.
    pub async fn stop(mut self) {
        self.stop.cancel();
        if let Some(done) = self.done.take() {
            let _ = done.await;
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }

    /// Kills it abruptly: nothing it had in flight completes, its leases are left to expire.
    pub fn kill(mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// One recorded effect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Effect {
    /// The event.
    pub event_id: Uuid,
    /// Its subject.
    pub subject: String,
    /// Its sequence within the subject.
    pub sequence: i64,
    /// The highest sequence of the subject applied before it.
    pub previous: Option<i64>,
    /// The replica that applied it.
    pub replica: String,
}

/// Reads the effects store.
#[derive(Clone, Debug)]
pub struct Effects {
    pool: LitePool,
}

impl Effects {
    /// Opens the effects store (creating its table if no replica did yet).
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        let store = SqlStore::<Lite>::new(connect_lite(url).await?, "reader");
        store.migrate("testkit", EFFECTS).await?;
        Ok(Self {
            pool: store.pool().clone(),
        })
    }

    /// Every effect of `group`, in the order applied.
    pub async fn of(&self, group: &str) -> Vec<Effect> {
        let rows: Vec<(String, String, i64, Option<i64>, String)> = self
            .pool
            .rows(
                "SELECT event_id, subject, sequence, previous, replica FROM effects WHERE grp = ? ORDER BY rowid",
                &[Bind::Text(group)],
                |row| row.try_into(),
            )
            .await
            .expect("effects are readable");
        rows.into_iter()
            .map(|(event_id, subject, sequence, previous, replica)| Effect {
                event_id: event_id.parse().expect("a uuid"),
                subject,
                sequence,
                previous,
                replica,
            })
            .collect()
    }

    /// How many deliveries of `group` handlers saw, redeliveries included.
    pub async fn deliveries(&self, group: &str) -> usize {
        self.counted("SELECT COUNT(*) FROM deliveries WHERE grp = ?", group)
            .await
    }

    /// How many effects `group` applied.
    pub async fn count(&self, group: &str) -> usize {
        self.counted("SELECT COUNT(*) FROM effects WHERE grp = ?", group)
            .await
    }

    async fn counted(&self, sql: &str, group: &str) -> usize {
        let n = self
            .pool
            .integer(sql, &[Bind::Text(group)])
            .await
            .expect("the effects store is readable");
        n.unwrap_or(0) as usize
    }
}
