//! The delivery team's REST API: the queue and shipping.

use crate::app::DeliveryService;
use crate::domain::delivery::{Delivery, DeliveryError};
use axum::Router;
use axum::extract::State;
use axum::routing::post;
use kernel::http::{ApiError, ErrorBody, ErrorCode, Json, Path};
use kernel::queue::QueueApi;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;

/// The routes.
pub(crate) fn routes(app: Arc<DeliveryService>) -> Router {
    Router::new()
        .route("/api/deliveries/{booking_id}/ship", post(ship))
        .with_state(app.clone())
        .merge(QUEUE.routes(app.store()))
}

/// The delivery team's queue.
const QUEUE: QueueApi<Delivery> = QueueApi {
    base: "/api/deliveries",
    plural: "deliveries",
    statuses: &["Requested", "Shipped", "Canceled"],
    show: |d| serde_json::to_value(DeliveryDto::from(d)).unwrap_or_default(),
};

/// The API document: the queue and shipping.
pub(crate) fn openapi() -> utoipa::openapi::OpenApi {
    let mut document = <ApiDoc as utoipa::OpenApi>::openapi();
    document.merge(QUEUE.openapi("delivery", "DeliveryDto"));
    document
}

/// A delivery as the delivery team sees it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeliveryDto {
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
#[openapi(paths(ship), components(schemas(DeliveryDto)))]
pub(crate) struct ApiDoc;
