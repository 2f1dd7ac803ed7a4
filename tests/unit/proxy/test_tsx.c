/* The proxy core on a real loop: checks of RFC 3261 §16.3 (400 naming the
 * fault, 483, 482, 481), CANCEL (§16.10), UDP retransmissions and timeouts
 * (§17), retransmitted requests and 2xx (RFC 6026), and the switch to TCP
 * for a large request (§18.1.1). */
#include "harness.h"

#define BVIA "SIP/2.0/WSS bq8dk2m.invalid;branch=z9hG4bK"

/* A request from browser 0 (no Contact unless in extra). */
static char *br_req(char *buf, size_t cap, const char *method, const char *branch, unsigned cseq,
		    const char *callid, const char *extra, const char *body)
{
	return fmt(buf, cap,
		   "%s sip:peer@ims.test SIP/2.0\r\n"
		   "Via: " BVIA "%s\r\n"
		   "Max-Forwards: 70\r\n"
		   "To: <sip:peer@ims.test>\r\n"
		   "From: <sip:user0@ims.test>;tag=b0\r\n"
		   "Call-ID: %s\r\n"
		   "CSeq: %u %s\r\n"
		   "%s"
		   "Content-Length: %zu\r\n"
		   "\r\n%s",
		   method, branch, callid, cseq, method, extra, strlen(body), body);
}

static void register_browser(struct h *h, struct browser *b)
{
	char req[2048], resp[2048], extra[300];

	br_send(b, br_req(req, sizeof(req), "REGISTER", "reg", 1, "reg@t",
			  "Contact: <sip:ub@x.invalid;transport=ws>;reg-id=1;"
			  "+sip.instance=\"<urn:uuid:00000000-0000-0000-0000-000000000001>\"\r\n",
			  ""));
	assert_true(wait_q(h, &h->core, 1, 1000));
	fmt(extra, sizeof(extra), "Contact: <%s>;expires=600\r\n", token_uri(h, b->id, true));
	core_send(h, reply_to(resp, sizeof(resp), h->core.m[0], 200, "r", extra));
	assert_true(wait_q(h, &b->q, 1, 1000));
	assert_int_equal(STATUS(b->q.m[0]), 200);
	q_clear(&b->q);
	q_clear(&h->core);
}

/* A request of the core for browser b's token. */
static char *core_req(char *buf, size_t cap, struct h *h, struct browser *b, const char *method,
		      const char *branch, const char *body)
{
	return fmt(buf, cap,
		   "%s %s SIP/2.0\r\n"
		   "Via: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bK%s;rport\r\n"
		   "Max-Forwards: 69\r\n"
		   "From: <sip:far@ims.test>;tag=far\r\n"
		   "To: <sip:user0@ims.test>\r\n"
		   "Call-ID: core-%s@t\r\n"
		   "CSeq: 3 %s\r\n"
		   "Contact: <sip:far@127.0.0.1:%u>\r\n"
		   "Content-Type: text/plain\r\n"
		   "Content-Length: %zu\r\n"
		   "\r\n%s",
		   method, token_uri(h, b->id, true), h->cport, branch, branch, method, h->cport,
		   strlen(body), body);
}

/* ---- 5. bad requests ---- */

