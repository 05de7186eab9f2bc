//! A roaming system of real processes (`msa serve ...`) on free ports and a temporary data
//! directory, with helpers to drive it through the gateway.

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::process::Stdio;
use std::time::{Duration, Instant};
use testkit::{TempDir, eventually, unique_name};
use tokio::process::{Child, Command};

pub const MSA: &str = env!("CARGO_BIN_EXE_msa");
pub const APPROVED_CARD: &str = "4242424242424242";
pub const DECLINED_CARD: &str = "4000000000000002";
pub const NO_FUNDS_CARD: &str = "4000000000009995";
pub const PATIENCE: Duration = Duration::from_secs(30);

/// Which bus the processes share.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bus {
    Local,
    Nats,
}

/// Where the services keep their data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// SQLite files and the bus of `Options::bus`.
    Embedded,
    /// PostgreSQL (reservation), MariaDB (payment), SQLite (rental), Redis (customer) and NATS,
    /// each test in its own databases, key prefix and stream.
    Prod,
}

/// Knobs of a test system.
#[derive(Clone, Debug)]
pub struct Options {
    pub profile: Profile,
    pub bus: Bus,
    /// Extra environment for every service.
    pub env: Vec<(String, String)>,
}

impl Options {
    /// The defaults, in `profile`.
    pub fn of(profile: Profile) -> Self {
        Self {
            profile,
            ..Self::default()
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Self {
            profile: Profile::Embedded,
            bus: Bus::Local,
            env: Vec::new(),
        }
    }
}

struct Proc {
    child: Child,
}

pub struct System {
    pub dir: TempDir,
    ports: std::sync::Mutex<HashMap<String, testkit::ports::Port>>,
    pub client: reqwest::Client,
    /// A token of the operator's machine client (role admin), used by the helpers below.
    pub admin_token: String,
    /// The machine client's secret, given to the gateway through its environment.
    pub ops_secret: String,
    system_name: String,
    options: Options,
    procs: HashMap<String, Proc>,
    service_env: Vec<(String, String, String)>,
}

pub const SERVICES: [&str; 5] = ["payment", "reservation", "rental", "customer", "gateway"];

fn label(service: &str, replica: Option<u16>) -> String {
    match replica {
        None | Some(0) => service.to_owned(),
        Some(n) => format!("{service}-{}", n + 1),
    }
}

impl System {
    /// Starts every service and waits until each is ready.
    pub async fn start(options: Options) -> Self {
        let mut system = Self::new(options);
        system.start_all().await;
        system
    }

    /// Starts every service of a system made with [`Self::new`] and waits until each is ready.
    pub async fn start_all(&mut self) {
        for service in SERVICES {
            self.spawn(service, service, None).await;
        }
        for service in SERVICES {
            self.wait_ready(service, None).await;
        }
        self.admin_token = self.client_token().await;
    }

    /// Sets an environment variable of one service (before it starts).
    pub fn set_service_env(&mut self, service: &str, key: &str, value: &str) {
        self.service_env
            .push((service.to_owned(), key.to_owned(), value.to_owned()));
    }

