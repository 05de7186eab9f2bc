//! HTTP edge helpers every service shares: the JSON error type with stable codes, extractors that
//! turn malformed input into those errors, and the middleware that assigns request ids, carries
//! the trace context and records RED metrics.

use crate::context::{self, WorkContext};
use crate::metrics::Metrics;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, request::Parts};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::borrow::Cow;
use std::time::Instant;
use tracing::Instrument as _;

/// Header carrying the request id through the gateway to the services.
pub const REQUEST_ID: &str = "x-request-id";
/// W3C trace context header.
pub const TRACEPARENT: &str = "traceparent";
/// The client's idempotency key header (see [`IdempotencyKey`]).
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// An error answer: a status, a stable machine-readable code and a human message, sent as
/// `{"code": ..., "message": ...}`. Server-side causes are logged, never sent.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    code: Cow<'static, str>,
    message: String,
    retry_after: Option<u64>,
    www_authenticate: Option<String>,
    exists: bool,
}

/// The body of every error answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody<'a> {
    /// Stable, machine-readable code (`reservation_not_found`, `payment_busy`, ...).
    code: &'a str,
    /// What happened, for people.
    message: &'a str,
}

impl ApiError {
    /// An error with any status.
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
            retry_after: None,
            www_authenticate: None,
            exists: false,
        }
    }

    /// 400: the request is malformed.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 402: the payment was refused (`code` is the refusal's reason).
    pub fn payment_required(
        code: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        Self::new(StatusCode::PAYMENT_REQUIRED, code, message)
    }

    /// 404: no such resource.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    /// 409: the resource is not in a state that allows this.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// 409 because what the request would create exists already (gRPC: `ALREADY_EXISTS`).
    pub fn already_exists(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            exists: true,
            ..Self::conflict(code, message)
        }
    }

    /// Whether this is [`Self::already_exists`].
    pub fn exists(&self) -> bool {
        self.exists
    }

    /// 422: well-formed but invalid.
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// 503 with `Retry-After`: try again shortly.
    pub fn unavailable(
        code: &'static str,
        message: impl Into<String>,
        retry_after_secs: u64,
    ) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message).with_retry_after(retry_after_secs)
    }

    /// 500: logs the cause with the request id and answers without details.
    pub fn internal(error: anyhow::Error) -> Self {
        let request_id = context::current().request_id.unwrap_or_default();
        tracing::error!(error = format!("{error:#}"), request_id, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("internal error; quote request id {request_id} to the operator"),
        )
    }

    /// Adds a `Retry-After` header.
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds.max(1));
        self
    }

    /// Adds a `WWW-Authenticate` header.
    pub fn with_www_authenticate(mut self, challenge: impl Into<String>) -> Self {
        self.www_authenticate = Some(challenge.into());
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable code.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The human message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// The prefix of the identity headers the gateway sets (and strips from clients).
pub const IDENTITY_PREFIX: &str = "x-msa-";

/// Who calls, as the gateway forwards it: `x-msa-subject`, `x-msa-roles` and one
/// `x-msa-<claim>` header per scoping claim (`customer`, `booth`, ...). Empty when a service is
/// called directly (operators, tests), which is unscoped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Caller {
    subject: Option<String>,
    roles: Vec<String>,
    claims: Vec<(String, String)>,
}

impl Caller {
    /// A caller as a token names it.
    pub fn new(subject: String, roles: Vec<String>, claims: Vec<(String, String)>) -> Self {
        Self {
            subject: Some(subject),
            roles,
            claims,
        }
    }

    /// The caller's roles.
    pub fn roles(&self) -> &[String] {
        &self.roles
    }

    /// The caller's scoping claims: (name, value).
    pub fn claims(&self) -> &[(String, String)] {
        &self.claims
    }

    /// Reads the identity headers.
    pub fn from_headers(headers: &axum::http::HeaderMap) -> Self {
        let mut caller = Caller::default();
        for (name, value) in headers {
            let (Some(claim), Ok(value)) =
                (name.as_str().strip_prefix(IDENTITY_PREFIX), value.to_str())
            else {
                continue;
            };
            match claim {
                "subject" => caller.subject = Some(value.to_owned()),
                "roles" => {
                    caller.roles = value
                        .split(',')
                        .filter(|r| !r.is_empty())
                        .map(str::to_owned)
                        .collect();
                }
                _ => caller.claims.push((claim.to_owned(), value.to_owned())),
            }
        }
        caller
    }

