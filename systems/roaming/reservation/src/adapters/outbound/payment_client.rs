//! The payment gateway over HTTP: a deadline and a circuit breaker around every payment call, and
//! a careful reading of failures — a request that certainly never reached payment charged
//! nothing, anything else may have.

use crate::domain::reservation::Reservation;
use crate::ports::{PaymentFailure, PaymentGateway, PaymentOutcome, PaymentState};
use anyhow::{Context as _, anyhow};
use async_trait::async_trait;
use kernel::breaker::{BreakerSettings, CallError, CircuitBreaker};
use kernel::metrics::Metrics;
use roaming_contracts::payment_api::{PaymentRequest, PaymentView, codes, status};
use serde::Deserialize;
use std::time::Duration;

/// Where payment is and how to guard calls to it.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PaymentSettings {
    /// Base URL of the payment service (service discovery: a Kubernetes service name in a
    /// cluster, a local port on one machine).
    pub url: String,
    /// Circuit breaker and deadline.
    pub breaker: BreakerSettings,
}

impl Default for PaymentSettings {
    fn default() -> Self {
        Self {
            url: "http://127.0.0.1:8082".to_owned(),
            breaker: BreakerSettings::default(),
        }
    }
}

/// [`PaymentGateway`] over payment's HTTP API.
#[derive(Debug, Clone)]
pub struct HttpPaymentGateway {
    client: reqwest::Client,
    base: String,
    breaker: CircuitBreaker,
}

#[derive(Deserialize)]
struct ErrorBody {
    code: String,
}

enum Answer {
    Approved(String),
    Declined(String),
    Voided,
}

#[derive(Debug, thiserror::Error)]
enum CallFailure {
    #[error("payment unreachable: {0}")]
    Unreachable(reqwest::Error),
    #[error("payment call failed: {0}")]
    Transport(reqwest::Error),
    #[error("payment answered {0}")]
    Status(reqwest::StatusCode),
}

fn seconds_up(duration: Duration) -> Duration {
    Duration::from_secs(duration.as_secs_f64().ceil().max(1.0) as u64)
}

impl HttpPaymentGateway {
    /// A client for payment at `settings.url`, with its breaker reporting on `metrics`.
    pub fn new(settings: &PaymentSettings, metrics: Metrics) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .pool_idle_timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_millis(settings.breaker.timeout_ms.max(100)))
            .build()
            .context("cannot build the payment client")?;
        Ok(Self {
            client,
            base: settings.url.trim_end_matches('/').to_owned(),
            breaker: CircuitBreaker::new("payment", settings.breaker.clone(), metrics),
        })
    }

    /// The breaker, for the status page.
    pub fn breaker(&self) -> CircuitBreaker {
        self.breaker.clone()
    }

    async fn call(&self, request: &PaymentRequest) -> Result<Answer, CallFailure> {
        let response = self
            .client
            .post(format!("{}/api/payments", self.base))
            .headers(trace_headers())
            .json(request)
            .send()
            .await
            .map_err(|e| {
                if e.is_connect() {
                    CallFailure::Unreachable(e)
                } else {
                    CallFailure::Transport(e)
                }
            })?;
        let status = response.status();
        if status.is_success() {
            let view: PaymentView = response.json().await.map_err(CallFailure::Transport)?;
            return Ok(Answer::Approved(view.payment_id));
        }
        if status.is_client_error() {
            let body: Option<ErrorBody> = response.json().await.ok();
            let code = body
                .map(|b| b.code)
                .unwrap_or_else(|| status.as_str().to_owned());
            return Ok(if code == codes::PAYMENT_VOIDED {
                Answer::Voided
            } else {
                Answer::Declined(code)
            });
        }
        Err(CallFailure::Status(status))
    }

    async fn view(&self, request: reqwest::RequestBuilder) -> anyhow::Result<PaymentState> {
        let response = request
            .headers(trace_headers())
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .context("payment unreachable")?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(PaymentState::NotFound);
        }
        if !response.status().is_success() {
            return Err(anyhow!("payment answered {}", response.status()));
        }
        let view: PaymentView = response.json().await.context("payment answered nonsense")?;
        Ok(match view.status.as_str() {
            status::APPROVED => PaymentState::Approved {
                payment_id: view.payment_id,
            },
            status::DECLINED => PaymentState::Declined {
                reason: view
                    .decline_reason
                    .unwrap_or_else(|| codes::CARD_DECLINED.to_owned()),
            },
            status::CANCELED => PaymentState::Canceled,
            status::VOIDED => PaymentState::Voided,
            other => return Err(anyhow!("payment reported unknown status {other}")),
        })
    }
}

/// Carries the current request's trace context to payment.
fn trace_headers() -> reqwest::header::HeaderMap {
    let mut headers = reqwest::header::HeaderMap::new();
    let context = kernel::context::current();
    if let Some(value) = context.traceparent.and_then(|t| t.parse().ok()) {
        headers.insert(kernel::http::TRACEPARENT, value);
    }
    if let Some(value) = context.request_id.and_then(|r| r.parse().ok()) {
        headers.insert(kernel::http::REQUEST_ID, value);
    }
    headers
}

#[async_trait]
impl PaymentGateway for HttpPaymentGateway {
    async fn pay(
        &self,
        reservation: &Reservation,
        card_number: &str,
    ) -> Result<PaymentOutcome, PaymentFailure> {
        let request = PaymentRequest {
            reservation_id: reservation.id.clone(),
            customer_id: reservation.customer.as_str().to_owned(),
            amount: reservation.terms.amount.value(),
            card_number: card_number.to_owned(),
        };
        match self.breaker.call(self.call(&request)).await {
            Ok(Answer::Approved(payment_id)) => Ok(PaymentOutcome::Approved { payment_id }),
            Ok(Answer::Declined(reason)) => Ok(PaymentOutcome::Declined { reason }),
            Ok(Answer::Voided) => Err(PaymentFailure::Voided),
            Err(CallError::Open { retry_after }) => Err(PaymentFailure::Unavailable {
                retry_after: seconds_up(retry_after),
            }),
            Err(CallError::Failed(CallFailure::Unreachable(error))) => {
                tracing::warn!(%error, "payment unreachable");
                Err(PaymentFailure::Unavailable {
                    retry_after: Duration::from_secs(1),
                })
            }
            Err(CallError::Timeout(after)) => {
                tracing::warn!(?after, reservation = %reservation.id, "payment timed out; outcome unknown");
                Err(PaymentFailure::Unknown {
                    retry_after: Duration::from_secs(2),
                })
            }
            Err(CallError::Failed(error)) => {
                tracing::warn!(%error, reservation = %reservation.id, "payment failed; outcome unknown");
                Err(PaymentFailure::Unknown {
                    retry_after: Duration::from_secs(1),
                })
            }
        }
    }

    async fn state(&self, reservation_id: &str) -> anyhow::Result<PaymentState> {
        self.view(self.client.get(format!(
            "{}/api/payments/by-reservation/{reservation_id}",
            self.base
        )))
        .await
    }

    async fn void(&self, reservation_id: &str) -> anyhow::Result<PaymentState> {
        self.view(self.client.post(format!(
            "{}/api/payments/by-reservation/{reservation_id}/void",
            self.base
        )))
        .await
    }
}
