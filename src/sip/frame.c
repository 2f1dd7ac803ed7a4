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
#include <string.h>

#include "sip/msg.h"
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
	const char *e = lim > from ? memmem(buf + from, lim - from, "\r\n\r\n", 4) : NULL;
	if (!e) {
		if (len >= WIMS_SIP_MAX_MESSAGE)
			return -EBADMSG; /* headers larger than any message we take */
		/* never 0 once bytes were searched: 0 means "look for CRLFs" */
		fr->scanned = lim > 0 ? lim : 1;
		return 0;
	}

	size_t hdr_len = (size_t)(e - buf) + 4;
	const char *sl_end = memmem(buf, hdr_len, "\r\n", 2); /* the start line is not a header */
	long cl = content_length(sl_end + 2, buf + hdr_len - 2);
	if (cl < 0 || hdr_len + (size_t)cl > WIMS_SIP_MAX_MESSAGE)
		return -EBADMSG;
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
	struct wims_sip__framer fr = {0, 0};

	return wims_sip__frame(&fr, buf, len, skip);
}
