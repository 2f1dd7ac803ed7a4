#!/usr/bin/env bash
# Issue 5, Opus <-> G.711 over ng (wimsd's own AGW, [media] ng_listen): an Opus-only
# plain-RTP offer with codec-transcode-PCMU (the pair rtpengine transcodes too, for
# bench/xcode.sh's same-pair ratio):
#  1. the offer toward the plain side gets PCMU/8000 (PT 0) and telephone-event/8000 after
#     the Opus and telephone-event/48000 the offer has;
#  2. the plain side answers PCMU only -> wimsd logs "transcodes opus <-> PCMU", and the
#     answer toward the offerer names Opus;
#  3. ffmpeg sends a 700 Hz tone at -20 dBFS as Opus (libopus, PT 111) from the offer's port
#     to wimsd; a second ffmpeg, the plain side, receives PCMU at the answer's port into a
#     WAV; tone_check.py: 700 Hz within 2 %, -20 dBFS within 1 dB; then the other way, PCMU
#     from the plain side decoded as Opus at the offer's port by libopus, within 1 dB;
#  4. the codec dict form (transcode list [PCMA]) offers PCMA (PT 8) instead.
. "$(dirname "$0")/lib.sh"
NG=${WIMS_NG:-${WIMS_BUILD:-$WIMS_SRC/build}/wims-ng}
[ -x "$NG" ] || fail "wims-ng not built ($NG)"
command -v ffmpeg >/dev/null || fail "no ffmpeg (Debian package ffmpeg)"
[[ $(ffmpeg -hide_banner -encoders 2>/dev/null) == *libopus* ]] || fail "ffmpeg without libopus"
[[ $(ffmpeg -hide_banner -decoders 2>/dev/null) == *libopus* ]] || fail "ffmpeg without the libopus decoder"
FREQ=700 LEVEL=-20
start_wimsd_agw

ng() { # NAME args...: run wims-ng, output in NAME.out
  local name=$1; shift
  "$NG" -s 127.0.0.1:2223 -t 3000 "$@" >"$T/$name.out" 2>&1
}
crlf() { sed -i 's/$/\r/' "$1"; }
# rtpmap_of NAME ENC: the PT of ENC in NAME.out
rtpmap_of() { grep -m1 -E "^a=rtpmap:[0-9]+ $2/" "$T/$1.out" | sed -E 's/^a=rtpmap:([0-9]+) .*/\1/'; }
# codecs_of NAME: the encodings of NAME.out's audio m-line, in order
codecs_of() {
  local m pts=() names=()
  m=$(grep -m1 -E '^m=audio ' "$T/$1.out" | tr -d '\r')
  read -r -a pts <<<"${m#* * * }"
  for p in "${pts[@]}"; do
    names+=("$(grep -m1 -E "^a=rtpmap:$p " "$T/$1.out" | tr -d '\r' | sed -E 's/^a=rtpmap:[0-9]+ ([^ ]+)$/\1/')")
  done
  echo "${names[*]}"
}

cat >"$T/offer.sdp" <<SDP
v=0
o=web 1 1 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 6010 RTP/AVP 111 110
a=rtpmap:111 opus/48000/2
a=fmtp:111 minptime=10;useinbandfec=1
a=rtpmap:110 telephone-event/48000
a=sendrecv
SDP
crlf "$T/offer.sdp"
PLAIN=(--transport-protocol RTP/AVP --ICE remove --DTLS off --replace origin --flag trust-address)
CID="g711-$$"

ng o1 offer --call-id "$CID" --from-tag web --sdp-file "$T/offer.sdp" "${PLAIN[@]}" --flag codec-transcode-PCMU \
  || fail "offer: $(cat "$T/o1.out")"
assert_eq "$(codecs_of o1)" "opus/48000/2 telephone-event/48000 PCMU/8000 telephone-event/8000" \
  "the offer toward the plain side: $(codecs_of o1)"
assert_eq "$(rtpmap_of o1 PCMU)" 0 "PCMU not at PT 0"
log "offer toward the plain side: $(codecs_of o1)"

printf 'v=0\r\no=plain 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6020 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n' \
  >"$T/answer.sdp"
ng a1 answer --call-id "$CID" --from-tag web --to-tag plain --sdp-file "$T/answer.sdp" "${PLAIN[@]}" \
  || fail "answer: $(cat "$T/a1.out")"
assert_log a1.out '"result":"ok"'
wait_log "$T/wimsd.log" "call $CID transcodes opus <-> PCMU\$" 3 || fail "call $CID does not transcode opus <-> PCMU"
assert_eq "$(codecs_of a1)" "opus/48000/2 telephone-event/48000" "the answer toward the offerer: $(codecs_of a1)"
GW_PORT=$(grep -m1 -E '^m=audio ' "$T/a1.out" | awk '{print $2}')
log "wimsd takes the Opus at 127.0.0.1:$GW_PORT"

