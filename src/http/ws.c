/* The WebSocket server: accept, opening handshake, frames, keep-alive,
 * close handshake, limits.
 *
 * A connection goes HANDSHAKE → OPEN → CLOSING (our Close sent, waiting for
 * the peer's) → DONE (TCP closing).  Plain HTTP requests go HANDSHAKE → DONE.
 *
 * Memory: an idle open connection holds its struct (with the frame parser's
 * ~200 bytes), the stream and one timer; the request head buffer exists only
 * while a head arrives in pieces, and the message buffer only while a message
 * arrives in more than one piece.
 *
 * References: the stream holds one on the connection until its close
 * callback, the timer one until its close callback; each connection holds one
 * on the server.
 */
#include "http/ws.h"

#include <errno.h>
#include <stdlib.h>

#include "base/hash.h"
#include "base/log.h"
#include "base/stream.h"
#include "http/http.h"
#include "http/http_int.h"

enum conn_state { ST_HANDSHAKE, ST_OPEN, ST_CLOSING, ST_DONE };

struct ip_count {
	struct wims_hnode hn;
	struct wims_addr host;
	unsigned n;
};

struct wims_ws_server {
	unsigned refs;
	uv_loop_t *loop;
	struct wims_stream_listener *lst;
	struct wims_ws_config cfg; /* strings point at the copies below */
	struct wims_ws_handlers h;
	char *origins, *ws_path, *web_root;
	struct wims_ws_conn *conns; /* doubly linked through next/prev */
	struct wims_hash per_ip;
	struct wims_ws_counters ctr;
	bool shutting_down;
};

struct wims_ws_conn {
	unsigned refs;
	enum conn_state state;
	enum wims_ws_end why; /* set when the end is decided; DROPPED by default */
	bool opened;	      /* open_h was called, so close_h is owed */
	bool ping_out;	      /* a Ping is unanswered */
	uint16_t code;	      /* close code sent or received */
	struct wims_ws_server *srv;
	struct wims_stream *st;
	struct wims_ws_conn *next, *prev;
	struct ip_count *ip;
	void *user;
	uint64_t last_rx;   /* uv_now() of the last bytes from the peer */
	uint64_t ping_sent; /* uv_now() when the unanswered Ping went out (valid with ping_out) */
	uv_timer_t timer;
	char *head; /* a request head that came in pieces */
	size_t head_len;
	uint8_t *msg; /* a message that came in pieces */
	size_t msg_len, msg_cap;
	struct wims_ws_parser parser;
};

static struct wims_ratelimit refuse_rl = WIMS_RATELIMIT_INIT(10000, 10);
static struct wims_ratelimit close_rl = WIMS_RATELIMIT_INIT(10000, 10);
static struct wims_ratelimit end_rl = WIMS_RATELIMIT_INIT(10000, 20);

static void conn_arm_timer(struct wims_ws_conn *c);
static void conn_fail(struct wims_ws_conn *c, uint16_t code, const char *why);

static const char *peer_str(const struct wims_ws_conn *c, char buf[WIMS_ADDR_STRLEN])
{
	if (wims_addr_str(wims_stream_peer(c->st), buf, WIMS_ADDR_STRLEN) < 0)
		return "?";
	return buf;
}

const char *wims_ws_end_name(enum wims_ws_end e)
{
	static const char *const names[WIMS_WS_END_MAX_] = {
	    "peer_close", "local_close",       "close_timeout",	    "protocol", "idle",
	    "dropped",	  "handshake_timeout", "handshake_refused", "http",	"pong_timeout",
	};
	return (unsigned)e < WIMS_WS_END_MAX_ ? names[e] : "?";
}

/* ---- references ---- */

static void server_free(struct wims_ws_server *s)
{
	if (s->lst)
		wims_stream_listener_close(s->lst);
	wims_hash_fini(&s->per_ip);
	free(s->origins);
	free(s->ws_path);
	free(s->web_root);
	free(s);
}

void wims_ws_server_ref(struct wims_ws_server *s)
{
	s->refs++;
}

