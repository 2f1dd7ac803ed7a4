/* Test harness of the proxy unit tests: wimsd's side is a real loop, a
 * real SIP tport on 127.0.0.1 (UDP and TCP, port 0) and the proxy in the
 * IWU role; the "P-CSCF" is a plain non-blocking UDP socket with a TCP
 * listening socket on the same port number; browsers are external flows
 * whose ops->send captures every message.
 *
 * Everything is static (one copy per test executable); helpers a given
 * test file does not use are marked unused.
 */
#ifndef WIMS_TEST_PROXY_HARNESS_H
#define WIMS_TEST_PROXY_HARNESS_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
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

#include "base/conf.h"
#include "proxy/proxy.h"
#include "proxy/px.h"
#include "sip/msg.h"
#include "sip/transport.h"

#define HU __attribute__((unused))
#define QMAX 64
#define NBR 3
#define NCONN 4

/* Messages captured in arrival order (NUL-terminated copies). */
struct msgq {
	char *m[QMAX];
	size_t l[QMAX];
	bool tcp[QMAX];
	size_t n;
};

struct h;

struct browser {
	struct h *h;
	struct wims_sip_flow *f; /* NULL once gone */
	struct wims_addr peer;
	struct msgq q;
	unsigned close_asked;
	uint64_t id;
	int send_rc; /* what ops->send returns (0: captured) */
};

struct h {
	uv_loop_t loop;
	struct wims_conf conf;
	struct wims_sip_tport *tp;
	struct wims_proxy *px;
	struct wims_addr us; /* wimsd's UDP address */
	uint16_t port;	     /* wimsd's advertised (UDP) port */
	int cu, ctl;	     /* core UDP socket and TCP listener */
	int cc[NCONN];	     /* accepted core TCP connections */
	char *cbuf[NCONN];
	size_t clen[NCONN];
	uint16_t cport;
	struct msgq core;
	int core_conn[QMAX]; /* the connection a core message came on, -1 for UDP */
	struct browser br[NBR];
	unsigned flows_closed;
	/* UDP retransmissions by wimsd are byte-identical copies: with keep_dups
	 * false (the default) they are counted in dups instead of queued, so that
	 * a test's view of the core does not depend on timing */
	bool keep_dups;
	unsigned dups;
};

static bool core_dup(struct h *h, const char *p, size_t l)
{
	if (h->keep_dups)
		return false;
	for (size_t i = 0; i < h->core.n; i++) {
		if (h->core.l[i] == l && memcmp(h->core.m[i], p, l) == 0) {
			h->dups++;
			return true;
		}
	}
	return false;
}

static void q_push(struct msgq *q, const char *p, size_t l, bool tcp)
{
	assert_true(q->n < QMAX);
	q->m[q->n] = malloc(l + 1);
	assert_non_null(q->m[q->n]);
	memcpy(q->m[q->n], p, l);
	q->m[q->n][l] = 0;
	q->l[q->n] = l;
	q->tcp[q->n] = tcp;
	q->n++;
}

static void q_clear(struct msgq *q)
{
	for (size_t i = 0; i < q->n; i++)
		free(q->m[i]);
	q->n = 0;
}

/* ---- message inspection ---- */

static struct wims_sip_msg *parse_or_fail(const char *s)
{
	struct wims_sip_msg *m = malloc(sizeof(*m));
	const char *why = NULL;

	assert_non_null(m);
	if (wims_sip_msg_parse(m, s, strlen(s), &why)) {
		print_error("unparsable message (%s):\n%s\n", why ? why : "?", s);
		fail();
	}
	return m;
}

/* A ring of result strings, so that several results can be compared in one assert. */
static char *ring(void)
{
	static char mem[16][4096];
	static unsigned i;

	return mem[i++ % 16];
}

static const char *out_str(struct wims_str s)
{
	char *o = ring();

	snprintf(o, 4096, "%.*s", (int)s.l, s.p);
	return o;
}

