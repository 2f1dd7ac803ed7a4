#!/usr/bin/env bash
# A call from a WebSocket UE (alice, JsSIP) to a sipp UE (ue1) through wimsd as
# the P-CSCF and the S-CSCF:
#  1. answered (180, 200, ACK reaches ue1), BYE from alice -> ue1 gets it
#  2. answered, BYE from ue1 -> alice sees ended originator=remote
# What the S-CSCF received: Route = alice's Service-Route, P-Asserted-Identity
# = alice's default IMPU, P-Charging-Vector, wimsd's two Record-Route entries
# with the flow token; what ue1 received: P-Asserted-Identity <sip:alice@ims.lab>.
. "$(dirname "$0")/lib.sh"
start_pcscf_lab

sipp_bg ue1-a uas.xml "$(ue_port 1)" 127.0.0.1:$SCSCF_PORT -s ue1
js_run alice-a $(js_ue alice) --register --call sip:ue1@ims.lab --hangup-after 1000 --timeout 15000
sipp_wait ue1-a
assert_log alice-a.log '^EVENT progress call=out code=180'
assert_log alice-a.log '^EVENT confirmed call=out'
assert_log alice-a.log '^EVENT ended call=out originator=local'
assert_log ue1-a-msgs.log '^BYE sip:ue1@' "ue1 got no BYE"
TOK='wt[0-9a-f]{16}o[0-9a-f]{8}'
assert_log scscf.log 'IMS INITIAL INVITE sip:ue1@ims\.lab Route=\[<sip:orig@127\.0\.0\.1:5080;lr>\] PAI=\[<sip:alice@ims\.lab>\] PPI=\[<null>\] PCV=\[icid-value=wims[0-9a-f]+;icid-generated-at=127\.0\.0\.1\]' "the S-CSCF did not get the Service-Route, PAI and icid"
# TCP toward the S-CSCF when the INVITE is over 1300 bytes (RFC 3261 §18.1.1),
# which it no longer is once the gateway made its SDP plain RTP
assert_log scscf.log "IMS INITIAL INVITE .* RR=\[<sip:$TOK@127\.0\.0\.1:5060;lr(;transport=tcp)?>\]" "no Record-Route with the flow token at the S-CSCF"
assert_log ue1-a-msgs.log "^Record-Route: <sip:$TOK@127\.0\.0\.1:8080;transport=ws;lr>" "no WebSocket-side Record-Route with the flow token at ue1"
assert_log ue1-a-msgs.log '^P-Asserted-Identity: <sip:alice@ims\.lab>' "ue1 did not see alice's asserted identity"
assert_no_log ue1-a-msgs.log '^P-Preferred-Identity'

sipp_bg ue1-b uas_bye.xml "$(ue_port 1)" 127.0.0.1:$SCSCF_PORT -s ue1 -set bye_delay 1000
js_run alice-b $(js_ue alice) --register --call sip:ue1@ims.lab --expect-bye --timeout 15000
sipp_wait ue1-b
assert_log alice-b.log '^EVENT ended call=out originator=remote cause=Terminated'
assert_loopback_only
