#!/usr/bin/env bash
# demo.sh - Ferry's main job end to end: start mosquitto and Kafka, run Ferry with
# examples/demo.yaml, publish uplinks from a simulated The Things Stack and ChirpStack,
# print the envelopes consumed from Kafka, stop everything. Called by `make demo`.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${FERRY_BUILD_DIR:-$top/build}
count=${FERRY_DEMO_COUNT:-48}
export FERRY_SERVICES_DIR=${FERRY_SERVICES_DIR:-/tmp/ferry-demo-services}
export FERRY_DEMO_DIR=$(mktemp -d /tmp/ferry-demo.XXXXXX)
ferry_pid=

cleanup() {
    if [ -n "$ferry_pid" ] && kill -0 "$ferry_pid" 2>/dev/null; then
        kill -TERM "$ferry_pid" 2>/dev/null || true
        wait "$ferry_pid" 2>/dev/null || true
    fi
    "$top/scripts/services" down >/dev/null 2>&1 || true
}
trap cleanup EXIT

step() { printf '\n==> %s\n' "$*"; }

step "starting mosquitto and Kafka (first run downloads the Kafka jars from Maven Central)"
eval "$("$top/scripts/services" up)"
echo "MQTT  $FERRY_MQTT_URL"
echo "Kafka $FERRY_KAFKA_BROKERS"

step "checking examples/demo.yaml"
"$build/ferry" check -c "$top/examples/demo.yaml"

step "starting ferry"
"$build/ferry" run -c "$top/examples/demo.yaml" 2> "$FERRY_DEMO_DIR/ferry.log" &
ferry_pid=$!
for _ in $(seq 1 100); do
    grep -q "running:" "$FERRY_DEMO_DIR/ferry.log" && break
    kill -0 "$ferry_pid" 2>/dev/null || { cat "$FERRY_DEMO_DIR/ferry.log"; exit 1; }
    sleep 0.1
done
grep -q "running:" "$FERRY_DEMO_DIR/ferry.log" || { cat "$FERRY_DEMO_DIR/ferry.log"; exit 1; }
sed 's/^/  ferry| /' "$FERRY_DEMO_DIR/ferry.log"

step "publishing $count uplinks (half The Things Stack v3, half ChirpStack v4) at QoS 1"
"$build/bench/bench_loadgen" --url "$FERRY_MQTT_URL" --count "$count" --qos 1 \
    --devices 6 --format mixed --rate 200

step "envelopes consumed from Kafka topic ferry.demo.uplinks"
got=
for _ in $(seq 1 30); do
    got=$(timeout 60 kcat -C -b "$FERRY_KAFKA_BROKERS" -t ferry.demo.uplinks -o beginning \
          -c "$count" -e -q -f 'key=%k partition=%p headers=%h\n%s\n' 2>/dev/null || true)
    [ "$(printf '%s\n' "$got" | grep -c '"event_type"' || true)" -ge "$count" ] && break
    sleep 1
done
printf '%s\n' "$got" | head -n 12
echo "  ..."
n=$(printf '%s\n' "$got" | grep -c '"event_type"' || true)

step "stopping ferry (SIGTERM: flush, record cursors, exit 0)"
kill -TERM "$ferry_pid"
rc=0
wait "$ferry_pid" || rc=$?
ferry_pid=
tail -n 3 "$FERRY_DEMO_DIR/ferry.log" | sed 's/^/  ferry| /'

echo
if [ "$n" -eq "$count" ] && [ "$rc" -eq 0 ]; then
    echo "demo OK: $n of $count uplinks arrived in Kafka as envelopes; ferry exited $rc"
    rm -rf "$FERRY_DEMO_DIR"
    exit 0
fi
echo "demo FAILED: $n of $count envelopes in Kafka, ferry exit code $rc (log: $FERRY_DEMO_DIR/ferry.log)"
exit 1
