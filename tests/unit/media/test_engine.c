/* The media engine end to end: a real engine (1 worker, 127.0.0.1) with
 * sockets of the test as its peers.  Plain <-> plain relay, WebRTC (ICE-lite
 * checks, DTLS-SRTP in both roles, SRTCP filtering) <-> plain, BUNDLE demux
 * by payload type, a wrong fingerprint and a forged check, DTMF blended into
 * a stream, re-apply, delete in every state, timeouts and max_sessions.
 * The engine's worker runs on its own thread; the control loop is pumped for
 * its events, and the test's sockets are read with poll timeouts. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "media/dtls.h"
#include "media/media.h"
#include "media/rtp.h"
#include "media/srtp.h"
#include "media/stun.h"

#define LUFRAG "gwUf"
#define LPWD "gatewaypassword0123456789"
#define RUFRAG "brWs"
#define RPWD "browserpassword012345678"
#define OTHER_FP                                                                                             \
	"sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08"

/* ---- fixture ---- */

struct fx {
	uv_loop_t loop;
	struct wims_media *m;
	struct wims_media_sess *ev_sess[8];
	void *ev_user[8];
	unsigned nev;
};

static void on_event(struct wims_media_sess *s, enum wims_media_event ev, void *arg)
{
	struct fx *f = arg;
	assert_int_equal(ev, WIMS_MEDIA_EV_TIMEOUT);
	if (f->nev < 8) {
		f->ev_sess[f->nev] = s;
		f->ev_user[f->nev] = wims_media_sess_user(s);
	}
	f->nev++;
}

static int fx_new(void **state, unsigned timeout_s, unsigned max_sessions)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	struct wims_media_opts mo = {0};
	assert_int_equal(wims_addr_parse(&mo.addr, wims_str_c("127.0.0.1"), 0), 0);
	mo.port_min = 42000;
	mo.port_max = 42999;
	mo.workers = 1;
	mo.max_sessions = max_sessions;
	mo.timeout_s = timeout_s;
	mo.consent_s = 30;
	assert_int_equal(wims_media_new(&f->m, &f->loop, &mo, on_event, f), 0);
	(void)uv_run(&f->loop, UV_RUN_NOWAIT);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return fx_new(state, 60, 300);
}

static int setup_short(void **state)
{
	return fx_new(state, 1, 2);
}

