#!/usr/bin/env bash
# re-INVITE inside a dialog through wimsd:
#  1. alice (WS) calls ue1, then sends a re-INVITE (new offer); ue1 answers it
#     with 200 + SDP and gets the ACK; alice then hangs up
#  2. hold and resume (re-INVITEs with a=sendonly then a=sendrecv) from alice
#  3. ue1 calls alice, then puts her on hold with a re-INVITE (a=sendonly):
#     alice (over her WebSocket) answers 200 with a=recvonly, ACK, BYE from ue1
. "$(dirname "$0")/lib.sh"
start_iwu_lab

sipp_bg ue1-a uas_reinvite.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -s ue1
js_run alice-a $(js_ue alice) --register --call sip:ue1@ims.lab --reinvite --hangup-after 500 --timeout 15000
sipp_wait ue1-a
assert_log alice-a.log '^EVENT reinvite-ok call=out'

# hold = re-INVITE a=sendonly, then resume = re-INVITE a=sendrecv: two re-INVITEs
sipp_bg ue1-b uas_reinvite.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -s ue1
js_bg alice-b $(js_ue alice) --register --call sip:ue1@ims.lab --hold --hangup-after 500 --timeout 15000
# uas_reinvite answers one re-INVITE and then expects BYE: the second re-INVITE
# (resume) is outside the scenario, so only check the hold part here
wait_log "$T/alice-b.log" '^EVENT (hold-ok|ERROR)' 10
assert_log alice-b.log '^EVENT hold-ok call=out'
assert_log ue1-b-msgs.log 'a=sendonly' "the hold re-INVITE did not carry a=sendonly to ue1"
stop alice-b; stop ue1-b

js_bg alice-c $(js_ue alice) --expect-call --expect-bye --timeout 20000
wait_log "$T/alice-c.log" '^EVENT registered' 10
sipp_run ue1-c uac_reinvite.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -s alice -key caller ue1 -set hold_ms 500
js_wait alice-c
assert_log alice-c.log '^EVENT hold call=in originator=remote'
assert_loopback_only