void wims_ws_server_deref(struct wims_ws_server *s)
{
	if (s && --s->refs == 0)
		server_free(s);
}

void wims_ws_conn_ref(struct wims_ws_conn *c)
{
	c->refs++;
}

void wims_ws_conn_deref(struct wims_ws_conn *c)
{
	if (!c || --c->refs > 0)
		return;
	free(c->head);
	free(c->msg);
	wims_stream_deref(c->st);
	wims_ws_server_deref(c->srv);
	free(c);
}

/* ---- per-IP accounting ---- */

static uint64_t host_key(const struct wims_addr *a)
{
	if (a->u.sa.sa_family == AF_INET6)
		return wims_hash_bytes(&a->u.in6.sin6_addr, sizeof(a->u.in6.sin6_addr));
	return wims_hash_bytes(&a->u.in.sin_addr, sizeof(a->u.in.sin_addr));
}

static struct ip_count *ip_find(struct wims_ws_server *s, const struct wims_addr *a)
{
	uint64_t k = host_key(a);

	for (struct wims_hnode *n = wims_hash_find(&s->per_ip, k); n; n = wims_hash_next_same(n)) {
		struct ip_count *ic = wims_container_of(n, struct ip_count, hn);
		if (wims_addr_same_host(&ic->host, a))
			return ic;
	}
	return NULL;
}

/* Count one more connection from a; false when the limit says no. */
static bool ip_take(struct wims_ws_server *s, const struct wims_addr *a, struct ip_count **out)
{
	struct ip_count *ic;

	*out = NULL;
	if (!s->cfg.max_per_ip)
		return true;
	ic = ip_find(s, a);
	if (ic && ic->n >= s->cfg.max_per_ip)
		return false;
	if (!ic) {
		ic = calloc(1, sizeof(*ic));
		if (!ic)
			return false;
		ic->host = *a;
		wims_hash_insert(&s->per_ip, &ic->hn, host_key(a));
	}
	ic->n++;
	*out = ic;
	return true;
}

static void ip_release(struct wims_ws_server *s, struct ip_count *ic)
{
	if (ic && --ic->n == 0) {
		wims_hash_remove(&s->per_ip, &ic->hn);
		free(ic);
	}
}

/* ---- sending ---- */

static int send_frame(struct wims_ws_conn *c, uint8_t opcode, const void *payload, size_t len)
{
	uint8_t stackbuf[2048], *buf = stackbuf;
	size_t hl, total = len + WIMS_WS_MAX_FRAME_HEADER;
	int rc;

	if (total > sizeof(stackbuf) && !(buf = malloc(total)))
		return -ENOMEM;
	hl = wims_ws_frame_hdr_encode(buf, true, opcode, len, NULL);
	if (len)
		memcpy(buf + hl, payload, len);
	rc = wims_stream_write(c->st, buf, hl + len);
	if (buf != stackbuf)
		free(buf);
	return rc;
}

static void send_close(struct wims_ws_conn *c, uint16_t code, const char *reason)
{
	uint8_t p[WIMS_WS_MAX_CONTROL] = {0};
	size_t n = 0;

	/* 1005 means "the Close had no code": echo it as an empty Close. */
	if (code != WIMS_WS_CLOSE_NO_STATUS) {
		size_t rl = reason ? strlen(reason) : 0;
		if (rl > sizeof(p) - 2) {
			rl = sizeof(p) - 2;
			while (rl && ((uint8_t)reason[rl] & 0xc0) == 0x80)
				rl--; /* do not cut a UTF-8 sequence (§5.5.1: the reason is UTF-8) */
		}
		p[0] = (uint8_t)(code >> 8);
		p[1] = (uint8_t)code;
		if (rl)
			memcpy(p + 2, reason, rl);
		n = 2 + rl;
	}
	(void)send_frame(c, WIMS_WS_OP_CLOSE, p, n);
}

