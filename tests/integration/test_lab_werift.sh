#!/usr/bin/env bash
# Real WebRTC between two JsSIP UEs using werift (tests/jsclient/werift-pc.js),
# signalled through the Kamailio WebSocket front and the lab core: alice calls
# bob, both RTCPeerConnections reach 'connected' (ICE + DTLS over loopback),
# alice hangs up.  Validates the werift option of the JS client; wimsd's media
# tests use the same client once its gateway anchors media.
. "$(dirname "$0")/lib.sh"
start_core
start_wsproxy
js_bg bob $(js_ue bob) --pc werift --expect-call --expect-bye --timeout 30000
wait_log "$T/bob.log" '^EVENT registered' 10
js_run alice $(js_ue alice) --pc werift --register --call sip:bob@ims.lab --hangup-after 9000 --timeout 30000
js_wait bob
assert_log alice.log '^EVENT pc call=out state=connected' "alice's werift peer connection never connected"
assert_log bob.log '^EVENT pc call=in state=connected' "bob's werift peer connection never connected"
assert_loopback_only
