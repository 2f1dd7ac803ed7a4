/* Request head parser and the WebSocket upgrade decision. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/http.h"
#include "http/http_int.h"

#define KEY "dGhlIHNhbXBsZSBub25jZQ=="

static const char good[] = "GET /ws HTTP/1.1\r\n"
			   "Host: server.example.com\r\n"
			   "Upgrade: websocket\r\n"
			   "Connection: keep-alive, Upgrade\r\n"
			   "Sec-WebSocket-Key: " KEY "\r\n"
			   "Origin: https://wic.example.com\r\n"
			   "Sec-WebSocket-Protocol: chat, sip\r\n"
			   "Sec-WebSocket-Version: 13\r\n"
			   "Cookie: a=b\r\n"
			   "\r\n";

static struct wims_http_req req;

static int parse(const char *s)
{
	return wims_http_parse_req(&req, s, strlen(s));
}

static void decide(const char *s, const char *origins, bool ws_only, struct wims_http_decision *d)
{
	assert_true(parse(s) > 0);
	wims_http_upgrade_decide(&req, wims_str_c(origins), ws_only, d);
}

/* good with one line replaced (or removed when repl is "") */
static const char *variant(const char *line_start, const char *repl)
{
	static char buf[2048];
	const char *p = strstr(good, line_start), *e;
	assert_non_null(p);
	e = strstr(p, "\r\n") + 2;
	snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(p - good), good, repl, e);
	return buf;
}

static void test_good_upgrade(void **state)
{
	struct wims_http_decision d;
	(void)state;
	assert_int_equal(parse(good), (int)strlen(good));
	assert_true(wims_str_eqc(req.method, "GET"));
	assert_true(wims_str_eqc(req.target, "/ws"));
	assert_int_equal(req.minor, 1);
	assert_true(wims_str_eqc(req.host, "server.example.com"));
	assert_true(wims_str_eqc(req.ws_key, KEY));
	assert_true(wims_str_eqc(req.cookie, "a=b"));
	assert_true(wims_str_eqc(req.origin, "https://wic.example.com"));
	assert_true(wims_http_has_token(&req, "connection", "upgrade"));
	assert_true(wims_http_has_token(&req, "sec-websocket-protocol", "sip"));
	assert_false(wims_http_has_token(&req, "sec-websocket-protocol", "si"));
	decide(good, "https://wic.example.com", true, &d);
	assert_int_equal(d.action, WIMS_HTTP_UPGRADE);
	assert_int_equal(d.status, 101);
}

