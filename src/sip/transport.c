/* The SIP transport layer: flow tables, sending, external flows, lifetime.
 * UDP is in tp_udp.c, TCP/TLS in tp_stream.c, framing in frame.c.
 *
 * Lifetime.  A connection flow is owned by its connection: one reference
 * from creation until the connection is gone (wims_sip__flow_ended).  A
 * flow is "published" (in the id and peer tables, alive) from creation until
 * it is asked to close or its connection goes.  The tport itself counts one
 * reference per flow in memory and per open libuv handle, plus its owner's
 * until wims_sip_tport_close(), so a flow never outlives the tport it
 * points to.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "sip/limits.h"
#include "sip/tp_int.h"

/* Flow ids go into flow tokens (RFC 5626) that outlive a reconfiguration
 * which replaces the tport, so they are unique per process rather than per
 * tport: this is the one piece of process-wide state, and it is atomic. */
static _Atomic uint64_t next_flow_id = 1;

static struct wims_ratelimit ext_rl = WIMS_RATELIMIT_INIT(10000, 10);
static struct wims_ratelimit idle_rl = WIMS_RATELIMIT_INIT(10000, 10);

const char *wims_sip_proto_name(enum wims_sip_proto p)
{
	switch (p) {
	case WIMS_SIP_UDP:
		return "UDP";
	case WIMS_SIP_TCP:
		return "TCP";
	case WIMS_SIP_TLS:
		return "TLS";
	case WIMS_SIP_WS:
		return "WS";
	case WIMS_SIP_WSS:
		return "WSS";
	}
	return "?";
}

/* ---- tables ---- */

/* An IPv4-mapped IPv6 address (a peer on a dual-stack socket) keyed and
 * compared as the IPv4 address it is. */
void wims_sip__addr_norm(struct wims_addr *out, const struct wims_addr *a)
{
	const struct sockaddr_in6 *in6 = &a->u.in6;

	*out = *a;
	if (a->u.sa.sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
		memset(out, 0, sizeof(*out));
		out->u.in.sin_family = AF_INET;
		out->u.in.sin_port = in6->sin6_port;
		memcpy(&out->u.in.sin_addr, &in6->sin6_addr.s6_addr[12], 4);
	}
}

static uint64_t peer_key(enum wims_sip_proto proto, const struct wims_addr *a)
{
	struct wims_addr n;
	uint16_t port;
	uint64_t h;

	wims_sip__addr_norm(&n, a);
	port = wims_addr_port(&n);
	if (n.u.sa.sa_family == AF_INET6)
		h = wims_hash_bytes(&n.u.in6.sin6_addr, 16);
	else
		h = wims_hash_bytes(&n.u.in.sin_addr, 4);
	return wims_hash_mix(wims_hash_mix(h, port), (uint64_t)proto);
}

static bool peer_eq(const struct wims_addr *a, const struct wims_addr *b)
{
	struct wims_addr na, nb;

	wims_sip__addr_norm(&na, a);
	wims_sip__addr_norm(&nb, b);
	return wims_addr_eq(&na, &nb);
}

struct wims_sip_flow *wims_sip__flow_by_peer(struct wims_sip_tport *tp, enum wims_sip_proto proto,
					     const struct wims_addr *peer)
{
	struct wims_hnode *n = wims_hash_find(&tp->by_peer, peer_key(proto, peer));

	for (; n; n = wims_hash_next_same(n)) {
		struct wims_sip_flow *f = wims_container_of(n, struct wims_sip_flow, by_peer);
		if (f->proto == proto && f->alive && peer_eq(&f->peer, peer))
			return f;
	}
	return NULL;
}

struct wims_sip_flow *wims_sip_tport_flow_find(struct wims_sip_tport *tp, uint64_t id)
{
	struct wims_hnode *n = id ? wims_hash_find(&tp->by_id, id) : NULL;

	for (; n; n = wims_hash_next_same(n)) {
		struct wims_sip_flow *f = wims_container_of(n, struct wims_sip_flow, by_id);
		if (f->id == id && f->alive)
			return f;
	}
	return NULL;
}

void wims_sip__flow_publish(struct wims_sip_flow *f)
{
	if (f->alive)
		return;
	wims_hash_insert(&f->tp->by_id, &f->by_id, f->id);
	wims_hash_insert(&f->tp->by_peer, &f->by_peer, peer_key(f->proto, &f->peer));
	f->alive = true;
}