#define ABSENT "<absent>"

/* Value of the idx-th header named name (any form), or ABSENT. */
static HU const char *H(const char *msg, const char *name, unsigned idx)
{
	struct wims_sip_msg *m = parse_or_fail(msg);
	const struct wims_sip_hdr *h = wims_sip_msg_hdr_by_name(m, wims_str_c(name));
	const char *r = ABSENT;

	while (h && idx--)
		h = wims_sip_msg_hdr_next(m, h);
	if (h)
		r = out_str(h->value);
	free(m);
	return r;
}

/* Number of header lines named name. */
static HU unsigned HN(const char *msg, const char *name)
{
	struct wims_sip_msg *m = parse_or_fail(msg);
	const struct wims_sip_hdr *h = wims_sip_msg_hdr_by_name(m, wims_str_c(name));
	unsigned n = 0;

	for (; h; h = wims_sip_msg_hdr_next(m, h))
		n++;
	free(m);
	return n;
}

/* The idx-th value of a multi-value header (Via, Route, Contact), or ABSENT. */
static HU const char *V(const char *msg, enum wims_sip_hdr_id id, unsigned idx)
{
	struct wims_sip_msg *m = parse_or_fail(msg);
	struct wims_sip_vals it;
	const char *r = ABSENT;

	wims_sip_vals_init(&it, m, id);
	while (wims_sip_vals_next(&it)) {
		if (idx-- == 0) {
			r = out_str(it.value);
			break;
		}
	}
	free(m);
	return r;
}

static HU unsigned VN(const char *msg, enum wims_sip_hdr_id id)
{
	struct wims_sip_msg *m = parse_or_fail(msg);
	struct wims_sip_vals it;
	unsigned n = 0;

	wims_sip_vals_init(&it, m, id);
	while (wims_sip_vals_next(&it))
		n++;
	free(m);
	return n;
}

/* The start line without CRLF. */
static HU const char *SL(const char *msg)
{
	const char *e = strstr(msg, "\r\n");

	assert_non_null(e);
	return out_str(wims_str_make(msg, (size_t)(e - msg)));
}

static HU const char *RURI(const char *msg)
{
	struct wims_sip_msg *m = parse_or_fail(msg);
	const char *r;

	assert_true(m->is_request);
	r = out_str(m->ruri);
	free(m);
	return r;
}

static HU unsigned STATUS(const char *msg)
{
	struct wims_sip_msg *m = parse_or_fail(msg);
	unsigned s = m->is_request ? 0 : m->status;

	free(m);
	return s;
}

/* Branch of the idx-th Via value. */
static HU const char *BRANCH(const char *msg, unsigned idx)
{
	struct wims_sip_via v;
	const char *val = V(msg, WIMS_HDR_VIA, idx);

	assert_string_not_equal(val, ABSENT);
	assert_int_equal(wims_sip_via_parse(&v, wims_str_c(val)), 0);
	return out_str(v.branch);
}

static HU const char *BODY(const char *msg)
{
	const char *b = strstr(msg, "\r\n\r\n");

	assert_non_null(b);
	return b + 4;
}

/* ---- formatting ---- */

static HU char *fmt(char *buf, size_t cap, const char *f, ...) __attribute__((format(printf, 3, 4)));
static HU char *fmt(char *buf, size_t cap, const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(buf, cap, f, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < cap);
	return buf;
}

/* Replace the first occurrence of old in buf (NUL-terminated, size cap) by new. */
static HU void replace_once(char *buf, size_t cap, const char *old, const char *new)
{
	char *p = strstr(buf, old);
	size_t ol = strlen(old), nl = strlen(new);

	assert_non_null(p);
	assert_true(strlen(buf) - ol + nl < cap);
	memmove(p + nl, p + ol, strlen(p + ol) + 1);
	memcpy(p, new, nl);
}

