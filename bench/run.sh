#!/usr/bin/env bash
# wims benchmark: wimsd (IWU role) against Kamailio with its websocket module,
# both relaying SIP over WebSocket to the same Kamailio P-CSCF / S-CSCF lab
# core, both pinned to CPU 1; the load generator (build/wims-bench) and the
# lab core run on CPU 0.  Everything runs in a fresh network namespace with
# only a loopback interface: no packet leaves 127.0.0.0/8.
#
#   bench/run.sh                 # the whole run (about 15 minutes)
#   bench/run.sh --quick         # short runs, 2,000 held connections
#   bench/run.sh --roles         # only part (c): the P-CSCF role against the IWU role (about 11 minutes)
#
# Environment: WIMS_BUILD (default build/), WIMSD, WIMS_BENCH, BENCH_DUR
# (seconds per load run, default 10), BENCH_CONNS (load connections, 50),
# BENCH_WINDOW (outstanding transactions per connection, 2), HOLD_CONNS
# (10000), HOLD_S (30), BENCH_OUT (directory for logs and results, default
# a new one under /tmp), BENCH_SCENARIOS ("register options call"),
# BENCH_ROLE_SCENARIOS (part c: "register register-dereg call-registered"),
# BENCH_ROLE_REPEAT (part c: equal-load runs per role, 3), BENCH_PERF=1
# (perf record -g of the gateway in each saturating run; =all: in every run).
set -u -o pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$SRC/bench/netns.sh"
bench_netns 1500 "$@" # the whole run is bounded

QUICK=0 ROLES_ONLY=0
for a in "$@"; do
	case $a in
	--quick) QUICK=1 ;;
	--roles) ROLES_ONLY=1 ;; # only part (c), the P-CSCF role against the IWU role
	*) echo "usage: bench/run.sh [--quick] [--roles]" >&2; exit 2 ;;
	esac
done
BUILD=${WIMS_BUILD:-$SRC/build}
WIMSD=${WIMSD:-$BUILD/wimsd}
BENCH=${WIMS_BENCH:-$BUILD/wims-bench}
DUR=${BENCH_DUR:-$([ $QUICK = 1 ] && echo 4 || echo 10)}
CONNS=${BENCH_CONNS:-50}
WINDOW=${BENCH_WINDOW:-2}
HOLD_CONNS=${HOLD_CONNS:-$([ $QUICK = 1 ] && echo 2000 || echo 10000)}
HOLD_S=${HOLD_S:-$([ $QUICK = 1 ] && echo 10 || echo 30)}
SCENARIOS=${BENCH_SCENARIOS:-register options call}
OUT=${BENCH_OUT:-$(mktemp -d /tmp/wims-bench.XXXXXX)}
mkdir -p "$OUT"
LAB=$SRC/tests/lab
GW_CPU=1
LOAD_CPU=0
# Every process of the benchmark runs SCHED_RR (priority 10): on a machine
# shared with other work (builds, fuzzers) a CPU-bound neighbour on the
# gateway's core otherwise adds milliseconds of wake-up delay to the tail
# latency.  BENCH_RT=0 runs them as ordinary processes.
RT=(chrt -r 10)
[ "${BENCH_RT:-1}" = 0 ] && RT=()

for f in "$WIMSD" "$BENCH"; do
	[ -x "$f" ] || { echo "bench/run.sh: $f not built (cmake --build build)" >&2; exit 1; }
done
for t in kamailio sipp openssl taskset; do
	command -v $t >/dev/null || { echo "bench/run.sh: $t not installed" >&2; exit 1; }
done
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
declare -a PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	sleep 0.5
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
}
trap cleanup EXIT

wait_port() { # tcp|udp PORT
	local flag=-ltn i
	[ "$1" = udp ] && flag=-lun
	for i in $(seq 100); do
		ss -H $flag "sport = :$2" | grep -q . && return 0
		sleep 0.1
	done
	echo "bench/run.sh: nothing listens on $1 $2" >&2
	exit 1
}