static int teardown(void **state)
{
	struct fx *f = *state;
	wims_media_free(f->m);
	for (int i = 0; i < 10 && uv_run(&f->loop, UV_RUN_NOWAIT); i++)
		;
	assert_int_equal(uv_loop_close(&f->loop), 0);
	free(f);
	return 0;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Run the control loop for ms (events, frees). */
static void pump(struct fx *f, unsigned ms)
{
	uint64_t end = mono_ms() + ms;
	do {
		(void)uv_run(&f->loop, UV_RUN_NOWAIT);
		usleep(2000);
	} while (mono_ms() < end);
	(void)uv_run(&f->loop, UV_RUN_NOWAIT);
}

/* ---- peer sockets ---- */

struct peer {
	int fd;
	struct wims_addr a;
};

static void peer_open(struct peer *p)
{
	p->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(p->fd >= 0);
	assert_int_equal(wims_addr_parse(&p->a, wims_str_c("127.0.0.1"), 0), 0);
	assert_int_equal(bind(p->fd, &p->a.u.sa, wims_addr_len(&p->a)), 0);
	socklen_t sl = sizeof(p->a.u);
	assert_int_equal(getsockname(p->fd, &p->a.u.sa, &sl), 0);
}

static void peer_close(struct peer *p)
{
	close(p->fd);
}

static void send_to(const struct peer *p, uint16_t port, const uint8_t *b, size_t n)
{
	struct wims_addr to;
	assert_int_equal(wims_addr_parse(&to, wims_str_c("127.0.0.1"), port), 0);
	assert_int_equal(sendto(p->fd, b, n, 0, &to.u.sa, wims_addr_len(&to)), (ssize_t)n);
}

/* One datagram within ms, its length (0 on timeout); *from_port its source. */
static size_t recv_ms(const struct peer *p, uint8_t *b, size_t cap, int ms, uint16_t *from_port)
{
	struct pollfd pf = {.fd = p->fd, .events = POLLIN};
	if (poll(&pf, 1, ms) <= 0)
		return 0;
	struct wims_addr from;
	socklen_t sl = sizeof(from.u);
	ssize_t n = recvfrom(p->fd, b, cap, 0, &from.u.sa, &sl);
	assert_true(n > 0);
	if (from_port)
		*from_port = wims_addr_port(&from);
	return (size_t)n;
}

static size_t rtp_make(uint8_t *b, uint8_t pt, bool marker, uint16_t seq, uint32_t ts, uint32_t ssrc,
		       size_t payload)
{
	b[0] = 0x80;
	b[1] = (uint8_t)((marker ? 0x80 : 0) | pt);
	b[2] = (uint8_t)(seq >> 8);
	b[3] = (uint8_t)seq;
	for (int i = 0; i < 4; i++) {
		b[4 + i] = (uint8_t)(ts >> (24 - 8 * i));
		b[8 + i] = (uint8_t)(ssrc >> (24 - 8 * i));
	}
	for (size_t i = 0; i < payload; i++)
		b[12 + i] = (uint8_t)(i * 7 + seq);
	return 12 + payload;
}

/* An SR without report blocks (28 bytes). */
static size_t sr_make(uint8_t *b, uint32_t ssrc)
{
	memset(b, 0, 28);
	b[0] = 0x80;
	b[1] = 200;
	b[3] = 6;
	for (int i = 0; i < 4; i++)
		b[4 + i] = (uint8_t)(ssrc >> (24 - 8 * i));
	b[8] = 0xe0; /* an NTP time */
	return 28;
}

/* transport-cc feedback: RTPFB fmt 15 with a minimal FCI (20 bytes) */
static size_t tcc_make(uint8_t *b, uint32_t ssrc, uint32_t media)
{
	memset(b, 0, 20);
	b[0] = 0x8f;
	b[1] = 205;
	b[3] = 4;
	for (int i = 0; i < 4; i++) {
		b[4 + i] = (uint8_t)(ssrc >> (24 - 8 * i));
		b[8 + i] = (uint8_t)(media >> (24 - 8 * i));
	}
	return 20;
}

/* ---- configurations ---- */

struct plain_tp {
	int fd_rtp, fd_rtcp;
	uint16_t port;
	struct peer rtp, rtcp; /* the peer's sockets */
};

static void plain_open(struct fx *f, struct plain_tp *p)
{
	assert_int_equal(wims_media_port_alloc(f->m, true, &p->fd_rtp, &p->fd_rtcp, &p->port), 0);
	peer_open(&p->rtp);
	peer_open(&p->rtcp);
}

static void plain_close(struct plain_tp *p)
{
	peer_close(&p->rtp);
	peer_close(&p->rtcp);
}

static void plain_conf(struct wims_media_tconf *t, const struct plain_tp *p)
{
	memset(t, 0, sizeof(*t));
	t->kind = WIMS_MT_PLAIN;
	t->fd_rtp = p->fd_rtp;
	t->fd_rtcp = p->fd_rtcp;
	t->lport_rtp = p->port;
	t->lport_rtcp = (uint16_t)(p->port + 1);
	t->remote_rtp = p->rtp.a;
	t->remote_rtcp = p->rtcp.a;
	t->has_remote = true;
}

static void stream_conf(struct wims_media_sconf *s, uint8_t t0, uint8_t t1, int only_pt)
{
	memset(s, 0, sizeof(*s));
	s->active = true;
	s->t[0] = t0;
	s->t[1] = t1;
	memset(s->pt_map, 0xff, sizeof(s->pt_map));
	for (unsigned pt = 0; pt < 128; pt++)
		if (only_pt < 0 || (int)pt == only_pt)
			s->pt_map[0][pt] = s->pt_map[1][pt] = (uint8_t)pt;
}

/* ---- a) plain <-> plain ---- */

static void relay_check(const struct peer *from, uint16_t to_port, const struct peer *dst, uint16_t src_port,
			const uint8_t *b, size_t n)
{
	uint8_t r[2048];
	uint16_t fp = 0;
	send_to(from, to_port, b, n);
	size_t got = recv_ms(dst, r, sizeof(r), 1000, &fp);
	assert_int_equal(got, n);
	assert_memory_equal(r, b, n);
	assert_int_equal(fp, src_port);
}

static void plain_pair(struct fx *f, struct wims_media_sess **sp, struct plain_tp *a, struct plain_tp *b)
{
	plain_open(f, a);
	plain_open(f, b);
	assert_int_equal(wims_media_sess_new(f->m, sp, a), 0);
	struct wims_media_sessconf c;
	memset(&c, 0, sizeof(c));
	c.ntransports = 2;
	plain_conf(&c.t[0], a);
	plain_conf(&c.t[1], b);
	c.nstreams = 1;
	stream_conf(&c.s[0], 0, 1, -1);
	assert_int_equal(wims_media_sess_apply(*sp, &c), 0);
}

static void test_plain_relay(void **state)
{
	struct fx *f = *state;
	struct wims_media_sess *s;
	struct plain_tp a, b;
	plain_pair(f, &s, &a, &b);
	assert_ptr_equal(wims_media_sess_user(s), &a);
	uint8_t p[512];
	size_t n = rtp_make(p, 0, true, 1000, 160, 0x11111111, 160);
	relay_check(&a.rtp, a.port, &b.rtp, b.port, p, n);
	n = rtp_make(p, 8, false, 7, 320, 0x22222222, 80);
	relay_check(&b.rtp, b.port, &a.rtp, a.port, p, n);
	/* RTCP port to RTCP port */
	n = sr_make(p, 0x11111111);
	relay_check(&a.rtcp, (uint16_t)(a.port + 1), &b.rtcp, (uint16_t)(b.port + 1), p, n);
	/* from an address nobody signalled: dropped */
	struct peer x;
	peer_open(&x);
	n = rtp_make(p, 0, false, 1001, 320, 0x11111111, 160);
	send_to(&x, a.port, p, n);
	send_to(&x, (uint16_t)(a.port + 1), p, n);
	uint8_t r[2048];
	assert_int_equal(recv_ms(&b.rtp, r, sizeof(r), 200, NULL), 0);
	assert_int_equal(recv_ms(&b.rtcp, r, sizeof(r), 50, NULL), 0);
	peer_close(&x);
	pump(f, 30); /* the worker counts after it sent */
	struct wims_media_counters c0, c1;
	wims_media_sess_counters(s, 0, 0, &c0);
	wims_media_sess_counters(s, 0, 1, &c1);
	assert_int_equal(c0.packets_in, 1);
	assert_int_equal(c0.bytes_in, 172);
	assert_int_equal(c0.packets_out, 1);
	assert_int_equal(c0.bytes_out, 92);
	assert_int_equal(c1.packets_in, 1);
	assert_int_equal(c1.packets_out, 1);
	assert_int_equal(c1.bytes_out, 172);
	assert_int_equal(c0.rtcp_in, 1);
	assert_int_equal(c1.rtcp_out, 1);
	assert_true(c0.last_in_ms > 0);
	char want[WIMS_ADDR_STRLEN];
	assert_true(wims_addr_str(&b.rtp.a, want, sizeof(want)) >= 0);
	assert_string_equal(c1.remote, want);
	/* out-of-range queries read zeros */
	wims_media_sess_counters(s, WIMS_MEDIA_MAX_STREAMS, 0, &c0);
	assert_int_equal(c0.packets_in, 0);
	wims_media_sess_delete(s);
	pump(f, 50);
	assert_int_equal(wims_media_sessions(f->m), 0);
	plain_close(&a);
	plain_close(&b);
}

/* ---- WebRTC peer ---- */

struct web {
	struct peer p;
	int fd;
	uint16_t port;
	struct wims_dtls_ctx *ctx;
	struct wims_dtls *d;
	struct wims_srtp *tx, *rx;
};

static void web_open(struct fx *f, struct web *w)
{
	memset(w, 0, sizeof(*w));
	int none;
	assert_int_equal(wims_media_port_alloc(f->m, false, &w->fd, &none, &w->port), 0);
	assert_int_equal(none, -1);
	peer_open(&w->p);
	assert_int_equal(wims_dtls_ctx_new(&w->ctx, NULL, NULL), 0);
}

static void web_close(struct web *w)
{
	wims_srtp_free(w->tx);
	wims_srtp_free(w->rx);
	wims_dtls_free(w->d);
	wims_dtls_ctx_free(w->ctx);
	peer_close(&w->p);
}

static void web_conf(struct wims_media_tconf *t, const struct web *w, bool gw_client, const char *fp)
{
	memset(t, 0, sizeof(*t));
	t->kind = WIMS_MT_WEBRTC;
	t->fd_rtp = w->fd;
	t->fd_rtcp = -1;
	t->lport_rtp = w->port;
	t->rtcp_mux = true;
	snprintf(t->lufrag, sizeof(t->lufrag), "%s", LUFRAG);
	snprintf(t->lpwd, sizeof(t->lpwd), "%s", LPWD);
	snprintf(t->rufrag, sizeof(t->rufrag), "%s", RUFRAG);
	snprintf(t->rpwd, sizeof(t->rpwd), "%s", RPWD);
	snprintf(t->rfp, sizeof(t->rfp), "%s", fp ? fp : wims_dtls_ctx_fingerprint(w->ctx));
	t->dtls_client = gw_client;
	t->dtls_gen = 1;
}

/* A nominating check; true when a success response with a valid
 * MESSAGE-INTEGRITY (keyed with the gateway's password) comes back. */
static bool web_check(struct web *w, const char *pwd)
{
	uint8_t b[1500], txid[12];
	for (int i = 0; i < 12; i++)
		txid[i] = (uint8_t)(rand() & 0xff);
	size_t n = wims_stun_binding_request(b, sizeof(b), txid, wims_str_c(LUFRAG ":" RUFRAG), pwd, strlen(pwd),
					     0x6e7f00ff, true, 0x1234567890abcdefull, true);
	assert_true(n > 0);
	send_to(&w->p, w->port, b, n);
	uint16_t fp = 0;
	n = recv_ms(&w->p, b, sizeof(b), 300, &fp);
	if (!n)
		return false;
	assert_int_equal(fp, w->port);
	struct wims_stun_msg m;
	assert_int_equal(wims_stun_parse(&m, b, n, NULL), 0);
	assert_int_equal(m.type, WIMS_STUN_BINDING_SUCCESS);
	assert_memory_equal(m.txid, txid, 12);
	assert_true(wims_stun_check_integrity(&m, b, n, LPWD, strlen(LPWD)));
	assert_true(m.has_xor_mapped);
	assert_true(wims_addr_eq(&m.xor_mapped, &w->p.a));
	return true;
}

static void web_flush(struct web *w)
{
	uint8_t b[2048];
	size_t n;
	while ((n = wims_dtls_output(w->d, b, sizeof(b))) > 0)
		send_to(&w->p, w->port, b, n);
}

/* DTLS with the gateway (we are the client unless gw_client); true when
 * connected, with SRTP contexts from the exported keys. */
static bool web_dtls(struct web *w, bool gw_client, const char *gw_fp)
{
	assert_int_equal(wims_dtls_new(&w->d, w->ctx, !gw_client, wims_str_c(gw_fp)), 0);
	if (!gw_client) {
		assert_int_equal(wims_dtls_start(w->d), 0);
		web_flush(w);
	}
	uint64_t end = mono_ms() + 3000;
	while (!wims_dtls_connected(w->d) && mono_ms() < end) {
		uint8_t b[2048];
		size_t n = recv_ms(&w->p, b, sizeof(b), 50, NULL);
		if (n && b[0] >= 20 && b[0] <= 63) {
			int r = wims_dtls_input(w->d, b, n);
			web_flush(w);
			if (r < 0)
				return false;
		} else if (wims_dtls_timeout_ms(w->d) == 0) {
			wims_dtls_on_timeout(w->d);
			web_flush(w);
		}
	}
	if (!wims_dtls_connected(w->d))
		return false;
	struct wims_srtp_keys k;
	assert_int_equal(wims_dtls_srtp_keys(w->d, &k), 0);
	assert_int_equal(wims_srtp_new(&w->tx, k.profile, k.tx_key, k.tx_salt, true), 0);
	assert_int_equal(wims_srtp_new(&w->rx, k.profile, k.rx_key, k.rx_salt, false), 0);
	return true;
}

static void web_send(struct web *w, const uint8_t *p, size_t n, bool rtcp)
{
	uint8_t b[2048];
	memcpy(b, p, n);
	assert_int_equal(rtcp ? wims_srtp_protect_rtcp(w->tx, b, &n, sizeof(b))
			      : wims_srtp_protect_rtp(w->tx, b, &n, sizeof(b)),
			 0);
	send_to(&w->p, w->port, b, n);
}

/* The next SRTP packet from the gateway, unprotected; 0 on timeout. */
static size_t web_recv(struct web *w, uint8_t *b, size_t cap, int ms)
{
	uint64_t end = mono_ms() + (uint64_t)ms;
	while (mono_ms() < end) {
		size_t n = recv_ms(&w->p, b, cap, 50, NULL);
		if (!n || b[0] < 128 || b[0] > 191)
			continue; /* DTLS retransmissions and the like */
		bool rtcp = wims_pkt_classify(b, n) == WIMS_PKT_RTCP;
		assert_int_equal(rtcp ? wims_srtp_unprotect_rtcp(w->rx, b, &n) : wims_srtp_unprotect_rtp(w->rx, b, &n),
				 0);
		return n;
	}
	return 0;
}

/* ---- b) WebRTC <-> plain ---- */

static void webrtc_plain(struct fx *f, bool gw_client)
{
	struct web w;
	struct plain_tp b;
	struct wims_media_sess *s;
	web_open(f, &w);
	plain_open(f, &b);
	assert_int_equal(wims_media_sess_new(f->m, &s, NULL), 0);
	struct wims_media_sessconf c;
	memset(&c, 0, sizeof(c));
	c.ntransports = 2;
	web_conf(&c.t[0], &w, gw_client, NULL);
	plain_conf(&c.t[1], &b);
	c.nstreams = 1;
	stream_conf(&c.s[0], 0, 1, -1);
	assert_int_equal(wims_media_sess_apply(s, &c), 0);
	pump(f, 20);
	assert_true(web_check(&w, LPWD));
	assert_true(web_dtls(&w, gw_client, wims_media_fingerprint(f->m)));

	uint8_t p[512], r[2048];
	size_t n = rtp_make(p, 111, true, 500, 960, 0xabcdef01, 100);
	web_send(&w, p, n, false);
	uint16_t fp = 0;
	size_t got = recv_ms(&b.rtp, r, sizeof(r), 1000, &fp);
	assert_int_equal(got, n);
	assert_memory_equal(r, p, n);
	assert_int_equal(fp, b.port);

	n = rtp_make(p, 111, false, 9, 1920, 0x55667788, 60);
	send_to(&b.rtp, b.port, p, n);
	got = web_recv(&w, r, sizeof(r), 1000);
	assert_int_equal(got, n);
	assert_memory_equal(r, p, n);

	/* SRTCP toward the plain side: transport-cc dropped, the SR passed */
	n = tcc_make(p, 0xabcdef01, 0x55667788);
	web_send(&w, p, n, true);
	assert_int_equal(recv_ms(&b.rtcp, r, sizeof(r), 200, NULL), 0);
	n = sr_make(p, 0xabcdef01);
	web_send(&w, p, n, true);
	got = recv_ms(&b.rtcp, r, sizeof(r), 1000, &fp);
	assert_int_equal(got, n);
	assert_memory_equal(r, p, n);
	assert_int_equal(fp, b.port + 1);
	/* and an SR of the plain side reaches the browser as SRTCP */
	n = sr_make(p, 0x55667788);
	send_to(&b.rtcp, (uint16_t)(b.port + 1), p, n);
	got = web_recv(&w, r, sizeof(r), 1000);
	assert_int_equal(got, n);
	assert_memory_equal(r, p, n);

	pump(f, 30); /* the worker counts after it sent */
	struct wims_media_counters c0;
	wims_media_sess_counters(s, 0, 0, &c0);
	assert_int_equal(c0.packets_in, 1);
	assert_int_equal(c0.packets_out, 1);
	assert_int_equal(c0.rtcp_in, 2);
	assert_int_equal(c0.rtcp_out, 1);
	char want[WIMS_ADDR_STRLEN];
	assert_true(wims_addr_str(&w.p.a, want, sizeof(want)) >= 0);
	assert_string_equal(c0.remote, want);
	wims_media_sess_delete(s);
	pump(f, 30);
	web_close(&w);
	plain_close(&b);
}

static void test_webrtc_plain_gw_server(void **state)
{
	webrtc_plain(*state, false);
}

static void test_webrtc_plain_gw_client(void **state)
{
	webrtc_plain(*state, true);
}

/* ---- c) BUNDLE ---- */

static void test_bundle(void **state)
{
	struct fx *f = *state;
	struct web w;
	struct plain_tp a, v;
	struct wims_media_sess *s;
	web_open(f, &w);
	plain_open(f, &a);
	plain_open(f, &v);
	assert_int_equal(wims_media_sess_new(f->m, &s, NULL), 0);
	struct wims_media_sessconf c;
	memset(&c, 0, sizeof(c));
	c.ntransports = 3;
	web_conf(&c.t[0], &w, false, NULL);
	plain_conf(&c.t[1], &a);
	plain_conf(&c.t[2], &v);
	c.nstreams = 2;
	stream_conf(&c.s[0], 0, 1, 111);
	stream_conf(&c.s[1], 0, 2, 96);
	c.s[1].video = true;
	assert_int_equal(wims_media_sess_apply(s, &c), 0);
	pump(f, 20);
	assert_true(web_check(&w, LPWD));
	assert_true(web_dtls(&w, false, wims_media_fingerprint(f->m)));

	uint8_t p[512], r[2048];
	for (int round = 0; round < 2; round++) {
		size_t n = rtp_make(p, 111, false, (uint16_t)(10 + round), 960, 0xa0a0a0a0, 80);
		web_send(&w, p, n, false);
		assert_int_equal(recv_ms(&a.rtp, r, sizeof(r), 1000, NULL), n);
		assert_memory_equal(r, p, n);
		n = rtp_make(p, 96, true, (uint16_t)(20 + round), 3000, 0xb0b0b0b0, 300);
		web_send(&w, p, n, false);
		assert_int_equal(recv_ms(&v.rtp, r, sizeof(r), 1000, NULL), n);
		assert_memory_equal(r, p, n);
	}
	assert_int_equal(recv_ms(&a.rtp, r, sizeof(r), 100, NULL), 0);
	/* a payload type of neither stream goes nowhere */
	size_t n = rtp_make(p, 0, false, 30, 0, 0xa0a0a0a0, 80);
	web_send(&w, p, n, false);
	assert_int_equal(recv_ms(&a.rtp, r, sizeof(r), 150, NULL), 0);
	assert_int_equal(recv_ms(&v.rtp, r, sizeof(r), 10, NULL), 0);
	/* back from both plain sides over the one transport */
	n = rtp_make(p, 96, false, 5, 90000, 0xc0c0c0c0, 200);
	send_to(&v.rtp, v.port, p, n);
	assert_int_equal(web_recv(&w, r, sizeof(r), 1000), n);
	assert_memory_equal(r, p, n);
	n = rtp_make(p, 111, false, 6, 48000, 0xd0d0d0d0, 50);
	send_to(&a.rtp, a.port, p, n);
	assert_int_equal(web_recv(&w, r, sizeof(r), 1000), n);
	assert_memory_equal(r, p, n);

	pump(f, 30); /* the worker counts after it sent */
	struct wims_media_counters ca, cv;
	wims_media_sess_counters(s, 0, 0, &ca);
	wims_media_sess_counters(s, 1, 0, &cv);
	assert_int_equal(ca.packets_in, 2);
	assert_int_equal(cv.packets_in, 2);
	assert_int_equal(ca.packets_out, 1);
	assert_int_equal(cv.packets_out, 1);
	wims_media_sess_delete(s);
	pump(f, 30);
	web_close(&w);
	plain_close(&a);
	plain_close(&v);
}

/* ---- d) wrong fingerprint, forged check ---- */

static void test_bad_fingerprint_and_integrity(void **state)
{
	struct fx *f = *state;
	struct web w;
	struct plain_tp b;
	struct wims_media_sess *s;
	web_open(f, &w);
	plain_open(f, &b);
	assert_int_equal(wims_media_sess_new(f->m, &s, NULL), 0);
	struct wims_media_sessconf c;
	memset(&c, 0, sizeof(c));
	c.ntransports = 2;
	web_conf(&c.t[0], &w, false, OTHER_FP);
	plain_conf(&c.t[1], &b);
	c.nstreams = 1;
	stream_conf(&c.s[0], 0, 1, -1);
	assert_int_equal(wims_media_sess_apply(s, &c), 0);
	pump(f, 20);
	/* a check keyed with another password gets no answer at all */
	assert_false(web_check(&w, "notthegatewaypassword0123"));
	assert_true(web_check(&w, LPWD));
	bool up = web_dtls(&w, false, wims_media_fingerprint(f->m));
	uint8_t p[512], r[2048];
	size_t n = rtp_make(p, 111, false, 1, 960, 0xabcdef01, 100);
	if (up) /* our side may believe it; the gateway must not */
		web_send(&w, p, n, false);
	else
		send_to(&w.p, w.port, p, n);
	assert_int_equal(recv_ms(&b.rtp, r, sizeof(r), 300, NULL), 0);
	/* nor does anything go the other way */
	send_to(&b.rtp, b.port, p, n);
	uint64_t end = mono_ms() + 200;
	while (mono_ms() < end) {
		size_t got = recv_ms(&w.p, r, sizeof(r), 50, NULL);
		assert_true(got == 0 || (r[0] >= 20 && r[0] <= 63));
	}
	struct wims_media_counters c0;
	wims_media_sess_counters(s, 0, 0, &c0);
	assert_int_equal(c0.packets_in, 0);
	assert_int_equal(c0.packets_out, 0);
	wims_media_sess_delete(s);
	pump(f, 30);
	web_close(&w);
	plain_close(&b);
}

/* ---- e) DTMF ---- */

static void test_dtmf(void **state)
{
	struct fx *f = *state;
	struct wims_media_sess *s;
	struct plain_tp a, b;
	plain_pair(f, &s, &a, &b);
	uint8_t p[512], r[2048];
	/* DTMF before any media toward that side is not sent */
	assert_int_equal(wims_media_sess_dtmf(s, 0, 1, 5, 100, 101, 8000), 0);
	assert_int_equal(recv_ms(&b.rtp, r, sizeof(r), 150, NULL), 0);
	assert_int_equal(wims_media_sess_dtmf(s, 0, 2, 5, 100, 101, 8000), -EINVAL);
	assert_int_equal(wims_media_sess_dtmf(s, 0, 1, 16, 100, 101, 8000), -EINVAL);
	assert_int_equal(wims_media_sess_dtmf(s, 0, 1, 5, 100, 128, 8000), -EINVAL);
	assert_int_equal(wims_media_sess_dtmf(s, 0, 1, 5, 100, 101, 0), -EINVAL);
	for (uint16_t i = 0; i < 3; i++) {
		size_t n = rtp_make(p, 0, i == 0, (uint16_t)(65534 + i), 1000u + 160u * i, 0xfeedf00d, 160);
		relay_check(&a.rtp, a.port, &b.rtp, b.port, p, n);
	}
	assert_int_equal(wims_media_sess_dtmf(s, 0, 1, 5, 200, 101, 8000), 0);
	uint16_t seq = 0; /* the last sent was 65534 + 2 = 0 */
	unsigned ends = 0, count = 0;
	uint32_t ts0 = 0;
	while (ends < 3) {
		size_t n = recv_ms(&b.rtp, r, sizeof(r), 1000, NULL);
		assert_int_equal(n, 16);
		struct wims_rtp_hdr h;
		assert_int_equal(wims_rtp_parse(&h, r, n), 0);
		assert_int_equal(h.pt, 101);
		assert_int_equal(h.ssrc, 0xfeedf00d);
		seq++;
		assert_int_equal(h.seq, seq);
		assert_int_equal(h.marker, count == 0);
		if (count == 0) {
			ts0 = h.ts;
			assert_true(ts0 - 1320u < 8000u); /* after the last packet's, in its timeline */
		}
		assert_int_equal(h.ts, ts0);
		assert_int_equal(r[12], 5);
		if (r[13] & 0x80)
			ends++;
		else
			assert_int_equal(ends, 0);
		count++;
		assert_true(count < 20);
	}
	assert_true(count >= 4);
	uint16_t dur = (uint16_t)(r[14] << 8 | r[15]);
	assert_int_equal(dur, 1600);
	assert_int_equal(recv_ms(&b.rtp, r, sizeof(r), 150, NULL), 0);
	/* later RTP continues after the events */
	size_t n = rtp_make(p, 0, false, 1, 1480, 0xfeedf00d, 160);
	send_to(&a.rtp, a.port, p, n);
	assert_int_equal(recv_ms(&b.rtp, r, sizeof(r), 1000, NULL), n);
	assert_int_equal((uint16_t)(r[2] << 8 | r[3]), (uint16_t)(1 + count));
	assert_memory_equal(r + 4, p + 4, n - 4);
	pump(f, 30); /* the worker counts after it sent */
	struct wims_media_counters c1;
	wims_media_sess_counters(s, 0, 1, &c1);
	assert_int_equal(c1.packets_out, 4 + count);
	wims_media_sess_delete(s);
	pump(f, 30);
	plain_close(&a);
	plain_close(&b);
}

/* ---- f) re-apply, deletes, many sessions, timeout ---- */

static void test_reapply_remote(void **state)
{
	struct fx *f = *state;
	struct wims_media_sess *s;
	struct plain_tp a, b;
	plain_pair(f, &s, &a, &b);
	uint8_t p[512], r[2048];
	size_t n = rtp_make(p, 0, false, 1, 0, 0x1234, 100);
	relay_check(&a.rtp, a.port, &b.rtp, b.port, p, n);
	struct peer b2;
	peer_open(&b2);
	struct wims_media_sessconf c;
	memset(&c, 0, sizeof(c));
	c.ntransports = 2;
	plain_conf(&c.t[0], &a);
	plain_conf(&c.t[1], &b);
	c.t[1].remote_rtp = b2.a;
	c.nstreams = 1;
	stream_conf(&c.s[0], 0, 1, -1);
	assert_int_equal(wims_media_sess_apply(s, &c), 0);
	pump(f, 30);
	n = rtp_make(p, 0, false, 2, 160, 0x1234, 100);
	relay_check(&a.rtp, a.port, &b2, b.port, p, n);
	assert_int_equal(recv_ms(&b.rtp, r, sizeof(r), 100, NULL), 0);
	/* the old address of that side is no longer taken as a source */
	send_to(&b.rtp, b.port, p, n);
	assert_int_equal(recv_ms(&a.rtp, r, sizeof(r), 150, NULL), 0);
	relay_check(&b2, b.port, &a.rtp, a.port, p, n);
	/* a stream naming a transport that is not there is refused */
	c.s[0].t[1] = 7;
	assert_int_equal(wims_media_sess_apply(s, &c), -EINVAL);
	c.s[0].t[1] = 1;
	/* the transport removed, then added back with new sockets in one go */
	struct wims_media_sessconf c2 = c;
	c2.t[1].kind = WIMS_MT_NONE;
	c2.t[1].fd_rtp = c2.t[1].fd_rtcp = -1;
	c2.s[0].active = false;
	assert_int_equal(wims_media_sess_apply(s, &c2), 0);
	int nfd, nfd2;
	uint16_t nport;
	assert_int_equal(wims_media_port_alloc(f->m, true, &nfd, &nfd2, &nport), 0);
	c.t[1].fd_rtp = nfd;
	c.t[1].fd_rtcp = nfd2;
	c.t[1].lport_rtp = nport;
	assert_int_equal(wims_media_sess_apply(s, &c), 0);
	pump(f, 30);
	relay_check(&a.rtp, a.port, &b2, nport, p, n);
	relay_check(&b2, nport, &a.rtp, a.port, p, n);
	wims_media_sess_delete(s);
	pump(f, 30);
	assert_int_equal(wims_media_sessions(f->m), 0);
	peer_close(&b2);
	plain_close(&a);
	plain_close(&b);
}

static void test_delete_cases(void **state)
{
	struct fx *f = *state;
	/* never applied */
	struct wims_media_sess *s;
	assert_int_equal(wims_media_sess_new(f->m, &s, NULL), 0);
	assert_int_equal(wims_media_sessions(f->m), 1);
	wims_media_sess_delete(s);
	pump(f, 30);
	assert_int_equal(wims_media_sessions(f->m), 0);
	/* applied and deleted at once, with DTMF queued */
	struct plain_tp a, b;
	plain_pair(f, &s, &a, &b);
	assert_int_equal(wims_media_sess_dtmf(s, 0, 1, 1, 100, 101, 8000), 0);
	wims_media_sess_delete(s);
	pump(f, 30);
	plain_close(&a);
	plain_close(&b);
	/* while packets flow both ways */
	plain_pair(f, &s, &a, &b);
	uint8_t p[512];
	for (int i = 0; i < 200; i++) {
		size_t n = rtp_make(p, 0, false, (uint16_t)i, 160u * (unsigned)i, 0x777, 160);
		send_to(&a.rtp, a.port, p, n);
		send_to(&b.rtp, b.port, p, n);
		if (i == 100)
			wims_media_sess_delete(s);
	}
	pump(f, 50);
	assert_int_equal(wims_media_sessions(f->m), 0);
	plain_close(&a);
	plain_close(&b);
}

static void test_many_sessions(void **state)
{
	struct fx *f = *state;
	struct wims_media_sess *ss[50];
	struct plain_tp a[50], b[50];
	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < 50; i++)
			plain_pair(f, &ss[i], &a[i], &b[i]);
		assert_int_equal(wims_media_sessions(f->m), 50);
		uint8_t p[256];
		size_t n = rtp_make(p, 0, false, 1, 0, 0x99, 100);
		for (int i = 0; i < 50; i += 7)
			relay_check(&a[i].rtp, a[i].port, &b[i].rtp, b[i].port, p, n);
		for (int i = 0; i < 50; i++)
			wims_media_sess_delete(ss[i]);
		for (int i = 0; i < 50; i++)
			plain_close(&a[i]), plain_close(&b[i]);
		pump(f, 50);
		assert_int_equal(wims_media_sessions(f->m), 0);
	}
	/* sessions left to wims_media_free (applied or not) are dropped there */
	struct wims_media_sess *s;
	assert_int_equal(wims_media_sess_new(f->m, &s, NULL), 0);
	plain_pair(f, &s, &a[0], &b[0]);
	plain_close(&a[0]);
	plain_close(&b[0]);
}

