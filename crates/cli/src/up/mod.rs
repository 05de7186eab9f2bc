//! `msa up`: a whole system — or every system, `--system all` — on one machine. Every service
//! runs as its own OS process (this same binary, `msa serve ...`), logs go to
//! `<data>/<system>/logs/`, and the supervisor restarts a process that dies or stops answering its
//! liveness probe (the manifest's `probe`), backing off when it keeps crashing. It keeps each
//! gateway's listening socket itself and hands it to every gateway process it starts, so a
//! restarted or rolled-out gateway refuses nobody. `msa scale` and `msa rollout` reach it through
//! its control socket (`control.rs`, `rollout.rs`); what it did is in
//! `<data>/<system>/supervisor.json` for `msa status`. Ctrl-C stops them all gracefully, gateways
//! first.

use crate::{control, rollout, systems};
use state::{report, write_state};

mod state;
use anyhow::Context as _;
use kernel::discovery::Registry;
use kernel::manifest::Probe;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::process::{Child, Command};

/// A process that crashes within this long of its start is crash-looping: its next start waits,
/// twice as long each time (from [`FIRST_BACKOFF`] up to [`MAX_BACKOFF`]).
const STABLE: Duration = Duration::from_secs(30);
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// `--system all`: every system of the registry at once.
pub(crate) const ALL: &str = "all";

/// What `msa up` was asked to run.
#[derive(Debug, Clone)]
pub(crate) struct UpOptions {
    /// The system, or [`ALL`].
    pub system: String,
    /// Data directory.
    pub data: String,
    /// Port offset.
    pub port_offset: u16,
    /// `local` or a NATS URL.
    pub bus: String,
    /// `embedded` or `prod`.
    pub profile: String,
    /// Extra replicas per service.
    pub replicas: Vec<(String, usize)>,
    /// Per-service settings files (`<service>.toml`), layered over each one's defaults.
    pub config_dir: Option<PathBuf>,
    /// Prometheus and Alertmanager beside the system (`--monitor`).
    pub monitor: Option<crate::monitor::MonitorOptions>,
}

/// Set on the services `msa up` starts: the supervisor's process id.
const SUPERVISOR_PID: &str = "MSA_SUPERVISOR_PID";

/// glibc malloc settings for every service process (unless `GLIBC_TUNABLES` is set already; the
/// container image sets the same): by default glibc gives freed memory back to the kernel at once
/// and serves mid-sized blocks with their own `mmap`, so that a busy service kept unmapping memory
/// (a TLB shootdown on every core each time). Memory a service freed is kept up to 16 MiB for its
/// next request instead; this took an eighth off the CPU per reservation (12.3 → 10.7 ms at 100/s).
pub(crate) const MALLOC_TUNABLES: &str =
    "glibc.malloc.trim_threshold=16777216:glibc.malloc.mmap_threshold=8388608";

/// In a service started by `msa up`: asks the kernel to send SIGTERM when the supervisor dies, so
/// that a killed supervisor does not leave its services running.
pub(crate) fn follow_supervisor() -> anyhow::Result<()> {
    let Some(supervisor) = std::env::var(SUPERVISOR_PID)
        .ok()
        .and_then(|p| p.parse::<i32>().ok())
    else {
        return Ok(());
    };
    nix::sys::prctl::set_pdeathsig(Signal::SIGTERM).context("cannot follow the supervisor")?;
    anyhow::ensure!(
        nix::unistd::getppid().as_raw() == supervisor,
        "the msa up that started this service is gone"
    );
    Ok(())
}

/// Parses `service=N`.
pub(crate) fn parse_replicas(value: &str) -> Result<(String, usize), String> {
    let (service, count) = value
        .split_once('=')
        .ok_or_else(|| format!("expected service=N, got {value:?}"))?;
    let count: usize = count
        .parse()
        .map_err(|_| format!("replica count of {service} must be a number"))?;
    if !(1..=9).contains(&count) {
        return Err(format!("replicas of {service} must be between 1 and 9"));
    }
    Ok((service.to_owned(), count))
}

