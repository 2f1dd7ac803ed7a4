/* SIP messages: zero-copy parsing (every field is a view into the received
 * buffer), lazily parsed header values, and rewriting by an edit list.
 *
 * wims_sip_msg_parse() splits the start line, the header lines and the body;
 * it classifies header names (long and compact forms, case-insensitive) but
 * parses no header value except the few it must check to accept a message:
 * the Request-URI, the top Via, From, To, Call-ID, CSeq, Content-Length, and
 * the number of Via / Route / Record-Route / Path values.  Other values are
 * parsed on demand by the wims_sip_*_parse() functions below, which do no
 * allocation and no I/O and read only inside the view they are given.
 * Header values may contain the CRLF SP of folded lines: every parser here
 * treats it as LWS; copy a value as is and it stays valid SIP.
 */
#ifndef WIMS_SIP_MSG_H
#define WIMS_SIP_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/str.h"
#include "sip/limits.h"

enum wims_sip_method {
	WIMS_SIP_OTHER = 0,
	WIMS_SIP_INVITE, WIMS_SIP_ACK, WIMS_SIP_BYE, WIMS_SIP_CANCEL, WIMS_SIP_REGISTER,
	WIMS_SIP_OPTIONS, WIMS_SIP_UPDATE, WIMS_SIP_PRACK, WIMS_SIP_INFO, WIMS_SIP_MESSAGE,
	WIMS_SIP_SUBSCRIBE, WIMS_SIP_NOTIFY, WIMS_SIP_REFER, WIMS_SIP_PUBLISH,
};

/* Header ids.  Compact forms (RFC 3261 §7.3.3 and later RFCs: i m e l c f s k t v
 * o u r b x y a j d) map to the same id as the long form. */
enum wims_sip_hdr_id {
	WIMS_HDR_OTHER = 0,
	WIMS_HDR_VIA, WIMS_HDR_FROM, WIMS_HDR_TO, WIMS_HDR_CALL_ID, WIMS_HDR_CSEQ,
	WIMS_HDR_CONTACT, WIMS_HDR_MAX_FORWARDS, WIMS_HDR_ROUTE, WIMS_HDR_RECORD_ROUTE,
	WIMS_HDR_CONTENT_LENGTH, WIMS_HDR_CONTENT_TYPE, WIMS_HDR_EXPIRES, WIMS_HDR_SUPPORTED,
	WIMS_HDR_REQUIRE, WIMS_HDR_PROXY_REQUIRE, WIMS_HDR_UNSUPPORTED, WIMS_HDR_PATH,
	WIMS_HDR_SERVICE_ROUTE, WIMS_HDR_AUTHORIZATION, WIMS_HDR_PROXY_AUTHORIZATION,
	WIMS_HDR_WWW_AUTHENTICATE, WIMS_HDR_PROXY_AUTHENTICATE, WIMS_HDR_EVENT,
	WIMS_HDR_SUBSCRIPTION_STATE, WIMS_HDR_ALLOW, WIMS_HDR_MIN_EXPIRES, WIMS_HDR_RSEQ,
	WIMS_HDR_RACK, WIMS_HDR_SESSION_EXPIRES, WIMS_HDR_MIN_SE, WIMS_HDR_REFER_TO,
	WIMS_HDR_REFERRED_BY, WIMS_HDR_P_ASSERTED_IDENTITY, WIMS_HDR_P_PREFERRED_IDENTITY,
	WIMS_HDR_P_ASSOCIATED_URI, WIMS_HDR_P_CHARGING_VECTOR,
	WIMS_HDR_P_CHARGING_FUNCTION_ADDRESSES, WIMS_HDR_P_VISITED_NETWORK_ID,
	WIMS_HDR_P_ACCESS_NETWORK_INFO, WIMS_HDR_SECURITY_CLIENT, WIMS_HDR_SECURITY_SERVER,
	WIMS_HDR_SECURITY_VERIFY, WIMS_HDR_FLOW_TIMER, WIMS_HDR_USER_AGENT, WIMS_HDR_SERVER,
	WIMS_HDR_ACCEPT, WIMS_HDR_ALLOW_EVENTS, WIMS_HDR_REASON, WIMS_HDR_TIMESTAMP,
	WIMS_HDR__COUNT
};

struct wims_sip_hdr {
	enum wims_sip_hdr_id id;
	struct wims_str name;  /* as written */
	struct wims_str value; /* trimmed; folded continuation lines included as is */
	struct wims_str line;  /* whole header from name to the end of its CRLF */
};

