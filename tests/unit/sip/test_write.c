/* Rewriting SIP messages through an edit list, Content-Length upkeep, and
 * building responses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "sip/msg.h"

static struct wims_sip_msg M;
static struct wims_sip_edits E;
static char OUT[8192];
static struct wims_wbuf W;

#define S(c) wims_str_c(c)

static void load(const char *s)
{
	const char *why = NULL;

	if (wims_sip_msg_parse(&M, s, strlen(s), &why) != 0)
		fail_msg("parse: %s", why);
	wims_sip_edits_init(&E);
	wims_wbuf_init(&W, OUT, sizeof(OUT));
}

static void expect_out(const char *want)
{
	int r = wims_sip_msg_write(&M, &E, &W);

	if (r != 0)
		fail_msg("write: %d", r);
	if (W.len != strlen(want) || memcmp(W.p, want, W.len) != 0)
		fail_msg("want:\n%s\ngot:\n%.*s", want, (int)W.len, W.p);
}

/* What was written must parse again. */
static void reparse(void)
{
	static struct wims_sip_msg m2;
	const char *why = NULL;

	if (wims_sip_msg_parse(&m2, W.p, W.len, &why) != 0)
		fail_msg("reparse: %s", why);
}

#define REQ_HEAD                                                                                           \
	"INVITE sip:bob@example.com SIP/2.0\r\n"                                                           \
	"Via: SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bKabc\r\n"                                      \
	"Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>, <sip:p3.example.com;lr>\r\n"             \
	"From: <sip:alice@example.com>;tag=a1\r\n"                                                         \
	"To: <sip:bob@example.com>\r\n"                                                                    \
	"Call-ID: c1\r\n"                                                                                  \
	"CSeq: 1 INVITE\r\n"

static void test_no_edits(void **state)
{
	load(REQ_HEAD "Content-Length: 4\r\n\r\nbody");
	expect_out(REQ_HEAD "Content-Length: 4\r\n\r\nbody");
	/* absent Content-Length gets added; trailing bytes beyond it dropped */
	load(REQ_HEAD "\r\nbody");
	expect_out(REQ_HEAD "Content-Length: 4\r\n\r\nbody");
	load(REQ_HEAD "l: 2\r\n\r\nbody");
	expect_out(REQ_HEAD "Content-Length: 2\r\n\r\nbo");
	reparse();
}

static void test_hdr_edits(void **state)
{
	static const char via[] = "Via: SIP/2.0/UDP 192.0.2.5:5060;branch=z9hG4bKnew\r\n";
	static const char rr[] = "Record-Route: <sip:192.0.2.5;lr>\r\n";

	load(REQ_HEAD "Content-Length: 0\r\n\r\n");
	wims_sip_edit_prepend_hdr(&E, &M, S(via));
	wims_sip_edit_append_hdr(&E, &M, S(rr));
	wims_sip_edit_append_hdr(&E, &M, S("X-B: 2\r\n"));
	wims_sip_edit_remove_hdr(&E, &M, wims_sip_msg_hdr(&M, WIMS_HDR_ROUTE));
	wims_sip_edit_replace(&E, &M, M.ruri, S("sip:bob@192.0.2.77:5060"));
	expect_out("INVITE sip:bob@192.0.2.77:5060 SIP/2.0\r\n"
		   "Via: SIP/2.0/UDP 192.0.2.5:5060;branch=z9hG4bKnew\r\n"
		   "Via: SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bKabc\r\n"
		   "From: <sip:alice@example.com>;tag=a1\r\n"
		   "To: <sip:bob@example.com>\r\n"
		   "Call-ID: c1\r\n"
		   "CSeq: 1 INVITE\r\n"
		   "Content-Length: 0\r\n"
		   "Record-Route: <sip:192.0.2.5;lr>\r\n"
		   "X-B: 2\r\n"
		   "\r\n");
	reparse();
}

