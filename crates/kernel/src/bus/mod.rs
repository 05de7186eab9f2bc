//! The `Bus` port: a partitioned, durable event log with consumer groups, and its two adapters.
//!
//! Events are partitioned by subject (the correlation key), so that every event of one business
//! case lands in one partition. A consumer group splits the partitions among its replicas through
//! leases held in a [`Coordinator`]; one replica at a time reads a partition, in order. This is how
//! per-subject order survives scale-out and failover on both adapters, rather than trusting the
//! broker's redelivery order (JetStream reorders a subject's events between replicas of one
//! durable consumer).

pub mod local;
pub mod nats;

use crate::envelope::Envelope;
use async_trait::async_trait;
use bytes::Bytes;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// Proof that the caller is the outbox relay. Only the kernel can make one, so services cannot
/// publish around their outbox.
#[derive(Debug)]
pub struct RelayPermit(());

impl RelayPermit {
    pub(crate) fn new() -> Self {
        Self(())
    }
}

/// How a reader acknowledges a delivery on its adapter.
#[derive(Debug)]
pub(crate) enum AckHandle {
    Local,
    Nats(Box<async_nats::jetstream::Message>),
}

/// One message read from a partition.
#[derive(Debug)]
pub struct Delivery {
    /// The bytes as stored on the bus.
    pub payload: Bytes,
    /// The decoded envelope, or why the payload is not one.
    pub envelope: Result<Envelope, String>,
    /// The message's position in the stream.
    pub position: u64,
    pub(crate) ack: AckHandle,
}

impl Delivery {
    pub(crate) fn new(payload: Bytes, position: u64, ack: AckHandle) -> Self {
        let envelope = Envelope::from_json(&payload).map_err(|e| e.to_string());
        Self {
            payload,
            envelope,
            position,
            ack,
        }
    }
}

/// Reads one partition for one consumer group, in order.
#[async_trait]
pub trait PartitionReader: Send {
    /// Waits for the next message.
    async fn next(&mut self) -> anyhow::Result<Delivery>;
    /// Records that the group is done with `delivery` (after its effect committed).
    async fn ack(&mut self, delivery: &Delivery) -> anyhow::Result<()>;
    /// Tells the bus the delivery is still being worked on (retries of a slow handler).
    async fn in_progress(&mut self, delivery: &Delivery) -> anyhow::Result<()>;
    /// Gives an unfinished delivery back so that the next owner of the partition gets it at once.
    async fn release(&mut self, delivery: &Delivery) -> anyhow::Result<()>;
    /// Makes every acknowledgement so far durable before the partition changes hands.
    async fn close(&mut self) -> anyhow::Result<()> {
        Ok(())
    }
}

/// Membership and partition leases of consumer groups.
#[async_trait]
pub trait Coordinator: Send + Sync + 'static {
    /// Announces `member` as alive for `ttl`; returns the live members of `group`, sorted.
    async fn heartbeat(
        &self,
        group: &str,
        member: &str,
        ttl: Duration,
    ) -> anyhow::Result<Vec<String>>;
    /// Takes `partition` for `member` if it is free or expired, or renews it if `member` holds it.
    async fn acquire(
        &self,
        group: &str,
        partition: u32,
        member: &str,
        ttl: Duration,
    ) -> anyhow::Result<bool>;
    /// Frees `partition` if `member` holds it.
    async fn release(&self, group: &str, partition: u32, member: &str) -> anyhow::Result<()>;
    /// Removes `member` from `group`.
    async fn leave(&self, group: &str, member: &str) -> anyhow::Result<()>;
}

/// A partitioned event log with consumer groups.
#[async_trait]
pub trait Bus: Send + Sync + 'static {
    /// Number of partitions of the stream.
    fn partitions(&self) -> u32;
    /// Appends `events` durably, keeping the order of events that share a subject. An event id
    /// already on the bus is not appended twice.
    async fn publish(&self, permit: RelayPermit, events: &[Envelope]) -> anyhow::Result<()>;
    /// Opens `partition` for `group`, positioned after the group's last acknowledged message.
    /// An adapter may skip events whose type is not in `types` (empty: all); the consumer
    /// runtime skips them in any case.
    async fn open(
        &self,
        group: &str,
        partition: u32,
        types: &[String],
    ) -> anyhow::Result<Box<dyn PartitionReader>>;
    /// The group membership and lease store that goes with this bus.
    fn coordinator(&self) -> Arc<dyn Coordinator>;
    /// Messages of `partition` that `group` has not acknowledged yet.
    async fn lag(&self, group: &str, partition: u32) -> anyhow::Result<u64>;
    /// Succeeds while the bus is usable.
    async fn check(&self) -> anyhow::Result<()>;
    /// Forgets a consumer group entirely: its position, members and leases (for throw-away groups
    /// such as a read-model rebuild).
    async fn delete_group(&self, group: &str) -> anyhow::Result<()>;
    /// A one-line description for logs and status pages (no credentials).
    fn describe(&self) -> String;
}

