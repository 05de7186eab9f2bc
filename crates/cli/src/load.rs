//! `msa bench reserve` and `msa bench command`: an open-loop load of a system's main command
//! through the gateway (roaming's reservation, booking's booking, cafeteria's order, office's
//! rental), the event lag from the command to the user's page showing its first downstream step,
//! and (when `msa up` runs the system from this data directory) the CPU, bytes written and peak
//! resident set of each of its processes per command.

use anyhow::Context as _;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * q).round() as usize]
}

/// A date `days` from today in Korea (where the systems' clocks of business run), as
/// `YYYY-MM-DD`.
fn korean_date(days: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let korea = time::UtcOffset::from_hms(9, 0, 0).expect("a valid offset");
    let today = time::OffsetDateTime::now_utc().to_offset(korea).date();
    (today + time::Duration::days(days))
        .format(format)
        .expect("a date formats")
}

/// A system's main command under load: what is sent, and which entry of the user's page says
/// that the command's first step downstream (through the bus) is done.
pub(crate) struct Workload {
    pub(crate) system: &'static str,
    /// What one command creates, for the report ("reservation").
    noun: &'static str,
    /// A public page that says the gateway is up.
    probe: &'static str,
    /// The command's route (`POST`).
    path: &'static str,
    /// The user's page of one created item: this, then its id.
    view: &'static str,
    /// The timeline entry (source, event) that the first step downstream is done.
    done: (&'static str, &'static str),
    /// The body for a customer, given what [`Workload::prepare`] set up.
    body: fn(&str, &Value) -> Value,
    /// Whether the commands rent a product that has to be registered, with stock for all of
    /// them, first.
    stocked_product: bool,
}

/// The workloads `msa bench command --system` knows (game's mission is left out: a player
/// achieves each of five missions once, so a load needs thousands of players' own tokens).
pub(crate) const WORKLOADS: [Workload; 4] = [
    Workload {
        system: "roaming",
        noun: "reservation",
        probe: "/api/catalog",
        path: "/api/reservations",
        view: "/api/mypage/reservations/",
        done: ("rental", "accepted"),
        body: |customer, _| {
            json!({
                "customerId": customer,
                "deviceModel": "egg-lte",
                "country": "JP",
                "rentalDate": korean_date(2),
                "returnDate": korean_date(5),
                "booth": "ICN-T2",
                "cardNumber": "4242424242424242",
            })
        },
        stocked_product: false,
    },
    Workload {
        system: "booking",
        noun: "booking",
        probe: "/api/musicals",
        path: "/api/bookings",
        view: "/api/mypage/bookings/",
        done: ("delivery", "requested"),
        // The arena night has 50,000 S seats for a fresh data directory; past them the answers
        // are 409 sold_out (and the report shows them).
        body: |customer, _| {
            json!({
                "customerId": customer,
                "musicalId": "elisabeth",
                "performanceId": "elisabeth-2030-05-01",
                "grade": "S",
                "quantity": 1,
                "deliveryAddress": "서울시 종로구 세종대로 1",
                "phone": "010-1234-5678",
                "cardNumber": "4242424242424242",
            })
        },
        stocked_product: false,
    },
    Workload {
        system: "cafeteria",
        noun: "order",
        probe: "/api/menu",
        path: "/api/orders",
        view: "/api/mypage/orders/",
        done: ("drink", "queued"),
        body: |customer, _| {
            json!({
                "customerId": customer,
                "drinkId": "americano",
                "qty": 1,
                "cardNumber": "4242424242424242",
            })
        },
        stocked_product: false,
    },
    Workload {
        system: "office",
        noun: "rental",
        probe: "/api/products",
        path: "/api/rentals",
        view: "/api/myorders/rentals/",
        done: ("delivery", "scheduled"),
        body: |customer, product| {
            json!({
                "customerId": customer,
                "productId": product["id"],
                "qty": 1,
                "from": korean_date(1),
                "to": korean_date(2),
            })
        },
        stocked_product: true,
    },
];

/// The workload of `system`.
pub(crate) fn workload(system: &str) -> anyhow::Result<&'static Workload> {
    WORKLOADS
        .iter()
        .find(|workload| workload.system == system)
        .with_context(|| {
            format!(
                "no workload for {system:?}; there are {}",
                WORKLOADS.map(|workload| workload.system).join(", ")
            )
        })
}

