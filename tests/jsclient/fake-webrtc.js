'use strict';
// A minimal stand-in for the browser's RTCPeerConnection, enough for JsSIP's
// RTCSession in Node: it produces realistic WebRTC-style SDP offers and answers
// (ICE ufrag/pwd, a DTLS fingerprint, setup, rtcp-mux, BUNDLE, opus/PCMU/PCMA,
// telephone-event, a 127.0.0.1 host candidate) but sends no media.  Signalling
// tests only: media tests use a real WebRTC stack (Chromium, werift).

const crypto = require('crypto');
const { EventEmitter } = require('events');

const CODECS = [
  { pt: 111, name: 'opus', rate: 48000, ch: 2, fmtp: 'minptime=10;useinbandfec=1', fb: ['transport-cc'] },
  { pt: 0, name: 'PCMU', rate: 8000 },
  { pt: 8, name: 'PCMA', rate: 8000 },
  { pt: 126, name: 'telephone-event', rate: 8000, fmtp: '0-15' },
];

function rnd(n, alphabet) {
  const a = alphabet || 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  let s = '';
  const b = crypto.randomBytes(n);
  for (let i = 0; i < n; i++) s += a[b[i] % a.length];
  return s;
}

// parse the first audio m-section of an SDP: payloads with their rtpmap names
function parseOffer(sdp) {
  const lines = sdp.split(/\r?\n/);
  const res = { mid: '0', payloads: [], rtpmap: {}, fmtp: {}, proto: 'UDP/TLS/RTP/SAVPF', direction: 'sendrecv', setup: 'actpass' };
  let inAudio = false;
  for (const l of lines) {
    let m;
    if ((m = l.match(/^m=(\w+) \d+ (\S+) (.*)$/))) {
      inAudio = m[1] === 'audio' && res.payloads.length === 0;
      if (inAudio) { res.proto = m[2]; res.payloads = m[3].trim().split(/\s+/).map(Number); }
      continue;
    }
    if (!inAudio) continue;
    if ((m = l.match(/^a=rtpmap:(\d+) ([^/]+)\/(\d+)(?:\/(\d+))?/))) res.rtpmap[m[1]] = { name: m[2], rate: +m[3], ch: m[4] ? +m[4] : undefined };
    else if ((m = l.match(/^a=fmtp:(\d+) (.*)$/))) res.fmtp[m[1]] = m[2];
    else if ((m = l.match(/^a=mid:(.*)$/))) res.mid = m[1];
    else if ((m = l.match(/^a=(sendrecv|sendonly|recvonly|inactive)$/))) res.direction = m[1];
    else if ((m = l.match(/^a=setup:(\w+)/))) res.setup = m[1];
  }
  // static payload types without rtpmap
  for (const pt of res.payloads) {
    if (!res.rtpmap[pt] && pt === 0) res.rtpmap[pt] = { name: 'PCMU', rate: 8000 };
    if (!res.rtpmap[pt] && pt === 8) res.rtpmap[pt] = { name: 'PCMA', rate: 8000 };
  }
  return res;
}

class FakeRTCPeerConnection extends EventEmitter {
  constructor(config) {
    super();
    this._config = config || {};
    this.signalingState = 'stable';
    this.iceGatheringState = 'new';
    this.iceConnectionState = 'new';
    this.connectionState = 'new';
    this.localDescription = null;
    this.remoteDescription = null;
    this._ufrag = rnd(4);
    this._pwd = rnd(24);
    this._fp = Array.from(crypto.randomBytes(32)).map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join(':');
    this._sessId = String(BigInt('0x' + crypto.randomBytes(7).toString('hex')));
    this._version = 1;
    this._port = 40000 + crypto.randomBytes(2).readUInt16BE() % 20000;
    this._ssrc = crypto.randomBytes(4).readUInt32BE();
    this._cname = rnd(16);
    this._msid = rnd(36, 'abcdef0123456789');
    this._senders = [];
    this._closed = false;
  }

  addEventListener(ev, fn) { this.on(ev, fn); }
  removeEventListener(ev, fn) { this.removeListener(ev, fn); }
  _fire(ev, data) { const e = Object.assign({ type: ev, target: this }, data || {}); this.emit(ev, e); const h = this['on' + ev]; if (typeof h === 'function') h.call(this, e); }

