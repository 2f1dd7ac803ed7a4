/* The access side's boundary.
 *
 * wims's own Route entries are recognised (RFC 3261 §16.4) when the
 * WebSocket listener is a wildcard address ([ws] listen = 0.0.0.0:PORT):
 * the Record-Route of the WebSocket side names the address the browser
 * reached (the accepted socket's), which the configuration does not name.
 * Before, such an entry stayed on top of the browser's in-dialog requests
 * and the core was asked to route them to wims's WebSocket port. */
#include "harness.h"

#define SDP "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n"

static void test_wildcard_ws_listen(void **state)
{
	struct h *h = h_new();
	struct browser *b = &h->br[0];
	struct wims_addr local;
	char req[4096], resp[4096], extra[600], rr_ws[128], inv[4096];
	const char *bye;

	(void)state;
	conf_set(h, "ws", "listen", "0.0.0.0:8443");
	conf_set(h, "iwu", "record_route", "yes");
	h_start(h);
	/* a browser that reached wims at 127.0.0.2:8443 */
	b->h = h;
	assert_int_equal(wims_addr_parse(&b->peer, wims_str_c("127.0.0.1:40001"), 0), 0);
	assert_int_equal(wims_addr_parse(&local, wims_str_c("127.0.0.2:8443"), 0), 0);
	assert_int_equal(wims_sip_flow_external(h->tp, &b->f, WIMS_SIP_WSS, &br_ops, b, &local, &b->peer), 0);
	b->id = wims_sip_flow_id(b->f);
	br_send(b, "REGISTER sip:ims.test SIP/2.0\r\nVia: SIP/2.0/WSS b0.invalid;branch=z9hG4bKr1\r\n"
		   "Max-Forwards: 70\r\nTo: <sip:alice@ims.test>\r\nFrom: <sip:alice@ims.test>;tag=r1\r\n"
		   "Call-ID: reg1@test\r\nCSeq: 1 REGISTER\r\nContact: <sip:a@x.invalid;transport=ws>;expires=600\r\n"
		   "Content-Length: 0\r\n\r\n");
	assert_true(wait_q(h, &h->core, 1, 1000));
	fmt(extra, sizeof(extra), "Contact: %s\r\n", V(h->core.m[0], WIMS_HDR_CONTACT, 0));
	core_send(h, reply_to(resp, sizeof(resp), h->core.m[0], 200, "reg", extra));
	assert_true(wait_q(h, &b->q, 1, 1000));
	q_clear(&b->q);
	q_clear(&h->core);
	br_send(b, fmt(req, sizeof(req),
		       "INVITE sip:bob@ims.test SIP/2.0\r\nVia: SIP/2.0/WSS b0.invalid;branch=z9hG4bKi1\r\n"
		       "Max-Forwards: 70\r\nTo: <sip:bob@ims.test>\r\nFrom: <sip:alice@ims.test>;tag=a1\r\n"
		       "Call-ID: c1@test\r\nCSeq: 1 INVITE\r\nContact: <sip:a@x.invalid;transport=ws>\r\n"
		       "Content-Type: application/sdp\r\nContent-Length: %zu\r\n\r\n%s",
		       strlen(SDP), SDP));
	assert_true(wait_q(h, &h->core, 1, 1000));
	snprintf(inv, sizeof(inv), "%s", h->core.m[0]);
	fmt(rr_ws, sizeof(rr_ws), "<sip:127.0.0.2:8443;transport=ws;lr>");
	assert_int_equal(VN(inv, WIMS_HDR_RECORD_ROUTE), 2);
	assert_string_equal(V(inv, WIMS_HDR_RECORD_ROUTE, 1), rr_ws);
	fmt(extra, sizeof(extra),
	    "Record-Route: <sip:pcscf.ims.test;lr>\r\nRecord-Route: %s\r\nRecord-Route: %s\r\n"
	    "Contact: <sip:bob@192.0.2.7:5062>\r\n",
	    V(inv, WIMS_HDR_RECORD_ROUTE, 0), rr_ws);
	core_send(h, reply_to(resp, sizeof(resp), inv, 200, "b1", extra));
	assert_true(wait_q(h, &b->q, 2, 1000));
	/* the browser's BYE follows the route set, our WebSocket entry first */
	q_clear(&h->core);
	br_send(b, fmt(req, sizeof(req),
		       "BYE sip:bob@192.0.2.7:5062 SIP/2.0\r\nVia: SIP/2.0/WSS b0.invalid;branch=z9hG4bKb1\r\n"
		       "Max-Forwards: 70\r\nRoute: %s, %s, <sip:pcscf.ims.test;lr>\r\n"
		       "To: <sip:bob@ims.test>;tag=b1\r\nFrom: <sip:alice@ims.test>;tag=a1\r\n"
		       "Call-ID: c1@test\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n",
		       rr_ws, V(inv, WIMS_HDR_RECORD_ROUTE, 0)));
	assert_true(wait_q(h, &h->core, 1, 1000));
	bye = h->core.m[0];
	assert_string_equal(SL(bye), "BYE sip:bob@192.0.2.7:5062 SIP/2.0");
	assert_int_equal(VN(bye, WIMS_HDR_ROUTE), 1); /* both of ours popped */
	assert_string_equal(V(bye, WIMS_HDR_ROUTE, 0), "<sip:pcscf.ims.test;lr>");
	/* an entry naming another host on the same port is not ours */
	assert_false(wims_proxy__route_is_us(h->px, wims_str_c("<sip:127.0.0.3:8443;transport=ws;lr>")));
	assert_true(wims_proxy__route_is_us(h->px, wims_str_c("<sip:tok@127.0.0.2:8443;transport=ws;lr>")));
	h_free(h);
}

