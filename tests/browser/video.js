// Video helpers shared by the browser tests that turn video on and off: RTP counters of a page's
// call, its m-lines, waiting for decoded frames and for a video re-INVITE to be through.
'use strict';
const b = require('./lib');

// the inbound and outbound RTP counters of the page's call, per kind
async function rtpStats(page) {
	return page.evaluate(async () => {
		const pc = wic.pc();
		if (!pc) return null;
		const out = { audioIn: null, videoIn: null, videoOut: null };
		(await pc.getStats()).forEach((r) => {
			if (r.type === 'inbound-rtp' && r.kind === 'audio') out.audioIn = { packets: r.packetsReceived, energy: r.totalAudioEnergy || 0 };
			if (r.type === 'inbound-rtp' && r.kind === 'video') {
				out.videoIn = { packets: r.packetsReceived, frames: r.framesDecoded || 0, fps: r.framesPerSecond || 0,
					w: r.frameWidth || 0, h: r.frameHeight || 0, bytes: r.bytesReceived, codec: r.codecId };
			}
			if (r.type === 'transport') out.transport = { packets: r.packetsReceived, bytes: r.bytesReceived };
			if (r.type === 'outbound-rtp' && r.kind === 'audio') out.audioOut = { packets: r.packetsSent };
			if (r.type === 'outbound-rtp' && r.kind === 'video') out.videoOut = { packets: r.packetsSent, frames: r.framesEncoded || 0 };
		});
		return out;
	});
}

// the m-lines of the page's current remote and local descriptions
async function mlines(page) {
	return page.evaluate(() => {
		const pc = wic.pc();
		const m = (d) => (d ? d.sdp.split(/\r?\n/).filter((l) => /^m=|^a=(sendrecv|sendonly|recvonly|inactive)$|^a=group:BUNDLE/.test(l)).join(' | ') : '');
		return { local: m(pc.localDescription), remote: m(pc.remoteDescription), state: pc.signalingState };
	});
}

// wait until the page decodes video frames, and more a second later
async function expectVideo(page, what, timeout = 10000) {
	const end = Date.now() + timeout;
	let s = null;
	while (Date.now() < end) {
		s = await rtpStats(page);
		if (s && s.videoIn && s.videoIn.frames > 0) {
			await page.waitForTimeout(1000);
			const s2 = await rtpStats(page);
			if (s2.videoIn.frames > s.videoIn.frames) {
				b.log(`${page.wicName}: ${what}: frames ${s.videoIn.frames} -> ${s2.videoIn.frames} in 1 s, ${s2.videoIn.w}x${s2.videoIn.h}, ${JSON.stringify(s2)}`);
				return s2;
			}
		}
		await page.waitForTimeout(250);
	}
	b.log(`${page.wicName} m-lines: ${JSON.stringify(await mlines(page))}`);
	b.fail(`${page.wicName}: no video decoded (${what}) within ${timeout} ms: ${JSON.stringify(s)}`);
}

// wait until the page's re-INVITE (or the other's) is through: stable, with a video m-line
async function waitVideoNegotiated(page, what) {
	await b.waitWic(page, (w) => {
		const pc = w.pc();
		return pc && pc.signalingState === 'stable' && pc.remoteDescription && /\r\nm=video [1-9]/.test(pc.remoteDescription.sdp)
			&& pc.localDescription && /\r\nm=video [1-9]/.test(pc.localDescription.sdp);
	}, what, 8000);
	b.log(`${page.wicName}: ${what}: ${JSON.stringify(await mlines(page))}`);
}

module.exports = { rtpStats, mlines, expectVideo, waitVideoNegotiated };
