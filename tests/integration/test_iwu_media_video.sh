#!/usr/bin/env bash
# Video through wimsd's gateway, IWU role: alice (JsSIP + werift --video)
# offers audio (Opus, PCMU, PCMA) and video (VP8, H264; nack, nack pli, ccm
# fir, goog-remb) in one BUNDLE group on one ICE/DTLS-SRTP transport; ue1, a
# sipp phone with plain RTP/AVP, answers audio on its media port and video on
# port + 2 and echoes the RTP of both (-rtp_echo).  The core must see two
# m-lines with their own ports, RTP/AVP, no BUNDLE/ICE/DTLS/extmap, video
# feedback limited to nack/nack pli/ccm fir; alice's 100 audio and 100 video
# packets must come back byte for byte, each on its own kind (the gateway
# demultiplexes the bundled transport by payload type).  Then keyframe
# requests and NACK cross the legs: alice's PLI, FIR and NACK (sent the way
# werift sends its PLI) must reach ue1's video RTCP port (media port + 3,
# where sipp does not listen: a reflector stands in for the phone's RTCP) and
# none its audio RTCP port; the reflector answers each with the same kind of
# feedback, which must reach alice.
. "$(dirname "$0")/lib.sh"
start_iwu_lab

rtcp_fb_reflector_bg rtcp-peer 6011 6013
sipp_echo_av_bg ue1 1
js_bg alice $(js_ue alice) --pc werift --video --video-fb --register --call sip:ue1@ims.lab \
  --media-send 100 --media-expect-echo --hangup-after 2000 --timeout 30000
wait_log "$T/alice.log" '^(EVENT (video-fb-check|media-check fail|ended|failed)|ERROR)' 30
grep -E '^EVENT (pc-stats|media|media-check|video-fb)' "$T/alice.log" >&2
grep -E ' pt=20[56] ' "$T/rtcp-peer.log" | sort | uniq -c | sed 's/^/  ue1 rtcp: /' >&2
assert_media_ok alice
for fb in 'pt=206 fmt=1' 'pt=206 fmt=4' 'pt=205 fmt=1'; do
  assert_log rtcp-peer.log "^rtcp kind=video $fb " "ue1's video RTCP port got no $fb (PLI 206/1, FIR 206/4, NACK 205/1) from alice"
  assert_no_log rtcp-peer.log "^rtcp kind=audio $fb " "ue1's AUDIO RTCP port got video feedback $fb"
done
assert_log alice.log '^EVENT video-fb-check ok' "the feedback ue1 sent back did not reach alice: $(grep '^EVENT video-fb' "$T/alice.log" | tr '\n' ' ')"
js_wait alice
sipp_wait ue1
assert_log alice.log '^EVENT media sent=100 .*mismatched=0 ' "alice's audio line is missing or wrong"
assert_log alice.log '^EVENT media kind=video sent=100 .*mismatched=0 ' "alice's video line is missing or wrong"
assert_log alice.log '^EVENT pc-stats call=out kind=video dtls=connected' "alice never got a video codec"

# the offer ue1 received (the first SDP body of its message log)
assert_plain_rtp_offer ue1
awk '/^v=0/{n++} n==1' "$T/ue1-msgs.log" | tr -d '\r' | awk '/^$/{exit} {print}' >"$T/ue1-offer.sdp"
log "ue1's offer: $(tr '\n' '|' <"$T/ue1-offer.sdp")"
python3 - "$T/ue1-offer.sdp" <<'PY' || fail "ue1's SDP is not a plain two-m-line IMS offer (see above)"
import re, sys
sdp = [l for l in open(sys.argv[1]).read().splitlines() if l]
bad = []
ms = [(i, l) for i, l in enumerate(sdp) if l.startswith("m=")]
kinds = [l.split()[0][2:] for _, l in ms]
if kinds != ["audio", "video"]:
    bad.append("m-lines %s, expected audio, video" % kinds)
ports = [int(l.split()[1]) for _, l in ms]
if len(set(ports)) != len(ports) or 0 in ports:
    bad.append("ports %s not distinct and non-zero" % ports)
for _, l in ms:
    if l.split()[2] != "RTP/AVP":
        bad.append("profile %s" % l)
for l in sdp:
    if re.match(r"a=(group:BUNDLE|ice-|candidate|fingerprint|setup|tls-id|extmap|mid|rtcp-mux|ssrc|msid)", l):
        bad.append("attribute " + l)
if len(ms) == 2:
    vsec = sdp[ms[1][0]:]
    vpts = ms[1][1].split()[3:]
    names = {}
    for l in vsec:
        m = re.match(r"a=rtpmap:(\d+) ([^/]+)/", l)
        if m:
            names[m.group(1)] = m.group(2).upper()
    if not any(names.get(p) in ("VP8", "H264") for p in vpts):
        bad.append("no VP8/H264 in the video m-line: %s %s" % (vpts, names))
    if any(names.get(p) in ("RTX", "RED", "ULPFEC", "FLEXFEC-03") for p in vpts):
        bad.append("rtx/red/fec kept: %s" % names)
    for l in vsec:
        m = re.match(r"a=rtcp-fb:(\S+) (.*)$", l)
        if m and m.group(2).strip() not in ("nack", "nack pli", "ccm fir"):
            bad.append("video feedback " + l)
    fb = {re.match(r"a=rtcp-fb:\S+ (.*)$", l).group(1).strip() for l in vsec if l.startswith("a=rtcp-fb:")}
    if not {"nack", "nack pli", "ccm fir"} <= fb:
        bad.append("video feedback %s lacks nack/nack pli/ccm fir" % sorted(fb))
    asec = sdp[ms[0][0]:ms[1][0]]
    if any(l.startswith("a=rtcp-fb:") for l in asec):
        bad.append("audio feedback kept")
for b in bad:
    print("ue1 offer:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
# ue1's answer reached alice as a bundled WebRTC answer with both m-lines
assert_log wimsd.log 'DTLS-SRTP up' "wimsd logged no DTLS-SRTP association"
assert_loopback_only
