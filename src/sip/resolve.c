/* RFC 3263 §4 server location with c-ares on a libuv loop.
 *
 * A lookup (a "job") goes through up to three stages, each a set of
 * queries in flight at once:
 *
 *   NAPTR host  ->  SRV _sip._udp.host ...  ->  A + AAAA of each SRV target
 *
 * A numeric host needs none, an explicit port only the last, a transport
 * parameter the last two.  The answers are parsed by c-ares
 * (ares_parse_naptr_reply, ares_parse_srv_reply, ares_parse_a_reply,
 * ares_parse_aaaa_reply); only their TTLs are read here, with a bounded
 * cursor (wims_sip_res__min_ttl), since c-ares 1.18 gives none for NAPTR
 * and SRV. */
#include "sip/resolve.h"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/log.h"
#include "sip/msg.h"

#define RES_MAX_NAMES 6 /* SRV names asked for one URI */
#define RES_KEY_MAX 256

struct res_sock {
	uv_poll_t poll;
	ares_socket_t fd;
	struct wims_sip_resolver *r;
	struct res_sock *next;
};

struct res_cache {
	char key[RES_KEY_MAX];
	uint64_t expires; /* uv_now() ms */
	struct wims_sip_res_result res;
};

struct wims_sip_resolver {
	uv_loop_t *loop;
	ares_channel ch;
	bool ch_ok;
	uv_timer_t timer;
	unsigned handles; /* open libuv handles: freed when 0 and closing */
	bool closing;
	struct res_sock *socks;
	struct res_cache *cache;
	size_t cache_n, cache_max;
	uint64_t queries;
	uint64_t rnd;
};

struct res_job;
struct res_slot { /* the context of one query */
	struct res_job *j;
	unsigned idx;
};

struct res_name { /* an SRV name to ask for */
	char name[WIMS_SIP_RES_MAX_NAME];
	enum wims_sip_proto proto;
	struct res_slot slot;
	struct wims_sip_res_srv srv[WIMS_SIP_RES_MAX_SRV];
	size_t nsrv;
};

struct res_host { /* a host whose addresses are wanted */
	char name[WIMS_SIP_RES_MAX_NAME];
	uint16_t port;
	enum wims_sip_proto proto;
	struct res_slot sa, saaaa;
	struct wims_addr a[4], aaaa[4];
	size_t na, naaaa;
};

struct res_job {
	struct wims_sip_resolver *r;
	char key[RES_KEY_MAX];
	char host[WIMS_SIP_RES_MAX_NAME];
	uint16_t port;             /* 0: none in the URI */
	enum wims_sip_proto proto; /* 0: no transport parameter */
	bool sips;
	unsigned pending;
	bool cancelled;
	int err;                   /* the first query error other than "no data" */
	uint32_t ttl;
	struct res_slot snaptr;
	struct res_name names[RES_MAX_NAMES];
	size_t nnames;
	struct res_host hosts[WIMS_SIP_RES_MAX_TARGETS];
	size_t nhosts;
	wims_sip_res_h *cb;
	void *arg;
};

static struct wims_ratelimit rl_res = WIMS_RATELIMIT_INIT(10000, 10);

/* ---- the TTL of an answer (RFC 1035 §4.1) ----
 *
 *  header: id(2) flags(2) qdcount(2) ancount(2) nscount(2) arcount(2)
 *  question: qname qtype(2) qclass(2)
 *  answer RR: name type(2) class(2) ttl(4) rdlength(2) rdata(rdlength)
 */
struct cur {
	const unsigned char *p;
	size_t left;
};

static int cur_skip(struct cur *c, size_t n)
{
	if (c->left < n)
		return -EINVAL;
	c->p += n;
	c->left -= n;
	return 0;
}

static int cur_u16(struct cur *c, uint16_t *v)
{
	if (c->left < 2)
		return -EINVAL;
	*v = (uint16_t)(c->p[0] << 8 | c->p[1]);
	return cur_skip(c, 2);
}

static int cur_u32(struct cur *c, uint32_t *v)
{
	if (c->left < 4)
		return -EINVAL;
	*v = (uint32_t)c->p[0] << 24 | (uint32_t)c->p[1] << 16 | (uint32_t)c->p[2] << 8 | c->p[3];
	return cur_skip(c, 4);
}

