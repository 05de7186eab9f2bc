//! Fault isolation and the synchronous payment call: supporting services down, payment down or
//! slow, the circuit breaker, and reconciliation of unknown payment outcomes.

use crate::helpers::{
    APPROVED_CARD, Options, PATIENCE, Profile, System, elapsed_ms, reservation_request,
};
use serde_json::Value;
use std::time::Instant;
use testkit::eventually;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

async fn breaker_state(system: &System) -> String {
    let status: Value = system
        .client
        .get(format!("{}/admin/status", system.url("reservation")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    status["breakers"][0]["state"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Every reservation is Reserved exactly when its payment is Approved.
async fn assert_no_payment_without_reservation(system: &System, ids: &[String]) {
    for id in ids {
        let (_, reservation) = system.get(&format!("/api/reservations/{id}")).await;
        let (status, payment) = system.payment_of(id).await;
        let paid = status == 200 && payment["status"] == "Approved";
        let reserved = !matches!(
            reservation["status"].as_str(),
            Some("ReserveFailed" | "PaymentPending" | "Canceled")
        );
        assert_eq!(
            paid, reserved,
            "reservation {id} is {} while its payment is {}",
            reservation["status"], payment
        );
    }
}

scenario!(reservations_are_taken_while_the_booth_and_my_page_are_down_and_both_catch_up);
async fn reservations_are_taken_while_the_booth_and_my_page_are_down_and_both_catch_up(
    profile: Profile,
) {
    let mut system = System::start(Options::of(profile)).await;
    system.stop("rental").await;
    system.kill("customer").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(system.reserved(&format!("traveller{i}")).await);
    }
    system.restart("rental").await;
    system.restart("customer").await;
    for id in &ids {
        system
            .rental_until(id, "accepted after catch-up", |r| r["status"] == "Accepted")
            .await;
        system
            .mypage_until(id, "complete after catch-up", |v| {
                v["reservationStatus"] == "Reserved"
                    && v["paymentStatus"] == "Approved"
                    && v["rentalStatus"] == "Accepted"
            })
            .await;
    }
    system.cleanup().await;
}

scenario!(with_payment_down_the_breaker_opens_reservations_are_refused_fast_and_it_recovers);
async fn with_payment_down_the_breaker_opens_reservations_are_refused_fast_and_it_recovers(
    profile: Profile,
) {
    let mut system = System::start(Options {
        env: env(&[
            ("MSA__PAYMENT__BREAKER__TIMEOUT_MS", "1000"),
            ("MSA__PAYMENT__BREAKER__MINIMUM_CALLS", "3"),
            ("MSA__PAYMENT__BREAKER__OPEN_MS", "1500"),
        ]),
        ..Options::of(profile)
    })
    .await;
    system.stop("payment").await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let response = system.reserve_raw("choi", APPROVED_CARD).await;
        assert_eq!(response.status().as_u16(), 503);
        assert!(response.headers().contains_key("retry-after"));
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "payment_busy");
        assert_eq!(body["message"], "payment is busy, try again shortly");
    }
    assert_eq!(breaker_state(&system).await, "open");
    let started = Instant::now();
    let response = system.reserve_raw("choi", APPROVED_CARD).await;
    let refused_in = elapsed_ms(started);
    assert_eq!(response.status().as_u16(), 503);
    println!("reserve refused in {refused_in} ms with the breaker open");
    assert!(
        refused_in < 1000,
        "an open breaker answers without waiting for payment's deadline"
    );

    let (_, listed) = system.get("/api/reservations?customerId=choi").await;
    for reservation in listed.as_array().unwrap() {
        assert_eq!(reservation["status"], "ReserveFailed");
        assert_eq!(reservation["failureReason"], "payment_unavailable");
        ids.push(reservation["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 4);

    system.restart("payment").await;
    let recovered = eventually(PATIENCE, "reservations accepted again", || async {
        let (status, body) = system.reserve("choi", APPROVED_CARD).await;
        (status == 201).then_some(body)
    })
    .await;
    assert_eq!(recovered["status"], "Reserved");
    for _ in 0..3 {
        assert_eq!(system.reserve("choi", APPROVED_CARD).await.0, 201);
    }
    assert_eq!(
        breaker_state(&system).await,
        "closed",
        "the trial calls closed the breaker"
    );
    let (_, listed) = system.get("/api/reservations?customerId=choi").await;
    let all: Vec<String> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_no_payment_without_reservation(&system, &all).await;
    system.cleanup().await;
}

scenario!(
    a_slow_payment_trips_the_breaker_and_reconciliation_leaves_no_payment_without_its_reservation
);
async fn a_slow_payment_trips_the_breaker_and_reconciliation_leaves_no_payment_without_its_reservation(
    profile: Profile,
) {
    let system = System::start(Options {
        env: env(&[
            ("MSA__PAYMENT__BREAKER__TIMEOUT_MS", "300"),
            ("MSA__PAYMENT__BREAKER__MINIMUM_CALLS", "3"),
            ("MSA__PAYMENT__BREAKER__OPEN_MS", "1500"),
            ("MSA__RECONCILE__AFTER_MS", "500"),
            ("MSA__RECONCILE__EVERY_MS", "200"),
        ]),
        ..Options::of(profile)
    })
    .await;
    // Payment takes the money, then answers too late: the outcome is unknown to reservation.
    system.payment_faults(1_000, 0.0).await;
    for _ in 0..3 {
        let response = system.reserve_raw("jung", APPROVED_CARD).await;
        assert_eq!(response.status().as_u16(), 503);
    }
    assert_eq!(breaker_state(&system).await, "open");
    let started = Instant::now();
    let response = system.reserve_raw("jung", APPROVED_CARD).await;
    let refused_in = elapsed_ms(started);
    assert_eq!(response.status().as_u16(), 503);
    println!("reserve refused in {refused_in} ms once the breaker opened on a slow payment");
    assert!(
        refused_in < 300,
        "refused without waiting for the 300 ms deadline"
    );

    let (_, listed) = system.get("/api/reservations?customerId=jung").await;
    let ids: Vec<String> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 4);
    for id in &ids {
        // The customer was told to retry, so a late approval is refunded, never confirmed.
        let reservation = system
            .reservation_until(id, "settled by reconciliation", |r| {
                r["status"] == "ReserveFailed"
            })
            .await;
        assert!(
            ["payment_timeout", "payment_unavailable"]
                .contains(&reservation["failureReason"].as_str().unwrap()),
            "{reservation}"
        );
    }
    let mut refunded = 0;
    for id in &ids {
        let (status, payment) = system.payment_of(id).await;
        if status == 200 && payment["status"] == "Canceled" {
            refunded += 1;
        }
    }
    assert_eq!(refunded, 3, "the three late approvals were refunded");
    assert_no_payment_without_reservation(&system, &ids).await;

    system.payment_faults(0, 0.0).await;
    let recovered = eventually(PATIENCE, "reservations accepted again", || async {
        let (status, body) = system.reserve("jung", APPROVED_CARD).await;
        (status == 201).then_some(body)
    })
    .await;
    assert_eq!(recovered["status"], "Reserved");
    system.cleanup().await;
}

scenario!(retrying_with_the_same_idempotency_key_confirms_a_payment_whose_answer_was_lost);
async fn retrying_with_the_same_idempotency_key_confirms_a_payment_whose_answer_was_lost(
    profile: Profile,
) {
    let system = System::start(Options {
        env: env(&[("MSA__PAYMENT__BREAKER__TIMEOUT_MS", "300")]),
        ..Options::of(profile)
    })
    .await;
    system.payment_faults(1_000, 0.0).await;
    let send = || async {
        system
            .client
            .post(format!("{}/api/reservations", system.gateway()))
            .bearer_auth(&system.admin_token)
            .header("idempotency-key", "trip-2026-12")
            .json(&reservation_request("yoon", APPROVED_CARD))
            .send()
            .await
            .unwrap()
    };
    let first = send().await;
    assert_eq!(first.status().as_u16(), 503);
    system.payment_faults(0, 0.0).await;
    // A careful client retries with the same key while told to (503 + Retry-After); on a busy
    // machine one retry may itself miss the 300 ms deadline.
    let reservation: Value = eventually(PATIENCE, "a retry with the same key succeeds", || async {
        let answer = send().await;
        match answer.status().as_u16() {
            201 => Some(answer.json().await.unwrap()),
            503 => None,
            other => panic!("a retry was answered {other}"),
        }
    })
    .await;
    assert_eq!(reservation["status"], "Reserved");
    let again: Value = send().await.json().await.unwrap();
    assert_eq!(
        again["id"], reservation["id"],
        "the same key is the same reservation"
    );
    let (_, listed) = system.get("/api/reservations?customerId=yoon").await;
    assert_eq!(
        listed.as_array().unwrap().len(),
        1,
        "one reservation, one charge"
    );
    let (_, payment) = system.payment_of(reservation["id"].as_str().unwrap()).await;
    assert_eq!(payment["status"], "Approved");
    assert_eq!(payment["paymentId"], reservation["paymentId"]);
    system.cleanup().await;
}

scenario!(
    a_payment_approved_just_before_the_reservation_service_crashed_is_confirmed_by_reconciliation
);
async fn a_payment_approved_just_before_the_reservation_service_crashed_is_confirmed_by_reconciliation(
    profile: Profile,
) {
    let mut system = System::start(Options {
        env: env(&[
            ("MSA__RECONCILE__AFTER_MS", "300"),
            ("MSA__RECONCILE__EVERY_MS", "200"),
        ]),
        ..Options::of(profile)
    })
    .await;
    system.stop("reservation").await;
    system
        .spawn_with(
            "reservation",
            &[(
                "MSA_CRASH_AT",
                payment_contracts::checkout::PAID_NOT_RECORDED,
            )],
        )
        .await;
    system.wait_ready("reservation", None).await;
    let (status, _) = system.reserve("han", APPROVED_CARD).await;
    assert!(
        status >= 500,
        "the request dies with the reservation service"
    );
    system.wait_exit("reservation").await;
    system.restart("reservation").await;
    let (_, listed) = system.get("/api/reservations?customerId=han").await;
    let id = listed[0]["id"].as_str().unwrap().to_owned();
    let confirmed = system
        .reservation_until(&id, "confirmed by reconciliation", |r| {
            r["status"] == "Reserved"
        })
        .await;
    let (_, payment) = system.payment_of(&id).await;
    assert_eq!(payment["paymentId"], confirmed["paymentId"]);
    system
        .rental_until(&id, "accepted", |r| r["status"] == "Accepted")
        .await;
    system.cleanup().await;
}
