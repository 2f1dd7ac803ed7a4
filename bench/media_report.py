#!/usr/bin/env python3
"""Summarise a bench/media.sh result directory: the ladder of runs of each
gateway, the no-gateway baseline, and the ratios wimsd / rtpengine against
the targets of the media benchmark issue.

  media_report.py DIR                 the report
  media_report.py --line FILE.json    one line for one run (progress)
  media_report.py --max-ok GW FILE    the highest passing stream count of GW
  media_report.py --max-usable GW FILE   the same with p99 < 10 ms (half load = half of wimsd's)
"""
import json
import os
import sys

LOSS_MAX = 0.1  # % (the "< 0.1% loss")
USABLE_P99_US = 10000  # 10 ms: well inside a jitter buffer


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except ValueError:
                pass
    return rows


def loss(j):
    worst = j["fwd"]["loss_pct"]
    if j.get("rev"):
        worst = max(worst, j["rev"]["loss_pct"])
    return worst


def passed(j):
    return "fwd" in j and loss(j) < LOSS_MAX and j["established"] == j["streams"]


def usable(j):
    """Passed, and p99 below USABLE_P99_US: a saturated relay with deep socket
    buffers loses nothing but delays media by seconds."""
    return passed(j) and j["fwd"]["lat_us"]["p99"] < USABLE_P99_US


def line(j):
    if "fwd" not in j:
        return f'{j.get("label", "?"):9} {j.get("streams", 0):>6}  ' + ("CRASHED" if j.get("crashed") else "ERROR")
    f = j["fwd"]["lat_us"]
    return (f'{j["label"]:9} {j["streams"]:>6} {j["established"]:>6} {j["pps"]:>8.0f} {loss(j):>8.3f} '
            f'{f["p50"]:>8.1f} {f["p99"]:>8.1f} {f["max"]:>9.1f} {j["gw_cpu_pct"]:>7.1f} '
            f'{j["gw_cpu_ms_per_1000_pkts"]:>9.2f} {j["streams_per_core"]:>9.0f} {j["tool_cpu_pct"]:>7.1f}'
            + ("" if passed(j) else "  FAIL"))


HEAD = (f'{"gateway":9} {"streams":>6} {"up":>6} {"pps":>8} {"loss %":>8} {"p50 us":>8} {"p99 us":>8} '
        f'{"max us":>9} {"gw CPU%":>7} {"ms/1kpkt":>9} {"str/core":>9} {"tool%":>7}')


def max_ok(rows, gw, test=passed):
    best = 0
    for j in rows:
        if j.get("label") == gw and test(j):
            best = max(best, j["streams"])
    return best


def last(rows, gw, n):
    found = None
    for j in rows:
        if j.get("label") == gw and j.get("streams") == n and "fwd" in j:
            found = j
    return found


def summary(rows, gw):
    """(measured max streams at < 0.1% loss, projected streams per core, CPU ms per 1000 packets)."""
    m = max_ok(rows, gw)
    top = last(rows, gw, m) if m else None
    if not top:
        return m, float("nan"), float("nan")
    return m, top["streams_per_core"], top["gw_cpu_ms_per_1000_pkts"]


def added(rows, gw, n):
    """Latency p50/p99 of gw at n streams minus the no-gateway baseline at n streams."""
    j, d = last(rows, gw, n), last(rows, "direct", n)
    if not j:
        return float("nan"), float("nan"), float("nan"), float("nan")
    base50 = d["fwd"]["lat_us"]["p50"] if d else 0.0
    base99 = d["fwd"]["lat_us"]["p99"] if d else 0.0
    f = j["fwd"]["lat_us"]
    return f["p50"], f["p99"], f["p50"] - base50, f["p99"] - base99


