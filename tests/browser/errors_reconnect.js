// Browser test 5: a wrong password shows the error (401/403) and leaves the page unregistered;
// then alice registers with the right one, the gateway restarts under her (the shell wrapper
// restarts wimsd when WIMS_TEST_DIR/restart-now appears) and the page says it is reconnecting,
// reconnects and registers again by itself.
'use strict';
const fs = require('fs');
const path = require('path');
const b = require('./lib');

b.run('errors_reconnect', async (browser) => {
	const page = await b.openClient(browser, 'alice');
	await b.register(page, 'alice', 'not-the-password', { expectFail: true });
	await b.waitWic(page, (w) => w.reg === 'failed', 'alice: registration refused', 8000);
	const err = await page.textContent('#error');
	b.log(`alice: wrong password -> "${err}" / state "${await page.textContent('#reg-state')}"`);
	if (!/(401|403)/.test(err) || !/password/i.test(err)) b.fail(`the error does not say wrong password: "${err}"`);
	if (!(await page.isVisible('#error'))) b.fail('the error is not visible');

	await page.fill('#password', b.PASSWORD);
	await page.click('#register');
	await b.waitWic(page, (w) => w.reg === 'registered', 'alice registered', 8000);
	if (await page.isVisible('#error')) b.fail('the old error is still shown after registering');
	b.log('alice: registered; restarting the gateway');
	const n0 = await page.evaluate(() => wic.history.length);
	fs.writeFileSync(path.join(b.OUT, 'restart-now'), '');
	await b.waitWic(page, (w) => w.reg === 'reconnecting', 'alice: reconnecting shown', 8000);
	b.log(`alice: "${await page.textContent('#reg-state')}"`);
	await b.waitWic(page, (w) => w.reg === 'registered', 'alice registered again', 15000);
	const hist = await page.evaluate((n) => wic.history.slice(n).join(' '), n0);
	b.log(`alice: registered again after the restart (${hist})`);
	// and the new registration carries a call
	await b.dial(page, 'echo');
	await b.waitWic(page, (w) => w.call === 'connected', 'alice: call after the reconnect', 8000);
	await b.hangup(page);
	b.log('alice: call after the reconnect ok');
});
