/* A byte stream over libuv TCP with optional TLS through OpenSSL memory BIOs.
 *
 *           wims_stream_write()                      read_cb()
 *                  │                                     ▲
 *      plaintext   ▼                                     │ plaintext
 *              SSL_write ──▶ wbio ──▶ uv_write   rbio ──▶ SSL_read
 *                                        │         ▲
 *                                        ▼         │
 *                                       TCP socket (uv_tcp_t)
 *
 * Without TLS the SSL layer is skipped.  Lifetime: the stream is allocated
 * with one reference that belongs to the loop; both embedded handles (the
 * socket and a close timer) are closed together, and when both close
 * callbacks have run the user's close handler is called once and the loop's
 * reference is dropped.  Memory goes with the last reference.
 *
 * Orderly close: stop reading, queue the TLS close_notify, uv_shutdown()
 * (which waits until every queued write is on the wire), then close.  A peer
 * that does not read cannot hold a closing stream forever: the close timer
 * ends it after WIMS_STREAM_CLOSE_TIMEOUT_MS.
 */
#include "base/stream.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/ioctl.h>

#include <openssl/buffer.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "base/log.h"

#define WIMS_STREAM_MAX_QUEUE (1024u * 1024u)
#define WIMS_STREAM_CLOSE_TIMEOUT_MS 5000
#define WIMS_STREAM_READ_BUF 65536
#define WIMS_STREAM_BACKLOG 511

struct wims_stream {
	uv_tcp_t tcp;
	uv_timer_t timer; /* bounds an orderly close; before that, resumes a TLS read */
	uv_connect_t connect_req;
	uv_shutdown_t shutdown_req;
	uv_loop_t *loop;
	unsigned refs;
	struct wims_stream_handlers h;
	struct wims_addr peer, local;
	SSL *ssl;
	BIO *rbio, *wbio; /* owned by ssl */
	/* plaintext written before the stream was open (connecting, TLS handshake) */
	char *pend;
	size_t pend_len, pend_cap;
	int close_err;
	unsigned handles_open; /* embedded handles not yet through their close callback */
	bool connecting;
	bool open;	 /* connected and (TLS) handshake done */
	bool closing;	 /* orderly close started */
	bool uv_closing; /* uv_close() called on the handles */
	bool paused;
	bool reading;
	bool peer_eof;	/* the peer's FIN was read */
	bool shut_done; /* our queued data and FIN are out */
};

struct wims_stream_listener {
	uv_tcp_t tcp;
	uv_loop_t *loop;
	SSL_CTX *tls;
	wims_stream_accept_h *accept_h;
	void *arg;
};

struct wreq {
	uv_write_t req;
	struct wims_stream *s;
	size_t len;
	char data[];
};

static struct wims_ratelimit tls_rl = WIMS_RATELIMIT_INIT(10000, 10);

static void start_read(struct wims_stream *s);
static void stop_read(struct wims_stream *s);
static void stream_shutdown(struct wims_stream *s, int err);

/* ---- TLS contexts ---- */

static void ssl_err_text(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256] = "";

	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	if (err && errlen)
		snprintf(err, errlen, "%s%s%s", what, e ? ": " : "", buf);
	ERR_clear_error();
}

static SSL_CTX *ctx_new(const SSL_METHOD *m)
{
	SSL_CTX *ctx = SSL_CTX_new(m);

	if (!ctx)
		return NULL;
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	/* TLS 1.2 renegotiation would make SSL_write() need the peer; nobody needs it. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	return ctx;
}

int wims_tls_server_ctx(SSL_CTX **ctxp, const char *cert, const char *key, char *err, size_t errlen)
{
	SSL_CTX *ctx = ctx_new(TLS_server_method());

	if (!ctx) {
		ssl_err_text(err, errlen, "SSL_CTX_new");
		return -ENOMEM;
	}
	/* Resumption stays possible with stateless tickets; a server-side
	 * session cache would keep ~1 KB per client for hours (wims holds
	 * tens of thousands of long-lived WebSocket connections). */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		ssl_err_text(err, errlen, "cannot load certificate chain");
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		ssl_err_text(err, errlen, "cannot load private key");
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ssl_err_text(err, errlen, "private key does not match the certificate");
		goto fail;
	}
	*ctxp = ctx;
	return 0;
fail:
	SSL_CTX_free(ctx);
	return -EINVAL;
}

