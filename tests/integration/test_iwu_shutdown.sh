#!/usr/bin/env bash
# SIGTERM: wimsd stops accepting, lets open transactions finish, closes every
# WebSocket with 1001 (Going Away) and exits 0.
. "$(dirname "$0")/lib.sh"

start_core
start_wimsd "$(wimsd_iwu_ini)
[ws]
admin = yes"
node "$WIMS_SRC/tests/jsclient/rawws.js" --port "$WIMSD_WS_PORT" wait-close >"$T/waiter.log" 2>&1 &
track waiter $!
wait_log "$T/waiter.log" '^connected' 10
# a registered JsSIP UE as well
node "$JSCLIENT" --ws "$WS_URL" --uri sip:bob@ims.lab --password "$PASSWORD" --register --linger-ms 20000 \
  --timeout 30000 >"$T/jsclient.log" 2>&1 &
track jsclient $!
wait_log "$T/jsclient.log" 'EVENT registered' 10

# the admin pages show the registered flow and count what happened
http_get() { node -e "fetch('http://127.0.0.1:$WIMSD_WS_PORT$1').then(async r => { console.log(r.status); console.log(await r.text()); })"; }
http_get /api/flows >"$T/flows.json"
grep -q '"registered":true' "$T/flows.json" || fail "/api/flows shows no registered flow: $(cat "$T/flows.json")"
grep -q '"outbound":true' "$T/flows.json" || fail "/api/flows: JsSIP's reg-id not seen"
grep -q '\.invalid;transport=ws' "$T/flows.json" || fail "/api/flows: the browser's Contact is missing"
http_get /metrics >"$T/metrics.txt"
grep -Eq '^wims_sip_requests_in_total [1-9]' "$T/metrics.txt" || fail "/metrics counts no request"
grep -Eq '^wims_ws_open\{listener="ws"\} 2$' "$T/metrics.txt" || fail "/metrics: not 2 open WebSockets"

pid=${_BG_PID[wimsd]}
t0=$(date +%s%N)
kill -TERM "$pid"
rc=0; wait "$pid" || rc=$?
unset "_BG_PID[wimsd]"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$rc" -eq 0 ] || fail "wimsd exited with $rc after SIGTERM"
[ "$ms" -lt 6000 ] || fail "wimsd took $ms ms to stop (grace is 5000 ms)"
wait_log "$T/waiter.log" '^close 1001$' 5
wait_log "$T/jsclient.log" 'EVENT disconnected' 5
grep -q "shutting down" "$T/wimsd.log" || fail "no shutdown log line"
! ss -H -ltn "sport = :$WIMSD_WS_PORT" | grep -q . || fail "the WebSocket port is still open"
log "wimsd stopped in $ms ms, WebSockets closed with 1001"
