#!/usr/bin/env node
'use strict';
// wims-ua: a SIP-over-WebSocket UE for tests: JsSIP in Node, the npm `ws` package
// as its socket, a fake RTCPeerConnection for SDP (see fake-webrtc.js).
// Prints machine-readable lines "EVENT <name> k=v ..." on stdout and exits 0 only
// if everything asked for happened within --timeout.  Run with --help.

const path = require('path');
module.paths.unshift(path.join(__dirname, '..', 'node_modules'));

const USAGE = `usage: wims-ua.js [options]
  --ws URL                 WebSocket server (default ws://127.0.0.1:8080/)
  --uri SIP_URI            our AoR (default sip:alice@ims.lab)
  --password PW            digest password (default wims-lab)
  --auth-user USER         digest user name (default: user part of --uri)
  --register               REGISTER first and expect 200 (implied by --expect-call/--expect-message)
  --expect-register-fail C expect the REGISTER to fail with status C (e.g. 403)
  --call TARGET            INVITE TARGET; expect it to be answered (EVENT confirmed)
  --expect-fail CODE       with --call: expect a final failure CODE instead (e.g. 480, "430|480")
  --cancel-after-ms N      with --call: CANCEL N ms after the first provisional response
  --expect-call            wait for an incoming INVITE
  --answer                 with --expect-call: answer it (default: answer)
  --no-answer              with --expect-call: do not answer (for CANCEL tests; expects the caller's CANCEL)
  --answer-delay-ms N      wait N ms (ringing) before answering
  --hangup-after MS        once confirmed, send BYE after MS
  --expect-bye             once confirmed, expect the peer's BYE
  --reinvite               once confirmed (after 500 ms), send a re-INVITE and expect 200
  --hold                   once confirmed, put the call on hold (re-INVITE a=sendonly) and resume
  --drop-ws-after-ms N     once confirmed, kill the WebSocket abruptly after N ms and exit 0
  --info CT BODY           once confirmed, send an INFO (Content-Type CT), expect 2xx
  --update                 once confirmed, send an UPDATE with a new offer, expect 200 with an answer
  --refer TARGET           once confirmed, send a REFER (Refer-To TARGET), expect 202 and a
                           NOTIFY whose sipfrag is 2xx
  --decline-refer-after-ms N  an incoming REFER (JsSIP answers 202 and NOTIFYs 100 Trying) is
                           declined N ms later (NOTIFY 603)
  --subscribe TARGET EVENT SUBSCRIBE (Event EVENT, Accept text/plain), expect 2xx and a NOTIFY
                           with a body, then un-SUBSCRIBE and expect the final NOTIFY
  --expect-subscribe BODY  be a notifier: accept an incoming SUBSCRIBE, NOTIFY BODY (active),
                           and on the un-SUBSCRIBE send the final NOTIFY (BODY-final)
  --message TARGET TEXT    send a MESSAGE, expect 2xx
  --expect-message TEXT    expect an incoming MESSAGE whose body contains TEXT
  --options TARGET         send an OPTIONS (e.g. sip:ims.lab), expect 200
  --message-after TARGET CODE  after everything else (e.g. a call ended by the peer), send a
                           MESSAGE and expect it to fail with CODE (regex, e.g. 403)
  --linger-ms N            stay registered N ms after everything else is done (default 0)
  --unregister             unregister before exiting and expect 200
  --timeout MS             overall deadline (default 20000)
  --pc fake|werift         RTCPeerConnection: fake (default; SDP only, no media) or werift
                           (a real WebRTC stack: ICE, DTLS-SRTP; loopback candidates only)
  --video                  (werift) offer a sendrecv video m-line (VP8, H264) after the audio
                           one, both in one BUNDLE group; with --media-send, video is sent too
  --media-send N           (werift) once the call is confirmed and the peer connection
                           connected, send N RTP packets on the audio sender every 20 ms,
                           each with a unique payload (160 bytes: "WIMS", run id, index, pattern);
                           with --video also N on the video sender (1000 bytes, "WIMV" ...)
  --media-expect-echo      with --media-send: compare what comes back on the audio track with
                           what was sent, byte for byte (EVENT media, EVENT media-check); the
                           run fails unless >= 90% came back identical and nothing else came;
                           with --video the same for video, sorted by payload type (EVENT media
                           kind=video ...), and the check is ok only if both kinds pass
  --ipv6-only              (werift) gather and announce only a ::1 host candidate; EVENT
                           candidates call=... local=ADDR/PORT,... remote=ADDR/PORT,...
  --video-fb               with --video --media-send: after the media check, send PLI, FIR and
                           NACK on the video m-line (3 of each) and expect at least one of each
                           back (a peer that answers feedback with feedback): EVENT video-fb,
                           EVENT video-fb-check ok|fail
  --video-fb-sender-ssrc N with --video-fb: the feedback's sender SSRC (default werift's: the SSRC
                           of its video sender), e.g. one never sent in RTP, as a browser that
                           receives video only would use
  --media-wait-ms N        with --media-expect-echo: wait up to N ms after the last packet for
                           the echoes (default 1500)
  --media-echo             (werift) send every RTP payload received on the audio track back on
                           our audio sender (an echoing peer for werift-to-werift tests)
  --media-echo-corrupt     like --media-echo, but flip the last byte of every echoed payload
  --media-expect-received N  like --media-expect-echo, but only count: at least N RTP packets
                           back (a transcoded echo is re-encoded, never byte for byte)
  --dtmf-info DIGITS       (werift) once connected, send each digit as SIP INFO (dtmf-relay)
  --expect-dtmf-back DIGITS  the RFC 4733 telephone-events that come back in the RTP (an echo
                           phone reflecting what the gateway made of the INFO): these digits
  --mangle-fingerprint     change a=fingerprint in the SDP we send (a DTLS peer the gateway must refuse)
                           (a peer that makes the check fail: its self-test)
  --trace                  print every SIP message sent and received (to stderr)
  --debug                  enable JsSIP's debug log (to stderr)
Events: connected, disconnected, registered, registration-failed, unregistered, progress,
  confirmed, reinvite-ok, hold-ok, unhold-ok, ended, failed, incoming, message-sent,
  message-failed, message-received, options-ok, options-failed, ws-dropped, info-ok,
  info-received, update-ok, update-received, refer-ok, refer-notify, refer-accepted,
  refer-received, refer-declined, subscribe-accepted, subscribe-notify, subscribe-terminated,
  subscribe-received, notifier-terminated, pc-stats (werift: call dtls srtp codec),
  media ([kind=video] sent received echoed mismatched first_echo_ms duplicates),
  media-check ok|fail (reason), video-fb (sent_*, got_* for pli fir nack),
  video-fb-check ok|fail (reason), done.`;