static void test_bad_requests(void **state)
{
	struct h *h = h_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char req[2048];

	/* CSeq method mismatch */
	br_send(b, fmt(req, sizeof(req),
		       "INVITE sip:peer@ims.test SIP/2.0\r\nVia: " BVIA "bad1\r\nMax-Forwards: 70\r\n"
		       "To: <sip:peer@ims.test>\r\nFrom: <sip:user0@ims.test>;tag=b0\r\nCall-ID: bad1@t\r\n"
		       "CSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n"));
	assert_int_equal(b->q.n, 1);
	assert_string_equal(SL(b->q.m[0]), "SIP/2.0 400 CSeq method mismatch");
	assert_string_equal(V(b->q.m[0], WIMS_HDR_VIA, 0), BVIA "bad1");
	assert_string_equal(H(b->q.m[0], "Call-ID", 0), "bad1@t");
	assert_string_equal(H(b->q.m[0], "CSeq", 0), "1 REGISTER");

	/* a Content-Length larger than the body */
	br_send(b, fmt(req, sizeof(req),
		       "MESSAGE sip:peer@ims.test SIP/2.0\r\nVia: " BVIA "bad2\r\nMax-Forwards: 70\r\n"
		       "To: <sip:peer@ims.test>\r\nFrom: <sip:user0@ims.test>;tag=b0\r\nCall-ID: bad2@t\r\n"
		       "CSeq: 2 MESSAGE\r\nContent-Type: text/plain\r\nContent-Length: 500\r\n\r\nhello"));
	assert_int_equal(b->q.n, 2);
	assert_string_equal(SL(b->q.m[1]), "SIP/2.0 400 Bad Content-Length");
	assert_string_equal(H(b->q.m[1], "Call-ID", 0), "bad2@t");

	/* Content-Length that is not a number */
	br_send(b, fmt(req, sizeof(req),
		       "OPTIONS sip:peer@ims.test SIP/2.0\r\nVia: " BVIA "bad3\r\nMax-Forwards: 70\r\n"
		       "To: <sip:peer@ims.test>\r\nFrom: <sip:user0@ims.test>;tag=b0\r\nCall-ID: bad3@t\r\n"
		       "CSeq: 3 OPTIONS\r\nContent-Length: x1\r\n\r\n"));
	assert_int_equal(b->q.n, 3);
	assert_string_equal(SL(b->q.m[2]), "SIP/2.0 400 Bad Content-Length");
	assert_int_equal(wims_proxy_stats(h->px)->bad_requests, 3);

	/* a Via without branch (RFC 2543): no transaction can be made of it */
	br_send(b,
		fmt(req, sizeof(req),
		    "OPTIONS sip:peer@ims.test SIP/2.0\r\nVia: SIP/2.0/WSS bq8dk2m.invalid\r\nMax-Forwards: "
		    "70\r\n"
		    "To: <sip:peer@ims.test>\r\nFrom: <sip:user0@ims.test>;tag=b0\r\nCall-ID: nobranch@t\r\n"
		    "CSeq: 3 OPTIONS\r\nContent-Length: 0\r\n\r\n"));
	assert_int_equal(b->q.n, 4);
	assert_string_equal(SL(b->q.m[3]), "SIP/2.0 400 Bad Via branch");
	free(b->q.m[--b->q.n]);

	/* no Via: still answered on the connection it came on */
	br_send(b, fmt(req, sizeof(req),
		       "OPTIONS sip:peer@ims.test SIP/2.0\r\nMax-Forwards: 70\r\n"
		       "To: <sip:peer@ims.test>\r\nFrom: <sip:user0@ims.test>;tag=b0\r\nCall-ID: novia@t\r\n"
		       "CSeq: 3 OPTIONS\r\nContent-Length: 0\r\n\r\n"));
	assert_int_equal(b->q.n, 4);
	assert_int_equal(strncmp(b->q.m[3], "SIP/2.0 400 Missing Via\r\n", 25), 0);
	free(b->q.m[--b->q.n]);
	/* over UDP without a Via there is nowhere to answer */
	core_send(h,
		  fmt(req, sizeof(req),
		      "OPTIONS sip:peer@ims.test SIP/2.0\r\nMax-Forwards: 70\r\n"
		      "To: <sip:peer@ims.test>\r\nFrom: <sip:user0@ims.test>;tag=b0\r\nCall-ID: novia2@t\r\n"
		      "CSeq: 3 OPTIONS\r\nContent-Length: 0\r\n\r\n"));
	/* a malformed request from the core with a Via: 400 naming the fault */
	core_send(h,
		  fmt(req, sizeof(req),
		      "OPTIONS sip:peer@ims.test SIP/2.0\r\nVia: SIP/2.0/UDP "
		      "127.0.0.1:%u;branch=z9hG4bKcbad;rport\r\n"
		      "Max-Forwards: 70\r\nTo: <sip:peer@ims.test>\r\nFrom: <sip:user0@ims.test>;tag=b0\r\n"
		      "Call-ID: cbad@t\r\nCSeq: 3 INVITE\r\nContent-Length: 0\r\n\r\n",
		      h->cport));
	assert_true(wait_q(h, &h->core, 1, 1000));
	assert_string_equal(SL(h->core.m[0]), "SIP/2.0 400 CSeq method mismatch");
	assert_string_equal(H(h->core.m[0], "Call-ID", 0), "cbad@t");
	settle(h, 20);
	assert_int_equal(h->core.n, 1);
	q_clear(&h->core);

	/* the flow is still usable: a good request goes on to the core */
	assert_true(wims_sip_flow_alive(b->f));
	assert_int_equal(b->close_asked, 0);
	br_send(b, br_req(req, sizeof(req), "OPTIONS", "good1", 4, "good1@t", "", ""));
	assert_true(wait_q(h, &h->core, 1, 1000));
	assert_string_equal(SL(h->core.m[0]), "OPTIONS sip:peer@ims.test SIP/2.0");
	assert_string_equal(H(h->core.m[0], "Call-ID", 0), "good1@t");
	{
		char resp[2048];
		core_send(h, reply_to(resp, sizeof(resp), h->core.m[0], 200, "ok", ""));
		assert_true(wait_q(h, &b->q, 4, 1000));
		assert_string_equal(SL(b->q.m[3]), "SIP/2.0 200 OK");
		assert_string_equal(H(b->q.m[3], "Call-ID", 0), "good1@t");
		q_clear(&h->core);
		settle(h, 30);
		assert_int_equal(h->core.n, 0);
	}

	/* RFC 3261 §16.3 item 3: Max-Forwards 0 */
	br_send(b, fmt(req, sizeof(req),
		       "MESSAGE sip:peer@ims.test SIP/2.0\r\nVia: " BVIA "mf0\r\nMax-Forwards: 0\r\n"
		       "To: <sip:peer@ims.test>\r\nFrom: <sip:user0@ims.test>;tag=b0\r\nCall-ID: mf0@t\r\n"
		       "CSeq: 5 MESSAGE\r\nContent-Length: 0\r\n\r\n"));
	assert_int_equal(b->q.n, 5);
	assert_string_equal(SL(b->q.m[4]), "SIP/2.0 483 Too Many Hops");
	assert_string_equal(V(b->q.m[4], WIMS_HDR_VIA, 0), BVIA "mf0");

	/* RFC 3261 §16.10: a CANCEL that matches nothing */
	br_send(b, fmt(req, sizeof(req),
		       "CANCEL sip:peer@ims.test SIP/2.0\r\nVia: " BVIA "nothing\r\nMax-Forwards: 70\r\n"
		       "To: <sip:peer@ims.test>\r\nFrom: <sip:user0@ims.test>;tag=b0\r\nCall-ID: c0@t\r\n"
		       "CSeq: 1 CANCEL\r\nContent-Length: 0\r\n\r\n"));
	assert_int_equal(b->q.n, 6);
	assert_string_equal(SL(b->q.m[5]), "SIP/2.0 481 Call/Transaction Does Not Exist");
	assert_string_equal(H(b->q.m[5], "CSeq", 0), "1 CANCEL");

	settle(h, 30);
	assert_int_equal(h->core.n, 0); /* none of the bad ones went on */
	assert_int_equal(b->q.n, 6);
	h_free(h);
}

