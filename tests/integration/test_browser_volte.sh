#!/usr/bin/env bash
# Browser test 2 (issue 6): alice calls sip:volte@ims.lab (sipp answering AMR-WB/AMR only and
# echoing RTP); with transcoding her tone comes back.  Until wimsd transcodes (issue 5) it
# prints SKIP and passes only if the page shows the failed call (or the call has no audio).
. "$(dirname "$0")/browser-lib.sh"
start_browser_lab pcscf
browser_run alice volte_call.js
if grep -q '^SKIP ' "$T/alice.log"; then
  grep '^SKIP ' "$T/alice.log"
fi
assert_loopback_only
