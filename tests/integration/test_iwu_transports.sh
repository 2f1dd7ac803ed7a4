#!/usr/bin/env bash
# The transports of the interworking unit with real peers:
#  1. toward a UDP P-CSCF, a small REGISTER goes over UDP and a WebRTC-sized
#     INVITE (> 1300 bytes) over TCP (RFC 3261 §18.1.1);
#  2. with [iwu] pcscf ...;transport=tcp everything goes over TCP, and the
#     browser side is WSS (TLS with a self-signed certificate): JsSIP registers
#     and calls a sipp UE.
. "$(dirname "$0")/lib.sh"

start_core
sipp_register 1

# ---- 1: UDP next hop, the 1300-byte rule (the browser's SDP passes
# untouched, so the INVITE stays big)
start_wimsd "$(wimsd_iwu_ini; printf '[media]\nanchor = no\n')"
sipp_bg ue1-a uas.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -s ue1
js_run alice-a $(js_ue alice) --register --call sip:ue1@ims.lab --hangup-after 500 --timeout 15000
sipp_wait ue1-a
assert_log pcscf.log 'REQ REGISTER sip:ims.lab from 127\.0\.0\.1:5060 \(udp\)' "the REGISTER did not come over UDP"
assert_log pcscf.log 'REQ INVITE sip:ue1@ims.lab from 127\.0\.0\.1:[0-9]+ \(tcp\)' "the INVITE (> 1300 bytes) did not switch to TCP"
grep -q 'Via: SIP/2.0/TCP' "$T/ue1-a-msgs.log" || fail "the INVITE's Via at ue1 does not show the TCP hop"
stop wimsd

# ---- 2: TCP next hop, WSS toward the browser
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=127.0.0.1 -keyout "$T/key.pem" -out "$T/cert.pem" >"$T/openssl.log" 2>&1 || fail "openssl req"
start_wimsd "[general]
role = iwu
log_level = debug
[ws]
listen = 127.0.0.1:$WIMSD_WS_PORT
listen_tls = 127.0.0.1:$WIMSD_WSS_PORT
tls_cert = $T/cert.pem
tls_key = $T/key.pem
[sip]
listen_udp = 127.0.0.1:$WIMSD_SIP_PORT
listen_tcp = 127.0.0.1:$WIMSD_SIP_PORT
[iwu]
pcscf = sip:127.0.0.1:$PCSCF_PORT;transport=tcp"
wait_port tcp $WIMSD_WSS_PORT 10 wimsd
sipp_bg ue1-b uas.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -s ue1
js_run alice-b --ws "wss://127.0.0.1:$WIMSD_WSS_PORT/" --uri sip:alice@ims.lab --password "$PASSWORD" \
  --register --call sip:ue1@ims.lab --hangup-after 500 --timeout 15000
sipp_wait ue1-b
assert_log alice-b.log '^EVENT connected url=wss://'
assert_log alice-b.log '^EVENT confirmed call=out'
# part 1 sent every REGISTER over UDP (checked above): a TCP one is part 2's
assert_log pcscf.log 'REQ REGISTER sip:ims.lab from 127\.0\.0\.1:[0-9]+ \(tcp\)' "the REGISTER did not come over TCP"
grep -q 'Via: SIP/2.0/TCP 127.0.0.1:5060' "$T/ue1-b-msgs.log" || fail "no TCP Via of wimsd at ue1"
assert_loopback_only
