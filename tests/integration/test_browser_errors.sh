#!/usr/bin/env bash
# Browser test 5 (issue 6): the client in Chromium shows a wrong password (401 from the S-CSCF)
# as an error; then, registered, it survives a restart of wimsd: the page says it is
# reconnecting, JsSIP reconnects the WebSocket and registers again, and a call goes through.
. "$(dirname "$0")/browser-lib.sh"
start_browser_lab pcscf
rm -f "$T/restart-now"
(
  env WIMS_TEST_DIR="$T" WIC_URL="$WIC_URL" CHROMIUM="$CHROMIUM" \
    node "$WIMS_SRC/tests/browser/errors_reconnect.js" </dev/null >"$T/alice.log" 2>&1
  echo $? >"$T/alice.rc"
) &
track alice $!
for _ in $(seq 300); do [ -e "$T/restart-now" ] || [ -e "$T/alice.rc" ] && break; sleep 0.1; done
if [ -e "$T/restart-now" ]; then
  log "restarting wimsd under the registered page"
  cp "$T/wimsd.ini" "$T/wimsd-lab.ini"
  stop wimsd
  mv "$T/wimsd.log" "$T/wimsd-1.log"
  sleep 0.5
  start_wimsd "$(cat "$T/wimsd-lab.ini")"
fi
for _ in $(seq 400); do [ -e "$T/alice.rc" ] && break; sleep 0.1; done
sed 's/^/    /' "$T/alice.log" >&2
[ "$(cat "$T/alice.rc" 2>/dev/null)" = 0 ] || fail "browser errors_reconnect.js failed"
assert_loopback_only
