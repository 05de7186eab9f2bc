//! The booking REST API: the catalog (public), book, list, one, cancel. Requests parse into
//! domain values here; errors become stable `{code, message}` answers.

use crate::app::{BookCommand, BookError, BookingService};
use crate::domain::booking::{Booking, BookingError, Order};
use crate::domain::catalog::{self, CatalogError, MUSICALS, Seats};
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use kernel::http::{ApiError, Caller, ErrorBody, ErrorCode, IdempotencyKey, Json};
use payment_contracts::orders::{self, OrderApi};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;

/// The scoping claim of customers: a customer sees and acts on their own bookings only.
pub(crate) const CUSTOMER_CLAIM: &str = "customer";

/// The routes.
pub(crate) fn routes(service: Arc<BookingService>) -> Router {
    let bookings = OrderApi {
        base: "/api/bookings",
        plural: "bookings",
        claim: CUSTOMER_CLAIM,
        show: |b: &Booking| serde_json::to_value(BookingDto::from(b)).unwrap_or_default(),
        cancel: Booking::request_cancel,
    };
    Router::new()
        .route("/api/musicals", get(musicals))
        .route("/api/bookings", post(book))
        .with_state(service.clone())
        .merge(bookings.routes(service.checkout()))
}

/// The API document: these routes and the bookings' list, one and cancel.
pub(crate) fn openapi() -> utoipa::openapi::OpenApi {
    let cancel = "Cancel before the performance (a saga: payment refunds, delivery cancels)";
    let mut document = <ApiDoc as utoipa::OpenApi>::openapi();
    document.merge(orders::openapi(
        "/api/bookings",
        "booking",
        "BookingDto",
        cancel,
    ));
    document
}

/// `POST /api/bookings` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct BookRequest {
    /// Operators only (booking for a customer, e.g. by phone): whose booking. Ignored for
    /// customers, who book for themselves.
    #[serde(default)]
    pub customer_id: Option<String>,
    /// Catalog musical id.
    pub musical_id: String,
    /// One of its performances.
    pub performance_id: String,
    /// A seat grade of the performance (`VIP`, `R`, `S`).
    pub grade: String,
    /// 1 to 8 tickets.
    pub quantity: u32,
    /// Where the paper tickets go.
    pub delivery_address: String,
    /// A phone number for the delivery.
    pub phone: String,
    /// Card number, 12 to 19 digits.
    pub card_number: String,
}

fn invalid(code: &'static str, message: impl std::fmt::Display) -> BookError {
    BookError::invalid(code, message)
}

impl BookRequest {
    /// The command this request asks for, made by `customer_id` with `key`: catalog entries,
    /// address, phone and card checked here, at the edge (REST and gRPC alike).
    pub(crate) fn command(
        self,
        customer_id: &str,
        key: Option<String>,
    ) -> Result<BookCommand, BookError> {
        let seats = catalog::seats(&self.musical_id, &self.performance_id, &self.grade).map_err(
            |error| {
                let code = match error {
                    CatalogError::UnknownMusical(_) => "unknown_musical",
                    CatalogError::UnknownPerformance { .. } => "unknown_performance",
                    CatalogError::UnknownGrade { .. } => "unknown_grade",
                };
                invalid(code, error.to_string())
            },
        )?;
        let text =
            |value: &str, max: usize| !value.trim().is_empty() && value.chars().count() <= max;
        if !text(&self.delivery_address, 200) {
            return Err(invalid(
                "invalid_address",
                "deliveryAddress must be 1 to 200 characters",
            ));
        }
        let phone_ok = (8..=20).contains(&self.phone.len())
            && self
                .phone
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'-' || b == b'+');
        if !phone_ok {
            return Err(invalid(
                "invalid_phone",
                "phone must be 8 to 20 digits, '-' or '+'",
            ));
        }
        let digits = self.card_number.len();
        if !(12..=19).contains(&digits) || !self.card_number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(
                "invalid_card_number",
                "cardNumber must be 12 to 19 digits",
            ));
        }
        Ok(BookCommand {
            customer_id: customer_id.to_owned(),
            order: Order {
                seats,
                quantity: self.quantity,
                delivery_address: self.delivery_address,
                phone: self.phone,
            },
            card_number: self.card_number,
            idempotency_key: key,
        })
    }
}

