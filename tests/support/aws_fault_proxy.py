#!/usr/bin/env python3
"""aws_fault_proxy - a fault-injecting HTTP proxy in front of the test AWS endpoint (moto).

  aws_fault_proxy.py --upstream http://127.0.0.1:PORT [--port 0] [--fail-every N]
                     [--fail-code CODE] [--http-error-every M] [--http-status 500]
                     [--seed S] [--log FILE]

Listens on 127.0.0.1 only and prints "port <n>" as its first stdout line (port 0, the
default, picks a free one). Python 3 standard library only; runs with plain python3.

Every request goes to the upstream unchanged (method, path, headers, body; Host and
Content-Length are recomputed, hop-by-hop headers and Expect are dropped) and the upstream's
answer comes back, except for two actions, picked by X-Amz-Target:

  AmazonSQS.SendMessageBatch     with --fail-every N, every N-th entry of Entries[] (counted
                                 over the whole run) is removed from the forwarded request, so
                                 moto never stores it; the answer is 200 with the upstream's
                                 Successful[] and Failed[] plus, for each removed entry,
                                 {"Id", "SenderFault": false, "Code": CODE (default
                                 InternalError), "Message": "injected by aws_fault_proxy"}.
  Kinesis_20131202.PutRecords    the same with Records[]: the answer's Records[] is in the
                                 original order, removed positions are {"ErrorCode": CODE
                                 (default ProvisionedThroughputExceededException),
                                 "ErrorMessage": "injected"}, the others take the upstream's
                                 answers in order; FailedRecordCount counts both kinds.

If every entry of a request is removed, nothing is forwarded. A client that retries exactly
the failed entries therefore ends with no loss and no duplicate. SQS entries and Kinesis
records are counted separately (each from 1), so with --fail-every 3 the 3rd, 6th, 9th, ...
SQS entry fails and, independently, the 3rd, 6th, 9th, ... Kinesis record. A retried entry
is a new entry for the count (it can fail again). --seed S shifts each count by a phase drawn
from random.Random(S) (still deterministic for a given seed); without it the phase is 0.

--http-error-every M: every M-th request of those two actions (one count for both) gets
HTTP --http-status (default 500) with {"__type":"InternalFailure","message":"injected"} and
is not forwarded; its entries are not counted for --fail-every. If the upstream refuses a
(reduced) request with a non-200 answer or gives an answer that cannot be read, that answer
is passed on unchanged (nothing of the request was stored, so the client retries it all).

SIGNATURES: the forwarded body (and Host) differ from what the client signed, so this works
only in front of moto's instance that does not check signatures (FERRY_AWS_ENDPOINT from
`scripts/services aws-up`), never FERRY_AWS_AUTH_ENDPOINT or real AWS.

On SIGTERM, SIGINT or exit it prints one summary line to stderr (and appends it to --log):
  aws_fault_proxy: requests=R batch_requests=B entries_seen=E entries_failed=F http_errors=H
(requests: all requests proxied or answered; batch_requests: the two actions; entries_seen:
SQS entries plus Kinesis records counted for --fail-every).
"""

import argparse
import atexit
import http.client
import json
import random
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

SQS_TARGET = "AmazonSQS.SendMessageBatch"
KINESIS_TARGET = "Kinesis_20131202.PutRecords"

# Not forwarded in either direction: hop-by-hop (RFC 9110 7.6.1), recomputed, or handled here.
HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authenticate",
       "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade"}
REQ_SKIP = HOP | {"host", "content-length", "expect"}
RESP_SKIP = HOP | {"content-length", "date", "server"}


