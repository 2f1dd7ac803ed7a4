# shellcheck shell=bash
# Library sourced by the integration tests (tests/integration/test_*.sh and
# pending/*.sh).  Each test runs inside its own network namespace (see
# netns-run.sh), so the fixed lab ports never collide and nothing leaves
# 127.0.0.0/8.
#
# Fixed lab addresses (all 127.0.0.1):
#   S-CSCF Kamailio    UDP+TCP 5080      P-CSCF Kamailio  UDP+TCP 5070
#   wimsd SIP          UDP+TCP 5060      wimsd WS 8080 (path /), WSS 8443
#   sipp UEs           5091, 5092, ...   (media 6010, 6020, ...; control 8091, ...)
#
# Environment: WIMSD (wimsd binary), WIMS_SRC (source tree), WIMS_BUILD,
# TMPDIR, WIMS_KEEP=1 keeps the test directory even on success,
# WIMS_KLOG=3 raises Kamailio's log level.

set -u -o pipefail

WIMS_SRC=${WIMS_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
LAB=$WIMS_SRC/tests/lab
JSCLIENT=$WIMS_SRC/tests/jsclient/wims-ua.js
WIMSD=${WIMSD:-}
if [ -z "$WIMSD" ]; then
  for c in "${WIMS_BUILD:-$WIMS_SRC/build}/wimsd" "$WIMS_SRC/build/wimsd"; do
    [ -x "$c" ] && { WIMSD=$c; break; }
  done
fi
TEST_NAME=${TEST_NAME:-$(basename "${0%.sh}")}
T=$(mktemp -d "${TMPDIR:-/tmp}/wims-it-$TEST_NAME.XXXXXX")
SCSCF_PORT=5080
PCSCF_PORT=5070
WIMSD_SIP_PORT=5060
WIMSD_WS_PORT=8080
WIMSD_WSS_PORT=8443
WS_URL=ws://127.0.0.1:$WIMSD_WS_PORT/
PASSWORD=wims-lab

declare -A _BG_PID=()   # name -> pid of everything started in the background
declare -a _BG_ORDER=()
_FAILED=0
_STARTED=$(date +%s)

log() { printf '[%s %s] %s\n' "$(date +%H:%M:%S.%N | cut -c1-12)" "$TEST_NAME" "$*" >&2; }

# dump every log of this test (kamailio, wimsd, sipp, jsclient)
dump_logs() {
  local f
  for f in "$T"/*.log; do
    [ -f "$f" ] || continue
    echo "=================== $(basename "$f") (last 200 lines) ===================" >&2
    tail -n 200 "$f" >&2
  done
}

fail() {
  _FAILED=1
  log "FAIL: $*"
  echo "FAIL $TEST_NAME: $*" >"$T/.summary"
  exit 1
}

# register a background process to be stopped on exit
track() { _BG_PID[$1]=$2; _BG_ORDER+=("$1"); }

stop() { # stop NAME: TERM, then KILL after 3 s
  local name=$1 pid=${_BG_PID[$1]:-}
  [ -n "$pid" ] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  fi
  wait "$pid" 2>/dev/null
  unset "_BG_PID[$name]"
}

_cleanup() {
  local rc=$? i
  trap - EXIT INT TERM
  [ $rc -ne 0 ] && _FAILED=1
  for ((i=${#_BG_ORDER[@]}-1; i>=0; i--)); do stop "${_BG_ORDER[$i]}"; done
  # anything else still in our process group (sipp started by helpers, node...)
  local left; left=$(jobs -p)
  [ -n "$left" ] && kill -KILL $left 2>/dev/null
  local secs=$(( $(date +%s) - _STARTED ))
  if [ $_FAILED -ne 0 ]; then
    dump_logs
    [ -f "$T/.summary" ] && cat "$T/.summary" || echo "FAIL $TEST_NAME (exit $rc)"
    echo "($secs s; logs kept in $T)"
    [ $rc -eq 0 ] && rc=1
  else
    echo "PASS $TEST_NAME ($secs s)"
    [ "${WIMS_KEEP:-0}" = 1 ] && echo "(logs kept in $T)" || rm -rf "$T"
  fi
  exit $rc
}
trap _cleanup EXIT
trap 'fail "interrupted"' INT TERM

# ---------------------------------------------------------------- waiting
# wait_port udp|tcp PORT [TIMEOUT_S [NAME]]: until something listens on
# 127.0.0.1:PORT (fails at once if the background process NAME died)
wait_port() {
  local proto=$1 port=$2 t=${3:-10} who=${4:-} flag
  [ "$proto" = udp ] && flag=-lun || flag=-ltn
  local end=$(( $(date +%s) + t ))
  while :; do
    ss -H $flag "sport = :$port" 2>/dev/null | grep -q . && return 0
    [ -n "$who" ] && ! kill -0 "${_BG_PID[$who]:-0}" 2>/dev/null && fail "$who exited before listening on $proto $port (see $who.log)"
    [ "$(date +%s)" -ge "$end" ] && fail "nothing listens on $proto port $port after ${t}s"
    sleep 0.1
  done
}

# wait_log FILE REGEX [TIMEOUT_S]: until the file has a line matching REGEX
wait_log() {
  local f=$1 re=$2 t=${3:-10}
  local end=$(( $(date +%s) + t ))
  until grep -Eq -- "$re" "$f" 2>/dev/null; do
    [ "$(date +%s)" -ge "$end" ] && fail "timeout (${t}s) waiting for /$re/ in $(basename "$f")"
    sleep 0.1
  done
}

# check that NAME (started in background) is still alive
alive() { kill -0 "${_BG_PID[$1]:-0}" 2>/dev/null || fail "$1 died (see $1.log)"; }

# --------------------------------------------------------------- kamailio
_kamailio() { # NAME CFG [extra kamailio args]
  local name=$1 cfg=$2; shift 2
  command -v kamailio >/dev/null || fail "kamailio not installed"
  local run=$T/$name.run; mkdir -p "$run"
  kamailio -f "$cfg" -DD -E -Y "$run" -P "$run/$name.pid" -w "$run" -m 64 -M 8 \
    -A "LOG_LEVEL=${WIMS_KLOG:-2}" "$@" </dev/null >"$T/$name.log" 2>&1 &
  track "$name" $!
}
start_scscf() { # [extra -A defines...]
  _kamailio scscf "$LAB/kamailio/scscf.cfg" "$@"
  wait_port udp $SCSCF_PORT 10 scscf; wait_port tcp $SCSCF_PORT 10 scscf; alive scscf
  log "S-CSCF up on 127.0.0.1:$SCSCF_PORT"
}
start_pcscf() {
  _kamailio pcscf "$LAB/kamailio/pcscf.cfg" "$@"
  wait_port udp $PCSCF_PORT 10 pcscf; wait_port tcp $PCSCF_PORT 10 pcscf; alive pcscf
  log "P-CSCF up on 127.0.0.1:$PCSCF_PORT"
}
# the S-CSCF with the reg event package (scscf.cfg WITH_REGINFO: db_text
# tables in $T/scscf.db, kamcmd on $SCSCF_CTL, see scscf_cmd), as an IMS one
# has: wimsd subscribes to it as the P-CSCF, or as each browser's UE ([iwu]
# reg_subscribe, on by default)
start_scscf_reginfo() { # [extra -A defines...]
  mkdir -p "$T/scscf.db" && cp /usr/share/kamailio/dbtext/kamailio/* "$T/scscf.db/" ||
    fail "no Kamailio db_text schema in /usr/share/kamailio/dbtext/kamailio"
  start_scscf -A WITH_REGINFO -A "DBTEXT_URL=\"text://$T/scscf.db\"" -A "CTL_ADDR=\"$SCSCF_CTL\"" "$@"
}
start_core() { start_scscf_reginfo; start_pcscf; }
# Kamailio as the WebSocket front instead of wimsd (same WS port 8080, SIP 5062)
start_wsproxy() {
  _kamailio wsproxy "$LAB/kamailio/wsproxy.cfg" "$@"
  wait_port tcp $WIMSD_WS_PORT 10 wsproxy; wait_port udp 5062 10 wsproxy; alive wsproxy
  log "Kamailio WS front up on ws://127.0.0.1:$WIMSD_WS_PORT/"
}

# ----------------------------------------------------------------- wimsd
# start_wimsd [INI_TEXT]: default is the IWU config in front of the P-CSCF
wimsd_iwu_ini() {
  cat <<INI
[general]
role = iwu
log_level = debug
[ws]
listen = 127.0.0.1:$WIMSD_WS_PORT
[sip]
listen_udp = 127.0.0.1:$WIMSD_SIP_PORT
listen_tcp = 127.0.0.1:$WIMSD_SIP_PORT
[iwu]
pcscf = sip:127.0.0.1:$PCSCF_PORT;transport=udp
INI
}
# wimsd as the P-CSCF itself (role = pcscf), next hop the S-CSCF
wimsd_pcscf_ini() {
  cat <<INI
[general]
role = pcscf
log_level = debug
[ws]
listen = 127.0.0.1:$WIMSD_WS_PORT
[sip]
listen_udp = 127.0.0.1:$WIMSD_SIP_PORT
listen_tcp = 127.0.0.1:$WIMSD_SIP_PORT
[pcscf]
scscf = sip:127.0.0.1:$SCSCF_PORT;transport=udp
; the plain lab S-CSCF has no reg event package (start_pcscf_lab --reginfo has)
reg_subscribe = no
INI
}
start_wimsd() {
  [ -n "$WIMSD" ] && [ -x "$WIMSD" ] || fail "wimsd binary not found (set WIMSD=...)"
  if [ $# -gt 0 ]; then printf '%s\n' "$1" >"$T/wimsd.ini"; else wimsd_iwu_ini >"$T/wimsd.ini"; fi
  "$WIMSD" -c "$T/wimsd.ini" </dev/null >"$T/wimsd.log" 2>&1 &
  track wimsd $!
  wait_port tcp $WIMSD_WS_PORT 10 wimsd; wait_port udp $WIMSD_SIP_PORT 10 wimsd; alive wimsd
  log "wimsd up (ws://127.0.0.1:$WIMSD_WS_PORT/, sip 127.0.0.1:$WIMSD_SIP_PORT)"
}

# start_front: the WebSocket front of the IWU lab: wimsd (default), or
# Kamailio's websocket module with WIMS_FRONT=kamailio (to check a test itself
# against a known-good front; it does not do what wimsd adds, e.g. BYE on a
# dropped WebSocket)
start_front() {
  if [ "${WIMS_FRONT:-wimsd}" = kamailio ]; then start_wsproxy; else start_wimsd "$@"; fi
}
# the IWU lab: S-CSCF, P-CSCF, the front, and sipp UE ue1 registered
start_iwu_lab() {
  start_core
  start_front "$@"
  sipp_register 1
}
# the P-CSCF lab: the S-CSCF with IMS registration headers (-A WITH_IMS_REG),
# wimsd as the P-CSCF in front of it, sipp UE ue1 registered at the S-CSCF
# start_pcscf_lab [--reginfo [EXPIRES]]: with --reginfo the S-CSCF also runs
# the reg event package (scscf.cfg WITH_REGINFO: db_text tables in
# $T/scscf.db, kamcmd on $SCSCF_CTL, see scscf_cmd) and wimsd subscribes to it
# ([pcscf] reg_subscribe = yes, reg_subscribe_expires = EXPIRES, default 600000)
SCSCF_CTL=udp:127.0.0.1:5079
start_pcscf_lab() {
  if [ "${1:-}" = --reginfo ]; then
    local exp=${2:-600000}
    start_scscf_reginfo -A WITH_IMS_REG
    start_wimsd "$(wimsd_pcscf_ini; printf 'reg_subscribe = yes\nreg_subscribe_expires = %s\n' "$exp")"
  else
    start_scscf -A WITH_IMS_REG
    start_wimsd "$(wimsd_pcscf_ini)"
  fi
  sipp_register 1 ue1 127.0.0.1:$SCSCF_PORT
}
# scscf_cmd ARGS...: an RPC command to the S-CSCF of start_pcscf_lab --reginfo
scscf_cmd() { kamcmd -s "$SCSCF_CTL" "$@"; }
# js ARGS shared by every WebSocket UE of the lab
js_ue() { echo --ws "$WS_URL" --uri "sip:$1@ims.lab" --password "$PASSWORD"; }

# ------------------------------------------------------------------ sipp
# UE number N (1..) uses SIP port 5090+N, media 6000+10N, control 8090+N
ue_port() { echo $((5090 + $1)); }
_sipp_cmd() { # NAME SCENARIO PORT TARGET [sipp args...]
  local name=$1 scen=$2 port=$3 target=$4; shift 4
  local n=$((port - 5090))
  SIPP_CMD=(sipp -sf "$LAB/sipp/$scen" "$target" -i 127.0.0.1 -p "$port"
            -mi 127.0.0.1 -mp $((6000 + 10 * n)) -ci 127.0.0.1 -cp $((8090 + n))
            -m 1 -l 1 -timeout "${SIPP_TIMEOUT:-30}" -timeout_error -nostdin
            -trace_err -error_file "$T/$name-errors.log"
            -trace_msg -message_file "$T/$name-msgs.log"
)
  # defaults for the keys and pause variables the caller did not give (sipp
  # refuses -set for variables a scenario does not have, and the first of two
  # -key wins)
  local v val given=" $* "
  for v in expires:600 "text:hello from sipp"; do
    val=${v#*:}; v=${v%%:*}
    [[ $given == *" -key $v "* ]] || SIPP_CMD+=(-key "$v" "$val")
  done
  for v in answer_delay:200 bye_delay:1000 hold_ms:1000 cancel_delay:300; do
    val=${v#*:}; v=${v%%:*}
    [[ $given == *" -set $v "* ]] && continue
    grep -q "variable=\"$v\"" "$LAB/sipp/$scen" && SIPP_CMD+=(-set "$v" "$val")
  done
  SIPP_CMD+=("$@")
}
# sipp_run NAME SCENARIO PORT TARGET [args]: run in the foreground, fail on error
sipp_run() {
  local name=$1
  _sipp_cmd "$@"
  log "sipp $name: ${SIPP_CMD[*]:1:4} ..."
  "${SIPP_CMD[@]}" </dev/null >"$T/$name.log" 2>&1
  local rc=$?
  [ $rc -eq 0 ] || fail "sipp $name ($2) exited with $rc"
  log "sipp $name: ok"
}
# sipp_bg NAME SCENARIO PORT TARGET [args]: start in background; sipp_wait NAME later
sipp_bg() {
  local name=$1 port=$3
  _sipp_cmd "$@"
  log "sipp $name (background): ${SIPP_CMD[*]:1:4} ..."
  "${SIPP_CMD[@]}" </dev/null >"$T/$name.log" 2>&1 &
  track "$name" $!
  wait_port udp "$port" 5 "$name"
}
sipp_wait() { # NAME [TIMEOUT_S]
  local name=$1 t=${2:-40} pid=${_BG_PID[$1]:-}
  [ -n "$pid" ] || fail "sipp_wait: $name not started"
  local end=$(( $(date +%s) + t ))
  while kill -0 "$pid" 2>/dev/null; do
    [ "$(date +%s)" -ge "$end" ] && fail "sipp $name did not finish within ${t}s"
    sleep 0.1
  done
  wait "$pid"; local rc=$?
  unset "_BG_PID[$name]"
  [ $rc -eq 0 ] || fail "sipp $name exited with $rc"
  log "sipp $name: ok"
}
# register UE number N (user ueN, or USER) through the P-CSCF (or TARGET)
sipp_register() { # N [USER] [TARGET]
  local n=$1 user=${2:-ue$1} target=${3:-127.0.0.1:$PCSCF_PORT}
  sipp_run "reg-$user" register.xml "$(ue_port "$n")" "$target" -s "$user" -au "$user" -ap "$PASSWORD" -auth_uri ims.lab
}

# --------------------------------------------------------------- jsclient
# js_run NAME [wims-ua args]: run the JsSIP client in the foreground
js_run() {
  local name=$1; shift
  [ -d "$WIMS_SRC/tests/node_modules/jssip" ] || fail "tests/node_modules missing: run 'cd tests && npm install'"
  log "jsclient $name: $*"
  node "$JSCLIENT" "$@" </dev/null >"$T/$name.log" 2>&1
  local rc=$?
  [ $rc -eq 0 ] || fail "jsclient $name exited with $rc: $(grep -E '^(EVENT|ERROR)' "$T/$name.log" | tail -n 5 | tr '\n' ' ')"
  log "jsclient $name: ok"
}
js_bg() {
  local name=$1; shift
  [ -d "$WIMS_SRC/tests/node_modules/jssip" ] || fail "tests/node_modules missing: run 'cd tests && npm install'"
  log "jsclient $name (background): $*"
  node "$JSCLIENT" "$@" </dev/null >"$T/$name.log" 2>&1 &
  track "$name" $!
}
js_wait() { # NAME [TIMEOUT_S]
  local name=$1 t=${2:-40} pid=${_BG_PID[$1]:-}
  [ -n "$pid" ] || fail "js_wait: $name not started"
  local end=$(( $(date +%s) + t ))
  while kill -0 "$pid" 2>/dev/null; do
    [ "$(date +%s)" -ge "$end" ] && fail "jsclient $name did not finish within ${t}s"
    sleep 0.1
  done
  wait "$pid"; local rc=$?
  unset "_BG_PID[$name]"
  [ $rc -eq 0 ] || fail "jsclient $name exited with $rc: $(grep -E '^(EVENT|ERROR)' "$T/$name.log" | tail -n 5 | tr '\n' ' ')"
  log "jsclient $name: ok"
}

# ------------------------------------------------------------- assertions
assert_log() { # FILE REGEX [MSG]
  grep -Eq -- "$2" "$T/$1" 2>/dev/null || fail "${3:-expected /$2/ in $1}"
}
assert_no_log() {
  grep -Eq -- "$2" "$T/$1" 2>/dev/null && fail "${3:-unexpected /$2/ in $1}"
  return 0
}
assert_eq() { [ "$1" = "$2" ] || fail "${3:-expected '$2', got '$1'}"; }
# count of sipp messages of a kind in its message log, e.g. count_msgs ue2 'BYE sip:'
count_msgs() { grep -c -- "$2" "$T/$1-msgs.log" 2>/dev/null || true; }

# every socket of this namespace is bound to loopback (run at the end of a test)
assert_loopback_only() {
  local bad
  bad=$(ss -H -tuan 2>/dev/null | awk '{print $5}' | grep -Ev '^(127\.|\[::1\]|\[::ffff:127\.|\*:|0\.0\.0\.0:\*|\[::\]:\*)' || true)
  [ -z "$bad" ] || fail "sockets bound outside loopback: $bad"
}

# ------------------------------------------------------------ media tests
# sipp_echo_bg NAME N [sipp args]: sipp UE number N (user ueN) answers one call
# with plain RTP/AVP (the offer's first codec, uas_echo.xml), reflects all RTP
# it gets on its media port 6000+10N (-rtp_echo) and waits for the BYE; its
# messages go to NAME-msgs.log.  Register it first with sipp_register N if the
# call comes through the S-CSCF.  sipp_wait NAME afterwards.
sipp_echo_bg() {
  local name=$1 n=$2; shift 2
  sipp_bg "$name" uas_echo.xml "$(ue_port "$n")" 127.0.0.1:$PCSCF_PORT -s "ue$n" -rtp_echo "$@"
}
# assert_media_ok NAME: the js client NAME (--media-send --media-expect-echo)
# got its RTP back byte for byte (EVENT media-check ok)
assert_media_ok() {
  grep -Eq '^EVENT media-check ok' "$T/$1.log" 2>/dev/null && return 0
  grep -E '^(EVENT (pc|pc-stats|media|media-check)|ERROR) ' "$T/$1.log" >&2
  fail "$1: media check failed: $(grep -E '^EVENT media(-check)? ' "$T/$1.log" | tr '\n' ' ')"
}
# assert_plain_rtp_offer NAME: the SDP that sipp NAME received is plain RTP
# (RTP/AVP, no ICE, DTLS or SRTP attributes): what the gateway must send to IMS
assert_plain_rtp_offer() {
  grep -Eq '^m=audio [0-9]+ RTP/AVP ' "$T/$1-msgs.log" || fail "$1 received no RTP/AVP audio offer"
  local bad
  bad=$(grep -E '^(m=[a-z]+ [0-9]+ [A-Z/]*(SAVP|TLS)|a=(ice-|candidate|fingerprint|setup|crypto|rtcp-mux-only))' "$T/$1-msgs.log" | sort -u | tr '\n' ' ')
  [ -z "$bad" ] || fail "$1 received WebRTC attributes in its SDP: $bad"
}

# ------------------------------------------------------------- rtpengine
# start_rtpengine [NG_PORT]: a stock rtpengine (Debian rtpengine-daemon) on
# 127.0.0.1, ng on NG_PORT (default 2223), media ports 30000-30100, no kernel
# forwarding; its log goes to rtpengine.log.
start_rtpengine() {
  local port=${1:-2223}
  command -v rtpengine >/dev/null || fail "rtpengine not installed (package rtpengine-daemon)"
  rtpengine --foreground --log-stderr --interface=127.0.0.1 --listen-ng=127.0.0.1:$port \
    --port-min=30000 --port-max=30100 --no-fallback --table=-1 </dev/null >"$T/rtpengine.log" 2>&1 &
  track rtpengine $!
  wait_port udp "$port" 10 rtpengine; alive rtpengine
  log "rtpengine up, ng on 127.0.0.1:$port"
}

# ------------------------------------------------ wimsd AGW over ng (Kamailio)
# wimsd as the media gateway only, driven over ng on 127.0.0.1:2223 (media
# ports 40000-40999): it still needs a role, so it is an IWU on ports of its
# own (WS 8090, SIP 5064) that nothing uses, with anchor = no
wimsd_agw_ini() {
  cat <<INI
[general]
role = iwu
log_level = debug
[ws]
listen = 127.0.0.1:8090
[sip]
listen_udp = 127.0.0.1:5064
listen_tcp = 127.0.0.1:5064
[iwu]
pcscf = sip:127.0.0.1:$PCSCF_PORT;transport=udp
[media]
anchor = no
address = 127.0.0.1
port_min = 40000
port_max = 40999
ng_listen = 127.0.0.1:2223
INI
}
start_wimsd_agw() {
  [ -n "$WIMSD" ] && [ -x "$WIMSD" ] || fail "wimsd binary not found (set WIMSD=...)"
  wimsd_agw_ini >"$T/wimsd.ini"
  "$WIMSD" -c "$T/wimsd.ini" </dev/null >"$T/wimsd.log" 2>&1 &
  track wimsd $!
  wait_port udp 2223 10 wimsd; alive wimsd
  log "wimsd AGW up, ng on 127.0.0.1:2223"
}
# the Kamailio WebSocket front with its rtpengine module on ng 127.0.0.1:2223
start_wsproxy_rtpengine() { start_wsproxy -A WITH_RTPENGINE "$@"; }

# ------------------------------------------------------------- video media
# sipp_echo_av_bg NAME N [sipp args]: like sipp_echo_bg, but the phone answers
# audio and video (uas_echo_av.xml: the offer's first audio codec on media port
# 6000+10N, its first video codec on that port + 2) and -rtp_echo reflects the
# RTP of both; an offer without video fails it.  sipp_wait NAME afterwards.
sipp_echo_av_bg() {
  local name=$1 n=$2; shift 2
  sipp_bg "$name" uas_echo_av.xml "$(ue_port "$n")" 127.0.0.1:$PCSCF_PORT -s "ue$n" -rtp_echo "$@"
}
# rtcp_fb_reflector_bg NAME AUDIO_PORT VIDEO_PORT: stands in for a phone's RTCP
# on 127.0.0.1 (sipp -rtp_echo does not bind the RTCP ports): logs each packet
# of every compound to NAME.log ("rtcp kind=audio|video pt= fmt= sender=
# media= from="), and answers a video PLI, FIR or NACK with the same packet
# (sender SSRC 0x1BADCAFE, media SSRC and FCI as received) to where it came from
rtcp_fb_reflector_bg() {
  local name=$1
  cat >"$T/$name.py" <<'PY'
import select, socket, struct, sys, time
log = open(sys.argv[1], "w", buffering=1)
socks = {}
for kind, port in (("audio", int(sys.argv[2])), ("video", int(sys.argv[3]))):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    socks[s] = kind
print("ready", file=log)
end = time.time() + 60
while time.time() < end:
    r, _, _ = select.select(list(socks), [], [], 0.5)
    for s in r:
        data, src = s.recvfrom(2048)
        off = 0
        while off + 8 <= len(data):
            fmt, pt = data[off] & 0x1f, data[off + 1]
            ln = (struct.unpack_from("!H", data, off + 2)[0] + 1) * 4
            item = data[off:off + ln]
            media = struct.unpack_from("!I", item, 8)[0] if len(item) >= 12 else 0
            print("rtcp kind=%s pt=%d fmt=%d sender=%08x media=%08x from=%s:%d" % (
                socks[s], pt, fmt, struct.unpack_from("!I", item, 4)[0], media, src[0], src[1]), file=log)
            if socks[s] == "video" and (pt, fmt) in ((206, 1), (206, 4), (205, 1)):
                s.sendto(item[:4] + struct.pack("!I", 0x1BADCAFE) + item[8:], src)
                print("reflected pt=%d fmt=%d" % (pt, fmt), file=log)
            off += ln
PY
  python3 "$T/$name.py" "$T/$name.log" "$2" "$3" </dev/null >"$T/$name.out" 2>&1 &
  track "$name" $!
  wait_log "$T/$name.log" '^ready' 5
}

# ------------------------------------------------------------- tone tests (issue 5)
# The IMS phone of the tone tests is three programs: sipp (uas_amr.xml on 5092, the lab's
# volte, WITHOUT -rtp_echo) does the signalling, and its answer announces TONE_PHONE_PORT
# instead of sipp's own media port, where wims-rtptone sends from (AMR/AMR-WB tone) and
# wims-rtptone --receive or ffmpeg listens (decoding what the gateway sends).
RTPTONE=${RTPTONE:-$(dirname "${WIMSD:-${WIMS_BUILD:-$WIMS_SRC/build}/wimsd}")/wims-rtptone}
TONE_PHONE_PORT=6030
# tone_phone_start NAME VARIANT: VARIANT wb (AMR-WB bandwidth-efficient, + AMR), wb-oa
# (AMR-WB octet-aligned, + AMR), nb (AMR only, bandwidth-efficient, without uas_amr.xml's
# b=AS:41) or nb-as (the same with b=AS:41: wimsd copies it into the browser's answer beside
# PCMA and Chromium refuses a 64 kbit/s codec capped at 41); messages in NAME-msgs.log
tone_phone_start() {
  local name=$1 variant=$2 scen=$T/uas_amr_$2.xml
  local -a ed=(-e "s/m=audio \[media_port\] /m=audio $TONE_PHONE_PORT /")
  case $variant in
    wb) ;;
    wb-oa) ed+=(-e 's/a=fmtp:104 mode-change-capability/a=fmtp:104 octet-align=1;mode-change-capability/') ;;
    nb|nb-as) ed+=(-e 's/RTP\/AVP 104 102 105 100/RTP\/AVP 102 100/' -e '/a=rtpmap:104 \|a=fmtp:104 \|a=rtpmap:105 \|a=fmtp:105 /d')
      [ "$variant" = nb ] && ed+=(-e '/^ *b=AS:/d') ;;
    *) fail "tone_phone_start: unknown variant $variant" ;;
  esac
  sed "${ed[@]}" "$LAB/sipp/uas_amr.xml" >"$scen"
  grep -q "m=audio $TONE_PHONE_PORT " "$scen" || fail "tone_phone_start: could not rewrite uas_amr.xml"
  [ -x "$RTPTONE" ] || fail "no wims-rtptone at $RTPTONE (cmake --build ... --target wims-rtptone)"
  sipp -sf "$scen" -i 127.0.0.1 -p 5092 -mi 127.0.0.1 -mp 6020 -m 1 \
    -s volte -ci 127.0.0.1 -cp 8092 -set answer_delay 300 -nostdin \
    -trace_err -error_file "$T/$name-errors.log" -trace_msg -message_file "$T/$name-msgs.log" \
    </dev/null >"$T/$name.log" 2>&1 &
  track "$name" $!
  wait_port udp 5092 5 "$name"
}
# tone_gw_addr NAME: "HOST PORT" of the gateway's audio in the INVITE the phone NAME received
tone_gw_addr() {
  awk '/message received/ { rx = 1; inv = 0; next } /message sent/ { rx = 0; inv = 0; next }
       rx && /^INVITE / { inv = 1; c = ""; m = "" }
       rx && inv && /^c=IN IP[46] / { c = $3 } rx && inv && /^m=audio / { m = $2 }
       END { if (c != "" && m != "") print c, m }' "$T/$1-msgs.log" | tr -d '\r'
}
# tone_check WAV FREQ DBFS LABEL [tone_check.py options]: frequency/level check of a WAV
tone_check() {
  local wav=$1 f=$2 l=$3 label=$4; shift 4
  [ -s "$wav" ] || fail "$label: no $wav"
  python3 "$WIMS_SRC/tests/integration/tone_check.py" "$wav" "$f" "$l" --label "$label" "$@" \
    >>"$T/tone-check.log" 2>&1
  local rc=$?
  tail -2 "$T/tone-check.log" | sed 's/^/    /' >&2
  [ $rc -eq 0 ] || fail "$label: $(tail -1 "$T/tone-check.log")"
}