int wims_ws_send(struct wims_ws_conn *c, const char *msg, size_t len)
{
	bool text;
	int rc;

	if (c->state != ST_OPEN)
		return -ENOTCONN;
	if (len > 16u << 20)
		return -EMSGSIZE;
	/* RFC 7118 §5.1: binary when the message is not valid UTF-8. */
	text = wims_ws_utf8_valid((const uint8_t *)msg, len);
	rc = send_frame(c, text ? WIMS_WS_OP_TEXT : WIMS_WS_OP_BINARY, msg, len);
	if (rc == 0)
		c->srv->ctr.msgs_out++;
	return rc;
}

/* ---- closing ---- */

void wims_ws_close(struct wims_ws_conn *c, uint16_t code, const char *reason)
{
	if (c->state == ST_HANDSHAKE) {
		c->state = ST_DONE;
		c->why = WIMS_WS_END_LOCAL_CLOSE;
		wims_stream_abort(c->st);
		return;
	}
	if (c->state != ST_OPEN)
		return;
	if (!wims_ws_close_code_valid(code))
		code = WIMS_WS_CLOSE_NORMAL;
	c->state = ST_CLOSING;
	c->code = code;
	c->why = WIMS_WS_END_LOCAL_CLOSE;
	send_close(c, code, reason);
	/* Keep reading: the answer is the peer's Close (RFC 6455 §5.5.1). */
	conn_arm_timer(c);
}

/* Fail the WebSocket connection (RFC 6455 §7.1.7): Close with code, then TCP. */
static void conn_fail(struct wims_ws_conn *c, uint16_t code, const char *why)
{
	char pb[WIMS_ADDR_STRLEN];

	wims_log_rl(&close_rl, WIMS_LOG_NOTICE, "ws %s: closing with %u: %s", peer_str(c, pb), code, why);
	/* §5.5.1: one Close per side; after ours only TCP is left to close. */
	if (c->state == ST_OPEN) {
		send_close(c, code, why);
		c->code = code;
	}
	c->state = ST_DONE;
	c->why = WIMS_WS_END_PROTOCOL;
	wims_stream_close(c->st);
}

static void on_timer_closed(uv_handle_t *h)
{
	wims_ws_conn_deref(h->data);
}

static void on_stream_close(struct wims_stream *st, int err, void *arg)
{
	struct wims_ws_conn *c = arg;
	struct wims_ws_server *s = c->srv;

	(void)st;
	/* TCP ended while we waited for the peer's Close. */
	if (c->state == ST_CLOSING && c->why == WIMS_WS_END_LOCAL_CLOSE)
		c->why = WIMS_WS_END_DROPPED;
	c->state = ST_DONE;
	if (c->next)
		c->next->prev = c->prev;
	if (c->prev)
		c->prev->next = c->next;
	else if (s->conns == c)
		s->conns = c->next;
	c->next = c->prev = NULL;
	ip_release(s, c->ip);
	c->ip = NULL;
	s->ctr.conns--;
	s->ctr.closed[c->why]++;
	if (c->opened) {
		char pb[WIMS_ADDR_STRLEN];
		wims_log_rl(&end_rl, WIMS_LOG_INFO, "ws %s: closed (%s, code %u%s%s)", peer_str(c, pb),
			    wims_ws_end_name(c->why), c->code ? c->code : WIMS_WS_CLOSE_ABNORMAL,
			    err ? ", " : "", err ? uv_strerror(err) : "");
		s->ctr.ws_open--;
		if (s->h.close)
			s->h.close(c, c->code ? c->code : WIMS_WS_CLOSE_ABNORMAL, s->h.arg);
	}
	uv_close((uv_handle_t *)&c->timer, on_timer_closed);
	wims_ws_conn_deref(c); /* the stream's reference */
}

/* ---- timers ---- */

