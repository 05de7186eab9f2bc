//! Operator commands that talk to running services: `msa status` and `msa deadletters`.

use crate::systems;
use anyhow::Context as _;
use serde_json::Value;
use std::time::Duration;

struct Target {
    name: String,
    url: String,
    /// What the supervisor says of it: restarts, and the last one's reason and time.
    restarts: Option<(u64, Option<(String, u64)>)>,
}

fn targets(system: &str, offset: u16) -> anyhow::Result<Vec<Target>> {
    let manifest = systems::manifest(system)?;
    let mut targets: Vec<Target> = manifest
        .services
        .iter()
        .map(|s| {
            Ok(Target {
                name: format!("{system}/{}", s.name),
                url: format!("http://127.0.0.1:{}", systems::port(s.port, offset)?),
                restarts: None,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    targets.push(Target {
        name: format!("{system}/gateway"),
        url: format!(
            "http://127.0.0.1:{}",
            systems::port(manifest.gateway.port, offset)?
        ),
        restarts: None,
    });
    Ok(targets)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("a plain client builds")
}

/// The processes the running supervisor of `system` (`msa up`) says it runs, with their restarts;
/// none when no supervisor runs it from `data`.
fn supervised(system: &str, data: &str) -> Option<Vec<Target>> {
    let path =
        std::path::Path::new(&systems::system_data(data, system)).join(crate::control::STATE);
    let state: Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    let supervisor = i32::try_from(state["supervisor"].as_u64()?).ok()?;
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(supervisor), None).ok()?;
    let processes = state["processes"].as_array()?;
    Some(
        processes
            .iter()
            .map(|p| {
                let last = p["last_restart"]["reason"].as_str().map(|reason| {
                    (
                        reason.to_owned(),
                        p["last_restart"]["at"].as_u64().unwrap_or(0),
                    )
                });
                let label = p["label"].as_str().unwrap_or("?");
                let label = label.rsplit_once('/').map_or(label, |(_, l)| l);
                Target {
                    name: format!("{system}/{label}"),
                    url: p["url"].as_str().unwrap_or("-").to_owned(),
                    restarts: Some((p["restarts"].as_u64().unwrap_or(0), last)),
                }
            })
            .collect(),
    )
}

/// "12 s ago: exited (signal: 9)".
fn last_restart(restart: Option<&(String, u64)>) -> String {
    let Some((reason, at)) = restart else {
        return "-".to_owned();
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!("{} s ago: {reason}", now.saturating_sub(*at))
}

/// Every target, and the extra replicas the system's registry in `data` knows; what the
/// supervisor says when one runs the system.
fn replicas(system: &str, offset: u16, data: &str) -> anyhow::Result<Vec<Target>> {
    if let Some(targets) = supervised(system, data) {
        return Ok(targets);
    }
    let mut targets = targets(system, offset)?;
    let registry =
        kernel::discovery::Registry::new(systems::registry(&systems::system_data(data, system)));
    let mut extra = Vec::new();
    for target in &targets {
        let service = target.name.rsplit('/').next().unwrap_or_default();
        let entries = registry.entries(service);
        let others = entries.into_iter().filter(|e| e.url != target.url);
        for (n, entry) in others.enumerate() {
            extra.push(Target {
                name: format!("{}-{}", target.name, n + 2),
                url: entry.url,
                restarts: None,
            });
        }
    }
    targets.extend(extra);
    Ok(targets)
}

/// Prints one line per service replica of each of `systems`: readiness, breakers, outbox
/// backlog, partitions and lag, dead letters.
pub(crate) async fn status(systems: &[String], offset: u16, data: &str) -> anyhow::Result<()> {
    let client = client();
    println!(
        "{:<22} {:<24} {:<10} {:<18} {:>7} {:>11} {:>5} {:>5} {:>8}  LAST RESTART",
        "SERVICE", "URL", "HEALTH", "BREAKERS", "BACKLOG", "PARTITIONS", "LAG", "DEAD", "RESTARTS"
    );
    let mut down = 0;
    let mut all = Vec::new();
    for system in systems {
        all.extend(replicas(system, offset, data)?);
    }
    for target in all {
        let status: Option<Value> = match client
            .get(format!("{}/admin/status", target.url))
            .send()
            .await
        {
            Ok(response) => response.json().await.ok(),
            Err(_) => None,
        };
        let (restarts, last) = match &target.restarts {
            Some((count, last)) => (count.to_string(), last_restart(last.as_ref())),
            None => ("-".to_owned(), "-".to_owned()),
        };
        let Some(status) = status else {
            down += 1;
            println!(
                "{:<22} {:<24} {:<10} {:<18} {:>7} {:>11} {:>5} {:>5} {restarts:>8}  {last}",
                target.name, target.url, "down", "", "", "", "", ""
            );
            continue;
        };
        let health = status["ready"]["status"].as_str().unwrap_or("?").to_owned();
        let breakers: Vec<String> = status["breakers"]
            .as_array()
            .map(|bs| {
                bs.iter()
                    .map(|b| {
                        format!(
                            "{}:{}",
                            b["dependency"].as_str().unwrap_or("?"),
                            b["state"].as_str().unwrap_or("?")
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let consumers = status["consumers"].as_array().cloned().unwrap_or_default();
        let partitions: usize = consumers
            .iter()
            .map(|c| c["partitions"].as_array().map_or(0, Vec::len))
            .sum();
        let lag: u64 = consumers
            .iter()
            .flat_map(|c| {
                c["lag"]
                    .as_object()
                    .cloned()
                    .unwrap_or_default()
                    .into_values()
            })
            .filter_map(|v| v.as_u64())
            .sum();
        println!(
            "{:<22} {:<24} {:<10} {:<18} {:>7} {:>11} {:>5} {:>5} {restarts:>8}  {last}",
            target.name,
            target.url,
            health,
            if breakers.is_empty() {
                "-".to_owned()
            } else {
                breakers.join(",")
            },
            status["outbox_backlog"].as_u64().unwrap_or(0),
            if consumers.is_empty() {
                "-".to_owned()
            } else {
                partitions.to_string()
            },
            lag,
            status["dead_letters"].as_u64().unwrap_or(0),
        );
    }
    if down > 0 {
        println!(
            "\n{down} service(s) not answering; is `msa up` running (with the same --port-offset)?"
        );
    }
    Ok(())
}

/// Prints the dead letters of every service, or of one.
pub(crate) async fn list_dead_letters(
    system: &str,
    offset: u16,
    only: Option<&str>,
) -> anyhow::Result<()> {
    let client = client();
    let mut total = 0;
    for target in targets(system, offset)? {
        if only.is_some_and(|o| o != target.name) || target.name.ends_with("/gateway") {
            continue;
        }
        let response = match client
            .get(format!("{}/admin/deadletters", target.url))
            .send()
            .await
        {
            Ok(response) => response,
            Err(_) => {
                println!("{}: not answering", target.name);
                continue;
            }
        };
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            continue;
        }
        let letters: Vec<Value> = response
            .json()
            .await
            .with_context(|| format!("{} answered nonsense", target.name))?;
        for letter in letters {
            total += 1;
            println!(
                "{} #{} {} {} subject={} attempts={} {}\n    error: {}",
                target.name,
                letter["id"],
                letter["event_type"].as_str().unwrap_or("?"),
                letter["event_id"].as_str().unwrap_or("?"),
                letter["subject"].as_str().unwrap_or("?"),
                letter["attempts"],
                if letter["replayed_at"].is_null() {
                    "parked"
                } else {
                    "replayed"
                },
                letter["error"].as_str().unwrap_or("")
            );
        }
    }
    if total == 0 {
        println!("no dead letters");
    }
    Ok(())
}

/// Replays one dead letter.
pub(crate) async fn replay_dead_letter(
    system: &str,
    offset: u16,
    service: &str,
    id: i64,
) -> anyhow::Result<()> {
    let target = targets(system, offset)?
        .into_iter()
        .find(|t| t.name == service)
        .with_context(|| format!("{service} is not a service of {system}"))?;
    let response = client()
        .post(format!("{}/admin/deadletters/{id}/replay", target.url))
        .send()
        .await
        .with_context(|| format!("{service} is not answering"))?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    println!("{service} dead letter #{id}: {body}");
    anyhow::ensure!(status.is_success(), "replay did not succeed ({status})");
    Ok(())
}
