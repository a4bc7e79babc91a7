#!/usr/bin/env bash
# bench/webhook.sh - webhook sink benchmark: messages/s from the journal to a local HTTPS
# endpoint (bench_https_sink, libmicrohttpd + GnuTLS) with batching off/on and 1/8 requests in
# flight, at a receiver delay of 0 and DELAY_MS ms, interleaved over ROUNDS rounds (bench/webhook.c).
# Usage: bench/webhook.sh [BUILD_DIR] (default build-release); N=100000 N_SINGLE=4000 ROUNDS=3
# DELAY_MS=2 FSYNC=interval ONLY=a0,d2 (some variants) to change it.
# Loopback only; everything lives in a temp dir.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build-release}
case "$build" in /*) ;; *) build=$top/$build ;; esac
N=${N:-100000}
N_SINGLE=${N_SINGLE:-4000}
ROUNDS=${ROUNDS:-3}
DELAY_MS=${DELAY_MS:-2}
FSYNC=${FSYNC:-interval}
ONLY=${ONLY:-}
for b in bench_https_sink bench_webhook; do
    if [ ! -x "$build/bench/$b" ]; then
        echo "webhook.sh: $build/bench/$b missing (libmicrohttpd-dev installed? see scripts/deps.sh)" >&2
        exit 1
    fi
done
work=$(mktemp -d /tmp/ferry-bench-webhook.XXXXXX)
sink_pid=
cleanup() {
    if [ -n "$sink_pid" ]; then
        kill -TERM "$sink_pid" 2>/dev/null || true
        wait "$sink_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
    -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
"$build/bench/bench_https_sink" --cert "$work/cert.pem" --key "$work/key.pem" --port 0 \
    > "$work/sink.out" 2>&1 &
sink_pid=$!
for _ in $(seq 100); do
    grep -q "listening on port" "$work/sink.out" 2>/dev/null && break
    sleep 0.05
done
port=$(sed -n 's/^listening on port \([0-9]*\)$/\1/p' "$work/sink.out")
if [ -z "$port" ]; then
    echo "webhook.sh: the receiver did not start:" >&2
    cat "$work/sink.out" >&2
    exit 1
fi
echo "== webhook sink -> https://127.0.0.1:$port, N=$N (batched) / $N_SINGLE (unbatched), $ROUNDS rounds"
rc=0
"$build/bench/bench_webhook" --url "https://127.0.0.1:$port" --ca "$work/cert.pem" \
    --n "$N" --n-single "$N_SINGLE" --rounds "$ROUNDS" --delay-ms "$DELAY_MS" \
    --fsync "$FSYNC" --dir "$work" ${ONLY:+--only "$ONLY"} || rc=$?
kill -TERM "$sink_pid"
wait "$sink_pid" || true
sink_pid=
grep -v "listening on port" "$work/sink.out" || true
exit $rc
