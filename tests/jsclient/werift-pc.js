'use strict';
// RTCPeerConnection for JsSIP in Node from werift (a real WebRTC stack: ICE,
// DTLS-SRTP, SDP as a browser writes it).  Only loopback candidates are
// gathered and announced, so no gateway is ever told another address.

const werift = require('werift');

// configure({ video: true }) (wims-ua --video): offers get a sendrecv video
// m-line (VP8, H264) bundled with the audio one; set before any peer connection
const OPTS = { video: false, dtmf: false, ipv6: false };
// configure({ ipv6: true }) (wims-ua --ipv6-only): gather and announce only a
// ::1 host candidate (an IPv6-only browser); IPv4 otherwise
const LOOP_IP = () => (OPTS.ipv6 ? '::1' : '127.0.0.1');
const LOOP_RE = () => (OPTS.ipv6 ? / ::1 \d+ typ / : / 127\.0\.0\.1 \d+ typ /);
function configure(o) { Object.assign(OPTS, o || {}); }

// video feedback as a browser offers it: NACK, PLI, FIR, REMB (the gateway
// must keep the first three toward IMS and drop REMB)
const VIDEO_FB = () => [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }, { type: 'goog-remb' }];

const CODECS = () => ({
  audio: [
    new werift.RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2 }),
    new werift.RTCRtpCodecParameters({ mimeType: 'audio/PCMU', clockRate: 8000, channels: 1, payloadType: 0 }),
    new werift.RTCRtpCodecParameters({ mimeType: 'audio/PCMA', clockRate: 8000, channels: 1, payloadType: 8 }),
    // configure({ dtmf: true }): telephone-event as Chrome offers it (RFC 4733)
    ...(OPTS.dtmf ? [
      new werift.RTCRtpCodecParameters({ mimeType: 'audio/telephone-event', clockRate: 48000, channels: 1, payloadType: 110 }),
      new werift.RTCRtpCodecParameters({ mimeType: 'audio/telephone-event', clockRate: 8000, channels: 1, payloadType: 126 }),
    ] : []),
  ],
  video: OPTS.video ? [
    new werift.RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90000, rtcpFeedback: VIDEO_FB() }),
    new werift.RTCRtpCodecParameters({ mimeType: 'video/H264', clockRate: 90000, rtcpFeedback: VIDEO_FB(),
      parameters: 'profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1' }),
  ] : [],
});

function loopbackOnly(desc) {
  if (!desc || !desc.sdp) return desc;
  const sdp = desc.sdp.split('\r\n').filter((l) => !/^a=candidate:/.test(l) || LOOP_RE().test(l)).join('\r\n');
  return { type: desc.type, sdp };
}

class WeriftRTCPeerConnection extends werift.RTCPeerConnection {
  constructor() {
    super({
      iceServers: [],
      iceUseIpv4: !OPTS.ipv6,
      iceUseIpv6: OPTS.ipv6,
      iceInterfaceAddresses: OPTS.ipv6 ? { udp6: '::1' } : { udp4: '127.0.0.1' },
      iceAdditionalHostAddresses: [LOOP_IP()],
      codecs: CODECS(),
    });
    this.wimsCands = [];
    // every decrypted RTP packet goes through the router: see it first, whatever
    // its SSRC.  werift hands to tracks only the SSRCs the remote SDP announced
    // (a=ssrc), and throws on a packet with the SSRC of one of our own senders
    // (what sipp -rtp_echo behind a relaying gateway sends back), while a
    // browser would still play both
    this.wimsRtpFns = [];
    const route = this.router.routeRtp;
    this.router.routeRtp = (rtp) => {
      for (const fn of this.wimsRtpFns) fn(rtp);
      try { route(rtp); } catch (e) { /* an SSRC werift cannot route */ }
    };
    // the same for every RTCP packet (parsed, one of a compound) received
    this.wimsRtcpFns = [];
    const routeRtcp = this.router.routeRtcp;
    this.router.routeRtcp = (pkt) => {
      for (const fn of this.wimsRtcpFns) { try { fn(pkt); } catch (e) { /* ours: never break werift */ } }
      try { routeRtcp(pkt); } catch (e) { /* an SSRC werift cannot route */ }
    };
    this.addEventListener('icecandidate', (e) => {
      const c = e && e.candidate && (e.candidate.candidate || '');
      if (c && LOOP_RE().test(c) && / typ host/.test(c)) this.wimsCands.push(c.replace(/^a=/, ''));
    });
  }

