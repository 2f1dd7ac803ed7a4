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
#include "proxy/precond_int.h"

static struct wims_ratelimit rl_pc = WIMS_RATELIMIT_INIT(10000, 10);

/* ---- small helpers ---- */

int wims_pc__set_bytes(char **dst, size_t *len, const char *p, size_t l)
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

bool wims_pc__has_tag(const struct wims_sip_msg *m, enum wims_sip_hdr_id id, const char *tag)
{
	struct wims_sip_vals it;

	wims_sip_vals_init(&it, m, id);
	while (wims_sip_vals_next(&it))
		if (wims_str_eqic(it.value, tag))
			return true;
	return false;
}

void wims_pc__strip_tag(struct wims_sip_edits *ed, const struct wims_sip_msg *m, enum wims_sip_hdr_id id,
		      const char *tag)
{
	struct wims_sip_vals it;

	wims_sip_vals_init(&it, m, id);
	while (wims_sip_vals_next(&it))
		if (wims_str_eqic(it.value, tag))
			wims_sip_edit_remove_val(ed, m, &it);
}

bool wims_pc__cseq_of(const struct wims_sip_msg *m, struct wims_sip_cseq *cs)
{
	const struct wims_sip_hdr *h = wims_sip_msg_hdr(m, WIMS_HDR_CSEQ);

	return h && wims_sip_cseq_parse(cs, h->value) == 0;
}

struct wims_str wims_pc__call_id(const struct wims_sip_msg *m)
{
	const struct wims_sip_hdr *h = wims_sip_msg_hdr(m, WIMS_HDR_CALL_ID);

	return h ? wims_str_trim(h->value) : WIMS_STR_NULL;
}

/* ---- sessions ---- */

static void pc_closed(uv_handle_t *h)
{
	free(h->data);
}

void wims_pc__free(struct px_pc *s)
{
	struct wims_proxy *px = s->px;

	*s->pprev = s->next;
	if (s->next)
		s->next->pprev = s->pprev;
	wims_hash_remove(&px->pc_by_cid, &s->hn);
	wims_hash_remove(&px->pc_by_flow, &s->hf);
	wims_proxy__hop_clear(&s->up);
	free(s->head);
	free(s->br_answer);
	free(s->ims_sdp);
	free(s->contact);
	free(s->rel);
	free(s->held18x);
	free(s->held2xx);
	free(s->answer);
	free(s->upd_resp);
	uv_close((uv_handle_t *)&s->tm, pc_closed);
}

/* Sessions whose end wims did not see (an INVITE answered by a timeout of
 * ours, a dialog released without a BYE passing here): an unanswered one
 * after timer C and 64*T1, an established one after PC_MAX_CALL_MS. */
#define PC_MAX_CALL_MS (24ULL * 3600 * 1000)

static void sweep(struct wims_proxy *px)
{
	uint64_t now = uv_now(px->loop), setup = (uint64_t)px->conf->sip_timer_c_s * 1000 + 64ULL * px->t1;
	struct px_pc *s = px->pc, *next;

	if (now - px->pc_swept < 1000)
		return; /* a walk over every session: once a second at most */
	px->pc_swept = now;
	for (; s; s = next) {
		next = s->next;
		if (now - s->born > (s->ended ? PC_MAX_CALL_MS : setup))
			wims_pc__free(s);
	}
}

static struct px_pc *pc_new(struct wims_proxy *px, enum pc_side side, struct wims_str cid, struct wims_str ftag,
			    uint64_t flow_id, uint32_t cseq)
{
	struct px_pc *s;

	sweep(px);
	if (!px->pc_tab) {
		if (wims_hash_init(&px->pc_by_cid, 1024))
			return NULL;
		if (wims_hash_init(&px->pc_by_flow, 1024)) {
			wims_hash_fini(&px->pc_by_cid);
			return NULL;
		}
		px->pc_tab = true;
	}
	if (!(s = calloc(1, sizeof(*s))))
		return NULL;
	if (wims_str_copy(s->call_id, sizeof(s->call_id), cid) || wims_str_copy(s->ftag, sizeof(s->ftag), ftag)) {
		free(s);
		return NULL;
	}
	s->px = px;
	s->side = side;
	s->flow_id = flow_id;
	s->inv_cseq = cseq;
	s->born = uv_now(px->loop);
	uv_timer_init(px->loop, &s->tm);
	s->tm.data = s;
	s->next = px->pc;
	if (s->next)
		s->next->pprev = &s->next;
	s->pprev = &px->pc;
	px->pc = s;
	wims_hash_insert(&px->pc_by_cid, &s->hn, wims_hash_str(cid));
	wims_hash_insert(&px->pc_by_flow, &s->hf, flow_id);
	return s;
}

