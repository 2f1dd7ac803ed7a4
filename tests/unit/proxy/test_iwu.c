/* The IWU role end to end on a real loop: a browser's REGISTER and INVITE
 * toward the P-CSCF (Via hidden, Contact as a flow token, Service-Route
 * preloaded), the core's INVITE toward a browser (Request-URI restored),
 * and what a lost WebSocket flow does (BYE toward the core, 430 / 480). */
#include "harness.h"

#define SR "<sip:orig@scscf.ims.test;lr>"
#define INSTANCE "\"<urn:uuid:11111111-2222-3333-4444-55555555555%u>\""

/* ---- what a JsSIP-like browser i sends ---- */

static const char *br_contact(unsigned i)
{
	char *o = ring();

	snprintf(o, 4096, "sip:u%u@x%u.invalid;transport=ws", i, i);
	return o;
}

static const char *br_via(unsigned i, const char *branch)
{
	char *o = ring();

	snprintf(o, 4096, "SIP/2.0/WSS df7jal23ls0d%u.invalid;branch=z9hG4bK%s", i, branch);
	return o;
}

static char *br_register(char *buf, size_t cap, unsigned i, unsigned cseq, const char *branch, bool regid,
			 const char *auth_response)
{
	char ct[400];

	if (regid)
		fmt(ct, sizeof(ct), "<%s>;+sip.instance=" INSTANCE ";reg-id=1;expires=600", br_contact(i), i);
	else
		fmt(ct, sizeof(ct), "<%s>;expires=600", br_contact(i));
	return fmt(buf, cap,
		   "REGISTER sip:ims.test SIP/2.0\r\n"
		   "Via: %s\r\n"
		   "Max-Forwards: 70\r\n"
		   "To: <sip:user%u@ims.test>\r\n"
		   "From: \"User %u\" <sip:user%u@ims.test>;tag=reg%u\r\n"
		   "Call-ID: reg-call-%u@test\r\n"
		   "CSeq: %u REGISTER\r\n"
		   "Contact: %s\r\n"
		   "Authorization: Digest username=\"user%u@ims.test\", realm=\"ims.test\", nonce=\"%s\", "
		   "uri=\"sip:ims.test\", response=\"%s\"\r\n"
		   "Allow: INVITE,ACK,CANCEL,BYE,UPDATE,MESSAGE,OPTIONS,REFER,INFO,NOTIFY\r\n"
		   "Supported: path,gruu,outbound\r\n"
		   "User-Agent: JsSIP 3.10.1\r\n"
		   "Content-Length: 0\r\n"
		   "\r\n",
		   br_via(i, branch), i, i, i, i, i, cseq, ct, i, auth_response[0] ? "n0nce" : "",
		   auth_response);
}

/* what precond.c adds to a browser's offer toward the core (RFC 3312 §5) */
#define QOS_OFFER                                                                                            \
	"a=curr:qos local none\r\na=curr:qos remote none\r\na=des:qos mandatory local sendrecv\r\n"           \
	"a=des:qos none remote sendrecv\r\n"
#define SDP                                                                                                  \
	"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF "  \
	"111\r\n"

static char *br_invite(char *buf, size_t cap, unsigned i, const char *branch, unsigned cseq)
{
	return fmt(buf, cap,
		   "INVITE sip:callee@ims.test SIP/2.0\r\n"
		   "Via: %s\r\n"
		   "Max-Forwards: 70\r\n"
		   "To: <sip:callee@ims.test>\r\n"
		   "From: \"User %u\" <sip:user%u@ims.test>;tag=inv%u\r\n"
		   "Call-ID: inv-call-%u@test\r\n"
		   "CSeq: %u INVITE\r\n"
		   "Contact: <%s;ob>\r\n"
		   "Content-Type: application/sdp\r\n"
		   "Supported: outbound\r\n"
		   "Content-Length: %zu\r\n"
		   "\r\n%s",
		   br_via(i, branch), i, i, i, i, cseq, br_contact(i), strlen(SDP), SDP);
}

/* The core's INVITE toward a browser's token. */
static char *core_invite(char *buf, size_t cap, struct h *h, const char *ruri, const char *callid)
{
	return fmt(buf, cap,
		   "INVITE %s SIP/2.0\r\n"
		   "Via: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKcore-%s;rport\r\n"
		   "Max-Forwards: 68\r\n"
		   "Record-Route: <sip:127.0.0.1:%u;lr>\r\n"
		   "From: <sip:caller@ims.test>;tag=fcore\r\n"
		   "To: <sip:user0@ims.test>\r\n"
		   "Call-ID: %s\r\n"
		   "CSeq: 10 INVITE\r\n"
		   "Contact: <sip:caller@127.0.0.1:%u>\r\n"
		   "Content-Type: application/sdp\r\n"
		   "Content-Length: %zu\r\n"
		   "\r\n%s",
		   ruri, h->cport, callid, h->cport, callid, h->cport, strlen(SDP), SDP);
}

/* ---- steps ---- */

/* The Via wimsd puts on what it sends to the core. */
static void assert_our_udp_via(struct h *h, const char *msg)
{
	char want[120];
	const char *v = V(msg, WIMS_HDR_VIA, 0);

	fmt(want, sizeof(want), "SIP/2.0/UDP 127.0.0.1:%u;branch=", h->port);
	assert_int_equal(strncmp(v, want, strlen(want)), 0);
	assert_int_equal(strncmp(BRANCH(msg, 0), "z9hG4bK", 7), 0);
	assert_non_null(strstr(v, ";rport"));
}

/* Contact value at the core: <our token URI> then the browser's header params. */
static void assert_token_contact(struct h *h, struct browser *b, const char *val, bool outbound,
				 const char *params)
{
	char want[600];
	uint64_t id = 0;
	bool ob = !outbound;

	fmt(want, sizeof(want), "<%s>%s", token_uri(h, b->id, outbound), params);
	assert_string_equal(val, want);
	assert_int_equal(strncmp(val, "<sip:wt", 7), 0);
	assert_int_equal(wims_proxy__token_parse(h->px, wims_str_make(val + 5, PX_TOKEN_LEN), &id, &ob), 0);
	assert_int_equal(id, b->id);
	assert_int_equal(ob, outbound);
}

/* REGISTER (answered 200 with a Service-Route) without the detailed checks of test 1. */
static void do_register(struct h *h, struct browser *b, unsigned i, bool regid)
{
	char req[4096], resp[4096], extra[1024];
	size_t nb = b->q.n, nc = h->core.n;

	br_send(b, br_register(req, sizeof(req), i, 1, "r1", regid, ""));
	assert_true(wait_q(h, &h->core, nc + 1, 1000));
	fmt(extra, sizeof(extra), "Contact: <%s>;expires=600\r\nService-Route: " SR "\r\n",
	    token_uri(h, b->id, regid));
	core_send(h, reply_to(resp, sizeof(resp), last(&h->core), 200, "regok", extra));
	assert_true(wait_q(h, &b->q, nb + 1, 1000));
	assert_int_equal(STATUS(last(&b->q)), 200);
}

