//! The seed's functional flow, end to end through the gateway, with my page showing each step.

use crate::helpers::{Bus, Options, Profile, System};
use serde_json::{Value, json};

fn timeline(view: &Value) -> Vec<String> {
    view["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{}.{}",
                e["source"].as_str().unwrap(),
                e["event"].as_str().unwrap()
            )
        })
        .collect()
}

async fn reserve_hand_out_return_collect(options: Options) {
    let system = System::start(options).await;
    let id = system.reserved("kim.minsu").await;

    let rental = system
        .rental_until(&id, "accepted at the booth", |r| r["status"] == "Accepted")
        .await;
    assert_eq!(rental["booth"], "ICN-T1");
    assert_eq!(rental["deviceModel"], "galaxy-s24");
    let (status, queue) = system
        .get("/api/rentals?booth=ICN-T1&status=Accepted")
        .await;
    assert_eq!(status, 200);
    assert!(
        queue
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["reservationId"] == id.as_str())
    );
    let view = system
        .mypage_until(&id, "reserved, paid and accepted", |v| {
            v["reservationStatus"] == "Reserved"
                && v["paymentStatus"] == "Approved"
                && v["rentalStatus"] == "Accepted"
        })
        .await;
    assert_eq!(view["amount"], 9_900 * 4);
    assert_eq!(view["country"], "JP");

    let (status, handed) = system
        .post(
            &format!("/api/rentals/{id}/handout"),
            json!({ "deviceSerial": "SN-0001" }),
        )
        .await;
    assert_eq!(status, 200, "{handed}");
    assert_eq!(handed["status"], "HandedOut");
    system
        .reservation_until(&id, "handed out", |r| r["status"] == "HandedOut")
        .await;
    system
        .mypage_until(&id, "handed out", |v| {
            v["rentalStatus"] == "HandedOut"
                && v["reservationStatus"] == "HandedOut"
                && v["deviceSerial"] == "SN-0001"
        })
        .await;

    let (status, body) = system
        .post(&format!("/api/rentals/{id}/collect"), json!({}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("device_not_returned"))
    );

    let (status, returned) = system
        .post(&format!("/api/reservations/{id}/return"), json!({}))
        .await;
    assert_eq!(status, 200, "{returned}");
    assert_eq!(returned["status"], "Returned");
    system
        .rental_until(&id, "returned to the booth", |r| r["status"] == "Returned")
        .await;
    let (status, collected) = system
        .post(&format!("/api/rentals/{id}/collect"), json!({}))
        .await;
    assert_eq!(status, 200, "{collected}");
    assert_eq!(collected["status"], "Collected");
    system
        .reservation_until(&id, "completed", |r| r["status"] == "Completed")
        .await;
    let view = system
        .mypage_until(&id, "completed and collected", |v| {
            v["reservationStatus"] == "Completed" && v["rentalStatus"] == "Collected"
        })
        .await;
    let steps = timeline(&view);
    for step in [
        "reservation.requested",
        "payment.approved",
        "reservation.reserved",
        "rental.accepted",
        "rental.handed_out",
        "reservation.handed_out",
        "reservation.returned",
        "rental.returned",
        "rental.collected",
        "reservation.completed",
    ] {
        assert!(
            steps.contains(&step.to_owned()),
            "my page timeline lacks {step}: {steps:?}"
        );
    }
    let (status, page) = system.get("/api/mypage?customerId=kim.minsu").await;
    assert_eq!(status, 200);
    assert_eq!(page["reservations"].as_array().unwrap().len(), 1);
    system.cleanup().await;
}

scenario!(a_reservation_goes_from_payment_to_collection_and_my_page_shows_each_step);
async fn a_reservation_goes_from_payment_to_collection_and_my_page_shows_each_step(
    profile: Profile,
) {
    reserve_hand_out_return_collect(Options::of(profile)).await;
}

#[tokio::test]
async fn the_same_flow_runs_on_nats_jetstream() {
    reserve_hand_out_return_collect(Options {
        bus: Bus::Nats,
        ..Options::default()
    })
    .await;
}

