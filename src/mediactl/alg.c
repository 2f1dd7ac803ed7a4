/* The in-process IMS-ALG: calls, legs and offer/answer state.  SDP rewriting
 * is in alg_sdp.c.  Runs on the signalling thread; the media engine's
 * workers get each call's whole configuration through wims_media_sess_apply.
 *
 * A call has two legs (the offerer of the first offer is leg 0) and up to
 * WIMS_MEDIA_MAX_STREAMS media, one per m-line index.  Each (leg, medium) is
 * served by a transport of the engine session; a WebRTC leg that bundles
 * shares one transport among its media. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "mediactl/alg_int.h"

static uint64_t wall_s(void)
{
	return (uint64_t)time(NULL);
}

static struct alg_call *call_find(struct wims_alg *a, struct wims_str cid)
{
	for (struct wims_hnode *n = wims_hash_find(&a->calls, wims_hash_str(cid)); n;
	     n = wims_hash_next_same(n)) {
		struct alg_call *c = (struct alg_call *)n;
		if (wims_str_eqc(cid, c->call_id))
			return c;
	}
	return NULL;
}

static void call_free(struct wims_alg *a, struct alg_call *c)
{
	wims_hash_remove(&a->calls, &c->hn);
	if (c->sess)
		wims_media_sess_delete(c->sess); /* closes every fd it was given */
	for (unsigned i = c->applied_tp; i < c->conf.ntransports; i++)
		wims_media_port_free(c->conf.t[i].fd_rtp, c->conf.t[i].fd_rtcp);
	free(c);
}

static int call_new(struct wims_alg *a, struct wims_str cid, struct alg_call **cp,
		    struct wims_mctl_err *err)
{
	if (!cid.l) {
		alg__err(err, 400, "no call-id");
		return -EINVAL;
	}
	if (a->o.max_calls && a->calls.n >= a->o.max_calls) {
		alg__err(err, 503, "call limit reached");
		return -EBUSY;
	}
	struct alg_call *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	if (wims_str_copy(c->call_id, sizeof(c->call_id), cid)) {
		free(c);
		alg__err(err, 400, "call-id too long");
		return -EINVAL;
	}
	int rc = wims_media_sess_new(a->m, &c->sess, c);
	if (rc) {
		free(c);
		alg__err(err, 503, "media session limit reached");
		return rc;
	}
	c->a = a;
	c->offer_leg = -1;
	c->created = c->last_signal = wall_s();
	c->sess_id = ((uint64_t)rand() << 16) ^ (uint64_t)time(NULL);
	for (int l = 0; l < 2; l++)
		c->leg[l].btp = -1;
	for (unsigned i = 0; i < WIMS_MEDIA_MAX_STREAMS; i++)
		c->med[i].tp[0] = c->med[i].tp[1] = -1;
	wims_hash_insert(&a->calls, &c->hn, wims_hash_str(cid));
	*cp = c;
	return 0;
}

void alg__err(struct wims_mctl_err *err, int status, const char *reason)
{
	err->sip_status = status;
	snprintf(err->reason, sizeof(err->reason), "%s", reason);
}

/* Which leg a message with these tags comes from. */
static int leg_of(struct alg_call *c, struct wims_str from_tag)
{
	for (int l = 0; l < 2; l++)
		if (c->leg[l].tag[0] && wims_str_eqc(from_tag, c->leg[l].tag))
			return l;
	return -1;
}

static int apply(struct alg_call *c, struct wims_mctl_err *err)
{
	int rc = wims_media_sess_apply(c->sess, &c->conf);
	if (rc) {
		alg__err(err, 500, "media engine refused the configuration");
		return rc;
	}
	c->applied_tp = c->conf.ntransports;
	return 0;
}

static int op_offer(void *impl, const struct wims_mctl_req *rq, struct wims_wbuf *out,
		    struct wims_mctl_err *err)
{
	struct wims_alg *a = impl;
	struct alg_call *c = call_find(a, rq->call_id);
	bool fresh = false;
	int rc, ol;

