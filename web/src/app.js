// wims WebRTC IMS client (WIC): JsSIP over the gateway's WebSocket, one call at a time.
// Bundled by web/build.js (esbuild) into web/dist/app.js; served by wimsd ([ws] web_root).
// window.wic exposes the state to the browser tests (tests/browser/).
import * as JsSIP from 'jssip';

const $ = (id) => document.getElementById(id);
const el = {
	regState: $('reg-state'), error: $('error'), settings: $('settings'), settingsBox: $('settings-box'),
	ws: $('ws-url'), impu: $('impu'), impi: $('impi'), password: $('password'), token: $('token'), audioProc: $('audio-proc'),
	register: $('register'), unregister: $('unregister'),
	target: $('target'), backspace: $('backspace'), keypad: $('keypad'), withVideo: $('with-video'), call: $('call'),
	incoming: $('incoming'), incomingFrom: $('incoming-from'), answer: $('answer'), reject: $('reject'),
	incall: $('incall'), peer: $('peer'), callState: $('call-state'), duration: $('duration'),
	remoteVideo: $('remote-video'), localVideo: $('local-video'), remoteAudio: $('remote-audio'),
	mute: $('mute'), hold: $('hold'), video: $('video'), dtmf: $('dtmf'), dtmfSent: $('dtmf-sent'),
	hangup: $('hangup'), lastCall: $('last-call'),
	st: { codec: $('st-codec'), tx: $('st-tx'), rx: $('st-rx'), loss: $('st-loss'), jitter: $('st-jitter'), rtt: $('st-rtt') },
};

const wic = {
	reg: 'idle',          // idle, connecting, registering, registered, reconnecting, failed
	call: 'idle',         // idle, calling, ringing, incoming, answering, connected, held, ended, failed
	lastError: '',
	lastCallEnd: '',
	dtmfSent: '',
	ua: null,
	session: null,
	pc: () => (wic.session ? wic.session.connection : null),
	stats: {},
	sdps: [],             // the SDPs of the calls (local after filtering, remote as received)
	failCause: '',
	history: [],          // every registration and call state, in order (for the tests)
};
window.wic = wic;

// ------------------------------------------------------------- settings
const STORE = 'wims-wic-settings';
function defaultWsUrl() {
	const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
	return location.host ? `${scheme}://${location.host}/` : 'ws://127.0.0.1:8080/';
}
function loadSettings() {
	let saved = {};
	try { saved = JSON.parse(localStorage.getItem(STORE) || '{}'); } catch (e) { saved = {}; }
	const q = new URLSearchParams(location.search);
	el.ws.value = q.get('ws') || saved.ws || defaultWsUrl();
	el.impu.value = q.get('impu') || saved.impu || '';
	el.impi.value = q.get('impi') || saved.impi || '';
	el.password.value = q.get('password') || '';
	el.token.value = q.get('token') || '';
	if (q.get('audioproc') === '0') el.audioProc.checked = false;
	else if (saved.audioProc === false) el.audioProc.checked = false;
}
function saveSettings() {
	try {
		localStorage.setItem(STORE, JSON.stringify({
			ws: el.ws.value, impu: el.impu.value, impi: el.impi.value, audioProc: el.audioProc.checked,
		}));
	} catch (e) { /* private mode: nothing kept */ }
}
function normaliseImpu(v) {
	v = v.trim();
	if (!/^sips?:/i.test(v)) v = 'sip:' + v;
	return v;
}
function domainOf(impu) {
	const m = /@([^;>]+)/.exec(impu);
	return m ? m[1] : '';
}

// --------------------------------------------------------------- messages
function showError(msg) {
	wic.lastError = msg;
	el.error.textContent = msg;
	el.error.hidden = !msg;
}
function setReg(state, text) {
	wic.reg = state;
	wic.history.push('reg:' + state);
	el.regState.dataset.state = state;
	el.regState.textContent = text;
	const active = state !== 'idle' && state !== 'failed';
	el.register.disabled = active;
	el.unregister.disabled = !active;
	el.call.disabled = state !== 'registered' || wic.session !== null;
	for (const i of [el.ws, el.impu, el.impi, el.password, el.token]) i.disabled = active;
}
function reasonOf(data) {
	const r = data && data.message;
	if (r && r.status_code) return `${r.status_code} ${r.reason_phrase || ''}`.trim();
	return (data && data.cause) || 'unknown reason';
}