function parseArgs(argv) {
  const o = { pc: 'fake', ws: 'ws://127.0.0.1:8080/', uri: 'sip:alice@ims.lab', password: 'wims-lab', timeout: 20000, answer: true, lingerMs: 0 };
  const need = (i) => { if (i + 1 >= argv.length) die(`missing value after ${argv[i]}`); return argv[i + 1]; };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case '--help': case '-h': console.log(USAGE); process.exit(0); break;
      case '--ws': o.ws = need(i); i++; break;
      case '--uri': o.uri = need(i); i++; break;
      case '--password': o.password = need(i); i++; break;
      case '--auth-user': o.authUser = need(i); i++; break;
      case '--register': o.register = true; break;
      case '--expect-register-fail': o.expectRegFail = need(i); o.register = true; i++; break;
      case '--call': o.call = need(i); i++; break;
      case '--expect-fail': o.expectFail = need(i); i++; break;
      case '--cancel-after-ms': o.cancelAfter = +need(i); i++; break;
      case '--expect-call': o.expectCall = true; o.register = true; break;
      case '--answer': o.answer = true; break;
      case '--no-answer': o.answer = false; break;
      case '--answer-delay-ms': o.answerDelay = +need(i); i++; break;
      case '--hangup-after': o.hangupAfter = +need(i); i++; break;
      case '--expect-bye': o.expectBye = true; break;
      case '--reinvite': o.reinvite = true; break;
      case '--hold': o.hold = true; break;
      case '--drop-ws-after-ms': o.dropAfter = +need(i); i++; break;
      case '--message': o.message = [need(i), argv[i + 2]]; if (argv[i + 2] === undefined) die('--message TARGET TEXT'); i += 2; break;
      case '--expect-message': o.expectMessage = need(i); o.register = true; i++; break;
      case '--options': o.options = need(i); i++; break;
      case '--message-after': o.messageAfter = [need(i), argv[i + 2]]; if (argv[i + 2] === undefined) die('--message-after TARGET CODE'); i += 2; break;
      case '--info': o.info = [need(i), argv[i + 2]]; if (argv[i + 2] === undefined) die('--info CT BODY'); i += 2; break;
      case '--update': o.update = true; break;
      case '--refer': o.refer = need(i); i++; break;
      case '--decline-refer-after-ms': o.declineRefer = +need(i); i++; break;
      case '--expect-subscribe': o.expectSubscribe = need(i); o.register = true; i++; break;
      case '--subscribe': o.subscribe = [need(i), argv[i + 2]]; if (argv[i + 2] === undefined) die('--subscribe TARGET EVENT'); i += 2; break;
      case '--linger-ms': o.lingerMs = +need(i); i++; break;
      case '--unregister': o.unregister = true; break;
      case '--timeout': o.timeout = +need(i); i++; break;
      case '--pc': o.pc = need(i); i++; if (!['fake', 'werift'].includes(o.pc)) die('--pc fake|werift'); break;
      case '--video': o.video = true; break;
      case '--ipv6-only': o.ipv6 = true; break;
      case '--video-fb': o.videoFb = true; break;
      case '--video-fb-sender-ssrc': o.videoFbSsrc = Number(need(i)) >>> 0; i++; break;
      case '--media-send': o.mediaSend = +need(i); i++; if (!(o.mediaSend > 0)) die('--media-send N (N > 0)'); break;
      case '--media-expect-echo': o.mediaExpectEcho = true; break;
      case '--media-expect-received': o.mediaExpectReceived = +need(i); i++; o.mediaExpectEcho = true; break;
      case '--media-wait-ms': o.mediaWaitMs = +need(i); i++; break;
      case '--media-echo': o.mediaEcho = 'echo'; break;
      case '--media-echo-corrupt': o.mediaEcho = 'corrupt'; break;
      case '--mangle-fingerprint': o.mangleFp = true; break;
      case '--dtmf-info': o.dtmfInfo = need(i); i++; break;
      case '--expect-dtmf-back': o.expectDtmfBack = need(i); i++; break;
      case '--trace': o.trace = true; break;
      case '--debug': o.debug = true; break;
      default: die(`unknown option ${a}\n${USAGE}`);
    }
  }
  if ((o.mediaSend || o.mediaEcho) && o.pc !== 'werift') die('--media-* need --pc werift');
  if (o.video && o.pc !== 'werift') die('--video needs --pc werift');
  if (o.videoFb && !(o.video && o.mediaSend)) die('--video-fb needs --video and --media-send N');
  if (o.mediaExpectEcho && !o.mediaSend) die('--media-expect-echo needs --media-send N');
  return o;
}

