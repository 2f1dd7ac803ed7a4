// Browser test 4: alice calls echo; Hold (re-INVITE a=sendonly) and Resume (sendrecv), audio
// comes back after the resume; DTMF 1, 5, # from the in-call keypad (SIP INFO, JsSIP's default).
// The shell wrapper checks that the echo phone got the re-INVITEs and the INFOs.
'use strict';
const b = require('./lib');

b.run('hold_dtmf', async (browser) => {
	const page = await b.openClient(browser, 'alice');
	await b.register(page, 'alice');
	await b.dial(page, 'echo');
	await b.waitWic(page, (w) => w.call === 'connected', 'alice: call confirmed', 8000);
	await b.expectAudio(page, 'echo before hold', 10000);
	await page.click('#hold');
	await b.waitWic(page, (w) => w.call === 'held', 'alice: on hold', 6000);
	const pressed = await page.getAttribute('#hold', 'aria-pressed');
	b.log(`alice: on hold (button "${await page.textContent('#hold')}", aria-pressed=${pressed})`);
	if (pressed !== 'true') b.fail('the hold button does not show the held state');
	await page.waitForTimeout(500);
	await page.click('#hold');
	await b.waitWic(page, (w) => w.call === 'connected', 'alice: resumed', 6000);
	const rx = async () => { const st = await b.audioStats(page); return st && st.in ? st.in.packetsReceived : 0; };
	const before = await rx();
	await page.waitForTimeout(1000);
	const after = await rx();
	b.log(`alice: resumed; packets received ${before} -> ${after}`);
	if (!(after > before)) b.fail('no audio comes back after the resume');
	for (const k of ['1', '5', '#']) {
		await page.click(`#dtmf button[data-dtmf="${k}"]`);
		await page.waitForTimeout(400);
	}
	await b.waitWic(page, (w) => w.dtmfSent === '15#', 'alice: DTMF sent', 3000);
	b.log(`alice: ${await page.textContent('#dtmf-sent')}`);
	await page.waitForTimeout(800); // the INFO transactions complete
	await b.hangup(page);
});
