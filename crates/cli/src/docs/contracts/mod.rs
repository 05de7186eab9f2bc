//! Contract tests: every system's published language committed under `docs/contracts/` — the
//! JSON Schema of each integration event it publishes (`<system>/events/<type>.json`, the
//! CloudEvents `data`) and each service's OpenAPI document (`<system>/openapi/<service>.json`) —
//! and a review of what the code generates now against what was committed: a change that breaks
//! a published `vN` event or an API's clients fails, naming the event or operation and the field;
//! a compatible change asks for the committed files to be refreshed, so they always equal the
//! code. The schemas come from the same assembly as the living documentation.

mod compat;
mod openapi;

use crate::systems;
use kernel::envelope::type_in;
use kernel::model::Contract;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;

/// Contract files by path under `docs/contracts/` (`roaming/events/<type>.json`), with their
/// text.
pub(super) type Files = BTreeMap<String, String>;

/// How a refresh is asked for: `1` writes compatible changes, `breaking` also breaking ones.
pub(super) const UPDATE: &str = "MSA_UPDATE_CONTRACTS";

/// The command that refreshes the committed contracts, with `value` for [`UPDATE`].
pub(super) fn refresh(value: &str) -> String {
    format!("{UPDATE}={value} cargo nextest run -p msa --bin msa contracts")
}

/// The contract files of `system`, generated from the code.
pub(super) fn generate(system: &str) -> anyhow::Result<Files> {
    let model = super::describe(system)?;
    let (registry, _) = systems::system(system)?;
    let mut files = Files::new();
    for part in &model.parts {
        for contract in part.model.publishes() {
            let event_type = type_in(system, contract.event_type);
            files.insert(
                format!("{system}/events/{event_type}.json"),
                text(&event_schema(&event_type, &contract)),
            );
        }
    }
    for def in registry.services {
        let document = serde_json::to_value((def.openapi)())?;
        files.insert(
            format!("{system}/openapi/{}.json", def.name),
            text(&document),
        );
    }
    Ok(files)
}

/// A file's text: pretty JSON and a final newline.
fn text(value: &Value) -> String {
    format!("{value:#}\n")
}

/// The standalone JSON Schema of `contract`'s payload as it travels as `event_type`: the schemas
/// it names kept under `$defs`, its `$ref`s pointing there.
fn event_schema(event_type: &str, contract: &Contract) -> Value {
    let mut schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$comment": format!("The data of a CloudEvents 1.0 event of type {event_type}. Generated from the contract type; a breaking change is a new version."),
        "title": contract.name(),
    });
    if let (Some(schema), Ok(Value::Object(payload))) = (
        schema.as_object_mut(),
        serde_json::to_value(contract.schema()),
    ) {
        schema.extend(payload);
    }
    let referenced = contract.referenced();
    if !referenced.is_empty() {
        let defs: serde_json::Map<String, Value> = referenced
            .into_iter()
            .map(|(name, s)| (name, serde_json::to_value(s).unwrap_or_default()))
            .collect();
        schema["$defs"] = Value::Object(defs);
    }
    point_refs_at_defs(&mut schema);
    schema
}

