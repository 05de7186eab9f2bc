//! The notification port: tell a recipient (a player, a customer) what happened, in Korean and
//! English, at most once per event per recipient.
//!
//! Two adapters: [`StoredNotifier`] keeps messages per recipient in the service's own store (as
//! kernel aggregates), served by the owning service at `GET /api/notifications`
//! ([`routes`]); [`WebhookNotifier`] POSTs JSON to a URL with retries and backoff, the event id
//! (and recipient) as `Idempotency-Key` so the receiver dedupes: at least once on the wire, once
//! for a receiver that honours the key.

use crate::aggregate::{Aggregate, Cause, Key, Repository, StoreError};
use crate::http::{ApiError, Caller, Json, Query};
use async_trait::async_trait;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// What to tell whom, because of which event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// Who is told (a customer or player id).
    pub recipient: String,
    /// The template's name.
    pub template: &'static str,
    /// Values for the template's `{name}` placeholders.
    pub values: BTreeMap<&'static str, String>,
}

impl Notice {
    /// A notice for `recipient` from `template`.
    pub fn new(recipient: impl Into<String>, template: &'static str) -> Self {
        Self {
            recipient: recipient.into(),
            template,
            values: BTreeMap::new(),
        }
    }

    /// Fills placeholder `{name}` with `value`.
    pub fn with(mut self, name: &'static str, value: impl ToString) -> Self {
        self.values.insert(name, value.to_string());
        self
    }
}

