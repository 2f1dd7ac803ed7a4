/* Proxy transactions (RFC 3261 §16, §17; RFC 6026): each request forwarded
 * statefully owns one server transaction (toward where it came from, "up")
 * and one client transaction (toward the next hop, "down").
 *
 *   up ──request──▶ [server tsx | client tsx] ──request──▶ down
 *   up ◀─response── [  last response kept   ] ◀─response── down
 *
 * Timers (only where the hop is UDP do retransmissions run):
 *   t_retr: A (INVITE) / E (non-INVITE) toward down; G for a non-2xx final
 *           response to INVITE toward up, until the ACK comes.
 *   t_to:   B / F while waiting; then the lingering time of the completed
 *           transaction (H, J, K; L of RFC 6026 for 2xx to INVITE).
 *   t_c:    C for INVITE (RFC 3261 §16.8).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/log.h"
#include "proxy/precond.h"
#include "proxy/px.h"

static struct wims_ratelimit rl_tsx = WIMS_RATELIMIT_INIT(10000, 10);

/* ---- keys ---- */

/* RFC 3261 §17.2.3: branch, sent-by and method (ACK and CANCEL match the INVITE). */
static int server_key(const struct wims_sip_msg *m, char *out, size_t *len)
{
	struct wims_sip_via v;
	enum wims_sip_method meth = m->method_id;
	int n;

	if (wims_sip_msg_top_via(m, &v) || v.branch.l == 0)
		return -EBADMSG;
	if (meth == WIMS_SIP_ACK || meth == WIMS_SIP_CANCEL)
		meth = WIMS_SIP_INVITE;
	n = snprintf(out, PX_SKEY_MAX, "%.*s|%.*s|%.*s", (int)v.branch.l, v.branch.p, (int)v.sent_by.l,
		     v.sent_by.p, meth == WIMS_SIP_OTHER ? (int)m->method.l : 8,
		     meth == WIMS_SIP_OTHER ? m->method.p : wims_sip_method_name(meth));
	if (n < 0 || n >= PX_SKEY_MAX)
		return -ENAMETOOLONG;
	*len = (size_t)n;
	return 0;
}

static struct px_tsx *find_server(struct wims_proxy *px, const char *key, size_t len)
{
	uint64_t h = wims_hash_bytes(key, len);

	for (struct wims_hnode *n = wims_hash_find(&px->tsx_srv, h); n; n = wims_hash_next_same(n)) {
		struct px_tsx *t = wims_container_of(n, struct px_tsx, hs);
		if (t->skey_len == len && memcmp(t->skey, key, len) == 0)
			return t;
	}
	return NULL;
}

static struct px_tsx *find_client(struct wims_proxy *px, struct wims_str branch)
{
	for (struct wims_hnode *n = wims_hash_find(&px->tsx_cli, wims_hash_str(branch)); n;
	     n = wims_hash_next_same(n)) {
		struct px_tsx *t = wims_container_of(n, struct px_tsx, hc);
		if (wims_str_eqc(branch, t->branch))
			return t;
	}
	return NULL;
}

/* ---- lifetime ---- */

/* The transactions still waiting for their final answer, in a list of their
 * own: a lost flow fails those, and the lingering ones (timer K for every
 * request sent over UDP, timer J for every one received over UDP: tens of
 * thousands at a few thousand requests a second) are not walked. */
static void active_add(struct px_tsx *t)
{
	struct wims_proxy *px = t->px;

	t->a_next = px->tsx_active;
	if (t->a_next)
		t->a_next->a_pprev = &t->a_next;
	t->a_pprev = &px->tsx_active;
	px->tsx_active = t;
	px->tsx_active_n++;
}

static void active_del(struct px_tsx *t)
{
	if (!t->a_pprev)
		return;
	*t->a_pprev = t->a_next;
	if (t->a_next)
		t->a_next->a_pprev = t->a_pprev;
	t->a_next = NULL;
	t->a_pprev = NULL;
	t->px->tsx_active_n--;
}

static void tsx_handle_closed(uv_handle_t *h)
{
	struct px_tsx *t = h->data;

	if (--t->closing == 0)
		free(t);
}

static void tsx_destroy(struct px_tsx *t)
{
	struct wims_proxy *px = t->px;

	if (t->closing)
		return;
	active_del(t);
	wims_hash_remove(&px->tsx_srv, &t->hs);
	wims_hash_remove(&px->tsx_cli, &t->hc);
	px->st.tsx_open = px->tsx_srv.n;
	wims_proxy__hop_clear(&t->up);
	wims_proxy__hop_clear(&t->down);
	free(t->req);
	free(t->out);
	free(t->resp);
	t->req = t->out = t->resp = NULL;
	t->closing = 3;
	uv_close((uv_handle_t *)&t->t_retr, tsx_handle_closed);
	uv_close((uv_handle_t *)&t->t_to, tsx_handle_closed);
	uv_close((uv_handle_t *)&t->t_c, tsx_handle_closed);
}

