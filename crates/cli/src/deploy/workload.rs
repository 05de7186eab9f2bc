//! A service's workload objects: its ConfigMap (the settings `msa serve` reads), Deployment,
//! Service, PersistentVolumeClaim (SQLite), autoscaler and PodDisruptionBudget; and the
//! system's PrometheusRule.

use super::{DATA_DIR, IMAGE, Plan, RUN_AS, SECRET_DIR, Store, Unit};
use crate::monitor::rules;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// How long a stopping pod stays up answering not-ready (`MSA__HTTP__DRAIN_MS`), after the
/// `preStop` pause.
pub(crate) const DRAIN_MS: u64 = 5_000;
/// The `preStop` pause: endpoints controllers and load balancers stop sending before the drain.
pub(crate) const PRE_STOP_S: u64 = 5;
/// The longest wait for in-flight work at shutdown (`MSA__HTTP__SHUTDOWN_TIMEOUT_MS`).
pub(crate) const SHUTDOWN_MS: u64 = 20_000;
/// What the kubelet waits before killing: the pause, the drain and the shutdown, and a margin.
pub(crate) const GRACE_S: u64 = PRE_STOP_S + (DRAIN_MS + SHUTDOWN_MS) / 1000 + 5;
/// The CPU utilisation autoscalers aim at, in percent of the request.
const CPU_TARGET: u32 = 70;
/// Replicas of a service that may scale, at least and at most (consumers: the partitions).
const MIN_REPLICAS: u32 = 2;
const MAX_REPLICAS: u32 = 6;
/// Unacknowledged events per partition consumer above which KEDA adds a replica.
const LAG_THRESHOLD: u32 = 100;

/// The unit's objects, Deployment first.
pub(crate) fn objects(plan: &Plan, unit: &Unit) -> Vec<Value> {
    let mut objects = vec![
        config_map(plan, unit),
        deployment(plan, unit),
        service(plan, unit),
    ];
    if unit.store == Store::Sqlite {
        objects.push(claim(plan, unit));
    }
    objects.push(autoscaler(plan, unit));
    objects.push(disruption_budget(plan, unit));
    objects
}

/// `<system>/<service>`.
pub(crate) fn target(plan: &Plan, unit: &Unit) -> String {
    format!("{}/{}", plan.system(), unit.name)
}

/// The name of the unit's Secret (before kustomize's hash suffix).
pub(crate) fn secret_name(unit: &Unit) -> String {
    format!("{}-secret", unit.name)
}

/// The keys (files) of the unit's Secret: `settings.toml`, layered under the environment
/// (`MSA_CONFIG`), and the gateway's signing key.
pub(crate) fn secret_keys(unit: &Unit) -> Vec<&'static str> {
    if unit.gateway {
        vec!["settings.toml", "signing-key.pem"]
    } else if unit.has_secret() {
        vec!["settings.toml"]
    } else {
        Vec::new()
    }
}

/// The settings a unit gets from its ConfigMap, as environment variables over the defaults
/// `msa serve` builds from the manifest: what differs on a cluster (listen on every interface,
/// drain, no registry directory but the Services' DNS names, the NATS cluster) and nothing
/// secret (database URLs, the operator's client secret and the signing key are in the Secret).
pub(crate) fn settings(plan: &Plan, unit: &Unit) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    let mut set = |key: &str, value: String| env.insert(key.to_owned(), value);
    set("MSA_PROFILE", "prod".to_owned());
    set("MSA_DATA", DATA_DIR.to_owned());
    set("MSA__HTTP__HOST", "0.0.0.0".to_owned());
    set("MSA__HTTP__PORT", unit.port.to_string());
    set("MSA__HTTP__DRAIN_MS", DRAIN_MS.to_string());
    set("MSA__HTTP__SHUTDOWN_TIMEOUT_MS", SHUTDOWN_MS.to_string());
    set("MSA__DISCOVERY__REGISTRY", String::new());
    if unit.has_secret() {
        set("MSA_CONFIG", format!("{SECRET_DIR}/settings.toml"));
    }
    if unit.gateway {
        let public = format!("https://{}.example.com", plan.system());
        for other in plan.units.iter().filter(|u| !u.gateway) {
            set(
                &format!("MSA__UPSTREAMS__{}", env_token(&other.name)),
                format!("http://{}:{}", other.name, other.port),
            );
        }
        set("MSA__AUTH__ISSUER", public.clone());
        set(
            "MSA__AUTH__EMBEDDED_ISSUER__WEB_REDIRECT_URIS",
            format!("[\"{public}/\"]"),
        );
        set(
            "MSA__AUTH__EMBEDDED_ISSUER__KEY_FILE",
            format!("{SECRET_DIR}/signing-key.pem"),
        );
        set(
            "MSA__AUTH__EMBEDDED_ISSUER__GENERATE_KEY",
            "false".to_owned(),
        );
        return env;
    }
    set(
        "MSA__BUS__URL",
        format!("nats://{}:{}", super::nats::NAME, super::nats::CLIENT_PORT),
    );
    for (callee, port) in &unit.calls {
        set(
            &format!("MSA__{}__URL", env_token(callee)),
            format!("http://{callee}:{port}"),
        );
    }
    if unit.store == Store::Sqlite
        && let Some(entry) = plan.manifest.service(&unit.name)
    {
        set("MSA__STORE__URL", entry.prod_store_in(DATA_DIR));
    }
    env
}