/// Message templates: name → (Korean, English), with `{name}` placeholders.
#[derive(Clone, Debug, Default)]
pub struct Templates(BTreeMap<&'static str, (&'static str, &'static str)>);

impl Templates {
    /// Templates from `(name, Korean, English)` triples.
    pub fn new(templates: &[(&'static str, &'static str, &'static str)]) -> Self {
        Self(
            templates
                .iter()
                .map(|&(name, ko, en)| (name, (ko, en)))
                .collect(),
        )
    }

    /// The notice in Korean and English.
    pub fn render(&self, notice: &Notice) -> anyhow::Result<(String, String)> {
        let (ko, en) = self
            .0
            .get(notice.template)
            .ok_or_else(|| anyhow::anyhow!("no message template {:?}", notice.template))?;
        let fill = |text: &str| {
            notice
                .values
                .iter()
                .fold(text.to_owned(), |text, (name, value)| {
                    text.replace(&format!("{{{name}}}"), value)
                })
        };
        Ok((fill(ko), fill(en)))
    }
}

/// The port.
#[async_trait]
pub trait Notifier: Send + Sync + 'static {
    /// Tells `notice.recipient`, because of the event behind `cause` (at most once per event and
    /// recipient).
    async fn notify(&self, notice: Notice, cause: &Cause) -> anyhow::Result<()>;
}

/// A message as a recipient reads it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// `<event id>:<recipient>`: one message per event per recipient.
    pub id: String,
    /// Who is told.
    pub recipient: String,
    /// The template it was made from.
    pub template: String,
    /// In Korean.
    pub ko: String,
    /// In English.
    pub en: String,
    /// When it was made (milliseconds since the epoch).
    pub at: i64,
    /// Always 1 (messages do not change).
    #[serde(default)]
    version: u64,
}

impl Aggregate for Message {
    type Event = ();
    type Record = Message;
    const KIND: &'static str = "notification";
    const PUBLISHES: &'static [crate::model::Contract] = &[];

    fn id(&self) -> &str {
        &self.id
    }
    fn version(&self) -> u64 {
        self.version
    }
    fn apply(&mut self, _: &(), _: OffsetDateTime) {
        self.version += 1;
    }
    fn record(&self) -> Message {
        self.clone()
    }
    fn restore(record: Message) -> anyhow::Result<Self> {
        Ok(record)
    }
    fn keys(&self) -> Vec<Key> {
        vec![Key::index("recipient", &self.recipient).scored(self.at)]
    }
    fn integration_event(&self, _: &(), _: u64) -> Option<crate::NewEvent> {
        None
    }
}

fn message_id(cause: &Cause, recipient: &str) -> String {
    format!("{}:{recipient}", cause.event_id())
}

/// Keeps messages per recipient in the service's store.
#[derive(Clone, Debug)]
pub struct StoredNotifier {
    messages: Repository<Message>,
    templates: Templates,
}

impl StoredNotifier {
    /// Messages kept in `messages`, made from `templates`.
    pub fn new(messages: Repository<Message>, templates: Templates) -> Self {
        Self {
            messages,
            templates,
        }
    }

    /// A recipient's messages, newest first.
    pub async fn messages(&self, recipient: &str) -> anyhow::Result<Vec<Message>> {
        self.messages.find("recipient", recipient, 200).await
    }
}

#[async_trait]
impl Notifier for StoredNotifier {
    async fn notify(&self, notice: Notice, cause: &Cause) -> anyhow::Result<()> {
        let (ko, en) = self.templates.render(&notice)?;
        let mut message = Message {
            id: message_id(cause, &notice.recipient),
            recipient: notice.recipient,
            template: notice.template.to_owned(),
            ko,
            en,
            at: crate::sql::millis(crate::clock::now()),
            version: 0,
        };
        message.apply(&(), crate::clock::now());
        match self.messages.create(&message, &[()], None).await {
            Ok(()) | Err(StoreError::Duplicate { .. }) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MessagesQuery {
    recipient: Option<String>,
}

/// `GET /api/notifications`: the caller's messages, newest first. A caller scoped by `claim`
/// (e.g. `customer`) sees their own; an operator (role `admin`, or a direct call without the
/// gateway's identity) names `?recipient=`; anyone else is refused.
pub fn routes(notifier: StoredNotifier, claim: &'static str) -> Router {
    Router::new()
        .route(
            "/api/notifications",
            get(
                move |State(notifier): State<StoredNotifier>,
                      caller: Caller,
                      Query(query): Query<MessagesQuery>| async move {
                    let operator = caller.subject().is_none() || caller.has_role("admin");
                    let recipient = match (caller.claim(claim), query.recipient) {
                        (Some(own), _) => own.to_owned(),
                        (None, Some(asked)) if operator => asked,
                        (None, Some(_)) => {
                            return Err(ApiError::new(
                                axum::http::StatusCode::FORBIDDEN,
                                "forbidden",
                                "only operators read another recipient's messages",
                            ));
                        }
                        (None, None) => {
                            return Err(ApiError::bad_request(
                                "missing_recipient",
                                "give ?recipient=...",
                            ));
                        }
                    };
                    Ok::<_, ApiError>(Json(notifier.messages(&recipient).await?))
                },
            ),
        )
        .with_state(notifier)
}

/// Where a webhook is and how hard to try.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookSettings {
    /// The receiver's URL.
    pub url: String,
    /// Attempts before the delivery fails (and the consumer retries the event later).
    pub attempts: u32,
    /// First pause between attempts, doubled each time, in milliseconds.
    pub backoff_ms: u64,
    /// Deadline of one attempt, in milliseconds.
    pub timeout_ms: u64,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            url: String::new(),
            attempts: 5,
            backoff_ms: 200,
            timeout_ms: 3_000,
        }
    }
}

/// POSTs each message as JSON to a webhook.
#[derive(Clone, Debug)]
pub struct WebhookNotifier {
    client: reqwest::Client,
    settings: WebhookSettings,
    templates: Templates,
}

impl WebhookNotifier {
    /// A notifier posting to `settings.url`.
    pub fn new(settings: WebhookSettings, templates: Templates) -> anyhow::Result<Self> {
        anyhow::ensure!(!settings.url.is_empty(), "the webhook needs a url");
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(settings.timeout_ms.max(1)))
            .build()?;
        Ok(Self {
            client,
            settings,
            templates,
        })
    }
}

