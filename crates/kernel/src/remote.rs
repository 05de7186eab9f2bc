//! Guarded remote commands: a synchronous call to another service with a deadline, a circuit
//! breaker, an idempotency key and a careful reading of failures — a request that certainly never
//! reached the callee changed nothing ([`RemoteFailure::Unavailable`], the fallback answers 503
//! with `Retry-After`), anything else may have ([`RemoteFailure::Unknown`], for the caller's
//! reconciler to settle by reading the outcome by key and voiding it).
//!
//! The callee's side of the protocol: the command is idempotent by its key (the same key gets
//! the first answer), its outcome can be read by key (`GET`, 404 when none), and it can be voided
//! by key (`POST`), after which the command is refused.

use crate::breaker::{BreakerSettings, CallError, CircuitBreaker};
use crate::discovery::{Registry, Replicas};
use crate::metrics::Metrics;
use crate::trace::Span;
use anyhow::Context as _;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Where a remote service is and how calls to it are guarded.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RemoteSettings {
    /// Base URL of the service (a Kubernetes service name in a cluster, a local port on one
    /// machine); several replicas comma-separated. Where the system has a registry (see
    /// [`crate::discovery`]), the replicas registered there replace it. Replicas are taken in
    /// turn, and one that fails a call (refused, reset, 503) is passed over for the next: every
    /// call is idempotent.
    pub url: String,
    /// Circuit breaker and deadline.
    pub breaker: BreakerSettings,
}

impl Default for RemoteSettings {
    fn default() -> Self {
        Self {
            url: "http://127.0.0.1:8082".to_owned(),
            breaker: BreakerSettings::default(),
        }
    }
}

/// The callee's answer to a command that reached it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer<T> {
    /// Done (2xx), with the callee's view of the outcome.
    Done(T),
    /// Refused (4xx), with the callee's stable error code.
    Refused(String),
}

/// Why a command has no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemoteFailure {
    /// The request certainly did not reach the callee (breaker open, connection refused):
    /// nothing changed there.
    #[error("the service is unavailable")]
    Unavailable {
        /// When to try again.
        retry_after: Duration,
    },
    /// The request may have reached the callee (deadline passed, error answer): the outcome is
    /// unknown until read by key.
    #[error("the outcome is unknown")]
    Unknown {
        /// When to try again.
        retry_after: Duration,
    },
}

#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("no replica is registered")]
    NoReplica,
    #[error("unreachable: {0}")]
    Unreachable(reqwest::Error),
    #[error("call failed: {0}")]
    Transport(reqwest::Error),
    #[error("answered {0}")]
    Status(reqwest::StatusCode),
}

#[derive(Deserialize)]
struct ErrorBody {
    code: String,
}

/// A guarded client of one remote service.
#[derive(Debug, Clone)]
pub struct RemoteClient {
    name: String,
    client: reqwest::Client,
    replicas: Replicas,
    next: Arc<AtomicUsize>,
    breaker: CircuitBreaker,
}

fn seconds_up(duration: Duration) -> Duration {
    Duration::from_secs(duration.as_secs_f64().ceil().max(1.0) as u64)
}

/// Carries the call's span (a child of the current work's) and the request id along.
fn trace_headers(headers: &mut reqwest::header::HeaderMap, span: &Span) {
    if let Ok(value) = span.traceparent().parse() {
        headers.insert(crate::http::TRACEPARENT, value);
    }
    let context = crate::context::current();
    if let Some(value) = context.request_id.and_then(|r| r.parse().ok()) {
        headers.insert(crate::http::REQUEST_ID, value);
    }
}