void wims_sip__flow_unpublish(struct wims_sip_flow *f)
{
	if (!f->alive)
		return;
	wims_hash_remove(&f->tp->by_id, &f->by_id);
	wims_hash_remove(&f->tp->by_peer, &f->by_peer);
	f->alive = false;
}

/* ---- flows ---- */

int wims_sip__flow_alloc(struct wims_sip_flow **fp, struct wims_sip_tport *tp, enum flow_kind kind,
			 enum wims_sip_proto proto)
{
	struct wims_sip_flow *f = calloc(1, sizeof(*f));

	if (!f)
		return -ENOMEM;
	f->tp = tp;
	f->refs = 1;
	f->kind = kind;
	f->proto = proto;
	f->id = atomic_fetch_add_explicit(&next_flow_id, 1, memory_order_relaxed);
	f->last_ms = uv_now(tp->loop);
	tp->refs++;
	*fp = f;
	return 0;
}

/* The connection of f is gone: tell the owner of the tport, drop the
 * connection's reference. */
void wims_sip__flow_ended(struct wims_sip_flow *f)
{
	struct wims_sip_tport *tp = f->tp;

	wims_sip__flow_unpublish(f);
	if (!f->gone) {
		f->gone = true;
		if (!tp->closing && tp->closed)
			tp->closed(f, tp->arg);
	}
	wims_sip_flow_deref(f);
}

void wims_sip_flow_ref(struct wims_sip_flow *f)
{
	if (f->kind != FLOW_UDP)
		f->refs++;
}

void wims_sip_flow_deref(struct wims_sip_flow *f)
{
	if (!f || f->kind == FLOW_UDP || --f->refs > 0)
		return;
	struct wims_sip_tport *tp = f->tp;
	if (f->kind == FLOW_STREAM)
		wims_sip__stream_free(f);
	free(f);
	wims_sip__tport_deref(tp);
}

void wims_sip__deliver(struct wims_sip_flow *f, const char *msg, size_t len)
{
	struct wims_sip_tport *tp = f->tp;

	if (!tp->closing && tp->recv)
		tp->recv(f, msg, len, tp->arg);
}

int wims_sip_flow_send(struct wims_sip_flow *f, const char *buf, size_t len)
{
	if (!f->alive)
		return -ENOTCONN;
	switch (f->kind) {
	case FLOW_UDP:
		return wims_sip__udp_send(f->tp, &f->peer, buf, len);
	case FLOW_STREAM:
		return wims_sip__stream_send(f, buf, len);
	case FLOW_EXTERNAL:
		return f->ops->send(f->conn, buf, len);
	}
	return -EINVAL;
}

void wims_sip_flow_close(struct wims_sip_flow *f)
{
	if (!f->alive || f->kind == FLOW_UDP) /* a UDP pseudo-flow is in no table */
		return;
	wims_sip__flow_unpublish(f);
	if (f->kind == FLOW_STREAM)
		wims_sip__stream_close(f);
	else if (f->kind == FLOW_EXTERNAL)
		f->ops->close(f->conn);
}

uint64_t wims_sip_flow_id(const struct wims_sip_flow *f)
{
	return f->kind == FLOW_UDP ? 0 : f->id;
}

enum wims_sip_proto wims_sip_flow_proto(const struct wims_sip_flow *f)
{
	return f->proto;
}

const struct wims_addr *wims_sip_flow_peer(const struct wims_sip_flow *f)
{
	return &f->peer;
}

const struct wims_addr *wims_sip_flow_local(const struct wims_sip_flow *f)
{
	return &f->local;
}

bool wims_sip_flow_alive(const struct wims_sip_flow *f)
{
	return f->alive;
}

/* ---- external flows ---- */

int wims_sip_flow_external(struct wims_sip_tport *tp, struct wims_sip_flow **fp, enum wims_sip_proto proto,
			   const struct wims_sip_flow_ops *ops, void *conn, const struct wims_addr *local,
			   const struct wims_addr *peer)
{
	struct wims_sip_flow *f;
	int r;

	if (tp->closing)
		return -ESHUTDOWN;
	if (proto == WIMS_SIP_UDP || !ops || !ops->send || !ops->close)
		return -EINVAL;
	r = wims_sip__flow_alloc(&f, tp, FLOW_EXTERNAL, proto);
	if (r < 0)
		return r;
	f->ops = ops;
	f->conn = conn;
	if (local)
		f->local = *local;
	f->peer = *peer;
	wims_sip__flow_publish(f);
	*fp = f;
	return 0;
}

