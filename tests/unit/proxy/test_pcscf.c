/* The P-CSCF role ([general] role = pcscf) end to end on a real loop: the
 * browser's REGISTER toward the S-CSCF (Path with a flow token, Require:
 * path, P-Visited-Network-ID, P-Charging-Vector, sec-agree and trust-domain
 * headers stripped, integrity-protected), what the 2xx leaves behind
 * (Service-Route, P-Associated-URI), originating requests (Service-Route,
 * P-Asserted-Identity, icid, double Record-Route), 403 for a flow that is not
 * registered, terminating requests by the Path token and by the Record-Route
 * token, 430/480, de-REGISTER and the BYE when a WebSocket is lost. */
#include "harness.h"

#define SR1 "<sip:orig@scscf.ims.test;lr>"
#define SR2 "<sip:as@as.ims.test;lr>"
#define PAU "<sip:user%u@ims.test>, <sip:alias%u@ims.test>, <tel:+1555000%u>"
#define PCFA "P-Charging-Function-Addresses: ccf=192.0.2.10;ecf=192.0.2.11\r\n"
#define INSTANCE "\"<urn:uuid:11111111-2222-3333-4444-55555555555%u>\""
/* what precond.c adds to a browser's offer toward the core (RFC 3312 §5) */
#define QOS_OFFER                                                                                            \
	"a=curr:qos local none\r\na=curr:qos remote none\r\na=des:qos mandatory local sendrecv\r\n"           \
	"a=des:qos none remote sendrecv\r\n"
#define SDP "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n"

/* The proxy as P-CSCF: the core socket is [pcscf] scscf; [iwu] pcscf points
 * nowhere, so that a request reaching the core shows the role's next hop. */
static struct h *pc_up(void)
{
	struct h *h = h_new();
	char v[80];

	conf_set(h, "general", "role", "pcscf");
	conf_set(h, "pcscf", "reg_subscribe", "no"); /* test_regevent.c has the subscription */
	conf_set(h, "iwu", "pcscf", "sip:127.0.0.1:9;transport=udp");
	conf_set(h, "pcscf", "scscf", fmt(v, sizeof(v), "sip:127.0.0.1:%u", h->cport));
	h_start(h);
	return h;
}

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

/* Our Path / Record-Route user part for b. */
static const char *tok(struct h *h, struct browser *b, bool ob)
{
	char *o = ring();

	wims_proxy__token_make(h->px, b->id, ob, o);
	return o;
}

/* A REGISTER as an IMS client with sec-agree and spoofed trust-domain headers would send it. */
static char *br_register(char *buf, size_t cap, unsigned i, unsigned cseq, const char *branch, bool regid,
			 unsigned expires, const char *auth)
{
	char ct[400];

	if (regid)
		fmt(ct, sizeof(ct), "<%s>;+sip.instance=" INSTANCE ";reg-id=1;expires=%u", br_contact(i), i,
		    expires);
	else
		fmt(ct, sizeof(ct), "<%s>;expires=%u", br_contact(i), expires);
	return fmt(buf, cap,
		   "REGISTER sip:ims.test SIP/2.0\r\n"
		   "Via: %s\r\n"
		   "Max-Forwards: 70\r\n"
		   "To: <sip:user%u@ims.test>\r\n"
		   "From: <sip:user%u@ims.test>;tag=reg%u\r\n"
		   "Call-ID: reg-call-%u@test\r\n"
		   "CSeq: %u REGISTER\r\n"
		   "Contact: %s\r\n"
		   "Authorization: Digest username=\"user%u@ims.test\", realm=\"ims.test\", nonce=\"%s\", "
		   "uri=\"sip:ims.test\", response=\"%s\", integrity-protected=\"yes\"\r\n"
		   "Security-Client: tls;q=0.1\r\n"
		   "Security-Verify: tls;q=0.1\r\n"
		   "Require: sec-agree\r\n"
		   "Proxy-Require: sec-agree\r\n"
		   "Supported: path, sec-agree, outbound\r\n"
		   "P-Asserted-Identity: <sip:boss@ims.test>\r\n"
		   "P-Access-Network-Info: IEEE-802.11\r\n"
		   "P-Charging-Vector: icid-value=spoofed\r\n"
		   "P-Visited-Network-ID: spoofed.test\r\n"
		   "Path: <sip:evil@198.51.100.1;lr>\r\n"
		   "Content-Length: 0\r\n"
		   "\r\n",
		   br_via(i, branch), i, i, i, i, cseq, ct, i, auth, auth[0] ? "0123456789abcdef" : "");
}

/* The 2xx an S-CSCF gives a REGISTER: the binding, Service-Route, P-Associated-URI, charging. */
static char *reg_ok(char *buf, size_t cap, const char *req_at_core, unsigned i, unsigned expires)
{
	char extra[1024];
	const char *ct = V(req_at_core, WIMS_HDR_CONTACT, 0);

	if (expires)
		fmt(extra, sizeof(extra),
		    "Contact: %s\r\nPath: %s\r\nService-Route: " SR1 "\r\nService-Route: " SR2 "\r\n"
		    "P-Associated-URI: " PAU "\r\n" PCFA "P-Charging-Vector: icid-value=core1\r\n",
		    ct, H(req_at_core, "Path", 0), i, i, i);
	else
		fmt(extra, sizeof(extra), "%s", PCFA);
	return reply_to(buf, cap, req_at_core, 200, "regok", extra);
}

/* REGISTER answered 200; the browser gets the 200. */
static void do_register(struct h *h, struct browser *b, unsigned i, bool regid)
{
	char req[4096], resp[4096];
	size_t nb = b->q.n, nc = h->core.n;

	br_send(b, br_register(req, sizeof(req), i, 1, "r1", regid, 600, "n0nce"));
	assert_true(wait_q(h, &h->core, nc + 1, 1000));
	core_send(h, reg_ok(resp, sizeof(resp), last(&h->core), i, 600));
	assert_true(wait_q(h, &b->q, nb + 1, 1000));
	assert_int_equal(STATUS(last(&b->q)), 200);
}

