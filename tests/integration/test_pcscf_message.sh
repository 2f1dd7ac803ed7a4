#!/usr/bin/env bash
# MESSAGE (no dialog) with wimsd as the P-CSCF:
#  1. alice (WS) -> ue1: the S-CSCF gets it with the Service-Route, alice's
#     P-Asserted-Identity and an icid, and no Record-Route of wimsd
#  2. ue1 -> alice: through the S-CSCF and alice's stored Path to her flow
. "$(dirname "$0")/lib.sh"
start_pcscf_lab

sipp_bg ue1-a uas_message.xml "$(ue_port 1)" 127.0.0.1:$SCSCF_PORT -s ue1
js_run alice-a $(js_ue alice) --register --message sip:ue1@ims.lab "hello-from-alice" --timeout 10000
sipp_wait ue1-a
assert_log ue1-a-msgs.log '^hello-from-alice' "ue1 did not receive alice's text"
assert_log alice-a.log '^EVENT message-sent code=200'
assert_log scscf.log 'IMS INITIAL MESSAGE sip:ue1@ims\.lab Route=\[<sip:orig@127\.0\.0\.1:5080;lr>\] PAI=\[<sip:alice@ims\.lab>\] PPI=\[<null>\] PCV=\[icid-value=wims[0-9a-f]+;icid-generated-at=127\.0\.0\.1\] RR=\[<null>\]' "the MESSAGE at the S-CSCF lacks the Service-Route, PAI or icid, or has a Record-Route"

js_bg alice-b $(js_ue alice) --expect-message "hello-from-ue1" --timeout 15000
wait_log "$T/alice-b.log" '^EVENT registered' 10
sipp_run ue1-b uac_message.xml "$(ue_port 1)" 127.0.0.1:$SCSCF_PORT -s alice -key caller ue1 -key text "hello-from-ue1"
js_wait alice-b
assert_log alice-b.log '^EVENT message-received from=sip:ue1@ims.lab body=hello-from-ue1'
assert_loopback_only
