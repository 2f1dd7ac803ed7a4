/* WSS: the WebSocket server over TLS with a self-signed P-256 certificate
 * made here, and the heap cost of idle connections (ws and wss), measured
 * with clients in a child process so that only the server's memory counts. */
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "base/log.h"
#include "base/stream.h"
#include "http/ws.h"

#define KEY "dGhlIHNhbXBsZSBub25jZQ=="

#ifndef __has_feature
#define __has_feature(x) 0
#endif

static char dir[64], cert_path[128], key_path[128];
static SSL_CTX *server_tls;

/* ---- a self-signed P-256 certificate ---- */

static void make_cert(void)
{
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *nm;
	FILE *f;

	assert_non_null(pk);
	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, pk);
	nm = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1, 0);
	X509_set_issuer_name(x, nm);
	assert_true(X509_sign(x, pk, EVP_sha256()) > 0);
	snprintf(dir, sizeof(dir), "/tmp/wims-test-tls-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(cert_path, sizeof(cert_path), "%s/cert.pem", dir);
	snprintf(key_path, sizeof(key_path), "%s/key.pem", dir);
	f = fopen(cert_path, "w");
	assert_non_null(f);
	PEM_write_X509(f, x);
	fclose(f);
	f = fopen(key_path, "w");
	assert_non_null(f);
	PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(pk);
}

static int setup(void **state)
{
	char err[256];
	(void)state;
	make_cert();
	return wims_tls_server_ctx(&server_tls, cert_path, key_path, err, sizeof(err)) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	SSL_CTX_free(server_tls);
	unlink(cert_path);
	unlink(key_path);
	rmdir(dir);
	return 0;
}

/* ---- a blocking client, plain or TLS ---- */

struct cli {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
};

static bool cli_connect(struct cli *c, uint16_t port, bool tls)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	struct timeval tv = {5, 0};

	memset(c, 0, sizeof(*c));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return false;
	if (!tls)
		return true;
	c->ctx = SSL_CTX_new(TLS_client_method());
	c->ssl = SSL_new(c->ctx);
	SSL_set_fd(c->ssl, c->fd);
	SSL_set_tlsext_host_name(c->ssl, "localhost");
	return SSL_connect(c->ssl) == 1;
}

static void cli_close(struct cli *c)
{
	if (c->ssl)
		SSL_free(c->ssl);
	if (c->ctx)
		SSL_CTX_free(c->ctx);
	close(c->fd);
}

static bool cli_send(struct cli *c, const void *p, size_t n)
{
	if (c->ssl)
		return SSL_write(c->ssl, p, (int)n) == (int)n;
	return send(c->fd, p, n, MSG_NOSIGNAL) == (ssize_t)n;
}

static bool cli_recv(struct cli *c, void *p, size_t n)
{
	char *b = p;
	while (n) {
		int k = c->ssl ? SSL_read(c->ssl, b, (int)n) : (int)recv(c->fd, b, n, 0);
		if (k <= 0)
			return false;
		b += k;
		n -= (size_t)k;
	}
	return true;
}

static bool cli_upgrade(struct cli *c)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
				  "Connection: Upgrade\r\nSec-WebSocket-Key: " KEY "\r\n"
				  "Sec-WebSocket-Protocol: sip\r\nSec-WebSocket-Version: 13\r\n\r\n";
	char resp[512];
	size_t n = 0;

	if (!cli_send(c, req, sizeof(req) - 1))
		return false;
	while (n < sizeof(resp) - 1 && cli_recv(c, resp + n, 1)) {
		n++;
		if (n >= 4 && memcmp(resp + n - 4, "\r\n\r\n", 4) == 0)
			return memcmp(resp, "HTTP/1.1 101 ", 13) == 0;
	}
	return false;
}

static bool cli_frame(struct cli *c, uint8_t op, const void *p, size_t n)
{
	static const uint8_t mask[4] = {0xa, 0xb, 0xc, 0xd};
	char buf[256];
	struct wims_wbuf b;
	wims_wbuf_init(&b, buf, sizeof(buf));
	wims_ws_frame_build(&b, true, op, p, n, mask);
	return !b.err && cli_send(c, b.p, b.len);
}

static bool cli_read_frame(struct cli *c, uint8_t *op, char *buf, size_t cap, size_t *len)
{
	uint8_t h[14];
	struct wims_ws_frame f;
	size_t have = 2;
	if (!cli_recv(c, h, 2))
		return false;
	while (wims_ws_frame_hdr_parse(&f, h, have) == -EAGAIN) {
		if (!cli_recv(c, h + have, 1))
			return false;
		have++;
	}
	if (f.len > cap || !cli_recv(c, buf, (size_t)f.len))
		return false;
	*op = f.opcode;
	*len = (size_t)f.len;
	return true;
}

/* ---- the server side ---- */

struct env {
	uv_loop_t loop;
	uv_timer_t tick;
	struct wims_ws_server *srv;
	uint16_t port;
	pthread_mutex_t mu;
	int opens, closes, msgs, tls_opens;
	uint16_t code;
	bool end;
	unsigned ping_s, pong_s; /* keep-alive, set before start() */
	/* memory test */
	int want;
	pid_t child;
	int pipe_w;
	size_t base, per_conn;
	int settle;
};

