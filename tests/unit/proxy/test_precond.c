/* precond.c end to end on a real loop (IWU role): preconditions (RFC 3312)
 * and 100rel (RFC 3262) handled for a browser that does neither, in both
 * directions, and the answers to bad or early PRACK/UPDATE; the SDP helpers
 * of precond_sdp.c alone. */
#include "harness.h"
#include "proxy/precond.h"

#define SR "<sip:orig@scscf.ims.test;lr>"
#define SDP "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n"
#define QOS_NONE                                                                                             \
	"a=curr:qos local none\r\na=curr:qos remote none\r\na=des:qos mandatory local sendrecv\r\n"           \
	"a=des:qos none remote sendrecv\r\n"
#define SDP_QOS SDP QOS_NONE
#define SDP_ANS "v=0\r\no=callee 7 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
#define QOS_ANS                                                                                              \
	"a=curr:qos local none\r\na=curr:qos remote none\r\na=des:qos mandatory local sendrecv\r\n"           \
	"a=des:qos mandatory remote sendrecv\r\na=conf:qos remote sendrecv\r\n"
#define QOS_DONE                                                                                             \
	"a=curr:qos local sendrecv\r\na=curr:qos remote sendrecv\r\na=des:qos mandatory local sendrecv\r\n"   \
	"a=des:qos mandatory remote sendrecv\r\n"

static const char *br_contact(unsigned i)
{
	char *o = ring();

	snprintf(o, 4096, "sip:u%u@x%u.invalid;transport=ws", i, i);
	return o;
}

static char *br_register(char *buf, size_t cap, unsigned i)
{
	return fmt(buf, cap,
		   "REGISTER sip:ims.test SIP/2.0\r\n"
		   "Via: SIP/2.0/WSS b%u.invalid;branch=z9hG4bKreg%u\r\n"
		   "Max-Forwards: 70\r\n"
		   "To: <sip:user%u@ims.test>\r\n"
		   "From: <sip:user%u@ims.test>;tag=reg%u\r\n"
		   "Call-ID: reg-call-%u@test\r\n"
		   "CSeq: 1 REGISTER\r\n"
		   "Contact: <%s>;+sip.instance=\"<urn:uuid:1-2-3-4-%u>\";reg-id=1;expires=600\r\n"
		   "Supported: path,gruu,outbound\r\n"
		   "Content-Length: 0\r\n\r\n",
		   i, i, i, i, i, i, br_contact(i), i);
}

static void do_register(struct h *h, struct browser *b, unsigned i)
{
	char req[4096], resp[4096], extra[1024];
	size_t nb = b->q.n, nc = h->core.n;

	br_send(b, br_register(req, sizeof(req), i));
	assert_true(wait_q(h, &h->core, nc + 1, 1000));
	fmt(extra, sizeof(extra), "Contact: <%s>;expires=600\r\nService-Route: " SR "\r\n",
	    token_uri(h, b->id, true));
	core_send(h, reply_to(resp, sizeof(resp), last(&h->core), 200, "", extra));
	assert_true(wait_q(h, &b->q, nb + 1, 1000));
	assert_int_equal(STATUS(last(&b->q)), 200);
	q_clear(&b->q);
	q_clear(&h->core);
}

/* reply_to's "Content-Length: 0" replaced by an SDP body */
static char *with_sdp(char *buf, size_t cap, const char *sdp)
{
	char cl[128];

	fmt(cl, sizeof(cl), "Content-Type: application/sdp\r\nContent-Length: %zu\r\n\r\n", strlen(sdp));
	replace_once(buf, cap, "Content-Length: 0\r\n\r\n", cl);
	assert_true(strlen(buf) + strlen(sdp) < cap);
	memcpy(buf + strlen(buf), sdp, strlen(sdp) + 1);
	return buf;
}

static bool has_qos(const char *msg)
{
	return strstr(msg, "a=curr:qos") || strstr(msg, "a=des:qos") || strstr(msg, "a=conf:qos");
}

/* ---- precond_sdp.c ---- */

