/* The proxy core: what every role shares.  A message comes in, is parsed
 * once (headers lazily), checked (RFC 3261 §16.3), matched against the
 * transactions, and only then handed to the role for routing. */
#include <errno.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/log.h"
#include "proxy/precond.h"
#include "proxy/px.h"

static struct wims_ratelimit rl_bad_req = WIMS_RATELIMIT_INIT(10000, 10);
static struct wims_ratelimit rl_ws_locals = WIMS_RATELIMIT_INIT(60000, 1);
static struct wims_ratelimit rl_bad_resp = WIMS_RATELIMIT_INIT(10000, 10);

void *wims_proxy__mem_get(struct wims_proxy *px)
{
	for (int i = 0; i < PX_POOL; i++) {
		if (!px->pool_busy[i]) {
			if (!px->pool[i] && !(px->pool[i] = malloc(PX_POOL_SIZE)))
				break;
			px->pool_busy[i] = true;
			return px->pool[i];
		}
	}
	return malloc(PX_POOL_SIZE);
}

void wims_proxy__mem_put(struct wims_proxy *px, void *p)
{
	for (int i = 0; i < PX_POOL; i++) {
		if (px->pool[i] == p) {
			px->pool_busy[i] = false;
			return;
		}
	}
	free(p);
}

void wims_proxy__hop_set(struct px_hop *h, struct wims_sip_flow *flow)
{
	h->proto = wims_sip_flow_proto(flow);
	h->addr = *wims_sip_flow_peer(flow);
	h->flow = NULL;
	if (h->proto != WIMS_SIP_UDP) {
		h->flow = flow;
		wims_sip_flow_ref(flow);
	}
}

void wims_proxy__hop_clear(struct px_hop *h)
{
	if (h->flow)
		wims_sip_flow_deref(h->flow);
	h->flow = NULL;
}

int wims_proxy__send(struct wims_proxy *px, struct px_hop *h, const char *buf, size_t len, bool is_request)
{
	if (h->flow) {
		if (!wims_sip_flow_alive(h->flow))
			return -ENOTCONN;
		return wims_sip_flow_send(h->flow, buf, len);
	}
	if (px_proto_is_ws(h->proto))
		return -ENOTCONN; /* a WebSocket hop that is gone */
	struct wims_sip_flow *used = NULL;
	int rc = wims_sip_tport_send(px->tp, h->proto, &h->addr, buf, len, is_request, h->keep ? &used : NULL);
	if (rc == 0 && used && h->keep) {
		h->flow = used;
		wims_sip_flow_ref(used);
	}
	return rc;
}

int wims_proxy__resp_hop(struct wims_proxy *px, const struct wims_sip_msg *req, struct wims_sip_flow *in,
			 struct px_hop *h)
{
	struct wims_sip_via v;
	unsigned long long port;

	memset(h, 0, sizeof(*h));
	wims_proxy__hop_set(h, in);
	if (h->proto != WIMS_SIP_UDP)
		return 0;
	/* RFC 3581 §4: with rport, answer to the source port; RFC 3261 §18.2.2:
	 * otherwise to the received address and the Via port. */
	if (wims_sip_msg_top_via(req, &v))
		return -EBADMSG;
	if (!v.rport) {
		port = v.port ? v.port : 5060;
		wims_addr_set_port(&h->addr, (uint16_t)port);
	}
	return 0;
}

/* The To tag of a stateless answer: the same for a retransmission of the
 * request (RFC 3261 §8.2.6.2, §16.7), from what identifies the transaction
 * (top Via with its branch, Call-ID, From tag, CSeq) rather than a hash of
 * every byte of the message (a NOTIFY with its XML body is a kilobyte or two). */
static uint64_t reply_tag_hash(const struct wims_sip_msg *m)
{
	const struct wims_sip_hdr *via = wims_sip_msg_hdr(m, WIMS_HDR_VIA);
	const struct wims_sip_hdr *cid = wims_sip_msg_hdr(m, WIMS_HDR_CALL_ID);
	const struct wims_sip_hdr *cseq = wims_sip_msg_hdr(m, WIMS_HDR_CSEQ);

	if (!via || !cid || !cseq)
		return wims_hash_str(m->raw);
	return wims_hash_mix(wims_hash_mix(wims_hash_str(via->value), wims_hash_str(cid->value)),
			     wims_hash_mix(wims_hash_str(wims_sip_msg_tag(m, WIMS_HDR_FROM)), wims_hash_str(cseq->value)));
}

