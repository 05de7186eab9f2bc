//! The transactional outbox relay: publishes committed outbox rows to the bus, in order, and marks
//! them.
//!
//! A crash before publishing leaves the rows unpublished and the next relay publishes them; a crash
//! after publishing and before marking publishes them again with the same event ids, which the bus
//! and every consumer's inbox recognise. Either way nothing is lost and nothing is applied twice.

use crate::bus::{Bus, RelayPermit};
use crate::crash;
use crate::envelope::Envelope;
use crate::metrics::Metrics;
use crate::trace::{Span, SpanKind};
use async_trait::async_trait;
use serde::Deserialize;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// A store with an outbox the relay can drain.
#[async_trait]
pub trait OutboxSource: Send + Sync + 'static {
    /// The producing service.
    fn name(&self) -> &str;
    /// Notified after each commit that appended events.
    fn wake(&self) -> Arc<Notify>;
    /// Takes or renews a named lease for `owner`, so that one relay per store publishes at a time.
    async fn try_lease(&self, lease: &str, owner: &str, ttl: Duration) -> anyhow::Result<bool>;
    /// The oldest unpublished rows, in commit order of each aggregate.
    async fn unpublished(&self, limit: u32) -> anyhow::Result<Vec<(i64, Envelope)>>;
    /// Marks exactly these rows published.
    async fn mark_published(&self, positions: &[i64]) -> anyhow::Result<()>;
    /// How many rows wait to be published.
    async fn backlog(&self) -> anyhow::Result<u64>;
    /// Deletes published outbox rows and inbox records older than the cut-off.
    async fn purge(&self, before_millis: i64) -> anyhow::Result<()>;
}

/// Tuning of the relay.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RelaySettings {
    /// Rows published per round.
    pub batch: u32,
    /// How often to look for rows committed by other processes, in milliseconds.
    pub poll_ms: u64,
    /// Lifetime of the relay lease, in milliseconds.
    pub lease_ms: u64,
    /// How long published outbox rows and inbox records are kept, in hours.
    pub retention_hours: u64,
    /// After publishing several events but less than a full batch (busy), how long to let
    /// commits gather before the next round, in milliseconds (0: publish each as it commits).
    pub coalesce_ms: u64,
}

impl Default for RelaySettings {
    fn default() -> Self {
        Self {
            batch: 256,
            poll_ms: 100,
            lease_ms: 5_000,
            retention_hours: 72,
            coalesce_ms: 0,
        }
    }
}

/// Drains one store's outbox into the bus.
pub struct Relay {
    source: Arc<dyn OutboxSource>,
    bus: Arc<dyn Bus>,
    owner: String,
    settings: RelaySettings,
    metrics: Metrics,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("source", &self.source.name())
            .finish()
    }
}

impl Relay {
    /// A relay for `source` identified as `owner` (unique per process).
    pub fn new(
        source: Arc<dyn OutboxSource>,
        bus: Arc<dyn Bus>,
        owner: &str,
        settings: RelaySettings,
        metrics: Metrics,
    ) -> Self {
        Self {
            source,
            bus,
            owner: owner.to_owned(),
            settings,
            metrics,
        }
    }

