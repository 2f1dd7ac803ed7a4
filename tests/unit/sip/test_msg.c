/* SIP message parser: start lines, headers, mandatory checks, the `why`
 * phrases, compact forms, folding, and many RFC 4475 torture cases (our own
 * versions of them). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>
#include <stdlib.h>
#include <stdio.h>
#include <cmocka.h>

#include "sip/msg.h"

static struct wims_sip_msg M;

#define HDRS_OK                                                                                            \
	"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK74bf9\r\n"                                         \
	"From: Alice <sip:alice@example.com>;tag=9fxced76sl\r\n"                                          \
	"To: Bob <sip:bob@example.com>\r\n"                                                                \
	"Call-ID: 3848276298220188511@example.com\r\n"

static int parse(const char *s, const char **why)
{
	*why = NULL;
	return wims_sip_msg_parse(&M, s, strlen(s), why);
}

static void expect_ok(const char *s)
{
	const char *why;
	int r = parse(s, &why);

	if (r != 0)
		fail_msg("parse failed: %s", why ? why : "(null)");
}

static void expect_bad(const char *s, const char *want)
{
	const char *why;
	int r = parse(s, &why);

	assert_int_equal(r, -EBADMSG);
	assert_non_null(why);
	if (strcmp(why, want) != 0)
		fail_msg("want \"%s\", got \"%s\"", want, why);
}

static bool str_is(struct wims_str s, const char *c)
{
	return s.l == strlen(c) && memcmp(s.p, c, s.l) == 0;
}

#define assert_str(s, c)                                                                                   \
	do {                                                                                               \
		if (!str_is((s), (c)))                                                                     \
			fail_msg("want \"%s\", got \"%.*s\"", (c), (int)(s).l, (s).p ? (s).p : "");       \
	} while (0)

static void test_basic_invite(void **state)
{
	static const char msg[] = "INVITE sip:bob@example.com SIP/2.0\r\n" HDRS_OK
				  "CSeq: 314159 INVITE\r\n"
				  "Max-Forwards: 70\r\n"
				  "Content-Type: application/sdp\r\n"
				  "Content-Length: 4\r\n"
				  "\r\n"
				  "v=0\n";

	expect_ok(msg);
	assert_true(M.is_request);
	assert_int_equal(M.method_id, WIMS_SIP_INVITE);
	assert_str(M.method, "INVITE");
	assert_str(M.ruri, "sip:bob@example.com");
	assert_str(M.start_line, "INVITE sip:bob@example.com SIP/2.0");
	assert_int_equal(M.nhdrs, 8);
	assert_int_equal(M.first[WIMS_HDR_VIA], 0);
	assert_int_equal(M.first[WIMS_HDR_CSEQ], 4);
	assert_int_equal(M.first[WIMS_HDR_CONTACT], -1);
	assert_str(M.hdrs[0].name, "Via");
	assert_str(M.hdrs[0].value, "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK74bf9");
	assert_str(M.hdrs[0].line, "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK74bf9\r\n");
	assert_str(M.body, "v=0\n");
	assert_str(M.headers_end, "\r\n");
	assert_ptr_equal(M.headers_end.p + 2, M.body.p);
	assert_str(wims_sip_msg_hdr(&M, WIMS_HDR_MAX_FORWARDS)->value, "70");
	assert_null(wims_sip_msg_hdr(&M, WIMS_HDR_ROUTE));
	assert_str(wims_sip_msg_tag(&M, WIMS_HDR_FROM), "9fxced76sl");
	assert_int_equal(wims_sip_msg_tag(&M, WIMS_HDR_TO).l, 0);
}

static void test_response(void **state)
{
	expect_ok("SIP/2.0 180 Ringing\r\n" HDRS_OK "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n");
	assert_false(M.is_request);
	assert_int_equal(M.status, 180);
	assert_str(M.reason, "Ringing");
	assert_int_equal(M.body.l, 0);
	/* A response's CSeq method is not compared with anything. */
	expect_ok("SIP/2.0 200 OK\r\n" HDRS_OK "CSeq: 1 BYE\r\n\r\n");
	/* RFC 4475 §3.1.1.13: empty reason phrase. */
	expect_ok("SIP/2.0 100 \r\n" HDRS_OK "CSeq: 1 INVITE\r\n\r\n");
	assert_int_equal(M.reason.l, 0);
	expect_ok("SIP/2.0 100\r\n" HDRS_OK "CSeq: 1 INVITE\r\n\r\n");
	/* RFC 4475 §3.1.1.12: unusual reason phrase (UTF-8, odd characters). */
	expect_ok("SIP/2.0 200 = 2**3 * 5**2 \xd0\xbd\xd0\xbe\r\n" HDRS_OK "CSeq: 1 INVITE\r\n\r\n");
	assert_int_equal(M.status, 200);
	/* RFC 4475 §3.1.2.18: overlarge status code. */
	expect_bad("SIP/2.0 4294967301 better not break the receiver\r\n" HDRS_OK "CSeq: 1 INVITE\r\n\r\n",
		   "Bad status line");
	expect_bad("SIP/2.0 099 Low\r\n" HDRS_OK "CSeq: 1 INVITE\r\n\r\n", "Bad status line");
	expect_bad("SIP/2.0 700 High\r\n" HDRS_OK "CSeq: 1 INVITE\r\n\r\n", "Bad status line");
	expect_bad("SIP/2.0 20x OK\r\n" HDRS_OK "CSeq: 1 INVITE\r\n\r\n", "Bad status line");
	expect_bad("SIP/2.1 200 OK\r\n" HDRS_OK "CSeq: 1 INVITE\r\n\r\n", "Bad status line");
	expect_bad("SIP/2.0 200OK\r\n" HDRS_OK "CSeq: 1 INVITE\r\n\r\n", "Bad status line");
}

