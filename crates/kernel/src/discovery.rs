//! Service discovery on one machine. A replica registers its address in the system's registry
//! directory (`<data>/<system>/registry/<service>/<pid>`) as soon as it serves (its store and bus
//! are open by then) and withdraws it when it starts draining; the gateway and every remote
//! command follow the registry, so a replica added, replaced or moved to another port is found
//! within [`REFRESH`], and one that is gone is passed over. An entry whose process has died (a
//! `kill -9` leaves its file behind) is ignored. With no registry configured the fixed URLs are
//! used, which is what a Kubernetes Service's DNS name gives.

use anyhow::Context as _;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a caller trusts what it read from the registry.
pub const REFRESH: Duration = Duration::from_millis(250);

/// Where the registry is.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiscoverySettings {
    /// The registry directory (`msa up` and the test harness set it); empty: fixed URLs only.
    pub registry: String,
}

impl DiscoverySettings {
    /// The registry, if one is configured.
    pub fn registry(&self) -> Option<Registry> {
        (!self.registry.is_empty()).then(|| Registry::new(&self.registry))
    }
}

/// A system's registry directory.
#[derive(Clone, Debug)]
pub struct Registry {
    dir: PathBuf,
}

/// A registered replica.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Its process.
    pub pid: u32,
    /// Its base URL.
    pub url: String,
}

impl Entry {
    /// The port its URL names.
    pub fn port(&self) -> Option<u16> {
        self.url.rsplit(':').next()?.parse().ok()
    }
}

/// Whether process `pid` is running (not gone, not a zombie). Linux reads `/proc`; elsewhere
/// every entry counts as running and a caller passes over one that refuses.
fn running(pid: u32) -> bool {
    if !Path::new("/proc/self").exists() {
        return true;
    }
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state follows the command name, which is in parentheses and may hold anything.
    let state = stat.rsplit(')').next().unwrap_or_default().trim_start();
    !state.starts_with(['Z', 'X'])
}

impl Registry {
    /// The registry in directory `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// Registers this process as a replica of `service` at `url` until the registration is
    /// withdrawn or dropped.
    pub fn register(&self, service: &str, url: &str) -> anyhow::Result<Registration> {
        let dir = self.dir.join(service);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create the registry {}", dir.display()))?;
        let pid = std::process::id();
        let path = dir.join(pid.to_string());
        // Written aside and renamed: a reader sees the whole address or none.
        let partial = dir.join(format!(".{pid}.partial"));
        std::fs::write(&partial, url)
            .and_then(|()| std::fs::rename(&partial, &path))
            .with_context(|| format!("cannot register in {}", dir.display()))?;
        tracing::info!(service, url, "registered");
        Ok(Registration { path })
    }

    /// The running replicas of `service`, oldest process first.
    pub fn entries(&self, service: &str) -> Vec<Entry> {
        let Ok(files) = std::fs::read_dir(self.dir.join(service)) else {
            return Vec::new();
        };
        let mut entries: Vec<Entry> = files
            .flatten()
            .filter_map(|file| {
                let pid = file.file_name().to_str()?.parse().ok()?;
                let url = std::fs::read_to_string(file.path()).ok()?;
                Some(Entry {
                    pid,
                    url: url.trim().to_owned(),
                })
            })
            .filter(|e| !e.url.is_empty() && running(e.pid))
            .collect();
        entries.sort_by_key(|e| e.pid);
        entries
    }
}

/// A replica's place in the registry; dropping it withdraws it.
#[derive(Debug)]
pub struct Registration {
    path: PathBuf,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// When the registry was last read, and what it said.
type Seen = (Option<Instant>, Arc<Vec<String>>);

/// A service's replicas as a caller sees them: the registry's when it has any, else the fixed
/// URLs (comma-separated in the settings).
#[derive(Clone, Debug)]
pub struct Replicas {
    service: String,
    fixed: Arc<Vec<String>>,
    registry: Option<Registry>,
    refresh: Duration,
    seen: Arc<Mutex<Seen>>,
}

impl Replicas {
    /// Replicas of `service` (its name in the manifest), at `fixed` (comma-separated base URLs)
    /// unless `registry` knows better.
    pub fn new(service: &str, fixed: &str, registry: Option<Registry>) -> anyhow::Result<Self> {
        let fixed: Vec<String> = fixed
            .split(',')
            .map(|url| url.trim().trim_end_matches('/').to_owned())
            .filter(|url| !url.is_empty())
            .collect();
        anyhow::ensure!(
            !fixed.is_empty() || registry.is_some(),
            "no address for {service}: set its URL"
        );
        let fixed = Arc::new(fixed);
        Ok(Self {
            service: service.to_owned(),
            seen: Arc::new(Mutex::new((None, fixed.clone()))),
            fixed,
            registry,
            refresh: REFRESH,
        })
    }

    /// Reads the registry again after `refresh` instead of [`REFRESH`].
    pub fn refreshing_every(mut self, refresh: Duration) -> Self {
        self.refresh = refresh;
        self
    }

    /// The base URLs to call now (never empty while a fixed URL is configured).
    pub fn current(&self) -> Arc<Vec<String>> {
        let Some(registry) = &self.registry else {
            return self.fixed.clone();
        };
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.0.is_none_or(|at| at.elapsed() >= self.refresh) {
            let found: Vec<String> = registry
                .entries(&self.service)
                .into_iter()
                .map(|e| e.url.trim_end_matches('/').to_owned())
                .collect();
            let urls = if found.is_empty() {
                self.fixed.clone()
            } else {
                Arc::new(found)
            };
            *seen = (Some(Instant::now()), urls);
        }
        seen.1.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_replaces_the_fixed_urls_and_forgets_withdrawn_and_dead_replicas() {
        let dir = std::env::temp_dir().join(format!("msa-registry-{}", uuid::Uuid::now_v7()));
        let registry = Registry::new(&dir);
        let replicas = Replicas::new("payment", "http://127.0.0.1:8082/", Some(registry.clone()))
            .unwrap()
            .refreshing_every(Duration::ZERO);
        assert_eq!(*replicas.current(), vec!["http://127.0.0.1:8082"]);

        let registration = registry
            .register("payment", "http://127.0.0.1:40001")
            .unwrap();
        // A replica whose process is gone (killed, its file left behind) does not count.
        std::fs::write(
            dir.join("payment").join("4194305"),
            "http://127.0.0.1:40002",
        )
        .unwrap();
        assert_eq!(
            registry.entries("payment"),
            vec![Entry {
                pid: std::process::id(),
                url: "http://127.0.0.1:40001".to_owned()
            }]
        );
        assert_eq!(registry.entries("payment")[0].port(), Some(40001));
        assert_eq!(*replicas.current(), vec!["http://127.0.0.1:40001"]);

        drop(registration);
        assert_eq!(*replicas.current(), vec!["http://127.0.0.1:8082"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn without_a_registry_or_a_url_there_is_nothing_to_call() {
        assert!(Replicas::new("payment", " , ", None).is_err());
        assert_eq!(
            *Replicas::new("payment", "http://a:1, http://b:2/", None)
                .unwrap()
                .current(),
            vec!["http://a:1", "http://b:2"]
        );
    }
}
