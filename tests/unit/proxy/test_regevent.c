/* The P-CSCF's reg event subscription ([pcscf] reg_subscribe = yes,
 * src/proxy/regevent.c) on a real loop: the SUBSCRIBE after the first 2xx
 * to REGISTER (TS 24.229 §5.2.3), one per IMPU shared by two flows, the
 * in-dialog refresh, NOTIFY answers (200, 481, 400, 489), a network
 * de-registration releasing the browser's call with BYE on both sides and
 * leaving the flow unregistered (403 / 480), and the unsubscribe when the
 * last flow de-registers. */
#include "harness.h"

#define SDP "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n"

/* t1: [sip] t1_ms, NULL for the harness's 10 ms: the wait for the notifier
 * after a de-registration is 8 T1 */
static struct h *re_up_t1(const char *expires, const char *t1)
{
	struct h *h = h_new();
	char v[80];

	if (t1)
		conf_set(h, "sip", "t1_ms", t1);
	conf_set(h, "general", "role", "pcscf");
	conf_set(h, "iwu", "pcscf", "sip:127.0.0.1:9;transport=udp");
	conf_set(h, "pcscf", "scscf", fmt(v, sizeof(v), "sip:127.0.0.1:%u", h->cport));
	conf_set(h, "pcscf", "reg_subscribe", "yes");
	conf_set(h, "pcscf", "reg_subscribe_expires", expires);
	conf_set(h, "media", "anchor", "no");
	h_start(h);
	return h;
}

static struct h *re_up(const char *expires)
{
	return re_up_t1(expires, NULL);
}

static const char *br_contact(unsigned i)
{
	char *o = ring();

	snprintf(o, 4096, "sip:u%u@x%u.invalid;transport=ws", i, i);
	return o;
}

static char *br_register(char *buf, size_t cap, unsigned i, unsigned cseq, unsigned expires)
{
	return fmt(buf, cap,
		   "REGISTER sip:ims.test SIP/2.0\r\n"
		   "Via: SIP/2.0/WSS b%u.invalid;branch=z9hG4bKreg%u-%u\r\n"
		   "Max-Forwards: 70\r\n"
		   "To: <sip:alice@ims.test>\r\n"
		   "From: <sip:alice@ims.test>;tag=reg%u\r\n"
		   "Call-ID: reg-call-%u@test\r\n"
		   "CSeq: %u REGISTER\r\n"
		   "Contact: <%s>;expires=%u\r\n"
		   "Content-Length: 0\r\n\r\n",
		   i, i, cseq, i, i, cseq, br_contact(i), expires);
}

/* Register browser i as alice (P-Associated-URI: alice, alias); returns the core's queue length after. */
static void do_register(struct h *h, struct browser *b, unsigned i, unsigned expires)
{
	char req[2048], resp[4096], extra[1024];
	size_t nb = b->q.n, nc = h->core.n;

	static unsigned cseq;

	br_send(b, br_register(req, sizeof(req), i, ++cseq, expires));
	assert_true(wait_q(h, &h->core, nc + 1, 1000));
	if (expires)
		fmt(extra, sizeof(extra),
		    "Contact: %s\r\nService-Route: <sip:orig@127.0.0.1:%u;lr>\r\n"
		    "P-Associated-URI: <sip:alice@ims.test>, <sip:alice-alias@ims.test>\r\n",
		    V(last(&h->core), WIMS_HDR_CONTACT, 0), h->cport);
	else
		extra[0] = 0;
	core_send(h, reply_to(resp, sizeof(resp), last(&h->core), 200, "regok", extra));
	assert_true(wait_q(h, &b->q, nb + 1, 1000));
	assert_int_equal(STATUS(last(&b->q)), 200);
}

/* The URI of the SUBSCRIBE's Contact: where NOTIFYs go. */
static const char *contact_of(const char *sub)
{
	const char *v = V(sub, WIMS_HDR_CONTACT, 0);
	char *o = ring();

	assert_true(v[0] == '<');
	snprintf(o, 4096, "%.*s", (int)(strchr(v, '>') - v - 1), v + 1);
	return o;
}

