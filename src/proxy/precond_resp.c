/* precond.c's responses: the browser's toward the core (terminating: held,
 * made reliable, turned into a 183 with qos lines) and the core's toward the
 * browser (originating: PRACKed, UPDATE sent, made unreliable, SDP put in
 * the 2xx), and the answers to wims's own PRACK and UPDATE. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "proxy/precond_int.h"

static struct wims_ratelimit rl_pc = WIMS_RATELIMIT_INIT(10000, 10);

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
	if ((rc = wims_sip_msg_write(msg, ed, &w)) || (rc = wims_pc__set_bytes(&s->rel, &s->rel_len, w.p, w.len)))
		goto out;
	s->rseq++;
	wims_pc__send_up(s, s->rel, s->rel_len);
	if (retransmit) {
		s->rel_pending = true;
		s->retr_ms = px->t1;
		s->retr_spent = 0;
		uv_timer_start(&s->tm, wims_pc__on_timer, s->retr_ms, 0);
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
void wims_pc__send_final(struct px_pc *s)
{
	s->final_due = false;
	wims_pc__send_up(s, s->held2xx, s->held2xx_len);
	s->ended = true;
	s->rel_pending = false; /* RFC 3262 §3: no more retransmissions after the final response */
	uv_timer_stop(&s->tm);
	wims_pc__expire_later(s);
}

void wims_pc__send_held(struct px_pc *s)
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
				wims_pc__send_up(s, s->held18x, s->held18x_len);
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
		wims_pc__send_final(s);
		return;
	}
	/* a moment between the 18x and the 2xx, so that proxies on the way
	 * (several processes, UDP) do not deliver them the other way round */
	s->final_due = true;
	s->rel_pending = false;
	uv_timer_start(&s->tm, wims_pc__on_timer, px->t1 / 5 + 1, 0);
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

	if (rc || !b || !pc_sdp_body(rm) || !(h = wims_sip_msg_hdr(rm, WIMS_HDR_CONTACT))) {
		rc = rc ? rc : -EINVAL;
		goto out;
	}
	if ((rc = wims_pc__set_bytes(&s->answer, NULL, rm->body.p, rm->body.l)) ||
	    (rc = wims_pc__set_bytes(&s->contact, NULL, h->line.p, h->line.l)))
		goto out;
	/* the 2xx as it will go: no SDP (RFC 3261 §13.2.1: the answer was given) */
	wims_sip_edits_init(&e2);
	if (wims_sip_msg_hdr(rm, WIMS_HDR_CONTENT_TYPE))
		wims_sip_edit_remove_hdr(&e2, rm, wims_sip_msg_hdr(rm, WIMS_HDR_CONTENT_TYPE));
	e2.body_set = true;
	wims_wbuf_init(&w, b, PX_POOL_SIZE);
	if ((rc = wims_sip_msg_write(rm, &e2, &w)) || (rc = wims_pc__set_bytes(&s->held2xx, &s->held2xx_len, w.p, w.len)))
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
	bool ok = rewrite(s->px, m, ed, &rm, &a) == 0 && wims_pc__set_bytes(&s->held18x, &s->held18x_len, rm->raw.p, rm->raw.l) == 0;

	wims_proxy__mem_put(s->px, rm);
	wims_proxy__mem_put(s->px, a);
	return ok;
}

