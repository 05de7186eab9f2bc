//! The wallet REST API: the caller's entries, one, and the exchange for a gift (상품 교환).

use crate::app::{ExchangeError, WalletService};
use crate::domain::entry::{Entry, EntryError};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use kernel::http::{ApiError, Caller, ErrorBody, ErrorCode, IdempotencyKey, Json, Path};
use kernel::owned::{BY_OWNER, OwnedApi};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;

/// The scoping claim of players: a player sees and exchanges their own entries only.
pub(crate) const PLAYER_CLAIM: &str = "player";

/// The routes.
pub(crate) fn routes(app: Arc<WalletService>) -> Router {
    Router::new()
        .route("/api/wallet/{id}/exchange", post(exchange))
        .with_state(app.clone())
        .merge(ENTRIES.routes(app.store()))
}

/// The player's wallet: the list and one entry.
const ENTRIES: OwnedApi<Entry> = OwnedApi {
    base: "/api/wallet",
    plural: "entries",
    claim: PLAYER_CLAIM,
    index: BY_OWNER,
    owner: |e| e.player_id.clone(),
    show: |e| serde_json::to_value(EntryDto::from(e)).unwrap_or_default(),
};

/// The API document: the exchange and the wallet's list and one entry.
pub(crate) fn openapi() -> utoipa::openapi::OpenApi {
    let mut document = <ApiDoc as utoipa::OpenApi>::openapi();
    document.merge(ENTRIES.openapi("wallet entry", "EntryDto"));
    document
}

/// `POST /api/wallet/{id}/exchange` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ExchangeRequest {
    /// A gift of `GET /api/gifts`.
    pub gift_code: String,
}

/// A wallet entry: a reward voucher.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EntryDto {
    id: String,
    player_id: String,
    mission_id: String,
    reward_id: String,
    /// `bronze`, `silver` or `gold`.
    #[schema(value_type = String)]
    tier: &'static str,
    points: i64,
    /// `Issued` or `Exchanged`.
    #[schema(value_type = String)]
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    gift_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gift_name: Option<String>,
    issued_at: String,
}

impl From<&Entry> for EntryDto {
    fn from(e: &Entry) -> Self {
        Self {
            id: e.id.clone(),
            player_id: e.player_id.clone(),
            mission_id: e.voucher.mission_id.clone(),
            reward_id: e.voucher.reward_id.clone(),
            tier: e.voucher.tier.as_str(),
            points: e.voucher.points,
            status: e.status.as_str(),
            gift_code: e.gift.as_ref().map(|g| g.code.clone()),
            gift_name: e.gift.as_ref().map(|g| g.name.clone()),
            issued_at: e.created_at.format(&Rfc3339).unwrap_or_default(),
        }
    }
}

impl ErrorCode for EntryError {
    fn code(&self) -> &'static str {
        "already_exchanged"
    }
}

impl From<ExchangeError> for ApiError {
    fn from(error: ExchangeError) -> Self {
        let message = error.to_string();
        match error {
            ExchangeError::Refused(code) if code == "unknown_gift" => {
                ApiError::unprocessable("unknown_gift", message)
            }
            ExchangeError::Refused(code) => ApiError::new(StatusCode::CONFLICT, code, message),
            ExchangeError::GiftBusy { retry_after } => {
                ApiError::unavailable("gift_busy", message, retry_after.as_secs())
            }
            ExchangeError::Change(change) => change.into(),
        }
    }
}

#[utoipa::path(post, path = "/api/wallet/{id}/exchange", tag = "wallet",
    summary = "Exchange for a gift (상품 교환): gift hands it out first (synchronously), then the entry is Exchanged",
    params(("id" = String, Path, description = "Entry id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Accepted; the entry id already makes the exchange happen once")),
    request_body = ExchangeRequest,
    responses((status = 200, description = "Exchanged", body = EntryDto), (status = 404, body = ErrorBody),
        (status = 409, description = "tier_too_low, out_of_stock, already_exchanged: the entry stays Issued", body = ErrorBody),
        (status = 422, description = "unknown_gift", body = ErrorBody),
        (status = 503, description = "gift_busy: the entry stays Issued; retry after Retry-After", body = ErrorBody)),
    security(("bearer" = [])))]
async fn exchange(
    State(app): State<Arc<WalletService>>,
    caller: Caller,
    IdempotencyKey(_): IdempotencyKey,
    Path(id): Path<String>,
    Json(request): Json<ExchangeRequest>,
) -> Result<Json<EntryDto>, ApiError> {
    let entry = app
        .exchange(&id, caller.claim(PLAYER_CLAIM), &request.gift_code)
        .await?;
    kernel::http::record_correlation(&entry.voucher.mission_id);
    Ok(Json(EntryDto::from(&entry)))
}

/// The OpenAPI description of these routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(exchange), components(schemas(EntryDto)))]
pub(crate) struct ApiDoc;
