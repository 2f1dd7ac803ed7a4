#!/usr/bin/env bash
# WebRTC media through wimsd's gateway, IWU role: alice (JsSIP + werift: ICE,
# DTLS-SRTP, BUNDLE, rtcp-mux) calls ue1, a sipp phone with plain RTP/AVP that
# echoes RTP.  The core must see plain RTP SDP; alice's 100 packets must come
# back byte for byte through ICE-lite + DTLS-SRTP -> RTP -> echo -> SRTP.
# Mid-call, an ng `query` (wims-ng) shows the call's packets in both
# directions; after the BYE the call is gone from `list`.
. "$(dirname "$0")/lib.sh"
NG=${WIMS_BUILD:-$WIMS_SRC/build}/wims-ng
start_core
start_front "$(wimsd_iwu_ini; printf '[media]\nng_listen = 127.0.0.1:2223\n')"
sipp_register 1

sipp_echo_bg ue1 1
js_bg alice $(js_ue alice) --pc werift --register --call sip:ue1@ims.lab \
  --media-send 100 --media-expect-echo --hangup-after 6000 --timeout 30000
wait_log "$T/alice.log" '^EVENT media ' 20
"$NG" -s 127.0.0.1:2223 list >"$T/list.out" 2>&1 || fail "ng list: $(cat "$T/list.out")"
CID=$(grep -oE '"calls":\["[^"]+"' "$T/list.out" | sed 's/.*\["//; s/"$//')
[ -n "$CID" ] || fail "no call in the AGW's list: $(cat "$T/list.out")"
"$NG" -s 127.0.0.1:2223 query --call-id "$CID" >"$T/query.out" 2>&1 || fail "ng query: $(cat "$T/query.out")"
python3 - "$T/query.out" <<'PY' || fail "query shows no media both ways: $(cat "$T/query.out")"
import json, re, sys
txt = open(sys.argv[1]).read()
j = json.loads(txt[txt.index("{"):txt.rindex("}") + 1])
pk = [st["stats"]["packets"] for tag in j["tags"].values() for m in tag["medias"] for st in m["streams"]]
print("packets per stream side:", pk)
sys.exit(0 if len(pk) >= 2 and all(p >= 90 for p in pk) else 1)
PY
js_wait alice
sipp_wait ue1
assert_media_ok alice
assert_plain_rtp_offer ue1
assert_log alice.log '^EVENT pc-stats call=out dtls=connected' "alice's DTLS never connected"
assert_log wimsd.log 'DTLS-SRTP up' "wimsd logged no DTLS-SRTP association"
"$NG" -s 127.0.0.1:2223 list >"$T/list2.out" 2>&1
assert_no_log list2.out "$CID" "the call's media outlived its BYE"
assert_loopback_only