/* A response from a browser that matches no transaction is dropped, not
 * forwarded by its Via (which the browser writes) into the core's network. */
static void test_stray_response_from_browser(void **state)
{
	struct h *h = h_new();
	struct browser *b;
	char msg[2048];

	(void)state;
	h_start(h);
	b = br_open(h, 0, WIMS_SIP_WSS);
	/* the second Via names the harness's core socket: a forward would reach it */
	br_send(b, fmt(msg, sizeof(msg),
		       "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKwfake\r\n"
		       "Via: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKvictim\r\n"
		       "To: <sip:x@ims.test>;tag=t\r\nFrom: <sip:y@ims.test>;tag=f\r\nCall-ID: stray@test\r\n"
		       "CSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n",
		       h->port, h->cport));
	settle(h, 100);
	assert_int_equal(h->core.n, 0);
	h_free(h);
}

/* In the IWU role every browser reaches the P-CSCF from wimsd's address, so
 * wimsd keeps them apart: an initial request needs a registration on its
 * connection (an emergency one aside), and a P-Preferred-Identity must be one
 * of the identities registered there. */
static void test_iwu_identity(void **state)
{
	struct h *h = h_new();
	struct browser *b;
	char req[2048], resp[2048], extra[512];
	static const char *inv =
	    "INVITE %s SIP/2.0\r\nVia: SIP/2.0/WSS b0.invalid;branch=z9hG4bK%s\r\nMax-Forwards: 70\r\n"
	    "To: <sip:bob@ims.test>\r\nFrom: <sip:alice@ims.test>;tag=%s\r\nCall-ID: %s@test\r\nCSeq: 1 INVITE\r\n"
	    "Contact: <sip:a@x.invalid;transport=ws>\r\n%sContent-Length: 0\r\n\r\n";

	(void)state;
	conf_set(h, "iwu", "require_registration", "yes");
	h_start(h);
	b = br_open(h, 0, WIMS_SIP_WSS);
	/* not registered: 403, nothing to the core */
	br_send(b, fmt(req, sizeof(req), inv, "sip:bob@ims.test", "i1", "t1", "c1", ""));
	assert_true(wait_q(h, &b->q, 1, 1000));
	assert_int_equal(STATUS(last(&b->q)), 403);
	assert_string_equal(SL(last(&b->q)), "SIP/2.0 403 Not Registered");
	/* an emergency call goes through anyway (TS 24.229 §5.1.6: the P-CSCF decides) */
	br_send(b, fmt(req, sizeof(req), inv, "urn:service:sos", "i2", "t2", "c2", ""));
	assert_true(wait_q(h, &h->core, 1, 1000));
	assert_int_equal(strncmp(h->core.m[0], "INVITE urn:service:sos ", 23), 0);
	q_clear(&h->core);
	q_clear(&b->q);
	/* registered as alice (and her alias) */
	br_send(b, "REGISTER sip:ims.test SIP/2.0\r\nVia: SIP/2.0/WSS b0.invalid;branch=z9hG4bKr1\r\n"
		   "Max-Forwards: 70\r\nTo: <sip:alice@ims.test>\r\nFrom: <sip:alice@ims.test>;tag=r1\r\n"
		   "Call-ID: reg1@test\r\nCSeq: 1 REGISTER\r\nContact: <sip:a@x.invalid;transport=ws>;expires=600\r\n"
		   "Content-Length: 0\r\n\r\n");
	assert_true(wait_q(h, &h->core, 1, 1000));
	fmt(extra, sizeof(extra), "Contact: %s\r\nP-Associated-URI: <sip:alice@ims.test>, <sip:alias@ims.test>\r\n",
	    V(h->core.m[0], WIMS_HDR_CONTACT, 0));
	core_send(h, reply_to(resp, sizeof(resp), h->core.m[0], 200, "reg", extra));
	assert_true(wait_q(h, &b->q, 1, 1000));
	q_clear(&h->core);
	q_clear(&b->q);
	/* claiming bob: 403 */
	br_send(b, fmt(req, sizeof(req), inv, "sip:bob@ims.test", "i3", "t3", "c3",
		       "P-Preferred-Identity: <sip:bob@ims.test>\r\n"));
	assert_true(wait_q(h, &b->q, 1, 1000));
	assert_string_equal(SL(last(&b->q)), "SIP/2.0 403 Identity Not Registered On This Connection");
	/* its own alias: on to the P-CSCF */
	br_send(b, fmt(req, sizeof(req), inv, "sip:bob@ims.test", "i4", "t4", "c4",
		       "P-Preferred-Identity: <sip:alias@ims.test>\r\n"));
	assert_true(wait_q(h, &h->core, 1, 1000));
	assert_string_equal(H(h->core.m[0], "P-Preferred-Identity", 0), "<sip:alias@ims.test>");
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_wildcard_ws_listen),
	    cmocka_unit_test(test_stray_response_from_browser),
	    cmocka_unit_test(test_iwu_identity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
