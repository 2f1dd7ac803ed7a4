/* wims-bench: a SIP-over-WebSocket load generator and test client.
 *
 * N WebSocket connections (ws:// or wss://), each a JsSIP-like user agent
 * with its own identity, run one scenario:
 *
 *   register  REGISTER → 401 → REGISTER with Authorization → 200 (one round
 *             = one transaction, latency from the first REGISTER sent;
 *             with --dereg the round goes on with a de-REGISTER, 401, 200)
 *   options   OPTIONS to --target, any final response counts
 *   call      INVITE (WebRTC SDP) → [401/407 → INVITE with credentials] → 200,
 *             ACK, BYE → 200 (one call = one transaction)
 *   hold      register every connection, then keep them open for --duration
 *             seconds with CRLF keep-alives and WebSocket pings every
 *             --keepalive seconds, checking each ping is answered
 *
 * The measured figures: transactions completed, failures by status,
 * achieved rate, latency percentiles, connections failed; with --watch-pid,
 * the memory of the watched processes before and after (hold).
 *
 * Also the project's own C client for integration tests:
 *   wims-bench --scenario register --conns 1 --expect 200
 * exits 0 only when every transaction ended with that status.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "base/addr.h"
#include "base/buf.h"
#include "base/str.h"
#include "base/stream.h"
#include "http/wsframe.h"
#include "sip/msg.h"
#include "wims_bench_opts.h"
#include "wims_bench_sip.h"

enum phase { PH_CONNECT, PH_REGISTER, PH_LOAD, PH_HOLD, PH_DRAIN, PH_DONE };
enum tkind { TK_FREE, TK_REGISTER, TK_OPTIONS, TK_INVITE, TK_BYE };
enum ustate { UA_IDLE, UA_CONNECTING, UA_HANDSHAKE, UA_OPEN, UA_CLOSED };

#define MAX_STATUS 700

struct tsx {
	enum tkind kind;
	bool warm;    /* a registration before the measured load */
	bool dereg;   /* --dereg: the de-REGISTER of this round is out */
	uint8_t auth; /* challenges answered */
	uint32_t cseq;
	uint64_t t0, t_setup, t_bye; /* ns */
	uint64_t deadline;	     /* ms, loop time */
	uint64_t bye_at;	     /* ms, loop time; 0: BYE sent */
	char branch[24], call_id[40], ftag[20];
	char to[320]; /* To of the 2xx (with its tag) */
	char rtarget[256];
	char route[1024];
};

struct ua {
	struct bench *b;
	unsigned idx;
	enum ustate state;
	struct wims_stream *st;
	bool registered, pong_wait;
	char hs[1024];
	size_t hs_len;
	struct wims_ws_parser wp;
	char *asm_buf; /* a message arriving in several frames */
	size_t asm_len;
	char user[48], aor[128], host[20], cuser[20], inst[40], reg_callid[40];
	uint32_t reg_cseq, cseq;
	unsigned inflight, started;
	uint64_t t_conn; /* ms, loop time the connection attempt began */
	struct tsx *t;	 /* window slots */
};

struct bench {
	struct opts o;
	uv_loop_t *loop;
	SSL_CTX *tls;
	struct wims_addr addr;
	struct ua *ua;
	uv_timer_t tick, slow;
	enum phase ph;
	uint64_t rng;
	uint64_t t_begin, t_load, t_last; /* ns */
	unsigned next_connect, pending, opened, conn_failed, dropped, reg_next, reg_ok, reg_failed;
	uint64_t started, completed, ok, failed, timeouts, closed_fail, bad_msgs;
	uint64_t status[MAX_STATUS];
	struct lat lat, setup;
	unsigned rr;
	bool filled;
	/* hold */
	uint64_t hold_start, ka_round_start;
	unsigned ka_next, ka_rounds;
	uint64_t ka_sent, ka_missed;
	long rss[3], pss[3];
	struct wims_sip_msg m;
};

/* ---- small things ---- */

static uint64_t rnd(struct bench *b)
{
	/* xorshift64*: cheap, and good enough for tags, branches and masks */
	b->rng ^= b->rng >> 12;
	b->rng ^= b->rng << 25;
	b->rng ^= b->rng >> 27;
	return b->rng * 2685821657736338717ull;
}

static void rnd_hex(struct bench *b, char *out, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	uint64_t r = 0;

	for (size_t i = 0; i < n; i++) {
		if (i % 16 == 0)
			r = rnd(b);
		out[i] = hx[r & 15];
		r >>= 4;
	}
	out[n] = 0;
}

/* ---- WebSocket ---- */

static void ws_send(struct ua *u, uint8_t op, const void *data, size_t len)
{
	char stackbuf[16384];
	struct wims_wbuf wb;
	uint8_t mask[4];
	uint64_t r = rnd(u->b);
	char *mem = stackbuf;

	if (!u->st || u->state != UA_OPEN)
		return;
	if (len + WIMS_WS_MAX_FRAME_HEADER > sizeof(stackbuf) &&
	    !(mem = malloc(len + WIMS_WS_MAX_FRAME_HEADER)))
		return;
	memcpy(mask, &r, 4);
	wims_wbuf_init(&wb, mem, mem == stackbuf ? sizeof(stackbuf) : len + WIMS_WS_MAX_FRAME_HEADER);
	/* RFC 6455 §5.3: a client masks every frame */
	wims_ws_frame_build(&wb, true, op, data, len, mask);
	if (!wb.err && wims_stream_write(u->st, wb.p, wb.len))
		wims_stream_abort(u->st);
	if (mem != stackbuf)
		free(mem);
}

