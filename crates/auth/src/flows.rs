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
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

struct Code {
    client_id: String,
    redirect_uri: String,
    challenge: String,
    username: String,
    scope: String,
    nonce: Option<String>,
    expires: Instant,
}

struct Refresh {
    client_id: String,
    username: String,
    scope: String,
    family: String,
    expires: Instant,
    used: bool,
}

#[derive(Default)]
struct Grants {
    codes: HashMap<String, Code>,
    refresh: HashMap<String, Refresh>,
}

/// The issuer: keys, accounts and the grants in flight.
#[derive(Clone)]
pub struct Issuer {
    settings: Arc<IssuerSettings>,
    keys: Arc<SigningKeys>,
    users: Arc<HashMap<String, User>>,
    clients: Arc<HashMap<String, Client>>,
    grants: Arc<Mutex<Grants>>,
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

fn random_token() -> String {
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
            grants: Arc::new(Mutex::new(Grants::default())),
        })
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

    fn new_refresh(
        &self,
        client_id: &str,
        username: &str,
        scope: &str,
        family: Option<String>,
    ) -> String {
        let token = random_token();
        let mut grants = self.grants.lock().expect("grants lock");
        let now = Instant::now();
        grants.refresh.retain(|_, r| r.expires > now);
        grants.refresh.insert(
            token.clone(),
            Refresh {
                client_id: client_id.to_owned(),
                username: username.to_owned(),
                scope: scope.to_owned(),
                family: family.unwrap_or_else(random_token),
                expires: now + Duration::from_secs(self.settings.refresh_token_ttl_s),
                used: false,
            },
        );
        token
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
    if let Ok(secret) = std::fs::read_to_string(&path) {
        let secret = secret.trim().to_owned();
        if !secret.is_empty() {
            return Ok(secret);
        }
    }
    let secret = random_token();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    std::io::Write::write_all(&mut file, secret.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    tracing::info!(path = %path.display(), "generated the msa-ops client secret");
    Ok(secret)
}

async fn discovery(State(issuer): State<Issuer>) -> impl IntoResponse {
    axum::Json(issuer.discovery())
}

async fn jwks(State(issuer): State<Issuer>) -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        axum::Json(issuer.keys.jwks()),
    )
}

/// Parameters of an authorization request (query string, then hidden form fields).
#[derive(Clone, Debug, Deserialize, Serialize)]
struct AuthorizeRequest {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    nonce: Option<String>,
}

fn escape(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn error_page(status: StatusCode, message: &str) -> Response {
    let page = include_str!("login.html")
        .replace(
            "{{error}}",
            &format!("<p class=\"error\" role=\"alert\">{}</p>", escape(message)),
        )
        .replace("{{form}}", "");
    (status, Html(page)).into_response()
}

impl Issuer {
    /// Checks an authorization request; on success the client and a valid redirect URI.
    #[expect(
        clippy::result_large_err,
        reason = "the error is the answer, returned at once"
    )]
    fn validate(&self, request: &AuthorizeRequest) -> Result<(Client, String), Response> {
        let client = request
            .client_id
            .as_deref()
            .and_then(|id| self.clients.get(id))
            .ok_or_else(|| {
                error_page(
                    StatusCode::BAD_REQUEST,
                    "Unknown client. 알 수 없는 클라이언트입니다.",
                )
            })?;
        let redirect = request
            .redirect_uri
            .clone()
            .filter(|uri| client.redirect_uris.contains(uri))
            .ok_or_else(|| {
                error_page(
                    StatusCode::BAD_REQUEST,
                    "This redirect URI is not registered for the client. 등록되지 않은 리디렉션 주소입니다.",
                )
            })?;
        // From here on errors go back to the client, as RFC 6749 §4.1.2.1 says.
        let back = |error: &str| {
            let mut url = format!("{redirect}?error={error}");
            if let Some(state) = &request.state {
                url.push_str(&format!("&state={}", urlencode(state)));
            }
            Redirect::to(&url).into_response()
        };
        if request.response_type.as_deref() != Some("code") {
            return Err(back("unsupported_response_type"));
        }
        let pkce_ok = request
            .code_challenge
            .as_deref()
            .is_some_and(|c| (43..=128).contains(&c.len()))
            && request.code_challenge_method.as_deref() == Some("S256");
        if !pkce_ok {
            return Err(back("invalid_request"));
        }
        Ok((client.clone(), redirect))
    }

    fn login_page(&self, request: &AuthorizeRequest, error: Option<&str>) -> Response {
        let hidden: String = [
            ("response_type", &request.response_type),
            ("client_id", &request.client_id),
            ("redirect_uri", &request.redirect_uri),
            ("scope", &request.scope),
            ("state", &request.state),
            ("code_challenge", &request.code_challenge),
            ("code_challenge_method", &request.code_challenge_method),
            ("nonce", &request.nonce),
        ]
        .iter()
        .filter_map(|(name, value)| {
            value.as_deref().map(|v| {
                format!(
                    "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
                    escape(v)
                )
            })
        })
        .collect();
        let form = include_str!("login_form.html").replace("{{hidden}}", &hidden);
        let error = error.map_or_else(String::new, |e| {
            format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e))
        });
        let page = include_str!("login.html")
            .replace("{{error}}", &error)
            .replace("{{form}}", &form);
        let status = if error.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNAUTHORIZED
        };
        let mut response = (status, Html(page)).into_response();
        response.headers_mut().insert(
            header::HeaderName::from_static("x-frame-options"),
            "DENY".parse().expect("a header value"),
        );
        response
    }
}

