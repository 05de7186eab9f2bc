//! The embedded profile on a cluster or under `podman kube play`: the whole system as one Pod,
//! every service a container on 127.0.0.1 at its manifest port, sharing one volume with the
//! SQLite files, the local bus and the registry of replicas, exactly as `msa up` runs it on one
//! machine. The local bus is a file, so the Pod cannot scale: a larger deployment is `prod`.
//! `podman kube play` knows Pods, ConfigMaps and PersistentVolumeClaims but not Services or
//! Secrets, so the gateway publishes its port as a host port and the issuer keeps a generated
//! key on the volume.
//!
//! What podman 4.3 (Debian's) needs besides, each found by running it: the claim in a file of
//! its own (`podman kube play` refuses a claim whose volume exists, so `pod.yaml` must play
//! again on the kept volume, which it creates itself the first time); a container port on the
//! gateway only (podman publishes every declared container port on the host, which would take
//! the services' ports there) with the probes naming ports by number; annotation values of at
//! most 63 characters (podman checks them as it checks labels). Podman turns the liveness probes
//! into health checks that run `/bin/sh -c "curl -f ..."` in the container; the image's
//! `/bin/sh` is `msa`, which runs exactly that check and nothing else (`crate::healthcheck`).

use super::workload::{
    DRAIN_MS, GRACE_S, SHUTDOWN_MS, container_security, pod_security, probes, resources, skips,
};
use super::{DATA_DIR, IMAGE, Plan};
use crate::yaml;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Why checkov's image checks and its Service check do not apply to the Pod, short enough for
/// podman's annotation limit.
const POD_SKIPS: &[(&str, &str)] = &[
    (
        "CKV_K8S_43",
        "built here, loaded onto the node: no registry digest",
    ),
    (
        "CKV_K8S_15",
        "loaded onto the node; Always would pull from nowhere",
    ),
    (
        "CKV_K8S_26",
        "podman has no Services: the gateway uses a hostPort",
    ),
];

/// The files of the embedded tree: the Pod, its volume claim, a NetworkPolicy for clusters, and
/// the kustomization.
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
        PathBuf::from("volume.yaml"),
        yaml::documents(&head, &[claim]),
    );
    files.insert(
        PathBuf::from("pod.yaml"),
        yaml::documents(&head, &[pod(plan)]),
    );
    files.insert(
        PathBuf::from("network.yaml"),
        yaml::documents(&head, &[policy(plan)]),
    );
    let kustomization = json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": ["namespace.yaml", "network.yaml", "volume.yaml", "pod.yaml"],
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
            if unit.gateway {
                env.push(json!({ "name": "MSA__HTTP__HOST", "value": "0.0.0.0" }));
            }
            let mut container = json!({
                "name": unit.name,
                "image": IMAGE,
                "imagePullPolicy": "IfNotPresent",
                "command": ["msa", "serve", super::workload::target(plan, unit)],
                "env": env,
                "resources": resources(),
                "securityContext": container_security(),
                "volumeMounts": [{ "name": "data", "mountPath": DATA_DIR }],
            });
            probes(&mut container, &unit.probe);
            for probe in ["startupProbe", "livenessProbe", "readinessProbe"] {
                container[probe]["httpGet"]["port"] = json!(unit.port);
            }
            if unit.gateway {
                container["ports"] = json!([{
                    "name": "http", "containerPort": unit.port, "hostPort": unit.port, "protocol": "TCP",
                }]);
            }
            container
        })
        .collect();
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": plan.metadata(plan.system(), "system", skips(POD_SKIPS)),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::systems;

    /// The longest annotation value `podman kube play` 4.3 accepts.
    const PODMAN_ANNOTATION_MAX: usize = 63;

    #[test]
    fn every_embedded_pod_is_one_that_podman_4_3_plays() {
        for system in systems::names().unwrap() {
            let plan = Plan::of(&system).unwrap();
            let pod = pod(&plan);
            for (key, value) in pod["metadata"]["annotations"].as_object().unwrap() {
                let value = value.as_str().unwrap();
                assert!(
                    value.len() <= PODMAN_ANNOTATION_MAX,
                    "{system}: podman refuses {key} ({} characters)",
                    value.len()
                );
            }
            let text = pod.to_string();
            assert!(!text.contains("secretKeyRef") && !text.contains("configMapKeyRef"));
            for container in pod["spec"]["containers"].as_array().unwrap() {
                let name = container["name"].as_str().unwrap();
                let port = plan.units.iter().find(|u| u.name == name).unwrap().port;
                for probe in ["startupProbe", "livenessProbe", "readinessProbe"] {
                    assert_eq!(container[probe]["httpGet"]["port"], port, "{system}/{name}");
                }
                if name == "gateway" {
                    assert_eq!(container["ports"][0]["hostPort"], port);
                } else {
                    assert!(
                        container["ports"].is_null(),
                        "{system}/{name}: podman would publish its port on the host"
                    );
                }
            }
        }
        let files = render(&Plan::of("roaming").unwrap());
        assert!(!files[&PathBuf::from("pod.yaml")].contains("PersistentVolumeClaim"));
        assert!(files[&PathBuf::from("volume.yaml")].contains("name: roaming-data"));
    }
}
