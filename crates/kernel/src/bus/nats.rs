//! The production bus: NATS JetStream (compatible with NATS 2.9, what Debian ships).
//!
//! One stream per system (`ROAMING`, subjects `roaming.>`); an event is stored under
//! `<system>.p<NN>.<service>.<event>.v<N>` where `NN` is its subject's partition; every group has a
//! durable pull consumer per partition (`<group>_p<NN>`, filter `<system>.p<NN>.>`) with explicit
//! acks and up to [`IN_FLIGHT`] unacknowledged messages. A reader handles them one at a time in
//! stream order and acknowledges each after its commit, so acknowledgements never leave a gap; a
//! reader that opens a consumer still holding another reader's unacknowledged messages (a
//! handover, a killed replica) recreates it from its acknowledgement floor, so those come again
//! first and in order instead of after newer ones once their deadline passes. A stopped reader's
//! pull requests deliver nothing more: the server drops a request whose reply subject lost its
//! subscriber (unsubscribed when the reader's stream is dropped, before its lease is released;
//! gone with the connection of a killed replica). Publishes carry `Nats-Msg-Id` = event id, so a
//! republished event is dropped by the broker within its duplicate window. Group membership and
//! partition leases live in a JetStream key-value bucket.

use super::{
    AckHandle, Bus, BusSettings, Coordinator, Delivery, LeaseRecord, PartitionReader, RelayPermit,
    partition_of,
};
use crate::clock::now_millis;
use crate::envelope::{Envelope, EventType};
use anyhow::{Context as _, anyhow};
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, pull};
use async_nats::jetstream::message::AckKind;
use async_nats::jetstream::{self, kv, stream};
use async_trait::async_trait;
use futures_util::StreamExt as _;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// Unacknowledged messages a partition's consumer may have out at once. One at a time costs a
/// round trip to the server per event (`msa bench bus`: 0.12–0.18 of a raw JetStream loop with 8
/// partitions); order holds either way (see the module's note).
const IN_FLIGHT: i64 = 128;

/// The JetStream bus.
pub struct NatsBus {
    client: async_nats::Client,
    js: jetstream::Context,
    stream_name: String,
    prefix: String,
    partitions: u32,
    ack_wait: Duration,
    url: String,
    coordinator: Arc<NatsCoordinator>,
}

