//! Monitoring and alerting with the real tools: `msa up --monitor` runs Debian's `prometheus`,
//! scraping every process the supervisor runs (file-based discovery, rewritten whenever the
//! processes change), with the alerting rules of [`rules`], and `prometheus-alertmanager`,
//! which sends alerts to a webhook. `msa monitor` prints a system's rules and Grafana dashboard
//! and checks them against the metrics a running Prometheus has scraped.

mod dashboard;
mod promql;
pub(crate) mod rules;
#[cfg(test)]
mod tests;

use crate::systems;
use crate::up::Process;
use anyhow::Context as _;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
pub(crate) use rules::Pace;
use serde_json::json;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// Prometheus's port before the port offset.
pub(crate) const PROMETHEUS_PORT: u16 = 9090;
/// Alertmanager's port before the port offset.
pub(crate) const ALERTMANAGER_PORT: u16 = 9093;

/// What `msa up --monitor` was asked for.
#[derive(Debug, Clone)]
pub(crate) struct MonitorOptions {
    /// Where Alertmanager posts alerts; without one they are only shown in its web UI.
    pub webhook: Option<String>,
    /// The alerts' `for:` windows and the scrape and evaluation intervals.
    pub pace: Pace,
}

/// Prometheus and Alertmanager as children of `msa up`, or nothing when monitoring is off.
pub(crate) struct Monitor {
    running: Option<Running>,
}

struct Running {
    dir: PathBuf,
    prometheus: Child,
    alertmanager: Child,
    targets: String,
}

impl Monitor {
    /// Writes the configuration under `<data>/<system>/monitor/`, starts Prometheus and
    /// Alertmanager and waits until both are ready; does nothing without `options`.
    pub(crate) async fn start(
        options: Option<&MonitorOptions>,
        data: &str,
        system: &str,
        port_offset: u16,
        processes: &[Process],
    ) -> anyhow::Result<Self> {
        let Some(options) = options else {
            return Ok(Self { running: None });
        };
        let systems = if system == crate::up::ALL {
            systems::names()?
        } else {
            vec![system.to_owned()]
        };
        let prometheus_port = systems::port(PROMETHEUS_PORT, port_offset)?;
        let alertmanager_port = systems::port(ALERTMANAGER_PORT, port_offset)?;
        for port in [prometheus_port, alertmanager_port] {
            std::net::TcpListener::bind(("127.0.0.1", port))
                .map(drop)
                .with_context(|| format!("port {port} for monitoring is in use"))?;
        }
        let dir = PathBuf::from(systems::system_data(data, system)).join("monitor");
        let rules_dir = dir.join("rules");
        for sub in [
            &rules_dir,
            &dir.join("prometheus"),
            &dir.join("alertmanager"),
        ] {
            std::fs::create_dir_all(sub)
                .with_context(|| format!("cannot create {}", sub.display()))?;
        }
        for name in &systems {
            let manifest = systems::manifest(name)?;
            write(
                &rules_dir.join(format!("{name}.rules.yml")),
                &rules::render(&rules::groups(&manifest, options.pace)),
            )?;
        }
        write(
            &dir.join("prometheus.yml"),
            &prometheus_config(options.pace, alertmanager_port),
        )?;
        write(&dir.join("alertmanager.yml"), &alertmanager_config(options))?;
        let targets = targets_file(processes);
        write(&dir.join("targets.json"), &targets)?;
        let prometheus = spawn(
            &dir,
            "prometheus",
            &[
                format!("--config.file={}", dir.join("prometheus.yml").display()),
                format!("--storage.tsdb.path={}", dir.join("prometheus").display()),
                format!("--web.listen-address=127.0.0.1:{prometheus_port}"),
            ],
        )?;
        let alertmanager = spawn(
            &dir,
            "prometheus-alertmanager",
            &[
                format!("--config.file={}", dir.join("alertmanager.yml").display()),
                format!("--storage.path={}", dir.join("alertmanager").display()),
                format!("--web.listen-address=127.0.0.1:{alertmanager_port}"),
                // One Alertmanager on its own: no gossip port to claim.
                "--cluster.listen-address=".to_owned(),
            ],
        )?;
        let mut running = Running {
            dir,
            prometheus,
            alertmanager,
            targets,
        };
        if let Err(error) = running.ready(prometheus_port, alertmanager_port).await {
            running.stop().await;
            return Err(error);
        }
        println!(
            "prometheus   http://127.0.0.1:{prometheus_port}/alerts (rules and targets in {})",
            running.dir.display()
        );
        println!(
            "alertmanager http://127.0.0.1:{alertmanager_port}/ ; alerts go to {}",
            options
                .webhook
                .as_deref()
                .unwrap_or("its web UI only (no --alert-webhook)")
        );
        Ok(Self {
            running: Some(running),
        })
    }

