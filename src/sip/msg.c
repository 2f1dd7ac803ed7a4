/* SIP message parser: start line, header lines, body (RFC 3261 §7).
 *
 *   Request-Line  = Method SP Request-URI SP SIP-Version CRLF
 *   Status-Line   = SIP-Version SP Status-Code SP Reason-Phrase CRLF
 *   message-header= field-name HCOLON field-value CRLF     (repeated)
 *                   [ SP/HT continuation CRLF ]             (folding, §7.3.1)
 *   CRLF                                                    (end of headers)
 *   message-body                                            (Content-Length bytes)
 *
 * Zero-copy: every field is a view into the caller's buffer.  Only what must
 * be checked to accept a message is parsed here (start line, presence and
 * uniqueness of the mandatory headers, CSeq, top Via, From/To syntax,
 * Content-Length); everything else is parsed on demand (msg_val.c).
 *
 * Line endings: every line must end in CRLF.  A bare LF or a bare CR is
 * rejected ("Bad line ending"): RFC 3261 §7 makes CRLF mandatory, and
 * accepting LF alone would let two parsers of the same bytes disagree about
 * where a header (or the message) ends.  CRLFs before the start line are
 * skipped (§7.5 keep-alives).
 */
#include "sip/msg.h"

#include <errno.h>
#include <string.h>

#include "sip/msg_int.h"

#define TK (WIMS_SIP__C_TOKEN)
#define AN (WIMS_SIP__C_ALNUM | WIMS_SIP__C_TOKEN | WIMS_SIP__C_HOST | WIMS_SIP__C_USER | WIMS_SIP__C_SCHEME | WIMS_SIP__C_URIC)
#define UR (WIMS_SIP__C_URIC)
#define US (WIMS_SIP__C_USER | WIMS_SIP__C_URIC)

const uint8_t wims_sip__cc[256] = {
	['a' ... 'z'] = AN, ['A' ... 'Z'] = AN, ['0' ... '9'] = AN,
	['-'] = TK | US | WIMS_SIP__C_HOST | WIMS_SIP__C_SCHEME,
	['.'] = TK | US | WIMS_SIP__C_HOST | WIMS_SIP__C_SCHEME,
	['+'] = TK | US | WIMS_SIP__C_SCHEME,
	['!'] = TK | US, ['%'] = TK | US, ['*'] = TK | US, ['_'] = TK | US | WIMS_SIP__C_HOST,
	['`'] = TK | UR, ['\''] = TK | US, ['~'] = TK | US,
	['('] = US, [')'] = US, ['&'] = US, ['='] = US, ['$'] = US, [','] = US, [';'] = US,
	['?'] = US, ['/'] = US, [':'] = US,
	['#'] = UR, ['@'] = UR, ['['] = UR, [']'] = UR, ['\\'] = UR, ['^'] = UR, ['{'] = UR,
	['|'] = UR, ['}'] = UR,
};

#undef TK
#undef AN
#undef UR
#undef US

/* ---- methods ---- */

static const char *const method_names[] = {
	[WIMS_SIP_OTHER] = "", [WIMS_SIP_INVITE] = "INVITE", [WIMS_SIP_ACK] = "ACK",
	[WIMS_SIP_BYE] = "BYE", [WIMS_SIP_CANCEL] = "CANCEL", [WIMS_SIP_REGISTER] = "REGISTER",
	[WIMS_SIP_OPTIONS] = "OPTIONS", [WIMS_SIP_UPDATE] = "UPDATE", [WIMS_SIP_PRACK] = "PRACK",
	[WIMS_SIP_INFO] = "INFO", [WIMS_SIP_MESSAGE] = "MESSAGE", [WIMS_SIP_SUBSCRIBE] = "SUBSCRIBE",
	[WIMS_SIP_NOTIFY] = "NOTIFY", [WIMS_SIP_REFER] = "REFER", [WIMS_SIP_PUBLISH] = "PUBLISH",
};

static inline enum wims_sip_method meth_if(struct wims_str s, enum wims_sip_method m)
{
	return memcmp(s.p, method_names[m], s.l) == 0 ? m : WIMS_SIP_OTHER;
}

