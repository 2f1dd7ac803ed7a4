#!/usr/bin/env bash
# WebRTC media on a call toward the browser, IMS offer -> browser offer: ue1
# (sipp, plain RTP/AVP offer, echoes RTP) calls alice (JsSIP + werift).  wimsd
# turns the IMS offer into a WebRTC offer (ICE-lite, DTLS actpass, rtcp-mux,
# BUNDLE) and werift's answer back into plain RTP; alice's 100 packets go
# through SRTP -> RTP -> ue1's echo -> SRTP and come back byte for byte.
. "$(dirname "$0")/lib.sh"
start_iwu_lab

js_bg alice $(js_ue alice) --pc werift --expect-call --answer-delay-ms 200 \
  --media-send 100 --media-expect-echo --hangup-after 6000 --timeout 30000
wait_log "$T/alice.log" '^EVENT registered' 10
sipp_run ue1 uac_wait_bye.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -s alice -key caller ue1 -rtp_echo
js_wait alice
assert_media_ok alice
assert_log alice.log '^EVENT pc-stats call=in dtls=connected' "alice's DTLS never connected"
# what ue1 got back in the 200 OK: plain RTP from the gateway, not WebRTC
assert_plain_rtp_offer ue1
assert_log wimsd.log 'DTLS-SRTP up' "wimsd logged no DTLS-SRTP association"
assert_loopback_only
