//! NetworkPolicies derived from the manifest: a service admits the gateway, the services that
//! declare they call it, and Prometheus; it reaches DNS, the bus, its own store and the
//! services it calls. Nothing else is allowed in or out.

use super::nats::{CLIENT_PORT, CLUSTER_PORT, MONITOR_PORT, NAME as NATS};
use super::{Plan, Store, Unit};
use serde_json::{Value, json};

/// Prometheus's pods, in whichever namespace it runs.
pub(crate) fn prometheus() -> Value {
    json!({
        "namespaceSelector": {},
        "podSelector": { "matchLabels": { "app.kubernetes.io/name": "prometheus" } },
    })
}

/// KEDA's operator and metrics server (namespace `keda`), which read the bus's lag.
fn keda() -> Value {
    json!({ "namespaceSelector": { "matchLabels": { "kubernetes.io/metadata.name": "keda" } } })
}

fn pods(plan: &Plan, name: &str) -> Value {
    json!({ "podSelector": { "matchLabels": plan.selector(name) } })
}

fn tcp(port: u16) -> Value {
    json!({ "port": port, "protocol": "TCP" })
}

/// Name resolution through the cluster's DNS.
pub(crate) fn dns() -> Value {
    json!({
        "to": [{
            "namespaceSelector": {},
            "podSelector": { "matchLabels": { "k8s-app": "kube-dns" } },
        }],
        "ports": [{ "port": 53, "protocol": "UDP" }, { "port": 53, "protocol": "TCP" }],
    })
}

fn policy_object(plan: &Plan, name: &str, ingress: Vec<Value>, egress: Vec<Value>) -> Value {
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": plan.metadata(name, "network", json!({})),
        "spec": {
            "podSelector": { "matchLabels": plan.selector(name) },
            "policyTypes": ["Ingress", "Egress"],
            "ingress": ingress,
            "egress": egress,
        },
    })
}

/// The policy of one unit.
pub(crate) fn policy(plan: &Plan, unit: &Unit) -> Value {
    let port = [tcp(unit.port)];
    let mut egress = vec![dns()];
    if unit.gateway {
        // The public entry: anyone may connect; it reaches every service.
        let ingress = vec![json!({ "ports": port })];
        for other in plan.units.iter().filter(|u| !u.gateway) {
            egress.push(json!({ "to": [pods(plan, &other.name)], "ports": [tcp(other.port)] }));
        }
        return policy_object(plan, &unit.name, ingress, egress);
    }
    let mut from = vec![pods(plan, "gateway"), prometheus()];
    from.extend(unit.callers.iter().map(|caller| pods(plan, caller)));
    let ingress = vec![json!({ "from": from, "ports": port })];
    egress.push(json!({ "to": [pods(plan, NATS)], "ports": [tcp(CLIENT_PORT)] }));
    if let Store::External { port, .. } = unit.store {
        // A database outside the cluster, known only by its URL: any address, its port only.
        egress.push(json!({ "ports": [tcp(port)] }));
    }
    for (callee, port) in &unit.calls {
        egress.push(json!({ "to": [pods(plan, callee)], "ports": [tcp(*port)] }));
    }
    policy_object(plan, &unit.name, ingress, egress)
}

/// The bus's policy: clients from the system's services, peers from each other, the monitoring
/// endpoint from Prometheus and KEDA.
pub(crate) fn nats_policy(plan: &Plan) -> Value {
    let services: Vec<Value> = plan
        .units
        .iter()
        .filter(|u| !u.gateway)
        .map(|u| pods(plan, &u.name))
        .collect();
    let ingress = vec![
        json!({ "from": services, "ports": [tcp(CLIENT_PORT)] }),
        json!({ "from": [pods(plan, NATS)], "ports": [tcp(CLUSTER_PORT)] }),
        json!({ "from": [prometheus(), keda()], "ports": [tcp(MONITOR_PORT)] }),
    ];
    let egress = vec![
        dns(),
        json!({ "to": [pods(plan, NATS)], "ports": [tcp(CLUSTER_PORT)] }),
    ];
    policy_object(plan, NATS, ingress, egress)
}
