/* ng replies, and one datagram handled end to end (wims_ng_handle).
 * Every dict below is written with its keys in sorted (bencode) order. */
#include "mediactl/ng.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/log.h"

static void put_cookie(struct wims_wbuf *b, struct wims_str cookie)
{
	wims_wbuf_putstr(b, cookie);
	wims_wbuf_put(b, " ", 1);
}

static void put_warning(struct wims_wbuf *b, struct wims_str warning)
{
	if (warning.l)
		wims_bc_kv(b, "warning", warning);
}

void wims_ng_reply_error(struct wims_wbuf *b, struct wims_str cookie, const char *reason, struct wims_str warning)
{
	put_cookie(b, cookie);
	wims_bc_dict(b);
	wims_bc_kvc(b, "error-reason", reason);
	wims_bc_kvc(b, "result", "error");
	put_warning(b, warning);
	wims_bc_end(b);
}

void wims_ng_reply_pong(struct wims_wbuf *b, struct wims_str cookie)
{
	put_cookie(b, cookie);
	wims_bc_dict(b);
	wims_bc_kvc(b, "result", "pong");
	wims_bc_end(b);
}

void wims_ng_reply_ok(struct wims_wbuf *b, struct wims_str cookie, const struct wims_str *sdp, struct wims_str warning)
{
	put_cookie(b, cookie);
	wims_bc_dict(b);
	wims_bc_kvc(b, "result", "ok");
	if (sdp)
		wims_bc_kv(b, "sdp", *sdp);
	put_warning(b, warning);
	wims_bc_end(b);
}

void wims_ng_reply_list_begin(struct wims_wbuf *b, struct wims_str cookie)
{
	put_cookie(b, cookie);
	wims_bc_dict(b);
	wims_bc_cstr(b, "calls");
	wims_bc_list(b);
}

void wims_ng_reply_list_add(struct wims_wbuf *b, struct wims_str call_id)
{
	wims_bc_str(b, call_id);
}

void wims_ng_reply_list_end(struct wims_wbuf *b, struct wims_str warning)
{
	wims_bc_end(b);
	wims_bc_kvc(b, "result", "ok");
	put_warning(b, warning);
	wims_bc_end(b);
}

/* ---- query ---- */

static int strcmp_view(struct wims_str a, struct wims_str b)
{
	size_t m = a.l < b.l ? a.l : b.l;
	int r = m ? memcmp(a.p, b.p, m) : 0;

	return r ? r : (a.l < b.l ? -1 : a.l > b.l);
}

static void put_counts(struct wims_wbuf *b, uint64_t bytes, uint64_t errors, uint64_t packets)
{
	wims_bc_dict(b);
	wims_bc_kvi(b, "bytes", (long long)bytes);
	wims_bc_kvi(b, "errors", (long long)errors);
	wims_bc_kvi(b, "packets", (long long)packets);
	wims_bc_end(b);
}

/* "addr:port" / "[v6]:port" -> {"address","family","port"} */
static void put_endpoint(struct wims_wbuf *b, const char *hostport)
{
	struct wims_addr a;
	char host[WIMS_ADDR_STRLEN];
	size_t l = strnlen(hostport, 64);

	wims_bc_dict(b);
	if (l && wims_addr_parse(&a, wims_str_make(hostport, l), 0) == 0 &&
	    wims_addr_host(&a, host, sizeof(host), false) == 0) {
		wims_bc_kvc(b, "address", host);
		wims_bc_kvc(b, "family", a.u.sa.sa_family == AF_INET6 ? "IPv6" : "IPv4");
		wims_bc_kvi(b, "port", wims_addr_port(&a));
	} else {
		wims_bc_kv(b, "address", wims_str_make(hostport, l));
	}
	wims_bc_end(b);
}

static long long local_port(const char *local)
{
	size_t l = strnlen(local, 64);
	const char *c = l ? memrchr(local, ':', l) : NULL;
	unsigned long long port;

	if (!c || wims_str_to_u64(wims_str_make(c + 1, l - (size_t)(c + 1 - local)), 65535, &port) != 0)
		return 0;
	return (long long)port;
}

