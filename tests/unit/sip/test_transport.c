/* The SIP transport over a real loop on 127.0.0.1: two tports talk UDP,
 * TCP and TLS to each other; external flows run on a fake ops table. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "base/stream.h"
#include "sip/transport.h"

struct side {
	struct wims_sip_tport *tp;
	unsigned msgs, closed;
	char last[70000];
	size_t last_len;
	enum wims_sip_proto last_proto;
	uint64_t last_id;
	struct wims_addr last_peer;
	struct wims_sip_flow *last_flow; /* referenced when not UDP */
	struct wims_sip_flow *closed_flow;
	bool reply;    /* answer every message on its flow */
	bool close_rx; /* close the flow of every message */
};

static void on_recv(struct wims_sip_flow *f, const char *msg, size_t len, void *arg)
{
	struct side *sd = arg;

	sd->msgs++;
	assert_true(len < sizeof(sd->last));
	memcpy(sd->last, msg, len);
	sd->last_len = len;
	sd->last_proto = wims_sip_flow_proto(f);
	sd->last_id = wims_sip_flow_id(f);
	sd->last_peer = *wims_sip_flow_peer(f);
	assert_true(wims_sip_flow_alive(f));
	if (sd->last_flow)
		wims_sip_flow_deref(sd->last_flow);
	sd->last_flow = NULL;
	if (sd->last_proto != WIMS_SIP_UDP) {
		wims_sip_flow_ref(f);
		sd->last_flow = f;
	}
	if (sd->reply)
		assert_int_equal(wims_sip_flow_send(f, "reply", 5), 0);
	if (sd->close_rx)
		wims_sip_flow_close(f);
}

static void on_closed(struct wims_sip_flow *f, void *arg)
{
	struct side *sd = arg;

	sd->closed++;
	sd->closed_flow = f;
	assert_false(wims_sip_flow_alive(f));
}

struct t {
	uv_loop_t loop;
	uv_timer_t tick;
	struct side a, b;
	struct wims_addr lo;
	SSL_CTX *srv_tls, *cli_tls;
};

static void on_tick(uv_timer_t *t)
{
	(void)t;
}

static struct t *t_new(void)
{
	struct t *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	assert_int_equal(uv_loop_init(&t->loop), 0);
	uv_timer_init(&t->loop, &t->tick);
	uv_timer_start(&t->tick, on_tick, 5, 5);
	assert_int_equal(wims_addr_parse(&t->lo, wims_str_c("127.0.0.1"), 0), 0);
	return t;
}

static void side_open(struct t *t, struct side *sd, struct wims_sip_tport_cfg *cfg)
{
	assert_int_equal(wims_sip_tport_alloc(&sd->tp, &t->loop, cfg, on_recv, on_closed, sd), 0);
}

/* Run until *counter reaches want, at most ms milliseconds. */
static bool run_until(struct t *t, const unsigned *counter, unsigned want, unsigned ms)
{
	uint64_t end = uv_now(&t->loop) + ms;

	while (*counter < want && uv_now(&t->loop) < end)
		uv_run(&t->loop, UV_RUN_ONCE);
	return *counter >= want;
}

static void t_free(struct t *t)
{
	struct side *sides[] = {&t->a, &t->b};

	for (int i = 0; i < 2; i++) {
		if (sides[i]->last_flow)
			wims_sip_flow_deref(sides[i]->last_flow);
		wims_sip_tport_close(sides[i]->tp);
	}
	uv_close((uv_handle_t *)&t->tick, NULL);
	uv_run(&t->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&t->loop), 0);
	SSL_CTX_free(t->srv_tls);
	SSL_CTX_free(t->cli_tls);
	free(t);
}

