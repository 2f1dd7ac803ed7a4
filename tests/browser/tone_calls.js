// Tone tests of the transcoding gateway (issue 5): alice in Chromium calls volte (the lab's
// AMR-only phone, played by wims-rtptone/ffmpeg beside sipp), once per variant, driven by the
// shell through files in WIMS_TEST_DIR:
//   the shell writes phone-<i>.ready when the phone of call i answers, tone-<i>.go when the
//   phone starts sending (TONE_MODE=recv), done-<i> when it has heard enough (TONE_MODE=send).
// TONE_MODE=recv  the page records the remote track through WebAudio (MediaStreamAudioSourceNode
//                 -> ScriptProcessorNode, the AudioContext's rate) for TONE_RECORD_MS, starting
//                 TONE_SETTLE_MS after tone-<i>.go, and writes rx-<i>.wav for tone_check.py;
// TONE_MODE=send  the fake microphone plays TONE_HZ at TONE_DBFS (0 dBFS = full-scale sine; the
//                 file lib.js made is rewritten before the first getUserMedia) with the page's
//                 audio processing off (AGC/EC/NS, #audio-proc unchecked by b.register).
// TONE_CALLS (default 1) calls in a row.
'use strict';
const fs = require('fs');
const path = require('path');
const b = require('./lib');

const MODE = process.env.TONE_MODE || 'recv';
const CALLS = Number(process.env.TONE_CALLS || 1);
const HZ = Number(process.env.TONE_HZ || 700);
const DBFS = Number(process.env.TONE_DBFS || -20);
const SETTLE_MS = Number(process.env.TONE_SETTLE_MS || 1500);
const RECORD_MS = Number(process.env.TONE_RECORD_MS || 3000);

function wav16(file, samples, rate) {
	const n = samples.length;
	const buf = Buffer.alloc(44 + n * 2);
	buf.write('RIFF', 0); buf.writeUInt32LE(36 + n * 2, 4); buf.write('WAVE', 8);
	buf.write('fmt ', 12); buf.writeUInt32LE(16, 16); buf.writeUInt16LE(1, 20); buf.writeUInt16LE(1, 22);
	buf.writeUInt32LE(rate, 24); buf.writeUInt32LE(rate * 2, 28); buf.writeUInt16LE(2, 32); buf.writeUInt16LE(16, 34);
	buf.write('data', 36); buf.writeUInt32LE(n * 2, 40);
	for (let i = 0; i < n; i++) buf.writeInt16LE(Math.max(-32768, Math.min(32767, samples[i])), 44 + i * 2);
	fs.writeFileSync(file, buf);
}

// the fake microphone: 4 s (a whole number of cycles for integer HZ, so the loop is seamless) at 48 kHz
function micTone() {
	const rate = 48000, amp = 32767 * Math.pow(10, DBFS / 20);
	const s = new Array(4 * rate);
	for (let i = 0; i < s.length; i++) s[i] = Math.round(amp * Math.sin((2 * Math.PI * HZ * i) / rate));
	wav16(path.join(b.OUT, 'tone.wav'), s, rate);
	b.log(`fake microphone: ${HZ} Hz at ${DBFS} dBFS (amplitude ${amp.toFixed(0)}), 48 kHz`);
}

async function waitFile(name, timeout) {
	const f = path.join(b.OUT, name);
	const end = Date.now() + timeout;
	while (!fs.existsSync(f)) {
		if (Date.now() > end) b.fail(`timeout (${timeout} ms) waiting for the shell's ${name}`);
		await new Promise((r) => setTimeout(r, 100));
	}
}

// record the remote audio track in the page: Int16 samples at the AudioContext's rate
async function recordRemote(page, ms) {
	return page.evaluate(async (ms) => {
		const pc = wic.pc();
		const rx = pc && pc.getReceivers().find((r) => r.track && r.track.kind === 'audio');
		if (!rx) return { err: 'no remote audio track' };
		const ctx = new AudioContext();
		await ctx.resume();
		const src = ctx.createMediaStreamSource(new MediaStream([rx.track]));
		const sp = ctx.createScriptProcessor(4096, 1, 1);
		const mute = ctx.createGain();
		mute.gain.value = 0;
		const chunks = [];
		sp.onaudioprocess = (e) => chunks.push(new Float32Array(e.inputBuffer.getChannelData(0)));
		src.connect(sp); sp.connect(mute); mute.connect(ctx.destination);
		await new Promise((r) => setTimeout(r, ms));
		sp.disconnect(); src.disconnect();
		const rate = ctx.sampleRate;
		await ctx.close();
		const out = [];
		for (const c of chunks) for (const v of c) out.push(Math.round(v * 32767));
		return { rate, samples: out };
	}, ms);
}

async function oneCall(page, i) {
	await waitFile(`phone-${i}.ready`, 30000);
	await b.dial(page, 'volte');
	await b.waitWic(page, (w) => w.call === 'connected' || w.call === 'failed' || w.call === 'ended',
		`call ${i} to volte confirmed or failed`, 10000);
	const st = await page.evaluate(() => ({ call: wic.call, err: wic.lastError, cause: wic.failCause }));
	if (st.call !== 'connected') {
		b.log(`SDPs of the calls:\n${await page.evaluate(() => wic.sdps.join('\n')).catch(() => '')}`);
		b.fail(`call ${i} to volte failed: ${JSON.stringify(st)}`);
	}
	if (MODE === 'recv') {
		await waitFile(`tone-${i}.go`, 15000);
		await page.waitForTimeout(SETTLE_MS);
		const r = await recordRemote(page, RECORD_MS);
		if (r.err) b.fail(`call ${i}: ${r.err}`);
		wav16(path.join(b.OUT, `rx-${i}.wav`), r.samples, r.rate);
		b.log(`call ${i}: recorded ${(r.samples.length / r.rate).toFixed(2)} s of the remote track at ${r.rate} Hz -> rx-${i}.wav`);
	} else {
		await waitFile(`done-${i}`, 20000);
	}
	const s = await b.audioStats(page);
	const codec = await page.evaluate(() => wic.stats.codec);
	b.log(`call ${i}: codec toward the browser ${codec}; ${JSON.stringify(s)}`);
	await b.hangup(page);
}

b.run(`tone_calls(${MODE})`, async (browser) => {
	if (MODE === 'send') micTone();
	const page = await b.openClient(browser, 'alice');
	await b.register(page, 'alice');
	for (let i = 0; i < CALLS; i++) await oneCall(page, i);
});
