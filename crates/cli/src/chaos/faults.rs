//! The fault injector of a chaos run: at a steady pace it picks a fault at random from the kinds
//! the run offers and applies it to a random process of the system — `kill -9`, SIGSTOP for a few
//! seconds, latency or errors through the kernel's run-time fault switch (`PUT /admin/faults`),
//! and on the prod profile a cut of the store or NATS connections through a TCP proxy — then lifts
//! it. The supervisor restarts what was killed; that is part of what is tested.

use super::running::{Process, Running};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// A kind of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    Kill,
    Stop,
    Latency,
    Errors,
    StoreCut,
    BusCut,
}

impl Fault {
    /// Its name in the result table.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Kill => "kill -9",
            Self::Stop => "SIGSTOP",
            Self::Latency => "latency",
            Self::Errors => "errors",
            Self::StoreCut => "store cut",
            Self::BusCut => "NATS cut",
        }
    }

    /// The kinds a profile offers: the prod profile also cuts connections.
    pub(crate) fn offered(prod: bool) -> Vec<Fault> {
        let mut kinds = vec![Self::Kill, Self::Stop, Self::Latency, Self::Errors];
        if prod {
            kinds.extend([Self::StoreCut, Self::BusCut]);
        }
        kinds
    }
}

/// A TCP proxy in front of a server (a database or NATS) whose connections can be cut: every open
/// connection is dropped and new ones are refused for a while.
pub(crate) struct Proxy {
    /// Where the services connect.
    pub port: u16,
    cut: Mutex<CancellationToken>,
    refusing: AtomicBool,
}

impl Proxy {
    /// Listens on a free port and forwards to `upstream` (`host:port`) until `stop`.
    pub(crate) async fn start(
        upstream: String,
        stop: CancellationToken,
    ) -> anyhow::Result<Arc<Self>> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let proxy = Arc::new(Self {
            port: listener.local_addr()?.port(),
            cut: Mutex::new(CancellationToken::new()),
            refusing: AtomicBool::new(false),
        });
        let serving = proxy.clone();
        tokio::spawn(async move {
            loop {
                let (mut inbound, _) = tokio::select! {
                    _ = stop.cancelled() => return,
                    accepted = listener.accept() => match accepted {
                        Ok(accepted) => accepted,
                        Err(_) => continue,
                    },
                };
                if serving.refusing.load(Ordering::SeqCst) {
                    continue;
                }
                let cut = serving.cut.lock().expect("proxy lock").clone();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = cut.cancelled() => {}
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                    }
                });
            }
        });
        Ok(proxy)
    }

    /// Drops every connection and refuses new ones for `pause`.
    pub(crate) async fn cut(&self, pause: Duration) {
        self.refusing.store(true, Ordering::SeqCst);
        let old = std::mem::take(&mut *self.cut.lock().expect("proxy lock"));
        old.cancel();
        tokio::time::sleep(pause).await;
        self.refusing.store(false, Ordering::SeqCst);
    }
}

/// Injects faults into `running` every `every` until `stop`, then lifts whatever is still in
/// force; returns how many of each kind it injected.
pub(crate) async fn inject(
    running: &Running,
    kinds: &[Fault],
    every: Duration,
    stop: CancellationToken,
) -> BTreeMap<&'static str, u64> {
    let mut counts = BTreeMap::new();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("a plain client builds");
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(every) => {}
        }
        let Some(&fault) = kinds.get(fastrand::usize(0..kinds.len().max(1))) else {
            break;
        };
        let processes = running.processes();
        // The fault switch is the services' (the gateway is a plain proxy); any process dies.
        let targets: Vec<&Process> = processes
            .iter()
            .filter(|p| p.pid.is_some())
            .filter(|p| !matches!(fault, Fault::Latency | Fault::Errors) || p.service != "gateway")
            .collect();
        let Some(target) = targets.get(fastrand::usize(0..targets.len().max(1))) else {
            continue;
        };
        if apply(running, &http, fault, target, &stop).await {
            *counts.entry(fault.name()).or_default() += 1;
        }
    }
    lift(running, &http).await;
    counts
}

/// Applies one fault and, unless it lifts itself, lifts it after a few seconds.
async fn apply(
    running: &Running,
    http: &reqwest::Client,
    fault: Fault,
    target: &Process,
    stop: &CancellationToken,
) -> bool {
    let hold = Duration::from_millis(fastrand::u64(2_000..4_000));
    let pid = Pid::from_raw(target.pid.unwrap_or_default() as i32);
    match fault {
        Fault::Kill => kill(pid, Signal::SIGKILL).is_ok(),
        Fault::Stop => {
            let stopped = kill(pid, Signal::SIGSTOP).is_ok();
            wait(hold, stop).await;
            let _ = kill(pid, Signal::SIGCONT);
            stopped
        }
        Fault::Latency | Fault::Errors => {
            let faults = if fault == Fault::Latency {
                serde_json::json!({"latencyMs": fastrand::u64(200..1_500), "errorRate": 0.0})
            } else {
                serde_json::json!({"latencyMs": 0, "errorRate": 0.2 + fastrand::f64() * 0.3})
            };
            let Some(url) = &target.url else { return false };
            let set = switch(http, url, &faults).await;
            wait(hold, stop).await;
            switch(http, url, &serde_json::json!({})).await;
            set
        }
        Fault::StoreCut | Fault::BusCut => {
            let proxies = if fault == Fault::StoreCut {
                running.store_proxies()
            } else {
                running.bus_proxies()
            };
            let Some(proxy) = proxies.get(fastrand::usize(0..proxies.len().max(1))) else {
                return false;
            };
            proxy.cut(hold).await;
            true
        }
    }
}

async fn wait(hold: Duration, stop: &CancellationToken) {
    tokio::select! {
        _ = stop.cancelled() => {}
        _ = tokio::time::sleep(hold) => {}
    }
}

async fn switch(http: &reqwest::Client, url: &str, faults: &serde_json::Value) -> bool {
    http.put(format!("{url}/admin/faults"))
        .json(faults)
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
}

/// Every process runs on, with no fault in force.
async fn lift(running: &Running, http: &reqwest::Client) {
    for process in running.processes() {
        if let Some(pid) = process.pid {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGCONT);
        }
        if let (Some(url), false) = (&process.url, process.service == "gateway") {
            switch(http, url, &serde_json::json!({})).await;
        }
    }
}
