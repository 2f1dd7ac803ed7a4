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
		wims_media_tconf_close(&c->conf.t[i]);
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
	c->offer_leg = c->answered_leg = -1;
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

/* The leg an offer comes from.  The tags say it, except for an offer in a
 * response (a re-INVITE without SDP gets the offer in its 2xx, with the
 * request's From tag): there the SDP's profile tells the legs apart. */
static int offer_leg(struct alg_call *c, bool fresh, struct wims_str from_tag, const struct wims_sdp *sdp)
{
	if (fresh)
		return 0;
	enum wims_media_tkind sk = sdp->n_media ? alg__kind_of(sdp, &sdp->media[0]) : WIMS_MT_NONE;
	int ol = leg_of(c, from_tag);
	if (ol >= 0) {
		if (c->leg[ol].kind != sk && c->leg[1 - ol].kind == sk)
			ol = 1 - ol;
		return ol;
	}
	if (c->leg[0].kind == sk && c->leg[1].kind != sk)
		ol = 0;
	else if (c->leg[1].kind == sk && c->leg[0].kind != sk)
		ol = 1;
	else
		ol = c->leg[1].tag[0] ? 0 : 1;
	if (!c->leg[ol].tag[0] && wims_str_copy(c->leg[ol].tag, sizeof(c->leg[ol].tag), from_tag))
		c->leg[ol].tag[0] = 0;
	return ol;
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

/* A copy of a call's state to put back when an offer or answer fails half
 * way: a refused re-offer must leave the running call as it was (RFC 3264
 * §8: the old session stays in force). */
static struct alg_call *snap_take(const struct alg_call *c, struct wims_mctl_err *err)
{
	struct alg_call *s = malloc(sizeof(*s));
	if (s)
		memcpy(s, c, sizeof(*s));
	else
		alg__err(err, 500, "out of memory");
	return s;
}

static void snap_restore(struct alg_call *c, struct alg_call *snap)
{
	unsigned from = snap->conf.ntransports > c->applied_tp ? snap->conf.ntransports : c->applied_tp;
	for (unsigned i = from; i < c->conf.ntransports; i++)
		wims_media_tconf_close(&c->conf.t[i]);
	struct wims_hnode hn = c->hn;
	memcpy(c, snap, sizeof(*c));
	c->hn = hn;
}

static int parse_sdp(struct wims_alg *a, struct wims_str sdp, struct wims_mctl_err *err)
{
	if (wims_sdp_parse(&a->sdp, sdp.p, sdp.l)) {
		snprintf(err->reason, sizeof(err->reason), "bad SDP: %s (line %u)",
			 a->sdp.err ? a->sdp.err : "?", a->sdp.err_line);
		err->sip_status = 488;
		return -EBADMSG;
	}
	return 0;
}

static int op_offer(void *impl, const struct wims_mctl_req *rq, struct wims_wbuf *out,
		    struct wims_mctl_err *err)
{
	struct wims_alg *a = impl;
	struct alg_call *c = call_find(a, rq->call_id), *snap = NULL;
	bool fresh = false;
	int rc;

	if ((rc = parse_sdp(a, rq->sdp, err)))
		return rc;
	if (!c) {
		if ((rc = call_new(a, rq->call_id, &c, err)))
			return rc;
		fresh = true;
		if (wims_str_copy(c->leg[0].tag, sizeof(c->leg[0].tag), rq->from_tag))
			c->leg[0].tag[0] = 0;
	} else if (!(snap = snap_take(c, err))) {
		return -ENOMEM;
	}
	int ol = offer_leg(c, fresh, rq->from_tag, &a->sdp);
	rc = alg__offer(a, c, ol, &a->sdp, &rq->flags, out, err);
	if (rc == 0)
		rc = apply(c, err);
	if (rc && fresh) {
		call_free(a, c);
		return rc;
	}
	if (rc) {
		snap_restore(c, snap);
	} else {
		c->offer_leg = ol;
		c->last_signal = wall_s();
	}
	free(snap);
	return rc;
}

/* An answer when no offer is pending: to the last offer again.  From the
 * same answerer (a 2xx repeating the 18x's SDP) it is applied again.  From
 * another to-tag it is forked early media: a call has one leg per side, so
 * the media stay with the first answerer and this one only gets the SDP to
 * forward (made on a copy of the call).  Its media flow once the call is
 * re-offered or the first fork's leg is deleted. */
static int answer_fork(struct wims_alg *a, struct alg_call *c, struct wims_str tag,
		       const struct wims_mctl_req *rq, struct wims_wbuf *out, struct wims_mctl_err *err)
{
	int ol = c->answered_leg;
	struct alg_call *tmp = snap_take(c, err);
	if (!tmp)
		return -ENOMEM;
	wims_log(WIMS_LOG_INFO, "media: call %s: answer from another fork (%.*s); media stay with %s",
		 c->call_id, (int)tag.l, tag.p, c->leg[1 - ol].tag);
	int rc = alg__answer(a, tmp, ol, &a->sdp, &rq->flags, out, err);
	free(tmp);
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
	int ol = c->offer_leg >= 0 ? c->offer_leg : c->answered_leg;
	if (ol < 0) {
		alg__err(err, 488, "answer without a pending offer");
		return -EPROTO;
	}
	int rc = parse_sdp(a, rq->sdp, err), al = 1 - ol;
	if (rc)
		return rc;
	/* the answerer's tag: whichever of the two is not the offerer's */
	struct wims_str tag = wims_str_eqc(rq->from_tag, c->leg[ol].tag) ? rq->to_tag : rq->from_tag;
	if (c->offer_leg < 0 && tag.l && c->leg[al].tag[0] && !wims_str_eqc(tag, c->leg[al].tag))
		return answer_fork(a, c, tag, rq, out, err);
	struct alg_call *snap = snap_take(c, err);
	if (!snap)
		return -ENOMEM;
	if (tag.l && wims_str_copy(c->leg[al].tag, sizeof(c->leg[al].tag), tag))
		c->leg[al].tag[0] = 0;
	rc = alg__answer(a, c, ol, &a->sdp, &rq->flags, out, err);
	if (rc == 0)
		rc = apply(c, err);
	if (rc) {
		snap_restore(c, snap);
	} else {
		c->offer_leg = -1;
		c->answered_leg = ol;
		c->last_signal = wall_s();
	}
	free(snap);
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
				snprintf(s->local, sizeof(s->local), "%.56s:%u", host, c->conf.t[t].lport_rtp);
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

/* The telephone-event payload type and clock toward leg `to` on stream i:
 * the transcoder's output when transcoding, else the negotiated one. */
static int te_toward(const struct alg_call *c, unsigned i, int to, uint8_t *pt, uint32_t *clock)
{
	const struct wims_media_xc *x = &c->conf.s[i].xc[1 - to];
	if (x->on) {
		if (x->cfg.out.te_pt < 0)
			return -ENOENT;
		*pt = (uint8_t)x->cfg.out.te_pt;
		*clock = x->cfg.out.clock ? x->cfg.out.clock : x->cfg.out.codec->rtp_clock;
		return 0;
	}
	const struct alg_med *md = &c->med[i];
	for (int pass = 0; pass < 2; pass++)
		for (unsigned j = 0; j < md->ncodecs; j++) {
			const struct alg_codec *k = &md->codecs[j];
			if (strcasecmp(k->enc, "telephone-event") || (pass == 0 && k->clock != md->clock))
				continue;
			/* the list is the offerer's: its numbers toward it, the forwarded ones beyond */
			uint8_t p = to == c->answered_leg ? k->pt : k->fwd_pt;
			if (c->conf.s[i].pt_map[to][p] == 0xff)
				continue; /* that side did not accept it */
			*pt = p;
			*clock = k->clock;
			return 0;
		}
	return -ENOENT;
}

static int op_dtmf(void *impl, const struct wims_mctl_req *rq, uint8_t event, unsigned duration_ms,
		   struct wims_mctl_err *err)
{
	struct wims_alg *a = impl;
	struct alg_call *c = call_find(a, rq->call_id);
	int from = c ? leg_of(c, rq->from_tag) : -1;
	if (!c || from < 0) {
		alg__err(err, 481, "Unknown call-id");
		return -ENOENT;
	}
	for (unsigned i = 0; i < c->nmed; i++) {
		uint8_t pt;
		uint32_t clock;
		if (c->med[i].video || c->med[i].rejected || !c->conf.s[i].active ||
		    te_toward(c, i, 1 - from, &pt, &clock))
			continue;
		return wims_media_sess_dtmf(c->sess, i, (unsigned)(1 - from), event, duration_ms, pt, clock);
	}
	alg__err(err, 488, "no telephone-event toward the other side");
	return -ENOENT;
}

static const struct wims_mctl_ops alg_ops = {
	.dtmf = op_dtmf,
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
		wims_media_tconf_close(&c->conf.t[i]);
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