/// Rewrites OpenAPI's `#/components/schemas/<name>` refs to `#/$defs/<name>`.
fn point_refs_at_defs(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map.iter_mut() {
                match inner {
                    Value::String(target) if key == "$ref" => {
                        if let Some(name) = target.strip_prefix("#/components/schemas/") {
                            *target = format!("#/$defs/{name}");
                        }
                    }
                    _ => point_refs_at_defs(inner),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(point_refs_at_defs),
        _ => {}
    }
}

/// What the review of the generated files against the committed ones found.
#[derive(Debug, Default)]
pub(super) struct Review {
    /// Breaking changes, each a sentence saying what to do.
    pub(super) breaks: Vec<String>,
    /// Committed files that differ from the generated ones, are missing or are left over.
    pub(super) stale: Vec<String>,
}

/// Reviews `generated` against `committed`.
pub(super) fn review(committed: &Files, generated: &Files) -> Review {
    let mut review = Review::default();
    for (path, old) in committed {
        let new = generated.get(path);
        if new != Some(old) {
            review.stale.push(path.clone());
        }
        let Ok(old) = serde_json::from_str::<Value>(old) else {
            continue;
        };
        let new = new.and_then(|new| serde_json::from_str::<Value>(new).ok());
        review
            .breaks
            .extend(breaks(path, &old, new.as_ref(), generated));
    }
    for path in generated.keys() {
        if !committed.contains_key(path) {
            review.stale.push(path.clone());
        }
    }
    review
}

/// The breaking changes from committed file `path` (`old`) to its generated version (`new`;
/// `None` when nothing generates it any more).
fn breaks(path: &str, old: &Value, new: Option<&Value>, generated: &Files) -> Vec<String> {
    let name = |folder: &str| {
        let (system, rest) = path.split_once('/')?;
        let name = rest.strip_prefix(folder)?.strip_suffix(".json")?;
        Some((system, name))
    };
    if let Some((system, service)) = name("openapi/") {
        let none = json!({});
        let found = openapi::breaks(&format!("{system}/{service}"), old, new.unwrap_or(&none));
        return found
            .iter()
            .map(|b| format!("{b}: clients of the committed API break; keep it compatible"))
            .collect();
    }
    let Some((system, event_type)) = name("events/") else {
        return Vec::new();
    };
    let next = compat::next_version(event_type);
    let Some(new) = new else {
        return if superseded(system, event_type, generated) {
            Vec::new()
        } else {
            vec![format!(
                "{event_type} is published no more and no newer version replaces it: its \
                 consumers break; keep publishing it beside {next} until they have moved"
            )]
        };
    };
    compat::event(event_type, old, new)
        .iter()
        .map(|b| {
            format!("{b}: a published event never changes; publish a new version {next} beside it")
        })
        .collect()
}

/// Whether a newer version of `event_type` is generated for `system`.
fn superseded(system: &str, event_type: &str, generated: &Files) -> bool {
    let Some((stem, version)) = event_type.rsplit_once(".v") else {
        return false;
    };
    let version: u32 = version.parse().unwrap_or(u32::MAX);
    let prefix = format!("{system}/events/{stem}.v");
    generated.keys().any(|path| {
        path.strip_prefix(&prefix)
            .and_then(|v| v.strip_suffix(".json"))
            .and_then(|v| v.parse::<u32>().ok())
            .is_some_and(|v| v > version)
    })
}

/// The committed contract files under `folder` (`<system>/<kind>/<name>.json`).
pub(super) fn read(folder: &Path) -> std::io::Result<Files> {
    let mut files = Files::new();
    if !folder.is_dir() {
        return Ok(files);
    }
    for system in folders(folder)? {
        for kind in folders(&system)? {
            for file in std::fs::read_dir(kind)? {
                let file = file?.path();
                if file.extension().is_some_and(|e| e == "json") {
                    let relative = file.strip_prefix(folder).unwrap_or(&file);
                    let relative = relative.to_string_lossy().replace('\\', "/");
                    files.insert(relative, std::fs::read_to_string(&file)?);
                }
            }
        }
    }
    Ok(files)
}

/// The folders in `folder`.
fn folders(folder: &Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    let mut folders = Vec::new();
    for entry in std::fs::read_dir(folder)? {
        let path = entry?.path();
        if path.is_dir() {
            folders.push(path);
        }
    }
    Ok(folders)
}

/// Makes `folder` hold exactly `generated`: writes every file, removes the committed ones nothing
/// generates any more.
pub(super) fn write(folder: &Path, committed: &Files, generated: &Files) -> std::io::Result<()> {
    for path in committed.keys() {
        if !generated.contains_key(path) {
            std::fs::remove_file(folder.join(path))?;
        }
    }
    for (path, text) in generated {
        let file = folder.join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)?;
        }
        if committed.get(path) != Some(text) {
            std::fs::write(file, text)?;
        }
    }
    Ok(())
}

mod tests;
