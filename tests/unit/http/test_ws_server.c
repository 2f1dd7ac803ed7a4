/* The WebSocket server on a real loop on 127.0.0.1, port 0, driven by a
 * blocking-socket client in a second thread.  The client thread never calls
 * cmocka (its asserts longjmp); it records the first failed check instead. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/log.h"
#include "http/ws.h"

#define KEY "dGhlIHNhbXBsZSBub25jZQ=="

enum req { REQ_NONE, REQ_SHUTDOWN, REQ_END, REQ_SEND };

struct env {
	uv_loop_t loop;
	uv_async_t async;
	struct wims_ws_server *srv;
	struct wims_ws_config cfg;
	uint16_t port;
	pthread_t th;
	void (*client)(struct env *e);
	pthread_mutex_t mu; /* guards everything below */
	enum req req;
	int opens, closes, msgs;
	uint16_t close_code;
	char last[4096];
	size_t last_len;
	bool last_binary;
	struct wims_ws_conn *conn;
	struct wims_ws_counters ctr;
	char fail[256];
};

static void fail_at(struct env *e, int line, const char *what)
{
	pthread_mutex_lock(&e->mu);
	if (!e->fail[0])
		snprintf(e->fail, sizeof(e->fail), "line %d: %.200s", line, what);
	pthread_mutex_unlock(&e->mu);
}

#define CHECK(e, c)                                                                                          \
	do {                                                                                                 \
		if (!(c)) {                                                                                  \
			fail_at((e), __LINE__, #c);                                                          \
			return;                                                                              \
		}                                                                                            \
	} while (0)

/* ---- server side (loop thread) ---- */

static void on_open(struct wims_ws_conn *c, void *arg)
{
	struct env *e = arg;
	pthread_mutex_lock(&e->mu);
	e->opens++;
	e->conn = c;
	pthread_mutex_unlock(&e->mu);
}

static void on_msg(struct wims_ws_conn *c, const char *msg, size_t len, bool binary, void *arg)
{
	struct env *e = arg;
	pthread_mutex_lock(&e->mu);
	e->msgs++;
	e->last_len = len < sizeof(e->last) ? len : sizeof(e->last);
	memcpy(e->last, msg, e->last_len);
	e->last_binary = binary;
	pthread_mutex_unlock(&e->mu);
	if (len > 5 && memcmp(msg, "echo:", 5) == 0) {
		int rc = wims_ws_send(c, msg + 5, len - 5);
		assert_int_equal(rc, 0);
	}
}

static void on_close(struct wims_ws_conn *c, uint16_t code, void *arg)
{
	struct env *e = arg;
	pthread_mutex_lock(&e->mu);
	e->closes++;
	e->close_code = code;
	if (e->conn == c)
		e->conn = NULL;
	pthread_mutex_unlock(&e->mu);
}

static void on_async(uv_async_t *a)
{
	struct env *e = a->data;
	enum req r;

	pthread_mutex_lock(&e->mu);
	r = e->req;
	e->req = REQ_NONE;
	wims_ws_server_counters(e->srv, &e->ctr);
	struct wims_ws_conn *c = e->conn;
	pthread_mutex_unlock(&e->mu);
	switch (r) {
	case REQ_SHUTDOWN:
		wims_ws_server_shutdown(e->srv, WIMS_WS_CLOSE_GOING_AWAY);
		break;
	case REQ_SEND:
		if (c)
			assert_int_equal(wims_ws_send(c, "\xff\xfe", 2), 0);
		break;
	case REQ_END:
		wims_ws_server_shutdown(e->srv, WIMS_WS_CLOSE_GOING_AWAY);
		uv_close((uv_handle_t *)&e->async, NULL);
		break;
	default:
		break;
	}
}

static void request(struct env *e, enum req r)
{
	pthread_mutex_lock(&e->mu);
	e->req = r;
	pthread_mutex_unlock(&e->mu);
	uv_async_send(&e->async);
	usleep(20000);
}

static void *client_main(void *arg)
{
	struct env *e = arg;
	e->client(e);
	request(e, REQ_END);
	return NULL;
}

static void run(struct env *e, void (*client)(struct env *e))
{
	struct wims_ws_handlers h = {on_open, on_msg, on_close, e};
	struct wims_addr a;

	e->client = client;
	pthread_mutex_init(&e->mu, NULL);
	assert_int_equal(uv_loop_init(&e->loop), 0);
	assert_int_equal(uv_async_init(&e->loop, &e->async, on_async), 0);
	e->async.data = e;
	assert_int_equal(wims_addr_parse(&e->cfg.listen, wims_str_c("127.0.0.1"), 0), 0);
	assert_int_equal(wims_ws_server_alloc(&e->srv, &e->loop, &e->cfg, &h), 0);
	assert_int_equal(wims_ws_server_addr(e->srv, &a), 0);
	e->port = wims_addr_port(&a);
	assert_int_equal(pthread_create(&e->th, NULL, client_main, e), 0);
	uv_run(&e->loop, UV_RUN_DEFAULT);
	pthread_join(e->th, NULL);
	wims_ws_server_counters(e->srv, &e->ctr);
	wims_ws_server_deref(e->srv);
	uv_run(&e->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&e->loop), 0);
	pthread_mutex_destroy(&e->mu);
	if (e->fail[0])
		fail_msg("client: %s", e->fail);
}