/* A name in place: labels up to a zero byte or a compression pointer
 * (which ends the name here; where it points is not followed). */
static int cur_name(struct cur *c)
{
	for (unsigned labels = 0; labels < 128; labels++) {
		if (c->left < 1)
			return -EINVAL;
		unsigned char l = c->p[0];
		if (l == 0)
			return cur_skip(c, 1);
		if ((l & 0xc0) == 0xc0)
			return cur_skip(c, 2);
		if (l & 0xc0)
			return -EINVAL; /* 0x40/0x80: reserved label types */
		if (cur_skip(c, 1u + l))
			return -EINVAL;
	}
	return -EINVAL;
}

int wims_sip_res__min_ttl(const unsigned char *buf, size_t len, uint32_t *ttl)
{
	struct cur c = {buf, len};
	uint16_t qd, an, type, cls, rdlen;
	uint32_t t, min = WIMS_SIP_RES_MAX_TTL;

	if (cur_skip(&c, 4) || cur_u16(&c, &qd) || cur_u16(&c, &an) || cur_skip(&c, 4))
		return -EINVAL;
	for (unsigned i = 0; i < qd; i++)
		if (cur_name(&c) || cur_skip(&c, 4))
			return -EINVAL;
	for (unsigned i = 0; i < an; i++) {
		if (cur_name(&c) || cur_u16(&c, &type) || cur_u16(&c, &cls) || cur_u32(&c, &t) ||
		    cur_u16(&c, &rdlen) || cur_skip(&c, rdlen))
			return -EINVAL;
		/* RFC 2181 §8: a TTL with the top bit set counts as 0 */
		if (t & 0x80000000u)
			t = 0;
		if (t < min)
			min = t;
	}
	*ttl = min;
	return 0;
}

/* ---- RFC 2782 ordering ---- */

void wims_sip_res__srv_order(struct wims_sip_res_srv *s, size_t n, uint32_t (*rnd)(void *), void *rarg)
{
	struct wims_sip_res_srv tmp;

	/* by priority, lowest first; within one, weight 0 first (RFC 2782) */
	for (size_t i = 1; i < n; i++)
		for (size_t k = i; k > 0; k--) {
			struct wims_sip_res_srv *a = &s[k - 1], *b = &s[k];
			if (a->prio < b->prio || (a->prio == b->prio && (a->weight == 0 || b->weight != 0)))
				break;
			tmp = *a;
			*a = *b;
			*b = tmp;
		}
	for (size_t i = 0; i < n;) {
		size_t end = i;
		while (end < n && s[end].prio == s[i].prio)
			end++;
		/* "compute the sum of the weights of those RRs, and with each RR
		 *  associate the running sum ... choose a uniform random number
		 *  between 0 and the sum ... select the RR whose running sum value
		 *  is the first in the selected order which is greater than or
		 *  equal to the random number selected" */
		for (size_t k = i; k + 1 < end; k++) {
			uint64_t sum = 0, run = 0, pick;
			size_t sel = k;
			for (size_t m = k; m < end; m++)
				sum += s[m].weight;
			pick = sum ? (uint64_t)rnd(rarg) % (sum + 1) : 0;
			for (size_t m = k; m < end; m++) {
				run += s[m].weight;
				if (run >= pick) {
					sel = m;
					break;
				}
			}
			/* keep the rest in order (weight 0 ones stay first) */
			if (sel == k)
				continue;
			tmp = s[sel];
			memmove(&s[k + 1], &s[k], (sel - k) * sizeof(*s));
			s[k] = tmp;
		}
		i = end;
	}
}

static uint32_t res_rnd(void *arg)
{
	struct wims_sip_resolver *r = arg;
	/* xorshift64*: enough to spread load, not for secrets */
	r->rnd ^= r->rnd >> 12;
	r->rnd ^= r->rnd << 25;
	r->rnd ^= r->rnd >> 27;
	return (uint32_t)((r->rnd * 2685821657736338717ULL) >> 32);
}

/* ---- the cache ---- */

static struct res_cache *cache_find(struct wims_sip_resolver *r, const char *key)
{
	uint64_t now = uv_now(r->loop);

