//! Fault isolation: with product and delivery stopped, rentals are still taken and handled when
//! delivery returns; with delivery down, failing or slow, a cancel answers 503 `delivery_busy`
//! (fast once the breaker is open) and changes nothing, a cancel whose answer was lost is
//! completed by delivery's event with the stock restored once, and it recovers by itself.

use crate::flows::{MANIFEST, MSA, registered, rental_until, rented, stock_until};
use serde_json::json;
use std::time::{Duration, Instant};
use testkit::eventually;
use testkit::paying::{quick_breaker, refused_fast_once_open};
use testkit::system::{Options, PATIENCE, Profile, TestSystem};

scenario!(with_product_and_delivery_down_rentals_are_taken_and_handled_when_delivery_returns);
async fn with_product_and_delivery_down_rentals_are_taken_and_handled_when_delivery_returns(
    profile: Profile,
) {
    let mut system = TestSystem::start(MSA, MANIFEST, Options::of(profile)).await;
    let kim = system.user_token("kim", "kim-password").await;
    let team = system.user_token("product", "product-password").await;
    let desk = registered(&system, &team, "standing desk", 4).await;
    system.stop("product").await;
    system.stop("delivery").await;
    let ids = [
        rented(&system, &kim, &desk, 1).await,
        rented(&system, &kim, &desk, 2).await,
    ];
    system.restart("delivery").await;
    for id in &ids {
        rental_until(&system, &kim, id, "Scheduled").await;
    }
    stock_until(&system, &desk, |n| n == 1).await;
    system.cleanup().await;
}

/// Cancels rental `id` as `token`: the answer and how long it took.
async fn cancel(system: &TestSystem, token: &str, id: &str) -> (u16, serde_json::Value, Duration) {
    let started = Instant::now();
    let path = format!("/api/rentals/{id}/cancel");
    let (status, answer) = system.post_as(token, &path, json!({})).await;
    (status, answer, started.elapsed())
}

#[tokio::test]
async fn with_delivery_down_failing_or_slow_a_cancel_changes_nothing_until_delivery_canceled() {
    let mut system = TestSystem::new(MSA, MANIFEST, Options::default());
    quick_breaker(&mut system, "rental", "delivery");
    system.start_all().await;
    let kim = system.user_token("kim", "kim-password").await;
    let team = system.user_token("product", "product-password").await;
    let chair = registered(&system, &team, "chair", 10).await;
    let first = rented(&system, &kim, &chair, 3).await;
    let second = rented(&system, &kim, &chair, 2).await;
    rental_until(&system, &kim, &second, "Scheduled").await;
    rental_until(&system, &kim, &first, "Scheduled").await;
    stock_until(&system, &chair, |n| n == 5).await;
    // Delivery failing: 503 delivery_busy, fast once the breaker is open; nothing canceled.
    let cancel_first = || async {
        let (status, answer, _) = cancel(&system, &kim, &first).await;
        (status, answer)
    };
    refused_fast_once_open(
        &system,
        ("rental", "delivery"),
        "delivery_busy",
        cancel_first,
    )
    .await;
    rental_until(&system, &kim, &first, "Scheduled").await;
    stock_until(&system, &chair, |n| n == 5).await;

    // Delivery back: the breaker lets a call through again and the cancel goes through.
    system.faults("delivery", 0, 0.0).await;
    eventually(
        PATIENCE,
        "delivery is back and the cancel goes through",
        || async {
            let (status, answer, _) = cancel(&system, &kim, &first).await;
            (status == 200).then_some(answer)
        },
    )
    .await;
    stock_until(&system, &chair, |n| n == 8).await;

    // Delivery slow: the answer is lost (503), but delivery did cancel; its event completes the
    // rental's cancel and the stock comes back once.
    system.faults("delivery", 1_500, 0.0).await;
    let (status, answer, _) = cancel(&system, &kim, &second).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (503, Some("delivery_busy")),
        "{answer}"
    );
    let canceled = rental_until(&system, &kim, &second, "Canceled").await;
    assert_eq!(canceled["cancelReason"], "customer");
    assert_eq!(stock_until(&system, &chair, |n| n == 10).await, 10);
    system.faults("delivery", 0, 0.0).await;

    // Delivery stopped: refused at once, the rental unchanged.
    let third = rented(&system, &kim, &chair, 1).await;
    rental_until(&system, &kim, &third, "Scheduled").await;
    system.stop("delivery").await;
    let (status, answer, _) = cancel(&system, &kim, &third).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (503, Some("delivery_busy")),
        "{answer}"
    );
    rental_until(&system, &kim, &third, "Scheduled").await;
    system.restart("delivery").await;
    eventually(
        PATIENCE,
        "the cancel goes through once delivery is back",
        || async {
            let (status, _, _) = cancel(&system, &kim, &third).await;
            (status == 200).then_some(())
        },
    )
    .await;
    stock_until(&system, &chair, |n| n == 10).await;
    system.cleanup().await;
}