/// A settings path segment as it is spelled in an environment variable.
fn env_token(name: &str) -> String {
    name.to_ascii_uppercase()
}

fn config_map(plan: &Plan, unit: &Unit) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": plan.metadata(&format!("{}-settings", unit.name), component(unit), json!({})),
        "data": settings(plan, unit),
    })
}

fn component(unit: &Unit) -> &'static str {
    if unit.gateway { "gateway" } else { "service" }
}

/// Why the checks checkov reports on every workload do not apply, as its skip annotations.
pub(crate) fn skips(reasons: &[(&str, &str)]) -> Value {
    let mut annotations = serde_json::Map::new();
    for (i, (check, reason)) in reasons.iter().enumerate() {
        annotations.insert(
            format!("checkov.io/skip{}", i + 1),
            json!(format!("{check}={reason}")),
        );
    }
    Value::Object(annotations)
}

/// The skips of every msa container: the image is built on the node, not pulled.
pub(crate) const IMAGE_SKIPS: &[(&str, &str)] = &[
    (
        "CKV_K8S_43",
        "the image is built from this repository and loaded onto the nodes (localhost/msa), it has no registry digest",
    ),
    (
        "CKV_K8S_15",
        "the image is loaded onto the nodes, not pulled; Always would pull from a registry that does not exist",
    ),
];

fn deployment(plan: &Plan, unit: &Unit) -> Value {
    let labels = plan.labels(&unit.name, component(unit));
    let mut spec = json!({
        "revisionHistoryLimit": 5,
        "selector": { "matchLabels": plan.selector(&unit.name) },
        "strategy": {
            "type": "RollingUpdate",
            "rollingUpdate": { "maxUnavailable": 0, "maxSurge": 1 },
        },
        "template": {
            "metadata": {
                "labels": labels,
                "annotations": {
                    "prometheus.io/scrape": "true",
                    "prometheus.io/port": unit.port.to_string(),
                    "prometheus.io/path": "/metrics",
                },
            },
            "spec": pod_spec(plan, unit),
        },
    });
    if !unit.scalable() {
        spec["replicas"] = json!(1);
    }
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": plan.metadata(&unit.name, component(unit), skips(IMAGE_SKIPS)),
        "spec": spec,
    })
}

/// The pod-level security every msa pod has: not root, the runtime's seccomp profile, no
/// service account token (nothing here talks to the Kubernetes API).
pub(crate) fn pod_security() -> Value {
    json!({
        "runAsNonRoot": true,
        "runAsUser": RUN_AS,
        "runAsGroup": RUN_AS,
        "fsGroup": RUN_AS,
        "seccompProfile": { "type": "RuntimeDefault" },
    })
}

/// The container-level security every msa container has.
pub(crate) fn container_security() -> Value {
    json!({
        "allowPrivilegeEscalation": false,
        "privileged": false,
        "readOnlyRootFilesystem": true,
        "runAsNonRoot": true,
        "runAsUser": RUN_AS,
        "capabilities": { "drop": ["ALL"] },
    })
}

/// Requests and limits of one msa container.
pub(crate) fn resources() -> Value {
    json!({
        "requests": { "cpu": "100m", "memory": "128Mi" },
        "limits": { "cpu": "1", "memory": "512Mi" },
    })
}

