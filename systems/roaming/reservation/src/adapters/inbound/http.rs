//! The reservation REST API. Request bodies convert to commands here; domain errors become
//! stable `{code, message}` answers.

use crate::app::{Choice, ReservationService, ReserveCommand, ReserveError, invalid, value_error};
use crate::domain::catalog;
use crate::domain::reservation::{Reservation, ReservationError};
use crate::domain::values::{CustomerId, IdempotencyKey, format_date, parse_date};
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use kernel::http::{
    ApiError, Caller, ErrorBody, ErrorCode, IdempotencyKey as KeyHeader, Json, Path, Query,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;

/// The scoping claim of customers: when present, a customer only sees and acts on their own
/// reservations.
pub(crate) const CUSTOMER_CLAIM: &str = "customer";

/// The routes.
pub(crate) fn routes(service: Arc<ReservationService>) -> Router {
    Router::new()
        .route("/api/catalog", get(catalog_page))
        .route("/api/reservations", post(reserve).get(list))
        .route("/api/reservations/{id}", get(one))
        .route("/api/reservations/{id}/cancel", post(cancel))
        .route("/api/reservations/{id}/return", post(return_device))
        .with_state(service)
}

/// `POST /api/reservations` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ReserveRequest {
    /// Who reserves (ignored in favour of the authenticated customer behind the gateway).
    pub customer_id: Option<String>,
    /// Catalog device model id.
    pub device_model: String,
    /// ISO country code.
    pub country: String,
    /// `YYYY-MM-DD`.
    #[schema(pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub rental_date: String,
    /// `YYYY-MM-DD`.
    #[schema(pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub return_date: String,
    /// Booth code.
    pub booth: String,
    /// Card number, 12 to 19 digits.
    #[schema(pattern = "^[0-9]{12,19}$")]
    pub card_number: String,
}

impl ReserveRequest {
    /// The command this request asks for, made by `customer_id` with `key`: catalog entries,
    /// days, card number and key parsed here, at the edge (REST and gRPC alike).
    pub(crate) fn command(
        self,
        customer_id: &str,
        key: Option<&str>,
    ) -> Result<ReserveCommand, ReserveError> {
        let unknown = |code, what: &str, value: &str| invalid(code, format!("no {what} {value:?}"));
        let choice = Choice {
            device_model: catalog::device_model(&self.device_model).ok_or_else(|| {
                unknown(
                    "unknown_device_model",
                    "device model in the catalog",
                    &self.device_model,
                )
            })?,
            country: catalog::country(&self.country)
                .ok_or_else(|| unknown("unknown_country", "roaming to country", &self.country))?,
            booth: catalog::booth(&self.booth)
                .ok_or_else(|| unknown("unknown_booth", "booth", &self.booth))?,
        };
        let digits = self.card_number.len();
        if !(12..=19).contains(&digits) || !self.card_number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(
                "invalid_card_number",
                "cardNumber must be 12 to 19 digits",
            ));
        }
        Ok(ReserveCommand {
            customer: CustomerId::parse(customer_id).map_err(value_error)?,
            choice,
            days: (
                parse_date(&self.rental_date, "rentalDate").map_err(value_error)?,
                parse_date(&self.return_date, "returnDate").map_err(value_error)?,
            ),
            card_number: self.card_number,
            idempotency_key: key
                .map(IdempotencyKey::parse)
                .transpose()
                .map_err(value_error)?,
        })
    }
}

/// A reservation as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReservationDto {
    id: String,
    customer_id: String,
    device_model: String,
    country: String,
    rental_date: String,
    return_date: String,
    booth: String,
    amount: i64,
    /// `PaymentPending`, `Reserved`, `ReserveFailed`, `CancelRequested`, `Canceled`, `HandedOut`,
    /// `Returned` or `Completed`.
    #[schema(value_type = String)]
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    payment_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cancel_refused_reason: Option<String>,
    handed_out: bool,
    created_at: String,
    updated_at: String,
}

