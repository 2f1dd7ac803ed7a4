/* The ng client: drives a remote AGW (a stock rtpengine, or another wimsd)
 * over UDP.  Each request gets a random cookie and is resent after 500 ms,
 * 1 s and 2 s (the server answers a resend from its reply cache) until a
 * reply with its cookie arrives or the timeout passes. */
#include "mediactl/ng.h"

#include <errno.h>
#include <stdlib.h>

#include "base/log.h"

#define NG_COOKIE_LEN 16
#define NG_DEFAULT_TIMEOUT_MS 5000

struct ng_pending {
	struct ng_pending *prev, *next;
	struct wims_ng_client *c;
	uv_timer_t timer;
	char cookie[NG_COOKIE_LEN];
	char *dgram;
	size_t len;
	uint64_t deadline;
	unsigned tries;
	wims_ng_reply_h *cb;
	void *arg;
};

struct wims_ng_client {
	uv_udp_t udp;
	struct wims_addr remote;
	struct ng_pending *pending;
	struct wims_ratelimit rl;
	char rbuf[WIMS_NG_MAX_DGRAM + 1];
	struct wims_bc_node nodes[WIMS_NG_MAX_NODES];
};

static void pending_closed(uv_handle_t *h)
{
	struct ng_pending *p = h->data;

	free(p->dgram);
	free(p);
}

/* Unlink, stop, call back once, free (in the timer's close callback). */
static void pending_done(struct ng_pending *p, int err, const struct wims_ng_reply *rep)
{
	struct wims_ng_client *c = p->c;

	if (p->prev)
		p->prev->next = p->next;
	else
		c->pending = p->next;
	if (p->next)
		p->next->prev = p->prev;
	uv_timer_stop(&p->timer);
	uv_close((uv_handle_t *)&p->timer, pending_closed);
	p->cb(err, rep, p->arg);
}

static void transmit(struct ng_pending *p)
{
	uv_buf_t b = uv_buf_init(p->dgram, (unsigned)p->len);
	int rc = uv_udp_try_send(&p->c->udp, &b, 1, &p->c->remote.u.sa);

	if (rc < 0)
		wims_log_rl(&p->c->rl, WIMS_LOG_WARN, "ng client: send failed: %s", uv_strerror(rc));
	p->tries++;
}

static void on_timer(uv_timer_t *t);

static void arm(struct ng_pending *p)
{
	static const unsigned backoff[] = {500, 1000, 2000};
	uint64_t now = uv_now(p->timer.loop);
	uint64_t wait = p->tries <= 3 ? backoff[p->tries - 1] : 2000;

	if (now + wait > p->deadline || p->tries > 3)
		wait = p->deadline > now ? p->deadline - now : 0;
	uv_timer_start(&p->timer, on_timer, wait, 0);
}

static void on_timer(uv_timer_t *t)
{
	struct ng_pending *p = t->data;

	if (uv_now(t->loop) >= p->deadline) {
		pending_done(p, -ETIMEDOUT, NULL);
		return;
	}
	transmit(p);
	arm(p);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct wims_ng_client *c = h->data;

	buf->base = c->rbuf;
	buf->len = sizeof(c->rbuf);
}

static int parse_reply(struct wims_ng_client *c, struct wims_str body, struct wims_ng_reply *rep)
{
	struct wims_bc_doc doc;
	const struct wims_bc_node *v;
	size_t used;

	memset(rep, 0, sizeof(*rep));
	if (wims_bc_parse(&doc, c->nodes, WIMS_NG_MAX_NODES, body, &used) != 0 || c->nodes[0].type != WIMS_BC_DICT)
		return -EBADMSG;
	rep->raw = c->nodes[0].s;
	if ((v = wims_bc_dict_get(&doc, &c->nodes[0], "result")) && v->type == WIMS_BC_STR)
		rep->result = v->s;
	if ((v = wims_bc_dict_get(&doc, &c->nodes[0], "error-reason")) && v->type == WIMS_BC_STR)
		rep->error_reason = v->s;
	if ((v = wims_bc_dict_get(&doc, &c->nodes[0], "warning")) && v->type == WIMS_BC_STR)
		rep->warning = v->s;
	if ((v = wims_bc_dict_get(&doc, &c->nodes[0], "sdp")) && v->type == WIMS_BC_STR)
		rep->sdp = v->s;
	return wims_str_isset(rep->result) ? 0 : -EBADMSG;
}