	for (size_t i = 0; i < r->cache_n; i++) {
		struct res_cache *e = &r->cache[i];
		if (strcasecmp(e->key, key))
			continue;
		if (e->expires > now)
			return e;
		r->cache[i] = r->cache[--r->cache_n]; /* expired */
		return NULL;
	}
	return NULL;
}

static void cache_put(struct wims_sip_resolver *r, const char *key, const struct wims_sip_res_result *res)
{
	struct res_cache *e = NULL;

	if (!r->cache_max || !res->ttl)
		return;
	for (size_t i = 0; i < r->cache_n && !e; i++)
		if (!strcasecmp(r->cache[i].key, key))
			e = &r->cache[i];
	if (!e && r->cache_n < r->cache_max)
		e = &r->cache[r->cache_n++];
	if (!e) { /* full: replace the one expiring first */
		e = &r->cache[0];
		for (size_t i = 1; i < r->cache_n; i++)
			if (r->cache[i].expires < e->expires)
				e = &r->cache[i];
	}
	snprintf(e->key, sizeof(e->key), "%s", key);
	e->res = *res;
	e->expires = uv_now(r->loop) + (uint64_t)res->ttl * 1000;
}

void wims_sip_resolver_flush(struct wims_sip_resolver *r)
{
	r->cache_n = 0;
}

uint64_t wims_sip_resolver_queries(const struct wims_sip_resolver *r)
{
	return r->queries;
}

/* ---- c-ares on libuv ---- */

static void arm_timer(struct wims_sip_resolver *r);

static void on_sock_closed(uv_handle_t *h)
{
	struct res_sock *s = h->data;
	struct wims_sip_resolver *r = s->r;

	free(s);
	if (--r->handles == 0 && r->closing) {
		free(r->cache);
		free(r);
	}
}

static void on_poll(uv_poll_t *h, int status, int events)
{
	struct res_sock *s = h->data;
	struct wims_sip_resolver *r = s->r;
	ares_socket_t fd = s->fd;

	/* an error: let c-ares read, it notices the failure */
	ares_process_fd(r->ch, (events & UV_READABLE) || status < 0 ? fd : ARES_SOCKET_BAD,
			(events & UV_WRITABLE) ? fd : ARES_SOCKET_BAD);
	arm_timer(r);
}

static void sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct wims_sip_resolver *r = data;
	struct res_sock **pp = &r->socks, *s;

	while (*pp && (*pp)->fd != fd)
		pp = &(*pp)->next;
	s = *pp;
	if (!readable && !writable) {
		if (s) {
			*pp = s->next;
			uv_poll_stop(&s->poll);
			uv_close((uv_handle_t *)&s->poll, on_sock_closed);
		}
		return;
	}
	if (!s) {
		if (!(s = calloc(1, sizeof(*s))))
			return; /* the query times out */
		if (uv_poll_init_socket(r->loop, &s->poll, fd)) {
			free(s);
			return;
		}
		s->fd = fd;
		s->r = r;
		s->poll.data = s;
		s->next = r->socks;
		r->socks = s;
		r->handles++;
	}
	uv_poll_start(&s->poll, (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0), on_poll);
}

static void on_timer(uv_timer_t *h)
{
	struct wims_sip_resolver *r = h->data;

	ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	arm_timer(r);
}

static void arm_timer(struct wims_sip_resolver *r)
{
	struct timeval tv, *tp;

	if (r->closing)
		return;
	tp = ares_timeout(r->ch, NULL, &tv);
	if (!tp) {
		uv_timer_stop(&r->timer);
		return;
	}
	uv_timer_start(&r->timer, on_timer, (uint64_t)tp->tv_sec * 1000 + (uint64_t)tp->tv_usec / 1000 + 1, 0);
}

static void on_timer_closed(uv_handle_t *h)
{
	struct wims_sip_resolver *r = h->data;

	if (--r->handles == 0) {
		free(r->cache);
		free(r);
	}
}

