//! `msa deploy render`: a system's Kubernetes manifests, rendered from its `system.toml` and
//! what its services declare as they are assembled (the living documentation's model: which
//! services consume events).
//!
//! Two profiles, one kustomize tree each under `deploy/<system>/<profile>/`:
//! - `prod`: one Deployment, Service, ConfigMap, autoscaler, PodDisruptionBudget and
//!   NetworkPolicy per service; the gateway is the only Service of type LoadBalancer; a 3-node
//!   NATS JetStream StatefulSet; the manifest's production databases as external services whose
//!   URLs (with their passwords) come from Secrets the operator creates from untracked files
//!   (`secretGenerator`); SQLite stores on PersistentVolumeClaims, capped at one replica.
//! - `embedded`: the whole system as one Pod (every service a container sharing 127.0.0.1 and
//!   one volume with the SQLite files and the local bus, which only works on one machine), for
//!   `podman kube play` or a one-node cluster.

mod embedded;
mod nats;
mod network;
mod workload;

#[cfg(test)]
mod tests;

use crate::systems;
use crate::yaml;
use anyhow::Context as _;
use kernel::manifest::SystemManifest;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The container image every service runs.
pub(crate) const IMAGE: &str = concat!("localhost/msa:", env!("CARGO_PKG_VERSION"));
/// The UID and GID the containers run as (not root; above the host's ordinary users).
pub(crate) const RUN_AS: u32 = 10001;
/// Where a pod keeps files: SQLite stores (a PersistentVolumeClaim) or nothing (an emptyDir).
pub(crate) const DATA_DIR: &str = "/data";
/// Where a service's Secret is mounted; its `settings.toml` is layered under the environment.
pub(crate) const SECRET_DIR: &str = "/etc/msa/secret";

/// The profiles `msa deploy render` knows.
pub(crate) const PROFILES: &[&str] = &["prod", "embedded"];

/// Where a service keeps its state on the cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Store {
    /// No store of its own (the gateway).
    None,
    /// A SQLite file on a PersistentVolumeClaim: one replica, since a file cannot be shared
    /// across nodes.
    Sqlite,
    /// A database server outside the cluster, reached on `port`; its URL is in the Secret.
    External { scheme: String, port: u16 },
}

/// One Deployment's worth: a service of the system, or its gateway.
#[derive(Clone, Debug)]
pub(crate) struct Unit {
    /// The service's name (`reservation`, `gateway`).
    pub(crate) name: String,
    /// The port it listens on (the manifest's).
    pub(crate) port: u16,
    /// Whether it is the gateway, the only one exposed.
    pub(crate) gateway: bool,
    /// Where its state lives.
    pub(crate) store: Store,
    /// Its consumer group when it reacts to events (`roaming/customer`), which names its durable
    /// JetStream consumers.
    pub(crate) group: Option<String>,
    /// The services it calls synchronously, with their ports.
    pub(crate) calls: Vec<(String, u16)>,
    /// The services that call it synchronously.
    pub(crate) callers: Vec<String>,
    /// Its liveness probe, as the manifest declares it.
    pub(crate) probe: kernel::manifest::Probe,
}

impl Unit {
    /// Whether it may run more than one replica.
    pub(crate) fn scalable(&self) -> bool {
        self.store != Store::Sqlite
    }

    /// Whether it reads a Secret: the URL of an external database, or the gateway's signing key
    /// and operator client secret.
    pub(crate) fn has_secret(&self) -> bool {
        self.gateway || matches!(self.store, Store::External { .. })
    }
}

/// What a system's deployment is made of.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    /// The system's manifest.
    pub(crate) manifest: SystemManifest,
    /// The namespace it runs in (`msa-roaming`).
    pub(crate) namespace: String,
    /// The gateway first, then the services in manifest order.
    pub(crate) units: Vec<Unit>,
}

