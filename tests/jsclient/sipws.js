#!/usr/bin/env node
'use strict';
// sipws: a minimal scripted SIP UA over WebSocket (npm `ws`) for what JsSIP
// cannot do: PUBLISH, and PRACK of reliable provisional responses (RFC 3262).
// Prints "EVENT <name> k=v ..." lines, every SIP message with --trace (stderr),
// and exits 0 only when the whole exchange happened within --timeout.
//   node sipws.js publish    --to sip:ue1@ims.lab [--ws URL] [--from sip:alice@ims.lab]
//        PUBLISH (Event: presence, a PIDF body), expect 200 with SIP-ETag
//   node sipws.js prack-call --to sip:ue1@ims.lab [--ws URL] [--from ...]
//        INVITE (Supported: 100rel), PRACK a reliable 1xx, expect 200 to the
//        PRACK, then 200 to the INVITE, ACK, BYE, expect 200
//   node sipws.js prack-uas  [--from sip:alice@ims.lab] [--password wims-lab]
//        REGISTER (digest), wait for an INVITE, answer 180 with Require: 100rel
//        and RSeq, expect the PRACK (RAck) and answer it 200, then 200 to the
//        INVITE, expect the ACK and the caller's BYE (200)
const path = require('path');
module.paths.unshift(path.join(__dirname, '..', 'node_modules'));
const crypto = require('crypto');
const WebSocket = require('ws');

const args = process.argv.slice(2);
const o = { mode: args[0], ws: 'ws://127.0.0.1:8080/', from: 'sip:alice@ims.lab', to: 'sip:ue1@ims.lab', password: 'wims-lab', timeout: 10000,
  'call-id': '', 'from-tag': '', 'to-tag': '', 'dialog-from': '', expect: '403', bearer: '' };
for (let i = 1; i < args.length; i++) {
  const k = args[i].replace(/^--/, ''), v = args[++i];
  if (!(k in o) && k !== 'trace') { console.log(`ERROR unknown option --${k}`); process.exit(2); }
  if (k === 'trace') { o.trace = true; i--; } else o[k] = k === 'timeout' ? +v : v;
}
if (!['publish', 'prack-call', 'prack-uas', 'spoof-bye', 'token-register'].includes(o.mode)) { console.log('ERROR usage: sipws.js publish|prack-call|prack-uas|spoof-bye [--to URI] [--ws URL] [--from URI] [--password PW] [--trace]'); process.exit(2); }

const rnd = (n) => crypto.randomBytes(n).toString('hex');
const host = `${rnd(4)}.invalid`;
const callId = rnd(10);
const fromTag = rnd(5);
let cseq = 1;
const ev = (name, kv) => console.log([`EVENT ${name}`, ...Object.entries(kv || {}).map(([k, v]) => `${k}=${String(v).replace(/\s+/g, '_')}`)].join(' '));
const fail = (why) => { console.log(`ERROR ${why}`); process.exit(1); };
setTimeout(() => fail(`timeout after ${o.timeout} ms`), o.timeout).unref();

function parse(text) {
  const [head, body = ''] = text.split('\r\n\r\n');
  const lines = head.split('\r\n');
  const first = lines.shift();
  const hdrs = [];
  for (const l of lines) {
    const i = l.indexOf(':');
    hdrs.push([l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim()]);
  }
  const m = /^SIP\/2.0 (\d{3}) /.exec(first);
  const all = (n) => hdrs.filter(([k]) => k === n).map(([, v]) => v);
  return { first, code: m ? +m[1] : 0, method: m ? null : first.split(' ')[0], body, all, get: (n) => all(n)[0] };
}

const ws = new WebSocket(o.ws, 'sip', { rejectUnauthorized: false, handshakeTimeout: 5000 });
const inbox = [];
let waiter = null;
ws.on('message', (d) => {
  const t = d.toString();
  if (o.trace) process.stderr.write(`----- < ${new Date().toISOString()}\n${t}\n`);
  inbox.push(parse(t));
  if (waiter) waiter();
});
ws.on('error', (e) => fail(`websocket: ${e.message}`));
ws.on('close', () => { if (!done) fail('websocket closed'); });
let done = false;

