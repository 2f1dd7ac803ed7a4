#!/usr/bin/env bash
# Issue 5, RFC 4867 §4.3.1 CMR end to end through wimsd's packet path (its own AGW driven over
# ng, plain RTP on both legs):
#   "browser" leg: ffmpeg (libopus) sends a 1 kHz Opus tone (RTP, PT 111) from 127.0.0.1:6010;
#   IMS leg: an AMR-WB phone (a Python script on 127.0.0.1:6020, bandwidth-efficient
#   RFC 4867 payloads) sends NO_DATA frames carrying CMR=15 (no request) for 2 s, then
#   CMR=$CMR_MODE, and records every packet wimsd sends it.
# Checks: before the request wimsd's AMR-WB encoder runs at mode 8 (23.85 kbit/s); from 0.3 s
# after the first CMR=$CMR_MODE packet on, every speech frame wimsd sends is of mode <= $CMR_MODE;
# the CMR field of wimsd's packets is 15 (wims asks the phone for nothing); the frames,
# rewritten in the AMR-WB storage format (RFC 4867 §5), decode with ffmpeg's AMR-WB decoder
# into a 1 kHz tone (frequency within 2 %), both those before and those after the request.
. "$(dirname "$0")/lib.sh"
NG=${WIMS_NG:-${WIMS_BUILD:-$WIMS_SRC/build}/wims-ng}
CMR_MODE=${CMR_MODE:-2}
[ -x "$NG" ] || fail "wims-ng not built ($NG)"
command -v ffmpeg >/dev/null || fail "no ffmpeg (Debian package ffmpeg)"
start_wimsd_agw

ng() { # NAME args...: run wims-ng, output in NAME.out
  local name=$1; shift
  "$NG" -s 127.0.0.1:2223 -t 3000 "$@" >"$T/$name.out" 2>&1
}
PLAIN=(--transport-protocol RTP/AVP --ICE remove --DTLS off --replace origin --flag trust-address)
CID="cmr-$$"
printf 'v=0\r\no=web 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6010 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\na=sendrecv\r\n' >"$T/offer.sdp"
ng offer offer --call-id "$CID" --from-tag web --sdp-file "$T/offer.sdp" "${PLAIN[@]}" --flag codec-transcode-AMR-WB \
  || fail "offer: $(cat "$T/offer.out")"
GW_IMS=$(grep -m1 -oE '^m=audio [0-9]+' "$T/offer.out" | cut -d' ' -f2)
PT=$(grep -m1 -E '^a=rtpmap:[0-9]+ AMR-WB/' "$T/offer.out" | sed -E 's/^a=rtpmap:([0-9]+) .*/\1/')
[ -n "$GW_IMS" ] && [ -n "$PT" ] || fail "no AMR-WB in the offer toward IMS: $(cat "$T/offer.out")"
printf 'v=0\r\no=ims 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6020 RTP/AVP %s\r\na=rtpmap:%s AMR-WB/16000\r\na=fmtp:%s mode-change-capability=2;max-red=0\r\na=ptime:20\r\na=sendrecv\r\n' \
  "$PT" "$PT" "$PT" >"$T/answer.sdp"
ng answer answer --call-id "$CID" --from-tag web --to-tag ims --sdp-file "$T/answer.sdp" "${PLAIN[@]}" \
  || fail "answer: $(cat "$T/answer.out")"
GW_WEB=$(grep -m1 -oE '^m=audio [0-9]+' "$T/answer.out" | cut -d' ' -f2)
wait_log "$T/wimsd.log" "call $CID transcodes opus <-> AMR-WB" 3
log "transcoded call: browser leg -> 127.0.0.1:$GW_WEB, IMS leg (AMR-WB PT $PT) -> 127.0.0.1:$GW_IMS"

# the phone: sends NO_DATA + CMR, records what arrives (time since start, raw payload)
cat >"$T/phone.py" <<'PY'
import socket, struct, sys, time
gw, pt, mode, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 6020))
s.settimeout(0.005)
log = open(out, "w")
t0 = time.monotonic()
seq, ts, n, switched = 1000, 0, 0, None
while True:
    now = time.monotonic() - t0
    if now >= 6.0:
        break
    if now >= n * 0.02:
        cmr = 15 if now < 2.0 else mode
        if cmr != 15 and switched is None:
            switched = now
            log.write("switch %.3f\n" % now)
        # CMR(4) F=0 FT=15 (NO_DATA) Q=1, padded: 10 bits in 2 octets
        bits = (cmr << 6) | (0 << 5) | (15 << 1) | 1
        pl = struct.pack("!H", bits << 6)
        hdr = struct.pack("!BBHII", 0x80, pt, seq & 0xFFFF, ts & 0xFFFFFFFF, 0x51A7E)
        s.sendto(hdr + pl, ("127.0.0.1", gw))
        seq += 1; ts += 320; n += 1
    try:
        d, a = s.recvfrom(2048)
        log.write("rx %.3f %s\n" % (time.monotonic() - t0, d.hex()))
    except socket.timeout:
        pass
