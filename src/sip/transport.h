/* The SIP transport layer of one signalling loop: UDP, TCP and TLS sockets
 * of its own, and "external" flows for connections another module owns
 * (the WebSocket connections of the http module, RFC 7118).
 *
 * A flow is one connection (TCP, TLS, WS, WSS), or for UDP a (socket, peer)
 * pair.  Connection flows are refcounted: the connection holds one
 * reference while it is open, and whoever keeps a flow pointer beyond the
 * current callback takes its own (wims_sip_flow_ref).  A flow whose
 * connection closed stays valid memory while referenced, with
 * wims_sip_flow_alive() false and every send failing with -ENOTCONN.
 *
 * Received stream bytes are framed (wims_sip_stream_frame, RFC 3261 §18.3);
 * a message that cannot be framed closes its connection with a logged
 * reason, after a 400 naming the fault when it is a request whose headers
 * say where to send one.  A double-CRLF keep-alive ping is answered with a CRLF pong
 * (RFC 5626 §3.5.1) by the transport itself; it never reaches the handler.
 */
#ifndef WIMS_SIP_TRANSPORT_H
#define WIMS_SIP_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/addr.h"

typedef struct ssl_ctx_st SSL_CTX;

enum wims_sip_proto { WIMS_SIP_UDP = 1, WIMS_SIP_TCP, WIMS_SIP_TLS, WIMS_SIP_WS, WIMS_SIP_WSS };

struct wims_sip_flow;
struct wims_sip_tport;

/**
 * One whole SIP message arrived on f.  The bytes are valid during the call
 * only.  For UDP, f is a pseudo-flow that lives only during the call (its id
 * is 0, ref/deref do nothing): copy its proto and peer to answer later.
 */
typedef void(wims_sip_recv_h)(struct wims_sip_flow *f, const char *msg, size_t len, void *arg);
/** A connection flow is gone (never for UDP).  f is valid during the call;
 *  it stays valid after it only for holders of a reference. */
typedef void(wims_sip_flow_closed_h)(struct wims_sip_flow *f, void *arg);

struct wims_sip_tport_cfg {
	const struct wims_addr *udp, *tcp, *tls; /* where to listen; each may be NULL */
	SSL_CTX *tls_server;			 /* needed with tls; not owned */
	SSL_CTX *tls_client;			 /* for outgoing TLS; may be NULL; not owned */
	unsigned udp_mtu;			 /* 0: 1300 (RFC 3261 §18.1.1) */
	unsigned tcp_idle_s;			 /* close TCP/TLS connections idle this long; 0: never */
	unsigned max_tcp_connections;		 /* inbound TCP and TLS connections at once; 0: no limit */
	unsigned tcp_message_timeout_s;		 /* see below; 0: never */
};

/*
 * Bounds on stream connections (TCP, TLS):
 * - max_tcp_connections: an inbound connection beyond it is accepted and
 *   closed at once (logged, rate-limited; counted).  Connections wimsd opens
 *   itself do not count.
 * - tcp_message_timeout_s: a connection holding part of a message for this
 *   long, or an inbound one without a first whole message this long after
 *   it was accepted (a TLS handshake included; keep-alive CRLFs do not
 *   count), is closed: a slow or silent peer holds neither memory nor a slot.
 * - tcp_idle_s: a connection without traffic for this long is closed, unless
 *   a transaction still holds its flow (a reference besides the
 *   connection's own): the answer to an INVITE that rings for minutes goes
 *   back on the connection the INVITE came on.
 */
struct wims_sip_tport_counters {
	uint64_t tcp_in;	    /* inbound TCP/TLS connections open now */
	uint64_t tcp_out;	    /* connections wimsd opened, open now */
	uint64_t refused_max;	    /* refused at accept: max_tcp_connections */
	uint64_t closed_idle;	    /* closed by tcp_idle_s */
	uint64_t closed_incomplete; /* closed by tcp_message_timeout_s */
	uint64_t closed_framing;    /* closed on a framing error (RFC 3261 §18.3) */
	uint64_t framing_answered;  /* of which with a 400/513 first */
};
void wims_sip_tport_counters(const struct wims_sip_tport *tp, struct wims_sip_tport_counters *c);

/**
 * Open the listening sockets of cfg on loop.  recv gets every message,
 * closed every connection flow that goes (both with arg).  Errors: a
 * negative uv/errno code (bind failure, -EINVAL for tls without tls_server).
 */
int wims_sip_tport_alloc(struct wims_sip_tport **tp, uv_loop_t *loop, const struct wims_sip_tport_cfg *cfg,
			 wims_sip_recv_h *recv, wims_sip_flow_closed_h *closed, void *arg)
    __attribute__((warn_unused_result));