/// One supervised process: a replica of a service, or a gateway.
pub(crate) struct Process {
    pub(crate) label: String,
    pub(crate) system: String,
    pub(crate) service: String,
    /// Where its log goes.
    logs: PathBuf,
    /// Its system's registry of replicas.
    registry: Registry,
    /// Its port; 0 for an extra replica, which takes a free port and registers it.
    pub(crate) port: u16,
    env: Vec<(String, String)>,
    /// A gateway's public listener, which the supervisor keeps and hands to each process it
    /// starts as its standard input.
    shared: Option<Arc<std::net::TcpListener>>,
    probe: Probe,
    pub(crate) child: Option<Child>,
    failed_probes: u32,
    last_probe: Instant,
    restarts: u32,
    /// Why it was last restarted, and when.
    last_restart: Option<(String, SystemTime)>,
    /// While a crash loop backs off: when to start it again.
    restart_at: Option<Instant>,
    backoff: Duration,
    started: Instant,
    /// The core it runs on (see [`PIN_CPU`]), in the order processes were made.
    cpu: usize,
}

/// `msa serve` runs all its threads on the core this variable names (`msa up` gives each process
/// the next core in turn; `MSA_NO_PIN=1` turns that off). A service's request handling and its
/// SQLite connection threads hand work to one another for every statement; on one core each
/// hand-off is a direct switch, across cores a wake-up with an interrupt to the other core. On
/// this machine (2 cores, 5 processes) pinning cut the CPU per reservation by about a sixth and
/// the p99 at 300 reservations/s from 368 ms to 58 ms.
pub(crate) const PIN_CPU: &str = "MSA_CPU";

/// The core for the `n`-th process, unless `MSA_NO_PIN` is set or there is one core only.
fn pinned_cpu(n: usize) -> Option<usize> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    (cores > 1 && std::env::var_os("MSA_NO_PIN").is_none()).then_some(n % cores)
}