/* flow_id 0 matches any flow. */
struct px_pc *wims_pc__find(struct wims_proxy *px, enum pc_side side, struct wims_str cid, struct wims_str ftag,
			     uint64_t flow_id)
{
	if (!px->pc_tab)
		return NULL;
	for (struct wims_hnode *n = wims_hash_find(&px->pc_by_cid, wims_hash_str(cid)); n; n = wims_hash_next_same(n)) {
		struct px_pc *s = wims_container_of(n, struct px_pc, hn);
		if (s->side == side && wims_str_eqc(cid, s->call_id) && wims_str_eqc(ftag, s->ftag) &&
		    (!flow_id || !s->flow_id || s->flow_id == flow_id))
			return s;
	}
	return NULL;
}

/* The next SDP toward the core: the last one, version + 1, with the qos
 * lines of o; it becomes the last one.  Pool block in *memp. */
int wims_pc__next_sdp(struct px_pc *s, const struct wims_pc_qos_out *o, char **memp, struct wims_str *out)
{
	struct wims_wbuf w;
	int rc;

	if (!s->ims_sdp || !(*memp = wims_proxy__mem_get(s->px)))
		return -ENOMEM;
	wims_wbuf_init(&w, *memp, PX_POOL_SIZE);
	if ((rc = wims_pc_sdp_add(wims_str_c(s->ims_sdp), o, true, &w)) ||
	    (rc = wims_pc__set_bytes(&s->ims_sdp, NULL, w.p, w.len)))
		return rc;
	*out = wims_wbuf_str(&w);
	return 0;
}

/* Forget the session after the time retransmissions may still come. */
void wims_pc__expire_later(struct px_pc *s)
{
	if (!s->rel_pending)
		uv_timer_start(&s->tm, wims_pc__on_timer, 64ULL * s->px->t1, 0);
}

void wims_pc__send_up(struct px_pc *s, const char *p, size_t l)
{
	if (wims_proxy__send(s->px, &s->up, p, l, false) == 0)
		s->px->st.responses_out++;
}

void wims_pc__on_timer(uv_timer_t *h)
{
	struct px_pc *s = h->data;

	if (s->final_due) {
		wims_pc__send_final(s);
		return;
	}
	if (!s->rel_pending) {
		wims_pc__free(s);
		return;
	}
	/* RFC 3262 §3: retransmit at T1, 2T1, ... until the PRACK, for 64*T1 */
	if (s->retr_spent >= 64U * s->px->t1) {
		wims_log_rl(&rl_pc, WIMS_LOG_NOTICE, "precond: no PRACK for our reliable %.12s (Call-ID %s)",
			    s->rel ? s->rel + 8 : "", s->call_id);
		s->rel_pending = false;
		wims_pc__free(s);
		return;
	}
	s->px->st.retransmissions++;
	wims_pc__send_up(s, s->rel, s->rel_len);
	s->retr_spent += s->retr_ms;
	s->retr_ms *= 2;
	uv_timer_start(&s->tm, wims_pc__on_timer, s->retr_ms, 0);
}

/* ---- requests ---- */

