//! A system's alerting rules, written once here and rendered for Prometheus (`msa up --monitor`,
//! `msa monitor rules`, the committed `ops/prometheus/<system>.rules.yml`) — and for anything
//! else that takes Prometheus rule groups (a Kubernetes PrometheusRule has the same `groups`).
//!
//! Every series carries the labels the supervisor's scrape targets give it: `system`, `service`
//! and `replica` (the process, `payment-2`), besides Prometheus's own `job` and `instance`.

use kernel::manifest::SystemManifest;
use serde::Serialize;
use std::collections::BTreeMap;

/// The scrape job of the services (`up{job="msa"}`).
pub(crate) const JOB: &str = "msa";

/// Events a consumer group may be behind, summed over its partitions, before it is alerted on.
pub(crate) const CONSUMER_LAG_THRESHOLD: u32 = 100;

/// The latency percentile a route's objective bounds.
pub(crate) const OBJECTIVE_QUANTILE: f64 = 0.95;

/// How long a condition must hold before its alert fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pace {
    /// The windows meant for operation (a minute or more).
    Standard,
    /// Two seconds for every alert, for tests and demonstrations (`MSA_MONITOR_FAST=1`).
    Fast,
}

impl Pace {
    fn window(self, standard: &'static str) -> &'static str {
        match self {
            Pace::Standard => standard,
            Pace::Fast => "2s",
        }
    }
}

/// A Prometheus rule group.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct RuleGroup {
    /// Its name (`msa-roaming`).
    pub(crate) name: String,
    /// Its alerting rules.
    pub(crate) rules: Vec<AlertRule>,
}

/// One alerting rule.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct AlertRule {
    /// The alert's name.
    pub(crate) alert: String,
    /// The PromQL condition.
    pub(crate) expr: String,
    /// How long it must hold.
    #[serde(rename = "for")]
    pub(crate) hold: String,
    /// Labels added to the alert (`severity`, a route's `route` and `objective_ms`).
    pub(crate) labels: BTreeMap<String, String>,
    /// `summary` and `description`, templated with the series' labels.
    pub(crate) annotations: BTreeMap<String, String>,
}

struct Alert<'a> {
    name: &'a str,
    expr: String,
    hold: &'static str,
    severity: &'a str,
    summary: &'a str,
    description: String,
}

impl Alert<'_> {
    fn rule(self, pace: Pace, labels: &[(&str, String)]) -> AlertRule {
        let mut all: BTreeMap<String, String> =
            [("severity".to_owned(), self.severity.to_owned())].into();
        all.extend(labels.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        AlertRule {
            alert: self.name.to_owned(),
            expr: self.expr,
            hold: pace.window(self.hold).to_owned(),
            labels: all,
            annotations: [
                ("summary".to_owned(), self.summary.to_owned()),
                ("description".to_owned(), self.description),
            ]
            .into(),
        }
    }
}

