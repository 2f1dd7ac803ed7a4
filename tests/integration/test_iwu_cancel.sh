#!/usr/bin/env bash
# CANCEL in both directions through wimsd:
#  1. alice (WS) calls ue1, ue1 rings (180) and never answers, alice CANCELs:
#     ue1 gets the CANCEL, answers 487, gets the ACK; alice sees failed cause=Canceled
#  2. ue1 calls alice, alice rings and does not answer, ue1 CANCELs after 180:
#     ue1 gets 200 for the CANCEL and 487 for the INVITE; alice sees the cancel
. "$(dirname "$0")/lib.sh"
start_iwu_lab

sipp_bg ue1-a uas_cancel.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -s ue1
js_run alice-a $(js_ue alice) --register --call sip:ue1@ims.lab --cancel-after-ms 300 --timeout 15000
sipp_wait ue1-a
assert_log alice-a.log '^EVENT canceled call=out'

js_bg alice-b $(js_ue alice) --expect-call --no-answer --timeout 20000
wait_log "$T/alice-b.log" '^EVENT registered' 10
sipp_run ue1-b uac_cancel.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -s alice -key caller ue1 -set cancel_delay 500
js_wait alice-b
assert_log alice-b.log '^EVENT canceled call=in'
assert_loopback_only
