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
use crate::notify::{Notice, Notifier};
use crate::policy::Policies;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

mod routes;
pub use routes::{openapi, routes};

/// Index of an owner's documents.
pub const BY_OWNER: &str = "owner";

/// What one event says about its document.
#[derive(Clone, Debug, Default)]
pub struct Fold {
    owner: Option<String>,
    fields: Map<String, Value>,
    facts: Map<String, Value>,
    rows: Vec<(String, Value)>,
    notices: Vec<Notice>,
    note: Option<String>,
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
            ..Self::default()
        }
    }

    /// Sets field `name` (camelCase, as the API shows it), unless a newer event of the same
    /// source was folded in already: for what changes (a status).
    pub fn set(mut self, name: &str, value: impl Serialize) -> Self {
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        self.fields.insert(name.to_owned(), value);
        self
    }

    /// Sets field `name` whatever the order of events: for what never changes once true (the
    /// terms, a serial handed out, a payment id).
    pub fn fact(mut self, name: &str, value: impl Serialize) -> Self {
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        self.facts.insert(name.to_owned(), value);
        self
    }

    /// Appends `row` (an object; its `at` is the event's time) to the ledger in list field
    /// `name`: every event's row is kept, in event time order whatever order the events came in,
    /// and an event folded in twice adds its row once. For what accumulates (vouchers issued,
    /// stock movements, sales).
    pub fn row(mut self, name: &str, row: impl Serialize) -> Self {
        let row = serde_json::to_value(row).unwrap_or(Value::Null);
        self.rows.push((name.to_owned(), row));
        self
    }

    /// Tells `notice.recipient` of the event (once per event and recipient, through the read
    /// model's notifier; see [`ViewService::notifying`]). A rebuild tells no one.
    pub fn notify(mut self, notice: Notice) -> Self {
        self.notices.push(notice);
        self
    }

    /// A note on the event's timeline step (a reason, a serial).
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
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
    /// A reason, a serial, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// When the view learned of it (the difference to `at` is the event's lag).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub recorded_at: Option<OffsetDateTime>,
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

    /// The document as the API shows it: `<kind>Id`, `<owner>Id`, the fields, `sources` (the
    /// latest sequence per source), `timeline` (`at`, `step`, its `source` and `event`, `detail`),
    /// `createdAt`, `updatedAt`.
    pub fn to_json(&self, names: &Names) -> Value {
        let time = |at: &OffsetDateTime| at.format(&Rfc3339).unwrap_or_default();
        let mut json = self.fields.clone();
        json.insert(names.id_field.clone(), self.id.clone().into());
        json.insert(names.owner_field.clone(), self.owner.clone().into());
        json.insert("sources".into(), serde_json::json!(self.sequences));
        let timeline = self.timeline.iter().map(|s| {
            let (source, event) = s.step.split_once('.').unwrap_or(("", &s.step));
            let mut step = serde_json::json!({"at": time(&s.at), "step": s.step, "source": source, "event": event});
            if let Some(note) = &s.note {
                step["detail"] = note.clone().into();
            }
            if let Some(recorded) = &s.recorded_at {
                step["recordedAt"] = time(recorded).into();
            }
            step
        });
        json.insert("timeline".into(), timeline.collect());
        json.insert("createdAt".into(), time(&self.created_at).into());
        json.insert("updatedAt".into(), time(&self.updated_at).into());
        Value::Object(json)
    }
}

/// What a read model calls its documents and their owners in the API.
#[derive(Clone, Debug)]
pub struct Names {
    /// `reservation`: the id field is `reservationId`, lists are `reservations`, a missing one is
    /// `reservation_not_found`.
    pub kind: String,
    /// `customer`: the owner field and the operators' query parameter are `customerId`.
    pub owner: String,
    id_field: String,
    owner_field: String,
}

impl Names {
    /// Names for documents of `kind` owned by `owner`s (lower-case words).
    pub fn new(kind: &str, owner: &str) -> Self {
        Self {
            kind: kind.to_owned(),
            owner: owner.to_owned(),
            id_field: format!("{kind}Id"),
            owner_field: format!("{owner}Id"),
        }
    }
}

impl Aggregate for Document {
    type Event = Folded;
    type Record = Document;
    const KIND: &'static str = "view";
    const PUBLISHES: &'static [crate::model::Contract] = &[];

    fn id(&self) -> &str {
        &self.id
    }

    fn version(&self) -> u64 {
        self.version
    }

