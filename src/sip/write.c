/* Writing SIP messages: an edit list applied to the received bytes
 * (Content-Length always recomputed), and responses built from a request
 * (RFC 3261 §8.2.6).  Output goes to a bounded wbuf; nothing is allocated.
 */
#include "sip/msg.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "sip/msg_int.h"

/* ---- edit list ---- */

static void edit_add(struct wims_sip_edits *ed, const struct wims_sip_msg *m, const char *p, size_t del,
		     struct wims_str ins)
{
	uintptr_t a = (uintptr_t)p, b = (uintptr_t)m->raw.p;
	struct wims_sip_edit *e;

	if (ed->n >= WIMS_SIP_MAX_EDITS || !p || a < b || a - b > m->raw.l || del > m->raw.l - (a - b) ||
	    (ins.l && !ins.p)) {
		ed->overflow = true;
		return;
	}
	e = &ed->e[ed->n++];
	e->off = a - b;
	e->del = del;
	e->ins = ins;
}

void wims_sip_edit_replace(struct wims_sip_edits *ed, const struct wims_sip_msg *m, struct wims_str s,
			   struct wims_str ins)
{
	edit_add(ed, m, s.p, s.l, ins);
}

void wims_sip_edit_insert(struct wims_sip_edits *ed, const struct wims_sip_msg *m, const char *p,
			  struct wims_str ins)
{
	edit_add(ed, m, p, 0, ins);
}

void wims_sip_edit_remove_hdr(struct wims_sip_edits *ed, const struct wims_sip_msg *m,
			      const struct wims_sip_hdr *h)
{
	if (!h) {
		ed->overflow = true;
		return;
	}
	edit_add(ed, m, h->line.p, h->line.l, WIMS_STR_NULL);
}

void wims_sip_edit_prepend_hdr(struct wims_sip_edits *ed, const struct wims_sip_msg *m, struct wims_str line)
{
	edit_add(ed, m, m->nhdrs ? m->hdrs[0].line.p : m->headers_end.p, 0, line);
}

void wims_sip_edit_append_hdr(struct wims_sip_edits *ed, const struct wims_sip_msg *m, struct wims_str line)
{
	edit_add(ed, m, m->headers_end.p, 0, line);
}

/* Is the span s already deleted by a pure deletion of ed? */
static bool deleted(const struct wims_sip_edits *ed, const struct wims_sip_msg *m, struct wims_str s)
{
	size_t off = (size_t)(s.p - m->raw.p);

	for (size_t i = 0; i < ed->n; i++)
		if (ed->e[i].ins.l == 0 && ed->e[i].off <= off && off + s.l <= ed->e[i].off + ed->e[i].del)
			return true;
	return false;
}

/* Deletions may overlap one another (wims_sip_msg_write() takes their
 * union), so removing several values of one line in any order works: the
 * separator removed is the one towards a neighbour that is not already
 * deleted, and when the last remaining value goes, the whole line goes. */
void wims_sip_edit_remove_val(struct wims_sip_edits *ed, const struct wims_sip_msg *m,
			      const struct wims_sip_vals *it)
{
	const struct wims_sip_hdr *h = it->hdr;
	struct wims_str v = it->value, cur, prev = WIMS_STR_NULL, next = WIMS_STR_NULL;
	size_t pos = 0;
	bool found = false, others_left = false;

	if (!h || !v.p) {
		ed->overflow = true;
		return;
	}
	while (wims_sip_list_next(h->value, &pos, &cur)) {
		if (cur.p == v.p) {
			found = true;
			continue;
		}
		if (deleted(ed, m, cur))
			continue;
		others_left = true;
		if (!found)
			prev = cur;
		else if (!next.p)
			next = cur;
	}
	if (!found) {
		ed->overflow = true;
		return;
	}
	if (!others_left)
		edit_add(ed, m, h->line.p, h->line.l, WIMS_STR_NULL);
	else if (next.p) /* "value, " */
		edit_add(ed, m, v.p, (size_t)(next.p - v.p), WIMS_STR_NULL);
	else /* ", value" */
		edit_add(ed, m, prev.p + prev.l, (size_t)(v.p + v.l - (prev.p + prev.l)), WIMS_STR_NULL);
}

/* ---- writing ---- */