int wims_sip_resolver_alloc(struct wims_sip_resolver **rp, uv_loop_t *loop, const struct wims_sip_res_conf *conf)
{
	struct wims_sip_resolver *r = calloc(1, sizeof(*r));
	struct ares_options o = {0};
	int mask = ARES_OPT_SOCK_STATE_CB, rc;

	if (!r)
		return -ENOMEM;
	r->loop = loop;
	r->cache_max = conf->cache_max;
	if (r->cache_max && !(r->cache = calloc(r->cache_max, sizeof(*r->cache)))) {
		free(r);
		return -ENOMEM;
	}
	r->rnd = uv_hrtime() ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)r;
	if (!r->rnd)
		r->rnd = 1;
	o.sock_state_cb = sock_state;
	o.sock_state_cb_data = r;
	if (conf->timeout_ms) {
		o.timeout = (int)conf->timeout_ms;
		mask |= ARES_OPT_TIMEOUTMS;
	}
	if (conf->tries) {
		o.tries = (int)conf->tries;
		mask |= ARES_OPT_TRIES;
	}
	if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS || ares_init_options(&r->ch, &o, mask) != ARES_SUCCESS) {
		free(r->cache);
		free(r);
		return -EIO;
	}
	if (conf->servers && conf->servers[0] &&
	    (rc = ares_set_servers_ports_csv(r->ch, conf->servers)) != ARES_SUCCESS) {
		ares_destroy(r->ch);
		free(r->cache);
		free(r);
		return rc == ARES_ENOMEM ? -ENOMEM : -EINVAL;
	}
	r->ch_ok = true;
	uv_timer_init(loop, &r->timer);
	r->timer.data = r;
	r->handles = 1;
	*rp = r;
	return 0;
}

void wims_sip_resolver_free(struct wims_sip_resolver *r)
{
	if (!r)
		return;
	/* runs every pending callback with ARES_EDESTRUCTION and closes the
	 * sockets (sock_state closes their polls) */
	ares_destroy(r->ch);
	r->closing = true;
	while (r->socks) {
		struct res_sock *s = r->socks;
		r->socks = s->next;
		uv_poll_stop(&s->poll);
		uv_close((uv_handle_t *)&s->poll, on_sock_closed);
	}
	uv_timer_stop(&r->timer);
	uv_close((uv_handle_t *)&r->timer, on_timer_closed);
}

/* ---- jobs ---- */

static void job_query(struct res_job *j, const char *name, int type, ares_callback cb, struct res_slot *slot)
{
	j->pending++;
	j->r->queries++;
	wims_log(WIMS_LOG_DEBUG, "dns: query %s type %d", name, type);
	ares_query(j->r->ch, name, ns_c_in, type, cb, slot);
}

static void job_ttl(struct res_job *j, const unsigned char *abuf, int alen)
{
	uint32_t t;

	if (abuf && alen > 0 && wims_sip_res__min_ttl(abuf, (size_t)alen, &t) == 0 && t < j->ttl)
		j->ttl = t;
}

static void job_note_status(struct res_job *j, int status)
{
	if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED)
		j->cancelled = true;
	else if (status == ARES_ETIMEOUT && !j->err)
		j->err = -ETIMEDOUT;
	else if (status == ARES_ECONNREFUSED && !j->err)
		j->err = -ECONNREFUSED;
	else if (status != ARES_SUCCESS && status != ARES_ENODATA && status != ARES_ENOTFOUND && !j->err)
		j->err = -EIO;
}

static uint16_t default_port(enum wims_sip_proto p)
{
	return p == WIMS_SIP_TLS ? 5061 : 5060;
}

static void job_finish(struct res_job *j)
{
	struct wims_sip_res_result res = {.n = 0, .ttl = j->ttl};
	int err;

	for (size_t i = 0; i < j->nhosts; i++) {
		struct res_host *h = &j->hosts[i];
		for (size_t k = 0; k < h->na + h->naaaa && res.n < WIMS_SIP_RES_MAX_TARGETS; k++) {
			struct wims_sip_target *t = &res.t[res.n++];
			t->proto = h->proto;
			t->addr = k < h->na ? h->a[k] : h->aaaa[k - h->na];
			wims_addr_set_port(&t->addr, h->port);
		}
	}
	err = j->cancelled ? -ECANCELED : res.n ? 0 : j->err ? j->err : -ENOENT;
	if (!err)
		cache_put(j->r, j->key, &res);
	else if (err != -ECANCELED)
		wims_log_rl(&rl_res, WIMS_LOG_INFO, "dns: %s: %s", j->key,
			    err == -ENOENT ? "no SIP server found" : strerror(-err));
	j->cb(err, err ? NULL : &res, j->arg);
	free(j);
}