static void on_linger_end(uv_timer_t *h)
{
	tsx_destroy(h->data);
}

/* The transaction has its final answer: keep it only as long as
 * retransmissions may still come (or must still be sent). */
static void tsx_linger(struct px_tsx *t)
{
	struct wims_proxy *px = t->px;
	uint64_t ms = 0;

	uv_timer_stop(&t->t_c);
	if (!(t->method == WIMS_SIP_INVITE && t->resp_status >= 300 && t->up.proto == WIMS_SIP_UDP && !t->acked))
		uv_timer_stop(&t->t_retr);
	/* free what is no longer needed: the request as received, unless it
	 * holds the Vias we hid, which RFC 6026 2xx retransmissions still need */
	if (!(t->replace_via && t->method == WIMS_SIP_INVITE)) {
		free(t->req);
		t->req = NULL;
	}
	if (t->method != WIMS_SIP_INVITE) {
		/* a retransmitted final response from downstream is only absorbed
		 * (no ACK to resend), and a reliable upstream retransmits nothing */
		free(t->out);
		t->out = NULL;
		if (t->up.proto != WIMS_SIP_UDP) {
			free(t->resp);
			t->resp = NULL;
		}
	}
	if (t->method == WIMS_SIP_INVITE)
		ms = 64ULL * px->t1; /* RFC 6026 timer L / RFC 3261 timer H */
	else if (t->up.proto == WIMS_SIP_UDP)
		ms = 64ULL * px->t1; /* timer J */
	else if (t->down.proto == WIMS_SIP_UDP)
		ms = px->t4; /* timer K */
	if (ms == 0) {
		tsx_destroy(t);
		return;
	}
	uv_timer_start(&t->t_to, on_linger_end, ms, 0);
}

/* ---- sending ---- */

static int store(char **dst, size_t *dlen, const char *p, size_t l)
{
	char *c = malloc(l ? l : 1);

	if (!c)
		return -ENOMEM;
	memcpy(c, p, l);
	free(*dst);
	*dst = c;
	*dlen = l;
	return 0;
}

static void send_up(struct px_tsx *t, const char *p, size_t l, unsigned status)
{
	struct wims_proxy *px = t->px;

	if (status >= t->resp_status || status >= 200) {
		if (store(&t->resp, &t->resp_len, p, l) == 0)
			t->resp_status = status;
	}
	if (wims_proxy__send(px, &t->up, p, l, false) == 0)
		px->st.responses_out++;
}

static void on_g(uv_timer_t *h);

static void finish_up(struct px_tsx *t)
{
	struct wims_proxy *px = t->px;

	t->done = true;
	active_del(t);
	uv_timer_stop(&t->t_retr);
	uv_timer_stop(&t->t_to);
	if (t->method == WIMS_SIP_INVITE && t->resp_status >= 300 && t->up.proto == WIMS_SIP_UDP) {
		t->retr_ms = px->t1; /* timer G until the ACK comes */
		uv_timer_start(&t->t_retr, on_g, t->retr_ms, 0);
	}
	tsx_linger(t);
}

void wims_proxy__tsx_reply(struct px_tsx *t, unsigned code, const char *reason)
{
	struct wims_sip_msg *m;
	char mem[8192], tag[24];
	struct wims_wbuf w;
	const char *why;

	if (t->done)
		return;
	m = t->req ? malloc(sizeof(*m)) : NULL;
	if (m && wims_sip_msg_parse(m, t->req, t->req_len, &why) == 0) {
		wims_wbuf_init(&w, mem, sizeof(mem));
		snprintf(tag, sizeof(tag), "w%.16s", t->branch + 8);
		if (wims_sip_reply(m, code, reason, code > 100 ? wims_str_c(tag) : WIMS_STR_NULL, WIMS_STR_NULL,
				   &w) == 0)
			send_up(t, w.p, w.len, code);
	}
	free(m);
	if (code >= 200) {
		uint64_t stm_id = t->done ? 0 : t->stm_id;
		finish_up(t);
		if (stm_id)
			wims_proxy__stimer_done(t->px, stm_id, code, NULL);
	}
}

/* Build CANCEL or ACK (for a non-2xx) from the request we sent (RFC 3261
 * §9.1, §17.1.1.3): same Request-URI, Call-ID, From, CSeq number, top Via
 * and Route; To from the response for ACK. */
static int build_cancel_ack(struct px_tsx *t, enum wims_sip_method meth, struct wims_str to,
			    struct wims_wbuf *w)
{
	struct wims_sip_msg *m = malloc(sizeof(*m));
	const struct wims_sip_hdr *h;
	struct wims_sip_cseq cs;
	const char *why;
	int rc = -EBADMSG;