    /// The authenticated subject, if any.
    pub fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
    }

    /// Whether the caller has `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// A scoping claim (`customer`, `booth`, ...): the caller acts only within it.
    pub fn claim(&self, name: &str) -> Option<&str> {
        self.claims
            .iter()
            .find(|(claim, _)| claim == name)
            .map(|(_, value)| value.as_str())
    }

    /// Whom a create acts for: a caller scoped by `claim` (a customer) for themselves, an admin
    /// for whom they `name` (an operator taking an order by phone); anyone else is refused
    /// (403 `<claim>s_only`).
    pub fn acting_for<'a>(
        &'a self,
        claim: &'static str,
        named: Option<&'a str>,
    ) -> Result<&'a str, ApiError> {
        if let Some(own) = self.claim(claim) {
            return Ok(own);
        }
        let valid = |c: &&str| !c.is_empty() && c.len() <= 64;
        match named.filter(valid) {
            Some(named) if self.has_role("admin") => Ok(named),
            _ => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                if claim == "customer" {
                    "customers_only"
                } else {
                    "scoped_callers_only"
                },
                format!("{claim}s act for themselves; operators name the {claim} ({claim}Id)"),
            )),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Caller::from_headers(&parts.headers))
    }
}

/// The client's `Idempotency-Key` header on a create or command `POST`: the same key makes the
/// same resource, so a retry after a lost answer is safe. At most 128 visible ASCII characters;
/// anything else is refused with 400 `invalid_idempotency_key`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IdempotencyKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(IDEMPOTENCY_KEY) else {
            return Ok(Self(None));
        };
        let bytes = value.as_bytes();
        if bytes.is_empty() || bytes.len() > 128 || !bytes.iter().all(u8::is_ascii_graphic) {
            return Err(ApiError::bad_request(
                "invalid_idempotency_key",
                "Idempotency-Key must be 1 to 128 visible ASCII characters",
            ));
        }
        Ok(Self(value.to_str().ok().map(str::to_owned)))
    }
}

/// A page of a list: `limit` items (1 to 100, default 20) after the first `offset`; the cursor a
/// client sends is the `nextCursor` the previous page gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paging {
    /// Items to skip.
    pub offset: u32,
    /// Items to show.
    pub limit: u32,
}

impl Paging {
    /// Reads `limit` and `cursor` query values; bad ones are a 400.
    pub fn parse(limit: Option<u32>, cursor: Option<&str>) -> Result<Self, ApiError> {
        let limit = limit.unwrap_or(20);
        if !(1..=100).contains(&limit) {
            return Err(ApiError::bad_request(
                "invalid_limit",
                "limit must be 1 to 100",
            ));
        }
        let offset = match cursor {
            None => 0,
            Some(cursor) => cursor.parse::<u32>().map_err(|_| {
                ApiError::bad_request("invalid_cursor", "cursor must be a nextCursor we gave")
            })?,
        };
        Ok(Self { offset, limit })
    }

    /// How many to fetch: one more than shown, to know whether a next page exists.
    pub fn fetch(&self) -> u32 {
        self.limit + 1
    }

    /// Cuts `items` (fetched with [`Self::fetch`]) to the page; returns the next page's cursor.
    pub fn cut<T>(&self, items: &mut Vec<T>) -> Option<String> {
        let more = items.len() > self.limit as usize;
        items.truncate(self.limit as usize);
        more.then(|| (self.offset + self.limit).to_string())
    }
}

/// How a domain error is told to clients: one table per error type, read by REST (status and
/// stable code) and by gRPC (through `grpc::status`).
pub trait ErrorCode: std::fmt::Display {
    /// The stable code, e.g. `already_handed_out`.
    fn code(&self) -> &'static str;
    /// The HTTP status; a refusal of the state as it stands is a conflict.
    fn status(&self) -> StatusCode {
        StatusCode::CONFLICT
    }
}

/// A change that cannot be refused.
impl ErrorCode for std::convert::Infallible {
    fn code(&self) -> &'static str {
        match *self {}
    }
}

impl<E: ErrorCode> From<E> for ApiError {
    fn from(error: E) -> Self {
        ApiError::new(error.status(), error.code(), error.to_string())
    }
}

impl<E: ErrorCode> From<crate::aggregate::ChangeError<E>> for ApiError {
    fn from(error: crate::aggregate::ChangeError<E>) -> Self {
        use crate::aggregate::ChangeError;
        match error {
            ChangeError::NotFound { kind, id } => ApiError::new(
                StatusCode::NOT_FOUND,
                format!("{kind}_not_found"),
                format!("no {kind} {id}"),
            ),
            ChangeError::Rejected(rejection) => rejection.into(),
            ChangeError::Exhausted { counter, key } => ApiError::new(
                StatusCode::CONFLICT,
                format!("{counter}_exhausted"),
                format!("not enough {counter} left for {key}"),
            ),
            ChangeError::Duplicate { kind, key } => ApiError::new(
                StatusCode::CONFLICT,
                format!("duplicate_{key}"),
                format!("another {kind} holds this {key}"),
            ),
            ChangeError::Unknown(error) => ApiError::internal(error),
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(error: anyhow::Error) -> Self {
        ApiError::internal(error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&ErrorBody {
            code: &self.code,
            message: &self.message,
        })
        .expect("an error body serializes");
        let mut response =
            (self.status, [("content-type", "application/json")], body).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert("retry-after", HeaderValue::from(seconds));
        }
        if let Some(challenge) = self.www_authenticate
            && let Ok(value) = HeaderValue::from_str(&challenge)
        {
            response.headers_mut().insert("www-authenticate", value);
        }
        response
    }
}

/// A JSON body (request or response). As an extractor it rejects bad input with [`ApiError`]s:
/// 415 `unsupported_media_type`, 400 `malformed_json`, 422 `invalid_body` (missing, unknown or
/// mistyped fields), 413 `body_too_large`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as JSON with content-type: application/json",
        ),
        JsonRejection::JsonSyntaxError(e) => ApiError::bad_request("malformed_json", e.body_text()),
        JsonRejection::JsonDataError(e) => ApiError::unprocessable("invalid_body", e.body_text()),
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                e.body_text(),
            )
        }
        other => ApiError::bad_request("invalid_body", other.body_text()),
    }
}

