//! `msa up --monitor`: Prometheus scrapes every process of the system, the rules and dashboards
//! read only metrics the services export, and a frozen service's alert reaches a webhook through
//! Alertmanager.

use crate::helpers::{MANIFEST, MSA, PATIENCE};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;
use std::time::{Duration, Instant};
use testkit::eventually;
use testkit::system::TestSystem;
use tokio::process::Command;

const PROCESSES: usize = 5;

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
    let webhook = testkit::webhook::Receiver::start(0).await;
    let args = ["--monitor-fast", "--alert-webhook", &webhook.url];
    let mut system = TestSystem::supervised_with(MSA, MANIFEST, &args).await;
    let prometheus = format!("http://127.0.0.1:{}", 9090 + system.port_offset());
    assert!(
        system.up_log().contains(&prometheus),
        "the banner names Prometheus: {}",
        system.up_log()
    );
    let client = system.client.clone();

    // One reservation, so that requests, events published and events handled have numbers.
    let body = crate::helpers::reservation_request("monitored", crate::helpers::APPROVED_CARD);
    let (status, reserved) = system.post("/api/reservations", body).await;
    assert_eq!(status, 201, "{reserved}");

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
    let frozen = system.supervised_processes("payment");
    assert_eq!(frozen.len(), 1, "one payment process: {frozen:?}");
    let frozen = frozen[0]["pid"].as_i64().unwrap() as i32;
    system.signal_service("payment", Signal::SIGSTOP);
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
    let _ = kill(Pid::from_raw(frozen), Signal::SIGCONT);

    system.interrupt().await;
    assert!(
        client
            .get(format!("{prometheus}/-/ready"))
            .send()
            .await
            .is_err(),
        "Prometheus stopped with the system"
    );
}