void wims_proxy__reply(struct wims_proxy *px, const struct wims_sip_msg *m, struct wims_sip_flow *in,
		       unsigned code, const char *reason, struct wims_str extra)
{
	char mem[8192];
	struct wims_wbuf w;
	struct px_hop h;
	char tag[24];

	wims_wbuf_init(&w, mem, sizeof(mem));
	snprintf(tag, sizeof(tag), "w%016llx", (unsigned long long)reply_tag_hash(m));
	if (wims_sip_reply(m, code, reason, code > 100 ? wims_str_c(tag) : WIMS_STR_NULL, extra, &w))
		return;
	if (wims_proxy__resp_hop(px, m, in, &h) == 0) {
		if (wims_proxy__send(px, &h, w.p, w.len, false) == 0)
			px->st.responses_out++;
	}
	wims_proxy__hop_clear(&h);
}

void wims_proxy__via_line(struct wims_proxy *px, struct wims_wbuf *w, enum wims_sip_proto proto,
			  struct wims_str branch)
{
	wims_wbuf_printf(w, "Via: SIP/2.0/%s %s:%u;branch=%.*s;rport\r\n", wims_sip_proto_name(proto),
			 px->adv_host, px_adv_port(px, proto), (int)branch.l, branch.p);
}

/* RFC 3261 §16.6 item 8: a branch that also carries a hash of what makes a
 * request unique on a path, so that a request that comes back unchanged is
 * recognised as a loop (and one that comes back with another Request-URI as
 * a spiral). */
/* An in-dialog request between two browsers of one wimsd passes it twice
 * with the same Request-URI, tags and CSeq: once from the callee's browser,
 * once from the S-CSCF toward the caller's.  What differs is our Route entry
 * on top, whose user part is the flow token of that pass's browser.  (A
 * request that really loops comes back with the Route we sent, not ours.) */
static uint64_t own_route_token(const struct wims_proxy *px, const struct wims_sip_msg *m)
{
	struct wims_sip_vals it;
	struct wims_sip_addr a;
	struct wims_sip_uri u;

	wims_sip_vals_init(&it, m, WIMS_HDR_ROUTE);
	if (!wims_sip_vals_next(&it) || !wims_proxy__route_is_us(px, it.value) ||
	    wims_sip_addr_parse(&a, it.value) || wims_sip_uri_parse(&u, a.uri))
		return 0;
	return wims_hash_str(u.user);
}

static uint32_t loop_hash(const struct wims_proxy *px, const struct wims_sip_msg *m)
{
	const struct wims_sip_hdr *h;
	uint64_t x = wims_hash_str(m->ruri);

	x = wims_hash_mix(x, wims_hash_str(wims_sip_msg_tag(m, WIMS_HDR_FROM)));
	x = wims_hash_mix(x, wims_hash_str(wims_sip_msg_tag(m, WIMS_HDR_TO)));
	x = wims_hash_mix(x, own_route_token(px, m));
	if ((h = wims_sip_msg_hdr(m, WIMS_HDR_CALL_ID)))
		x = wims_hash_mix(x, wims_hash_str(h->value));
	if ((h = wims_sip_msg_hdr(m, WIMS_HDR_CSEQ)))
		x = wims_hash_mix(x, wims_hash_str(h->value));
	x = wims_hash_mix(x, wims_hash_bytes(px->secret, 8));
	return (uint32_t)(x ^ (x >> 32));
}

void wims_proxy__branch(struct wims_proxy *px, const struct wims_sip_msg *m, char out[PX_BRANCH_MAX])
{
	px->seq++;
	snprintf(out, PX_BRANCH_MAX, "z9hG4bKw%08x.%llx%04x", loop_hash(px, m), (unsigned long long)px->seq,
		 (unsigned)(px->secret[0] << 8 | px->secret[1]));
}

/* Remember a local address of the WebSocket side named in a Record-Route:
 * behind a wildcard listen address ([ws] listen = 0.0.0.0:8443) it is the
 * address the browser reached, which the configuration does not name. */
static void ws_local_seen(struct wims_proxy *px, const struct wims_addr *local)
{
	for (unsigned i = 0; i < px->n_ws_locals; i++)
		if (wims_addr_eq(&px->ws_locals[i], local))
			return;
	if (px->n_ws_locals < PX_WS_LOCALS)
		px->ws_locals[px->n_ws_locals++] = *local;
	else
		wims_log_rl(&rl_ws_locals, WIMS_LOG_WARN,
			    "more than %u local WebSocket addresses: Route entries naming others are not recognised",
			    PX_WS_LOCALS);
}

