#!/usr/bin/env bash
# Keyframe requests and NACK from a browser whose RTCP sender SSRC the gateway
# never saw in RTP: a browser that receives video without sending any (no
# camera) sends its feedback with a local SSRC of its own (Chrome: 1,
# kDefaultRtcpReceiverReportSsrc).  Same call as test_iwu_media_video (audio +
# video in one BUNDLE, sipp echo phone, RTCP reflector on ue1's RTCP ports),
# but alice's PLI, FIR and NACK carry sender SSRC 1: the gateway must still
# find the video stream of the bundled transport (by the feedback's media SSRC,
# the SSRC it sent alice on video) and deliver them to ue1's video RTCP port.
. "$(dirname "$0")/lib.sh"
start_iwu_lab

rtcp_fb_reflector_bg rtcp-peer 6011 6013
sipp_echo_av_bg ue1 1
js_bg alice $(js_ue alice) --pc werift --video --video-fb --video-fb-sender-ssrc 1 --register \
  --call sip:ue1@ims.lab --media-send 50 --media-expect-echo --hangup-after 1000 --timeout 30000
wait_log "$T/alice.log" '^(EVENT (video-fb-check|media-check fail|ended|failed)|ERROR)' 30
grep -E '^EVENT (media|media-check|video-fb)' "$T/alice.log" >&2
grep -E ' pt=20[56] ' "$T/rtcp-peer.log" | sort | uniq -c | sed 's/^/  ue1 rtcp: /' >&2
assert_media_ok alice
for fb in 'pt=206 fmt=1' 'pt=206 fmt=4' 'pt=205 fmt=1'; do
  assert_no_log rtcp-peer.log "^rtcp kind=audio $fb " "ue1's AUDIO RTCP port got video feedback $fb"
  assert_log rtcp-peer.log "^rtcp kind=video $fb " "ue1's video RTCP port got no $fb (PLI 206/1, FIR 206/4, NACK 205/1) with sender SSRC 1: the gateway does not demultiplex bundled feedback by its media SSRC (src/media/worker.c rtcp_stream)"
done
assert_log alice.log '^EVENT video-fb-check ok' "the feedback ue1 sent back did not reach alice: $(grep '^EVENT video-fb' "$T/alice.log" | tr '\n' ' ')"
js_wait alice
sipp_wait ue1
assert_loopback_only