// ------------------------------------------------------------ registration
let everConnected = false;
let userStopped = false;

function start() {
	showError('');
	const impu = normaliseImpu(el.impu.value);
	if (!domainOf(impu)) { showError('The IMPU must look like sip:user@domain.'); return; }
	const impi = el.impi.value.trim() || impu.replace(/^sips?:/i, '').split('@')[0];
	let socket;
	try {
		socket = new JsSIP.WebSocketInterface(el.ws.value.trim());
	} catch (e) {
		showError(`Invalid WebSocket URL: ${e.message}`);
		return;
	}
	saveSettings();
	everConnected = false;
	userStopped = false;
	const ua = new JsSIP.UA({
		sockets: [socket],
		uri: impu,
		authorization_user: impi,
		password: el.password.value,
		register: true,
		register_expires: 600,
		session_timers: false,
		connection_recovery_min_interval: 1,
		connection_recovery_max_interval: 8,
		user_agent: 'wims-wic/0.1 JsSIP/' + JsSIP.version,
	});
	wic.ua = ua;
	/* a web-credentials token (RFC 8898 Bearer) instead of digest: the P-CSCF
	 * checks it and registers us as an authenticated user */
	const token = el.token.value.trim();
	if (token) ua.registrator().setExtraHeaders([`Authorization: Bearer ${token}`]);
	setReg('connecting', `Connecting to ${el.ws.value.trim()}…`);

	ua.on('connecting', () => {
		if (everConnected) setReg('reconnecting', 'Connection lost — reconnecting…');
	});
	ua.on('connected', () => {
		everConnected = true;
		setReg('registering', 'Connected — registering…');
	});
	ua.on('disconnected', () => {
		if (userStopped) return;
		if (!everConnected) {
			showError(`Cannot reach the gateway at ${el.ws.value.trim()} (is wimsd running, is the URL right, is its certificate accepted?). Retrying…`);
			setReg('connecting', 'Gateway unreachable — retrying…');
		} else {
			setReg('reconnecting', 'Connection lost — reconnecting…');
		}
	});
	ua.on('registered', () => {
		showError('');
		setReg('registered', `Registered as ${impu.replace(/^sips?:/i, '')}`);
		el.settingsBox.open = false;
	});
	ua.on('unregistered', () => {
		if (userStopped) setReg('idle', 'Not registered');
		else if (wic.reg === 'registered') setReg('reconnecting', 'Registration lost — registering again…');
	});
	ua.on('registrationFailed', (data) => {
		const code = data.response ? data.response.status_code : 0;
		let msg;
		if (code === 401 || code === 407 || data.cause === JsSIP.C.causes.AUTHENTICATION_ERROR)
			msg = `Registration refused: wrong identity or password (${code || 401} ${code ? data.response.reason_phrase : 'Unauthorized'}).`;
		else if (code === 403)
			msg = `Registration refused: ${code} ${data.response.reason_phrase} (wrong password, or this identity is not allowed here).`;
		else if (code)
			msg = `Registration failed: ${code} ${data.response.reason_phrase}.`;
		else
			msg = `Registration failed: ${data.cause}.`;
		showError(msg);
		stop(false);
		setReg('failed', 'Not registered (failed)');
	});
	ua.on('newRTCSession', onNewSession);
	ua.start();
}

function stop(unregister) {
	userStopped = true;
	const ua = wic.ua;
	if (!ua) return;
	if (wic.session) {
		try { wic.session.terminate(); } catch (e) { /* already gone */ }
	}
	if (unregister && ua.isRegistered()) ua.unregister({ all: false });
	// give the un-REGISTER a moment to leave before the socket closes
	setTimeout(() => ua.stop(), unregister ? 300 : 0);
	wic.ua = null;
	setReg('idle', 'Not registered');
}

