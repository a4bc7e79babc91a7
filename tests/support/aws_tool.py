#!/usr/bin/env python3
"""aws_tool - set up and read back SQS queues and Kinesis streams on the test AWS endpoint.

Runs with the moto venv's python (boto3), which `scripts/services aws-up` exports as
FERRY_AWS_PYTHON; the endpoint is FERRY_AWS_ENDPOINT (no signature check) or
FERRY_AWS_AUTH_ENDPOINT (SigV4 checked, after `iam-key`). Region eu-west-1, keys
testing/testing unless --key-id/--secret say otherwise. Loopback only.

  aws_tool.py --endpoint URL sqs-create NAME [--fifo]          prints the queue URL
  aws_tool.py --endpoint URL sqs-drain URL [--expect N] [--timeout S]
        receives and deletes until N messages (or, without --expect, until the queue is
        empty) or S seconds; one JSON line per message:
        {"body", "attributes": {name: value}, "group", "dedup", "seq"}
  aws_tool.py --endpoint URL kinesis-create NAME [--shards K]  waits until ACTIVE, prints the ARN
  aws_tool.py --endpoint URL kinesis-read NAME [--expect N] [--timeout S]
        every shard from TRIM_HORIZON; one JSON line per record, shard by shard in sequence
        order: {"shard", "seq", "key", "data"} (data decoded as UTF-8; "data_b64" if it is not)
  aws_tool.py --endpoint URL iam-key [--user NAME]             prints "KEY_ID SECRET"
        creates a user with an allow-everything inline policy and an access key, then uses up
        the rest of moto's unauthenticated requests (INITIAL_NO_AUTH_ACTION_COUNT), so that
        from its return on every request is signature-checked.

Exit status: 0 on success, 1 when fewer than --expect messages or records arrived in time
(those that did are still printed), 2 on usage or AWS errors.
"""

import argparse
import base64
import json
import sys
import time

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

REGION = "eu-west-1"


def client(args, service, retries=3):
    return boto3.client(
        service,
        endpoint_url=args.endpoint,
        region_name=REGION,
        aws_access_key_id=args.key_id,
        aws_secret_access_key=args.secret,
        config=Config(retries={"max_attempts": retries, "mode": "standard"},
                      connect_timeout=5, read_timeout=30),
    )


def emit(obj):
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def attr_value(a):
    if "StringValue" in a:
        return a["StringValue"]
    if "BinaryValue" in a:
        return base64.b64encode(a["BinaryValue"]).decode("ascii")
    return None


def cmd_sqs_create(args):
    sqs = client(args, "sqs")
    name, attrs = args.name, {}
    if args.fifo:
        if not name.endswith(".fifo"):
            name += ".fifo"
        attrs["FifoQueue"] = "true"
    print(sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"])
    return 0


def cmd_sqs_drain(args):
    sqs = client(args, "sqs")
    deadline = time.monotonic() + args.timeout
    n = 0
    while args.expect is None or n < args.expect:
        want = 10 if args.expect is None else max(1, min(10, args.expect - n))
        # short polls and a nap: moto serves long polling (WaitTimeSeconds) by spinning,
        # which takes the CPU from the very sends a test is waiting for
        r = sqs.receive_message(QueueUrl=args.url, MaxNumberOfMessages=want, WaitTimeSeconds=0,
                                MessageAttributeNames=["All"], AttributeNames=["All"])
        msgs = r.get("Messages", [])
        for m in msgs:
            sys_attrs = m.get("Attributes", {})
            emit({
                "body": m["Body"],
                "attributes": {k: attr_value(v) for k, v in m.get("MessageAttributes", {}).items()},
                "group": sys_attrs.get("MessageGroupId"),
                "dedup": sys_attrs.get("MessageDeduplicationId"),
                "seq": sys_attrs.get("SequenceNumber"),
            })
            n += 1
        if msgs:
            sqs.delete_message_batch(QueueUrl=args.url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)])
        if not msgs and args.expect is None:
            break
        if not msgs:
            time.sleep(0.25)
        if time.monotonic() >= deadline:
            break
    if args.expect is not None and n < args.expect:
        print(f"aws_tool: sqs-drain: {n} of {args.expect} messages within {args.timeout}s",
              file=sys.stderr)
        return 1
    return 0


def cmd_kinesis_create(args):
    kin = client(args, "kinesis")
    kin.create_stream(StreamName=args.name, ShardCount=args.shards)
    deadline = time.monotonic() + args.timeout
    while True:
        d = kin.describe_stream_summary(StreamName=args.name)["StreamDescriptionSummary"]
        if d["StreamStatus"] == "ACTIVE":
            print(d["StreamARN"])
            return 0
        if time.monotonic() >= deadline:
            print(f"aws_tool: kinesis-create: {args.name} is {d['StreamStatus']} after "
                  f"{args.timeout}s", file=sys.stderr)
            return 2
        time.sleep(0.1)