static void test_sdp_helpers(void **state)
{
	char mem[1024];
	struct wims_wbuf w;
	struct wims_pc_qos q;
	struct wims_pc_qos_out o = {.curr_local = "none", .curr_remote = "none", .des_remote = "none"};

	(void)state;
	wims_wbuf_init(&w, mem, sizeof(mem));
	assert_int_equal(wims_pc_sdp_add(wims_str_c(SDP), &o, false, &w), 0);
	assert_int_equal(w.len, strlen(SDP_QOS));
	assert_memory_equal(w.p, SDP_QOS, w.len);
	assert_true(wims_pc_sdp_has_qos(wims_wbuf_str(&w)));
	/* strip gives the original back; LF-only input comes out in CRLF */
	wims_wbuf_init(&w, mem, sizeof(mem));
	assert_int_equal(wims_pc_sdp_strip(wims_str_c(SDP_QOS), &w), 0);
	assert_int_equal(w.len, strlen(SDP));
	assert_false(wims_pc_sdp_has_qos(wims_str_c(SDP)));
	wims_wbuf_init(&w, mem, sizeof(mem));
	assert_int_equal(wims_pc_sdp_strip(wims_str_c("v=0\no=- 1 1 IN IP4 0.0.0.0\na=curr:qos e2e none\n"), &w), 0);
	assert_int_equal(w.len, strlen("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n"));
	/* a version bump, qos replaced, a port-0 section left without status */
	o.curr_local = "sendrecv";
	o.des_remote = "mandatory";
	wims_wbuf_init(&w, mem, sizeof(mem));
	assert_int_equal(wims_pc_sdp_add(wims_str_c(SDP_QOS "m=video 0 RTP/AVP 96\r\n"), &o, true, &w), 0);
	mem[w.len] = 0;
	assert_non_null(strstr(mem, "o=- 1 2 IN IP4"));
	assert_non_null(strstr(mem, "a=curr:qos local sendrecv\r\na=curr:qos remote none\r\n"));
	assert_non_null(strstr(mem, "a=des:qos mandatory remote sendrecv\r\nm=video 0 RTP/AVP 96\r\n"));
	assert_null(strstr(mem, "local none"));
	assert_int_equal(strlen(strstr(mem, "m=video")), strlen("m=video 0 RTP/AVP 96\r\n"));
	/* reading */
	wims_pc_sdp_read(wims_str_c(SDP_ANS QOS_ANS), &q);
	assert_true(q.present);
	assert_string_equal(q.curr_local, "none");
	assert_string_equal(q.des_local_strength, "mandatory");
	assert_true(q.conf_remote);
	assert_false(wims_pc_qos_met(&q));
	wims_pc_sdp_read(wims_str_c(SDP_ANS QOS_DONE), &q);
	assert_true(wims_pc_qos_met(&q));
	wims_pc_sdp_read(wims_str_c(SDP), &q);
	assert_false(q.present);
	assert_true(wims_pc_qos_met(&q));
	/* too small an output */
	wims_wbuf_init(&w, mem, 20);
	assert_int_equal(wims_pc_sdp_add(wims_str_c(SDP), &o, true, &w), -ENOSPC);
	wims_wbuf_init(&w, mem, 20);
	assert_int_equal(wims_pc_sdp_strip(wims_str_c(SDP), &w), -ENOSPC);
	/* garbage does not crash */
	wims_pc_sdp_read(wims_str_c("a=curr:qos\r\na=des:qos \r\nm=\r\na=curr:qos local\r\no=\r\n"), &q);
	wims_wbuf_init(&w, mem, sizeof(mem));
	assert_int_equal(wims_pc_sdp_add(wims_str_c("o=\r\no=a b\r\nm=\r\n"), &o, true, &w), 0);
}

/* ---- originating: a JsSIP browser calls a VoLTE callee ---- */

static char *br_invite(char *buf, size_t cap, const char *extra)
{
	return fmt(buf, cap,
		   "INVITE sip:callee@ims.test SIP/2.0\r\n"
		   "Via: SIP/2.0/WSS b0.invalid;branch=z9hG4bKinv1\r\n"
		   "Max-Forwards: 70\r\n"
		   "To: <sip:callee@ims.test>\r\n"
		   "From: <sip:user0@ims.test>;tag=brtag\r\n"
		   "Call-ID: pc-orig@test\r\n"
		   "CSeq: 5 INVITE\r\n"
		   "Contact: <%s;ob>\r\n"
		   "Supported: ice,replaces,outbound%s\r\n"
		   "Content-Type: application/sdp\r\n"
		   "Content-Length: %zu\r\n"
		   "\r\n%s",
		   br_contact(0), extra, strlen(SDP), SDP);
}