struct wims_sip_msg {
	struct wims_str raw; /* the whole message as received */
	bool is_request;
	/* request line */
	enum wims_sip_method method_id;
	struct wims_str method;
	struct wims_str ruri;
	/* status line */
	unsigned status;
	struct wims_str reason;
	struct wims_str start_line; /* without its CRLF */
	/* headers in order; first[id] is the index of the first header with that
	 * id, or -1 (WIMS_HDR_OTHER is never indexed) */
	struct wims_sip_hdr hdrs[WIMS_SIP_MAX_HEADERS];
	size_t nhdrs;
	int first[WIMS_HDR__COUNT];
	struct wims_str headers_end; /* view of the empty line (CRLF) that ends the headers */
	struct wims_str body;        /* exactly Content-Length bytes; when Content-Length is
				      * absent, every byte after the empty line (datagram) */
};

/**
 * Parse len bytes at buf as one SIP message.  Checks what RFC 3261 makes
 * mandatory: a valid start line, SIP/2.0, Via, From, To, Call-ID, CSeq (and
 * Max-Forwards is *not* required), a CSeq method equal to the request method,
 * a Content-Length that is a number and not larger than what follows.  On
 * failure returns -EBADMSG and sets *why (why may be NULL) to a short static
 * phrase naming the fault, usable as a 400 reason phrase:
 *   "Empty message", "Message too large", "Bad start line", "Bad line ending",
 *   "Bad request line", "Bad Request-URI", "Bad SIP version" (well-formed but
 *   not 2.0: answer 505), "Bad status line", "Bad header", "Incomplete headers",
 *   "Too many headers", "Missing Via|From|To|Call-ID|CSeq",
 *   "Duplicate From|To|Call-ID|CSeq|Content-Length", "Bad Via" (top Via),
 *   "Bad From", "Bad To" (name-addr / addr-spec and header params),
 *   "Bad Call-ID", "Bad CSeq" (also >= 2^31), "CSeq method mismatch",
 *   "Bad Content-Length", "Too many Via|Route|Record-Route|Path" (limits.h).
 * Every line must end in CRLF: a bare LF or CR is "Bad line ending".  CRLFs
 * before the start line are skipped.  Datagram semantics: bytes after
 * Content-Length are ignored; without Content-Length the body is the rest.
 * No allocation; m is large (WIMS_SIP_MAX_HEADERS entries), do not put it on
 * a small stack.  buf must stay valid and unmodified while m is used.
 */
int wims_sip_msg_parse(struct wims_sip_msg *m, const char *buf, size_t len, const char **why)
	__attribute__((warn_unused_result));

/**
 * For stream transports (TCP, TLS): the size of the first complete message in
 * buf (headers + Content-Length body) counted from buf + *skip, 0 when more
 * bytes are needed, or
 * -EBADMSG when the headers are complete but unusable (no or bad
 * Content-Length, headers over WIMS_SIP_MAX_MESSAGE).  Leading CRLFs
 * (keep-alives) are reported through *skip so that the caller can drop them.
 */
long wims_sip_stream_frame(const char *buf, size_t len, size_t *skip);

enum wims_sip_method wims_sip_method_from_str(struct wims_str s);
const char *wims_sip_method_name(enum wims_sip_method m);
enum wims_sip_hdr_id wims_sip_hdr_id_from_name(struct wims_str name);
/** Long name used when wims writes a header of that id ("Via"). */
const char *wims_sip_hdr_name(enum wims_sip_hdr_id id);

/** First header with id, or NULL. */
const struct wims_sip_hdr *wims_sip_msg_hdr(const struct wims_sip_msg *m, enum wims_sip_hdr_id id);
/** Next header with the same id after h, or NULL.  For a WIMS_HDR_OTHER
 * header: the next one with the same name (case-insensitive, compact forms
 * such as "s" / "Subject" matching). */
const struct wims_sip_hdr *wims_sip_msg_hdr_next(const struct wims_sip_msg *m,
						 const struct wims_sip_hdr *h);
/** First header whose name equals name (case-insensitive, compact forms
 * matching); a known name returns the same as wims_sip_msg_hdr(). */
const struct wims_sip_hdr *wims_sip_msg_hdr_by_name(const struct wims_sip_msg *m, struct wims_str name);
/** Number of headers with id. */
size_t wims_sip_msg_hdr_count(const struct wims_sip_msg *m, enum wims_sip_hdr_id id);

/*
 * Multi-value headers: iterate over every comma-separated value of every
 * header line with one id, in message order, honouring quoted strings and
 * <...> (RFC 3261 §7.3.1).  `value` is trimmed; `hdr` is the line it is in.
 */
struct wims_sip_vals {
	const struct wims_sip_msg *m;
	enum wims_sip_hdr_id id;
	const struct wims_sip_hdr *hdr;
	size_t pos;
	struct wims_str value;
};
void wims_sip_vals_init(struct wims_sip_vals *it, const struct wims_sip_msg *m, enum wims_sip_hdr_id id);
/** Advance to the next value; false at the end. */
bool wims_sip_vals_next(struct wims_sip_vals *it);
/** Split a single header value list (for a header not in the message). */
bool wims_sip_list_next(struct wims_str list, size_t *pos, struct wims_str *value);

