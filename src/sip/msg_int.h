/* Internals shared by the files of the SIP message module (msg.c, msg_val.c,
 * write.c): character classes of RFC 3261 §25.1 and small scanners. */
#ifndef WIMS_SIP_MSG_INT_H
#define WIMS_SIP_MSG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/str.h"

enum {
	WIMS_SIP__C_TOKEN = 1,  /* RFC 3261 token */
	WIMS_SIP__C_ALNUM = 2,
	WIMS_SIP__C_HOST = 4,   /* hostname / IPv4 characters */
	WIMS_SIP__C_USER = 8,   /* unreserved / escaped / user-unreserved / ':' (userinfo) */
	WIMS_SIP__C_SCHEME = 16,
	WIMS_SIP__C_URIC = 32,  /* printable ASCII without SP, '<', '>', '"' */
};

extern const uint8_t wims_sip__cc[256];

static inline bool wims_sip__is(char c, unsigned cls)
{
	return (wims_sip__cc[(unsigned char)c] & cls) != 0;
}

static inline bool wims_sip__is_ws(char c)
{
	return c == ' ' || c == '\t';
}

/* Linear white space including the CRLF of folded lines (RFC 3261 §7.3.1). */
static inline bool wims_sip__is_lws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

struct wims_sip_msg;
/** wims_sip_msg_parse() without the Content-Length check: the start line,
 *  the headers and the mandatory ones only (to answer a message whose
 *  Content-Length is what is wrong with it). */
int wims_sip__msg_parse_head(struct wims_sip_msg *m, const char *buf, size_t len, const char **why)
	__attribute__((warn_unused_result));

/** Trim LWS (SP, HT, CR, LF) from both ends. */
struct wims_str wims_sip__trim_lws(struct wims_str s);

/** Skip LWS from *i while below n. */
static inline void wims_sip__skip_lws(const char *p, size_t n, size_t *i)
{
	while (*i < n && wims_sip__is_lws(p[*i]))
		(*i)++;
}

/** Skip a quoted string starting at p[*i] == '"'; false when unterminated.
 * On success *i is just past the closing quote. */
bool wims_sip__skip_quoted(const char *p, size_t n, size_t *i);

/** Host (hostname, IPv4 or [IPv6]) at p[*i..n); advances *i.  False when empty/invalid. */
bool wims_sip__scan_host(const char *p, size_t n, size_t *i);

/** Decimal number without sign, at most max; leading zeros allowed. */
int wims_sip__uint(struct wims_str s, uint64_t max, uint64_t *out);

#endif
