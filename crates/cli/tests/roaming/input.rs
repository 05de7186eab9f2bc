//! Bad input gets a clear 4xx with a stable `{code, message}`, never a 500.

use crate::helpers::{
    APPROVED_CARD, DECLINED_CARD, NO_FUNDS_CARD, Options, Profile, System, reservation_request,
};
use serde_json::{Value, json};

fn with(mut body: Value, key: &str, value: Value) -> Value {
    body[key] = value;
    body
}

fn assert_error(
    case: &str,
    (status, body): (u16, Value),
    expected_status: u16,
    expected_code: &str,
) {
    assert_eq!(status, expected_status, "{case}: {body}");
    assert_eq!(body["code"], expected_code, "{case}: {body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{case}: a human message is given: {body}"
    );
}

scenario!(bad_input_gets_a_clear_4xx_with_a_stable_code);
async fn bad_input_gets_a_clear_4xx_with_a_stable_code(profile: Profile) {
    let system = System::start(Options::of(profile)).await;
    let good = reservation_request("oh", APPROVED_CARD);
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        (
            "unknown field",
            with(good.clone(), "discount", json!(50)),
            422,
            "invalid_body",
        ),
        (
            "wrong type",
            with(good.clone(), "rentalDate", json!(20261201)),
            422,
            "invalid_body",
        ),
        (
            "unknown device",
            with(good.clone(), "deviceModel", json!("nokia-3310")),
            422,
            "unknown_device_model",
        ),
        (
            "unknown country",
            with(good.clone(), "country", json!("XX")),
            422,
            "unknown_country",
        ),
        (
            "unknown booth",
            with(good.clone(), "booth", json!("ICN-T9")),
            422,
            "unknown_booth",
        ),
        (
            "past date",
            with(good.clone(), "rentalDate", json!("2020-01-01")),
            422,
            "rental_date_in_past",
        ),
        (
            "not a date",
            with(good.clone(), "returnDate", json!("next week")),
            422,
            "invalid_date",
        ),
        (
            "return before rental",
            with(good.clone(), "returnDate", good["rentalDate"].clone()),
            422,
            "return_before_rental",
        ),
        (
            "too long",
            with(good.clone(), "returnDate", json!("2099-01-01")),
            422,
            "rental_too_long",
        ),
        (
            "card letters",
            with(good.clone(), "cardNumber", json!("4242abcd")),
            422,
            "invalid_card_number",
        ),
        (
            "bad customer",
            with(good.clone(), "customerId", json!("a b")),
            422,
            "invalid_customer_id",
        ),
        (
            "declined card",
            with(good.clone(), "cardNumber", json!(DECLINED_CARD)),
            402,
            "card_declined",
        ),
        (
            "no funds",
            with(good.clone(), "cardNumber", json!(NO_FUNDS_CARD)),
            402,
            "insufficient_funds",
        ),
        (
            "bad check digit",
            with(good.clone(), "cardNumber", json!("4242424242424241")),
            402,
            "invalid_card_number",
        ),
    ];
    for (case, body, status, code) in cases {
        assert_error(
            case,
            system.post("/api/reservations", body).await,
            status,
            code,
        );
    }

    let raw = system
        .client
        .post(format!("{}/api/reservations", system.gateway()))
        .bearer_auth(&system.admin_token)
        .header("content-type", "application/json")
        .body("{\"customerId\": ")
        .send()
        .await
        .unwrap();
    assert_error(
        "malformed JSON",
        (raw.status().as_u16(), raw.json().await.unwrap()),
        400,
        "malformed_json",
    );
    let raw = system
        .client
        .post(format!("{}/api/reservations", system.gateway()))
        .bearer_auth(&system.admin_token)
        .body(good.to_string())
        .send()
        .await
        .unwrap();
    assert_error(
        "no content type",
        (raw.status().as_u16(), raw.json().await.unwrap()),
        415,
        "unsupported_media_type",
    );

    assert_error(
        "unknown reservation",
        system.get("/api/reservations/nope").await,
        404,
        "reservation_not_found",
    );
    assert_error(
        "cancel unknown",
        system
            .post("/api/reservations/nope/cancel", json!({}))
            .await,
        404,
        "reservation_not_found",
    );
    assert_error(
        "unknown rental",
        system.get("/api/rentals/nope").await,
        404,
        "rental_not_found",
    );
    assert_error(
        "bad queue status",
        system.get("/api/rentals?status=Lost").await,
        400,
        "invalid_status",
    );
    assert_error(
        "bad query param",
        system.get("/api/rentals?color=red").await,
        400,
        "invalid_query",
    );
    assert_error(
        "my page without customer",
        system.get("/api/mypage").await,
        400,
        "missing_customer_id",
    );
    assert_error(
        "unknown view",
        system.get("/api/mypage/reservations/nope").await,
        404,
        "reservation_not_found",
    );
    assert_error(
        "unknown route",
        system.get("/api/nothing-here").await,
        404,
        "route_not_found",
    );
    assert_error(
        "no list without customer",
        system.get("/api/reservations").await,
        400,
        "missing_customer_id",
    );

    let id = system.reserved("oh").await;
    assert_error(
        "return before hand-out",
        system
            .post(&format!("/api/reservations/{id}/return"), json!({}))
            .await,
        409,
        "not_handed_out",
    );
    system
        .rental_until(&id, "accepted", |r| r["status"] == "Accepted")
        .await;
    assert_error(
        "bad serial",
        system
            .post(
                &format!("/api/rentals/{id}/handout"),
                json!({ "deviceSerial": "" }),
            )
            .await,
        422,
        "invalid_device_serial",
    );
    assert_error(
        "hand-out body with a wrong field",
        system
            .post(
                &format!("/api/rentals/{id}/handout"),
                json!({ "serial": "SN" }),
            )
            .await,
        422,
        "invalid_body",
    );
    let (status, _) = system
        .post(
            &format!("/api/rentals/{id}/handout"),
            json!({ "deviceSerial": "SN-1" }),
        )
        .await;
    assert_eq!(status, 200);
    assert_error(
        "hand out twice",
        system
            .post(
                &format!("/api/rentals/{id}/handout"),
                json!({ "deviceSerial": "SN-2" }),
            )
            .await,
        409,
        "illegal_transition",
    );
    assert_error(
        "collect an unreturned device",
        system
            .post(&format!("/api/rentals/{id}/collect"), json!({}))
            .await,
        409,
        "device_not_returned",
    );
    system.cleanup().await;
}

#[tokio::test]
async fn the_services_clock_can_be_shifted_for_tests_of_time() {
    // Thirty days ahead, a trip three days from the real today has already begun.
    let system = System::start(Options {
        env: vec![(
            "MSA__CLOCK__OFFSET_SECONDS".to_owned(),
            (30 * 24 * 3600).to_string(),
        )],
        ..Options::default()
    })
    .await;
    let (status, body) = system.reserve("kim", APPROVED_CARD).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "rental_date_in_past");
    system.cleanup().await;
}