static void test_why_phrases(void **state)
{
	expect_bad("", "Empty message");
	expect_bad("OPTIONS sip:a@b SIP/2.0\r\n"
		   "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n",
		   "Missing Via");
	expect_bad("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
		   "To: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n",
		   "Missing From");
	expect_bad("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
		   "From: <sip:a@b>;tag=1\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n",
		   "Missing To");
	expect_bad("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
		   "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCSeq: 1 OPTIONS\r\n\r\n",
		   "Missing Call-ID");
	expect_bad("OPTIONS sip:a@b SIP/2.0\r\n" HDRS_OK "\r\n", "Missing CSeq");
	expect_bad("OPTIONS sip:a@b SIP/2.0\r\n" HDRS_OK "CSeq: OPTIONS\r\n\r\n", "Bad CSeq");
	expect_bad("OPTIONS sip:a@b SIP/2.0\r\n" HDRS_OK "CSeq: 1\r\n\r\n", "Bad CSeq");
	expect_bad("OPTIONS sip:a@b SIP/2.0\r\n" HDRS_OK "CSeq: -1 OPTIONS\r\n\r\n", "Bad CSeq");
	expect_bad("OPTIONS sip:a@b SIP/2.0\r\n" HDRS_OK "CSeq: 2147483648 OPTIONS\r\n\r\n", "Bad CSeq");
	expect_ok("OPTIONS sip:a@b SIP/2.0\r\n" HDRS_OK "CSeq: 2147483647 OPTIONS\r\n\r\n");
	expect_bad("OPTIONS sip:a@b SIP/2.0\r\n" HDRS_OK "CSeq: 1 OPTIONS x\r\n\r\n", "Bad CSeq");
	expect_bad("OPTIONS sip:a@b SIP/2.0\r\n" HDRS_OK "CSeq: 1 INVITE\r\n\r\n", "CSeq method mismatch");
	/* methods are case-sensitive */
	expect_bad("OPTIONS sip:a@b SIP/2.0\r\n" HDRS_OK "CSeq: 1 options\r\n\r\n", "CSeq method mismatch");
	expect_bad("OPTIONS sip:a@b SIP/2.0\r\n" HDRS_OK "CSeq: 1 OPTIONS\r\nContent-Length: x\r\n\r\n",
		   "Bad Content-Length");
	expect_bad("OPTIONS sip:a@b SIP/2.0\r\n" HDRS_OK "CSeq: 1 OPTIONS\r\nContent-Length: 5\r\n\r\nabcd",
		   "Bad Content-Length");
	expect_bad("OPTIONS sip:a@b SIP/2.0\r\n" HDRS_OK "CSeq: 1 OPTIONS\r\nContent-Length:\r\n\r\n",
		   "Bad Content-Length");
	expect_bad("OPTIONS  sip:a@b SIP/2.0\r\n" HDRS_OK "CSeq: 1 OPTIONS\r\n\r\n", "Bad request line");
	expect_bad("OPTIONS\r\n" HDRS_OK "CSeq: 1 OPTIONS\r\n\r\n", "Bad request line");
	expect_bad("OPTIONS sip:a@b\r\n" HDRS_OK "CSeq: 1 OPTIONS\r\n\r\n", "Bad request line");
	expect_bad("OPTIONS sip:a@b SIP/2.0\r\n" HDRS_OK "CSeq: 1 OPTIONS\r\nBad Header: x\r\n\r\n",
		   "Bad header");
	expect_bad("OPTIONS sip:a@b SIP/2.0\r\n" HDRS_OK "CSeq: 1 OPTIONS\r\nNoColon\r\n\r\n", "Bad header");
	expect_bad("OPTIONS sip:a@b SIP/2.0\r\n" HDRS_OK "CSeq: 1 OPTIONS\r\n: empty name\r\n\r\n",
		   "Bad header");
	expect_bad("OPTIONS sip:a@b SIP/2.0\r\n cont\r\n" HDRS_OK "CSeq: 1 OPTIONS\r\n\r\n", "Bad header");
	expect_bad("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP\r\nFrom: <sip:a@b>;tag=1\r\n"
		   "To: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n",
		   "Bad Via");
	expect_bad("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/3.0/UDP h\r\nFrom: <sip:a@b>;tag=1\r\n"
		   "To: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n",
		   "Bad Via");
	expect_bad("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=1\r\nFrom: sip:a@b, x\r\n"
		   "To: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n",
		   "Bad From");
	expect_bad("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=1\r\nFrom: <sip:a@b>\r\n"
		   "To: <sip:a@b\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n",
		   "Bad To");
	expect_bad("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=1\r\nFrom: <sip:a@b>\r\n"
		   "To: <sip:a@b>\r\nCall-ID: \r\nCSeq: 1 OPTIONS\r\n\r\n",
		   "Bad Call-ID");
	expect_bad("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=1\r\nFrom: <sip:a@b>\r\n"
		   "To: <sip:a@b>\r\nCall-ID: a b\r\nCSeq: 1 OPTIONS\r\n\r\n",
		   "Bad Call-ID");
	expect_bad("OPTIONS sip:a@b SIP/2.0\r\n" HDRS_OK "CSeq: 1 OPTIONS\r\n", "Incomplete headers");
	expect_bad("OPTIONS sip:a@b SIP/2.0\r\n" HDRS_OK "CSeq: 1 OPTIONS\n\n", "Bad line ending");
	expect_bad("OPTIONS sip:a@b SIP/2.0\n" HDRS_OK "CSeq: 1 OPTIONS\r\n\r\n", "Bad line ending");
	expect_bad("OPTIONS sip:a@b SIP/2.0\r\n" HDRS_OK "CSeq: 1 OP\rTIONS\r\n\r\n", "Bad line ending");
	expect_bad("OPTIONS sip:a@b SIP/2.0", "Bad start line");
	expect_bad("\r\n\r\n", "Bad start line");
}