scenario!(
    canceling_before_hand_out_cancels_the_rental_refunds_the_payment_and_cancels_the_reservation
);
async fn canceling_before_hand_out_cancels_the_rental_refunds_the_payment_and_cancels_the_reservation(
    profile: Profile,
) {
    let system = System::start(Options::of(profile)).await;
    let id = system.reserved("lee").await;
    system
        .rental_until(&id, "accepted", |r| r["status"] == "Accepted")
        .await;

    let (status, body) = system
        .post(&format!("/api/reservations/{id}/cancel"), json!({}))
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["status"], "CancelRequested");

    system
        .reservation_until(&id, "canceled", |r| r["status"] == "Canceled")
        .await;
    system
        .rental_until(&id, "canceled", |r| r["status"] == "Canceled")
        .await;
    let (status, payment) = system.payment_of(&id).await;
    assert_eq!(
        (status, payment["status"].as_str()),
        (200, Some("Canceled")),
        "refunded"
    );
    let view = system
        .mypage_until(&id, "canceled everywhere", |v| {
            v["reservationStatus"] == "Canceled"
                && v["paymentStatus"] == "Refunded"
                && v["rentalStatus"] == "Canceled"
        })
        .await;
    let steps = timeline(&view);
    for step in [
        "reservation.cancel_requested",
        "rental.canceled",
        "payment.canceled",
        "reservation.canceled",
    ] {
        assert!(
            steps.contains(&step.to_owned()),
            "timeline lacks {step}: {steps:?}"
        );
    }
    let (status, body) = system
        .post(
            &format!("/api/rentals/{id}/handout"),
            json!({ "deviceSerial": "SN-9" }),
        )
        .await;
    assert_eq!(status, 409, "a canceled rental is never handed out: {body}");
    system.cleanup().await;
}

scenario!(canceling_after_hand_out_is_refused_by_the_booth_and_the_reservation_is_restored);
async fn canceling_after_hand_out_is_refused_by_the_booth_and_the_reservation_is_restored(
    profile: Profile,
) {
    let system = System::start(Options::of(profile)).await;
    let id = system.reserved("park").await;
    system
        .rental_until(&id, "accepted", |r| r["status"] == "Accepted")
        .await;

    // The reservation does not hear of the hand-out before the customer cancels: the booth,
    // which has the device out, must refuse and the reservation must be restored.
    let paused = system
        .client
        .post(format!(
            "{}/admin/consumers/pause",
            system.url("reservation")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(paused.status().as_u16(), 200);
    let (status, _) = system
        .post(
            &format!("/api/rentals/{id}/handout"),
            json!({ "deviceSerial": "SN-7" }),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = system
        .post(&format!("/api/reservations/{id}/cancel"), json!({}))
        .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (202, Some("CancelRequested"))
    );
    system
        .mypage_until(&id, "the booth refused", |v| {
            v["timeline"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["source"] == "rental" && e["event"] == "cancel_refused")
        })
        .await;
    system
        .client
        .post(format!(
            "{}/admin/consumers/resume",
            system.url("reservation")
        ))
        .send()
        .await
        .unwrap();

    let restored = system
        .reservation_until(&id, "restored", |r| r["status"] == "HandedOut")
        .await;
    assert_eq!(
        restored["cancelRefusedReason"],
        "the device was already handed out"
    );
    let view = system
        .mypage_until(&id, "refusal visible", |v| {
            v["reservationStatus"] == "HandedOut"
                && v["cancelRefusedReason"] == "the device was already handed out"
        })
        .await;
    assert_eq!(
        view["paymentStatus"], "Approved",
        "no refund for a refused cancel"
    );
    assert_eq!(view["rentalStatus"], "HandedOut");

    // Now that the reservation knows, it refuses at once.
    let (status, body) = system
        .post(&format!("/api/reservations/{id}/cancel"), json!({}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("already_handed_out"))
    );
    system.cleanup().await;
}