static char *br_in_dialog(char *buf, size_t cap, const char *method, unsigned cseq)
{
	return fmt(buf, cap,
		   "%s sip:callee@127.0.0.1:4000 SIP/2.0\r\n"
		   "Via: SIP/2.0/WSS b0.invalid;branch=z9hG4bK%s%u\r\n"
		   "Max-Forwards: 70\r\n"
		   "Route: <sip:127.0.0.1:5999;lr>\r\n"
		   "To: <sip:callee@ims.test>;tag=callee1\r\n"
		   "From: <sip:user0@ims.test>;tag=brtag\r\n"
		   "Call-ID: pc-orig@test\r\n"
		   "CSeq: %u %s\r\n"
		   "Content-Length: 0\r\n\r\n",
		   method, method, cseq, cseq, method);
}

/* The callee's UPDATE toward the browser's token, in the early dialog. */
static char *core_update(char *buf, size_t cap, struct h *h, struct browser *b, unsigned cseq, const char *sdp)
{
	return fmt(buf, cap,
		   "UPDATE %s SIP/2.0\r\n"
		   "Via: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKcupd%u;rport\r\n"
		   "Max-Forwards: 68\r\n"
		   "From: <sip:callee@ims.test>;tag=callee1\r\n"
		   "To: <sip:user0@ims.test>;tag=brtag\r\n"
		   "Call-ID: pc-orig@test\r\n"
		   "CSeq: %u UPDATE\r\n"
		   "Contact: <sip:callee@127.0.0.1:4000>\r\n"
		   "Content-Type: application/sdp\r\n"
		   "Content-Length: %zu\r\n"
		   "\r\n%s",
		   token_uri(h, b->id, true), h->cport, cseq, cseq, strlen(sdp), sdp);
}