static void on_timer(uv_timer_t *t)
{
	struct wims_ws_conn *c = t->data;
	char pb[WIMS_ADDR_STRLEN];

	switch (c->state) {
	case ST_HANDSHAKE:
		wims_log_rl(&close_rl, WIMS_LOG_NOTICE, "ws %s: handshake timeout", peer_str(c, pb));
		c->state = ST_DONE;
		c->why = WIMS_WS_END_HANDSHAKE_TIMEOUT;
		wims_stream_abort(c->st);
		return;
	case ST_CLOSING:
		wims_log_rl(&close_rl, WIMS_LOG_NOTICE, "ws %s: no answer to our Close", peer_str(c, pb));
		c->state = ST_DONE;
		c->why = WIMS_WS_END_CLOSE_TIMEOUT;
		wims_stream_abort(c->st);
		return;
	case ST_OPEN:
		break;
	case ST_DONE:
		return;
	}
	uint64_t now = uv_now(t->loop), idle = c->srv->cfg.idle_timeout_s * 1000ull;
	uint64_t ping = c->srv->cfg.ping_interval_s * 1000ull, pong = c->srv->cfg.pong_timeout_s * 1000ull;
	if (pong && c->ping_out && now - c->ping_sent >= pong) {
		/* Not a byte since our Ping: the browser is gone without FIN or RST (lid
		 * closed, NAT state lost, cable pulled).  A Close would only wait 5 s for
		 * an answer that cannot come, so abort now: close_h runs at once and the
		 * SIP flow is gone (RFC 5626 §5.3: its requests get 430, not 408). */
		wims_log_rl(&close_rl, WIMS_LOG_NOTICE, "ws %s: no answer to a Ping within %u s: peer gone",
			    peer_str(c, pb), c->srv->cfg.pong_timeout_s);
		c->state = ST_DONE;
		c->why = WIMS_WS_END_PONG_TIMEOUT;
		wims_stream_abort(c->st);
		return;
	}
	if (idle && now - c->last_rx >= idle) {
		wims_log_rl(&close_rl, WIMS_LOG_NOTICE, "ws %s: idle for %u s", peer_str(c, pb),
			    c->srv->cfg.idle_timeout_s);
		wims_ws_close(c, WIMS_WS_CLOSE_GOING_AWAY, "idle timeout");
		c->why = WIMS_WS_END_IDLE;
		return;
	}
	if (ping && !c->ping_out && now - c->last_rx >= ping) {
		/* RFC 7118 §6 / pitfall 3: keep NATs and proxies from dropping the flow;
		 * the answer (or any bytes) proves the peer is still there. */
		(void)send_frame(c, WIMS_WS_OP_PING, NULL, 0);
		c->ping_out = true;
		c->ping_sent = now;
	}
	conn_arm_timer(c);
}

/* Schedule the next thing the connection's one timer has to do. */
static void conn_arm_timer(struct wims_ws_conn *c)
{
	const struct wims_ws_config *cfg = &c->srv->cfg;
	uint64_t now = uv_now(c->timer.loop), due = UINT64_MAX;

	if (c->state == ST_HANDSHAKE) {
		due = cfg->handshake_timeout_ms;
	} else if (c->state == ST_CLOSING) {
		due = WIMS_WS_CLOSE_WAIT_MS;
	} else if (c->state == ST_OPEN) {
		uint64_t at = UINT64_MAX;
		if (cfg->idle_timeout_s)
			at = c->last_rx + cfg->idle_timeout_s * 1000ull;
		if (cfg->ping_interval_s && !c->ping_out && c->last_rx + cfg->ping_interval_s * 1000ull < at)
			at = c->last_rx + cfg->ping_interval_s * 1000ull;
		if (cfg->pong_timeout_s && c->ping_out && c->ping_sent + cfg->pong_timeout_s * 1000ull < at)
			at = c->ping_sent + cfg->pong_timeout_s * 1000ull;
		if (at != UINT64_MAX)
			due = at > now ? at - now : 0;
	}
	if (due == UINT64_MAX)
		uv_timer_stop(&c->timer);
	else
		uv_timer_start(&c->timer, on_timer, due, 0);
}

/* ---- messages ---- */

static bool only_crlf(const uint8_t *p, size_t n)
{
	if (n == 0 || n % 2)
		return false;
	for (size_t i = 0; i < n; i += 2)
		if (p[i] != '\r' || p[i + 1] != '\n')
			return false;
	return true;
}

