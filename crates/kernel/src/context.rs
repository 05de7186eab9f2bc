//! The ambient context of the request or event being handled: request id, trace and cause.
//!
//! The HTTP middleware and the consumer runtime set it for the task that handles the work, so that
//! events published from that work carry the trace and the cause without every use case passing
//! them along.

use std::future::Future;
use uuid::Uuid;

/// What the current unit of work is part of.
#[derive(Clone, Debug, Default)]
pub struct WorkContext {
    /// The request id (from `x-request-id` or generated), when the work is an HTTP request.
    pub request_id: Option<String>,
    /// W3C `traceparent` of the work.
    pub traceparent: Option<String>,
    /// The event being handled, when the work is an event.
    pub causation: Option<Uuid>,
}

tokio::task_local! {
    static CURRENT: WorkContext;
}

/// Runs `fut` with `context` as the ambient work context.
pub async fn scope<F: Future>(context: WorkContext, fut: F) -> F::Output {
    CURRENT.scope(context, fut).await
}

/// The ambient work context, or an empty one outside any scope.
pub fn current() -> WorkContext {
    CURRENT.try_with(Clone::clone).unwrap_or_default()
}

/// Starts a new W3C trace: `00-<trace id>-<span id>-01`.
pub fn new_traceparent() -> String {
    format!(
        "00-{:016x}{:016x}-{:016x}-01",
        fastrand::u64(1..),
        fastrand::u64(..),
        fastrand::u64(1..)
    )
}

/// Accepts a well-formed W3C `traceparent`, rejecting anything else.
pub fn valid_traceparent(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    parts.len() == 4
        && hex(parts[0], 2)
        && hex(parts[1], 32)
        && hex(parts[2], 16)
        && hex(parts[3], 2)
        && parts[1] != "00000000000000000000000000000000"
        && parts[2] != "0000000000000000"
}

/// The trace id part of a `traceparent`.
pub fn trace_id(traceparent: &str) -> Option<&str> {
    traceparent.split('-').nth(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_traceparents_are_valid() {
        for _ in 0..100 {
            assert!(valid_traceparent(&new_traceparent()));
        }
        assert!(!valid_traceparent("00-abc-def-01"));
        assert!(!valid_traceparent(
            "00-00000000000000000000000000000000-b7ad6b7169203331-01"
        ));
    }

    #[tokio::test]
    async fn the_context_is_visible_inside_its_scope_only() {
        assert!(current().request_id.is_none());
        let seen = scope(
            WorkContext {
                request_id: Some("r1".into()),
                ..Default::default()
            },
            async { current().request_id },
        )
        .await;
        assert_eq!(seen.as_deref(), Some("r1"));
    }
}
