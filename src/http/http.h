/* HTTP/1.1 request heads and the WebSocket upgrade decision (RFC 7230,
 * RFC 6455 §4.2, RFC 7118 §4).  Pure functions: no I/O, no allocation; every
 * field is a view into the caller's buffer. */
#ifndef WIMS_HTTP_HTTP_H
#define WIMS_HTTP_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/str.h"
#include "http/limits.h"

struct wims_http_header {
	struct wims_str name;
	struct wims_str value; /* trimmed */
};

/** A parsed request head.  Views point into the buffer given to the parser. */
struct wims_http_req {
	struct wims_str method;
	struct wims_str target; /* request-target as sent */
	struct wims_str path;	/* target up to '?' */
	unsigned minor;		/* HTTP/1.<minor> */
	size_t head_len;	/* bytes of the head, final CRLFCRLF included */
	/* The first value of the headers the upgrade needs (WIMS_STR_NULL when absent). */
	struct wims_str host, upgrade, connection, ws_key, ws_version, ws_protocol, origin, cookie;
	size_t nheaders;
	struct wims_http_header h[WIMS_HTTP_MAX_HEADERS];
	const char *err; /* what was wrong when the parser returned -EBADMSG or -EMSGSIZE */
};

/**
 * Parse one request head from buf[0..len).  Returns the head length (> 0) when
 * a whole head is there (bytes after it, e.g. pipelined data, are not looked
 * at), -EAGAIN when more bytes are needed (call again with the longer buffer),
 * -EMSGSIZE when the head exceeds WIMS_HTTP_MAX_HEAD or has more than
 * WIMS_HTTP_MAX_HEADERS lines, -EBADMSG when it is malformed (r->err says why).
 */
int wims_http_parse_req(struct wims_http_req *r, const char *buf, size_t len)
    __attribute__((warn_unused_result));

/** The first header named name (case-insensitive), or WIMS_STR_NULL. */
struct wims_str wims_http_header_get(const struct wims_http_req *r, const char *name);
/** Number of header lines named name. */
size_t wims_http_header_count(const struct wims_http_req *r, const char *name);
/** Whether the comma-separated token list in any header `name` holds token (case-insensitive). */
bool wims_http_has_token(const struct wims_http_req *r, const char *name, const char *token);
/** Whether the comma-separated list holds token (case-insensitive, OWS trimmed). */
bool wims_http_list_has(struct wims_str list, struct wims_str token);

/** What to do with a request head. */
enum wims_http_action {
	WIMS_HTTP_UPGRADE = 1, /* answer 101 (wims_http_build_101) and switch to WebSocket */
	WIMS_HTTP_SERVE,       /* not a WebSocket request: serve it as plain HTTP */
	WIMS_HTTP_REFUSE,      /* answer status with fault as body (wims_http_build_error) */
};

struct wims_http_decision {
	enum wims_http_action action;
	unsigned status;     /* 101, 400, 403, 426 when REFUSE/UPGRADE, else 0 */
	const char *fault;   /* static text naming the fault for REFUSE */
	bool ws_version_hdr; /* add "Sec-WebSocket-Version: 13" (426, and 400 for a bad version) */
};

/**
 * Decide on an upgrade.  origins is the allow-list ("https://a.example, https://b"),
 * empty or "*" for any; a request without Origin (not a browser) is accepted.
 * ws_only says the path serves nothing but WebSocket, so a plain request gets
 * 426.  RFC 6455 §4.2.1 and RFC 7118 §4 (the "sip" subprotocol is required).
 */
void wims_http_upgrade_decide(const struct wims_http_req *r, struct wims_str origins, bool ws_only,
			      struct wims_http_decision *d);

/** Whether origin appears in the allow-list (exact, case-insensitive; "*" matches all). */
bool wims_http_origin_allowed(struct wims_str origins, struct wims_str origin);

/** Whether key is a valid Sec-WebSocket-Key: base64 of exactly 16 bytes. */
bool wims_http_ws_key_valid(struct wims_str key);

/** Sec-WebSocket-Accept for key: base64(SHA-1(key + GUID)), 28 chars + NUL into out. */
int wims_http_ws_accept(struct wims_str key, char out[29]) __attribute__((warn_unused_result));

/** The 101 Switching Protocols response for key, with Sec-WebSocket-Protocol: sip. */
void wims_http_build_101(struct wims_wbuf *b, struct wims_str key);

/** A complete error response (Connection: close) whose text/plain body is fault and a newline. */
void wims_http_build_error(struct wims_wbuf *b, const struct wims_http_decision *d);

/** A minimal response head with Content-Length; body follows separately. */
void wims_http_build_head(struct wims_wbuf *b, unsigned status, const char *ctype, size_t content_length);

/** The reason phrase for status ("Not Found"), "" when unknown. */
const char *wims_http_reason(unsigned status);

#endif