int wims_tls_client_ctx(SSL_CTX **ctxp, const char *ca, char *err, size_t errlen)
{
	SSL_CTX *ctx = ctx_new(TLS_client_method());

	if (!ctx) {
		ssl_err_text(err, errlen, "SSL_CTX_new");
		return -ENOMEM;
	}
	if (ca && *ca) {
		if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
			ssl_err_text(err, errlen, "cannot load CA file");
			SSL_CTX_free(ctx);
			return -EINVAL;
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	}
	*ctxp = ctx;
	return 0;
}

/* ---- lifetime ---- */

static void stream_free(struct wims_stream *s)
{
	if (s->ssl)
		SSL_free(s->ssl);
	free(s->pend);
	free(s);
}

void wims_stream_ref(struct wims_stream *s)
{
	s->refs++;
}

void wims_stream_deref(struct wims_stream *s)
{
	if (!s)
		return;
	if (--s->refs == 0)
		stream_free(s);
}

static void on_handle_close(uv_handle_t *hd)
{
	struct wims_stream *s = hd->data;

	if (--s->handles_open > 0)
		return;
	wims_stream_close_h *cb = s->h.close;
	void *arg = s->h.arg;

	memset(&s->h, 0, sizeof(s->h));
	if (cb)
		cb(s, s->close_err, arg);
	wims_stream_deref(s); /* the loop's reference */
}

/* Close both handles now.  Pending writes are cancelled by libuv. */
static void close_handles(struct wims_stream *s, int err)
{
	if (s->uv_closing)
		return;
	s->uv_closing = true;
	s->open = false;
	/* Once an orderly close started, a failing last write (EPIPE: the peer
	 * has already gone too) does not change what the close was. */
	if (!s->close_err && (!s->closing || err == -ETIMEDOUT))
		s->close_err = err;
	uv_close((uv_handle_t *)&s->tcp, on_handle_close);
	uv_close((uv_handle_t *)&s->timer, on_handle_close);
}

static struct wims_stream *stream_new(uv_loop_t *loop)
{
	struct wims_stream *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->loop = loop;
	s->refs = 1;
	if (uv_tcp_init(loop, &s->tcp) != 0) {
		free(s);
		return NULL;
	}
	uv_timer_init(loop, &s->timer);
	s->tcp.data = s;
	s->timer.data = s;
	s->connect_req.data = s;
	s->shutdown_req.data = s;
	s->handles_open = 2;
	return s;
}

static int stream_tls_init(struct wims_stream *s, SSL_CTX *ctx, bool server, const char *sni)
{
	s->ssl = SSL_new(ctx);
	if (!s->ssl)
		return -ENOMEM;
	s->rbio = BIO_new(BIO_s_mem());
	s->wbio = BIO_new(BIO_s_mem());
	if (!s->rbio || !s->wbio) {
		BIO_free(s->rbio);
		BIO_free(s->wbio);
		s->rbio = s->wbio = NULL;
		return -ENOMEM;
	}
	/* An empty memory BIO means "retry later", not EOF. */
	BIO_set_mem_eof_return(s->rbio, -1);
	BIO_set_mem_eof_return(s->wbio, -1);
	SSL_set_bio(s->ssl, s->rbio, s->wbio);
	if (server) {
		SSL_set_accept_state(s->ssl);
	} else {
		SSL_set_connect_state(s->ssl);
		if (sni && *sni) {
			SSL_set_tlsext_host_name(s->ssl, sni);
			if (SSL_get_verify_mode(s->ssl) & SSL_VERIFY_PEER)
				SSL_set1_host(s->ssl, sni);
		} else if (SSL_get_verify_mode(s->ssl) & SSL_VERIFY_PEER) {
			/* no name: the certificate must at least be the peer's address
			 * (RFC 5922 §7.1 asks for a name match; an IP SAN is what an
			 * address-only next hop can check), not any the CA signed */
			X509_VERIFY_PARAM *vp = SSL_get0_param(s->ssl);
			if (s->peer.u.sa.sa_family == AF_INET)
				X509_VERIFY_PARAM_set1_ip(vp, (const unsigned char *)&s->peer.u.in.sin_addr, 4);
			else if (s->peer.u.sa.sa_family == AF_INET6)
				X509_VERIFY_PARAM_set1_ip(vp, (const unsigned char *)&s->peer.u.in6.sin6_addr, 16);
		}
	}
	return 0;
}

