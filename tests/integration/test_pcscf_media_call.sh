#!/usr/bin/env bash
# WebRTC media through wimsd's gateway, P-CSCF role (alternative 1): alice (JsSIP + werift: ICE,
# DTLS-SRTP, BUNDLE, rtcp-mux) calls ue1, a sipp phone with plain RTP/AVP that
# echoes RTP.  The core must see plain RTP SDP; alice's 100 packets must come
# back byte for byte through ICE-lite + DTLS-SRTP -> RTP -> echo -> SRTP.
. "$(dirname "$0")/lib.sh"
start_pcscf_lab

sipp_echo_bg ue1 1
js_run alice $(js_ue alice) --pc werift --register --call sip:ue1@ims.lab \
  --media-send 100 --media-expect-echo --hangup-after 6000 --timeout 30000
sipp_wait ue1
assert_media_ok alice
assert_plain_rtp_offer ue1
assert_log alice.log '^EVENT pc-stats call=out dtls=connected' "alice's DTLS never connected"
assert_log wimsd.log 'DTLS-SRTP up' "wimsd logged no DTLS-SRTP association"
assert_loopback_only
