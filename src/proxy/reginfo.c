/* RFC 3680 reginfo documents: a bounded, zero-copy XML subset parser (see
 * reginfo.h for what is accepted and what is refused).
 *
 *   <?xml version="1.0"?>
 *   <reginfo xmlns="urn:ietf:params:xml:ns:reginfo" version="3" state="partial">
 *     <registration aor="sip:alice@ims.lab" id="a7" state="terminated">
 *       <contact id="76" state="terminated" event="unregistered">
 *         <uri>sip:alice@x.invalid;transport=ws</uri>
 *       </contact>
 *     </registration>
 *   </reginfo>
 *
 * One pass over the bytes with a cursor that never reads past the end; an
 * element stack and the namespace declarations in scope are fixed arrays.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "proxy/reginfo.h"

enum kind { K_OTHER, K_REGINFO, K_REG, K_CONTACT, K_URI };

struct ns_decl {
	struct wims_str prefix; /* empty: the default namespace */
	struct wims_str uri;    /* raw */
	size_t depth;           /* of the element declaring it */
};

struct attr {
	struct wims_str name, value;
};

struct elem {
	struct wims_str qname;
	enum kind kind;
};

struct parser {
	const char *p, *end;
	const char *why;
	struct wims_reginfo *ri;
	struct ns_decl ns[WIMS_REGINFO_MAX_NS];
	size_t n_ns;
	struct elem st[WIMS_REGINFO_MAX_DEPTH];
	size_t depth;
	bool root_seen;
	const char *uri_start; /* text of the open <uri> */
	bool uri_child;        /* markup inside <uri> */
	bool contact_uri;      /* the open <contact> has its <uri> */
};

static int bad(struct parser *ps, const char *why)
{
	ps->why = why;
	return -EBADMSG;
}

static int big(struct parser *ps, const char *why)
{
	ps->why = why;
	return -E2BIG;
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool name_start(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || c >= 0x80;
}

static bool name_char(unsigned char c)
{
	return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

static bool starts(const struct parser *ps, const char *lit)
{
	size_t l = strlen(lit);

	return (size_t)(ps->end - ps->p) >= l && memcmp(ps->p, lit, l) == 0;
}

static struct wims_str xml_trim(struct wims_str s)
{
	while (s.l && is_ws(s.p[0])) {
		s.p++;
		s.l--;
	}
	while (s.l && is_ws(s.p[s.l - 1]))
		s.l--;
	return s;
}

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end && is_ws(*ps->p))
		ps->p++;
}

static int read_name(struct parser *ps, struct wims_str *out)
{
	const char *s = ps->p;

	if (ps->p >= ps->end || !name_start((unsigned char)*ps->p))
		return bad(ps, "name expected");
	while (ps->p < ps->end && name_char((unsigned char)*ps->p))
		ps->p++;
	*out = wims_str_make(s, (size_t)(ps->p - s));
	return 0;
}

/* ---- references (&amp; &#38; &#x26;) ---- */

