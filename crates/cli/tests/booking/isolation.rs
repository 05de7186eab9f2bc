//! Fault isolation and scale-out: bookings are taken while delivery and my page are down, and
//! both catch up; two delivery replicas queue every paid booking exactly once.

use crate::flows::{MANIFEST, MSA, request};
use std::collections::HashSet;
use testkit::eventually;
use testkit::system::{Options, PATIENCE, Profile, TestSystem};

/// Books `n` tickets for kim; returns the booking ids.
async fn book(system: &TestSystem, token: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for _ in 0..n {
        let (status, booked) = system
            .post_as(token, "/api/bookings", request("S", 1))
            .await;
        assert_eq!(status, 201, "{booked}");
        ids.push(booked["id"].as_str().unwrap().to_owned());
    }
    ids
}

/// The booking ids in the delivery team's queue of requested tickets.
async fn queued(system: &TestSystem, team: &str) -> Vec<String> {
    let (status, queue) = system
        .get_as(team, "/api/deliveries?status=Requested&limit=100")
        .await;
    assert_eq!(status, 200, "{queue}");
    let deliveries = queue["deliveries"].as_array().unwrap();
    deliveries
        .iter()
        .map(|d| d["bookingId"].as_str().unwrap().to_owned())
        .collect()
}

scenario!(with_delivery_and_my_page_down_bookings_are_taken_and_both_catch_up);
async fn with_delivery_and_my_page_down_bookings_are_taken_and_both_catch_up(profile: Profile) {
    let mut system = TestSystem::start(MSA, MANIFEST, Options::of(profile)).await;
    let kim = system.user_token("kim", "kim-password").await;
    let team = system.user_token("delivery", "delivery-password").await;
    system.stop("delivery").await;
    system.stop("mypage").await;
    let ids = book(&system, &kim, 3).await;
    system.restart("delivery").await;
    system.restart("mypage").await;
    eventually(PATIENCE, "delivery caught up", || async {
        let queue = queued(&system, &team).await;
        ids.iter().all(|id| queue.contains(id)).then_some(())
    })
    .await;
    for id in &ids {
        system
            .mypage_until(&kim, "booking", id, "caught up", |v| {
                v["bookingStatus"] == "Booked" && v["deliveryStatus"] == "Requested"
            })
            .await;
    }
    system.cleanup().await;
}

#[tokio::test]
async fn two_delivery_replicas_queue_every_paid_booking_exactly_once() {
    let mut system = TestSystem::start(MSA, MANIFEST, Options::default()).await;
    system.spawn("delivery-2", "delivery", Some(1)).await;
    system.wait_ready("delivery", Some(1)).await;
    eventually(PATIENCE, "both replicas own partitions", || async {
        let a = system.owned_partitions("delivery", None).await;
        let b = system.owned_partitions("delivery", Some(1)).await;
        (a > 0 && b > 0 && a + b == 8).then_some(())
    })
    .await;
    let kim = system.user_token("kim", "kim-password").await;
    let team = system.user_token("delivery", "delivery-password").await;
    let ids = book(&system, &kim, 16).await;
    let queue = eventually(PATIENCE, "every booking queued", || async {
        let queue = queued(&system, &team).await;
        ids.iter().all(|id| queue.contains(id)).then_some(queue)
    })
    .await;
    let distinct: HashSet<&String> = queue.iter().collect();
    assert_eq!(
        (queue.len(), distinct.len()),
        (ids.len(), ids.len()),
        "{queue:?}"
    );
    for id in &ids {
        let view = system
            .mypage_until(&kim, "booking", id, "queued", |v| {
                v["deliveryStatus"] == "Requested"
            })
            .await;
        assert_eq!(
            view["sources"]["delivery"], 1,
            "one delivery event per booking: {view}"
        );
    }
    let started = "booking.booking.started.v1";
    let a = system.handled("delivery", None, started).await;
    let b = system.handled("delivery", Some(1), started).await;
    assert!(a > 0 && b > 0, "both replicas took a share: {a} and {b}");
    assert_eq!(
        a + b,
        ids.len() as u64,
        "each booking handled by exactly one replica"
    );
    system.cleanup().await;
}
