/* wims_stream over a real libuv loop on 127.0.0.1, plain and TLS (a
 * self-signed EC P-256 certificate made here with OpenSSL). */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/stream.h"

#define BIG (1024u * 1024u)
#define CHUNK 65536u

struct side {
	struct wims_stream *s;
	unsigned opens, closes;
	int close_err;
	char *rx;
	size_t rx_len, rx_cap;
};

struct ctx {
	uv_loop_t loop;
	struct wims_stream_listener *l;
	struct wims_addr addr;
	SSL_CTX *srv_tls, *cli_tls;
	struct side srv, cli;
	/* behaviour knobs */
	bool echo;
	bool srv_pause;
	bool cli_done;
	bool srv_close_at_accept;
	bool srv_flap;	       /* pause in every data callback, resume from a timer */
	bool srv_answer_close; /* answer the first data with 512 KiB and close */
	bool cli_flood;	       /* client writes 256 KiB at open */
	uv_timer_t flap;
	size_t expect; /* client closes when it has received this much */
	/* large transfer */
	size_t total, sent;
	/* ENOBUFS */
	size_t accepted_bytes;
	bool got_enobufs;
	char cert_path[64], key_path[64];
};

static void rx_add(struct side *sd, const char *d, size_t n)
{
	if (sd->rx_len + n > sd->rx_cap) {
		size_t cap = sd->rx_cap ? sd->rx_cap * 2 : 4096;
		while (cap < sd->rx_len + n)
			cap *= 2;
		sd->rx = realloc(sd->rx, cap);
		assert_non_null(sd->rx);
		sd->rx_cap = cap;
	}
	memcpy(sd->rx + sd->rx_len, d, n);
	sd->rx_len += n;
}

static uint8_t pattern(size_t i)
{
	return (uint8_t)((i * 7u) ^ (i >> 11));
}

/* ---- server side ---- */

static void srv_open(struct wims_stream *s, void *arg)
{
	struct ctx *c = arg;

	c->srv.opens++;
	if (c->srv_pause && !c->cli_done)
		wims_stream_read_pause(s, 1);
	if (c->srv_close_at_accept) {
		assert_int_equal(wims_stream_write(s, "bye", 3), 0);
		wims_stream_close(s);
	}
}

static void on_flap(uv_timer_t *t)
{
	struct ctx *c = t->data;

	wims_stream_read_pause(c->srv.s, 0);
}

static void srv_data(struct wims_stream *s, const char *d, size_t n, void *arg)
{
	struct ctx *c = arg;

	if (c->srv_flap) {
		wims_stream_read_pause(s, 1);
		uv_timer_start(&c->flap, on_flap, 1, 0);
	}
	if (c->srv_answer_close) {
		char *big = malloc(512 * 1024);
		assert_non_null(big);
		for (size_t i = 0; i < 512 * 1024; i++)
			big[i] = (char)pattern(i);
		assert_int_equal(wims_stream_write(s, big, 512 * 1024), 0);
		free(big);
		wims_stream_close(s);
		c->srv_answer_close = false;
		return;
	}
	if (c->echo)
		assert_int_equal(wims_stream_write(s, d, n), 0);
	else
		rx_add(&c->srv, d, n);
}

static void srv_close(struct wims_stream *s, int err, void *arg)
{
	struct ctx *c = arg;

	c->srv.closes++;
	c->srv.close_err = err;
	if (c->srv_flap)
		uv_timer_stop(&c->flap);
	wims_stream_listener_close(c->l);
	c->l = NULL;
}

static int srv_accept(struct wims_stream_listener *l, struct wims_stream *s, void *arg)
{
	struct ctx *c = arg;
	struct wims_stream_handlers h = {srv_open, srv_data, srv_close, c};

	c->srv.s = s;
	wims_stream_set_handlers(s, &h);
	assert_int_equal(wims_stream_is_tls(s), c->srv_tls != NULL);
	assert_true(wims_addr_eq(wims_stream_local(s), &c->addr));
	return 0;
}

/* ---- client side ---- */