static void on_addr(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct res_slot *s = arg;
	struct res_job *j = s->j;
	struct res_host *h = &j->hosts[s->idx];
	bool v6 = s == &h->saaaa;
	struct ares_addrttl t4[4];
	struct ares_addr6ttl t6[4];
	int n = 4;

	job_note_status(j, status);
	if (status == ARES_SUCCESS && !j->cancelled) {
		job_ttl(j, abuf, alen);
		if (!v6 && ares_parse_a_reply(abuf, alen, NULL, t4, &n) == ARES_SUCCESS) {
			for (int i = 0; i < n && h->na < 4; i++) {
				struct wims_addr *a = &h->a[h->na++];
				memset(a, 0, sizeof(*a));
				a->u.in.sin_family = AF_INET;
				a->u.in.sin_addr = t4[i].ipaddr;
			}
		} else if (v6 && ares_parse_aaaa_reply(abuf, alen, NULL, t6, &n) == ARES_SUCCESS) {
			for (int i = 0; i < n && h->naaaa < 4; i++) {
				struct wims_addr *a = &h->aaaa[h->naaaa++];
				memset(a, 0, sizeof(*a));
				a->u.in6.sin6_family = AF_INET6;
				memcpy(&a->u.in6.sin6_addr, &t6[i].ip6addr, sizeof(a->u.in6.sin6_addr));
			}
		}
	}
	if (--j->pending == 0)
		job_finish(j);
}

static void stage_hosts(struct res_job *j)
{
	if (j->cancelled || !j->nhosts) {
		job_finish(j);
		return;
	}
	/* every query is sent before any callback can finish the job */
	j->pending++;
	for (size_t i = 0; i < j->nhosts; i++) {
		struct res_host *h = &j->hosts[i];
		h->sa = (struct res_slot){j, (unsigned)i};
		h->saaaa = (struct res_slot){j, (unsigned)i};
		job_query(j, h->name, ns_t_a, on_addr, &h->sa);
		job_query(j, h->name, ns_t_aaaa, on_addr, &h->saaaa);
	}
	if (--j->pending == 0)
		job_finish(j);
}

static void add_host(struct res_job *j, const char *name, uint16_t port, enum wims_sip_proto proto)
{
	if (j->nhosts >= WIMS_SIP_RES_MAX_TARGETS)
		return;
	struct res_host *h = &j->hosts[j->nhosts];
	memset(h, 0, sizeof(*h));
	if (snprintf(h->name, sizeof(h->name), "%s", name) >= (int)sizeof(h->name))
		return;
	h->port = port;
	h->proto = proto;
	j->nhosts++;
}

/* RFC 3263 §4.2: "If no SRV records were found, the client SHOULD use the
 * domain name in the URI" with the transport's default port. */
static void host_fallback(struct res_job *j)
{
	enum wims_sip_proto p = j->proto ? j->proto : j->sips ? WIMS_SIP_TLS : WIMS_SIP_UDP;

	add_host(j, j->host, j->port ? j->port : default_port(p), p);
}

static void srv_done(struct res_job *j)
{
	for (size_t i = 0; i < j->nnames; i++) {
		struct res_name *nm = &j->names[i];
		wims_sip_res__srv_order(nm->srv, nm->nsrv, res_rnd, j->r);
		for (size_t k = 0; k < nm->nsrv; k++)
			add_host(j, nm->srv[k].target, nm->srv[k].port, nm->proto);
	}
	if (!j->nhosts && !j->cancelled && j->err != -ETIMEDOUT && j->err != -ECONNREFUSED)
		host_fallback(j);
	stage_hosts(j);
}