static char *notify(char *buf, size_t cap, struct h *h, const char *sub, const char *ftag, unsigned cseq,
		    const char *state, const char *body)
{
	char ct[64] = "";

	if (body[0])
		snprintf(ct, sizeof(ct), "Content-Type: application/reginfo+xml\r\n");
	return fmt(buf, cap,
		   "NOTIFY %s SIP/2.0\r\n"
		   "Via: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKnot%u;rport\r\n"
		   "Max-Forwards: 70\r\n"
		   "From: %s;tag=%s\r\n"
		   "To: %s\r\n"
		   "Call-ID: %s\r\n"
		   "CSeq: %u NOTIFY\r\n"
		   "Contact: <sip:scscf@127.0.0.1:%u>\r\n"
		   "Event: reg\r\n"
		   "Subscription-State: %s\r\n"
		   "%s"
		   "Content-Length: %zu\r\n\r\n%s",
		   contact_of(sub), h->cport, cseq, H(sub, "To", 0), ftag, H(sub, "From", 0), H(sub, "Call-ID", 0), cseq,
		   h->cport, state, ct, strlen(body), body);
}

static const char *reginfo(const char *rstate, const char *cstate, const char *event, const char *uri)
{
	static char o[4096];

	snprintf(o, sizeof(o),
		 "<?xml version=\"1.0\"?>\n<reginfo xmlns=\"urn:ietf:params:xml:ns:reginfo\" version=\"1\" "
		 "state=\"full\"><registration aor=\"sip:alice@ims.test\" id=\"a1\" state=\"%s\">"
		 "<contact id=\"c1\" state=\"%s\" event=\"%s\"><uri>%s</uri></contact></registration></reginfo>",
		 rstate, cstate, event, uri);
	return o;
}

/* Registration, then the SUBSCRIBE; the S-CSCF accepts it for `granted` s. */
static const char *subscribed(struct h *h, struct browser *b, char *sub, size_t cap, const char *granted)
{
	char resp[4096], extra[512];
	const char *s;

	do_register(h, b, 0, 600);
	s = wait_core(h, "SUBSCRIBE ", 0, 1000);
	assert_non_null(s);
	snprintf(sub, cap, "%s", s);
	fmt(extra, sizeof(extra),
	    "Contact: <sip:scscf@127.0.0.1:%u>\r\nRecord-Route: <sip:rr1@127.0.0.1:%u;lr>, "
	    "<sip:rr2@127.0.0.1:%u;lr>\r\nExpires: %s\r\n",
	    h->cport, h->cport, h->cport, granted);
	core_send(h, reply_to(resp, sizeof(resp), sub, 200, "sc1", extra));
	settle(h, 30);
	return sub;
}

/* The unsubscribe of the subscription subscribed() made (in its dialog,
 * Expires: 0), among what the core got from index n on. */
static const char *unsubscribed(struct h *h, size_t n)
{
	const char *un = wait_core(h, "SUBSCRIBE ", n, 1000);

	assert_non_null(un);
	assert_string_equal(H(un, "Expires", 0), "0");
	assert_string_equal(H(un, "To", 0), "<sip:alice@ims.test>;tag=sc1");
	return un;
}

static void test_subscribe(void **state)
{
	struct h *h = re_up("600000");
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char sub[4096], want[256];
	const char *s;

	(void)state;
	do_register(h, b, 0, 600);
	s = wait_core(h, "SUBSCRIBE ", 0, 1000);
	assert_non_null(s);
	/* TS 24.229 §5.2.3 */
	assert_string_equal(RURI(s), "sip:alice@ims.test");
	assert_string_equal(H(s, "To", 0), "<sip:alice@ims.test>");
	fmt(want, sizeof(want), "<sip:127.0.0.1:%u>;tag=", h->port);
	assert_int_equal(strncmp(H(s, "From", 0), want, strlen(want)), 0);
	assert_string_equal(H(s, "Event", 0), "reg");
	assert_string_equal(H(s, "Accept", 0), "application/reginfo+xml");
	assert_string_equal(H(s, "Expires", 0), "600000");
	assert_string_equal(H(s, "P-Asserted-Identity", 0), fmt(want, sizeof(want), "<sip:127.0.0.1:%u>", h->port));
	assert_int_equal(strncmp(H(s, "P-Charging-Vector", 0), "icid-value=wims", 15), 0);
	assert_string_equal(H(s, "Contact", 0),
			    fmt(want, sizeof(want), "<sip:wims-regevent@127.0.0.1:%u>", h->port));
	assert_string_equal(H(s, "Route", 0), ABSENT);
	assert_int_equal(VN(s, WIMS_HDR_VIA), 1);
	/* a REGISTER refresh and a second browser of the same IMPU: no new SUBSCRIBE */
	snprintf(sub, sizeof(sub), "%s", s);
	do_register(h, b, 0, 600);
	do_register(h, br_open(h, 1, WIMS_SIP_WS), 1, 600);
	settle(h, 50);
	size_t n = 0;
	for (size_t i = 0; i < h->core.n; i++)
		n += strncmp(h->core.m[i], "SUBSCRIBE ", 10) == 0;
	assert_int_equal(n, 1);
	h_free(h);
}