static void test_too_many_headers(void **state)
{
	static char buf[WIMS_SIP_MAX_MESSAGE + 16];
	size_t n = 0;
	const char *why;

	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "MESSAGE sip:a@b SIP/2.0\r\n" HDRS_OK "CSeq: 1 MESSAGE\r\n");
	for (int i = 0; i < WIMS_SIP_MAX_HEADERS - 5; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "X-H%d: %d\r\n", i, i);
	snprintf(buf + n, sizeof(buf) - n, "\r\n");
	assert_int_equal(parse(buf, &why), 0);
	assert_int_equal(M.nhdrs, WIMS_SIP_MAX_HEADERS);
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "X-One-More: 1\r\n\r\n");
	expect_bad(buf, "Too many headers");

	/* Message too large: one byte over the limit. */
	memset(buf, 'a', sizeof(buf));
	assert_int_equal(wims_sip_msg_parse(&M, buf, WIMS_SIP_MAX_MESSAGE + 1, &why), -EBADMSG);
	assert_string_equal(why, "Message too large");
}

static void test_value_limits(void **state)
{
	static char buf[16384];
	size_t n;

	n = (size_t)snprintf(buf, sizeof(buf), "MESSAGE sip:a@b SIP/2.0\r\n" HDRS_OK "CSeq: 1 MESSAGE");
	for (int i = 0; i < WIMS_SIP_MAX_VIA - 1; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s SIP/2.0/UDP h%d;branch=z9hG4bK%d",
				      i % 4 ? "," : "\r\nVia:", i, i);
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\r\n\r\n");
	expect_ok(buf);
	assert_int_equal(wims_sip_msg_hdr_count(&M, WIMS_HDR_VIA), 1 + (WIMS_SIP_MAX_VIA - 1 + 3) / 4);
	snprintf(buf + n - 4, sizeof(buf) - n + 4, ",SIP/2.0/UDP x\r\n\r\n");
	expect_bad(buf, "Too many Via");

	n = (size_t)snprintf(buf, sizeof(buf), "MESSAGE sip:a@b SIP/2.0\r\n" HDRS_OK "CSeq: 1 MESSAGE\r\nRoute: ");
	for (int i = 0; i < WIMS_SIP_MAX_ROUTE; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s<sip:p%d;lr>", i ? "," : "", i);
	snprintf(buf + n, sizeof(buf) - n, "\r\n\r\n");
	expect_ok(buf);
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, ",<sip:x>\r\n\r\n");
	expect_bad(buf, "Too many Route");
	memcpy(buf + strlen("MESSAGE sip:a@b SIP/2.0\r\n" HDRS_OK "CSeq: 1 MESSAGE\r\n"), "Path: ", 6);
	expect_bad(buf, "Too many Path");
}

/* RFC 4475 §3.1.1.7 (longreq) in spirit: very long values everywhere, a
 * body with NULs (§3.1.1.4 escnull keeps %00 escaped; raw NULs may only
 * appear in a body). */
static void test_long_values(void **state)
{
	static char buf[WIMS_SIP_MAX_MESSAGE];
	static char big[4000];
	struct wims_sip_uri u;
	struct wims_sip_addr a;
	struct wims_str v;
	size_t n;
	const char *why;

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	n = (size_t)snprintf(buf, sizeof(buf),
			     "INVITE sip:%s@example.com;%s=%s SIP/2.0\r\n"
			     "Via: SIP/2.0/TCP host.example.com;branch=z9hG4bK%s\r\n"
			     "To: \"%s\" <sip:%s@example.com>\r\n"
			     "From: <sip:x@example.com>;tag=%s\r\n"
			     "Call-ID: longreq.%s\r\nCSeq: 1 INVITE\r\nX-Long: %s\r\n"
			     "Content-Length: 6\r\n\r\n",
			     big, big, big, big, big, big, big, big, big);
	memcpy(buf + n, "a\0b\0c\0", 6);
	assert_int_equal(wims_sip_msg_parse(&M, buf, n + 6, &why), 0);
	assert_int_equal(M.body.l, 6);
	assert_int_equal(M.body.p[1], '\0');
	assert_int_equal(wims_sip_uri_parse(&u, M.ruri), 0);
	assert_int_equal(u.user.l, sizeof(big) - 1);
	assert_true(wims_sip_param_get(u.params, big, &v));
	assert_int_equal(v.l, sizeof(big) - 1);
	assert_int_equal(wims_sip_msg_tag(&M, WIMS_HDR_FROM).l, sizeof(big) - 1);
	assert_int_equal(wims_sip_addr_parse(&a, wims_sip_msg_hdr(&M, WIMS_HDR_TO)->value), 0);
	assert_int_equal(a.display.l, sizeof(big) + 1);
}

static void test_duplicates(void **state)
{
	/* RFC 4475 §3.1.2.19 (multi01) style: single-value headers twice. */
	expect_bad("INVITE sip:b@example.com SIP/2.0\r\n" HDRS_OK "CSeq: 1 INVITE\r\nCSeq: 2 INVITE\r\n\r\n",
		   "Duplicate CSeq");
	expect_bad("INVITE sip:b@example.com SIP/2.0\r\n" HDRS_OK "CSeq: 1 INVITE\r\nf: <sip:x@y>\r\n\r\n",
		   "Duplicate From");
	expect_bad("INVITE sip:b@example.com SIP/2.0\r\n" HDRS_OK "CSeq: 1 INVITE\r\nt: <sip:x@y>\r\n\r\n",
		   "Duplicate To");
	expect_bad("INVITE sip:b@example.com SIP/2.0\r\n" HDRS_OK "CSeq: 1 INVITE\r\ni: other\r\n\r\n",
		   "Duplicate Call-ID");
	/* Two Content-Length headers (request smuggling). */
	expect_bad("INVITE sip:b@example.com SIP/2.0\r\n" HDRS_OK
		   "CSeq: 1 INVITE\r\nContent-Length: 0\r\nl: 4\r\n\r\nabcd",
		   "Duplicate Content-Length");
}

