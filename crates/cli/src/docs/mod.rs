//! The living documentation of a system: its event-storming board, its context map and its
//! AsyncAPI document, drawn from what its services declare as they are assembled
//! (`kernel::model`: aggregates and the contracts they publish, policy tables and read models,
//! remote commands), their API documents (the commands) and the manifest (classification,
//! correlation key, the Korean words of the ubiquitous language) — never from a hand-kept picture.
//!
//! Each service is assembled exactly as `msa serve` assembles it, on an in-memory store and with
//! nothing bound or connected, so describing a system needs no server and leaves nothing behind.

mod asyncapi;
mod board;
#[cfg(test)]
mod contracts;
mod map;

use crate::systems::{self, System};
use anyhow::Context as _;
use kernel::manifest::{Domain, ServiceEntry, SystemManifest};
use kernel::model::{Contract, Role, ServiceModel};

/// A command a context takes from outside: a mutating route of its API document.
#[derive(Clone, Debug)]
pub(crate) struct Command {
    /// The operation's id (its handler's name: `reserve`).
    pub(crate) operation: String,
    /// `POST /api/reservations`.
    pub(crate) route: String,
    /// The operation's summary.
    pub(crate) summary: String,
}

/// One service of a system as the documentation shows it.
#[derive(Clone, Debug)]
pub(crate) struct Part {
    /// Its manifest entry (classification, declared calls).
    pub(crate) entry: ServiceEntry,
    /// What its assembly declared.
    pub(crate) model: ServiceModel,
    /// The commands its API takes.
    pub(crate) commands: Vec<Command>,
}

impl Part {
    /// The service's name in its system.
    pub(crate) fn name(&self) -> &str {
        &self.entry.name
    }

    /// Whether it is a generic domain, drawn as the external system it would be (a PSP).
    pub(crate) fn external(&self) -> bool {
        self.entry.domain == Domain::Generic && self.model.role == Role::Context
    }
}

/// A system described.
#[derive(Clone, Debug)]
pub(crate) struct SystemModel {
    /// Its manifest.
    pub(crate) manifest: SystemManifest,
    /// Its services, in manifest order.
    pub(crate) parts: Vec<Part>,
}

impl SystemModel {
    /// The Korean word for `key` (`reservation.reserved`), or the key itself when the glossary
    /// lacks it (which [`check`] reports).
    pub(crate) fn korean(&self, key: &str) -> String {
        self.manifest
            .glossary
            .get(key)
            .cloned()
            .unwrap_or_else(|| key.to_owned())
    }

    /// Every service that publishes `contract`.
    pub(crate) fn publishers(&self, contract: &Contract) -> Vec<&Part> {
        self.parts
            .iter()
            .filter(|p| p.model.publishes().contains(contract))
            .collect()
    }

    /// Every glossary key the documentation labels, with the English words it shows.
    pub(crate) fn labels(&self) -> Vec<(String, String)> {
        let mut labels: Vec<(String, String)> = Vec::new();
        let mut add = |key: String, english: String| {
            if !labels.iter().any(|(k, _)| *k == key) {
                labels.push((key, english));
            }
        };
        for part in &self.parts {
            add(part.name().to_owned(), words(part.name()));
            for command in &part.commands {
                add(command_key(part, command), words(&command.operation));
            }
            if part.model.role == Role::Context {
                for aggregate in &part.model.aggregates {
                    add(aggregate.kind.to_owned(), words(aggregate.kind));
                }
            }
            for contract in part.model.publishes() {
                add(event_key(&contract), event_words(&contract));
            }
        }
        labels
    }
}

/// The glossary key of a contract's event: `<publisher>.<event>` (`reservation.reserved`).
pub(crate) fn event_key(contract: &Contract) -> String {
    format!("{}.{}", contract.publisher(), contract.event())
}

/// The glossary key of a command: `<service>.<operation>` (`reservation.reserve`).
pub(crate) fn command_key(part: &Part, command: &Command) -> String {
    format!("{}.{}", part.name(), command.operation)
}

/// The English words of a contract's event: its type's name (`ReserveFailed` → `Reserve
/// failed`).
pub(crate) fn event_words(contract: &Contract) -> String {
    let mut snake = String::new();
    for (i, c) in contract.name().chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            snake.push('_');
        }
        snake.extend(c.to_lowercase());
    }
    words(&snake)
}

