/* RFC 4028 session timers kept on a browser's behalf (stimer.c), on a real
 * loop (IWU role): wims offers timers for a browser without them, refreshes
 * with UPDATE in the browser's name when the browser is the refresher,
 * keeps the browser's CSeq space apart from its own, answers for a browser
 * callee, and releases the call on both sides when a refresh fails or the
 * session expires.  Session intervals of 2-3 s keep the tests short. */
#include "harness.h"

#define SR "<sip:orig@scscf.ims.test;lr>"

static const char *br_contact(void)
{
	return "sip:u0@x0.invalid;transport=ws";
}

static void do_register(struct h *h, struct browser *b)
{
	char req[4096], resp[4096], extra[1024];

	br_send(b, fmt(req, sizeof(req),
		       "REGISTER sip:ims.test SIP/2.0\r\nVia: SIP/2.0/WSS b.invalid;branch=z9hG4bKr1\r\n"
		       "Max-Forwards: 70\r\nTo: <sip:user0@ims.test>\r\nFrom: <sip:user0@ims.test>;tag=reg0\r\n"
		       "Call-ID: reg-0@test\r\nCSeq: 1 REGISTER\r\n"
		       "Contact: <%s>;+sip.instance=\"<urn:uuid:11111111-2222-3333-4444-555555555550>\";"
		       "reg-id=1;expires=600\r\nSupported: path,outbound\r\nContent-Length: 0\r\n\r\n",
		       br_contact()));
	assert_true(wait_q(h, &h->core, 1, 1000));
	fmt(extra, sizeof(extra), "Contact: <%s>;expires=600\r\nService-Route: " SR "\r\n",
	    token_uri(h, b->id, true));
	core_send(h, reply_to(resp, sizeof(resp), last(&h->core), 200, "regok", extra));
	assert_true(wait_q(h, &b->q, 1, 1000));
	q_clear(&b->q);
	q_clear(&h->core);
}

#define SDP "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n"

/* The browser (no timer support) calls; the core answers 200 with se_hdrs. */
static void browser_calls(struct h *h, struct browser *b, const char *se_hdrs)
{
	char req[4096], resp[4096], extra[600];
	const char *at;

	br_send(b, fmt(req, sizeof(req),
		       "INVITE sip:callee@ims.test SIP/2.0\r\nVia: SIP/2.0/WSS b.invalid;branch=z9hG4bKi1\r\n"
		       "Max-Forwards: 70\r\nTo: <sip:callee@ims.test>\r\nFrom: <sip:user0@ims.test>;tag=br\r\n"
		       "Call-ID: st-1@test\r\nCSeq: 5 INVITE\r\nContact: <%s;ob>\r\n"
		       "Supported: outbound\r\nContent-Type: application/sdp\r\nContent-Length: %zu\r\n\r\n%s",
		       br_contact(), strlen(SDP), SDP));
	assert_true(wait_q(h, &h->core, 1, 1000));
	at = h->core.m[0];
	/* RFC 4028 §8: wims offers timers for the browser */
	assert_string_equal(H(at, "Session-Expires", 0), "1800");
	assert_string_equal(H(at, "Min-SE", 0), "90");
	assert_string_equal(H(at, "Supported", 1), "timer");
	fmt(extra, sizeof(extra), "Contact: <sip:callee@127.0.0.1:%u>\r\nRecord-Route: <sip:127.0.0.1:%u;lr>\r\n%s",
	    h->cport, h->cport, se_hdrs);
	core_send(h, reply_to(resp, sizeof(resp), at, 200, "callee", extra));
	assert_true(wait_q(h, &b->q, 2, 1000));
	at = b->q.m[1];
	assert_int_equal(STATUS(at), 200);
	assert_string_equal(H(at, "Require", 0), ABSENT); /* the browser is not asked for timer */
	assert_string_equal(H(at, "CSeq", 0), "5 INVITE");
	q_clear(&h->core);
}

