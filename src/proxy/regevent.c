/* The P-CSCF's subscriptions to the reg event package (TS 24.229 §5.2.3,
 * §5.2.5.2; RFC 3680, RFC 6665), [pcscf] reg_subscribe = yes.
 *
 *   wims (P-CSCF)                                   S-CSCF
 *     │── SUBSCRIBE sip:IMPU  Event: reg ─────────────▶│  after the first 2xx to REGISTER
 *     │◀──────────────────────────────────── 200 ──────│
 *     │◀── NOTIFY (reginfo+xml) ───────────────────────│  full state, then every change
 *     │── 200 ────────────────────────────────────────▶│
 *     │── SUBSCRIBE (in dialog) ──────────────────────▶│  refresh at 3/4 of the granted time
 *     │◀── NOTIFY (all terminated) ────────────────────│  the IMPU's last flow de-registered:
 *     │── 200 ────────────────────────────────────────▶│  a 24.229 S-CSCF ends it itself,
 *     │── SUBSCRIBE Expires: 0 ───────────────────────▶│  else wims unsubscribes
 *
 * One subscription per IMPU (the default public identity of the flows that
 * registered it), shared by every browser flow registered with it.  wims is
 * the UAC: each SUBSCRIBE goes out through a local client transaction
 * (wims_proxy__tsx_local, as the BYE of a released dialog) and its response
 * comes back through wims_proxy__regev_response.  A NOTIFY telling that a
 * registration, or a contact the P-CSCF registered for one of those flows,
 * is terminated makes the role de-register that flow (ops->dereg).
 *
 * The SUBSCRIBE is sent to [pcscf] scscf without a preloaded Route: the
 * Service-Route is for the UE's originating requests (its "orig" entry),
 * while this request is addressed to the IMPU and reaches the serving
 * S-CSCF as a terminating request does (through the I-CSCF, TS 24.228
 * §6.6).  In-dialog requests carry the route set of the dialog and go to
 * the same next hop.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "proxy/px.h"
#include "proxy/reginfo.h"

#define RE_MAX_FLOWS 16        /* browser flows sharing one subscription */
#define RE_RETRY_MS 30000      /* after a failed SUBSCRIBE */
#define RE_CLOSE_WAIT_T1 8     /* T1s to wait for the notifier to end a de-registered IMPU's subscription */
#define RE_CONTACT_USER "wims-regevent"

static struct wims_ratelimit rl_re = WIMS_RATELIMIT_INIT(10000, 10);

struct px_regsub;

/* One browser flow's membership of a subscription, in re->by_flow under the
 * flow's id (hn.key): the flow's de-registration finds its subscriptions in O(1). */
struct re_fref {
	struct wims_hnode hn;
	struct px_regsub *s;
};

struct px_regsub {
	struct wims_hnode hn;     /* re->subs, by IMPU */
	struct wims_hnode hn_cid; /* re->by_cid, by Call-ID: NOTIFYs and answers find it in O(1) */
	struct px_regev *re;
	char impu[256];
	char call_id[128], ftag[24];
	char ttag[128];   /* remote tag; "" until the 2xx or the first NOTIFY */
	char *target;     /* remote target (Contact of the 2xx/NOTIFY); NULL: the IMPU */
	char *route;      /* the dialog's route set as Route lines; NULL: none */
	uint32_t cseq;
	char branch[PX_BRANCH_MAX]; /* of the SUBSCRIBE waiting for its answer; "" none */
	uint32_t asked;             /* its Expires */
	uint32_t want;              /* the Expires to ask for: [pcscf] reg_subscribe_expires, or a 423's Min-Expires */
	bool ending;                /* Expires: 0 sent (or to be sent) */
	bool closing;               /* the last flow de-registered: the notifier should end it (sub_close) */
	uint64_t resub_ms;          /* loop time of the last immediate re-subscription (sub_resubscribe) */
	uint64_t ue_flow;           /* ops->ue_lines: the flow whose UE subscribes */
	bool unsubscribed;          /* its 2xx came: kept a while for the final NOTIFY */
	struct re_fref fref[RE_MAX_FLOWS]; /* the browser flows sharing it: flow_of(s, i) */
	size_t n_flows;
	uv_timer_t timer; /* refresh, answer timeout, retry */
};

