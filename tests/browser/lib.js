// Helpers of the browser tests: Debian's Chromium driven by playwright-core (from web/node_modules),
// kept on loopback (see ../../shared/LAB-NOTES.md), with a fake microphone playing a steady tone.
// Run by tests/integration/test_browser_*.sh inside a network namespace that has only lo.
'use strict';
const fs = require('fs');
const path = require('path');

const SRC = path.resolve(__dirname, '../..');
const WEB = path.join(SRC, 'web');
const { chromium } = require(path.join(WEB, 'node_modules', 'playwright-core'));

const OUT = process.env.WIMS_TEST_DIR || fs.mkdtempSync('/tmp/wims-browser-');
const URL_BASE = process.env.WIC_URL || 'https://127.0.0.1:8443/';
const PASSWORD = 'wims-lab';
const t0 = Date.now();

function log(...a) {
	console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...a);
}
function fail(msg) {
	const e = new Error(msg);
	e.testFailure = true;
	throw e;
}

// a 16-bit mono PCM WAV of a steady tone (Chromium loops it as the microphone)
function toneWav(file, hz = 440, seconds = 4, rate = 16000) {
	const n = seconds * rate;
	const b = Buffer.alloc(44 + n * 2);
	b.write('RIFF', 0); b.writeUInt32LE(36 + n * 2, 4); b.write('WAVE', 8);
	b.write('fmt ', 12); b.writeUInt32LE(16, 16); b.writeUInt16LE(1, 20); b.writeUInt16LE(1, 22);
	b.writeUInt32LE(rate, 24); b.writeUInt32LE(rate * 2, 28); b.writeUInt16LE(2, 32); b.writeUInt16LE(16, 34);
	b.write('data', 36); b.writeUInt32LE(n * 2, 40);
	for (let i = 0; i < n; i++) b.writeInt16LE(Math.round(12000 * Math.sin((2 * Math.PI * hz * i) / rate)), 44 + i * 2);
	fs.writeFileSync(file, b);
	return file;
}