static char *br_invite(char *buf, size_t cap, unsigned i, const char *branch, const char *callid,
		       const char *extra)
{
	return fmt(buf, cap,
		   "INVITE sip:callee@ims.test SIP/2.0\r\n"
		   "Via: %s\r\n"
		   "Max-Forwards: 70\r\n"
		   "Route: <sip:127.0.0.1:8080;transport=ws;lr>, <sip:evil@198.51.100.1;lr>\r\n"
		   "To: <sip:callee@ims.test>\r\n"
		   "From: <sip:user%u@ims.test>;tag=inv%u\r\n"
		   "Call-ID: %s\r\n"
		   "CSeq: 5 INVITE\r\n"
		   "Contact: <%s;ob>\r\n"
		   "%s"
		   "Content-Type: application/sdp\r\n"
		   "Content-Length: %zu\r\n"
		   "\r\n%s",
		   br_via(i, branch), i, i, callid, br_contact(i), extra, strlen(SDP), SDP);
}

/* Our two Record-Route entries for b: core side (UDP) on top, WebSocket side below. */
static const char *rr_core(struct h *h, struct browser *b, bool ob)
{
	char *o = ring(), t[PX_TOKEN_LEN + 1];

	wims_proxy__token_make(h->px, b->id, ob, t);
	snprintf(o, 4096, "<sip:%s@127.0.0.1:%u;lr>", t, h->port);
	return o;
}

static const char *rr_ws(struct h *h, struct browser *b, bool ob)
{
	char *o = ring(), t[PX_TOKEN_LEN + 1];

	wims_proxy__token_make(h->px, b->id, ob, t);
	snprintf(o, 4096, "<sip:%s@127.0.0.1:%u;transport=ws;lr>", t, h->port);
	return o;
}

/* ---- 1. REGISTER ---- */

static void test_register(void **state)
{
	struct h *h = pc_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char req[4096], resp[4096], want[600], icid1[200];
	const char *at, *bm;

	br_send(b, br_register(req, sizeof(req), 0, 1, "r1", true, 600, ""));
	assert_true(wait_q(h, &h->core, 1, 1000));
	at = h->core.m[0];
	assert_false(h->core.tcp[0]);
	assert_string_equal(SL(at), "REGISTER sip:ims.test SIP/2.0");
	/* an ordinary proxy: our Via on top of the browser's */
	assert_int_equal(VN(at, WIMS_HDR_VIA), 2);
	fmt(want, sizeof(want), "SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bK", h->port);
	assert_int_equal(strncmp(V(at, WIMS_HDR_VIA, 0), want, strlen(want)), 0);
	assert_string_equal(V(at, WIMS_HDR_VIA, 1), br_via(0, "r1"));
	/* the Contact is the browser's own */
	assert_string_equal(H(at, "Contact", 0), H(req, "Contact", 0));
	/* RFC 3327 / RFC 5626: our Path with the flow token and ob; the UE's Path is gone */
	assert_int_equal(HN(at, "Path"), 1);
	assert_string_equal(H(at, "Path", 0),
			    fmt(want, sizeof(want), "<sip:%s@127.0.0.1:%u;lr;ob>", tok(h, b, true), h->port));
	assert_int_equal(HN(at, "Require"), 1);
	assert_string_equal(H(at, "Require", 0), "path");
	assert_string_equal(H(at, "Proxy-Require", 0), ABSENT);
	assert_string_equal(H(at, "Supported", 0), "path, outbound");
	assert_int_equal(HN(at, "Supported"), 1);
	assert_string_equal(H(at, "Security-Client", 0), ABSENT);
	assert_string_equal(H(at, "Security-Verify", 0), ABSENT);
	assert_string_equal(H(at, "P-Asserted-Identity", 0), ABSENT);
	assert_string_equal(H(at, "P-Access-Network-Info", 0), ABSENT);
	/* ours only, one each */
	assert_int_equal(HN(at, "P-Visited-Network-ID"), 1);
	assert_string_equal(H(at, "P-Visited-Network-ID", 0), "\"ims.test\"");
	assert_int_equal(HN(at, "P-Charging-Vector"), 1);
	fmt(icid1, sizeof(icid1), "%s", H(at, "P-Charging-Vector", 0));
	assert_int_equal(strncmp(icid1, "icid-value=wims", 15), 0);
	assert_non_null(strstr(icid1, ";icid-generated-at=127.0.0.1"));
	/* a WSS flow not yet registered: tls-pending; the browser's own mark is gone */
	assert_string_equal(H(at, "Authorization", 0),
			    "Digest username=\"user0@ims.test\", realm=\"ims.test\", nonce=\"\", "
			    "uri=\"sip:ims.test\", response=\"\", integrity-protected=\"tls-pending\"");
	assert_string_equal(H(at, "Max-Forwards", 0), "69");

	/* 401 goes back with our Via removed */
	core_send(h, reply_to(resp, sizeof(resp), at, 401, "c401",
			      "WWW-Authenticate: Digest realm=\"ims.test\", nonce=\"n0nce\"\r\n"));
	assert_true(wait_q(h, &b->q, 1, 1000));
	assert_int_equal(STATUS(b->q.m[0]), 401);
	assert_int_equal(VN(b->q.m[0], WIMS_HDR_VIA), 1);
	assert_string_equal(V(b->q.m[0], WIMS_HDR_VIA, 0), br_via(0, "r1"));

	/* with credentials: a new icid; the 200 keeps Service-Route, loses the charging headers */
	br_send(b, br_register(req, sizeof(req), 0, 2, "r2", true, 600, "n0nce"));
	assert_true(wait_q(h, &h->core, 2, 1000));
	at = h->core.m[1];
	assert_string_not_equal(H(at, "P-Charging-Vector", 0), icid1);
	assert_non_null(strstr(H(at, "Authorization", 0), "response=\"0123456789abcdef\", "
							  "integrity-protected=\"tls-pending\""));
	core_send(h, reg_ok(resp, sizeof(resp), at, 0, 600));
	assert_true(wait_q(h, &b->q, 2, 1000));
	bm = b->q.m[1];
	assert_int_equal(STATUS(bm), 200);
	assert_string_equal(H(bm, "P-Charging-Function-Addresses", 0), ABSENT);
	assert_string_equal(H(bm, "P-Charging-Vector", 0), ABSENT);
	assert_string_equal(H(bm, "Service-Route", 0), SR1);
	assert_string_equal(H(bm, "Service-Route", 1), SR2);
	assert_string_equal(H(bm, "Contact", 0), H(req, "Contact", 0));
	assert_int_equal(wims_proxy_stats(h->px)->bindings_open, 1);

	/* the state: flows_json shows the IMPUs in order and the Service-Route */
	{
		char mem[4096];
		struct wims_wbuf w;
		wims_wbuf_init(&w, mem, sizeof(mem) - 1);
		wims_proxy_flows_json(h->px, &w);
		mem[w.len] = 0;
		assert_non_null(strstr(mem, "\"registered\":true"));
		assert_non_null(strstr(mem, "\"impu\":[\"sip:user0@ims.test\",\"sip:alias0@ims.test\","
					    "\"tel:+15550000\"]"));
		assert_non_null(strstr(mem, "\"service_route\":\""
					    "<sip:orig@scscf.ims.test;lr>, "
					    "<sip:as@as.ims.test;lr>\""));
		assert_non_null(strstr(mem, "\"outbound\":true"));
	}

	/* a re-REGISTER on the same TLS session: tls-yes */
	br_send(b, br_register(req, sizeof(req), 0, 3, "r3", true, 600, "n0nce"));
	assert_true(wait_q(h, &h->core, 3, 1000));
	assert_non_null(strstr(H(h->core.m[2], "Authorization", 0), "integrity-protected=\"tls-yes\""));
	h_free(h);
}