/* RFC 4475 §3.1.1.1 (wsinv): a tortuous but valid INVITE. */
static const char wsinv[] =
	"INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0\r\n"
	"TO :\r\n"
	" sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n\r\n"
	"from   : \"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\r\n"
	"  ;\r\n"
	"  tag = 98asjd8\r\n"
	"MaX-fOrWaRdS: 0068\r\n"
	"Call-ID: wsinv.ndaksdj@192.0.2.1\r\n"
	"Content-Length   : 150\r\n"
	"cseq: 0009\r\n"
	"  INVITE\r\n"
	"Via  : SIP  /   2.0\r\n"
	" /UDP\r\n"
	"    192.0.2.2;branch=390skdjuw\r\n"
	"s :\r\n"
	"NewFangledHeader:   newfangled value\r\n"
	" continued newfangled value\r\n"
	"UnknownHeaderWithUnusualValue: ;;,,;;,;\r\n"
	"Content-Type: application/sdp\r\n"
	"Route:\r\n"
	" <sip:services.example.com;lr;unknownwith=value;unknown-no-value>\r\n"
	"v:  SIP  / 2.0  / TCP     spindle.example.com   ;\r\n"
	"  branch  =   z9hG4bK9ikj8  ,\r\n"
	" SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n"
	" z9hG4bK30239\r\n"
	"m:\"Quoted string \\\"\\\"\" <sip:jdrosen@example.com> ; newparam =\r\n"
	"      newvalue ;\r\n"
	"  secondparam ; q = 0.33\r\n"
	"\r\n"
	"v=0\r\n"
	"o=mhandley 29739 7272939 IN IP4 192.0.2.3\r\n"
	"s=-\r\n"
	"c=IN IP4 192.0.2.4\r\n"
	"t=0 0\r\n"
	"m=audio 49217 RTP/AVP 0 12\r\n"
	"m=video 3227 RTP/AVP 31\r\n"
	"a=rtpmap:31 LPC\r\n";

static void test_torture_wsinv(void **state)
{
	struct wims_sip_vals it;
	struct wims_sip_via v;
	struct wims_sip_cseq cs;
	struct wims_sip_addr a;
	struct wims_str val;
	uint32_t mf;

	expect_ok(wsinv);
	assert_int_equal(M.body.l, 150);
	assert_str(wims_sip_msg_tag(&M, WIMS_HDR_TO), "1918181833n");
	assert_str(wims_sip_msg_tag(&M, WIMS_HDR_FROM), "98asjd8");
	assert_int_equal(wims_sip_uint_parse(wims_sip_msg_hdr(&M, WIMS_HDR_MAX_FORWARDS)->value, 255, &mf), 0);
	assert_int_equal(mf, 68);
	assert_int_equal(wims_sip_cseq_parse(&cs, wims_sip_msg_hdr(&M, WIMS_HDR_CSEQ)->value), 0);
	assert_int_equal(cs.num, 9);
	assert_int_equal(cs.method_id, WIMS_SIP_INVITE);
	assert_int_equal(wims_sip_msg_top_via(&M, &v), 0);
	assert_str(v.transport, "UDP");
	assert_str(v.host, "192.0.2.2");
	assert_str(v.branch, "390skdjuw");
	/* three Via values on two lines */
	wims_sip_vals_init(&it, &M, WIMS_HDR_VIA);
	assert_true(wims_sip_vals_next(&it));
	assert_true(wims_sip_vals_next(&it));
	assert_int_equal(wims_sip_via_parse(&v, it.value), 0);
	assert_str(v.transport, "TCP");
	assert_str(v.host, "spindle.example.com");
	assert_str(v.branch, "z9hG4bK9ikj8");
	assert_true(wims_sip_vals_next(&it));
	assert_int_equal(wims_sip_via_parse(&v, it.value), 0);
	assert_str(v.host, "192.168.255.111");
	assert_str(v.branch, "z9hG4bK30239");
	assert_false(wims_sip_vals_next(&it));
	assert_int_equal(wims_sip_msg_hdr_count(&M, WIMS_HDR_VIA), 2);
	/* compact Contact with quoted display name and LWS around '=' */
	assert_int_equal(wims_sip_addr_parse(&a, wims_sip_msg_hdr(&M, WIMS_HDR_CONTACT)->value), 0);
	assert_str(a.display, "\"Quoted string \\\"\\\"\"");
	assert_str(a.uri, "sip:jdrosen@example.com");
	assert_true(wims_sip_param_get(a.params, "newparam", &val));
	assert_str(val, "newvalue");
	assert_true(wims_sip_param_get(a.params, "secondparam", &val));
	assert_int_equal(val.l, 0);
	assert_true(wims_sip_param_get(a.params, "q", &val));
	assert_str(val, "0.33");
	/* s (Subject) is empty; unknown headers keep their folded value */
	assert_int_equal(wims_sip_msg_hdr_by_name(&M, wims_str_c("Subject"))->value.l, 0);
	assert_str(wims_sip_msg_hdr_by_name(&M, wims_str_c("newfangledheader"))->value,
		   "newfangled value\r\n continued newfangled value");
	val = wims_sip_msg_hdr_by_name(&M, wims_str_c("UnknownHeaderWithUnusualValue"))->value;
	assert_str(val, ";;,,;;,;");
}

