#!/usr/bin/env bash
# MESSAGE (pager mode) through wimsd in both directions:
#  1. alice (WS) -> ue1: ue1 receives the body, alice gets 200
#  2. ue1 -> alice: alice receives it (over her WebSocket) and answers 200
. "$(dirname "$0")/lib.sh"
start_iwu_lab

sipp_bg ue1-a uas_message.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -s ue1
js_run alice-a $(js_ue alice) --register --message sip:ue1@ims.lab "hello-from-alice" --timeout 10000
sipp_wait ue1-a
assert_log ue1-a-msgs.log '^hello-from-alice' "ue1 did not receive alice's text"
assert_log alice-a.log '^EVENT message-sent code=200'

js_bg alice-b $(js_ue alice) --expect-message "hello-from-ue1" --timeout 15000
wait_log "$T/alice-b.log" '^EVENT registered' 10
sipp_run ue1-b uac_message.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -s alice -key caller ue1 -key text "hello-from-ue1"
js_wait alice-b
assert_log alice-b.log '^EVENT message-received from=sip:ue1@ims.lab body=hello-from-ue1'
assert_loopback_only
