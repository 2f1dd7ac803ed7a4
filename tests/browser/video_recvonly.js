// Browser test: alice calls bob with audio only (two pages of the client, through wimsd as
// P-CSCF with its media gateway, media anchored on both passes); alice turns her video on (her
// re-INVITE), bob turns his on (his re-INVITE); then alice re-offers her video m-line as recvonly
// (her transceiver's direction, a re-INVITE): bob decodes no more frames from her, she still
// decodes his, and the audio goes on both ways (Chromium used to stop demuxing the audio here:
// "Failed to demux RTP packet: PT=111", the gateway's SDP had no a=ssrc and Chromium lost its
// payload-type demux of unsignalled SSRCs after the re-offer; the gateway now rewrites the SSRC
// of what it sends a browser and announces it). Alice re-offers sendrecv: bob decodes her again.
'use strict';
const b = require('./lib');

const { rtpStats, mlines, expectVideo, waitVideoNegotiated } = require('./video');

// alice's video transceiver direction, then her re-INVITE; waits until both pages are stable with
// the video m-line in that direction on alice's side
async function aliceVideoDirection(alice, bob, dir) {
	await alice.evaluate((d) => {
		const pc = wic.pc();
		const tr = pc.getTransceivers().find((t) => t.receiver.track && t.receiver.track.kind === 'video');
		tr.direction = d;
		wic.session.renegotiate({ rtcOfferConstraints: { offerToReceiveAudio: true, offerToReceiveVideo: true } });
	}, dir);
	await alice.waitForFunction((d) => {
		const pc = wic.pc();
		const sdp = pc.localDescription ? pc.localDescription.sdp : '';
		const i = sdp.indexOf('\r\nm=video ');
		return pc.signalingState === 'stable' && i > 0 && sdp.slice(i).includes(`\r\na=${d}\r\n`);
	}, dir, { timeout: 8000, polling: 100 }).catch(() => {});
	await alice.waitForTimeout(200);
	const m = await mlines(alice);
	const i = m.local.indexOf('m=video');
	if (m.state !== 'stable' || i < 0 || !m.local.slice(i).includes(`a=${dir}`)) b.fail(`alice's video is not ${dir} after her re-INVITE: ${JSON.stringify(m)}`);
	await b.waitWic(bob, (w) => w.pc().signalingState === 'stable', 'bob: stable after alice\'s re-INVITE', 8000);
	b.log(`alice: video ${dir}: ${JSON.stringify(m)}; bob: ${JSON.stringify(await mlines(bob))}`);
}

// the audio packets both pages receive over 2 s, and the video frames they decode
async function flow(alice, bob) {
	const a0 = await rtpStats(alice), b0 = await rtpStats(bob);
	await bob.waitForTimeout(2000);
	const a1 = await rtpStats(alice), b1 = await rtpStats(bob);
	const frames = (s0, s1) => (s1.videoIn ? s1.videoIn.frames - (s0.videoIn ? s0.videoIn.frames : 0) : 0);
	return { aliceAudio: a1.audioIn.packets - a0.audioIn.packets, bobAudio: b1.audioIn.packets - b0.audioIn.packets,
		aliceFrames: frames(a0, a1), bobFrames: frames(b0, b1), bob: b1 };
}

// every m-line of the page's remote description (the gateway's SDP) announces one SSRC
async function assertSsrcAnnounced(page) {
	const sdp = await page.evaluate(() => wic.pc().remoteDescription.sdp);
	const sections = sdp.split(/\r\n(?=m=)/).slice(1).filter((s) => !/^m=\w+ 0 /.test(s));
	for (const s of sections) {
		if (!/\r\na=ssrc:\d+ cname:wims-[0-9a-f]{16}(\r\n|$)/.test(s)) b.fail(`${page.wicName}: the gateway's ${s.slice(2, 7)} m-line announces no SSRC: ${s}`);
	}
}

