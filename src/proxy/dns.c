/* The role's next hop given as a domain name ([pcscf] scscf, [iwu] pcscf):
 * resolved per RFC 3263 (sip/resolve.h) on the signalling loop, never
 * blocking.
 *
 * - Requests that go to the next hop wait (in a bounded queue) while the
 *   first resolution runs, then go through wims_proxy_recv again.
 * - The targets are used best first; one a transaction found dead (timeout,
 *   503, a failed send) is skipped for PX_DNS_DOWN_MS, and that transaction
 *   goes on to the next target of the same transport (RFC 3263 §4.3).
 * - When the TTL runs out the name is looked up again in the background,
 *   the old targets serving meanwhile.
 * - When DNS gives nothing, the static fallback list is used ([pcscf]
 *   scscf_fallback, [iwu] pcscf_fallback); without one, requests get 503. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "proxy/px.h"
#include "sip/resolve.h"

#define PX_DNS_QUEUE 64         /* requests waiting for a resolution */
#define PX_DNS_DOWN_MS 30000    /* a dead target is skipped this long */
#define PX_DNS_RETRY_MS 5000    /* after a failed lookup, 503 at once this long */
#define PX_DNS_FALLBACK_S 30    /* the static fallback is used this long before DNS is asked again */
#define PX_DNS_MIN_TTL_S 1      /* a TTL of 0 would mean a lookup per request */
#define PX_DNS_MAX_FALLBACK 8

struct px_dwait {
	struct px_dwait *next;
	char *msg;
	size_t len;
	struct wims_sip_flow *flow; /* referenced; NULL: it came over UDP from peer */
	struct wims_addr peer;
};

struct px_dns {
	struct wims_sip_resolver *res;
	char uri[WIMS_CONF_STR];
	struct wims_sip_target fb[PX_DNS_MAX_FALLBACK];
	size_t nfb;
	struct wims_sip_target t[WIMS_SIP_RES_MAX_TARGETS];
	uint64_t down_until[WIMS_SIP_RES_MAX_TARGETS];
	size_t n;
	bool have;           /* t[] is usable */
	bool resolving;      /* a lookup in flight */
	uint64_t expires;    /* when t[] should be looked up again (ms, uv_now) */
	uint64_t failed_until;
	struct px_dwait *q, **qtail;
	size_t qn;
};

static struct wims_ratelimit rl_dns = WIMS_RATELIMIT_INIT(10000, 10);

static void dwait_free(struct px_dwait *w)
{
	if (w->flow)
		wims_sip_flow_deref(w->flow);
	free(w->msg);
	free(w);
}

/* "host:port[/udp|/tcp|/tls], ..." */
static int parse_fallback(struct px_dns *d, const char *s, enum wims_sip_proto dflt, char *err, size_t errlen)
{
	struct wims_str all = wims_str_c(s);

	while (all.l) {
		const char *comma = memchr(all.p, ',', all.l);
		struct wims_str item = wims_str_make(all.p, comma ? (size_t)(comma - all.p) : all.l);
		all = comma ? wims_str_make(comma + 1, all.l - item.l - 1) : wims_str_make(all.p + all.l, 0);
		item = wims_str_trim(item);
		if (!item.l)
			continue;
		enum wims_sip_proto p = dflt;
		const char *slash = memchr(item.p, '/', item.l);
		if (slash) {
			struct wims_str tp = wims_str_make(slash + 1, item.l - (size_t)(slash + 1 - item.p));
			p = wims_str_eqic(tp, "udp") ? WIMS_SIP_UDP : wims_str_eqic(tp, "tcp") ? WIMS_SIP_TCP
						      : wims_str_eqic(tp, "tls") ? WIMS_SIP_TLS : 0;
			item.l = (size_t)(slash - item.p);
		}
		if (d->nfb >= PX_DNS_MAX_FALLBACK || !p ||
		    wims_addr_parse(&d->fb[d->nfb].addr, item, p == WIMS_SIP_TLS ? 5061 : 5060)) {
			snprintf(err, errlen, "fallback '%s': a list of at most %d numeric host:port[/udp|/tcp|/tls]", s,
				 PX_DNS_MAX_FALLBACK);
			return -EINVAL;
		}
		d->fb[d->nfb++].proto = p;
	}
	return 0;
}