/* In-dialog refresh at 3/4 of what the S-CSCF granted, with the dialog's route set. */
static void test_refresh(void **state)
{
	struct h *h = re_up("600000");
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char sub[4096], want[256];
	const char *r;
	size_t n;

	(void)state;
	subscribed(h, b, sub, sizeof(sub), "1");
	n = h->core.n;
	r = wait_core(h, "SUBSCRIBE ", n, 2000);
	assert_non_null(r);
	assert_string_equal(RURI(r), fmt(want, sizeof(want), "sip:scscf@127.0.0.1:%u", h->cport));
	assert_string_equal(H(r, "To", 0), "<sip:alice@ims.test>;tag=sc1");
	assert_string_equal(H(r, "Call-ID", 0), H(sub, "Call-ID", 0));
	assert_string_equal(H(r, "From", 0), H(sub, "From", 0));
	assert_int_equal(VN(r, WIMS_HDR_ROUTE), 2);
	assert_string_equal(V(r, WIMS_HDR_ROUTE, 0), fmt(want, sizeof(want), "<sip:rr2@127.0.0.1:%u;lr>", h->cport));
	assert_string_equal(H(r, "Expires", 0), "600000");
	assert_int_equal(strtoul(H(r, "CSeq", 0), NULL, 10), strtoul(H(sub, "CSeq", 0), NULL, 10) + 1);
	h_free(h);
}

static void test_notify_answers(void **state)
{
	struct h *h = re_up("600000");
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char sub[4096], req[8192];
	size_t n;

	(void)state;
	subscribed(h, b, sub, sizeof(sub), "600");
	n = h->core.n;
	/* active contact: 200, nothing else */
	core_send(h, notify(req, sizeof(req), h, sub, "sc1", 1, "active;expires=600",
			    reginfo("active", "active", "registered", br_contact(0))));
	assert_true(wait_q(h, &h->core, n + 1, 1000));
	assert_int_equal(STATUS(last(&h->core)), 200);
	/* a body that does not parse: 400 with the reason */
	core_send(h, notify(req, sizeof(req), h, sub, "sc1", 2, "active", "<reginfo>"));
	assert_true(wait_q(h, &h->core, n + 2, 1000));
	assert_int_equal(STATUS(last(&h->core)), 400);
	assert_non_null(strstr(SL(last(&h->core)), "Bad reginfo"));
	/* another Call-ID, another From tag: 481 */
	core_send(h, notify(req, sizeof(req), h, sub, "other", 3, "active", ""));
	assert_true(wait_q(h, &h->core, n + 3, 1000));
	assert_int_equal(STATUS(last(&h->core)), 481);
	notify(req, sizeof(req), h, sub, "sc1", 4, "active", "");
	replace_once(req, sizeof(req), "Call-ID: ", "Call-ID: x");
	core_send(h, req);
	assert_true(wait_q(h, &h->core, n + 4, 1000));
	assert_int_equal(STATUS(last(&h->core)), 481);
	/* another event package: 489 */
	notify(req, sizeof(req), h, sub, "sc1", 5, "active", "");
	replace_once(req, sizeof(req), "Event: reg", "Event: presence");
	core_send(h, req);
	assert_true(wait_q(h, &h->core, n + 5, 1000));
	assert_int_equal(STATUS(last(&h->core)), 489);
	/* the browser is still registered: no BYE, nothing to it */
	settle(h, 30);
	assert_int_equal(h->core.n, n + 5);
	h_free(h);
}