static void on_srv(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct res_slot *s = arg;
	struct res_job *j = s->j;
	struct res_name *nm = &j->names[s->idx];
	struct ares_srv_reply *srv = NULL;

	job_note_status(j, status);
	if (status == ARES_SUCCESS && !j->cancelled && ares_parse_srv_reply(abuf, alen, &srv) == ARES_SUCCESS) {
		job_ttl(j, abuf, alen);
		for (struct ares_srv_reply *x = srv; x && nm->nsrv < WIMS_SIP_RES_MAX_SRV; x = x->next) {
			struct wims_sip_res_srv *o = &nm->srv[nm->nsrv];
			/* RFC 2782: a target of "." means the service is not offered here */
			if (!x->host[0] || !strcmp(x->host, ".") ||
			    snprintf(o->target, sizeof(o->target), "%s", x->host) >= (int)sizeof(o->target))
				continue;
			o->prio = x->priority;
			o->weight = x->weight;
			o->port = x->port;
			nm->nsrv++;
		}
	}
	ares_free_data(srv);
	if (--j->pending == 0)
		srv_done(j);
}

static void add_name(struct res_job *j, const char *prefix, const char *domain, enum wims_sip_proto proto)
{
	if (j->nnames >= RES_MAX_NAMES)
		return;
	struct res_name *nm = &j->names[j->nnames];
	memset(nm, 0, sizeof(*nm));
	if (snprintf(nm->name, sizeof(nm->name), "%s%s", prefix, domain) >= (int)sizeof(nm->name))
		return;
	nm->proto = proto;
	j->nnames++;
}

static void stage_srv(struct res_job *j)
{
	if (j->cancelled) {
		job_finish(j);
		return;
	}
	j->pending++;
	for (size_t i = 0; i < j->nnames; i++) {
		j->names[i].slot = (struct res_slot){j, (unsigned)i};
		job_query(j, j->names[i].name, ns_t_srv, on_srv, &j->names[i].slot);
	}
	if (--j->pending == 0)
		srv_done(j);
}

/* RFC 3263 §4.1: "If no NAPTR records are found, the client constructs SRV
 * queries for those transport protocols it supports". */
static void srv_names_default(struct res_job *j)
{
	if (j->proto == WIMS_SIP_TLS || (j->sips && !j->proto)) {
		add_name(j, "_sips._tcp.", j->host, WIMS_SIP_TLS);
		return;
	}
	if (!j->proto || j->proto == WIMS_SIP_UDP)
		add_name(j, "_sip._udp.", j->host, WIMS_SIP_UDP);
	if (!j->proto || j->proto == WIMS_SIP_TCP)
		add_name(j, "_sip._tcp.", j->host, WIMS_SIP_TCP);
	if (!j->proto)
		add_name(j, "_sips._tcp.", j->host, WIMS_SIP_TLS);
}

static bool naptr_proto(const struct ares_naptr_reply *n, bool sips, enum wims_sip_proto *p)
{
	const char *svc = (const char *)n->service, *fl = (const char *)n->flags;

	/* RFC 3263 §4.1: flag "s", an empty regexp, the replacement is an SRV name */
	if (!fl || strcasecmp(fl, "s") || (n->regexp && n->regexp[0]) || !n->replacement || !n->replacement[0] ||
	    !strcmp(n->replacement, "."))
		return false;
	if (!strcasecmp(svc, "SIPS+D2T"))
		*p = WIMS_SIP_TLS;
	else if (!sips && !strcasecmp(svc, "SIP+D2T"))
		*p = WIMS_SIP_TCP;
	else if (!sips && !strcasecmp(svc, "SIP+D2U"))
		*p = WIMS_SIP_UDP;
	else
		return false;
	return true;
}

static void on_naptr(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct res_slot *s = arg;
	struct res_job *j = s->j;
	struct ares_naptr_reply *na = NULL, *pick[RES_MAX_NAMES];
	size_t n = 0;

	j->pending--;
	job_note_status(j, status);
	if (status == ARES_SUCCESS && !j->cancelled && ares_parse_naptr_reply(abuf, alen, &na) == ARES_SUCCESS) {
		job_ttl(j, abuf, alen);
		for (struct ares_naptr_reply *x = na; x; x = x->next) {
			enum wims_sip_proto p;
			if (!naptr_proto(x, j->sips, &p) || n >= RES_MAX_NAMES)
				continue;
			/* by order, then preference (RFC 3403 §4.1) */
			size_t k = n++;
			for (; k > 0 && (pick[k - 1]->order > x->order ||
					 (pick[k - 1]->order == x->order && pick[k - 1]->preference > x->preference));
			     k--)
				pick[k] = pick[k - 1];
			pick[k] = x;
		}
		for (size_t i = 0; i < n; i++) {
			enum wims_sip_proto p = WIMS_SIP_UDP;
			(void)naptr_proto(pick[i], j->sips, &p);
			add_name(j, "", pick[i]->replacement, p);
		}
	}
	ares_free_data(na);
	if (status == ARES_ETIMEOUT || status == ARES_ECONNREFUSED) { /* no server answers: SRV, A would not either */
		job_finish(j);
		return;
	}
	if (!n && !j->cancelled) {
		j->err = 0; /* no NAPTR: not a failure (§4.1) */
		srv_names_default(j);
	}
	stage_srv(j);
}

