// Browser test 2: alice calls volte (sipp answering AMR-WB/AMR only, echoing RTP): the gateway
// transcodes Opus <-> AMR-WB and her tone comes back (packets and audio energy received).
'use strict';
const b = require('./lib');

b.run('volte_call', async (browser) => {
	const page = await b.openClient(browser, 'alice');
	await b.register(page, 'alice');
	await b.dial(page, 'volte');
	await b.waitWic(page, (w) => w.call === 'connected' || w.call === 'failed' || w.call === 'ended',
		'alice: the call to volte confirmed or failed', 10000);
	const st = await page.evaluate(() => ({ call: wic.call, err: wic.lastError, end: wic.lastCallEnd, cause: wic.failCause }));
	if (st.call !== 'connected') b.fail(`the call to volte failed: ${JSON.stringify(st)}`);
	let s = null;
	const end = Date.now() + 6000;
	while (Date.now() < end) {
		s = await b.audioStats(page);
		if (s && s.in && s.in.packetsReceived > 0 && s.in.totalAudioEnergy > 0) break;
		await page.waitForTimeout(250);
	}
	const codec = await page.evaluate(() => wic.stats.codec);
	await b.hangup(page);
	if (s && s.in && s.in.packetsReceived > 0 && s.in.totalAudioEnergy > 0) {
		b.log(`alice: audio back from volte (codec toward the browser ${codec}): ${JSON.stringify(s.in)}`);
		return;
	}
	b.fail(`call to volte connected but no audio came back in 6 s: ${JSON.stringify(s)}`);
});
