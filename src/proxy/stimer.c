/* RFC 4028 session timers kept on a browser's behalf.  VoLTE phones and
 * cores use session timers; a browser client may not.  wims stands in for
 * the browser:
 *
 *   browser ──INVITE (no timer)──▶ wims ──INVITE + Session-Expires, Supported: timer──▶ core
 *   browser ◀──2xx (Require: timer stripped)── wims ◀──2xx SE;refresher=uac──────── core
 *                                            wims ──UPDATE (browser's name) @ SE/2──▶ core
 *
 *   core ──INVITE SE, Require: timer──▶ wims ──INVITE (timer stripped from Require)──▶ browser
 *   core ◀──2xx + SE;refresher=..., Require: timer── wims ◀──2xx (no SE)── browser
 *
 * A session is learnt from every 2xx to INVITE/UPDATE that carries
 * Session-Expires in a dialog of a browser flow.  When the refresher is the
 * browser and the browser did not declare timer support, wims sends an
 * UPDATE without SDP toward the core at half the interval (§10) and
 * absorbs its 2xx; otherwise it only watches: with no refresh seen before
 * SE - min(32, SE/3), or when its own refresh fails with 408/481, the call
 * is released with BYE on both sides.
 *
 * CSeq: wims's requests in the browser's name take the next number of the
 * browser's side as the core sees it; requests the browser sends later in
 * that dialog are renumbered by a per-dialog offset so that the core sees
 * CSeq grow (RFC 3261 §12.2.1.1), and responses get the browser's number
 * back.  A proxy cannot do this "cleanly" (it is a B2BUA trait), but the
 * offset is the least intrusive way: the rest of each message is untouched.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/log.h"
#include "proxy/precond.h"
#include "proxy/px.h"

struct px_stm_tab {
	struct wims_hash by_cid;
	struct wims_hash by_id;
	struct wims_hash by_flow; /* a lost flow's sessions without a walk over all */
	uint64_t seq;
};

struct px_stm {
	struct wims_hnode hc, hi, hf;
	struct wims_proxy *px;
	uint64_t id, flow_id;
	char call_id[256], tag_br[128], tag_core[128];
	char *target;    /* core party's remote target (request line of UPDATE/BYE toward the core) */
	char *rest;      /* Route, From, To, Call-ID lines: the browser's side toward the core */
	char *contact;   /* "Contact: ...\r\n" the core knows the browser's side by */
	char *br_target; /* the browser's Contact */
	char *br_rest;   /* From, To, Call-ID lines: the core's side toward the browser */
	uint32_t last_out; /* highest CSeq the core saw from the browser's side */
	uint32_t off;      /* added to the browser's CSeq numbers */
	uint32_t core_cseq; /* highest CSeq from the core's side */
	uint32_t se;
	char *sdp;         /* the last SDP the core saw from the browser's side (re-INVITE refresh) */
	bool no_update;    /* the core's side does not allow UPDATE: refresh with re-INVITE */
	bool br_timer;     /* the browser declared timer support */
	bool wims_refreshes;
	bool expiring;     /* the timer runs to the expiry, not to a refresh */
	uv_timer_t tm;
};

static struct wims_ratelimit rl_stm = WIMS_RATELIMIT_INIT(10000, 10);

void wims_proxy__stimer_init(struct wims_proxy *px)
{
	if (px->conf->sip_min_se < 90)
		wims_log(WIMS_LOG_WARN, "[sip] min_se = %u is below RFC 4028's 90 s: for tests only",
			 px->conf->sip_min_se);
}

static struct px_stm_tab *tab_get(struct wims_proxy *px)
{
	struct px_stm_tab *tb = px->stm;

	if (tb)
		return tb;
	tb = calloc(1, sizeof(*tb));
	if (!tb)
		return NULL;
	if (wims_hash_init(&tb->by_cid, 64) || wims_hash_init(&tb->by_id, 64) || wims_hash_init(&tb->by_flow, 64)) {
		wims_hash_fini(&tb->by_cid);
		wims_hash_fini(&tb->by_id);
		free(tb);
		return NULL;
	}
	px->stm = tb;
	return tb;
}

static void stm_closed(uv_handle_t *h)
{
	struct px_stm *s = h->data;

	free(s->target);
	free(s->rest);
	free(s->contact);
	free(s->br_target);
	free(s->br_rest);
	free(s->sdp);
	free(s);
}

static void stm_free(struct wims_proxy *px, struct px_stm *s)
{
	wims_hash_remove(&px->stm->by_cid, &s->hc);
	wims_hash_remove(&px->stm->by_id, &s->hi);
	wims_hash_remove(&px->stm->by_flow, &s->hf);
	uv_timer_stop(&s->tm);
	uv_close((uv_handle_t *)&s->tm, stm_closed);
}

/* The session of dialog cid/t1/t2 on browser flow flow_id (0: any flow; a
 * call between two browsers of one wimsd has a session per pass). */