/* ---- values ---- */

/** ";name[=value]" parameter lists.  value is empty (l == 0, p != NULL) for a flag. */
bool wims_sip_param_get(struct wims_str params, const char *name, struct wims_str *value);
/**
 * Iterate parameters: pos starts at 0; false at the end.  Names are tokens;
 * values are a token-like run or a quoted string (returned with its quotes,
 * see wims_sip_unquote()); LWS around ';' and '=' is allowed.  Iteration
 * also stops at a ',' or at a malformed parameter (";;"), leaving *pos there
 * (short of params.l), which is how wims_sip_params_valid() tells them apart.
 */
bool wims_sip_param_next(struct wims_str params, size_t *pos, struct wims_str *name, struct wims_str *value);
/** True when every byte of params is well-formed ";name[=value]" parameters. */
bool wims_sip_params_valid(struct wims_str params);

/** s without its surrounding double quotes, if it has them (no unescaping):
 * for quoted parameter values such as +sip.instance="<urn:uuid:...>". */
struct wims_str wims_sip_unquote(struct wims_str s);

struct wims_sip_uri {
	struct wims_str scheme;   /* sip, sips, tel, urn, ... */
	struct wims_str user;     /* without the password */
	struct wims_str password;
	struct wims_str host;     /* IPv6 with its brackets */
	uint16_t port;            /* 0 when absent */
	struct wims_str params;   /* from the first ';' (included) to '?' or the end */
	struct wims_str headers;  /* after '?' */
	struct wims_str hostport; /* host[:port] exactly as written */
	struct wims_str raw;
};
/** Parse a SIP/SIPS URI (other schemes: scheme and raw only). -EBADMSG when invalid. */
int wims_sip_uri_parse(struct wims_sip_uri *u, struct wims_str s) __attribute__((warn_unused_result));

/* name-addr / addr-spec with header parameters (From, To, Contact, Route, Path, ...) */
struct wims_sip_addr {
	struct wims_str display; /* may be empty; as written (a quoted one keeps its quotes) */
	struct wims_str uri;     /* inside <> or the bare addr-spec */
	struct wims_str params;  /* header params after the URI, from ';' */
	bool star;               /* Contact: * */
	bool angle;              /* the URI was written in <> */
};
/** Parse one name-addr / addr-spec value (after splitting a list with
 * wims_sip_vals / wims_sip_list_next).  For an addr-spec (no <>), the
 * parameters after the URI are header parameters (RFC 3261 §20.10).  The
 * URI must have a scheme and no LWS; params are not validated (see
 * wims_sip_params_valid()).  -EBADMSG when invalid. */
int wims_sip_addr_parse(struct wims_sip_addr *a, struct wims_str s) __attribute__((warn_unused_result));

struct wims_sip_via {
	struct wims_str transport; /* UDP, TCP, TLS, WS, WSS, SCTP */
	struct wims_str host;
	uint16_t port;             /* 0 when absent */
	struct wims_str sent_by;   /* host[:port] as written */
	struct wims_str params;    /* from the first ';' */
	struct wims_str branch;    /* empty when missing */
	struct wims_str received;
	bool rport;                /* rport present */
	struct wims_str rport_value;
};
/** Parse one Via value ("SIP/2.0/UDP host:port;params"; LWS allowed around
 * '/', ':', ';', '=').  -EBADMSG when invalid, including a ',' (a whole
 * line was passed) or an empty parameter. */
int wims_sip_via_parse(struct wims_sip_via *v, struct wims_str s) __attribute__((warn_unused_result));

/* CSeq: number < 2^31 (RFC 3261 §8.1.1.5) and method. */
struct wims_sip_cseq {
	uint32_t num;
	struct wims_str method;
	enum wims_sip_method method_id;
};
int wims_sip_cseq_parse(struct wims_sip_cseq *c, struct wims_str s) __attribute__((warn_unused_result));

/** A header's decimal value (Max-Forwards, Expires, Content-Length, ...):
 * digits only (LWS around is trimmed), at most max.  -EBADMSG otherwise. */
int wims_sip_uint_parse(struct wims_str s, uint32_t max, uint32_t *out) __attribute__((warn_unused_result));

/** The tag parameter of the From or To header (l == 0 when absent). */
struct wims_str wims_sip_msg_tag(const struct wims_sip_msg *m, enum wims_sip_hdr_id from_or_to);
/** Top Via of m, parsed. */
int wims_sip_msg_top_via(const struct wims_sip_msg *m, struct wims_sip_via *v) __attribute__((warn_unused_result));