impl std::fmt::Debug for NatsBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// A consumer or key name made only of characters NATS accepts there.
fn token(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Gets the stream `config` names, creating it if it is missing. A system's services start at
/// once and each makes sure its streams exist; when two create the same stream together, NATS
/// 2.9 may answer the second with "subjects overlap with an existing stream" (the first one's),
/// so a failed creation looks again for the stream before it is an error (a few times, briefly).
async fn ensure_stream(js: &jetstream::Context, config: stream::Config) -> anyhow::Result<()> {
    let name = config.name.clone();
    let mut attempt = 0u64;
    loop {
        let error = match js.get_or_create_stream(config.clone()).await {
            Ok(_) => return Ok(()),
            Err(e) => e,
        };
        if js.get_stream(&name).await.is_ok() {
            return Ok(());
        }
        attempt += 1;
        if attempt == 5 {
            return Err(error.into());
        }
        tokio::time::sleep(Duration::from_millis(20 * attempt)).await;
    }
}

impl NatsBus {
    /// Connects and makes sure the stream and the lease bucket exist.
    pub async fn connect(settings: &BusSettings) -> anyhow::Result<Self> {
        let url = settings.url.clone();
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(5))
            .name("msa")
            .connect(url.as_str())
            .await
            .with_context(|| {
                format!("cannot connect to NATS at {}", crate::config::redact(&url))
            })?;
        let js = jetstream::new(client.clone());
        let stream_name = token(&settings.system).to_ascii_uppercase();
        let prefix = settings.system.clone();
        ensure_stream(
            &js,
            stream::Config {
                name: stream_name.clone(),
                subjects: vec![format!("{prefix}.>")],
                storage: stream::StorageType::File,
                retention: stream::RetentionPolicy::Limits,
                duplicate_window: Duration::from_secs(120),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| anyhow!("cannot create JetStream stream {stream_name}: {e}"))?;
        let bucket = format!("{stream_name}_leases");
        let kv = match js.get_key_value(&bucket).await {
            Ok(kv) => kv,
            Err(_) => {
                // The client's own bucket creation asks for account details in a shape NATS 2.9
                // does not answer with, so the bucket's stream is created the way KV defines it.
                ensure_stream(
                    &js,
                    stream::Config {
                        name: format!("KV_{bucket}"),
                        subjects: vec![format!("$KV.{bucket}.>")],
                        max_messages_per_subject: 1,
                        discard: stream::DiscardPolicy::New,
                        allow_rollup: true,
                        deny_delete: true,
                        allow_direct: true,
                        storage: stream::StorageType::File,
                        num_replicas: 1,
                        ..Default::default()
                    },
                )
                .await
                .map_err(|e| anyhow!("cannot create the lease bucket {bucket}: {e}"))?;
                js.get_key_value(&bucket)
                    .await
                    .map_err(|e| anyhow!("cannot open the lease bucket {bucket}: {e}"))?
            }
        };
        Ok(Self {
            client,
            js,
            stream_name,
            prefix,
            partitions: settings.partitions,
            ack_wait: Duration::from_millis(settings.ack_wait_ms),
            url,
            coordinator: Arc::new(NatsCoordinator { kv }),
        })
    }

    fn subject_of(&self, event: &Envelope) -> anyhow::Result<String> {
        let parsed = EventType::parse(&event.event_type)?;
        let partition = partition_of(&event.subject, self.partitions);
        Ok(format!(
            "{}.p{partition:02}.{}.{}.v{}",
            self.prefix, parsed.service, parsed.event, parsed.version
        ))
    }

    fn durable(group: &str, partition: u32) -> String {
        format!("{}_p{partition:02}", token(group))
    }
}

#[async_trait]
impl Bus for NatsBus {
    fn partitions(&self) -> u32 {
        self.partitions
    }

    async fn publish(&self, _permit: RelayPermit, events: &[Envelope]) -> anyhow::Result<()> {
        // Publishes are pipelined, but two events of one subject are never in flight together:
        // if the first failed after the second was stored, the retry would land after it.
        let mut rest = events;
        while !rest.is_empty() {
            let mut subjects = HashSet::new();
            let wave_len = rest
                .iter()
                .take_while(|event| subjects.insert(event.subject.as_str()))
                .count();
            let (wave, remaining) = rest.split_at(wave_len);
            let mut acks = Vec::with_capacity(wave.len());
            for event in wave {
                let mut headers = async_nats::HeaderMap::new();
                headers.insert("Nats-Msg-Id", event.id.to_string().as_str());
                let ack = self
                    .js
                    .publish_with_headers(self.subject_of(event)?, headers, event.to_json().into())
                    .await
                    .map_err(|e| anyhow!("cannot publish {} to JetStream: {e}", event.id))?;
                acks.push(ack);
            }
            for ack in acks {
                ack.await
                    .map_err(|e| anyhow!("JetStream did not confirm a publish: {e}"))?;
            }
            rest = remaining;
        }
        Ok(())
    }

    async fn open(
        &self,
        group: &str,
        partition: u32,
        _types: &[String],
    ) -> anyhow::Result<Box<dyn PartitionReader>> {
        let stream = self
            .js
            .get_stream(&self.stream_name)
            .await
            .map_err(|e| anyhow!("cannot find stream {}: {e}", self.stream_name))?;
        let durable = Self::durable(group, partition);
        let config = |deliver_policy| pull::Config {
            durable_name: Some(durable.clone()),
            filter_subject: format!("{}.p{partition:02}.>", self.prefix),
            ack_policy: AckPolicy::Explicit,
            deliver_policy,
            ack_wait: self.ack_wait,
            max_ack_pending: IN_FLIGHT,
            max_deliver: -1,
            ..Default::default()
        };
        let mut consumer: async_nats::jetstream::consumer::Consumer<pull::Config> = stream
            .get_or_create_consumer(&durable, config(DeliverPolicy::All))
            .await
            .map_err(|e| anyhow!("cannot create consumer {durable}: {e}"))?;
        let info = consumer.cached_info();
        if info.num_ack_pending > 0 {
            // Another reader's messages are still out (it stopped, was killed, or lost the
            // partition): left alone they would come again only once their deadline passed,
            // after newer ones. Everything after the acknowledgement floor comes again, in order;
            // what was handled already is recognised by the inbox.
            let start_sequence = info.ack_floor.stream_sequence + 1;
            tracing::info!(
                consumer = durable,
                pending = info.num_ack_pending,
                start_sequence,
                "taking over a partition with unacknowledged messages; reading again from its acknowledgement floor"
            );
            stream
                .delete_consumer(&durable)
                .await
                .map_err(|e| anyhow!("cannot reset consumer {durable}: {e}"))?;
            consumer = stream
                .create_consumer(config(DeliverPolicy::ByStartSequence { start_sequence }))
                .await
                .map_err(|e| anyhow!("cannot recreate consumer {durable}: {e}"))?;
        }
        let messages = consumer
            .stream()
            .max_messages_per_batch(IN_FLIGHT as usize / 2)
            .heartbeat(Duration::from_secs(5))
            .expires(Duration::from_secs(30))
            .messages()
            .await
            .map_err(|e| anyhow!("cannot read consumer {durable}: {e}"))?;
        Ok(Box::new(NatsReader { messages }))
    }

    fn coordinator(&self) -> Arc<dyn Coordinator> {
        self.coordinator.clone()
    }

    async fn lag(&self, group: &str, partition: u32) -> anyhow::Result<u64> {
        let stream = self
            .js
            .get_stream(&self.stream_name)
            .await
            .map_err(|e| anyhow!("cannot find stream {}: {e}", self.stream_name))?;
        match stream.consumer_info(Self::durable(group, partition)).await {
            Ok(info) => Ok(info.num_pending + info.num_ack_pending as u64),
            Err(_) => Ok(0),
        }
    }

    async fn check(&self) -> anyhow::Result<()> {
        match self.client.connection_state() {
            async_nats::connection::State::Connected => Ok(()),
            state => Err(anyhow!("NATS connection is {state:?}")),
        }
    }

    async fn delete_group(&self, group: &str) -> anyhow::Result<()> {
        let stream = self
            .js
            .get_stream(&self.stream_name)
            .await
            .map_err(|e| anyhow!("cannot find stream {}: {e}", self.stream_name))?;
        for partition in 0..self.partitions {
            let _ = stream
                .delete_consumer(&Self::durable(group, partition))
                .await;
            let _ = self
                .coordinator
                .kv
                .purge(format!("{}.p.{partition:02}", token(group)))
                .await;
        }
        Ok(())
    }

    fn describe(&self) -> String {
        format!(
            "NATS JetStream {} (stream {}, {} partitions)",
            crate::config::redact(&self.url),
            self.stream_name,
            self.partitions
        )
    }
}

struct NatsReader {
    messages: pull::Stream,
}

fn message_of(delivery: &Delivery) -> anyhow::Result<&jetstream::Message> {
    match &delivery.ack {
        AckHandle::Nats(message) => Ok(message),
        AckHandle::Local => Err(anyhow!("a local delivery given to the NATS reader")),
    }
}

#[async_trait]
impl PartitionReader for NatsReader {
    async fn next(&mut self) -> anyhow::Result<Delivery> {
        match self.messages.next().await {
            Some(Ok(message)) => {
                let position = message
                    .info()
                    .map(|i| i.stream_sequence)
                    .unwrap_or_default();
                let payload = message.payload.clone();
                Ok(Delivery::new(
                    payload,
                    position,
                    AckHandle::Nats(Box::new(message)),
                ))
            }
            Some(Err(error)) => Err(anyhow!("JetStream delivery failed: {error}")),
            None => Err(anyhow!("the JetStream consumer closed")),
        }
    }

    async fn ack(&mut self, delivery: &Delivery) -> anyhow::Result<()> {
        message_of(delivery)?
            .ack()
            .await
            .map_err(|e| anyhow!("cannot ack: {e}"))
    }

    async fn in_progress(&mut self, delivery: &Delivery) -> anyhow::Result<()> {
        message_of(delivery)?
            .ack_with(AckKind::Progress)
            .await
            .map_err(|e| anyhow!("cannot extend the ack deadline: {e}"))
    }

    async fn release(&mut self, delivery: &Delivery) -> anyhow::Result<()> {
        message_of(delivery)?
            .ack_with(AckKind::Nak(None))
            .await
            .map_err(|e| anyhow!("cannot give the delivery back: {e}"))
    }
}

struct NatsCoordinator {
    kv: kv::Store,
}

impl NatsCoordinator {
    async fn read(&self, key: &str) -> anyhow::Result<Option<(LeaseRecord, u64)>> {
        let entry = self
            .kv
            .entry(key)
            .await
            .map_err(|e| anyhow!("cannot read lease {key}: {e}"))?;
        Ok(entry.map(|entry| {
            let record = match entry.operation {
                kv::Operation::Put => serde_json::from_slice(&entry.value).unwrap_or(LeaseRecord {
                    owner: String::new(),
                    expires_at: 0,
                }),
                _ => LeaseRecord {
                    owner: String::new(),
                    expires_at: 0,
                },
            };
            (record, entry.revision)
        }))
    }

    async fn write(&self, key: &str, record: &LeaseRecord, revision: Option<u64>) -> bool {
        let value = serde_json::to_vec(record).expect("a lease serializes");
        match revision {
            None => self.kv.create(key, value.into()).await.is_ok(),
            Some(revision) => self.kv.update(key, value.into(), revision).await.is_ok(),
        }
    }
}

#[async_trait]
impl Coordinator for NatsCoordinator {
    async fn heartbeat(
        &self,
        group: &str,
        member: &str,
        ttl: Duration,
    ) -> anyhow::Result<Vec<String>> {
        let now = now_millis();
        let group = token(group);
        let record = LeaseRecord {
            owner: member.to_owned(),
            expires_at: now + ttl.as_millis() as i64,
        };
        self.kv
            .put(
                format!("{group}.m.{}", token(member)),
                serde_json::to_vec(&record)
                    .expect("a lease serializes")
                    .into(),
            )
            .await
            .map_err(|e| anyhow!("cannot record the heartbeat: {e}"))?;
        let prefix = format!("{group}.m.");
        let mut keys = self
            .kv
            .keys()
            .await
            .map_err(|e| anyhow!("cannot list group members: {e}"))?;
        let mut members = Vec::new();
        while let Some(key) = keys.next().await {
            let key = key.map_err(|e| anyhow!("cannot list group members: {e}"))?;
            if !key.starts_with(&prefix) {
                continue;
            }
            match self.read(&key).await? {
                Some((record, _)) if record.expires_at >= now => members.push(record.owner),
                Some((record, _)) if record.expires_at + 60_000 < now => {
                    // Long dead: forget it so the key listing stays short.
                    let _ = self.kv.delete(&key).await;
                }
                _ => {}
            }
        }
        members.sort();
        members.dedup();
        Ok(members)
    }

    async fn acquire(
        &self,
        group: &str,
        partition: u32,
        member: &str,
        ttl: Duration,
    ) -> anyhow::Result<bool> {
        let key = format!("{}.p.{partition:02}", token(group));
        let now = now_millis();
        let record = LeaseRecord {
            owner: member.to_owned(),
            expires_at: now + ttl.as_millis() as i64,
        };
        match self.read(&key).await? {
            None => Ok(self.write(&key, &record, None).await),
            Some((current, revision)) if current.owner == member || current.expires_at < now => {
                Ok(self.write(&key, &record, Some(revision)).await)
            }
            Some(_) => Ok(false),
        }
    }

    async fn release(&self, group: &str, partition: u32, member: &str) -> anyhow::Result<()> {
        let key = format!("{}.p.{partition:02}", token(group));
        if let Some((current, revision)) = self.read(&key).await?
            && current.owner == member
        {
            let free = LeaseRecord {
                owner: String::new(),
                expires_at: 0,
            };
            self.write(&key, &free, Some(revision)).await;
        }
        Ok(())
    }

    async fn leave(&self, group: &str, member: &str) -> anyhow::Result<()> {
        self.kv
            .delete(format!("{}.m.{}", token(group), token(member)))
            .await
            .map_err(|e| anyhow!("cannot leave the group: {e}"))
    }
}
