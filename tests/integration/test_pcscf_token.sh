#!/usr/bin/env bash
# Token registration (TS 24.371 §6.1, RFC 8898), wimsd as P-CSCF with
# [pcscf] token_secret/token_audience: the S-CSCF stand-in accepts REGISTER
# authenticated by the P-CSCF (integrity-protected="auth-done", -A WITH_TOKEN).
#   valid HS256 token -> 200 (the S-CSCF saw auth-done for alice)
#   no token -> 401 with WWW-Authenticate: Bearer; expired, wrong audience,
#   wrong signature, another identity's token -> 403; none of them forwarded
. "$(dirname "$0")/lib.sh"
start_scscf -A WITH_IMS_REG -A WITH_TOKEN
start_wimsd "$(wimsd_pcscf_ini; printf '[pcscf]\ntoken_secret = wims-lab-waf-secret\ntoken_audience = wims-lab\n')"

tok() { # SUB AUD EXP_OFFSET SECRET
  python3 - "$@" <<'PY'
import base64, hashlib, hmac, json, sys, time
sub, aud, off, secret = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
b = lambda d: base64.urlsafe_b64encode(d).rstrip(b"=").decode()
h = b(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
p = b(json.dumps({"sub": sub, "aud": aud, "exp": int(time.time()) + off, "iat": int(time.time())}).encode())
s = b(hmac.new(secret.encode(), f"{h}.{p}".encode(), hashlib.sha256).digest())
print(f"{h}.{p}.{s}")
PY
}
reg() { # NAME EXPECT [TOKEN]
  local name=$1 expect=$2 token=${3:-}
  node "$WIMS_SRC/tests/jsclient/sipws.js" token-register --ws "$WS_URL" --from sip:alice@ims.lab \
    ${token:+--bearer "$token"} --expect "$expect" </dev/null >"$T/$name.log" 2>&1 ||
    fail "$name: $(tr '\n' ' ' <"$T/$name.log")"
}
reg valid 200 "$(tok sip:alice@ims.lab wims-lab 300 wims-lab-waf-secret)"
assert_log scscf.log "REGISTER sip:alice@ims.lab: auth-done by the P-CSCF \(user 'alice'\)" "the S-CSCF did not see auth-done"
reg missing 401
assert_log missing.log 'www=Bearer_realm="ims.lab"' "no Bearer challenge"
reg expired 403 "$(tok sip:alice@ims.lab wims-lab -120 wims-lab-waf-secret)"
reg audience 403 "$(tok sip:alice@ims.lab someone-else 300 wims-lab-waf-secret)"
reg signature 403 "$(tok sip:alice@ims.lab wims-lab 300 not-the-secret)"
reg identity 403 "$(tok sip:bob@ims.lab wims-lab 300 wims-lab-waf-secret)"
n=$(grep -c 'auth-done by the P-CSCF' "$T/scscf.log")
[ "$n" = 1 ] || fail "the S-CSCF got $n token registrations, expected only the valid one"
assert_log wimsd.log 'token expired' "the expired token's refusal was not logged"
assert_loopback_only