// ------------------------------------------------------------------ calls
function mediaConstraints(video) {
	const proc = el.audioProc.checked;
	return {
		audio: { echoCancellation: proc, noiseSuppression: proc, autoGainControl: proc },
		video: video ? { width: { ideal: 640 }, height: { ideal: 480 } } : false,
	};
}
function callOptions(video) {
	return {
		mediaConstraints: mediaConstraints(video),
		pcConfig: { iceServers: [] },
		rtcOfferConstraints: { offerToReceiveAudio: true, offerToReceiveVideo: video },
	};
}
function targetUri(v) {
	v = v.trim();
	if (!v) return '';
	if (/^(sips?|tel):/i.test(v)) return v;
	const dom = domainOf(normaliseImpu(el.impu.value));
	return v.includes('@') ? 'sip:' + v : `sip:${v}@${dom}`;
}

function call() {
	showError('');
	const uri = targetUri(el.target.value);
	if (!uri) { showError('Enter a number or a SIP URI to call.'); el.target.focus(); return; }
	if (!wic.ua || wic.reg !== 'registered') { showError('Register first.'); return; }
	try {
		wic.ua.call(uri, callOptions(el.withVideo.checked));
	} catch (e) {
		showError(`Cannot call ${uri}: ${e.message}`);
	}
}

// keep only UDP candidates: the gateway is ICE-lite over UDP
function filterSdp(data) {
	if (data.originator !== 'local') return;
	data.sdp = data.sdp.split('\r\n').filter((l) => !/^a=candidate:.* tcp /i.test(l)).join('\r\n');
}

function onNewSession(data) {
	const s = data.session;
	if (wic.session) { // one call at a time
		if (data.originator === 'remote') s.terminate({ status_code: 486, reason_phrase: 'Busy Here' });
		return;
	}
	wic.session = s;
	wic.dtmfSent = '';
	el.dtmfSent.textContent = '';
	const peer = data.originator === 'remote' ? s.remote_identity.uri.toString() : s.remote_identity.uri.toString();
	const name = s.remote_identity.display_name;
	el.peer.textContent = name ? `${name} <${peer}>` : peer;
	el.call.disabled = true;
	s.on('sdp', filterSdp);
	s.on('sdp', (e) => { wic.sdps.push(`${e.originator} ${e.type}:\n${e.sdp}`); });
	s.on('peerconnection', (e) => attachPc(e.peerconnection));
	if (s.connection) attachPc(s.connection);

	if (data.originator === 'remote') {
		setCall('incoming', 'Incoming call');
		el.incomingFrom.textContent = el.peer.textContent;
		el.incoming.hidden = false;
		el.answer.focus();
		ring.start();
	} else {
		setCall('calling', 'Calling…');
		showCallPanel();
	}
	s.on('progress', () => { if (data.originator === 'local') setCall('ringing', 'Ringing…'); });
	s.on('accepted', () => { ring.stop(); setCall('connected', 'Connected'); startTimer(); });
	s.on('confirmed', () => { if (wic.call !== 'held') setCall('connected', 'Connected'); startTimer(); showLocalVideo(); });
	s.on('hold', (e) => {
		if (e.originator === 'local') setCall('held', 'On hold');
		else setCall('held', 'Held by the other party');
	});
	s.on('unhold', () => setCall('connected', 'Connected'));
	s.on('muted', () => setPressed(el.mute, true, 'Unmute', 'Mute'));
	s.on('unmuted', () => setPressed(el.mute, false, 'Unmute', 'Mute'));
	s.on('ended', (e) => endCall(`Call ended (${e.originator === 'local' ? 'you hung up' : 'the other party hung up'}).`, 'ended'));
	s.on('failed', (e) => {
		wic.failCause = `${e.originator}: ${e.cause} ${reasonOf(e)}`;
		let msg;
		if (e.originator === 'local' && e.cause === JsSIP.C.causes.CANCELED) msg = 'Call cancelled.';
		else if (e.originator === 'local' && e.cause === JsSIP.C.causes.REJECTED) msg = 'Call rejected.';
		else if (e.cause === JsSIP.C.causes.USER_DENIED_MEDIA_ACCESS) msg = 'Call failed: no access to the microphone/camera.';
		else if (e.message && e.message.status_code >= 300) msg = `Call failed: ${reasonOf(e)}.`;
		else msg = `Call failed: ${e.cause}${e.message && e.message.status_code ? ` (after ${reasonOf(e)})` : ''}.`;
		if (e.originator !== 'local' || e.cause === JsSIP.C.causes.USER_DENIED_MEDIA_ACCESS) showError(msg);
		endCall(msg, 'failed');
	});
}