static void test_udp(void **state)
{
	struct t *t = t_new();
	struct wims_sip_tport_cfg cfg = {.udp = &t->lo};
	struct wims_addr aa, ba, x;

	side_open(t, &t->a, &cfg);
	side_open(t, &t->b, &cfg);
	assert_int_equal(wims_sip_tport_local(t->a.tp, WIMS_SIP_UDP, &aa), 0);
	assert_int_equal(wims_sip_tport_local(t->b.tp, WIMS_SIP_UDP, &ba), 0);
	assert_int_equal(wims_sip_tport_local(t->b.tp, WIMS_SIP_TCP, &x), -ENOENT);
	assert_true(wims_addr_port(&ba) != 0);
	t->b.reply = true;

	struct wims_sip_flow *used = (void *)1;
	assert_int_equal(wims_sip_tport_send(t->a.tp, WIMS_SIP_UDP, &ba, "hello", 5, true, &used), 0);
	assert_null(used);
	assert_true(run_until(t, &t->a.msgs, 1, 2000));
	assert_int_equal(t->b.msgs, 1);
	assert_int_equal(t->b.last_proto, WIMS_SIP_UDP);
	assert_int_equal(t->b.last_id, 0);
	assert_true(wims_addr_eq(&t->b.last_peer, &aa));
	assert_memory_equal(t->b.last, "hello", 5);
	assert_int_equal(t->a.last_len, 5);
	assert_memory_equal(t->a.last, "reply", 5);

	/* CRLF keep-alives are not messages */
	assert_int_equal(wims_sip_tport_send(t->a.tp, WIMS_SIP_UDP, &ba, "\r\n\r\n", 4, false, NULL), 0);
	assert_int_equal(wims_sip_tport_send(t->a.tp, WIMS_SIP_UDP, &ba, "again", 5, false, NULL), 0);
	assert_true(run_until(t, &t->b.msgs, 2, 2000));
	assert_memory_equal(t->b.last, "again", 5);
	assert_int_equal(t->b.closed, 0);

	/* a burst: several datagrams per recvmmsg batch */
	t->b.reply = false;
	for (int i = 0; i < 50; i++) {
		char m[32];
		int n = snprintf(m, sizeof(m), "burst %d", i);
		assert_int_equal(wims_sip_tport_send(t->a.tp, WIMS_SIP_UDP, &ba, m, (size_t)n, false, NULL),
				 0);
	}
	assert_true(run_until(t, &t->b.msgs, 52, 2000));
	assert_memory_equal(t->b.last, "burst 49", 8);
	t->b.msgs = 2;

	/* closing a UDP pseudo-flow does nothing */
	t->b.close_rx = true;
	assert_int_equal(wims_sip_tport_send(t->a.tp, WIMS_SIP_UDP, &ba, "third", 5, false, NULL), 0);
	assert_true(run_until(t, &t->b.msgs, 3, 2000));
	assert_int_equal(wims_sip_tport_send(t->a.tp, WIMS_SIP_UDP, &ba, "fourth", 6, false, NULL), 0);
	assert_true(run_until(t, &t->b.msgs, 4, 2000));
	assert_int_equal(t->b.closed, 0);
	t_free(t);
}

/* A dual-stack UDP socket ([::]) sees IPv4 peers as plain IPv4 and answers them. */
static void test_udp_dual_stack(void **state)
{
	struct t *t = t_new();
	struct wims_addr any6, ba, aa;
	struct wims_sip_tport_cfg ca = {.udp = &t->lo};

	assert_int_equal(wims_addr_parse(&any6, wims_str_c("[::]"), 0), 0);
	struct wims_sip_tport_cfg cb = {.udp = &any6};
	if (wims_sip_tport_alloc(&t->b.tp, &t->loop, &cb, on_recv, on_closed, &t->b) < 0) {
		t_free(t);
		skip(); /* no IPv6 here */
	}
	side_open(t, &t->a, &ca);
	t->b.reply = true;
	assert_int_equal(wims_sip_tport_local(t->b.tp, WIMS_SIP_UDP, &ba), 0);
	assert_int_equal(wims_sip_tport_local(t->a.tp, WIMS_SIP_UDP, &aa), 0);
	struct wims_addr dst = t->lo;
	wims_addr_set_port(&dst, wims_addr_port(&ba));
	assert_int_equal(wims_sip_tport_send(t->a.tp, WIMS_SIP_UDP, &dst, "hello", 5, true, NULL), 0);
	assert_true(run_until(t, &t->a.msgs, 1, 2000));
	assert_int_equal(t->b.last_peer.u.sa.sa_family, AF_INET);
	assert_true(wims_addr_eq(&t->b.last_peer, &aa));
	/* and sending to an IPv4 address directly from the IPv6 socket */
	assert_int_equal(wims_sip_tport_send(t->b.tp, WIMS_SIP_UDP, &aa, "again", 5, false, NULL), 0);
	assert_true(run_until(t, &t->a.msgs, 2, 2000));
	t_free(t);
}

/* ---- STUN keep-alive on the UDP port (RFC 5626 §4.4.2) ---- */

struct stun_rx {
	uint8_t b[64];
	ssize_t n;
	unsigned got;
};

static void stun_alloc(uv_handle_t *h, size_t sug, uv_buf_t *buf)
{
	struct stun_rx *r = h->data;

	buf->base = (char *)r->b;
	buf->len = sizeof(r->b);
}

static void stun_recv(uv_udp_t *u, ssize_t n, const uv_buf_t *buf, const struct sockaddr *a, unsigned fl)
{
	struct stun_rx *r = u->data;

	if (n > 0) {
		r->n = n;
		r->got++;
	}
}

