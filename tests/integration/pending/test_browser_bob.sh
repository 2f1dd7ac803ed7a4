#!/usr/bin/env bash
# Browser test 3 (issue 6): two pages of the client in Chromium, alice and bob, registered
# through wimsd (P-CSCF + media gateway); alice calls bob, bob's page rings, he answers, audio
# flows both ways (each side's getStats has packets and audio energy), bob hangs up.  The
# media is anchored twice (alice -> RTP toward the core -> bob).
# PENDING: wimsd's gateway keys a call's media session by Call-ID and From tag; a call between
# two browsers of the same wimsd passes it twice (originating, then terminating leg) with the
# same Call-ID and tags, so the second offer lands on the first session and alice gets the
# plain RTP/AVP answer meant for the core ("Bad Media Description", BYE after the 200).
. "$(dirname "$0")/../browser-lib.sh"
start_browser_lab pcscf
browser_run browser bob_call.js
assert_log wimsd.log 'DTLS-SRTP up' "wimsd logged no DTLS-SRTP association"
assert_loopback_only
