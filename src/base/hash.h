/* An intrusive chained hash table (libre's hash, Kamailio's str_hash): the
 * element embeds a struct wims_hnode; the table never allocates per element.
 * The bucket array doubles when the load factor passes 1. */
#ifndef WIMS_BASE_HASH_H
#define WIMS_BASE_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/str.h"

struct wims_hnode {
	struct wims_hnode *next;
	uint64_t key;
};

struct wims_hash {
	struct wims_hnode **b;
	size_t nb; /* power of two */
	size_t n;
};

int wims_hash_init(struct wims_hash *h, size_t nb_hint) __attribute__((warn_unused_result));
/** Free the bucket array (elements are the caller's). */
void wims_hash_fini(struct wims_hash *h);
/** Insert n under key (duplicates allowed; lookup walks them). -ENOMEM when growing failed is ignored. */
void wims_hash_insert(struct wims_hash *h, struct wims_hnode *n, uint64_t key);
void wims_hash_remove(struct wims_hash *h, struct wims_hnode *n);
/** First node with key, or NULL; continue with wims_hash_next_same(). */
struct wims_hnode *wims_hash_find(const struct wims_hash *h, uint64_t key);
struct wims_hnode *wims_hash_next_same(const struct wims_hnode *n);
/** Visit every node; cb may remove the node it is given.  Stops when cb returns true. */
void wims_hash_walk(struct wims_hash *h, bool (*cb)(struct wims_hnode *n, void *arg), void *arg);

/** 64-bit FNV-1a over bytes (case-sensitive) and over ASCII case-folded bytes. */
uint64_t wims_hash_bytes(const void *p, size_t l);
uint64_t wims_hash_str(struct wims_str s);
uint64_t wims_hash_stri(struct wims_str s);
uint64_t wims_hash_mix(uint64_t a, uint64_t b);

#define wims_container_of(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#endif