static void assert_update(struct h *h, const char *at, const char *cseq)
{
	char want[300];

	assert_string_equal(SL(at), fmt(want, sizeof(want), "UPDATE sip:callee@127.0.0.1:%u SIP/2.0", h->cport));
	assert_string_equal(H(at, "Route", 0), fmt(want, sizeof(want), "<sip:127.0.0.1:%u;lr>", h->cport));
	assert_string_equal(H(at, "From", 0), "<sip:user0@ims.test>;tag=br");
	assert_string_equal(H(at, "To", 0), "<sip:callee@ims.test>;tag=callee");
	assert_string_equal(H(at, "CSeq", 0), cseq);
	assert_string_equal(H(at, "Session-Expires", 0), "2;refresher=uac");
	assert_string_equal(BODY(at), "");
	assert_int_equal(strncmp(H(at, "Contact", 0), "<sip:wt", 7), 0);
}

/* The core makes the browser the refresher: wims refreshes at SE/2 with
 * UPDATE, absorbs its 2xx, and renumbers the browser's later requests. */
static void test_refresh_for_browser_uac(void **state)
{
	struct h *h = h_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char req[4096], resp[4096];

	(void)state;
	do_register(h, b);
	browser_calls(h, b, "Session-Expires: 2;refresher=uac\r\nRequire: timer\r\n");
	settle(h, 700);
	assert_int_equal(h->core.n, 0); /* not before half the interval */
	assert_true(wait_q(h, &h->core, 1, 1500));
	assert_update(h, h->core.m[0], "6 UPDATE");
	core_send(h, reply_to(resp, sizeof(resp), h->core.m[0], 200, "", "Session-Expires: 2;refresher=uac\r\n"));
	settle(h, 100);
	assert_int_equal(b->q.n, 2); /* absorbed */
	/* a second refresh after the next half interval */
	assert_true(wait_q(h, &h->core, 2, 1500));
	assert_update(h, h->core.m[1], "7 UPDATE");
	core_send(h, reply_to(resp, sizeof(resp), h->core.m[1], 200, "", "Session-Expires: 2;refresher=uac\r\n"));
	settle(h, 50);
	/* the browser's BYE, CSeq 6, reaches the core as 8; its answer as 6 */
	br_send(b, fmt(req, sizeof(req),
		       "BYE sip:callee@127.0.0.1:%u SIP/2.0\r\nVia: SIP/2.0/WSS b.invalid;branch=z9hG4bKb1\r\n"
		       "Max-Forwards: 70\r\nRoute: <sip:127.0.0.1:%u;lr>\r\nFrom: <sip:user0@ims.test>;tag=br\r\n"
		       "To: <sip:callee@ims.test>;tag=callee\r\nCall-ID: st-1@test\r\nCSeq: 6 BYE\r\n"
		       "Content-Length: 0\r\n\r\n",
		       h->cport, h->cport));
	assert_true(wait_q(h, &h->core, 3, 1000));
	assert_string_equal(H(h->core.m[2], "CSeq", 0), "8 BYE");
	core_send(h, reply_to(resp, sizeof(resp), h->core.m[2], 200, "", ""));
	assert_true(wait_q(h, &b->q, 3, 1000));
	assert_int_equal(STATUS(b->q.m[2]), 200);
	assert_string_equal(H(b->q.m[2], "CSeq", 0), "6 BYE");
	settle(h, 1200);
	assert_int_equal(h->core.n, 3); /* the session is over: no more refreshes */
	h_free(h);
}

/* The browser's connection drops in a call wims refreshes for it: the call
 * is released toward the core (dialog.c) and the refresh timer goes with the
 * flow (stimer.c finds the flow's sessions by flow id): no UPDATE after. */
static void test_flow_gone_stops_refresh(void **state)
{
	struct h *h = h_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	const char *bye;

	(void)state;
	do_register(h, b);
	browser_calls(h, b, "Session-Expires: 2;refresher=uac\r\nRequire: timer\r\n");
	br_gone(b);
	assert_true(wait_q(h, &h->core, 1, 1000));
	bye = h->core.m[0];
	assert_int_equal(strncmp(bye, "BYE ", 4), 0);
	assert_string_equal(H(bye, "CSeq", 0), "6 BYE");
	settle(h, 1600); /* a refresh would have come at 1 s */
	assert_int_equal(h->core.n, 1);
	h_free(h);
}

/* The core's side does not allow UPDATE: the refresh is a re-INVITE with
 * the SDP the core last got from the browser's side, and wims ACKs its 2xx. */
