#!/usr/bin/env bash
# A call from a sipp UE (ue1) to a WebSocket UE (alice) through the S-CSCF
# (following alice's stored Path to wimsd) and wimsd as the P-CSCF (following
# the flow token of the Path, then of its Record-Route for in-dialog requests):
#  1. alice answers, ue1 sends BYE -> alice sees ended originator=remote
#  2. alice answers, alice sends BYE after 1 s -> ue1 gets it
# ue1 sees alice's P-Asserted-Identity on the 200 (asserted by wimsd); alice
# gets no P-Charging-Vector.
. "$(dirname "$0")/lib.sh"
start_pcscf_lab

js_bg alice-a $(js_ue alice) --expect-call --answer-delay-ms 300 --expect-bye --trace --timeout 20000
wait_log "$T/alice-a.log" '^EVENT registered' 10
sipp_run ue1-a uac.xml "$(ue_port 1)" 127.0.0.1:$SCSCF_PORT -s alice -key caller ue1 -set hold_ms 1000
js_wait alice-a
assert_log alice-a.log '^EVENT incoming from=sip:ue1@ims.lab'
assert_log alice-a.log '^EVENT ended call=in originator=remote cause=Terminated'
assert_log alice-a.log '^INVITE sip:[^@ ]+@[^ ]+\.invalid;transport=ws SIP/2\.0' "alice's INVITE does not have her registered Contact as Request-URI"
# JsSIP answers with its pub-gruu as Contact: the in-dialog BYE has that as
# Request-URI and reaches alice by the token of wimsd's Record-Route
assert_log alice-a.log '^BYE sip:alice@ims\.lab;gr=urn:uuid:' "ue1's BYE did not reach alice"
assert_no_log alice-a.log '^P-Charging-Vector' "P-Charging-Vector reached the UE"
assert_log ue1-a-msgs.log '^P-Asserted-Identity: <sip:alice@ims\.lab>' "ue1 did not see alice's asserted identity"

js_bg alice-b $(js_ue alice) --expect-call --hangup-after 1000 --timeout 20000
wait_log "$T/alice-b.log" '^EVENT registered' 10
sipp_run ue1-b uac_wait_bye.xml "$(ue_port 1)" 127.0.0.1:$SCSCF_PORT -s alice -key caller ue1
js_wait alice-b
assert_log alice-b.log '^EVENT ended call=in originator=local'
assert_loopback_only