/// The probes of a container listening on `port`: started once live (migrations run before the
/// listener), restarted when no longer live as the manifest's `probe` says (the values `msa up`
/// probes with), sent traffic only while ready.
pub(crate) fn probes(container: &mut Value, probe: &kernel::manifest::Probe) {
    let seconds = |ms: u64| ms.div_ceil(1_000).max(1);
    let get = |path: &str| json!({ "path": path, "port": "http" });
    container["startupProbe"] = json!({
        "httpGet": get("/health/live"), "periodSeconds": 2, "timeoutSeconds": 2, "failureThreshold": 60,
    });
    container["livenessProbe"] = json!({
        "httpGet": get("/health/live"),
        "periodSeconds": seconds(probe.period_ms),
        "timeoutSeconds": seconds(probe.timeout_ms),
        "failureThreshold": probe.failure_threshold,
    });
    container["readinessProbe"] = json!({
        "httpGet": get("/health/ready"), "periodSeconds": 5, "timeoutSeconds": 2, "failureThreshold": 2,
    });
}

fn pod_spec(plan: &Plan, unit: &Unit) -> Value {
    let mut container = json!({
        "name": unit.name,
        "image": IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "command": ["msa", "serve", target(plan, unit)],
        "ports": [{ "name": "http", "containerPort": unit.port, "protocol": "TCP" }],
        "envFrom": [{ "configMapRef": { "name": format!("{}-settings", unit.name) } }],
        "resources": resources(),
        "lifecycle": { "preStop": { "sleep": { "seconds": PRE_STOP_S } } },
        "securityContext": container_security(),
        "volumeMounts": [
            { "name": "data", "mountPath": DATA_DIR },
            { "name": "tmp", "mountPath": "/tmp" },
        ],
    });
    probes(&mut container, &unit.probe);
    let data = if unit.store == Store::Sqlite {
        json!({ "name": "data", "persistentVolumeClaim": { "claimName": format!("{}-data", unit.name) } })
    } else {
        json!({ "name": "data", "emptyDir": { "sizeLimit": "256Mi" } })
    };
    let mut volumes = vec![
        data,
        json!({ "name": "tmp", "emptyDir": { "sizeLimit": "64Mi" } }),
    ];
    if unit.has_secret() {
        volumes.push(json!({
            "name": "secret",
            "secret": { "secretName": secret_name(unit), "defaultMode": 0o440 },
        }));
        container["volumeMounts"]
            .as_array_mut()
            .expect("a list of mounts")
            .push(json!({ "name": "secret", "mountPath": SECRET_DIR, "readOnly": true }));
    }
    json!({
        "automountServiceAccountToken": false,
        "enableServiceLinks": false,
        "securityContext": pod_security(),
        "terminationGracePeriodSeconds": GRACE_S,
        "affinity": affinity(plan, unit),
        "containers": [container],
        "volumes": volumes,
    })
}

/// Replicas spread over nodes; a SQLite service's surge replica during a rollout lands on the
/// node that has the volume (the scheduler lets the first replica go anywhere).
fn affinity(plan: &Plan, unit: &Unit) -> Value {
    let term = json!({
        "labelSelector": { "matchLabels": plan.selector(&unit.name) },
        "topologyKey": "kubernetes.io/hostname",
    });
    if unit.scalable() {
        json!({ "podAntiAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [{ "weight": 100, "podAffinityTerm": term }],
        }})
    } else {
        json!({ "podAffinity": { "requiredDuringSchedulingIgnoredDuringExecution": [term] } })
    }
}

fn service(plan: &Plan, unit: &Unit) -> Value {
    let mut spec = json!({
        "selector": plan.selector(&unit.name),
        "ports": [{ "name": "http", "port": unit.port, "targetPort": "http", "protocol": "TCP" }],
    });
    if unit.gateway {
        // The only public entry. The embedded issuer keeps authorization codes and refresh
        // tokens in its memory, so a client stays with one replica.
        spec["type"] = json!("LoadBalancer");
        spec["ports"][0]["port"] = json!(80);
        spec["externalTrafficPolicy"] = json!("Local");
        spec["sessionAffinity"] = json!("ClientIP");
    } else {
        spec["type"] = json!("ClusterIP");
    }
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": plan.metadata(&unit.name, component(unit), json!({})),
        "spec": spec,
    })
}

