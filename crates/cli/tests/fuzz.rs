//! API fuzzing: schemathesis (`scripts/fuzz/requirements.txt`, installed into `target/fuzzvenv`
//! by `scripts/test.sh`) against each system's merged OpenAPI document through the gateway,
//! signed in as the operator and a customer ([`ADMIN_AND_CUSTOMER`]). Every check is on (no 5xx,
//! no status code, header, content type or body the document does not describe, no schema-valid
//! request refused and no schema-invalid one accepted, a missing token answered 401, unsupported
//! methods answered 405 with `Allow`, no answer slower than [`MAX_RESPONSE_TIME`]) but where an
//! [`Exemption`] names the operation and says why. Three checks are on but find nothing to judge:
//! `use_after_free` and `ensure_resource_availability` (a deleted resource answers 404, a created
//! one can be read) judge sequences of calls only the stateful phase makes, which is left out
//! ([`PHASES`]); `object_level_authorization` replays one identity's read as another configured
//! identity, and each run here has one token (one customer never reading another's items is the
//! system tests' `my page` and ownership flows).

#![allow(clippy::unwrap_used)]

use serde_json::Value;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use testkit::system::TestSystem;

const MSA: &str = env!("CARGO_BIN_EXE_msa");

/// Test cases per operation the examples phase draws from the document's examples.
const MAX_EXAMPLES: &str = "3";

/// The phases: the document's examples, and the coverage of each schema (each parameter's and
/// field's edges, every schema-invalid variant, every method a path does not document), which is
/// where a schema and a service disagree. Left out: random fuzzing (on these schemas it finds
/// what coverage finds, at twice the time the suite's budget allows) and the stateful phase (the
/// documents declare no links; the flows through the gateway are the system tests' business).
const PHASES: &str = "examples,coverage";

/// The wall-clock cap of one system's test (all its roles); past it the run is killed and the
/// test fails.
const CAP: Duration = Duration::from_secs(120);

/// The slowest answer the check `max_response_time` accepts (generous: up to four of these tests
/// and others share two cores).
const MAX_RESPONSE_TIME: &str = "5";

/// The fixed seed: a failure found in CI reproduces on a developer's machine.
const SEED: &str = "18";

fn schemathesis() -> PathBuf {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/fuzzvenv/bin/schemathesis");
    assert!(
        path.exists(),
        "{} is missing: run `python3 -m venv target/fuzzvenv && target/fuzzvenv/bin/pip install \
         -r scripts/fuzz/requirements.txt` (scripts/test.sh does)",
        path.display()
    );
    path
}

/// What one run found: its output and whether it passed.
struct Run {
    passed: bool,
    output: String,
}

/// A check switched off for one operation as one role, and why the document cannot say it.
struct Exemption {
    role: &'static str,
    method: String,
    path: String,
    check: &'static str,
    why: &'static str,
}

/// The query parameters by which an operator names whose items a list shows (`kernel::owned`,
/// `kernel::view`, `kernel::notify`).
const OWNER_PARAMETERS: &[&str] = &["customerId", "playerId", "recipient"];

/// Operators list someone's items by naming the owner (`?customerId=`, `?playerId=`,
/// `?recipient=`): optional for a customer, whose token names them, and required of an operator.
/// A schema cannot make a parameter required for one role only, so a schema-valid page without
/// it is refused (400 `missing_customer_id`) to the operator alone: `positive_data_acceptance`
/// is off for the operator (`admin`) on every `GET` with such a parameter, found in the document.
const OPERATOR_NAMES_THE_OWNER: &str = "operators name the owner (required for them only)";

fn operator_names_the_owner(document: &Value) -> Vec<Exemption> {
    let mut exemptions = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        let named = item["get"]["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| {
                p["in"] == "query" && OWNER_PARAMETERS.contains(&p["name"].as_str().unwrap_or(""))
            });
        if named {
            exemptions.push(Exemption {
                role: "admin",
                method: "GET".to_owned(),
                path: path.clone(),
                check: "positive_data_acceptance",
                why: OPERATOR_NAMES_THE_OWNER,
            });
        }
    }
    exemptions
}

/// Business rules no schema states: a schema-valid request may still be refused with 402 or 422
/// (an entry missing from a catalog, a day in the past, a card failing the Luhn check or
/// declined). The check stays on for every other operation.
fn business_rules(method: &str, path: &str, why: &'static str) -> Exemption {
    Exemption {
        role: "*",
        method: method.to_owned(),
        path: path.to_owned(),
        check: "positive_data_acceptance",
        why,
    }
}

const PAYMENT_RULES: &str = "a card passes the Luhn check; a declined card answers 402";

const CATALOG_AND_PAYMENT: &str = "the item from the catalog, seats or stock left; the card \
     passes the Luhn check and is not declined";

/// The schemathesis configuration of one role's run: every check on, and the exemptions, each
/// with its reason. (A check named on the command line would win over an operation's
/// `enabled = false`, so the checks are switched on here and nowhere else.)
fn config(role: &str, exemptions: &[Exemption]) -> String {
    let mut toml = String::from("[checks]\nenabled = true\n\n");
    for exemption in exemptions
        .iter()
        .filter(|e| e.role == role || e.role == "*")
    {
        toml.push_str(&format!(
            "# {}\n[[operations]]\ninclude-method = \"{}\"\ninclude-path = \"{}\"\n\
             checks.{}.enabled = false\n\n",
            exemption.why, exemption.method, exemption.path, exemption.check
        ));
    }
    toml
}

