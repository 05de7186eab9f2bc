//! The barista's REST API: the queue, accept (접수) and make (제조).

use crate::app::DrinkService;
use crate::domain::drink::{Drink, DrinkError};
use axum::Router;
use axum::extract::State;
use axum::routing::post;
use kernel::http::{ApiError, Caller, ErrorBody, ErrorCode, Json, Path};
use kernel::queue::QueueApi;
use serde::Serialize;
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;

/// The routes.
pub(crate) fn routes(app: Arc<DrinkService>) -> Router {
    Router::new()
        .route("/api/drinks/{order_id}/accept", post(accept))
        .route("/api/drinks/{order_id}/make", post(make))
        .with_state(app.clone())
        .merge(QUEUE.routes(app.store()))
}

/// The barista's queue.
const QUEUE: QueueApi<Drink> = QueueApi {
    base: "/api/drinks",
    plural: "drinks",
    statuses: &["Queued", "Receipted", "Made", "Canceled"],
    show: |d| serde_json::to_value(DrinkDto::from(d)).unwrap_or_default(),
};

/// The API document: the queue and the barista's commands.
pub(crate) fn openapi() -> utoipa::openapi::OpenApi {
    let mut document = <ApiDoc as utoipa::OpenApi>::openapi();
    document.merge(QUEUE.openapi("drink", "DrinkDto"));
    document
}

/// A drink as the barista sees it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DrinkDto {
    order_id: String,
    customer_id: String,
    drink_id: String,
    drink_name: String,
    qty: u32,
    /// `Queued`, `Receipted`, `Made` or `Canceled`.
    #[schema(value_type = String)]
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    barista: Option<String>,
    queued_at: String,
    updated_at: String,
}

impl From<&Drink> for DrinkDto {
    fn from(d: &Drink) -> Self {
        let time = |t: &time::OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
        Self {
            order_id: d.id.clone(),
            customer_id: d.cup.customer_id.clone(),
            drink_id: d.cup.drink_id.clone(),
            drink_name: d.cup.drink_name.clone(),
            qty: d.cup.qty,
            status: d.status.as_str(),
            barista: d.barista.clone(),
            queued_at: time(&d.created_at),
            updated_at: time(&d.updated_at),
        }
    }
}

impl ErrorCode for DrinkError {
    fn code(&self) -> &'static str {
        match self {
            DrinkError::Canceled => "order_canceled",
            DrinkError::NotReceipted => "not_receipted",
        }
    }
}

#[utoipa::path(post, path = "/api/drinks/{order_id}/accept", tag = "drink",
    summary = "Accept an order (접수): from now on it cannot be canceled",
    params(("order_id" = String, Path, description = "Order id")),
    responses((status = 200, body = DrinkDto), (status = 404, body = ErrorBody),
        (status = 409, description = "order_canceled", body = ErrorBody)),
    security(("bearer" = [])))]
async fn accept(
    State(app): State<Arc<DrinkService>>,
    caller: Caller,
    Path(order_id): Path<String>,
) -> Result<Json<DrinkDto>, ApiError> {
    kernel::http::record_correlation(&order_id);
    let barista = caller.subject().unwrap_or("barista");
    Ok(Json(DrinkDto::from(&app.accept(&order_id, barista).await?)))
}

#[utoipa::path(post, path = "/api/drinks/{order_id}/make", tag = "drink",
    summary = "The drink is made (제조)",
    params(("order_id" = String, Path, description = "Order id")),
    responses((status = 200, body = DrinkDto), (status = 404, body = ErrorBody),
        (status = 409, description = "order_canceled, not_receipted", body = ErrorBody)),
    security(("bearer" = [])))]
async fn make(
    State(app): State<Arc<DrinkService>>,
    Path(order_id): Path<String>,
) -> Result<Json<DrinkDto>, ApiError> {
    kernel::http::record_correlation(&order_id);
    Ok(Json(DrinkDto::from(&app.make(&order_id).await?)))
}

/// The OpenAPI description of these routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(accept, make), components(schemas(DrinkDto)))]
pub(crate) struct ApiDoc;
