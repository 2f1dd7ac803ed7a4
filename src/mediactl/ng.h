/* The rtpengine "ng" control protocol (bencode over UDP).
 *
 *   datagram = cookie SP bencoded-dict
 *   request:  d7:command5:offer7:call-id3:abc ... e
 *   reply:    <same cookie> d6:result2:ok3:sdp...e
 *             result is "ok", "pong" (ping) or "error" (with "error-reason");
 *             "warning" carries non-fatal notes (unknown flags).
 *
 * ng.c maps a request onto struct wims_mctl_req and encodes replies (pure
 * functions, no I/O), ng_server.c serves it over UDP for Kamailio's or
 * OpenSIPS's rtpengine module, ng_client.c drives a remote AGW (a stock
 * rtpengine) with it.
 *
 * Every reply dict is written with its keys in sorted order, as bencode
 * requires.  The `query` reply follows rtpengine's shape ("created",
 * "last signal", "tags" -> tag -> "medias" -> "streams", "totals"); each
 * stream dict also has a key "wims" holding what rtpengine puts elsewhere:
 *   "wims": {"bytes out": n, "jitter": ms, "loss": packets lost (cumulative,
 *            from the peer's RTCP), "packets out": n, "rtt": ms (0 unknown)}
 */
#ifndef WIMS_MEDIACTL_NG_H
#define WIMS_MEDIACTL_NG_H

#include <stdint.h>

#include <uv.h>

#include "base/addr.h"
#include "mediactl/bencode.h"
#include "mediactl/mediactl.h"

#define WIMS_NG_MAX_DGRAM 65535
#define WIMS_NG_MAX_COOKIE 64
#define WIMS_NG_MAX_NODES 2048
#define WIMS_NG_LIST_DEFAULT 32       /* rtpengine's default "limit" */
#define WIMS_NG_LIST_MAX 1024
#define WIMS_NG_CACHE_SIZE 4096       /* replies kept for retransmissions */
#define WIMS_NG_CACHE_TTL_MS 30000

/* A request as parsed: the mediactl request plus what only ng has. */
struct wims_ng_req {
	struct wims_mctl_req rq;
	struct wims_str command;      /* as received */
	unsigned list_limit;
	bool fatal;                   /* delete: unknown call is an error */
	char unknown[200];            /* flags and keys not understood, ", "-joined */
	size_t unknown_len;
};

/** Split a datagram into cookie and body at the first space.  The cookie is
 * 1..WIMS_NG_MAX_COOKIE printable bytes.  0 or -EBADMSG. */
int wims_ng_split(struct wims_str dgram, struct wims_str *cookie, struct wims_str *body)
	__attribute__((warn_unused_result));

/** Parse a bencoded request body into out; views point into body.  0;
 * -EBADMSG not a bencode dict (reason set); -ENOTSUP unknown command
 * (out->command set); -EINVAL a required key is missing (reason set). */
int wims_ng_parse_req(struct wims_ng_req *out, struct wims_bc_node *nodes, uint32_t max_nodes,
		      struct wims_str body, const char **reason) __attribute__((warn_unused_result));

/** Encode a request (for the client): "command" and every key set in rq,
 * sorted.  Writes the body only, not the cookie. */
void wims_ng_encode_req(struct wims_wbuf *b, const struct wims_mctl_req *rq);

/* Reply writers: each writes "<cookie> d...e" into b (b->err on overflow).
 * `warning` may be empty. */
void wims_ng_reply_error(struct wims_wbuf *b, struct wims_str cookie, const char *reason, struct wims_str warning);
void wims_ng_reply_pong(struct wims_wbuf *b, struct wims_str cookie);
void wims_ng_reply_ok(struct wims_wbuf *b, struct wims_str cookie, const struct wims_str *sdp, struct wims_str warning);
void wims_ng_reply_query(struct wims_wbuf *b, struct wims_str cookie, const struct wims_mctl_query *q,
			 struct wims_str warning);
/* list: begin, one add per call-id, end */
void wims_ng_reply_list_begin(struct wims_wbuf *b, struct wims_str cookie);
void wims_ng_reply_list_add(struct wims_wbuf *b, struct wims_str call_id);
void wims_ng_reply_list_end(struct wims_wbuf *b, struct wims_str warning);

/* Working memory for wims_ng_handle (about 160 KB: keep it off the stack). */
struct wims_ng_scratch {
	struct wims_bc_node nodes[WIMS_NG_MAX_NODES];
	char sdp[WIMS_NG_MAX_DGRAM];
};

