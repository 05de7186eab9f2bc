//! A real browser for UI tests: headless Chromium driven over the W3C WebDriver protocol by
//! `chromedriver` (Debian's `chromium` and `chromium-driver` packages), with just the commands
//! the tests need.

use anyhow::{Context as _, anyhow};
use base64::Engine as _;
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// An element on the page.
#[derive(Clone, Debug)]
pub struct Element(String);

/// A browser session.
#[derive(Debug)]
pub struct Browser {
    client: reqwest::Client,
    session: String,
    driver: Child,
    _profile: crate::TempDir,
}

fn program(env: &str, candidates: &[&str]) -> anyhow::Result<String> {
    if let Ok(path) = std::env::var(env) {
        return Ok(path);
    }
    candidates
        .iter()
        .find(|p| Path::new(p).exists())
        .map(|p| (*p).to_owned())
        .with_context(|| {
            format!(
                "{} not found; install Debian's chromium and chromium-driver (or set {env})",
                candidates[0]
            )
        })
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with an empty profile.
    pub async fn start() -> anyhow::Result<Self> {
        let driver_path = program(
            "CHROMEDRIVER",
            &["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"],
        )?;
        let chromium = program(
            "CHROMIUM",
            &["/usr/bin/chromium", "/usr/bin/chromium-browser"],
        )?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let driver = Command::new(driver_path)
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start chromedriver")?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?;
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        loop {
            let ready = client
                .get(format!("{base}/status"))
                .send()
                .await
                .ok()
                .map(|r| r.status().is_success())
                .unwrap_or(false);
            if ready {
                break;
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(30),
                "chromedriver did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = crate::TempDir::new("chromium");
        let capabilities = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": chromium,
                    "args": [
                        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        "--disable-quic", "--no-first-run", "--window-size=1280,1000",
                        format!("--user-data-dir={}", profile.path().display()),
                    ],
                },
            }},
        });
        let created: Value = client
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await?
            .json()
            .await?;
        let session = created["value"]["sessionId"]
            .as_str()
            .with_context(|| format!("no browser session: {created}"))?;
        Ok(Self {
            client,
            session: format!("{base}/session/{session}"),
            driver,
            _profile: profile,
        })
    }

    async fn command(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.session);
        let request = self.client.request(method.clone(), &url);
        let request = if method == reqwest::Method::GET {
            request
        } else {
            request.json(&body)
        };
        let answer: Value = request.send().await?.json().await?;
        if let Some(error) = answer["value"]["error"].as_str() {
            return Err(anyhow!("{error}: {}", answer["value"]["message"]));
        }
        Ok(answer["value"].clone())
    }

    /// Opens a URL.
    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.command(reqwest::Method::POST, "/url", json!({ "url": url }))
            .await?;
        Ok(())
    }

    /// The current URL.
    pub async fn url(&self) -> anyhow::Result<String> {
        Ok(self
            .command(reqwest::Method::GET, "/url", Value::Null)
            .await?
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    /// The first element matching a CSS selector, if any.
    pub async fn find(&self, css: &str) -> anyhow::Result<Option<Element>> {
        match self
            .command(
                reqwest::Method::POST,
                "/element",
                json!({ "using": "css selector", "value": css }),
            )
            .await
        {
            Ok(found) => Ok(found[ELEMENT].as_str().map(|id| Element(id.to_owned()))),
            Err(error) if error.to_string().starts_with("no such element") => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Waits until an element matching `css` is displayed.
    pub async fn wait_for(&self, css: &str, patience: Duration) -> anyhow::Result<Element> {
        let started = Instant::now();
        loop {
            if let Some(element) = self.find(css).await?
                && self.displayed(&element).await.unwrap_or(false)
            {
                return Ok(element);
            }
            anyhow::ensure!(
                started.elapsed() < patience,
                "{css} did not appear within {patience:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `script` (the body of a function) returns a truthy value, and returns it.
    pub async fn wait_until(
        &self,
        script: &str,
        what: &str,
        patience: Duration,
    ) -> anyhow::Result<Value> {
        let started = Instant::now();
        loop {
            let value = self.execute(script, json!([])).await?;
            let truthy = !matches!(value, Value::Null | Value::Bool(false)) && value != json!("");
            if truthy {
                return Ok(value);
            }
            anyhow::ensure!(
                started.elapsed() < patience,
                "gave up after {patience:?} waiting for {what}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Whether an element is displayed.
    pub async fn displayed(&self, element: &Element) -> anyhow::Result<bool> {
        Ok(self
            .command(
                reqwest::Method::GET,
                &format!("/element/{}/displayed", element.0),
                Value::Null,
            )
            .await?
            .as_bool()
            .unwrap_or(false))
    }

    /// Clicks an element.
    pub async fn click(&self, element: &Element) -> anyhow::Result<()> {
        self.command(
            reqwest::Method::POST,
            &format!("/element/{}/click", element.0),
            json!({}),
        )
        .await?;
        Ok(())
    }

    /// Clears an input and types into it.
    pub async fn type_into(&self, element: &Element, text: &str) -> anyhow::Result<()> {
        self.command(
            reqwest::Method::POST,
            &format!("/element/{}/clear", element.0),
            json!({}),
        )
        .await?;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{}/value", element.0),
            json!({ "text": text }),
        )
        .await?;
        Ok(())
    }

    /// The visible text of an element.
    pub async fn text(&self, element: &Element) -> anyhow::Result<String> {
        Ok(self
            .command(
                reqwest::Method::GET,
                &format!("/element/{}/text", element.0),
                Value::Null,
            )
            .await?
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    /// Runs a script (the body of a function; `arguments` holds `args`) and returns its result.
    pub async fn execute(&self, script: &str, args: Value) -> anyhow::Result<Value> {
        self.command(
            reqwest::Method::POST,
            "/execute/sync",
            json!({ "script": script, "args": args }),
        )
        .await
    }

    /// Saves a PNG screenshot of the viewport.
    pub async fn screenshot(&self, path: &Path) -> anyhow::Result<()> {
        let encoded = self
            .command(reqwest::Method::GET, "/screenshot", Value::Null)
            .await?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().unwrap_or_default())
            .context("the screenshot is not base64")?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, png).with_context(|| format!("cannot write {}", path.display()))
    }

    /// Signs in on the web UI kit's page at `gateway` as `username` (the kit's sign-in button,
    /// the issuer's form), and waits until the page names the user.
    pub async fn sign_in(&self, gateway: &str, username: &str, password: &str) {
        let patience = Duration::from_secs(30);
        self.goto(&format!("{gateway}/")).await.unwrap();
        let button = self.wait_for("#welcome #sign-in", patience).await.unwrap();
        self.click(&button).await.unwrap();
        let user = self.wait_for("#username", patience).await.unwrap();
        self.type_into(&user, username).await.unwrap();
        let password_field = self.find("#password").await.unwrap().unwrap();
        self.type_into(&password_field, password).await.unwrap();
        self.click(&self.find("#sign-in").await.unwrap().unwrap())
            .await
            .unwrap();
        let named =
            format!("return document.querySelector('#who')?.textContent.includes('{username}')");
        self.wait_until(&named, &format!("{username} signed in"), patience)
            .await
            .unwrap();
    }

    /// Signs out on the web UI kit's page and waits for the welcome page.
    pub async fn sign_out(&self) {
        let patience = Duration::from_secs(30);
        let button = self.wait_for("#sign-out", patience).await.unwrap();
        self.click(&button).await.unwrap();
        self.wait_for("#welcome #sign-in", patience).await.unwrap();
    }

    /// Chooses `value` in the `<select>` at `select`, as a user would (a change event follows).
    pub async fn choose(&self, select: &str, value: &str) {
        let script = "const s = document.querySelector(arguments[0]); s.value = arguments[1]; s.dispatchEvent(new Event('change'));";
        self.execute(script, serde_json::json!([select, value]))
            .await
            .unwrap();
    }

    /// Checks the operator's system view of the kit (signed in as an operator): the services and
    /// the latest events fill in, an event names `correlation`, a screenshot goes to `shot`, the
    /// labels switch to English, and its link opens the event-storming board (a screenshot beside
    /// `shot`, `…-board.png`). Returns the services table's text.
    pub async fn check_operator_view(&self, correlation: &str, shot: &Path) -> String {
        let patience = Duration::from_secs(30);
        let filled = "return document.querySelectorAll('#system tbody tr').length >= 4 && document.querySelectorAll('#events tbody tr').length > 0";
        self.wait_until(filled, "the system view filled", patience)
            .await
            .unwrap();
        let services = self
            .text(&self.find("#system").await.unwrap().unwrap())
            .await
            .unwrap();
        let events = self
            .text(&self.find("#events").await.unwrap().unwrap())
            .await
            .unwrap();
        assert!(
            events.contains(correlation),
            "the latest events name {correlation}: {events}"
        );
        self.screenshot(shot).await.unwrap();
        self.click(&self.find("#lang").await.unwrap().unwrap())
            .await
            .unwrap();
        let english = "return document.querySelector('#admin h2').textContent === 'System'";
        self.wait_until(english, "English labels", patience)
            .await
            .unwrap();
        // The admin view links the living documentation: the board opens for the operator.
        self.click(&self.find("#board-link").await.unwrap().unwrap())
            .await
            .unwrap();
        let drawn = "return !!document.querySelector('#drawing svg .sticker')";
        self.wait_until(drawn, "the event-storming board drawn", patience)
            .await
            .unwrap();
        let board = shot.with_file_name(format!(
            "{}-board.png",
            shot.file_stem().unwrap_or_default().to_string_lossy()
        ));
        self.screenshot(&board).await.unwrap();
        services
    }

    /// The kit's message line once it says something (the answer to what was just done).
    pub async fn answer(&self, what: &str) -> String {
        let shown =
            "const m = document.querySelector('#message'); return !m.hidden && m.textContent";
        let said = self
            .wait_until(shown, what, Duration::from_secs(30))
            .await
            .unwrap();
        said.as_str().unwrap_or_default().to_owned()
    }

    /// Waits until the kit's status badge `badge` (`rental`, `delivery`, ...) inside `item` shows
    /// `status`.
    pub async fn wait_status(&self, item: &str, badge: &str, status: &str, what: &str) {
        let script = format!(
            "return document.querySelector(\"{item} .{badge}-status\")?.dataset.status === '{status}'"
        );
        self.wait_until(&script, what, Duration::from_secs(30))
            .await
            .unwrap();
    }

    /// Starts a browser on `gateway`'s page in Korean.
    pub async fn open(gateway: &str) -> Self {
        let browser = Self::start()
            .await
            .expect("headless Chromium starts (install chromium and chromium-driver)");
        browser.goto(&format!("{gateway}/")).await.unwrap();
        browser
            .execute("localStorage.setItem('lang', 'ko')", serde_json::json!([]))
            .await
            .unwrap();
        browser
    }

    /// Sets number input `selector` to `value`, as a user would (a `change` follows).
    pub async fn set_number(&self, selector: &str, value: u32) {
        let script = format!(
            "const q = document.querySelector(\"{selector}\"); q.value = '{value}'; q.dispatchEvent(new Event('change'));"
        );
        self.execute(&script, serde_json::json!([])).await.unwrap();
    }

    /// Starts a browser on `gateway`'s page in Korean, signed in as `user`, once `ready` (a
    /// selector of the user's screen) shows.
    pub async fn open_as(gateway: &str, user: &str, password: &str, ready: &str) -> Self {
        let browser = Self::open(gateway).await;
        browser.sign_in(gateway, user, password).await;
        browser
            .wait_for(ready, Duration::from_secs(30))
            .await
            .unwrap();
        browser
    }

    /// The text of the element `selector` finds (it must be there).
    pub async fn text_of(&self, selector: &str) -> String {
        let element = self.find(selector).await.unwrap();
        let element = element.unwrap_or_else(|| panic!("{selector} is on the page"));
        self.text(&element).await.unwrap()
    }

    /// Clicks the element `selector` finds (it must be there).
    pub async fn click_on(&self, selector: &str) {
        let element = self.find(selector).await.unwrap();
        let element = element.unwrap_or_else(|| panic!("{selector} is on the page"));
        self.click(&element).await.unwrap();
    }

    /// Where screenshots go: `target/screenshots/`.
    pub fn screenshots() -> std::path::PathBuf {
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots")
    }

    /// Ends the session and stops the driver.
    pub async fn quit(mut self) {
        let _ = self.client.delete(&self.session).send().await;
        let _ = self.driver.kill().await;
    }
}
