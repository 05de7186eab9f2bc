//! A system of real processes (`msa serve <system>/<service>` for each service of its
//! manifest, and the gateway) on free ports and a temporary data directory, with helpers to
//! drive it through the gateway: sign in (client credentials, or authorization code + PKCE as a
//! browser does), call with a token, wait until ready, stop, kill, restart. In the `prod` profile
//! every service whose manifest names a server store gets its own database or key prefix, and
//! the bus is a NATS stream of its own; [`TestSystem::cleanup`] removes them.

use crate::{TempDir, unique_name};
use kernel::manifest::SystemManifest;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;
use std::collections::HashMap;
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};

mod calls;
mod logs;
mod supervised;
mod tokens;
pub use calls::{Authorized, Event, EventStream};
pub use supervised::{Drill, Load, Poster};

/// How long the harness waits for a process or an answer.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// Which bus the processes share.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bus {
    Local,
    Nats,
}

/// Where the services keep their data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// SQLite files and the bus of `Options::bus`.
    Embedded,
    /// The manifest's production stores (PostgreSQL, MariaDB, Redis, SQLite) and NATS, each test
    /// in its own databases, key prefixes and stream.
    Prod,
}

/// Knobs of a test system.
#[derive(Clone, Debug)]
pub struct Options {
    pub profile: Profile,
    pub bus: Bus,
    /// Extra environment for every service.
    pub env: Vec<(String, String)>,
}

impl Options {
    /// The defaults, in `profile`.
    pub fn of(profile: Profile) -> Self {
        Self {
            profile,
            ..Self::default()
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Self {
            profile: Profile::Embedded,
            bus: Bus::Local,
            env: Vec::new(),
        }
    }
}

struct Proc {
    child: Child,
}

/// A running test system.
pub struct TestSystem {
    /// The data directory.
    pub dir: TempDir,
    ports: std::sync::Mutex<HashMap<String, crate::ports::Port>>,
    /// A client for calls.
    pub client: reqwest::Client,
    /// A token of the operator's machine client (role admin), used by the helpers below.
    pub admin_token: String,
    /// The machine client's secret, given to the gateway through its environment.
    pub ops_secret: String,
    /// Whether a fuzzer fed it: its random digit runs reach the logs as ids, so the log scan
    /// looks for the known secrets and token and key shapes, not for any Luhn-valid number.
    pub fuzzed: bool,
    system_name: String,
    binary: String,
    manifest: SystemManifest,
    options: Options,
    procs: HashMap<String, Proc>,
    service_env: Vec<(String, String, String)>,
}

fn label(service: &str, replica: Option<u16>) -> String {
    match replica {
        None | Some(0) => service.to_owned(),
        Some(n) => format!("{service}-{}", n + 1),
    }
}

impl TestSystem {
    /// Starts every service of `manifest` (a `system.toml`) and the gateway with `binary` (the
    /// `msa` binary), and waits until each is ready.
    pub async fn start(binary: &str, manifest: &str, options: Options) -> Self {
        let mut system = Self::new(binary, manifest, options);
        system.start_all().await;
        system
    }

    /// The services' names, then `gateway`.
    pub fn services(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .manifest
            .services
            .iter()
            .map(|s| s.name.clone())
            .collect();
        names.push("gateway".to_owned());
        names
    }

    /// Starts every service of a system made with [`Self::new`] and waits until each is ready.
    pub async fn start_all(&mut self) {
        let services = self.services();
        for service in &services {
            self.spawn(service, service, None).await;
        }
        for service in &services {
            self.wait_ready(service, None).await;
        }
        self.admin_token = self.client_token().await;
    }

    /// Sets an environment variable of one service (before it starts).
    pub fn set_service_env(&mut self, service: &str, key: &str, value: &str) {
        self.service_env
            .push((service.to_owned(), key.to_owned(), value.to_owned()));
    }