class Faults:
    """Counters and fault decisions, shared by all handler threads."""

    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        rnd = random.Random(args.seed) if args.seed is not None else None

        def phase(every):
            return rnd.randrange(every) if rnd is not None and every else 0

        self.phase = {"sqs": phase(args.fail_every), "kinesis": phase(args.fail_every),
                      "http": phase(args.http_error_every)}
        self.seen = {"sqs": 0, "kinesis": 0}
        self.requests = 0
        self.batch_requests = 0
        self.entries_failed = 0
        self.http_errors = 0
        self.http_count = 0
        self.summarised = False

    def count_request(self):
        with self.lock:
            self.requests += 1

    def http_error_now(self):
        """Called once per batch request: True if this one gets the injected HTTP error."""
        with self.lock:
            self.batch_requests += 1
            m = self.args.http_error_every
            if not m:
                return False
            self.http_count += 1
            if (self.http_count + self.phase["http"]) % m == 0:
                self.http_errors += 1
                return True
            return False

    def pick(self, kind, n):
        """Indices (0-based, in order) of the n entries of one request that fail."""
        with self.lock:
            every = self.args.fail_every
            chosen = []
            for i in range(n):
                self.seen[kind] += 1
                if every and (self.seen[kind] + self.phase[kind]) % every == 0:
                    chosen.append(i)
            self.entries_failed += len(chosen)
            return chosen

    def summary(self):
        with self.lock:
            return (f"aws_fault_proxy: requests={self.requests} "
                    f"batch_requests={self.batch_requests} "
                    f"entries_seen={self.seen['sqs'] + self.seen['kinesis']} "
                    f"entries_failed={self.entries_failed} http_errors={self.http_errors}")

    def print_summary(self):
        with self.lock:
            if self.summarised:
                return
            self.summarised = True
        line = self.summary()
        try:
            print(line, file=sys.stderr, flush=True)
        except (OSError, ValueError):
            pass
        if self.args.log:
            with open(self.args.log, "a", encoding="utf-8") as f:
                f.write(line + "\n")