static void test_udp_stun(void **state)
{
	struct t *t = t_new();
	struct wims_sip_tport_cfg cfg = {.udp = &t->lo};
	struct wims_addr ba, mine;
	struct stun_rx rx = {0};
	uv_udp_t u;
	static const uint8_t req[20] = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1,  2,
					3,    4,    5,	  6,	7,    8,    9,	  10,	11, 12};
	struct sockaddr_storage ss;
	int sl = sizeof(ss);

	side_open(t, &t->b, &cfg);
	assert_int_equal(wims_sip_tport_local(t->b.tp, WIMS_SIP_UDP, &ba), 0);
	assert_int_equal(uv_udp_init(&t->loop, &u), 0);
	u.data = &rx;
	assert_int_equal(uv_udp_bind(&u, &t->lo.u.sa, 0), 0);
	assert_int_equal(uv_udp_getsockname(&u, (struct sockaddr *)&ss, &sl), 0);
	assert_int_equal(wims_addr_from_sa(&mine, (struct sockaddr *)&ss), 0);
	assert_int_equal(uv_udp_recv_start(&u, stun_alloc, stun_recv), 0);
	uv_buf_t b = uv_buf_init((char *)req, sizeof(req));
	assert_int_equal(uv_udp_try_send(&u, &b, 1, &ba.u.sa), (int)sizeof(req));
	assert_true(run_until(t, &rx.got, 1, 2000));
	assert_int_equal(rx.n, 32);
	assert_int_equal(rx.b[0], 0x01);
	assert_int_equal(rx.b[1], 0x01);
	assert_int_equal(rx.b[3], 12);
	assert_memory_equal(rx.b + 4, req + 4, 16);
	assert_int_equal(rx.b[21], 0x20); /* XOR-MAPPED-ADDRESS */
	assert_int_equal(rx.b[25], 0x01);
	assert_int_equal(((rx.b[26] << 8) | rx.b[27]) ^ 0x2112, wims_addr_port(&mine));
	for (int i = 0; i < 4; i++)
		assert_int_equal(rx.b[28 + i] ^ req[4 + i], ((uint8_t *)&mine.u.in.sin_addr)[i]);
	assert_int_equal(t->b.msgs, 0);
	uv_close((uv_handle_t *)&u, NULL);
	t_free(t);
}

static void tcp_pair(struct t *t, unsigned idle_s, struct wims_addr *bt)
{
	struct wims_sip_tport_cfg ca = {.udp = &t->lo, .tcp = &t->lo, .udp_mtu = 200};
	struct wims_sip_tport_cfg cb = {.udp = &t->lo, .tcp = &t->lo, .tcp_idle_s = idle_s};

	side_open(t, &t->a, &ca);
	side_open(t, &t->b, &cb);
	assert_int_equal(wims_sip_tport_local(t->b.tp, WIMS_SIP_TCP, bt), 0);
}

#define SIPMSG(body)                                                                                         \
	"OPTIONS sip:b@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bK1\r\n"                  \
	"Content-Length: " #body "\r\n\r\n"

static void test_tcp_on_demand(void **state)
{
	struct t *t = t_new();
	struct wims_addr bt;
	static const char m[] = SIPMSG(0);
	struct wims_sip_flow *used = NULL, *used2 = NULL;

	tcp_pair(t, 0, &bt);
	/* queued while connecting, the second on the same flow */
	assert_int_equal(wims_sip_tport_send(t->a.tp, WIMS_SIP_TCP, &bt, m, strlen(m), true, &used), 0);
	assert_non_null(used);
	assert_int_equal(wims_sip_tport_send(t->a.tp, WIMS_SIP_TCP, &bt, m, strlen(m), true, &used2), 0);
	assert_ptr_equal(used, used2);
	uint64_t id = wims_sip_flow_id(used);
	assert_true(id != 0);
	assert_ptr_equal(wims_sip_tport_flow_find(t->a.tp, id), used);
	assert_int_equal(wims_sip_flow_proto(used), WIMS_SIP_TCP);
	assert_true(wims_addr_eq(wims_sip_flow_peer(used), &bt));

	/* both arrive on one flow */
	assert_true(run_until(t, &t->b.msgs, 2, 2000));
	assert_int_equal(t->b.last_proto, WIMS_SIP_TCP);
	assert_int_equal(t->b.last_len, strlen(m));
	assert_memory_equal(t->b.last, m, strlen(m));
	uint64_t bid = t->b.last_id;
	assert_true(bid != 0 && bid != id);

	/* B answers on the flow it received on */
	struct wims_sip_flow *fb = wims_sip_tport_flow_find(t->b.tp, bid);
	assert_ptr_equal(fb, t->b.last_flow);
	assert_true(wims_addr_eq(wims_sip_flow_local(fb), &bt));
	static const char r[] = "SIP/2.0 200 OK\r\nl: 2\r\n\r\nok";
	assert_int_equal(wims_sip_flow_send(fb, r, strlen(r)), 0);
	assert_true(run_until(t, &t->a.msgs, 1, 2000));
	assert_int_equal(t->a.last_id, id);
	assert_int_equal(t->a.last_len, strlen(r));

	/* B closes: both sides see the flow go; find returns NULL after */
	wims_sip_flow_close(fb);
	assert_null(wims_sip_tport_flow_find(t->b.tp, bid));
	assert_int_equal(wims_sip_flow_send(fb, r, strlen(r)), -ENOTCONN);
	assert_true(run_until(t, &t->a.closed, 1, 2000));
	assert_true(run_until(t, &t->b.closed, 1, 2000));
	assert_ptr_equal(t->a.closed_flow, used);
	assert_null(wims_sip_tport_flow_find(t->a.tp, id));
	t_free(t);
}

