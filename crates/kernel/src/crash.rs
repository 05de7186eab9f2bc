//! Crash points: named places where a process can be made to die abruptly, for crash tests.
//!
//! `MSA_CRASH_AT=relay.after_publish` makes the process abort the first time it reaches that point
//! (after `MSA_CRASH_AFTER` passes, default 0). The kernel's guarantees are proven by killing real
//! processes at exactly the places where a naive implementation loses or duplicates events.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// The outbox rows are committed and not yet published.
pub const RELAY_BEFORE_PUBLISH: &str = "relay.before_publish";
/// The events are on the bus and the outbox rows are not yet marked published.
pub const RELAY_AFTER_PUBLISH: &str = "relay.after_publish";
/// A handler's transaction committed and the delivery is not yet acknowledged.
pub const CONSUMER_AFTER_COMMIT: &str = "consumer.after_commit";

struct Armed {
    point: String,
    after: u64,
    passes: AtomicU64,
}

fn armed() -> Option<&'static Armed> {
    static ARMED: OnceLock<Option<Armed>> = OnceLock::new();
    ARMED
        .get_or_init(|| {
            let point = std::env::var("MSA_CRASH_AT").ok()?;
            let after = std::env::var("MSA_CRASH_AFTER")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            Some(Armed {
                point,
                after,
                passes: AtomicU64::new(0),
            })
        })
        .as_ref()
}

/// Aborts the process here if this point is armed and its pass count is reached.
pub fn point(name: &str) {
    let Some(armed) = armed() else { return };
    if armed.point != name {
        return;
    }
    if armed.passes.fetch_add(1, Ordering::SeqCst) >= armed.after {
        eprintln!("crash point {name} reached: aborting");
        std::process::abort();
    }
}
