//! The customer service of the roaming system: my page, a read model (CQRS) of every
//! reservation's reservation, payment and rental status, built only from events — no calls to
//! other services, no shared database.

pub mod adapters;
pub mod app;
pub mod domain;
pub mod ports;

/// The OpenAPI description of the my-page API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    <adapters::inbound::http::ApiDoc as utoipa::OpenApi>::openapi()
}

use adapters::inbound::{events, http};
use adapters::outbound::redis::RedisMyPageStore;
use adapters::outbound::sqlite::{MIGRATIONS, SqliteMyPageStore};
use app::MyPage;
use kernel::consumer::Subscription;
use kernel::redis::RedisStore;
use kernel::sql::{SqlStore, StoreKind, connect_sqlite};
use kernel::{Application, Service, ServiceSettings};
use ports::MyPageStore;
use std::sync::Arc;

/// The service's name.
pub const NAME: &str = "roaming/customer";

/// The customer service's settings.
pub type Settings = ServiceSettings;

/// Builds the service on its store (SQLite or Redis).
pub async fn build(settings: Settings) -> anyhow::Result<Application> {
    let url = settings.store.url.clone();
    match StoreKind::of(&url)? {
        StoreKind::Sqlite => {
            let store = SqlStore::new(connect_sqlite(&url).await?, NAME);
            store.migrate(NAME, MIGRATIONS).await?;
            let views = Arc::new(SqliteMyPageStore::new(store.clone()));
            assemble(settings, views, store).await
        }
        StoreKind::Redis => {
            let store = RedisStore::connect(&url, NAME).await?;
            let views = Arc::new(RedisMyPageStore::new(store.clone()));
            assemble(settings, views, store).await
        }
        other => anyhow::bail!("my page cannot keep its views in {other:?}"),
    }
}

async fn assemble<S>(
    settings: Settings,
    views: Arc<dyn MyPageStore>,
    store: S,
) -> anyhow::Result<Application>
where
    S: kernel::deadletter::DeadLetterStore + kernel::health::ReadinessCheck + Clone,
{
    let app = Arc::new(MyPage::new(views));
    Service::new(NAME, settings)
        .routes(http::routes(app.clone()))
        .check(Arc::new(store.clone()))
        .consume(Subscription {
            group: NAME.to_owned(),
            types: events::subscribed_types(),
            handler: Arc::new(events::Projection(app)),
            dead_letters: Arc::new(store),
        })
        .build()
        .await
}

/// Rebuilds my page from the start of the stream into a fresh Redis generation and switches
/// readers over in one step: a throw-away consumer group replays every event into the new
/// generation; once it has caught up, the live service's consumer is paused, the rebuild catches
/// the last events, the active generation is switched, and the live consumer resumes (writing into
/// the new generation, where the rebuild's inbox recognises what it already folded in). `live` is
/// the running customer service's base URL. `progress` receives one line per step.
pub async fn rebuild_from_start(
    settings: Settings,
    live: &str,
    progress: impl Fn(String),
) -> anyhow::Result<String> {
    use anyhow::Context as _;
    use kernel::consumer::ConsumerGroup;
    use std::time::{Duration, Instant};
    anyhow::ensure!(
        StoreKind::of(&settings.store.url)? == StoreKind::Redis,
        "rebuilding into a fresh generation needs the Redis store (store.url = redis://...)"
    );
    let store = RedisStore::connect(&settings.store.url, NAME).await?;
    let views = RedisMyPageStore::new(store.clone());
    let old = views.active_generation().await?;
    let new = views.new_generation().await?;
    progress(format!(
        "rebuilding my page into generation {new} (readers stay on {old})"
    ));
    let bus = kernel::bus::connect(&settings.bus).await?;
    let group = format!("{NAME}/rebuild-{new}");
    let rebuild = ConsumerGroup::new(
        bus.clone(),
        Subscription {
            group: group.clone(),
            types: events::subscribed_types(),
            handler: Arc::new(events::Projection(Arc::new(MyPage::new(Arc::new(
                views.pinned(&new),
            ))))),
            dead_letters: Arc::new(store.clone()),
        },
        settings.consumer.clone(),
        kernel::metrics::Metrics::default(),
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
    let switched = async {
        caught_up().await?;
        progress("caught up; pausing the live projection".to_owned());
        client
            .post(format!("{live}/admin/consumers/pause"))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .with_context(|| format!("cannot pause the live customer service at {live}"))?;
        caught_up().await?;
        views.activate(&new).await?;
        progress(format!("switched readers to generation {new}"));
        anyhow::Ok(())
    }
    .await;
    let resumed = client
        .post(format!("{live}/admin/consumers/resume"))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status);
    stop.cancel();
    let _ = running.await;
    bus.delete_group(&group).await?;
    switched?;
    resumed.with_context(|| format!("cannot resume the live customer service at {live}"))?;
    let deleted = views.discard(&old).await?;
    progress(format!("discarded generation {old} ({deleted} keys)"));
    Ok(new)
}
