/* wims_sip_stream_frame and its resumable form. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "sip/msg.h"
#include "sip/tp_int.h"

#define REQ_HDRS                                                                                             \
	"OPTIONS sip:a@example.com SIP/2.0\r\n"                                                              \
	"Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK1\r\n"                                                \
	"From: <sip:b@example.com>;tag=1\r\n"                                                                \
	"To: <sip:a@example.com>\r\n"                                                                        \
	"Call-ID: abc\r\n"                                                                                   \
	"CSeq: 1 OPTIONS\r\n"

static const char msg1[] = REQ_HDRS "Content-Length: 4\r\n\r\nbody";
static const char msg0[] = REQ_HDRS "Content-Length: 0\r\n\r\n";

static long frame(const char *s, size_t len, size_t *skip)
{
	return wims_sip_stream_frame(s, len, skip);
}

static void test_complete(void **state)
{
	size_t skip = 99;

	assert_int_equal(frame(msg1, strlen(msg1), &skip), (long)strlen(msg1));
	assert_int_equal(skip, 0);
	assert_int_equal(frame(msg0, strlen(msg0), &skip), (long)strlen(msg0));
}

static void test_incomplete(void **state)
{
	size_t skip;
	size_t len = strlen(msg1);

	for (size_t i = 0; i < len; i++) {
		assert_int_equal(frame(msg1, i, &skip), 0);
		assert_int_equal(skip, 0);
	}
	assert_int_equal(frame(msg1, 0, &skip), 0);
}

static void test_two_messages(void **state)
{
	char buf[1024];
	size_t skip;
	int n = snprintf(buf, sizeof(buf), "%s%s", msg1, msg0);

	long a = frame(buf, (size_t)n, &skip);
	assert_int_equal(a, (long)strlen(msg1));
	assert_memory_equal(buf + a - 4, "body", 4);
	long b = frame(buf + a, (size_t)n - (size_t)a, &skip);
	assert_int_equal(b, (long)strlen(msg0));
	assert_int_equal(skip, 0);
}

static void test_crlf_keepalive(void **state)
{
	char buf[1024];
	size_t skip;

	assert_int_equal(frame("\r\n\r\n", 4, &skip), 0);
	assert_int_equal(skip, 4);
	assert_int_equal(frame("\r\n", 2, &skip), 0);
	assert_int_equal(skip, 2);
	assert_int_equal(frame("\r\n\r", 3, &skip), 0); /* half a CRLF waits */
	assert_int_equal(skip, 2);
	int n = snprintf(buf, sizeof(buf), "\r\n\r\n%s", msg0);
	assert_int_equal(frame(buf, (size_t)n, &skip), (long)strlen(msg0));
	assert_int_equal(skip, 4);
}

static void test_compact_and_case(void **state)
{
	static const char c1[] = REQ_HDRS "l: 4\r\n\r\nbody";
	static const char c2[] = REQ_HDRS "L:4\r\n\r\nbody";
	static const char c3[] = REQ_HDRS "content-LENGTH  :  4  \r\n\r\nbody";
	static const char c4[] = REQ_HDRS "Content-Length:\r\n 4\r\n\r\nbody"; /* folded */
	static const char c5[] = REQ_HDRS "X-l: 7\r\nContent-Length: 4\r\n\r\nbody";
	static const char c6[] = REQ_HDRS "Content-Length: 4\r\nContent-Length: 4\r\n\r\nbody";
	const char *all[] = {c1, c2, c3, c4, c5, c6};
	size_t skip;

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		assert_int_equal(frame(all[i], strlen(all[i]), &skip), (long)strlen(all[i]));
}

static void test_bad(void **state)
{
	static const char none[] = REQ_HDRS "\r\nbody";
	static const char neg[] = REQ_HDRS "Content-Length: -1\r\n\r\n";
	static const char junk[] = REQ_HDRS "Content-Length: 4x\r\n\r\nbody";
	static const char empty[] = REQ_HDRS "Content-Length: \r\n\r\n";
	static const char two[] = REQ_HDRS "Content-Length: 4\r\nl: 5\r\n\r\nbody!";
	static const char big[] = REQ_HDRS "Content-Length: 70000\r\n\r\n";
	static const char huge[] = REQ_HDRS "Content-Length: 99999999999999999999\r\n\r\n";
	static const char nohdr[] = "OPTIONS sip:a SIP/2.0\r\n\r\n";
	const char *all[] = {none, neg, junk, empty, two, big, huge, nohdr};
	size_t skip;

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		assert_int_equal(frame(all[i], strlen(all[i]), &skip), -EBADMSG);
}

