//! The OAuth 2.0 / OIDC endpoints and their state.

use crate::accounts::{Client, User, decoy_hash, verify_password};
use crate::keys::SigningKeys;
use anyhow::Context as _;
use axum::Form;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

mod endpoints;
mod grants;
use endpoints::{authorize_form, authorize_submit, discovery, jwks, revoke, token};
pub use grants::{CodeGrant, GrantStore, MemoryGrantStore, RefreshGrant, Rotation, promises};

/// How the embedded issuer is set up.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IssuerSettings {
    /// The issuer URL (`iss`), where this issuer is reachable: the gateway's public URL.
    pub issuer: String,
    /// Audience of access tokens.
    pub audience: String,
    /// PKCS#8 PEM Ed25519 key; generated on first run when `generate_key` is set.
    pub key_file: String,
    /// Generate `key_file` if it is missing (embedded default; off when the key is a Secret).
    pub generate_key: bool,
    /// Keys of earlier rotations, published for verification only.
    pub previous_key_files: Vec<String>,
    /// Lifetime of access and id tokens, in seconds.
    pub access_token_ttl_s: u64,
    /// Lifetime of refresh tokens, in seconds.
    pub refresh_token_ttl_s: u64,
    /// Offer the demo accounts.
    pub demo_users: bool,
    /// A JSON file `{"users": [...]}` with more users (Argon2id hashes only).
    pub users_file: Option<String>,
    /// Redirect URIs of the web UI client `msa-web`.
    pub web_redirect_uris: Vec<String>,
    /// Secret of the machine client `msa-ops` (client credentials, role admin), from a Secret or
    /// environment variable; when empty, one is generated into `ops_secret_file`.
    pub ops_client_secret: String,
    /// Where a generated `msa-ops` secret is written (mode 0600); never logged.
    pub ops_secret_file: String,
}

impl Default for IssuerSettings {
    fn default() -> Self {
        Self {
            issuer: "http://127.0.0.1:8080".to_owned(),
            audience: "msa-api".to_owned(),
            key_file: "data/auth/signing-key.pem".to_owned(),
            generate_key: true,
            previous_key_files: Vec::new(),
            access_token_ttl_s: 900,
            refresh_token_ttl_s: 8 * 3600,
            demo_users: true,
            users_file: None,
            web_redirect_uris: Vec::new(),
            ops_client_secret: String::new(),
            ops_secret_file: "data/auth/ops-client-secret".to_owned(),
        }
    }
}

/// The web UI's client id.
pub(crate) const WEB_CLIENT: &str = "msa-web";
/// The machine client's id.
pub(crate) const OPS_CLIENT: &str = "msa-ops";

/// How long an authorization code may wait for its token request.
const CODE_TTL: Duration = Duration::from_secs(60);

/// The issuer: keys, accounts and the grants in flight.
#[derive(Clone)]
pub struct Issuer {
    settings: Arc<IssuerSettings>,
    keys: Arc<SigningKeys>,
    users: Arc<HashMap<String, User>>,
    clients: Arc<HashMap<String, Client>>,
    grants: Arc<dyn GrantStore>,
}

impl std::fmt::Debug for Issuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issuer")
            .field("issuer", &self.settings.issuer)
            .finish()
    }
}

#[derive(Deserialize)]
struct UsersFile {
    users: Vec<User>,
}

pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .expect("the system has randomness");
    URL_SAFE_NO_PAD.encode(bytes)
}

fn now_seconds() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Access token claims.
#[derive(Serialize)]
struct AccessClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: i64,
    iat: i64,
    nbf: i64,
    jti: String,
    azp: &'a str,
    scope: &'a str,
    roles: &'a [String],
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    claims: Option<&'a std::collections::BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    preferred_username: Option<&'a str>,
}

/// An OAuth error answer (RFC 6749 §5.2).
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut response = (
        status,
        axum::Json(json!({ "error": error, "error_description": description })),
    )
        .into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        "no-store".parse().expect("a header value"),
    );
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            "Basic realm=\"msa\"".parse().expect("a header value"),
        );
    }
    response
}