/* Decode the reference at s (at '&') ending before end: *cp and its length. */
static int ref_decode(const char *s, const char *end, uint32_t *cp, size_t *used)
{
	static const struct {
		const char *name;
		char c;
	} pre[] = {{"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"apos;", '\''}};
	size_t left = (size_t)(end - s);
	uint32_t v = 0;
	size_t i;

	for (i = 0; i < sizeof(pre) / sizeof(pre[0]); i++) {
		size_t l = strlen(pre[i].name);
		if (left > l && memcmp(s + 1, pre[i].name, l) == 0) {
			*cp = (unsigned char)pre[i].c;
			*used = l + 1;
			return 0;
		}
	}
	if (left < 4 || s[1] != '#')
		return -EBADMSG;
	bool hex = s[2] == 'x';
	for (i = hex ? 3 : 2; i < left && s[i] != ';'; i++) {
		unsigned d;
		char c = s[i];
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (hex && ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'))
			d = (unsigned)((c | 0x20) - 'a' + 10);
		else
			return -EBADMSG;
		v = v * (hex ? 16 : 10) + d;
		if (v > 0x10ffff)
			return -EBADMSG;
	}
	if (i >= left || i == (hex ? 3u : 2u))
		return -EBADMSG;
	/* XML 1.0 Char production */
	if (v == 0 || (v < 0x20 && v != 9 && v != 10 && v != 13) || (v >= 0xd800 && v <= 0xdfff) || v == 0xfffe ||
	    v == 0xffff)
		return -EBADMSG;
	*cp = v;
	*used = i + 1;
	return 0;
}

/* Character data up to stop (exclusive): references valid, no control characters, no '<'. */
static int check_chars(struct parser *ps, const char *s, const char *stop)
{
	while (s < stop) {
		unsigned char c = (unsigned char)*s;
		uint32_t cp;
		size_t used;

		if (c == '<')
			return bad(ps, "'<' in a value");
		if (c < 0x20 && c != '\t' && c != '\r' && c != '\n')
			return bad(ps, "control character");
		if (c == '&') {
			if (ref_decode(s, stop, &cp, &used))
				return bad(ps, "bad entity reference");
			s += used;
			continue;
		}
		s++;
	}
	return 0;
}

int wims_reginfo_text(struct wims_str raw, char *out, size_t cap, size_t *outlen)
{
	const char *s = raw.p, *end = raw.p + raw.l;
	size_t n = 0;

	if (cap == 0)
		return -ENOSPC;
	while (s < end) {
		uint32_t cp = (unsigned char)*s;
		size_t used = 1, k;
		char u[4];

		if (*s == '&' && ref_decode(s, end, &cp, &used))
			return -EBADMSG;
		if (*s != '&' || cp < 0x80) {
			u[0] = (char)cp;
			k = 1;
		} else if (cp < 0x800) {
			u[0] = (char)(0xc0 | (cp >> 6));
			u[1] = (char)(0x80 | (cp & 0x3f));
			k = 2;
		} else if (cp < 0x10000) {
			u[0] = (char)(0xe0 | (cp >> 12));
			u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
			u[2] = (char)(0x80 | (cp & 0x3f));
			k = 3;
		} else {
			u[0] = (char)(0xf0 | (cp >> 18));
			u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
			u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
			u[3] = (char)(0x80 | (cp & 0x3f));
			k = 4;
		}
		if (n + k >= cap)
			return -ENOSPC;
		memcpy(out + n, u, k);
		n += k;
		s += used;
	}
	out[n] = 0;
	if (outlen)
		*outlen = n;
	return 0;
}

/* Is raw value v, decoded, equal to lit? */
static bool val_is(struct wims_str v, const char *lit)
{
	char buf[128];
	size_t l;

	if (wims_reginfo_text(v, buf, sizeof(buf), &l))
		return false;
	return l == strlen(lit) && memcmp(buf, lit, l) == 0;
}

/* ---- namespaces ---- */

static void split_qname(struct wims_str q, struct wims_str *prefix, struct wims_str *local)
{
	const char *c = memchr(q.p, ':', q.l);

	*prefix = c ? wims_str_make(q.p, (size_t)(c - q.p)) : WIMS_STR_NULL;
	*local = c ? wims_str_make(c + 1, q.l - (size_t)(c - q.p) - 1) : q;
}

/* The namespace URI bound to prefix (empty: default); -EBADMSG when undeclared. */
static int ns_lookup(struct parser *ps, struct wims_str prefix, struct wims_str *uri)
{
	for (size_t i = ps->n_ns; i-- > 0;) {
		if (wims_str_eq(ps->ns[i].prefix, prefix)) {
			*uri = ps->ns[i].uri;
			return 0;
		}
	}
	if (prefix.l == 0) {
		*uri = WIMS_STR_NULL;
		return 0;
	}
	if (wims_str_eqc(prefix, "xml")) {
		*uri = wims_str_c("http://www.w3.org/XML/1998/namespace");
		return 0;
	}
	return bad(ps, "undeclared namespace prefix");
}

static int qname_check(struct parser *ps, struct wims_str q)
{
	struct wims_str pf, local;

	split_qname(q, &pf, &local);
	if ((pf.p && pf.l == 0) || local.l == 0 || memchr(local.p, ':', local.l) ||
	    (local.l && !name_start((unsigned char)local.p[0])) || (local.p && local.p[0] == ':'))
		return bad(ps, "bad qualified name");
	return 0;
}

static int ns_declare(struct parser *ps, const struct attr *a, size_t n, size_t depth)
{
	for (size_t i = 0; i < n; i++) {
		struct wims_str pf, local;
		split_qname(a[i].name, &pf, &local);
		bool dflt = !pf.p && wims_str_eqc(a[i].name, "xmlns");
		if (!dflt && !(pf.p && wims_str_eqc(pf, "xmlns")))
			continue;
		if (ps->n_ns >= WIMS_REGINFO_MAX_NS)
			return big(ps, "too many namespace declarations");
		if (!dflt && a[i].value.l == 0)
			return bad(ps, "empty namespace for a prefix");
		ps->ns[ps->n_ns++] = (struct ns_decl){dflt ? WIMS_STR_NULL : local, a[i].value, depth};
	}
	return 0;
}

/* ---- elements of the reginfo namespace ---- */

static int attr_get(const struct attr *a, size_t n, const char *name, struct wims_str *v)
{
	for (size_t i = 0; i < n; i++) {
		if (wims_str_eqc(a[i].name, name)) {
			*v = a[i].value;
			return 0;
		}
	}
	return -ENOENT;
}

static int enum_of(struct wims_str v, const char *const *names, size_t n, unsigned *out)
{
	for (unsigned i = 0; i < n; i++) {
		if (names[i] && val_is(v, names[i])) {
			*out = i;
			return 0;
		}
	}
	return -EBADMSG;
}

static const char *const reg_states[] = {"init", "active", "terminated"};
static const char *const ev_names[] = {"registered",  "created",   "refreshed",    "shortened", "expired",
				       "deactivated", "probation", "unregistered", "rejected"};

const char *wims_reginfo_event_name(enum wims_reginfo_event e)
{
	return (size_t)e < sizeof(ev_names) / sizeof(ev_names[0]) ? ev_names[e] : "?";
}

static int start_reginfo(struct parser *ps, const struct attr *a, size_t n)
{
	struct wims_str v, st;
	char num[16];
	unsigned long long ver;

	if (attr_get(a, n, "version", &v) || attr_get(a, n, "state", &st))
		return bad(ps, "reginfo without version or state");
	if (wims_reginfo_text(v, num, sizeof(num), NULL) ||
	    wims_str_to_u64(wims_str_c(num), 0xffffffffULL, &ver))
		return bad(ps, "bad reginfo version");
	ps->ri->version = (uint32_t)ver;
	if (val_is(st, "full"))
		ps->ri->full = true;
	else if (!val_is(st, "partial"))
		return bad(ps, "bad reginfo state");
	return 0;
}

static int start_reg(struct parser *ps, const struct attr *a, size_t n)
{
	struct wims_reginfo *ri = ps->ri;
	struct wims_reginfo_reg *r;
	struct wims_str st;
	unsigned s;

	if (ri->n_reg >= WIMS_REGINFO_MAX_REG)
		return big(ps, "too many registrations");
	r = &ri->reg[ri->n_reg];
	if (attr_get(a, n, "aor", &r->aor) || attr_get(a, n, "id", &r->id) || attr_get(a, n, "state", &st))
		return bad(ps, "registration without aor, id or state");
	if (enum_of(st, reg_states, 3, &s))
		return bad(ps, "bad registration state");
	r->state = (enum wims_reginfo_state)s;
	r->contact0 = ri->n_contact;
	r->n_contact = 0;
	ri->n_reg++;
	return 0;
}

static int start_contact(struct parser *ps, const struct attr *a, size_t n)
{
	struct wims_reginfo *ri = ps->ri;
	struct wims_reginfo_contact *c;
	struct wims_str st, ev;
	unsigned s;

	if (ri->n_contact >= WIMS_REGINFO_MAX_CONTACT)
		return big(ps, "too many contacts");
	c = &ri->contact[ri->n_contact];
	if (attr_get(a, n, "id", &c->id) || attr_get(a, n, "state", &st) || attr_get(a, n, "event", &ev))
		return bad(ps, "contact without id, state or event");
	if (enum_of(st, reg_states, 3, &s) || s == WIMS_REGINFO_INIT)
		return bad(ps, "bad contact state");
	c->state = (enum wims_reginfo_state)s;
	if (enum_of(ev, ev_names, sizeof(ev_names) / sizeof(ev_names[0]), &s))
		return bad(ps, "bad contact event");
	c->event = (enum wims_reginfo_event)s;
	c->uri = WIMS_STR_NULL;
	ri->n_contact++;
	ri->reg[ri->n_reg - 1].n_contact++;
	ps->contact_uri = false;
	return 0;
}

/* The kind of a new element under the current one. */
static int classify(struct parser *ps, struct wims_str qname, enum kind *k)
{
	struct wims_str pf, local, uri;
	enum kind parent = ps->depth ? ps->st[ps->depth - 1].kind : K_OTHER;
	bool ours;
	int rc;

	split_qname(qname, &pf, &local);
	if ((rc = ns_lookup(ps, pf, &uri)))
		return rc;
	ours = val_is(uri, WIMS_REGINFO_NS);
	*k = K_OTHER;
	if (ps->depth == 0) {
		if (!ours || !wims_str_eqc(local, "reginfo"))
			return bad(ps, "the root is not a reginfo element");
		*k = K_REGINFO;
	} else if (ours && parent == K_REGINFO && wims_str_eqc(local, "registration")) {
		*k = K_REG;
	} else if (ours && parent == K_REG && wims_str_eqc(local, "contact")) {
		*k = K_CONTACT;
	} else if (ours && parent == K_CONTACT && wims_str_eqc(local, "uri")) {
		if (ps->contact_uri)
			return bad(ps, "contact with two uri elements");
		*k = K_URI;
	}
	return 0;
}

static int elem_start(struct parser *ps, enum kind k, const struct attr *a, size_t n)
{
	switch (k) {
	case K_REGINFO:
		return start_reginfo(ps, a, n);
	case K_REG:
		return start_reg(ps, a, n);
	case K_CONTACT:
		return start_contact(ps, a, n);
	case K_URI:
		ps->uri_start = ps->p;
		ps->uri_child = false;
		return 0;
	default:
		return 0;
	}
}

/* End of element kind k; text_end is where its end tag begins. */
static int elem_end(struct parser *ps, enum kind k, const char *text_end)
{
	struct wims_reginfo *ri = ps->ri;

	if (k == K_URI) {
		if (ps->uri_child)
			return bad(ps, "markup inside uri");
		ri->contact[ri->n_contact - 1].uri =
		    xml_trim(wims_str_make(ps->uri_start, (size_t)(text_end - ps->uri_start)));
		ps->contact_uri = true;
	} else if (k == K_CONTACT && !ps->contact_uri) {
		return bad(ps, "contact without uri");
	}
	/* the declarations of the closed element go out of scope */
	while (ps->n_ns && ps->ns[ps->n_ns - 1].depth > ps->depth)
		ps->n_ns--;
	return 0;
}

/* ---- markup ---- */

static int read_attrs(struct parser *ps, struct attr *a, size_t *n, bool *empty)
{
	*n = 0;
	for (;;) {
		bool ws = ps->p < ps->end && is_ws(*ps->p);
		skip_ws(ps);
		if (ps->p >= ps->end)
			return bad(ps, "unterminated start tag");
		if (*ps->p == '>' || starts(ps, "/>")) {
			*empty = *ps->p == '/';
			ps->p += *empty ? 2 : 1;
			return 0;
		}
		if (!ws)
			return bad(ps, "no space before an attribute");
		if (*n >= WIMS_REGINFO_MAX_ATTRS)
			return big(ps, "too many attributes");
		struct attr *at = &a[*n];
		if (read_name(ps, &at->name) || qname_check(ps, at->name))
			return -EBADMSG;
		skip_ws(ps);
		if (ps->p >= ps->end || *ps->p != '=')
			return bad(ps, "attribute without '='");
		ps->p++;
		skip_ws(ps);
		if (ps->p >= ps->end || (*ps->p != '"' && *ps->p != '\''))
			return bad(ps, "unquoted attribute value");
		const char *q = memchr(ps->p + 1, *ps->p, (size_t)(ps->end - ps->p - 1));
		if (!q)
			return bad(ps, "unterminated attribute value");
		at->value = wims_str_make(ps->p + 1, (size_t)(q - ps->p - 1));
		if (check_chars(ps, at->value.p, q))
			return -EBADMSG;
		for (size_t i = 0; i < *n; i++)
			if (wims_str_eq(a[i].name, at->name))
				return bad(ps, "duplicate attribute");
		ps->p = q + 1;
		(*n)++;
	}
}

/* Prefixed attributes must have a declared prefix (xmlns:* declares, xml is fixed). */
static int attrs_ns_check(struct parser *ps, const struct attr *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct wims_str pf, local, uri;
		split_qname(a[i].name, &pf, &local);
		if (pf.p && !wims_str_eqc(pf, "xmlns") && ns_lookup(ps, pf, &uri))
			return -EBADMSG;
	}
	return 0;
}

static int start_tag(struct parser *ps)
{
	struct attr a[WIMS_REGINFO_MAX_ATTRS];
	struct wims_str qname;
	size_t n;
	bool empty;
	enum kind k;
	int rc;

	ps->p++; /* '<' */
	if (ps->root_seen && ps->depth == 0)
		return bad(ps, "content after the root element");
	if (read_name(ps, &qname) || qname_check(ps, qname))
		return -EBADMSG;
	if ((rc = read_attrs(ps, a, &n, &empty)))
		return rc;
	if (ps->depth >= WIMS_REGINFO_MAX_DEPTH)
		return big(ps, "elements nested too deep");
	if (ps->depth && ps->st[ps->depth - 1].kind == K_URI)
		ps->uri_child = true;
	if ((rc = ns_declare(ps, a, n, ps->depth + 1)) || (rc = attrs_ns_check(ps, a, n)) ||
	    (rc = classify(ps, qname, &k)))
		return rc;
	if (ps->depth && ps->st[ps->depth - 1].kind == K_OTHER)
		k = K_OTHER; /* inside an unknown element everything is unknown */
	ps->root_seen = true;
	if ((rc = elem_start(ps, k, a, n)))
		return rc;
	if (empty)
		return elem_end(ps, k, ps->p);
	ps->st[ps->depth++] = (struct elem){qname, k};
	return 0;
}

static int end_tag(struct parser *ps)
{
	const char *text_end = ps->p;
	struct wims_str qname;

	ps->p += 2; /* "</" */
	if (read_name(ps, &qname))
		return -EBADMSG;
	skip_ws(ps);
	if (ps->p >= ps->end || *ps->p != '>')
		return bad(ps, "unterminated end tag");
	ps->p++;
	if (ps->depth == 0 || !wims_str_eq(ps->st[ps->depth - 1].qname, qname))
		return bad(ps, "end tag does not match");
	ps->depth--;
	return elem_end(ps, ps->st[ps->depth].kind, text_end);
}

/* "<!--" ... "-->" (no "--" inside) or "<?" ... "?>" (not the XML declaration). */
static int misc(struct parser *ps, bool decl_ok)
{
	const char *s = ps->p;

	if (ps->depth && ps->st[ps->depth - 1].kind == K_URI)
		ps->uri_child = true;
	if (starts(ps, "<!--")) {
		for (s += 4; s + 1 < ps->end; s++) {
			if (s[0] == '-' && s[1] == '-') {
				if (s + 2 < ps->end && s[2] == '>') {
					ps->p = s + 3;
					return 0;
				}
				return bad(ps, "'--' in a comment");
			}
		}
		return bad(ps, "unterminated comment");
	}
	if (ps->end - s >= 5 && strncasecmp(s + 2, "xml", 3) == 0 &&
	    (ps->end - s == 5 || is_ws(s[5]) || s[5] == '?') && !decl_ok)
		return bad(ps, "XML declaration not at the start");
	for (s += 2; s + 1 < ps->end; s++) {
		if (s[0] == '?' && s[1] == '>') {
			ps->p = s + 2;
			return 0;
		}
	}
	return bad(ps, "unterminated processing instruction");
}

static int text(struct parser *ps)
{
	const char *s = ps->p, *lt = memchr(s, '<', (size_t)(ps->end - s));
	const char *stop = lt ? lt : ps->end;

	if (ps->depth == 0) {
		for (; s < stop; s++)
			if (!is_ws(*s))
				return bad(ps, "text outside the root element");
	} else if (check_chars(ps, s, stop)) {
		return -EBADMSG;
	}
	ps->p = stop;
	return 0;
}

int wims_reginfo_parse(struct wims_reginfo *ri, const char *doc, size_t len, const char **why)
{
	struct parser ps = {.p = doc, .end = doc + len, .ri = ri};
	int rc = 0;

	memset(ri, 0, sizeof(*ri));
	if (len > WIMS_REGINFO_MAX_DOC) {
		rc = big(&ps, "document too large");
		goto out;
	}
	if (len >= 3 && memcmp(doc, "\xef\xbb\xbf", 3) == 0)
		ps.p += 3; /* UTF-8 byte order mark */
	if (starts(&ps, "<?xml") && (rc = misc(&ps, true)))
		goto out;
	while (rc == 0 && ps.p < ps.end) {
		if (*ps.p != '<')
			rc = text(&ps);
		else if (starts(&ps, "<!--") || starts(&ps, "<?"))
			rc = misc(&ps, false);
		else if (starts(&ps, "<!"))
			rc = bad(&ps, "DOCTYPE or CDATA not accepted");
		else if (starts(&ps, "</"))
			rc = end_tag(&ps);
		else
			rc = start_tag(&ps);
	}
	if (rc == 0 && (ps.depth || !ps.root_seen))
		rc = bad(&ps, ps.root_seen ? "unclosed element" : "no reginfo element");
out:
	if (why)
		*why = rc ? ps.why : NULL;
	return rc;
}
