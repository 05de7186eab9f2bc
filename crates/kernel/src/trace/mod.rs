//! Distributed traces: spans of HTTP requests, outbound calls, outbox publishes and event
//! handling, linked by W3C trace context and exported as OpenTelemetry (OTLP/HTTP, JSON) when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set (see [`export`]).
//!
//! A span is a value that ends when it is dropped. Its [`Span::traceparent`] is what the work it
//! covers hands on: the header of an outbound call, the ambient [`crate::context`] of a handler
//! (so the events that work appends carry it, and their consumers' spans are its children).
//! Without an exporter a span records nothing: starting one makes a span id, nothing more.

pub mod export;

use std::time::{Instant, SystemTime, UNIX_EPOCH};

pub use export::{ExportSettings, flush, install};

/// The identity of a span within its trace, as W3C `traceparent` carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpanContext {
    trace_id: u128,
    span_id: u64,
    sampled: bool,
}

impl SpanContext {
    /// The context a well-formed `traceparent` names; `None` for anything else.
    pub fn parse(traceparent: &str) -> Option<Self> {
        if !crate::context::valid_traceparent(traceparent) {
            return None;
        }
        let mut parts = traceparent.split('-').skip(1);
        let trace_id = u128::from_str_radix(parts.next()?, 16).ok()?;
        let span_id = u64::from_str_radix(parts.next()?, 16).ok()?;
        let flags = u8::from_str_radix(parts.next()?, 16).ok()?;
        Some(Self {
            trace_id,
            span_id,
            sampled: flags & 1 == 1,
        })
    }

    /// The first span of a new trace.
    pub fn root() -> Self {
        Self {
            trace_id: fastrand::u128(1..),
            span_id: fastrand::u64(1..),
            sampled: true,
        }
    }

    /// A new span of the same trace, under this one.
    pub fn child(&self) -> Self {
        Self {
            span_id: fastrand::u64(1..),
            ..*self
        }
    }

    /// As a W3C `traceparent`: `00-<trace id>-<span id>-<flags>`.
    pub fn traceparent(&self) -> String {
        format!(
            "00-{:032x}-{:016x}-{:02x}",
            self.trace_id,
            self.span_id,
            u8::from(self.sampled)
        )
    }

    /// The trace id, 32 hex digits.
    pub fn trace_id(&self) -> String {
        format!("{:032x}", self.trace_id)
    }

    /// The span id, 16 hex digits.
    pub fn span_id(&self) -> String {
        format!("{:016x}", self.span_id)
    }
}

/// What a span stands for, as OTLP numbers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpanKind {
    /// Work inside a process.
    Internal = 1,
    /// An HTTP request this process answers.
    Server = 2,
    /// A call this process makes.
    Client = 3,
    /// An event handed to the bus.
    Producer = 4,
    /// An event taken from the bus and handled.
    Consumer = 5,
}

/// An attribute's value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// Text.
    Str(String),
    /// A whole number.
    Int(i64),
    /// Yes or no.
    Bool(bool),
}

impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Self::Str(value.to_owned())
    }
}

impl From<String> for Value {
    fn from(value: String) -> Self {
        Self::Str(value)
    }
}

impl From<i64> for Value {
    fn from(value: i64) -> Self {
        Self::Int(value)
    }
}

impl From<u32> for Value {
    fn from(value: u32) -> Self {
        Self::Int(i64::from(value))
    }
}

impl From<u16> for Value {
    fn from(value: u16) -> Self {
        Self::Int(i64::from(value))
    }
}

impl From<bool> for Value {
    fn from(value: bool) -> Self {
        Self::Bool(value)
    }
}