static void put_stream(struct wims_wbuf *b, const struct wims_mctl_stream_stats *s)
{
	wims_bc_dict(b);
	wims_bc_cstr(b, "endpoint");
	put_endpoint(b, s->remote);
	wims_bc_kvi(b, "last packet", (long long)s->last_packet_s);
	wims_bc_kvi(b, "local port", local_port(s->local));
	wims_bc_cstr(b, "stats");
	put_counts(b, s->bytes_in, s->errors, s->packets_in);
	wims_bc_cstr(b, "wims");
	wims_bc_dict(b);
	wims_bc_kvi(b, "bytes out", (long long)s->bytes_out);
	wims_bc_kvi(b, "jitter", s->jitter_ms);
	wims_bc_kvi(b, "loss", s->lost);
	wims_bc_kvi(b, "packets out", (long long)s->packets_out);
	wims_bc_kvi(b, "rtt", s->rtt_ms);
	wims_bc_end(b);
	wims_bc_end(b);
}

/* One tag: its medias in index order, each with its streams. */
static void put_tag(struct wims_wbuf *b, const struct wims_mctl_query *q, struct wims_str tag)
{
	unsigned done = 0, n = q->nstreams < WIMS_MCTL_MAX_STATS ? q->nstreams : WIMS_MCTL_MAX_STATS;
	unsigned last = 0;

	wims_bc_dict(b);
	wims_bc_cstr(b, "medias");
	wims_bc_list(b);
	for (;;) {
		/* next media index above `last` on this tag */
		unsigned idx = 0;

		for (unsigned i = 0; i < n; i++)
			if (wims_str_eq(q->s[i].tag, tag) && q->s[i].media_index > last &&
			    (!idx || q->s[i].media_index < idx))
				idx = q->s[i].media_index;
		if (!idx || done++ > n)
			break;
		wims_bc_dict(b);
		wims_bc_kvi(b, "index", idx);
		wims_bc_cstr(b, "streams");
		wims_bc_list(b);
		struct wims_str type = WIMS_STR_NULL;
		for (unsigned i = 0; i < n; i++)
			if (wims_str_eq(q->s[i].tag, tag) && q->s[i].media_index == idx) {
				put_stream(b, &q->s[i]);
				type = q->s[i].media_type;
			}
		wims_bc_end(b);
		wims_bc_kv(b, "type", type);
		wims_bc_end(b);
		last = idx;
	}
	wims_bc_end(b);
	wims_bc_kv(b, "tag", tag);
	wims_bc_end(b);
}

static void put_tags(struct wims_wbuf *b, const struct wims_mctl_query *q)
{
	unsigned n = q->nstreams < WIMS_MCTL_MAX_STATS ? q->nstreams : WIMS_MCTL_MAX_STATS;
	struct wims_str tags[WIMS_MCTL_MAX_STATS];
	unsigned nt = 0;

	for (unsigned i = 0; i < n; i++) {
		unsigned j;

		for (j = 0; j < nt && !wims_str_eq(tags[j], q->s[i].tag); j++)
			;
		if (j < nt)
			continue;
		/* insertion sort: bencode wants the tag keys in order */
		for (j = nt++; j > 0 && strcmp_view(tags[j - 1], q->s[i].tag) > 0; j--)
			tags[j] = tags[j - 1];
		tags[j] = q->s[i].tag;
	}
	wims_bc_dict(b);
	for (unsigned i = 0; i < nt; i++) {
		wims_bc_str(b, tags[i]);
		put_tag(b, q, tags[i]);
	}
	wims_bc_end(b);
}

void wims_ng_reply_query(struct wims_wbuf *b, struct wims_str cookie, const struct wims_mctl_query *q,
			 struct wims_str warning)
{
	unsigned n = q->nstreams < WIMS_MCTL_MAX_STATS ? q->nstreams : WIMS_MCTL_MAX_STATS;
	uint64_t bytes = 0, packets = 0, errors = 0;

