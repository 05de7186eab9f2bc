//! `msa bench`: measurements of the event pipeline, each next to a bound measured in the same run.
//!
//! `msa bench bus` commits events one transaction at a time into a producer's outbox, lets the
//! relay publish them, and has a consumer group handle each inside an inbox transaction; it
//! reports commit-to-handled throughput and latency for the local bus and for NATS, and the same
//! for a raw async-nats JetStream publish/consume loop (no outbox, no inbox, no ordering) as the
//! bound.

use anyhow::Context as _;
use async_trait::async_trait;
use futures_util::StreamExt as _;
use kernel::bus::{self, BusSettings};
use kernel::consumer::{ConsumerGroup, ConsumerSettings, EventHandler, HandleError, Subscription};
use kernel::metrics::Metrics;
use kernel::outbox::{OutboxSource as _, Relay, RelaySettings};
use kernel::sql::{Lite, SqlStore, connect_lite};
use kernel::{Envelope, NewEvent};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Benchmarks.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum BenchCommand {
    /// Reservations through a running gateway at a fixed rate: latency of `POST
    /// /api/reservations`, and the event lag until my page shows the booth's acceptance.
    Reserve {
        /// The gateway.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        gateway: String,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Another system's main command through its running gateway at a fixed rate, measured as
    /// `reserve` measures roaming's: booking's `POST /api/bookings`, cafeteria's `POST
    /// /api/orders`, office's `POST /api/rentals` (after registering a product with stock for
    /// every rental of the run), each followed to the user's page.
    Command {
        /// The system: roaming, booking, cafeteria or office.
        #[arg(long)]
        system: String,
        /// The gateway (default: the system's own port on this machine).
        #[arg(long)]
        gateway: Option<String>,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Commit→handled throughput and latency through outbox, bus and inbox, per adapter, next to
    /// a raw JetStream loop.
    Bus {
        /// Events per run.
        #[arg(long, default_value_t = 5_000)]
        events: usize,
        /// Payload bytes per event.
        #[arg(long, default_value_t = 1_024)]
        size: usize,
        /// Distinct subjects (correlation keys) the events are spread over.
        #[arg(long, default_value_t = 64)]
        subjects: usize,
        /// Partitions of the bus (a consumer group reads each in order, one worker per
        /// partition); the systems' default is 8.
        #[arg(long, default_value_t = 8)]
        partitions: u32,
        /// Events per second offered; 0 offers them as fast as they commit.
        #[arg(long, default_value_t = 0)]
        rate: u64,
        /// Which paths to measure: any of local, nats, raw.
        #[arg(long, default_value = "local,nats,raw", value_delimiter = ',')]
        paths: Vec<String>,
        /// The NATS server.
        #[arg(long, default_value = "nats://127.0.0.1:4222")]
        nats: String,
        /// Catch-up after an outage: the consumer starts only once every event is on the bus,
        /// and handled/s is the rate at which it drains that backlog.
        #[arg(long)]
        catch_up: bool,
    },
}

/// The open-loop load of a system's command.
#[derive(Debug, clap::Args)]
pub(crate) struct LoadArgs {
    /// Requests per second (open loop: sent on schedule whatever the answers).
    #[arg(long, default_value_t = 100)]
    rate: u64,
    /// Seconds to run.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Every n-th command is followed until the user's page shows its first step downstream
    /// (for a reservation: the booth's acceptance).
    #[arg(long, default_value_t = 10)]
    lag_every: usize,
}

/// The load of `system`'s main command through `gateway` (default: the system's own port here).
async fn main_command(
    system: &str,
    gateway: Option<String>,
    load: &LoadArgs,
    data: &str,
) -> anyhow::Result<()> {
    let workload = crate::load::workload(system)?;
    let gateway = match gateway {
        Some(gateway) => gateway,
        None => format!(
            "http://127.0.0.1:{}",
            crate::systems::manifest(system)?.gateway.port
        ),
    };
    crate::load::run(
        workload,
        &gateway,
        &crate::systems::system_data(data, system),
        load.rate,
        load.duration,
        load.lag_every.max(1),
    )
    .await
}

/// Runs a benchmark.
pub(crate) async fn run(command: BenchCommand, data: &str) -> anyhow::Result<()> {
    match command {
        BenchCommand::Reserve { gateway, load } => {
            main_command(crate::systems::SYSTEMS_DEFAULT, Some(gateway), &load, data).await
        }
        BenchCommand::Command {
            system,
            gateway,
            load,
        } => main_command(&system, gateway, &load, data).await,
        BenchCommand::Bus {
            events,
            size,
            subjects,
            partitions,
            rate,
            paths,
            nats,
            catch_up,
        } => {
            anyhow::ensure!(
                events > 0 && subjects > 0 && (1..=1024).contains(&partitions),
                "--events and --subjects must be positive, --partitions 1 to 1024"
            );
            println!(
                "{events} events of {size} bytes over {subjects} subjects in {partitions} partitions, offered {}{}",
                if rate == 0 {
                    "as fast as they commit".to_owned()
                } else {
                    format!("at {rate}/s")
                },
                if catch_up {
                    "; the consumer starts once all are on the bus (handled/s: the drain rate)"
                } else {
                    ""
                }
            );
            println!(
                "{:<34} {:>10} {:>10} {:>9} {:>9} {:>9}",
                "path", "offered/s", "handled/s", "p50 ms", "p99 ms", "max ms"
            );
            let mut results = Vec::new();
            let load = Load {
                events,
                size,
                subjects,
                partitions,
                rate,
                catch_up,
            };
            for path in &paths {
                let result = match path.as_str() {
                    "local" | "nats" => pipeline(data, path, &load, &nats).await?,
                    "raw" => raw_jetstream(&nats, &load).await?,
                    other => anyhow::bail!("unknown path {other}: use local, nats or raw"),
                };
                println!(
                    "{:<34} {:>10.0} {:>10.0} {:>9.2} {:>9.2} {:>9.2}",
                    result.name,
                    result.offered,
                    result.throughput,
                    result.p50_ms,
                    result.p99_ms,
                    result.max_ms
                );
                results.push(result);
            }
            if let Some(raw) = results.iter().find(|r| r.name.starts_with("raw")) {
                for result in results.iter().filter(|r| !r.name.starts_with("raw")) {
                    println!(
                        "{} / raw: throughput {:.2}x, p99 {:.2}x",
                        result.name,
                        result.throughput / raw.throughput,
                        result.p99_ms / raw.p99_ms
                    );
                }
            }
            Ok(())
        }
    }
}

struct Outcome {
    name: String,
    offered: f64,
    throughput: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

fn summarize(
    name: &str,
    mut latencies: Vec<f64>,
    offered_in: Duration,
    elapsed: Duration,
) -> Outcome {
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q).round() as usize];
    Outcome {
        name: name.to_owned(),
        offered: latencies.len() as f64 / offered_in.as_secs_f64(),
        throughput: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50_ms: at(0.50) * 1000.0,
        p99_ms: at(0.99) * 1000.0,
        max_ms: at(1.0) * 1000.0,
    }
}

struct Recorder {
    store: SqlStore<Lite>,
    latencies: Mutex<Vec<f64>>,
    expected: usize,
    done: Notify,
}

#[async_trait]
impl EventHandler for Recorder {
    async fn handle(&self, event: &Envelope) -> Result<(), HandleError> {
        let Some(tx) = self.store.begin_handling(event).await? else {
            return Ok(());
        };
        tx.commit().await?;
        let latency = (OffsetDateTime::now_utc() - event.time).as_seconds_f64();
        let mut latencies = self.latencies.lock().expect("latencies lock");
        latencies.push(latency);
        if latencies.len() >= self.expected {
            self.done.notify_one();
        }
        Ok(())
    }
}

async fn pace(rate: u64, started: Instant, sent: usize) {
    if rate > 0 {
        let due = started + Duration::from_secs_f64(sent as f64 / rate as f64);
        tokio::time::sleep_until(due.into()).await;
    }
}

/// What a benchmark run offers.
struct Load {
    events: usize,
    size: usize,
    subjects: usize,
    partitions: u32,
    rate: u64,
    catch_up: bool,
}

async fn pipeline(data: &str, adapter: &str, load: &Load, nats: &str) -> anyhow::Result<Outcome> {
    let Load {
        events,
        size,
        subjects,
        partitions,
        rate,
        catch_up,
    } = *load;
    let unique = format!("bench{:x}", fastrand_suffix());
    let dir = std::path::Path::new(data).join("bench").join(&unique);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let settings = BusSettings {
        url: match adapter {
            "local" => format!("local://{}", dir.join("bus.db").display()),
            _ => nats.to_owned(),
        },
        system: unique.clone(),
        partitions,
        ..BusSettings::default()
    };
    let producer = SqlStore::<Lite>::new(
        connect_lite(&format!("sqlite://{}", dir.join("producer.db").display())).await?,
        &format!("{unique}/producer"),
    );
    producer.migrate("bench", &[]).await?;
    let consumer_store = SqlStore::<Lite>::new(
        connect_lite(&format!("sqlite://{}", dir.join("consumer.db").display())).await?,
        "bench-consumer",
    );
    consumer_store.migrate("bench", &[]).await?;
    let recorder = Arc::new(Recorder {
        store: consumer_store.clone(),
        latencies: Mutex::new(Vec::with_capacity(events)),
        expected: events,
        done: Notify::new(),
    });
    let stop = CancellationToken::new();
    let group = ConsumerGroup::new(
        bus::connect(&settings).await?,
        Subscription {
            group: "bench".to_owned(),
            types: Vec::new(),
            handler: recorder.clone(),
            dead_letters: Arc::new(consumer_store),
        },
        ConsumerSettings::default(),
        Metrics::default(),
    );
    let consume = || tokio::spawn(group.clone().run(stop.clone()));
    let mut consumer = (!catch_up).then(consume);
    let relay = Relay::new(
        Arc::new(producer.clone()),
        bus::connect(&settings).await?,
        "bench-relay",
        RelaySettings::default(),
        Metrics::default(),
    );
    let relaying = tokio::spawn(relay.run(stop.clone()));
    let ready = |group: Arc<ConsumerGroup>| async move {
        let asked = Instant::now();
        while group.status().partitions.len() < settings.partitions as usize {
            anyhow::ensure!(
                asked.elapsed() < Duration::from_secs(30),
                "the consumer did not take its partitions"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        anyhow::Ok(())
    };
    if !catch_up {
        ready(group.clone()).await?;
    }
    let payload = serde_json::json!({ "pad": "x".repeat(size.saturating_sub(32)) });
    let event_type = format!("{unique}.bench.happened.v1");
    let mut started = Instant::now();
    for i in 0..events {
        pace(rate, started, i).await;
        let mut tx = producer.begin().await?;
        tx.publish(NewEvent::raw(
            &event_type,
            format!("s{}", i % subjects),
            (i / subjects) as u64 + 1,
            payload.clone(),
        )?)
        .await?;
        tx.commit().await?;
    }
    let offered_in = started.elapsed();
    let patience = Duration::from_secs(300);
    if catch_up {
        // The outage ends once the relay has put every event on the bus.
        while producer.backlog().await? > 0 {
            anyhow::ensure!(
                started.elapsed() < patience,
                "the relay did not publish every event in time"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        started = Instant::now();
        consumer = Some(consume());
    }
    let waited = Instant::now();
    while recorder.latencies.lock().expect("latencies lock").len() < events {
        anyhow::ensure!(
            waited.elapsed() < patience,
            "the consumer did not handle every event in time"
        );
        let _ = tokio::time::timeout(Duration::from_millis(200), recorder.done.notified()).await;
    }
    let elapsed = started.elapsed();
    stop.cancel();
    if let Some(consumer) = consumer {
        let _ = consumer.await;
    }
    let _ = relaying.await;
    if adapter == "nats"
        && let Ok(client) = async_nats::connect(nats).await
    {
        let js = async_nats::jetstream::new(client);
        let stream = unique.to_ascii_uppercase();
        let _ = js.delete_stream(&stream).await;
        let _ = js.delete_stream(format!("KV_{stream}_leases")).await;
    }
    let _ = std::fs::remove_dir_all(&dir);
    let latencies = recorder.latencies.lock().expect("latencies lock").clone();
    Ok(summarize(
        &format!(
            "{adapter} bus: {}",
            if catch_up {
                "catch-up→inbox"
            } else {
                "outbox→relay→inbox"
            }
        ),
        latencies,
        offered_in,
        elapsed,
    ))
}

fn fastrand_suffix() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default();
    nanos ^ u64::from(std::process::id()).rotate_left(32)
}

async fn raw_jetstream(url: &str, load: &Load) -> anyhow::Result<Outcome> {
    use async_nats::jetstream::{self, consumer::pull, stream};
    let Load {
        events,
        size,
        rate,
        catch_up,
        ..
    } = *load;
    let client = async_nats::connect(url)
        .await
        .with_context(|| format!("cannot connect to NATS at {url}"))?;
    let js = jetstream::new(client);
    let unique = format!("benchraw{:x}", fastrand_suffix());
    let stream_name = unique.to_ascii_uppercase();
    let stream = js
        .get_or_create_stream(stream::Config {
            name: stream_name.clone(),
            subjects: vec![format!("{unique}.>")],
            ..Default::default()
        })
        .await
        .map_err(|e| anyhow::anyhow!("cannot create the raw stream: {e}"))?;
    let consumer: jetstream::consumer::Consumer<pull::Config> = stream
        .get_or_create_consumer(
            "raw",
            pull::Config {
                durable_name: Some("raw".to_owned()),
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("cannot create the raw consumer: {e}"))?;
    let receive = move || {
        tokio::spawn(async move {
            let mut messages = consumer
                .messages()
                .await
                .map_err(|e| anyhow::anyhow!("cannot consume: {e}"))?;
            let mut latencies = Vec::with_capacity(events);
            while latencies.len() < events {
                let Some(message) = messages.next().await else {
                    anyhow::bail!("the raw consumer ended early");
                };
                let message = message.map_err(|e| anyhow::anyhow!("raw delivery failed: {e}"))?;
                let sent: i128 = std::str::from_utf8(&message.payload[..20])
                    .ok()
                    .and_then(|s| s.trim().parse().ok())
                    .unwrap_or_default();
                message
                    .ack()
                    .await
                    .map_err(|e| anyhow::anyhow!("raw ack failed: {e}"))?;
                let now = OffsetDateTime::now_utc().unix_timestamp_nanos();
                latencies.push((now - sent) as f64 / 1e9);
            }
            anyhow::Ok(latencies)
        })
    };
    let mut receive = Some(receive);
    let mut receiving = if catch_up {
        None
    } else {
        receive.take().map(|receive| receive())
    };
    let mut started = Instant::now();
    let mut pending = Vec::new();
    for i in 0..events {
        pace(rate, started, i).await;
        let mut payload =
            format!("{:>20}", OffsetDateTime::now_utc().unix_timestamp_nanos()).into_bytes();
        payload.resize(size.max(20), b'x');
        pending.push(
            js.publish(format!("{unique}.s{}", i % 64), payload.into())
                .await
                .map_err(|e| anyhow::anyhow!("raw publish failed: {e}"))?,
        );
        if pending.len() >= 256 {
            for ack in pending.drain(..) {
                ack.await
                    .map_err(|e| anyhow::anyhow!("raw publish not confirmed: {e}"))?;
            }
        }
    }
    for ack in pending {
        ack.await
            .map_err(|e| anyhow::anyhow!("raw publish not confirmed: {e}"))?;
    }
    let offered_in = started.elapsed();
    if let Some(receive) = receive.take() {
        started = Instant::now();
        receiving = Some(receive());
    }
    let receiving = receiving.context("the raw consumer never started")?;
    let latencies = tokio::time::timeout(Duration::from_secs(300), receiving)
        .await
        .context("the raw consumer did not finish in time")???;
    let elapsed = started.elapsed();
    let _ = js.delete_stream(&stream_name).await;
    Ok(summarize(
        if catch_up {
            "raw async-nats JetStream catch-up (bound)"
        } else {
            "raw async-nats JetStream (bound)"
        },
        latencies,
        offered_in,
        elapsed,
    ))
}