static void test_same_offset_order(void **state)
{
	const char *p;

	load(REQ_HEAD "\r\n");
	p = wims_sip_msg_hdr(&M, WIMS_HDR_FROM)->line.p;
	wims_sip_edit_insert(&E, &M, p, S("X-1: 1\r\n"));
	wims_sip_edit_insert(&E, &M, p, S("X-2: 2\r\n"));
	wims_sip_edit_remove_hdr(&E, &M, wims_sip_msg_hdr(&M, WIMS_HDR_FROM));
	wims_sip_edit_insert(&E, &M, p, S("X-3: 3\r\n"));
	wims_sip_edit_replace(&E, &M, wims_sip_msg_hdr(&M, WIMS_HDR_TO)->value, S("<sip:carol@example.com>"));
	expect_out("INVITE sip:bob@example.com SIP/2.0\r\n"
		   "Via: SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bKabc\r\n"
		   "Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>, <sip:p3.example.com;lr>\r\n"
		   "X-1: 1\r\nX-2: 2\r\nX-3: 3\r\n"
		   "To: <sip:carol@example.com>\r\n"
		   "Call-ID: c1\r\n"
		   "CSeq: 1 INVITE\r\n"
		   "Content-Length: 0\r\n\r\n");
}

static void test_overlap_rejected(void **state)
{
	const struct wims_sip_hdr *to;

	load(REQ_HEAD "\r\n");
	to = wims_sip_msg_hdr(&M, WIMS_HDR_TO);
	wims_sip_edit_replace(&E, &M, to->value, S("<sip:x@y>"));
	wims_sip_edit_remove_hdr(&E, &M, to);
	assert_int_equal(wims_sip_msg_write(&M, &E, &W), -EINVAL);

	/* insertion inside a replaced span */
	load(REQ_HEAD "\r\n");
	to = wims_sip_msg_hdr(&M, WIMS_HDR_TO);
	wims_sip_edit_replace(&E, &M, to->line, S("To: <sip:x@y>\r\n"));
	wims_sip_edit_insert(&E, &M, to->line.p + 3, S("zz"));
	assert_int_equal(wims_sip_msg_write(&M, &E, &W), -EINVAL);

	/* two deletions may overlap: their union goes */
	load(REQ_HEAD "\r\n");
	to = wims_sip_msg_hdr(&M, WIMS_HDR_TO);
	wims_sip_edit_remove_hdr(&E, &M, to);
	wims_sip_edit_replace(&E, &M, to->value, WIMS_STR_NULL);
	assert_int_equal(wims_sip_msg_write(&M, &E, &W), 0);

	/* outside the message */
	load(REQ_HEAD "\r\n");
	wims_sip_edit_insert(&E, &M, M.raw.p + M.raw.l + 1, S("x"));
	assert_true(E.overflow);
	assert_int_equal(wims_sip_msg_write(&M, &E, &W), -EINVAL);

	/* too many edits */
	load(REQ_HEAD "\r\n");
	for (int i = 0; i <= WIMS_SIP_MAX_EDITS; i++)
		wims_sip_edit_append_hdr(&E, &M, S("X: 1\r\n"));
	assert_true(E.overflow);
	assert_int_equal(wims_sip_msg_write(&M, &E, &W), -EINVAL);

	/* a partial edit of Content-Length is refused, removal is fine */
	load(REQ_HEAD "Content-Length: 0\r\n\r\n");
	wims_sip_edit_replace(&E, &M, wims_sip_msg_hdr(&M, WIMS_HDR_CONTENT_LENGTH)->value, S("7"));
	assert_int_equal(wims_sip_msg_write(&M, &E, &W), -EINVAL);
	load(REQ_HEAD "Content-Length: 0\r\nX-A: 1\r\n\r\n");
	wims_sip_edit_remove_hdr(&E, &M, wims_sip_msg_hdr(&M, WIMS_HDR_CONTENT_LENGTH));
	expect_out(REQ_HEAD "X-A: 1\r\nContent-Length: 0\r\n\r\n");

	/* editing the empty line is refused */
	load(REQ_HEAD "\r\n");
	wims_sip_edit_replace(&E, &M, M.headers_end, S("\r\n\r\n"));
	assert_int_equal(wims_sip_msg_write(&M, &E, &W), -EINVAL);
}