	if (!m)
		return -ENOMEM;
	if (!t->out || wims_sip_msg_parse(m, t->out, t->out_len, &why))
		goto out;
	h = wims_sip_msg_hdr(m, WIMS_HDR_CSEQ);
	if (!h || wims_sip_cseq_parse(&cs, h->value))
		goto out;
	wims_wbuf_printf(w, "%s %.*s SIP/2.0\r\n", wims_sip_method_name(meth), (int)m->ruri.l, m->ruri.p);
	wims_wbuf_putstr(w, wims_sip_msg_hdr(m, WIMS_HDR_VIA)->line); /* ours, same branch */
	for (h = wims_sip_msg_hdr(m, WIMS_HDR_ROUTE); h; h = wims_sip_msg_hdr_next(m, h))
		wims_wbuf_putstr(w, h->line);
	wims_wbuf_putstr(w, wims_sip_msg_hdr(m, WIMS_HDR_FROM)->line);
	if (to.l)
		wims_wbuf_printf(w, "To: %.*s\r\n", (int)to.l, to.p);
	else
		wims_wbuf_putstr(w, wims_sip_msg_hdr(m, WIMS_HDR_TO)->line);
	wims_wbuf_putstr(w, wims_sip_msg_hdr(m, WIMS_HDR_CALL_ID)->line);
	wims_wbuf_printf(w, "CSeq: %u %s\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n", cs.num,
			 wims_sip_method_name(meth));
	rc = w->err ? -ENOSPC : 0;
out:
	free(m);
	return rc;
}

static void on_timeout(uv_timer_t *h);
static void ack_non2xx(struct px_tsx *t, const struct wims_sip_msg *m);

static void send_cancel(struct px_tsx *t)
{
	char mem[4096];
	struct wims_wbuf w;

	if (t->cancelled || t->done)
		return;
	t->cancelled = true;
	wims_wbuf_init(&w, mem, sizeof(mem));
	if (build_cancel_ack(t, WIMS_SIP_CANCEL, WIMS_STR_NULL, &w) == 0)
		(void)wims_proxy__send(t->px, &t->down, w.p, w.len, true);
	/* RFC 3261 §16.10: if no final response comes, give up after 64*T1 */
	uv_timer_start(&t->t_to, on_timeout, 64ULL * t->px->t1, 0);
}

/* ---- timers ---- */

static void on_retr(uv_timer_t *h)
{
	struct px_tsx *t = h->data;
	struct wims_proxy *px = t->px;

	if (!t->out || t->done)
		return;
	px->st.retransmissions++;
	(void)wims_proxy__send(px, &t->down, t->out, t->out_len, true);
	if (t->method == WIMS_SIP_INVITE)
		t->retr_ms *= 2; /* timer A */
	else
		t->retr_ms = t->retr_ms * 2 < px->t2 ? t->retr_ms * 2 : px->t2; /* timer E */
	uv_timer_start(&t->t_retr, on_retr, t->retr_ms, 0);
}

static void on_g(uv_timer_t *h)
{
	struct px_tsx *t = h->data;
	struct wims_proxy *px = t->px;

	if (t->acked || !t->resp)
		return;
	(void)wims_proxy__send(px, &t->up, t->resp, t->resp_len, false);
	t->retr_ms = t->retr_ms * 2 < px->t2 ? t->retr_ms * 2 : px->t2;
	uv_timer_start(&t->t_retr, on_g, t->retr_ms, 0);
}

/* RFC 3263 §4.3: the request that goes on to the next target is a new
 * client transaction, with a new branch in our Via (two targets may be one
 * server, which would take an identical request for a retransmission of the
 * one it answered 503).  The new branch is the old one with "-rN": the
 * prefix that loop detection reads stays.  0, or -1 when t->out has no Via
 * of ours with t->branch. */
static int rebranch(struct px_tsx *t)
{
	struct wims_proxy *px = t->px;
	char nb[PX_BRANCH_MAX], key[PX_BRANCH_MAX + 8];
	const char *mark = strstr(t->branch, "-r");
	size_t base = mark ? (size_t)(mark - t->branch) : strlen(t->branch);
	unsigned n = mark ? (unsigned)strtoul(mark + 2, NULL, 10) + 1 : 1;
	int kl = snprintf(key, sizeof(key), "branch=%s", t->branch);
	int nl = snprintf(nb, sizeof(nb), "%.*s-r%u", (int)base, t->branch, n);
	const char *at = kl > 0 && (size_t)kl < sizeof(key) ? memmem(t->out, t->out_len, key, (size_t)kl) : NULL;
	size_t old_l = strlen(t->branch), len;
	char *o;

	if (!at || nl <= 0 || (size_t)nl >= sizeof(nb) || !(o = malloc(t->out_len - old_l + (size_t)nl)))
		return -1;
	len = (size_t)(at - t->out) + 7; /* up to and with "branch=" */
	memcpy(o, t->out, len);
	memcpy(o + len, nb, (size_t)nl);
	memcpy(o + len + (size_t)nl, at + kl, t->out_len - (size_t)(at - t->out) - (size_t)kl);
	free(t->out);
	t->out = o;
	t->out_len = t->out_len - old_l + (size_t)nl;
	wims_hash_remove(&px->tsx_cli, &t->hc);
	memcpy(t->branch, nb, (size_t)nl + 1);
	wims_hash_insert(&px->tsx_cli, &t->hc, wims_hash_str(wims_str_c(t->branch)));
	return 0;
}