    /// The store URL `service` uses in the prod profile.
    pub fn prod_store_url(&self, service: &str) -> String {
        match service {
            "reservation" => testkit::servers::postgres_url(&self.database("reservation")),
            "payment" => testkit::servers::mysql_url(&self.database("payment")),
            "customer" => testkit::servers::redis_url(&format!("{}:mypage", self.system_name)),
            other => panic!("{other} keeps its data in SQLite in every profile"),
        }
    }

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
            .get(format!("{}/oauth2/authorize", self.gateway()))
            .query(&params)
            .send()
            .await
            .unwrap();
        assert_eq!(form.status().as_u16(), 200, "the login form is shown");
        let mut fields: Vec<(&str, &str)> = params.to_vec();
        fields.push(("username", username));
        fields.push(("password", password));
        let answer = no_redirects
            .post(format!("{}/oauth2/authorize", self.gateway()))
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
        let tokens = self
            .client
            .post(format!("{}/oauth2/token", self.gateway()))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", redirect.as_str()),
                ("client_id", "msa-web"),
                ("code_verifier", verifier.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(tokens.status().as_u16(), 200);
        tokens.json().await.unwrap()
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

    /// A system with nothing started yet.
    pub fn new(options: Options) -> Self {
        Self {
            dir: TempDir::new("roaming"),
            ports: std::sync::Mutex::new(HashMap::new()),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            admin_token: String::new(),
            ops_secret: unique_name("ops-secret"),
            system_name: unique_name("roaming"),
            options,
            procs: HashMap::new(),
            service_env: Vec::new(),
        }
    }

    /// The port of a service (replica `n` of it), chosen on first use and kept across restarts.
    pub fn port(&self, service: &str, replica: Option<u16>) -> u16 {
        self.ports
            .lock()
            .unwrap()
            .entry(label(service, replica))
            .or_insert_with(testkit::ports::Port::take)
            .number()
    }

    pub fn url(&self, service: &str) -> String {
        format!("http://127.0.0.1:{}", self.port(service, None))
    }

    pub fn gateway(&self) -> String {
        self.url("gateway")
    }

    /// Starts `service` with extra environment (a crash point, say); does not wait for it.
    pub async fn spawn_with(&mut self, service: &str, extra: &[(&str, &str)]) {
        let saved = self.options.env.clone();
        self.options.env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        self.spawn(service, service, None).await;
        self.options.env = saved;
    }

    /// Waits until process `label` exits, forgets it, and returns how it exited.
    pub async fn wait_exit(&mut self, label: &str) -> std::process::ExitStatus {
        let mut proc = self.procs.remove(label).expect("a running process");
        tokio::time::timeout(PATIENCE, proc.child.wait())
            .await
            .expect("the process exits in time")
            .unwrap()
    }

    /// Starts process `label` of `service` (replica `n` listens 100·n ports higher).
    pub async fn spawn(&mut self, label: &str, service: &str, replica: Option<u16>) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join(format!("{label}.log")))
            .unwrap();
        let mut command = Command::new(MSA);
        command
            .arg("--data")
            .arg(self.dir.path())
            .arg("serve")
            .arg(format!("roaming/{service}"))
            .env("MSA_LOG", "info")
            .env("MSA__HTTP__PORT", self.port(service, replica).to_string())
            .env("MSA__CONSUMER__HEARTBEAT_MS", "100")
            .env("MSA__CONSUMER__LEASE_MS", "1000")
            .env("MSA__CONSUMER__BACKOFF_MS", "50")
            .env("MSA__BUS__POLL_MS", "10")
            .env("MSA__BUS__ACK_WAIT_MS", "2000")
            .env("MSA__BUS__SYSTEM", &self.system_name)
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .kill_on_drop(true);
        if self.options.bus == Bus::Nats || self.options.profile == Profile::Prod {
            command.env("MSA__BUS__URL", testkit::nats_url());
        }
        if self.options.profile == Profile::Prod
            && ["reservation", "payment", "customer"].contains(&service)
        {
            command.env("MSA__STORE__URL", self.prod_store_url(service));
        }
        if service == "reservation" {
            command.env("MSA__PAYMENT__URL", self.url("payment"));
        }
        if service == "gateway" {
            let gateway = self.gateway();
            command
                .env(
                    "MSA__AUTH__EMBEDDED_ISSUER__OPS_CLIENT_SECRET",
                    &self.ops_secret,
                )
                .env("MSA__AUTH__ISSUER", &gateway)
                .env(
                    "MSA__AUTH__EMBEDDED_ISSUER__WEB_REDIRECT_URIS",
                    format!("[\"{gateway}/\"]"),
                );
            for upstream in ["reservation", "payment", "rental", "customer"] {
                command.env(
                    format!("MSA__UPSTREAMS__{}", upstream.to_uppercase()),
                    self.url(upstream),
                );
            }
        }
        for (key, value) in &self.options.env {
            command.env(key, value);
        }
        for (_, key, value) in self.service_env.iter().filter(|(s, _, _)| s == service) {
            command.env(key, value);
        }
        let child = command.spawn().expect("msa starts");
        self.procs.insert(label.to_owned(), Proc { child });
    }

    /// Waits until `/health/ready` of the service answers 200.
    pub async fn wait_ready(&self, service: &str, replica: Option<u16>) {
        let url = format!(
            "http://127.0.0.1:{}/health/ready",
            self.port(service, replica)
        );
        let client = self.client.clone();
        eventually(PATIENCE, &format!("{service} ready"), || {
            let client = client.clone();
            let url = url.clone();
            async move {
                let response = client
                    .get(&url)
                    .timeout(Duration::from_secs(2))
                    .send()
                    .await
                    .ok()?;
                response.status().is_success().then_some(())
            }
        })
        .await;
    }

    /// Stops a process gracefully (SIGTERM) and waits for it to exit.
    pub async fn stop(&mut self, label: &str) {
        let mut proc = self.procs.remove(label).expect("a running process");
        if let Some(pid) = proc.child.id() {
            kill(Pid::from_raw(pid as i32), Signal::SIGTERM).unwrap();
        }
        let status = tokio::time::timeout(PATIENCE, proc.child.wait())
            .await
            .expect("the process stops in time")
            .unwrap();
        assert!(
            status.success(),
            "{label} exited with {status} after SIGTERM"
        );
    }

    /// Sends SIGTERM without waiting; [`Self::wait_exit`] waits.
    pub fn terminate(&self, label: &str) {
        let proc = self.procs.get(label).expect("a running process");
        kill(
            Pid::from_raw(proc.child.id().unwrap() as i32),
            Signal::SIGTERM,
        )
        .unwrap();
    }

