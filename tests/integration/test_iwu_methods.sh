#!/usr/bin/env bash
# Every SIP method through wimsd, and a digest challenge passed through untouched:
#  1. alice (JsSIP, WS) calls ue1 (sipp): ue1 answers the first INVITE with 407
#     (a recognisable nonce): the 407 reaches alice byte-for-byte and her retried
#     INVITE carries Proxy-Authorization with that nonce; then in the dialog
#     alice sends INFO (200), UPDATE with an offer (200 with an answer), REFER
#     (202; ue1's NOTIFY with sipfrag 200 reaches alice and its 200 comes back),
#     BYE (200)
#  2. ue1 calls alice: ue1 sends INFO, UPDATE, REFER into the dialog; alice gets
#     each (events in her log), ue1 gets 200, 200 with SDP, 202, then alice's
#     NOTIFYs (sipfrag 100, then 603 when she declines), BYE
#  3. SUBSCRIBE/NOTIFY out of dialog: alice subscribes to ue1 (a sipp notifier):
#     200, NOTIFY active (its 200 back to ue1), un-SUBSCRIBE, final NOTIFY;
#     then ue1 subscribes to alice (JsSIP's notifier): the same the other way
#  4. PUBLISH from a raw WebSocket client (JsSIP has none) to ue1: 200 + SIP-ETag
#  5. PRACK (RFC 3262) from a raw WebSocket client: ue1 sends 180 with
#     Require: 100rel and RSeq; the PRACK reaches ue1 (RAck) and gets 200;
#     then the other way: ue1 calls a raw WebSocket UE that sends the reliable
#     180, and ue1's PRACK reaches it and gets 200
. "$(dirname "$0")/lib.sh"
SIPWS=$WIMS_SRC/tests/jsclient/sipws.js
start_iwu_lab

# sipws NAME ARGS...: the raw WebSocket client in the foreground
sipws() {
  local name=$1; shift
  log "sipws $name: $*"
  node "$SIPWS" "$@" --ws "$WS_URL" --timeout 10000 --trace </dev/null >"$T/$name.log" 2>&1 ||
    fail "sipws $name exited with $?: $(grep -E '^(EVENT|ERROR)' "$T/$name.log" | tail -n 5 | tr '\n' ' ')"
  log "sipws $name: ok"
}
# has_msg LOG in|out FIRST_LINE_RE LINE_RE: LOG (a sipp -message_file, or a
# --trace log of wims-ua.js / sipws.js) has a message received (in) or sent
# (out) whose first line matches FIRST_LINE_RE and one of whose header or body
# lines matches LINE_RE (extended regexps)
has_msg() {
  awk -v want="$2" -v first="$3" -v lre="$4" '
    function endmsg() { if (m && l) found = 1; m = 0; l = 0; st = 0 }
    /^----------------------------------------* [0-9][0-9][0-9][0-9]-/ { endmsg(); st = 1; next }
    st == 1 && / message (sent|received)/ { dir = ($0 ~ /received/) ? "in" : "out"; st = 2; next }
    /^----- [<>!] / { endmsg(); dir = ($2 == "<") ? "in" : ($2 == ">") ? "out" : "x"; st = 2; next }
    st == 2 && /^\r?$/ { next }
    st == 2 { sub(/\r$/, ""); m = (dir == want && $0 ~ first); st = 3; next }
    st == 3 { sub(/\r$/, ""); if (m && $0 ~ lre) l = 1 }
    END { endmsg(); exit !found }' "$T/$1"
}
# assert_msg LOG in|out FIRST_LINE_RE LINE_RE WHAT
assert_msg() { has_msg "$1" "$2" "$3" "$4" || fail "$5 (no $2 message /$3/ with /$4/ in $1)"; }
# count of messages of a sipp log whose first line matches REGEX
msg_count() { grep -cE -- "$2" "$T/$1" 2>/dev/null || true; }
# the first header line HEADER: of the messages received (in) in a --trace log
trace_in_hdr() { awk '/^----- < /{rx=1; next} /^----- [>!] /{rx=0} rx' "$T/$1" | grep -m1 "^$2:" | tr -d '\r'; }

# ---- 1: alice -> ue1: 407 passes through, INFO, UPDATE, REFER (+ NOTIFY back), BYE
sipp_bg ue1-a uas_methods.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -s ue1
js_run alice-a $(js_ue alice) --register --call sip:ue1@ims.lab --info application/x-wims-test info-from-alice \
  --update --refer sip:carol@ims.lab --hangup-after 200 --trace --timeout 15000
