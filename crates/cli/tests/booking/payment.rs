//! Payment failing, then back: bookings answered 503 `payment_busy`, fast once the breaker is
//! open; reconciliation settles every booking whose outcome was unknown, so no booking is paid
//! without its booking, none is booked without its payment, and no failed booking holds a seat;
//! once payment answers again (the breaker half-open, then closed) bookings go through.

use crate::flows::{MANIFEST, MSA, request, seats_left};
use serde_json::Value;
use std::time::{Duration, Instant};
use testkit::eventually;
use testkit::system::{Options, PATIENCE, TestSystem};

#[tokio::test]
async fn with_payment_failing_the_breaker_opens_reconciliation_settles_and_it_recovers() {
    let mut system = TestSystem::new(MSA, MANIFEST, Options::default());
    for (key, value) in [
        ("MSA__RECONCILE__AFTER_MS", "300"),
        ("MSA__RECONCILE__EVERY_MS", "100"),
        ("MSA__PAYMENT__BREAKER__OPEN_MS", "1500"),
    ] {
        system.set_service_env("booking", key, value);
    }
    system.start_all().await;
    let kim = system.user_token("kim", "kim-password").await;
    let before = seats_left(&system, "elisabeth-2030-03-15", "S").await;
    system.faults("payment", 0, 1.0).await;

    let mut failed = Vec::new();
    let mut fast = None;
    for attempt in 0..8 {
        let started = Instant::now();
        let (status, answer) = system.post_as(&kim, "/api/bookings", request("S", 1)).await;
        let took = started.elapsed();
        assert_eq!(
            (status, answer["code"].as_str()),
            (503, Some("payment_busy")),
            "attempt {attempt}: {answer}"
        );
        let status: Value = system
            .client
            .get(format!("{}/admin/status", system.url("booking")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if status["breakers"][0]["state"] == "open" {
            fast.get_or_insert(took);
        }
        failed.push(answer);
    }
    let fast = fast.expect("the breaker opened after repeated failures");
    assert!(
        fast < Duration::from_millis(1000),
        "refused fast once open ({fast:?})"
    );

    system.faults("payment", 0, 0.0).await;
    let (_, mine) = system.get_as(&kim, "/api/bookings?limit=100").await;
    let ids: Vec<String> = mine["bookings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        ids.len(),
        failed.len(),
        "every attempt left one booking behind"
    );
    eventually(PATIENCE, "every unknown outcome settled", || async {
        let (_, mine) = system.get_as(&kim, "/api/bookings?limit=100").await;
        let bookings = mine["bookings"].as_array().unwrap().clone();
        bookings
            .iter()
            .all(|b| b["status"] == "BookFailed")
            .then_some(())
    })
    .await;
    for id in &ids {
        let response = system
            .client
            .get(format!(
                "{}/api/payments/by-order/{id}",
                system.url("payment")
            ))
            .send()
            .await
            .unwrap();
        if response.status().as_u16() == 200 {
            let payment: Value = response.json().await.unwrap();
            assert_ne!(
                payment["status"], "Approved",
                "no payment without its booking: {payment}"
            );
        }
    }
    assert_eq!(
        seats_left(&system, "elisabeth-2030-03-15", "S").await,
        before,
        "no seat held"
    );
    let booked = eventually(
        PATIENCE,
        "payment is back and the breaker closes",
        || async {
            let (status, booked) = system.post_as(&kim, "/api/bookings", request("S", 1)).await;
            (status == 201).then_some(booked)
        },
    )
    .await;
    assert_eq!(booked["status"], "Booked");
    system.cleanup().await;
}