    /// The log of process `label` so far.
    pub fn log(&self, label: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("{label}.log"))).unwrap_or_default()
    }

    /// Kills a process abruptly (SIGKILL).
    pub async fn kill(&mut self, label: &str) {
        let mut proc = self.procs.remove(label).expect("a running process");
        proc.child.kill().await.unwrap();
    }

    /// Starts a stopped service again and waits until it is ready.
    pub async fn restart(&mut self, service: &str) {
        self.spawn(service, service, None).await;
        self.wait_ready(service, None).await;
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.gateway()))
            .bearer_auth(&self.admin_token)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.gateway()))
            .bearer_auth(&self.admin_token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// `POST /api/reservations` through the gateway; the response with its status and headers.
    pub async fn reserve_raw(&self, customer: &str, card: &str) -> reqwest::Response {
        self.client
            .post(format!("{}/api/reservations", self.gateway()))
            .bearer_auth(&self.admin_token)
            .json(&reservation_request(customer, card))
            .send()
            .await
            .unwrap()
    }

    /// Reserves and returns (status, body).
    pub async fn reserve(&self, customer: &str, card: &str) -> (u16, Value) {
        let response = self.reserve_raw(customer, card).await;
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Reserves with an approved card and returns the reservation id.
    pub async fn reserved(&self, customer: &str) -> String {
        let (status, body) = self.reserve(customer, APPROVED_CARD).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["status"], "Reserved");
        body["id"].as_str().unwrap().to_owned()
    }

    /// My page's view of a reservation, once it satisfies `accept`.
    pub async fn mypage_until(
        &self,
        id: &str,
        what: &str,
        accept: impl Fn(&Value) -> bool,
    ) -> Value {
        eventually(PATIENCE, &format!("my page of {id}: {what}"), || async {
            let (status, body) = self.get(&format!("/api/mypage/reservations/{id}")).await;
            (status == 200 && accept(&body)).then_some(body)
        })
        .await
    }

    /// The booth's view of a rental, once it satisfies `accept`.
    pub async fn rental_until(
        &self,
        id: &str,
        what: &str,
        accept: impl Fn(&Value) -> bool,
    ) -> Value {
        eventually(PATIENCE, &format!("rental of {id}: {what}"), || async {
            let (status, body) = self.get(&format!("/api/rentals/{id}")).await;
            (status == 200 && accept(&body)).then_some(body)
        })
        .await
    }

    /// The reservation, once it satisfies `accept`.
    pub async fn reservation_until(
        &self,
        id: &str,
        what: &str,
        accept: impl Fn(&Value) -> bool,
    ) -> Value {
        eventually(PATIENCE, &format!("reservation {id}: {what}"), || async {
            let (status, body) = self.get(&format!("/api/reservations/{id}")).await;
            (status == 200 && accept(&body)).then_some(body)
        })
        .await
    }

    /// Sets payment's injected faults directly on the payment service.
    pub async fn payment_faults(&self, latency_ms: u64, error_rate: f64) {
        let response = self
            .client
            .put(format!("{}/admin/faults", self.url("payment")))
            .json(&json!({ "latencyMs": latency_ms, "errorRate": error_rate }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
    }

    /// Payment's record for a reservation.
    pub async fn payment_of(&self, id: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!(
                "{}/api/payments/by-reservation/{id}",
                self.url("payment")
            ))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The system name the bus uses (unique per test).
    pub fn bus_system(&self) -> &str {
        &self.system_name
    }

    /// This test's database for `service` (prod profile).
    fn database(&self, service: &str) -> String {
        format!("{}_{service}", self.system_name)
    }

    /// Removes what the test left on shared servers.
    pub async fn cleanup(mut self) {
        for label in self.procs.keys().cloned().collect::<Vec<_>>() {
            if let Some(mut proc) = self.procs.remove(&label) {
                let _ = proc.child.kill().await;
            }
        }
        if self.options.bus == Bus::Nats || self.options.profile == Profile::Prod {
            testkit::conformance::delete_nats_stream(&self.system_name).await;
        }
        if self.options.profile == Profile::Prod {
            testkit::servers::drop_postgres(&self.database("reservation")).await;
            testkit::servers::drop_mysql(&self.database("payment")).await;
            if let Ok(store) = kernel::redis::RedisStore::connect(
                &testkit::servers::redis_url(&self.system_name),
                "cleanup",
            )
            .await
            {
                let _ = store.delete_under("").await;
            }
        }
    }
}

/// A valid reservation request a few days ahead.
pub fn reservation_request(customer: &str, card: &str) -> Value {
    let today = time::OffsetDateTime::now_utc()
        .to_offset(time::UtcOffset::from_hms(9, 0, 0).unwrap())
        .date();
    let format = time::macros::format_description!("[year]-[month]-[day]");
    json!({
        "customerId": customer,
        "deviceModel": "galaxy-s24",
        "country": "JP",
        "rentalDate": (today + time::Duration::days(3)).format(format).unwrap(),
        "returnDate": (today + time::Duration::days(7)).format(format).unwrap(),
        "booth": "ICN-T1",
        "cardNumber": card,
    })
}

/// Seconds since `start`, for reports.
pub fn elapsed_ms(start: Instant) -> u128 {
    start.elapsed().as_millis()
}