static void test_body(void **state)
{
	load(REQ_HEAD "Content-Type: application/sdp\r\nContent-Length: 10\r\n\r\n0123456789");
	E.new_body = S("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n");
	E.body_set = true;
	wims_sip_edit_append_hdr(&E, &M, S("X-A: 1\r\n"));
	expect_out(REQ_HEAD "Content-Type: application/sdp\r\nContent-Length: 31\r\nX-A: 1\r\n\r\n"
			    "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n");
	reparse();

	/* empty new body */
	load(REQ_HEAD "Content-Length: 10\r\n\r\n0123456789");
	E.new_body = WIMS_STR_NULL;
	E.body_set = true;
	expect_out(REQ_HEAD "Content-Length: 0\r\n\r\n");

	/* edits inside the body adjust Content-Length */
	load(REQ_HEAD "Content-Length: 10\r\n\r\n0123456789trailing");
	wims_sip_edit_replace(&E, &M, wims_str_make(M.body.p + 2, 3), S("abcdef"));
	wims_sip_edit_insert(&E, &M, M.body.p + 10, S("!"));
	expect_out(REQ_HEAD "Content-Length: 14\r\n\r\n01abcdef56789!");
	reparse();

	/* body edits with a replaced body are refused */
	load(REQ_HEAD "Content-Length: 10\r\n\r\n0123456789");
	wims_sip_edit_replace(&E, &M, wims_str_make(M.body.p, 1), S("x"));
	E.body_set = true;
	assert_int_equal(wims_sip_msg_write(&M, &E, &W), -EINVAL);
}

static void test_nospace(void **state)
{
	char small[32];

	load(REQ_HEAD "\r\n");
	wims_wbuf_init(&W, small, sizeof(small));
	assert_int_equal(wims_sip_msg_write(&M, &E, &W), -ENOSPC);
	wims_wbuf_init(&W, small, sizeof(small));
	assert_int_equal(wims_sip_reply(&M, 200, NULL, WIMS_STR_NULL, WIMS_STR_NULL, &W), -ENOSPC);
}

static void remove_route_vals(const int *which, size_t n)
{
	struct wims_sip_vals it;
	int i = 0;

	wims_sip_vals_init(&it, &M, WIMS_HDR_ROUTE);
	while (wims_sip_vals_next(&it)) {
		for (size_t k = 0; k < n; k++)
			if (which[k] == i)
				wims_sip_edit_remove_val(&E, &M, &it);
		i++;
	}
}

static void expect_routes(const int *which, size_t n, const char *route_line)
{
	char want[1024];

	load(REQ_HEAD "\r\n");
	remove_route_vals(which, n);
	snprintf(want, sizeof(want),
		 "INVITE sip:bob@example.com SIP/2.0\r\n"
		 "Via: SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bKabc\r\n"
		 "%s"
		 "From: <sip:alice@example.com>;tag=a1\r\n"
		 "To: <sip:bob@example.com>\r\n"
		 "Call-ID: c1\r\n"
		 "CSeq: 1 INVITE\r\n"
		 "Content-Length: 0\r\n\r\n",
		 route_line);
	expect_out(want);
}

static void test_remove_val(void **state)
{
	expect_routes((int[]){0}, 1, "Route: <sip:p2.example.com;lr>, <sip:p3.example.com;lr>\r\n");
	expect_routes((int[]){1}, 1, "Route: <sip:p1.example.com;lr>, <sip:p3.example.com;lr>\r\n");
	expect_routes((int[]){2}, 1, "Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n");
	expect_routes((int[]){0, 1}, 2, "Route: <sip:p3.example.com;lr>\r\n");
	expect_routes((int[]){1, 2}, 2, "Route: <sip:p1.example.com;lr>\r\n");
	expect_routes((int[]){0, 2}, 2, "Route: <sip:p2.example.com;lr>\r\n");
	expect_routes((int[]){0, 1, 2}, 3, "");

	/* across lines: a single-value line goes whole */
	load("MESSAGE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
	     "To: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 MESSAGE\r\n"
	     "Route: <sip:one;lr>\r\nRoute: <sip:two;lr>,<sip:three;lr>\r\n\r\n");
	{
		struct wims_sip_vals it;

		wims_sip_vals_init(&it, &M, WIMS_HDR_ROUTE);
		assert_true(wims_sip_vals_next(&it));
		wims_sip_edit_remove_val(&E, &M, &it);
		assert_true(wims_sip_vals_next(&it));
		wims_sip_edit_remove_val(&E, &M, &it);
	}
	expect_out("MESSAGE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
		   "To: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 MESSAGE\r\n"
		   "Route: <sip:three;lr>\r\nContent-Length: 0\r\n\r\n");
	reparse();
}

