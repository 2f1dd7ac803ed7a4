#!/usr/bin/env python3
"""Report of bench/xcode.sh (transcoded calls per core).

  xcode_report.py DIR            the table and the ratios of a run
  xcode_report.py --line FILE    one run as a table row
  xcode_report.py --pass FILE    exit 0 when the run passed: every call set
                                 up, nothing lost either way, no UDP drop
  xcode_report.py --raw PAIR DIR [GW]  the raw calls per core of a pair
                                 (the codecs alone, on the gateway's core;
                                 GW wimsd: with wims' own codec settings
                                 where rtpengine's Opus differs)
  xcode_report.py --next LO HI   the load to try between LO calls (passed)
                                 and HI calls (failed), or exit 1 when the
                                 interval is already fine enough
  xcode_report.py --selftest     check the acceptance rule and --next
"""
import json
import os
import sys

# wims-codecbench's names of the pairs wimsd transcodes
CODECBENCH = {"opus-amrwb": "opus<->AMR-WB", "pcmu-amr": "PCMU<->AMR"}


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


# real time: each packet's latency over the least its stream showed (so
# that a packet the gateway held or dropped at the start, which shifts a
# whole stream's placement by 20 ms, does not count) stays under this at the
# 99th percentile; a gateway that queues instead of dropping (a saturated
# one) grows past it at once
P99_MAX_US = 50000


def rel_p99(j, d):
    rel = j.get("rel_lat_us")
    return rel[d]["p99"] if rel else j[d]["lat_us"]["p99"]


def passed(j):
    if not j or j.get("error") or j.get("crashed"):
        return False
    dirs = ["fwd", "rev"] if j.get("rev") else ["fwd"]
    return (j["established"] == j["streams"] and j.get("udp_drops", 0) == 0
            and all(j[d]["sent"] > 0 and j[d]["recv"] >= j[d]["sent"]
                    and 0 <= rel_p99(j, d) < P99_MAX_US for d in dirs))


# refining the ladder: between the last load that passed and the first that
# failed, bisect until the two are at most this share of the failing load
# apart (at least one call): +-1 call at 50, +-2 at 200
REFINE_SHARE = 0.02


def next_load(lo, hi):
    """The load between lo (passed) and hi (failed) to run next, or None."""
    if lo < 1 or hi <= lo or hi - lo <= max(1, round(REFINE_SHARE * hi)):
        return None
    return (lo + hi) // 2


def us_per_call(j):
    """Gateway CPU per call per 20 ms (µs), both directions."""
    if j.get("gw_cpu_pct", -1) < 0 or not j["established"]:
        return None
    return j["gw_cpu_pct"] / 100 * 20000 / j["established"]


def row(j):
    if j.get("error") or j.get("crashed"):
        return "%-10s %-11s %6d  %s" % (j["label"], j.get("xcode", "?"), j["streams"],
                                        "CRASHED" if j.get("crashed") else "tool failed")
    f, r = j["fwd"], j["rev"] or j["fwd"]
    p50 = max(f["lat_us"]["p50"], r["lat_us"]["p50"])
    p99 = max(f["lat_us"]["p99"], r["lat_us"]["p99"])
    upc = us_per_call(j)
    cpc = j["streams_per_core"]
    rel = max(rel_p99(j, "fwd"), rel_p99(j, "rev") if j["rev"] else -1)
    return "%-10s %-11s %6d %6d %7.0f %8.3f %8.3f %6d %9.1f %9.1f %9.1f %7.1f %9s %8s %6.1f%s" % (
        j["label"], j["xcode"], j["streams"], j["established"], j["pps"], f["loss_pct"],
        r["loss_pct"], j.get("udp_drops", -1), p50, p99, rel, j["gw_cpu_pct"],
        "%.1f" % upc if upc else "-", "%.0f" % cpc if cpc > 0 else "-", j["tool_cpu_pct"],
        "" if passed(j) else "  FAIL")


HEAD = ("%-10s %-11s %6s %6s %7s %8s %8s %6s %9s %9s %9s %7s %9s %8s %6s" %
        ("gateway", "pair", "calls", "up", "pps", "loss->%", "loss<-%", "drops", "p50 us",
         "p99 us", "rel p99", "gw CPU%", "us/call", "calls/c", "tool%"))