int wims_proxy__dns_init(struct wims_proxy *px, const char *uri, const char *fallback, enum wims_sip_proto dflt,
			 char *err, size_t errlen)
{
	const struct wims_conf *c = px->conf;
	struct wims_sip_res_conf rc = {
		.servers = c->dns_servers, .timeout_ms = c->dns_timeout_ms, .tries = c->dns_tries,
		.cache_max = c->dns_cache_max};
	struct px_dns *d = calloc(1, sizeof(*d));
	int rc_;

	if (!d)
		return -ENOMEM;
	d->qtail = &d->q;
	snprintf(d->uri, sizeof(d->uri), "%s", uri);
	if ((rc_ = parse_fallback(d, fallback, dflt, err, errlen))) {
		free(d);
		return rc_;
	}
	if ((rc_ = wims_sip_resolver_alloc(&d->res, px->loop, &rc))) {
		snprintf(err, errlen, "[dns] servers '%s': %s", c->dns_servers,
			 rc_ == -EINVAL ? "not a list of ip[:port]" : strerror(-rc_));
		free(d);
		return rc_;
	}
	px->dns = d;
	wims_log(WIMS_LOG_INFO, "next hop %s: resolved by DNS (RFC 3263)%s", uri,
		 d->nfb ? ", with a static fallback" : "");
	return 0;
}

/* The best target not marked dead (else the one dead the longest) becomes
 * the role's next hop. */
static void pick(struct wims_proxy *px, uint64_t now)
{
	struct px_dns *d = px->dns;
	size_t best = 0;

	for (size_t i = 0; i < d->n; i++) {
		if (d->down_until[i] <= now) {
			best = i;
			break;
		}
		if (d->down_until[i] < d->down_until[best])
			best = i;
	}
	px->next_addr = d->t[best].addr;
	px->next_proto = d->t[best].proto;
}

/* A target found dead stays skipped across a refresh of the list. */
static void set_targets(struct px_dns *d, const struct wims_sip_target *t, size_t n)
{
	uint64_t down[WIMS_SIP_RES_MAX_TARGETS] = {0};

	n = n < WIMS_SIP_RES_MAX_TARGETS ? n : WIMS_SIP_RES_MAX_TARGETS;
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < d->n; k++)
			if (d->t[k].proto == t[i].proto && wims_addr_eq(&d->t[k].addr, &t[i].addr))
				down[i] = d->down_until[k];
	d->n = n;
	memcpy(d->t, t, n * sizeof(*t));
	memcpy(d->down_until, down, sizeof(down));
	d->have = n > 0;
}

static void log_targets(const struct px_dns *d, const char *what)
{
	char b[WIMS_ADDR_STRLEN];

	if (!d->n || wims_addr_str(&d->t[0].addr, b, sizeof(b)))
		return;
	wims_log(WIMS_LOG_INFO, "dns: %s -> %zu %s target(s), first %s %s", d->uri, d->n, what,
		 wims_sip_proto_name(d->t[0].proto), b);
}

/* Everything that waited goes through wims_proxy_recv again. */
static void release_queue(struct wims_proxy *px)
{
	struct px_dns *d = px->dns;
	struct px_dwait *w = d->q;

	d->q = NULL;
	d->qtail = &d->q;
	d->qn = 0;
	while (w) {
		struct px_dwait *next = w->next;
		if (w->flow) {
			if (wims_sip_flow_alive(w->flow))
				wims_proxy_recv(px, w->flow, w->msg, w->len);
		} else {
			wims_sip_tport_udp_inject(px->tp, &w->peer, w->msg, w->len);
		}
		dwait_free(w);
		w = next;
	}
}

static void apply(struct wims_proxy *px, int err, const struct wims_sip_res_result *res)
{
	struct px_dns *d = px->dns;
	uint64_t now = uv_now(px->loop);

	if (!err && res && res->n) {
		set_targets(d, res->t, res->n);
		d->expires = now + 1000ULL * (res->ttl > PX_DNS_MIN_TTL_S ? res->ttl : PX_DNS_MIN_TTL_S);
		log_targets(d, "DNS");
	} else if (d->nfb) {
		wims_log_rl(&rl_dns, WIMS_LOG_WARN, "dns: %s: %s; using the static fallback", d->uri,
			    err == -ENOENT ? "no target" : strerror(-err));
		set_targets(d, d->fb, d->nfb);
		d->expires = now + 1000ULL * PX_DNS_FALLBACK_S;
		log_targets(d, "fallback");
	} else if (!d->have) {
		/* a refresh that failed keeps the old targets; a first one fails requests */
		wims_log_rl(&rl_dns, WIMS_LOG_WARN, "dns: %s: %s and no fallback: requests get 503", d->uri,
			    err == -ENOENT ? "no target" : strerror(-err));
		d->failed_until = now + PX_DNS_RETRY_MS;
	} else {
		d->expires = now + PX_DNS_RETRY_MS;
	}
}

