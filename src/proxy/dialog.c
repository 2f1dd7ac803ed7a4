/* Dialogs that ran over a browser's flow.  When the WebSocket connection of
 * a browser is lost, its sessions are released toward the core with BYE
 * (TS 23.228 §5.10.3.1; RFC 5626 leaves the far end waiting otherwise).
 * A dialog is learnt from the 2xx to its INVITE and forgotten on BYE; what
 * the BYE needs is prepared then, so that releasing needs no parsing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/log.h"
#include "proxy/precond.h"
#include "proxy/px.h"

struct px_dialog {
	struct wims_hnode hn; /* by Call-ID */
	struct wims_hnode hf; /* px->dialogs_by_flow, by flow_id */
	uint64_t flow_id;
	char call_id[256];
	char tag_a[128], tag_b[128];
	uint32_t cseq;        /* the browser's last CSeq in this dialog */
	char *reqline;        /* "BYE <remote target> SIP/2.0\r\n" */
	char *rest;           /* Route, From, To, Call-ID lines */
	size_t routes_len;    /* the Route lines at the start of rest: the route set toward the core */
	/* the same toward the browser (network de-registration, TS 24.229 §5.2.5.2) */
	uint32_t cseq_core;   /* the core side's last CSeq in this dialog */
	char *b_reqline;      /* "BYE <browser's Contact> SIP/2.0\r\n" */
	char *b_rest;         /* From (core party), To (browser), Call-ID lines */
};

static void dlg_free(struct wims_proxy *px, struct px_dialog *d)
{
	wims_hash_remove(&px->dialogs, &d->hn);
	wims_hash_remove(&px->dialogs_by_flow, &d->hf);
	px->st.dialogs_open = px->dialogs.n;
	free(d->reqline);
	free(d->rest);
	free(d->b_reqline);
	free(d->b_rest);
	free(d);
}

/* The dialog cid/t1/t2 as seen on the browser flow flow_id (0: any flow: a
 * call between two browsers of one wimsd has a record per pass). */
static struct px_dialog *dlg_find(struct wims_proxy *px, struct wims_str cid, struct wims_str t1, struct wims_str t2,
				  uint64_t flow_id)
{
	for (struct wims_hnode *n = wims_hash_find(&px->dialogs, wims_hash_str(cid)); n; n = wims_hash_next_same(n)) {
		struct px_dialog *d = wims_container_of(n, struct px_dialog, hn);
		if (!wims_str_eqc(cid, d->call_id) || (flow_id && d->flow_id != flow_id))
			continue;
		if ((wims_str_eqc(t1, d->tag_a) && wims_str_eqc(t2, d->tag_b)) ||
		    (wims_str_eqc(t1, d->tag_b) && wims_str_eqc(t2, d->tag_a)))
			return d;
	}
	return NULL;
}

static char *dup_str(struct wims_str s)
{
	char *c = malloc(s.l + 1);

	if (c) {
		memcpy(c, s.p, s.l);
		c[s.l] = 0;
	}
	return c;
}

/* Remote target: the URI of the first Contact of m. */
static int contact_uri(const struct wims_sip_msg *m, struct wims_str *uri)
{
	struct wims_sip_vals it;
	struct wims_sip_addr a;

	wims_sip_vals_init(&it, m, WIMS_HDR_CONTACT);
	if (!wims_sip_vals_next(&it) || wims_sip_addr_parse(&a, it.value) || a.star)
		return -EBADMSG;
	*uri = a.uri;
	return 0;
}

/* Record-Route values of m as Route lines, reversed for the caller's side
 * (RFC 3261 §12.1.2), toward the core: the leading entries that are ours
 * (this side's, which wims pops from the browser's requests) are left out,
 * since the request starts here.  Ours further down stay: when both parties
 * are browsers, the other one's flow is reached through them. */
static void route_set(struct wims_proxy *px, struct wims_wbuf *w, const struct wims_sip_msg *m, bool reverse)
{
	struct wims_str v[WIMS_SIP_MAX_ROUTE];
	struct wims_sip_vals it;
	size_t n = 0, i = 0;

	wims_sip_vals_init(&it, m, WIMS_HDR_RECORD_ROUTE);
	while (n < WIMS_SIP_MAX_ROUTE && wims_sip_vals_next(&it))
		v[n++] = it.value;
	while (i < n && wims_proxy__route_is_us(px, v[reverse ? n - 1 - i : i]))
		i++;
	for (; i < n; i++) {
		struct wims_str r = v[reverse ? n - 1 - i : i];
		wims_wbuf_printf(w, "Route: %.*s\r\n", (int)r.l, r.p);
	}
}

