/* Preconditions (RFC 3312, RFC 4032, TS 24.229 §5.1.3/Annex U) and reliable
 * provisional responses (RFC 3262) on behalf of browsers.  JsSIP does
 * neither; VoLTE phones and IMS cores require both.  Per INVITE dialog of a
 * browser (Call-ID, the caller's tag, the browser's flow) wims keeps:
 *
 * originating (browser → core), when the browser's INVITE does not offer
 * 100rel:
 *   INVITE   + Supported: 100rel, precondition; qos lines in the offer
 *            (local none / remote none, des mandatory local, none remote)
 *   18x rel  PRACK sent by wims (200 absorbed); the 18x goes to the browser
 *            unreliable, without Require/RSeq and without qos lines
 *   183 qos  after the PRACK's 200: UPDATE with the IMS-side offer (the SDP
 *            media control produced) with a=curr:qos local sendrecv
 *   200      without SDP: the answer the browser got in the 18x is inserted
 *   later    the browser's CSeq numbers are shifted by the requests wims
 *            sent in its dialog (and shifted back in the responses)
 *
 * terminating (core → browser), Require: 100rel and/or precondition:
 *   INVITE   100rel/precondition and the qos lines stripped
 *   18x      made reliable by wims (RSeq, retransmitted until PRACK); the
 *            core's PRACK is answered here
 *   200      (Require: precondition) held; a reliable 183 carries the
 *            browser's answer with qos lines; PRACK and UPDATE answered
 *            here; then the held 18x and the 200 (without SDP) go on.
 *
 * A browser that offered 100rel itself gets everything untouched. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "proxy/precond.h"

static struct wims_ratelimit rl_pc = WIMS_RATELIMIT_INIT(10000, 10);

enum pc_side { PC_ORIG, PC_TERM };

struct px_pc {
	struct px_pc *next;
	struct wims_proxy *px;
	enum pc_side side;
	char call_id[256], ftag[128];
	uint64_t flow_id;
	uint32_t inv_cseq;
	bool ended;        /* the final response passed */
	uv_timer_t tm;     /* retransmission of our reliable 18x, else expiry */
	/* originating */
	uint32_t offset;   /* CSeq numbers wims used in the browser's dialog */
	uint32_t last_rseq;
	bool offered, update_wanted, update_sent;
	char ruri[512];
	char *head;        /* Route, From, To, Call-ID, Contact lines of our requests */
	char *upd_sdp;     /* the UPDATE's offer */
	char *br_answer;   /* the SDP answer the browser got in an 18x */
	char *contact;     /* our Contact line: UPDATE (originating), 2xx to UPDATE (terminating) */
	/* terminating */
	bool req_prec, req_100rel, br_rel, met, rel_pending;
	bool final_due;    /* the held 2xx goes when tm fires (just after the held 18x) */
	struct wims_pc_qos peer;   /* what the core's offer said */
	uint32_t rseq;
	char *rel;         /* our reliable 18x waiting for its PRACK */
	size_t rel_len;
	unsigned retr_ms, retr_spent;
	char *held18x, *held2xx, *answer;
	size_t held18x_len, held2xx_len;
	struct px_hop up;  /* toward the core */
	bool up_set;
	uint32_t upd_cseq; /* the last UPDATE answered, and the answer (retransmissions) */
	char *upd_resp;
	size_t upd_resp_len;
};

/* ---- small helpers ---- */

static int set_bytes(char **dst, size_t *len, const char *p, size_t l)
{
	char *c = malloc(l + 1);

	if (!c)
		return -ENOMEM;
	memcpy(c, p, l);
	c[l] = 0;
	free(*dst);
	*dst = c;
	if (len)
		*len = l;
	return 0;
}

static bool has_tag(const struct wims_sip_msg *m, enum wims_sip_hdr_id id, const char *tag)
{
	struct wims_sip_vals it;

	wims_sip_vals_init(&it, m, id);
	while (wims_sip_vals_next(&it))
		if (wims_str_eqic(it.value, tag))
			return true;
	return false;
}

static void strip_tag(struct wims_sip_edits *ed, const struct wims_sip_msg *m, enum wims_sip_hdr_id id,
		      const char *tag)
{
	struct wims_sip_vals it;

	wims_sip_vals_init(&it, m, id);
	while (wims_sip_vals_next(&it))
		if (wims_str_eqic(it.value, tag))
			wims_sip_edit_remove_val(ed, m, &it);
}

static bool cseq_of(const struct wims_sip_msg *m, struct wims_sip_cseq *cs)
{
	const struct wims_sip_hdr *h = wims_sip_msg_hdr(m, WIMS_HDR_CSEQ);

	return h && wims_sip_cseq_parse(cs, h->value) == 0;
}

static struct wims_str call_id_of(const struct wims_sip_msg *m)
{
	const struct wims_sip_hdr *h = wims_sip_msg_hdr(m, WIMS_HDR_CALL_ID);

	return h ? wims_str_trim(h->value) : WIMS_STR_NULL;
}

static bool sdp_body(const struct wims_sip_msg *m)
{
	return wims_proxy__media_has_sdp(m);
}

/* The body m goes on with: media control's, else its own. */
static struct wims_str cur_body(const struct wims_sip_msg *m, const struct wims_sip_edits *ed)
{
	return ed->body_set ? ed->new_body : m->body;
}

/* ---- sessions ---- */

static void pc_closed(uv_handle_t *h)
{
	free(h->data);
}

