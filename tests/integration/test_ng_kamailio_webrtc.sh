#!/usr/bin/env bash
# Kamailio with its rtpengine module driving wims's AGW over ng for a
# WebRTC -> RTP call: Kamailio is the SIP-over-WebSocket front (wsproxy.cfg
# -A WITH_RTPENGINE), wimsd runs only as the media gateway (anchor = no, ng on
# 127.0.0.1:2223).  alice (JsSIP + werift: ICE, DTLS-SRTP, BUNDLE, rtcp-mux)
# calls ue1, a sipp phone with plain RTP/AVP that echoes RTP:
#  - the core sees plain RTP SDP (Kamailio's rtpengine_offer, ICE=remove RTP/AVP)
#  - alice's 100 packets come back byte for byte through wimsd's
#    ICE-lite + DTLS-SRTP -> RTP -> echo -> SRTP
#  - wimsd handled ng offer, answer and delete; while the call is up
#    `wims-ng list` shows it, after the BYE the AGW has no call left
#  - Kamailio logged no rtpengine error
# then two calls that never connect, each must leave no call in the AGW:
#  - alice CANCELs while ue1 rings (Kamailio: rtpengine_delete on the CANCEL)
#  - alice calls a user nobody registered: the core's 4xx makes Kamailio's
#    failure_route delete the call
. "$(dirname "$0")/lib.sh"
NG=${WIMS_NG:-${WIMS_BUILD:-$WIMS_SRC/build}/wims-ng}
[ -x "$NG" ] || fail "wims-ng not built ($NG)"
ng() { # NAME args...: run wims-ng against the AGW, output in NAME.out
  local name=$1; shift
  "$NG" -s 127.0.0.1:2223 -t 3000 "$@" >"$T/$name.out" 2>&1
}

start_core
start_wimsd_agw
ng ping ping || fail "ng ping: $(cat "$T/ping.out")"
assert_log ping.out '"result":"pong"'
start_wsproxy_rtpengine
sipp_register 1

sipp_echo_bg ue1 1
js_bg alice $(js_ue alice) --pc werift --register --call sip:ue1@ims.lab \
  --media-send 100 --media-expect-echo --hangup-after 6000 --timeout 30000
# while the call is up the AGW lists it (its Call-ID is the one ue1 saw)
wait_log "$T/wimsd.log" 'ng: answer call-id=' 20
ng list-during list || fail "ng list: $(cat "$T/list-during.out")"
CID=$(grep -m1 -ioE '^Call-ID: *[^[:space:]]+' "$T/ue1-msgs.log" | sed 's/^[^:]*: *//')
[ -n "$CID" ] || fail "no Call-ID in ue1's messages"
grep -qF "\"$CID\"" "$T/list-during.out" || fail "wims-ng list does not show the call $CID: $(cat "$T/list-during.out")"
js_wait alice
sipp_wait ue1

assert_media_ok alice
assert_log alice.log '^EVENT media (t=[0-9]+ )?sent=100 received=100 echoed=100 mismatched=0 ' "not every payload came back exactly once"
assert_log alice.log '^EVENT pc-stats (t=[0-9]+ )?call=out dtls=connected' "alice's DTLS never connected"
assert_plain_rtp_offer ue1
# the ng commands Kamailio sent, each answered ok and fully understood
assert_log wimsd.log 'ng: offer call-id=[^ ]+ from-tag=[^ ]+ to-tag= -> ok$' "wimsd handled no ng offer"
assert_log wimsd.log 'ng: answer call-id=[^ ]+ from-tag=[^ ]+ to-tag=[^ ]+ -> ok$' "wimsd handled no ng answer"
wait_log "$T/wimsd.log" 'ng: delete call-id=[^ ]+ .*-> ok$' 5
assert_no_log wimsd.log 'ng: .*(-> error|not understood)' "wimsd refused or ignored part of an ng command"
assert_log wimsd.log 'DTLS-SRTP up' "wimsd logged no DTLS-SRTP association"
assert_log wsproxy.log 'rtpengine offer INVITE .* from ws' "Kamailio did not call rtpengine_offer"
assert_log wsproxy.log 'rtpengine answer .* from udp' "Kamailio did not call rtpengine_answer"
assert_log wsproxy.log 'rtpengine delete .*\(BYE\)' "Kamailio did not call rtpengine_delete"
assert_no_log wsproxy.log '(ERROR|CRITICAL).*rtpengine|rtpengine.*(ERROR|error|failed)' "Kamailio logged rtpengine errors"
# after the BYE the AGW has no call left
ng list-after list || fail "ng list: $(cat "$T/list-after.out")"
assert_log list-after.out '"calls":\[\]' "the AGW still has calls after the BYE: $(cat "$T/list-after.out")"

# CANCEL while ue1 rings
ndel() { grep -cE 'ng: delete call-id=[^ ]+ .*-> ok$' "$T/wimsd.log"; }
sipp_bg ue1-cancel uas_cancel.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -s ue1
js_run alice-cancel $(js_ue alice) --pc werift --register --call sip:ue1@ims.lab --cancel-after-ms 500 --timeout 15000
sipp_wait ue1-cancel
assert_log alice-cancel.log '^EVENT canceled call=out'
assert_plain_rtp_offer ue1-cancel
assert_log wsproxy.log 'rtpengine delete .*\(CANCEL\)' "Kamailio did not delete the cancelled call"
[ "$(ndel)" -ge 2 ] || fail "wimsd handled no ng delete for the cancelled call"
ng list-cancel list || fail "ng list: $(cat "$T/list-cancel.out")"
assert_log list-cancel.out '"calls":\[\]' "the AGW still has calls after the CANCEL: $(cat "$T/list-cancel.out")"

# a call the core rejects
js_run alice-fail $(js_ue alice) --pc werift --register --call sip:nobody@ims.lab --expect-fail '[45][0-9][0-9]' --timeout 15000
assert_log wsproxy.log 'rtpengine delete .*\(INVITE rejected: [45][0-9][0-9]\)' "Kamailio did not delete the rejected call"
[ "$(grep -cE 'ng: offer call-id=[^ ]+ .*-> ok$' "$T/wimsd.log")" -eq 3 ] || fail "expected 3 ng offers in wimsd.log"
[ "$(ndel)" -ge 3 ] || fail "wimsd handled no ng delete for the rejected call"
ng list-fail list || fail "ng list: $(cat "$T/list-fail.out")"
assert_log list-fail.out '"calls":\[\]' "the AGW still has calls after the rejected call: $(cat "$T/list-fail.out")"
assert_no_log wimsd.log 'ng: .*(-> error|not understood)' "wimsd refused or ignored part of an ng command"
assert_no_log wsproxy.log '(ERROR|CRITICAL).*rtpengine|rtpengine.*(ERROR|error|failed)' "Kamailio logged rtpengine errors"
alive wimsd; alive wsproxy
assert_loopback_only
