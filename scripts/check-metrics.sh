#!/usr/bin/env bash
# Starts the platform with `npm start` (embedded defaults, a throw-away DATA_DIR, ports of its own
# so it clashes with nothing), sends a few requests through the gateway so the counters and
# histograms have series, and lints each live /metrics with `promtool check metrics`
# (Debian package `prometheus`). Stops the platform on every exit path.
#
# promtool's one finding we accept: prom-client's default gauges nodejs_active_{handles,requests,
# resources}_total carry a `_total` suffix meant for counters (prometheus/client_js#283). Any other
# finding, a parse error, an empty answer or a missing RED histogram fails the run.
#
# Usage: bash scripts/check-metrics.sh
set -euo pipefail
cd "$(dirname "$0")/.."

GATEWAY_TLS_PORT=18443
GATEWAY_ADMIN_PORT=19090
# name:port of every /metrics that must pass: the gateway's admin port and every service.
TARGETS=("gateway-admin:${GATEWAY_ADMIN_PORT}" "auth:14001" "license:14002" "payments:14003" "audit:14004" "notification:14005")
# Domain metric families each service must export: the alert rules and the dashboard in infra/
# read them (docs/operations.md, "Metrics"), so a rename must fail here, not silence an alert.
declare -A DOMAIN_METRICS=(
  [auth]="auth_logins_total auth_refresh_reuse_detected_total outbox_lag_seconds"
  [license]="license_activations_total outbox_lag_seconds bus_dlq_messages bus_consumer_redeliveries_total"
  [payments]="payments_webhooks_total outbox_lag_seconds"
  [audit]="outbox_lag_seconds bus_dlq_messages bus_consumer_redeliveries_total"
  [notification]="bus_dlq_messages bus_consumer_redeliveries_total"
)
ACCEPTED_LINT='^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$'
START_TIMEOUT_S=180

data_dir=$(mktemp -d)
pid=""
stop_platform() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    # The whole process group (npm, tsx, node) that setsid gave the platform, and only it.
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -rf "$data_dir"
}
trap stop_platform EXIT
trap 'exit 130' INT TERM

echo "::: starting the platform (npm start, DATA_DIR=$data_dir) to lint its /metrics"
# Embedded PGlite, store and broker: the check is about the exposition format, and CI's shared
# servers keep the test data they were given.
env -u DATABASE_URL -u REDIS_URL -u AMQP_URL \
  DATA_DIR="$data_dir" LOG_LEVEL=warn \
  GATEWAY_PORT=$GATEWAY_TLS_PORT GATEWAY_HTTP_PORT=18080 GATEWAY_ADMIN_PORT=$GATEWAY_ADMIN_PORT \
  AUTH_PORT=14001 LICENSE_PORT=14002 PAYMENTS_PORT=14003 AUDIT_PORT=14004 NOTIFICATION_PORT=14005 \
  setsid npm start >"$data_dir/platform.log" 2>&1 </dev/null &
pid=$!

deadline=$((SECONDS + START_TIMEOUT_S))
until curl -fs --max-time 2 -o /dev/null "http://127.0.0.1:${GATEWAY_ADMIN_PORT}/readyz"; do
  if ! kill -0 "$pid" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
    echo "the platform did not become ready within ${START_TIMEOUT_S} s; its output:" >&2
    cat "$data_dir/platform.log" >&2
    exit 1
  fi
  sleep 1
done

# A few requests through the gateway: a GET to each service, a bad token (token check counter), a failed
# login (the services' RED series and their domain counters).
gateway="https://localhost:${GATEWAY_TLS_PORT}"
tls=(--cacert "$data_dir/tls/ca.pem" --max-time 10 -s -o /dev/null)
curl "${tls[@]}" "$gateway/.well-known/jwks.json"
for path in /licenses/.well-known/jwks.json /payments/plans /audit/.well-known/jwks.json /notifications/deliveries; do
  curl "${tls[@]}" "$gateway$path"
done
curl "${tls[@]}" -H 'authorization: Bearer not-a-token' "$gateway/auth/me"
curl "${tls[@]}" -H 'content-type: application/json' \
  -d '{"email":"metrics-check@example.com","password":"not the password"}' "$gateway/auth/login"

check_metrics() { # name port → 0 valid, 1 invalid
  local name=$1 port=$2 body findings status=0
  body=$(curl -fsS --max-time 5 "http://127.0.0.1:${port}/metrics") || {
    echo "$name: GET /metrics on :$port failed" >&2
    return 1
  }
  if ! grep -q '^http_request_duration_seconds_bucket{' <<<"$body"; then
    echo "$name: /metrics on :$port has no http_request_duration_seconds series" >&2
    return 1
  fi
  findings=$(promtool check metrics <<<"$body" 2>&1) || status=$?
  if [ "$status" -ne 0 ] && [ "$status" -ne 3 ]; then
    echo "$name: promtool could not parse /metrics on :$port: $findings" >&2
    return 1
  fi
  findings=$(grep -Ev "$ACCEPTED_LINT" <<<"$findings" | grep -v '^$' || true)
  if [ -n "$findings" ]; then
    echo "$name: promtool check metrics on :$port:" >&2
    echo "$findings" >&2
    return 1
  fi
  local family missing=""
  for family in ${DOMAIN_METRICS[$name]:-}; do
    grep -q "^# TYPE ${family} " <<<"$body" || missing="$missing $family"
  done
  if [ -n "$missing" ]; then
    echo "$name: /metrics on :$port lacks the domain metrics:$missing" >&2
    return 1
  fi
  echo "::: $name /metrics (:$port) passes promtool check metrics"
}

failed=0
for target in "${TARGETS[@]}"; do
  check_metrics "${target%%:*}" "${target##*:}" || failed=1
done
exit $failed
