#!/usr/bin/env bash
# A WebSocket connection dropped in the middle of a call (TCP closed without a
# WebSocket close frame, like a crashed tab):
#  1. alice (WS) calls ue1; 1 s after the call is confirmed alice's socket is
#     killed.  wimsd must release the call towards the core: ue1 receives a BYE
#     (within the sipp scenario's time).  Then ue1 sends another in-dialog
#     request (BYE, CSeq 2) for that dialog: it must be refused with 430 or 480.
#     wimsd's BYE carries Reason: SIP;cause=480 (docs/signalling.md).
#  2. ue1 calls bob (WS); bob's socket is killed 1 s into the call: ue1 (the
#     caller) receives a BYE.
#  3. a new INVITE from ue1 to alice (still registered at the S-CSCF, flow
#     gone) is refused with 430 (Flow Failed) or 480.
. "$(dirname "$0")/lib.sh"
start_iwu_lab

sipp_bg ue1-a uas_after_drop.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -s ue1
js_run alice-a $(js_ue alice) --register --call sip:ue1@ims.lab --drop-ws-after-ms 1000 --timeout 15000
assert_log alice-a.log '^EVENT ws-dropped'
sipp_wait ue1-a 30
assert_log ue1-a-msgs.log '^BYE sip:ue1@' "ue1 got no BYE after alice's WebSocket dropped"
assert_log ue1-a-msgs.log '^Reason: *SIP *; *cause=480' "the BYE wimsd sent lacks Reason: SIP;cause=480 (docs/signalling.md)"

js_bg bob-b $(js_ue bob) --expect-call --drop-ws-after-ms 1000 --timeout 20000
wait_log "$T/bob-b.log" '^EVENT registered' 10
sipp_run ue1-b uac_wait_bye.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -s bob -key caller ue1
js_wait bob-b

sipp_run ue1-c uac_fail.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -s alice -key caller ue1
assert_loopback_only