function attachPc(pc) {
	if (pc._wicAttached) return;
	pc._wicAttached = true;
	pc.addEventListener('track', (ev) => {
		const stream = ev.streams[0] || new MediaStream([ev.track]);
		if (ev.track.kind === 'audio') {
			el.remoteAudio.srcObject = stream;
			el.remoteAudio.play().catch(() => {});
		} else {
			el.remoteVideo.srcObject = stream;
			el.remoteVideo.hidden = false;
			el.remoteVideo.play().catch(() => {});
			ev.track.addEventListener('mute', () => { el.remoteVideo.hidden = true; });
			ev.track.addEventListener('unmute', () => { if (wic.session) el.remoteVideo.hidden = false; });
		}
	});
}

function showCallPanel() {
	el.incoming.hidden = true;
	document.getElementById('dial').hidden = true;
	el.incall.hidden = false;
	el.duration.textContent = '0:00';
	setPressed(el.mute, false, 'Unmute', 'Mute');
	setPressed(el.hold, false, 'Resume', 'Hold');
	setPressed(el.video, false, 'Video off', 'Video on');
	el.hangup.focus();
}

function setCall(state, text) {
	wic.call = state;
	wic.history.push('call:' + state);
	el.callState.textContent = text;
	if (state === 'held') setPressed(el.hold, true, 'Resume', 'Hold');
	else if (state === 'connected') setPressed(el.hold, false, 'Resume', 'Hold');
}

function setPressed(btn, on, onText, offText) {
	btn.setAttribute('aria-pressed', on ? 'true' : 'false');
	btn.textContent = on ? onText : offText;
}

function endCall(msg, state) {
	ring.stop();
	stopTimer();
	stopStats();
	wic.call = state;
	wic.lastCallEnd = msg;
	wic.session = null;
	el.lastCall.textContent = msg;
	el.incoming.hidden = true;
	el.incall.hidden = true;
	document.getElementById('dial').hidden = false;
	el.remoteAudio.srcObject = null;
	el.remoteVideo.srcObject = null;
	el.remoteVideo.hidden = true;
	if (el.localVideo.srcObject) el.localVideo.srcObject.getVideoTracks().forEach((t) => t.stop());
	el.localVideo.srcObject = null;
	el.localVideo.hidden = true;
	el.call.disabled = wic.reg !== 'registered';
}

function answer() {
	const s = wic.session;
	if (!s) return;
	ring.stop();
	setCall('answering', 'Connecting…');
	showCallPanel();
	const video = s.request && /m=video [1-9]/.test(s.request.body || '');
	s.answer(callOptions(video && el.withVideo.checked));
}

function reject() {
	const s = wic.session;
	if (s) s.terminate({ status_code: 486, reason_phrase: 'Busy Here' });
}

function hangup() {
	const s = wic.session;
	if (s) s.terminate();
}

function toggleHold() {
	const s = wic.session;
	if (!s || !s.isEstablished()) return;
	if (s.isOnHold().local) {
		s.unhold({}, () => setCall('connected', 'Connected'));
	} else {
		s.hold({}, () => setCall('held', 'On hold'));
	}
}

function toggleMute() {
	const s = wic.session;
	if (!s) return;
	if (s.isMuted().audio) s.unmute({ audio: true });
	else s.mute({ audio: true });
}

// the call's video transceiver (one at most: the client offers one video m-line)
function videoTransceiver(pc) {
	return pc.getTransceivers().find((t) => !t.stopped && t.receiver.track && t.receiver.track.kind === 'video');
}

function renegotiateVideo(s) {
	if (!s.renegotiate({ rtcOfferConstraints: { offerToReceiveAudio: true, offerToReceiveVideo: true } }))
		showError('Cannot change the video now (another negotiation is in progress); try again.');
}