/* Methods are case-sensitive (RFC 3261 §7.1). */
enum wims_sip_method wims_sip_method_from_str(struct wims_str s)
{
	if (!s.p)
		return WIMS_SIP_OTHER;
	switch (s.l) {
	case 3:
		return s.p[0] == 'A' ? meth_if(s, WIMS_SIP_ACK) : meth_if(s, WIMS_SIP_BYE);
	case 4:
		return meth_if(s, WIMS_SIP_INFO);
	case 5:
		return s.p[0] == 'P' ? meth_if(s, WIMS_SIP_PRACK) : meth_if(s, WIMS_SIP_REFER);
	case 6:
		switch (s.p[0]) {
		case 'I': return meth_if(s, WIMS_SIP_INVITE);
		case 'C': return meth_if(s, WIMS_SIP_CANCEL);
		case 'U': return meth_if(s, WIMS_SIP_UPDATE);
		case 'N': return meth_if(s, WIMS_SIP_NOTIFY);
		}
		return WIMS_SIP_OTHER;
	case 7:
		switch (s.p[0]) {
		case 'O': return meth_if(s, WIMS_SIP_OPTIONS);
		case 'M': return meth_if(s, WIMS_SIP_MESSAGE);
		case 'P': return meth_if(s, WIMS_SIP_PUBLISH);
		}
		return WIMS_SIP_OTHER;
	case 8:
		return meth_if(s, WIMS_SIP_REGISTER);
	case 9:
		return meth_if(s, WIMS_SIP_SUBSCRIBE);
	}
	return WIMS_SIP_OTHER;
}

const char *wims_sip_method_name(enum wims_sip_method m)
{
	if ((unsigned)m >= sizeof(method_names) / sizeof(method_names[0]))
		return "";
	return method_names[m];
}

/* ---- header names ---- */

static const char *const hdr_names[WIMS_HDR__COUNT] = {
	[WIMS_HDR_OTHER] = "",
	[WIMS_HDR_VIA] = "Via", [WIMS_HDR_FROM] = "From", [WIMS_HDR_TO] = "To",
	[WIMS_HDR_CALL_ID] = "Call-ID", [WIMS_HDR_CSEQ] = "CSeq", [WIMS_HDR_CONTACT] = "Contact",
	[WIMS_HDR_MAX_FORWARDS] = "Max-Forwards", [WIMS_HDR_ROUTE] = "Route",
	[WIMS_HDR_RECORD_ROUTE] = "Record-Route", [WIMS_HDR_CONTENT_LENGTH] = "Content-Length",
	[WIMS_HDR_CONTENT_TYPE] = "Content-Type", [WIMS_HDR_EXPIRES] = "Expires",
	[WIMS_HDR_SUPPORTED] = "Supported", [WIMS_HDR_REQUIRE] = "Require",
	[WIMS_HDR_PROXY_REQUIRE] = "Proxy-Require", [WIMS_HDR_UNSUPPORTED] = "Unsupported",
	[WIMS_HDR_PATH] = "Path", [WIMS_HDR_SERVICE_ROUTE] = "Service-Route",
	[WIMS_HDR_AUTHORIZATION] = "Authorization",
	[WIMS_HDR_PROXY_AUTHORIZATION] = "Proxy-Authorization",
	[WIMS_HDR_WWW_AUTHENTICATE] = "WWW-Authenticate",
	[WIMS_HDR_PROXY_AUTHENTICATE] = "Proxy-Authenticate", [WIMS_HDR_EVENT] = "Event",
	[WIMS_HDR_SUBSCRIPTION_STATE] = "Subscription-State", [WIMS_HDR_ALLOW] = "Allow",
	[WIMS_HDR_MIN_EXPIRES] = "Min-Expires", [WIMS_HDR_RSEQ] = "RSeq", [WIMS_HDR_RACK] = "RAck",
	[WIMS_HDR_SESSION_EXPIRES] = "Session-Expires", [WIMS_HDR_MIN_SE] = "Min-SE",
	[WIMS_HDR_REFER_TO] = "Refer-To", [WIMS_HDR_REFERRED_BY] = "Referred-By",
	[WIMS_HDR_P_ASSERTED_IDENTITY] = "P-Asserted-Identity",
	[WIMS_HDR_P_PREFERRED_IDENTITY] = "P-Preferred-Identity",
	[WIMS_HDR_P_ASSOCIATED_URI] = "P-Associated-URI",
	[WIMS_HDR_P_CHARGING_VECTOR] = "P-Charging-Vector",
	[WIMS_HDR_P_CHARGING_FUNCTION_ADDRESSES] = "P-Charging-Function-Addresses",
	[WIMS_HDR_P_VISITED_NETWORK_ID] = "P-Visited-Network-ID",
	[WIMS_HDR_P_ACCESS_NETWORK_INFO] = "P-Access-Network-Info",
	[WIMS_HDR_SECURITY_CLIENT] = "Security-Client", [WIMS_HDR_SECURITY_SERVER] = "Security-Server",
	[WIMS_HDR_SECURITY_VERIFY] = "Security-Verify", [WIMS_HDR_FLOW_TIMER] = "Flow-Timer",
	[WIMS_HDR_USER_AGENT] = "User-Agent", [WIMS_HDR_SERVER] = "Server", [WIMS_HDR_ACCEPT] = "Accept",
	[WIMS_HDR_ALLOW_EVENTS] = "Allow-Events", [WIMS_HDR_REASON] = "Reason",
	[WIMS_HDR_TIMESTAMP] = "Timestamp",
};