sipp_wait ue1-a 10
# the 407 as ue1 sent it and as alice received it (her --trace), byte for byte
assert_msg ue1-a-msgs.log out '^SIP/2.0 407 ' '^Proxy-Authenticate: Digest ' "ue1 did not send its 407"
sent407=$(grep -m1 '^Proxy-Authenticate:' "$T/ue1-a-msgs.log" | tr -d '\r')
got407=$(trace_in_hdr alice-a.log Proxy-Authenticate)
assert_eq "$got407" "$sent407" "the 407's Proxy-Authenticate changed on its way to alice: sent '$sent407', received '$got407'"
nonce=$(sed -E 's/.*nonce="([^"]+)".*/\1/' <<<"$sent407")
[[ $nonce == wims407-* ]] || fail "unexpected nonce '$nonce'"
pauth=$(grep -m1 '^Proxy-Authorization:' "$T/ue1-a-msgs.log" | tr -d '\r')
[[ $pauth == *"nonce=\"$nonce\""* && $pauth == *'opaque="wims-opaque-7"'* && $pauth == *'realm="ims.lab"'* ]] ||
  fail "alice's retried INVITE at ue1 lacks Proxy-Authorization with nonce $nonce and the opaque: '$pauth'"
assert_eq "$(msg_count ue1-a-msgs.log '^INVITE sip:')" 2 "ue1 should have received exactly 2 INVITEs (challenged, then authorised)"
# INFO: at ue1 with its Content-Type and body, its 200 back at alice
assert_msg ue1-a-msgs.log in '^INFO sip:ue1@127\.0\.0\.1:5091' '^Content-Type: application/x-wims-test$' "alice's INFO (Content-Type) did not reach ue1"
assert_msg ue1-a-msgs.log in '^INFO sip:ue1@' '^info-from-alice$' "alice's INFO body did not reach ue1"
assert_msg alice-a.log in '^SIP/2.0 200 ' '^CSeq: [0-9]+ INFO$' "ue1's 200 to the INFO did not reach alice"
assert_log alice-a.log '^EVENT info-ok call=out code=200'
# UPDATE with an offer: at ue1, answered 200 with SDP, back at alice
assert_msg ue1-a-msgs.log in '^UPDATE sip:ue1@127\.0\.0\.1:5091' '^m=audio ' "alice's UPDATE (with its offer) did not reach ue1"
assert_msg alice-a.log in '^SIP/2.0 200 ' '^CSeq: [0-9]+ UPDATE$' "ue1's 200 to the UPDATE did not reach alice"
assert_log alice-a.log '^EVENT update-ok call=out' "alice's UPDATE was not answered"
# REFER: at ue1 with its Refer-To, 202 back; ue1's NOTIFY (sipfrag 200) reaches alice, her 200 reaches ue1
assert_msg ue1-a-msgs.log in '^REFER sip:ue1@127\.0\.0\.1:5091' '^Refer-To: <?sip:carol@ims\.lab' "alice's REFER did not reach ue1"
assert_msg alice-a.log in '^SIP/2.0 202 ' '^CSeq: [0-9]+ REFER$' "ue1's 202 to the REFER did not reach alice"
assert_log alice-a.log '^EVENT refer-ok call=out code=202'
assert_msg alice-a.log in '^NOTIFY sip:' '^SIP/2.0 200 OK$' "ue1's NOTIFY (sipfrag 200) did not reach alice"
assert_log alice-a.log '^EVENT refer-accepted call=out sipfrag=200'
assert_msg ue1-a-msgs.log in '^SIP/2.0 200 ' '^CSeq: 2 NOTIFY$' "alice's 200 to the NOTIFY did not reach ue1"
assert_msg ue1-a-msgs.log in '^BYE sip:ue1@' '^CSeq: [0-9]+ BYE$' "alice's BYE did not reach ue1"
assert_msg alice-a.log in '^SIP/2.0 200 ' '^CSeq: [0-9]+ BYE$' "the 200 to alice's BYE did not come back"