static struct px_stm *stm_find(struct wims_proxy *px, struct wims_str cid, struct wims_str t1, struct wims_str t2,
			       uint64_t flow_id)
{
	if (!px->stm || !px->stm->by_cid.n)
		return NULL;
	for (struct wims_hnode *n = wims_hash_find(&px->stm->by_cid, wims_hash_str(cid)); n;
	     n = wims_hash_next_same(n)) {
		struct px_stm *s = wims_container_of(n, struct px_stm, hc);
		if (!wims_str_eqc(cid, s->call_id) || (flow_id && s->flow_id != flow_id))
			continue;
		if ((wims_str_eqc(t1, s->tag_br) && wims_str_eqc(t2, s->tag_core)) ||
		    (wims_str_eqc(t1, s->tag_core) && wims_str_eqc(t2, s->tag_br)))
			return s;
	}
	return NULL;
}

static struct px_stm *stm_find_msg(struct wims_proxy *px, const struct wims_sip_msg *m, uint64_t flow_id)
{
	const struct wims_sip_hdr *cid = wims_sip_msg_hdr(m, WIMS_HDR_CALL_ID);

	if (!cid)
		return NULL;
	return stm_find(px, cid->value, wims_sip_msg_tag(m, WIMS_HDR_FROM), wims_sip_msg_tag(m, WIMS_HDR_TO), flow_id);
}

static struct px_stm *stm_by_id(struct wims_proxy *px, uint64_t id)
{
	if (!px->stm)
		return NULL;
	for (struct wims_hnode *n = wims_hash_find(&px->stm->by_id, id); n; n = wims_hash_next_same(n)) {
		struct px_stm *s = wims_container_of(n, struct px_stm, hi);
		if (s->id == id)
			return s;
	}
	return NULL;
}

/* ---- small parsers ---- */

/* Does a Supported or Require header of m list option tag `tag`? */
static bool lists_tag(const struct wims_sip_msg *m, enum wims_sip_hdr_id id, const char *tag)
{
	struct wims_sip_vals it;

	wims_sip_vals_init(&it, m, id);
	while (wims_sip_vals_next(&it))
		if (wims_str_eqic(it.value, tag))
			return true;
	return false;
}

static bool has_timer(const struct wims_sip_msg *m)
{
	return lists_tag(m, WIMS_HDR_SUPPORTED, "timer") || lists_tag(m, WIMS_HDR_REQUIRE, "timer");
}

enum refresher { REF_NONE, REF_UAC, REF_UAS };

/* RFC 4028 §4: Session-Expires = delta-seconds *(;se-params), refresher=uac|uas. */
static int parse_se(const struct wims_sip_msg *m, uint32_t *se, enum refresher *ref)
{
	const struct wims_sip_hdr *h = wims_sip_msg_hdr(m, WIMS_HDR_SESSION_EXPIRES);
	struct wims_str v, r;
	const char *semi;

	if (!h)
		return -ENOENT;
	v = h->value;
	semi = memchr(v.p, ';', v.l);
	if (wims_sip_uint_parse(wims_str_trim(wims_str_make(v.p, semi ? (size_t)(semi - v.p) : v.l)), 0xffffffu, se) ||
	    *se == 0)
		return -EBADMSG;
	*ref = REF_NONE;
	if (semi && wims_sip_param_get(wims_str_make(semi, v.l - (size_t)(semi - v.p)), "refresher", &r))
		*ref = wims_str_eqic(r, "uac") ? REF_UAC : wims_str_eqic(r, "uas") ? REF_UAS : REF_NONE;
	return 0;
}

static uint32_t cseq_of(const struct wims_sip_msg *m)
{
	const struct wims_sip_hdr *h = wims_sip_msg_hdr(m, WIMS_HDR_CSEQ);
	struct wims_sip_cseq cs;

	return h && wims_sip_cseq_parse(&cs, h->value) == 0 ? cs.num : 0;
}

static char *dup_buf(const struct wims_wbuf *w)
{
	char *c = w->err ? NULL : malloc(w->len + 1);

	if (c) {
		memcpy(c, w->p, w->len);
		c[w->len] = 0;
	}
	return c;
}

static char *dup_uri(const struct wims_sip_msg *m)
{
	struct wims_sip_vals it;
	struct wims_sip_addr a;
	char mem[1024];
	struct wims_wbuf w;

	wims_sip_vals_init(&it, m, WIMS_HDR_CONTACT);
	if (!wims_sip_vals_next(&it) || wims_sip_addr_parse(&a, it.value) || a.star)
		return NULL;
	wims_wbuf_init(&w, mem, sizeof(mem));
	wims_wbuf_putstr(&w, a.uri);
	return dup_buf(&w);
}


/* ---- timers ---- */

static void on_timer(uv_timer_t *h);

/* RFC 4028 §10: the refresher refreshes at half the interval; the other side
 * (here: wims watching) ends the session min(32, SE/3) before it expires. */
static void stm_arm(struct px_stm *s)
{
	uint64_t ms;

	if (s->wims_refreshes) {
		ms = (uint64_t)s->se * 500;
		s->expiring = false;
	} else {
		ms = ((uint64_t)s->se - (s->se / 3 < 32 ? s->se / 3 : 32)) * 1000;
		s->expiring = true;
	}
	uv_timer_start(&s->tm, on_timer, ms, 0);
}

/* ---- requests wims sends ---- */

static void branch_new(struct wims_proxy *px, char out[PX_BRANCH_MAX])
{
	px->seq++;
	snprintf(out, PX_BRANCH_MAX, "z9hG4bKw00000000.%llxs", (unsigned long long)px->seq);
}