static void ws_handshake_send(struct ua *u)
{
	unsigned char key[16], k64[32];
	char req[1024];
	uint64_t r1 = rnd(u->b), r2 = rnd(u->b);
	const struct opts *o = &u->b->o;

	memcpy(key, &r1, 8);
	memcpy(key + 8, &r2, 8);
	EVP_EncodeBlock(k64, key, sizeof(key));
	int n =
	    snprintf(req, sizeof(req),
		     "GET %s HTTP/1.1\r\nHost: %s:%u\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		     "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: sip\r\n"
		     "Origin: %s://%s:%u\r\nUser-Agent: wims-bench\r\n\r\n",
		     o->path, o->host, o->port, k64, o->tls ? "https" : "http", o->host, o->port);
	u->state = UA_HANDSHAKE;
	if (wims_stream_write(u->st, req, (size_t)n))
		wims_stream_abort(u->st);
}

static void sip_input(struct ua *u, const char *p, size_t n);

static int ws_on_data(void *arg, const uint8_t *p, size_t n, bool binary, bool first, bool fin)
{
	struct ua *u = arg;

	if (first && fin) {
		sip_input(u, (const char *)p, n);
		return 0;
	}
	if (first)
		u->asm_len = 0;
	if (!u->asm_buf && !(u->asm_buf = malloc(WIMS_WS_MAX_MESSAGE)))
		return -ENOMEM;
	if (u->asm_len + n > WIMS_WS_MAX_MESSAGE)
		return WIMS_WS_CLOSE_TOO_BIG;
	memcpy(u->asm_buf + u->asm_len, p, n);
	u->asm_len += n;
	if (fin) {
		sip_input(u, u->asm_buf, u->asm_len);
		free(u->asm_buf);
		u->asm_buf = NULL;
	}
	return 0;
}

static int ws_on_control(void *arg, uint8_t op, const uint8_t *p, size_t n)
{
	struct ua *u = arg;

	if (op == WIMS_WS_OP_PING) {
		ws_send(u, WIMS_WS_OP_PONG, p, n);
	} else if (op == WIMS_WS_OP_PONG) {
		u->pong_wait = false;
	} else if (op == WIMS_WS_OP_CLOSE) {
		ws_send(u, WIMS_WS_OP_CLOSE, p, n >= 2 ? 2 : 0);
		return 1; /* stop parsing; the caller closes */
	}
	return 0;
}

/* ---- transactions ---- */

static void tsx_start(struct ua *u);
static bool load_wants_more(const struct bench *b, const struct ua *u);

static bool status_ok(unsigned st)
{
	return st >= 200 && st < 300;
}

/* The end of transaction t with final status st (0: timeout or lost flow). */
static void tsx_done(struct ua *u, struct tsx *t, unsigned st)
{
	struct bench *b = u->b;
	uint64_t now = uv_hrtime();
	bool warm = t->warm;

	if (warm) {
		if (status_ok(st)) {
			b->reg_ok++;
			u->registered = true;
		} else {
			b->reg_failed++;
			if (b->o.verbose)
				fprintf(stderr, "ua %u: registration failed (%u)\n", u->idx, st);
		}
	} else {
		b->completed++;
		b->t_last = now;
		if (st < MAX_STATUS)
			b->status[st]++;
		if (status_ok(st)) {
			b->ok++;
			/* a call: set-up plus tear-down, without the talk time */
			lat_add(&b->lat, t->t_bye ? (t->t_setup - t->t0) + (now - t->t_bye) : now - t->t0);
			if (t->t_setup)
				lat_add(&b->setup, t->t_setup - t->t0);
		} else {
			b->failed++;
		}
	}
	t->kind = TK_FREE;
	u->inflight--;
	if (!warm && b->o.rate == 0 && load_wants_more(b, u))
		tsx_start(u);
}

static struct tsx *tsx_by_branch(struct ua *u, struct wims_str br)
{
	if (br.l < 7 || strncmp(br.p, "z9hG4bK", 7) != 0)
		return NULL;
	br.p += 7;
	br.l -= 7;
	for (unsigned i = 0; i < u->b->o.window; i++) {
		struct tsx *t = &u->t[i];
		if (t->kind != TK_FREE && wims_str_eqc(br, t->branch))
			return t;
	}
	return NULL;
}

static void send_sip(struct ua *u, struct wims_wbuf *wb)
{
	if (wb->err) {
		fprintf(stderr, "wims-bench: a request did not fit its buffer\n");
		return;
	}
	ws_send(u, WIMS_WS_OP_TEXT, wb->p, wb->len);
}

static void req_base(struct ua *u, struct tsx *t, struct bsip_req *r, const char *method, const char *ruri)
{
	memset(r, 0, sizeof(*r));
	r->method = method;
	r->ruri = ruri;
	r->via_proto = u->b->o.tls ? "WSS" : "WS";
	r->via_host = u->host;
	r->branch = t->branch;
	r->from_uri = u->aor;
	r->from_tag = t->ftag;
	r->call_id = t->call_id;
	r->cseq = t->cseq;
}