	if (wims_sdp_parse(&a->sdp, rq->sdp.p, rq->sdp.l)) {
		snprintf(err->reason, sizeof(err->reason), "bad SDP: %s (line %u)",
			 a->sdp.err ? a->sdp.err : "?", a->sdp.err_line);
		err->sip_status = 488;
		return -EBADMSG;
	}
	if (!c) {
		if ((rc = call_new(a, rq->call_id, &c, err)))
			return rc;
		fresh = true;
	}
	ol = leg_of(c, rq->from_tag);
	if (ol < 0) {
		ol = fresh ? 0 : (c->leg[1].tag[0] ? 0 : 1);
		if (wims_str_copy(c->leg[ol].tag, sizeof(c->leg[ol].tag), rq->from_tag))
			c->leg[ol].tag[0] = 0;
	}
	rc = alg__offer(a, c, ol, &a->sdp, &rq->flags, out, err);
	if (rc == 0)
		rc = apply(c, err);
	else if (c->sess && c->conf.ntransports > c->applied_tp)
		(void)apply(c, err); /* hand the new sockets to the engine so they are closed with it */
	if (rc && fresh) {
		call_free(a, c);
		return rc;
	}
	if (rc == 0) {
		c->offer_leg = ol;
		c->last_signal = wall_s();
	}
	return rc;
}

static int op_answer(void *impl, const struct wims_mctl_req *rq, struct wims_wbuf *out,
		     struct wims_mctl_err *err)
{
	struct wims_alg *a = impl;
	struct alg_call *c = call_find(a, rq->call_id);
	if (!c) {
		alg__err(err, 481, "Unknown call-id");
		return -ENOENT;
	}
	if (c->offer_leg < 0) {
		alg__err(err, 488, "answer without a pending offer");
		return -EPROTO;
	}
	if (wims_sdp_parse(&a->sdp, rq->sdp.p, rq->sdp.l)) {
		snprintf(err->reason, sizeof(err->reason), "bad SDP: %s (line %u)",
			 a->sdp.err ? a->sdp.err : "?", a->sdp.err_line);
		err->sip_status = 488;
		return -EBADMSG;
	}
	int ol = c->offer_leg, al = 1 - ol;
	/* the answerer's tag: whichever of the two is not the offerer's */
	struct wims_str tag = wims_str_eqc(rq->from_tag, c->leg[ol].tag) ? rq->to_tag : rq->from_tag;
	if (tag.l && wims_str_copy(c->leg[al].tag, sizeof(c->leg[al].tag), tag))
		c->leg[al].tag[0] = 0;
	int rc = alg__answer(a, c, ol, &a->sdp, &rq->flags, out, err);
	if (rc == 0)
		rc = apply(c, err);
	if (rc == 0) {
		c->offer_leg = -1;
		c->last_signal = wall_s();
	}
	return rc;
}

static int op_delete(void *impl, const struct wims_mctl_req *rq, struct wims_mctl_err *err)
{
	struct wims_alg *a = impl;
	struct alg_call *c = call_find(a, rq->call_id);
	if (!c) {
		alg__err(err, 481, "Call-ID not found");
		return -ENOENT;
	}
	call_free(a, c);
	return 0;
}

static void stats_of(struct alg_call *c, struct wims_mctl_query *q)
{
	q->created_s = c->created;
	q->last_signal_s = c->last_signal;
	q->nstreams = 0;
	for (unsigned i = 0; i < c->nmed && q->nstreams + 2 <= WIMS_MCTL_MAX_STATS; i++) {
		for (int l = 0; l < 2; l++) {
			struct wims_mctl_stream_stats *s = &q->s[q->nstreams++];
			struct wims_media_counters n;
			wims_media_sess_counters(c->sess, i, (unsigned)l, &n);
			memset(s, 0, sizeof(*s));
			s->tag = wims_str_c(c->leg[l].tag);
			s->media_index = i + 1;
			s->media_type = wims_str_c(c->med[i].type);
			int t = c->med[i].tp[l];
			if (t >= 0) {
				char host[WIMS_ADDR_STRLEN];
				if (wims_addr_host(wims_media_addr(c->a->m), host, sizeof(host), true) < 0)
					host[0] = 0;
				snprintf(s->local, sizeof(s->local), "%s:%u", host, c->conf.t[t].lport_rtp);
			}
			snprintf(s->remote, sizeof(s->remote), "%s", n.remote);
			s->packets_in = n.packets_in;
			s->bytes_in = n.bytes_in;
			s->packets_out = n.packets_out;
			s->bytes_out = n.bytes_out;
			s->errors = n.errors;
			s->lost = n.lost;
			s->jitter_ms = c->med[i].clock ? (uint32_t)((uint64_t)n.jitter * 1000 / c->med[i].clock) : 0;
			s->rtt_ms = n.rtt_ms;
			s->last_packet_s = n.last_in_ms ? wall_s() - (uv_hrtime() / 1000000 - n.last_in_ms) / 1000 : 0;
		}
	}
}

