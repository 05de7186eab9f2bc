//! `msa chaos`: drives a system's main flows through its gateway while faults are injected, then
//! lets it settle and checks the invariants the system declares. The mechanics are written once
//! here — the system under `msa up` (`running.rs`), the careful client (`client.rs`), the fault
//! injector (`faults.rs`), the load loop, quiescence, the common invariants (dead letters, the
//! read model equal to a fresh replay) and the table (`report.rs`); each system's profile
//! (`roaming.rs`, ...) declares only its domain actions and invariants.

mod booking;
mod cafeteria;
mod cleanup;
mod client;
mod faults;
mod game;
mod office;
mod orders;
mod report;
mod roaming;
mod running;
mod signin;

use anyhow::Context as _;
use client::{Answer, Careful};
use report::{Check, Report};
use running::{Customer, Running};
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// How long the system may take to settle after the load, and the invariants to hold.
const SETTLE: Duration = Duration::from_secs(120);

/// What `msa chaos` was asked for.
#[derive(Debug, Clone)]
pub(crate) struct ChaosOptions {
    pub system: String,
    pub duration: Duration,
    /// Steps of the load a second.
    pub rate: f64,
    pub fault_every: Duration,
    /// `embedded` or `prod`.
    pub profile: String,
    pub customers: usize,
    /// Keep the data directory (logs, stores) even when every invariant held.
    pub keep: bool,
}

/// What a profile's steps and checks work with.
pub(crate) struct Ctx {
    pub client: Careful,
    /// The operator's token.
    pub admin: String,
    pub customers: Vec<Customer>,
    run: String,
    counter: AtomicU64,
}

impl Ctx {
    /// A fresh idempotency key for one intended command.
    pub(crate) fn key(&self, what: &str) -> String {
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        format!("{}-{what}-{n}", self.run)
    }

    /// A customer picked at random.
    pub(crate) fn customer(&self) -> &Customer {
        &self.customers[fastrand::usize(0..self.customers.len())]
    }

    /// The customer called `name`.
    pub(crate) fn customer_named(&self, name: &str) -> &Customer {
        let found = self.customers.iter().find(|c| c.name == name);
        found.unwrap_or(&self.customers[0])
    }
}

/// A system's load profile: how it is seeded, which domain actions its load mixes (and how it
/// sustains them: restocking, fresh missions, ...), and which invariants must hold afterwards.
#[async_trait::async_trait]
pub(crate) trait ChaosProfile: Send + Sync {
    /// The read model `msa replay` rebuilds for the replay check.
    fn view(&self) -> &'static str;

    /// Seeds what the load needs (catalog items, stock).
    async fn setup(&self, ctx: &Ctx) -> anyhow::Result<()>;

    /// One step of the load: an action picked by weight, made carefully.
    async fn step(&self, ctx: &Ctx);

    /// The system's invariants, checked from outside once it is quiet.
    async fn invariants(&self, ctx: &Ctx) -> Vec<Check>;

    /// The read model's documents (token, path) compared across a replay.
    fn documents(&self, ctx: &Ctx) -> Vec<(String, String)>;
}

fn profile_of(system: &str) -> anyhow::Result<Arc<dyn ChaosProfile>> {
    Ok(match system {
        "roaming" => Arc::new(roaming::Roaming::default()),
        "booking" => Arc::new(booking::Booking::default()),
        "game" => Arc::new(game::Game::default()),
        "cafeteria" => Arc::new(cafeteria::Cafeteria::default()),
        "office" => Arc::new(office::Office::default()),
        other => anyhow::bail!("no chaos profile for {other:?}"),
    })
}

/// One of `choices`, picked with the probability of its weight.
pub(crate) fn pick<T: Copy>(choices: &[(u32, T)]) -> T {
    let total: u32 = choices.iter().map(|(w, _)| w).sum();
    let mut roll = fastrand::u32(0..total.max(1));
    for (weight, choice) in choices {
        if roll < *weight {
            return *choice;
        }
        roll -= weight;
    }
    choices[0].1
}

/// The items a profile made, shared by its concurrent steps.
#[derive(Debug)]
pub(crate) struct Ledger<T>(std::sync::Mutex<Vec<T>>);

impl<T> Default for Ledger<T> {
    fn default() -> Self {
        Self(std::sync::Mutex::new(Vec::new()))
    }
}

impl<T: Clone> Ledger<T> {
    pub(crate) fn push(&self, item: T) {
        self.0.lock().expect("ledger lock").push(item);
    }

