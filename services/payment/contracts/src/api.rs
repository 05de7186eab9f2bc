//! The payment's HTTP API as its callers use it synchronously (request-response: no order may
//! exist without its payment). The order reference is the idempotency key.

use serde::{Deserialize, Serialize};

/// `POST /api/payments`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PaymentRequest {
    /// The order paid for (the caller's correlation key, 1 to 64 characters); a second request
    /// with the same order returns the first outcome.
    #[schema(min_length = 1, max_length = 64)]
    pub order_id: String,
    /// Who pays (1 to 64 characters).
    #[schema(min_length = 1, max_length = 64)]
    pub customer_id: String,
    /// Amount in KRW, more than 0.
    #[schema(minimum = 1)]
    #[serde(deserialize_with = "whole_number")]
    pub amount: i64,
    /// Card number: 12 to 19 digits passing the Luhn check.
    #[schema(pattern = "^[0-9]{12,19}$")]
    pub card_number: String,
}

/// A JSON integer, written as `7` or as `7.0`: JSON Schema's `integer` (what the document says)
/// takes both, so the service does too.
fn whole_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    let number = serde_json::Number::deserialize(deserializer)?;
    if let Some(whole) = number.as_i64() {
        return Ok(whole);
    }
    match number.as_f64() {
        // i64::MAX as f64 rounds up to 2^63, which is out of range, hence the strict bound.
        Some(float)
            if float.fract() == 0.0 && float >= -(2f64.powi(63)) && float < 2f64.powi(63) =>
        {
            #[allow(clippy::cast_possible_truncation)]
            Ok(float as i64)
        }
        _ => Err(serde::de::Error::custom(format!(
            "invalid amount {number}: a whole number is expected"
        ))),
    }
}

/// A payment's state as the payment service reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentView {
    /// Payment id.
    pub payment_id: String,
    /// The order it pays for.
    pub order_id: String,
    /// `Approved`, `Declined`, `Canceled` or `Voided`.
    pub status: String,
    /// Amount in KRW.
    pub amount: i64,
    /// Why it was declined, when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decline_reason: Option<String>,
}

/// Payment statuses.
pub mod status {
    /// The money was taken.
    pub const APPROVED: &str = "Approved";
    /// The card was refused.
    pub const DECLINED: &str = "Declined";
    /// The money was refunded.
    pub const CANCELED: &str = "Canceled";
    /// No payment will be taken for this order.
    pub const VOIDED: &str = "Voided";
}

/// Error codes of the payment API that callers act on.
pub mod codes {
    /// The card was declined.
    pub const CARD_DECLINED: &str = "card_declined";
    /// Not enough funds.
    pub const INSUFFICIENT_FUNDS: &str = "insufficient_funds";
    /// The order's payment was voided; it can never be paid.
    pub const PAYMENT_VOIDED: &str = "payment_voided";
}

#[cfg(test)]
mod tests {
    use super::PaymentRequest;

    fn amount(json: &str) -> Result<i64, serde_json::Error> {
        let body = format!(
            r#"{{"orderId":"o1","customerId":"kim","amount":{json},"cardNumber":"4111111111111111"}}"#
        );
        serde_json::from_str::<PaymentRequest>(&body).map(|request| request.amount)
    }

    #[test]
    fn an_amount_is_a_whole_number_written_either_way() {
        assert_eq!(amount("7").unwrap(), 7);
        assert_eq!(amount("8796093022207.0").unwrap(), 8_796_093_022_207);
        assert!(amount("7.5").is_err());
        assert!(amount("\"7\"").is_err());
        assert!(amount("1e30").is_err());
    }
}
