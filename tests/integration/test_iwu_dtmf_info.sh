#!/usr/bin/env bash
# DTMF interworking (issue 5): alice (JsSIP + werift) sends digits as SIP INFO
# (application/dtmf-relay, JsSIP's default).  wimsd answers the INFOs itself
# and plays each digit toward IMS as RFC 4733 telephone-events in the call's
# RTP; ue1 (sipp echo) reflects them and they come back to alice, who checks
# the digits, that each event ended, and its clock and duration.
. "$(dirname "$0")/lib.sh"
start_iwu_lab

sipp_bg ue1 uas_echo_te.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -s ue1 -rtp_echo
js_run alice $(js_ue alice) --pc werift --register --call sip:ue1@ims.lab \
  --media-send 20 --media-expect-echo --dtmf-info '15#' --expect-dtmf-back '15#' \
  --hangup-after 500 --timeout 30000
sipp_wait ue1
assert_log alice.log '^EVENT dtmf-check ok' "the digits did not come back as RFC 4733 events"
assert_log alice.log '^EVENT dtmf-back (t=[0-9]+ )?digits=15# clocks=[0-9,]+ durations_ms=1[0-9][0-9],1[0-9][0-9],1[0-9][0-9] ended=yes' \
  "events not 160 ms long (+/- the 50 ms packet step) or not ended"
assert_no_log ue1-msgs.log '^INFO ' "an INFO DTMF reached the phone instead of RFC 4733"
assert_loopback_only