/* Plain WS, no reg-id: Path without ob, no integrity-protected at all; a
 * configured P-Visited-Network-ID; a Supported without path gets one. */
static void test_register_ws_plain(void **state)
{
	struct h *h = h_new();
	struct browser *b;
	char req[4096], v[80];
	const char *at;

	conf_set(h, "general", "role", "pcscf");
	conf_set(h, "pcscf", "reg_subscribe", "no"); /* test_regevent.c has the subscription */
	conf_set(h, "pcscf", "scscf", fmt(v, sizeof(v), "sip:127.0.0.1:%u;transport=udp", h->cport));
	conf_set(h, "pcscf", "visited_network_id", "visited.example");
	conf_set(h, "pcscf", "icid_prefix", "lab7");
	h_start(h);
	b = br_open(h, 0, WIMS_SIP_WS);
	br_register(req, sizeof(req), 0, 1, "r1", false, 600, "n0nce");
	replace_once(req, sizeof(req), "Supported: path, sec-agree, outbound", "Supported: sec-agree");
	br_send(b, req);
	assert_true(wait_q(h, &h->core, 1, 1000));
	at = h->core.m[0];
	assert_string_equal(H(at, "Path", 0),
			    fmt(v, sizeof(v), "<sip:%s@127.0.0.1:%u;lr>", tok(h, b, false), h->port));
	assert_string_equal(H(at, "Supported", 0), "path");
	assert_int_equal(HN(at, "Supported"), 1);
	assert_string_equal(H(at, "P-Visited-Network-ID", 0), "visited.example");
	assert_int_equal(strncmp(H(at, "P-Charging-Vector", 0), "icid-value=lab7", 15), 0);
	assert_null(strstr(H(at, "Authorization", 0), "integrity-protected"));
	assert_string_equal(H(at, "Authorization", 0),
			    "Digest username=\"user0@ims.test\", realm=\"ims.test\", nonce=\"n0nce\", "
			    "uri=\"sip:ims.test\", response=\"0123456789abcdef\"");
	h_free(h);
}

/* ---- 2. originating ---- */

