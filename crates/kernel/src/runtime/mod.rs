//! The service runtime: one HTTP listener with the service's routes plus health, metrics and
//! admin routes; outbox relays; consumer groups; background tasks; and a graceful shutdown that
//! turns not-ready, drains requests and handlers, flushes the outbox and exits.

use crate::breaker::CircuitBreaker;
use crate::bus::{self, Bus, BusSettings};
use crate::consumer::{ConsumerGroup, ConsumerSettings, Subscription};
use crate::health::ReadinessCheck;
use crate::http;
use crate::metrics::Metrics;
use crate::outbox::{OutboxSource, Relay, RelaySettings};
use anyhow::Context as _;
use async_trait::async_trait;
use axum::Router;
use axum::routing::get;
use futures_util::future::BoxFuture;
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

mod admin;
mod handover;
mod registry;
use admin::{AdminState, admin_routes};
use handover::inherited_listener;

/// Where and how the service listens.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSettings {
    /// Interface to bind.
    pub host: String,
    /// Port to bind; 0 picks a free one.
    pub port: u16,
    /// After a stop signal, how long to stay up answering not-ready before refusing new
    /// connections, in milliseconds (lets a load balancer notice; Kubernetes wants a few seconds).
    pub drain_ms: u64,
    /// Longest wait for in-flight requests and handlers at shutdown, in milliseconds.
    pub shutdown_timeout_ms: u64,
    /// Also serve the listening socket that arrives as standard input: one the supervisor
    /// (`msa up`) keeps open and hands from a replaced process to its successor, so that nobody
    /// is refused during a hand-over. The service still listens on `host:port` as well (port 0
    /// for a free one), which is where it registers and is probed.
    pub inherit_stdin: bool,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".to_owned(),
            port: 0,
            drain_ms: 0,
            shutdown_timeout_ms: 30_000,
            inherit_stdin: false,
        }
    }
}

/// The store a service keeps its state in (empty for services without one, like the gateway).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreSettings {
    /// `sqlite://...`, `postgres://...`, `mysql://...` or `redis://...`.
    pub url: String,
}

/// Settings every service has.
#[derive(Clone, Debug, Deserialize)]
pub struct ServiceSettings {
    /// The system the service serves (the first token of its event types; `msa` sets it from the
    /// manifest). A system's own services know it from their name; a generic one (payment) needs
    /// it. Not the stream: `bus.system` names that, and tests give each run a stream of its own.
    #[serde(default)]
    pub system: String,
    /// HTTP listener.
    #[serde(default)]
    pub http: HttpSettings,
    /// The service's own store.
    #[serde(default)]
    pub store: StoreSettings,
    /// The event bus.
    #[serde(default)]
    pub bus: BusSettings,
    /// Consumer runtime tuning.
    #[serde(default)]
    pub consumer: ConsumerSettings,
    /// Outbox relay tuning.
    #[serde(default)]
    pub relay: RelaySettings,
    /// Faults injected into the service's commands (see [`crate::faults`]).
    #[serde(default)]
    pub faults: crate::faults::Faults,
    /// Where replicas register and callers find them (see [`crate::discovery`]).
    #[serde(default)]
    pub discovery: crate::discovery::DiscoverySettings,
}

impl ServiceSettings {
    /// The full name (`<system>/<service>`) of generic service `service` deployed into the system
    /// that `system` names: a generic domain (payment) serves whichever system runs it.
    pub fn qualified(&self, service: &str) -> anyhow::Result<String> {
        anyhow::ensure!(
            crate::manifest::valid_name(&self.system),
            "{service} is a generic service: set system (MSA__SYSTEM) to the system it serves, not {:?}",
            self.system
        );
        Ok(format!("{}/{service}", self.system))
    }
}

type Task = Box<dyn FnOnce(CancellationToken) -> BoxFuture<'static, ()> + Send>;

