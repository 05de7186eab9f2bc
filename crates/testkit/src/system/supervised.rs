//! A system run by `msa up` itself — the supervisor, its probes, restarts, `msa scale` and
//! `msa rollout` — rather than process by process, for the operations tests; and a steady load
//! of a system's main command through the gateway to run while they work. Embedded profile only
//! (`msa up --profile prod` uses the manifest's fixed database names, which parallel tests would
//! share).

use super::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A port offset under which every port of `manifest` is free now (below the kernel's ephemeral
/// range, and away from the ranges the other `msa up` tests use).
fn free_offset(manifest: &SystemManifest) -> u16 {
    let mut ports: Vec<u16> = manifest.services.iter().map(|s| s.port).collect();
    // `msa up --monitor`'s Prometheus and Alertmanager too.
    ports.extend([manifest.gateway.port, 9090, 9093]);
    for _ in 0..200 {
        let offset = 1_000 + fastrand::u16(0..99) * 100 + fastrand::u16(0..100);
        let free = ports
            .iter()
            .all(|p| std::net::TcpListener::bind(("127.0.0.1", p + offset)).is_ok());
        if free {
            return offset;
        }
    }
    panic!("no free port offset found");
}

impl TestSystem {
    /// Runs `manifest`'s system with `msa up` (the `binary`) on a fresh data directory and a free
    /// port offset, waits until it says everything is ready, and signs the operator in.
    pub async fn supervised(binary: &str, manifest: &str) -> Self {
        Self::supervised_with(binary, manifest, &[]).await
    }

    /// [`Self::supervised`] with more arguments for `msa up` (`--monitor-fast`, say).
    pub async fn supervised_with(binary: &str, manifest: &str, extra: &[&str]) -> Self {
        let mut system = Self::new(binary, manifest, Options::default());
        let offset = free_offset(&system.manifest);
        {
            let mut ports = system.ports.lock().unwrap();
            for service in &system.manifest.services {
                ports.insert(
                    service.name.clone(),
                    crate::ports::Port::fixed(service.port + offset),
                );
            }
            ports.insert(
                "gateway".to_owned(),
                crate::ports::Port::fixed(system.manifest.gateway.port + offset),
            );
        }
        let log = std::fs::File::create(system.dir.path().join("up.log")).unwrap();
        let child = Command::new(&system.binary)
            .arg("--data")
            .arg(system.dir.path())
            .args(["up", "--system", &system.manifest.name, "--port-offset"])
            .arg(offset.to_string())
            .args(extra)
            .env("MSA_LOG", "info")
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .expect("msa up starts");
        system.procs.insert("up".to_owned(), Proc { child });
        let what = format!("msa up runs {}", system.manifest.name);
        crate::eventually(4 * PATIENCE, &what, || async {
            system
                .log("up")
                .contains("Ctrl-C stops everything")
                .then_some(())
        })
        .await;
        let secret = system
            .dir
            .path()
            .join(&system.manifest.name)
            .join("auth/ops-client-secret");
        system.ops_secret = std::fs::read_to_string(secret).unwrap().trim().to_owned();
        system.admin_token = system.client_token().await;
        system
    }

    /// The port offset `msa up` runs under.
    pub fn port_offset(&self) -> u16 {
        self.port("gateway", None) - self.manifest.gateway.port
    }

    /// What `msa up` printed so far.
    pub fn up_log(&self) -> String {
        self.log("up")
    }

    /// Runs `msa <args>` against this system's data directory; returns what it printed and
    /// whether it succeeded.
    pub async fn msa(&self, args: &[&str]) -> (bool, String) {
        let output = Command::new(&self.binary)
            .arg("--data")
            .arg(self.dir.path())
            .args(args)
            .output()
            .await
            .unwrap();
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (output.status.success(), printed)
    }

    /// `msa rollout <system>/<service>`, which must succeed; returns what it printed.
    pub async fn rollout(&self, service: &str) -> String {
        let target = format!("{}/{service}", self.manifest.name);
        let (done, printed) = self.msa(&["rollout", &target]).await;
        assert!(done, "msa rollout {target} failed: {printed}");
        printed
    }

    /// `msa scale <system>/<service>=<replicas>`, which must succeed; returns what it printed.
    pub async fn scale(&self, service: &str, replicas: usize) -> String {
        let target = format!("{}/{service}={replicas}", self.manifest.name);
        let (done, printed) = self.msa(&["scale", &target]).await;
        assert!(done, "msa scale {target} failed: {printed}");
        printed
    }

    /// What the supervisor says of its processes (`<data>/<system>/supervisor.json`).
    pub fn supervisor_state(&self) -> Value {
        let path = self
            .dir
            .path()
            .join(&self.manifest.name)
            .join("supervisor.json");
        serde_json::from_slice(&std::fs::read(path).unwrap_or_default()).unwrap_or(Value::Null)
    }

    /// The supervisor's processes of `service` (`label`, `pid`, `url`, `restarts`,
    /// `last_restart`).
    pub fn supervised_processes(&self, service: &str) -> Vec<Value> {
        self.supervisor_state()["processes"]
            .as_array()
            .map(|all| {
                all.iter()
                    .filter(|p| p["service"] == service)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Sends `signal` to every process of `service` the supervisor runs.
    pub fn signal_service(&self, service: &str, signal: Signal) {
        for process in self.supervised_processes(service) {
            let pid = process["pid"].as_i64().expect("a running process") as i32;
            kill(Pid::from_raw(pid), signal).unwrap();
        }
    }

    /// Waits until the supervisor has restarted (the first process of) `service` more than
    /// `before` times and it runs again; returns the last restart's reason.
    pub async fn restarted(&self, service: &str, before: u64) -> String {
        let what = format!("the supervisor restarts {service}");
        crate::eventually(4 * PATIENCE, &what, || async {
            let processes = self.supervised_processes(service);
            let first = processes.first()?;
            let again = first["restarts"].as_u64()? > before && first["pid"].is_number();
            again.then(|| first["last_restart"]["reason"].to_string())
        })
        .await
    }

    /// How many replicas of `service` the system's registry lists now (those that are ready).
    pub fn registered(&self, service: &str) -> usize {
        let registry = self.dir.path().join(&self.manifest.name).join("registry");
        kernel::discovery::Registry::new(registry)
            .entries(service)
            .len()
    }

    /// The `/admin/status` of the process at `url` (a replica the supervisor started on a free
    /// port: see [`Self::supervised_processes`]).
    pub async fn admin_status_at(&self, url: &str) -> Value {
        let response = self.client.get(format!("{url}/admin/status")).send();
        response.await.unwrap().json().await.unwrap()
    }

    /// The `/metrics` text of the process at `url`.
    pub async fn metrics_at(&self, url: &str) -> String {
        let response = self.client.get(format!("{url}/metrics")).send();
        response.await.unwrap().text().await.unwrap()
    }

    /// Exchanges a refresh token at the gateway (as the web UI does); (status, token response).
    pub async fn refresh(&self, refresh_token: &str) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}/oauth2/token", self.gateway()))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
                ("client_id", "msa-web"),
            ])
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// `msa status` for this system, which must succeed.
    pub async fn status(&self) -> String {
        let offset = self.port_offset();
        let (done, printed) = self
            .msa(&[
                "status",
                "--system",
                &self.manifest.name,
                "--port-offset",
                &offset.to_string(),
            ])
            .await;
        assert!(done, "msa status failed: {printed}");
        printed
    }

    /// Rolls out every service, then the gateway, one after the other, under a steady load of
    /// `rate` calls a second of `call`, and returns every answer of the load.
    pub async fn roll_everything_under_load<F, Fut>(&self, rate: u32, call: F) -> Vec<(u16, Value)>
    where
        F: Fn(u64) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = (u16, Value)> + Send + 'static,
    {
        let load = self.steady_load(rate, call);
        for service in self.services() {
            let printed = self.rollout(&service).await;
            assert!(printed.contains("the old process stopped"), "{printed}");
        }
        let answers = load.finish().await;
        println!(
            "{} calls during the rollout, {} sent again after a closed keep-alive connection",
            answers.len(),
            RESENT.load(Ordering::SeqCst)
        );
        let failed: Vec<&(u16, Value)> = answers
            .iter()
            .filter(|(s, _)| !(200..300).contains(s))
            .collect();
        assert!(
            failed.is_empty(),
            "{} of {} requests failed during the rollout: {failed:?}",
            failed.len(),
            answers.len()
        );
        answers
    }

    /// The operations drill every system runs through `msa up`: its read model (`view_service`)
    /// frozen with SIGSTOP while the main command goes on is replaced by the supervisor (the
    /// reason says liveness), then every service and the gateway are rolled out under a steady
    /// load of `rate` commands a second; no command fails, and every one settles on the read
    /// model. Returns how many commands were made.
    pub async fn heal_and_roll(&mut self, drill: Drill, rate: u32) -> usize {
        self.signal_service(drill.view_service, Signal::SIGSTOP);
        let mut answers = Vec::new();
        for n in 0..3 {
            answers.push((drill.command)(n).await);
        }
        let reason = self.restarted(drill.view_service, 0).await;
        assert!(reason.contains("liveness probe"), "{reason}");
        let command = drill.command.clone();
        answers.extend(
            self.roll_everything_under_load(rate, move |n| command(1_000 + n))
                .await,
        );
        assert!(answers.len() > 30, "the load ran through the rollout");
        for (status, answer) in &answers {
            assert!((200..300).contains(status), "{status} {answer}");
            let path = (drill.view)(answer);
            self.view_until(&drill.token, &path, "settled", drill.settled)
                .await;
        }
        self.interrupt().await;
        answers.len()
    }

    /// Stops `msa up` as Ctrl-C does and waits until it has stopped everything.
    pub async fn interrupt(&mut self) {
        let mut up = self.procs.remove("up").expect("msa up runs");
        kill(Pid::from_raw(up.child.id().unwrap() as i32), Signal::SIGINT).unwrap();
        let status = tokio::time::timeout(4 * PATIENCE, up.child.wait())
            .await
            .expect("msa up stops on Ctrl-C")
            .unwrap();
        assert!(status.success(), "msa up exited with {status}");
    }

    /// A call for [`Self::steady_load`]: call `n` POSTs `body` to `path` through the gateway as
    /// `token` with the `Idempotency-Key` `<prefix>-<n>`, and answers (status, body), or (0, why)
    /// when no answer came.
    pub fn poster(&self, token: &str, path: &str, prefix: &str, body: Value) -> Poster {
        let (client, url) = (self.client.clone(), format!("{}{path}", self.gateway()));
        let (token, prefix) = (token.to_owned(), prefix.to_owned());
        Arc::new(move |n| {
            let request = client
                .post(&url)
                .bearer_auth(&token)
                .header("idempotency-key", format!("{prefix}-{n}"))
                .json(&body);
            Box::pin(answer(request))
        })
    }

    /// A read for [`Self::steady_load`]: `GET path` through the gateway as `token`, answering
    /// (status, body), or (0, why) when no answer came.
    pub fn getter(&self, token: &str, path: &str) -> Poster {
        let (client, url) = (self.client.clone(), format!("{}{path}", self.gateway()));
        let token = token.to_owned();
        Arc::new(move |_| {
            let request = client.get(&url).bearer_auth(&token);
            Box::pin(answer(request))
        })
    }

    /// Starts a steady load: `rate` calls a second of `call(n)` (n = 0, 1, …), each one's answer
    /// kept, until [`Load::finish`].
    pub fn steady_load<F, Fut>(&self, rate: u32, call: F) -> Load
    where
        F: Fn(u64) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = (u16, Value)> + Send + 'static,
    {
        let running = Arc::new(AtomicBool::new(true));
        let call = Arc::new(call);
        let task = {
            let running = running.clone();
            tokio::spawn(async move {
                let mut answers = Vec::new();
                let mut tick = tokio::time::interval(Duration::from_secs(1) / rate);
                let mut n = 0;
                while running.load(Ordering::SeqCst) {
                    tick.tick().await;
                    let call = call.clone();
                    answers.push(tokio::spawn(async move { call(n).await }));
                    n += 1;
                }
                let mut results = Vec::new();
                for answer in answers {
                    results.push(answer.await.unwrap());
                }
                results
            })
        };
        Load { running, task }
    }
}

/// How many calls of the load were sent again after a keep-alive connection failed before any
/// answer (see [`answer`]).
pub(crate) static RESENT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// (status, body) of `request`, or (0, why) when no answer came. A request that fails before any
/// answer is sent once more, as browsers and Go's HTTP client do for a request that is safe to
/// repeat (every call here is a GET or carries an `Idempotency-Key`): a keep-alive connection the
/// server closed while idle can fail the request that was just being written on it, which no
/// server can prevent. Nothing else is retried; [`RESENT`] counts these.
async fn answer(request: reqwest::RequestBuilder) -> (u16, Value) {
    let again = request.try_clone();
    let sent = match (request.send().await, again) {
        (Err(error), Some(again)) if error.is_request() || error.is_connect() => {
            let why = chain(&error);
            RESENT.fetch_add(1, Ordering::SeqCst);
            eprintln!("sent again after: {why}");
            again.send().await
        }
        (sent, _) => sent,
    };
    match sent {
        Ok(response) => {
            let status = response.status().as_u16();
            (status, response.json().await.unwrap_or(Value::Null))
        }
        Err(error) => (0, Value::String(chain(&error))),
    }
}

/// An error with its causes.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A system's operations drill (see [`TestSystem::heal_and_roll`]).
pub struct Drill {
    /// Who makes the commands and reads the read model.
    pub token: String,
    /// The read model's service, the one frozen.
    pub view_service: &'static str,
    /// The main command, call `n` (its key unique per `n`).
    pub command: Poster,
    /// The read model's document of a command, from the command's answer.
    pub view: fn(&Value) -> String,
    /// Whether that document shows the command settled.
    pub settled: fn(&Value) -> bool,
}

/// A keyed call through the gateway (see [`TestSystem::poster`]).
pub type Poster = Arc<
    dyn Fn(u64) -> std::pin::Pin<Box<dyn std::future::Future<Output = (u16, Value)> + Send>>
        + Send
        + Sync,
>;

/// A steady load running; [`Load::finish`] stops it and returns every answer.
pub struct Load {
    running: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<Vec<(u16, Value)>>,
}

impl Load {
    /// Stops sending and waits for every answer: `(status, body)` in the order sent.
    pub async fn finish(self) -> Vec<(u16, Value)> {
        self.running.store(false, Ordering::SeqCst);
        self.task.await.unwrap()
    }
}
