/* A next hop given as a domain name (dns.c) in the IWU role, with no DNS
 * server answering ([dns] servers = a closed port): requests wait for the
 * lookup, then go to the static fallback; a transaction to a fallback entry
 * that times out or answers 503 goes on to the next entry (RFC 3263 §4.3);
 * without a fallback, 503.  The resolution itself: tests/unit/sip/test_resolve. */
#include "harness.h"

static char *br_register(char *buf, size_t cap, unsigned cseq, const char *branch)
{
	return fmt(buf, cap,
		   "REGISTER sip:ims.test SIP/2.0\r\n"
		   "Via: SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK%s\r\n"
		   "Max-Forwards: 70\r\n"
		   "To: <sip:user0@ims.test>\r\n"
		   "From: <sip:user0@ims.test>;tag=reg0\r\n"
		   "Call-ID: reg-call-0@test\r\n"
		   "CSeq: %u REGISTER\r\n"
		   "Contact: <sip:u0@x0.invalid;transport=ws>;expires=600\r\n"
		   "Content-Length: 0\r\n"
		   "\r\n",
		   branch, cseq);
}

static uint16_t closed_udp_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	uint16_t port = 0;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &l) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* RFC 3263 §4.3: the request sent to the next target is the one sent to
 * the first but for the branch of wimsd's Via (a new transaction). */
static void assert_same_but_branch(const char *again, const char *first)
{
	char b1[256], b2[256], want[4096];
	const char *p;

	snprintf(b1, sizeof(b1), "%s", H(first, "Via", 0));
	snprintf(b2, sizeof(b2), "%s", H(again, "Via", 0));
	assert_string_not_equal(b1, b2);
	p = strstr(b1, "branch=");
	assert_non_null(p);
	p += 7;
	size_t bl = strcspn(p, ";");
	/* the old branch with "-r1": the prefix loop detection reads stays */
	assert_int_equal(strncmp(strstr(b2, "branch=") + 7, p, bl), 0);
	assert_int_equal(strncmp(strstr(b2, "branch=") + 7 + bl, "-r1", 3), 0);
	/* everything else is the same: put the old branch back and compare */
	snprintf(want, sizeof(want), "%s", again);
	char nb[128], ob[128];
	snprintf(ob, sizeof(ob), "branch=%.*s", (int)bl, p);
	snprintf(nb, sizeof(nb), "branch=%.*s-r1", (int)bl, p);
	replace_once(want, sizeof(want), nb, ob);
	assert_string_equal(want, first);
}

/* The harness with [iwu] pcscf = sip:pcscf.lab and fallback (%u: the
 * core's port; NULL: none). */
static struct h *dns_up(const char *fallback_fmt, unsigned t1_ms)
{
	struct h *h = h_new();
	char v[200], t1[16];

	conf_set(h, "iwu", "pcscf", "sip:pcscf.lab");
	if (fallback_fmt)
		conf_set(h, "iwu", "pcscf_fallback", fmt(v, sizeof(v), fallback_fmt, h->cport, h->cport));
	conf_set(h, "dns", "servers", fmt(v, sizeof(v), "127.0.0.1:%u", closed_udp_port()));
	conf_set(h, "dns", "timeout_ms", "100");
	conf_set(h, "dns", "tries", "1");
	conf_set(h, "sip", "t1_ms", fmt(t1, sizeof(t1), "%u", t1_ms));
	h_start(h);
	return h;
}

static void test_fallback(void **state)
{
	struct h *h = dns_up("127.0.0.1:%u", 10);
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char req[2048], resp[2048];

	br_send(b, br_register(req, sizeof(req), 1, "f1"));
	assert_int_equal(h->core.n, 0); /* waits for DNS */
	br_send(b, req);                 /* a retransmission meanwhile: kept once */
	assert_true(wait_q(h, &h->core, 1, 2000));
	assert_string_equal(SL(h->core.m[0]), "REGISTER sip:ims.test SIP/2.0");
	core_send(h, reply_to(resp, sizeof(resp), h->core.m[0], 200, "t1", NULL));
	assert_true(wait_q(h, &b->q, 1, 1000));
	assert_int_equal(STATUS(b->q.m[0]), 200);
	/* the next request goes at once */
	br_send(b, br_register(req, sizeof(req), 2, "f2"));
	assert_true(wait_q(h, &h->core, 2, 1000));
	settle(h, 50);
	assert_int_equal(h->core.n, 2);
	h_free(h);
}

/* First entry a closed port: the REGISTER times out there (64*T1) and goes
 * on to the core; later requests skip the dead entry. */
static void test_failover_timeout(void **state)
{
	uint16_t dead = closed_udp_port();
	char f[64];
	struct h *h;

	snprintf(f, sizeof(f), "127.0.0.1:%u, 127.0.0.1:%%u", dead);
	h = dns_up(f, 10);
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char req[2048], resp[2048];

	br_send(b, br_register(req, sizeof(req), 1, "t1"));
	assert_true(wait_q(h, &h->core, 1, 3000));
	core_send(h, reply_to(resp, sizeof(resp), h->core.m[0], 200, "t1", NULL));
	assert_true(wait_q(h, &b->q, 1, 1000));
	assert_int_equal(STATUS(b->q.m[0]), 200);
	uint64_t t0 = now_ms();
	br_send(b, br_register(req, sizeof(req), 2, "t2"));
	assert_true(wait_q(h, &h->core, 2, 1000));
	assert_true(now_ms() - t0 < 300); /* straight to the live entry */
	h_free(h);
}

