//! Scaling out: two booth replicas share the stream; a payment replica added and replaced
//! under load is found through the registry.

use crate::helpers::{Options, PATIENCE, Profile, System};
use std::collections::HashSet;
use testkit::eventually;

scenario!(two_booth_replicas_make_exactly_one_rental_per_reservation);
async fn two_booth_replicas_make_exactly_one_rental_per_reservation(profile: Profile) {
    let mut system = System::start(Options::of(profile)).await;
    system.spawn("rental-2", "rental", Some(1)).await;
    system.wait_ready("rental", Some(1)).await;
    eventually(PATIENCE, "both replicas to own partitions", || async {
        let (a, b) = (
            system.owned_partitions("rental", None).await,
            system.owned_partitions("rental", Some(1)).await,
        );
        (a > 0 && b > 0 && a + b == 8).then_some(())
    })
    .await;

    let mut ids = Vec::new();
    for i in 0..24 {
        ids.push(system.reserved(&format!("group-tour-{i}")).await);
    }
    for id in &ids {
        system
            .rental_until(id, "accepted", |r| r["status"] == "Accepted")
            .await;
    }
    let (status, queue) = system.get("/api/rentals?booth=ICN-T1").await;
    assert_eq!(status, 200);
    let rentals: Vec<&str> = queue
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reservationId"].as_str().unwrap())
        .collect();
    let distinct: HashSet<&str> = rentals.iter().copied().collect();
    assert_eq!(
        rentals.len(),
        ids.len(),
        "one rental per reservation: {rentals:?}"
    );
    assert_eq!(distinct.len(), ids.len());
    for id in &ids {
        // Exactly one `accepted` event per reservation: the rental's sequence stayed at 1.
        let view = system
            .mypage_until(id, "booth status known", |v| {
                v["rentalStatus"] == "Accepted"
            })
            .await;
        assert_eq!(view["sources"]["rental"], 1, "{view}");
    }
    let reserved = "roaming.reservation.reserved.v1";
    let (a, b) = (
        system.handled("rental", None, reserved).await,
        system.handled("rental", Some(1), reserved).await,
    );
    assert!(a > 0 && b > 0, "both replicas took a share: {a} and {b}");
    assert_eq!(
        a + b,
        ids.len() as u64,
        "each reservation handled by exactly one replica"
    );
    system.cleanup().await;
}

scenario!(a_payment_replica_replaced_under_reservation_load_fails_no_reservation);
async fn a_payment_replica_replaced_under_reservation_load_fails_no_reservation(profile: Profile) {
    // Reservation is told of one payment address only; it finds the second replica, started
    // later on a port of its own, in the system's registry, and stops choosing the first one
    // while it is away.
    let mut system = System::start(Options::of(profile)).await;
    system.spawn("payment-2", "payment", Some(1)).await;
    system.wait_ready("payment", Some(1)).await;

    // Reservations keep coming while the first payment replica is stopped and started again.
    let load = {
        let client = system.client.clone();
        let gateway = system.gateway();
        let token = system.admin_token.clone();
        tokio::spawn(async move {
            let mut statuses = Vec::new();
            for i in 0..60 {
                let response = client
                    .post(format!("{gateway}/api/reservations"))
                    .bearer_auth(&token)
                    .json(&crate::helpers::reservation_request(
                        &format!("load-{i}"),
                        crate::helpers::APPROVED_CARD,
                    ))
                    .send()
                    .await
                    .unwrap();
                statuses.push(response.status().as_u16());
            }
            statuses
        })
    };
    system.stop("payment").await;
    system.restart("payment").await;
    let statuses = load.await.unwrap();
    assert!(
        statuses.iter().all(|s| *s == 201),
        "every reservation was paid while a payment replica was replaced: {statuses:?}"
    );
    system.cleanup().await;
}