  _sdp(type, codecs, mid, direction) {
    const setup = type === 'offer' ? 'actpass' : 'active';
    const l = [
      'v=0',
      `o=- ${this._sessId} ${this._version++} IN IP4 127.0.0.1`,
      's=-',
      't=0 0',
      `a=group:BUNDLE ${mid}`,
      'a=extmap-allow-mixed',
      `a=msid-semantic: WMS ${this._msid}`,
      `m=audio ${this._port} UDP/TLS/RTP/SAVPF ${codecs.map((c) => c.pt).join(' ')}`,
      'c=IN IP4 127.0.0.1',
      'a=rtcp:9 IN IP4 0.0.0.0',
      `a=candidate:1 1 udp 2122260223 127.0.0.1 ${this._port} typ host generation 0 network-id 1`,
      'a=end-of-candidates',
      `a=ice-ufrag:${this._ufrag}`,
      `a=ice-pwd:${this._pwd}`,
      'a=ice-options:trickle',
      `a=fingerprint:sha-256 ${this._fp}`,
      `a=setup:${setup}`,
      `a=mid:${mid}`,
      'a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level',
      `a=${direction}`,
      `a=msid:${this._msid} ${this._msid}-audio`,
      'a=rtcp-mux',
    ];
    for (const c of codecs) {
      l.push(`a=rtpmap:${c.pt} ${c.name}/${c.rate}${c.ch ? '/' + c.ch : ''}`);
      for (const fb of c.fb || []) l.push(`a=rtcp-fb:${c.pt} ${fb}`);
      if (c.fmtp) l.push(`a=fmtp:${c.pt} ${c.fmtp}`);
    }
    l.push(`a=ssrc:${this._ssrc} cname:${this._cname}`);
    l.push(`a=ssrc:${this._ssrc} msid:${this._msid} ${this._msid}-audio`);
    return l.join('\r\n') + '\r\n';
  }

  async createOffer() {
    return { type: 'offer', sdp: this._sdp('offer', CODECS, '0', this._direction || 'sendrecv') };
  }

  async createAnswer() {
    if (!this.remoteDescription || this.remoteDescription.type !== 'offer') throw new Error('createAnswer without a remote offer');
    const o = parseOffer(this.remoteDescription.sdp);
    const codecs = [];
    for (const pt of o.payloads) {
      const r = o.rtpmap[pt];
      if (!r) continue;
      const known = CODECS.find((c) => c.name.toLowerCase() === r.name.toLowerCase() && c.rate === r.rate);
      if (known) codecs.push(Object.assign({}, known, { pt, fmtp: o.fmtp[pt] || known.fmtp }));
    }
    if (codecs.length === 0) throw new Error('no common codec with the remote offer');
    const dir = { sendonly: 'recvonly', recvonly: 'sendonly', inactive: 'inactive', sendrecv: 'sendrecv' }[o.direction];
    return { type: 'answer', sdp: this._sdp('answer', codecs, o.mid, dir) };
  }

  async setLocalDescription(desc) {
    if (this._closed) throw new Error('closed');
    this.localDescription = { type: desc.type, sdp: desc.sdp };
    this.signalingState = desc.type === 'offer' ? 'have-local-offer' : 'stable';
    this._fire('signalingstatechange');
    if (this.iceGatheringState !== 'complete') {
      this.iceGatheringState = 'complete';
      setImmediate(() => { this._fire('icegatheringstatechange'); this._fire('icecandidate', { candidate: null }); });
    }
  }

  async setRemoteDescription(desc) {
    if (this._closed) throw new Error('closed');
    if (!/^v=0/.test(desc.sdp || '')) throw new Error('invalid remote SDP');
    this.remoteDescription = { type: desc.type, sdp: desc.sdp };
    this.signalingState = desc.type === 'offer' ? 'have-remote-offer' : 'stable';
    this._fire('signalingstatechange');
    if (desc.type === 'answer' && this.iceConnectionState === 'new') {
      this.iceConnectionState = 'checking';
      setImmediate(() => this._fire('iceconnectionstatechange'));
    }
  }

  addTrack(track, stream) { const s = { track, replaceTrack: async () => {} }; this._senders.push(s); return s; }
  removeTrack() {}
  getSenders() { return this._senders; }
  getReceivers() { return []; }
  getLocalStreams() { return []; }
  getRemoteStreams() { return []; }
  addTransceiver() { return {}; }
  async getStats() { return new Map(); }
  close() { this._closed = true; this.signalingState = 'closed'; this.iceConnectionState = 'closed'; }
}

function install() {
  if (typeof global.window === 'undefined') global.window = global;
  global.RTCPeerConnection = FakeRTCPeerConnection;
  global.RTCSessionDescription = function RTCSessionDescription(init) { Object.assign(this, init); };
  global.RTCIceCandidate = function RTCIceCandidate(init) { Object.assign(this, init); };
  global.window.RTCPeerConnection = FakeRTCPeerConnection;
}

module.exports = { FakeRTCPeerConnection, install, parseOffer };
