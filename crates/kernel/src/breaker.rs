//! A circuit breaker with a deadline for synchronous calls to another service.
//!
//! Closed: calls pass and their outcomes fill a sliding window; when the window holds enough calls
//! and the failure rate or the slow-call rate crosses its threshold, the breaker opens. Open: calls
//! are refused at once (the caller's fallback runs) until the open period ends. Half-open: a few
//! trial calls pass; one failure opens the breaker again, all of them succeeding closes it.

use crate::metrics::Metrics;
use serde::Deserialize;
use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Tuning of a [`CircuitBreaker`].
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BreakerSettings {
    /// Deadline of one call, in milliseconds; a call that exceeds it fails with a timeout.
    pub timeout_ms: u64,
    /// Number of most recent calls the rates are computed over.
    pub window: usize,
    /// Calls needed in the window before the rates are trusted.
    pub minimum_calls: usize,
    /// Failure rate (0..=1) at which the breaker opens.
    pub failure_rate: f64,
    /// A successful call slower than this, in milliseconds, counts as slow.
    pub slow_call_ms: u64,
    /// Slow-call rate (0..=1) at which the breaker opens.
    pub slow_call_rate: f64,
    /// How long the breaker stays open before letting trial calls through, in milliseconds.
    pub open_ms: u64,
    /// Trial calls allowed while half-open.
    pub half_open_calls: usize,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        Self {
            timeout_ms: 2_000,
            window: 20,
            minimum_calls: 5,
            failure_rate: 0.5,
            slow_call_ms: 1_000,
            slow_call_rate: 0.5,
            open_ms: 5_000,
            half_open_calls: 3,
        }
    }
}

/// The breaker's state, as reported on metrics and status pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls pass.
    Closed,
    /// Calls are refused.
    Open,
    /// A few trial calls pass.
    HalfOpen,
}

impl BreakerState {
    /// The lower-case name used on status pages.
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }
}

/// Why a guarded call did not produce a value.
#[derive(Debug, thiserror::Error)]
pub enum CallError<E> {
    /// The breaker is open; nothing was sent.
    #[error("circuit open, retry after {retry_after:?}")]
    Open {
        /// When the breaker will let a trial call through.
        retry_after: Duration,
    },
    /// The call did not finish before its deadline; its outcome is unknown.
    #[error("call timed out after {0:?}")]
    Timeout(Duration),
    /// The call failed.
    #[error(transparent)]
    Failed(E),
}

enum Phase {
    Closed,
    Open { until: Instant },
    HalfOpen { in_flight: usize, succeeded: usize },
}

struct Inner {
    phase: Phase,
    /// Recent outcomes: (failed, slow).
    window: VecDeque<(bool, bool)>,
}

/// A circuit breaker guarding calls to one dependency.
#[derive(Clone)]
pub struct CircuitBreaker {
    name: Arc<str>,
    settings: Arc<BreakerSettings>,
    inner: Arc<Mutex<Inner>>,
    metrics: Metrics,
}

impl std::fmt::Debug for CircuitBreaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("name", &self.name)
            .field("state", &self.state())
            .finish()
    }
}

impl CircuitBreaker {
    /// A closed breaker named `name` (the dependency), reporting its state on `metrics`.
    pub fn new(name: &str, settings: BreakerSettings, metrics: Metrics) -> Self {
        let breaker = Self {
            name: name.into(),
            settings: Arc::new(settings),
            inner: Arc::new(Mutex::new(Inner {
                phase: Phase::Closed,
                window: VecDeque::new(),
            })),
            metrics,
        };
        breaker.report(BreakerState::Closed);
        breaker
    }

