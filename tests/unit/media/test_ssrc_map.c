/* SSRC rewriting toward a browser (wims_media_sconf.ssrc_out) and the RTCP
 * translation that goes with it: wims_rtcp_map_ssrc on every RTCP packet
 * type that carries SSRCs, then a real engine (1 worker, 127.0.0.1, two
 * plain transports) rewriting RTP and translating RTCP both ways. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "media/media.h"
#include "media/rtp.h"

#define REAL_A 0x11111111u /* what side 0 sends */
#define REAL_B 0x22222222u /* what side 1 sends */
#define OURS_B 0xabcd0001u /* what the engine sends side 1 */

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* An RTCP header: V=2, count, pt, length in words - 1 (from the byte count). */
static void hdr(uint8_t *p, uint8_t count, uint8_t pt, size_t bytes)
{
	p[0] = (uint8_t)(0x80 | count);
	p[1] = pt;
	p[2] = (uint8_t)((bytes / 4 - 1) >> 8);
	p[3] = (uint8_t)(bytes / 4 - 1);
}

/* ---- wims_rtcp_map_ssrc ---- */

static void test_map_sr_rr(void **state)
{
	(void)state;
	uint8_t p[52 + 32];
	memset(p, 0, sizeof(p));
	hdr(p, 1, WIMS_RTCP_SR, 52); /* SR from A, one block about B */
	put32(p + 4, REAL_A);
	put32(p + 8, 0xe0000000u);
	put32(p + 28, REAL_B);
	put32(p + 32, REAL_A); /* a block field that happens to equal: not an SSRC, kept */
	hdr(p + 52, 1, WIMS_RTCP_RR, 32); /* RR from A about B */
	put32(p + 56, REAL_A);
	put32(p + 60, REAL_B);
	assert_int_equal(wims_rtcp_map_ssrc(p, sizeof(p), REAL_A, OURS_B), 2);
	assert_int_equal(get32(p + 4), OURS_B);
	assert_int_equal(get32(p + 28), REAL_B);
	assert_int_equal(get32(p + 32), REAL_A);
	assert_int_equal(get32(p + 56), OURS_B);
	assert_int_equal(get32(p + 60), REAL_B);
	/* report blocks naming the SSRC */
	assert_int_equal(wims_rtcp_map_ssrc(p, sizeof(p), REAL_B, 7), 2);
	assert_int_equal(get32(p + 28), 7);
	assert_int_equal(get32(p + 60), 7);
	/* the same SSRC both ways, no buffer: nothing */
	assert_int_equal(wims_rtcp_map_ssrc(p, sizeof(p), 7, 7), 0);
	assert_int_equal(wims_rtcp_map_ssrc(NULL, 0, 1, 2), 0);
}

static void test_map_sdes_bye(void **state)
{
	(void)state;
	/* SDES: two chunks, A (CNAME "abc", NOTE "x") and B (CNAME "wxyz") */
	uint8_t p[32 + 12];
	memset(p, 0, sizeof(p));
	size_t at = 4;
	put32(p + at, REAL_A);
	at += 4;
	const uint8_t a_items[] = {1, 3, 'a', 'b', 'c', 7, 1, 'x', 0, 0, 0, 0};
	memcpy(p + at, a_items, sizeof(a_items));
	at += sizeof(a_items);
	put32(p + at, REAL_A); /* a second chunk of the same SSRC (a sender listing it twice) */
	at += 4;
	const uint8_t b_items[] = {1, 4, 'w', 'x', 'y', 'z', 0, 0};
	memcpy(p + at, b_items, sizeof(b_items));
	at += sizeof(b_items);
	assert_int_equal(at, 32);
	hdr(p, 2, WIMS_RTCP_SDES, 32);
	hdr(p + 32, 2, WIMS_RTCP_BYE, 12);
	put32(p + 36, REAL_B);
	put32(p + 40, REAL_A);
	assert_int_equal(wims_rtcp_map_ssrc(p, sizeof(p), REAL_A, OURS_B), 3);
	assert_int_equal(get32(p + 4), OURS_B);
	assert_int_equal(get32(p + 20), OURS_B);
	assert_memory_equal(p + 8, a_items, sizeof(a_items)); /* items untouched */
	assert_int_equal(get32(p + 36), REAL_B);
	assert_int_equal(get32(p + 40), OURS_B);
	/* an item running past the packet: the chunk walk stops, no overrun */
	uint8_t q[12] = {0};
	hdr(q, 2, WIMS_RTCP_SDES, 12);
	put32(q + 4, REAL_A);
	q[8] = 1;
	q[9] = 200;
	assert_int_equal(wims_rtcp_map_ssrc(q, sizeof(q), REAL_A, OURS_B), 1);
}