static void test_udp_over_mtu_goes_tcp(void **state)
{
	struct t *t = t_new();
	struct wims_addr bt;
	char big[600];

	tcp_pair(t, 0, &bt);
	int n = snprintf(big, sizeof(big), SIPMSG(300));
	memset(big + n, 'x', 300);
	size_t len = (size_t)n + 300;
	struct wims_sip_flow *used = NULL;

	/* bt is B's TCP port; as a UDP destination it only works through the fallback */
	assert_int_equal(wims_sip_tport_send(t->a.tp, WIMS_SIP_UDP, &bt, big, len, true, &used), 0);
	assert_non_null(used);
	assert_int_equal(wims_sip_flow_proto(used), WIMS_SIP_TCP);
	assert_true(run_until(t, &t->b.msgs, 1, 2000));
	assert_int_equal(t->b.last_proto, WIMS_SIP_TCP);
	assert_int_equal(t->b.last_len, len);

	/* a response is never moved; a small request stays on UDP */
	struct wims_addr bu;
	assert_int_equal(wims_sip_tport_local(t->b.tp, WIMS_SIP_UDP, &bu), 0);
	assert_int_equal(wims_sip_tport_send(t->a.tp, WIMS_SIP_UDP, &bu, big, len, false, &used), 0);
	assert_null(used);
	assert_true(run_until(t, &t->b.msgs, 2, 2000));
	assert_int_equal(t->b.last_proto, WIMS_SIP_UDP);
	assert_int_equal(t->b.last_len, len);
	t_free(t);
}

/* ---- raw stream peer: pings, split messages, bad frames ---- */

struct raw {
	char rx[256];
	size_t rx_len;
	unsigned closes, opens;
};

static void raw_open(struct wims_stream *s, void *arg)
{
	((struct raw *)arg)->opens++;
}

static void raw_data(struct wims_stream *s, const char *d, size_t n, void *arg)
{
	struct raw *r = arg;

	assert_true(r->rx_len + n <= sizeof(r->rx));
	memcpy(r->rx + r->rx_len, d, n);
	r->rx_len += n;
}

static void raw_close(struct wims_stream *s, int err, void *arg)
{
	((struct raw *)arg)->closes++;
}

static void test_stream_input(void **state)
{
	struct t *t = t_new();
	struct wims_addr bt;
	struct raw raw = {0};
	struct wims_stream_handlers h = {raw_open, raw_data, raw_close, &raw};
	struct wims_stream *s;
	static const char m[] = SIPMSG(4) "abcd";
	unsigned rx_len_u = 0;

	tcp_pair(t, 0, &bt);
	assert_int_equal(wims_stream_connect(&s, &t->loop, &bt, NULL, NULL, &h), 0);
	assert_true(run_until(t, &raw.opens, 1, 2000));

	/* a ping in two halves, answered by one pong */
	assert_int_equal(wims_stream_write(s, "\r\n", 2), 0);
	uv_run(&t->loop, UV_RUN_NOWAIT);
	assert_int_equal(wims_stream_write(s, "\r\n", 2), 0);
	while (raw.rx_len < 2 && rx_len_u++ < 400)
		uv_run(&t->loop, UV_RUN_ONCE);
	assert_int_equal(raw.rx_len, 2);
	assert_memory_equal(raw.rx, "\r\n", 2);

	/* a message in three pieces, then two at once */
	assert_int_equal(wims_stream_write(s, m, 10), 0);
	uv_run(&t->loop, UV_RUN_NOWAIT);
	assert_int_equal(wims_stream_write(s, m + 10, strlen(m) - 12), 0);
	uv_run(&t->loop, UV_RUN_NOWAIT);
	assert_int_equal(wims_stream_write(s, m + strlen(m) - 2, 2), 0);
	assert_true(run_until(t, &t->b.msgs, 1, 2000));
	assert_int_equal(t->b.last_len, strlen(m));
	assert_memory_equal(t->b.last, m, strlen(m));
	char two[256];
	int n = snprintf(two, sizeof(two), "%s%s", m, m);
	assert_int_equal(wims_stream_write(s, two, (size_t)n), 0);
	assert_true(run_until(t, &t->b.msgs, 3, 2000));
	assert_int_equal(t->b.closed, 0);

	/* no Content-Length: the connection is closed */
	static const char bad[] = "OPTIONS sip:b SIP/2.0\r\nVia: x\r\n\r\n";
	assert_int_equal(wims_stream_write(s, bad, strlen(bad)), 0);
	assert_true(run_until(t, &raw.closes, 1, 2000));
	assert_true(run_until(t, &t->b.closed, 1, 2000));
	assert_int_equal(t->b.msgs, 3);
	t_free(t);
}

/* Many connections at once: the tables grow, every message arrives on its
 * own flow, and closing the tport closes every connection. */
