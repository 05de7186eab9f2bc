//! Document views: a read model (CQRS) written once for every system's "my page". A view is one
//! JSON document per correlation key, folded from the events of several services:
//!
//! ```ignore
//! let table = Policies::new(views)
//!     .fold(|e: contract::BookingStarted| Fold::owned_by(&e.customer_id).set("bookingStatus", "Booked"))
//!     .fold(|e: payment::PaymentApproved| Fold::new().set("paymentStatus", "Approved"));
//! ```
//!
//! Events may come in any order: each source service's fields are taken only from an event newer
//! (by the producer's `sequence`) than the last one folded in from that source, and every event
//! adds a step to the document's timeline. The documents are found by id and by owner (the
//! customer), newest first; [`routes`] serves them, scoped to the caller's claim.

use crate::aggregate::{Aggregate, Cause, ChangeError, Key, Repository};
use crate::envelope::{EventType, IntegrationEvent, NewEvent, type_in};
use crate::http::{ApiError, Caller, Json, Paging, Path, Query};
use crate::policy::Policies;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Index of an owner's documents.
pub const BY_OWNER: &str = "owner";

/// What one event says about its document.
#[derive(Clone, Debug, Default)]
pub struct Fold {
    owner: Option<String>,
    fields: Map<String, Value>,
}

impl Fold {
    /// A fold that names no owner.
    pub fn new() -> Self {
        Self::default()
    }

    /// A fold stating whose document it is.
    pub fn owned_by(owner: &str) -> Self {
        Self {
            owner: Some(owner.to_owned()),
            fields: Map::new(),
        }
    }

    /// Sets field `name` (camelCase, as the API shows it).
    pub fn set(mut self, name: &str, value: impl Serialize) -> Self {
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        self.fields.insert(name.to_owned(), value);
        self
    }
}

/// A fold as applied: the fold and where it came from.
#[derive(Clone, Debug)]
pub struct Folded {
    fold: Fold,
    source: String,
    step: String,
    sequence: u64,
    at: OffsetDateTime,
}

/// One event in a document's timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// `<service>.<event>`, e.g. `payment.approved`.
    pub step: String,
    /// When the event happened.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The producer's sequence.
    pub sequence: u64,
}

/// A view document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// The correlation key.
    pub id: String,
    /// Whose it is, once an event said so.
    pub owner: Option<String>,
    /// The fields the events set.
    pub fields: Map<String, Value>,
    /// The latest sequence folded in per source service.
    pub sequences: BTreeMap<String, u64>,
    /// Every event folded in, in time order.
    pub timeline: Vec<Step>,
    /// Events applied.
    pub version: u64,
    /// The first event's time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The last change.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl Document {
    fn new(id: &str, at: OffsetDateTime) -> Self {
        Self {
            id: id.to_owned(),
            owner: None,
            fields: Map::new(),
            sequences: BTreeMap::new(),
            timeline: Vec::new(),
            version: 0,
            created_at: at,
            updated_at: at,
        }
    }

    /// The document as the API shows it: `id`, the fields, `timeline`, `createdAt`.
    pub fn to_json(&self) -> Value {
        let mut json = self.fields.clone();
        json.insert("id".into(), self.id.clone().into());
        let timeline = self.timeline.iter().map(|s| {
            serde_json::json!({"step": s.step, "at": s.at.format(&Rfc3339).unwrap_or_default()})
        });
        json.insert("timeline".into(), timeline.collect());
        let created = self.created_at.format(&Rfc3339).unwrap_or_default();
        json.insert("createdAt".into(), created.into());
        Value::Object(json)
    }
}

impl Aggregate for Document {
    type Event = Folded;
    type Record = Document;
    const KIND: &'static str = "view";

    fn id(&self) -> &str {
        &self.id
    }

    fn version(&self) -> u64 {
        self.version
    }

    fn apply(&mut self, folded: &Folded, _at: OffsetDateTime) {
        if let Some(owner) = &folded.fold.owner {
            self.owner = Some(owner.clone());
        }
        let latest = self.sequences.entry(folded.source.clone()).or_default();
        if folded.sequence > *latest {
            *latest = folded.sequence;
            for (name, value) in &folded.fold.fields {
                self.fields.insert(name.clone(), value.clone());
            }
        }
        let step = Step {
            step: folded.step.clone(),
            at: folded.at,
            sequence: folded.sequence,
        };
        if !self.timeline.contains(&step) {
            let at = self.timeline.partition_point(|s| s.at <= step.at);
            self.timeline.insert(at, step);
        }
        self.created_at = self.created_at.min(folded.at);
        self.updated_at = self.updated_at.max(folded.at);
        self.version += 1;
    }

