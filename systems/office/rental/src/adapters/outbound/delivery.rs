//! Delivery's cancel command over HTTP, through the kernel's guarded remote command (deadline,
//! breaker, the rental id as idempotency key).

use crate::app::Deliveries;
use async_trait::async_trait;
use kernel::remote::{Answer, RemoteClient, RemoteFailure};

/// [`Deliveries`] over delivery's REST API.
#[derive(Debug, Clone)]
pub(crate) struct HttpDeliveries(pub RemoteClient);

#[async_trait]
impl Deliveries for HttpDeliveries {
    async fn cancel(
        &self,
        rental_id: &str,
        customer_id: &str,
    ) -> Result<Answer<()>, RemoteFailure> {
        let path = format!("/api/deliveries/{rental_id}/cancel");
        let body = serde_json::json!({ "customerId": customer_id });
        let answer = self
            .0
            .command::<_, serde_json::Value>(&path, rental_id, &body)
            .await?;
        Ok(match answer {
            Answer::Done(_) => Answer::Done(()),
            Answer::Refused(code) => Answer::Refused(code),
        })
    }
}
