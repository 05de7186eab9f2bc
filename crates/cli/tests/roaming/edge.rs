//! The edge: OAuth2 / OIDC sign-in, token checks at the gateway, roles, scoping to one's own
//! reservations or booth, rate limiting and CORS.

use crate::helpers::{APPROVED_CARD, Options, System, reservation_request};
use serde_json::{Value, json};

#[tokio::test]
async fn bad_tokens_get_401_with_www_authenticate_and_a_good_one_passes() {
    let system = System::start(Options::default()).await;
    // Through the gateway to reservation, which scopes by the forwarded identity.
    system
        .refuses_every_bad_token("/api/reservations?customerId=kim")
        .await;
    system.cleanup().await;
}

#[tokio::test]
async fn every_api_route_needs_a_valid_token_except_the_public_ones() {
    let mut system = System::start(Options::default()).await;
    let walked = system.walk_routes().await;
    assert!(
        walked >= 17,
        "the route table has all the API's routes ({walked})"
    );
    system.cleanup().await;
}

#[tokio::test]
async fn roles_and_ownership_are_enforced_with_the_identity_from_the_token() {
    let system = System::start(Options::default()).await;
    let kim = system.user_token("kim", "kim-password").await;
    let lee = system.user_token("lee", "lee-password").await;
    let t1 = system.user_token("booth-icn-t1", "booth-password").await;

    // The customer id comes from the token, not from the body.
    let (status, reserved) = system
        .post_as(
            &kim,
            "/api/reservations",
            reservation_request("lee", APPROVED_CARD),
        )
        .await;
    assert_eq!(status, 201, "{reserved}");
    assert_eq!(reserved["customerId"], "kim");
    let id = reserved["id"].as_str().unwrap().to_owned();

    assert_eq!(
        system
            .get_as(&kim, &format!("/api/reservations/{id}"))
            .await
            .0,
        200
    );
    assert_eq!(
        system
            .get_as(&lee, &format!("/api/reservations/{id}"))
            .await
            .0,
        404,
        "lee cannot see kim's"
    );
    assert_eq!(
        system
            .post_as(&lee, &format!("/api/reservations/{id}/cancel"), json!({}))
            .await
            .0,
        404,
        "lee cannot cancel kim's"
    );
    let (_, lees) = system
        .get_as(&lee, "/api/reservations?customerId=kim")
        .await;
    assert_eq!(
        lees.as_array().unwrap().len(),
        0,
        "asking for kim's list shows lee's own"
    );
    system
        .mypage_until(&id, "known to my page", |v| v["rentalStatus"] == "Accepted")
        .await;
    let (_, page) = system.get_as(&kim, "/api/mypage").await;
    assert_eq!(page["customerId"], "kim");
    assert_eq!(page["reservations"].as_array().unwrap().len(), 1);
    assert_eq!(
        system
            .get_as(&lee, &format!("/api/mypage/reservations/{id}"))
            .await
            .0,
        404
    );

    // Wrong role: 403.
    let (status, body) = system.get_as(&kim, "/api/rentals?booth=ICN-T1").await;
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")));
    assert_eq!(system.get_as(&t1, "/api/mypage").await.0, 403);
    assert_eq!(system.get_as(&kim, "/api/admin/system").await.0, 403);
    assert_eq!(system.get_as(&kim, "/api/payments/by-order/x").await.0, 403);

    // Booth staff act on their own booth only.
    let (status, queue) = system.get_as(&t1, "/api/rentals?status=Accepted").await;
    assert_eq!(status, 200);
    assert!(
        queue
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["booth"] == "ICN-T1")
    );
    assert!(
        queue
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["reservationId"] == id.as_str())
    );
    let (status, body) = system.get_as(&t1, "/api/rentals?booth=GMP").await;
    assert_eq!((status, body["code"].as_str()), (403, Some("other_booth")));
    let gmp = system.user_token("booth-gmp", "booth-password").await;
    let (status, _) = system
        .post_as(
            &gmp,
            &format!("/api/rentals/{id}/handout"),
            json!({ "deviceSerial": "SN-1" }),
        )
        .await;
    assert_eq!(status, 404, "another booth's rental is not found");
    let (status, handed) = system
        .post_as(
            &t1,
            &format!("/api/rentals/{id}/handout"),
            json!({ "deviceSerial": "SN-1" }),
        )
        .await;
    assert_eq!(
        (status, handed["status"].as_str()),
        (200, Some("HandedOut"))
    );

    // Identity headers sent by a client are never trusted.
    let forged = system
        .client
        .get(format!("{}/api/reservations/{id}", system.gateway()))
        .bearer_auth(&lee)
        .header("x-msa-customer", "kim")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 404);
    let (_, me) = system.get_as(&t1, "/api/me").await;
    assert_eq!(me["booth"], "ICN-T1");
    assert_eq!(me["roles"], json!(["booth"]));
    system.cleanup().await;
}