static void test_map_feedback(void **state)
{
	(void)state;
	/* NACK, PLI, FIR (2 entries), TMMBR, REMB (2 SSRCs), from B about OURS_B */
	uint8_t p[16 + 12 + 28 + 20 + 28];
	memset(p, 0, sizeof(p));
	uint8_t *q = p;
	hdr(q, 1, WIMS_RTCP_RTPFB, 16); /* NACK */
	put32(q + 4, REAL_B);
	put32(q + 8, OURS_B);
	put32(q + 12, OURS_B); /* PID/BLP that look like the SSRC: not an SSRC */
	q += 16;
	hdr(q, 1, WIMS_RTCP_PSFB, 12); /* PLI */
	put32(q + 4, REAL_B);
	put32(q + 8, OURS_B);
	q += 12;
	hdr(q, 4, WIMS_RTCP_PSFB, 28); /* FIR: media SSRC 0, FCI entries */
	put32(q + 4, REAL_B);
	put32(q + 12, OURS_B);
	q[16] = 5;
	put32(q + 20, 0x33333333u);
	q += 28;
	hdr(q, 3, WIMS_RTCP_RTPFB, 20); /* TMMBR */
	put32(q + 4, REAL_B);
	put32(q + 12, OURS_B);
	q += 20;
	hdr(q, 15, WIMS_RTCP_PSFB, 28); /* REMB */
	put32(q + 4, REAL_B);
	memcpy(q + 12, "REMB", 4);
	q[16] = 2;
	put32(q + 20, 0x44444444u);
	put32(q + 24, OURS_B);
	q += 28;
	assert_int_equal((size_t)(q - p), sizeof(p));
	assert_int_equal(wims_rtcp_map_ssrc(p, sizeof(p), OURS_B, REAL_A), 5);
	assert_int_equal(get32(p + 8), REAL_A);
	assert_int_equal(get32(p + 12), OURS_B);
	assert_int_equal(get32(p + 16 + 8), REAL_A);
	assert_int_equal(get32(p + 28 + 12), REAL_A);
	assert_int_equal(get32(p + 28 + 20), 0x33333333u);
	assert_int_equal(get32(p + 56 + 12), REAL_A);
	assert_int_equal(get32(p + 76 + 20), 0x44444444u);
	assert_int_equal(get32(p + 76 + 24), REAL_A);
	/* the sender of each */
	assert_int_equal(wims_rtcp_map_ssrc(p, sizeof(p), REAL_B, 9), 5);
}

static void test_map_malformed(void **state)
{
	(void)state;
	uint8_t p[28 + 12];
	memset(p, 0, sizeof(p));
	hdr(p, 0, WIMS_RTCP_SR, 28);
	put32(p + 4, REAL_A);
	hdr(p + 28, 0, WIMS_RTCP_APP, 12);
	put32(p + 32, REAL_A);
	/* the second packet claims more than there is: the first is translated */
	p[31] = 9;
	assert_int_equal(wims_rtcp_map_ssrc(p, sizeof(p), REAL_A, OURS_B), 1);
	assert_int_equal(get32(p + 32), REAL_A);
	/* an RR whose RC claims more blocks than its length holds */
	uint8_t r[8 + 24];
	memset(r, 0, sizeof(r));
	hdr(r, 31, WIMS_RTCP_RR, sizeof(r));
	put32(r + 4, 1);
	put32(r + 8, REAL_A);
	assert_int_equal(wims_rtcp_map_ssrc(r, sizeof(r), REAL_A, OURS_B), 1);
	/* truncated to the header and to nothing */
	assert_int_equal(wims_rtcp_map_ssrc(r, 4, 1, 2), 0);
	assert_int_equal(wims_rtcp_map_ssrc(r, 0, 1, 2), 0);
	/* XR and APP: the packet sender */
	hdr(r, 0, WIMS_RTCP_XR, 8);
	put32(r + 4, REAL_A);
	assert_int_equal(wims_rtcp_map_ssrc(r, 8, REAL_A, OURS_B), 1);
	assert_int_equal(get32(r + 4), OURS_B);
}

