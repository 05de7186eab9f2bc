//! The my-page API: reads only the read model.

use crate::adapters::document::ViewDocument;
use crate::app::MyPage;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use kernel::http::{ApiError, Caller, ErrorBody, Json, Path, Query};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The scoping claim of customers: a customer sees only their own reservations.
pub const CUSTOMER_CLAIM: &str = "customer";

/// The routes.
pub fn routes(app: Arc<MyPage>) -> Router {
    Router::new()
        .route("/api/mypage", get(page))
        .route("/api/mypage/reservations/{reservation_id}", get(one))
        .with_state(app)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct PageQuery {
    customer_id: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct Page {
    customer_id: String,
    reservations: Vec<ViewDocument>,
}

#[utoipa::path(get, path = "/api/mypage", tag = "my page",
    summary = "A customer's reservations with reservation, payment and rental status",
    params(PageQuery),
    responses((status = 200, body = Page), (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
async fn page(
    State(app): State<Arc<MyPage>>,
    caller: Caller,
    Query(query): Query<PageQuery>,
) -> Result<Json<Page>, ApiError> {
    let customer_id = caller
        .claim(CUSTOMER_CLAIM)
        .map(str::to_owned)
        .or(query.customer_id)
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ApiError::bad_request("missing_customer_id", "give ?customerId=..."))?;
    let views = app.customer(&customer_id).await?;
    Ok(Json(Page {
        customer_id,
        reservations: views.iter().map(ViewDocument::from).collect(),
    }))
}

#[utoipa::path(get, path = "/api/mypage/reservations/{reservation_id}", tag = "my page",
    summary = "One reservation's view and timeline",
    params(("reservation_id" = String, Path, description = "Reservation id")),
    responses((status = 200, body = ViewDocument), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn one(
    State(app): State<Arc<MyPage>>,
    caller: Caller,
    Path(reservation_id): Path<String>,
) -> Result<Json<ViewDocument>, ApiError> {
    kernel::http::record_correlation(&reservation_id);
    let not_found = || {
        ApiError::not_found(
            "reservation_not_found",
            format!("my page has no reservation {reservation_id}"),
        )
    };
    let view = app
        .reservation(&reservation_id)
        .await?
        .ok_or_else(not_found)?;
    if let Some(customer) = caller.claim(CUSTOMER_CLAIM)
        && view.customer_id.as_deref() != Some(customer)
    {
        return Err(not_found());
    }
    Ok(Json(ViewDocument::from(&view)))
}

/// The OpenAPI description of these routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(page, one))]
pub struct ApiDoc;
