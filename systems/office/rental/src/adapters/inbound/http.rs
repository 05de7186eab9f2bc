//! The rental REST API: rent, the caller's rentals, one, cancel, return; and the catalog replica.
//! Requests parse into domain values here; errors become stable `{code, message}` answers.

use crate::adapters::outbound::stored::{day, parse_day};
use crate::app::{RentCommand, RentError, RentalService};
use crate::domain::catalog::CatalogEntry;
use crate::domain::rental::{Period, Rental, RentalError};
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use kernel::http::{ApiError, Caller, ErrorBody, ErrorCode, IdempotencyKey, Json, Path};
use kernel::owned::{BY_OWNER, OwnedApi};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;

/// The scoping claim of customers: a customer sees and acts on their own rentals only.
pub(crate) const CUSTOMER_CLAIM: &str = "customer";

/// The routes.
pub(crate) fn routes(app: Arc<RentalService>) -> Router {
    Router::new()
        .route("/api/rentals", post(rent))
        .route("/api/rentals/catalog", get(catalog))
        .route("/api/rentals/{id}/cancel", post(cancel))
        .route("/api/rentals/{id}/return", post(give_back))
        .with_state(app.clone())
        .merge(RENTALS.routes(app.rentals()))
}

/// The customer's rentals: the list and one.
const RENTALS: OwnedApi<Rental> = OwnedApi {
    base: "/api/rentals",
    plural: "rentals",
    claim: CUSTOMER_CLAIM,
    index: BY_OWNER,
    owner: |r| r.customer_id.clone(),
    show: |r| serde_json::to_value(RentalDto::from(r)).unwrap_or_default(),
};

/// The API document: these routes and the rentals' list and one.
pub(crate) fn openapi() -> utoipa::openapi::OpenApi {
    let mut document = <ApiDoc as utoipa::OpenApi>::openapi();
    document.merge(RENTALS.openapi("rental", "RentalDto"));
    document
}

/// `POST /api/rentals` body. Name and rate come from rental's catalog replica, never from here.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RentRequest {
    /// Operators only (a rental taken by phone): whose rental. Ignored for customers.
    #[serde(default)]
    pub customer_id: Option<String>,
    /// A product of the catalog.
    pub product_id: String,
    /// 1 to 100 units.
    #[schema(minimum = 1, maximum = 100)]
    pub qty: u32,
    /// First day, `YYYY-MM-DD` (Asia/Seoul), today or later.
    #[schema(pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub from: String,
    /// Last day, included; at most 365 days in all.
    #[schema(pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub to: String,
}

impl RentRequest {
    /// The command this request asks for, made by `customer_id` with `key`: the dates parsed
    /// here, at the edge (REST and gRPC alike).
    pub(crate) fn command(
        self,
        customer_id: &str,
        key: Option<String>,
    ) -> Result<RentCommand, ApiError> {
        let date = |value: &str| {
            parse_day(value).ok_or_else(|| {
                let message = format!("{value:?} is not a date (YYYY-MM-DD)");
                ApiError::unprocessable("invalid_date", message)
            })
        };
        Ok(RentCommand {
            customer_id: customer_id.to_owned(),
            product_id: self.product_id,
            qty: self.qty,
            period: Period {
                from: date(&self.from)?,
                to: date(&self.to)?,
            },
            idempotency_key: key,
        })
    }
}

/// A rental as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RentalDto {
    id: String,
    customer_id: String,
    product_id: String,
    product_name: String,
    /// KRW a day.
    daily_rate: i64,
    qty: u32,
    from: String,
    to: String,
    days: i64,
    /// KRW: daily rate × qty × days.
    amount: i64,
    /// `Ordered`, `Scheduled`, `Delivered`, `ReturnRequested`, `Completed` or `Canceled`.
    #[schema(value_type = String)]
    status: &'static str,
    /// `out_of_stock` or `customer`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    cancel_reason: Option<&'static str>,
    version: u64,
    created_at: String,
}

impl From<&Rental> for RentalDto {
    fn from(r: &Rental) -> Self {
        Self {
            id: r.id.clone(),
            customer_id: r.customer_id.clone(),
            product_id: r.item.product_id.clone(),
            product_name: r.item.product_name.clone(),
            daily_rate: r.item.daily_rate,
            qty: r.item.qty,
            from: day(r.period.from),
            to: day(r.period.to),
            days: r.period.days(),
            amount: r.amount(),
            status: r.status.as_str(),
            cancel_reason: r.cancel_reason,
            version: r.version,
            created_at: r.created_at.format(&Rfc3339).unwrap_or_default(),
        }
    }
}

/// A product of rental's catalog replica.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CatalogEntryDto {
    product_id: String,
    name: String,
    daily_rate: i64,
}

