//! Layered configuration: built-in defaults, then a TOML file, then `MSA__SECTION__KEY` variables.
//!
//! The environment layer is what Kubernetes ConfigMaps and Secrets feed, and what `msa up` uses to
//! hand each child process its ports and stores.

use anyhow::Context as _;
use serde::de::DeserializeOwned;
use std::path::Path;
use toml::{Table, Value};

/// The prefix of environment variables that override settings; `__` separates nesting levels.
pub const ENV_PREFIX: &str = "MSA__";

/// Layers configuration sources, later ones winning key by key.
#[derive(Clone, Debug, Default)]
pub struct Layers {
    table: Table,
}

impl Layers {
    /// Starts from `defaults`, a TOML document.
    pub fn from_toml(defaults: &str) -> anyhow::Result<Self> {
        let table: Table =
            toml::from_str(defaults).context("default settings are not valid TOML")?;
        Ok(Self { table })
    }

    /// Overlays a TOML document.
    pub fn with_toml(mut self, document: &str) -> anyhow::Result<Self> {
        let table: Table = toml::from_str(document).context("settings are not valid TOML")?;
        merge(&mut self.table, table);
        Ok(self)
    }

    /// Overlays a TOML file; a missing file is an error, since someone asked for it.
    pub fn with_file(self, path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read settings file {}", path.display()))?;
        self.with_toml(&text)
            .with_context(|| format!("in settings file {}", path.display()))
    }

    /// Overlays one key path (`["http", "port"]`) with a value given as text.
    pub fn with_value(mut self, path: &[&str], raw: &str) -> Self {
        set_path(&mut self.table, path, parse_scalar(raw));
        self
    }

    /// Overlays every `MSA__A__B=value` variable of the process environment.
    pub fn with_env(self) -> Self {
        self.with_vars(std::env::vars())
    }

    /// Overlays `MSA__A__B=value` pairs from `vars` (the environment, or a test's own list).
    pub fn with_vars(mut self, vars: impl IntoIterator<Item = (String, String)>) -> Self {
        for (key, raw) in vars {
            let Some(rest) = key.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let path: Vec<String> = rest
                .split("__")
                .filter(|part| !part.is_empty())
                .map(str::to_ascii_lowercase)
                .collect();
            if path.is_empty() {
                continue;
            }
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            set_path(&mut self.table, &path, parse_scalar(&raw));
        }
        self
    }

    /// Deserializes the layered settings into `T`.
    pub fn build<T: DeserializeOwned>(self) -> anyhow::Result<T> {
        Value::Table(self.table)
            .try_into()
            .context("settings do not have the expected shape")
    }
}

/// Reads an environment value as a TOML scalar when it is one (numbers, booleans, arrays), and as a
/// string otherwise, so that `MSA__HTTP__PORT=8081` is a number and `MSA__BUS__URL=nats://x` a string.
fn parse_scalar(raw: &str) -> Value {
    let looks_structured = raw.starts_with('[') || raw.starts_with('{');
    let looks_scalar = raw == "true"
        || raw == "false"
        || raw.parse::<i64>().is_ok()
        || (raw.parse::<f64>().is_ok() && raw.contains('.'));
    if (looks_structured || looks_scalar)
        && let Ok(table) = toml::from_str::<Table>(&format!("v = {raw}"))
        && let Some(value) = table.get("v")
    {
        return value.clone();
    }
    Value::String(raw.to_owned())
}

fn set_path(table: &mut Table, path: &[&str], value: Value) {
    let (last, parents) = path.split_last().expect("a non-empty key path");
    let mut current = table;
    for part in parents {
        let entry = current
            .entry((*part).to_owned())
            .or_insert_with(|| Value::Table(Table::new()));
        if !entry.is_table() {
            *entry = Value::Table(Table::new());
        }
        current = entry.as_table_mut().expect("just made a table");
    }
    current.insert((*last).to_owned(), value);
}

fn merge(base: &mut Table, overlay: Table) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(Value::Table(existing)), Value::Table(incoming)) => merge(existing, incoming),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// A URL with its password replaced, for logs and errors.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug)]
    struct Settings {
        http: Http,
        bus: Bus,
    }
    #[derive(Deserialize, Debug)]
    struct Http {
        port: u16,
        host: String,
    }
    #[derive(Deserialize, Debug)]
    struct Bus {
        url: String,
        partitions: u32,
    }

    #[test]
    fn environment_variables_override_the_file_which_overrides_defaults() {
        let settings: Settings = Layers::from_toml(
            "[http]\nport = 8081\nhost = \"127.0.0.1\"\n[bus]\nurl = \"local://data/bus.db\"\npartitions = 8",
        )
        .unwrap()
        .with_toml("[http]\nport = 9000")
        .unwrap()
        .with_vars([
            ("MSA__BUS__URL".to_owned(), "nats://127.0.0.1:4222".to_owned()),
            ("MSA__BUS__PARTITIONS".to_owned(), "16".to_owned()),
            ("OTHER".to_owned(), "ignored".to_owned()),
        ])
        .build()
        .unwrap();
        assert_eq!(settings.http.port, 9000);
        assert_eq!(settings.http.host, "127.0.0.1");
        assert_eq!(settings.bus.url, "nats://127.0.0.1:4222");
        assert_eq!(settings.bus.partitions, 16);
    }

    #[test]
    fn a_value_of_the_wrong_type_is_a_clear_error() {
        let err =
            Layers::from_toml("[http]\nport = 1\nhost = \"h\"\n[bus]\nurl = \"u\"\npartitions = 1")
                .unwrap()
                .with_vars([("MSA__HTTP__PORT".to_owned(), "eighty".to_owned())])
                .build::<Settings>()
                .unwrap_err();
        assert!(format!("{err:#}").contains("port"), "{err:#}");
    }
}