static void test_originating(void **state)
{
	struct h *h = h_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char req[4096], inv[4096], resp[4096], extra[600];
	const char *at;

	(void)state;
	do_register(h, b, 0);
	br_send(b, br_invite(req, sizeof(req), ""));
	assert_true(wait_q(h, &h->core, 1, 1000));
	snprintf(inv, sizeof(inv), "%s", h->core.m[0]);
	assert_non_null(strstr(inv, "\r\nSupported: 100rel, precondition\r\n"));
	assert_string_equal(BODY(inv), SDP_QOS);

	/* a reliable 183 with qos lines asking for confirmation */
	fmt(extra, sizeof(extra),
	    "Contact: <sip:callee@127.0.0.1:4000>\r\nRecord-Route: <sip:scscf@127.0.0.1:%u;lr>, <sip:127.0.0.1:%u;lr>\r\n"
	    "Require: 100rel, precondition\r\nRSeq: 1\r\n",
	    h->cport, h->port);
	core_send(h, with_sdp(reply_to(resp, sizeof(resp), inv, 183, "callee1", extra), sizeof(resp), SDP_ANS QOS_ANS));
	assert_true(wait_q(h, &b->q, 2, 1000)); /* 100, 183 */
	at = b->q.m[1];
	assert_int_equal(STATUS(at), 183);
	assert_int_equal(HN(at, "Require"), 0);
	assert_int_equal(HN(at, "RSeq"), 0);
	assert_string_equal(BODY(at), SDP_ANS);
	/* wims PRACKs it, in the dialog, past our own Record-Route entry */
	assert_true(wait_q(h, &h->core, 2, 1000));
	at = h->core.m[1];
	assert_string_equal(SL(at), "PRACK sip:callee@127.0.0.1:4000 SIP/2.0");
	assert_string_equal(H(at, "RAck", 0), "1 5 INVITE");
	assert_string_equal(H(at, "CSeq", 0), "6 PRACK");
	assert_int_equal(VN(at, WIMS_HDR_ROUTE), 1);
	assert_string_equal(H(at, "To", 0), "<sip:callee@ims.test>;tag=callee1");
	/* a retransmitted 183 is absorbed, no second PRACK */
	core_send(h, resp);
	settle(h, 50);
	assert_int_equal(b->q.n, 2);
	assert_int_equal(h->core.n, 2);
	/* the PRACK's 200: the UPDATE confirms our segment (same media, version + 1) */
	core_send(h, reply_to(resp, sizeof(resp), h->core.m[1], 200, "", ""));
	assert_true(wait_q(h, &h->core, 3, 1000));
	at = h->core.m[2];
	assert_string_equal(SL(at), "UPDATE sip:callee@127.0.0.1:4000 SIP/2.0");
	assert_string_equal(H(at, "CSeq", 0), "7 UPDATE");
	assert_string_equal(H(at, "Contact", 0), H(inv, "Contact", 0));
	assert_non_null(strstr(BODY(at), "o=- 1 2 IN IP4 0.0.0.0\r\n"));
	assert_non_null(strstr(BODY(at), "a=curr:qos local sendrecv\r\n"));
	assert_non_null(strstr(BODY(at), "a=des:qos mandatory remote sendrecv\r\n"));
	/* the callee's own UPDATE while ours is outstanding: 491 (RFC 3311 §5.2) */
	core_send(h, core_update(req, sizeof(req), h, b, 20, SDP_ANS QOS_DONE));
	assert_true(wait_q(h, &h->core, 4, 1000));
	assert_int_equal(STATUS(h->core.m[3]), 491);
	core_send(h, with_sdp(reply_to(resp, sizeof(resp), at, 200, "", "Contact: <sip:callee@127.0.0.1:4000>\r\n"),
			      sizeof(resp), SDP_ANS QOS_DONE));
	settle(h, 50);
	assert_int_equal(b->q.n, 2); /* the UPDATE's 200 stays here */
	/* now it is answered here, with the media of our offer, version + 1 again */
	core_send(h, core_update(req, sizeof(req), h, b, 21, SDP_ANS QOS_DONE));
	assert_true(wait_q(h, &h->core, 5, 1000));
	at = h->core.m[4];
	assert_int_equal(STATUS(at), 200);
	assert_string_equal(H(at, "Contact", 0), H(inv, "Contact", 0));
	assert_non_null(strstr(BODY(at), "o=- 1 3 IN IP4 0.0.0.0\r\n"));
	assert_non_null(strstr(BODY(at), "a=curr:qos local sendrecv\r\na=curr:qos remote sendrecv\r\n"));
	h->keep_dups = true; /* its retransmission: the same answer */
	core_send(h, req);
	assert_true(wait_q(h, &h->core, 6, 1000));
	assert_string_equal(h->core.m[5], h->core.m[4]);
	h->keep_dups = false;
	assert_int_equal(b->q.n, 2);

	/* 180, then the 200 without SDP: the browser gets the answer it had */
	fmt(extra, sizeof(extra),
	    "Contact: <sip:callee@127.0.0.1:4000>\r\nRecord-Route: <sip:scscf@127.0.0.1:%u;lr>, <sip:127.0.0.1:%u;lr>\r\n",
	    h->cport, h->port);
	core_send(h, reply_to(resp, sizeof(resp), inv, 180, "callee1", extra));
	core_send(h, reply_to(resp, sizeof(resp), inv, 200, "callee1", extra));
	assert_true(wait_q(h, &b->q, 4, 1000));
	assert_int_equal(STATUS(b->q.m[2]), 180);
	at = b->q.m[3];
	assert_int_equal(STATUS(at), 200);
	assert_string_equal(H(at, "Content-Type", 0), "application/sdp");
	assert_string_equal(BODY(at), SDP_ANS);

	/* the browser's later requests go past wims's numbers, answers come back with its own */
	br_send(b, br_in_dialog(req, sizeof(req), "ACK", 5));
	assert_true(wait_q(h, &h->core, 7, 1000));
	assert_string_equal(H(last(&h->core), "CSeq", 0), "5 ACK");
	br_send(b, br_in_dialog(req, sizeof(req), "BYE", 6));
	assert_true(wait_q(h, &h->core, 8, 1000));
	at = last(&h->core);
	assert_string_equal(H(at, "CSeq", 0), "8 BYE");
	core_send(h, reply_to(resp, sizeof(resp), at, 200, "", ""));
	assert_true(wait_q(h, &b->q, 5, 1000));
	assert_string_equal(H(last(&b->q), "CSeq", 0), "6 BYE");
	h_free(h);
}

/* Preconditions and a session timer in one call: the refresh UPDATE that
 * stimer.c sends in the browser's name numbers past the PRACK and UPDATE
 * that precond.c sent (INVITE 5, PRACK 6, UPDATE 7, refresh 8). */
