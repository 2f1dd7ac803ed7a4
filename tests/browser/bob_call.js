// Browser test 3: alice and bob (two pages of the client) register; alice calls bob, bob's page
// rings (WebAudio) and he answers; audio goes both ways (each hears the other's tone); bob hangs up.
'use strict';
const b = require('./lib');

b.run('bob_call', async (browser) => {
	const alice = await b.openClient(browser, 'alice');
	const bob = await b.openClient(browser, 'bob');
	await b.register(alice, 'alice');
	await b.register(bob, 'bob');
	await b.dial(alice, 'bob');
	await b.waitWic(bob, (w) => w.call === 'incoming', 'bob: incoming call', 8000);
	const from = await bob.textContent('#incoming-from');
	const ringing = await bob.evaluate(() => wic.ringing);
	b.log(`bob: incoming call from ${from}, ringing=${ringing}`);
	if (!/alice@ims\.lab/.test(from)) b.fail(`bob sees the call from "${from}", not alice`);
	if (!ringing) b.fail('bob\'s page does not ring');
	await b.waitWic(alice, (w) => w.call === 'ringing', 'alice: ringing (180)', 4000);
	await bob.click('#answer');
	await b.waitWic(bob, (w) => w.call === 'connected', 'bob: call confirmed', 8000);
	await b.waitWic(alice, (w) => w.call === 'connected', 'alice: call confirmed', 8000);
	b.log('alice and bob: call confirmed');
	await b.assertLoopbackCandidates(alice);
	await b.assertLoopbackCandidates(bob);
	await b.expectAudio(alice, 'audio from bob', 10000);
	await b.expectAudio(bob, 'audio from alice', 10000);
	await bob.click('#hangup');
	await b.waitWic(bob, (w) => w.call === 'ended' && w.session === null, 'bob: call ended', 5000);
	await b.waitWic(alice, (w) => w.call === 'ended' && w.session === null, 'alice: call ended by bob', 5000);
	b.log(`alice: ${await alice.textContent('#last-call')}`);
});
