#!/usr/bin/env bash
# aws_fault_proxy_test.sh - self-test of tests/support/aws_fault_proxy.py against moto
# (scripts/services aws-up, the no-auth instance). Not in ctest (yet).
#
#   tests/support/aws_fault_proxy_test.sh
#
# With --fail-every 3: a SendMessageBatch of 10 entries through the proxy answers entries
# 3, 6, 9 as Failed and moto holds exactly the other 7; retrying exactly the failed entries
# (the first retry's middle entry is the 12th seen, so it fails again) ends with 10 distinct
# messages and no duplicate. The same for PutRecords with 10 records (positions 3, 6, 9 fail,
# in order; 7 then 10 records in the stream). Then --http-error-every 2 (the 2nd request gets
# HTTP 500 and is not forwarded), a pass-through request, and the summary lines on SIGTERM.
# Exits non-zero on any mismatch.
#
# Uses fresh moto instances in its own state directory (FERRY_SERVICES_DIR, default
# /tmp/ferry-aws-proxy-test.PID) and stops them and the proxies at the end.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
svc=$top/scripts/services
proxy_py=$top/tests/support/aws_fault_proxy.py
own_dir=0
if [ -z "${FERRY_SERVICES_DIR:-}" ]; then
    export FERRY_SERVICES_DIR=/tmp/ferry-aws-proxy-test.$$
    own_dir=1
fi
work=$(mktemp -d)
fails=0
passes=0
proxy_pids=()

