#!/usr/bin/env bash
# wimsd as the P-CSCF with browsers on WSS and a TCP next hop toward the S-CSCF:
#  - SIP digest over TLS (TS 24.229 §5.2.2.1): the REGISTER with credentials
#    reaches the S-CSCF with integrity-protected="tls-pending" (the TLS
#    connection has no registration yet), a later REGISTER on the same
#    connection with "tls-yes"; Kamailio's digest check still passes
#  - the Path names the TCP side: <sip:wt...@127.0.0.1:5060;transport=tcp;lr;ob>
#  - a call over WSS to a sipp UE
#  - spoofing: while alice is registered on one connection, a second
#    connection claiming to be alice is refused (403) and nothing reaches the core
. "$(dirname "$0")/lib.sh"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=127.0.0.1 -keyout "$T/key.pem" -out "$T/cert.pem" >"$T/openssl.log" 2>&1 || fail "openssl req"
start_scscf -A WITH_IMS_REG
start_wimsd "[general]
role = pcscf
log_level = debug
[ws]
listen = 127.0.0.1:$WIMSD_WS_PORT
listen_tls = 127.0.0.1:$WIMSD_WSS_PORT
tls_cert = $T/cert.pem
tls_key = $T/key.pem
[sip]
listen_udp = 127.0.0.1:$WIMSD_SIP_PORT
listen_tcp = 127.0.0.1:$WIMSD_SIP_PORT
[pcscf]
scscf = sip:127.0.0.1:$SCSCF_PORT;transport=tcp
visited_network_id = visited.lab"
wait_port tcp $WIMSD_WSS_PORT 10 wimsd
sipp_register 1 ue1 127.0.0.1:$SCSCF_PORT
WSS="wss://127.0.0.1:$WIMSD_WSS_PORT/"

sipp_bg ue1-a uas.xml "$(ue_port 1)" 127.0.0.1:$SCSCF_PORT -s ue1
js_run alice-a --ws "$WSS" --uri sip:alice@ims.lab --password "$PASSWORD" --register \
  --call sip:ue1@ims.lab --hangup-after 500 --unregister --timeout 15000
sipp_wait ue1-a
assert_log alice-a.log '^EVENT connected url=wss://'
assert_log alice-a.log '^EVENT confirmed call=out'
assert_log alice-a.log '^EVENT unregistered code=200'
assert_log scscf.log 'IMS REGISTER Path=\[<sip:wt[0-9a-f]{16}o[0-9a-f]{8}@127\.0\.0\.1:5060;transport=tcp;lr;ob>\]' "no Path with transport=tcp"
assert_log scscf.log 'IMS REGISTER .*PVNI=\[visited\.lab\]' "no configured P-Visited-Network-ID"
assert_log scscf.log 'IMS REGISTER .*Auth=\[Digest .*username="alice".*integrity-protected="tls-pending"\]' "no tls-pending on the first REGISTER with credentials"
assert_log scscf.log 'IMS REGISTER .*Auth=\[Digest .*username="alice".*integrity-protected="tls-yes"\]' "no tls-yes on a REGISTER of the registered TLS connection"
assert_log scscf.log 'REQ REGISTER sip:ims\.lab from 127\.0\.0\.1:[0-9]+ \(tcp\)' "the REGISTER did not come over TCP"
assert_log ue1-a-msgs.log '^P-Asserted-Identity: <sip:alice@ims\.lab>'

# spoofing: alice registered on one connection, "alice" on another one calls
js_bg alice-stay --ws "$WSS" --uri sip:alice@ims.lab --password "$PASSWORD" --register --linger-ms 4000 --timeout 10000
wait_log "$T/alice-stay.log" '^EVENT registered' 10
n_before=$(grep -c 'IMS INITIAL' "$T/scscf.log" || true)
js_run alice-spoof --ws "$WSS" --uri sip:alice@ims.lab --password "$PASSWORD" --call sip:ue1@ims.lab --expect-fail 403 --timeout 10000
assert_eq "$(grep -c 'IMS INITIAL' "$T/scscf.log" || true)" "$n_before" "the second connection's INVITE reached the S-CSCF"
js_wait alice-stay
assert_loopback_only
