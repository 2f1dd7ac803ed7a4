/* Finding SIP message boundaries on a byte stream (TCP, TLS).
 *
 *   *(CRLF)  start-line CRLF  *(message-header CRLF)  CRLF  [ body ]
 *   └─skip┘  └──────────────── headers ───────────────────┘  └─ Content-Length bytes
 *
 * RFC 3261 §7.5: "implementations processing SIP messages over
 * stream-oriented transports MUST ignore any CRLF appearing before the
 * start-line".  RFC 3261 §18.3: Content-Length "MUST be used" on stream
 * transports, so a message without one cannot be framed.  RFC 5626 §3.5.1:
 * a double CRLF is a keep-alive ping; the transport answers it (this file
 * only reports the CRLFs it skipped).
 *
 * The framer reads only what it needs: the end of the headers and the
 * Content-Length value (long form or compact "l", case-insensitive, at the
 * start of a header line).  It does no I/O and no allocation, and it can
 * resume: struct wims_sip__framer remembers how far it searched.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/hash.h"
#include "sip/msg.h"
#include "sip/msg_int.h"
#include "sip/tp_int.h"

static bool is_ws(char c)
{
	return c == ' ' || c == '\t';
}

/* End of the logical header line starting at p (CRLF not followed by
 * SP/HT: RFC 3261 §7.3.1 folding), as a pointer to its CR.  The header
 * block ends in CRLFCRLF, so the search always stops before end. */
static const char *line_end(const char *p, const char *end)
{
	for (;;) {
		const char *cr = memmem(p, (size_t)(end - p), "\r\n", 2);
		if (!cr)
			return end;
		if (cr + 2 >= end || !is_ws(cr[2]))
			return cr;
		p = cr + 2;
	}
}

static bool is_cl_name(const char *p, size_t l)
{
	while (l && is_ws(p[l - 1]))
		l--;
	return (l == 1 && (p[0] == 'l' || p[0] == 'L')) ||
	       (l == 14 && strncasecmp(p, "Content-Length", 14) == 0);
}

/* Value of Content-Length between p and end: LWS, 1*DIGIT, LWS.  -1 when bad. */
static long cl_value(const char *p, const char *end)
{
	long v = 0;
	size_t digits = 0;

	while (p < end && (is_ws(*p) || *p == '\r' || *p == '\n'))
		p++;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (++digits > 9) /* far above WIMS_SIP_MAX_MESSAGE already */
			return -1;
		v = v * 10 + (*p - '0');
	}
	while (p < end && (is_ws(*p) || *p == '\r' || *p == '\n'))
		p++;
	return digits && p == end ? v : -1;
}

/* Content-Length of the header block [p, end) (start line excluded, the
 * final CRLFCRLF included).  -1 when missing, malformed or given twice
 * with different values. */
static long content_length(const char *p, const char *end)
{
	long cl = -1;

	while (p < end) {
		const char *le = line_end(p, end);
		const char *colon = memchr(p, ':', (size_t)(le - p));
		if (colon && is_cl_name(p, (size_t)(colon - p))) {
			long v = cl_value(colon + 1, le);
			if (v < 0 || (cl >= 0 && v != cl))
				return -1;
			cl = v;
		}
		p = le + 2;
	}
	return cl;
}

/* Content-Length of the header block as content_length(), naming the fault. */
static long content_length_why(const char *p, const char *end, const char **why)
{
	long cl = content_length(p, end);

	if (cl >= 0)
		return cl;
	/* tell "missing" from "bad": is there a Content-Length line at all? */
	*why = "Missing Content-Length";
	while (p < end) {
		const char *le = line_end(p, end);
		const char *colon = memchr(p, ':', (size_t)(le - p));
		if (colon && is_cl_name(p, (size_t)(colon - p)))
			*why = "Bad Content-Length";
		p = le + 2;
	}
	return -1;
}

/* The start line (without CRLF) has the shape of one: a status line
 * "SIP/..." or a request line "token SP ... SP SIP/...".  The version
 * itself is the parser's (a request with another gets 505), but bytes that
 * are not SIP at all (an HTTP request, a TLS ClientHello on the TCP port)
 * end the connection here: nothing after them can be framed reliably. */
static bool start_line_ok(const char *p, size_t l)
{
	const char *sp;

	if (l >= 4 && strncasecmp(p, "SIP/", 4) == 0)
		return true;
	if (l == 0 || !wims_sip__is(p[0], WIMS_SIP__C_TOKEN))
		return false;
	sp = memrchr(p, ' ', l);
	return sp && sp != p && (size_t)(p + l - sp) > 4 && strncasecmp(sp + 1, "SIP/", 4) == 0;
}

/* Checks the first line as soon as it is whole; a first byte that cannot
 * start one fails at once.  0, 1 (line still incomplete) or -EBADMSG.
 * Resumes the search for its CRLF where the last call stopped (fr->scanned
 * bytes had no CRLF then), so a start line sent a byte at a time costs
 * linear time, not quadratic. */