/* RFC 3263 §4.3: a timeout or a 503 from one target of a next hop found by
 * DNS: the request goes on to the next target as a new transaction (a new
 * branch, rebranch()).  resp: the 503 (ACKed there for an INVITE). */
static bool failover(struct px_tsx *t, const struct wims_sip_msg *resp, const char *why)
{
	struct wims_proxy *px = t->px;
	struct wims_addr next;
	char *req;
	size_t req_len = t->out_len;

	if (!px->dns || !t->out || t->cancelled || t->done || !wims_proxy__dns_next(px, &t->down, &next, why))
		return false;
	if (resp && t->method == WIMS_SIP_INVITE) {
		/* ack_non2xx builds the ACK from t->out and keeps it there: the request is put back */
		if (!(req = malloc(req_len)))
			return false;
		memcpy(req, t->out, req_len);
		ack_non2xx(t, resp);
		free(t->out);
		t->out = req;
		t->out_len = req_len;
	}
	if (rebranch(t))
		return false;
	wims_proxy__hop_clear(&t->down);
	t->down.addr = next;
	t->down_status = 0;
	uv_timer_stop(&t->t_retr);
	if (wims_proxy__send(px, &t->down, t->out, t->out_len, true))
		return false;
	if (t->down.proto == WIMS_SIP_UDP) {
		t->retr_ms = px->t1;
		uv_timer_start(&t->t_retr, on_retr, t->retr_ms, 0);
	}
	uv_timer_start(&t->t_to, on_timeout, 64ULL * px->t1, 0);
	return true;
}

/* RFC 4028 §7.4 (stimer.c): a 422 to an INVITE for which wims offered
 * Session-Expires in the browser's name is not the browser's to handle:
 * the INVITE goes again with the interval asked, a new CSeq and branch. */
static bool retry_422(struct px_tsx *t, const struct wims_sip_msg *resp)
{
	struct wims_proxy *px = t->px;
	char branch[PX_BRANCH_MAX];
	struct wims_wbuf w;
	char *mem;

	if (t->method != WIMS_SIP_INVITE || t->cancelled || t->done || !t->out || !(mem = wims_proxy__mem_get(px)))
		return false;
	wims_wbuf_init(&w, mem, WIMS_SIP_MAX_MESSAGE);
	if (wims_proxy__stimer_422(px, t, resp, &w, branch)) {
		wims_proxy__mem_put(px, mem);
		return false;
	}
	ack_non2xx(t, resp); /* from the request as sent; t->out then holds the ACK */
	if (store(&t->out, &t->out_len, w.p, w.len)) {
		wims_proxy__mem_put(px, mem);
		return false;
	}
	wims_proxy__mem_put(px, mem);
	wims_hash_remove(&px->tsx_cli, &t->hc);
	snprintf(t->branch, sizeof(t->branch), "%s", branch);
	wims_hash_insert(&px->tsx_cli, &t->hc, wims_hash_str(wims_str_c(t->branch)));
	t->down_status = 0;
	uv_timer_stop(&t->t_retr);
	if (wims_proxy__send(px, &t->down, t->out, t->out_len, true))
		return false;
	if (t->down.proto == WIMS_SIP_UDP) {
		t->retr_ms = px->t1;
		uv_timer_start(&t->t_retr, on_retr, t->retr_ms, 0);
	}
	uv_timer_start(&t->t_to, on_timeout, 64ULL * px->t1, 0);
	return true;
}

static void on_timeout(uv_timer_t *h)
{
	struct px_tsx *t = h->data;

	if (failover(t, NULL, "timed out"))
		return;
	/* timer B/F (or C's grace after CANCEL): act as if 408 had come (§16.8) */
	t->px->st.tsx_timeouts++;
	wims_log_rl(&rl_tsx, WIMS_LOG_INFO, "transaction %s timed out", t->branch);
	wims_proxy__tsx_reply(t, 408, NULL);
}

static void on_timer_c(uv_timer_t *h)
{
	struct px_tsx *t = h->data;

	if (t->done)
		return;
	if (t->down_status >= 100) {
		send_cancel(t);
	} else {
		wims_proxy__tsx_reply(t, 408, NULL);
	}
}

/* ---- new requests ---- */