const char *wims_sip_hdr_name(enum wims_sip_hdr_id id)
{
	if ((unsigned)id >= WIMS_HDR__COUNT)
		return "";
	return hdr_names[id];
}

/* Compact forms (RFC 3261 §7.3.3, RFC 3265, 3515, 3892, 4028, 3841, 4474). */
static enum wims_sip_hdr_id hdr_compact(char c)
{
	switch (c | 0x20) {
	case 'i': return WIMS_HDR_CALL_ID;
	case 'm': return WIMS_HDR_CONTACT;
	case 'l': return WIMS_HDR_CONTENT_LENGTH;
	case 'c': return WIMS_HDR_CONTENT_TYPE;
	case 'f': return WIMS_HDR_FROM;
	case 'k': return WIMS_HDR_SUPPORTED;
	case 't': return WIMS_HDR_TO;
	case 'v': return WIMS_HDR_VIA;
	case 'o': return WIMS_HDR_EVENT;
	case 'u': return WIMS_HDR_ALLOW_EVENTS;
	case 'r': return WIMS_HDR_REFER_TO;
	case 'b': return WIMS_HDR_REFERRED_BY;
	case 'x': return WIMS_HDR_SESSION_EXPIRES;
	default: return WIMS_HDR_OTHER; /* e s y a j d and unknown letters */
	}
}

/* p is l token characters; the name is letters, digits and '-', for which
 * OR-ing 0x20 folds case without aliasing any other token character (and is
 * several times cheaper than the locale-aware strncasecmp()). */
static inline bool name_is(const char *p, size_t l, enum wims_sip_hdr_id id)
{
	const char *n = hdr_names[id];

	for (size_t i = 0; i < l; i++)
		if ((p[i] | 0x20) != (n[i] | 0x20) || n[i] == '\0')
			return false;
	return n[l] == '\0';
}

/* Dispatch on the length, then on the first letter; at most a couple of
 * strncasecmp() per header line. */
static enum wims_sip_hdr_id hdr_classify(const char *p, size_t l)
{
	char c = (char)(p[0] | 0x20);
	enum wims_sip_hdr_id a = WIMS_HDR_OTHER, b = WIMS_HDR_OTHER;

