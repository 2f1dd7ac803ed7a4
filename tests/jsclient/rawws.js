#!/usr/bin/env node
// A raw WebSocket client that can send what a well-behaved client never
// would: unmasked frames, oversized and truncated frames, malformed SIP.
// Each case prints "ok <name>" or "FAIL <name>: why"; exit status 1 when any failed.
//   node rawws.js --port 8080 badinput       every bad-input case of docs/signalling.md
//   node rawws.js --port 8080 wait-close     connect and wait for the server's Close; prints its code
'use strict';
const net = require('net');
const crypto = require('crypto');

const args = process.argv.slice(2);
let port = 8080, mode = 'badinput', maxMessage = 8192;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--port') port = Number(args[++i]);
  else if (args[i] === '--max-message') maxMessage = Number(args[++i]);
  else mode = args[i];
}

function upgrade(headers) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const key = crypto.randomBytes(16).toString('base64');
    const h = Object.assign({
      Host: `127.0.0.1:${port}`, Upgrade: 'websocket', Connection: 'Upgrade',
      'Sec-WebSocket-Key': key, 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Protocol': 'sip',
    }, headers || {});
    let req = 'GET / HTTP/1.1\r\n';
    for (const [k, v] of Object.entries(h)) if (v !== null) req += `${k}: ${v}\r\n`;
    sock.on('error', reject);
    sock.on('data', function onData(d) {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      sock.removeListener('data', onData);
      const head = buf.subarray(0, end).toString();
      const rest = buf.subarray(end + 4);
      const status = Number(head.split(' ')[1]);
      resolve(new Conn(sock, status, head, rest));
    });
    sock.write(req + '\r\n');
  });
}

class Conn {
  constructor(sock, status, head, rest) {
    this.sock = sock; this.status = status; this.head = head;
    this.buf = rest; this.frames = []; this.waiters = []; this.closed = false;
    sock.on('data', (d) => { this.buf = Buffer.concat([this.buf, d]); this.parse(); });
    sock.on('close', () => { this.closed = true; this.wake(); });
    sock.on('error', () => {});
    this.parse();
  }
  parse() {
    for (;;) {
      const b = this.buf;
      if (b.length < 2) break;
      let len = b[1] & 127, off = 2;
      if (len === 126) { if (b.length < 4) break; len = b.readUInt16BE(2); off = 4; }
      else if (len === 127) { if (b.length < 10) break; len = Number(b.readBigUInt64BE(2)); off = 10; }
      if (b[1] & 0x80) { this.frames.push({ op: -1, data: Buffer.alloc(0), masked: true }); }
      if (b.length < off + len) break;
      this.frames.push({ op: b[0] & 15, fin: !!(b[0] & 0x80), data: b.subarray(off, off + len) });
      this.buf = b.subarray(off + len);
    }
    this.wake();
  }
  wake() { const w = this.waiters; this.waiters = []; w.forEach((f) => f()); }
  // next frame matching pred, or null on timeout / close
  next(pred, ms = 3000) {
    return new Promise((resolve) => {
      const deadline = Date.now() + ms;
      let done = false;
      const finish = (v) => { done = true; resolve(v); };
      const check = () => {
        if (done) return; // a stale waiter must not eat a later frame
        const i = this.frames.findIndex(pred || (() => true));
        if (i >= 0) return finish(this.frames.splice(i, 1)[0]);
        if (this.closed || Date.now() > deadline) return finish(null);
        this.waiters.push(check);
        setTimeout(check, Math.max(1, deadline - Date.now()));
      };
      check();
    });
  }
  send(op, payload, o = {}) {
    payload = Buffer.from(payload);
    const mask = o.mask !== false;
    const hdr = [((o.fin === false ? 0 : 1) << 7) | ((o.rsv || 0) << 4) | op];
    const len = o.len !== undefined ? o.len : payload.length;
    let ext = Buffer.alloc(0);
    if (len < 126) hdr.push((mask ? 0x80 : 0) | len);
    else if (len < 65536) { hdr.push((mask ? 0x80 : 0) | 126); ext = Buffer.alloc(2); ext.writeUInt16BE(len); }
    else { hdr.push((mask ? 0x80 : 0) | 127); ext = Buffer.alloc(8); ext.writeBigUInt64BE(BigInt(len)); }
    let body = payload;
    let key = Buffer.alloc(0);
    if (mask) {
      key = crypto.randomBytes(4);
      body = Buffer.from(payload.map((c, i) => c ^ key[i % 4]));
    }
    this.sock.write(Buffer.concat([Buffer.from(hdr), ext, key, body]));
  }
  text(s) { this.send(1, s); }
  async sipResponse(ms) {
    const f = await this.next((x) => x.op === 1 || x.op === 2, ms);
    return f ? f.data.toString() : null;
  }
  closeCode(f) { return f && f.data.length >= 2 ? f.data.readUInt16BE(0) : null; }
  end() { this.sock.destroy(); }
}

