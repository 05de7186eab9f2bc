//! The payment REST API (fault injection for breaker drills is the kernel's, on every service).

use crate::app::{PayCommand, PayError, PaymentService};
use crate::domain::payment::Payment;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use kernel::http::{ApiError, ErrorBody, Json, Path};
use payment_contracts::api::{PaymentRequest, PaymentView, codes};
use std::sync::Arc;

/// The routes.
pub(crate) fn routes(service: Arc<PaymentService>) -> Router {
    Router::new()
        .route("/api/payments", post(pay))
        .route("/api/payments/by-order/{order_id}", get(by_order))
        .route("/api/payments/by-order/{order_id}/void", post(void))
        .with_state(service)
}

fn view(payment: &Payment) -> PaymentView {
    PaymentView {
        payment_id: payment.id.clone(),
        order_id: payment.order_id.clone(),
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
    summary = "Take a payment (idempotent by order id)",
    request_body = PaymentRequest,
    responses((status = 201, description = "Approved", body = PaymentView),
        (status = 402, description = "card_declined, insufficient_funds", body = ErrorBody),
        (status = 409, description = "payment_voided, payment_refunded, idempotency_conflict", body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, description = "injected_fault", body = ErrorBody)),
    security(("bearer" = [])))]
async fn pay(
    State(service): State<Arc<PaymentService>>,
    Json(request): Json<PaymentRequest>,
) -> Result<impl IntoResponse, ApiError> {
    kernel::http::record_correlation(&request.order_id);
    let payment = service
        .pay(PayCommand {
            order_id: request.order_id,
            customer_id: request.customer_id,
            amount: request.amount,
            card_number: request.card_number,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(view(&payment))))
}

#[utoipa::path(get, path = "/api/payments/by-order/{order_id}", tag = "payment",
    summary = "The payment of an order",
    params(("order_id" = String, Path, description = "Order reference")),
    responses((status = 200, body = PaymentView), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn by_order(
    State(service): State<Arc<PaymentService>>,
    Path(order_id): Path<String>,
) -> Result<Json<PaymentView>, ApiError> {
    kernel::http::record_correlation(&order_id);
    match service.by_order(&order_id).await? {
        Some(payment) => Ok(Json(view(&payment))),
        None => Err(ApiError::not_found(
            "payment_not_found",
            format!("no payment for order {order_id}"),
        )),
    }
}

#[utoipa::path(post, path = "/api/payments/by-order/{order_id}/void", tag = "payment",
    summary = "Make sure an order is never charged (refund or tombstone)",
    params(("order_id" = String, Path, description = "Order reference")),
    responses((status = 200, body = PaymentView), (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
async fn void(
    State(service): State<Arc<PaymentService>>,
    Path(order_id): Path<String>,
) -> Result<Json<PaymentView>, ApiError> {
    kernel::http::record_correlation(&order_id);
    if order_id.is_empty() || order_id.len() > 64 {
        return Err(ApiError::bad_request(
            "invalid_order_id",
            "order reference must be 1 to 64 characters",
        ));
    }
    Ok(Json(view(&service.void(&order_id, None).await?)))
}

/// The OpenAPI description of these routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(pay, by_order, void))]
pub(crate) struct ApiDoc;
