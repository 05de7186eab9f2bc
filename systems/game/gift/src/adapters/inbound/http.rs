//! Gift's REST API: the catalog with its stock (public), restock (operators), and the exchange
//! command the wallet calls (by entry id; its outcome readable by entry id).

use crate::app::{ExchangeError, GiftService};
use crate::domain::gift::{GiftError, HandOut, Request};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use game_contracts::Tier;
use kernel::http::{ApiError, ErrorBody, Json, Path};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The routes.
pub(crate) fn routes(app: Arc<GiftService>) -> Router {
    Router::new()
        .route("/api/gifts", get(catalog))
        .route("/api/gifts/{code}/restock", post(restock))
        .route("/api/gifts/exchanges", post(exchange))
        .route("/api/gifts/exchanges/{entry_id}", get(outcome))
        .with_state(app)
}

/// The API document.
pub(crate) fn openapi() -> utoipa::openapi::OpenApi {
    <ApiDoc as utoipa::OpenApi>::openapi()
}

/// A gift of the catalog with the units left.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GiftDto {
    #[schema(value_type = String)]
    gift_code: &'static str,
    #[schema(value_type = String)]
    name: &'static str,
    /// `bronze`, `silver` or `gold`: the lowest tier that may have it.
    #[schema(value_type = String)]
    required_tier: &'static str,
    stock: i64,
}

/// `POST /api/gifts/{code}/restock` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RestockRequest {
    /// Units added, 1 to 10,000.
    #[schema(minimum = 1, maximum = 10000)]
    pub quantity: i64,
}

/// The wallet's exchange command (named apart from the wallet's own `ExchangeRequest`, whose
/// schema would otherwise replace it in the system's merged document).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = GiftExchangeRequest)]
pub(crate) struct ExchangeRequest {
    /// The wallet entry (also the Idempotency-Key).
    pub entry_id: String,
    /// The achievement (the correlation key).
    pub mission_id: String,
    /// Whose.
    pub player_id: String,
    /// The entry's tier.
    pub tier: String,
    /// The gift wanted.
    pub gift_code: String,
}

/// A gift handed out for an entry.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HandOutDto {
    entry_id: String,
    mission_id: String,
    player_id: String,
    #[schema(value_type = String)]
    gift_code: &'static str,
    #[schema(value_type = String)]
    gift_name: &'static str,
    /// Always `HandedOut`.
    #[schema(value_type = String)]
    status: &'static str,
}

impl From<&HandOut> for HandOutDto {
    fn from(h: &HandOut) -> Self {
        Self {
            entry_id: h.id.clone(),
            mission_id: h.mission_id.clone(),
            player_id: h.player_id.clone(),
            gift_code: h.gift.code,
            gift_name: h.gift.name,
            status: "HandedOut",
        }
    }
}

impl From<ExchangeError> for ApiError {
    fn from(error: ExchangeError) -> Self {
        let message = error.to_string();
        match error {
            ExchangeError::Refused(GiftError::UnknownGift) => {
                ApiError::new(StatusCode::NOT_FOUND, "unknown_gift", message)
            }
            ExchangeError::Refused(GiftError::TierTooLow) => {
                ApiError::conflict("tier_too_low", message)
            }
            ExchangeError::OutOfStock => ApiError::conflict("out_of_stock", message),
            ExchangeError::InvalidQuantity => ApiError::unprocessable("invalid_quantity", message),
            ExchangeError::Store(error) => ApiError::internal(error),
        }
    }
}

#[utoipa::path(get, path = "/api/gifts", tag = "gift",
    summary = "The gift catalog with the tier each needs and the units left (public)",
    responses((status = 200, body = Vec<GiftDto>)))]
async fn catalog(State(app): State<Arc<GiftService>>) -> Result<Json<Vec<GiftDto>>, ApiError> {
    let gifts = app.catalog().await?;
    Ok(Json(
        gifts
            .into_iter()
            .map(|(g, stock)| GiftDto {
                gift_code: g.code,
                name: g.name,
                required_tier: g.required_tier.as_str(),
                stock,
            })
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/gifts/{code}/restock", tag = "gift",
    summary = "Restock a gift (operators)",
    params(("code" = String, Path, description = "Gift code")),
    request_body = RestockRequest,
    responses((status = 200, description = "{\"giftCode\", \"stock\"}"),
        (status = 404, description = "unknown_gift", body = ErrorBody),
        (status = 422, description = "invalid_quantity", body = ErrorBody)),
    security(("bearer" = [])))]
async fn restock(
    State(app): State<Arc<GiftService>>,
    Path(code): Path<String>,
    Json(request): Json<RestockRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let stock = app.restock(&code, request.quantity).await?;
    Ok(Json(
        serde_json::json!({ "giftCode": code, "stock": stock }),
    ))
}

#[utoipa::path(post, path = "/api/gifts/exchanges", tag = "gift",
    summary = "The wallet's exchange command (idempotent by entry id): a gift handed out, its stock taken",
    request_body = ExchangeRequest,
    responses((status = 200, body = HandOutDto),
        (status = 404, description = "unknown_gift", body = ErrorBody),
        (status = 409, description = "tier_too_low, out_of_stock", body = ErrorBody),
        (status = 422, description = "invalid_tier", body = ErrorBody)),
    security(("bearer" = [])))]
async fn exchange(
    State(app): State<Arc<GiftService>>,
    Json(request): Json<ExchangeRequest>,
) -> Result<Json<HandOutDto>, ApiError> {
    kernel::http::record_correlation(&request.mission_id);
    let tier = Tier::parse(&request.tier).ok_or_else(|| {
        ApiError::unprocessable("invalid_tier", "tier must be bronze, silver or gold")
    })?;
    let request = Request {
        entry_id: request.entry_id,
        mission_id: request.mission_id,
        player_id: request.player_id,
        tier,
        gift_code: request.gift_code,
    };
    Ok(Json(HandOutDto::from(&app.exchange(request).await?)))
}

#[utoipa::path(get, path = "/api/gifts/exchanges/{entry_id}", tag = "gift",
    summary = "The gift handed out for an entry, if any (how a caller reads a lost answer)",
    params(("entry_id" = String, Path, description = "Wallet entry id")),
    responses((status = 200, body = HandOutDto), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn outcome(
    State(app): State<Arc<GiftService>>,
    Path(entry_id): Path<String>,
) -> Result<Json<HandOutDto>, ApiError> {
    match app.hand_out_of(&entry_id).await? {
        Some(done) => Ok(Json(HandOutDto::from(&done))),
        None => Err(ApiError::not_found(
            "hand_out_not_found",
            format!("no gift for entry {entry_id}"),
        )),
    }
}

/// The OpenAPI description of these routes.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(catalog, restock, exchange, outcome),
    components(schemas(GiftDto, HandOutDto))
)]
pub(crate) struct ApiDoc;