fn urlencode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn authorize_form(
    State(issuer): State<Issuer>,
    Query(request): Query<AuthorizeRequest>,
) -> Response {
    match issuer.validate(&request) {
        Ok(_) => issuer.login_page(&request, None),
        Err(response) => response,
    }
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    #[serde(flatten)]
    request: AuthorizeRequest,
}

async fn authorize_submit(State(issuer): State<Issuer>, Form(form): Form<LoginForm>) -> Response {
    let (client, redirect) = match issuer.validate(&form.request) {
        Ok(valid) => valid,
        Err(response) => return response,
    };
    let Some(user) = issuer.check_user(form.username.trim(), &form.password) else {
        tracing::info!(client = %client.id, "sign-in refused");
        return issuer.login_page(
            &form.request,
            Some("Wrong user name or password. 아이디 또는 비밀번호가 올바르지 않습니다."),
        );
    };
    let code = random_token();
    {
        let mut grants = issuer.grants.lock().expect("grants lock");
        let now = Instant::now();
        grants.codes.retain(|_, c| c.expires > now);
        grants.codes.insert(
            code.clone(),
            Code {
                client_id: client.id.clone(),
                redirect_uri: redirect.clone(),
                challenge: form.request.code_challenge.clone().unwrap_or_default(),
                username: user.username.clone(),
                scope: form
                    .request
                    .scope
                    .clone()
                    .unwrap_or_else(|| "openid".to_owned()),
                nonce: form.request.nonce.clone(),
                expires: now + Duration::from_secs(60),
            },
        );
    }
    tracing::info!(client = %client.id, user = %user.username, "signed in");
    let mut url = format!("{redirect}?code={code}");
    if let Some(state) = &form.request.state {
        url.push_str(&format!("&state={}", urlencode(state)));
    }
    Redirect::to(&url).into_response()
}

#[derive(Deserialize)]
struct TokenRequest {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    scope: Option<String>,
}

impl Issuer {
    /// Authenticates the client of a token request (Basic, form secret, or a public client id).
    #[expect(
        clippy::result_large_err,
        reason = "the error is the answer, returned at once"
    )]
    fn client_of(&self, headers: &HeaderMap, form: &TokenRequest) -> Result<Client, Response> {
        let basic = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|v| STANDARD.decode(v.trim()).ok())
            .and_then(|v| String::from_utf8(v).ok())
            .and_then(|v| {
                v.split_once(':')
                    .map(|(id, secret)| (id.to_owned(), Some(secret.to_owned())))
            });
        let (id, secret) = basic
            .or_else(|| {
                form.client_id
                    .clone()
                    .map(|id| (id, form.client_secret.clone()))
            })
            .ok_or_else(|| {
                oauth_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "client authentication failed",
                )
            })?;
        let client = self.clients.get(&id).ok_or_else(|| {
            oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client authentication failed",
            )
        })?;
        match (&client.secret_hash, secret) {
            (None, _) => Ok(client.clone()),
            (Some(hash), Some(secret)) if verify_password(hash, &secret) => Ok(client.clone()),
            _ => Err(oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client authentication failed",
            )),
        }
    }
}

