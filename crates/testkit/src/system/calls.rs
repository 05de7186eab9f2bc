//! Calls into a running test system: signing in, requests through the gateway as a user,
//! waiting for a view, the route-table walk, event streams.

use super::*;

impl TestSystem {
    /// A token for the machine client `msa-ops` (client credentials).
    pub async fn client_token(&self) -> String {
        let response = self
            .client
            .post(format!("{}/oauth2/token", self.gateway()))
            .basic_auth("msa-ops", Some(&self.ops_secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "client credentials work");
        response.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }
    /// Signs in as a user the way a browser does (authorization code + PKCE); returns the
    /// token response.
    pub async fn sign_in(&self, username: &str, password: &str) -> Value {
        let gateway = self.gateway();
        let granted = self
            .authorize([&gateway, &gateway], username, password)
            .await;
        let tokens = self
            .client
            .post(format!("{gateway}/oauth2/token"))
            .form(&granted.redemption())
            .send()
            .await
            .unwrap();
        assert_eq!(tokens.status().as_u16(), 200);
        tokens.json().await.unwrap()
    }

    /// The browser's half of a sign-in (authorization code + PKCE): the login form from
    /// `at[0]`, the credentials posted to `at[1]` (two gateway replicas, or the same one twice);
    /// the code it was given, with what redeeming it takes.
    pub async fn authorize(&self, at: [&str; 2], username: &str, password: &str) -> Authorized {
        use base64::Engine as _;
        let no_redirects = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let verifier = format!("verifier-{}-{}", username, unique_name("v")).repeat(2);
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(<sha2::Sha256 as sha2::Digest>::digest(verifier.as_bytes()));
        let redirect = format!("{}/", self.gateway());
        let params = [
            ("response_type", "code"),
            ("client_id", "msa-web"),
            ("redirect_uri", redirect.as_str()),
            ("scope", "openid profile"),
            ("state", "s1"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        let form = no_redirects
            .get(format!("{}/oauth2/authorize", at[0]))
            .query(&params)
            .send()
            .await
            .unwrap();
        assert_eq!(form.status().as_u16(), 200, "the login form is shown");
        let mut fields: Vec<(&str, &str)> = params.to_vec();
        fields.push(("username", username));
        fields.push(("password", password));
        let answer = no_redirects
            .post(format!("{}/oauth2/authorize", at[1]))
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), 303, "{username} signs in");
        let location = answer.headers()["location"].to_str().unwrap().to_owned();
        let code = location
            .split(['?', '&'])
            .find_map(|p| p.strip_prefix("code="))
            .expect("a code")
            .to_owned();
        Authorized {
            code,
            verifier,
            redirect,
        }
    }
    /// A user's access token.
    pub async fn user_token(&self, username: &str, password: &str) -> String {
        self.sign_in(username, password).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }
    /// `GET` through the gateway with `token`.
    pub async fn get_as(&self, token: &str, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.gateway()))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
    /// `POST` JSON through the gateway with `token`.
    pub async fn post_as(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.gateway()))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
    /// Opens a server-sent event stream through the gateway with `token` (and `Last-Event-ID`).
    pub async fn event_stream(&self, token: &str, path: &str, last: Option<&str>) -> EventStream {
        let mut request = self
            .client
            .get(format!("{}{path}", self.gateway()))
            .bearer_auth(token)
            .header("accept", "text/event-stream");
        if let Some(last) = last {
            request = request.header("last-event-id", last);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "the event stream opens");
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        EventStream {
            body: Box::pin(futures_util::StreamExt::map(response.bytes_stream(), |b| {
                b.map(|b| b.to_vec())
            })),
            buffer: String::new(),
        }
    }
    /// Walks every route of the gateway's API document: the document marks a route secured
    /// exactly when the manifest's access rules do not make it public, a secured route answers
    /// 401 without a token and with an invalid one, a public one neither 401 nor 403; the
    /// gateway's own public pages answer 200. Returns how many operations it walked.
    pub async fn walk_routes(&mut self) -> usize {
        let response = self
            .client
            .get(format!("{}/api/openapi.json", self.gateway()))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status().as_u16(),
            200,
            "the API document is public"
        );
        let document: Value = response.json().await.unwrap();
        let mut walked = 0;
        for (path, operations) in document["paths"].as_object().unwrap() {
            for (method, operation) in operations.as_object().unwrap() {
                let concrete: Vec<&str> = path
                    .split('/')
                    .map(|s| if s.starts_with('{') { "r-1" } else { s })
                    .collect();
                let concrete = concrete.join("/");
                let verdict = self
                    .manifest
                    .access
                    .verdict(&method.to_uppercase(), &concrete);
                let public = verdict == kernel::manifest::Verdict::Public;
                let secured = operation
                    .get("security")
                    .is_some_and(|s| !s.as_array().unwrap().is_empty());
                assert_eq!(
                    public, !secured,
                    "{method} {path}: the document and the access rules agree"
                );
                for authorization in [None, Some("Bearer invalid")] {
                    let url = format!("{}{concrete}", self.gateway());
                    let mut request = self
                        .client
                        .request(method.to_uppercase().parse().unwrap(), &url);
                    if let Some(value) = authorization {
                        request = request.header("authorization", value);
                    }
                    let body = serde_json::json!({});
                    let answer = request.json(&body).send().await.unwrap().status().as_u16();
                    if public {
                        assert!(
                            answer != 401 && answer != 403,
                            "{method} {path} is public but answered {answer}"
                        );
                    } else {
                        assert_eq!(
                            answer, 401,
                            "{method} {path} without a valid token ({authorization:?})"
                        );
                    }
                }
                walked += 1;
            }
        }
        let pages = [
            "/.well-known/openid-configuration",
            "/oauth2/jwks",
            "/health/live",
            "/health/ready",
            "/",
            "/board",
        ];
        for public in pages {
            let answer = self
                .client
                .get(format!("{}{public}", self.gateway()))
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status().as_u16(), 200, "{public} is public");
        }
        self.check_living_documentation().await;
        self.refuses_every_bad_token("/api/me").await;
        self.refresh_reuse_revokes_the_family().await;
        self.rate_limit_holds().await;
        walked
    }
    /// The gateway's living documentation: AsyncAPI for anyone, with a channel per event type;
    /// the board and the context map for operators only.
    async fn check_living_documentation(&self) {
        let answer = self
            .client
            .get(format!("{}/api/asyncapi.json", self.gateway()))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), 200, "AsyncAPI is public");
        let asyncapi: Value = answer.json().await.unwrap();
        assert_eq!(asyncapi["asyncapi"], "3.0.0", "{asyncapi}");
        let system = &self.manifest.name;
        assert!(
            asyncapi["channels"].as_object().is_some_and(
                |c| !c.is_empty() && c.keys().all(|k| k.starts_with(&format!("{system}.")))
            ),
            "a channel per event type of {system}: {asyncapi}"
        );
        for drawing in ["/api/admin/board", "/api/admin/context-map"] {
            let answer = self
                .client
                .get(format!("{}{drawing}", self.gateway()))
                .bearer_auth(&self.admin_token)
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status().as_u16(), 200, "{drawing} for operators");
            assert_eq!(
                answer.headers()["content-type"],
                "image/svg+xml; charset=utf-8"
            );
            let svg = answer.text().await.unwrap();
            assert!(
                svg.starts_with("<svg") && svg.contains(system.as_str()),
                "{drawing}"
            );
        }
    }
    /// My page's document of `kind` `id` (`/api/mypage/<kind>s/<id>`), once `accept` holds.
    pub async fn mypage_until(
        &self,
        token: &str,
        kind: &str,
        id: &str,
        what: &str,
        accept: impl Fn(&Value) -> bool,
    ) -> Value {
        let path = format!("/api/mypage/{kind}s/{id}");
        self.view_until(token, &path, what, accept).await
    }
    /// `POST` JSON through the gateway as `token` with an `Idempotency-Key`.
    pub async fn post_keyed(
        &self,
        token: &str,
        path: &str,
        key: &str,
        body: &Value,
    ) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.gateway()))
            .bearer_auth(token)
            .header("idempotency-key", key)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
    /// A read model's document at `path` (through the gateway as `token`), once `accept` holds.
    pub async fn view_until(
        &self,
        token: &str,
        path: &str,
        what: &str,
        accept: impl Fn(&Value) -> bool,
    ) -> Value {
        crate::eventually(PATIENCE, &format!("{path}: {what}"), || async {
            let (status, view) = self.get_as(token, path).await;
            (status == 200 && accept(&view)).then_some(view)
        })
        .await
    }
    /// `GET` through the gateway as the operator.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.get_as(&self.admin_token, path).await
    }
    /// `POST` JSON through the gateway as the operator.
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.post_as(&self.admin_token, path, body).await
    }
}