function send(lines, body = '') {
  const t = lines.filter((x) => x).join('\r\n') + `\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n` + body;
  if (o.trace) process.stderr.write(`----- > ${new Date().toISOString()}\n${t}\n`);
  ws.send(t);
}
// the next message matching pred (skipping the others, e.g. 100 Trying)
function next(pred) {
  return new Promise((resolve) => {
    const look = () => {
      const i = inbox.findIndex(pred);
      if (i < 0) return;
      waiter = null;
      resolve(inbox.splice(i, 1)[0]);
    };
    waiter = look;
    look();
  });
}
const via = () => `Via: SIP/2.0/WS ${host};branch=z9hG4bK${rnd(8)}`;
const contact = `Contact: <sip:${rnd(4)}@${host};transport=ws>`;

async function publish() {
  await register();
  const body = `<?xml version="1.0" encoding="UTF-8"?>\r\n<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="${o.from}"><tuple id="wims"><status><basic>open</basic></status><note>wims-publish</note></tuple></presence>\r\n`;
  send([`PUBLISH ${o.to} SIP/2.0`, via(), 'Max-Forwards: 70', `From: <${o.from}>;tag=${fromTag}`, `To: <${o.to}>`,
    `Call-ID: ${callId}`, `CSeq: ${cseq} PUBLISH`, 'Event: presence', 'Expires: 60', 'Content-Type: application/pidf+xml'], body);
  const r = await next((m) => m.code >= 200 && m.get('cseq') === `${cseq} PUBLISH`);
  ev('publish-response', { code: r.code, etag: r.get('sip-etag') || '', expires: r.get('expires') || '' });
  if (r.code !== 200) fail(`PUBLISH got ${r.first}`);
  if (!r.get('sip-etag')) fail('200 to PUBLISH without SIP-ETag');
  if (r.all('via').length !== 1 || !r.get('via').includes(host)) fail(`the response's Via is not ours alone: ${r.all('via').join(' | ')}`);
}

async function prackCall() {
  await register();
  const sdp = ['v=0', `o=- ${rnd(4)} 1 IN IP4 127.0.0.1`, 's=-', 'c=IN IP4 127.0.0.1', 't=0 0',
    'm=audio 40000 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', 'a=sendrecv', ''].join('\r\n');
  const inv = cseq;
  send([`INVITE ${o.to} SIP/2.0`, via(), 'Max-Forwards: 70', `From: <${o.from}>;tag=${fromTag}`, `To: <${o.to}>`,
    `Call-ID: ${callId}`, `CSeq: ${inv} INVITE`, contact, 'Supported: 100rel', 'Allow: INVITE, ACK, CANCEL, BYE, PRACK',
    'Content-Type: application/sdp'], sdp);
  const p = await next((m) => m.code > 100 && m.get('cseq') === `${inv} INVITE`);
  if (p.code >= 200) fail(`INVITE got ${p.first} before any reliable provisional response`);
  const rseq = p.get('rseq');
  ev('provisional', { code: p.code, require: p.get('require') || '', rseq: rseq || '' });
  if (!/\b100rel\b/.test(p.get('require') || '') || !rseq) fail(`${p.first} lacks Require: 100rel / RSeq`);
  // the early dialog: remote target and route set (RFC 3261 §12.1.2)
  const to = p.get('to');
  const target = /<([^>]+)>/.exec(p.get('contact'))[1];
  const routes = p.all('record-route').join(', ').split(/,\s*(?=<)/).filter((x) => x).reverse();
  const dlg = (method, n) => [`${method} ${target} SIP/2.0`, via(), 'Max-Forwards: 70', ...routes.map((r) => `Route: ${r}`),
    `From: <${o.from}>;tag=${fromTag}`, `To: ${to}`, `Call-ID: ${callId}`, `CSeq: ${n} ${method}`];
  cseq++;
  send([...dlg('PRACK', cseq), `RAck: ${rseq} ${inv} INVITE`]);
  const pr = await next((m) => m.code >= 200 && m.get('cseq') === `${cseq} PRACK`);
  ev('prack-response', { code: pr.code });
  if (pr.code !== 200) fail(`PRACK got ${pr.first}`);
  const ok = await next((m) => m.code >= 200 && m.get('cseq') === `${inv} INVITE`);
  ev('invite-response', { code: ok.code });
  if (ok.code !== 200) fail(`INVITE got ${ok.first}`);
  send(dlg('ACK', inv).map((l) => l.startsWith('To:') ? `To: ${ok.get('to')}` : l));
  // hang up a moment later: an ACK and a BYE sent back to back may overtake
  // each other in the proxies' worker processes
  await new Promise((r) => setTimeout(r, 200));
  cseq++;
  send(dlg('BYE', cseq).map((l) => l.startsWith('To:') ? `To: ${ok.get('to')}` : l));
  const by = await next((m) => m.code >= 200 && m.get('cseq') === `${cseq} BYE`);
  ev('bye-response', { code: by.code });
  if (by.code !== 200) fail(`BYE got ${by.first}`);
}

