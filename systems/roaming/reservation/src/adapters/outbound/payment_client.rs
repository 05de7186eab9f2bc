//! The payment gateway: payment's HTTP API behind the kernel's guarded remote command (deadline,
//! circuit breaker, the reservation id as idempotency key).

use crate::domain::reservation::Reservation;
use crate::ports::{PaymentFailure, PaymentGateway, PaymentOutcome, PaymentState};
use async_trait::async_trait;
use kernel::remote::{Answer, RemoteClient, RemoteFailure};
use payment_contracts::api::{PaymentRequest, PaymentView, codes, status};

/// [`PaymentGateway`] over payment's HTTP API.
#[derive(Debug, Clone)]
pub struct HttpPaymentGateway(pub RemoteClient);

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
impl PaymentGateway for HttpPaymentGateway {
    async fn pay(
        &self,
        reservation: &Reservation,
        card_number: &str,
    ) -> Result<PaymentOutcome, PaymentFailure> {
        let request = PaymentRequest {
            order_id: reservation.id.clone(),
            customer_id: reservation.customer.as_str().to_owned(),
            amount: reservation.terms.amount.value(),
            card_number: card_number.to_owned(),
        };
        let answer = self
            .0
            .command::<_, PaymentView>("/api/payments", &reservation.id, &request)
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

    async fn state(&self, reservation_id: &str) -> anyhow::Result<PaymentState> {
        let path = format!("/api/payments/by-order/{reservation_id}");
        state(self.0.outcome(&path).await?)
    }

    async fn void(&self, reservation_id: &str) -> anyhow::Result<PaymentState> {
        let path = format!("/api/payments/by-order/{reservation_id}/void");
        state(Some(self.0.void(&path).await?))
    }
}
