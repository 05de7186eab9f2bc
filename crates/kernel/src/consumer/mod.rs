//! The consumer runtime: a replica of a consumer group takes its share of the partitions through
//! leases, reads each owned partition in order, runs the handler with retries and backoff, parks
//! what keeps failing as a dead letter, and acknowledges only after the handler's transaction
//! committed.
//!
//! Partitions are assigned by sorting the live members and giving partition `p` to member
//! `p mod n`. A replica releases a partition only once the member it belongs to is alive, and a
//! dead replica's leases expire, so its partitions move to the survivors without anyone agreeing
//! on anything but the lease records.

use crate::bus::{Bus, Delivery, PartitionReader};
use crate::context::{self, WorkContext};
use crate::crash;
use crate::deadletter::DeadLetterStore;
use crate::envelope::Envelope;
use crate::metrics::Metrics;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

mod delivery;

/// Why a handler did not handle an event.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// Worth retrying (a store that is down, a lock timeout).
    #[error(transparent)]
    Transient(anyhow::Error),
    /// Will fail the same way every time (a payload that breaks the contract): parked at once.
    #[error(transparent)]
    Permanent(anyhow::Error),
}

impl From<anyhow::Error> for HandleError {
    /// A payload that breaks its contract will break it on every attempt: permanent. Anything
    /// else is worth retrying.
    fn from(error: anyhow::Error) -> Self {
        if error
            .downcast_ref::<crate::envelope::EnvelopeError>()
            .is_some()
        {
            HandleError::Permanent(error)
        } else {
            HandleError::Transient(error)
        }
    }
}

impl From<crate::envelope::EnvelopeError> for HandleError {
    fn from(error: crate::envelope::EnvelopeError) -> Self {
        HandleError::Permanent(error.into())
    }
}

/// Whether `error` says that a store or server could not be reached, not that anything is wrong
/// with the event: the connection broke or was refused, the pool timed out. Such a failure does
/// not count against the event's attempts: the consumer keeps retrying (its lag grows, which
/// monitoring watches) instead of parking a good event because its store was down for longer than
/// the retries last. Anything else keeps counting.
pub(crate) fn unavailable(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        if let Some(error) = cause.downcast_ref::<sqlx::Error>() {
            return matches!(
                error,
                sqlx::Error::Io(_)
                    | sqlx::Error::Tls(_)
                    | sqlx::Error::Protocol(_)
                    | sqlx::Error::PoolTimedOut
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::WorkerCrashed
            );
        }
        if let Some(error) = cause.downcast_ref::<redis::RedisError>() {
            return error.is_io_error()
                || error.is_connection_refusal()
                || error.is_connection_dropped()
                || error.is_timeout();
        }
        cause.downcast_ref::<std::io::Error>().is_some()
    })
}

/// A policy that reacts to events. It must make its effect exactly once, by recording the event
/// in its inbox in the same transaction as the effect (see [`crate::sql::SqlStore::begin_handling`]).
#[async_trait]
pub trait EventHandler: Send + Sync + 'static {
    /// Handles one event.
    async fn handle(&self, event: &Envelope) -> Result<(), HandleError>;
}

/// Tuning of the consumer runtime.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsumerSettings {
    /// Attempts before a delivery is parked as a dead letter.
    pub max_attempts: u32,
    /// Backoff after the first failed attempt, in milliseconds; it doubles up to `max_backoff_ms`.
    pub backoff_ms: u64,
    /// Longest backoff between attempts, in milliseconds.
    pub max_backoff_ms: u64,
    /// How often a replica heartbeats and rebalances, in milliseconds.
    pub heartbeat_ms: u64,
    /// How long a replica's membership and leases outlive its last heartbeat, in milliseconds.
    pub lease_ms: u64,
}

impl Default for ConsumerSettings {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            backoff_ms: 200,
            max_backoff_ms: 10_000,
            heartbeat_ms: 1_000,
            lease_ms: 5_000,
        }
    }
}

