#!/usr/bin/env bash
# wimsd as the P-CSCF, a WebSocket connection dropped mid-call (TCP closed
# without a close frame):
#  1. alice calls ue1; 1 s into the call her socket is killed: wimsd releases
#     the call toward the S-CSCF, ue1 gets a BYE with Reason: SIP;cause=480;
#     ue1's own BYE afterwards gets 430 or 480 (the flow is gone)
#  2. ue1 calls bob; bob's socket is killed 1 s into the call: ue1 gets a BYE
#  3. a new INVITE from ue1 to alice (still bound at the S-CSCF, flow gone)
#     gets 430 (Flow Failed) or 480
. "$(dirname "$0")/lib.sh"
start_pcscf_lab

sipp_bg ue1-a uas_after_drop.xml "$(ue_port 1)" 127.0.0.1:$SCSCF_PORT -s ue1
js_run alice-a $(js_ue alice) --register --call sip:ue1@ims.lab --drop-ws-after-ms 1000 --timeout 15000
assert_log alice-a.log '^EVENT ws-dropped'
sipp_wait ue1-a 30
assert_log ue1-a-msgs.log '^BYE sip:ue1@' "ue1 got no BYE after alice's WebSocket dropped"
assert_log ue1-a-msgs.log '^Reason: *SIP *; *cause=480' "the BYE wimsd sent lacks Reason: SIP;cause=480"

js_bg bob-b $(js_ue bob) --expect-call --drop-ws-after-ms 1000 --timeout 20000
wait_log "$T/bob-b.log" '^EVENT registered' 10
sipp_run ue1-b uac_wait_bye.xml "$(ue_port 1)" 127.0.0.1:$SCSCF_PORT -s bob -key caller ue1
js_wait bob-b

sipp_run ue1-c uac_fail.xml "$(ue_port 1)" 127.0.0.1:$SCSCF_PORT -s alice -key caller ue1
assert_log ue1-c-msgs.log '^SIP/2.0 430 Flow Failed' "the INVITE to alice's dead flow did not get 430"
assert_loopback_only
