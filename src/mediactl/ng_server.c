/* The ng server: one UDP socket on the signalling loop, every datagram
 * handled to completion (wims_ng_handle) and answered at once with
 * uv_udp_try_send; replies are cached for retransmissions (ng_cache.c). */
#include "mediactl/ng.h"

#include <errno.h>
#include <stdlib.h>

#include "base/log.h"

/* the largest UDP payload over IPv4 (65535 - 20 - 8): a bigger reply would
 * fail to send, so it becomes a "Reply too large" error instead */
#define NG_MAX_REPLY 65507

struct wims_ng_server {
	uv_udp_t udp;
	struct wims_mediactl *mc;
	struct wims_ng__cache *cache;
	struct wims_ng_stats st;
	struct wims_ratelimit rl;
	char rbuf[WIMS_NG_MAX_DGRAM + 1];
	char reply[WIMS_NG_MAX_DGRAM];
	struct wims_ng_scratch scratch;
};

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct wims_ng_server *s = h->data;

	/* one datagram at a time: the socket is not opened with recvmmsg */
	buf->base = s->rbuf;
	buf->len = sizeof(s->rbuf);
}

static void send_reply(struct wims_ng_server *s, const struct sockaddr *to, struct wims_str reply)
{
	uv_buf_t b = uv_buf_init((char *)reply.p, (unsigned)reply.l);
	int rc = uv_udp_try_send(&s->udp, &b, 1, to);

	if (rc < 0) {
		s->st.send_failures++;
		wims_log_rl(&s->rl, WIMS_LOG_WARN, "ng: reply not sent: %s", uv_strerror(rc));
		return;
	}
	s->st.replied++;
}

static void on_recv(uv_udp_t *u, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *from, unsigned flags)
{
	struct wims_ng_server *s = u->data;
	struct wims_str dgram, cookie, body, cached;
	struct wims_addr fa;
	struct wims_wbuf out;
	uint64_t now = uv_now(u->loop);
	bool is_error;

	if (nread <= 0 || !from)
		return;
	s->st.received++;
	dgram = wims_str_make(buf->base, (size_t)nread);
	if ((flags & UV_UDP_PARTIAL) || (size_t)nread > WIMS_NG_MAX_DGRAM || wims_addr_from_sa(&fa, from) != 0 ||
	    wims_ng_split(dgram, &cookie, &body) != 0) {
		s->st.bad++;
		wims_log_rl(&s->rl, WIMS_LOG_WARN, "ng: dropped a %zd-byte datagram without a cookie", nread);
		return;
	}
	cached = wims_ng__cache_get(s->cache, &fa, cookie, now);
	if (wims_str_isset(cached)) {
		s->st.retransmits++;
		send_reply(s, from, cached);
		return;
	}
	wims_wbuf_init(&out, s->reply, NG_MAX_REPLY);
	if (wims_ng_handle(s->mc, dgram, &out, &s->scratch, &is_error) != 0) {
		s->st.bad++;
		return;
	}
	if (is_error) {
		s->st.errors++;
		wims_log_rl(&s->rl, WIMS_LOG_NOTICE, "ng: error reply: %.*s", (int)(out.len < 200 ? out.len : 200),
			    out.p);
	}
	wims_ng__cache_put(s->cache, &fa, cookie, wims_wbuf_str(&out), now);
	send_reply(s, from, wims_wbuf_str(&out));
}

static void on_close(uv_handle_t *h)
{
	struct wims_ng_server *s = h->data;

	wims_ng__cache_free(s->cache);
	free(s);
}

int wims_ng_server_start(struct wims_ng_server **sp, uv_loop_t *loop, const struct wims_addr *listen,
			 struct wims_mediactl *mc)
{
	struct wims_ng_server *s = calloc(1, sizeof(*s));
	int rc;

	if (!s)
		return -ENOMEM;
	s->mc = mc;
	s->rl = (struct wims_ratelimit)WIMS_RATELIMIT_INIT(10000, 5);
	rc = wims_ng__cache_new(&s->cache, WIMS_NG_CACHE_SIZE, WIMS_NG_CACHE_TTL_MS);
	if (rc) {
		free(s);
		return rc;
	}
	rc = uv_udp_init(loop, &s->udp);
	if (rc) {
		wims_ng__cache_free(s->cache);
		free(s);
		return rc;
	}
	s->udp.data = s;
	rc = uv_udp_bind(&s->udp, &listen->u.sa, 0);
	if (!rc)
		rc = uv_udp_recv_start(&s->udp, on_alloc, on_recv);
	if (rc) {
		uv_close((uv_handle_t *)&s->udp, on_close);
		return rc;
	}
	*sp = s;
	return 0;
}

void wims_ng_server_stop(struct wims_ng_server *s)
{
	if (!s)
		return;
	uv_udp_recv_stop(&s->udp);
	uv_close((uv_handle_t *)&s->udp, on_close);
}

void wims_ng_server_stats(const struct wims_ng_server *s, struct wims_ng_stats *out)
{
	*out = s->st;
}

int wims_ng_server_addr(const struct wims_ng_server *s, struct wims_addr *out)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	int rc = uv_udp_getsockname(&s->udp, (struct sockaddr *)&ss, &len);

	return rc ? rc : wims_addr_from_sa(out, (struct sockaddr *)&ss);
}