struct px_regev {
	struct wims_proxy *px;
	const struct px_regev_ops *ops;
	uint32_t expires; /* what a SUBSCRIBE asks for */
	struct wims_hash subs;
	struct wims_hash by_cid;
	struct wims_hash by_flow; /* struct re_fref */
	uint64_t seq;
};

static char *dup_str(struct wims_str s)
{
	char *c = s.l ? malloc(s.l + 1) : NULL;

	if (c) {
		memcpy(c, s.p, s.l);
		c[s.l] = 0;
	}
	return c;
}

int wims_proxy__regev_alloc(struct px_regev **rp, struct wims_proxy *px, const struct px_regev_ops *ops,
			    uint32_t expires)
{
	struct px_regev *re = calloc(1, sizeof(*re));

	if (!re)
		return -ENOMEM;
	if (wims_hash_init(&re->subs, 64)) {
		free(re);
		return -ENOMEM;
	}
	if (wims_hash_init(&re->by_cid, 64) || wims_hash_init(&re->by_flow, 64)) {
		wims_hash_fini(&re->by_cid);
		wims_hash_fini(&re->subs);
		free(re);
		return -ENOMEM;
	}
	re->px = px;
	re->ops = ops;
	re->expires = expires;
	*rp = re;
	return 0;
}

/* ---- lifetime of a subscription ---- */

static void sub_closed(uv_handle_t *h)
{
	struct px_regsub *s = h->data;

	free(s->target);
	free(s->route);
	free(s);
}

static uint64_t flow_of(const struct px_regsub *s, size_t i)
{
	return s->fref[i].hn.key;
}

static void flow_add(struct px_regsub *s, uint64_t id)
{
	size_t i = s->n_flows++;

	s->fref[i].s = s;
	wims_hash_insert(&s->re->by_flow, &s->fref[i].hn, id);
}

static void flow_del(struct px_regsub *s, size_t i)
{
	size_t last = s->n_flows - 1;

	wims_hash_remove(&s->re->by_flow, &s->fref[i].hn);
	if (i != last) { /* the last one moves into the hole */
		uint64_t id = flow_of(s, last);
		wims_hash_remove(&s->re->by_flow, &s->fref[last].hn);
		wims_hash_insert(&s->re->by_flow, &s->fref[i].hn, id);
	}
	s->n_flows--;
}

static void sub_free(struct px_regsub *s)
{
	while (s->n_flows)
		flow_del(s, s->n_flows - 1);
	wims_hash_remove(&s->re->subs, &s->hn);
	wims_hash_remove(&s->re->by_cid, &s->hn_cid);
	uv_close((uv_handle_t *)&s->timer, sub_closed);
}

static bool free_cb(struct wims_hnode *n, void *arg)
{
	(void)arg;
	sub_free(wims_container_of(n, struct px_regsub, hn));
	return false;
}

void wims_proxy__regev_free(struct px_regev *re)
{
	if (!re)
		return;
	wims_hash_walk(&re->subs, free_cb, NULL);
	wims_hash_fini(&re->subs);
	wims_hash_fini(&re->by_cid);
	wims_hash_fini(&re->by_flow);
	free(re);
}

static struct px_regsub *sub_find(struct px_regev *re, const char *impu)
{
	for (struct wims_hnode *n = wims_hash_find(&re->subs, wims_hash_stri(wims_str_c(impu))); n;
	     n = wims_hash_next_same(n)) {
		struct px_regsub *s = wims_container_of(n, struct px_regsub, hn);
		if (!s->ending && strcasecmp(s->impu, impu) == 0)
			return s;
	}
	return NULL;
}

static struct px_regsub *sub_by_call_id(struct px_regev *re, struct wims_str cid)
{
	for (struct wims_hnode *n = wims_hash_find(&re->by_cid, wims_hash_str(cid)); n; n = wims_hash_next_same(n)) {
		struct px_regsub *s = wims_container_of(n, struct px_regsub, hn_cid);
		if (wims_str_eqc(cid, s->call_id))
			return s;
	}
	return NULL;
}

