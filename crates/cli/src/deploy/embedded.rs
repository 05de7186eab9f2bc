//! The embedded profile on a cluster or under `podman kube play`: the whole system as one Pod,
//! every service a container on 127.0.0.1 at its manifest port, sharing one volume with the
//! SQLite files, the local bus and the registry of replicas, exactly as `msa up` runs it on one
//! machine. The local bus is a file, so the Pod cannot scale: a larger deployment is `prod`.
//! `podman kube play` knows Pods, ConfigMaps and PersistentVolumeClaims but not Services or
//! Secrets, so the gateway publishes its port as a host port and the issuer keeps a generated
//! key on the volume.

use super::workload::{
    DRAIN_MS, GRACE_S, IMAGE_SKIPS, SHUTDOWN_MS, container_security, pod_security, probes,
    resources, skips,
};
use super::{DATA_DIR, IMAGE, Plan, yaml};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The files of the embedded tree: the Pod with its volume claim, a NetworkPolicy for clusters, and the kustomization.
pub(crate) fn render(plan: &Plan) -> BTreeMap<PathBuf, String> {
    let head = super::header(plan, "embedded");
    let mut files = BTreeMap::new();
    let claim = json!({
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": plan.metadata(&format!("{}-data", plan.system()), "storage", json!({})),
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": { "requests": { "storage": "2Gi" } },
        },
    });
    files.insert(
        PathBuf::from("namespace.yaml"),
        yaml::documents(&head, &[super::namespace(plan)]),
    );
    files.insert(
        PathBuf::from("pod.yaml"),
        yaml::documents(&head, &[claim, pod(plan)]),
    );
    files.insert(
        PathBuf::from("network.yaml"),
        yaml::documents(&head, &[policy(plan)]),
    );
    let kustomization = json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": ["namespace.yaml", "network.yaml", "pod.yaml"],
    });
    files.insert(
        PathBuf::from("kustomization.yaml"),
        yaml::documents(&head, &[kustomization]).replacen("---\n", "", 1),
    );
    files
}

/// On a cluster (podman ignores it): the gateway's port open to anyone, every service's port to
/// Prometheus, and out only to DNS (the services talk to each other inside the Pod).
fn policy(plan: &Plan) -> Value {
    let mut ingress = Vec::new();
    for unit in &plan.units {
        let port = json!([{ "port": unit.port, "protocol": "TCP" }]);
        if unit.gateway {
            ingress.push(json!({ "ports": port }));
        } else {
            ingress.push(json!({ "from": [super::network::prometheus()], "ports": port }));
        }
    }
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": plan.metadata(plan.system(), "network", json!({})),
        "spec": {
            "podSelector": { "matchLabels": plan.selector(plan.system()) },
            "policyTypes": ["Ingress", "Egress"],
            "ingress": ingress,
            "egress": [super::network::dns()],
        },
    })
}

fn pod(plan: &Plan) -> Value {
    let containers: Vec<Value> = plan
        .units
        .iter()
        .map(|unit| {
            let mut env = vec![
                json!({ "name": "MSA_PROFILE", "value": "embedded" }),
                json!({ "name": "MSA_DATA", "value": DATA_DIR }),
                json!({ "name": "MSA__HTTP__DRAIN_MS", "value": DRAIN_MS.to_string() }),
                json!({ "name": "MSA__HTTP__SHUTDOWN_TIMEOUT_MS", "value": SHUTDOWN_MS.to_string() }),
            ];
            let mut port = json!({ "name": "http", "containerPort": unit.port, "protocol": "TCP" });
            if unit.gateway {
                env.push(json!({ "name": "MSA__HTTP__HOST", "value": "0.0.0.0" }));
                port["hostPort"] = json!(unit.port);
            }
            let mut container = json!({
                "name": unit.name,
                "image": IMAGE,
                "imagePullPolicy": "IfNotPresent",
                "command": ["msa", "serve", super::workload::target(plan, unit)],
                "env": env,
                "ports": [port],
                "resources": resources(),
                "securityContext": container_security(),
                "volumeMounts": [{ "name": "data", "mountPath": DATA_DIR }],
            });
            probes(&mut container);
            container
        })
        .collect();
    let mut reasons = IMAGE_SKIPS.to_vec();
    reasons.push((
        "CKV_K8S_26",
        "podman kube play publishes the gateway's port only through a host port; it has no Services",
    ));
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": plan.metadata(plan.system(), "system", skips(&reasons)),
        "spec": {
            "automountServiceAccountToken": false,
            "enableServiceLinks": false,
            "restartPolicy": "Always",
            "securityContext": pod_security(),
            "terminationGracePeriodSeconds": GRACE_S,
            "containers": containers,
            "volumes": [{
                "name": "data",
                "persistentVolumeClaim": { "claimName": format!("{}-data", plan.system()) },
            }],
        },
    })
}