    fn apply(&mut self, folded: &Folded, now: OffsetDateTime) {
        if let Some(owner) = &folded.fold.owner {
            self.owner = Some(owner.clone());
        }
        for (name, value) in &folded.fold.facts {
            self.fields.insert(name.clone(), value.clone());
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
            note: folded.fold.note.clone(),
            recorded_at: Some(now),
        };
        let seen = |s: &Step| (&s.step, s.at, s.sequence) == (&step.step, step.at, step.sequence);
        if !self.timeline.iter().any(seen) {
            let at = self.timeline.partition_point(|s| s.at <= step.at);
            self.timeline.insert(at, step);
            let time = folded.at.format(&Rfc3339).unwrap_or_default();
            for (name, row) in &folded.fold.rows {
                let mut row = row.clone();
                if let Value::Object(fields) = &mut row {
                    fields.insert("at".into(), time.clone().into());
                }
                let ledger = self
                    .fields
                    .entry(name.clone())
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(rows) = ledger {
                    // RFC 3339 times in UTC sort as strings.
                    let at = rows.partition_point(|r| r["at"].as_str() <= Some(time.as_str()));
                    rows.insert(at, row);
                }
            }
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

/// A document that changed in this process: what a live page is told.
#[derive(Clone, Debug)]
struct Changed {
    number: u64,
    owner: Option<String>,
    id: String,
}

/// How many changes a reconnecting page can catch up on.
const RECENT: usize = 1024;

/// The views of a read model service.
pub struct Views {
    repository: Repository<Document>,
    names: Names,
    notifier: Option<Arc<dyn Notifier>>,
    changes: tokio::sync::broadcast::Sender<Changed>,
    recent: std::sync::Mutex<std::collections::VecDeque<Changed>>,
}

impl std::fmt::Debug for Views {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Views").field("names", &self.names).finish()
    }
}

impl Views {
    /// Views kept in `repository` (make it `generational()` for `msa replay`), named as `names`.
    pub fn new(repository: Repository<Document>, names: Names) -> Self {
        Self {
            repository,
            names,
            notifier: None,
            changes: tokio::sync::broadcast::channel(RECENT).0,
            recent: std::sync::Mutex::new(std::collections::VecDeque::new()),
        }
    }

    /// Sends the folds' notices through `notifier`.
    pub fn notifying(mut self, notifier: Arc<dyn Notifier>) -> Self {
        self.notifier = Some(notifier);
        self
    }

    fn announce(&self, document: &Document) {
        let mut recent = self.recent.lock().expect("recent changes");
        let number = recent.back().map_or(1, |c| c.number + 1);
        let changed = Changed {
            number,
            owner: document.owner.clone(),
            id: document.id.clone(),
        };
        if recent.len() == RECENT {
            recent.pop_front();
        }
        recent.push_back(changed.clone());
        let _ = self.changes.send(changed);
    }

    /// What the documents are called.
    pub fn names(&self) -> &Names {
        &self.names
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
        // Told before the fold is stored: a failure retries the event, and the notifier keeps
        // one message per event and recipient however often it is told.
        if let Some(notifier) = &self.notifier {
            for notice in &folded.fold.notices {
                notifier.notify(notice.clone(), cause).await?;
            }
        }
        let id = cause.subject();
        let init = || Document::new(id, folded.at);
        let document = self
            .repository
            .upsert(id, Some(cause), init, |_| Ok(vec![folded.clone()]))
            .await?;
        self.announce(&document);
        Ok(document)
    }
}

/// A read model service of document views, declared: its name, what its documents are called,
/// where it serves them, which claim scopes them, and its fold table.
#[derive(Clone, Copy, Debug)]
pub struct ViewService {
    /// `<system>/<service>`.
    pub name: &'static str,
    /// The documents' kind (`booking`: `bookingId`, `/api/mypage/bookings/{id}`).
    pub kind: &'static str,
    /// Their owners (`customer`: `customerId`), scoped by the scoping claim of that name.
    pub owner: &'static str,
    /// Where the routes are (`/api/mypage`).
    pub base: &'static str,
    /// The fold table.
    pub projection: fn(Arc<Views>) -> Policies<Views>,
    /// Templates of the notices its folds send (`(name, Korean, English)`); none: it tells no one.
    pub notices: &'static [(&'static str, &'static str, &'static str)],
}

/// A read model's settings: what every service has, and where its notices go (the notice
/// services' settings).
pub use crate::notify::NoticeSettings as ViewSettings;

/// A read model service declared by its [`ViewService`]: `kernel::view::service::<M>("mypage")`
/// makes its `ServiceDef`.
pub trait ReadModel {
    /// The declaration.
    const VIEW: ViewService;
}

/// The `ServiceDef` of read model `M`, served as `name` in its system's manifest: built, described
/// and rebuilt (`msa replay`) from its declaration.
pub const fn service<M: ReadModel>(name: &'static str) -> crate::ServiceDef {
    crate::ServiceDef {
        name,
        build: |layers| Box::pin(async move { M::VIEW.assemble(layers.build()?).await }),
        openapi: || M::VIEW.openapi(),
        rebuild: Some(|layers, live, progress| {
            Box::pin(async move { M::VIEW.rebuild(&layers.build()?, &live, progress).await })
        }),
    }
}