function die(msg) { console.log(`ERROR ${msg}`); process.exit(2); }
function ev(name, kv) {
  const parts = [`EVENT ${name}`];
  if (process.env.WIMS_UA_TIMES) parts.push(`t=${Date.now() - T0}`);
  for (const [k, v] of Object.entries(kv || {})) if (v !== undefined && v !== null && v !== '') parts.push(`${k}=${String(v).replace(/\s+/g, '_')}`);
  console.log(parts.join(' '));
}
const T0 = Date.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const opt = parseArgs(process.argv.slice(2));
const wpc = opt.pc === 'werift' ? require('./werift-pc') : null;
if (wpc) { wpc.configure({ video: !!opt.video, dtmf: !!opt.dtmfInfo, ipv6: !!opt.ipv6 }); wpc.install(); } else require('./fake-webrtc').install();
const JsSIP = require('jssip');
const { WsSocket } = require('./ws-socket');
if (opt.debug) JsSIP.debug.enable('JsSIP:*'); else JsSIP.debug.disable();

const socket = new WsSocket(opt.ws, { trace: opt.trace ? (d, t) => process.stderr.write(`----- ${d} ${new Date().toISOString()}\n${t}\n`) : null });
const ua = new JsSIP.UA({
  sockets: [socket],
  uri: opt.uri,
  password: opt.password,
  authorization_user: opt.authUser,
  register: false,
  register_expires: 600,
  session_timers: false,
  connection_recovery_min_interval: 30,
  connection_recovery_max_interval: 60,
  no_answer_timeout: 60,
  user_agent: 'wims-ua (JsSIP ' + JsSIP.version + ')',
});

// ----------------------------------------------------------------- waiting helpers
const waiters = [];
function waitFor(name, pred) {
  return new Promise((resolve, reject) => waiters.push({ name, pred, resolve, reject }));
}
function signal(name, data) {
  for (let i = waiters.length - 1; i >= 0; i--) {
    const w = waiters[i];
    if (w.name === name && (!w.pred || w.pred(data))) { waiters.splice(i, 1); w.resolve(data); }
  }
}

let finished = false;
function finish(code, why) {
  if (finished) return;
  finished = true;
  if (code === 0) ev('done'); else console.log(`ERROR ${why}`);
  try { ua.stop(); } catch (e) { /* ignore */ }
  setTimeout(() => process.exit(code), 300);
}
setTimeout(() => finish(1, `timeout after ${opt.timeout} ms (waiting for: ${waiters.map((w) => w.name).join(',') || 'nothing'})`), opt.timeout).unref();