static void test_refresh_reinvite(void **state)
{
	struct h *h = h_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char resp[4096], want[300];
	const char *at;

	(void)state;
	do_register(h, b);
	browser_calls(h, b, "Session-Expires: 2;refresher=uac\r\nRequire: timer\r\nAllow: INVITE, ACK, BYE\r\n");
	assert_true(wait_q(h, &h->core, 1, 2000));
	at = h->core.m[0];
	assert_string_equal(SL(at), fmt(want, sizeof(want), "INVITE sip:callee@127.0.0.1:%u SIP/2.0", h->cport));
	assert_string_equal(H(at, "CSeq", 0), "6 INVITE");
	assert_string_equal(H(at, "Session-Expires", 0), "2;refresher=uac");
	assert_string_equal(H(at, "Content-Type", 0), "application/sdp");
	/* the offer as the core got it in the INVITE (precond.c may have added qos lines) */
	assert_int_equal(strncmp(BODY(at), SDP, strlen(SDP) - 2), 0);
	core_send(h, reply_to(resp, sizeof(resp), at, 200, "", "Session-Expires: 2;refresher=uac\r\n"));
	assert_true(wait_q(h, &h->core, 2, 1000));
	at = h->core.m[1];
	assert_string_equal(SL(at), fmt(want, sizeof(want), "ACK sip:callee@127.0.0.1:%u SIP/2.0", h->cport));
	assert_string_equal(H(at, "CSeq", 0), "6 ACK");
	assert_string_equal(H(at, "To", 0), "<sip:callee@ims.test>;tag=callee");
	settle(h, 100);
	assert_int_equal(b->q.n, 2); /* the browser sees nothing of it */
	/* and again after the next half interval */
	assert_true(wait_q(h, &h->core, 3, 1500));
	assert_string_equal(H(h->core.m[2], "CSeq", 0), "7 INVITE");
	h_free(h);
}

/* The refresh is not answered (timer F: 408) or gets 481: BYE to both sides. */
static void refresh_fails(bool answer_481)
{
	struct h *h = h_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char resp[4096], want[300];
	const char *bye;

	do_register(h, b);
	browser_calls(h, b, "Session-Expires: 2;refresher=uac\r\nRequire: timer\r\n");
	assert_true(wait_q(h, &h->core, 1, 2000));
	assert_update(h, h->core.m[0], "6 UPDATE");
	if (answer_481)
		core_send(h, reply_to(resp, sizeof(resp), h->core.m[0], 481, "", ""));
	assert_true(wait_q(h, &b->q, 3, 2000));
	bye = b->q.m[2];
	assert_string_equal(SL(bye), fmt(want, sizeof(want), "BYE %s;ob SIP/2.0", br_contact()));
	assert_string_equal(H(bye, "From", 0), "<sip:callee@ims.test>;tag=callee");
	assert_string_equal(H(bye, "To", 0), "<sip:user0@ims.test>;tag=br");
	assert_string_equal(H(bye, "CSeq", 0), "1 BYE");
	assert_string_equal(H(bye, "Reason", 0), "SIP;cause=408;text=\"Session timer expired\"");
	for (size_t i = 0; i < h->core.n; i++) {
		if (strncmp(h->core.m[i], "BYE ", 4) == 0) {
			assert_string_equal(SL(h->core.m[i]),
					    fmt(want, sizeof(want), "BYE sip:callee@127.0.0.1:%u SIP/2.0", h->cport));
			assert_string_equal(H(h->core.m[i], "CSeq", 0), "7 BYE");
			assert_string_equal(H(h->core.m[i], "From", 0), "<sip:user0@ims.test>;tag=br");
			assert_int_equal(wims_proxy_stats(h->px)->dialogs_open, 0);
			h_free(h);
			return;
		}
	}
	fail_msg("no BYE toward the core");
}

static void test_refresh_481(void **state)
{
	(void)state;
	refresh_fails(true);
}

static void test_refresh_timeout(void **state)
{
	(void)state;
	refresh_fails(false);
}

/* The core calls with Session-Expires and Require: timer; the browser
 * answers without timers: Require stripped toward it, its 2xx answered for
 * (RFC 4028 §9), and with refresher=uas wims refreshes in its name. */
