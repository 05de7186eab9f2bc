//! A consumer group's work on one partition: read in order, run the handler with retries and
//! backoff, park what keeps failing as a dead letter, acknowledge after the commit; and the
//! replay of a dead letter.

use super::*;
use crate::trace::{Span, SpanKind};

impl ConsumerGroup {
    pub(super) async fn work(self: Arc<Self>, partition: u32, stop: CancellationToken) {
        let group = self.subscription.group.clone();
        let mut reader = loop {
            // Opening asks the bus (JetStream: a few API requests), which a loaded server answers
            // slowly: a shutdown does not wait for it.
            let opened = tokio::select! {
                _ = stop.cancelled() => return,
                opened = self.bus.open(&group, partition, &self.subscription.types) => opened,
            };
            match opened {
                Ok(reader) => break reader,
                Err(error) => {
                    tracing::warn!(
                        group,
                        partition,
                        error = format!("{error:#}"),
                        "cannot open partition"
                    );
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            }
        };
        loop {
            let delivery = tokio::select! {
                _ = stop.cancelled() => break,
                delivery = reader.next() => delivery,
            };
            match delivery {
                Ok(delivery) => {
                    if !self.process(reader.as_mut(), delivery, &stop).await {
                        break;
                    }
                }
                Err(error) => {
                    tracing::warn!(
                        group,
                        partition,
                        error = format!("{error:#}"),
                        "cannot read partition"
                    );
                    // Ending the worker lets the next tick reopen the partition from its offset.
                    break;
                }
            }
        }
        if let Err(error) = reader.close().await {
            tracing::warn!(
                group,
                partition,
                error = format!("{error:#}"),
                "cannot close partition"
            );
        }
    }

    fn count(&self, event_type: &str, outcome: &str) {
        self.metrics.increment(
            "events_handled_total",
            "Deliveries by event type and outcome.",
            &[
                ("group", &self.subscription.group),
                ("type", event_type),
                ("outcome", outcome),
            ],
            1,
        );
    }

    /// Runs one delivery to its end; returns false when stopped before finishing it.
    async fn process(
        &self,
        reader: &mut dyn PartitionReader,
        delivery: Delivery,
        stop: &CancellationToken,
    ) -> bool {
        let group = &self.subscription.group;
        let envelope = match &delivery.envelope {
            Ok(envelope) => envelope,
            Err(error) => {
                let payload = String::from_utf8_lossy(&delivery.payload).into_owned();
                self.park(
                    &payload,
                    None,
                    &format!("not a CloudEvents envelope: {error}"),
                    0,
                )
                .await;
                self.count("unknown", "dead_letter");
                self.ack(reader, &delivery).await;
                return true;
            }
        };
        if !self.subscription.wants(&envelope.event_type) {
            self.ack(reader, &delivery).await;
            return true;
        }
        let span = tracing::info_span!(
            "event",
            group = %group,
            event_id = %envelope.id,
            event_type = %envelope.event_type,
            correlation = %envelope.subject,
            trace_id = envelope.traceparent.as_deref().and_then(context::trace_id).unwrap_or_default(),
        );
        // Runs of the handler, and of those the ones that count against the event (see
        // [`super::unavailable`]).
        let mut tries = 0u32;
        let mut attempts = 0u32;
        loop {
            tries += 1;
            attempts += 1;
            let result = self
                .handle_traced(envelope, tries)
                .instrument(span.clone())
                .await;
            if let Err(HandleError::Transient(error)) = &result
                && super::unavailable(error)
            {
                // An outage says nothing about the event.
                attempts -= 1;
            }
            match result {
                Ok(()) => {
                    crash::point(crash::CONSUMER_AFTER_COMMIT);
                    self.ack(reader, &delivery).await;
                    self.remember(envelope);
                    self.count(&envelope.event_type, "handled");
                    let age = time::OffsetDateTime::now_utc() - envelope.time;
                    self.metrics.observe(
                        "event_handling_lag_seconds",
                        "Time from an event's commit to its handling.",
                        &[("group", group)],
                        age.as_seconds_f64().max(0.0),
                    );
                    return true;
                }
                Err(HandleError::Permanent(error)) => {
                    let error = format!("{error:#}");
                    span.in_scope(|| {
                        tracing::error!(error, "handler rejected the event; parking it")
                    });
                    self.park(&envelope.to_json(), Some(envelope), &error, tries)
                        .await;
                    self.count(&envelope.event_type, "dead_letter");
                    self.ack(reader, &delivery).await;
                    return true;
                }
                Err(HandleError::Transient(error)) if attempts >= self.settings.max_attempts => {
                    let error = format!("{error:#}");
                    span.in_scope(|| {
                        tracing::error!(error, attempts, "handler keeps failing; parking the event")
                    });
                    self.park(&envelope.to_json(), Some(envelope), &error, tries)
                        .await;
                    self.count(&envelope.event_type, "dead_letter");
                    self.ack(reader, &delivery).await;
                    return true;
                }
                Err(HandleError::Transient(error)) => {
                    let backoff = self.backoff(tries);
                    span.in_scope(|| {
                        tracing::warn!(
                            error = format!("{error:#}"),
                            tries,
                            attempts,
                            ?backoff,
                            "handler failed; retrying"
                        )
                    });
                    self.count(&envelope.event_type, "retried");
                    tokio::select! {
                        _ = stop.cancelled() => {
                            let _ = reader.release(&delivery).await;
                            return false;
                        }
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    let _ = reader.in_progress(&delivery).await;
                }
            }
        }
    }

    /// Runs the handler once on `envelope` under a consumer span, a child of the span that
    /// appended the event: the events the handler appends carry the consumer span's context.
    async fn handle_traced(&self, envelope: &Envelope, attempt: u32) -> Result<(), HandleError> {
        let mut span = Span::start(SpanKind::Consumer, envelope.traceparent.as_deref(), || {
            format!("process {}", envelope.event_type)
        });
        if span.is_recording() {
            span.set("messaging.operation.type", "process");
            span.set(
                "messaging.consumer.group.name",
                self.subscription.group.as_str(),
            );
            span.set("messaging.message.id", envelope.id.to_string());
            span.set("cloudevents.event_type", envelope.event_type.as_str());
            span.set("cloudevents.event_source", envelope.source.as_str());
            span.set("cloudevents.event_subject", envelope.subject.as_str());
            span.set("msa.attempt", attempt);
        }
        let work = WorkContext {
            request_id: None,
            traceparent: Some(span.traceparent()),
            causation: Some(envelope.id),
        };
        let result = context::scope(work, self.subscription.handler.handle(envelope)).await;
        if let Err(HandleError::Transient(error) | HandleError::Permanent(error)) = &result {
            span.fail(format!("{error:#}"));
        }
        span.end();
        result
    }

    fn backoff(&self, attempts: u32) -> Duration {
        let base = self
            .settings
            .backoff_ms
            .saturating_mul(1u64 << (attempts - 1).min(20));
        let capped = base.min(self.settings.max_backoff_ms);
        let jitter = fastrand::u64(0..=capped / 4);
        Duration::from_millis(capped - capped / 8 + jitter)
    }

    async fn ack(&self, reader: &mut dyn PartitionReader, delivery: &Delivery) {
        if let Err(error) = reader.ack(delivery).await {
            // The effect is committed; a redelivery will be recognised by the inbox.
            tracing::warn!(group = %self.subscription.group, error = format!("{error:#}"), "cannot acknowledge");
        }
    }

    async fn park(&self, payload: &str, envelope: Option<&Envelope>, error: &str, attempts: u32) {
        let mut failures = 0u32;
        while let Err(store_error) = self
            .subscription
            .dead_letters
            .park(payload, envelope, error, attempts)
            .await
        {
            failures += 1;
            tracing::error!(
                error = format!("{store_error:#}"),
                "cannot park a dead letter; retrying"
            );
            tokio::time::sleep(Duration::from_millis(
                (100u64 << failures.min(6)).min(5_000),
            ))
            .await;
        }
        self.metrics.increment(
            "dead_letters_total",
            "Deliveries parked as dead letters.",
            &[("group", &self.subscription.group)],
            1,
        );
    }

    /// Runs the handler once more on dead letter `id`.
    pub async fn replay(&self, id: i64) -> anyhow::Result<ReplayOutcome> {
        let dead_letters = &self.subscription.dead_letters;
        let Some(letter) = dead_letters.get(id).await? else {
            return Ok(ReplayOutcome::NotFound);
        };
        if letter.replayed_at.is_some() {
            return Ok(ReplayOutcome::AlreadyReplayed);
        }
        let envelope = match Envelope::from_json(letter.payload.as_bytes()) {
            Ok(envelope) => envelope,
            Err(error) => {
                return Ok(ReplayOutcome::Failed {
                    error: format!(
                        "the payload is not an envelope and cannot be replayed: {error}"
                    ),
                });
            }
        };
        let result = self.handle_traced(&envelope, 1).await;
        match result {
            Ok(()) => {
                dead_letters.mark_replayed(id).await?;
                self.count(&envelope.event_type, "replayed");
                Ok(ReplayOutcome::Replayed)
            }
            Err(HandleError::Transient(error) | HandleError::Permanent(error)) => {
                Ok(ReplayOutcome::Failed {
                    error: format!("{error:#}"),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::local::LocalBus;
    use crate::bus::{BusSettings, RelayPermit};
    use crate::envelope::NewEvent;
    use crate::sql::{Lite, SqlStore, connect_lite_memory};
    use std::sync::atomic::AtomicU32;

    /// Fails its first `failures` runs with `error()`, then succeeds.
    struct Flaky {
        failures: u32,
        runs: AtomicU32,
        error: fn() -> anyhow::Error,
    }

    #[async_trait]
    impl EventHandler for Flaky {
        async fn handle(&self, _event: &Envelope) -> Result<(), HandleError> {
            if self.runs.fetch_add(1, Ordering::SeqCst) < self.failures {
                return Err(HandleError::Transient((self.error)()));
            }
            Ok(())
        }
    }

    /// Runs one event through a group whose handler fails `failures` times with `error()`
    /// (2 attempts allowed); returns the handler's runs and the parked dead letters once the
    /// event is settled either way.
    async fn settle(failures: u32, error: fn() -> anyhow::Error) -> (u32, u64) {
        let dir = std::env::temp_dir().join(format!(
            "msa-outage-{}-{:08x}",
            std::process::id(),
            fastrand::u32(..)
        ));
        let settings = BusSettings {
            system: "outage".to_owned(),
            partitions: 1,
            ..BusSettings::default()
        };
        let bus = Arc::new(
            LocalBus::open(&dir.join("bus.db").display().to_string(), &settings)
                .await
                .unwrap(),
        );
        let store = SqlStore::<Lite>::new(connect_lite_memory().await.unwrap(), "outage/test");
        store.migrate_kernel().await.unwrap();
        let handler = Arc::new(Flaky {
            failures,
            runs: AtomicU32::new(0),
            error,
        });
        let group = ConsumerGroup::new(
            bus.clone(),
            Subscription {
                group: "outage/test".to_owned(),
                types: Vec::new(),
                handler: handler.clone(),
                dead_letters: Arc::new(store.clone()),
            },
            ConsumerSettings {
                max_attempts: 2,
                backoff_ms: 1,
                max_backoff_ms: 4,
                heartbeat_ms: 20,
                lease_ms: 1_000,
            },
            Metrics::default(),
        );
        let stop = CancellationToken::new();
        let running = tokio::spawn(group.clone().run(stop.clone()));
        let event = NewEvent::raw("outage.test.happened.v1", "k", 1, serde_json::json!({}))
            .unwrap()
            .into_envelope("outage/test", None, None);
        bus.publish(RelayPermit::new(), &[event]).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let parked = loop {
            let parked = store.parked().await.unwrap();
            if parked > 0 || !group.recent().is_empty() || Instant::now() > deadline {
                break parked;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        stop.cancel();
        let _ = running.await;
        let _ = std::fs::remove_dir_all(dir);
        (handler.runs.load(Ordering::SeqCst), parked)
    }

    #[tokio::test]
    async fn a_store_outage_longer_than_the_attempts_is_waited_out_not_parked() {
        let outage = || {
            anyhow::Error::from(sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "expected to read 4 bytes, got 0 bytes at EOF",
            )))
            .context("cannot look up payments by order")
        };
        // Six failed runs where two attempts are allowed: handled on the seventh, nothing parked.
        assert_eq!(settle(6, outage).await, (7, 0));
    }

    #[tokio::test]
    async fn a_handler_that_keeps_failing_otherwise_is_parked_after_its_attempts() {
        let broken = || anyhow::anyhow!("the handler cannot make sense of it");
        assert_eq!(settle(6, broken).await, (2, 1));
    }
}