static void test_huge_headers(void **state)
{
	size_t len = WIMS_SIP_MAX_MESSAGE + 100;
	char *b = malloc(len);
	size_t skip;

	assert_non_null(b);
	memset(b, 'a', len);
	memcpy(b, "OPTIONS sip:a SIP/2.0\r\nX: ", 26);
	assert_int_equal(frame(b, WIMS_SIP_MAX_MESSAGE - 1, &skip), 0);
	assert_int_equal(frame(b, WIMS_SIP_MAX_MESSAGE, &skip), -EBADMSG);
	assert_int_equal(frame(b, len, &skip), -EBADMSG);

	/* exactly the limit is fine */
	size_t hl = strlen(REQ_HDRS "Content-Length: 00000\r\n\r\n");
	size_t body = WIMS_SIP_MAX_MESSAGE - hl;
	int n = snprintf(b, len, REQ_HDRS "Content-Length: %05zu\r\n\r\n", body);
	assert_int_equal((size_t)n, hl);
	memset(b + hl, 'b', body);
	assert_int_equal(frame(b, WIMS_SIP_MAX_MESSAGE, &skip), WIMS_SIP_MAX_MESSAGE);
	free(b);
}

/* Resuming byte by byte gives the same answer as framing at once. */
static void test_resume(void **state)
{
	char buf[1024];
	int n = snprintf(buf, sizeof(buf), "\r\n\r\n%s%s", msg1, msg0);
	struct wims_sip__framer fr = {0};
	size_t start = 0, got = 0;

	for (size_t end = 1; end <= (size_t)n; end++) {
		size_t skip;
		long r = wims_sip__frame(&fr, buf + start, end - start, &skip);
		start += skip;
		assert_true(r >= 0);
		if (r > 0) {
			got++;
			assert_int_equal(r, got == 1 ? (long)strlen(msg1) : (long)strlen(msg0));
			start += (size_t)r;
			memset(&fr, 0, sizeof(fr));
		}
	}
	assert_int_equal(got, 2);
	assert_int_equal(start, (size_t)n);
}

/* The fault is named; a start line that is not SIP fails as soon as it is
 * whole, a first byte that cannot start one at once. */
static void test_why(void **state)
{
	static const struct {
		const char *in, *why; /* why NULL: framed or needs more */
		long r;
	} t[] = {
	    {REQ_HDRS "\r\n", "Missing Content-Length", -EBADMSG},
	    {REQ_HDRS "Content-Length: 1x\r\n\r\n", "Bad Content-Length", -EBADMSG},
	    {REQ_HDRS "l: 1\r\nContent-Length: 2\r\n\r\n", "Bad Content-Length", -EBADMSG},
	    {REQ_HDRS "Content-Length: 65536\r\n\r\n", "Message too large", -EBADMSG},
	    {"GET / HTTP/1.1\r\n", "Bad start line", -EBADMSG},
	    {"hello\r\n", "Bad start line", -EBADMSG},
	    {"OPTIONS sip:a SIP", NULL, 0},	       /* not whole yet */
	    {"OPTIONS sip:a SIP/2.0\r\nVia", NULL, 0}, /* start line fine */
	    {"OPTIONS sip:a SIP/3.0\r\nVia", NULL, 0}, /* the version is the parser's (505) */
	    {"SIP/2.0 200 OK\r\nVia", NULL, 0},
	    {"\x16\x03\x01", "Bad start line", -EBADMSG}, /* a TLS ClientHello */
	    {" OPTIONS sip:a SIP/2.0\r\n", "Bad start line", -EBADMSG},
	    {"OPTIONS SIP/2.0\r\n", NULL, 0}, /* two tokens: the parser says Bad request line */
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct wims_sip__framer fr = {0};
		size_t skip;
		long r = wims_sip__frame(&fr, t[i].in, strlen(t[i].in), &skip);
		if (r != t[i].r || (t[i].why && (!fr.why || strcmp(fr.why, t[i].why) != 0)))
			fail_msg("case %zu: %ld %s", i, r, fr.why ? fr.why : "-");
	}
}