    /// Rewrites the scrape targets when the processes changed (a restart on another port, a
    /// replica added or gone); Prometheus notices the file.
    pub(crate) fn targets(&mut self, processes: &[Process]) {
        let Some(running) = self.running.as_mut() else {
            return;
        };
        let text = targets_file(processes);
        if text != running.targets {
            match write(&running.dir.join("targets.json"), &text) {
                Ok(()) => running.targets = text,
                Err(error) => eprintln!("cannot rewrite the scrape targets: {error:#}"),
            }
        }
    }

    /// Stops Prometheus and Alertmanager.
    pub(crate) async fn stop(&mut self) {
        if let Some(mut running) = self.running.take() {
            running.stop().await;
        }
    }
}

impl Running {
    async fn ready(&mut self, prometheus: u16, alertmanager: u16) -> anyhow::Result<()> {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        for (name, port) in [("prometheus", prometheus), ("alertmanager", alertmanager)] {
            loop {
                let child = if name == "prometheus" {
                    &mut self.prometheus
                } else {
                    &mut self.alertmanager
                };
                if let Ok(Some(status)) = child.try_wait() {
                    anyhow::bail!(
                        "{name} exited while starting ({status}); see {}",
                        self.dir.join(format!("{name}.log")).display()
                    );
                }
                let ready = client
                    .get(format!("http://127.0.0.1:{port}/-/ready"))
                    .timeout(Duration::from_secs(2))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                if ready {
                    break;
                }
                anyhow::ensure!(
                    Instant::now() < deadline,
                    "{name} did not become ready in time; see {}",
                    self.dir.join(format!("{name}.log")).display()
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        Ok(())
    }

    async fn stop(&mut self) {
        for (name, child) in [
            ("prometheus", &mut self.prometheus),
            ("alertmanager", &mut self.alertmanager),
        ] {
            if let Some(pid) = child.id() {
                let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
            }
            match tokio::time::timeout(Duration::from_secs(10), child.wait()).await {
                Ok(Ok(status)) => println!("{name:<16} stopped ({status})"),
                _ => {
                    let _ = child.kill().await;
                    println!("{name:<16} killed (did not stop in time)");
                }
            }
        }
    }
}

fn spawn(dir: &Path, program: &str, args: &[String]) -> anyhow::Result<Child> {
    let name = program.trim_start_matches("prometheus-");
    let log_path = dir.join(format!("{name}.log"));
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("cannot open {}", log_path.display()))?;
    Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone().context("cannot share the log file")?)
        .stderr(log)
        // Like the services: a Ctrl-C reaches only the supervisor, which stops them in order.
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| {
            format!(
                "cannot start {program}: install it with `apt-get install prometheus \
                 prometheus-alertmanager` (Debian), or run `msa up` without --monitor"
            )
        })
}

/// Writes `text` to `path` through a temporary file, so that a reader never sees half of it.
fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    let partial = path.with_extension("partial");
    std::fs::write(&partial, text)
        .with_context(|| format!("cannot write {}", partial.display()))?;
    std::fs::rename(&partial, path).with_context(|| format!("cannot write {}", path.display()))
}

/// Prometheus's file-based discovery: one target group per process that listens (an extra
/// replica once it has registered its port), labelled with its system, service and replica.
fn targets_file(processes: &[Process]) -> String {
    let mut groups: Vec<(String, serde_json::Value)> = processes
        .iter()
        .filter_map(|p| {
            let url = p.url()?;
            let address = url.trim_start_matches("http://").trim_end_matches('/');
            let replica = p.label.rsplit('/').next().unwrap_or_default();
            let group = json!({
                "targets": [address],
                "labels": { "system": p.system, "service": p.service, "replica": replica },
            });
            Some((p.label.clone(), group))
        })
        .collect();
    groups.sort_by(|a, b| a.0.cmp(&b.0));
    let groups: Vec<serde_json::Value> = groups.into_iter().map(|(_, g)| g).collect();
    format!("{:#}\n", serde_json::Value::Array(groups))
}

fn prometheus_config(pace: Pace, alertmanager_port: u16) -> String {
    let (interval, timeout, refresh) = match pace {
        Pace::Standard => ("15s", "10s", "30s"),
        Pace::Fast => ("1s", "1s", "1s"),
    };
    let config = json!({
        "global": {
            "scrape_interval": interval,
            "scrape_timeout": timeout,
            "evaluation_interval": interval,
        },
        "rule_files": ["rules/*.rules.yml"],
        "alerting": { "alertmanagers": [{
            "static_configs": [{ "targets": [format!("127.0.0.1:{alertmanager_port}")] }],
        }] },
        "scrape_configs": [{
            "job_name": rules::JOB,
            "file_sd_configs": [{ "files": ["targets.json"], "refresh_interval": refresh }],
        }],
    });
    format!(
        "# Written by `msa up --monitor`.\n{}",
        crate::yaml::to_string(&config)
    )
}