static void core_calls(struct h *h, struct browser *b, const char *se_hdrs)
{
	char req[4096], resp[4096], ct[300];
	const char *at;

	core_send(h, fmt(req, sizeof(req),
			 "INVITE %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKcore1;rport\r\n"
			 "Max-Forwards: 68\r\nRecord-Route: <sip:127.0.0.1:%u;lr>\r\n"
			 "From: <sip:caller@ims.test>;tag=fcore\r\nTo: <sip:user0@ims.test>\r\n"
			 "Call-ID: st-2@test\r\nCSeq: 10 INVITE\r\nContact: <sip:caller@127.0.0.1:%u>\r\n%s"
			 "Content-Type: application/sdp\r\nContent-Length: %zu\r\n\r\n%s",
			 token_uri(h, b->id, true), h->cport, h->cport, h->cport, se_hdrs, strlen(SDP), SDP));
	assert_true(wait_q(h, &b->q, 1, 1000));
	at = b->q.m[0];
	assert_string_equal(H(at, "Require", 0), ABSENT);
	fmt(ct, sizeof(ct), "Contact: <%s>\r\nRecord-Route: <sip:127.0.0.1:%u;lr>\r\n", br_contact(), h->cport);
	br_send(b, reply_to(resp, sizeof(resp), at, 200, "tbr", ct));
	assert_true(wait_q(h, &h->core, 2, 1000));
}

static void test_answer_for_browser_uas(void **state)
{
	struct h *h = h_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WS);
	char req[4096], resp[4096], want[300];
	const char *ok, *up;

	(void)state;
	do_register(h, b);
	core_calls(h, b, "Session-Expires: 2;refresher=uas\r\nSupported: timer\r\nRequire: timer\r\n");
	ok = h->core.m[1];
	assert_int_equal(STATUS(ok), 200);
	assert_string_equal(H(ok, "Session-Expires", 0), "2;refresher=uas");
	assert_string_equal(H(ok, "Require", 0), "timer");
	assert_true(wait_q(h, &h->core, 3, 2000));
	up = h->core.m[2];
	assert_string_equal(SL(up), fmt(want, sizeof(want), "UPDATE sip:caller@127.0.0.1:%u SIP/2.0", h->cport));
	assert_string_equal(H(up, "From", 0), "<sip:user0@ims.test>;tag=tbr");
	assert_string_equal(H(up, "To", 0), "<sip:caller@ims.test>;tag=fcore");
	assert_string_equal(H(up, "CSeq", 0), "1 UPDATE");
	assert_string_equal(H(up, "Contact", 0), fmt(want, sizeof(want), "<%s>", token_uri(h, b->id, true)));
	core_send(h, reply_to(resp, sizeof(resp), up, 200, "", "Session-Expires: 2;refresher=uac\r\n"));
	settle(h, 50);
	/* the browser's own first request uses CSeq 1 too: renumbered to 2 */
	br_send(b, fmt(req, sizeof(req),
		       "BYE sip:caller@127.0.0.1:%u SIP/2.0\r\nVia: SIP/2.0/WS b.invalid;branch=z9hG4bKb2\r\n"
		       "Max-Forwards: 70\r\nRoute: <sip:127.0.0.1:%u;lr>\r\nFrom: <sip:user0@ims.test>;tag=tbr\r\n"
		       "To: <sip:caller@ims.test>;tag=fcore\r\nCall-ID: st-2@test\r\nCSeq: 1 BYE\r\n"
		       "Content-Length: 0\r\n\r\n",
		       h->cport, h->cport));
	assert_true(wait_q(h, &h->core, 4, 1000));
	assert_string_equal(H(h->core.m[3], "CSeq", 0), "2 BYE");
	core_send(h, reply_to(resp, sizeof(resp), h->core.m[3], 200, "", ""));
	assert_true(wait_q(h, &b->q, 2, 1000));
	assert_string_equal(H(b->q.m[1], "CSeq", 0), "1 BYE");
	h_free(h);
}

/* The core is the refresher (it supports timers, the request named none)
 * and never refreshes: at SE - min(32, SE/3) wims releases the call. */
