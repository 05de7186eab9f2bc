//! The order REST API: the menu (public), order, list, one, cancel. Requests parse into domain
//! values here; errors become stable `{code, message}` answers.

use crate::app::{OrderCommand, OrderService};
use crate::domain::menu::{self, MENU};
use crate::domain::order::{DrinkOrder, NotAllowed};
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use kernel::http::{ApiError, Caller, ErrorBody, ErrorCode, IdempotencyKey, Json};
use payment_contracts::checkout::OrderError;
use payment_contracts::orders::{self, OrderApi};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;

/// The scoping claim of customers: a customer sees and acts on their own orders only.
pub(crate) const CUSTOMER_CLAIM: &str = "customer";

/// The routes.
pub(crate) fn routes(service: Arc<OrderService>) -> Router {
    let orders = OrderApi {
        base: "/api/orders",
        plural: "orders",
        claim: CUSTOMER_CLAIM,
        show: |o: &DrinkOrder| serde_json::to_value(OrderDto::from(o)).unwrap_or_default(),
        cancel: |o, _| o.request_cancel(),
    };
    Router::new()
        .route("/api/menu", get(menu_page))
        .route("/api/orders", post(order))
        .with_state(service.clone())
        .merge(orders.routes(service.checkout()))
}

/// The API document: these routes and the orders' list, one and cancel.
pub(crate) fn openapi() -> utoipa::openapi::OpenApi {
    let cancel = "Cancel (a saga: the drink canceled unless the barista accepted it, then the payment refunded)";
    let mut document = <ApiDoc as utoipa::OpenApi>::openapi();
    document.merge(orders::openapi("/api/orders", "order", "OrderDto", cancel));
    document
}

/// `POST /api/orders` body. The amount is the menu's: a client-sent `amt` is an unknown field.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct OrderRequest {
    /// Operators only (an order taken at the counter): whose order. Ignored for customers.
    #[serde(default)]
    pub customer_id: Option<String>,
    /// A drink of the menu (`americano`).
    pub drink_id: String,
    /// 1 to 20 cups.
    #[schema(minimum = 1, maximum = 20)]
    pub qty: u32,
    /// Card number, 12 to 19 digits.
    #[schema(pattern = "^[0-9]{12,19}$")]
    pub card_number: String,
}

impl OrderRequest {
    /// The command this request asks for, made by `customer_id` with `key`: the drink and the
    /// card checked here, at the edge (REST and gRPC alike).
    pub(crate) fn command(
        self,
        customer_id: &str,
        key: Option<String>,
    ) -> Result<OrderCommand, OrderError> {
        let drink = menu::drink(&self.drink_id).ok_or_else(|| {
            let message = format!("{} is not on the menu (GET /api/menu)", self.drink_id);
            OrderError::invalid("unknown_drink", message)
        })?;
        let digits = self.card_number.len();
        if !(12..=19).contains(&digits) || !self.card_number.bytes().all(|b| b.is_ascii_digit()) {
            let message = "cardNumber must be 12 to 19 digits";
            return Err(OrderError::invalid("invalid_card_number", message));
        }
        Ok(OrderCommand {
            customer_id: customer_id.to_owned(),
            drink,
            qty: self.qty,
            card_number: self.card_number,
            idempotency_key: key,
        })
    }
}

/// An order as the API shows it (without the card).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrderDto {
    id: String,
    customer_id: String,
    #[schema(value_type = String)]
    drink_id: &'static str,
    #[schema(value_type = String)]
    drink_name: &'static str,
    qty: u32,
    /// KRW, from the menu.
    amount: i64,
    /// `PaymentPending`, `Ordered`, `OrderFailed`, `CancelRequested` or `Canceled`.
    #[schema(value_type = String)]
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    paid_at: Option<String>,
    created_at: String,
}

impl From<&DrinkOrder> for OrderDto {
    fn from(o: &DrinkOrder) -> Self {
        let time = |t: &time::OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
        Self {
            id: o.id.clone(),
            customer_id: o.customer_id.clone(),
            drink_id: o.drink.id,
            drink_name: o.drink.name_ko,
            qty: o.qty,
            amount: o.amount(),
            status: o.status.as_str(),
            failure_reason: o.failure.clone(),
            paid_at: o.payment.as_ref().map(|(_, at)| time(at)),
            created_at: time(&o.created_at),
        }
    }
}

impl ErrorCode for NotAllowed {
    fn code(&self) -> &'static str {
        "illegal_transition"
    }
}

#[utoipa::path(post, path = "/api/orders", tag = "order",
    summary = "Order a drink and pay for it (synchronously)",
    params(("Idempotency-Key" = Option<String>, Header, description = "Same key, same order: makes retries safe")),
    request_body = OrderRequest,
    responses(
        (status = 201, description = "Ordered and paid", body = OrderDto),
        (status = 402, description = "Card declined: card_declined, insufficient_funds", body = ErrorBody),
        (status = 409, description = "idempotency_key_used", body = ErrorBody),
        (status = 422, description = "Invalid request: unknown_drink, invalid_qty, invalid_card_number, unknown field (amt)", body = ErrorBody),
        (status = 503, description = "payment_busy: try again after Retry-After", body = ErrorBody),
    ),
    security(("bearer" = [])))]
async fn order(
    State(service): State<Arc<OrderService>>,
    caller: Caller,
    IdempotencyKey(key): IdempotencyKey,
    Json(request): Json<OrderRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let customer = caller
        .acting_for(CUSTOMER_CLAIM, request.customer_id.as_deref())?
        .to_owned();
    let command = request.command(&customer, key)?;
    let order = service.order(command).await?;
    kernel::http::record_correlation(&order.id);
    let location = format!("/api/orders/{}", order.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(OrderDto::from(&order)),
    ))
}

/// A drink of the menu.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct DrinkDto {
    #[schema(value_type = String)]
    id: &'static str,
    #[schema(value_type = String)]
    name_ko: &'static str,
    #[schema(value_type = String)]
    name_en: &'static str,
    /// KRW per cup.
    price: i64,
}

#[utoipa::path(get, path = "/api/menu", tag = "order",
    summary = "The menu: drinks and prices in KRW (public)",
    responses((status = 200, body = Vec<DrinkDto>)))]
async fn menu_page() -> Json<Vec<DrinkDto>> {
    Json(
        MENU.iter()
            .map(|d| DrinkDto {
                id: d.id,
                name_ko: d.name_ko,
                name_en: d.name_en,
                price: d.price,
            })
            .collect(),
    )
}

/// The OpenAPI description of these routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(menu_page, order))]
pub(crate) struct ApiDoc;
