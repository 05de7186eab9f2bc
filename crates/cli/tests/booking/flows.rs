//! The seed's functional requirements through the gateway: book and pay, delivery requested and
//! shipped, cancel (after shipping: the ticket is voided), my page at each step, a retried POST
//! booking once; and my page rebuilt by `msa replay`.

use serde_json::{Value, json};
use testkit::eventually;
use testkit::system::{Options, PATIENCE, Profile, TestSystem};

pub(crate) const MSA: &str = env!("CARGO_BIN_EXE_msa");
pub(crate) const MANIFEST: &str = include_str!("../../../../systems/booking/system.toml");

/// A booking request for `quantity` seats of `grade` at Elisabeth's second performance.
pub(crate) fn request(grade: &str, quantity: u32) -> Value {
    json!({
        "musicalId": "elisabeth",
        "performanceId": "elisabeth-2030-03-15",
        "grade": grade,
        "quantity": quantity,
        "deliveryAddress": "서울시 종로구 세종대로 1",
        "phone": "010-1234-5678",
        "cardNumber": "4242424242424242",
    })
}

/// Seats left of a grade of `elisabeth-2030-03-15` (or `performance`).
pub(crate) async fn seats_left(system: &TestSystem, performance: &str, grade: &str) -> i64 {
    let response = system
        .client
        .get(format!("{}/api/musicals", system.gateway()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200, "the catalog is public");
    let musicals: Value = response.json().await.unwrap();
    musicals
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["performances"].as_array().unwrap().iter())
        .find(|p| p["id"] == performance)
        .and_then(|p| {
            p["grades"]
                .as_array()
                .unwrap()
                .iter()
                .find(|g| g["grade"] == grade)
        })
        .map(|g| g["available"].as_i64().unwrap())
        .expect("the grade is in the catalog")
}