/* A request in the browser's name toward the core (UPDATE refresh, BYE). */
static int send_core(struct wims_proxy *px, struct px_stm *s, const char *method, const char *extra,
		     const char *sdp, uint64_t stm_id)
{
	char mem[WIMS_SIP_MAX_MESSAGE], branch[PX_BRANCH_MAX];
	struct wims_wbuf w;
	struct px_hop hop = {.proto = px->next_proto, .addr = px->next_addr};

	branch_new(px, branch);
	wims_wbuf_init(&w, mem, sizeof(mem));
	wims_wbuf_printf(&w, "%s %s SIP/2.0\r\n", method, s->target);
	wims_proxy__via_line(px, &w, hop.proto, wims_str_c(branch));
	wims_wbuf_puts(&w, "Max-Forwards: 70\r\n");
	wims_wbuf_puts(&w, s->rest);
	wims_wbuf_printf(&w, "CSeq: %u %s\r\n", ++s->last_out, method);
	wims_wbuf_puts(&w, extra);
	if (sdp)
		wims_wbuf_printf(&w, "Content-Type: application/sdp\r\nContent-Length: %zu\r\n\r\n%s", strlen(sdp), sdp);
	else
		wims_wbuf_puts(&w, "Content-Length: 0\r\n\r\n");
	if (w.err)
		return -ENOSPC;
	return wims_proxy__tsx_local_stm(px, &hop, w.p, w.len, branch, stm_id);
}

/* RFC 3261 §13.2.2.4: the ACK for the 2xx m to our re-INVITE refresh. */
static void send_ack(struct wims_proxy *px, struct px_stm *s, const struct wims_sip_msg *m)
{
	char mem[8192], branch[PX_BRANCH_MAX];
	struct wims_wbuf w;
	struct px_hop hop = {.proto = px->next_proto, .addr = px->next_addr};

	branch_new(px, branch);
	wims_wbuf_init(&w, mem, sizeof(mem));
	wims_wbuf_printf(&w, "ACK %s SIP/2.0\r\n", s->target);
	wims_proxy__via_line(px, &w, hop.proto, wims_str_c(branch));
	wims_wbuf_puts(&w, "Max-Forwards: 70\r\n");
	wims_wbuf_puts(&w, s->rest);
	wims_wbuf_printf(&w, "CSeq: %u ACK\r\nContent-Length: 0\r\n\r\n", cseq_of(m));
	if (!w.err && wims_proxy__send(px, &hop, w.p, w.len, true) == 0)
		px->st.requests_out++;
	wims_proxy__hop_clear(&hop);
}

/* BYE in the core's name to the browser, on its WebSocket flow. */
static void bye_browser(struct wims_proxy *px, struct px_stm *s, const char *reason)
{
	struct wims_sip_flow *f = wims_sip_tport_flow_find(px->tp, s->flow_id);
	char mem[8192], branch[PX_BRANCH_MAX];
	struct wims_wbuf w;
	struct px_hop hop = {0};

	if (!f)
		return;
	wims_proxy__hop_set(&hop, f);
	branch_new(px, branch);
	wims_wbuf_init(&w, mem, sizeof(mem));
	wims_wbuf_printf(&w, "BYE %s SIP/2.0\r\n", s->br_target);
	wims_proxy__via_line(px, &w, hop.proto, wims_str_c(branch));
	wims_wbuf_puts(&w, "Max-Forwards: 70\r\n");
	wims_wbuf_puts(&w, s->br_rest);
	wims_wbuf_printf(&w, "CSeq: %u BYE\r\n%sContent-Length: 0\r\n\r\n", ++s->core_cseq, reason);
	if (!w.err && wims_proxy__tsx_local(px, &hop, w.p, w.len, branch) == 0)
		px->st.dialogs_released++;
	wims_proxy__hop_clear(&hop);
}

/* The session failed: BYE on both sides, media released, dialog forgotten. */
static void stm_release(struct wims_proxy *px, struct px_stm *s, const char *why)
{
	static const char reason[] = "Reason: SIP;cause=408;text=\"Session timer expired\"\r\n";
	struct wims_sip_msg *m = malloc(sizeof(*m));
	char mem[8192];
	struct wims_wbuf w;
	const char *bad;

	wims_log(WIMS_LOG_INFO, "dialog %s released on both sides: %s (RFC 4028)", s->call_id, why);
	if (send_core(px, s, "BYE", reason, NULL, 0))
		wims_log_rl(&rl_stm, WIMS_LOG_WARN, "BYE toward the core for %s not sent", s->call_id);
	bye_browser(px, s, reason);
	wims_proxy__media_delete(px, wims_str_c(s->call_id), s->flow_id);
	/* dialog.c forgets the dialog on a BYE it sees */
	wims_wbuf_init(&w, mem, sizeof(mem));
	wims_wbuf_printf(&w, "BYE %s SIP/2.0\r\nVia: SIP/2.0/WS x;branch=z9hG4bKx\r\n%sCSeq: %u BYE\r\n\r\n", s->target,
			 s->rest, s->last_out);
	if (m && !w.err && wims_sip_msg_parse(m, w.p, w.len, &bad) == 0)
		wims_proxy__dlg_on_request(px, m, true, s->flow_id);
	free(m);
	stm_free(px, s);
}

