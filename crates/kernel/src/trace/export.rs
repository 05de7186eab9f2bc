//! The span exporter: OTLP over HTTP with the JSON encoding (`POST <endpoint>/v1/traces`), in
//! batches from a bounded queue.
//!
//! It is written here rather than taken from the `opentelemetry` crates, which bring an SDK, a
//! second context model beside [`crate::context`] and (for gRPC or protobuf) `prost` and tonic
//! generated code, for what is a queue, a timer and one JSON document. Every OpenTelemetry
//! collector and most tracing back ends (Jaeger, Tempo, ...) take OTLP/HTTP JSON on port 4318.
//!
//! Recording never waits: a span goes into the queue or, when the queue is full, is dropped and
//! counted (`trace_spans_dropped_total`). A task sends the queue every second or every
//! [`ExportSettings::batch`] spans, whichever comes first.

use super::{SpanData, Value};
use crate::metrics::Metrics;
use serde::Serialize;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Where and how spans are exported.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportSettings {
    /// The full URL spans are posted to (`http://collector:4318/v1/traces`).
    pub url: String,
    /// Extra request headers (an API key, say).
    pub headers: Vec<(String, String)>,
    /// Resource attributes: `service.name` (`<system>/<service>`) and any others.
    pub resource: Vec<(String, String)>,
    /// Spans sent in one request at most; a full batch is sent at once.
    pub batch: usize,
    /// How long a span waits at most before its batch is sent.
    pub interval: Duration,
    /// Spans waiting at most; more are dropped.
    pub capacity: usize,
}

impl ExportSettings {
    /// Settings for service `service` (`<system>/<service>`) posting to `url`.
    pub fn new(service: &str, url: &str) -> Self {
        let mut resource = vec![("service.name".to_owned(), service.to_owned())];
        if let Some((system, _)) = service.split_once('/') {
            resource.push(("service.namespace".to_owned(), system.to_owned()));
        }
        resource.push(("telemetry.sdk.name".to_owned(), "msa-kernel".to_owned()));
        resource.push(("telemetry.sdk.language".to_owned(), "rust".to_owned()));
        Self {
            url: url.to_owned(),
            headers: Vec::new(),
            resource,
            batch: 512,
            interval: Duration::from_secs(1),
            capacity: 4096,
        }
    }

    /// The settings the standard `OTEL_*` variables give, or `None` when they ask for no export:
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (the URL as it is) or `OTEL_EXPORTER_OTLP_ENDPOINT`
    /// (`/v1/traces` appended); `OTEL_EXPORTER_OTLP_[TRACES_]HEADERS` and
    /// `OTEL_RESOURCE_ATTRIBUTES` (`key=value,...`); `OTEL_SERVICE_NAME` instead of `service`;
    /// `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none` turn it off.
    pub fn from_env(service: &str) -> Option<Self> {
        Self::from_vars(service, |name| std::env::var(name).ok())
    }

    fn from_vars(service: &str, var: impl Fn(&str) -> Option<String>) -> Option<Self> {
        let set = |name: &str| {
            var(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        if set("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"))
            || set("OTEL_TRACES_EXPORTER").is_some_and(|v| v.eq_ignore_ascii_case("none"))
        {
            return None;
        }
        let url = set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").or_else(|| {
            set("OTEL_EXPORTER_OTLP_ENDPOINT")
                .map(|base| format!("{}/v1/traces", base.trim_end_matches('/')))
        })?;
        let name = set("OTEL_SERVICE_NAME").unwrap_or_else(|| service.to_owned());
        let mut settings = Self::new(&name, &url);
        let headers =
            set("OTEL_EXPORTER_OTLP_TRACES_HEADERS").or_else(|| set("OTEL_EXPORTER_OTLP_HEADERS"));
        settings.headers = pairs(headers.as_deref().unwrap_or_default());
        for (key, value) in pairs(
            set("OTEL_RESOURCE_ATTRIBUTES")
                .as_deref()
                .unwrap_or_default(),
        ) {
            if key != "service.name" {
                settings.resource.push((key, value));
            }
        }
        let protocol = set("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
            .or_else(|| set("OTEL_EXPORTER_OTLP_PROTOCOL"));
        if let Some(protocol) = protocol.filter(|p| p != "http/json") {
            tracing::warn!(
                protocol,
                "OTLP protocol not spoken here: traces are sent as http/json"
            );
        }
        Some(settings)
    }
}

