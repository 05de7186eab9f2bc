//! The system under a chaos run: `msa up` as a child process on a fresh data directory and a free
//! port offset, with the run's synthetic customers in the embedded issuer's users file; on the
//! prod profile its own databases, key prefix and stream, reached through cuttable TCP proxies.
//! It reads the supervisor's `supervisor.json` to find the processes, asks every process's
//! `/admin/status` for quiescence and dead letters, replays a read model with `msa replay`, and
//! stops and cleans up everything at the end.

use super::faults::Proxy;
use crate::systems;
use anyhow::Context as _;
use kernel::manifest::SystemManifest;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;

/// The servers of the prod profile on this machine.
const POSTGRES: &str = "127.0.0.1:5432";
const MYSQL: &str = "127.0.0.1:3306";
const REDIS: &str = "127.0.0.1:6379";
const NATS: &str = "127.0.0.1:4222";

/// A process the supervisor runs, as `supervisor.json` says.
#[derive(Debug, Clone)]
pub(crate) struct Process {
    pub service: String,
    pub pid: Option<u32>,
    pub url: Option<String>,
}

/// A synthetic customer of the run, signed in.
#[derive(Debug, Clone)]
pub(crate) struct Customer {
    /// The username, which is also the customer (or player) id.
    pub name: String,
    pub token: String,
}

/// The system `msa up` runs for the chaos run.
pub(crate) struct Running {
    pub manifest: SystemManifest,
    pub prod: bool,
    pub data: PathBuf,
    pub offset: u16,
    up: Child,
    /// Settings every process of the run gets (the stream's name on prod).
    env: Vec<(String, String)>,
    config_dir: Option<PathBuf>,
    /// `(server, proxy)` per cuttable server, prod only.
    proxies: Vec<(&'static str, Arc<Proxy>)>,
    /// The run's own name on shared servers (databases, key prefix, stream).
    unique: String,
    stop_proxies: CancellationToken,
    http: reqwest::Client,
}

/// A port offset under which every port of `manifest` is free now.
fn free_offset(manifest: &SystemManifest) -> anyhow::Result<u16> {
    let mut ports: Vec<u16> = manifest.services.iter().map(|s| s.port).collect();
    ports.push(manifest.gateway.port);
    for _ in 0..200 {
        let offset = 20_000 + fastrand::u16(0..200) * 100 + fastrand::u16(0..100);
        let free = ports.iter().all(|p| {
            p.checked_add(offset)
                .is_some_and(|port| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok())
        });
        if free {
            return Ok(offset);
        }
    }
    anyhow::bail!("no free port offset found")
}

impl Running {
    /// Starts `system` with `customers` synthetic customers and waits until it is ready.
    pub(crate) async fn start(system: &str, prod: bool, customers: usize) -> anyhow::Result<Self> {
        let manifest = systems::manifest(system)?;
        let unique = format!("chaos_{}_{:08x}", manifest.name, fastrand::u32(..));
        let data = std::env::temp_dir().join(format!("msa-{unique}"));
        std::fs::create_dir_all(&data).with_context(|| format!("cannot create {data:?}"))?;
        let offset = free_offset(&manifest)?;
        let users = data.join("users.json");
        write_users(&users, customers)?;
        let mut env = vec![
            (
                "MSA__AUTH__EMBEDDED_ISSUER__USERS_FILE".to_owned(),
                path(&users),
            ),
            (
                "MSA__AUTH__EMBEDDED_ISSUER__ACCESS_TOKEN_TTL_S".to_owned(),
                "86400".to_owned(),
            ),
            (
                "MSA__RATE_LIMIT__PER_SECOND".to_owned(),
                "100000".to_owned(),
            ),
            ("MSA__RATE_LIMIT__BURST".to_owned(), "100000".to_owned()),
        ];
        let stop_proxies = CancellationToken::new();
        let mut proxies = Vec::new();
        let mut config_dir = None;
        if prod {
            for server in [POSTGRES, MYSQL, REDIS, NATS] {
                let proxy = Proxy::start(server.to_owned(), stop_proxies.clone()).await?;
                proxies.push((server, proxy));
            }
            let dir = data.join("config");
            write_prod_settings(&dir, &manifest, &unique, &proxies)?;
            config_dir = Some(dir);
            env.push(("MSA__BUS__SYSTEM".to_owned(), unique.clone()));
        }
        let up = spawn_up(
            &manifest,
            &data,
            offset,
            config_dir.as_deref(),
            &proxies,
            &env,
        )?;
        let running = Self {
            manifest,
            prod,
            data,
            offset,
            up,
            env,
            config_dir,
            proxies,
            unique,
            stop_proxies,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .expect("a plain client builds"),
        };
        running.ready().await?;
        Ok(running)
    }