# ---- 2: ue1 -> alice: INFO, UPDATE, REFER from the core side; alice's NOTIFYs out
js_bg alice-b $(js_ue alice) --expect-call --expect-bye --decline-refer-after-ms 300 --trace --timeout 15000
wait_log "$T/alice-b.log" '^EVENT registered' 10
sipp_run ue1-b uac_methods.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -s alice -key caller ue1
js_wait alice-b 10
assert_msg alice-b.log in '^INFO sip:' '^info-from-ue1$' "ue1's INFO did not reach alice"
assert_log alice-b.log '^EVENT info-received call=in ct=application/x-wims-test body=info-from-ue1'
assert_msg ue1-b-msgs.log in '^SIP/2.0 200 ' '^CSeq: 3 INFO$' "alice's 200 to the INFO did not reach ue1"
assert_msg alice-b.log in '^UPDATE sip:' '^m=audio ' "ue1's UPDATE (with its offer) did not reach alice"
assert_log alice-b.log '^EVENT update-received call=in sdp=yes'
assert_msg ue1-b-msgs.log in '^SIP/2.0 200 ' '^CSeq: 4 UPDATE$' "alice's 200 to the UPDATE did not reach ue1"
assert_msg ue1-b-msgs.log in '^SIP/2.0 200 ' '^m=audio ' "alice's 200 to the UPDATE came without her answer"
assert_msg alice-b.log in '^REFER sip:' '^Refer-To: <sip:carol@ims\.lab>$' "ue1's REFER did not reach alice"
assert_log alice-b.log '^EVENT refer-received call=in refer_to=sip:carol@ims.lab'
assert_msg ue1-b-msgs.log in '^SIP/2.0 202 ' '^CSeq: 5 REFER$' "alice's 202 to the REFER did not reach ue1"
assert_eq "$(msg_count ue1-b-msgs.log '^NOTIFY sip:ue1@127\.0\.0\.1:5091')" 2 "ue1 should have received alice's 2 NOTIFYs"
assert_msg ue1-b-msgs.log in '^NOTIFY sip:ue1@' '^SIP/2.0 100 Trying$' "alice's NOTIFY (sipfrag 100) did not reach ue1"
assert_msg ue1-b-msgs.log in '^NOTIFY sip:ue1@' '^SIP/2.0 603 ' "alice's NOTIFY (sipfrag 603) did not reach ue1"
assert_msg alice-b.log in '^SIP/2.0 200 ' '^CSeq: [0-9]+ NOTIFY$' "ue1's 200 to alice's NOTIFY did not reach her"
assert_msg alice-b.log in '^BYE sip:' '^CSeq: 10 BYE$' "ue1's BYE did not reach alice"
assert_msg ue1-b-msgs.log in '^SIP/2.0 200 ' '^CSeq: 10 BYE$' "alice's 200 to the BYE did not reach ue1"

# ---- 3: SUBSCRIBE / NOTIFY out of dialog, alice subscribes to ue1
sipp_bg ue1-c uas_subscribe.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -s ue1
js_run alice-c $(js_ue alice) --register --subscribe sip:ue1@ims.lab wims-test --trace --timeout 10000
sipp_wait ue1-c 10
assert_msg ue1-c-msgs.log in '^SUBSCRIBE sip:ue1@' '^Event: wims-test$' "alice's SUBSCRIBE did not reach ue1"
assert_msg alice-c.log in '^SIP/2.0 200 ' '^CSeq: [0-9]+ SUBSCRIBE$' "ue1's 200 to the SUBSCRIBE did not reach alice"
assert_log alice-c.log '^EVENT subscribe-accepted'
assert_msg alice-c.log in '^NOTIFY sip:' '^wims-notify-active$' "ue1's NOTIFY did not reach alice"
assert_log alice-c.log '^EVENT subscribe-notify final=false state=active;expires=60 body=wims-notify-active'
assert_msg ue1-c-msgs.log in '^SIP/2.0 200 ' '^CSeq: 1 NOTIFY$' "alice's 200 to the NOTIFY did not reach ue1"
assert_msg ue1-c-msgs.log in '^SUBSCRIBE sip:ue1@' '^Expires: 0$' "alice's un-SUBSCRIBE did not reach ue1"
assert_msg alice-c.log in '^NOTIFY sip:' '^wims-notify-final$' "ue1's final NOTIFY did not reach alice"
assert_msg ue1-c-msgs.log in '^SIP/2.0 200 ' '^CSeq: 2 NOTIFY$' "alice's 200 to the final NOTIFY did not reach ue1"
assert_log alice-c.log '^EVENT subscribe-terminated code=6' "alice's subscription did not end by the final NOTIFY"