/// A server-sent event stream being read.
pub struct EventStream {
    body: std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<Vec<u8>>> + Send>>,
    buffer: String,
}

/// One server-sent event.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// `id:`, if any.
    pub id: Option<String>,
    /// `event:` (`message` when absent).
    pub event: String,
    /// `data:`, as JSON (null when not JSON).
    pub data: Value,
}

impl EventStream {
    /// The next event (comments and heartbeats skipped), or `None` when none came within
    /// `patience` or the stream ended.
    pub async fn next(&mut self, patience: Duration) -> Option<Event> {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = Event {
                    id: None,
                    event: "message".to_owned(),
                    data: Value::Null,
                };
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id: ") {
                        event.id = Some(v.to_owned());
                    } else if let Some(v) = line.strip_prefix("event: ") {
                        event.event = v.to_owned();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data.push_str(v);
                    }
                }
                if data.is_empty() && event.id.is_none() && event.event == "message" {
                    continue;
                }
                event.data = serde_json::from_str(&data).unwrap_or(Value::Null);
                return Some(event);
            }
            let chunk =
                tokio::time::timeout_at(deadline, futures_util::StreamExt::next(&mut self.body));
            match chunk.await {
                Ok(Some(Ok(bytes))) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                _ => return None,
            }
        }
    }
}

/// An authorization code a browser was given, and what redeeming it takes.
#[derive(Clone, Debug)]
pub struct Authorized {
    /// The code.
    pub code: String,
    /// The PKCE verifier of its challenge.
    pub verifier: String,
    /// The redirect URI it was asked for.
    pub redirect: String,
}

impl Authorized {
    /// The token request that redeems it (`POST /oauth2/token`).
    pub fn redemption(&self) -> [(&'static str, &str); 5] {
        [
            ("grant_type", "authorization_code"),
            ("code", &self.code),
            ("redirect_uri", &self.redirect),
            ("client_id", "msa-web"),
            ("code_verifier", &self.verifier),
        ]
    }
}