/* RFC 3261 §16.3 item 4: the P-CSCF sends us back what we sent it, unchanged. */
static void test_loop_detected(void **state)
{
	struct h *h = h_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char req[2048], back[2048];

	br_send(b, br_req(req, sizeof(req), "MESSAGE", "loop1", 1, "loop@t", "Content-Type: text/plain\r\n",
			  "hi"));
	assert_true(wait_q(h, &h->core, 1, 1000));
	core_send(h, reply_to(back, sizeof(back), h->core.m[0], 200, "ok", ""));
	assert_true(wait_q(h, &b->q, 1, 1000));
	/* as a proxy that routes it back to us would: its Via on top of ours */
	fmt(back, sizeof(back), "%s", h->core.m[0]);
	replace_once(back, sizeof(back), "Via: ",
		     fmt(req, sizeof(req),
			 "Via: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKpcscf1;rport\r\nVia: ", h->cport));
	core_send(h, back);
	assert_true(wait_q(h, &h->core, 2, 1000));
	assert_string_equal(SL(h->core.m[1]), "SIP/2.0 482 Loop Detected");
	assert_string_equal(BRANCH(h->core.m[1], 0), "z9hG4bKpcscf1");
	assert_string_equal(BRANCH(h->core.m[1], 1), BRANCH(h->core.m[0], 0));
	/* the same request with another Request-URI is a spiral, not a loop */
	replace_once(back, sizeof(back), "MESSAGE sip:peer@ims.test", "MESSAGE sip:other@ims.test");
	replace_once(back, sizeof(back), "z9hG4bKpcscf1", "z9hG4bKpcscf2");
	core_send(h, back);
	assert_true(wait_q(h, &h->core, 3, 1000));
	/* no token in the Request-URI: 404 to the core, nothing to the browser */
	assert_string_equal(SL(h->core.m[2]), "SIP/2.0 404 No Such Flow");
	assert_string_equal(BRANCH(h->core.m[2], 0), "z9hG4bKpcscf2");
	settle(h, 30);
	assert_int_equal(h->core.n, 3);
	assert_int_equal(b->q.n, 1);
	h_free(h);
}

/* ---- 6. CANCEL ---- */

static void test_cancel(void **state)
{
	struct h *h = h_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char inv[2048], req[2048], resp[2048], want[2048];
	const char *at, *c, *ack;

	br_send(b, br_req(inv, sizeof(inv), "INVITE", "c1", 20, "cancel@t",
			  "Contact: <sip:ub@x.invalid;transport=ws>\r\n", ""));
	assert_int_equal(b->q.n, 1); /* 100 */
	assert_true(wait_q(h, &h->core, 1, 1000));
	at = h->core.m[0];
	core_send(h, reply_to(resp, sizeof(resp), at, 180, "callee", ""));
	assert_true(wait_q(h, &b->q, 2, 1000));
	assert_string_equal(b->q.m[1], reply_to(want, sizeof(want), inv, 180, "callee", ""));

	br_send(b, fmt(req, sizeof(req),
		       "CANCEL sip:peer@ims.test SIP/2.0\r\nVia: " BVIA "c1\r\nMax-Forwards: 70\r\n"
		       "To: <sip:peer@ims.test>\r\nFrom: <sip:user0@ims.test>;tag=b0\r\nCall-ID: cancel@t\r\n"
		       "CSeq: 20 CANCEL\r\nContent-Length: 0\r\n\r\n"));
	assert_int_equal(b->q.n, 3);
	assert_string_equal(SL(b->q.m[2]), "SIP/2.0 200 OK");
	assert_string_equal(H(b->q.m[2], "CSeq", 0), "20 CANCEL");
	assert_string_equal(V(b->q.m[2], WIMS_HDR_VIA, 0), BVIA "c1");

	assert_true(wait_q(h, &h->core, 2, 1000));
	c = h->core.m[1];
	assert_string_equal(SL(c), "CANCEL sip:peer@ims.test SIP/2.0");
	assert_int_equal(VN(c, WIMS_HDR_VIA), 1);
	assert_string_equal(V(c, WIMS_HDR_VIA, 0), V(at, WIMS_HDR_VIA, 0)); /* same branch as the INVITE */
	assert_string_equal(H(c, "CSeq", 0), "20 CANCEL");
	assert_string_equal(H(c, "From", 0), H(at, "From", 0));
	assert_string_equal(H(c, "To", 0), H(at, "To", 0));
	assert_string_equal(H(c, "Call-ID", 0), "cancel@t");
	assert_int_equal(VN(c, WIMS_HDR_ROUTE), VN(at, WIMS_HDR_ROUTE));
	assert_string_equal(V(c, WIMS_HDR_ROUTE, 0), V(at, WIMS_HDR_ROUTE, 0));

	/* the core: 200 to the CANCEL, 487 to the INVITE */
	core_send(h, reply_to(resp, sizeof(resp), c, 200, "callee", ""));
	core_send(h, reply_to(resp, sizeof(resp), at, 487, "callee", ""));
	assert_true(wait_q(h, &b->q, 4, 1000));
	assert_string_equal(b->q.m[3], reply_to(want, sizeof(want), inv, 487, "callee", ""));
	assert_true(wait_q(h, &h->core, 3, 1000));
	ack = h->core.m[2];
	assert_string_equal(SL(ack), "ACK sip:peer@ims.test SIP/2.0");
	assert_string_equal(V(ack, WIMS_HDR_VIA, 0), V(at, WIMS_HDR_VIA, 0));
	assert_string_equal(H(ack, "CSeq", 0), "20 ACK");
	assert_string_equal(H(ack, "To", 0), "<sip:peer@ims.test>;tag=callee");
	assert_string_equal(V(ack, WIMS_HDR_ROUTE, 0), V(at, WIMS_HDR_ROUTE, 0));

	/* the browser's ACK for the 487 ends there; a retransmitted 487 gets our ACK again */
	br_send(b, fmt(req, sizeof(req),
		       "ACK sip:peer@ims.test SIP/2.0\r\nVia: " BVIA "c1\r\nMax-Forwards: 70\r\n"
		       "To: <sip:peer@ims.test>;tag=callee\r\nFrom: <sip:user0@ims.test>;tag=b0\r\n"
		       "Call-ID: cancel@t\r\nCSeq: 20 ACK\r\nContent-Length: 0\r\n\r\n"));
	settle(h, 20);
	assert_int_equal(h->core.n, 3);
	unsigned d = h->dups;
	core_send(h, reply_to(resp, sizeof(resp), at, 487, "callee", ""));
	assert_true(wait_dups(h, d + 1, 1000)); /* the same ACK, byte for byte */
	assert_int_equal(h->core.n, 3);
	settle(h, 20);
	assert_int_equal(b->q.n, 4);
	assert_int_equal(wims_proxy_busy(h->px), 0);
	h_free(h);
}