static int write_forward(struct px_req *r, struct px_tsx *t, struct wims_wbuf *w)
{
	struct wims_proxy *px = r->px;
	const struct wims_sip_msg *m = r->m;
	const struct wims_sip_hdr *h;
	char mf[32];
	struct wims_wbuf vb;
	uint32_t v = 70;
	char via_mem[768];

	wims_wbuf_init(&vb, via_mem, sizeof(via_mem));
	wims_proxy__via_line(px, &vb, r->out.proto, wims_str_c(t->branch));
	if (vb.err)
		return -ENOSPC;
	if (r->record_route)
		wims_proxy__record_route(px, &vb, r->in, &r->out, r->rr_user);
	if (vb.err)
		return -ENOSPC;
	/* the insertion first: it shares its offset with a removed first line */
	wims_sip_edit_prepend_hdr(&r->ed, m, wims_wbuf_str(&vb));
	if (r->replace_via)
		for (h = wims_sip_msg_hdr(m, WIMS_HDR_VIA); h; h = wims_sip_msg_hdr_next(m, h))
			wims_sip_edit_remove_hdr(&r->ed, m, h);
	/* RFC 3261 §16.6 item 3 */
	h = wims_sip_msg_hdr(m, WIMS_HDR_MAX_FORWARDS);
	if (h) {
		if (wims_sip_uint_parse(h->value, 255, &v) == 0 && v > 0)
			v--;
		snprintf(mf, sizeof(mf), "%u", v);
		wims_sip_edit_replace(&r->ed, m, h->value, wims_str_c(mf));
	} else {
		wims_sip_edit_append_hdr(&r->ed, m, wims_str_c("Max-Forwards: 69\r\n"));
	}
	return wims_sip_msg_write(m, &r->ed, w);
}

/* RFC 3261 §18.1.1: a request over UDP larger than the path MTU allows goes
 * over TCP; the Via must say so, so the proxy, not the transport, decides. */
static int write_for_hop(struct px_req *r, struct px_tsx *t, struct wims_wbuf *w, char *mem, size_t cap)
{
	struct wims_sip_edits saved = r->ed;
	int rc;

	wims_wbuf_init(w, mem, cap);
	rc = write_forward(r, t, w);
	if (rc == 0 && r->out.proto == WIMS_SIP_UDP && w->len > r->px->conf->sip_udp_mtu) {
		r->out.proto = WIMS_SIP_TCP;
		r->ed = saved;
		wims_wbuf_init(w, mem, cap);
		rc = write_forward(r, t, w);
	}
	return rc;
}

static int forward_ack(struct px_req *r)
{
	struct px_tsx t = {0};
	struct wims_wbuf w;
	char *mem = wims_proxy__mem_get(r->px);
	int rc;

	if (!mem)
		return -ENOMEM;
	wims_proxy__branch(r->px, r->m, t.branch);
	rc = write_for_hop(r, &t, &w, mem, WIMS_SIP_MAX_MESSAGE);
	if (rc == 0)
		rc = wims_proxy__send(r->px, &r->out, w.p, w.len, true);
	if (rc == 0)
		r->px->st.requests_out++;
	wims_proxy__mem_put(r->px, mem);
	return rc;
}

static void tsx_init_timers(struct px_tsx *t)
{
	uv_timer_init(t->px->loop, &t->t_retr);
	uv_timer_init(t->px->loop, &t->t_to);
	uv_timer_init(t->px->loop, &t->t_c);
	t->t_retr.data = t->t_to.data = t->t_c.data = t;
}

int wims_proxy__tsx_new_request(struct px_req *r)
{
	struct wims_proxy *px = r->px;
	const struct wims_sip_msg *m = r->m;
	struct px_tsx *t;
	struct wims_wbuf w;
	char *mem;
	int rc;

	if (m->method_id == WIMS_SIP_ACK)
		return forward_ack(r);
	t = calloc(1, sizeof(*t));
	mem = wims_proxy__mem_get(px);
	if (!t || !mem) {
		free(t);
		wims_proxy__mem_put(px, mem);
		return -ENOMEM;
	}
	t->px = px;
	t->method = m->method_id;
	if ((rc = server_key(m, t->skey, &t->skey_len))) {
		free(t);
		wims_proxy__mem_put(px, mem);
		wims_proxy__reply(px, m, r->in, 400, "Bad Via branch", WIMS_STR_NULL);
		return 0;
	}
	wims_proxy__branch(px, m, t->branch);
	t->replace_via = r->replace_via;
	t->req_sdp = wims_proxy__media_has_sdp(m);
	t->initial_invite = m->method_id == WIMS_SIP_INVITE && !wims_sip_msg_tag(m, WIMS_HDR_TO).l;
	t->flow_token_id = r->flow_token_id;
	t->flow_outbound = r->flow_outbound;
	t->cseq_up = r->cseq_up;
	rc = write_for_hop(r, t, &w, mem, WIMS_SIP_MAX_MESSAGE);
	if (rc || wims_proxy__resp_hop(px, m, r->in, &t->up) ||
	    store(&t->req, &t->req_len, m->raw.p, m->raw.l) || store(&t->out, &t->out_len, w.p, w.len)) {
		wims_proxy__hop_clear(&t->up);
		free(t->req);
		free(t->out);
		free(t);
		wims_proxy__mem_put(px, mem);
		return rc ? rc : -ENOMEM;
	}
	wims_proxy__mem_put(px, mem);
	t->down = r->out;
	t->down.keep = true;
	r->out.flow = NULL; /* the reference moved to the transaction */
	tsx_init_timers(t);
	wims_hash_insert(&px->tsx_srv, &t->hs, wims_hash_bytes(t->skey, t->skey_len));
	wims_hash_insert(&px->tsx_cli, &t->hc, wims_hash_str(wims_str_c(t->branch)));
	active_add(t);
	px->st.tsx_created++;
	px->st.tsx_open = px->tsx_srv.n;

	if (t->method == WIMS_SIP_INVITE) /* RFC 3261 §16.2: 100 Trying at once */
		wims_proxy__tsx_reply(t, 100, NULL);
	wims_proxy__dlg_on_request(px, m, px_proto_is_ws(t->up.proto),
				   px_proto_is_ws(t->up.proto) && t->up.flow ? wims_sip_flow_id(t->up.flow)
									      : t->flow_token_id);
	if (wims_proxy__send(px, &t->down, t->out, t->out_len, true)) {
		wims_proxy__tsx_reply(t, px_proto_is_ws(t->down.proto) ? 480 : 503,
				      px_proto_is_ws(t->down.proto) ? NULL : "Next Hop Unreachable");
		return 0;
	}
	px->st.requests_out++;
	if (t->down.proto == WIMS_SIP_UDP) {
		t->retr_ms = px->t1;
		uv_timer_start(&t->t_retr, on_retr, t->retr_ms, 0);
	}
	uv_timer_start(&t->t_to, on_timeout, 64ULL * px->t1, 0);
	if (t->method == WIMS_SIP_INVITE)
		uv_timer_start(&t->t_c, on_timer_c, (uint64_t)px->conf->sip_timer_c_s * 1000, 0);
	return 0;
}

