#!/usr/bin/env bash
# wimsd's AGW over ng at its limits ([media] max_sessions = 2):
#  1. two calls are anchored, a third offer gets an error reply naming the limit
#     (and SIP roles answer 503 in the same case: test_media_badinput)
#  2. after a delete the third call is anchored
#  3. an offer with flags wims does not know is served, the flags named in the
#     reply's warning; an SDP that is not SDP gets an error with the reason
. "$(dirname "$0")/lib.sh"
NG=${WIMS_NG:-${WIMS_BUILD:-$WIMS_SRC/build}/wims-ng}
[ -x "$NG" ] || fail "wims-ng not built ($NG)"
wimsd_agw_ini | sed 's/^ng_listen = .*/&\nmax_sessions = 2/' >"$T/agw.ini"
"$WIMSD" -c "$T/agw.ini" </dev/null >"$T/wimsd.log" 2>&1 &
track wimsd $!
wait_port udp 2223 10 wimsd

cat >"$T/offer.sdp" <<SDP
v=0
o=ue1 1 1 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 6010 RTP/AVP 0 8
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
SDP
sed -i 's/$/\r/' "$T/offer.sdp"
offer() { # NAME CALL-ID [args]
  local name=$1 cid=$2; shift 2
  "$NG" -s 127.0.0.1:2223 -t 3000 offer --call-id "$cid" --from-tag ft --sdp-file "$T/offer.sdp" \
    --ICE force --transport-protocol UDP/TLS/RTP/SAVPF "$@" >"$T/$name.out" 2>&1
}
offer o1 call-1 || fail "first offer: $(cat "$T/o1.out")"
offer o2 call-2 || fail "second offer: $(cat "$T/o2.out")"
if offer o3 call-3; then fail "a third call was anchored beyond max_sessions = 2"; fi
assert_log o3.out '"result":"error"'
assert_log o3.out '"error-reason":"[^"]*(limit|session)' "the error does not say why"
"$NG" -s 127.0.0.1:2223 delete --call-id call-1 >"$T/d1.out" 2>&1 || fail "delete: $(cat "$T/d1.out")"
offer o4 call-3 || fail "the third call after a delete: $(cat "$T/o4.out")"
"$NG" -s 127.0.0.1:2223 delete --call-id call-2 >/dev/null 2>&1
offer o5 call-5 --flag no-such-flag-xyz || fail "offer with an unknown flag: $(cat "$T/o5.out")"
assert_log o5.out '"warning":"[^"]*no-such-flag-xyz' "the unknown flag was not reported"
printf 'v=0\r\nthis is not sdp\r\n' >"$T/bad.sdp"
if "$NG" -s 127.0.0.1:2223 offer --call-id call-6 --from-tag ft --sdp-file "$T/bad.sdp" >"$T/o6.out" 2>&1; then
  fail "an offer of garbage was accepted"
fi
assert_log o6.out '"error-reason":"bad SDP' "no reason for the bad SDP"
alive wimsd
assert_loopback_only
