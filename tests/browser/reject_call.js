// Browser test: alice calls bob (two pages of the client), bob's page rings and he rejects the
// call (the client answers 486 Busy Here); alice's page shows "Call failed: 486 Busy Here." in
// its alert region, bob's page is back at the dial pad, and the gateway's media controller holds
// no session any more (`wims-ng list` over the lab's ng port, when WIMS_NG names the tool).
'use strict';
const { execFileSync } = require('child_process');
const b = require('./lib');

// the Call-IDs wimsd's media gateway holds (ng `list`), or null without wims-ng
function ngCalls() {
	const ng = process.env.WIMS_NG;
	if (!ng) return null;
	const out = execFileSync(ng, ['-s', '127.0.0.1:2223', '-t', '3000', 'list'], { encoding: 'utf8' });
	const m = /"calls":\[([^\]]*)\]/.exec(out);
	if (!m) b.fail(`wims-ng list: no calls list in ${out.trim()}`);
	return [...m[1].matchAll(/"([^"]+)"/g)].map((x) => x[1]);
}

b.run('reject_call', async (browser) => {
	const alice = await b.openClient(browser, 'alice');
	const bob = await b.openClient(browser, 'bob');
	await b.register(alice, 'alice');
	await b.register(bob, 'bob');
	await b.dial(alice, 'bob');
	await b.waitWic(bob, (w) => w.call === 'incoming', 'bob: incoming call', 8000);
	await b.waitWic(alice, (w) => w.call === 'ringing', 'alice: ringing (180)', 4000);
	const ringing = await bob.evaluate(() => wic.ringing);
	if (!ringing) b.fail('bob\'s page does not ring');
	if (!(await bob.isVisible('#incoming'))) b.fail('bob\'s incoming-call panel is not shown');
	const during = ngCalls();
	if (during) {
		b.log(`gateway sessions while bob's page rings: ${JSON.stringify(during)}`);
		if (!during.length) b.fail('the gateway lists no session while the call rings (the check after the rejection would prove nothing)');
	}

	await bob.click('#reject');
	await b.waitWic(alice, (w) => w.call === 'failed' && w.session === null, 'alice: call failed', 5000);
	await b.waitWic(bob, (w) => w.session === null && w.call !== 'incoming', 'bob: back to idle', 5000);

	const aliceErr = (await alice.textContent('#error')).trim();
	const aliceShown = await alice.isVisible('#error');
	const aliceState = await alice.evaluate(() => ({ err: wic.lastError, end: wic.lastCallEnd, cause: wic.failCause }));
	b.log(`alice: alert "${aliceErr}" (visible=${aliceShown}), state ${JSON.stringify(aliceState)}`);
	if (!aliceShown || !/\b486 Busy Here\b/.test(aliceErr)) b.fail(`alice's page does not show the rejection with its SIP status: "${aliceErr}"`);
	if (!/486/.test(await alice.textContent('#last-call'))) b.fail('alice\'s last-call line does not say 486');
	if (!(await alice.isVisible('#dial'))) b.fail('alice\'s dial pad is not back');

	const bobState = await bob.evaluate(() => ({ call: wic.call, ringing: wic.ringing, end: wic.lastCallEnd, err: wic.lastError }));
	b.log(`bob: state ${JSON.stringify(bobState)}`);
	if (bobState.ringing) b.fail('bob\'s page still rings after rejecting');
	if (await bob.isVisible('#incoming')) b.fail('bob\'s incoming-call panel is still shown');
	if (await bob.isVisible('#incall')) b.fail('bob\'s in-call panel is shown');
	if (!(await bob.isVisible('#dial'))) b.fail('bob\'s dial pad is not back');
	if (await bob.isDisabled('#call')) b.fail('bob\'s Call button is disabled after the rejection');
	if (bobState.err) b.fail(`bob's page shows an error after rejecting: ${bobState.err}`);

	// the gateway releases the media of both passes (alice's leg and bob's leg)
	let left = ngCalls();
	for (let i = 0; left && left.length && i < 20; i++) {
		await alice.waitForTimeout(100);
		left = ngCalls();
	}
	if (left) {
		b.log(`gateway sessions after the rejection: ${JSON.stringify(left)}`);
		if (left.length) b.fail(`the gateway still holds media sessions after the rejection: ${JSON.stringify(left)}`);
	}

	// both pages can still call: bob calls alice back, alice answers, bob hangs up
	await b.dial(bob, 'alice');
	await b.waitWic(alice, (w) => w.call === 'incoming', 'alice: incoming call back from bob', 8000);
	await alice.click('#answer');
	await b.waitWic(bob, (w) => w.call === 'connected', 'bob: call back confirmed', 8000);
	await b.expectAudio(bob, 'audio from alice', 10000);
	await b.hangup(bob);
	await b.waitWic(alice, (w) => w.call === 'ended' && w.session === null, 'alice: call back ended', 5000);
});
