#!/usr/bin/env bash
# wimsd's next hop over TLS: the P-CSCF stand-in listens for SIP over TLS on
# 127.0.0.1:5071 (Kamailio's tls module, pcscf.cfg -A WITH_TLS, a self-signed
# certificate made here) and wimsd has  [iwu] pcscf = sip:127.0.0.1:5071;transport=tls.
#  1. [sip] tls_ca empty (no verification): JsSIP registers through wimsd
#     (digest passes) and calls a sipp UE: the P-CSCF log shows REGISTER,
#     INVITE, ACK and BYE from wimsd over tls and nothing from it over udp/tcp;
#     ue1 sees wimsd's Via as TLS and alice's Contact with ;transport=tls
#  2. tls_ca = the P-CSCF's certificate (verified), and requests from the core:
#     wimsd also listens for TLS on 5061, so alice's flow-token Contact is
#     sip:wt...@127.0.0.1:5061;transport=tls (the TLS listener's port, not the
#     UDP/TCP one) and the P-CSCF connects there: ue1 calls alice (INVITE, ACK,
#     BYE from ue1)
#  3. tls_ca = another self-signed certificate: the handshake fails ("certificate
#     verify failed" in wimsd's log), the REGISTER never reaches the P-CSCF and
#     JsSIP gets 503 at once (RFC 3261 §16.9), not a timeout
. "$(dirname "$0")/lib.sh"
PCSCF_TLS_PORT=5071
WIMSD_TLS_PORT=5061

mkcert() { # NAME: self-signed EC certificate for 127.0.0.1 in $T/NAME-{cert,key}.pem
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$T/$1-key.pem" -out "$T/$1-cert.pem" >>"$T/openssl.log" 2>&1 || fail "openssl req ($1)"
}
mkcert pcscf
mkcert other
mkcert wimsd
cat >"$T/tls.cfg" <<CFG
[server:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
certificate = $T/pcscf-cert.pem
private_key = $T/pcscf-key.pem

[client:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
CFG

start_scscf
start_pcscf -A WITH_TLS -A "TLS_CFG=\"$T/tls.cfg\""
wait_port tcp $PCSCF_TLS_PORT 10 pcscf
sipp_register 1

wimsd_tls_ini() { # TLS_CA
  cat <<INI
[general]
role = iwu
log_level = debug
[ws]
listen = 127.0.0.1:$WIMSD_WS_PORT
[sip]
listen_udp = 127.0.0.1:$WIMSD_SIP_PORT
listen_tcp = 127.0.0.1:$WIMSD_SIP_PORT
tls_ca = $1
[iwu]
pcscf = sip:127.0.0.1:$PCSCF_TLS_PORT;transport=tls
INI
}
# requests the P-CSCF got from wimsd (127.0.0.1:5060 or an ephemeral port of
# it) by transport, e.g. pcscf_reqs tls
pcscf_reqs() { grep -E "REQ [A-Z]+ .* from 127\.0\.0\.1:[0-9]+ \($1\)" "$T/pcscf.log" | grep -v 'from 127\.0\.0\.1:5080 ' || true; }

# ---- 1: no verification
start_wimsd "$(wimsd_tls_ini '')"
sipp_bg ue1-a uas.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -s ue1
js_run alice-a $(js_ue alice) --register --call sip:ue1@ims.lab --hangup-after 300 --trace --timeout 15000
sipp_wait ue1-a 10
assert_log alice-a.log '^EVENT registered code=200'
assert_log alice-a.log '^EVENT confirmed call=out'
for m in REGISTER INVITE ACK BYE; do
  pcscf_reqs tls | grep -q "REQ $m " || fail "the P-CSCF got no $m over tls"
done
[ "$(pcscf_reqs tls | grep -c 'REQ REGISTER ')" -ge 2 ] || fail "expected the challenged and the authorised REGISTER over tls"
bad=$(pcscf_reqs '(udp|tcp)' | grep -v 'from 127\.0\.0\.1:5091 ')
[ -z "$bad" ] || fail "requests from wimsd reached the P-CSCF outside TLS: $bad"
# what the P-CSCF saw of wimsd's hop: a TLS Via and a ;transport=tls Contact (ue1 sees both);
# without a TLS listener the port is TLS's default, never the UDP/TCP one
grep -q '^Via: SIP/2.0/TLS 127\.0\.0\.1:5061;' "$T/ue1-a-msgs.log" || fail "wimsd's Via at ue1 is not TLS on 5061"
grep -Eq '^Contact: <sip:wt[0-9a-f]{16}o[0-9a-f]{8}@127\.0\.0\.1:[0-9]+;transport=tls>' "$T/ue1-a-msgs.log" ||
  fail "alice's Contact at ue1 is not wimsd's flow token with ;transport=tls"
stop wimsd

# ---- 2: tls_ca = the P-CSCF's own certificate; requests from the core to wimsd's TLS listener
nreg=$(pcscf_reqs tls | grep -c 'REQ REGISTER ')
start_wimsd "$(wimsd_tls_ini "$T/pcscf-cert.pem" | sed "s|^tls_ca = |listen_tls = 127.0.0.1:$WIMSD_TLS_PORT\ntls_cert = $T/wimsd-cert.pem\ntls_key = $T/wimsd-key.pem\ntls_ca = |")"
wait_port tcp $WIMSD_TLS_PORT 10 wimsd
js_bg alice-b $(js_ue alice) --expect-call --expect-bye --timeout 15000
wait_log "$T/alice-b.log" '^EVENT registered' 10
sipp_run ue1-b uac.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -s alice -key caller ue1 -set hold_ms 300
js_wait alice-b 10
assert_log alice-b.log '^EVENT incoming from=sip:ue1@ims.lab'
assert_log alice-b.log '^EVENT ended call=in originator=remote'
assert_log pcscf.log "terminating INVITE to sip:wt[0-9a-f]{16}o[0-9a-f]{8}@127\.0\.0\.1:$WIMSD_TLS_PORT;transport=tls" \
  "the P-CSCF did not send the INVITE to wimsd's TLS Contact"
ss -Htn state established "( sport = :$WIMSD_TLS_PORT )" | grep -q . || fail "no connection from the P-CSCF to wimsd's TLS listener"
# the REGISTERs of this part came over tls too (verified this time)
[ "$(pcscf_reqs tls | grep -c 'REQ REGISTER ')" -ge $((nreg + 2)) ] || fail "the verified REGISTERs did not come over tls"
stop wimsd

# ---- 3: a CA that did not sign the P-CSCF's certificate: no TLS, no registration
nreg=$(pcscf_reqs tls | grep -c 'REQ REGISTER ')
# RFC 3261 §16.9: a transport error is a 503 at once (default timers: timer F
# would take 32 s, longer than the 5 s this JsSIP run waits)
start_wimsd "$(wimsd_tls_ini "$T/other-cert.pem")"
js_run alice-c $(js_ue alice) --expect-register-fail '503' --trace --timeout 5000
assert_log alice-c.log '^EVENT registration-failed'
assert_log alice-c.log '^SIP/2.0 503 ' "alice got no immediate 503 from wimsd"
assert_log wimsd.log 'TLS handshake with 127\.0\.0\.1:5071 failed.*certificate verify failed' "wimsd did not report the failed verification"
assert_eq "$(pcscf_reqs tls | grep -c 'REQ REGISTER ')" "$nreg" "a REGISTER reached the P-CSCF although its certificate does not verify"
assert_loopback_only