static void cli_topup(struct ctx *c)
{
	char buf[CHUNK];

	/* keep at most 256 KiB in flight so that neither side's queue fills */
	while (c->sent < c->total && c->sent - c->cli.rx_len < 256 * 1024) {
		size_t n = c->total - c->sent < CHUNK ? c->total - c->sent : CHUNK;
		for (size_t i = 0; i < n; i++)
			buf[i] = (char)pattern(c->sent + i);
		assert_int_equal(wims_stream_write(c->cli.s, buf, n), 0);
		c->sent += n;
	}
}

static void cli_open(struct wims_stream *s, void *arg)
{
	struct ctx *c = arg;
	char buf[CHUNK];

	c->cli.opens++;
	if (c->cli_flood) {
		memset(buf, 'q', sizeof(buf));
		for (int i = 0; i < 4; i++)
			assert_int_equal(wims_stream_write(s, buf, sizeof(buf)), 0);
	}
	if (c->total)
		cli_topup(c);
	if (c->srv_pause) { /* fill until the 1 MiB queue limit answers */
		memset(buf, 'x', sizeof(buf));
		for (int i = 0; i < 4096; i++) {
			int r = wims_stream_write(s, buf, sizeof(buf));
			if (r == -ENOBUFS) {
				c->got_enobufs = true;
				break;
			}
			assert_int_equal(r, 0);
			c->accepted_bytes += sizeof(buf);
		}
		wims_stream_close(s); /* flushes what was accepted */
		assert_int_equal(wims_stream_write(s, "x", 1), -ENOTCONN);
		c->cli_done = true;
		if (c->srv.s)
			wims_stream_read_pause(c->srv.s, 0);
	}
}

static void cli_data(struct wims_stream *s, const char *d, size_t n, void *arg)
{
	struct ctx *c = arg;

	rx_add(&c->cli, d, n);
	if (c->total)
		cli_topup(c);
	if (c->expect && c->cli.rx_len >= c->expect)
		wims_stream_close(s);
}

static void cli_close(struct wims_stream *s, int err, void *arg)
{
	struct ctx *c = arg;

	c->cli.closes++;
	c->cli.close_err = err;
}

static const struct wims_stream_handlers cli_h = {cli_open, cli_data, cli_close, NULL};

/* ---- fixtures ---- */

