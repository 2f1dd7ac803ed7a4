#!/usr/bin/env bash
# Browser test (issue 6, "turn video on and off (video passes through the gateway)"): alice
# calls bob with audio only (two pages of the client in Chromium, through wimsd as P-CSCF with
# its media gateway, media anchored on both passes); alice turns her video on: the client adds
# Chromium's fake camera and JsSIP sends a re-INVITE with a bundled video m-line, which the
# gateway gives a transport on each pass; bob's page decodes her frames (getStats inbound-rtp
# video framesDecoded increasing). Bob turns his on too (his re-INVITE): alice decodes his.
# Alice turns hers off (her camera leaves the sender and stops; no re-INVITE): bob decodes no
# more frames from her, his video and the audio go on both ways; she turns it on again (the
# same sendrecv m-line, no re-INVITE) and bob decodes hers again.
# The re-INVITE that makes her video m-line recvonly is test_browser_video_recvonly.sh.
. "$(dirname "$0")/browser-lib.sh"
start_browser_lab pcscf
browser_run browser video_call.js
assert_log browser.log "bob: alice's video: frames" "bob decoded no video from alice"
assert_log browser.log "alice: bob's video: frames" "alice decoded no video from bob"
assert_loopback_only