impl From<&CatalogEntry> for CatalogEntryDto {
    fn from(e: &CatalogEntry) -> Self {
        Self {
            product_id: e.id.clone(),
            name: e.name.clone(),
            daily_rate: e.daily_rate,
        }
    }
}

impl ErrorCode for RentalError {
    fn code(&self) -> &'static str {
        match self {
            Self::InvalidQty => "invalid_qty",
            Self::InvalidPeriod => "invalid_period",
            Self::AlreadyDelivered => "already_delivered",
            Self::NotDelivered => "not_delivered",
            Self::Canceled => "rental_canceled",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::InvalidQty | Self::InvalidPeriod => StatusCode::UNPROCESSABLE_ENTITY,
            _ => StatusCode::CONFLICT,
        }
    }
}

impl From<RentError> for ApiError {
    fn from(error: RentError) -> Self {
        let message = error.to_string();
        match error {
            RentError::UnknownProduct(_) => ApiError::unprocessable("unknown_product", message),
            RentError::DeliveryBusy { retry_after } => {
                ApiError::unavailable("delivery_busy", message, retry_after.as_secs())
            }
            RentError::Refused(code) => ApiError::new(StatusCode::CONFLICT, code, message),
            RentError::Change(change) => change.into(),
        }
    }
}

#[utoipa::path(post, path = "/api/rentals", tag = "rental",
    summary = "Rent a product (렌탈 주문): delivery reserves the stock or finds it out of stock",
    params(("Idempotency-Key" = Option<String>, Header, description = "Same key, same rental: makes retries safe")),
    request_body = RentRequest,
    responses(
        (status = 201, description = "Ordered", body = RentalDto),
        (status = 403, description = "customers_only", body = ErrorBody),
        (status = 422, description = "unknown_product, invalid_qty, invalid_period, invalid_date, unknown field", body = ErrorBody),
    ),
    security(("bearer" = [])))]
async fn rent(
    State(app): State<Arc<RentalService>>,
    caller: Caller,
    IdempotencyKey(key): IdempotencyKey,
    Json(request): Json<RentRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let customer = caller
        .acting_for(CUSTOMER_CLAIM, request.customer_id.as_deref())?
        .to_owned();
    let command = request.command(&customer, key)?;
    let rental = app.rent(command).await?;
    kernel::http::record_correlation(&rental.id);
    let location = format!("/api/rentals/{}", rental.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(RentalDto::from(&rental)),
    ))
}

#[utoipa::path(post, path = "/api/rentals/{id}/cancel", tag = "rental",
    summary = "Cancel before delivery: delivery cancels first (synchronously) and restores the stock",
    params(("id" = String, Path, description = "Rental id")),
    responses((status = 200, description = "Canceled", body = RentalDto), (status = 404, body = ErrorBody),
        (status = 409, description = "already_delivered: return it instead", body = ErrorBody),
        (status = 503, description = "delivery_busy: the rental is unchanged; retry after Retry-After", body = ErrorBody)),
    security(("bearer" = [])))]
async fn cancel(
    State(app): State<Arc<RentalService>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<RentalDto>, ApiError> {
    kernel::http::record_correlation(&id);
    let rental = app.cancel(&id, caller.claim(CUSTOMER_CLAIM)).await?;
    Ok(Json(RentalDto::from(&rental)))
}

#[utoipa::path(post, path = "/api/rentals/{id}/return", tag = "rental",
    summary = "Return delivered products: the delivery team collects them and the stock comes back",
    params(("id" = String, Path, description = "Rental id")),
    responses((status = 200, body = RentalDto), (status = 404, body = ErrorBody),
        (status = 409, description = "not_delivered, rental_canceled", body = ErrorBody)),
    security(("bearer" = [])))]
async fn give_back(
    State(app): State<Arc<RentalService>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<RentalDto>, ApiError> {
    kernel::http::record_correlation(&id);
    let rental = app
        .request_return(&id, caller.claim(CUSTOMER_CLAIM))
        .await?;
    Ok(Json(RentalDto::from(&rental)))
}

#[utoipa::path(get, path = "/api/rentals/catalog", tag = "rental",
    summary = "Rental's replica of the catalog (rebuilt from the stream by msa replay)",
    responses((status = 200, body = Vec<CatalogEntryDto>)),
    security(("bearer" = [])))]
async fn catalog(
    State(app): State<Arc<RentalService>>,
) -> Result<Json<Vec<CatalogEntryDto>>, ApiError> {
    let entries = app.catalog().entries().await?;
    Ok(Json(entries.iter().map(CatalogEntryDto::from).collect()))
}

/// The OpenAPI description of these routes.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(rent, cancel, give_back, catalog),
    components(schemas(RentalDto, CatalogEntryDto))
)]
pub(crate) struct ApiDoc;
