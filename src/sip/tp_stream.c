/* SIP over TCP and TLS: connection flows on base/stream, framed with
 * wims_sip__frame (frame.c).
 *
 * Received bytes are framed straight from the stream's read buffer; only
 * the tail of an incomplete message is copied, into the flow's rbuf.  That
 * tail is always shorter than WIMS_SIP_MAX_MESSAGE (anything longer is a
 * whole message or an error), so rbuf stays below two read buffers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "sip/msg.h"
#include "sip/tp_int.h"

static struct wims_ratelimit frame_rl = WIMS_RATELIMIT_INIT(10000, 10);
static struct wims_ratelimit refuse_rl = WIMS_RATELIMIT_INIT(10000, 10);

static void on_open(struct wims_stream *s, void *arg)
{
	struct wims_sip_flow *f = arg;

	f->local = *wims_stream_local(s);
}

/* RFC 5626 §3.5.1: "When a server receives a double CRLF ... it responds
 * with a single CRLF" (the pong).  Counted across reads, since the two CRLFs
 * of one ping may arrive apart. */
static void crlfs_seen(struct wims_sip_flow *f, size_t pairs)
{
	for (; pairs; pairs--) {
		if (++f->crlfs < 2)
			continue;
		f->crlfs = 0;
		if (wims_stream_write(f->st, "\r\n", 2) < 0)
			return;
	}
}

/* A message that cannot be framed (bytes p, len from its first one): answer
 * it when it is a request we can answer (wims_sip__frame_reply), then
 * close; nothing after it on this stream can be delimited. */
static void bad_frame(struct wims_sip_flow *f, const char *p, size_t len)
{
	char peer[WIMS_ADDR_STRLEN] = "?";
	const char *why = f->fr.why ? f->fr.why : "Bad message";
	struct wims_sip_msg *m = malloc(sizeof(*m));
	size_t cap = (len < WIMS_SIP_MAX_MESSAGE ? len : WIMS_SIP_MAX_MESSAGE) + 128;
	char *rb = m ? malloc(cap) : NULL;
	struct wims_wbuf w;
	bool answered = false;

	if (rb) {
		wims_wbuf_init(&w, rb, cap);
		answered = wims_sip__frame_reply(m, p, len, why, &w) == 0 &&
			   wims_stream_write(f->st, w.p, w.len) == 0;
	}
	free(rb);
	free(m);
	f->tp->ctr.closed_framing++;
	if (answered)
		f->tp->ctr.framing_answered++;
	(void)wims_addr_str(&f->peer, peer, sizeof(peer));
	wims_log_rl(&frame_rl, WIMS_LOG_NOTICE, "SIP over %s from %s: %s (RFC 3261 §18.3), %s",
		    wims_sip_proto_name(f->proto), peer, why,
		    answered ? "answered and closing" : "closing without an answer");
	wims_sip__flow_unpublish(f);
	if (answered)
		wims_stream_close(f->st); /* the answer goes out first */
	else
		wims_stream_abort(f->st);
}

/* Deliver every whole message of [p, p+len); returns the bytes consumed.
 * *delivered counts the messages. */
static size_t frame_loop(struct wims_sip_flow *f, const char *p, size_t len, unsigned *delivered)
{
	size_t off = 0;

	while (f->alive && off < len) {
		size_t skip;
		long n = wims_sip__frame(&f->fr, p + off, len - off, &skip);
		if (skip) {
			off += skip;
			crlfs_seen(f, skip / 2);
		}
		if (n < 0) {
			bad_frame(f, p + off, len - off);
			return len;
		}
		if (n == 0)
			break;
		memset(&f->fr, 0, sizeof(f->fr));
		f->crlfs = 0;
		++*delivered;
		wims_sip__deliver(f, p + off, (size_t)n);
		off += (size_t)n;
	}
	return off;
}

/* After a read: is a message awaited, and since when?  A message begun
 * and not whole is; after a whole one only its successor's first bytes
 * start the clock again.  An inbound connection's wait for its first
 * message (started at accept) goes on until one came. */
static void wait_update(struct wims_sip_flow *f, unsigned delivered, uint64_t now)
{
	bool partial = f->rlen > 0 || f->fr.scanned > 0 || f->fr.total > 0;

	if (delivered)
		f->waiting = false;
	if (partial && !f->waiting) {
		f->waiting = true;
		f->wait_ms = now;
	}
}

static int rbuf_put(struct wims_sip_flow *f, const char *p, size_t len)
{
	if (f->rlen + len > f->rcap) {
		size_t cap = f->rcap ? f->rcap : 2048;
		while (cap < f->rlen + len)
			cap *= 2;
		char *b = realloc(f->rbuf, cap);
		if (!b)
			return -ENOMEM;
		f->rbuf = b;
		f->rcap = cap;
	}
	memcpy(f->rbuf + f->rlen, p, len);
	f->rlen += len;
	return 0;
}

