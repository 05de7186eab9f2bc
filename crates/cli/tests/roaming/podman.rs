//! Roaming in containers, as the README runs it: the image built from this binary
//! (`scripts/image.sh`), the embedded profile's Pod (`deploy/roaming/embedded/pod.yaml`) played by
//! Debian's podman (`podman kube play`), a reservation through the containerised gateway, and a
//! container whose liveness fails restarted by podman's health check.
//!
//! Podman schedules health checks with systemd timers, which these machines lack (no systemd as
//! PID 1), so the test runs them itself with `podman healthcheck run`. The Pod, its volume and
//! the image get names of their own, and the gateway a free port on 127.0.0.1, so that runs never
//! collide; a guard takes everything down, also when the test fails.

use crate::helpers::{APPROVED_CARD, MSA, PATIENCE, reservation_request};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use testkit::eventually;
use testkit::ports::Port;
use testkit::{TempDir, unique_name};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `podman <args>` with this machine's settings (`deploy/podman/containers.conf`) unless the
/// environment names others.
fn podman(args: &[&str], dir: &Path) -> Output {
    let mut command = Command::new("podman");
    command.args(args).current_dir(dir);
    if std::env::var_os("CONTAINERS_CONF").is_none() {
        command.env(
            "CONTAINERS_CONF",
            root().join("deploy/podman/containers.conf"),
        );
    }
    command.output().unwrap_or_else(|error| {
        panic!("cannot run podman ({error}): install it with `apt-get install podman runc` (scripts/test.sh does)")
    })
}

