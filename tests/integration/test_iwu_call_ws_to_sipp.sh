#!/usr/bin/env bash
# A call from a WebSocket UE (alice, JsSIP) to a sipp UE (ue1) through wimsd,
# the P-CSCF and the S-CSCF:
#  1. answered (180, 200 with SDP, ACK reaches ue1), BYE from alice -> ue1 gets it
#  2. answered, BYE from ue1 (the sipp side) -> alice sees ended originator=remote
. "$(dirname "$0")/lib.sh"
start_iwu_lab

sipp_bg ue1-a uas.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -s ue1
js_run alice-a $(js_ue alice) --register --call sip:ue1@ims.lab --hangup-after 1000 --timeout 15000
sipp_wait ue1-a
assert_log alice-a.log '^EVENT progress call=out code=180'
assert_log alice-a.log '^EVENT confirmed call=out'
assert_log alice-a.log '^EVENT ended call=out originator=local'
assert_log ue1-a-msgs.log '^BYE sip:ue1@' "ue1 got no BYE"

sipp_bg ue1-b uas_bye.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -s ue1 -set bye_delay 1000
js_run alice-b $(js_ue alice) --register --call sip:ue1@ims.lab --expect-bye --timeout 15000
sipp_wait ue1-b
assert_log alice-b.log '^EVENT ended call=out originator=remote cause=Terminated'
assert_loopback_only