class Upstream:
    def __init__(self, url):
        u = urlsplit(url)
        if u.scheme != "http" or not u.hostname:
            raise ValueError(f"--upstream must be http://HOST:PORT, not {url!r}")
        self.host, self.port = u.hostname, u.port or 80
        self.base = u.path.rstrip("/")

    def send(self, method, path, headers, body):
        """Returns (status, reason, [(name, value)], body) of the upstream's answer."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            conn.putrequest(method, self.base + path, skip_accept_encoding=True)
            for k, v in headers:
                conn.putheader(k, v)
            if body or method in ("POST", "PUT", "PATCH"):
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body if body else None)
            r = conn.getresponse()
            data = r.read()
            return r.status, r.reason, r.getheaders(), data
        finally:
            conn.close()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and Expect: 100-continue, like libcurl uses
    server_version = "aws_fault_proxy"
    faults = None    # set in main
    upstream = None  # set in main

    def log_message(self, fmt, *a):  # quiet: only the summary goes to stderr
        pass

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def answer(self, status, headers, body, reason=None):
        self.send_response(status, reason)
        for k, v in headers:
            if k.lower() not in RESP_SKIP:
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def answer_json(self, status, obj, ctype, extra=()):
        self.answer(status, [("Content-Type", ctype), *extra],
                    json.dumps(obj, separators=(",", ":")).encode())

    def forward(self, body):
        hdrs = [(k, v) for k, v in self.headers.items() if k.lower() not in REQ_SKIP]
        try:
            return self.upstream.send(self.command, self.path, hdrs, body)
        except (OSError, http.client.HTTPException) as e:
            msg = json.dumps({"__type": "ProxyUpstreamError", "message": str(e)}).encode()
            return 502, "Bad Gateway", [("Content-Type", "application/json")], msg

    def handle_any(self):
        self.faults.count_request()
        body = self.read_body()
        target = self.headers.get("X-Amz-Target", "")
        if target in (SQS_TARGET, KINESIS_TARGET):
            self.handle_batch(target, body)
        else:
            self.pass_through(body)

    def pass_through(self, body):
        status, reason, hdrs, data = self.forward(body)
        self.answer(status, hdrs, data, reason)

    def handle_batch(self, target, body):
        ctype = self.headers.get("Content-Type") or (
            "application/x-amz-json-1.0" if target == SQS_TARGET else "application/x-amz-json-1.1")
        if self.faults.http_error_now():
            self.answer_json(self.faults.args.http_status,
                             {"__type": "InternalFailure", "message": "injected"}, ctype,
                             [("x-amzn-ErrorType", "InternalFailure")])
            return
        key = "Entries" if target == SQS_TARGET else "Records"
        try:
            req = json.loads(body)
            entries = req[key]
            if not isinstance(entries, list):
                raise TypeError(key)
        except (ValueError, KeyError, TypeError):
            self.pass_through(body)  # let moto say what is wrong
            return
        chosen = self.faults.pick("sqs" if target == SQS_TARGET else "kinesis", len(entries))
        if not chosen:
            self.pass_through(body)
            return
        drop = set(chosen)
        kept = [e for i, e in enumerate(entries) if i not in drop]
        if kept:
            req[key] = kept
            status, reason, hdrs, data = self.forward(json.dumps(req).encode())
            if status != 200:
                self.answer(status, hdrs, data, reason)
                return
            try:
                resp = json.loads(data)
                if not isinstance(resp, dict):
                    raise TypeError("answer")
            except (ValueError, TypeError):
                self.answer(status, hdrs, data, reason)
                return
        else:
            status, reason, hdrs, resp = 200, None, [("Content-Type", ctype)], {}
        if target == SQS_TARGET:
            out = self.merge_sqs(entries, chosen, resp)
        else:
            out = self.merge_kinesis(entries, chosen, kept, resp)
            if out is None:  # upstream's Records[] does not match what was sent
                self.answer(status, hdrs, data, reason)
                return
        # The body is rewritten: a checksum of the upstream's would be wrong now.
        hdrs = [(k, v) for k, v in hdrs if k.lower() != "x-amz-crc32"]
        self.answer(200, hdrs, json.dumps(out, separators=(",", ":")).encode())

    def merge_sqs(self, entries, chosen, resp):
        code = self.faults.args.fail_code or "InternalError"
        out = dict(resp)
        out["Successful"] = list(resp.get("Successful") or [])
        out["Failed"] = list(resp.get("Failed") or []) + [
            {"Id": entries[i].get("Id") if isinstance(entries[i], dict) else None,
             "SenderFault": False, "Code": code, "Message": "injected by aws_fault_proxy"}
            for i in chosen]
        return out

    def merge_kinesis(self, entries, chosen, kept, resp):
        code = self.faults.args.fail_code or "ProvisionedThroughputExceededException"
        up = list(resp.get("Records") or []) if kept else []
        if len(up) != len(kept):
            return None
        drop = set(chosen)
        it = iter(up)
        records, failed = [], 0
        for i in range(len(entries)):
            if i in drop:
                records.append({"ErrorCode": code, "ErrorMessage": "injected"})
                failed += 1
            else:
                r = next(it)
                records.append(r)
                if isinstance(r, dict) and r.get("ErrorCode"):
                    failed += 1
        out = dict(resp)
        out["FailedRecordCount"] = failed
        out["Records"] = records
        return out

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = handle_any


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--upstream", required=True, help="http://127.0.0.1:PORT (moto, no auth)")
    p.add_argument("--port", type=int, default=0, help="listen port on 127.0.0.1 (0: any free)")
    p.add_argument("--fail-every", type=int, default=0, metavar="N",
                   help="fail every N-th SQS entry / Kinesis record (0: none)")
    p.add_argument("--fail-code", default=None, metavar="CODE",
                   help="error code of failed entries (default InternalError for SQS, "
                        "ProvisionedThroughputExceededException for Kinesis)")
    p.add_argument("--http-error-every", type=int, default=0, metavar="M",
                   help="answer every M-th batch request with --http-status, unforwarded")
    p.add_argument("--http-status", type=int, default=500)
    p.add_argument("--seed", type=int, default=None, help="shift the counts' phase")
    p.add_argument("--log", default=None, metavar="FILE", help="append the summary line here")
    args = p.parse_args()
    if args.fail_every < 0 or args.http_error_every < 0:
        p.error("--fail-every and --http-error-every must be >= 0")
    try:
        Handler.upstream = Upstream(args.upstream)
    except ValueError as e:
        p.error(str(e))
    faults = Handler.faults = Faults(args)

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    atexit.register(faults.print_summary)

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"port {server.server_address[1]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        faults.print_summary()
    return 0


if __name__ == "__main__":
    sys.exit(main())