/* RFC 4475 §3.1.1.2 (intmeth): a wide range of valid characters. */
static void test_torture_intmeth(void **state)
{
	static const char msg[] = "!interesting-Method0123456789_*+`.%indeed'~ "
		  "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
		  "@example.com SIP/2.0\r\n"
		  "Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~\r\n"
		  "To: \"BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f\" "
		  "<sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com>\r\n"
		  "From: token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;"
		  "fromParam''~+*_!.-%=\"\xd1\x80\xd0\xb0\xd0\xb1\xd0\xbe\xd1\x82\xd0\xb0\xd1\x8e\xd1\x89\xd0\xb8\xd0\xb9\";"
		  "tag=_token~1'+`*%!-.\r\n"
		  "Call-ID: intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{\r\n"
		  "CSeq: 139122385 !interesting-Method0123456789_*+`.%indeed'~\r\n"
		  "Max-Forwards: 255\r\n"
		  "extensionHeader-!.%*+_`'~:\xef\xbb\xbf\xe5\xa4\xa7\xe5\x81\x9c\xe9\x9b\xbb\r\n"
		  "Content-Length: 0\r\n\r\n";
	const char *why = NULL;

	if (wims_sip_msg_parse(&M, msg, sizeof(msg) - 1, &why) != 0)
		fail_msg("intmeth: %s", why);
	assert_int_equal(M.method_id, WIMS_SIP_OTHER);
	assert_str(M.method, "!interesting-Method0123456789_*+`.%indeed'~");
	assert_str(wims_sip_msg_tag(&M, WIMS_HDR_FROM), "_token~1'+`*%!-.");
}