/* A response to req built the way any UA does (wims_sip_reply), with extra header lines. */
static HU char *reply_to(char *buf, size_t cap, const char *req, unsigned code, const char *totag,
			 const char *extra)
{
	struct wims_sip_msg *m = parse_or_fail(req);
	struct wims_wbuf w;

	wims_wbuf_init(&w, buf, cap - 1);
	assert_int_equal(wims_sip_reply(m, code, NULL, wims_str_c(totag), wims_str_c(extra), &w), 0);
	buf[w.len] = 0;
	free(m);
	return buf;
}

/* ---- the browser side: external flows ---- */

static int br_ops_send(void *conn, const char *buf, size_t len)
{
	struct browser *b = conn;

	if (b->send_rc)
		return b->send_rc;
	q_push(&b->q, buf, len, false);
	return 0;
}

static void br_ops_close(void *conn)
{
	struct browser *b = conn;

	b->close_asked++;
}

static const struct wims_sip_flow_ops br_ops = {br_ops_send, br_ops_close};

static HU struct browser *br_open(struct h *h, unsigned i, enum wims_sip_proto proto)
{
	struct browser *b = &h->br[i];
	char a[32];

	assert_true(i < NBR);
	b->h = h;
	fmt(a, sizeof(a), "127.0.0.1:%u", 40001 + i);
	assert_int_equal(wims_addr_parse(&b->peer, wims_str_c(a), 0), 0);
	assert_int_equal(wims_sip_flow_external(h->tp, &b->f, proto, &br_ops, b, &h->us, &b->peer), 0);
	b->id = wims_sip_flow_id(b->f);
	return b;
}

static HU void br_send(struct browser *b, const char *msg)
{
	assert_non_null(b->f);
	wims_sip_flow_input(b->f, msg, strlen(msg));
}

/* The connection of b is gone (the WebSocket closed). */
static HU void br_gone(struct browser *b)
{
	struct wims_sip_flow *f = b->f;

	b->f = NULL;
	wims_sip_flow_gone(f);
}

/* ---- the core side: plain sockets ---- */

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	assert_true(fl >= 0);
	assert_int_equal(fcntl(fd, F_SETFL, fl | O_NONBLOCK), 0);
}