static void rr_uri(struct wims_proxy *px, struct wims_wbuf *w, enum wims_sip_proto proto,
		   const struct wims_addr *local, const char *user)
{
	char host[WIMS_ADDR_STRLEN];
	const char *at = user ? "@" : "";

	if (!user)
		user = "";
	if (px_proto_is_ws(proto) && local && wims_addr_host(local, host, sizeof(host), true) == 0) {
		ws_local_seen(px, local);
		wims_wbuf_printf(w, "<sip:%s%s%s:%u;transport=ws;lr>", user, at, host, wims_addr_port(local));
		return;
	}
	wims_wbuf_printf(w, "<sip:%s%s%s:%u;lr", user, at, px->adv_host, px_adv_port(px, proto));
	if (proto == WIMS_SIP_TCP)
		wims_wbuf_puts(w, ";transport=tcp");
	else if (proto == WIMS_SIP_TLS)
		wims_wbuf_puts(w, ";transport=tls");
	wims_wbuf_puts(w, ">");
}

void wims_proxy__record_route(struct wims_proxy *px, struct wims_wbuf *w, struct wims_sip_flow *in,
			      const struct px_hop *out, const char *user)
{
	enum wims_sip_proto pin = wims_sip_flow_proto(in);
	const struct wims_addr *out_local = out->flow ? wims_sip_flow_local(out->flow) : NULL;

	/* the entry the next hop meets first is on top (RFC 3261 §16.6 item 4) */
	wims_wbuf_puts(w, "Record-Route: ");
	rr_uri(px, w, out->proto, out_local, user);
	wims_wbuf_puts(w, "\r\n");
	if (px_proto_is_ws(pin) != px_proto_is_ws(out->proto) || pin != out->proto) {
		/* the transport changes: a second entry for the other side (double Record-Route) */
		wims_wbuf_puts(w, "Record-Route: ");
		rr_uri(px, w, pin, wims_sip_flow_local(in), user);
		wims_wbuf_puts(w, "\r\n");
	}
}

bool wims_proxy__route_is_us(const struct wims_proxy *px, struct wims_str val)
{
	struct wims_sip_addr a;
	struct wims_sip_uri u;
	struct wims_addr h;
	uint16_t port;

	if (wims_sip_addr_parse(&a, val) || wims_sip_uri_parse(&u, a.uri))
		return false;
	port = u.port ? u.port : 5060;
	if (wims_str_eqic(u.host, px->adv_host) && (port == px->adv_port || port == px->adv_port_tls))
		return true;
	/* our WebSocket side: the listen addresses */
	if (wims_addr_parse(&h, u.host, port))
		return false;
	for (int i = 0; i < 2; i++) {
		struct wims_addr l;
		const char *s = i ? px->conf->ws_listen_tls : px->conf->ws_listen;
		if (s[0] && wims_addr_parse(&l, wims_str_c(s), 0) == 0 && wims_addr_eq(&l, &h))
			return true;
	}
	for (unsigned i = 0; i < px->n_ws_locals; i++)
		if (wims_addr_eq(&px->ws_locals[i], &h))
			return true;
	return false;
}

bool wims_proxy__hop_of_route(const struct wims_proxy *px, struct wims_str route, struct px_hop *hop)
{
	struct wims_sip_addr a;
	struct wims_sip_uri u;
	struct wims_addr at;
	struct wims_str tp;
	enum wims_sip_proto proto = WIMS_SIP_UDP;
	bool sips, has_tp;

	if (wims_sip_addr_parse(&a, route) || a.star || wims_sip_uri_parse(&u, a.uri))
		return false;
	sips = wims_str_eqic(u.scheme, "sips");
	if (!sips && !wims_str_eqic(u.scheme, "sip"))
		return false;
	if (wims_addr_parse(&at, u.host, u.port ? u.port : sips ? 5061 : 5060))
		return false; /* a domain name: the configured next hop, located by DNS */
	has_tp = wims_sip_param_get(u.params, "transport", &tp);
	if (sips || (has_tp && wims_str_eqic(tp, "tls")))
		proto = WIMS_SIP_TLS;
	else if (has_tp && wims_str_eqic(tp, "tcp"))
		proto = WIMS_SIP_TCP;
	else if (has_tp && !wims_str_eqic(tp, "udp"))
		return false; /* ws, sctp: not toward the core */
	else if (!has_tp && wims_addr_eq(&at, &px->next_addr))
		proto = px->next_proto; /* the configured next hop itself: its transport */
	hop->proto = proto;
	hop->addr = at;
	hop->flow = NULL;
	return true;
}