/* ---- rewriting ---- */

/*
 * An edit list over the message's raw bytes: delete `del` bytes at offset
 * `off` and insert `ins` there.  Edits are applied in offset order, edits at
 * the same offset in the order they were added.  Two edits may not overlap,
 * except pure deletions (ins empty), whose union is deleted.  Edits must lie
 * in the start line and headers (an insertion at headers_end.p is "after the
 * last header") or, when body_set is false, in the body; the empty line
 * cannot be edited, and the Content-Length line can only be removed whole
 * (wims_sip_msg_write() writes it).  An edit that does not point into
 * m->raw, or one too many, sets `overflow`.  Inserted text must stay valid
 * until applied (usually it lives in the caller's scratch wbuf).
 */
struct wims_sip_edit {
	size_t off;
	size_t del;
	struct wims_str ins;
};

struct wims_sip_edits {
	struct wims_sip_edit e[WIMS_SIP_MAX_EDITS];
	size_t n;
	bool overflow;
	struct wims_str new_body; /* when set, replaces the body and Content-Length is rewritten */
	bool body_set;
};

static inline void wims_sip_edits_init(struct wims_sip_edits *ed)
{
	ed->n = 0;
	ed->overflow = false;
	ed->body_set = false;
	ed->new_body = WIMS_STR_NULL;
}

/** Replace the span s (a view into m->raw) with ins. */
void wims_sip_edit_replace(struct wims_sip_edits *ed, const struct wims_sip_msg *m,
			   struct wims_str s, struct wims_str ins);
/** Insert ins before position p (a pointer into m->raw). */
void wims_sip_edit_insert(struct wims_sip_edits *ed, const struct wims_sip_msg *m, const char *p,
			  struct wims_str ins);
/** Remove a whole header line. */
void wims_sip_edit_remove_hdr(struct wims_sip_edits *ed, const struct wims_sip_msg *m,
			      const struct wims_sip_hdr *h);
/** Insert a full header line ("Name: value\r\n") before the first header of the message. */
void wims_sip_edit_prepend_hdr(struct wims_sip_edits *ed, const struct wims_sip_msg *m, struct wims_str line);
/** Insert a full header line after the last header. */
void wims_sip_edit_append_hdr(struct wims_sip_edits *ed, const struct wims_sip_msg *m, struct wims_str line);
/**
 * Remove the value `it` is at (after a true wims_sip_vals_next()) from its
 * line: the whole line when it is the line's only value left, else the
 * value and the comma towards a neighbour not already removed.  Several
 * values of one line may be removed in any order.
 */
void wims_sip_edit_remove_val(struct wims_sip_edits *ed, const struct wims_sip_msg *m,
			      const struct wims_sip_vals *it);

/**
 * Write m with the edits applied into out (appending to it).  Content-Length
 * is always written right: the existing line is rewritten in place as
 * "Content-Length: N" (also for a compact "l:"), or, when absent or removed,
 * added after the last header.  The body is new_body when body_set, else
 * m->body with its edits (bytes after Content-Length are dropped).
 * -ENOSPC when out is too small (out holds garbage), -EINVAL when edits
 * overlap, lie outside the allowed areas or overflowed; -EMSGSIZE when the
 * result would be over WIMS_SIP_MAX_MESSAGE bytes and -E2BIG when it would
 * have more than WIMS_SIP_MAX_HEADERS header lines (the Content-Length line
 * included): what wims_sip_msg_parse() refuses, so whatever this returns 0
 * for parses back.  After -EINVAL, -EMSGSIZE or -E2BIG out->len is as it was.
 */
int wims_sip_msg_write(const struct wims_sip_msg *m, const struct wims_sip_edits *ed, struct wims_wbuf *out)
	__attribute__((warn_unused_result));

/**
 * Build a response to request req: status line, every Via line in order
 * (values as received, written as "Via: "), From, To (with ";tag=" to_tag
 * added when the To has no tag, to_tag is non-empty and code is not 100),
 * Call-ID, CSeq, Timestamp (100 only, RFC 3261 §8.2.6.1), then `extra`
 * (complete header lines with CRLF, may be
 * empty), "Content-Length: 0" and the empty line.  Appends to out.
 * reason NULL means the default phrase for code.  -EINVAL when req is a
 * response or code is not 100..699, -ENOSPC when out is too small.
 */
int wims_sip_reply(const struct wims_sip_msg *req, unsigned code, const char *reason,
		   struct wims_str to_tag, struct wims_str extra, struct wims_wbuf *out)
	__attribute__((warn_unused_result));

/** Default reason phrase ("Flow Failed" for 430). */
const char *wims_sip_reason_phrase(unsigned code);

#endif
