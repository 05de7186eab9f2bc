//! Seats never oversold under concurrent bookings of the last ones, bad input refused with stable
//! codes, payment down answered fast with nothing held, a performance that has begun cannot be
//! canceled (the kit's clock offset), and my page rebuilt by `msa replay` (embedded profile).

use crate::flows::{MANIFEST, MSA, request, seats_left};
use serde_json::json;
use testkit::system::{Options, TestSystem};

#[tokio::test]
async fn the_last_seats_go_to_exactly_as_many_bookings_and_failures_hold_none() {
    let mut system = TestSystem::start(MSA, MANIFEST, Options::default()).await;
    let kim = system.user_token("kim", "kim-password").await;
    let small = |quantity: u32| {
        let mut body = request("S", quantity);
        body["musicalId"] = json!("frankenstein");
        body["performanceId"] = json!("frankenstein-2030-04-02");
        body
    };
    let racers = (0..6).map(|n| {
        let (system, kim, body) = (&system, &kim, small(1));
        async move {
            system
                .post_keyed(kim, "/api/bookings", &format!("race-{n}"), &body)
                .await
        }
    });
    let answers = futures_util::future::join_all(racers).await;
    let statuses: Vec<u16> = answers.iter().map(|(status, _)| *status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        4,
        "{answers:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        2,
        "{answers:?}"
    );
    assert!(
        answers
            .iter()
            .all(|(s, b)| *s == 201 || b["code"] == "sold_out")
    );
    assert_eq!(seats_left(&system, "frankenstein-2030-04-02", "S").await, 0);

    for (body, code) in [
        (
            {
                let mut b = request("S", 1);
                b["musicalId"] = json!("cats");
                b
            },
            "unknown_musical",
        ),
        (
            {
                let mut b = request("S", 1);
                b["performanceId"] = json!("x");
                b
            },
            "unknown_performance",
        ),
        (
            {
                let mut b = request("S", 1);
                b["grade"] = json!("Z");
                b
            },
            "unknown_grade",
        ),
        (request("S", 0), "invalid_quantity"),
        (request("S", 9), "invalid_quantity"),
        (
            {
                let mut b = request("S", 1);
                b["cardNumber"] = json!("12");
                b
            },
            "invalid_card_number",
        ),
        (
            {
                let mut b = request("S", 1);
                b["phone"] = json!("call me");
                b
            },
            "invalid_phone",
        ),
    ] {
        let (status, answer) = system.post_as(&kim, "/api/bookings", body).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (422, Some(code)),
            "{answer}"
        );
    }
    let mut unknown_field = request("S", 1);
    unknown_field["seat"] = json!("A1");
    let (status, answer) = system.post_as(&kim, "/api/bookings", unknown_field).await;
    assert!((400..500).contains(&status), "{status} {answer}");

    // An operator books for a customer (a phone order); nobody else books for anyone.
    let mut for_kim = request("R", 1);
    for_kim["customerId"] = json!("kim");
    let (status, booked) = system.post("/api/bookings", for_kim.clone()).await;
    assert_eq!(
        (status, &booked["customerId"]),
        (201, &json!("kim")),
        "{booked}"
    );
    let team = system.user_token("delivery", "delivery-password").await;
    let (status, refused) = system.post_as(&team, "/api/bookings", for_kim).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (403, Some("forbidden")),
        "{refused}"
    );

    let declined = {
        let mut b = request("R", 2);
        b["cardNumber"] = json!("4000000000000002");
        b
    };
    let before = seats_left(&system, "elisabeth-2030-03-15", "R").await;
    let (status, answer) = system.post_as(&kim, "/api/bookings", declined).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (402, Some("card_declined"))
    );
    assert_eq!(
        seats_left(&system, "elisabeth-2030-03-15", "R").await,
        before
    );

    system.stop("payment").await;
    let response = system
        .client
        .post(format!("{}/api/bookings", system.gateway()))
        .bearer_auth(&kim)
        .json(&request("R", 1))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let answer: serde_json::Value = response.json().await.unwrap();
    assert_eq!(answer["code"], "payment_busy");
    assert_eq!(
        seats_left(&system, "elisabeth-2030-03-15", "R").await,
        before,
        "no seat held"
    );
    system.restart("payment").await;
    let booked = testkit::eventually(testkit::system::PATIENCE, "payment is back", || async {
        let (status, booked) = system.post_as(&kim, "/api/bookings", request("R", 1)).await;
        (status == 201).then_some(booked)
    })
    .await;
    let id = booked["id"].as_str().unwrap().to_owned();
    system
        .mypage_until(&kim, "booking", &id, "booked and paid", |v| {
            v["bookingStatus"] == "Booked" && v["paymentStatus"] == "Approved"
        })
        .await;

    let printed = system.replay("mypage").await;
    assert!(
        printed.contains("booking/mypage now reads generation g1"),
        "{printed}"
    );
    let (status, view) = system
        .get_as(&kim, &format!("/api/mypage/bookings/{id}"))
        .await;
    assert_eq!(
        status, 200,
        "the rebuilt generation has the booking at once"
    );
    assert_eq!(
        (&view["bookingStatus"], &view["paymentStatus"]),
        (&json!("Booked"), &json!("Approved"))
    );

    // The performance of 2030-03-15 14:00 KST has begun on booking's clock: too late to cancel.
    let offset = (time::macros::datetime!(2030-03-15 15:00 +09:00)
        - time::OffsetDateTime::now_utc())
    .whole_seconds()
    .to_string();
    system.stop("booking").await;
    system.set_service_env("booking", "MSA__CLOCK__OFFSET_SECONDS", &offset);
    system.restart("booking").await;
    let (status, refused) = system
        .post_as(&kim, &format!("/api/bookings/{id}/cancel"), json!({}))
        .await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (409, Some("performance_started")),
        "{refused}"
    );
    system.cleanup().await;
}