/* ---- 1. REGISTER ---- */

static void test_register(void **state)
{
	struct h *h = h_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char req[4096], want[4096], resp[4096], extra[1024], via[200];
	const char *at;

	/* IMS AKA style: the first REGISTER already carries an Authorization */
	br_send(b, br_register(req, sizeof(req), 0, 1, "r1", true, ""));
	assert_int_equal(b->q.n, 0); /* no 100 to a REGISTER */
	assert_true(wait_q(h, &h->core, 1, 1000));
	at = h->core.m[0];
	assert_false(h->core.tcp[0]);
	assert_string_equal(SL(at), "REGISTER sip:ims.test SIP/2.0");
	assert_int_equal(VN(at, WIMS_HDR_VIA), 1);
	assert_our_udp_via(h, at);
	assert_string_equal(H(at, "Max-Forwards", 0), "69");
	assert_int_equal(VN(at, WIMS_HDR_CONTACT), 1);
	assert_token_contact(
	    h, b, V(at, WIMS_HDR_CONTACT, 0), true,
	    ";+sip.instance=\"<urn:uuid:11111111-2222-3333-4444-555555555550>\";reg-id=1;expires=600");
	assert_string_equal(H(at, "To", 0), H(req, "To", 0));
	assert_string_equal(H(at, "From", 0), H(req, "From", 0));
	assert_string_equal(H(at, "Call-ID", 0), "reg-call-0@test");
	assert_string_equal(H(at, "CSeq", 0), "1 REGISTER");
	assert_string_equal(H(at, "Authorization", 0), H(req, "Authorization", 0));
	assert_string_equal(H(at, "Route", 0), ABSENT); /* a REGISTER gets no preloaded Route */
	/* and nothing else changed: the whole message with the three edits undone */
	fmt(via, sizeof(via), "%s", V(at, WIMS_HDR_VIA, 0));
	{
		char exp[4096], ct[600];
		fmt(exp, sizeof(exp), "%s", req);
		replace_once(exp, sizeof(exp), V(req, WIMS_HDR_VIA, 0), via);
		replace_once(exp, sizeof(exp), "Max-Forwards: 70", "Max-Forwards: 69");
		replace_once(exp, sizeof(exp), "<sip:u0@x0.invalid;transport=ws>",
			     fmt(ct, sizeof(ct), "<%s>", token_uri(h, b->id, true)));
		assert_string_equal(at, exp);
	}

	/* 401: back to the browser unchanged but for the Via */
	const char *www =
	    "WWW-Authenticate: Digest realm=\"ims.test\", nonce=\"n0nce\", algorithm=AKAv1-MD5, "
	    "qop=\"auth\"\r\n";
	core_send(h, reply_to(resp, sizeof(resp), at, 401, "c401", www));
	assert_true(wait_q(h, &b->q, 1, 1000));
	assert_string_equal(b->q.m[0], reply_to(want, sizeof(want), req, 401, "c401", www));
	assert_string_equal(V(b->q.m[0], WIMS_HDR_VIA, 0), br_via(0, "r1"));

	/* second REGISTER with credentials; 200 with our Contact and a Service-Route */
	br_send(b, br_register(req, sizeof(req), 0, 2, "r2", true, "0123456789abcdef"));
	assert_true(wait_q(h, &h->core, 2, 1000));
	at = h->core.m[1];
	assert_string_equal(H(at, "Authorization", 0), H(req, "Authorization", 0));
	assert_string_equal(H(at, "CSeq", 0), "2 REGISTER");
	assert_int_equal(VN(at, WIMS_HDR_VIA), 1);
	assert_our_udp_via(h, at);
	assert_string_not_equal(BRANCH(at, 0), BRANCH(h->core.m[0], 0));
	fmt(extra, sizeof(extra),
	    "Contact: <%s>;+sip.instance=" INSTANCE ";reg-id=1;expires=600\r\n"
	    "Service-Route: " SR "\r\n"
	    "P-Associated-URI: <sip:user0@ims.test>\r\n",
	    token_uri(h, b->id, true), 0u);
	core_send(h, reply_to(resp, sizeof(resp), at, 200, "c200", extra));
	assert_true(wait_q(h, &b->q, 2, 1000));
	fmt(extra, sizeof(extra),
	    "Contact: <%s>;+sip.instance=" INSTANCE ";reg-id=1;expires=600\r\n"
	    "Service-Route: " SR "\r\n"
	    "P-Associated-URI: <sip:user0@ims.test>\r\n",
	    br_contact(0), 0u);
	assert_string_equal(b->q.m[1], reply_to(want, sizeof(want), req, 200, "c200", extra));
	settle(h, 20);
	assert_int_equal(b->q.n, 2);
	assert_int_equal(h->core.n, 2);
	assert_int_equal(wims_proxy_stats(h->px)->flows_open, 1);
	h_free(h);
}

/* ---- 2. INVITE from the browser ---- */

