use super::*;
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The Python tools of `scripts/k8s/requirements.txt` (scripts/test.sh installs them).
fn tool(name: &str) -> PathBuf {
    let path = root().join("target/pyvenv/bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: run `python3 -m venv target/pyvenv && target/pyvenv/bin/pip install -r \
         scripts/k8s/requirements.txt` (scripts/test.sh does)",
        path.display()
    );
    path
}

/// What is wrong with a set of objects by the rules of the issue: each Deployment probed,
/// rolled without losing capacity, drained after its endpoints are gone, with one autoscaler
/// (at most one replica on a SQLite file, at most the partitions for a consumer), a disruption
/// budget and a network policy.
fn problems(objects: &[Value], partitions: u64) -> Vec<String> {
    let mut problems = Vec::new();
    let of_kind = |kind: &'static str| objects.iter().filter(move |o| o["kind"] == kind);
    for deployment in of_kind("Deployment") {
        let name = deployment["metadata"]["name"].as_str().unwrap_or_default();
        let pod = &deployment["spec"]["template"]["spec"];
        let container = &pod["containers"][0];
        for probe in ["startupProbe", "livenessProbe", "readinessProbe"] {
            if container[probe].is_null() {
                problems.push(format!("{name} has no {probe}"));
            }
        }
        if container["livenessProbe"]["httpGet"]["path"] != "/health/live"
            || container["readinessProbe"]["httpGet"]["path"] != "/health/ready"
        {
            problems.push(format!("{name} probes the wrong paths"));
        }
        if deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] != 0 {
            problems.push(format!("{name} may lose capacity during a rollout"));
        }
        let pause = container["lifecycle"]["preStop"]["sleep"]["seconds"]
            .as_u64()
            .unwrap_or(0);
        let grace = pod["terminationGracePeriodSeconds"].as_u64().unwrap_or(0);
        if pause == 0 || grace * 1000 <= pause * 1000 + workload::DRAIN_MS + workload::SHUTDOWN_MS {
            problems.push(format!("{name} is killed before it drains"));
        }
        let scalers: Vec<&Value> = objects
            .iter()
            .filter(|o| {
                ["HorizontalPodAutoscaler", "ScaledObject"]
                    .contains(&o["kind"].as_str().unwrap_or(""))
                    && o["spec"]["scaleTargetRef"]["name"] == name
                    && o["metadata"]["namespace"] == deployment["metadata"]["namespace"]
            })
            .collect();
        let max = scalers
            .first()
            .map(|s| {
                s["spec"]["maxReplicas"]
                    .as_u64()
                    .or(s["spec"]["maxReplicaCount"].as_u64())
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        if scalers.len() != 1 {
            problems.push(format!("{name} has {} autoscalers", scalers.len()));
        } else if scalers[0]["kind"] == "ScaledObject" && max > partitions {
            problems.push(format!("{name} scales past the partitions"));
        }
        let sqlite = pod["volumes"]
            .as_array()
            .is_some_and(|v| v.iter().any(|v| v["persistentVolumeClaim"].is_object()));
        if sqlite && (max != 1 || deployment["spec"]["replicas"] != 1) {
            problems.push(format!(
                "{name} keeps a SQLite file but may run {max} replicas"
            ));
        }
        for kind in ["PodDisruptionBudget", "NetworkPolicy", "Service"] {
            let selects = |o: &&Value| {
                o["metadata"]["name"] == name
                    && o["metadata"]["namespace"] == deployment["metadata"]["namespace"]
            };
            if !of_kind(kind).any(|o| selects(&o)) {
                problems.push(format!("{name} has no {kind}"));
            }
        }
    }
    problems
}

#[test]
fn every_deployment_is_probed_drained_scaled_budgeted_and_fenced() {
    for system in systems::names().unwrap() {
        let plan = Plan::of(&system).unwrap();
        let mut objects = Vec::new();
        for unit in &plan.units {
            objects.extend(workload::objects(&plan, unit));
            objects.push(network::policy(&plan, unit));
        }
        let problems = problems(&objects, plan.manifest.partitions.into());
        assert!(problems.is_empty(), "{system}: {problems:#?}");
        let services = objects
            .iter()
            .filter(|o| o["kind"] == "Service" && o["spec"]["type"] == "LoadBalancer");
        assert_eq!(services.count(), 1, "{system}: only the gateway is exposed");
    }
}

#[test]
fn a_deployment_without_a_probe_or_with_a_second_replica_on_sqlite_is_reported() {
    let plan = Plan::of("roaming").unwrap();
    let rental = plan.units.iter().find(|u| u.name == "rental").unwrap();
    assert_eq!(rental.store, Store::Sqlite);
    let mut objects = workload::objects(&plan, rental);
    objects.push(network::policy(&plan, rental));
    assert!(problems(&objects, 8).is_empty());
    let deployment = objects
        .iter_mut()
        .find(|o| o["kind"] == "Deployment")
        .unwrap();
    let container = &mut deployment["spec"]["template"]["spec"]["containers"][0];
    container.as_object_mut().unwrap().remove("livenessProbe");
    deployment["spec"]["replicas"] = json!(2);
    let found = problems(&objects, 8);
    assert!(
        found.iter().any(|p| p.contains("no livenessProbe")),
        "{found:?}"
    );
    assert!(found.iter().any(|p| p.contains("SQLite")), "{found:?}");
}

#[test]
fn event_consumers_scale_on_their_partitions_lag_and_the_others_on_cpu() {
    let plan = Plan::of("roaming").unwrap();
    let unit = |name: &str| plan.units.iter().find(|u| u.name == name).unwrap();
    let customer = workload::objects(&plan, unit("customer"));
    let scaler = customer
        .iter()
        .find(|o| o["kind"] == "ScaledObject")
        .unwrap();
    let triggers = scaler["spec"]["triggers"].as_array().unwrap();
    assert_eq!(triggers[0]["type"], "cpu");
    assert_eq!(triggers.len(), 1 + 8, "one lag trigger per partition");
    assert_eq!(triggers[8]["metadata"]["consumer"], "roaming_customer_p07");
    assert_eq!(triggers[1]["metadata"]["stream"], "ROAMING");
    assert_eq!(scaler["spec"]["maxReplicaCount"], 8);
    let gateway = workload::objects(&plan, unit("gateway"));
    assert!(
        gateway
            .iter()
            .any(|o| o["kind"] == "HorizontalPodAutoscaler")
    );
    // Reservation calls payment: payment admits it, and it may reach payment.
    let payment = network::policy(&plan, unit("payment"));
    assert!(
        payment
            .to_string()
            .contains(r#""app.kubernetes.io/name":"reservation""#)
    );
    let reservation = network::policy(&plan, unit("reservation"));
    assert!(
        reservation["spec"]["egress"]
            .to_string()
            .contains("payment")
    );
    assert!(
        !network::policy(&plan, unit("customer"))
            .to_string()
            .contains("reservation")
    );
}

#[test]
fn every_deployment_gets_the_settings_msa_serve_reads_and_nothing_secret() {
    for system in systems::names().unwrap() {
        let plan = Plan::of(&system).unwrap();
        let data = systems::system_data(DATA_DIR, &system);
        for unit in &plan.units {
            let env = workload::settings(&plan, unit);
            for (key, value) in &env {
                assert!(
                    !value.contains('@') && !key.contains("SECRET") && !key.contains("PASSWORD"),
                    "{system}/{}: {key} looks secret",
                    unit.name
                );
            }
            let defaults = systems::defaults(&plan.manifest, &unit.name, &data, 0, "prod").unwrap();
            // The Secret's settings.toml, as the README tells operators to write it.
            let secret = if unit.gateway {
                "[auth.embedded_issuer]\nops_client_secret = \"s\"\n"
            } else {
                "[store]\nurl = \"postgres://msa:pw@db.example.com:5432/x\"\n"
            };
            let layers = kernel::config::Layers::from_toml(&defaults)
                .unwrap()
                .with_toml(secret)
                .unwrap()
                .with_vars(env.clone());
            let settings: kernel::ServiceSettings = if unit.gateway {
                let settings: gateway::Settings = layers.build().unwrap();
                assert_eq!(settings.upstreams.len(), plan.units.len() - 1);
                assert!(!settings.auth.embedded_issuer.generate_key);
                settings.service
            } else {
                layers.build().unwrap()
            };
            assert_eq!(settings.http.host, "0.0.0.0");
            assert_eq!(settings.http.port, unit.port);
            assert!(settings.discovery.registry().is_none());
            if !unit.gateway {
                assert_eq!(settings.bus.url, "nats://nats:4222");
            }
            assert_eq!(
                env.contains_key("MSA_CONFIG"),
                unit.has_secret(),
                "{system}/{}",
                unit.name
            );
        }
    }
}

/// Renders every system's trees into `target/deploy-render/`, and returns them by directory.
fn render_all() -> Vec<(PathBuf, BTreeMap<PathBuf, String>)> {
    let base = root().join("target/deploy-render");
    let _ = std::fs::remove_dir_all(&base);
    let mut trees = Vec::new();
    for system in systems::names().unwrap() {
        for profile in PROFILES {
            let files = render(&system, profile).unwrap();
            let dir = Path::new(&system).join(profile);
            write_tree(&base.join(&dir), &files).unwrap();
            trees.push((dir, files));
        }
    }
    trees
}

#[test]
fn the_committed_trees_are_current_and_validate_against_the_schemas_and_checkov() {
    let trees = render_all();
    let mut stale = Vec::new();
    for (dir, files) in &trees {
        let committed = root().join("deploy").join(dir);
        for (path, text) in files {
            if std::fs::read_to_string(committed.join(path))
                .ok()
                .as_deref()
                != Some(text)
            {
                stale.push(committed.join(path).display().to_string());
            }
        }
        for entry in std::fs::read_dir(&committed)
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = PathBuf::from(entry.file_name());
            if entry.path().is_file() && !files.contains_key(&name) {
                stale.push(format!("{} (no longer rendered)", entry.path().display()));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "the committed deploy/ tree differs from what render produces: {stale:#?}; refresh it with \
         `cargo run -p msa -- deploy render --system all --profile prod && cargo run -p msa -- \
         deploy render --system all --profile embedded` and commit it"
    );
    let rendered = root().join("target/deploy-render");
    let output = Command::new(tool("python"))
        .arg(root().join("scripts/k8s/validate.py"))
        .arg(&rendered)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{report}");
    assert!(report.contains(" 0 invalid"), "{report}");
    let output = Command::new(tool("checkov"))
        .args([
            "--framework",
            "kubernetes",
            "--quiet",
            "--compact",
            "--skip-download",
        ])
        .arg("-d")
        .arg(&rendered)
        .env("CHECKOV_RUN_SCA_PACKAGE_SCAN_V2", "false")
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "checkov failed checks:\n{report}");
    for (_, files) in &trees {
        for text in files.values() {
            for line in text.lines().filter(|l| l.contains("checkov.io/skip")) {
                let reason = line
                    .split_once('=')
                    .map_or("", |(_, r)| r.trim_matches('"'));
                assert!(
                    reason.len() > 20,
                    "a skip without its justification: {line}"
                );
            }
        }
    }
}

#[test]
fn nothing_secret_is_rendered_and_the_secrets_are_generated_from_untracked_files() {
    let files = render("roaming", "prod").unwrap();
    let kustomization = &files[Path::new("kustomization.yaml")];
    assert!(kustomization.contains("signing-key.pem=secrets/gateway/signing-key.pem"));
    assert!(kustomization.contains("settings.toml=secrets/reservation/settings.toml"));
    assert!(
        !kustomization.contains("secrets/rental/"),
        "rental's store is a file"
    );
    for text in files.values() {
        assert!(!text.contains("kind: Secret"), "{text}");
        assert!(!text.contains("BEGIN PRIVATE KEY"));
        assert!(
            !text.contains("postgres://"),
            "a database URL belongs in the Secret"
        );
    }
    let ignored = std::fs::read_to_string(root().join("deploy/.gitignore")).unwrap();
    assert!(ignored.lines().any(|l| l.trim() == "secrets/"), "{ignored}");
}
