#!/usr/bin/env python3
"""Summarise a bench/run.sh result directory: the table of runs, the ratios
wimsd / Kamailio, and the targets of the benchmark issue."""
import json
import os
import sys

out = sys.argv[1]
rows = []
with open(os.path.join(out, "results.tsv")) as f:
    head = f.readline().rstrip("\n").split("\t")
    for line in f:
        v = line.rstrip("\n").split("\t")
        if len(v) < len(head):
            continue
        rows.append(dict(zip(head, v)))


def get(gw, scen, fixed):
    for r in rows:
        if r["gateway"] == gw and r["scenario"] == scen and (r["rate"] != "0") == fixed:
            return r
    return None


def num(r, k):
    try:
        return float(r[k])
    except (TypeError, KeyError, ValueError):
        return float("nan")


def proj(r):
    """Transactions/s the gateway would carry at 100% of its core, from its CPU time per transaction."""
    us = num(r, "gw_cpu_us/tx")
    return 1e6 / us if us and us == us else float("nan")


print("\nRuns (gateway on CPU 1; load generator, P-CSCF, S-CSCF and sipp on CPU 0)")
print(f'{"gateway":9} {"scenario":9} {"offered":>8} {"tps":>7} {"ok":>8} {"failed":>6} {"p50 ms":>8} '
      f'{"p99 ms":>8} {"max ms":>8} {"gw CPU":>7} {"CPU us/tx":>9} {"tps@100%":>9}')
for r in rows:
    offered = "max" if r["rate"] == "0" else r["rate"] + "/s"
    print(f'{r["gateway"]:9} {r["scenario"]:9} {offered:>8} {r["tps"]:>7} {r["ok"]:>8} {r["failed"]:>6} '
          f'{r["p50_ms"]:>8} {r["p99_ms"]:>8} {r["max_ms"]:>8} {r["gw_cpu%"] + "%":>7} {r["gw_cpu_us/tx"]:>9} {proj(r):9.0f}'
          + ("" if r["failures"] in ("{}", '{"timeout":0,"flow_lost":0}') else "  " + r["failures"]))

print("\nRatios wimsd / Kamailio websocket (target: tps >= 1.5, p99 at equal load <= 1.0)")
print("  tps: measured at saturation of the whole chain; tps@100%: each gateway's own capacity")
print("  projected from its CPU time per transaction (= Kamailio's CPU/tx over wimsd's)")
print(f'{"scenario":9} {"tps ratio":>9} {"tps@100% ratio":>15} {"p99 ratio (equal load)":>23}')
verdict = []
for scen in ["register", "options", "call"]:
    w, k = get("wimsd", scen, False), get("kamailio", scen, False)
    wf, kf = get("wimsd", scen, True), get("kamailio", scen, True)
    if not w or not k:
        continue
    tr = num(w, "tps") / num(k, "tps") if num(k, "tps") else float("nan")
    pr = num(wf, "p99_ms") / num(kf, "p99_ms") if wf and kf and num(kf, "p99_ms") else float("nan")
    cr = proj(w) / proj(k)
    print(f"{scen:9} {tr:9.2f} {cr:15.2f} {pr:23.2f}")
    verdict.append((scen, tr, cr, pr))


def hold(name):
    p = os.path.join(out, f"{name}-hold.json")
    try:
        return json.load(open(p))
    except Exception:
        return None


print("\nIdle registered wss:// connections held with keep-alives")
for gw in ["wimsd", "kamailio"]:
    h = hold(gw)
    if not h:
        continue
    reg = h["registered"] or 1
    rss = (h["rss_kib"][2] - h["rss_kib"][0]) / reg
    pss = (h["pss_kib"][2] - h["pss_kib"][0]) / reg
    print(f'{gw:9} held {h["held"]}/{h["conns"]} (registered {h["registered"]}, connect failures '
          f'{h["conn_failed"]}, dropped {h["dropped"]}, unanswered pings {h["pings_unanswered"]}); '
          f'memory {h["rss_kib"][0]} -> {h["rss_kib"][2]} KiB Rss = {rss:.1f} KiB/connection '
          f'(Pss {pss:.1f})')



def transit(gw, scen):
    """The gateway's own transit times (bench/transit.py) of the fixed-rate run."""
    r = get(gw, scen, True)
    if not r:
        return None
    try:
        return json.load(open(os.path.join(out, f'{gw}-{scen}-{r["rate"]}.transit.json')))
    except Exception:
        return None


tr_rows = [(s, transit("wimsd", s), transit("kamailio", s)) for s in ["register", "options", "call"]]
tr_rows = [t for t in tr_rows if t[1] and t[2]]
if tr_rows:
    print("\nTime inside the gateway per message at equal load (loopback capture, bench/transit.py)")
    print(f'{"scenario":9} {"messages":>9} {"wimsd p50/p99/max us":>22} {"Kamailio p50/p99/max us":>25} {"p99 ratio":>10}')
    for s, w, k in tr_rows:
        ratio = w["p99_us"] / k["p99_us"] if k["p99_us"] else float("nan")
        print(f'{s:9} {w["messages"]:>9} {w["p50_us"]:8.0f}/{w["p99_us"]:.0f}/{w["max_us"]:.0f} '
              f'{k["p50_us"]:11.0f}/{k["p99_us"]:.0f}/{k["max_us"]:.0f} {ratio:10.2f}')
        for kind in sorted(set(w["by_kind"]) | set(k["by_kind"])):
            a, b = w["by_kind"].get(kind), k["by_kind"].get(kind)
            if a and b:
                print(f'    {kind:14} {a["n"]:>7}  wimsd {a["p50_us"]:6.0f}/{a["p99_us"]:<6.0f} '
                      f'Kamailio {b["p50_us"]:6.0f}/{b["p99_us"]:<6.0f}')