ua.on('connected', () => { ev('connected', { url: opt.ws }); signal('connected'); });
ua.on('disconnected', (e) => { ev('disconnected', { code: e && e.code, reason: e && e.reason }); signal('disconnected'); });
ua.on('registered', (e) => { ev('registered', { code: e.response && e.response.status_code, expires: e.response && e.response.getHeader('Expires') }); signal('registered'); });
ua.on('unregistered', (e) => { ev('unregistered', { code: e && e.response && e.response.status_code }); signal('unregistered'); });
ua.on('registrationFailed', (e) => {
  ev('registration-failed', { cause: e.cause, code: e.response && e.response.status_code });
  signal('registrationFailed', e);
});
ua.on('newMessage', (e) => {
  if (e.originator !== 'remote') return;
  const body = e.request.body || '';
  ev('message-received', { from: e.request.from.uri.toString(), body: body.slice(0, 80) });
  signal('message', body);
});

function sessionEvents(s, tag) {
  // created once: the end of a call can come in the same tick as its ACK
  s.wimsEnded = waitFor('ended:' + tag);
  s.wimsConfirmed = false;
  s.on('progress', (e) => { ev('progress', { call: tag, code: e.response && e.response.status_code }); signal('progress:' + tag); });
  s.on('accepted', () => ev('accepted', { call: tag }));
  s.on('confirmed', () => { s.wimsConfirmed = true; ev('confirmed', { call: tag }); signal('confirmed:' + tag); });
  s.on('ended', (e) => { ev('ended', { call: tag, originator: e.originator, cause: e.cause }); signal('ended:' + tag, e); });
  s.on('failed', (e) => {
    ev('failed', { call: tag, originator: e.originator, cause: e.cause, code: e.message && e.message.status_code });
    signal('ended:' + tag, Object.assign({ failed: true }, e));
  });
  const watchPc = (pc) => {
    if (!pc || pc.wimsWatched) return;
    pc.wimsWatched = true;
    pc.addEventListener('iceconnectionstatechange', () => ev('ice', { call: tag, state: pc.iceConnectionState }));
    if (opt.pc === 'werift' && pc.connectionStateChange) {
      pc.connectionStateChange.subscribe((st) => {
        ev('pc', { call: tag, state: st });
        if (st === 'connected') {
          ev('pc-stats', Object.assign({ call: tag }, wpc.mediaInfo(pc)));
          if (opt.ipv6) { // the host candidates each side announced (addr/port, comma-separated)
            const cands = (d) => [...((d && d.sdp) || '').matchAll(/a=candidate:\S+ 1 \S+ \d+ (\S+) (\d+) typ host/g)].map((m) => m[1] + '/' + m[2]).join(',');
            ev('candidates', { call: tag, local: cands(pc.localDescription), remote: cands(pc.remoteDescription) });
          }
          signal('pc-connected:' + tag);
        }
      });
      if (opt.mediaEcho) wpc.startEcho(pc, { corrupt: opt.mediaEcho === 'corrupt' });
      if (opt.mediaExpectEcho) s.wimsMedia = wpc.mediaCheck(pc);
      if (opt.videoFb) s.wimsVideoFb = wpc.videoFbCheck(pc, { senderSsrc: opt.videoFbSsrc });
    }
  };
  if (opt.mediaSend) s.wimsPcConnected = waitFor('pc-connected:' + tag);
  // --mangle-fingerprint: announce a certificate fingerprint that is not ours
  // (bad input for the gateway: it must refuse the DTLS peer)
  if (opt.mangleFp) {
    s.on('sdp', (e) => {
      if (e.originator !== 'local') return;
      e.sdp = e.sdp.replace(/(a=fingerprint:\S+ )([0-9A-Fa-f]{2})/g, (m, h, b) => h + (b === '00' ? '01' : '00'));
      ev('sdp-mangled', { what: 'fingerprint' });
    });
  }
  // werift completes ICE gathering only after a timeout: a loopback host
  // candidate is all a lab needs, so send the SDP as soon as it is there
  s.on('icecandidate', (e) => {
    const c = e.candidate && (e.candidate.candidate || String(e.candidate));
    if (opt.pc === 'werift' && / 127\.0\.0\.1 \d+ typ host/.test(c)) e.ready();
  });
  if (s.connection) watchPc(s.connection);
  s.on('peerconnection', (e) => watchPc(e.peerconnection));
  s.on('reinvite', () => ev('reinvite-received', { call: tag }));
  s.on('hold', (e) => ev('hold', { call: tag, originator: e.originator }));
  s.on('unhold', (e) => ev('unhold', { call: tag, originator: e.originator }));
  s.on('newInfo', (e) => {
    if (e.originator !== 'remote') return;
    ev('info-received', { call: tag, ct: e.info.contentType, body: (e.info.body || '').slice(0, 80) });
  });
  s.on('update', (e) => { // JsSIP emits it for a received UPDATE only
    ev('update-received', { call: tag, sdp: e.request.body ? 'yes' : 'no' });
  });
  s.on('refer', (e) => {
    ev('refer-received', { call: tag, refer_to: e.request.refer_to && e.request.refer_to.uri.toString() });
    if (opt.declineRefer !== undefined) {
      setTimeout(() => { e.reject(); ev('refer-declined', { call: tag }); }, opt.declineRefer);
    }
  });
}

