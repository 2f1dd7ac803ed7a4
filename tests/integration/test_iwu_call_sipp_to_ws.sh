#!/usr/bin/env bash
# A call from a sipp UE (ue1) to a WebSocket UE (alice) through the S-CSCF,
# the P-CSCF (following alice's Path) and wimsd (following the flow token of
# the contact it registered):
#  1. alice answers, ue1 sends BYE -> alice sees ended originator=remote
#  2. alice answers, alice sends BYE after 1 s -> ue1 gets it (uac_wait_bye)
. "$(dirname "$0")/lib.sh"
start_iwu_lab

js_bg alice-a $(js_ue alice) --expect-call --answer-delay-ms 300 --expect-bye --timeout 20000
wait_log "$T/alice-a.log" '^EVENT registered' 10
sipp_run ue1-a uac.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -s alice -key caller ue1 -set hold_ms 1000
js_wait alice-a
assert_log alice-a.log '^EVENT incoming from=sip:ue1@ims.lab'
assert_log alice-a.log '^EVENT ended call=in originator=remote cause=Terminated'
if [ "${WIMS_FRONT:-wimsd}" != kamailio ]; then
  assert_log pcscf.log 'terminating INVITE to sip:wt[^@ ]*@127\.0\.0\.1:5060' "the P-CSCF did not route the INVITE to alice's flow-token contact at wimsd"
fi

js_bg alice-b $(js_ue alice) --expect-call --hangup-after 1000 --timeout 20000
wait_log "$T/alice-b.log" '^EVENT registered' 10
sipp_run ue1-b uac_wait_bye.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -s alice -key caller ue1
js_wait alice-b
assert_log alice-b.log '^EVENT ended call=in originator=local'
assert_loopback_only