static int make_cert(struct ctx *c)
{
	EVP_PKEY *pkey = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	FILE *f;
	int fd;

	assert_non_null(pkey);
	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, pkey);
	X509_NAME *name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, "DNS:localhost");
	assert_non_null(ext);
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(x, pkey, EVP_sha256()) > 0);

	snprintf(c->cert_path, sizeof(c->cert_path), "/tmp/wims-cert-XXXXXX");
	fd = mkstemp(c->cert_path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	PEM_write_X509(f, x);
	fclose(f);
	snprintf(c->key_path, sizeof(c->key_path), "/tmp/wims-key-XXXXXX");
	fd = mkstemp(c->key_path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(pkey);
	return 0;
}

static struct ctx *ctx_new(bool tls)
{
	struct ctx *c = calloc(1, sizeof(*c));
	char err[256];

	assert_non_null(c);
	assert_int_equal(uv_loop_init(&c->loop), 0);
	if (tls) {
		make_cert(c);
		assert_int_equal(
		    wims_tls_server_ctx(&c->srv_tls, c->cert_path, c->key_path, err, sizeof(err)), 0);
		assert_int_equal(wims_tls_client_ctx(&c->cli_tls, c->cert_path, err, sizeof(err)), 0);
	}
	assert_int_equal(wims_addr_parse(&c->addr, wims_str_c("127.0.0.1"), 0), 0);
	assert_int_equal(wims_stream_listen(&c->l, &c->loop, &c->addr, c->srv_tls, srv_accept, c), 0);
	assert_int_equal(wims_stream_listener_addr(c->l, &c->addr), 0);
	assert_true(wims_addr_port(&c->addr) != 0);
	return c;
}

static void ctx_connect(struct ctx *c)
{
	struct wims_stream_handlers h = cli_h;

	h.arg = c;
	assert_int_equal(wims_stream_connect(&c->cli.s, &c->loop, &c->addr, c->cli_tls, "localhost", &h), 0);
}

static void ctx_run_free(struct ctx *c)
{
	uv_run(&c->loop, UV_RUN_DEFAULT);
	if (c->l) {
		wims_stream_listener_close(c->l);
		uv_run(&c->loop, UV_RUN_DEFAULT);
	}
	assert_int_equal(uv_loop_close(&c->loop), 0);
	SSL_CTX_free(c->srv_tls);
	SSL_CTX_free(c->cli_tls);
	if (c->cert_path[0]) {
		unlink(c->cert_path);
		unlink(c->key_path);
	}
	free(c->srv.rx);
	free(c->cli.rx);
	free(c);
}

/* ---- tests ---- */

static void echo(bool tls)
{
	struct ctx *c = ctx_new(tls);

	c->echo = true;
	c->expect = 5;
	ctx_connect(c);
	wims_stream_ref(c->cli.s);				      /* kept past its close callback */
	assert_int_equal(wims_stream_write(c->cli.s, "hello", 5), 0); /* queued until open */
	assert_int_equal(wims_stream_is_tls(c->cli.s), tls);
	uv_run(&c->loop, UV_RUN_DEFAULT);
	assert_int_equal(c->cli.opens, 1);
	assert_int_equal(c->srv.opens, 1);
	assert_int_equal(c->cli.closes, 1);
	assert_int_equal(c->srv.closes, 1);
	assert_int_equal(c->cli.close_err, 0);
	assert_int_equal(c->srv.close_err, 0);
	assert_int_equal(c->cli.rx_len, 5);
	assert_memory_equal(c->cli.rx, "hello", 5);
	assert_true(wims_addr_eq(wims_stream_peer(c->cli.s), &c->addr));
	assert_int_equal(wims_stream_write(c->cli.s, "x", 1), -ENOTCONN);
	wims_stream_deref(c->cli.s);
	ctx_run_free(c);
}

static void test_plain_echo(void **state)
{
	echo(false);
}

static void test_tls_echo(void **state)
{
	echo(true);
}

static void large(bool tls, bool flap)
{
	struct ctx *c = ctx_new(tls);

	c->echo = true;
	c->srv_flap = flap;
	uv_timer_init(&c->loop, &c->flap);
	c->flap.data = c;
	c->total = BIG;
	c->expect = BIG;
	ctx_connect(c);
	uv_run(&c->loop, UV_RUN_DEFAULT);
	assert_int_equal(c->cli.closes, 1);
	assert_int_equal(c->cli.close_err, 0);
	assert_int_equal(c->cli.rx_len, BIG);
	for (size_t i = 0; i < BIG; i++)
		if ((uint8_t)c->cli.rx[i] != pattern(i))
			fail_msg("byte %zu differs", i);
	uv_close((uv_handle_t *)&c->flap, NULL);
	ctx_run_free(c);
}

static void test_plain_large(void **state)
{
	large(false, false);
}

static void test_tls_large(void **state)
{
	large(true, false);
}

static void test_plain_large_paused(void **state)
{
	large(false, true);
}

static void test_tls_large_paused(void **state)
{
	large(true, true);
}

/* A peer that does not read: writes fail with -ENOBUFS past 1 MiB queued;
 * an orderly close still delivers everything once the peer reads again. */
static void queue_limit(bool tls)
{
	struct ctx *c = ctx_new(tls);

	c->srv_pause = true;
	ctx_connect(c);
	uv_run(&c->loop, UV_RUN_DEFAULT);
	assert_true(c->got_enobufs);
	assert_int_equal(c->srv.rx_len, c->accepted_bytes);
	assert_int_equal(c->cli.close_err, 0);
	assert_int_equal(c->srv.close_err, 0);
	ctx_run_free(c);
}

static void test_plain_queue_limit(void **state)
{
	queue_limit(false);
}

static void test_tls_queue_limit(void **state)
{
	queue_limit(true);
}

static void peer_close(bool tls)
{
	struct ctx *c = ctx_new(tls);

	c->srv_close_at_accept = true;
	ctx_connect(c);
	uv_run(&c->loop, UV_RUN_DEFAULT);
	assert_int_equal(c->cli.closes, 1);
	assert_int_equal(c->cli.close_err, 0);
	assert_int_equal(c->cli.rx_len, 3);
	assert_memory_equal(c->cli.rx, "bye", 3);
	assert_int_equal(c->srv.closes, 1);
	ctx_run_free(c);
}

static void test_plain_peer_close(void **state)
{
	peer_close(false);
}

static void test_tls_peer_close(void **state)
{
	peer_close(true);
}

/* The server answers and closes while unread request bytes wait in its
 * socket: the answer must still arrive whole (no RST from the close). */
static void lingering(bool tls)
{
	struct ctx *c = ctx_new(tls);

	c->srv_answer_close = true;
	c->cli_flood = true;
	c->expect = 512 * 1024;
	ctx_connect(c);
	uv_run(&c->loop, UV_RUN_DEFAULT);
	assert_int_equal(c->cli.rx_len, 512 * 1024);
	for (size_t i = 0; i < c->cli.rx_len; i++)
		if ((uint8_t)c->cli.rx[i] != pattern(i))
			fail_msg("byte %zu differs", i);
	assert_int_equal(c->cli.close_err, 0);
	assert_int_equal(c->srv.close_err, 0);
	ctx_run_free(c);
}

static void test_plain_lingering_close(void **state)
{
	lingering(false);
}

static void test_tls_lingering_close(void **state)
{
	lingering(true);
}

static void abort_open(struct wims_stream *s, void *arg)
{
	struct ctx *c = arg;

	c->cli.opens++;
	assert_int_equal(wims_stream_write(s, "data", 4), 0);
	wims_stream_abort(s);
	assert_int_equal(wims_stream_write(s, "x", 1), -ENOTCONN);
}

static void test_abort(void **state)
{
	struct ctx *c = ctx_new(false);
	struct wims_stream_handlers h = {abort_open, cli_data, cli_close, c};

	assert_int_equal(wims_stream_connect(&c->cli.s, &c->loop, &c->addr, NULL, NULL, &h), 0);
	uv_run(&c->loop, UV_RUN_DEFAULT);
	assert_int_equal(c->cli.opens, 1);
	assert_int_equal(c->cli.closes, 1);
	assert_int_equal(c->cli.close_err, -ECONNABORTED);
	assert_int_equal(c->srv.closes, 1);
	ctx_run_free(c);
}

static void test_connect_refused(void **state)
{
	struct ctx *c = ctx_new(false);

	/* free the port, then connect to it */
	wims_stream_listener_close(c->l);
	c->l = NULL;
	uv_run(&c->loop, UV_RUN_DEFAULT);
	ctx_connect(c);
	assert_int_equal(wims_stream_write(c->cli.s, "lost", 4), 0);
	uv_run(&c->loop, UV_RUN_DEFAULT);
	assert_int_equal(c->cli.opens, 0);
	assert_int_equal(c->cli.closes, 1);
	assert_int_equal(c->cli.close_err, UV_ECONNREFUSED);
	ctx_run_free(c);
}

static void test_close_while_connecting(void **state)
{
	struct ctx *c = ctx_new(true);

	wims_stream_listener_close(c->l);
	c->l = NULL;
	ctx_connect(c);
	wims_stream_close(c->cli.s);
	uv_run(&c->loop, UV_RUN_DEFAULT);
	assert_int_equal(c->cli.opens, 0);
	assert_int_equal(c->cli.closes, 1);
	ctx_run_free(c);
}

static void test_bad_tls_files(void **state)
{
	SSL_CTX *ctx = NULL;
	char err[256] = "";

	assert_int_equal(wims_tls_server_ctx(&ctx, "/nonexistent.pem", "/nonexistent.key", err, sizeof(err)),
			 -EINVAL);
	assert_true(strlen(err) > 0);
	assert_int_equal(wims_tls_client_ctx(&ctx, "/nonexistent.pem", err, sizeof(err)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_echo),
	    cmocka_unit_test(test_tls_echo),
	    cmocka_unit_test(test_plain_large),
	    cmocka_unit_test(test_tls_large),
	    cmocka_unit_test(test_plain_large_paused),
	    cmocka_unit_test(test_tls_large_paused),
	    cmocka_unit_test(test_plain_queue_limit),
	    cmocka_unit_test(test_tls_queue_limit),
	    cmocka_unit_test(test_plain_peer_close),
	    cmocka_unit_test(test_tls_peer_close),
	    cmocka_unit_test(test_plain_lingering_close),
	    cmocka_unit_test(test_tls_lingering_close),
	    cmocka_unit_test(test_abort),
	    cmocka_unit_test(test_connect_refused),
	    cmocka_unit_test(test_close_while_connecting),
	    cmocka_unit_test(test_bad_tls_files),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