static void send_register(struct ua *u, struct tsx *t, const struct bsip_chal *c)
{
	const struct opts *o = &u->b->o;
	unsigned expires = t->dereg ? 0 : o->expires;
	char buf[4096], to[160], ruri[80], extra[1536], cn[17];
	struct wims_wbuf wb, xb;
	struct bsip_req r;

	snprintf(ruri, sizeof(ruri), "sip:%s", o->domain);
	snprintf(to, sizeof(to), "<%s>", u->aor);
	wims_wbuf_init(&xb, extra, sizeof(extra));
	if (c) {
		rnd_hex(u->b, cn, 16);
		bsip_auth_write(&xb, "Authorization", c, u->user, o->password, "REGISTER", ruri, cn);
	}
	wims_wbuf_printf(&xb,
			 "Contact: <sip:%s@%s.invalid;transport=ws>;+sip.ice;reg-id=1;"
			 "+sip.instance=\"<urn:uuid:%s>\";expires=%u\r\nExpires: %u\r\n"
			 "Allow: INVITE,ACK,CANCEL,BYE,UPDATE,MESSAGE,OPTIONS,REFER,INFO,NOTIFY\r\n"
			 "Supported: path,gruu,outbound\r\n",
			 u->cuser, u->host, u->inst, expires, expires);
	req_base(u, t, &r, "REGISTER", ruri);
	r.to = to;
	r.extra = extra;
	wims_wbuf_init(&wb, buf, sizeof(buf));
	bsip_write(&wb, &r);
	send_sip(u, &wb);
}

static void send_options(struct ua *u, struct tsx *t)
{
	char buf[2048], to[200];
	struct wims_wbuf wb;
	struct bsip_req r;

	snprintf(to, sizeof(to), "<%s>", u->b->o.target);
	req_base(u, t, &r, "OPTIONS", u->b->o.target);
	r.to = to;
	r.extra = "Accept: application/sdp\r\nSupported: outbound\r\n";
	wims_wbuf_init(&wb, buf, sizeof(buf));
	bsip_write(&wb, &r);
	send_sip(u, &wb);
}

static void send_invite(struct ua *u, struct tsx *t, const struct bsip_chal *c, bool proxy)
{
	const struct opts *o = &u->b->o;
	char buf[8192], to[200], extra[1536], cn[17];
	struct wims_wbuf wb, xb;
	struct bsip_req r;

	snprintf(to, sizeof(to), "<%s>", o->target);
	wims_wbuf_init(&xb, extra, sizeof(extra));
	if (c) {
		rnd_hex(u->b, cn, 16);
		bsip_auth_write(&xb, proxy ? "Proxy-Authorization" : "Authorization", c, u->user, o->password,
				"INVITE", o->target, cn);
	}
	wims_wbuf_printf(&xb,
			 "Contact: <sip:%s@%s.invalid;transport=ws;ob>\r\n"
			 "Allow: INVITE,ACK,CANCEL,BYE,UPDATE,MESSAGE,OPTIONS,REFER,INFO,NOTIFY\r\n"
			 "Supported: ice,replaces,outbound\r\n",
			 u->cuser, u->host);
	req_base(u, t, &r, "INVITE", o->target);
	r.to = to;
	r.extra = extra;
	r.body = bsip_sdp;
	r.ctype = "application/sdp";
	wims_wbuf_init(&wb, buf, sizeof(buf));
	bsip_write(&wb, &r);
	send_sip(u, &wb);
}

/* ACK: for a non-2xx (same branch, hop by hop) or for the 2xx (new branch, end to end). */
static void send_ack(struct ua *u, struct tsx *t, bool ok)
{
	char buf[4096], br[17];
	struct wims_wbuf wb;
	struct bsip_req r;

	req_base(u, t, &r, "ACK", ok ? t->rtarget : u->b->o.target);
	if (ok) {
		rnd_hex(u->b, br, 16);
		r.branch = br;
		r.route = t->route;
	}
	r.to = t->to;
	wims_wbuf_init(&wb, buf, sizeof(buf));
	bsip_write(&wb, &r);
	send_sip(u, &wb);
}

static void send_bye(struct ua *u, struct tsx *t)
{
	char buf[4096];
	struct wims_wbuf wb;
	struct bsip_req r;

	req_base(u, t, &r, "BYE", t->rtarget);
	r.route = t->route;
	r.to = t->to;
	wims_wbuf_init(&wb, buf, sizeof(buf));
	bsip_write(&wb, &r);
	send_sip(u, &wb);
}

static void tsx_begin(struct ua *u, enum tkind k, bool warm)
{
	struct bench *b = u->b;
	struct tsx *t = NULL;

	for (unsigned i = 0; i < b->o.window && !t; i++)
		if (u->t[i].kind == TK_FREE)
			t = &u->t[i];
	if (!t)
		return;
	memset(t, 0, offsetof(struct tsx, to));
	t->kind = k;
	t->warm = warm;
	t->t0 = uv_hrtime();
	t->deadline = uv_now(b->loop) + b->o.timeout_ms;
	rnd_hex(b, t->branch, 16);
	rnd_hex(b, t->ftag, 10);
	u->inflight++;
	if (!warm) {
		u->started++;
		b->started++;
	}
	if (k == TK_REGISTER) {
		/* JsSIP keeps one Call-ID for its registrations and counts CSeq up */
		snprintf(t->call_id, sizeof(t->call_id), "%s", u->reg_callid);
		t->cseq = ++u->reg_cseq;
		send_register(u, t, NULL);
		return;
	}
	rnd_hex(b, t->call_id, 24);
	t->cseq = ++u->cseq;
	if (k == TK_OPTIONS)
		send_options(u, t);
	else
		send_invite(u, t, NULL, false);
}

