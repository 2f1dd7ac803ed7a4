'use strict';
// RTCPeerConnection for JsSIP in Node from werift (a real WebRTC stack: ICE,
// DTLS-SRTP, SDP as a browser writes it).  Only loopback candidates are
// gathered and announced, so no gateway is ever told another address.

const werift = require('werift');

const CODECS = () => ({
  audio: [
    new werift.RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2 }),
    new werift.RTCRtpCodecParameters({ mimeType: 'audio/PCMU', clockRate: 8000, channels: 1, payloadType: 0 }),
    new werift.RTCRtpCodecParameters({ mimeType: 'audio/PCMA', clockRate: 8000, channels: 1, payloadType: 8 }),
  ],
});

function loopbackOnly(desc) {
  if (!desc || !desc.sdp) return desc;
  const sdp = desc.sdp.split('\r\n').filter((l) => !/^a=candidate:/.test(l) || / 127\.0\.0\.1 \d+ typ /.test(l)).join('\r\n');
  return { type: desc.type, sdp };
}

class WeriftRTCPeerConnection extends werift.RTCPeerConnection {
  constructor() {
    super({
      iceServers: [],
      iceUseIpv6: false,
      iceInterfaceAddresses: { udp4: '127.0.0.1' },
      iceAdditionalHostAddresses: ['127.0.0.1'],
      codecs: CODECS(),
    });
    this.wimsCands = [];
    this.addEventListener('icecandidate', (e) => {
      const c = e && e.candidate && (e.candidate.candidate || '');
      if (c && / 127\.0\.0\.1 \d+ typ host/.test(c)) this.wimsCands.push(c.replace(/^a=/, ''));
    });
  }

  // JsSIP passes legacy offerToReceiveAudio constraints and no track: give the
  // offer an audio m-line the way a browser with a microphone would
  async createOffer() {
    if (!this.getTransceivers().some((t) => t.kind === 'audio')) this.addTransceiver('audio', { direction: 'sendrecv' });
    return super.createOffer();
  }

  // werift writes candidates into its SDP only once gathering is over; until
  // then the ones seen so far are inserted after the c= line
  get localDescription() {
    const d = loopbackOnly(super.localDescription);
    if (!d || /\r\na=candidate:/.test(d.sdp) || this.wimsCands.length === 0) return d;
    const lines = d.sdp.split('\r\n');
    const at = lines.findIndex((l, i) => l.startsWith('c=') && lines.slice(0, i).some((x) => x.startsWith('m=')));
    if (at < 0) return d;
    lines.splice(at + 1, 0, ...this.wimsCands.map((c) => 'a=' + c), 'a=end-of-candidates');
    return { type: d.type, sdp: lines.join('\r\n') };
  }

  // werift's setLocalDescription resolves only when gathering is over (5 s
  // here); a loopback host candidate is all the lab needs
  async setLocalDescription(desc) {
    const full = super.setLocalDescription(desc);
    full.catch(() => {});
    const base = () => super.localDescription;
    await Promise.race([full, new Promise((resolve) => {
      const check = () => {
        if (base() && this.wimsCands.length > 0) resolve();
        else if (!this.wimsClosed) setTimeout(check, 5);
      };
      check();
    })]);
    this.wimsLoopbackReady = true;
  }

  get iceGatheringState() { return this.wimsLoopbackReady ? 'complete' : super.iceGatheringState; }

  async close() { this.wimsClosed = true; return super.close(); }
}

function install() {
  if (typeof global.window === 'undefined') global.window = global;
  global.RTCPeerConnection = WeriftRTCPeerConnection;
  global.window.RTCPeerConnection = WeriftRTCPeerConnection;
  global.RTCSessionDescription = function RTCSessionDescription(init) { Object.assign(this, init); };
}

module.exports = { WeriftRTCPeerConnection, install };
