#!/usr/bin/env bash
# The wims lab on this machine's loopback, for `make run` (MODE=iwu|pcscf):
#   S-CSCF/registrar Kamailio (domain ims.lab, digest)   udp+tcp 127.0.0.1:5080
#   P-CSCF Kamailio, unmodified (iwu mode only)           udp+tcp 127.0.0.1:5070
#   echo phone  sip:echo@ims.lab   sipp, PCMU/PCMA, RTP echo     127.0.0.1:5091
#   volte phone sip:volte@ims.lab  sipp, AMR-WB/AMR only, echo   127.0.0.1:5092
#   wimsd in the foreground: the web client and WSS on https://127.0.0.1:8443/ (self-signed
#   certificate made on first run, kept in lab/run/), ws://127.0.0.1:8080/, SIP 127.0.0.1:5060,
#   media gateway with its ng control on udp 127.0.0.1:2223
# Users alice, bob, carol (and ue1..ue4), password wims-lab.  Ctrl-C stops all.
#   lab/run.sh iwu        wimsd as interworking unit in front of the P-CSCF
#   lab/run.sh pcscf      wimsd as the P-CSCF itself, talking to the S-CSCF
#   lab/run.sh kamailio   Kamailio's websocket module instead of wimsd (reference)
#   lab/run.sh core       only the core and the phones (run wimsd yourself)
# Environment: WIMSD (default build/wimsd), LAB_LOG_LEVEL (Kamailio, default 2).
set -u -o pipefail
cd "$(dirname "$0")/.."
SRC=$(pwd)
MODE=${1:-${MODE:-iwu}}
RUN=$SRC/lab/run
LAB=$SRC/tests/lab
WIMSD=${WIMSD:-$SRC/build/wimsd}
WEB=$SRC/web/dist
KLOG=${LAB_LOG_LEVEL:-2}

case $MODE in iwu|pcscf|kamailio|core) ;; *) echo "usage: $0 iwu|pcscf|kamailio|core" >&2; exit 2;; esac
for tool in kamailio sipp ss; do
  command -v $tool >/dev/null || { echo "lab: '$tool' is missing: run scripts/deps.sh (make deps)" >&2; exit 1; }
done
if [ "$MODE" = iwu ] || [ "$MODE" = pcscf ]; then
  [ -x "$WIMSD" ] || { echo "lab: no wimsd at $WIMSD: build it first (make build) or set WIMSD=" >&2; exit 1; }
  [ -f "$WEB/index.html" ] || { echo "lab: no web client in web/dist: build it first (make build, or make web)" >&2; exit 1; }
  command -v openssl >/dev/null || { echo "lab: 'openssl' is missing: run scripts/deps.sh (make deps)" >&2; exit 1; }
fi

# refuse to start over something already listening on a lab port
busy=()
for p in 5080 5079 5070 5091 5092 5060 8080 8443 5062 2223; do
  ss -H -ltun "sport = :$p" 2>/dev/null | grep -q . && busy+=("$p")
