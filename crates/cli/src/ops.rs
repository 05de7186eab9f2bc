//! Operator commands that talk to running services: `msa status` and `msa deadletters`.

use crate::systems;
use anyhow::Context as _;
use serde_json::Value;
use std::time::Duration;

struct Target {
    name: String,
    url: String,
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
            })
        })
        .collect::<anyhow::Result<_>>()?;
    targets.push(Target {
        name: format!("{system}/gateway"),
        url: format!(
            "http://127.0.0.1:{}",
            systems::port(manifest.gateway.port, offset)?
        ),
    });
    Ok(targets)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("a plain client builds")
}

/// Every target, and the extra replicas the system's registry in `data` knows.
fn replicas(system: &str, offset: u16, data: &str) -> anyhow::Result<Vec<Target>> {
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
        "{:<22} {:<24} {:<10} {:<18} {:>7} {:>11} {:>5} {:>5}",
        "SERVICE", "URL", "HEALTH", "BREAKERS", "BACKLOG", "PARTITIONS", "LAG", "DEAD"
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
        let Some(status) = status else {
            down += 1;
            println!("{:<22} {:<24} {:<10}", target.name, target.url, "down");
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
            "{:<22} {:<24} {:<10} {:<18} {:>7} {:>11} {:>5} {:>5}",
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