def list_shards(kin, name):
    shards, kw = [], {"StreamName": name}
    while True:
        r = kin.list_shards(**kw)
        shards += [s["ShardId"] for s in r["Shards"]]
        if not r.get("NextToken"):
            return sorted(shards)
        kw = {"NextToken": r["NextToken"]}


def cmd_kinesis_read(args):
    kin = client(args, "kinesis")
    deadline = time.monotonic() + args.timeout
    shards = list_shards(kin, args.name)
    its = {s: kin.get_shard_iterator(StreamName=args.name, ShardId=s,
                                     ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
           for s in shards}
    got = {s: [] for s in shards}
    total = 0
    while True:
        for s in shards:
            while its[s] is not None:
                r = kin.get_records(ShardIterator=its[s], Limit=1000)
                its[s] = r.get("NextShardIterator")
                got[s] += r["Records"]
                total += len(r["Records"])
                if not r["Records"]:
                    break
        if args.expect is None or total >= args.expect or time.monotonic() >= deadline:
            break
        time.sleep(0.5)  # gentle: moto serves every poll on one busy core
    for s in shards:
        for rec in got[s]:
            out = {"shard": s, "seq": rec["SequenceNumber"], "key": rec["PartitionKey"]}
            try:
                out["data"] = rec["Data"].decode("utf-8")
            except UnicodeDecodeError:
                out["data"] = None
                out["data_b64"] = base64.b64encode(rec["Data"]).decode("ascii")
            emit(out)
    if args.expect is not None and total < args.expect:
        print(f"aws_tool: kinesis-read: {total} of {args.expect} records within {args.timeout}s",
              file=sys.stderr)
        return 1
    return 0


def cmd_iam_key(args):
    iam = client(args, "iam", retries=1)
    iam.create_user(UserName=args.user)
    iam.put_user_policy(UserName=args.user, PolicyName="admin", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    }))
    key = iam.create_access_key(UserName=args.user)["AccessKey"]
    # moto lets the first INITIAL_NO_AUTH_ACTION_COUNT requests through unchecked and counts
    # only those. Spend what is left with a key moto does not know: the first 403 proves that
    # checking is on, for every request after ours too.
    probe = boto3.client("iam", endpoint_url=args.endpoint, region_name=REGION,
                         aws_access_key_id="ferry-no-such-key", aws_secret_access_key="x",
                         config=Config(retries={"max_attempts": 1}))
    for _ in range(args.max_burn):
        try:
            probe.get_user(UserName=args.user)
        except ClientError as e:
            if e.response["ResponseMetadata"]["HTTPStatusCode"] == 403:
                print(f"{key['AccessKeyId']} {key['SecretAccessKey']}")
                return 0
            raise
    print(f"aws_tool: iam-key: still unauthenticated after {args.max_burn} more requests "
          "(is INITIAL_NO_AUTH_ACTION_COUNT set on this endpoint?)", file=sys.stderr)
    return 2


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--endpoint", required=True, help="http://127.0.0.1:PORT")
    p.add_argument("--key-id", default="testing")
    p.add_argument("--secret", default="testing")
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("sqs-create")
    s.add_argument("name")
    s.add_argument("--fifo", action="store_true", help="FIFO queue (.fifo appended if missing)")
    s.set_defaults(fn=cmd_sqs_create)

    s = sub.add_parser("sqs-drain")
    s.add_argument("url")
    s.add_argument("--expect", type=int)
    s.add_argument("--timeout", type=float, default=10.0)
    s.set_defaults(fn=cmd_sqs_drain)

    s = sub.add_parser("kinesis-create")
    s.add_argument("name")
    s.add_argument("--shards", type=int, default=1)
    s.add_argument("--timeout", type=float, default=30.0)
    s.set_defaults(fn=cmd_kinesis_create)

    s = sub.add_parser("kinesis-read")
    s.add_argument("name")
    s.add_argument("--expect", type=int)
    s.add_argument("--timeout", type=float, default=10.0)
    s.set_defaults(fn=cmd_kinesis_read)

    s = sub.add_parser("iam-key")
    s.add_argument("--user", default="ferry-test")
    s.add_argument("--max-burn", type=int, default=100,
                   help="give up if moto still lets requests through unchecked after this many")
    s.set_defaults(fn=cmd_iam_key)

    args = p.parse_args()
    try:
        return args.fn(args)
    except (ClientError, BotoCoreError) as e:
        print(f"aws_tool: {args.cmd}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