void wims_sip_flow_input(struct wims_sip_flow *f, const char *msg, size_t len)
{
	if (!f->alive)
		return;
	if (len > WIMS_SIP_MAX_MESSAGE) {
		char peer[WIMS_ADDR_STRLEN] = "?";
		(void)wims_addr_str(&f->peer, peer, sizeof(peer));
		wims_log_rl(&ext_rl, WIMS_LOG_NOTICE,
			    "SIP over %s from %s: %zu-byte message over the %u-byte limit, dropped",
			    wims_sip_proto_name(f->proto), peer, len, WIMS_SIP_MAX_MESSAGE);
		return;
	}
	f->last_ms = uv_now(f->tp->loop);
	wims_sip_flow_ref(f);
	wims_sip__deliver(f, msg, len);
	wims_sip_flow_deref(f);
}

void wims_sip_flow_gone(struct wims_sip_flow *f)
{
	if (f->kind != FLOW_EXTERNAL || f->gone)
		return; /* an owner's second call must not drop someone else's reference */
	wims_sip__flow_ended(f);
}

/* ---- the tport ---- */

void wims_sip__tport_deref(struct wims_sip_tport *tp)
{
	if (--tp->refs > 0)
		return;
	wims_hash_fini(&tp->by_id);
	wims_hash_fini(&tp->by_peer);
	free(tp->udp_buf);
	free(tp);
}

static void on_idle_close(uv_handle_t *h)
{
	wims_sip__tport_deref(h->data);
}

/* A connection waiting too long for (the rest of) a message, or idle too
 * long with nobody holding its flow (see transport.h). */
static bool idle_check(struct wims_hnode *n, void *arg)
{
	struct wims_sip_flow *f = wims_container_of(n, struct wims_sip_flow, by_id);
	struct wims_sip_tport *tp = f->tp;
	uint64_t now = *(const uint64_t *)arg;
	char peer[WIMS_ADDR_STRLEN] = "?";

	if (f->kind != FLOW_STREAM)
		return false;
	if (tp->tcp_msg_s && f->waiting && now - f->wait_ms >= (uint64_t)tp->tcp_msg_s * 1000) {
		(void)wims_addr_str(&f->peer, peer, sizeof(peer));
		tp->ctr.closed_incomplete++;
		wims_log_rl(&idle_rl, WIMS_LOG_NOTICE, "SIP %s connection with %s: %s within %us, closing",
			    wims_sip_proto_name(f->proto), peer,
			    f->rlen ? "message not complete" : "no message", tp->tcp_msg_s);
		wims_sip_flow_close(f); /* removes n, which the walk allows */
	} else if (tp->tcp_idle_s && f->refs == 1 && now - f->last_ms >= (uint64_t)tp->tcp_idle_s * 1000) {
		(void)wims_addr_str(&f->peer, peer, sizeof(peer));
		tp->ctr.closed_idle++;
		wims_log(WIMS_LOG_DEBUG, "SIP %s connection with %s idle for %us, closing",
			 wims_sip_proto_name(f->proto), peer, tp->tcp_idle_s);
		wims_sip_flow_close(f);
	}
	return false;
}

static void on_idle(uv_timer_t *t)
{
	struct wims_sip_tport *tp = t->data;
	uint64_t now = uv_now(tp->loop);

	wims_hash_walk(&tp->by_id, idle_check, &now);
}

static void idle_start(struct wims_sip_tport *tp)
{
	/* closes within 1.25 x the shorter bound */
	unsigned s = tp->tcp_idle_s;
	uint64_t every;

	if (tp->tcp_msg_s && (!s || tp->tcp_msg_s < s))
		s = tp->tcp_msg_s;
	every = (uint64_t)s * 250;

	if (every > 30000)
		every = 30000;
	uv_timer_init(tp->loop, &tp->idle);
	tp->idle.data = tp;
	tp->refs++;
	tp->idle_on = true;
	uv_timer_start(&tp->idle, on_idle, every, every);
	uv_unref((uv_handle_t *)&tp->idle); /* alone, it does not keep the loop running */
}

