/* Media anchoring for both roles (TS 23.228 Annex U: the eP-CSCF acts as
 * IMS-ALG over Iq): every SDP that passes through is handed to the media
 * control interface, and what goes on is the SDP it gives back.  A browser's
 * WebRTC offer reaches the core as RTP/AVP, the core's answer reaches the
 * browser with ICE-lite and DTLS; the reverse for calls toward the browser.
 *
 *   INVITE/UPDATE with SDP   offer           18x/2xx with SDP   answer
 *   INVITE without SDP       (nothing)       18x/2xx with SDP   offer, ACK/PRACK answer
 *   BYE, final >= 300 to an initial INVITE   delete
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "codec/dtmf.h"
#include "mediactl/ng.h"
#include "proxy/px.h"

static struct wims_ratelimit rl_media = WIMS_RATELIMIT_INIT(10000, 10);

static bool has_sdp(const struct wims_sip_msg *m)
{
	if (!m->body.l)
		return false;
	const struct wims_sip_hdr *ct = wims_sip_msg_hdr(m, WIMS_HDR_CONTENT_TYPE);
	if (!ct)
		return true; /* RFC 3261 §20.15: should be there; SDP is what INVITEs carry */
	struct wims_str v = wims_str_trim(ct->value);
	return v.l >= 15 && strncasecmp(v.p, "application/sdp", 15) == 0;
}

/* The media of one pass of a call through wims.  A call between two browsers
 * of the same wimsd passes it twice with the same Call-ID and tags (caller's
 * side, then callee's side), so the key also names the browser's flow of
 * this pass: a dialog lives on one flow (wims releases it when the flow is
 * lost), so the key is stable for the dialog's life. */
#define MEDIA_KEY_MAX 300

static struct wims_str media_key(char *buf, struct wims_str cid, uint64_t flow_id)
{
	int n = snprintf(buf, MEDIA_KEY_MAX, "%.*s;wf=%llx", (int)(cid.l > 256 ? 256 : cid.l), cid.p,
			 (unsigned long long)flow_id);
	return wims_str_make(buf, n < 0 ? 0 : (size_t)n);
}

static void fill_req(struct wims_mctl_req *rq, const struct wims_sip_msg *m, enum wims_mctl_op op,
		     char *keybuf, uint64_t flow_id)
{
	memset(rq, 0, sizeof(*rq));
	rq->op = op;
	const struct wims_sip_hdr *cid = wims_sip_msg_hdr(m, WIMS_HDR_CALL_ID);
	rq->call_id = cid ? media_key(keybuf, wims_str_trim(cid->value), flow_id) : WIMS_STR_NULL;
	rq->from_tag = wims_sip_msg_tag(m, WIMS_HDR_FROM);
	rq->to_tag = wims_sip_msg_tag(m, WIMS_HDR_TO);
	rq->sdp = m->body;
	rq->flags.transcode_auto = true; /* the roles of this wimsd transcode when needed */
}

static int run(struct wims_proxy *px, struct wims_mctl_req *rq, char **memp, struct wims_str *body,
	       struct wims_mctl_err *err)
{
	struct wims_mediactl *mc = px->mc;
	char *mem = wims_proxy__mem_get(px);
	if (!mem) {
		err->sip_status = 500;
		return -ENOMEM;
	}
	struct wims_wbuf out;
	wims_wbuf_init(&out, mem, PX_POOL_SIZE);
	int rc = rq->op == WIMS_MCTL_OFFER ? mc->ops->offer(mc->impl, rq, &out, err)
					   : mc->ops->answer(mc->impl, rq, &out, err);
	if (rc == 0 && out.err)
		rc = -E2BIG;
	if (rc) {
		wims_proxy__mem_put(px, mem);
		return rc;
	}
	*memp = mem;
	*body = wims_wbuf_str(&out);
	px->st.media_sdp++;
	return 0;
}

/* ---- an external AGW over ng (a stock rtpengine) ----
 *
 * A message with SDP is kept (bytes, and the flow it came on), the AGW is
 * asked, and when it answers the message goes through wims_proxy_recv again:
 * this time its SDP is the one the AGW gave.  A retransmission that arrives
 * meanwhile is dropped (the first copy comes back). */
struct px_mwait {
	struct px_mwait *next;
	struct wims_proxy *px;
	char *msg;
	size_t len;
	struct wims_sip_flow *flow; /* referenced; NULL: it came over UDP from peer */
	struct wims_addr peer;
	bool done, failed;
	int status;
	char reason[120];
	char *sdp;
	size_t sdp_len;
};

static void mwait_free(struct px_mwait *w)
{
	if (w->flow)
		wims_sip_flow_deref(w->flow);
	free(w->msg);
	free(w->sdp);
	free(w);
}