impl Plan {
    /// The plan of `system`'s production profile: stores from the manifest's `prod_store`, event
    /// consumers from the services' assembled models.
    pub(crate) fn of(system: &str) -> anyhow::Result<Self> {
        let model = crate::docs::describe(system)?;
        let manifest = model.manifest.clone();
        let mut units = vec![Unit {
            name: "gateway".to_owned(),
            port: manifest.gateway.port,
            gateway: true,
            store: Store::None,
            group: None,
            calls: Vec::new(),
            callers: Vec::new(),
            probe: kernel::manifest::Probe::default(),
        }];
        for part in &model.parts {
            let entry = &part.entry;
            let calls = entry
                .calls
                .iter()
                .map(|callee| {
                    let port = manifest.service(callee).map(|s| s.port).with_context(|| {
                        format!("{} calls {callee}, which it does not have", entry.name)
                    })?;
                    Ok((callee.clone(), port))
                })
                .collect::<anyhow::Result<_>>()?;
            units.push(Unit {
                name: entry.name.clone(),
                port: entry.port,
                gateway: false,
                store: store(&entry.prod_store)?,
                group: (!part.model.reacts_to.is_empty()).then(|| part.model.name.clone()),
                calls,
                callers: manifest
                    .services
                    .iter()
                    .filter(|s| s.calls.contains(&entry.name))
                    .map(|s| s.name.clone())
                    .collect(),
                probe: entry.probe,
            });
        }
        Ok(Self {
            namespace: format!("msa-{}", manifest.name),
            manifest,
            units,
        })
    }

    /// The system's name.
    pub(crate) fn system(&self) -> &str {
        &self.manifest.name
    }

    /// The labels every object of the system carries, and `name`'s own.
    pub(crate) fn labels(&self, name: &str, component: &str) -> Value {
        json!({
            "app.kubernetes.io/name": name,
            "app.kubernetes.io/part-of": self.system(),
            "app.kubernetes.io/component": component,
            "app.kubernetes.io/version": env!("CARGO_PKG_VERSION"),
            "app.kubernetes.io/managed-by": "msa-deploy-render",
        })
    }

    /// The labels that select `name`'s pods.
    pub(crate) fn selector(&self, name: &str) -> Value {
        json!({ "app.kubernetes.io/name": name, "app.kubernetes.io/part-of": self.system() })
    }

    /// Object metadata: name, namespace, labels, and annotations when there are any.
    pub(crate) fn metadata(&self, name: &str, component: &str, annotations: Value) -> Value {
        let mut metadata = json!({
            "name": name,
            "namespace": self.namespace,
            "labels": self.labels(name, component),
        });
        if annotations.as_object().is_some_and(|a| !a.is_empty()) {
            metadata["annotations"] = annotations;
        }
        metadata
    }
}

/// Where a production store URL points.
fn store(url: &str) -> anyhow::Result<Store> {
    let (scheme, rest) = url
        .split_once("://")
        .with_context(|| format!("store URL {url:?} has no scheme"))?;
    let default_port = match scheme {
        "sqlite" => return Ok(Store::Sqlite),
        "postgres" | "postgresql" => 5432,
        "mysql" | "mariadb" => 3306,
        "redis" => 6379,
        other => anyhow::bail!("cannot deploy a store of scheme {other:?}"),
    };
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    let port = match host.rsplit_once(':') {
        Some((_, port)) => port
            .parse()
            .with_context(|| format!("store URL {url:?} has a bad port"))?,
        None => default_port,
    };
    Ok(Store::External {
        scheme: scheme.to_owned(),
        port,
    })
}

/// The files of `system`'s tree for `profile`, by path inside the profile's directory.
pub(crate) fn render(system: &str, profile: &str) -> anyhow::Result<BTreeMap<PathBuf, String>> {
    let plan = Plan::of(system)?;
    match profile {
        "prod" => Ok(prod(&plan)),
        "embedded" => Ok(embedded::render(&plan)),
        other => anyhow::bail!("unknown profile {other:?}: use {}", PROFILES.join(" or ")),
    }
}

/// The header of every rendered file.
pub(crate) fn header(plan: &Plan, profile: &str) -> String {
    format!(
        "Rendered by `msa deploy render --system {} --profile {profile}` from systems/{}/system.toml;\n\
         do not edit: change the manifest or crates/cli/src/deploy/ and render again.",
        plan.system(),
        plan.system()
    )
}