static void test_invite_from_browser(void **state)
{
	struct h *h = h_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char req[4096], want[4096], resp[4096], route[200];
	const char *at;

	do_register(h, b, 0, true);
	q_clear(&b->q);
	q_clear(&h->core);

	br_send(b, br_invite(req, sizeof(req), 0, "i1", 5));
	/* RFC 3261 §16.2: 100 Trying before anything else, without running the loop */
	assert_int_equal(b->q.n, 1);
	assert_string_equal(b->q.m[0], reply_to(want, sizeof(want), req, 100, "", ""));
	assert_string_equal(H(b->q.m[0], "To", 0), "<sip:callee@ims.test>");

	assert_true(wait_q(h, &h->core, 1, 1000));
	at = h->core.m[0];
	assert_string_equal(SL(at), "INVITE sip:callee@ims.test SIP/2.0");
	assert_int_equal(VN(at, WIMS_HDR_VIA), 1);
	assert_our_udp_via(h, at);
	assert_string_equal(H(at, "Max-Forwards", 0), "69");
	/* TS 24.229 §5.1.2A.1.1: the P-CSCF, then the Service-Route */
	assert_int_equal(VN(at, WIMS_HDR_ROUTE), 2);
	assert_string_equal(V(at, WIMS_HDR_ROUTE, 0),
			    fmt(route, sizeof(route), "<sip:127.0.0.1:%u;transport=udp;lr>", h->cport));
	assert_string_equal(V(at, WIMS_HDR_ROUTE, 1), SR);
	assert_token_contact(h, b, V(at, WIMS_HDR_CONTACT, 0), true, "");
	assert_string_equal(H(at, "From", 0), H(req, "From", 0));
	assert_string_equal(H(at, "To", 0), "<sip:callee@ims.test>");
	assert_string_equal(H(at, "CSeq", 0), "5 INVITE");
	assert_string_equal(BODY(at), SDP QOS_OFFER); /* precond.c: RFC 3312 status lines */
	assert_int_equal(strtoul(H(at, "Content-Length", 0), NULL, 10), strlen(SDP QOS_OFFER));

	/* a 486 from the core: the browser gets it, the core gets the ACK */
	core_send(h, reply_to(resp, sizeof(resp), at, 486, "busy", ""));
	assert_true(wait_q(h, &b->q, 2, 1000));
	assert_string_equal(b->q.m[1], reply_to(want, sizeof(want), req, 486, "busy", ""));
	assert_true(wait_q(h, &h->core, 2, 1000));
	assert_string_equal(SL(h->core.m[1]), "ACK sip:callee@ims.test SIP/2.0");
	assert_string_equal(BRANCH(h->core.m[1], 0), BRANCH(at, 0));
	assert_string_equal(H(h->core.m[1], "CSeq", 0), "5 ACK");
	assert_string_equal(H(h->core.m[1], "To", 0), "<sip:callee@ims.test>;tag=busy");
	/* the browser's own ACK for the 486 is hop-by-hop: absorbed */
	br_send(b,
		fmt(req, sizeof(req),
		    "ACK sip:callee@ims.test SIP/2.0\r\nVia: %s\r\nMax-Forwards: 70\r\n"
		    "To: <sip:callee@ims.test>;tag=busy\r\nFrom: \"User 0\" <sip:user0@ims.test>;tag=inv0\r\n"
		    "Call-ID: inv-call-0@test\r\nCSeq: 5 ACK\r\nContent-Length: 0\r\n\r\n",
		    br_via(0, "i1")));
	settle(h, 30);
	assert_int_equal(h->core.n, 2);
	assert_int_equal(b->q.n, 2);
	h_free(h);
}

/* ---- 3. INVITE from the core to a token ---- */

/* Core INVITE → browser 180/200 → core ACK; leaves a confirmed dialog.  The
 * messages are checked on the way. */
static void core_calls_browser(struct h *h, struct browser *b, unsigned i, const char *callid)
{
	char req[4096], resp[4096], ct[200], via[200];
	const char *at;
	size_t nb = b->q.n, nc = h->core.n;
	bool ob = true;

	core_send(h, core_invite(req, sizeof(req), h, token_uri(h, b->id, ob), callid));
	assert_true(wait_q(h, &b->q, nb + 1, 1000));
	at = b->q.m[nb];
	assert_string_equal(SL(at), fmt(ct, sizeof(ct), "INVITE %s SIP/2.0", br_contact(i)));
	assert_int_equal(VN(at, WIMS_HDR_VIA), 2);
	fmt(via, sizeof(via),
	    "SIP/2.0/%s 127.0.0.1:%u;branch=", wims_sip_proto_name(wims_sip_flow_proto(b->f)), h->port);
	assert_int_equal(strncmp(V(at, WIMS_HDR_VIA, 0), via, strlen(via)), 0);
	assert_string_equal(V(at, WIMS_HDR_VIA, 1), V(req, WIMS_HDR_VIA, 0));
	assert_string_equal(H(at, "Max-Forwards", 0), "67");
	assert_string_equal(H(at, "Record-Route", 0), H(req, "Record-Route", 0));
	assert_string_equal(H(at, "Contact", 0), H(req, "Contact", 0));
	assert_string_equal(BODY(at), SDP);
	/* the core gets 100 Trying */
	assert_true(wait_q(h, &h->core, nc + 1, 1000));
	assert_string_equal(h->core.m[nc], reply_to(resp, sizeof(resp), req, 100, "", ""));

	/* 180 and 200 from the browser, with its .invalid Contact */
	fmt(ct, sizeof(ct), "Contact: <%s>\r\nRecord-Route: <sip:127.0.0.1:%u;lr>\r\n", br_contact(i),
	    h->cport);
	br_send(b, reply_to(resp, sizeof(resp), at, 180, "tbr", ct));
	assert_true(wait_q(h, &h->core, nc + 2, 1000));
	fmt(ct, sizeof(ct), "Contact: <%s>\r\nRecord-Route: <sip:127.0.0.1:%u;lr>\r\n",
	    token_uri(h, b->id, ob), h->cport);
	assert_string_equal(h->core.m[nc + 1], reply_to(resp, sizeof(resp), req, 180, "tbr", ct));
	fmt(ct, sizeof(ct), "Contact: <%s>\r\nRecord-Route: <sip:127.0.0.1:%u;lr>\r\n", br_contact(i),
	    h->cport);
	br_send(b, reply_to(resp, sizeof(resp), at, 200, "tbr", ct));
	assert_true(wait_q(h, &h->core, nc + 3, 1000));
	fmt(ct, sizeof(ct), "Contact: <%s>\r\nRecord-Route: <sip:127.0.0.1:%u;lr>\r\n",
	    token_uri(h, b->id, ob), h->cport);
	assert_string_equal(h->core.m[nc + 2], reply_to(resp, sizeof(resp), req, 200, "tbr", ct));
	assert_int_equal(VN(h->core.m[nc + 2], WIMS_HDR_VIA), 1);

	/* the core's ACK reaches the browser with the Request-URI restored */
	core_send(h, fmt(req, sizeof(req),
			 "ACK %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKack-%s;rport\r\n"
			 "Max-Forwards: 70\r\nFrom: <sip:caller@ims.test>;tag=fcore\r\n"
			 "To: <sip:user0@ims.test>;tag=tbr\r\nCall-ID: %s\r\nCSeq: 10 ACK\r\n"
			 "Content-Length: 0\r\n\r\n",
			 token_uri(h, b->id, ob), h->cport, callid, callid));
	assert_true(wait_q(h, &b->q, nb + 2, 1000));
	at = b->q.m[nb + 1];
	assert_string_equal(SL(at), fmt(ct, sizeof(ct), "ACK %s SIP/2.0", br_contact(i)));
	assert_int_equal(VN(at, WIMS_HDR_VIA), 2);
	assert_string_equal(V(at, WIMS_HDR_VIA, 1), V(req, WIMS_HDR_VIA, 0));
	assert_string_equal(H(at, "CSeq", 0), "10 ACK");
	assert_string_equal(H(at, "To", 0), "<sip:user0@ims.test>;tag=tbr");
}