    fn record(&self) -> Document {
        self.clone()
    }

    fn restore(record: Document) -> anyhow::Result<Self> {
        Ok(record)
    }

    fn keys(&self) -> Vec<Key> {
        let created = (self.created_at.unix_timestamp_nanos() / 1_000_000) as i64;
        self.owner
            .iter()
            .map(|owner| Key::index(BY_OWNER, owner).scored(created))
            .collect()
    }

    fn integration_event(&self, _: &Folded, _: u64) -> Option<NewEvent> {
        None
    }
}

/// The views of a read model service.
#[derive(Debug)]
pub struct Views {
    repository: Repository<Document>,
}

impl Views {
    /// Views kept in `repository` (make it `generational()` for `msa replay`).
    pub fn new(repository: Repository<Document>) -> Self {
        Self { repository }
    }

    /// One document.
    pub async fn get(&self, id: &str) -> anyhow::Result<Option<Document>> {
        self.repository.get(id).await
    }

    /// An owner's documents, newest first: `limit` of them after the first `offset`.
    pub async fn of_owner(
        &self,
        owner: &str,
        offset: u32,
        limit: u32,
    ) -> anyhow::Result<Vec<Document>> {
        let found = self
            .repository
            .find(BY_OWNER, owner, offset.saturating_add(limit))
            .await?;
        Ok(found.into_iter().skip(offset as usize).collect())
    }

    async fn fold(
        &self,
        folded: Folded,
        cause: &Cause,
    ) -> Result<Document, ChangeError<Infallible>> {
        let id = cause.subject();
        let init = || Document::new(id, folded.at);
        self.repository
            .upsert(id, Some(cause), init, |_| Ok(vec![folded.clone()]))
            .await
    }
}

/// Folding contracts into views, as a policy table.
pub trait FoldTable {
    /// Folds contract `E` into its document (the event's subject) as `fold` says.
    fn fold<E: IntegrationEvent + Send + 'static>(self, fold: fn(E) -> Fold) -> Self;
}

impl FoldTable for Policies<Views> {
    fn fold<E: IntegrationEvent + Send + 'static>(self, fold: fn(E) -> Fold) -> Self {
        let full = type_in("x", E::TYPE);
        let parsed = EventType::parse(&full).expect("a contract type is well formed");
        let source = parsed.service.to_owned();
        let step = format!("{}.{}", parsed.service, parsed.event);
        self.on(move |views: Arc<Views>, event: E, cause: Cause| {
            let folded = Folded {
                fold: fold(event),
                source: source.clone(),
                step: step.clone(),
                sequence: cause.sequence(),
                at: cause.time(),
            };
            async move { views.fold(folded, &cause).await }
        })
    }
}

/// A page of an owner's documents.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PageQuery {
    /// The owner (operators only; others see their own).
    owner: Option<String>,
    /// At most this many (1 to 100, default 20).
    limit: Option<u32>,
    /// Where the previous page ended (its `nextCursor`).
    cursor: Option<String>,
}

struct ViewRoutes {
    views: Arc<Views>,
    claim: &'static str,
    item: &'static str,
}

/// `GET <base>` (the caller's documents, newest first, paged with `limit` and `cursor`) and
/// `GET <base>/<item>/{id}` (one document), scoped to the caller's scoping claim `claim`: callers
/// holding it see their own documents only; operators (without it) name the owner.
pub fn routes(views: Arc<Views>, base: &str, item: &'static str, claim: &'static str) -> Router {
    let state = Arc::new(ViewRoutes { views, claim, item });
    Router::new()
        .route(base, get(page))
        .route(&format!("{base}/{item}/{{id}}"), get(one))
        .with_state(state)
}

async fn page(
    State(routes): State<Arc<ViewRoutes>>,
    caller: Caller,
    Query(query): Query<PageQuery>,
) -> Result<Json<Value>, ApiError> {
    let owner = caller
        .claim(routes.claim)
        .map(str::to_owned)
        .or(query.owner)
        .filter(|o| !o.is_empty())
        .ok_or_else(|| ApiError::bad_request("missing_owner", "give ?owner=..."))?;
    let paging = Paging::parse(query.limit, query.cursor.as_deref())?;
    let mut documents = routes
        .views
        .of_owner(&owner, paging.offset, paging.fetch())
        .await?;
    let next = paging.cut(&mut documents);
    let items: Vec<Value> = documents.iter().map(Document::to_json).collect();
    Ok(Json(serde_json::json!({
        "owner": owner,
        routes.item: items,
        "nextCursor": next,
    })))
}