/* What gets answered, and how. */
static void test_reply(void **state)
{
	static struct wims_sip_msg m;
	char out[2048];
	struct wims_wbuf w;
	static const char inv[] =
	    "INVITE sip:a SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK7\r\n"
	    "From: <sip:b@x>;tag=9\r\nTo: <sip:a@x>\r\nCall-ID: q\r\nCSeq: 2 INVITE\r\n\r\n";

	wims_wbuf_init(&w, out, sizeof(out));
	assert_int_equal(wims_sip__frame_reply(&m, inv, strlen(inv), "Missing Content-Length", &w), 0);
	out[w.len] = '\0';
	assert_non_null(
	    strstr(out, "SIP/2.0 400 Missing Content-Length\r\n"
			"Via: SIP/2.0/TCP h;branch=z9hG4bK7\r\nFrom: <sip:b@x>;tag=9\r\nTo: <sip:a@x>;tag="));
	assert_non_null(strstr(out, "\r\nCall-ID: q\r\nCSeq: 2 INVITE\r\nContent-Length: 0\r\n\r\n"));
	/* the same request gets the same To tag */
	char again[2048];
	memcpy(again, out, w.len + 1);
	wims_wbuf_init(&w, out, sizeof(out));
	assert_int_equal(wims_sip__frame_reply(&m, inv, strlen(inv), "Missing Content-Length", &w), 0);
	out[w.len] = '\0';
	assert_string_equal(out, again);
	/* a body after the headers (the bytes the framer could not delimit) does not matter */
	char withbody[1024];
	snprintf(withbody, sizeof(withbody), "%sv=0\r\n", inv);
	wims_wbuf_init(&w, out, sizeof(out));
	assert_int_equal(wims_sip__frame_reply(&m, withbody, strlen(withbody), "Missing Content-Length", &w),
			 0);
	wims_wbuf_init(&w, out, sizeof(out));
	assert_int_equal(wims_sip__frame_reply(&m, inv, strlen(inv), "Message too large", &w), 0);
	assert_memory_equal(out, "SIP/2.0 513 Message Too Large\r\n", 31);

	/* nothing to answer */
	wims_wbuf_init(&w, out, sizeof(out));
	assert_int_equal(wims_sip__frame_reply(&m, inv, strlen(inv) - 2, "Missing Content-Length", &w),
			 -EBADMSG);
	assert_int_equal(wims_sip__frame_reply(&m, inv, strlen(inv), "Bad start line", &w), -EBADMSG);
	assert_int_equal(wims_sip__frame_reply(&m, inv, strlen(inv), NULL, &w), -EBADMSG);
	static const char ack[] =
	    "ACK sip:a SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK7\r\n"
	    "From: <sip:b@x>;tag=9\r\nTo: <sip:a@x>\r\nCall-ID: q\r\nCSeq: 2 ACK\r\n\r\n";
	assert_int_equal(wims_sip__frame_reply(&m, ack, strlen(ack), "Missing Content-Length", &w), -EBADMSG);
	static const char resp[] =
	    "SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK7\r\n"
	    "From: <sip:b@x>;tag=9\r\nTo: <sip:a@x>\r\nCall-ID: q\r\nCSeq: 2 INVITE\r\n\r\n";
	assert_int_equal(wims_sip__frame_reply(&m, resp, strlen(resp), "Missing Content-Length", &w),
			 -EBADMSG);
	static const char nocallid[] = "OPTIONS sip:a SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK7\r\n"
				       "From: <sip:b@x>;tag=9\r\nTo: <sip:a@x>\r\nCSeq: 2 OPTIONS\r\n\r\n";
	assert_int_equal(wims_sip__frame_reply(&m, nocallid, strlen(nocallid), "Missing Content-Length", &w),
			 -EBADMSG);
	assert_int_equal(w.len, 0);
}

/* A start line sent a byte at a time: framed once whole, found bad once
 * whole, and the search resumes (a quadratic rescan would take seconds). */
static void test_start_line_bytewise(void **state)
{
	static char buf[WIMS_SIP_MAX_MESSAGE];
	size_t n = 0, skip;
	struct wims_sip__framer fr = {0};
	long r = 0;

	n += (size_t)snprintf(buf, sizeof(buf), "OPTIONS sip:");
	memset(buf + n, 'a', 60000);
	n += 60000;
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, " SIP/2.0\r\nl: 0\r\n\r\n");
	for (size_t end = 1; end <= n; end++) {
		r = wims_sip__frame(&fr, buf, end, &skip);
		assert_int_equal(skip, 0);
		if (end < n)
			assert_int_equal(r, 0);
	}
	assert_int_equal(r, (long)n);
	memset(&fr, 0, sizeof(fr));
	memcpy(buf + 60012, " HTTP/1\r\n", 9);
	for (size_t end = 1; end <= 60012 + 9; end++)
		r = wims_sip__frame(&fr, buf, end, &skip);
	assert_int_equal(r, -EBADMSG);
	assert_string_equal(fr.why, "Bad start line");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_complete),
	    cmocka_unit_test(test_incomplete),
	    cmocka_unit_test(test_two_messages),
	    cmocka_unit_test(test_crlf_keepalive),
	    cmocka_unit_test(test_compact_and_case),
	    cmocka_unit_test(test_bad),
	    cmocka_unit_test(test_huge_headers),
	    cmocka_unit_test(test_resume),
	    cmocka_unit_test(test_why),
	    cmocka_unit_test(test_reply),
	    cmocka_unit_test(test_start_line_bytewise),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