static void tsx_start(struct ua *u)
{
	static const enum tkind kinds[] = {[SC_REGISTER] = TK_REGISTER,
					   [SC_OPTIONS] = TK_OPTIONS,
					   [SC_CALL] = TK_INVITE,
					   [SC_HOLD] = TK_REGISTER};
	tsx_begin(u, kinds[u->b->o.scen], false);
}

/* ---- responses ---- */

/* Answer a 401/407: true when a new request went out. */
static bool on_challenge(struct ua *u, struct tsx *t, const struct wims_sip_msg *m)
{
	const struct wims_sip_hdr *h =
	    wims_sip_msg_hdr(m, m->status == 401 ? WIMS_HDR_WWW_AUTHENTICATE : WIMS_HDR_PROXY_AUTHENTICATE);
	struct bsip_chal c;

	if (t->auth++ || !h || !bsip_chal_parse(&c, h->value))
		return false;
	if (t->kind == TK_INVITE)
		send_ack(u, t, false);
	rnd_hex(u->b, t->branch, 16);
	if (t->kind == TK_REGISTER) {
		t->cseq = ++u->reg_cseq;
		send_register(u, t, &c);
	} else {
		t->cseq = ++u->cseq;
		send_invite(u, t, &c, m->status == 407);
	}
	return true;
}

/* Remember the dialog of a 2xx to an INVITE: To with tag, Contact, route set
 * (Record-Route in reverse order, RFC 3261 §12.1.2). */
static void dialog_from_2xx(struct tsx *t, const struct wims_sip_msg *m)
{
	const struct wims_sip_hdr *h = wims_sip_msg_hdr(m, WIMS_HDR_TO);
	struct wims_str rr[WIMS_SIP_MAX_ROUTE];
	struct wims_sip_vals it;
	struct wims_sip_addr a;
	struct wims_wbuf wb;
	size_t n = 0;

	if (h && wims_str_copy(t->to, sizeof(t->to), h->value))
		t->to[0] = 0;
	h = wims_sip_msg_hdr(m, WIMS_HDR_CONTACT);
	if (!h || wims_sip_addr_parse(&a, h->value) || wims_str_copy(t->rtarget, sizeof(t->rtarget), a.uri))
		snprintf(t->rtarget, sizeof(t->rtarget), "%s", "sip:invalid");
	wims_sip_vals_init(&it, m, WIMS_HDR_RECORD_ROUTE);
	while (n < WIMS_SIP_MAX_ROUTE && wims_sip_vals_next(&it))
		rr[n++] = it.value;
	wims_wbuf_init(&wb, t->route, sizeof(t->route));
	while (n--) {
		wims_wbuf_putstr(&wb, rr[n]);
		if (n)
			wims_wbuf_puts(&wb, ", ");
	}
	wims_wbuf_put(&wb, "", 1);
	if (wb.err)
		t->route[0] = 0;
}

static void on_response(struct ua *u, const struct wims_sip_msg *m)
{
	struct wims_sip_via v;
	struct wims_sip_cseq cs;
	const struct wims_sip_hdr *ch = wims_sip_msg_hdr(m, WIMS_HDR_CSEQ);
	struct tsx *t;

	if (wims_sip_msg_top_via(m, &v) || !ch || wims_sip_cseq_parse(&cs, ch->value))
		return;
	t = tsx_by_branch(u, v.branch);
	if (!t || m->status < 200)
		return;
	if ((m->status == 401 || m->status == 407) && (t->kind == TK_REGISTER || t->kind == TK_INVITE) &&
	    on_challenge(u, t, m))
		return;
	switch (t->kind) {
	case TK_INVITE:
		if (cs.method_id != WIMS_SIP_INVITE)
			return;
		if (!status_ok(m->status)) {
			const struct wims_sip_hdr *h = wims_sip_msg_hdr(m, WIMS_HDR_TO);
			if (h && wims_str_copy(t->to, sizeof(t->to), h->value))
				t->to[0] = 0;
			send_ack(u, t, false);
			tsx_done(u, t, m->status);
			return;
		}
		dialog_from_2xx(t, m);
		t->t_setup = uv_hrtime();
		send_ack(u, t, true);
		t->kind = TK_BYE;
		t->cseq = ++u->cseq;
		rnd_hex(u->b, t->branch, 16);
		/* the BYE waits --talk-ms (tick_calls), at least 1 ms: sent right
		 * behind the ACK it can overtake it in the core's worker processes */
		t->bye_at = uv_now(u->b->loop) + (u->b->o.talk_ms ? u->b->o.talk_ms : 1);
		t->deadline += u->b->o.talk_ms;
		return;
	case TK_REGISTER:
		if (u->b->o.dereg && !t->warm && !t->dereg && status_ok(m->status)) {
			/* --dereg: the same round removes the binding again */
			t->dereg = true;
			t->auth = 0;
			rnd_hex(u->b, t->branch, 16);
			t->cseq = ++u->reg_cseq;
			send_register(u, t, NULL);
			return;
		}
		tsx_done(u, t, m->status);
		return;
	default:
		tsx_done(u, t, m->status);
	}
}

/* Requests from the network (keep-alive OPTIONS, a BYE from the far end...). */
static void on_request(struct ua *u, const struct wims_sip_msg *m)
{
	char buf[4096];
	struct wims_wbuf wb;
	unsigned code = 200;

	if (m->method_id == WIMS_SIP_ACK)
		return;
	if (m->method_id == WIMS_SIP_INVITE || m->method_id == WIMS_SIP_SUBSCRIBE)
		code = 488;
	wims_wbuf_init(&wb, buf, sizeof(buf));
	if (wims_sip_reply(m, code, NULL, wims_str_c("wbtag"), WIMS_STR_NULL, &wb) == 0)
		ws_send(u, WIMS_WS_OP_TEXT, wb.p, wb.len);
}