static void on_open(struct wims_ws_conn *c, void *arg)
{
	struct env *e = arg;
	pthread_mutex_lock(&e->mu);
	e->opens++;
	e->tls_opens += wims_ws_conn_is_tls(c);
	pthread_mutex_unlock(&e->mu);
}

static void on_msg(struct wims_ws_conn *c, const char *msg, size_t len, bool binary, void *arg)
{
	struct env *e = arg;
	(void)binary;
	pthread_mutex_lock(&e->mu);
	e->msgs++;
	pthread_mutex_unlock(&e->mu);
	if (len > 5 && memcmp(msg, "echo:", 5) == 0)
		assert_int_equal(wims_ws_send(c, msg + 5, len - 5), 0);
}

static void on_close(struct wims_ws_conn *c, uint16_t code, void *arg)
{
	struct env *e = arg;
	(void)c;
	pthread_mutex_lock(&e->mu);
	e->closes++;
	e->code = code;
	pthread_mutex_unlock(&e->mu);
}

static void on_tick(uv_timer_t *t)
{
	struct env *e = t->data;
	bool end;
	pthread_mutex_lock(&e->mu);
	end = e->end;
	pthread_mutex_unlock(&e->mu);
	if (end) {
		wims_ws_server_shutdown(e->srv, WIMS_WS_CLOSE_GOING_AWAY);
		uv_close((uv_handle_t *)t, NULL);
	}
}

static void start(struct env *e, bool tls, unsigned hs_timeout_ms)
{
	struct wims_ws_handlers h = {on_open, on_msg, on_close, e};
	struct wims_ws_config cfg = {.tls = tls ? server_tls : NULL,
				     .handshake_timeout_ms = hs_timeout_ms,
				     .ping_interval_s = e->ping_s,
				     .pong_timeout_s = e->pong_s};
	struct wims_addr a;

	pthread_mutex_init(&e->mu, NULL);
	assert_int_equal(uv_loop_init(&e->loop), 0);
	assert_int_equal(wims_addr_parse(&cfg.listen, wims_str_c("127.0.0.1"), 0), 0);
	assert_int_equal(wims_ws_server_alloc(&e->srv, &e->loop, &cfg, &h), 0);
	assert_int_equal(wims_ws_server_addr(e->srv, &a), 0);
	e->port = wims_addr_port(&a);
	uv_timer_init(&e->loop, &e->tick);
	e->tick.data = e;
}

static void finish(struct env *e)
{
	uv_run(&e->loop, UV_RUN_DEFAULT);
	wims_ws_server_deref(e->srv);
	uv_run(&e->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&e->loop), 0);
	pthread_mutex_destroy(&e->mu);
}

/* ---- WSS ---- */

static char client_fail[128];

static void *wss_client(void *arg)
{
	struct env *e = arg;
	struct cli c;
	char buf[128];
	uint8_t op;
	size_t n;
	const char *fail = NULL;

	if (!cli_connect(&c, e->port, true))
		fail = "TLS connect";
	else if (!cli_upgrade(&c))
		fail = "upgrade over TLS";
	else if (!cli_frame(&c, WIMS_WS_OP_TEXT, "echo:REGISTER", 13))
		fail = "send";
	else if (!cli_read_frame(&c, &op, buf, sizeof(buf), &n) || op != 1 || n != 8 ||
		 memcmp(buf, "REGISTER", 8))
		fail = "echo";
	else if (!cli_frame(&c, WIMS_WS_OP_CLOSE, "\x03\xe8", 2))
		fail = "send close";
	else if (!cli_read_frame(&c, &op, buf, sizeof(buf), &n) || op != 8 || n != 2 || buf[1] != (char)0xe8)
		fail = "close echo";
	else if (SSL_read(c.ssl, buf, 1) > 0)
		fail = "data after close";
	cli_close(&c);
	/* a TCP connection that never sends a ClientHello hits the handshake timeout */
	if (!fail) {
		struct cli t;
		ssize_t k = cli_connect(&t, e->port, false) ? recv(t.fd, buf, 1, 0) : 1;
		if (!(k == 0 || (k < 0 && errno == ECONNRESET)))
			fail = "no close on TLS handshake timeout";
		close(t.fd);
	}
	if (fail)
		snprintf(client_fail, sizeof(client_fail), "%s", fail);
	pthread_mutex_lock(&e->mu);
	e->end = true;
	pthread_mutex_unlock(&e->mu);
	return NULL;
}

static void test_wss(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	pthread_t th;
	struct wims_ws_counters ctr;
	(void)state;
	start(e, true, 300);
	uv_timer_start(&e->tick, on_tick, 20, 20);
	assert_int_equal(pthread_create(&th, NULL, wss_client, e), 0);
	uv_run(&e->loop, UV_RUN_DEFAULT);
	pthread_join(th, NULL);
	wims_ws_server_counters(e->srv, &ctr);
	finish(e);
	if (client_fail[0])
		fail_msg("client: %s", client_fail);
	assert_int_equal(e->tls_opens, 1);
	assert_int_equal(e->msgs, 1);
	assert_int_equal(e->code, 1000);
	assert_int_equal(ctr.closed[WIMS_WS_END_HANDSHAKE_TIMEOUT], 1);
	free(e);
}