static void test_originating(void **state)
{
	struct h *h = pc_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char req[4096], resp[4096], extra[600];
	const char *at;

	do_register(h, b, 0, true);
	q_clear(&h->core);
	q_clear(&b->q);

	/* P-Preferred-Identity that is registered: asserted as is */
	br_send(b, br_invite(req, sizeof(req), 0, "i1", "orig-1@test",
			     "P-Preferred-Identity: <sip:alias0@ims.test>\r\n"
			     "P-Asserted-Identity: <sip:boss@ims.test>\r\n"
			     "P-Charging-Vector: icid-value=spoofed\r\n"));
	assert_true(wait_q(h, &h->core, 1, 1000));
	at = h->core.m[0];
	assert_string_equal(SL(at), "INVITE sip:callee@ims.test SIP/2.0");
	assert_int_equal(VN(at, WIMS_HDR_VIA), 2);
	/* the Service-Route replaces whatever the browser preloaded */
	assert_int_equal(VN(at, WIMS_HDR_ROUTE), 2);
	assert_string_equal(V(at, WIMS_HDR_ROUTE, 0), SR1);
	assert_string_equal(V(at, WIMS_HDR_ROUTE, 1), SR2);
	assert_int_equal(HN(at, "P-Asserted-Identity"), 1);
	assert_string_equal(H(at, "P-Asserted-Identity", 0), "<sip:alias0@ims.test>");
	assert_string_equal(H(at, "P-Preferred-Identity", 0), ABSENT);
	assert_int_equal(HN(at, "P-Charging-Vector"), 1);
	assert_int_equal(strncmp(H(at, "P-Charging-Vector", 0), "icid-value=wims", 15), 0);
	/* double Record-Route with the flow token, core side on top */
	assert_int_equal(VN(at, WIMS_HDR_RECORD_ROUTE), 2);
	assert_string_equal(V(at, WIMS_HDR_RECORD_ROUTE, 0), rr_core(h, b, true));
	assert_string_equal(V(at, WIMS_HDR_RECORD_ROUTE, 1), rr_ws(h, b, true));
	assert_string_equal(H(at, "Contact", 0), H(req, "Contact", 0));
	assert_string_equal(BODY(at), SDP QOS_OFFER); /* precond.c: RFC 3312 status lines */

	/* the 200 (with the core's charging headers) reaches the browser without them */
	fmt(extra, sizeof(extra),
	    "Contact: <sip:callee@192.0.2.7:5062>\r\nRecord-Route: <sip:scscf@127.0.0.1:%u;lr>, %s, "
	    "%s\r\n" PCFA "P-Charging-Vector: icid-value=x\r\n",
	    h->cport, rr_core(h, b, true), rr_ws(h, b, true));
	core_send(h, reply_to(resp, sizeof(resp), at, 200, "callee", extra));
	assert_true(wait_q(h, &b->q, 2, 1000)); /* 100, 200 */
	assert_int_equal(STATUS(b->q.m[1]), 200);
	assert_string_equal(H(b->q.m[1], "P-Charging-Vector", 0), ABSENT);
	assert_string_equal(H(b->q.m[1], "P-Charging-Function-Addresses", 0), ABSENT);
	assert_int_equal(VN(b->q.m[1], WIMS_HDR_RECORD_ROUTE), 3);

	/* an in-dialog request keeps its route set beyond us: no PAI, no icid, no Record-Route */
	br_send(b, fmt(req, sizeof(req),
		       "BYE sip:callee@192.0.2.7:5062 SIP/2.0\r\nVia: %s\r\nMax-Forwards: 70\r\n"
		       "Route: %s, %s, <sip:scscf@127.0.0.1:%u;lr>\r\n"
		       "To: <sip:callee@ims.test>;tag=callee\r\nFrom: <sip:user0@ims.test>;tag=inv0\r\n"
		       "Call-ID: orig-1@test\r\nCSeq: 6 BYE\r\nContent-Length: 0\r\n\r\n",
		       br_via(0, "b1"), rr_ws(h, b, true), rr_core(h, b, true), h->cport));
	assert_true(wait_q(h, &h->core, 2, 1000));
	at = h->core.m[1];
	assert_string_equal(SL(at), "BYE sip:callee@192.0.2.7:5062 SIP/2.0");
	assert_int_equal(VN(at, WIMS_HDR_ROUTE), 1);
	assert_string_equal(V(at, WIMS_HDR_ROUTE, 0),
			    fmt(extra, sizeof(extra), "<sip:scscf@127.0.0.1:%u;lr>", h->cport));
	assert_string_equal(H(at, "P-Asserted-Identity", 0), ABSENT);
	assert_string_equal(H(at, "P-Charging-Vector", 0), ABSENT);
	assert_string_equal(H(at, "Record-Route", 0), ABSENT);

	/* P-Preferred-Identity not registered: the default IMPU (the first P-Associated-URI) */
	br_send(b, fmt(req, sizeof(req),
		       "MESSAGE sip:callee@ims.test SIP/2.0\r\nVia: %s\r\nMax-Forwards: 70\r\n"
		       "To: <sip:callee@ims.test>\r\nFrom: <sip:user0@ims.test>;tag=m0\r\n"
		       "P-Preferred-Identity: <sip:boss@ims.test>\r\n"
		       "Call-ID: msg-1@test\r\nCSeq: 1 MESSAGE\r\nContent-Type: text/plain\r\n"
		       "Content-Length: 2\r\n\r\nhi",
		       br_via(0, "m1")));
	assert_true(wait_q(h, &h->core, 3, 1000));
	at = h->core.m[2];
	assert_string_equal(H(at, "P-Asserted-Identity", 0), "<sip:user0@ims.test>");
	assert_string_equal(H(at, "P-Preferred-Identity", 0), ABSENT);
	assert_string_equal(H(at, "Record-Route", 0), ABSENT); /* MESSAGE makes no dialog */
	assert_string_equal(V(at, WIMS_HDR_ROUTE, 0), SR1);
	h_free(h);
}

/* Not registered, or registered on another flow: 403, nothing forwarded. */
static void test_unregistered_403(void **state)
{
	struct h *h = pc_up();
	struct browser *b0 = br_open(h, 0, WIMS_SIP_WSS);
	struct browser *b1 = br_open(h, 1, WIMS_SIP_WSS);
	char req[4096];

	br_send(b0, br_invite(req, sizeof(req), 0, "i1", "unreg-1@test", ""));
	assert_true(wait_q(h, &b0->q, 1, 1000));
	assert_string_equal(SL(last(&b0->q)), "SIP/2.0 403 Not Registered");
	do_register(h, b0, 0, true);
	q_clear(&h->core);
	/* b1 claims b0's identity on its own connection */
	br_send(b1, br_invite(req, sizeof(req), 0, "i2", "unreg-2@test",
			      "P-Preferred-Identity: <sip:user0@ims.test>\r\n"));
	assert_true(wait_q(h, &b1->q, 1, 1000));
	assert_int_equal(STATUS(last(&b1->q)), 403);
	/* an in-dialog request of a flow that never registered: 403 too */
	br_send(b1, fmt(req, sizeof(req),
			"BYE sip:callee@192.0.2.7 SIP/2.0\r\nVia: %s\r\nMax-Forwards: 70\r\n"
			"To: <sip:callee@ims.test>;tag=x\r\nFrom: <sip:user0@ims.test>;tag=y\r\n"
			"Call-ID: other@test\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n",
			br_via(1, "b2")));
	assert_true(wait_q(h, &b1->q, 2, 1000));
	assert_int_equal(STATUS(last(&b1->q)), 403);
	settle(h, 30);
	assert_int_equal(h->core.n, 0);
	h_free(h);
}