done
if ((${#busy[@]})); then
  echo "lab: ports already in use: ${busy[*]} (another lab, or a system kamailio? 'ss -ltunp' tells)" >&2
  exit 1
fi

mkdir -p "$RUN"
rm -rf "${RUN:?}"/*.run
declare -a PIDS=() NAMES=()
cleanup() {
  trap - EXIT INT TERM
  echo; echo "lab: stopping ${NAMES[*]}"
  local i left
  # Ctrl-C already signalled the whole foreground group (wimsd is shutting down
  # gracefully): give everyone a moment before TERM (a second signal makes
  # wimsd stop at once)
  for _ in $(seq 20); do
    left=0; for i in "${PIDS[@]}"; do kill -0 "$i" 2>/dev/null && left=1; done
    [ $left = 0 ] && break; sleep 0.1
  done
  for ((i=${#PIDS[@]}-1; i>=0; i--)); do kill -TERM "${PIDS[$i]}" 2>/dev/null; done
  for _ in $(seq 60); do
    left=0; for i in "${PIDS[@]}"; do kill -0 "$i" 2>/dev/null && left=1; done
    [ $left = 0 ] && break; sleep 0.1
  done
  for ((i=${#PIDS[@]}-1; i>=0; i--)); do kill -KILL "${PIDS[$i]}" 2>/dev/null; wait "${PIDS[$i]}" 2>/dev/null; done
  echo "lab: stopped (logs in lab/run/)"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_port() { # proto port name
  local flag=-ltn; [ "$1" = udp ] && flag=-lun
  for _ in $(seq 100); do
    ss -H $flag "sport = :$2" 2>/dev/null | grep -q . && return 0
    kill -0 "${PIDS[-1]}" 2>/dev/null || { echo "lab: $3 exited, see lab/run/$3.log:" >&2; tail -n 20 "$RUN/$3.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "lab: $3 does not listen on $1 $2, see lab/run/$3.log" >&2; exit 1
}
kam() { # name cfg [extra kamailio args]
  local name=$1 cfg=$2; shift 2
  mkdir -p "$RUN/$name.run"
  kamailio -f "$cfg" -DD -E -Y "$RUN/$name.run" -P "$RUN/$name.run/$name.pid" -w "$RUN/$name.run" -m 64 -M 8 \
    -A "LOG_LEVEL=$KLOG" "$@" </dev/null >"$RUN/$name.log" 2>&1 &
  PIDS+=($!); NAMES+=("$name")
}
phone() { # name scenario port mediaport
  sipp -sf "$LAB/sipp/$2" -i 127.0.0.1 -p "$3" -mi 127.0.0.1 -mp "$4" -rtp_echo \
    -s "$1" -ci 127.0.0.1 -cp $((3000 + $3)) -set answer_delay 500 -nostdin \
    -trace_err -error_file "$RUN/$1-errors.log" </dev/null >"$RUN/$1.log" 2>&1 &
  PIDS+=($!); NAMES+=("$1")
}

# The S-CSCF serves the reg event package that wimsd subscribes to, as the
# P-CSCF or as each browser's UE in the IWU role (db_text tables in
# lab/run/scscf.db; `kamcmd -s udp:127.0.0.1:5079 ul.rm location alice`
# de-registers alice from the network side, and her calls are released).
# wimsd as the P-CSCF talks to it directly: it then answers REGISTER with
# Service-Route and P-Associated-URI, as an IMS one does.
mkdir -p "$RUN/scscf.db" && cp /usr/share/kamailio/dbtext/kamailio/* "$RUN/scscf.db/"
if [ "$MODE" = pcscf ]; then
  kam scscf "$LAB/kamailio/scscf.cfg" -A WITH_IMS_REG -A WITH_REGINFO -A "DBTEXT_URL=\"text://$RUN/scscf.db\""
else
  kam scscf "$LAB/kamailio/scscf.cfg" -A WITH_REGINFO -A "DBTEXT_URL=\"text://$RUN/scscf.db\""
fi
wait_port udp 5080 scscf
if [ "$MODE" != pcscf ]; then kam pcscf "$LAB/kamailio/pcscf.cfg"; wait_port udp 5070 pcscf; fi
phone echo uas_phone.xml 5091 6010; wait_port udp 5091 echo
phone volte uas_amr.xml 5092 6020; wait_port udp 5092 volte

case $MODE in
  iwu) cat >"$RUN/wimsd.ini" <<INI
# generated by lab/run.sh iwu
[general]
role = iwu
log_level = debug
[ws]
listen = 127.0.0.1:8080
[sip]
listen_udp = 127.0.0.1:5060
listen_tcp = 127.0.0.1:5060
[iwu]
pcscf = sip:127.0.0.1:5070;transport=udp
INI
  ;;
  pcscf) cat >"$RUN/wimsd.ini" <<INI
# generated by lab/run.sh pcscf
[general]
role = pcscf
log_level = debug
[ws]
listen = 127.0.0.1:8080
[sip]
listen_udp = 127.0.0.1:5060
listen_tcp = 127.0.0.1:5060
[pcscf]
scscf = sip:127.0.0.1:5080;transport=udp
INI
  ;;
esac
if [ "$MODE" = iwu ] || [ "$MODE" = pcscf ]; then
  # HTTPS/WSS with a self-signed certificate for 127.0.0.1, made once and kept in lab/run/
  if [ ! -s "$RUN/wss.crt" ] || [ ! -s "$RUN/wss.key" ]; then
    echo "lab: making a self-signed certificate for 127.0.0.1 (lab/run/wss.crt)"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 \
      -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
      -keyout "$RUN/wss.key" -out "$RUN/wss.crt" >"$RUN/openssl.log" 2>&1 ||
      { echo "lab: openssl failed, see lab/run/openssl.log" >&2; exit 1; }
  fi
  cat >>"$RUN/wimsd.ini" <<INI
[ws]
listen_tls = 127.0.0.1:8443
tls_cert = $RUN/wss.crt
tls_key = $RUN/wss.key
web_root = $WEB
[media]
address = 127.0.0.1
ng_listen = 127.0.0.1:2223
INI
fi

cat <<TXT

  wims lab ($MODE) on 127.0.0.1 -- domain ims.lab, users alice bob carol, password wims-lab
    S-CSCF   sip:127.0.0.1:5080   $( [ "$MODE" != pcscf ] && echo "P-CSCF   sip:127.0.0.1:5070" )
    phones   sip:echo@ims.lab (PCMU/PCMA, echo)   sip:volte@ims.lab (AMR-WB/AMR, echo)
    WebSocket  ws://127.0.0.1:8080/$( [ "$MODE" = iwu ] || [ "$MODE" = pcscf ] && echo "   WSS wss://127.0.0.1:8443/   ng udp 127.0.0.1:2223" )
$( [ "$MODE" = iwu ] || [ "$MODE" = pcscf ] && cat <<OPEN

  >>> Open https://127.0.0.1:8443/ in a browser on this machine (accept the self-signed
      certificate), register as sip:alice@ims.lab / alice / wims-lab, call "echo".
      A second tab as bob can call alice, and the other way round.
OPEN
)
  Tools: node tests/jsclient/wims-ua.js --ws ws://127.0.0.1:8080/ --uri sip:alice@ims.lab \\
          --register --call sip:echo@ims.lab --hangup-after 5000
  Logs: lab/run/*.log    Stop: Ctrl-C

TXT

case $MODE in
  iwu|pcscf)
    if ! "$WIMSD" -t -c "$RUN/wimsd.ini" >"$RUN/wimsd-check.log" 2>&1; then
      echo "lab: wimsd refuses lab/run/wimsd.ini:" >&2
      cat "$RUN/wimsd-check.log" >&2
      exit 1
    fi
    echo "lab: $WIMSD -c lab/run/wimsd.ini"
    "$WIMSD" -c "$RUN/wimsd.ini" &
    PIDS+=($!); NAMES+=(wimsd)
    wait "${PIDS[-1]}"
    echo "lab: wimsd exited ($?)"
    ;;
  kamailio)
    kam wsproxy "$LAB/kamailio/wsproxy.cfg"; wait_port tcp 8080 wsproxy
    echo "lab: Kamailio WebSocket front up (log lab/run/wsproxy.log)"
    wait "${PIDS[-1]}"
    ;;
  core)
    echo "lab: core up; start your own front on 127.0.0.1:8080 / 5060"
    wait "${PIDS[0]}"
    ;;
esac