cleanup() {
    local p
    for p in "${proxy_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${proxy_pids[@]}"; do wait "$p" 2>/dev/null || true; done
    if [ "$own_dir" = 1 ]; then
        "$svc" down >/dev/null 2>&1 || true
    else
        "$svc" aws-down >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

ok() { echo "ok:   $*"; passes=$((passes + 1)); }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { # check DESCRIPTION COMMAND...: ok if the command succeeds
    local what=$1
    shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}

if "$svc" status 2>/dev/null | grep -q '^aws.*running'; then
    echo "aws_fault_proxy_test: moto already runs in $FERRY_SERVICES_DIR; use another" \
        "FERRY_SERVICES_DIR" >&2
    trap - EXIT
    exit 2
fi

eval "$("$svc" aws-up)"
tool=("$FERRY_AWS_PYTHON" "$top/tests/support/aws_tool.py" --endpoint "$FERRY_AWS_ENDPOINT")

# start_proxy NAME ARGS...: start the proxy (plain python3), set $proxy to its URL.
start_proxy() {
    local name=$1 port="" i
    shift
    python3 "$proxy_py" --upstream "$FERRY_AWS_ENDPOINT" --log "$work/$name.log" "$@" \
        > "$work/$name.out" 2> "$work/$name.err" &
    proxy_pids+=($!)
    for ((i = 0; i < 100; i++)); do
        port=$(sed -n '1s/^port \([0-9][0-9]*\)$/\1/p' "$work/$name.out" 2>/dev/null || true)
        [ -n "$port" ] && break
        kill -0 "${proxy_pids[-1]}" 2>/dev/null || break
        sleep 0.05
    done
    if [ -z "$port" ]; then
        echo "aws_fault_proxy_test: $name did not print its port: $(cat "$work/$name.err")" >&2
        exit 1
    fi
    proxy=http://127.0.0.1:$port
}

# stop_proxy: SIGTERM the last proxy started, wait for it to exit.
stop_proxy() {
    local p=${proxy_pids[-1]}
    kill -TERM "$p"
    wait "$p" || true
    unset 'proxy_pids[-1]'
}

# call URL SERVICE TARGET CONTENT_TYPE BODY: sign with curl (testing:testing, as
# tests/support/aws_smoke.sh), print the HTTP status; the response body goes to $work/resp.
call() {
    curl -sS -o "$work/resp" -w '%{http_code}' --max-time 10 \
        --aws-sigv4 "aws:amz:eu-west-1:$2" --user testing:testing \
        -H "X-Amz-Target: $3" -H "Content-Type: $4" --data-binary "$5" "$1/" || true
}
sqs_send() {
    call "$1" sqs AmazonSQS.SendMessageBatch application/x-amz-json-1.0 "$2"
}
kinesis_put() {
    call "$1" kinesis Kinesis_20131202.PutRecords application/x-amz-json-1.1 "$2"
}

# py EXPR [ARGS]: evaluate a Python expression (plain python3, json imported, argv[1:] are
# ARGS; it may span lines); prints its value unless it is None or True; exit 1 if False.
py() {
    python3 -c 'import json, sys
v = eval("(" + sys.argv[1] + "\n)", {"json": json, "sys": sys, "argv": sys.argv[1:]})
if v is False: sys.exit(1)
if v is not None and v is not True: print(v)' "$@"
}
# $lines_of: the JSON lines of the file argv[1], as a Python expression for py.
lines_of='[json.loads(l) for l in open(argv[1]) if l.strip()]'

# -- SQS -----------------------------------------------------------------------------------
start_proxy proxy --fail-every 3
echo "proxy: python3 aws_fault_proxy.py --fail-every 3 on $proxy -> $FERRY_AWS_ENDPOINT"
url=$("${tool[@]}" sqs-create proxytest)

# sqs_body IDS...: a SendMessageBatch body for entries with these Ids, body "m<Id>".
sqs_body() {
    py 'json.dumps({"QueueUrl": argv[1], "Entries": [
        {"Id": i, "MessageBody": "m" + i,
         "MessageAttributes": {"ferry-key": {"DataType": "String", "StringValue": "k" + i}}}
        for i in argv[2:]]})' "$url" "$@"
}
code=$(sqs_send "$proxy" "$(sqs_body 1 2 3 4 5 6 7 8 9 10)")
cp "$work/resp" "$work/sqs1"
check "SQS batch of 10 via proxy: HTTP 200, Failed = Ids 3,6,9 (InternalError, SenderFault false), Successful = the other 7" \
    py '(lambda r: sorted(f["Id"] for f in r["Failed"]) == ["3", "6", "9"]
        and [f["Id"] for f in r["Failed"]] == ["3", "6", "9"]
        and all(f["Code"] == "InternalError" and f["SenderFault"] is False
                and f["Message"] == "injected by aws_fault_proxy" for f in r["Failed"])
        and sorted(s["Id"] for s in r["Successful"]) == sorted(["1", "2", "4", "5", "7", "8", "10"])
        and all(s.get("MessageId") for s in r["Successful"])
        and argv[2] == "200")(json.load(open(argv[1])))' "$work/sqs1" "$code"
echo "      answer: $(cat "$work/sqs1")"

"${tool[@]}" sqs-drain "$url" --expect 7 --timeout 5 > "$work/drain1" || true
"${tool[@]}" sqs-drain "$url" > "$work/drain1b" || true
check "moto holds exactly 7 messages: $(py "' '.join(sorted((l['body'] for l in $lines_of), key=lambda b: int(b[1:])))" "$work/drain1")" \
    py "sorted(l['body'] for l in $lines_of) == sorted('m' + i for i in '1 2 4 5 7 8 10'.split())
        and all(l['attributes'] == {'ferry-key': 'k' + l['body'][1:]} for l in $lines_of)" "$work/drain1"
check "no 8th message in the queue" py "len($lines_of) == 0" "$work/drain1b"

# Retry exactly the entries the answer lists as failed until none fails (at most 5 rounds).
read -r -a pending < <(py "' '.join(f['Id'] for f in json.load(open(argv[1]))['Failed'])" \
    "$work/sqs1") || true