static void fill_addrs(struct wims_stream *s)
{
	struct sockaddr_storage ss;
	int n = sizeof(ss);

	/* on failure the address stays as it was (zeroed, or the connect target) */
	if (uv_tcp_getpeername(&s->tcp, (struct sockaddr *)&ss, &n) == 0 &&
	    wims_addr_from_sa(&s->peer, (struct sockaddr *)&ss) < 0)
		wims_log(WIMS_LOG_DEBUG, "stream: unknown peer address family");
	n = sizeof(ss);
	if (uv_tcp_getsockname(&s->tcp, (struct sockaddr *)&ss, &n) == 0 &&
	    wims_addr_from_sa(&s->local, (struct sockaddr *)&ss) < 0)
		wims_log(WIMS_LOG_DEBUG, "stream: unknown local address family");
}

/* ---- writing ---- */

static size_t queued(const struct wims_stream *s)
{
	return uv_stream_get_write_queue_size((const uv_stream_t *)&s->tcp) + s->pend_len;
}

static void on_write(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req; /* req is the first member */
	struct wims_stream *s = w->s;

	free(w);
	if (status < 0 && status != UV_ECANCELED)
		close_handles(s, status);
}

/* Put wire bytes on the socket: try the kernel first, copy what is left. */
static int raw_write(struct wims_stream *s, const char *data, size_t len)
{
	uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
	int r = uv_try_write((uv_stream_t *)&s->tcp, &b, 1);

	if (r >= 0) {
		data += r;
		len -= (size_t)r;
	} else if (r != UV_EAGAIN) {
		close_handles(s, r);
		return r;
	}
	if (len == 0)
		return 0;
	struct wreq *w = malloc(sizeof(*w) + len);
	if (!w) {
		close_handles(s, -ENOMEM); /* the byte stream would have a hole */
		return -ENOMEM;
	}
	w->s = s;
	w->len = len;
	memcpy(w->data, data, len);
	b = uv_buf_init(w->data, (unsigned)len);
	r = uv_write(&w->req, (uv_stream_t *)&s->tcp, &b, 1, on_write);
	if (r < 0) {
		free(w);
		close_handles(s, r);
	}
	return r;
}

/* A memory BIO keeps the capacity of its largest content (a TLS handshake
 * flight, an INVITE).  An idle WSS connection should not: once an emptied BIO
 * holds more than WIMS_STREAM_BIO_KEEP, it is replaced by a fresh one (a few
 * mallocs per message over TLS, against ~1 KB kept per idle connection). */
#define WIMS_STREAM_BIO_KEEP 256

static void bio_shrink(struct wims_stream *s, bool rbio)
{
	BIO *old = rbio ? s->rbio : s->wbio, *nb;
	BUF_MEM *bm = NULL;

	if (BIO_ctrl_pending(old) || BIO_get_mem_ptr(old, &bm) <= 0 || !bm || bm->max <= WIMS_STREAM_BIO_KEEP)
		return;
	if (!(nb = BIO_new(BIO_s_mem())))
		return;
	BIO_set_mem_eof_return(nb, -1);
	if (rbio) {
		SSL_set0_rbio(s->ssl, nb); /* frees the old one */
		s->rbio = nb;
	} else {
		SSL_set0_wbio(s->ssl, nb);
		s->wbio = nb;
	}
}

/* Move what OpenSSL wrote into the write BIO to the socket. */
static int tls_flush(struct wims_stream *s)
{
	char *p;
	long n = BIO_get_mem_data(s->wbio, &p);
	int r = 0;

	if (n > 0 && !s->uv_closing)
		r = raw_write(s, p, (size_t)n);
	(void)BIO_reset(s->wbio);
	bio_shrink(s, false);
	return r;
}

static void log_ssl(struct wims_stream *s, const char *what, int ret)
{
	char peer[WIMS_ADDR_STRLEN] = "?";
	char buf[256] = "";
	int code = SSL_get_error(s->ssl, ret); /* before the error queue is emptied */
	unsigned long e = ERR_get_error();

	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	(void)wims_addr_str(&s->peer, peer, sizeof(peer));
	wims_log_rl(&tls_rl, WIMS_LOG_INFO, "TLS %s with %s failed (%d): %s", what, peer, code, buf);
}

static int send_plain(struct wims_stream *s, const void *data, size_t len)
{
	if (!s->ssl)
		return raw_write(s, data, len);
	while (len > 0) {
		int chunk = len > 1u << 30 ? 1 << 30 : (int)len;
		int n = SSL_write(s->ssl, data, chunk);
		if (n <= 0) {
			log_ssl(s, "write", n);
			tls_flush(s);
			stream_shutdown(s, -EPROTO);
			return -EPROTO;
		}
		data = (const char *)data + n;
		len -= (size_t)n;
	}
	return tls_flush(s);
}

