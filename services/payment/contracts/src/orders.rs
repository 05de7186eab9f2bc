//! A customer's paid orders, written once for every system that sells to customers (booking's
//! bookings, cafeteria's orders): the keys an order is found by, checkout's reads and commands
//! scoped to the customer, and the REST routes around them — the list (paged, newest first), one
//! order, and the customer's cancel. A service adds only its own create request.

use crate::checkout::{Checkout, CheckoutError, Payable, keys};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use kernel::aggregate::{ChangeError, Key};
use kernel::http::{ApiError, Caller, ErrorCode, Json, Paging, Path, Query};
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;
use time::OffsetDateTime;

/// Index of a customer's orders, newest first.
pub const BY_CUSTOMER: &str = "customer";

/// The keys of a customer's order (for its `Aggregate::keys`): checkout's, the client's
/// idempotency key scoped to the customer, and the customer's orders by `placed_at`.
pub fn order_keys<A: Payable>(
    order: &A,
    client_key: Option<&str>,
    placed_at: OffsetDateTime,
) -> Vec<Key> {
    let customer = order.bill().0;
    let mut keys = keys(order, client_key.map(|key| format!("{customer}/{key}")));
    let newest_first = (placed_at.unix_timestamp_nanos() / 1_000_000) as i64;
    keys.push(Key::index(BY_CUSTOMER, &customer).scored(newest_first));
    keys
}

impl<A: Payable> Checkout<A> {
    /// Places a customer's `order` (see [`Checkout::start`]); the client's idempotency key is
    /// the customer's own (two customers may use the same).
    pub async fn place(
        &self,
        order: A,
        events: &[A::Event],
        client_key: Option<&str>,
        card_number: &str,
    ) -> Result<A, CheckoutError> {
        let customer = order.bill().0;
        let key = client_key.map(|key| format!("{customer}/{key}"));
        self.start(order, events, key.as_deref(), card_number).await
    }

    /// Order `id`, if `customer` (when given) placed it; someone else's is not found.
    pub async fn order(
        &self,
        id: &str,
        customer: Option<&str>,
    ) -> Result<A, ChangeError<A::Refusal>> {
        let visible = |o: &A| customer.is_none_or(|c| c == o.bill().0);
        self.store().get_visible(id, visible).await
    }

    /// A customer's orders, newest first: `limit` after the first `offset`.
    pub async fn orders_of(
        &self,
        customer: &str,
        offset: u32,
        limit: u32,
    ) -> anyhow::Result<Vec<A>> {
        let found = self
            .store()
            .find(BY_CUSTOMER, customer, offset.saturating_add(limit))
            .await?;
        Ok(found.into_iter().skip(offset as usize).collect())
    }

    /// A command on order `id` by `customer` (when given: only on their own).
    pub async fn command<F>(
        &self,
        id: &str,
        customer: Option<&str>,
        decide: F,
    ) -> Result<A, ChangeError<A::Refusal>>
    where
        F: Fn(&A) -> Result<Vec<A::Event>, A::Refusal>,
    {
        self.order(id, customer).await?;
        self.change(id, None, decide).await
    }
}

/// A decision on an order at a time: its events, or the domain's refusal.
pub type Decision<A> =
    fn(
        &A,
        OffsetDateTime,
    ) -> Result<Vec<<A as kernel::aggregate::Aggregate>::Event>, <A as Payable>::Refusal>;

/// The REST routes of a customer's orders: what they are called, how they show, how they cancel.
pub struct OrderApi<A: Payable> {
    /// Where they are (`/api/bookings`).
    pub base: &'static str,
    /// The list's field in a page (`bookings`).
    pub plural: &'static str,
    /// The scoping claim of customers (`customer`).
    pub claim: &'static str,
    /// An order as the API shows it.
    pub show: fn(&A) -> Value,
    /// The customer's cancel, at the given time.
    pub cancel: Decision<A>,
}

impl<A: Payable> Clone for OrderApi<A> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<A: Payable> Copy for OrderApi<A> {}

type OrderState<A> = (Arc<Checkout<A>>, OrderApi<A>);