/* The network de-registers the browser's contact during a call. */
static void test_network_dereg(void **state)
{
	struct h *h = re_up("600000");
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char sub[4096], req[8192], resp[4096], extra[600];
	const char *bye;
	size_t n, nb;

	(void)state;
	subscribed(h, b, sub, sizeof(sub), "600");
	/* the browser calls; the callee answers */
	nb = b->q.n;
	br_send(b, fmt(req, sizeof(req),
		       "INVITE sip:bob@ims.test SIP/2.0\r\nVia: SIP/2.0/WSS b0.invalid;branch=z9hG4bKinv1\r\n"
		       "Max-Forwards: 70\r\nTo: <sip:bob@ims.test>\r\nFrom: <sip:alice@ims.test>;tag=a1\r\n"
		       "Call-ID: call-1@test\r\nCSeq: 5 INVITE\r\nContact: <%s>\r\n"
		       "Content-Type: application/sdp\r\nContent-Length: %zu\r\n\r\n%s",
		       br_contact(0), strlen(SDP), SDP));
	n = h->core.n;
	const char *inv = wait_core(h, "INVITE ", n, 1000);
	assert_non_null(inv);
	fmt(extra, sizeof(extra), "Contact: <sip:bob@192.0.2.7:5062>\r\nRecord-Route: <sip:scscf@127.0.0.1:%u;lr>\r\n",
	    h->cport);
	core_send(h, reply_to(resp, sizeof(resp), inv, 200, "b1", extra));
	assert_true(wait_q(h, &b->q, nb + 2, 1000));
	assert_int_equal(STATUS(last(&b->q)), 200);
	assert_int_equal(wims_proxy_stats(h->px)->dialogs_open, 1);
	/* NOTIFY: our contact terminated (deactivated) */
	n = h->core.n;
	nb = b->q.n;
	core_send(h, notify(req, sizeof(req), h, sub, "sc1", 1, "active",
			    reginfo("active", "terminated", "deactivated", br_contact(0))));
	bye = wait_core(h, "BYE ", n, 1000);
	assert_non_null(bye);
	assert_string_equal(SL(bye), "BYE sip:bob@192.0.2.7:5062 SIP/2.0");
	assert_string_equal(H(bye, "From", 0), "<sip:alice@ims.test>;tag=a1");
	assert_string_equal(H(bye, "To", 0), "<sip:bob@ims.test>;tag=b1");
	assert_non_null(strstr(H(bye, "Reason", 0), "deactivated"));
	/* and toward the browser, over its WebSocket */
	assert_true(wait_q(h, &b->q, nb + 1, 1000));
	bye = last(&b->q);
	assert_string_equal(SL(bye), fmt(extra, sizeof(extra), "BYE %s SIP/2.0", br_contact(0)));
	assert_string_equal(H(bye, "From", 0), "<sip:bob@ims.test>;tag=b1");
	assert_string_equal(H(bye, "To", 0), "<sip:alice@ims.test>;tag=a1");
	assert_string_equal(H(bye, "Call-ID", 0), "call-1@test");
	assert_string_equal(H(bye, "CSeq", 0), "1 BYE");
	assert_non_null(strstr(H(bye, "Reason", 0), "cause=480"));
	assert_non_null(strstr(V(bye, WIMS_HDR_VIA, 0), "SIP/2.0/WSS"));
	assert_int_equal(wims_proxy_stats(h->px)->dialogs_open, 0);
	assert_int_equal(wims_proxy_stats(h->px)->bindings_open, 0);
	/* the NOTIFY was answered 200; the last flow left: Expires: 0 */
	const char *un = wait_core(h, "SUBSCRIBE ", n, 1000);
	assert_non_null(un);
	assert_string_equal(H(un, "Expires", 0), "0");
	bool ok = false;
	for (size_t i = n; i < h->core.n; i++)
		ok |= STATUS(h->core.m[i]) == 200 && strstr(H(h->core.m[i], "CSeq", 0), "NOTIFY");
	assert_true(ok);
	/* the browser is now like an unregistered UE */
	nb = b->q.n;
	br_send(b, fmt(req, sizeof(req),
		       "MESSAGE sip:bob@ims.test SIP/2.0\r\nVia: SIP/2.0/WSS b0.invalid;branch=z9hG4bKmsg1\r\n"
		       "Max-Forwards: 70\r\nTo: <sip:bob@ims.test>\r\nFrom: <sip:alice@ims.test>;tag=m1\r\n"
		       "Call-ID: msg-1@test\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n"));
	assert_true(wait_q(h, &b->q, nb + 1, 1000));
	assert_int_equal(STATUS(last(&b->q)), 403);
	/* and a terminating request for it is refused */
	n = h->core.n;
	char tok[PX_TOKEN_LEN + 1];
	wims_proxy__token_make(h->px, b->id, false, tok);
	core_send(h, fmt(req, sizeof(req),
			 "MESSAGE %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKcm1;rport\r\n"
			 "Max-Forwards: 70\r\nRoute: <sip:%s@127.0.0.1:%u;lr>\r\nTo: <sip:alice@ims.test>\r\n"
			 "From: <sip:bob@ims.test>;tag=x\r\nCall-ID: cm-1@test\r\nCSeq: 1 MESSAGE\r\n"
			 "Content-Length: 0\r\n\r\n",
			 br_contact(0), h->cport, tok, h->port));
	assert_true(wait_q(h, &h->core, n + 1, 1000));
	assert_int_equal(STATUS(last(&h->core)), 480);
	h_free(h);
}

