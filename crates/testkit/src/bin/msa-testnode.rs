//! A process that produces or consumes test events, so that crash tests can kill a real process
//! at a crash point (`MSA_CRASH_AT`) and start it again.
//!
//! ```text
//! msa-testnode produce <store-url> <bus-url> <system> <count> <subjects>
//! msa-testnode consume <effects-url> <bus-url> <system> <group> <expected-effects>
//! ```

use anyhow::Context as _;
use kernel::bus::BusSettings;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;
use testkit::conformance::fast_consumer;
use testkit::node::{Effects, Producer, ReplicaOptions, recording_group};
use tokio_util::sync::CancellationToken;

fn bus(url: &str, system: &str) -> BusSettings {
    BusSettings {
        url: url.to_owned(),
        system: system.to_owned(),
        partitions: 8,
        ack_wait_ms: 2_000,
        poll_ms: 10,
        ..BusSettings::default()
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("produce") if args.len() == 7 => {
            let settings = bus(&args[3], &args[4]);
            let count: usize = args[5].parse().context("count")?;
            let subjects: usize = args[6].parse().context("subjects")?;
            let mut producer = Producer::open(&args[2], &settings).await?;
            producer.publish_spread(count, subjects).await?;
            producer.start_relay(&settings).await?;
            while producer.backlog().await? > 0 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            producer.stop().await;
            Ok(())
        }
        Some("consume") if args.len() == 7 => {
            let options = ReplicaOptions {
                group: args[5].clone(),
                effects_url: args[2].clone(),
                bus: bus(&args[3], &args[4]),
                consumer: fast_consumer(),
            };
            let expected: usize = args[6].parse().context("expected")?;
            let group = recording_group(
                &format!("pid{}", std::process::id()),
                &options,
                Default::default(),
                Arc::new(AtomicBool::new(true)),
            )
            .await?;
            let effects = Effects::open(&options.effects_url).await?;
            let stop = CancellationToken::new();
            let running = tokio::spawn(group.run(stop.clone()));
            while effects.count(&options.group).await < expected {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            stop.cancel();
            running.await?;
            Ok(())
        }
        _ => anyhow::bail!(
            "usage: msa-testnode produce <store-url> <bus-url> <system> <count> <subjects>\n       msa-testnode consume <effects-url> <bus-url> <system> <group> <expected>"
        ),
    }
}