impl<A: Payable> OrderApi<A>
where
    A::Refusal: ErrorCode,
{
    /// `GET <base>` (the caller's orders, paged), `GET <base>/{id}`, `POST <base>/{id}/cancel`.
    pub fn routes(self, checkout: Arc<Checkout<A>>) -> Router {
        Router::new()
            .route(self.base, get(list::<A>))
            .route(&format!("{}/{{id}}", self.base), get(one::<A>))
            .route(&format!("{}/{{id}}/cancel", self.base), post(cancel::<A>))
            .with_state((checkout, self))
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ListQuery {
    customer_id: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

async fn list<A: Payable>(
    State((checkout, api)): State<OrderState<A>>,
    caller: Caller,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let customer = caller
        .claim(api.claim)
        .map(str::to_owned)
        .or(query.customer_id)
        .ok_or_else(|| ApiError::bad_request("missing_customer_id", "give ?customerId=..."))?;
    let paging = Paging::parse(query.limit, query.cursor.as_deref())?;
    let mut orders = checkout
        .orders_of(&customer, paging.offset, paging.fetch())
        .await?;
    let next_cursor = paging.cut(&mut orders);
    let shown: Vec<Value> = orders.iter().map(api.show).collect();
    Ok(Json(
        serde_json::json!({ api.plural: shown, "nextCursor": next_cursor }),
    ))
}

async fn one<A: Payable>(
    State((checkout, api)): State<OrderState<A>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError>
where
    A::Refusal: ErrorCode,
{
    kernel::http::record_correlation(&id);
    let order = checkout.order(&id, caller.claim(api.claim)).await?;
    Ok(Json((api.show)(&order)))
}

async fn cancel<A: Payable>(
    State((checkout, api)): State<OrderState<A>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError>
where
    A::Refusal: ErrorCode,
{
    kernel::http::record_correlation(&id);
    let now = kernel::clock::now();
    let order = checkout
        .command(&id, caller.claim(api.claim), |o| (api.cancel)(o, now))
        .await?;
    Ok((StatusCode::ACCEPTED, Json((api.show)(&order))))
}

/// The API document of [`OrderApi::routes`]: `kind` names one order (`booking`), `schema` its
/// component schema (`BookingDto`), `cancel` what a cancel does.
pub fn openapi(base: &str, kind: &str, schema: &str, cancel: &str) -> utoipa::openapi::OpenApi {
    use kernel::apidoc::{secured, showing};
    use utoipa::openapi::path::{HttpMethod, ParameterIn};
    use utoipa::openapi::{OpenApiBuilder, PathItem, PathsBuilder, ResponseBuilder};
    let operation = |summary, parameters: &[_]| {
        let missing = ResponseBuilder::new().description("not found (or someone else's)");
        secured(kind, summary, parameters).response("404", missing)
    };
    let page = operation(
        format!("The caller's {kind}s, newest first (paged; operators name customerId)"),
        &[
            ("limit", ParameterIn::Query),
            ("cursor", ParameterIn::Query),
            ("customerId", ParameterIn::Query),
        ],
    )
    .response(
        "200",
        ResponseBuilder::new().description(format!("{{\"{kind}s\": [...], \"nextCursor\"}}")),
    )
    .response("400", ResponseBuilder::new().description("bad query"))
    .build();
    let one = operation(format!("One {kind}"), &[("id", ParameterIn::Path)])
        .response("200", showing(kind, schema))
        .build();
    let cancel = operation(cancel.to_owned(), &[("id", ParameterIn::Path)])
        .response("202", showing("CancelRequested", schema))
        .response(
            "409",
            ResponseBuilder::new().description("illegal_transition (or the domain's refusal)"),
        )
        .build();
    OpenApiBuilder::new()
        .paths(
            PathsBuilder::new()
                .path(base, PathItem::new(HttpMethod::Get, page))
                .path(
                    format!("{base}/{{id}}"),
                    PathItem::new(HttpMethod::Get, one),
                )
                .path(
                    format!("{base}/{{id}}/cancel"),
                    PathItem::new(HttpMethod::Post, cancel),
                ),
        )
        .build()
}
