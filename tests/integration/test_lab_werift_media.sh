#!/usr/bin/env bash
# The media check of the JS client (wims-ua.js --media-send/--media-expect-echo,
# werift), proved between two werift peers signalled through the Kamailio
# WebSocket front and the lab core:
#  1. alice sends 100 RTP packets, bob (--media-echo) reflects each packet as
#     sipp -rtp_echo behind a relaying gateway would (same SSRC, seq, payload):
#     alice reports EVENT media-check ok (>= 90% back byte for byte, nothing else)
#  2. self-test: bob flips a byte of each echoed payload (--media-echo-corrupt):
#     alice must report EVENT media-check fail and exit non-zero
. "$(dirname "$0")/lib.sh"
start_core
start_wsproxy

js_bg bob-a $(js_ue bob) --pc werift --expect-call --expect-bye --media-echo --timeout 30000
wait_log "$T/bob-a.log" '^EVENT registered' 10
js_run alice-a $(js_ue alice) --pc werift --register --call sip:bob@ims.lab \
  --media-send 100 --media-expect-echo --hangup-after 300 --timeout 30000
js_wait bob-a
assert_media_ok alice-a
assert_log alice-a.log '^EVENT media (t=[0-9]+ )?sent=100 received=100 echoed=100 mismatched=0 ' "not every payload came back exactly once"
assert_log alice-a.log '^EVENT pc-stats (t=[0-9]+ )?call=out dtls=connected srtp=SRTP_[A-Z0-9_]+ codec=[0-9]+/' "alice: no pc-stats"
assert_log bob-a.log '^EVENT pc-stats (t=[0-9]+ )?call=in dtls=connected srtp=SRTP_' "bob: no pc-stats"

# the negative self-test: the check must be able to fail
js_bg bob-b $(js_ue bob) --pc werift --expect-call --expect-bye --media-echo-corrupt --timeout 30000
wait_log "$T/bob-b.log" '^EVENT registered' 10
log "jsclient alice-b (expected to fail the media check)"
node "$JSCLIENT" $(js_ue alice) --pc werift --register --call sip:bob@ims.lab \
  --media-send 20 --media-expect-echo --media-wait-ms 500 --timeout 30000 </dev/null >"$T/alice-b.log" 2>&1
rc=$?
[ $rc -ne 0 ] || fail "alice-b exited 0 although every echoed payload was corrupted"
assert_log alice-b.log '^EVENT media (t=[0-9]+ )?sent=20 received=20 echoed=0 mismatched=20 ' "alice-b: corrupted echoes not all counted as mismatched"
assert_log alice-b.log '^EVENT media-check fail (t=[0-9]+ )?reason=' "alice-b did not report the failed media check"
assert_no_log alice-b.log '^EVENT media-check ok' "alice-b reported ok with corrupted echoes"
# alice-b exits without hanging up; its UA stop ends the call
stop bob-b
assert_loopback_only