static void pc_free(struct px_pc *s)
{
	struct wims_proxy *px = s->px;

	for (struct px_pc **pp = &px->pc; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	wims_proxy__hop_clear(&s->up);
	free(s->head);
	free(s->upd_sdp);
	free(s->br_answer);
	free(s->contact);
	free(s->rel);
	free(s->held18x);
	free(s->held2xx);
	free(s->answer);
	free(s->upd_resp);
	uv_close((uv_handle_t *)&s->tm, pc_closed);
}

static struct px_pc *pc_new(struct wims_proxy *px, enum pc_side side, struct wims_str cid, struct wims_str ftag,
			    uint64_t flow_id, uint32_t cseq)
{
	struct px_pc *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	if (wims_str_copy(s->call_id, sizeof(s->call_id), cid) || wims_str_copy(s->ftag, sizeof(s->ftag), ftag)) {
		free(s);
		return NULL;
	}
	s->px = px;
	s->side = side;
	s->flow_id = flow_id;
	s->inv_cseq = cseq;
	uv_timer_init(px->loop, &s->tm);
	s->tm.data = s;
	s->next = px->pc;
	px->pc = s;
	return s;
}

/* flow_id 0 matches any flow. */
static struct px_pc *pc_find(struct wims_proxy *px, enum pc_side side, struct wims_str cid, struct wims_str ftag,
			     uint64_t flow_id)
{
	for (struct px_pc *s = px->pc; s; s = s->next)
		if (s->side == side && wims_str_eqc(cid, s->call_id) && wims_str_eqc(ftag, s->ftag) &&
		    (!flow_id || !s->flow_id || s->flow_id == flow_id))
			return s;
	return NULL;
}

static void on_timer(uv_timer_t *h);

/* Forget the session after the time retransmissions may still come. */
static void pc_expire_later(struct px_pc *s)
{
	if (!s->rel_pending)
		uv_timer_start(&s->tm, on_timer, 64ULL * s->px->t1, 0);
}

static void send_up(struct px_pc *s, const char *p, size_t l)
{
	if (wims_proxy__send(s->px, &s->up, p, l, false) == 0)
		s->px->st.responses_out++;
}

static void send_final(struct px_pc *s);

static void on_timer(uv_timer_t *h)
{
	struct px_pc *s = h->data;

	if (s->final_due) {
		send_final(s);
		return;
	}
	if (!s->rel_pending) {
		pc_free(s);
		return;
	}
	/* RFC 3262 §3: retransmit at T1, 2T1, ... until the PRACK, for 64*T1 */
	if (s->retr_spent >= 64U * s->px->t1) {
		wims_log_rl(&rl_pc, WIMS_LOG_NOTICE, "precond: no PRACK for our reliable %.12s (Call-ID %s)",
			    s->rel ? s->rel + 8 : "", s->call_id);
		s->rel_pending = false;
		pc_free(s);
		return;
	}
	s->px->st.retransmissions++;
	send_up(s, s->rel, s->rel_len);
	s->retr_spent += s->retr_ms;
	s->retr_ms *= 2;
	uv_timer_start(&s->tm, on_timer, s->retr_ms, 0);
}

/* ---- requests ---- */

/* Originating INVITE of a browser that did not offer 100rel. */
static void orig_invite(struct px_req *r)
{
	struct wims_proxy *px = r->px;
	const struct wims_sip_msg *m = r->m;
	struct wims_sip_cseq cs;
	struct px_pc *s;

	if (has_tag(m, WIMS_HDR_SUPPORTED, "100rel") || has_tag(m, WIMS_HDR_REQUIRE, "100rel") ||
	    has_tag(m, WIMS_HDR_SUPPORTED, "precondition") || !cseq_of(m, &cs))
		return; /* the browser does it itself: untouched */
	if (pc_find(px, PC_ORIG, call_id_of(m), wims_sip_msg_tag(m, WIMS_HDR_FROM), wims_sip_flow_id(r->in)))
		return; /* an INVITE retried after 401/407 etc.: same session */
	s = pc_new(px, PC_ORIG, call_id_of(m), wims_sip_msg_tag(m, WIMS_HDR_FROM), wims_sip_flow_id(r->in), cs.num);
	if (!s)
		return;
	struct wims_str body = cur_body(m, &r->ed);
	s->offered = sdp_body(m) && body.l;
	wims_sip_edit_append_hdr(&r->ed, m,
				 wims_str_c(s->offered ? "Supported: 100rel, precondition\r\n" : "Supported: 100rel\r\n"));
	if (!s->offered)
		return;
	/* RFC 3312 §5.1, TS 24.229 §6.1.2: nothing reserved yet on either segment */
	struct wims_pc_qos_out o = {.curr_local = "none", .curr_remote = "none", .des_remote = "none"};
	char *mem = wims_proxy__mem_get(px);
	struct wims_wbuf w;
	if (!mem)
		return;
	wims_wbuf_init(&w, mem, PX_POOL_SIZE);
	if (wims_pc_sdp_add(body, &o, false, &w)) {
		wims_proxy__mem_put(px, mem);
		s->offered = false;
		return;
	}
	if (r->pc_mem)
		wims_proxy__mem_put(px, r->pc_mem);
	r->pc_mem = mem;
	r->ed.new_body = wims_wbuf_str(&w);
	r->ed.body_set = true;
}

/* Terminating INVITE from the core: the browser must not see 100rel or
 * preconditions it cannot do. */
static void term_invite(struct px_req *r)
{
	struct wims_proxy *px = r->px;
	const struct wims_sip_msg *m = r->m;
	bool rq_prec = has_tag(m, WIMS_HDR_REQUIRE, "precondition");
	bool rq_rel = has_tag(m, WIMS_HDR_REQUIRE, "100rel");
	struct wims_str body = cur_body(m, &r->ed);
	struct wims_sip_cseq cs;

	if (!rq_prec && !rq_rel && !has_tag(m, WIMS_HDR_SUPPORTED, "precondition") && !wims_pc_sdp_has_qos(body))
		return;
	strip_tag(&r->ed, m, WIMS_HDR_REQUIRE, "precondition");
	strip_tag(&r->ed, m, WIMS_HDR_REQUIRE, "100rel");
	strip_tag(&r->ed, m, WIMS_HDR_SUPPORTED, "precondition");
	strip_tag(&r->ed, m, WIMS_HDR_PROXY_REQUIRE, "precondition");
	if (wims_pc_sdp_has_qos(body)) {
		char *mem = wims_proxy__mem_get(px);
		struct wims_wbuf w;
		if (mem) {
			wims_wbuf_init(&w, mem, PX_POOL_SIZE);
			if (wims_pc_sdp_strip(body, &w) == 0) {
				if (r->pc_mem)
					wims_proxy__mem_put(px, r->pc_mem);
				r->pc_mem = mem;
				r->ed.new_body = wims_wbuf_str(&w);
				r->ed.body_set = true;
			} else {
				wims_proxy__mem_put(px, mem);
			}
		}
	}
	/* with only Supported: precondition the browser answers without them (RFC 3312 §11) */
	if ((!rq_prec && !rq_rel) || !cseq_of(m, &cs))
		return;
	struct px_pc *s = pc_new(px, PC_TERM, call_id_of(m), wims_sip_msg_tag(m, WIMS_HDR_FROM), r->flow_token_id,
				 cs.num);
	if (!s)
		return;
	s->req_prec = rq_prec;
	s->req_100rel = rq_rel;
	wims_pc_sdp_read(m->body, &s->peer);
}

/* The edit of ed that replaces the span v of m (another hook's), or NULL. */
static struct wims_sip_edit *edit_of(struct wims_sip_edits *ed, const struct wims_sip_msg *m, struct wims_str v)
{
	size_t off = (size_t)(v.p - m->raw.p);

	for (size_t i = 0; i < ed->n; i++)
		if (ed->e[i].off == off && ed->e[i].del == v.l)
			return &ed->e[i];
	return NULL;
}

/* CSeq of a browser's in-dialog request toward the core, shifted past the
 * numbers wims used itself (RFC 3261 §12.2.1.1: they must go up).  When
 * stimer.c renumbered it already, the shift applies to its number. */
static void renumber_request(struct px_req *r)
{
	const struct wims_sip_msg *m = r->m;
	const struct wims_sip_hdr *h = wims_sip_msg_hdr(m, WIMS_HDR_CSEQ);
	struct wims_sip_cseq cs, prev;
	struct px_pc *s = pc_find(r->px, PC_ORIG, call_id_of(m), wims_sip_msg_tag(m, WIMS_HDR_FROM),
				  wims_sip_flow_id(r->in));

	if (!s || !s->offset || !h || !cseq_of(m, &cs) || cs.num <= s->inv_cseq)
		return;
	struct wims_sip_edit *e = edit_of(&r->ed, m, h->value);
	uint32_t base = cs.num;
	if (e && wims_sip_cseq_parse(&prev, e->ins) == 0)
		base = prev.num;
	size_t start = r->scratch.len;
	wims_wbuf_printf(&r->scratch, "%u %.*s", base + s->offset, (int)cs.method.l, cs.method.p);
	if (r->scratch.err)
		return;
	struct wims_str ins = wims_str_make(r->scratch.p + start, r->scratch.len - start);
	if (e)
		e->ins = ins;
	else
		wims_sip_edit_replace(&r->ed, m, h->value, ins);
}

/* A BYE ends the sessions of its Call-ID on this browser flow. */
static void bye_seen(struct wims_proxy *px, struct wims_str cid, uint64_t flow_id)
{
	for (struct px_pc *s = px->pc; s; s = s->next)
		if (wims_str_eqc(cid, s->call_id) && (!flow_id || s->flow_id == flow_id)) {
			s->ended = true;
			s->rel_pending = false;
			pc_expire_later(s);
		}
}

void wims_proxy__pc_request(struct px_req *r)
{
	const struct wims_sip_msg *m = r->m;
	bool from_br = px_proto_is_ws(wims_sip_flow_proto(r->in));
	bool to_br = px_proto_is_ws(r->out.proto);

	if (from_br == to_br || (!from_br && !r->flow_token_id))
		return;
	if (m->method_id == WIMS_SIP_INVITE && !wims_sip_msg_tag(m, WIMS_HDR_TO).l) {
		if (from_br)
			orig_invite(r);
		else
			term_invite(r);
		return;
	}
	if (!r->px->pc)
		return;
	if (from_br && m->method_id != WIMS_SIP_ACK && m->method_id != WIMS_SIP_CANCEL)
		renumber_request(r);
	else if (from_br && m->method_id == WIMS_SIP_ACK)
		renumber_request(r); /* an ACK to a re-INVITE's 2xx carries that re-INVITE's number */
	if (m->method_id == WIMS_SIP_BYE)
		bye_seen(r->px, call_id_of(m), from_br ? wims_sip_flow_id(r->in) : r->flow_token_id);
}

/* A response with body (NULL: none) and extra header lines to request m. */
static int reply_body(struct wims_proxy *px, const struct wims_sip_msg *m, struct wims_sip_flow *in,
		      struct wims_str extra, struct wims_str body, char **keep, size_t *keep_len)
{
	char *a = wims_proxy__mem_get(px), *b = wims_proxy__mem_get(px);
	struct wims_sip_msg *rm = wims_proxy__mem_get(px);
	struct wims_wbuf w1, w2;
	struct wims_sip_edits ed;
	struct px_hop h;
	const char *why;
	int rc = -ENOMEM;

	if (!a || !b || !rm)
		goto out;
	wims_wbuf_init(&w1, a, PX_POOL_SIZE);
	wims_wbuf_init(&w2, b, PX_POOL_SIZE);
	rc = -EINVAL;
	if (wims_sip_reply(m, 200, NULL, WIMS_STR_NULL, extra, &w1) || wims_sip_msg_parse(rm, w1.p, w1.len, &why))
		goto out;
	wims_sip_edits_init(&ed);
	ed.new_body = body;
	ed.body_set = true;
	if (wims_sip_msg_write(rm, &ed, &w2) || wims_proxy__resp_hop(px, m, in, &h))
		goto out;
	if (wims_proxy__send(px, &h, w2.p, w2.len, false) == 0)
		px->st.responses_out++;
	wims_proxy__hop_clear(&h);
	rc = keep ? set_bytes(keep, keep_len, w2.p, w2.len) : 0;
out:
	wims_proxy__mem_put(px, a);
	wims_proxy__mem_put(px, b);
	wims_proxy__mem_put(px, rm);
	return rc;
}

static void send_held(struct px_pc *s);

/* RAck: "<rseq> <cseq> <method>" (RFC 3262 §7.2). */
static bool rack_parse(const struct wims_sip_msg *m, uint32_t *rseq, uint32_t *cseq)
{
	const struct wims_sip_hdr *h = wims_sip_msg_hdr(m, WIMS_HDR_RACK);
	struct wims_str v, t[3];
	size_t n = 0, i = 0;

	if (!h)
		return false;
	v = h->value;
	while (i < v.l && n < 3) {
		while (i < v.l && (v.p[i] == ' ' || v.p[i] == '\t'))
			i++;
		size_t st = i;
		while (i < v.l && v.p[i] != ' ' && v.p[i] != '\t')
			i++;
		if (i > st)
			t[n++] = wims_str_make(v.p + st, i - st);
	}
	return n == 3 && wims_sip_uint_parse(t[0], 0xffffffffu, rseq) == 0 &&
	       wims_sip_uint_parse(t[1], 0xffffffffu, cseq) == 0 && wims_str_eqc(t[2], "INVITE");
}

static void term_prack(struct px_req *r, struct px_pc *s)
{
	uint32_t rseq, cseq;

	/* RFC 3262 §3: a PRACK that matches no unacknowledged reliable response: 481 */
	if (!rack_parse(r->m, &rseq, &cseq) || cseq != s->inv_cseq || !s->rseq || rseq > s->rseq ||
	    (rseq < s->rseq && s->rel_pending)) {
		wims_proxy__reply(r->px, r->m, r->in, 481, "No Matching Reliable Response", WIMS_STR_NULL);
		return;
	}
	wims_proxy__reply(r->px, r->m, r->in, 200, NULL, WIMS_STR_NULL);
	if (!s->rel_pending)
		return; /* a retransmitted PRACK */
	s->rel_pending = false;
	uv_timer_stop(&s->tm);
	if (s->ended)
		pc_expire_later(s);
	else if (!s->req_prec && s->held18x)
		send_held(s); /* the next reliable 18x that waited for this PRACK */
}

static void term_update(struct px_req *r, struct px_pc *s)
{
	const struct wims_sip_msg *m = r->m;
	struct wims_sip_cseq cs;
	char extra[2048];

	if (!cseq_of(m, &cs))
		return;
	if (cs.num == s->upd_cseq && s->upd_resp) { /* a retransmission */
		struct px_hop h;
		if (wims_proxy__resp_hop(r->px, m, r->in, &h) == 0)
			(void)wims_proxy__send(r->px, &h, s->upd_resp, s->upd_resp_len, false);
		wims_proxy__hop_clear(&h);
		return;
	}
	if (!s->answer) {
		/* RFC 3311 §5.2: the INVITE's offer is not answered yet */
		wims_proxy__reply(r->px, m, r->in, 500, "Offer Not Yet Answered", wims_str_c("Retry-After: 1\r\n"));
		return;
	}
	if (!sdp_body(m)) {
		wims_proxy__reply(r->px, m, r->in, 200, NULL, WIMS_STR_NULL);
		return;
	}
	struct wims_pc_qos q;
	wims_pc_sdp_read(m->body, &q);
	struct wims_pc_qos_out o = {.curr_local = "sendrecv", .curr_remote = q.curr_local[0] ? q.curr_local : "none",
				    .des_remote = q.des_local_strength[0] ? q.des_local_strength : "mandatory"};
	char *mem = wims_proxy__mem_get(r->px);
	struct wims_wbuf w;
	if (!mem)
		return;
	wims_wbuf_init(&w, mem, PX_POOL_SIZE);
	snprintf(extra, sizeof(extra), "%sContent-Type: application/sdp\r\n", s->contact ? s->contact : "");
	if (wims_pc_sdp_add(wims_str_c(s->answer), &o, true, &w) == 0 &&
	    reply_body(r->px, m, r->in, wims_str_c(extra), wims_wbuf_str(&w), &s->upd_resp, &s->upd_resp_len) == 0) {
		s->upd_cseq = cs.num;
		if (set_bytes(&s->answer, NULL, w.p, w.len))
			wims_log_rl(&rl_pc, WIMS_LOG_WARN, "precond: out of memory");
	}
	wims_proxy__mem_put(r->px, mem);
	if (s->req_prec && !s->met && wims_pc_qos_met(&q)) {
		s->met = true;
		send_held(s);
	}
}

bool wims_proxy__pc_intercept(struct px_req *r)
{
	const struct wims_sip_msg *m = r->m;
	struct px_pc *s;

	if (!r->px->pc || (m->method_id != WIMS_SIP_PRACK && m->method_id != WIMS_SIP_UPDATE) ||
	    px_proto_is_ws(wims_sip_flow_proto(r->in)) || !wims_sip_msg_tag(m, WIMS_HDR_TO).l)
		return false;
	s = pc_find(r->px, PC_TERM, call_id_of(m), wims_sip_msg_tag(m, WIMS_HDR_FROM), r->flow_token_id);
	if (!s || s->br_rel)
		return false;
	if (m->method_id == WIMS_SIP_PRACK) {
		term_prack(r, s);
		return true;
	}
	struct wims_sip_cseq cs;
	bool retrans = s->upd_resp && cseq_of(m, &cs) && cs.num == s->upd_cseq;
	if (!retrans && (s->ended || !s->req_prec))
		return false; /* a session that is up: the browser's business */
	term_update(r, s);
	return true;
}

/* ---- terminating: the browser's responses toward the core ---- */

/* Send msg (with ed) up as a reliable provisional (RFC 3262 §3): Require
 * and RSeq added; retransmitted until its PRACK when retransmit. */
static int send_rel(struct px_pc *s, const struct wims_sip_msg *msg, struct wims_sip_edits *ed, const char *require,
		    bool retransmit)
{
	struct wims_proxy *px = s->px;
	char hdrs[128], *mem = wims_proxy__mem_get(px);
	struct wims_wbuf w;
	int rc = -ENOMEM;

	if (!mem)
		return rc;
	snprintf(hdrs, sizeof(hdrs), "Require: %s\r\nRSeq: %u\r\n", require, s->rseq + 1);
	wims_sip_edit_append_hdr(ed, msg, wims_str_c(hdrs));
	wims_wbuf_init(&w, mem, PX_POOL_SIZE);
	if ((rc = wims_sip_msg_write(msg, ed, &w)) || (rc = set_bytes(&s->rel, &s->rel_len, w.p, w.len)))
		goto out;
	s->rseq++;
	send_up(s, s->rel, s->rel_len);
	if (retransmit) {
		s->rel_pending = true;
		s->retr_ms = px->t1;
		s->retr_spent = 0;
		uv_timer_start(&s->tm, on_timer, s->retr_ms, 0);
	}
out:
	wims_proxy__mem_put(px, mem);
	return rc;
}

/* Write m with ed into a new pool block and parse it there: *mp and *bufp
 * are pool blocks to put back. */
static int rewrite(struct wims_proxy *px, const struct wims_sip_msg *m, const struct wims_sip_edits *ed,
		   struct wims_sip_msg **mp, char **bufp)
{
	const char *why;
	struct wims_wbuf w;

	*bufp = wims_proxy__mem_get(px);
	*mp = wims_proxy__mem_get(px);
	if (!*bufp || !*mp)
		return -ENOMEM;
	wims_wbuf_init(&w, *bufp, PX_POOL_SIZE);
	if (wims_sip_msg_write(m, ed, &w) || wims_sip_msg_parse(*mp, w.p, w.len, &why))
		return -EBADMSG;
	return 0;
}

/* The held 18x (reliable when the core requires 100rel), then the held 2xx. */
/* The held 2xx goes up; the session is done. */
static void send_final(struct px_pc *s)
{
	s->final_due = false;
	send_up(s, s->held2xx, s->held2xx_len);
	s->ended = true;
	s->rel_pending = false; /* RFC 3262 §3: no more retransmissions after the final response */
	uv_timer_stop(&s->tm);
	pc_expire_later(s);
}

static void send_held(struct px_pc *s)
{
	struct wims_proxy *px = s->px;
	bool final = s->held2xx && (s->met || !s->req_prec), sent18x = false;

	if (s->held18x && !(final && s->rel_pending)) {
		struct wims_sip_msg *m = wims_proxy__mem_get(px);
		struct wims_sip_edits ed;
		const char *why;
		wims_sip_edits_init(&ed);
		if (m && wims_sip_msg_parse(m, s->held18x, s->held18x_len, &why) == 0) {
			sent18x = true;
			if (!s->req_100rel)
				send_up(s, s->held18x, s->held18x_len);
			else if (send_rel(s, m, &ed, "100rel", !final))
				wims_log_rl(&rl_pc, WIMS_LOG_WARN, "precond: cannot send a held provisional response");
		}
		wims_proxy__mem_put(px, m);
	}
	free(s->held18x);
	s->held18x = NULL;
	if (!final)
		return;
	if (!sent18x) {
		send_final(s);
		return;
	}
	/* a moment between the 18x and the 2xx, so that proxies on the way
	 * (several processes, UDP) do not deliver them the other way round */
	s->final_due = true;
	s->rel_pending = false;
	uv_timer_start(&s->tm, on_timer, px->t1 / 5 + 1, 0);
}

/* The browser's 2xx when the core required preconditions: its answer goes
 * up in a reliable 183 with our qos lines (RFC 3312 §5.1: our segment is
 * ready, the core's as it said); the 2xx itself waits without SDP. */
static int hold_final(struct px_pc *s, const struct wims_sip_msg *m, const struct wims_sip_edits *ed)
{
	struct wims_proxy *px = s->px;
	struct wims_sip_msg *rm = NULL;
	char *a = NULL, *b = wims_proxy__mem_get(px);
	const struct wims_sip_hdr *h;
	struct wims_sip_edits e2;
	struct wims_wbuf w;
	int rc = rewrite(px, m, ed, &rm, &a);

	if (rc || !b || !sdp_body(rm) || !(h = wims_sip_msg_hdr(rm, WIMS_HDR_CONTACT))) {
		rc = rc ? rc : -EINVAL;
		goto out;
	}
	if ((rc = set_bytes(&s->answer, NULL, rm->body.p, rm->body.l)) ||
	    (rc = set_bytes(&s->contact, NULL, h->line.p, h->line.l)))
		goto out;
	/* the 2xx as it will go: no SDP (RFC 3261 §13.2.1: the answer was given) */
	wims_sip_edits_init(&e2);
	if (wims_sip_msg_hdr(rm, WIMS_HDR_CONTENT_TYPE))
		wims_sip_edit_remove_hdr(&e2, rm, wims_sip_msg_hdr(rm, WIMS_HDR_CONTENT_TYPE));
	e2.body_set = true;
	wims_wbuf_init(&w, b, PX_POOL_SIZE);
	if ((rc = wims_sip_msg_write(rm, &e2, &w)) || (rc = set_bytes(&s->held2xx, &s->held2xx_len, w.p, w.len)))
		goto out;
	struct wims_pc_qos_out o = {.curr_local = "sendrecv",
				    .curr_remote = s->peer.curr_local[0] ? s->peer.curr_local : "none",
				    .des_remote = s->peer.des_local_strength[0] ? s->peer.des_local_strength : "mandatory",
				    .conf_remote = true};
	wims_wbuf_init(&w, b, PX_POOL_SIZE);
	if ((rc = wims_pc_sdp_add(rm->body, &o, false, &w)))
		goto out;
	wims_sip_edits_init(&e2);
	wims_sip_edit_replace(&e2, rm, rm->start_line, wims_str_c("SIP/2.0 183 Session Progress"));
	e2.new_body = wims_wbuf_str(&w);
	e2.body_set = true;
	rc = send_rel(s, rm, &e2, "100rel, precondition", true);
out:
	wims_proxy__mem_put(px, rm);
	wims_proxy__mem_put(px, a);
	wims_proxy__mem_put(px, b);
	return rc;
}

/* Keep m (with ed) to send later. */
static bool hold(struct px_pc *s, const struct wims_sip_msg *m, const struct wims_sip_edits *ed)
{
	struct wims_sip_msg *rm = NULL;
	char *a = NULL;
	bool ok = rewrite(s->px, m, ed, &rm, &a) == 0 && set_bytes(&s->held18x, &s->held18x_len, rm->raw.p, rm->raw.l) == 0;

	wims_proxy__mem_put(s->px, rm);
	wims_proxy__mem_put(s->px, a);
	return ok;
}

static bool term_response(struct px_pc *s, struct px_tsx *t, const struct wims_sip_msg *m, struct wims_sip_edits *ed)
{
	if (s->br_rel || s->ended)
		return false;
	if (m->status >= 300) {
		pc_free(s);
		return false;
	}
	if (!s->up_set) {
		s->up_set = true;
		s->up = t->up;
		if (s->up.flow)
			wims_sip_flow_ref(s->up.flow);
	}
	if (m->status < 200) {
		if (has_tag(m, WIMS_HDR_REQUIRE, "100rel")) {
			s->br_rel = true; /* the browser does 100rel itself */
			return false;
		}
		if ((s->req_prec && !s->met) || s->rel_pending)
			return hold(s, m, ed);
		if (!s->req_100rel)
			return false;
		struct wims_sip_msg *rm = NULL;
		char *a = NULL;
		struct wims_sip_edits e2;
		wims_sip_edits_init(&e2);
		bool sent = rewrite(s->px, m, ed, &rm, &a) == 0 && send_rel(s, rm, &e2, "100rel", true) == 0;
		wims_proxy__mem_put(s->px, rm);
		wims_proxy__mem_put(s->px, a);
		return sent;
	}
	if (s->final_due)
		return true; /* ours goes in a moment */
	if (s->req_prec && !s->met) {
		if (s->answer)
			return true; /* a retransmission of the 2xx we hold */
		if (hold_final(s, m, ed) == 0)
			return true;
		wims_log_rl(&rl_pc, WIMS_LOG_NOTICE, "precond: cannot answer with preconditions (Call-ID %s)",
			    s->call_id);
	}
	s->ended = true;
	s->rel_pending = false;
	uv_timer_stop(&s->tm);
	pc_expire_later(s);
	return false;
}

/* ---- originating: the core's responses toward the browser ---- */

/* Remote target and route set from the reliable 18x m (RFC 3261 §12.1.2),
 * our Contact from the INVITE as sent. */
static int learn_dialog(struct px_pc *s, const struct wims_sip_msg *m, const struct wims_sip_msg *inv)
{
	struct wims_str rr[WIMS_SIP_MAX_ROUTE];
	struct wims_sip_vals it;
	struct wims_sip_addr a;
	char mem[8192];
	struct wims_wbuf w;
	size_t n = 0;
	const struct wims_sip_hdr *ct = wims_sip_msg_hdr(inv, WIMS_HDR_CONTACT);

	wims_sip_vals_init(&it, m, WIMS_HDR_CONTACT);
	if (!wims_sip_vals_next(&it) || wims_sip_addr_parse(&a, it.value) || a.star ||
	    wims_str_copy(s->ruri, sizeof(s->ruri), a.uri))
		return -EBADMSG;
	wims_wbuf_init(&w, mem, sizeof(mem));
	wims_sip_vals_init(&it, m, WIMS_HDR_RECORD_ROUTE);
	while (n < WIMS_SIP_MAX_ROUTE && wims_sip_vals_next(&it))
		if (!wims_proxy__route_is_us(s->px, it.value))
			rr[n++] = it.value;
	while (n--)
		wims_wbuf_printf(&w, "Route: %.*s\r\n", (int)rr[n].l, rr[n].p);
	wims_wbuf_putstr(&w, wims_sip_msg_hdr(m, WIMS_HDR_FROM)->line);
	wims_wbuf_putstr(&w, wims_sip_msg_hdr(m, WIMS_HDR_TO)->line);
	wims_wbuf_putstr(&w, wims_sip_msg_hdr(m, WIMS_HDR_CALL_ID)->line);
	if (w.err || (ct && set_bytes(&s->contact, NULL, ct->line.p, ct->line.l)))
		return -ENOSPC;
	return set_bytes(&s->head, NULL, w.p, w.len);
}

/* A request of wims in the browser's dialog toward the core. */
static int send_req(struct px_pc *s, const char *method, const char *extra, const char *body)
{
	struct wims_proxy *px = s->px;
	struct px_hop hop = {.proto = px->next_proto, .addr = px->next_addr};
	char branch[PX_BRANCH_MAX], *mem = wims_proxy__mem_get(px);
	struct wims_wbuf w;
	int rc;

	if (!mem || !s->head)
		return -ENOMEM;
	px->seq++;
	snprintf(branch, sizeof(branch), "z9hG4bKw00000000.%llxp", (unsigned long long)px->seq);
	wims_wbuf_init(&w, mem, PX_POOL_SIZE);
	wims_wbuf_printf(&w, "%s %s SIP/2.0\r\n", method, s->ruri);
	wims_proxy__via_line(px, &w, hop.proto, wims_str_c(branch));
	wims_wbuf_puts(&w, "Max-Forwards: 70\r\n");
	wims_wbuf_puts(&w, s->head);
	wims_wbuf_printf(&w, "CSeq: %u %s\r\n%s", s->inv_cseq + s->offset + 1, method, extra);
	if (body)
		wims_wbuf_printf(&w, "Content-Type: application/sdp\r\nContent-Length: %zu\r\n\r\n%s", strlen(body),
				 body);
	else
		wims_wbuf_puts(&w, "Content-Length: 0\r\n\r\n");
	rc = w.err ? -ENOSPC : wims_proxy__tsx_local(px, &hop, w.p, w.len, branch);
	if (rc == 0)
		s->offset++;
	wims_proxy__mem_put(px, mem);
	return rc;
}

/* The UPDATE's offer: the IMS-side offer we sent (media control's SDP),
 * version + 1, our segment now reserved (RFC 3312 §5.1, TS 24.229 §6.1.2). */
static void prepare_update(struct px_pc *s, const struct wims_sip_msg *m, const struct wims_sip_msg *inv)
{
	struct wims_pc_qos q;
	char *mem;
	struct wims_wbuf w;

	wims_pc_sdp_read(m->body, &q);
	if (!q.present || !(mem = wims_proxy__mem_get(s->px)))
		return; /* the callee does not do preconditions: nothing to confirm */
	struct wims_pc_qos_out o = {.curr_local = "sendrecv", .curr_remote = q.curr_local[0] ? q.curr_local : "none",
				    .des_remote = q.des_local_strength[0] ? q.des_local_strength : "none"};
	wims_wbuf_init(&w, mem, PX_POOL_SIZE);
	if (wims_pc_sdp_add(inv->body, &o, true, &w) == 0 && set_bytes(&s->upd_sdp, NULL, w.p, w.len) == 0)
		s->update_wanted = true;
	wims_proxy__mem_put(s->px, mem);
}

/* A reliable 18x for a browser that does not do 100rel: PRACK it here.
 * true: absorbed (a retransmission). */
static bool orig_reliable(struct px_pc *s, struct px_tsx *t, const struct wims_sip_msg *m, struct wims_sip_edits *ed)
{
	const struct wims_sip_hdr *rh = wims_sip_msg_hdr(m, WIMS_HDR_RSEQ);
	struct wims_sip_msg *inv;
	uint32_t rseq;
	const char *why;
	char rack[80];

	if (!rh || wims_sip_uint_parse(rh->value, 0xffffffffu, &rseq) || rseq == 0)
		return false;
	if (s->last_rseq && rseq <= s->last_rseq)
		return true; /* RFC 3262 §4: a retransmission; our PRACK's transaction retransmits itself */
	inv = wims_proxy__mem_get(s->px);
	if (!inv || !t->out || wims_sip_msg_parse(inv, t->out, t->out_len, &why) || learn_dialog(s, m, inv)) {
		wims_proxy__mem_put(s->px, inv);
		return false;
	}
	s->last_rseq = rseq;
	snprintf(rack, sizeof(rack), "RAck: %u %u INVITE\r\n", rseq, s->inv_cseq);
	if (send_req(s, "PRACK", rack, NULL))
		wims_log_rl(&rl_pc, WIMS_LOG_WARN, "precond: cannot send PRACK (Call-ID %s)", s->call_id);
	if (s->offered && !s->update_sent && !s->update_wanted && sdp_body(m))
		prepare_update(s, m, inv);
	wims_proxy__mem_put(s->px, inv);
	strip_tag(ed, m, WIMS_HDR_REQUIRE, "100rel");
	strip_tag(ed, m, WIMS_HDR_REQUIRE, "precondition");
	wims_sip_edit_remove_hdr(ed, m, rh);
	return false;
}

/* The body going to the browser without qos lines (into a pool block). */
static void strip_body(struct px_pc *s, const struct wims_sip_msg *m, struct wims_sip_edits *ed, char **memp)
{
	struct wims_str body = cur_body(m, ed);
	struct wims_wbuf w;

	if (!body.l || !sdp_body(m) || (!*memp && !(*memp = wims_proxy__mem_get(s->px))))
		return;
	wims_wbuf_init(&w, *memp, PX_POOL_SIZE);
	if (wims_pc_sdp_strip(body, &w))
		return;
	ed->new_body = wims_wbuf_str(&w);
	ed->body_set = true;
	if (set_bytes(&s->br_answer, NULL, w.p, w.len))
		wims_log_rl(&rl_pc, WIMS_LOG_WARN, "precond: out of memory");
}

static bool orig_response(struct px_pc *s, struct px_tsx *t, const struct wims_sip_msg *m, struct wims_sip_edits *ed,
			  char **memp)
{
	if (m->status >= 300) {
		if (!s->ended)
			pc_free(s); /* a retried INVITE (401, 407) starts again */
		return false;
	}
	if (m->status < 200) {
		if (has_tag(m, WIMS_HDR_REQUIRE, "100rel") && orig_reliable(s, t, m, ed))
			return true;
		strip_body(s, m, ed, memp);
		return false;
	}
	if (!sdp_body(m) && !ed->body_set && s->br_answer && (*memp || (*memp = wims_proxy__mem_get(s->px)))) {
		/* JsSIP wants the answer in the 2xx; the core gave it reliably before */
		size_t l = strlen(s->br_answer);
		if (l <= PX_POOL_SIZE) {
			memcpy(*memp, s->br_answer, l);
			ed->new_body = wims_str_make(*memp, l);
			ed->body_set = true;
			if (wims_sip_msg_hdr(m, WIMS_HDR_CONTENT_TYPE))
				wims_sip_edit_remove_hdr(ed, m, wims_sip_msg_hdr(m, WIMS_HDR_CONTENT_TYPE));
			wims_sip_edit_append_hdr(ed, m, wims_str_c("Content-Type: application/sdp\r\n"));
		}
	} else {
		strip_body(s, m, ed, memp);
	}
	s->ended = true;
	if (!s->offset)
		pc_expire_later(s);
	return false;
}

static void renumber_response(struct px_pc *s, const struct wims_sip_msg *m, const struct wims_sip_cseq *cs,
			      struct wims_sip_edits *ed, struct wims_wbuf *scratch)
{
	const struct wims_sip_hdr *h = wims_sip_msg_hdr(m, WIMS_HDR_CSEQ);
	size_t start = scratch->len;

	if (!s->offset || cs->num <= s->inv_cseq + s->offset || edit_of(ed, m, h->value))
		return; /* none of ours, or stimer.c put the browser's number back already */
	wims_wbuf_printf(scratch, "%u %.*s", cs->num - s->offset, (int)cs->method.l, cs->method.p);
	if (!scratch->err)
		wims_sip_edit_replace(ed, m, h->value, wims_str_make(scratch->p + start, scratch->len - start));
}

bool wims_proxy__pc_response(struct wims_proxy *px, struct px_tsx *t, const struct wims_sip_msg *m,
			     struct wims_sip_edits *ed, struct wims_wbuf *scratch, char **memp)
{
	struct wims_sip_cseq cs;
	struct px_pc *s;

	if (!px->pc || !cseq_of(m, &cs))
		return false;
	if (px_proto_is_ws(t->up.proto)) {
		s = pc_find(px, PC_ORIG, call_id_of(m), wims_sip_msg_tag(m, WIMS_HDR_FROM),
			    t->up.flow ? wims_sip_flow_id(t->up.flow) : t->flow_token_id);
		if (!s)
			return false;
		if (cs.method_id == WIMS_SIP_INVITE && cs.num == s->inv_cseq)
			return orig_response(s, t, m, ed, memp);
		renumber_response(s, m, &cs, ed, scratch);
		return false;
	}
	if (t->method != WIMS_SIP_INVITE || !t->flow_token_id)
		return false;
	s = pc_find(px, PC_TERM, call_id_of(m), wims_sip_msg_tag(m, WIMS_HDR_FROM), t->flow_token_id);
	return s && cs.num == s->inv_cseq ? term_response(s, t, m, ed) : false;
}

bool wims_proxy__pc_local_response(struct wims_proxy *px, struct px_tsx *t, const struct wims_sip_msg *m)
{
	struct px_pc *s;

	if (strncmp(t->skey, "local|", 6) != 0 || (t->method != WIMS_SIP_PRACK && t->method != WIMS_SIP_UPDATE))
		return false;
	if (m->status < 200)
		return true;
	s = pc_find(px, PC_ORIG, call_id_of(m), wims_sip_msg_tag(m, WIMS_HDR_FROM), 0);
	if (m->status >= 300)
		wims_log_rl(&rl_pc, WIMS_LOG_NOTICE, "precond: %s answered %u (Call-ID %.*s)",
			    wims_sip_method_name(t->method), m->status, (int)call_id_of(m).l, call_id_of(m).p);
	if (s && t->method == WIMS_SIP_PRACK && m->status < 300 && s->update_wanted && !s->update_sent) {
		s->update_sent = true;
		if (send_req(s, "UPDATE", s->contact ? s->contact : "", s->upd_sdp))
			wims_log_rl(&rl_pc, WIMS_LOG_WARN, "precond: cannot send UPDATE (Call-ID %s)", s->call_id);
	}
	return true;
}

uint32_t wims_proxy__pc_cseq_offset(struct wims_proxy *px, struct wims_str call_id, struct wims_str tag_a,
				    uint64_t flow_id)
{
	struct px_pc *s = px->pc ? pc_find(px, PC_ORIG, call_id, tag_a, flow_id) : NULL;

	return s ? s->offset : 0;
}

void wims_proxy__pc_flow_gone(struct wims_proxy *px, uint64_t flow_id)
{
	struct px_pc *s = px->pc, *next;

	for (; s; s = next) {
		next = s->next;
		if (s->flow_id == flow_id)
			pc_free(s);
	}
}

void wims_proxy__pc_free_all(struct wims_proxy *px)
{
	while (px->pc)
		pc_free(px->pc);
}