// Video on: a camera track on the video transceiver (a new one when the call has none), and a
// re-INVITE when the video m-line does not send yet. Video off: the track is taken off the sender
// and stopped (nothing is sent, the camera is released); the m-line stays sendrecv, with no
// re-INVITE: nothing needs negotiating, and the other side's video keeps coming either way (a
// recvonly re-offer also works through wimsd's gateway, test_browser_video_recvonly.sh).
async function toggleVideo() {
	const s = wic.session;
	const pc = wic.pc();
	if (!s || !pc || !s.isEstablished()) return;
	const tr = videoTransceiver(pc);
	const track = tr && tr.sender.track;
	if (track && track.readyState === 'live') {
		await tr.sender.replaceTrack(null);
		track.stop();
		el.localVideo.srcObject = null;
		el.localVideo.hidden = true;
		setPressed(el.video, false, 'Video off', 'Video on');
		return;
	}
	try {
		const stream = await navigator.mediaDevices.getUserMedia({ video: mediaConstraints(true).video });
		const cam = stream.getVideoTracks()[0];
		if (wic.session !== s) { cam.stop(); return; } // the call ended meanwhile
		let renegotiate = true;
		if (tr) {
			await tr.sender.replaceTrack(cam);
			if (tr.sender.setStreams) tr.sender.setStreams(stream);
			renegotiate = !/send/.test(tr.currentDirection || '');
			tr.direction = 'sendrecv';
		} else {
			pc.addTrack(cam, stream);
		}
		el.localVideo.srcObject = stream;
		el.localVideo.hidden = false;
		setPressed(el.video, true, 'Video off', 'Video on');
		if (renegotiate) renegotiateVideo(s);
	} catch (e) {
		showError(`Cannot start the camera: ${e.message}`);
	}
}

function showLocalVideo() {
	const pc = wic.pc();
	if (!pc) return;
	const sender = pc.getSenders().find((x) => x.track && x.track.kind === 'video');
	if (!sender) return;
	el.localVideo.srcObject = new MediaStream([sender.track]);
	el.localVideo.hidden = false;
	setPressed(el.video, true, 'Video off', 'Video on');
}

function sendDtmf(tone) {
	const s = wic.session;
	if (!s || !s.isEstablished()) return;
	try {
		s.sendDTMF(tone, { duration: 160, interToneGap: 80 });
		wic.dtmfSent += tone;
		el.dtmfSent.textContent = `Tones sent: ${wic.dtmfSent}`;
	} catch (e) {
		showError(`Cannot send the tone: ${e.message}`);
	}
}

// ------------------------------------------------------------ duration
let timer = null;
let startedAt = 0;
function startTimer() {
	if (timer) return;
	startedAt = Date.now();
	timer = setInterval(() => {
		const t = Math.floor((Date.now() - startedAt) / 1000);
		const h = Math.floor(t / 3600);
		const m = Math.floor((t % 3600) / 60);
		const sec = String(t % 60).padStart(2, '0');
		el.duration.textContent = h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
	}, 500);
	startStats();
}
function stopTimer() {
	if (timer) clearInterval(timer);
	timer = null;
}

