#!/usr/bin/env bash
# wimsd's roles driving an external AGW over ng: a stock rtpengine anchors the
# media ([media] agw = 127.0.0.1:2224).  alice (werift: ICE, DTLS-SRTP, BUNDLE)
# calls ue1 (sipp, plain RTP, echo) through wimsd (IWU) and the lab core; each
# SDP waits for rtpengine's answer; the RTP comes back byte for byte; the core
# sees plain RTP/AVP; the BYE deletes the call in rtpengine.
. "$(dirname "$0")/lib.sh"
start_core
start_rtpengine 2224
start_front "$(wimsd_iwu_ini; printf '[media]\nagw = 127.0.0.1:2224\n')"
sipp_register 1

sipp_echo_bg ue1 1
js_run alice $(js_ue alice) --pc werift --register --call sip:ue1@ims.lab \
  --media-send 100 --media-expect-echo --hangup-after 6000 --timeout 30000
sipp_wait ue1
assert_media_ok alice
assert_plain_rtp_offer ue1
assert_log wimsd.log 'media anchored in the external AGW at udp:127.0.0.1:2224' "wimsd did not use the external AGW"
# rtpengine saw the offer, the answer and the delete
assert_log rtpengine.log 'Received command .offer.' "rtpengine got no offer"
assert_log rtpengine.log 'Received command .answer.' "rtpengine got no answer"
assert_log rtpengine.log 'Received command .delete.' "rtpengine got no delete"
assert_no_log wimsd.log 'DTLS-SRTP up' "wimsd's own gateway handled media although rtpengine should"
alive rtpengine
assert_loopback_only
