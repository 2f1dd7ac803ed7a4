#!/usr/bin/env bash
# wims transcoding benchmark (issue 5): transcoded calls per core at real
# time without loss, for the gateway as a whole, beside the raw cost of the
# same codecs (tools/wims-codecbench and wims-mediabench --raw, same run) and
# beside rtpengine transcoding in the same run.
#
#   bench/xcode.sh            # about 8-10 minutes
#   bench/xcode.sh --quick    # two small loads per gateway and pair, under 2 minutes
#
# The gateway under test runs on CPU 0 (taskset, SCHED_RR), the load tool
# (wims-mediabench --xcode PAIR: each call an ng offer with the WebRTC codec
# and codec: {transcode: [plain codec]}, an answer with the plain codec only,
# ICE + DTLS-SRTP on the WebRTC side, real encoded 20 ms frames both ways) on
# CPU 1, in a network namespace of its own (bench/netns.sh).
#   wimsd:     opus-amrwb (Opus <-> AMR-WB), pcmu-amr (PCMU <-> AMR) and
#              opus-pcmu (Opus <-> PCMU: the pair both gateways transcode)
#   rtpengine: opus-amrwb once (Debian's rtpengine cannot encode AMR: the
#              probe keeps what it says), then opus-pcmu (Opus <-> PCMU)
# The report gives wimsd / rtpengine calls per core on opus-pcmu.
# Each ladder climbs in fractions of the pair's raw capacity (calls per core
# the codecs alone allow) and stops at the first run with any loss, a UDP
# drop in the namespace, a call not set up, or a relative p99 of 50 ms or
# more; then it bisects between the last load that passed and that one
# until they are within 2% (one call at 50), so the most calls reported is
# not a step of the ladder but the real figure.
#
# Environment: WIMS_BUILD (default build/), WIMSD, WIMS_MEDIABENCH,
# WIMS_CODECBENCH, RTPENGINE, XCODE_DUR (seconds per run), XCODE_STEPS
# (fractions of the raw capacity), XCODE_REFINE=0/1 (bisect after the first
# failure; default 1, 0 with --quick), BENCH_OUT, BENCH_RT=0 (no SCHED_RR).
set -u -o pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$SRC/bench/netns.sh"
if [ "${1:-}" = --quick ]; then bench_netns 150 "$@"; else bench_netns 780 "$@"; fi

QUICK=0
[ "${1:-}" = --quick ] && QUICK=1
BUILD=${WIMS_BUILD:-$SRC/build}
WIMSD=${WIMSD:-$BUILD/wimsd}
TOOL=${WIMS_MEDIABENCH:-$BUILD/wims-mediabench}
CODECBENCH=${WIMS_CODECBENCH:-$BUILD/wims-codecbench}
RTPENGINE=${RTPENGINE:-rtpengine}
DUR=${XCODE_DUR:-$([ $QUICK = 1 ] && echo 3 || echo 8)}
STEPS=${XCODE_STEPS:-$([ $QUICK = 1 ] && echo 0.2 0.4 0.6 || echo 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.75 0.8 0.85 0.9 0.95 1.0)}
REFINE=${XCODE_REFINE:-$([ $QUICK = 1 ] && echo 0 || echo 1)}
RAW_S=$([ $QUICK = 1 ] && echo 1 || echo 4)
OUT=${BENCH_OUT:-$(mktemp -d /tmp/wims-xcodebench.XXXXXX)}
mkdir -p "$OUT"
AGW_TOOLS=$CODECBENCH
. "$SRC/bench/agw.sh"

# other real-time processes (another benchmark) share the cores and void
# the figures: noted in interference.log, which the report prints
rt_others() { # LABEL
	local found
	found=$(ps -eo pid=,cls=,args= | awk -v me="$GW_PID" '($2 == "RR" || $2 == "FF") && $3 !~ /^\[/ && $1 != me')
	[ -n "$found" ] && printf '%s %s:\n%s\n' "$(date +%T)" "$1" "$found" >>"$OUT/interference.log"
	return 0
}

# one load run: GW NG PAIR CALLS [tool args] -> $OUT/GW-PAIR-CALLS.json + results.jsonl;
# 0 when it passed (every call set up, no loss either way, no UDP drop)
run_load() {
	local gw=$1 ng=$2 pair=$3 n=$4 f
	shift 4
	f="$OUT/$gw-$pair-$n.json"
	rt_others "$gw-$pair-$n"
	taskset -c $LOAD_CPU "${RT[@]}" "$TOOL" --ng "$ng" --streams "$n" --duration "$DUR" --xcode "$pair" \
		--pid "$GW_PID" --label "$gw" "$@" >"$f" 2>>"$OUT/tool.log"
	if [ -s "$f" ]; then
		cat "$f" >>"$OUT/results.jsonl"
		python3 "$SRC/bench/xcode_report.py" --line "$f" >&2
	else
		echo "{\"label\":\"$gw\",\"xcode\":\"$pair\",\"streams\":$n,\"error\":true}" >>"$OUT/results.jsonl"
		log "$gw $pair $n calls: the tool failed (see $OUT/tool.log)"
		return 1
	fi
	if ! kill -0 "$GW_PID" 2>/dev/null; then
		log "$gw died during the $n-call run"
		echo "{\"label\":\"$gw\",\"xcode\":\"$pair\",\"streams\":$n,\"crashed\":true}" >>"$OUT/results.jsonl"
		return 1
	fi
	python3 "$SRC/bench/xcode_report.py" --pass "$f"
}