/* CANCEL before any provisional response: held until one comes. */
static void test_cancel_before_provisional(void **state)
{
	struct h *h = h_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char inv[2048], req[2048], resp[2048];

	br_send(b, br_req(inv, sizeof(inv), "INVITE", "c2", 1, "cancel2@t", "", ""));
	assert_true(wait_q(h, &h->core, 1, 1000));
	br_send(b,
		fmt(req, sizeof(req),
		    "CANCEL sip:peer@ims.test SIP/2.0\r\nVia: " BVIA "c2\r\nMax-Forwards: 70\r\n"
		    "To: <sip:peer@ims.test>\r\nFrom: <sip:user0@ims.test>;tag=b0\r\nCall-ID: cancel2@t\r\n"
		    "CSeq: 1 CANCEL\r\nContent-Length: 0\r\n\r\n"));
	assert_string_equal(SL(last(&b->q)), "SIP/2.0 200 OK");
	/* RFC 3261 §9.1: no CANCEL before a provisional response */
	{
		size_t n = h->core.n;
		for (size_t i = 0; i < n; i++)
			assert_int_equal(strncmp(h->core.m[i], "CANCEL", 6) != 0, 1);
	}
	core_send(h, reply_to(resp, sizeof(resp), h->core.m[0], 100, "", ""));
	uint64_t end = now_ms() + 1000;
	const char *c = NULL;
	while (!c && now_ms() < end) {
		settle(h, 5);
		for (size_t i = 0; i < h->core.n && !c; i++)
			if (strncmp(h->core.m[i], "CANCEL", 6) == 0)
				c = h->core.m[i];
	}
	assert_non_null(c);
	assert_string_equal(BRANCH(c, 0), BRANCH(h->core.m[0], 0));
	h_free(h);
}

/* A provisional response crossing our CANCEL does not cancel the 64*T1
 * wait for the final response (RFC 3261 §9.1, §16.8 timer C). */
static void test_cancel_then_183_times_out(void **state)
{
	struct h *h = h_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char inv[2048], req[2048], resp[2048];

	br_send(b, br_req(inv, sizeof(inv), "INVITE", "c3", 1, "cancel3@t", "", ""));
	assert_true(wait_q(h, &h->core, 1, 1000));
	core_send(h, reply_to(resp, sizeof(resp), h->core.m[0], 180, "callee", ""));
	assert_true(wait_q(h, &b->q, 2, 1000));
	br_send(b,
		fmt(req, sizeof(req),
		    "CANCEL sip:peer@ims.test SIP/2.0\r\nVia: " BVIA "c3\r\nMax-Forwards: 70\r\n"
		    "To: <sip:peer@ims.test>\r\nFrom: <sip:user0@ims.test>;tag=b0\r\nCall-ID: cancel3@t\r\n"
		    "CSeq: 1 CANCEL\r\nContent-Length: 0\r\n\r\n"));
	assert_int_equal(b->q.n, 3);
	assert_true(wait_q(h, &h->core, 2, 1000));
	assert_int_equal(strncmp(h->core.m[1], "CANCEL ", 7), 0);
	core_send(h, reply_to(resp, sizeof(resp), h->core.m[1], 200, "callee", ""));
	/* the callee's 183 was on its way; then the core says nothing more */
	core_send(h, reply_to(resp, sizeof(resp), h->core.m[0], 183, "callee", ""));
	assert_true(wait_q(h, &b->q, 4, 1000));
	assert_int_equal(STATUS(b->q.m[3]), 183);
	assert_true(wait_q(h, &b->q, 5, 1500));
	assert_string_equal(SL(b->q.m[4]), "SIP/2.0 408 Request Timeout");
	assert_string_equal(H(b->q.m[4], "CSeq", 0), "1 INVITE");
	assert_int_equal(wims_proxy_busy(h->px), 0);
	h_free(h);
}

