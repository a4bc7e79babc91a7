#!/usr/bin/env python3
"""stream.py - the bounded uplink stream of the compose test and its oracle.

  stream.py publish --port P --count N --devices D --seconds S [--topic-prefix v3/app1@ttn]
      N TTS v3 uplinks at QoS 1, round-robin over D devices, spread over about S seconds:
      one `mosquitto_pub -l` per device (one connection, so the broker keeps each device's
      order), device d has devEUI 70b3d57ed0<d:06x> and fCnt 0, 1, 2, ...
  stream.py check --count N --devices D < envelopes
      (both take --first-device F: devices F .. F+D-1, so a second stream can share the topic)
      reads Ferry's envelopes (one JSON per line, kcat -f '%s\\n'), prints
      "received R, unique U, lost L, duplicates X, out of order O" and exits 1 when L > 0.
      Out of order: a first delivery of fCnt k after a first delivery of a higher fCnt of the
      same device (redeliveries of duplicates are not counted as reorderings).
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "..", "fixtures", "uplinks", "tts-v3", "docs-mqtt-uplink.json")


def dev_eui(d):
    return "70b3d57ed0%06x" % d


def publish(a):
    with open(FIXTURE) as f:
        base = json.load(f)
    procs = []
    for d in range(a.first_device, a.first_device + a.devices):
        topic = "%s/devices/dev%d/up" % (a.topic_prefix, d)
        procs.append(subprocess.Popen(
            ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(a.port), "-q", "1", "-V", "mqttv5",
             "-i", "ferry-ct-pub-%d-%d" % (os.getpid(), d), "-t", topic, "-l"],
            stdin=subprocess.PIPE, text=True))
    t0 = time.monotonic()
    for i in range(a.count):
        d = a.first_device + i % a.devices
        seq = i // a.devices
        m = json.loads(json.dumps(base))
        m["end_device_ids"]["device_id"] = "dev%d" % d
        m["end_device_ids"]["dev_eui"] = dev_eui(d).upper()
        m["uplink_message"]["f_cnt"] = seq
        procs[d - a.first_device].stdin.write(json.dumps(m, separators=(",", ":")) + "\n")
        if i % a.devices == a.devices - 1:
            for p in procs:
                p.stdin.flush()
            due = t0 + a.seconds * (i + 1) / a.count
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
    rc = 0
    for p in procs:
        p.stdin.close()
    for p in procs:
        try:
            rc |= p.wait(timeout=120)
        except subprocess.TimeoutExpired:
            p.kill()
            rc |= 1
    print("publish: %d uplinks over %d devices in %.1f s (QoS 1), mosquitto_pub rc %d"
          % (a.count, a.devices, time.monotonic() - t0, rc))
    return 1 if rc else 0


def check(a):
    seen = {}
    first_max = {}
    received = dup = ooo = 0
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            e = json.loads(line)
        except ValueError:
            continue
        obj = e.get("obj") or {}
        eui = obj.get("devEUI", "")
        if not eui.startswith("70b3d57ed0"):
            continue
        d = int(eui[10:], 16)
        if not a.first_device <= d < a.first_device + a.devices:
            continue
        k = (d, obj.get("fCnt"))
        received += 1
        if k in seen:
            dup += 1
            continue
        seen[k] = 1
        if obj.get("fCnt") < first_max.get(d, -1):
            ooo += 1
        first_max[d] = max(first_max.get(d, -1), obj.get("fCnt"))
    want = set()
    for i in range(a.count):
        want.add((a.first_device + i % a.devices, i // a.devices))
    lost = len(want - set(seen))
    extra = len(set(seen) - want)
    print("received %d, unique %d, lost %d, duplicates %d, out of order %d, unexpected %d"
          % (received, len(seen), lost, dup, ooo, extra))
    return 1 if lost or extra else 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("publish")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--count", type=int, default=5000)
    p.add_argument("--devices", type=int, default=10)
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--topic-prefix", default="v3/app1@ttn")
    c = sub.add_parser("check")
    c.add_argument("--count", type=int, default=5000)
    c.add_argument("--devices", type=int, default=10)
    for x in (p, c):
        x.add_argument("--first-device", type=int, default=0)
    a = ap.parse_args()
    return publish(a) if a.cmd == "publish" else check(a)


if __name__ == "__main__":
    sys.exit(main())
