/* Bencode parser and writer; see bencode.h for the wire format. */
#include "mediactl/bencode.h"

#include <errno.h>
#include <limits.h>

struct bc_ctx {
	const char *p;
	size_t len, pos;
	struct wims_bc_node *nodes;
	uint32_t max, count;
};

static int bc_value(struct bc_ctx *c, unsigned depth);

static int bc_alloc(struct bc_ctx *c, enum wims_bc_type t)
{
	struct wims_bc_node *n;

	if (c->count >= c->max)
		return -ENOSPC;
	n = &c->nodes[c->count];
	n->type = t;
	n->child = n->next = n->n = 0;
	n->s = wims_str_make(c->p + c->pos, 0);
	n->i = 0;
	return (int)c->count++;
}

/* Decimal digits up to `end`: no leading zeros (BEP 3: "i03e" is invalid),
 * overflow checked.  `neg` selects the negative range. */
static int bc_digits(const char *p, size_t l, bool neg, long long *out)
{
	unsigned long long v = 0;
	unsigned long long lim = neg ? (unsigned long long)LLONG_MAX + 1 : (unsigned long long)LLONG_MAX;

	if (l == 0 || (p[0] == '0' && l > 1))
		return -EBADMSG;
	for (size_t i = 0; i < l; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -EBADMSG;
		if (v > (lim - (unsigned long long)(p[i] - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (unsigned long long)(p[i] - '0');
	}
	if (neg) {
		if (v == 0)
			return -EBADMSG; /* "i-0e" */
		*out = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v;
	} else {
		*out = (long long)v;
	}
	return 0;
}

static int bc_int(struct bc_ctx *c, int idx)
{
	size_t start = ++c->pos, end = start;
	bool neg = false;
	int err;

	while (end < c->len && c->p[end] != 'e')
		end++;
	if (end >= c->len)
		return -EBADMSG;
	if (start < end && c->p[start] == '-') {
		neg = true;
		start++;
	}
	err = bc_digits(c->p + start, end - start, neg, &c->nodes[idx].i);
	if (err)
		return err;
	c->pos = end + 1;
	return 0;
}

static int bc_string(struct bc_ctx *c, int idx)
{
	size_t colon = c->pos;
	long long l;
	int err;

	/* the length has at most 20 digits; stop looking well before that */
	while (colon < c->len && c->p[colon] != ':' && colon - c->pos < 21)
		colon++;
	if (colon >= c->len || c->p[colon] != ':')
		return -EBADMSG;
	err = bc_digits(c->p + c->pos, colon - c->pos, false, &l);
	if (err)
		return -EBADMSG;
	/* a string never claims more bytes than the input still holds */
	if ((unsigned long long)l > c->len - colon - 1)
		return -EBADMSG;
	c->nodes[idx].s = wims_str_make(c->p + colon + 1, (size_t)l);
	c->pos = colon + 1 + (size_t)l;
	return 0;
}

static int bc_container(struct bc_ctx *c, int idx, bool dict, unsigned depth)
{
	uint32_t last = 0;

	if (depth >= WIMS_BC_MAX_DEPTH)
		return -E2BIG;
	c->pos++;
	for (;;) {
		int ch;

		if (c->pos >= c->len)
			return -EBADMSG;
		if (c->p[c->pos] == 'e')
			break;
		/* dict keys are strings */
		if (dict && c->nodes[idx].n % 2 == 0 && (c->p[c->pos] < '0' || c->p[c->pos] > '9'))
			return -EBADMSG;
		ch = bc_value(c, depth + 1);
		if (ch < 0)
			return ch;
		if (last)
			c->nodes[last].next = (uint32_t)ch;
		else
			c->nodes[idx].child = (uint32_t)ch;
		last = (uint32_t)ch;
		c->nodes[idx].n++;
	}
	if (dict && c->nodes[idx].n % 2)
		return -EBADMSG; /* key without value */
	c->pos++;
	return 0;
}

static int bc_value(struct bc_ctx *c, unsigned depth)
{
	size_t start = c->pos;
	int idx, err;
	char ch;

	if (c->pos >= c->len)
		return -EBADMSG;
	ch = c->p[c->pos];
	switch (ch) {
	case 'i':
		idx = bc_alloc(c, WIMS_BC_INT);
		err = idx < 0 ? idx : bc_int(c, idx);
		break;
	case 'l':
	case 'd':
		idx = bc_alloc(c, ch == 'l' ? WIMS_BC_LIST : WIMS_BC_DICT);
		err = idx < 0 ? idx : bc_container(c, idx, ch == 'd', depth);
		break;
	default:
		if (ch < '0' || ch > '9')
			return -EBADMSG;
		idx = bc_alloc(c, WIMS_BC_STR);
		err = idx < 0 ? idx : bc_string(c, idx);
		break;
	}
	if (err)
		return err;
	if (c->nodes[idx].type != WIMS_BC_STR)
		c->nodes[idx].s = wims_str_make(c->p + start, c->pos - start);
	return idx;
}

int wims_bc_parse(struct wims_bc_doc *doc, struct wims_bc_node *nodes, uint32_t max_nodes,
		  struct wims_str in, size_t *used)
{
	struct bc_ctx c = {in.p, in.l, 0, nodes, max_nodes, 0};
	int r;

	doc->nodes = nodes;
	doc->count = 0;
	if (max_nodes == 0 || max_nodes > INT_MAX)
		return -ENOSPC;
	r = bc_value(&c, 0);
	if (r < 0)
		return r;
	doc->count = c.count;
	if (used)
		*used = c.pos;
	return 0;
}

const struct wims_bc_node *wims_bc_child(const struct wims_bc_doc *doc, const struct wims_bc_node *n)
{
	if (!n || (n->type != WIMS_BC_LIST && n->type != WIMS_BC_DICT) || !n->child)
		return NULL;
	return &doc->nodes[n->child];
}

const struct wims_bc_node *wims_bc_next(const struct wims_bc_doc *doc, const struct wims_bc_node *n)
{
	return n && n->next ? &doc->nodes[n->next] : NULL;
}

const struct wims_bc_node *wims_bc_dict_get(const struct wims_bc_doc *doc, const struct wims_bc_node *d,
					    const char *key)
{
	const struct wims_bc_node *k;

	if (!d || d->type != WIMS_BC_DICT)
		return NULL;
	for (k = wims_bc_child(doc, d); k; k = wims_bc_next(doc, wims_bc_next(doc, k)))
		if (wims_str_eqc(k->s, key))
			return wims_bc_next(doc, k);
	return NULL;
}

static int bc_keycmp(struct wims_str a, struct wims_str b)
{
	size_t m = a.l < b.l ? a.l : b.l;
	int r = m ? memcmp(a.p, b.p, m) : 0;

	if (r)
		return r;
	return a.l < b.l ? -1 : a.l > b.l;
}

bool wims_bc_sorted(const struct wims_bc_doc *doc, const struct wims_bc_node *n)
{
	const struct wims_bc_node *ch, *prev = NULL;
	bool key = true;

	if (!n)
		return true;
	for (ch = wims_bc_child(doc, n); ch; ch = wims_bc_next(doc, ch)) {
		if (n->type == WIMS_BC_DICT && key) {
			if (prev && bc_keycmp(prev->s, ch->s) >= 0)
				return false;
			prev = ch;
		} else if (!wims_bc_sorted(doc, ch)) {
			return false;
		}
		key = n->type == WIMS_BC_DICT ? !key : true;
	}
	return true;
}

void wims_bc_str(struct wims_wbuf *b, struct wims_str s)
{
	wims_wbuf_printf(b, "%zu:", s.l);
	wims_wbuf_putstr(b, s);
}

void wims_bc_cstr(struct wims_wbuf *b, const char *s)
{
	wims_bc_str(b, wims_str_c(s));
}

void wims_bc_int(struct wims_wbuf *b, long long i)
{
	wims_wbuf_printf(b, "i%llde", i);
}

void wims_bc_kv(struct wims_wbuf *b, const char *key, struct wims_str val)
{
	wims_bc_cstr(b, key);
	wims_bc_str(b, val);
}

void wims_bc_kvc(struct wims_wbuf *b, const char *key, const char *val)
{
	wims_bc_kv(b, key, wims_str_c(val));
}

void wims_bc_kvi(struct wims_wbuf *b, const char *key, long long val)
{
	wims_bc_cstr(b, key);
	wims_bc_int(b, val);
}