static int pend_append(struct wims_stream *s, const void *data, size_t len)
{
	if (s->pend_len + len > s->pend_cap) {
		size_t cap = s->pend_cap ? s->pend_cap : 4096;
		while (cap < s->pend_len + len)
			cap *= 2;
		char *p = realloc(s->pend, cap);
		if (!p)
			return -ENOMEM;
		s->pend = p;
		s->pend_cap = cap;
	}
	memcpy(s->pend + s->pend_len, data, len);
	s->pend_len += len;
	return 0;
}

int wims_stream_write(struct wims_stream *s, const void *data, size_t len)
{
	if (s->uv_closing || s->closing)
		return -ENOTCONN;
	if (len == 0)
		return 0;
	if (queued(s) + len > WIMS_STREAM_MAX_QUEUE)
		return -ENOBUFS;
	if (!s->open)
		return pend_append(s, data, len);
	return send_plain(s, data, len);
}

/* ---- opening ---- */

static void became_open(struct wims_stream *s)
{
	s->open = true;
	if (s->pend_len) {
		int r = send_plain(s, s->pend, s->pend_len);
		free(s->pend);
		s->pend = NULL;
		s->pend_len = s->pend_cap = 0;
		if (r < 0)
			return;
	}
	if (s->h.open)
		s->h.open(s, s->h.arg);
}

/* Returns true when the handshake is done (or was already). */
static bool tls_handshake(struct wims_stream *s)
{
	if (SSL_is_init_finished(s->ssl))
		return true;
	int r = SSL_do_handshake(s->ssl);
	tls_flush(s);
	if (r == 1) {
		became_open(s);
		return true;
	}
	int e = SSL_get_error(s->ssl, r);
	if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
		log_ssl(s, "handshake", r);
		tls_flush(s); /* the alert */
		stream_shutdown(s, -EPROTO);
	}
	return false;
}

/* ---- reading ---- */

/* Bytes received but not yet read: closing over them would send a RST. */
static bool unread_bytes(const struct wims_stream *s)
{
	uv_os_fd_t fd;
	int n = 0;

	if (uv_fileno((const uv_handle_t *)&s->tcp, &fd) < 0 || ioctl(fd, FIONREAD, &n) < 0)
		return false;
	return n > 0;
}

/* Reads land in one buffer per thread: libuv calls read_cb right after
 * alloc_cb, and the bytes are only valid during the data handler, so no two
 * reads of one loop ever hold it at once (the busy flag makes sure). */
static __thread char *read_buf;
static __thread bool read_buf_busy;

static void alloc_cb(uv_handle_t *hd, size_t suggested, uv_buf_t *buf)
{
	(void)hd;
	(void)suggested;
	if (!read_buf_busy && (read_buf || (read_buf = malloc(WIMS_STREAM_READ_BUF)))) {
		read_buf_busy = true;
		buf->base = read_buf;
	} else {
		buf->base = malloc(WIMS_STREAM_READ_BUF);
	}
	buf->len = buf->base ? WIMS_STREAM_READ_BUF : 0;
}

static void read_buf_release(char *base)
{
	if (base && base == read_buf)
		read_buf_busy = false;
	else
		free(base);
}

static bool can_deliver(const struct wims_stream *s)
{
	return !s->uv_closing && !s->closing;
}

/* Decrypt and deliver what the read BIO holds, while the user wants it. */
static void tls_drain(struct wims_stream *s)
{
	char plain[16384];

	if (!tls_handshake(s))
		return;
	while (can_deliver(s) && !s->paused) {
		int n = SSL_read(s->ssl, plain, sizeof(plain));
		if (n > 0) {
			if (s->h.data)
				s->h.data(s, plain, (size_t)n, s->h.arg);
			continue;
		}
		int e = SSL_get_error(s->ssl, n);
		tls_flush(s); /* TLS 1.3 key updates, alerts */
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			break;
		if (e == SSL_ERROR_ZERO_RETURN) { /* close_notify from the peer */
			stream_shutdown(s, 0);
		} else {
			log_ssl(s, "read", n);
			stream_shutdown(s, -EPROTO);
		}
		break;
	}
}

static void tls_input(struct wims_stream *s, const char *data, size_t len)
{
	if (BIO_write(s->rbio, data, (int)len) != (int)len) {
		close_handles(s, -ENOMEM);
		return;
	}
	tls_drain(s);
	if (s->ssl && s->rbio)
		bio_shrink(s, true);
}