/* ---- requests that belong to a transaction ---- */

bool wims_proxy__tsx_match_request(struct wims_proxy *px, const struct wims_sip_msg *m,
				   struct wims_sip_flow *in)
{
	char key[PX_SKEY_MAX];
	size_t len;
	struct px_tsx *t;

	if (server_key(m, key, &len))
		return false;
	t = find_server(px, key, len);
	if (!t)
		return false;
	switch (m->method_id) {
	case WIMS_SIP_ACK:
		if (t->resp_status < 300)
			return false; /* ACK for a 2xx: its own transaction, forwarded */
		t->acked = true; /* hop-by-hop ACK for our non-2xx: absorbed */
		uv_timer_stop(&t->t_retr);
		return true;
	case WIMS_SIP_CANCEL:
		/* RFC 3261 §16.10: answer the CANCEL, then cancel downstream */
		wims_proxy__reply(px, m, in, 200, NULL, WIMS_STR_NULL);
		if (t->done)
			return true;
		if (t->down_status >= 100)
			send_cancel(t);
		else
			t->cancel_wanted = true;
		return true;
	default:
		px->st.retransmissions++;
		if (t->resp)
			(void)wims_proxy__send(px, &t->up, t->resp, t->resp_len, false);
		return true;
	}
}

/* ---- responses ---- */

static void forward_up(struct px_tsx *t, const struct wims_sip_msg *m, const struct wims_sip_vals *top)
{
	struct wims_proxy *px = t->px;
	struct wims_sip_edits ed;
	struct wims_wbuf scratch, w;
	char smem[PX_SCRATCH];
	char *mem;

	if (t->stm_id)
		return; /* to a refresh of stimer.c: wims_proxy__stimer_done, no media, nobody upstream */
	if (wims_proxy__pc_local_response(px, t, m))
		return; /* to a PRACK or UPDATE of precond.c */
	if (wims_proxy__regev_response(px->regev, t, m))
		return; /* to a reg event SUBSCRIBE of regevent.c */
	if (!(mem = wims_proxy__mem_get(px)))
		return;
	wims_sip_edits_init(&ed);
	wims_wbuf_init(&scratch, smem, sizeof(smem));
	if (t->replace_via && t->req) {
		/* put back the Via lines we hid from the core, in order */
		struct wims_sip_msg *rq = wims_proxy__mem_get(px);
		const char *why;
		if (rq && wims_sip_msg_parse(rq, t->req, t->req_len, &why) == 0) {
			size_t start = scratch.len;
			for (const struct wims_sip_hdr *h = wims_sip_msg_hdr(rq, WIMS_HDR_VIA); h;
			     h = wims_sip_msg_hdr_next(rq, h))
				wims_wbuf_putstr(&scratch, h->line);
			wims_sip_edit_prepend_hdr(&ed, m, wims_str_make(scratch.p + start, scratch.len - start));
		}
		wims_proxy__mem_put(px, rq);
	}
	wims_sip_edit_remove_val(&ed, m, top); /* after the insertion at the same offset */
	px->role->response(px, t, m, &ed, &scratch);
	wims_proxy__stimer_response(px, t, m, &ed, &scratch);
	char *sdp_mem = NULL;
	bool waits = wims_proxy__media_response(px, t, m, &ed, &sdp_mem);
	char *pc_mem = NULL; /* precond.c: held or absorbed responses, its SDP rewrites */
	waits = waits || wims_proxy__pc_response(px, t, m, &ed, &scratch, &pc_mem);
	wims_wbuf_init(&w, mem, WIMS_SIP_MAX_MESSAGE);
	if (!waits && !scratch.err && wims_sip_msg_write(m, &ed, &w) == 0) {
		wims_proxy__stimer_learn(px, t, m, w.p, w.len);
		send_up(t, w.p, w.len, m->status);
	}
	if (sdp_mem)
		wims_proxy__mem_put(px, sdp_mem);
	if (pc_mem)
		wims_proxy__mem_put(px, pc_mem);
	wims_proxy__mem_put(px, mem);
}

