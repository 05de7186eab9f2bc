//! The issuer's HTTP endpoints: discovery, JWKS, the authorization page and form (code + PKCE),
//! the token endpoint (authorization code, refresh token rotation, client credentials) and
//! revocation.

use super::*;

pub(super) async fn discovery(State(issuer): State<Issuer>) -> impl IntoResponse {
    axum::Json(issuer.discovery())
}

pub(super) async fn jwks(State(issuer): State<Issuer>) -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        axum::Json(issuer.keys.jwks()),
    )
}

/// Parameters of an authorization request (query string, then hidden form fields).
#[derive(Clone, Debug, Deserialize, Serialize)]
pub(super) struct AuthorizeRequest {
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
    let page = include_str!("../login.html")
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
        let form = include_str!("../login_form.html").replace("{{hidden}}", &hidden);
        let error = error.map_or_else(String::new, |e| {
            format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e))
        });
        let page = include_str!("../login.html")
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

pub(super) async fn authorize_form(
    State(issuer): State<Issuer>,
    Query(request): Query<AuthorizeRequest>,
) -> Response {
    match issuer.validate(&request) {
        Ok(_) => issuer.login_page(&request, None),
        Err(response) => response,
    }
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    username: String,
    password: String,
    #[serde(flatten)]
    request: AuthorizeRequest,
}

pub(super) async fn authorize_submit(
    State(issuer): State<Issuer>,
    Form(form): Form<LoginForm>,
) -> Response {
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
    let grant = CodeGrant {
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
    };
    if let Err(error) = issuer.grants.put_code(&code, &grant, CODE_TTL).await {
        tracing::error!(
            error = format!("{error:#}"),
            "cannot keep an authorization code"
        );
        return error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Sign-in is unavailable; try again shortly. 잠시 후 다시 시도해 주세요.",
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
pub(super) struct TokenRequest {
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

pub(super) async fn token(
    State(issuer): State<Issuer>,
    headers: HeaderMap,
    Form(form): Form<TokenRequest>,
) -> Response {
    let client = match issuer.client_of(&headers, &form) {
        Ok(client) => client,
        Err(response) => return response,
    };
    let granted = match form.grant_type.as_deref() {
        Some("authorization_code") => code_grant(&issuer, &client, &form).await,
        Some("refresh_token") => refresh_grant(&issuer, &client, &form).await,
        Some("client_credentials") => credentials_grant(&issuer, &client, &form),
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "use authorization_code, refresh_token or client_credentials",
            );
        }
    };
    match granted {
        Ok(Ok(response)) => response,
        Err(refused) => *refused,
        Ok(Err(error)) => {
            tracing::error!(error = format!("{error:#}"), "cannot issue a token");
            oauth_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "the token could not be issued",
            )
        }
    }
}

/// A grant's answer: the tokens (or why they could not be made), or the OAuth refusal.
type Grant = Result<anyhow::Result<Response>, Box<Response>>;

fn invalid_grant(why: &str) -> Box<Response> {
    Box::new(oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", why))
}

/// `authorization_code`: the code once, for its client and redirect URI, with its PKCE verifier.
async fn code_grant(issuer: &Issuer, client: &Client, form: &TokenRequest) -> Grant {
    let code = match form.code.as_deref() {
        Some(code) => match issuer.grants.take_code(code).await {
            Ok(code) => code,
            Err(error) => return Ok(Err(error.context("cannot redeem a code"))),
        },
        None => None,
    };
    let Some(code) = code else {
        return Err(invalid_grant("the code is unknown, used or expired"));
    };
    if code.client_id != client.id
        || form.redirect_uri.as_deref() != Some(code.redirect_uri.as_str())
    {
        return Err(invalid_grant(
            "the code was issued to another client or redirect URI",
        ));
    }
    let verified = form.code_verifier.as_deref().is_some_and(|verifier| {
        URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == code.challenge
    });
    if !verified {
        return Err(invalid_grant("the PKCE code verifier does not match"));
    }
    let Some(user) = issuer.users.get(&code.username) else {
        return Err(invalid_grant("the user is gone"));
    };
    let issued = issuer.issue(
        &client.id,
        Some(user),
        &[],
        &code.scope,
        code.nonce.as_deref(),
    );
    Ok(match issued {
        Ok((access, id)) => issuer
            .new_refresh(&client.id, &user.username, &code.scope)
            .await
            .map(|refresh| issuer.token_response(access, id, Some(refresh), &code.scope)),
        Err(error) => Err(error),
    })
}

/// `refresh_token`: rotation; a used token presented again revokes its whole family.
async fn refresh_grant(issuer: &Issuer, client: &Client, form: &TokenRequest) -> Grant {
    let presented = form.refresh_token.clone().unwrap_or_default();
    let next = random_token();
    let rotation = issuer
        .grants
        .rotate(&presented, &client.id, &next, issuer.refresh_ttl())
        .await;
    let grant = match rotation {
        Ok(Rotation::Rotated(grant)) => grant,
        Ok(Rotation::Reused) => {
            // A rotated token came back: someone else has a copy. Its family is revoked.
            tracing::warn!(client = %client.id, "a used refresh token was presented again; family revoked");
            return Err(invalid_grant("the refresh token was already used"));
        }
        Ok(Rotation::Refused) => {
            return Err(invalid_grant("the refresh token is unknown or expired"));
        }
        Err(error) => return Ok(Err(error.context("cannot rotate a refresh token"))),
    };
    let Some(user) = issuer.users.get(&grant.username) else {
        return Err(invalid_grant("the user is gone"));
    };
    Ok(issuer
        .issue(&client.id, Some(user), &[], &grant.scope, None)
        .map(|(access, id)| issuer.token_response(access, id, Some(next), &grant.scope)))
}

/// `client_credentials`: confidential clients only, with the client's roles.
fn credentials_grant(issuer: &Issuer, client: &Client, form: &TokenRequest) -> Grant {
    if client.secret_hash.is_none() {
        return Err(Box::new(oauth_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized_client",
            "public clients cannot use client credentials",
        )));
    }
    let scope = form.scope.clone().unwrap_or_default();
    Ok(issuer
        .issue(&client.id, None, &client.roles, &scope, None)
        .map(|(access, _)| issuer.token_response(access, None, None, &scope)))
}

#[derive(Deserialize)]
pub(super) struct RevokeRequest {
    token: String,
}

pub(super) async fn revoke(
    State(issuer): State<Issuer>,
    Form(form): Form<RevokeRequest>,
) -> StatusCode {
    match issuer
        .grants
        .revoke(&form.token, issuer.refresh_ttl())
        .await
    {
        // RFC 7009: the answer is the same whether the token existed or not.
        Ok(()) => StatusCode::OK,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "cannot revoke a token");
            StatusCode::SERVICE_UNAVAILABLE
        }
    }
}
