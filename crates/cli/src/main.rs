//! `msa`: one binary that runs any service of any system (`msa serve roaming/reservation`), a
//! whole system on one machine (`msa up`), and the operator's tools (status, dead letters,
//! benchmarks).

mod bench;
mod chaos;
mod control;
mod deploy;
mod docs;
mod healthcheck;
mod load;
mod monitor;
mod ops;
mod rollout;
mod systems;
mod up;
mod yaml;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Event-driven microservice systems in Rust.
#[derive(Debug, Parser)]
#[command(name = "msa", version, about, propagate_version = true)]
struct Cli {
    /// Data directory for SQLite files, the local bus and logs.
    #[arg(long, global = true, env = "MSA_DATA", default_value = "data")]
    data: String,
    #[command(subcommand)]
    command: Command,
}

/// Where services listen and keep data.
#[derive(Debug, Clone, clap::Args)]
struct Placement {
    /// The system (`roaming`, `booking`, `game`, `cafeteria`, `office`); `all` for `up` and
    /// `status`: every system at once.
    #[arg(long, default_value = systems::SYSTEMS_DEFAULT)]
    system: String,
    /// Added to every port of the manifest (to run two systems side by side).
    #[arg(long, env = "MSA_PORT_OFFSET", default_value_t = 0)]
    port_offset: u16,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the gateway and every service of a system as child processes, wait until they are
    /// ready, and supervise them until Ctrl-C.
    Up {
        #[command(flatten)]
        placement: Placement,
        /// Event bus: `local` (a SQLite file in the data directory) or `nats://host:port`;
        /// default: local for the embedded profile, NATS on this machine for prod.
        #[arg(long)]
        bus: Option<String>,
        /// `embedded` (SQLite everywhere) or `prod` (the manifest's production stores).
        #[arg(long, default_value = "embedded")]
        profile: String,
        /// Extra replicas, e.g. `--replicas rental=2`.
        #[arg(long, value_parser = up::parse_replicas)]
        replicas: Vec<(String, usize)>,
        /// A directory of per-service settings: `<service>.toml`, when present, is layered over
        /// that service's defaults (as `msa serve --config`).
        #[arg(long)]
        config_dir: Option<PathBuf>,
        /// Also run Prometheus (port 9090) and Alertmanager (9093), plus the port offset, with
        /// the system's alerting rules, scraping every process.
        #[arg(long)]
        monitor: bool,
        /// Where Alertmanager posts alerts (its webhook receiver); implies --monitor.
        #[arg(long, env = "MSA_ALERT_WEBHOOK")]
        alert_webhook: Option<String>,
        /// Scrape every second and fire alerts after two seconds instead of minutes (tests and
        /// demonstrations); implies --monitor.
        #[arg(long, env = "MSA_MONITOR_FAST")]
        monitor_fast: bool,
    },
    /// Run one service, e.g. `msa serve roaming/reservation`.
    Serve {
        /// `<system>/<service>` (`roaming/gateway` for the gateway).
        target: String,
        #[command(flatten)]
        placement_offset: ServeOptions,
    },
    /// Drive a system's main flows through its gateway while faults are injected (`kill -9`,
    /// SIGSTOP, latency and errors; on prod also store and NATS cuts), then let it settle and
    /// check its invariants; prints a table and exits non-zero on any violation. It runs the
    /// system itself (`msa up` on a free port offset and a temporary data directory).
    Chaos {
        /// The system.
        #[arg(long, default_value = systems::SYSTEMS_DEFAULT)]
        system: String,
        /// How long the load runs (`60s`, `10m`).
        #[arg(long, default_value = "60s", value_parser = chaos::parse_duration)]
        duration: std::time::Duration,
        /// Steps of the load a second.
        #[arg(long, default_value_t = 5.0)]
        rate: f64,
        /// How often a fault is injected.
        #[arg(long, default_value = "10s", value_parser = chaos::parse_duration)]
        fault_every: std::time::Duration,
        /// `embedded` or `prod` (this machine's PostgreSQL, MariaDB, Redis and NATS, on the run's
        /// own databases and stream).
        #[arg(long, default_value = "embedded")]
        profile: String,
        /// Synthetic customers, added to the embedded issuer for the run.
        #[arg(long, default_value_t = 8)]
        customers: usize,
        /// Keep the data directory (logs, stores) even when every invariant held.
        #[arg(long)]
        keep: bool,
    },
    /// Show what is running: health, breakers, outbox backlog, consumer lag, dead letters.
    Status {
        #[command(flatten)]
        placement: Placement,
    },
    /// Change how many replicas of a service a running `msa up` runs, e.g.
    /// `msa scale roaming/rental=2`: new ones start on free ports and count once ready; the
    /// newest stop gracefully.
    Scale {
        /// `<system>/<service>=<replicas>`.
        target: String,
    },
    /// Replace every process of a service of a running `msa up` one at a time, with nobody
    /// refused: start the new one, wait until it is ready, then drain and stop the old one
    /// (`roaming/gateway` too).
    Rollout {
        /// `<system>/<service>`.
        target: String,
    },
    /// List or replay dead letters.
    Deadletters {
        #[command(subcommand)]
        command: DeadLetterCommand,
    },
    /// Measure the event pipeline.
    Bench {
        #[command(subcommand)]
        command: bench::BenchCommand,
    },
    /// Rebuild a read model from the events, e.g. `msa replay roaming/customer --from-start`.
    Replay {
        /// The read model's service (`roaming/customer`, or just `customer`).
        target: String,
        /// Replay the whole stream into a fresh generation and switch readers over.
        #[arg(long)]
        from_start: bool,
        #[command(flatten)]
        options: ServeOptions,
        /// The running service to pause during the switch; default: its manifest port.
        #[arg(long)]
        service_url: Option<String>,
    },
    /// Draw a system's living documentation from its services' declarations: the event-storming
    /// board (SVG, the default), the context map (`--map`, SVG) or the AsyncAPI document
    /// (`--asyncapi`, JSON); `--check` instead lists what is inconsistent (exit 1 if anything).
    Board {
        /// The system.
        #[arg(long, default_value = systems::SYSTEMS_DEFAULT)]
        system: String,
        /// The context map instead of the board.
        #[arg(long, conflicts_with_all = ["asyncapi", "check"])]
        map: bool,
        /// The AsyncAPI 3.0 document instead of the board.
        #[arg(long, conflicts_with = "check")]
        asyncapi: bool,
        /// Check the declarations instead (reactions nobody publishes for, calls the manifest
        /// does not declare, words the glossary lacks).
        #[arg(long)]
        check: bool,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// A system's alerting rules and Grafana dashboard, and their check against what a running
    /// Prometheus scrapes.
    Monitor {
        #[command(subcommand)]
        command: monitor::MonitorCommand,
    },
    /// Kubernetes manifests of a system, rendered from its manifest.
    Deploy {
        #[command(subcommand)]
        command: DeployCommand,
    },
    /// Identity tools for the embedded issuer.
    Auth {
        #[command(subcommand)]
        command: AuthCommand,
    },
    /// Print the version.
    Version,
}

/// Options of `msa serve`.
#[derive(Debug, Clone, clap::Args)]
struct ServeOptions {
    /// Added to the manifest's ports.
    #[arg(long, env = "MSA_PORT_OFFSET", default_value_t = 0)]
    port_offset: u16,
    /// `embedded` or `prod`.
    #[arg(long, env = "MSA_PROFILE", default_value = "embedded")]
    profile: String,
    /// A TOML settings file layered over the defaults (environment variables win over it).
    #[arg(long, env = "MSA_CONFIG")]
    config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum DeployCommand {
    /// Write a system's kustomize tree, `<out>/<profile>/` (`kubectl apply -k`; the embedded
    /// profile's `pod.yaml` also runs with `podman kube play`).
    Render {
        /// The system, or `all`.
        #[arg(long, default_value = systems::SYSTEMS_DEFAULT)]
        system: String,
        /// `prod` (a Deployment per service, NATS, external databases) or `embedded` (one Pod).
        #[arg(long, default_value = "prod")]
        profile: String,
        /// The system's directory; default: `deploy/<system>`.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum AuthCommand {
    /// Read a password on standard input and print its Argon2id hash (for a users file).
    HashPassword,
}

#[derive(Debug, Subcommand)]
enum DeadLetterCommand {
    /// List dead letters of every service (or one).
    List {
        #[command(flatten)]
        placement: Placement,
        /// Only this service (`roaming/customer`).
        #[arg(long)]
        service: Option<String>,
    },
    /// Run a dead letter's handler again.
    Replay {
        #[command(flatten)]
        placement: Placement,
        /// The service that parked it (`roaming/customer`).
        service: String,
        /// The dead letter's id.
        id: i64,
    },
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args_os()
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect();
    if args
        .first()
        .is_some_and(|argv0| healthcheck::invoked_as_shell(argv0))
    {
        return healthcheck::run(&args[1..]).into();
    }
    let cli = Cli::parse();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Command::Serve { target, .. } = &cli.command {
        // A service process runs its work on one thread (as many cores as a replica gets are
        // better spent on more replicas): with a thread per core in each of a system's
        // processes, every hand-off woke a parked thread on the other core. The gateway keeps a
        // thread per core (it also verifies passwords, which takes a while).
        // `TOKIO_WORKER_THREADS` overrides both.
        if !target.ends_with("/gateway") && std::env::var_os("TOKIO_WORKER_THREADS").is_none() {
            builder.worker_threads(1);
        }
        // Pinned before any thread starts, so that every thread of the process inherits it.
        if let Some(cpu) = std::env::var(up::PIN_CPU)
            .ok()
            .and_then(|cpu| cpu.parse::<usize>().ok())
        {
            let mut set = nix::sched::CpuSet::new();
            if let Err(error) = set
                .set(cpu)
                .and_then(|()| nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set))
            {
                eprintln!("cannot run on core {cpu} only ({error}); running on all");
            }
        }
    }
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Version => {
            println!("msa {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::Serve {
            target,
            placement_offset: options,
        } => {
            kernel::telemetry::init();
            up::follow_supervisor()?;
            systems::serve(
                &target,
                &cli.data,
                options.port_offset,
                &options.profile,
                options.config.as_deref(),
            )
            .await
        }
        Command::Up {
            placement,
            bus,
            profile,
            replicas,
            config_dir,
            monitor,
            alert_webhook,
            monitor_fast,
        } => {
            let monitor = (monitor || monitor_fast || alert_webhook.is_some()).then_some(
                monitor::MonitorOptions {
                    webhook: alert_webhook,
                    pace: if monitor_fast {
                        monitor::Pace::Fast
                    } else {
                        monitor::Pace::Standard
                    },
                },
            );
            let bus = bus.unwrap_or_else(|| {
                if profile == "prod" {
                    systems::PROD_BUS.to_owned()
                } else {
                    "local".to_owned()
                }
            });
            up::run(up::UpOptions {
                system: placement.system,
                data: cli.data,
                port_offset: placement.port_offset,
                bus,
                profile,
                replicas,
                config_dir,
                monitor,
            })
            .await
        }
        Command::Chaos {
            system,
            duration,
            rate,
            fault_every,
            profile,
            customers,
            keep,
        } => {
            let options = chaos::ChaosOptions {
                system,
                duration,
                rate,
                fault_every,
                profile,
                customers,
                keep,
            };
            anyhow::ensure!(chaos::run(options).await?, "invariants were violated");
            Ok(())
        }
        Command::Scale { target } => {
            let (system, service, replicas) = control::parse_target(&target)?;
            let replicas = replicas.context("say how many replicas: <system>/<service>=N")?;
            let operation = control::Operation::Scale { service, replicas };
            control::send(&cli.data, &system, &operation).await
        }
        Command::Rollout { target } => {
            let (system, service, count) = control::parse_target(&target)?;
            anyhow::ensure!(
                count.is_none(),
                "a rollout takes <system>/<service>, no count"
            );
            control::send(&cli.data, &system, &control::Operation::Rollout { service }).await
        }
        Command::Status { placement } => {
            let names = if placement.system == up::ALL {
                systems::names()?
            } else {
                vec![placement.system]
            };
            ops::status(&names, placement.port_offset, &cli.data).await
        }
        Command::Deadletters { command } => match command {
            DeadLetterCommand::List { placement, service } => {
                ops::list_dead_letters(&placement.system, placement.port_offset, service.as_deref())
                    .await
            }
            DeadLetterCommand::Replay {
                placement,
                service,
                id,
            } => {
                ops::replay_dead_letter(&placement.system, placement.port_offset, &service, id)
                    .await
            }
        },
        Command::Bench { command } => bench::run(command, &cli.data).await,
        Command::Replay {
            target,
            from_start,
            options,
            service_url,
        } => {
            anyhow::ensure!(from_start, "only --from-start replays are supported");
            let target = if target.contains('/') {
                target
            } else {
                format!("{}/{target}", systems::SYSTEMS_DEFAULT)
            };
            let (manifest, service, layers) = systems::settings(
                &target,
                &cli.data,
                options.port_offset,
                &options.profile,
                options.config.as_deref(),
            )?;
            let (system, _) = systems::system(&manifest.name)?;
            let rebuild = systems::service(system, &manifest, &service)?
                .rebuild
                .with_context(|| format!("{target} has no read model to rebuild"))?;
            let live = match service_url {
                Some(url) => url,
                None => {
                    let entry = manifest.service(&service).expect("a known service");
                    format!(
                        "http://127.0.0.1:{}",
                        systems::port(entry.port, options.port_offset)?
                    )
                }
            };
            let generation = rebuild(layers, live, Box::new(|line| println!("{line}"))).await?;
            println!("{target} now reads generation {generation}");
            Ok(())
        }
        Command::Board {
            system,
            map,
            asyncapi,
            check,
            out,
        } => docs::command(&system, map, asyncapi, check, out.as_deref()),
        Command::Monitor { command } => monitor::command(command).await,
        Command::Deploy {
            command:
                DeployCommand::Render {
                    system,
                    profile,
                    out,
                },
        } => deploy::command(&system, &profile, out.as_deref()),
        Command::Auth {
            command: AuthCommand::HashPassword,
        } => {
            let mut password = String::new();
            std::io::stdin().read_line(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']);
            anyhow::ensure!(!password.is_empty(), "give the password on standard input");
            println!("{}", auth::hash_password(password));
            Ok(())
        }
    }
}
