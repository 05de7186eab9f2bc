//! The gateway scales out: two gateway processes of the roaming system, given the same settings
//! (issuer URL, data directory with its signing key, machine client secret) and one shared
//! store, stand behind the test's own round-robin. Every request goes to the next replica, so a
//! code is issued by one and redeemed at the other, a refresh token issued by one is honoured by
//! the other, a reused one is caught whichever replica sees it, and one rate limit holds across
//! both. Only the gateways run: the issuer and the limiter live in them, and `/api/me` is the
//! gateway's own route.

use crate::helpers::{MANIFEST, MSA, Options};
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use testkit::system::{Authorized, TestSystem};
use testkit::unique_name;

/// The budget of one client: this many requests at once, then one per 100 s.
const BURST: usize = 12;

/// Two gateway replicas and the test's round-robin in front of them.
struct Replicas {
    system: TestSystem,
    bases: [String; 2],
    turn: AtomicUsize,
    client: reqwest::Client,
}

impl Replicas {
    /// Starts two gateways sharing the store `store` names (given the fresh system, for its data
    /// directory and unique names).
    async fn start(store: impl FnOnce(&TestSystem) -> String) -> Self {
        let mut system = TestSystem::new(MSA, MANIFEST, Options::default());
        let url = store(&system);
        let burst = BURST.to_string();
        for (key, value) in [
            ("MSA__AUTH__STORE", url.as_str()),
            // The budgets in the same store (`msa up`'s one gateway keeps them in memory).
            ("MSA__RATE_LIMIT__STORE", url.as_str()),
            ("MSA__RATE_LIMIT__PER_SECOND", "0.01"),
            ("MSA__RATE_LIMIT__BURST", burst.as_str()),
        ] {
            system.set_service_env("gateway", key, value);
        }
        // Started together: the first run generates the signing key, and both must use it.
        system.spawn("gateway", "gateway", None).await;
        system.spawn("gateway-2", "gateway", Some(1)).await;
        system.wait_ready("gateway", None).await;
        system.wait_ready("gateway", Some(1)).await;
        let bases = [
            system.gateway(),
            format!("http://127.0.0.1:{}", system.port("gateway", Some(1))),
        ];
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            system,
            bases,
            turn: AtomicUsize::new(0),
            client,
        }
    }

    /// The replica the next request goes to.
    fn next(&self) -> &str {
        &self.bases[self.turn.fetch_add(1, Ordering::SeqCst) % 2]
    }

    /// `POST /oauth2/token` with `form` at the next replica: the status and the answer.
    async fn token(&self, form: &[(&str, &str)]) -> (u16, Value, String) {
        let base = self.next().to_owned();
        let response = self
            .client
            .post(format!("{base}/oauth2/token"))
            .form(form)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap(), base)
    }

    /// Signs in as a browser does (authorization code + PKCE), the form from one replica and the
    /// credentials posted to the other: the code, and the replica that issued it.
    async fn authorize(&self, username: &str, password: &str) -> (Authorized, String) {
        let form = self.next().to_owned();
        let issuer = self.next().to_owned();
        let granted = self
            .system
            .authorize([&form, &issuer], username, password)
            .await;
        (granted, issuer)
    }

    /// `GET /api/me` at the next replica with `token`: the status.
    async fn me(&self, token: &str) -> u16 {
        let response = self
            .client
            .get(format!("{}/api/me", self.next()))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        response.status().as_u16()
    }
}

fn text<'a>(answer: &'a Value, field: &str) -> &'a str {
    answer[field].as_str().unwrap_or_default()
}

/// The web UI's refresh request with `token`.
fn refresh(token: &str) -> [(&'static str, &str); 3] {
    [
        ("grant_type", "refresh_token"),
        ("refresh_token", token),
        ("client_id", "msa-web"),
    ]
}

/// What every pair of replicas must show, on whichever store they share.
async fn two_gateways_behave_as_one(replicas: Replicas) {
    let jwks: Vec<Value> = futures_util::future::join_all(replicas.bases.iter().map(|base| {
        let client = replicas.client.clone();
        async move {
            let response = client.get(format!("{base}/oauth2/jwks")).send().await;
            response.unwrap().json::<Value>().await.unwrap()
        }
    }))
    .await;
    assert_eq!(jwks[0], jwks[1], "both replicas publish the same keys");

    // A code issued by one replica is redeemed at the other, once.
    let (granted, issued_at) = replicas.authorize("kim", "kim-password").await;
    let redeem = granted.redemption();
    let (status, tokens, redeemed_at) = replicas.token(&redeem).await;
    assert_ne!(issued_at, redeemed_at, "the other replica redeems it");
    assert_eq!(status, 200, "{tokens}");

    // A refresh token issued by one replica is honoured by the other.
    let first = text(&tokens, "refresh_token").to_owned();
    let (status, rotated, rotated_at) = replicas.token(&refresh(&first)).await;
    assert_ne!(rotated_at, redeemed_at, "the other replica rotates it");
    assert_eq!(status, 200, "{rotated}");
    let newest = text(&rotated, "refresh_token").to_owned();
    assert_ne!(newest, first, "rotated");

    // The code is spent at both replicas; its access token is accepted by both.
    let (status, again, _) = replicas.token(&redeem).await;
    assert_eq!((status, text(&again, "error")), (400, "invalid_grant"));
    let access = text(&tokens, "access_token");
    assert_eq!(
        [replicas.me(access).await, replicas.me(access).await],
        [200, 200]
    );

    // The rotated token presented again is refused, and its family revoked: the newest token,
    // at either replica, is refused too.
    let (status, reused, _) = replicas.token(&refresh(&first)).await;
    assert_eq!((status, text(&reused, "error")), (400, "invalid_grant"));
    for _ in replicas.bases.iter() {
        let (status, answer, _) = replicas.token(&refresh(&newest)).await;
        assert_eq!((status, text(&answer, "error")), (400, "invalid_grant"));
    }

    // One budget per client, counted across both replicas.
    let (granted, _) = replicas.authorize("lee", "lee-password").await;
    let (status, lee, _) = replicas.token(&granted.redemption()).await;
    assert_eq!(status, 200, "{lee}");
    let lee = text(&lee, "access_token").to_owned();
    let mut statuses = Vec::new();
    for _ in 0..BURST + 4 {
        statuses.push(replicas.me(&lee).await);
    }
    let limited = statuses.iter().position(|s| *s == 429);
    assert_eq!(limited, Some(BURST), "{statuses:?}");
    assert!(statuses[BURST..].iter().all(|s| *s == 429), "{statuses:?}");
    replicas.system.cleanup().await;
}

#[tokio::test]
async fn two_gateways_sharing_a_sqlite_file_behave_as_one() {
    let replicas = Replicas::start(|system| system.dir.sqlite_url("gateway-shared.db")).await;
    two_gateways_behave_as_one(replicas).await;
}

#[tokio::test]
async fn two_gateways_sharing_redis_behave_as_one() {
    let prefix = unique_name("gateway");
    let url = testkit::servers::redis_url(&prefix);
    let replicas = Replicas::start(|_| url.clone()).await;
    two_gateways_behave_as_one(replicas).await;
    let store = kernel::redis::RedisStore::connect(&url, "cleanup")
        .await
        .unwrap();
    store.delete_under("").await.unwrap();
}
