//! The payment's HTTP API as its callers use it synchronously (request-response: no order may
//! exist without its payment). The order reference is the idempotency key.

use serde::{Deserialize, Serialize};

/// `POST /api/payments`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PaymentRequest {
    /// The order paid for (the caller's correlation key, 1 to 64 characters); a second request
    /// with the same order returns the first outcome.
    pub order_id: String,
    /// Who pays.
    pub customer_id: String,
    /// Amount in KRW.
    pub amount: i64,
    /// Card number (digits only).
    pub card_number: String,
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