#[tokio::test]
async fn sign_in_refresh_rotation_and_client_credentials_follow_oauth2() {
    let system = System::start(Options::default()).await;
    let discovery: Value = system
        .client
        .get(format!(
            "{}/.well-known/openid-configuration",
            system.gateway()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], system.gateway());
    assert_eq!(
        discovery["code_challenge_methods_supported"],
        json!(["S256"])
    );

    let tokens = system.sign_in("kim", "kim-password").await;
    assert!(tokens["id_token"].is_string());
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let use_refresh = |token: String| {
        let system = &system;
        async move {
            system
                .client
                .post(format!("{}/oauth2/token", system.gateway()))
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", token.as_str()),
                    ("client_id", "msa-web"),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let renewed = use_refresh(refresh.clone()).await;
    assert_eq!(renewed.status().as_u16(), 200);
    let renewed: Value = renewed.json().await.unwrap();
    let next = renewed["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(next, refresh, "refresh tokens rotate");
    assert_eq!(
        system
            .get_as(renewed["access_token"].as_str().unwrap(), "/api/mypage")
            .await
            .0,
        200
    );
    let reused = use_refresh(refresh).await;
    assert_eq!(
        reused.status().as_u16(),
        400,
        "a used refresh token is refused"
    );
    assert_eq!(
        reused.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    assert_eq!(
        use_refresh(next).await.status().as_u16(),
        400,
        "its whole family is revoked"
    );

    let wrong_password = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}/oauth2/authorize", system.gateway()))
        .form(&[
            ("response_type", "code"),
            ("client_id", "msa-web"),
            ("redirect_uri", format!("{}/", system.gateway()).as_str()),
            (
                "code_challenge",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            ),
            ("code_challenge_method", "S256"),
            ("username", "kim"),
            ("password", "guess"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        wrong_password.status().as_u16(),
        401,
        "no code for a wrong password"
    );

    let bad_secret = system
        .client
        .post(format!("{}/oauth2/token", system.gateway()))
        .basic_auth("msa-ops", Some("wrong"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad_secret.status().as_u16(), 401);
    assert_eq!(
        bad_secret.json::<Value>().await.unwrap()["error"],
        "invalid_client"
    );
    assert_eq!(
        system
            .get_as(&system.client_token().await, "/api/admin/system")
            .await
            .0,
        200
    );
    system.cleanup().await;
}

#[tokio::test]
async fn clients_over_their_rate_get_429_with_retry_after_and_cors_serves_the_ui_origin() {
    let system = System::start(Options {
        env: vec![
            ("MSA__RATE_LIMIT__PER_SECOND".to_owned(), "1".to_owned()),
            ("MSA__RATE_LIMIT__BURST".to_owned(), "5".to_owned()),
            (
                "MSA__CORS__ALLOWED_ORIGINS".to_owned(),
                "[\"http://ui.example\"]".to_owned(),
            ),
        ],
        ..Options::default()
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let response = system
            .client
            .get(format!("{}/api/catalog", system.gateway()))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        statuses.push(status);
        if status == 429 {
            assert!(response.headers().contains_key("retry-after"));
            assert_eq!(
                response.json::<Value>().await.unwrap()["code"],
                "rate_limited"
            );
        }
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    assert_eq!(statuses[0], 200);

    let preflight = system
        .client
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/api/reservations", system.gateway()),
        )
        .header("origin", "http://ui.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status().as_u16(), 204);
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "http://ui.example"
    );
    assert!(
        preflight.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("authorization")
    );
    let stranger = system
        .client
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/api/reservations", system.gateway()),
        )
        .header("origin", "http://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.status().as_u16(), 403);
    assert!(
        !stranger
            .headers()
            .contains_key("access-control-allow-origin")
    );
    system.cleanup().await;
}