    async fn ready(&self) -> anyhow::Result<()> {
        let start = Instant::now();
        let health = format!("{}/health/ready", self.gateway());
        while start.elapsed() < Duration::from_secs(240) {
            let answers = self.http.get(&health).send().await;
            if answers.is_ok_and(|r| r.status().is_success()) && !self.processes().is_empty() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        anyhow::bail!(
            "the system did not get ready; see {}",
            self.up_log().display()
        )
    }

    fn up_log(&self) -> PathBuf {
        self.data.join("up.log")
    }

    /// The gateway's public URL.
    pub(crate) fn gateway(&self) -> String {
        format!(
            "http://127.0.0.1:{}",
            self.manifest.gateway.port + self.offset
        )
    }

    fn system_data(&self) -> PathBuf {
        self.data.join(&self.manifest.name)
    }

    /// The processes the supervisor runs now.
    pub(crate) fn processes(&self) -> Vec<Process> {
        let state = self.system_data().join(crate::control::STATE);
        let state: Value = std::fs::read(state)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or(Value::Null);
        let all = state["processes"].as_array().cloned().unwrap_or_default();
        all.iter()
            .map(|p| Process {
                service: p["service"].as_str().unwrap_or_default().to_owned(),
                pid: p["pid"].as_u64().and_then(|pid| u32::try_from(pid).ok()),
                url: p["url"].as_str().map(str::to_owned),
            })
            .collect()
    }

    /// The proxies in front of the stores (prod).
    pub(crate) fn store_proxies(&self) -> Vec<Arc<Proxy>> {
        let stores = self.proxies.iter().filter(|(server, _)| *server != NATS);
        stores.map(|(_, proxy)| proxy.clone()).collect()
    }

    /// The proxy in front of NATS (prod).
    pub(crate) fn bus_proxies(&self) -> Vec<Arc<Proxy>> {
        let bus = self.proxies.iter().filter(|(server, _)| *server == NATS);
        bus.map(|(_, proxy)| proxy.clone()).collect()
    }

    /// The operator's token (the machine client `msa-ops`).
    pub(crate) async fn ops_token(&self) -> anyhow::Result<String> {
        let secret = self.system_data().join("auth/ops-client-secret");
        let secret = std::fs::read_to_string(&secret)
            .with_context(|| format!("cannot read {}", secret.display()))?;
        let request = self
            .http
            .post(format!("{}/oauth2/token", self.gateway()))
            .basic_auth("msa-ops", Some(secret.trim()))
            .form(&[("grant_type", "client_credentials")]);
        super::signin::access_token(request, "the operator").await
    }

    /// Signs the run's synthetic customers in (authorization code + PKCE, as the web UI does).
    pub(crate) async fn customers(&self, count: usize) -> anyhow::Result<Vec<Customer>> {
        let mut customers = Vec::new();
        for n in 1..=count {
            let name = customer_name(n);
            let token = super::signin::sign_in(&self.gateway(), &name, &password(&name)).await?;
            customers.push(Customer { name, token });
        }
        Ok(customers)
    }

    /// Every process's `/admin/status` (gateways have none), by service; a process that does not
    /// answer is `None`.
    async fn statuses(&self) -> Vec<(String, Option<Value>)> {
        let mut statuses = Vec::new();
        for process in self.processes() {
            let Some(url) = process.url.filter(|_| process.service != "gateway") else {
                continue;
            };
            let answer = self.http.get(format!("{url}/admin/status")).send().await;
            let status = match answer {
                Ok(response) if response.status().is_success() => response.json().await.ok(),
                _ => None,
            };
            statuses.push((process.service, status));
        }
        statuses
    }

    /// Waits until every process is ready, every partition of every consumer group is read
    /// with no lag and no outbox holds anything, three times in a row; `Err` names what is
    /// still busy when `patience` runs out.
    pub(crate) async fn quiesce(&self, patience: Duration) -> anyhow::Result<Duration> {
        let start = Instant::now();
        let mut calm = 0;
        let mut busy = String::new();
        while start.elapsed() < patience {
            busy = busy_parts(&self.statuses().await, self.manifest.partitions);
            calm = if busy.is_empty() { calm + 1 } else { 0 };
            if calm == 3 {
                return Ok(start.elapsed());
            }
            // Consumers measure their lag every two seconds.
            tokio::time::sleep(Duration::from_millis(1_100)).await;
        }
        anyhow::bail!("still busy after {patience:?}: {busy}")
    }

    /// Dead letters parked per service (only the ones that have any).
    pub(crate) async fn dead_letters(&self) -> Vec<(String, u64)> {
        let mut parked = Vec::new();
        for (service, status) in self.statuses().await {
            let count = status.as_ref().and_then(|s| s["dead_letters"].as_u64());
            match count {
                Some(0) => {}
                Some(n) => parked.push((service, n)),
                None => parked.push((format!("{service} (no status)"), 1)),
            }
        }
        parked
    }

    /// `msa replay <system>/<service> --from-start` against the running system.
    pub(crate) async fn replay(&self, service: &str) -> anyhow::Result<()> {
        let exe = std::env::current_exe().context("cannot find the msa binary")?;
        let mut command = Command::new(exe);
        command
            .arg("--data")
            .arg(&self.data)
            .arg("replay")
            .arg(format!("{}/{service}", self.manifest.name))
            .arg("--from-start")
            .args(["--port-offset", &self.offset.to_string()])
            .args(["--profile", if self.prod { "prod" } else { "embedded" }])
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        if let Some(dir) = &self.config_dir {
            command
                .arg("--config")
                .arg(dir.join(format!("{service}.toml")));
        }
        if let Some((_, nats)) = self.proxies.iter().find(|(server, _)| *server == NATS) {
            command.env("MSA__BUS__URL", format!("nats://127.0.0.1:{}", nats.port));
        }
        let output = command.output().await.context("cannot run msa replay")?;
        anyhow::ensure!(
            output.status.success(),
            "msa replay failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(())
    }

    /// Stops `msa up` as Ctrl-C does, then removes what the run left: its databases, keys and
    /// stream on prod, and its data directory unless `keep`.
    pub(crate) async fn stop(mut self, keep: bool) {
        if let Some(pid) = self.up.id() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGINT,
            );
        }
        if tokio::time::timeout(Duration::from_secs(90), self.up.wait())
            .await
            .is_err()
        {
            let _ = self.up.kill().await;
        }
        self.stop_proxies.cancel();
        if self.prod {
            super::cleanup::prod(&self.manifest, &self.unique).await;
        }
        if !keep {
            let _ = std::fs::remove_dir_all(&self.data);
        }
    }
}

fn path(file: &Path) -> String {
    file.to_string_lossy().into_owned()
}

/// What is not quiet yet: processes not ready or not answering, partitions unread or lagging,
/// outbox rows not published; empty when all is quiet.
fn busy_parts(statuses: &[(String, Option<Value>)], partitions: u32) -> String {
    let mut busy = Vec::new();
    let mut groups: std::collections::HashMap<String, usize> = Default::default();
    for (service, status) in statuses {
        let Some(status) = status else {
            busy.push(format!("{service} does not answer"));
            continue;
        };
        if status["ready"]["status"] != "ready" {
            busy.push(format!("{service} is not ready"));
        }
        if status["outbox_backlog"].as_u64().unwrap_or(0) > 0 {
            busy.push(format!("{service}'s outbox"));
        }
        for consumer in status["consumers"].as_array().into_iter().flatten() {
            let group = consumer["group"].as_str().unwrap_or_default().to_owned();
            let owned = consumer["partitions"].as_array().map_or(0, Vec::len);
            *groups.entry(group.clone()).or_default() += owned;
            let lag: u64 = consumer["lag"]
                .as_object()
                .map_or(0, |lag| lag.values().filter_map(Value::as_u64).sum());
            if lag > 0 {
                busy.push(format!("{group} lags {lag}"));
            }
        }
    }
    for (group, owned) in groups {
        if owned < partitions as usize {
            busy.push(format!("{group} reads {owned} of {partitions} partitions"));
        }
    }
    busy.join(", ")
}

/// The n-th synthetic customer's username.
fn customer_name(n: usize) -> String {
    format!("chaos-customer-{n}")
}

/// A synthetic customer's password (the users file holds only its hash; the data directory is
/// the run's own).
fn password(name: &str) -> String {
    format!("{name}-chaos-password")
}

/// The embedded issuer's users file with `count` synthetic customers (role customer, their
/// username as their customer id).
fn write_users(file: &Path, count: usize) -> anyhow::Result<()> {
    let users: Vec<Value> = (1..=count)
        .map(|n| {
            let name = customer_name(n);
            serde_json::json!({
                "username": name,
                "password_hash": auth::hash_password(&password(&name)),
                "roles": ["customer"],
                "name": format!("Chaos customer {n}"),
                "customer_id": name,
            })
        })
        .collect();
    let text = serde_json::json!({ "users": users }).to_string();
    std::fs::write(file, text).with_context(|| format!("cannot write {}", file.display()))
}

/// Each service's settings on prod: its store on the run's own database (or key prefix), through
/// the proxy in front of that server.
fn write_prod_settings(
    dir: &Path,
    manifest: &SystemManifest,
    unique: &str,
    proxies: &[(&'static str, Arc<Proxy>)],
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let port = |server: &str| {
        let found = proxies.iter().find(|(s, _)| *s == server);
        found.map_or(0, |(_, proxy)| proxy.port)
    };
    for service in &manifest.services {
        let database = format!("{unique}_{}", service.name);
        let scheme = service.prod_store.split(':').next().unwrap_or_default();
        let url = match scheme {
            "postgres" | "postgresql" => format!(
                "postgres://postgres@127.0.0.1:{}/{database}",
                port(POSTGRES)
            ),
            "mysql" | "mariadb" => format!("mysql://root@127.0.0.1:{}/{database}", port(MYSQL)),
            "redis" => format!(
                "redis://127.0.0.1:{}/0?prefix={unique}:{}",
                port(REDIS),
                service.name
            ),
            _ => continue,
        };
        let file = dir.join(format!("{}.toml", service.name));
        std::fs::write(&file, format!("[store]\nurl = \"{url}\"\n"))
            .with_context(|| format!("cannot write {}", file.display()))?;
    }
    Ok(())
}

/// `msa up` for the run, its output in `<data>/up.log`.
fn spawn_up(
    manifest: &SystemManifest,
    data: &Path,
    offset: u16,
    config_dir: Option<&Path>,
    proxies: &[(&'static str, Arc<Proxy>)],
    env: &[(String, String)],
) -> anyhow::Result<Child> {
    let exe = std::env::current_exe().context("cannot find the msa binary")?;
    let log = std::fs::File::create(data.join("up.log")).context("cannot create up.log")?;
    let mut command = Command::new(exe);
    command
        .arg("--data")
        .arg(data)
        .args(["up", "--system", &manifest.name])
        .args(["--port-offset", &offset.to_string()])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(log.try_clone().context("cannot share up.log")?)
        .stderr(log)
        .kill_on_drop(true);
    if let Some(dir) = config_dir {
        command
            .args(["--profile", "prod"])
            .arg("--config-dir")
            .arg(dir);
    }
    if let Some((_, nats)) = proxies.iter().find(|(server, _)| *server == NATS) {
        command.args(["--bus", &format!("nats://127.0.0.1:{}", nats.port)]);
    }
    command.spawn().context("cannot start msa up")
}