/* Bursts on many sessions at once: the worker queues what one poll brought
 * and sends it with sendmmsg; every packet arrives, in order, unchanged
 * (more than the queue and the receive ring hold in one turn). */
static void test_burst_order(void **state)
{
	struct fx *f = *state;
	enum { NS = 16, NP = 40 };
	struct wims_media_sess *ss[NS];
	struct plain_tp a[NS], b[NS];
	for (int i = 0; i < NS; i++)
		plain_pair(f, &ss[i], &a[i], &b[i]);
	uint8_t p[256], r[2048];
	size_t n = rtp_make(p, 0, false, 0, 0, 0x77, 160);
	relay_check(&a[0].rtp, a[0].port, &b[0].rtp, b[0].port, p, n); /* applied */
	for (int k = 1; k <= NP; k++)
		for (int i = 0; i < NS; i++) {
			n = rtp_make(p, 0, false, (uint16_t)(k * 100 + i), 0, 0x77, 160);
			send_to(&a[i].rtp, a[i].port, p, n);
		}
	for (int i = 0; i < NS; i++)
		for (int k = 1; k <= NP; k++) {
			size_t want = rtp_make(p, 0, false, (uint16_t)(k * 100 + i), 0, 0x77, 160);
			size_t got = recv_ms(&b[i].rtp, r, sizeof(r), 1000, NULL);
			assert_int_equal(got, want);
			assert_memory_equal(r, p, want);
		}
	for (int i = 0; i < NS; i++) {
		wims_media_sess_delete(ss[i]);
		plain_close(&a[i]);
		plain_close(&b[i]);
	}
	pump(f, 50);
	assert_int_equal(wims_media_sessions(f->m), 0);
}

