//! Operations through `msa up`, the supervisor: a frozen service is replaced and nothing is lost;
//! `msa scale` adds replicas that take their share and removes them again; `msa rollout` of every
//! service and the gateway under a steady load of reservations fails no request and signs nobody
//! out.

use crate::helpers::{APPROVED_CARD, MANIFEST, MSA, reservation_request};
use nix::sys::signal::Signal;
use testkit::system::{Poster, TestSystem};

/// Reserves through the gateway as the operator, call `n` with idempotency key `<prefix>-<n>`.
fn reserver(system: &TestSystem, prefix: &str) -> Poster {
    let request = reservation_request("kang", APPROVED_CARD);
    system.poster(&system.admin_token, "/api/reservations", prefix, request)
}

async fn reserved(system: &TestSystem, prefix: &str, n: u64) -> String {
    let (status, body) = reserver(system, prefix)(n).await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

/// Every reservation reaches my page, paid and accepted at the booth.
async fn all_on_my_page(system: &TestSystem, ids: &[String]) {
    for id in ids {
        system
            .view_until(
                &system.admin_token,
                &format!("/api/mypage/reservations/{id}"),
                "reserved, paid and accepted",
                |v| {
                    v["reservationStatus"] == "Reserved"
                        && v["paymentStatus"] == "Approved"
                        && v["rentalStatus"] == "Accepted"
                },
            )
            .await;
    }
}

#[tokio::test]
async fn a_frozen_service_is_replaced_by_the_supervisor_and_nothing_is_lost() {
    let mut system = TestSystem::supervised(MSA, MANIFEST).await;
    let mut ids = vec![reserved(&system, "before", 1).await];
    let frozen = system.supervised_processes("customer")[0]["pid"].clone();

    // My page stops answering (SIGSTOP): reservations go on, their events wait on the bus.
    system.signal_service("customer", Signal::SIGSTOP);
    for n in 0..3 {
        ids.push(reserved(&system, "while-frozen", n).await);
    }
    let reason = system.restarted("customer", 0).await;
    assert!(reason.contains("liveness probe"), "{reason}");
    let replaced = system.supervised_processes("customer")[0]["pid"].clone();
    assert_ne!(replaced, frozen, "a new process runs my page");
    let status = system.status().await;
    assert!(
        status
            .lines()
            .any(|l| l.starts_with("roaming/customer") && l.contains("failed its liveness probe")),
        "msa status shows the restart and why: {status}"
    );

    // The new process catches up with what the frozen one never handled.
    all_on_my_page(&system, &ids).await;
    system.interrupt().await;
}

#[tokio::test]
async fn msa_scale_adds_replicas_that_take_their_share_and_removes_them() {
    let mut system = TestSystem::supervised(MSA, MANIFEST).await;
    let printed = system.scale("customer", 2).await;
    assert!(printed.contains("customer-2 ready"), "{printed}");
    system.scale("reservation", 2).await;
    let replicas = system.supervised_processes("customer");
    assert_eq!(replicas.len(), 2, "{replicas:?}");

    // The consumer replicas split the partitions between them.
    for replica in &replicas {
        let url = replica["url"].as_str().unwrap();
        assert_eventually!(
            testkit::system::PATIENCE,
            system.admin_status_at(url).await["consumers"][0]["partitions"]
                .as_array()
                .is_some_and(|owned| !owned.is_empty()),
            "{} owns some partitions",
            replica["label"]
        );
    }
    // The gateway sends reservations to both reservation replicas.
    let mut ids = Vec::new();
    for n in 0..12 {
        ids.push(reserved(&system, "scaled", n).await);
    }
    for replica in system.supervised_processes("reservation") {
        let metrics = system.metrics_at(replica["url"].as_str().unwrap()).await;
        assert!(
            metrics.lines().any(|l| l.starts_with("http_requests_total")
                && l.contains("POST")
                && l.contains("/api/reservations")),
            "{} took reservations: {metrics}",
            replica["label"]
        );
    }
    all_on_my_page(&system, &ids).await;

    let printed = system.scale("customer", 1).await;
    assert!(printed.contains("customer-2 stopped"), "{printed}");
    system.scale("reservation", 1).await;
    assert_eq!(system.supervised_processes("customer").len(), 1);
    ids.push(reserved(&system, "after", 0).await);
    all_on_my_page(&system, &ids).await;
    let (refused, printed) = system.msa(&["scale", "roaming/nothing=2"]).await;
    assert!(!refused && printed.contains("has no service"), "{printed}");
    system.interrupt().await;
}

#[tokio::test]
async fn rolling_out_every_service_and_the_gateway_under_load_fails_no_reservation() {
    let mut system = TestSystem::supervised(MSA, MANIFEST).await;
    let signed_in = system.sign_in("kim", "kim-password").await;
    let reserve = reserver(&system, "rollout");
    let answers = system
        .roll_everything_under_load(15, move |n| reserve(n))
        .await;
    let ids: Vec<String> = answers
        .iter()
        .map(|(_, body)| body["id"].as_str().unwrap().to_owned())
        .collect();
    println!("{} reservations during the rollout, none failed", ids.len());
    assert!(ids.len() > 30, "the load ran through the rollout");
    all_on_my_page(&system, &ids).await;
    // The gateway processes share the issuer's grants: a sign-in outlives the hand-over.
    let refresh_token = signed_in["refresh_token"].as_str().unwrap();
    let (status, renewed) = system.refresh(refresh_token).await;
    assert_eq!(
        status, 200,
        "a refresh token from before the rollout works: {renewed}"
    );
    system.interrupt().await;
}