static void ack_non2xx(struct px_tsx *t, const struct wims_sip_msg *m)
{
	const struct wims_sip_hdr *to = wims_sip_msg_hdr(m, WIMS_HDR_TO);
	char mem[4096];
	struct wims_wbuf w;

	wims_wbuf_init(&w, mem, sizeof(mem));
	if (build_cancel_ack(t, WIMS_SIP_ACK, to ? to->value : WIMS_STR_NULL, &w) == 0) {
		(void)wims_proxy__send(t->px, &t->down, w.p, w.len, true);
		(void)store(&t->out, &t->out_len, w.p, w.len); /* resent on retransmitted responses */
	}
}

bool wims_proxy__tsx_response(struct wims_proxy *px, const struct wims_sip_msg *m, struct wims_sip_flow *in)
{
	px->resp_in = in; /* for a response that must wait for the external AGW */
	struct wims_sip_vals it;
	struct wims_sip_via v;
	struct wims_sip_cseq cs;
	const struct wims_sip_hdr *ch = wims_sip_msg_hdr(m, WIMS_HDR_CSEQ);
	struct px_tsx *t;

	wims_sip_vals_init(&it, m, WIMS_HDR_VIA);
	if (!wims_sip_vals_next(&it) || wims_sip_via_parse(&v, it.value) || !ch || wims_sip_cseq_parse(&cs, ch->value))
		return false;
	t = find_client(px, v.branch);
	if (!t)
		return false;
	if (cs.method_id == WIMS_SIP_CANCEL && t->method == WIMS_SIP_INVITE)
		return true; /* the answer to our CANCEL: nothing to do */
	if (cs.method_id != t->method && !(t->method == WIMS_SIP_OTHER && cs.method_id == WIMS_SIP_OTHER))
		return false;

	if (m->status < 200) {
		if (t->done)
			return true;
		if (m->status > t->down_status)
			t->down_status = m->status;
		if (t->method == WIMS_SIP_INVITE) {
			uv_timer_stop(&t->t_retr); /* A stops, B no longer applies */
			if (!t->cancelled) /* after our CANCEL, t_to waits for the final response */
				uv_timer_stop(&t->t_to);
			if (m->status > 100)
				uv_timer_start(&t->t_c, on_timer_c, (uint64_t)px->conf->sip_timer_c_s * 1000, 0);
		} else if (t->down.proto == WIMS_SIP_UDP) {
			t->retr_ms = px->t2;
		}
		if (t->cancel_wanted && !t->cancelled)
			send_cancel(t);
		if (m->status > 100) /* 100 is hop-by-hop */
			forward_up(t, m, &it);
		return true;
	}
	if (t->done) {
		/* RFC 6026: further 2xx to INVITE (retransmissions, forks) go up;
		 * a retransmitted non-2xx gets our ACK again */
		if (t->method == WIMS_SIP_INVITE && m->status < 300) {
			/* a fork's 2xx is another dialog to release on flow loss */
			wims_proxy__dlg_on_response(px, t, m);
			if (t->stm_id) /* a 2xx retransmitted to our re-INVITE refresh: ACK again */
				wims_proxy__stimer_done(px, t->stm_id, m->status, m);
			forward_up(t, m, &it);
		} else if (t->method == WIMS_SIP_INVITE && t->out) {
			(void)wims_proxy__send(px, &t->down, t->out, t->out_len, true);
		}
		return true;
	}
	if (m->status == 503 && failover(t, m, "answered 503"))
		return true;
	if (m->status == 422 && retry_422(t, m))
		return true;
	t->down_status = m->status;
	if (t->method == WIMS_SIP_INVITE && m->status >= 300)
		ack_non2xx(t, m);
	if (t->method == WIMS_SIP_INVITE && m->status < 300)
		wims_proxy__dlg_on_response(px, t, m);
	forward_up(t, m, &it);
	uint64_t stm_id = t->stm_id;
	finish_up(t);
	if (stm_id)
		wims_proxy__stimer_done(px, stm_id, m->status, m);
	return true;
}

/* ---- flows that went away ---- */

struct gone_ctx {
	struct wims_sip_flow *f;
	unsigned code;
	struct px_tsx *list[256];
	size_t n;
};

static void collect_gone(struct wims_proxy *px, struct gone_ctx *g)
{
	for (struct px_tsx *t = px->tsx_active; t && g->n < 256; t = t->a_next)
		if (t->down.flow == g->f || t->up.flow == g->f)
			g->list[g->n++] = t;
}