/// The system's namespace.
pub(crate) fn namespace(plan: &Plan) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": { "name": plan.namespace, "labels": plan.labels(&plan.namespace, "namespace") },
    })
}

fn prod(plan: &Plan) -> BTreeMap<PathBuf, String> {
    let head = header(plan, "prod");
    let mut files = BTreeMap::new();
    files.insert(
        PathBuf::from("namespace.yaml"),
        yaml::documents(&head, &[namespace(plan)]),
    );
    for unit in &plan.units {
        let mut objects = workload::objects(plan, unit);
        objects.push(network::policy(plan, unit));
        files.insert(
            PathBuf::from(format!("{}.yaml", unit.name)),
            yaml::documents(&head, &objects),
        );
    }
    files.insert(
        PathBuf::from("nats.yaml"),
        yaml::documents(&head, &nats::objects(plan)),
    );
    files.insert(
        PathBuf::from("monitoring.yaml"),
        yaml::documents(
            &head,
            &[workload::pod_monitor(plan), workload::prometheus_rule(plan)],
        ),
    );
    files.insert(
        PathBuf::from("kustomization.yaml"),
        kustomization(plan, &files),
    );
    files
}

/// The kustomization: every file as a resource, and a `secretGenerator` per unit that reads a
/// Secret, from files under `secrets/` that are never committed (`deploy/.gitignore`).
fn kustomization(plan: &Plan, files: &BTreeMap<PathBuf, String>) -> String {
    let mut resources: Vec<String> = files.keys().map(|p| p.display().to_string()).collect();
    resources.sort_by_key(|r| (r != "namespace.yaml", r.clone()));
    let mut generators = Vec::new();
    let mut head = format!(
        "{}\n\nBefore `kubectl apply -k`, write the Secrets' files under secrets/ (never committed;\n\
         see the README, \"Deploying to Kubernetes\"):",
        header(plan, "prod")
    );
    for unit in plan.units.iter().filter(|u| u.has_secret()) {
        let keys = workload::secret_keys(unit);
        head.push_str(&format!("\n  secrets/{}/{}", unit.name, keys.join(", ")));
        generators.push(json!({
            "name": workload::secret_name(unit),
            "namespace": plan.namespace,
            "files": keys
                .iter()
                .map(|key| format!("{key}=secrets/{}/{key}", unit.name))
                .collect::<Vec<_>>(),
            "options": { "labels": plan.selector(&unit.name) },
        }));
    }
    let value = json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": plan.namespace,
        "resources": resources,
        "secretGenerator": generators,
    });
    yaml::documents(&head, &[value]).replacen("---\n", "", 1)
}

/// `msa deploy render`: writes `system`'s tree for `profile` into `<out>/<profile>/` (default
/// `deploy/<system>/`), removing rendered files the tree no longer has.
pub(crate) fn command(system: &str, profile: &str, out: Option<&Path>) -> anyhow::Result<()> {
    let systems = if system == "all" {
        systems::names()?
    } else {
        vec![system.to_owned()]
    };
    anyhow::ensure!(
        PROFILES.contains(&profile),
        "unknown profile {profile:?}: use {}",
        PROFILES.join(" or ")
    );
    for system in &systems {
        let base = out.map_or_else(|| PathBuf::from("deploy").join(system), Path::to_path_buf);
        let dir = base.join(profile);
        let files = render(system, profile)?;
        write_tree(&dir, &files)?;
        eprintln!("{system}: {} files in {}", files.len(), dir.display());
    }
    Ok(())
}

/// Writes `files` into `dir`, and removes the YAML files `dir` holds that `files` lacks.
fn write_tree(dir: &Path, files: &BTreeMap<PathBuf, String>) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let stale = path.extension().is_some_and(|e| e == "yaml")
            && path
                .file_name()
                .is_some_and(|name| !files.contains_key(Path::new(name)));
        if stale {
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot remove {}", path.display()))?;
        }
    }
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}
