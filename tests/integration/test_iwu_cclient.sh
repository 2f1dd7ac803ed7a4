#!/usr/bin/env bash
# The project's own C client (tools/wims-bench, a SIP-over-WebSocket UA with
# digest) through wimsd and the lab core: 4 browsers register over WS and over
# WSS, send OPTIONS, and place calls to a sipp UE that answers and hangs up.
. "$(dirname "$0")/lib.sh"

BENCH=${WIMS_BUILD:-$WIMS_SRC/build}/wims-bench
[ -x "$BENCH" ] || fail "no wims-bench at $BENCH"
start_core
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=127.0.0.1 -keyout "$T/key.pem" -out "$T/cert.pem" >"$T/openssl.log" 2>&1 || fail "openssl req"
start_wimsd "$(wimsd_iwu_ini)
[ws]
listen_tls = 127.0.0.1:$WIMSD_WSS_PORT
tls_cert = $T/cert.pem
tls_key = $T/key.pem"
wait_port tcp $WIMSD_WSS_PORT 10 wimsd

bench() { # NAME ARGS...: run wims-bench, expect success, keep its JSON summary
  local name=$1; shift
  "$BENCH" "$@" --json >"$T/$name.log" 2>&1 || fail "wims-bench $name: $(tail -n 3 "$T/$name.log" | tr '\n' ' ')"
  log "wims-bench $name: $(tail -n 1 "$T/$name.log")"
}
bench reg-ws --url "$WS_URL" --scenario register --conns 4 --user-count 4 --expect 200
bench reg-wss --url "wss://127.0.0.1:$WIMSD_WSS_PORT/" --scenario register --conns 4 --user-count 4 --expect 200
bench opt --url "$WS_URL" --scenario options --conns 4 --count 5 --register-first --target sip:ims.lab --expect 200
grep -q '"completed":20' "$T/opt.log" || fail "not 20 OPTIONS completed: $(tail -n 1 "$T/opt.log")"

# the callee: ue1 registered over UDP, answering 4 calls
sipp_register 1
sipp_bg ue1 uas.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -s ue1 -m 4
bench call --url "$WS_URL" --scenario call --conns 4 --user-start 2 --user-count 3 --count 1 --register-first \
  --target sip:ue1@ims.lab --expect 200
sipp_wait ue1
alive wimsd
assert_loopback_only