bool wims_proxy__pop_own_routes(struct wims_proxy *px, const struct wims_sip_msg *m, struct wims_sip_edits *ed)
{
	struct wims_sip_vals it;
	wims_sip_vals_init(&it, m, WIMS_HDR_ROUTE);
	while (wims_sip_vals_next(&it)) {
		if (!wims_proxy__route_is_us(px, it.value))
			return true;
		wims_sip_edit_remove_val(ed, m, &it);
	}
	return false;
}

uint32_t wims_proxy__msg_expires(const struct wims_sip_msg *m)
{
	const struct wims_sip_hdr *eh = wims_sip_msg_hdr(m, WIMS_HDR_EXPIRES);
	uint32_t e = 3600;

	if (eh && wims_sip_uint_parse(eh->value, 0xffffffffu, &e))
		e = 3600;
	return e;
}

uint32_t wims_proxy__contact_expires(const struct wims_sip_addr *a, uint32_t dflt)
{
	struct wims_str v;
	uint32_t e = dflt;

	if (wims_sip_param_get(a->params, "expires", &v) && wims_sip_uint_parse(v, 0xffffffffu, &e))
		e = dflt;
	return e;
}

bool wims_proxy__creates_dialog(const struct wims_sip_msg *m)
{
	if (wims_sip_msg_tag(m, WIMS_HDR_TO).l)
		return false;
	switch (m->method_id) {
	case WIMS_SIP_INVITE:
	case WIMS_SIP_SUBSCRIBE:
	case WIMS_SIP_REFER:
	case WIMS_SIP_NOTIFY:
		return true;
	default:
		return false;
	}
}

void wims_proxy__flow_insert(struct wims_proxy *px, struct wims_hnode *n, uint64_t id)
{
	wims_hash_insert(&px->flows, n, id);
	px->st.flows_open = px->flows.n;
}

struct wims_hnode *wims_proxy__flow_take(struct wims_proxy *px, uint64_t id)
{
	struct wims_hnode *n = wims_hash_find(&px->flows, id);

	if (n) {
		wims_hash_remove(&px->flows, n);
		px->st.flows_open = px->flows.n;
	}
	return n;
}

struct clear_ctx {
	struct wims_hash *h;
	void (*free_rec)(struct wims_hnode *n);
};

static bool clear_cb(struct wims_hnode *n, void *arg)
{
	struct clear_ctx *c = arg;

	wims_hash_remove(c->h, n);
	c->free_rec(n);
	return false;
}

void wims_proxy__flows_clear(struct wims_proxy *px, void (*free_rec)(struct wims_hnode *n))
{
	struct clear_ctx c = {&px->flows, free_rec};

	wims_hash_walk(&px->flows, clear_cb, &c);
	px->st.flows_open = 0;
}

static bool is_our_sent_by(const struct wims_proxy *px, const struct wims_sip_via *v)
{
	uint16_t port = v->port ? v->port : 5060;

	return wims_str_eqic(v->host, px->adv_host) && (port == px->adv_port || port == px->adv_port_tls);
}

bool wims_proxy__is_loop(struct wims_proxy *px, const struct wims_sip_msg *m)
{
	struct wims_sip_vals it;
	struct wims_sip_via v;
	char want[17];
	int n = 0;

	snprintf(want, sizeof(want), "z9hG4bKw%08x", loop_hash(px, m));
	wims_sip_vals_init(&it, m, WIMS_HDR_VIA);
	while (wims_sip_vals_next(&it) && n++ < WIMS_SIP_MAX_VIA) {
		if (wims_sip_via_parse(&v, it.value) || !is_our_sent_by(px, &v))
			continue;
		if (v.branch.l > 16 && memcmp(v.branch.p, want, 16) == 0)
			return true;
	}
	return false;
}

