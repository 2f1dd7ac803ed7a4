#!/usr/bin/env bash
# Bad input at the WebSocket edge (docs/signalling.md, "Bad input"): every
# case gets its documented answer, a bystander connection carries on, wimsd
# stays up, and a JsSIP UE registers afterwards.
. "$(dirname "$0")/lib.sh"

start_core
start_wimsd "$(wimsd_iwu_ini)
[ws]
max_message = 8192
origins = https://wic.ims.lab"

node "$WIMS_SRC/tests/jsclient/rawws.js" --port "$WIMSD_WS_PORT" --max-message 8192 badinput >"$T/rawws.log" 2>&1 \
  || { cat "$T/rawws.log"; fail "a bad-input case did not get its answer"; }
cat "$T/rawws.log"
alive wimsd
# every malformed request was logged with its reason
grep -q "malformed request from WS .*: Missing Call-ID" "$T/wimsd.log" || fail "no log line naming 'Missing Call-ID'"
grep -q "malformed request from WS .*: Bad Content-Length" "$T/wimsd.log" || fail "no log line naming 'Bad Content-Length'"
node "$JSCLIENT" --ws "$WS_URL" --uri sip:alice@ims.lab --password "$PASSWORD" --register --timeout 10000 \
  >"$T/jsclient.log" 2>&1 || fail "JsSIP could not register after the bad input"
grep -q "EVENT registered" "$T/jsclient.log" || fail "no registered event"
alive wimsd