	switch (l) {
	case 1: return hdr_compact(p[0]);
	case 2: a = WIMS_HDR_TO; break;
	case 3: a = WIMS_HDR_VIA; break;
	case 4:
		if (c == 'f') a = WIMS_HDR_FROM;
		else if (c == 'c') a = WIMS_HDR_CSEQ;
		else if (c == 'p') a = WIMS_HDR_PATH;
		else if (c == 'r') { a = WIMS_HDR_RSEQ; b = WIMS_HDR_RACK; }
		break;
	case 5:
		if (c == 'r') a = WIMS_HDR_ROUTE;
		else if (c == 'e') a = WIMS_HDR_EVENT;
		else if (c == 'a') a = WIMS_HDR_ALLOW;
		break;
	case 6:
		if (c == 'm') a = WIMS_HDR_MIN_SE;
		else if (c == 's') a = WIMS_HDR_SERVER;
		else if (c == 'a') a = WIMS_HDR_ACCEPT;
		else if (c == 'r') a = WIMS_HDR_REASON;
		break;
	case 7:
		if (c == 'c') { a = WIMS_HDR_CALL_ID; b = WIMS_HDR_CONTACT; }
		else if (c == 'e') a = WIMS_HDR_EXPIRES;
		else if (c == 'r') a = WIMS_HDR_REQUIRE;
		break;
	case 8: a = WIMS_HDR_REFER_TO; break;
	case 9:
		if (c == 's') a = WIMS_HDR_SUPPORTED;
		else if (c == 't') a = WIMS_HDR_TIMESTAMP;
		break;
	case 10:
		if (c == 'f') a = WIMS_HDR_FLOW_TIMER;
		else if (c == 'u') a = WIMS_HDR_USER_AGENT;
		break;
	case 11:
		if (c == 'u') a = WIMS_HDR_UNSUPPORTED;
		else if (c == 'm') a = WIMS_HDR_MIN_EXPIRES;
		else if (c == 'r') a = WIMS_HDR_REFERRED_BY;
		break;
	case 12:
		if (c == 'm') a = WIMS_HDR_MAX_FORWARDS;
		else if (c == 'r') a = WIMS_HDR_RECORD_ROUTE;
		else if (c == 'c') a = WIMS_HDR_CONTENT_TYPE;
		else if (c == 'a') a = WIMS_HDR_ALLOW_EVENTS;
		break;
	case 13:
		if (c == 'p') a = WIMS_HDR_PROXY_REQUIRE;
		else if (c == 's') a = WIMS_HDR_SERVICE_ROUTE;
		else if (c == 'a') a = WIMS_HDR_AUTHORIZATION;
		break;
	case 14: a = WIMS_HDR_CONTENT_LENGTH; break;
	case 15:
		if (c == 's') {
			/* Session-Expires, Security-{Client,Server,Verify}: the 10th
			 * character tells them apart. */
			switch (p[9] | 0x20) {
			case 'x': a = WIMS_HDR_SESSION_EXPIRES; break;
			case 'c': a = WIMS_HDR_SECURITY_CLIENT; break;
			case 's': a = WIMS_HDR_SECURITY_SERVER; break;
			case 'v': a = WIMS_HDR_SECURITY_VERIFY; break;
			}
		}
		break;
	case 16:
		if (c == 'w') a = WIMS_HDR_WWW_AUTHENTICATE;
		else if (c == 'p') a = WIMS_HDR_P_ASSOCIATED_URI;
		break;
	case 17: a = WIMS_HDR_P_CHARGING_VECTOR; break;
	case 18:
		if (c == 'p') a = WIMS_HDR_PROXY_AUTHENTICATE;
		else if (c == 's') a = WIMS_HDR_SUBSCRIPTION_STATE;
		break;
	case 19: a = WIMS_HDR_PROXY_AUTHORIZATION; b = WIMS_HDR_P_ASSERTED_IDENTITY; break;
	case 20: a = WIMS_HDR_P_PREFERRED_IDENTITY; b = WIMS_HDR_P_VISITED_NETWORK_ID; break;
	case 21: a = WIMS_HDR_P_ACCESS_NETWORK_INFO; break;
	case 29: a = WIMS_HDR_P_CHARGING_FUNCTION_ADDRESSES; break;
	default: return WIMS_HDR_OTHER;
	}
	if (a && name_is(p, l, a))
		return a;
	if (b && name_is(p, l, b))
		return b;
	return WIMS_HDR_OTHER;
}

enum wims_sip_hdr_id wims_sip_hdr_id_from_name(struct wims_str name)
{
	if (!name.p || name.l == 0)
		return WIMS_HDR_OTHER;
	return hdr_classify(name.p, name.l);
}

/* ---- small scanners shared with msg_val.c ---- */

struct wims_str wims_sip__trim_lws(struct wims_str s)
{
	while (s.l && wims_sip__is_lws(s.p[0])) {
		s.p++;
		s.l--;
	}
	while (s.l && wims_sip__is_lws(s.p[s.l - 1]))
		s.l--;
	return s;
}

bool wims_sip__skip_quoted(const char *p, size_t n, size_t *i)
{
	size_t j = *i + 1;

	while (j < n) {
		if (p[j] == '\\') {
			j += 2;
			continue;
		}
		if (p[j] == '"') {
			*i = j + 1;
			return true;
		}
		j++;
	}
	return false;
}

