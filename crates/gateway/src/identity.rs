//! Token validation: JWTs signed by the identity provider, checked against its JWKS (cached,
//! refreshed on an unknown key id so that key rotation needs no restart), its issuer, the
//! audience, and `exp` / `nbf` with a small leeway. Works with the embedded issuer and with any
//! OIDC provider (Keycloak: `roles_claim = "realm_access.roles"`).

use anyhow::Context as _;
use auth::Issuer;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use kernel::manifest::ScopingClaim;
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::RwLock;

/// How tokens are checked.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// The issuer tokens must name (`iss`); the embedded issuer is served at this URL.
    pub issuer: String,
    /// The audience tokens must name (`aud`).
    pub audience: String,
    /// Where the keys are; empty: discovered from `<issuer>/.well-known/openid-configuration`.
    pub jwks_url: String,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds.
    pub leeway_s: u64,
    /// Dotted path of the roles array in the token.
    pub roles_claim: String,
    /// Serve the embedded issuer (`msa up`); off when Keycloak or another provider issues tokens.
    pub embedded: bool,
    /// The embedded issuer's own settings (its URL is `issuer`).
    pub embedded_issuer: auth::IssuerSettings,
    /// The OAuth client id of the web UI.
    pub web_client_id: String,
    /// Where the embedded issuer keeps authorization codes and refresh tokens when several
    /// gateway replicas serve one system, so that any replica honours what another issued (a
    /// store URL: `sqlite://`, `postgres://`, `mysql://` or `redis://`); empty: this process's
    /// memory, enough for a single gateway.
    pub store: String,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            issuer: "http://127.0.0.1:8080".to_owned(),
            audience: "msa-api".to_owned(),
            jwks_url: String::new(),
            leeway_s: 30,
            roles_claim: "roles".to_owned(),
            embedded: true,
            embedded_issuer: auth::IssuerSettings::default(),
            web_client_id: "msa-web".to_owned(),
            store: String::new(),
        }
    }
}

/// Who is calling, as the token says: the kernel's [`kernel::http::Caller`], which the services
/// read back from the headers the gateway forwards.
pub type Identity = kernel::http::Caller;

/// Why a token was refused.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// No bearer token.
    #[error("a bearer token is required")]
    Missing,
    /// The token is malformed, badly signed, expired, for another audience...
    #[error("{0}")]
    Invalid(String),
}

/// Algorithms a provider may sign with; `none` and HMAC are never accepted.
const ALLOWED: &[Algorithm] = &[
    Algorithm::EdDSA,
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::ES384,
];

struct Keys {
    by_kid: HashMap<String, (DecodingKey, Option<Algorithm>)>,
    fetched: Instant,
}

/// Validates tokens against the provider's keys.
#[derive(Clone)]
pub struct Verifier {
    settings: Arc<AuthSettings>,
    scoping: Arc<Vec<ScopingClaim>>,
    source: KeySource,
    keys: Arc<RwLock<Option<Keys>>>,
    client: reqwest::Client,
}

#[derive(Clone)]
enum KeySource {
    Embedded(Issuer),
    Remote,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("issuer", &self.settings.issuer)
            .finish()
    }
}

const KEYS_MAX_AGE: Duration = Duration::from_secs(300);
const KEYS_MIN_REFRESH: Duration = Duration::from_secs(10);

fn claim<'a>(claims: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(claims, |value, key| value.get(key))
}

