//! Fault injection is the kernel's, for any service: switched on and off at run time through the
//! admin API, it fails commands with 503 before they run or delays their answers after they ran,
//! and leaves reads alone.

#![allow(clippy::unwrap_used)]

use axum::routing::post;
use kernel::config::Layers;
use kernel::{Service, ServiceSettings};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

#[tokio::test]
async fn faults_are_switched_on_and_off_at_run_time_on_any_service() {
    let settings: ServiceSettings = Layers::from_toml("[http]\nport = 0\n")
        .unwrap()
        .build()
        .unwrap();
    let done = Arc::new(AtomicU32::new(0));
    let counter = done.clone();
    let routes = axum::Router::new().route(
        "/api/things",
        post(move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                axum::http::StatusCode::CREATED
            }
        })
        .get(|| async { "[]" }),
    );
    let app = Service::new("demo/things", settings)
        .routes(routes)
        .build()
        .await
        .unwrap();
    let app = testkit::spawn(app);
    let client = reqwest::Client::new();
    let command = || client.post(format!("{}/api/things", app.url)).send();
    let switch = |faults: serde_json::Value| {
        client
            .put(format!("{}/admin/faults", app.url))
            .json(&faults)
            .send()
    };
    assert_eq!(command().await.unwrap().status(), 201);

    assert_eq!(
        switch(json!({ "errorRate": 1.0 })).await.unwrap().status(),
        200
    );
    let failed = command().await.unwrap();
    assert_eq!(failed.status(), 503);
    assert!(failed.headers().contains_key("retry-after"));
    let body: serde_json::Value = failed.json().await.unwrap();
    assert_eq!(body["code"], "injected_fault");
    assert_eq!(done.load(Ordering::SeqCst), 1, "a failed command never ran");
    let read = client
        .get(format!("{}/api/things", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200, "reads are left alone");

    assert_eq!(
        switch(json!({ "latencyMs": 300 })).await.unwrap().status(),
        200
    );
    let started = Instant::now();
    assert_eq!(command().await.unwrap().status(), 201);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(done.load(Ordering::SeqCst), 2, "a delayed command did run");

    let bad = switch(json!({ "errorRate": 2.0 })).await.unwrap();
    assert_eq!(bad.status(), 422);
    assert_eq!(switch(json!({})).await.unwrap().status(), 200);
    let now: serde_json::Value = client
        .get(format!("{}/admin/faults", app.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(now, json!({ "latencyMs": 0, "errorRate": 0.0 }));
    assert_eq!(command().await.unwrap().status(), 201);
    app.stop().await.unwrap();
}