async fn token(
    State(issuer): State<Issuer>,
    headers: HeaderMap,
    Form(form): Form<TokenRequest>,
) -> Response {
    let client = match issuer.client_of(&headers, &form) {
        Ok(client) => client,
        Err(response) => return response,
    };
    let invalid_grant = |why: &str| oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", why);
    let result = match form.grant_type.as_deref() {
        Some("authorization_code") => {
            let code = form
                .code
                .as_deref()
                .and_then(|c| issuer.grants.lock().expect("grants lock").codes.remove(c));
            let Some(code) = code.filter(|c| c.expires > Instant::now()) else {
                return invalid_grant("the code is unknown, used or expired");
            };
            if code.client_id != client.id
                || form.redirect_uri.as_deref() != Some(code.redirect_uri.as_str())
            {
                return invalid_grant("the code was issued to another client or redirect URI");
            }
            let verified = form.code_verifier.as_deref().is_some_and(|verifier| {
                URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == code.challenge
            });
            if !verified {
                return invalid_grant("the PKCE code verifier does not match");
            }
            let Some(user) = issuer.users.get(&code.username) else {
                return invalid_grant("the user is gone");
            };
            issuer
                .issue(
                    &client.id,
                    Some(user),
                    &[],
                    &code.scope,
                    code.nonce.as_deref(),
                )
                .map(|(access, id)| {
                    let refresh = issuer.new_refresh(&client.id, &user.username, &code.scope, None);
                    issuer.token_response(access, id, Some(refresh), &code.scope)
                })
        }
        Some("refresh_token") => {
            let presented = form.refresh_token.clone().unwrap_or_default();
            let (username, scope, family) = {
                let mut grants = issuer.grants.lock().expect("grants lock");
                let Some(entry) = grants.refresh.get_mut(&presented) else {
                    return invalid_grant("the refresh token is unknown or expired");
                };
                if entry.client_id != client.id || entry.expires <= Instant::now() {
                    return invalid_grant("the refresh token is unknown or expired");
                }
                if entry.used {
                    // A rotated token came back: someone else has a copy. Revoke its family.
                    let family = entry.family.clone();
                    grants.refresh.retain(|_, r| r.family != family);
                    tracing::warn!(client = %client.id, "a used refresh token was presented again; family revoked");
                    return invalid_grant("the refresh token was already used");
                }
                entry.used = true;
                (
                    entry.username.clone(),
                    entry.scope.clone(),
                    entry.family.clone(),
                )
            };
            let Some(user) = issuer.users.get(&username) else {
                return invalid_grant("the user is gone");
            };
            issuer
                .issue(&client.id, Some(user), &[], &scope, None)
                .map(|(access, id)| {
                    let refresh = issuer.new_refresh(&client.id, &username, &scope, Some(family));
                    issuer.token_response(access, id, Some(refresh), &scope)
                })
        }
        Some("client_credentials") => {
            if client.secret_hash.is_none() {
                return oauth_error(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized_client",
                    "public clients cannot use client credentials",
                );
            }
            let scope = form.scope.clone().unwrap_or_default();
            issuer
                .issue(&client.id, None, &client.roles, &scope, None)
                .map(|(access, _)| issuer.token_response(access, None, None, &scope))
        }
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "use authorization_code, refresh_token or client_credentials",
            );
        }
    };
    result.unwrap_or_else(|error| {
        tracing::error!(error = format!("{error:#}"), "cannot issue a token");
        oauth_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "the token could not be issued",
        )
    })
}

#[derive(Deserialize)]
struct RevokeRequest {
    token: String,
}

async fn revoke(State(issuer): State<Issuer>, Form(form): Form<RevokeRequest>) -> StatusCode {
    let mut grants = issuer.grants.lock().expect("grants lock");
    if let Some(family) = grants.refresh.get(&form.token).map(|r| r.family.clone()) {
        grants.refresh.retain(|_, r| r.family != family);
    }
    // RFC 7009: the answer is the same whether the token existed or not.
    StatusCode::OK
}
