//! Waiting helpers for the kernel's own unit tests (other crates use `testkit`).

use std::future::Future;
use std::time::{Duration, Instant};

/// Polls `condition` until it holds, panicking after `patience`.
pub(crate) async fn eventually<F, Fut>(patience: Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    while !condition().await {
        assert!(
            started.elapsed() < patience,
            "condition did not hold within {patience:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
