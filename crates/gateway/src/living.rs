//! The living documentation the gateway serves: the system's AsyncAPI document (public, beside
//! the OpenAPI one), and for operators the event-storming board and the context map (SVG), with
//! a page at `/board` that shows them to a signed-in operator. The documents are drawn from the
//! services' own declarations by the `msa` binary on first request, then kept.

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use kernel::http::{ApiError, ErrorBody, Json};
use std::sync::Arc;
use tokio::sync::OnceCell;

/// A system's living documentation.
#[derive(Debug, Clone)]
pub struct LivingDocs {
    /// The event-storming board (SVG).
    pub board: String,
    /// The context map (SVG).
    pub map: String,
    /// The AsyncAPI 3.0 document.
    pub asyncapi: serde_json::Value,
}

/// Draws system `name`'s living documentation (blocking: it assembles the services).
pub type Describe = fn(&str) -> anyhow::Result<LivingDocs>;

#[derive(Clone)]
pub(crate) struct LivingState {
    system: String,
    describe: Option<Describe>,
    docs: Arc<OnceCell<Arc<LivingDocs>>>,
}

impl LivingState {
    pub(crate) fn new(system: &str, describe: Option<Describe>) -> Self {
        Self {
            system: system.to_owned(),
            describe,
            docs: Arc::default(),
        }
    }

    async fn docs(&self) -> Result<Arc<LivingDocs>, ApiError> {
        let describe = self.describe.ok_or_else(|| {
            ApiError::not_found(
                "no_living_documentation",
                "this gateway was started without the system's declarations",
            )
        })?;
        let system = self.system.clone();
        self.docs
            .get_or_try_init(|| async move {
                let docs = tokio::task::spawn_blocking(move || describe(&system))
                    .await
                    .map_err(|error| ApiError::internal(error.into()))?
                    .map_err(ApiError::internal)?;
                Ok(Arc::new(docs))
            })
            .await
            .cloned()
    }
}

pub(crate) fn routes(state: LivingState) -> Router {
    Router::new()
        .route("/api/asyncapi.json", get(asyncapi))
        .route("/api/admin/board", get(board))
        .route("/api/admin/context-map", get(map))
        .route("/board", get(page))
        .route("/board.js", get(script))
        .with_state(state)
}

#[utoipa::path(get, path = "/api/asyncapi.json", tag = "gateway",
    summary = "The system's events as an AsyncAPI 3.0 document (public)",
    responses((status = 200, description = "AsyncAPI 3.0: a channel per event type, payload schemas, the CloudEvents envelope, subject = correlation key")))]
async fn asyncapi(State(state): State<LivingState>) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(state.docs().await?.asyncapi.clone()))
}

/// A body of `content_type`, looked at again on every visit.
fn typed(content_type: &'static str, body: impl IntoResponse) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
}

fn svg(body: String) -> impl IntoResponse {
    typed("image/svg+xml; charset=utf-8", body)
}

#[utoipa::path(get, path = "/api/admin/board", tag = "gateway",
    summary = "The event-storming board, drawn from the services' declarations (admin)",
    responses((status = 200, description = "SVG", content_type = "image/svg+xml"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn board(State(state): State<LivingState>) -> Result<impl IntoResponse, ApiError> {
    Ok(svg(state.docs().await?.board.clone()))
}

#[utoipa::path(get, path = "/api/admin/context-map", tag = "gateway",
    summary = "The context map: core / supporting / generic, request-response and pub/sub (admin)",
    responses((status = 200, description = "SVG", content_type = "image/svg+xml"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn map(State(state): State<LivingState>) -> Result<impl IntoResponse, ApiError> {
    Ok(svg(state.docs().await?.map.clone()))
}

const PAGE: &str = r#"<!doctype html>
<html lang="ko">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Event-storming board · 이벤트 스토밍 보드</title><link rel="stylesheet" href="/kit.css"></head>
<body><main id="main">
<nav class="card" aria-label="living documentation"><a href="/">← 시스템 System</a> ·
<a href="/board">이벤트 스토밍 보드 Event-storming board</a> · <a href="/board?map">컨텍스트 맵 Context map</a> ·
<a href="/api/asyncapi.json">AsyncAPI</a> · <a href="/api/docs">OpenAPI</a></nav>
<p id="message" role="status" class="message" hidden></p>
<div id="drawing" class="card" style="overflow:auto"></div>
</main><script src="/board.js"></script></body></html>
"#;

const SCRIPT: &str = r#""use strict";
// Shows the board or the context map to the operator signed in on the system page (same tab).
(async () => {
  const tokens = JSON.parse(sessionStorage.getItem("tokens") || "null");
  const what = location.search.includes("map") ? "context-map" : "board";
  const headers = tokens ? { authorization: `Bearer ${tokens.access_token}` } : {};
  const response = await fetch(`/api/admin/${what}`, { headers });
  const message = document.getElementById("message");
  if (response.ok) {
    document.getElementById("drawing").innerHTML = await response.text();
  } else {
    message.hidden = false;
    message.textContent = response.status === 401 || response.status === 403
      ? "운영자로 시스템 화면에서 먼저 로그인해 주세요. Sign in as an operator on the system page first."
      : `HTTP ${response.status}`;
  }
})();
"#;

async fn page() -> impl IntoResponse {
    typed("text/html; charset=utf-8", PAGE)
}

async fn script() -> impl IntoResponse {
    typed("text/javascript; charset=utf-8", SCRIPT)
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(asyncapi, board, map))]
pub(crate) struct ApiDoc;