struct wctx {
	struct wims_sip_edit e[WIMS_SIP_MAX_EDITS + 1];
	size_t n;
	size_t hend, bstart, bend; /* offsets: empty line, body, body end */
	bool cl_removed;
	char cl[48];
};

/* Check the user's edits against the message layout; note a removed
 * Content-Length line.  Edits must stay in the headers (before the empty
 * line) or in the body (only when the body is not replaced); the
 * Content-Length line may only be removed whole. */
static int check_edits(struct wctx *c, const struct wims_sip_msg *m, const struct wims_sip_edits *ed)
{
	const struct wims_sip_hdr *cl = wims_sip_msg_hdr(m, WIMS_HDR_CONTENT_LENGTH);
	size_t cs = 0, ce = 0;

	if (cl) {
		cs = (size_t)(cl->line.p - m->raw.p);
		ce = cs + cl->line.l;
	}
	for (size_t i = 0; i < ed->n; i++) {
		const struct wims_sip_edit *e = &ed->e[i];
		size_t end = e->off + e->del;

		if (e->off > m->raw.l || e->del > m->raw.l - e->off)
			return -EINVAL;
		if (!(end <= c->hend || (e->off >= c->bstart && end <= c->bend && !ed->body_set)))
			return -EINVAL;
		if (cl && e->ins.l == 0 && e->off <= cs && end >= ce && e->del) {
			c->cl_removed = true;
		} else if (cl && ((e->off < ce && end > cs && e->del) || (e->off > cs && e->off < ce))) {
			return -EINVAL;
		}
	}
	return 0;
}

static size_t body_len(const struct wctx *c, const struct wims_sip_msg *m, const struct wims_sip_edits *ed)
{
	size_t l = m->body.l;

	if (ed->body_set)
		return ed->new_body.l;
	for (size_t i = 0; i < ed->n; i++)
		if (ed->e[i].off >= c->bstart)
			l = l + ed->e[i].ins.l - ed->e[i].del;
	return l;
}

/* Stable insertion sort by offset: equal offsets keep insertion order. */
static void sort_edits(struct wctx *c)
{
	for (size_t i = 1; i < c->n; i++) {
		struct wims_sip_edit t = c->e[i];
		size_t j = i;

		while (j > 0 && c->e[j - 1].off > t.off) {
			c->e[j] = c->e[j - 1];
			j--;
		}
		c->e[j] = t;
	}
}

static int apply(const struct wctx *c, const char *raw, size_t limit, struct wims_wbuf *out)
{
	size_t cur = 0, last_off = SIZE_MAX;
	bool pure = false;

	for (size_t i = 0; i < c->n; i++) {
		const struct wims_sip_edit *e = &c->e[i];

		if (e->del == 0 && e->ins.l == 0)
			continue;
		if (e->off < cur) {
			if (e->ins.l == 0 && pure) { /* overlapping deletions: union */
				if (e->off + e->del > cur)
					cur = e->off + e->del;
				continue;
			}
			if (e->del == 0 && e->off == last_off) { /* insert after an edit at the same place */
				wims_wbuf_putstr(out, e->ins);
				continue;
			}
			return -EINVAL;
		}
		wims_wbuf_put(out, raw + cur, e->off - cur);
		wims_wbuf_putstr(out, e->ins);
		cur = e->off + e->del;
		last_off = e->off;
		pure = e->ins.l == 0;
	}
	if (cur < limit)
		wims_wbuf_put(out, raw + cur, limit - cur);
	return 0;
}

/* "Content-Length: N\r\n" into buf (48 bytes); its length.  No printf on
 * the forwarding path. */