/// A read model's rebuild: its settings, the live service's base URL and a progress sink in, the
/// new generation out (see the `projection` module).
pub type Rebuild = fn(
    crate::config::Layers,
    String,
    Box<dyn Fn(String)>,
) -> futures_util::future::LocalBoxFuture<'static, anyhow::Result<String>>;

/// How the `msa` binary runs one service of a system: the declaration a service crate exports,
/// which the system's registry line lists.
#[derive(Clone, Copy)]
pub struct ServiceDef {
    /// Its name in the system manifest (`reservation`).
    pub name: &'static str,
    /// Assembles it from its layered settings: stores opened, application made, routes, policies
    /// and remote clients declared; nothing bound or connected until [`Service::build`]. What it
    /// assembled is also its [`Service::model`].
    pub build: fn(
        crate::config::Layers,
    ) -> futures_util::future::LocalBoxFuture<'static, anyhow::Result<Service>>,
    /// Its API document.
    pub openapi: fn() -> utoipa::openapi::OpenApi,
    /// For a read model: how `msa replay` rebuilds it.
    pub rebuild: Option<Rebuild>,
}

impl std::fmt::Debug for ServiceDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceDef")
            .field("name", &self.name)
            .finish()
    }
}

/// Assembles a service: its routes, stores, relays, consumers and tasks.
pub struct Service {
    name: String,
    settings: ServiceSettings,
    metrics: Metrics,
    bus: Option<Arc<dyn Bus>>,
    routes: Router,
    checks: Vec<Arc<dyn ReadinessCheck>>,
    relays: Vec<Arc<dyn OutboxSource>>,
    subscriptions: Vec<Subscription>,
    reactions: Vec<(Vec<String>, Arc<dyn crate::consumer::EventHandler>)>,
    dead_letters: Option<Arc<dyn crate::deadletter::DeadLetterStore>>,
    breakers: Vec<CircuitBreaker>,
    tasks: Vec<Task>,
    model: crate::model::ServiceModel,
    kept: Vec<crate::model::Kept>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service").field("name", &self.name).finish()
    }
}

impl Service {
    /// Starts assembling service `name` (`<system>/<service>`).
    pub fn new(name: &str, settings: ServiceSettings) -> Self {
        Self {
            name: name.to_owned(),
            settings,
            metrics: Metrics::default(),
            bus: None,
            routes: Router::new(),
            checks: Vec::new(),
            relays: Vec::new(),
            subscriptions: Vec::new(),
            reactions: Vec::new(),
            dead_letters: None,
            breakers: Vec::new(),
            tasks: Vec::new(),
            model: crate::model::ServiceModel {
                name: name.to_owned(),
                ..crate::model::ServiceModel::default()
            },
            kept: Vec::new(),
        }
    }

    /// Marks the part the service plays (a read model, a notifier; a bounded context if not
    /// said), for its [`Self::model`].
    pub fn role(mut self, role: crate::model::Role) -> Self {
        self.model.role = role;
        self
    }

    /// What the service was assembled from so far: its aggregates and what they publish, what it
    /// reacts to, whom it calls (see [`crate::model`]).
    pub fn model(&self) -> crate::model::ServiceModel {
        let mut model = self.model.clone();
        model.aggregates = self.kept.iter().flat_map(|kept| kept.list()).collect();
        model
    }

    /// The service name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The settings.
    pub fn settings(&self) -> &ServiceSettings {
        &self.settings
    }

    /// The service's metrics registry.
    pub fn metrics(&self) -> Metrics {
        self.metrics.clone()
    }

    /// The system's registry of replicas, when there is one (see [`crate::discovery`]).
    pub fn registry(&self) -> Option<crate::discovery::Registry> {
        self.settings.discovery.registry()
    }

    /// The bus, connected on first use and checked by readiness from then on.
    pub async fn bus(&mut self) -> anyhow::Result<Arc<dyn Bus>> {
        if let Some(bus) = &self.bus {
            return Ok(bus.clone());
        }
        let bus = bus::connect(&self.settings.bus.of_service(&self.name)).await?;
        tracing::info!(bus = bus.describe(), "connected to the bus");
        self.checks.push(Arc::new(BusCheck(bus.clone())));
        self.bus = Some(bus.clone());
        Ok(bus)
    }