    /// The store URL `service` uses in the prod profile: its own database or key prefix on the
    /// server its manifest names; `None` for a SQLite file (in the data directory anyway).
    pub fn prod_store_url(&self, service: &str) -> Option<String> {
        let entry = self.manifest.service(service)?;
        let scheme = entry.prod_store.split(':').next().unwrap_or_default();
        match scheme {
            "postgres" | "postgresql" => {
                Some(crate::servers::postgres_url(&self.database(service)))
            }
            "mysql" | "mariadb" => Some(crate::servers::mysql_url(&self.database(service))),
            "redis" => Some(crate::servers::redis_url(&format!(
                "{}:{service}",
                self.system_name
            ))),
            _ => None,
        }
    }

    /// A system with nothing started yet.
    pub fn new(binary: &str, manifest: &str, options: Options) -> Self {
        let manifest = SystemManifest::parse(manifest).expect("a valid manifest");
        Self {
            dir: TempDir::new(&manifest.name),
            ports: std::sync::Mutex::new(HashMap::new()),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            admin_token: String::new(),
            ops_secret: unique_name("ops-secret"),
            fuzzed: false,
            system_name: unique_name(&manifest.name),
            binary: binary.to_owned(),
            manifest,
            options,
            procs: HashMap::new(),
            service_env: Vec::new(),
        }
    }

    /// The port of a service (replica `n` of it), chosen on first use and kept across restarts.
    pub fn port(&self, service: &str, replica: Option<u16>) -> u16 {
        self.ports
            .lock()
            .unwrap()
            .entry(label(service, replica))
            .or_insert_with(crate::ports::Port::take)
            .number()
    }

    /// The base URL of a service (its first replica).
    pub fn url(&self, service: &str) -> String {
        format!("http://127.0.0.1:{}", self.port(service, None))
    }

    /// The gateway's base URL.
    pub fn gateway(&self) -> String {
        self.url("gateway")
    }

    /// Starts `service` with extra environment (a crash point, say); does not wait for it.
    pub async fn spawn_with(&mut self, service: &str, extra: &[(&str, &str)]) {
        let saved = self.options.env.clone();
        self.options.env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        self.spawn(service, service, None).await;
        self.options.env = saved;
    }

    /// Waits until process `label` exits, forgets it, and returns how it exited.
    pub async fn wait_exit(&mut self, label: &str) -> std::process::ExitStatus {
        let mut proc = self.procs.remove(label).expect("a running process");
        tokio::time::timeout(PATIENCE, proc.child.wait())
            .await
            .expect("the process exits in time")
            .unwrap()
    }

