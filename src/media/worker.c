/* A media worker: one libuv loop on its own thread owning its sessions'
 * sockets.  The packet path demultiplexes by first byte (RFC 7983), answers
 * ICE checks, runs DTLS, and relays RTP/RTCP between the two sides of a
 * stream with SRTP applied where a side needs it.  It allocates nothing and
 * takes no lock: packets are processed in place in the worker's receive
 * buffer (recvmmsg chunks of 64 KiB leave head and tail room for SRTP). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "media/media_int.h"
#include "media/rtp.h"
#include "media/stun.h"

static uint64_t now_ms(struct media__worker *w)
{
	return uv_now(&w->loop);
}

static void set_remote_text(struct media__side *sd, const struct wims_addr *a)
{
	char tmp[WIMS_ADDR_STRLEN];
	if (wims_addr_str(a, tmp, sizeof(tmp)) < 0)
		return;
	for (size_t i = 0; i < sizeof(tmp); i++) {
		__atomic_store_n(&sd->n.remote[i], tmp[i], __ATOMIC_RELAXED);
		if (!tmp[i])
			break;
	}
}

static int side_of(const struct media__stream *st, const struct media__tp *t)
{
	return st->c.t[0] == t->index ? 0 : 1;
}

/* ---- sending ---- */

/* Queued for the sendmmsg at the end of the loop turn (sendq.c); cnt is
 * counted once the kernel took it (NULL: not counted). */
static bool udp_send(struct media__worker *w, int fd, const uint8_t *p, size_t len,
		     const struct wims_addr *to, const struct media__txcount *cnt)
{
	return media__txq_push(w, fd, p, len, to, cnt);
}

/* The socket WebRTC media leave from: the one the nominated check came in
 * on (its address family and local address are those of the pair). */
static int webrtc_fd(const struct media__tp *t)
{
	return t->sel_fd >= 0 ? t->sel_fd : t->c.fd_rtp;
}

/* Send an RTP (rtcp=false) or RTCP packet toward transport t; p has tail
 * room.  n: the counters of the stream side it goes to, counted when the
 * packet leaves (sendq.c). */
static bool tp_send(struct media__worker *w, struct media__tp *t, uint8_t *p, size_t len, size_t cap,
		    bool rtcp, struct wims_media_counters *n)
{
	const struct media__txcount cnt = {n, (uint32_t)len, rtcp};
	switch (t->c.kind) {
	case WIMS_MT_WEBRTC: {
		const struct wims_addr *to = wims_ice_lite_selected(&t->ice);
		if (!to || !t->srtp_tx || !t->rtp ||
		    !wims_ice_lite_can_send(&t->ice, now_ms(w), (uint64_t)w->m->o.consent_s * 1000))
			return false;
		int err = rtcp ? wims_srtp_protect_rtcp(t->srtp_tx, p, &len, cap)
			       : wims_srtp_protect_rtp(t->srtp_tx, p, &len, cap);
		return err == 0 && udp_send(w, webrtc_fd(t), p, len, to, &cnt);
	}
	case WIMS_MT_SDES:
		if (!t->srtp_tx)
			return false;
		if ((rtcp ? wims_srtp_protect_rtcp(t->srtp_tx, p, &len, cap)
			  : wims_srtp_protect_rtp(t->srtp_tx, p, &len, cap)) != 0)
			return false;
		/* fall through */
	case WIMS_MT_PLAIN:
		if (!t->c.has_remote)
			return false;
		if (!rtcp || t->c.rtcp_mux)
			return t->rtp &&
			       udp_send(w, t->c.fd_rtp, p, len, rtcp ? &t->rtcp_to : &t->rtp_to, &cnt);
		return t->rtcp && udp_send(w, t->c.fd_rtcp, p, len, &t->rtcp_to, &cnt);
	default:
		return false;
	}
}

/* ---- relaying ---- */

/* An RTP packet about to go to side `out`: sequence numbers move up by the
 * telephone-events wims blended into the stream; what was sent is noted. */
static void stamp_out(struct media__worker *w, struct media__side *out, uint8_t *p, size_t len)
{
	if (len < 12)
		return;
	uint16_t seq = (uint16_t)((p[2] << 8 | p[3]) + out->seq_shift);
	p[2] = (uint8_t)(seq >> 8);
	p[3] = (uint8_t)seq;
	out->out_seq = seq;
	out->out_ts = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
	out->out_ms = now_ms(w);
	out->sent_any = true;
}

/* Packets of a transcoded stream: the transcoder takes the packet and gives
 * back what is ready for the other side (none, one, or several when the
 * ptimes differ), each sent from the worker's xbuf. */
static void relay_transcoded(struct media__worker *w, struct media__stream *st, int sd,
			     struct media__tp *to, const uint8_t *p, size_t len)
{
	struct media__side *in = &st->side[sd], *out = &st->side[1 - sd];
	if (wims_xcode_input(st->x[sd], p, len) < 0) {
		media__add(&in->n.errors, 1);
		return;
	}
	media__add(&in->n.transcoded, 1);
	/* RFC 4867 §4.3.1: a CMR from an AMR phone asks for the mode of what we
	 * send it, i.e. of the other direction's encoder */
	int cmr = wims_xcode_last_cmr(st->x[sd]);
	if (cmr >= 0 && cmr != 15 && cmr + 1 != in->cmr_applied && st->x[1 - sd] &&
	    wims_xcode_set_out_mode(st->x[1 - sd], (unsigned)cmr) == 0)
		in->cmr_applied = cmr + 1;
	size_t n;
	while ((n = wims_xcode_output(st->x[sd], w->xbuf, sizeof(w->xbuf) - 64)) > 0) {
		struct wims_rtp_hdr h;
		if (st->c.ssrc_out[1 - sd])
			wims_rtp_set_ssrc(w->xbuf, st->c.ssrc_out[1 - sd]);
		if (wims_rtp_parse(&h, w->xbuf, n) == 0)
			out->ssrc_out = h.ssrc;
		stamp_out(w, out, w->xbuf, n);
		(void)tp_send(w, to, w->xbuf, n, sizeof(w->xbuf), false, &out->n);
	}
}