/* A terminated registration de-registers every flow of that IMPU; Subscription-State: terminated ends it. */
static void test_registration_terminated(void **state)
{
	struct h *h = re_up("600000");
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char sub[4096], req[8192];
	size_t n;

	(void)state;
	subscribed(h, b, sub, sizeof(sub), "600");
	assert_int_equal(wims_proxy_stats(h->px)->bindings_open, 1);
	n = h->core.n;
	core_send(h, notify(req, sizeof(req), h, sub, "sc1", 1, "terminated;reason=deactivated",
			    reginfo("terminated", "terminated", "unregistered", "sip:someone@else")));
	assert_true(wait_q(h, &h->core, n + 1, 1000));
	settle(h, 30);
	assert_int_equal(wims_proxy_stats(h->px)->bindings_open, 0);
	/* ended by the notifier: a later NOTIFY is unknown */
	n = h->core.n;
	core_send(h, notify(req, sizeof(req), h, sub, "sc1", 2, "active", ""));
	assert_true(wait_q(h, &h->core, n + 1, 1000));
	assert_int_equal(STATUS(last(&h->core)), 481);
	h_free(h);
}

/* The UE de-registers: the subscription of its IMPU ends with Expires: 0. */
static void test_unsubscribe(void **state)
{
	struct h *h = re_up_t1("600000", "100");
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char sub[4096], unsub[4096], req[8192], resp[4096];
	const char *un;
	size_t n;

	(void)state;
	subscribed(h, b, sub, sizeof(sub), "600");
	n = h->core.n;
	do_register(h, b, 0, 0);
	settle(h, 50);
	assert_null(find_core(h, "SUBSCRIBE ", n)); /* the notifier may end it itself (sub_close) */
	/* it tells of the de-registration but keeps the subscription (Kamailio's presence does) */
	core_send(h, notify(req, sizeof(req), h, sub, "sc1", 6, "active;expires=500",
			    reginfo("terminated", "terminated", "unregistered", br_contact(0))));
	un = unsubscribed(h, n);
	/* RFC 6665 §4.1.2.3: the notifier's last NOTIFY after the 2xx gets a 200, not a 481 */
	snprintf(unsub, sizeof(unsub), "%s", un);
	core_send(h, reply_to(resp, sizeof(resp), unsub, 200, "sc1", "Expires: 0\r\n"));
	n = h->core.n;
	core_send(h, notify(req, sizeof(req), h, sub, "sc1", 7, "terminated",
			    reginfo("terminated", "terminated", "unregistered", br_contact(0))));
	assert_true(wait_q(h, &h->core, n + 1, 1000));
	assert_int_equal(STATUS(last(&h->core)), 200);
	/* and then the subscription is gone */
	core_send(h, notify(req, sizeof(req), h, sub, "sc1", 8, "terminated", ""));
	assert_true(wait_q(h, &h->core, n + 2, 1000));
	assert_int_equal(STATUS(last(&h->core)), 481);
	h_free(h);
}

/* TS 24.229 §5.4.2.1.2: an S-CSCF ends the subscription itself when the UE
 * de-registers (NOTIFY, Subscription-State: terminated): no unsubscribe. */