static void core_open(struct h *h)
{
	for (int attempt = 0; attempt < 20; attempt++) {
		struct sockaddr_in sa = {.sin_family = AF_INET};
		socklen_t sl = sizeof(sa);
		int one = 1;

		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		h->cu = socket(AF_INET, SOCK_DGRAM, 0);
		assert_true(h->cu >= 0);
		assert_int_equal(bind(h->cu, (struct sockaddr *)&sa, sizeof(sa)), 0);
		assert_int_equal(getsockname(h->cu, (struct sockaddr *)&sa, &sl), 0);
		h->ctl = socket(AF_INET, SOCK_STREAM, 0);
		assert_true(h->ctl >= 0);
		(void)setsockopt(h->ctl, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(h->ctl, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(h->ctl, 8) == 0) {
			h->cport = ntohs(sa.sin_port);
			set_nonblock(h->cu);
			set_nonblock(h->ctl);
			return;
		}
		close(h->cu);
		close(h->ctl);
	}
	fail_msg("no port free for both UDP and TCP");
}

static void core_tcp_frame(struct h *h, int i)
{
	for (;;) {
		size_t skip = 0;
		long n = wims_sip_stream_frame(h->cbuf[i], h->clen[i], &skip);

		if (skip) {
			memmove(h->cbuf[i], h->cbuf[i] + skip, h->clen[i] - skip);
			h->clen[i] -= skip;
			continue;
		}
		assert_true(n >= 0);
		if (n == 0)
			return;
		if (!core_dup(h, h->cbuf[i], (size_t)n)) {
			q_push(&h->core, h->cbuf[i], (size_t)n, true);
			h->core_conn[h->core.n - 1] = i;
		}
		memmove(h->cbuf[i], h->cbuf[i] + n, h->clen[i] - (size_t)n);
		h->clen[i] -= (size_t)n;
	}
}

/* Read whatever reached the core (UDP datagrams, TCP connections and bytes). */
static void core_poll(struct h *h)
{
	char buf[70000];
	ssize_t n;
	int fd;

	while ((n = recv(h->cu, buf, sizeof(buf), 0)) > 0) {
		if (core_dup(h, buf, (size_t)n))
			continue;
		q_push(&h->core, buf, (size_t)n, false);
		h->core_conn[h->core.n - 1] = -1;
	}
	while ((fd = accept(h->ctl, NULL, NULL)) >= 0) {
		int i;
		for (i = 0; i < NCONN && h->cc[i] >= 0; i++)
			;
		assert_true(i < NCONN);
		set_nonblock(fd);
		h->cc[i] = fd;
		h->cbuf[i] = malloc(WIMS_SIP_MAX_MESSAGE * 2);
		assert_non_null(h->cbuf[i]);
		h->clen[i] = 0;
	}
	for (int i = 0; i < NCONN; i++) {
		if (h->cc[i] < 0)
			continue;
		while ((n = recv(h->cc[i], h->cbuf[i] + h->clen[i], WIMS_SIP_MAX_MESSAGE * 2 - h->clen[i],
				 0)) > 0) {
			h->clen[i] += (size_t)n;
			core_tcp_frame(h, i);
		}
	}
}

/* The core sends msg to wimsd over UDP. */
static HU void core_send(struct h *h, const char *msg)
{
	ssize_t n = sendto(h->cu, msg, strlen(msg), 0, &h->us.u.sa, wims_addr_len(&h->us));

	assert_int_equal(n, (ssize_t)strlen(msg));
}

/* The core sends msg on its accepted TCP connection i. */
static HU void core_send_tcp(struct h *h, int i, const char *msg)
{
	assert_true(i >= 0 && i < NCONN && h->cc[i] >= 0);
	assert_int_equal(send(h->cc[i], msg, strlen(msg), 0), (ssize_t)strlen(msg));
}

/* ---- driving the loop ---- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void spin_once(struct h *h)
{
	struct timespec ts = {0, 500 * 1000};

	uv_run(&h->loop, UV_RUN_NOWAIT);
	core_poll(h);
	nanosleep(&ts, NULL);
}

/* Run until q holds n messages; false after ms of wall-clock time. */
static HU bool wait_q(struct h *h, struct msgq *q, size_t n, unsigned ms)
{
	uint64_t end = now_ms() + ms;

	while (q->n < n && now_ms() < end)
		spin_once(h);
	return q->n >= n;
}

/* The first message from index from on that the core got starting with start, or NULL. */
static HU const char *find_core(struct h *h, const char *start, size_t from)
{
	for (size_t i = from; i < h->core.n; i++)
		if (strncmp(h->core.m[i], start, strlen(start)) == 0)
			return h->core.m[i];
	return NULL;
}

/* The same, waiting for it at most ms. */
static HU const char *wait_core(struct h *h, const char *start, size_t from, unsigned ms)
{
	uint64_t end = now_ms() + ms;
	const char *m;

	while (!(m = find_core(h, start, from)) && now_ms() < end)
		spin_once(h);
	return m;
}

/* Run until h->dups reaches n; false after ms. */
static HU bool wait_dups(struct h *h, unsigned n, unsigned ms)
{
	uint64_t end = now_ms() + ms;

	while (h->dups < n && now_ms() < end)
		spin_once(h);
	return h->dups >= n;
}

/* Run for ms (to see that nothing more arrives). */
static HU void settle(struct h *h, unsigned ms)
{
	uint64_t end = now_ms() + ms;

	while (now_ms() < end)
		spin_once(h);
}

/* ---- the proxy ---- */

static void on_sip(struct wims_sip_flow *f, const char *msg, size_t len, void *arg)
{
	struct h *h = arg;

	if (h->px)
		wims_proxy_recv(h->px, f, msg, len);
}

static void on_sip_closed(struct wims_sip_flow *f, void *arg)
{
	struct h *h = arg;

	h->flows_closed++;
	if (h->px)
		wims_proxy_flow_closed(h->px, f);
}

static HU void conf_set(struct h *h, const char *sec, const char *key, const char *val)
{
	char err[256];

	if (wims_conf_set(&h->conf, sec, key, val, err, sizeof(err))) {
		print_error("conf %s.%s=%s: %s\n", sec, key, val, err);
		fail();
	}
}

/* Start everything but the proxy (conf can still be changed). */
static HU struct h *h_new(void)
{
	struct h *h = calloc(1, sizeof(*h));
	struct wims_addr lo;
	struct wims_sip_tport_cfg cfg = {0};
	char v[80];

	assert_non_null(h);
	for (int i = 0; i < NCONN; i++)
		h->cc[i] = -1;
	assert_int_equal(uv_loop_init(&h->loop), 0);
	core_open(h);
	assert_int_equal(wims_addr_parse(&lo, wims_str_c("127.0.0.1"), 0), 0);
	cfg.udp = &lo;
	cfg.tcp = &lo;
	assert_int_equal(wims_sip_tport_alloc(&h->tp, &h->loop, &cfg, on_sip, on_sip_closed, h), 0);
	assert_int_equal(wims_sip_tport_local(h->tp, WIMS_SIP_UDP, &h->us), 0);
	h->port = wims_addr_port(&h->us);
	wims_conf_defaults(&h->conf);
	conf_set(h, "iwu", "pcscf", fmt(v, sizeof(v), "sip:127.0.0.1:%u;transport=udp", h->cport));
	conf_set(h, "sip", "t1_ms", "10");
	/* the IWU's reg event subscriptions are tested on their own (test_iwu_regevent) */
	conf_set(h, "iwu", "reg_subscribe", "no");
	/* transaction mechanics are tested with browsers that did not register
	 * (the identity checks: test_boundary) */
	conf_set(h, "iwu", "require_registration", "no");
	return h;
}

static HU void h_start(struct h *h)
{
	char err[256] = "";

	if (wims_proxy_alloc(&h->px, &h->loop, h->tp, &h->conf, err, sizeof(err))) {
		print_error("wims_proxy_alloc: %s\n", err);
		fail();
	}
}

/* The proxy started with the default test configuration. */
static HU struct h *h_up(void)
{
	struct h *h = h_new();

	h_start(h);
	return h;
}

static HU void h_free(struct h *h)
{
	uint64_t end;

	wims_proxy_free(h->px);
	h->px = NULL;
	for (int i = 0; i < NBR; i++) {
		if (h->br[i].f)
			br_gone(&h->br[i]);
		q_clear(&h->br[i].q);
	}
	wims_sip_tport_close(h->tp);
	close(h->cu);
	close(h->ctl);
	for (int i = 0; i < NCONN; i++) {
		if (h->cc[i] >= 0)
			close(h->cc[i]);
		free(h->cbuf[i]);
	}
	q_clear(&h->core);
	end = now_ms() + 1000;
	while (uv_loop_alive(&h->loop) && now_ms() < end)
		uv_run(&h->loop, UV_RUN_NOWAIT);
	assert_int_equal(uv_loop_close(&h->loop), 0);
	free(h);
}

/* ---- common steps ---- */

/* Our Contact URI for flow id as the core sees it. */
static HU const char *token_uri(struct h *h, uint64_t id, bool outbound)
{
	char tok[PX_TOKEN_LEN + 1];
	char *o = ring();

	wims_proxy__token_make(h->px, id, outbound, tok);
	snprintf(o, 4096, "sip:%s@127.0.0.1:%u", tok, h->port);
	return o;
}

static HU const char *last(const struct msgq *q)
{
	assert_true(q->n > 0);
	return q->m[q->n - 1];
}

#endif
