#!/usr/bin/env bash
# TS 24.229 §5.2.6.3.5 (wimsd as P-CSCF): in-dialog requests only from the
# dialog's party.  alice (JsSIP) calls ue1 and stays in the call; bob,
# registered on another WebSocket connection, sends a BYE with the dialog's
# Call-ID and tags as if he were alice: 403, nothing reaches ue1; alice's own
# BYE later ends the call (ue1 gets exactly one BYE).
. "$(dirname "$0")/lib.sh"
start_pcscf_lab

sipp_bg ue1 uas.xml "$(ue_port 1)" 127.0.0.1:$SCSCF_PORT -s ue1
js_bg alice $(js_ue alice) --register --call sip:ue1@ims.lab --hangup-after 4000 --timeout 20000
wait_log "$T/alice.log" '^EVENT confirmed call=out' 10
CID=$(grep -m1 -oE '^Call-ID: .*' "$T/ue1-msgs.log" | sed 's/^Call-ID: //; s/\r$//')
FTAG=$(grep -m1 -E '^From: ' "$T/ue1-msgs.log" | grep -oE 'tag=[^;> ]+' | head -1 | cut -d= -f2 | tr -d '\r')
TTAG=$(grep -E '^To: .*tag=' "$T/ue1-msgs.log" | head -1 | grep -oE 'tag=[^;> ]+' | cut -d= -f2 | tr -d '\r')
[ -n "$CID" ] && [ -n "$FTAG" ] && [ -n "$TTAG" ] || fail "no dialog identifiers in ue1's log ($CID / $FTAG / $TTAG)"
log "dialog $CID from-tag $FTAG to-tag $TTAG; bob tries to end it"
node "$WIMS_SRC/tests/jsclient/sipws.js" spoof-bye --ws "$WS_URL" --from sip:bob@ims.lab --password "$PASSWORD" \
  --dialog-from sip:alice@ims.lab --to sip:ue1@ims.lab --call-id "$CID" --from-tag "$FTAG" --to-tag "$TTAG" \
  --expect 403 </dev/null >"$T/bob.log" 2>&1 || fail "bob's spoofed BYE was not refused with 403: $(tr '\n' ' ' <"$T/bob.log")"
assert_log bob.log '^EVENT spoof-response code=403'
assert_log wimsd.log 'not a party of that dialog' "wimsd did not log the refusal"
js_wait alice
sipp_wait ue1
assert_log alice.log '^EVENT ended call=out originator=local'
n=$(grep -c '^BYE sip:' "$T/ue1-msgs.log")
[ "$n" = 1 ] || fail "ue1 got $n BYE requests, expected only alice's"
assert_loopback_only
