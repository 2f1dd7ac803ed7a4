#!/usr/bin/env bash
# The JsSIP test client (tests/jsclient/wims-ua.js) loads and its fake
# RTCPeerConnection produces a WebRTC-style offer and a matching answer.
. "$(dirname "$0")/lib.sh"
[ -d "$WIMS_SRC/tests/node_modules/jssip" ] || fail "tests/node_modules missing: run 'cd tests && npm install'"
node "$JSCLIENT" --help >"$T/help.log" 2>&1 || fail "wims-ua.js --help failed"
assert_log help.log '--drop-ws-after-ms'
node -e '
const f = require(process.argv[1] + "/fake-webrtc.js");
(async () => {
  const a = new f.FakeRTCPeerConnection(), b = new f.FakeRTCPeerConnection();
  const o = await a.createOffer(); await a.setLocalDescription(o);
  for (const re of [/UDP\/TLS\/RTP\/SAVPF 111 0 8 126/, /a=ice-ufrag:/, /a=ice-pwd:/, /a=fingerprint:sha-256 /, /a=setup:actpass/, /a=rtcp-mux/, /opus\/48000\/2/])
    if (!re.test(o.sdp)) throw new Error("offer lacks " + re);
  await b.setRemoteDescription(o); const an = await b.createAnswer(); await b.setLocalDescription(an);
  if (!/a=setup:active/.test(an.sdp) || !/ 111 0 8 126\r\n/.test(an.sdp)) throw new Error("bad answer:\n" + an.sdp);
  const c = new f.FakeRTCPeerConnection();
  await c.setRemoteDescription({ type: "offer", sdp: "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\n" });
  const an2 = await c.createAnswer();
  if (!/m=audio \d+ UDP\/TLS\/RTP\/SAVPF 8 101\r\n/.test(an2.sdp)) throw new Error("bad answer to a G.711 offer:\n" + an2.sdp);
  console.log("fake-webrtc ok");
})().catch((e) => { console.error(e.message); process.exit(1); });
' "$WIMS_SRC/tests/jsclient" >"$T/sdp.log" 2>&1 || fail "fake RTCPeerConnection: $(cat "$T/sdp.log")"
