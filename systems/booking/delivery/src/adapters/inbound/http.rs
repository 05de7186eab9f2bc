//! The delivery team's REST API: the queue and shipping.

use crate::app::DeliveryService;
use crate::domain::delivery::{Delivery, DeliveryError, DeliveryStatus};
use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use kernel::http::{ApiError, ErrorBody, ErrorCode, Json, Paging, Path, Query};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;

/// The routes.
pub fn routes(app: Arc<DeliveryService>) -> Router {
    Router::new()
        .route("/api/deliveries", get(queue))
        .route("/api/deliveries/{booking_id}", get(one))
        .route("/api/deliveries/{booking_id}/ship", post(ship))
        .with_state(app)
}

/// A delivery as the delivery team sees it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryDto {
    booking_id: String,
    customer_id: String,
    musical_title: String,
    starts_at: String,
    grade: String,
    quantity: u32,
    address: String,
    phone: String,
    /// `Requested`, `Shipped` or `Canceled`.
    #[schema(value_type = String)]
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    shipper: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shipped_at: Option<String>,
    voided: bool,
}

impl From<&Delivery> for DeliveryDto {
    fn from(d: &Delivery) -> Self {
        let p = &d.parcel;
        Self {
            booking_id: d.id.clone(),
            customer_id: p.customer_id.clone(),
            musical_title: p.musical_title.clone(),
            starts_at: p.starts_at.clone(),
            grade: p.grade.clone(),
            quantity: p.quantity,
            address: p.address.clone(),
            phone: p.phone.clone(),
            status: d.status.as_str(),
            shipper: d.shipper.clone(),
            shipped_at: d.shipped_at.and_then(|t| t.format(&Rfc3339).ok()),
            voided: d.voided,
        }
    }
}

impl ErrorCode for DeliveryError {
    fn code(&self) -> &'static str {
        match self {
            DeliveryError::Canceled => "delivery_canceled",
            DeliveryError::AlreadyShipped(_) => "already_shipped",
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct QueueQuery {
    /// `Requested`, `Shipped` or `Canceled`; all when absent.
    status: Option<String>,
    /// 1 to 100 (default 20).
    limit: Option<u32>,
    /// The previous page's `nextCursor`.
    cursor: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct QueuePage {
    deliveries: Vec<DeliveryDto>,
    next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/deliveries", tag = "delivery",
    summary = "The delivery queue, oldest first (paged)",
    params(QueueQuery),
    responses((status = 200, body = QueuePage), (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
async fn queue(
    State(app): State<Arc<DeliveryService>>,
    Query(query): Query<QueueQuery>,
) -> Result<Json<QueuePage>, ApiError> {
    let status = match query.status.as_deref() {
        None => None,
        Some(name) => Some(DeliveryStatus::parse(name).ok_or_else(|| {
            ApiError::bad_request("invalid_status", "status is Requested, Shipped or Canceled")
        })?),
    };
    let paging = Paging::parse(query.limit, query.cursor.as_deref())?;
    let mut deliveries = app.queue(status, paging.offset, paging.fetch()).await?;
    let next_cursor = paging.cut(&mut deliveries);
    Ok(Json(QueuePage {
        deliveries: deliveries.iter().map(DeliveryDto::from).collect(),
        next_cursor,
    }))
}

#[utoipa::path(get, path = "/api/deliveries/{booking_id}", tag = "delivery",
    summary = "One booking's delivery",
    params(("booking_id" = String, Path, description = "Booking id")),
    responses((status = 200, body = DeliveryDto), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn one(
    State(app): State<Arc<DeliveryService>>,
    Path(booking_id): Path<String>,
) -> Result<Json<DeliveryDto>, ApiError> {
    kernel::http::record_correlation(&booking_id);
    Ok(Json(DeliveryDto::from(&app.get(&booking_id).await?)))
}

/// `POST /api/deliveries/{bookingId}/ship` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ShipRequest {
    /// Who ships (the courier or team member).
    shipper: String,
}

#[utoipa::path(post, path = "/api/deliveries/{booking_id}/ship", tag = "delivery",
    summary = "Ship a ticket",
    params(("booking_id" = String, Path, description = "Booking id")),
    request_body = ShipRequest,
    responses((status = 200, body = DeliveryDto), (status = 404, body = ErrorBody),
        (status = 409, description = "delivery_canceled, already_shipped", body = ErrorBody),
        (status = 422, description = "invalid_shipper", body = ErrorBody)),
    security(("bearer" = [])))]
async fn ship(
    State(app): State<Arc<DeliveryService>>,
    Path(booking_id): Path<String>,
    Json(request): Json<ShipRequest>,
) -> Result<Json<DeliveryDto>, ApiError> {
    kernel::http::record_correlation(&booking_id);
    let shipper = request.shipper.trim();
    if shipper.is_empty() || shipper.chars().count() > 64 {
        return Err(ApiError::unprocessable(
            "invalid_shipper",
            "shipper must be 1 to 64 characters",
        ));
    }
    Ok(Json(DeliveryDto::from(
        &app.ship(&booking_id, shipper).await?,
    )))
}

/// The OpenAPI description of these routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(queue, one, ship))]
pub struct ApiDoc;
