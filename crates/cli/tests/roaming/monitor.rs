//! `msa up --monitor`: Prometheus scrapes every process of the system, the rules and dashboards
//! read only metrics the services export, and a frozen service's alert reaches a webhook through
//! Alertmanager.

use crate::helpers::{APPROVED_CARD, MSA, PATIENCE, reservation_request};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use testkit::{TempDir, eventually};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const PROCESSES: usize = 5;

/// A port offset under which the system's ports and Prometheus's and Alertmanager's are free.
fn free_offset() -> u16 {
    let manifest = kernel::manifest::SystemManifest::parse(crate::helpers::MANIFEST).unwrap();
    let mut ports: Vec<u16> = manifest.services.iter().map(|s| s.port).collect();
    ports.extend([manifest.gateway.port, 9090, 9093]);
    for attempt in 0..200u32 {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
            .wrapping_add(std::process::id().wrapping_mul(7919))
            .wrapping_add(attempt * 104_729);
        let offset = 1_000 + (seed % 99) as u16 * 100 + (seed / 99 % 100) as u16;
        if ports
            .iter()
            .all(|p| std::net::TcpListener::bind(("127.0.0.1", p + offset)).is_ok())
        {
            return offset;
        }
    }
    panic!("no free port offset found");
}

/// The process ids the registry lists for `service`.
fn registered(data: &Path, service: &str) -> Vec<i32> {
    std::fs::read_dir(data.join("roaming/registry").join(service))
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Alertmanager's notifications that carry a `status` alert named `alert` for `service`.
fn notified(bodies: &[String], alert: &str, service: &str, status: &str) -> bool {
    bodies.iter().any(|body| {
        let body: Value = serde_json::from_str(body).unwrap_or_default();
        body["alerts"].as_array().into_iter().flatten().any(|a| {
            a["status"] == status
                && a["labels"]["alertname"] == alert
                && a["labels"]["service"] == service
                && a["labels"]["system"] == "roaming"
        })
    })
}

#[tokio::test]
async fn a_frozen_service_is_alerted_through_alertmanager_and_resolved_once_restarted() {
    let dir = TempDir::new("monitor");
    let offset = free_offset();
    let webhook = testkit::webhook::Receiver::start(0).await;
    let mut up = Command::new(MSA)
        .arg("--data")
        .arg(dir.path())
        .args(["up", "--system", "roaming", "--monitor-fast"])
        .args(["--alert-webhook", &webhook.url])
        .arg("--port-offset")
        .arg(offset.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(up.stdout.take().unwrap()).lines();
    let mut banner = Vec::new();
    let started = tokio::time::timeout(4 * PATIENCE, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let done = line.contains("Ctrl-C stops everything");
            banner.push(line);
            if done {
                return;
            }
        }
        panic!("msa up --monitor ended before it was ready: {banner:?}");
    })
    .await;
    assert!(started.is_ok(), "msa up --monitor became ready: {banner:?}");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let prometheus = format!("http://127.0.0.1:{}", 9090 + offset);
    assert!(
        banner.iter().any(|l| l.contains(&prometheus)),
        "the banner names Prometheus: {banner:?}"
    );
    let client = reqwest::Client::new();

    // One reservation, so that requests, events published and events handled have numbers.
    let gateway = format!("http://127.0.0.1:{}", 8080 + offset);
    let secret =
        std::fs::read_to_string(dir.path().join("roaming/auth/ops-client-secret")).unwrap();
    let token: Value = client
        .post(format!("{gateway}/oauth2/token"))
        .basic_auth("msa-ops", Some(secret.trim()))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let reserved = client
        .post(format!("{gateway}/api/reservations"))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .json(&reservation_request("monitored", APPROVED_CARD))
        .send()
        .await
        .unwrap();
    assert_eq!(reserved.status().as_u16(), 201);

    // Every process is a target Prometheus scrapes successfully.
    eventually(PATIENCE, "every process scraped", || async {
        let targets: Value = client
            .get(format!("{prometheus}/api/v1/targets?state=active"))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        let targets = targets["data"]["activeTargets"].as_array()?.clone();
        (targets.len() == PROCESSES && targets.iter().all(|t| t["health"] == "up")).then_some(())
    })
    .await;

    // The rules and dashboards read only metrics the services export, as Prometheus scraped them.
    let mut last = String::new();
    let checked = tokio::time::timeout(PATIENCE, async {
        loop {
            let check = Command::new(MSA)
                .args([
                    "monitor",
                    "check",
                    "--system",
                    "all",
                    "--prometheus",
                    &prometheus,
                ])
                .output()
                .await
                .unwrap();
            if check.status.success() {
                return;
            }
            last = String::from_utf8_lossy(&check.stderr).into_owned();
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    })
    .await;
    assert!(checked.is_ok(), "msa monitor check: {last}");

    // Freeze payment: it stops answering its scrape (and its liveness probe) without exiting.
    let frozen = registered(dir.path(), "payment");
    assert_eq!(frozen.len(), 1, "one payment process: {frozen:?}");
    kill(Pid::from_raw(frozen[0]), Signal::SIGSTOP).unwrap();
    let stopped = Instant::now();
    eventually(
        PATIENCE,
        "ServiceDown for payment at the webhook",
        || async { notified(&webhook.bodies(), "ServiceDown", "payment", "firing").then_some(()) },
    )
    .await;
    eprintln!(
        "ServiceDown for payment reached the webhook {:.1} s after it froze",
        stopped.elapsed().as_secs_f64()
    );
    // The supervisor restarts what fails its liveness probe; the alert is then resolved.
    eventually(2 * PATIENCE, "ServiceDown for payment resolved", || async {
        notified(&webhook.bodies(), "ServiceDown", "payment", "resolved").then_some(())
    })
    .await;
    eprintln!(
        "and resolved {:.1} s after it froze",
        stopped.elapsed().as_secs_f64()
    );
    let _ = kill(Pid::from_raw(frozen[0]), Signal::SIGCONT);

    kill(Pid::from_raw(up.id().unwrap() as i32), Signal::SIGINT).unwrap();
    let status = tokio::time::timeout(Duration::from_secs(60), up.wait())
        .await
        .expect("msa up stops on Ctrl-C")
        .unwrap();
    assert!(status.success(), "msa up exited with {status}");
    assert!(
        client
            .get(format!("{prometheus}/-/ready"))
            .send()
            .await
            .is_err(),
        "Prometheus stopped with the system"
    );
}
