#!/usr/bin/env python3
"""A real HTTPS (TLS, HTTP/1.1) test server for the webhook sink tests.

Serves on 127.0.0.1 (port printed on stdout as "port N"), records every request as one JSON
line in --log (method, path, headers, base64 body), and answers by path:
  /ok              200
  /fail500/N       500 for the first N requests to that path, then 200
  /retry429        429 with Retry-After: 2 the first time, then 200
  /bad400          400 with a JSON error body
  /gone            410 Gone
  /redirect        302 to /ok/redirected (must not be followed)
  /big413/K        413 when the request holds more than K records, else 200
  /hang            accepts and never answers
  /flaky/SEED/F/H/MS  per request (the n-th to that path, decided by hash(SEED, n) alone, so
                   the same sequence of outcomes every run): 500 for F percent; else held MS
                   milliseconds before its 200 for H percent (accepted on arrival: a client
                   that times out meanwhile does not know its records arrived); else 200. Its
                   log lines add "status", "held" and "t" (time.time() of the decision), in
                   the order the requests were decided
  /token?ttl=S     OAuth2 token endpoint (RFC 6749): client "ferry" / "s3cret-client" by HTTP
                   Basic or in the form; grant_type client_credentials, or refresh_token with
                   rotation (each refresh token works once; the first is "rt-initial");
                   access tokens live S seconds (default 3600)
  /protected/...   200 only with "Authorization: Bearer <a live access token>", else 401
  /revoke          forgets every access token (a 401 mid-stream)
"""
import argparse, base64, gzip, hashlib, json, ssl, threading, time
from urllib.parse import parse_qs, urlsplit
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

counts = {}
lock = threading.Lock()
CLIENT = ("ferry", "s3cret-client")
access_tokens = {}              # token -> expiry (time.time())
refresh_tokens = {"rt-initial"}  # usable once each
issued = [0]


def oauth_token(handler, body):
    """Returns (status, payload) for a token request."""
    form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
    ttl = int(parse_qs(urlsplit(handler.path).query).get("ttl", ["3600"])[0])
    auth = handler.headers.get("Authorization", "")
    if auth.startswith("Basic "):
        cid, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
    else:
        cid, secret = form.get("client_id"), form.get("client_secret")
    if (cid, secret) != CLIENT:
        return 401, {"error": "invalid_client", "error_description": "unknown client"}
    with lock:
        issued[0] += 1
        n = issued[0]
        out = {"token_type": "Bearer", "expires_in": ttl, "access_token": "at-%d" % n}
        grant = form.get("grant_type")
        if grant == "refresh_token":
            rt = form.get("refresh_token")
            if rt not in refresh_tokens:
                return 400, {"error": "invalid_grant", "error_description": "refresh token used"}
            refresh_tokens.discard(rt)
            out["refresh_token"] = "rt-%d" % n
            refresh_tokens.add(out["refresh_token"])
        elif grant != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}
        access_tokens[out["access_token"]] = time.time() + ttl
    return 200, out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        if self.headers.get("Content-Encoding", "") == "gzip":
            body = gzip.decompress(body)  # logged decoded; the header stays in the log
        parts = urlsplit(self.path).path.strip("/").split("/")
        status, extra, payload = 200, {}, b'{"ok":true}'
        hold = 0.0
        with lock:
            counts[self.path] = counts.get(self.path, 0) + 1
            seen = counts[self.path]
            line = {"method": "POST", "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": base64.b64encode(body).decode()}
            if parts[0] == "flaky" and len(parts) == 5:
                roll = int(hashlib.sha256(("%s:%d" % (parts[1], seen)).encode())
                           .hexdigest()[:8], 16) % 10000
                if roll < int(parts[2]) * 100:
                    status, payload = 500, b'{"error":"flaky"}'
                elif roll < (int(parts[2]) + int(parts[3])) * 100:
                    hold = int(parts[4]) / 1000.0
                line.update(status=status, held=hold > 0, t=time.time())
            with open(self.server.log, "a") as f:
                f.write(json.dumps(line) + "\n")
        if hold > 0:
            time.sleep(hold)
        if parts[0] == "token":
            status, out = oauth_token(self, body)
            payload = json.dumps(out).encode()
        elif parts[0] == "revoke":
            with lock:
                access_tokens.clear()
        elif parts[0] == "protected":
            tok = self.headers.get("Authorization", "")[7:]
            with lock:
                live = access_tokens.get(tok, 0) > time.time()
            if not self.headers.get("Authorization", "").startswith("Bearer ") or not live:
                status, payload = 401, b'{"error":"invalid_token"}'
                extra = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        elif parts[0] == "fail500" and seen <= int(parts[1]):
            status = 500
        elif parts[0] == "retry429" and seen == 1:
            status, extra = 429, {"Retry-After": "2"}
        elif parts[0] == "redirect":
            status, extra = 302, {"Location": "/ok/redirected"}
        elif parts[0] == "gone":
            status, payload = 410, b'{"error":"this endpoint was removed"}'
        elif parts[0] == "bad400":
            status, payload = 400, b'{"error":"schema mismatch: field recType"}'
        elif parts[0] == "big413":
            try:
                records = len(json.loads(body))
            except Exception:
                records = 1
            if records > int(parts[1]):
                status = 413
        elif parts[0] == "hang":
            time.sleep(60)
            return
        self.send_response(status)
        for k, v in extra.items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--log", required=True)
    a = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.log = a.log
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print("port", srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