/// What one consumer group reads and how it reacts.
#[derive(Clone)]
pub struct Subscription {
    /// The group: replicas with the same group share the work; each group gets every event.
    pub group: String,
    /// Event types the handler wants; others are acknowledged without running it. Empty: all.
    pub types: Vec<String>,
    /// The policy.
    pub handler: Arc<dyn EventHandler>,
    /// Where deliveries that keep failing go.
    pub dead_letters: Arc<dyn DeadLetterStore>,
}

impl Subscription {
    fn wants(&self, event_type: &str) -> bool {
        self.types.is_empty() || self.types.iter().any(|t| t == event_type)
    }
}

/// What a dead-letter replay did.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ReplayOutcome {
    /// The handler succeeded; the dead letter is marked replayed.
    Replayed,
    /// It was replayed before.
    AlreadyReplayed,
    /// No dead letter has that id.
    NotFound,
    /// The handler failed again; the dead letter stays parked.
    Failed {
        /// The handler's error.
        error: String,
    },
}

/// A snapshot of a replica, for status pages.
#[derive(Clone, Debug, Default, Serialize)]
pub struct GroupStatus {
    /// The group.
    pub group: String,
    /// This replica's member id.
    pub member: String,
    /// Live members last seen.
    pub members: Vec<String>,
    /// Partitions this replica reads.
    pub partitions: Vec<u32>,
    /// Unacknowledged messages per owned partition, last measured.
    pub lag: BTreeMap<u32, u64>,
    /// Whether an operator paused this replica.
    pub paused: bool,
}

/// An event a group handled, for the live event view.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecentEvent {
    /// Event id.
    pub id: String,
    /// Event type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The correlation key.
    pub subject: String,
    /// Producing service.
    pub source: String,
    /// When it was committed (RFC 3339 in JSON).
    #[serde(with = "time::serde::rfc3339")]
    pub time: time::OffsetDateTime,
    /// When this group handled it (RFC 3339 in JSON).
    #[serde(with = "time::serde::rfc3339")]
    pub handled_at: time::OffsetDateTime,
    /// The group.
    pub group: String,
}

/// Events remembered per group for the live view.
const RECENT: usize = 100;

struct Worker {
    stop: CancellationToken,
    handle: JoinHandle<()>,
    renewed: Instant,
}

/// One replica of a consumer group.
pub struct ConsumerGroup {
    bus: Arc<dyn Bus>,
    subscription: Subscription,
    settings: ConsumerSettings,
    metrics: Metrics,
    member: String,
    status: Arc<Mutex<GroupStatus>>,
    paused: AtomicBool,
    nudge: tokio::sync::Notify,
    recent: Mutex<std::collections::VecDeque<RecentEvent>>,
}

impl std::fmt::Debug for ConsumerGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsumerGroup")
            .field("group", &self.subscription.group)
            .field("member", &self.member)
            .finish()
    }
}

/// A member id unique across processes and restarts.
pub fn new_member_id() -> String {
    format!("m{}-{:08x}", std::process::id(), fastrand::u32(..))
}

impl ConsumerGroup {
    /// A replica of `subscription.group` on `bus`.
    pub fn new(
        bus: Arc<dyn Bus>,
        subscription: Subscription,
        settings: ConsumerSettings,
        metrics: Metrics,
    ) -> Arc<Self> {
        let member = new_member_id();
        let status = GroupStatus {
            group: subscription.group.clone(),
            member: member.clone(),
            ..Default::default()
        };
        Arc::new(Self {
            bus,
            subscription,
            settings,
            metrics,
            member,
            status: Arc::new(Mutex::new(status)),
            paused: AtomicBool::new(false),
            nudge: tokio::sync::Notify::new(),
            recent: Mutex::new(std::collections::VecDeque::with_capacity(RECENT)),
        })
    }

    /// The events this replica handled last, newest first.
    pub fn recent(&self) -> Vec<RecentEvent> {
        self.recent
            .lock()
            .expect("recent lock")
            .iter()
            .rev()
            .cloned()
            .collect()
    }

