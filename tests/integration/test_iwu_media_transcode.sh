#!/usr/bin/env bash
# Transcoding (issue 5), IWU role: alice (werift: Opus, PCMU, PCMA) calls ue1,
# a sipp phone that answers AMR-WB only and echoes RTP.  wimsd offers AMR-WB and
# AMR to IMS after the browser's codecs; ue1 picks AMR-WB; the browser's answer
# says Opus.  Alice's Opus goes out as AMR-WB, comes back from the echo as
# AMR-WB and reaches her as Opus again.
. "$(dirname "$0")/lib.sh"
NG=${WIMS_BUILD:-$WIMS_SRC/build}/wims-ng
start_core
start_front "$(wimsd_iwu_ini; printf '[media]\nng_listen = 127.0.0.1:2223\n')"
sipp_register 1

sipp_bg ue1 uas_amr.xml "$(ue_port 1)" 127.0.0.1:$PCSCF_PORT -s ue1 -rtp_echo
js_bg alice $(js_ue alice) --pc werift --register --call sip:ue1@ims.lab \
  --media-send 150 --media-expect-received 100 --hangup-after 8000 --timeout 30000
wait_log "$T/alice.log" '^EVENT pc-stats call=out dtls=connected' 20
sleep 2
"$NG" -s 127.0.0.1:2223 list >"$T/list.out" 2>&1
CID=$(grep -oE '"calls":\["[^"]+"' "$T/list.out" | sed 's/.*\["//; s/"$//')
"$NG" -s 127.0.0.1:2223 query --call-id "$CID" >"$T/query.out" 2>&1 || fail "ng query: $(cat "$T/query.out")"
python3 - "$T/query.out" <<'PY' || fail "query shows no transcoded media both ways: $(cat "$T/query.out")"
import json, sys
txt = open(sys.argv[1]).read()
j = json.loads(txt[txt.index("{"):txt.rindex("}") + 1])
pk = [st["stats"]["packets"] for tag in j["tags"].values() for m in tag["medias"] for st in m["streams"]]
print("packets per stream side:", pk)
sys.exit(0 if len(pk) >= 2 and all(p >= 20 for p in pk) else 1)
PY
js_wait alice
sipp_wait ue1
# the offer to IMS: the browser's codecs, then AMR-WB and AMR
grep -E '^m=audio [0-9]+ RTP/AVP ' "$T/ue1-msgs.log" | head -1 >"$T/offer-mline"
grep -qE '^a=rtpmap:[0-9]+ AMR-WB/16000' "$T/ue1-msgs.log" || fail "the IMS offer has no AMR-WB"
assert_plain_rtp_offer ue1
assert_log wimsd.log 'transcodes opus <-> AMR-WB' "wimsd did not set up Opus <-> AMR-WB"
# media came back to alice (re-encoded twice, so counted, not compared)
assert_media_ok alice
assert_loopback_only