static int deliver(struct wims_ws_conn *c, const uint8_t *p, size_t n, bool binary)
{
	struct wims_ws_server *s = c->srv;
	int rc = 0;

	/* RFC 7118 §6 / RFC 5626 §4.4.1: CRLF keep-alives are not SIP messages (kamailio #810). */
	if (only_crlf(p, n)) {
		s->ctr.keepalives_in++;
		return 0;
	}
	/* RFC 6455 §8.1: a text message that is not UTF-8 fails the connection. */
	if (!binary && !wims_ws_utf8_valid(p, n)) {
		conn_fail(c, WIMS_WS_CLOSE_INVALID_DATA, "text message is not valid UTF-8");
		return -ECANCELED;
	}
	s->ctr.msgs_in++;
	if (s->h.msg) {
		wims_ws_conn_ref(c);
		s->h.msg(c, (const char *)p, n, binary, s->h.arg);
		if (c->state != ST_OPEN && c->state != ST_CLOSING)
			rc = -ECANCELED;
		wims_ws_conn_deref(c);
	}
	return rc;
}

static int on_ws_data(void *arg, const uint8_t *p, size_t n, bool binary, bool first, bool fin)
{
	struct wims_ws_conn *c = arg;
	int rc;

	if (c->state == ST_CLOSING)
		return 0; /* §5.5.1: after our Close, data is discarded */
	if (first && fin)
		return deliver(c, p, n, binary); /* the usual case: no copy */
	if (first)
		c->msg_len = 0;
	if (n > c->msg_cap - c->msg_len) {
		/* grow to what arrived, doubling, never past the message limit */
		size_t cap = c->msg_cap ? c->msg_cap * 2 : 1024;
		if (cap < c->msg_len + n)
			cap = c->msg_len + n;
		if (cap > c->srv->cfg.max_message)
			cap = c->srv->cfg.max_message;
		uint8_t *m = realloc(c->msg, cap);
		if (!m) {
			conn_fail(c, WIMS_WS_CLOSE_INTERNAL, "out of memory");
			return -ECANCELED;
		}
		c->msg = m;
		c->msg_cap = cap;
	}
	memcpy(c->msg + c->msg_len, p, n);
	c->msg_len += n;
	if (!fin)
		return 0;
	rc = deliver(c, c->msg, c->msg_len, binary);
	/* Do not keep a large buffer on an idle connection. */
	free(c->msg);
	c->msg = NULL;
	c->msg_len = c->msg_cap = 0;
	return rc;
}

static int on_ws_control(void *arg, uint8_t opcode, const uint8_t *p, size_t n)
{
	struct wims_ws_conn *c = arg;
	struct wims_str reason;
	uint16_t code;

	switch (opcode) {
	case WIMS_WS_OP_PING:
		/* §5.5.2: a Pong with the same Application data. */
		if (c->state == ST_OPEN)
			(void)send_frame(c, WIMS_WS_OP_PONG, p, n);
		return 0;
	case WIMS_WS_OP_PONG:
		return 0;
	case WIMS_WS_OP_CLOSE:
		if (wims_ws_close_parse(p, n, &code, &reason) != 0) {
			conn_fail(c, WIMS_WS_CLOSE_PROTOCOL, "bad Close payload");
			return -ECANCELED;
		}
		if (c->state == ST_OPEN) {
			/* §5.5.1: answer with a Close echoing the code, then close TCP. */
			c->code = code;
			c->why = WIMS_WS_END_PEER_CLOSE;
			send_close(c, code, NULL);
		}
		c->state = ST_DONE;
		wims_stream_close(c->st);
		return -ECANCELED;
	default:
		return 0;
	}
}

static void ws_input(struct wims_ws_conn *c, const char *data, size_t len)
{
	int rc;

	if (len == 0)
		return;
	c->last_rx = uv_now(c->timer.loop);
	if (c->ping_out) {
		/* the timer may be stopped (no idle timeout): schedule the next Ping */
		c->ping_out = false;
		if (c->state == ST_OPEN)
			conn_arm_timer(c);
	}
	rc = wims_ws_parser_feed(&c->parser, (const uint8_t *)data, len);
	if (rc > 0)
		conn_fail(c, (uint16_t)rc, c->parser.err);
}