static void mwait_unlink(struct wims_proxy *px, struct px_mwait *w)
{
	for (struct px_mwait **pp = &px->mwait; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			return;
		}
}

static struct px_mwait *mwait_find(struct wims_proxy *px, struct wims_str raw)
{
	for (struct px_mwait *w = px->mwait; w; w = w->next)
		if (w->len == raw.l && memcmp(w->msg, raw.p, raw.l) == 0)
			return w;
	return NULL;
}

void wims_proxy__media_free(struct wims_proxy *px)
{
	while (px->mwait) {
		struct px_mwait *w = px->mwait;
		px->mwait = w->next;
		w->px = NULL; /* a reply still in flight finds nobody */
		if (!w->done) /* its ng callback frees it (cancelled with the client) */
			continue;
		mwait_free(w);
	}
}

static void on_agw_reply(int err, const struct wims_ng_reply *rep, void *arg)
{
	struct px_mwait *w = arg;
	struct wims_proxy *px = w->px;
	if (!px) {
		mwait_free(w);
		return;
	}
	w->done = true;
	if (wims_log_enabled(WIMS_LOG_DEBUG))
		wims_log(WIMS_LOG_DEBUG, "media: the AGW answered (%d, %.*s): %.*s", err,
			 rep ? (int)rep->result.l : 0, rep ? rep->result.p : "",
			 rep ? (int)rep->sdp.l : 0, rep ? rep->sdp.p : "");
	if (err || !rep || !wims_str_eqc(rep->result, "ok") || !rep->sdp.l) {
		w->failed = true;
		w->status = err == -ETIMEDOUT ? 503 : 488;
		snprintf(w->reason, sizeof(w->reason), "%.*s", rep ? (int)rep->error_reason.l : 0,
			 rep ? rep->error_reason.p : "");
		if (!w->reason[0])
			snprintf(w->reason, sizeof(w->reason), "%s", err ? strerror(-err) : "no SDP from the AGW");
	} else if ((w->sdp = malloc(rep->sdp.l))) {
		memcpy(w->sdp, rep->sdp.p, rep->sdp.l);
		w->sdp_len = rep->sdp.l;
	} else {
		w->failed = true;
		w->status = 500;
	}
	/* again, as if it just arrived; agw_result takes the answer out of the
	 * list but w (whose bytes are being parsed) is freed only here */
	if (w->flow) {
		if (wims_sip_flow_alive(w->flow))
			wims_proxy_recv(px, w->flow, w->msg, w->len);
		else
			wims_log(WIMS_LOG_INFO, "media: the connection of a message waiting for the AGW is gone");
	} else {
		wims_sip_tport_udp_inject(px->tp, &w->peer, w->msg, w->len);
	}
	mwait_unlink(px, w); /* when nothing took it (dropped on the way) */
	mwait_free(w);
}

static void on_agw_deleted(int err, const struct wims_ng_reply *rep, void *arg)
{
	(void)arg;
	if (err || !rep || !wims_str_eqc(rep->result, "ok"))
		wims_log_rl(&rl_media, WIMS_LOG_INFO, "media: the AGW did not confirm a delete");
}

/* What the SDP sent on must look like, by where it goes (rtpengine's flags
 * for WebRTC <-> RTP as Kamailio's users write them). */
static void agw_flags(struct wims_mctl_flags *f, bool to_browser)
{
	f->replace_origin = f->replace_session_conn = true;
	f->trust_address = true;
	if (to_browser) {
		f->ice = WIMS_MCTL_FORCE;
		f->proto = WIMS_MCTL_PROTO_WEBRTC;
		f->rtcp_mux_offer = f->rtcp_mux_require = true;
		f->no_rtcp_attribute = true; /* werift refuses a=rtcp beside rtcp-mux */
	} else {
		f->ice = WIMS_MCTL_REMOVE;
		f->dtls = WIMS_MCTL_REMOVE;
		f->proto = WIMS_MCTL_PROTO_RTP_AVP;
		f->rtcp_mux_demux = true;
	}
}

/* Ask the AGW for m (its raw bytes waiting in a new px_mwait).  0: it waits;
 * else the message is refused with err filled. */
static int agw_ask(struct wims_proxy *px, const struct wims_sip_msg *m, struct wims_sip_flow *in,
		   struct wims_mctl_req *rq, bool to_browser, struct wims_mctl_err *err)
{
	struct px_mwait *w = calloc(1, sizeof(*w));
	if (!w || !(w->msg = malloc(m->raw.l))) {
		free(w);
		err->sip_status = 500;
		return -ENOMEM;
	}
	memcpy(w->msg, m->raw.p, m->raw.l);
	w->len = m->raw.l;
	w->px = px;
	if (wims_sip_flow_proto(in) == WIMS_SIP_UDP) {
		w->peer = *wims_sip_flow_peer(in);
	} else {
		w->flow = in;
		wims_sip_flow_ref(in);
	}
	agw_flags(&rq->flags, to_browser);
	rq->flags.transcode_auto = false;
	int rc = wims_ng_client_send(px->agw, rq, 3000, on_agw_reply, w);
	if (rc) {
		mwait_free(w);
		err->sip_status = 503;
		snprintf(err->reason, sizeof(err->reason), "cannot reach the AGW");
		return rc;
	}
	w->next = px->mwait;
	px->mwait = w;
	return 0;
}