/// Which bus to use and how it is laid out.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BusSettings {
    /// `local://path/to/bus.db` (embedded default) or `nats://host:port`.
    pub url: String,
    /// The system, which names the stream and prefixes its subjects; empty: the system part of
    /// the service's name (`<system>/<service>`).
    pub system: String,
    /// Partitions of the stream; every process of a system must agree.
    pub partitions: u32,
    /// NATS only: how long a delivery may stay unacknowledged before redelivery, in milliseconds.
    pub ack_wait_ms: u64,
    /// Local only: how often an idle reader looks for events appended by other processes, in ms.
    pub poll_ms: u64,
    /// Local only: when publishes told a process of several new events at once (a busy bus), how
    /// long it waits before passing on the next ones to its readers, in ms: under load one fetch
    /// per reader covers the events of that moment instead of one each; 0 passes each on at once.
    pub coalesce_ms: u64,
    /// Local only: how long an event that every known group has consumed stays in the hot log
    /// before it moves to a compressed archive segment (still read by new groups and rebuilds),
    /// in ms; 0 keeps every event in the hot log.
    pub retention_ms: u64,
}

impl Default for BusSettings {
    fn default() -> Self {
        Self {
            url: "local://data/bus.db".to_owned(),
            system: String::new(),
            partitions: 8,
            ack_wait_ms: 10_000,
            poll_ms: 100,
            coalesce_ms: 0,
            retention_ms: 6 * 60 * 60 * 1000,
        }
    }
}

impl BusSettings {
    /// These settings for service `service` (`<system>/<service>`): the system, when not set,
    /// is the service's.
    pub fn of_service(&self, service: &str) -> Self {
        let mut settings = self.clone();
        if settings.system.is_empty() {
            settings.system = service.split('/').next().unwrap_or_default().to_owned();
        }
        settings
    }
}

/// Connects to the bus the settings name.
pub async fn connect(settings: &BusSettings) -> anyhow::Result<Arc<dyn Bus>> {
    anyhow::ensure!(
        !settings.system.is_empty(),
        "bus.system is not set: name the system whose stream to use"
    );
    anyhow::ensure!(
        (1..=1024).contains(&settings.partitions),
        "bus.partitions must be between 1 and 1024, not {}",
        settings.partitions
    );
    anyhow::ensure!(
        !settings.system.is_empty()
            && settings
                .system
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'),
        "bus.system must be lower-case letters, digits, '-' or '_', not {:?}",
        settings.system
    );
    if let Some(path) = settings.url.strip_prefix("local://") {
        Ok(Arc::new(local::LocalBus::open(path, settings).await?))
    } else if settings.url.starts_with("nats://") || settings.url.starts_with("tls://") {
        Ok(Arc::new(nats::NatsBus::connect(settings).await?))
    } else {
        anyhow::bail!(
            "bus url {:?} has an unknown scheme; use local://path or nats://host:port",
            settings.url
        )
    }
}

/// The partition of a subject: FNV-1a of its bytes, modulo the partition count. Stable across
/// processes, versions and machines.
pub fn partition_of(subject: &str, partitions: u32) -> u32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in subject.as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash % u64::from(partitions)) as u32
}

/// A lease record as the coordinators store it.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct LeaseRecord {
    pub owner: String,
    pub expires_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_stable_and_spread() {
        assert_eq!(partition_of("r-1", 8), partition_of("r-1", 8));
        let mut seen = std::collections::HashSet::new();
        for i in 0..200 {
            let p = partition_of(&format!("reservation-{i}"), 8);
            assert!(p < 8);
            seen.insert(p);
        }
        assert_eq!(seen.len(), 8);
    }
}
