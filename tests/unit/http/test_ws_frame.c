/* WebSocket frame codec: header forms, masking, fragmentation, errors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/wsframe.h"

static const uint8_t MASK[4] = {0x37, 0xfa, 0x21, 0x3d};

/* What the parser handed out. */
struct sink {
	uint8_t msg[300000];
	size_t len;
	int msgs;
	bool binary;
	int firsts;
	uint8_t ctl_op[16];
	uint8_t ctl[16][126];
	size_t ctl_len[16];
	int nctl;
	uint8_t done[8][128]; /* completed messages (first 128 bytes) */
	size_t done_len[8];
};

static struct sink sk;

static int on_data(void *arg, const uint8_t *p, size_t n, bool binary, bool first, bool fin)
{
	struct sink *s = arg;
	if (first) {
		s->len = 0;
		s->firsts++;
		s->binary = binary;
	}
	assert_true(s->len + n <= sizeof(s->msg));
	memcpy(s->msg + s->len, p, n);
	s->len += n;
	if (fin) {
		if (s->msgs < 8) {
			memcpy(s->done[s->msgs], s->msg, s->len < 128 ? s->len : 128);
			s->done_len[s->msgs] = s->len;
		}
		s->msgs++;
	}
	return 0;
}

static int on_control(void *arg, uint8_t op, const uint8_t *p, size_t n)
{
	struct sink *s = arg;
	assert_true(n <= 125);
	if (s->nctl < 16) {
		s->ctl_op[s->nctl] = op;
		memcpy(s->ctl[s->nctl], p, n);
		s->ctl_len[s->nctl] = n;
	}
	s->nctl++;
	return 0;
}

static struct wims_ws_parser P;

static void init(bool server, uint64_t max)
{
	struct wims_ws_parser_cb cb = {on_data, on_control, &sk};
	memset(&sk, 0, sizeof(sk));
	wims_ws_parser_init(&P, server, max, &cb);
}

static uint8_t wire[300000];
static size_t wlen;

static void add(bool fin, uint8_t op, const void *payload, size_t len, bool masked)
{
	struct wims_wbuf b;
	wims_wbuf_init(&b, (char *)wire + wlen, sizeof(wire) - wlen);
	wims_ws_frame_build(&b, fin, op, payload, len, masked ? MASK : NULL);
	assert_false(b.err);
	wlen += b.len;
}

/* Feed the wire bytes in chunks of `step` (0: all at once). */
static int feed(size_t step)
{
	size_t off = 0;
	int rc = 0;
	if (!step)
		step = wlen;
	while (off < wlen && rc == 0) {
		size_t k = wlen - off < step ? wlen - off : step;
		rc = wims_ws_parser_feed(&P, wire + off, k);
		off += k;
	}
	wlen = 0;
	return rc;
}

