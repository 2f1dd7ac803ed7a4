/* Bencode (BEP 3), as the ng control protocol uses it.
 *
 *   string   <len>:<bytes>        "4:spam"
 *   integer  i<decimal>e          "i-3e"  (no leading zeros, no "-0")
 *   list     l<values>e           "l4:spami3ee"
 *   dict     d<string><value>...e "d3:cow3:mooe"  (keys sorted as raw bytes)
 *
 * The parser is zero-copy: every node holds views into the input, and nodes
 * come from a fixed arena the caller gives (no allocation).  The encoder
 * writes into a struct wims_wbuf; it writes keys in the order they are given,
 * so callers write dict keys in sorted order (every writer in this module
 * does, and wims_bc_sorted() checks a parsed document for it).
 */
#ifndef WIMS_MEDIACTL_BENCODE_H
#define WIMS_MEDIACTL_BENCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/str.h"

#define WIMS_BC_MAX_DEPTH 16

enum wims_bc_type { WIMS_BC_STR = 1, WIMS_BC_INT, WIMS_BC_LIST, WIMS_BC_DICT };

/* One parsed value.  Children of a list or dict are linked through `next`
 * (an index into the arena; 0 means none, since node 0 is always the root).
 * A dict's children alternate key, value. */
struct wims_bc_node {
	enum wims_bc_type type;
	uint32_t child;        /* first child (list/dict), 0 if empty */
	uint32_t next;         /* next sibling, 0 if last */
	uint32_t n;            /* number of children */
	struct wims_str s;     /* STR: the bytes; others: the whole encoding */
	long long i;           /* INT */
};

struct wims_bc_doc {
	struct wims_bc_node *nodes;
	uint32_t count;
};

/** Parse one bencoded value at the start of `in` into the caller's arena
 * nodes[0..max_nodes).  doc->nodes[0] is the root; *used gets the bytes it
 * took (the caller decides whether trailing bytes are allowed).  No
 * allocation; views point into `in`.  0, or -EBADMSG (malformed),
 * -E2BIG (nesting deeper than WIMS_BC_MAX_DEPTH), -ENOSPC (more values than
 * max_nodes), -ERANGE (integer outside long long). */
int wims_bc_parse(struct wims_bc_doc *doc, struct wims_bc_node *nodes, uint32_t max_nodes,
		  struct wims_str in, size_t *used) __attribute__((warn_unused_result));

/** First child of a list/dict, or NULL. */
const struct wims_bc_node *wims_bc_child(const struct wims_bc_doc *doc, const struct wims_bc_node *n);
/** Next sibling, or NULL. */
const struct wims_bc_node *wims_bc_next(const struct wims_bc_doc *doc, const struct wims_bc_node *n);
/** Value of `key` in dict `d` (the first one if repeated), or NULL. */
const struct wims_bc_node *wims_bc_dict_get(const struct wims_bc_doc *doc, const struct wims_bc_node *d,
					    const char *key);
/** True when every dict in the tree under n has strictly increasing keys. */
bool wims_bc_sorted(const struct wims_bc_doc *doc, const struct wims_bc_node *n);

/* Encoder: append to b; b->err records overflow. */
void wims_bc_str(struct wims_wbuf *b, struct wims_str s);
void wims_bc_cstr(struct wims_wbuf *b, const char *s);
void wims_bc_int(struct wims_wbuf *b, long long i);
static inline void wims_bc_dict(struct wims_wbuf *b) { wims_wbuf_put(b, "d", 1); }
static inline void wims_bc_list(struct wims_wbuf *b) { wims_wbuf_put(b, "l", 1); }
static inline void wims_bc_end(struct wims_wbuf *b) { wims_wbuf_put(b, "e", 1); }
/** Key and string value in one go (for dicts). */
void wims_bc_kv(struct wims_wbuf *b, const char *key, struct wims_str val);
void wims_bc_kvc(struct wims_wbuf *b, const char *key, const char *val);
void wims_bc_kvi(struct wims_wbuf *b, const char *key, long long val);

#endif