/* RFC 4028 §7.4, §10: UPDATE without SDP (re-INVITE with the last SDP when
 * the core's side does not allow UPDATE), refresher=uac: wims again.
 * false when it could not be sent (the session is then released). */
static bool refresh(struct wims_proxy *px, struct px_stm *s)
{
	char mem[2048];
	struct wims_wbuf w;
	bool inv = s->no_update && s->sdp;
	uint32_t guard = s->se / 3 < 32 ? s->se / 3 : 32;

	wims_wbuf_init(&w, mem, sizeof(mem));
	wims_wbuf_printf(&w, "%sSession-Expires: %u;refresher=uac\r\nMin-SE: %u\r\nSupported: timer\r\n", s->contact,
			 s->se, px->conf->sip_min_se < s->se ? px->conf->sip_min_se : s->se);
	wims_log(WIMS_LOG_INFO, "dialog %s: session refresh (%s) in the browser's name", s->call_id,
		 inv ? "re-INVITE" : "UPDATE");
	if (w.err || send_core(px, s, inv ? "INVITE" : "UPDATE", w.p, inv ? s->sdp : NULL, s->id)) {
		stm_release(px, s, "refresh not sent");
		return false;
	}
	/* the answer re-arms; without one the session ends at its expiry */
	s->expiring = true;
	uv_timer_start(&s->tm, on_timer, ((uint64_t)s->se - s->se / 2 - guard) * 1000 + 1, 0);
	return true;
}

static void on_timer(uv_timer_t *h)
{
	struct px_stm *s = h->data;

	if (s->expiring)
		stm_release(s->px, s, "no session refresh before expiry");
	else
		(void)refresh(s->px, s);
}

void wims_proxy__stimer_done(struct wims_proxy *px, uint64_t id, unsigned status, const struct wims_sip_msg *m)
{
	struct px_stm *s = stm_by_id(px, id);
	enum refresher ref;
	uint32_t se;

	if (!s)
		return;
	/* RFC 4028 §10: a refresh answered 408 or 481 (or not at all) ends it */
	if (status == 408 || status == 481) {
		stm_release(px, s, status == 408 ? "session refresh timed out" : "session refresh got 481");
		return;
	}
	if ((status == 405 || status == 501) && !s->no_update && s->sdp) {
		s->no_update = true; /* RFC 3311 not supported there: re-INVITE */
		(void)refresh(px, s);
		return;
	}
	if (status >= 300 || !m)
		return; /* the session ends at its expiry unless refreshed meanwhile */
	const struct wims_sip_hdr *ch = wims_sip_msg_hdr(m, WIMS_HDR_CSEQ);
	struct wims_sip_cseq cs;
	if (ch && wims_sip_cseq_parse(&cs, ch->value) == 0 && cs.method_id == WIMS_SIP_INVITE)
		send_ack(px, s, m);
	/* a 2xx without Session-Expires: the same interval again */
	if (parse_se(m, &se, &ref) == 0) {
		s->se = se;
		s->wims_refreshes = ref == REF_UAC && !s->br_timer; /* we were the UAC */
	}
	stm_arm(s);
}

/* ---- learning a session from a 2xx ---- */

/* RFC 3311: without an Allow header nothing is known; assume UPDATE works
 * (a 405/501 to it switches to re-INVITE). */
static bool allows_update(const struct wims_sip_msg *m)
{
	return !wims_sip_msg_hdr(m, WIMS_HDR_ALLOW) || lists_tag(m, WIMS_HDR_ALLOW, "UPDATE");
}

/* Keep the SDP of m (sent toward the core from the browser's side) for a
 * re-INVITE refresh: the same session description again (RFC 3264 §8). */
static void keep_sdp(struct px_stm *s, const struct wims_sip_msg *m)
{
	char *c;

	if (!m->body.l || !wims_proxy__media_has_sdp(m) || !(c = malloc(m->body.l + 1)))
		return;
	memcpy(c, m->body.p, m->body.l);
	c[m->body.l] = 0;
	free(s->sdp);
	s->sdp = c;
}

/* Record-Route values of m as Route lines (reversed for the UAC's side,
 * RFC 3261 §12.1.2), without our own entries: requests start here. */
static void route_lines(struct wims_proxy *px, struct wims_wbuf *w, const struct wims_sip_msg *m, bool reverse)
{
	struct wims_str v[WIMS_SIP_MAX_ROUTE];
	struct wims_sip_vals it;
	size_t n = 0;

	wims_sip_vals_init(&it, m, WIMS_HDR_RECORD_ROUTE);
	while (n < WIMS_SIP_MAX_ROUTE && wims_sip_vals_next(&it))
		if (!wims_proxy__route_is_us(px, it.value))
			v[n++] = it.value;
	for (size_t i = 0; i < n; i++) {
		struct wims_str r = v[reverse ? n - 1 - i : i];
		wims_wbuf_printf(w, "Route: %.*s\r\n", (int)r.l, r.p);
	}
}