static void sip_input(struct ua *u, const char *p, size_t n)
{
	struct bench *b = u->b;
	const char *why = NULL;
	size_t i = 0;

	while (i < n && (p[i] == '\r' || p[i] == '\n' || p[i] == ' '))
		i++;
	if (i == n)
		return; /* CRLF keep-alive answer */
	if (wims_sip_msg_parse(&b->m, p, n, &why)) {
		if (b->bad_msgs++ < 5)
			fprintf(stderr, "wims-bench: unparsable SIP message (%s): %.*s\n", why ? why : "?",
				(int)(n > 200 ? 200 : n), p);
		return;
	}
	if (b->m.is_request)
		on_request(u, &b->m);
	else
		on_response(u, &b->m);
}

/* ---- connections ---- */

static void ua_fail_all(struct ua *u)
{
	for (unsigned i = 0; i < u->b->o.window; i++)
		if (u->t[i].kind != TK_FREE) {
			if (!u->t[i].warm)
				u->b->closed_fail++;
			tsx_done(u, &u->t[i], 0);
		}
}

static void on_stream_close(struct wims_stream *s, int err, void *arg)
{
	struct ua *u = arg;
	struct bench *b = u->b;

	if (u->state == UA_CONNECTING || u->state == UA_HANDSHAKE) {
		b->pending--;
		b->conn_failed++;
		if (b->o.verbose || b->conn_failed <= 3)
			fprintf(stderr, "wims-bench: connection %u failed: %s\n", u->idx,
				err ? uv_strerror(err) : "closed during the handshake");
	} else if (u->state == UA_OPEN && b->ph != PH_DONE) {
		b->dropped++;
		if (b->o.verbose || b->dropped <= 3)
			fprintf(stderr, "wims-bench: connection %u closed by the peer (%s)\n", u->idx,
				err ? uv_strerror(err) : "orderly");
	}
	u->state = UA_CLOSED;
	u->st = NULL;
	ua_fail_all(u);
}

static void on_stream_data(struct wims_stream *s, const char *data, size_t len, void *arg)
{
	struct ua *u = arg;

	if (u->state == UA_HANDSHAKE) {
		size_t take = len < sizeof(u->hs) - 1 - u->hs_len ? len : sizeof(u->hs) - 1 - u->hs_len;
		memcpy(u->hs + u->hs_len, data, take);
		u->hs_len += take;
		u->hs[u->hs_len] = 0;
		char *end = strstr(u->hs, "\r\n\r\n");
		if (!end) {
			if (u->hs_len == sizeof(u->hs) - 1)
				wims_stream_abort(s);
			return;
		}
		if (strncmp(u->hs, "HTTP/1.1 101", 12) != 0) {
			fprintf(stderr, "wims-bench: upgrade refused: %.*s\n", (int)strcspn(u->hs, "\r\n"),
				u->hs);
			wims_stream_abort(s);
			return;
		}
		size_t used = (size_t)(end + 4 - u->hs) - (u->hs_len - take);
		u->state = UA_OPEN;
		u->b->pending--;
		u->b->opened++;
		data += used;
		len -= used;
		if (u->b->ph == PH_LOAD && u->b->o.rate == 0)
			while (load_wants_more(u->b, u) && u->inflight < u->b->o.window)
				tsx_start(u);
	}
	if (u->state != UA_OPEN || !len)
		return;
	int rc = wims_ws_parser_feed(&u->wp, (const uint8_t *)data, len);
	if (rc && u->st)
		wims_stream_close(u->st);
}

static void on_stream_open(struct wims_stream *s, void *arg)
{
	ws_handshake_send(arg);
}

static void ua_connect(struct bench *b, struct ua *u)
{
	static const struct wims_ws_parser_cb cb0 = {ws_on_data, ws_on_control, NULL};
	struct wims_stream_handlers h = {on_stream_open, on_stream_data, on_stream_close, u};
	struct wims_ws_parser_cb cb = cb0;

	cb.arg = u;
	wims_ws_parser_init(&u->wp, false, WIMS_WS_MAX_MESSAGE, &cb);
	u->state = UA_CONNECTING;
	u->t_conn = uv_now(b->loop);
	b->pending++;
	if (wims_stream_connect(&u->st, b->loop, &b->addr, b->tls, b->o.tls ? b->o.host : NULL, &h)) {
		u->state = UA_CLOSED;
		b->pending--;
		b->conn_failed++;
	}
}

static int ua_init(struct bench *b, struct ua *u, unsigned i)
{
	const struct opts *o = &b->o;
	char h[33];

	u->b = b;
	u->idx = i;
	u->t = calloc(o->window, sizeof(*u->t));
	if (!u->t)
		return -ENOMEM;
	snprintf(u->user, sizeof(u->user), "%s%u", o->user_prefix, o->user_start + i % o->user_count);
	snprintf(u->aor, sizeof(u->aor), "sip:%s@%s", u->user, o->domain);
	rnd_hex(b, u->host, 12);
	rnd_hex(b, u->cuser, 8);
	rnd_hex(b, h, 32);
	snprintf(u->inst, sizeof(u->inst), "%.8s-%.4s-4%.3s-a%.3s-%.12s", h, h + 8, h + 12, h + 15, h + 18);
	rnd_hex(b, u->reg_callid, 24);
	u->cseq = 1 + (uint32_t)(rnd(b) % 1000);
	return 0;
}