/* What a BYE toward the browser needs: its Contact (in its INVITE, or in
 * its 2xx), the core party as From and the browser as To. */
static void browser_side(struct px_dialog *d, struct px_tsx *t, const struct wims_sip_msg *resp, bool browser_uac)
{
	const struct wims_sip_hdr *from = wims_sip_msg_hdr(resp, WIMS_HDR_FROM);
	const struct wims_sip_hdr *to = wims_sip_msg_hdr(resp, WIMS_HDR_TO);
	const struct wims_sip_hdr *ch = wims_sip_msg_hdr(resp, WIMS_HDR_CSEQ);
	struct wims_sip_msg *req = NULL;
	struct wims_sip_cseq cs;
	struct wims_str target;
	const char *why;
	char mem[2048];
	struct wims_wbuf w;

	wims_wbuf_init(&w, mem, sizeof(mem));
	if (browser_uac) {
		req = malloc(sizeof(*req));
		if (!req || !t->req || wims_sip_msg_parse(req, t->req, t->req_len, &why) || contact_uri(req, &target))
			goto out;
		wims_wbuf_printf(&w, "From: %.*s\r\nTo: %.*s\r\n", (int)to->value.l, to->value.p, (int)from->value.l,
				 from->value.p);
	} else {
		if (contact_uri(resp, &target))
			goto out;
		wims_wbuf_printf(&w, "From: %.*s\r\nTo: %.*s\r\n", (int)from->value.l, from->value.p,
				 (int)to->value.l, to->value.p);
		if (ch && wims_sip_cseq_parse(&cs, ch->value) == 0)
			d->cseq_core = cs.num;
	}
	wims_wbuf_printf(&w, "Call-ID: %s\r\n", d->call_id);
	if (w.err || target.l > 1024)
		goto out;
	char line[1200];
	snprintf(line, sizeof(line), "BYE %.*s SIP/2.0\r\n", (int)target.l, target.p);
	d->b_reqline = dup_str(wims_str_c(line));
	d->b_rest = dup_str(wims_wbuf_str(&w));
out:
	free(req);
}

void wims_proxy__dlg_on_response(struct wims_proxy *px, struct px_tsx *t, const struct wims_sip_msg *resp)
{
	struct wims_sip_msg *req = NULL;
	const struct wims_sip_hdr *cid = wims_sip_msg_hdr(resp, WIMS_HDR_CALL_ID);
	const struct wims_sip_hdr *from = wims_sip_msg_hdr(resp, WIMS_HDR_FROM);
	const struct wims_sip_hdr *to = wims_sip_msg_hdr(resp, WIMS_HDR_TO);
	struct wims_str ftag = wims_sip_msg_tag(resp, WIMS_HDR_FROM), ttag = wims_sip_msg_tag(resp, WIMS_HDR_TO);
	bool browser_uac = px_proto_is_ws(t->up.proto) && t->up.flow;
	uint64_t flow_id = browser_uac ? wims_sip_flow_id(t->up.flow) : t->flow_token_id;
	struct wims_str target;
	struct px_dialog *d;
	char mem[8192];
	struct wims_wbuf w;
	const char *why;
	size_t routes_len = 0;

	if (!flow_id || !cid || !from || !to || !ttag.l || !ftag.l)
		return;
	wims_wbuf_init(&w, mem, sizeof(mem));
	if (browser_uac) {
		if (contact_uri(resp, &target))
			return;
		route_set(px, &w, resp, true);
		routes_len = w.len;
		wims_wbuf_printf(&w, "From: %.*s\r\nTo: %.*s\r\n", (int)from->value.l, from->value.p,
				 (int)to->value.l, to->value.p);
	} else {
		req = malloc(sizeof(*req));
		if (!req || !t->req || wims_sip_msg_parse(req, t->req, t->req_len, &why) ||
		    contact_uri(req, &target))
			goto out;
		route_set(px, &w, req, false);
		routes_len = w.len;
		wims_wbuf_printf(&w, "From: %.*s\r\nTo: %.*s\r\n", (int)to->value.l, to->value.p,
				 (int)from->value.l, from->value.p);
	}
	wims_wbuf_printf(&w, "Call-ID: %.*s\r\n", (int)cid->value.l, cid->value.p);
	if (w.err)
		goto out;
	d = dlg_find(px, cid->value, ftag, ttag, flow_id);
	if (!d) {
		d = calloc(1, sizeof(*d));
		if (!d || wims_str_copy(d->call_id, sizeof(d->call_id), cid->value) ||
		    wims_str_copy(d->tag_a, sizeof(d->tag_a), ftag) || wims_str_copy(d->tag_b, sizeof(d->tag_b), ttag)) {
			free(d);
			goto out;
		}
		d->flow_id = flow_id;
		if (browser_uac) {
			struct wims_sip_cseq cs;
			const struct wims_sip_hdr *ch = wims_sip_msg_hdr(resp, WIMS_HDR_CSEQ);
			if (ch && wims_sip_cseq_parse(&cs, ch->value) == 0)
				d->cseq = cs.num;
		}
		wims_hash_insert(&px->dialogs, &d->hn, wims_hash_str(cid->value));
		wims_hash_insert(&px->dialogs_by_flow, &d->hf, flow_id);
		px->st.dialogs_open = px->dialogs.n;
	}
	free(d->reqline);
	char line[1200];
	snprintf(line, sizeof(line), "BYE %.*s SIP/2.0\r\n", (int)target.l, target.p);
	d->reqline = dup_str(wims_str_c(line));
	/* RFC 3261 §12.2.1.2, §12.2.2: a target refresh (re-INVITE) updates the
	 * remote target only; the route set is the one the dialog began with */
	if (!d->rest) {
		d->rest = dup_str(wims_wbuf_str(&w));
		d->routes_len = routes_len;
	}
	if (!d->b_rest)
		browser_side(d, t, resp, browser_uac);
	if (!d->reqline || !d->rest)
		dlg_free(px, d);
out:
	free(req);
}

