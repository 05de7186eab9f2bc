//! A system's Grafana dashboard, drawn from its manifest: the system's health (processes up and
//! ready, breakers, consumer lag, outbox backlog, dead letters), then RED (rate, errors, duration)
//! per service and for the gateway, with each route's latency objective beside its latency.

use super::rules::{JOB, OBJECTIVE_QUANTILE};
use kernel::manifest::SystemManifest;
use serde_json::{Value, json};

/// Routes every process answers for its operators and probes: left out of RED.
const OPERATIONS_ROUTES: &str = "/health/.*|/metrics|/admin/.*";

struct Layout {
    panels: Vec<Value>,
    next_id: u32,
    y: u32,
    x: u32,
}

impl Layout {
    fn row(&mut self, title: &str) {
        if self.x > 0 {
            self.x = 0;
            self.y += 8;
        }
        self.next_id += 1;
        self.panels.push(json!({
            "id": self.next_id,
            "type": "row",
            "title": title,
            "collapsed": false,
            "gridPos": { "h": 1, "w": 24, "x": 0, "y": self.y },
            "panels": [],
        }));
        self.y += 1;
    }

    /// A time series panel, three to a row.
    fn panel(&mut self, title: &str, unit: &str, targets: Vec<(String, &str)>) {
        self.next_id += 1;
        let targets: Vec<Value> = targets
            .into_iter()
            .zip('A'..='Z')
            .map(|((expr, legend), id)| {
                json!({
                    "refId": id.to_string(),
                    "datasource": { "type": "prometheus", "uid": "${datasource}" },
                    "expr": expr,
                    "legendFormat": legend,
                })
            })
            .collect();
        self.panels.push(json!({
            "id": self.next_id,
            "type": "timeseries",
            "title": title,
            "datasource": { "type": "prometheus", "uid": "${datasource}" },
            "gridPos": { "h": 8, "w": 8, "x": self.x, "y": self.y },
            "fieldConfig": { "defaults": { "unit": unit }, "overrides": [] },
            "options": { "legend": { "displayMode": "list", "placement": "bottom" } },
            "targets": targets,
        }));
        self.x += 8;
        if self.x >= 24 {
            self.x = 0;
            self.y += 8;
        }
    }
}

/// The dashboard of `manifest`'s system (Grafana's JSON model, importable as it is).
pub(crate) fn render(manifest: &SystemManifest) -> Value {
    let system = format!("system=\"{}\"", manifest.name);
    let mut layout = Layout {
        panels: Vec::new(),
        next_id: 0,
        y: 0,
        x: 0,
    };
    layout.row("System");
    layout.panel(
        "Processes up and ready",
        "short",
        vec![
            (format!("up{{job=\"{JOB}\",{system}}}"), "up {{replica}}"),
            (format!("service_ready{{{system}}}"), "ready {{replica}}"),
        ],
    );
    layout.panel(
        "Circuit breakers (0 closed, 1 open, 2 half-open)",
        "short",
        vec![(
            format!("max by (service, dependency) (circuit_breaker_state{{{system}}})"),
            "{{service}} → {{dependency}}",
        )],
    );
    layout.panel(
        "Consumer lag (events)",
        "short",
        vec![(
            format!("sum by (group) (max by (group, partition) (consumer_lag{{{system}}}))"),
            "{{group}}",
        )],
    );
    layout.panel(
        "Outbox backlog (events)",
        "short",
        vec![(
            format!("max by (service) (outbox_backlog{{{system}}})"),
            "{{service}}",
        )],
    );
    layout.panel(
        "Dead letters waiting for a replay",
        "short",
        vec![(
            format!("max by (group) (dead_letters{{{system}}})"),
            "{{group}}",
        )],
    );
    layout.panel(
        "Events published and handled per second",
        "ops",
        vec![
            (
                format!(
                    "sum by (service) (rate(events_published_total{{{system}}}[$__rate_interval]))"
                ),
                "published by {{service}}",
            ),
            (
                format!(
                    "sum by (group) (rate(events_handled_total{{{system}}}[$__rate_interval]))"
                ),
                "handled by {{group}}",
            ),
        ],
    );
    let services = manifest
        .services
        .iter()
        .map(|s| (s.name.as_str(), Some(s)))
        .chain([("gateway", None)]);
    for (name, entry) in services {
        let selector = format!("{system},service=\"{name}\",route!~\"{OPERATIONS_ROUTES}\"");
        layout.row(name);
        layout.panel(
            "Requests per second by route",
            "reqps",
            vec![(
                format!(
                    "sum by (route) (rate(http_requests_total{{{selector}}}[$__rate_interval]))"
                ),
                "{{route}}",
            )],
        );
        layout.panel(
            "Server errors (5xx) per second by route",
            "reqps",
            vec![(
                format!(
                    "sum by (route) (rate(http_requests_total{{{selector},status=~\"5..\"}}[$__rate_interval]))"
                ),
                "{{route}}",
            )],
        );
        let mut latency = vec![(
            format!(
                "histogram_quantile({OBJECTIVE_QUANTILE}, sum by (route, le) \
                 (rate(http_request_duration_seconds_bucket{{{selector}}}[$__rate_interval])))"
            ),
            "{{route}}",
        )];
        let objectives = entry
            .map(|e| &e.latency_objectives_ms)
            .into_iter()
            .flatten();
        let legends: Vec<String> = objectives
            .clone()
            .map(|(route, _)| format!("objective of {route}"))
            .collect();
        for ((_, ms), legend) in objectives.zip(&legends) {
            latency.push((format!("vector({})", f64::from(*ms) / 1000.0), legend));
        }
        layout.panel("Latency p95 by route", "s", latency);
    }
    json!({
        "title": format!("msa — {}", manifest.name),
        "uid": format!("msa-{}", manifest.name),
        "description": format!(
            "Generated by `msa monitor dashboard --system {}` from systems/{}/system.toml; do not edit.",
            manifest.name, manifest.name
        ),
        "tags": ["msa", manifest.name],
        "editable": true,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "10s",
        "time": { "from": "now-1h", "to": "now" },
        "timezone": "browser",
        "templating": { "list": [{
            "name": "datasource",
            "label": "Prometheus",
            "type": "datasource",
            "query": "prometheus",
        }] },
        "annotations": { "list": [] },
        "panels": layout.panels,
    })
}