static void test_expiry_without_refresh(void **state)
{
	struct h *h = h_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WS);
	char want[300];
	const char *bye;

	(void)state;
	do_register(h, b);
	core_calls(h, b, "Session-Expires: 3\r\nSupported: timer\r\n");
	assert_string_equal(H(h->core.m[1], "Session-Expires", 0), "3;refresher=uac");
	settle(h, 1500);
	assert_int_equal(h->core.n, 2); /* wims does not refresh for the core */
	assert_int_equal(b->q.n, 1);
	assert_true(wait_q(h, &b->q, 2, 1500));
	bye = b->q.m[1];
	assert_string_equal(SL(bye), fmt(want, sizeof(want), "BYE %s SIP/2.0", br_contact()));
	assert_string_equal(H(bye, "CSeq", 0), "11 BYE");
	assert_string_equal(H(bye, "From", 0), "<sip:caller@ims.test>;tag=fcore");
	assert_true(wait_q(h, &h->core, 3, 1000));
	assert_string_equal(SL(h->core.m[2]),
			    fmt(want, sizeof(want), "BYE sip:caller@127.0.0.1:%u SIP/2.0", h->cport));
	assert_string_equal(H(h->core.m[2], "CSeq", 0), "1 BYE");
	assert_string_equal(H(h->core.m[2], "From", 0), "<sip:user0@ims.test>;tag=tbr");
	h_free(h);
}

/* The core refreshes (re-INVITE toward the browser): the browser's 2xx is
 * answered for again and the expiry moves; without a further refresh the
 * call ends SE - min(32, SE/3) after the last one. */
static void test_core_refresh_rearms(void **state)
{
	struct h *h = h_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WS);
	char req[4096], resp[4096], ct[300];
	const char *at;

	(void)state;
	do_register(h, b);
	core_calls(h, b, "Session-Expires: 3\r\nSupported: timer\r\n");
	settle(h, 1200);
	core_send(h, fmt(req, sizeof(req),
			 "INVITE %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKcore2;rport\r\n"
			 "Max-Forwards: 70\r\nFrom: <sip:caller@ims.test>;tag=fcore\r\nTo: <sip:user0@ims.test>;tag=tbr\r\n"
			 "Call-ID: st-2@test\r\nCSeq: 11 INVITE\r\nContact: <sip:caller@127.0.0.1:%u>\r\n"
			 "Session-Expires: 3;refresher=uac\r\nSupported: timer\r\nRequire: timer\r\nContent-Length: 0\r\n\r\n",
			 token_uri(h, b->id, true), h->cport, h->cport));
	assert_true(wait_q(h, &b->q, 2, 1000));
	at = b->q.m[1];
	assert_string_equal(SL(at), fmt(ct, sizeof(ct), "INVITE %s SIP/2.0", br_contact()));
	assert_string_equal(H(at, "Require", 0), ABSENT);
	fmt(ct, sizeof(ct), "Contact: <%s>\r\n", br_contact());
	br_send(b, reply_to(resp, sizeof(resp), at, 200, "", ct));
	assert_true(wait_q(h, &h->core, 4, 1000));
	at = last(&h->core);
	assert_int_equal(STATUS(at), 200);
	assert_string_equal(H(at, "Session-Expires", 0), "3;refresher=uac");
	assert_string_equal(H(at, "Require", 0), "timer");
	/* the first expiry (2 s after the call) has passed: no BYE */
	settle(h, 1200);
	assert_int_equal(b->q.n, 2);
	/* 2 s after the refresh it ends */
	assert_true(wait_q(h, &b->q, 3, 1500));
	assert_string_equal(H(b->q.m[2], "CSeq", 0), "12 BYE");
	h_free(h);
}

/* session_expires = 0: nothing is offered; a 2xx without Session-Expires
 * makes no session. */
static void test_disabled(void **state)
{
	struct h *h = h_new();
	struct browser *b;
	char req[4096];

	(void)state;
	conf_set(h, "sip", "session_expires", "0");
	h_start(h);
	b = br_open(h, 0, WIMS_SIP_WSS);
	do_register(h, b);
	br_send(b, fmt(req, sizeof(req),
		       "INVITE sip:callee@ims.test SIP/2.0\r\nVia: SIP/2.0/WSS b.invalid;branch=z9hG4bKi9\r\n"
		       "Max-Forwards: 70\r\nTo: <sip:callee@ims.test>\r\nFrom: <sip:user0@ims.test>;tag=br\r\n"
		       "Call-ID: st-9@test\r\nCSeq: 5 INVITE\r\nContact: <%s>\r\nContent-Length: 0\r\n\r\n",
		       br_contact()));
	assert_true(wait_q(h, &h->core, 1, 1000));
	assert_string_equal(H(h->core.m[0], "Session-Expires", 0), ABSENT);
	for (unsigned i = 0; i < VN(h->core.m[0], WIMS_HDR_SUPPORTED); i++)
		assert_string_not_equal(V(h->core.m[0], WIMS_HDR_SUPPORTED, i), "timer");
	h_free(h);
}