# the plain side: ffmpeg decodes the PCMU wimsd sends to 6020
printf 'v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=plain\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6020 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=recvonly\r\n' \
  >"$T/plain.sdp"
WAV=$T/plain.wav
timeout 30 ffmpeg -nostdin -hide_banner -loglevel warning -protocol_whitelist file,udp,rtp \
  -i "$T/plain.sdp" -t 4 -ar 8000 -ac 1 -y "$WAV" >"$T/ffmpeg-rx.log" 2>&1 &
RX=$!
wait_port udp 6020 5
# the offerer: a 700 Hz tone at -20 dBFS (amplitude 0.1) encoded by libopus, 20 ms frames
timeout 30 ffmpeg -nostdin -hide_banner -loglevel warning -re \
  -f lavfi -i "aevalsrc=0.1*sin(2*PI*$FREQ*t):s=48000:d=8" -c:a libopus -b:a 48k -frame_duration 20 \
  -application audio -payload_type 111 -f rtp "rtp://127.0.0.1:$GW_PORT?localport=6010" \
  >"$T/ffmpeg-tx.log" 2>&1 &
TX=$!
wait $RX || { sed 's/^/    /' "$T/ffmpeg-rx.log" >&2; fail "ffmpeg (PCMU receiver) failed"; }
kill "$TX" 2>/dev/null; wait "$TX" 2>/dev/null
tone_check "$WAV" $FREQ $LEVEL "Opus -> PCMU (ffmpeg decodes the plain side)" --skip 1 --tol-db 1

# the other way: the plain side sends the tone as PCMU from 6020, the offerer decodes Opus at 6010
# (the WAV keeps both channels: tone_check.py reads the first; ffmpeg's stereo-to-mono adds 3 dB)
# with libopus, the reference decoder browsers use: ffmpeg's native Opus decoder (5.1) plays
# wimsd's SILK narrowband packets 3 dB hot (-17.1 dBFS) where libopus gives -20.2 from the
# same packets (captured, replayed to both); tests/unit/codec/test_level.c holds wimsd's side
PLAIN_GW_PORT=$(grep -m1 -E '^m=audio ' "$T/o1.out" | awk '{print $2}')
printf 'v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=web\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6010 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\na=recvonly\r\n' \
  >"$T/web.sdp"
WAV2=$T/web.wav
timeout 30 ffmpeg -nostdin -hide_banner -loglevel warning -protocol_whitelist file,udp,rtp \
  -c:a libopus -i "$T/web.sdp" -t 4 -ar 16000 -y "$WAV2" >"$T/ffmpeg-rx2.log" 2>&1 &
RX=$!
wait_port udp 6010 5
timeout 30 ffmpeg -nostdin -hide_banner -loglevel warning -re \
  -f lavfi -i "aevalsrc=0.1*sin(2*PI*$FREQ*t):s=8000:d=8" -c:a pcm_mulaw -payload_type 0 \
  -f rtp "rtp://127.0.0.1:$PLAIN_GW_PORT?localport=6020" >"$T/ffmpeg-tx2.log" 2>&1 &
TX=$!
wait $RX || { sed 's/^/    /' "$T/ffmpeg-rx2.log" >&2; fail "ffmpeg (Opus receiver) failed"; }
kill "$TX" 2>/dev/null; wait "$TX" 2>/dev/null
tone_check "$WAV2" $FREQ $LEVEL "PCMU -> Opus (ffmpeg's libopus decodes the offerer's side)" --skip 1 --tol-db 1

# the dict form, PCMA: d ... 5:codecd9:transcodel4:PCMAee ...
RAW=$(python3 - "$T/offer.sdp" "g711b-$$" <<'PY'
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
       b"flags": ["trust-address"], b"codec": {b"transcode": ["PCMA"]}}
sys.stdout.write(b(msg).decode())
PY
)
ng o2 --raw "$RAW" || fail "o2 offer: $(cat "$T/o2.out")"
assert_eq "$(codecs_of o2)" "opus/48000/2 telephone-event/48000 PCMA/8000 telephone-event/8000" \
  "o2 offered $(codecs_of o2)"
assert_eq "$(rtpmap_of o2 PCMA)" 8 "PCMA not at PT 8"
sed 's/PCMU/PCMA/; s/RTP\/AVP 0/RTP\/AVP 8/; s/rtpmap:0/rtpmap:8/' "$T/answer.sdp" >"$T/answer2.sdp"
ng a2 answer --call-id "g711b-$$" --from-tag web --to-tag plain --sdp-file "$T/answer2.sdp" "${PLAIN[@]}" \
  || fail "o2 answer: $(cat "$T/a2.out")"
wait_log "$T/wimsd.log" "call g711b-$$ transcodes opus <-> PCMA\$" 3 || fail "g711b does not transcode opus <-> PCMA"

for c in "$CID" "g711b-$$"; do ng "del-$c" delete --call-id "$c" --delete-delay 0 || fail "delete $c"; done
alive wimsd
assert_loopback_only