/// English words of a code name: `reserve_failed` → `Reserve failed`.
pub(crate) fn words(name: &str) -> String {
    let spaced = name.replace(['_', '-'], " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The commands in a service's API document: its mutating operations, in path order.
fn commands(openapi: &utoipa::openapi::OpenApi) -> Vec<Command> {
    let mut commands = Vec::new();
    for (path, item) in &openapi.paths.paths {
        let operations = [
            ("POST", &item.post),
            ("PUT", &item.put),
            ("PATCH", &item.patch),
            ("DELETE", &item.delete),
        ];
        for (method, operation) in operations {
            let Some(operation) = operation else { continue };
            commands.push(Command {
                operation: operation
                    .operation_id
                    .clone()
                    .unwrap_or_else(|| path.clone()),
                route: format!("{method} {path}"),
                summary: operation.summary.clone().unwrap_or_default(),
            });
        }
    }
    commands
}

/// Assembles every service of `system` on throwaway settings and reads what each declared.
async fn assemble(system: &System, manifest: &SystemManifest) -> anyhow::Result<Vec<Part>> {
    let mut parts = Vec::new();
    for entry in &manifest.services {
        let def = systems::service(system, manifest, &entry.name)?;
        let defaults = systems::defaults(manifest, &entry.name, "describe", 0, "embedded")?;
        let layers = kernel::config::Layers::from_toml(&defaults)?
            .with_value(&["store", "url"], "sqlite::memory:")
            .with_value(&["discovery", "registry"], "");
        let service = (def.build)(layers)
            .await
            .with_context(|| format!("cannot assemble {}/{}", manifest.name, entry.name))?;
        parts.push(Part {
            entry: entry.clone(),
            model: service.model(),
            commands: commands(&(def.openapi)()),
        });
    }
    Ok(parts)
}

/// Describes `system` (on a thread of its own, so that it can be asked from anywhere, inside a
/// runtime or not).
pub(crate) fn describe(system: &str) -> anyhow::Result<SystemModel> {
    let (system, manifest) = systems::system(system)?;
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .context("cannot start a runtime to describe the system")?;
                let parts = runtime.block_on(assemble(system, &manifest))?;
                Ok(SystemModel {
                    manifest: manifest.clone(),
                    parts,
                })
            })
            .join()
            .unwrap_or_else(|_| anyhow::bail!("describing {} panicked", manifest.name))
    })
}

/// What is wrong with a system's declarations: a reaction to an event nobody publishes, an event
/// published outside the system's stream, calls the manifest and the code disagree on, a word
/// the glossary lacks or one it keeps for nothing. Empty when all is well.
pub(crate) fn check(model: &SystemModel) -> Vec<String> {
    let mut problems = Vec::new();
    let services: Vec<ServiceModel> = model.parts.iter().map(|p| p.model.clone()).collect();
    for (service, event_type) in kernel::model::unpublished(&services) {
        problems.push(format!(
            "{service} reacts to {event_type}, which no service of {} publishes",
            model.manifest.name
        ));
    }
    for part in &model.parts {
        for contract in part.model.publishes() {
            let system = contract.event_type.split('.').next().unwrap_or_default();
            let generic = contract.event_type.split('.').count() == 3;
            if !generic && system != model.manifest.name {
                problems.push(format!(
                    "{} publishes {}, a contract of another system",
                    part.model.name, contract.event_type
                ));
            }
        }
        let mut declared = part.entry.calls.clone();
        let mut assembled = part.model.calls.clone();
        declared.sort();
        assembled.sort();
        if declared != assembled {
            problems.push(format!(
                "{}/{} calls {assembled:?} in its code but {declared:?} in system.toml",
                model.manifest.name,
                part.name()
            ));
        }
    }
    let labels = model.labels();
    for (key, english) in &labels {
        if !model.manifest.glossary.contains_key(key) {
            problems.push(format!(
                "the glossary of {} has no Korean for {key:?} ({english})",
                model.manifest.name
            ));
        }
    }
    for key in model.manifest.glossary.keys() {
        if !labels.iter().any(|(k, _)| k == key) {
            problems.push(format!(
                "the glossary of {} names {key:?}, which the system does not have",
                model.manifest.name
            ));
        }
    }
    problems
}

/// A system's living documentation: the board and the context map (SVG), AsyncAPI (JSON).
pub(crate) fn living(system: &str) -> anyhow::Result<gateway::LivingDocs> {
    let model = describe(system)?;
    Ok(gateway::LivingDocs {
        board: board::render(&model),
        map: map::render(&model),
        asyncapi: asyncapi::render(&model),
    })
}

/// `msa board`: the board, the map or AsyncAPI of `system` to `out` (standard output if none), or
/// the check's findings.
pub(crate) fn command(
    system: &str,
    map: bool,
    asyncapi: bool,
    check: bool,
    out: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let model = describe(system)?;
    let text = if check {
        let problems = self::check(&model);
        for problem in &problems {
            eprintln!("{problem}");
        }
        anyhow::ensure!(
            problems.is_empty(),
            "{} problems in {system}",
            problems.len()
        );
        eprintln!("{system}: every declaration is consistent");
        return Ok(());
    } else if map {
        map::render(&model)
    } else if asyncapi {
        format!("{:#}\n", asyncapi::render(&model))
    } else {
        board::render(&model)
    };
    match out {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
        }
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

/// Escapes text for SVG.
fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests;