static void test_torture_valid_misc(void **state)
{
	struct wims_sip_uri u;
	struct wims_sip_addr a;

	/* §3.1.1.3 (esc01) escaped characters in the user part */
	expect_ok("INVITE sip:sips%3Auser%40example.com@example.net SIP/2.0\r\n" HDRS_OK
		  "CSeq: 1 INVITE\r\n\r\n");
	assert_int_equal(wims_sip_uri_parse(&u, M.ruri), 0);
	assert_str(u.user, "sips%3Auser%40example.com");
	assert_str(u.host, "example.net");
	/* §3.1.1.5 (esc02) escaped method name is another method */
	expect_ok("RE%47IST%45R sip:registrar.example.com SIP/2.0\r\n" HDRS_OK
		  "CSeq: 1 RE%47IST%45R\r\n\r\n");
	assert_int_equal(M.method_id, WIMS_SIP_OTHER);
	/* §3.1.1.6 (lwsdisp) no LWS between display name and < */
	expect_ok("OPTIONS sip:user@example.com SIP/2.0\r\n"
		  "Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw\r\n"
		  "To: sip:user@example.com\r\nFrom: caller<sip:caller@example.com>;tag=323\r\n"
		  "Call-ID: lwsdisp.1234abcd@funky.example.com\r\nCSeq: 60 OPTIONS\r\nl: 0\r\n\r\n");
	assert_int_equal(wims_sip_addr_parse(&a, wims_sip_msg_hdr(&M, WIMS_HDR_FROM)->value), 0);
	assert_str(a.display, "caller");
	assert_str(wims_sip_msg_tag(&M, WIMS_HDR_FROM), "323");
	/* §3.1.1.8 (dblreq) a second message after Content-Length is ignored */
	expect_ok("REGISTER sip:example.com SIP/2.0\r\n" HDRS_OK "CSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n"
		  "INVITE sip:joe@example.com SIP/2.0\r\n" HDRS_OK "CSeq: 2 INVITE\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(M.method_id, WIMS_SIP_REGISTER);
	assert_int_equal(M.body.l, 0);
	/* §3.1.1.9 (semiuri) ';' in the user part */
	expect_ok("OPTIONS sip:user;par=u%40example.net@example.com SIP/2.0\r\n" HDRS_OK
		  "CSeq: 1 OPTIONS\r\n\r\n");
	assert_int_equal(wims_sip_uri_parse(&u, M.ruri), 0);
	assert_str(u.user, "user;par=u%40example.net");
	assert_str(u.host, "example.com");
	assert_int_equal(u.params.l, 0);
	/* §3.1.1.10 (transports) unknown Via transports */
	expect_ok("OPTIONS sip:user@example.com SIP/2.0\r\n"
		  "Via: SIP/2.0/UDP t1.example.com;branch=z9hG4bKkdjuw\r\n"
		  "Via: SIP/2.0/SCTP t2.example.com;branch=z9hG4bKklasjdhf\r\n"
		  "Via: SIP/2.0/TLS t3.example.com;branch=z9hG4bK2980unddj\r\n"
		  "Via: SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en\r\n"
		  "Via: SIP/2.0/TCP t5.example.com;branch=z9hG4bK0a9idfnee\r\n"
		  "To: sip:user@example.com\r\nFrom: <sip:caller@example.com>;tag=323\r\n"
		  "Call-ID: transports.kijh4akdnaqjkwendsasfdj\r\nCSeq: 60 OPTIONS\r\n\r\n");
	assert_int_equal(wims_sip_msg_hdr_count(&M, WIMS_HDR_VIA), 5);
	/* §3.1.1.? (novelsc, unksm2) unknown schemes in Request-URI and To */
	expect_ok("OPTIONS soap.beep://192.0.2.103:3002 SIP/2.0\r\n"
		  "Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKsjdf\r\n"
		  "To: <nobodyknowsthisscheme:totallyopaque>\r\nFrom: <sip:c@example.com>;tag=3\r\n"
		  "Call-ID: novelsc.asdf\r\nCSeq: 1 OPTIONS\r\n\r\n");
	assert_int_equal(wims_sip_uri_parse(&u, M.ruri), 0);
	assert_str(u.scheme, "soap.beep");
	/* keep-alive CRLFs before the start line */
	expect_ok("\r\n\r\nOPTIONS sip:a@b SIP/2.0\r\n" HDRS_OK "CSeq: 1 OPTIONS\r\n\r\n");
	assert_str(M.method, "OPTIONS");
	/* body without Content-Length: everything (datagram) */
	expect_ok("MESSAGE sip:a@b SIP/2.0\r\n" HDRS_OK "CSeq: 1 MESSAGE\r\n\r\nhello\r\n");
	assert_str(M.body, "hello\r\n");
	/* Content-Length smaller than what follows: the rest is ignored */
	expect_ok("MESSAGE sip:a@b SIP/2.0\r\n" HDRS_OK "CSeq: 1 MESSAGE\r\nContent-Length: 3\r\n\r\nhello");
	assert_str(M.body, "hel");
	/* leading zeros in Content-Length */
	expect_ok("MESSAGE sip:a@b SIP/2.0\r\n" HDRS_OK "CSeq: 1 MESSAGE\r\nl: 00000000000000000000003\r\n\r\nhel");
	assert_str(M.body, "hel");
	/* ACK and CANCEL carry their own method in CSeq */
	expect_ok("ACK sip:a@b SIP/2.0\r\n" HDRS_OK "CSeq: 1 ACK\r\n\r\n");
	expect_ok("CANCEL sip:a@b SIP/2.0\r\n" HDRS_OK "CSeq: 1 CANCEL\r\n\r\n");
	expect_bad("ACK sip:a@b SIP/2.0\r\n" HDRS_OK "CSeq: 1 INVITE\r\n\r\n", "CSeq method mismatch");
	/* version is case-insensitive */
	expect_ok("OPTIONS sip:a@b sip/2.0\r\n" HDRS_OK "CSeq: 1 OPTIONS\r\n\r\n");
	/* zero Max-Forwards is fine for the parser (§3.1.1.? zeromf) */
	expect_ok("OPTIONS sip:a@b SIP/2.0\r\n" HDRS_OK "CSeq: 1 OPTIONS\r\nMax-Forwards: 0\r\n\r\n");
	/* 2543-style Via without branch */
	expect_ok("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.15\r\n"
		  "From: <sip:a@b>\r\nTo: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n");
}

static void test_torture_invalid(void **state)
{
	/* §3.1.2.2 (clerr) Content-Length larger than the message */
	expect_bad("INVITE sip:user@example.com SIP/2.0\r\n" HDRS_OK "CSeq: 1 INVITE\r\nContent-Length: 9999\r\n\r\n"
		   "v=0\r\n",
		   "Bad Content-Length");
	/* §3.1.2.3 (ncl) negative Content-Length */
	expect_bad("INVITE sip:user@example.com SIP/2.0\r\n" HDRS_OK "CSeq: 1 INVITE\r\nContent-Length: -999\r\n\r\n",
		   "Bad Content-Length");
	/* §3.1.2.4 (scalar02 / scalarlg) overlarge scalars */
	expect_bad("REGISTER sip:example.com SIP/2.0\r\n" HDRS_OK "CSeq: 36893488147419103232 REGISTER\r\n\r\n",
		   "Bad CSeq");
	expect_bad("REGISTER sip:example.com SIP/2.0\r\n" HDRS_OK
		   "CSeq: 1 REGISTER\r\nContent-Length: 18446744073709551617\r\n\r\n",
		   "Bad Content-Length");
	/* §3.1.2.5 (quotbal) unterminated quoted string in display name */
	expect_bad("INVITE sip:user@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
		   "To: \"Mr. J. User <sip:j.user@example.com>\r\nFrom: sip:caller@example.net;tag=93334\r\n"
		   "Call-ID: quotbal.aksdj\r\nCSeq: 1 INVITE\r\n\r\n",
		   "Bad To");
	/* §3.1.2.6 (ltgtruri) <> around the Request-URI */
	expect_bad("INVITE <sip:user@example.com> SIP/2.0\r\n" HDRS_OK "CSeq: 1 INVITE\r\n\r\n", "Bad Request-URI");
	/* §3.1.2.7 (lwsruri) LWS inside the Request-URI */
	expect_bad("INVITE sip:user@example.com; lr SIP/2.0\r\n" HDRS_OK "CSeq: 1 INVITE\r\n\r\n",
		   "Bad request line");
	/* §3.1.2.8 (lwsstart) several SPs between elements */
	expect_bad("INVITE  sip:user@example.com  SIP/2.0\r\n" HDRS_OK "CSeq: 1 INVITE\r\n\r\n", "Bad request line");
	/* §3.1.2.9 (trws) SP after the version */
	expect_bad("OPTIONS sip:remote-target@example.com SIP/2.0  \r\n" HDRS_OK "CSeq: 1 OPTIONS\r\n\r\n",
		   "Bad request line");
	/* §3.1.2.14 (baddn) non-token characters in an unquoted display name */
	expect_bad("OPTIONS sip:t@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
		   "To: sip:t@example.com\r\nFrom: Bell, Alexander <sip:a.g.bell@example.com>;tag=43\r\n"
		   "Call-ID: baddn.31415@c.example.com\r\nCSeq: 3 OPTIONS\r\n\r\n",
		   "Bad From");
	/* §3.1.2.15 (badvers) unknown protocol version */
	expect_bad("OPTIONS sip:t@example.com SIP/7.0\r\n" HDRS_OK "CSeq: 1 OPTIONS\r\n\r\n", "Bad SIP version");
	/* §3.1.2.16 (mismatch01) start line and CSeq method differ */
	expect_bad("OPTIONS sip:user@example.com SIP/2.0\r\n" HDRS_OK "CSeq: 8 INVITE\r\n\r\n",
		   "CSeq method mismatch");
	/* §3.1.2.17 (mismatch02) unknown method, CSeq differs */
	expect_bad("NEWMETHOD sip:user@example.com SIP/2.0\r\n" HDRS_OK "CSeq: 14 INVITE\r\n\r\n",
		   "CSeq method mismatch");
	/* §3.3.? (insuf) missing mandatory headers */
	expect_bad("INVITE sip:user@example.com SIP/2.0\r\nCSeq: 193942 INVITE\r\n"
		   "Via: SIP/2.0/UDP 192.0.2.95;branch=z9hG4bKkdj.insuf\r\nContent-Type: application/sdp\r\nl: 0\r\n\r\n",
		   "Missing From");
	/* §3.1.2.1 (badinv01) extraneous header field separators */
	expect_bad("INVITE sip:user@example.com SIP/2.0\r\nTo: sip:j.user@example.com\r\n"
		   "From: sip:caller@example.net;tag=134161461246\r\nMax-Forwards: 7\r\n"
		   "Call-ID: badinv01.0ha0isndaksdjasdf3234nas\r\nCSeq: 8 INVITE\r\n"
		   "Via: SIP/2.0/UDP 192.0.2.15;;,;,,\r\nContact: \"Joe\" <sip:joe@example.org>;;;;\r\n\r\n",
		   "Bad Via");
	expect_bad("INVITE sip:user@example.com SIP/2.0\r\nTo: sip:j.user@example.com\r\n"
		   "From: sip:caller@example.net;;tag=134161461246\r\nMax-Forwards: 7\r\n"
		   "Call-ID: badinv01.0ha0isndaksdjasdf3234nas\r\nCSeq: 8 INVITE\r\n"
		   "Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bK1\r\n\r\n",
		   "Bad From");
	expect_bad("INVITE sip:user@example.com SIP/2.0\r\nTo: <sip:j.user@example.com>;tag=1 x\r\n"
		   "From: sip:caller@example.net;tag=134161461246\r\n"
		   "Call-ID: badinv01.0ha0isndaksdjasdf3234nas\r\nCSeq: 8 INVITE\r\n"
		   "Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bK1\r\n\r\n",
		   "Bad To");
	/* §3.1.2.11 (escruri) escaped headers in the Request-URI */
	expect_bad("INVITE sip:user@example.com?Route=%3Csip:example.com%3E SIP/2.0\r\n" HDRS_OK
		   "CSeq: 1 INVITE\r\n\r\n",
		   "Bad Request-URI");
	/* a SIP Request-URI that does not parse */
	expect_bad("INVITE sip:user@ SIP/2.0\r\n" HDRS_OK "CSeq: 1 INVITE\r\n\r\n", "Bad Request-URI");
	expect_bad("INVITE sip:user@host:99999 SIP/2.0\r\n" HDRS_OK "CSeq: 1 INVITE\r\n\r\n", "Bad Request-URI");
	/* Request-URI without a scheme */
	expect_bad("OPTIONS user@example.com SIP/2.0\r\n" HDRS_OK "CSeq: 1 OPTIONS\r\n\r\n", "Bad Request-URI");
	/* URI with spaces inside <> */
	expect_bad("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
		   "To: <sip:a@b>\r\nFrom: <sip: a@b>;tag=1\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n",
		   "Bad From");
}

/* Every prefix of a message, in an exact-size heap buffer (ASan catches a
 * read past the end): only prefixes that hold all the headers may parse. */
static void test_truncated(void **state)
{
	size_t full = strlen(wsinv), hdr_end = (size_t)(strstr(wsinv, "\r\n\r\n") - wsinv) + 4;
	const char *why;

	for (size_t i = 0; i <= full; i++) {
		char *b = malloc(i ? i : 1);
		int r;

		assert_non_null(b);
		memcpy(b, wsinv, i);
		r = wims_sip_msg_parse(&M, b, i, &why);
		if (i < hdr_end + 150)
			assert_int_equal(r, -EBADMSG);
		else
			assert_int_equal(r, 0);
		free(b);
	}
}

static void test_compact_forms(void **state)
{
	static const struct {
		const char *name;
		enum wims_sip_hdr_id id;
	} t[] = {
		{"i", WIMS_HDR_CALL_ID}, {"m", WIMS_HDR_CONTACT}, {"l", WIMS_HDR_CONTENT_LENGTH},
		{"c", WIMS_HDR_CONTENT_TYPE}, {"f", WIMS_HDR_FROM}, {"k", WIMS_HDR_SUPPORTED},
		{"t", WIMS_HDR_TO}, {"v", WIMS_HDR_VIA}, {"o", WIMS_HDR_EVENT},
		{"u", WIMS_HDR_ALLOW_EVENTS}, {"r", WIMS_HDR_REFER_TO}, {"b", WIMS_HDR_REFERRED_BY},
		{"x", WIMS_HDR_SESSION_EXPIRES}, {"V", WIMS_HDR_VIA}, {"I", WIMS_HDR_CALL_ID},
		{"e", WIMS_HDR_OTHER}, {"s", WIMS_HDR_OTHER}, {"y", WIMS_HDR_OTHER}, {"a", WIMS_HDR_OTHER},
		{"j", WIMS_HDR_OTHER}, {"d", WIMS_HDR_OTHER}, {"z", WIMS_HDR_OTHER},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_int_equal(wims_sip_hdr_id_from_name(wims_str_c(t[i].name)), t[i].id);

	expect_ok("MESSAGE sip:a@b SIP/2.0\r\n"
		  "v: SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK1\r\n"
		  "f: <sip:a@b>;tag=1\r\nt: <sip:c@d>\r\ni: abc@def\r\n"
		  "CSeq: 1 MESSAGE\r\nc: text/plain\r\nl: 2\r\ns: Hi\r\ne: gzip\r\n"
		  "k: path, outbound\r\nk: gruu\r\no: presence\r\nu: talk\r\nr: <sip:e@f>\r\nb: <sip:g@h>\r\n"
		  "x: 1800;refresher=uac\r\ny: abc\r\na: *;audio\r\nj: *;video\r\nd: proxy\r\n\r\nok");
	assert_str(M.body, "ok");
	assert_int_equal(wims_sip_msg_hdr_count(&M, WIMS_HDR_SUPPORTED), 2);
	assert_str(wims_sip_msg_hdr(&M, WIMS_HDR_EVENT)->value, "presence");
	assert_str(wims_sip_msg_hdr(&M, WIMS_HDR_SESSION_EXPIRES)->value, "1800;refresher=uac");
	assert_str(wims_sip_msg_hdr_by_name(&M, wims_str_c("Subject"))->value, "Hi");
	assert_str(wims_sip_msg_hdr_by_name(&M, wims_str_c("content-encoding"))->value, "gzip");
	assert_str(wims_sip_msg_hdr_by_name(&M, wims_str_c("Accept-Contact"))->value, "*;audio");
	assert_str(wims_sip_msg_hdr_by_name(&M, wims_str_c("Reject-Contact"))->value, "*;video");
	assert_str(wims_sip_msg_hdr_by_name(&M, wims_str_c("Request-Disposition"))->value, "proxy");
	assert_str(wims_sip_msg_hdr_by_name(&M, wims_str_c("Identity"))->value, "abc");
	assert_str(wims_sip_msg_hdr_by_name(&M, wims_str_c("s"))->value, "Hi");
	assert_str(wims_sip_msg_hdr_by_name(&M, wims_str_c("Refer-To"))->value, "<sip:e@f>");
	assert_null(wims_sip_msg_hdr_by_name(&M, wims_str_c("X-None")));
}

static void test_hdr_names(void **state)
{
	char lower[64];

	for (int id = 1; id < WIMS_HDR__COUNT; id++) {
		const char *n = wims_sip_hdr_name((enum wims_sip_hdr_id)id);
		size_t l = strlen(n);

		assert_true(l > 0 && l < sizeof(lower));
		assert_int_equal(wims_sip_hdr_id_from_name(wims_str_c(n)), id);
		for (size_t i = 0; i <= l; i++)
			lower[i] = (char)((n[i] >= 'A' && n[i] <= 'Z') ? n[i] + 32 : n[i]);
		assert_int_equal(wims_sip_hdr_id_from_name(wims_str_c(lower)), id);
		/* a one-letter change is another header */
		lower[l - 1] = '#';
		assert_int_not_equal(wims_sip_hdr_id_from_name(wims_str_c(lower)), id);
	}
	assert_int_equal(wims_sip_hdr_id_from_name(wims_str_c("Security-Clienx")), WIMS_HDR_OTHER);
	assert_int_equal(wims_sip_hdr_id_from_name(wims_str_c("X-Foo")), WIMS_HDR_OTHER);
	assert_int_equal(wims_sip_hdr_id_from_name(WIMS_STR_NULL), WIMS_HDR_OTHER);
	assert_string_equal(wims_sip_hdr_name(WIMS_HDR__COUNT), "");

	for (int m = 1; m <= WIMS_SIP_PUBLISH; m++) {
		const char *n = wims_sip_method_name((enum wims_sip_method)m);
		assert_int_equal(wims_sip_method_from_str(wims_str_c(n)), m);
	}
	assert_int_equal(wims_sip_method_from_str(wims_str_c("invite")), WIMS_SIP_OTHER);
	assert_int_equal(wims_sip_method_from_str(wims_str_c("INVITX")), WIMS_SIP_OTHER);
	assert_int_equal(wims_sip_method_from_str(wims_str_c("FOO")), WIMS_SIP_OTHER);
}

static void test_lookup_and_vals(void **state)
{
	struct wims_sip_vals it;
	const struct wims_sip_hdr *h;
	const char *want[] = {"<sip:p1.example.com;lr>", "<sip:p2.example.com;lr;x=\"a,b\">",
			      "\"Q, R\" <sip:p3.example.com;lr>", "<sip:p4.example.com,x;lr>", "sip:p5"};
	size_t n = 0;

	expect_ok("INVITE sip:b@example.com SIP/2.0\r\n" HDRS_OK "CSeq: 1 INVITE\r\n"
		  "Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr;x=\"a,b\">\r\n"
		  "X-A: 1\r\n"
		  "route: \"Q, R\" <sip:p3.example.com;lr> ,,\r\n"
		  " <sip:p4.example.com,x;lr>\r\n"
		  "x-a: 2\r\n"
		  "ROUTE: sip:p5\r\n\r\n");
	wims_sip_vals_init(&it, &M, WIMS_HDR_ROUTE);
	while (wims_sip_vals_next(&it)) {
		assert_true(n < 5);
		assert_str(it.value, want[n]);
		assert_int_equal(it.hdr->id, WIMS_HDR_ROUTE);
		n++;
	}
	assert_int_equal(n, 5);
	assert_false(wims_sip_vals_next(&it));
	assert_int_equal(wims_sip_msg_hdr_count(&M, WIMS_HDR_ROUTE), 3);
	h = wims_sip_msg_hdr_by_name(&M, wims_str_c("X-a"));
	assert_str(h->value, "1");
	h = wims_sip_msg_hdr_next(&M, h);
	assert_str(h->value, "2");
	assert_null(wims_sip_msg_hdr_next(&M, h));
	assert_null(wims_sip_msg_hdr(&M, WIMS_HDR_OTHER));
	assert_null(wims_sip_msg_hdr(&M, WIMS_HDR__COUNT));
	assert_int_equal(wims_sip_msg_hdr_count(&M, WIMS_HDR_CONTACT), 0);
	wims_sip_vals_init(&it, &M, WIMS_HDR_CONTACT);
	assert_false(wims_sip_vals_next(&it));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic_invite),     cmocka_unit_test(test_response),
		cmocka_unit_test(test_why_phrases),      cmocka_unit_test(test_too_many_headers),
		cmocka_unit_test(test_duplicates),       cmocka_unit_test(test_torture_wsinv),
		cmocka_unit_test(test_torture_intmeth),  cmocka_unit_test(test_torture_valid_misc),
		cmocka_unit_test(test_torture_invalid),  cmocka_unit_test(test_compact_forms),
		cmocka_unit_test(test_hdr_names),        cmocka_unit_test(test_lookup_and_vals),
		cmocka_unit_test(test_value_limits),     cmocka_unit_test(test_long_values),
		cmocka_unit_test(test_truncated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
