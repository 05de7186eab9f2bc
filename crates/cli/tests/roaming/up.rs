//! `msa up`, the README's run command: starts everything, shows it, stops it on Ctrl-C, and finds
//! its data again on the next start.

use crate::helpers::{APPROVED_CARD, MSA, reservation_request};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::process::Stdio;
use std::time::Duration;
use testkit::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

async fn up(dir: &TempDir, system: &str, offset: u16, extra: &[&str]) -> (Child, Vec<String>) {
    let mut child = Command::new(MSA)
        .arg("--data")
        .arg(dir.path())
        .args(["up", "--system", system])
        .arg("--port-offset")
        .arg(offset.to_string())
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    let banner = tokio::time::timeout(Duration::from_secs(240), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let done = line.contains("Ctrl-C stops everything");
            seen.push(line);
            if done {
                return;
            }
        }
        panic!("msa up ended before it was ready: {seen:?}");
    })
    .await;
    assert!(banner.is_ok(), "msa up did not become ready");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, seen)
}

/// The operator's token, with the client secret `msa up` generated into the system's part of the
/// data directory.
async fn ops_token(client: &reqwest::Client, gateway: &str, dir: &TempDir, system: &str) -> String {
    let secret =
        std::fs::read_to_string(dir.path().join(system).join("auth/ops-client-secret")).unwrap();
    let response = client
        .post(format!("{gateway}/oauth2/token"))
        .basic_auth("msa-ops", Some(secret.trim()))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    response.json::<serde_json::Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn interrupt(mut child: Child) {
    kill(Pid::from_raw(child.id().unwrap() as i32), Signal::SIGINT).unwrap();
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .expect("msa up stops on Ctrl-C")
        .unwrap();
    assert!(status.success(), "msa up exited with {status}");
}

#[tokio::test]
async fn msa_up_runs_the_system_stops_it_on_ctrl_c_and_finds_its_data_again() {
    let dir = TempDir::new("up");
    // Below the kernel's ephemeral range, where the other tests' ports come from.
    let offset = 11_000 + (std::process::id() % 100) as u16 * 100 + 41;
    let (child, banner) = up(&dir, "roaming", offset, &[]).await;
    for service in ["reservation", "payment", "rental", "customer", "gateway"] {
        assert!(
            banner
                .iter()
                .any(|l| l.starts_with(service) && l.contains("ready")),
            "{service} is listed as ready: {banner:?}"
        );
    }
    let gateway = format!("http://127.0.0.1:{}", 8080 + offset);
    let client = reqwest::Client::new();
    let token = ops_token(&client, &gateway, &dir, "roaming").await;
    let response = client
        .post(format!("{gateway}/api/reservations"))
        .bearer_auth(&token)
        .json(&reservation_request("kang", APPROVED_CARD))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let id = response.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    interrupt(child).await;
    assert!(
        client
            .get(format!("{gateway}/health/live"))
            .send()
            .await
            .is_err(),
        "everything stopped"
    );

    // The second run has two payment replicas: the second takes a free port and registers it,
    // and the gateway's system view and `msa status` find it there.
    let (child, banner) = up(&dir, "roaming", offset, &["--replicas", "payment=2"]).await;
    let second = banner
        .iter()
        .find(|l| l.starts_with("payment-2"))
        .unwrap_or_else(|| panic!("payment-2 is listed: {banner:?}"));
    assert!(second.contains("ready"), "{second}");
    assert!(
        !second.contains(&format!(":{} ", 8082 + offset)),
        "the second replica has a port of its own: {second}"
    );
    let token = ops_token(&client, &gateway, &dir, "roaming").await;
    let system: serde_json::Value = client
        .get(format!("{gateway}/api/admin/system"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let payments: Vec<&serde_json::Value> = system["services"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["service"] == "payment" && s["up"] == true)
        .collect();
    assert_eq!(payments.len(), 2, "both payment replicas answer: {system}");
    let status = Command::new(MSA)
        .arg("--data")
        .arg(dir.path())
        .args(["status", "--system", "roaming", "--port-offset"])
        .arg(offset.to_string())
        .output()
        .await
        .unwrap();
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(
        status
            .lines()
            .any(|l| l.starts_with("roaming/payment-2") && l.contains("ready")),
        "msa status shows the second replica: {status}"
    );
    let again = client
        .get(format!("{gateway}/api/reservations/{id}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        again.status().as_u16(),
        200,
        "the second run finds the first run's data"
    );
    interrupt(child).await;
}

#[tokio::test]
async fn every_system_runs_at_once_from_one_data_directory_with_a_landing_page() {
    let dir = TempDir::new("up-all");
    let offset = 11_000 + (std::process::id() % 100) as u16 * 100 + 57;
    let (all, banner) = up(&dir, "all", offset, &[]).await;
    let client = reqwest::Client::new();
    let gateway = |port: u16| format!("http://127.0.0.1:{}", port + offset);
    assert!(
        banner
            .iter()
            .any(|l| l.contains(&format!("{}/systems", gateway(8080)))),
        "the banner names the landing page: {banner:?}"
    );
    let landing = client
        .get(format!("{}/systems", gateway(8080)))
        .send()
        .await
        .unwrap();
    assert_eq!(landing.status().as_u16(), 200, "the landing page is public");
    let landing = landing.text().await.unwrap();
    for port in [8080, 8180, 8280, 8380, 8480] {
        assert!(
            landing.contains(&format!(":{}/", port + offset)),
            "{landing}"
        );
    }

    let token = ops_token(&client, &gateway(8080), &dir, "roaming").await;
    let response = client
        .post(format!("{}/api/reservations", gateway(8080)))
        .bearer_auth(&token)
        .json(&reservation_request("all-at-once", APPROVED_CARD))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status().as_u16(),
        201,
        "roaming takes reservations"
    );
    let token = ops_token(&client, &gateway(8180), &dir, "booking").await;
    let page = client
        .get(format!("{}/api/mypage?customerId=kim", gateway(8180)))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        page.status().as_u16(),
        200,
        "booking's gateway takes its own tokens"
    );
    for (port, catalog) in [
        (8180, "/api/musicals"),
        (8280, "/api/missions/catalog"),
        (8380, "/api/menu"),
        (8480, "/api/products"),
    ] {
        let response = client
            .get(format!("{}{catalog}", gateway(port)))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "{catalog} answers");
    }

    let status = Command::new(MSA)
        .arg("--data")
        .arg(dir.path())
        .args(["status", "--system", "all", "--port-offset"])
        .arg(offset.to_string())
        .output()
        .await
        .unwrap();
    let printed = String::from_utf8_lossy(&status.stdout);
    assert!(status.status.success(), "{printed}");
    for system in ["roaming", "booking", "game", "cafeteria", "office"] {
        assert!(printed.contains(&format!("{system}/gateway")), "{printed}");
        assert!(
            dir.path().join(system).join("bus.db").exists(),
            "{system} keeps its own data"
        );
    }
    assert!(
        !printed.contains(" down"),
        "every service answers: {printed}"
    );
    interrupt(all).await;
}

#[tokio::test]
async fn a_data_directory_of_the_earlier_layout_is_refused_with_what_to_do() {
    let dir = TempDir::new("up-old");
    // What dc2212f left at the root of the data directory.
    std::fs::create_dir_all(dir.path().join("auth")).unwrap();
    for file in ["bus.db", "reservation.db", "auth/signing-key.pem"] {
        std::fs::write(dir.path().join(file), b"").unwrap();
    }
    let output = Command::new(MSA)
        .arg("--data")
        .arg(dir.path())
        .args(["up", "--port-offset", "29000"])
        .output()
        .await
        .unwrap();
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "refused: {said}");
    assert!(
        said.contains("data directory of an earlier release")
            && said.contains("Upgrading a data directory from before the kit"),
        "{said}"
    );
    assert!(
        !dir.path().join("roaming").exists(),
        "nothing is written into it"
    );
}