static int check_start_line(struct wims_sip__framer *fr, const char *buf, size_t lim)
{
	size_t from = fr->scanned > 1 ? fr->scanned - 1 : 0;
	const char *cr;

	if (fr->sl_ok)
		return 0;
	if (lim > 0 && !wims_sip__is(buf[0], WIMS_SIP__C_TOKEN))
		goto bad;
	if (lim <= from || !(cr = memmem(buf + from, lim - from, "\r\n", 2)))
		return 1;
	if (!start_line_ok(buf, (size_t)(cr - buf)))
		goto bad;
	fr->sl_ok = true;
	return 0;
bad:
	fr->why = "Bad start line";
	return -EBADMSG;
}

static size_t crlf_prefix(const char *buf, size_t len)
{
	size_t n = 0;

	while (n + 1 < len && buf[n] == '\r' && buf[n + 1] == '\n')
		n += 2;
	return n;
}

long wims_sip__frame(struct wims_sip__framer *fr, const char *buf, size_t len, size_t *skip)
{
	*skip = 0;
	if (fr->total)
		return len >= fr->total ? (long)fr->total : 0;
	if (fr->scanned == 0) {
		*skip = crlf_prefix(buf, len);
		buf += *skip;
		len -= *skip;
		if (len == 0 || (len == 1 && buf[0] == '\r'))
			return 0; /* only keep-alives so far, or half of one */
	}

	size_t lim = len < WIMS_SIP_MAX_MESSAGE ? len : WIMS_SIP_MAX_MESSAGE;
	size_t from = fr->scanned > 3 ? fr->scanned - 3 : 0;
	int slr = check_start_line(fr, buf, lim);
	if (slr < 0)
		return -EBADMSG;
	const char *e = lim > from ? memmem(buf + from, lim - from, "\r\n\r\n", 4) : NULL;
	if (!e) {
		if (len >= WIMS_SIP_MAX_MESSAGE) {
			fr->why = "Message too large"; /* headers larger than any message we take */
			return -EBADMSG;
		}
		/* never 0 once bytes were searched: 0 means "look for CRLFs" */
		fr->scanned = lim > 0 ? lim : 1;
		return 0;
	}

	size_t hdr_len = (size_t)(e - buf) + 4;
	const char *sl_end = memmem(buf, hdr_len, "\r\n", 2); /* the start line is not a header */
	long cl = content_length_why(sl_end + 2, buf + hdr_len - 2, &fr->why);
	if (cl < 0)
		return -EBADMSG;
	if (hdr_len + (size_t)cl > WIMS_SIP_MAX_MESSAGE) {
		fr->why = "Message too large";
		return -EBADMSG;
	}
	fr->total = hdr_len + (size_t)cl;
	return len >= fr->total ? (long)fr->total : 0;
}

/*
 * The size of the first message in buf, counted from buf + *skip (the
 * leading CRLF keep-alives, which the caller drops), 0 when more bytes are
 * needed, -EBADMSG when the message cannot be framed (no, bad or
 * conflicting Content-Length; headers or message over WIMS_SIP_MAX_MESSAGE).
 */
long wims_sip_stream_frame(const char *buf, size_t len, size_t *skip)
{
	struct wims_sip__framer fr = {0};

	return wims_sip__frame(&fr, buf, len, skip);
}

/* RFC 3261 §18.3: a stream message without a usable Content-Length cannot
 * be delimited, so the connection ends; when enough of it was read, the
 * sender learns why first.  Never an answer to a response or an ACK
 * (§17.2.3 / §8.2.6 apply to requests that expect one). */
int wims_sip__frame_reply(struct wims_sip_msg *m, const char *buf, size_t len, const char *why,
			  struct wims_wbuf *out)
{
	size_t lim = len < WIMS_SIP_MAX_MESSAGE ? len : WIMS_SIP_MAX_MESSAGE;
	const char *e = memmem(buf, lim, "\r\n\r\n", 4);
	const char *pwhy = NULL;
	char tag[20];
	uint64_t h;

	if (!why || !e || strcmp(why, "Bad start line") == 0)
		return -EBADMSG;
	if (wims_sip__msg_parse_head(m, buf, (size_t)(e - buf) + 4, &pwhy) != 0 || !m->is_request ||
	    m->method_id == WIMS_SIP_ACK)
		return -EBADMSG;
	/* a To tag of the request's own: a retransmission gets the same one */
	h = wims_hash_bytes(wims_sip_msg_hdr(m, WIMS_HDR_CALL_ID)->value.p,
			    wims_sip_msg_hdr(m, WIMS_HDR_CALL_ID)->value.l);
	snprintf(tag, sizeof(tag), "%016llx", (unsigned long long)h);
	if (strcmp(why, "Message too large") == 0)
		return wims_sip_reply(m, 513, NULL, wims_str_c(tag), WIMS_STR_NULL, out);
	return wims_sip_reply(m, 400, why, wims_str_c(tag), WIMS_STR_NULL, out);
}