    /// Publishes until `stop`, then makes one last pass so that committed events leave with it.
    pub async fn run(self, stop: CancellationToken) {
        let wake = self.source.wake();
        let lease_ttl = Duration::from_millis(self.settings.lease_ms);
        let renew_every = lease_ttl / 3;
        let poll = Duration::from_millis(self.settings.poll_ms);
        let mut holding = false;
        let mut lease_checked: Option<Instant> = None;
        let mut purged = Instant::now();
        let mut failures = 0u32;
        loop {
            if stop.is_cancelled() {
                if holding {
                    while let Ok(n) = self.pass().await {
                        if n == 0 {
                            break;
                        }
                    }
                    // Hand the lease over now rather than when it expires, so that the process
                    // replacing this one (a restart, a rollout) publishes at once.
                    let _ = self
                        .source
                        .try_lease("relay", &self.owner, Duration::ZERO)
                        .await;
                }
                return;
            }
            if lease_checked.is_none_or(|at| at.elapsed() >= renew_every) {
                holding = match self.source.try_lease("relay", &self.owner, lease_ttl).await {
                    Ok(held) => held,
                    Err(error) => {
                        tracing::warn!(
                            error = format!("{error:#}"),
                            "relay cannot reach its lease"
                        );
                        false
                    }
                };
                lease_checked = Some(Instant::now());
                if let Ok(backlog) = self.source.backlog().await {
                    self.metrics.set(
                        "outbox_backlog",
                        "Events committed to the outbox and not yet published.",
                        &[],
                        backlog as f64,
                    );
                }
                if holding && purged.elapsed() > Duration::from_secs(600) {
                    let cutoff = crate::clock::now_millis()
                        - (self.settings.retention_hours * 3_600_000) as i64;
                    if let Err(error) = self.source.purge(cutoff).await {
                        tracing::warn!(error = format!("{error:#}"), "cannot purge the outbox");
                    }
                    purged = Instant::now();
                }
            }
            if !holding {
                tokio::select! {
                    _ = stop.cancelled() => {}
                    _ = tokio::time::sleep(renew_every) => {}
                }
                continue;
            }
            match self.pass().await {
                Ok(0) => {
                    failures = 0;
                    tokio::select! {
                        _ = stop.cancelled() => {}
                        _ = wake.notified() => {}
                        _ = tokio::time::sleep(poll) => {}
                    }
                }
                Ok(published) => {
                    failures = 0;
                    // Several events but a part batch: busy, and drained for now. Letting the
                    // commits of a moment gather makes one bus transaction (and one marking) of
                    // them instead of one per event; a quiet outbox publishes each at once.
                    if published > 1
                        && published < self.settings.batch as usize
                        && self.settings.coalesce_ms > 0
                    {
                        tokio::select! {
                            _ = stop.cancelled() => {}
                            _ = tokio::time::sleep(Duration::from_millis(self.settings.coalesce_ms)) => {}
                        }
                    }
                }
                Err(error) => {
                    failures += 1;
                    let backoff = Duration::from_millis((50u64 << failures.min(7)).min(5_000));
                    tracing::warn!(
                        error = format!("{error:#}"),
                        ?backoff,
                        "relay cannot publish"
                    );
                    tokio::select! {
                        _ = stop.cancelled() => {}
                        _ = tokio::time::sleep(backoff) => {}
                    }
                }
            }
        }
    }

    /// Publishes one batch; returns how many events it published.
    async fn pass(&self) -> anyhow::Result<usize> {
        let rows = self.source.unpublished(self.settings.batch).await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let (positions, envelopes): (Vec<i64>, Vec<Envelope>) = rows.into_iter().unzip();
        let mut spans = publish_spans(&envelopes);
        crash::point(crash::RELAY_BEFORE_PUBLISH);
        if let Err(error) = self.bus.publish(RelayPermit::new(), &envelopes).await {
            spans
                .iter_mut()
                .for_each(|span| span.fail(format!("{error:#}")));
            return Err(error);
        }
        spans.into_iter().for_each(Span::end);
        crash::point(crash::RELAY_AFTER_PUBLISH);
        self.source.mark_published(&positions).await?;
        self.metrics.increment(
            "events_published_total",
            "Events the relay published to the bus.",
            &[],
            envelopes.len() as u64,
        );
        Ok(envelopes.len())
    }
}

/// A producer span per traced event, in the trace of the work that appended it (a sibling of
/// its consumers' spans); none when nothing exports.
fn publish_spans(envelopes: &[Envelope]) -> Vec<Span> {
    if !crate::trace::enabled() {
        return Vec::new();
    }
    envelopes
        .iter()
        .filter(|envelope| envelope.traceparent.is_some())
        .map(|envelope| {
            let mut span = Span::start(SpanKind::Producer, envelope.traceparent.as_deref(), || {
                format!("publish {}", envelope.event_type)
            });
            span.set("messaging.operation.type", "publish");
            span.set("messaging.message.id", envelope.id.to_string());
            span.set("cloudevents.event_type", envelope.event_type.as_str());
            span.set("cloudevents.event_source", envelope.source.as_str());
            span.set("cloudevents.event_subject", envelope.subject.as_str());
            span
        })
        .collect()
}
