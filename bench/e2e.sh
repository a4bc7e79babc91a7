#!/usr/bin/env bash
# bench/e2e.sh - end-to-end benchmark, one run, side by side on this machine:
#   (a) a bare Paho subscriber's receive rate from mosquitto (the ceiling of a Paho bridge)
#   (b) Ferry's rate MQTT -> journal -> Kafka, counted by a Kafka consumer
#   (c) end-to-end latency p50/p99 at a fixed moderate rate, and Ferry's peak RSS
# Usage: bench/e2e.sh [BUILD_DIR] (default build-release); N=50000 RATE=1000 to change sizes.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build-release}
case "$build" in /*) ;; *) build=$top/$build ;; esac
N=${N:-50000}
RATE=${RATE:-1000}
LAT_N=${LAT_N:-10000}
QOS=${QOS:-1}
export FERRY_SERVICES_DIR=/tmp/ferry-bench-services
work=$(mktemp -d /tmp/ferry-bench.XXXXXX)
ferry_pid=
cleanup() {
    [ -n "$ferry_pid" ] && kill -TERM "$ferry_pid" 2>/dev/null && wait "$ferry_pid" 2>/dev/null || true
    "$top/scripts/services" down >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
eval "$("$top/scripts/services" up)"

echo "== (a) bare Paho subscriber, $N uplinks at QoS $QOS, full speed"
"$build/bench/bench_sub_ceiling" --url "$FERRY_MQTT_URL" --count "$N" --qos "$QOS" > "$work/ceiling.out" &
cpid=$!
until grep -q ready "$work/ceiling.out" 2>/dev/null; do sleep 0.1; done
"$build/bench/bench_loadgen" --url "$FERRY_MQTT_URL" --count "$N" --qos "$QOS" --format mixed --inflight 200
wait $cpid || true
cat "$work/ceiling.out" | grep ceiling
ceiling=$(sed -n 's/.*: \([0-9]*\) msg\/s.*/\1/p' "$work/ceiling.out")

run_ferry() {
    local topic=$1 codec=${2:-}
    local c=""
    if [ "$codec" = js ]; then
        c="codec: javascript, codec_options: {script: \"$top/bench/bench-decoder.js\"},"
    fi
    # create the topic first so the consumer's group assignment is done before the load starts
    "$top/scripts/services" kafka-topic "$topic" >/dev/null 2>&1 || true
    cat > "$work/ferry.yaml" <<EOT
instance: bench
log_level: warn
journal: {dir: $work/journal-$topic, fsync: interval}
sources:
  - {name: ns, type: mqtt, url: "$FERRY_MQTT_URL", client_id: bench-$topic, max_inflight: 200,
     topics: [{filter: "v3/+/devices/+/up", qos: $QOS}, {filter: "application/+/device/+/event/up", qos: $QOS}]}
sinks:
  - {name: kafka, type: kafka, brokers: "$FERRY_KAFKA_BROKERS", linger_ms: 5}
routes:
  - {match: "v3/+/devices/+/up", format: tts-v3, $c recType: io.bench.tts, sinks: [{sink: kafka, topic: $topic}]}
  - {match: "application/+/device/+/event/up", format: chirpstack-v4, $c recType: io.bench.cs, sinks: [{sink: kafka, topic: $topic}]}
EOT
    "$build/ferry" run -c "$work/ferry.yaml" -l info 2> "$work/ferry-$topic.log" &
    ferry_pid=$!
    until grep -q "subscribed" "$work/ferry-$topic.log" 2>/dev/null; do sleep 0.1; done
}

stop_ferry() {
    local hwm
    hwm=$(awk '/VmHWM/ {print $2}' "/proc/$ferry_pid/status")
    kill -TERM "$ferry_pid"
    wait "$ferry_pid" || true
    ferry_pid=
    echo "$hwm"
}

echo "== (b) Ferry MQTT -> Kafka, $N uplinks at QoS $QOS, full speed"
run_ferry bench-rate
"$build/bench/bench_kafka_count" --brokers "$FERRY_KAFKA_BROKERS" --topic bench-rate --count "$N" --timeout 300 > "$work/rate.out" &
kpid=$!
until grep -q ready "$work/rate.out" 2>/dev/null; do sleep 0.1; done
"$build/bench/bench_loadgen" --url "$FERRY_MQTT_URL" --count "$N" --qos "$QOS" --format mixed --inflight 200
wait $kpid || true
grep -v ready "$work/rate.out"
hwm1=$(stop_ferry)
ferry_rate=$(sed -n 's/.*s: \([0-9]*\) msg\/s.*/\1/p' "$work/rate.out")

echo "== (b2) the same with a JavaScript codec on both routes (bench/bench-decoder.js)"
run_ferry bench-rate-js js
"$build/bench/bench_kafka_count" --brokers "$FERRY_KAFKA_BROKERS" --topic bench-rate-js --count "$N" --timeout 300 > "$work/rate-js.out" &
kpid=$!
until grep -q ready "$work/rate-js.out" 2>/dev/null; do sleep 0.1; done
"$build/bench/bench_loadgen" --url "$FERRY_MQTT_URL" --count "$N" --qos "$QOS" --format mixed --inflight 200
wait $kpid || true
grep -v ready "$work/rate-js.out"
stop_ferry >/dev/null
js_rate=$(sed -n 's/.*s: \([0-9]*\) msg\/s.*/\1/p' "$work/rate-js.out")

echo "== (c) latency at $RATE msg/s, $LAT_N uplinks after 500 warm-up uplinks"
run_ferry bench-latency
"$build/bench/bench_kafka_count" --brokers "$FERRY_KAFKA_BROKERS" --topic bench-latency --count "$((LAT_N + 500))" --warmup 500 --timeout 300 --latency > "$work/lat.out" &
kpid=$!
until grep -q ready "$work/lat.out" 2>/dev/null; do sleep 0.1; done
"$build/bench/bench_loadgen" --url "$FERRY_MQTT_URL" --count "$((LAT_N + 500))" --qos "$QOS" --format mixed --rate "$RATE"
wait $kpid || true
grep -v ready "$work/lat.out"
hwm2=$(stop_ferry)

echo
echo "| measure | value |"
echo "|---|---|"
echo "| bare Paho subscriber (ceiling), msg/s | $ceiling |"
echo "| Ferry MQTT -> journal -> Kafka, msg/s | $ferry_rate |"
echo "| ratio Ferry / ceiling | $(python3 -c "print(f'{$ferry_rate/$ceiling:.2f}')") |"
echo "| Ferry with a JavaScript codec on the route, msg/s | $js_rate |"
echo "| ratio with codec / without | $(python3 -c "print(f'{$js_rate/$ferry_rate:.2f}')") |"
echo "| latency at $RATE msg/s | $(sed -n 's/latency over [0-9]*: //p' "$work/lat.out") |"
echo "| Ferry peak RSS (full speed / fixed rate) | $((hwm1 / 1024)) MiB / $((hwm2 / 1024)) MiB |"