static void test_timeout(void **state)
{
	struct fx *f = *state;
	struct wims_media_sess *s;
	struct plain_tp a, b;
	plain_pair(f, &s, &a, &b);
	uint64_t end = mono_ms() + 4000;
	while (!f->nev && mono_ms() < end)
		pump(f, 20);
	assert_int_equal(f->nev, 1);
	assert_ptr_equal(f->ev_sess[0], s);
	assert_ptr_equal(f->ev_user[0], &a);
	/* once */
	pump(f, 1200);
	assert_int_equal(f->nev, 1);
	wims_media_sess_delete(s);
	pump(f, 30);
	plain_close(&a);
	plain_close(&b);
}

/* An event already queued for a session deleted meanwhile is not delivered. */
static void test_timeout_after_delete(void **state)
{
	struct fx *f = *state;
	struct wims_media_sess *s;
	struct plain_tp a, b;
	plain_pair(f, &s, &a, &b);
	usleep(2600 * 1000); /* the worker posts the event; the control loop is not run */
	wims_media_sess_delete(s);
	pump(f, 100);
	assert_int_equal(f->nev, 0);
	assert_int_equal(wims_media_sessions(f->m), 0);
	plain_close(&a);
	plain_close(&b);
}

/* ---- g) max_sessions ---- */