round=0
while [ "${#pending[@]}" -gt 0 ] && [ "$round" -lt 5 ]; do
    round=$((round + 1))
    code=$(sqs_send "$proxy" "$(sqs_body "${pending[@]}")")
    cp "$work/resp" "$work/sqs-retry$round"
    [ "$code" = 200 ] || { bad "SQS retry $round: HTTP $code $(cat "$work/resp")"; break; }
    read -r -a pending < <(py "' '.join(f['Id'] for f in json.load(open(argv[1]))['Failed'])" \
        "$work/resp") || true
    echo "      retry $round: still failed: ${pending[*]:-none}"
done
check "first retry (entries 11-13 of the run): only Id 6, the 12th, fails again" \
    py '[f["Id"] for f in json.load(open(argv[1]))["Failed"]] == ["6"]' "$work/sqs-retry1"
check "SQS retries end with nothing failed after 2 rounds" \
    test "${#pending[@]}" = 0 -a "$round" = 2
"${tool[@]}" sqs-drain "$url" --expect 3 --timeout 5 > "$work/drain2" || true
"${tool[@]}" sqs-drain "$url" > "$work/drain2b" || true
cat "$work/drain1" "$work/drain2" "$work/drain2b" > "$work/drain-all"
check "SQS after retries: 10 messages m1..m10, each once (no loss, no duplicate)" \
    py "sorted(l['body'] for l in $lines_of) == sorted('m%d' % i for i in range(1, 11))" \
    "$work/drain-all"

# -- Kinesis -------------------------------------------------------------------------------
"${tool[@]}" kinesis-create proxytest > /dev/null
# kin_body DATA...: a PutRecords body, one record per DATA (base64 of it), key "dev-1".
kin_body() {
    py 'json.dumps({"StreamName": "proxytest", "Records": [
        {"Data": __import__("base64").b64encode(d.encode()).decode(), "PartitionKey": "dev-1"}
        for d in argv[1:]]})' "$@"
}
all=(d1 d2 d3 d4 d5 d6 d7 d8 d9 d10)
code=$(kinesis_put "$proxy" "$(kin_body "${all[@]}")")
cp "$work/resp" "$work/kin1"
check "Kinesis 10 records via proxy: HTTP 200, FailedRecordCount 3, ErrorCode at positions 3,6,9 only" \
    py '(lambda r: r["FailedRecordCount"] == 3 and len(r["Records"]) == 10
        and [i + 1 for i, x in enumerate(r["Records"]) if "ErrorCode" in x] == [3, 6, 9]
        and all(x["ErrorCode"] == "ProvisionedThroughputExceededException"
                and x["ErrorMessage"] == "injected" for x in r["Records"] if "ErrorCode" in x)
        and all(x.get("SequenceNumber") and x.get("ShardId")
                for x in r["Records"] if "ErrorCode" not in x)
        and argv[2] == "200")(json.load(open(argv[1])))' "$work/kin1" "$code"
echo "      answer: $(cat "$work/kin1")"
# The upstream answers in the order of the reduced request: sequence numbers must rise along
# the answer's successful positions.
check "Kinesis: successful positions carry the upstream's answers in order (rising sequence numbers)" \
    py '(lambda s: s == sorted(s))([int(x["SequenceNumber"]) for x in json.load(open(argv[1]))["Records"] if "SequenceNumber" in x])' "$work/kin1"

"${tool[@]}" kinesis-read proxytest --expect 7 --timeout 5 > "$work/kread1" || true
check "stream holds exactly 7 records, in order: $(py "' '.join(l['data'] for l in $lines_of)" "$work/kread1")" \
    py "[l['data'] for l in $lines_of] == ['d1', 'd2', 'd4', 'd5', 'd7', 'd8', 'd10']" \
    "$work/kread1"

read -r -a pending < <(py "' '.join(d for d, x in zip(argv[2:], json.load(open(argv[1]))['Records']) if 'ErrorCode' in x)" \
    "$work/kin1" "${all[@]}") || true