static void test_dereg_notifier_ends(void **state)
{
	struct h *h = re_up_t1("600000", "50");
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char sub[4096], req[8192];
	size_t n;

	(void)state;
	subscribed(h, b, sub, sizeof(sub), "600");
	n = h->core.n;
	do_register(h, b, 0, 0);
	core_send(h, notify(req, sizeof(req), h, sub, "sc1", 6, "terminated",
			    reginfo("terminated", "terminated", "unregistered", br_contact(0))));
	assert_true(wait_q(h, &h->core, n + 2, 1000)); /* the REGISTER, the NOTIFY's answer */
	assert_int_equal(STATUS(last(&h->core)), 200);
	settle(h, 600); /* past the 8 T1 wait */
	assert_null(find_core(h, "SUBSCRIBE ", n));
	n = h->core.n;
	core_send(h, notify(req, sizeof(req), h, sub, "sc1", 7, "terminated", ""));
	assert_true(wait_q(h, &h->core, n + 1, 1000));
	assert_int_equal(STATUS(last(&h->core)), 481);
	h_free(h);
}

/* Registered again while waiting for the notifier: the subscription is kept
 * and refreshed in its dialog, not ended. */
static void test_dereg_then_register(void **state)
{
	struct h *h = re_up_t1("600000", "50");
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char sub[4096];
	const char *r;
	size_t n;

	(void)state;
	subscribed(h, b, sub, sizeof(sub), "600");
	n = h->core.n;
	do_register(h, b, 0, 0);
	do_register(h, b, 0, 600);
	r = wait_core(h, "SUBSCRIBE ", n, 1000);
	assert_non_null(r);
	assert_string_equal(H(r, "Call-ID", 0), H(sub, "Call-ID", 0));
	assert_string_equal(H(r, "To", 0), "<sip:alice@ims.test>;tag=sc1");
	assert_string_equal(H(r, "Expires", 0), "600000");
	settle(h, 600);
	for (size_t i = n; i < h->core.n; i++)
		if (strncmp(h->core.m[i], "SUBSCRIBE ", 10) == 0)
			assert_string_not_equal(H(h->core.m[i], "Expires", 0), "0");
	h_free(h);
}

/* RFC 6665 §4.1.3: a subscription the notifier terminates while flows of the
 * IMPU are still registered is made again: at once for "deactivated" (once in
 * a row), after retry-after for "probation", never for "noresource". */
static void test_resubscribe(void **state)
{
	struct h *h = re_up("600000");
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char sub[4096], sub2[4096], req[8192], resp[4096];
	const char *s;
	size_t n;

	(void)state;
	subscribed(h, b, sub, sizeof(sub), "600");
	n = h->core.n;
	core_send(h, notify(req, sizeof(req), h, sub, "sc1", 2, "terminated;reason=deactivated",
			    reginfo("active", "active", "registered", br_contact(0))));
	s = wait_core(h, "SUBSCRIBE ", n, 1000);
	assert_non_null(s);
	assert_string_equal(RURI(s), "sip:alice@ims.test");
	assert_string_equal(H(s, "To", 0), "<sip:alice@ims.test>"); /* a new dialog */
	assert_string_not_equal(H(s, "Call-ID", 0), H(sub, "Call-ID", 0));
	assert_string_equal(H(s, "Expires", 0), "600000");
	assert_int_equal(wims_proxy_stats(h->px)->bindings_open, 1);
	snprintf(sub2, sizeof(sub2), "%s", s);
	core_send(h, reply_to(resp, sizeof(resp), sub2, 200, "sc2", "Expires: 600\r\n"));
	settle(h, 30);
	/* deactivated again at once: not a loop, later */
	n = h->core.n;
	core_send(h, notify(req, sizeof(req), h, sub2, "sc2", 1, "terminated;reason=deactivated", ""));
	assert_true(wait_q(h, &h->core, n + 1, 1000));
	settle(h, 200);
	assert_null(find_core(h, "SUBSCRIBE ", n));
	h_free(h);

	/* probation with retry-after: after it, not before */
	h = re_up("600000");
	b = br_open(h, 0, WIMS_SIP_WSS);
	subscribed(h, b, sub, sizeof(sub), "600");
	n = h->core.n;
	core_send(h, notify(req, sizeof(req), h, sub, "sc1", 2, "terminated;reason=probation;retry-after=1", ""));
	settle(h, 300);
	assert_null(find_core(h, "SUBSCRIBE ", n));
	s = wait_core(h, "SUBSCRIBE ", n, 2000);
	assert_non_null(s);
	assert_string_equal(H(s, "To", 0), "<sip:alice@ims.test>");
	h_free(h);

	/* noresource: not again; the subscription is gone */
	h = re_up("600000");
	b = br_open(h, 0, WIMS_SIP_WSS);
	subscribed(h, b, sub, sizeof(sub), "600");
	n = h->core.n;
	core_send(h, notify(req, sizeof(req), h, sub, "sc1", 2, "terminated;reason=noresource", ""));
	settle(h, 300);
	assert_null(find_core(h, "SUBSCRIBE ", n));
	n = h->core.n;
	core_send(h, notify(req, sizeof(req), h, sub, "sc1", 3, "active", ""));
	assert_true(wait_q(h, &h->core, n + 1, 1000));
	assert_int_equal(STATUS(last(&h->core)), 481);
	h_free(h);
}