/* A 503 from the first entry: the request goes to the next one (here the
 * same core socket twice) and the browser sees the 200, not the 503. */
static void test_failover_503(void **state)
{
	struct h *h = dns_up("127.0.0.1:%u, 127.0.0.1:%u", 500);
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char req[2048], resp[2048];

	h->keep_dups = true; /* the second copy is the failover, not a retransmission (T1 500 ms) */
	br_send(b, br_register(req, sizeof(req), 1, "s1"));
	assert_true(wait_q(h, &h->core, 1, 2000));
	core_send(h, reply_to(resp, sizeof(resp), h->core.m[0], 503, "t1", NULL));
	assert_true(wait_q(h, &h->core, 2, 1000));
	assert_same_but_branch(h->core.m[1], h->core.m[0]);
	core_send(h, reply_to(resp, sizeof(resp), h->core.m[1], 200, "t2", NULL));
	assert_true(wait_q(h, &b->q, 1, 1000));
	assert_int_equal(STATUS(b->q.m[0]), 200);
	settle(h, 50);
	assert_int_equal(b->q.n, 1);
	h_free(h);
}

/* An INVITE's 503: ACKed to that target, then the INVITE goes to the next. */
static void test_failover_503_invite(void **state)
{
	struct h *h = dns_up("127.0.0.1:%u, 127.0.0.1:%u", 500);
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char req[2048], resp[2048];

	h->keep_dups = true;
	br_send(b, fmt(req, sizeof(req),
		       "INVITE sip:bob@ims.test SIP/2.0\r\n"
		       "Via: SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bKi1\r\n"
		       "Max-Forwards: 70\r\n"
		       "To: <sip:bob@ims.test>\r\n"
		       "From: <sip:user0@ims.test>;tag=a1\r\n"
		       "Call-ID: inv-0@test\r\n"
		       "CSeq: 1 INVITE\r\n"
		       "Contact: <sip:u0@x0.invalid;transport=ws>\r\n"
		       "Content-Length: 0\r\n"
		       "\r\n"));
	assert_true(wait_q(h, &h->core, 1, 2000));
	assert_string_equal(SL(h->core.m[0]), "INVITE sip:bob@ims.test SIP/2.0");
	core_send(h, reply_to(resp, sizeof(resp), h->core.m[0], 503, "t1", NULL));
	assert_true(wait_q(h, &h->core, 3, 1000));
	assert_string_equal(SL(h->core.m[1]), "ACK sip:bob@ims.test SIP/2.0");
	assert_string_equal(H(h->core.m[1], "Via", 0), H(h->core.m[0], "Via", 0)); /* the ACK: the 503's transaction */
	assert_same_but_branch(h->core.m[2], h->core.m[0]);
	core_send(h, reply_to(resp, sizeof(resp), h->core.m[2], 486, "t2", NULL));
	assert_true(wait_q(h, &h->core, 4, 1000)); /* the ACK for the 486 */
	for (unsigned i = 0; i < 50 && (b->q.n == 0 || STATUS(b->q.m[b->q.n - 1]) < 200); i++)
		settle(h, 20);
	assert_int_equal(STATUS(b->q.m[b->q.n - 1]), 486); /* after the 100 */
	for (size_t i = 0; i < b->q.n; i++)
		assert_int_not_equal(STATUS(b->q.m[i]), 503);
	h_free(h);
}

/* No fallback: 503 with a reason, and nothing reaches the core. */
static void test_no_fallback(void **state)
{
	struct h *h = dns_up(NULL, 10);
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char req[2048];

	br_send(b, br_register(req, sizeof(req), 1, "n1"));
	assert_true(wait_q(h, &b->q, 1, 2000));
	assert_string_equal(SL(b->q.m[0]), "SIP/2.0 503 Next Hop Not Resolved");
	br_send(b, br_register(req, sizeof(req), 2, "n2")); /* at once while the failure is fresh */
	assert_true(wait_q(h, &b->q, 2, 200));
	assert_int_equal(STATUS(b->q.m[1]), 503);
	assert_int_equal(h->core.n, 0);
	h_free(h);
}

/* A bad fallback entry or DNS server stops wims_proxy_alloc. */
static void test_bad_conf(void **state)
{
	struct h *h = h_new();
	char err[256] = "";

	conf_set(h, "iwu", "pcscf", "sip:pcscf.lab");
	conf_set(h, "iwu", "pcscf_fallback", "127.0.0.1:5060/sctp");
	assert_int_equal(wims_proxy_alloc(&h->px, &h->loop, h->tp, &h->conf, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "fallback"));
	conf_set(h, "iwu", "pcscf_fallback", "");
	conf_set(h, "dns", "servers", "dns.example");
	assert_int_equal(wims_proxy_alloc(&h->px, &h->loop, h->tp, &h->conf, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "[dns] servers"));
	assert_null(h->px);
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fallback),
		cmocka_unit_test(test_failover_timeout),
		cmocka_unit_test(test_failover_503),
		cmocka_unit_test(test_failover_503_invite),
		cmocka_unit_test(test_no_fallback),
		cmocka_unit_test(test_bad_conf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