struct wims_str wims_proxy__dlg_routes(struct wims_proxy *px, const struct wims_sip_msg *m, uint64_t flow_id)
{
	const struct wims_sip_hdr *cid = wims_sip_msg_hdr(m, WIMS_HDR_CALL_ID);
	struct wims_str ttag = wims_sip_msg_tag(m, WIMS_HDR_TO);
	struct px_dialog *d;

	if (!cid || !ttag.l || px->dialogs.n == 0)
		return WIMS_STR_NULL;
	d = dlg_find(px, cid->value, wims_sip_msg_tag(m, WIMS_HDR_FROM), ttag, flow_id);
	return d && d->rest ? wims_str_make(d->rest, d->routes_len) : WIMS_STR_NULL;
}

bool wims_proxy__dlg_party(struct wims_proxy *px, const struct wims_sip_msg *m, uint64_t flow_id)
{
	const struct wims_sip_hdr *cid = wims_sip_msg_hdr(m, WIMS_HDR_CALL_ID);
	struct wims_str ftag = wims_sip_msg_tag(m, WIMS_HDR_FROM), ttag = wims_sip_msg_tag(m, WIMS_HDR_TO);

	if (!cid || !ttag.l || px->dialogs.n == 0 || !dlg_find(px, cid->value, ftag, ttag, 0))
		return true; /* not a dialog wims saw being made */
	return dlg_find(px, cid->value, ftag, ttag, flow_id) != NULL;
}

void wims_proxy__dlg_on_request(struct wims_proxy *px, const struct wims_sip_msg *m, bool from_browser,
				uint64_t flow_id)
{
	const struct wims_sip_hdr *cid = wims_sip_msg_hdr(m, WIMS_HDR_CALL_ID);
	struct wims_str ttag = wims_sip_msg_tag(m, WIMS_HDR_TO);
	struct px_dialog *d;

	if (!cid || !ttag.l || px->dialogs.n == 0)
		return;
	d = dlg_find(px, cid->value, wims_sip_msg_tag(m, WIMS_HDR_FROM), ttag, flow_id);
	if (!d)
		return;
	if (m->method_id == WIMS_SIP_BYE) {
		dlg_free(px, d);
		return;
	}
	struct wims_sip_cseq cs;
	const struct wims_sip_hdr *ch = wims_sip_msg_hdr(m, WIMS_HDR_CSEQ);
	if (ch && wims_sip_cseq_parse(&cs, ch->value) == 0) {
		uint32_t *last = from_browser ? &d->cseq : &d->cseq_core;
		if (cs.num > *last)
			*last = cs.num;
	}
}

static void release(struct wims_proxy *px, struct px_dialog *d, const char *why);

