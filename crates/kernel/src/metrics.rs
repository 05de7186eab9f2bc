//! A small Prometheus registry: counters, gauges and histograms rendered in the text format.
//!
//! One registry per service instance (not a global), so that several services in one test process
//! keep their numbers apart.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

/// Upper bounds (seconds) of the latency histogram buckets.
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

enum Series {
    Value(f64),
    Histogram {
        buckets: [u64; LATENCY_BUCKETS.len()],
        sum: f64,
        count: u64,
    },
}

struct Family {
    help: &'static str,
    kind: Kind,
    series: BTreeMap<Vec<(String, String)>, Series>,
}

/// A registry of metric families, cheap to clone and share.
#[derive(Clone, Default)]
pub struct Metrics {
    families: Arc<Mutex<BTreeMap<&'static str, Family>>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

fn labels_of(labels: &[(&str, &str)]) -> Vec<(String, String)> {
    labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

impl Metrics {
    fn with_series(
        &self,
        name: &'static str,
        help: &'static str,
        kind: Kind,
        labels: &[(&str, &str)],
        update: impl FnOnce(&mut Series),
    ) {
        let mut families = self.families.lock().expect("metrics lock");
        let family = families.entry(name).or_insert_with(|| Family {
            help,
            kind,
            series: BTreeMap::new(),
        });
        debug_assert!(
            family.kind == kind,
            "metric {name} registered with two kinds"
        );
        let series = family
            .series
            .entry(labels_of(labels))
            .or_insert_with(|| match kind {
                Kind::Histogram => Series::Histogram {
                    buckets: [0; LATENCY_BUCKETS.len()],
                    sum: 0.0,
                    count: 0,
                },
                _ => Series::Value(0.0),
            });
        update(series);
    }

    /// Adds `by` to a counter.
    pub fn increment(
        &self,
        name: &'static str,
        help: &'static str,
        labels: &[(&str, &str)],
        by: u64,
    ) {
        self.with_series(name, help, Kind::Counter, labels, |series| {
            if let Series::Value(v) = series {
                *v += by as f64;
            }
        });
    }

    /// Sets a gauge.
    pub fn set(&self, name: &'static str, help: &'static str, labels: &[(&str, &str)], value: f64) {
        self.with_series(name, help, Kind::Gauge, labels, |series| {
            if let Series::Value(v) = series {
                *v = value;
            }
        });
    }

    /// Records one observation (seconds) in a latency histogram.
    pub fn observe(
        &self,
        name: &'static str,
        help: &'static str,
        labels: &[(&str, &str)],
        seconds: f64,
    ) {
        self.with_series(name, help, Kind::Histogram, labels, |series| {
            if let Series::Histogram {
                buckets,
                sum,
                count,
            } = series
            {
                for (bucket, bound) in buckets.iter_mut().zip(LATENCY_BUCKETS) {
                    if seconds <= bound {
                        *bucket += 1;
                    }
                }
                *sum += seconds;
                *count += 1;
            }
        });
    }

    /// The current value of a counter or gauge, if it exists (for tests and status pages).
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let families = self.families.lock().expect("metrics lock");
        match families.get(name)?.series.get(&labels_of(labels))? {
            Series::Value(v) => Some(*v),
            Series::Histogram { count, .. } => Some(*count as f64),
        }
    }

    /// Renders every family in the Prometheus text exposition format 0.0.4.
    pub fn render(&self) -> String {
        let families = self.families.lock().expect("metrics lock");
        let mut out = String::new();
        for (name, family) in families.iter() {
            let _ = writeln!(out, "# HELP {name} {}", family.help);
            let _ = writeln!(out, "# TYPE {name} {}", family.kind.name());
            for (labels, series) in &family.series {
                match series {
                    Series::Value(v) => {
                        let _ =
                            writeln!(out, "{name}{} {}", render_labels(labels, None), number(*v));
                    }
                    Series::Histogram {
                        buckets,
                        sum,
                        count,
                    } => {
                        for (bucket, bound) in buckets.iter().zip(LATENCY_BUCKETS) {
                            let _ = writeln!(
                                out,
                                "{name}_bucket{} {bucket}",
                                render_labels(labels, Some(&number(bound)))
                            );
                        }
                        let _ = writeln!(
                            out,
                            "{name}_bucket{} {count}",
                            render_labels(labels, Some("+Inf"))
                        );
                        let _ = writeln!(
                            out,
                            "{name}_sum{} {}",
                            render_labels(labels, None),
                            number(*sum)
                        );
                        let _ =
                            writeln!(out, "{name}_count{} {count}", render_labels(labels, None));
                    }
                }
            }
        }
        out
    }
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

fn render_labels(labels: &[(String, String)], le: Option<&str>) -> String {
    if labels.is_empty() && le.is_none() {
        return String::new();
    }
    let mut parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect();
    if let Some(le) = le {
        parts.push(format!("le=\"{le}\""));
    }
    format!("{{{}}}", parts.join(","))
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_gauges_and_histograms_in_text_format() {
        let metrics = Metrics::default();
        metrics.increment(
            "http_requests_total",
            "Requests.",
            &[("route", "/a"), ("status", "200")],
            2,
        );
        metrics.set("outbox_backlog", "Unpublished events.", &[], 5.0);
        metrics.observe(
            "http_request_duration_seconds",
            "Latency.",
            &[("route", "/a")],
            0.003,
        );
        let text = metrics.render();
        assert!(text.contains("# TYPE http_requests_total counter"));
        assert!(text.contains("http_requests_total{route=\"/a\",status=\"200\"} 2"));
        assert!(text.contains("outbox_backlog 5"));
        assert!(
            text.contains("http_request_duration_seconds_bucket{route=\"/a\",le=\"0.0025\"} 0")
        );
        assert!(text.contains("http_request_duration_seconds_bucket{route=\"/a\",le=\"0.005\"} 1"));
        assert!(text.contains("http_request_duration_seconds_bucket{route=\"/a\",le=\"+Inf\"} 1"));
        assert!(text.contains("http_request_duration_seconds_count{route=\"/a\"} 1"));
        assert_eq!(metrics.value("outbox_backlog", &[]), Some(5.0));
    }
}
