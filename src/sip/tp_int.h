/* Internal to the SIP transport files (transport.c, tp_udp.c, tp_stream.c, frame.c). */
#ifndef WIMS_SIP_TP_INT_H
#define WIMS_SIP_TP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/hash.h"
#include "base/log.h"
#include "base/stream.h"
#include "sip/limits.h"
#include "sip/transport.h"

/*
 * Resumable framer state for one stream connection.  After a call that
 * reported *skip > 0 the caller drops those bytes before calling again;
 * after a message was consumed (or on a new connection) it zeroes the state.
 */
struct wims_sip__framer {
	size_t scanned; /* bytes searched for the end of the headers; 0: message not started */
	size_t total;	/* size of the message once its headers are known */
	bool sl_ok;	/* the start line was seen whole and looks like SIP */
	const char *why; /* after -EBADMSG: the fault, a 400 reason phrase */
};

/** wims_sip_stream_frame() resuming from fr (see above).  On -EBADMSG
 *  fr->why names the fault: "Bad start line", "Missing Content-Length",
 *  "Bad Content-Length" or "Message too large". */
long wims_sip__frame(struct wims_sip__framer *fr, const char *buf, size_t len, size_t *skip);

struct wims_sip_msg;
struct wims_wbuf;
/**
 * The answer to a message that could not be framed: buf holds what was
 * received from its first byte (after the CRLFs the framer skipped), why is
 * fr->why.  When the headers are complete and make a request other than ACK
 * with the headers a response needs (Via, From, To, Call-ID, CSeq), writes
 * "400 <why>" (513 for "Message too large") into out and returns 0; else
 * -EBADMSG (nothing to answer: close without a word).  m is scratch.  No
 * I/O, no allocation.
 */
int wims_sip__frame_reply(struct wims_sip_msg *m, const char *buf, size_t len, const char *why,
			  struct wims_wbuf *out) __attribute__((warn_unused_result));

enum flow_kind { FLOW_UDP, FLOW_STREAM, FLOW_EXTERNAL };

struct wims_sip_flow {
	struct wims_hnode by_id;
	struct wims_hnode by_peer;
	struct wims_sip_tport *tp;
	unsigned refs;
	uint64_t id;
	enum wims_sip_proto proto;
	enum flow_kind kind;
	bool alive; /* in the tables, usable */
	bool gone;  /* the closed handler ran */
	struct wims_addr peer, local;
	/* FLOW_STREAM */
	struct wims_stream *st; /* referenced */
	char *rbuf;		/* bytes of an incomplete message */
	size_t rlen, rcap;
	struct wims_sip__framer fr;
	unsigned crlfs; /* CRLFs skipped since the last message (ping = 2) */
	bool inbound;	/* accepted on our listener (counted against max_tcp_connections) */
	bool waiting;	/* a message is awaited since wait_ms: the first after accept, or the rest of one */
	uint64_t wait_ms;
	uint64_t last_ms;
	/* FLOW_EXTERNAL */
	const struct wims_sip_flow_ops *ops;
	void *conn;
};

struct wims_sip_tport {
	uv_loop_t *loop;
	unsigned refs; /* flows in memory + open handles + 1 until closed */
	bool closing;
	wims_sip_recv_h *recv;
	wims_sip_flow_closed_h *closed;
	void *arg;
	struct wims_hash by_id;
	struct wims_hash by_peer;
	unsigned udp_mtu;
	unsigned tcp_idle_s;
	unsigned tcp_msg_s;
	unsigned max_tcp_in;
	struct wims_sip_tport_counters ctr;
	SSL_CTX *tls_server, *tls_client;
	/* UDP */
	bool udp_on;
	uv_udp_t udp;
	struct wims_addr udp_local;
	char *udp_buf; /* WIMS_SIP__UDP_BUF bytes, receives every datagram */
	/* TCP / TLS */
	struct wims_stream_listener *tcp_l, *tls_l;
	struct wims_addr tcp_local, tls_local;
	bool idle_on;
	uv_timer_t idle;
};

/* 64 KiB per datagram (the largest UDP payload), 8 datagrams per recvmmsg() */
#define WIMS_SIP__UDP_SLOTS 8
#define WIMS_SIP__UDP_BUF (65536 * WIMS_SIP__UDP_SLOTS)

/* transport.c */
int wims_sip__flow_alloc(struct wims_sip_flow **fp, struct wims_sip_tport *tp, enum flow_kind kind,
			 enum wims_sip_proto proto) __attribute__((warn_unused_result));
void wims_sip__flow_publish(struct wims_sip_flow *f);
void wims_sip__flow_unpublish(struct wims_sip_flow *f);
void wims_sip__flow_ended(struct wims_sip_flow *f);
struct wims_sip_flow *wims_sip__flow_by_peer(struct wims_sip_tport *tp, enum wims_sip_proto proto,
					     const struct wims_addr *peer);
void wims_sip__tport_deref(struct wims_sip_tport *tp);
void wims_sip__deliver(struct wims_sip_flow *f, const char *msg, size_t len);
/** out = a, but an IPv4-mapped IPv6 address (from a dual-stack socket) as plain IPv4. */
void wims_sip__addr_norm(struct wims_addr *out, const struct wims_addr *a);

/* tp_udp.c */
int wims_sip__udp_open(struct wims_sip_tport *tp, const struct wims_addr *a)
    __attribute__((warn_unused_result));
void wims_sip__udp_close(struct wims_sip_tport *tp);
int wims_sip__udp_send(struct wims_sip_tport *tp, const struct wims_addr *dst, const char *buf, size_t len)
    __attribute__((warn_unused_result));

/* tp_stream.c */
int wims_sip__stream_listen(struct wims_sip_tport *tp, const struct wims_addr *a, bool tls)
    __attribute__((warn_unused_result));
void wims_sip__stream_stop(struct wims_sip_tport *tp);
int wims_sip__stream_connect(struct wims_sip_flow **fp, struct wims_sip_tport *tp, enum wims_sip_proto proto,
			     const struct wims_addr *dst) __attribute__((warn_unused_result));
int wims_sip__stream_send(struct wims_sip_flow *f, const char *buf, size_t len)
    __attribute__((warn_unused_result));
void wims_sip__stream_close(struct wims_sip_flow *f);
void wims_sip__stream_free(struct wims_sip_flow *f);

#endif