def raw_calls(pair, d, gw="rtpengine"):
    cb = load(os.path.join(d, "codecbench.json"))
    if pair in CODECBENCH and cb:
        for p in cb["pairs"]:
            if p["pair"] == CODECBENCH[pair]:
                return p["raw_calls_per_core"], p["gw_calls_per_core"], "wims-codecbench"
    r = load(os.path.join(d, "raw-%s.json" % pair))
    if r and "rtpengine_opus" in r and gw != "wimsd":  # Opus as rtpengine configures it
        return r["rtpengine_opus"]["raw_calls_per_core"], None, "wims-mediabench --raw (rtpengine's Opus)"
    if r:
        return r["raw_calls_per_core"], None, "wims-mediabench --raw"
    return None, None, None


def raw_call_us(pair, d, gw="rtpengine"):
    r = load(os.path.join(d, "raw-%s.json" % pair))
    if r and "rtpengine_opus" in r and gw != "wimsd":
        return r["rtpengine_opus"]["raw_call_us"]
    return r["raw_call_us"] if r else None


def summary(runs, d):
    out = []
    best = {}
    for j in runs:
        key = (j["label"], j.get("xcode"))
        if passed(j) and j["streams"] > best.get(key, {"streams": 0})["streams"]:
            best[key] = j
    keys = []
    for j in runs:
        k = (j["label"], j.get("xcode"))
        if k not in keys and not (k[0] == "rtpengine" and k[1] == "opus-amrwb"):
            keys.append(k)
    out.append("")
    out.append("%-10s %-11s %9s %7s %9s %11s %9s %10s %9s" %
               ("gateway", "pair", "max calls", "gw CPU%", "us/call", "calls/core", "raw calls",
                "max/raw", "pipe/raw"))
    eff = {}
    for k in keys:
        rc, pc, src = raw_calls(k[1], d, k[0])
        j = best.get(k)
        if not j:
            out.append("%-10s %-11s %9s   (no passing run)" % (k[0], k[1], 0))
            continue
        upc = us_per_call(j)
        e = j["streams"] / rc if rc else None
        eff[k] = (j, e, upc)
        out.append("%-10s %-11s %9d %7.1f %9.1f %11.0f %9.0f %9.0f%% %9s" % (
            k[0], k[1], j["streams"], j["gw_cpu_pct"], upc or -1, j["streams_per_core"],
            rc or -1, 100 * e if e else -1, "%.0f%%" % (100 * pc / rc) if pc and rc else "-"))
    out.append("(max calls: the most calls with every packet through both ways, no UDP drop in the"
               " namespace and p99 over each stream's least latency < %d ms; us/call" % (P99_MAX_US // 1000) + ": gateway CPU per call per 20 ms at that load; calls/core: max calls"
               " / CPU fraction; raw calls: 20 ms / (both decoders + both encoders), same run, same"
               " core; pipe/raw: wims-codecbench's pipeline in a loop against raw)")
    w = eff.get(("wimsd", "opus-amrwb"))
    r = eff.get(("rtpengine", "opus-pcmu"))
    wp = eff.get(("wimsd", "opus-pcmu"))
    out.append("")
    for k, (j, e, upc) in sorted(eff.items(), key=lambda kv: kv[0][0] != "wimsd"):
        if e is not None:
            note = ""
            if k == ("wimsd", "opus-pcmu"):
                note = " (of wims-mediabench --raw's 48 kHz Opus; wimsd's pipeline runs it at 8 kHz)"
            elif k[0] == "wimsd":
                note = " (target >= 90%%: %s)" % ("met" if e >= 0.9 else "NOT met")
            out.append("%s %s: %.0f%% of the raw codec capacity%s" % (k[0], k[1], 100 * e, note))
    if wp and r:
        cw, cr = wp[0]["streams_per_core"], r[0]["streams_per_core"]
        out.append("wimsd / rtpengine on the same pair (opus-pcmu, ng codec transcode PCMU):"
                   " max calls %d / %d = %.2f; calls per core %.0f / %.0f = %.2f (target >= 1.5: %s)" % (
                       wp[0]["streams"], r[0]["streams"], wp[0]["streams"] / r[0]["streams"], cw, cr,
                       cw / cr if cr > 0 else float("inf"), "met" if cr > 0 and cw / cr >= 1.5 else "NOT met"))
        rr = raw_call_us("opus-pcmu", d)
        if r[2] and rr:
            out.append("  rtpengine's CPU beyond its codecs per call per 20 ms: %.1f us (libopus 48 kHz stereo,"
                       " complexity 10); wimsd runs Opus at 8 kHz mono, complexity 5 toward a G.711 side"
                       " (src/codec/transcode.c pick_rates), which wims-mediabench --raw opus-pcmu (48 kHz)"
                       " does not measure: part of the ratio is that choice of codec work" % (r[2] - rr))
    if w and r and w[1] and r[1]:
        out.append("wimsd opus-amrwb against rtpengine: no common pair with AMR (Debian's rtpengine cannot"
                   " encode AMR/AMR-WB: rtpengine-amr.txt); normalised:")
        out.append("  share of the raw codec capacity, wimsd opus-amrwb / rtpengine opus-pcmu:"
                   " %.2f" % (w[1] / r[1]))
        ow = w[2] - (20000 / raw_calls("opus-amrwb", d)[0]) if w[2] else None
        rr = raw_call_us("opus-pcmu", d)
        orr = r[2] - rr if r[2] and rr else None
        if ow is not None and orr is not None:
            out.append("  gateway CPU beyond the codecs per call per 20 ms: wimsd %.1f us, rtpengine"
                       " %.1f us (rtpengine / wimsd %.2f)" % (ow, orr, orr / ow if ow > 0 else float("inf")))
    return out


def raw_lines(d):
    cb = load(os.path.join(d, "codecbench.json"))
    out = ["raw codec cost on the gateway's core (us per 20 ms; decoder + encoder of both sides):"]
    for p in (cb or {}).get("pairs", []):
        out.append("  wims-codecbench       %-14s enc/dec A %6.1f/%5.1f  B %6.1f/%5.1f  raw %4.0f calls/core,"
                   " wims pipeline in a loop %4.0f" % (p["pair"], p["enc_a_us"], p["dec_a_us"],
                                                      p["enc_b_us"], p["dec_b_us"],
                                                      p["raw_calls_per_core"], p["gw_calls_per_core"]))
    for pair in ("opus-amrwb", "pcmu-amr", "opus-pcmu", "opus-amrwb-50"):
        r = load(os.path.join(d, "raw-%s.json" % pair))
        if r and "rtpengine_opus" in r:
            o = r["rtpengine_opus"]
            out.append("  wims-mediabench --raw %-14s enc/dec web %6.1f/%5.1f (libopus as rtpengine: 48 kHz"
                       " stereo, complexity 10, 32 kb/s)  raw %4.0f calls/core" % (
                           pair, o["enc_us"], o["dec_us"], o["raw_calls_per_core"]))
        if r:
            out.append("  wims-mediabench --raw %-14s enc/dec web %6.1f/%5.1f (PCM %5d Hz)  plain %6.1f/%5.1f"
                       "  raw %4.0f calls/core%s" % (pair, r["enc_web_us"], r["dec_web_us"], r["rate_web"],
                                                   r["enc_plain_us"], r["dec_plain_us"],
                                                   r["raw_calls_per_core"],
                                                   " (%d states)" % r["states"] if r.get("states", 1) > 1 else ""))
    return out


def by_ladder(runs):
    """Runs grouped by gateway and pair in the order the groups first ran,
    each group by load (the refining runs come after the ladder's failure)."""
    order = []
    for j in runs:
        k = (j.get("label"), j.get("xcode"))
        if k not in order:
            order.append(k)
    return sorted(runs, key=lambda j: (order.index((j.get("label"), j.get("xcode"))), j.get("streams", 0)))


def report(d):
    runs = [json.loads(line) for line in open(os.path.join(d, "results.jsonl")) if line.strip()]
    for line in raw_lines(d):
        print(line)
    print()
    print(HEAD)
    for j in by_ladder(runs):
        print(row(j))
    for line in summary(runs, d):
        print(line)
    inter = os.path.join(d, "interference.log")
    if os.path.exists(inter):
        with open(inter) as f:
            n = sum(1 for line in f if line[:2].isdigit())
        print("\nWARNING: other real-time processes ran beside %d of the runs (%s): those figures are void"
              % (n, inter))
    amr = os.path.join(d, "rtpengine-amr.txt")
    if os.path.exists(amr):
        print("\nrtpengine and AMR-WB (%s):" % amr)
        with open(amr) as f:
            for line in f:
                if line.strip() and not line.startswith(("v=", "o=", "s=", "t=", "c=", "a=")):
                    print("  " + line.rstrip()[:200])


def selftest():
    """The acceptance rule and the refinement on made-up runs; 0 when right."""
    d = {"sent": 100, "recv": 100, "loss_pct": 0.0, "lat_us": {"p50": 900.0, "p99": 2000.0}}
    ok = {"label": "wimsd", "xcode": "opus-amrwb", "streams": 50, "established": 50, "udp_drops": 0,
          "fwd": dict(d), "rev": dict(d), "rel_lat_us": {"fwd": {"p99": 1000.0}, "rev": {"p99": 49999.0}}}
    bad = []
    if not passed(ok):
        bad.append("a clean run failed")
    for name, change in (("a lost packet", lambda j: j["rev"].update(recv=99)),
                         ("a UDP drop", lambda j: j.update(udp_drops=1)),
                         ("a call not set up", lambda j: j.update(established=49)),
                         ("rel p99 of 50 ms", lambda j: j["rel_lat_us"]["fwd"].update(p99=50000.0)),
                         ("a crash", lambda j: j.update(crashed=True))):
        j = json.loads(json.dumps(ok))
        change(j)
        if passed(j):
            bad.append(name + " passed")
    # bisecting 50 (pass) .. 56 (fail): 53, then 54 or 51 ...; the last
    # interval at most 1 call wide at 56 and 4 at 200
    steps, lo, hi = [], 50, 56
    while next_load(lo, hi) is not None:
        n = next_load(lo, hi)
        steps.append(n)
        lo, hi = (n, hi) if n <= 54 else (lo, n)  # 54 passes, 55 fails
    if steps != [53, 54, 55] or (lo, hi) != (54, 55):
        bad.append("bisect 50..56 gave %s, (%d, %d)" % (steps, lo, hi))
    for lo, hi, want in ((186, 200, 193), (186, 190, None), (196, 200, None), (0, 6, None), (7, 6, None),
                         (1, 3, 2), (1, 2, None)):
        if next_load(lo, hi) != want:
            bad.append("next_load(%d, %d) = %s, not %s" % (lo, hi, next_load(lo, hi), want))
    rows = by_ladder([{"label": "w", "xcode": "a", "streams": 56}, {"label": "r", "xcode": "b", "streams": 9},
                      {"label": "w", "xcode": "a", "streams": 53}, {"label": "w", "xcode": "a", "streams": 6}])
    if [r["streams"] for r in rows] != [6, 53, 56, 9]:
        bad.append("rows in the wrong order: %s" % [r["streams"] for r in rows])
    for b in bad:
        print("xcode_report selftest: " + b, file=sys.stderr)
    return 1 if bad else 0


def main(argv):
    if len(argv) == 2 and argv[1] == "--selftest":
        return selftest()
    if len(argv) == 4 and argv[1] == "--next":
        n = next_load(int(argv[2]), int(argv[3]))
        if n is None:
            return 1
        print(n)
        return 0
    if len(argv) == 3 and argv[1] == "--line":
        j = load(argv[2])
        print(row(j) if j else "unreadable: " + argv[2])
        return 0
    if len(argv) == 3 and argv[1] == "--pass":
        return 0 if passed(load(argv[2])) else 1
    if len(argv) in (4, 5) and argv[1] == "--raw":
        rc = raw_calls(argv[2], argv[3], argv[4] if len(argv) == 5 else "rtpengine")[0]
        if not rc:
            return 1
        print("%.0f" % rc)
        return 0
    if len(argv) == 2:
        report(argv[1])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
