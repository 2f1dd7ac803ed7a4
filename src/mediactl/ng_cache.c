/* Replies kept for retransmitted ng commands: Kamailio's rtpengine module
 * resends a command with the same cookie when the reply is slow, and a
 * command such as offer must not run twice (rtpengine keeps the same cache).
 *
 * A ring of `size` entries in insertion order, so the oldest is always at
 * the tail: entries leave when the ring is full, when they are older than the
 * TTL, or when the copies together pass WIMS_NG_CACHE_BYTES.  A chained hash
 * on (cookie, source address) finds them. */
#include "mediactl/ng.h"

#include <errno.h>
#include <stdlib.h>

#define WIMS_NG_CACHE_BYTES (16u << 20)

struct cache_entry {
	uint64_t t_ms;
	struct wims_addr from;
	char cookie[WIMS_NG_MAX_COOKIE];
	size_t clen;
	char *reply;
	size_t rlen;
	int32_t hnext; /* next in bucket, -1 none */
	uint32_t bucket;
};

struct wims_ng__cache {
	unsigned size, ttl_ms, head, count, nbuckets;
	size_t bytes;
	int32_t *buckets;
	struct cache_entry *e;
};

int wims_ng__cache_new(struct wims_ng__cache **cp, unsigned size, unsigned ttl_ms)
{
	struct wims_ng__cache *c;

	if (size == 0 || size > (1u << 20))
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->size = size;
	c->ttl_ms = ttl_ms;
	c->nbuckets = size * 2;
	c->buckets = malloc(sizeof(*c->buckets) * c->nbuckets);
	c->e = calloc(size, sizeof(*c->e));
	if (!c->buckets || !c->e) {
		wims_ng__cache_free(c);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < c->nbuckets; i++)
		c->buckets[i] = -1;
	*cp = c;
	return 0;
}

void wims_ng__cache_free(struct wims_ng__cache *c)
{
	if (!c)
		return;
	if (c->e)
		for (unsigned i = 0; i < c->size; i++)
			free(c->e[i].reply);
	free(c->e);
	free(c->buckets);
	free(c);
}

static uint32_t fnv(uint32_t h, const void *p, size_t l)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < l; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

static uint32_t key_hash(const struct wims_ng__cache *c, const struct wims_addr *from, struct wims_str cookie)
{
	uint32_t h = fnv(2166136261u, cookie.p, cookie.l);

	h = fnv(h, &from->u.sa.sa_family, sizeof(from->u.sa.sa_family));
	if (from->u.sa.sa_family == AF_INET6)
		h = fnv(h, &from->u.in6.sin6_addr, sizeof(from->u.in6.sin6_addr));
	else
		h = fnv(h, &from->u.in.sin_addr, sizeof(from->u.in.sin_addr));
	return fnv(h, &from->u.in.sin_port, sizeof(from->u.in.sin_port)) % c->nbuckets;
}

static void evict_tail(struct wims_ng__cache *c)
{
	unsigned t = (c->head + c->size - c->count) % c->size;
	struct cache_entry *e = &c->e[t];
	int32_t *pp = &c->buckets[e->bucket];

	while (*pp >= 0 && *pp != (int32_t)t)
		pp = &c->e[*pp].hnext;
	if (*pp == (int32_t)t)
		*pp = e->hnext;
	c->bytes -= e->rlen;
	free(e->reply);
	e->reply = NULL;
	e->rlen = 0;
	c->count--;
}

struct wims_str wims_ng__cache_get(struct wims_ng__cache *c, const struct wims_addr *from, struct wims_str cookie,
				   uint64_t now_ms)
{
	for (int32_t i = c->buckets[key_hash(c, from, cookie)]; i >= 0; i = c->e[i].hnext) {
		struct cache_entry *e = &c->e[i];

		if (e->clen == cookie.l && memcmp(e->cookie, cookie.p, cookie.l) == 0 && wims_addr_eq(&e->from, from))
			return now_ms - e->t_ms <= c->ttl_ms ? wims_str_make(e->reply, e->rlen) : WIMS_STR_NULL;
	}
	return WIMS_STR_NULL;
}

void wims_ng__cache_put(struct wims_ng__cache *c, const struct wims_addr *from, struct wims_str cookie,
			struct wims_str reply, uint64_t now_ms)
{
	struct cache_entry *e;
	char *copy;

	if (cookie.l > WIMS_NG_MAX_COOKIE || reply.l > WIMS_NG_CACHE_BYTES)
		return;
	/* age out from the tail, then make room */
	while (c->count) {
		struct cache_entry *t = &c->e[(c->head + c->size - c->count) % c->size];

		if (now_ms - t->t_ms <= c->ttl_ms && c->count < c->size && c->bytes + reply.l <= WIMS_NG_CACHE_BYTES)
			break;
		evict_tail(c);
	}
	copy = malloc(reply.l ? reply.l : 1);
	if (!copy)
		return;
	memcpy(copy, reply.p, reply.l);
	e = &c->e[c->head];
	e->t_ms = now_ms;
	e->from = *from;
	memcpy(e->cookie, cookie.p, cookie.l);
	e->clen = cookie.l;
	e->reply = copy;
	e->rlen = reply.l;
	e->bucket = key_hash(c, from, cookie);
	e->hnext = c->buckets[e->bucket];
	c->buckets[e->bucket] = (int32_t)c->head;
	c->bytes += reply.l;
	c->head = (c->head + 1) % c->size;
	c->count++;
}
