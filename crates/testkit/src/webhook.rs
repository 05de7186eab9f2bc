//! A webhook receiver on a free local port, as a notification's receiver would run it: it
//! records every delivery's `Idempotency-Key`, fails the first few on request (503), and takes
//! each key's message once.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Inbox {
    failures_left: Arc<Mutex<u32>>,
    keys: Arc<Mutex<Vec<String>>>,
    bodies: Arc<Mutex<Vec<String>>>,
    taken: Arc<Mutex<BTreeMap<String, String>>>,
}

/// A running receiver.
#[derive(Clone)]
pub struct Receiver {
    /// Where it takes messages (`POST`).
    pub url: String,
    inbox: Inbox,
}

async fn receive(State(inbox): State<Inbox>, headers: HeaderMap, body: String) -> StatusCode {
    let key = headers
        .get("idempotency-key")
        .and_then(|k| k.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    inbox.keys.lock().unwrap().push(key.clone());
    inbox.bodies.lock().unwrap().push(body.clone());
    let mut failures = inbox.failures_left.lock().unwrap();
    if *failures > 0 {
        *failures -= 1;
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    inbox.taken.lock().unwrap().entry(key).or_insert(body);
    StatusCode::OK
}

impl Receiver {
    /// Starts a receiver that fails the next `failures` deliveries.
    pub async fn start(failures: u32) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let inbox = Inbox::default();
        *inbox.failures_left.lock().unwrap() = failures;
        let routes = axum::Router::new()
            .route("/hook", post(receive))
            .with_state(inbox.clone());
        tokio::spawn(async move { axum::serve(listener, routes).await });
        Self { url, inbox }
    }

    /// Fails the next `failures` deliveries.
    pub fn fail_next(&self, failures: u32) {
        *self.inbox.failures_left.lock().unwrap() = failures;
    }

    /// Every delivery's key, in arrival order (retries and redeliveries included).
    pub fn keys(&self) -> Vec<String> {
        self.inbox.keys.lock().unwrap().clone()
    }

    /// Every delivery's body, in arrival order (for senders without idempotency keys, such as
    /// Alertmanager).
    pub fn bodies(&self) -> Vec<String> {
        self.inbox.bodies.lock().unwrap().clone()
    }

    /// The messages taken, one per distinct key: key → body.
    pub fn taken(&self) -> BTreeMap<String, String> {
        self.inbox.taken.lock().unwrap().clone()
    }
}