function renegotiate(s, what) {
  return new Promise((resolve, reject) => {
    const done = (ok) => (ok ? resolve() : reject(new Error(`${what} failed`)));
    let r;
    if (what === 'hold') r = s.hold({}, () => done(true));
    else if (what === 'unhold') r = s.unhold({}, () => done(true));
    else r = s.renegotiate({}, () => done(true));
    if (!r) reject(new Error(`${what} refused by JsSIP in state ${s.status}`));
    s.once('failed', () => done(false));
  });
}

// --media-send / --media-expect-echo, once the call is confirmed
async function mediaPhase(s, tag) {
  const pc = s.connection;
  if (!pc) throw new Error('media: no peer connection');
  if (pc.connectionState !== 'connected') {
    const to = sleep(10000).then(() => 'timeout');
    if (await Promise.race([s.wimsPcConnected, to]) === 'timeout') throw new Error(`media: peer connection not connected (${pc.connectionState})`);
  }
  const kinds = opt.video ? ['audio', 'video'] : ['audio'];
  for (const k of kinds) {
    const info = wpc.mediaInfo(pc, k);
    if (info.dtls !== 'connected' || !info.codec) throw new Error(`media: cannot send ${k} (dtls=${info.dtls} codec=${info.codec})`);
    if (k === 'video') ev('pc-stats', Object.assign({ call: tag, kind: k }, info));
  }
  const m = s.wimsMedia || wpc.mediaCheck(pc);
  await Promise.all(kinds.map((k) => m.sendKind(k, opt.mediaSend)));
  const all = () => kinds.every((k) => (opt.mediaExpectReceived ? m.stats[k].received >= opt.mediaExpectReceived
    : m.stats[k].echoed >= m.stats[k].sent));
  if (opt.mediaExpectEcho) {
    const end = Date.now() + (opt.mediaWaitMs === undefined ? 1500 : opt.mediaWaitMs);
    while (!all() && Date.now() < end) await sleep(20);
  }
  const whys = [];
  for (const k of kinds) {
    const st = m.stats[k];
    ev(k === 'audio' ? 'media' : `media kind=${k}`, { sent: st.sent, received: st.received, echoed: st.echoed, mismatched: st.mismatched, first_echo_ms: st.firstEchoMs === undefined ? -1 : st.firstEchoMs, duplicates: st.duplicates, call: tag });
    const pre = k === 'audio' ? '' : `${k}_`;
    if (opt.mediaExpectReceived) { // transcoded: what comes back is re-encoded, count it
      if (st.received < opt.mediaExpectReceived) whys.push(`${pre}only_${st.received}_received`);
    } else if (st.mismatched > 0) whys.push(`${pre}${st.mismatched}_received_payloads_match_nothing_sent`);
    else if (st.echoed * 10 < st.sent * 9) whys.push(`${pre}only_${st.echoed}_of_${st.sent}_echoed`);
  }
  if (opt.mediaExpectEcho) {
    if (whys.length) {
      const why = whys.join(',');
      ev('media-check fail', { reason: why, call: tag });
      throw new Error(`media check failed: ${why}`);
    }
    ev('media-check ok', { call: tag });
  }
  if (opt.videoFb) await videoFbPhase(s, tag);
}

// --video-fb: PLI, FIR, NACK out on the video m-line; at least one of each back
async function videoFbPhase(s, tag) {
  const f = s.wimsVideoFb;
  await f.send();
  const end = Date.now() + 3000;
  const kinds = Object.keys(f.got);
  while (kinds.some((k) => f.got[k] === 0) && Date.now() < end) await sleep(20);
  const kv = { call: tag };
  for (const k of kinds) { kv[`sent_${k}`] = f.sent[k]; kv[`got_${k}`] = f.got[k]; }
  ev('video-fb', kv);
  const missing = kinds.filter((k) => f.got[k] === 0);
  if (missing.length) {
    const why = `no_${missing.join('_')}_came_back`;
    ev('video-fb-check fail', { reason: why, call: tag });
    throw new Error(`video feedback check failed: ${why}`);
  }
  ev('video-fb-check ok', { call: tag });
}