const md5 = (x) => crypto.createHash('md5').update(x).digest('hex');
// REGISTER (digest) as --from, in a Call-ID of its own: the requests that
// follow keep their CSeq numbers (a gateway in front of a P-CSCF lets only a
// registered connection send, as the P-CSCF would)
async function register() {
  const user = /^sip:([^@]+)@(.+)$/.exec(o.from);
  const regCall = rnd(10), regTag = rnd(5);
  let regSeq = 1;
  const reg = (n, auth) => send([`REGISTER sip:${user[2]} SIP/2.0`, via(), 'Max-Forwards: 70', `From: <${o.from}>;tag=${regTag}`,
    `To: <${o.from}>`, `Call-ID: ${regCall}`, `CSeq: ${n} REGISTER`,
    `${contact};reg-id=1;+sip.instance="<urn:uuid:${crypto.randomUUID()}>"`, 'Expires: 600', 'Supported: path, outbound', auth]);
  reg(regSeq);
  let r = await next((m) => m.code >= 200 && m.get('cseq') === `${regSeq} REGISTER` && m.get('call-id') === regCall);
  if (r.code === 401) {
    const ch = r.get('www-authenticate');
    const p = (k) => (new RegExp(`${k}="?([^",]+)"?`).exec(ch) || [])[1];
    const uri = `sip:${user[2]}`, cnonce = rnd(6), nc = '00000001';
    const ha1 = md5(`${user[1]}:${p('realm')}:${o.password}`), ha2 = md5(`REGISTER:${uri}`);
    const resp = md5(`${ha1}:${p('nonce')}:${nc}:${cnonce}:auth:${ha2}`);
    regSeq++;
    reg(regSeq, `Authorization: Digest username="${user[1]}", realm="${p('realm')}", nonce="${p('nonce')}", uri="${uri}", response="${resp}", algorithm=MD5, qop=auth, nc=${nc}, cnonce="${cnonce}"` + (p('opaque') ? `, opaque="${p('opaque')}"` : ''));
    r = await next((m) => m.code >= 200 && m.get('cseq') === `${regSeq} REGISTER` && m.get('call-id') === regCall);
  }
  ev('registered', { code: r.code });
  if (r.code !== 200) fail(`REGISTER got ${r.first}`);
}