/* A registration that runs out without a refresh is removed by the P-CSCF's
 * sweep (every 5 s): the IMPU's subscription ends with it. */
static void test_registration_expires(void **state)
{
	struct h *h = re_up("600000");
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char sub[4096], resp[4096];
	const char *s;
	size_t n;

	(void)state;
	do_register(h, b, 0, 1);
	s = wait_core(h, "SUBSCRIBE ", 0, 1000);
	assert_non_null(s);
	snprintf(sub, sizeof(sub), "%s", s);
	core_send(h, reply_to(resp, sizeof(resp), sub, 200, "sc1", "Expires: 600\r\n"));
	settle(h, 30);
	assert_int_equal(wims_proxy_stats(h->px)->bindings_open, 1);
	n = h->core.n;
	s = wait_core(h, "SUBSCRIBE ", n, 8000);
	assert_non_null(s);
	assert_string_equal(H(s, "Expires", 0), "0");
	assert_int_equal(wims_proxy_stats(h->px)->bindings_open, 0);
	h_free(h);
}

/* Browsers registered as the same IMPU share one subscription: it ends with
 * the last of them, whatever order they leave in (the flow index of
 * regevent.c moves entries around when one leaves from the middle). */
static void test_shared_subscription(void **state)
{
	struct h *h = re_up_t1("600000", "50");
	struct browser *b[3];
	char sub[4096];
	size_t n;

	(void)state;
	for (unsigned i = 0; i < 3; i++)
		b[i] = br_open(h, i, WIMS_SIP_WSS);
	subscribed(h, b[0], sub, sizeof(sub), "600");
	n = h->core.n;
	do_register(h, b[1], 1, 600);
	do_register(h, b[2], 2, 600);
	settle(h, 30);
	assert_null(find_core(h, "SUBSCRIBE ", n)); /* one subscription for the three */
	n = h->core.n;
	do_register(h, b[1], 1, 0);
	do_register(h, b[0], 0, 0);
	settle(h, 600); /* longer than the 8 T1 the last one waits for the notifier */
	assert_null(find_core(h, "SUBSCRIBE ", n)); /* b[2] is still registered */
	n = h->core.n;
	do_register(h, b[2], 2, 0);
	unsubscribed(h, n); /* the notifier said nothing in 8 T1 */
	h_free(h);
}

/* RFC 6665 §4.1.2.1: a 423 makes wimsd ask again for the notifier's
 * Min-Expires; a 423 that asks for nothing longer is a refusal (no loop). */
static void test_interval_too_brief(void **state)
{
	struct h *h = re_up("600");
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char sub[4096], resp[4096];
	const char *s;
	size_t n;

	(void)state;
	do_register(h, b, 0, 600);
	s = wait_core(h, "SUBSCRIBE ", 0, 1000);
	assert_non_null(s);
	assert_string_equal(H(s, "Expires", 0), "600");
	snprintf(sub, sizeof(sub), "%s", s);
	n = h->core.n;
	core_send(h, reply_to(resp, sizeof(resp), sub, 423, "", "Min-Expires: 3600\r\n"));
	s = wait_core(h, "SUBSCRIBE ", n, 1000);
	assert_non_null(s);
	assert_string_equal(H(s, "Expires", 0), "3600");
	assert_string_equal(H(s, "Call-ID", 0), H(sub, "Call-ID", 0));
	assert_string_not_equal(H(s, "CSeq", 0), H(sub, "CSeq", 0));
	snprintf(sub, sizeof(sub), "%s", s);
	n = h->core.n;
	core_send(h, reply_to(resp, sizeof(resp), sub, 423, "", "Min-Expires: 3600\r\n"));
	settle(h, 100);
	assert_null(find_core(h, "SUBSCRIBE ", n)); /* not again at once: the retry timer */
	h_free(h);
}

