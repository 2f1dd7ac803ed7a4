#!/usr/bin/env bash
# The lab with Kamailio's websocket module as the WebSocket front (the reference
# wimsd is compared with), and the JsSIP client (tests/jsclient) as the UE:
#  1. alice (JsSIP over ws://127.0.0.1:8080/) registers with digest
#     through Kamailio WS -> P-CSCF -> S-CSCF
#  2. alice calls ue1 (sipp), answered, alice hangs up
#  3. ue1 calls alice, alice answers, ue1 hangs up (BYE towards the WS UE)
#  4. MESSAGE from ue1 to alice
# This validates the JS client and the P-CSCF/S-CSCF Path handling with two
# edge proxies.
. "$(dirname "$0")/lib.sh"

start_core
start_wsproxy
sipp_register 1

# 2. WS UE -> sipp UE, BYE from the WS UE
sipp_bg ue1-callee uas.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -s ue1
js_run alice-call --ws "$WS_URL" --uri sip:alice@ims.lab --password $PASSWORD --register \
  --call sip:ue1@ims.lab --hangup-after 500 --timeout 15000
sipp_wait ue1-callee
assert_log alice-call.log '^EVENT registered' "alice did not register"
assert_log alice-call.log '^EVENT confirmed' "alice's call was not confirmed"

# 3. sipp UE -> WS UE, BYE from the sipp UE
js_bg alice-callee --ws "$WS_URL" --uri sip:alice@ims.lab --password $PASSWORD \
  --expect-call --expect-bye --timeout 20000
wait_log "$T/alice-callee.log" '^EVENT registered' 10
sipp_run ue1-caller uac.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -s alice -key caller ue1
js_wait alice-callee
assert_log alice-callee.log '^EVENT ended call=in originator=remote cause=Terminated'

# 4. MESSAGE sipp -> WS UE
js_bg alice-msg --ws "$WS_URL" --uri sip:alice@ims.lab --password $PASSWORD \
  --expect-message "hello-ws" --timeout 15000
wait_log "$T/alice-msg.log" '^EVENT registered' 10
sipp_run ue1-msg uac_message.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -s alice -key caller ue1 -key text "hello-ws"
js_wait alice-msg

assert_loopback_only
