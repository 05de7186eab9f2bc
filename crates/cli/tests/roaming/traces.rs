//! Traces: one reservation is one trace, from the gateway through payment to the booth's and my
//! page's handlers, exported by every process over OTLP to an in-test receiver.

use crate::helpers::{APPROVED_CARD, Options, PATIENCE, Profile, System};
use testkit::otlp::{Collector, ReceivedSpan, linked, tree};

/// The spans a reservation must have: (service, kind, what the name starts with).
const EXPECTED: &[(&str, &str, &str)] = &[
    ("roaming/gateway", "SERVER", "POST "),
    ("roaming/gateway", "CLIENT", "POST reservation"),
    ("roaming/reservation", "SERVER", "POST /api/reservations"),
    ("roaming/reservation", "CLIENT", "POST payment"),
    ("roaming/payment", "SERVER", "POST "),
    (
        "roaming/reservation",
        "PRODUCER",
        "publish roaming.reservation.",
    ),
    ("roaming/rental", "CONSUMER", "process roaming.reservation."),
    (
        "roaming/customer",
        "CONSUMER",
        "process roaming.reservation.",
    ),
];

fn complete(spans: &[ReceivedSpan]) -> Result<(), String> {
    for (service, kind, name) in EXPECTED {
        if !spans
            .iter()
            .any(|s| s.service == *service && s.kind == *kind && s.name.starts_with(name))
        {
            return Err(format!("no {kind} span {name}… from {service} yet"));
        }
    }
    linked(spans)
}

#[tokio::test]
async fn one_reservation_is_one_trace_from_the_gateway_through_payment_to_the_booth_and_my_page() {
    let collector = Collector::start().await;
    let system = System::start(Options {
        env: vec![(
            "OTEL_EXPORTER_OTLP_ENDPOINT".to_owned(),
            collector.endpoint.clone(),
        )],
        ..Options::of(Profile::Embedded)
    })
    .await;
    let response = system.reserve_raw("traced", APPROVED_CARD).await;
    assert_eq!(response.status(), 201);
    let traceparent = response.headers()["traceparent"].to_str().unwrap();
    let trace_id = traceparent.split('-').nth(1).unwrap().to_owned();
    let spans = collector.trace_when(&trace_id, PATIENCE, complete).await;
    println!("trace {trace_id}:\n{}", tree(&spans));
    let root = spans.iter().find(|s| s.parent.is_none()).unwrap();
    assert_eq!(
        (root.service.as_str(), root.kind),
        ("roaming/gateway", "SERVER")
    );
    let of = |service: &str, kind: &str| {
        spans
            .iter()
            .find(|s| s.service == service && s.kind == kind)
            .unwrap()
    };
    let parent_of = |span: &ReceivedSpan| span.parent.clone().unwrap();
    // The callee's server span is the caller's client span's child, at either hop.
    assert_eq!(
        parent_of(of("roaming/reservation", "SERVER")),
        of("roaming/gateway", "CLIENT").span_id
    );
    assert_eq!(
        parent_of(of("roaming/payment", "SERVER")),
        of("roaming/reservation", "CLIENT").span_id
    );
    // The calls answered well; a handler may have retried (a busy store), which is no failure.
    let calls = spans
        .iter()
        .filter(|s| matches!(s.kind, "SERVER" | "CLIENT"));
    assert!(calls.clone().all(|s| s.error.is_none()), "{}", tree(&spans));
    system.cleanup().await;
}