impl From<&Reservation> for ReservationDto {
    fn from(r: &Reservation) -> Self {
        Self {
            id: r.id.clone(),
            customer_id: r.customer.as_str().to_owned(),
            device_model: r.terms.device_model.id.to_owned(),
            country: r.terms.country.code.to_owned(),
            rental_date: format_date(r.terms.period.rental_date()),
            return_date: format_date(r.terms.period.return_date()),
            booth: r.terms.booth.code.to_owned(),
            amount: r.terms.amount.value(),
            status: r.status.as_str(),
            payment_id: r.payment_id.clone(),
            failure_reason: r.failure.as_ref().map(|f| f.code().to_owned()),
            cancel_refused_reason: r.cancel_refused_reason.clone(),
            handed_out: r.handed_out,
            created_at: r.created_at.format(&Rfc3339).unwrap_or_default(),
            updated_at: r.updated_at.format(&Rfc3339).unwrap_or_default(),
        }
    }
}

impl ErrorCode for ReservationError {
    fn code(&self) -> &'static str {
        match self {
            ReservationError::AlreadyHandedOut => "already_handed_out",
            ReservationError::NotHandedOut => "not_handed_out",
            ReservationError::NotAllowed { .. } => "illegal_transition",
        }
    }
}

#[utoipa::path(post, path = "/api/reservations", tag = "reservation",
    summary = "Reserve a device and pay for it (synchronously)",
    params(("Idempotency-Key" = Option<String>, Header, description = "Same key, same reservation: makes retries safe")),
    request_body = ReserveRequest,
    responses(
        (status = 201, description = "Reserved and paid", body = ReservationDto),
        (status = 402, description = "Card declined: card_declined, insufficient_funds", body = ErrorBody),
        (status = 409, description = "idempotency_key_used", body = ErrorBody),
        (status = 422, description = "Invalid request", body = ErrorBody),
        (status = 503, description = "payment_busy: try again after Retry-After", body = ErrorBody),
    ),
    security(("bearer" = [])))]
async fn reserve(
    State(service): State<Arc<ReservationService>>,
    caller: Caller,
    KeyHeader(key): KeyHeader,
    Json(request): Json<ReserveRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let customer_id = caller
        .claim(CUSTOMER_CLAIM)
        .map(str::to_owned)
        .or_else(|| request.customer_id.clone())
        .ok_or_else(|| ApiError::unprocessable("invalid_body", "customerId is required"))?;
    let command = request.command(&customer_id, key.as_deref())?;
    let reservation = service.reserve(command).await?;
    kernel::http::record_correlation(&reservation.id);
    let location = format!("/api/reservations/{}", reservation.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(ReservationDto::from(&reservation)),
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Whose reservations (operators; a customer's token names them). Checked whoever sends it.
    #[param(pattern = "^[A-Za-z0-9._@-]{1,64}$")]
    customer_id: Option<String>,
}

#[utoipa::path(get, path = "/api/reservations", tag = "reservation",
    summary = "A customer's reservations, newest first",
    params(ListQuery),
    responses((status = 200, body = Vec<ReservationDto>), (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list(
    State(service): State<Arc<ReservationService>>,
    caller: Caller,
    Query(query): Query<ListQuery>,
) -> Result<Json<Vec<ReservationDto>>, ApiError> {
    if let Some(named) = &query.customer_id {
        // A malformed query is a 400, as the kernel's extractors answer one.
        CustomerId::parse(named).map_err(|_| {
            ApiError::bad_request(
                "invalid_customer_id",
                "customerId is 1 to 64 letters, digits or ._@-",
            )
        })?;
    }
    let customer = caller
        .claim(CUSTOMER_CLAIM)
        .map(str::to_owned)
        .or(query.customer_id)
        .ok_or_else(|| ApiError::bad_request("missing_customer_id", "give ?customerId=..."))?;
    let reservations = service.list(&customer).await.map_err(ApiError::from)?;
    Ok(Json(
        reservations.iter().map(ReservationDto::from).collect(),
    ))
}

#[utoipa::path(get, path = "/api/reservations/{id}", tag = "reservation",
    summary = "One reservation",
    params(("id" = String, Path, description = "Reservation id")),
    responses((status = 200, body = ReservationDto), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn one(
    State(service): State<Arc<ReservationService>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ReservationDto>, ApiError> {
    kernel::http::record_correlation(&id);
    let reservation = service
        .get(&id, caller.claim(CUSTOMER_CLAIM))
        .await
        .map_err(ApiError::from)?;
    Ok(Json(ReservationDto::from(&reservation)))
}

#[utoipa::path(post, path = "/api/reservations/{id}/cancel", tag = "reservation",
    summary = "Cancel (a saga: the booth decides, payment refunds)",
    params(("id" = String, Path, description = "Reservation id")),
    responses((status = 202, description = "CancelRequested", body = ReservationDto),
        (status = 404, body = ErrorBody), (status = 409, description = "already_handed_out, illegal_transition", body = ErrorBody)),
    security(("bearer" = [])))]
async fn cancel(
    State(service): State<Arc<ReservationService>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    kernel::http::record_correlation(&id);
    let reservation = service
        .cancel(&id, caller.claim(CUSTOMER_CLAIM))
        .await
        .map_err(ApiError::from)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(ReservationDto::from(&reservation)),
    ))
}

#[utoipa::path(post, path = "/api/reservations/{id}/return", tag = "reservation",
    summary = "Return the device at the booth",
    params(("id" = String, Path, description = "Reservation id")),
    responses((status = 200, description = "Returned", body = ReservationDto),
        (status = 404, body = ErrorBody), (status = 409, description = "not_handed_out, illegal_transition", body = ErrorBody)),
    security(("bearer" = [])))]
