//! The product team's REST API: register, restock; and the public catalog.

use crate::app::ProductService;
use crate::domain::product::{Product, ProductError};
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use kernel::http::{ApiError, ErrorBody, ErrorCode, Json, Path};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The routes.
pub(crate) fn routes(app: Arc<ProductService>) -> Router {
    Router::new()
        .route("/api/products", get(catalog).post(register))
        .route("/api/products/{id}/restock", post(restock))
        .with_state(app)
}

/// The API document.
pub(crate) fn openapi() -> utoipa::openapi::OpenApi {
    <ApiDoc as utoipa::OpenApi>::openapi()
}

/// `POST /api/products` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RegisterRequest {
    /// 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// KRW a day, 1 to 10,000,000.
    #[schema(minimum = 1, maximum = 10_000_000)]
    pub daily_rate: i64,
    /// First stock, 0 to 10,000 (default 10).
    #[serde(default)]
    #[schema(maximum = 10_000)]
    pub qty: Option<u32>,
}

/// `POST /api/products/{id}/restock` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RestockRequest {
    /// Units added, 1 to 10,000.
    #[schema(minimum = 1, maximum = 10_000)]
    pub quantity: u32,
}

/// A product of the catalog.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ProductDto {
    id: String,
    name: String,
    /// KRW a day.
    daily_rate: i64,
    /// Units ever registered (delivery's `GET /api/stock` has what is left).
    qty: u32,
}

impl From<&Product> for ProductDto {
    fn from(p: &Product) -> Self {
        Self {
            id: p.id.clone(),
            name: p.name.clone(),
            daily_rate: p.daily_rate,
            qty: p.qty,
        }
    }
}

impl ErrorCode for ProductError {
    fn code(&self) -> &'static str {
        match self {
            Self::InvalidName => "invalid_name",
            Self::InvalidRate => "invalid_daily_rate",
            Self::InvalidQty => "invalid_quantity",
        }
    }

    fn status(&self) -> StatusCode {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

#[utoipa::path(get, path = "/api/products", tag = "product",
    summary = "The catalog, oldest first (public)",
    responses((status = 200, body = Vec<ProductDto>)))]
async fn catalog(
    State(app): State<Arc<ProductService>>,
) -> Result<Json<Vec<ProductDto>>, ApiError> {
    Ok(Json(
        app.catalog().await?.iter().map(ProductDto::from).collect(),
    ))
}

#[utoipa::path(post, path = "/api/products", tag = "product",
    summary = "Register a product (상품 등록): rental and delivery learn of it by its event",
    request_body = RegisterRequest,
    responses((status = 201, body = ProductDto),
        (status = 422, description = "invalid_name, invalid_daily_rate, invalid_quantity", body = ErrorBody)),
    security(("bearer" = [])))]
async fn register(
    State(app): State<Arc<ProductService>>,
    Json(request): Json<RegisterRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let product = app
        .register(&request.name, request.daily_rate, request.qty)
        .await?;
    kernel::http::record_correlation(&product.id);
    let location = format!("/api/products/{}", product.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(ProductDto::from(&product)),
    ))
}

#[utoipa::path(post, path = "/api/products/{id}/restock", tag = "product",
    summary = "Add stock: delivery's ledger grows by the quantity",
    params(("id" = String, Path, description = "Product id")),
    request_body = RestockRequest,
    responses((status = 200, body = ProductDto), (status = 404, body = ErrorBody),
        (status = 422, description = "invalid_quantity", body = ErrorBody)),
    security(("bearer" = [])))]
async fn restock(
    State(app): State<Arc<ProductService>>,
    Path(id): Path<String>,
    Json(request): Json<RestockRequest>,
) -> Result<Json<ProductDto>, ApiError> {
    kernel::http::record_correlation(&id);
    Ok(Json(ProductDto::from(
        &app.restock(&id, request.quantity).await?,
    )))
}

/// The OpenAPI description of these routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(catalog, register, restock), components(schemas(ProductDto)))]
pub(crate) struct ApiDoc;