log.close()
PY
python3 "$T/phone.py" "$GW_IMS" "$PT" "$CMR_MODE" "$T/phone.log" &
track phone $!
wait_port udp 6020 3 phone
timeout 20 ffmpeg -nostdin -hide_banner -loglevel warning -re -f lavfi -i "sine=frequency=1000:sample_rate=48000:duration=5.5" \
  -af volume=0.3 -ac 1 -c:a libopus -b:a 32k -payload_type 111 -ssrc 4660 -f rtp "rtp://127.0.0.1:$GW_WEB?localport=6010" \
  >"$T/ffmpeg-send.log" 2>&1 || fail "ffmpeg (Opus sender) failed: $(cat "$T/ffmpeg-send.log")"
wait "${_BG_PID[phone]}" || fail "the phone script failed"

# analyse: modes before/after, CMR field, storage-format files for ffmpeg
python3 - "$T/phone.log" "$CMR_MODE" "$T/before.awb" "$T/after.awb" >"$T/analysis.log" 2>&1 <<'PY' || fail "analysis: $(cat "$T/analysis.log")"
import sys
BITS = [132, 177, 253, 285, 317, 365, 397, 461, 477, 40, 0, 0, 0, 0, 0, 0]
log, mode, before, after = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
switch, pk = None, []
for line in open(log):
    f = line.split()
    if f[0] == "switch":
        switch = float(f[1])
    else:
        pk.append((float(f[1]), bytes.fromhex(f[2])))
assert switch is not None, "the phone never sent the CMR"

def frames(pl):  # RFC 4867 §4.4 bandwidth-efficient: (cmr, [(ft, q, speech bits as int)])
    v, nb = int.from_bytes(pl, "big"), len(pl) * 8
    pos = 0
    def take(k):
        nonlocal pos
        x = (v >> (nb - pos - k)) & ((1 << k) - 1); pos += k; return x
    cmr, toc = take(4), []
    while True:
        fb, ft, q = take(1), take(4), take(1)
        toc.append((ft, q))
        if not fb:
            break
    out = []
    for ft, q in toc:
        out.append((ft, q, take(BITS[ft]), BITS[ft]))
    assert pos <= nb, "payload shorter than its TOC says"
    return cmr, out

def storage(fr):
    ft, q, sp, n = fr
    pad = (-n) % 8
    return bytes([(ft << 3) | (q << 2)]) + ((sp << pad).to_bytes((n + pad) // 8, "big") if n else b"")

pre, post, cmrs, late = [], [], set(), []
for t, d in pk:
    assert d[0] >> 6 == 2 and d[1] & 0x7F != 0, "not RTP"
    cmr, fr = frames(d[12:])
    cmrs.add(cmr)
    for x in fr:
        if x[0] > 8:
            continue  # SID / NO_DATA
        if t < switch:
            pre.append(x)
        elif t >= switch + 0.3:
            post.append(x)
            if x[0] > mode:
                late.append((round(t - switch, 3), x[0]))
print("packets %d; speech frames before the CMR %d (modes %s), after it %d (modes %s); CMR sent by wims %s"
      % (len(pk), len(pre), sorted({x[0] for x in pre}), len(post), sorted({x[0] for x in post}), sorted(cmrs)))
assert len(pre) >= 50 and len(post) >= 50, "too few frames"
assert {x[0] for x in pre} == {8}, "before the CMR the encoder should run at mode 8"
assert not late, "frames above mode %d after the CMR: %s" % (mode, late[:5])
assert max(x[0] for x in post) == mode, "the encoder did not go to the highest mode allowed"
assert cmrs == {15}, "wims sent CMR %s" % sorted(cmrs)
for path, fr in ((before, pre), (after, post)):
    with open(path, "wb") as o:
        o.write(b"#!AMR-WB\n")
        for x in fr:
            o.write(storage(x))
PY
sed 's/^/    /' "$T/analysis.log" >&2

# ffmpeg decodes both parts: valid AMR-WB frames of those modes, the tone at 1 kHz
for part in before after; do
  ffmpeg -nostdin -hide_banner -loglevel error -i "$T/$part.awb" -ar 16000 -ac 1 -y "$T/$part.wav" >"$T/ffmpeg-$part.log" 2>&1 \
    || fail "ffmpeg cannot decode the $part part: $(cat "$T/ffmpeg-$part.log")"
  [ -s "$T/ffmpeg-$part.log" ] && fail "ffmpeg complained about the $part part: $(cat "$T/ffmpeg-$part.log")"
  python3 "$WIMS_SRC/tests/integration/tone_check.py" "$T/$part.wav" 1000 -20 --tol-db 40 --skip 0.3 \
    >"$T/tone-$part.log" 2>&1 || fail "$part part: $(cat "$T/tone-$part.log")"
  log "ffmpeg decoded the $part part: $(tr '\n' ' ' <"$T/tone-$part.log")"
done
ng delete delete --call-id "$CID" --delete-delay 0 || fail "delete: $(cat "$T/delete.out")"
alive wimsd
assert_loopback_only