impl Workload {
    /// What the commands need to exist first: for a stocked product (office's rentals), a product
    /// with stock for every command of the run (registered, restocked, and known to the rental
    /// and delivery services).
    async fn prepare(
        &self,
        client: &reqwest::Client,
        gateway: &str,
        token: &str,
        commands: usize,
    ) -> anyhow::Result<Value> {
        if !self.stocked_product {
            return Ok(Value::Null);
        }
        const MOST: usize = 10_000;
        let registered = client
            .post(format!("{gateway}/api/products"))
            .bearer_auth(token)
            .json(&json!({"name": "bench", "dailyRate": 5000, "qty": commands.min(MOST)}))
            .send()
            .await?;
        anyhow::ensure!(
            registered.status() == reqwest::StatusCode::CREATED,
            "cannot register the bench's product: {}",
            registered.text().await.unwrap_or_default()
        );
        let product: Value = registered.json().await?;
        let id = product["id"].as_str().context("the product has no id")?;
        let mut stocked = commands.min(MOST);
        while stocked < commands {
            let more = (commands - stocked).min(MOST);
            let answer = client
                .post(format!("{gateway}/api/products/{id}/restock"))
                .bearer_auth(token)
                .json(&json!({"quantity": more}))
                .send()
                .await?;
            anyhow::ensure!(
                answer.status().is_success(),
                "cannot restock the bench's product: {}",
                answer.text().await.unwrap_or_default()
            );
            stocked += more;
        }
        // Both the rental service's catalog and the delivery service's stock hear of it through
        // the bus.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let catalog: Value = client
                .get(format!("{gateway}/api/rentals/catalog"))
                .bearer_auth(token)
                .send()
                .await?
                .json()
                .await
                .unwrap_or(Value::Null);
            let stock: Value = client
                .get(format!("{gateway}/api/stock"))
                .send()
                .await?
                .json()
                .await
                .unwrap_or(Value::Null);
            let entry = |list: &Value| {
                list.as_array()
                    .and_then(|items| items.iter().find(|item| item["productId"] == id))
                    .cloned()
            };
            if entry(&catalog).is_some()
                && entry(&stock).is_some_and(|item| item["stock"].as_u64() >= Some(commands as u64))
            {
                return Ok(product);
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "the bench's product {id} did not reach the rental catalog and the stock in 30 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The processes of the system under load, as `msa up` lists them in `supervisor.json`, with
/// their CPU time and their largest resident set seen while the load ran.
struct Processes {
    list: Vec<Watched>,
}

/// One process of the system under load.
struct Watched {
    /// The service, or the service with its replica.
    label: String,
    pid: u32,
    /// CPU ticks at the start.
    ticks: u64,
    /// Bytes it had sent to storage at the start.
    written: u64,
    /// The largest resident set seen, in KiB.
    peak: u64,
}

/// What one process used over the load.
struct Used {
    label: String,
    cpu_seconds: f64,
    peak_mib: f64,
    written_bytes: u64,
}

/// CPU time so far of `pid`: user + system, in clock ticks of 1/100 s.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(") ")?.1.split(' ').collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// The bytes `pid` has caused to be written to storage so far (counted when it dirties a page of
/// a file: the log frames and checkpoint pages of its SQLite files, its own logs).
fn written_bytes(pid: u32) -> Option<u64> {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
    io.lines()
        .find_map(|line| line.strip_prefix("write_bytes:"))
        .and_then(|rest| rest.trim().parse().ok())
}

/// The resident set of `pid`, in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

impl Processes {
    /// The processes `supervisor.json` in the system's data directory names, waiting a moment
    /// for `msa up` to list them (it writes the file once every process is up, a little after
    /// they answer ready); none when there is no such directory (a gateway on another machine),
    /// and CPU is then not reported.
    async fn listed(data: &str) -> Self {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let processes = Self::of(data);
            if !processes.list.is_empty()
                || !std::path::Path::new(data).is_dir()
                || Instant::now() >= deadline
            {
                return processes;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The processes `supervisor.json` names now.
    fn of(data: &str) -> Self {
        let path = std::path::Path::new(data).join("supervisor.json");
        let listed: Value = std::fs::read_to_string(path)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or(Value::Null);
        let list = listed["processes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|process| {
                let pid = u32::try_from(process["pid"].as_u64()?).ok()?;
                let label = process["label"].as_str()?.to_owned();
                Some(Watched {
                    label,
                    pid,
                    ticks: cpu_ticks(pid)?,
                    written: written_bytes(pid).unwrap_or_default(),
                    peak: rss_kib(pid)?,
                })
            })
            .collect();
        Self { list }
    }

    /// Notes each process's resident set if it is the largest seen.
    fn sample(&mut self) {
        for watched in &mut self.list {
            if let Some(rss) = rss_kib(watched.pid) {
                watched.peak = watched.peak.max(rss);
            }
        }
    }

    /// What each process used since [`Self::of`].
    fn used(&self) -> Vec<Used> {
        self.list
            .iter()
            .map(|watched| Used {
                label: watched.label.clone(),
                cpu_seconds: cpu_ticks(watched.pid)
                    .unwrap_or(watched.ticks)
                    .saturating_sub(watched.ticks) as f64
                    / 100.0,
                peak_mib: watched.peak as f64 / 1024.0,
                written_bytes: written_bytes(watched.pid)
                    .unwrap_or(watched.written)
                    .saturating_sub(watched.written),
            })
            .collect()
    }
}

#[derive(Default)]
struct Tally {
    latencies: Vec<f64>,
    statuses: BTreeMap<String, usize>,
    lags: Vec<f64>,
    followed: Vec<(String, time::OffsetDateTime)>,
}

/// Runs the load of `workload` and prints latency and lag percentiles.
pub(crate) async fn run(
    workload: &'static Workload,
    gateway: &str,
    data: &str,
    rate: u64,
    duration: u64,
    lag_every: usize,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        rate > 0 && duration > 0,
        "--rate and --duration must be positive"
    );
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(256)
        .build()
        .context("cannot build the client")?;
    client
        .get(format!("{gateway}{}", workload.probe))
        .send()
        .await
        .with_context(|| {
            format!("the gateway at {gateway} does not answer; is `msa up` running?")
        })?;
    let token = operator_token(&client, gateway, data).await?;
    let run = format!(
        "{:x}",
        time::OffsetDateTime::now_utc().unix_timestamp() % 0x00ff_ffff
    );
    let tally = Arc::new(Mutex::new(Tally::default()));
    let total = (rate * duration) as usize;
    let prepared = Arc::new(
        workload
            .prepare(&client, gateway, &token, total)
            .await
            .context("cannot prepare the load")?,
    );
    let processes = Arc::new(std::sync::Mutex::new(Processes::listed(data).await));
    let sampler = {
        let processes = processes.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(500));
            loop {
                tick.tick().await;
                processes.lock().expect("processes lock").sample();
            }
        })
    };
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(total);
    for i in 0..total {
        let due = started + Duration::from_secs_f64(i as f64 / rate as f64);
        tokio::time::sleep_until(due.into()).await;
        let client = client.clone();
        let tally = tally.clone();
        let gateway = gateway.to_owned();
        let customer = format!("bench-{run}-{}", i % 1000);
        let token = token.clone();
        let prepared = prepared.clone();
        tasks.push(tokio::spawn(async move {
            let sent = Instant::now();
            let sent_at = time::OffsetDateTime::now_utc();
            let answer = client
                .post(format!("{gateway}{}", workload.path))
                .bearer_auth(&token)
                .json(&(workload.body)(&customer, &prepared))
                .send()
                .await;
            let latency = sent.elapsed().as_secs_f64();
            let (status, id) = match answer {
                Ok(response) => {
                    let status = response.status().as_u16().to_string();
                    let body: Value = response.json().await.unwrap_or(Value::Null);
                    (status, body["id"].as_str().map(str::to_owned))
                }
                Err(error) => (format!("error: {error}"), None),
            };
            {
                let mut tally = tally.lock().await;
                tally.latencies.push(latency);
                *tally.statuses.entry(status).or_default() += 1;
            }
            if let (Some(id), true) = (id, i % lag_every == 0) {
                tally.lock().await.followed.push((id, sent_at));
            }
        }));
    }
    let offered_for = started.elapsed();
    for task in tasks {
        let _ = task.await;
    }
    // CPU is counted until the last answer; the events it started are mostly handled by then
    // (the lag below says how long the rest took).
    sampler.abort();
    let answered_for = started.elapsed();
    let used = processes.lock().expect("processes lock").used();
    let mut tally = Arc::try_unwrap(tally)
        .map_err(|_| anyhow::anyhow!("load tasks still running"))?
        .into_inner();
    // The lag is read from the page afterwards (when it recorded the step downstream), so that
    // measuring it adds no load while the load runs.
    let settle = Instant::now() + Duration::from_secs(60);
    for (id, sent_at) in std::mem::take(&mut tally.followed) {
        loop {
            let view: Value = client
                .get(format!("{gateway}{}{id}", workload.view))
                .bearer_auth(&token)
                .send()
                .await?
                .json()
                .await
                .unwrap_or(Value::Null);
            let accepted = view["timeline"].as_array().and_then(|entries| {
                entries
                    .iter()
                    .find(|e| e["source"] == workload.done.0 && e["event"] == workload.done.1)
                    .and_then(|e| e["recordedAt"].as_str())
                    .and_then(|at| {
                        time::OffsetDateTime::parse(
                            at,
                            &time::format_description::well_known::Rfc3339,
                        )
                        .ok()
                    })
            });
            if let Some(recorded) = accepted {
                tally.lags.push((recorded - sent_at).as_seconds_f64());
                break;
            }
            anyhow::ensure!(
                Instant::now() < settle,
                "the page of {} {id} never showed {}.{}",
                workload.noun,
                workload.done.0,
                workload.done.1
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    tally.latencies.sort_by(f64::total_cmp);
    tally.lags.sort_by(f64::total_cmp);
    let ms = |v: f64| v * 1000.0;
    println!(
        "POST {} at {rate}/s for {duration}s: {} sent in {:.1}s ({:.0}/s)",
        workload.path,
        tally.latencies.len(),
        offered_for.as_secs_f64(),
        tally.latencies.len() as f64 / offered_for.as_secs_f64()
    );
    println!("  answers: {:?}", tally.statuses);
    if tally.statuses.contains_key("429") {
        println!(
            "  429 is the gateway's limit per caller, and this load is one caller: to measure the \
             system above it, start it with MSA__RATE_LIMIT__PER_SECOND and MSA__RATE_LIMIT__BURST raised"
        );
    }
    println!(
        "  latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
        ms(percentile(&tally.latencies, 0.50)),
        ms(percentile(&tally.latencies, 0.90)),
        ms(percentile(&tally.latencies, 0.99)),
        ms(percentile(&tally.latencies, 1.0))
    );
    println!(
        "  {} → its page shows {}.{} ({} samples), ms: p50 {:.1}  p99 {:.1}  max {:.1}",
        workload.noun,
        workload.done.0,
        workload.done.1,
        tally.lags.len(),
        ms(percentile(&tally.lags, 0.50)),
        ms(percentile(&tally.lags, 0.99)),
        ms(percentile(&tally.lags, 1.0))
    );
    let created = tally.statuses.get("201").copied().unwrap_or_default();
    let noun = workload.noun;
    let per_command = |seconds: f64| {
        if created == 0 {
            f64::NAN
        } else {
            seconds * 1000.0 / created as f64
        }
    };
    let cpu: f64 = used.iter().map(|used| used.cpu_seconds).sum();
    // KiB written to storage per command that created something.
    let written_kib = |bytes: u64| per_command(bytes as f64 / 1024.0) / 1000.0;
    let written: u64 = used.iter().map(|used| used.written_bytes).sum();
    if !used.is_empty() {
        println!(
            "  CPU of the system's {} processes over {:.1}s: {:.2} cores, {:.2} ms per {noun} created; {:.0} KiB written to storage per {noun}",
            used.len(),
            answered_for.as_secs_f64(),
            cpu / answered_for.as_secs_f64(),
            per_command(cpu),
            written_kib(written)
        );
        for used in &used {
            println!(
                "    {:<24} {:>6.1}% CPU  {:>6.2} ms per {noun}  peak RSS {:>5.1} MiB  {:>5.0} KiB written per {noun}",
                used.label,
                used.cpu_seconds * 100.0 / answered_for.as_secs_f64(),
                per_command(used.cpu_seconds),
                used.peak_mib,
                written_kib(used.written_bytes)
            );
        }
    }
    println!(
        "| {rate}/s | {} | {:.1} / {:.1} ms | {:.0} / {:.0} ms | {} |",
        tally
            .statuses
            .iter()
            .map(|(status, n)| format!("{n}× {status}"))
            .collect::<Vec<_>>()
            .join(", "),
        ms(percentile(&tally.latencies, 0.50)),
        ms(percentile(&tally.latencies, 0.99)),
        ms(percentile(&tally.lags, 0.50)),
        ms(percentile(&tally.lags, 0.99)),
        if used.is_empty() || created == 0 {
            "CPU not measured".to_owned()
        } else {
            let peak = used.iter().map(|used| used.peak_mib).fold(0.0, f64::max);
            format!(
                "{:.2} ms CPU and {:.0} KiB written per {noun}, peak RSS {peak:.1} MiB",
                per_command(cpu),
                written_kib(written)
            )
        }
    );
    Ok(())
}

/// A token for the load: `MSA_TOKEN`, or the operator's machine client with the secret `msa up`
/// keeps in the data directory.
async fn operator_token(
    client: &reqwest::Client,
    gateway: &str,
    data: &str,
) -> anyhow::Result<String> {
    if let Ok(token) = std::env::var("MSA_TOKEN") {
        return Ok(token);
    }
    let path = std::path::Path::new(data).join("auth/ops-client-secret");
    let secret = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "no MSA_TOKEN and no client secret at {} (give --data)",
            path.display()
        )
    })?;
    let answer: Value = client
        .post(format!("{gateway}/oauth2/token"))
        .basic_auth("msa-ops", Some(secret.trim()))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .context("the token endpoint does not answer")?
        .json()
        .await
        .context("the token endpoint answered nonsense")?;
    answer["access_token"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no token: {answer}"))
}
