#!/usr/bin/env bash
# IPv4 and IPv6 host candidates at once ([media] address = 127.0.0.1, ::1):
# alice (JsSIP + werift) is an IPv6-only browser (--ipv6-only: one ::1 host
# candidate) and calls ue1, a sipp phone with plain RTP/AVP on 127.0.0.1 that
# echoes RTP.  wimsd's answer toward alice carries a host candidate on each
# address (c= keeps the first, 127.0.0.1); alice's checks on ::1 are answered,
# the nominated IPv6 pair carries DTLS-SRTP, and her 100 packets come back
# byte for byte.  The core side stays IPv4 (the first address).
. "$(dirname "$0")/lib.sh"
ip -6 addr show dev lo 2>/dev/null | grep -q '::1/128' || fail "no ::1 on lo in the lab namespace"
NG=${WIMS_BUILD:-$WIMS_SRC/build}/wims-ng
start_core
start_front "$(wimsd_iwu_ini; printf '[media]\naddress = 127.0.0.1, ::1\nng_listen = 127.0.0.1:2223\n')"
sipp_register 1

sipp_echo_bg ue1 1
js_bg alice $(js_ue alice) --pc werift --ipv6-only --register --call sip:ue1@ims.lab \
  --media-send 100 --media-expect-echo --hangup-after 6000 --timeout 30000
wait_log "$T/alice.log" '^EVENT media ' 20
"$NG" -s 127.0.0.1:2223 list >"$T/list.out" 2>&1 || fail "ng list: $(cat "$T/list.out")"
CID=$(grep -oE '"calls":\["[^"]+"' "$T/list.out" | sed 's/.*\["//; s/"$//')
[ -n "$CID" ] || fail "no call in the AGW's list: $(cat "$T/list.out")"
"$NG" -s 127.0.0.1:2223 query --call-id "$CID" >"$T/query.out" 2>&1 || fail "ng query: $(cat "$T/query.out")"
js_wait alice
sipp_wait ue1
assert_media_ok alice
assert_plain_rtp_offer ue1
assert_log alice.log '^EVENT pc-stats call=out dtls=connected' "alice's DTLS never connected"
assert_log wimsd.log 'DTLS-SRTP up' "wimsd logged no DTLS-SRTP association"
# alice offered ::1 only; wimsd answered a host candidate on each address
assert_log alice.log '^EVENT candidates call=out local=::1/[0-9]+ remote=127\.0\.0\.1/[0-9]+,::1/[0-9]+$' "candidates: $(grep candidates "$T/alice.log")"
assert_log query.out '"endpoint":\{"address":"::1","family":"IPv6"' "the browser side's media address is not IPv6: $(cat "$T/query.out")"
assert_loopback_only
