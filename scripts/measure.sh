#!/usr/bin/env bash
# Measures a system through its gateway, on the embedded and the prod profile in one run: `oha`
# at a fixed rate against its main command (roaming: POST /api/reservations; booking: POST
# /api/bookings on the arena night), the same against its public catalog as the bound (what the
# gateway and one service cost with no store write, no payment call, no event), and for roaming
# `msa bench reserve` for the lag from reserve to my page and the CPU per reservation, and on the
# prod profile pgbench running one reservation's SQL (scripts/pgbench/reservation.sql) as the
# bound of the PostgreSQL part.
#
#   scripts/measure.sh                 # SYSTEM=roaming RATE=100 DURATION=20 PROFILES="embedded prod"
#   SYSTEM=booking scripts/measure.sh
#
# The prod profile needs PostgreSQL, MariaDB, Redis and NATS on this machine (scripts/test.sh
# starts them). Ports are moved by PORT_OFFSET (default 2000) so a running `msa up` is untouched.
set -euo pipefail
cd "$(dirname "$0")/.."

SYSTEM="${SYSTEM:-roaming}"
RATE="${RATE:-100}"
DURATION="${DURATION:-20}"
PROFILES="${PROFILES:-embedded prod}"
OFFSET="${PORT_OFFSET:-2000}"
case "$SYSTEM" in
  roaming) BASE=8080; BOUND=/api/catalog; COMMAND=/api/reservations ;;
  booking) BASE=8180; BOUND=/api/musicals; COMMAND=/api/bookings ;;
  *) echo "SYSTEM is roaming or booking" >&2; exit 2 ;;
esac
GATEWAY="http://127.0.0.1:$((BASE + OFFSET))"

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }

cargo build --release --locked -q -p msa
if ! command -v oha >/dev/null; then
  log "installing oha (cargo install)"
  cargo install oha --locked -q
fi
msa="$PWD/target/release/msa"

ready() {
  for port in $(seq "$BASE" $((BASE + 4))); do
    curl -sf "http://127.0.0.1:$((port + OFFSET))/health/ready" >/dev/null || return 1
  done
}

for profile in $PROFILES; do
  data="$(mktemp -d /tmp/msa-measure.XXXXXX)"
  log "$profile: msa up (data $data, gateway $GATEWAY)"
  "$msa" --data "$data" up --system "$SYSTEM" --profile "$profile" --port-offset "$OFFSET" >"$data/up.log" 2>&1 &
  up=$!
  trap 'kill -INT $up 2>/dev/null || true' EXIT
  for _ in $(seq 1 300); do ready && break; sleep 0.2; done
  ready || { cat "$data/up.log"; echo "the system did not get ready" >&2; exit 1; }

  token="$(curl -sf "$GATEWAY/oauth2/token" -u "msa-ops:$(cat "$data/$SYSTEM/auth/ops-client-secret")" \
    -d grant_type=client_credentials | sed -E 's/.*"access_token":"([^"]+)".*/\1/')"
  from="$(date -d '+30 days' +%F)"; to="$(date -d '+34 days' +%F)"
  body='{"customerId":"measure","deviceModel":"galaxy-s24","country":"JP","rentalDate":"'$from'","returnDate":"'$to'","booth":"ICN-T1","cardNumber":"4242424242424242"}'
  if [ "$SYSTEM" = booking ]; then
    body='{"customerId":"measure","musicalId":"elisabeth","performanceId":"elisabeth-2030-05-01","grade":"S","quantity":1,"deliveryAddress":"서울시 종로구 1","phone":"010-1234-5678","cardNumber":"4242424242424242"}'
  fi

  log "$profile: bound, GET $BOUND at $RATE/s for ${DURATION}s"
  oha --no-tui -z "${DURATION}s" -q "$RATE" "$GATEWAY$BOUND" \
    | grep -E 'Success rate|Requests/sec|50.00%|90.00%|99.00%|99.90%|^ *\[[0-9]{3}\] '
  log "$profile: POST $COMMAND at $RATE/s for ${DURATION}s"
  oha --no-tui -z "${DURATION}s" -q "$RATE" -m POST -H "authorization: Bearer $token" \
    -T application/json -d "$body" "$GATEWAY$COMMAND" \
    | grep -E 'Success rate|Requests/sec|50.00%|90.00%|99.00%|99.90%|^ *\[[0-9]{3}\] '
  if [ "$SYSTEM" = roaming ]; then
    log "$profile: msa bench reserve (latency and reserve → my page lag)"
    MSA_TOKEN="$token" "$msa" bench reserve --data "$data" --gateway "$GATEWAY" --rate "$RATE" --duration 10
  fi
  if [ "$SYSTEM" = roaming ] && [ "$profile" = prod ]; then
    # The bound for the prod profile: the reservation service's own SQL (scripts/pgbench/
    # reservation.sql: its statements and commits per reservation) on the same PostgreSQL, in a
    # scratch database with the service's tables, as fast as 4 clients go and at the same rate.
    scratch="msa_pgbench_$$"
    pg=(-U postgres -h 127.0.0.1)
    psql "${pg[@]}" -qc "DROP DATABASE IF EXISTS $scratch" -c "CREATE DATABASE $scratch" 2>/dev/null
    pg_dump "${pg[@]}" -s -t msa_aggregates -t msa_keys -t msa_outbox msa_roaming_reservation \
      | psql "${pg[@]}" -q "$scratch" >/dev/null
    log "prod: bound, pgbench of one reservation's SQL, 4 clients, as fast as it goes for ${DURATION}s"
    pgbench "${pg[@]}" -n -M prepared -f scripts/pgbench/reservation.sql -c 4 -j 1 -T "$DURATION" "$scratch" \
      | grep -E '^(tps|latency average|number of failed)'
    log "prod: bound at $RATE reservations/s"
    pgbench "${pg[@]}" -n -M prepared -f scripts/pgbench/reservation.sql -c 4 -j 1 -T "$DURATION" -R "$RATE" "$scratch" \
      | grep -E '^(tps|latency average|latency stddev|number of failed)'
    psql "${pg[@]}" -qc "DROP DATABASE $scratch"
  fi

  kill -INT "$up"
  wait "$up" || true
  trap - EXIT
done
