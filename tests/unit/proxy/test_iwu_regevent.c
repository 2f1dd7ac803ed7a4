/* The IWU's reg event subscriptions ([iwu] reg_subscribe = yes,
 * src/proxy/regevent.c with iwu.c's ue_lines): after the 2xx to a browser's
 * REGISTER, wimsd subscribes as that browser's UE (TS 24.229 §5.1.1.3):
 * From and To its default IMPU, Contact the token URI registered for it,
 * Route the P-CSCF and the Service-Route, no P-Asserted-Identity and no
 * icid (the P-CSCF adds those).  The NOTIFYs come back to that Contact and
 * are answered by wimsd, not passed to the browser; one that terminates the
 * browser's contact releases its call with BYE on both sides.  Each browser
 * has its own subscription, as each UE would. */
#include "harness.h"

#define SR "<sip:orig@127.0.0.1:9;lr>"
#define SDP "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n"

static struct h *iwu_up(const char *t1)
{
	struct h *h = h_new();
	char v[80];

	if (t1)
		conf_set(h, "sip", "t1_ms", t1);
	conf_set(h, "general", "role", "iwu");
	conf_set(h, "iwu", "pcscf", fmt(v, sizeof(v), "sip:127.0.0.1:%u", h->cport));
	conf_set(h, "iwu", "reg_subscribe", "yes");
	conf_set(h, "iwu", "reg_subscribe_expires", "600000");
	conf_set(h, "media", "anchor", "no");
	h_start(h);
	return h;
}

static const char *br_contact(unsigned i)
{
	char *o = ring();

	snprintf(o, 4096, "sip:u%u@x%u.invalid;transport=ws", i, i);
	return o;
}

/* Browser i registers as alice (expires 0: de-registers); the core's 200
 * lists wimsd's token Contact, the P-Associated-URIs and a Service-Route.
 * Returns the token Contact URI wimsd registered. */
static const char *do_register(struct h *h, struct browser *b, unsigned i, unsigned expires)
{
	char req[2048], resp[4096], extra[1024];
	size_t nb = b->q.n, nc = h->core.n;
	static unsigned cseq;
	char *tok = ring();
	const char *ct;

	cseq++;
	br_send(b, fmt(req, sizeof(req),
		       "REGISTER sip:ims.test SIP/2.0\r\nVia: SIP/2.0/WSS b%u.invalid;branch=z9hG4bKr%u-%u\r\n"
		       "Max-Forwards: 70\r\nTo: <sip:alice@ims.test>\r\nFrom: <sip:alice@ims.test>;tag=r%u\r\n"
		       "Call-ID: reg-%u@test\r\nCSeq: %u REGISTER\r\nContact: <%s>;expires=%u\r\n"
		       "Content-Length: 0\r\n\r\n",
		       i, i, cseq, i, i, cseq, br_contact(i), expires));
	assert_true(wait_q(h, &h->core, nc + 1, 1000));
	ct = V(last(&h->core), WIMS_HDR_CONTACT, 0);
	assert_true(ct[0] == '<');
	snprintf(tok, 4096, "%.*s", (int)(strchr(ct, '>') - ct - 1), ct + 1);
	if (expires)
		fmt(extra, sizeof(extra),
		    "Contact: <%s>;expires=%u\r\nService-Route: " SR "\r\n"
		    "P-Associated-URI: <sip:alice@ims.test>, <tel:+15550100>\r\n",
		    tok, expires);
	else
		extra[0] = 0;
	core_send(h, reply_to(resp, sizeof(resp), last(&h->core), 200, "regok", extra));
	assert_true(wait_q(h, &b->q, nb + 1, 1000));
	assert_int_equal(STATUS(last(&b->q)), 200);
	return tok;
}

static char *notify(char *buf, size_t cap, struct h *h, const char *sub, const char *ftag, unsigned cseq,
		    const char *state, const char *body)
{
	char ct[64] = "", *uri = ring();
	const char *c = V(sub, WIMS_HDR_CONTACT, 0);

	snprintf(uri, 4096, "%.*s", (int)(strchr(c, '>') - c - 1), c + 1);
	if (body[0])
		snprintf(ct, sizeof(ct), "Content-Type: application/reginfo+xml\r\n");
	return fmt(buf, cap,
		   "NOTIFY %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKn%u;rport\r\n"
		   "Max-Forwards: 69\r\nFrom: %s;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %u NOTIFY\r\n"
		   "Contact: <sip:scscf@127.0.0.1:%u>\r\nEvent: reg\r\nSubscription-State: %s\r\n%s"
		   "Content-Length: %zu\r\n\r\n%s",
		   uri, h->cport, cseq, H(sub, "To", 0), ftag, H(sub, "From", 0), H(sub, "Call-ID", 0), cseq, h->cport,
		   state, ct, strlen(body), body);
}