static void test_invite_from_core(void **state)
{
	struct h *h = h_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WS);

	do_register(h, b, 0, true);
	q_clear(&b->q);
	q_clear(&h->core);
	core_calls_browser(h, b, 0, "core-call-1@test");
	settle(h, 20);
	assert_int_equal(b->q.n, 2);
	assert_int_equal(h->core.n, 3);
	/* a 2xx the browser sends again reaches the core again, rewritten the same way */
	{
		char resp[4096], ct[300];
		unsigned d = h->dups;
		fmt(ct, sizeof(ct), "Contact: <%s>\r\nRecord-Route: <sip:127.0.0.1:%u;lr>\r\n", br_contact(0),
		    h->cport);
		br_send(b, reply_to(resp, sizeof(resp), b->q.m[0], 200, "tbr", ct));
		assert_true(wait_dups(h, d + 1, 1000));
		assert_int_equal(h->core.n, 3);
	}
	assert_int_equal(wims_proxy_stats(h->px)->dialogs_open, 1);
	h_free(h);
}

/* A token wimsd never made (or whose MAC does not match) is not a flow. */
static void test_invite_bad_token(void **state)
{
	struct h *h = h_up();
	char req[4096], ruri[200];
	char tok[PX_TOKEN_LEN + 1];

	wims_proxy__token_make(h->px, 77, true, tok);
	tok[PX_TOKEN_LEN - 1] = tok[PX_TOKEN_LEN - 1] == '0' ? '1' : '0';
	core_send(h, core_invite(req, sizeof(req), h,
				 fmt(ruri, sizeof(ruri), "sip:%s@127.0.0.1:%u", tok, h->port),
				 "bad-token@test"));
	assert_true(wait_q(h, &h->core, 1, 1000));
	assert_string_equal(SL(h->core.m[0]), "SIP/2.0 404 No Such Flow");
	h_free(h);
}

/* ---- 4. flow loss ---- */

static void test_flow_gone_core_dialog(void **state)
{
	struct h *h = h_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char req[4096], resp[4096], want[200];
	const char *bye;
	uint64_t id = b->id;

	do_register(h, b, 0, true);
	q_clear(&b->q);
	q_clear(&h->core);
	core_calls_browser(h, b, 0, "core-call-2@test");
	settle(h, 10);
	q_clear(&h->core);

	br_gone(b);
	assert_true(wait_q(h, &h->core, 1, 1000));
	bye = h->core.m[0];
	/* to the caller's Contact, through its Record-Route, from the browser's side */
	assert_string_equal(SL(bye),
			    fmt(want, sizeof(want), "BYE sip:caller@127.0.0.1:%u SIP/2.0", h->cport));
	assert_int_equal(VN(bye, WIMS_HDR_VIA), 1);
	assert_our_udp_via(h, bye);
	assert_string_equal(V(bye, WIMS_HDR_ROUTE, 0),
			    fmt(want, sizeof(want), "<sip:127.0.0.1:%u;lr>", h->cport));
	assert_string_equal(H(bye, "From", 0), "<sip:user0@ims.test>;tag=tbr");
	assert_string_equal(H(bye, "To", 0), "<sip:caller@ims.test>;tag=fcore");
	assert_string_equal(H(bye, "Call-ID", 0), "core-call-2@test");
	assert_string_equal(H(bye, "CSeq", 0), "1 BYE");
	assert_string_equal(H(bye, "Reason", 0), "SIP;cause=480;text=\"WebSocket connection lost\"");
	assert_string_equal(H(bye, "Max-Forwards", 0), "70");
	core_send(h, reply_to(resp, sizeof(resp), bye, 200, "", ""));
	settle(h, 30);
	assert_int_equal(h->core.n, 1); /* answered: no retransmission */
	assert_int_equal(wims_proxy_stats(h->px)->dialogs_open, 0);
	assert_int_equal(wims_proxy_stats(h->px)->dialogs_released, 1);

	/* RFC 5626 §5.3: a request for the lost outbound flow gets 430 */
	core_send(h, core_invite(req, sizeof(req), h, token_uri(h, id, true), "after-loss@test"));
	assert_true(wait_q(h, &h->core, 2, 1000));
	assert_string_equal(SL(h->core.m[1]), "SIP/2.0 430 Flow Failed");
	assert_string_equal(H(h->core.m[1], "Call-ID", 0), "after-loss@test");
	assert_string_equal(V(h->core.m[1], WIMS_HDR_VIA, 0), V(req, WIMS_HDR_VIA, 0));
	h_free(h);
}

static void test_flow_gone_browser_dialog(void **state)
{
	struct h *h = h_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char req[4096], resp[4096], extra[400], want[200];
	const char *at, *bye;

	do_register(h, b, 0, true);
	q_clear(&b->q);
	q_clear(&h->core);
	br_send(b, br_invite(req, sizeof(req), 0, "i2", 7));
	assert_true(wait_q(h, &h->core, 1, 1000));
	at = h->core.m[0];
	fmt(extra, sizeof(extra),
	    "Record-Route: <sip:scscf.ims.test;lr>, <sip:127.0.0.1:%u;lr>\r\n"
	    "Contact: <sip:callee@192.0.2.7:5062>\r\n",
	    h->cport);
	core_send(h, reply_to(resp, sizeof(resp), at, 200, "callee", extra));
	assert_true(wait_q(h, &b->q, 2, 1000));
	assert_int_equal(STATUS(b->q.m[1]), 200);
	assert_string_equal(H(b->q.m[1], "Contact", 0), "<sip:callee@192.0.2.7:5062>");
	q_clear(&h->core);

	br_gone(b);
	assert_true(wait_q(h, &h->core, 1, 1000));
	bye = h->core.m[0];
	assert_string_equal(SL(bye), "BYE sip:callee@192.0.2.7:5062 SIP/2.0");
	/* RFC 3261 §12.1.2: the UAC's route set is the Record-Route reversed */
	assert_int_equal(VN(bye, WIMS_HDR_ROUTE), 2);
	assert_string_equal(V(bye, WIMS_HDR_ROUTE, 0),
			    fmt(want, sizeof(want), "<sip:127.0.0.1:%u;lr>", h->cport));
	assert_string_equal(V(bye, WIMS_HDR_ROUTE, 1), "<sip:scscf.ims.test;lr>");
	assert_string_equal(H(bye, "From", 0), "\"User 0\" <sip:user0@ims.test>;tag=inv0");
	assert_string_equal(H(bye, "To", 0), "<sip:callee@ims.test>;tag=callee");
	assert_string_equal(H(bye, "Call-ID", 0), "inv-call-0@test");
	assert_string_equal(H(bye, "CSeq", 0), "8 BYE");
	assert_string_equal(H(bye, "Reason", 0), "SIP;cause=480;text=\"WebSocket connection lost\"");
	assert_our_udp_via(h, bye);
	core_send(h, reply_to(resp, sizeof(resp), bye, 200, "", ""));
	settle(h, 30);
	assert_int_equal(h->core.n, 1);
	h_free(h);
}

