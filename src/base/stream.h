/* A byte stream over libuv TCP, optionally with TLS (OpenSSL through memory
 * BIOs), shared by the WebSocket listener (http) and SIP over TCP/TLS (sip).
 *
 * Ownership: a stream is refcounted.  The loop holds one reference while the
 * socket is open; wims_stream_close() starts closing, the close callback runs
 * once, and the memory goes when the last reference is dropped after the
 * libuv close callback.  Callbacks are never called after the close callback.
 * A stream pointer handed out (by connect or to the accept handler) is the
 * loop's: it stays valid until the close callback returns; take a reference
 * to keep it longer.
 */
#ifndef WIMS_BASE_STREAM_H
#define WIMS_BASE_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/addr.h"

struct wims_stream;
struct wims_stream_listener;
typedef struct ssl_ctx_st SSL_CTX;

/** Data received (decrypted when TLS).  The bytes are only valid during the call. */
typedef void(wims_stream_data_h)(struct wims_stream *s, const char *data, size_t len, void *arg);
/** The stream is established (TCP connected, TLS handshake done). */
typedef void(wims_stream_open_h)(struct wims_stream *s, void *arg);
/** The stream closed; err is 0 for an orderly close (ours or the peer's),
 *  -ECONNABORTED after wims_stream_abort(), -EPROTO for a TLS failure,
 *  -ETIMEDOUT when an orderly close could not flush within 5 s, else a
 *  negative uv code (UV_ECONNREFUSED, UV_ECONNRESET, ...). */
typedef void(wims_stream_close_h)(struct wims_stream *s, int err, void *arg);
/** A new connection on a listener: return 0 to keep it (and call
 *  wims_stream_set_handlers), or non-zero to refuse (it is closed, with no
 *  callback).  Plain TCP streams are writable from here on; open follows. */
typedef int(wims_stream_accept_h)(struct wims_stream_listener *l, struct wims_stream *s, void *arg);

struct wims_stream_handlers {
	wims_stream_open_h *open;
	wims_stream_data_h *data;
	wims_stream_close_h *close;
	void *arg;
};

/** Server TLS context from PEM cert chain and key (TLS 1.2 minimum).  Error text in err. */
int wims_tls_server_ctx(SSL_CTX **ctx, const char *cert, const char *key, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/** Client TLS context (TLS 1.2 minimum); ca NULL or "" means no verification. */
int wims_tls_client_ctx(SSL_CTX **ctx, const char *ca, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/** Listen on addr; tls NULL for plain TCP.  The listener does not own tls. */
int wims_stream_listen(struct wims_stream_listener **lp, uv_loop_t *loop, const struct wims_addr *addr,
		       SSL_CTX *tls, wims_stream_accept_h *accept_h, void *arg)
	__attribute__((warn_unused_result));
/** Stop accepting and free the listener (open streams are not affected). */
void wims_stream_listener_close(struct wims_stream_listener *l);
/** The address actually bound (useful with port 0). */
int wims_stream_listener_addr(const struct wims_stream_listener *l, struct wims_addr *out);

/** Connect to addr (TLS with tls != NULL; sni may be NULL, else it is sent
 *  and, when tls verifies peers, checked against the certificate).  Handlers
 *  are called later, never from inside this call; on error none is. */
int wims_stream_connect(struct wims_stream **sp, uv_loop_t *loop, const struct wims_addr *addr, SSL_CTX *tls,
			const char *sni, const struct wims_stream_handlers *h)
	__attribute__((warn_unused_result));

void wims_stream_set_handlers(struct wims_stream *s, const struct wims_stream_handlers *h);

/** Queue len bytes (copied).  -ENOTCONN after close; -ENOBUFS when more than
 *  the stream's send-queue limit (1 MiB) is pending: the peer is not reading. */
int wims_stream_write(struct wims_stream *s, const void *data, size_t len) __attribute__((warn_unused_result));

/** Flush what is queued (TLS close_notify included), then close. */
void wims_stream_close(struct wims_stream *s);
/** Close now, discarding queued data (e.g. after a protocol error). */
void wims_stream_abort(struct wims_stream *s);

void wims_stream_ref(struct wims_stream *s);
void wims_stream_deref(struct wims_stream *s);

const struct wims_addr *wims_stream_peer(const struct wims_stream *s);
const struct wims_addr *wims_stream_local(const struct wims_stream *s);
int wims_stream_is_tls(const struct wims_stream *s);
/** Pause or resume reading (back-pressure).  May be called from the data
 *  handler: no more data is delivered until resumed. */
void wims_stream_read_pause(struct wims_stream *s, int paused);

#endif