// --dtmf-info / --expect-dtmf-back: digits out as SIP INFO, RFC 4733 events
// back in the RTP (the gateway turned the INFO into telephone-events; an echo
// phone reflects them)
async function dtmfPhase(s, tag) {
  const pc = s.connection;
  const te = {};
  for (const m of (pc.remoteDescription && pc.remoteDescription.sdp || '').matchAll(/a=rtpmap:(\d+) telephone-event\/(\d+)/gi)) te[+m[1]] = +m[2];
  const seen = new Map(); // RTP timestamp -> {event, end, duration, pt}
  pc.wimsOnRtp((rtp) => {
    const pt = rtp.header.payloadType;
    if (te[pt] === undefined) return;
    const p = Buffer.from(rtp.payload);
    if (p.length < 4) return;
    const e = seen.get(rtp.header.timestamp) || { event: p[0], end: false, duration: 0, pt, packets: 0 };
    e.packets++;
    e.end = e.end || (p[1] & 0x80) !== 0;
    e.duration = Math.max(e.duration, p.readUInt16BE(2));
    seen.set(rtp.header.timestamp, e);
  });
  const names = '0123456789*#ABCD';
  for (const d of opt.dtmfInfo || '') {
    s.sendDTMF(d, { transportType: 'INFO', duration: 160 });
    await sleep(400);
  }
  await sleep(800);
  const got = [...seen.values()];
  const digits = got.map((e) => names[e.event] || '?').join('');
  ev('dtmf-back', { digits: digits || '-', clocks: got.map((e) => te[e.pt]).join(',') || '-',
    durations_ms: got.map((e) => Math.round(e.duration * 1000 / te[e.pt])).join(',') || '-',
    ended: got.every((e) => e.end) ? 'yes' : 'no', call: tag });
  if (opt.expectDtmfBack !== undefined) {
    if (digits !== opt.expectDtmfBack || !got.every((e) => e.end)) throw new Error(`dtmf back: got '${digits}', expected '${opt.expectDtmfBack}'`);
    ev('dtmf-check ok', { call: tag });
  }
}

async function inCall(s, tag) {
  if (opt.mediaSend) await mediaPhase(s, tag);
  if (opt.dtmfInfo) await dtmfPhase(s, tag);
  if (opt.dropAfter !== undefined) {
    await sleep(opt.dropAfter);
    ev('ws-dropped', { call: tag });
    socket.drop();
    finished = true; // exit without any further SIP, like a browser that vanished
    setTimeout(() => process.exit(0), 100);
    await new Promise(() => {});
  }
  if (opt.reinvite) {
    await sleep(500);
    await renegotiate(s, 'reinvite');
    ev('reinvite-ok', { call: tag });
  }
  if (opt.hold) {
    await sleep(300);
    await renegotiate(s, 'hold');
    ev('hold-ok', { call: tag });
    await sleep(300);
    await renegotiate(s, 'unhold');
    ev('unhold-ok', { call: tag });
  }
  // a request sent right after our ACK may overtake it in the proxies' worker processes
  if (opt.info || opt.update || opt.refer) await sleep(200);
  if (opt.info) {
    await new Promise((resolve, reject) => {
      // JsSIP reports the outcome on the Info object, handed out by 'newInfo'
      const onInfo = (e) => {
        if (e.originator !== 'local') return;
        s.removeListener('newInfo', onInfo);
        e.info.on('succeeded', (r) => { ev('info-ok', { call: tag, code: r.response.status_code }); resolve(); });
        e.info.on('failed', (r) => reject(new Error(`INFO failed: ${r.response ? r.response.status_code : r.cause}`)));
      };
      s.on('newInfo', onInfo);
      s.sendInfo(opt.info[0], opt.info[1]);
    });
  }
  if (opt.update) {
    await new Promise((resolve, reject) => {
      const r = s.renegotiate({ useUpdate: true }, () => resolve());
      if (!r) reject(new Error(`UPDATE refused by JsSIP in state ${s.status}`));
      s.once('failed', () => reject(new Error('UPDATE failed')));
    });
    ev('update-ok', { call: tag });
  }
  if (opt.refer) {
    let gotCode = false, gotNotify = false;
    await new Promise((resolve, reject) => {
      const check = () => { if (gotCode && gotNotify) resolve(); };
      const frag = (e) => e.status_line && e.status_line.status_code;
      s.refer(opt.refer, {
        eventHandlers: {
          requestSucceeded: (e) => { ev('refer-ok', { call: tag, code: e.response.status_code }); gotCode = true; check(); },
          requestFailed: (e) => reject(new Error(`REFER failed: ${e.response ? e.response.status_code : e.cause}`)),
          trying: (e) => ev('refer-notify', { call: tag, sipfrag: frag(e) }),
          progress: (e) => ev('refer-notify', { call: tag, sipfrag: frag(e) }),
          accepted: (e) => { ev('refer-accepted', { call: tag, sipfrag: frag(e) }); gotNotify = true; check(); },
          failed: (e) => reject(new Error(`REFER: the NOTIFY reports failure ${frag(e)}`)),
        },
      });
    });
  }
  const ended = s.wimsEnded;
  if (opt.hangupAfter !== undefined) {
    await sleep(opt.hangupAfter);
    if (!s.isEnded()) s.terminate();
    const e = await ended;
    if (e.originator !== 'local') throw new Error(`call ended by ${e.originator} (${e.cause}) before our BYE`);
  } else if (opt.expectBye) {
    const e = await ended;
    if (e.failed || e.originator !== 'remote' || e.cause !== JsSIP.C.causes.BYE) {
      throw new Error(`expected the peer's BYE, got ${e.failed ? 'failed' : 'ended'} originator=${e.originator} cause=${e.cause}`);
    }
  } else {
    await sleep(200);
    if (!s.isEnded()) { s.terminate(); await ended; }
  }
}

