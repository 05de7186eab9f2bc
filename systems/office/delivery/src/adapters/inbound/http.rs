//! The delivery team's REST API (the queue, deliver, collect), the public stock page, and the
//! cancel command rental calls (not routed to anyone but operators by the gateway).

use crate::app::DeliveryService;
use crate::domain::delivery::{Delivery, DeliveryError};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use kernel::http::{ApiError, ErrorBody, ErrorCode, Json, Path};
use kernel::queue::QueueApi;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;

/// The routes.
pub(crate) fn routes(app: Arc<DeliveryService>) -> Router {
    Router::new()
        .route("/api/stock", get(stock))
        .route("/api/deliveries/{rental_id}/deliver", post(deliver))
        .route("/api/deliveries/{rental_id}/collect", post(collect))
        .route("/api/deliveries/{rental_id}/cancel", post(cancel))
        .with_state(app.clone())
        .merge(QUEUE.routes(app.deliveries()))
}

/// The delivery team's queue.
const QUEUE: QueueApi<Delivery> = QueueApi {
    base: "/api/deliveries",
    plural: "deliveries",
    statuses: &[
        "Scheduled",
        "Delivered",
        "ReturnRequested",
        "Collected",
        "Canceled",
    ],
    show: |d| serde_json::to_value(DeliveryDto::from(d)).unwrap_or_default(),
};

/// The API document: the queue, the team's commands, the stock, rental's cancel.
pub(crate) fn openapi() -> utoipa::openapi::OpenApi {
    let mut document = <ApiDoc as utoipa::OpenApi>::openapi();
    document.merge(QUEUE.openapi("delivery", "DeliveryDto"));
    document
}

/// A delivery as the team sees it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeliveryDto {
    rental_id: String,
    customer_id: String,
    product_id: String,
    product_name: String,
    qty: u32,
    /// `Scheduled`, `Delivered`, `ReturnRequested`, `Collected` or `Canceled`.
    #[schema(value_type = String)]
    status: &'static str,
    /// `out_of_stock` or `customer`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    cancel_reason: Option<&'static str>,
    created_at: String,
    updated_at: String,
}

impl From<&Delivery> for DeliveryDto {
    fn from(d: &Delivery) -> Self {
        let time = |t: &time::OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
        Self {
            rental_id: d.id.clone(),
            customer_id: d.parcel.customer_id.clone(),
            product_id: d.parcel.product_id.clone(),
            product_name: d.parcel.product_name.clone(),
            qty: d.parcel.qty,
            status: d.status.as_str(),
            cancel_reason: d.cancel_reason,
            created_at: time(&d.created_at),
            updated_at: time(&d.updated_at),
        }
    }
}

/// A product's units left.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StockDto {
    product_id: String,
    name: String,
    stock: i64,
}

/// Rental's cancel command.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CancelRequest {
    /// Whose rental.
    pub customer_id: String,
}

impl ErrorCode for DeliveryError {
    fn code(&self) -> &'static str {
        match self {
            Self::AlreadyDelivered => "already_delivered",
            Self::Canceled => "delivery_canceled",
            Self::NotDelivered => "not_delivered",
            Self::NotReturned => "return_not_requested",
        }
    }
}

#[utoipa::path(get, path = "/api/stock", tag = "delivery",
    summary = "The stock ledger (재고수량): units left per product (public)",
    responses((status = 200, body = Vec<StockDto>)))]
async fn stock(State(app): State<Arc<DeliveryService>>) -> Result<Json<Vec<StockDto>>, ApiError> {
    let ledger = app.stock().await?;
    Ok(Json(
        ledger
            .into_iter()
            .map(|(item, stock)| StockDto {
                product_id: item.id,
                name: item.name,
                stock,
            })
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/deliveries/{rental_id}/deliver", tag = "delivery",
    summary = "Delivered: the rental follows",
    params(("rental_id" = String, Path, description = "Rental id")),
    responses((status = 200, body = DeliveryDto), (status = 404, body = ErrorBody),
        (status = 409, description = "delivery_canceled", body = ErrorBody)),
    security(("bearer" = [])))]
async fn deliver(
    State(app): State<Arc<DeliveryService>>,
    Path(rental_id): Path<String>,
) -> Result<Json<DeliveryDto>, ApiError> {
    kernel::http::record_correlation(&rental_id);
    Ok(Json(DeliveryDto::from(&app.deliver(&rental_id).await?)))
}

#[utoipa::path(post, path = "/api/deliveries/{rental_id}/collect", tag = "delivery",
    summary = "Collected after the customer's return: the stock comes back, the rental completes",
    params(("rental_id" = String, Path, description = "Rental id")),
    responses((status = 200, body = DeliveryDto), (status = 404, body = ErrorBody),
        (status = 409, description = "return_not_requested, not_delivered, delivery_canceled", body = ErrorBody)),
    security(("bearer" = [])))]
async fn collect(
    State(app): State<Arc<DeliveryService>>,
    Path(rental_id): Path<String>,
) -> Result<Json<DeliveryDto>, ApiError> {
    kernel::http::record_correlation(&rental_id);
    Ok(Json(DeliveryDto::from(&app.collect(&rental_id).await?)))
}

#[utoipa::path(post, path = "/api/deliveries/{rental_id}/cancel", tag = "delivery",
    summary = "Rental's cancel command (idempotent by rental id): the stock comes back once; before the order, a tombstone",
    params(("rental_id" = String, Path, description = "Rental id")),
    request_body = CancelRequest,
    responses((status = 200, body = DeliveryDto),
        (status = 409, description = "already_delivered", body = ErrorBody)),
    security(("bearer" = [])))]
async fn cancel(
    State(app): State<Arc<DeliveryService>>,
    Path(rental_id): Path<String>,
    Json(request): Json<CancelRequest>,
) -> Result<(StatusCode, Json<DeliveryDto>), ApiError> {
    kernel::http::record_correlation(&rental_id);
    let delivery = app.cancel(&rental_id, &request.customer_id).await?;
    Ok((StatusCode::OK, Json(DeliveryDto::from(&delivery))))
}

/// The OpenAPI description of these routes.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(stock, deliver, collect, cancel),
    components(schemas(DeliveryDto, StockDto))
)]
pub(crate) struct ApiDoc;
