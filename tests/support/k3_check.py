#!/usr/bin/env python3
"""k3_check - battery row K3: every PUBACK Ferry sent left after a journal sync that covered
as many records as PUBACKs had left by then.

  k3_check.py --pcap CAPTURE --iolog LOG --port BROKER_PORT --client-id ID

CAPTURE: tcpdump -i lo -w of the broker's port (Linux loopback: Ethernet framing).
LOG: tests/support/fault_io.c's lines ("W <us> <fd> <off> <n>", "S <start> <end> <fd>").

From the capture: the TCP stream from Ferry's connection (the one whose CONNECT carries ID)
to the broker is reassembled and cut into MQTT packets; each PUBACK's time is the capture
time of the segment that completes it. From the log: each record is two pwrites at offsets
> 0 (frame header, then data; a segment's own header is the write at offset 0), so after the
k-th such pair k records were written; a sync that started after that pair and ended at T
makes k records durable at T. Check: for the n-th PUBACK at time t, at least n records were
durable at t. Ferry's routes here make one record per uplink, so a PUBACK ahead of its
record's fsync shows up as a count ahead of durability. Prints the figures; exits 1 on a
violation, 2 when the inputs are unusable. Python 3 standard library only.
"""
import argparse, bisect, struct, sys


def packets(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        end = "<"
    elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
        end = ">"
    else:
        raise SystemExit("k3_check: not a pcap file")
    nano = magic in (0xA1B23C4D, 0x4D3CB2A1)
    link = struct.unpack(end + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack(end + "IIII", data[off:off + 16])
        off += 16
        frame = data[off:off + incl]
        off += incl
        t_us = sec * 1000000 + (frac // 1000 if nano else frac)
        if link == 1:        # Ethernet (Linux lo)
            if len(frame) < 14 or frame[12:14] != b"\x08\x00":
                continue
            ip = frame[14:]
        elif link == 113:    # Linux cooked
            ip = frame[16:]
        else:
            continue
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 6:
            continue
        ihl = (ip[0] & 15) * 4
        tot = struct.unpack(">H", ip[2:4])[0]
        tcp = ip[ihl:tot]
        if len(tcp) < 20:
            continue
        sport, dport, seq = struct.unpack(">HHI", tcp[:8])
        doff = (tcp[12] >> 4) * 4
        yield t_us, sport, dport, seq, tcp[doff:]


def streams(path, port):
    """{client port: [(seq, t_us, payload), ...]} for client -> broker data."""
    out = {}
    for t, sport, dport, seq, payload in packets(path):
        if dport == port and payload:
            out.setdefault(sport, []).append((seq, t, payload))
    return out


def mqtt_packets(segs):
    """Reassemble one direction (drop retransmitted bytes) and yield (time, type, body)."""
    base = min(seq for seq, _, _ in segs)
    segs = sorted(((seq - base) & 0xFFFFFFFF, t, p) for seq, t, p in segs)
    buf, times = bytearray(), []
    for rel, t, payload in segs:
        if rel > len(buf):
            raise SystemExit("k3_check: a gap in the captured stream")
        payload = payload[len(buf) - rel:]
        if not payload:
            continue
        buf += payload
        times.append((len(buf), t))
    pos = 0
    ends = [e for e, _ in times]
    while pos + 2 <= len(buf):
        kind = buf[pos] >> 4
        mult, length, i = 1, 0, pos + 1
        while True:
            if i >= len(buf):
                return
            b = buf[i]
            length += (b & 127) * mult
            mult *= 128
            i += 1
            if b < 128:
                break
        end = i + length
        if end > len(buf):
            return
        t = times[bisect.bisect_left(ends, end)][1]
        yield t, kind, bytes(buf[i:end])
        pos = end


def client_id(body):
    """The client id of a CONNECT body (MQTT 3.1.1 or 5)."""
    n = struct.unpack(">H", body[:2])[0]
    i = 2 + n + 1 + 1 + 2            # protocol name, level, flags, keep-alive
    if body[2 + n] == 5:             # MQTT 5: properties
        mult, plen = 1, 0
        while True:
            b = body[i]
            i += 1
            plen += (b & 127) * mult
            mult *= 128
            if b < 128:
                break
        i += plen
    n = struct.unpack(">H", body[i:i + 2])[0]
    return body[i + 2:i + 2 + n].decode("utf-8", "replace")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pcap", required=True)
    ap.add_argument("--iolog", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--client-id", required=True)
    ap.add_argument("--expect", type=int, default=0, help="PUBACKs the capture must hold")
    a = ap.parse_args()

    pubacks = []
    for cport, segs in streams(a.pcap, a.port).items():
        pk = list(mqtt_packets(segs))
        if not any(k == 1 and client_id(b) == a.client_id for _, k, b in pk):
            continue
        pubacks += [t for t, k, _ in pk if k == 4]
    pubacks.sort()

    writes, syncs = [], []
    with open(a.iolog) as f:
        for line in f:
            p = line.split()
            if p[0] == "W" and int(p[3]) > 0:
                writes.append(int(float(p[1])))
            elif p[0] == "S":
                syncs.append((int(float(p[1])), int(float(p[2]))))
    writes.sort()
    # durable(T): records whose data write came before the start of a sync that ended by T
    points = []
    for start, end in syncs:
        points.append((end, bisect.bisect_left(writes, start) // 2))
    points.sort()
    ends, best, run = [], [], 0
    for end, n in points:
        run = max(run, n)
        ends.append(end)
        best.append(run)
    if len(pubacks) < a.expect:
        print("k3_check: the capture holds %d PUBACKs, expected %d" % (len(pubacks), a.expect))
        return 2
    if not pubacks or not syncs:
        print("k3_check: %d PUBACKs, %d syncs: nothing to check" % (len(pubacks), len(syncs)))
        return 2
    bad, worst, margin = 0, 0, None
    for i, t in enumerate(pubacks, 1):
        j = bisect.bisect_right(ends, t) - 1
        durable = best[j] if j >= 0 else 0
        if durable < i:
            bad += 1
            worst = max(worst, i - durable)
        else:
            m = t - ends[j]
            margin = m if margin is None else min(margin, m)
    print("k3_check: %d PUBACKs, %d records written, %d syncs; %d PUBACK(s) ahead of the "
          "journal's durable count (worst by %d); closest PUBACK %s us after its sync"
          % (len(pubacks), len(writes) // 2, len(syncs), bad, worst,
             margin if margin is not None else "-"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