kam() { # NAME CFG CPU [args]: start a Kamailio pinned to CPU, pid in $KPID
	local name=$1 cfg=$2 cpu=$3
	shift 3
	mkdir -p "$OUT/$name.run"
	taskset -c "$cpu" "${RT[@]}" kamailio -f "$cfg" -DD -E -Y "$OUT/$name.run" -P "$OUT/$name.run/pid" -w "$OUT/$name.run" \
		"$@" </dev/null >"$OUT/$name.log" 2>&1 &
	KPID=$!
	PIDS+=("$KPID")
}

stop_pid() {
	kill -TERM "$1" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# CPU time (clock ticks) of a process and its children
cpu_ticks() {
	local p t=0 v
	for p in $1 $(ps -o pid= --ppid "$1" 2>/dev/null); do
		v=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null) && t=$((t + v))
	done
	echo $t
}

# ------------------------------------------------------------------ the lab core
# The S-CSCF of tests/lab with users ue1..ue20000 (the lab table has ue1..ue4)
# (max_while_loops raised for the loop that fills the table) and a larger
# htable; the P-CSCF is the lab's with one TCP worker; both log warnings only.
sed -e 's/users=>size=4;/users=>size=15;/' \
	-e 's/^\(\t\$sht(users=>volte) = LAB_PASSWORD;\)$/\1\n\t$var(i) = 1;\n\twhile ($var(i) <= 20000) {\n\t\t$sht(users=>ue$var(i)) = LAB_PASSWORD;\n\t\t$var(i) = $var(i) + 1;\n\t}/' \
	-e 's/^debug=LOG_LEVEL/debug=1\nmax_while_loops=30000/' \
	"$LAB/kamailio/scscf.cfg" >"$OUT/scscf-bench.cfg"
sed -e 's/^debug=LOG_LEVEL/debug=1/' -e 's/^tcp_children=2/tcp_children=1/' "$LAB/kamailio/pcscf.cfg" >"$OUT/pcscf-bench.cfg"
grep -q 'ue\$var(i)' "$OUT/scscf-bench.cfg" || { echo "bench/run.sh: cannot derive the S-CSCF config" >&2; exit 1; }
kam scscf "$OUT/scscf-bench.cfg" $LOAD_CPU -m 2048 -M 32
SCSCF_PID=$KPID
wait_port udp 5080
kam pcscf "$OUT/pcscf-bench.cfg" $LOAD_CPU -m 2048 -M 32
wait_port udp 5070
taskset -c $LOAD_CPU "${RT[@]}" sipp -sf "$SRC/bench/sipp-uas.xml" -i 127.0.0.1 -p 5091 -mi 127.0.0.1 -mp 6010 \
	-ci 127.0.0.1 -cp 8091 -nostdin -trace_err -error_file "$OUT/sipp-errors.log" </dev/null >"$OUT/sipp.log" 2>&1 &
PIDS+=($!)
wait_port udp 5091
log "lab core up: S-CSCF 5080, P-CSCF 5070, sipp UAS 5091 (CPU $LOAD_CPU); results in $OUT"

# TLS certificate for wss:// (ECDSA P-256, as a production gateway would use)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=127.0.0.1 \
	-keyout "$OUT/key.pem" -out "$OUT/cert.pem" >/dev/null 2>&1 || { echo "openssl failed" >&2; exit 1; }

