#!/usr/bin/env bash
# Browser test 4 (issue 6): in a call from the client in Chromium to the echo phone, Hold and
# Resume (the phone gets a re-INVITE with a=sendonly, then one with a=sendrecv; the echo comes
# back after the resume), and DTMF 1 5 # from the keypad reach the phone as SIP INFO.
. "$(dirname "$0")/browser-lib.sh"
start_browser_lab pcscf
browser_run alice hold_dtmf.js
wait_log "$T/echo-msgs.log" '^BYE sip:' 5
[ "$(grep -c '^INVITE sip:' "$T/echo-msgs.log")" -ge 3 ] || fail "the echo phone did not get the hold and resume re-INVITEs"
assert_log echo-msgs.log '^a=sendonly' "no a=sendonly (hold) reached the echo phone"
n=$(grep -c '^INFO sip:' "$T/echo-msgs.log")
[ "$n" -ge 3 ] || fail "the echo phone got $n INFO requests, expected 3 (DTMF 1 5 #)"
for d in 1 5 '#'; do
  grep -q "^Signal= *$d" "$T/echo-msgs.log" || fail "DTMF '$d' did not reach the echo phone (Signal=$d)"
done
log "echo phone: $n INFO (DTMF 1 5 #), hold and resume re-INVITEs"
assert_loopback_only
