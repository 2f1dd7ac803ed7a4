// Browser test: alice calls bob with audio only (two pages of the client, Chromium's fake camera
// is a test pattern); alice turns her video on (the client adds a camera track and JsSIP sends a
// re-INVITE with a bundled video m-line through wimsd); bob's page decodes alice's video. Bob
// turns his video on too (his re-INVITE), alice decodes his. Then alice turns her video off (her
// camera leaves the sender, no re-INVITE): bob decodes no more frames from her while his video
// and the audio go on both ways; she turns it on again and bob decodes hers again.
'use strict';
const b = require('./lib');

const { rtpStats, mlines, expectVideo, waitVideoNegotiated } = require('./video');

b.run('video_call', async (browser) => {
	const alice = await b.openClient(browser, 'alice');
	const bob = await b.openClient(browser, 'bob');
	await b.register(alice, 'alice');
	await b.register(bob, 'bob');
	await b.dial(alice, 'bob');
	await b.waitWic(bob, (w) => w.call === 'incoming', 'bob: incoming call', 8000);
	await bob.click('#answer');
	await b.waitWic(bob, (w) => w.call === 'connected', 'bob: call confirmed', 8000);
	await b.waitWic(alice, (w) => w.call === 'connected', 'alice: call confirmed', 8000);
	const m0 = await mlines(alice);
	if (/m=video/.test(m0.local)) b.fail(`alice's first offer has video: ${m0.local}`);
	await b.expectAudio(alice, 'audio from bob', 10000);
	await b.expectAudio(bob, 'audio from alice', 10000);

	// alice: Video on (camera track + re-INVITE with a video m-line)
	await alice.click('#video');
	await waitVideoNegotiated(alice, 'video added (alice\'s re-INVITE)');
	await waitVideoNegotiated(bob, 'video added (alice\'s re-INVITE, bob\'s side)');
	if ((await alice.getAttribute('#video', 'aria-pressed')) !== 'true') b.fail('alice\'s video button is not pressed');
	await expectVideo(bob, 'alice\'s video', 10000);
	await b.assertLoopbackCandidates(alice);

	// bob: Video on (his camera track on the video transceiver + his re-INVITE)
	await bob.click('#video');
	await b.waitWic(bob, (w) => {
		const pc = w.pc();
		const sdp = pc.localDescription ? pc.localDescription.sdp : '';
		const i = sdp.indexOf('\r\nm=video ');
		return pc.signalingState === 'stable' && i > 0 && /\r\na=sendrecv\r\n/.test(sdp.slice(i));
	}, 'bob: video sent (his re-INVITE)', 8000);
	b.log(`bob: video on: ${JSON.stringify(await mlines(bob))}`);
	await expectVideo(alice, 'bob\'s video', 10000);

	// alice: Video off: her camera track leaves the sender (no re-INVITE: the m-line stays
	// sendrecv), bob's decoder gets nothing more from her, bob's video and the audio go on
	await alice.click('#video');
	await alice.waitForSelector('#video[aria-pressed="false"]', { timeout: 3000 }).catch(() => b.fail('alice\'s video button is still pressed'));
	await bob.waitForTimeout(500); // frames in flight
	const off0 = await rtpStats(bob);
	const aliceOff0 = await rtpStats(alice);
	await bob.waitForTimeout(2000);
	const off1 = await rtpStats(bob);
	const aliceOff1 = await rtpStats(alice);
	for (const p of [alice, bob]) require('fs').writeFileSync(require('path').join(b.OUT, `${p.wicName}-sdps.txt`), await p.evaluate(() => wic.sdps.join('\n')));
	// (Chromium drops the inbound-rtp video entry of a receiver whose sender went away: null)
	const vin = (st) => (st.videoIn ? `frames ${st.videoIn.frames}, packets ${st.videoIn.packets}` : 'no inbound video');
	const fps = off1.videoIn ? (off1.videoIn.frames - (off0.videoIn ? off0.videoIn.frames : 0)) / 2 : 0;
	const bobAudio = off1.audioIn.packets - off0.audioIn.packets;
	const aliceAudio = aliceOff1.audioIn.packets - aliceOff0.audioIn.packets;
	const aliceFps = (aliceOff1.videoIn.frames - aliceOff0.videoIn.frames) / 2;
	b.log(`after alice's video off, over 2 s: bob decodes ${fps} frames/s from alice (${vin(off0)} -> ${vin(off1)}); alice decodes ${aliceFps} frames/s from bob; audio packets received: bob +${bobAudio}, alice +${aliceAudio}; alice's video packets sent ${aliceOff0.videoOut.packets} -> ${aliceOff1.videoOut.packets}`);
	if (fps !== 0) b.fail(`bob still decodes ${fps} frames/s from alice after she turned her video off`);
	if (aliceOff1.videoOut.packets !== aliceOff0.videoOut.packets) b.fail('alice still sends video packets after turning her video off');
	if (bobAudio < 50) b.fail(`bob's audio stalled after alice's video off: +${bobAudio} packets in 2 s`);
	if (aliceAudio < 50) b.fail(`alice's audio stalled after her video off: +${aliceAudio} packets in 2 s`);
	if (aliceFps < 5) b.fail(`alice's video from bob stopped too (${aliceFps} frames/s)`);
	if (!(await alice.isHidden('#local-video'))) b.fail('alice\'s page still shows her camera preview');
	const camLive = await alice.evaluate(() => wic.pc().getSenders().some((x) => x.track && x.track.kind === 'video' && x.track.readyState === 'live'));
	if (camLive) b.fail('alice\'s camera track is still live after Video off');

	// alice: Video on again (the same transceiver, sendrecv in a re-INVITE): bob decodes again
	await alice.click('#video');
	await expectVideo(bob, 'alice\'s video again', 10000);

	await b.hangup(alice);
	await b.waitWic(bob, (w) => w.call === 'ended' && w.session === null, 'bob: call ended', 5000);
});