static int get_int(struct env *e, const int *p)
{
	pthread_mutex_lock(&e->mu);
	int v = *p;
	pthread_mutex_unlock(&e->mu);
	return v;
}

static bool wait_int(struct env *e, const int *p, int want, int ms)
{
	for (int i = 0; i < ms / 5; i++) {
		if (get_int(e, p) >= want)
			return true;
		usleep(5000);
	}
	return get_int(e, p) >= want;
}

/* ---- client side (client thread) ---- */

static int tcp_connect(struct env *e)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(e->port)};
	struct timeval tv = {3, 0};
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool send_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t k = send(fd, c, n, MSG_NOSIGNAL);
		if (k <= 0)
			return false;
		c += k;
		n -= (size_t)k;
	}
	return true;
}

static bool recv_all(int fd, void *p, size_t n)
{
	char *c = p;
	while (n) {
		ssize_t k = recv(fd, c, n, 0);
		if (k <= 0)
			return false;
		c += k;
		n -= (size_t)k;
	}
	return true;
}

/* Send a request head, read the response head; returns the status (or -1). */
static int http(int fd, const char *req, char *resp, size_t cap)
{
	size_t n = 0;
	if (!send_all(fd, req, strlen(req)))
		return -1;
	while (n + 1 < cap) {
		ssize_t k = recv(fd, resp + n, 1, 0); /* byte by byte: stop right after the head */
		if (k <= 0)
			break;
		n++;
		resp[n] = 0;
		if (n >= 4 && memcmp(resp + n - 4, "\r\n\r\n", 4) == 0)
			break;
	}
	resp[n] = 0;
	if (n < 12 || memcmp(resp, "HTTP/1.1 ", 9) != 0)
		return -1;
	return atoi(resp + 9);
}

static const char upgrade_req[] = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
				  "Connection: Upgrade\r\nSec-WebSocket-Key: " KEY "\r\n"
				  "Sec-WebSocket-Protocol: sip\r\nSec-WebSocket-Version: 13\r\n\r\n";