impl ViewService {
    /// Declares a read model: its name, its documents' kind and owner, its routes' base, its fold
    /// table.
    pub const fn new(
        name: &'static str,
        kind: &'static str,
        owner: &'static str,
        base: &'static str,
        projection: fn(Arc<Views>) -> Policies<Views>,
    ) -> Self {
        Self {
            name,
            kind,
            owner,
            base,
            projection,
            notices: &[],
        }
    }

    /// Sends the notices its folds make ([`Fold::notify`]) from `templates`, and serves the
    /// stored ones at `/api/notifications` to their owners.
    pub const fn notifying(
        mut self,
        templates: &'static [(&'static str, &'static str, &'static str)],
    ) -> Self {
        self.notices = templates;
        self
    }

    /// What its documents are called.
    pub fn names(&self) -> Names {
        Names::new(self.kind, self.owner)
    }

    /// Assembles the service on the store its settings name (any of the kernel's stores), keeping
    /// its views in generations so that `msa replay` can rebuild them.
    pub async fn assemble(&self, settings: ViewSettings) -> anyhow::Result<crate::Service> {
        let (service, storage) = crate::Service::open(self.name, settings.service).await?;
        let mut service = service.role(crate::model::Role::ReadModel);
        let mut views = Views::new(storage.repository().generational(), self.names());
        if !self.notices.is_empty() {
            let templates = crate::notify::Templates::new(self.notices);
            let (notifier, stored) =
                crate::notify::notifier(&settings.webhook, storage.repository(), templates)?;
            views = views.notifying(notifier);
            service = service.routes(crate::notify::routes(stored, self.owner));
        }
        let views = Arc::new(views);
        Ok(service
            .routes(routes(views.clone(), self.base, self.owner))
            .react((self.projection)(views)))
    }

    /// Rebuilds the views from the start of the stream (see [`crate::projection`]).
    pub async fn rebuild(
        &self,
        settings: &crate::ServiceSettings,
        live: &str,
        progress: impl Fn(String),
    ) -> anyhow::Result<String> {
        let names = self.names();
        let projection = self.projection;
        crate::projection::rebuild_from_start(
            settings,
            self.name,
            live,
            |views| projection(Arc::new(Views::new(views, names.clone()))),
            progress,
        )
        .await
    }

    /// The API document of its routes.
    pub fn openapi(&self) -> utoipa::openapi::OpenApi {
        let mut document = openapi(self.base, self.kind, self.owner, "my page");
        if !self.notices.is_empty() {
            document.merge(crate::notify::openapi("my page"));
        }
        document
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

#[cfg(test)]
#[allow(unreachable_pub)] // the test contracts are `pub`, as every contract is
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
        let views = Arc::new(Views::new(
            storage.repository(),
            Names::new("order", "customer"),
        ));
        let table = Policies::new(views.clone())
            .fold(|e: Started| {
                Fold::owned_by(&e.customer_id)
                    .set("status", "Started")
                    .set("amount", e.amount)
            })
            .fold(|e: Shipped| {
                Fold::new()
                    .set("shipper", e.shipper.clone())
                    .row("parcels", serde_json::json!({"by": e.shipper}))
            });
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
        let document = views
            .get("o-1")
            .await
            .unwrap()
            .unwrap()
            .to_json(views.names());
        assert_eq!(document["amount"], 5, "the stale event set nothing");
        assert_eq!(document["shipper"], "CJ");
        assert_eq!(document["timeline"].as_array().unwrap().len(), 3);
        assert_eq!(
            (&document["orderId"], &document["customerId"]),
            (&"o-1".into(), &"kim".into())
        );
        assert_eq!(document["sources"]["order"], 2);
        assert_eq!(document["timeline"][0]["step"], "delivery.shipped");
        let twice = envelope(
            "shop/delivery",
            &Shipped {
                shipper: "CJ".into(),
            },
            2,
        );
        table.handle(&twice).await.unwrap();
        table.handle(&twice).await.unwrap();
        let document = views.get("o-1").await.unwrap().unwrap();
        let parcels = document.fields["parcels"].as_array().unwrap();
        assert_eq!(parcels.len(), 2, "one ledger row per event: {parcels:?}");
        assert_eq!(parcels[0]["by"], "CJ");
        assert!(parcels[0]["at"].as_str() <= parcels[1]["at"].as_str());
        let mine = views.of_owner("kim", 0, 10).await.unwrap();
        assert_eq!(mine.len(), 1);
        assert!(views.of_owner("lee", 0, 10).await.unwrap().is_empty());
    }
}