	for (unsigned i = 0; i < n; i++) {
		bytes += q->s[i].bytes_in;
		packets += q->s[i].packets_in;
		errors += q->s[i].errors;
	}
	put_cookie(b, cookie);
	wims_bc_dict(b);
	wims_bc_kvi(b, "created", (long long)q->created_s);
	wims_bc_kvi(b, "last signal", (long long)q->last_signal_s);
	wims_bc_kvc(b, "result", "ok");
	wims_bc_cstr(b, "tags");
	put_tags(b, q);
	wims_bc_cstr(b, "totals");
	wims_bc_dict(b);
	wims_bc_cstr(b, "RTCP");
	put_counts(b, 0, 0, 0);
	wims_bc_cstr(b, "RTP");
	put_counts(b, bytes, errors, packets);
	wims_bc_end(b);
	put_warning(b, warning);
	wims_bc_end(b);
}

/* ---- one datagram end to end ---- */

struct handle_ctx {
	struct wims_mediactl *mc;
	struct wims_ng_req *r;
	struct wims_str cookie;
	struct wims_wbuf *reply;
	struct wims_ng_scratch *scratch;
	struct wims_mctl_err err;
	char warning[512];
	size_t warning_len;
};

typedef int(op_h)(struct handle_ctx *h);

/* "unknown flags: ..." from the parser and from the AGW, or empty. */
static struct wims_str warning(struct handle_ctx *h)
{
	struct wims_wbuf b;
	size_t ul = strnlen(h->err.unknown_flags, sizeof(h->err.unknown_flags));

	if (!h->r->unknown_len && !ul)
		return wims_str_make(h->warning, 0);
	wims_wbuf_init(&b, h->warning, sizeof(h->warning));
	wims_wbuf_puts(&b, "unknown flags: ");
	wims_wbuf_put(&b, h->r->unknown, h->r->unknown_len);
	if (h->r->unknown_len && ul)
		wims_wbuf_puts(&b, ", ");
	wims_wbuf_put(&b, h->err.unknown_flags, ul);
	if (b.err)
		b.len = sizeof(h->warning);
	return wims_str_make(h->warning, b.len);
}

static int op_failed(struct handle_ctx *h, int rc)
{
	const char *reason = h->err.reason;

	h->err.reason[sizeof(h->err.reason) - 1] = '\0';
	if (!reason[0])
		reason = rc == -ENOENT ? "Call-ID not found or tags didn't match" : rc == -ENOSPC || rc == -EBUSY ? "Out of capacity"
									      : "Internal error";
	wims_ng_reply_error(h->reply, h->cookie, reason, warning(h));
	return 1;
}

static int op_ping(struct handle_ctx *h)
{
	wims_ng_reply_pong(h->reply, h->cookie);
	return 0;
}

static int op_sdp(struct handle_ctx *h)
{
	const struct wims_mctl_ops *ops = h->mc->ops;
	int (*fn)(void *, const struct wims_mctl_req *, struct wims_wbuf *, struct wims_mctl_err *) =
		h->r->rq.op == WIMS_MCTL_OFFER ? ops->offer : ops->answer;
	struct wims_wbuf out;
	struct wims_str sdp;
	int rc;

	if (!fn)
		return op_failed(h, -ENOTSUP);
	wims_wbuf_init(&out, h->scratch->sdp, sizeof(h->scratch->sdp));
	rc = fn(h->mc->impl, &h->r->rq, &out, &h->err);
	if (rc == 0 && out.err) {
		snprintf(h->err.reason, sizeof(h->err.reason), "SDP too large");
		rc = -ENOSPC;
	}
	if (rc)
		return op_failed(h, rc);
	sdp = wims_wbuf_str(&out);
	wims_ng_reply_ok(h->reply, h->cookie, &sdp, warning(h));
	return 0;
}

/* An unknown call is not an error unless the "fatal" flag says so: a stock
 * rtpengine answers "ok" with a warning (Kamailio deletes on every BYE and
 * CANCEL, often twice). */
