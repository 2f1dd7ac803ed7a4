#include "base/hash.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

int wims_hash_init(struct wims_hash *h, size_t nb_hint)
{
	size_t nb = 16;

	while (nb < nb_hint)
		nb <<= 1;
	h->b = calloc(nb, sizeof(*h->b));
	if (!h->b)
		return -ENOMEM;
	h->nb = nb;
	h->n = 0;
	return 0;
}

void wims_hash_fini(struct wims_hash *h)
{
	free(h->b);
	h->b = NULL;
	h->nb = 0;
	h->n = 0;
}

static void grow(struct wims_hash *h)
{
	size_t nb = h->nb * 2;
	struct wims_hnode **b = calloc(nb, sizeof(*b));

	if (!b)
		return; /* keep working with longer chains */
	for (size_t i = 0; i < h->nb; i++) {
		struct wims_hnode *n = h->b[i], *next;
		for (; n; n = next) {
			next = n->next;
			size_t j = n->key & (nb - 1);
			n->next = b[j];
			b[j] = n;
		}
	}
	free(h->b);
	h->b = b;
	h->nb = nb;
}

void wims_hash_insert(struct wims_hash *h, struct wims_hnode *n, uint64_t key)
{
	if (h->n >= h->nb)
		grow(h);
	size_t i = key & (h->nb - 1);
	n->key = key;
	n->next = h->b[i];
	h->b[i] = n;
	h->n++;
}

void wims_hash_remove(struct wims_hash *h, struct wims_hnode *n)
{
	struct wims_hnode **pp = &h->b[n->key & (h->nb - 1)];

	for (; *pp; pp = &(*pp)->next) {
		if (*pp == n) {
			*pp = n->next;
			n->next = NULL;
			h->n--;
			return;
		}
	}
}

struct wims_hnode *wims_hash_find(const struct wims_hash *h, uint64_t key)
{
	struct wims_hnode *n = h->nb ? h->b[key & (h->nb - 1)] : NULL;

	while (n && n->key != key)
		n = n->next;
	return n;
}

struct wims_hnode *wims_hash_next_same(const struct wims_hnode *n)
{
	uint64_t key = n->key;

	for (n = n->next; n && n->key != key; n = n->next)
		;
	return (struct wims_hnode *)n;
}

void wims_hash_walk(struct wims_hash *h, bool (*cb)(struct wims_hnode *n, void *arg), void *arg)
{
	for (size_t i = 0; i < h->nb; i++) {
		struct wims_hnode *n = h->b[i], *next;
		for (; n; n = next) {
			next = n->next;
			if (cb(n, arg))
				return;
		}
	}
}

uint64_t wims_hash_bytes(const void *p, size_t l)
{
	const unsigned char *c = p;
	uint64_t x = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < l; i++) {
		x ^= c[i];
		x *= 0x100000001b3ULL;
	}
	return x;
}

uint64_t wims_hash_str(struct wims_str s)
{
	return wims_hash_bytes(s.p, s.l);
}

uint64_t wims_hash_stri(struct wims_str s)
{
	uint64_t x = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < s.l; i++) {
		x ^= (unsigned char)tolower((unsigned char)s.p[i]);
		x *= 0x100000001b3ULL;
	}
	return x;
}

uint64_t wims_hash_mix(uint64_t a, uint64_t b)
{
	a ^= b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2);
	return a;
}