/* Resuming a paused TLS stream: records already read wait in the BIOs. */
static void on_drain(uv_timer_t *t)
{
	struct wims_stream *s = t->data;

	if (can_deliver(s) && !s->paused)
		tls_drain(s);
}

static void read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	struct wims_stream *s = st->data;

	if (nread > 0 && can_deliver(s)) {
		if (s->ssl)
			tls_input(s, buf->base, (size_t)nread);
		else if (s->h.data)
			s->h.data(s, buf->base, (size_t)nread, s->h.arg);
	} else if (nread == UV_EOF) {
		s->peer_eof = true;
		stop_read(s);
		if (s->shut_done)
			close_handles(s, 0);
		else
			stream_shutdown(s, 0);
	} else if (nread < 0) {
		close_handles(s, s->shut_done ? 0 : (int)nread);
	} else if (nread > 0 && s->shut_done && !unread_bytes(s)) {
		close_handles(s, 0); /* closing: drained, nothing left to cause a RST */
	}
	read_buf_release(buf->base);
}

static void start_read(struct wims_stream *s)
{
	if (s->reading || s->uv_closing || s->connecting || s->peer_eof || (s->paused && !s->closing))
		return;
	int r = uv_read_start((uv_stream_t *)&s->tcp, alloc_cb, read_cb);
	if (r < 0)
		close_handles(s, r);
	else
		s->reading = true;
}

static void stop_read(struct wims_stream *s)
{
	if (!s->reading)
		return;
	uv_read_stop((uv_stream_t *)&s->tcp);
	s->reading = false;
}

void wims_stream_read_pause(struct wims_stream *s, int paused)
{
	s->paused = paused != 0;
	if (s->paused) {
		stop_read(s);
		return;
	}
	start_read(s);
	/* not from here: the caller may be inside its own data handler */
	if (s->ssl && can_deliver(s) && SSL_is_init_finished(s->ssl) &&
	    (BIO_ctrl_pending(s->rbio) > 0 || SSL_has_pending(s->ssl)))
		uv_timer_start(&s->timer, on_drain, 0, 0);
}

/* ---- closing ---- */

static void on_shutdown(uv_shutdown_t *req, int status)
{
	struct wims_stream *s = req->data;

	if (status < 0) {
		close_handles(s, 0); /* EPIPE and the like: the peer is gone too */
		return;
	}
	s->shut_done = true;
	if (s->peer_eof || !unread_bytes(s))
		close_handles(s, 0);
}

static void on_close_timeout(uv_timer_t *t)
{
	struct wims_stream *s = t->data;

	/* everything was sent; only the peer's FIN is missing */
	close_handles(s, s->shut_done ? 0 : -ETIMEDOUT);
}

/* Orderly close: flush, close_notify, FIN, then close.  Meanwhile what
 * arrives is read and dropped, and the socket is closed only when nothing
 * unread is left in it (or the peer's FIN came): closing a socket over
 * unread bytes makes the kernel send a RST, and a RST can destroy the last
 * response still in the peer's receive buffer (lingering close, as nginx
 * and Apache do).  The close timer bounds the wait.  err is what the close
 * handler will be told. */
static void stream_shutdown(struct wims_stream *s, int err)
{
	if (s->uv_closing || s->closing)
		return;
	s->closing = true;
	s->close_err = err;
	start_read(s); /* even when paused: drain */
	if (s->connecting || !uv_is_writable((uv_stream_t *)&s->tcp)) {
		close_handles(s, err);
		return;
	}
	if (s->ssl && SSL_is_init_finished(s->ssl)) {
		(void)SSL_shutdown(s->ssl);
		ERR_clear_error();
		tls_flush(s);
		if (s->uv_closing)
			return;
	}
	if (uv_shutdown(&s->shutdown_req, (uv_stream_t *)&s->tcp, on_shutdown) < 0) {
		close_handles(s, err);
		return;
	}
	uv_timer_start(&s->timer, on_close_timeout, WIMS_STREAM_CLOSE_TIMEOUT_MS, 0);
}

void wims_stream_close(struct wims_stream *s)
{
	stream_shutdown(s, 0);
}

void wims_stream_abort(struct wims_stream *s)
{
	stop_read(s);
	close_handles(s, -ECONNABORTED);
}

/* ---- connecting ---- */