/// `key=value,key=value` (the OTLP headers and resource attributes variables).
fn pairs(list: &str) -> Vec<(String, String)> {
    list.split(',')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

enum Message {
    Span(Box<SpanData>),
    Flush(oneshot::Sender<()>),
}

struct Exporter {
    queue: mpsc::Sender<Message>,
    dropped: AtomicU64,
}

static EXPORTER: OnceLock<Exporter> = OnceLock::new();

pub(super) fn installed() -> bool {
    EXPORTER.get().is_some()
}

/// Installs the process's exporter and starts its task on the current Tokio runtime. Returns
/// false when one was installed before (the first stays) or there is no runtime.
pub fn install(settings: ExportSettings, metrics: Metrics) -> bool {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return false;
    };
    let (queue, receiver) = mpsc::channel(settings.capacity.max(1));
    if EXPORTER
        .set(Exporter {
            queue,
            dropped: AtomicU64::new(0),
        })
        .is_err()
    {
        return false;
    }
    tracing::info!(url = %settings.url, "exporting traces (OTLP/HTTP JSON)");
    runtime.spawn(run(settings, receiver, metrics));
    true
}

pub(super) fn record(span: SpanData) {
    let Some(exporter) = EXPORTER.get() else {
        return;
    };
    if exporter
        .queue
        .try_send(Message::Span(Box::new(span)))
        .is_err()
    {
        exporter.dropped.fetch_add(1, Ordering::Relaxed);
    }
}

/// Sends the spans recorded so far, waiting at most two seconds (at shutdown, so that the last
/// requests' spans leave with the process).
pub async fn flush() {
    let Some(exporter) = EXPORTER.get() else {
        return;
    };
    let (done, sent) = oneshot::channel();
    let flushed = async {
        if exporter.queue.send(Message::Flush(done)).await.is_ok() {
            let _ = sent.await;
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), flushed).await;
}

async fn run(settings: ExportSettings, mut receiver: mpsc::Receiver<Message>, metrics: Metrics) {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
    {
        Ok(client) => client,
        Err(error) => {
            tracing::warn!(%error, "cannot build the trace exporter's client; no traces");
            return;
        }
    };
    let mut sender = Sender {
        client,
        settings,
        metrics,
        failures: 0,
    };
    let mut batch: Vec<SpanData> = Vec::new();
    let mut tick = tokio::time::interval(sender.settings.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let flushed = tokio::select! {
            message = receiver.recv() => match message {
                Some(Message::Span(span)) => {
                    batch.push(*span);
                    if batch.len() < sender.settings.batch {
                        continue;
                    }
                    None
                }
                Some(Message::Flush(done)) => Some(done),
                None => return sender.send(&mut batch).await,
            },
            _ = tick.tick() => None,
        };
        if let Some(exporter) = EXPORTER.get() {
            sender.count_dropped(exporter.dropped.swap(0, Ordering::Relaxed), "queue_full");
        }
        sender.send(&mut batch).await;
        if let Some(done) = flushed {
            let _ = done.send(());
        }
    }
}

struct Sender {
    client: reqwest::Client,
    settings: ExportSettings,
    metrics: Metrics,
    failures: u64,
}

impl Sender {
    fn count_dropped(&self, spans: u64, reason: &str) {
        if spans > 0 {
            self.metrics.increment(
                "trace_spans_dropped_total",
                "Spans not exported: the queue was full or the collector failed.",
                &[("reason", reason)],
                spans,
            );
        }
    }