/* The core CANCELs its INVITE to a browser. */
static void test_cancel_from_core(void **state)
{
	struct h *h = h_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char inv[2048], req[2048], resp[2048], want[2048];
	const char *at, *c;

	h->keep_dups = true; /* retransmissions are what this test looks at */

	register_browser(h, b);
	core_send(h, core_req(inv, sizeof(inv), h, b, "INVITE", "ci1", ""));
	assert_true(wait_q(h, &b->q, 1, 1000));
	at = b->q.m[0];
	br_send(b,
		reply_to(resp, sizeof(resp), at, 180, "ub", "Contact: <sip:ub@x.invalid;transport=ws>\r\n"));
	assert_true(wait_q(h, &h->core, 2, 1000)); /* 100, 180 */
	assert_int_equal(STATUS(h->core.m[1]), 180);
	fmt(req, sizeof(req),
	    "CANCEL %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKci1;rport\r\nMax-Forwards: "
	    "70\r\n"
	    "From: <sip:far@ims.test>;tag=far\r\nTo: <sip:user0@ims.test>\r\nCall-ID: core-ci1@t\r\n"
	    "CSeq: 3 CANCEL\r\nContent-Length: 0\r\n\r\n",
	    token_uri(h, b->id, true), h->cport);
	core_send(h, req);
	assert_true(wait_q(h, &h->core, 3, 1000));
	assert_string_equal(SL(h->core.m[2]), "SIP/2.0 200 OK");
	assert_string_equal(H(h->core.m[2], "CSeq", 0), "3 CANCEL");
	assert_true(wait_q(h, &b->q, 2, 1000));
	c = b->q.m[1];
	assert_string_equal(SL(c), "CANCEL sip:ub@x.invalid;transport=ws SIP/2.0");
	assert_int_equal(VN(c, WIMS_HDR_VIA), 1);
	assert_string_equal(V(c, WIMS_HDR_VIA, 0), V(at, WIMS_HDR_VIA, 0));
	assert_string_equal(H(c, "CSeq", 0), "3 CANCEL");
	/* the browser: 200 to the CANCEL (ends here), 487 to the INVITE */
	br_send(b, reply_to(resp, sizeof(resp), c, 200, "ub", ""));
	br_send(b, reply_to(resp, sizeof(resp), at, 487, "ub", ""));
	assert_true(wait_q(h, &h->core, 4, 1000));
	assert_string_equal(h->core.m[3], reply_to(want, sizeof(want), inv, 487, "ub", ""));
	assert_true(wait_q(h, &b->q, 3, 1000));
	assert_string_equal(SL(b->q.m[2]), "ACK sip:ub@x.invalid;transport=ws SIP/2.0");
	assert_string_equal(V(b->q.m[2], WIMS_HDR_VIA, 0), V(at, WIMS_HDR_VIA, 0));
	assert_string_equal(H(b->q.m[2], "To", 0), "<sip:user0@ims.test>;tag=ub");

	/* timer G: the 487 again toward the UDP core until its ACK */
	assert_true(wait_q(h, &h->core, 6, 1000));
	assert_string_equal(h->core.m[4], h->core.m[3]);
	assert_string_equal(h->core.m[5], h->core.m[3]);
	fmt(req, sizeof(req),
	    "ACK %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKci1;rport\r\nMax-Forwards: 70\r\n"
	    "From: <sip:far@ims.test>;tag=far\r\nTo: <sip:user0@ims.test>;tag=ub\r\nCall-ID: core-ci1@t\r\n"
	    "CSeq: 3 ACK\r\nContent-Length: 0\r\n\r\n",
	    token_uri(h, b->id, true), h->cport);
	core_send(h, req);
	settle(h, 20);
	size_t n = h->core.n;
	settle(h, 150);
	assert_int_equal(h->core.n, n);
	assert_int_equal(b->q.n, 3); /* the hop-by-hop ACK is not forwarded */
	h_free(h);
}

/* The browser's flow goes while its INVITE is pending: CANCEL downstream. */
static void test_flow_gone_pending_invite(void **state)
{
	struct h *h = h_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char inv[2048], resp[2048];

	br_send(b, br_req(inv, sizeof(inv), "INVITE", "g1", 4, "gone1@t", "", ""));
	assert_true(wait_q(h, &h->core, 1, 1000));
	core_send(h, reply_to(resp, sizeof(resp), h->core.m[0], 180, "callee", ""));
	assert_true(wait_q(h, &b->q, 2, 1000));
	br_gone(b);
	assert_true(wait_q(h, &h->core, 2, 1000));
	assert_int_equal(strncmp(h->core.m[1], "CANCEL sip:peer@ims.test SIP/2.0", 32), 0);
	assert_string_equal(BRANCH(h->core.m[1], 0), BRANCH(h->core.m[0], 0));
	assert_string_equal(H(h->core.m[1], "CSeq", 0), "4 CANCEL");
	core_send(h, reply_to(resp, sizeof(resp), h->core.m[1], 200, "callee", ""));
	core_send(h, reply_to(resp, sizeof(resp), h->core.m[0], 487, "callee", ""));
	assert_true(wait_q(h, &h->core, 3, 1000));
	assert_int_equal(strncmp(h->core.m[2], "ACK sip:peer@ims.test SIP/2.0", 29), 0);
	settle(h, 30);
	assert_int_equal(wims_proxy_busy(h->px), 0);
	h_free(h);
}

/* The browser's flow goes while the core's INVITE waits for it: 430 (outbound). */
static void test_flow_gone_pending_core_invite(void **state)
{
	struct h *h = h_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char inv[2048];

	register_browser(h, b);
	core_send(h, core_req(inv, sizeof(inv), h, b, "INVITE", "gi1", ""));
	assert_true(wait_q(h, &b->q, 1, 1000));
	assert_true(wait_q(h, &h->core, 1, 1000));
	assert_int_equal(STATUS(h->core.m[0]), 100);
	br_gone(b);
	assert_true(wait_q(h, &h->core, 2, 1000));
	assert_string_equal(SL(h->core.m[1]), "SIP/2.0 430 Flow Failed");
	assert_string_equal(V(h->core.m[1], WIMS_HDR_VIA, 0), V(inv, WIMS_HDR_VIA, 0));
	assert_string_equal(H(h->core.m[1], "CSeq", 0), "3 INVITE");
	h_free(h);
}

/* ---- 7. UDP retransmissions ---- */

static size_t count_branch(struct h *h, const char *start, const char *branch)
{
	size_t n = 0;

	for (size_t i = 0; i < h->core.n; i++)
		if (strncmp(h->core.m[i], start, strlen(start)) == 0 &&
		    strcmp(BRANCH(h->core.m[i], 0), branch) == 0)
			n++;
	return n;
}