/* ---- the opening handshake ---- */

static void refuse_http(struct wims_ws_conn *c, const struct wims_http_decision *d)
{
	char buf[512], pb[WIMS_ADDR_STRLEN];
	struct wims_wbuf b;

	wims_log_rl(&refuse_rl, WIMS_LOG_NOTICE, "ws %s: handshake refused with %u: %s", peer_str(c, pb),
		    d->status, d->fault);
	wims_wbuf_init(&b, buf, sizeof(buf));
	wims_http_build_error(&b, d);
	if (!b.err && wims_stream_write(c->st, b.p, b.len) < 0)
		b.err = true; /* the close below is all that is left to do */
	c->state = ST_DONE;
	c->why = WIMS_WS_END_HANDSHAKE_REFUSED;
	wims_stream_close(c->st);
}

static void upgrade(struct wims_ws_conn *c, const struct wims_http_req *r)
{
	struct wims_ws_server *s = c->srv;
	char buf[256];
	struct wims_wbuf b;

	wims_wbuf_init(&b, buf, sizeof(buf));
	wims_http_build_101(&b, r->ws_key);
	if (b.err || wims_stream_write(c->st, b.p, b.len) < 0) {
		c->state = ST_DONE;
		wims_stream_abort(c->st);
		return;
	}
	c->state = ST_OPEN;
	c->opened = true;
	c->last_rx = uv_now(c->timer.loop);
	s->ctr.ws_open++;
	conn_arm_timer(c);
	if (s->h.open)
		s->h.open(c, s->h.arg);
}

/* The dynamic pages of cfg.route (admin API, metrics); false when not one of them. */
static bool serve_route(struct wims_ws_conn *c, const struct wims_http_req *r)
{
	struct wims_ws_server *s = c->srv;
	bool head = wims_str_eqc(r->method, "HEAD");
	const char *type = "text/plain; charset=utf-8";
	struct wims_wbuf out;
	unsigned status;
	char *mem;

	if (!s->cfg.route || (!head && !wims_str_eqc(r->method, "GET")))
		return false;
	mem = malloc(WIMS_HTTP_MAX_ROUTE_BODY);
	if (!mem)
		return false;
	wims_wbuf_init(&out, mem, WIMS_HTTP_MAX_ROUTE_BODY);
	status = s->cfg.route(r->path, &out, &type, s->cfg.route_arg);
	if (status && !out.err)
		(void)wims_http__send_body(c->st, status, type, out.p, out.len, head);
	else if (status)
		(void)wims_http__send_body(c->st, 500, "text/plain", "too large\n", 10, head);
	free(mem);
	return status != 0;
}

/* A whole head is in buf; returns the bytes it used, or 0 when the connection is done. */
static size_t handle_head(struct wims_ws_conn *c, const struct wims_http_req *r)
{
	struct wims_ws_server *s = c->srv;
	struct wims_http_decision d;
	bool ws_only = !s->web_root || (s->ws_path && wims_str_eqc(r->path, s->ws_path));

	if (!wims_http_has_token(r, "upgrade", "websocket") &&
	    (wims_str_eqc(r->path, "/healthz") || (s->cfg.route && r->path.l > 1)))
		ws_only = false;
	wims_http_upgrade_decide(r, wims_str_c(s->origins), ws_only, &d);
	switch (d.action) {
	case WIMS_HTTP_UPGRADE:
		upgrade(c, r);
		return c->state == ST_OPEN ? r->head_len : 0;
	case WIMS_HTTP_REFUSE:
		refuse_http(c, &d);
		return 0;
	case WIMS_HTTP_SERVE:
	default:
		if (!serve_route(c, r))
			(void)wims_http__respond(c->st, s->web_root, r);
		c->state = ST_DONE;
		c->why = WIMS_WS_END_HTTP;
		wims_stream_close(c->st);
		return 0;
	}
}