/* ---- 3. terminating ---- */

static char *core_invite(char *buf, size_t cap, struct h *h, struct browser *b, unsigned i, bool ob,
			 const char *callid)
{
	return fmt(buf, cap,
		   "INVITE %s SIP/2.0\r\n"
		   "Via: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKcore-%s;rport\r\n"
		   "Max-Forwards: 68\r\n"
		   "Route: <sip:%s@127.0.0.1:%u;lr%s>\r\n"
		   "Record-Route: <sip:scscf@127.0.0.1:%u;lr>\r\n"
		   "From: <sip:caller@ims.test>;tag=fcore\r\n"
		   "To: <sip:user%u@ims.test>\r\n"
		   "Call-ID: %s\r\n"
		   "CSeq: 10 INVITE\r\n"
		   "Contact: <sip:caller@127.0.0.1:%u>\r\n"
		   "P-Asserted-Identity: <sip:caller@ims.test>\r\n"
		   "P-Charging-Vector: icid-value=core7;orig-ioi=home.test\r\n" PCFA
		   "Content-Type: application/sdp\r\n"
		   "Content-Length: %zu\r\n"
		   "\r\n%s",
		   br_contact(i), h->cport, callid, tok(h, b, ob), h->port, ob ? ";ob" : "", h->cport, i,
		   callid, h->cport, strlen(SDP), SDP);
}

static void test_terminating(void **state)
{
	struct h *h = pc_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char req[4096], resp[4096], extra[600];
	const char *at;

	do_register(h, b, 0, true);
	q_clear(&h->core);
	q_clear(&b->q);

	core_send(h, core_invite(req, sizeof(req), h, b, 0, true, "term-1@test"));
	assert_true(wait_q(h, &b->q, 1, 1000));
	at = b->q.m[0];
	/* the Request-URI is the browser's registered Contact, kept */
	assert_string_equal(SL(at), fmt(extra, sizeof(extra), "INVITE %s SIP/2.0", br_contact(0)));
	assert_string_equal(H(at, "Route", 0), ABSENT);
	assert_string_equal(H(at, "P-Charging-Vector", 0), ABSENT);
	assert_string_equal(H(at, "P-Charging-Function-Addresses", 0), ABSENT);
	assert_string_equal(H(at, "P-Asserted-Identity", 0), "<sip:caller@ims.test>");
	assert_int_equal(VN(at, WIMS_HDR_RECORD_ROUTE), 3);
	assert_string_equal(V(at, WIMS_HDR_RECORD_ROUTE, 0), rr_ws(h, b, true));
	assert_string_equal(V(at, WIMS_HDR_RECORD_ROUTE, 1), rr_core(h, b, true));
	assert_int_equal(VN(at, WIMS_HDR_VIA), 2);

	/* the browser answers claiming another identity: the core gets the registered one */
	fmt(extra, sizeof(extra),
	    "Contact: <%s>\r\nP-Asserted-Identity: <sip:boss@ims.test>\r\n"
	    "P-Preferred-Identity: <sip:alias0@ims.test>\r\n",
	    br_contact(0));
	br_send(b, reply_to(resp, sizeof(resp), at, 200, "tbr", extra));
	assert_true(wait_q(h, &h->core, 2, 1000)); /* 100, 200 */
	at = h->core.m[1];
	assert_int_equal(STATUS(at), 200);
	assert_int_equal(HN(at, "P-Asserted-Identity"), 1);
	assert_string_equal(H(at, "P-Asserted-Identity", 0), "<sip:alias0@ims.test>");
	assert_string_equal(H(at, "P-Preferred-Identity", 0), ABSENT);
	assert_string_equal(H(at, "Contact", 0), fmt(extra, sizeof(extra), "<%s>", br_contact(0)));

	/* the core's in-dialog BYE comes back by the token in our Record-Route */
	core_send(h, fmt(req, sizeof(req),
			 "BYE %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKbye-t1;rport\r\n"
			 "Max-Forwards: 69\r\nRoute: %s, %s\r\nFrom: <sip:caller@ims.test>;tag=fcore\r\n"
			 "To: <sip:user0@ims.test>;tag=tbr\r\nCall-ID: term-1@test\r\nCSeq: 11 BYE\r\n"
			 "Content-Length: 0\r\n\r\n",
			 br_contact(0), h->cport, rr_core(h, b, true), rr_ws(h, b, true)));
	assert_true(wait_q(h, &b->q, 2, 1000));
	at = b->q.m[1];
	assert_string_equal(SL(at), fmt(extra, sizeof(extra), "BYE %s SIP/2.0", br_contact(0)));
	assert_string_equal(H(at, "Route", 0), ABSENT);
	assert_string_equal(H(at, "CSeq", 0), "11 BYE");
	h_free(h);
}

