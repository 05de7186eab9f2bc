//! An OTLP/HTTP receiver on a free local port, as a collector would run it: it keeps every span
//! posted to `/v1/traces` (JSON encoding), answers what it takes, and draws a trace as a tree.

use axum::routing::post;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One span as received.
#[derive(Clone, Debug, PartialEq)]
pub struct ReceivedSpan {
    /// The resource's `service.name` (`roaming/payment`).
    pub service: String,
    /// Hex trace id.
    pub trace_id: String,
    /// Hex span id.
    pub span_id: String,
    /// Hex id of the parent span; `None` for a root.
    pub parent: Option<String>,
    /// The span's name.
    pub name: String,
    /// `SERVER`, `CLIENT`, `PRODUCER`, `CONSUMER` or `INTERNAL`.
    pub kind: &'static str,
    /// Start, in nanoseconds since the epoch.
    pub start: u128,
    /// The span's attributes, as posted.
    pub attributes: Value,
    /// The status message of a failed span.
    pub error: Option<String>,
}

impl ReceivedSpan {
    fn of(service: &str, span: &Value) -> Option<Self> {
        let text = |key: &str| span[key].as_str().map(str::to_owned);
        Some(Self {
            service: service.to_owned(),
            trace_id: text("traceId")?,
            span_id: text("spanId")?,
            parent: text("parentSpanId").filter(|p| !p.is_empty()),
            name: text("name")?,
            kind: match span["kind"].as_i64()? {
                2 => "SERVER",
                3 => "CLIENT",
                4 => "PRODUCER",
                5 => "CONSUMER",
                _ => "INTERNAL",
            },
            start: span["startTimeUnixNano"].as_str()?.parse().ok()?,
            attributes: span["attributes"].clone(),
            error: (span["status"]["code"] == 2).then(|| {
                span["status"]["message"]
                    .as_str()
                    .unwrap_or("error")
                    .to_owned()
            }),
        })
    }
}

/// A running receiver.
#[derive(Clone)]
pub struct Collector {
    /// What to give `OTEL_EXPORTER_OTLP_ENDPOINT` (the base; spans are posted to `/v1/traces`).
    pub endpoint: String,
    spans: Arc<Mutex<Vec<ReceivedSpan>>>,
}

impl Collector {
    /// Starts a receiver on 127.0.0.1.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let spans: Arc<Mutex<Vec<ReceivedSpan>>> = Arc::default();
        let kept = spans.clone();
        let routes = axum::Router::new().route(
            "/v1/traces",
            post(move |axum::Json(document): axum::Json<Value>| {
                let kept = kept.clone();
                async move {
                    kept.lock().unwrap().extend(received(&document));
                    axum::Json(json!({}))
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, routes).await });
        Self { endpoint, spans }
    }

    /// Every span of trace `trace_id` received so far, oldest first.
    pub fn trace(&self, trace_id: &str) -> Vec<ReceivedSpan> {
        let mut spans: Vec<ReceivedSpan> = self
            .spans
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.trace_id == trace_id)
            .cloned()
            .collect();
        spans.sort_by_key(|s| s.start);
        spans
    }

    /// Waits until trace `trace_id` passes `check` and returns it; after `patience` panics with
    /// the last problem and the trace so far.
    pub async fn trace_when(
        &self,
        trace_id: &str,
        patience: Duration,
        check: impl Fn(&[ReceivedSpan]) -> Result<(), String>,
    ) -> Vec<ReceivedSpan> {
        let problem = Mutex::new(String::new());
        let waited = tokio::time::timeout(
            patience,
            poll(|| async {
                let spans = self.trace(trace_id);
                match check(&spans) {
                    Ok(()) => Some(spans),
                    Err(why) => {
                        *problem.lock().unwrap() = why;
                        None
                    }
                }
            }),
        )
        .await;
        waited.unwrap_or_else(|_| {
            panic!(
                "trace {trace_id} after {patience:?}: {}\n{}",
                problem.lock().unwrap(),
                tree(&self.trace(trace_id))
            )
        })
    }
}

/// Polls `probe` until it answers, a little less often each time.
async fn poll<T, Fut: Future<Output = Option<T>>>(probe: impl Fn() -> Fut) -> T {
    let mut pause = Duration::from_millis(20);
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(200));
    }
}

fn received(document: &Value) -> Vec<ReceivedSpan> {
    let mut spans = Vec::new();
    for resource in document["resourceSpans"].as_array().into_iter().flatten() {
        let service = resource["resource"]["attributes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["key"] == "service.name")
            .and_then(|a| a["value"]["stringValue"].as_str())
            .unwrap_or_default();
        for scope in resource["scopeSpans"].as_array().into_iter().flatten() {
            for span in scope["spans"].as_array().into_iter().flatten() {
                spans.extend(ReceivedSpan::of(service, span));
            }
        }
    }
    spans
}

/// Whether every span's parent is a span of the trace, except one root's: `Err` names the
/// first span whose parent is missing or the roots when there is not exactly one.
pub fn linked(spans: &[ReceivedSpan]) -> Result<(), String> {
    let ids: BTreeSet<&str> = spans.iter().map(|s| s.span_id.as_str()).collect();
    let roots: Vec<&ReceivedSpan> = spans.iter().filter(|s| s.parent.is_none()).collect();
    if roots.len() != 1 {
        return Err(format!("{} roots instead of one", roots.len()));
    }
    match spans
        .iter()
        .find(|s| s.parent.as_deref().is_some_and(|p| !ids.contains(p)))
    {
        Some(orphan) => Err(format!(
            "the parent of {} ({}) has not arrived",
            orphan.name, orphan.service
        )),
        None => Ok(()),
    }
}

/// The trace drawn as a tree, one span a line: service, kind, name, start offset in
/// milliseconds; orphans (whose parent is missing) are drawn as roots.
pub fn tree(spans: &[ReceivedSpan]) -> String {
    let ids: BTreeSet<&str> = spans.iter().map(|s| s.span_id.as_str()).collect();
    let mut children: BTreeMap<Option<&str>, Vec<&ReceivedSpan>> = BTreeMap::new();
    for span in spans {
        let parent = span.parent.as_deref().filter(|p| ids.contains(p));
        children.entry(parent).or_default().push(span);
    }
    let origin = spans.iter().map(|s| s.start).min().unwrap_or_default();
    let mut out = String::new();
    let mut stack: Vec<(&ReceivedSpan, usize)> = children
        .get(&None)
        .map(|roots| roots.iter().rev().map(|s| (*s, 0)).collect())
        .unwrap_or_default();
    while let Some((span, depth)) = stack.pop() {
        let at = (span.start - origin) as f64 / 1e6;
        let failed = span
            .error
            .as_deref()
            .map(|e| format!("  ERROR {e}"))
            .unwrap_or_default();
        out.push_str(&format!(
            "{:indent$}{:<9}{} [{}] +{at:.1} ms{failed}\n",
            "",
            span.kind,
            span.name,
            span.service,
            indent = depth * 2
        ));
        for child in children
            .get(&Some(span.span_id.as_str()))
            .into_iter()
            .flatten()
            .rev()
        {
            stack.push((child, depth + 1));
        }
    }
    out
}
