// Browser: registration with a web-credentials token (TS 24.371 §6.1, RFC 8898): the page
// gets a JSON Web Token (WIC_TOKEN, made by the test as a WAF would) and no password; it
// registers through wimsd (P-CSCF, token mode), calls echo and hears it; a bad token
// (WIC_BAD_TOKEN) shows a clear refusal.
'use strict';
const b = require('./lib');

b.run('token_register', async (browser) => {
	const bad = await b.openClient(browser, 'mallory');
	await bad.fill('#token', process.env.WIC_BAD_TOKEN);
	await b.register(bad, 'alice', '', { expectFail: true });
	await b.waitWic(bad, (w) => w.reg === 'failed' || !!w.lastError, 'mallory refused', 8000);
	const err = await bad.evaluate(() => wic.lastError);
	if (!/403/.test(err)) b.fail(`a bad token was not refused with 403: "${err}"`);
	b.log(`mallory: refused: ${err}`);

	const page = await b.openClient(browser, 'alice');
	await page.fill('#token', process.env.WIC_TOKEN);
	await b.register(page, 'alice', '');
	await b.dial(page, 'echo');
	await b.waitWic(page, (w) => w.call === 'connected', 'alice: call to echo confirmed', 10000);
	await b.expectAudio(page, 'echo back', 8000);
	await b.hangup(page);
});
