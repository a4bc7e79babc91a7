#!/usr/bin/env bash
# bench/sinks.sh - the three HTTP sinks side by side in one run (bench/sinks.c): webhook to a
# local HTTPS receiver (bench_https_sink), sqs and kinesis to moto (scripts/services aws-up),
# each driven directly through sinks/sink.h with real ~500-byte TTS envelopes, plus bare
# libcurl baselines posting the same SendMessageBatch / PutRecords bodies to moto with the
# same parallelism. Variants are interleaved in each of ROUNDS rounds (the start rotates per
# round); prints a table of medians, and per-round ratios of each AWS sink to its baseline.
#
# Usage: bench/sinks.sh [BUILD_DIR] (default build-release). Environment:
#   ROUNDS=3         rounds
#   RECORDS=20000    records per run (kinesis; webhook unless WEBHOOK_RECORDS)
#   WEBHOOK_RECORDS=RECORDS  records per webhook run (20,000 take ~0.1-0.4 s)
#   SQS_RECORDS=1000 records per SQS run: moto's SendMessage is O(messages in the queue), see
#                    docs/benchmarks.md "HTTP sinks side by side"
#   SECONDS_MAX=60   each run is timed for at most this long (then it counts what completed)
#   DEVICES=50       distinct devices (device keys) among the records
#   ONLY=w10,sqs     some variants: w10 w100 sqs sqs-base kin-ord kin-unord kin-base kin-base50
#   VERIFY=1         after each AWS run (untimed), count what moto holds and compare
#   PERF=DIR         perf profiles (call graphs) of the timed part of every sink run of round 1,
#                    DIR/VARIANT.data (perf report -i DIR/kin-ord.data --no-children)
# Each SQS queue and Kinesis stream (2 shards) is created fresh before a run and deleted
# after it, since moto's cost per record grows with what the queue or stream already holds.
# Nothing reads moto while a run is timed. Loopback only; state lives in a temp dir.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build-release}
case "$build" in /*) ;; *) build=$top/$build ;; esac
ROUNDS=${ROUNDS:-3}
RECORDS=${RECORDS:-20000}
WEBHOOK_RECORDS=${WEBHOOK_RECORDS:-$RECORDS}
SQS_RECORDS=${SQS_RECORDS:-1000}
SECONDS_MAX=${SECONDS_MAX:-60}
DEVICES=${DEVICES:-50}
ONLY=${ONLY:-}
VERIFY=${VERIFY:-1}
PERF=${PERF:-}
for b in bench_https_sink bench_sinks; do
    if [ ! -x "$build/bench/$b" ]; then
        echo "sinks.sh: $build/bench/$b missing (build with: cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release && ninja -C build-release)" >&2
        exit 1
    fi
done
work=$(mktemp -d /tmp/ferry-bench-sinks.XXXXXX)
svc=${FERRY_SERVICES_DIR:-$work/services}
sink_pid=
started_aws=0
cleanup() {
    if [ -n "$sink_pid" ]; then
        kill -TERM "$sink_pid" 2>/dev/null || true
        wait "$sink_pid" 2>/dev/null || true
    fi
    if [ "$started_aws" = 1 ]; then
        FERRY_SERVICES_DIR=$svc "$top/scripts/services" aws-down >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# ---- receivers ----
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
    echo "sinks.sh: the HTTPS receiver did not start:" >&2
    cat "$work/sink.out" >&2
    exit 1
fi
hook=https://127.0.0.1:$port

if ! { [ -f "$svc/aws.pid" ] && kill -0 "$(cat "$svc/aws.pid")" 2>/dev/null; }; then
    started_aws=1
fi
FERRY_SERVICES_DIR=$svc "$top/scripts/services" aws-up > "$work/aws.env"
# shellcheck disable=SC1090
. "$work/aws.env"
ep=$FERRY_AWS_ENDPOINT
py=$FERRY_AWS_PYTHON
moto_pid=$(cat "$svc/aws.pid")
moto_log=$svc/aws.log
tool() { "$py" "$top/tests/support/aws_tool.py" --endpoint "$ep" "$@"; }
# count-queue URL / count-stream NAME: what moto holds ("count distinct"), then delete it.
cat > "$work/finish.py" <<'EOF'
import sys, boto3
kind, ep, what, verify = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
kw = dict(endpoint_url=ep, region_name="eu-west-1", aws_access_key_id="testing",
          aws_secret_access_key="testing")
n = d = -1
if kind == "sqs":
    c = boto3.client("sqs", **kw)
    if verify:
        a = c.get_queue_attributes(QueueUrl=what, AttributeNames=["ApproximateNumberOfMessages"])
        n = d = int(a["Attributes"]["ApproximateNumberOfMessages"])
    c.delete_queue(QueueUrl=what)
else:
    c = boto3.client("kinesis", **kw)
    if verify:
        n, seen = 0, set()
        for s in c.list_shards(StreamName=what)["Shards"]:
            it = c.get_shard_iterator(StreamName=what, ShardId=s["ShardId"],
                                      ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            while it:
                r = c.get_records(ShardIterator=it, Limit=10000)
                for rec in r["Records"]:
                    n += 1
                    seen.add(rec["Data"])
                if not r["Records"]:
                    break
                it = r.get("NextShardIterator")
        d = len(seen)
    c.delete_stream(StreamName=what, EnforceConsumerDeletion=True)
print(n, d)
EOF
common="region: eu-west-1
endpoint: $ep
access_key_id: testing
secret_access_key: testing
allow_insecure: true
allow_private_networks: true"

variants=(w10 w100 sqs sqs-base kin-ord kin-unord kin-base kin-base50)
wanted() { [ -z "$ONLY" ] || [[ ",$ONLY," == *",$1,"* ]]; }
moto_requests() { grep -c '"POST / HTTP' "$moto_log" || true; }
hook_stat() { # field of the receiver's /stats line
    curl -s --cacert "$work/cert.pem" "$hook/stats" | tr ' ' '\n' | sed -n "s/^$1=//p"
}
mkdir -p "$work/res"
[ -z "$PERF" ] || mkdir -p "$PERF"
failures=0
lost=0
t_start=$(date +%s)

# run_one VARIANT ROUND: one timed run; appends "key=value ..." to $work/res/VARIANT
run_one() {
    local v=$1 r=$2 n=$RECORDS kind target="" args=() line rc=0 req0 req1 held held_d
    local perf=() ctl=
    if [ -n "$PERF" ] && [ "$r" = 1 ] && [[ $v != *base* ]]; then
        ctl=$work/perf.ctl
        rm -f "$ctl"
        mkfifo "$ctl"
        perf=(perf record -g -D -1 --control "fifo:$ctl" -o "$PERF/$v.data" --)
    fi
    case $v in
    w10 | w100)
        kind=webhook
        n=$WEBHOOK_RECORDS
        args=(--sink webhook --peer-pid "$sink_pid" --yaml "url: $hook/in
ca_file: $work/cert.pem
allow_private_networks: true
format: json_array
batch_max_records: ${v#w}")
        curl -s --cacert "$work/cert.pem" "$hook/reset" >/dev/null
        req0=0
        ;;
    sqs | sqs-base)
        kind=sqs
        n=$SQS_RECORDS
        target=$(tool sqs-create "bench-$v-$r-$$")
        if [ "$v" = sqs ]; then
            args=(--sink sqs --yaml "queue_url: $target
$common")
        else
            args=(--baseline sqs --endpoint "$ep" --target "$target" --batch 10 --parallel 8)
        fi
        ;;
    kin-*)
        kind=kinesis
        target=bench-$v-$r-$$
        tool kinesis-create "$target" --shards 2 >/dev/null
        case $v in
        kin-ord) args=(--sink kinesis --yaml "stream_name: $target
ordered: true
$common") ;;
        kin-unord) args=(--sink kinesis --yaml "stream_name: $target
ordered: false
$common") ;;
        kin-base) args=(--baseline kinesis --endpoint "$ep" --target "$target" --batch 500 --parallel 4) ;;
        kin-base50) args=(--baseline kinesis --endpoint "$ep" --target "$target" --batch 50 --parallel 4) ;;
        esac
        ;;
    esac
    [ "$kind" = webhook ] || { args+=(--peer-pid "$moto_pid"); req0=$(moto_requests); }
    line=$(FERRY_BENCH_PERF_CTL=$ctl "${perf[@]}" "$build/bench/bench_sinks" "${args[@]}" --records "$n" \
        --seconds "$SECONDS_MAX" --devices "$DEVICES" --label "$v" 2> "$work/err") || rc=$?
    if [ -n "${perf[*]}" ]; then # perf's own notes
        grep -v '^\[ perf' "$work/err" > "$work/err2" || true
        mv "$work/err2" "$work/err"
    fi
    line=$(printf '%s\n' "$line" | grep '^result ' || true)
    if [ "$kind" = webhook ]; then
        req1=$(hook_stat requests)
        held=$(hook_stat records)
        held_d=$(hook_stat unique)
    else
        req1=$(moto_requests)
        read -r held held_d < <("$py" "$work/finish.py" "$kind" "$ep" "$target" "$VERIFY")
    fi
    local ok
    ok=$(printf '%s\n' "$line" | tr ' ' '\n' | sed -n 's/^ok=//p')
    if [ "$rc" != 0 ] || [ -z "$line" ]; then
        echo "sinks.sh: round $r $v FAILED (exit $rc):" >&2
        cat "$work/err" >&2
        failures=$((failures + 1))
        return 0
    fi
    if [ "$kind" = kinesis ] && [ "$VERIFY" = 1 ] && [ "$held" = "$held_d" ] && [ "$held" -lt "$ok" ]; then
        # moto numbers a shard's records "last + 1" without a lock, so PutRecords served at
        # once can give two records one sequence number: the later overwrites the earlier,
        # both answered as written (the baselines count these: ids_twice)
        echo "sinks.sh: round $r $v: moto holds $held of the $ok records it confirmed (its PutRecords race)" >&2
        lost=$((lost + ok - held))
    elif { [ "$kind" = webhook ] || [ "$VERIFY" = 1 ]; } && { [ "$held" != "$ok" ] || [ "$held_d" != "$ok" ]; }; then
        echo "sinks.sh: round $r $v FAILED: $ok records completed OK, the receiver holds $held ($held_d distinct)" >&2
        failures=$((failures + 1))
        return 0
    fi
    [ ! -s "$work/err" ] || { echo "sinks.sh: round $r $v said:" >&2; cat "$work/err" >&2; }
    echo "$line round=$r requests_seen=$((req1 - req0)) held=$held" >> "$work/res/$v"
    printf '%s\n' "$line" | tr ' ' '\n' | awk -F= -v r="$r" -v v="$v" -v q=$((req1 - req0)) '
        {a[$1] = $2} END {printf "round %d %-10s %8.0f records/s  %6d records in %7.2f s%s  %5d requests  Ferry %6.1f us/rec  receiver %7.1f us/rec (busy %.2f)%s\n",
            r, v, a["rate"], a["ok"], a["seconds"], a["partial"] == 1 ? " (time-bounded)" : "", q, a["cpu_us"], a["peer_cpu_us"], a["peer_busy"],
            (a["ids_twice"] > 0 ? "  ids_twice " a["ids_twice"] : "")}' >&2
}

echo "== HTTP sinks side by side: $ROUNDS rounds, $RECORDS records per run ($WEBHOOK_RECORDS for webhook, $SQS_RECORDS for SQS), $DEVICES devices, at most $SECONDS_MAX s per run"
echo "   webhook -> $hook (bench_https_sink); sqs, kinesis -> moto $ep (pid $moto_pid)"
nv=${#variants[@]}
for ((r = 1; r <= ROUNDS; r++)); do
    for ((i = 0; i < nv; i++)); do
        v=${variants[$(((i + (r - 1) * 3) % nv))]}
        wanted "$v" || continue
        run_one "$v" "$r"
    done
done

# ---- the table ----
python3 - "$work/res" "$ROUNDS" <<'EOF'
import os, statistics, sys
res, rounds = sys.argv[1], int(sys.argv[2])
rows = {}
for v in os.listdir(res):
    for line in open(os.path.join(res, v)):
        kv = dict(f.split("=", 1) for f in line.split()[1:])
        rows.setdefault(v, {})[int(kv["round"])] = kv
what = {
    "w10": ("webhook, json_array, batches of 10", "bench_https_sink", None),
    "w100": ("webhook, json_array, batches of 100", "bench_https_sink", "w10"),
    "sqs": ("sqs sink, batches of 10", "moto", "sqs-base"),
    "sqs-base": ("baseline: libcurl, SendMessageBatch of 10", "moto", None),
    "kin-ord": ("kinesis sink, 500, ordered: true", "moto", "kin-base"),
    "kin-unord": ("kinesis sink, 500, ordered: false", "moto", "kin-base"),
    "kin-base": ("baseline: libcurl, PutRecords of 500", "moto", None),
    "kin-base50": ("baseline: libcurl, PutRecords of 50", "moto", "kin-base"),
}
par = {"w10": 4, "w100": 4, "sqs": 8, "sqs-base": 8, "kin-ord": 4, "kin-unord": 4,
       "kin-base": 4, "kin-base50": 4}
print()
print("| variant | receiver | records per run | parallel | records per request | records/s (median) | min - max | ratio | Ferry CPU us/record | receiver CPU us/record | receiver busy (cores) |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for v in ["w10", "w100", "sqs", "sqs-base", "kin-ord", "kin-unord", "kin-base", "kin-base50"]:
    if v not in rows:
        continue
    rr = rows[v]
    rates = [float(x["rate"]) for x in rr.values()]
    med = lambda k: statistics.median(float(x[k]) for x in rr.values())
    ratio = "-"
    base = what[v][2]
    if base in rows:
        rs = [float(rr[r]["rate"]) / float(rows[base][r]["rate"])
              for r in rr if r in rows[base] and float(rows[base][r]["rate"]) > 0]
        if rs:
            ratio = "%.2f vs %s" % (statistics.median(rs), base)
    reqs = statistics.median(float(x["ok"]) / max(1.0, float(x["requests_seen"])) for x in rr.values())
    partial = sum(int(x["partial"]) for x in rr.values())
    n = statistics.median(int(x["ok"]) for x in rr.values())
    print("| %s (%s) | %s | %d%s | %d | %.1f | %.0f | %.0f - %.0f | %s | %.1f | %.0f | %.2f |" % (
        what[v][0], v, what[v][1], n, " (time-bounded %dx)" % partial if partial else "",
        par[v], reqs, statistics.median(rates), min(rates), max(rates), ratio,
        med("cpu_us"), med("peer_cpu_us"), med("peer_busy")))
EOF
echo
echo "$failures failed run(s); $lost record(s) confirmed by moto but lost to its PutRecords race; $(( $(date +%s) - t_start )) s in all"
kill -TERM "$sink_pid" 2>/dev/null || true
wait "$sink_pid" 2>/dev/null || true
sink_pid=
[ "$failures" = 0 ]
