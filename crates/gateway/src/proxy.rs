//! Reverse proxying to the services.

use crate::Settings;
use crate::edge::identity_headers;
use crate::identity::Identity;
use anyhow::Context as _;
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use futures_util::TryStreamExt as _;
use kernel::discovery::Replicas;
use kernel::http::ApiError;
use kernel::manifest::SystemManifest;
use kernel::trace::Span;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Headers only the gateway may set: the services trust them as the caller's identity.
pub(crate) const IDENTITY_PREFIX: &str = "x-msa-";

const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
];

struct Upstream {
    replicas: Replicas,
    next: AtomicUsize,
}

/// Where each service's replicas are, and the clients that call them.
#[derive(Clone)]
pub(crate) struct Upstreams {
    manifest: Arc<SystemManifest>,
    upstreams: Arc<HashMap<String, Upstream>>,
    client: reqwest::Client,
    /// For server-sent events (`Accept: text/event-stream`), which stay open.
    streaming: reqwest::Client,
    /// HTTP/2 (prior knowledge) client for gRPC, which streams both ways and keeps trailers.
    grpc: GrpcClient,
}

type GrpcClient =
    hyper_util::client::legacy::Client<hyper_util::client::legacy::connect::HttpConnector, Body>;

impl Upstreams {
    pub(crate) fn new(settings: &Settings, manifest: &SystemManifest) -> anyhow::Result<Self> {
        let mut upstreams = HashMap::new();
        let registry = settings.service.discovery.registry();
        for service in &manifest.services {
            let configured = settings
                .upstreams
                .get(&service.name)
                .cloned()
                .unwrap_or_else(|| format!("http://127.0.0.1:{}", service.port));
            let replicas = Replicas::new(&service.name, &configured, registry.clone())
                .with_context(|| format!("upstreams.{}", service.name))?;
            upstreams.insert(
                service.name.clone(),
                Upstream {
                    replicas,
                    next: AtomicUsize::new(0),
                },
            );
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(settings.upstream_timeout_ms))
            .connect_timeout(Duration::from_secs(2))
            .pool_idle_timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("cannot build the proxy client")?;
        // Server-sent events stay open: no deadline for the whole answer, only for silence
        // longer than a few heartbeats.
        let streaming = reqwest::Client::builder()
            .read_timeout(Duration::from_secs(60))
            .connect_timeout(Duration::from_secs(2))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("cannot build the streaming proxy client")?;
        let grpc =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .http2_only(true)
                .build_http();
        Ok(Self {
            manifest: Arc::new(manifest.clone()),
            upstreams: Arc::new(upstreams),
            client,
            streaming,
            grpc,
        })
    }

    /// Every replica of every service, with the service's name.
    pub(crate) fn replicas(&self) -> Vec<(String, String)> {
        self.manifest
            .services
            .iter()
            .flat_map(|s| {
                let bases = self.upstreams[&s.name].replicas.current();
                (0..bases.len()).map(move |i| (s.name.clone(), bases[i].clone()))
            })
            .collect()
    }

    /// The client.
    pub(crate) fn client(&self) -> &reqwest::Client {
        &self.client
    }
}

/// The catch-all route for `/api/...`, and gRPC's `/package.Service/Method`.
pub(crate) fn routes(upstreams: Upstreams) -> Router {
    Router::new()
        .route("/api/{*rest}", any(forward))
        .route("/{service}/{method}", axum::routing::post(forward_grpc))
        .with_state(upstreams)
}

/// Forwards a gRPC call over HTTP/2 as it streams, trailers included.
async fn forward_grpc(State(state): State<Upstreams>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    let Some(service) = state.manifest.grpc_route(&path) else {
        return crate::edge::grpc_error(&ApiError::not_found(
            "route_not_found",
            format!("no service serves {path}"),
        ));
    };
    let upstream = &state.upstreams[&service.name];
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr);
    let identity = request
        .extensions()
        .get::<Option<Identity>>()
        .cloned()
        .flatten();
    let (parts, body) = request.into_parts();
    let mut headers = forwarded_headers(&parts.headers, peer, identity.as_ref(), &state.manifest);
    headers.insert("te", HeaderValue::from_static("trailers"));
    let bases = upstream.replicas.current();
    let start = upstream.next.fetch_add(1, Ordering::Relaxed);
    let Some(base) = bases.get(start % bases.len().max(1)) else {
        return crate::edge::grpc_error(&unavailable(&service.name));
    };
    let uri = format!("{base}{path}");
    let mut outgoing = axum::http::Request::builder()
        .method(parts.method)
        .uri(&uri);
    if let Some(target) = outgoing.headers_mut() {
        *target = headers;
    }
    let outgoing = match outgoing.body(body) {
        Ok(outgoing) => outgoing,
        Err(error) => {
            tracing::warn!(%error, "cannot build a gRPC request");
            return crate::edge::grpc_error(&ApiError::bad_request(
                "invalid_request",
                "the gRPC request is malformed",
            ));
        }
    };
    match state.grpc.request(outgoing).await {
        Ok(response) => response.map(Body::new),
        Err(error) => {
            tracing::warn!(service = %service.name, %error, "gRPC upstream failed");
            crate::edge::grpc_error(&unavailable(&service.name))
        }
    }
}