/* The AGW's answer for m if it came: 1 with body (copied into a pool block
 * at *memp) or err filled (-1); 0 when m is not known; 2 when m is a
 * retransmission of one still waiting. */
static int agw_result(struct wims_proxy *px, const struct wims_sip_msg *m, char **memp, struct wims_str *body,
		      struct wims_mctl_err *err)
{
	struct px_mwait *w = mwait_find(px, m->raw);
	if (!w)
		return 0;
	if (!w->done)
		return 2;
	mwait_unlink(px, w);
	int rc = 1;
	char *mem = w->failed ? NULL : wims_proxy__mem_get(px);
	if (w->failed || !mem || w->sdp_len > PX_POOL_SIZE) {
		err->sip_status = w->failed ? w->status : 500;
		snprintf(err->reason, sizeof(err->reason), "AGW: %.100s", w->failed ? w->reason : "SDP too large");
		wims_proxy__mem_put(px, mem);
		rc = -1;
	} else {
		memcpy(mem, w->sdp, w->sdp_len);
		*memp = mem;
		*body = wims_str_make(mem, w->sdp_len);
		px->st.media_sdp++;
	}
	return rc; /* w is freed by on_agw_reply, which is re-injecting it now */
}

void wims_proxy__media_delete(struct wims_proxy *px, struct wims_str call_id, uint64_t flow_id)
{
	if ((!px->mc && !px->agw) || !call_id.l)
		return;
	struct wims_mctl_req rq;
	struct wims_mctl_err err;
	char key[MEDIA_KEY_MAX];
	memset(&rq, 0, sizeof(rq));
	memset(&err, 0, sizeof(err));
	rq.op = WIMS_MCTL_DELETE;
	rq.call_id = media_key(key, call_id, flow_id);
	if (px->agw) {
		rq.call_id = call_id; /* rtpengine keys calls by Call-ID and tags itself */
		if (wims_ng_client_send(px->agw, &rq, 3000, on_agw_deleted, NULL))
			wims_log_rl(&rl_media, WIMS_LOG_NOTICE, "media: cannot ask the AGW to delete a call");
		return;
	}
	(void)px->mc->ops->del(px->mc->impl, &rq, &err); /* not found is fine */
}

/* A DTMF digit a browser sent as SIP INFO (JsSIP's default: application/
 * dtmf-relay) leaves toward IMS as RFC 4733 telephone-events in the media,
 * which is what IMS phones and media servers listen to; the INFO is
 * answered here.  Anything else in an INFO passes through. */
static void info_dtmf(struct px_req *r, uint64_t flow_id)
{
	struct wims_proxy *px = r->px;
	const struct wims_sip_msg *m = r->m;
	const struct wims_sip_hdr *ct = wims_sip_msg_hdr(m, WIMS_HDR_CONTENT_TYPE);
	uint8_t event;
	unsigned ms;
	char key[MEDIA_KEY_MAX];
	struct wims_mctl_req rq;
	struct wims_mctl_err err;

	if (!px->mc || !px->mc->ops->dtmf || !ct || !px_proto_is_ws(wims_sip_flow_proto(r->in)))
		return;
	int prc = wims_dtmf_info_parse(wims_str_trim(ct->value), m->body, &event, &ms);
	if (prc) {
		wims_log(WIMS_LOG_DEBUG, "media: INFO body not DTMF (%d): %.*s", prc, (int)m->body.l, m->body.p);
		return;
	}
	fill_req(&rq, m, WIMS_MCTL_QUERY, key, flow_id);
	memset(&err, 0, sizeof(err));
	if (px->mc->ops->dtmf(px->mc->impl, &rq, event, ms, &err)) {
		wims_log_rl(&rl_media, WIMS_LOG_INFO, "media: INFO DTMF passed on as is: %s", err.reason);
		return;
	}
	px->st.dtmf_info++;
	r->reject = 200;
	r->reject_reason = "OK";
}