    /// One of the items `matching`, at random, taken out (a step works on it alone and pushes
    /// it back).
    pub(crate) fn take(&self, matching: impl Fn(&T) -> bool) -> Option<T> {
        let mut items = self.0.lock().expect("ledger lock");
        let found: Vec<usize> = (0..items.len()).filter(|&i| matching(&items[i])).collect();
        let index = *found.get(fastrand::usize(0..found.len().max(1)))?;
        Some(items.swap_remove(index))
    }

    pub(crate) fn all(&self) -> Vec<T> {
        self.0.lock().expect("ledger lock").clone()
    }
}

/// The payment of order `order` (a reservation, a booking, an order) agrees with it: approved
/// while the order is `live`, otherwise not (refunded, voided, declined or none).
pub(crate) async fn payment_agrees(ctx: &Ctx, check: &mut Check, order: &str, live: bool) {
    let payment = ctx
        .client
        .read(&ctx.admin, &format!("/api/payments/by-order/{order}"))
        .await;
    let status = if payment.status == 404 {
        "none".to_owned()
    } else {
        payment.text("status")
    };
    check.expect((status == "Approved") == live, || {
        let state = if live { "live" } else { "not live" };
        format!("{order} is {state} but its payment is {status}")
    });
}

/// Runs a chaos drill and prints its table; `Ok(false)` when an invariant was violated.
pub(crate) async fn run(options: ChaosOptions) -> anyhow::Result<bool> {
    anyhow::ensure!(
        options.profile == "embedded" || options.profile == "prod",
        "--profile is embedded or prod"
    );
    anyhow::ensure!(options.rate > 0.0, "--rate must be above 0");
    anyhow::ensure!(options.customers > 0, "--customers must be at least 1");
    let profile = profile_of(&options.system)?;
    let prod = options.profile == "prod";
    println!(
        "chaos: starting {} ({} profile) with {} synthetic customers",
        options.system, options.profile, options.customers
    );
    let running = Running::start(&options.system, prod, options.customers).await?;
    println!("chaos: the system runs; data in {}", running.data.display());
    let report = drill(&running, profile, &options).await;
    let passed = report.as_ref().is_ok_and(Report::passed);
    running.stop(options.keep || !passed).await;
    let report = report?;
    print!("{}", report.table());
    Ok(passed)
}

async fn drill(
    running: &Running,
    profile: Arc<dyn ChaosProfile>,
    options: &ChaosOptions,
) -> anyhow::Result<Report> {
    let ctx = Arc::new(Ctx {
        client: Careful::new(running.gateway()),
        admin: running.ops_token().await?,
        customers: running.customers(options.customers).await?,
        run: format!("chaos-{:08x}", fastrand::u32(..)),
        counter: AtomicU64::new(0),
    });
    profile
        .setup(&ctx)
        .await
        .context("the profile's setup failed")?;
    ctx.client.tally(true);
    println!(
        "chaos: {} s of load at {}/s, a fault every {} s",
        options.duration.as_secs(),
        options.rate,
        options.fault_every.as_secs()
    );
    let stop = CancellationToken::new();
    let kinds = faults::Fault::offered(running.prod);
    let (faults, ()) = tokio::join!(
        faults::inject(running, &kinds, options.fault_every, stop.clone()),
        async {
            load(&ctx, &profile, options).await;
            stop.cancel();
        }
    );
    let tally = ctx.client.tally(true);
    println!("chaos: the load is over; waiting for the system to settle");
    let mut checks = Vec::new();
    let mut quiet = Check::new("quiet after the load (no lag, no outbox)");
    let quiet_after = running.quiesce(SETTLE).await;
    quiet.expect(quiet_after.is_ok(), || {
        format!(
            "{:#}",
            quiet_after
                .as_ref()
                .err()
                .map_or(String::new(), |e| e.to_string())
        )
    });
    checks.push(quiet);
    let mut answered = Check::new("every command answered (none given up)");
    answered.checked = tally.commands as usize;
    if tally.abandoned > 0 {
        answered
            .violations
            .push(format!("{} commands never answered", tally.abandoned));
    }
    checks.push(answered);
    checks.extend(eventually_held(&ctx, &profile).await);
    checks.push(dead_letters(running).await);
    checks.push(replayed(running, &ctx, &profile).await);
    Ok(Report {
        title: format!(
            "chaos {} ({} profile): {} s at {}/s, {} customers, a fault every {} s",
            options.system,
            options.profile,
            options.duration.as_secs(),
            options.rate,
            options.customers,
            options.fault_every.as_secs()
        ),
        tally,
        faults,
        checks,
        quiet_after: quiet_after.ok(),
    })
}