print("\nTargets")
for scen, tr, cr, pr in verdict:
    print(f'  {scen:9} tps >= 1.5x Kamailio: measured {"MET" if tr >= 1.5 else "MISSED"} ({tr:.2f}x), '
          f'capacity {"MET" if cr >= 1.5 else "MISSED"} ({cr:.2f}x); '
          f'p99 no worse: {"MET" if pr <= 1.0 else "MISSED"} ({pr:.2f}x)')
h = hold("wimsd")
if h:
    reg = h["registered"] or 1
    kib = (h["rss_kib"][2] - h["rss_kib"][0]) / reg
    print(f'  memory per idle registered WSS connection <= 20 KiB: {"MET" if kib <= 20 else "MISSED"} ({kib:.1f} KiB)')
    print(f'  10,000 registered WSS connections held: {"MET" if h["held"] >= 10000 and h["conns"] >= 10000 else "MISSED"}'
          f' ({h["held"]} held of {h["conns"]})')

# (c) the P-CSCF role against the IWU role (wimsd's own CPU per transaction)
def all_fixed(gw, scen):
    return [r for r in rows if r["gateway"] == gw and r["scenario"] == scen and r["rate"] != "0"]


def median(v):
    v = sorted(x for x in v if x == x)
    if not v:
        return float("nan")
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


roles = [(s, get("wimsd-iwu", s, False), get("wimsd-pcscf", s, False),
          all_fixed("wimsd-iwu", s), all_fixed("wimsd-pcscf", s))
         for s in ["register", "register-dereg", "call-registered"]]
roles = [r for r in roles if r[1] and r[2]]
if roles:
    print("\nP-CSCF role against the IWU role (wimsd alone on CPU 1; target: CPU per registration <= 1.25x)")
    print("  at max: each role as fast as its chain goes (the P-CSCF's chain is the S-CSCF with the reg event")
    print("  package, the IWU's the Kamailio P-CSCF and the S-CSCF); at equal load: both at the same fixed rate,")
    print("  repeated with the roles in turn: median of the runs and of the per-pair ratios (min-max);")
    print("  msgs = SIP messages through wimsd per round (in + out, wimsd's /metrics), us/msg = CPU per message")
    print(f'{"scenario":16} {"us/tx IWU":>10} {"P-CSCF":>7} {"tps IWU":>8} {"P-CSCF":>7} | {"equal load":>10} {"runs":>4} '
          f'{"us/tx IWU":>10} {"P-CSCF":>7} {"ratio":>6} {"(min-max)":>11} {"msgs IWU":>9} {"P-CSCF":>7} '
          f'{"us/msg IWU":>10} {"P-CSCF":>7} {"p99 IWU":>8} {"P-CSCF":>7}')
    for s, wi, wp, fi, fp in roles:
        pairs = list(zip(fi, fp))
        ratios = [num(q, "gw_cpu_us/tx") / num(p, "gw_cpu_us/tx") for p, q in pairs if num(p, "gw_cpu_us/tx")]
        eq = median(ratios)
        rng = f"({min(ratios):.2f}-{max(ratios):.2f})" if ratios else "-"
        ui, up = median([num(p, "gw_cpu_us/tx") for p, _ in pairs]), median([num(q, "gw_cpu_us/tx") for _, q in pairs])
        mi, mp = median([num(p, "sip_msgs/tx") for p, _ in pairs]), median([num(q, "sip_msgs/tx") for _, q in pairs])
        li, lp = median([num(p, "p99_ms") for p, _ in pairs]), median([num(q, "p99_ms") for _, q in pairs])
        rate = (fi[0]["rate"] + "/s") if fi else "-"
        print(f'{s:16} {wi["gw_cpu_us/tx"]:>10} {wp["gw_cpu_us/tx"]:>7} {wi["tps"]:>8} {wp["tps"]:>7} | '
              f'{rate:>10} {len(pairs):>4} {ui:>10.0f} {up:>7.0f} {eq:6.2f} {rng:>11} {mi:>9.1f} {mp:>7.1f} '
              f'{ui / mi if mi else float("nan"):>10.1f} {up / mp if mp else float("nan"):>7.1f} {li:>8.2f} {lp:>7.2f}')
        if s in ("register", "register-dereg"):
            what = "re-registration" if s == "register" else "initial registration + de-registration (with the reg-event subscription)"
            print(f'  target P-CSCF CPU per registration <= 1.25x IWU at equal load, {what}: '
                  f'{"MET" if eq <= 1.25 else "MISSED"} ({eq:.2f}x, median of {len(ratios)})')
