#!/usr/bin/env bash
# The test command. On a fresh Debian machine it installs and starts what the tests talk to
# (NATS with JetStream, PostgreSQL, MariaDB, Redis) when nothing answers on their usual ports,
# Chromium for the browser tests, Node's AsyncAPI parser for the generated AsyncAPI documents,
# podman for the container test, Prometheus and Alertmanager for the monitoring test, and Python
# venvs for the offline Kubernetes validators and the API fuzzer; then checks formatting and lints,
# and runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }
answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
  echo "need root to run: $*" >&2; return 1; fi; }
wait_for() { for _ in $(seq 1 100); do answers "$1" && return 0; sleep 0.2; done
  echo "nothing answers on 127.0.0.1:$1" >&2; return 1; }
apt_install() { log "installing $*"; as_root apt-get update -qq >/dev/null; \
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null; }

ensure_nats() {
  answers 4222 && return 0
  command -v nats-server >/dev/null || apt_install nats-server
  local store; store="$(mktemp -d /tmp/msa-nats.XXXXXX)"
  log "starting nats-server with JetStream on 127.0.0.1:4222 (store $store)"
  nats-server -a 127.0.0.1 -p 4222 -js -sd "$store" -l "$store/nats.log" &
  disown
  wait_for 4222
}

ensure_postgres() {
  answers 5432 && return 0
  command -v pg_ctlcluster >/dev/null || apt_install postgresql
  local version; version="$(ls /etc/postgresql | sort -V | tail -1)"
  local hba="/etc/postgresql/$version/main/pg_hba.conf"
  # Tests connect over TCP as postgres without a password, as on the development machines.
  if ! as_root grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
    as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  fi
  log "starting PostgreSQL $version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
  wait_for 5432
}

ensure_mariadb() {
  answers 3306 && return 0
  command -v mariadbd >/dev/null || apt_install mariadb-server
  log "starting MariaDB"
  as_root mkdir -p /run/mysqld && as_root chown mysql:mysql /run/mysqld
  as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  wait_for 3306
  # root over TCP with an empty password, as on the development machines.
  as_root mariadb -e "ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('')" || true
}

ensure_redis() {
  answers 6379 && return 0
  command -v redis-server >/dev/null || apt_install redis-server
  log "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  wait_for 6379
}

ensure_browser() {
  if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] && fc-list 2>/dev/null | grep -qi nanum; then
    return 0
  fi
  # Headless Chromium and its WebDriver for the UI tests, and Korean fonts for their screenshots.
  apt_install chromium chromium-driver fonts-nanum
}

ensure_asyncapi_parser() {
  # The AsyncAPI initiative's parser validates the generated AsyncAPI documents (test-time only).
  command -v npm >/dev/null || apt_install nodejs npm
  [ -d scripts/asyncapi/node_modules/@asyncapi/parser ] && return 0
  log "installing the AsyncAPI parser (scripts/asyncapi)"
  npm ci --prefix scripts/asyncapi --no-audit --no-fund --ignore-scripts >/dev/null
}

ensure_venv() {
  # A Python virtual environment $1 with the pinned requirements $2, installed again when the pins
  # change; $3 is the tool that shows it is there, $4 what it is for.
  local venv=$1 requirements=$2 marker=$3
  if [ -x "$venv/bin/$marker" ] && cmp -s "$requirements" "$venv/requirements.txt"; then
    return 0
  fi
  [ -x "$venv/bin/pip" ] || python3 -m venv "$venv" 2>/dev/null ||
    { rm -rf "$venv"; apt_install python3-venv; python3 -m venv "$venv"; }
  log "installing $4 ($requirements)"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$venv/requirements.txt"
}

ensure_k8s_tools() {
  # kubernetes-validate, checkov and the KEDA / prometheus-operator CRD models validate the rendered
  # Kubernetes manifests offline (scripts/k8s/, test-time only).
  ensure_venv target/pyvenv scripts/k8s/requirements.txt checkov "the Kubernetes manifest validators"
}

ensure_fuzz_tools() {
  # schemathesis fuzzes each system's API through its gateway (crates/cli/tests/fuzz.rs, test-time
  # only), in a virtual environment of its own so that its pins and the validators' never meet.
  ensure_venv target/fuzzvenv scripts/fuzz/requirements.txt schemathesis "the API fuzzer"
}

ensure_prometheus() {
  # Prometheus, promtool, Alertmanager and amtool for the alerting rules' tests and `msa up
  # --monitor`; the tests start their own on free ports, so Debian's services stay stopped.
  command -v promtool >/dev/null && command -v prometheus-alertmanager >/dev/null && return 0
  apt_install prometheus prometheus-alertmanager
  # Where systemd runs, the packages start their services: stop what was just installed.
  if command -v systemctl >/dev/null; then
    as_root systemctl disable --now prometheus prometheus-alertmanager prometheus-node-exporter \
      >/dev/null 2>&1 || true
  fi
}

ensure_podman() {
  # Podman runs roaming's embedded Pod from the image (crates/cli/tests/roaming/podman.rs) with
  # runc, as deploy/podman/containers.conf says: its default crun refuses these hybrid cgroups.
  command -v podman >/dev/null && command -v runc >/dev/null && return 0
  apt_install podman runc
}

ensure_nats
ensure_prometheus
ensure_asyncapi_parser
ensure_k8s_tools
ensure_fuzz_tools
ensure_podman
ensure_browser
ensure_postgres
ensure_mariadb
ensure_redis

log "format"
cargo fmt --all -- --check
log "lints"
cargo clippy --workspace --all-targets --locked -- -D warnings
log "tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --profile "${NEXTEST_PROFILE:-default}"
else
  cargo test --workspace --locked
fi
