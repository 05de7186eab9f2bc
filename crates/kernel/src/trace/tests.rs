//! The trace context through a span, the OTLP JSON the exporter sends, and one call through two
//! services exported to an in-test OTLP receiver.

use super::*;
use crate::context::{self, WorkContext};
use crate::envelope::NewEvent;
use crate::metrics::Metrics;
use crate::remote::{Answer, RemoteClient, RemoteSettings};
use axum::Router;
use axum::routing::post;
use serde_json::{Value as Json, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[test]
fn a_child_span_keeps_its_trace_and_the_callers_sampling_decision() {
    let parent = SpanContext::root();
    let span = Span::start(SpanKind::Server, Some(&parent.traceparent()), String::new);
    assert_eq!(span.context().trace_id(), parent.trace_id());
    assert_ne!(span.context().span_id(), parent.span_id());
    assert!(context::valid_traceparent(&span.traceparent()));
    let unsampled = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";
    let span = Span::start(SpanKind::Server, Some(unsampled), String::new);
    assert!(!span.is_recording());
    assert!(span.traceparent().ends_with("-00"));
    assert!(
        span.traceparent()
            .contains("0af7651916cd43dd8448eb211c80319c")
    );
    let fresh = Span::start(SpanKind::Server, Some("00-garbage-01"), String::new);
    assert!(context::valid_traceparent(&fresh.traceparent()));
}

#[test]
fn spans_are_encoded_as_otlp_json() {
    let context = SpanContext::parse("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    let span = SpanData {
        context: context.unwrap(),
        parent: Some(0x00f0_67aa_0ba9_02b7),
        name: "POST /api/reservations".to_owned(),
        kind: SpanKind::Server,
        start_unix_nanos: 1_700_000_000_000_000_000,
        end_unix_nanos: 1_700_000_000_250_000_000,
        attributes: vec![
            ("http.response.status_code", Value::Int(503)),
            ("http.route", Value::from("/api/reservations")),
        ],
        error: Some("answered 503".to_owned()),
    };
    let resource = [("service.name".to_owned(), "roaming/reservation".to_owned())];
    let json: Json = serde_json::from_slice(&export::encode(&resource, &[span])).unwrap();
    let resource_spans = &json["resourceSpans"][0];
    assert_eq!(
        resource_spans["resource"]["attributes"][0],
        json!({"key": "service.name", "value": {"stringValue": "roaming/reservation"}})
    );
    let span = &resource_spans["scopeSpans"][0]["spans"][0];
    assert_eq!(span["traceId"], "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(span["spanId"], "b7ad6b7169203331");
    assert_eq!(span["parentSpanId"], "00f067aa0ba902b7");
    assert_eq!(span["kind"], 2);
    assert_eq!(span["startTimeUnixNano"], "1700000000000000000");
    assert_eq!(span["endTimeUnixNano"], "1700000000250000000");
    assert_eq!(
        span["attributes"][0],
        json!({"key": "http.response.status_code", "value": {"intValue": "503"}})
    );
    assert_eq!(
        span["status"],
        json!({"code": 2, "message": "answered 503"})
    );
}

#[tokio::test]
async fn events_appended_while_handling_an_event_carry_the_handlers_span() {
    let store = crate::sql::SqlStore::<crate::sql::Lite>::new(
        crate::sql::connect_lite_memory().await.unwrap(),
        "test/handler",
    );
    store.migrate_kernel().await.unwrap();
    let event = |subject: &str, traceparent: Option<String>| {
        NewEvent::raw("test.source.happened.v1", subject, 1, json!({}))
            .unwrap()
            .into_envelope("test/source", traceparent, None)
    };
    let produced = SpanContext::root();
    let handled = event("s-1", Some(produced.traceparent()));
    let handler = Span::start(
        SpanKind::Consumer,
        handled.traceparent.as_deref(),
        String::new,
    );
    let work = WorkContext {
        traceparent: Some(handler.traceparent()),
        ..WorkContext::default()
    };
    let appended = context::scope(work, async {
        let mut tx = store.begin_handling(&handled).await.unwrap().unwrap();
        let appended =
            tx.publish(NewEvent::raw("test.handler.did.v1", "s-1", 1, json!({})).unwrap());
        let appended = appended.await.unwrap();
        tx.commit().await.unwrap();
        appended
    })
    .await;
    assert_eq!(appended.traceparent, Some(handler.traceparent()));
    // Outside a handler's span (a tool, a rebuild) the event's own trace is carried on.
    let other = event("s-2", Some(SpanContext::root().traceparent()));
    let mut tx = store.begin_handling(&other).await.unwrap().unwrap();
    let appended = tx
        .publish(NewEvent::raw("test.handler.did.v1", "s-2", 1, json!({})).unwrap())
        .await
        .unwrap();
    assert_eq!(appended.traceparent, other.traceparent);
}

/// An OTLP/HTTP receiver on a free local port, keeping every posted document.
#[derive(Clone, Default)]
struct Collector {
    posted: Arc<Mutex<Vec<Json>>>,
}

impl Collector {
    async fn start(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v1/traces", listener.local_addr().unwrap());
        let posted = self.posted.clone();
        let routes = Router::new().route(
            "/v1/traces",
            post(move |axum::Json(document): axum::Json<Json>| async move {
                posted.lock().unwrap().push(document);
                axum::Json(json!({}))
            }),
        );
        tokio::spawn(async move { axum::serve(listener, routes).await });
        url
    }

    /// Every span of trace `trace_id` received so far, with its resource's `service.name`.
    fn spans_of(&self, trace_id: &str) -> Vec<Json> {
        let posted = self.posted.lock().unwrap();
        let mut spans = Vec::new();
        for resource_spans in posted
            .iter()
            .flat_map(|d| d["resourceSpans"].as_array().cloned().unwrap_or_default())
        {
            let service =
                resource_spans["resource"]["attributes"][0]["value"]["stringValue"].clone();
            for scope in resource_spans["scopeSpans"]
                .as_array()
                .into_iter()
                .flatten()
            {
                for span in scope["spans"].as_array().into_iter().flatten() {
                    if span["traceId"] == trace_id {
                        let mut span = span.clone();
                        span["service"] = service.clone();
                        spans.push(span);
                    }
                }
            }
        }
        spans
    }
}

/// Serves `routes` behind the kernel's request middleware; its base URL.
async fn serve(routes: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let routes = routes.layer(axum::middleware::from_fn_with_state(
        Metrics::default(),
        crate::http::observe,
    ));
    tokio::spawn(async move { axum::serve(listener, routes).await });
    url
}

#[tokio::test]
async fn a_call_through_two_services_is_one_trace_exported_over_otlp() {
    let collector = Collector::default();
    let mut settings = ExportSettings::new("test/kernel", &collector.start().await);
    settings.interval = Duration::from_millis(50);
    assert!(install(settings, Metrics::default()));
    let callee = serve(Router::new().route(
        "/commands",
        post(|| async { axum::Json(json!({"done": true})) }),
    ))
    .await;
    let settings = RemoteSettings {
        url: callee,
        ..RemoteSettings::default()
    };
    let remote = RemoteClient::new("callee", &settings, Metrics::default(), None).unwrap();
    let caller = serve(Router::new().route(
        "/hops",
        post(move || {
            let remote = remote.clone();
            async move {
                let answer = remote
                    .command::<_, Json>("/commands", "key-1", &json!({}))
                    .await;
                assert_eq!(answer, Ok(Answer::Done(json!({"done": true}))));
                axum::Json(json!({}))
            }
        }),
    ))
    .await;
    let incoming = SpanContext::root();
    let response = reqwest::Client::new()
        .post(format!("{caller}/hops"))
        .header("traceparent", incoming.traceparent())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answered = response.headers()["traceparent"]
        .to_str()
        .unwrap()
        .to_owned();
    let trace_id = incoming.trace_id();
    crate::testing::eventually(Duration::from_secs(10), || async {
        collector.spans_of(&trace_id).len() >= 3
    })
    .await;
    let spans = collector.spans_of(&trace_id);
    let named = |name: &str| {
        spans
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no span {name} in {spans:#?}"))
    };
    let server = named("POST /hops");
    let client = named("POST callee");
    let callee = named("POST /commands");
    assert_eq!(server["parentSpanId"], incoming.span_id());
    assert_eq!(
        SpanContext::parse(&answered).unwrap().span_id(),
        server["spanId"]
    );
    assert_eq!(
        (server["kind"].clone(), client["kind"].clone()),
        (json!(2), json!(3))
    );
    assert_eq!(client["parentSpanId"], server["spanId"]);
    assert_eq!(callee["parentSpanId"], client["spanId"]);
    assert_eq!(server["service"], "test/kernel");
    let status = json!({"key": "http.response.status_code", "value": {"intValue": "200"}});
    assert!(callee["attributes"].as_array().unwrap().contains(&status));
    assert!(
        server["startTimeUnixNano"]
            .as_str()
            .unwrap()
            .parse::<u128>()
            .unwrap()
            > 0
    );
}