#[async_trait]
impl Notifier for WebhookNotifier {
    async fn notify(&self, notice: Notice, cause: &Cause) -> anyhow::Result<()> {
        let (ko, en) = self.templates.render(&notice)?;
        let id = message_id(cause, &notice.recipient);
        let body = serde_json::json!({
            "id": id,
            "recipient": notice.recipient,
            "template": notice.template,
            "ko": ko,
            "en": en,
            "subject": cause.subject(),
        });
        let mut pause = Duration::from_millis(self.settings.backoff_ms);
        let mut last = String::new();
        for attempt in 1..=self.settings.attempts.max(1) {
            let sent = self
                .client
                .post(&self.settings.url)
                .header("idempotency-key", &id)
                .json(&body)
                .send()
                .await;
            match sent {
                Ok(response) if response.status().is_success() => return Ok(()),
                Ok(response) => last = format!("answered {}", response.status()),
                Err(error) => last = error.to_string(),
            }
            tracing::warn!(attempt, %id, error = %last, "webhook delivery failed");
            if attempt < self.settings.attempts {
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
        }
        anyhow::bail!(
            "the webhook did not take message {id} after {} attempts: {last}",
            self.settings.attempts
        )
    }
}

/// Either adapter, by configuration: a webhook when its URL is set, else the service's store.
pub fn notifier(
    webhook: &WebhookSettings,
    messages: Repository<Message>,
    templates: Templates,
) -> anyhow::Result<(Arc<dyn Notifier>, StoredNotifier)> {
    let stored = StoredNotifier::new(messages, templates.clone());
    let port: Arc<dyn Notifier> = if webhook.url.is_empty() {
        Arc::new(stored.clone())
    } else {
        Arc::new(WebhookNotifier::new(webhook.clone(), templates)?)
    };
    Ok((port, stored))
}

/// The API document of [`routes`], under `tag`.
pub fn openapi(tag: &str) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::path::{HttpMethod, ParameterIn};
    use utoipa::openapi::{OpenApiBuilder, PathItem, PathsBuilder, ResponseBuilder};
    let summary = "The caller's notifications, newest first (Korean and English)";
    let recipient = [("recipient", ParameterIn::Query)];
    let messages = crate::apidoc::secured(tag, summary.into(), &recipient)
        .response("200", ResponseBuilder::new().description("The messages"))
        .build();
    let item = PathItem::new(HttpMethod::Get, messages);
    OpenApiBuilder::new()
        .paths(PathsBuilder::new().path("/api/notifications", item))
        .build()
}

/// The settings of a service that tells people things (a notice service, a read model that
/// notifies): what every service has, and where its notices go.
#[derive(Clone, Debug, Deserialize)]
pub struct NoticeSettings {
    /// What every service has.
    #[serde(flatten)]
    pub service: crate::ServiceSettings,
    /// A webhook for the notices; unset keeps them in the store, served at `/api/notifications`.
    #[serde(default)]
    pub webhook: WebhookSettings,
}

/// What a notice service's policies tell through: its notifier.
pub struct Notices(Arc<dyn Notifier>);

impl std::fmt::Debug for Notices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Notices")
    }
}

/// Telling people of contracts, as a policy table.
pub trait NoticeTable {
    /// Tells the recipient `notice` names of each contract `E` (once per event and recipient).
    fn tell<E: crate::IntegrationEvent + Send + 'static>(self, notice: fn(E) -> Notice) -> Self;
}

impl NoticeTable for crate::Policies<Notices> {
    fn tell<E: crate::IntegrationEvent + Send + 'static>(self, notice: fn(E) -> Notice) -> Self {
        self.on(
            move |notices: Arc<Notices>, event: E, cause: Cause| async move {
                notices.0.notify(notice(event), &cause).await
            },
        )
    }
}

/// A service that only tells people things, declared: its name, the scoping claim of its
/// recipients, its templates (`(name, Korean, English)`) and its table of notices. It keeps its
/// own store and subscribes on its own, so adding one changes no other service.
#[derive(Clone, Copy, Debug)]
pub struct NoticeService {
    /// `<system>/<service>`.
    pub name: &'static str,
    /// The recipients' scoping claim (`player`).
    pub claim: &'static str,
    /// The templates.
    pub templates: &'static [(&'static str, &'static str, &'static str)],
    /// The table: which contract tells whom what.
    pub table: fn(crate::Policies<Notices>) -> crate::Policies<Notices>,
}

/// A notice service declared by its [`NoticeService`]: `kernel::notify::service::<N>("name")`
/// makes its `ServiceDef`.
pub trait Notifying {
    /// The declaration.
    const NOTICES: NoticeService;
}

/// The `ServiceDef` of notice service `N`, served as `name` in its system's manifest.
pub const fn service<N: Notifying>(name: &'static str) -> crate::ServiceDef {
    crate::ServiceDef {
        name,
        build: |layers| Box::pin(async move { N::NOTICES.assemble(layers.build()?).await }),
        openapi: || openapi("notification"),
        rebuild: None,
    }
}

impl NoticeService {
    /// Assembles the service on the store its settings name: messages kept there and served at
    /// `/api/notifications`, or sent to the webhook when one is set.
    pub async fn assemble(&self, settings: NoticeSettings) -> anyhow::Result<crate::Service> {
        let (service, storage) = crate::Service::open(self.name, settings.service).await?;
        let templates = Templates::new(self.templates);
        let (notifier, stored) = notifier(&settings.webhook, storage.repository(), templates)?;
        let table = (self.table)(crate::Policies::new(Arc::new(Notices(notifier))));
        Ok(service
            .role(crate::model::Role::Notifier)
            .routes(routes(stored, self.claim))
            .react(table))
    }
}