static void test_timer_e_and_408(void **state)
{
	struct h *h = h_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char req[2048], branch[80];
	uint64_t t0 = now_ms(), t408;

	h->keep_dups = true; /* retransmissions are what this test looks at */

	br_send(b, br_req(req, sizeof(req), "MESSAGE", "e1", 7, "timer-e@t", "Content-Type: text/plain\r\n",
			  "ping"));
	assert_true(wait_q(h, &h->core, 3, 1000));
	fmt(branch, sizeof(branch), "%s", BRANCH(h->core.m[0], 0));
	/* timer E: the same request again, same branch, byte for byte */
	assert_int_equal(count_branch(h, "MESSAGE ", branch), 3);
	assert_string_equal(h->core.m[1], h->core.m[0]);
	assert_string_equal(h->core.m[2], h->core.m[0]);
	assert_int_equal(b->q.n, 0);

	/* timer F (64*T1 = 640 ms): 408 to the browser */
	assert_true(wait_q(h, &b->q, 1, 1500));
	t408 = now_ms();
	assert_true(t408 - t0 >= 600);
	assert_string_equal(SL(b->q.m[0]), "SIP/2.0 408 Request Timeout");
	assert_string_equal(V(b->q.m[0], WIMS_HDR_VIA, 0), BVIA "e1");
	assert_int_equal(VN(b->q.m[0], WIMS_HDR_VIA), 1);
	assert_string_equal(H(b->q.m[0], "CSeq", 0), "7 MESSAGE");
	assert_string_equal(H(b->q.m[0], "Call-ID", 0), "timer-e@t");
	assert_true(count_branch(h, "MESSAGE ", branch) >= 4);
	/* and the retransmissions stop */
	size_t n = h->core.n;
	settle(h, 150);
	assert_int_equal(h->core.n, n);
	assert_int_equal(b->q.n, 1);
	assert_int_equal(wims_proxy_stats(h->px)->tsx_timeouts, 1);
	h_free(h);
}

/* Timer A for an unanswered INVITE, then 408. */
static void test_timer_a(void **state)
{
	struct h *h = h_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char req[2048];

	h->keep_dups = true; /* retransmissions are what this test looks at */

	br_send(b, br_req(req, sizeof(req), "INVITE", "a1", 1, "timer-a@t", "", ""));
	assert_true(wait_q(h, &h->core, 3, 1000));
	assert_int_equal(count_branch(h, "INVITE ", BRANCH(h->core.m[0], 0)), 3);
	assert_true(wait_q(h, &b->q, 2, 1500));
	assert_string_equal(SL(b->q.m[1]), "SIP/2.0 408 Request Timeout");
	h_free(h);
}

static void test_request_retransmission_absorbed(void **state)
{
	struct h *h = h_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char req[2048], resp[2048];

	h->keep_dups = true; /* retransmissions are what this test looks at */

	register_browser(h, b);
	core_send(h, core_req(req, sizeof(req), h, b, "MESSAGE", "m1", "hello"));
	assert_true(wait_q(h, &b->q, 1, 1000));
	assert_string_equal(SL(b->q.m[0]), "MESSAGE sip:ub@x.invalid;transport=ws SIP/2.0");
	assert_string_equal(BODY(b->q.m[0]), "hello");
	br_send(b, reply_to(resp, sizeof(resp), b->q.m[0], 200, "ub", ""));
	assert_true(wait_q(h, &h->core, 1, 1000));
	assert_string_equal(h->core.m[0], reply_to(resp, sizeof(resp), req, 200, "ub", ""));
	/* the core did not see the 200 and sends the MESSAGE again */
	core_send(h, req);
	assert_true(wait_q(h, &h->core, 2, 1000));
	assert_string_equal(h->core.m[1], h->core.m[0]);
	settle(h, 30);
	assert_int_equal(b->q.n, 1);
	assert_int_equal(h->core.n, 2);

	/* an INVITE retransmitted before the browser answers: 100 again */
	q_clear(&h->core);
	core_send(h, core_req(req, sizeof(req), h, b, "INVITE", "i1", ""));
	assert_true(wait_q(h, &h->core, 1, 1000));
	assert_int_equal(STATUS(h->core.m[0]), 100);
	assert_true(wait_q(h, &b->q, 2, 1000));
	core_send(h, req);
	assert_true(wait_q(h, &h->core, 2, 1000));
	assert_string_equal(h->core.m[1], h->core.m[0]);
	settle(h, 30);
	assert_int_equal(b->q.n, 2);
	h_free(h);
}

/* RFC 6026: retransmissions of the 2xx to an INVITE go up as the first did. */
static void test_2xx_retransmission(void **state)
{
	struct h *h = h_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char inv[2048], resp[2048], want[2048];

	br_send(b, br_req(inv, sizeof(inv), "INVITE", "x1", 1, "2xx@t",
			  "Contact: <sip:ub@x.invalid;transport=ws>\r\n", ""));
	assert_true(wait_q(h, &h->core, 1, 1000));
	core_send(h, reply_to(resp, sizeof(resp), h->core.m[0], 200, "callee",
			      "Contact: <sip:peer@192.0.2.9>\r\n"));
	assert_true(wait_q(h, &b->q, 2, 1000));
	reply_to(want, sizeof(want), inv, 200, "callee", "Contact: <sip:peer@192.0.2.9>\r\n");
	assert_string_equal(b->q.m[1], want);
	/* the core retransmits its 2xx (no ACK yet) */
	core_send(h, resp);
	assert_true(wait_q(h, &b->q, 3, 1000));
	assert_string_equal(b->q.m[2], want);
	h_free(h);
}

/* ---- 8. large requests go over TCP ---- */