/// A booking as the API shows it (without card, phone or address).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BookingDto {
    id: String,
    customer_id: String,
    #[schema(value_type = String)]
    musical_id: &'static str,
    #[schema(value_type = String)]
    performance_id: &'static str,
    #[schema(value_type = String)]
    grade: &'static str,
    quantity: u32,
    amount: i64,
    /// `PaymentPending`, `Booked`, `BookFailed`, `CancelRequested` or `Canceled`.
    #[schema(value_type = String)]
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure_reason: Option<String>,
    created_at: String,
}

impl From<&Booking> for BookingDto {
    fn from(b: &Booking) -> Self {
        let seats = &b.order.seats;
        Self {
            id: b.id.clone(),
            customer_id: b.customer_id.clone(),
            musical_id: seats.musical.id,
            performance_id: seats.performance.id,
            grade: seats.grade.grade,
            quantity: b.order.quantity,
            amount: b.order.amount(),
            status: b.status.as_str(),
            failure_reason: b.failure.clone(),
            created_at: b.created_at.format(&Rfc3339).unwrap_or_default(),
        }
    }
}

impl ErrorCode for BookingError {
    fn code(&self) -> &'static str {
        match self {
            BookingError::PerformanceStarted => "performance_started",
            BookingError::NotAllowed { .. } => "illegal_transition",
        }
    }
}

#[utoipa::path(post, path = "/api/bookings", tag = "booking",
    summary = "Book seats and pay for them (synchronously)",
    params(("Idempotency-Key" = Option<String>, Header, description = "Same key, same booking: makes retries safe")),
    request_body = BookRequest,
    responses(
        (status = 201, description = "Booked and paid", body = BookingDto),
        (status = 402, description = "Card declined: card_declined, insufficient_funds", body = ErrorBody),
        (status = 409, description = "sold_out, idempotency_key_used", body = ErrorBody),
        (status = 422, description = "Invalid request", body = ErrorBody),
        (status = 503, description = "payment_busy: try again after Retry-After", body = ErrorBody),
    ),
    security(("bearer" = [])))]
async fn book(
    State(service): State<Arc<BookingService>>,
    caller: Caller,
    IdempotencyKey(key): IdempotencyKey,
    Json(request): Json<BookRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let customer = caller
        .acting_for(CUSTOMER_CLAIM, request.customer_id.as_deref())?
        .to_owned();
    let command = request.command(&customer, key)?;
    let booking = service.book(command).await?;
    kernel::http::record_correlation(&booking.id);
    let location = format!("/api/bookings/{}", booking.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(BookingDto::from(&booking)),
    ))
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct GradeDto {
    #[schema(value_type = String)]
    grade: &'static str,
    price: i64,
    capacity: i64,
    available: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct PerformanceDto {
    #[schema(value_type = String)]
    id: &'static str,
    starts_at: String,
    grades: Vec<GradeDto>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct MusicalDto {
    #[schema(value_type = String)]
    id: &'static str,
    #[schema(value_type = String)]
    title_ko: &'static str,
    #[schema(value_type = String)]
    title_en: &'static str,
    #[schema(value_type = String)]
    venue: &'static str,
    performances: Vec<PerformanceDto>,
}

#[utoipa::path(get, path = "/api/musicals", tag = "booking",
    summary = "Musicals, performances (Asia/Seoul) and seat grades with seats left (public)",
    responses((status = 200, body = Vec<MusicalDto>)))]
async fn musicals(
    State(service): State<Arc<BookingService>>,
) -> Result<Json<Vec<MusicalDto>>, ApiError> {
    let mut out = Vec::new();
    for musical in MUSICALS {
        let mut performances = Vec::new();
        for performance in musical.performances {
            let mut grades = Vec::new();
            for grade in performance.grades {
                let seats = Seats {
                    musical,
                    performance,
                    grade,
                };
                grades.push(GradeDto {
                    grade: grade.grade,
                    price: grade.price,
                    capacity: grade.capacity,
                    available: service.available(&seats).await?,
                });
            }
            let starts_at = performance.starts_at.format(&Rfc3339).unwrap_or_default();
            performances.push(PerformanceDto {
                id: performance.id,
                starts_at,
                grades,
            });
        }
        out.push(MusicalDto {
            id: musical.id,
            title_ko: musical.title_ko,
            title_en: musical.title_en,
            venue: musical.venue,
            performances,
        });
    }
    Ok(Json(out))
}

/// The OpenAPI description of these routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(musicals, book))]
pub(crate) struct ApiDoc;