void wims_proxy__tsx_flow_gone(struct wims_proxy *px, struct wims_sip_flow *f, unsigned code)
{
	struct gone_ctx *g = malloc(sizeof(*g));

	if (!g)
		return;
	do {
		g->f = f;
		g->code = code;
		g->n = 0;
		collect_gone(px, g);
		for (size_t i = 0; i < g->n; i++) {
			struct px_tsx *t = g->list[i];
			if (t->down.flow == f) {
				/* RFC 5626 §5.3: the flow is gone; 430 when it was an outbound flow */
				if (!px_proto_is_ws(t->down.proto)) /* §16.9: the connection to the core failed */
					wims_proxy__tsx_reply(t, 503, "Next Hop Connection Lost");
				else
					wims_proxy__tsx_reply(t, t->flow_outbound ? 430 : code, NULL);
			} else {
				/* the requester is gone: stop what it asked for */
				if (t->method == WIMS_SIP_INVITE) {
					if (t->down_status >= 100)
						send_cancel(t);
					else
						t->cancel_wanted = true;
				}
				wims_proxy__hop_clear(&t->up);
				t->up.proto = WIMS_SIP_WS;
				t->done = t->method != WIMS_SIP_INVITE;
				if (t->done) {
					active_del(t);
					tsx_linger(t);
				}
			}
		}
	} while (g->n == 256);
	free(g);
}

static bool destroy_cb(struct wims_hnode *n, void *arg)
{
	tsx_destroy(wims_container_of(n, struct px_tsx, hs));
	return false;
}

void wims_proxy__tsx_free_all(struct wims_proxy *px)
{
	wims_hash_walk(&px->tsx_srv, destroy_cb, NULL);
}

int wims_proxy__tsx_local(struct wims_proxy *px, const struct px_hop *down, const char *buf, size_t len,
			  const char *branch)
{
	return wims_proxy__tsx_local_stm(px, down, buf, len, branch, 0);
}

/* The P-CSCF's own requests toward the core (a BYE for a lost flow, a
 * session refresh, PRACK/UPDATE, the reg event SUBSCRIBE) follow their
 * route set as the browser's do (pcscf.c route_hop): to a numeric top
 * Route of the transport their Via was written for. */
static void local_route_hop(const struct wims_proxy *px, const struct wims_sip_msg *m, struct px_hop *down)
{
	struct wims_sip_vals it;
	struct px_hop h;

	if (px->conf->role != WIMS_ROLE_PCSCF || down->flow)
		return;
	wims_sip_vals_init(&it, m, WIMS_HDR_ROUTE);
	if (wims_sip_vals_next(&it) && wims_proxy__hop_of_route(px, it.value, &h) && h.proto == down->proto)
		down->addr = h.addr;
}

int wims_proxy__tsx_local_stm(struct wims_proxy *px, const struct px_hop *down, const char *buf, size_t len,
			      const char *branch, uint64_t stm_id)
{
	struct wims_sip_msg *m = malloc(sizeof(*m));
	struct px_tsx *t = calloc(1, sizeof(*t));
	const char *why;
	int n, rc = -ENOMEM;

	if (!m || !t)
		goto fail;
	rc = -EBADMSG;
	if (wims_sip_msg_parse(m, buf, len, &why))
		goto fail;
	t->px = px;
	t->method = m->method_id;
	n = snprintf(t->skey, sizeof(t->skey), "local|%s", branch);
	snprintf(t->branch, sizeof(t->branch), "%s", branch);
	t->skey_len = (size_t)n;
	t->up.proto = WIMS_SIP_WS; /* nobody upstream: answers end here */
	t->stm_id = stm_id;
	t->down = *down;
	local_route_hop(px, m, &t->down);
	t->down.keep = true;
	if (t->down.flow)
		wims_sip_flow_ref(t->down.flow);
	rc = -ENOMEM;
	if (store(&t->out, &t->out_len, buf, len))
		goto fail;
	free(m);
	tsx_init_timers(t);
	wims_hash_insert(&px->tsx_srv, &t->hs, wims_hash_bytes(t->skey, t->skey_len));
	wims_hash_insert(&px->tsx_cli, &t->hc, wims_hash_str(wims_str_c(t->branch)));
	active_add(t);
	px->st.tsx_open = px->tsx_srv.n;
	if (wims_proxy__send(px, &t->down, t->out, t->out_len, true) == 0)
		px->st.requests_out++;
	if (t->down.proto == WIMS_SIP_UDP) {
		t->retr_ms = px->t1;
		uv_timer_start(&t->t_retr, on_retr, t->retr_ms, 0);
	}
	uv_timer_start(&t->t_to, on_timeout, 64ULL * px->t1, 0);
	return 0;
fail:
	if (t)
		free(t->out);
	free(t);
	free(m);
	return rc;
}

size_t wims_proxy__tsx_pending(const struct wims_proxy *px)
{
	return px->tsx_active_n;
}