#define NCONN 200
static void test_many_connections(void **state)
{
	struct t *t = t_new();
	struct wims_addr bt;
	static struct raw raws[NCONN];
	static const char m[] = SIPMSG(0);
	struct wims_stream_handlers h = {raw_open, raw_data, raw_close, NULL};
	unsigned closes = 0;

	memset(raws, 0, sizeof(raws));
	tcp_pair(t, 0, &bt);
	for (int i = 0; i < NCONN; i++) {
		struct wims_stream *s;
		h.arg = &raws[i];
		assert_int_equal(wims_stream_connect(&s, &t->loop, &bt, NULL, NULL, &h), 0);
		assert_int_equal(wims_stream_write(s, m, strlen(m)), 0);
	}
	assert_true(run_until(t, &t->b.msgs, NCONN, 5000));
	/* every flow is still there, each under its own id */
	assert_non_null(wims_sip_tport_flow_find(t->b.tp, t->b.last_id));
	wims_sip_tport_close(t->b.tp);
	t->b.tp = NULL;
	for (int tries = 0; tries < 2000 && closes < NCONN; tries++) {
		uv_run(&t->loop, UV_RUN_ONCE);
		closes = 0;
		for (int i = 0; i < NCONN; i++)
			closes += raws[i].closes;
	}
	assert_int_equal(closes, NCONN);
	assert_int_equal(t->b.closed, 0); /* no handler after tport close */
	t_free(t);
}

static void run_for(struct t *t, unsigned ms)
{
	uint64_t end = uv_now(&t->loop) + ms;

	while (uv_now(&t->loop) < end)
		uv_run(&t->loop, UV_RUN_ONCE);
}

static void test_idle_close(void **state)
{
	struct t *t = t_new();
	struct wims_addr bt;
	static const char m[] = SIPMSG(0);
	struct wims_sip_flow *used;
	struct wims_sip_tport_counters c;

	tcp_pair(t, 1, &bt);
	assert_int_equal(wims_sip_tport_send(t->a.tp, WIMS_SIP_TCP, &bt, m, strlen(m), true, &used), 0);
	assert_true(run_until(t, &t->b.msgs, 1, 2000));
	wims_sip_flow_deref(t->b.last_flow); /* nobody holds the flow */
	t->b.last_flow = NULL;
	uint64_t start = uv_now(&t->loop);
	assert_true(run_until(t, &t->b.closed, 1, 3000));
	assert_true(uv_now(&t->loop) - start >= 500);
	assert_true(run_until(t, &t->a.closed, 1, 2000));
	wims_sip_tport_counters(t->b.tp, &c);
	assert_int_equal(c.closed_idle, 1);

	/* a flow someone holds (a transaction) is not idle-closed */
	assert_int_equal(wims_sip_tport_send(t->a.tp, WIMS_SIP_TCP, &bt, m, strlen(m), true, &used), 0);
	assert_true(run_until(t, &t->b.msgs, 2, 2000));
	run_for(t, 1800);
	assert_int_equal(t->b.closed, 1);
	wims_sip_flow_deref(t->b.last_flow);
	t->b.last_flow = NULL;
	assert_true(run_until(t, &t->b.closed, 2, 2000));
	wims_sip_tport_counters(t->b.tp, &c);
	assert_int_equal(c.closed_idle, 2);
	assert_int_equal(c.closed_incomplete, 0);
	t_free(t);
}

static void test_connect_refused(void **state)
{
	struct t *t = t_new();
	struct wims_addr bt;
	static const char m[] = SIPMSG(0);
	struct wims_sip_flow *used;

	tcp_pair(t, 0, &bt);
	wims_sip_tport_close(t->b.tp); /* nobody listens on bt any more */
	t->b.tp = NULL;
	uv_run(&t->loop, UV_RUN_NOWAIT);
	assert_int_equal(wims_sip_tport_send(t->a.tp, WIMS_SIP_TCP, &bt, m, strlen(m), true, &used), 0);
	uint64_t id = wims_sip_flow_id(used);
	assert_true(run_until(t, &t->a.closed, 1, 2000));
	assert_null(wims_sip_tport_flow_find(t->a.tp, id));
	/* TLS without a client context */
	assert_int_equal(wims_sip_tport_send(t->a.tp, WIMS_SIP_TLS, &bt, m, strlen(m), true, &used),
			 -ENOTSUP);
	t_free(t);
}

/* ---- external flows ---- */

struct fake_conn {
	char sent[256];
	size_t sent_len;
	unsigned sends, closes;
	struct wims_sip_flow *f;
	bool gone_on_close;
};

static int fake_send(void *conn, const char *buf, size_t len)
{
	struct fake_conn *c = conn;

	assert_true(len <= sizeof(c->sent));
	memcpy(c->sent, buf, len);
	c->sent_len = len;
	c->sends++;
	return 0;
}

static void fake_close(void *conn)
{
	struct fake_conn *c = conn;

	c->closes++;
	if (c->gone_on_close)
		wims_sip_flow_gone(c->f);
}

static const struct wims_sip_flow_ops fake_ops = {fake_send, fake_close};

