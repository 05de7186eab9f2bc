//! The payment REST API, with fault injection (added latency, error rate) for breaker drills.

use crate::app::{PayCommand, PayError, PaymentService};
use crate::domain::payment::Payment;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use kernel::http::{ApiError, ErrorBody, Json, Path};
use roaming_contracts::payment_api::{PaymentRequest, PaymentView, codes};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Faults injected into `POST /api/payments`: an error rate (answered 503 before anything is
/// charged) and a latency added after the payment is stored (so a caller's deadline can expire
/// on a payment that did happen — the case reconciliation exists for).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct Faults {
    /// Added latency in milliseconds.
    pub latency_ms: u64,
    /// Share of requests (0..=1) failed with 503.
    pub error_rate: f64,
}

#[derive(Clone)]
struct ApiState {
    service: Arc<PaymentService>,
    faults: Arc<RwLock<Faults>>,
}

/// The routes; `faults` can be changed at run time through `PUT /admin/faults`.
pub fn routes(service: Arc<PaymentService>, faults: Faults) -> Router {
    let state = ApiState {
        service,
        faults: Arc::new(RwLock::new(faults)),
    };
    Router::new()
        .route("/api/payments", post(pay))
        .route(
            "/api/payments/by-reservation/{reservation_id}",
            get(by_reservation),
        )
        .route(
            "/api/payments/by-reservation/{reservation_id}/void",
            post(void),
        )
        .route("/admin/faults", put(set_faults).get(get_faults))
        .with_state(state)
}

fn view(payment: &Payment) -> PaymentView {
    PaymentView {
        payment_id: payment.id.clone(),
        reservation_id: payment.reservation_id.clone(),
        status: payment.status.as_str().to_owned(),
        amount: payment.amount,
        decline_reason: payment.decline_reason.clone(),
    }
}

impl From<PayError> for ApiError {
    fn from(error: PayError) -> Self {
        match error {
            PayError::Invalid { code, message } => ApiError::unprocessable(code, message),
            PayError::Declined(code) => ApiError::new(
                StatusCode::PAYMENT_REQUIRED,
                code.clone(),
                format!("the card was declined ({code})"),
            ),
            PayError::Voided => ApiError::conflict(codes::PAYMENT_VOIDED, error.to_string()),
            PayError::Refunded => ApiError::conflict("payment_refunded", error.to_string()),
            PayError::AmountMismatch(_) => {
                ApiError::conflict("idempotency_conflict", error.to_string())
            }
            PayError::Unknown(error) => ApiError::internal(error),
        }
    }
}

#[utoipa::path(post, path = "/api/payments", tag = "payment",
    summary = "Take a payment (idempotent by reservation id)",
    request_body = PaymentRequest,
    responses((status = 201, description = "Approved", body = PaymentView),
        (status = 402, description = "card_declined, insufficient_funds", body = ErrorBody),
        (status = 409, description = "payment_voided, payment_refunded, idempotency_conflict", body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, description = "injected_fault", body = ErrorBody)),
    security(("bearer" = [])))]
async fn pay(
    State(state): State<ApiState>,
    Json(request): Json<PaymentRequest>,
) -> Result<impl IntoResponse, ApiError> {
    kernel::http::record_correlation(&request.reservation_id);
    let faults = state.faults.read().expect("faults lock").clone();
    if faults.error_rate > 0.0 && fastrand::f64() < faults.error_rate {
        return Err(ApiError::unavailable(
            "injected_fault",
            "payment is failing on purpose (fault injection)",
            1,
        ));
    }
    let result = state
        .service
        .pay(PayCommand {
            reservation_id: request.reservation_id,
            customer_id: request.customer_id,
            amount: request.amount,
            card_number: request.card_number,
        })
        .await;
    if faults.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.latency_ms)).await;
    }
    let payment = result.map_err(ApiError::from)?;
    Ok((StatusCode::CREATED, Json(view(&payment))))
}

#[utoipa::path(get, path = "/api/payments/by-reservation/{reservation_id}", tag = "payment",
    summary = "The payment of a reservation",
    params(("reservation_id" = String, Path, description = "Reservation id")),
    responses((status = 200, body = PaymentView), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn by_reservation(
    State(state): State<ApiState>,
    Path(reservation_id): Path<String>,
) -> Result<Json<PaymentView>, ApiError> {
    kernel::http::record_correlation(&reservation_id);
    match state.service.by_reservation(&reservation_id).await? {
        Some(payment) => Ok(Json(view(&payment))),
        None => Err(ApiError::not_found(
            "payment_not_found",
            format!("no payment for reservation {reservation_id}"),
        )),
    }
}

#[utoipa::path(post, path = "/api/payments/by-reservation/{reservation_id}/void", tag = "payment",
    summary = "Make sure a reservation is never charged (refund or tombstone)",
    params(("reservation_id" = String, Path, description = "Reservation id")),
    responses((status = 200, body = PaymentView), (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
async fn void(
    State(state): State<ApiState>,
    Path(reservation_id): Path<String>,
) -> Result<Json<PaymentView>, ApiError> {
    kernel::http::record_correlation(&reservation_id);
    if reservation_id.is_empty() || reservation_id.len() > 64 {
        return Err(ApiError::bad_request(
            "invalid_reservation_id",
            "reservation id must be 1 to 64 characters",
        ));
    }
    Ok(Json(view(&state.service.void(&reservation_id).await?)))
}

async fn set_faults(
    State(state): State<ApiState>,
    Json(faults): Json<Faults>,
) -> Result<Json<Faults>, ApiError> {
    if !(0.0..=1.0).contains(&faults.error_rate) {
        return Err(ApiError::unprocessable(
            "invalid_error_rate",
            "errorRate must be between 0 and 1",
        ));
    }
    tracing::warn!(
        latency_ms = faults.latency_ms,
        error_rate = faults.error_rate,
        "fault injection changed"
    );
    *state.faults.write().expect("faults lock") = faults.clone();
    Ok(Json(faults))
}

async fn get_faults(State(state): State<ApiState>) -> Json<Faults> {
    Json(state.faults.read().expect("faults lock").clone())
}

/// The OpenAPI description of these routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(pay, by_reservation, void))]
pub struct ApiDoc;
