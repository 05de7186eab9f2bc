//! Operations: graceful shutdown, metrics, and logs that carry the request id and correlation key.

use crate::helpers::{APPROVED_CARD, Options, PATIENCE, Profile, System};
use testkit::eventually;

scenario!(a_stopping_service_turns_not_ready_and_finishes_its_in_flight_requests);
async fn a_stopping_service_turns_not_ready_and_finishes_its_in_flight_requests(profile: Profile) {
    let mut system = System::start(Options {
        env: vec![("MSA__HTTP__DRAIN_MS".to_owned(), "1500".to_owned())],
        ..Options::of(profile)
    })
    .await;
    // Payment stores the payment and then takes a second to answer: a request in flight.
    system.payment_faults(1_000, 0.0).await;
    let reserving = {
        let client = system.client.clone();
        let url = format!("{}/api/reservations", system.gateway());
        let body = crate::helpers::reservation_request("seo", APPROVED_CARD);
        let token = system.admin_token.clone();
        tokio::spawn(async move {
            let response = client
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.json::<serde_json::Value>().await.unwrap())
        })
    };
    let id = eventually(
        PATIENCE,
        "the payment to be taken and its answer in flight",
        || async {
            let (_, listed) = system.get("/api/reservations?customerId=seo").await;
            let id = listed.get(0)?["id"].as_str()?.to_owned();
            (system.payment_of(&id).await.0 == 200).then_some(id)
        },
    )
    .await;
    system.terminate("payment");
    let ready = format!("{}/health/ready", system.url("payment"));
    let draining = eventually(
        PATIENCE,
        "payment to answer not-ready while draining",
        || async {
            let response = system.client.get(&ready).send().await.ok()?;
            (response.status().as_u16() == 503)
                .then_some(response.json::<serde_json::Value>().await.ok()?)
        },
    )
    .await;
    assert_eq!(draining["draining"], true);
    let (status, reservation) = reserving.await.unwrap();
    assert_eq!(status, 201, "the in-flight payment finished: {reservation}");
    assert_eq!(reservation["id"], id.as_str());
    assert_eq!(reservation["status"], "Reserved");
    assert!(
        system.wait_exit("payment").await.success(),
        "payment exits cleanly"
    );
    system.cleanup().await;
}

scenario!(metrics_count_requests_and_show_backlog_lag_and_dead_letters);
async fn metrics_count_requests_and_show_backlog_lag_and_dead_letters(profile: Profile) {
    let system = System::start(Options::of(profile)).await;
    let id = system.reserved("moon").await;
    system
        .mypage_until(&id, "known", |v| v["rentalStatus"] == "Accepted")
        .await;
    let metrics = |service: &'static str| {
        let client = system.client.clone();
        let url = format!("{}/metrics", system.url(service));
        async move { client.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let reservation = metrics("reservation").await;
    assert!(
        reservation.contains(
            "http_requests_total{route=\"/api/reservations\",method=\"POST\",status=\"201\"} 1"
        ),
        "{reservation}"
    );
    assert!(reservation.contains(
        "http_request_duration_seconds_bucket{route=\"/api/reservations\",le=\"+Inf\"} 1"
    ));
    assert!(reservation.contains("circuit_breaker_state{dependency=\"payment\"} 0"));
    assert!(reservation.contains("# TYPE outbox_backlog gauge"));
    assert!(reservation.contains("service_ready 1"), "{reservation}");
    let customer = eventually(PATIENCE, "consumer metrics", || async {
        let text = metrics("customer").await;
        (text.contains("consumer_lag{") && text.contains("dead_letters{")).then_some(text)
    })
    .await;
    assert!(customer.contains("events_handled_total{group=\"roaming/customer\",type=\"roaming.reservation.reserved.v1\",outcome=\"handled\"} 1"), "{customer}");
    assert!(customer.contains("dead_letters{group=\"roaming/customer\"} 0"));
    system.cleanup().await;
}

scenario!(logs_are_json_lines_carrying_the_request_id_and_the_correlation_key);
async fn logs_are_json_lines_carrying_the_request_id_and_the_correlation_key(profile: Profile) {
    let system = System::start(Options::of(profile)).await;
    let response = system
        .client
        .post(format!("{}/api/reservations", system.gateway()))
        .bearer_auth(&system.admin_token)
        .header("x-request-id", "req-from-the-edge-42")
        .json(&crate::helpers::reservation_request(
            "kwon",
            crate::helpers::DECLINED_CARD,
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 402);
    assert_eq!(response.headers()["x-request-id"], "req-from-the-edge-42");
    let (_, listed) = system.get("/api/reservations?customerId=kwon").await;
    let id = listed[0]["id"].as_str().unwrap().to_owned();
    // The consumer logs a warning-free handling; look for the request's own lines instead: every
    // line in the payment log about this request is JSON and names the request and reservation.
    let line = eventually(PATIENCE, "a payment log line about the request", || async {
        system
            .log("payment")
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|l| l["span"]["request_id"] == "req-from-the-edge-42")
    })
    .await;
    assert_eq!(line["span"]["correlation"], id.as_str(), "{line}");
    system.cleanup().await;
}