async function main() {
  const connected = waitFor('connected');
  ua.start();
  await connected;

  if (opt.register) {
    const reg = waitFor('registered');
    const regFail = waitFor('registrationFailed');
    ua.register();
    const r = await Promise.race([reg.then(() => null), regFail]);
    if (opt.expectRegFail) {
      if (!r) throw new Error('REGISTER succeeded but a failure was expected');
      const code = r.response && r.response.status_code;
      if (!new RegExp(`^(${opt.expectRegFail})$`).test(String(code))) throw new Error(`REGISTER failed with ${code} (${r.cause}), expected ${opt.expectRegFail}`);
      return;
    }
    if (r) throw new Error(`REGISTER failed: ${r.cause} ${r.response ? r.response.status_code : ''}`);
  }

  // incoming calls are accepted from the start
  let incoming = null;
  if (opt.expectCall) {
    incoming = new Promise((resolve) => {
      ua.on('newRTCSession', (e) => {
        if (e.originator !== 'remote') return;
        ev('incoming', { from: e.request.from.uri.toString(), call_id: e.request.call_id });
        resolve(e.session);
      });
    });
  }
  let notified = null;
  if (opt.expectSubscribe) {
    // JsSIP answers SUBSCRIBE with 405 unless someone listens for 'newSubscribe'
    notified = new Promise((resolve, reject) => {
      ua.on('newSubscribe', (e) => {
        // JsSIP 3.13 copies Record-Route into 2xx responses to INVITE only; a
        // 2xx to SUBSCRIBE needs them as well (RFC 6665 §4.2.1.4, RFC 3261
        // §12.1.1), or the subscriber's un-SUBSCRIBE bypasses the proxies
        const req = e.request;
        const reply = req.reply.bind(req);
        const rr = req.getHeaders('record-route').map((h) => `Record-Route: ${h}`);
        req.reply = (code, reason, extra, ...rest) => reply(code, reason, code >= 200 && code < 300 ? (extra || []).concat(rr) : extra, ...rest);
        const n = ua.notify(req, 'text/plain', {});
        n.on('subscribe', (isUnsubscribe, req) => {
          ev('subscribe-received', { from: req.from.uri.toString(), event: req.getHeader('Event'), expires: req.getHeader('Expires'), unsubscribe: isUnsubscribe });
          if (isUnsubscribe) n.terminate(`${opt.expectSubscribe}-final`, 'noresource');
          else n.notify(opt.expectSubscribe);
        });
        n.on('terminated', (code) => {
          ev('notifier-terminated', { code });
          // C.FINAL_NOTIFY_SENT: ended by our final NOTIFY after the un-SUBSCRIBE
          if (code === n.C.FINAL_NOTIFY_SENT) resolve(); else reject(new Error(`notifier terminated with code ${code}`));
        });
        n.start();
      });
    });
  }
  let gotMessage = null;
  if (opt.expectMessage) gotMessage = waitFor('message', (b) => b.includes(opt.expectMessage));

  if (opt.options) {
    await new Promise((resolve, reject) => {
      // a URI without user part (sip:ims.lab) would be taken by JsSIP as a user name
      const target = /^sips?:[^@]+$/.test(opt.options) ? JsSIP.URI.parse(opt.options) : opt.options;
      ua.sendOptions(target, null, {
        eventHandlers: {
          succeeded: (e) => { ev('options-ok', { code: e.response.status_code }); resolve(); },
          failed: (e) => { ev('options-failed', { cause: e.cause, code: e.response && e.response.status_code }); reject(new Error(`OPTIONS failed: ${e.cause}`)); },
        },
      });
    });
  }

  if (opt.subscribe) {
    const sub = ua.subscribe(opt.subscribe[0], opt.subscribe[1], 'text/plain', { expires: 60 });
    const terminated = new Promise((resolve) => sub.on('terminated', (code, reason) => resolve({ code, reason })));
    let unsubscribing = false;
    await new Promise((resolve, reject) => {
      sub.on('accepted', () => ev('subscribe-accepted', {}));
      sub.on('notify', (isFinal, request, body) => {
        ev('subscribe-notify', { final: isFinal, state: request.getHeader('Subscription-State'), body: (body || '').slice(0, 80) });
        if (!isFinal && !unsubscribing) resolve();
      });
      terminated.then((t) => { if (!unsubscribing) reject(new Error(`subscription terminated early: code ${t.code}`)); });
      sub.subscribe();
    });
    unsubscribing = true;
    await sleep(100);
    sub.terminate();
    const t = await terminated;
    ev('subscribe-terminated', { code: t.code, reason: t.reason });
    // C.FINAL_NOTIFY_RECEIVED: ended by the notifier's final NOTIFY (not a timeout or an error)
    if (t.code !== sub.C.FINAL_NOTIFY_RECEIVED) throw new Error(`subscription ended with code ${t.code}, not by the final NOTIFY`);
  }

  if (opt.message) {
    await new Promise((resolve, reject) => {
      ua.sendMessage(opt.message[0], opt.message[1], {
        eventHandlers: {
          succeeded: (e) => { ev('message-sent', { code: e.response.status_code }); resolve(); },
          failed: (e) => { ev('message-failed', { cause: e.cause, code: e.response && e.response.status_code }); reject(new Error(`MESSAGE failed: ${e.cause}`)); },
        },
      });
    });
  }

  if (opt.call) {
    const tag = 'out';
    const s = ua.call(opt.call, {
      mediaConstraints: { audio: false, video: false },
      rtcOfferConstraints: { offerToReceiveAudio: true },
      pcConfig: { iceServers: [] },
    });
    sessionEvents(s, tag);
    const ended = s.wimsEnded;
    if (opt.cancelAfter !== undefined) {
      await Promise.race([waitFor('progress:' + tag), ended]);
      await sleep(opt.cancelAfter);
      if (s.isEnded()) throw new Error('call ended before we could CANCEL');
      s.terminate(); // CANCEL
      const e = await ended;
      if (!e.failed || e.cause !== JsSIP.C.causes.CANCELED) throw new Error(`expected Canceled, got ${e.cause}`);
      ev('canceled', { call: tag });
    } else if (opt.expectFail) {
      const e = await Promise.race([ended, waitFor('confirmed:' + tag).then(() => ({ confirmed: true }))]);
      if (e.confirmed) throw new Error(`call was answered, expected failure ${opt.expectFail}`);
      const code = e.message && e.message.status_code;
      if (!new RegExp(`^(${opt.expectFail})$`).test(String(code))) throw new Error(`call failed with ${code} (${e.cause}), expected ${opt.expectFail}`);
    } else {
      const r = await Promise.race([waitFor('confirmed:' + tag).then(() => null), ended]);
      if (r && !s.wimsConfirmed) throw new Error(`call not established: ${r.cause} ${r.message && r.message.status_code ? r.message.status_code : ''}`);
      await inCall(s, tag);
    }
  }

  if (incoming) {
    const s = await incoming;
    const tag = 'in';
    sessionEvents(s, tag);
    const ended = s.wimsEnded;
    if (!opt.answer) {
      const e = await ended;
      if (!e.failed || e.cause !== JsSIP.C.causes.CANCELED) throw new Error(`expected the caller's CANCEL, got ${e.cause}`);
      ev('canceled', { call: tag });
    } else {
      if (opt.answerDelay) await sleep(opt.answerDelay);
      const confirmed = waitFor('confirmed:' + tag);
      s.answer({ mediaConstraints: { audio: false, video: false }, pcConfig: { iceServers: [] } });
      const r = await Promise.race([confirmed.then(() => null), ended]);
      if (r && !s.wimsConfirmed) throw new Error(`incoming call not confirmed: ${r.cause}`);
      await inCall(s, tag);
    }
  }

  if (opt.messageAfter) {
    const [target, want] = opt.messageAfter;
    await new Promise((resolve, reject) => {
      ua.sendMessage(target, 'after', {
        eventHandlers: {
          succeeded: (e) => { ev('message-sent', { code: e.response.status_code }); reject(new Error(`MESSAGE answered ${e.response.status_code}, expected ${want}`)); },
          failed: (e) => {
            const code = e.response && e.response.status_code;
            ev('message-failed', { cause: e.cause, code });
            if (new RegExp(`^(${want})$`).test(String(code))) resolve();
            else reject(new Error(`MESSAGE failed with ${code} (${e.cause}), expected ${want}`));
          },
        },
      });
    });
  }

  if (gotMessage) await gotMessage;
  if (notified) { await notified; await sleep(300); } // the 200 to the final NOTIFY
  if (opt.lingerMs) await sleep(opt.lingerMs);

  if (opt.unregister) {
    const un = waitFor('unregistered');
    ua.unregister();
    await un;
  }
}

main().then(() => finish(0), (err) => finish(1, err && err.message ? err.message : String(err)));