static void on_recv(uv_udp_t *u, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *from, unsigned flags)
{
	struct wims_ng_client *c = u->data;
	struct wims_str cookie, body;
	struct wims_ng_reply rep;
	struct ng_pending *p;

	if (nread <= 0 || (flags & UV_UDP_PARTIAL))
		return;
	if (wims_ng_split(wims_str_make(buf->base, (size_t)nread), &cookie, &body) != 0)
		return;
	for (p = c->pending; p; p = p->next)
		if (cookie.l == NG_COOKIE_LEN && memcmp(cookie.p, p->cookie, NG_COOKIE_LEN) == 0)
			break;
	if (!p)
		return; /* a late answer to a resend */
	if (parse_reply(c, body, &rep) != 0)
		pending_done(p, -EBADMSG, NULL);
	else
		pending_done(p, 0, &rep);
}

static void client_closed(uv_handle_t *h)
{
	free(h->data);
}

int wims_ng_client_new(struct wims_ng_client **cp, uv_loop_t *loop, const struct wims_addr *remote)
{
	struct wims_ng_client *c = calloc(1, sizeof(*c));
	struct wims_addr any;
	int rc;

	if (!c)
		return -ENOMEM;
	c->remote = *remote;
	c->rl = (struct wims_ratelimit)WIMS_RATELIMIT_INIT(10000, 5);
	rc = uv_udp_init(loop, &c->udp);
	if (rc) {
		free(c);
		return rc;
	}
	c->udp.data = c;
	/* an ephemeral port of the remote's family, on any address -- on the
	 * loopback address when the AGW is there (nothing listens wider than
	 * it needs to) */
	memset(&any, 0, sizeof(any));
	any.u.sa.sa_family = remote->u.sa.sa_family;
	if (remote->u.sa.sa_family == AF_INET &&
	    (ntohl(remote->u.in.sin_addr.s_addr) >> 24) == 127)
		any.u.in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else if (remote->u.sa.sa_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&remote->u.in6.sin6_addr))
		any.u.in6.sin6_addr = in6addr_loopback;
	rc = uv_udp_bind(&c->udp, &any.u.sa, 0);
	if (!rc)
		rc = uv_udp_recv_start(&c->udp, on_alloc, on_recv);
	if (rc) {
		uv_close((uv_handle_t *)&c->udp, client_closed);
		return rc;
	}
	*cp = c;
	return 0;
}

static void make_cookie(char *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char rnd[NG_COOKIE_LEN / 2];

	if (uv_random(NULL, NULL, rnd, sizeof(rnd), 0, NULL) != 0) {
		uint64_t t = uv_hrtime();
		memcpy(rnd, &t, sizeof(rnd));
	}
	for (size_t i = 0; i < sizeof(rnd); i++) {
		out[2 * i] = hex[rnd[i] >> 4];
		out[2 * i + 1] = hex[rnd[i] & 15];
	}
}

static int send_body(struct wims_ng_client *c, const struct wims_mctl_req *rq, struct wims_str raw,
		     unsigned timeout_ms, wims_ng_reply_h *cb, void *arg)
{
	struct ng_pending *p = calloc(1, sizeof(*p));
	struct wims_wbuf b;

	if (!p || !(p->dgram = malloc(WIMS_NG_MAX_DGRAM))) {
		free(p);
		return -ENOMEM;
	}
	make_cookie(p->cookie);
	wims_wbuf_init(&b, p->dgram, WIMS_NG_MAX_DGRAM);
	wims_wbuf_put(&b, p->cookie, NG_COOKIE_LEN);
	wims_wbuf_put(&b, " ", 1);
	if (rq)
		wims_ng_encode_req(&b, rq);
	else
		wims_wbuf_putstr(&b, raw);
	if (b.err) {
		free(p->dgram);
		free(p);
		return -EMSGSIZE;
	}
	p->len = b.len;
	p->c = c;
	p->cb = cb;
	p->arg = arg;
	uv_timer_init(c->udp.loop, &p->timer);
	p->timer.data = p;
	p->deadline = uv_now(c->udp.loop) + (timeout_ms ? timeout_ms : NG_DEFAULT_TIMEOUT_MS);
	p->next = c->pending;
	if (c->pending)
		c->pending->prev = p;
	c->pending = p;
	transmit(p);
	arm(p);
	return 0;
}

int wims_ng_client_send(struct wims_ng_client *c, const struct wims_mctl_req *rq, unsigned timeout_ms,
			wims_ng_reply_h *cb, void *arg)
{
	return send_body(c, rq, WIMS_STR_NULL, timeout_ms, cb, arg);
}

int wims_ng_client_send_raw(struct wims_ng_client *c, struct wims_str body, unsigned timeout_ms,
			    wims_ng_reply_h *cb, void *arg)
{
	return send_body(c, NULL, body, timeout_ms, cb, arg);
}

void wims_ng_client_free(struct wims_ng_client *c)
{
	if (!c)
		return;
	while (c->pending)
		pending_done(c->pending, -ECANCELED, NULL);
	uv_udp_recv_stop(&c->udp);
	uv_close((uv_handle_t *)&c->udp, client_closed);
}