void wims_proxy__forward_stateless_resp(struct wims_proxy *px, const struct wims_sip_msg *m)
{
	struct wims_sip_vals it;
	struct wims_sip_via v;
	struct wims_sip_edits ed;
	struct px_hop h = {0};
	char mem[WIMS_SIP_MAX_MESSAGE];
	struct wims_wbuf w;

	wims_sip_vals_init(&it, m, WIMS_HDR_VIA);
	if (!wims_sip_vals_next(&it) || wims_sip_via_parse(&v, it.value) || !is_our_sent_by(px, &v))
		goto drop;
	wims_sip_edits_init(&ed);
	wims_sip_edit_remove_val(&ed, m, &it);
	if (!wims_sip_vals_next(&it) || wims_sip_via_parse(&v, it.value))
		goto drop;
	if (!wims_str_eqic(v.transport, "UDP"))
		goto drop; /* connection-oriented hops were transactional */
	struct wims_str host = v.received.l ? v.received : v.host;
	if (wims_addr_parse(&h.addr, host, 5060))
		goto drop;
	if (v.rport_value.l) {
		uint32_t p;
		if (wims_sip_uint_parse(v.rport_value, 65535, &p) == 0)
			wims_addr_set_port(&h.addr, (uint16_t)p);
	} else if (v.port) {
		wims_addr_set_port(&h.addr, v.port);
	}
	h.proto = WIMS_SIP_UDP;
	wims_wbuf_init(&w, mem, sizeof(mem));
	if (wims_sip_msg_write(m, &ed, &w) == 0 && wims_proxy__send(px, &h, w.p, w.len, false) == 0)
		px->st.responses_out++;
	return;
drop:
	wims_log_rl(&rl_bad_resp, WIMS_LOG_INFO, "response %u without a transaction dropped", m->status);
}

/* A 400 to a request that did not parse: its Via may be missing or bad, so
 * it goes back on the flow it came on (UDP: to the source address). */
static void reply_bad(struct wims_proxy *px, const struct wims_sip_msg *m, struct wims_sip_flow *in,
		      const char *why)
{
	char mem[8192];
	struct wims_wbuf w;
	struct px_hop h = {0};

	/* RFC 3261 §8.2.2.1 (by analogy for the version): 505 when it is not SIP/2.0 */
	unsigned code = strcmp(why, "Bad SIP version") == 0 ? 505 : 400;

	wims_wbuf_init(&w, mem, sizeof(mem));
	if (wims_sip_reply(m, code, code == 505 ? NULL : why, wims_str_c("wbad"), WIMS_STR_NULL, &w))
		return;
	wims_proxy__hop_set(&h, in);
	if (wims_proxy__send(px, &h, w.p, w.len, false) == 0)
		px->st.responses_out++;
	wims_proxy__hop_clear(&h);
}

static bool only_whitespace(const char *b, size_t l)
{
	for (size_t i = 0; i < l; i++)
		if (b[i] != '\r' && b[i] != '\n' && b[i] != ' ' && b[i] != '\t')
			return false;
	return true;
}

static void handle_request(struct wims_proxy *px, const struct wims_sip_msg *m, struct wims_sip_flow *in)
{
	const struct wims_sip_hdr *mf = wims_sip_msg_hdr(m, WIMS_HDR_MAX_FORWARDS);
	struct px_req *r;
	uint32_t v;

	px->st.requests_in++;
	if (mf) {
		/* RFC 3261 §16.3 item 3: not forwarded with 0; an ACK is never answered */
		if (wims_sip_uint_parse(mf->value, 255, &v)) {
			if (m->method_id != WIMS_SIP_ACK)
				wims_proxy__reply(px, m, in, 400, "Bad Max-Forwards", WIMS_STR_NULL);
			return;
		}
		if (v == 0) {
			if (m->method_id != WIMS_SIP_ACK)
				wims_proxy__reply(px, m, in, 483, NULL, WIMS_STR_NULL);
			return;
		}
	}
	if (wims_proxy__tsx_match_request(px, m, in))
		return;
	if (m->method_id == WIMS_SIP_CANCEL) {
		wims_proxy__reply(px, m, in, 481, NULL, WIMS_STR_NULL);
		return;
	}
	if (m->method_id != WIMS_SIP_ACK && wims_proxy__is_loop(px, m)) {
		wims_proxy__reply(px, m, in, 482, NULL, WIMS_STR_NULL);
		return;
	}
	/* shutting down: nothing new, but the final NOTIFYs of the reg event
	 * subscriptions the role ends now are answered */
	if (px->draining && m->method_id != WIMS_SIP_ACK &&
	    !(m->method_id == WIMS_SIP_NOTIFY &&
	      (wims_proxy__regev_for_us(m) || wims_proxy__regev_owns(px->regev, m)))) {
		wims_proxy__reply(px, m, in, 503, "Shutting Down", wims_str_c("Retry-After: 5\r\n"));
		return;
	}
	/* requests from a browser go to the next hop: it may have to be resolved first */
	if (px_proto_is_ws(wims_sip_flow_proto(in)) && wims_proxy__dns_hold(px, m, in))
		return;
	_Static_assert(sizeof(*r) <= PX_POOL_SIZE, "px_req fits a pool block");
	r = wims_proxy__mem_get(px);
	if (!r) {
		wims_proxy__reply(px, m, in, 500, "Out Of Memory", WIMS_STR_NULL);
		return;
	}
	/* everything but the scratch memory: the role's fields come after it */
	memset(r, 0, offsetof(struct px_req, scratch_mem));
	memset(&r->out, 0, sizeof(*r) - offsetof(struct px_req, out));
	r->px = px;
	r->m = m;
	r->in = in;
	wims_sip_edits_init(&r->ed);
	wims_wbuf_init(&r->scratch, r->scratch_mem, sizeof(r->scratch_mem));
	px->role->request(r);
	if (!r->reject && wims_proxy__pc_intercept(r))
		r->deferred = true; /* answered by precond.c */
	if (!r->reject && !r->deferred)
		wims_proxy__media_request(r);
	if (!r->reject && !r->deferred)
		wims_proxy__stimer_request(r); /* RFC 4028 on the browser's behalf */
	if (!r->reject && !r->deferred)
		wims_proxy__pc_request(r); /* 100rel, preconditions on the browser's behalf */
	if (r->deferred) {
		/* comes back through wims_proxy_recv once the AGW answered */
	} else if (r->reject) {
		if (m->method_id != WIMS_SIP_ACK) /* an ACK is never answered (RFC 3261 §17.1.1.3) */
			wims_proxy__reply(px, m, in, r->reject, r->reject_reason, r->reject_hdrs);
	} else if (wims_proxy__tsx_new_request(r)) {
		if (m->method_id != WIMS_SIP_ACK)
			wims_proxy__reply(px, m, in, 500, "Cannot Forward", WIMS_STR_NULL);
	}
	wims_proxy__hop_clear(&r->out);
	if (r->media_mem)
		wims_proxy__mem_put(px, r->media_mem);
	if (r->pc_mem)
		wims_proxy__mem_put(px, r->pc_mem);
	wims_proxy__mem_put(px, r);
}