static void head_error(struct wims_ws_conn *c, int rc, const char *why)
{
	struct wims_http_decision d = {
	    .action = WIMS_HTTP_REFUSE,
	    .status = rc == -EMSGSIZE ? 431 : 400,
	    .fault = why ? why : "malformed request",
	};
	refuse_http(c, &d);
}

static void hs_input(struct wims_ws_conn *c, const char *data, size_t len)
{
	struct wims_http_req *r = malloc(sizeof(*r)); /* 2 KiB: not on every stack frame of the loop */
	const char *buf = data;
	size_t blen = len, used, prev = c->head_len; /* head bytes from earlier reads */
	int rc;

	if (!r) {
		wims_stream_abort(c->st);
		return;
	}
	if (c->head) {
		size_t k = len < WIMS_HTTP_MAX_HEAD - c->head_len ? len : WIMS_HTTP_MAX_HEAD - c->head_len;
		memcpy(c->head + c->head_len, data, k);
		c->head_len += k;
		buf = c->head;
		blen = c->head_len;
	}
	rc = wims_http_parse_req(r, buf, blen);
	if (rc == -EAGAIN) {
		if (!c->head) {
			c->head = malloc(WIMS_HTTP_MAX_HEAD);
			if (!c->head) {
				wims_stream_abort(c->st);
				goto out;
			}
			memcpy(c->head, data, len);
			c->head_len = len;
		}
		goto out;
	}
	if (rc < 0) {
		head_error(c, rc, r->err);
		goto out;
	}
	used = handle_head(c, r);
	if (used && c->state == ST_OPEN) {
		/* Frames right behind the head: the rest of this read, after the head. */
		size_t off = used - prev;
		free(c->head);
		c->head = NULL;
		c->head_len = 0;
		if (off < len)
			ws_input(c, data + off, len - off);
	}
out:
	free(r);
}

static void on_stream_data(struct wims_stream *st, const char *data, size_t len, void *arg)
{
	struct wims_ws_conn *c = arg;

	(void)st;
	wims_ws_conn_ref(c);
	if (c->state == ST_HANDSHAKE)
		hs_input(c, data, len);
	else if (c->state == ST_OPEN || c->state == ST_CLOSING)
		ws_input(c, data, len);
	wims_ws_conn_deref(c);
}

/* ---- accepting ---- */

static int on_accept(struct wims_stream_listener *l, struct wims_stream *st, void *arg)
{
	static const struct wims_ws_parser_cb pcb = {on_ws_data, on_ws_control, NULL};
	struct wims_ws_server *s = arg;
	const struct wims_addr *peer = wims_stream_peer(st);
	struct wims_ws_conn *c;
	struct ip_count *ic;
	char pb[WIMS_ADDR_STRLEN];

	(void)l;
	if (s->shutting_down)
		return -ESHUTDOWN;
	if (wims_addr_str(peer, pb, sizeof(pb)) < 0)
		pb[0] = '\0';
	if (s->cfg.max_connections && s->ctr.conns >= s->cfg.max_connections) {
		s->ctr.refused_max++;
		wims_log_rl(&refuse_rl, WIMS_LOG_WARN, "ws %s: refused: max_connections (%u) reached", pb,
			    s->cfg.max_connections);
		return -EMFILE;
	}
	if (!ip_take(s, peer, &ic)) {
		s->ctr.refused_per_ip++;
		wims_log_rl(&refuse_rl, WIMS_LOG_WARN, "ws %s: refused: max_per_ip (%u) reached", pb,
			    s->cfg.max_per_ip);
		return -EMFILE;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		ip_release(s, ic);
		return -ENOMEM;
	}
	c->refs = 2; /* the stream's and the timer's */
	c->srv = s;
	wims_ws_server_ref(s);
	c->st = st;
	wims_stream_ref(st);
	c->ip = ic;
	c->why = WIMS_WS_END_DROPPED;
	struct wims_ws_parser_cb cb = pcb;
	cb.arg = c;
	wims_ws_parser_init(&c->parser, true, s->cfg.max_message, &cb);
	uv_timer_init(s->loop, &c->timer);
	c->timer.data = c;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->ctr.conns++;
	s->ctr.accepted++;
	wims_stream_set_handlers(st,
				 &(struct wims_stream_handlers){NULL, on_stream_data, on_stream_close, c});
	conn_arm_timer(c); /* the handshake timeout, TLS included */
	return 0;
}