// --------------------------------------------------------------- stats
let statsTimer = null;
let prev = null;
function startStats() {
	if (statsTimer) return;
	prev = null;
	statsTimer = setInterval(updateStats, 1000);
}
function stopStats() {
	if (statsTimer) clearInterval(statsTimer);
	statsTimer = null;
}
function kbps(bytes, prevBytes, ms) {
	if (prevBytes === undefined || ms <= 0) return '–';
	return `${Math.max(0, ((bytes - prevBytes) * 8) / ms).toFixed(0)} kbit/s`;
}
async function updateStats() {
	const pc = wic.pc();
	if (!pc) return;
	let report;
	try { report = await pc.getStats(); } catch (e) { return; }
	const now = { t: performance.now(), tx: 0, rx: 0, lost: 0, recv: 0, jitter: null, rtt: null, codec: '' };
	const codecs = {};
	report.forEach((r) => { if (r.type === 'codec') codecs[r.id] = r; });
	report.forEach((r) => {
		if (r.type === 'outbound-rtp') {
			now.tx += r.bytesSent || 0;
			if (r.kind === 'audio' && codecs[r.codecId]) now.codec = codecs[r.codecId].mimeType.replace(/^audio\//, '');
		} else if (r.type === 'inbound-rtp') {
			now.rx += r.bytesReceived || 0;
			now.lost += Math.max(0, r.packetsLost || 0);
			now.recv += r.packetsReceived || 0;
			if (r.kind === 'audio' && typeof r.jitter === 'number') now.jitter = r.jitter;
		} else if (r.type === 'remote-inbound-rtp' && typeof r.roundTripTime === 'number') {
			now.rtt = r.roundTripTime;
		} else if (r.type === 'candidate-pair' && r.nominated && typeof r.currentRoundTripTime === 'number' && now.rtt === null) {
			now.rtt = r.currentRoundTripTime;
		}
	});
	const ms = prev ? now.t - prev.t : 0;
	const dl = prev ? now.lost - prev.lost : now.lost;
	const dr = prev ? now.recv - prev.recv : now.recv;
	el.st.codec.textContent = now.codec || '–';
	el.st.tx.textContent = prev ? kbps(now.tx, prev.tx, ms) : '–';
	el.st.rx.textContent = prev ? kbps(now.rx, prev.rx, ms) : '–';
	el.st.loss.textContent = dl + dr > 0 ? `${((100 * dl) / (dl + dr)).toFixed(1)} % (${now.lost} lost in all)` : '0 %';
	el.st.jitter.textContent = now.jitter === null ? '–' : `${(now.jitter * 1000).toFixed(1)} ms`;
	el.st.rtt.textContent = now.rtt === null ? '–' : `${(now.rtt * 1000).toFixed(0)} ms`;
	// a call that stays silent (no codec in common, media blocked) says so
	const silent = wic.call === 'connected' && now.recv === 0 && Date.now() - startedAt > 4000;
	if (silent && !wic.noMedia) el.callState.textContent = 'Connected — no audio received';
	else if (!silent && wic.noMedia && wic.call === 'connected') el.callState.textContent = 'Connected';
	wic.noMedia = silent;
	wic.stats = { packetsReceived: now.recv, packetsLost: now.lost, bytesSent: now.tx, bytesReceived: now.rx,
		jitter: now.jitter, rtt: now.rtt, codec: now.codec };
	prev = now;
}

// ------------------------------------------------------ ring (WebAudio)
const ring = (() => {
	let ctx = null;
	let loop = null;
	function burst() { // 440 + 480 Hz for 2 s (North American ring), every 4 s
		const t = ctx.currentTime;
		const g = ctx.createGain();
		g.gain.setValueAtTime(0, t);
		g.gain.linearRampToValueAtTime(0.15, t + 0.05);
		g.gain.setValueAtTime(0.15, t + 1.95);
		g.gain.linearRampToValueAtTime(0, t + 2);
		g.connect(ctx.destination);
		for (const f of [440, 480]) {
			const o = ctx.createOscillator();
			o.frequency.value = f;
			o.connect(g);
			o.start(t);
			o.stop(t + 2);
		}
	}
	return {
		start() {
			try {
				ctx = ctx || new AudioContext();
				ctx.resume().catch(() => {});
				burst();
				loop = setInterval(burst, 4000);
				wic.ringing = true;
			} catch (e) { wic.ringing = false; }
		},
		stop() {
			if (loop) clearInterval(loop);
			loop = null;
			wic.ringing = false;
			if (ctx) { ctx.close().catch(() => {}); ctx = null; }
		},
	};
})();

// ------------------------------------------------------------- wiring
el.settings.addEventListener('submit', (e) => { e.preventDefault(); start(); });
el.unregister.addEventListener('click', () => stop(true));
el.call.addEventListener('click', call);
el.target.addEventListener('keydown', (e) => { if (e.key === 'Enter' && !el.call.disabled) call(); });
el.backspace.addEventListener('click', () => { el.target.value = el.target.value.slice(0, -1); el.target.focus(); });
el.keypad.addEventListener('click', (e) => {
	const k = e.target.dataset && e.target.dataset.key;
	if (k) el.target.value += k;
});
el.answer.addEventListener('click', answer);
el.reject.addEventListener('click', reject);
el.hangup.addEventListener('click', hangup);
el.hold.addEventListener('click', toggleHold);
el.mute.addEventListener('click', toggleMute);
el.video.addEventListener('click', toggleVideo);
el.dtmf.addEventListener('click', (e) => {
	const k = e.target.dataset && e.target.dataset.dtmf;
	if (k) sendDtmf(k);
});
window.addEventListener('beforeunload', () => { if (wic.ua) stop(true); });

loadSettings();
setReg('idle', 'Not registered');