/* ---- phases ---- */

static bool load_wants_more(const struct bench *b, const struct ua *u)
{
	if (b->ph != PH_LOAD || u->state != UA_OPEN)
		return false;
	if (b->o.count && u->started >= b->o.count)
		return false;
	if (b->o.register_first && !u->registered)
		return false;
	return true;
}

static void finish(struct bench *b);

static void phase(struct bench *b, enum phase p)
{
	b->ph = p;
	if (p == PH_LOAD) {
		b->t_load = b->t_last = uv_hrtime();
		b->filled = false;
	} else if (p == PH_HOLD) {
		b->hold_start = b->ka_round_start = uv_now(b->loop);
		b->ka_next = 0;
	} else if (p == PH_DRAIN && b->ka_rounds == 0 && b->o.scen == SC_HOLD) {
		mem_sample(&b->o, &b->rss[2], &b->pss[2]);
	}
	if (b->o.verbose)
		fprintf(stderr, "wims-bench: phase %d (open %u, failed %u)\n", p, b->opened, b->conn_failed);
}

static void tick_connect(struct bench *b)
{
	while (b->pending < b->o.parallel && b->next_connect < b->o.conns)
		ua_connect(b, &b->ua[b->next_connect++]);
	if (b->next_connect < b->o.conns || b->pending)
		return;
	if (b->o.scen == SC_HOLD || b->o.register_first)
		phase(b, PH_REGISTER);
	else
		phase(b, PH_LOAD);
}

static void tick_register(struct bench *b)
{
	unsigned inflight = b->reg_next - b->reg_ok - b->reg_failed;

	while (inflight < b->o.parallel && b->reg_next < b->o.conns) {
		struct ua *u = &b->ua[b->reg_next++];
		if (u->state == UA_OPEN) {
			tsx_begin(u, TK_REGISTER, true);
			inflight++;
		} else {
			b->reg_failed++;
		}
	}
	if (b->reg_ok + b->reg_failed < b->o.conns)
		return;
	if (b->o.scen == SC_HOLD) {
		mem_sample(&b->o, &b->rss[1], &b->pss[1]);
		phase(b, PH_HOLD);
	} else {
		phase(b, PH_LOAD);
	}
}

static bool load_all_done(const struct bench *b)
{
	if (!b->o.count)
		return false;
	for (unsigned i = 0; i < b->o.conns; i++)
		if (load_wants_more(b, &b->ua[i]) || b->ua[i].inflight)
			return false;
	return true;
}

static void tick_load(struct bench *b)
{
	uint64_t now = uv_hrtime();
	double el = (double)(now - b->t_load) / 1e9;

	if ((b->o.duration > 0 && el >= b->o.duration) || load_all_done(b)) {
		phase(b, PH_DRAIN);
		return;
	}
	if (b->o.rate == 0) {
		/* as fast as the window allows: fill once, then refill on completion */
		for (unsigned i = 0; i < b->o.conns && !b->filled; i++)
			while (load_wants_more(b, &b->ua[i]) && b->ua[i].inflight < b->o.window)
				tsx_start(&b->ua[i]);
		b->filled = true;
		return;
	}
	/* the transactions due by now, round robin over the connections */
	uint64_t due = (uint64_t)(b->o.rate * el);
	for (unsigned scanned = 0; b->started < due && scanned < b->o.conns; scanned++) {
		struct ua *u = &b->ua[b->rr];
		b->rr = (b->rr + 1) % b->o.conns;
		if (load_wants_more(b, u) && u->inflight < b->o.window) {
			tsx_start(u);
			scanned = 0;
		}
	}
}

/* Keep-alives: each round of --keepalive seconds touches every connection
 * once, spread evenly over the round like a population of browsers would. */
static void tick_hold(struct bench *b)
{
	uint64_t now = uv_now(b->loop), round = b->o.keepalive_s * 1000ull;
	unsigned upto =
	    round ? (unsigned)((double)b->o.conns * (double)(now - b->ka_round_start) / (double)round)
		  : b->o.conns;

	if (b->ka_rounds == 0 && b->ka_next == 0 && now - b->hold_start < 2000)
		return; /* let the peer settle before the first round */
	if (upto > b->o.conns)
		upto = b->o.conns;
	for (; b->ka_next < upto; b->ka_next++) {
		struct ua *u = &b->ua[b->ka_next];
		if (u->state != UA_OPEN)
			continue;
		if (u->pong_wait)
			b->ka_missed++;
		if (strcmp(b->o.ka_mode, "ping"))
			ws_send(u, WIMS_WS_OP_TEXT, "\r\n\r\n", 4);
		if (strcmp(b->o.ka_mode, "crlf")) {
			u->pong_wait = true;
			ws_send(u, WIMS_WS_OP_PING, "wb", 2);
		}
		b->ka_sent++;
	}
	if (b->ka_next >= b->o.conns && now - b->ka_round_start >= round) {
		b->ka_rounds++;
		b->ka_next = 0;
		b->ka_round_start = now;
		if (b->ka_rounds == 1)
			mem_sample(&b->o, &b->rss[2], &b->pss[2]);
	}
	if (b->o.duration > 0 && now - b->hold_start >= (uint64_t)(b->o.duration * 1000)) {
		mem_sample(&b->o, &b->rss[2], &b->pss[2]);
		b->ka_rounds++; /* the sample is taken: phase() must not overwrite it */
		phase(b, PH_DRAIN);
	}
}

