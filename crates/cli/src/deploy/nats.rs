//! The system's bus on the cluster: NATS JetStream as a 3-node StatefulSet with file storage on
//! PersistentVolumeClaims (JetStream replicates the stream across the nodes), and KEDA's lag
//! trigger on its durable consumers.

use super::workload::{container_security, pod_security, skips};
use super::{Plan, network};
use serde_json::{Value, json};

/// The client Service's name: services connect to `nats://nats:4222`.
pub(crate) const NAME: &str = "nats";
/// Where clients connect.
pub(crate) const CLIENT_PORT: u16 = 4222;
/// Where the nodes talk to each other.
pub(crate) const CLUSTER_PORT: u16 = 6222;
/// The monitoring endpoint (health, `/jsz` for KEDA's lag).
pub(crate) const MONITOR_PORT: u16 = 8222;
/// Nodes of the cluster.
const NODES: u32 = 3;
/// The server image: the 2.10 line (the kernel keeps compatibility with 2.9).
const IMAGE: &str = "docker.io/library/nats:2.10.24-alpine";
/// The headless Service giving each node its DNS name.
const PEERS: &str = "nats-cluster";

/// The stream of a system (the kernel's JetStream bus names it after the system, upper-cased).
pub(crate) fn stream(plan: &Plan) -> String {
    token(plan.system()).to_ascii_uppercase()
}

/// The durable consumer of `group` on `partition` (the kernel's `<group>_p<NN>`).
pub(crate) fn durable(group: &str, partition: u32) -> String {
    format!("{}_p{partition:02}", token(group))
}

/// A name as NATS accepts it in a stream or consumer name (the kernel's own rule).
fn token(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// KEDA's `nats-jetstream` trigger on one partition's durable consumer of `group`.
pub(crate) fn lag_trigger(plan: &Plan, group: &str, partition: u32, threshold: u32) -> Value {
    json!({
        "type": "nats-jetstream",
        "metadata": {
            "natsServerMonitoringEndpoint":
                format!("{NAME}.{}.svc.cluster.local:{MONITOR_PORT}", plan.namespace),
            "account": "$G",
            "stream": stream(plan),
            "consumer": durable(group, partition),
            "lagThreshold": threshold.to_string(),
            "useHttps": "false",
        },
    })
}

fn config(plan: &Plan) -> String {
    let routes: String = (0..NODES)
        .map(|i| {
            format!(
                "    nats://{NAME}-{i}.{PEERS}.{}.svc.cluster.local:{CLUSTER_PORT}\n",
                plan.namespace
            )
        })
        .collect();
    format!(
        "server_name: $POD_NAME\nport: {CLIENT_PORT}\nhttp_port: {MONITOR_PORT}\nlame_duck_duration: 30s\n\
         jetstream {{\n  store_dir: /data/jetstream\n  max_file_store: 8G\n}}\n\
         cluster {{\n  name: msa-{}\n  port: {CLUSTER_PORT}\n  routes: [\n{routes}  ]\n}}\n",
        plan.system()
    )
}

/// The NATS objects: config, client and peer Services, the StatefulSet, its budget and policy.
pub(crate) fn objects(plan: &Plan) -> Vec<Value> {
    let selector = plan.selector(NAME);
    let port = |name: &str, port: u16| json!({ "name": name, "port": port, "targetPort": name, "protocol": "TCP" });
    vec![
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": plan.metadata("nats-config", "bus", json!({})),
            "data": { "nats.conf": config(plan) },
        }),
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": plan.metadata(NAME, "bus", json!({})),
            "spec": {
                "type": "ClusterIP",
                "selector": selector,
                "ports": [port("client", CLIENT_PORT), port("monitor", MONITOR_PORT)],
            },
        }),
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": plan.metadata(PEERS, "bus", json!({})),
            "spec": {
                "clusterIP": "None",
                "publishNotReadyAddresses": true,
                "selector": selector,
                "ports": [port("cluster", CLUSTER_PORT)],
            },
        }),
        stateful_set(plan),
        json!({
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": plan.metadata(NAME, "bus", json!({})),
            "spec": { "selector": { "matchLabels": selector }, "maxUnavailable": 1 },
        }),
        network::nats_policy(plan),
    ]
}

fn stateful_set(plan: &Plan) -> Value {
    let health = |path: &str| json!({ "path": path, "port": "monitor" });
    let container = json!({
        "name": "nats",
        "image": IMAGE,
        "imagePullPolicy": "Always",
        "args": ["--config", "/etc/nats/nats.conf"],
        "env": [{ "name": "POD_NAME", "valueFrom": { "fieldRef": { "fieldPath": "metadata.name" } } }],
        "ports": [
            { "name": "client", "containerPort": CLIENT_PORT, "protocol": "TCP" },
            { "name": "cluster", "containerPort": CLUSTER_PORT, "protocol": "TCP" },
            { "name": "monitor", "containerPort": MONITOR_PORT, "protocol": "TCP" },
        ],
        "resources": {
            "requests": { "cpu": "250m", "memory": "256Mi" },
            "limits": { "cpu": "2", "memory": "1Gi" },
        },
        "startupProbe": { "httpGet": health("/healthz"), "periodSeconds": 5, "failureThreshold": 60 },
        "livenessProbe": { "httpGet": health("/healthz?js-enabled-only=true"), "periodSeconds": 10 },
        "readinessProbe": { "httpGet": health("/healthz?js-server-only=true"), "periodSeconds": 5 },
        "securityContext": container_security(),
        "volumeMounts": [
            { "name": "config", "mountPath": "/etc/nats", "readOnly": true },
            { "name": "data", "mountPath": "/data" },
        ],
    });
    json!({
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": plan.metadata(NAME, "bus", skips(&[(
            "CKV_K8S_43",
            "the NATS image is pinned by its release tag; pin the digest of the registry you mirror it from",
        )])),
        "spec": {
            "serviceName": PEERS,
            "replicas": NODES,
            "podManagementPolicy": "Parallel",
            "selector": { "matchLabels": plan.selector(NAME) },
            "updateStrategy": { "type": "RollingUpdate" },
            "template": {
                "metadata": { "labels": plan.labels(NAME, "bus") },
                "spec": {
                    "automountServiceAccountToken": false,
                    "enableServiceLinks": false,
                    "securityContext": pod_security(),
                    "terminationGracePeriodSeconds": 60,
                    "affinity": { "podAntiAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": [{
                            "labelSelector": { "matchLabels": plan.selector(NAME) },
                            "topologyKey": "kubernetes.io/hostname",
                        }],
                    }},
                    "containers": [container],
                    "volumes": [{ "name": "config", "configMap": { "name": "nats-config" } }],
                },
            },
            "volumeClaimTemplates": [{
                "metadata": { "name": "data", "labels": plan.selector(NAME) },
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": { "requests": { "storage": "10Gi" } },
                },
            }],
        },
    })
}
