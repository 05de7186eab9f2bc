//! The careful client of a chaos run: one `Idempotency-Key` per intended command, repeated with
//! the same key on a 5xx, a 429 or no answer until an answer comes or its patience runs out; every
//! attempt is counted by outcome for the result table.

use reqwest::Method;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long one intended command is retried before the client gives up on it.
const PATIENCE: Duration = Duration::from_secs(60);

/// What a request ended with: its status (0: no answer) and body.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    /// A 2xx.
    pub(crate) fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body's string field `name`, or "".
    pub(crate) fn text(&self, name: &str) -> String {
        self.body[name].as_str().unwrap_or_default().to_owned()
    }
}

/// Requests by outcome, retries and abandoned commands.
#[derive(Debug, Default, Clone)]
pub(crate) struct Tally {
    /// `2xx`, `4xx 409`, `5xx 503`, `no answer`, per attempt.
    pub outcomes: BTreeMap<String, u64>,
    /// Attempts after the first one of a command.
    pub retries: u64,
    /// Commands that never got an answer other than 5xx or none within the patience.
    pub abandoned: u64,
    /// Intended commands.
    pub commands: u64,
}

/// The gateway, reached carefully, counting every attempt.
pub(crate) struct Careful {
    http: reqwest::Client,
    gateway: String,
    tally: Mutex<Tally>,
    /// Commands intended per path, over the whole run.
    sent: Mutex<BTreeMap<String, u64>>,
}

fn outcome(status: u16) -> String {
    match status {
        0 => "no answer".to_owned(),
        200..=299 => "2xx".to_owned(),
        status => format!("{}xx {status}", status / 100),
    }
}

/// A 5xx, a 429 or no answer: the command may be repeated with its key.
fn retryable(status: u16) -> bool {
    status == 0 || status == 429 || status >= 500
}

impl Careful {
    pub(crate) fn new(gateway: String) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("a plain client builds");
        Self {
            http,
            gateway,
            tally: Mutex::new(Tally::default()),
            sent: Mutex::new(BTreeMap::new()),
        }
    }

    /// What was counted so far; `reset` starts again from zero (the checks after the load are
    /// not part of its table).
    pub(crate) fn tally(&self, reset: bool) -> Tally {
        let mut tally = self.tally.lock().expect("tally lock");
        let now = tally.clone();
        if reset {
            *tally = Tally::default();
        }
        now
    }

    async fn attempt(
        &self,
        method: &Method,
        token: &str,
        path: &str,
        key: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value, Option<Duration>) {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.gateway))
            .bearer_auth(token);
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let after = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                    .map(Duration::from_secs);
                (status, response.json().await.unwrap_or(Value::Null), after)
            }
            Err(error) => (0, Value::String(error.to_string()), None),
        }
    }

    /// Sends one intended request until it is answered with neither a 5xx nor a 429, or
    /// [`PATIENCE`] runs out (then the last answer).
    pub(crate) async fn send(
        &self,
        method: Method,
        token: &str,
        path: &str,
        key: Option<&str>,
        body: Option<&Value>,
    ) -> Answer {
        let start = Instant::now();
        let mut pause = Duration::from_millis(100);
        let mut retried = false;
        if method == Method::POST {
            self.tally.lock().expect("tally lock").commands += 1;
            *self
                .sent
                .lock()
                .expect("sent lock")
                .entry(path.to_owned())
                .or_default() += 1;
        }
        loop {
            let (status, answer, after) = self.attempt(&method, token, path, key, body).await;
            {
                let mut tally = self.tally.lock().expect("tally lock");
                *tally.outcomes.entry(outcome(status)).or_default() += 1;
                if retried {
                    tally.retries += 1;
                }
                if retryable(status) && start.elapsed() >= PATIENCE {
                    tally.abandoned += 1;
                }
            }
            if !retryable(status) || start.elapsed() >= PATIENCE {
                return Answer {
                    status,
                    body: answer,
                };
            }
            retried = true;
            let jitter = Duration::from_millis(fastrand::u64(0..100));
            tokio::time::sleep(after.unwrap_or(pause).min(Duration::from_secs(2)) + jitter).await;
            pause = (pause * 2).min(Duration::from_secs(2));
        }
    }

    /// How many commands were intended on `path` in the whole run (however they ended).
    pub(crate) fn sent(&self, path: &str) -> u64 {
        let sent = self.sent.lock().expect("sent lock");
        sent.get(path).copied().unwrap_or(0)
    }

    /// A command: `POST path` with `body` under the idempotency key `key`.
    pub(crate) async fn command(&self, token: &str, path: &str, key: &str, body: Value) -> Answer {
        self.send(Method::POST, token, path, Some(key), Some(&body))
            .await
    }

    /// A read, retried as carefully (reads are safe).
    pub(crate) async fn read(&self, token: &str, path: &str) -> Answer {
        self.send(Method::GET, token, path, None, None).await
    }

    /// Every item of a list route, following `nextCursor` (the kernel's paged lists) or taking a
    /// plain array as it is (the first page is asked for as `path` says, since a route that is
    /// not paged refuses parameters it does not know); `None` when a page could not be read.
    pub(crate) async fn list(&self, token: &str, path: &str) -> Option<Vec<Value>> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let separator = if path.contains('?') { '&' } else { '?' };
            let page = match &cursor {
                Some(cursor) => format!("{path}{separator}limit=100&cursor={cursor}"),
                None => path.to_owned(),
            };
            let answer = self.read(token, &page).await;
            if !answer.ok() {
                return None;
            }
            match answer.body {
                Value::Array(all) => return Some(all),
                Value::Object(object) => {
                    for value in object.values() {
                        if let Value::Array(page) = value {
                            items.extend(page.iter().cloned());
                        }
                    }
                    match object.get("nextCursor").and_then(Value::as_str) {
                        Some(next) => cursor = Some(next.to_owned()),
                        None => return Some(items),
                    }
                }
                _ => return None,
            }
        }
    }
}
