#!/usr/bin/env bash
# Issue 5, codec preference over ng (wimsd's own AGW, [media] ng_listen, default
# codec_prefer = opus, amr-wb, pcma, pcmu, amr): the same plain-RTP offer of Opus and PCMA,
# answered by an AMR-only phone with the first AMR codec it was offered:
#  1. codec-transcode-AMR-WB, codec-transcode-AMR: AMR-WB offered first -> Opus <-> AMR-WB
#  2. the codec dict, transcode list [AMR, AMR-WB] (as Kamailio's rtpengine module sends
#     it): AMR offered first -> PCMA <-> AMR (narrowband pairs with G.711)
#  3. codec-transcode-PCMA, codec-transcode-AMR-WB: PCMA listed as the browser codec -> the
#     pair is PCMA <-> AMR-WB
#  4. codec-transcode-AMR alone: AMR-WB is not offered at all (only what the list names)
. "$(dirname "$0")/lib.sh"
NG=${WIMS_NG:-${WIMS_BUILD:-$WIMS_SRC/build}/wims-ng}
[ -x "$NG" ] || fail "wims-ng not built ($NG)"
start_wimsd_agw

ng() { # NAME args...: run wims-ng, output in NAME.out
  local name=$1; shift
  "$NG" -s 127.0.0.1:2223 -t 3000 "$@" >"$T/$name.out" 2>&1
}
crlf() { sed -i 's/$/\r/' "$1"; }

cat >"$T/offer.sdp" <<SDP
v=0
o=web 1 1 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 6010 RTP/AVP 111 8 110
a=rtpmap:111 opus/48000/2
a=fmtp:111 minptime=10;useinbandfec=1
a=rtpmap:8 PCMA/8000
a=rtpmap:110 telephone-event/48000
a=sendrecv
SDP
crlf "$T/offer.sdp"
PLAIN=(--transport-protocol RTP/AVP --ICE remove --DTLS off --replace origin --flag trust-address)

# amr_order NAME: the AMR codecs of the offer toward the phone, in m-line order
amr_order() {
  local m pts=() names=()
  m=$(grep -m1 -E '^m=audio ' "$T/$1.out" | tr -d '\r')
  read -r -a pts <<<"${m#* * * }"
  for p in "${pts[@]}"; do
    n=$(grep -m1 -E "^a=rtpmap:$p " "$T/$1.out" | tr -d '\r' | sed -E 's/^a=rtpmap:[0-9]+ ([^/]+).*/\1/')
    case $n in AMR|AMR-WB) names+=("$n");; esac
  done
  echo "${names[*]}"
}
# answer_first NAME CID: the phone answers the first AMR codec offered in NAME.out
answer_first() {
  local name=$1 cid=$2 first pt clock
  first=$(amr_order "$name" | cut -d' ' -f1)
  pt=$(grep -m1 -E "^a=rtpmap:[0-9]+ $first/" "$T/$name.out" | sed -E 's/^a=rtpmap:([0-9]+) .*/\1/')
  clock=16000; [ "$first" = AMR ] && clock=8000
  printf 'v=0\r\no=ims 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6020 RTP/AVP %s\r\na=rtpmap:%s %s/%s\r\na=ptime:20\r\na=sendrecv\r\n' \
    "$pt" "$pt" "$first" "$clock" >"$T/$name-answer.sdp"
  ng "$name-answer" answer --call-id "$cid" --from-tag web --to-tag ims --sdp-file "$T/$name-answer.sdp" "${PLAIN[@]}" \
    || fail "$name answer: $(cat "$T/$name-answer.out")"
  assert_log "$name-answer.out" '"result":"ok"'
}
# offer_flags NAME CID FLAG...: offer with --flag FLAG for each
offer_flags() {
  local name=$1 cid=$2 fl=(); shift 2
  for f in "$@"; do fl+=(--flag "$f"); done
  ng "$name" offer --call-id "$cid" --from-tag web --sdp-file "$T/offer.sdp" "${PLAIN[@]}" "${fl[@]}" \
    || fail "$name offer: $(cat "$T/$name.out")"
}
pair_is() { # CID PAIR
  wait_log "$T/wimsd.log" "call $1 transcodes $2\$" 3 || fail "call $1 is not $2: $(grep "call $1 " "$T/wimsd.log")"
  log "call $1: $2"
}

offer_flags o1 "pref1-$$" codec-transcode-AMR-WB codec-transcode-AMR
assert_eq "$(amr_order o1)" "AMR-WB AMR" "o1 offered $(amr_order o1)"
answer_first o1 "pref1-$$"
pair_is "pref1-$$" "opus <-> AMR-WB"

# the dict form: d ... 5:codecd9:transcodel3:AMR6:AMR-WBee ...
RAW=$(python3 - "$T/offer.sdp" "pref2-$$" <<'PY'
import sys
sdp = open(sys.argv[1], "rb").read()
def b(x):
    if isinstance(x, dict):
        return b"d" + b"".join(b(k) + b(v) for k, v in sorted(x.items())) + b"e"
    if isinstance(x, list):
        return b"l" + b"".join(b(i) for i in x) + b"e"
    if isinstance(x, str):
        x = x.encode()
    return str(len(x)).encode() + b":" + x
msg = {b"command": "offer", b"call-id": sys.argv[2], b"from-tag": "web", b"sdp": sdp,
       b"transport-protocol": "RTP/AVP", b"ICE": "remove", b"DTLS": "off", b"replace": ["origin"],
       b"flags": ["trust-address"], b"codec": {b"transcode": ["AMR", "AMR-WB"]}}
sys.stdout.write(b(msg).decode())
PY
)
ng o2 --raw "$RAW" || fail "o2 offer: $(cat "$T/o2.out")"
assert_eq "$(amr_order o2)" "AMR AMR-WB" "o2 offered $(amr_order o2)"
answer_first o2 "pref2-$$"
pair_is "pref2-$$" "PCMA <-> AMR"

offer_flags o3 "pref3-$$" codec-transcode-PCMA codec-transcode-AMR-WB
assert_eq "$(amr_order o3)" "AMR-WB" "o3 offered $(amr_order o3)"
answer_first o3 "pref3-$$"
pair_is "pref3-$$" "PCMA <-> AMR-WB"

offer_flags o4 "pref4-$$" codec-transcode-AMR
assert_eq "$(amr_order o4)" "AMR" "o4 offered $(amr_order o4)"
answer_first o4 "pref4-$$"
pair_is "pref4-$$" "PCMA <-> AMR"

for i in 1 2 3 4; do ng "del$i" delete --call-id "pref$i-$$" --delete-delay 0 || fail "delete $i"; done
alive wimsd
assert_loopback_only