static void test_originating_with_timer(void **state)
{
	struct h *h = h_new();
	struct browser *b;
	char req[4096], inv[4096], resp[4096], extra[600];
	const char *at;

	(void)state;
	conf_set(h, "sip", "min_se", "10");
	conf_set(h, "sip", "session_expires", "10");
	h_start(h);
	b = br_open(h, 0, WIMS_SIP_WSS);
	do_register(h, b, 0);
	br_send(b, br_invite(req, sizeof(req), ""));
	assert_true(wait_q(h, &h->core, 1, 1000));
	snprintf(inv, sizeof(inv), "%s", h->core.m[0]);
	assert_non_null(strstr(inv, "\r\nSession-Expires: 10"));
	fmt(extra, sizeof(extra),
	    "Contact: <sip:callee@127.0.0.1:4000>\r\nRecord-Route: <sip:scscf@127.0.0.1:%u;lr>, <sip:127.0.0.1:%u;lr>\r\n"
	    "Require: 100rel, precondition\r\nRSeq: 1\r\nAllow: INVITE, ACK, BYE, PRACK, UPDATE\r\n",
	    h->cport, h->port);
	core_send(h, with_sdp(reply_to(resp, sizeof(resp), inv, 183, "callee1", extra), sizeof(resp), SDP_ANS QOS_ANS));
	assert_true(wait_q(h, &h->core, 2, 1000));
	assert_string_equal(H(h->core.m[1], "CSeq", 0), "6 PRACK");
	core_send(h, reply_to(resp, sizeof(resp), h->core.m[1], 200, "", ""));
	assert_true(wait_q(h, &h->core, 3, 1000));
	assert_string_equal(H(h->core.m[2], "CSeq", 0), "7 UPDATE");
	core_send(h, with_sdp(reply_to(resp, sizeof(resp), h->core.m[2], 200, "", "Contact: <sip:callee@127.0.0.1:4000>\r\n"),
			      sizeof(resp), SDP_ANS QOS_DONE));
	/* the 200: the callee asks the caller's side to refresh every 10 s */
	fmt(extra, sizeof(extra),
	    "Contact: <sip:callee@127.0.0.1:4000>\r\nRecord-Route: <sip:scscf@127.0.0.1:%u;lr>, <sip:127.0.0.1:%u;lr>\r\n"
	    "Allow: INVITE, ACK, BYE, PRACK, UPDATE\r\nSupported: timer\r\nRequire: timer\r\n"
	    "Session-Expires: 10;refresher=uac\r\n",
	    h->cport, h->port);
	core_send(h, reply_to(resp, sizeof(resp), inv, 200, "callee1", extra));
	assert_true(wait_q(h, &b->q, 3, 1000)); /* 100, 183, 200 */
	assert_int_equal(STATUS(last(&b->q)), 200);
	br_send(b, br_in_dialog(req, sizeof(req), "ACK", 5));
	assert_true(wait_q(h, &h->core, 4, 1000)); /* INVITE, PRACK, UPDATE, ACK */
	assert_string_equal(H(last(&h->core), "CSeq", 0), "5 ACK");
	/* wims refreshes for the browser at half the interval */
	assert_true(wait_q(h, &h->core, 5, 8000));
	at = last(&h->core);
	assert_string_equal(SL(at), "UPDATE sip:callee@127.0.0.1:4000 SIP/2.0");
	assert_string_equal(H(at, "CSeq", 0), "8 UPDATE");
	h_free(h);
}

/* A browser that offers 100rel itself is left alone. */
static void test_browser_100rel_untouched(void **state)
{
	struct h *h = h_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char req[4096], resp[4096];

	(void)state;
	do_register(h, b, 0);
	br_send(b, br_invite(req, sizeof(req), ",100rel"));
	assert_true(wait_q(h, &h->core, 1, 1000));
	assert_string_equal(BODY(h->core.m[0]), SDP);
	assert_null(strstr(h->core.m[0], "precondition"));
	core_send(h, reply_to(resp, sizeof(resp), h->core.m[0], 180, "c1",
			      "Contact: <sip:c@127.0.0.1:4000>\r\nRequire: 100rel\r\nRSeq: 1\r\n"));
	assert_true(wait_q(h, &b->q, 2, 1000));
	assert_string_equal(H(b->q.m[1], "RSeq", 0), "1");
	settle(h, 50);
	assert_int_equal(h->core.n, 1); /* no PRACK from wims */
	h_free(h);
}

