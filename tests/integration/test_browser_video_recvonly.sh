#!/usr/bin/env bash
# Browser test: a video m-line re-offered recvonly in a browser-to-browser call through wimsd
# (P-CSCF with its media gateway, media anchored on both passes). Alice calls bob with audio,
# both turn their video on (a re-INVITE each); alice re-offers her video m-line recvonly: bob
# decodes no more frames from her, she still decodes his, and the audio goes on both ways.
# Before the gateway announced the SSRC of what it sends a browser (a=ssrc, the SSRC rewritten
# to it), bob's Chromium stopped taking the audio here ("Failed to demux RTP packet: PT=111",
# rtp_transport.cc). Alice re-offers sendrecv: bob decodes her video again.
. "$(dirname "$0")/browser-lib.sh"
start_browser_lab pcscf
browser_run browser video_recvonly.js
assert_log browser.log "after alice's recvonly re-offer, over 2 s" "the recvonly re-offer was not reached"
assert_log browser.log "bob: alice's video again: frames" "bob decoded no video from alice after her sendrecv re-offer"
assert_loopback_only