/// The rule groups of `system`: what every system is alerted on, then the latency objectives
/// its manifest declares per route.
pub(crate) fn groups(manifest: &SystemManifest, pace: Pace) -> Vec<RuleGroup> {
    let system = format!("system=\"{}\"", manifest.name);
    let common = vec![
        Alert {
            name: "ServiceDown",
            expr: format!("up{{job=\"{JOB}\",{system}}} == 0"),
            hold: "1m",
            severity: "critical",
            summary: "{{ $labels.replica }} of {{ $labels.system }} is down",
            description:
                "Prometheus cannot scrape {{ $labels.replica }} ({{ $labels.instance }}): \
                          the process is gone, frozen or not listening."
                    .to_owned(),
        },
        Alert {
            name: "ServiceNotReady",
            expr: format!("service_ready{{{system}}} == 0"),
            hold: "2m",
            severity: "warning",
            summary: "{{ $labels.replica }} of {{ $labels.system }} is not ready",
            description: "{{ $labels.replica }} answers, but its readiness fails (store, bus, \
                          migrations or draining): see its /health/ready."
                .to_owned(),
        },
        Alert {
            name: "CircuitBreakerOpen",
            expr: format!("circuit_breaker_state{{{system}}} >= 1"),
            hold: "1m",
            severity: "warning",
            summary: "{{ $labels.replica }} keeps its breaker to {{ $labels.dependency }} open",
            description: "Calls from {{ $labels.replica }} to {{ $labels.dependency }} have been \
                          refused fast (open or probing half-open) for a while."
                .to_owned(),
        },
        Alert {
            name: "ConsumerLagHigh",
            expr: format!(
                "sum by (system, service, group) (max by (system, service, group, partition) \
                 (consumer_lag{{{system}}})) > {CONSUMER_LAG_THRESHOLD}"
            ),
            hold: "1m",
            severity: "warning",
            summary: "{{ $labels.group }} is {{ $value }} events behind",
            description: format!(
                "The consumer group {{{{ $labels.group }}}} has been more than \
                 {CONSUMER_LAG_THRESHOLD} events behind the stream for a minute."
            ),
        },
        Alert {
            name: "DeadLettersParked",
            expr: format!("max by (system, service, group) (dead_letters{{{system}}}) > 0"),
            hold: "1m",
            severity: "warning",
            summary: "{{ $labels.group }} has {{ $value }} dead letters",
            description: "Events {{ $labels.group }} could not handle wait for a replay: \
                          `msa deadletters list`."
                .to_owned(),
        },
        Alert {
            name: "OutboxBacklogGrowing",
            expr: format!(
                "max by (system, service) (outbox_backlog{{{system}}}) > 0 and max by (system, \
                 service) (deriv(outbox_backlog{{{system}}}[5m])) > 0"
            ),
            hold: "5m",
            severity: "warning",
            summary: "the outbox of {{ $labels.service }} keeps growing",
            description: "Committed events of {{ $labels.service }} are not published as fast \
                          as they are written: is the relay holding its lease, is the bus up?"
                .to_owned(),
        },
    ];
    let common = common.into_iter().map(|a| a.rule(pace, &[])).collect();
    let mut latency = Vec::new();
    for service in &manifest.services {
        for (route, objective) in &service.latency_objectives_ms {
            let expr = format!(
                "histogram_quantile({OBJECTIVE_QUANTILE}, sum by (system, service, le) \
                 (rate(http_request_duration_seconds_bucket{{{system},service=\"{}\",\
                 route=~\"{}(/.*)?\"}}[5m]))) > {}",
                service.name,
                regex_escape(route),
                f64::from(*objective) / 1000.0
            );
            let alert = Alert {
                name: "RouteLatencyOverObjective",
                expr,
                hold: "5m",
                severity: "warning",
                summary: &format!("{route} of {} is slower than its objective", service.name),
                // The rule's own labels are not among the series' `$labels`: written out.
                description: format!(
                    "The 95th percentile of {route} has been above {objective} ms (its \
                     objective in system.toml) for five minutes."
                ),
            };
            latency.push(alert.rule(
                pace,
                &[
                    ("route", route.clone()),
                    ("objective_ms", objective.to_string()),
                ],
            ));
        }
    }
    let mut groups = vec![RuleGroup {
        name: format!("msa-{}", manifest.name),
        rules: common,
    }];
    if !latency.is_empty() {
        groups.push(RuleGroup {
            name: format!("msa-{}-latency", manifest.name),
            rules: latency,
        });
    }
    groups
}

/// The rules file of `groups` (Prometheus's `rule_files`).
pub(crate) fn render(groups: &[RuleGroup]) -> String {
    let value = serde_json::json!({ "groups": groups });
    format!(
        "# Generated by `msa monitor rules` from the code and systems/<system>/system.toml; \
         do not edit.\n{}",
        crate::yaml::to_string(&value)
    )
}

/// `text` with the characters a RE2 regular expression treats specially escaped.
fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if r"\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
