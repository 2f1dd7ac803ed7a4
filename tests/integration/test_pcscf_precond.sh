#!/usr/bin/env bash
# Preconditions (RFC 3312) and 100rel (RFC 3262) handled by wimsd as the P-CSCF for a
# JsSIP browser, which does neither, toward sipp VoLTE UEs that require both:
#  1. alice (browser) calls ue1 (uas_precond: 183 reliable with qos, expects
#     PRACK and an UPDATE confirming wims's segment, then 180/200 without SDP)
#  2. ue1 (uac_precond: Require: precondition) calls alice: wimsd answers
#     with a reliable 183 (qos lines), handles PRACK and UPDATE itself, then
#     relays alice's 180 and 200
#  3. alice calls ue1 (uas_prack: a reliable 180 only): wimsd PRACKs it
# sipp fails on any unexpected message; what the browser received must carry
# no Require: 100rel/precondition, no RSeq and no qos lines, and every 2xx to
# its INVITE an SDP.
. "$(dirname "$0")/lib.sh"
start_pcscf_lab

# the messages a jsclient received (its --trace blocks "----- < ...")
received() { awk '/^----- /{show = ($2 == "<")} show' "$T/$1.log" >"$T/$1-recv.log"; }
assert_browser_clean() { # NAME
  received "$1"
  assert_no_log "$1-recv.log" '^(Require|RSeq):.*' "the browser got Require/RSeq (100rel/precondition)"
  assert_no_log "$1-recv.log" '^Require:.*(100rel|precondition)' "the browser got Require: 100rel/precondition"
  assert_no_log "$1-recv.log" '^a=(curr|des|conf):qos' "the browser got qos lines in its SDP"
}

# 1. originating: browser -> VoLTE callee
sipp_bg ue1-a uas_precond.xml "$(ue_port 1)" 127.0.0.1:$SCSCF_PORT -s ue1
js_run alice-a $(js_ue alice) --register --call sip:ue1@ims.lab --hangup-after 1000 --timeout 20000 --trace
sipp_wait ue1-a
assert_log alice-a.log '^EVENT confirmed call=out'
assert_log alice-a.log '^EVENT ended call=out originator=local'
assert_browser_clean alice-a
# the 200 the browser got carries the answer (JsSIP refuses a 2xx without SDP)
awk '/^SIP\/2.0 200/{inv=0} /^SIP\/2.0 200/,/^$/{if ($0 ~ /^CSeq: [0-9]+ INVITE/) inv=1; if ($0 ~ /^Content-Type: application\/sdp/ && inv) ok=1} END{exit !ok}' \
  "$T/alice-a-recv.log" || fail "the browser's 200 to its INVITE has no SDP"
assert_log ue1-a-msgs.log '^PRACK sip:' "ue1 got no PRACK"
assert_log ue1-a-msgs.log '^UPDATE sip:' "ue1 got no UPDATE"

# 2. terminating: VoLTE caller -> browser
js_bg alice-b $(js_ue alice) --expect-call --answer-delay-ms 300 --expect-bye --timeout 20000 --trace
wait_log "$T/alice-b.log" '^EVENT registered' 10
sipp_run ue1-b uac_precond.xml "$(ue_port 1)" 127.0.0.1:$SCSCF_PORT -s alice -key caller ue1 -set hold_ms 1000
js_wait alice-b
assert_log alice-b.log '^EVENT incoming from=sip:ue1@ims.lab'
assert_log alice-b.log '^EVENT ended call=in originator=remote'
assert_browser_clean alice-b
assert_no_log alice-b-recv.log '^(PRACK|UPDATE) sip:' "a PRACK/UPDATE of the core reached the browser"

# 3. a reliable 180 only, for a browser that did not offer 100rel
sipp_bg ue1-c uas_prack.xml "$(ue_port 1)" 127.0.0.1:$SCSCF_PORT -s ue1
js_run alice-c $(js_ue alice) --register --call sip:ue1@ims.lab --hangup-after 500 --timeout 20000 --trace
sipp_wait ue1-c
assert_log alice-c.log '^EVENT progress call=out code=180'
assert_log alice-c.log '^EVENT confirmed call=out'
assert_browser_clean alice-c
assert_loopback_only