/* BYEs whose talk time is over. */
static void tick_calls(struct bench *b)
{
	uint64_t now = uv_now(b->loop);

	for (unsigned i = 0; i < b->o.conns; i++) {
		struct ua *u = &b->ua[i];
		for (unsigned k = 0; u->inflight && k < b->o.window; k++) {
			struct tsx *t = &u->t[k];
			if (t->kind == TK_BYE && t->bye_at && now >= t->bye_at) {
				t->bye_at = 0;
				t->t_bye = uv_hrtime();
				send_bye(u, t);
			}
		}
	}
}

static void on_tick(uv_timer_t *tm)
{
	struct bench *b = tm->data;
	unsigned inflight = 0;

	if (b->o.scen == SC_CALL)
		tick_calls(b);

	switch (b->ph) {
	case PH_CONNECT:
		tick_connect(b);
		break;
	case PH_REGISTER:
		tick_register(b);
		break;
	case PH_LOAD:
		tick_load(b);
		break;
	case PH_HOLD:
		tick_hold(b);
		break;
	case PH_DRAIN:
		for (unsigned i = 0; i < b->o.conns; i++)
			inflight += b->ua[i].inflight;
		if (!inflight)
			finish(b);
		break;
	case PH_DONE:
		break;
	}
}

/* Every 100 ms: transactions past their deadline end as timeouts. */
static void on_slow(uv_timer_t *tm)
{
	struct bench *b = tm->data;
	uint64_t now = uv_now(b->loop);

	for (unsigned i = 0; i < b->o.conns; i++) {
		struct ua *u = &b->ua[i];
		/* a connection or WebSocket handshake that hangs counts as failed */
		if ((u->state == UA_CONNECTING || u->state == UA_HANDSHAKE) && u->st &&
		    now - u->t_conn >= b->o.timeout_ms)
			wims_stream_abort(u->st);
		for (unsigned k = 0; u->inflight && k < b->o.window; k++)
			if (u->t[k].kind != TK_FREE && now >= u->t[k].deadline) {
				if (!u->t[k].warm)
					b->timeouts++;
				tsx_done(u, &u->t[k], 0);
			}
	}
}

/* ---- report ---- */

static unsigned held(const struct bench *b)
{
	unsigned n = 0;
	for (unsigned i = 0; i < b->o.conns; i++)
		n += b->ua[i].state == UA_OPEN;
	return n;
}

static void report_text(const struct bench *b, double el, double rate)
{
	const struct opts *o = &b->o;

	printf("wims-bench %s %s: %u connections (opened %u, failed %u, dropped %u), window %u, rate %s\n",
	       scen_name(o->scen), o->url, o->conns, b->opened, b->conn_failed, b->dropped, o->window,
	       o->rate > 0 ? "limited" : "max");
	if (o->scen == SC_HOLD || o->register_first)
		printf("  registered: %u ok, %u failed\n", b->reg_ok, b->reg_failed);
	if (o->scen == SC_HOLD) {
		printf("  held %u connections for %.0f s: %" PRIu64 " keep-alives, %" PRIu64
		       " unanswered pings\n",
		       held(b), o->duration, b->ka_sent, b->ka_missed);
		if (o->nwatch) {
			printf("  watched memory KiB: Rss %ld -> %ld (registered) -> %ld (held); Pss %ld -> "
			       "%ld -> %ld\n",
			       b->rss[0], b->rss[1], b->rss[2], b->pss[0], b->pss[1], b->pss[2]);
			if (b->reg_ok)
				printf("  per registered connection: %.2f KiB (Rss), %.2f KiB (Pss)\n",
				       (double)(b->rss[2] - b->rss[0]) / b->reg_ok,
				       (double)(b->pss[2] - b->pss[0]) / b->reg_ok);
		}
		return;
	}
	printf("  transactions: %" PRIu64 " completed, %" PRIu64 " ok, %" PRIu64 " failed", b->completed,
	       b->ok, b->failed);
	if (b->failed) {
		printf(" (");
		for (unsigned s = 1; s < MAX_STATUS; s++)
			if (b->status[s] && !status_ok(s))
				printf("%u: %" PRIu64 ", ", s, b->status[s]);
		printf("timeout: %" PRIu64 ", flow lost: %" PRIu64 ")", b->timeouts, b->closed_fail);
	}
	printf("\n  rate: %.1f/s over %.2f s\n", rate, el);
	printf("  latency ms: p50 %.3f  p90 %.3f  p99 %.3f  max %.3f\n", lat_pct(&b->lat, 50),
	       lat_pct(&b->lat, 90), lat_pct(&b->lat, 99), lat_pct(&b->lat, 100));
	if (b->setup.n)
		printf("  call set-up ms: p50 %.3f  p90 %.3f  p99 %.3f  max %.3f\n", lat_pct(&b->setup, 50),
		       lat_pct(&b->setup, 90), lat_pct(&b->setup, 99), lat_pct(&b->setup, 100));
}