async fn return_device(
    State(service): State<Arc<ReservationService>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ReservationDto>, ApiError> {
    kernel::http::record_correlation(&id);
    let reservation = service
        .return_device(&id, caller.claim(CUSTOMER_CLAIM))
        .await
        .map_err(ApiError::from)?;
    Ok(Json(ReservationDto::from(&reservation)))
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct CatalogEntry {
    #[schema(value_type = String)]
    id: &'static str,
    #[schema(value_type = String)]
    name_en: &'static str,
    #[schema(value_type = String)]
    name_ko: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    daily_rate: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct CatalogPage {
    device_models: Vec<CatalogEntry>,
    countries: Vec<CatalogEntry>,
    booths: Vec<CatalogEntry>,
    max_rental_days: i64,
    #[schema(value_type = String)]
    currency: &'static str,
}

#[utoipa::path(get, path = "/api/catalog", tag = "reservation",
    summary = "Device models with daily rates, countries and booths (public)",
    responses((status = 200, body = CatalogPage)))]
async fn catalog_page() -> Json<CatalogPage> {
    Json(CatalogPage {
        device_models: catalog::DEVICE_MODELS
            .iter()
            .map(|d| CatalogEntry {
                id: d.id,
                name_en: d.name_en,
                name_ko: d.name_ko,
                daily_rate: Some(d.daily_rate.value()),
            })
            .collect(),
        countries: catalog::COUNTRIES
            .iter()
            .map(|c| CatalogEntry {
                id: c.code,
                name_en: c.name_en,
                name_ko: c.name_ko,
                daily_rate: None,
            })
            .collect(),
        booths: catalog::BOOTHS
            .iter()
            .map(|b| CatalogEntry {
                id: b.code,
                name_en: b.name_en,
                name_ko: b.name_ko,
                daily_rate: None,
            })
            .collect(),
        max_rental_days: crate::domain::values::MAX_RENTAL_DAYS,
        currency: "KRW",
    })
}

/// The OpenAPI description of these routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(reserve, list, one, cancel, return_device, catalog_page))]
pub(crate) struct ApiDoc;
