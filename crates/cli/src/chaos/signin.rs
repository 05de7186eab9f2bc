//! Signing a synthetic customer in at the embedded issuer as the web UI does (authorization
//! code with PKCE), since a customer's token is what scopes the services to them.

use anyhow::Context as _;
use base64::Engine as _;
use sha2::Digest as _;

/// The web client the issuer knows.
const WEB_CLIENT: &str = "msa-web";

/// A customer's access token from the issuer behind `gateway`.
pub(crate) async fn sign_in(
    gateway: &str,
    username: &str,
    password: &str,
) -> anyhow::Result<String> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("a plain client builds")?;
    let verifier = format!("{:032x}{:032x}", fastrand::u128(..), fastrand::u128(..));
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    let redirect = format!("{gateway}/");
    let mut fields = vec![
        ("response_type", "code"),
        ("client_id", WEB_CLIENT),
        ("redirect_uri", redirect.as_str()),
        ("scope", "openid profile"),
        ("state", "chaos"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    fields.extend([("username", username), ("password", password)]);
    let answer = client
        .post(format!("{gateway}/oauth2/authorize"))
        .form(&fields)
        .send()
        .await
        .context("cannot reach the issuer")?;
    let location = answer
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .with_context(|| format!("{username} was not signed in ({})", answer.status()))?;
    let code = location
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("code="))
        .with_context(|| format!("no code in {location}"))?
        .to_owned();
    let request = client.post(format!("{gateway}/oauth2/token")).form(&[
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect.as_str()),
        ("client_id", WEB_CLIENT),
        ("code_verifier", verifier.as_str()),
    ]);
    access_token(request, username).await
}

/// The access token the issuer answers `request` (at `/oauth2/token`) with, for `whom`.
pub(crate) async fn access_token(
    request: reqwest::RequestBuilder,
    whom: &str,
) -> anyhow::Result<String> {
    let tokens: serde_json::Value = request
        .send()
        .await
        .context("cannot reach the issuer")?
        .json()
        .await
        .context("the issuer's answer is not JSON")?;
    tokens["access_token"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no token for {whom}: {tokens}"))
}