static void party_lines(struct wims_wbuf *w, const struct wims_sip_msg *m, bool swap)
{
	const struct wims_sip_hdr *f = wims_sip_msg_hdr(m, WIMS_HDR_FROM), *t = wims_sip_msg_hdr(m, WIMS_HDR_TO);
	const struct wims_sip_hdr *c = wims_sip_msg_hdr(m, WIMS_HDR_CALL_ID);

	if (!f || !t || !c) {
		w->err = true;
		return;
	}
	if (swap) {
		const struct wims_sip_hdr *x = f;
		f = t;
		t = x;
	}
	wims_wbuf_printf(w, "From: %.*s\r\nTo: %.*s\r\nCall-ID: %.*s\r\n", (int)f->value.l, f->value.p,
			 (int)t->value.l, t->value.p, (int)c->value.l, c->value.p);
}

static char *contact_line(const struct wims_sip_msg *m)
{
	const struct wims_sip_hdr *h = wims_sip_msg_hdr(m, WIMS_HDR_CONTACT);
	char mem[1200];
	struct wims_wbuf w;

	if (!h)
		return NULL;
	wims_wbuf_init(&w, mem, sizeof(mem));
	wims_wbuf_printf(&w, "Contact: %.*s\r\n", (int)h->value.l, h->value.p);
	return dup_buf(&w);
}

/* What requests on each side need, from the dialog-creating INVITE (req:
 * as received, sent: as forwarded) and its 2xx (m: as received, o: as
 * forwarded).  br_uac: the browser sent the INVITE. */
static int stm_fill(struct wims_proxy *px, struct px_stm *s, bool br_uac, const struct wims_sip_msg *req,
		    const struct wims_sip_msg *sent, const struct wims_sip_msg *m, const struct wims_sip_msg *o)
{
	char mem[8192], bmem[4096];
	struct wims_wbuf w, b;

	wims_wbuf_init(&w, mem, sizeof(mem));
	wims_wbuf_init(&b, bmem, sizeof(bmem));
	if (br_uac) {
		route_lines(px, &w, m, true);
		party_lines(&w, m, false);
		party_lines(&b, m, true);
		s->target = dup_uri(m);
		s->contact = contact_line(sent);
		s->br_target = dup_uri(req);
		/* above the PRACKs and UPDATEs precond.c sent in the browser's name */
		s->last_out = cseq_of(sent) + wims_proxy__pc_cseq_offset(px, wims_str_c(s->call_id),
									  wims_str_c(s->tag_br), s->flow_id);
		s->off = cseq_of(sent) - cseq_of(req); /* the INVITE's: its ACK keeps it */
		s->no_update = !allows_update(m);
	} else {
		route_lines(px, &w, req, false);
		party_lines(&w, o, true);
		party_lines(&b, m, false);
		s->target = dup_uri(req);
		s->contact = contact_line(o);
		s->br_target = dup_uri(m);
		s->core_cseq = cseq_of(req);
		s->no_update = !allows_update(req);
	}
	s->rest = dup_buf(&w);
	s->br_rest = dup_buf(&b);
	return s->target && s->contact && s->br_target && s->rest && s->br_rest ? 0 : -ENOMEM;
}

static struct px_stm *stm_new(struct wims_proxy *px, uint64_t flow_id, const struct wims_sip_msg *o, bool br_uac)
{
	struct px_stm_tab *tb = tab_get(px);
	const struct wims_sip_hdr *cid = wims_sip_msg_hdr(o, WIMS_HDR_CALL_ID);
	struct wims_str ftag = wims_sip_msg_tag(o, WIMS_HDR_FROM), ttag = wims_sip_msg_tag(o, WIMS_HDR_TO);
	struct px_stm *s = tb && cid ? calloc(1, sizeof(*s)) : NULL;

	if (!s)
		return NULL;
	if (wims_str_copy(s->call_id, sizeof(s->call_id), cid->value) ||
	    wims_str_copy(s->tag_br, sizeof(s->tag_br), br_uac ? ftag : ttag) ||
	    wims_str_copy(s->tag_core, sizeof(s->tag_core), br_uac ? ttag : ftag)) {
		free(s);
		return NULL;
	}
	s->px = px;
	s->flow_id = flow_id;
	s->id = ++tb->seq;
	uv_timer_init(px->loop, &s->tm);
	s->tm.data = s;
	wims_hash_insert(&tb->by_cid, &s->hc, wims_hash_str(cid->value));
	wims_hash_insert(&tb->by_id, &s->hi, s->id);
	wims_hash_insert(&tb->by_flow, &s->hf, s->flow_id);
	return s;
}

/* A new session from the 2xx to a dialog-creating INVITE of a browser's flow. */
static struct px_stm *stm_create(struct wims_proxy *px, struct px_tsx *t, const struct wims_sip_msg *m,
				 const struct wims_sip_msg *o, bool br_uac)
{
	uint64_t flow_id = br_uac ? (t->up.flow ? wims_sip_flow_id(t->up.flow) : 0) : t->flow_token_id;
	struct wims_sip_msg *req = malloc(sizeof(*req)), *sent = malloc(sizeof(*sent));
	struct px_stm *s = NULL;
	const char *why;

	if (!flow_id || !req || !sent || !t->req || !t->out || wims_sip_msg_parse(req, t->req, t->req_len, &why) ||
	    wims_sip_msg_parse(sent, t->out, t->out_len, &why))
		goto out;
	s = stm_new(px, flow_id, o, br_uac);
	if (s && stm_fill(px, s, br_uac, req, sent, m, o)) {
		stm_free(px, s);
		s = NULL;
	}
	if (s)
		s->br_timer = has_timer(br_uac ? req : m);
out:
	free(req);
	free(sent);
	return s;
}