static const char reg[] =
	"REGISTER sip:ims.example.com SIP/2.0\r\n"
	"Via: SIP/2.0/UDP 192.0.2.5:5060;branch=z9hG4bKp1;received=192.0.2.5\r\n"
	"v: SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bKu1,SIP/2.0/WSS x.invalid;branch=z9hG4bKu0\r\n"
	"Max-Forwards: 69\r\n"
	"To: <sip:alice@ims.example.com>\r\n"
	"From: \"Alice\" <sip:alice@ims.example.com>;tag=f00\r\n"
	"Call-ID: reg1\r\n"
	"CSeq: 3 REGISTER\r\n"
	"Contact: <sip:a@df7jal23ls0d.invalid;transport=ws>;expires=600\r\n"
	"Content-Length: 0\r\n\r\n";

static void test_reply(void **state)
{
	static const char want_200[] =
		"SIP/2.0 200 OK\r\n"
		"Via: SIP/2.0/UDP 192.0.2.5:5060;branch=z9hG4bKp1;received=192.0.2.5\r\n"
		"Via: SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bKu1,SIP/2.0/WSS x.invalid;branch=z9hG4bKu0\r\n"
		"From: \"Alice\" <sip:alice@ims.example.com>;tag=f00\r\n"
		"To: <sip:alice@ims.example.com>;tag=srv1\r\n"
		"Call-ID: reg1\r\n"
		"CSeq: 3 REGISTER\r\n"
		"Contact: <sip:a@df7jal23ls0d.invalid;transport=ws>;expires=600\r\n"
		"Content-Length: 0\r\n\r\n";
	static const char want_100[] =
		"SIP/2.0 100 Trying\r\n"
		"Via: SIP/2.0/UDP 192.0.2.5:5060;branch=z9hG4bKp1;received=192.0.2.5\r\n"
		"Via: SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bKu1,SIP/2.0/WSS x.invalid;branch=z9hG4bKu0\r\n"
		"From: \"Alice\" <sip:alice@ims.example.com>;tag=f00\r\n"
		"To: <sip:alice@ims.example.com>\r\n"
		"Call-ID: reg1\r\n"
		"CSeq: 3 REGISTER\r\n"
		"Content-Length: 0\r\n\r\n";
	const char *why;
	static struct wims_sip_msg r;

	load(reg);
	assert_int_equal(wims_sip_reply(&M, 200, NULL, S("srv1"),
					S("Contact: <sip:a@df7jal23ls0d.invalid;transport=ws>;expires=600\r\n"), &W),
			 0);
	assert_int_equal(W.len, strlen(want_200));
	assert_memory_equal(W.p, want_200, W.len);
	assert_int_equal(wims_sip_msg_parse(&r, W.p, W.len, &why), 0);
	assert_int_equal(r.status, 200);

	wims_wbuf_init(&W, OUT, sizeof(OUT));
	assert_int_equal(wims_sip_reply(&M, 100, NULL, S("srv1"), WIMS_STR_NULL, &W), 0);
	assert_int_equal(W.len, strlen(want_100));
	assert_memory_equal(W.p, want_100, W.len);

	/* a To that has a tag keeps it; custom reason */
	load("BYE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
	     "To: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 5 BYE\r\n\r\n");
	assert_int_equal(wims_sip_reply(&M, 481, "Gone Away", S("zzz"), WIMS_STR_NULL, &W), 0);
	assert_non_null(memmem(W.p, W.len, "SIP/2.0 481 Gone Away\r\n", 23));
	assert_non_null(memmem(W.p, W.len, "To: <sip:c@d>;tag=2\r\nCall-ID", 28));
	assert_null(memmem(W.p, W.len, "zzz", 3));

	/* a 100 copies Timestamp, other codes do not */
	load("INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
	     "To: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 5 INVITE\r\nTimestamp: 54.2 0.1\r\n\r\n");
	assert_int_equal(wims_sip_reply(&M, 100, NULL, S("t"), WIMS_STR_NULL, &W), 0);
	assert_non_null(memmem(W.p, W.len, "CSeq: 5 INVITE\r\nTimestamp: 54.2 0.1\r\nContent-Length: 0\r\n\r\n", 58));
	assert_non_null(memmem(W.p, W.len, "To: <sip:c@d>\r\n", 15));
	wims_wbuf_init(&W, OUT, sizeof(OUT));
	assert_int_equal(wims_sip_reply(&M, 486, NULL, S("t"), S("Retry-After: 30\r\n"), &W), 0);
	assert_null(memmem(W.p, W.len, "Timestamp", 9));
	assert_non_null(memmem(W.p, W.len, "SIP/2.0 486 Busy Here\r\n", 23));
	assert_non_null(memmem(W.p, W.len, "To: <sip:c@d>;tag=t\r\n", 21));
	assert_non_null(memmem(W.p, W.len, "CSeq: 5 INVITE\r\nRetry-After: 30\r\nContent-Length: 0\r\n\r\n", 54));

	/* replying to a response is refused */
	load("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
	     "To: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 5 BYE\r\n\r\n");
	assert_int_equal(wims_sip_reply(&M, 200, NULL, WIMS_STR_NULL, WIMS_STR_NULL, &W), -EINVAL);
}

