#!/usr/bin/env bash
# RFC 4028 session timers kept by wimsd as the P-CSCF for a browser without
# them (alice: JsSIP with session_timers off), session interval 10 s ([sip]
# min_se = 10, test-only):
#  1. ue1 calls alice with Session-Expires: 10;refresher=uas and Require: timer:
#     the 200 gets Session-Expires refresher=uas and Require: timer from wimsd,
#     which refreshes with UPDATE in alice's name; ue1 answers 481: wimsd sends
#     BYE to ue1 and to alice
#  2. alice calls ue1, which makes the caller's side the refresher: ue1 gets
#     the refresh; alice hangs up after 8 s
. "$(dirname "$0")/lib.sh"
ALLOW="INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE"
start_scscf -A WITH_IMS_REG
start_wimsd "$(wimsd_pcscf_ini | sed 's/^\[sip\]$/[sip]\nmin_se = 10/')"
sipp_register 1 ue1 127.0.0.1:$SCSCF_PORT

js_bg alice-a $(js_ue alice) --expect-call --expect-bye --timeout 30000
wait_log "$T/alice-a.log" '^EVENT registered' 10
sipp_run ue1-a uac_timer.xml "$(ue_port 1)" 127.0.0.1:$SCSCF_PORT -s alice -key caller ue1 -key se 10 -set fail 1
js_wait alice-a
assert_log ue1-a-msgs.log '^UPDATE sip:' "ue1 got no refresh in alice's name"
assert_log ue1-a-msgs.log '^BYE sip:' "ue1 got no BYE after the failed refresh"
assert_log alice-a.log '^EVENT ended call=in originator=remote'
assert_log wimsd.log 'released on both sides: session refresh got 481'

sipp_bg ue1-b uas_timer.xml "$(ue_port 1)" 127.0.0.1:$SCSCF_PORT -s ue1 -key se 10 -key allow "$ALLOW" -set fail 0
js_run alice-b $(js_ue alice) --register --call sip:ue1@ims.lab --hangup-after 8000 --timeout 25000
sipp_wait ue1-b
assert_log ue1-b-msgs.log '^UPDATE sip:ue1@' "ue1 got no refresh"
assert_log ue1-b-msgs.log '^BYE sip:ue1@' "ue1 got no BYE"
assert_log alice-b.log '^EVENT ended call=out originator=local'
assert_loopback_only