static void on_resolved(int err, const struct wims_sip_res_result *res, void *arg)
{
	struct wims_proxy *px = arg;

	px->dns->resolving = false;
	if (err == -ECANCELED)
		return; /* being freed: the queue goes with it */
	apply(px, err, res);
	release_queue(px);
}

static void start(struct wims_proxy *px)
{
	struct px_dns *d = px->dns;
	struct wims_sip_res_result res;
	int rc;

	if (d->resolving)
		return;
	d->resolving = true; /* the callback may run before resolve returns */
	rc = wims_sip_resolve(d->res, wims_str_c(d->uri), &res, on_resolved, px);
	if (rc == -EINPROGRESS)
		return;
	d->resolving = false;
	apply(px, rc, rc ? NULL : &res);
	release_queue(px);
}

static bool queue(struct wims_proxy *px, const struct wims_sip_msg *m, struct wims_sip_flow *in)
{
	struct px_dns *d = px->dns;
	struct px_dwait *w;

	for (w = d->q; w; w = w->next) /* a retransmission of one waiting */
		if (w->len == m->raw.l && memcmp(w->msg, m->raw.p, m->raw.l) == 0)
			return true;
	if (d->qn >= PX_DNS_QUEUE) {
		if (m->method_id != WIMS_SIP_ACK)
			wims_proxy__reply(px, m, in, 503, "Next Hop Being Resolved",
					  wims_str_c("Retry-After: 5\r\n"));
		return true;
	}
	if (!(w = calloc(1, sizeof(*w))) || !(w->msg = malloc(m->raw.l))) {
		free(w);
		if (m->method_id != WIMS_SIP_ACK)
			wims_proxy__reply(px, m, in, 500, "Out Of Memory", WIMS_STR_NULL);
		return true;
	}
	memcpy(w->msg, m->raw.p, m->raw.l);
	w->len = m->raw.l;
	if (wims_sip_flow_proto(in) == WIMS_SIP_UDP) {
		w->peer = *wims_sip_flow_peer(in);
	} else {
		w->flow = in;
		wims_sip_flow_ref(in);
	}
	*d->qtail = w;
	d->qtail = &w->next;
	d->qn++;
	return true;
}

bool wims_proxy__dns_hold(struct wims_proxy *px, const struct wims_sip_msg *m, struct wims_sip_flow *in)
{
	struct px_dns *d = px->dns;
	uint64_t now;

	if (!d)
		return false;
	now = uv_now(px->loop);
	if (d->have) {
		if (now >= d->expires)
			start(px); /* in the background: the old targets serve meanwhile */
		if (d->have) {
			pick(px, now);
			return false;
		}
	}
	if (now < d->failed_until) {
		if (m->method_id != WIMS_SIP_ACK)
			wims_proxy__reply(px, m, in, 503, "Next Hop Not Resolved", wims_str_c("Retry-After: 5\r\n"));
		return true;
	}
	/* queued first: a resolution that ends at once re-injects it */
	queue(px, m, in);
	start(px);
	return true;
}

bool wims_proxy__dns_next(struct wims_proxy *px, const struct px_hop *down, struct wims_addr *next, const char *why)
{
	struct px_dns *d = px->dns;
	uint64_t now;
	size_t i, k;
	char a[WIMS_ADDR_STRLEN], b[WIMS_ADDR_STRLEN];

	if (!d || !d->have)
		return false;
	now = uv_now(px->loop);
	for (i = 0; i < d->n; i++)
		if (d->t[i].proto == down->proto && wims_addr_eq(&d->t[i].addr, &down->addr))
			break;
	if (i == d->n)
		return false;
	d->down_until[i] = now + PX_DNS_DOWN_MS;
	/* RFC 3263 §4.3: the next target, of the transport the request was written for */
	for (k = 0; k < d->n; k++)
		if (k != i && d->down_until[k] <= now && d->t[k].proto == down->proto)
			break;
	pick(px, now);
	if (k == d->n)
		return false;
	if (wims_addr_str(&d->t[i].addr, a, sizeof(a)) || wims_addr_str(&d->t[k].addr, b, sizeof(b)))
		a[0] = b[0] = 0;
	wims_log(WIMS_LOG_INFO, "dns: %s: %s %s, trying %s", d->uri, a, why, b);
	*next = d->t[k].addr;
	return true;
}

void wims_proxy__dns_free(struct wims_proxy *px)
{
	struct px_dns *d = px->dns;

	if (!d)
		return;
	wims_sip_resolver_free(d->res); /* on_resolved runs with -ECANCELED */
	while (d->q) {
		struct px_dwait *w = d->q;
		d->q = w->next;
		dwait_free(w);
	}
	free(d);
	px->dns = NULL;
}