# ---------------------------------------------------------------- gateways
start_wimsd() { # [iwu|pcscf [regsub]]: the P-CSCF role toward the second S-CSCF (5081);
	# the IWU subscribes to the reg event for its browsers only with "regsub"
	# (part c): Kamailio's relay, which parts a and b compare it with, does not
	local role=${1:-iwu} next="[iwu]
pcscf = sip:127.0.0.1:5070;transport=udp
reg_subscribe = $([ "${2:-}" = regsub ] && echo yes || echo no)"
	[ "$role" = pcscf ] && next="[pcscf]
scscf = sip:127.0.0.1:5081;transport=udp"
	cat >"$OUT/wimsd.ini" <<INI
[general]
role = $role
log_level = warn
[ws]
; /metrics: the SIP messages each run carried through wimsd
admin = yes
listen = 127.0.0.1:8080
listen_tls = 127.0.0.1:8443
tls_cert = $OUT/cert.pem
tls_key = $OUT/key.pem
max_per_ip = 20000
max_connections = 30000
[sip]
listen_udp = 127.0.0.1:5060
listen_tcp = 127.0.0.1:5060
; the same job as Kamailio's relay: no preconditions or session timers added
; on the browsers' behalf, SDP passed untouched (media anchoring has its own
; benchmark, bench/media.sh)
precondition = no
session_expires = 0
[media]
anchor = no
$next
INI
	taskset -c $GW_CPU "${RT[@]}" "$WIMSD" -c "$OUT/wimsd.ini" </dev/null >>"$OUT/wimsd.log" 2>&1 &
	GW_PID=$!
	PIDS+=("$GW_PID")
	wait_port tcp 8080
	wait_port tcp 8443
}