    /// Starts process `label` of `service` (replica `n` listens 100·n ports higher).
    pub async fn spawn(&mut self, label: &str, service: &str, replica: Option<u16>) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join(format!("{label}.log")))
            .unwrap();
        let mut command = Command::new(&self.binary);
        command
            .arg("--data")
            .arg(self.dir.path())
            .arg("serve")
            .arg(format!("{}/{service}", self.manifest.name))
            .env("MSA_LOG", "info")
            .env("MSA__HTTP__PORT", self.port(service, replica).to_string())
            .env("MSA__CONSUMER__HEARTBEAT_MS", "100")
            .env("MSA__CONSUMER__LEASE_MS", "1000")
            .env("MSA__CONSUMER__BACKOFF_MS", "50")
            .env("MSA__BUS__POLL_MS", "10")
            .env("MSA__BUS__ACK_WAIT_MS", "2000")
            .env("MSA__BUS__SYSTEM", &self.system_name)
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .kill_on_drop(true);
        if self.options.bus == Bus::Nats || self.options.profile == Profile::Prod {
            command.env("MSA__BUS__URL", crate::nats_url());
        }
        if self.options.profile == Profile::Prod
            && let Some(url) = self.prod_store_url(service)
        {
            command.env("MSA__STORE__URL", url);
        }
        let calls = self.manifest.service(service).map(|s| s.calls.clone());
        for callee in calls.unwrap_or_default() {
            command.env(
                format!("MSA__{}__URL", callee.to_uppercase()),
                self.url(&callee),
            );
        }
        if service == "gateway" {
            let gateway = self.gateway();
            command
                .env(
                    "MSA__AUTH__EMBEDDED_ISSUER__OPS_CLIENT_SECRET",
                    &self.ops_secret,
                )
                .env("MSA__AUTH__ISSUER", &gateway)
                .env(
                    "MSA__AUTH__EMBEDDED_ISSUER__WEB_REDIRECT_URIS",
                    format!("[\"{gateway}/\"]"),
                );
            for upstream in &self.manifest.services {
                command.env(
                    format!("MSA__UPSTREAMS__{}", upstream.name.to_uppercase()),
                    self.url(&upstream.name),
                );
            }
        }
        for (key, value) in &self.options.env {
            command.env(key, value);
        }
        for (_, key, value) in self.service_env.iter().filter(|(s, _, _)| s == service) {
            command.env(key, value);
        }
        let child = command.spawn().expect("the binary starts");
        self.procs.insert(label.to_owned(), Proc { child });
    }

    /// Runs `msa replay <system>/<service> --from-start` against the running service (its store
    /// and bus as the service has them) and returns what it printed; it must succeed.
    pub async fn replay(&self, service: &str) -> String {
        let target = format!("{}/{service}", self.manifest.name);
        let mut command = Command::new(&self.binary);
        command
            .arg("--data")
            .arg(self.dir.path())
            .args(["replay", &target, "--from-start", "--service-url"])
            .arg(self.url(service))
            .env("MSA__BUS__SYSTEM", &self.system_name)
            .env("MSA_LOG", "warn");
        if self.options.bus == Bus::Nats || self.options.profile == Profile::Prod {
            command.env("MSA__BUS__URL", crate::nats_url());
        }
        if self.options.profile == Profile::Prod
            && let Some(url) = self.prod_store_url(service)
        {
            command.env("MSA__STORE__URL", url);
        }
        let output = command.output().await.unwrap();
        let printed = String::from_utf8_lossy(&output.stdout).into_owned();
        let errors = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{printed}\n{errors}");
        assert!(printed.contains("now reads generation"), "{printed}");
        printed
    }

    /// Waits until `/health/ready` of the service answers 200 (a process starting among many
    /// on a loaded machine may take a while: twice the usual patience). If it never does, the
    /// panic shows the end of the process's log, so a failed start can be read from the test's
    /// output alone.
    pub async fn wait_ready(&self, service: &str, replica: Option<u16>) {
        let url = format!(
            "http://127.0.0.1:{}/health/ready",
            self.port(service, replica)
        );
        let started = std::time::Instant::now();
        loop {
            let response = self
                .client
                .get(&url)
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            if response.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            if started.elapsed() > PATIENCE * 2 {
                panic!(
                    "{service} was not ready after {:?}; the end of its log:\n{}",
                    PATIENCE * 2,
                    self.log_tail(&label(service, replica))
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops a process gracefully (SIGTERM) and waits for it to exit.
    pub async fn stop(&mut self, label: &str) {
        let mut proc = self.procs.remove(label).expect("a running process");
        if let Some(pid) = proc.child.id() {
            kill(Pid::from_raw(pid as i32), Signal::SIGTERM).unwrap();
        }
        let Ok(status) = tokio::time::timeout(PATIENCE, proc.child.wait()).await else {
            let _ = proc.child.kill().await;
            panic!(
                "{label} did not stop within {PATIENCE:?} of SIGTERM; the end of its log:\n{}",
                self.log_tail(label)
            );
        };
        let status = status.unwrap();
        assert!(
            status.success(),
            "{label} exited with {status} after SIGTERM"
        );
    }

    /// Sends SIGTERM without waiting; [`Self::wait_exit`] waits.
    pub fn terminate(&self, label: &str) {
        let proc = self.procs.get(label).expect("a running process");
        kill(
            Pid::from_raw(proc.child.id().unwrap() as i32),
            Signal::SIGTERM,
        )
        .unwrap();
    }

    /// The log of process `label` so far.
    pub fn log(&self, label: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("{label}.log"))).unwrap_or_default()
    }

    /// The last 30 lines of a process's log.
    fn log_tail(&self, label: &str) -> String {
        let log = self.log(label);
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    }

    /// Kills a process abruptly (SIGKILL).
    pub async fn kill(&mut self, label: &str) {
        let mut proc = self.procs.remove(label).expect("a running process");
        proc.child.kill().await.unwrap();
    }

    /// How many partitions a replica's consumer group owns now (its `/admin/status`).
    pub async fn owned_partitions(&self, service: &str, replica: Option<u16>) -> usize {
        let status = self.admin_status(service, replica).await;
        status["consumers"][0]["partitions"]
            .as_array()
            .map_or(0, Vec::len)
    }

    /// How many events of `event_type` a replica handled (its `/metrics`).
    pub async fn handled(&self, service: &str, replica: Option<u16>, event_type: &str) -> u64 {
        let url = format!("http://127.0.0.1:{}/metrics", self.port(service, replica));
        let text = self
            .client
            .get(url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let wanted = format!("type=\"{event_type}\"");
        text.lines()
            .find(|l| {
                l.starts_with("events_handled_total{")
                    && l.contains(&wanted)
                    && l.contains("outcome=\"handled\"")
            })
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// Starts a stopped service again and waits until it is ready.
    pub async fn restart(&mut self, service: &str) {
        self.spawn(service, service, None).await;
        self.wait_ready(service, None).await;
    }

    /// A replica's `/admin/status` (readiness, breakers, consumers, backlog).
    pub async fn admin_status(&self, service: &str, replica: Option<u16>) -> Value {
        let url = format!(
            "http://127.0.0.1:{}/admin/status",
            self.port(service, replica)
        );
        let response = self.client.get(url).send().await.unwrap();
        response.json().await.unwrap()
    }

    /// Sets a service's injected faults (latency after its commands, an error rate before).
    pub async fn faults(&self, service: &str, latency_ms: u64, error_rate: f64) {
        let response = self
            .client
            .put(format!("{}/admin/faults", self.url(service)))
            .json(&serde_json::json!({ "latencyMs": latency_ms, "errorRate": error_rate }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
    }

    /// The system name the bus uses (unique per test).
    pub fn bus_system(&self) -> &str {
        &self.system_name
    }

    /// This test's database for `service` (prod profile).
    fn database(&self, service: &str) -> String {
        format!("{}_{service}", self.system_name)
    }

    /// Stops every process, removes what the test left on shared servers, then checks that no
    /// log shows a secret or the tests' personal data ([`Self::assert_logs_clean`]).
    pub async fn cleanup(mut self) {
        for label in self.procs.keys().cloned().collect::<Vec<_>>() {
            if let Some(mut proc) = self.procs.remove(&label) {
                let _ = proc.child.kill().await;
            }
        }
        let leaks = self.log_leaks();
        if self.options.bus == Bus::Nats || self.options.profile == Profile::Prod {
            crate::conformance::delete_nats_stream(&self.system_name).await;
        }
        if self.options.profile == Profile::Prod {
            for service in &self.manifest.services {
                let scheme = service.prod_store.split(':').next().unwrap_or_default();
                match scheme {
                    "postgres" | "postgresql" => {
                        crate::servers::drop_postgres(&self.database(&service.name)).await;
                    }
                    "mysql" | "mariadb" => {
                        crate::servers::drop_mysql(&self.database(&service.name)).await;
                    }
                    _ => {}
                }
            }
            if let Ok(store) = kernel::redis::RedisStore::connect(
                &crate::servers::redis_url(&self.system_name),
                "cleanup",
            )
            .await
            {
                let _ = store.delete_under("").await;
            }
        }
        crate::logscan::assert_none(&leaks);
    }
}