static void test_external(void **state)
{
	struct t *t = t_new();
	struct wims_sip_tport_cfg cfg = {.udp = &t->lo};
	struct fake_conn c = {0}, c2 = {0};
	struct wims_addr peer, local;
	struct wims_sip_flow *used;

	side_open(t, &t->b, &cfg);
	assert_int_equal(wims_addr_parse(&peer, wims_str_c("192.0.2.7:40000"), 0), 0);
	assert_int_equal(wims_addr_parse(&local, wims_str_c("127.0.0.1:8443"), 0), 0);
	assert_int_equal(wims_sip_flow_external(t->b.tp, &c.f, WIMS_SIP_WSS, &fake_ops, &c, &local, &peer),
			 0);
	uint64_t id = wims_sip_flow_id(c.f);
	assert_true(id != 0);
	assert_ptr_equal(wims_sip_tport_flow_find(t->b.tp, id), c.f);
	assert_int_equal(wims_sip_flow_proto(c.f), WIMS_SIP_WSS);
	assert_true(wims_addr_eq(wims_sip_flow_local(c.f), &local));
	assert_string_equal(wims_sip_proto_name(WIMS_SIP_WSS), "WSS");

	/* input → recv handler; the handler replies on the flow → ops->send */
	t->b.reply = true;
	wims_sip_flow_input(c.f, "REGISTER", 8);
	assert_int_equal(t->b.msgs, 1);
	assert_int_equal(t->b.last_proto, WIMS_SIP_WSS);
	assert_int_equal(t->b.last_id, id);
	assert_true(wims_addr_eq(&t->b.last_peer, &peer));
	assert_int_equal(c.sends, 1);
	assert_memory_equal(c.sent, "reply", 5);

	/* sending by address finds the flow; WS to an unknown peer cannot connect */
	assert_int_equal(wims_sip_tport_send(t->b.tp, WIMS_SIP_WSS, &peer, "INVITE", 6, true, &used), 0);
	assert_ptr_equal(used, c.f);
	assert_int_equal(c.sends, 2);
	assert_int_equal(wims_sip_tport_send(t->b.tp, WIMS_SIP_WS, &peer, "INVITE", 6, true, &used),
			 -ENOTCONN);

	/* the connection goes */
	wims_sip_flow_gone(c.f); /* last_flow still holds a reference */
	assert_int_equal(t->b.closed, 1);
	assert_null(wims_sip_tport_flow_find(t->b.tp, id));
	assert_false(wims_sip_flow_alive(t->b.last_flow));
	assert_int_equal(wims_sip_flow_send(t->b.last_flow, "x", 1), -ENOTCONN);
	assert_int_equal(wims_sip_tport_send(t->b.tp, WIMS_SIP_WSS, &peer, "INVITE", 6, true, &used),
			 -ENOTCONN);

	/* close asked by the transport side: ops->close, then the owner's gone */
	c2.gone_on_close = true;
	assert_int_equal(wims_sip_flow_external(t->b.tp, &c2.f, WIMS_SIP_WS, &fake_ops, &c2, NULL, &peer), 0);
	assert_true(wims_sip_flow_id(c2.f) > id);
	wims_sip_flow_close(c2.f);
	assert_int_equal(c2.closes, 1);
	assert_int_equal(t->b.closed, 2);

	/* closing the tport closes the external flows still there */
	struct fake_conn c3 = {.gone_on_close = true};
	assert_int_equal(wims_sip_flow_external(t->b.tp, &c3.f, WIMS_SIP_WS, &fake_ops, &c3, NULL, &peer), 0);
	wims_sip_tport_close(t->b.tp);
	t->b.tp = NULL;
	assert_int_equal(c3.closes, 1);
	assert_int_equal(t->b.closed, 2); /* no handler after close */
	t_free(t);
}

/* ---- TLS ---- */

static void make_tls(struct t *t)
{
	EVP_PKEY *pkey = EVP_EC_gen("P-256");
	X509 *x = X509_new();

	assert_non_null(pkey);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, pkey);
	X509_NAME *name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1, 0);
	X509_set_issuer_name(x, name);
	assert_true(X509_sign(x, pkey, EVP_sha256()) > 0);
	t->srv_tls = SSL_CTX_new(TLS_server_method());
	assert_int_equal(SSL_CTX_use_certificate(t->srv_tls, x), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(t->srv_tls, pkey), 1);
	char err[128];
	assert_int_equal(wims_tls_client_ctx(&t->cli_tls, NULL, err, sizeof(err)), 0);
	X509_free(x);
	EVP_PKEY_free(pkey);
}

static void test_tls(void **state)
{
	struct t *t = t_new();
	struct wims_addr bs;
	static const char m[] = SIPMSG(0);
	struct wims_sip_flow *used;

	make_tls(t);
	struct wims_sip_tport_cfg ca = {.tls_client = t->cli_tls};
	struct wims_sip_tport_cfg cb = {.tls = &t->lo, .tls_server = t->srv_tls};
	side_open(t, &t->a, &ca);
	side_open(t, &t->b, &cb);
	assert_int_equal(wims_sip_tport_local(t->b.tp, WIMS_SIP_TLS, &bs), 0);
	assert_int_equal(wims_sip_tport_send(t->a.tp, WIMS_SIP_TLS, &bs, m, strlen(m), true, &used), 0);
	assert_int_equal(wims_sip_flow_proto(used), WIMS_SIP_TLS);
	assert_true(run_until(t, &t->b.msgs, 1, 3000));
	assert_int_equal(t->b.last_proto, WIMS_SIP_TLS);
	assert_int_equal(wims_sip_flow_send(t->b.last_flow, m, strlen(m)), 0);
	assert_true(run_until(t, &t->a.msgs, 1, 3000));
	assert_int_equal(t->a.last_proto, WIMS_SIP_TLS);
	assert_int_equal(t->a.last_id, wims_sip_flow_id(used));
	/* tls without a server context is refused */
	struct wims_sip_tport *bad;
	struct wims_sip_tport_cfg cc = {.tls = &t->lo};
	assert_int_equal(wims_sip_tport_alloc(&bad, &t->loop, &cc, on_recv, on_closed, NULL), -EINVAL);
	t_free(t);
}

