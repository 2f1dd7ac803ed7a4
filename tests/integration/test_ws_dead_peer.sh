#!/usr/bin/env bash
# wimsd as the P-CSCF, a browser that vanishes without FIN or RST (lid closed,
# NAT state lost, cable pulled), played by a JsSIP client frozen with SIGSTOP:
# its kernel still ACKs every byte, but nothing answers wimsd's WebSocket Ping.
# [ws] ping_interval_s = 2, pong_timeout_s = 2:
#  1. bob registers, then freezes; ue1 calls him at once: wimsd writes the
#     INVITE into the dead WebSocket, then ping_interval_s + pong_timeout_s
#     after bob's last bytes it gives the flow up and ue1 gets 430 Flow Failed
#     (RFC 5626 §5.3) in a few seconds, not 408 after timer B
#  2. alice, registered as long but answering the Pings, is kept
#  3. /metrics counts the one pong_timeout close; bob's log line is there
#  4. a second INVITE to bob (still bound at the S-CSCF) gets 430 at once
# DEAD_PEER_ROLE=iwu (test_iwu_ws_dead_peer.sh) runs the same with wimsd as the
# IWU behind Kamailio's P-CSCF.
. "$(dirname "$0")/lib.sh"
PING_S=2
PONG_S=2
ws_ini() { printf '[ws]\nping_interval_s = %s\npong_timeout_s = %s\nadmin = yes\n' $PING_S $PONG_S; }
if [ "${DEAD_PEER_ROLE:-pcscf}" = iwu ]; then
  start_core
  start_wimsd "$(wimsd_iwu_ini; ws_ini)"
  sipp_register 1
  ENTRY=127.0.0.1:$PCSCF_PORT
else
  start_scscf -A WITH_IMS_REG
  start_wimsd "$(wimsd_pcscf_ini; ws_ini)"
  sipp_register 1 ue1 127.0.0.1:$SCSCF_PORT
  ENTRY=127.0.0.1:$SCSCF_PORT
fi

js_bg alice $(js_ue alice) --register --linger-ms 15000 --timeout 30000
js_bg bob $(js_ue bob) --register --linger-ms 60000 --timeout 70000
wait_log "$T/alice.log" '^EVENT registered' 10
wait_log "$T/bob.log" '^EVENT registered' 10
bob_pid=${_BG_PID[bob]}
kill -STOP "$bob_pid" || fail "cannot stop bob's client"
t0=$(date +%s%N)
log "bob frozen (SIGSTOP, pid $bob_pid); ue1 calls him"

# 1. the INVITE in flight when the flow is found dead
SIPP_TIMEOUT=20 sipp_run ue1-a uac_fail.xml "$(ue_port 1)" "$ENTRY" -s bob -key caller ue1
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
log "ue1's INVITE to the frozen bob ended after $ms ms"
assert_log ue1-a-msgs.log '^SIP/2.0 430 Flow Failed' "the INVITE to bob's dead flow did not get 430"
# wimsd's Ping goes out ping_interval_s after bob's last bytes (his REGISTER),
# the flow is given up pong_timeout_s later; 2 s of slack for the lab.  Not
# much earlier either: the INVITE was in flight on the flow when it died (a
# flow already gone answers at once, as in 4.)
[ "$ms" -le $(( (PING_S + PONG_S + 2) * 1000 )) ] || fail "the 430 came after $ms ms (ping $PING_S s + pong $PONG_S s)"
[ "$ms" -ge $(( (PING_S + PONG_S - 2) * 1000 )) ] || fail "the 430 came after only $ms ms: was the INVITE sent to bob at all?"
assert_log wimsd.log "no answer to a Ping within $PONG_S s: peer gone" "no log line for the dead peer"

# 2, 3. alice kept (she answers the Pings), one pong_timeout close
sleep $((PING_S + PONG_S))
metrics=$(curl -sS --max-time 5 "http://127.0.0.1:$WIMSD_WS_PORT/metrics") || fail "no /metrics"
printf '%s\n' "$metrics" >"$T/metrics.txt"
grep -q '^wims_ws_closed_total{listener="ws",why="pong_timeout"} 1$' "$T/metrics.txt" ||
  fail "/metrics: not one pong_timeout close: $(grep pong_timeout "$T/metrics.txt")"
grep -q '^wims_ws_open{listener="ws"} 1$' "$T/metrics.txt" ||
  fail "/metrics: alice's WebSocket is not the one left open: $(grep '^wims_ws_open' "$T/metrics.txt")"
alive alice

# 4. bob is still bound at the S-CSCF, his flow is gone
t0=$(date +%s%N)
SIPP_TIMEOUT=10 sipp_run ue1-b uac_fail.xml "$(ue_port 1)" "$ENTRY" -s bob -key caller ue1
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
assert_log ue1-b-msgs.log '^SIP/2.0 430 Flow Failed' "a new INVITE to bob's gone flow did not get 430"
[ "$ms" -le 2000 ] || fail "the second 430 came after $ms ms"

kill -CONT "$bob_pid" 2>/dev/null
stop bob
js_wait alice 30
assert_loopback_only