/* [sip] precondition = no: 100rel only, the offer untouched. */
static void test_precondition_off(void **state)
{
	struct h *h = h_new();
	struct browser *b;
	char req[4096];

	(void)state;
	conf_set(h, "sip", "precondition", "no");
	h_start(h);
	b = br_open(h, 0, WIMS_SIP_WSS);
	do_register(h, b, 0);
	br_send(b, br_invite(req, sizeof(req), ""));
	assert_true(wait_q(h, &h->core, 1, 1000));
	assert_non_null(strstr(h->core.m[0], "\r\nSupported: 100rel\r\n"));
	assert_null(strstr(h->core.m[0], "precondition"));
	assert_string_equal(BODY(h->core.m[0]), SDP);
	/* an answer with qos lines reaches the browser without them */
	core_send(h, with_sdp(reply_to(req, sizeof(req), h->core.m[0], 183, "c1", "Contact: <sip:c@127.0.0.1:4000>\r\n"),
			      sizeof(req), SDP_ANS QOS_ANS));
	assert_true(wait_q(h, &b->q, 2, 1000));
	assert_string_equal(BODY(b->q.m[1]), SDP_ANS);
	h_free(h);
}

/* ---- terminating: a VoLTE caller calls the browser ---- */

static char *core_invite(char *buf, size_t cap, struct h *h, struct browser *b, const char *callid, const char *hdrs)
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
		   "%s"
		   "Content-Type: application/sdp\r\n"
		   "Content-Length: %zu\r\n"
		   "\r\n%s",
		   token_uri(h, b->id, true), h->cport, callid, h->cport, callid, h->cport, hdrs, strlen(SDP_QOS),
		   SDP_QOS);
}

/* An in-dialog request of the core toward the browser's token. */
static char *core_req(char *buf, size_t cap, struct h *h, struct browser *b, const char *callid, const char *method,
		      unsigned cseq, const char *hdrs, const char *sdp)
{
	return fmt(buf, cap,
		   "%s %s SIP/2.0\r\n"
		   "Via: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKcore-%s%u;rport\r\n"
		   "Max-Forwards: 68\r\n"
		   "From: <sip:caller@ims.test>;tag=fcore\r\n"
		   "To: <sip:user0@ims.test>;tag=tbr\r\n"
		   "Call-ID: %s\r\n"
		   "CSeq: %u %s\r\n"
		   "%s%s"
		   "Content-Length: %zu\r\n"
		   "\r\n%s",
		   method, token_uri(h, b->id, true), h->cport, method, cseq, callid, cseq, method, hdrs,
		   sdp[0] ? "Content-Type: application/sdp\r\n" : "", strlen(sdp), sdp);
}

/* Core INVITE with hdrs → the browser's INVITE (checked clean); returns it in inv_br. */
static void term_start(struct h *h, struct browser *b, const char *callid, const char *hdrs, char *inv_br, size_t cap)
{
	char req[4096];

	core_send(h, core_invite(req, sizeof(req), h, b, callid, hdrs));
	assert_true(wait_q(h, &b->q, 1, 1000));
	snprintf(inv_br, cap, "%s", b->q.m[0]);
	assert_null(strstr(inv_br, "precondition"));
	assert_int_equal(HN(inv_br, "Require"), 0);
	assert_false(has_qos(inv_br));
	assert_string_equal(BODY(inv_br), SDP);
	assert_true(wait_q(h, &h->core, 1, 1000)); /* 100 Trying */
}