void wims_proxy__stimer_learn(struct wims_proxy *px, struct px_tsx *t, const struct wims_sip_msg *m,
			      const char *out, size_t out_len)
{
	struct wims_sip_msg *o;
	struct px_stm *s;
	enum refresher ref;
	uint32_t se;
	const char *why;
	/* who sent the request: the browser (or wims in its name) or the core */
	bool br_req = px_proto_is_ws(t->up.proto);

	if (m->status < 200 || m->status >= 300 || (t->method != WIMS_SIP_INVITE && t->method != WIMS_SIP_UPDATE))
		return;
	if (t->stm_id)
		return; /* our own refresh: wims_proxy__stimer_done */
	if (!br_req && !px_proto_is_ws(t->down.proto))
		return; /* not a browser's dialog */
	o = malloc(sizeof(*o));
	if (!o || wims_sip_msg_parse(o, out, out_len, &why))
		goto out;
	s = stm_find_msg(px, o, br_req ? (t->up.flow ? wims_sip_flow_id(t->up.flow) : 0) : t->flow_token_id);
	if (parse_se(o, &se, &ref)) {
		if (s && t->method == WIMS_SIP_INVITE) /* a re-INVITE without it turns timers off (§7.4) */
			stm_free(px, s);
		goto out;
	}
	if (!s && t->initial_invite && !(br_req && !t->up.flow))
		s = stm_create(px, t, m, o, br_req);
	if (!s)
		goto out;
	if (br_req && t->req) {
		struct wims_sip_msg *rq = malloc(sizeof(*rq));
		if (rq && wims_sip_msg_parse(rq, t->req, t->req_len, &why) == 0 && has_timer(rq))
			s->br_timer = true;
		if (rq && t->out && wims_sip_msg_parse(rq, t->out, t->out_len, &why) == 0)
			keep_sdp(s, rq); /* the browser's offer as the core got it */
		free(rq);
	} else if (!br_req) {
		if (has_timer(m))
			s->br_timer = true;
		keep_sdp(s, o); /* the browser's answer as the core got it */
	}
	s->se = se;
	/* RFC 4028 §9: refresher=uac is the sender of the request; absent: the UAS */
	s->wims_refreshes = ((ref == REF_UAC) == br_req) && !s->br_timer;
	stm_arm(s);
	wims_log(WIMS_LOG_DEBUG, "dialog %s: session interval %u s, refresher %s", s->call_id, se,
		 s->wims_refreshes ? "wims for the browser" : "the other party or the browser");
out:
	free(o);
}

/* ---- edits on the way ---- */

/* Remove the option tag timer from Require (the browser is not asked to
 * support what wims does for it). */
static void strip_require_timer(const struct wims_sip_msg *m, struct wims_sip_edits *ed)
{
	struct wims_sip_vals it;

	wims_sip_vals_init(&it, m, WIMS_HDR_REQUIRE);
	while (wims_sip_vals_next(&it))
		if (wims_str_eqic(it.value, "timer"))
			wims_sip_edit_remove_val(ed, m, &it);
}

/* Is span v of m already rewritten (precond.c keeps its own CSeq offset in
 * the dialogs where it sent PRACK/UPDATE)?  Two edits of one span would
 * make the message unwritable. */
static bool edited(const struct wims_sip_edits *ed, const struct wims_sip_msg *m, struct wims_str v)
{
	size_t off = (size_t)(v.p - m->raw.p);

	for (size_t i = 0; i < ed->n; i++)
		if (ed->e[i].off < off + v.l && off < ed->e[i].off + (ed->e[i].del ? ed->e[i].del : 1))
			return true;
	return false;
}

/* RFC 3261 §12.2.1.1: the core must see the browser's side's CSeq grow,
 * wims's own requests included.  Returns the number put in the request. */
static uint32_t renumber(struct px_stm *s, const struct wims_sip_msg *m, uint32_t num)
{
	uint32_t out = num + s->off;

	if (m->method_id == WIMS_SIP_ACK || m->method_id == WIMS_SIP_CANCEL)
		return out; /* the number of the INVITE */
	if (out <= s->last_out) {
		s->off = s->last_out + 1 - num;
		out = s->last_out + 1;
	}
	s->last_out = out;
	return out;
}

static void req_in_dialog(struct px_req *r, struct px_stm *s, bool from_br)
{
	const struct wims_sip_msg *m = r->m;
	const struct wims_sip_hdr *ch = wims_sip_msg_hdr(m, WIMS_HDR_CSEQ);
	struct wims_sip_cseq cs;
	uint32_t out;

	if (!ch || wims_sip_cseq_parse(&cs, ch->value) || edited(&r->ed, m, ch->value))
		return;
	if (!from_br) {
		if (cs.num > s->core_cseq)
			s->core_cseq = cs.num;
	} else if ((out = renumber(s, m, cs.num)) != cs.num) {
		size_t at = r->scratch.len;
		wims_wbuf_printf(&r->scratch, "%u %.*s", out, (int)cs.method.l, cs.method.p);
		if (!r->scratch.err) {
			wims_sip_edit_replace(&r->ed, m, ch->value,
					      wims_str_make(r->scratch.p + at, r->scratch.len - at));
			r->cseq_up = cs.num;
		}
	}
	if (m->method_id == WIMS_SIP_BYE)
		stm_free(r->px, s);
}