static bool term_response(struct px_pc *s, struct px_tsx *t, const struct wims_sip_msg *m, struct wims_sip_edits *ed)
{
	if (s->br_rel || s->ended)
		return false;
	if (m->status >= 300) {
		wims_pc__free(s);
		return false;
	}
	if (!s->up_set) {
		s->up_set = true;
		s->up = t->up;
		if (s->up.flow)
			wims_sip_flow_ref(s->up.flow);
	}
	if (m->status < 200) {
		if (wims_pc__has_tag(m, WIMS_HDR_REQUIRE, "100rel")) {
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
	wims_pc__expire_later(s);
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
	if (w.err || (ct && wims_pc__set_bytes(&s->contact, NULL, ct->line.p, ct->line.l)))
		return -ENOSPC;
	return wims_pc__set_bytes(&s->head, NULL, w.p, w.len);
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

/* The UPDATE will offer the IMS-side offer we sent (media control's SDP),
 * version + 1, our segment now reserved (RFC 3312 §5.1, TS 24.229 §6.1.2). */
static void prepare_update(struct px_pc *s, const struct wims_sip_msg *m)
{
	struct wims_pc_qos q;

	wims_pc_sdp_read(m->body, &q);
	if (!q.present || !s->ims_sdp)
		return; /* the callee does not do preconditions: nothing to confirm */
	if (wims_str_copy(s->upd_remote, sizeof(s->upd_remote), wims_str_c(q.curr_local[0] ? q.curr_local : "none")) ||
	    wims_str_copy(s->upd_des, sizeof(s->upd_des),
			  wims_str_c(q.des_local_strength[0] ? q.des_local_strength : "none")))
		return;
	s->update_wanted = true;
}

static void send_update(struct px_pc *s)
{
	struct wims_pc_qos_out o = {.curr_local = "sendrecv", .curr_remote = s->upd_remote, .des_remote = s->upd_des};
	char *mem = NULL;
	struct wims_str sdp;

	s->update_sent = true;
	if (wims_pc__next_sdp(s, &o, &mem, &sdp) || send_req(s, "UPDATE", s->contact ? s->contact : "", s->ims_sdp))
		wims_log_rl(&rl_pc, WIMS_LOG_WARN, "precond: cannot send UPDATE (Call-ID %s)", s->call_id);
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
	if (!s->ims_sdp && inv->body.l && wims_pc__set_bytes(&s->ims_sdp, NULL, inv->body.p, inv->body.l))
		wims_log_rl(&rl_pc, WIMS_LOG_WARN, "precond: out of memory");
	if (s->offered && !s->update_sent && !s->update_wanted && pc_sdp_body(m))
		prepare_update(s, m);
	wims_proxy__mem_put(s->px, inv);
	wims_pc__strip_tag(ed, m, WIMS_HDR_REQUIRE, "100rel");
	wims_pc__strip_tag(ed, m, WIMS_HDR_REQUIRE, "precondition");
	wims_sip_edit_remove_hdr(ed, m, rh);
	return false;
}

/* The body going to the browser without qos lines (into a pool block);
 * false when there is none or it cannot be written. */
static bool strip_qos(struct wims_proxy *px, const struct wims_sip_msg *m, struct wims_sip_edits *ed, char **memp)
{
	struct wims_str body = pc_cur_body(m, ed);
	struct wims_wbuf w;

	if (!body.l || !pc_sdp_body(m) || (!*memp && !(*memp = wims_proxy__mem_get(px))))
		return false;
	wims_wbuf_init(&w, *memp, PX_POOL_SIZE);
	if (wims_pc_sdp_strip(body, &w))
		return false;
	ed->new_body = wims_wbuf_str(&w);
	ed->body_set = true;
	return true;
}

/* The same, remembering the answer the browser got. */
static void strip_body(struct px_pc *s, const struct wims_sip_msg *m, struct wims_sip_edits *ed, char **memp)
{
	if (strip_qos(s->px, m, ed, memp) &&
	    wims_pc__set_bytes(&s->br_answer, NULL, ed->new_body.p, ed->new_body.l))
		wims_log_rl(&rl_pc, WIMS_LOG_WARN, "precond: out of memory");
}

static bool orig_response(struct px_pc *s, struct px_tsx *t, const struct wims_sip_msg *m, struct wims_sip_edits *ed,
			  char **memp)
{
	if (m->status >= 300) {
		if (!s->ended)
			wims_pc__free(s); /* a retried INVITE (401, 407) starts again */
		return false;
	}
	if (m->status < 200) {
		if (wims_pc__has_tag(m, WIMS_HDR_REQUIRE, "100rel") && orig_reliable(s, t, m, ed))
			return true;
		strip_body(s, m, ed, memp);
		return false;
	}
	if (!pc_sdp_body(m) && !ed->body_set && s->br_answer && (*memp || (*memp = wims_proxy__mem_get(s->px)))) {
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
		wims_pc__expire_later(s);
	return false;
}

static void renumber_response(struct px_pc *s, const struct wims_sip_msg *m, const struct wims_sip_cseq *cs,
			      struct wims_sip_edits *ed, struct wims_wbuf *scratch)
{
	const struct wims_sip_hdr *h = wims_sip_msg_hdr(m, WIMS_HDR_CSEQ);
	size_t start = scratch->len;

	if (!s->offset || cs->num <= s->inv_cseq + s->offset || wims_pc__edit_of(ed, m, h->value))
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

	if (!wims_pc__cseq_of(m, &cs))
		return false;
	if (px_proto_is_ws(t->up.proto)) {
		s = !px->pc ? NULL
			    : wims_pc__find(px, PC_ORIG, wims_pc__call_id(m), wims_sip_msg_tag(m, WIMS_HDR_FROM),
					    t->up.flow ? wims_sip_flow_id(t->up.flow) : t->flow_token_id);
		if (s && cs.method_id == WIMS_SIP_INVITE && cs.num == s->inv_cseq) {
			if (orig_response(s, t, m, ed, memp))
				return true;
		} else if (s) {
			renumber_response(s, m, &cs, ed, scratch);
		}
		if (!*memp && wims_pc_sdp_has_qos(pc_cur_body(m, ed)))
			strip_qos(px, m, ed, memp); /* any other SDP toward a browser */
		return false;
	}
	if (!px->pc || t->method != WIMS_SIP_INVITE || !t->flow_token_id)
		return false;
	s = wims_pc__find(px, PC_TERM, wims_pc__call_id(m), wims_sip_msg_tag(m, WIMS_HDR_FROM), t->flow_token_id);
	return s && cs.num == s->inv_cseq ? term_response(s, t, m, ed) : false;
}

bool wims_proxy__pc_local_response(struct wims_proxy *px, struct px_tsx *t, const struct wims_sip_msg *m)
{
	struct px_pc *s;

	if (strncmp(t->skey, "local|", 6) != 0 || (t->method != WIMS_SIP_PRACK && t->method != WIMS_SIP_UPDATE))
		return false;
	if (m->status < 200)
		return true;
	s = wims_pc__find(px, PC_ORIG, wims_pc__call_id(m), wims_sip_msg_tag(m, WIMS_HDR_FROM), 0);
	if (m->status >= 300)
		wims_log_rl(&rl_pc, WIMS_LOG_NOTICE, "precond: %s answered %u (Call-ID %.*s)",
			    wims_sip_method_name(t->method), m->status, (int)wims_pc__call_id(m).l, wims_pc__call_id(m).p);
	if (s && t->method == WIMS_SIP_PRACK && m->status < 300 && s->update_wanted && !s->update_sent)
		send_update(s);
	if (s && t->method == WIMS_SIP_UPDATE)
		s->update_done = true;
	return true;
}

