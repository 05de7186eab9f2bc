//! Gift's exchange command over HTTP, through the kernel's guarded remote command (deadline,
//! breaker, the entry id as idempotency key: the same entry gets the first answer).

use crate::app::{ExchangeOrder, Gifts};
use crate::domain::entry::Gift;
use async_trait::async_trait;
use kernel::remote::{Answer, RemoteClient, RemoteFailure};
use serde::Deserialize;

/// [`Gifts`] over gift's REST API.
#[derive(Debug, Clone)]
pub(crate) struct HttpGifts(pub RemoteClient);

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HandedOut {
    gift_code: String,
    gift_name: String,
}

#[async_trait]
impl Gifts for HttpGifts {
    async fn exchange(&self, order: &ExchangeOrder) -> Result<Answer<Gift>, RemoteFailure> {
        let body = serde_json::json!({
            "entryId": order.entry_id, "missionId": order.mission_id, "playerId": order.player_id,
            "tier": order.tier.as_str(), "giftCode": order.gift_code,
        });
        let answer = self
            .0
            .command::<_, HandedOut>("/api/gifts/exchanges", &order.entry_id, &body)
            .await?;
        Ok(match answer {
            Answer::Done(h) => Answer::Done(Gift {
                code: h.gift_code,
                name: h.gift_name,
            }),
            Answer::Refused(code) => Answer::Refused(code),
        })
    }
}