impl Issuer {
    /// Loads keys and accounts; `demo` are the system's demo accounts (used when
    /// `demo_users` is on).
    pub fn new(settings: IssuerSettings, demo: Vec<User>) -> anyhow::Result<Self> {
        let keys = SigningKeys::load(
            &PathBuf::from(&settings.key_file),
            settings.generate_key,
            &settings.previous_key_files,
        )?;
        let mut users = HashMap::new();
        if settings.demo_users {
            for user in demo {
                users.insert(user.username.clone(), user);
            }
        }
        if let Some(file) = &settings.users_file {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read users file {file}"))?;
            let parsed: UsersFile = serde_json::from_str(&text)
                .with_context(|| format!("users file {file} is not valid"))?;
            for user in parsed.users {
                users.insert(user.username.clone(), user);
            }
        }
        let ops_secret = if settings.ops_client_secret.is_empty() {
            ops_secret_from_file(&settings.ops_secret_file)?
        } else {
            settings.ops_client_secret.clone()
        };
        let mut web_redirects = settings.web_redirect_uris.clone();
        if web_redirects.is_empty() {
            web_redirects.push(format!("{}/", settings.issuer.trim_end_matches('/')));
        }
        let clients = [
            Client {
                id: WEB_CLIENT.to_owned(),
                secret_hash: None,
                redirect_uris: web_redirects,
                roles: Vec::new(),
            },
            Client {
                id: OPS_CLIENT.to_owned(),
                secret_hash: Some(crate::accounts::hash_password(&ops_secret)),
                redirect_uris: Vec::new(),
                roles: vec!["admin".to_owned()],
            },
        ]
        .into_iter()
        .map(|c| (c.id.clone(), c))
        .collect();
        Ok(Self {
            settings: Arc::new(settings),
            keys: Arc::new(keys),
            users: Arc::new(users),
            clients: Arc::new(clients),
            grants: Arc::new(MemoryGrantStore::default()),
        })
    }

    /// The same issuer keeping codes and refresh tokens in `grants` (a store every replica of
    /// the gateway shares) instead of this process's memory.
    pub fn with_grants(mut self, grants: Arc<dyn GrantStore>) -> Self {
        self.grants = grants;
        self
    }

    /// The issuer URL.
    pub fn issuer(&self) -> &str {
        &self.settings.issuer
    }

    /// The public keys (JWKS).
    pub fn jwks(&self) -> serde_json::Value {
        self.keys.jwks()
    }

    /// The claims its tokens carry.
    fn claims_supported(&self) -> Vec<String> {
        let mut claims: Vec<String> = ["sub", "name", "preferred_username", "roles"]
            .map(str::to_owned)
            .to_vec();
        let mut extra: Vec<String> = self
            .users
            .values()
            .flat_map(|user| user.claims.keys().cloned())
            .collect();
        extra.sort();
        extra.dedup();
        claims.extend(extra);
        claims
    }