static void test_max_sessions(void **state)
{
	struct fx *f = *state;
	struct wims_media_sess *s1, *s2, *s3 = NULL;
	assert_int_equal(wims_media_sess_new(f->m, &s1, NULL), 0);
	assert_int_equal(wims_media_sess_new(f->m, &s2, NULL), 0);
	assert_int_equal(wims_media_sess_new(f->m, &s3, NULL), -EBUSY);
	assert_null(s3);
	wims_media_sess_delete(s1);
	pump(f, 30);
	assert_int_equal(wims_media_sess_new(f->m, &s3, NULL), 0);
	assert_int_equal(wims_media_sess_new(f->m, &s1, NULL), -EBUSY);
	wims_media_sess_delete(s2);
	wims_media_sess_delete(s3);
	pump(f, 30);
	assert_int_equal(wims_media_sessions(f->m), 0);
}

static void test_port_alloc(void **state)
{
	struct fx *f = *state;
	int a, b;
	uint16_t port;
	assert_int_equal(wims_media_port_alloc(f->m, true, &a, &b, &port), 0);
	assert_true(port >= 42000 && port < 42999);
	assert_int_equal(port % 2, 0);
	assert_true(a >= 0 && b >= 0);
	wims_media_port_free(a, b);
	assert_int_equal(wims_media_port_alloc(f->m, false, &a, &b, &port), 0);
	assert_int_equal(b, -1);
	wims_media_port_free(a, b);
	assert_non_null(wims_media_addr(f->m));
	assert_int_equal(strncmp(wims_media_fingerprint(f->m), "sha-256 ", 8), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_port_alloc, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_plain_relay, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_webrtc_plain_gw_server, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_webrtc_plain_gw_client, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bundle, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_fingerprint_and_integrity, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dtmf, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reapply_remote, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delete_cases, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_many_sessions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_burst_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_timeout, setup_short, teardown),
	    cmocka_unit_test_setup_teardown(test_timeout_after_delete, setup_short, teardown),
	    cmocka_unit_test_setup_teardown(test_max_sessions, setup_short, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