async fn book_ship_cancel(profile: Profile) {
    let system = TestSystem::start(MSA, MANIFEST, Options::of(profile)).await;
    let kim = system.user_token("kim", "kim-password").await;
    let lee = system.user_token("lee", "lee-password").await;
    let team = system.user_token("delivery", "delivery-password").await;
    let before = seats_left(&system, "elisabeth-2030-03-15", "VIP").await;
    let mut live = system.event_stream(&kim, "/api/mypage/events", None).await;

    let (status, booked) = system
        .post_keyed(&kim, "/api/bookings", "k-1", &request("VIP", 2))
        .await;
    assert_eq!(status, 201, "{booked}");
    assert_eq!(booked["status"], "Booked");
    assert_eq!(booked["amount"], 340_000);
    let id = booked["id"].as_str().unwrap().to_owned();
    let (status, again) = system
        .post_keyed(&kim, "/api/bookings", "k-1", &request("VIP", 2))
        .await;
    assert_eq!(
        (status, &again["id"]),
        (201, &booked["id"]),
        "a retry books once"
    );
    assert_eq!(
        seats_left(&system, "elisabeth-2030-03-15", "VIP").await,
        before - 2
    );
    let pushed = live
        .next(PATIENCE)
        .await
        .expect("my page pushes the new booking");
    assert_eq!(
        (pushed.event.as_str(), &pushed.data["bookingId"]),
        ("changed", &booked["id"])
    );
    let seen = pushed.id.expect("events have ids");
    drop(live);

    let (status, _) = system.get_as(&lee, &format!("/api/bookings/{id}")).await;
    assert_eq!(status, 404, "lee cannot see kim's booking");
    let (status, mine) = system.get_as(&kim, "/api/bookings?limit=1").await;
    assert_eq!(status, 200);
    assert_eq!(mine["bookings"][0]["id"], booked["id"]);

    eventually(PATIENCE, "the ticket is in the delivery queue", || async {
        let (_, queue) = system
            .get_as(&team, "/api/deliveries?status=Requested&limit=100")
            .await;
        queue["deliveries"]
            .as_array()
            .is_some_and(|d| d.iter().any(|d| d["bookingId"] == booked["id"]))
            .then_some(())
    })
    .await;
    let (status, _) = system
        .post_as(
            &kim,
            &format!("/api/deliveries/{id}/ship"),
            json!({"shipper": "kim"}),
        )
        .await;
    assert_eq!(status, 403, "customers do not ship");
    let path = format!("/api/deliveries/{id}/ship");
    let (status, shipped) = system
        .post_as(&team, &path, json!({"shipper": "CJ 대한통운"}))
        .await;
    assert_eq!(status, 200, "{shipped}");
    let view = system
        .mypage_until(&kim, "booking", &id, "shipped", |v| {
            v["deliveryStatus"] == "Shipped"
        })
        .await;
    // A page that reconnects with the last event it saw is told what it missed.
    let mut resumed = system
        .event_stream(&kim, "/api/mypage/events", Some(&seen))
        .await;
    let missed = resumed
        .next(PATIENCE)
        .await
        .expect("the missed changes are replayed");
    assert_eq!(missed.data["bookingId"], booked["id"]);
    assert!(missed.id.unwrap().parse::<u64>().unwrap() > seen.parse::<u64>().unwrap());
    let mut lees = system
        .event_stream(&lee, "/api/mypage/events", Some(&seen))
        .await;
    let quiet = lees.next(std::time::Duration::from_millis(300)).await;
    assert_eq!(quiet, None, "lee hears nothing of kim's");
    assert_eq!(view["bookingStatus"], "Booked");
    assert_eq!(view["paymentStatus"], "Approved");
    assert_eq!(view["shipper"], "CJ 대한통운");
    assert_eq!(view["musicalTitle"], "엘리자벳");
    let (status, _) = system
        .get_as(&lee, &format!("/api/mypage/bookings/{id}"))
        .await;
    assert_eq!(status, 404, "lee's my page does not show kim's booking");

    let (status, canceling) = system
        .post_as(&kim, &format!("/api/bookings/{id}/cancel"), json!({}))
        .await;
    assert_eq!(
        (status, &canceling["status"]),
        (202, &json!("CancelRequested"))
    );
    let view = system
        .mypage_until(&kim, "booking", &id, "canceled", |v| {
            v["bookingStatus"] == "Canceled"
        })
        .await;
    assert_eq!(view["paymentStatus"], "Refunded");
    assert_eq!(
        view["deliveryStatus"], "Voided",
        "a shipped ticket is voided"
    );
    testkit::assert_timeline(
        &view,
        &[
            "booking.started",
            "payment.approved",
            "delivery.requested",
            "delivery.shipped",
            "booking.cancel_requested",
            "payment.canceled",
            "delivery.canceled",
            "booking.canceled",
        ],
    );
    assert_eq!(
        seats_left(&system, "elisabeth-2030-03-15", "VIP").await,
        before,
        "seats are free again"
    );
    let (status, refused) = system
        .post_as(&team, &path, json!({"shipper": "CJ 대한통운"}))
        .await;
    assert_eq!(
        (status, &refused["code"]),
        (409, &json!("delivery_canceled"))
    );
    let (status, page) = system.get_as(&kim, "/api/mypage?limit=10").await;
    assert_eq!(status, 200);
    assert!(
        page["bookings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["bookingId"] == booked["id"])
    );
    // Cleanup fails the test if any log shows the card, the phone number or the address.
    system.cleanup().await;
}

scenario!(book_ship_cancel);

#[tokio::test]
async fn every_api_route_needs_a_valid_token_except_the_public_ones() {
    let mut system = TestSystem::start(MSA, MANIFEST, Options::default()).await;
    let walked = system.walk_routes().await;
    assert!(
        walked >= 14,
        "the route table has all the API's routes ({walked})"
    );
    system.cleanup().await;
}