/// The next core a process is pinned to.
fn next_cpu() -> usize {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

fn listen(port: u16) -> anyhow::Result<std::net::TcpListener> {
    std::net::TcpListener::bind(("127.0.0.1", port)).with_context(|| {
        format!(
            "port {port} is in use: is another `msa up` running? Stop it, or pass --port-offset"
        )
    })
}

fn check_port_free(port: u16) -> anyhow::Result<()> {
    listen(port).map(drop)
}

impl Process {
    pub(crate) fn log(&self) -> PathBuf {
        let file = self.label.rsplit('/').next().unwrap_or_default();
        self.logs.join(format!("{file}.log"))
    }

    pub(crate) fn spawn(&mut self, options: &UpOptions) -> anyhow::Result<()> {
        let exe = std::env::current_exe().context("cannot find the msa binary")?;
        let log_path = self.log();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .with_context(|| format!("cannot open {}", log_path.display()))?;
        let mut command = Command::new(exe);
        command
            .arg("--data")
            .arg(&options.data)
            .arg("serve")
            .arg(format!("{}/{}", self.system, self.service))
            .arg("--port-offset")
            .arg(options.port_offset.to_string())
            .arg("--profile")
            .arg(&options.profile)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .args(self.config(options))
            .env("MSA__HTTP__PORT", self.port.to_string())
            .env(SUPERVISOR_PID, std::process::id().to_string())
            .envs(pinned_cpu(self.cpu).map(|cpu| (PIN_CPU, cpu.to_string())))
            .env(
                "GLIBC_TUNABLES",
                std::env::var("GLIBC_TUNABLES").unwrap_or_else(|_| MALLOC_TUNABLES.to_owned()),
            )
            .stdin(match &self.shared {
                Some(listener) => std::process::Stdio::from(std::os::fd::OwnedFd::from(
                    listener
                        .try_clone()
                        .context("cannot share the gateway's listener")?,
                )),
                None => std::process::Stdio::null(),
            })
            .stdout(log.try_clone().context("cannot share the log file")?)
            .stderr(log)
            // Its own process group: a Ctrl-C in the terminal reaches only the supervisor, which
            // then stops the services in order.
            .process_group(0)
            .kill_on_drop(true);
        self.child = Some(
            command
                .spawn()
                .with_context(|| format!("cannot start {}", self.label))?,
        );
        self.started = Instant::now();
        self.failed_probes = 0;
        self.last_probe = Instant::now();
        self.restart_at = None;
        Ok(())
    }

    /// `--config <dir>/<service>.toml` when `msa up --config-dir` has one for this service.
    fn config(&self, options: &UpOptions) -> Vec<std::ffi::OsString> {
        let Some(dir) = &options.config_dir else {
            return Vec::new();
        };
        let file = dir.join(format!("{}.toml", self.service));
        if file.exists() {
            vec!["--config".into(), file.into()]
        } else {
            Vec::new()
        }
    }

    /// A new process in the same place, not started: it takes a free port (the registry makes it
    /// known) and, for a gateway, the same shared listener.
    pub(crate) fn successor(&self, label: String) -> Process {
        Process {
            label,
            service: self.service.clone(),
            shared: self.shared.clone(),
            probe: self.probe,
            cpu: self.cpu,
            ..Process::new(
                self.system.clone(),
                self.logs.clone(),
                self.registry.clone(),
                self.env.clone(),
            )
        }
    }

    /// A process of `system` not started yet, for a service, label and port to be said.
    fn new(
        system: String,
        logs: PathBuf,
        registry: Registry,
        env: Vec<(String, String)>,
    ) -> Process {
        Process {
            label: String::new(),
            system,
            service: String::new(),
            logs,
            registry,
            port: 0,
            env,
            shared: None,
            probe: Probe::default(),
            child: None,
            failed_probes: 0,
            last_probe: Instant::now(),
            restarts: 0,
            last_restart: None,
            restart_at: None,
            backoff: Duration::ZERO,
            started: Instant::now(),
            cpu: next_cpu(),
        }
    }

    /// Where clients reach it: a gateway's public address, else [`Process::url`].
    pub(crate) fn public_url(&self) -> Option<String> {
        match &self.shared {
            Some(listener) => listener.local_addr().ok().map(|a| format!("http://{a}")),
            None => self.url(),
        }
    }

    /// Whether it answers its readiness probe.
    pub(crate) async fn ready(&self, client: &reqwest::Client) -> bool {
        probe(client, self.url(), "/health/ready", self.probe.timeout()).await
    }

    /// Asks it to stop and waits until it has (killing it after `patience`).
    pub(crate) async fn stop(&mut self, patience: Duration) -> String {
        self.terminate();
        let Some(child) = self.child.as_mut() else {
            return "not running".to_owned();
        };
        match tokio::time::timeout(patience, child.wait()).await {
            Ok(Ok(status)) => format!("stopped ({status})"),
            _ => {
                let _ = child.kill().await;
                "killed (did not stop in time)".to_owned()
            }
        }
    }

    /// Records why it stops and when it starts again: at once, unless it keeps crashing soon
    /// after its start, in which case each start waits twice as long as the one before.
    fn schedule_restart(&mut self, reason: String) {
        self.restarts += 1;
        self.backoff = if self.started.elapsed() >= STABLE {
            Duration::ZERO
        } else if self.backoff.is_zero() {
            FIRST_BACKOFF
        } else {
            (self.backoff * 2).min(MAX_BACKOFF)
        };
        eprintln!(
            "{} {reason}; restart #{}{}",
            self.label,
            self.restarts,
            if self.backoff.is_zero() {
                String::new()
            } else {
                format!(" in {} s (crash loop)", self.backoff.as_secs())
            }
        );
        self.last_restart = Some((reason, SystemTime::now()));
        self.restart_at = Some(Instant::now() + self.backoff);
    }

    /// Where it listens: its port, or for an extra replica the address it registered.
    pub(crate) fn url(&self) -> Option<String> {
        if self.port != 0 {
            return Some(format!("http://127.0.0.1:{}", self.port));
        }
        let pid = self.child.as_ref().and_then(Child::id)?;
        self.registry
            .entries(&self.service)
            .into_iter()
            .find(|e| e.pid == pid)
            .map(|e| e.url)
    }

    pub(crate) fn terminate(&self) {
        if let Some(pid) = self.child.as_ref().and_then(Child::id) {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
        }
    }
}

async fn probe(
    client: &reqwest::Client,
    url: Option<String>,
    path: &str,
    timeout: Duration,
) -> bool {
    let Some(url) = url else {
        return false;
    };
    client
        .get(format!("{url}{path}"))
        .timeout(timeout)
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
}

/// The processes of `system`: its services (extra replicas on free ports), then its gateway.
fn processes_of(
    system: &str,
    options: &UpOptions,
    env: &[(String, String)],
) -> anyhow::Result<(Vec<Process>, Process)> {
    let manifest = systems::manifest(system)?;
    let data = systems::system_data(&options.data, &manifest.name);
    let logs = PathBuf::from(&data).join("logs");
    std::fs::create_dir_all(&logs).with_context(|| format!("cannot create {}", logs.display()))?;
    let replicas: HashMap<String, usize> = options.replicas.iter().cloned().collect();
    for name in replicas.keys() {
        anyhow::ensure!(
            manifest.service(name).is_some(),
            "--replicas names {name}, which is not a service of {}",
            manifest.name
        );
    }
    // Callers and the gateway find replicas in the registry (the services' defaults name it):
    // the first replica of a service listens on its declared port, the others on free ports.
    let registry = Registry::new(systems::registry(&data));
    let prefix = if options.system == ALL {
        format!("{system}/")
    } else {
        String::new()
    };
    let process = |label: String, service: &str, port: u16, probe: Probe| Process {
        label: format!("{prefix}{label}"),
        service: service.to_owned(),
        port,
        probe,
        ..Process::new(
            manifest.name.clone(),
            logs.clone(),
            registry.clone(),
            env.to_vec(),
        )
    };
    let mut services = Vec::new();
    for service in &manifest.services {
        let count = replicas.get(&service.name).copied().unwrap_or(1);
        for replica in 0..count {
            let port = if replica == 0 {
                systems::port(service.port, options.port_offset)?
            } else {
                0
            };
            let label = if count > 1 {
                format!("{}-{}", service.name, replica + 1)
            } else {
                service.name.clone()
            };
            services.push(process(label, &service.name, port, service.probe));
        }
    }
    // The gateway's public port is the supervisor's: every gateway process it starts serves
    // that socket (and a private port of its own, where it registers and is probed).
    let public = systems::port(manifest.gateway.port, options.port_offset)?;
    let mut gateway = process("gateway".to_owned(), "gateway", 0, Probe::default());
    gateway.shared = Some(Arc::new(listen(public)?));
    // The issuer's codes and refresh tokens in a file every gateway process of the system shares,
    // so a rolled-out or restarted gateway signs nobody out; the rate budgets in memory (one
    // gateway process, two for a moment during a rollout: no write per request).
    let grants = format!("sqlite://{data}/gateway.db");
    gateway.env = [
        ("MSA__HTTP__INHERIT_STDIN", "true"),
        ("MSA__AUTH__STORE", grants.as_str()),
        ("MSA__RATE_LIMIT__STORE", "memory"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .to_vec();
    Ok((services, gateway))
}

/// Runs the system (or every system) until Ctrl-C or SIGTERM.
pub(crate) async fn run(options: UpOptions) -> anyhow::Result<()> {
    systems::refuse_old_layout(&options.data)?;
    let (names, mut processes) = plan(&options)?;
    // Listen for Ctrl-C and SIGTERM from now on; a signal is never missed between two checks.
    let stop = tokio_util::sync::CancellationToken::new();
    {
        let stop = stop.clone();
        tokio::spawn(async move {
            shutdown_signal().await;
            stop.cancel();
        });
    }
    let client = reqwest::Client::new();
    println!(
        "starting {} ({} profile, bus {}) with data in {}",
        names.join(", "),
        options.profile,
        if options.bus == "local" {
            "local"
        } else {
            &options.bus
        },
        options.data
    );
    for process in processes.iter_mut() {
        process.spawn(&options)?;
    }
    let patience = Duration::from_secs(90 * names.len() as u64);
    let health = start(&mut processes, &client, &stop, patience).await?;
    let monitor = crate::monitor::Monitor::start(
        options.monitor.as_ref(),
        &options.data,
        &options.system,
        options.port_offset,
        &processes,
    );
    let mut monitor = match monitor.await {
        Ok(monitor) => monitor,
        Err(error) => {
            stop_all(&mut processes).await;
            return Err(error);
        }
    };
    if !stop.is_cancelled() {
        report(&processes, &health, &options);
    }
    let (requests, mut incoming) = tokio::sync::mpsc::channel(4);
    let mut sockets = Vec::new();
    for name in &names {
        let dir = systems::system_data(&options.data, name);
        sockets.push(control::listen(&dir, name, requests.clone())?);
    }
    write_state(&processes, &options);
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            Some(request) = incoming.recv() => {
                rollout::operate(&mut processes, request, &client, &options, &stop).await;
                write_state(&processes, &options);
            }
            _ = tick.tick() => {
                if supervise(&mut processes, &client, &options).await {
                    write_state(&processes, &options);
                }
            }
        }
        monitor.targets(&processes);
    }
    drop(sockets);
    println!("stopping...");
    stop_all(&mut processes).await;
    monitor.stop().await;
    Ok(())
}

/// The systems `options` names and their processes: every system's services, then every
/// gateway (stopping runs backwards, gateways first). Their ports must be free.
fn plan(options: &UpOptions) -> anyhow::Result<(Vec<String>, Vec<Process>)> {
    let names = if options.system == ALL {
        anyhow::ensure!(
            options.replicas.is_empty(),
            "--replicas needs one --system (replicas of `all` would be ambiguous)"
        );
        systems::names()?
    } else {
        vec![systems::manifest(&options.system)?.name]
    };
    let mut bus_env = Vec::new();
    if options.bus != "local" {
        anyhow::ensure!(
            options.bus.starts_with("nats://"),
            "--bus must be `local` or a nats:// URL, not {:?}",
            options.bus
        );
        bus_env.push(("MSA__BUS__URL".to_owned(), options.bus.clone()));
    }
    let mut processes = Vec::new();
    let mut gateways = Vec::new();
    for name in &names {
        let (services, gateway) = processes_of(name, options, &bus_env)?;
        processes.extend(services);
        gateways.push(gateway);
    }
    processes.extend(gateways);
    for process in processes.iter().filter(|p| p.port != 0) {
        check_port_free(process.port)?;
    }
    Ok((names, processes))
}

/// Waits until every process is ready (or a stop is asked for); a process that exits while
/// starting, or a start that takes longer than `patience`, stops them all with an error naming
/// the logs to read.
async fn start(
    processes: &mut [Process],
    client: &reqwest::Client,
    stop: &tokio_util::sync::CancellationToken,
    patience: Duration,
) -> anyhow::Result<Vec<&'static str>> {
    let deadline = Instant::now() + patience;
    let mut health: Vec<&'static str> = vec!["starting"; processes.len()];
    loop {
        for i in 0..processes.len() {
            if health[i] == "ready" {
                continue;
            }
            let exited = processes[i]
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if let Some(status) = exited {
                let label = processes[i].label.clone();
                let log = processes[i].log();
                let tail = std::fs::read_to_string(&log).unwrap_or_default();
                let tail: Vec<&str> = tail.lines().rev().take(5).collect();
                for process in processes.iter() {
                    process.terminate();
                }
                anyhow::bail!(
                    "{label} exited while starting ({status}); last lines of {}:\n{}",
                    log.display(),
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                );
            }
            if processes[i].ready(client).await {
                health[i] = "ready";
            }
        }
        if health.iter().all(|h| *h == "ready") || stop.is_cancelled() {
            return Ok(health);
        }
        if Instant::now() > deadline {
            for process in processes.iter() {
                process.terminate();
            }
            let logs: Vec<String> = processes
                .iter()
                .zip(&health)
                .filter(|(_, h)| **h != "ready")
                .map(|(p, _)| p.log().display().to_string())
                .collect();
            anyhow::bail!(
                "not every service became ready in time; see {}",
                logs.join(", ")
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How long a process may take to stop after SIGTERM (its drain and shutdown) before it is
/// killed.
pub(crate) const STOP_PATIENCE: Duration = Duration::from_secs(35);

/// Stops every process, the last started first (gateways before services, so that no new
/// requests come in), killing one that does not stop in time.
async fn stop_all(processes: &mut [Process]) {
    for process in processes.iter().rev() {
        process.terminate();
    }
    for process in processes.iter_mut().rev() {
        if process.child.is_some() {
            let stopped = process.stop(STOP_PATIENCE).await;
            println!("{:<16} {stopped}", process.label);
        }
    }
}

/// One round of supervision: starts what is due after a back-off, restarts what exited, and
/// probes the liveness of every process whose period is up, all at once (a frozen process costs
/// its probe's timeout, not everyone's); `failure_threshold` failures in a row, past the initial
/// delay, restart it. Says whether anything changed.
async fn supervise(
    processes: &mut [Process],
    client: &reqwest::Client,
    options: &UpOptions,
) -> bool {
    let mut changed = false;
    let mut due = Vec::new();
    for (i, process) in processes.iter_mut().enumerate() {
        if process.child.is_none() {
            if process.restart_at.is_some_and(|at| Instant::now() >= at) {
                if let Err(error) = process.spawn(options) {
                    eprintln!("cannot restart {}: {error:#}", process.label);
                    process.schedule_restart(format!("could not start: {error}"));
                }
                changed = true;
            }
            continue;
        }
        let exited = process
            .child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten());
        if let Some(status) = exited {
            process.child = None;
            process.schedule_restart(format!("exited ({status})"));
            changed = true;
            continue;
        }
        if process.last_probe.elapsed() >= process.probe.period() {
            process.last_probe = Instant::now();
            due.push((i, process.url(), process.probe.timeout()));
        }
    }
    let probes = due
        .iter()
        .map(|(_, url, timeout)| probe(client, url.clone(), "/health/live", *timeout));
    let answers = futures_util::future::join_all(probes).await;
    for ((i, _, _), live) in due.into_iter().zip(answers) {
        let process = &mut processes[i];
        if live {
            process.failed_probes = 0;
            continue;
        }
        process.failed_probes += 1;
        if process.failed_probes < process.probe.failure_threshold
            || process.started.elapsed() < process.probe.initial_delay()
        {
            continue;
        }
        if let Some(child) = process.child.as_mut() {
            let _ = child.kill().await;
        }
        process.child = None;
        let failed = process.failed_probes;
        process.schedule_restart(format!("failed its liveness probe {failed} times"));
        changed = true;
    }
    changed
}

async fn shutdown_signal() {
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async {
            match terminate.as_mut() {
                Some(signal) => { signal.recv().await; }
                None => std::future::pending::<()>().await,
            }
        } => {}
    }
}
