//! What the gateway answers itself: the web UI and its configuration, the caller's identity,
//! the OpenAPI document and its browsable page, and the operator's system view (health,
//! breakers, backlog, lag, dead letters and the latest events of every service).

use crate::Extras;
use crate::identity::{Identity, Verifier};
use crate::proxy::Upstreams;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Html;
use axum::routing::get;
use futures_util::future::join_all;
use kernel::http::{ApiError, ErrorBody, Json, Query};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
pub(crate) struct PagesState {
    pub upstreams: Upstreams,
    pub verifier: Verifier,
    pub extras: Arc<Extras>,
}

pub(crate) fn routes(state: PagesState) -> Router {
    let mut router = Router::new()
        .route("/ui/config.json", get(ui_config))
        .route("/api/me", get(me))
        .route("/api/openapi.json", get(openapi))
        .route("/api/docs", get(docs))
        .route("/systems", get(landing))
        .route("/api/admin/system", get(system))
        .route("/api/admin/events", get(events));
    // The web UI kit every system's pages use (`crates/gateway/web/`).
    let kit = [
        crate::WebAsset {
            path: "/kit.js",
            content_type: "text/javascript; charset=utf-8",
            body: include_bytes!("../web/kit.js"),
        },
        crate::WebAsset {
            path: "/kit.css",
            content_type: "text/css; charset=utf-8",
            body: include_bytes!("../web/kit.css"),
        },
    ];
    for asset in kit.iter().chain(&state.extras.web) {
        let asset = *asset;
        router = router.route(
            asset.path,
            get(move || async move {
                (
                    [
                        (header::CONTENT_TYPE, asset.content_type),
                        (header::CACHE_CONTROL, "no-cache"),
                    ],
                    asset.body,
                )
            }),
        );
    }
    router.with_state(state)
}

/// The gateway's own public address, as the browser reached it.
fn public_base(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .filter(|p| *p == "https")
        .unwrap_or("http");
    format!("{scheme}://{host}")
}

async fn ui_config(
    State(state): State<PagesState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let discovery = state.verifier.discovery().await.map_err(|error| {
        tracing::warn!(
            error = format!("{error:#}"),
            "identity provider unreachable"
        );
        ApiError::unavailable(
            "identity_provider_unavailable",
            "sign-in is unavailable, try again shortly",
            5,
        )
    })?;
    Ok(Json(json!({
        "authorizationEndpoint": discovery["authorization_endpoint"],
        "tokenEndpoint": discovery["token_endpoint"],
        "revocationEndpoint": discovery["revocation_endpoint"],
        "clientId": state.verifier.settings().web_client_id,
        "scope": "openid profile offline_access",
        "redirectUri": format!("{}/", public_base(&headers)),
    })))
}

#[utoipa::path(get, path = "/api/me", tag = "gateway",
    summary = "Who the token says the caller is",
    responses((status = 200, description = "subject, roles, and the system's scoping claims"), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
async fn me(request: Request) -> Result<Json<Value>, ApiError> {
    let identity = request
        .extensions()
        .get::<Option<Identity>>()
        .cloned()
        .flatten()
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "a bearer token is required",
            )
        })?;
    let mut me = json!({
        "subject": identity.subject(),
        "roles": identity.roles(),
    });
    for (claim, value) in identity.claims() {
        me[claim.as_str()] = json!(value);
    }
    Ok(Json(me))
}

#[utoipa::path(get, path = "/api/openapi.json", tag = "gateway",
    summary = "This document (public)",
    responses((status = 200, description = "OpenAPI 3")))]
async fn openapi(State(state): State<PagesState>, headers: HeaderMap) -> Json<Value> {
    let mut document = state.extras.openapi.clone();
    if document.is_object() {
        document["servers"] = json!([{ "url": public_base(&headers) }]);
    }
    Json(document)
}

#[utoipa::path(get, path = "/api/docs", tag = "gateway",
    summary = "A browsable page of this API (public)",
    responses((status = 200, description = "HTML")))]
async fn docs() -> Html<&'static str> {
    Html(include_str!("docs.html"))
}