    fn remember(&self, envelope: &Envelope) {
        let mut recent = self.recent.lock().expect("recent lock");
        if recent.len() == RECENT {
            recent.pop_front();
        }
        recent.push_back(RecentEvent {
            id: envelope.id.to_string(),
            event_type: envelope.event_type.clone(),
            subject: envelope.subject.clone(),
            source: envelope.source.clone(),
            time: envelope.time,
            handled_at: time::OffsetDateTime::now_utc(),
            group: self.subscription.group.clone(),
        });
    }

    /// Stops consuming (in-flight handlers finish, partitions go to other replicas) until
    /// [`Self::resume`]; the service keeps answering requests meanwhile. Returns once this
    /// replica has stopped reading (or after `patience`).
    pub async fn pause(&self, patience: Duration) {
        self.paused.store(true, Ordering::SeqCst);
        self.nudge.notify_one();
        let deadline = Instant::now() + patience;
        while !self.status().paused && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Consumes again after [`Self::pause`].
    pub fn resume(&self) {
        self.paused.store(false, Ordering::SeqCst);
        self.nudge.notify_one();
    }

    /// The group name.
    pub fn group(&self) -> &str {
        &self.subscription.group
    }

    /// What this replica is doing.
    pub fn status(&self) -> GroupStatus {
        self.status.lock().expect("status lock").clone()
    }

    /// The dead letters of this group.
    pub fn dead_letters(&self) -> &Arc<dyn DeadLetterStore> {
        &self.subscription.dead_letters
    }

    /// Runs the replica until `stop`; then finishes in-flight handlers, gives back its
    /// partitions and leaves the group.
    pub async fn run(self: Arc<Self>, stop: CancellationToken) {
        let coordinator = self.bus.coordinator();
        let group = self.subscription.group.clone();
        let ttl = Duration::from_millis(self.settings.lease_ms);
        let mut ticker = tokio::time::interval(Duration::from_millis(self.settings.heartbeat_ms));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut workers: HashMap<u32, Worker> = HashMap::new();
        let mut last_lag = Instant::now() - Duration::from_secs(3600);
        let mut left = false;
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = ticker.tick() => {}
                _ = self.nudge.notified() => {}
            }
            workers.retain(|partition, worker| {
                let alive = !worker.handle.is_finished();
                if !alive {
                    tracing::warn!(group, partition, "partition worker ended; restarting it");
                }
                alive
            });
            if self.paused.load(Ordering::SeqCst) {
                if !left {
                    let owned: Vec<u32> = workers.keys().copied().collect();
                    for (_, worker) in workers.drain() {
                        stop_worker(worker).await;
                    }
                    for partition in owned {
                        let _ = coordinator.release(&group, partition, &self.member).await;
                    }
                    let _ = coordinator.leave(&group, &self.member).await;
                    left = true;
                    tracing::warn!(group, "consumer paused");
                }
                let mut status = self.status.lock().expect("status lock");
                status.partitions.clear();
                status.paused = true;
                continue;
            }
            if left {
                left = false;
                tracing::warn!(group, "consumer resumed");
            }
            let members = match coordinator.heartbeat(&group, &self.member, ttl).await {
                Ok(members) if !members.is_empty() => members,
                Ok(_) => vec![self.member.clone()],
                Err(error) => {
                    tracing::warn!(group, error = format!("{error:#}"), "heartbeat failed");
                    // Leases we cannot renew will be taken by others: stop before they do.
                    let stale: Vec<u32> = workers
                        .iter()
                        .filter(|(_, w)| w.renewed.elapsed() > ttl * 3 / 4)
                        .map(|(p, _)| *p)
                        .collect();
                    for partition in stale {
                        if let Some(worker) = workers.remove(&partition) {
                            stop_worker(worker).await;
                        }
                    }
                    continue;
                }
            };
            self.rebalance(&members, &mut workers, &stop, ttl).await;
            self.report(&members, &workers, &mut last_lag).await;
        }
        let partitions: Vec<u32> = workers.keys().copied().collect();
        for (_, worker) in workers.drain() {
            stop_worker(worker).await;
        }
        for partition in partitions {
            let _ = coordinator.release(&group, partition, &self.member).await;
        }
        let _ = coordinator.leave(&group, &self.member).await;
        self.status.lock().expect("status lock").partitions.clear();
    }

    /// Takes the partitions the live `members` give this replica and hands over the others:
    /// starts a worker per newly owned partition, stops the workers of partitions lost or handed
    /// over, renews the leases of the rest.
    async fn rebalance(
        self: &Arc<Self>,
        members: &[String],
        workers: &mut HashMap<u32, Worker>,
        stop: &CancellationToken,
        ttl: Duration,
    ) {
        let coordinator = self.bus.coordinator();
        let group = self.subscription.group.clone();
        let owner_of = |partition: u32| &members[partition as usize % members.len()];
        for partition in 0..self.bus.partitions() {
            let desired = owner_of(partition);
            let mine = *desired == self.member;
            let owned = workers.contains_key(&partition);
            if !mine && !owned {
                continue;
            }
            if owned && !mine {
                // Hand it over to the live member it belongs to.
                if let Some(worker) = workers.remove(&partition) {
                    stop_worker(worker).await;
                }
                let _ = coordinator.release(&group, partition, &self.member).await;
                continue;
            }
            match coordinator
                .acquire(&group, partition, &self.member, ttl)
                .await
            {
                Ok(true) => match workers.get_mut(&partition) {
                    Some(worker) => worker.renewed = Instant::now(),
                    None => {
                        let worker_stop = stop.child_token();
                        let handle =
                            tokio::spawn(self.clone().work(partition, worker_stop.clone()));
                        workers.insert(
                            partition,
                            Worker {
                                stop: worker_stop,
                                handle,
                                renewed: Instant::now(),
                            },
                        );
                    }
                },
                Ok(false) => {
                    if let Some(worker) = workers.remove(&partition) {
                        tracing::warn!(group, partition, "lost a partition lease");
                        stop_worker(worker).await;
                    }
                }
                Err(error) => {
                    tracing::warn!(
                        group,
                        partition,
                        error = format!("{error:#}"),
                        "cannot renew a lease"
                    );
                    if workers
                        .get(&partition)
                        .is_some_and(|w| w.renewed.elapsed() > ttl * 3 / 4)
                        && let Some(worker) = workers.remove(&partition)
                    {
                        stop_worker(worker).await;
                    }
                }
            }
        }
    }

    /// Publishes the members and owned partitions on the status page, and every two seconds the
    /// lag of each owned partition and the parked dead letters as metrics.
    async fn report(
        &self,
        members: &[String],
        workers: &HashMap<u32, Worker>,
        last_lag: &mut Instant,
    ) {
        let group = &self.subscription.group;
        let mut owned: Vec<u32> = workers.keys().copied().collect();
        owned.sort_unstable();
        let measure_lag = last_lag.elapsed() >= Duration::from_secs(2);
        let mut lag = BTreeMap::new();
        if measure_lag {
            *last_lag = Instant::now();
            for partition in &owned {
                if let Ok(n) = self.bus.lag(group, *partition).await {
                    lag.insert(*partition, n);
                    self.metrics.set(
                        "consumer_lag",
                        "Events of an owned partition the group has not acknowledged yet.",
                        &[("group", group), ("partition", &partition.to_string())],
                        n as f64,
                    );
                }
            }
            if let Ok(parked) = self.subscription.dead_letters.parked().await {
                self.metrics.set(
                    "dead_letters",
                    "Dead letters waiting for a replay.",
                    &[("group", group)],
                    parked as f64,
                );
            }
        }
        let mut status = self.status.lock().expect("status lock");
        status.paused = false;
        status.members = members.to_vec();
        status.partitions = owned;
        if measure_lag {
            status.lag = lag;
        }
    }
}

async fn stop_worker(worker: Worker) {
    worker.stop.cancel();
    let _ = worker.handle.await;
}
