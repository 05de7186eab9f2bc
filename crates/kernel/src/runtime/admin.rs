//! A service's own routes beside its API: liveness, readiness, metrics, the status page
//! (breakers, consumers, outbox backlog) and the operators' consumer controls (dead letters,
//! replay, pause, resume, recent events).

use crate::breaker::CircuitBreaker;
use crate::consumer::{ConsumerGroup, GroupStatus, ReplayOutcome};
use crate::deadletter::DeadLetter;
use crate::health::ReadinessCheck;
use crate::http::{ApiError, Json, Path, Query};
use crate::metrics::Metrics;
use crate::outbox::OutboxSource;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

#[derive(Clone)]
pub(super) struct AdminState {
    pub(super) name: String,
    pub(super) metrics: Metrics,
    pub(super) checks: Arc<Vec<Arc<dyn ReadinessCheck>>>,
    pub(super) draining: Arc<AtomicBool>,
    pub(super) consumers: Arc<Vec<Arc<ConsumerGroup>>>,
    pub(super) breakers: Arc<Vec<CircuitBreaker>>,
    pub(super) relays: Arc<Vec<Arc<dyn OutboxSource>>>,
}

pub(super) fn admin_routes(state: AdminState) -> Router {
    Router::new()
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
        .route("/metrics", get(metrics))
        .route("/admin/status", get(status))
        .route("/admin/deadletters", get(dead_letters))
        .route("/admin/deadletters/{id}/replay", post(replay))
        .route("/admin/events", get(recent_events))
        .route("/admin/consumers/pause", post(pause))
        .route("/admin/consumers/resume", post(resume))
        .with_state(state)
}

async fn live(State(state): State<AdminState>) -> impl IntoResponse {
    Json(serde_json::json!({ "status": "live", "service": state.name }))
}

#[derive(Serialize)]
struct Readiness {
    status: &'static str,
    service: String,
    draining: bool,
    checks: BTreeMap<&'static str, String>,
}

/// A readiness check's verdict when it did not answer within its time.
const TIMED_OUT: &str = "timed out";

async fn readiness(state: &AdminState) -> Readiness {
    let draining = state.draining.load(Ordering::SeqCst);
    let mut checks = BTreeMap::new();
    let mut ok = !draining;
    for check in state.checks.iter() {
        let result = tokio::time::timeout(Duration::from_secs(2), check.check()).await;
        let verdict = match result {
            Ok(Ok(())) => "ok".to_owned(),
            Ok(Err(error)) => {
                ok = false;
                format!("{error:#}")
            }
            Err(_) => {
                ok = false;
                TIMED_OUT.to_owned()
            }
        };
        checks.insert(check.name(), verdict);
    }
    // As a gauge too, so that monitoring sees readiness without probing it separately.
    state.metrics.set(
        "service_ready",
        "1 while the service answers ready (store, bus, migrations, not draining), else 0.",
        &[],
        if ok { 1.0 } else { 0.0 },
    );
    Readiness {
        status: if ok { "ready" } else { "not_ready" },
        service: state.name.clone(),
        draining,
        checks,
    }
}

/// Whether the service is ready now (its readiness checks pass and it is not draining); `None`
/// when a check did not answer in time, which on a starved machine says nothing.
pub(super) async fn is_ready(state: &AdminState) -> Option<bool> {
    let readiness = readiness(state).await;
    if readiness.status == "ready" {
        Some(true)
    } else if readiness.checks.values().any(|v| v == TIMED_OUT) {
        None
    } else {
        Some(false)
    }
}

async fn ready(State(state): State<AdminState>) -> impl IntoResponse {
    let readiness = readiness(&state).await;
    let status = if readiness.status == "ready" {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(readiness))
}

async fn metrics(State(state): State<AdminState>) -> impl IntoResponse {
    // Every scrape evaluates readiness, so that `service_ready` is never older than the scrape.
    readiness(&state).await;
    (
        [("content-type", "text/plain; version=0.0.4; charset=utf-8")],
        state.metrics.render(),
    )
}

#[derive(Serialize)]
struct BreakerStatus {
    dependency: String,
    state: &'static str,
}

#[derive(Serialize)]
struct Status {
    service: String,
    ready: Readiness,
    consumers: Vec<GroupStatus>,
    breakers: Vec<BreakerStatus>,
    outbox_backlog: u64,
    dead_letters: u64,
}

async fn status(State(state): State<AdminState>) -> Result<Json<Status>, ApiError> {
    let mut outbox_backlog = 0;
    for relay in state.relays.iter() {
        outbox_backlog += relay.backlog().await.unwrap_or_default();
    }
    let mut dead_letters = 0;
    for consumer in state.consumers.iter() {
        dead_letters += consumer.dead_letters().parked().await.unwrap_or_default();
    }
    Ok(Json(Status {
        service: state.name.clone(),
        ready: readiness(&state).await,
        consumers: state.consumers.iter().map(|c| c.status()).collect(),
        breakers: state
            .breakers
            .iter()
            .map(|b| BreakerStatus {
                dependency: b.name().to_owned(),
                state: b.state().as_str(),
            })
            .collect(),
        outbox_backlog,
        dead_letters,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupQuery {
    group: Option<String>,
}

fn consumer_of<'a>(
    state: &'a AdminState,
    group: Option<&str>,
) -> Result<&'a Arc<ConsumerGroup>, ApiError> {
    match group {
        Some(group) => state
            .consumers
            .iter()
            .find(|c| c.group() == group)
            .ok_or_else(|| {
                ApiError::not_found("unknown_group", format!("no consumer group {group} here"))
            }),
        None => state
            .consumers
            .first()
            .ok_or_else(|| ApiError::not_found("no_consumer", "this service consumes no events")),
    }
}

async fn dead_letters(
    State(state): State<AdminState>,
    Query(query): Query<GroupQuery>,
) -> Result<Json<Vec<DeadLetter>>, ApiError> {
    let consumer = consumer_of(&state, query.group.as_deref())?;
    Ok(Json(consumer.dead_letters().list().await?))
}

async fn replay(
    State(state): State<AdminState>,
    Path(id): Path<i64>,
    Query(query): Query<GroupQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let consumer = consumer_of(&state, query.group.as_deref())?;
    let outcome = consumer.replay(id).await?;
    let status = match outcome {
        ReplayOutcome::Replayed | ReplayOutcome::AlreadyReplayed => StatusCode::OK,
        ReplayOutcome::NotFound => StatusCode::NOT_FOUND,
        ReplayOutcome::Failed { .. } => StatusCode::CONFLICT,
    };
    Ok((status, Json(outcome)))
}

async fn recent_events(State(state): State<AdminState>) -> Json<Vec<crate::consumer::RecentEvent>> {
    let mut events: Vec<_> = state.consumers.iter().flat_map(|c| c.recent()).collect();
    events.sort_by_key(|event| std::cmp::Reverse(event.handled_at));
    Json(events)
}

async fn pause(State(state): State<AdminState>) -> Json<Vec<GroupStatus>> {
    for consumer in state.consumers.iter() {
        consumer.pause(Duration::from_secs(30)).await;
    }
    Json(state.consumers.iter().map(|c| c.status()).collect())
}

async fn resume(State(state): State<AdminState>) -> Json<Vec<GroupStatus>> {
    for consumer in state.consumers.iter() {
        consumer.resume();
    }
    Json(state.consumers.iter().map(|c| c.status()).collect())
}
