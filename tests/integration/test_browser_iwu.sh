#!/usr/bin/env bash
# Browser test 6 (issue 6): the echo call of test_browser_echo in MODE=iwu: Chromium loads the
# client from wimsd in the interworking-unit role (HTTPS/WSS 8443, media gateway) in front of
# the Kamailio P-CSCF stand-in; alice registers, calls echo, her tone comes back, she hangs up.
. "$(dirname "$0")/browser-lib.sh"
start_browser_lab iwu
browser_run alice echo_call.js WIC_SCREENSHOT=
wait_log "$T/echo-msgs.log" '^BYE sip:' 5
assert_log echo-msgs.log '^m=audio [0-9]+ RTP/AVP ' "the echo phone got no plain RTP/AVP offer"
assert_log wimsd.log 'DTLS-SRTP up' "wimsd logged no DTLS-SRTP association"
assert_loopback_only