/// `podman <args>`, which must succeed; its standard output.
fn podman_ok(args: &[&str], dir: &Path) -> String {
    let output = podman(args, dir);
    assert!(
        output.status.success(),
        "podman {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// `text` with `from` replaced by `to`, where `from` occurs `times` times.
fn replaced(text: &str, from: &str, to: &str, times: usize) -> String {
    assert_eq!(text.matches(from).count(), times, "{from:?} in the Pod");
    text.replace(from, to)
}

/// Roaming's Pod as `podman kube play` runs it, under its own names; takes it all down on drop.
struct PlayedPod {
    dir: TempDir,
    name: String,
    image: String,
    port: Port,
}

impl PlayedPod {
    /// Builds the image from this binary and plays the committed Pod with it.
    fn play() -> Self {
        let dir = TempDir::new("podman");
        let name = unique_name("msa-podman").replace('_', "-");
        let image = format!("localhost/msa:{name}");
        let port = Port::take();
        let pod = Self {
            dir,
            name,
            image,
            port,
        };
        let started = Instant::now();
        let built = Command::new(root().join("scripts/image.sh"))
            .args(["--binary", MSA, "--tag", &pod.image])
            .output()
            .unwrap();
        assert!(
            built.status.success(),
            "scripts/image.sh failed: {}",
            String::from_utf8_lossy(&built.stderr)
        );
        eprintln!(
            "{} in {} ms",
            String::from_utf8_lossy(&built.stdout).trim(),
            started.elapsed().as_millis()
        );

        let committed =
            std::fs::read_to_string(root().join("deploy/roaming/embedded/pod.yaml")).unwrap();
        let containers = committed.matches("image: localhost/msa:").count();
        assert_eq!(containers, 5, "the gateway and four services");
        let yaml = replaced(
            &committed,
            concat!("image: localhost/msa:", env!("CARGO_PKG_VERSION")),
            &format!("image: {}", pod.image),
            containers,
        );
        let yaml = replaced(
            &yaml,
            "\n  name: roaming\n",
            &format!("\n  name: {}\n", pod.name),
            1,
        );
        let yaml = replaced(
            &yaml,
            "claimName: roaming-data",
            &format!("claimName: {}", pod.volume()),
            1,
        );
        // Published on 127.0.0.1 only, at a port no other test takes.
        let yaml = replaced(
            &yaml,
            "          hostPort: 8080\n",
            &format!(
                "          hostIP: 127.0.0.1\n          hostPort: {}\n",
                pod.port.number()
            ),
            1,
        );
        std::fs::write(pod.dir.path().join("pod.yaml"), yaml).unwrap();
        let started = Instant::now();
        podman_ok(&["kube", "play", "pod.yaml"], pod.dir.path());
        eprintln!("podman kube play in {} ms", started.elapsed().as_millis());
        pod
    }

    fn volume(&self) -> String {
        format!("{}-data", self.name)
    }

    fn gateway(&self) -> String {
        format!("http://127.0.0.1:{}", self.port.number())
    }

    fn container(&self, service: &str) -> String {
        format!("{}-{service}", self.name)
    }

    /// The `msa-ops` client secret the gateway generated onto the volume.
    fn ops_secret(&self) -> Option<String> {
        let mountpoint = podman_ok(
            &[
                "volume",
                "inspect",
                "--format",
                "{{.Mountpoint}}",
                &self.volume(),
            ],
            self.dir.path(),
        );
        std::fs::read_to_string(Path::new(&mountpoint).join("roaming/auth/ops-client-secret"))
            .ok()
            .map(|secret| secret.trim().to_owned())
            .filter(|secret| !secret.is_empty())
    }

    /// How often podman started the service's container, and when it last did.
    fn starts(&self, service: &str) -> (u64, String) {
        let state = podman_ok(
            &[
                "inspect",
                "--format",
                "{{.RestartCount}} {{.State.StartedAt}}",
                &self.container(service),
            ],
            self.dir.path(),
        );
        let (count, started) = state.split_once(' ').unwrap();
        (count.parse().unwrap(), started.to_owned())
    }
}

impl Drop for PlayedPod {
    fn drop(&mut self) {
        let started = Instant::now();
        let down = podman(&["kube", "down", "pod.yaml"], self.dir.path());
        podman(
            &["volume", "rm", "--force", &self.volume()],
            self.dir.path(),
        );
        podman(&["rmi", "--force", &self.image], self.dir.path());
        eprintln!(
            "podman kube down in {} ms{}",
            started.elapsed().as_millis(),
            if down.status.success() {
                ""
            } else {
                " (failed)"
            }
        );
    }
}

/// The operator's token, once the gateway answers (it writes the secret before it listens).
async fn operator_token(client: &reqwest::Client, pod: &PlayedPod) -> String {
    eventually(PATIENCE, "the containerised gateway answers", || async {
        let response = client
            .get(format!("{}/health/ready", pod.gateway()))
            .send()
            .await
            .ok()?;
        response.status().is_success().then_some(())
    })
    .await;
    let secret = eventually(
        PATIENCE,
        "the gateway's generated client secret",
        || async { pod.ops_secret() },
    )
    .await;
    let response = client
        .post(format!("{}/oauth2/token", pod.gateway()))
        .basic_auth("msa-ops", Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    response.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Reserves for `customer` through the gateway and waits until my page shows the reservation
/// reserved, paid and accepted by the booth.
async fn reserve_and_see_it_on_my_page(
    client: &reqwest::Client,
    pod: &PlayedPod,
    token: &str,
    customer: &str,
) {
    let (status, body) = eventually(PATIENCE, "a reservation through the gateway", || async {
        let response = client
            .post(format!("{}/api/reservations", pod.gateway()))
            .bearer_auth(token)
            .json(&reservation_request(customer, APPROVED_CARD))
            .send()
            .await
            .ok()?;
        let status = response.status().as_u16();
        // The gateway refuses with 502 / 503 while the service it routes to is (re)starting.
        (![502, 503].contains(&status)).then_some((status, response.json::<Value>().await.ok()?))
    })
    .await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    eventually(PATIENCE, &format!("my page of {id}"), || async {
        let page: Value = client
            .get(format!("{}/api/mypage/reservations/{id}", pod.gateway()))
            .bearer_auth(token)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (page["reservationStatus"] == "Reserved"
            && page["paymentStatus"] == "Approved"
            && page["rentalStatus"] == "Accepted")
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn roaming_runs_in_podman_from_the_image_and_a_container_that_is_no_longer_live_is_restarted()
{
    let started = Instant::now();
    let pod = PlayedPod::play();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let token = operator_token(&client, &pod).await;
    eventually(PATIENCE, "every service up behind the gateway", || async {
        let system: Value = client
            .get(format!("{}/api/admin/system", pod.gateway()))
            .bearer_auth(&token)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        let services = system["services"].as_array()?;
        (services.len() == 4 && services.iter().all(|s| s["up"] == true)).then_some(())
    })
    .await;
    eprintln!(
        "roaming ready in containers after {} ms",
        started.elapsed().as_millis()
    );
    reserve_and_see_it_on_my_page(&client, &pod, &token, "podman-kim").await;
    eprintln!(
        "a reservation on my page after {} ms",
        started.elapsed().as_millis()
    );

    // The liveness probe as podman runs it (through the image's /bin/sh) passes while the
    // service answers.
    let reservation = pod.container("reservation");
    let check = podman(&["healthcheck", "run", &reservation], pod.dir.path());
    assert!(
        check.status.success(),
        "a live service passes its health check: {}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let before = pod.starts("reservation");

    // A hung process: it keeps its socket, so connections are accepted, but it never answers.
    let hung = Instant::now();
    podman_ok(&["kill", "--signal", "STOP", &reservation], pod.dir.path());
    let mut checks = 0;
    eventually(
        Duration::from_secs(90),
        "podman restarts the hung reservation container",
        || {
            checks += 1;
            let _ = podman(&["healthcheck", "run", &reservation], pod.dir.path());
            let now = pod.starts("reservation");
            std::future::ready((now != before).then_some(()))
        },
    )
    .await;
    eprintln!(
        "restarted after {checks} health checks in {} ms",
        hung.elapsed().as_millis()
    );
    reserve_and_see_it_on_my_page(&client, &pod, &token, "podman-lee").await;
    eprintln!(
        "the restarted system works; {} ms in all before podman kube down",
        started.elapsed().as_millis()
    );
}