/* The flow of a token is gone: 430 with ob, 480 without; a forged token: 404. */
static void test_terminating_flow_gone(void **state)
{
	struct h *h = pc_up();
	struct browser *b0 = br_open(h, 0, WIMS_SIP_WSS);
	struct browser *b1 = br_open(h, 1, WIMS_SIP_WS);
	char req[4096], t0[PX_TOKEN_LEN + 1];
	size_t n;

	do_register(h, b0, 0, true);
	do_register(h, b1, 1, false);
	/* build the requests while the flows exist (the token does not depend on them) */
	core_invite(req, sizeof(req), h, b0, 0, true, "gone-0@test");
	fmt(t0, sizeof(t0), "%s", tok(h, b0, true));
	br_gone(b0);
	q_clear(&h->core);
	core_send(h, req);
	assert_true(wait_q(h, &h->core, 1, 1000));
	assert_string_equal(SL(last(&h->core)), "SIP/2.0 430 Flow Failed");

	core_invite(req, sizeof(req), h, b1, 1, false, "gone-1@test");
	br_gone(b1);
	core_send(h, req);
	assert_true(wait_q(h, &h->core, 2, 1000));
	assert_int_equal(STATUS(last(&h->core)), 480);

	/* a token whose MAC does not verify */
	n = strlen(req);
	replace_once(req, sizeof(req), "gone-1@test", "gone-2@test");
	replace_once(req, sizeof(req), "gone-1@test", "gone-2@test");
	{
		char *p = strstr(req, "Route: <sip:wt");
		assert_non_null(p);
		p[12 + PX_TOKEN_LEN - 1] = p[12 + PX_TOKEN_LEN - 1] == '0' ? '1' : '0';
	}
	assert_int_equal(strlen(req), n);
	core_send(h, req);
	assert_true(wait_q(h, &h->core, 3, 1000));
	assert_int_equal(STATUS(last(&h->core)), 404);
	h_free(h);
}

/* ---- 4. de-REGISTER ---- */

static void test_deregister(void **state)
{
	struct h *h = pc_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char req[4096], resp[4096];

	do_register(h, b, 0, true);
	assert_int_equal(wims_proxy_stats(h->px)->bindings_open, 1);
	br_send(b, br_register(req, sizeof(req), 0, 2, "r9", true, 0, "n0nce"));
	assert_true(wait_q(h, &h->core, 2, 1000));
	core_send(h, reg_ok(resp, sizeof(resp), last(&h->core), 0, 0));
	assert_true(wait_q(h, &b->q, 2, 1000));
	assert_int_equal(STATUS(last(&b->q)), 200);
	assert_string_equal(H(last(&b->q), "P-Charging-Function-Addresses", 0), ABSENT);
	assert_int_equal(wims_proxy_stats(h->px)->bindings_open, 0);
	/* nothing goes out for it any more */
	br_send(b, br_invite(req, sizeof(req), 0, "i9", "after-dereg@test", ""));
	assert_true(wait_q(h, &b->q, 3, 1000));
	assert_int_equal(STATUS(last(&b->q)), 403);
	settle(h, 20);
	assert_int_equal(h->core.n, 2);
	h_free(h);
}

/* ---- 5. a lost WebSocket releases its dialogs toward the S-CSCF ---- */

static void test_flow_lost_bye(void **state)
{
	struct h *h = pc_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char req[4096], resp[4096], extra[600];
	const char *bye;

	do_register(h, b, 0, true);
	q_clear(&h->core);
	br_send(b, br_invite(req, sizeof(req), 0, "i1", "lost-1@test", ""));
	assert_true(wait_q(h, &h->core, 1, 1000));
	fmt(extra, sizeof(extra),
	    "Contact: <sip:callee@192.0.2.7:5062>\r\nRecord-Route: <sip:scscf@127.0.0.1:%u;lr>, %s, %s\r\n",
	    h->cport, rr_core(h, b, true), rr_ws(h, b, true));
	core_send(h, reply_to(resp, sizeof(resp), h->core.m[0], 200, "callee", extra));
	assert_true(wait_q(h, &b->q, 3, 1000));
	assert_int_equal(wims_proxy_stats(h->px)->dialogs_open, 1);
	q_clear(&h->core);
	br_gone(b);
	/* the BYE goes to [pcscf] scscf (the core socket), by the S-CSCF's Record-Route */
	assert_true(wait_q(h, &h->core, 1, 1000));
	bye = h->core.m[0];
	assert_string_equal(SL(bye), "BYE sip:callee@192.0.2.7:5062 SIP/2.0");
	assert_int_equal(VN(bye, WIMS_HDR_ROUTE), 1);
	assert_string_equal(V(bye, WIMS_HDR_ROUTE, 0),
			    fmt(extra, sizeof(extra), "<sip:scscf@127.0.0.1:%u;lr>", h->cport));
	assert_string_equal(H(bye, "From", 0), "<sip:user0@ims.test>;tag=inv0");
	assert_string_equal(H(bye, "To", 0), "<sip:callee@ims.test>;tag=callee");
	assert_string_equal(H(bye, "CSeq", 0), "6 BYE");
	assert_non_null(strstr(H(bye, "Reason", 0), "cause=480"));
	assert_int_equal(wims_proxy_stats(h->px)->dialogs_released, 1);
	assert_int_equal(wims_proxy_stats(h->px)->flows_open, 0);
	assert_int_equal(wims_proxy_stats(h->px)->bindings_open, 0);
	h_free(h);
}

/* The browser was the callee: its dialog is released toward the S-CSCF too,
 * From/To swapped, by the Record-Route of the INVITE (ours left out). */
