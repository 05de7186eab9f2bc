//! Waiting for asynchronous effects with a bounded patience, never a fixed sleep.

use std::future::Future;
use std::time::{Duration, Instant};

/// Polls `probe` until it returns `Some`, returning the value; panics with `what` after `patience`.
pub async fn eventually<T, F, Fut>(patience: Duration, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let started = Instant::now();
    let mut pause = Duration::from_millis(2);
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            started.elapsed() < patience,
            "gave up after {patience:?} waiting for: {what}"
        );
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// Waits until a condition holds, with a bounded patience (default 20 s), and panics naming the
/// condition if it never does.
///
/// ```ignore
/// assert_eventually!(count(&db).await == 10);
/// assert_eventually!(Duration::from_secs(5), status(&c, id).await == "Reserved", "reservation {id} reserved");
/// ```
#[macro_export]
macro_rules! assert_eventually {
    ($patience:expr, $cond:expr, $($what:tt)+) => {
        $crate::wait::eventually($patience, &format!($($what)+), || async { if $cond { Some(()) } else { None } }).await
    };
    ($patience:expr, $cond:expr) => {
        $crate::wait::eventually($patience, stringify!($cond), || async { if $cond { Some(()) } else { None } }).await
    };
    ($cond:expr) => {
        $crate::wait::eventually(::std::time::Duration::from_secs(20), stringify!($cond), || async { if $cond { Some(()) } else { None } }).await
    };
}
