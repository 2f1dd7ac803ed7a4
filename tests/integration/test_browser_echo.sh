#!/usr/bin/env bash
# Browser test 1 (issue 6): Chromium loads the client from wimsd over HTTPS, alice registers
# over WSS (wimsd as P-CSCF with its media gateway), calls sip:echo@ims.lab (sipp, PCMU/PCMA,
# echoes RTP): the call is confirmed and her tone comes back through ICE-lite, DTLS-SRTP and
# plain RTP (getStats: packetsReceived > 0, totalAudioEnergy > 0); she hangs up.
# Regenerates docs/wic-call.png (WIC_SCREENSHOT= to put it elsewhere, empty: none).
. "$(dirname "$0")/browser-lib.sh"
start_browser_lab pcscf
browser_run alice echo_call.js WIC_SCREENSHOT="${WIC_SCREENSHOT-$WIMS_SRC/docs/wic-call.png}"
wait_log "$T/echo-msgs.log" '^BYE sip:' 5
assert_log echo-msgs.log '^m=audio [0-9]+ RTP/AVP ' "the echo phone got no plain RTP/AVP offer"
assert_log wimsd.log 'DTLS-SRTP up' "wimsd logged no DTLS-SRTP association"
assert_loopback_only
