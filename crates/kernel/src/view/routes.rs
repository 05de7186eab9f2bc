//! The routes of document views: the owner's page and one document, and `<base>/events`, the
//! server-sent events of the caller's changes; and their API document.

use super::{Changed, Views};
use crate::http::{ApiError, Caller, Json, Paging, Path, Query};
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;

struct ViewRoutes {
    views: Arc<Views>,
    claim: &'static str,
}

/// `GET <base>` (the caller's documents, newest first, paged with `limit` and `cursor`) and
/// `GET <base>/<kind>s/{id}` (one document), scoped to the caller's scoping claim `claim`: callers
/// holding it see their own documents only; operators (without it) name the owner with
/// `?<owner>Id=`.
pub fn routes(views: Arc<Views>, base: &str, claim: &'static str) -> Router {
    let item = format!("{base}/{}s/{{id}}", views.names.kind);
    let state = Arc::new(ViewRoutes { views, claim });
    Router::new()
        .route(base, get(page))
        .route(&format!("{base}/events"), get(events))
        .route(&item, get(one))
        .with_state(state)
}

/// How often an idle event stream says it is alive.
const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(15);

/// `GET <base>/events`: server-sent events for the caller's documents, `changed` with the
/// document's id as each one changes in this process; a comment line every 15 s; after a
/// reconnect with `Last-Event-ID`, the changes missed, or `reset` (look again) when they are no
/// longer known here.
async fn events(
    State(routes): State<Arc<ViewRoutes>>,
    caller: Caller,
    headers: axum::http::HeaderMap,
    Query(mut query): Query<BTreeMap<String, String>>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse as _;
    let names = &routes.views.names;
    let owner = routes.owner(&caller, query.remove(&names.owner_field))?;
    let last: Option<u64> = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let receiver = routes.views.changes.subscribe();
    let (missed, reset) = {
        let recent = routes.views.recent.lock().expect("recent changes");
        let newest = recent.back().map_or(0, |c| c.number);
        let oldest = recent.front().map_or(1, |c| c.number);
        match last {
            None => (Vec::new(), false),
            Some(last) if last > newest || last + 1 < oldest => (Vec::new(), true),
            Some(last) => (
                recent.iter().filter(|c| c.number > last).cloned().collect(),
                false,
            ),
        }
    };
    let id_field = names.id_field.clone();
    let line = move |c: &Changed| {
        let data = serde_json::json!({ id_field.as_str(): c.id });
        format!("id: {}\nevent: changed\ndata: {data}\n\n", c.number)
    };
    let mine = {
        let owner = owner.clone();
        move |c: &Changed| c.owner.as_deref() == Some(owner.as_str())
    };
    let mut first = String::from("retry: 2000\n\n");
    if reset {
        first.push_str("event: reset\ndata: {}\n\n");
    }
    for change in missed.iter().filter(|c| mine(c)) {
        first.push_str(&line(change));
    }
    let stream =
        futures_util::stream::unfold((Some(first), receiver), move |(first, mut receiver)| {
            let (line, mine) = (line.clone(), mine.clone());
            async move {
                if let Some(first) = first {
                    return Some((Ok::<_, Infallible>(first), (None, receiver)));
                }
                use tokio::sync::broadcast::error::RecvError;
                loop {
                    let said = match tokio::time::timeout(HEARTBEAT, receiver.recv()).await {
                        Err(_) => ": heartbeat\n\n".to_owned(),
                        Ok(Ok(change)) if mine(&change) => line(&change),
                        Ok(Ok(_)) => continue,
                        Ok(Err(RecvError::Lagged(_))) => "event: reset\ndata: {}\n\n".to_owned(),
                        Ok(Err(RecvError::Closed)) => return None,
                    };
                    return Some((Ok(said), (None, receiver)));
                }
            }
        });
    let mut response = axum::body::Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(
        "content-type",
        "text/event-stream".parse().expect("a header"),
    );
    headers.insert("cache-control", "no-cache".parse().expect("a header"));
    Ok(response)
}

