//! The guard in front of every `/api/...` route: access rules from the system manifest, bearer
//! token validation, per-client rate limiting, and CORS for the UI's origins.

use crate::identity::{Identity, TokenError, Verifier};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kernel::http::ApiError;
use kernel::manifest::{ScopingClaim, SystemManifest, Verdict};
use serde::Deserialize;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Per-client request budget: a token bucket refilled at `per_second` up to `burst`.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitSettings {
    /// Sustained requests per second per client (token subject, or address without a token).
    pub per_second: f64,
    /// Requests a client may send at once.
    pub burst: f64,
    /// Where the budgets are counted when several gateway replicas serve one system (a store URL:
    /// `sqlite://`, `postgres://`, `mysql://` or `redis://`); empty: the store of `auth.store`,
    /// or this process's memory when that is empty too; `memory`: this process's memory.
    pub store: String,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            per_second: 500.0,
            burst: 1_000.0,
            store: String::new(),
        }
    }
}

/// Whether a request fits its client's budget.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Admission {
    /// It does (and took its share).
    Admitted,
    /// It does not; the client may try again after this many seconds.
    Refused {
        /// Seconds until the budget allows one more request.
        retry_after_s: f64,
    },
}

/// The port behind the rate limit: per-client budgets, counted in this process or in a store
/// the gateway's replicas share.
#[async_trait::async_trait]
pub trait RateLimiter: Send + Sync + 'static {
    /// Takes one request from `client`'s budget, or says how long until one is available.
    async fn admit(&self, client: &str) -> anyhow::Result<Admission>;
}

/// Origins other than the gateway's own that may call the API from a browser.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CorsSettings {
    /// Allowed origins, e.g. `http://localhost:5173`.
    pub allowed_origins: Vec<String>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets per client in this process's memory (one gateway).
pub struct MemoryRateLimiter {
    settings: RateLimitSettings,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl MemoryRateLimiter {
    /// A limiter with these budgets.
    pub fn new(settings: RateLimitSettings) -> Self {
        Self {
            settings,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `client`'s budget, or says how long until one is available.
    pub fn take(&self, client: &str) -> Result<(), f64> {
        let now = Instant::now();
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() > 100_000 {
            let full = self.settings.burst;
            let rate = self.settings.per_second;
            buckets.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * rate < full);
        }
        let bucket = buckets.entry(client.to_owned()).or_insert(Bucket {
            tokens: self.settings.burst,
            at: now,
        });
        let refill = now.duration_since(bucket.at).as_secs_f64() * self.settings.per_second;
        bucket.tokens = (bucket.tokens + refill).min(self.settings.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err((1.0 - bucket.tokens) / self.settings.per_second)
        }
    }
}

#[async_trait::async_trait]
impl RateLimiter for MemoryRateLimiter {
    async fn admit(&self, client: &str) -> anyhow::Result<Admission> {
        Ok(match self.take(client) {
            Ok(()) => Admission::Admitted,
            Err(retry_after_s) => Admission::Refused { retry_after_s },
        })
    }
}

/// What the guard needs.
#[derive(Clone)]
pub struct Edge {
    /// The system manifest: its access rules and the services' route prefixes.
    pub manifest: Arc<SystemManifest>,
    /// The token verifier.
    pub verifier: Verifier,
    /// Rate limits.
    pub limiter: Arc<dyn RateLimiter>,
    /// CORS.
    pub cors: Arc<CorsSettings>,
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

fn unauthorized(error: TokenError) -> ApiError {
    match error {
        TokenError::Missing => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            error.to_string(),
        )
        .with_www_authenticate("Bearer realm=\"msa\""),
        TokenError::Invalid(why) => {
            ApiError::new(StatusCode::UNAUTHORIZED, "invalid_token", why.clone())
                .with_www_authenticate(format!(
                    "Bearer realm=\"msa\", error=\"invalid_token\", error_description=\"{}\"",
                    why.replace('"', "'")
                ))
        }
    }
}

/// Checks every `/api/...` request; puts the caller's [`Identity`] (or `None` on public routes)
/// into the request for the proxy to forward.
pub async fn guard(State(edge): State<Edge>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let grpc = edge.manifest.grpc_route(&path).is_some();
    if (!path.starts_with("/api/") && !grpc) || request.method() == Method::OPTIONS {
        return next.run(request).await;
    }
    let response = check(&edge, request, next, &path).await;
    match response {
        Ok(response) => response,
        Err(error) if grpc => grpc_error(&error),
        Err(error) => error.into_response(),
    }
}

/// A gRPC call refused at the edge: a trailers-only answer with the matching gRPC status.
pub fn grpc_error(error: &ApiError) -> Response {
    let code = match error.status() {
        StatusCode::UNAUTHORIZED => 16,
        StatusCode::FORBIDDEN => 7,
        StatusCode::TOO_MANY_REQUESTS => 8,
        StatusCode::NOT_FOUND => 12,
        StatusCode::BAD_REQUEST => 3,
        StatusCode::GATEWAY_TIMEOUT => 4,
        _ => 14,
    };
    let message: String = format!("{}: {}", error.code(), error.message())
        .bytes()
        .map(|b| {
            if b.is_ascii_graphic() && b != b'%' || b == b' ' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let mut response = StatusCode::OK.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    headers.insert("grpc-status", HeaderValue::from(code));
    if let Ok(value) = HeaderValue::from_str(&message) {
        headers.insert("grpc-message", value);
    }
    response
}

async fn check(
    edge: &Edge,
    mut request: Request,
    next: Next,
    path: &str,
) -> Result<Response, ApiError> {
    let path = path.to_owned();
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
        .unwrap_or_default();
    let verdict = edge
        .manifest
        .access
        .verdict(request.method().as_str(), &path);
    if verdict == Verdict::Unlisted {
        let methods = edge.manifest.access.methods(&path);
        if !methods.is_empty() {
            return Ok(method_not_allowed(&methods));
        }
    }
    let identity: Result<Option<Identity>, TokenError> = match (&verdict, bearer(request.headers()))
    {
        (Verdict::Public, _) => Ok(None),
        (_, None) => Err(TokenError::Missing),
        (_, Some(token)) => edge.verifier.verify(token).await.map(Some),
    };
    let client = match &identity {
        Ok(Some(identity)) => format!("sub:{}", identity.subject().unwrap_or_default()),
        _ => format!("ip:{peer}"),
    };
    match edge.limiter.admit(&client).await {
        Ok(Admission::Admitted) => {}
        Ok(Admission::Refused { retry_after_s }) => {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests; slow down",
            )
            .with_retry_after(retry_after_s.ceil().max(1.0) as u64));
        }
        // The budgets' store is out of reach: the request goes on rather than the whole API
        // failing with it.
        Err(error) => {
            tracing::warn!(error = format!("{error:#}"), "cannot count the rate limit");
        }
    }
    let identity = match identity {
        Ok(identity) => identity,
        Err(error) => return Err(unauthorized(error)),
    };
    match (&verdict, &identity) {
        (Verdict::Roles(roles), Some(identity)) if !roles.iter().any(|r| identity.has_role(r)) => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("this needs one of the roles: {}", roles.join(", ")),
            ));
        }
        (Verdict::Unlisted, _)
            if edge.manifest.route(&path).is_none()
                && edge.manifest.grpc_route(&path).is_none() =>
        {
            return Err(ApiError::not_found("route_not_found", "no such route"));
        }
        (Verdict::Unlisted, _) => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "no_access_rule",
                "no access rule allows this route",
            ));
        }
        _ => {}
    }
    request.extensions_mut().insert(identity);
    Ok(next.run(request).await)
}