void wims_proxy_recv(struct wims_proxy *px, struct wims_sip_flow *flow, const char *buf, size_t len)
{
	struct wims_sip_msg *m;
	const char *why = NULL;
	char peer[WIMS_ADDR_STRLEN];

	if (only_whitespace(buf, len))
		return; /* RFC 5626 §3.5.1 / RFC 7118 §6 keep-alive */
	_Static_assert(sizeof(*m) <= PX_POOL_SIZE, "a message fits a pool block");
	m = wims_proxy__mem_get(px);
	if (!m)
		return;
	if (wims_sip_msg_parse(m, buf, len, &why)) {
		if (wims_addr_str(wims_sip_flow_peer(flow), peer, sizeof(peer)))
			peer[0] = 0;
		if (len > 4 && memcmp(buf, "SIP/", 4) == 0) {
			px->st.bad_responses_dropped++;
			wims_log_rl(&rl_bad_resp, WIMS_LOG_NOTICE, "malformed response from %s %s dropped: %s",
				    wims_sip_proto_name(wims_sip_flow_proto(flow)), peer, why ? why : "?");
		} else {
			px->st.bad_requests++;
			wims_log_rl(&rl_bad_req, WIMS_LOG_NOTICE, "malformed request from %s %s: %s",
				    wims_sip_proto_name(wims_sip_flow_proto(flow)), peer, why ? why : "?");
			/* Answer 400 naming the fault, with whatever of Via, From, To,
			 * Call-ID and CSeq the request has (RFC 3261 §8.2.6.2).  Over
			 * UDP a response needs a Via to go anywhere; on a connection
			 * (a WebSocket) it goes back on that connection. */
			if (m->is_request && m->method_id != WIMS_SIP_ACK &&
			    (wims_sip_msg_hdr(m, WIMS_HDR_VIA) || wims_sip_flow_proto(flow) != WIMS_SIP_UDP))
				reply_bad(px, m, flow, why ? why : "Bad Request");
		}
		wims_proxy__mem_put(px, m);
		return;
	}
	if (m->is_request) {
		handle_request(px, m, flow);
	} else {
		px->st.responses_in++;
		if (!wims_proxy__tsx_response(px, m, flow)) {
			if (!px_proto_is_ws(wims_sip_flow_proto(flow)))
				wims_proxy__forward_stateless_resp(px, m);
			else /* a browser answers only what wims sent it, in a transaction:
			      * forwarding the rest by its Via would let it send "responses"
			      * to any address of the core's network */
				wims_log_rl(&rl_bad_resp, WIMS_LOG_NOTICE,
					    "flow %llu: a response that matches no transaction: dropped",
					    (unsigned long long)wims_sip_flow_id(flow));
		}
	}
	wims_proxy__mem_put(px, m);
}