static void test_large_invite_over_tcp(void **state)
{
	struct h *h = h_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char body[1400], inv[4096], resp[4096], want[4096], via[100];
	const char *at;

	memset(body, 'a', sizeof(body) - 3);
	memcpy(body + sizeof(body) - 3, "\r\n", 3);
	br_send(b,
		br_req(inv, sizeof(inv), "INVITE", "big", 1, "big@t", "Content-Type: text/plain\r\n", body));
	assert_true(strlen(inv) > 1300);
	assert_true(wait_q(h, &h->core, 1, 1000));
	at = h->core.m[0];
	assert_true(h->core.tcp[0]);
	fmt(via, sizeof(via), "SIP/2.0/TCP 127.0.0.1:%u;branch=", h->port);
	assert_int_equal(VN(at, WIMS_HDR_VIA), 1);
	assert_int_equal(strncmp(V(at, WIMS_HDR_VIA, 0), via, strlen(via)), 0);
	assert_string_equal(BODY(at), body);
	/* answers come back on that connection */
	core_send_tcp(h, h->core_conn[0], reply_to(resp, sizeof(resp), at, 180, "t", ""));
	core_send_tcp(h, h->core_conn[0], reply_to(resp, sizeof(resp), at, 486, "t", ""));
	assert_true(wait_q(h, &b->q, 3, 1000));
	assert_string_equal(b->q.m[1], reply_to(want, sizeof(want), inv, 180, "t", ""));
	assert_string_equal(b->q.m[2], reply_to(want, sizeof(want), inv, 486, "t", ""));
	assert_true(wait_q(h, &h->core, 2, 1000));
	assert_true(h->core.tcp[1]);
	assert_string_equal(SL(h->core.m[1]), "ACK sip:peer@ims.test SIP/2.0");
	assert_string_equal(V(h->core.m[1], WIMS_HDR_VIA, 0), V(at, WIMS_HDR_VIA, 0));
	/* reliable transport: no retransmission */
	settle(h, 50);
	assert_int_equal(h->core.n, 2);
	h_free(h);
}

/* A small request still goes over UDP. */
static void test_small_invite_over_udp(void **state)
{
	struct h *h = h_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char inv[2048];

	br_send(b, br_req(inv, sizeof(inv), "INVITE", "small", 1, "small@t", "", ""));
	assert_true(wait_q(h, &h->core, 1, 1000));
	assert_false(h->core.tcp[0]);
	assert_int_equal(strncmp(V(h->core.m[0], WIMS_HDR_VIA, 0), "SIP/2.0/UDP ", 12), 0);
	h_free(h);
}

/* Draining (SIGTERM): new requests get 503, open transactions finish, ACKs pass. */
static void test_drain(void **state)
{
	struct h *h = h_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char inv[2048], req[2048], resp[2048];

	br_send(b, br_req(inv, sizeof(inv), "INVITE", "d1", 1, "drain@t", "", ""));
	assert_true(wait_q(h, &h->core, 1, 1000));
	core_send(h, reply_to(resp, sizeof(resp), h->core.m[0], 180, "callee", ""));
	assert_true(wait_q(h, &b->q, 2, 1000));
	assert_int_equal(wims_proxy_busy(h->px), 1);
	wims_proxy_drain(h->px);
	br_send(b, br_req(req, sizeof(req), "OPTIONS", "d2", 2, "drain2@t", "", ""));
	assert_int_equal(b->q.n, 3);
	assert_string_equal(SL(b->q.m[2]), "SIP/2.0 503 Shutting Down");
	assert_string_equal(H(b->q.m[2], "Retry-After", 0), "5");
	assert_string_equal(V(b->q.m[2], WIMS_HDR_VIA, 0), BVIA "d2");
	core_send(h, reply_to(resp, sizeof(resp), h->core.m[0], 200, "callee",
			      "Contact: <sip:peer@192.0.2.9>\r\n"));
	assert_true(wait_q(h, &b->q, 4, 1000));
	assert_int_equal(STATUS(b->q.m[3]), 200);
	assert_int_equal(wims_proxy_busy(h->px), 0);
	br_send(b, fmt(req, sizeof(req),
		       "ACK sip:peer@192.0.2.9 SIP/2.0\r\nVia: " BVIA "d3\r\nMax-Forwards: 70\r\n"
		       "To: <sip:peer@ims.test>;tag=callee\r\nFrom: <sip:user0@ims.test>;tag=b0\r\n"
		       "Call-ID: drain@t\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n"));
	assert_true(wait_q(h, &h->core, 2, 1000));
	assert_string_equal(SL(h->core.m[1]), "ACK sip:peer@192.0.2.9 SIP/2.0");
	h_free(h);
}

/* RFC 3261 §18.2.2 / RFC 3581: a response over UDP goes to the Via port,
 * or with rport to the source port. */