    /// Posts `batch` (emptying it); a failed post drops its spans, counted, and is logged once
    /// in a while.
    async fn send(&mut self, batch: &mut Vec<SpanData>) {
        if batch.is_empty() {
            return;
        }
        let spans = std::mem::take(batch);
        let count = spans.len() as u64;
        let body = encode(&self.settings.resource, &spans);
        let mut request = self
            .client
            .post(&self.settings.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        for (name, value) in &self.settings.headers {
            request = request.header(name, value);
        }
        let failure = match request.send().await {
            Ok(response) if response.status().is_success() => None,
            Ok(response) => Some(format!("the collector answered {}", response.status())),
            Err(error) => Some(error.to_string()),
        };
        match failure {
            None => self.metrics.increment(
                "trace_spans_exported_total",
                "Spans sent to the OTLP collector.",
                &[],
                count,
            ),
            Some(error) => {
                if self.failures.is_multiple_of(60) {
                    tracing::warn!(url = %self.settings.url, error, "cannot export spans");
                }
                self.failures += 1;
                self.count_dropped(count, "export_failed");
            }
        }
    }
}

/// The OTLP JSON document of `spans` from the resource `resource` (an
/// `ExportTraceServiceRequest`: ids in hex, 64-bit numbers as strings, enums as numbers).
pub(crate) fn encode(resource: &[(String, String)], spans: &[SpanData]) -> Vec<u8> {
    let request = Request {
        resource_spans: [ResourceSpans {
            resource: Resource {
                attributes: resource
                    .iter()
                    .map(|(key, value)| KeyValue {
                        key,
                        value: AnyValue::Text(value.clone()),
                    })
                    .collect(),
            },
            scope_spans: [ScopeSpans {
                scope: Scope {
                    name: "msa-kernel",
                    version: env!("CARGO_PKG_VERSION"),
                },
                spans: spans.iter().map(OtlpSpan::of).collect(),
            }],
        }],
    };
    serde_json::to_vec(&request).unwrap_or_default()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Request<'a> {
    resource_spans: [ResourceSpans<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResourceSpans<'a> {
    resource: Resource<'a>,
    scope_spans: [ScopeSpans<'a>; 1],
}

#[derive(Serialize)]
struct Resource<'a> {
    attributes: Vec<KeyValue<'a>>,
}

#[derive(Serialize)]
struct ScopeSpans<'a> {
    scope: Scope,
    spans: Vec<OtlpSpan<'a>>,
}

#[derive(Serialize)]
struct Scope {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct KeyValue<'a> {
    key: &'a str,
    value: AnyValue,
}

/// OTLP's `AnyValue`: `{"stringValue": ...}`, `{"intValue": "<decimal>"}`, `{"boolValue": ...}`.
#[derive(Serialize)]
enum AnyValue {
    #[serde(rename = "stringValue")]
    Text(String),
    #[serde(rename = "intValue")]
    Int(String),
    #[serde(rename = "boolValue")]
    Bool(bool),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OtlpSpan<'a> {
    trace_id: String,
    span_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_span_id: Option<String>,
    name: &'a str,
    kind: i32,
    start_time_unix_nano: String,
    end_time_unix_nano: String,
    attributes: Vec<KeyValue<'a>>,
    status: Status,
}

#[derive(Serialize)]
struct Status {
    code: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

impl<'a> OtlpSpan<'a> {
    fn of(span: &'a SpanData) -> Self {
        Self {
            trace_id: span.context.trace_id(),
            span_id: span.context.span_id(),
            parent_span_id: span.parent.map(|id| format!("{id:016x}")),
            name: &span.name,
            kind: span.kind as i32,
            start_time_unix_nano: span.start_unix_nanos.to_string(),
            end_time_unix_nano: span.end_unix_nanos.to_string(),
            attributes: span
                .attributes
                .iter()
                .map(|(key, value)| KeyValue {
                    key,
                    value: match value {
                        Value::Str(text) => AnyValue::Text(text.clone()),
                        Value::Int(number) => AnyValue::Int(number.to_string()),
                        Value::Bool(flag) => AnyValue::Bool(*flag),
                    },
                })
                .collect(),
            // OTLP's status codes: 0 unset, 2 error.
            status: Status {
                code: if span.error.is_some() { 2 } else { 0 },
                message: span.error.clone(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_variables_name_the_collector_or_turn_export_off() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert_eq!(
            ExportSettings::from_vars("roaming/payment", vars(&[])),
            None
        );
        let settings = ExportSettings::from_vars(
            "roaming/payment",
            vars(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"),
                ("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=secret, tenant = a"),
                ("OTEL_RESOURCE_ATTRIBUTES", "k8s.pod.name=payment-0"),
            ]),
        )
        .unwrap();
        assert_eq!(settings.url, "http://collector:4318/v1/traces");
        assert_eq!(settings.headers[1], ("tenant".to_owned(), "a".to_owned()));
        assert!(
            settings
                .resource
                .contains(&("service.name".into(), "roaming/payment".into()))
        );
        assert!(
            settings
                .resource
                .contains(&("service.namespace".into(), "roaming".into()))
        );
        assert!(
            settings
                .resource
                .contains(&("k8s.pod.name".into(), "payment-0".into()))
        );
        let exact = ExportSettings::from_vars(
            "roaming/payment",
            vars(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
                (
                    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                    "http://tempo:4318/otlp",
                ),
            ]),
        )
        .unwrap();
        assert_eq!(exact.url, "http://tempo:4318/otlp");
        let off = ExportSettings::from_vars(
            "roaming/payment",
            vars(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
                ("OTEL_SDK_DISABLED", "true"),
            ]),
        );
        assert_eq!(off, None);
    }
}
