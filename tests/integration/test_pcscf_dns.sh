#!/usr/bin/env bash
# wimsd as the P-CSCF finds the S-CSCF by DNS (RFC 3263), dnsmasq on
# 127.0.0.1:5353 inside the test's namespace:
#  1. [pcscf] scscf = sip:ims.lab: NAPTR (SIP+D2U) -> SRV _sip._udp.ims.lab ->
#     scscf.ims.lab -> 127.0.0.1:5080; alice (JsSIP) registers and calls ue1
#  2. sip:fo.lab: SRV priority 10 -> a closed port, priority 20 -> the S-CSCF:
#     the REGISTER times out at the first (T1 = 100 ms: 6.4 s) and goes on to
#     the second (RFC 3263 §4.3); the next REGISTER goes straight there
#  3. DNS down, [pcscf] scscf_fallback = 127.0.0.1:5080: registration works
#  4. DNS down, no fallback: REGISTER gets 503 from wimsd
. "$(dirname "$0")/lib.sh"
DNS_PORT=5353

start_dns() {
  command -v dnsmasq >/dev/null || [ -x /usr/sbin/dnsmasq ] || fail "dnsmasq not installed (dnsmasq-base)"
  /usr/sbin/dnsmasq -k --user=root --port=$DNS_PORT --listen-address=127.0.0.1 --bind-interfaces \
    --no-resolv --no-hosts -C /dev/null --pid-file= --local=/lab/ --local-ttl=60 --log-queries \
    --log-facility=- \
    --naptr-record=ims.lab,10,10,s,SIP+D2U,,_sip._udp.ims.lab \
    --srv-host=_sip._udp.ims.lab,scscf.ims.lab,$SCSCF_PORT,10,0 \
    --srv-host=_sip._udp.fo.lab,dead.ims.lab,5099,10,0 \
    --srv-host=_sip._udp.fo.lab,scscf.ims.lab,$SCSCF_PORT,20,0 \
    --host-record=scscf.ims.lab,127.0.0.1 --host-record=dead.ims.lab,127.0.0.1 \
    </dev/null >"$T/dnsmasq.log" 2>&1 &
  track dnsmasq $!
  wait_port udp $DNS_PORT 10 dnsmasq
  log "dnsmasq up on 127.0.0.1:$DNS_PORT"
}

# wimsd_dns_ini URI [extra [pcscf] lines] [extra [dns] lines]
wimsd_dns_ini() {
  wimsd_pcscf_ini | sed "s|^scscf = .*|scscf = $1|"
  printf '%s\n' "${2:-}"
  printf '[sip]\nt1_ms = 100\n[dns]\nservers = 127.0.0.1:%s\ntimeout_ms = 300\ntries = 1\n%s\n' \
    "$DNS_PORT" "${3:-}"
}
restart_wimsd() {
  stop wimsd
  [ -f "$T/wimsd.log" ] && mv "$T/wimsd.log" "$T/wimsd-$1.log"
  start_wimsd "$2"
}

start_dns
start_scscf -A WITH_IMS_REG
sipp_register 1 ue1 127.0.0.1:$SCSCF_PORT

# 1. NAPTR -> SRV -> A
start_wimsd "$(wimsd_dns_ini sip:ims.lab)"
js_run alice-reg $(js_ue alice) --register --timeout 10000
assert_log alice-reg.log '^EVENT registered code=200'
assert_log wimsd.log 'dns: sip:ims\.lab -> 1 DNS target\(s\), first UDP 127\.0\.0\.1:5080' "wimsd did not resolve sip:ims.lab"
assert_log dnsmasq.log 'query\[NAPTR\] ims\.lab' "no NAPTR query"
assert_log dnsmasq.log 'query\[SRV\] _sip\._udp\.ims\.lab' "no SRV query"
assert_log scscf.log 'REGISTER sip:alice@ims\.lab saved' "the S-CSCF did not store alice"
sipp_bg ue1-a uas.xml "$(ue_port 1)" 127.0.0.1:$SCSCF_PORT -s ue1
js_run alice-call $(js_ue alice) --register --call sip:ue1@ims.lab --hangup-after 1000 --timeout 15000
sipp_wait ue1-a
assert_log alice-call.log '^EVENT confirmed call=out'
assert_log alice-call.log '^EVENT ended call=out originator=local'
assert_log ue1-a-msgs.log '^BYE sip:ue1@' "ue1 got no BYE"

# 2. failover to the next SRV target
restart_wimsd naptr "$(wimsd_dns_ini sip:fo.lab)"
js_run alice-fo $(js_ue alice) --register --timeout 25000
assert_log alice-fo.log '^EVENT registered code=200'
assert_log wimsd.log 'dns: sip:fo\.lab -> 2 DNS target\(s\), first UDP 127\.0\.0\.1:5099' "the dead target did not come first"
assert_log wimsd.log 'dns: sip:fo\.lab: 127\.0\.0\.1:5099 timed out, trying 127\.0\.0\.1:5080' "no failover"
n=$(grep -c 'timed out, trying' "$T/wimsd.log")
js_run alice-fo2 $(js_ue alice) --register --timeout 10000
assert_log alice-fo2.log '^EVENT registered code=200'
assert_eq "$(grep -c 'timed out, trying' "$T/wimsd.log")" "$n" "the dead target was tried again"

# 3. DNS down: the static fallback
stop dnsmasq
restart_wimsd failover "$(wimsd_dns_ini sip:ims.lab 'scscf_fallback = 127.0.0.1:5080')"
js_run alice-fb $(js_ue alice) --register --timeout 10000
assert_log alice-fb.log '^EVENT registered code=200'
assert_log wimsd.log 'dns: sip:ims\.lab: .*; using the static fallback' "the fallback was not used"
assert_log wimsd.log 'dns: sip:ims\.lab -> 1 fallback target\(s\), first UDP 127\.0\.0\.1:5080'

# 4. DNS down, no fallback: 503
restart_wimsd fallback "$(wimsd_dns_ini sip:ims.lab)"
js_run alice-503 $(js_ue alice) --register --expect-register-fail 503 --timeout 10000
assert_log wimsd.log 'and no fallback: requests get 503'
assert_loopback_only