async function prackUas() {
  await register();
  const inv = await next((m) => m.method === 'INVITE');
  ev('incoming', { from: (/<([^>]+)>/.exec(inv.get('from')) || [])[1], supported: inv.get('supported') || '' });
  const tag = rnd(5);
  const rr = inv.all('record-route').map((v) => `Record-Route: ${v}`);
  const resp = (code, reason, req, extra, body) => send([`SIP/2.0 ${code} ${reason}`, ...req.all('via').map((v) => `Via: ${v}`),
    `From: ${req.get('from')}`, `To: ${req.get('to')}${/;tag=/.test(req.get('to')) ? '' : `;tag=${tag}`}`,
    `Call-ID: ${req.get('call-id')}`, `CSeq: ${req.get('cseq')}`, ...(extra || [])], body || '');
  resp(180, 'Ringing', inv, [...rr, contact, 'Require: 100rel', 'RSeq: 1']);
  const prack = await next((m) => m.method === 'PRACK');
  ev('prack-received', { rack: prack.get('rack') });
  if (prack.get('rack') !== `1 ${inv.get('cseq')}`) fail(`PRACK with RAck '${prack.get('rack')}', expected '1 ${inv.get('cseq')}'`);
  resp(200, 'OK', prack);
  await new Promise((r) => setTimeout(r, 200)); // answer after a moment of ringing: the two 200s stay in order
  const sdp = ['v=0', `o=- ${rnd(4)} 1 IN IP4 127.0.0.1`, 's=-', 'c=IN IP4 127.0.0.1', 't=0 0',
    'm=audio 40000 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', 'a=sendrecv', ''].join('\r\n');
  resp(200, 'OK', inv, [...rr, contact, 'Content-Type: application/sdp'], sdp);
  const ack = await next((m) => m.method === 'ACK');
  ev('ack-received', { cseq: ack.get('cseq') });
  const bye = await next((m) => m.method === 'BYE');
  ev('bye-received', {});
  resp(200, 'OK', bye);
  await new Promise((r) => setTimeout(r, 200));
}

//   node sipws.js spoof-bye --from sip:bob@ims.lab --call-id C --from-tag F --to-tag T
//        --dialog-from sip:alice@ims.lab --to sip:ue1@ims.lab [--expect 403]
//        REGISTER (digest) as --from, then a BYE inside a dialog made by another
//        connection (its Call-ID and tags, its caller's identity): expect the code
async function spoofBye() {
  await register();
  cseq++;
  send([`BYE ${o.to} SIP/2.0`, via(), 'Max-Forwards: 70', `From: <${o['dialog-from']}>;tag=${o['from-tag']}`,
    `To: <${o.to}>;tag=${o['to-tag']}`, `Call-ID: ${o['call-id']}`, `CSeq: 9999 BYE`]);
  const r = await next((m) => m.code >= 200 && m.get('cseq') === '9999 BYE');
  ev('spoof-response', { code: r.code, reason: r.first });
  if (String(r.code) !== o.expect) fail(`spoofed BYE got ${r.first}, expected ${o.expect}`);
}

//   node sipws.js token-register --from sip:alice@ims.lab [--bearer JWT] --expect 200|401|403
//        REGISTER with "Authorization: Bearer JWT" (none without --bearer): expect the code
async function tokenRegister() {
  const user = /^sip:([^@]+)@(.+)$/.exec(o.from);
  send([`REGISTER sip:${user[2]} SIP/2.0`, via(), 'Max-Forwards: 70', `From: <${o.from}>;tag=${fromTag}`,
    `To: <${o.from}>`, `Call-ID: ${callId}`, `CSeq: ${cseq} REGISTER`,
    `${contact};reg-id=1;+sip.instance="<urn:uuid:${crypto.randomUUID()}>"`, 'Expires: 600', 'Supported: path, outbound',
    o.bearer ? `Authorization: Bearer ${o.bearer}` : '']);
  const r = await next((m) => m.code >= 200 && m.get('cseq') === `${cseq} REGISTER`);
  ev('register-response', { code: r.code, reason: r.first, www: r.get('www-authenticate') || '-' });
  if (String(r.code) !== o.expect) fail(`REGISTER got ${r.first}, expected ${o.expect}`);
}

ws.on('open', () => {
  ev('connected', { url: o.ws });
  ({ publish, 'prack-call': prackCall, 'prack-uas': prackUas, 'spoof-bye': spoofBye, 'token-register': tokenRegister })[o.mode]().then(() => {
    done = true;
    ev('done');
    ws.close(1000);
    setTimeout(() => process.exit(0), 100);
  }, (e) => fail(e.stack));
});