/* A flow that registered without reg-id: 480 once it is gone. */
static void test_flow_gone_not_outbound(void **state)
{
	struct h *h = h_up();
	struct browser *b = br_open(h, 1, WIMS_SIP_WSS);
	char req[4096];
	uint64_t id = b->id;

	do_register(h, b, 1, false);
	assert_string_equal(H(last(&b->q), "Contact", 0), "<sip:u1@x1.invalid;transport=ws>;expires=600");
	q_clear(&h->core);
	br_gone(b);
	settle(h, 20);
	assert_int_equal(h->core.n, 0); /* no dialog, no BYE */
	core_send(h, core_invite(req, sizeof(req), h, token_uri(h, id, false), "gone-480@test"));
	assert_true(wait_q(h, &h->core, 1, 1000));
	assert_string_equal(SL(h->core.m[0]), "SIP/2.0 480 Flow Gone");
	h_free(h);
}

/* A dialog ended by BYE is not released again when the flow goes; the core's
 * in-dialog BYE reaches the browser without the Route naming us. */
static void test_bye_ends_dialog(void **state)
{
	struct h *h = h_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char req[4096], resp[4096], want[4096];
	const char *at;

	do_register(h, b, 0, true);
	q_clear(&b->q);
	q_clear(&h->core);
	core_calls_browser(h, b, 0, "bye-1@test");
	settle(h, 10);
	q_clear(&h->core);
	assert_int_equal(wims_proxy_stats(h->px)->dialogs_open, 1);
	core_send(h, fmt(req, sizeof(req),
			 "BYE %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKbye1;rport\r\n"
			 "Max-Forwards: 70\r\nRoute: <sip:127.0.0.1:%u;lr>\r\n"
			 "From: <sip:caller@ims.test>;tag=fcore\r\nTo: <sip:user0@ims.test>;tag=tbr\r\n"
			 "Call-ID: bye-1@test\r\nCSeq: 11 BYE\r\nContent-Length: 0\r\n\r\n",
			 token_uri(h, b->id, true), h->cport, h->port));
	assert_true(wait_q(h, &b->q, 3, 1000));
	at = b->q.m[2];
	assert_string_equal(SL(at), fmt(want, sizeof(want), "BYE %s SIP/2.0", br_contact(0)));
	assert_string_equal(H(at, "Route", 0), ABSENT);
	assert_int_equal(VN(at, WIMS_HDR_VIA), 2);
	assert_string_equal(H(at, "CSeq", 0), "11 BYE");
	assert_int_equal(wims_proxy_stats(h->px)->dialogs_open, 0);
	br_send(b, reply_to(resp, sizeof(resp), at, 200, "", ""));
	assert_true(wait_q(h, &h->core, 1, 1000));
	assert_string_equal(h->core.m[0], reply_to(want, sizeof(want), req, 200, "", ""));
	br_gone(b);
	settle(h, 30);
	assert_int_equal(h->core.n, 1); /* no BYE for a dialog already ended */
	assert_int_equal(wims_proxy_stats(h->px)->dialogs_released, 0);
	h_free(h);
}

/* RFC 3261 §17: an ACK is never answered, even when it cannot be delivered. */
static void test_ack_never_answered(void **state)
{
	struct h *h = h_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char req[4096];
	uint64_t id = b->id;

	do_register(h, b, 0, true);
	br_gone(b);
	q_clear(&h->core);
	/* to a flow that is gone */
	core_send(h, fmt(req, sizeof(req),
			 "ACK %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKack9;rport\r\n"
			 "Max-Forwards: 70\r\nFrom: <sip:caller@ims.test>;tag=fcore\r\n"
			 "To: <sip:user0@ims.test>;tag=tbr\r\nCall-ID: ack9@test\r\nCSeq: 10 ACK\r\n"
			 "Content-Length: 0\r\n\r\n",
			 token_uri(h, id, true), h->cport));
	/* to something that is no token */
	core_send(h, fmt(req, sizeof(req),
			 "ACK sip:nobody@127.0.0.1:%u SIP/2.0\r\nVia: SIP/2.0/UDP "
			 "127.0.0.1:%u;branch=z9hG4bKack10;rport\r\n"
			 "Max-Forwards: 70\r\nFrom: <sip:caller@ims.test>;tag=fcore\r\n"
			 "To: <sip:user0@ims.test>;tag=tbr\r\nCall-ID: ack10@test\r\nCSeq: 10 ACK\r\n"
			 "Content-Length: 0\r\n\r\n",
			 h->port, h->cport));
	settle(h, 50);
	assert_int_equal(h->core.n, 0);
	h_free(h);
}

/* [iwu] record_route: two Record-Route entries on a browser's INVITE; the
 * BYE wims sends for it on flow loss does not route through wims itself. */
static void test_record_route(void **state)
{
	struct h *h = h_new();
	struct browser *b;
	char req[4096], resp[4096], extra[600], rr0[100], rr1[100];
	const char *at, *bye;

	conf_set(h, "iwu", "record_route", "yes");
	h_start(h);
	b = br_open(h, 0, WIMS_SIP_WSS);
	do_register(h, b, 0, true);
	q_clear(&b->q);
	q_clear(&h->core);
	br_send(b, br_invite(req, sizeof(req), 0, "rr1", 3));
	assert_true(wait_q(h, &h->core, 1, 1000));
	at = h->core.m[0];
	fmt(rr0, sizeof(rr0), "<sip:127.0.0.1:%u;lr>", h->port);
	fmt(rr1, sizeof(rr1), "<sip:127.0.0.1:%u;transport=ws;lr>", h->port);
	assert_int_equal(VN(at, WIMS_HDR_RECORD_ROUTE), 2);
	assert_string_equal(V(at, WIMS_HDR_RECORD_ROUTE, 0), rr0);
	assert_string_equal(V(at, WIMS_HDR_RECORD_ROUTE, 1), rr1);
	/* the P-CSCF records its route above ours; the 200 echoes them all */
	fmt(extra, sizeof(extra),
	    "Record-Route: <sip:pcscf.ims.test;lr>\r\nRecord-Route: %s\r\nRecord-Route: %s\r\n"
	    "Contact: <sip:callee@192.0.2.7:5062>\r\n",
	    rr0, rr1);
	core_send(h, reply_to(resp, sizeof(resp), at, 200, "callee", extra));
	assert_true(wait_q(h, &b->q, 2, 1000));
	assert_int_equal(STATUS(b->q.m[1]), 200);
	assert_int_equal(VN(b->q.m[1], WIMS_HDR_RECORD_ROUTE), 3);
	q_clear(&h->core);

	br_gone(b);
	assert_true(wait_q(h, &h->core, 1, 1000));
	bye = h->core.m[0];
	assert_string_equal(SL(bye), "BYE sip:callee@192.0.2.7:5062 SIP/2.0");
	assert_int_equal(VN(bye, WIMS_HDR_ROUTE), 1);
	assert_string_equal(V(bye, WIMS_HDR_ROUTE, 0), "<sip:pcscf.ims.test;lr>");
	assert_string_equal(H(bye, "CSeq", 0), "4 BYE");
	h_free(h);
}