void wims_proxy__media_request(struct px_req *r)
{
	struct wims_proxy *px = r->px;
	const struct wims_sip_msg *m = r->m;
	struct wims_mctl_req rq;
	struct wims_mctl_err err;
	enum wims_mctl_op op;
	char key[MEDIA_KEY_MAX];
	/* the browser of this pass: the sender, or the flow the request goes to */
	uint64_t flow_id = px_proto_is_ws(wims_sip_flow_proto(r->in)) ? wims_sip_flow_id(r->in) : r->flow_token_id;
	const struct wims_sip_hdr *cid = wims_sip_msg_hdr(m, WIMS_HDR_CALL_ID);

	if (!px->mc && !px->agw)
		return;
	switch (m->method_id) {
	case WIMS_SIP_BYE:
		if (cid)
			wims_proxy__media_delete(px, wims_str_trim(cid->value), flow_id);
		return;
	case WIMS_SIP_INFO:
		info_dtmf(r, flow_id);
		return;
	case WIMS_SIP_INVITE:
	case WIMS_SIP_UPDATE:
		op = WIMS_MCTL_OFFER;
		break;
	case WIMS_SIP_ACK:
	case WIMS_SIP_PRACK:
		op = WIMS_MCTL_ANSWER;
		break;
	default:
		return;
	}
	if (!has_sdp(m))
		return;
	fill_req(&rq, m, op, key, flow_id);
	memset(&err, 0, sizeof(err));
	struct wims_str body;
	int rc;
	if (px->agw) {
		rq.call_id = wims_str_trim(cid->value); /* the AGW keys calls by Call-ID and tags */
		int g = agw_result(px, m, &r->media_mem, &body, &err);
		if (g == 0 && agw_ask(px, m, r->in, &rq, px_proto_is_ws(r->out.proto), &err) == 0)
			g = 2;
		if (g == 2) {
			r->deferred = true;
			return;
		}
		rc = g == 1 ? 0 : -EIO;
	} else {
		rc = run(px, &rq, &r->media_mem, &body, &err);
	}
	if (rc) {
		px->st.media_failed++;
		wims_log_rl(&rl_media, WIMS_LOG_NOTICE, "media: %s for Call-ID %.*s failed: %s",
			    op == WIMS_MCTL_OFFER ? "offer" : "answer", (int)rq.call_id.l, rq.call_id.p,
			    err.reason[0] ? err.reason : strerror(-rc));
		if (m->method_id == WIMS_SIP_ACK)
			return; /* an ACK cannot be refused; the call has no media */
		r->reject = err.sip_status ? (unsigned)err.sip_status : 488;
		r->reject_reason = r->reject == 503 ? "Media Capacity Exhausted"
			     : r->reject == 488 ? "Not Acceptable Here" : "Media Gateway Error";
		return;
	}
	r->ed.new_body = body;
	r->ed.body_set = true;
}

bool wims_proxy__media_response(struct wims_proxy *px, struct px_tsx *t, const struct wims_sip_msg *m,
				struct wims_sip_edits *ed, char **memp)
{
	struct wims_mctl_req rq;
	struct wims_mctl_err err;
	char key[MEDIA_KEY_MAX];
	bool browser_uac = px_proto_is_ws(t->up.proto);
	uint64_t flow_id = browser_uac && t->up.flow ? wims_sip_flow_id(t->up.flow) : t->flow_token_id;
	const struct wims_sip_hdr *cid = wims_sip_msg_hdr(m, WIMS_HDR_CALL_ID);

	if ((!px->mc && !px->agw) || !cid)
		return false;
	if (t->method == WIMS_SIP_INVITE && m->status >= 300) {
		if (t->initial_invite)
			wims_proxy__media_delete(px, wims_str_trim(cid->value), flow_id);
		return false;
	}
	if (m->status < 180 || m->status >= 300 || !has_sdp(m) ||
	    (t->method != WIMS_SIP_INVITE && t->method != WIMS_SIP_UPDATE && t->method != WIMS_SIP_PRACK))
		return false;
	fill_req(&rq, m, t->req_sdp ? WIMS_MCTL_ANSWER : WIMS_MCTL_OFFER, key, flow_id);
	memset(&err, 0, sizeof(err));
	struct wims_str body;
	int rc;
	if (px->agw) {
		rq.call_id = wims_str_trim(cid->value);
		int g = agw_result(px, m, memp, &body, &err);
		if (g == 0 && px->resp_in && agw_ask(px, m, px->resp_in, &rq, browser_uac, &err) == 0)
			g = 2;
		if (g == 2)
			return true; /* forwarded when the AGW answered */
		rc = g == 1 ? 0 : -EIO;
	} else {
		rc = run(px, &rq, memp, &body, &err);
	}
	if (rc) {
		px->st.media_failed++;
		wims_log_rl(&rl_media, WIMS_LOG_NOTICE, "media: SDP of a %u response for Call-ID %.*s: %s",
			    m->status, (int)rq.call_id.l, rq.call_id.p, err.reason[0] ? err.reason : "failed");
		return false;
	}
	ed->new_body = body;
	ed->body_set = true;
	return false;
}

bool wims_proxy__media_has_sdp(const struct wims_sip_msg *m)
{
	return has_sdp(m);
}