/// A finished span, as the exporter sends it.
#[derive(Clone, Debug)]
pub(crate) struct SpanData {
    pub(crate) context: SpanContext,
    pub(crate) parent: Option<u64>,
    pub(crate) name: String,
    pub(crate) kind: SpanKind,
    pub(crate) start_unix_nanos: u128,
    pub(crate) end_unix_nanos: u128,
    pub(crate) attributes: Vec<(&'static str, Value)>,
    /// Why the span failed; `None` when it did not.
    pub(crate) error: Option<String>,
}

#[derive(Debug)]
struct Recording {
    data: SpanData,
    started: Instant,
    finished: bool,
}

/// A span being recorded (or only propagated, when nothing exports); exported when dropped.
#[derive(Debug)]
#[must_use = "a span covers the work until it is dropped"]
pub struct Span {
    context: SpanContext,
    recording: Option<Box<Recording>>,
}

/// Whether spans are exported: false costs one atomic read per span.
pub fn enabled() -> bool {
    export::installed()
}

impl Span {
    /// Starts a span of `kind` under the span `parent` names (a `traceparent`; a new trace when
    /// there is none or it is malformed). `name` is only made when the span is recorded.
    pub fn start(kind: SpanKind, parent: Option<&str>, name: impl FnOnce() -> String) -> Self {
        let parent = parent.and_then(SpanContext::parse);
        let context = parent.map_or_else(SpanContext::root, |p| p.child());
        let recording = (context.sampled && enabled()).then(|| {
            Box::new(Recording {
                data: SpanData {
                    context,
                    parent: parent.map(|p| p.span_id),
                    name: name(),
                    kind,
                    start_unix_nanos: unix_nanos(),
                    end_unix_nanos: 0,
                    attributes: Vec::new(),
                    error: None,
                },
                started: Instant::now(),
                finished: false,
            })
        });
        Self { context, recording }
    }

    /// Starts a span of `kind` under the current work's (see [`crate::context::current`]).
    pub fn in_current(kind: SpanKind, name: impl FnOnce() -> String) -> Self {
        let parent = crate::context::current().traceparent;
        Self::start(kind, parent.as_deref(), name)
    }

    /// A client span of the current work for an HTTP call (`method` to `url`) to `peer`, named
    /// `<method> <peer>`: what the callee's server span will be a child of.
    pub fn http_client(method: &str, peer: &str, url: &str) -> Self {
        let mut span = Self::in_current(SpanKind::Client, || format!("{method} {peer}"));
        if span.is_recording() {
            span.set("http.request.method", method);
            span.set("peer.service", peer);
            span.set("url.full", url);
        }
        span
    }

    /// This span's identity.
    pub fn context(&self) -> SpanContext {
        self.context
    }

    /// This span as a `traceparent`, for the work it covers to hand on.
    pub fn traceparent(&self) -> String {
        self.context.traceparent()
    }

    /// Whether this span will be exported (attributes are wasted on one that is not).
    pub fn is_recording(&self) -> bool {
        self.recording.is_some()
    }

    /// Sets attribute `key`.
    pub fn set(&mut self, key: &'static str, value: impl Into<Value>) {
        if let Some(recording) = &mut self.recording {
            recording.data.attributes.push((key, value.into()));
        }
    }

    /// Marks the span failed, saying why.
    pub fn fail(&mut self, message: impl std::fmt::Display) {
        if let Some(recording) = &mut self.recording {
            recording.data.error = Some(message.to_string());
        }
    }

    /// Records an HTTP answer's status: a server fails on 5xx, a client on 4xx and 5xx too.
    pub fn answered(&mut self, status: u16) {
        let Some(recording) = &self.recording else {
            return;
        };
        let kind = recording.data.kind;
        self.set("http.response.status_code", status);
        if status >= 500 || (status >= 400 && kind == SpanKind::Client) {
            self.fail(format!("answered {status}"));
        }
    }

    /// Ends the span now; a span dropped without it is marked as abandoned (its work was
    /// cancelled, a deadline passed).
    pub fn end(mut self) {
        if let Some(recording) = &mut self.recording {
            recording.finished = true;
        }
    }
}

impl Drop for Span {
    fn drop(&mut self) {
        let Some(recording) = self.recording.take() else {
            return;
        };
        let Recording {
            mut data,
            started,
            finished,
        } = *recording;
        data.end_unix_nanos = data.start_unix_nanos + started.elapsed().as_nanos();
        if !finished && data.error.is_none() {
            data.error = Some("abandoned before it finished".to_owned());
        }
        export::record(data);
    }
}

fn unix_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
