//! The caller's own aggregates over REST, written once (a customer's rentals, a player's missions
//! and wallet entries, the orders of every paying service): `GET <base>?limit=&cursor=` lists the
//! caller's, newest first (see [`owner_key`]), `GET <base>/{id}` shows one of them; someone
//! else's is not found. A caller scoped by the claim sees their own; an operator names the owner
//! (`?<claim>Id=`). A service adds only its own commands.

use crate::aggregate::{Aggregate, Key, Repository};
use crate::http::{ApiError, Caller, Json, Paging, Path, Query};
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::Value;
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// Index of an owner's aggregates, newest first.
pub const BY_OWNER: &str = "owner";

/// The key that lists `owner`'s aggregates newest first (for `Aggregate::keys`), by `created_at`.
pub fn owner_key(owner: &str, created_at: OffsetDateTime) -> Key {
    owner_index(BY_OWNER, owner, created_at)
}

/// [`owner_key`] under another index name (one a service's stored data already uses).
pub fn owner_index(index: &'static str, owner: &str, created_at: OffsetDateTime) -> Key {
    let newest_first = (created_at.unix_timestamp_nanos() / 1_000_000) as i64;
    Key::index(index, owner).scored(newest_first)
}

/// The REST routes of the caller's own aggregates: where, what a page's list is called, the
/// owners' scoping claim, whose an aggregate is, and how it shows.
pub struct OwnedApi<A: Aggregate> {
    /// Where they are (`/api/rentals`).
    pub base: &'static str,
    /// The list's field in a page (`rentals`).
    pub plural: &'static str,
    /// The owners' scoping claim (`customer`, `player`); operators name `?<claim>Id=`.
    pub claim: &'static str,
    /// The index listing an owner's aggregates ([`BY_OWNER`] unless stored data has another).
    pub index: &'static str,
    /// Whose an aggregate is.
    pub owner: fn(&A) -> String,
    /// An aggregate as the API shows it.
    pub show: fn(&A) -> Value,
}

impl<A: Aggregate> Clone for OwnedApi<A> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<A: Aggregate> Copy for OwnedApi<A> {}

type OwnedState<A> = (Repository<A>, OwnedApi<A>);

impl<A: Aggregate> OwnedApi<A> {
    /// `GET <base>` and `GET <base>/{id}` over the aggregates in `store`.
    pub fn routes(self, store: Repository<A>) -> Router {
        Router::new()
            .route(self.base, get(page::<A>))
            .route(&format!("{}/{{id}}", self.base), get(one::<A>))
            .with_state((store, self))
    }

    /// The caller's aggregate `id`: someone else's is not found.
    pub async fn get<E>(
        &self,
        store: &Repository<A>,
        id: &str,
        owner: Option<&str>,
    ) -> Result<A, crate::ChangeError<E>> {
        let api = *self;
        store
            .get_visible(id, |a| owner.is_none_or(|o| o == (api.owner)(a)))
            .await
    }

    /// The API document of [`Self::routes`]: `kind` names one (`rental`), `schema` its
    /// component schema.
    pub fn openapi(&self, kind: &str, schema: &str) -> utoipa::openapi::OpenApi {
        openapi(self.base, self.plural, self.claim, kind, schema)
    }
}

/// The API document of the routes of an [`OwnedApi`] at `base` (its list called `plural`, its
/// owners scoped by `claim`): `kind` names one, `schema` its component schema.
pub fn openapi(
    base: &str,
    plural: &str,
    claim: &str,
    kind: &str,
    schema: &str,
) -> utoipa::openapi::OpenApi {
    use crate::apidoc::{secured, showing};
    use utoipa::openapi::ResponseBuilder;
    use utoipa::openapi::path::ParameterIn;
    let owner = format!("{claim}Id");
    let operation = |summary, parameters: &[_]| {
        let missing = ResponseBuilder::new().description("not found (or someone else's)");
        secured(kind, summary, parameters).response("404", missing)
    };
    let page = operation(
        format!("The caller's {kind}s, newest first (paged; operators name {owner})"),
        &[
            ("limit", ParameterIn::Query),
            ("cursor", ParameterIn::Query),
            (owner.as_str(), ParameterIn::Query),
        ],
    )
    .response(
        "200",
        ResponseBuilder::new().description(format!("{{\"{plural}\": [...], \"nextCursor\"}}")),
    )
    .response("400", ResponseBuilder::new().description("bad query"))
    .build();
    let one = operation(format!("One {kind}"), &[("id", ParameterIn::Path)])
        .response("200", showing(kind, schema))
        .build();
    crate::apidoc::list_and_one(base, page, one)
}

async fn page<A: Aggregate>(
    State((store, api)): State<OwnedState<A>>,
    caller: Caller,
    Query(mut query): Query<BTreeMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let named = query.remove(&format!("{}Id", api.claim));
    let owner = caller
        .claim(api.claim)
        .map(str::to_owned)
        .or(named)
        .ok_or_else(|| {
            let (code, message) = (
                format!("missing_{}_id", api.claim),
                format!("give ?{}Id=...", api.claim),
            );
            ApiError::new(axum::http::StatusCode::BAD_REQUEST, code, message)
        })?;
    let limit = query.remove("limit").map(|v| v.parse::<u32>().unwrap_or(0));
    let cursor = query.remove("cursor");
    if let Some(unknown) = query.keys().next() {
        let message = format!("unknown query parameter {unknown}");
        return Err(ApiError::bad_request("invalid_query", message));
    }
    let paging = Paging::parse(limit, cursor.as_deref())?;
    let mut items = store
        .find_page(api.index, &owner, paging.offset, paging.fetch())
        .await?;
    let next_cursor = paging.cut(&mut items);
    let shown: Vec<Value> = items.iter().map(api.show).collect();
    Ok(Json(
        serde_json::json!({ api.plural: shown, "nextCursor": next_cursor }),
    ))
}

async fn one<A: Aggregate>(
    State((store, api)): State<OwnedState<A>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    crate::http::record_correlation(&id);
    let found = api
        .get::<std::convert::Infallible>(&store, &id, caller.claim(api.claim))
        .await?;
    Ok(Json((api.show)(&found)))
}
