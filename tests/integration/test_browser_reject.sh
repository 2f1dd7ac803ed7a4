#!/usr/bin/env bash
# Browser test (issue 6, "answer or reject an incoming call", "call rejected with the SIP
# reason"): alice calls bob (two pages of the client in Chromium, through wimsd as P-CSCF with
# its media gateway), bob's page rings and he rejects; alice's page shows 486 Busy Here, bob's
# page is back at the dial pad, and `wims-ng list` on the gateway's ng port shows a session
# while the call rings and none after the rejection. Then bob calls alice back (audio).
. "$(dirname "$0")/browser-lib.sh"
NG=${WIMS_NG:-${WIMS_BUILD:-$WIMS_SRC/build}/wims-ng}
[ -x "$NG" ] || fail "wims-ng not built ($NG)"
start_browser_lab pcscf
browser_run browser reject_call.js WIMS_NG="$NG"
assert_log browser.log 'alice: alert "Call failed: 486 Busy Here\.' "alice's page did not show the 486"
assert_log browser.log 'gateway sessions after the rejection: \[\]' "the gateway was not checked after the rejection"
assert_loopback_only