/* The parts of uri RFC 3263 looks at. */
static int parse_target(struct res_job *j, struct wims_str uri)
{
	struct wims_sip_uri u;
	struct wims_str tp, host;

	if (wims_sip_uri_parse(&u, uri))
		return -EINVAL;
	j->sips = wims_str_eqic(u.scheme, "sips");
	if (!j->sips && !wims_str_eqic(u.scheme, "sip"))
		return -EINVAL;
	if (wims_sip_param_get(u.params, "transport", &tp)) {
		if (wims_str_eqic(tp, "udp") && !j->sips)
			j->proto = WIMS_SIP_UDP;
		else if (wims_str_eqic(tp, "tcp"))
			j->proto = j->sips ? WIMS_SIP_TLS : WIMS_SIP_TCP;
		else if (wims_str_eqic(tp, "tls"))
			j->proto = WIMS_SIP_TLS;
		else
			return -EINVAL;
	}
	host = u.host;
	if (host.l && host.p[host.l - 1] == '.') /* a fully qualified name */
		host.l--;
	if (!host.l || wims_str_copy(j->host, sizeof(j->host), host) ||
	    snprintf(j->key, sizeof(j->key), "%.*s", (int)uri.l, uri.p) >= (int)sizeof(j->key))
		return -EINVAL;
	j->port = u.port;
	return 0;
}

/* A numeric host (RFC 3263 §4.1, §4.2): no DNS at all. */
static bool numeric(struct res_job *j, struct wims_str uri, struct wims_sip_res_result *res)
{
	struct wims_sip_uri u;
	struct wims_sip_target *t = &res->t[0];
	enum wims_sip_proto p = j->proto ? j->proto : j->sips ? WIMS_SIP_TLS : WIMS_SIP_UDP;

	if (wims_sip_uri_parse(&u, uri) || wims_addr_parse(&t->addr, u.host, j->port ? j->port : default_port(p)))
		return false;
	t->proto = p;
	res->n = 1;
	res->ttl = 0;
	return true;
}

int wims_sip_resolve(struct wims_sip_resolver *r, struct wims_str uri, struct wims_sip_res_result *res,
		     wims_sip_res_h *cb, void *arg)
{
	struct res_job *j = calloc(1, sizeof(*j));
	struct res_cache *e;
	int rc;

	if (!j)
		return -ENOMEM;
	if ((rc = parse_target(j, uri)))
		goto done;
	if (numeric(j, uri, res))
		goto done;
	if ((e = cache_find(r, j->key))) {
		*res = e->res;
		res->ttl = (uint32_t)((e->expires - uv_now(r->loop) + 999) / 1000);
		goto done;
	}
	if (r->closing) {
		rc = -ECANCELED;
		goto done;
	}
	j->r = r;
	j->cb = cb;
	j->arg = arg;
	j->ttl = WIMS_SIP_RES_MAX_TTL;
	if (j->port) { /* §4.2: a port: A/AAAA of the host only */
		host_fallback(j);
		stage_hosts(j);
	} else if (j->proto) { /* §4.1: a transport: no NAPTR */
		srv_names_default(j);
		stage_srv(j);
	} else {
		j->snaptr = (struct res_slot){j, 0};
		job_query(j, j->host, ns_t_naptr, on_naptr, &j->snaptr);
	}
	arm_timer(r);
	return -EINPROGRESS;
done:
	free(j);
	return rc;
}