/* A new dialog (initial SUBSCRIBE, or again after a failure). */
static void sub_new_dialog(struct px_regsub *s)
{
	struct px_regev *re = s->re;

	if (s->call_id[0])
		wims_hash_remove(&re->by_cid, &s->hn_cid);
	re->seq++;
	snprintf(s->call_id, sizeof(s->call_id), "re%llx.%llx@%s", (unsigned long long)re->seq,
		 (unsigned long long)wims_hash_bytes(re->px->secret, 16) & 0xffffffffu, re->px->adv_host);
	snprintf(s->ftag, sizeof(s->ftag), "r%llx", (unsigned long long)(wims_hash_mix(re->seq, (uintptr_t)s) &
									 0xffffffffffULL));
	wims_hash_insert(&re->by_cid, &s->hn_cid, wims_hash_str(wims_str_c(s->call_id)));
	s->ttag[0] = 0;
	free(s->target);
	free(s->route);
	s->target = s->route = NULL;
}

/* ---- sending SUBSCRIBE ---- */

static void on_timer(uv_timer_t *h);
static void sub_end(struct px_regsub *s);

static void write_subscribe(struct px_regsub *s, struct wims_wbuf *w, uint32_t expires)
{
	struct wims_proxy *px = s->re->px;
	const char *tp = px->next_proto == WIMS_SIP_TCP ? ";transport=tcp"
			 : px->next_proto == WIMS_SIP_TLS ? ";transport=tls"
							  : "";
	uint16_t port = px_adv_port(px, px->next_proto);
	char icid[96] = "";

	const struct px_regev_ops *ops = s->re->ops;

	wims_wbuf_printf(w, "SUBSCRIBE %s SIP/2.0\r\n", s->target ? s->target : s->impu);
	wims_proxy__via_line(px, w, px->next_proto, wims_str_c(s->branch));
	wims_wbuf_puts(w, "Max-Forwards: 70\r\n");
	if (s->route)
		wims_wbuf_puts(w, s->route);
	if (ops->ue_lines) {
		/* TS 24.229 §5.1.1.3: the UE's own subscription, From and To its IMPU,
		 * sent through the P-CSCF with the Service-Route (ue_lines) */
		ops->ue_lines(px, s->ue_flow, !s->ttag[0], w);
		wims_wbuf_printf(w, "From: <%s>;tag=%s\r\n", s->impu, s->ftag);
	} else {
		/* TS 24.229 §5.2.3: From and P-Asserted-Identity are the P-CSCF's SIP URI */
		wims_wbuf_printf(w, "From: <sip:%s:%u>;tag=%s\r\n", px->adv_host, port, s->ftag);
		wims_wbuf_printf(w, "Contact: <sip:" RE_CONTACT_USER "@%s:%u%s>\r\n", px->adv_host, port, tp);
		wims_wbuf_printf(w, "P-Asserted-Identity: <sip:%s:%u>\r\n", px->adv_host, port);
		ops->icid(px, icid, sizeof(icid));
		wims_wbuf_printf(w, "P-Charging-Vector: icid-value=%s;icid-generated-at=%s\r\n", icid, px->adv_host);
	}
	wims_wbuf_printf(w, "To: <%s>%s%s\r\n", s->impu, s->ttag[0] ? ";tag=" : "", s->ttag);
	wims_wbuf_printf(w, "Call-ID: %s\r\nCSeq: %u SUBSCRIBE\r\n", s->call_id, s->cseq);
	wims_wbuf_printf(w, "Event: reg\r\nAccept: application/reginfo+xml\r\nExpires: %u\r\n", expires);
	wims_wbuf_puts(w, "Content-Length: 0\r\n\r\n");
}

static void sub_send(struct px_regsub *s, uint32_t expires)
{
	struct wims_proxy *px = s->re->px;
	struct px_hop hop = {.proto = px->next_proto, .addr = px->next_addr};
	char mem[4096];
	struct wims_wbuf w;

	s->re->seq++;
	s->cseq++;
	snprintf(s->branch, sizeof(s->branch), "z9hG4bKwr%llx.%x", (unsigned long long)s->re->seq, s->cseq);
	s->asked = expires;
	wims_wbuf_init(&w, mem, sizeof(mem));
	write_subscribe(s, &w, expires);
	int rc = w.err ? -ENOSPC : wims_proxy__tsx_local(px, &hop, w.p, w.len, s->branch);
	if (rc) {
		wims_log_rl(&rl_re, WIMS_LOG_WARN, "reg event: SUBSCRIBE for %s not sent (%s)", s->impu, strerror(-rc));
		wims_log(WIMS_LOG_DEBUG, "reg event: %.*s", (int)w.len, w.p);
		s->branch[0] = 0;
		uv_timer_start(&s->timer, on_timer, RE_RETRY_MS, 0);
		return;
	}
	/* the transaction's timer F ends at 64*T1; no answer by then is a failure */
	uv_timer_start(&s->timer, on_timer, 64ULL * px->t1 + 1000, 0);
}