static void on_connect(uv_connect_t *req, int status)
{
	struct wims_stream *s = req->data;

	s->connecting = false;
	if (status == UV_ECANCELED || s->uv_closing)
		return;
	if (status < 0) {
		close_handles(s, status);
		return;
	}
	fill_addrs(s);
	if (s->closing) { /* closed while connecting */
		close_handles(s, s->close_err);
		return;
	}
	start_read(s);
	if (s->ssl)
		tls_handshake(s);
	else
		became_open(s);
}

int wims_stream_connect(struct wims_stream **sp, uv_loop_t *loop, const struct wims_addr *addr, SSL_CTX *tls,
			const char *sni, const struct wims_stream_handlers *h)
{
	struct wims_stream *s = stream_new(loop);
	int r;

	if (!s)
		return -ENOMEM;
	if (h)
		s->h = *h;
	s->peer = *addr;
	(void)uv_tcp_nodelay(&s->tcp, 1);
	if (tls && (r = stream_tls_init(s, tls, false, sni)) < 0)
		goto fail;
	r = uv_tcp_connect(&s->connect_req, &s->tcp, &addr->u.sa, on_connect);
	if (r < 0)
		goto fail;
	s->connecting = true;
	*sp = s;
	return 0;
fail:
	memset(&s->h, 0, sizeof(s->h)); /* no close callback for a failed start */
	close_handles(s, r);
	return r;
}

void wims_stream_set_handlers(struct wims_stream *s, const struct wims_stream_handlers *h)
{
	s->h = *h;
}

/* ---- listening ---- */

static void on_connection(uv_stream_t *server, int status)
{
	struct wims_stream_listener *l = server->data;

	if (status < 0) {
		wims_log(WIMS_LOG_WARN, "accept: %s", uv_strerror(status));
		return;
	}
	struct wims_stream *s = stream_new(l->loop);
	if (!s)
		return;
	if (uv_accept(server, (uv_stream_t *)&s->tcp) < 0 ||
	    (l->tls && stream_tls_init(s, l->tls, true, NULL) < 0)) {
		close_handles(s, -ENOMEM);
		return;
	}
	(void)uv_tcp_nodelay(&s->tcp, 1);
	fill_addrs(s);
	s->open = !l->tls; /* plain TCP: writable from the accept handler on */
	if (l->accept_h(l, s, l->arg) != 0) {
		memset(&s->h, 0, sizeof(s->h));
		close_handles(s, -ECONNREFUSED);
		return;
	}
	if (s->uv_closing)
		return;
	start_read(s);
	if (!l->tls && !s->closing && s->h.open)
		s->h.open(s, s->h.arg);
}

int wims_stream_listen(struct wims_stream_listener **lp, uv_loop_t *loop, const struct wims_addr *addr,
		       SSL_CTX *tls, wims_stream_accept_h *accept_h, void *arg)
{
	struct wims_stream_listener *l = calloc(1, sizeof(*l));
	int r;

	if (!l)
		return -ENOMEM;
	l->loop = loop;
	l->tls = tls;
	l->accept_h = accept_h;
	l->arg = arg;
	r = uv_tcp_init_ex(loop, &l->tcp, addr->u.sa.sa_family);
	if (r < 0) {
		free(l);
		return r;
	}
	l->tcp.data = l;
	r = uv_tcp_bind(&l->tcp, &addr->u.sa, 0);
	if (r == 0)
		r = uv_listen((uv_stream_t *)&l->tcp, WIMS_STREAM_BACKLOG, on_connection);
	if (r < 0) {
		wims_stream_listener_close(l);
		return r;
	}
	*lp = l;
	return 0;
}

static void on_listener_close(uv_handle_t *hd)
{
	free(hd->data);
}

void wims_stream_listener_close(struct wims_stream_listener *l)
{
	if (l)
		uv_close((uv_handle_t *)&l->tcp, on_listener_close);
}

int wims_stream_listener_addr(const struct wims_stream_listener *l, struct wims_addr *out)
{
	struct sockaddr_storage ss;
	int n = sizeof(ss);
	int r = uv_tcp_getsockname(&l->tcp, (struct sockaddr *)&ss, &n);

	if (r < 0)
		return r;
	return wims_addr_from_sa(out, (struct sockaddr *)&ss);
}

/* ---- accessors ---- */

const struct wims_addr *wims_stream_peer(const struct wims_stream *s)
{
	return &s->peer;
}

const struct wims_addr *wims_stream_local(const struct wims_stream *s)
{
	return &s->local;
}

int wims_stream_is_tls(const struct wims_stream *s)
{
	return s->ssl != NULL;
}