int wims_sip_tport_alloc(struct wims_sip_tport **tpp, uv_loop_t *loop, const struct wims_sip_tport_cfg *cfg,
			 wims_sip_recv_h *recv, wims_sip_flow_closed_h *closed, void *arg)
{
	struct wims_sip_tport *tp;
	int r;

	if (cfg->tls && !cfg->tls_server)
		return -EINVAL;
	tp = calloc(1, sizeof(*tp));
	if (!tp)
		return -ENOMEM;
	tp->loop = loop;
	tp->refs = 1;
	tp->recv = recv;
	tp->closed = closed;
	tp->arg = arg;
	tp->udp_mtu = cfg->udp_mtu ? cfg->udp_mtu : 1300;
	tp->tcp_idle_s = cfg->tcp_idle_s;
	tp->tcp_msg_s = cfg->tcp_message_timeout_s;
	tp->max_tcp_in = cfg->max_tcp_connections;
	tp->tls_server = cfg->tls_server;
	tp->tls_client = cfg->tls_client;
	if ((r = wims_hash_init(&tp->by_id, 64)) < 0 || (r = wims_hash_init(&tp->by_peer, 64)) < 0) {
		wims_hash_fini(&tp->by_id);
		free(tp);
		return r;
	}
	if ((cfg->udp && (r = wims_sip__udp_open(tp, cfg->udp)) < 0) ||
	    (cfg->tcp && (r = wims_sip__stream_listen(tp, cfg->tcp, false)) < 0) ||
	    (cfg->tls && (r = wims_sip__stream_listen(tp, cfg->tls, true)) < 0)) {
		wims_sip_tport_close(tp); /* handles close as the loop runs */
		return r;
	}
	if (tp->tcp_idle_s || tp->tcp_msg_s)
		idle_start(tp);
	*tpp = tp;
	return 0;
}

static bool close_flow(struct wims_hnode *n, void *arg)
{
	wims_sip_flow_close(wims_container_of(n, struct wims_sip_flow, by_id));
	return false;
}

void wims_sip_tport_close(struct wims_sip_tport *tp)
{
	if (!tp || tp->closing)
		return;
	tp->closing = true;
	wims_sip__stream_stop(tp);
	wims_sip__udp_close(tp);
	if (tp->idle_on) {
		tp->idle_on = false;
		uv_close((uv_handle_t *)&tp->idle, on_idle_close);
	}
	wims_hash_walk(&tp->by_id, close_flow, NULL);
	wims_sip__tport_deref(tp);
}

void wims_sip_tport_counters(const struct wims_sip_tport *tp, struct wims_sip_tport_counters *c)
{
	*c = tp->ctr;
}

int wims_sip_tport_local(const struct wims_sip_tport *tp, enum wims_sip_proto proto, struct wims_addr *out)
{
	if (proto == WIMS_SIP_UDP && tp->udp_on)
		*out = tp->udp_local;
	else if (proto == WIMS_SIP_TCP && tp->tcp_l)
		*out = tp->tcp_local;
	else if (proto == WIMS_SIP_TLS && tp->tls_l)
		*out = tp->tls_local;
	else
		return -ENOENT;
	return 0;
}

int wims_sip_tport_send(struct wims_sip_tport *tp, enum wims_sip_proto proto, const struct wims_addr *dst,
			const char *buf, size_t len, bool is_request, struct wims_sip_flow **used)
{
	struct wims_sip_flow *f;
	int r;

	if (used)
		*used = NULL;
	if (tp->closing)
		return -ESHUTDOWN;
	if (proto == WIMS_SIP_UDP) {
		/* RFC 3261 §18.1.1: a request within 200 bytes of the path MTU, or
		 * over 1300 bytes when it is unknown, MUST go over a congestion-
		 * controlled transport.  udp_mtu is that threshold. */
		if (!is_request || len <= tp->udp_mtu)
			return tp->udp_on ? wims_sip__udp_send(tp, dst, buf, len) : -ENOTSUP;
		proto = WIMS_SIP_TCP;
	}
	f = wims_sip__flow_by_peer(tp, proto, dst);
	if (!f) {
		if (proto != WIMS_SIP_TCP && proto != WIMS_SIP_TLS)
			return -ENOTCONN; /* WebSocket flows are only ever accepted */
		if ((r = wims_sip__stream_connect(&f, tp, proto, dst)) < 0)
			return r;
	}
	r = wims_sip_flow_send(f, buf, len);
	if (used)
		*used = f;
	return r;
}