/* The BYE toward the browser of a dialog the network ended. */
static void release_browser(struct wims_proxy *px, struct px_dialog *d, const char *why)
{
	struct wims_sip_flow *wf = wims_sip_tport_flow_find(px->tp, d->flow_id);
	char mem[4096], branch[PX_BRANCH_MAX];
	struct px_hop hop = {0};
	struct wims_wbuf w;

	if (!d->b_reqline || !d->b_rest || !wf || !wims_sip_flow_alive(wf))
		return;
	hop.proto = wims_sip_flow_proto(wf);
	hop.addr = *wims_sip_flow_peer(wf);
	hop.flow = wf;
	px->seq++;
	snprintf(branch, sizeof(branch), "z9hG4bKw00000000.%llxb", (unsigned long long)px->seq);
	wims_wbuf_init(&w, mem, sizeof(mem));
	wims_wbuf_puts(&w, d->b_reqline);
	wims_proxy__via_line(px, &w, hop.proto, wims_str_c(branch));
	wims_wbuf_puts(&w, "Max-Forwards: 70\r\n");
	wims_wbuf_puts(&w, d->b_rest);
	wims_wbuf_printf(&w, "CSeq: %u BYE\r\nReason: SIP;cause=480;text=\"%s\"\r\nContent-Length: 0\r\n\r\n",
			 d->cseq_core + 1, why);
	if (!w.err && wims_proxy__tsx_local(px, &hop, w.p, w.len, branch) == 0)
		wims_log(WIMS_LOG_INFO, "dialog %s released toward the browser: %s", d->call_id, why);
}

static void release(struct wims_proxy *px, struct px_dialog *d, const char *why)
{
	char mem[8192], branch[PX_BRANCH_MAX];
	struct wims_wbuf w;
	struct px_hop hop = {.proto = px->next_proto, .addr = px->next_addr};

	px->seq++;
	snprintf(branch, sizeof(branch), "z9hG4bKw00000000.%llxb", (unsigned long long)px->seq);
	wims_wbuf_init(&w, mem, sizeof(mem));
	wims_wbuf_puts(&w, d->reqline);
	wims_proxy__via_line(px, &w, hop.proto, wims_str_c(branch));
	wims_wbuf_puts(&w, "Max-Forwards: 70\r\n");
	wims_wbuf_puts(&w, d->rest);
	/* past the numbers stimer.c used in the browser's name (session refreshes) */
	uint32_t st_cseq = wims_proxy__stimer_cseq_floor(px, wims_str_c(d->call_id), wims_str_c(d->tag_a), d->flow_id);
	if (st_cseq > d->cseq)
		d->cseq = st_cseq;
	/* past the numbers precond.c used in this dialog itself */
	wims_wbuf_printf(&w, "CSeq: %u BYE\r\n",
			 d->cseq + 1 + wims_proxy__pc_cseq_offset(px, wims_str_c(d->call_id), wims_str_c(d->tag_a), d->flow_id));
	/* RFC 3326 */
	wims_wbuf_printf(&w, "Reason: SIP;cause=480;text=\"%s\"\r\nContent-Length: 0\r\n\r\n", why);
	wims_proxy__media_delete(px, wims_str_c(d->call_id), d->flow_id);
	if (w.err)
		return;
	if (wims_proxy__tsx_local(px, &hop, w.p, w.len, branch) == 0)
		px->st.dialogs_released++;
	wims_log(WIMS_LOG_INFO, "dialog %s released toward the core: %s", d->call_id, why);
}

/* Release every dialog of flow_id (found by flow, not by a walk over all:
 * a reconnect storm of thousands of browsers stays linear). */
static void release_flow(struct wims_proxy *px, uint64_t flow_id, const char *why, bool browser)
{
	struct wims_hnode *n;

	while ((n = wims_hash_find(&px->dialogs_by_flow, flow_id))) {
		struct px_dialog *d = wims_container_of(n, struct px_dialog, hf);
		if (browser)
			release_browser(px, d, why);
		release(px, d, why);
		dlg_free(px, d);
	}
}

void wims_proxy__dlg_flow_gone(struct wims_proxy *px, uint64_t flow_id)
{
	release_flow(px, flow_id, "WebSocket connection lost", false);
	wims_proxy__stimer_flow_gone(px, flow_id);
}

static bool free_cb(struct wims_hnode *n, void *arg)
{
	dlg_free(arg, wims_container_of(n, struct px_dialog, hn));
	return false;
}

void wims_proxy__dlg_free_all(struct wims_proxy *px)
{
	wims_hash_walk(&px->dialogs, free_cb, px);
}

void wims_proxy__dlg_release_flow(struct wims_proxy *px, uint64_t flow_id, const char *event)
{
	char why[96];

	snprintf(why, sizeof(why), "De-registered by the network (%s)", event);
	release_flow(px, flow_id, why, true);
	wims_proxy__stimer_flow_gone(px, flow_id); /* released: no refresh or expiry any more */
}
