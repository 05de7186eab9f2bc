//! The caller's side of payment's API: the port a caller's application pays through, its adapter
//! over HTTP behind the kernel's guarded remote command (deadline, circuit breaker, the order
//! reference as idempotency key), and a scripted fake for application tests.

use crate::api::{PaymentRequest, PaymentView, codes, status};
use async_trait::async_trait;
use kernel::remote::{Answer, RemoteClient, RemoteFailure};
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

/// A payment decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentOutcome {
    /// Money taken.
    Approved {
        /// The payment.
        payment_id: String,
    },
    /// Card refused.
    Declined {
        /// The payment's reason code.
        reason: String,
    },
}

/// Why no payment decision came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentFailure {
    /// Payment is unavailable and the request certainly did not reach it (breaker open,
    /// connection refused): nothing was charged.
    Unavailable {
        /// When to try again.
        retry_after: Duration,
    },
    /// The request may have reached payment (timeout, error answer): the outcome is unknown.
    Unknown {
        /// When to try again.
        retry_after: Duration,
    },
    /// This order's payment was voided: it can never be paid.
    Voided,
}

/// What payment knows about an order's payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentState {
    /// No payment request arrived.
    NotFound,
    /// Approved and not refunded.
    Approved {
        /// The payment.
        payment_id: String,
    },
    /// Declined.
    Declined {
        /// The reason code.
        reason: String,
    },
    /// Approved and then refunded.
    Canceled,
    /// Voided: no payment will ever be taken.
    Voided,
}

/// How a caller pays (request-response: no order without its payment).
#[async_trait]
pub trait Payments: Send + Sync + 'static {
    /// Pays for an order, keyed by its reference (safe to repeat).
    async fn pay(&self, request: &PaymentRequest) -> Result<PaymentOutcome, PaymentFailure>;
    /// Asks what became of the order's payment.
    async fn state(&self, order_id: &str) -> anyhow::Result<PaymentState>;
    /// Makes sure the order is never charged: refunds an approved payment, or records that none
    /// may be taken. Returns the final state.
    async fn void(&self, order_id: &str) -> anyhow::Result<PaymentState>;
}

/// [`Payments`] over payment's HTTP API.
#[derive(Debug, Clone)]
pub struct HttpPayments(pub RemoteClient);

fn state(view: Option<PaymentView>) -> anyhow::Result<PaymentState> {
    let Some(view) = view else {
        return Ok(PaymentState::NotFound);
    };
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
        other => anyhow::bail!("payment reported unknown status {other}"),
    })
}

#[async_trait]
impl Payments for HttpPayments {
    async fn pay(&self, request: &PaymentRequest) -> Result<PaymentOutcome, PaymentFailure> {
        let answer = self
            .0
            .command::<_, PaymentView>("/api/payments", &request.order_id, request)
            .await;
        match answer {
            Ok(Answer::Done(view)) => Ok(PaymentOutcome::Approved {
                payment_id: view.payment_id,
            }),
            Ok(Answer::Refused(code)) if code == codes::PAYMENT_VOIDED => {
                Err(PaymentFailure::Voided)
            }
            Ok(Answer::Refused(reason)) => Ok(PaymentOutcome::Declined { reason }),
            Err(RemoteFailure::Unavailable { retry_after }) => {
                Err(PaymentFailure::Unavailable { retry_after })
            }
            Err(RemoteFailure::Unknown { retry_after }) => {
                Err(PaymentFailure::Unknown { retry_after })
            }
        }
    }

    async fn state(&self, order_id: &str) -> anyhow::Result<PaymentState> {
        state(
            self.0
                .outcome(&format!("/api/payments/by-order/{order_id}"))
                .await?,
        )
    }

    async fn void(&self, order_id: &str) -> anyhow::Result<PaymentState> {
        let path = format!("/api/payments/by-order/{order_id}/void");
        state(Some(self.0.void(&path).await?))
    }
}

/// A fake for application tests: answers `pay` from a script, `state` from a fixed answer
/// (`NotFound` unless set), `void` with `Voided`; counts the calls.
#[derive(Debug, Default)]
pub struct ScriptedPayments {
    answers: Mutex<VecDeque<Result<PaymentOutcome, PaymentFailure>>>,
    /// What `state` answers.
    pub state: Mutex<Option<PaymentState>>,
    /// How many times `pay` was called.
    pub paid: Mutex<u32>,
    /// How many times `void` was called.
    pub voided: Mutex<u32>,
}

impl ScriptedPayments {
    /// A fake answering `pay` with `answers` in turn (and panicking when they run out).
    pub fn answering(answers: Vec<Result<PaymentOutcome, PaymentFailure>>) -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self {
            answers: Mutex::new(answers.into()),
            ..Self::default()
        })
    }

    /// An approval, as `pay` answers it.
    pub fn approved() -> Result<PaymentOutcome, PaymentFailure> {
        Ok(PaymentOutcome::Approved {
            payment_id: "p-1".to_owned(),
        })
    }
}

#[async_trait]
impl Payments for ScriptedPayments {
    async fn pay(&self, _: &PaymentRequest) -> Result<PaymentOutcome, PaymentFailure> {
        *self.paid.lock().expect("the fake's lock") += 1;
        self.answers
            .lock()
            .expect("the fake's lock")
            .pop_front()
            .expect("an unexpected payment call")
    }

    async fn state(&self, _: &str) -> anyhow::Result<PaymentState> {
        Ok(self
            .state
            .lock()
            .expect("the fake's lock")
            .clone()
            .unwrap_or(PaymentState::NotFound))
    }

    async fn void(&self, _: &str) -> anyhow::Result<PaymentState> {
        *self.voided.lock().expect("the fake's lock") += 1;
        Ok(PaymentState::Voided)
    }
}
