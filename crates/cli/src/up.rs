//! `msa up`: a whole system — or every system, `--system all` — on one machine. Every service
//! runs as its own OS process (this same binary, `msa serve ...`), logs go to
//! `<data>/<system>/logs/`, and the supervisor restarts a process that dies or stops answering its
//! liveness probe. Ctrl-C stops them all gracefully, gateways first.

use crate::systems;
use anyhow::Context as _;
use kernel::discovery::Registry;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

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
}

/// Set on the services `msa up` starts: the supervisor's process id.
const SUPERVISOR_PID: &str = "MSA_SUPERVISOR_PID";

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

struct Process {
    label: String,
    system: String,
    service: String,
    /// Where its log goes.
    logs: PathBuf,
    /// Its system's registry of replicas.
    registry: Registry,
    /// Its port; 0 for an extra replica, which takes a free port and registers it.
    port: u16,
    env: Vec<(String, String)>,
    child: Option<Child>,
    failed_probes: u32,
    restarts: u32,
    started: Instant,
}

fn check_port_free(port: u16) -> anyhow::Result<()> {
    std::net::TcpListener::bind(("127.0.0.1", port))
        .map(drop)
        .with_context(|| {
            format!(
                "port {port} is in use: is another `msa up` running? Stop it, or pass --port-offset"
            )
        })
}

impl Process {
    fn log(&self) -> PathBuf {
        let file = self.label.rsplit('/').next().unwrap_or_default();
        self.logs.join(format!("{file}.log"))
    }

    fn spawn(&mut self, options: &UpOptions) -> anyhow::Result<()> {
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
            .env(SUPERVISOR_PID, std::process::id().to_string())
            .stdin(std::process::Stdio::null())
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
        Ok(())
    }

    /// Where it listens: its port, or for an extra replica the address it registered.
    fn url(&self) -> Option<String> {
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

    fn terminate(&self) {
        if let Some(pid) = self.child.as_ref().and_then(Child::id) {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
        }
    }
}

async fn probe(client: &reqwest::Client, url: Option<String>, path: &str) -> bool {
    let Some(url) = url else {
        return false;
    };
    client
        .get(format!("{url}{path}"))
        .timeout(Duration::from_secs(2))
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
    let process = |label: String, service: &str, port: u16, env: Vec<(String, String)>| Process {
        label: format!("{prefix}{label}"),
        system: manifest.name.clone(),
        service: service.to_owned(),
        logs: logs.clone(),
        registry: registry.clone(),
        port,
        env,
        child: None,
        failed_probes: 0,
        restarts: 0,
        started: Instant::now(),
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
            let mut env = env.to_vec();
            env.push(("MSA__HTTP__PORT".to_owned(), port.to_string()));
            let label = if count > 1 {
                format!("{}-{}", service.name, replica + 1)
            } else {
                service.name.clone()
            };
            services.push(process(label, &service.name, port, env));
        }
    }
    let port = systems::port(manifest.gateway.port, options.port_offset)?;
    Ok((
        services,
        process("gateway".to_owned(), "gateway", port, Vec::new()),
    ))
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
    if !stop.is_cancelled() {
        report(&processes, &health, &options);
    }
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tick.tick() => {}
        }
        supervise(&mut processes, &client, &options).await;
    }
    println!("stopping...");
    stop_all(&mut processes).await;
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
            if probe(client, processes[i].url(), "/health/ready").await {
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

/// Stops every process, the last started first (gateways before services, so that no new
/// requests come in), killing one that does not stop in time.
async fn stop_all(processes: &mut [Process]) {
    for process in processes.iter().rev() {
        process.terminate();
    }
    for process in processes.iter_mut().rev() {
        if let Some(child) = process.child.as_mut() {
            match tokio::time::timeout(Duration::from_secs(35), child.wait()).await {
                Ok(Ok(status)) => println!("{:<16} stopped ({status})", process.label),
                _ => {
                    let _ = child.kill().await;
                    println!("{:<16} killed (did not stop in time)", process.label);
                }
            }
        }
    }
}

fn report(processes: &[Process], health: &[&str], options: &UpOptions) {
    println!();
    println!("{:<24} {:<28} {:<8} LOG", "SERVICE", "URL", "HEALTH");
    for (process, health) in processes.iter().zip(health) {
        println!(
            "{:<24} {:<28} {:<8} {}",
            process.label,
            process.url().unwrap_or_default(),
            health,
            process.log().display()
        );
    }
    println!();
    let gateways: Vec<&Process> = processes
        .iter()
        .filter(|p| p.service == "gateway")
        .collect();
    for gateway in &gateways {
        let url = gateway.url().unwrap_or_default();
        println!("{:<10} open {url}/ ; API at {url}/api/...", gateway.system);
    }
    if options.system == ALL
        && let Some(first) = gateways.first().and_then(|g| g.url())
    {
        println!("every system: {first}/systems");
    }
    println!("Ctrl-C stops everything");
}

/// Restarts processes that exited or failed their liveness probe three times in a row.
async fn supervise(processes: &mut [Process], client: &reqwest::Client, options: &UpOptions) {
    for process in processes.iter_mut() {
        let exited = process
            .child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten());
        let live = exited.is_none() && probe(client, process.url(), "/health/live").await;
        if live {
            process.failed_probes = 0;
            continue;
        }
        process.failed_probes += 1;
        let grace = process.started.elapsed() < Duration::from_secs(10);
        if exited.is_none() && (process.failed_probes < 3 || grace) {
            continue;
        }
        process.restarts += 1;
        match exited {
            Some(status) => eprintln!(
                "{} exited ({status}); restart #{}",
                process.label, process.restarts
            ),
            None => {
                eprintln!(
                    "{} failed its liveness probe 3 times; restart #{}",
                    process.label, process.restarts
                );
                if let Some(child) = process.child.as_mut() {
                    let _ = child.kill().await;
                }
            }
        }
        if let Err(error) = process.spawn(options) {
            eprintln!("cannot restart {}: {error:#}", process.label);
        }
    }
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