/* ---- a dead peer over TLS ---- */

/* The client upgrades over TLS, reads the server's Ping and then answers
 * nothing: the server aborts pong_timeout_s later (no close_notify, no Close). */
static void *wss_dead_client(void *arg)
{
	struct env *e = arg;
	struct cli c;
	char buf[128];
	uint8_t op;
	size_t n;
	const char *fail = NULL;

	if (!cli_connect(&c, e->port, true) || !cli_upgrade(&c))
		fail = "TLS connect and upgrade";
	else if (!cli_read_frame(&c, &op, buf, sizeof(buf), &n) || op != WIMS_WS_OP_PING)
		fail = "no Ping";
	else if (SSL_read(c.ssl, buf, 1) > 0) /* within SO_RCVTIMEO (5 s) */
		fail = "data after the Ping";
	cli_close(&c);
	if (fail)
		snprintf(client_fail, sizeof(client_fail), "%s", fail);
	for (int i = 0; i < 200; i++) {
		pthread_mutex_lock(&e->mu);
		bool closed = e->closes > 0;
		pthread_mutex_unlock(&e->mu);
		if (closed)
			break;
		usleep(10000);
	}
	pthread_mutex_lock(&e->mu);
	e->end = true;
	pthread_mutex_unlock(&e->mu);
	return NULL;
}

static void test_wss_pong_timeout(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	pthread_t th;
	struct wims_ws_counters ctr;
	(void)state;
	client_fail[0] = 0;
	e->ping_s = 1;
	e->pong_s = 1;
	start(e, true, 1000);
	uv_timer_start(&e->tick, on_tick, 20, 20);
	assert_int_equal(pthread_create(&th, NULL, wss_dead_client, e), 0);
	uv_run(&e->loop, UV_RUN_DEFAULT);
	pthread_join(th, NULL);
	wims_ws_server_counters(e->srv, &ctr);
	finish(e);
	if (client_fail[0])
		fail_msg("client: %s", client_fail);
	assert_int_equal(e->tls_opens, 1);
	assert_int_equal(e->closes, 1);
	assert_int_equal(e->code, WIMS_WS_CLOSE_ABNORMAL);
	assert_int_equal(ctr.closed[WIMS_WS_END_PONG_TIMEOUT], 1);
	free(e);
}

/* ---- idle memory ---- */

static size_t heap_used(void)
{
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
}

static void mem_child(uint16_t port, bool tls, int n, int rfd)
{
	struct cli *c = calloc((size_t)n, sizeof(*c));
	char x;
	for (int i = 0; i < n; i++)
		if (!cli_connect(&c[i], port, tls) || !cli_upgrade(&c[i]))
			_exit(1);
	(void)!read(rfd, &x, 1); /* until the parent has measured */
	_exit(0);
}

static void on_mem_tick(uv_timer_t *t)
{
	struct env *e = t->data;
	if (e->opens < e->want)
		return;
	if (++e->settle < 5) /* let the last reads finish and their buffers go */
		return;
	if (!e->per_conn) {
		e->per_conn = (heap_used() - e->base) / (size_t)e->want;
		(void)!write(e->pipe_w, "x", 1);
	}
	if (e->closes >= e->want) {
		wims_ws_server_shutdown(e->srv, WIMS_WS_CLOSE_GOING_AWAY);
		uv_close((uv_handle_t *)t, NULL);
	}
}

static size_t measure(bool tls, int n)
{
	struct env *e = calloc(1, sizeof(*e));
	int pfd[2], st;
	size_t r;

	start(e, tls, 5000);
	e->want = n;
	assert_int_equal(pipe(pfd), 0);
	e->pipe_w = pfd[1];
	e->base = heap_used();
	e->child = fork();
	assert_true(e->child >= 0);
	if (e->child == 0)
		mem_child(e->port, tls, n, pfd[0]);
	close(pfd[0]);
	uv_timer_start(&e->tick, on_mem_tick, 20, 20);
	e->tick.data = e;
	uv_run(&e->loop, UV_RUN_DEFAULT);
	close(pfd[1]);
	assert_int_equal(waitpid(e->child, &st, 0), e->child);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	finish(e);
	r = e->per_conn;
	free(e);
	return r;
}

static void test_idle_memory(void **state)
{
	size_t ws, wss;
	(void)state;
	ws = measure(false, 200);
	wss = measure(true, 200);
	printf("heap per idle connection: ws %zu bytes, wss %zu bytes\n", ws, wss);
#if !defined(__SANITIZE_ADDRESS__) && !__has_feature(address_sanitizer)
	assert_true(ws <= 4 * 1024);
	assert_true(wss <= 20 * 1024);
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_wss),
	    cmocka_unit_test(test_wss_pong_timeout),
	    cmocka_unit_test(test_idle_memory),
	};
	signal(SIGPIPE, SIG_IGN);
	wims_log_init("test", false, WIMS_LOG_WARN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
