//! A customer's paid orders, written once for every system that sells to customers (booking's
//! bookings, cafeteria's orders): the keys an order is found by, checkout's reads and commands
//! scoped to the customer, and the REST routes around them — the list (paged, newest first) and
//! one order (the kernel's `OwnedApi`), and the customer's cancel. A service adds only its own
//! create request.

use crate::checkout::{Checkout, CheckoutError, Payable, keys};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use kernel::aggregate::{ChangeError, Key};
use kernel::http::{ApiError, Caller, ErrorCode, Json, Path};
use kernel::owned::OwnedApi;
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
    keys.push(kernel::owned::owner_index(
        BY_CUSTOMER,
        &customer,
        placed_at,
    ));
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
    /// `GET <base>` (the caller's orders, paged), `GET <base>/{id}` (the kernel's
    /// [`OwnedApi`]), `POST <base>/{id}/cancel`.
    pub fn routes(self, checkout: Arc<Checkout<A>>) -> Router {
        let orders = OwnedApi {
            base: self.base,
            plural: self.plural,
            claim: self.claim,
            index: BY_CUSTOMER,
            owner: |o: &A| o.bill().0,
            show: self.show,
        };
        Router::new()
            .route(&format!("{}/{{id}}/cancel", self.base), post(cancel::<A>))
            .with_state((checkout.clone(), self))
            .merge(orders.routes(checkout.store().clone()))
    }
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
    use utoipa::openapi::{PathItem, ResponseBuilder};
    let mut document = kernel::owned::openapi(base, &format!("{kind}s"), "customer", kind, schema);
    let cancel = secured(kind, cancel.to_owned(), &[("id", ParameterIn::Path)])
        .operation_id(Some("cancel"))
        .response("202", showing("CancelRequested", schema))
        .response(
            "404",
            ResponseBuilder::new().description("not found (or someone else's)"),
        )
        .response(
            "409",
            ResponseBuilder::new().description("illegal_transition (or the domain's refusal)"),
        )
        .build();
    document.paths.paths.insert(
        format!("{base}/{{id}}/cancel"),
        PathItem::new(HttpMethod::Post, cancel),
    );
    document
}