    /// Adds the service's API routes.
    pub fn routes(mut self, routes: Router) -> Self {
        self.routes = self.routes.merge(routes);
        self
    }

    /// Adds a readiness check.
    pub fn check(mut self, check: Arc<dyn ReadinessCheck>) -> Self {
        self.checks.push(check);
        self
    }

    /// Relays `source`'s outbox to the bus.
    pub fn relay(mut self, source: Arc<dyn OutboxSource>) -> Self {
        self.relays.push(source);
        self
    }

    /// Runs a consumer group replica for `subscription`.
    pub fn consume(mut self, subscription: Subscription) -> Self {
        self.subscriptions.push(subscription);
        self
    }

    /// Starts assembling service `name` on the store its settings name (see
    /// [`crate::sql::Storage::open`]); the storage is returned for the application's
    /// repositories.
    pub async fn open(
        name: &str,
        settings: ServiceSettings,
    ) -> anyhow::Result<(Self, crate::sql::Storage)> {
        let storage = crate::sql::Storage::open(&settings.store.url, name).await?;
        Ok((Self::new(name, settings).storage(&storage), storage))
    }

    /// Keeps the service's state in `storage`: its readiness is checked, its outbox relayed, and
    /// its policies' failing deliveries parked in it.
    pub fn storage(mut self, storage: &crate::sql::Storage) -> Self {
        self.checks.push(storage.check().clone());
        self.relays.extend(storage.outbox().cloned());
        self.dead_letters = Some(storage.dead_letters().clone());
        self.kept.push(storage.kept().clone());
        self
    }