/* Originating INVITE of a browser that did not offer 100rel. */
static void orig_invite(struct px_req *r)
{
	struct wims_proxy *px = r->px;
	const struct wims_sip_msg *m = r->m;
	struct wims_sip_cseq cs;
	struct px_pc *s;

	if (wims_pc__has_tag(m, WIMS_HDR_SUPPORTED, "100rel") || wims_pc__has_tag(m, WIMS_HDR_REQUIRE, "100rel") ||
	    wims_pc__has_tag(m, WIMS_HDR_SUPPORTED, "precondition") || !wims_pc__cseq_of(m, &cs))
		return; /* the browser does it itself: untouched */
	if (wims_pc__find(px, PC_ORIG, wims_pc__call_id(m), wims_sip_msg_tag(m, WIMS_HDR_FROM), wims_sip_flow_id(r->in)))
		return; /* an INVITE retried after 401/407 etc.: same session */
	s = pc_new(px, PC_ORIG, wims_pc__call_id(m), wims_sip_msg_tag(m, WIMS_HDR_FROM), wims_sip_flow_id(r->in), cs.num);
	if (!s)
		return;
	struct wims_str body = pc_cur_body(m, &r->ed);
	s->offered = px->conf->sip_precondition && pc_sdp_body(m) && body.l;
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

/* A request toward a browser: no 100rel or precondition it cannot do, no
 * qos lines in its SDP. */
static void strip_toward_browser(struct px_req *r)
{
	struct wims_proxy *px = r->px;
	const struct wims_sip_msg *m = r->m;
	struct wims_str body = pc_cur_body(m, &r->ed);
	struct wims_wbuf w;
	char *mem;

	wims_pc__strip_tag(&r->ed, m, WIMS_HDR_REQUIRE, "precondition");
	wims_pc__strip_tag(&r->ed, m, WIMS_HDR_REQUIRE, "100rel");
	wims_pc__strip_tag(&r->ed, m, WIMS_HDR_SUPPORTED, "precondition");
	wims_pc__strip_tag(&r->ed, m, WIMS_HDR_PROXY_REQUIRE, "precondition");
	if (!wims_pc_sdp_has_qos(body) || !(mem = wims_proxy__mem_get(px)))
		return;
	wims_wbuf_init(&w, mem, PX_POOL_SIZE);
	if (wims_pc_sdp_strip(body, &w)) {
		wims_proxy__mem_put(px, mem);
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
	bool rq_prec = wims_pc__has_tag(m, WIMS_HDR_REQUIRE, "precondition");
	bool rq_rel = wims_pc__has_tag(m, WIMS_HDR_REQUIRE, "100rel");
	struct wims_sip_cseq cs;

	if (!rq_prec && !rq_rel && !wims_pc__has_tag(m, WIMS_HDR_SUPPORTED, "precondition") &&
	    !wims_pc_sdp_has_qos(pc_cur_body(m, &r->ed)))
		return;
	strip_toward_browser(r);
	/* with only Supported: precondition the browser answers without them (RFC 3312 §11) */
	if ((!rq_prec && !rq_rel) || !wims_pc__cseq_of(m, &cs))
		return;
	struct px_pc *s = pc_new(px, PC_TERM, wims_pc__call_id(m), wims_sip_msg_tag(m, WIMS_HDR_FROM), r->flow_token_id,
				 cs.num);
	if (!s)
		return;
	s->req_prec = rq_prec;
	s->req_100rel = rq_rel;
	wims_pc_sdp_read(m->body, &s->peer);
}

/* The edit of ed that replaces the span v of m (another hook's), or NULL. */
struct wims_sip_edit *wims_pc__edit_of(struct wims_sip_edits *ed, const struct wims_sip_msg *m, struct wims_str v)
{
	size_t off = (size_t)(v.p - m->raw.p);

	for (size_t i = 0; i < ed->n; i++)
		if (ed->e[i].off == off && ed->e[i].del == v.l)
			return &ed->e[i];
	return NULL;
}

/* CSeq of a browser's in-dialog request toward the core, shifted past the
 * numbers wims used itself (RFC 3261 §12.2.1.1: they must go up). */
static void renumber_request(struct px_req *r)
{
	const struct wims_sip_msg *m = r->m;
	const struct wims_sip_hdr *h = wims_sip_msg_hdr(m, WIMS_HDR_CSEQ);
	struct wims_sip_cseq cs, prev;
	struct px_pc *s = wims_pc__find(r->px, PC_ORIG, wims_pc__call_id(m), wims_sip_msg_tag(m, WIMS_HDR_FROM),
				  wims_sip_flow_id(r->in));

	if (!s || !s->offset || !h || !wims_pc__cseq_of(m, &cs) || cs.num <= s->inv_cseq)
		return;
	struct wims_sip_edit *e = wims_pc__edit_of(&r->ed, m, h->value);
	uint32_t out = cs.num + s->offset;
	/* stimer.c renumbered it: the larger of both is past everything wims
	 * sent in this dialog, whether or not stimer.c counted our requests */
	if (e && wims_sip_cseq_parse(&prev, e->ins) == 0 && prev.num > out)
		out = prev.num;
	size_t start = r->scratch.len;
	wims_wbuf_printf(&r->scratch, "%u %.*s", out, (int)cs.method.l, cs.method.p);
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
	if (!px->pc_tab)
		return;
	for (struct wims_hnode *n = wims_hash_find(&px->pc_by_cid, wims_hash_str(cid)); n; n = wims_hash_next_same(n)) {
		struct px_pc *s = wims_container_of(n, struct px_pc, hn);
		if (!wims_str_eqc(cid, s->call_id) || (flow_id && s->flow_id != flow_id))
			continue;
		s->ended = true;
		s->rel_pending = false;
		wims_pc__expire_later(s);
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
	if (to_br)
		strip_toward_browser(r); /* a re-INVITE or UPDATE of the core */
	if (!r->px->pc)
		return;
	if (from_br && m->method_id != WIMS_SIP_ACK && m->method_id != WIMS_SIP_CANCEL)
		renumber_request(r);
	else if (from_br && m->method_id == WIMS_SIP_ACK)
		renumber_request(r); /* an ACK to a re-INVITE's 2xx carries that re-INVITE's number */
	if (m->method_id == WIMS_SIP_BYE)
		bye_seen(r->px, wims_pc__call_id(m), from_br ? wims_sip_flow_id(r->in) : r->flow_token_id);
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
	rc = keep ? wims_pc__set_bytes(keep, keep_len, w2.p, w2.len) : 0;
out:
	wims_proxy__mem_put(px, a);
	wims_proxy__mem_put(px, b);
	wims_proxy__mem_put(px, rm);
	return rc;
}

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
		wims_pc__expire_later(s);
	else if (!s->req_prec && s->held18x)
		wims_pc__send_held(s); /* the next reliable 18x that waited for this PRACK */
}

static void term_update(struct px_req *r, struct px_pc *s)
{
	const struct wims_sip_msg *m = r->m;
	struct wims_sip_cseq cs;
	char extra[2048];

	if (!wims_pc__cseq_of(m, &cs))
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
	if (!pc_sdp_body(m)) {
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
		if (wims_pc__set_bytes(&s->answer, NULL, w.p, w.len))
			wims_log_rl(&rl_pc, WIMS_LOG_WARN, "precond: out of memory");
	}
	wims_proxy__mem_put(r->px, mem);
	if (s->req_prec && !s->met && wims_pc_qos_met(&q)) {
		s->met = true;
		wims_pc__send_held(s);
	}
}

static bool resend_update_answer(struct px_req *r, struct px_pc *s)
{
	struct wims_sip_cseq cs;
	struct px_hop h;

	if (!s->upd_resp || !wims_pc__cseq_of(r->m, &cs) || cs.num != s->upd_cseq)
		return false;
	if (wims_proxy__resp_hop(r->px, r->m, r->in, &h) == 0)
		(void)wims_proxy__send(r->px, &h, s->upd_resp, s->upd_resp_len, false);
	wims_proxy__hop_clear(&h);
	return true;
}

/* The callee's UPDATE in the early dialog of a browser that knows nothing
 * of it: answered here with the media of our offer (RFC 3311 §5.2). */
static bool orig_update(struct px_req *r, struct px_pc *s)
{
	const struct wims_sip_msg *m = r->m;
	struct wims_sip_cseq cs;
	char extra[2048], *mem = NULL;
	struct wims_str sdp;

	if (resend_update_answer(r, s))
		return true;
	if (s->ended || !s->ims_sdp || !wims_pc__cseq_of(m, &cs))
		return false; /* a confirmed dialog, or none of ours yet: the browser's business */
	if (s->update_sent && !s->update_done) { /* our offer is outstanding */
		wims_proxy__reply(r->px, m, r->in, 491, NULL, WIMS_STR_NULL);
		return true;
	}
	if (!pc_sdp_body(m)) {
		wims_proxy__reply(r->px, m, r->in, 200, NULL, WIMS_STR_NULL);
		return true;
	}
	struct wims_pc_qos q;
	wims_pc_sdp_read(m->body, &q);
	struct wims_pc_qos_out o = {.curr_local = "sendrecv", .curr_remote = q.curr_local[0] ? q.curr_local : "none",
				    .des_remote = q.des_local_strength[0] ? q.des_local_strength : "none"};
	snprintf(extra, sizeof(extra), "%sContent-Type: application/sdp\r\n", s->contact ? s->contact : "");
	if (wims_pc__next_sdp(s, &o, &mem, &sdp) ||
	    reply_body(r->px, m, r->in, wims_str_c(extra), sdp, &s->upd_resp, &s->upd_resp_len))
		wims_proxy__reply(r->px, m, r->in, 500, "Cannot Answer", WIMS_STR_NULL);
	else
		s->upd_cseq = cs.num;
	wims_proxy__mem_put(r->px, mem);
	return true;
}

bool wims_proxy__pc_intercept(struct px_req *r)
{
	const struct wims_sip_msg *m = r->m;
	struct px_pc *s;

	if (!r->px->pc || (m->method_id != WIMS_SIP_PRACK && m->method_id != WIMS_SIP_UPDATE) ||
	    px_proto_is_ws(wims_sip_flow_proto(r->in)) || !wims_sip_msg_tag(m, WIMS_HDR_TO).l)
		return false;
	if (m->method_id == WIMS_SIP_UPDATE &&
	    (s = wims_pc__find(r->px, PC_ORIG, wims_pc__call_id(m), wims_sip_msg_tag(m, WIMS_HDR_TO), r->flow_token_id)))
		return orig_update(r, s);
	s = wims_pc__find(r->px, PC_TERM, wims_pc__call_id(m), wims_sip_msg_tag(m, WIMS_HDR_FROM), r->flow_token_id);
	if (!s || s->br_rel)
		return false;
	if (m->method_id == WIMS_SIP_PRACK) {
		term_prack(r, s);
		return true;
	}
	struct wims_sip_cseq cs;
	bool retrans = s->upd_resp && wims_pc__cseq_of(m, &cs) && cs.num == s->upd_cseq;
	if (!retrans && (s->ended || !s->req_prec))
		return false; /* a session that is up: the browser's business */
	term_update(r, s);
	return true;
}

uint32_t wims_proxy__pc_cseq_offset(struct wims_proxy *px, struct wims_str call_id, struct wims_str tag_a,
				    uint64_t flow_id)
{
	struct px_pc *s = px->pc ? wims_pc__find(px, PC_ORIG, call_id, tag_a, flow_id) : NULL;

	return s ? s->offset : 0;
}

void wims_proxy__pc_flow_gone(struct wims_proxy *px, uint64_t flow_id)
{
	struct wims_hnode *n;

	while (px->pc_tab && (n = wims_hash_find(&px->pc_by_flow, flow_id)))
		wims_pc__free(wims_container_of(n, struct px_pc, hf));
}

void wims_proxy__pc_free_all(struct wims_proxy *px)
{
	while (px->pc)
		wims_pc__free(px->pc);
	if (px->pc_tab) {
		wims_hash_fini(&px->pc_by_cid);
		wims_hash_fini(&px->pc_by_flow);
	}
	px->pc_tab = false;
}