start_kamailio_ws() {
	cat >"$OUT/tls.cfg" <<TLS
[server:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
private_key = $OUT/key.pem
certificate = $OUT/cert.pem
TLS
	kam kamws "$SRC/bench/kamailio-ws.cfg" $GW_CPU -m 1024 -M 16 -A WITH_TLS -A "TLS_CFG=\"$OUT/tls.cfg\""
	GW_PID=$KPID
	wait_port tcp 8080
	wait_port tcp 8443
}

# one load run: GW SCEN RATE -> appends a line to $OUT/results.tsv
run_load() {
	local gw=$1 scen=$2 rate=$3 extra=() c0 c1 hz
	# call: to the sipp callee behind the S-CSCF; options: answered by the
	# P-CSCF itself, so that the core's share of the work stays small
	[ "$scen" = call ] && extra=(--target sip:echo@ims.lab)
	[ "$scen" = options ] && extra=(--target sip:pcscf.ims.lab)
	# the role comparison: every register round an initial registration and
	# a de-registration; calls from registered users (the P-CSCF role
	# refuses the others)
	[ "$scen" = register-dereg ] && extra=(--dereg) && scen=register
	[ "$scen" = call-registered ] && extra=(--target sip:echo@ims.lab --register-first) && scen=call
	local name=$2 cap=
	# fixed-rate runs: a loopback capture of the gateway's two sides, for the
	# time each message spends inside it (bench/transit.py); BENCH_TRANSIT=0: none
	if [ "$rate" != 0 ] && [ "${BENCH_TRANSIT:-1}" = 1 ] && command -v tcpdump >/dev/null; then
		cap=$OUT/$gw-$name-$rate.pcap
		taskset -c $LOAD_CPU tcpdump -i lo -s 0 -B 131072 --time-stamp-precision=nano -w "$cap" \
			'port 8080 or port 5060 or (port 5070 and not port 5080)' 2>"$OUT/tcpdump.log" &
		CAP_PID=$!
		sleep 1
	fi
	# BENCH_PERF=1: a call-graph profile of the gateway during each saturating run
	local perf_pid=
	if { { [ "$rate" = 0 ] && [ "${BENCH_PERF:-0}" = 1 ]; } || [ "${BENCH_PERF:-0}" = all ]; } &&
		command -v perf >/dev/null; then
		taskset -c $LOAD_CPU perf record -F 1999 -g -p "$GW_PID" -o "$OUT/$gw-$name-$rate.perf.data" -- sleep "$DUR" \
			>/dev/null 2>>"$OUT/perf.log" &
		perf_pid=$!
	fi
	local m0=$OUT/$gw-$name-$rate.metrics0 m1=$OUT/$gw-$name-$rate.metrics1
	[[ $gw == wimsd* ]] && metrics "$m0"
	c0=$(cpu_ticks "$GW_PID")
	taskset -c $LOAD_CPU "${RT[@]}" "$BENCH" --url ws://127.0.0.1:8080/ --scenario "$scen" --conns "$CONNS" \
		--window "$WINDOW" --rate "$rate" --duration "$DUR" --timeout 5000 --json "${extra[@]}" \
		>"$OUT/$gw-$name-$rate.json" 2>>"$OUT/bench.log"
	c1=$(cpu_ticks "$GW_PID")
	[ -n "$perf_pid" ] && wait "$perf_pid"
	[[ $gw == wimsd* ]] && metrics "$m1"
	hz=$(getconf CLK_TCK)
	python3 - "$OUT/$gw-$name-$rate.json" "$gw" "$name" "$rate" $((c1 - c0)) "$hz" "$m0" "$m1" >>"$OUT/results.tsv" <<'PY'
import json, sys
f, gw, scen, rate, ticks, hz, m0, m1 = sys.argv[1:]
try:
    j = json.load(open(f))
except Exception:
    print(f"{gw}\t{scen}\t{rate}\tERROR"); sys.exit(0)
def sip_msgs(path):
    # requests and responses in and out (Kamailio has no /metrics: -1)
    n = 0
    try:
        for line in open(path):
            k, _, v = line.partition(" ")
            if k in ("wims_sip_requests_in_total", "wims_sip_responses_in_total",
                     "wims_sip_requests_out_total", "wims_sip_responses_out_total"):
                n += int(float(v))
    except (OSError, ValueError):
        return -1
    return n
cpu = int(ticks) / int(hz)
el = j["elapsed_s"] or 1
ok = j["ok"] or 1
a, b = sip_msgs(m0), sip_msgs(m1)
msgs = f"{(b - a) / ok:.2f}" if a >= 0 and b >= 0 and b > a else "-"
print(f'{gw}\t{scen}\t{rate}\t{j["rate"]:.0f}\t{j["ok"]}\t{j["failed"]}\t{j["lat_ms"]["p50"]:.2f}\t'
      f'{j["lat_ms"]["p99"]:.2f}\t{j["lat_ms"]["max"]:.1f}\t{100*cpu/el:.0f}\t{1e6*cpu/ok:.0f}\t'
      f'{json.dumps(j["failures"], separators=(",", ":"))}\t{msgs}')
PY
	tail -n 1 "$OUT/results.tsv" >&2
	if [ -n "$cap" ]; then
		sleep 0.5
		stop_pid "$CAP_PID"
		python3 "$SRC/bench/transit.py" "$cap" --json >"$OUT/$gw-$name-$rate.transit.json" 2>>"$OUT/bench.log" &&
			rm -f "$cap"
	fi
}

# wimsd's /metrics (SIP messages in and out) to FILE; nothing from Kamailio
metrics() {
	python3 -c 'import sys, urllib.request
sys.stdout.write(urllib.request.urlopen("http://127.0.0.1:8080/metrics", timeout=2).read().decode())' \
		>"$1" 2>/dev/null || : >"$1"
}

run_hold() { # GW
	local gw=$1
	log "$gw: hold $HOLD_CONNS wss:// connections for $HOLD_S s"
	taskset -c $LOAD_CPU "${RT[@]}" "$BENCH" --url wss://127.0.0.1:8443/ --scenario hold --conns "$HOLD_CONNS" \
		--duration "$HOLD_S" --keepalive 10 --ka-mode both --parallel 100 --timeout 30000 \
		--watch-pid "$2" --json >"$OUT/$gw-hold.json" 2>>"$OUT/bench.log"
	cat "$OUT/$gw-hold.json" >&2
}

printf 'gateway\tscenario\trate\ttps\tok\tfailed\tp50_ms\tp99_ms\tmax_ms\tgw_cpu%%\tgw_cpu_us/tx\tfailures\tsip_msgs/tx\n' >"$OUT/results.tsv"

measure() { # GW: saturating runs, then fixed-rate runs at the common rate
	local gw=$1 s
	for s in $SCENARIOS; do
		run_load "$gw" "$s" 0
	done
}

if [ $ROLES_ONLY = 0 ]; then
log "(a) wimsd $("$WIMSD" -V 2>/dev/null | head -1) in the IWU role on CPU $GW_CPU"
start_wimsd
taskset -c $LOAD_CPU "${RT[@]}" "$BENCH" --scenario register --conns 1 --expect 200 >"$OUT/smoke-wimsd.txt" 2>&1 ||
	log "wimsd smoke test failed: $(cat "$OUT/smoke-wimsd.txt")"
measure wimsd
# the memory figures need a fresh process: the load runs leave the allocator's
# high-water mark behind
stop_pid "$GW_PID"
start_wimsd
run_hold wimsd "$GW_PID"
stop_pid "$GW_PID"

log "(b) Kamailio $(kamailio -v 2>/dev/null | head -1 | awk '{print $3}') websocket module on CPU $GW_CPU"
start_kamailio_ws
taskset -c $LOAD_CPU "${RT[@]}" "$BENCH" --scenario register --conns 1 --expect 200 >"$OUT/smoke-kamailio.txt" 2>&1 ||
	log "kamailio smoke test failed: $(cat "$OUT/smoke-kamailio.txt")"
measure kamailio

# fixed-rate runs: both gateways at 50% of the lower of the two maxima, for p99 at equal load
for s in $SCENARIOS; do
	r=$(awk -F'\t' -v s="$s" '$2==s && $3==0 && $4+0>0 {if (m==""||$4+0<m) m=$4+0} END {printf "%d", m/2}' "$OUT/results.tsv")
	[ "${r:-0}" -gt 0 ] || continue
	run_load kamailio "$s" "$r"
	echo "$s $r" >>"$OUT/fixed-rates"
done
stop_pid "$GW_PID"
start_kamailio_ws
run_hold kamailio "$(echo "$GW_PID" $(ps -o pid= --ppid "$GW_PID") | tr -s ' ' ',')"
stop_pid "$GW_PID"

start_wimsd
while read -r s r; do run_load wimsd "$s" "$r"; done <"$OUT/fixed-rates"
stop_pid "$GW_PID"
fi # ROLES_ONLY

# ------------------------------------------- (c) the P-CSCF role against the IWU role
# wimsd as the P-CSCF talks to an S-CSCF with the IMS registrar behaviour
# (Service-Route, P-Associated-URI; the reg event package when the lab's
# S-CSCF has it) on 5081; the IWU role relays through the Kamailio P-CSCF to
# the S-CSCF on 5080, which then serves the reg event package too, and
# subscribes for each browser as its UE would ([iwu] reg_subscribe, on by
# default).  Same load: register + de-register rounds (each an initial
# registration, with the reg-event subscription the role makes and ends),
# calls from registered users.  BENCH_PCSCF=0 skips this part.
if [ "${BENCH_PCSCF:-1}" = 1 ]; then
	# (its own address for the reg event package: pua_reginfo PUBLISHes the
	# registrations to REGINFO_URI through SCSCF_URI, the 5080 S-CSCF otherwise)
	ims=(-A WITH_IMS_REG -A SCSCF_PORT=5081 -A 'SCSCF_URI="sip:127.0.0.1:5081"'
		-A 'REGINFO_URI="sip:reginfo@127.0.0.1:5081"')
	grep -q WITH_REGINFO "$LAB/kamailio/scscf.cfg" && [ -d /usr/share/kamailio/dbtext/kamailio ] &&
		ims+=(-A WITH_REGINFO -A "DBTEXT_URL=\"text://$OUT/scscf.db\"")
	# every run with a fresh wimsd and, for the P-CSCF role, a fresh S-CSCF,
	# so that no run inherits bindings or subscriptions of an earlier one:
	# the load tool's connections close without a de-registration, and
	# Kamailio's presence module (subs_db_mode 0) fails to delete some ended
	# subscriptions ("delete_subs(): Failed to delete subscription from memory")
	SCSCF_IMS_PID=
	scscf_ims() { # start|stop
		if [ -n "$SCSCF_IMS_PID" ]; then
			stop_pid "$SCSCF_IMS_PID"
			pkill -TERM -f "kamailio -f $OUT/scscf-bench.cfg .*SCSCF_PORT=5081" 2>/dev/null
			for _ in $(seq 50); do ss -H -lun "sport = :5081" | grep -q . || break; sleep 0.1; done
			SCSCF_IMS_PID=
		fi
		[ "$1" = start ] || return 0
		rm -rf "$OUT/scscf.db" && mkdir -p "$OUT/scscf.db" && cp /usr/share/kamailio/dbtext/kamailio/* "$OUT/scscf.db/"
		kam scscf-ims "$OUT/scscf-bench.cfg" $LOAD_CPU -m 2048 -M 32 "${ims[@]}"
		SCSCF_IMS_PID=$KPID
		wait_port udp 5081
	}
	# the IWU chain's S-CSCF (5080) with the reg event package, fresh for each
	# IWU run for the same reason (in place of the plain one of parts a and b)
	reg80=(-A WITH_REGINFO -A "DBTEXT_URL=\"text://$OUT/scscf80.db\"")
	scscf80() { # start|stop
		if [ -n "$SCSCF_PID" ]; then
			stop_pid "$SCSCF_PID"
			for _ in $(seq 50); do ss -H -lun "sport = :5080" | grep -q . || break; sleep 0.1; done
			SCSCF_PID=
		fi
		[ "$1" = start ] || return 0
		rm -rf "$OUT/scscf80.db" && mkdir -p "$OUT/scscf80.db" && cp /usr/share/kamailio/dbtext/kamailio/* "$OUT/scscf80.db/"
		kam scscf80 "$OUT/scscf-bench.cfg" $LOAD_CPU -m 2048 -M 32 "${reg80[@]}"
		SCSCF_PID=$KPID
		wait_port udp 5080
	}
	scscf80 stop
	role_run() { # ROLE SCENARIO RATE
		if [ "$1" = pcscf ]; then scscf_ims start; else scscf80 start; fi
		start_wimsd "$1" regsub
		run_load "wimsd-$1" "$2" "$3"
		stop_pid "$GW_PID"
		scscf_ims stop
		scscf80 stop
	}
	log "(c) wimsd in the P-CSCF role (S-CSCF 5081: ${ims[*]}) against the IWU role"
	ROLE_SCEN=${BENCH_ROLE_SCENARIOS:-register register-dereg call-registered}
	for role in iwu pcscf; do
		for s in $ROLE_SCEN; do role_run $role "$s" 0; done
	done
	for s in $ROLE_SCEN; do
		r=$(awk -F'\t' -v s="$s" '$1 ~ /^wimsd-/ && $2==s && $3==0 && $4+0>0 {if (m==""||$4+0<m) m=$4+0} END {printf "%d", m/2}' "$OUT/results.tsv")
		[ "${r:-0}" -gt 0 ] && echo "$s $r" >>"$OUT/role-rates"
	done
	# the equal-load runs BENCH_ROLE_REPEAT times (default 3), the roles in
	# turn, so that a drift of the shared lab core weighs on both alike; the
	# report takes the median of the pairs
	for _ in $(seq "${BENCH_ROLE_REPEAT:-3}"); do
		for role in iwu pcscf; do
			[ -f "$OUT/role-rates" ] && while read -r s r; do role_run $role "$s" "$r"; done <"$OUT/role-rates"
		done
	done
fi

# ---------------------------------------------------------------- report
python3 "$SRC/bench/report.py" "$OUT" | tee "$OUT/report.txt"