static int ws_connect(struct env *e)
{
	char resp[1024];
	int fd = tcp_connect(e);
	if (fd < 0)
		return -1;
	if (http(fd, upgrade_req, resp, sizeof(resp)) != 101 ||
	    !strstr(resp, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n")) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool send_frame(int fd, bool fin, uint8_t op, const void *p, size_t n, bool masked)
{
	static const uint8_t mask[4] = {1, 2, 3, 4};
	char *buf = malloc(n + 14);
	struct wims_wbuf b;
	bool ok;
	wims_wbuf_init(&b, buf, n + 14);
	wims_ws_frame_build(&b, fin, op, p, n, masked ? mask : NULL);
	ok = !b.err && send_all(fd, b.p, b.len);
	free(buf);
	return ok;
}

/* Read one server frame; false on EOF/timeout/bad frame. */
static bool recv_frame(int fd, uint8_t *op, char *buf, size_t cap, size_t *len)
{
	uint8_t h[14];
	struct wims_ws_frame f;
	size_t have = 2;
	if (!recv_all(fd, h, 2))
		return false;
	while (wims_ws_frame_hdr_parse(&f, h, have) == -EAGAIN) {
		if (!recv_all(fd, h + have, 1))
			return false;
		have++;
	}
	if (f.masked || f.len > cap || !recv_all(fd, buf, (size_t)f.len))
		return false;
	*op = f.opcode;
	*len = (size_t)f.len;
	return true;
}

static bool expect_close(int fd, uint16_t code)
{
	char buf[256];
	uint8_t op;
	size_t n;
	while (recv_frame(fd, &op, buf, sizeof(buf), &n)) {
		if (op == WIMS_WS_OP_CLOSE)
			return n >= 2 && ((uint8_t)buf[0] << 8 | (uint8_t)buf[1]) == code;
	}
	return false;
}

static bool expect_eof(int fd)
{
	char c;
	ssize_t k = recv(fd, &c, 1, 0);
	return k == 0 || (k < 0 && errno == ECONNRESET);
}

/* ---- the tests ---- */

static void client_basic(struct env *e)
{
	char buf[256];
	uint8_t op;
	size_t n;
	static const char sip[] =
	    "OPTIONS sip:wims SIP/2.0\r\nVia: SIP/2.0/WS x.invalid;branch=z9hG4bK1\r\n\r\n";
	int fd = ws_connect(e);

	CHECK(e, fd >= 0);
	CHECK(e, wait_int(e, &e->opens, 1, 2000));
	/* a masked SIP message, fragmented with a Ping between the fragments */
	CHECK(e, send_frame(fd, false, WIMS_WS_OP_TEXT, sip, 10, true));
	CHECK(e, send_frame(fd, true, WIMS_WS_OP_PING, "pq", 2, true));
	CHECK(e, recv_frame(fd, &op, buf, sizeof(buf), &n) && op == WIMS_WS_OP_PONG && n == 2 &&
		     memcmp(buf, "pq", 2) == 0);
	CHECK(e, send_frame(fd, true, WIMS_WS_OP_CONT, sip + 10, sizeof(sip) - 11, true));
	CHECK(e, wait_int(e, &e->msgs, 1, 2000));
	pthread_mutex_lock(&e->mu);
	bool same =
	    e->last_len == sizeof(sip) - 1 && memcmp(e->last, sip, e->last_len) == 0 && !e->last_binary;
	pthread_mutex_unlock(&e->mu);
	CHECK(e, same);
	/* CRLF keep-alives are not messages */
	CHECK(e, send_frame(fd, true, WIMS_WS_OP_TEXT, "\r\n\r\n", 4, true));
	CHECK(e, send_frame(fd, true, WIMS_WS_OP_TEXT, "\r\n", 2, true));
	/* the server sends: text back, and binary when not UTF-8 */
	CHECK(e, send_frame(fd, true, WIMS_WS_OP_TEXT, "echo:hi there", 13, true));
	CHECK(e, recv_frame(fd, &op, buf, sizeof(buf), &n) && op == WIMS_WS_OP_TEXT && n == 8 &&
		     memcmp(buf, "hi there", 8) == 0);
	CHECK(e, get_int(e, &e->msgs) == 2);
	request(e, REQ_SEND);
	CHECK(e, recv_frame(fd, &op, buf, sizeof(buf), &n) && op == WIMS_WS_OP_BINARY && n == 2);
	/* binary from the client is delivered as binary */
	CHECK(e, send_frame(fd, true, WIMS_WS_OP_BINARY, "\x00\x01", 2, true));
	CHECK(e, wait_int(e, &e->msgs, 3, 2000));
	/* close handshake: the server echoes our code, then closes TCP */
	CHECK(e, send_frame(fd, true, WIMS_WS_OP_CLOSE, "\x0f\xa0", 2, true));
	CHECK(e, expect_close(fd, 4000));
	CHECK(e, expect_eof(fd));
	CHECK(e, wait_int(e, &e->closes, 1, 2000));
	CHECK(e, e->close_code == 4000);
	close(fd);
}

static void test_basic(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	(void)state;
	run(e, client_basic);
	assert_int_equal(e->msgs, 3);
	assert_int_equal(e->ctr.keepalives_in, 2);
	assert_int_equal(e->ctr.closed[WIMS_WS_END_PEER_CLOSE], 1);
	assert_int_equal(e->ctr.conns, 0);
	free(e);
}

static void client_shutdown(struct env *e)
{
	int fd = ws_connect(e), fd2 = tcp_connect(e);

	CHECK(e, fd >= 0 && fd2 >= 0);
	CHECK(e, wait_int(e, &e->opens, 1, 2000));
	request(e, REQ_SHUTDOWN);
	CHECK(e, expect_close(fd, 1001));
	CHECK(e, send_frame(fd, true, WIMS_WS_OP_CLOSE, "\x03\xe9", 2, true));
	CHECK(e, expect_eof(fd));
	CHECK(e, expect_eof(fd2)); /* a connection still in its handshake is dropped */
	CHECK(e, wait_int(e, &e->closes, 1, 2000));
	CHECK(e, e->close_code == 1001);
	close(fd);
	close(fd2);
	/* no longer accepting */
	CHECK(e, tcp_connect(e) < 0);
}

static void test_shutdown(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	(void)state;
	run(e, client_shutdown);
	assert_int_equal(e->ctr.closed[WIMS_WS_END_LOCAL_CLOSE], 2);
	free(e);
}

static void client_close_timeout(struct env *e)
{
	struct timespec t0, t1;
	int fd = ws_connect(e);

	CHECK(e, fd >= 0);
	CHECK(e, wait_int(e, &e->opens, 1, 2000));
	request(e, REQ_SHUTDOWN);
	CHECK(e, expect_close(fd, 1001));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* no answer: the server waits 5 s, then aborts */
	struct timeval tv = {8, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	CHECK(e, expect_eof(fd));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	CHECK(e, ms >= 4500 && ms < 7000);
	CHECK(e, wait_int(e, &e->closes, 1, 2000));
	CHECK(e, e->close_code == 1001);
	close(fd);
}

static void test_close_timeout(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	(void)state;
	run(e, client_close_timeout);
	assert_int_equal(e->ctr.closed[WIMS_WS_END_CLOSE_TIMEOUT], 1);
	free(e);
}

static void client_errors(struct env *e)
{
	static char big[3000];
	int fd = ws_connect(e);

	CHECK(e, fd >= 0);
	CHECK(e, send_frame(fd, true, WIMS_WS_OP_TEXT, "unmasked", 8, false));
	CHECK(e, expect_close(fd, 1002));
	CHECK(e, expect_eof(fd));
	close(fd);
	CHECK(e, wait_int(e, &e->closes, 1, 2000));
	CHECK(e, e->close_code == 1002);

	fd = ws_connect(e);
	CHECK(e, fd >= 0);
	memset(big, 'a', sizeof(big));
	CHECK(e, send_frame(fd, true, WIMS_WS_OP_TEXT, big, sizeof(big), true));
	CHECK(e, expect_close(fd, 1009));
	close(fd);

	fd = ws_connect(e);
	CHECK(e, fd >= 0);
	CHECK(e, send_frame(fd, true, WIMS_WS_OP_TEXT, "\xc3\x28", 2, true));
	CHECK(e, expect_close(fd, 1007));
	close(fd);
	CHECK(e, wait_int(e, &e->closes, 3, 2000));
	CHECK(e, get_int(e, &e->msgs) == 0);
}

static void test_errors(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	(void)state;
	e->cfg.max_message = 2048;
	run(e, client_errors);
	assert_int_equal(e->ctr.closed[WIMS_WS_END_PROTOCOL], 3);
	free(e);
}

static void client_limits(struct env *e)
{
	char resp[512];
	int fd = ws_connect(e), fd2, fd3;

	CHECK(e, fd >= 0);
	fd2 = tcp_connect(e); /* refused at accept: max_per_ip = 1 */
	CHECK(e, fd2 >= 0);
	CHECK(e, expect_eof(fd2));
	close(fd2);
	close(fd);
	CHECK(e, wait_int(e, &e->closes, 1, 2000));
	/* the slot is free again; now the handshake timeout */
	fd3 = tcp_connect(e);
	CHECK(e, fd3 >= 0);
	CHECK(e, send_all(fd3, "GET /ws HTTP/1.1\r\n", 18));
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(e, expect_eof(fd3));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	CHECK(e, ms >= 150 && ms < 2000);
	close(fd3);
	(void)resp;
}

static void test_limits(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	(void)state;
	e->cfg.max_per_ip = 1;
	e->cfg.handshake_timeout_ms = 300;
	run(e, client_limits);
	assert_int_equal(e->ctr.refused_per_ip, 1);
	assert_int_equal(e->ctr.closed[WIMS_WS_END_HANDSHAKE_TIMEOUT], 1);
	assert_int_equal(e->ctr.closed[WIMS_WS_END_DROPPED], 1);
	free(e);
}

static void client_max_conns(struct env *e)
{
	int fd = ws_connect(e), fd2 = tcp_connect(e);

	CHECK(e, fd >= 0 && fd2 >= 0);
	CHECK(e, expect_eof(fd2)); /* refused at accept: max_connections = 1 */
	close(fd2);
	close(fd);
	CHECK(e, wait_int(e, &e->closes, 1, 2000));
	fd = ws_connect(e); /* room again */
	CHECK(e, fd >= 0);
	close(fd);
}

static void test_max_connections(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	(void)state;
	e->cfg.max_connections = 1;
	run(e, client_max_conns);
	assert_int_equal(e->ctr.refused_max, 1);
	assert_int_equal(e->ctr.accepted, 2);
	free(e);
}

static void client_keepalive(struct env *e)
{
	char buf[256];
	uint8_t op;
	size_t n;
	int fd = ws_connect(e);

	CHECK(e, fd >= 0);
	/* a Ping after 1 s of silence; answer it */
	CHECK(e, recv_frame(fd, &op, buf, sizeof(buf), &n) && op == WIMS_WS_OP_PING);
	CHECK(e, send_frame(fd, true, WIMS_WS_OP_PONG, buf, n, true));
	/* the next Ping goes unanswered: idle close (1001) at 3 s */
	CHECK(e, recv_frame(fd, &op, buf, sizeof(buf), &n) && op == WIMS_WS_OP_PING);
	CHECK(e, expect_close(fd, 1001));
	CHECK(e, send_frame(fd, true, WIMS_WS_OP_CLOSE, "\x03\xe9", 2, true));
	CHECK(e, expect_eof(fd));
	close(fd);
	CHECK(e, wait_int(e, &e->closes, 1, 2000));
}

static void test_keepalive(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	(void)state;
	e->cfg.ping_interval_s = 1;
	e->cfg.idle_timeout_s = 2;
	e->cfg.pong_timeout_s = 5; /* later than the idle timeout: the idle close (with a Close) wins */
	run(e, client_keepalive);
	assert_int_equal(e->ctr.closed[WIMS_WS_END_IDLE], 1);
	assert_int_equal(e->ctr.closed[WIMS_WS_END_PONG_TIMEOUT], 0);
	free(e);
}

static void client_pings(struct env *e)
{
	char buf[256];
	uint8_t op;
	size_t n;
	int fd = ws_connect(e);

	CHECK(e, fd >= 0);
	for (int i = 0; i < 2; i++) { /* Pings keep coming after a Pong, with no idle timeout */
		CHECK(e, recv_frame(fd, &op, buf, sizeof(buf), &n) && op == WIMS_WS_OP_PING);
		CHECK(e, send_frame(fd, true, WIMS_WS_OP_PONG, buf, n, true));
	}
	close(fd);
}

static void test_pings_without_idle(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	(void)state;
	e->cfg.ping_interval_s = 1;
	run(e, client_pings);
	free(e);
}

static long ms_between(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1000L + (b->tv_nsec - a->tv_nsec) / 1000000L;
}

/* A client that stops answering after the upgrade (a browser whose lid closed):
 * it reads the Ping and sends nothing more.  The server aborts pong_timeout_s
 * after its Ping (no Close handshake to wait for) and close_h gets 1006. */
static void client_dead_peer(struct env *e)
{
	struct timespec t0, t1, t2;
	char buf[256];
	uint8_t op;
	size_t n;
	int fd;

	/* an HTTP request still arriving is not pinged: only its handshake timeout runs */
	int http_fd = tcp_connect(e);
	CHECK(e, http_fd >= 0 && send_all(http_fd, "GET /healthz HTTP/1.1\r\n", 23));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fd = ws_connect(e);
	CHECK(e, fd >= 0);
	CHECK(e, recv_frame(fd, &op, buf, sizeof(buf), &n) && op == WIMS_WS_OP_PING);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(e, expect_eof(fd));
	clock_gettime(CLOCK_MONOTONIC, &t2);
	CHECK(e, recv(http_fd, buf, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN);
	CHECK(e, send_all(http_fd, "Host: x\r\n\r\n", 11));
	CHECK(e, http(http_fd, "", buf, sizeof(buf)) == 200);
	close(http_fd);
	/* ping_interval_s 1 + pong_timeout_s 1 from the last bytes (the upgrade) */
	CHECK(e, ms_between(&t1, &t2) >= 900);
	CHECK(e, ms_between(&t0, &t2) <= 2600);
	CHECK(e, wait_int(e, &e->closes, 1, 2000));
	pthread_mutex_lock(&e->mu);
	uint16_t code = e->close_code;
	pthread_mutex_unlock(&e->mu);
	CHECK(e, code == WIMS_WS_CLOSE_ABNORMAL);
	close(fd);
}

static void test_pong_timeout(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	(void)state;
	e->cfg.ping_interval_s = 1;
	e->cfg.pong_timeout_s = 1;
	e->cfg.idle_timeout_s = 600;
	run(e, client_dead_peer);
	assert_int_equal(e->ctr.closed[WIMS_WS_END_PONG_TIMEOUT], 1);
	assert_int_equal(e->ctr.closed[WIMS_WS_END_IDLE], 0);
	assert_int_equal(e->ctr.closed[WIMS_WS_END_HTTP], 1);
	assert_int_equal(e->ctr.conns, 0);
	assert_int_equal(e->closes, 1);
	free(e);
}

/* A live client answers each Ping late but inside pong_timeout_s, once with a
 * CRLF keep-alive instead of a Pong (any bytes count): it is kept for
 * several rounds, longer than ping_interval_s + pong_timeout_s. */
static void client_live_peer(struct env *e)
{
	char buf[256];
	uint8_t op;
	size_t n;
	int fd = ws_connect(e);

	CHECK(e, fd >= 0);
	for (int i = 0; i < 3; i++) {
		CHECK(e, recv_frame(fd, &op, buf, sizeof(buf), &n) && op == WIMS_WS_OP_PING);
		usleep(500000);
		if (i == 1)
			CHECK(e, send_frame(fd, true, WIMS_WS_OP_TEXT, "\r\n\r\n", 4, true));
		else
			CHECK(e, send_frame(fd, true, WIMS_WS_OP_PONG, buf, n, true));
	}
	CHECK(e, get_int(e, &e->closes) == 0);
	CHECK(e, send_frame(fd, true, WIMS_WS_OP_CLOSE, "\x03\xe8", 2, true));
	CHECK(e, expect_close(fd, 1000));
	CHECK(e, expect_eof(fd));
	CHECK(e, wait_int(e, &e->closes, 1, 2000));
	close(fd);
}

static void test_pong_answered(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	(void)state;
	e->cfg.ping_interval_s = 1;
	e->cfg.pong_timeout_s = 1;
	run(e, client_live_peer);
	assert_int_equal(e->ctr.closed[WIMS_WS_END_PONG_TIMEOUT], 0);
	assert_int_equal(e->ctr.closed[WIMS_WS_END_PEER_CLOSE], 1);
	assert_int_equal(e->ctr.keepalives_in, 1);
	free(e);
}

static char web_root[64];

static void client_http(struct env *e)
{
	char resp[1024], body[64];
	int fd;

	fd = tcp_connect(e);
	CHECK(e, http(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", resp, sizeof(resp)) == 200);
	CHECK(e, recv_all(fd, body, 3) && memcmp(body, "ok\n", 3) == 0);
	CHECK(e, expect_eof(fd));
	close(fd);

	fd = tcp_connect(e);
	CHECK(e, http(fd, "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n", resp, sizeof(resp)) == 426);
	CHECK(e, strstr(resp, "Sec-WebSocket-Version: 13\r\n"));
	close(fd);

	fd = tcp_connect(e);
	CHECK(e, http(fd,
		      "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
		      "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
		      resp, sizeof(resp)) == 400);
	close(fd);

	fd = tcp_connect(e);
	CHECK(e, http(fd,
		      "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
		      "Sec-WebSocket-Key: " KEY
		      "\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: sip\r\n"
		      "Origin: https://evil.example\r\n\r\n",
		      resp, sizeof(resp)) == 403);
	close(fd);

	fd = tcp_connect(e);
	CHECK(e, http(fd, "GET /app.js HTTP/1.1\r\nHost: x\r\n\r\n", resp, sizeof(resp)) == 200);
	CHECK(e, strstr(resp, "Content-Type: text/javascript"));
	CHECK(e, strstr(resp, "Content-Length: 11\r\n"));
	CHECK(e, recv_all(fd, body, 11) && memcmp(body, "console.log", 11) == 0);
	close(fd);

	fd = tcp_connect(e);
	CHECK(e, http(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", resp, sizeof(resp)) == 200);
	CHECK(e, strstr(resp, "text/html"));
	close(fd);

	fd = tcp_connect(e);
	CHECK(e, http(fd, "GET /../secret HTTP/1.1\r\nHost: x\r\n\r\n", resp, sizeof(resp)) == 404);
	close(fd);
	fd = tcp_connect(e);
	CHECK(e, http(fd, "GET /nope.html HTTP/1.1\r\nHost: x\r\n\r\n", resp, sizeof(resp)) == 404);
	close(fd);
	fd = tcp_connect(e);
	CHECK(e, http(fd, "DELETE /app.js HTTP/1.1\r\nHost: x\r\n\r\n", resp, sizeof(resp)) == 405);
	close(fd);
	fd = tcp_connect(e);
	CHECK(e, http(fd, "GET / HTTP/1.1\r\nBad header\r\n\r\n", resp, sizeof(resp)) == 400);
	close(fd);
	/* the head arrives in pieces, a frame right behind it */
	fd = tcp_connect(e);
	CHECK(e, send_all(fd, upgrade_req, 20));
	usleep(20000);
	{
		char both[sizeof(upgrade_req) + 16];
		struct wims_wbuf b;
		static const uint8_t mask[4] = {9, 8, 7, 6};
		size_t rest = sizeof(upgrade_req) - 1 - 20;
		memcpy(both, upgrade_req + 20, rest);
		wims_wbuf_init(&b, both + rest, sizeof(both) - rest);
		wims_ws_frame_build(&b, true, WIMS_WS_OP_TEXT, "early", 5, mask);
		CHECK(e, send_all(fd, both, rest + b.len));
	}
	CHECK(e, http(fd, "", resp, sizeof(resp)) == 101);
	CHECK(e, wait_int(e, &e->msgs, 1, 2000));
	close(fd);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[256];
	FILE *f;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_http(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	char secret[80];
	(void)state;
	snprintf(web_root, sizeof(web_root), "/tmp/wims-test-web-XXXXXX");
	assert_non_null(mkdtemp(web_root));
	snprintf(secret, sizeof(secret), "%s/www", web_root);
	assert_int_equal(mkdir(secret, 0700), 0);
	write_file(secret, "app.js", "console.log");
	write_file(secret, "index.html", "<html></html>");
	write_file(web_root, "secret", "no");
	e->cfg.web_root = secret;
	e->cfg.ws_path = "/ws";
	e->cfg.origins = "https://good.example";
	run(e, client_http);
	assert_int_equal(e->msgs, 1);
	assert_int_equal(e->ctr.closed[WIMS_WS_END_HTTP], 6);
	char path[128];
	snprintf(path, sizeof(path), "%s/app.js", secret), unlink(path);
	snprintf(path, sizeof(path), "%s/index.html", secret), unlink(path);
	snprintf(path, sizeof(path), "%s/secret", web_root), unlink(path);
	rmdir(secret);
	rmdir(web_root);
	free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_basic),	  cmocka_unit_test(test_shutdown),
	    cmocka_unit_test(test_close_timeout), cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_limits),	  cmocka_unit_test(test_max_connections),
	    cmocka_unit_test(test_keepalive),	  cmocka_unit_test(test_pings_without_idle),
	    cmocka_unit_test(test_http),	  cmocka_unit_test(test_pong_timeout),
	    cmocka_unit_test(test_pong_answered),
	};
	wims_log_init("test", false, WIMS_LOG_INFO);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