/* ---- the engine ---- */

struct fx {
	uv_loop_t loop;
	struct wims_media *m;
};

static void on_event(struct wims_media_sess *s, enum wims_media_event ev, void *arg)
{
	(void)s;
	(void)ev;
	(void)arg;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	struct wims_media_opts mo = {0};
	assert_int_equal(wims_addr_parse(&mo.addr, wims_str_c("127.0.0.1"), 0), 0);
	mo.port_min = 43000;
	mo.port_max = 43999;
	mo.workers = 1;
	mo.max_sessions = 10;
	mo.timeout_s = 60;
	mo.consent_s = 30;
	assert_int_equal(wims_media_new(&f->m, &f->loop, &mo, on_event, f), 0);
	(void)uv_run(&f->loop, UV_RUN_NOWAIT);
	*state = f;
	return 0;
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

static void pump(struct fx *f, unsigned ms)
{
	for (unsigned i = 0; i < ms / 2; i++) {
		(void)uv_run(&f->loop, UV_RUN_NOWAIT);
		usleep(2000);
	}
}

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

static void send_to(const struct peer *p, uint16_t port, const uint8_t *b, size_t n)
{
	struct wims_addr to;
	assert_int_equal(wims_addr_parse(&to, wims_str_c("127.0.0.1"), port), 0);
	assert_int_equal(sendto(p->fd, b, n, 0, &to.u.sa, wims_addr_len(&to)), (ssize_t)n);
}

static size_t recv_ms(const struct peer *p, uint8_t *b, size_t cap, int ms)
{
	struct pollfd pf = {.fd = p->fd, .events = POLLIN};
	if (poll(&pf, 1, ms) <= 0)
		return 0;
	ssize_t n = recv(p->fd, b, cap, 0);
	assert_true(n > 0);
	return (size_t)n;
}

struct plain_tp {
	int fd_rtp, fd_rtcp;
	uint16_t port;
	struct peer rtp, rtcp;
};

static void plain_open(struct fx *f, struct plain_tp *p, struct wims_media_tconf *t)
{
	assert_int_equal(wims_media_port_alloc(f->m, true, &p->fd_rtp, &p->fd_rtcp, &p->port), 0);
	peer_open(&p->rtp);
	peer_open(&p->rtcp);
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

static size_t rtp_make(uint8_t *b, uint8_t pt, uint16_t seq, uint32_t ssrc)
{
	memset(b, 0, 12 + 20);
	b[0] = 0x80;
	b[1] = pt;
	b[2] = (uint8_t)(seq >> 8);
	b[3] = (uint8_t)seq;
	put32(b + 4, 160u * seq);
	put32(b + 8, ssrc);
	for (unsigned i = 0; i < 20; i++)
		b[12 + i] = (uint8_t)(i + seq);
	return 32;
}

/* Send an RTP packet from `from`; the one that arrives at dst has `ssrc`,
 * the rest as sent. */
static void rtp_check(const struct peer *from, uint16_t port, const struct peer *dst, uint16_t seq,
		      uint32_t sent, uint32_t want)
{
	uint8_t p[64], r[64];
	size_t n = rtp_make(p, 0, seq, sent);
	send_to(from, port, p, n);
	assert_int_equal(recv_ms(dst, r, sizeof(r), 1000), n);
	assert_int_equal(get32(r + 8), want);
	assert_memory_equal(r, p, 8);
	assert_memory_equal(r + 12, p + 12, n - 12);
}

static void test_engine_rewrite(void **state)
{
	struct fx *f = *state;
	struct plain_tp a, b;
	struct wims_media_sess *s;
	struct wims_media_sessconf c;
	memset(&c, 0, sizeof(c));
	plain_open(f, &a, &c.t[0]);
	plain_open(f, &b, &c.t[1]);
	c.ntransports = 2;
	c.nstreams = 1;
	struct wims_media_sconf *sc = &c.s[0];
	sc->active = true;
	sc->video = true;
	sc->keep_video_fb = true;
	sc->t[0] = 0;
	sc->t[1] = 1;
	for (unsigned pt = 0; pt < 128; pt++)
		sc->pt_map[0][pt] = sc->pt_map[1][pt] = (uint8_t)pt;
	sc->ssrc_out[1] = OURS_B; /* side 1 is "the browser" */
	assert_int_equal(wims_media_sess_new(f->m, &s, NULL), 0);
	assert_int_equal(wims_media_sess_apply(s, &c), 0);

	/* RTP: rewritten toward side 1, untouched toward side 0 */
	rtp_check(&a.rtp, a.port, &b.rtp, 1, REAL_A, OURS_B);
	rtp_check(&a.rtp, a.port, &b.rtp, 2, 0x55555555u, OURS_B); /* the phone's SSRC changes */
	rtp_check(&a.rtp, a.port, &b.rtp, 3, REAL_A, OURS_B);
	rtp_check(&b.rtp, b.port, &a.rtp, 1, REAL_B, REAL_B);

	/* RTCP toward side 1: the SR's sender is ours, its block about B stays */
	uint8_t p[128], r[128];
	memset(p, 0, sizeof(p));
	hdr(p, 1, WIMS_RTCP_SR, 52);
	put32(p + 4, REAL_A);
	put32(p + 8, 0xe0000000u);
	put32(p + 28, REAL_B);
	send_to(&a.rtcp, (uint16_t)(a.port + 1), p, 52);
	assert_int_equal(recv_ms(&b.rtcp, r, sizeof(r), 1000), 52);
	assert_int_equal(get32(r + 4), OURS_B);
	assert_int_equal(get32(r + 28), REAL_B);
	assert_memory_equal(r + 8, p + 8, 20);

	/* RTCP from side 1 naming our SSRC: the real one toward side 0 */
	memset(p, 0, sizeof(p));
	hdr(p, 1, WIMS_RTCP_RR, 32);
	put32(p + 4, REAL_B);
	put32(p + 8, OURS_B);
	hdr(p + 32, 1, WIMS_RTCP_PSFB, 12); /* PLI */
	put32(p + 36, REAL_B);
	put32(p + 40, OURS_B);
	hdr(p + 44, 4, WIMS_RTCP_PSFB, 20); /* FIR */
	put32(p + 48, REAL_B);
	put32(p + 56, OURS_B);
	p[60] = 1;
	send_to(&b.rtcp, (uint16_t)(b.port + 1), p, 64);
	assert_int_equal(recv_ms(&a.rtcp, r, sizeof(r), 1000), 64);
	assert_int_equal(get32(r + 4), REAL_B);
	assert_int_equal(get32(r + 8), REAL_A);
	assert_int_equal(get32(r + 40), REAL_A);
	assert_int_equal(get32(r + 56), REAL_A);

	/* a re-apply (a re-offer) keeps the SSRC */
	assert_int_equal(wims_media_sess_apply(s, &c), 0);
	rtp_check(&a.rtp, a.port, &b.rtp, 4, REAL_A, OURS_B);
	pump(f, 20);
	struct wims_media_counters n1;
	wims_media_sess_counters(s, 0, 1, &n1);
	assert_int_equal(n1.packets_out, 4);
	assert_int_equal(n1.rtcp_in, 1);

	/* without ssrc_out nothing is rewritten */
	sc->ssrc_out[1] = 0;
	assert_int_equal(wims_media_sess_apply(s, &c), 0);
	rtp_check(&a.rtp, a.port, &b.rtp, 5, REAL_A, REAL_A);

	wims_media_sess_delete(s);
	pump(f, 50);
	close(a.rtp.fd);
	close(a.rtcp.fd);
	close(b.rtp.fd);
	close(b.rtcp.fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_map_sr_rr),
	    cmocka_unit_test(test_map_sdes_bye),
	    cmocka_unit_test(test_map_feedback),
	    cmocka_unit_test(test_map_malformed),
	    cmocka_unit_test_setup_teardown(test_engine_rewrite, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