/// The load: `rate` steps a second for the run's duration, each its own task (at most 64 at
/// once: a slow system slows the load rather than piling it up).
async fn load(ctx: &Arc<Ctx>, profile: &Arc<dyn ChaosProfile>, options: &ChaosOptions) {
    let slots = Arc::new(tokio::sync::Semaphore::new(64));
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / options.rate));
    let start = Instant::now();
    let mut steps = tokio::task::JoinSet::new();
    while start.elapsed() < options.duration {
        tick.tick().await;
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        let (ctx, profile) = (ctx.clone(), profile.clone());
        steps.spawn(async move {
            profile.step(&ctx).await;
            drop(slot);
        });
    }
    while steps.join_next().await.is_some() {}
}

/// The profile's invariants, checked again until they hold or the patience runs out (a
/// reconciler settles an unknown payment outcome some seconds after the system is quiet).
async fn eventually_held(ctx: &Ctx, profile: &Arc<dyn ChaosProfile>) -> Vec<Check> {
    let start = Instant::now();
    loop {
        let checks = profile.invariants(ctx).await;
        if checks.iter().all(Check::passed) || start.elapsed() > SETTLE {
            return checks;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

async fn dead_letters(running: &Running) -> Check {
    let mut check = Check::new("no dead letters");
    for (service, parked) in running.dead_letters().await {
        check.expect(false, || format!("{service} parked {parked}"));
    }
    check.checked = running.processes().len();
    check
}

/// The read model's documents, read before and after `msa replay --from-start`, are the same.
async fn replayed(running: &Running, ctx: &Ctx, profile: &Arc<dyn ChaosProfile>) -> Check {
    let mut check = Check::new("the read model equals a fresh replay");
    let documents = profile.documents(ctx);
    let mut before = Vec::new();
    for (token, path) in &documents {
        before.push(ctx.client.read(token, path).await);
    }
    if let Err(error) = running.replay(profile.view()).await {
        check.expect(false, || format!("{error:#}"));
        return check;
    }
    for ((token, path), before) in documents.iter().zip(before) {
        let after: Answer = ctx.client.read(token, path).await;
        let (was, is) = (comparable(&before.body), comparable(&after.body));
        check.expect(before.ok() && after.ok() && was == is, || {
            format!("{path}: {}", difference(&was, &is))
        });
    }
    check
}

/// A view document without what a rebuild legitimately renews: when each event was folded
/// (`recordedAt`).
fn comparable(document: &Value) -> Value {
    match document {
        Value::Object(object) => Value::Object(
            object
                .iter()
                .filter(|(key, _)| key.as_str() != "recordedAt")
                .map(|(key, value)| (key.clone(), comparable(value)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(comparable).collect()),
        other => other.clone(),
    }
}

/// Where two documents first differ, for a violation's line.
fn difference(before: &Value, after: &Value) -> String {
    if let (Value::Object(a), Value::Object(b)) = (before, after) {
        let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
        for key in keys {
            let (x, y) = (a.get(key), b.get(key));
            if x != y {
                let (x, y) = (x.unwrap_or(&Value::Null), y.unwrap_or(&Value::Null));
                return format!("{key}: {} before, {} after", short(x), short(y));
            }
        }
    }
    format!("{} before, {} after", short(before), short(after))
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(160) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

/// Parses `60s`, `10m`, `500ms` or a number of seconds.
pub(crate) fn parse_duration(value: &str) -> Result<Duration, String> {
    let value = value.trim();
    let (number, unit) = value
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map_or((value, "s"), |at| value.split_at(at));
    let number: f64 = number
        .parse()
        .map_err(|_| format!("expected a duration such as 60s or 10m, got {value:?}"))?;
    let seconds = match unit {
        "ms" => number / 1000.0,
        "s" => number,
        "m" | "min" => number * 60.0,
        "h" => number * 3600.0,
        other => {
            return Err(format!(
                "unknown unit {other:?} in {value:?}: use ms, s, m or h"
            ));
        }
    };
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_an_operator_writes_them() {
        assert_eq!(parse_duration("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("3d").is_err());
    }

    #[test]
    fn every_system_of_the_registry_declares_a_chaos_profile() {
        for system in crate::systems::names().unwrap() {
            assert!(profile_of(&system).is_ok(), "{system} has no chaos profile");
        }
    }

    #[test]
    fn a_weighted_pick_never_picks_a_choice_of_weight_zero() {
        for _ in 0..200 {
            assert_eq!(pick(&[(0, "never"), (3, "always")]), "always");
        }
    }
}
