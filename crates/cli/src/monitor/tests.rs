use super::*;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A fresh directory under `target/monitoring/` for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = root().join("target/monitoring").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs one of Prometheus's tools and fails the test with its output unless it succeeds.
fn tool(program: &str, args: &[&str], dir: &Path) -> String {
    let output = std::process::Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {program} ({e}): install prometheus and prometheus-alertmanager \
                 (scripts/test.sh does)"
            )
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{program} {args:?}:\n{text}");
    text
}

/// Every system's generated monitoring files, by path under the repository.
fn generated() -> Vec<(String, String)> {
    let mut files = Vec::new();
    for system in systems::names().unwrap() {
        let manifest = systems::manifest(&system).unwrap();
        files.push((
            format!("ops/prometheus/{system}.rules.yml"),
            rules::render(&rules::groups(&manifest, Pace::Standard)),
        ));
        files.push((
            format!("ops/grafana/{system}.json"),
            format!("{:#}\n", dashboard::render(&manifest)),
        ));
    }
    files
}

#[test]
fn every_system_s_committed_rules_and_dashboard_are_what_the_code_and_manifest_generate() {
    let mut stale = Vec::new();
    for (path, text) in generated() {
        let committed = root().join(&path);
        if std::env::var_os("MSA_UPDATE_MONITORING").is_some() {
            std::fs::create_dir_all(committed.parent().unwrap()).unwrap();
            std::fs::write(&committed, &text).unwrap();
        } else if std::fs::read_to_string(&committed).ok().as_deref() != Some(text.as_str()) {
            stale.push(path);
        }
    }
    assert!(
        stale.is_empty(),
        "the committed monitoring files differ from what the code generates: {stale:#?}; \
         regenerate them with `MSA_UPDATE_MONITORING=1 cargo nextest run -p msa monitor::` \
         and commit them"
    );
}

#[test]
fn promtool_accepts_every_rules_file_and_the_alert_unit_tests_pass() {
    let dir = scratch("rules");
    let mut files = Vec::new();
    for system in systems::names().unwrap() {
        let manifest = systems::manifest(&system).unwrap();
        for pace in [Pace::Standard, Pace::Fast] {
            let path = dir.join(format!("{system}-{pace:?}.rules.yml"));
            std::fs::write(&path, rules::render(&rules::groups(&manifest, pace))).unwrap();
            files.push(path.display().to_string());
        }
    }
    let mut args = vec!["check", "rules"];
    args.extend(files.iter().map(String::as_str));
    tool("promtool", &args, &dir);

    // The committed unit tests: input series, and the alerts expected at given times.
    let tests = root().join("ops/prometheus/tests");
    let mut cases: Vec<String> = std::fs::read_dir(&tests)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .map(|p| p.display().to_string())
        .collect();
    cases.sort();
    assert!(
        !cases.is_empty(),
        "no alert unit tests in {}",
        tests.display()
    );
    let mut args = vec!["test", "rules"];
    args.extend(cases.iter().map(String::as_str));
    tool("promtool", &args, &tests);
}

#[test]
fn prometheus_and_alertmanager_accept_the_configuration_msa_up_writes() {
    let dir = scratch("config");
    std::fs::create_dir_all(dir.join("rules")).unwrap();
    let manifest = systems::manifest("roaming").unwrap();
    std::fs::write(
        dir.join("rules/roaming.rules.yml"),
        rules::render(&rules::groups(&manifest, Pace::Fast)),
    )
    .unwrap();
    std::fs::write(dir.join("targets.json"), targets_file(&[])).unwrap();
    for pace in [Pace::Standard, Pace::Fast] {
        std::fs::write(dir.join("prometheus.yml"), prometheus_config(pace, 9093)).unwrap();
        tool("promtool", &["check", "config", "prometheus.yml"], &dir);
        for webhook in [None, Some("http://127.0.0.1:9/hook".to_owned())] {
            let options = MonitorOptions { webhook, pace };
            std::fs::write(dir.join("alertmanager.yml"), alertmanager_config(&options)).unwrap();
            tool("amtool", &["check-config", "alertmanager.yml"], &dir);
        }
    }
}

#[test]
fn the_rules_and_dashboards_read_the_metrics_the_kernel_exports_and_prometheus_records() {
    // What `msa monitor check` looks up in a running Prometheus (the roaming end-to-end test runs
    // it); an expression the check could not read would make it pass vacuously.
    let manifest = systems::manifest("roaming").unwrap();
    let read: BTreeSet<String> = expressions(&manifest)
        .iter()
        .flat_map(|(_, expr)| promql::metric_names(expr))
        .collect();
    let read: Vec<&str> = read.iter().map(String::as_str).collect();
    assert_eq!(
        read,
        [
            "circuit_breaker_state",
            "consumer_lag",
            "dead_letters",
            "events_handled_total",
            "events_published_total",
            "http_request_duration_seconds_bucket",
            "http_requests_total",
            "outbox_backlog",
            "service_ready",
            "up",
        ]
    );
}