/// A method no access rule names on a path that rules name with others: `405` with `Allow`
/// (the route exists, this method does not; no token changes that).
fn method_not_allowed(methods: &[String]) -> Response {
    let allowed = methods.join(", ");
    let error = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("this route answers {allowed}"),
    );
    let mut response = error.into_response();
    if let Ok(value) = HeaderValue::from_str(&allowed) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

/// Answers CORS preflights and marks responses for the allowed origins.
pub async fn cors(State(edge): State<Edge>, request: Request, next: Next) -> Response {
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .filter(|o| edge.cors.allowed_origins.iter().any(|a| a == o))
        .and_then(|o| HeaderValue::from_str(o).ok());
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = if preflight {
        match &origin {
            Some(_) => StatusCode::NO_CONTENT.into_response(),
            None => return StatusCode::FORBIDDEN.into_response(),
        }
    } else {
        next.run(request).await
    };
    if let Some(origin) = origin {
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("x-request-id, retry-after, location, traceparent"),
        );
        if preflight {
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET, POST, PUT, DELETE, OPTIONS"),
            );
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static(
                    "authorization, content-type, idempotency-key, x-request-id, traceparent",
                ),
            );
            headers.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("600"),
            );
        }
    }
    response
}

/// The identity headers the services trust (set only here; anything a client sends is removed):
/// subject, roles, and each scoping claim of a caller with the claim's role — never for admins,
/// who are not scoped.
pub fn identity_headers(identity: &Identity, scoping: &[ScopingClaim]) -> Vec<(String, String)> {
    let mut headers = vec![
        (
            "x-msa-subject".to_owned(),
            identity.subject().unwrap_or_default().to_owned(),
        ),
        ("x-msa-roles".to_owned(), identity.roles().join(",")),
    ];
    if !identity.has_role("admin") {
        for scope in scoping {
            if identity.has_role(&scope.role)
                && let Some(value) = identity.claim(&scope.name)
            {
                headers.push((format!("x-msa-{}", scope.name), value.to_owned()));
            }
        }
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_refuses_with_a_wait() {
        let limiter = MemoryRateLimiter::new(RateLimitSettings {
            per_second: 1.0,
            burst: 3.0,
            store: String::new(),
        });
        for _ in 0..3 {
            assert!(limiter.take("a").is_ok());
        }
        let wait = limiter.take("a").unwrap_err();
        assert!(wait > 0.0 && wait <= 1.0);
        assert!(limiter.take("b").is_ok(), "clients have their own budgets");
    }

    #[test]
    fn scoped_roles_get_their_claims_forwarded_but_admins_do_not() {
        let scoping = vec![kernel::manifest::ScopingClaim {
            name: "customer".into(),
            role: "customer".into(),
            token_claim: None,
            subject_fallback: true,
        }];
        let customer = Identity::new(
            "kim".into(),
            vec!["customer".into()],
            vec![("customer".into(), "kim".into())],
        );
        assert!(
            identity_headers(&customer, &scoping)
                .contains(&("x-msa-customer".to_owned(), "kim".to_owned()))
        );
        let admin = Identity::new(
            "admin".into(),
            vec!["admin".into(), "customer".into()],
            vec![("customer".into(), "admin".into())],
        );
        assert!(
            !identity_headers(&admin, &scoping)
                .iter()
                .any(|(h, _)| h == "x-msa-customer")
        );
    }
}