static void test_flow_lost_bye_callee(void **state)
{
	struct h *h = pc_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char req[4096], resp[4096], extra[600];
	const char *bye;

	do_register(h, b, 0, true);
	q_clear(&h->core);
	q_clear(&b->q);
	core_send(h, core_invite(req, sizeof(req), h, b, 0, true, "lost-2@test"));
	assert_true(wait_q(h, &b->q, 1, 1000));
	fmt(extra, sizeof(extra), "Contact: <%s>\r\n", br_contact(0));
	br_send(b, reply_to(resp, sizeof(resp), b->q.m[0], 200, "tbr", extra));
	assert_true(wait_q(h, &h->core, 2, 1000));
	assert_int_equal(wims_proxy_stats(h->px)->dialogs_open, 1);
	q_clear(&h->core);
	br_gone(b);
	assert_true(wait_q(h, &h->core, 1, 1000));
	bye = h->core.m[0];
	assert_string_equal(SL(bye),
			    fmt(extra, sizeof(extra), "BYE sip:caller@127.0.0.1:%u SIP/2.0", h->cport));
	assert_int_equal(VN(bye, WIMS_HDR_ROUTE), 1);
	assert_string_equal(V(bye, WIMS_HDR_ROUTE, 0),
			    fmt(extra, sizeof(extra), "<sip:scscf@127.0.0.1:%u;lr>", h->cport));
	assert_string_equal(H(bye, "From", 0), "<sip:user0@ims.test>;tag=tbr");
	assert_string_equal(H(bye, "To", 0), "<sip:caller@ims.test>;tag=fcore");
	assert_string_equal(H(bye, "Call-ID", 0), "lost-2@test");
	h_free(h);
}

/* sec-agree among other option tags: only it goes; over a TCP next hop the
 * Path says transport=tcp. */
static void test_register_tags_tcp(void **state)
{
	struct h *h = h_new();
	struct browser *b;
	char req[4096], v[120];
	const char *at;

	conf_set(h, "general", "role", "pcscf");
	conf_set(h, "pcscf", "reg_subscribe", "no"); /* test_regevent.c has the subscription */
	conf_set(h, "pcscf", "scscf", fmt(v, sizeof(v), "sip:127.0.0.1:%u;transport=tcp", h->cport));
	h_start(h);
	b = br_open(h, 0, WIMS_SIP_WSS);
	br_register(req, sizeof(req), 0, 1, "r1", true, 600, "");
	replace_once(req, sizeof(req), "Require: sec-agree", "Require: sec-agree, foo");
	replace_once(req, sizeof(req), "Proxy-Require: sec-agree", "Proxy-Require: bar, sec-agree");
	br_send(b, req);
	assert_true(wait_q(h, &h->core, 1, 1000));
	at = h->core.m[0];
	assert_true(h->core.tcp[0]);
	assert_int_equal(HN(at, "Require"), 2);
	assert_string_equal(H(at, "Require", 0), "foo");
	assert_string_equal(H(at, "Require", 1), "path");
	assert_string_equal(H(at, "Proxy-Require", 0), "bar");
	assert_string_equal(H(at, "Path", 0), fmt(v, sizeof(v), "<sip:%s@127.0.0.1:%u;transport=tcp;lr;ob>",
						  tok(h, b, true), h->port));
	h_free(h);
}

/* A binding that expires: initial requests get 403 again, a dialog of the
 * flow may still end; Contact: * removes the registration at once. */
static void test_expiry_and_remove_all(void **state)
{
	struct h *h = pc_up();
	struct browser *b = br_open(h, 0, WIMS_SIP_WSS);
	char req[4096], resp[4096], extra[1024];

	br_send(b, br_register(req, sizeof(req), 0, 1, "r1", true, 600, "n0nce"));
	assert_true(wait_q(h, &h->core, 1, 1000));
	fmt(extra, sizeof(extra), "Contact: <%s>;expires=1\r\nP-Associated-URI: <sip:user0@ims.test>\r\n",
	    br_contact(0));
	core_send(h, reply_to(resp, sizeof(resp), h->core.m[0], 200, "regok", extra));
	assert_true(wait_q(h, &b->q, 1, 1000));
	assert_int_equal(wims_proxy_stats(h->px)->bindings_open, 1);
	br_send(b, fmt(req, sizeof(req),
		       "MESSAGE sip:callee@ims.test SIP/2.0\r\nVia: %s\r\nMax-Forwards: 70\r\n"
		       "To: <sip:callee@ims.test>\r\nFrom: <sip:user0@ims.test>;tag=m0\r\n"
		       "Call-ID: msg-e1@test\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n",
		       br_via(0, "m1")));
	assert_true(wait_q(h, &h->core, 2, 1000));
	/* no Service-Route in that 200: no Route; the AoR asserted */
	assert_string_equal(H(h->core.m[1], "Route", 0), ABSENT);
	assert_string_equal(H(h->core.m[1], "P-Asserted-Identity", 0), "<sip:user0@ims.test>");
	core_send(h, reply_to(resp, sizeof(resp), h->core.m[1], 200, "m200", ""));
	assert_true(wait_q(h, &b->q, 2, 1000));
	/* a call made while registered */
	br_send(b, fmt(req, sizeof(req),
		       "INVITE sip:callee@ims.test SIP/2.0\r\nVia: %s\r\nMax-Forwards: 70\r\n"
		       "To: <sip:callee@ims.test>\r\nFrom: <sip:user0@ims.test>;tag=y\r\n"
		       "Call-ID: old@test\r\nCSeq: 1 INVITE\r\nContact: <%s>\r\nContent-Length: 0\r\n\r\n",
		       br_via(0, "i1"), br_contact(0)));
	assert_true(wait_q(h, &h->core, 3, 1000));
	fmt(extra, sizeof(extra), "Contact: <sip:callee@192.0.2.7>\r\nRecord-Route: <sip:scscf@127.0.0.1:%u;lr>\r\n",
	    h->cport);
	core_send(h, reply_to(resp, sizeof(resp), h->core.m[2], 200, "x", extra));
	assert_true(wait_q(h, &b->q, 4, 1000)); /* 100 Trying, 200 */
	settle(h, 1100);
	br_send(b, fmt(req, sizeof(req),
		       "MESSAGE sip:callee@ims.test SIP/2.0\r\nVia: %s\r\nMax-Forwards: 70\r\n"
		       "To: <sip:callee@ims.test>\r\nFrom: <sip:user0@ims.test>;tag=m0\r\n"
		       "Call-ID: msg-e2@test\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n",
		       br_via(0, "m2")));
	assert_true(wait_q(h, &b->q, 5, 1000));
	assert_int_equal(STATUS(last(&b->q)), 403);
	/* the registration ran out, the call may still end; its route set is
	 * the dialog's, not what the browser writes */
	br_send(b, fmt(req, sizeof(req),
		       "BYE sip:callee@192.0.2.7 SIP/2.0\r\nVia: %s\r\nMax-Forwards: 70\r\n"
		       "Route: <sip:mgcf@198.51.100.9;lr>\r\n"
		       "To: <sip:callee@ims.test>;tag=x\r\nFrom: <sip:user0@ims.test>;tag=y\r\n"
		       "Call-ID: old@test\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n",
		       br_via(0, "b1")));
	assert_true(wait_q(h, &h->core, 4, 1000));
	assert_string_equal(SL(last(&h->core)), "BYE sip:callee@192.0.2.7 SIP/2.0");
	assert_int_equal(VN(last(&h->core), WIMS_HDR_ROUTE), 1);
	assert_string_equal(V(last(&h->core), WIMS_HDR_ROUTE, 0),
			    fmt(extra, sizeof(extra), "<sip:scscf@127.0.0.1:%u;lr>", h->cport));
	core_send(h, reply_to(resp, sizeof(resp), last(&h->core), 200, "", ""));
	assert_true(wait_q(h, &b->q, 6, 1000));
	/* a BYE for a dialog wims never saw: 481, nothing to the core */
	br_send(b, fmt(req, sizeof(req),
		       "BYE sip:callee@192.0.2.7 SIP/2.0\r\nVia: %s\r\nMax-Forwards: 70\r\n"
		       "To: <sip:callee@ims.test>;tag=x2\r\nFrom: <sip:user0@ims.test>;tag=y2\r\n"
		       "Call-ID: forged@test\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n",
		       br_via(0, "b2")));
	assert_true(wait_q(h, &b->q, 7, 1000));
	assert_int_equal(STATUS(last(&b->q)), 481);
	assert_int_equal(h->core.n, 4);

	/* registered again, then Contact: * */
	br_send(b, br_register(req, sizeof(req), 0, 2, "r2", true, 600, "n0nce"));
	assert_true(wait_q(h, &h->core, 5, 1000));
	core_send(h, reg_ok(resp, sizeof(resp), last(&h->core), 0, 600));
	assert_true(wait_q(h, &b->q, 8, 1000));
	assert_int_equal(wims_proxy_stats(h->px)->bindings_open, 1);
	br_register(req, sizeof(req), 0, 3, "r3", true, 0, "n0nce");
	replace_once(req, sizeof(req), V(req, WIMS_HDR_CONTACT, 0), "*");
	br_send(b, req);
	assert_true(wait_q(h, &h->core, 6, 1000));
	assert_string_equal(H(last(&h->core), "Contact", 0), "*");
	core_send(h, reply_to(resp, sizeof(resp), last(&h->core), 200, "regok", ""));
	assert_true(wait_q(h, &b->q, 9, 1000));
	assert_int_equal(STATUS(last(&b->q)), 200);
	assert_int_equal(wims_proxy_stats(h->px)->bindings_open, 0);
	h_free(h);
}