/* The browser's later requests in its dialog raise the CSeq the flow-loss BYE uses. */
static void test_flow_gone_bye_cseq_follows_browser(void **state)
{
	struct h *h = h_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char req[4096], resp[4096];

	do_register(h, b, 0, true);
	q_clear(&b->q);
	q_clear(&h->core);
	br_send(b, br_invite(req, sizeof(req), 0, "cs1", 3));
	assert_true(wait_q(h, &h->core, 1, 1000));
	core_send(h, reply_to(resp, sizeof(resp), h->core.m[0], 200, "callee",
			      "Contact: <sip:callee@192.0.2.7:5062>\r\n"));
	assert_true(wait_q(h, &b->q, 2, 1000));
	/* ACK for the 2xx: its own transaction, forwarded with our Via only */
	br_send(
	    b,
	    fmt(req, sizeof(req),
		"ACK sip:callee@192.0.2.7:5062 SIP/2.0\r\nVia: %s\r\nMax-Forwards: 70\r\n"
		"To: <sip:callee@ims.test>;tag=callee\r\nFrom: \"User 0\" <sip:user0@ims.test>;tag=inv0\r\n"
		"Call-ID: inv-call-0@test\r\nCSeq: 3 ACK\r\nContent-Length: 0\r\n\r\n",
		br_via(0, "ack3")));
	assert_true(wait_q(h, &h->core, 2, 1000));
	assert_string_equal(SL(h->core.m[1]), "ACK sip:callee@192.0.2.7:5062 SIP/2.0");
	assert_int_equal(VN(h->core.m[1], WIMS_HDR_VIA), 1);
	assert_our_udp_via(h, h->core.m[1]);
	assert_string_equal(H(h->core.m[1], "Route", 0), ABSENT); /* in a dialog: nothing preloaded */
	/* a re-INVITE with CSeq 9 */
	br_send(
	    b,
	    fmt(req, sizeof(req),
		"INVITE sip:callee@192.0.2.7:5062 SIP/2.0\r\nVia: %s\r\nMax-Forwards: 70\r\n"
		"To: <sip:callee@ims.test>;tag=callee\r\nFrom: \"User 0\" <sip:user0@ims.test>;tag=inv0\r\n"
		"Call-ID: inv-call-0@test\r\nCSeq: 9 INVITE\r\nContact: <%s>\r\nContent-Length: 0\r\n\r\n",
		br_via(0, "re9"), br_contact(0)));
	assert_true(wait_q(h, &h->core, 3, 1000));
	assert_string_equal(H(h->core.m[2], "CSeq", 0), "9 INVITE");
	assert_string_equal(H(h->core.m[2], "Route", 0), ABSENT);
	core_send(h, reply_to(resp, sizeof(resp), h->core.m[2], 200, "",
			      "Contact: <sip:callee@192.0.2.7:5062>\r\n"));
	assert_true(wait_q(h, &b->q, 4, 1000));
	q_clear(&h->core);
	br_gone(b);
	assert_true(wait_q(h, &h->core, 1, 1000));
	assert_int_equal(strncmp(h->core.m[0], "BYE ", 4), 0);
	assert_string_equal(H(h->core.m[0], "CSeq", 0), "10 BYE");
	h_free(h);
}

/* [iwu] min_expires: 423 from wims itself (RFC 3261 §10.2.8); a de-registration passes. */
static void test_min_expires(void **state)
{
	struct h *h = h_new();
	struct browser *b;
	char req[4096];

	conf_set(h, "iwu", "min_expires", "3600");
	h_start(h);
	b = br_open(h, 0, WIMS_SIP_WSS);
	br_send(b, br_register(req, sizeof(req), 0, 1, "me1", true, ""));
	assert_int_equal(b->q.n, 1);
	assert_string_equal(SL(b->q.m[0]), "SIP/2.0 423 Interval Too Brief");
	assert_string_equal(H(b->q.m[0], "Min-Expires", 0), "3600");
	assert_string_equal(V(b->q.m[0], WIMS_HDR_VIA, 0), br_via(0, "me1"));
	br_register(req, sizeof(req), 0, 2, "me2", true, "");
	replace_once(req, sizeof(req), "expires=600", "expires=0");
	br_send(b, req);
	assert_true(wait_q(h, &h->core, 1, 1000));
	assert_string_equal(H(h->core.m[0], "CSeq", 0), "2 REGISTER");
	assert_non_null(strstr(V(h->core.m[0], WIMS_HDR_CONTACT, 0), ";expires=0"));
	settle(h, 20);
	assert_int_equal(h->core.n, 1);
	assert_int_equal(b->q.n, 1);
	h_free(h);
}

/* The core's OPTIONS to wimsd itself (keep-alive) is answered by wimsd. */
static void test_options_to_wimsd(void **state)
{
	struct h *h = h_up();
	char req[4096];

	core_send(h, fmt(req, sizeof(req),
			 "OPTIONS sip:127.0.0.1:%u SIP/2.0\r\nVia: SIP/2.0/UDP "
			 "127.0.0.1:%u;branch=z9hG4bKka1;rport\r\n"
			 "Max-Forwards: 70\r\nFrom: <sip:pcscf@ims.test>;tag=ka\r\nTo: <sip:127.0.0.1:%u>\r\n"
			 "Call-ID: ka1@test\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
			 h->port, h->cport, h->port));
	assert_true(wait_q(h, &h->core, 1, 1000));
	assert_string_equal(SL(h->core.m[0]), "SIP/2.0 200 OK");
	assert_string_equal(H(h->core.m[0], "CSeq", 0), "1 OPTIONS");
	assert_non_null(strstr(H(h->core.m[0], "Allow", 0), "INVITE"));
	assert_int_equal(strncmp(H(h->core.m[0], "To", 0), "<sip:127.0.0.1:", 15), 0);
	assert_non_null(strstr(H(h->core.m[0], "To", 0), ";tag="));
	/* a retransmission gets the same To tag (RFC 3261 §8.2.6.2), another request another one */
	char tag1[128], tag2[128], tag3[128];
	snprintf(tag1, sizeof(tag1), "%s", H(h->core.m[0], "To", 0));
	h->keep_dups = true; /* the answer to a retransmission is a byte-identical copy */
	core_send(h, req);
	assert_true(wait_q(h, &h->core, 2, 1000));
	snprintf(tag2, sizeof(tag2), "%s", H(h->core.m[1], "To", 0));
	assert_string_equal(tag1, tag2);
	replace_once(req, sizeof(req), "branch=z9hG4bKka1", "branch=z9hG4bKka2");
	replace_once(req, sizeof(req), "CSeq: 1 OPTIONS", "CSeq: 2 OPTIONS");
	core_send(h, req);
	assert_true(wait_q(h, &h->core, 3, 1000));
	snprintf(tag3, sizeof(tag3), "%s", H(h->core.m[2], "To", 0));
	assert_string_not_equal(tag1, tag3);
	h_free(h);
}

