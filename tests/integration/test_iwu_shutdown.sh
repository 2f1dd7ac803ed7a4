#!/usr/bin/env bash
# SIGTERM: wimsd stops accepting, lets open transactions finish, closes every
# WebSocket with 1001 (Going Away) and exits 0.
. "$(dirname "$0")/lib.sh"

start_core
start_wimsd
node "$WIMS_SRC/tests/jsclient/rawws.js" --port "$WIMSD_WS_PORT" wait-close >"$T/waiter.log" 2>&1 &
track waiter $!
wait_log "$T/waiter.log" '^connected' 10
# a registered JsSIP UE as well
node "$JSCLIENT" --ws "$WS_URL" --uri sip:bob@ims.lab --password "$PASSWORD" --register --linger-ms 20000 \
  --timeout 30000 >"$T/jsclient.log" 2>&1 &
track jsclient $!
wait_log "$T/jsclient.log" 'EVENT registered' 10

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
