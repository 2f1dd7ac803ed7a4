#!/usr/bin/env bash
# The sipp RTP echo phone of the media tests (uas_echo.xml with -rtp_echo,
# lib.sh sipp_echo_bg) on its own, called straight by a plain sipp UAC:
#  - it answers plain RTP/AVP with the offer's first codec (PCMU here), its
#    rtpmap copied, and the call ends with the caller's BYE
#  - RTP sent to its media port comes back byte for byte (sipp's -rtp_echo
#    socket is global: it echoes whenever sipp runs, call or not)
#  - the offer it received is in its message log (what gateway tests inspect)
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || fail "python3 not installed"
sipp_echo_bg ue1 1
# 50 RTP packets (PCMU, 160-byte unique payloads) to the echo port; all must come back unchanged
python3 - "$(( 6000 + 10 * 1 ))" >"$T/probe.log" 2>&1 <<'PY' || fail "RTP echo probe: $(cat "$T/probe.log")"
import os, socket, struct, sys, time
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('127.0.0.1', 0)); s.settimeout(0.05)
sent, back, bad = {}, set(), 0
for i in range(50):
    pl = b'WIMS' + struct.pack('!II', os.getpid(), i) + bytes((i * 7 + k) & 0xff for k in range(148))
    pkt = struct.pack('!BBHII', 0x80, 0, i, i * 160, 0x1234abcd) + pl
    sent[pkt] = i
    s.sendto(pkt, ('127.0.0.1', port))
    end = time.time() + 0.02
    while time.time() < end:
        try: d = s.recv(2048)
        except socket.timeout: continue
        if d in sent: back.add(sent[d])
        else: bad += 1
end = time.time() + 1
while time.time() < end and len(back) < len(sent):
    try: d = s.recv(2048)
    except socket.timeout: continue
    if d in sent: back.add(sent[d])
    else: bad += 1
print('sent=%d echoed=%d mismatched=%d' % (len(sent), len(back), bad), 'missing=%s' % sorted(set(range(len(sent))) - back)[:10])
sys.exit(0 if len(back) == len(sent) and bad == 0 else 1)
PY
log "RTP echo probe: $(cat "$T/probe.log")"
sipp_run caller uac.xml "$(ue_port 2)" 127.0.0.1:"$(ue_port 1)" -s ue1 -key caller ue2
sipp_wait ue1
assert_log caller-msgs.log '^m=audio 6010 RTP/AVP 0.?$' "the echo phone did not answer with the offer's first codec alone"
assert_log ue1-msgs.log '^m=audio 6020 RTP/AVP 0 8 101' "the offer is not in the echo phone's message log"
assert_plain_rtp_offer ue1
assert_loopback_only