static void test_terminating_precondition(void **state)
{
	struct h *h = h_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char inv[4096], req[4096], resp[4096], ct[300];
	const char *at;

	(void)state;
	do_register(h, b, 0);
	term_start(h, b, "pc-term@test", "Require: precondition\r\nSupported: 100rel\r\n", inv, sizeof(inv));
	fmt(ct, sizeof(ct), "Contact: <%s>\r\nRecord-Route: <sip:127.0.0.1:%u;lr>\r\n", br_contact(0), h->cport);
	/* the 180 waits for the preconditions */
	br_send(b, reply_to(resp, sizeof(resp), inv, 180, "tbr", ct));
	settle(h, 50);
	assert_int_equal(h->core.n, 1);
	/* an UPDATE before there is an answer: 500 with Retry-After (RFC 3311 §5.2) */
	core_send(h, core_req(req, sizeof(req), h, b, "pc-term@test", "UPDATE", 11, "", SDP_QOS));
	assert_true(wait_q(h, &h->core, 2, 1000));
	assert_int_equal(STATUS(h->core.m[1]), 500);
	assert_string_equal(H(h->core.m[1], "Retry-After", 0), "1");
	/* a PRACK with nothing reliable sent yet: 481 */
	core_send(h, core_req(req, sizeof(req), h, b, "pc-term@test", "PRACK", 12, "RAck: 1 10 INVITE\r\n", ""));
	assert_true(wait_q(h, &h->core, 3, 1000));
	assert_int_equal(STATUS(h->core.m[2]), 481);

	/* the browser's 200: its answer goes up in a reliable 183 */
	br_send(b, with_sdp(reply_to(resp, sizeof(resp), inv, 200, "tbr", ct), sizeof(resp), SDP_ANS));
	assert_true(wait_q(h, &h->core, 4, 1000));
	at = h->core.m[3];
	assert_int_equal(STATUS(at), 183);
	assert_string_equal(H(at, "Require", 0), "100rel, precondition");
	assert_string_equal(H(at, "RSeq", 0), "1");
	assert_string_equal(H(at, "Contact", 0), fmt(ct, sizeof(ct), "<%s>", token_uri(h, b->id, true)));
	assert_non_null(strstr(BODY(at), SDP_ANS "a=curr:qos local sendrecv\r\na=curr:qos remote none\r\n"));
	assert_non_null(strstr(BODY(at), "a=conf:qos remote sendrecv\r\n"));
	/* a RAck that does not parse, a wrong one: 481; the right one: 200, also when retransmitted */
	core_send(h, core_req(req, sizeof(req), h, b, "pc-term@test", "PRACK", 16, "RAck: x 10\r\n", ""));
	assert_true(wait_q(h, &h->core, 5, 1000));
	assert_int_equal(STATUS(h->core.m[4]), 481);

	core_send(h, core_req(req, sizeof(req), h, b, "pc-term@test", "PRACK", 13, "RAck: 2 10 INVITE\r\n", ""));
	assert_true(wait_q(h, &h->core, 6, 1000));
	assert_int_equal(STATUS(h->core.m[5]), 481);
	core_send(h, core_req(req, sizeof(req), h, b, "pc-term@test", "PRACK", 14, "RAck: 1 10 INVITE\r\n", ""));
	assert_true(wait_q(h, &h->core, 7, 1000));
	assert_int_equal(STATUS(h->core.m[6]), 200);
	assert_string_equal(H(h->core.m[6], "CSeq", 0), "14 PRACK");
	h->keep_dups = true;
	core_send(h, req);
	assert_true(wait_q(h, &h->core, 8, 1000));
	assert_int_equal(STATUS(h->core.m[7]), 200);
	h->keep_dups = false;
	/* the core's UPDATE: answered here with our SDP, then the 180 and the 200 go */
	core_send(h, core_req(req, sizeof(req), h, b, "pc-term@test", "UPDATE", 15, "Contact: <sip:caller@127.0.0.1:9>\r\n",
			      SDP "a=curr:qos local sendrecv\r\na=curr:qos remote sendrecv\r\n"
				  "a=des:qos mandatory local sendrecv\r\na=des:qos mandatory remote sendrecv\r\n"));
	assert_true(wait_q(h, &h->core, 11, 1000));
	at = h->core.m[8];
	assert_int_equal(STATUS(at), 200);
	assert_string_equal(H(at, "CSeq", 0), "15 UPDATE");
	assert_string_equal(H(at, "Contact", 0), fmt(ct, sizeof(ct), "<%s>", token_uri(h, b->id, true)));
	assert_non_null(strstr(BODY(at), "o=callee 7 2 IN IP4"));
	assert_non_null(strstr(BODY(at), "a=curr:qos local sendrecv\r\na=curr:qos remote sendrecv\r\n"));
	assert_int_equal(STATUS(h->core.m[9]), 180);
	at = h->core.m[10];
	assert_int_equal(STATUS(at), 200);
	assert_string_equal(H(at, "CSeq", 0), "10 INVITE");
	assert_string_equal(H(at, "Content-Length", 0), "0");
	assert_int_equal(HN(at, "Content-Type"), 0);
	/* a retransmitted UPDATE gets the same answer; the browser saw none of it */
	h->keep_dups = true;
	core_send(h, req);
	assert_true(wait_q(h, &h->core, 12, 1000));
	assert_string_equal(h->core.m[11], h->core.m[8]);
	assert_int_equal(b->q.n, 1);
	h_free(h);
}