static void test_rfc_examples(void **state)
{
	/* RFC 6455 §5.7 */
	static const uint8_t unmasked_hello[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
	static const uint8_t masked_hello[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
					       0x7f, 0x9f, 0x4d, 0x51, 0x58};
	static const uint8_t frag[] = {0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f};
	static const uint8_t ping[] = {0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
	struct wims_wbuf b;
	char out[32];
	(void)state;

	init(true, 1000);
	assert_int_equal(wims_ws_parser_feed(&P, masked_hello, sizeof(masked_hello)), 0);
	assert_int_equal(sk.msgs, 1);
	assert_memory_equal(sk.done[0], "Hello", 5);
	assert_false(sk.binary);

	init(false, 1000);
	assert_int_equal(wims_ws_parser_feed(&P, unmasked_hello, sizeof(unmasked_hello)), 0);
	assert_int_equal(wims_ws_parser_feed(&P, frag, sizeof(frag)), 0);
	assert_int_equal(wims_ws_parser_feed(&P, ping, sizeof(ping)), 0);
	assert_int_equal(sk.msgs, 2);
	assert_memory_equal(sk.done[1], "Hello", 5);
	assert_int_equal(sk.nctl, 1);
	assert_int_equal(sk.ctl_op[0], WIMS_WS_OP_PING);

	/* the encoders produce the same bytes */
	wims_wbuf_init(&b, out, sizeof(out));
	wims_ws_frame_build(&b, true, WIMS_WS_OP_TEXT, "Hello", 5, MASK);
	assert_int_equal(b.len, sizeof(masked_hello));
	assert_memory_equal(out, masked_hello, sizeof(masked_hello));
	wims_wbuf_init(&b, out, sizeof(out));
	wims_ws_frame_build(&b, true, WIMS_WS_OP_TEXT, "Hello", 5, NULL);
	assert_memory_equal(out, unmasked_hello, sizeof(unmasked_hello));
}

static void test_every_opcode(void **state)
{
	(void)state;
	init(true, 1000);
	add(true, WIMS_WS_OP_TEXT, "t", 1, true);
	add(true, WIMS_WS_OP_BINARY, "\xff\x00", 2, true);
	add(true, WIMS_WS_OP_PING, "p", 1, true);
	add(true, WIMS_WS_OP_PONG, "", 0, true);
	add(true, WIMS_WS_OP_TEXT, "", 0, true);
	add(true, WIMS_WS_OP_CLOSE, "\x03\xe8", 2, true);
	assert_int_equal(feed(1), 0);
	assert_int_equal(sk.msgs, 3);
	assert_int_equal(sk.done_len[1], 2);
	assert_int_equal(sk.done_len[2], 0);
	assert_int_equal(sk.nctl, 3);
	assert_int_equal(sk.ctl_op[0], WIMS_WS_OP_PING);
	assert_int_equal(sk.ctl_op[1], WIMS_WS_OP_PONG);
	assert_int_equal(sk.ctl_op[2], WIMS_WS_OP_CLOSE);
	assert_false(wims_ws_parser_busy(&P));

	for (uint8_t op = 3; op < 16; op++) {
		if (op >= 8 && op <= 10)
			continue;
		init(true, 1000);
		add(true, op, "x", 1, true);
		assert_int_equal(feed(0), WIMS_WS_CLOSE_PROTOCOL);
		assert_non_null(strstr(P.err, "opcode"));
	}
}

static void check_length(uint64_t len, size_t hdr)
{
	static uint8_t payload[70000];
	uint8_t h[WIMS_WS_MAX_FRAME_HEADER];
	struct wims_ws_frame f;

	for (size_t i = 0; i < len; i++)
		payload[i] = (uint8_t)(i * 7);
	assert_int_equal(wims_ws_frame_hdr_encode(h, true, 2, len, MASK), hdr);
	assert_int_equal(wims_ws_frame_hdr_parse(&f, h, hdr - 1), -EAGAIN);
	assert_int_equal(wims_ws_frame_hdr_parse(&f, h, hdr), 0);
	assert_int_equal(f.len, len);
	assert_int_equal(f.hdr_len, hdr);
	assert_true(f.masked);
	init(true, 100000);
	add(true, WIMS_WS_OP_BINARY, payload, (size_t)len, true);
	assert_int_equal(feed(977), 0);
	assert_int_equal(sk.msgs, 1);
	assert_int_equal(sk.len, len);
	assert_memory_equal(sk.msg, payload, (size_t)len);
}

static void test_lengths(void **state)
{
	(void)state;
	check_length(125, 6);
	check_length(126, 8);
	check_length(65535, 8);
	check_length(65536, 14);
}

static void test_64bit_length(void **state)
{
	static const uint8_t huge[] = {0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4};
	static const uint8_t big[] = {0x82, 0xff, 0x00, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4};
	(void)state;
	init(true, 100000);
	assert_int_equal(wims_ws_parser_feed(&P, huge, sizeof(huge)), WIMS_WS_CLOSE_PROTOCOL);
	init(true, 100000);
	assert_int_equal(wims_ws_parser_feed(&P, big, sizeof(big)), WIMS_WS_CLOSE_TOO_BIG);
}

static void test_masking(void **state)
{
	uint8_t d[10] = "abcdefghi", e[10];
	(void)state;
	memcpy(e, d, 10);
	wims_ws_mask(e, 9, MASK, 0);
	assert_memory_not_equal(e, d, 9);
	/* unmask in two parts at an odd offset */
	wims_ws_mask(e, 3, MASK, 0);
	wims_ws_mask(e + 3, 6, MASK, 3);
	assert_memory_equal(e, d, 9);
}

static void test_fragmentation_with_ping(void **state)
{
	(void)state;
	init(true, 1000);
	add(false, WIMS_WS_OP_TEXT, "INVITE ", 7, true);
	add(true, WIMS_WS_OP_PING, "abc", 3, true);
	add(false, WIMS_WS_OP_CONT, "sip:bob", 7, true);
	add(true, WIMS_WS_OP_PONG, "", 0, true);
	add(false, WIMS_WS_OP_CONT, "", 0, true);
	add(true, WIMS_WS_OP_CONT, " SIP/2.0", 8, true);
	for (size_t step = 0; step < 5; step++) {
		size_t saved = wlen;
		memset(&sk, 0, sizeof(sk));
		assert_int_equal(feed(step), 0);
		wlen = saved;
		assert_int_equal(sk.msgs, 1);
		assert_int_equal(sk.firsts, 1);
		assert_int_equal(sk.len, 22);
		assert_memory_equal(sk.msg, "INVITE sip:bob SIP/2.0", 22);
		assert_int_equal(sk.nctl, 2);
		assert_memory_equal(sk.ctl[0], "abc", 3);
	}
	wlen = 0;
}

static void test_fragment_errors(void **state)
{
	(void)state;
	init(true, 1000);
	add(true, WIMS_WS_OP_CONT, "x", 1, true);
	assert_int_equal(feed(0), WIMS_WS_CLOSE_PROTOCOL);

	init(true, 1000);
	add(false, WIMS_WS_OP_TEXT, "x", 1, true);
	add(true, WIMS_WS_OP_BINARY, "y", 1, true);
	assert_int_equal(feed(0), WIMS_WS_CLOSE_PROTOCOL);
	assert_non_null(strstr(P.err, "fragmented message"));

	init(true, 1000);
	add(false, WIMS_WS_OP_PING, "x", 1, true);
	assert_int_equal(feed(0), WIMS_WS_CLOSE_PROTOCOL);
	assert_non_null(strstr(P.err, "fragmented control"));
}

static void test_unmasked(void **state)
{
	(void)state;
	init(true, 1000);
	add(true, WIMS_WS_OP_TEXT, "hello", 5, false);
	assert_int_equal(feed(0), WIMS_WS_CLOSE_PROTOCOL);
	assert_non_null(strstr(P.err, "unmasked"));
	assert_int_equal(sk.msgs, 0);
	init(false, 1000);
	add(true, WIMS_WS_OP_TEXT, "hello", 5, true);
	assert_int_equal(feed(0), WIMS_WS_CLOSE_PROTOCOL);
}

static void test_too_big(void **state)
{
	static uint8_t payload[2000];
	(void)state;
	init(true, 1000);
	add(true, WIMS_WS_OP_TEXT, payload, 1001, true);
	assert_int_equal(feed(0), WIMS_WS_CLOSE_TOO_BIG);
	assert_int_equal(sk.msgs, 0);
	/* exactly the limit is fine; the limit spans fragments */
	init(true, 1000);
	add(true, WIMS_WS_OP_TEXT, payload, 1000, true);
	add(false, WIMS_WS_OP_BINARY, payload, 600, true);
	add(true, WIMS_WS_OP_CONT, payload, 401, true);
	assert_int_equal(feed(0), WIMS_WS_CLOSE_TOO_BIG);
	assert_int_equal(sk.msgs, 1);
}

static void test_rsv_bits(void **state)
{
	uint8_t f[] = {0xc1, 0x80, 1, 2, 3, 4}; /* RSV1 (permessage-deflate) without negotiation */
	(void)state;
	for (int bit = 0; bit < 3; bit++) {
		init(true, 1000);
		f[0] = (uint8_t)(0x81 | (0x40 >> bit));
		assert_int_equal(wims_ws_parser_feed(&P, f, sizeof(f)), WIMS_WS_CLOSE_PROTOCOL);
		assert_non_null(strstr(P.err, "RSV"));
	}
}

static void test_control_too_long(void **state)
{
	static uint8_t payload[200];
	(void)state;
	init(true, 1000);
	add(true, WIMS_WS_OP_PING, payload, 125, true);
	assert_int_equal(feed(0), 0);
	assert_int_equal(sk.nctl, 1);
	init(true, 1000);
	add(true, WIMS_WS_OP_PING, payload, 126, true);
	assert_int_equal(feed(0), WIMS_WS_CLOSE_PROTOCOL);
	assert_non_null(strstr(P.err, "125"));
	init(true, 1000);
	add(true, WIMS_WS_OP_CLOSE, payload, 126, true);
	assert_int_equal(feed(0), WIMS_WS_CLOSE_PROTOCOL);
}

static int stop_data(void *arg, const uint8_t *p, size_t n, bool binary, bool first, bool fin)
{
	(void)arg, (void)p, (void)n, (void)binary, (void)first, (void)fin;
	return -ECANCELED;
}

static void test_callback_stops(void **state)
{
	struct wims_ws_parser_cb cb = {stop_data, on_control, &sk};
	(void)state;
	wims_ws_parser_init(&P, true, 1000, &cb);
	add(true, WIMS_WS_OP_TEXT, "a", 1, true);
	add(true, WIMS_WS_OP_TEXT, "b", 1, true);
	assert_int_equal(feed(0), -ECANCELED);
}

static void test_close_payload_and_utf8(void **state)
{
	uint16_t code;
	struct wims_str reason;
	(void)state;
	assert_int_equal(wims_ws_close_parse((const uint8_t *)"", 0, &code, &reason), 0);
	assert_int_equal(code, 1005);
	assert_int_equal(wims_ws_close_parse((const uint8_t *)"\x03", 1, &code, &reason), -EBADMSG);
	assert_int_equal(wims_ws_close_parse((const uint8_t *)"\x03\xe9"
							      "bye",
					     5, &code, &reason),
			 0);
	assert_int_equal(code, 1001);
	assert_true(wims_str_eqc(reason, "bye"));
	assert_int_equal(wims_ws_close_parse((const uint8_t *)"\x03\xed", 2, &code, &reason),
			 -EBADMSG); /* 1005 */
	assert_int_equal(wims_ws_close_parse((const uint8_t *)"\x03\xe8\xff", 3, &code, &reason), -EBADMSG);
	assert_int_equal(wims_ws_close_parse((const uint8_t *)"\x0f\xa0", 2, &code, &reason), 0); /* 4000 */

	assert_true(wims_ws_utf8_valid((const uint8_t *)"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80", 15));
	assert_false(wims_ws_utf8_valid((const uint8_t *)"\xc0\xaf", 2));	  /* overlong */
	assert_false(wims_ws_utf8_valid((const uint8_t *)"\xed\xa0\x80", 3));	  /* surrogate */
	assert_false(wims_ws_utf8_valid((const uint8_t *)"\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
	assert_false(wims_ws_utf8_valid((const uint8_t *)"\xe2\x82", 2));	  /* truncated */
	assert_false(wims_ws_utf8_valid((const uint8_t *)"\xff", 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc_examples),
	    cmocka_unit_test(test_every_opcode),
	    cmocka_unit_test(test_lengths),
	    cmocka_unit_test(test_64bit_length),
	    cmocka_unit_test(test_masking),
	    cmocka_unit_test(test_fragmentation_with_ping),
	    cmocka_unit_test(test_fragment_errors),
	    cmocka_unit_test(test_unmasked),
	    cmocka_unit_test(test_too_big),
	    cmocka_unit_test(test_rsv_bits),
	    cmocka_unit_test(test_control_too_long),
	    cmocka_unit_test(test_callback_stops),
	    cmocka_unit_test(test_close_payload_and_utf8),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