/* Shutting down ends the subscriptions: the S-CSCF must not go on
 * notifying a process that is gone (its successor would answer 481). */
static void test_drain_unsubscribes(void **state)
{
	struct h *h = re_up("600000");
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char sub[4096];
	size_t n;

	(void)state;
	subscribed(h, b, sub, sizeof(sub), "600");
	n = h->core.n;
	wims_proxy_drain(h->px);
	const char *un = unsubscribed(h, n);
	assert_int_equal(wims_proxy_busy(h->px), 1); /* shutdown waits for its answer */
	/* the final NOTIFY (Kamailio's reason): answered, and no new subscription
	 * although the flow is still registered */
	char unsub[4096], req[8192], resp[4096];
	snprintf(unsub, sizeof(unsub), "%s", un);
	core_send(h, reply_to(resp, sizeof(resp), unsub, 200, "sc1", "Expires: 0\r\n"));
	n = h->core.n;
	core_send(h, notify(req, sizeof(req), h, sub, "sc1", 9, "terminated;reason=timeout", ""));
	assert_true(wait_q(h, &h->core, n + 1, 1000));
	assert_int_equal(STATUS(last(&h->core)), 200);
	settle(h, 100);
	assert_null(find_core(h, "SUBSCRIBE ", n));
	h_free(h);
}

/* RFC 6665 §4.1.2.4: the first NOTIFY may come before the 2xx; it makes the dialog. */
static void test_notify_first(void **state)
{
	struct h *h = re_up("600000");
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char sub[4096], req[8192], resp[4096], want[128];
	const char *s, *r;
	size_t n;

	(void)state;
	do_register(h, b, 0, 600);
	s = wait_core(h, "SUBSCRIBE ", 0, 1000);
	assert_non_null(s);
	snprintf(sub, sizeof(sub), "%s", s);
	n = h->core.n;
	core_send(h, notify(req, sizeof(req), h, sub, "sc9", 1, "active;expires=600",
			    reginfo("active", "active", "registered", br_contact(0))));
	assert_true(wait_q(h, &h->core, n + 1, 1000));
	assert_int_equal(STATUS(last(&h->core)), 200);
	core_send(h, reply_to(resp, sizeof(resp), sub, 200, "sc9", "Expires: 1\r\n"));
	n = h->core.n;
	r = wait_core(h, "SUBSCRIBE ", n, 2000);
	assert_non_null(r);
	assert_string_equal(RURI(r), fmt(want, sizeof(want), "sip:scscf@127.0.0.1:%u", h->cport));
	assert_string_equal(H(r, "To", 0), "<sip:alice@ims.test>;tag=sc9");
	h_free(h);
}

/* Off by default: no SUBSCRIBE, and a NOTIFY to wimsd is not ours. */
static void test_off(void **state)
{
	struct h *h = h_new();
	char v[80];

	(void)state;
	conf_set(h, "general", "role", "pcscf");
	conf_set(h, "pcscf", "reg_subscribe", "no");
	conf_set(h, "pcscf", "scscf", fmt(v, sizeof(v), "sip:127.0.0.1:%u", h->cport));
	h_start(h);
	do_register(h, br_open(h, 0, WIMS_SIP_WSS), 0, 600);
	settle(h, 50);
	assert_null(find_core(h, "SUBSCRIBE ", 0));
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_subscribe),	   cmocka_unit_test(test_refresh),
	    cmocka_unit_test(test_notify_answers), cmocka_unit_test(test_network_dereg),
	    cmocka_unit_test(test_registration_terminated), cmocka_unit_test(test_unsubscribe),
	    cmocka_unit_test(test_interval_too_brief),
	    cmocka_unit_test(test_drain_unsubscribes),
	    cmocka_unit_test(test_shared_subscription),
	    cmocka_unit_test(test_notify_first),    cmocka_unit_test(test_off),
	    cmocka_unit_test(test_dereg_notifier_ends), cmocka_unit_test(test_dereg_then_register),
	    cmocka_unit_test(test_resubscribe),     cmocka_unit_test(test_registration_expires),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