round=0
while [ "${#pending[@]}" -gt 0 ] && [ "$round" -lt 5 ]; do
    round=$((round + 1))
    code=$(kinesis_put "$proxy" "$(kin_body "${pending[@]}")")
    cp "$work/resp" "$work/kin-retry$round"
    [ "$code" = 200 ] || { bad "Kinesis retry $round: HTTP $code $(cat "$work/resp")"; break; }
    read -r -a pending < <(py "' '.join(d for d, x in zip(argv[2:], json.load(open(argv[1]))['Records']) if 'ErrorCode' in x)" \
        "$work/resp" "${pending[@]}") || true
    echo "      retry $round: still failed: ${pending[*]:-none}"
done
check "first Kinesis retry: only position 2 (d6, the 12th record) fails, FailedRecordCount 1" \
    py '(lambda r: r["FailedRecordCount"] == 1 and [i for i, x in enumerate(r["Records"]) if "ErrorCode" in x] == [1])(json.load(open(argv[1])))' \
    "$work/kin-retry1"
check "Kinesis retries end with nothing failed after 2 rounds" \
    test "${#pending[@]}" = 0 -a "$round" = 2
"${tool[@]}" kinesis-read proxytest --expect 10 --timeout 5 > "$work/kread2" || true
"${tool[@]}" kinesis-read proxytest --expect 11 --timeout 1 > "$work/kread3" 2>/dev/null || true
check "stream after retries: 10 records d1..d10, each once: $(py "' '.join(l['data'] for l in $lines_of)" "$work/kread2")" \
    py "sorted(l['data'] for l in $lines_of) == sorted('d%d' % i for i in range(1, 11))
        and len($lines_of) == 10" "$work/kread3"

# -- pass-through and summary --------------------------------------------------------------
code=$(call "$proxy" sqs AmazonSQS.GetQueueUrl application/x-amz-json-1.0 '{"QueueName":"proxytest"}')
check "other actions pass through unchanged (GetQueueUrl: HTTP 200, the queue's URL)" \
    py 'argv[2] == "200" and json.load(open(argv[1]))["QueueUrl"] == argv[3]' \
    "$work/resp" "$code" "$url"
stop_proxy
summary="aws_fault_proxy: requests=7 batch_requests=6 entries_seen=28 entries_failed=8 http_errors=0"
check "summary on SIGTERM, stderr and --log: $(cat "$work/proxy.log")" \
    test "$(cat "$work/proxy.log")" = "$summary" -a "$(tail -n 1 "$work/proxy.err")" = "$summary"

# -- --http-error-every --------------------------------------------------------------------
start_proxy proxy2 --http-error-every 2
code1=$(sqs_send "$proxy" "$(sqs_body 1 2)")
code2=$(sqs_send "$proxy" "$(sqs_body 3 4)")
cp "$work/resp" "$work/http2"
code3=$(kinesis_put "$proxy" "$(kin_body e1)")
code4=$(kinesis_put "$proxy" "$(kin_body e2)")
check "--http-error-every 2: HTTP $code1 $code2 $code3 $code4 (200 500 200 500), InternalFailure body" \
    py 'argv[2:] == ["200", "500", "200", "500"] and json.load(open(argv[1])) == {"__type": "InternalFailure", "message": "injected"}' \
    "$work/http2" "$code1" "$code2" "$code3" "$code4"
"${tool[@]}" sqs-drain "$url" > "$work/drain3" || true
"${tool[@]}" kinesis-read proxytest > "$work/kread4" || true
check "the 500s were not forwarded: queue holds m1 m2 only, stream gained e1 only" \
    py "sorted(l['body'] for l in $lines_of) == ['m1', 'm2']
        and [json.loads(l)['data'] for l in open(argv[2]) if l.strip()][10:] == ['e1']" \
    "$work/drain3" "$work/kread4"
stop_proxy
check "summary: $(cat "$work/proxy2.log")" \
    test "$(cat "$work/proxy2.log")" = "aws_fault_proxy: requests=4 batch_requests=4 entries_seen=3 entries_failed=0 http_errors=2"

echo "aws_fault_proxy_test: $passes passed, $fails failed"
[ "$fails" = 0 ]
