#!/usr/bin/env bash
# wims's ng client (tools/wims-ng) against a stock rtpengine:
#  1. ping -> pong
#  2. offer of a plain RTP SDP with ICE=force, DTLS passive and
#     transport-protocol UDP/TLS/RTP/SAVPF -> a WebRTC SDP (ice-ufrag,
#     fingerprint, the UDP/TLS profile)
#  3. answer (WebRTC side answering back, turned into plain RTP/AVP)
#  4. query shows the call's two tags; list shows the call
#  5. delete -> ok; delete again -> ok with a warning (rtpengine's default),
#     or an error with the "fatal" flag
# With NG_AGW=wimsd (test_ng_wims.sh) the same commands go to wimsd's own AGW.
. "$(dirname "$0")/lib.sh"
NG=${WIMS_NG:-${WIMS_BUILD:-$WIMS_SRC/build}/wims-ng}
[ -x "$NG" ] || fail "wims-ng not built ($NG)"
AGW=${NG_AGW:-rtpengine}
if [ "$AGW" = wimsd ]; then start_wimsd_agw; else start_rtpengine 2223; fi

ng() { # NAME args...: run wims-ng, output in NAME.out
  local name=$1; shift
  "$NG" -s 127.0.0.1:2223 -t 3000 "$@" >"$T/$name.out" 2>&1
}

ng ping ping || fail "ping: $(cat "$T/ping.out")"
assert_log ping.out '"result":"pong"'

CID="ng-test-$$@127.0.0.1"
cat >"$T/offer.sdp" <<SDP
v=0
o=ue1 1 1 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 6010 RTP/AVP 0 8 101
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=sendrecv
SDP
sed -i 's/$/\r/' "$T/offer.sdp"
ng offer offer --call-id "$CID" --from-tag ft1 --via-branch z9hG4bK1 --sdp-file "$T/offer.sdp" \
  --ICE force --DTLS passive --transport-protocol UDP/TLS/RTP/SAVPF --rtcp-mux offer \
  --replace origin --replace session-connection --flag trust-address \
  || fail "offer: $(cat "$T/offer.out")"
assert_log offer.out '"result":"ok"'
assert_log offer.out '^a=ice-ufrag:'
assert_log offer.out '^a=fingerprint:sha-'
assert_log offer.out '^m=audio [0-9]+ UDP/TLS/RTP/SAVPF '
assert_log offer.out '^a=candidate:'

# the WebRTC side's answer, as a browser would send it
PORT=$(grep -m1 -oE '^m=audio [0-9]+' "$T/offer.out" | cut -d' ' -f2)
cat >"$T/answer.sdp" <<SDP
v=0
o=- 4611731400430051336 2 IN IP4 127.0.0.1
s=-
t=0 0
m=audio 6020 UDP/TLS/RTP/SAVPF 0
c=IN IP4 127.0.0.1
a=rtpmap:0 PCMU/8000
a=ice-ufrag:abcd
a=ice-pwd:0123456789abcdef012345
a=fingerprint:sha-256 AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99
a=setup:active
a=rtcp-mux
a=candidate:1 1 udp 2130706431 127.0.0.1 6020 typ host
a=sendrecv
SDP
sed -i 's/$/\r/' "$T/answer.sdp"
ng answer answer --call-id "$CID" --from-tag ft1 --to-tag tt1 --via-branch z9hG4bK1 --sdp-file "$T/answer.sdp" \
  --ICE remove --DTLS off --transport-protocol RTP/AVP --replace origin --flag trust-address \
  || fail "answer: $(cat "$T/answer.out")"
assert_log answer.out '"result":"ok"'
assert_log answer.out '^m=audio [0-9]+ RTP/AVP 0'
assert_no_log answer.out '^a=(ice-ufrag|fingerprint|candidate)'
log "offer gave WebRTC port $PORT; answer back to plain RTP"

ng query query --call-id "$CID" || fail "query: $(cat "$T/query.out")"
assert_log query.out '"result":"ok"'
assert_log query.out '"tags":\{"ft1":\{'
assert_log query.out '"tt1":\{'
assert_log query.out '"totals":\{'

ng list list || fail "list: $(cat "$T/list.out")"
grep -qF "\"$CID\"" "$T/list.out" || fail "list does not show the call: $(cat "$T/list.out")"

# delete-delay 0: rtpengine otherwise keeps a deleted call 30 s
ng delete delete --call-id "$CID" --delete-delay 0 || fail "delete: $(cat "$T/delete.out")"
assert_log delete.out '"result":"ok"'
sleep 0.2
# deleting it again: "ok" with a warning, or an error with the "fatal" flag
ng delete2 delete --call-id "$CID" --delete-delay 0 || fail "second delete: $(cat "$T/delete2.out")"
assert_log delete2.out '"warning":"Call-ID not found'
if ng delete3 delete --call-id "$CID" --flag fatal; then
  fail "second delete with fatal succeeded: $(cat "$T/delete3.out")"
fi
assert_log delete3.out '"result":"error"'
assert_log delete3.out '"error-reason":"Call-ID not found'

# --raw and an unknown command: rtpengine answers an error, exit status 1
if ng raw --raw 'd7:command14:no-such-thinge'; then fail "unknown command accepted"; fi
assert_log raw.out '"result":"error"'
alive "$AGW"
assert_loopback_only