static void test_accept_key(void **state)
{
	char acc[29], buf[512];
	struct wims_wbuf b;
	(void)state;
	/* RFC 6455 §1.3 example */
	assert_int_equal(wims_http_ws_accept(wims_str_c(KEY), acc), 0);
	assert_string_equal(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	wims_wbuf_init(&b, buf, sizeof(buf));
	wims_http_build_101(&b, wims_str_c(KEY));
	assert_false(b.err);
	buf[b.len] = 0;
	assert_non_null(strstr(buf, "HTTP/1.1 101 Switching Protocols\r\n"));
	assert_non_null(strstr(buf, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
	assert_non_null(strstr(buf, "Sec-WebSocket-Protocol: sip\r\n"));
	assert_string_equal(buf + b.len - 4, "\r\n\r\n");
}

static void test_missing_protocol(void **state)
{
	struct wims_http_decision d;
	char buf[512];
	struct wims_wbuf b;
	(void)state;
	decide(variant("Sec-WebSocket-Protocol", ""), "", true, &d);
	assert_int_equal(d.action, WIMS_HTTP_REFUSE);
	assert_int_equal(d.status, 400);
	assert_non_null(strstr(d.fault, "sip"));
	decide(variant("Sec-WebSocket-Protocol", "Sec-WebSocket-Protocol: chat\r\n"), "", true, &d);
	assert_int_equal(d.status, 400);
	wims_wbuf_init(&b, buf, sizeof(buf));
	wims_http_build_error(&b, &d);
	buf[b.len] = 0;
	assert_non_null(strstr(buf, "HTTP/1.1 400 Bad Request\r\n"));
	assert_non_null(strstr(buf, "\r\n\r\nSec-WebSocket-Protocol must offer 'sip'"));
}

static void test_wrong_version(void **state)
{
	struct wims_http_decision d;
	char buf[512];
	struct wims_wbuf b;
	(void)state;
	decide(variant("Sec-WebSocket-Version", "Sec-WebSocket-Version: 8\r\n"), "", true, &d);
	assert_int_equal(d.status, 426);
	assert_true(d.ws_version_hdr);
	wims_wbuf_init(&b, buf, sizeof(buf));
	wims_http_build_error(&b, &d);
	buf[b.len] = 0;
	assert_non_null(strstr(buf, "HTTP/1.1 426 Upgrade Required\r\n"));
	assert_non_null(strstr(buf, "Sec-WebSocket-Version: 13\r\n"));
	decide(variant("Sec-WebSocket-Version", ""), "", true, &d);
	assert_int_equal(d.status, 400);
	assert_true(d.ws_version_hdr);
}

static void test_bad_key(void **state)
{
	struct wims_http_decision d;
	static const char *bad[] = {
	    "Sec-WebSocket-Key: short==\r\n",
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=\r\n",
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j*Q==\r\n",
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQAA\r\n",
	    "",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		decide(variant("Sec-WebSocket-Key", bad[i]), "", true, &d);
		assert_int_equal(d.status, 400);
		assert_non_null(strstr(d.fault, "Key"));
	}
	/* two keys */
	decide(variant("Sec-WebSocket-Key", "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Key: " KEY "\r\n"),
	       "", true, &d);
	assert_int_equal(d.status, 400);
}

static void test_no_upgrade(void **state)
{
	struct wims_http_decision d;
	(void)state;
	decide("GET /ws HTTP/1.1\r\nHost: a\r\n\r\n", "", true, &d);
	assert_int_equal(d.action, WIMS_HTTP_REFUSE);
	assert_int_equal(d.status, 426);
	assert_true(d.ws_version_hdr);
	decide("GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n", "", false, &d);
	assert_int_equal(d.action, WIMS_HTTP_SERVE);
	decide(variant("Connection", "Connection: keep-alive\r\n"), "", true, &d);
	assert_int_equal(d.status, 400);
	decide(variant("Host", ""), "", true, &d);
	assert_int_equal(d.status, 400);
	assert_true(parse("POST /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n") > 0);
	wims_http_upgrade_decide(&req, wims_str_c(""), true, &d);
	assert_int_equal(d.status, 400);
}

static void test_origin(void **state)
{
	struct wims_http_decision d;
	(void)state;
	decide(good, "https://other.example.com", true, &d);
	assert_int_equal(d.status, 403);
	decide(good, "https://a.example, HTTPS://WIC.example.com", true, &d);
	assert_int_equal(d.action, WIMS_HTTP_UPGRADE);
	decide(good, "*", true, &d);
	assert_int_equal(d.action, WIMS_HTTP_UPGRADE);
	decide(variant("Origin", ""), "https://other.example.com", true, &d);
	assert_int_equal(d.action, WIMS_HTTP_UPGRADE);
	assert_false(wims_http_origin_allowed(wims_str_c("https://wic.example.co"),
					      wims_str_c("https://wic.example.com")));
}

static void test_incomplete_and_pipelined(void **state)
{
	char buf[1024];
	size_t n = strlen(good);
	(void)state;
	for (size_t i = 0; i < n; i++)
		assert_int_equal(wims_http_parse_req(&req, good, i), -EAGAIN);
	memcpy(buf, good, n);
	memcpy(buf + n, "\x81\x85", 2); /* a frame right behind */
	assert_int_equal(wims_http_parse_req(&req, buf, n + 2), (int)n);
	assert_int_equal(req.head_len, n);
	/* bare LF line ends */
	assert_int_equal(parse("GET / HTTP/1.0\nHost: x\n\n"), 24);
	assert_int_equal(req.minor, 0);
}

static void test_malformed_and_limits(void **state)
{
	static char big[WIMS_HTTP_MAX_HEAD + 100];
	char many[8192];
	size_t n;
	(void)state;
	assert_int_equal(parse("GET\r\n\r\n"), -EBADMSG);
	assert_int_equal(parse("GET / HTTP/2.0\r\n\r\n"), -EBADMSG);
	assert_int_equal(parse("GET  / HTTP/1.1\r\n\r\n"), -EBADMSG);
	assert_int_equal(parse("G(T / HTTP/1.1\r\n\r\n"), -EBADMSG);
	assert_int_equal(parse("GET / HTTP/1.1\r\nNo colon\r\n\r\n"), -EBADMSG);
	assert_int_equal(parse("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n"), -EBADMSG);
	assert_int_equal(wims_http_parse_req(&req, "GET / HTTP/1.1\r\nA: b\0c\r\n\r\n", 26), -EBADMSG);
	assert_non_null(req.err);
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	assert_int_equal(wims_http_parse_req(&req, big, sizeof(big)), -EMSGSIZE);
	assert_int_equal(wims_http_parse_req(&req, big, WIMS_HTTP_MAX_HEAD - 1), -EAGAIN);
	n = (size_t)snprintf(many, sizeof(many), "GET / HTTP/1.1\r\n");
	for (int i = 0; i <= WIMS_HTTP_MAX_HEADERS; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n, "X-%d: y\r\n", i);
	n += (size_t)snprintf(many + n, sizeof(many) - n, "\r\n");
	assert_int_equal(wims_http_parse_req(&req, many, n), -EMSGSIZE);
}

static void test_safe_path(void **state)
{
	char out[256];
	(void)state;
	assert_int_equal(wims_http__safe_path(wims_str_c("/"), out, sizeof(out)), 0);
	assert_string_equal(out, "/index.html");
	assert_int_equal(wims_http__safe_path(wims_str_c("/js/app%20x.js"), out, sizeof(out)), 0);
	assert_string_equal(out, "/js/app x.js");
	assert_int_equal(wims_http__safe_path(wims_str_c("/../etc/passwd"), out, sizeof(out)), -EINVAL);
	assert_int_equal(wims_http__safe_path(wims_str_c("/a/%2e%2e/%2E%2e/x"), out, sizeof(out)), -EINVAL);
	assert_int_equal(wims_http__safe_path(wims_str_c("/a/.."), out, sizeof(out)), -EINVAL);
	assert_int_equal(wims_http__safe_path(wims_str_c("/a%00b"), out, sizeof(out)), -EINVAL);
	assert_int_equal(wims_http__safe_path(wims_str_c("/a%5c..%5cb"), out, sizeof(out)), -EINVAL);
	assert_int_equal(wims_http__safe_path(wims_str_c("/a%2"), out, sizeof(out)), -EINVAL);
	assert_int_equal(wims_http__safe_path(wims_str_c("a"), out, sizeof(out)), -EINVAL);
	assert_int_equal(wims_http__safe_path(wims_str_c("/..a/b."), out, sizeof(out)), 0);
	assert_string_equal(wims_http__mime("/x/app.JS"), "text/javascript; charset=utf-8");
	assert_string_equal(wims_http__mime("/x.y/app"), "application/octet-stream");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good_upgrade),
	    cmocka_unit_test(test_accept_key),
	    cmocka_unit_test(test_missing_protocol),
	    cmocka_unit_test(test_wrong_version),
	    cmocka_unit_test(test_bad_key),
	    cmocka_unit_test(test_no_upgrade),
	    cmocka_unit_test(test_origin),
	    cmocka_unit_test(test_incomplete_and_pipelined),
	    cmocka_unit_test(test_malformed_and_limits),
	    cmocka_unit_test(test_safe_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
