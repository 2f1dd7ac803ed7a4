#!/usr/bin/env bash
# wims media benchmark: wimsd's media gateway (AGW, driven over its ng
# listener) against rtpengine (userspace forwarding), both pinned to CPU 0;
# the load tool (build/wims-mediabench: N WebRTC streams with ICE +
# DTLS-SRTP at 50 packets a second, relayed to plain RTP sinks) on CPU 1.
# Everything runs in a fresh network namespace with only a loopback
# interface: no packet leaves 127.0.0.0/8.
#
#   bench/media.sh                # the ladder for both (about 6-10 minutes)
#   bench/media.sh --quick        # one small load each (under a minute)
#
# Environment: WIMS_BUILD (default build/), WIMSD, WIMS_MEDIABENCH,
# MEDIA_DUR (seconds per load run, default 10), MEDIA_LADDER (stream counts,
# default "50 100 200 400 600 800 1000 1200 1600 2400 3200"), MEDIA_TICK_US
# (the tool's send tick, default 50), MEDIA_REVERSE=1 (also the plain ->
# WebRTC direction), MEDIA_BUSY_POLL=1 (the tool never sleeps),
# WIMSD_BUSY_POLL_US (wimsd's [media] busy_poll_us, default 0), MEDIA_CODEC (pcmu|opus), BENCH_OUT
# (directory for logs and results, default a new one under /tmp), BENCH_RT=0
# (no SCHED_RR), RTPENGINE (default rtpengine).
set -u -o pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$SRC/bench/netns.sh"
bench_netns 1200 "$@" # the whole run is bounded

QUICK=0
[ "${1:-}" = --quick ] && QUICK=1
BUILD=${WIMS_BUILD:-$SRC/build}
WIMSD=${WIMSD:-$BUILD/wimsd}
TOOL=${WIMS_MEDIABENCH:-$BUILD/wims-mediabench}
RTPENGINE=${RTPENGINE:-rtpengine}
DUR=${MEDIA_DUR:-$([ $QUICK = 1 ] && echo 4 || echo 10)}
LADDER=${MEDIA_LADDER:-$([ $QUICK = 1 ] && echo 100 || echo 50 100 200 400 600 800 1000 1200 1600 2400 3200)}
CODEC=${MEDIA_CODEC:-pcmu}
EXTRA=()
[ "${MEDIA_REVERSE:-0}" = 1 ] && EXTRA+=(--reverse)
# the tool spins on its core instead of sleeping: the gateways then pay no
# cross-CPU wake-up per packet (a loopback artefact; it starves CPU 1)
[ "${MEDIA_BUSY_POLL:-0}" = 1 ] && EXTRA+=(--busy-poll)
# MEDIA_TICK_US: the tool's send tick.  50 (the default here) spreads the
# streams over the 20 ms as independent phones would; 1000 (the tool's own
# default, and these runs' before 2026-11-26) sends N/20 packets at the same
# instant every ms, a burst the gateway serves one after the other
EXTRA+=(--tick-us "${MEDIA_TICK_US:-50}")
OUT=${BENCH_OUT:-$(mktemp -d /tmp/wims-mediabench.XXXXXX)}
mkdir -p "$OUT"
. "$SRC/bench/agw.sh"

# one load run: GW NG STREAMS [tool args] -> $OUT/GW-STREAMS.json, a line in results.jsonl
run_load() {
	local gw=$1 ng=$2 n=$3 f
	shift 3
	f="$OUT/$gw-$n.json"
	taskset -c $LOAD_CPU "${RT[@]}" "$TOOL" --ng "$ng" --streams "$n" --duration "$DUR" --codec "$CODEC" \
		--pid "$GW_PID" --label "$gw" "${EXTRA[@]}" "$@" >"$f" 2>>"$OUT/tool.log"
	if [ -s "$f" ]; then
		cat "$f" >>"$OUT/results.jsonl"
		python3 "$SRC/bench/media_report.py" --line "$f" >&2
	else
		echo "{\"label\":\"$gw\",\"streams\":$n,\"error\":true}" >>"$OUT/results.jsonl"
		log "$gw $n streams: the tool failed (see $OUT/tool.log)"
	fi
	if [ "$GW_PID" != 0 ] && ! kill -0 "$GW_PID" 2>/dev/null; then
		log "$gw died during the $n-stream run"
		echo "{\"label\":\"$gw\",\"streams\":$n,\"crashed\":true}" >>"$OUT/results.jsonl"
		return 1
	fi
	# go on up the ladder while loss < 0.1% and every stream is set up (a
	# saturated gateway may still lose nothing, queueing instead: the report
	# also gives the highest count with p99 < 10 ms)
	python3 - "$f" <<'PY'
import json, sys
try:
    j = json.load(open(sys.argv[1]))
except Exception:
    sys.exit(1)
ok = (j["fwd"]["loss_pct"] < 0.1 and (not j["rev"] or j["rev"]["loss_pct"] < 0.1)
      and j["established"] == j["streams"])
sys.exit(0 if ok else 1)
PY
}

ladder() { # GW NG
	local n
	for n in $LADDER; do
		run_load "$1" "$2" "$n" || break
	done
}

# the highest stream count a gateway carried (< 0.1% loss, p99 < 10 ms) in results.jsonl
max_usable() {
	python3 "$SRC/bench/media_report.py" --max-usable "$1" "$OUT/results.jsonl"
}

: >"$OUT/results.jsonl"
log "results in $OUT; gateways on CPU $GW_CPU, load on CPU $LOAD_CPU, $DUR s per run"

log "(0) baseline: the same load straight from the WebRTC sockets to the sinks, no gateway"
GW_PID=0
for n in $LADDER; do
	run_load direct 127.0.0.1:9 "$n" --direct >/dev/null 2>&1 || true
	[ $QUICK = 1 ] && break
done

log "(a) wimsd $("$WIMSD" -V 2>/dev/null | head -1) AGW, 1 media worker"
start_wimsd
ladder wimsd $WIMS_NG
stop_pid "$GW_PID"

log "(b) $("$RTPENGINE" --version 2>&1 | head -1 | sed 's/Version: /rtpengine /'), userspace forwarding"
start_rtpengine
ladder rtpengine $RTPE_NG
stop_pid "$GW_PID"

# equal-load runs, the latency target's "half load": both at half of wimsd's
# own maximum, the highest count it carried with < 0.1% loss and p99 < 10 ms
# (past it a gateway queues: loss-free at 60 ms is not a load it carries)
if [ $QUICK = 1 ]; then
	echo "$LADDER" >"$OUT/half-load"
else
	half=$(($(max_usable wimsd) / 2))
	if [ "$half" -gt 0 ]; then
		echo "$half" >"$OUT/half-load"
		GW_PID=0
		run_load direct 127.0.0.1:9 "$half" --direct >/dev/null 2>&1 || true
		start_wimsd
		run_load wimsd $WIMS_NG "$half" || true
		stop_pid "$GW_PID"
		start_rtpengine
		run_load rtpengine $RTPE_NG "$half" || true
		stop_pid "$GW_PID"
	fi
fi

# ---------------------------------------------------------------- report
python3 "$SRC/bench/media_report.py" "$OUT" | tee "$OUT/report.txt"