/* A registrar's 200 may write the binding as a bare addr-spec; the browser's
 * contact has ;transport=ws, so it must come back inside <> (RFC 3261 §20.10). */
static void test_register_ok_bare_contact(void **state)
{
	struct h *h = h_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char req[4096], resp[4096], extra[600], want[600];

	br_send(b, br_register(req, sizeof(req), 0, 1, "bare", false, ""));
	assert_true(wait_q(h, &h->core, 1, 1000));
	fmt(extra, sizeof(extra), "Contact: %s;expires=600\r\n", token_uri(h, b->id, false));
	core_send(h, reply_to(resp, sizeof(resp), h->core.m[0], 200, "ok", extra));
	assert_true(wait_q(h, &b->q, 1, 1000));
	assert_string_equal(H(b->q.m[0], "Contact", 0),
			    fmt(want, sizeof(want), "<%s>;expires=600", br_contact(0)));
	h_free(h);
}

/* /api/flows: what wims knows of each browser's flow and binding. */
static void test_flows_json(void **state)
{
	struct h *h = h_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char mem[2048], want[1024];
	struct wims_wbuf w;

	wims_wbuf_init(&w, mem, sizeof(mem) - 1);
	wims_proxy_flows_json(h->px, &w);
	mem[w.len] = 0;
	assert_string_equal(mem, "[]\n");
	do_register(h, b, 0, true);
	wims_wbuf_init(&w, mem, sizeof(mem) - 1);
	wims_proxy_flows_json(h->px, &w);
	assert_false(w.err);
	mem[w.len] = 0;
	fmt(want, sizeof(want),
	    "[{\"flow\":%llu,\"contact\":\"sip:u0@x0.invalid;transport=ws\",\"outbound\":true,\"reg_id\":1,"
	    "\"instance\":\"\\\"<urn:uuid:11111111-2222-3333-4444-555555555550>\\\"\",\"registered\":true,"
	    "\"expires_in\":",
	    (unsigned long long)b->id);
	assert_int_equal(strncmp(mem, want, strlen(want)), 0);
	assert_true(strcmp(mem + strlen(want), "600}]\n") == 0 || strcmp(mem + strlen(want), "599}]\n") == 0);
	br_gone(b);
	wims_wbuf_init(&w, mem, sizeof(mem) - 1);
	wims_proxy_flows_json(h->px, &w);
	mem[w.len] = 0;
	assert_string_equal(mem, "[]\n");
	h_free(h);
}

/* A P-CSCF reached over TCP: Via, token URI and answers all say TCP. */
static void test_tcp_next_hop(void **state)
{
	struct h *h = h_new();
	struct browser *b;
	char req[4096], resp[4096], extra[600], v[100], want[4096];
	const char *at;

	conf_set(h, "iwu", "pcscf", fmt(v, sizeof(v), "sip:127.0.0.1:%u;transport=tcp", h->cport));
	h_start(h);
	b = br_open(h, 0, WIMS_SIP_WSS);
	br_send(b, br_register(req, sizeof(req), 0, 1, "tcp1", true, ""));
	assert_true(wait_q(h, &h->core, 1, 1000));
	at = h->core.m[0];
	assert_true(h->core.tcp[0]);
	fmt(v, sizeof(v), "SIP/2.0/TCP 127.0.0.1:%u;branch=z9hG4bK", h->port);
	assert_int_equal(strncmp(V(at, WIMS_HDR_VIA, 0), v, strlen(v)), 0);
	assert_int_equal(VN(at, WIMS_HDR_VIA), 1);
	fmt(want, sizeof(want), "<%s;transport=tcp>", token_uri(h, b->id, true));
	assert_int_equal(strncmp(V(at, WIMS_HDR_CONTACT, 0), want, strlen(want)), 0);
	fmt(extra, sizeof(extra), "Contact: %s;expires=600\r\n", want);
	core_send_tcp(h, h->core_conn[0], reply_to(resp, sizeof(resp), at, 200, "ok", extra));
	assert_true(wait_q(h, &b->q, 1, 1000));
	fmt(extra, sizeof(extra), "Contact: <%s>;expires=600\r\n", br_contact(0));
	assert_string_equal(b->q.m[0], reply_to(want, sizeof(want), req, 200, "ok", extra));
	/* the core's MESSAGE to the browser on that connection; the answer comes back on it */
	fmt(req, sizeof(req),
	    "MESSAGE %s;transport=tcp SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:%u;branch=z9hG4bKtm1\r\n"
	    "Max-Forwards: 70\r\nFrom: <sip:far@ims.test>;tag=f\r\nTo: <sip:user0@ims.test>\r\n"
	    "Call-ID: tm1@test\r\nCSeq: 1 MESSAGE\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi",
	    token_uri(h, b->id, true), h->cport);
	core_send_tcp(h, h->core_conn[0], req);
	assert_true(wait_q(h, &b->q, 2, 1000));
	assert_string_equal(SL(b->q.m[1]), fmt(v, sizeof(v), "MESSAGE %s SIP/2.0", br_contact(0)));
	br_send(b, reply_to(resp, sizeof(resp), b->q.m[1], 202, "b", ""));
	assert_true(wait_q(h, &h->core, 2, 1000));
	assert_true(h->core.tcp[1]);
	assert_string_equal(h->core.m[1], reply_to(want, sizeof(want), req, 202, "b", ""));
	h_free(h);
}

/* [sip] advertise: what the core sees as wimsd's address (NAT, DNS name). */
static void test_advertise(void **state)
{
	static const struct {
		const char *conf, *host;
		unsigned port; /* 0: the bound UDP port */
	} cases[] = {
	    {"192.0.2.10:5099", "192.0.2.10", 5099},
	    {"wims.example.net", "wims.example.net", 0},
	    {"[2001:db8::7]:5062", "[2001:db8::7]", 5062},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct h *h = h_new();
		struct browser *b;
		char req[4096], want[300];
		unsigned port;

		conf_set(h, "sip", "advertise", cases[i].conf);
		h_start(h);
		port = cases[i].port ? cases[i].port : h->port;
		b = br_open(h, 0, WIMS_SIP_WSS);
		br_send(b, br_register(req, sizeof(req), 0, 1, "adv", true, ""));
		assert_true(wait_q(h, &h->core, 1, 1000));
		fmt(want, sizeof(want), "SIP/2.0/UDP %s:%u;branch=", cases[i].host, port);
		assert_int_equal(strncmp(V(h->core.m[0], WIMS_HDR_VIA, 0), want, strlen(want)), 0);
		{
			char tok[PX_TOKEN_LEN + 1];
			wims_proxy__token_make(h->px, b->id, true, tok);
			fmt(want, sizeof(want), "<sip:%s@%s:%u>;", tok, cases[i].host, port);
		}
		assert_int_equal(strncmp(V(h->core.m[0], WIMS_HDR_CONTACT, 0), want, strlen(want)), 0);
		h_free(h);
	}
}