  // JsSIP passes legacy offerToReceiveAudio constraints and no track: give the
  // offer an audio m-line the way a browser with a microphone would (and, with
  // configure({ video: true }), a video one after it, as with a camera)
  async createOffer() {
    if (!this.getTransceivers().some((t) => t.kind === 'audio')) this.addTransceiver('audio', { direction: 'sendrecv' });
    if (OPTS.video && !this.getTransceivers().some((t) => t.kind === 'video')) this.addTransceiver('video', { direction: 'sendrecv' });
    return super.createOffer();
  }

  // werift creates the transceiver of a remote offer recvonly; a browser with a
  // microphone answers sendrecv (werift still intersects it with the offer's)
  async createAnswer() {
    for (const t of this.getTransceivers()) {
      if ((t.kind === 'audio' || (OPTS.video && t.kind === 'video')) && t.direction === 'recvonly') t.setDirection('sendrecv');
    }
    return super.createAnswer();
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

  // fn(rtp) for every RTP packet received (decrypted), whatever its SSRC
  wimsOnRtp(fn) { this.wimsRtpFns.push(fn); }

  // fn(rtcp) for every RTCP packet received (decrypted, parsed), whatever its SSRCs
  wimsOnRtcp(fn) { this.wimsRtcpFns.push(fn); }

  get iceGatheringState() { return this.wimsLoopbackReady ? 'complete' : super.iceGatheringState; }

  async close() { this.wimsClosed = true; return super.close(); }
}

// ------------------------------------------------------------------ media check
// Each sending transceiver (audio; video too with configure({ video: true }))
// writes RTP packets with recognisable payloads (a magic: WIMS for audio, WIMV
// for video; a run id, the index, a pattern); what comes back is sorted by
// kind (its payload type among the kind's negotiated codecs) and compared byte
// for byte with what that kind sent.  The answering side can reflect every payload.

const MAGIC = { audio: Buffer.from('WIMS'), video: Buffer.from('WIMV') };
const SIZE = { audio: 160, video: 1000 };
const PROFILES = { 1: 'SRTP_AES128_CM_HMAC_SHA1_80', 2: 'SRTP_AES128_CM_HMAC_SHA1_32', 7: 'SRTP_AEAD_AES_128_GCM', 8: 'SRTP_AEAD_AES_256_GCM' };

function transceiverOf(pc, kind) { return pc.getTransceivers().find((t) => t.kind === kind); }
function audioTransceiver(pc) { return transceiverOf(pc, 'audio'); }

// { dtls, srtp, codec } of the kind's (default audio) transceiver once negotiated
function mediaInfo(pc, kind = 'audio') {
  const t = transceiverOf(pc, kind);
  if (!t) return {};
  const d = t.sender.dtlsTransport || t.dtlsTransport;
  const prof = d && d.dtls && d.dtls.srtp && d.dtls.srtp.srtpProfile;
  const c = t.sender.codec;
  return {
    dtls: d && d.state,
    srtp: prof ? (PROFILES[prof] || `profile-${prof}`) : undefined,
    codec: c ? `${c.payloadType}/${c.mimeType.replace(/^(audio|video)\//, '')}` : undefined,
  };
}

// call fn(rtp) for every RTP packet received, whatever its SSRC or kind
function onRtp(pc, fn) { pc.wimsOnRtp(fn); }

// the kind of a received packet: its payload type among the negotiated codecs
// of the audio or video transceiver, else its magic
function kindOf(pc, rtp) {
  const pt = rtp.header.payloadType;
  for (const t of pc.getTransceivers()) {
    const cs = [].concat(t.codecs || [], t.sender.codec ? [t.sender.codec] : []);
    if (cs.some((c) => c.payloadType === pt)) return t.kind;
  }
  const p = Buffer.from(rtp.payload);
  return p.length >= 4 && p.subarray(0, 4).equals(MAGIC.video) ? 'video' : 'audio';
}

// --media-echo: send every received packet back as it came (same SSRC,
// sequence number, timestamp, payload type, payload), like sipp -rtp_echo
// behind a gateway that relays RTP unchanged: the sender then gets its own SSRC
// back.  corrupt: flip the last payload byte of each, for the check's self-test
function startEcho(pc, { corrupt } = {}) {
  let n = 0;
  onRtp(pc, (rtp) => {
    const t = audioTransceiver(pc);
    const d = t && t.dtlsTransport;
    if (!d || d.state !== 'connected') return;
    const payload = Buffer.from(rtp.payload);
    if (corrupt && payload.length > 0) payload[payload.length - 1] ^= 0xff;
    const { ssrc, sequenceNumber, timestamp, marker, payloadType } = rtp.header;
    d.sendRtp(payload, new werift.RtpHeader({ ssrc, sequenceNumber, timestamp, marker, payloadType })).catch(() => {});
    n++;
  });
  return { get count() { return n; } };
}

function checkPayload(kind, run, i, size) {
  const b = Buffer.alloc(Math.max(size, 12));
  MAGIC[kind].copy(b, 0);
  b.writeUInt32BE(run, 4);
  b.writeUInt32BE(i, 8);
  for (let k = 12; k < b.length; k++) b[k] = (i * 7 + k * 13 + run + (kind === 'video' ? 101 : 0)) & 0xff;
  return b;
}

function newStats() {
  return { sent: 0, received: 0, echoed: 0, mismatched: 0, duplicates: 0, firstEchoMs: undefined, t0: 0 };
}

// collect what comes back from now on; then send(count, intervalMs, size) on
// the audio sender, sendKind('video', count, ...) on another.  st is the audio
// check (as before video existed), stats[kind] every kind's
function mediaCheck(pc) {
  const run = (Date.now() ^ (process.pid << 8)) >>> 0 & 0xffffff;
  const sent = { audio: new Map(), video: new Map() }; // payload hex -> index
  const echoed = { audio: new Set(), video: new Set() };
  const stats = { audio: newStats(), video: newStats() };
  onRtp(pc, (rtp) => {
    const kind = kindOf(pc, rtp);
    const st = stats[kind];
    st.received++;
    const i = sent[kind].get(Buffer.from(rtp.payload).toString('hex'));
    if (i === undefined) { st.mismatched++; return; }
    if (echoed[kind].has(i)) { st.duplicates++; return; }
    echoed[kind].add(i);
    st.echoed++;
    if (st.firstEchoMs === undefined) st.firstEchoMs = Date.now() - st.t0;
  });
  async function sendKind(kind, count, intervalMs = 20, size = SIZE[kind]) {
    const t = transceiverOf(pc, kind);
    if (!t) throw new Error(`no ${kind} transceiver`);
    const st = stats[kind];
    const start = Date.now();
    st.t0 = start;
    const ts0 = Math.floor(Math.random() * 0x7fffffff);
    const clock = t.sender.codec ? t.sender.codec.clockRate : 8000;
    for (let i = 0; i < count; i++) {
      const payload = checkPayload(kind, run, i, size);
      sent[kind].set(payload.toString('hex'), i);
      const h = new werift.RtpHeader({ sequenceNumber: i & 0xffff, timestamp: (ts0 + i * Math.round(clock * intervalMs / 1000)) >>> 0, marker: kind === 'video' || i === 0, payloadType: t.sender.codec ? t.sender.codec.payloadType : 0 });
      await t.sender.sendRtp(new werift.RtpPacket(h, payload));
      st.sent++;
      const wait = start + (i + 1) * intervalMs - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  }
  const send = (count, intervalMs, size) => sendKind('audio', count, intervalMs, size);
  return { st: stats.audio, stats, send, sendKind };
}

// ------------------------------------------------------- video feedback check
// Keyframe requests and NACK on the video m-line, sent as werift sends its own
// PLI (RTCRtpReceiver.sendRtcpPLI: a lone PSFB, sender SSRC the video
// receiver's rtcpSsrc, media SSRC the video stream received), and the ones
// received counted whatever their SSRCs: for a peer that answers feedback with
// feedback (the lab's RTCP reflector behind the gateway).

const FB = { pli: [206, 1], fir: [206, 4], nack: [205, 1] };

function rtcpFb(kind, senderSsrc, mediaSsrc, seq) {
  const [pt, fmt] = FB[kind];
  const fci = kind === 'pli' ? Buffer.alloc(0) : Buffer.alloc(8);
  if (kind === 'fir') { fci.writeUInt32BE(mediaSsrc >>> 0, 0); fci[4] = seq & 0xff; }
  if (kind === 'nack') { fci.writeUInt16BE(seq & 0xffff, 0); fci.writeUInt16BE(0x0005, 2); }
  const b = Buffer.alloc(12 + fci.length);
  b[0] = 0x80 | fmt;
  b[1] = pt;
  b.writeUInt16BE(b.length / 4 - 1, 2);
  b.writeUInt32BE(senderSsrc >>> 0, 4);
  b.writeUInt32BE(kind === 'fir' ? 0 : mediaSsrc >>> 0, 8); // FIR: media SSRC 0 (RFC 5104 §4.3.1.2)
  fci.copy(b, 12);
  return { serialize: () => b };
}

// collect the video feedback received from now on; send() sends each kind
// `rounds` times; got[kind] counts what came back
// senderSsrc: the feedback's sender SSRC instead of werift's (e.g. one the
// gateway never saw in RTP, as from a browser that receives video only)
function videoFbCheck(pc, { senderSsrc } = {}) {
  const got = { pli: 0, fir: 0, nack: 0 };
  const sent = { pli: 0, fir: 0, nack: 0 };
  let mediaSsrc;
  onRtp(pc, (rtp) => { if (kindOf(pc, rtp) === 'video') mediaSsrc = rtp.header.ssrc; });
  pc.wimsOnRtcp((pkt) => {
    const fmt = pkt.feedback && pkt.feedback.count;
    for (const [k, [pt, f]] of Object.entries(FB)) if (pkt.type === pt && fmt === f) got[k]++;
  });
  async function send(rounds = 3, intervalMs = 200) {
    const t = transceiverOf(pc, 'video');
    const d = t && (t.sender.dtlsTransport || t.dtlsTransport);
    if (!d || d.state !== 'connected') throw new Error('video feedback: no connected video transport');
    const ms = mediaSsrc !== undefined ? mediaSsrc : t.sender.ssrc;
    for (let i = 0; i < rounds; i++) {
      for (const k of Object.keys(FB)) {
        await d.sendRtcp([rtcpFb(k, senderSsrc !== undefined ? senderSsrc : t.receiver.rtcpSsrc, ms, i + 1)]);
        sent[k]++;
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
  return { got, sent, send };
}

function install() {
  if (typeof global.window === 'undefined') global.window = global;
  global.RTCPeerConnection = WeriftRTCPeerConnection;
  global.window.RTCPeerConnection = WeriftRTCPeerConnection;
  global.RTCSessionDescription = function RTCSessionDescription(init) { Object.assign(this, init); };
}

module.exports = { WeriftRTCPeerConnection, install, configure, mediaInfo, startEcho, mediaCheck, videoFbCheck };