    /// The dependency's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The current state (an expired open period reads as half-open).
    pub fn state(&self) -> BreakerState {
        let inner = self.inner.lock().expect("breaker lock");
        match inner.phase {
            Phase::Closed => BreakerState::Closed,
            Phase::Open { until } if Instant::now() < until => BreakerState::Open,
            Phase::Open { .. } | Phase::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    fn report(&self, state: BreakerState) {
        let value = match state {
            BreakerState::Closed => 0.0,
            BreakerState::Open => 1.0,
            BreakerState::HalfOpen => 2.0,
        };
        self.metrics.set(
            "circuit_breaker_state",
            "Circuit breaker state: 0 closed, 1 open, 2 half-open.",
            &[("dependency", &self.name)],
            value,
        );
    }

    fn admit(&self) -> Result<(), Duration> {
        let mut inner = self.inner.lock().expect("breaker lock");
        let now = Instant::now();
        match inner.phase {
            Phase::Closed => Ok(()),
            Phase::Open { until } if now < until => Err(until - now),
            Phase::Open { .. } => {
                inner.phase = Phase::HalfOpen {
                    in_flight: 1,
                    succeeded: 0,
                };
                drop(inner);
                self.report(BreakerState::HalfOpen);
                Ok(())
            }
            Phase::HalfOpen {
                ref mut in_flight,
                succeeded,
            } => {
                if *in_flight + succeeded < self.settings.half_open_calls {
                    *in_flight += 1;
                    Ok(())
                } else {
                    Err(Duration::from_millis(self.settings.open_ms.min(1_000)))
                }
            }
        }
    }

    fn record(&self, failed: bool, slow: bool) {
        let settings = &self.settings;
        let mut inner = self.inner.lock().expect("breaker lock");
        let open_until = Instant::now() + Duration::from_millis(settings.open_ms);
        let next = match inner.phase {
            Phase::Closed => {
                inner.window.push_back((failed, slow));
                while inner.window.len() > settings.window {
                    inner.window.pop_front();
                }
                let calls = inner.window.len();
                let failures = inner.window.iter().filter(|(f, _)| *f).count();
                let slows = inner.window.iter().filter(|(_, s)| *s).count();
                let trip = calls >= settings.minimum_calls
                    && (failures as f64 / calls as f64 >= settings.failure_rate
                        || slows as f64 / calls as f64 >= settings.slow_call_rate);
                trip.then_some(BreakerState::Open)
            }
            Phase::Open { .. } => None,
            Phase::HalfOpen {
                ref mut in_flight,
                ref mut succeeded,
            } => {
                *in_flight = in_flight.saturating_sub(1);
                if failed || slow {
                    Some(BreakerState::Open)
                } else {
                    *succeeded += 1;
                    (*succeeded >= settings.half_open_calls).then_some(BreakerState::Closed)
                }
            }
        };
        match next {
            Some(BreakerState::Open) => {
                inner.phase = Phase::Open { until: open_until };
                inner.window.clear();
            }
            Some(BreakerState::Closed) => {
                inner.phase = Phase::Closed;
                inner.window.clear();
            }
            _ => {}
        }
        drop(inner);
        if let Some(state) = next {
            tracing::warn!(dependency = %self.name, state = state.as_str(), "circuit breaker changed state");
            self.report(state);
        }
    }

    /// Runs `call` if the breaker admits it, under the configured deadline, and records its outcome.
    ///
    /// `Ok` values (including business refusals such as a declined card) count as successes;
    /// `Err` values and timeouts count as failures.
    pub async fn call<T, E, F>(&self, call: F) -> Result<T, CallError<E>>
    where
        F: Future<Output = Result<T, E>>,
    {
        if let Err(retry_after) = self.admit() {
            return Err(CallError::Open { retry_after });
        }
        let deadline = Duration::from_millis(self.settings.timeout_ms);
        let slow_after = Duration::from_millis(self.settings.slow_call_ms);
        let started = Instant::now();
        match tokio::time::timeout(deadline, call).await {
            Ok(Ok(value)) => {
                self.record(false, started.elapsed() >= slow_after);
                Ok(value)
            }
            Ok(Err(error)) => {
                self.record(true, false);
                Err(CallError::Failed(error))
            }
            Err(_) => {
                self.record(true, true);
                Err(CallError::Timeout(deadline))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker(open_ms: u64) -> CircuitBreaker {
        CircuitBreaker::new(
            "payment",
            BreakerSettings {
                timeout_ms: 50,
                window: 10,
                minimum_calls: 4,
                failure_rate: 0.5,
                slow_call_ms: 30,
                slow_call_rate: 0.5,
                open_ms,
                half_open_calls: 2,
            },
            Metrics::default(),
        )
    }

    async fn fail(b: &CircuitBreaker) -> Result<(), CallError<&'static str>> {
        b.call(async { Err::<(), _>("boom") }).await
    }

    async fn succeed(b: &CircuitBreaker) -> Result<(), CallError<&'static str>> {
        b.call(async { Ok::<(), &'static str>(()) }).await
    }

    #[tokio::test]
    async fn failures_open_the_breaker_and_calls_are_then_refused_without_running() {
        let b = breaker(60_000);
        for _ in 0..4 {
            assert!(matches!(fail(&b).await, Err(CallError::Failed(_))));
        }
        assert_eq!(b.state(), BreakerState::Open);
        let ran = std::sync::atomic::AtomicBool::new(false);
        let result = b
            .call(async {
                ran.store(true, std::sync::atomic::Ordering::SeqCst);
                Ok::<(), &str>(())
            })
            .await;
        assert!(matches!(result, Err(CallError::Open { .. })));
        assert!(!ran.load(std::sync::atomic::Ordering::SeqCst));
        assert_eq!(
            b.metrics
                .value("circuit_breaker_state", &[("dependency", "payment")]),
            Some(1.0)
        );
    }

    #[tokio::test]
    async fn a_call_past_its_deadline_is_a_timeout_and_counts_against_the_breaker() {
        let b = breaker(60_000);
        for _ in 0..4 {
            let r = b
                .call(async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    Ok::<(), &str>(())
                })
                .await;
            assert!(matches!(r, Err(CallError::Timeout(_))));
        }
        assert_eq!(b.state(), BreakerState::Open);
    }

    #[tokio::test]
    async fn slow_successes_open_the_breaker_too() {
        let b = breaker(60_000);
        for _ in 0..4 {
            let r = b
                .call(async {
                    tokio::time::sleep(Duration::from_millis(35)).await;
                    Ok::<(), &str>(())
                })
                .await;
            assert!(r.is_ok());
        }
        assert_eq!(b.state(), BreakerState::Open);
    }

    #[tokio::test]
    async fn after_the_open_period_trial_calls_close_it_again() {
        let b = breaker(20);
        for _ in 0..4 {
            let _ = fail(&b).await;
        }
        assert_eq!(b.state(), BreakerState::Open);
        crate::testing::eventually(Duration::from_secs(2), || async {
            b.state() == BreakerState::HalfOpen
        })
        .await;
        succeed(&b).await.unwrap();
        succeed(&b).await.unwrap();
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[tokio::test]
    async fn a_failed_trial_call_reopens_it() {
        let b = breaker(20);
        for _ in 0..4 {
            let _ = fail(&b).await;
        }
        crate::testing::eventually(Duration::from_secs(2), || async {
            b.state() == BreakerState::HalfOpen
        })
        .await;
        let _ = fail(&b).await;
        assert_eq!(b.state(), BreakerState::Open);
    }

    #[tokio::test]
    async fn successes_keep_it_closed() {
        let b = breaker(60_000);
        for i in 0..20 {
            if i % 4 == 0 {
                let _ = fail(&b).await;
            } else {
                succeed(&b).await.unwrap();
            }
        }
        assert_eq!(b.state(), BreakerState::Closed);
    }
}