static void relay_rtp(struct media__worker *w, struct media__tp *t, uint8_t *p, size_t len)
{
	struct wims_media_sess *s = t->sess;
	struct wims_rtp_hdr h;
	if (wims_rtp_parse(&h, p, len) < 0)
		return;
	int si = t->stream >= 0 ? t->stream : (t->pt_stream[h.pt] != 0xff ? t->pt_stream[h.pt] : -1);
	if (si < 0 || (unsigned)si >= s->nst)
		return;
	struct media__stream *st = &s->st[si];
	int sd = side_of(st, t), od = 1 - sd;
	struct media__side *in = &st->side[sd], *out = &st->side[od];
	media__add(&in->n.packets_in, 1);
	media__add(&in->n.bytes_in, len);
	__atomic_store_n(&in->n.last_in_ms, now_ms(w), __ATOMIC_RELAXED);
	s->last_media_ms = now_ms(w);
	in->ssrc_in = h.ssrc;
	uint8_t pt = st->x[sd] ? h.pt : st->c.pt_map[sd][h.pt];
	if (pt == 0xff) {
		media__add(&in->n.errors, 1);
		return;
	}
	if (pt != h.pt)
		wims_rtp_set_pt(p, pt);
	if (st->c.strip_ext[od] && h.ext)
		len = wims_rtp_strip_ext(p, len);
	struct media__tp *to = &s->tp[st->c.t[od]];
	if (st->x[sd]) {
		relay_transcoded(w, st, sd, to, p, len);
		return;
	}
	if (st->c.ssrc_out[od])
		wims_rtp_set_ssrc(p, st->c.ssrc_out[od]);
	out->ssrc_out = st->c.ssrc_out[od] ? st->c.ssrc_out[od] : h.ssrc;
	stamp_out(w, out, p, len);
	(void)tp_send(w, to, p, len, MEDIA__RXCHUNK, false, &out->n);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The SSRC an RTCP item is about (0: none): the media SSRC of feedback
 * (RFC 4585 §6.1; FIR's is in its FCI, RFC 5104 §4.3.1.1), the first
 * report block of a report. */
static uint32_t rtcp_about(const uint8_t *p, const struct wims_rtcp_item *it)
{
	const uint8_t *q = p + it->off;
	switch (it->pt) {
	case 205:
	case 206:
		if (it->pt == 206 && it->count == 4)
			return it->len >= 16 ? be32(q + 12) : 0;
		return it->len >= 12 ? be32(q + 8) : 0;
	case 201: return it->count && it->len >= 12 ? be32(q + 8) : 0;
	case 200: return it->count && it->len >= 32 ? be32(q + 28) : 0;
	default: return 0;
	}
}

/* Which stream an RTCP compound from a bundled transport belongs to: the
 * sender SSRC of an item, matched against what that side sent us, else the
 * SSRC an item is about, matched against what we sent it (a browser that
 * only receives video sends its feedback from SSRC 1).  Feedback that
 * matches nothing goes to a video stream, where it is kept. */
static int rtcp_stream(struct wims_media_sess *s, struct media__tp *t, const uint8_t *p, size_t len)
{
	if (t->stream >= 0)
		return t->stream;
	struct wims_rtcp_iter it = {p, len, 0};
	struct wims_rtcp_item item;
	int first = -1, video = -1, about = -1;
	bool feedback = false;
	while (wims_rtcp_next(&it, &item) == 1) {
		uint32_t a = rtcp_about(p, &item);
		feedback |= item.pt == 205 || item.pt == 206;
		for (unsigned i = 0; i < s->nst; i++) {
			struct media__stream *st = &s->st[i];
			if (!st->c.active || (st->c.t[0] != t->index && st->c.t[1] != t->index))
				continue;
			struct media__side *sd = &st->side[side_of(st, t)];
			if (first < 0)
				first = (int)i;
			if (video < 0 && st->c.video)
				video = (int)i;
			if (sd->ssrc_in == item.ssrc)
				return (int)i;
			if (about < 0 && a && sd->ssrc_out == a)
				about = (int)i;
		}
	}
	if (about >= 0)
		return about;
	return feedback && video >= 0 ? video : first;
}

/* An RTCP compound from side sd: the loss and jitter it reports about what
 * we send it, and the round trip from the SR we passed it to its report. */
static void note_report(struct media__worker *w, struct media__side *sd, const uint8_t *p, size_t len)
{
	struct wims_rtcp_report r;
	if (!sd->ssrc_out || wims_rtcp_report(p, len, sd->ssrc_out, &r) < 0 || !r.has_block)
		return;
	__atomic_store_n(&sd->n.lost, r.cum_lost, __ATOMIC_RELAXED);
	__atomic_store_n(&sd->n.jitter, r.jitter, __ATOMIC_RELAXED);
	if (!r.lsr)
		return;
	for (unsigned i = 0; i < 4; i++) {
		if (sd->sr_mid[i] != r.lsr || !sd->sr_ms[i])
			continue;
		uint64_t held = (uint64_t)r.dlsr * 1000 / 65536, since = now_ms(w) - sd->sr_ms[i];
		if (since >= held)
			__atomic_store_n(&sd->n.rtt_ms, (uint32_t)(since - held), __ATOMIC_RELAXED);
		return;
	}
}

/* Remember an SR we are about to pass to side sd (for note_report). */
static void note_sr_out(struct media__worker *w, struct media__side *sd, const uint8_t *p, size_t len)
{
	struct wims_rtcp_report r;
	if (wims_rtcp_report(p, len, 0, &r) < 0 || !r.has_sr)
		return;
	unsigned i = sd->sr_next++ % 4;
	sd->sr_mid[i] = (uint32_t)(r.sr_ntp >> 16);
	sd->sr_ms[i] = now_ms(w);
}

/* RTCP from side sd on its way to the other side, where SSRCs are rewritten
 * (see wims_media_sconf.ssrc_out): what names the SSRC we send side sd
 * names the real sender's again, and the sender's SSRC becomes the one the
 * other side knows. */
static void rtcp_map(const struct media__stream *st, int sd, uint8_t *p, size_t len)
{
	int od = 1 - sd;
	uint32_t ours = st->c.ssrc_out[sd], real = st->side[od].ssrc_in;
	if (ours && real)
		(void)wims_rtcp_map_ssrc(p, len, ours, real);
	ours = st->c.ssrc_out[od];
	real = st->side[sd].ssrc_in;
	if (ours && real)
		(void)wims_rtcp_map_ssrc(p, len, real, ours);
}

static void relay_rtcp(struct media__worker *w, struct media__tp *t, uint8_t *p, size_t len)
{
	struct wims_media_sess *s = t->sess;
	int si = rtcp_stream(s, t, p, len);
	if (si < 0 || (unsigned)si >= s->nst)
		return;
	struct media__stream *st = &s->st[si];
	int sd = side_of(st, t), od = 1 - sd;
	media__add(&st->side[sd].n.rtcp_in, 1);
	/* RTCP keeps a session alive (docs/media.md "Media timeout"): a phone
	 * on hold or a receive-only browser sends reports and no RTP */
	s->last_media_ms = now_ms(w);
	note_report(w, &st->side[sd], p, len);
	if (st->x[0] || st->x[1])
		return; /* see struct wims_media_xc */
	struct media__tp *to = &s->tp[st->c.t[od]];
	if (to->c.kind != WIMS_MT_WEBRTC) {
		len = wims_rtcp_filter(p, len, st->c.keep_video_fb);
		if (!len)
			return;
	}
	rtcp_map(st, sd, p, len);
	note_sr_out(w, &st->side[od], p, len);
	(void)tp_send(w, to, p, len, MEDIA__RXCHUNK, true, &st->side[od].n);
}

/* ---- WebRTC transport: STUN, DTLS, SRTP ---- */

static void dtls_flush(struct media__worker *w, struct media__tp *t, const struct wims_addr *to)
{
	size_t n;
	while ((n = wims_dtls_output(t->dtls, w->txbuf, sizeof(w->txbuf))) > 0)
		if (to && t->rtp)
			(void)udp_send(w, t->dtls_fd >= 0 ? t->dtls_fd : t->c.fd_rtp, w->txbuf, n, to, NULL);
}

static void sess_timer_update(struct wims_media_sess *s);

static void dtls_start_client(struct media__worker *w, struct media__tp *t)
{
	const struct wims_addr *to = wims_ice_lite_selected(&t->ice);
	if (!t->dtls || t->dtls_started || !to)
		return;
	t->dtls_started = true;
	t->dtls_peer = *to;
	t->dtls_fd = t->sel_fd;
	t->has_dtls_peer = true;
	if (wims_dtls_start(t->dtls) < 0) {
		t->dtls_failed = true;
		return;
	}
	dtls_flush(w, t, to);
	sess_timer_update(t->sess);
}

static void on_stun(struct media__worker *w, struct media__tp *t, const uint8_t *p, size_t len,
		    const struct wims_addr *from, int fd)
{
	size_t rlen = 0;
	enum wims_ice_verdict v = wims_ice_lite_input(&t->ice, p, len, from, now_ms(w), w->txbuf,
						      &rlen, sizeof(w->txbuf));
	if (v == WIMS_ICE_DROP)
		return;
	if (rlen && t->rtp)
		(void)udp_send(w, fd, w->txbuf, rlen, from, NULL);
	if (v == WIMS_ICE_RESPOND_SELECTED) {
		t->sel_fd = fd; /* a nomination on another address (family) moves media there */
		for (unsigned i = 0; i < t->sess->nst; i++) {
			struct media__stream *st = &t->sess->st[i];
			if (st->c.t[0] == t->index || st->c.t[1] == t->index)
				set_remote_text(&st->side[side_of(st, t)], from);
		}
		/* LAB-NOTES: a ClientHello sent before the browser has our answer is
		 * lost; its nominating check proves it has it */
		if (t->c.dtls_client)
			dtls_start_client(w, t);
	}
}

static void dtls_connected(struct media__tp *t)
{
	struct wims_srtp_keys k;
	wims_srtp_free(t->srtp_tx);
	wims_srtp_free(t->srtp_rx);
	t->srtp_tx = t->srtp_rx = NULL;
	if (wims_dtls_srtp_keys(t->dtls, &k) < 0 ||
	    wims_srtp_new(&t->srtp_tx, k.profile, k.tx_key, k.tx_salt, true) < 0 ||
	    wims_srtp_new(&t->srtp_rx, k.profile, k.rx_key, k.rx_salt, false) < 0) {
		wims_log(WIMS_LOG_ERR, "media: SRTP keys from DTLS failed");
		wims_srtp_free(t->srtp_tx); /* half a pair would send what nobody can read */
		t->srtp_tx = NULL;
		t->dtls_failed = true;
		return;
	}
	wims_log(WIMS_LOG_DEBUG, "media: DTLS-SRTP up on port %u (profile %d)", t->c.lport_rtp,
		 k.profile);
}

static void on_dtls(struct media__worker *w, struct media__tp *t, const uint8_t *p, size_t len,
		    const struct wims_addr *from, int fd)
{
	if (!t->dtls || t->dtls_failed)
		return;
	if (!wims_ice_lite_addr_valid(&t->ice, from)) {
		wims_log_rl(&w->rl_drop, WIMS_LOG_INFO, "media: DTLS from an unchecked address dropped");
		return;
	}
	t->dtls_peer = *from;
	t->has_dtls_peer = true;
	t->dtls_fd = fd;
	int r = wims_dtls_input(t->dtls, p, len);
	dtls_flush(w, t, from);
	if (r == WIMS_DTLS_CONNECTED)
		dtls_connected(t);
	else if (r < 0) {
		t->dtls_failed = true;
		wims_log(WIMS_LOG_WARN, "media: DTLS on port %u failed: %s; no media", t->c.lport_rtp,
			 r == -EACCES ? "certificate does not match a=fingerprint" : strerror(-r));
	}
	sess_timer_update(t->sess);
}

static void on_srtp(struct media__worker *w, struct media__tp *t, uint8_t *p, size_t len,
		    const struct wims_addr *from, bool rtcp)
{
	if (!t->srtp_rx || !wims_ice_lite_addr_valid(&t->ice, from))
		return;
	int err = rtcp ? wims_srtp_unprotect_rtcp(t->srtp_rx, p, &len)
		       : wims_srtp_unprotect_rtp(t->srtp_rx, p, &len);
	if (err < 0)
		return;
	if (rtcp)
		relay_rtcp(w, t, p, len);
	else
		relay_rtp(w, t, p, len);
}

/* ---- plain / SDES transport ---- */

/* Symmetric RTP toward IMS: media is taken only from the address the peer
 * signalled (c= and m= port, a=rtcp), and sent back there.  Another source,
 * even on the same host, is dropped: on a shared media address anybody
 * could otherwise inject into a call (or redirect its media by latching). */
static bool from_peer(const struct wims_addr *signalled, const struct wims_addr *from)
{
	return wims_addr_eq(signalled, from);
}

static void on_plain(struct media__worker *w, struct media__tp *t, uint8_t *p, size_t len,
		     const struct wims_addr *from, bool rtcp_port, enum wims_pkt_kind k)
{
	if (!t->c.has_remote)
		return;
	bool rtcp = rtcp_port || k == WIMS_PKT_RTCP;
	bool ok = rtcp_port ? from_peer(&t->c.remote_rtcp, from) || from_peer(&t->c.remote_rtp, from)
			    : from_peer(&t->c.remote_rtp, from);
	if (!ok) {
		wims_log_rl(&w->rl_drop, WIMS_LOG_INFO, "media: packet from an unexpected address dropped");
		return;
	}
	if (t->c.kind == WIMS_MT_SDES) {
		if (!t->srtp_rx || (rtcp ? wims_srtp_unprotect_rtcp(t->srtp_rx, p, &len)
					 : wims_srtp_unprotect_rtp(t->srtp_rx, p, &len)) < 0)
			return;
	}
	if (rtcp)
		relay_rtcp(w, t, p, len);
	else
		relay_rtp(w, t, p, len);
}

static void on_packet(struct media__worker *w, struct media__tp *t, uint8_t *p, size_t len,
		      const struct wims_addr *from, bool rtcp_port, int fd)
{
	enum wims_pkt_kind k = wims_pkt_classify(p, len);
	if (t->c.kind != WIMS_MT_WEBRTC) {
		if (k == WIMS_PKT_RTP || k == WIMS_PKT_RTCP)
			on_plain(w, t, p, len, from, rtcp_port, k);
		return;
	}
	switch (k) {
	case WIMS_PKT_STUN: on_stun(w, t, p, len, from, fd); break;
	case WIMS_PKT_DTLS: on_dtls(w, t, p, len, from, fd); break;
	case WIMS_PKT_RTP: on_srtp(w, t, p, len, from, false); break;
	case WIMS_PKT_RTCP: on_srtp(w, t, p, len, from, true); break;
	default: break;
	}
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct media__tp *t = h->data;
	(void)suggested;
	media__rx_alloc(t->sess->w, h, buf);
}

/* The fd of a transport's handle (the engine keeps them in t->c). */
static int rx_fd(const struct media__tp *t, const uv_udp_t *h)
{
	if (h == t->rtp)
		return t->c.fd_rtp;
	if (h == t->rtcp)
		return t->c.fd_rtcp;
	for (unsigned i = 0; i < t->c.nalt; i++)
		if (h == t->alt[i])
			return t->c.fd_alt[i];
	return -1;
}

static void on_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *buf, const struct sockaddr *sa,
		    unsigned flags)
{
	struct media__tp *t = h->data;
	if (flags & UV_UDP_MMSG_FREE) {
		/* the end of one recvmmsg batch: what it relayed leaves now.
		 * Waiting for the end of the poll would make the first packets
		 * of a busy turn wait for the rest (other calls' sockets, which
		 * sendmmsg cannot share); transcoded packets wait (sendq.c) */
		media__rx_note(t->sess->w, h, NULL);
		media__txq_flush_batch(t->sess->w);
		return;
	}
	if (n <= 0 || !sa)
		return;
	media__rx_note(t->sess->w, h, (const uint8_t *)buf->base);
	t->sess->w->rx_pkts++;
	if (t->sess->state != MEDIA__ALIVE)
		return;
	struct wims_addr from;
	if (wims_addr_from_sa(&from, sa) < 0)
		return;
	on_packet(t->sess->w, t, (uint8_t *)buf->base, (size_t)n, &from, h == t->rtcp, rx_fd(t, h));
}

/* ---- telephone-events blended into a stream (SIP INFO DTMF) ---- */

static bool dtmf_send_one(struct media__worker *w, struct wims_media_sess *s, unsigned i, int sd)
{
	struct media__stream *st = &s->st[i];
	struct media__side *out = &st->side[sd];
	uint8_t *p = w->xbuf;
	bool marker = false;
	size_t n = wims_dtmf_tx_next(&out->dtmf, p + 12, 16, &marker);
	if (!n) {
		out->dtmf_on = false;
		return false;
	}
	uint16_t seq = (uint16_t)(out->out_seq + 1);
	out->out_seq = seq;
	out->seq_shift++;
	p[0] = 0x80;
	p[1] = (uint8_t)((marker ? 0x80 : 0) | out->dtmf_pt);
	p[2] = (uint8_t)(seq >> 8);
	p[3] = (uint8_t)seq;
	for (int b = 0; b < 4; b++) {
		p[4 + b] = (uint8_t)(out->dtmf_ts >> (24 - 8 * b));
		p[8 + b] = (uint8_t)(out->ssrc_out >> (24 - 8 * b));
	}
	(void)tp_send(w, &s->tp[st->c.t[sd]], p, 12 + n, sizeof(w->xbuf), false, &out->n);
	return true;
}

static void on_dtmf_timer(uv_timer_t *tm)
{
	struct wims_media_sess *s = tm->data;
	bool more = false;
	for (unsigned i = 0; i < s->nst; i++)
		for (int sd = 0; sd < 2; sd++)
			if (s->st[i].side[sd].dtmf_on)
				more |= dtmf_send_one(s->w, s, i, sd);
	if (!more)
		uv_timer_stop(tm);
}

static void dtmf_start(struct media__worker *w, struct wims_media_sess *s, const struct media__cmd *c)
{
	if (s->state != MEDIA__ALIVE || !s->timer_open || c->dtmf.stream >= s->nst)
		return;
	struct media__side *out = &s->st[c->dtmf.stream].side[c->dtmf.side];
	if (!out->sent_any) {
		wims_log(WIMS_LOG_INFO, "media: DTMF before any media toward that side: not sent");
		return;
	}
	/* the event starts now, in the stream's own timeline (RFC 4733 §2.5.1.1) */
	out->dtmf_ts = out->out_ts + (uint32_t)((now_ms(w) - out->out_ms) * c->dtmf.clock / 1000);
	out->dtmf_pt = c->dtmf.pt;
	wims_dtmf_tx_start(&out->dtmf, c->dtmf.event, c->dtmf.duration_ms, c->dtmf.clock, 50);
	out->dtmf_on = true;
	dtmf_send_one(w, s, c->dtmf.stream, (int)c->dtmf.side);
	uv_timer_start(&s->dtmf_timer, on_dtmf_timer, 50, 50);
}

/* ---- timers ---- */

static void on_sess_timer(uv_timer_t *tm)
{
	struct wims_media_sess *s = tm->data;
	struct media__worker *w = s->w;
	for (unsigned i = 0; i < s->ntp; i++) {
		struct media__tp *t = &s->tp[i];
		if (!t->dtls || t->dtls_failed || wims_dtls_connected(t->dtls))
			continue;
		if (wims_dtls_timeout_ms(t->dtls) == 0) {
			wims_dtls_on_timeout(t->dtls);
			dtls_flush(w, t, t->has_dtls_peer ? &t->dtls_peer : NULL);
		}
	}
	sess_timer_update(s);
}

static void sess_timer_update(struct wims_media_sess *s)
{
	uint64_t next = UINT64_MAX;
	for (unsigned i = 0; i < s->ntp; i++) {
		struct media__tp *t = &s->tp[i];
		if (!t->dtls || t->dtls_failed || wims_dtls_connected(t->dtls))
			continue;
		uint64_t ms = wims_dtls_timeout_ms(t->dtls);
		if (ms < next)
			next = ms;
	}
	if (!s->timer_open)
		return;
	if (next == UINT64_MAX)
		uv_timer_stop(&s->timer);
	else
		uv_timer_start(&s->timer, on_sess_timer, next ? next : 1, 0);
}

static void on_tick(uv_timer_t *tm)
{
	struct media__worker *w = tm->data;
	uint64_t now = now_ms(w), limit = (uint64_t)w->m->o.timeout_s * 1000;
	if (!limit)
		return;
	for (struct wims_media_sess *s = w->sessions; s; s = s->wnext) {
		if (s->state != MEDIA__ALIVE)
			continue;
		uint64_t last = s->last_media_ms ? s->last_media_ms : s->created_ms;
		if (media__timeout_due(&s->timeout_sent, now, last, limit))
			media__post_event(w->m, s, WIMS_MEDIA_EV_TIMEOUT);
	}
}

/* ---- applying a configuration ---- */

static void on_handle_closed(uv_handle_t *h)
{
	struct wims_media_sess *s;
	if (h->type == UV_TIMER) {
		s = h->data;
	} else {
		s = ((struct media__tp *)h->data)->sess;
		free(h);
	}
	if (--s->pending_close == 0 && s->state == MEDIA__CLOSING)
		media__sess_free(s);
}

static void close_handle(struct wims_media_sess *s, uv_handle_t *h)
{
	s->pending_close++;
	uv_close(h, on_handle_closed);
}

/* A receiving handle on fd, NULL on failure.  The fd is the handle's once
 * it is returned, and is closed here otherwise. */
static uv_udp_t *open_udp(struct media__worker *w, int fd, struct media__tp *t)
{
	uv_udp_t *h = malloc(sizeof(*h));
	if (!h || uv_udp_init_ex(&w->loop, h, AF_UNSPEC | UV_UDP_RECVMMSG) != 0) {
		free(h);
		close(fd);
		return NULL;
	}
	h->data = t;
	int err = uv_udp_open(h, fd);
	if (err)
		close(fd); /* not taken by the handle */
	else
		err = uv_udp_recv_start(h, on_alloc, on_recv);
	if (err) {
		wims_log(WIMS_LOG_ERR, "media: cannot receive on port %u: %s", t->c.lport_rtp, uv_strerror(err));
		close_handle(t->sess, (uv_handle_t *)h); /* closes fd when uv_udp_open took it */
		return NULL;
	}
	return h;
}

static void tp_close(struct media__tp *t)
{
	struct wims_media_sess *s = t->sess;
	media__txq_flush(s->w); /* queued packets name these fds */
	if (t->rtp)
		close_handle(s, (uv_handle_t *)t->rtp);
	else if (t->c.fd_rtp >= 0)
		close(t->c.fd_rtp);
	if (t->rtcp)
		close_handle(s, (uv_handle_t *)t->rtcp);
	else if (t->c.fd_rtcp >= 0)
		close(t->c.fd_rtcp);
	for (unsigned i = 0; i < t->c.nalt; i++) {
		if (t->alt[i])
			close_handle(s, (uv_handle_t *)t->alt[i]);
		else if (t->c.fd_alt[i] >= 0)
			close(t->c.fd_alt[i]);
		t->alt[i] = NULL;
	}
	t->c.nalt = 0;
	t->rtp = t->rtcp = NULL;
	t->c.fd_rtp = t->c.fd_rtcp = -1;
	t->sel_fd = t->dtls_fd = -1;
}

static void apply_webrtc(struct media__worker *w, struct media__tp *t,
			 const struct wims_media_tconf *c)
{
	if (!t->ice_ready || strcmp(t->c.lufrag, c->lufrag) || strcmp(t->c.lpwd, c->lpwd)) {
		t->ice_ready = wims_ice_lite_init(&t->ice) == 0 &&
			       wims_ice_lite_set_local(&t->ice, wims_str_c(c->lufrag), wims_str_c(c->lpwd)) == 0;
		if (!t->ice_ready)
			wims_log(WIMS_LOG_ERR, "media: bad local ICE credentials");
	}
	if (c->rufrag[0] &&
	    wims_ice_lite_set_remote(&t->ice, wims_str_c(c->rufrag), wims_str_c(c->rpwd), false) < 0)
		wims_log(WIMS_LOG_WARN, "media: the peer's ICE credentials are not usable");
	bool fresh = !t->dtls || t->dtls_gen != c->dtls_gen ||
		     (t->c.dtls_client != c->dtls_client && !wims_dtls_connected(t->dtls));
	if (fresh) {
		wims_dtls_free(t->dtls);
		wims_srtp_free(t->srtp_tx);
		wims_srtp_free(t->srtp_rx);
		t->dtls = NULL;
		t->srtp_tx = t->srtp_rx = NULL;
		t->dtls_failed = t->dtls_started = false;
		if (wims_dtls_new(&t->dtls, w->m->dtls, c->dtls_client, wims_str_c(c->rfp)) < 0) {
			wims_log(WIMS_LOG_ERR, "media: cannot create a DTLS association");
			t->dtls_failed = true;
		}
		t->dtls_gen = c->dtls_gen;
	} else if (strcmp(t->c.rfp, c->rfp) && c->rfp[0]) {
		int r = wims_dtls_set_fingerprint(t->dtls, wims_str_c(c->rfp));
		if (r == WIMS_DTLS_CONNECTED) /* the handshake was over before the answer came */
			dtls_connected(t);
		else if (r < 0) {
			t->dtls_failed = true;
			wims_log(WIMS_LOG_WARN, "media: port %u: %s; no media", t->c.lport_rtp,
				 r == -EACCES ? "certificate does not match a=fingerprint"
					      : "the peer's a=fingerprint is not usable");
		}
	}
}

static void apply_sdes(struct media__tp *t, const struct wims_media_tconf *c)
{
	if (t->srtp_tx && !memcmp(t->c.tx_key, c->tx_key, sizeof(c->tx_key)) &&
	    !memcmp(t->c.rx_key, c->rx_key, sizeof(c->rx_key)) && t->c.srtp_profile == c->srtp_profile)
		return;
	wims_srtp_free(t->srtp_tx);
	wims_srtp_free(t->srtp_rx);
	t->srtp_tx = t->srtp_rx = NULL;
	if (!c->srtp_profile)
		return;
	if (wims_srtp_new(&t->srtp_tx, c->srtp_profile, c->tx_key, c->tx_salt, true) < 0 ||
	    wims_srtp_new(&t->srtp_rx, c->srtp_profile, c->rx_key, c->rx_salt, false) < 0)
		wims_log(WIMS_LOG_ERR, "media: SDES keys rejected by SRTP");
}

/* The sockets on the other media addresses (WebRTC): kept while the
 * configuration names the same fds, opened when new, closed when gone. */
static void apply_alt_fds(struct media__worker *w, struct media__tp *t, const struct wims_media_tconf *c)
{
	unsigned n = c->kind == WIMS_MT_WEBRTC && t->rtp ? c->nalt : 0;
	for (unsigned i = 0; i < WIMS_MEDIA_MAX_ADDRS - 1; i++) {
		int want = i < c->nalt ? c->fd_alt[i] : -1;
		int have = i < t->c.nalt ? t->c.fd_alt[i] : -1;
		if (i < n && want >= 0 && want == have && t->alt[i])
			continue;
		if (t->alt[i]) { /* closing the handle closes `have` */
			if (t->sel_fd == have)
				t->sel_fd = -1;
			if (t->dtls_fd == have)
				t->dtls_fd = -1;
			media__txq_flush(w);
			close_handle(t->sess, (uv_handle_t *)t->alt[i]);
			t->alt[i] = NULL;
			if (want == have)
				want = -1;
		}
		t->c.fd_alt[i] = -1;
		if (want >= 0 && i >= n)
			close(want);
		else if (want >= 0) {
			t->alt[i] = open_udp(w, want, t);
			t->c.fd_alt[i] = t->alt[i] ? want : -1;
		}
	}
	t->c.nalt = n;
}

/* The sockets of a configuration: owned by the engine once applied, so
 * every fd in c is either kept by the transport or closed here. */
static void apply_fds(struct media__worker *w, struct media__tp *t, const struct wims_media_tconf *c)
{
	int rtp = c->fd_rtp, rtcp = c->fd_rtcp;
	if (t->rtp && rtp != t->c.fd_rtp) {
		wims_log(WIMS_LOG_ERR, "media: transport %u changed sockets; ignored", t->index);
		if (rtp >= 0)
			close(rtp);
		rtp = t->c.fd_rtp;
	}
	if (!t->rtp && rtp >= 0) {
		t->rtp = open_udp(w, rtp, t);
		if (!t->rtp)
			rtp = -1;
	}
	if (rtcp != t->c.fd_rtcp && (t->rtcp || !t->rtp)) {
		/* the RTCP socket of an open transport stays; a lone one goes */
		if (rtcp >= 0)
			close(rtcp);
		rtcp = t->c.fd_rtcp;
	} else if (!t->rtcp && rtcp >= 0) {
		t->rtcp = open_udp(w, rtcp, t);
		if (!t->rtcp)
			rtcp = -1;
	}
	t->c.fd_rtp = rtp;
	t->c.fd_rtcp = rtcp;
	apply_alt_fds(w, t, c);
}

static void apply_tp(struct media__worker *w, struct media__tp *t, const struct wims_media_tconf *c)
{
	if (c->kind == WIMS_MT_NONE) {
		if (c->fd_rtp >= 0 && c->fd_rtp != t->c.fd_rtp)
			close(c->fd_rtp);
		if (c->fd_rtcp >= 0 && c->fd_rtcp != t->c.fd_rtcp)
			close(c->fd_rtcp);
		for (unsigned i = 0; i < c->nalt; i++)
			if (c->fd_alt[i] >= 0 && (i >= t->c.nalt || c->fd_alt[i] != t->c.fd_alt[i]))
				close(c->fd_alt[i]);
		tp_close(t);
		t->c.kind = WIMS_MT_NONE;
		return;
	}
	apply_fds(w, t, c);
	if (c->kind == WIMS_MT_WEBRTC)
		apply_webrtc(w, t, c);
	else if (c->kind == WIMS_MT_SDES)
		apply_sdes(t, c);
	t->rtp_to = c->remote_rtp;
	t->rtcp_to = c->remote_rtcp;
	struct wims_media_tconf kept = t->c;
	t->c = *c;
	t->c.fd_rtp = kept.fd_rtp;
	t->c.fd_rtcp = kept.fd_rtcp;
	memcpy(t->c.fd_alt, kept.fd_alt, sizeof(kept.fd_alt));
	t->c.nalt = kept.nalt;
}

/* (Re)make the transcoders of a stream whose transcoding changed. */
static void apply_xcode(struct media__stream *st, const struct wims_media_sconf *c)
{
	for (int sd = 0; sd < 2; sd++) {
		const struct wims_media_xc *want = c && c->active ? &c->xc[sd] : NULL;
		bool on = want && want->on;
		if (!on && !st->x[sd])
			continue;
		if (on && st->x[sd] && !memcmp(&st->c.xc[sd], want, sizeof(*want)))
			continue;
		wims_xcode_free(st->x[sd]);
		st->x[sd] = NULL;
		if (on && wims_xcode_new(&st->x[sd], &want->cfg) < 0)
			wims_log(WIMS_LOG_ERR, "media: cannot make a %s -> %s transcoder",
				 want->cfg.in.codec ? want->cfg.in.codec->name : "?",
				 want->cfg.out.codec ? want->cfg.out.codec->name : "?");
	}
}

/* A configuration that is not applied still hands its sockets over. */
static void conf_close_fds(const struct wims_media_sessconf *c)
{
	for (unsigned i = 0; i < c->ntransports; i++) {
		if (c->t[i].fd_rtp >= 0)
			close(c->t[i].fd_rtp);
		if (c->t[i].fd_rtcp >= 0)
			close(c->t[i].fd_rtcp);
		for (unsigned j = 0; j < c->t[i].nalt; j++)
			if (c->t[i].fd_alt[j] >= 0)
				close(c->t[i].fd_alt[j]);
	}
}

static void apply(struct media__worker *w, struct wims_media_sess *s,
		  const struct wims_media_sessconf *c)
{
	if (s->state != MEDIA__ALIVE || w->stopping) {
		conf_close_fds(c);
		return;
	}
	if (!s->timer_open) {
		uv_timer_init(&w->loop, &s->timer);
		s->timer.data = s;
		uv_timer_init(&w->loop, &s->dtmf_timer);
		s->dtmf_timer.data = s;
		s->timer_open = true;
		s->created_ms = now_ms(w);
		s->wnext = w->sessions;
		if (w->sessions)
			w->sessions->wprev = s;
		w->sessions = s;
	}
	for (unsigned i = 0; i < c->ntransports; i++)
		apply_tp(w, &s->tp[i], &c->t[i]);
	for (unsigned i = c->ntransports; i < s->ntp; i++)
		tp_close(&s->tp[i]);
	s->ntp = c->ntransports;
	for (unsigned i = 0; i < s->ntp; i++) {
		s->tp[i].stream = -1;
		memset(s->tp[i].pt_stream, 0xff, sizeof(s->tp[i].pt_stream));
	}
	unsigned users[WIMS_MEDIA_MAX_TRANSPORTS] = {0};
	for (unsigned i = 0; i < WIMS_MEDIA_MAX_STREAMS; i++)
		apply_xcode(&s->st[i], i < c->nstreams ? &c->s[i] : NULL);
	for (unsigned i = 0; i < c->nstreams; i++) {
		s->st[i].c = c->s[i];
		for (int sd = 0; sd < 2; sd++)
			if (c->s[i].ssrc_out[sd])
				s->st[i].side[sd].ssrc_out = c->s[i].ssrc_out[sd]; /* for DTMF before media */
		if (!c->s[i].active)
			continue;
		for (int sd = 0; sd < 2; sd++) {
			unsigned ti = c->s[i].t[sd];
			if (ti >= s->ntp)
				continue;
			users[ti]++;
			s->tp[ti].stream = (int)i;
			for (unsigned pt = 0; pt < 128; pt++)
				if (c->s[i].pt_map[sd][pt] != 0xff)
					s->tp[ti].pt_stream[pt] = (uint8_t)i;
		}
	}
	for (unsigned i = 0; i < s->ntp; i++)
		if (users[i] > 1)
			s->tp[i].stream = -1; /* bundle: demux by payload type */
	for (unsigned i = 0; i < c->nstreams; i++)
		for (int sd = 0; sd < 2; sd++) {
			const struct media__tp *t = &s->tp[c->s[i].t[sd]];
			if (c->s[i].active && t->c.kind != WIMS_MT_WEBRTC && t->c.has_remote)
				set_remote_text(&s->st[i].side[sd], &t->c.remote_rtp);
		}
	s->nst = c->nstreams;
	sess_timer_update(s);
}

static void sess_close(struct media__worker *w, struct wims_media_sess *s)
{
	if (s->state != MEDIA__ALIVE)
		return;
	s->state = MEDIA__CLOSING;
	if (s->timer_open) {
		if (s->wprev)
			s->wprev->wnext = s->wnext;
		else
			w->sessions = s->wnext;
		if (s->wnext)
			s->wnext->wprev = s->wprev;
	}
	s->pending_close++; /* held across the loop below */
	for (unsigned i = 0; i < WIMS_MEDIA_MAX_TRANSPORTS; i++)
		tp_close(&s->tp[i]);
	if (s->timer_open) {
		close_handle(s, (uv_handle_t *)&s->timer);
		close_handle(s, (uv_handle_t *)&s->dtmf_timer);
	}
	if (--s->pending_close == 0)
		media__sess_free(s);
}

static void stop_worker(struct media__worker *w)
{
	w->stopping = true;
	while (w->sessions)
		sess_close(w, w->sessions);
	uv_close((uv_handle_t *)&w->tick, NULL);
	uv_close((uv_handle_t *)&w->async, NULL);
	uv_close((uv_handle_t *)&w->txcheck, NULL);
	uv_close((uv_handle_t *)&w->txprep, NULL);
}

void media__worker_wake(uv_async_t *a)
{
	struct media__worker *w = a->data;
	pthread_mutex_lock(&w->lock);
	struct media__cmd *c = w->cmds;
	w->cmds = NULL;
	w->cmds_tail = &w->cmds;
	atomic_store_explicit(&w->ncmds, 0, memory_order_relaxed);
	pthread_mutex_unlock(&w->lock);
	while (c) {
		struct media__cmd *next = c->next;
		/* DELETE and STOP are embedded, and a DELETE's session (with the
		 * command) may be freed by the control thread as soon as it is
		 * processed: nothing of c is read after the dispatch */
		bool allocated = c->kind == MEDIA__CMD_APPLY || c->kind == MEDIA__CMD_DTMF;
		if (c->kind == MEDIA__CMD_APPLY)
			apply(w, c->s, c->conf);
		else if (!w->stopping) {
			if (c->kind == MEDIA__CMD_DELETE) {
				if (c->s->timer_open)
					sess_close(w, c->s);
				else { /* never applied: nothing of it is on this loop */
					c->s->state = MEDIA__CLOSING;
					media__sess_free(c->s);
				}
			} else if (c->kind == MEDIA__CMD_DTMF) {
				dtmf_start(w, c->s, c);
			} else if (c->kind == MEDIA__CMD_STOP)
				stop_worker(w);
		}
		if (allocated)
			free(c);
		c = next;
	}
}

static void on_txcheck(uv_check_t *h)
{
	struct media__worker *w = h->data;
	media__txq_flush(w);
	w->txq.rx_short = NULL;
}

static void on_txprep(uv_prepare_t *h)
{
	media__txq_flush(h->data);
}

static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts); /* vDSO: no system call on TSC clocks */
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The worker's loop.  With [media] busy_poll_us, after a packet the worker
 * polls its sockets (epoll with a zero timeout) for that long before it
 * sleeps again: a packet then finds it awake, and neither side pays the
 * sleep and the wake-up (on a VM an IPI and VM exits; 13% of the worker's
 * CPU at 800 streams in one profile).  The core stays busy while packets
 * keep coming, so nothing else should need it: under SCHED_RR the worker
 * starves ksoftirqd on its core and packets wait for the kernel's RT
 * throttling (p99 44 ms in media-performance.md).  SO_BUSY_POLL would not
 * do it: the kernel's busy polling needs a NAPI device queue behind the
 * socket (none on loopback), and epoll's needs net.core.busy_poll, a
 * machine-wide sysctl. */