static void report_json(const struct bench *b, double el, double rate)
{
	const struct opts *o = &b->o;
	bool first = true;

	printf("{\"scenario\":\"%s\",\"url\":\"%s\",\"conns\":%u,\"opened\":%u,\"conn_failed\":%u,"
	       "\"dropped\":%u,"
	       "\"window\":%u,\"rate_target\":%.1f,\"registered\":%u,\"reg_failed\":%u,",
	       scen_name(o->scen), o->url, o->conns, b->opened, b->conn_failed, b->dropped, o->window,
	       o->rate, b->reg_ok, b->reg_failed);
	printf("\"completed\":%" PRIu64 ",\"ok\":%" PRIu64 ",\"failed\":%" PRIu64 ",\"failures\":{",
	       b->completed, b->ok, b->failed);
	for (unsigned s = 1; s < MAX_STATUS; s++)
		if (b->status[s] && !status_ok(s)) {
			printf("%s\"%u\":%" PRIu64, first ? "" : ",", s, b->status[s]);
			first = false;
		}
	printf("%s\"timeout\":%" PRIu64 ",\"flow_lost\":%" PRIu64 "},", first ? "" : ",", b->timeouts,
	       b->closed_fail);
	printf("\"elapsed_s\":%.3f,\"rate\":%.1f,\"lat_ms\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"max\":%"
	       ".3f},",
	       el, rate, lat_pct(&b->lat, 50), lat_pct(&b->lat, 90), lat_pct(&b->lat, 99),
	       lat_pct(&b->lat, 100));
	printf("\"setup_ms\":{\"p50\":%.3f,\"p99\":%.3f},", lat_pct(&b->setup, 50), lat_pct(&b->setup, 99));
	printf("\"held\":%u,\"keepalives\":%" PRIu64 ",\"pings_unanswered\":%" PRIu64 ",",
	       o->scen == SC_HOLD ? held(b) : 0, b->ka_sent, b->ka_missed);
	printf("\"rss_kib\":[%ld,%ld,%ld],\"pss_kib\":[%ld,%ld,%ld],\"bad_msgs\":%" PRIu64 "}\n", b->rss[0],
	       b->rss[1], b->rss[2], b->pss[0], b->pss[1], b->pss[2], b->bad_msgs);
}

/* Exit status for --expect: every transaction (or registration, for hold)
 * ended with the expected status and no connection was lost. */
static int verdict(const struct bench *b)
{
	const struct opts *o = &b->o;

	if (!o->expect)
		return 0;
	if (b->conn_failed || b->dropped)
		return 1;
	if (o->scen == SC_HOLD)
		return b->reg_ok == o->conns && !b->ka_missed && held(b) == o->conns ? 0 : 1;
	if (!b->completed || b->completed != b->status[o->expect < MAX_STATUS ? o->expect : 0])
		return 1;
	if (o->count && b->completed != (uint64_t)o->count * o->conns)
		return 1;
	return 0;
}

static void finish(struct bench *b)
{
	double el = (double)(b->t_last - b->t_load) / 1e9;
	double rate;

	b->ph = PH_DONE;
	if (b->o.scen == SC_HOLD)
		el = (double)(uv_now(b->loop) - b->hold_start) / 1e3;
	rate = el > 0 ? (double)b->ok / el : 0;
	if (b->lat.n)
		qsort(b->lat.v, b->lat.n, sizeof(uint32_t), cmp_u32);
	if (b->setup.n)
		qsort(b->setup.v, b->setup.n, sizeof(uint32_t), cmp_u32);
	if (b->o.json)
		report_json(b, el, rate);
	else
		report_text(b, el, rate);
	fflush(stdout);
	/* The kernel closes the sockets; the peer sees the connections go. */
	exit(verdict(b));
}

static void raise_nofile(unsigned need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if (rl.rlim_cur < need + 64) {
		rl.rlim_cur = need + 64 > rl.rlim_max ? rl.rlim_max : need + 64;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	static struct bench bench; /* large (a parsed SIP message); one per process */
	struct bench *b = &bench;
	char err[256];

	opts_defaults(&b->o);
	if (parse_opts(&b->o, argc, argv)) {
		usage();
		return 2;
	}
	if (wims_addr_parse(&b->addr, wims_str_c(b->o.host), b->o.port)) {
		fprintf(stderr, "wims-bench: %s: the host must be a numeric address\n", b->o.url);
		return 2;
	}
	if (b->o.tls && wims_tls_client_ctx(&b->tls, NULL, err, sizeof(err))) {
		fprintf(stderr, "wims-bench: TLS: %s\n", err);
		return 2;
	}
	raise_nofile(b->o.conns);
	signal(SIGPIPE, SIG_IGN); /* a peer closing under load must not kill the report */
	if (RAND_bytes((unsigned char *)&b->rng, sizeof(b->rng)) != 1 || !b->rng)
		b->rng = (uint64_t)time(NULL) * 2654435761u ^ (uint64_t)getpid();
	b->loop = uv_default_loop();
	b->ua = calloc(b->o.conns, sizeof(*b->ua));
	if (!b->ua)
		return 1;
	for (unsigned i = 0; i < b->o.conns; i++)
		if (ua_init(b, &b->ua[i], i))
			return 1;
	mem_sample(&b->o, &b->rss[0], &b->pss[0]);
	b->t_begin = uv_hrtime();
	uv_timer_init(b->loop, &b->tick);
	uv_timer_init(b->loop, &b->slow);
	b->tick.data = b->slow.data = b;
	uv_timer_start(&b->tick, on_tick, 1, 1);
	uv_timer_start(&b->slow, on_slow, 100, 100);
	b->ph = PH_CONNECT;
	uv_run(b->loop, UV_RUN_DEFAULT);
	return 1;
}
