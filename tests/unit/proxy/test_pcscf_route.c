/* Where the P-CSCF sends a browser's requests (TS 24.229 §5.2.6.3.3,
 * RFC 3261 §16.6), the trust domain's headers on the way (§4.4), and the
 * IMS-AKA keys of a challenge (§5.2.2.1).
 * REGISTER goes to [pcscf] scscf (the I-CSCF); an originating
 * request to the first entry of the Service-Route (the S-CSCF that
 * registered the UE); a request in a dialog to the top of its route set.
 * Here the S-CSCF of the Service-Route is a second socket, not the
 * configured next hop: before, everything went to [pcscf] scscf. */
#include <poll.h>

#include "harness.h"

#define SDP "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n"

/* A UDP socket on 127.0.0.1: the S-CSCF named by the Service-Route. */
static int scscf_open(uint16_t *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* The next message the S-CSCF socket gets (NUL-terminated in buf), or NULL after ms. */
static const char *scscf_recv(struct h *h, int fd, char *buf, size_t cap, unsigned ms)
{
	uint64_t end = now_ms() + ms;

	while (now_ms() < end) {
		ssize_t n = recv(fd, buf, cap - 1, 0);
		if (n > 0) {
			buf[n] = 0;
			if (strncmp(buf, "SIP/2.0 100", 11) == 0)
				continue;
			return buf;
		}
		spin_once(h);
	}
	return NULL;
}

static void scscf_send(struct h *h, int fd, const char *msg)
{
	assert_int_equal(sendto(fd, msg, strlen(msg), 0, &h->us.u.sa, wims_addr_len(&h->us)), (ssize_t)strlen(msg));
}

static struct h *pc_up(void)
{
	struct h *h = h_new();
	char v[80];

	conf_set(h, "general", "role", "pcscf");
	conf_set(h, "pcscf", "scscf", fmt(v, sizeof(v), "sip:127.0.0.1:%u", h->cport));
	conf_set(h, "pcscf", "reg_subscribe", "no");
	conf_set(h, "media", "anchor", "no");
	h_start(h);
	return h;
}

/* Browser b registers (Service-Route: the S-CSCF at sport) and calls bob; the
 * S-CSCF answers 200 with its Record-Route.  The INVITE it got goes to inv. */
static void call_up(struct h *h, struct browser *b, int sfd, uint16_t sport, char *inv, size_t cap)
{
	char req[4096], resp[4096], extra[1024], got[8192], sr[128];
	const char *m;
	size_t nb;

	/* REGISTER: to the configured I-CSCF */
	br_send(b, "REGISTER sip:ims.test SIP/2.0\r\nVia: SIP/2.0/WSS b0.invalid;branch=z9hG4bKr1\r\n"
		   "Max-Forwards: 70\r\nTo: <sip:alice@ims.test>\r\nFrom: <sip:alice@ims.test>;tag=r1\r\n"
		   "Call-ID: reg1@test\r\nCSeq: 1 REGISTER\r\nContact: <sip:a@x.invalid;transport=ws>;expires=600\r\n"
		   "Content-Length: 0\r\n\r\n");
	assert_true(wait_q(h, &h->core, 1, 1000));
	fmt(sr, sizeof(sr), "<sip:orig@127.0.0.1:%u;lr>", sport);
	fmt(extra, sizeof(extra), "Contact: %s\r\nService-Route: %s\r\nP-Associated-URI: <sip:alice@ims.test>\r\n",
	    V(h->core.m[0], WIMS_HDR_CONTACT, 0), sr);
	nb = b->q.n;
	core_send(h, reply_to(resp, sizeof(resp), h->core.m[0], 200, "reg", extra));
	assert_true(wait_q(h, &b->q, nb + 1, 1000));
	assert_int_equal(STATUS(last(&b->q)), 200);
	/* INVITE: to the S-CSCF of the Service-Route, not to [pcscf] scscf */
	q_clear(&h->core);
	br_send(b, fmt(req, sizeof(req),
		       "INVITE sip:bob@ims.test SIP/2.0\r\nVia: SIP/2.0/WSS b0.invalid;branch=z9hG4bKi1\r\n"
		       "Max-Forwards: 70\r\nTo: <sip:bob@ims.test>\r\nFrom: <sip:alice@ims.test>;tag=a1\r\n"
		       "Call-ID: c1@test\r\nCSeq: 1 INVITE\r\nContact: <sip:a@x.invalid;transport=ws>\r\n"
		       "P-Served-User: <sip:boss@ims.test>;sescase=term;regstate=reg\r\n"
		       "P-Asserted-Service: urn:urn-7:3gpp-service.ims.icsi.mmtel\r\n"
		       "P-Profile-Key: <sip:!.*!@ims.test>\r\nP-Called-Party-ID: <sip:boss@ims.test>\r\n"
		       "Content-Type: application/sdp\r\nContent-Length: %zu\r\n\r\n%s",
		       strlen(SDP), SDP));
	m = scscf_recv(h, sfd, got, sizeof(got), 1000);
	assert_non_null(m);
	assert_int_equal(strncmp(m, "INVITE ", 7), 0);
	assert_string_equal(V(m, WIMS_HDR_ROUTE, 0), sr);
	assert_int_equal(h->core.n, 0);
	/* TS 24.229 §4.4: what only the trust domain asserts does not come from a UE */
	assert_string_equal(H(m, "P-Served-User", 0), ABSENT);
	assert_string_equal(H(m, "P-Asserted-Service", 0), ABSENT);
	assert_string_equal(H(m, "P-Profile-Key", 0), ABSENT);
	assert_string_equal(H(m, "P-Called-Party-ID", 0), ABSENT);
	snprintf(inv, cap, "%s", m);
	/* the S-CSCF records its route */
	fmt(extra, sizeof(extra), "Record-Route: <sip:127.0.0.1:%u;lr>\r\nRecord-Route: %s\r\nRecord-Route: %s\r\n"
				  "Contact: <sip:bob@192.0.2.7:5062>\r\nP-Profile-Key: <sip:!.*!@ims.test>\r\n"
				  "P-Served-User: <sip:alice@ims.test>;sescase=orig\r\n",
	    sport, V(inv, WIMS_HDR_RECORD_ROUTE, 0), V(inv, WIMS_HDR_RECORD_ROUTE, 1));
	nb = b->q.n;
	scscf_send(h, sfd, reply_to(resp, sizeof(resp), inv, 200, "b1", extra));
	assert_true(wait_q(h, &b->q, nb + 1, 1000));
	assert_int_equal(STATUS(last(&b->q)), 200);
	assert_string_equal(H(last(&b->q), "P-Profile-Key", 0), ABSENT); /* nor goes to one */
	assert_string_equal(H(last(&b->q), "P-Served-User", 0), ABSENT);
}

static void test_service_route_hop(void **state)
{
	struct h *h = pc_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char req[4096], got[8192], inv[8192];
	const char *m;
	uint16_t sport;
	int sfd = scscf_open(&sport);

	(void)state;
	call_up(h, b, sfd, sport, inv, sizeof(inv));
	/* the browser's BYE goes to the top of the route set: the S-CSCF */
	br_send(b, fmt(req, sizeof(req),
		       "BYE sip:bob@192.0.2.7:5062 SIP/2.0\r\nVia: SIP/2.0/WSS b0.invalid;branch=z9hG4bKb1\r\n"
		       "Max-Forwards: 70\r\nRoute: %s, %s, <sip:127.0.0.1:%u;lr>\r\n"
		       "To: <sip:bob@ims.test>;tag=b1\r\nFrom: <sip:alice@ims.test>;tag=a1\r\n"
		       "Call-ID: c1@test\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n",
		       V(inv, WIMS_HDR_RECORD_ROUTE, 1), V(inv, WIMS_HDR_RECORD_ROUTE, 0), sport));
	do
		m = scscf_recv(h, sfd, got, sizeof(got), 1000);
	while (m && strncmp(m, "BYE ", 4) != 0); /* the 200's ACK comes first */
	assert_non_null(m);
	assert_int_equal(VN(m, WIMS_HDR_ROUTE), 1);
	assert_int_equal(h->core.n, 0);
	close(sfd);
	h_free(h);
}

/* Both parties are browsers of this wims: the other one's entries (ours too)
 * stay in the route set below the S-CSCF's, or the BYE could not reach it. */
static void test_route_set_browser_to_browser(void **state)
{
	struct h *h = pc_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char req[4096], resp[4096], extra[2048], got[8192], inv[8192], sr[128], bws[128], bcore[128];
	const char *m;
	uint16_t sport;
	int sfd = scscf_open(&sport);
	size_t nb;

	(void)state;
	call_up(h, b, sfd, sport, inv, sizeof(inv));
	/* a second call whose 2xx names the callee's side of this wims as well */
	fmt(bws, sizeof(bws), "<sip:bobtok@127.0.0.1:%u;transport=ws;lr>", h->port);
	fmt(bcore, sizeof(bcore), "<sip:bobtok@127.0.0.1:%u;lr>", h->port);
	br_send(b, fmt(req, sizeof(req),
		       "INVITE sip:bob@ims.test SIP/2.0\r\nVia: SIP/2.0/WSS b0.invalid;branch=z9hG4bKi2\r\n"
		       "Max-Forwards: 70\r\nTo: <sip:bob@ims.test>\r\nFrom: <sip:alice@ims.test>;tag=a2\r\n"
		       "Call-ID: c2@test\r\nCSeq: 1 INVITE\r\nContact: <sip:a@x.invalid;transport=ws>\r\n"
		       "Content-Length: 0\r\n\r\n"));
	do
		m = scscf_recv(h, sfd, got, sizeof(got), 1000);
	while (m && strncmp(m, "INVITE ", 7) != 0);
	assert_non_null(m);
	snprintf(inv, sizeof(inv), "%s", m);
	fmt(sr, sizeof(sr), "<sip:127.0.0.1:%u;lr>", sport);
	fmt(extra, sizeof(extra),
	    "Record-Route: %s\r\nRecord-Route: %s\r\nRecord-Route: %s\r\nRecord-Route: %s\r\n"
	    "Record-Route: %s\r\nContact: <sip:b@y.invalid;transport=ws>\r\n",
	    bws, bcore, sr, V(inv, WIMS_HDR_RECORD_ROUTE, 0), V(inv, WIMS_HDR_RECORD_ROUTE, 1));
	nb = b->q.n;
	scscf_send(h, sfd, reply_to(resp, sizeof(resp), inv, 200, "b2", extra));
	assert_true(wait_q(h, &b->q, nb + 1, 1000));
	/* the BYE goes to the S-CSCF, then back to this wims toward bob */
	br_send(b, fmt(req, sizeof(req),
		       "BYE sip:b@y.invalid;transport=ws SIP/2.0\r\nVia: SIP/2.0/WSS b0.invalid;branch=z9hG4bKb2\r\n"
		       "Max-Forwards: 70\r\nRoute: %s, %s, %s, %s, %s\r\n"
		       "To: <sip:bob@ims.test>;tag=b2\r\nFrom: <sip:alice@ims.test>;tag=a2\r\n"
		       "Call-ID: c2@test\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n",
		       V(inv, WIMS_HDR_RECORD_ROUTE, 1), V(inv, WIMS_HDR_RECORD_ROUTE, 0), sr, bcore, bws));
	do
		m = scscf_recv(h, sfd, got, sizeof(got), 1000);
	while (m && strncmp(m, "BYE ", 4) != 0);
	assert_non_null(m);
	assert_int_equal(VN(m, WIMS_HDR_ROUTE), 3);
	assert_string_equal(V(m, WIMS_HDR_ROUTE, 0), sr);
	assert_string_equal(V(m, WIMS_HDR_ROUTE, 1), bcore);
	assert_string_equal(V(m, WIMS_HDR_ROUTE, 2), bws);
	close(sfd);
	h_free(h);
}

/* The BYE wims sends itself when the browser's connection drops follows the
 * dialog's route set too. */
static void test_lost_flow_bye_hop(void **state)
{
	struct h *h = pc_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char got[8192], inv[8192];
	const char *m;
	uint16_t sport;
	int sfd = scscf_open(&sport);

	(void)state;
	call_up(h, b, sfd, sport, inv, sizeof(inv));
	br_gone(b);
	do
		m = scscf_recv(h, sfd, got, sizeof(got), 1000);
	while (m && strncmp(m, "BYE ", 4) != 0);
	assert_non_null(m);
	assert_string_equal(SL(m), "BYE sip:bob@192.0.2.7:5062 SIP/2.0");
	assert_int_equal(h->core.n, 0);
	close(sfd);
	h_free(h);
}

/* TS 24.229 §5.2.2.1: the ik and ck of an IMS-AKA challenge stay with the P-CSCF. */
static void test_aka_keys_removed(void **state)
{
	struct h *h = pc_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char resp[4096];

	(void)state;
	br_send(b, "REGISTER sip:ims.test SIP/2.0\r\nVia: SIP/2.0/WSS b0.invalid;branch=z9hG4bKr1\r\n"
		   "Max-Forwards: 70\r\nTo: <sip:alice@ims.test>\r\nFrom: <sip:alice@ims.test>;tag=r1\r\n"
		   "Call-ID: reg1@test\r\nCSeq: 1 REGISTER\r\nContact: <sip:a@x.invalid;transport=ws>;expires=600\r\n"
		   "Content-Length: 0\r\n\r\n");
	assert_true(wait_q(h, &h->core, 1, 1000));
	core_send(h, reply_to(resp, sizeof(resp), h->core.m[0], 401, "c1",
			      "WWW-Authenticate: Digest realm=\"ims.test\", nonce=\"bm9uY2U=\", algorithm=AKAv1-MD5, "
			      "ik=\"00112233445566778899aabbccddeeff\", ck=\"ffeeddccbbaa99887766554433221100\", "
			      "qop=\"auth,auth-int\"\r\n"));
	assert_true(wait_q(h, &b->q, 1, 1000));
	assert_int_equal(STATUS(last(&b->q)), 401);
	assert_string_equal(H(last(&b->q), "WWW-Authenticate", 0),
			    "Digest realm=\"ims.test\", nonce=\"bm9uY2U=\", algorithm=AKAv1-MD5, qop=\"auth,auth-int\"");
	h_free(h);
}

/* The rule itself: numeric sip/sips URIs; names and other transports are not hops. */
static void test_hop_of_route(void **state)
{
	struct h *h = h_new();
	struct px_hop hop;
	char a[64];

	(void)state;
	conf_set(h, "general", "role", "pcscf");
	conf_set(h, "pcscf", "scscf", fmt(a, sizeof(a), "sip:127.0.0.1:%u;transport=tcp", h->cport));
	h_start(h);
	assert_true(wims_proxy__hop_of_route(h->px, wims_str_c("<sip:orig@192.0.2.1:6060;lr>"), &hop));
	assert_int_equal(hop.proto, WIMS_SIP_UDP);
	assert_int_equal(wims_addr_port(&hop.addr), 6060);
	assert_true(wims_proxy__hop_of_route(h->px, wims_str_c("<sip:192.0.2.1;lr;transport=tcp>"), &hop));
	assert_int_equal(hop.proto, WIMS_SIP_TCP);
	assert_int_equal(wims_addr_port(&hop.addr), 5060);
	assert_true(wims_proxy__hop_of_route(h->px, wims_str_c("<sips:[2001:db8::1];lr>"), &hop));
	assert_int_equal(hop.proto, WIMS_SIP_TLS);
	assert_int_equal(wims_addr_port(&hop.addr), 5061);
	/* the configured next hop without a transport: its own (tcp) */
	assert_true(wims_proxy__hop_of_route(h->px, wims_str_c(fmt(a, sizeof(a), "<sip:127.0.0.1:%u;lr>", h->cport)),
					     &hop));
	assert_int_equal(hop.proto, WIMS_SIP_TCP);
	assert_false(wims_proxy__hop_of_route(h->px, wims_str_c("<sip:orig@scscf.ims.test;lr>"), &hop));
	assert_false(wims_proxy__hop_of_route(h->px, wims_str_c("<sip:192.0.2.1;lr;transport=ws>"), &hop));
	assert_false(wims_proxy__hop_of_route(h->px, wims_str_c("<tel:+15550100>"), &hop));
	assert_false(wims_proxy__hop_of_route(h->px, wims_str_c("garbage"), &hop));
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_service_route_hop),
	    cmocka_unit_test(test_lost_flow_bye_hop),
	    cmocka_unit_test(test_route_set_browser_to_browser),
	    cmocka_unit_test(test_aka_keys_removed),
	    cmocka_unit_test(test_hop_of_route),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