static void test_reason_phrases(void **state)
{
	static const struct {
		unsigned code;
		const char *r;
	} t[] = {
		{100, "Trying"}, {180, "Ringing"}, {200, "OK"}, {401, "Unauthorized"},
		{407, "Proxy Authentication Required"}, {420, "Bad Extension"}, {421, "Extension Required"},
		{423, "Interval Too Brief"}, {430, "Flow Failed"}, {439, "First Hop Lacks Outbound Support"},
		{480, "Temporarily Unavailable"}, {481, "Call/Transaction Does Not Exist"},
		{482, "Loop Detected"}, {483, "Too Many Hops"}, {487, "Request Terminated"},
		{488, "Not Acceptable Here"}, {491, "Request Pending"}, {500, "Server Internal Error"},
		{503, "Service Unavailable"}, {504, "Server Time-out"}, {513, "Message Too Large"},
		{499, "Bad Request"}, {299, "OK"}, {42, "Unknown"}, {700, "Unknown"},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_string_equal(wims_sip_reason_phrase(t[i].code), t[i].r);
}

/* A message at the header or size limit: what wims_sip_msg_write() returns
 * 0 for always parses back; the rest fails with -E2BIG / -EMSGSIZE and
 * leaves the buffer as it was. */
static char BIG[WIMS_SIP_MAX_MESSAGE + 1];
static char BIGOUT[2 * WIMS_SIP_MAX_MESSAGE];

/* A request with nhdrs header lines (Content-Length one of them when cl)
 * and, when pad, an X-Pad header filling it to about total bytes. */
static void build(size_t nhdrs, bool cl, size_t pad_to)
{
	struct wims_wbuf b;
	static const char *const base[] = {"Via: SIP/2.0/TCP h;branch=z9hG4bK1", "From: <sip:a@b>;tag=1",
					   "To: <sip:c@d>", "Call-ID: x", "CSeq: 1 OPTIONS"};
	size_t n = 0;

	wims_wbuf_init(&b, BIG, sizeof(BIG) - 1);
	wims_wbuf_puts(&b, "OPTIONS sip:c@d SIP/2.0\r\n");
	for (; n < 5 && n < nhdrs; n++)
		wims_wbuf_printf(&b, "%s\r\n", base[n]);
	if (cl && n < nhdrs) {
		wims_wbuf_puts(&b, "Content-Length: 0\r\n");
		n++;
	}
	for (; n + 1 < nhdrs || (n < nhdrs && !pad_to); n++)
		wims_wbuf_printf(&b, "X-H%zu: v\r\n", n);
	if (n < nhdrs) {
		wims_wbuf_puts(&b, "X-Pad: ");
		while (b.len + 6 < pad_to)
			wims_wbuf_put(&b, "p", 1);
		wims_wbuf_puts(&b, "\r\n");
	}
	wims_wbuf_puts(&b, "\r\n");
	assert_false(b.err);
	BIG[b.len] = '\0';
}

static int write_big(const char *ins)
{
	const char *why = NULL;

	if (wims_sip_msg_parse(&M, BIG, strlen(BIG), &why) != 0)
		fail_msg("parse: %s", why);
	wims_sip_edits_init(&E);
	if (ins)
		wims_sip_edit_prepend_hdr(&E, &M, S(ins));
	wims_wbuf_init(&W, BIGOUT, sizeof(BIGOUT));
	memcpy(BIGOUT, "keep", 4);
	W.len = 4; /* appended to what is there */
	int r = wims_sip_msg_write(&M, &E, &W);
	if (r == 0) {
		static struct wims_sip_msg m2;
		if (wims_sip_msg_parse(&m2, W.p + 4, W.len - 4, &why) != 0)
			fail_msg("written with %zu headers, does not parse back: %s", M.nhdrs, why);
	} else {
		assert_int_equal(W.len, 4);
	}
	return r;
}

static void test_limits(void **state)
{
	(void)state;
	/* Content-Length added to a message without one */
	build(WIMS_SIP_MAX_HEADERS - 1, false, 0);
	assert_int_equal(write_big(NULL), 0);
	build(WIMS_SIP_MAX_HEADERS, false, 0);
	assert_int_equal(write_big(NULL), -E2BIG);
	/* rewritten in place when there */
	build(WIMS_SIP_MAX_HEADERS, true, 0);
	assert_int_equal(write_big(NULL), 0);
	/* a header added (a Via) to a message at the limit, even a folded one */
	assert_int_equal(write_big("Via: SIP/2.0/TCP w;branch=z9hG4bK2\r\n"), -E2BIG);
	build(WIMS_SIP_MAX_HEADERS - 1, true, 0);
	assert_int_equal(write_big("Via: SIP/2.0/TCP w\r\n ;branch=z9hG4bK2\r\n"), 0);
	assert_int_equal(write_big("A: 1\r\nB: 2\r\n"), -E2BIG);
	/* size: a message that the added bytes push over WIMS_SIP_MAX_MESSAGE */
	build(10, true, WIMS_SIP_MAX_MESSAGE - 10);
	assert_int_equal(write_big(NULL), 0);
	assert_int_equal(write_big("Via: SIP/2.0/TCP w;branch=z9hG4bK2\r\n"), -EMSGSIZE);
	build(10, false, WIMS_SIP_MAX_MESSAGE - 10);
	assert_int_equal(write_big(NULL), -EMSGSIZE);

	/* every combination near both limits: 0 only for what parses back */
	for (size_t n = WIMS_SIP_MAX_HEADERS - 3; n <= WIMS_SIP_MAX_HEADERS; n++)
		for (int cl = 0; cl < 2; cl++)
			for (size_t pad = 0; pad <= 60; pad += 30) {
				build(n, cl, pad ? WIMS_SIP_MAX_MESSAGE - pad : 0);
				int r0 = write_big(NULL);
				int r1 = write_big("Via: SIP/2.0/TCP w;branch=z9hG4bK2\r\n");
				int r2 = write_big("A: 1\r\nB: 2\r\n");
				assert_true(r0 == 0 || r0 == -E2BIG || r0 == -EMSGSIZE);
				assert_true(r1 == 0 || r1 == -E2BIG || r1 == -EMSGSIZE);
				assert_true(r2 == 0 || r2 == -E2BIG || r2 == -EMSGSIZE);
			}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_edits),         cmocka_unit_test(test_hdr_edits),
		cmocka_unit_test(test_same_offset_order), cmocka_unit_test(test_overlap_rejected),
		cmocka_unit_test(test_body),             cmocka_unit_test(test_nospace),
		cmocka_unit_test(test_remove_val),       cmocka_unit_test(test_reply),
		cmocka_unit_test(test_reason_phrases),   cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
