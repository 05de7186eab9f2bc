//! Fault injection for any service, for breaker and reconciliation drills: an error rate
//! answered `503 injected_fault` before the handler runs (nothing changes), and a latency added
//! after the handler ran (so a caller's deadline can expire on a command that was done — the
//! case reconciliation exists for). Both apply to the service's commands (`POST`, `PUT`, `PATCH`
//! and `DELETE` on `/api/...`). Set at start by `[faults]` (`MSA__FAULTS__LATENCY_MS`,
//! `MSA__FAULTS__ERROR_RATE`) and switched at run time by `PUT /admin/faults`.

use crate::http::{ApiError, Json};
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// The faults injected into a service's commands.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields, rename_all(serialize = "camelCase"))]
pub struct Faults {
    /// Added latency in milliseconds.
    #[serde(alias = "latencyMs")]
    pub latency_ms: u64,
    /// Share of commands (0..=1) failed with 503.
    #[serde(alias = "errorRate")]
    pub error_rate: f64,
}

/// The faults in force, shared by the middleware and the admin API.
#[derive(Debug, Clone, Default)]
pub struct FaultSwitch(Arc<RwLock<Faults>>);

impl FaultSwitch {
    /// A switch starting at `faults`.
    pub fn new(faults: Faults) -> Self {
        Self(Arc::new(RwLock::new(faults)))
    }

    fn get(&self) -> Faults {
        self.0.read().expect("faults lock").clone()
    }
}

/// The middleware injecting the faults in force.
pub async fn inject(State(switch): State<FaultSwitch>, request: Request, next: Next) -> Response {
    let command = [Method::POST, Method::PUT, Method::PATCH, Method::DELETE]
        .contains(request.method())
        && request.uri().path().starts_with("/api/");
    let faults = switch.get();
    if !command || faults == Faults::default() {
        return next.run(request).await;
    }
    if faults.error_rate > 0.0 && fastrand::f64() < faults.error_rate {
        return ApiError::unavailable(
            "injected_fault",
            "the service is failing on purpose (fault injection)",
            1,
        )
        .into_response();
    }
    let response = next.run(request).await;
    if faults.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.latency_ms)).await;
    }
    response
}

/// `PUT /admin/faults`: switches the faults in force.
pub async fn set(
    State(switch): State<FaultSwitch>,
    Json(faults): Json<Faults>,
) -> Result<Json<Faults>, ApiError> {
    if !(0.0..=1.0).contains(&faults.error_rate) {
        return Err(ApiError::unprocessable(
            "invalid_error_rate",
            "errorRate must be between 0 and 1",
        ));
    }
    tracing::warn!(
        latency_ms = faults.latency_ms,
        error_rate = faults.error_rate,
        "fault injection changed"
    );
    *switch.0.write().expect("faults lock") = faults.clone();
    Ok(Json(faults))
}

/// `GET /admin/faults`: the faults in force.
pub async fn get(State(switch): State<FaultSwitch>) -> Json<Faults> {
    Json(switch.get())
}