/* ---- bounds on stream connections ---- */

static void raw_connect(struct t *t, const struct wims_addr *to, struct raw *r, struct wims_stream **sp)
{
	struct wims_stream_handlers h = {raw_open, raw_data, raw_close, r};

	memset(r, 0, sizeof(*r));
	assert_int_equal(wims_stream_connect(sp, &t->loop, to, NULL, NULL, &h), 0);
}

/* Inbound connections beyond max_tcp_connections are closed at accept;
 * those wimsd opens itself do not count, and a slot freed is taken again. */
static void test_max_connections(void **state)
{
	struct t *t = t_new();
	struct wims_sip_tport_cfg ca = {.tcp = &t->lo};
	struct wims_sip_tport_cfg cb = {.tcp = &t->lo, .max_tcp_connections = 3};
	struct wims_addr at, bt;
	static const char m[] = SIPMSG(0);
	struct raw raws[5];
	struct wims_stream *ss[5];
	struct wims_sip_tport_counters c;
	struct wims_sip_flow *used;

	side_open(t, &t->a, &ca);
	side_open(t, &t->b, &cb);
	assert_int_equal(wims_sip_tport_local(t->a.tp, WIMS_SIP_TCP, &at), 0);
	assert_int_equal(wims_sip_tport_local(t->b.tp, WIMS_SIP_TCP, &bt), 0);
	for (int i = 0; i < 3; i++) {
		raw_connect(t, &bt, &raws[i], &ss[i]);
		assert_int_equal(wims_stream_write(ss[i], m, strlen(m)), 0);
	}
	assert_true(run_until(t, &t->b.msgs, 3, 2000));
	/* b's own connection to a is not counted */
	assert_int_equal(wims_sip_tport_send(t->b.tp, WIMS_SIP_TCP, &at, m, strlen(m), true, &used), 0);
	assert_true(run_until(t, &t->a.msgs, 1, 2000));
	raw_connect(t, &bt, &raws[3], &ss[3]);
	assert_int_equal(wims_stream_write(ss[3], m, strlen(m)), 0); /* queued until open */
	assert_true(run_until(t, &raws[3].closes, 1, 2000));
	assert_int_equal(t->b.msgs, 3);
	wims_sip_tport_counters(t->b.tp, &c);
	assert_int_equal(c.tcp_in, 3);
	assert_int_equal(c.tcp_out, 1);
	assert_int_equal(c.refused_max, 1);
	/* one goes: the next one is taken */
	wims_stream_close(ss[0]);
	assert_true(run_until(t, &raws[0].closes, 1, 2000));
	assert_true(run_until(t, &t->b.closed, 1, 2000));
	raw_connect(t, &bt, &raws[4], &ss[4]);
	assert_int_equal(wims_stream_write(ss[4], m, strlen(m)), 0);
	assert_true(run_until(t, &t->b.msgs, 4, 2000));
	wims_sip_tport_counters(t->b.tp, &c);
	assert_int_equal(c.tcp_in, 3);
	assert_int_equal(c.refused_max, 1);
	assert_int_equal(raws[4].closes, 0);
	for (int i = 1; i < 5; i++)
		if (i != 3)
			wims_stream_close(ss[i]);
	t_free(t);
}

/* Slowloris: a connection that sends nothing, or part of a message, or
 * only keep-alives, is closed after tcp_message_timeout_s; one that sent a
 * whole message and then pings stays. */
static void test_message_timeout(void **state)
{
	struct t *t = t_new();
	struct wims_sip_tport_cfg cb = {.tcp = &t->lo, .tcp_message_timeout_s = 1, .tcp_idle_s = 60};
	struct wims_addr bt;
	static const char m[] = SIPMSG(0);
	struct raw r[4];
	struct wims_stream *s[4];
	struct wims_sip_tport_counters c;

	side_open(t, &t->b, &cb);
	assert_int_equal(wims_sip_tport_local(t->b.tp, WIMS_SIP_TCP, &bt), 0);
	for (int i = 0; i < 4; i++)
		raw_connect(t, &bt, &r[i], &s[i]);
	/* 0: silent; 1: half a message; 2: a message then pings; 3: pings only */
	assert_int_equal(wims_stream_write(s[1], m, 20), 0);
	assert_int_equal(wims_stream_write(s[2], m, strlen(m)), 0);
	assert_true(run_until(t, &t->b.msgs, 1, 2000));
	for (int k = 0; k < 6; k++) {
		assert_int_equal(wims_stream_write(s[2], "\r\n\r\n", 4), 0);
		if (!r[3].closes) /* after its close callback s[3] is gone */
			assert_int_equal(wims_stream_write(s[3], "\r\n\r\n", 4), 0);
		run_for(t, 400);
	}
	assert_int_equal(r[0].closes, 1);
	assert_int_equal(r[1].closes, 1);
	assert_int_equal(r[2].closes, 0);
	assert_int_equal(r[3].closes, 1);
	assert_true(r[2].rx_len >= 2 && memcmp(r[2].rx, "\r\n", 2) == 0); /* pongs */
	wims_sip_tport_counters(t->b.tp, &c);
	assert_int_equal(c.closed_incomplete, 3);
	assert_int_equal(c.closed_idle, 0);
	assert_int_equal(c.tcp_in, 1);
	/* the rest of a message that began long ago arrives in time: kept */
	assert_int_equal(wims_stream_write(s[2], m, 20), 0);
	run_for(t, 600);
	assert_int_equal(wims_stream_write(s[2], m + 20, strlen(m) - 20), 0);
	assert_true(run_until(t, &t->b.msgs, 2, 2000));
	run_for(t, 900);
	assert_int_equal(r[2].closes, 0);
	wims_stream_close(s[2]);
	t_free(t);
}

