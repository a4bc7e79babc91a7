#!/usr/bin/env bash
# checksrc.sh - fail on the functions STYLE.md bans (C15): sprintf, strcpy, strcat, strtok,
# atoi, gets, alloca. Use snprintf, fy_buf, strtok_r, strtol with an end-pointer check.
set -euo pipefail
cd "$(dirname "$0")/.."
if grep -rnE '\b(sprintf|vsprintf|strcpy|strcat|strtok|atoi|gets|alloca)[[:space:]]*\(' \
    --include='*.c' --include='*.h' --include='*.cpp' core bridge routes codecs sinks sources tests bench; then
    echo "checksrc: banned function used (see STYLE.md C15)" >&2
    exit 1
fi
echo "checksrc: OK"
