#!/usr/bin/env bash
# Bad input at the media gateway (wimsd, IWU role, [media] max_sessions = 1):
#  1. a browser whose DTLS certificate does not match its a=fingerprint gets
#     no media (wimsd logs the mismatch; alice's echo check fails)
#  2. while alice's call holds the only media session, stray packets (STUN
#     with a bad MESSAGE-INTEGRITY, RTP from an address that passed no ICE
#     check) sent to every media port get no answer and do not disturb her
#     media; a second call is refused with 503 (session limit)
. "$(dirname "$0")/lib.sh"
start_core
start_wimsd "$(wimsd_iwu_ini; printf '[media]\nmax_sessions = 1\nport_min = 30000\nport_max = 30019\n')"
sipp_register 1
sipp_register 2

# ---- 1: wrong fingerprint
sipp_echo_bg ue1-a 1
log "jsclient alice-a (expected to fail the media check)"
node "$JSCLIENT" $(js_ue alice) --pc werift --register --call sip:ue1@ims.lab --mangle-fingerprint \
  --media-send 20 --media-expect-echo --media-wait-ms 500 --hangup-after 3000 --timeout 30000 \
  </dev/null >"$T/alice-a.log" 2>&1
rc=$?
[ $rc -ne 0 ] || fail "alice-a exited 0 although the gateway must refuse her DTLS certificate"
assert_log alice-a.log '^EVENT sdp-mangled' "the fingerprint was not mangled"
assert_no_log alice-a.log '^EVENT media-check ok' "media flowed with a wrong fingerprint"
assert_log wimsd.log 'certificate does not match a=fingerprint' "wimsd did not log the fingerprint mismatch"
sipp_wait ue1-a 20 || true
stop ue1-a

# ---- 2: stray packets during a good call, then the session limit
sipp_echo_bg ue1-b 1
js_bg alice-b $(js_ue alice) --pc werift --register --call sip:ue1@ims.lab \
  --media-send 150 --media-expect-echo --hangup-after 7000 --timeout 30000
wait_log "$T/alice-b.log" '^EVENT pc-stats call=out dtls=connected' 15
python3 - "$T/stray.log" <<'PY' || fail "a stray packet got an answer (see stray.log)"
import hashlib, hmac, os, socket, struct, sys, zlib
log = open(sys.argv[1], "w")
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0)); s.settimeout(0.05)
def stun_bad_mi():
    txid = os.urandom(12)
    user = b"xxxx:yyyy"
    attrs = struct.pack("!HH", 0x0006, len(user)) + user + b"\0" * (-len(user) % 4)
    attrs += struct.pack("!HHI", 0x0024, 4, 0x6e7f1eff)          # PRIORITY
    attrs += struct.pack("!HH", 0x0025, 0)                         # USE-CANDIDATE
    hdr = struct.pack("!HHI", 0x0001, len(attrs) + 24, 0x2112A442) + txid
    mi = hmac.new(b"not-the-password", hdr + attrs, hashlib.sha1).digest()
    return hdr + attrs + struct.pack("!HH", 0x0008, 20) + mi
def rtp():
    return struct.pack("!BBHII", 0x80, 111, 1, 1234, 0xdeadbeef) + b"x" * 40
answers = 0
for port in range(30000, 30020):
    for pkt in (stun_bad_mi(), rtp(), b"\x16\xfe\xfd" + b"\0" * 40):
        s.sendto(pkt, ("127.0.0.1", port))
        try:
            data, peer = s.recvfrom(2048)
            answers += 1
            print("answer from", peer, data[:8].hex(), file=log)
        except socket.timeout:
            pass
print("answers", answers, file=log)
sys.exit(1 if answers else 0)
PY
sipp_echo_bg ue2 2
log "jsclient bob (expected to be refused)"
node "$JSCLIENT" $(js_ue bob) --register --call sip:ue2@ims.lab --timeout 15000 </dev/null >"$T/bob.log" 2>&1 &&
  fail "bob's call was established although the only media session was taken"
assert_log bob.log '^EVENT failed call=out .*code=503' "the second call was not refused with 503"
js_wait alice-b
assert_media_ok alice-b
stop ue2
assert_loopback_only