int wims_sip__uint(struct wims_str s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (s.l == 0)
		return -EINVAL;
	for (size_t i = 0; i < s.l; i++) {
		unsigned d = (unsigned)(unsigned char)s.p[i] - '0';
		if (d > 9)
			return -EINVAL;
		if (v > max / 10 || (v == max / 10 && d > max % 10))
			return -ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* ---- the parser ---- */

static int fail(const char **why, const char *w)
{
	if (why)
		*why = w;
	return -EBADMSG;
}

/* The line at p[pos..): *cr is the index of its CR.  -EAGAIN when no LF
 * follows, -EBADMSG for a bare LF or CR. */
static int next_line(const char *p, size_t n, size_t pos, size_t *cr)
{
	const char *lf = memchr(p + pos, '\n', n - pos);
	size_t e;

	if (!lf)
		return -EAGAIN;
	e = (size_t)(lf - p);
	if (e == pos || p[e - 1] != '\r')
		return -EBADMSG;
	if (e - 1 > pos && memchr(p + pos, '\r', e - 1 - pos))
		return -EBADMSG;
	*cr = e - 1;
	return 0;
}

/* An absolute URI; a sip: or sips: one must parse fully, without headers
 * (RFC 3261 §19.1.1 table: no headers in a Request-URI; RFC 4475 §3.1.2.11). */
static bool ruri_ok(struct wims_str ruri)
{
	struct wims_sip_uri u;

	if (wims_sip_uri_parse(&u, ruri) != 0)
		return false;
	return u.headers.p == NULL;
}

/* Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (RFC 3261 §7.2).
 * An empty reason with or without its SP is tolerated (RFC 4475 §3.1.1.13). */
static int parse_status_line(struct wims_sip_msg *m, const char *p, size_t l, const char **why)
{
	unsigned code = 0;

	if (l < 11 || strncasecmp(p, "SIP/2.0 ", 8) != 0)
		return fail(why, "Bad status line");
	for (size_t i = 8; i < 11; i++) {
		if (p[i] < '0' || p[i] > '9')
			return fail(why, "Bad status line");
		code = code * 10 + (unsigned)(p[i] - '0');
	}
	if (code < 100 || code > 699 || (l > 11 && p[11] != ' '))
		return fail(why, "Bad status line");
	m->is_request = false;
	m->status = code;
	m->reason = l > 12 ? wims_str_make(p + 12, l - 12) : wims_str_make(p + l, 0);
	return 0;
}

static bool looks_like_version(const char *p, size_t l)
{
	size_t i = 4;

	if (l < 7 || strncasecmp(p, "SIP/", 4) != 0)
		return false;
	while (i < l && p[i] >= '0' && p[i] <= '9')
		i++;
	if (i == 4 || i >= l || p[i] != '.')
		return false;
	i++;
	if (i >= l)
		return false;
	while (i < l && p[i] >= '0' && p[i] <= '9')
		i++;
	return i == l;
}

/* Request-Line = Method SP Request-URI SP SIP-Version (RFC 3261 §7.1): single
 * SPs, no LWS in the Request-URI, nothing after the version (RFC 4475
 * §3.1.2.7-9). */
static int parse_request_line(struct wims_sip_msg *m, const char *p, size_t l, const char **why)
{
	size_t i = 0, u;

	while (i < l && wims_sip__is(p[i], WIMS_SIP__C_TOKEN))
		i++;
	if (i == 0 || i >= l || p[i] != ' ')
		return fail(why, "Bad request line");
	m->method = wims_str_make(p, i);
	u = ++i;
	while (i < l && wims_sip__is(p[i], WIMS_SIP__C_URIC))
		i++;
	if (i < l && p[i] != ' ')
		return fail(why, i == u || p[i] == '<' || p[i] == '>' ? "Bad Request-URI" : "Bad request line");
	if (i == u || i >= l)
		return fail(why, "Bad request line");
	m->ruri = wims_str_make(p + u, i - u);
	i++;
	if (l - i != 7 || strncasecmp(p + i, "SIP/2.0", 7) != 0) {
		if (!looks_like_version(p + i, l - i))
			return fail(why, "Bad request line");
		/* a well-formed other version: the headers are still read so
		 * that the caller can answer 505 (RFC 3261 §8.2.2.1 style) */
		m->is_request = true;
		m->method_id = wims_sip_method_from_str(m->method);
		fail(why, "Bad SIP version");
		return -EPROTONOSUPPORT;
	}
	if (!ruri_ok(m->ruri))
		return fail(why, "Bad Request-URI");
	m->is_request = true;
	m->method_id = wims_sip_method_from_str(m->method);
	m->status = 0;
	m->reason = WIMS_STR_NULL;
	return 0;
}

static void hdr_finish(struct wims_sip_hdr *h)
{
	const char *end = h->line.p + h->line.l - 2; /* before the last CRLF */

	h->value = wims_sip__trim_lws(wims_str_make(h->value.p, (size_t)(end - h->value.p)));
}

static const char *dup_why(enum wims_sip_hdr_id id)
{
	switch (id) {
	case WIMS_HDR_FROM: return "Duplicate From";
	case WIMS_HDR_TO: return "Duplicate To";
	case WIMS_HDR_CALL_ID: return "Duplicate Call-ID";
	case WIMS_HDR_CSEQ: return "Duplicate CSeq";
	case WIMS_HDR_CONTENT_LENGTH: return "Duplicate Content-Length";
	default: return NULL;
	}
}

/* One new header line at p[pos..cr): name, colon, start of the value. */
static int hdr_start(struct wims_sip_msg *m, const char *p, size_t pos, size_t cr, const char **why)
{
	struct wims_sip_hdr *h;
	size_t i = pos;
	const char *d;

	if (m->nhdrs == WIMS_SIP_MAX_HEADERS)
		return fail(why, "Too many headers");
	while (i < cr && wims_sip__is(p[i], WIMS_SIP__C_TOKEN))
		i++;
	if (i == pos)
		return fail(why, "Bad header");
	h = &m->hdrs[m->nhdrs];
	h->name = wims_str_make(p + pos, i - pos);
	while (i < cr && wims_sip__is_ws(p[i]))
		i++;
	if (i >= cr || p[i] != ':')
		return fail(why, "Bad header");
	h->value.p = p + i + 1;
	h->line = wims_str_make(p + pos, cr + 2 - pos);
	h->id = hdr_classify(h->name.p, h->name.l);
	if (h->id != WIMS_HDR_OTHER) {
		if (m->first[h->id] >= 0) {
			/* RFC 3261 §7.3.1: these may appear once (RFC 4475 §3.1.2.19). */
			if ((d = dup_why(h->id)) != NULL)
				return fail(why, d);
		} else {
			m->first[h->id] = (int)m->nhdrs;
		}
	}
	m->nhdrs++;
	return 0;
}

/* Header lines up to and including the empty line; *posp ends at the body. */
static int parse_headers(struct wims_sip_msg *m, const char *p, size_t n, size_t *posp, const char **why)
{
	size_t pos = *posp, cr = 0;
	struct wims_sip_hdr *h = NULL;
	int r;

	for (;;) {
		r = next_line(p, n, pos, &cr);
		if (r == -EAGAIN)
			return fail(why, "Incomplete headers");
		if (r)
			return fail(why, "Bad line ending");
		if (cr == pos)
			break;
		if (wims_sip__is_ws(p[pos])) { /* folded continuation (§7.3.1) */
			if (!h)
				return fail(why, "Bad header");
			h->line.l = cr + 2 - (size_t)(h->line.p - p);
		} else {
			if (h)
				hdr_finish(h);
			if ((r = hdr_start(m, p, pos, cr, why)) != 0)
				return r;
			h = &m->hdrs[m->nhdrs - 1];
		}
		pos = cr + 2;
	}
	if (h)
		hdr_finish(h);
	m->headers_end = wims_str_make(p + pos, 2);
	*posp = pos + 2;
	return 0;
}

static const struct wims_sip_hdr *first_hdr(const struct wims_sip_msg *m, enum wims_sip_hdr_id id)
{
	return m->first[id] < 0 ? NULL : &m->hdrs[m->first[id]];
}

static bool callid_ok(struct wims_str v)
{
	if (v.l == 0)
		return false;
	for (size_t i = 0; i < v.l; i++)
		if ((unsigned char)v.p[i] <= ' ' || (unsigned char)v.p[i] >= 0x7f)
			return false;
	return true;
}

/* limits.h: at most `max` values of id over all its lines. */
static bool vals_within(const struct wims_sip_msg *m, enum wims_sip_hdr_id id, size_t max)
{
	struct wims_sip_vals it;
	size_t n = 0;

	if (m->first[id] < 0)
		return true;
	wims_sip_vals_init(&it, m, id);
	while (wims_sip_vals_next(&it))
		if (++n > max)
			return false;
	return true;
}

static int check_counts(const struct wims_sip_msg *m, const char **why)
{
	if (!vals_within(m, WIMS_HDR_VIA, WIMS_SIP_MAX_VIA))
		return fail(why, "Too many Via");
	if (!vals_within(m, WIMS_HDR_ROUTE, WIMS_SIP_MAX_ROUTE))
		return fail(why, "Too many Route");
	if (!vals_within(m, WIMS_HDR_RECORD_ROUTE, WIMS_SIP_MAX_ROUTE))
		return fail(why, "Too many Record-Route");
	if (!vals_within(m, WIMS_HDR_PATH, WIMS_SIP_MAX_ROUTE))
		return fail(why, "Too many Path");
	return 0;
}

/* What RFC 3261 §8.1.1 makes mandatory, checked as cheaply as possible. */
static int check_mandatory(struct wims_sip_msg *m, const char **why)
{
	const struct wims_sip_hdr *h;
	struct wims_sip_cseq cs;
	struct wims_sip_addr a;
	struct wims_sip_via v;

	if (m->first[WIMS_HDR_VIA] < 0)
		return fail(why, "Missing Via");
	if (m->first[WIMS_HDR_FROM] < 0)
		return fail(why, "Missing From");
	if (m->first[WIMS_HDR_TO] < 0)
		return fail(why, "Missing To");
	if (m->first[WIMS_HDR_CALL_ID] < 0)
		return fail(why, "Missing Call-ID");
	if (m->first[WIMS_HDR_CSEQ] < 0)
		return fail(why, "Missing CSeq");
	if (wims_sip_msg_top_via(m, &v) != 0)
		return fail(why, "Bad Via");
	if (wims_sip_addr_parse(&a, first_hdr(m, WIMS_HDR_FROM)->value) != 0 || a.star ||
	    !wims_sip_params_valid(a.params))
		return fail(why, "Bad From");
	if (wims_sip_addr_parse(&a, first_hdr(m, WIMS_HDR_TO)->value) != 0 || a.star ||
	    !wims_sip_params_valid(a.params))
		return fail(why, "Bad To");
	if (!callid_ok(first_hdr(m, WIMS_HDR_CALL_ID)->value))
		return fail(why, "Bad Call-ID");
	h = first_hdr(m, WIMS_HDR_CSEQ);
	if (wims_sip_cseq_parse(&cs, h->value) != 0)
		return fail(why, "Bad CSeq");
	/* §8.1.1.5 / §17.1.3: the CSeq method matches the request method (an
	 * ACK's and a CANCEL's CSeq say ACK and CANCEL). */
	if (m->is_request && !wims_str_eq(cs.method, m->method))
		return fail(why, "CSeq method mismatch");
	return 0;
}

/* Start line, headers and the mandatory headers; *posp ends after the
 * empty line.  Content-Length is left to the caller. */
static int parse_head(struct wims_sip_msg *m, const char *buf, size_t len, size_t *posp, const char **why)
{
	size_t pos = 0, cr = 0;
	int r;

	m->raw = wims_str_make(buf, len);
	m->nhdrs = 0;
	m->method_id = WIMS_SIP_OTHER;
	m->method = m->ruri = m->reason = m->body = m->headers_end = m->start_line = WIMS_STR_NULL;
	m->status = 0;
	m->is_request = false;
	memset(m->first, 0xff, sizeof(m->first));
	if (!buf || len == 0)
		return fail(why, "Empty message");
	if (len > WIMS_SIP_MAX_MESSAGE)
		return fail(why, "Message too large");
	/* §7.5: CRLFs before the start line are ignored. */
	while (pos + 1 < len && buf[pos] == '\r' && buf[pos + 1] == '\n')
		pos += 2;
	r = next_line(buf, len, pos, &cr);
	if (r == -EBADMSG)
		return fail(why, "Bad line ending");
	if (r || cr == pos)
		return fail(why, "Bad start line");
	m->start_line = wims_str_make(buf + pos, cr - pos);
	if (cr - pos >= 4 && strncasecmp(buf + pos, "SIP/", 4) == 0)
		r = parse_status_line(m, buf + pos, cr - pos, why);
	else
		r = parse_request_line(m, buf + pos, cr - pos, why);
	if (r == -EPROTONOSUPPORT) {
		/* read the headers for the 505, then fail whatever they hold */
		pos = cr + 2;
		(void)parse_headers(m, buf, len, &pos, why);
		return fail(why, "Bad SIP version");
	}
	if (r)
		return r;
	pos = cr + 2;
	if ((r = parse_headers(m, buf, len, &pos, why)) != 0)
		return r;
	if ((r = check_mandatory(m, why)) != 0 || (r = check_counts(m, why)) != 0)
		return r;
	*posp = pos;
	return 0;
}

int wims_sip__msg_parse_head(struct wims_sip_msg *m, const char *buf, size_t len, const char **why)
{
	size_t pos;

	return parse_head(m, buf, len, &pos, why);
}

int wims_sip_msg_parse(struct wims_sip_msg *m, const char *buf, size_t len, const char **why)
{
	size_t pos;
	uint32_t cl;
	int r;

	if ((r = parse_head(m, buf, len, &pos, why)) != 0)
		return r;
	if (m->first[WIMS_HDR_CONTENT_LENGTH] >= 0) {
		/* Datagram semantics (RFC 3261 §18.3): bytes past Content-Length
		 * are ignored, fewer is an error. */
		if (wims_sip_uint_parse(first_hdr(m, WIMS_HDR_CONTENT_LENGTH)->value, WIMS_SIP_MAX_MESSAGE,
					&cl) != 0 ||
		    cl > len - pos)
			return fail(why, "Bad Content-Length");
		m->body = wims_str_make(buf + pos, cl);
	} else {
		m->body = wims_str_make(buf + pos, len - pos);
	}
	return 0;
}

/* ---- lookups ---- */

const struct wims_sip_hdr *wims_sip_msg_hdr(const struct wims_sip_msg *m, enum wims_sip_hdr_id id)
{
	if ((unsigned)id >= WIMS_HDR__COUNT || id == WIMS_HDR_OTHER)
		return NULL;
	return first_hdr(m, id);
}

/* Long names of the compact forms that have no id of their own. */
static char other_compact(struct wims_str name)
{
	static const struct {
		const char *n;
		char c;
	} t[] = {
		{"Content-Encoding", 'e'}, {"Subject", 's'}, {"Identity", 'y'},
		{"Accept-Contact", 'a'}, {"Reject-Contact", 'j'}, {"Request-Disposition", 'd'},
	};

	if (name.l == 1)
		return (char)(name.p[0] | 0x20);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (wims_str_eqic(name, t[i].n))
			return t[i].c;
	return 0;
}

static bool other_match(const struct wims_sip_hdr *h, struct wims_str name, char compact)
{
	if (h->id != WIMS_HDR_OTHER)
		return false;
	if (wims_str_eqi(h->name, name))
		return true;
	if (!compact)
		return false;
	if (h->name.l == 1)
		return (h->name.p[0] | 0x20) == compact;
	return other_compact(h->name) == compact;
}

const struct wims_sip_hdr *wims_sip_msg_hdr_next(const struct wims_sip_msg *m, const struct wims_sip_hdr *h)
{
	size_t i;
	char c = 0;

	if (!h || h < m->hdrs || h >= m->hdrs + m->nhdrs)
		return NULL;
	i = (size_t)(h - m->hdrs) + 1;
	if (h->id == WIMS_HDR_OTHER)
		c = other_compact(h->name);
	for (; i < m->nhdrs; i++) {
		if (h->id != WIMS_HDR_OTHER ? m->hdrs[i].id == h->id : other_match(&m->hdrs[i], h->name, c))
			return &m->hdrs[i];
	}
	return NULL;
}

const struct wims_sip_hdr *wims_sip_msg_hdr_by_name(const struct wims_sip_msg *m, struct wims_str name)
{
	enum wims_sip_hdr_id id;
	char c;

	if (!name.p || name.l == 0)
		return NULL;
	id = hdr_classify(name.p, name.l);
	if (id != WIMS_HDR_OTHER)
		return first_hdr(m, id);
	c = other_compact(name);
	for (size_t i = 0; i < m->nhdrs; i++)
		if (other_match(&m->hdrs[i], name, c))
			return &m->hdrs[i];
	return NULL;
}

size_t wims_sip_msg_hdr_count(const struct wims_sip_msg *m, enum wims_sip_hdr_id id)
{
	size_t n = 0;

	if ((unsigned)id >= WIMS_HDR__COUNT || id == WIMS_HDR_OTHER || m->first[id] < 0)
		return 0;
	for (size_t i = (size_t)m->first[id]; i < m->nhdrs; i++)
		n += m->hdrs[i].id == id;
	return n;
}