static void test_udp_response_address(void **state)
{
	struct h *h = h_up();
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	char req[2048], buf[4096];
	int alt = socket(AF_INET, SOCK_DGRAM, 0);
	ssize_t n = -1;

	assert_true(alt >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(alt, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(alt, (struct sockaddr *)&sa, &sl), 0);
	set_nonblock(alt);
	/* without rport: to the Via's port (alt), though sent from the core socket */
	core_send(
	    h,
	    fmt(req, sizeof(req),
		"OPTIONS sip:127.0.0.1:%u SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKnorport\r\n"
		"Max-Forwards: 70\r\nFrom: <sip:pcscf@ims.test>;tag=ka\r\nTo: <sip:127.0.0.1>\r\n"
		"Call-ID: norport@test\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
		h->port, ntohs(sa.sin_port)));
	for (uint64_t end = now_ms() + 1000; n <= 0 && now_ms() < end;) {
		spin_once(h);
		n = recv(alt, buf, sizeof(buf) - 1, 0);
	}
	assert_true(n > 0);
	buf[n] = 0;
	assert_string_equal(SL(buf), "SIP/2.0 200 OK");
	assert_string_equal(H(buf, "Call-ID", 0), "norport@test");
	assert_int_equal(h->core.n, 0);
	/* with rport: back to the source, whatever the Via says */
	core_send(h, fmt(req, sizeof(req),
			 "OPTIONS sip:127.0.0.1:%u SIP/2.0\r\nVia: SIP/2.0/UDP "
			 "127.0.0.1:%u;branch=z9hG4bKrport;rport\r\n"
			 "Max-Forwards: 70\r\nFrom: <sip:pcscf@ims.test>;tag=ka\r\nTo: <sip:127.0.0.1>\r\n"
			 "Call-ID: rport@test\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
			 h->port, ntohs(sa.sin_port)));
	assert_true(wait_q(h, &h->core, 1, 1000));
	assert_string_equal(H(h->core.m[0], "Call-ID", 0), "rport@test");
	close(alt);
	h_free(h);
}

/* RFC 3261 §16.3 item 3: an ACK with Max-Forwards 0 is not forwarded, and
 * like any ACK it is not answered (nor is one with a bad Max-Forwards). */
static void test_ack_max_forwards(void **state)
{
	struct h *h = h_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char req[2048];
	const char *mfs[] = {"0", "abc", "1"};

	for (size_t i = 0; i < 3; i++) {
		br_send(b, fmt(req, sizeof(req),
			       "ACK sip:peer@192.0.2.9 SIP/2.0\r\nVia: " BVIA "mf%zu\r\nMax-Forwards: %s\r\n"
			       "To: <sip:peer@ims.test>;tag=callee\r\nFrom: <sip:user0@ims.test>;tag=b0\r\n"
			       "Call-ID: ackmf@t\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
			       i, mfs[i]));
	}
	assert_true(wait_q(h, &h->core, 1, 1000));
	settle(h, 30);
	if (b->q.n)
		print_message("browser got: %s\n", b->q.m[0]);
	assert_int_equal(b->q.n, 0);
	assert_int_equal(h->core.n, 1); /* only the one with Max-Forwards 1 */
	assert_string_equal(H(h->core.m[0], "Max-Forwards", 0), "0");
	h_free(h);
}

/* The browser's connection cannot take the request: 480 to the core. */
static void test_send_to_browser_fails(void **state)
{
	struct h *h = h_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char inv[2048];

	register_browser(h, b);
	b->send_rc = -ENOBUFS;
	core_send(h, core_req(inv, sizeof(inv), h, b, "INVITE", "sf1", ""));
	assert_true(wait_q(h, &h->core, 2, 1000));
	assert_int_equal(STATUS(h->core.m[0]), 100);
	assert_string_equal(SL(h->core.m[1]), "SIP/2.0 480 Temporarily Unavailable");
	assert_string_equal(H(h->core.m[1], "CSeq", 0), "3 INVITE");
	assert_int_equal(b->q.n, 0);
	assert_int_equal(wims_proxy_busy(h->px), 0);
	h_free(h);
}

/* Every Via the browser's request had is hidden from the core and put back, in order. */
static void test_several_vias_restored(void **state)
{
	struct h *h = h_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char req[2048], resp[2048];

	br_send(b, fmt(req, sizeof(req),
		       "MESSAGE sip:peer@ims.test SIP/2.0\r\nVia: " BVIA
		       "v1, SIP/2.0/WSS a.invalid;branch=z9hG4bKv2\r\n"
		       "v: SIP/2.0/WSS b.invalid;branch=z9hG4bKv3;received=192.0.2.1\r\nMax-Forwards: 70\r\n"
		       "To: <sip:peer@ims.test>\r\nFrom: <sip:user0@ims.test>;tag=b0\r\nCall-ID: vias@t\r\n"
		       "CSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n"));
	assert_true(wait_q(h, &h->core, 1, 1000));
	assert_int_equal(VN(h->core.m[0], WIMS_HDR_VIA), 1);
	core_send(h, reply_to(resp, sizeof(resp), h->core.m[0], 200, "p", ""));
	assert_true(wait_q(h, &b->q, 1, 1000));
	assert_int_equal(VN(b->q.m[0], WIMS_HDR_VIA), 3);
	assert_string_equal(V(b->q.m[0], WIMS_HDR_VIA, 0), BVIA "v1");
	assert_string_equal(V(b->q.m[0], WIMS_HDR_VIA, 1), "SIP/2.0/WSS a.invalid;branch=z9hG4bKv2");
	assert_string_equal(V(b->q.m[0], WIMS_HDR_VIA, 2),
			    "SIP/2.0/WSS b.invalid;branch=z9hG4bKv3;received=192.0.2.1");
	assert_string_equal(SL(b->q.m[0]), "SIP/2.0 200 OK");
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bad_requests),
	    cmocka_unit_test(test_loop_detected),
	    cmocka_unit_test(test_cancel),
	    cmocka_unit_test(test_cancel_before_provisional),
	    cmocka_unit_test(test_cancel_then_183_times_out),
	    cmocka_unit_test(test_cancel_from_core),
	    cmocka_unit_test(test_flow_gone_pending_invite),
	    cmocka_unit_test(test_flow_gone_pending_core_invite),
	    cmocka_unit_test(test_timer_e_and_408),
	    cmocka_unit_test(test_timer_a),
	    cmocka_unit_test(test_request_retransmission_absorbed),
	    cmocka_unit_test(test_2xx_retransmission),
	    cmocka_unit_test(test_large_invite_over_tcp),
	    cmocka_unit_test(test_small_invite_over_udp),
	    cmocka_unit_test(test_drain),
	    cmocka_unit_test(test_udp_response_address),
	    cmocka_unit_test(test_ack_max_forwards),
	    cmocka_unit_test(test_send_to_browser_fails),
	    cmocka_unit_test(test_several_vias_restored),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