async fn one(
    State(routes): State<Arc<ViewRoutes>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    crate::http::record_correlation(&id);
    let not_found = || ApiError::not_found("not_found", format!("no {} {id}", routes.item));
    let document = routes.views.get(&id).await?.ok_or_else(not_found)?;
    if let Some(owner) = caller.claim(routes.claim)
        && document.owner.as_deref() != Some(owner)
    {
        return Err(not_found());
    }
    Ok(Json(document.to_json()))
}

/// The API document of [`routes`] at `base` and `item`.
pub fn openapi(base: &str, item: &str, tag: &str) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
    use utoipa::openapi::security::SecurityRequirement;
    use utoipa::openapi::{OpenApiBuilder, PathItem, PathsBuilder, ResponseBuilder};
    let operation = |summary: &str, parameters: Vec<(&str, ParameterIn)>| {
        let mut operation = OperationBuilder::new()
            .tag(tag)
            .summary(Some(summary))
            .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
            .response("200", ResponseBuilder::new().description("The view"))
            .response("400", ResponseBuilder::new().description("Bad query"))
            .response("404", ResponseBuilder::new().description("Not found"));
        for (name, place) in parameters {
            operation = operation.parameter(ParameterBuilder::new().name(name).parameter_in(place));
        }
        operation.build()
    };
    let page = operation(
        "The caller's documents, newest first (paged)",
        vec![
            ("limit", ParameterIn::Query),
            ("cursor", ParameterIn::Query),
            ("owner", ParameterIn::Query),
        ],
    );
    let one = operation(
        "One document with its timeline",
        vec![("id", ParameterIn::Path)],
    );
    OpenApiBuilder::new()
        .paths(
            PathsBuilder::new()
                .path(base, PathItem::new(HttpMethod::Get, page))
                .path(
                    format!("{base}/{item}/{{id}}"),
                    PathItem::new(HttpMethod::Get, one),
                ),
        )
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consumer::EventHandler as _;
    use crate::envelope::Envelope;

    crate::contract! {
        /// A test contract.
        Started = "shop.order.started.v1" { customer_id: String, amount: i64 }
    }
    crate::contract! {
        /// A test contract.
        Shipped = "shop.delivery.shipped.v1" { shipper: String }
    }

    fn envelope<E: IntegrationEvent>(source: &str, event: &E, sequence: u64) -> Envelope {
        let mut envelope = Envelope::of(source, event, "o-1");
        envelope.sequence = sequence;
        envelope
    }

    #[tokio::test]
    async fn events_in_any_order_fold_into_one_document_and_stale_ones_only_into_its_timeline() {
        let storage = crate::sql::Storage::memory("shop/mypage").await.unwrap();
        let views = Arc::new(Views::new(storage.repository()));
        let table = Policies::new(views.clone())
            .fold(|e: Started| {
                Fold::owned_by(&e.customer_id)
                    .set("status", "Started")
                    .set("amount", e.amount)
            })
            .fold(|e: Shipped| Fold::new().set("shipper", e.shipper));
        let shipped = Shipped {
            shipper: "CJ".into(),
        };
        table
            .handle(&envelope("shop/delivery", &shipped, 1))
            .await
            .unwrap();
        let started = |amount| Started {
            customer_id: "kim".into(),
            amount,
        };
        table
            .handle(&envelope("shop/order", &started(5), 2))
            .await
            .unwrap();
        table
            .handle(&envelope("shop/order", &started(1), 1))
            .await
            .unwrap();
        let document = views.get("o-1").await.unwrap().unwrap().to_json();
        assert_eq!(document["amount"], 5, "the stale event set nothing");
        assert_eq!(document["shipper"], "CJ");
        assert_eq!(document["timeline"].as_array().unwrap().len(), 3);
        let mine = views.of_owner("kim", 0, 10).await.unwrap();
        assert_eq!(mine.len(), 1);
        assert!(views.of_owner("lee", 0, 10).await.unwrap().is_empty());
    }
}
