#!/usr/bin/env bash
# js-codec-check.sh - run every published uplink example of TheThingsNetwork/lorawan-devices
# through Ferry's JavaScript engine and report the share of codecs that pass all their examples
# (next to the Node.js reference recorded in the vector file).
#
# Usage: scripts/js-codec-check.sh LORAWAN_DEVICES_DIR [VECTORS_JSONL] [--verbose]
#   LORAWAN_DEVICES_DIR  a local checkout of lorawan-devices (only vendor/**/*.js is read;
#                        it is never committed here)
#   VECTORS_JSONL        the examples, one JSON object per line with codec_yaml, codec_js,
#                        fPort, bytes_hex, expected and check.node (default: the shared corpus
#                        file ../shared/corpus/ttn-devices/vectors.jsonl, taken from the
#                        YAML files at commit 96abc53c81)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
repo=${1:?usage: $0 LORAWAN_DEVICES_DIR [VECTORS_JSONL] [--verbose]}
vectors=${2:-$top/../shared/corpus/ttn-devices/vectors.jsonl}
shift || true
shift || true
build=${FERRY_BUILD_DIR:-$top/build-release}
if [ ! -x "$build/bench/bench_js_vectors" ]; then
    cmake -S "$top" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
    ninja -C "$build" bench_js_vectors >/dev/null
fi
exec "$build/bench/bench_js_vectors" --repo "$repo" --vectors "$vectors" "$@"
