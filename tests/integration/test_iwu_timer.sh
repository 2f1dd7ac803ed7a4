#!/usr/bin/env bash
# RFC 4028 session timers kept by wimsd (IWU role) for a browser without them
# (alice: JsSIP with session_timers off).  Session interval 10 s ([sip]
# min_se = 10, test-only) so that refreshes come at ~5 s:
#  1. alice calls ue1, whose 200 says Session-Expires: 10;refresher=uac with
#     Require: timer: wimsd offered timers for alice, refreshes with UPDATE in
#     her name, and alice's own BYE (after 8 s) reaches ue1
#  2. the same, ue1 answers the refresh 481: wimsd sends BYE to ue1 and to alice
#  3. ue1 calls alice with Session-Expires: 10;refresher=uas and Require: timer:
#     wimsd answers for alice (Session-Expires refresher=uas, Require: timer in
#     the 200) and refreshes in her name; alice hangs up after 8 s
#  4. as 1, but ue1 does not allow UPDATE: the refresh is a re-INVITE with the
#     SDP ue1 last got, which wimsd ACKs
. "$(dirname "$0")/lib.sh"
ALLOW="INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE"
start_iwu_lab "$(wimsd_iwu_ini | sed 's/^\[sip\]$/[sip]\nmin_se = 10/')"
assert_log wimsd.log 'min_se = 10 is below' "wimsd did not warn about the test-only min_se"

sipp_bg ue1-a uas_timer.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -s ue1 -key se 10 -key allow "$ALLOW" -set fail 0
js_run alice-a $(js_ue alice) --register --call sip:ue1@ims.lab --hangup-after 8000 --timeout 25000
sipp_wait ue1-a
assert_log ue1-a-msgs.log '^Session-Expires: 1800' "ue1's INVITE had no Session-Expires offered by wimsd"
assert_log ue1-a-msgs.log '^UPDATE sip:ue1@' "ue1 got no refresh"
assert_log ue1-a-msgs.log '^Session-Expires: 10;refresher=uac' "the refresh had no Session-Expires"
assert_log ue1-a-msgs.log '^BYE sip:ue1@' "ue1 got no BYE"
assert_log alice-a.log '^EVENT ended call=out originator=local'
assert_no_log alice-a.log '^Require: timer' "alice was asked for timer support"

sipp_bg ue1-b uas_timer.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -s ue1 -key se 10 -key allow "$ALLOW" -set fail 1
js_run alice-b $(js_ue alice) --register --call sip:ue1@ims.lab --expect-bye --timeout 25000
sipp_wait ue1-b
assert_log ue1-b-msgs.log '^BYE sip:ue1@' "ue1 got no BYE after the failed refresh"
assert_log ue1-b-msgs.log '^Reason: SIP;cause=408;text="Session timer expired"'
assert_log alice-b.log '^EVENT ended call=out originator=remote'
assert_log wimsd.log 'released on both sides: session refresh got 481'

js_bg alice-c $(js_ue alice) --expect-call --hangup-after 8000 --timeout 30000
wait_log "$T/alice-c.log" '^EVENT registered' 10
sipp_run ue1-c uac_timer.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -s alice -key caller ue1 -key se 10 -set fail 0
js_wait alice-c
assert_log ue1-c-msgs.log '^UPDATE sip:' "ue1 got no refresh in alice's name"
assert_log alice-c.log '^EVENT ended call=in originator=local'

sipp_bg ue1-d uas_timer.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -s ue1 -key se 10 -key allow "INVITE, ACK, CANCEL, BYE" -set fail 0
js_run alice-d $(js_ue alice) --register --call sip:ue1@ims.lab --hangup-after 8000 --timeout 25000
sipp_wait ue1-d
assert_eq "$(count_msgs ue1-d '^INVITE sip:ue1@')" 2 "ue1 did not get the re-INVITE refresh"
assert_eq "$(count_msgs ue1-d '^ACK sip:ue1@')" 2 "the re-INVITE refresh was not ACKed"
assert_log wimsd.log 'session refresh \(re-INVITE\)'
assert_log alice-d.log '^EVENT ended call=out originator=local'
assert_loopback_only