void wims_proxy_flow_closed(struct wims_proxy *px, struct wims_sip_flow *flow)
{
	wims_proxy__tsx_flow_gone(px, flow, 480);
	px->role->flow_gone(px, flow);
	wims_proxy__pc_flow_gone(px, wims_sip_flow_id(flow));
}

static int parse_next_hop(struct wims_proxy *px, const char *uri_s, char *err, size_t errlen)
{
	struct wims_sip_uri u;
	struct wims_str tp;

	if (wims_str_copy(px->next_uri, sizeof(px->next_uri), wims_str_c(uri_s)) ||
	    wims_sip_uri_parse(&u, wims_str_c(px->next_uri)) || !wims_str_eqic(u.scheme, "sip")) {
		snprintf(err, errlen, "'%s' is not a sip: URI", uri_s);
		return -EINVAL;
	}
	/* a domain name: located by DNS (RFC 3263, dns.c) once requests come */
	bool by_dns = wims_addr_parse(&px->next_addr, u.host, u.port ? u.port : 5060) != 0;
	if (by_dns)
		memset(&px->next_addr, 0, sizeof(px->next_addr));
	px->next_proto = WIMS_SIP_UDP;
	if (wims_sip_param_get(u.params, "transport", &tp)) {
		if (wims_str_eqic(tp, "tcp"))
			px->next_proto = WIMS_SIP_TCP;
		else if (wims_str_eqic(tp, "tls"))
			px->next_proto = WIMS_SIP_TLS;
		else if (!wims_str_eqic(tp, "udp")) {
			snprintf(err, errlen, "'%s': transport must be udp, tcp or tls", uri_s);
			return -EINVAL;
		}
	}
	if (by_dns)
		return wims_proxy__dns_init(px, uri_s,
					    px->conf->role == WIMS_ROLE_PCSCF ? px->conf->pcscf_scscf_fallback
									      : px->conf->iwu_pcscf_fallback,
					    px->next_proto, err, errlen);
	return 0;
}

/* Requests reaching us over TLS come to the TLS listener: its port goes in
 * our Via, Contact, Path and Record-Route of TLS hops. */
static void set_tls_port(struct wims_proxy *px)
{
	struct wims_addr a;

	px->adv_port_tls = wims_sip_tport_local(px->tp, WIMS_SIP_TLS, &a) == 0 ? wims_addr_port(&a) : 5061;
}

/* Our sent-by toward the core: [sip] advertise as host[:port], or the
 * address the UDP (else TCP) listener is bound to. */
static int set_advertise(struct wims_proxy *px, char *err, size_t errlen)
{
	const struct wims_conf *c = px->conf;
	struct wims_addr a;

	if (c->sip_advertise[0]) {
		struct wims_str s = wims_str_c(c->sip_advertise);
		const char *end = s.p[0] == '[' ? memchr(s.p, ']', s.l) : s.p;
		const char *colon = end ? memchr(end, ':', s.l - (size_t)(end - s.p)) : NULL;
		unsigned long long port = 0;

		if (!end)
			goto bad;
		if (wims_sip_tport_local(px->tp, WIMS_SIP_UDP, &a) == 0 ||
		    wims_sip_tport_local(px->tp, WIMS_SIP_TCP, &a) == 0)
			port = wims_addr_port(&a);
		if (colon && wims_str_to_u64(wims_str_make(colon + 1, s.l - (size_t)(colon + 1 - s.p)), 65535, &port))
			goto bad;
		if (wims_str_copy(px->adv_host, sizeof(px->adv_host),
				  wims_str_make(s.p, colon ? (size_t)(colon - s.p) : s.l)) || !px->adv_host[0])
			goto bad;
		px->adv_port = port ? (uint16_t)port : 5060;
		set_tls_port(px);
		return 0;
	}
	if (wims_sip_tport_local(px->tp, WIMS_SIP_UDP, &a) && wims_sip_tport_local(px->tp, WIMS_SIP_TCP, &a)) {
		snprintf(err, errlen, "[sip] needs listen_udp or listen_tcp");
		return -EINVAL;
	}
	if (wims_addr_host(&a, px->adv_host, sizeof(px->adv_host), true))
		goto bad;
	px->adv_port = wims_addr_port(&a);
	set_tls_port(px);
	return 0;
bad:
	snprintf(err, errlen, "[sip] advertise '%s' is not host[:port]", c->sip_advertise);
	return -EINVAL;
}