static int op_query(void *impl, const struct wims_mctl_req *rq, struct wims_mctl_query *q,
		    struct wims_mctl_err *err)
{
	struct wims_alg *a = impl;
	struct alg_call *c = call_find(a, rq->call_id);
	if (!c) {
		alg__err(err, 481, "Unknown call-id");
		return -ENOENT;
	}
	stats_of(c, q);
	return 0;
}

struct list_walk {
	wims_mctl_list_h *h;
	void *arg;
	unsigned left;
};

static bool list_cb(struct wims_hnode *n, void *arg)
{
	struct list_walk *w = arg;
	if (!w->left)
		return true; /* stop */
	w->left--;
	w->h(wims_str_c(((struct alg_call *)n)->call_id), w->arg);
	return false;
}

static int op_list(void *impl, unsigned limit, wims_mctl_list_h *h, void *arg)
{
	struct wims_alg *a = impl;
	struct list_walk w = {h, arg, limit};
	wims_hash_walk(&a->calls, list_cb, &w);
	return 0;
}

static const struct wims_mctl_ops alg_ops = {
	.offer = op_offer,
	.answer = op_answer,
	.del = op_delete,
	.query = op_query,
	.list = op_list,
};

int wims_alg_new(struct wims_alg **ap, struct wims_media *m, const struct wims_alg_opts *o)
{
	struct wims_alg *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->m = m;
	a->o = *o;
	a->ctl.ops = &alg_ops;
	a->ctl.impl = a;
	if (wims_hash_init(&a->calls, 1024)) {
		free(a);
		return -ENOMEM;
	}
	srand((unsigned)time(NULL) ^ (unsigned)(uintptr_t)a);
	*ap = a;
	return 0;
}

static bool free_cb(struct wims_hnode *n, void *arg)
{
	struct alg_call *c = (struct alg_call *)n;
	if (c->sess)
		wims_media_sess_delete(c->sess);
	for (unsigned i = c->applied_tp; i < c->conf.ntransports; i++)
		wims_media_port_free(c->conf.t[i].fd_rtp, c->conf.t[i].fd_rtcp);
	free(c);
	return false;
}

void wims_alg_free(struct wims_alg *a)
{
	if (!a)
		return;
	wims_hash_walk(&a->calls, free_cb, NULL);
	wims_hash_fini(&a->calls);
	free(a);
}

struct wims_mediactl *wims_alg_ctl(struct wims_alg *a)
{
	return &a->ctl;
}

void wims_alg_set_timeout(struct wims_alg *a, unsigned timeout_s)
{
	a->timeout_s = timeout_s;
}

unsigned wims_alg_calls(const struct wims_alg *a)
{
	return (unsigned)a->calls.n;
}

void wims_alg_media_event(struct wims_alg *a, struct wims_media_sess *s, enum wims_media_event ev)
{
	struct alg_call *c = wims_media_sess_user(s);
	if (ev != WIMS_MEDIA_EV_TIMEOUT || !c || c->sess != s)
		return;
	wims_log(WIMS_LOG_NOTICE, "media: call %s had no media for %u s; its media is released",
		 c->call_id, a->timeout_s);
	call_free(a, c);
}