// Playwright passes its own --disable-features first and Chromium keeps only the last one:
// repeat Playwright's list (read from the installed playwright-core) with ours.
function playwrightDisabledFeatures() {
	const fallback = ['AvoidUnnecessaryBeforeUnloadCheckSync', 'DestroyProfileOnBrowserClose', 'HttpsUpgrades',
		'HttpsFirstBalancedModeAutoEnable', 'LensOverlay', 'MediaRouter', 'PaintHolding', 'ThirdPartyStoragePartitioning',
		'AvoidCorsURLLoaderRestartOnRedirect', 'OptimizationHints', 'NetworkTimeServiceQuerying', 'AimEnabled',
		'PreconnectToSearch'];
	try {
		const lib = path.join(WEB, 'node_modules', 'playwright-core', 'lib');
		for (const f of ['coreBundle.js', 'server/chromium/chromiumSwitches.js']) {
			const p = path.join(lib, f);
			if (!fs.existsSync(p)) continue;
			const s = fs.readFileSync(p, 'utf8');
			const m = /disabledFeatures = \[([\s\S]*?)\];/.exec(s) || /const disabledFeatures = [^[]*\[([\s\S]*?)\]/.exec(s);
			if (!m) continue;
			const list = [...m[1].replace(/\/\/[^\n]*/g, '').matchAll(/["']([A-Za-z0-9_]+)["']/g)].map((x) => x[1]);
			if (list.length) return list;
		}
	} catch (e) { /* fall back */ }
	return fallback;
}

async function launch(opts = {}) {
	const wav = toneWav(path.join(OUT, 'tone.wav'), opts.toneHz || 440);
	const ours = ['WebRtcHideLocalIpsWithMdns', 'DialMediaRouteProvider', 'Translate',
		'CertificateTransparencyComponentUpdater', 'MediaRouter', 'OptimizationHints', 'InterestFeedContentSuggestions',
		'AutofillServerCommunication'];
	const features = [...new Set([...playwrightDisabledFeatures(), ...ours])];
	const args = [
		'--no-sandbox',
		'--use-fake-device-for-media-stream',
		'--use-fake-ui-for-media-stream',
		`--use-file-for-fake-audio-capture=${wav}`,
		'--allow-loopback-in-peer-connection',
		'--autoplay-policy=no-user-gesture-required',
		'--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1',
		'--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync',
		'--disable-domain-reliability', '--disable-client-side-phishing-detection', '--no-default-browser-check',
		'--disable-background-networking', '--ignore-certificate-errors',
		'--webrtc-ip-handling-policy=default',
		`--disable-features=${features.join(',')}`,
	];
	const browser = await chromium.launch({
		executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
		headless: true,
		args,
	});
	return browser;
}

// a page of the client with a phone-sized viewport; browser console lines go to the test log
async function openClient(browser, name, query = '') {
	const ctx = await browser.newContext({
		viewport: { width: 390, height: 844 },
		deviceScaleFactor: 1,
		ignoreHTTPSErrors: true,
		permissions: ['microphone', 'camera'],
	});
	const page = await ctx.newPage();
	page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') log(`${name} console.${m.type()}:`, m.text()); });
	page.on('pageerror', (e) => log(`${name} page error:`, e.message));
	page.on('requestfailed', (r) => log(`${name} request failed:`, r.url(), r.failure() && r.failure().errorText));
	await page.goto(URL_BASE + (query ? '?' + query : ''), { waitUntil: 'load', timeout: 10000 });
	page.wicName = name;
	return page;
}

async function register(page, user, password = PASSWORD, opts = {}) {
	await page.fill('#impu', `sip:${user}@ims.lab`);
	await page.fill('#impi', user);
	await page.fill('#password', password);
	if (opts.rawAudio !== false) await page.uncheck('#audio-proc');
	await page.click('#register');
	if (opts.expectFail) return;
	await waitWic(page, (w) => w.reg === 'registered', `${page.wicName} registered`, opts.timeout || 8000);
	log(`${page.wicName}: registered (${await page.textContent('#reg-state')})`);
}

// poll window.wic in the page until pred(wic) is true (pred is serialised into the page)
async function waitWic(page, pred, what, timeout = 10000) {
	try {
		// a function, not a string: the page's CSP forbids eval in the page
		const fn = new Function(`return (${pred.toString()})(window.wic);`); // eslint-disable-line no-new-func
		await page.waitForFunction(fn, null, { timeout, polling: 100 });
	} catch (e) {
		const st = await page.evaluate(() => ({ reg: wic.reg, call: wic.call, err: wic.lastError, end: wic.lastCallEnd,
			cause: wic.failCause, history: wic.history.join(' ') })).catch(() => ({}));
		const sdps = await page.evaluate(() => wic.sdps.join('\n')).catch(() => '');
		if (sdps) log(`${page.wicName}: SDPs of the calls:\n${sdps}`);
		fail(`${/Timeout/i.test(e.message) ? `timeout (${timeout} ms)` : e.message} waiting for ${what}; page state ${JSON.stringify(st)}`);
	}
}

async function dial(page, target, opts = {}) {
	await page.fill('#target', target);
	if (opts.video) await page.check('#with-video');
	await page.click('#call');
}

// RTP counters of the call from getStats(): audio inbound/outbound, and the transport
async function audioStats(page) {
	return page.evaluate(async () => {
		const pc = wic.pc();
		if (!pc) return null;
		const out = { in: null, out: null, transport: null, pair: null };
		(await pc.getStats()).forEach((r) => {
			if (r.type === 'inbound-rtp' && r.kind === 'audio') out.in = { packetsReceived: r.packetsReceived, totalAudioEnergy: r.totalAudioEnergy || 0, audioLevel: r.audioLevel || 0, packetsLost: r.packetsLost, jitter: r.jitter };
			if (r.type === 'outbound-rtp' && r.kind === 'audio') out.out = { packetsSent: r.packetsSent };
			if (r.type === 'transport') out.transport = { dtlsState: r.dtlsState, srtpCipher: r.srtpCipher, dtlsRole: r.dtlsRole };
			if (r.type === 'candidate-pair' && r.nominated) out.pair = { state: r.state, rtt: r.currentRoundTripTime };
		});
		return out;
	});
}

// wait until audio comes in with energy (echo or the other party's tone)
async function expectAudio(page, what, timeout = 10000) {
	const end = Date.now() + timeout;
	let s = null;
	while (Date.now() < end) {
		s = await audioStats(page);
		if (s && s.in && s.in.packetsReceived > 0 && s.in.totalAudioEnergy > 0) {
			log(`${page.wicName}: ${what}: ${JSON.stringify(s)}`);
			return s;
		}
		await page.waitForTimeout(250);
	}
	fail(`${page.wicName}: no audio (${what}) within ${timeout} ms: ${JSON.stringify(s)}`);
}

// the candidates the page offered: only UDP ones on 127.0.0.1 (or ::1) may go to the gateway
async function assertLoopbackCandidates(page) {
	const sdp = await page.evaluate(() => { const pc = wic.pc(); return pc && pc.localDescription ? pc.localDescription.sdp : ''; });
	const cands = sdp.split(/\r?\n/).filter((l) => l.startsWith('a=candidate:'));
	const bad = cands.filter((l) => !/ (127\.\d+\.\d+\.\d+|::1) \d+ typ host/.test(l));
	if (bad.length) fail(`${page.wicName} offered candidates off loopback: ${bad.join(' | ')}`);
	log(`${page.wicName}: ${cands.length} candidate(s), all on loopback`);
}

async function hangup(page) {
	await page.click('#hangup');
	await waitWic(page, (w) => w.call === 'ended' && w.session === null, `${page.wicName} call ended`, 5000);
}

// run a test body; exit 0 (pass), 1 (fail) or 0 with SKIP printed (skip)
function run(name, body) {
	let browser = null;
	const finish = async (code) => {
		if (browser) await browser.close().catch(() => {});
		log(`${name}: ${code === 0 ? 'done' : 'FAILED'} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
		process.exit(code);
	};
	const timer = setTimeout(() => { log(`${name}: overall timeout`); finish(1); }, Number(process.env.WIC_TEST_TIMEOUT_MS || 60000));
	(async () => {
		browser = await launch();
		log(`chromium ${browser.version()} up`);
		await body(browser);
	})().then(() => { clearTimeout(timer); finish(0); }, (e) => {
		clearTimeout(timer);
		log(`${name}: FAIL: ${e.testFailure ? e.message : e.stack}`);
		finish(1);
	});
}

module.exports = {
	SRC, OUT, URL_BASE, PASSWORD, log, fail, launch, openClient, register, waitWic, dial, audioStats, expectAudio,
	assertLoopbackCandidates, hangup, run,
};