int wims_proxy_alloc(struct wims_proxy **pp, uv_loop_t *loop, struct wims_sip_tport *tp,
		     const struct wims_conf *conf, char *err, size_t errlen)
{
	struct wims_proxy *px = calloc(1, sizeof(*px));
	int rc;

	if (!px)
		return -ENOMEM;
	px->loop = loop;
	px->tp = tp;
	px->conf = conf;
	px->t1 = conf->sip_t1_ms;
	px->t2 = conf->sip_t2_ms;
	px->t4 = conf->sip_t4_ms;
	if (RAND_bytes(px->secret, sizeof(px->secret)) != 1) {
		rc = -EIO;
		goto fail;
	}
	if ((rc = wims_hash_init(&px->tsx_srv, 1024)) || (rc = wims_hash_init(&px->tsx_cli, 1024)) ||
	    (rc = wims_hash_init(&px->flows, 1024)) || (rc = wims_hash_init(&px->dialogs, 1024)) ||
	    (rc = wims_hash_init(&px->dialogs_by_flow, 1024)))
		goto fail;
	if ((rc = set_advertise(px, err, errlen)))
		goto fail;
	px->role = conf->role == WIMS_ROLE_PCSCF ? &wims_proxy__pcscf_role : &wims_proxy__iwu_role;
	if ((rc = parse_next_hop(px, conf->role == WIMS_ROLE_PCSCF ? conf->pcscf_scscf : conf->iwu_pcscf, err,
				 errlen)))
		goto fail;
	if (px->next_proto == WIMS_SIP_TLS && !conf->sip_listen_tls[0])
		wims_log(WIMS_LOG_WARN, "the next hop is TLS but [sip] listen_tls is empty: requests from the core "
					"reach wims only if it reuses wims's connection");
	if ((rc = px->role->init(px, err, errlen))) {
		wims_proxy__regev_free(px->regev); /* what the role made before it failed */
		px->role->free(px);
		goto fail;
	}
	wims_proxy__stimer_init(px);
	*pp = px;
	return 0;
fail:
	wims_proxy__dns_free(px);
	wims_hash_fini(&px->tsx_srv);
	wims_hash_fini(&px->tsx_cli);
	wims_hash_fini(&px->flows);
	wims_hash_fini(&px->dialogs);
	wims_hash_fini(&px->dialogs_by_flow);
	free(px);
	return rc;
}

size_t wims_proxy_busy(const struct wims_proxy *px)
{
	return wims_proxy__tsx_pending(px);
}

/* Shutting down: the core is told that the reg event subscriptions end (a
 * notifier that kept them would NOTIFY a process that is gone, and its
 * successor would answer 481 to each). */
void wims_proxy_drain(struct wims_proxy *px)
{
	px->draining = true;
	wims_proxy__regev_drain(px->regev);
}

void wims_proxy_free(struct wims_proxy *px)
{
	if (!px)
		return;
	wims_proxy__dns_free(px);
	wims_proxy__media_free(px);
	wims_proxy__tsx_free_all(px);
	wims_proxy__dlg_free_all(px);
	wims_proxy__pc_free_all(px);
	wims_proxy__stimer_free_all(px);
	wims_proxy__regev_free(px->regev);
	px->role->free(px);
	wims_hash_fini(&px->tsx_srv);
	wims_hash_fini(&px->tsx_cli);
	wims_hash_fini(&px->flows);
	wims_hash_fini(&px->dialogs);
	wims_hash_fini(&px->dialogs_by_flow);
	for (int i = 0; i < PX_POOL; i++)
		free(px->pool[i]);
	free(px);
}

void wims_proxy_flows_json(const struct wims_proxy *px, struct wims_wbuf *out)
{
	px->role->flows_json(px, out);
}

void wims_proxy__json_str(struct wims_wbuf *w, const char *s)
{
	wims_wbuf_puts(w, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			wims_wbuf_printf(w, "\\%c", c);
		else if (c < 0x20)
			wims_wbuf_printf(w, "\\u%04x", c);
		else
			wims_wbuf_put(w, s, 1);
	}
	wims_wbuf_puts(w, "\"");
}

void wims_proxy_set_mediactl(struct wims_proxy *px, struct wims_mediactl *mc)
{
	px->mc = mc;
}

void wims_proxy_set_agw(struct wims_proxy *px, struct wims_ng_client *ng)
{
	px->agw = ng;
}

const struct wims_proxy_stats *wims_proxy_stats(const struct wims_proxy *px)
{
	return &px->st;
}