static void run_loop(struct media__worker *w)
{
	unsigned spin = w->m->o.busy_poll_us;
	if (!spin) {
		uv_run(&w->loop, UV_RUN_DEFAULT);
		return;
	}
	uint64_t seen = w->rx_pkts, until = 0;
	for (;;) {
		uint64_t now = mono_us();
		until = media__spin_until(now, until, w->rx_pkts != seen, spin);
		seen = w->rx_pkts;
		if (!uv_run(&w->loop, now < until ? UV_RUN_NOWAIT : UV_RUN_ONCE))
			return;
	}
}

void *media__worker_main(void *arg)
{
	struct media__worker *w = arg;
	char name[16];
	snprintf(name, sizeof(name), "wims-media%u", w->id);
	pthread_setname_np(pthread_self(), name);
	uv_timer_init(&w->loop, &w->tick);
	w->tick.data = w;
	uv_timer_start(&w->tick, on_tick, 1000, 1000);
	uv_check_init(&w->loop, &w->txcheck);
	w->txcheck.data = w;
	uv_check_start(&w->txcheck, on_txcheck);
	uv_prepare_init(&w->loop, &w->txprep);
	w->txprep.data = w;
	uv_prepare_start(&w->txprep, on_txprep);
	run_loop(w);
	return NULL;
}
