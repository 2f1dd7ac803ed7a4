/* Lazy SIP value parsers: lists, parameters, URIs, name-addr / addr-spec,
 * Via, CSeq, numbers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>

#include "sip/msg.h"

static bool str_is(struct wims_str s, const char *c)
{
	return s.l == strlen(c) && memcmp(s.p, c, s.l) == 0;
}

#define assert_str(s, c)                                                                                   \
	do {                                                                                               \
		if (!str_is((s), (c)))                                                                     \
			fail_msg("want \"%s\", got \"%.*s\"", (c), (int)(s).l, (s).p ? (s).p : "");       \
	} while (0)

#define S(c) wims_str_c(c)

static void test_list(void **state)
{
	struct wims_str list = S(" a , \"x,\\\"y\" <sip:q,r> ;p=\"1,2\",,  <sip:b,c>;lr , \r\n d");
	struct wims_str v;
	size_t pos = 0;

	assert_true(wims_sip_list_next(list, &pos, &v));
	assert_str(v, "a");
	assert_true(wims_sip_list_next(list, &pos, &v));
	assert_str(v, "\"x,\\\"y\" <sip:q,r> ;p=\"1,2\"");
	assert_true(wims_sip_list_next(list, &pos, &v));
	assert_str(v, "<sip:b,c>;lr");
	assert_true(wims_sip_list_next(list, &pos, &v));
	assert_str(v, "d");
	assert_false(wims_sip_list_next(list, &pos, &v));
	assert_false(wims_sip_list_next(list, &pos, &v));
	pos = 0;
	assert_false(wims_sip_list_next(S(" , ,"), &pos, &v));
	pos = 0;
	assert_false(wims_sip_list_next(WIMS_STR_NULL, &pos, &v));
	/* unterminated quote / angle: the rest is one value, no overrun */
	pos = 0;
	assert_true(wims_sip_list_next(S("\"abc, d"), &pos, &v));
	assert_str(v, "\"abc, d");
	pos = 0;
	assert_true(wims_sip_list_next(S("<sip:a, b"), &pos, &v));
	assert_str(v, "<sip:a, b");
	pos = 0;
	assert_true(wims_sip_list_next(S("\"ab\\"), &pos, &v));
	assert_str(v, "\"ab\\");
}

static void test_params(void **state)
{
	struct wims_str p = S(";lr ; transport = tcp;x=\"a;b\\\"c\";flag;e=;+sip.instance=\"<urn:uuid:1>\"");
	struct wims_str n, v;
	size_t pos = 0;

	assert_true(wims_sip_param_next(p, &pos, &n, &v));
	assert_str(n, "lr");
	assert_int_equal(v.l, 0);
	assert_non_null(v.p);
	assert_true(wims_sip_param_next(p, &pos, &n, &v));
	assert_str(n, "transport");
	assert_str(v, "tcp");
	assert_true(wims_sip_param_next(p, &pos, &n, &v));
	assert_str(v, "\"a;b\\\"c\"");
	assert_true(wims_sip_param_next(p, &pos, &n, &v));
	assert_str(n, "flag");
	assert_true(wims_sip_param_next(p, &pos, &n, &v));
	assert_str(n, "e");
	assert_int_equal(v.l, 0);
	assert_true(wims_sip_param_next(p, &pos, &n, &v));
	assert_str(wims_sip_unquote(v), "<urn:uuid:1>");
	assert_false(wims_sip_param_next(p, &pos, &n, &v));

	assert_true(wims_sip_param_get(p, "TRANSPORT", &v));
	assert_str(v, "tcp");
	assert_true(wims_sip_param_get(p, "lr", NULL));
	assert_false(wims_sip_param_get(p, "l", &v));
	assert_false(wims_sip_param_get(WIMS_STR_NULL, "lr", &v));
	/* stops at a comma */
	pos = 0;
	assert_true(wims_sip_param_next(S(";a=1, b=2"), &pos, &n, &v));
	assert_false(wims_sip_param_next(S(";a=1, b=2"), &pos, &n, &v));
	/* unterminated quoted value */
	pos = 0;
	assert_false(wims_sip_param_next(S(";a=\"x"), &pos, &n, &v));
	assert_str(wims_sip_unquote(S("\"")), "\"");
	/* strictness: empty parameters and junk stop the scan short of the end */
	assert_true(wims_sip_params_valid(S(";a=1 ; b ;c=\"x y\"")));
	assert_true(wims_sip_params_valid(S("lr;x=1")));
	assert_true(wims_sip_params_valid(S("")));
	assert_true(wims_sip_params_valid(WIMS_STR_NULL));
	assert_false(wims_sip_params_valid(S(";;a")));
	assert_false(wims_sip_params_valid(S(";a;")));
	assert_false(wims_sip_params_valid(S(";a=1 b")));
	assert_false(wims_sip_params_valid(S(";a=1,b")));
	assert_false(wims_sip_params_valid(S(";a=\"x")));
	assert_false(wims_sip_params_valid(S(";=1")));
	assert_str(wims_sip_unquote(S("abc")), "abc");
}

