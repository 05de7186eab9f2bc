//! `msa chaos` in CI: each system under a short load with faults on the embedded profile, and
//! one on the prod profile (this machine's PostgreSQL, MariaDB, Redis and NATS, on the run's own
//! databases and stream). The runs are 30 s rather than the 60–90 s so that five
//! systems and the prod run fit beside the rest of the suite on two cores; longer runs are made
//! by hand (`msa chaos --system X --duration 10m`).

#![allow(clippy::unwrap_used)]

use tokio::process::Command;

/// Runs `msa chaos` and asserts it found every invariant held; returns its table.
async fn chaos(system: &str, profile: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_msa"))
        .args(["chaos", "--system", system, "--profile", profile])
        .args(["--duration", "30s", "--rate", "3", "--fault-every", "6s"])
        .output()
        .await
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "msa chaos --system {system} failed:\n{printed}"
    );
    assert!(printed.contains("every invariant held"), "{printed}");
    assert!(printed.contains("faults by kind"), "{printed}");
    printed
}

#[tokio::test(flavor = "multi_thread")]
async fn roaming_keeps_its_invariants_under_chaos() {
    chaos("roaming", "embedded").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn booking_keeps_its_invariants_under_chaos() {
    chaos("booking", "embedded").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn game_keeps_its_invariants_under_chaos() {
    chaos("game", "embedded").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cafeteria_keeps_its_invariants_under_chaos() {
    chaos("cafeteria", "embedded").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn office_keeps_its_invariants_under_chaos() {
    chaos("office", "embedded").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn booking_keeps_its_invariants_under_chaos_on_the_prod_profile() {
    let table = chaos("booking", "prod").await;
    assert!(table.contains("prod profile"), "{table}");
}
