/* The WebSocket server for SIP (RFC 6455 + RFC 7118) on one listening
 * address, over base/stream (plain TCP or TLS).  The same listener answers
 * plain HTTP: GET /healthz, and static files from a web root (the WIC).
 *
 * Everything runs on the loop given to wims_ws_server_alloc(); nothing here is
 * thread-safe.
 */
#ifndef WIMS_HTTP_WS_H
#define WIMS_HTTP_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/addr.h"
#include "base/buf.h"
#include "http/wsframe.h"

struct wims_ws_server;
struct wims_ws_conn;
typedef struct ssl_ctx_st SSL_CTX;

/** A connection finished the opening handshake (101 sent). */
typedef void(wims_ws_open_h)(struct wims_ws_conn *c, void *arg);
/** One whole message (fragments assembled).  msg is only valid during the
 *  call.  CRLF keep-alives (RFC 7118 §6, RFC 5626 §4.4.1) are not delivered. */
typedef void(wims_ws_msg_h)(struct wims_ws_conn *c, const char *msg, size_t len, bool binary, void *arg);
/** An open connection ended (once per open_h).  code is the close code sent
 *  or received, 1005 for a Close without code, 1006 when TCP dropped first. */
typedef void(wims_ws_close_h)(struct wims_ws_conn *c, uint16_t code, void *arg);

struct wims_ws_handlers {
	wims_ws_open_h *open;
	wims_ws_msg_h *msg;
	wims_ws_close_h *close;
	void *arg;
};

/**
 * A plain HTTP GET or HEAD that is not an upgrade (the admin API, /metrics):
 * write the body into out, set *type, return the HTTP status; 0 passes the
 * request on to the static files.
 */
typedef unsigned(wims_http_route_h)(struct wims_str path, struct wims_wbuf *out, const char **type, void *arg);

struct wims_ws_config {
	struct wims_addr listen; /* port 0 picks one: see wims_ws_server_addr() */
	SSL_CTX *tls;		 /* NULL for ws://; not owned, must outlive the server */
	const char *origins;	 /* Origin allow-list, comma/blank separated; NULL, "" or "*" = any */
	const char *ws_path;	 /* a path that only does WebSocket (plain GET → 426); NULL = none */
	const char *web_root;	 /* static files; NULL or "" = none (then every path is WebSocket-only) */
	unsigned handshake_timeout_ms; /* accept (TLS included) until 101; 0 = 10000 */
	unsigned idle_timeout_s;       /* no bytes from the peer for this long: close; 0 = never */
	unsigned ping_interval_s; /* send a Ping after this long without bytes from the peer; 0 = never */
	unsigned pong_timeout_s;  /* no bytes for this long after that Ping: abort (dead peer); 0 = never */
	size_t max_message;	  /* largest assembled message; 0 = WIMS_WS_MAX_MESSAGE */
	unsigned max_connections; /* open TCP connections; 0 = unlimited */
	unsigned max_per_ip;	  /* open TCP connections from one peer address; 0 = unlimited */
	wims_http_route_h *route; /* dynamic pages, before the static files; NULL = none */
	void *route_arg;
};

/** Why connections ended, for metrics (index of wims_ws_counters.closed). */
enum wims_ws_end {
	WIMS_WS_END_PEER_CLOSE,	   /* the peer started the close handshake */
	WIMS_WS_END_LOCAL_CLOSE,   /* wims_ws_close() / shutdown, peer answered */
	WIMS_WS_END_CLOSE_TIMEOUT, /* our Close was not answered within 5 s */
	WIMS_WS_END_PROTOCOL,	   /* we failed the connection: 1002, 1007, 1009 */
	WIMS_WS_END_IDLE,	   /* idle timeout */
	WIMS_WS_END_DROPPED,	   /* TCP/TLS ended without a close handshake */
	WIMS_WS_END_HANDSHAKE_TIMEOUT,
	WIMS_WS_END_HANDSHAKE_REFUSED, /* 400/403/426/431 answered */
	WIMS_WS_END_HTTP,	       /* a plain HTTP request was answered */
	WIMS_WS_END_PONG_TIMEOUT,      /* nothing came back within pong_timeout_s of our Ping */
	WIMS_WS_END_MAX_
};

struct wims_ws_counters {
	uint64_t conns;		 /* TCP connections now open, any state */
	uint64_t ws_open;	 /* of which upgraded to WebSocket */
	uint64_t accepted;	 /* total accepted */
	uint64_t refused_max;	 /* refused at accept: max_connections */
	uint64_t refused_per_ip; /* refused at accept: max_per_ip */
	uint64_t msgs_in, msgs_out, keepalives_in;
	uint64_t closed[WIMS_WS_END_MAX_];
};

/** A short name for an end reason ("peer_close"), for metric labels. */
const char *wims_ws_end_name(enum wims_ws_end e);

/**
 * Start listening.  cfg strings are copied.  The server is refcounted: the
 * caller holds one reference (wims_ws_server_deref) and every connection holds
 * one, so the memory lives until the last connection is gone.
 * Returns 0, or a negative uv/errno code (bind failure, -ENOMEM).
 */
int wims_ws_server_alloc(struct wims_ws_server **sp, uv_loop_t *loop, const struct wims_ws_config *cfg,
			 const struct wims_ws_handlers *h) __attribute__((warn_unused_result));

/** The address actually bound. */
int wims_ws_server_addr(const struct wims_ws_server *s, struct wims_addr *out)
    __attribute__((warn_unused_result));

/** Stop accepting and close every connection with code (1001 on SIGTERM);
 *  handshakes in progress are dropped.  Idempotent. */
void wims_ws_server_shutdown(struct wims_ws_server *s, uint16_t code);

void wims_ws_server_ref(struct wims_ws_server *s);
/** Drop a reference; the last one closes the listener (if shutdown did not) and frees. */
void wims_ws_server_deref(struct wims_ws_server *s);

/** A snapshot of the counters. */
void wims_ws_server_counters(const struct wims_ws_server *s, struct wims_ws_counters *out);

/**
 * Send msg as one message: a text frame, or binary when msg is not valid
 * UTF-8 (RFC 7118 §5.1).  Copied.  -ENOTCONN when the connection is not open
 * (closing included), -EMSGSIZE above 16 MiB, -ENOBUFS when the peer is not
 * reading (the stream's send queue is full).
 */
int wims_ws_send(struct wims_ws_conn *c, const char *msg, size_t len) __attribute__((warn_unused_result));

/** Start the close handshake with code (a valid wire code, else 1000) and an
 *  optional reason (cut to 123 bytes); aborts after 5 s without an answer.
 *  Before the upgrade it just closes the TCP connection. */
void wims_ws_close(struct wims_ws_conn *c, uint16_t code, const char *reason);

void wims_ws_conn_ref(struct wims_ws_conn *c);
void wims_ws_conn_deref(struct wims_ws_conn *c);

/** Whether the connection is upgraded and not closing. */
bool wims_ws_conn_is_open(const struct wims_ws_conn *c);
const struct wims_addr *wims_ws_conn_peer(const struct wims_ws_conn *c);
const struct wims_addr *wims_ws_conn_local(const struct wims_ws_conn *c);
bool wims_ws_conn_is_tls(const struct wims_ws_conn *c);
/** The server the connection came to. */
struct wims_ws_server *wims_ws_conn_server(const struct wims_ws_conn *c);

/** A pointer for the user (the SIP flow); never touched by this module. */
void wims_ws_conn_set_user(struct wims_ws_conn *c, void *user);
void *wims_ws_conn_user(const struct wims_ws_conn *c);

#endif