def report(out):
    rows = load(os.path.join(out, "results.jsonl"))
    print("\nRuns (gateway on CPU 0, wims-mediabench on CPU 1; 50 packets/s per stream;")
    print(" latency = kernel receive stamp at the sink - send stamp in the payload, two loopback hops included)")
    print(HEAD)
    for j in rows:
        print(line(j))

    half = 0
    try:
        half = int(open(os.path.join(out, "half-load")).read().strip())
    except (OSError, ValueError):
        pass
    res = {gw: summary(rows, gw) for gw in ("wimsd", "rtpengine")}
    print("\nPer gateway (at the highest stream count with < 0.1% loss)")
    print(f'{"gateway":9} {"max streams":>11} {"p99<10ms":>8} {"streams/core":>12} {"CPU ms/1000 pkts":>16} '
          f'{"p50 us":>7} {"p99 us":>7} {"added p50":>9} {"added p99":>9}  (latency at {half or "-"} streams)')
    for gw, (m, spc, cpu) in res.items():
        p50, p99, a50, a99 = added(rows, gw, half) if half else (float("nan"),) * 4
        u = max_ok(rows, gw, usable)
        print(f"{gw:9} {m:>11} {u:>8} {spc:>12.0f} {cpu:>16.3f} {p50:>7.1f} {p99:>7.1f} {a50:>9.1f} {a99:>9.1f}")

    (wm, ws, wc), (rm, rs, rc) = res["wimsd"], res["rtpengine"]
    print("\nRatios wimsd / rtpengine")
    spc_r = ws / rs if rs else float("nan")
    cpu_r = wc / rc if rc else float("nan")
    print(f"  streams per core (CPU-projected):  {spc_r:.2f}   (target >= 2.0)")
    print(f"  max streams at < 0.1% loss:        {wm / rm if rm else float('nan'):.2f}"
          "   (bounded by the ladder and by the load tool's core when neither gateway saturates)")
    wu, ru = max_ok(rows, "wimsd", usable), max_ok(rows, "rtpengine", usable)
    print(f"  max streams at < 0.1% loss and p99 < 10 ms: {wu / ru if ru else float('nan'):.2f}")
    print(f"  CPU per 1,000 packets (top runs):  {cpu_r:.2f}   (lower is better; saturated runs batch more)")
    if half:
        wh, rh = last(rows, "wimsd", half), last(rows, "rtpengine", half)
        if wh and rh and rh["gw_cpu_ms_per_1000_pkts"] > 0:
            print(f"  CPU per 1,000 packets at {half} streams: {wh['gw_cpu_ms_per_1000_pkts'] / rh['gw_cpu_ms_per_1000_pkts']:.2f}"
                  f"   ({wh['gw_cpu_ms_per_1000_pkts']:.1f} ms vs {rh['gw_cpu_ms_per_1000_pkts']:.1f} ms)")
        w50, w99, wa50, wa99 = added(rows, "wimsd", half)
        r50, r99, ra50, ra99 = added(rows, "rtpengine", half)
        print(f"  added latency p50 at {half} streams:  {wa50:.1f} us vs {ra50:.1f} us")
        print(f"  added latency p99 at {half} streams:  {wa99:.1f} us vs {ra99:.1f} us   (target for wimsd: < 200 us)")
    print("\nTargets")
    print(f"  streams per core >= 2x rtpengine:   {'MET' if spc_r >= 2 else 'NOT MET'} ({spc_r:.2f}x CPU-projected at each top"
          " loss-free run)")
    u_r = wu / ru if ru else float("nan")
    print(f"  max streams with < 0.1% loss and p99 < 10 ms >= 2x rtpengine: {'MET' if u_r >= 2 else 'NOT MET'} ({u_r:.2f}x;"
          " bounded by the ladder's steps)")
    if half:
        print(f"  added p99 < 200 us at {half} streams (half load unless --quick): {'MET' if wa99 < 200 else 'NOT MET'} ({wa99:.1f} us)")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--line":
        j = json.load(open(sys.argv[2]))
        print(line(j))
    elif len(sys.argv) == 4 and sys.argv[1] == "--max-ok":
        print(max_ok(load(sys.argv[3]), sys.argv[2]))
    elif len(sys.argv) == 4 and sys.argv[1] == "--max-usable":
        print(max_ok(load(sys.argv[3]), sys.argv[2], usable))
    elif len(sys.argv) == 2:
        report(sys.argv[1])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