fn forwarded_headers(
    incoming: &HeaderMap,
    peer: Option<SocketAddr>,
    identity: Option<&Identity>,
    manifest: &SystemManifest,
) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in incoming {
        let lower = name.as_str();
        if HOP_BY_HOP.contains(&lower) || lower.starts_with(IDENTITY_PREFIX) {
            continue;
        }
        headers.append(name.clone(), value.clone());
    }
    let context = kernel::context::current();
    for (name, value) in [
        (kernel::http::REQUEST_ID, context.request_id),
        (kernel::http::TRACEPARENT, context.traceparent),
    ] {
        if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    if let Some(peer) = peer
        && let Ok(value) = HeaderValue::from_str(&peer.ip().to_string())
    {
        headers.insert("x-forwarded-for", value);
    }
    let identity = identity.map(|i| identity_headers(i, &manifest.claims));
    for (name, value) in identity.unwrap_or_default() {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            headers.insert(name, value);
        }
    }
    headers
}

async fn forward(State(state): State<Upstreams>, request: Request) -> Result<Response, ApiError> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr);
    let path = request.uri().path().to_owned();
    let service = state.manifest.route(&path).ok_or_else(|| {
        ApiError::not_found("route_not_found", format!("no service serves {path}"))
    })?;
    let upstream = &state.upstreams[&service.name];
    let path_and_query = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or(path);
    let method = request.method().clone();
    let event_stream = request
        .headers()
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"));
    let client = if event_stream {
        &state.streaming
    } else {
        &state.client
    };
    let identity = request
        .extensions()
        .get::<Option<Identity>>()
        .cloned()
        .flatten();
    let headers = forwarded_headers(request.headers(), peer, identity.as_ref(), &state.manifest);
    let body = axum::body::to_bytes(request.into_body(), 4 * 1024 * 1024)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "request bodies are limited to 4 MiB",
            )
        })?;
    let bases = upstream.replicas.current();
    let start = upstream.next.fetch_add(1, Ordering::Relaxed);
    let mut last_error = None;
    for attempt in 0..bases.len() {
        let base = &bases[(start + attempt) % bases.len()];
        let url = format!("{base}{path_and_query}");
        // The forward's client span: the service's server span is its child.
        let mut span = Span::http_client(method.as_str(), &service.name, &url);
        let mut traced = headers.clone();
        if let Ok(value) = HeaderValue::from_str(&span.traceparent()) {
            traced.insert(kernel::http::TRACEPARENT, value);
        }
        let sent = client
            .request(method.clone(), url)
            .headers(traced)
            .body(body.clone())
            .send()
            .await;
        match &sent {
            Ok(response) => span.answered(response.status().as_u16()),
            Err(error) => span.fail(error),
        }
        span.end();
        match sent {
            Ok(response) => return Ok(relay(response)),
            // The request never reached this replica: another may take it.
            Err(error) if error.is_connect() => last_error = Some(error),
            // The replica closed the connection without answering (it was stopping): a request
            // that is safe to send again goes to the next one.
            Err(error) if error.is_request() && repeatable(&method, &headers) => {
                last_error = Some(error);
            }
            Err(error) if error.is_timeout() => {
                tracing::warn!(service = %service.name, %error, "upstream timed out");
                return Err(ApiError::new(
                    StatusCode::GATEWAY_TIMEOUT,
                    "upstream_timeout",
                    format!("{} did not answer in time", service.name),
                ));
            }
            Err(error) => {
                tracing::warn!(service = %service.name, %error, "upstream failed");
                return Err(ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    "upstream_failed",
                    format!("{} failed to answer", service.name),
                ));
            }
        }
    }
    tracing::warn!(service = %service.name, error = ?last_error, "no replica reachable");
    Err(unavailable(&service.name))
}

/// Whether sending the request twice has the effect of sending it once: its method says so, or
/// it carries an `Idempotency-Key` the service honours.
fn repeatable(method: &axum::http::Method, headers: &HeaderMap) -> bool {
    method.is_idempotent() || headers.contains_key(kernel::http::IDEMPOTENCY_KEY)
}

fn unavailable(service: &str) -> ApiError {
    ApiError::unavailable(
        "service_unavailable",
        format!("{service} is unavailable, try again shortly"),
        1,
    )
}

fn relay(response: reqwest::Response) -> Response {
    let status = response.status();
    let mut headers = HeaderMap::new();
    for (name, value) in response.headers() {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            headers.append(name.clone(), value.clone());
        }
    }
    let body = Body::from_stream(response.bytes_stream().map_err(std::io::Error::other));
    let mut out = (status, body).into_response();
    *out.headers_mut() = headers;
    out
}