    /// Runs `policies` as this service's consumer group (named after the service); failing
    /// deliveries are parked in the service's [`Self::storage`].
    pub fn react<S: Send + Sync + 'static>(mut self, policies: crate::policy::Policies<S>) -> Self {
        if !policies.is_empty() {
            self.model.reacts_to.extend(policies.contracts());
            let system = self.name.split('/').next().unwrap_or_default();
            self.reactions
                .push((policies.types(system), Arc::new(policies)));
        }
        self
    }

    /// Reports `breaker` on the status page.
    pub fn breaker(mut self, breaker: CircuitBreaker) -> Self {
        self.breakers.push(breaker);
        self
    }

    /// A guarded client of service `name` at `settings` (or where the registry has its
    /// replicas), its breaker on the status page.
    pub fn remote(
        self,
        name: &str,
        settings: &crate::remote::RemoteSettings,
    ) -> anyhow::Result<(Self, crate::remote::RemoteClient)> {
        let client =
            crate::remote::RemoteClient::new(name, settings, self.metrics(), self.registry())?;
        let mut service = self.breaker(client.breaker());
        service.model.calls.push(name.to_owned());
        Ok((service, client))
    }

    /// Runs a background task until shutdown (it gets a token that is cancelled at shutdown).
    pub fn task<F, Fut>(mut self, task: F) -> Self
    where
        F: FnOnce(CancellationToken) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        self.tasks.push(Box::new(move |stop| Box::pin(task(stop))));
        self
    }

    /// Runs `work` every `period` until shutdown; a failed round is logged as `what` and the
    /// next round tries again.
    pub fn every<F, Fut>(self, period: std::time::Duration, what: &'static str, work: F) -> Self
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        self.task(move |stop| async move {
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(period) => {}
                }
                if let Err(error) = work().await {
                    tracing::warn!(error = format!("{error:#}"), "{what} round failed");
                }
            }
        })
    }

    /// Binds the listener; nothing runs until [`Application::run_until_stopped`].
    pub async fn build(mut self) -> anyhow::Result<Application> {
        anyhow::ensure!(
            self.reactions.len() <= 1,
            "{} declares {} policy tables; a service has one (its consumer group)",
            self.name,
            self.reactions.len()
        );
        for (types, handler) in std::mem::take(&mut self.reactions) {
            let dead_letters = self.dead_letters.clone().with_context(|| {
                format!(
                    "{} reacts to events but keeps no storage for dead letters",
                    self.name
                )
            })?;
            self.subscriptions.push(Subscription {
                group: self.name.clone(),
                types,
                handler,
                dead_letters,
            });
        }
        let needs_bus = !self.relays.is_empty() || !self.subscriptions.is_empty();
        let bus = if needs_bus {
            Some(self.bus().await?)
        } else {
            self.bus.clone()
        };
        let address = format!("{}:{}", self.settings.http.host, self.settings.http.port);
        let listener = TcpListener::bind(&address)
            .await
            .with_context(|| format!("cannot listen on {address}"))?;
        let local = listener.local_addr().context("listener has no address")?;
        let shared = if self.settings.http.inherit_stdin {
            Some(inherited_listener()?)
        } else {
            None
        };
        let consumers: Vec<Arc<ConsumerGroup>> = match &bus {
            Some(bus) => self
                .subscriptions
                .drain(..)
                .map(|s| {
                    ConsumerGroup::new(
                        bus.clone(),
                        s,
                        self.settings.consumer.clone(),
                        self.metrics.clone(),
                    )
                })
                .collect(),
            None => Vec::new(),
        };
        let stop = CancellationToken::new();
        let draining = Arc::new(AtomicBool::new(false));
        let admin = AdminState {
            name: self.name.clone(),
            metrics: self.metrics.clone(),
            checks: Arc::new(self.checks),
            draining: draining.clone(),
            consumers: Arc::new(consumers.clone()),
            breakers: Arc::new(self.breakers),
            relays: Arc::new(self.relays.clone()),
        };
        let faults = crate::faults::FaultSwitch::new(self.settings.faults.clone());
        let router = self
            .routes
            .layer(axum::middleware::from_fn_with_state(
                faults.clone(),
                crate::faults::inject,
            ))
            .merge(admin_routes(admin.clone()))
            .route(
                "/admin/faults",
                get(crate::faults::get)
                    .put(crate::faults::set)
                    .with_state(faults),
            )
            .fallback(http::not_found)
            .method_not_allowed_fallback(http::method_not_allowed)
            .layer(axum::middleware::from_fn_with_state(
                self.metrics.clone(),
                http::observe,
            ))
            .layer(axum::middleware::from_fn_with_state(
                draining.clone(),
                http::close_when_draining,
            ));
        tracing::info!(service = %self.name, address = %local, "listening");
        Ok(Application {
            name: self.name,
            listener,
            shared,
            admin,
            address: local,
            router,
            settings: self.settings,
            metrics: self.metrics,
            bus,
            relays: self.relays,
            consumers,
            tasks: self.tasks,
            stop,
            draining,
        })
    }
}

/// A built service, bound to its port and ready to run.
pub struct Application {
    name: String,
    listener: TcpListener,
    shared: Option<TcpListener>,
    admin: AdminState,
    address: SocketAddr,
    router: Router,
    settings: ServiceSettings,
    metrics: Metrics,
    bus: Option<Arc<dyn Bus>>,
    relays: Vec<Arc<dyn OutboxSource>>,
    consumers: Vec<Arc<ConsumerGroup>>,
    tasks: Vec<Task>,
    stop: CancellationToken,
    draining: Arc<AtomicBool>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("name", &self.name)
            .field("address", &self.address)
            .finish()
    }
}

impl Application {
    /// The bound port.
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// The bound address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The metrics registry.
    pub fn metrics(&self) -> Metrics {
        self.metrics.clone()
    }

