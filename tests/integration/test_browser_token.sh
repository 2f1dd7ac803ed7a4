#!/usr/bin/env bash
# Browser test: token registration (issue 6 "password or a token", issue 3 token
# registration).  The lab in token mode (wimsd P-CSCF with [pcscf] token_secret,
# the S-CSCF accepting auth-done); a valid HS256 token registers alice and she
# calls echo and hears it; a token signed with another key is refused (403).
. "$(dirname "$0")/browser-lib.sh"
start_browser_lab pcscf-token
tok() { # SECRET
  python3 - "$1" <<'PY'
import base64, hashlib, hmac, json, sys, time
b = lambda d: base64.urlsafe_b64encode(d).rstrip(b"=").decode()
h = b(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
p = b(json.dumps({"sub": "sip:alice@ims.lab", "aud": "wims-lab", "exp": int(time.time()) + 300}).encode())
print(f"{h}.{p}.{b(hmac.new(sys.argv[1].encode(), f'{h}.{p}'.encode(), hashlib.sha256).digest())}")
PY
}
browser_run alice token_register.js WIC_TOKEN="$(tok wims-lab-waf-secret)" WIC_BAD_TOKEN="$(tok not-the-secret)"
assert_log scscf.log "auth-done by the P-CSCF \(user 'alice'\)" "the S-CSCF saw no token registration"
assert_log wimsd.log 'refused: token bad signature' "wimsd did not log the bad token"
assert_loopback_only