impl ViewRoutes {
    /// Whose documents the caller reads: their own (the scoping claim), or, for operators, the
    /// owner they name.
    fn owner(&self, caller: &Caller, asked: Option<String>) -> Result<String, ApiError> {
        let names = &self.views.names;
        caller
            .claim(self.claim)
            .map(str::to_owned)
            .or(asked)
            .filter(|o| !o.is_empty())
            .ok_or_else(|| {
                let code = format!("missing_{}_id", names.owner);
                let message = format!("give ?{}=...", names.owner_field);
                ApiError::new(axum::http::StatusCode::BAD_REQUEST, code, message)
            })
    }
}

async fn page(
    State(routes): State<Arc<ViewRoutes>>,
    caller: Caller,
    Query(mut query): Query<BTreeMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let names = &routes.views.names;
    let asked = query.remove(&names.owner_field);
    let limit = match query.remove("limit") {
        None => None,
        Some(limit) => Some(
            limit
                .parse::<u32>()
                .map_err(|_| ApiError::bad_request("invalid_limit", "limit must be 1 to 100"))?,
        ),
    };
    let cursor = query.remove("cursor");
    if let Some(unknown) = query.keys().next() {
        let message = format!("unknown query parameter {unknown:?}");
        return Err(ApiError::bad_request("invalid_query", message));
    }
    let owner = routes.owner(&caller, asked)?;
    let paging = Paging::parse(limit, cursor.as_deref())?;
    let mut documents = routes
        .views
        .of_owner(&owner, paging.offset, paging.fetch())
        .await?;
    let next = paging.cut(&mut documents);
    let items: Vec<Value> = documents.iter().map(|d| d.to_json(names)).collect();
    let mut page = Map::new();
    page.insert(names.owner_field.clone(), owner.into());
    page.insert(format!("{}s", names.kind), items.into());
    page.insert("nextCursor".into(), next.into());
    Ok(Json(Value::Object(page)))
}

async fn one(
    State(routes): State<Arc<ViewRoutes>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    crate::http::record_correlation(&id);
    let names = &routes.views.names;
    let not_found = || {
        let code = format!("{}_not_found", names.kind);
        let message = format!("no {} {id} here", names.kind);
        ApiError::new(axum::http::StatusCode::NOT_FOUND, code, message)
    };
    let document = routes.views.get(&id).await?.ok_or_else(not_found)?;
    if let Some(owner) = caller.claim(routes.claim)
        && document.owner.as_deref() != Some(owner)
    {
        return Err(not_found());
    }
    Ok(Json(document.to_json(names)))
}

/// The API document of [`routes`] at `base` for documents of `kind` owned by `owner`s.
pub fn openapi(base: &str, kind: &str, owner: &str, tag: &str) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::path::{HttpMethod, ParameterIn};
    use utoipa::openapi::{OpenApiBuilder, PathItem, PathsBuilder, ResponseBuilder};
    let operation = |summary: &str, parameters: Vec<(&str, ParameterIn)>| {
        crate::apidoc::secured(tag, summary.to_owned(), &parameters)
            .response("200", ResponseBuilder::new().description("The view"))
            .response("400", ResponseBuilder::new().description("Bad query"))
            .response("404", ResponseBuilder::new().description("Not found"))
            .build()
    };
    let owner_field = format!("{owner}Id");
    let page = operation(
        "The caller's documents, newest first (paged)",
        vec![
            ("limit", ParameterIn::Query),
            ("cursor", ParameterIn::Query),
            (owner_field.as_str(), ParameterIn::Query),
        ],
    );
    let one = operation(
        "One document with its timeline",
        vec![("id", ParameterIn::Path)],
    );
    let live = operation(
        "Server-sent events: `changed` as the caller's documents change (heartbeats, Last-Event-ID)",
        vec![(owner_field.as_str(), ParameterIn::Query)],
    );
    OpenApiBuilder::new()
        .paths(
            PathsBuilder::new()
                .path(base, PathItem::new(HttpMethod::Get, page))
                .path(
                    format!("{base}/events"),
                    PathItem::new(HttpMethod::Get, live),
                )
                .path(
                    format!("{base}/{kind}s/{{id}}"),
                    PathItem::new(HttpMethod::Get, one),
                ),
        )
        .build()
}