static void on_timer(uv_timer_t *h)
{
	struct px_regsub *s = h->data;

	if (s->unsubscribed) { /* the final NOTIFY did not come: forget it anyway */
		sub_free(s);
		return;
	}
	if (s->closing) {
		wims_log(WIMS_LOG_INFO, "reg event: the notifier did not end the subscription to %s", s->impu);
		sub_end(s);
		return;
	}
	if (s->branch[0]) { /* no final answer */
		wims_log_rl(&rl_re, WIMS_LOG_WARN, "reg event: SUBSCRIBE for %s unanswered", s->impu);
		s->branch[0] = 0;
		if (s->ending) {
			sub_free(s);
			return;
		}
		sub_new_dialog(s);
		uv_timer_start(&s->timer, on_timer, RE_RETRY_MS, 0);
		return;
	}
	sub_send(s, s->ending ? 0 : s->want);
}

/* ---- the registrations of the flows ---- */

void wims_proxy__regev_flow_registered(struct px_regev *re, uint64_t flow_id, const char *impu)
{
	struct px_regsub *s;

	if (!re || !impu || strlen(impu) >= sizeof(s->impu))
		return;
	if (re->ops->ue_lines) { /* the flow's own subscription: kept while its identity stays */
		struct wims_hnode *n = wims_hash_find(&re->by_flow, flow_id);
		s = n ? wims_container_of(n, struct re_fref, hn)->s : NULL;
		if (s && strcasecmp(s->impu, impu) != 0) {
			wims_proxy__regev_flow_unregistered(re, flow_id, false);
			s = NULL;
		}
	} else {
		s = sub_find(re, impu); /* one being ended does not count: a new one */
	}
	if (s) {
		if (s->closing) { /* registered again before the notifier ended it: kept, refreshed */
			s->closing = false;
			sub_send(s, s->want);
		}
		for (size_t i = 0; i < s->n_flows; i++)
			if (flow_of(s, i) == flow_id)
				return;
		if (s->n_flows < RE_MAX_FLOWS)
			flow_add(s, flow_id);
		else
			wims_log_rl(&rl_re, WIMS_LOG_WARN,
				    "reg event: more than %u flows registered as %s: flow %llu is not released by its NOTIFYs",
				    RE_MAX_FLOWS, s->impu, (unsigned long long)flow_id);
		return;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return;
	s->re = re;
	s->ue_flow = flow_id;
	snprintf(s->impu, sizeof(s->impu), "%s", impu);
	flow_add(s, flow_id);
	uv_timer_init(re->px->loop, &s->timer);
	s->timer.data = s;
	sub_new_dialog(s);
	wims_hash_insert(&re->subs, &s->hn, wims_hash_stri(wims_str_c(impu)));
	wims_log(WIMS_LOG_INFO, "reg event: subscribing to %s", impu);
	s->want = re->expires;
	sub_send(s, s->want);
}

/* RFC 6665 §4.1.2.3: end s with Expires: 0 (at once, or after the answer
 * to a SUBSCRIBE that is out); one never established is just forgotten. */
static void sub_end(struct px_regsub *s)
{
	if (s->ending)
		return;
	s->ending = true;
	s->closing = false;
	uv_timer_stop(&s->timer);
	if (s->branch[0])
		return; /* the unsubscribe follows the answer (sub_answered) */
	if (!s->ttag[0]) {
		sub_free(s);
		return;
	}
	wims_log(WIMS_LOG_INFO, "reg event: unsubscribing from %s", s->impu);
	sub_send(s, 0);
}

/* TS 24.229 §5.4.1.4 and §5.4.2.1.2: when the UE de-registers, the S-CSCF
 * tells every watcher that the registration is terminated and ends their
 * subscriptions itself (Subscription-State: terminated).  So after the last
 * flow's de-REGISTER wims waits for that NOTIFY instead of sending an
 * unsubscribe such an S-CSCF would answer 481.  A notifier that keeps the
 * subscription (its NOTIFY is not terminated), or sends nothing within
 * RE_CLOSE_WAIT_T1 * T1, gets the unsubscribe (sub_end). */
static void sub_close(struct px_regsub *s)
{
	if (s->ending || s->closing)
		return;
	if (s->branch[0] || !s->ttag[0]) { /* a SUBSCRIBE is out, or none was answered */
		sub_end(s);
		return;
	}
	s->closing = true;
	uv_timer_start(&s->timer, on_timer, (uint64_t)RE_CLOSE_WAIT_T1 * s->re->px->t1, 0);
}

void wims_proxy__regev_flow_unregistered(struct px_regev *re, uint64_t flow_id, bool deregistered)
{
	struct wims_hnode *n;

	if (!re)
		return;
	/* the flow's memberships, one at a time: flow_del() moves nodes */
	while ((n = wims_hash_find(&re->by_flow, flow_id))) {
		struct re_fref *r = wims_container_of(n, struct re_fref, hn);
		struct px_regsub *s = r->s;
		flow_del(s, (size_t)(r - s->fref));
		if (s->n_flows == 0 && deregistered) /* the last flow of the IMPU de-registered */
			sub_close(s);
		else if (s->n_flows == 0) /* ... or left otherwise: no NOTIFY to wait for */
			sub_end(s);
	}
}

static bool drain_cb(struct wims_hnode *n, void *arg)
{
	(void)arg;
	sub_end(wims_container_of(n, struct px_regsub, hn)); /* the walk allows freeing n */
	return false;
}

void wims_proxy__regev_drain(struct px_regev *re)
{
	if (!re)
		return;
	if (re->subs.n)
		wims_log(WIMS_LOG_NOTICE, "reg event: ending %zu subscriptions", re->subs.n);
	wims_hash_walk(&re->subs, drain_cb, NULL);
}

/* ---- dialog state from responses and NOTIFYs ---- */

/* The route set from m's Record-Route: reversed for the UAC's 2xx, in order
 * for a NOTIFY (RFC 3261 §12.1.2, RFC 6665 §4.1.2.4). */
static void learn_route(struct px_regsub *s, const struct wims_sip_msg *m, bool reverse)
{
	struct wims_str v[WIMS_SIP_MAX_ROUTE];
	struct wims_sip_vals it;
	struct wims_sip_addr a;
	size_t n = 0;
	char mem[2048];
	struct wims_wbuf w;

	wims_sip_vals_init(&it, m, WIMS_HDR_RECORD_ROUTE);
	while (n < WIMS_SIP_MAX_ROUTE && wims_sip_vals_next(&it))
		v[n++] = it.value;
	wims_wbuf_init(&w, mem, sizeof(mem));
	for (size_t i = 0; i < n; i++) {
		struct wims_str r = v[reverse ? n - 1 - i : i];
		wims_wbuf_printf(&w, "Route: %.*s\r\n", (int)r.l, r.p);
	}
	free(s->route);
	s->route = w.err ? NULL : dup_str(wims_wbuf_str(&w));
	wims_sip_vals_init(&it, m, WIMS_HDR_CONTACT);
	struct wims_sip_uri u;
	if (wims_sip_vals_next(&it) && wims_sip_addr_parse(&a, it.value) == 0 && !a.star && a.uri.l < 1024 &&
	    wims_sip_uri_parse(&u, a.uri) == 0) {
		free(s->target);
		s->target = dup_str(a.uri);
	}
}

static void learn_tag(struct px_regsub *s, struct wims_str tag)
{
	if (!s->ttag[0] && wims_str_copy(s->ttag, sizeof(s->ttag), tag))
		s->ttag[0] = 0;
}

/* A 423 (Interval Too Brief): raise s->want to its Min-Expires; false when
 * that gives nothing longer than what was asked (no loop of 423s). */
static bool raise_expires(struct px_regsub *s, const struct wims_sip_msg *m)
{
	const struct wims_sip_hdr *h = wims_sip_msg_hdr(m, WIMS_HDR_MIN_EXPIRES);
	uint32_t min;

	if (!h || wims_sip_uint_parse(h->value, 0x7fffffffu, &min) || min <= s->asked)
		return false;
	s->want = min;
	return true;
}

/* The answer to a SUBSCRIBE. */
static void sub_answered(struct px_regsub *s, const struct wims_sip_msg *m)
{
	uint32_t granted = s->asked;
	const struct wims_sip_hdr *e = wims_sip_msg_hdr(m, WIMS_HDR_EXPIRES);

	s->branch[0] = 0;
	uv_timer_stop(&s->timer);
	if (m->status < 300 && !s->ttag[0]) {
		learn_tag(s, wims_sip_msg_tag(m, WIMS_HDR_TO));
		learn_route(s, m, true);
	}
	if (s->ending) {
		if (m->status < 300 && s->asked) {
			sub_send(s, 0); /* a SUBSCRIBE was out when the last flow left: now the unsubscribe */
		} else if (m->status < 300) {
			/* RFC 6665 §4.1.2.3: the notifier ends with a NOTIFY (terminated),
			 * which gets its 200, not a 481 */
			s->unsubscribed = true;
			uv_timer_start(&s->timer, on_timer, 64ULL * s->re->px->t1, 0);
		} else {
			sub_free(s);
		}
		return;
	}
	if (m->status == 423 && raise_expires(s, m)) {
		/* RFC 6665 §4.1.2.1 / RFC 3261 §10.3: ask again for at least Min-Expires */
		wims_log(WIMS_LOG_NOTICE, "reg event: the notifier wants at least %u s for %s: subscribing again",
			 s->want, s->impu);
		sub_send(s, s->want);
		return;
	}
	if (m->status >= 300) {
		wims_log_rl(&rl_re, WIMS_LOG_WARN, "reg event: SUBSCRIBE for %s refused: %u", s->impu, m->status);
		sub_new_dialog(s);
		uv_timer_start(&s->timer, on_timer, RE_RETRY_MS, 0);
		return;
	}
	if (e && wims_sip_uint_parse(e->value, 0xffffffffu, &granted))
		granted = s->asked;
	if (granted == 0) { /* the notifier ended it at once */
		sub_new_dialog(s);
		uv_timer_start(&s->timer, on_timer, RE_RETRY_MS, 0);
		return;
	}
	/* RFC 6665 §4.1.2.2: refresh before it runs out */
	uv_timer_start(&s->timer, on_timer, (uint64_t)granted * 750, 0);
	wims_log(WIMS_LOG_INFO, "reg event: subscribed to %s for %u s", s->impu, granted);
}

bool wims_proxy__regev_response(struct px_regev *re, const struct px_tsx *t, const struct wims_sip_msg *m)
{
	const struct wims_sip_hdr *cid = wims_sip_msg_hdr(m, WIMS_HDR_CALL_ID);
	struct px_regsub *s;

	if (!re || t->method != WIMS_SIP_SUBSCRIBE || t->up.flow || !cid)
		return false;
	s = sub_by_call_id(re, cid->value);
	if (!s || !s->branch[0] || strcmp(s->branch, t->branch) != 0)
		return false;
	if (m->status >= 200)
		sub_answered(s, m);
	return true;
}

/* ---- NOTIFY ---- */

/* The flows of s that the registration document ri says are gone. */
static size_t gone_flows(struct px_regsub *s, const struct wims_reginfo *ri, uint64_t *ids, const char **evs)
{
	struct wims_proxy *px = s->re->px;
	size_t n = 0;
	char aor[WIMS_REGINFO_MAX_VALUE], uri[WIMS_REGINFO_MAX_VALUE];

	for (size_t r = 0; r < ri->n_reg; r++) {
		const struct wims_reginfo_reg *g = &ri->reg[r];
		if (wims_reginfo_text(g->aor, aor, sizeof(aor), NULL))
			continue;
		for (size_t f = 0; f < s->n_flows; f++) {
			const char *ev = NULL;
			if (g->state == WIMS_REGINFO_TERMINATED && s->re->ops->has_impu(px, flow_of(s, f), aor))
				ev = "terminated";
			for (size_t c = g->contact0; !ev && c < g->contact0 + g->n_contact; c++) {
				const struct wims_reginfo_contact *ct = &ri->contact[c];
				if (ct->state == WIMS_REGINFO_TERMINATED &&
				    wims_reginfo_text(ct->uri, uri, sizeof(uri), NULL) == 0 &&
				    s->re->ops->ours(px, flow_of(s, f), uri))
					ev = wims_reginfo_event_name(ct->event);
			}
			bool dup = false;
			for (size_t i = 0; i < n; i++)
				dup |= ids[i] == flow_of(s, f);
			if (ev && !dup) {
				evs[n] = ev;
				ids[n++] = flow_of(s, f);
			}
		}
	}
	return n;
}

static void notify_reject(struct px_req *r, unsigned code, const char *reason)
{
	r->reject = code;
	r->reject_reason = reason;
}

/* 400 with what was wrong in the reason phrase (it lives in r's scratch). */
static void notify_bad_body(struct px_req *r, const char *why)
{
	size_t start = r->scratch.len;

	wims_wbuf_printf(&r->scratch, "Bad reginfo: %s", why ? why : "?");
	wims_wbuf_put(&r->scratch, "", 1);
	notify_reject(r, 400, r->scratch.err ? "Bad reginfo" : r->scratch.p + start);
}

/* Subscription-State: terminated?  (RFC 6665 §8.2.3) */
static bool sub_state_terminated(const struct wims_sip_msg *m)
{
	const struct wims_sip_hdr *h = wims_sip_msg_hdr_by_name(m, wims_str_c("Subscription-State"));
	struct wims_str v = h ? wims_str_trim(h->value) : WIMS_STR_NULL;

	return v.l >= 10 && strncasecmp(v.p, "terminated", 10) == 0 &&
	       (v.l == 10 || v.p[10] == ';' || v.p[10] == ' ' || v.p[10] == '\t');
}

/* RFC 6665 §4.1.3: after Subscription-State: terminated, in how many ms to
 * subscribe again for the flows still registered; -1: not at all. */
static int64_t resub_delay(struct px_regsub *s, const struct wims_sip_msg *m)
{
	const struct wims_sip_hdr *h = wims_sip_msg_hdr_by_name(m, wims_str_c("Subscription-State"));
	struct wims_str v = wims_str_trim(h->value), reason = WIMS_STR_NULL, ra;
	struct wims_str params = wims_str_make(v.p + 10, v.l - 10); /* after "terminated" */
	uint32_t retry;

	if (!wims_sip_param_get(params, "reason", &reason))
		reason = WIMS_STR_NULL;
	if (wims_str_eqic(reason, "rejected") || wims_str_eqic(reason, "noresource") ||
	    wims_str_eqic(reason, "invariant"))
		return -1; /* not to be tried again (until the next registration) */
	if (wims_sip_param_get(params, "retry-after", &ra) && wims_sip_uint_parse(ra, 86400, &retry) == 0)
		return (int64_t)retry * 1000;
	if ((wims_str_eqic(reason, "deactivated") || wims_str_eqic(reason, "timeout")) &&
	    (!s->resub_ms || uv_now(s->re->px->loop) - s->resub_ms >= RE_RETRY_MS))
		return 0; /* at once, but not twice in a row: a notifier ending every subscription */
	return RE_RETRY_MS; /* probation, giveup, no reason: later */
}

/* A new subscription in place of s, now (delay 0) or after delay ms. */
static void sub_resubscribe(struct px_regsub *s, uint64_t delay)
{
	s->ending = s->closing = s->unsubscribed = false;
	s->branch[0] = 0;
	uv_timer_stop(&s->timer);
	sub_new_dialog(s);
	if (delay) {
		uv_timer_start(&s->timer, on_timer, delay, 0);
		return;
	}
	s->resub_ms = uv_now(s->re->px->loop);
	sub_send(s, s->want);
}

static bool event_is_reg(const struct wims_sip_msg *m)
{
	const struct wims_sip_hdr *h = wims_sip_msg_hdr_by_name(m, wims_str_c("Event"));
	struct wims_str v = h ? wims_str_trim(h->value) : WIMS_STR_NULL;

	if (!h) /* compact form */
		h = wims_sip_msg_hdr_by_name(m, wims_str_c("o")), v = h ? wims_str_trim(h->value) : v;
	return v.l >= 3 && strncasecmp(v.p, "reg", 3) == 0 && (v.l == 3 || v.p[3] == ';' || v.p[3] == ' ');
}

static int notify_body(struct px_req *r, struct wims_reginfo *ri, bool *has)
{
	const struct wims_sip_msg *m = r->m;
	const struct wims_sip_hdr *ct = wims_sip_msg_hdr(m, WIMS_HDR_CONTENT_TYPE);
	const char *why = NULL;

	*has = m->body.l > 0;
	if (!*has)
		return 0;
	if (!ct || wims_str_findi(ct->value, wims_str_c("application/reginfo+xml")) < 0) {
		notify_reject(r, 415, "Unsupported Media Type");
		return -EBADMSG;
	}
	if (wims_reginfo_parse(ri, m->body.p, m->body.l, &why)) {
		wims_log_rl(&rl_re, WIMS_LOG_NOTICE, "reg event: NOTIFY with a bad reginfo body: %s", why);
		notify_bad_body(r, why);
		return -EBADMSG;
	}
	return 0;
}

void wims_proxy__regev_notify(struct px_regev *re, struct px_req *r)
{
	const struct wims_sip_msg *m = r->m;
	const struct wims_sip_hdr *cid = wims_sip_msg_hdr(m, WIMS_HDR_CALL_ID);
	struct px_regsub *s = re && cid ? sub_by_call_id(re, cid->value) : NULL;
	struct wims_str ftag = wims_sip_msg_tag(m, WIMS_HDR_FROM);
	struct wims_reginfo *ri;
	uint64_t ids[RE_MAX_FLOWS];
	const char *evs[RE_MAX_FLOWS];
	char call_id[sizeof(s->call_id)];
	size_t n = 0;
	bool has;

	/* RFC 6665 §4.1.3: a NOTIFY matching no subscription of ours */
	if (!s || !wims_str_eqc(wims_sip_msg_tag(m, WIMS_HDR_TO), s->ftag) ||
	    (s->ttag[0] && !wims_str_eqc(ftag, s->ttag))) {
		notify_reject(r, 481, "Subscription Does Not Exist");
		return;
	}
	if (!event_is_reg(m)) {
		notify_reject(r, 489, "Bad Event");
		return;
	}
	ri = wims_proxy__mem_get(re->px);
	_Static_assert(sizeof(*ri) <= PX_POOL_SIZE, "reginfo fits a pool block");
	if (!ri) {
		notify_reject(r, 500, "Out Of Memory");
		return;
	}
	if (notify_body(r, ri, &has))
		goto out;
	if (!s->ttag[0]) { /* the NOTIFY came before the 2xx */
		learn_tag(s, ftag);
		learn_route(s, m, false);
	}
	notify_reject(r, 200, NULL);
	if (has)
		n = gone_flows(s, ri, ids, evs);
	memcpy(call_id, s->call_id, sizeof(call_id));
	bool ours = s->ending; /* we unsubscribed: this is the final NOTIFY, not a reason to start again */
	if (sub_state_terminated(m))
		s->ending = true; /* no unsubscribe when the flows leave: it is over */
	for (size_t i = 0; i < n; i++) {
		wims_log(WIMS_LOG_INFO, "reg event: %s de-registered by the network (%s): releasing flow %llu",
			 s->impu, evs[i], (unsigned long long)ids[i]);
		re->ops->dereg(re->px, ids[i], evs[i]);
	}
	/* the callbacks may have ended it: look it up again */
	s = sub_by_call_id(re, wims_str_c(call_id));
	if (s && sub_state_terminated(m)) {
		int64_t again = s->n_flows && !ours ? resub_delay(s, m) : -1;
		wims_log(WIMS_LOG_INFO, "reg event: the subscription to %s was terminated by the notifier%s", s->impu,
			 again < 0 ? "" : again ? ": subscribing again later" : ": subscribing again");
		if (again < 0)
			sub_free(s);
		else
			sub_resubscribe(s, (uint64_t)again);
	} else if (s && s->closing) {
		wims_log(WIMS_LOG_INFO, "reg event: the notifier keeps the subscription to %s after the de-registration",
			 s->impu);
		sub_end(s);
	}
out:
	wims_proxy__mem_put(re->px, ri);
}

bool wims_proxy__regev_owns(struct px_regev *re, const struct wims_sip_msg *m)
{
	const struct wims_sip_hdr *cid = wims_sip_msg_hdr(m, WIMS_HDR_CALL_ID);

	return re && cid && m->method_id == WIMS_SIP_NOTIFY && sub_by_call_id(re, cid->value);
}

bool wims_proxy__regev_for_us(const struct wims_sip_msg *m)
{
	struct wims_sip_uri u;

	return wims_sip_uri_parse(&u, m->ruri) == 0 && wims_str_eqc(u.user, RE_CONTACT_USER);
}