# ---- 3b: the other way: ue1 subscribes to alice, alice (JsSIP's notifier) NOTIFYs
# (not with WIMS_FRONT=kamailio: wsproxy.cfg fixes up the Contact of replies to
# INVITE only, and JsSIP's 200 to SUBSCRIBE carries its GRUU, which the core
# cannot reach without the front's alias)
if [ "${WIMS_FRONT:-wimsd}" != kamailio ]; then
  js_bg alice-s $(js_ue alice) --expect-subscribe wims-from-alice --trace --timeout 10000
  wait_log "$T/alice-s.log" '^EVENT registered' 10
  sipp_run ue1-s uac_subscribe.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -s alice -key caller ue1
  js_wait alice-s 10
  assert_msg alice-s.log in '^SUBSCRIBE sip:' '^Event: wims-test$' "ue1's SUBSCRIBE did not reach alice"
  assert_log alice-s.log '^EVENT subscribe-received from=sip:ue1@ims.lab event=wims-test expires=60 unsubscribe=false'
  assert_msg ue1-s-msgs.log in '^SIP/2.0 200 ' '^CSeq: 1 SUBSCRIBE$' "alice's 200 to the SUBSCRIBE did not reach ue1"
  assert_msg ue1-s-msgs.log in '^NOTIFY sip:ue1@127\.0\.0\.1:5091' '^wims-from-alice$' "alice's NOTIFY did not reach ue1"
  assert_msg ue1-s-msgs.log in '^NOTIFY sip:ue1@' '^wims-from-alice-final$' "alice's final NOTIFY did not reach ue1"
  assert_log alice-s.log '^EVENT subscribe-received from=sip:ue1@ims.lab event=wims-test expires=0 unsubscribe=true' "ue1's un-SUBSCRIBE did not reach alice"
  assert_msg ue1-s-msgs.log in '^SIP/2.0 200 ' '^CSeq: 2 SUBSCRIBE$' "alice's 200 to the un-SUBSCRIBE did not reach ue1"
  [ "$(awk '/^----- < /{rx=1; next} /^----- [>!] /{rx=0} rx' "$T/alice-s.log" | grep -cE '^CSeq: [0-9]+ NOTIFY')" -ge 2 ] ||
    fail "ue1's 200s to alice's two NOTIFYs did not both reach her"
  assert_log alice-s.log '^EVENT notifier-terminated code=4'
fi

# ---- 4: PUBLISH (raw WebSocket client) to ue1
sipp_bg ue1-d uas_publish.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -s ue1
sipws pub publish --to sip:ue1@ims.lab
sipp_wait ue1-d 10
assert_msg ue1-d-msgs.log in '^PUBLISH sip:ue1@127\.0\.0\.1:5091' '<note>wims-publish</note>' "the PUBLISH (and its body) did not reach ue1"
assert_msg pub.log in '^SIP/2.0 200 ' '^SIP-ETag: wims-etag-[0-9]+$' "ue1's 200 with SIP-ETag did not come back"
assert_log pub.log '^EVENT publish-response code=200 etag=wims-etag-[0-9]+ expires=60'

# ---- 5: PRACK (raw WebSocket client) for ue1's reliable 180
sipp_bg ue1-e uas_prack.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -s ue1
sipws prack prack-call --to sip:ue1@ims.lab
sipp_wait ue1-e 10
assert_msg prack.log in '^SIP/2.0 180 ' '^RSeq: 1$' "ue1's reliable 180 (RSeq) did not reach the client"
assert_msg prack.log in '^SIP/2.0 180 ' '^Require: 100rel$' "ue1's reliable 180 lost its Require: 100rel"
assert_msg ue1-e-msgs.log in '^PRACK sip:ue1@127\.0\.0\.1:5091' '^RAck: 1 1 INVITE$' "the PRACK (RAck) did not reach ue1"
assert_msg prack.log in '^SIP/2.0 200 ' '^CSeq: 2 PRACK$' "ue1's 200 to the PRACK did not come back"
assert_msg prack.log in '^SIP/2.0 200 ' '^CSeq: 3 BYE$' "the 200 to the BYE did not come back"

# ---- 5b: PRACK the other way: ue1 calls a raw WebSocket UE (registered as
# alice) that answers 180 with Require: 100rel; ue1's PRACK reaches it
log "sipws prack-uas (background)"
node "$SIPWS" prack-uas --from sip:alice@ims.lab --ws "$WS_URL" --timeout 10000 --trace </dev/null >"$T/prack-uas.log" 2>&1 &
track prack-uas $!
wait_log "$T/prack-uas.log" '^EVENT registered code=200' 10
sipp_run ue1-f uac_prack.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -s alice -key caller ue1 -set hold_ms 200
js_wait prack-uas 10
assert_msg prack-uas.log in '^INVITE sip:' '^Supported: 100rel$' "ue1's INVITE (Supported: 100rel) did not reach the WebSocket UE"
assert_msg ue1-f-msgs.log in '^SIP/2.0 180 ' '^RSeq: 1$' "the reliable 180 (RSeq) did not reach ue1"
assert_msg ue1-f-msgs.log in '^SIP/2.0 180 ' '^Require: 100rel$' "the reliable 180 lost its Require: 100rel on its way to ue1"
assert_msg prack-uas.log in '^PRACK sip:' '^RAck: 1 1 INVITE$' "ue1's PRACK (RAck) did not reach the WebSocket UE"
assert_log prack-uas.log '^EVENT prack-received rack=1_1_INVITE'
assert_msg ue1-f-msgs.log in '^SIP/2.0 200 ' '^CSeq: 2 PRACK$' "the 200 to ue1's PRACK did not reach it"
assert_msg prack-uas.log in '^BYE sip:' '^CSeq: 10 BYE$' "ue1's BYE did not reach the WebSocket UE"
assert_loopback_only