static int cl_line(char *buf, size_t v)
{
	static const char pre[] = "Content-Length: ";
	char d[24];
	size_t nd = 0, l = sizeof(pre) - 1;

	do {
		d[nd++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	memcpy(buf, pre, l);
	while (nd)
		buf[l++] = d[--nd];
	buf[l++] = '\r';
	buf[l++] = '\n';
	return (int)l;
}

/* Header lines of the message written at p (start line first): a line
 * that does not begin with SP/HT starts a header, as wims_sip_msg_parse()
 * counts them (§7.3.1 folding).  Stops at the empty line. */
static size_t count_hdrs(const char *p, size_t len)
{
	const char *end = p + len, *cr = memmem(p, len, "\r\n", 2);
	size_t n = 0;

	while (cr && cr + 2 < end) {
		p = cr + 2;
		if (p[0] == '\r')
			break; /* the empty line (or a bad line ending the parser refuses anyway) */
		if (p[0] != ' ' && p[0] != '\t')
			n++;
		cr = memmem(p, (size_t)(end - p), "\r\n", 2);
	}
	return n;
}

/* What was written must parse again: wims_sip_msg_parse() refuses more than
 * WIMS_SIP_MAX_HEADERS header lines and more than WIMS_SIP_MAX_MESSAGE bytes,
 * and so would any wimsd (and our own stream framer) it goes to.  A message
 * received at the limit grows by the edits and the Content-Length line. */
static int check_limits(struct wims_wbuf *out, size_t base)
{
	size_t len = out->len - base;

	if (len > WIMS_SIP_MAX_MESSAGE)
		return -EMSGSIZE;
	if (count_hdrs(out->p + base, len) > WIMS_SIP_MAX_HEADERS)
		return -E2BIG;
	return 0;
}

int wims_sip_msg_write(const struct wims_sip_msg *m, const struct wims_sip_edits *ed, struct wims_wbuf *out)
{
	struct wctx c;
	const struct wims_sip_hdr *cl;
	size_t base = out->len;
	int r, n;

	if (ed->overflow || ed->n > WIMS_SIP_MAX_EDITS || !m->headers_end.p)
		return -EINVAL;
	c.cl_removed = false;
	c.hend = (size_t)(m->headers_end.p - m->raw.p);
	c.bstart = c.hend + m->headers_end.l;
	c.bend = c.bstart + m->body.l;
	if ((r = check_edits(&c, m, ed)) != 0)
		return r;
	memcpy(c.e, ed->e, ed->n * sizeof(ed->e[0]));
	c.n = ed->n;
	n = cl_line(c.cl, body_len(&c, m, ed));
	cl = wims_sip_msg_hdr(m, WIMS_HDR_CONTENT_LENGTH);
	if (cl && !c.cl_removed)
		c.e[c.n++] = (struct wims_sip_edit){(size_t)(cl->line.p - m->raw.p), cl->line.l,
						    wims_str_make(c.cl, (size_t)n)};
	else
		c.e[c.n++] = (struct wims_sip_edit){c.hend, 0, wims_str_make(c.cl, (size_t)n)};
	sort_edits(&c);
	if ((r = apply(&c, m->raw.p, ed->body_set ? c.bstart : c.bend, out)) != 0)
		goto fail;
	if (ed->body_set)
		wims_wbuf_putstr(out, ed->new_body);
	if (out->err)
		return -ENOSPC;
	if ((r = check_limits(out, base)) == 0)
		return 0;
fail:
	out->len = base; /* nothing half-written for a caller that sends out->p anyway */
	return r;
}

/* ---- responses ---- */

static void put_hdr(struct wims_wbuf *out, const char *name, struct wims_str value)
{
	wims_wbuf_puts(out, name);
	wims_wbuf_put(out, ": ", 2);
	wims_wbuf_putstr(out, value);
	wims_wbuf_put(out, "\r\n", 2);
}

int wims_sip_reply(const struct wims_sip_msg *req, unsigned code, const char *reason, struct wims_str to_tag,
		   struct wims_str extra, struct wims_wbuf *out)
{
	const struct wims_sip_hdr *h;
	struct wims_sip_addr a;
	struct wims_str tag;

	if (!req->is_request || code < 100 || code > 699)
		return -EINVAL;
	if (!reason)
		reason = wims_sip_reason_phrase(code);
	wims_wbuf_printf(out, "SIP/2.0 %u %s\r\n", code, reason);
	/* §8.2.6.2: the Via values, in the same order. */
	for (h = wims_sip_msg_hdr(req, WIMS_HDR_VIA); h; h = wims_sip_msg_hdr_next(req, h))
		put_hdr(out, "Via", h->value);
	if ((h = wims_sip_msg_hdr(req, WIMS_HDR_FROM)) != NULL)
		put_hdr(out, "From", h->value);
	if ((h = wims_sip_msg_hdr(req, WIMS_HDR_TO)) != NULL) {
		wims_wbuf_puts(out, "To: ");
		wims_wbuf_putstr(out, h->value);
		/* §8.2.6.2: a tag unless the To has one; never on 100 (§8.2.6.1
		 * leaves it out of provisional 100s, which end no dialog). */
		if (code != 100 && to_tag.l &&
		    !(wims_sip_addr_parse(&a, h->value) == 0 && wims_sip_param_get(a.params, "tag", &tag))) {
			wims_wbuf_puts(out, ";tag=");
			wims_wbuf_putstr(out, to_tag);
		}
		wims_wbuf_put(out, "\r\n", 2);
	}
	if ((h = wims_sip_msg_hdr(req, WIMS_HDR_CALL_ID)) != NULL)
		put_hdr(out, "Call-ID", h->value);
	if ((h = wims_sip_msg_hdr(req, WIMS_HDR_CSEQ)) != NULL)
		put_hdr(out, "CSeq", h->value);
	/* §8.2.6.1: a 100 copies the request's Timestamp. */
	if (code == 100 && (h = wims_sip_msg_hdr(req, WIMS_HDR_TIMESTAMP)) != NULL)
		put_hdr(out, "Timestamp", h->value);
	if (extra.l)
		wims_wbuf_putstr(out, extra);
	wims_wbuf_puts(out, "Content-Length: 0\r\n\r\n");
	return out->err ? -ENOSPC : 0;
}

const char *wims_sip_reason_phrase(unsigned code)
{
	switch (code) {
	case 100: return "Trying";
	case 180: return "Ringing";
	case 181: return "Call Is Being Forwarded";
	case 182: return "Queued";
	case 183: return "Session Progress";
	case 199: return "Early Dialog Terminated";
	case 200: return "OK";
	case 202: return "Accepted";
	case 204: return "No Notification";
	case 300: return "Multiple Choices";
	case 301: return "Moved Permanently";
	case 302: return "Moved Temporarily";
	case 305: return "Use Proxy";
	case 380: return "Alternative Service";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 402: return "Payment Required";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 407: return "Proxy Authentication Required";
	case 408: return "Request Timeout";
	case 410: return "Gone";
	case 412: return "Conditional Request Failed";
	case 413: return "Request Entity Too Large";
	case 414: return "Request-URI Too Long";
	case 415: return "Unsupported Media Type";
	case 416: return "Unsupported URI Scheme";
	case 417: return "Unknown Resource-Priority";
	case 420: return "Bad Extension";
	case 421: return "Extension Required";
	case 422: return "Session Interval Too Small";
	case 423: return "Interval Too Brief";
	case 424: return "Bad Location Information";
	case 428: return "Use Identity Header";
	case 429: return "Provide Referrer Identity";
	case 430: return "Flow Failed";
	case 433: return "Anonymity Disallowed";
	case 436: return "Bad Identity-Info";
	case 437: return "Unsupported Certificate";
	case 438: return "Invalid Identity Header";
	case 439: return "First Hop Lacks Outbound Support";
	case 440: return "Max-Breadth Exceeded";
	case 469: return "Bad Info Package";
	case 470: return "Consent Needed";
	case 480: return "Temporarily Unavailable";
	case 481: return "Call/Transaction Does Not Exist";
	case 482: return "Loop Detected";
	case 483: return "Too Many Hops";
	case 484: return "Address Incomplete";
	case 485: return "Ambiguous";
	case 486: return "Busy Here";
	case 487: return "Request Terminated";
	case 488: return "Not Acceptable Here";
	case 489: return "Bad Event";
	case 491: return "Request Pending";
	case 493: return "Undecipherable";
	case 494: return "Security Agreement Required";
	case 500: return "Server Internal Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Server Time-out";
	case 505: return "Version Not Supported";
	case 513: return "Message Too Large";
	case 555: return "Push Notification Service Not Supported";
	case 580: return "Precondition Failure";
	case 600: return "Busy Everywhere";
	case 603: return "Decline";
	case 604: return "Does Not Exist Anywhere";
	case 606: return "Not Acceptable";
	case 607: return "Unwanted";
	case 608: return "Rejected";
	}
	/* RFC 3261 §21: an unknown code is treated as the x00 of its class. */
	if (code >= 100 && code < 700 && code % 100 != 0)
		return wims_sip_reason_phrase(code - code % 100);
	return "Unknown";
}