/** Handle one datagram: parse, call mc's ops, write the reply datagram into
 * `reply` (WIMS_NG_MAX_DGRAM bytes is enough for any reply that can be
 * sent).  Returns 0 when a reply was written (possibly an error reply), or
 * -EBADMSG when the datagram has no cookie (nothing to answer); *is_error
 * tells whether the reply says "error".  No I/O besides what ops do. */
int wims_ng_handle(struct wims_mediactl *mc, struct wims_str dgram, struct wims_wbuf *reply,
		   struct wims_ng_scratch *scratch, bool *is_error) __attribute__((warn_unused_result));

/* ---- server ---- */

struct wims_ng_stats {
	uint64_t received;        /* datagrams */
	uint64_t replied;         /* replies sent (including from the cache) */
	uint64_t retransmits;     /* answered from the cache */
	uint64_t errors;          /* replies with result=error */
	uint64_t bad;             /* datagrams dropped unanswered */
	uint64_t send_failures;
};

struct wims_ng_server;

/** Listen for ng on `listen` (UDP) and serve it with mc (which must outlive
 * the server).  0 or -errno (bind failure). */
int wims_ng_server_start(struct wims_ng_server **sp, uv_loop_t *loop, const struct wims_addr *listen,
			 struct wims_mediactl *mc) __attribute__((warn_unused_result));
/** Close the socket; the memory is freed in the close callback (run the loop). */
void wims_ng_server_stop(struct wims_ng_server *s);
/** The bound address (useful after listening on port 0).  0 or -errno. */
int wims_ng_server_addr(const struct wims_ng_server *s, struct wims_addr *out) __attribute__((warn_unused_result));
/** Counters for /metrics. */
void wims_ng_server_stats(const struct wims_ng_server *s, struct wims_ng_stats *out);

/* ---- retransmission cache (internal, exposed for tests) ---- */

struct wims_ng__cache;

int wims_ng__cache_new(struct wims_ng__cache **cp, unsigned size, unsigned ttl_ms)
	__attribute__((warn_unused_result));
void wims_ng__cache_free(struct wims_ng__cache *c);
/** The cached reply for (from, cookie) younger than ttl, or a NULL view. */
struct wims_str wims_ng__cache_get(struct wims_ng__cache *c, const struct wims_addr *from, struct wims_str cookie,
				   uint64_t now_ms);
/** Store a copy of reply; evicts the oldest entry when full. */
void wims_ng__cache_put(struct wims_ng__cache *c, const struct wims_addr *from, struct wims_str cookie,
			struct wims_str reply, uint64_t now_ms);

/* ---- client ---- */

/* A reply as the client callback sees it; views valid during the callback. */
struct wims_ng_reply {
	struct wims_str result;       /* "ok", "pong", "error" */
	struct wims_str error_reason;
	struct wims_str warning;
	struct wims_str sdp;          /* bencode strings carry the SDP unescaped */
	struct wims_str raw;          /* the whole bencoded reply dict */
};

/* err: 0 with a reply, -ETIMEDOUT, -EBADMSG (unparsable reply), -ECANCELED
 * (client freed); rep is NULL unless err == 0. */
typedef void(wims_ng_reply_h)(int err, const struct wims_ng_reply *rep, void *arg);

struct wims_ng_client;

/** A client sending to `remote` from an ephemeral local port.  0 or -errno. */
int wims_ng_client_new(struct wims_ng_client **cp, uv_loop_t *loop, const struct wims_addr *remote)
	__attribute__((warn_unused_result));
/** Send rq with a fresh random cookie; retransmits after 500 ms, 1 s and 2 s,
 * then cb(-ETIMEDOUT) once timeout_ms (0: 5000) passed.  cb is called
 * exactly once, never from inside this call.  0 or -errno. */
int wims_ng_client_send(struct wims_ng_client *c, const struct wims_mctl_req *rq, unsigned timeout_ms,
			wims_ng_reply_h *cb, void *arg) __attribute__((warn_unused_result));
/** Same with a ready bencoded body (the CLI's --raw). */
int wims_ng_client_send_raw(struct wims_ng_client *c, struct wims_str body, unsigned timeout_ms,
			    wims_ng_reply_h *cb, void *arg) __attribute__((warn_unused_result));
/** Cancel pending requests (cb(-ECANCELED)) and close; freed in the close
 * callback (run the loop). */
void wims_ng_client_free(struct wims_ng_client *c);

#endif