/**
 * Stop listening and close every connection (external ones through their
 * ops->close).  No handler is called after this.  The memory goes when the
 * handles are closed and the last flow reference is dropped.
 */
void wims_sip_tport_close(struct wims_sip_tport *tp);

/**
 * Send one message to dst over proto.
 * UDP: from the listening UDP socket; but a request larger than udp_mtu goes
 * over TCP (RFC 3261 §18.1.1).  TCP/TLS: on a live connection to dst, or a
 * new one (the message is queued until it is established).  WS/WSS: only on
 * an existing external flow to dst.
 * *used (may be NULL) gets the connection flow used, borrowed, or NULL for UDP.
 * Errors: -ENOTCONN (WS/WSS without a flow), -ENOTSUP (no UDP socket, TLS
 * without tls_client), -ENOBUFS (connection not draining), uv errors.
 */
int wims_sip_tport_send(struct wims_sip_tport *tp, enum wims_sip_proto proto, const struct wims_addr *dst,
			const char *buf, size_t len, bool is_request, struct wims_sip_flow **used)
    __attribute__((warn_unused_result));

/** Send on that very flow (UDP: to its peer from the UDP socket).  -ENOTCONN when closed. */
int wims_sip_flow_send(struct wims_sip_flow *f, const char *buf, size_t len)
    __attribute__((warn_unused_result));

/* ---- external flows: connections owned by another module ---- */

struct wims_sip_flow_ops {
	/** Send one whole message (one WebSocket text message).  0 or -errno. */
	int (*send)(void *conn, const char *buf, size_t len);
	/** Close the connection; the owner calls wims_sip_flow_gone() when it is gone. */
	void (*close)(void *conn);
};

/**
 * Register an external connection as a flow.  The owner holds the one
 * reference *f comes with until it calls wims_sip_flow_gone().  ops must
 * outlive the flow; local and peer are copied.
 */
int wims_sip_flow_external(struct wims_sip_tport *tp, struct wims_sip_flow **f, enum wims_sip_proto proto,
			   const struct wims_sip_flow_ops *ops, void *conn, const struct wims_addr *local,
			   const struct wims_addr *peer) __attribute__((warn_unused_result));
/** A whole message arrived on an external flow: passed to the recv handler. */
void wims_sip_flow_input(struct wims_sip_flow *f, const char *msg, size_t len);
/** Deliver buf to the receive handler again as if it had just arrived over
 *  UDP from peer (a message whose processing waited for something). */
void wims_sip_tport_udp_inject(struct wims_sip_tport *tp, const struct wims_addr *peer, const char *buf,
			       size_t len);
/** The external connection is gone: the closed handler runs, the flow is
 *  marked dead and the owner's reference is dropped (f may be freed). */
void wims_sip_flow_gone(struct wims_sip_flow *f);

/* ---- any flow ---- */

/** Ask for the connection to be closed (queued data is flushed first).  The
 *  flow is dead from now on; the closed handler runs when it is gone. */
void wims_sip_flow_close(struct wims_sip_flow *f);
/** Unique in this process, never reused; 0 for UDP pseudo-flows. */
uint64_t wims_sip_flow_id(const struct wims_sip_flow *f);
/** The live flow with that id, borrowed, or NULL when gone (or closing). */
struct wims_sip_flow *wims_sip_tport_flow_find(struct wims_sip_tport *tp, uint64_t id);
enum wims_sip_proto wims_sip_flow_proto(const struct wims_sip_flow *f);
const struct wims_addr *wims_sip_flow_peer(const struct wims_sip_flow *f);
const struct wims_addr *wims_sip_flow_local(const struct wims_sip_flow *f);
/** False once the connection closed or was asked to close. */
bool wims_sip_flow_alive(const struct wims_sip_flow *f);
void wims_sip_flow_ref(struct wims_sip_flow *f);
void wims_sip_flow_deref(struct wims_sip_flow *f);

/** Address bound for proto (port 0 resolved).  0, or -ENOENT when not listening on it. */
int wims_sip_tport_local(const struct wims_sip_tport *tp, enum wims_sip_proto proto, struct wims_addr *out)
    __attribute__((warn_unused_result));
/** "UDP", "TCP", "TLS", "WS", "WSS" (Via spelling); "?" for anything else. */
const char *wims_sip_proto_name(enum wims_sip_proto p);
/** Reliable (connection) transport: everything but UDP. */
static inline bool wims_sip_proto_reliable(enum wims_sip_proto p)
{
	return p != WIMS_SIP_UDP;
}

#endif