/* Require: 100rel only: the browser's 180 goes up reliable, retransmitted until the PRACK. */
static void test_terminating_100rel(void **state)
{
	struct h *h = h_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char inv[4096], req[4096], resp[4096], ct[300];
	const char *at;

	(void)state;
	do_register(h, b, 0);
	term_start(h, b, "pc-rel@test", "Require: 100rel\r\n", inv, sizeof(inv));
	fmt(ct, sizeof(ct), "Contact: <%s>\r\n", br_contact(0));
	br_send(b, reply_to(resp, sizeof(resp), inv, 180, "tbr", ct));
	assert_true(wait_q(h, &h->core, 2, 1000));
	at = h->core.m[1];
	assert_int_equal(STATUS(at), 180);
	assert_string_equal(H(at, "Require", 0), "100rel");
	assert_string_equal(H(at, "RSeq", 0), "1");
	assert_true(wait_dups(h, 1, 1500)); /* RFC 3262 §3: retransmitted at T1 */
	/* a second 18x waits for the first one's PRACK */
	br_send(b, reply_to(resp, sizeof(resp), inv, 183, "tbr", ct));
	settle(h, 30);
	assert_int_equal(h->core.n, 2);
	core_send(h, core_req(req, sizeof(req), h, b, "pc-rel@test", "PRACK", 11, "RAck: 1 10 INVITE\r\n", ""));
	assert_true(wait_q(h, &h->core, 4, 1000));
	assert_int_equal(STATUS(h->core.m[2]), 200);
	assert_int_equal(STATUS(h->core.m[3]), 183);
	assert_string_equal(H(h->core.m[3], "RSeq", 0), "2");
	/* the 200 passes as it is (with its SDP); the browser never saw a PRACK */
	br_send(b, with_sdp(reply_to(resp, sizeof(resp), inv, 200, "tbr", ct), sizeof(resp), SDP_ANS));
	assert_true(wait_q(h, &h->core, 5, 1000));
	assert_int_equal(STATUS(h->core.m[4]), 200);
	assert_string_equal(BODY(h->core.m[4]), SDP_ANS);
	/* a PRACK for the 183 after the 200: still answered here */
	core_send(h, core_req(req, sizeof(req), h, b, "pc-rel@test", "PRACK", 12, "RAck: 2 10 INVITE\r\n", ""));
	assert_true(wait_q(h, &h->core, 6, 1000));
	assert_int_equal(STATUS(h->core.m[5]), 200);
	assert_int_equal(b->q.n, 1);
	h_free(h);
}

/* Only Supported: precondition: stripped, the browser answers without them. */
static void test_terminating_supported_only(void **state)
{
	struct h *h = h_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char inv[4096], req[4096], resp[4096], ct[300];
	const char *at;

	(void)state;
	do_register(h, b, 0);
	term_start(h, b, "pc-sup@test", "Supported: 100rel, precondition\r\n", inv, sizeof(inv));
	assert_string_equal(H(inv, "Supported", 0), "100rel");
	fmt(ct, sizeof(ct), "Contact: <%s>\r\n", br_contact(0));
	br_send(b, reply_to(resp, sizeof(resp), inv, 180, "tbr", ct));
	assert_true(wait_q(h, &h->core, 2, 1000));
	assert_int_equal(HN(h->core.m[1], "RSeq"), 0);
	br_send(b, with_sdp(reply_to(resp, sizeof(resp), inv, 200, "tbr", ct), sizeof(resp), SDP_ANS));
	assert_true(wait_q(h, &h->core, 3, 1000));
	assert_string_equal(BODY(h->core.m[2]), SDP_ANS);
	/* later requests toward the browser lose them too */
	core_send(h, core_req(req, sizeof(req), h, b, "pc-sup@test", "UPDATE", 11,
			      "Require: precondition\r\nSupported: timer, precondition\r\n", SDP_QOS));
	assert_true(wait_q(h, &b->q, 2, 1000));
	at = b->q.m[1];
	assert_string_equal(SL(at), fmt(ct, sizeof(ct), "UPDATE %s SIP/2.0", br_contact(0)));
	assert_int_equal(HN(at, "Require"), 0);
	assert_string_equal(H(at, "Supported", 0), "timer");
	assert_string_equal(BODY(at), SDP);
	/* and so do responses toward it */
	br_send(b, reply_to(resp, sizeof(resp), at, 200, "", ""));
	assert_true(wait_q(h, &h->core, 4, 1000));
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sdp_helpers),
		cmocka_unit_test(test_originating),
		cmocka_unit_test(test_originating_with_timer),
		cmocka_unit_test(test_browser_100rel_untouched),
		cmocka_unit_test(test_precondition_off),
		cmocka_unit_test(test_terminating_precondition),
		cmocka_unit_test(test_terminating_100rel),
		cmocka_unit_test(test_terminating_supported_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
