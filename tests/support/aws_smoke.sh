#!/usr/bin/env bash
# aws_smoke.sh - show that the test AWS endpoint (scripts/services aws-up: moto) works the way
# Ferry's SQS and Kinesis sinks will use it: curl signs SigV4 requests with the JSON protocols,
# tests/support/aws_tool.py reads the results back, and the aws-auth instance refuses a wrong
# secret. Not in ctest (yet). Prints how long aws-up took, cold (venv installed) or warm.
#
#   tests/support/aws_smoke.sh
#
# Uses fresh moto instances in its own state directory (FERRY_SERVICES_DIR, default
# /tmp/ferry-aws-smoke.PID) and stops them at the end: the aws-auth instance lets only its
# first few requests through unchecked, so it cannot be shared with an earlier run.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
svc=$top/scripts/services
own_dir=0
if [ -z "${FERRY_SERVICES_DIR:-}" ]; then
    export FERRY_SERVICES_DIR=/tmp/ferry-aws-smoke.$$
    own_dir=1
fi
work=$(mktemp -d)
fails=0
passes=0

cleanup() {
    if [ "$own_dir" = 1 ]; then
        "$svc" down >/dev/null 2>&1 || true
    else
        "$svc" aws-down >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
ok() { echo "ok:   $*"; passes=$((passes + 1)); }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

if "$svc" status 2>/dev/null | grep -q '^aws.*running'; then
    echo "aws_smoke: moto already runs in $FERRY_SERVICES_DIR; use another FERRY_SERVICES_DIR" >&2
    trap - EXIT
    exit 2
fi

# -- start ---------------------------------------------------------------------------------
venv=${FERRY_CACHE_DIR:-$HOME/.cache/ferry}/moto-${FERRY_MOTO_VERSION:-5.2.5}
[ -f "$venv/.complete" ] && kind=warm || kind="cold (venv installed first)"
t0=$(now)
eval "$("$svc" aws-up)"
echo "timing: aws-up $(since "$t0")s, $kind"
t0=$(now)
"$svc" aws-down
"$svc" aws-up >/dev/null
echo "timing: aws-down + aws-up $(since "$t0")s, warm"
eval "$("$svc" env | grep FERRY_AWS_ENDPOINT)"
tool=("$FERRY_AWS_PYTHON" "$top/tests/support/aws_tool.py")

# call ENDPOINT SERVICE TARGET CONTENT_TYPE BODY KEY:SECRET: sign with curl, print the HTTP
# status; the response body goes to $work/resp.
call() {
    curl -sS -o "$work/resp" -w '%{http_code}' --max-time 10 \
        --aws-sigv4 "aws:amz:eu-west-1:$2" --user "$6" \
        -H "X-Amz-Target: $3" -H "Content-Type: $4" --data-binary "$5" "$1/" || true
}

# json_check FILE PYTHON_EXPR: evaluate EXPR with `lines` = the file's JSON lines.
json_check() {
    "$FERRY_AWS_PYTHON" -c 'import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2"
}

# -- SQS, no auth --------------------------------------------------------------------------
t0=$(now)
url=$("${tool[@]}" --endpoint "$FERRY_AWS_ENDPOINT" sqs-create smoke)
code=$(call "$FERRY_AWS_ENDPOINT" sqs AmazonSQS.SendMessageBatch application/x-amz-json-1.0 \
    "{\"QueueUrl\":\"$url\",\"Entries\":[{\"Id\":\"1\",\"MessageBody\":\"hello sqs\",
      \"MessageAttributes\":{\"ferry-key\":{\"DataType\":\"String\",\"StringValue\":\"dev-1\"}}}]}" \
    testing:testing)
if [ "$code" = 200 ] && json_check "$work/resp" 'len(lines[0]["Successful"]) == 1'; then
    ok "SQS SendMessageBatch signed by curl: HTTP 200"
else
    bad "SQS SendMessageBatch: HTTP $code $(cat "$work/resp")"
fi
"${tool[@]}" --endpoint "$FERRY_AWS_ENDPOINT" sqs-drain "$url" --expect 1 --timeout 5 > "$work/sqs" || true
if json_check "$work/sqs" 'len(lines) == 1 and lines[0]["body"] == "hello sqs" and lines[0]["attributes"] == {"ferry-key": "dev-1"}'; then
    ok "sqs-drain: $(cat "$work/sqs")"
else
    bad "sqs-drain: $(cat "$work/sqs")"
fi
fifo=$("${tool[@]}" --endpoint "$FERRY_AWS_ENDPOINT" sqs-create smoke --fifo)
code=$(call "$FERRY_AWS_ENDPOINT" sqs AmazonSQS.SendMessageBatch application/x-amz-json-1.0 \
    "{\"QueueUrl\":\"$fifo\",\"Entries\":[
      {\"Id\":\"1\",\"MessageBody\":\"first\",\"MessageGroupId\":\"dev-1\",\"MessageDeduplicationId\":\"u1\"},
      {\"Id\":\"2\",\"MessageBody\":\"second\",\"MessageGroupId\":\"dev-1\",\"MessageDeduplicationId\":\"u2\"}]}" \
    testing:testing)
"${tool[@]}" --endpoint "$FERRY_AWS_ENDPOINT" sqs-drain "$fifo" --expect 2 --timeout 5 > "$work/fifo" || true
if [ "$code" = 200 ] && json_check "$work/fifo" '[(l["body"], l["group"], l["dedup"]) for l in lines] == [("first", "dev-1", "u1"), ("second", "dev-1", "u2")] and all(l["seq"] for l in lines)'; then
    ok "FIFO: group, dedup id and sequence number come back, in order"
else
    bad "FIFO: HTTP $code, $(cat "$work/fifo")"
fi
echo "timing: SQS checks $(since "$t0")s"

# -- Kinesis, no auth ----------------------------------------------------------------------
t0=$(now)
"${tool[@]}" --endpoint "$FERRY_AWS_ENDPOINT" kinesis-create smoke --shards 2 >/dev/null
code=$(call "$FERRY_AWS_ENDPOINT" kinesis Kinesis_20131202.PutRecords application/x-amz-json-1.1 \
    "{\"StreamName\":\"smoke\",\"Records\":[
      {\"Data\":\"$(printf 'hello kinesis' | base64)\",\"PartitionKey\":\"dev-1\"},
      {\"Data\":\"$(printf 'again' | base64)\",\"PartitionKey\":\"dev-1\"}]}" testing:testing)
if [ "$code" = 200 ] && json_check "$work/resp" 'lines[0]["FailedRecordCount"] == 0'; then
    ok "Kinesis PutRecords signed by curl: HTTP 200"
else
    bad "Kinesis PutRecords: HTTP $code $(cat "$work/resp")"
fi
"${tool[@]}" --endpoint "$FERRY_AWS_ENDPOINT" kinesis-read smoke --expect 2 --timeout 5 > "$work/kin" || true
if json_check "$work/kin" '[(l["key"], l["data"]) for l in lines] == [("dev-1", "hello kinesis"), ("dev-1", "again")] and lines[0]["shard"] == lines[1]["shard"]'; then
    ok "kinesis-read: both records, one shard, in order"
else
    bad "kinesis-read: $(cat "$work/kin")"
fi
echo "timing: Kinesis checks $(since "$t0")s"

# -- SigV4 checked (aws-auth) --------------------------------------------------------------
auth=("${tool[@]}" --endpoint "$FERRY_AWS_AUTH_ENDPOINT")
if read -r kid secret < <("${auth[@]}" iam-key) && [ -n "${secret:-}" ]; then
    ok "iam-key: access key $kid"
else
    bad "iam-key gave no key"
    kid=none secret=none
fi
list=(sqs AmazonSQS.ListQueues application/x-amz-json-1.0 '{}')
code=$(call "$FERRY_AWS_AUTH_ENDPOINT" "${list[@]}" "$kid:${secret}x")
[ "$code" = 403 ] && grep -q SignatureDoesNotMatch "$work/resp" &&
    ok "wrong secret: HTTP 403 SignatureDoesNotMatch" || bad "wrong secret: HTTP $code $(cat "$work/resp")"
code=$(call "$FERRY_AWS_AUTH_ENDPOINT" "${list[@]}" testing:testing)
[ "$code" = 403 ] && ok "unknown key: HTTP 403" || bad "unknown key: HTTP $code $(cat "$work/resp")"
code=$(call "$FERRY_AWS_AUTH_ENDPOINT" "${list[@]}" "$kid:$secret")
[ "$code" = 200 ] && ok "right secret: HTTP 200" || bad "right secret: HTTP $code $(cat "$work/resp")"
"${auth[@]}" --key-id "$kid" --secret "$secret" sqs-create authq > "$work/authq" || true
code=$(call "$FERRY_AWS_AUTH_ENDPOINT" sqs AmazonSQS.SendMessageBatch application/x-amz-json-1.0 \
    "{\"QueueUrl\":\"$(cat "$work/authq")\",\"Entries\":[{\"Id\":\"1\",\"MessageBody\":\"signed\"}]}" \
    "$kid:$secret")
"${auth[@]}" --key-id "$kid" --secret "$secret" sqs-drain "$(cat "$work/authq")" --expect 1 \
    --timeout 5 > "$work/authm" || true
[ "$code" = 200 ] && json_check "$work/authm" 'lines[0]["body"] == "signed"' &&
    ok "SQS send + drain with the right key" || bad "SQS with key: HTTP $code, $(cat "$work/authm")"
"${auth[@]}" --key-id "$kid" --secret "$secret" kinesis-create auths >/dev/null || true
rec="{\"StreamName\":\"auths\",\"Records\":[{\"Data\":\"$(printf x | base64)\",\"PartitionKey\":\"k\"}]}"
code=$(call "$FERRY_AWS_AUTH_ENDPOINT" kinesis Kinesis_20131202.PutRecords application/x-amz-json-1.1 \
    "$rec" "$kid:nope")
code2=$(call "$FERRY_AWS_AUTH_ENDPOINT" kinesis Kinesis_20131202.PutRecords application/x-amz-json-1.1 \
    "$rec" "$kid:$secret")
[ "$code" = 403 ] && [ "$code2" = 200 ] && ok "Kinesis PutRecords: wrong secret 403, right 200" ||
    bad "Kinesis PutRecords with auth: wrong secret $code, right $code2"

echo "aws_smoke: $passes passed, $fails failed"
[ "$fails" = 0 ]