static const char *reginfo(const char *cstate, const char *event, const char *uri)
{
	static char o[4096];

	snprintf(o, sizeof(o),
		 "<?xml version=\"1.0\"?>\n<reginfo xmlns=\"urn:ietf:params:xml:ns:reginfo\" version=\"1\" "
		 "state=\"full\"><registration aor=\"sip:alice@ims.test\" id=\"a1\" state=\"active\">"
		 "<contact id=\"c1\" state=\"%s\" event=\"%s\"><uri>%s</uri></contact></registration></reginfo>",
		 cstate, event, uri);
	return o;
}

/* The SUBSCRIBE of a UE, and the NOTIFYs wimsd keeps for itself. */
static void test_ue_subscribe(void **state)
{
	struct h *h = iwu_up(NULL);
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char sub[4096], req[8192], resp[4096], want[512];
	const char *tok, *s;
	size_t n, nb;

	(void)state;
	tok = do_register(h, b, 0, 600);
	s = wait_core(h, "SUBSCRIBE ", 0, 1000);
	assert_non_null(s);
	assert_string_equal(RURI(s), "sip:alice@ims.test");
	assert_int_equal(strncmp(H(s, "From", 0), "<sip:alice@ims.test>;tag=", 25), 0);
	assert_string_equal(H(s, "To", 0), "<sip:alice@ims.test>");
	assert_string_equal(H(s, "Contact", 0), fmt(want, sizeof(want), "<%s>", tok));
	assert_string_equal(H(s, "Event", 0), "reg");
	assert_string_equal(H(s, "Expires", 0), "600000");
	assert_int_equal(VN(s, WIMS_HDR_ROUTE), 2); /* the P-CSCF, then the Service-Route */
	assert_string_equal(V(s, WIMS_HDR_ROUTE, 0), fmt(want, sizeof(want), "<sip:127.0.0.1:%u;lr>", h->cport));
	assert_string_equal(V(s, WIMS_HDR_ROUTE, 1), SR);
	assert_string_equal(H(s, "P-Asserted-Identity", 0), ABSENT); /* the P-CSCF's to add */
	assert_string_equal(H(s, "P-Charging-Vector", 0), ABSENT);
	snprintf(sub, sizeof(sub), "%s", s);
	/* a refresh of the REGISTER: no second SUBSCRIBE */
	n = h->core.n;
	do_register(h, b, 0, 600);
	core_send(h, reply_to(resp, sizeof(resp), sub, 200, "sc1", "Expires: 600\r\n"));
	settle(h, 50);
	assert_null(find_core(h, "SUBSCRIBE ", n));
	/* a NOTIFY to the token Contact: answered by wimsd, the browser sees nothing */
	nb = b->q.n;
	n = h->core.n;
	core_send(h, notify(req, sizeof(req), h, sub, "sc1", 1, "active;expires=600",
			    reginfo("active", "registered", tok)));
	assert_true(wait_q(h, &h->core, n + 1, 1000));
	assert_int_equal(STATUS(last(&h->core)), 200);
	assert_non_null(strstr(H(last(&h->core), "CSeq", 0), "NOTIFY"));
	settle(h, 30);
	assert_int_equal(b->q.n, nb);
	/* a NOTIFY of another dialog still goes to the browser (its own subscriptions) */
	notify(req, sizeof(req), h, sub, "sc1", 2, "active", "");
	replace_once(req, sizeof(req), "Call-ID: ", "Call-ID: browser-own-");
	core_send(h, req);
	assert_true(wait_q(h, &b->q, nb + 1, 1000));
	assert_int_equal(strncmp(last(&b->q), "NOTIFY ", 7), 0);
	h_free(h);
}

/* Two browsers of one identity: two UEs, two subscriptions. */
static void test_one_per_browser(void **state)
{
	struct h *h = iwu_up(NULL);
	const char *t0, *t1, *s0, *s1;

	(void)state;
	t0 = do_register(h, br_open(h, 0, WIMS_SIP_WSS), 0, 600);
	s0 = wait_core(h, "SUBSCRIBE ", 0, 1000);
	assert_non_null(s0);
	size_t n = h->core.n;
	t1 = do_register(h, br_open(h, 1, WIMS_SIP_WSS), 1, 600);
	s1 = wait_core(h, "SUBSCRIBE ", n, 1000);
	assert_non_null(s1);
	assert_string_not_equal(t0, t1);
	assert_non_null(strstr(H(s0, "Contact", 0), t0));
	assert_non_null(strstr(H(s1, "Contact", 0), t1));
	assert_string_not_equal(H(s0, "Call-ID", 0), H(s1, "Call-ID", 0));
	h_free(h);
}

/* The network de-registers the browser's contact during a call: BYE to both
 * sides, then the subscription the notifier keeps is ended. */