b.run('video_recvonly', async (browser) => {
	const alice = await b.openClient(browser, 'alice');
	const bob = await b.openClient(browser, 'bob');
	await b.register(alice, 'alice');
	await b.register(bob, 'bob');
	await b.dial(alice, 'bob');
	await b.waitWic(bob, (w) => w.call === 'incoming', 'bob: incoming call', 8000);
	await bob.click('#answer');
	await b.waitWic(bob, (w) => w.call === 'connected', 'bob: call confirmed', 8000);
	await b.waitWic(alice, (w) => w.call === 'connected', 'alice: call confirmed', 8000);
	await b.expectAudio(alice, 'audio from bob', 10000);
	await b.expectAudio(bob, 'audio from alice', 10000);

	// alice's video on, then bob's
	await alice.click('#video');
	await waitVideoNegotiated(alice, 'video added (alice\'s re-INVITE)');
	await waitVideoNegotiated(bob, 'video added (alice\'s re-INVITE, bob\'s side)');
	await expectVideo(bob, 'alice\'s video', 10000);
	await bob.click('#video');
	await b.waitWic(bob, (w) => {
		const pc = w.pc();
		const sdp = pc.localDescription ? pc.localDescription.sdp : '';
		const i = sdp.indexOf('\r\nm=video ');
		return pc.signalingState === 'stable' && i > 0 && /\r\na=sendrecv\r\n/.test(sdp.slice(i));
	}, 'bob: video sent (his re-INVITE)', 8000);
	await expectVideo(alice, 'bob\'s video', 10000);
	await assertSsrcAnnounced(alice);
	await assertSsrcAnnounced(bob);

	// alice re-offers her video recvonly: the audio goes on both ways, bob's video to her too
	await aliceVideoDirection(alice, bob, 'recvonly');
	await bob.waitForTimeout(500); // frames in flight
	const r = await flow(alice, bob);
	for (const p of [alice, bob]) require('fs').writeFileSync(require('path').join(b.OUT, `${p.wicName}-sdps.txt`), await p.evaluate(() => wic.sdps.join('\n')));
	b.log(`after alice's recvonly re-offer, over 2 s: audio packets received: alice +${r.aliceAudio}, bob +${r.bobAudio}; frames decoded: alice ${r.aliceFrames} (bob's), bob ${r.bobFrames} (alice's); bob ${JSON.stringify(r.bob)}`);
	if (r.bobAudio < 50) b.fail(`bob's audio stalled after alice's recvonly re-offer: +${r.bobAudio} packets in 2 s`);
	if (r.aliceAudio < 50) b.fail(`alice's audio stalled after her recvonly re-offer: +${r.aliceAudio} packets in 2 s`);
	if (r.aliceFrames < 10) b.fail(`alice's video from bob stopped after her recvonly re-offer (${r.aliceFrames} frames in 2 s)`);
	if (r.bobFrames !== 0) b.fail(`bob still decodes alice's video after her recvonly re-offer (${r.bobFrames} frames in 2 s)`);
	await assertSsrcAnnounced(alice);
	await assertSsrcAnnounced(bob);

	// alice re-offers sendrecv: bob decodes her video again, the audio still goes both ways
	await aliceVideoDirection(alice, bob, 'sendrecv');
	await expectVideo(bob, 'alice\'s video again', 10000);
	const s = await flow(alice, bob);
	b.log(`after alice's sendrecv re-offer, over 2 s: audio packets received: alice +${s.aliceAudio}, bob +${s.bobAudio}; frames decoded: alice ${s.aliceFrames}, bob ${s.bobFrames}`);
	if (s.bobAudio < 50 || s.aliceAudio < 50) b.fail(`audio stalled after alice's sendrecv re-offer: alice +${s.aliceAudio}, bob +${s.bobAudio} packets in 2 s`);
	if (s.aliceFrames < 10 || s.bobFrames < 10) b.fail(`video stalled after alice's sendrecv re-offer: alice ${s.aliceFrames}, bob ${s.bobFrames} frames in 2 s`);

	await b.hangup(alice);
	await b.waitWic(bob, (w) => w.call === 'ended' && w.session === null, 'bob: call ended', 5000);
});