fn alertmanager_config(options: &MonitorOptions) -> String {
    let (wait, interval) = match options.pace {
        Pace::Standard => ("10s", "1m"),
        Pace::Fast => ("1s", "1s"),
    };
    let receiver = match &options.webhook {
        Some(url) => json!({
            "name": "webhook",
            "webhook_configs": [{ "url": url, "send_resolved": true }],
        }),
        // Alerts are still listed in Alertmanager's web UI and API.
        None => json!({ "name": "none" }),
    };
    let config = json!({
        "route": {
            "receiver": receiver["name"],
            "group_by": ["alertname", "system", "service"],
            "group_wait": wait,
            "group_interval": interval,
            "repeat_interval": "4h",
        },
        "receivers": [receiver],
    });
    format!(
        "# Written by `msa up --monitor`.\n{}",
        crate::yaml::to_string(&config)
    )
}

/// What `msa monitor` does.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum MonitorCommand {
    /// Print a system's Prometheus alerting rules (the latency objectives from its manifest).
    Rules {
        /// The system.
        #[arg(long, default_value = systems::SYSTEMS_DEFAULT)]
        system: String,
        /// Two-second `for:` windows, as `msa up --monitor-fast` uses.
        #[arg(long)]
        fast: bool,
    },
    /// Print a system's Grafana dashboard (JSON).
    Dashboard {
        /// The system.
        #[arg(long, default_value = systems::SYSTEMS_DEFAULT)]
        system: String,
    },
    /// Check that every metric the rules and dashboards of a system (or `all`) read is one a
    /// running Prometheus has scraped from the services; exit 1 naming those it has not.
    Check {
        /// The system, or `all`.
        #[arg(long, default_value = crate::up::ALL)]
        system: String,
        /// The Prometheus to ask (`msa up --monitor` runs one on 9090 plus the port offset).
        #[arg(long, default_value = "http://127.0.0.1:9090")]
        prometheus: String,
    },
}

/// Runs `msa monitor ...`.
pub(crate) async fn command(command: MonitorCommand) -> anyhow::Result<()> {
    match command {
        MonitorCommand::Rules { system, fast } => {
            let pace = if fast { Pace::Fast } else { Pace::Standard };
            print!(
                "{}",
                rules::render(&rules::groups(&systems::manifest(&system)?, pace))
            );
            Ok(())
        }
        MonitorCommand::Dashboard { system } => {
            println!("{:#}", dashboard::render(&systems::manifest(&system)?));
            Ok(())
        }
        MonitorCommand::Check { system, prometheus } => {
            let known = scraped_names(&prometheus).await?;
            let names = if system == crate::up::ALL {
                systems::names()?
            } else {
                vec![system]
            };
            let mut unknown = Vec::new();
            for name in &names {
                let manifest = systems::manifest(name)?;
                for (place, expr) in expressions(&manifest) {
                    for metric in promql::metric_names(&expr) {
                        if !known.contains(&metric) {
                            unknown.push(format!("{name} {place}: {metric}"));
                        }
                    }
                }
            }
            anyhow::ensure!(
                unknown.is_empty(),
                "metrics no service exports (as {prometheus} has scraped them):\n{}",
                unknown.join("\n")
            );
            println!(
                "every metric the rules and dashboards of {} read is exported",
                names.join(", ")
            );
            Ok(())
        }
    }
}

/// Every PromQL expression of a system's rules and dashboard, with where it is.
fn expressions(manifest: &kernel::manifest::SystemManifest) -> Vec<(String, String)> {
    let mut all = Vec::new();
    for group in rules::groups(manifest, Pace::Standard) {
        for rule in group.rules {
            all.push((format!("rule {}", rule.alert), rule.expr));
        }
    }
    let board = dashboard::render(manifest);
    for panel in board["panels"].as_array().into_iter().flatten() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            if let Some(expr) = target["expr"].as_str() {
                all.push((format!("panel {:?}", panel["title"]), expr.to_owned()));
            }
        }
    }
    all
}

/// The metric names a Prometheus knows (`up` included: it records one per scrape).
async fn scraped_names(prometheus: &str) -> anyhow::Result<BTreeSet<String>> {
    let url = format!(
        "{}/api/v1/label/__name__/values",
        prometheus.trim_end_matches('/')
    );
    let answer: serde_json::Value = reqwest::get(&url)
        .await
        .with_context(|| format!("cannot ask {url}"))?
        .error_for_status()
        .with_context(|| format!("{url} refused"))?
        .json()
        .await
        .with_context(|| format!("{url} did not answer JSON"))?;
    Ok(answer["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n.as_str().map(str::to_owned))
        .collect())
}
