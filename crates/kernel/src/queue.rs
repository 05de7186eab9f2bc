//! A team's work queue over REST, written once (a delivery team's parcels, a barista's drinks):
//! `GET <base>?status=&limit=&cursor=` lists the items oldest first (see
//! [`crate::aggregate::queue_keys`]), `GET <base>/{id}` shows one. A service adds only its
//! team's commands.

use crate::aggregate::{Aggregate, Repository};
use crate::http::{ApiError, Json, Paging, Path, Query};
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Deserialize;
use serde_json::Value;
use std::convert::Infallible;

/// The REST routes of a work queue: where, what a page's list is called, the statuses an item
/// can be in, and how an item shows.
pub struct QueueApi<A: Aggregate> {
    /// Where it is (`/api/drinks`).
    pub base: &'static str,
    /// The list's field in a page (`drinks`).
    pub plural: &'static str,
    /// The statuses a `?status=` may name (`Queued`, `Receipted`, ...).
    pub statuses: &'static [&'static str],
    /// An item as the API shows it.
    pub show: fn(&A) -> Value,
}

impl<A: Aggregate> Clone for QueueApi<A> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<A: Aggregate> Copy for QueueApi<A> {}

type QueueState<A> = (Repository<A>, QueueApi<A>);

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct QueueQuery {
    status: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

impl<A: Aggregate> QueueApi<A> {
    /// `GET <base>` and `GET <base>/{id}` over the items in `store`.
    pub fn routes(self, store: Repository<A>) -> Router {
        Router::new()
            .route(self.base, get(page::<A>))
            .route(&format!("{}/{{id}}", self.base), get(one::<A>))
            .with_state((store, self))
    }

    /// The API document of [`Self::routes`]: `kind` names one item (`drink`), `schema` its
    /// component schema.
    pub fn openapi(&self, kind: &str, schema: &str) -> utoipa::openapi::OpenApi {
        use crate::apidoc::{secured, showing};
        use utoipa::openapi::ResponseBuilder;
        use utoipa::openapi::path::ParameterIn;
        let operation = |summary, parameters: &[_]| secured(kind, summary, parameters);
        let statuses = self.statuses.join(", ");
        let page = operation(
            format!("The {kind} queue, oldest first (paged; status one of {statuses})"),
            &[
                ("limit", ParameterIn::Query),
                ("cursor", ParameterIn::Query),
            ],
        )
        .parameter(crate::apidoc::one_of("status", self.statuses))
        .response(
            "200",
            ResponseBuilder::new()
                .description(format!("{{\"{}\": [...], \"nextCursor\"}}", self.plural)),
        )
        .response(
            "400",
            ResponseBuilder::new().description("invalid_status, bad paging"),
        )
        .build();
        let one = operation(format!("One {kind}"), &[("id", ParameterIn::Path)])
            .response("200", showing(kind, schema))
            .response("404", ResponseBuilder::new().description("not found"))
            .build();
        crate::apidoc::list_and_one(self.base, page, one)
    }
}

async fn page<A: Aggregate>(
    State((store, api)): State<QueueState<A>>,
    Query(query): Query<QueueQuery>,
) -> Result<Json<Value>, ApiError> {
    let status = match query.status.as_deref() {
        Some(status) if !api.statuses.contains(&status) => {
            let message = format!("status is one of {}", api.statuses.join(", "));
            return Err(ApiError::bad_request("invalid_status", message));
        }
        status => status,
    };
    let paging = Paging::parse(query.limit, query.cursor.as_deref())?;
    let mut items = store.queue(status, paging.offset, paging.fetch()).await?;
    let next_cursor = paging.cut(&mut items);
    let shown: Vec<Value> = items.iter().map(api.show).collect();
    Ok(Json(
        serde_json::json!({ api.plural: shown, "nextCursor": next_cursor }),
    ))
}

async fn one<A: Aggregate>(
    State((store, api)): State<QueueState<A>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    crate::http::record_correlation(&id);
    let item = store.get_visible::<Infallible>(&id, |_| true).await?;
    Ok(Json((api.show)(&item)))
}
