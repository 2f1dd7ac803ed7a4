/* SIP over UDP: one socket per tport, one receive buffer owned by the tport
 * (a batch of datagrams is handled before the next is read), and a
 * pseudo-flow on the stack for every datagram received.
 *
 * STUN keep-alives (RFC 5626 §4.4.2) share the port; they are told apart by
 * their first two bits (RFC 7983) and a Binding request is answered:
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |0 0|     STUN Message Type     |         Message Length        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                  Magic Cookie (0x2112A442)                    |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                Transaction ID (96 bits) ...                   |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |   attributes (type 16, length 16, value padded to 4 bytes) ...
 */
#include <errno.h>
#include <stdint.h>
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

#define STUN_HDR 20
#define STUN_BINDING_REQUEST 0x0001
#define STUN_BINDING_SUCCESS 0x0101
#define STUN_XOR_MAPPED_ADDRESS 0x0020

/* RFC 5389 §7.3.1, §15.2: answer a Binding request with the address it came
 * from, XOR-ed with the cookie (and the transaction id for IPv6).  Anything
 * else starting with 0b00 is dropped. */
static void stun_input(struct wims_sip_tport *tp, const uint8_t *p, size_t n, const struct wims_addr *peer)
{
	static const uint8_t cookie[4] = {0x21, 0x12, 0xa4, 0x42};
	uint8_t out[STUN_HDR + 24];
	size_t al;

	if (n < STUN_HDR || ((size_t)p[2] << 8 | p[3]) + STUN_HDR != n || (p[3] & 3) ||
	    ((unsigned)p[0] << 8 | p[1]) != STUN_BINDING_REQUEST || memcmp(p + 4, cookie, 4) != 0)
		return;
	memcpy(out + 4, p + 4, 16); /* cookie and transaction id */
	uint8_t *a = out + STUN_HDR;
	uint16_t xport = wims_addr_port(peer) ^ 0x2112;
	a[0] = 0;
	a[1] = STUN_XOR_MAPPED_ADDRESS;
	a[4] = 0;
	a[6] = (uint8_t)(xport >> 8);
	a[7] = (uint8_t)xport;
	if (peer->u.sa.sa_family == AF_INET) {
		const uint8_t *ip = (const uint8_t *)&peer->u.in.sin_addr;
		for (int i = 0; i < 4; i++)
			a[8 + i] = ip[i] ^ out[4 + i];
		a[5] = 0x01;
		al = 12;
	} else {
		const uint8_t *ip = (const uint8_t *)&peer->u.in6.sin6_addr;
		for (int i = 0; i < 16; i++)
			a[8 + i] = ip[i] ^ out[4 + i];
		a[5] = 0x02;
		al = 24;
	}
	a[2] = 0;
	a[3] = (uint8_t)(al - 4);
	out[0] = STUN_BINDING_SUCCESS >> 8;
	out[1] = STUN_BINDING_SUCCESS & 0xff;
	out[2] = 0;
	out[3] = (uint8_t)al;
	if (wims_sip__udp_send(tp, peer, (const char *)out, STUN_HDR + al) < 0)
		wims_log_rl(&udp_rl, WIMS_LOG_WARN, "SIP UDP: cannot answer a STUN keep-alive");
}

static void udp_recv(uv_udp_t *u, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
		     unsigned flags)
{
	struct wims_sip_tport *tp = u->data;
	struct wims_sip_flow pf;
	struct wims_addr from;
	char peer[WIMS_ADDR_STRLEN] = "?";

	if (nread < 0) {
		wims_log_rl(&udp_rl, WIMS_LOG_WARN, "SIP UDP receive: %s", uv_strerror((int)nread));
		return;
	}
	if (nread == 0 || !addr || only_blank(buf->base, (size_t)nread))
		return;
	memset(&pf, 0, sizeof(pf));
	if (wims_addr_from_sa(&from, addr) < 0)
		return;
	wims_sip__addr_norm(&pf.peer, &from);
	if (flags & UV_UDP_PARTIAL) {
		(void)wims_addr_str(&pf.peer, peer, sizeof(peer));
		wims_log_rl(&udp_rl, WIMS_LOG_NOTICE, "SIP UDP from %s: datagram truncated, dropped", peer);
		return;
	}
	/* RFC 5626 §4.4.2 STUN keep-alives start with two zero bits; SIP never does. */
	if ((unsigned char)buf->base[0] < 0x04) {
		stun_input(tp, (const uint8_t *)buf->base, (size_t)nread, &pf.peer);
		return;
	}
	pf.tp = tp;
	pf.kind = FLOW_UDP;
	pf.proto = WIMS_SIP_UDP;
	pf.alive = true;
	pf.local = tp->udp_local;
	wims_sip__deliver(&pf, buf->base, (size_t)nread);
}

void wims_sip_tport_udp_inject(struct wims_sip_tport *tp, const struct wims_addr *peer, const char *buf,
			       size_t len)
{
	struct wims_sip_flow pf;

	memset(&pf, 0, sizeof(pf));
	pf.peer = *peer;
	pf.tp = tp;
	pf.kind = FLOW_UDP;
	pf.proto = WIMS_SIP_UDP;
	pf.alive = true;
	pf.local = tp->udp_local;
	wims_sip__deliver(&pf, buf, len);
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
	/* recvmmsg: one system call for up to WIMS_SIP__UDP_SLOTS datagrams;
	 * each still comes to udp_recv alone (UV_UDP_MMSG_CHUNK), then one
	 * empty call ends the batch (nothing to free: the buffer is ours). */
	r = uv_udp_init_ex(tp->loop, &tp->udp, a->u.sa.sa_family | UV_UDP_RECVMMSG);
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

/* An IPv6 socket (dual-stack, e.g. bound to [::]) reaches IPv4 peers
 * through their IPv4-mapped address. */
static const struct wims_addr *udp_dst(const struct wims_sip_tport *tp, const struct wims_addr *dst,
				       struct wims_addr *mapped)
{
	if (tp->udp_local.u.sa.sa_family != AF_INET6 || dst->u.sa.sa_family != AF_INET)
		return dst;
	memset(mapped, 0, sizeof(*mapped));
	mapped->u.in6.sin6_family = AF_INET6;
	mapped->u.in6.sin6_port = dst->u.in.sin_port;
	mapped->u.in6.sin6_addr.s6_addr[10] = 0xff;
	mapped->u.in6.sin6_addr.s6_addr[11] = 0xff;
	memcpy(&mapped->u.in6.sin6_addr.s6_addr[12], &dst->u.in.sin_addr, 4);
	return mapped;
}

int wims_sip__udp_send(struct wims_sip_tport *tp, const struct wims_addr *dst, const char *buf, size_t len)
{
	uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
	struct wims_addr mapped;
	int r;

	if (!tp->udp_on)
		return -ENOTSUP;
	dst = udp_dst(tp, dst, &mapped);
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
