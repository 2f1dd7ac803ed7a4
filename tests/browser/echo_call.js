// Browser test 1: alice registers over WSS, calls echo (sipp, PCMU/PCMA, echoes RTP), the call is
// confirmed, her tone comes back (getStats: packets and audio energy received), she hangs up.
// Keeps a screenshot of the client in the call (WIC_SCREENSHOT, e.g. docs/wic-call.png).
'use strict';
const b = require('./lib');

b.run('echo_call', async (browser) => {
	const target = process.env.WIC_TARGET || 'echo';
	const page = await b.openClient(browser, 'alice');
	const wsUrl = await page.inputValue('#ws-url');
	b.log(`alice: page loaded from ${b.URL_BASE}, WebSocket URL ${wsUrl}`);
	if (!/^wss?:\/\/127\.0\.0\.1:\d+\/$/.test(wsUrl)) b.fail(`unexpected default WebSocket URL ${wsUrl}`);
	await b.register(page, 'alice');
	await b.dial(page, target);
	await b.waitWic(page, (w) => w.call === 'connected', 'alice: call confirmed', 8000);
	b.log(`alice: call to ${target} confirmed`);
	await b.assertLoopbackCandidates(page);
	const s = await b.expectAudio(page, 'echo received', 10000);
	if (!s.transport || s.transport.dtlsState !== 'connected') b.fail(`DTLS not connected: ${JSON.stringify(s.transport)}`);
	// let the stats panel fill in, then keep a picture of the client in the call
	await page.waitForFunction(() => /kbit/.test(document.getElementById('st-rx').textContent), null, { timeout: 4000 })
		.catch(() => b.log('alice: stats panel shows no bitrate yet'));
	const shown = await page.evaluate(() => ['st-codec', 'st-tx', 'st-rx', 'st-loss', 'st-jitter', 'st-rtt', 'duration']
		.map((id) => `${id}=${document.getElementById(id).textContent}`).join(' '));
	b.log(`alice: panel ${shown}`);
	if (process.env.WIC_SCREENSHOT) {
		await page.screenshot({ path: process.env.WIC_SCREENSHOT, fullPage: true });
		b.log(`alice: screenshot ${process.env.WIC_SCREENSHOT}`);
	}
	await b.hangup(page);
	b.log(`alice: ${await page.textContent('#last-call')}`);
});