/// Runs `msa bench <args>` on `dir` and returns what it printed, failing on a non-zero exit.
async fn bench(dir: &TempDir, args: &[&str]) -> String {
    let run = Command::new(MSA)
        .arg("--data")
        .arg(dir.path())
        .arg("bench")
        .args(args)
        .output()
        .await
        .unwrap();
    let report = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(
        run.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    report
}

/// The benchmarks' smoke run (the benchmarks themselves stay out of CI): `msa bench reserve`
/// against a system `msa up` runs reports latency, the lag to my page and the CPU and memory of
/// each process; `msa bench bus` reports the local pipeline, live and catching up on a backlog.
#[tokio::test]
async fn the_benchmarks_run_briefly_and_report_what_they_measure() {
    let dir = TempDir::new("bench");
    let offset = 11_000 + (std::process::id() % 100) as u16 * 100 + 73;
    let (child, _) = up(&dir, "roaming", offset, &[]).await;
    let gateway = format!("http://127.0.0.1:{}", 8080 + offset);
    let report = bench(
        &dir,
        &[
            "reserve",
            "--gateway",
            &gateway,
            "--rate",
            "20",
            "--duration",
            "2",
            "--lag-every",
            "5",
        ],
    )
    .await;
    assert!(report.contains("answers: {\"201\": 40}"), "{report}");
    assert!(report.contains("(8 samples)"), "{report}");
    for service in ["reservation", "payment", "rental", "customer", "gateway"] {
        let line = report
            .lines()
            .find(|line| line.trim_start().starts_with(service) && line.contains("% CPU"))
            .unwrap_or_else(|| panic!("no CPU line for {service}: {report}"));
        assert!(
            line.contains("ms per reservation") && line.contains("MiB"),
            "{line}"
        );
    }
    assert!(
        report.contains("| 20/s | 40× 201 |")
            && report.contains("ms CPU and")
            && report.contains("KiB written per reservation"),
        "{report}"
    );
    interrupt(child).await;

    // The catch-up run spreads the bus over 3 partitions instead of the systems' 8.
    for (mode, partitions, line) in [
        (None, "8", "local bus: outbox→relay→inbox"),
        (Some("--catch-up"), "3", "local bus: catch-up→inbox"),
    ] {
        let mut args = vec!["bus", "--events", "200", "--paths", "local"];
        args.extend(mode);
        args.extend(["--partitions", partitions]);
        let report = bench(&dir, &args).await;
        assert!(
            report.contains(&format!("over 64 subjects in {partitions} partitions")),
            "{report}"
        );
        let local = report
            .lines()
            .find(|l| l.starts_with(line))
            .unwrap_or_else(|| panic!("no {line:?} line: {report}"));
        let handled: f64 = local.split_whitespace().nth(4).unwrap().parse().unwrap();
        assert!(handled > 0.0, "{local}");
    }
}

/// The other systems' main commands under `msa bench command` (a smoke run each, so that a
/// workload cannot drift from its system's API): every command created, every followed one seen
/// on the user's page with its first step downstream, CPU reported per command.
#[tokio::test]
async fn the_command_benchmark_drives_each_systems_main_command() {
    for (system, gateway_port, noun, step) in [
        ("booking", 8180, "booking", "delivery.requested"),
        ("cafeteria", 8380, "order", "drink.queued"),
        ("office", 8480, "rental", "delivery.scheduled"),
    ] {
        let dir = TempDir::new("bench-command");
        let offset = 11_000 + (std::process::id() % 100) as u16 * 100 + 79;
        let (child, _) = up(&dir, system, offset, &[]).await;
        let gateway = format!("http://127.0.0.1:{}", gateway_port + offset);
        let report = bench(
            &dir,
            &[
                "command",
                "--system",
                system,
                "--gateway",
                &gateway,
                "--rate",
                "20",
                "--duration",
                "1",
                "--lag-every",
                "5",
            ],
        )
        .await;
        assert!(report.contains("answers: {\"201\": 20}"), "{report}");
        assert!(
            report.contains(&format!("{noun} → its page shows {step} (4 samples)")),
            "{report}"
        );
        assert!(
            report.contains("ms CPU and") && report.contains(&format!("per {noun},")),
            "{report}"
        );
        interrupt(child).await;
    }
}