/* RFC 3261 §18.3: a message that cannot be framed ends the connection,
 * after a 400 naming the fault when the request says where to send it. */
static void test_framing_errors(void **state)
{
	struct t *t = t_new();
	struct wims_sip_tport_cfg cb = {.tcp = &t->lo};
	struct wims_addr bt;
	struct wims_sip_tport_counters c;
#define HDRS(m)                                                                                              \
	m " sip:b@x SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=1\r\n"              \
	  "To: <sip:b@x>\r\nCall-ID: c1\r\nCSeq: 1 " m "\r\n"
	static const struct {
		const char *in, *want; /* want NULL: closed without an answer */
	} cases[] = {
	    {HDRS("INVITE") "\r\n", "SIP/2.0 400 Missing Content-Length\r\n"},
	    {HDRS("OPTIONS") "Content-Length: x1\r\n\r\n", "SIP/2.0 400 Bad Content-Length\r\n"},
	    {HDRS("OPTIONS") "Content-Length: -1\r\n\r\n", "SIP/2.0 400 Bad Content-Length\r\n"},
	    /* two Content-Lengths: the parser refuses the headers themselves */
	    {HDRS("OPTIONS") "l: 1\r\nContent-Length: 2\r\n\r\n", NULL},
	    {HDRS("MESSAGE") "Content-Length: 70000\r\n\r\n", "SIP/2.0 513 Message Too Large\r\n"},
	    {HDRS("ACK") "\r\n", NULL},
	    {"SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=1\r\n"
	     "To: <sip:b@x>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n\r\n",
	     NULL},
	    {"OPTIONS sip:b@x SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n\r\n", NULL},
	    {"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", NULL},
	    {"\x16\x03\x01\x02\x00\x01", NULL},
	};
#undef HDRS
	const size_t n = sizeof(cases) / sizeof(cases[0]);
	struct raw r[10];
	struct wims_stream *s[10];
	unsigned answered = 0;

	assert_true(n <= 10);
	side_open(t, &t->b, &cb);
	assert_int_equal(wims_sip_tport_local(t->b.tp, WIMS_SIP_TCP, &bt), 0);
	for (size_t i = 0; i < n; i++) {
		raw_connect(t, &bt, &r[i], &s[i]);
		assert_int_equal(wims_stream_write(s[i], cases[i].in, strlen(cases[i].in)), 0);
	}
	for (size_t i = 0; i < n; i++) {
		if (!run_until(t, &r[i].closes, 1, 3000))
			fail_msg("case %zu: still open", i);
		if (!cases[i].want) {
			if (r[i].rx_len)
				fail_msg("case %zu: answered %.*s", i, (int)r[i].rx_len, r[i].rx);
			continue;
		}
		answered++;
		if (r[i].rx_len < strlen(cases[i].want) ||
		    memcmp(r[i].rx, cases[i].want, strlen(cases[i].want)))
			fail_msg("case %zu: got %.*s", i, (int)r[i].rx_len, r[i].rx);
		assert_non_null(memmem(r[i].rx, r[i].rx_len, "Call-ID: c1\r\n", 13));
		assert_non_null(memmem(r[i].rx, r[i].rx_len, "To: <sip:b@x>;tag=", 18));
	}
	assert_int_equal(t->b.msgs, 0);
	wims_sip_tport_counters(t->b.tp, &c);
	assert_int_equal(c.closed_framing, n);
	assert_int_equal(c.framing_answered, answered);
	t_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_udp),
	    cmocka_unit_test(test_udp_stun),
	    cmocka_unit_test(test_udp_dual_stack),
	    cmocka_unit_test(test_tcp_on_demand),
	    cmocka_unit_test(test_udp_over_mtu_goes_tcp),
	    cmocka_unit_test(test_stream_input),
	    cmocka_unit_test(test_many_connections),
	    cmocka_unit_test(test_idle_close),
	    cmocka_unit_test(test_connect_refused),
	    cmocka_unit_test(test_external),
	    cmocka_unit_test(test_tls),
	    cmocka_unit_test(test_max_connections),
	    cmocka_unit_test(test_message_timeout),
	    cmocka_unit_test(test_framing_errors),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
