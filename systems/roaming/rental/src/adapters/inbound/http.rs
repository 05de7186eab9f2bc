//! The booth REST API: the queue, hand out, collect.

use crate::app::BoothService;
use crate::domain::rental::{Rental, RentalError, RentalStatus};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use kernel::http::{ApiError, Caller, ErrorBody, ErrorCode, Json, Path, Query};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;

/// The scoping claim of booth staff: when present, staff only see and act on their own booth.
pub(crate) const BOOTH_CLAIM: &str = "booth";

/// The routes.
pub(crate) fn routes(service: Arc<BoothService>) -> Router {
    Router::new()
        .route("/api/rentals", get(queue))
        .route("/api/rentals/{reservation_id}", get(one))
        .route("/api/rentals/{reservation_id}/handout", post(hand_out))
        .route("/api/rentals/{reservation_id}/collect", post(collect))
        .with_state(service)
}

/// A rental as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RentalDto {
    reservation_id: String,
    customer_id: String,
    booth: String,
    device_model: String,
    rental_date: String,
    return_date: String,
    /// `Accepted`, `HandedOut`, `Returned`, `Collected` or `Canceled`.
    #[schema(value_type = String)]
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    device_serial: Option<String>,
    created_at: String,
    updated_at: String,
}

impl From<&Rental> for RentalDto {
    fn from(r: &Rental) -> Self {
        Self {
            reservation_id: r.reservation_id.clone(),
            customer_id: r.customer_id.clone(),
            booth: r.booth.clone(),
            device_model: r.device_model.clone(),
            rental_date: r.rental_date.clone(),
            return_date: r.return_date.clone(),
            status: r.status.as_str(),
            device_serial: r.device_serial.clone(),
            created_at: r.created_at.format(&Rfc3339).unwrap_or_default(),
            updated_at: r.updated_at.format(&Rfc3339).unwrap_or_default(),
        }
    }
}

impl ErrorCode for RentalError {
    fn code(&self) -> &'static str {
        match self {
            RentalError::NotReturned => "device_not_returned",
            RentalError::BadSerial => "invalid_device_serial",
            RentalError::NotAllowed { .. } => "illegal_transition",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            RentalError::BadSerial => StatusCode::UNPROCESSABLE_ENTITY,
            _ => StatusCode::CONFLICT,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct QueueQuery {
    /// Which booth (operators; staff see their own).
    booth: Option<String>,
    /// Only rentals in this status.
    #[param(pattern = "^(Accepted|HandedOut|Returned|Collected|Canceled)$")]
    status: Option<String>,
}

#[utoipa::path(get, path = "/api/rentals", tag = "rental",
    summary = "The booth's queue (staff see their own booth)",
    params(QueueQuery),
    responses((status = 200, body = Vec<RentalDto>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn queue(
    State(service): State<Arc<BoothService>>,
    caller: Caller,
    Query(query): Query<QueueQuery>,
) -> Result<Json<Vec<RentalDto>>, ApiError> {
    let status = query
        .status
        .as_deref()
        .map(|s| {
            RentalStatus::parse(s).ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_status",
                    "status must be one of Accepted, HandedOut, Returned, Collected, Canceled",
                )
            })
        })
        .transpose()?;
    let booth = match (caller.claim(BOOTH_CLAIM).map(str::to_owned), query.booth) {
        (Some(own), Some(asked)) if own != asked => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "other_booth",
                "staff see only their own booth",
            ));
        }
        (Some(own), _) => Some(own),
        (None, asked) => asked,
    };
    let rentals = service.queue(booth.as_deref(), status).await?;
    Ok(Json(rentals.iter().map(RentalDto::from).collect()))
}

#[utoipa::path(get, path = "/api/rentals/{reservation_id}", tag = "rental",
    summary = "One rental",
    params(("reservation_id" = String, Path, description = "Reservation id")),
    responses((status = 200, body = RentalDto), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn one(
    State(service): State<Arc<BoothService>>,
    caller: Caller,
    Path(reservation_id): Path<String>,
) -> Result<Json<RentalDto>, ApiError> {
    kernel::http::record_correlation(&reservation_id);
    let rental = service
        .get(&reservation_id, caller.claim(BOOTH_CLAIM))
        .await
        .map_err(ApiError::from)?;
    Ok(Json(RentalDto::from(&rental)))
}

/// `POST /api/rentals/{id}/handout` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct HandOutRequest {
    device_serial: String,
}

#[utoipa::path(post, path = "/api/rentals/{reservation_id}/handout", tag = "rental",
    summary = "Hand the device to the customer",
    params(("reservation_id" = String, Path, description = "Reservation id")), request_body = HandOutRequest,
    responses((status = 200, body = RentalDto), (status = 404, body = ErrorBody),
        (status = 409, description = "illegal_transition", body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn hand_out(
    State(service): State<Arc<BoothService>>,
    caller: Caller,
    Path(reservation_id): Path<String>,
    Json(request): Json<HandOutRequest>,
) -> Result<Json<RentalDto>, ApiError> {
    kernel::http::record_correlation(&reservation_id);
    let rental = service
        .hand_out(
            &reservation_id,
            &request.device_serial,
            caller.claim(BOOTH_CLAIM),
        )
        .await
        .map_err(ApiError::from)?;
    Ok(Json(RentalDto::from(&rental)))
}

#[utoipa::path(post, path = "/api/rentals/{reservation_id}/collect", tag = "rental",
    summary = "Collect the returned device",
    params(("reservation_id" = String, Path, description = "Reservation id")),
    responses((status = 200, body = RentalDto), (status = 404, body = ErrorBody),
        (status = 409, description = "device_not_returned, illegal_transition", body = ErrorBody)),
    security(("bearer" = [])))]
async fn collect(
    State(service): State<Arc<BoothService>>,
    caller: Caller,
    Path(reservation_id): Path<String>,
) -> Result<Json<RentalDto>, ApiError> {
    kernel::http::record_correlation(&reservation_id);
    let rental = service
        .collect(&reservation_id, caller.claim(BOOTH_CLAIM))
        .await
        .map_err(ApiError::from)?;
    Ok(Json(RentalDto::from(&rental)))
}

/// The OpenAPI description of these routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(queue, one, hand_out, collect))]
pub(crate) struct ApiDoc;
