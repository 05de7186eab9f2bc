//! The token attacks every system's gateway must turn away, written once: no token, another
//! scheme, garbage, expired, not yet valid, signed by another key, for another audience or
//! issuer, an unknown key id, `alg: none`, and claims tampered after signing — each a 401 with a
//! `WWW-Authenticate: Bearer` challenge and a stable code — while a token the issuer's own key
//! signs passes; a refresh token used twice revokes its family; and the rate limit holds.

use super::TestSystem;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

impl TestSystem {
    /// Signs `claims` with the embedded issuer's own key and key id `kid`, as if it had issued
    /// them.
    fn forge(&self, kid: &str, claims: &Value) -> String {
        let key = self
            .dir
            .path()
            .join(&self.manifest.name)
            .join("auth/signing-key.pem");
        let pem = std::fs::read_to_string(&key).unwrap();
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = STANDARD.decode(body).unwrap();
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_ed_der(&der)).unwrap()
    }

    /// An operator's claims from this system's issuer, with `overrides`.
    fn claims(&self, overrides: Value) -> Value {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut claims = json!({
            "iss": self.gateway(),
            "sub": "forger",
            "aud": "msa-api",
            "exp": now + 600,
            "iat": now,
            "nbf": now,
            "roles": ["admin"],
        });
        for (key, value) in overrides.as_object().unwrap() {
            claims[key] = value.clone();
        }
        claims
    }

    async fn answer_with(&self, path: &str, authorization: Option<&str>) -> reqwest::Response {
        let mut request = self.client.get(format!("{}{path}", self.gateway()));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        request.send().await.unwrap()
    }

    /// Asks `GET path` (a route operators may read) with every kind of bad token: each is a 401
    /// with a Bearer challenge and a stable code; a well-signed operator token passes.
    pub async fn refuses_every_bad_token(&self, path: &str) {
        let jwks: Value = self
            .client
            .get(format!("{}/oauth2/jwks", self.gateway()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let kid = jwks["keys"][0]["kid"].as_str().unwrap().to_owned();
        let bearer = |claims: Value| Some(format!("Bearer {}", self.forge(&kid, &claims)));
        let good = bearer(self.claims(json!({})));
        let answer = self.answer_with(path, good.as_deref()).await;
        assert_eq!(answer.status().as_u16(), 200, "a well-signed token passes");

        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let other_key =
            ring::signature::Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new())
                .unwrap();
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid.clone());
        let wrong_signature = jsonwebtoken::encode(
            &header,
            &self.claims(json!({})),
            &EncodingKey::from_ed_der(other_key.as_ref()),
        )
        .unwrap();
        let alg_none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
            URL_SAFE_NO_PAD.encode(self.claims(json!({})).to_string())
        );
        let tampered = {
            let customer = self.forge(&kid, &self.claims(json!({ "roles": ["customer"] })));
            let parts: Vec<&str> = customer.split('.').collect();
            let promoted =
                URL_SAFE_NO_PAD.encode(self.claims(json!({ "roles": ["admin"] })).to_string());
            format!("{}.{promoted}.{}", parts[0], parts[2])
        };
        let cases = [
            ("missing", None),
            ("not bearer", Some("Basic a2ltOmtpbQ==".to_owned())),
            ("garbage", Some("Bearer not.a.token".to_owned())),
            (
                "expired",
                bearer(
                    self.claims(json!({ "exp": now - 3600, "iat": now - 7200, "nbf": now - 7200 })),
                ),
            ),
            (
                "not yet valid",
                bearer(self.claims(json!({ "nbf": now + 3600 }))),
            ),
            ("wrong signature", Some(format!("Bearer {wrong_signature}"))),
            (
                "wrong audience",
                bearer(self.claims(json!({ "aud": "someone-else" }))),
            ),
            (
                "wrong issuer",
                bearer(self.claims(json!({ "iss": "http://evil.example" }))),
            ),
            (
                "unknown key",
                Some(format!(
                    "Bearer {}",
                    self.forge("no-such-kid", &self.claims(json!({})))
                )),
            ),
            ("alg none", Some(format!("Bearer {alg_none}"))),
            ("tampered claims", Some(format!("Bearer {tampered}"))),
        ];
        for (case, authorization) in cases {
            let response = self.answer_with(path, authorization.as_deref()).await;
            assert_eq!(response.status().as_u16(), 401, "{path}: {case}");
            let challenge = response.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .to_owned();
            assert!(
                challenge.starts_with("Bearer realm=\"msa\""),
                "{case}: {challenge}"
            );
            let body: Value = response.json().await.unwrap();
            assert!(
                ["unauthenticated", "invalid_token"].contains(&body["code"].as_str().unwrap()),
                "{case}: {body}"
            );
        }
    }

    /// A customer signs in (authorization code + PKCE) and refreshes: the refresh token rotates;
    /// the spent one presented again is refused, and with it the newest of its family.
    pub async fn refresh_reuse_revokes_the_family(&self) {
        let customer = self
            .manifest
            .demo_users
            .iter()
            .find(|u| u.roles.iter().any(|r| r == "customer"))
            .expect("a demo customer");
        let password = format!("{}-password", customer.username);
        let tokens = self.sign_in(&customer.username, &password).await;
        let first = tokens["refresh_token"].as_str().unwrap();
        let (status, rotated) = self.refresh(first).await;
        assert_eq!(status, 200, "a refresh token is honoured: {rotated}");
        let newest = rotated["refresh_token"].as_str().unwrap();
        assert_ne!(newest, first, "refresh tokens rotate");
        for (token, what) in [(first, "the spent token"), (newest, "its newest successor")] {
            let (status, refused) = self.refresh(token).await;
            assert_eq!(
                (status, refused["error"].as_str()),
                (400, Some("invalid_grant")),
                "{what} is refused once a spent token came back: {refused}"
            );
        }
    }

    /// A gateway with a burst of five and almost no refill (a second gateway
    /// process of this system) answers a client's sixth request at once with 429 and
    /// `Retry-After`.
    pub async fn rate_limit_holds(&mut self) {
        let limits = [
            ("MSA__RATE_LIMIT__PER_SECOND", "0.01"),
            ("MSA__RATE_LIMIT__BURST", "5"),
        ];
        for (key, value) in limits {
            self.set_service_env("gateway", key, value);
        }
        self.spawn("gateway-limited", "gateway", Some(1)).await;
        self.service_env.retain(|(service, key, _)| {
            service != "gateway" || !limits.iter().any(|(k, _)| k == key)
        });
        self.wait_ready("gateway", Some(1)).await;
        let url = format!("http://127.0.0.1:{}/api/me", self.port("gateway", Some(1)));
        let mut answers = Vec::new();
        for _ in 0..6 {
            let request = self.client.get(&url).bearer_auth(&self.admin_token);
            let response = request.send().await.unwrap();
            let retry_after = response.headers().get("retry-after").is_some();
            answers.push((response.status().as_u16(), retry_after));
        }
        self.stop("gateway-limited").await;
        assert!(
            answers[..5].iter().all(|(status, _)| *status == 200),
            "the burst passes: {answers:?}"
        );
        assert_eq!(
            answers[5],
            (429, true),
            "the request past the burst is refused with Retry-After"
        );
    }
}