fn claim(plan: &Plan, unit: &Unit) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": plan.metadata(&format!("{}-data", unit.name), "storage", json!({})),
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": { "requests": { "storage": "1Gi" } },
        },
    })
}

/// One autoscaler per Deployment: KEDA on CPU and each partition's JetStream lag for an event
/// consumer (never more replicas than partitions: a partition has one owner at a time), an HPA
/// on CPU otherwise; one replica at most on a SQLite file.
fn autoscaler(plan: &Plan, unit: &Unit) -> Value {
    let target_ref = json!({ "apiVersion": "apps/v1", "kind": "Deployment", "name": unit.name });
    let metadata = plan.metadata(&unit.name, component(unit), json!({}));
    match (&unit.group, unit.scalable()) {
        (Some(group), true) => {
            let mut triggers = vec![json!({
                "type": "cpu", "metricType": "Utilization",
                "metadata": { "value": CPU_TARGET.to_string() },
            })];
            for partition in 0..plan.manifest.partitions {
                triggers.push(super::nats::lag_trigger(
                    plan,
                    group,
                    partition,
                    LAG_THRESHOLD,
                ));
            }
            json!({
                "apiVersion": "keda.sh/v1alpha1",
                "kind": "ScaledObject",
                "metadata": metadata,
                "spec": {
                    "scaleTargetRef": target_ref,
                    "minReplicaCount": MIN_REPLICAS,
                    "maxReplicaCount": plan.manifest.partitions.max(MIN_REPLICAS),
                    "triggers": triggers,
                },
            })
        }
        (_, scalable) => {
            let (min, max) = if scalable {
                (MIN_REPLICAS, MAX_REPLICAS)
            } else {
                (1, 1)
            };
            json!({
                "apiVersion": "autoscaling/v2",
                "kind": "HorizontalPodAutoscaler",
                "metadata": metadata,
                "spec": {
                    "scaleTargetRef": target_ref,
                    "minReplicas": min,
                    "maxReplicas": max,
                    "metrics": [{ "type": "Resource", "resource": {
                        "name": "cpu", "target": { "type": "Utilization", "averageUtilization": CPU_TARGET },
                    }}],
                },
            })
        }
    }
}

fn disruption_budget(plan: &Plan, unit: &Unit) -> Value {
    let mut spec = json!({ "selector": { "matchLabels": plan.selector(&unit.name) } });
    if unit.scalable() {
        spec["minAvailable"] = json!(1);
    } else {
        // A single replica: a budget of one unavailable lets a node drain, briefly stopping it.
        spec["maxUnavailable"] = json!(1);
    }
    json!({
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": plan.metadata(&unit.name, component(unit), json!({})),
        "spec": spec,
    })
}

/// The system's alert rules as a PrometheusRule (prometheus-operator): the groups `msa up
/// --monitor` loads on one machine (`monitor::rules`), at the pace meant for operation.
pub(crate) fn prometheus_rule(plan: &Plan) -> Value {
    let groups = rules::groups(&plan.manifest, rules::Pace::Standard);
    json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": plan.metadata(&format!("{}-alerts", plan.system()), "monitoring", json!({})),
        "spec": { "groups": groups },
    })
}

/// How Prometheus (prometheus-operator) scrapes the system's pods: each one's `/metrics`,
/// labelled as `msa up --monitor` labels its targets (`job`, `system`, `service`, `replica`), so
/// the same rules and dashboards read a cluster as they read one machine.
pub(crate) fn pod_monitor(plan: &Plan) -> Value {
    let label = |name: &str| format!("__meta_kubernetes_pod_label_{name}");
    json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": plan.metadata(&format!("{}-pods", plan.system()), "monitoring", json!({})),
        "spec": {
            "selector": { "matchLabels": { "app.kubernetes.io/part-of": plan.system() } },
            "podMetricsEndpoints": [{
                "port": "http",
                "path": "/metrics",
                "relabelings": [
                    { "targetLabel": "job", "replacement": rules::JOB },
                    { "sourceLabels": [label("app_kubernetes_io_part_of")], "targetLabel": "system" },
                    { "sourceLabels": [label("app_kubernetes_io_name")], "targetLabel": "service" },
                    { "sourceLabels": ["__meta_kubernetes_pod_name"], "targetLabel": "replica" },
                ],
            }],
        },
    })
}