/// The landing page of every system on this machine (`msa up --system all`): a link to each
/// gateway's web UI (whose admin screen is the system view) and API document, on the host the
/// browser used.
async fn landing(State(state): State<PagesState>, headers: axum::http::HeaderMap) -> Html<String> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.rsplit_once(':').map_or(Some(h), |(name, _)| Some(name)))
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-[]".contains(c))
        })
        .unwrap_or("127.0.0.1")
        .to_owned();
    let rows: String = state
        .extras
        .systems
        .iter()
        .map(|(name, port)| {
            let base = format!("http://{host}:{port}");
            format!(
                "<li><a href=\"{base}/\"><strong>{name}</strong></a> — <a href=\"{base}/\">web UI and system view (admin)</a> · <a href=\"{base}/api/docs\">API</a> · <code>{base}</code></li>"
            )
        })
        .collect();
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>msa systems</title>\
         <link rel=\"stylesheet\" href=\"/kit.css\"></head><body><main class=\"card\">\
         <h1>msa — every system on this machine</h1><ul class=\"list\">{rows}</ul>\
         <p class=\"hint\">Sign in on each system with its demo accounts (README).</p></main></body></html>"
    ))
}

async fn fetch(upstreams: &Upstreams, url: String) -> Result<Value, String> {
    let response = upstreams
        .client()
        .get(&url)
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .map_err(|_| "not answering".to_owned())?;
    response
        .json()
        .await
        .map_err(|_| "answered nonsense".to_owned())
}

#[utoipa::path(get, path = "/api/admin/system", tag = "gateway",
    summary = "Every service's health, breakers, outbox backlog, consumer lag and dead letters (admin)",
    responses((status = 200, description = "services"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn system(State(state): State<PagesState>) -> Json<Value> {
    let replicas = state.upstreams.replicas();
    let answers = join_all(
        replicas
            .iter()
            .map(|(_, base)| fetch(&state.upstreams, format!("{base}/admin/status"))),
    )
    .await;
    let services: Vec<Value> = replicas
        .iter()
        .zip(answers)
        .map(|((name, base), answer)| match answer {
            Ok(status) => json!({ "service": name, "url": base, "up": true, "status": status }),
            Err(error) => json!({ "service": name, "url": base, "up": false, "error": error }),
        })
        .collect();
    Json(json!({ "services": services }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct EventsQuery {
    /// How many events (default 50; more than 500 shows 500).
    #[param(minimum = 0, maximum = 65535)]
    limit: Option<u16>,
}

#[utoipa::path(get, path = "/api/admin/events", tag = "gateway",
    summary = "The latest events and the groups that handled them (admin)",
    params(EventsQuery),
    responses((status = 200, description = "events"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn events(State(state): State<PagesState>, Query(query): Query<EventsQuery>) -> Json<Value> {
    let limit = usize::from(query.limit.unwrap_or(50).min(500));
    let replicas = state.upstreams.replicas();
    let answers = join_all(
        replicas
            .iter()
            .map(|(_, base)| fetch(&state.upstreams, format!("{base}/admin/events"))),
    )
    .await;
    let mut by_id: BTreeMap<String, Value> = BTreeMap::new();
    for event in answers
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_array().cloned())
        .flatten()
    {
        let Some(id) = event["id"].as_str().map(str::to_owned) else {
            continue;
        };
        let group = event["group"].clone();
        let entry = by_id.entry(id).or_insert_with(|| {
            let mut first = event.clone();
            first["handledBy"] = json!([]);
            first
        });
        if let Some(handled) = entry["handledBy"].as_array_mut() {
            handled.push(group);
        }
    }
    let mut events: Vec<Value> = by_id.into_values().collect();
    newest_first(&mut events);
    events.truncate(limit);
    Json(json!({ "events": events }))
}

/// Sorts events newest first by their `time`, not by its RFC 3339 text (".1Z" sorts after
/// ".15Z").
fn newest_first(events: &mut [Value]) {
    events.sort_by_cached_key(|event| {
        std::cmp::Reverse(event["time"].as_str().and_then(|at| {
            time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).ok()
        }))
    });
}

/// The OpenAPI description of the gateway's own routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(me, openapi, docs, system, events))]
pub(crate) struct ApiDoc;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_newest_first_by_time_whatever_the_length_of_the_fraction() {
        let mut events = vec![
            json!({"id": "a", "time": "2026-12-06T10:00:00.1Z"}),
            json!({"id": "b", "time": "2026-12-06T10:00:00.15Z"}),
            json!({"id": "c", "time": "2026-12-06T10:00:00Z"}),
        ];
        newest_first(&mut events);
        let order: Vec<&str> = events.iter().filter_map(|e| e["id"].as_str()).collect();
        assert_eq!(order, ["b", "a", "c"]);
    }
}
