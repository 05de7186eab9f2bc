//! The sales REST API: a month's cumulative amount and the sales page (the ledger). A customer
//! sees their own; an admin sees every customer and the shop's total.

use crate::app::{SaleService, month_of};
use crate::domain::sales::MonthlySales;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use kernel::http::{ApiError, Caller, ErrorBody, Json, Query};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The scoping claim of customers.
pub(crate) const CUSTOMER_CLAIM: &str = "customer";

/// The routes.
pub(crate) fn routes(app: Arc<SaleService>) -> Router {
    Router::new()
        .route("/api/sales", get(totals))
        .route("/api/sales/ledger", get(ledger))
        .with_state(app)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct MonthQuery {
    /// `YYYY-MM` (Asia/Seoul); this month when absent.
    #[param(pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$")]
    month: Option<String>,
}

impl MonthQuery {
    fn month(&self) -> Result<String, ApiError> {
        let Some(month) = &self.month else {
            return Ok(month_of(kernel::clock::now()));
        };
        let b = month.as_bytes();
        let valid = b.len() == 7
            && b[4] == b'-'
            && b[..4].iter().chain(&b[5..]).all(u8::is_ascii_digit)
            && (1..=12).contains(&month[5..].parse::<u8>().unwrap_or(0));
        if valid {
            Ok(month.clone())
        } else {
            Err(ApiError::bad_request("invalid_month", "month is YYYY-MM"))
        }
    }
}

/// A customer's cumulative amount of a month.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct CustomerTotal {
    customer_id: String,
    /// KRW.
    total: i64,
}

/// A month's cumulative amount: the caller's, or for an admin the shop's with every customer's.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct Totals {
    month: String,
    /// KRW.
    total: i64,
    /// Admin only: every customer's total, largest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    customers: Option<Vec<CustomerTotal>>,
}

/// Whose sales the caller reads: a customer's own, or all (an admin, or a direct call).
enum Reader<'a> {
    Customer(&'a str),
    Shop,
}

fn reader(caller: &Caller) -> Result<Reader<'_>, ApiError> {
    match caller.claim(CUSTOMER_CLAIM) {
        Some(customer) => Ok(Reader::Customer(customer)),
        None if caller.has_role("admin") || caller.subject().is_none() => Ok(Reader::Shop),
        None => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "customers_only",
            "sales are shown to their customer and to admins",
        )),
    }
}

#[utoipa::path(get, path = "/api/sales", tag = "sale",
    summary = "A month's cumulative amount (월별 누적 금액): the caller's, or for admins the shop's and every customer's",
    params(MonthQuery),
    responses((status = 200, body = Totals), (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
async fn totals(
    State(app): State<Arc<SaleService>>,
    caller: Caller,
    Query(query): Query<MonthQuery>,
) -> Result<Json<Totals>, ApiError> {
    let month = query.month()?;
    Ok(Json(match reader(&caller)? {
        Reader::Customer(customer) => Totals {
            total: app.month(customer, &month).await?.total,
            month,
            customers: None,
        },
        Reader::Shop => {
            let months = app.shop(&month).await?;
            let customers: Vec<CustomerTotal> = months
                .iter()
                .map(|m| CustomerTotal {
                    customer_id: m.customer_id.clone(),
                    total: m.total,
                })
                .collect();
            Totals {
                total: customers.iter().map(|c| c.total).sum(),
                month,
                customers: Some(customers),
            }
        }
    }))
}

/// A row of the sales page.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct RowDto {
    customer_id: String,
    order_id: String,
    /// `payment` or `refund`.
    #[schema(value_type = String)]
    entry: &'static str,
    /// KRW: negative for a refund.
    amount: i64,
    /// The customer's month total after this row.
    total: i64,
    at: String,
}

/// The sales page (세일즈페이지) of a month, in time order.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct Ledger {
    month: String,
    rows: Vec<RowDto>,
}

/// A month's rows, each with its time (to sort by).
fn rows(month: &MonthlySales) -> impl Iterator<Item = (OffsetDateTime, RowDto)> + '_ {
    month.rows.iter().map(|r| {
        (
            r.at,
            RowDto {
                customer_id: month.customer_id.clone(),
                order_id: r.order_id.clone(),
                entry: r.entry.as_str(),
                amount: r.amount,
                total: r.total,
                at: r.at.format(&Rfc3339).unwrap_or_default(),
            },
        )
    })
}

#[utoipa::path(get, path = "/api/sales/ledger", tag = "sale",
    summary = "The sales page (세일즈페이지): one row per payment or refund with the running total, appended, never edited",
    params(MonthQuery),
    responses((status = 200, body = Ledger), (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
async fn ledger(
    State(app): State<Arc<SaleService>>,
    caller: Caller,
    Query(query): Query<MonthQuery>,
) -> Result<Json<Ledger>, ApiError> {
    let month = query.month()?;
    let months = match reader(&caller)? {
        Reader::Customer(customer) => vec![app.month(customer, &month).await?],
        Reader::Shop => app.shop(&month).await?,
    };
    // By time, not by its RFC 3339 text (".1Z" sorts after ".15Z"); the sort is stable, so a
    // month's rows keep their order where the times are equal.
    let mut all: Vec<_> = months.iter().flat_map(rows).collect();
    all.sort_by_key(|(at, _)| *at);
    Ok(Json(Ledger {
        month,
        rows: all.into_iter().map(|(_, row)| row).collect(),
    }))
}

/// The OpenAPI description of these routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(totals, ledger))]
pub(crate) struct ApiDoc;