impl Verifier {
    /// A verifier for tokens of the embedded issuer (`Some`) or of a remote provider.
    pub fn new(
        settings: AuthSettings,
        scoping: Vec<ScopingClaim>,
        embedded: Option<Issuer>,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            settings: Arc::new(settings),
            scoping: Arc::new(scoping),
            source: embedded.map_or(KeySource::Remote, KeySource::Embedded),
            keys: Arc::new(RwLock::new(None)),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .context("cannot build the JWKS client")?,
        })
    }

    /// The settings.
    pub fn settings(&self) -> &AuthSettings {
        &self.settings
    }

    /// The provider's OIDC discovery document.
    pub async fn discovery(&self) -> anyhow::Result<Value> {
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.settings.issuer.trim_end_matches('/')
        );
        if let KeySource::Embedded(issuer) = &self.source {
            return Ok(issuer.discovery());
        }
        self.client
            .get(&url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .with_context(|| format!("cannot read {url}"))?
            .json()
            .await
            .with_context(|| format!("{url} is not JSON"))
    }

    async fn fetch(&self) -> anyhow::Result<Keys> {
        let jwks: Value = match &self.source {
            KeySource::Embedded(issuer) => issuer.jwks(),
            KeySource::Remote => {
                let url = if self.settings.jwks_url.is_empty() {
                    self.discovery().await?["jwks_uri"]
                        .as_str()
                        .context("the discovery document names no jwks_uri")?
                        .to_owned()
                } else {
                    self.settings.jwks_url.clone()
                };
                self.client
                    .get(&url)
                    .send()
                    .await
                    .and_then(reqwest::Response::error_for_status)
                    .with_context(|| format!("cannot read the JWKS at {url}"))?
                    .json()
                    .await
                    .context("the JWKS is not JSON")?
            }
        };
        let set: JwkSet = serde_json::from_value(jwks).context("the JWKS is malformed")?;
        let mut by_kid = HashMap::new();
        for jwk in &set.keys {
            let Some(kid) = jwk.common.key_id.clone() else {
                continue;
            };
            let Ok(key) = DecodingKey::from_jwk(jwk) else {
                continue;
            };
            let algorithm = jwk
                .common
                .key_algorithm
                .and_then(|a| a.to_string().parse::<Algorithm>().ok());
            by_kid.insert(kid, (key, algorithm));
        }
        Ok(Keys {
            by_kid,
            fetched: Instant::now(),
        })
    }

    /// The key for `kid`, fetching the JWKS when it is stale or does not know the kid yet.
    async fn key(&self, kid: &str) -> Result<(DecodingKey, Option<Algorithm>), TokenError> {
        {
            let keys = self.keys.read().await;
            if let Some(keys) = keys.as_ref() {
                if let Some(found) = keys.by_kid.get(kid) {
                    if keys.fetched.elapsed() < KEYS_MAX_AGE {
                        return Ok(found.clone());
                    }
                } else if keys.fetched.elapsed() < KEYS_MIN_REFRESH {
                    return Err(TokenError::Invalid("the token's key is unknown".to_owned()));
                }
            }
        }
        let mut keys = self.keys.write().await;
        let fresh = keys
            .as_ref()
            .is_some_and(|k| k.fetched.elapsed() < KEYS_MIN_REFRESH);
        if !fresh {
            match self.fetch().await {
                Ok(fetched) => *keys = Some(fetched),
                Err(error) => {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        "cannot fetch the provider's keys"
                    );
                    if keys.is_none() {
                        return Err(TokenError::Invalid(
                            "the provider's keys are unavailable".to_owned(),
                        ));
                    }
                }
            }
        }
        keys.as_ref()
            .and_then(|k| k.by_kid.get(kid).cloned())
            .ok_or_else(|| TokenError::Invalid("the token's key is unknown".to_owned()))
    }

    /// Validates a bearer token and reads the caller's identity from it.
    pub async fn verify(&self, token: &str) -> Result<Identity, TokenError> {
        let invalid = |why: &str| TokenError::Invalid(why.to_owned());
        let header =
            jsonwebtoken::decode_header(token).map_err(|_| invalid("the token is malformed"))?;
        if !ALLOWED.contains(&header.alg) {
            return Err(invalid("the token's algorithm is not accepted"));
        }
        let kid = header
            .kid
            .ok_or_else(|| invalid("the token names no key"))?;
        let (key, algorithm) = self.key(&kid).await?;
        if algorithm.is_some_and(|a| a != header.alg) {
            return Err(invalid("the token's algorithm does not match its key"));
        }
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.settings.issuer]);
        validation.set_audience(&[&self.settings.audience]);
        validation.leeway = self.settings.leeway_s;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data = jsonwebtoken::decode::<Value>(token, &key, &validation).map_err(|error| {
            use jsonwebtoken::errors::ErrorKind;
            TokenError::Invalid(
                match error.kind() {
                    ErrorKind::ExpiredSignature => "the token has expired",
                    ErrorKind::ImmatureSignature => "the token is not valid yet",
                    ErrorKind::InvalidAudience => "the token is for another audience",
                    ErrorKind::InvalidIssuer => "the token is from another issuer",
                    ErrorKind::InvalidSignature => "the token's signature is wrong",
                    _ => "the token is invalid",
                }
                .to_owned(),
            )
        })?;
        let claims = data.claims;
        let subject = claims["sub"].as_str().unwrap_or_default().to_owned();
        let roles = claim(&claims, &self.settings.roles_claim)
            .and_then(Value::as_array)
            .map(|roles| {
                roles
                    .iter()
                    .filter_map(|r| r.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let scoping = self
            .scoping
            .iter()
            .filter_map(|scope| {
                let path = scope.token_claim.as_deref().unwrap_or(&scope.name);
                let value = claim(&claims, path)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .or_else(|| scope.subject_fallback.then(|| subject.clone()))?;
                Some((scope.name.clone(), value))
            })
            .collect();
        Ok(Identity::new(subject, roles, scoping))
    }
}