/* OPTIONS from the core to wimsd itself: 200 with Allow and Supported. */
static void test_options_to_us(void **state)
{
	struct h *h = pc_up();
	char req[1024];

	core_send(
	    h, fmt(req, sizeof(req),
		   "OPTIONS sip:127.0.0.1:%u SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKopt1\r\n"
		   "Max-Forwards: 70\r\nFrom: <sip:scscf@ims.test>;tag=o1\r\nTo: <sip:127.0.0.1:%u>\r\n"
		   "Call-ID: opt-1@test\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
		   h->port, h->cport, h->port));
	assert_true(wait_q(h, &h->core, 1, 1000));
	assert_int_equal(STATUS(h->core.m[0]), 200);
	assert_string_equal(H(h->core.m[0], "Supported", 0), "path, outbound");
	h_free(h);
}

/* A bad [pcscf] configuration stops wims_proxy_alloc with a message. */
static void test_alloc_errors(void **state)
{
	struct h *h = h_new();
	char err[256] = "";

	conf_set(h, "general", "role", "pcscf");
	conf_set(h, "pcscf", "reg_subscribe", "no"); /* test_regevent.c has the subscription */
	/* a domain name is resolved by DNS (dns.c); its static fallback must be numeric */
	conf_set(h, "pcscf", "scscf", "sip:scscf.ims.test");
	conf_set(h, "pcscf", "scscf_fallback", "127.0.0.1:5080, scscf.ims.test:5080");
	assert_int_equal(wims_proxy_alloc(&h->px, &h->loop, h->tp, &h->conf, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "numeric"));
	conf_set(h, "pcscf", "scscf_fallback", "");
	conf_set(h, "pcscf", "scscf", "sip:127.0.0.1:5080");
	conf_set(h, "pcscf", "icid_prefix", "a;b");
	assert_int_equal(wims_proxy_alloc(&h->px, &h->loop, h->tp, &h->conf, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "icid_prefix"));
	h->px = NULL;
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_register),
	    cmocka_unit_test(test_register_ws_plain),
	    cmocka_unit_test(test_originating),
	    cmocka_unit_test(test_unregistered_403),
	    cmocka_unit_test(test_terminating),
	    cmocka_unit_test(test_terminating_flow_gone),
	    cmocka_unit_test(test_deregister),
	    cmocka_unit_test(test_flow_lost_bye),
	    cmocka_unit_test(test_flow_lost_bye_callee),
	    cmocka_unit_test(test_register_tags_tcp),
	    cmocka_unit_test(test_expiry_and_remove_all),
	    cmocka_unit_test(test_options_to_us),
	    cmocka_unit_test(test_alloc_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
