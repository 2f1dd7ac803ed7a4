/* ng datagrams end to end against a mock AGW: cookie split, bencode parse,
 * request mapping, the ops dispatch and every reply writer.  Each reply must
 * be "<cookie> <sorted bencode dict>"; each parsed request, encoded again
 * the client's way, must parse back to the same command. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mediactl/ng.h"

/* assert() vanishes under NDEBUG (RelWithDebInfo): check always */
static void need(bool ok)
{
	if (!ok)
		abort();
}

static int f_sdp(void *impl, const struct wims_mctl_req *rq, struct wims_wbuf *out, struct wims_mctl_err *err)
{
	if (rq->sdp.l % 7 == 3) {
		snprintf(err->reason, sizeof(err->reason), "no");
		return -22;
	}
	if (rq->flags.n_codec_strip)
		snprintf(err->unknown_flags, sizeof(err->unknown_flags), "%.*s", (int)rq->flags.codec_strip[0].l,
			 rq->flags.codec_strip[0].p);
	wims_wbuf_putstr(out, rq->sdp);
	return 0;
}

static int f_del(void *impl, const struct wims_mctl_req *rq, struct wims_mctl_err *err)
{
	return rq->call_id.l % 2 ? -2 : 0;
}

static int f_query(void *impl, const struct wims_mctl_req *rq, struct wims_mctl_query *q, struct wims_mctl_err *err)
{
	/* streams whose tags and addresses come from the request */
	q->nstreams = (unsigned)(rq->call_id.l % (WIMS_MCTL_MAX_STATS + 1));
	for (unsigned i = 0; i < q->nstreams; i++) {
		struct wims_mctl_stream_stats *s = &q->s[i];

		s->tag = i % 2 ? rq->from_tag : rq->to_tag;
		s->media_index = i % 3 + 1;
		s->media_type = rq->via_branch;
		snprintf(s->local, sizeof(s->local), "%.*s", (int)(rq->call_id.l < 63 ? rq->call_id.l : 63),
			 rq->call_id.p);
		snprintf(s->remote, sizeof(s->remote), "%.*s", (int)(rq->from_tag.l < 63 ? rq->from_tag.l : 63),
			 rq->from_tag.p);
		s->packets_in = UINT64_MAX / (i + 1);
	}
	return 0;
}

static int f_list(void *impl, unsigned limit, wims_mctl_list_h *h, void *arg)
{
	const struct wims_str *cid = impl;

	for (unsigned i = 0; i < limit && i < 3000; i++)
		h(*cid, arg);
	return 0;
}

static const struct wims_mctl_ops ops = {f_sdp, f_sdp, f_del, f_query, f_list, NULL};
static struct wims_ng_scratch scratch;
static struct wims_bc_node nodes[WIMS_NG_MAX_NODES];
static char reply[WIMS_NG_MAX_DGRAM];
static char reenc[2 * WIMS_NG_MAX_DGRAM];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wims_str dgram = wims_str_make((const char *)data, size), cookie, body, rc2, rb2;
	struct wims_str cid = wims_str_c("x");
	struct wims_mediactl mc = {&ops, &cid};
	struct wims_wbuf b;
	struct wims_bc_doc doc;
	struct wims_ng_req r, r2;
	const char *reason;
	size_t used;
	bool is_err;

	if (size > WIMS_NG_MAX_DGRAM)
		return 0;
	wims_wbuf_init(&b, reply, sizeof(reply));
	if (wims_ng_handle(&mc, dgram, &b, &scratch, &is_err) != 0)
		return 0;
	need(!b.err);
	need(wims_ng_split(wims_wbuf_str(&b), &rc2, &rb2) == 0);
	need(wims_bc_parse(&doc, nodes, WIMS_NG_MAX_NODES, rb2, &used) == 0 && used == rb2.l);
	need(nodes[0].type == WIMS_BC_DICT && wims_bc_sorted(&doc, &nodes[0]));

	/* the client's encoding of the same request */
	if (wims_ng_split(dgram, &cookie, &body) != 0 ||
	    wims_ng_parse_req(&r, scratch.nodes, WIMS_NG_MAX_NODES, body, &reason) != 0)
		return 0;
	wims_wbuf_init(&b, reenc, sizeof(reenc));
	wims_ng_encode_req(&b, &r.rq);
	need(!b.err);
	need(wims_bc_parse(&doc, nodes, WIMS_NG_MAX_NODES, wims_wbuf_str(&b), &used) == 0);
	need(wims_bc_sorted(&doc, &nodes[0]));
	need(wims_ng_parse_req(&r2, nodes, WIMS_NG_MAX_NODES, wims_wbuf_str(&b), &reason) == 0);
	need(r2.rq.op == r.rq.op && wims_str_eq(r2.rq.call_id, r.rq.call_id) && wims_str_eq(r2.rq.sdp, r.rq.sdp));
	need(r2.rq.flags.ice == r.rq.flags.ice && r2.rq.flags.proto == r.rq.flags.proto);
	return 0;
}