impl RemoteClient {
    /// A client of service `name` at `settings.url` or where `registry` has its replicas, its
    /// breaker reporting on `metrics`.
    pub fn new(
        name: &str,
        settings: &RemoteSettings,
        metrics: Metrics,
        registry: Option<Registry>,
    ) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .pool_idle_timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_millis(settings.breaker.timeout_ms.max(100)))
            .build()
            .with_context(|| format!("cannot build the {name} client"))?;
        let replicas = Replicas::new(name, &settings.url, registry)?;
        Ok(Self {
            name: name.to_owned(),
            client,
            replicas,
            next: Arc::default(),
            breaker: CircuitBreaker::new(name, settings.breaker.clone(), metrics),
        })
    }

    /// The breaker, for the status page.
    pub fn breaker(&self) -> CircuitBreaker {
        self.breaker.clone()
    }

    /// Sends the request `build` makes for a replica's base URL, to each replica in turn until
    /// one answers it.
    async fn send<T: DeserializeOwned>(
        &self,
        build: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> Result<(reqwest::StatusCode, Answer<T>), Failure> {
        let bases = self.replicas.current();
        if bases.is_empty() {
            return Err(Failure::NoReplica);
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let mut attempt = 0;
        // Every call of this client is idempotent (a command by its key, an outcome read, a
        // void), so a replica that failed it (refused, reset, draining with 503) hands it to the
        // next one; only a timeout is not retried, since the deadline is the caller's.
        let response = loop {
            let base = &bases[(start + attempt) % bases.len()];
            let another = attempt + 1 < bases.len();
            let mut request = build(base).build().map_err(Failure::Transport)?;
            let mut span = Span::http_client(
                request.method().as_str(),
                &self.name,
                request.url().as_str(),
            );
            trace_headers(request.headers_mut(), &span);
            let sent = self.client.execute(request).await;
            match &sent {
                Ok(response) => span.answered(response.status().as_u16()),
                Err(error) => span.fail(error),
            }
            span.end();
            match sent {
                Ok(response)
                    if another && response.status() == reqwest::StatusCode::SERVICE_UNAVAILABLE =>
                {
                    tracing::debug!(service = %self.name, base, "replica unavailable; next");
                    attempt += 1;
                }
                Ok(response) => break response,
                Err(error) if another && !error.is_timeout() => {
                    tracing::debug!(%error, service = %self.name, base, "replica failed; next");
                    attempt += 1;
                }
                Err(error) if error.is_connect() => return Err(Failure::Unreachable(error)),
                Err(error) => return Err(Failure::Transport(error)),
            }
        };
        let status = response.status();
        if status.is_success() {
            let view = response.json().await.map_err(Failure::Transport)?;
            return Ok((status, Answer::Done(view)));
        }
        if status.is_client_error() {
            let body: Option<ErrorBody> = response.json().await.ok();
            let code = body.map_or_else(|| status.as_str().to_owned(), |b| b.code);
            return Ok((status, Answer::Refused(code)));
        }
        Err(Failure::Status(status))
    }

    /// Sends command `body` to `path` (`POST`, JSON) under the breaker and deadline, with
    /// `key` as its `Idempotency-Key`.
    pub async fn command<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        key: &str,
        body: &B,
    ) -> Result<Answer<T>, RemoteFailure> {
        let request = |base: &str| {
            self.client
                .post(format!("{base}{path}"))
                .header("idempotency-key", key)
                .json(body)
        };
        match self.breaker.call(self.send(request)).await {
            Ok((_, answer)) => Ok(answer),
            Err(CallError::Open { retry_after }) => Err(RemoteFailure::Unavailable {
                retry_after: seconds_up(retry_after),
            }),
            Err(CallError::Failed(error @ (Failure::Unreachable(_) | Failure::NoReplica))) => {
                tracing::warn!(%error, service = %self.name, "unreachable");
                Err(RemoteFailure::Unavailable {
                    retry_after: Duration::from_secs(1),
                })
            }
            Err(CallError::Timeout(after)) => {
                tracing::warn!(?after, service = %self.name, key, "timed out; outcome unknown");
                Err(RemoteFailure::Unknown {
                    retry_after: Duration::from_secs(2),
                })
            }
            Err(CallError::Failed(error)) => {
                tracing::warn!(%error, service = %self.name, key, "failed; outcome unknown");
                Err(RemoteFailure::Unknown {
                    retry_after: Duration::from_secs(1),
                })
            }
        }
    }

    async fn settle<T: DeserializeOwned>(
        &self,
        request: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> anyhow::Result<Option<T>> {
        let timed = |base: &str| request(base).timeout(Duration::from_secs(5));
        match self.send(timed).await {
            Ok((_, Answer::Done(view))) => Ok(Some(view)),
            Ok((status, _)) if status == reqwest::StatusCode::NOT_FOUND => Ok(None),
            Ok((_, Answer::Refused(code))) => anyhow::bail!("{} refused: {code}", self.name),
            Err(error) => Err(anyhow::Error::new(error).context(format!("{} failed", self.name))),
        }
    }

    /// Reads the outcome of the command behind `path` (`GET`); `None` when there is none.
    pub async fn outcome<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<Option<T>> {
        self.settle(|base| self.client.get(format!("{base}{path}")))
            .await
    }

    /// Voids the command behind `path` (`POST`): it is undone if it was done, and refused
    /// from now on. Returns the final outcome.
    pub async fn void<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        self.settle(|base| self.client.post(format!("{base}{path}")))
            .await?
            .with_context(|| format!("{} has nothing at {path} to void", self.name))
    }
}