let failures = 0;
function ok(name) { console.log(`ok ${name}`); }
function bad(name, why) { failures++; console.log(`FAIL ${name}: ${why}`); }

let n = 0;
function sip(parts) {
  n++;
  const h = {
    via: `Via: SIP/2.0/WS bad${n}.invalid;branch=z9hG4bKbad${n}x${Date.now()}`,
    from: `From: <sip:alice@ims.lab>;tag=f${n}`, to: 'To: <sip:alice@ims.lab>',
    callid: `Call-ID: bad-${n}-${Date.now()}`, cseq: 'CSeq: 1 OPTIONS', mf: 'Max-Forwards: 70',
    cl: 'Content-Length: 0',
  };
  Object.assign(h, parts || {});
  return 'OPTIONS sip:ims.lab SIP/2.0\r\n' + Object.values(h).filter((x) => x).join('\r\n') + '\r\n\r\n';
}

async function expectSip400(c, name, msg, reason) {
  c.text(msg);
  const r = await c.sipResponse();
  if (!r) return bad(name, 'no response');
  const line = r.split('\r\n')[0];
  if (line !== `SIP/2.0 400 ${reason}`) return bad(name, `got "${line}"`);
  ok(name);
}

async function badinput() {
  // a bystander connection that must carry on through everything below
  const by = await upgrade();
  if (by.status !== 101) bad('bystander-upgrade', `status ${by.status}`);

  let c = await upgrade({ 'Sec-WebSocket-Protocol': null });
  c.status === 400 ? ok('no-subprotocol-400') : bad('no-subprotocol-400', `status ${c.status}`); c.end();
  c = await upgrade({ 'Sec-WebSocket-Protocol': 'chat' });
  c.status === 400 ? ok('wrong-subprotocol-400') : bad('wrong-subprotocol-400', `status ${c.status}`); c.end();
  c = await upgrade({ Upgrade: null, Connection: null, 'Sec-WebSocket-Key': null });
  c.status === 426 ? ok('no-upgrade-426') : bad('no-upgrade-426', `status ${c.status}`); c.end();
  c = await upgrade({ 'Sec-WebSocket-Version': '8' });
  c.status === 426 && /Sec-WebSocket-Version: 13/i.test(c.head) ? ok('bad-version-426')
    : bad('bad-version-426', `status ${c.status}`); c.end();

  // Origin allow-list (the test configures origins = https://wic.ims.lab); no Origin = not a browser
  c = await upgrade({ Origin: 'https://evil.example' });
  c.status === 403 ? ok('origin-refused-403') : bad('origin-refused-403', `status ${c.status}`); c.end();
  c = await upgrade({ Origin: 'https://wic.ims.lab' });
  c.status === 101 ? ok('origin-allowed-101') : bad('origin-allowed-101', `status ${c.status}`); c.end();

  // unmasked client frame: RFC 6455 §5.1 → close 1002
  c = await upgrade();
  c.send(1, sip(), { mask: false });
  let f = await c.next((x) => x.op === 8);
  c.closeCode(f) === 1002 ? ok('unmasked-1002') : bad('unmasked-1002', `close ${c.closeCode(f)}`); c.end();

  // a message over max_message → close 1009, also when built from fragments
  c = await upgrade();
  c.text('X'.repeat(maxMessage + 1));
  f = await c.next((x) => x.op === 8);
  c.closeCode(f) === 1009 ? ok('oversized-1009') : bad('oversized-1009', `close ${c.closeCode(f)}`); c.end();
  c = await upgrade();
  const half = 'Y'.repeat(Math.ceil(maxMessage / 2) + 10);
  c.send(1, half, { fin: false }); c.send(0, half, { fin: false }); c.send(0, half);
  f = await c.next((x) => x.op === 8);
  c.closeCode(f) === 1009 ? ok('oversized-fragments-1009') : bad('oversized-fragments-1009', `close ${c.closeCode(f)}`);
  c.end();

  // reserved bits and unknown opcodes → 1002
  c = await upgrade();
  c.send(1, sip(), { rsv: 4 });
  f = await c.next((x) => x.op === 8);
  c.closeCode(f) === 1002 ? ok('rsv-1002') : bad('rsv-1002', `close ${c.closeCode(f)}`); c.end();
  c = await upgrade();
  c.send(3, 'x');
  f = await c.next((x) => x.op === 8);
  c.closeCode(f) === 1002 ? ok('opcode-1002') : bad('opcode-1002', `close ${c.closeCode(f)}`); c.end();

  // a truncated frame, then the TCP connection goes: nothing to answer, nothing may break
  c = await upgrade();
  c.send(1, 'short', { len: 1000 });
  await new Promise((r) => setTimeout(r, 100));
  c.end();
  ok('truncated-frame-dropped');

  // malformed SIP: 400 naming the fault, and the connection stays open
  c = await upgrade();
  await expectSip400(c, 'missing-call-id-400', sip({ callid: null }), 'Missing Call-ID');
  await expectSip400(c, 'missing-cseq-400', sip({ cseq: null }), 'Missing CSeq');
  await expectSip400(c, 'missing-via-400', sip({ via: null }), 'Missing Via');
  await expectSip400(c, 'bad-content-length-400', sip({ cl: 'Content-Length: 500' }), 'Bad Content-Length');
  await expectSip400(c, 'cseq-mismatch-400', sip({ cseq: 'CSeq: 1 INVITE' }), 'CSeq method mismatch');
  await expectSip400(c, 'max-forwards-bad-400', sip({ mf: 'Max-Forwards: lots' }), 'Bad Max-Forwards');
  let r;
  c.text(sip().replace('OPTIONS sip:ims.lab SIP/2.0', 'OPTIONS sip:ims.lab SIP/3.0'));
  r = await c.sipResponse();
  r && r.startsWith('SIP/2.0 505') ? ok('version-505') : bad('version-505', `got ${r && r.split('\r\n')[0]}`);
  c.text(sip({ mf: 'Max-Forwards: 0' }));
  r = await c.sipResponse();
  r && r.startsWith('SIP/2.0 483') ? ok('max-forwards-0-483') : bad('max-forwards-0-483', `got ${r && r.split('\r\n')[0]}`);
  // a CRLF keep-alive gets no answer and keeps the connection
  c.text('\r\n\r\n');
  f = await c.next(() => true, 500);
  f === null && !c.closed ? ok('crlf-keepalive-silent') : bad('crlf-keepalive-silent', `got op ${f && f.op}`);
  // ping → identical pong (RFC 6455 §5.5.2), also between fragments of a message
  c.send(1, sip().slice(0, 40), { fin: false });
  c.send(9, 'ping-data');
  c.send(0, sip().slice(40));
  f = await c.next((x) => x.op === 10);
  f && f.data.toString() === 'ping-data' ? ok('ping-pong') : bad('ping-pong', 'no identical pong');
  c.closed ? bad('still-open', 'closed') : ok('still-open');
  c.end();

  // the bystander still works end to end (OPTIONS through wimsd and the core)
  by.text(sip());
  r = await by.sipResponse(8000);
  r && /^SIP\/2.0 [2-6]\d\d /.test(r) ? ok(`bystander-carries-on (${r.split('\r\n')[0]})`)
    : bad('bystander-carries-on', `got ${r}`);
  // close handshake: our 1000 is echoed
  by.send(8, Buffer.from([0x03, 0xe8]));
  f = await by.next((x) => x.op === 8);
  by.closeCode(f) === 1000 ? ok('close-echo-1000') : bad('close-echo-1000', `close ${by.closeCode(f)}`);
  by.end();
}

async function waitClose() {
  const c = await upgrade();
  if (c.status !== 101) { bad('upgrade', `status ${c.status}`); return; }
  console.log('connected');
  const f = await c.next((x) => x.op === 8, 30000);
  console.log(`close ${c.closeCode(f)}`);
  if (!f) bad('wait-close', 'no close frame');
  c.send(8, f ? f.data.subarray(0, 2) : Buffer.alloc(0));
  setTimeout(() => c.end(), 100);
}

(async () => {
  if (mode === 'badinput') await badinput();
  else if (mode === 'wait-close') await waitClose();
  else { console.error(`unknown mode ${mode}`); process.exit(2); }
  console.log(failures ? `${failures} failed` : 'all ok');
  process.exit(failures ? 1 : 0);
})().catch((e) => { console.log(`FAIL exception: ${e.stack}`); process.exit(1); });