    /// The OpenID Connect discovery document.
    pub fn discovery(&self) -> serde_json::Value {
        let base = self.settings.issuer.trim_end_matches('/');
        json!({
            "issuer": self.settings.issuer,
            "authorization_endpoint": format!("{base}/oauth2/authorize"),
            "token_endpoint": format!("{base}/oauth2/token"),
            "revocation_endpoint": format!("{base}/oauth2/revoke"),
            "jwks_uri": format!("{base}/oauth2/jwks"),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["EdDSA"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "scopes_supported": ["openid", "profile", "offline_access"],
            "claims_supported": self.claims_supported(),
        })
    }

    /// The endpoints, to be mounted at the root of the issuer URL.
    pub fn routes(&self) -> Router {
        Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/oauth2/jwks", get(jwks))
            .route(
                "/oauth2/authorize",
                get(authorize_form).post(authorize_submit),
            )
            .route("/oauth2/token", post(token))
            .route("/oauth2/revoke", post(revoke))
            .with_state(self.clone())
    }

    fn issue(
        &self,
        client_id: &str,
        user: Option<&User>,
        client_roles: &[String],
        scope: &str,
        nonce: Option<&str>,
    ) -> anyhow::Result<(String, Option<String>)> {
        let now = now_seconds();
        let ttl = self.settings.access_token_ttl_s as i64;
        let sub = user.map_or(client_id, |u| u.username.as_str());
        let roles = user.map_or(client_roles, |u| u.roles.as_slice());
        let access = self.keys.sign(&AccessClaims {
            iss: &self.settings.issuer,
            sub,
            aud: &self.settings.audience,
            exp: now + ttl,
            iat: now,
            nbf: now,
            jti: uuid::Uuid::now_v7().to_string(),
            azp: client_id,
            scope,
            roles,
            claims: user.map(|u| &u.claims),
            name: user.map(|u| u.name.as_str()),
            preferred_username: user.map(|u| u.username.as_str()),
        })?;
        let id = match user {
            Some(user) if scope.split(' ').any(|s| s == "openid") => {
                let mut claims = json!({
                    "iss": self.settings.issuer,
                    "sub": user.username,
                    "aud": client_id,
                    "exp": now + ttl,
                    "iat": now,
                    "name": user.name,
                    "preferred_username": user.username,
                    "roles": user.roles,
                });
                if let Some(nonce) = nonce {
                    claims["nonce"] = json!(nonce);
                }
                Some(self.keys.sign(&claims)?)
            }
            _ => None,
        };
        Ok((access, id))
    }

    fn token_response(
        &self,
        access: String,
        id: Option<String>,
        refresh: Option<String>,
        scope: &str,
    ) -> Response {
        let mut body = json!({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.settings.access_token_ttl_s,
            "scope": scope,
        });
        if let Some(id) = id {
            body["id_token"] = json!(id);
        }
        if let Some(refresh) = refresh {
            body["refresh_token"] = json!(refresh);
        }
        let mut response = axum::Json(body).into_response();
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            "no-store".parse().expect("a header value"),
        );
        response
    }

    /// How long a refresh token (and a revoked family's mark) lasts.
    fn refresh_ttl(&self) -> Duration {
        Duration::from_secs(self.settings.refresh_token_ttl_s)
    }

    /// A refresh token starting a new family.
    async fn new_refresh(
        &self,
        client_id: &str,
        username: &str,
        scope: &str,
    ) -> anyhow::Result<String> {
        let token = random_token();
        let grant = RefreshGrant {
            client_id: client_id.to_owned(),
            username: username.to_owned(),
            scope: scope.to_owned(),
            family: random_token(),
        };
        self.grants
            .put_refresh(&token, &grant, self.refresh_ttl())
            .await
            .context("cannot keep a refresh token")?;
        Ok(token)
    }

    fn check_user(&self, username: &str, password: &str) -> Option<&User> {
        match self.users.get(username) {
            Some(user) if verify_password(&user.password_hash, password) => Some(user),
            Some(_) => None,
            None => {
                verify_password(decoy_hash(), password);
                None
            }
        }
    }
}

fn ops_secret_from_file(path: &str) -> anyhow::Result<String> {
    let path = PathBuf::from(path);
    let read = || {
        std::fs::read_to_string(&path)
            .ok()
            .map(|secret| secret.trim().to_owned())
            .filter(|secret| !secret.is_empty())
    };
    if let Some(secret) = read() {
        return Ok(secret);
    }
    if path.exists() {
        // An empty file from an interrupted run: replaced by a generated secret.
        std::fs::remove_file(&path)
            .with_context(|| format!("cannot replace {}", path.display()))?;
    }
    let secret = random_token();
    if crate::keys::create_once(&path, secret.as_bytes())? {
        tracing::info!(path = %path.display(), "generated the msa-ops client secret");
        return Ok(secret);
    }
    // Another replica generated it first: every replica uses that one.
    read().with_context(|| format!("{} is empty", path.display()))
}