/* Configuration errors are refused with a message naming the value. */
static void test_alloc_errors(void **state)
{
	static const struct {
		const char *pcscf, *msg;
	} cases[] = {
	    {"tel:+15551234", "'tel:+15551234' is not a sip: URI"},
	    {"sip:127.0.0.1:5060;transport=sctp",
	     "'sip:127.0.0.1:5060;transport=sctp': transport must be udp, tcp or tls"},
	    {"sip:127.0.0.1:5060;transport=sctp",
	     "'sip:127.0.0.1:5060;transport=sctp': transport must be udp, tcp or tls"},
	};
	struct h *h = h_new();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct wims_conf c = h->conf;
		struct wims_proxy *px = NULL;
		char err[256] = "";

		assert_int_equal(wims_conf_set(&c, "iwu", "pcscf", cases[i].pcscf, err, sizeof(err)), 0);
		assert_int_equal(wims_proxy_alloc(&px, &h->loop, h->tp, &c, err, sizeof(err)), -EINVAL);
		assert_null(px);
		assert_string_equal(err, cases[i].msg);
	}
	h_start(h); /* the good configuration still works */
	h_free(h);
}

/* A re-INVITE refreshes the remote target but not the route set (RFC 3261
 * §12.2): the flow-loss BYE goes to the new Contact through the old route. */
static void test_reinvite_keeps_route_set(void **state)
{
	struct h *h = h_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char req[4096], resp[4096], want[200];
	const char *bye;

	do_register(h, b, 0, true);
	q_clear(&b->q);
	q_clear(&h->core);
	core_calls_browser(h, b, 0, "reinv@test");
	settle(h, 10);
	q_clear(&b->q);
	q_clear(&h->core);
	core_send(h, fmt(req, sizeof(req),
			 "INVITE %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKreinv;rport\r\n"
			 "Max-Forwards: 70\r\nFrom: <sip:caller@ims.test>;tag=fcore\r\n"
			 "To: <sip:user0@ims.test>;tag=tbr\r\nCall-ID: reinv@test\r\nCSeq: 11 INVITE\r\n"
			 "Contact: <sip:caller-moved@127.0.0.1:%u>\r\nContent-Length: 0\r\n\r\n",
			 token_uri(h, b->id, true), h->cport, h->cport));
	assert_true(wait_q(h, &b->q, 1, 1000));
	br_send(b, reply_to(resp, sizeof(resp), b->q.m[0], 200, "",
			    "Contact: <sip:u0@x0.invalid;transport=ws>\r\n"));
	assert_true(wait_q(h, &h->core, 2, 1000)); /* 100, 200 */
	assert_int_equal(STATUS(h->core.m[1]), 200);
	q_clear(&h->core);
	br_gone(b);
	assert_true(wait_q(h, &h->core, 1, 1000));
	bye = h->core.m[0];
	assert_string_equal(SL(bye),
			    fmt(want, sizeof(want), "BYE sip:caller-moved@127.0.0.1:%u SIP/2.0", h->cport));
	assert_int_equal(VN(bye, WIMS_HDR_ROUTE), 1);
	assert_string_equal(V(bye, WIMS_HDR_ROUTE, 0),
			    fmt(want, sizeof(want), "<sip:127.0.0.1:%u;lr>", h->cport));
	assert_string_equal(H(bye, "From", 0), "<sip:user0@ims.test>;tag=tbr");
	h_free(h);
}

/* Every dialog of the lost flow is released, and only those. */
static void test_flow_gone_several_dialogs(void **state)
{
	struct h *h = h_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS), *other = br_open(h, 1, WIMS_SIP_WSS);
	char req[4096], resp[4096];
	bool seen[3] = {false, false, false};

	do_register(h, b, 0, true);
	do_register(h, other, 1, true);
	q_clear(&b->q);
	q_clear(&h->core);
	core_calls_browser(h, b, 0, "multi-1@test");
	core_calls_browser(h, b, 0, "multi-2@test");
	core_calls_browser(h, other, 1, "multi-other@test");
	br_send(b, br_invite(req, sizeof(req), 0, "m3", 3));
	assert_true(wait_q(h, &h->core, 10, 1000));
	core_send(h, reply_to(resp, sizeof(resp), last(&h->core), 200, "callee",
			      "Contact: <sip:callee@192.0.2.7>\r\n"));
	assert_true(wait_q(h, &b->q, 6, 1000));
	assert_int_equal(wims_proxy_stats(h->px)->dialogs_open, 4);
	q_clear(&h->core);
	br_gone(b);
	assert_true(wait_q(h, &h->core, 3, 1000));
	settle(h, 20);
	assert_int_equal(h->core.n, 3);
	for (size_t i = 0; i < 3; i++) {
		const char *cid = H(h->core.m[i], "Call-ID", 0);
		assert_int_equal(strncmp(h->core.m[i], "BYE ", 4), 0);
		if (strcmp(cid, "multi-1@test") == 0)
			seen[0] = true;
		else if (strcmp(cid, "multi-2@test") == 0)
			seen[1] = true;
		else if (strcmp(cid, "inv-call-0@test") == 0)
			seen[2] = true;
	}
	assert_true(seen[0] && seen[1] && seen[2]);
	assert_int_equal(wims_proxy_stats(h->px)->dialogs_open, 1);
	assert_int_equal(wims_proxy_stats(h->px)->dialogs_released, 3);
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_register),
	    cmocka_unit_test(test_invite_from_browser),
	    cmocka_unit_test(test_invite_from_core),
	    cmocka_unit_test(test_invite_bad_token),
	    cmocka_unit_test(test_flow_gone_core_dialog),
	    cmocka_unit_test(test_flow_gone_browser_dialog),
	    cmocka_unit_test(test_flow_gone_not_outbound),
	    cmocka_unit_test(test_bye_ends_dialog),
	    cmocka_unit_test(test_ack_never_answered),
	    cmocka_unit_test(test_record_route),
	    cmocka_unit_test(test_flow_gone_bye_cseq_follows_browser),
	    cmocka_unit_test(test_min_expires),
	    cmocka_unit_test(test_options_to_wimsd),
	    cmocka_unit_test(test_register_ok_bare_contact),
	    cmocka_unit_test(test_flows_json),
	    cmocka_unit_test(test_tcp_next_hop),
	    cmocka_unit_test(test_advertise),
	    cmocka_unit_test(test_alloc_errors),
	    cmocka_unit_test(test_reinvite_keeps_route_set),
	    cmocka_unit_test(test_flow_gone_several_dialogs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
