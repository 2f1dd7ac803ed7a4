#!/usr/bin/env python3
"""How long each SIP message spends inside the gateway, from a loopback
capture (tcpdump -w) taken during a bench/run.sh load run.

The capture holds the gateway's two sides: the browsers' WebSocket
connections (tcp 8080) and the core side (wimsd or Kamailio on 5060,
the lab P-CSCF on 5070).  A message is matched by (Call-ID, CSeq, request
method or status code); its transit time is the first time it leaves the
gateway minus the first time it entered.  Messages the gateway makes itself
(its 100 Trying) or absorbs (the P-CSCF's 100) have no pair and are not
counted.  Client frames are unmasked; several messages per segment and
messages spread over segments are reassembled per TCP direction.

    bench/transit.py CAPTURE.pcap [--json]
"""
import json
import struct
import sys
from collections import defaultdict

GW_PORTS = (8080, 5060)  # the gateway's WebSocket and SIP ports
CORE_PORT = 5070         # the lab P-CSCF


def packets(path):
    """(time in ns, src port, dst port, proto, payload) of each IPv4 TCP/UDP packet."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = struct.unpack("<I", data[:4])[0]
    if magic == 0xA1B2C3D4:
        endian, scale = "<", 1000
    elif magic == 0xA1B23C4D:
        endian, scale = "<", 1
    elif magic == 0xD4C3B2A1:
        endian, scale = ">", 1000
    elif magic == 0x4D3CB2A1:
        endian, scale = ">", 1
    else:
        raise SystemExit(f"{path}: not a pcap file")
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        pkt = data[off:off + incl]
        off += incl
        if linktype == 1:          # Ethernet (what tcpdump -i lo writes)
            if len(pkt) < 14 or pkt[12:14] != b"\x08\x00":
                continue
            ip = pkt[14:]
        elif linktype in (101, 12):  # raw IP
            ip = pkt
        elif linktype == 113:      # Linux cooked
            if len(pkt) < 16 or pkt[14:16] != b"\x08\x00":
                continue
            ip = pkt[16:]
        else:
            continue
        if len(ip) < 20 or ip[0] >> 4 != 4:
            continue
        ihl = (ip[0] & 15) * 4
        total = struct.unpack("!H", ip[2:4])[0]
        proto = ip[9]
        l4 = ip[ihl:total]
        if proto == 17 and len(l4) >= 8:
            sp, dp = struct.unpack("!HH", l4[:4])
            yield sec * 1_000_000_000 + frac * scale, sp, dp, "udp", l4[8:]
        elif proto == 6 and len(l4) >= 20:
            sp, dp = struct.unpack("!HH", l4[:4])
            doff = (l4[12] >> 4) * 4
            if len(l4) > doff:
                yield sec * 1_000_000_000 + frac * scale, sp, dp, "tcp", l4[doff:]


def direction(sp, dp):
    """'in' (toward the gateway), 'out' (from it) or None (not the gateway's)."""
    if dp == CORE_PORT:
        return "out"
    if sp == CORE_PORT:
        return "in"
    if dp in GW_PORTS:
        return "in"
    if sp in GW_PORTS:
        return "out"
    return None


def sip_key(msg):
    """(Call-ID, CSeq, method or status) of one SIP message, or None."""
    head, _, _ = msg.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    first = lines[0]
    if first.startswith(b"SIP/2.0 "):
        kind = first[8:11]
    else:
        kind = first.split(b" ", 1)[0]
        if not kind.isalpha():
            return None
    cid = cseq = None
    for ln in lines[1:]:
        name, _, val = ln.partition(b":")
        n = name.strip().lower()
        if n in (b"call-id", b"i"):
            cid = val.strip()
        elif n == b"cseq":
            cseq = b" ".join(val.split())
    if cid is None or cseq is None:
        return None
    return (cid, cseq, kind)


def sip_split(buf):
    """Whole SIP messages at the front of a TCP byte stream: (messages, rest)."""
    out = []
    while True:
        buf = buf.lstrip(b"\r\n")
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return out, buf
        clen = 0
        for ln in buf[:end].split(b"\r\n")[1:]:
            name, _, val = ln.partition(b":")
            if name.strip().lower() in (b"content-length", b"l"):
                try:
                    clen = int(val.strip())
                except ValueError:
                    clen = 0
        total = end + 4 + clen
        if len(buf) < total:
            return out, buf
        out.append(buf[:total])
        buf = buf[total:]


def ws_split(buf):
    """Whole WebSocket frames' payloads (unmasked) at the front of buf: (payloads, rest)."""
    out = []
    while len(buf) >= 2:
        b1 = buf[1]
        ln = b1 & 127
        pos = 2
        if ln == 126:
            if len(buf) < 4:
                break
            ln = struct.unpack("!H", buf[2:4])[0]
            pos = 4
        elif ln == 127:
            if len(buf) < 10:
                break
            ln = struct.unpack("!Q", buf[2:10])[0]
            pos = 10
        mask = None
        if b1 & 128:
            if len(buf) < pos + 4:
                break
            mask = buf[pos:pos + 4]
            pos += 4
        if len(buf) < pos + ln:
            break
        payload = buf[pos:pos + ln]
        if mask:
            payload = bytes(c ^ mask[i & 3] for i, c in enumerate(payload))
        if buf[0] & 15 in (1, 2):
            out.append(payload)
        buf = buf[pos + ln:]
    return out, buf


def analyse(path):
    first = {"in": {}, "out": {}}
    streams = defaultdict(bytes)
    kinds = {}  # per TCP direction: "ws", "sip" or "http" (before the upgrade)
    for t, sp, dp, proto, payload in packets(path):
        d = direction(sp, dp)
        if d is None or not payload:
            continue
        msgs = []
        if proto == "udp":
            msgs = [payload]
        else:
            key = (sp, dp)
            buf = streams[key] + payload
            k = kinds.get(key)
            if k is None or k == "http":
                if buf.startswith(b"GET ") or buf.startswith(b"HTTP/1.1"):
                    end = buf.find(b"\r\n\r\n")
                    if end < 0:
                        streams[key] = buf
                        continue
                    buf = buf[end + 4:]
                    kinds[key] = "ws"
                    k = "ws"
                elif buf[:1].isalpha():
                    kinds[key] = k = "sip"
                elif buf[:1] and buf[0] & 0x70 == 0:
                    kinds[key] = k = "ws"
                else:
                    streams[key] = b""
                    continue
            if k == "ws":
                frames, streams[key] = ws_split(buf)
                for f in frames:
                    m, _ = sip_split(f)
                    msgs.extend(m or [f])
            else:
                msgs, streams[key] = sip_split(buf)
        for m in msgs:
            key = sip_key(m)
            if key is not None and key not in first[d]:
                first[d][key] = t
    by_kind = defaultdict(list)
    for key, t_in in first["in"].items():
        t_out = first["out"].get(key)
        if t_out is not None and t_out >= t_in:
            kind = key[2].decode(errors="replace")
            meth = key[1].split(b" ")[-1].decode(errors="replace")
            by_kind[kind if not kind.isdigit() else f"{kind} {meth}"].append((t_out - t_in) / 1000.0)
    return by_kind


def pct(v, p):
    if not v:
        return float("nan")
    v = sorted(v)
    return v[min(len(v) - 1, int(p / 100.0 * len(v)))]


def summary(by_kind):
    allv = [x for v in by_kind.values() for x in v]
    res = {"messages": len(allv), "p50_us": pct(allv, 50), "p90_us": pct(allv, 90),
           "p99_us": pct(allv, 99), "max_us": max(allv) if allv else float("nan"), "by_kind": {}}
    for k, v in sorted(by_kind.items()):
        res["by_kind"][k] = {"n": len(v), "p50_us": pct(v, 50), "p99_us": pct(v, 99)}
    return res


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    s = summary(analyse(sys.argv[1]))
    if "--json" in sys.argv[2:]:
        print(json.dumps(s))
        return
    print(f'{s["messages"]} messages: transit p50 {s["p50_us"]:.0f} us, p90 {s["p90_us"]:.0f} us, '
          f'p99 {s["p99_us"]:.0f} us, max {s["max_us"]:.0f} us')
    for k, v in s["by_kind"].items():
        print(f'  {k:14} {v["n"]:7}  p50 {v["p50_us"]:8.0f} us  p99 {v["p99_us"]:8.0f} us')


if __name__ == "__main__":
    main()
