/* SIP over UDP: one socket per tport, one receive buffer owned by the tport
 * (a datagram is handled before the next is read), and a pseudo-flow on the
 * stack for every datagram received. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sip/tp_int.h"

static struct wims_ratelimit udp_rl = WIMS_RATELIMIT_INIT(10000, 10);

struct udp_req {
	uv_udp_send_t req;
	char data[];
};

static void udp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct wims_sip_tport *tp = h->data;

	(void)suggested;
	buf->base = tp->udp_buf;
	buf->len = WIMS_SIP__UDP_BUF;
}

/* CRLF keep-alives some UAs send over UDP too, and the NULs of broken ones. */
static bool only_blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != '\r' && p[i] != '\n' && p[i] != '\0' && p[i] != ' ')
			return false;
	return true;
}

static void udp_recv(uv_udp_t *u, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr, unsigned flags)
{
	struct wims_sip_tport *tp = u->data;
	struct wims_sip_flow pf;
	char peer[WIMS_ADDR_STRLEN] = "?";

	if (nread < 0) {
		wims_log_rl(&udp_rl, WIMS_LOG_WARN, "SIP UDP receive: %s", uv_strerror((int)nread));
		return;
	}
	if (nread == 0 || !addr || only_blank(buf->base, (size_t)nread))
		return;
	memset(&pf, 0, sizeof(pf));
	if (wims_addr_from_sa(&pf.peer, addr) < 0)
		return;
	if (flags & UV_UDP_PARTIAL) {
		(void)wims_addr_str(&pf.peer, peer, sizeof(peer));
		wims_log_rl(&udp_rl, WIMS_LOG_NOTICE, "SIP UDP from %s: datagram truncated, dropped", peer);
		return;
	}
	/* RFC 5626 §4.4.2 STUN keep-alives start with two zero bits; SIP never does. */
	if ((unsigned char)buf->base[0] < 0x04)
		return;
	pf.tp = tp;
	pf.kind = FLOW_UDP;
	pf.proto = WIMS_SIP_UDP;
	pf.alive = true;
	pf.local = tp->udp_local;
	wims_sip__deliver(&pf, buf->base, (size_t)nread);
}

static void on_udp_close(uv_handle_t *h)
{
	wims_sip__tport_deref(h->data);
}

int wims_sip__udp_open(struct wims_sip_tport *tp, const struct wims_addr *a)
{
	struct sockaddr_storage ss;
	int n = sizeof(ss);
	int r;

	tp->udp_buf = malloc(WIMS_SIP__UDP_BUF);
	if (!tp->udp_buf)
		return -ENOMEM;
	r = uv_udp_init_ex(tp->loop, &tp->udp, a->u.sa.sa_family);
	if (r < 0)
		return r;
	tp->udp.data = tp;
	tp->udp_on = true;
	tp->refs++;
	r = uv_udp_bind(&tp->udp, &a->u.sa, 0);
	if (r == 0)
		r = uv_udp_getsockname(&tp->udp, (struct sockaddr *)&ss, &n);
	if (r == 0)
		r = wims_addr_from_sa(&tp->udp_local, (struct sockaddr *)&ss);
	if (r == 0) {
		int sz = 1 << 20; /* absorb bursts (REGISTER storms after a restart) */
		(void)uv_recv_buffer_size((uv_handle_t *)&tp->udp, &sz);
		r = uv_udp_recv_start(&tp->udp, udp_alloc, udp_recv);
	}
	return r;
}

void wims_sip__udp_close(struct wims_sip_tport *tp)
{
	if (!tp->udp_on)
		return;
	tp->udp_on = false;
	uv_close((uv_handle_t *)&tp->udp, on_udp_close);
}

static void on_udp_sent(uv_udp_send_t *req, int status)
{
	if (status < 0 && status != UV_ECANCELED)
		wims_log_rl(&udp_rl, WIMS_LOG_WARN, "SIP UDP send: %s", uv_strerror(status));
	free(req); /* the first member of struct udp_req */
}

int wims_sip__udp_send(struct wims_sip_tport *tp, const struct wims_addr *dst, const char *buf, size_t len)
{
	uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
	int r;

	if (!tp->udp_on)
		return -ENOTSUP;
	r = uv_udp_try_send(&tp->udp, &b, 1, &dst->u.sa);
	if (r >= 0)
		return 0;
	if (r != UV_EAGAIN)
		return r;
	/* the socket buffer is full: queue a copy */
	struct udp_req *q = malloc(sizeof(*q) + len);
	if (!q)
		return -ENOMEM;
	memcpy(q->data, buf, len);
	b = uv_buf_init(q->data, (unsigned)len);
	r = uv_udp_send(&q->req, &tp->udp, &b, 1, &dst->u.sa, on_udp_sent);
	if (r < 0)
		free(q);
	return r;
}