static void on_data(struct wims_stream *s, const char *data, size_t len, void *arg)
{
	struct wims_sip_flow *f = arg;
	size_t used;
	unsigned delivered = 0;

	if (!f->alive)
		return;
	f->last_ms = uv_now(f->tp->loop);
	wims_sip_flow_ref(f); /* the recv handler may close the flow */
	if (f->rlen == 0) {
		used = frame_loop(f, data, len, &delivered);
		data += used;
		len -= used;
	} else if (rbuf_put(f, data, len) == 0) {
		len = 0;
		used = frame_loop(f, f->rbuf, f->rlen, &delivered);
		f->rlen -= used;
		memmove(f->rbuf, f->rbuf + used, f->rlen);
	} else {
		goto nomem;
	}
	if (f->alive && len > 0 && rbuf_put(f, data, len) < 0)
		goto nomem;
	wait_update(f, delivered, f->last_ms);
	if (!f->alive) {
		free(f->rbuf); /* nothing more will be framed */
		f->rbuf = NULL;
		f->rlen = f->rcap = 0;
	}
	wims_sip_flow_deref(f);
	return;
nomem:
	wims_log(WIMS_LOG_ERR, "SIP stream: out of memory, closing a connection");
	wims_sip__flow_unpublish(f);
	wims_stream_abort(s);
	wims_sip_flow_deref(f);
}

static void on_close(struct wims_stream *s, int err, void *arg)
{
	struct wims_sip_flow *f = arg;

	if (err && err != -ECONNABORTED) {
		char peer[WIMS_ADDR_STRLEN] = "?";
		(void)wims_addr_str(&f->peer, peer, sizeof(peer));
		wims_log(WIMS_LOG_DEBUG, "SIP %s connection with %s closed: %s",
			 wims_sip_proto_name(f->proto), peer, uv_strerror(err));
	}
	if (f->inbound)
		f->tp->ctr.tcp_in--;
	else
		f->tp->ctr.tcp_out--;
	wims_sip__flow_ended(f);
}

static void flow_set_stream(struct wims_sip_flow *f, struct wims_stream *s)
{
	struct wims_stream_handlers h = {on_open, on_data, on_close, f};

	f->st = s;
	wims_stream_ref(s);
	wims_stream_set_handlers(s, &h);
}

static int on_accept(struct wims_stream_listener *l, struct wims_stream *s, void *arg)
{
	struct wims_sip_tport *tp = arg;
	enum wims_sip_proto proto = wims_stream_is_tls(s) ? WIMS_SIP_TLS : WIMS_SIP_TCP;
	struct wims_sip_flow *f;

	(void)l;
	if (tp->closing)
		return -1;
	if (tp->max_tcp_in && tp->ctr.tcp_in >= tp->max_tcp_in) {
		char peer[WIMS_ADDR_STRLEN] = "?";
		(void)wims_addr_str(wims_stream_peer(s), peer, sizeof(peer));
		tp->ctr.refused_max++;
		wims_log_rl(&refuse_rl, WIMS_LOG_WARN, "SIP %s %s: refused: max_tcp_connections (%u) reached",
			    wims_sip_proto_name(proto), peer, tp->max_tcp_in);
		return -1; /* accepted and closed at once */
	}
	if (wims_sip__flow_alloc(&f, tp, FLOW_STREAM, proto) < 0)
		return -1;
	wims_sip__addr_norm(&f->peer, wims_stream_peer(s));
	f->local = *wims_stream_local(s);
	f->inbound = true;
	f->waiting = true; /* for its first message */
	f->wait_ms = f->last_ms;
	tp->ctr.tcp_in++;
	flow_set_stream(f, s);
	wims_sip__flow_publish(f);
	return 0;
}

int wims_sip__stream_listen(struct wims_sip_tport *tp, const struct wims_addr *a, bool tls)
{
	struct wims_stream_listener **lp = tls ? &tp->tls_l : &tp->tcp_l;
	int r = wims_stream_listen(lp, tp->loop, a, tls ? tp->tls_server : NULL, on_accept, tp);

	if (r < 0) {
		*lp = NULL;
		return r;
	}
	r = wims_stream_listener_addr(*lp, tls ? &tp->tls_local : &tp->tcp_local);
	return r;
}

void wims_sip__stream_stop(struct wims_sip_tport *tp)
{
	wims_stream_listener_close(tp->tcp_l);
	wims_stream_listener_close(tp->tls_l);
	tp->tcp_l = tp->tls_l = NULL;
}

int wims_sip__stream_connect(struct wims_sip_flow **fp, struct wims_sip_tport *tp, enum wims_sip_proto proto,
			     const struct wims_addr *dst)
{
	struct wims_sip_flow *f;
	struct wims_stream *s;
	SSL_CTX *tls = NULL;
	int r;

	if (proto == WIMS_SIP_TLS && !(tls = tp->tls_client))
		return -ENOTSUP;
	r = wims_sip__flow_alloc(&f, tp, FLOW_STREAM, proto);
	if (r < 0)
		return r;
	f->peer = *dst;
	/* handlers are set right after: the stream calls none before the loop runs */
	r = wims_stream_connect(&s, tp->loop, dst, tls, NULL, NULL);
	if (r < 0) {
		wims_sip_flow_deref(f);
		return r;
	}
	tp->ctr.tcp_out++;
	flow_set_stream(f, s);
	wims_sip__flow_publish(f);
	*fp = f;
	return 0;
}

int wims_sip__stream_send(struct wims_sip_flow *f, const char *buf, size_t len)
{
	int r = wims_stream_write(f->st, buf, len);

	if (r == 0)
		f->last_ms = uv_now(f->tp->loop);
	else if (r == -ENOBUFS)
		wims_log_rl(&frame_rl, WIMS_LOG_WARN, "SIP %s: peer not reading, message dropped",
			    wims_sip_proto_name(f->proto));
	return r;
}

void wims_sip__stream_close(struct wims_sip_flow *f)
{
	wims_stream_close(f->st);
}

void wims_sip__stream_free(struct wims_sip_flow *f)
{
	wims_stream_deref(f->st);
	free(f->rbuf);
}