static void test_network_dereg(void **state)
{
	struct h *h = iwu_up(NULL);
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char sub[4096], req[8192], resp[4096], extra[600];
	const char *tok, *s, *inv, *bye;
	size_t n, nb;

	(void)state;
	tok = do_register(h, b, 0, 600);
	s = wait_core(h, "SUBSCRIBE ", 0, 1000);
	assert_non_null(s);
	snprintf(sub, sizeof(sub), "%s", s);
	core_send(h, reply_to(resp, sizeof(resp), sub, 200, "sc1", "Expires: 600\r\n"));
	nb = b->q.n;
	n = h->core.n;
	br_send(b, fmt(req, sizeof(req),
		       "INVITE sip:bob@ims.test SIP/2.0\r\nVia: SIP/2.0/WSS b0.invalid;branch=z9hG4bKinv1\r\n"
		       "Max-Forwards: 70\r\nTo: <sip:bob@ims.test>\r\nFrom: <sip:alice@ims.test>;tag=a1\r\n"
		       "Call-ID: call-1@test\r\nCSeq: 5 INVITE\r\nContact: <%s>\r\n"
		       "Content-Type: application/sdp\r\nContent-Length: %zu\r\n\r\n%s",
		       br_contact(0), strlen(SDP), SDP));
	inv = wait_core(h, "INVITE ", n, 1000);
	assert_non_null(inv);
	fmt(extra, sizeof(extra), "Contact: <sip:bob@192.0.2.7:5062>\r\nRecord-Route: <sip:pcscf@127.0.0.1:%u;lr>\r\n",
	    h->cport);
	core_send(h, reply_to(resp, sizeof(resp), inv, 200, "b1", extra));
	assert_true(wait_q(h, &b->q, nb + 2, 1000));
	assert_int_equal(STATUS(last(&b->q)), 200);
	n = h->core.n;
	nb = b->q.n;
	core_send(h, notify(req, sizeof(req), h, sub, "sc1", 1, "active",
			    reginfo("terminated", "deactivated", tok)));
	bye = wait_core(h, "BYE ", n, 1000);
	assert_non_null(bye);
	assert_string_equal(SL(bye), "BYE sip:bob@192.0.2.7:5062 SIP/2.0");
	assert_non_null(strstr(H(bye, "Reason", 0), "deactivated"));
	assert_true(wait_q(h, &b->q, nb + 1, 1000));
	assert_int_equal(strncmp(last(&b->q), "BYE ", 4), 0);
	/* the notifier keeps the subscription: the UE that is gone ends it */
	const char *un = wait_core(h, "SUBSCRIBE ", n, 1000);
	assert_non_null(un);
	assert_string_equal(H(un, "Expires", 0), "0");
	assert_string_equal(H(un, "To", 0), "<sip:alice@ims.test>;tag=sc1");
	h_free(h);
}

/* The browser de-registers: a core that ends the subscription itself
 * (TS 24.229 §5.4.2.1.2) gets no unsubscribe; a lost flow unsubscribes at once. */
static void test_dereg_and_lost_flow(void **state)
{
	struct h *h = iwu_up("50");
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char sub[4096], req[8192], resp[4096];
	const char *tok, *s;
	size_t n;

	(void)state;
	tok = do_register(h, b, 0, 600);
	s = wait_core(h, "SUBSCRIBE ", 0, 1000);
	assert_non_null(s);
	snprintf(sub, sizeof(sub), "%s", s);
	core_send(h, reply_to(resp, sizeof(resp), sub, 200, "sc1", "Expires: 600\r\n"));
	settle(h, 30);
	n = h->core.n;
	do_register(h, b, 0, 0);
	core_send(h, notify(req, sizeof(req), h, sub, "sc1", 2, "terminated",
			    reginfo("terminated", "unregistered", tok)));
	settle(h, 600); /* past the 8 T1 wimsd waits for it */
	assert_null(find_core(h, "SUBSCRIBE ", n));
	/* registered again, then the WebSocket drops: Expires: 0 at once */
	do_register(h, b, 0, 600);
	s = wait_core(h, "SUBSCRIBE ", n, 1000);
	assert_non_null(s);
	snprintf(sub, sizeof(sub), "%s", s);
	core_send(h, reply_to(resp, sizeof(resp), sub, 200, "sc2", "Expires: 600\r\n"));
	settle(h, 30);
	n = h->core.n;
	br_gone(b);
	s = wait_core(h, "SUBSCRIBE ", n, 1000);
	assert_non_null(s);
	assert_string_equal(H(s, "Expires", 0), "0");
	assert_string_equal(H(s, "Call-ID", 0), H(sub, "Call-ID", 0));
	h_free(h);
}

/* [iwu] reg_subscribe = no: none. */
static void test_off(void **state)
{
	struct h *h = h_new();
	char v[80];

	(void)state;
	conf_set(h, "general", "role", "iwu");
	conf_set(h, "iwu", "reg_subscribe", "no");
	conf_set(h, "iwu", "pcscf", fmt(v, sizeof(v), "sip:127.0.0.1:%u", h->cport));
	h_start(h);
	do_register(h, br_open(h, 0, WIMS_SIP_WSS), 0, 600);
	settle(h, 50);
	assert_null(find_core(h, "SUBSCRIBE ", 0));
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ue_subscribe),   cmocka_unit_test(test_one_per_browser),
	    cmocka_unit_test(test_network_dereg),  cmocka_unit_test(test_dereg_and_lost_flow),
	    cmocka_unit_test(test_off),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