    /// A token that stops the service gracefully when cancelled (as SIGTERM does).
    pub fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Serves until SIGTERM, Ctrl-C or the stop token; then shuts down gracefully.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let Application {
            name,
            listener,
            shared,
            admin,
            router,
            settings,
            bus,
            relays,
            consumers,
            tasks,
            stop,
            draining,
            metrics,
            address,
        } = self;
        let signal_stop = stop.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = shutdown_signal() => signal_stop.cancel(),
                _ = signal_stop.cancelled() => {}
            }
        });

        let background = TaskTracker::new();
        let handlers_stop = CancellationToken::new();
        let relays_stop = CancellationToken::new();
        let tasks_stop = CancellationToken::new();
        if let Some(bus) = &bus {
            let owner = crate::consumer::new_member_id();
            for source in relays {
                let relay = Relay::new(
                    source,
                    bus.clone(),
                    &owner,
                    settings.relay.clone(),
                    metrics.clone(),
                );
                background.spawn(relay.run(relays_stop.clone()));
            }
        }
        let consumer_tracker = TaskTracker::new();
        for consumer in consumers {
            consumer_tracker.spawn(consumer.run(handlers_stop.clone()));
        }
        let task_tracker = TaskTracker::new();
        for task in tasks {
            task_tracker.spawn(task(tasks_stop.clone()));
        }

        let http_stop = CancellationToken::new();
        let router_for_shared = router.clone();
        let serve = {
            let http_stop = http_stop.clone();
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move { http_stop.cancelled().await })
        };
        let server = tokio::spawn(async move { serve.await });
        // The shared listener is let go as soon as the stop comes: what arrives on it from then on
        // waits in the socket's queue for the process that takes over.
        let shared_server =
            shared.map(|listener| handover::serve(listener, router_for_shared, &stop, &http_stop));
        // The replica is in the registry while it is ready, so callers balance over ready
        // replicas only; it withdraws when it starts draining.
        let registrar = settings.discovery.registry().map(|registry| {
            let host = match settings.http.host.as_str() {
                "0.0.0.0" | "::" => "127.0.0.1",
                host => host,
            };
            let entry = registry::Entry {
                registry,
                service: name.rsplit('/').next().unwrap_or(&name).to_owned(),
                url: format!("http://{host}:{}", address.port()),
            };
            tokio::spawn(registry::while_ready(entry, admin, stop.clone()))
        });

        stop.cancelled().await;
        tracing::info!(service = %name, "stopping: not ready any more, draining");
        draining.store(true, Ordering::SeqCst);
        // Callers stop choosing this replica before it turns connections away: they read the
        // registry again within its refresh (twice it, for a call that read it just before).
        let mut drain = Duration::from_millis(settings.http.drain_ms);
        if let Some(registrar) = registrar {
            let _ = registrar.await;
            drain = drain.max(2 * crate::discovery::REFRESH);
        }
        tokio::time::sleep(drain).await;
        let deadline = Duration::from_millis(settings.http.shutdown_timeout_ms);

        http_stop.cancel();
        match tokio::time::timeout(deadline, server).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(error))) => tracing::warn!(error = %error, "HTTP server ended with an error"),
            Ok(Err(error)) => tracing::warn!(error = %error, "HTTP server task failed"),
            Err(_) => tracing::warn!("in-flight requests did not finish in time"),
        }
        if let Some(shared_server) = shared_server
            && tokio::time::timeout(deadline, shared_server).await.is_err()
        {
            tracing::warn!("in-flight requests on the shared listener did not finish in time");
        }
        handlers_stop.cancel();
        consumer_tracker.close();
        if tokio::time::timeout(deadline, consumer_tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("event handlers did not finish in time");
        }
        tasks_stop.cancel();
        task_tracker.close();
        if tokio::time::timeout(deadline, task_tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("background tasks did not finish in time");
        }
        relays_stop.cancel();
        background.close();
        if tokio::time::timeout(deadline, background.wait())
            .await
            .is_err()
        {
            tracing::warn!("the outbox relay did not finish in time");
        }
        tracing::info!(service = %name, "stopped");
        Ok(())
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}

struct BusCheck(Arc<dyn Bus>);

#[async_trait]
impl ReadinessCheck for BusCheck {
    fn name(&self) -> &'static str {
        "bus"
    }

    async fn check(&self) -> anyhow::Result<()> {
        self.0.check().await
    }
}