/* ---- the server ---- */

static char *dup_opt(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

int wims_ws_server_alloc(struct wims_ws_server **sp, uv_loop_t *loop, const struct wims_ws_config *cfg,
			 const struct wims_ws_handlers *h)
{
	struct wims_ws_server *s = calloc(1, sizeof(*s));
	int rc;

	if (!s)
		return -ENOMEM;
	s->refs = 1;
	s->loop = loop;
	s->cfg = *cfg;
	s->h = *h;
	s->origins = dup_opt(cfg->origins);
	s->ws_path = dup_opt(cfg->ws_path);
	s->web_root = dup_opt(cfg->web_root);
	s->cfg.origins = s->origins;
	s->cfg.ws_path = s->ws_path;
	s->cfg.web_root = s->web_root;
	if (!s->cfg.handshake_timeout_ms)
		s->cfg.handshake_timeout_ms = 10000;
	if (!s->cfg.max_message)
		s->cfg.max_message = WIMS_WS_MAX_MESSAGE;
	if ((cfg->origins && *cfg->origins && !s->origins) ||
	    (cfg->ws_path && *cfg->ws_path && !s->ws_path) ||
	    (cfg->web_root && *cfg->web_root && !s->web_root)) {
		rc = -ENOMEM;
		goto fail;
	}
	if ((rc = wims_hash_init(&s->per_ip, 64)) != 0)
		goto fail;
	if ((rc = wims_stream_listen(&s->lst, loop, &cfg->listen, cfg->tls, on_accept, s)) != 0)
		goto fail;
	*sp = s;
	return 0;
fail:
	s->lst = NULL;
	server_free(s);
	return rc;
}

int wims_ws_server_addr(const struct wims_ws_server *s, struct wims_addr *out)
{
	if (!s->lst)
		return -ENOTCONN;
	return wims_stream_listener_addr(s->lst, out);
}

void wims_ws_server_shutdown(struct wims_ws_server *s, uint16_t code)
{
	struct wims_ws_conn *c, *next;

	if (s->shutting_down)
		return;
	s->shutting_down = true;
	if (s->lst) {
		wims_stream_listener_close(s->lst);
		s->lst = NULL;
	}
	wims_ws_server_ref(s);
	for (c = s->conns; c; c = next) {
		next = c->next; /* conns leave the list only in the stream's close callback */
		if (c->state == ST_OPEN)
			wims_ws_close(c, code, "server shutting down");
		else if (c->state == ST_HANDSHAKE)
			wims_ws_close(c, code, NULL);
	}
	wims_ws_server_deref(s);
}

void wims_ws_server_counters(const struct wims_ws_server *s, struct wims_ws_counters *out)
{
	*out = s->ctr;
}

/* ---- accessors ---- */

bool wims_ws_conn_is_open(const struct wims_ws_conn *c)
{
	return c->state == ST_OPEN;
}

const struct wims_addr *wims_ws_conn_peer(const struct wims_ws_conn *c)
{
	return wims_stream_peer(c->st);
}

const struct wims_addr *wims_ws_conn_local(const struct wims_ws_conn *c)
{
	return wims_stream_local(c->st);
}

bool wims_ws_conn_is_tls(const struct wims_ws_conn *c)
{
	return wims_stream_is_tls(c->st) != 0;
}

struct wims_ws_server *wims_ws_conn_server(const struct wims_ws_conn *c)
{
	return c->srv;
}

void wims_ws_conn_set_user(struct wims_ws_conn *c, void *user)
{
	c->user = user;
}

void *wims_ws_conn_user(const struct wims_ws_conn *c)
{
	return c->user;
}