/* Offer session timers for a browser that has none (RFC 4028 §8: a proxy
 * may insert Session-Expires; wims also answers for the browser, hence
 * Supported: timer). */
static void offer_timer(struct px_req *r, const struct px_stm *s)
{
	const struct wims_sip_msg *m = r->m;
	const struct wims_conf *c = r->px->conf;
	unsigned se = s ? s->se : c->sip_session_expires; /* in a dialog: the interval it has */
	size_t at = r->scratch.len;

	/* three lines more (and Content-Length) must still parse at the next hop */
	if (!se || wims_sip_msg_hdr(m, WIMS_HDR_SESSION_EXPIRES) || has_timer(m) ||
	    m->nhdrs + 4 > WIMS_SIP_MAX_HEADERS)
		return;
	if (se < c->sip_min_se)
		se = c->sip_min_se;
	wims_wbuf_printf(&r->scratch, "Session-Expires: %u\r\nMin-SE: %u\r\nSupported: timer\r\n", se, c->sip_min_se);
	if (!r->scratch.err)
		wims_sip_edit_append_hdr(&r->ed, m, wims_str_make(r->scratch.p + at, r->scratch.len - at));
}

void wims_proxy__stimer_request(struct px_req *r)
{
	const struct wims_sip_msg *m = r->m;
	bool from_br = px_proto_is_ws(wims_sip_flow_proto(r->in));
	uint64_t flow_id = from_br ? wims_sip_flow_id(r->in) : r->flow_token_id;
	struct px_stm *s = stm_find_msg(r->px, m, flow_id);

	if (px_proto_is_ws(r->out.proto) && wims_sip_msg_hdr(m, WIMS_HDR_REQUIRE))
		strip_require_timer(m, &r->ed);
	if (from_br && !px_proto_is_ws(r->out.proto) && m->method_id == WIMS_SIP_INVITE &&
	    (!wims_sip_msg_tag(m, WIMS_HDR_TO).l || (s && !s->br_timer)))
		offer_timer(r, s);
	if (s)
		req_in_dialog(r, s, from_br);
}

/* RFC 4028 §9: the browser answered without Session-Expires to a request
 * that had it: wims answers for it.  The refresher is the one the request
 * named; else the core when it supports timers, else the browser's side
 * (wims).  Require: timer only toward a UAC that supports it. */
static void answer_timer(struct px_tsx *t, const struct wims_sip_msg *m, struct wims_sip_edits *ed,
			 struct wims_wbuf *scratch)
{
	struct wims_sip_msg *req = malloc(sizeof(*req));
	enum refresher ref;
	uint32_t se;
	const char *why;
	bool uac_timer;
	size_t at = scratch->len;

	if (m->nhdrs + 3 > WIMS_SIP_MAX_HEADERS || !req || wims_sip_msg_parse(req, t->req, t->req_len, &why) ||
	    parse_se(req, &se, &ref))
		goto out;
	uac_timer = has_timer(req);
	if (ref == REF_NONE)
		ref = uac_timer ? REF_UAC : REF_UAS;
	wims_wbuf_printf(scratch, "Session-Expires: %u;refresher=%s\r\n%s", se, ref == REF_UAC ? "uac" : "uas",
			 uac_timer ? "Require: timer\r\n" : "");
	if (!scratch->err)
		wims_sip_edit_append_hdr(ed, m, wims_str_make(scratch->p + at, scratch->len - at));
out:
	free(req);
}

void wims_proxy__stimer_response(struct wims_proxy *px, struct px_tsx *t, const struct wims_sip_msg *m,
				 struct wims_sip_edits *ed, struct wims_wbuf *scratch)
{
	const struct wims_sip_hdr *ch;
	struct wims_sip_cseq cs;

	(void)px;
	if (px_proto_is_ws(t->up.proto) && t->up.flow) {
		if (t->cseq_up && (ch = wims_sip_msg_hdr(m, WIMS_HDR_CSEQ)) && wims_sip_cseq_parse(&cs, ch->value) == 0 &&
		    !edited(ed, m, ch->value)) {
			size_t at = scratch->len;
			wims_wbuf_printf(scratch, "%u %.*s", t->cseq_up, (int)cs.method.l, cs.method.p);
			if (!scratch->err)
				wims_sip_edit_replace(ed, m, ch->value,
						      wims_str_make(scratch->p + at, scratch->len - at));
		}
		if (wims_sip_msg_hdr(m, WIMS_HDR_REQUIRE))
			strip_require_timer(m, ed);
		return;
	}
	if (px_proto_is_ws(t->down.proto) && m->status >= 200 && m->status < 300 && t->req &&
	    (t->method == WIMS_SIP_INVITE || t->method == WIMS_SIP_UPDATE) &&
	    !wims_sip_msg_hdr(m, WIMS_HDR_SESSION_EXPIRES))
		answer_timer(t, m, ed, scratch);
}

/* ---- lifetime ---- */

struct walk_ctx {
	struct wims_proxy *px;
	uint64_t flow_id;
	bool all;
};