async fn run(
    system: &TestSystem,
    role: &str,
    token: &str,
    exemptions: &[Exemption],
    deadline: Instant,
) -> Run {
    let config = system.dir.path().join(format!("schemathesis-{role}.toml"));
    std::fs::write(&config, self::config(role, exemptions)).unwrap();
    let mut command = tokio::process::Command::new(schemathesis());
    command
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(format!("{}/api/openapi.json", system.gateway()))
        .args(["--phases", PHASES])
        .args(["--max-examples", MAX_EXAMPLES])
        .args(["--max-response-time", MAX_RESPONSE_TIME])
        .args(["--seed", SEED])
        // One worker: schemathesis' threads share CPython's parser, which fails now and then under
        // two ("AST constructor recursion depth mismatch"), and the roles run side by side anyway.
        .args(["--workers", "1"])
        .args(["--request-timeout", "10"])
        .args(["--suppress-health-check", "all"])
        .arg("-H")
        .arg(format!("Authorization: Bearer {token}"))
        .env("NO_COLOR", "1")
        .current_dir(system.dir.path())
        .kill_on_drop(true);
    let started = Instant::now();
    let Ok(output) = tokio::time::timeout_at(deadline.into(), command.output()).await else {
        return Run {
            passed: false,
            output: format!("the fuzzing took more than {CAP:?}"),
        };
    };
    let output = output.unwrap();
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    let summary = text
        .lines()
        .skip_while(|l| !l.contains("Test cases:"))
        .nth(1)
        .unwrap_or_default()
        .trim()
        .to_owned();
    eprintln!(
        "schemathesis as {role}: {summary} in {:?}",
        started.elapsed()
    );
    Run {
        passed: output.status.success(),
        output: text,
    }
}

/// Starts `manifest`'s system and fuzzes its API as each of `accounts` (user, password), side
/// by side, all within [`CAP`].
async fn fuzz(manifest: &str, accounts: &[(&str, &str)], mut exemptions: Vec<Exemption>) {
    let deadline = Instant::now() + CAP;
    let mut system = TestSystem::new(MSA, manifest, testkit::system::Options::default());
    // The fuzzer is one client sending as fast as the services answer: the rate limit would
    // answer 429 (documented, but then no case tests anything).
    system.set_service_env("gateway", "MSA__RATE_LIMIT__PER_SECOND", "100000");
    system.set_service_env("gateway", "MSA__RATE_LIMIT__BURST", "100000");
    system.fuzzed = true;
    system.start_all().await;
    let document: Value = reqwest::get(format!("{}/api/openapi.json", system.gateway()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    exemptions.extend(operator_names_the_owner(&document));
    for exemption in &exemptions {
        eprintln!(
            "{} off for {} {} as {}: {}",
            exemption.check, exemption.method, exemption.path, exemption.role, exemption.why
        );
    }
    let mut tokens = Vec::new();
    for (user, password) in accounts {
        tokens.push((*user, system.user_token(user, password).await));
    }
    let runs = futures_util::future::join_all(
        tokens
            .iter()
            .map(|(user, token)| run(&system, user, token, &exemptions, deadline)),
    )
    .await;
    let failed: Vec<String> = tokens
        .iter()
        .zip(runs)
        .filter(|(_, run)| !run.passed)
        .map(|((user, _), run)| format!("as {user}:\n{}", run.output))
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    system.cleanup().await;
}

/// The roles each system is fuzzed as: the operator (`admin`, every route) and a customer
/// (`kim`, the routes scoped by their token). The document, and so what is checked, is the same
/// for every role; a role changes which routes answer 403 and whose items a list shows, and
/// staff roles (booth, barista, delivery, product) see a subset of the operator's routes, so two
/// roles cover both branches of every access rule within the time budget. Roaming adds its booth
/// staff (`booth-icn-t1`), the one role scoped by a claim other than the customer's.
const ADMIN_AND_CUSTOMER: &[(&str, &str)] = &[("admin", "admin-password"), ("kim", "kim-password")];

#[tokio::test]
async fn roaming_api_answers_as_documented_to_every_role() {
    fuzz(
        include_str!("../../../systems/roaming/system.toml"),
        &[
            ("admin", "admin-password"),
            ("kim", "kim-password"),
            ("booth-icn-t1", "booth-password"),
        ],
        vec![
            business_rules(
                "POST",
                "/api/reservations",
                "device model, country and booth from the catalog; the rental period from today",
            ),
            business_rules("POST", "/api/payments", PAYMENT_RULES),
        ],
    )
    .await;
}

#[tokio::test]
async fn booking_api_answers_as_documented_to_every_role() {
    fuzz(
        include_str!("../../../systems/booking/system.toml"),
        ADMIN_AND_CUSTOMER,
        vec![business_rules("POST", "/api/bookings", CATALOG_AND_PAYMENT)],
    )
    .await;
}

#[tokio::test]
async fn game_api_answers_as_documented_to_every_role() {
    fuzz(
        include_str!("../../../systems/game/system.toml"),
        ADMIN_AND_CUSTOMER,
        vec![business_rules(
            "POST",
            "/api/missions",
            "the mission from the board (GET /api/missions/catalog)",
        )],
    )
    .await;
}

#[tokio::test]
async fn cafeteria_api_answers_as_documented_to_every_role() {
    fuzz(
        include_str!("../../../systems/cafeteria/system.toml"),
        ADMIN_AND_CUSTOMER,
        vec![business_rules("POST", "/api/orders", CATALOG_AND_PAYMENT)],
    )
    .await;
}

#[tokio::test]
async fn office_api_answers_as_documented_to_every_role() {
    fuzz(
        include_str!("../../../systems/office/system.toml"),
        ADMIN_AND_CUSTOMER,
        vec![business_rules(
            "POST",
            "/api/rentals",
            "the product from the catalog and in stock; a real day, from today, at most 365 days",
        )],
    )
    .await;
}
