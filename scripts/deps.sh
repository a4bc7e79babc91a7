#!/usr/bin/env bash
# deps.sh - install what Ferry's build, tests and demo need from Debian's packages
# (idempotent: skips apt entirely when everything is already installed). Run as root.
set -euo pipefail

pkgs=(
    build-essential cmake ninja-build pkg-config g++
    libpaho-mqtt-dev librdkafka-dev libcjson-dev libyaml-dev libssl-dev libcurl4-openssl-dev zlib1g-dev
    libcunit1-dev libmozjs-102-dev
    libmicrohttpd-dev
    libmosquitto-dev               # the mqtt sink (sinks/mqtt/): one network thread per client
    mosquitto mosquitto-clients kcat curl
    default-jre-headless maven python3 python3-venv openssl
    iptables util-linux iproute2   # the blackhole test (48): a network namespace of its own
    valgrind                       # make valgrind-smoke (battery row S3)
    tcpdump                        # the PUBACK capture test (51, battery row K3)
)
missing=()
for p in "${pkgs[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
# Java and Maven may come from elsewhere (e.g. a JDK in /opt): accept them when on PATH.
if command -v java >/dev/null 2>&1; then
    missing=("${missing[@]/default-jre-headless}")
fi
if command -v mvn >/dev/null 2>&1; then
    missing=("${missing[@]/maven}")
fi
read -r -a missing <<< "${missing[*]:-}"
if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi
echo "deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
else
    SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
