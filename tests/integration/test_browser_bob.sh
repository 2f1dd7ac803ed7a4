#!/usr/bin/env bash
# Browser test 3 (issue 6): two pages of the client in Chromium, alice and bob, registered
# through wimsd (P-CSCF + media gateway); alice calls bob, bob's page rings, he answers, audio
# flows both ways (each side's getStats has packets and audio energy), bob hangs up.  The
# media is anchored twice (alice -> RTP toward the core -> bob).
# The call passes wimsd twice with the same Call-ID and tags (alice's side, then bob's): the
# media of each pass is keyed by the browser's flow too, and bob's BYE, which comes back to
# wimsd from the S-CSCF with the same Request-URI, is told from a loop by the flow token of
# our Route entry on top.
. "$(dirname "$0")/browser-lib.sh"
start_browser_lab pcscf
browser_run browser bob_call.js
assert_log wimsd.log 'DTLS-SRTP up' "wimsd logged no DTLS-SRTP association"
assert_loopback_only
