//! What `msa scale` and `msa rollout` ask of a running `msa up`, done on its processes.
//!
//! - **Scale** starts replicas on free ports until the service has as many as asked (each one
//!   counts once it is ready; callers and the gateway find it in the registry), or stops the
//!   newest ones gracefully. Consumer replicas split the partitions among themselves through
//!   their leases.
//! - **Rollout** replaces each process of a service in turn, as a Kubernetes rolling update with
//!   `maxUnavailable: 0` does: start the new one → wait until it is ready → stop the old one (it
//!   turns not-ready, leaves the registry, drains its requests and handlers, flushes its outbox)
//!   → next. A gateway's successor serves the same listening socket, which the supervisor keeps,
//!   so connections wait in its queue rather than being refused.
//!
//! While an operation runs, the supervisor's other work (probes, restarts) waits for it.

use crate::control::{Operation, Request};
use crate::up::{Process, STOP_PATIENCE, UpOptions};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// How long a new process may take to get ready.
const READY_PATIENCE: Duration = Duration::from_secs(90);

/// Carries out `request` on `processes`, telling the caller how it goes.
pub(crate) async fn operate(
    processes: &mut Vec<Process>,
    request: Request,
    client: &reqwest::Client,
    options: &UpOptions,
    stop: &CancellationToken,
) {
    let outcome = match &request.operation {
        Operation::Scale { service, replicas } => {
            scale(
                processes, &request, service, *replicas, client, options, stop,
            )
            .await
        }
        Operation::Rollout { service } => {
            rollout(processes, &request, service, client, options, stop).await
        }
    };
    request.finish(outcome);
}

/// The places in `processes` of `system`'s `service`, oldest first.
fn replicas_of(processes: &[Process], system: &str, service: &str) -> Vec<usize> {
    (0..processes.len())
        .filter(|&i| processes[i].system == system && processes[i].service == service)
        .collect()
}

fn find(processes: &[Process], system: &str, service: &str) -> anyhow::Result<Vec<usize>> {
    let found = replicas_of(processes, system, service);
    if found.is_empty() {
        let mut known: Vec<&str> = processes
            .iter()
            .filter(|p| p.system == system)
            .map(|p| p.service.as_str())
            .collect();
        known.dedup();
        anyhow::bail!(
            "{system} has no service {service:?}; it has {}",
            known.join(", ")
        );
    }
    Ok(found)
}

/// Starts `process` and waits until it is ready; on failure it is stopped again.
async fn start_ready(
    process: &mut Process,
    client: &reqwest::Client,
    options: &UpOptions,
    stop: &CancellationToken,
) -> anyhow::Result<()> {
    process.spawn(options)?;
    let deadline = Instant::now() + READY_PATIENCE;
    loop {
        if process.ready(client).await {
            return Ok(());
        }
        let exited = process
            .child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten());
        let why = if let Some(status) = exited {
            format!("exited while starting ({status})")
        } else if Instant::now() > deadline {
            format!("was not ready within {} s", READY_PATIENCE.as_secs())
        } else if stop.is_cancelled() {
            "was stopped: msa up is stopping".to_owned()
        } else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        process.stop(STOP_PATIENCE).await;
        anyhow::bail!("{} {why}; see {}", process.label, process.log().display());
    }
}

/// A label for a new replica of the service whose processes are at `places`.
fn next_label(processes: &[Process], places: &[usize]) -> String {
    let first = &processes[places[0]].label;
    let base = match first.rsplit_once('-') {
        Some((base, n)) if n.parse::<usize>().is_ok() => base.to_owned(),
        _ => first.clone(),
    };
    (2..)
        .map(|n| format!("{base}-{n}"))
        .find(|label| !processes.iter().any(|p| &p.label == label))
        .expect("some number is free")
}

async fn scale(
    processes: &mut Vec<Process>,
    request: &Request,
    service: &str,
    replicas: usize,
    client: &reqwest::Client,
    options: &UpOptions,
    stop: &CancellationToken,
) -> anyhow::Result<()> {
    let system = &request.system;
    anyhow::ensure!(
        (1..=9).contains(&replicas),
        "replicas of {service} must be between 1 and 9"
    );
    anyhow::ensure!(
        service != "gateway",
        "the gateway runs as one process per system on one machine (its sign-in state is its \
         own); `msa rollout {system}/gateway` replaces it without refusing anyone"
    );
    let mut places = find(processes, system, service)?;
    request.say(format!(
        "{system}/{service}: {} → {replicas} replicas",
        places.len()
    ));
    while places.len() < replicas {
        let label = next_label(processes, &places);
        let mut process = processes[places[0]].successor(label);
        start_ready(&mut process, client, options, stop).await?;
        request.say(format!(
            "{} ready at {}",
            process.label,
            process.url().unwrap_or_default()
        ));
        let at = places.last().map_or(processes.len(), |&i| i + 1);
        processes.insert(at, process);
        places = replicas_of(processes, system, service);
    }
    while places.len() > replicas {
        let newest = places.pop().expect("more replicas than asked");
        let mut process = processes.remove(newest);
        let stopped = process.stop(STOP_PATIENCE).await;
        request.say(format!("{} {stopped}", process.label));
    }
    Ok(())
}

async fn rollout(
    processes: &mut [Process],
    request: &Request,
    service: &str,
    client: &reqwest::Client,
    options: &UpOptions,
    stop: &CancellationToken,
) -> anyhow::Result<()> {
    let system = &request.system;
    let places = find(processes, system, service)?;
    request.say(format!(
        "rolling out {system}/{service}: {} process(es), one at a time",
        places.len()
    ));
    for place in places {
        let label = processes[place].label.clone();
        let mut next = processes[place].successor(label.clone());
        start_ready(&mut next, client, options, stop).await?;
        request.say(format!(
            "{label}: the new process ({}) is ready at {}",
            next.child
                .as_ref()
                .and_then(tokio::process::Child::id)
                .unwrap_or_default(),
            next.url().unwrap_or_default()
        ));
        let mut old = std::mem::replace(&mut processes[place], next);
        let stopped = old.stop(STOP_PATIENCE).await;
        request.say(format!("{label}: the old process {stopped}"));
    }
    Ok(())
}
