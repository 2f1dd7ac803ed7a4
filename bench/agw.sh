# What bench/media.sh and bench/xcode.sh share (sourced, after they set SRC,
# WIMSD, TOOL, RTPENGINE and OUT): the cores, the checks of the tools, process
# handling, and the two AGWs under test, wimsd (driven over ng only) and
# rtpengine (userspace forwarding). AGW_TOOLS: more binaries that must exist.
ME=bench/$(basename "$0")
GW_CPU=0
LOAD_CPU=1
WIMS_NG=127.0.0.1:2223
RTPE_NG=127.0.0.1:2224
# SCHED_RR as in bench/run.sh: a CPU-bound neighbour (builds) on the
# gateway's core would otherwise add milliseconds to the tail latency.
RT=(chrt -r 10)
[ "${BENCH_RT:-1}" = 0 ] && RT=()

for f in "$WIMSD" "$TOOL" ${AGW_TOOLS:-}; do
	[ -x "$f" ] || { echo "$ME: $f not built (cmake --build build)" >&2; exit 1; }
done
for t in "$RTPENGINE" taskset python3; do
	command -v "$t" >/dev/null || { echo "$ME: $t not installed (apt-get install rtpengine-daemon)" >&2; exit 1; }
done
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
"$TOOL" --selftest || { echo "$ME: the tool's SRTP disagrees with libsrtp2" >&2; exit 1; }

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

wait_udp() { # PORT
	local i
	for i in $(seq 100); do
		ss -H -lun "sport = :$1" | grep -q . && return 0
		sleep 0.1
	done
	echo "$ME: nothing listens on udp $1" >&2
	exit 1
}

stop_pid() {
	kill -TERM "$1" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# ---------------------------------------------------------------- gateways
start_wimsd() {
	# [ws]/[sip] listeners are required by wimsd; nothing talks to them here.
	# anchor = no: SIP passes untouched, the AGW is driven by ng only.
	cat >"$OUT/wimsd.ini" <<INI
[general]
role = iwu
log_level = warn
[ws]
listen = 127.0.0.1:8080
[sip]
listen_udp = 127.0.0.1:5060
[iwu]
pcscf = sip:127.0.0.1:5070;transport=udp
[media]
anchor = no
ng_listen = $WIMS_NG
address = 127.0.0.1
port_min = 20000
port_max = 39999
workers = 1
max_sessions = 20000
busy_poll_us = ${WIMSD_BUSY_POLL_US:-0}
INI
	taskset -c $GW_CPU "${RT[@]}" "$WIMSD" -c "$OUT/wimsd.ini" </dev/null >>"$OUT/wimsd.log" 2>&1 &
	GW_PID=$!
	PIDS+=("$GW_PID")
	wait_udp "${WIMS_NG##*:}"
}

start_rtpengine() { # [LOG_LEVEL, default 4]
	# userspace forwarding (--table=-1: no kernel module); a port range as
	# wide as wimsd's, since rtpengine takes four ports per call
	taskset -c $GW_CPU "${RT[@]}" "$RTPENGINE" --foreground --log-stderr --log-level="${1:-4}" --interface=127.0.0.1 \
		--listen-ng=$RTPE_NG --port-min=40000 --port-max=59999 --no-fallback --table=-1 \
		</dev/null >>"$OUT/rtpengine.log" 2>&1 &
	GW_PID=$!
	PIDS+=("$GW_PID")
	wait_udp "${RTPE_NG##*:}"
}