static int op_delete(struct handle_ctx *h)
{
	int rc = h->mc->ops->del ? h->mc->ops->del(h->mc->impl, &h->r->rq, &h->err) : -ENOTSUP;
	struct wims_str w;

	if (rc == -ENOENT && !h->r->fatal) {
		h->err.reason[sizeof(h->err.reason) - 1] = '\0';
		w = warning(h);
		if (!w.l)
			w = wims_str_c(h->err.reason[0] ? h->err.reason : "Call-ID not found or tags didn't match");
		wims_ng_reply_ok(h->reply, h->cookie, NULL, w);
		return 0;
	}
	if (rc)
		return op_failed(h, rc);
	wims_ng_reply_ok(h->reply, h->cookie, NULL, warning(h));
	return 0;
}

static int op_query(struct handle_ctx *h)
{
	struct wims_mctl_query q;
	int rc;

	memset(&q, 0, sizeof(q));
	rc = h->mc->ops->query ? h->mc->ops->query(h->mc->impl, &h->r->rq, &q, &h->err) : -ENOTSUP;
	if (rc)
		return op_failed(h, rc);
	wims_ng_reply_query(h->reply, h->cookie, &q, warning(h));
	return 0;
}

static void list_one(struct wims_str call_id, void *arg)
{
	wims_ng_reply_list_add(arg, call_id);
}

static int op_list(struct handle_ctx *h)
{
	int rc;

	if (!h->mc->ops->list)
		return op_failed(h, -ENOTSUP);
	wims_ng_reply_list_begin(h->reply, h->cookie);
	rc = h->mc->ops->list(h->mc->impl, h->r->list_limit, list_one, h->reply);
	if (rc) {
		h->reply->len = 0;
		h->reply->err = false;
		return op_failed(h, rc);
	}
	wims_ng_reply_list_end(h->reply, warning(h));
	return 0;
}

static op_h *const op_table[] = {
	[WIMS_MCTL_PING] = op_ping,     [WIMS_MCTL_OFFER] = op_sdp,   [WIMS_MCTL_ANSWER] = op_sdp,
	[WIMS_MCTL_DELETE] = op_delete, [WIMS_MCTL_QUERY] = op_query, [WIMS_MCTL_LIST] = op_list,
};

/* One debug line per handled command: what a proxy asked and the outcome. */
static void log_req(const struct wims_ng_req *r, bool is_error)
{
	const struct wims_mctl_req *q = &r->rq;

	if (!wims_log_enabled(WIMS_LOG_DEBUG))
		return;
	wims_log(WIMS_LOG_DEBUG, "ng: %.*s call-id=%.*s from-tag=%.*s to-tag=%.*s -> %s%s%s",
		 (int)(r->command.l < 32 ? r->command.l : 32), r->command.p, (int)(q->call_id.l < 128 ? q->call_id.l : 128),
		 q->call_id.p ? q->call_id.p : "", (int)(q->from_tag.l < 64 ? q->from_tag.l : 64),
		 q->from_tag.p ? q->from_tag.p : "", (int)(q->to_tag.l < 64 ? q->to_tag.l : 64),
		 q->to_tag.p ? q->to_tag.p : "", is_error ? "error" : "ok", r->unknown_len ? ", not understood: " : "",
		 r->unknown);
}

int wims_ng_handle(struct wims_mediactl *mc, struct wims_str dgram, struct wims_wbuf *reply,
		   struct wims_ng_scratch *scratch, bool *is_error)
{
	struct wims_ng_req r;
	struct handle_ctx h = {.mc = mc, .r = &r, .reply = reply, .scratch = scratch};
	struct wims_str body;
	const char *reason;
	int rc;

	*is_error = false;
	if (wims_ng_split(dgram, &h.cookie, &body) != 0)
		return -EBADMSG;
	rc = wims_ng_parse_req(&r, scratch->nodes, WIMS_NG_MAX_NODES, body, &reason);
	if (rc) {
		wims_ng_reply_error(reply, h.cookie, reason, warning(&h));
		*is_error = true;
		return 0;
	}
	rc = op_table[r.rq.op](&h);
	*is_error = rc != 0;
	log_req(&r, *is_error);
	if (reply->err) {
		/* the full answer does not fit in a datagram: say so instead */
		reply->len = 0;
		reply->err = false;
		wims_ng_reply_error(reply, h.cookie, "Reply too large", WIMS_STR_NULL);
		*is_error = true;
	}
	return 0;
}
