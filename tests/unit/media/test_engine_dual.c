/* IPv4 and IPv6 host candidates at once: an engine on "127.0.0.1, ::1",
 * a WebRTC transport with a socket on each (same port where free), checks
 * answered on both from the socket they came in on, media sent from the
 * socket of the nominated pair and moved by a nomination on the other
 * family; the address list parser and the alternative port allocation.
 * Only 127.0.0.1 and ::1 are used. */
#include <dirent.h>
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

struct peer {
	int fd;
	struct wims_addr a;
};

struct fx {
	uv_loop_t loop;
	struct wims_media *m;
	struct wims_dtls_ctx *ctx;
	struct wims_dtls *d;
	struct wims_srtp *tx, *rx;
	struct peer p4, p6, sink; /* the browser's two sockets, the IMS peer */
	int fd, alt[WIMS_MEDIA_MAX_ADDRS - 1], pfd_rtp, pfd_rtcp;
	uint16_t port, aport[WIMS_MEDIA_MAX_ADDRS - 1], pport;
	unsigned nalt;
	struct wims_media_sess *s;
	struct wims_media_sessconf c;
	const char *lufrag, *lpwd; /* the gateway's current ICE credentials */
	int nfd_before;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void pump(struct fx *f, unsigned ms)
{
	uint64_t end = mono_ms() + ms;
	do {
		(void)uv_run(&f->loop, UV_RUN_NOWAIT);
		usleep(2000);
	} while (mono_ms() < end);
}

/* Open sockets of the process (libuv keeps a few global pipes). */
static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	if (!d)
		return -1;
	struct dirent *e;
	while ((e = readdir(d))) {
		char path[300], link[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		ssize_t l = readlink(path, link, sizeof(link) - 1);
		n += l > 7 && !memcmp(link, "socket:", 7);
	}
	closedir(d);
	return n;
}

static void peer_open(struct peer *p, const char *ip)
{
	assert_int_equal(wims_addr_parse(&p->a, wims_str_c(ip), 0), 0);
	p->fd = socket(p->a.u.sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(p->fd >= 0);
	assert_int_equal(bind(p->fd, &p->a.u.sa, wims_addr_len(&p->a)), 0);
	socklen_t sl = sizeof(p->a.u);
	assert_int_equal(getsockname(p->fd, &p->a.u.sa, &sl), 0);
}

static void send_to(const struct peer *p, const char *ip, uint16_t port, const uint8_t *b, size_t n)
{
	struct wims_addr to;
	assert_int_equal(wims_addr_parse(&to, wims_str_c(ip), port), 0);
	assert_int_equal(sendto(p->fd, b, n, 0, &to.u.sa, wims_addr_len(&to)), (ssize_t)n);
}

static size_t recv_ms(const struct peer *p, uint8_t *b, size_t cap, int ms, struct wims_addr *from)
{
	struct pollfd pf = {.fd = p->fd, .events = POLLIN};
	if (poll(&pf, 1, ms) <= 0)
		return 0;
	struct wims_addr a;
	socklen_t sl = sizeof(a.u);
	ssize_t n = recvfrom(p->fd, b, cap, 0, &a.u.sa, &sl);
	assert_true(n > 0);
	if (from)
		assert_int_equal(wims_addr_from_sa(from, &a.u.sa), 0);
	return (size_t)n;
}

static size_t rtp_make(uint8_t *b, uint16_t seq, size_t payload)
{
	memset(b, 0, 12);
	b[0] = 0x80;
	b[1] = 0;
	b[2] = (uint8_t)(seq >> 8);
	b[3] = (uint8_t)seq;
	b[11] = 0x42;
	for (size_t i = 0; i < payload; i++)
		b[12 + i] = (uint8_t)(i * 13 + seq);
	return 12 + payload;
}

/* A check from the browser's socket p to our address ip:port; the success
 * response must come back from exactly there. */
static void check(struct fx *f, const struct peer *p, const char *ip, uint16_t port, bool nominate)
{
	uint8_t b[1500], txid[12];
	char user[64];
	for (int i = 0; i < 12; i++)
		txid[i] = (uint8_t)(rand() & 0xff);
	snprintf(user, sizeof(user), "%s:%s", f->lufrag, RUFRAG);
	size_t n = wims_stun_binding_request(b, sizeof(b), txid, wims_str_c(user), f->lpwd, strlen(f->lpwd),
					     0x6e7f00ff, true, 0x1234567890abcdefull, nominate);
	assert_true(n > 0);
	send_to(p, ip, port, b, n);
	struct wims_addr from, want;
	n = recv_ms(p, b, sizeof(b), 1000, &from);
	assert_true(n > 0);
	assert_int_equal(wims_addr_parse(&want, wims_str_c(ip), port), 0);
	assert_true(wims_addr_eq(&from, &want));
	struct wims_stun_msg m;
	assert_int_equal(wims_stun_parse(&m, b, n, NULL), 0);
	assert_int_equal(m.type, WIMS_STUN_BINDING_SUCCESS);
	assert_true(wims_stun_check_integrity(&m, b, n, f->lpwd, strlen(f->lpwd)));
	assert_true(wims_addr_eq(&m.xor_mapped, &p->a));
}

static void dtls_flush(struct fx *f, const struct peer *p, const char *ip, uint16_t port)
{
	uint8_t b[2048];
	size_t n;
	while ((n = wims_dtls_output(f->d, b, sizeof(b))) > 0)
		send_to(p, ip, port, b, n);
}

/* DTLS as the client over p toward ip:port; SRTP contexts on success. */
static void dtls_run(struct fx *f, const struct peer *p, const char *ip, uint16_t port)
{
	assert_int_equal(wims_dtls_new(&f->d, f->ctx, true, wims_str_c(wims_media_fingerprint(f->m))), 0);
	assert_int_equal(wims_dtls_start(f->d), 0);
	dtls_flush(f, p, ip, port);
	uint64_t end = mono_ms() + 3000;
	while (!wims_dtls_connected(f->d) && mono_ms() < end) {
		uint8_t b[2048];
		size_t n = recv_ms(p, b, sizeof(b), 50, NULL);
		if (n && b[0] >= 20 && b[0] <= 63) {
			assert_true(wims_dtls_input(f->d, b, n) >= 0);
			dtls_flush(f, p, ip, port);
		} else if (wims_dtls_timeout_ms(f->d) == 0) {
			wims_dtls_on_timeout(f->d);
			dtls_flush(f, p, ip, port);
		}
	}
	assert_true(wims_dtls_connected(f->d));
	struct wims_srtp_keys k;
	assert_int_equal(wims_dtls_srtp_keys(f->d, &k), 0);
	assert_int_equal(wims_srtp_new(&f->tx, k.profile, k.tx_key, k.tx_salt, true), 0);
	assert_int_equal(wims_srtp_new(&f->rx, k.profile, k.rx_key, k.rx_salt, false), 0);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->nfd_before = count_fds();
	assert_int_equal(uv_loop_init(&f->loop), 0);
	struct wims_media_opts mo = {0};
	assert_int_equal(wims_media_addrs_parse(&mo, wims_str_c("127.0.0.1, ::1")), 0);
	mo.port_min = 43000;
	mo.port_max = 43999;
	mo.workers = 1;
	mo.max_sessions = 10;
	mo.timeout_s = 60;
	mo.consent_s = 30;
	assert_int_equal(wims_media_new(&f->m, &f->loop, &mo, NULL, NULL), 0);
	assert_int_equal(wims_dtls_ctx_new(&f->ctx, NULL, NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	wims_srtp_free(f->tx);
	wims_srtp_free(f->rx);
	wims_dtls_free(f->d);
	wims_dtls_ctx_free(f->ctx);
	wims_media_free(f->m);
	for (int i = 0; i < 10 && uv_run(&f->loop, UV_RUN_NOWAIT); i++)
		;
	assert_int_equal(uv_loop_close(&f->loop), 0);
	int before = f->nfd_before;
	free(f);
	assert_int_equal(count_fds(), before); /* every socket given to the engine was closed */
	return 0;
}

static void test_addrs_parse(void **state)
{
	(void)state;
	struct wims_media_opts o = {0};
	assert_int_equal(wims_media_addrs_parse(&o, wims_str_c("::1,127.0.0.1")), 0);
	assert_int_equal(o.naddrs, 2);
	assert_int_equal(o.addr.u.sa.sa_family, AF_INET6);
	assert_int_equal(o.addrs[1].u.sa.sa_family, AF_INET);
	assert_int_equal(wims_media_addrs_parse(&o, wims_str_c("127.0.0.1")), 0);
	assert_int_equal(o.naddrs, 1);
	assert_int_equal(wims_media_addrs_parse(&o, wims_str_c("")), -EINVAL);
	assert_int_equal(wims_media_addrs_parse(&o, wims_str_c("127.0.0.1, 127.0.0.1")), -EINVAL);
	assert_int_equal(wims_media_addrs_parse(&o, wims_str_c("127.0.0.1:5000")), -EINVAL);
	assert_int_equal(wims_media_addrs_parse(&o, wims_str_c("127.0.0.1 localhost")), -EINVAL);
	assert_int_equal(wims_media_addrs_parse(&o, wims_str_c("127.0.0.1 127.0.0.2 127.0.0.3 127.0.0.4 ::1")),
			 -EINVAL);
}

static void open_session(struct fx *f)
{
	int none;
	assert_int_equal(wims_media_naddrs(f->m), 2);
	assert_int_equal(wims_media_addr_n(f->m, 1)->u.sa.sa_family, AF_INET6);
	assert_null(wims_media_addr_n(f->m, 2));
	assert_int_equal(wims_media_port_alloc(f->m, false, &f->fd, &none, &f->port), 0);
	assert_int_equal(wims_media_port_alloc_alt(f->m, f->port, f->alt, f->aport, &f->nalt), 0);
	assert_int_equal(f->nalt, 1);
	assert_int_equal(f->aport[0], f->port); /* the same port on ::1 when free */
	assert_int_equal(wims_media_port_alloc(f->m, true, &f->pfd_rtp, &f->pfd_rtcp, &f->pport), 0);
	peer_open(&f->p4, "127.0.0.1");
	peer_open(&f->p6, "[::1]");
	peer_open(&f->sink, "127.0.0.1");
	assert_int_equal(wims_media_sess_new(f->m, &f->s, NULL), 0);
	struct wims_media_sessconf *cp = &f->c, c;
	memset(cp, 0, sizeof(*cp));
	cp->ntransports = 2;
	f->lufrag = LUFRAG;
	f->lpwd = LPWD;
	struct wims_media_tconf *t = &cp->t[0];
	t->kind = WIMS_MT_WEBRTC;
	t->fd_rtp = f->fd;
	t->fd_rtcp = -1;
	t->lport_rtp = t->lport_rtcp = f->port;
	t->fd_alt[0] = f->alt[0];
	t->lport_alt[0] = f->aport[0];
	t->nalt = 1;
	t->rtcp_mux = true;
	snprintf(t->lufrag, sizeof(t->lufrag), "%s", LUFRAG);
	snprintf(t->lpwd, sizeof(t->lpwd), "%s", LPWD);
	snprintf(t->rufrag, sizeof(t->rufrag), "%s", RUFRAG);
	snprintf(t->rpwd, sizeof(t->rpwd), "%s", RPWD);
	snprintf(t->rfp, sizeof(t->rfp), "%s", wims_dtls_ctx_fingerprint(f->ctx));
	t->dtls_gen = 1;
	t = &cp->t[1];
	t->kind = WIMS_MT_PLAIN;
	t->fd_rtp = f->pfd_rtp;
	t->fd_rtcp = f->pfd_rtcp;
	t->lport_rtp = f->pport;
	t->lport_rtcp = (uint16_t)(f->pport + 1);
	t->remote_rtp = t->remote_rtcp = f->sink.a;
	t->has_remote = true;
	cp->nstreams = 1;
	cp->s[0].active = true;
	cp->s[0].t[0] = 0;
	cp->s[0].t[1] = 1;
	memset(cp->s[0].pt_map, 0xff, sizeof(cp->s[0].pt_map));
	cp->s[0].pt_map[0][0] = cp->s[0].pt_map[1][0] = 0;
	c = *cp;
	assert_int_equal(wims_media_sess_apply(f->s, &c), 0);
	/* applied twice with the same fds: the sockets stay */
	assert_int_equal(wims_media_sess_apply(f->s, &c), 0);
	pump(f, 20);
}

/* plain -> gateway -> SRTP at `to`, from our ip:port */
static void expect_to_browser(struct fx *f, const struct peer *to, const char *ip, uint16_t port, uint16_t seq)
{
	uint8_t p[256], r[2048];
	size_t n = rtp_make(p, seq, 120);
	send_to(&f->sink, "127.0.0.1", f->pport, p, n);
	struct wims_addr from, want;
	size_t got;
	uint64_t end = mono_ms() + 1000;
	do
		got = recv_ms(to, r, sizeof(r), 100, &from);
	while ((!got || r[0] < 128) && mono_ms() < end);
	assert_true(got > 0);
	assert_int_equal(wims_addr_parse(&want, wims_str_c(ip), port), 0);
	assert_true(wims_addr_eq(&from, &want));
	assert_int_equal(wims_srtp_unprotect_rtp(f->rx, r, &got), 0);
	assert_int_equal(got, n);
	assert_memory_equal(r, p, n);
}

/* SRTP from `from` to ip:port -> the plain peer, byte for byte */
static void expect_to_ims(struct fx *f, const struct peer *from, const char *ip, uint16_t port, uint16_t seq)
{
	uint8_t p[256], b[2048], r[2048];
	size_t n = rtp_make(p, seq, 100), m = n;
	memcpy(b, p, n);
	assert_int_equal(wims_srtp_protect_rtp(f->tx, b, &m, sizeof(b)), 0);
	send_to(from, ip, port, b, m);
	size_t got = recv_ms(&f->sink, r, sizeof(r), 1000, NULL);
	assert_int_equal(got, n);
	assert_memory_equal(r, p, n);
}

static void test_dual_stack(void **state)
{
	struct fx *f = *state;
	open_session(f);
	/* checks on both candidates are answered, each from its own socket */
	check(f, &f->p4, "127.0.0.1", f->port, false);
	check(f, &f->p6, "[::1]", f->aport[0], true);
	/* DTLS and media over the nominated IPv6 pair */
	dtls_run(f, &f->p6, "[::1]", f->aport[0]);
	expect_to_ims(f, &f->p6, "[::1]", f->aport[0], 1);
	expect_to_browser(f, &f->p6, "[::1]", f->aport[0], 2);
	/* a nomination on IPv4 moves media there; the IPv6 pair still delivers */
	check(f, &f->p4, "127.0.0.1", f->port, true);
	expect_to_browser(f, &f->p4, "127.0.0.1", f->port, 3);
	expect_to_ims(f, &f->p4, "127.0.0.1", f->port, 4);
	expect_to_ims(f, &f->p6, "[::1]", f->aport[0], 5);
	/* and back */
	check(f, &f->p6, "[::1]", f->aport[0], true);
	expect_to_browser(f, &f->p6, "[::1]", f->aport[0], 6);
	/* an ICE restart (new credentials of ours, same sockets and DTLS), the
	 * browser nominating IPv4 this time: media move to IPv4 */
	f->lufrag = "gwU2";
	f->lpwd = "gatewaypassword9876543210";
	snprintf(f->c.t[0].lufrag, sizeof(f->c.t[0].lufrag), "%s", f->lufrag);
	snprintf(f->c.t[0].lpwd, sizeof(f->c.t[0].lpwd), "%s", f->lpwd);
	assert_int_equal(wims_media_sess_apply(f->s, &f->c), 0);
	pump(f, 20);
	check(f, &f->p4, "127.0.0.1", f->port, true);
	expect_to_browser(f, &f->p4, "127.0.0.1", f->port, 7);
	expect_to_ims(f, &f->p4, "127.0.0.1", f->port, 8);
	struct wims_media_counters c0;
	pump(f, 30);
	wims_media_sess_counters(f->s, 0, 0, &c0);
	assert_int_equal(c0.packets_in, 4);
	assert_int_equal(c0.packets_out, 4);
	wims_media_sess_delete(f->s);
	pump(f, 50);
	assert_int_equal(wims_media_sessions(f->m), 0);
	close(f->p4.fd);
	close(f->p6.fd);
	close(f->sink.fd);
}

/* The ::1 port is taken: another port of the range is used there. */
static void test_alt_port_taken(void **state)
{
	struct fx *f = *state;
	int fd, none, alt[WIMS_MEDIA_MAX_ADDRS - 1];
	uint16_t port, aport[WIMS_MEDIA_MAX_ADDRS - 1];
	unsigned n;
	assert_int_equal(wims_media_port_alloc(f->m, false, &fd, &none, &port), 0);
	struct peer squat;
	assert_int_equal(wims_addr_parse(&squat.a, wims_str_c("[::1]"), port), 0);
	squat.fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(squat.fd, &squat.a.u.sa, wims_addr_len(&squat.a)), 0);
	assert_int_equal(wims_media_port_alloc_alt(f->m, port, alt, aport, &n), 0);
	assert_int_equal(n, 1);
	assert_int_not_equal(aport[0], port);
	assert_true(aport[0] >= 43000 && aport[0] <= 43999);
	struct wims_media_tconf t;
	memset(&t, 0, sizeof(t));
	t.fd_rtp = fd;
	t.fd_rtcp = -1;
	t.fd_alt[0] = alt[0];
	t.nalt = 1;
	wims_media_tconf_close(&t);
	close(squat.fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_addrs_parse),
	    cmocka_unit_test_setup_teardown(test_dual_stack, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_alt_port_taken, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