ladder() { # GW NG PAIR RAW_CALLS_PER_CORE
	local n last=0 s lo=0 hi=0
	for s in $STEPS; do
		n=$(python3 -c "import sys; print(max(1, round($4 * $s)))")
		[ "$n" -le "$last" ] && continue
		last=$n
		if run_load "$1" "$2" "$3" "$n"; then lo=$n; else hi=$n; break; fi
	done
	# the steps are coarse (50 -> 56 calls): bisect between the last load
	# that passed and the first that failed (xcode_report.py --next), so
	# that the capacity reported is the real one within 2%
	[ "$REFINE" = 1 ] || return 0
	while [ "$hi" -gt 0 ] && n=$(python3 "$SRC/bench/xcode_report.py" --next "$lo" "$hi"); do
		kill -0 "$GW_PID" 2>/dev/null || return 0
		sleep 1 # what the failed run queued drains
		if run_load "$1" "$2" "$3" "$n"; then lo=$n; else hi=$n; fi
	done
}

: >"$OUT/results.jsonl"
log "results in $OUT; gateways on CPU $GW_CPU, load on CPU $LOAD_CPU, $DUR s per run"

log "(0) raw codec cost on CPU $GW_CPU: wims-codecbench (wimsd's pairs) and wims-mediabench --raw"
taskset -c $GW_CPU "${RT[@]}" "$CODECBENCH" --json --seconds "$RAW_S" >"$OUT/codecbench.json" 2>>"$OUT/tool.log" ||
	{ log "wims-codecbench failed"; exit 1; }
for p in opus-amrwb pcmu-amr opus-pcmu; do
	taskset -c $GW_CPU "${RT[@]}" "$TOOL" --raw $p --duration "$RAW_S" >"$OUT/raw-$p.json" 2>>"$OUT/tool.log" ||
		{ log "wims-mediabench --raw $p failed"; exit 1; }
done
# the same with the frames going round 50 codec states, as 50 calls' would (caches)
taskset -c $GW_CPU "${RT[@]}" "$TOOL" --raw opus-amrwb --streams 50 --duration "$RAW_S" >"$OUT/raw-opus-amrwb-50.json" \
	2>>"$OUT/tool.log" || log "wims-mediabench --raw opus-amrwb --streams 50 failed"
raw() { python3 "$SRC/bench/xcode_report.py" --raw "$1" "$OUT" ${2:-}; } # PAIR [wimsd]

log "(a) wimsd $("$WIMSD" -V 2>/dev/null | head -1), 1 media worker"
start_wimsd
ladder wimsd $WIMS_NG opus-amrwb "$(raw opus-amrwb)"
ladder wimsd $WIMS_NG pcmu-amr "$(raw pcmu-amr)"
# the same ladder as rtpengine's below (wims' own Opus raw capacity is lower: it would stop early)
ladder wimsd $WIMS_NG opus-pcmu "$(raw opus-pcmu)"
stop_pid "$GW_PID"

RTPE_VER=$("$RTPENGINE" --version 2>&1 | head -1 | sed 's/Version: /rtpengine /')
log "(b) $RTPE_VER: can it transcode Opus <-> AMR-WB? (one call, answered with AMR-WB regardless)"
start_rtpengine 7
run_load rtpengine $RTPE_NG opus-amrwb 1 --xcode-force --setup-timeout 10 >/dev/null 2>&1 || true
stop_pid "$GW_PID"
{
	echo "# $RTPE_VER"
	grep -E "Codec AMR(-WB)? is only supported" "$OUT/rtpengine.log"
	grep -E "AMR-WB not present|Usage error" "$OUT/rtpengine.log" | sed 's/^\[[0-9.]*\] //' | sort -u
	grep -A14 "the gateway's offer has no AMR-WB" "$OUT/tool.log" | head -15
} >"$OUT/rtpengine-amr.txt"
mv "$OUT/rtpengine.log" "$OUT/rtpengine-amr-probe.log"

log "(c) $RTPE_VER transcoding Opus <-> PCMU (a pair it can encode both ways)"
start_rtpengine 4
ladder rtpengine $RTPE_NG opus-pcmu "$(raw opus-pcmu)"
stop_pid "$GW_PID"

python3 "$SRC/bench/xcode_report.py" "$OUT" | tee "$OUT/report.txt"