static bool free_cb(struct wims_hnode *n, void *arg)
{
	struct walk_ctx *w = arg;
	struct px_stm *s = wims_container_of(n, struct px_stm, hc);

	if (w->all || s->flow_id == w->flow_id)
		stm_free(w->px, s);
	return false;
}

void wims_proxy__stimer_flow_gone(struct wims_proxy *px, uint64_t flow_id)
{
	struct wims_hnode *n;

	while (px->stm && (n = wims_hash_find(&px->stm->by_flow, flow_id)))
		stm_free(px, wims_container_of(n, struct px_stm, hf));
}

void wims_proxy__stimer_free_all(struct wims_proxy *px)
{
	struct walk_ctx w = {px, 0, true};

	if (!px->stm)
		return;
	wims_hash_walk(&px->stm->by_cid, free_cb, &w);
	wims_hash_fini(&px->stm->by_cid);
	wims_hash_fini(&px->stm->by_id);
	wims_hash_fini(&px->stm->by_flow);
	free(px->stm);
	px->stm = NULL;
}

/* ---- 422 and CSeq for dialog.c ---- */

static int rewrite_422(struct wims_proxy *px, const struct wims_sip_msg *o, uint32_t se, struct wims_wbuf *out,
		       char branch[PX_BRANCH_MAX])
{
	const struct wims_sip_hdr *seh = wims_sip_msg_hdr(o, WIMS_HDR_SESSION_EXPIRES);
	const struct wims_sip_hdr *mh = wims_sip_msg_hdr(o, WIMS_HDR_MIN_SE);
	const struct wims_sip_hdr *ch = wims_sip_msg_hdr(o, WIMS_HDR_CSEQ);
	struct wims_sip_edits ed;
	struct wims_sip_cseq cs;
	struct wims_sip_via v;
	char sev[16], csv[48];

	if (!seh || !ch || wims_sip_cseq_parse(&cs, ch->value) || wims_sip_msg_top_via(o, &v) || !v.branch.l)
		return -EBADMSG;
	wims_proxy__branch(px, o, branch);
	snprintf(sev, sizeof(sev), "%u", se);
	snprintf(csv, sizeof(csv), "%u INVITE", cs.num + 1);
	wims_sip_edits_init(&ed);
	wims_sip_edit_replace(&ed, o, v.branch, wims_str_c(branch));
	wims_sip_edit_replace(&ed, o, seh->value, wims_str_c(sev));
	if (mh)
		wims_sip_edit_replace(&ed, o, mh->value, wims_str_c(sev));
	wims_sip_edit_replace(&ed, o, ch->value, wims_str_c(csv));
	return wims_sip_msg_write(o, &ed, out);
}

int wims_proxy__stimer_422(struct wims_proxy *px, struct px_tsx *t, const struct wims_sip_msg *resp,
			   struct wims_wbuf *out, char branch[PX_BRANCH_MAX])
{
	struct wims_sip_msg *req = malloc(sizeof(*req)), *o = malloc(sizeof(*o));
	const struct wims_sip_hdr *mh = wims_sip_msg_hdr(resp, WIMS_HDR_MIN_SE);
	enum refresher ref;
	uint32_t ms, se;
	const char *why;
	int rc = -EAGAIN;

	/* only what wims added (the browser's request had no Session-Expires) */
	if (!req || !o || !mh || !t->req || wims_sip_msg_parse(req, t->req, t->req_len, &why) ||
	    wims_sip_msg_hdr(req, WIMS_HDR_SESSION_EXPIRES) || wims_sip_msg_parse(o, t->out, t->out_len, &why) ||
	    parse_se(o, &se, &ref))
		goto out;
	/* RFC 4028 §6: Min-SE = delta-seconds *(;generic-param) */
	const char *semi = memchr(mh->value.p, ';', mh->value.l);
	struct wims_str msv = wims_str_trim(wims_str_make(mh->value.p, semi ? (size_t)(semi - mh->value.p) : mh->value.l));
	if (wims_sip_uint_parse(msv, 86400, &ms) || ms <= se)
		goto out; /* nothing larger to offer: the 422 goes to the browser */
	if ((rc = rewrite_422(px, o, ms, out, branch)))
		goto out;
	if (!t->cseq_up)
		t->cseq_up = cseq_of(req);
	wims_log(WIMS_LOG_INFO, "INVITE answered 422: sent again with Session-Expires %u (RFC 4028 §7.4)", ms);
out:
	free(req);
	free(o);
	return rc;
}

uint32_t wims_proxy__stimer_cseq_floor(struct wims_proxy *px, struct wims_str call_id, struct wims_str tag,
				       uint64_t flow_id)
{
	if (!px->stm || !px->stm->by_cid.n)
		return 0;
	for (struct wims_hnode *n = wims_hash_find(&px->stm->by_cid, wims_hash_str(call_id)); n;
	     n = wims_hash_next_same(n)) {
		struct px_stm *s = wims_container_of(n, struct px_stm, hc);
		if (wims_str_eqc(call_id, s->call_id) && (!flow_id || s->flow_id == flow_id) &&
		    (wims_str_eqc(tag, s->tag_br) || wims_str_eqc(tag, s->tag_core)))
			return s->last_out;
	}
	return 0;
}