/// Query-string parameters; bad ones are a 400 `invalid_query`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| Query(v))
            .map_err(|e: QueryRejection| ApiError::bad_request("invalid_query", e.body_text()))
    }
}

/// Path parameters; bad ones are a 400 `invalid_path`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| Path(v))
            .map_err(|e: PathRejection| ApiError::bad_request("invalid_path", e.body_text()))
    }
}

/// The answer for routes that do not exist.
pub async fn not_found() -> ApiError {
    ApiError::not_found("route_not_found", "no such route")
}

/// The answer for a known route called with the wrong method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed on this route",
    )
}

fn header(request: &Request, name: &str) -> Option<String> {
    request
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// While the service drains, every HTTP/1 answer asks the client to close its connection, so a
/// keep-alive client moves to another replica (or to the process that took over a shared
/// listener) instead of finding its idle connection closed under it.
pub async fn close_when_draining(
    State(draining): State<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    request: Request,
    next: Next,
) -> Response {
    let http1 = request.version() <= axum::http::Version::HTTP_11;
    let mut response = next.run(request).await;
    if http1 && draining.load(std::sync::atomic::Ordering::SeqCst) {
        response.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
    }
    response
}

/// Middleware: request id, trace context, a span with both, and RED metrics per route.
pub async fn observe(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = request.method().as_str().to_owned();
    let request_id = header(&request, REQUEST_ID)
        .filter(|id| !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    // The request's server span, a child of the caller's span (or the root of a new trace): its
    // traceparent is what the handler's calls and events carry.
    let incoming = header(&request, TRACEPARENT);
    let mut server =
        crate::trace::Span::start(crate::trace::SpanKind::Server, incoming.as_deref(), || {
            format!("{method} {route}")
        });
    if server.is_recording() {
        server.set("http.request.method", method.as_str());
        server.set("http.route", route.as_str());
        server.set("url.path", request.uri().path());
    }
    let traceparent = server.traceparent();
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %method,
        route = %route,
        trace_id = context::trace_id(&traceparent).unwrap_or_default(),
        correlation = tracing::field::Empty,
    );
    let work = WorkContext {
        request_id: Some(request_id.clone()),
        traceparent: Some(traceparent.clone()),
        causation: None,
    };
    // The handler runs in its own task: a client that hangs up (or times out) does not cancel it
    // halfway through a transaction, so what was accepted is finished or rolled back properly,
    // and a panic becomes a 500 instead of a dropped connection.
    let handled = tokio::spawn(context::scope(
        work,
        next.run(request).instrument(span.clone()),
    ));
    let mut response = match handled.await {
        Ok(response) => response,
        Err(error) => span.in_scope(|| {
            ApiError::internal(anyhow::anyhow!("the handler failed: {error}")).into_response()
        }),
    };
    let status = response.status();
    server.answered(status.as_u16());
    server.end();
    let elapsed = started.elapsed().as_secs_f64();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    if let Ok(value) = HeaderValue::from_str(&traceparent) {
        response.headers_mut().insert(TRACEPARENT, value);
    }
    metrics.increment(
        "http_requests_total",
        "HTTP requests by route, method and status.",
        &[
            ("route", &route),
            ("method", &method),
            ("status", status.as_str()),
        ],
        1,
    );
    metrics.observe(
        "http_request_duration_seconds",
        "HTTP request latency by route.",
        &[("route", &route)],
        elapsed,
    );
    span.in_scope(|| {
        if status.is_server_error() {
            tracing::warn!(
                status = status.as_u16(),
                elapsed_ms = elapsed * 1000.0,
                "request failed"
            );
        } else if status.is_client_error() {
            tracing::info!(
                status = status.as_u16(),
                elapsed_ms = elapsed * 1000.0,
                "request refused"
            );
        } else {
            tracing::debug!(
                status = status.as_u16(),
                elapsed_ms = elapsed * 1000.0,
                "request finished"
            );
        }
    });
    response
}

/// Records the correlation key (e.g. the reservation id) on the current request's span.
pub fn record_correlation(key: &str) {
    tracing::Span::current().record("correlation", key);
}