/* RFC 4028 §7.4: the core wants a longer interval than wims offered for the
 * browser: wims ACKs the 422 and sends the INVITE again (CSeq + 1); the
 * browser sees neither, and its ACK is renumbered to match. */
static void test_422_retry(void **state)
{
	struct h *h = h_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char req[4096], resp[4096], extra[300];
	const char *at;

	(void)state;
	do_register(h, b);
	br_send(b, fmt(req, sizeof(req),
		       "INVITE sip:callee@ims.test SIP/2.0\r\nVia: SIP/2.0/WSS b.invalid;branch=z9hG4bKi4\r\n"
		       "Max-Forwards: 70\r\nTo: <sip:callee@ims.test>\r\nFrom: <sip:user0@ims.test>;tag=br\r\n"
		       "Call-ID: st-4@test\r\nCSeq: 5 INVITE\r\nContact: <%s>\r\nContent-Length: 0\r\n\r\n",
		       br_contact()));
	assert_true(wait_q(h, &h->core, 1, 1000));
	core_send(h, reply_to(resp, sizeof(resp), h->core.m[0], 422, "", "Min-SE: 3600\r\n"));
	assert_true(wait_q(h, &h->core, 3, 1000));
	assert_string_equal(SL(h->core.m[1]), "ACK sip:callee@ims.test SIP/2.0");
	assert_string_equal(H(h->core.m[1], "CSeq", 0), "5 ACK");
	at = h->core.m[2];
	assert_string_equal(SL(at), "INVITE sip:callee@ims.test SIP/2.0");
	assert_string_equal(H(at, "CSeq", 0), "6 INVITE");
	assert_string_equal(H(at, "Session-Expires", 0), "3600");
	assert_string_equal(H(at, "Min-SE", 0), "3600");
	assert_string_not_equal(BRANCH(at, 0), BRANCH(h->core.m[0], 0));
	assert_int_equal(b->q.n, 1); /* only the 100 */
	fmt(extra, sizeof(extra), "Contact: <sip:callee@127.0.0.1:%u>\r\nSession-Expires: 3600;refresher=uas\r\n",
	    h->cport);
	core_send(h, reply_to(resp, sizeof(resp), at, 200, "callee", extra));
	assert_true(wait_q(h, &b->q, 2, 1000));
	assert_int_equal(STATUS(b->q.m[1]), 200);
	assert_string_equal(H(b->q.m[1], "CSeq", 0), "5 INVITE");
	br_send(b, fmt(req, sizeof(req),
		       "ACK sip:callee@127.0.0.1:%u SIP/2.0\r\nVia: SIP/2.0/WSS b.invalid;branch=z9hG4bKa4\r\n"
		       "Max-Forwards: 70\r\nTo: <sip:callee@ims.test>;tag=callee\r\nFrom: <sip:user0@ims.test>;tag=br\r\n"
		       "Call-ID: st-4@test\r\nCSeq: 5 ACK\r\nContent-Length: 0\r\n\r\n",
		       h->cport));
	assert_true(wait_q(h, &h->core, 4, 1000));
	assert_string_equal(H(h->core.m[3], "CSeq", 0), "6 ACK");
	/* the flow goes: dialog.c's BYE toward the core comes after CSeq 6 */
	br_gone(b);
	assert_true(wait_q(h, &h->core, 5, 1000));
	assert_string_equal(H(h->core.m[4], "CSeq", 0), "7 BYE");
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_refresh_for_browser_uac),
	    cmocka_unit_test(test_refresh_reinvite),
	    cmocka_unit_test(test_refresh_481),
	    cmocka_unit_test(test_refresh_timeout),
	    cmocka_unit_test(test_answer_for_browser_uas),
	    cmocka_unit_test(test_expiry_without_refresh),
	    cmocka_unit_test(test_core_refresh_rearms),
	    cmocka_unit_test(test_flow_gone_stops_refresh), cmocka_unit_test(test_disabled),
	    cmocka_unit_test(test_422_retry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
