#!/usr/bin/env bash
# Browser test 2 (issue 6): alice calls sip:volte@ims.lab (sipp answering AMR-WB/AMR only and
# echoing RTP); wimsd transcodes Opus <-> AMR-WB and her tone comes back.
. "$(dirname "$0")/browser-lib.sh"
start_browser_lab pcscf
browser_run alice volte_call.js
assert_log wimsd.log 'transcodes opus <-> AMR-WB' "wimsd did not transcode the call to volte"
assert_loopback_only
