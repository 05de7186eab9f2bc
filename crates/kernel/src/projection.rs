//! Rebuilding a read model from the start of the stream into a fresh generation, with one
//! atomic switch for readers: a throw-away consumer group replays every event into the new
//! generation; once it has caught up, the live service's consumer is paused, the rebuild catches
//! the last events, the active generation is switched, and the live consumer resumes (writing
//! into the new generation, whose own inbox recognises what the rebuild already folded in).

use crate::aggregate::{Aggregate, Repository};
use crate::consumer::{ConsumerGroup, Subscription};
use crate::policy::Policies;
use crate::runtime::ServiceSettings;
use crate::sql::Storage;
use anyhow::Context as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Rebuilds read model `A` of service `name` (whose live process answers at `live`, its base
/// URL) from the start of the stream; `policies` makes the service's policy table over a
/// repository. `progress` receives one line per step. Returns the new generation.
pub async fn rebuild_from_start<A, S>(
    settings: &ServiceSettings,
    name: &str,
    live: &str,
    policies: impl Fn(Repository<A>) -> Policies<S>,
    progress: impl Fn(String),
) -> anyhow::Result<String>
where
    A: Aggregate,
    S: Send + Sync + 'static,
{
    let storage = Storage::open(&settings.store.url, name).await?;
    let views = storage.repository::<A>().generational();
    let old = views.active_generation().await?;
    let new = views.new_generation().await?;
    progress(format!(
        "rebuilding {} into generation {new} (readers stay on {old})",
        A::KIND
    ));
    let bus = crate::bus::connect(&settings.bus.of_service(name)).await?;
    let group = format!("{name}/rebuild-{new}");
    let table = policies(views.pinned(&new));
    let rebuild = ConsumerGroup::new(
        bus.clone(),
        Subscription {
            group: group.clone(),
            types: table.types(name.split('/').next().unwrap_or_default()),
            handler: Arc::new(table),
            dead_letters: storage.dead_letters().clone(),
        },
        settings.consumer.clone(),
        crate::metrics::Metrics::default(),
    );
    let stop = tokio_util::sync::CancellationToken::new();
    let running = tokio::spawn(rebuild.clone().run(stop.clone()));
    let caught_up = || async {
        let started = Instant::now();
        let mut reported = Instant::now();
        loop {
            let owned = rebuild.status().partitions.len() as u32 == bus.partitions();
            let mut lag = 0;
            for partition in 0..bus.partitions() {
                lag += bus.lag(&group, partition).await?;
            }
            if owned && lag == 0 {
                return anyhow::Ok(());
            }
            if reported.elapsed() > Duration::from_secs(1) {
                progress(format!("  {lag} events to go"));
                reported = Instant::now();
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(3600),
                "the rebuild did not catch up in an hour"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let client = reqwest::Client::new();
    let admin = |action: &'static str| {
        let request = client.post(format!("{live}/admin/consumers/{action}"));
        async move {
            request
                .send()
                .await
                .and_then(reqwest::Response::error_for_status)
                .with_context(|| format!("cannot {action} the live service at {live}"))
        }
    };
    let switched = async {
        caught_up().await?;
        progress("caught up; pausing the live projection".to_owned());
        admin("pause").await?;
        caught_up().await?;
        views.activate(&new).await?;
        progress(format!("switched readers to generation {new}"));
        // Live replicas may fold events into the old generation until their view of the active
        // one expires; the rebuild group keeps taking everything into the new one that long
        // (its inbox drops what the live projection also folds there).
        tokio::time::sleep(crate::aggregate::GENERATION_TTL + Duration::from_millis(100)).await;
        caught_up().await?;
        anyhow::Ok(())
    }
    .await;
    let resumed = admin("resume").await;
    stop.cancel();
    let _ = running.await;
    bus.delete_group(&group).await?;
    switched?;
    resumed?;
    let deleted = views.discard(&old).await?;
    progress(format!("discarded generation {old} ({deleted} views)"));
    Ok(new)
}