static void test_uri(void **state)
{
	struct wims_sip_uri u;

	assert_int_equal(wims_sip_uri_parse(&u, S("sip:alice:secret@example.com:5061;transport=tcp;lr?Subject=hi&X=y")), 0);
	assert_str(u.scheme, "sip");
	assert_str(u.user, "alice");
	assert_str(u.password, "secret");
	assert_str(u.host, "example.com");
	assert_int_equal(u.port, 5061);
	assert_str(u.hostport, "example.com:5061");
	assert_str(u.params, ";transport=tcp;lr");
	assert_str(u.headers, "Subject=hi&X=y");

	assert_int_equal(wims_sip_uri_parse(&u, S("SIPS:[2001:db8::10]:5070")), 0);
	assert_str(u.scheme, "SIPS");
	assert_int_equal(u.user.l, 0);
	assert_null(u.user.p);
	assert_str(u.host, "[2001:db8::10]");
	assert_int_equal(u.port, 5070);

	assert_int_equal(wims_sip_uri_parse(&u, S("sip:[2001:db8::10:5070]")), 0);
	assert_str(u.host, "[2001:db8::10:5070]");
	assert_int_equal(u.port, 0);

	assert_int_equal(wims_sip_uri_parse(&u, S("sip:+12125551212;phone-context=x.com@gw.example.com;user=phone")), 0);
	assert_str(u.user, "+12125551212;phone-context=x.com");
	assert_str(u.host, "gw.example.com");
	assert_str(u.params, ";user=phone");

	assert_int_equal(wims_sip_uri_parse(&u, S("sip:df7jal23ls0d.invalid;transport=ws")), 0);
	assert_str(u.host, "df7jal23ls0d.invalid");
	assert_str(u.params, ";transport=ws");

	assert_int_equal(wims_sip_uri_parse(&u, S("sip:192.0.2.1;maddr=[::1];ob")), 0);
	assert_true(wims_sip_param_get(u.params, "maddr", NULL));
	assert_true(wims_sip_param_get(u.params, "ob", NULL));

	assert_int_equal(wims_sip_uri_parse(&u, S("tel:+1-201-555-0123")), 0);
	assert_str(u.scheme, "tel");
	assert_str(u.raw, "tel:+1-201-555-0123");
	assert_int_equal(u.host.l, 0);
	assert_int_equal(wims_sip_uri_parse(&u, S("urn:service:sos")), 0);

	static const char *const bad[] = {
		"",           "sip:",          "sip:@host",          "sip:user@",          "sip:host:",
		"sip:host:0", "sip:host:65536", "sip:host:123456",   "sip:[::1",           "sip:[]",
		"sip:[zz::1]", "sip:[1.2.3.4]", "sip:ho st",          "sip:host>",          "1sip:host",
		"sip:host;a=<b>", "sip:host?a=\"b\"", "nocolon",    "tel:",               "tel:a b",
		"sip:host:12ab", "sip::pw@host",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (wims_sip_uri_parse(&u, S(bad[i])) != -EBADMSG)
			fail_msg("accepted \"%s\"", bad[i]);
	assert_int_equal(wims_sip_uri_parse(&u, WIMS_STR_NULL), -EBADMSG);
	assert_int_equal(wims_sip_uri_parse(&u, S("sip:host:65535")), 0);
	assert_int_equal(u.port, 65535);
}

static void test_addr(void **state)
{
	struct wims_sip_addr a;
	struct wims_str v;

	assert_int_equal(wims_sip_addr_parse(&a, S("\"Alice \\\"A\\\" <x>\" <sip:alice@example.com;transport=ws>;tag=abc")), 0);
	assert_str(a.display, "\"Alice \\\"A\\\" <x>\"");
	assert_str(a.uri, "sip:alice@example.com;transport=ws");
	assert_str(a.params, ";tag=abc");
	assert_true(a.angle);
	assert_false(a.star);

	assert_int_equal(wims_sip_addr_parse(&a, S("  Bob Smith   <sip:bob@b.example> ")), 0);
	assert_str(a.display, "Bob Smith");
	assert_str(a.uri, "sip:bob@b.example");
	assert_int_equal(a.params.l, 0);

	/* RFC 3261 §20.10: the params of an addr-spec belong to the header */
	assert_int_equal(wims_sip_addr_parse(&a, S("sip:carol@c.example;tag=7;expires=60")), 0);
	assert_false(a.angle);
	assert_str(a.uri, "sip:carol@c.example");
	assert_str(a.params, ";tag=7;expires=60");
	assert_true(wims_sip_param_get(a.params, "expires", &v));
	assert_str(v, "60");
	assert_int_equal(wims_sip_addr_parse(&a, S("sip:carol@c.example ; tag=7")), 0);
	assert_str(a.uri, "sip:carol@c.example");
	assert_str(a.params, "; tag=7");

	assert_int_equal(wims_sip_addr_parse(&a, S("*")), 0);
	assert_true(a.star);
	assert_int_equal(wims_sip_addr_parse(&a, S("<urn:service:sos>")), 0);
	assert_str(a.uri, "urn:service:sos");
	assert_int_equal(a.display.l, 0);

	/* JsSIP contact with +sip.instance and reg-id */
	assert_int_equal(wims_sip_addr_parse(&a, S("<sip:r4q0ic6f@df7jal23ls0d.invalid;transport=ws>;"
						   "+sip.ice;reg-id=1;+sip.instance=\"<urn:uuid:7c6b-4a1c>\";expires=600")),
			 0);
	assert_true(wims_sip_param_get(a.params, "+sip.instance", &v));
	assert_str(wims_sip_unquote(v), "<urn:uuid:7c6b-4a1c>");
	assert_true(wims_sip_param_get(a.params, "reg-id", &v));
	assert_str(v, "1");

	static const char *const bad[] = {
		"",     "\"unterminated <sip:a@b>", "\"A\" sip:a@b", "<sip:a@b", "<>", "<sip:a@b> junk",
		"a, b <sip:x@y>", "sip:a@b junk", "<sip: a@b>", "<a@b>", "noscheme", "\"A\"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (wims_sip_addr_parse(&a, S(bad[i])) != -EBADMSG)
			fail_msg("accepted \"%s\"", bad[i]);
}

static void test_via(void **state)
{
	struct wims_sip_via v;

	assert_int_equal(wims_sip_via_parse(&v, S("SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK1;rport")), 0);
	assert_str(v.transport, "WSS");
	assert_str(v.host, "df7jal23ls0d.invalid");
	assert_int_equal(v.port, 0);
	assert_str(v.sent_by, "df7jal23ls0d.invalid");
	assert_str(v.branch, "z9hG4bK1");
	assert_true(v.rport);
	assert_int_equal(v.rport_value.l, 0);
	assert_int_equal(v.received.l, 0);

	assert_int_equal(wims_sip_via_parse(&v, S("SIP/2.0/UDP [2001:db8::1]:5062;received=192.0.2.9;rport=4711;"
						  "branch=z9hG4bKx")),
			 0);
	assert_str(v.host, "[2001:db8::1]");
	assert_int_equal(v.port, 5062);
	assert_str(v.sent_by, "[2001:db8::1]:5062");
	assert_str(v.received, "192.0.2.9");
	assert_str(v.rport_value, "4711");
	assert_str(v.params, ";received=192.0.2.9;rport=4711;branch=z9hG4bKx");

	assert_int_equal(wims_sip_via_parse(&v, S("sip / 2.0 / tcp  host.example : 5060 ; BRANCH = z9hG4bKy")), 0);
	assert_str(v.transport, "tcp");
	assert_int_equal(v.port, 5060);
	assert_str(v.branch, "z9hG4bKy");

	assert_int_equal(wims_sip_via_parse(&v, S("SIP/2.0/UDP 10.0.0.1")), 0);
	assert_int_equal(v.branch.l, 0);
	assert_int_equal(v.params.l, 0);

	static const char *const bad[] = {
		"",  "SIP/2.0/UDP", "SIP/2.0/UDP ", "SIP/1.0/UDP h", "SIP/2.0 UDP h", "SIP/2.0/UDP h:0",
		"SIP/2.0/UDP h:99999", "SIP/2.0/UDP h junk", "SIP/2.0/UDP h;branch=1, SIP/2.0/UDP i",
		"SIP/2.0/UDPh", "SIP/2.0/ h", "XIP/2.0/UDP h",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (wims_sip_via_parse(&v, S(bad[i])) != -EBADMSG)
			fail_msg("accepted \"%s\"", bad[i]);
}

static void test_cseq_uint(void **state)
{
	struct wims_sip_cseq c;
	uint32_t u;

	assert_int_equal(wims_sip_cseq_parse(&c, S("  42 REGISTER ")), 0);
	assert_int_equal(c.num, 42);
	assert_str(c.method, "REGISTER");
	assert_int_equal(c.method_id, WIMS_SIP_REGISTER);
	assert_int_equal(wims_sip_cseq_parse(&c, S("0009\r\n  INVITE")), 0);
	assert_int_equal(c.num, 9);
	assert_int_equal(wims_sip_cseq_parse(&c, S("1 FOO")), 0);
	assert_int_equal(c.method_id, WIMS_SIP_OTHER);
	assert_int_equal(wims_sip_cseq_parse(&c, S("1INVITE")), -EBADMSG);
	assert_int_equal(wims_sip_cseq_parse(&c, S("")), -EBADMSG);
	assert_int_equal(wims_sip_cseq_parse(&c, S("1 ")), -EBADMSG);
	assert_int_equal(wims_sip_cseq_parse(&c, S("4294967296 INVITE")), -EBADMSG);
	assert_int_equal(wims_sip_cseq_parse(&c, S("00000000001 INVITE")), -EBADMSG);

	assert_int_equal(wims_sip_uint_parse(S(" 70 "), 255, &u), 0);
	assert_int_equal(u, 70);
	assert_int_equal(wims_sip_uint_parse(S("256"), 255, &u), -EBADMSG);
	assert_int_equal(wims_sip_uint_parse(S("4294967295"), UINT32_MAX, &u), 0);
	assert_int_equal(u, UINT32_MAX);
	assert_int_equal(wims_sip_uint_parse(S("4294967296"), UINT32_MAX, &u), -EBADMSG);
	assert_int_equal(wims_sip_uint_parse(S("0"), 0, &u), 0);
	assert_int_equal(wims_sip_uint_parse(S("1"), 0, &u), -EBADMSG);
	assert_int_equal(wims_sip_uint_parse(S("+1"), 10, &u), -EBADMSG);
	assert_int_equal(wims_sip_uint_parse(S("1 2"), 100, &u), -EBADMSG);
	assert_int_equal(wims_sip_uint_parse(S(""), 100, &u), -EBADMSG);
	assert_int_equal(wims_sip_uint_parse(WIMS_STR_NULL, 100, &u), -EBADMSG);
	assert_int_equal(wims_sip_uint_parse(S("99999999999999999999999999"), UINT32_MAX, &u), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list), cmocka_unit_test(test_params), cmocka_unit_test(test_uri),
		cmocka_unit_test(test_addr), cmocka_unit_test(test_via),    cmocka_unit_test(test_cseq_uint),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
