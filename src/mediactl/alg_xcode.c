/* Codec negotiation with transcoding (issue 5): where the browser and the
 * IMS phone share no audio codec the gateway decodes and re-encodes.
 *
 *  browser offer -> IMS   the browser's codecs are offered as they are, and
 *                         AMR-WB and AMR (+ telephone-event/16000) after
 *                         them; the IMS answer picks.  A shared codec passes
 *                         through; AMR-WB/AMR is paired with Opus (wideband
 *                         first) or G.711.
 *  IMS offer -> browser   with an audio codec a browser decodes, passed
 *                         through; with AMR-WB/AMR only, the browser is
 *                         offered Opus, PCMU, PCMA and telephone-event and
 *                         its answer is paired with the IMS codec.
 *
 * The AMR parameters of the answer toward IMS echo the offer's (RFC 4867
 * §8.3.1); telephone-event keeps the clock of the audio codec on each side
 * (RFC 4733 §2.1). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "codec/amr.h"
#include "mediactl/alg_int.h"

static const char AMR_FMTP[] = "mode-change-capability=2;max-red=0";
static const char OPUS_FMTP[] = "minptime=10;useinbandfec=1";

static bool wants_transcoding(const struct wims_alg *a, const struct wims_mctl_flags *f)
{
	if (f->n_codec_offer)
		return true; /* ng: codec-transcode-X / codec-offer-X */
	return a->o.transcode && f->transcode_auto;
}

static bool offered(const struct wims_mctl_flags *f, const char *name)
{
	if (!f->n_codec_offer)
		return true;
	for (unsigned i = 0; i < f->n_codec_offer; i++)
		if (wims_str_eqic(f->codec_offer[i], name))
			return true;
	return false;
}

static bool has_enc(const struct wims_sdp_codec *k, unsigned n, const char *enc, uint32_t clock)
{
	for (unsigned i = 0; i < n; i++)
		if (wims_str_eqic(k[i].enc, enc) && (!clock || k[i].clock == clock))
			return true;
	return false;
}

static uint8_t free_pt(const struct wims_sdp_codec *k, unsigned n)
{
	for (unsigned pt = 96; pt < 128; pt++) {
		bool used = false;
		for (unsigned i = 0; i < n && !used; i++)
			used = k[i].pt == pt;
		if (!used)
			return (uint8_t)pt;
	}
	return 0;
}

static void set_codec(struct wims_sdp_codec *k, uint8_t pt, const char *enc, uint32_t clock,
		      uint8_t ch, const char *fmtp)
{
	memset(k, 0, sizeof(*k));
	k->pt = pt;
	k->enc = wims_str_c(enc);
	k->clock = clock;
	k->channels = ch;
	k->fmtp = fmtp ? wims_str_c(fmtp) : WIMS_STR_NULL;
}

unsigned alg__xc_offer_ims(struct wims_alg *a, struct alg_call *c, int ol, unsigned i,
			   struct wims_sdp_codec *k, unsigned kept, unsigned cap,
			   const struct wims_mctl_flags *f)
{
	struct alg_med *md = &c->med[i];
	int al = 1 - ol;
	if (md->video || c->leg[al].kind == WIMS_MT_WEBRTC || !wants_transcoding(a, f))
		return kept;
	if (has_enc(k, kept, "AMR-WB", 0) || has_enc(k, kept, "AMR", 0))
		return kept; /* the offerer speaks AMR itself */
	static const struct {
		const char *enc;
		uint32_t clock;
		const char *fmtp;
	} extra[] = {{"AMR-WB", 16000, AMR_FMTP}, {"AMR", 8000, AMR_FMTP}, {"telephone-event", 16000, "0-15"}};
	for (unsigned x = 0; x < 3 && kept < cap; x++) {
		uint8_t *slot = x == 0 ? &md->xc_amrwb_pt : x == 1 ? &md->xc_amr_pt : &md->xc_te16_pt;
		if (x < 2 && !offered(f, extra[x].enc))
			continue;
		if (x == 2 && (!has_enc(k, kept, "telephone-event", 0) || !md->xc_amrwb_pt))
			continue;
		uint8_t pt = *slot ? *slot : free_pt(k, kept);
		if (!pt)
			break;
		set_codec(&k[kept++], pt, extra[x].enc, extra[x].clock, 1, extra[x].fmtp);
		*slot = pt;
	}
	return kept;
}

/* The best IMS codec of an offer a browser cannot decode: AMR-WB, then AMR. */
static const struct wims_sdp_codec *ims_codec(const struct wims_sdp_codec *k, unsigned n)
{
	for (int pass = 0; pass < 2; pass++)
		for (unsigned i = 0; i < n; i++)
			if (wims_str_eqic(k[i].enc, pass ? "AMR" : "AMR-WB"))
				return &k[i];
	return NULL;
}

static int te_of(const struct wims_sdp_codec *k, unsigned n, uint32_t clock)
{
	for (unsigned i = 0; i < n; i++)
		if (wims_str_eqic(k[i].enc, "telephone-event") && k[i].clock == clock)
			return k[i].pt;
	return -1;
}

int alg__xc_offer_browser(struct wims_alg *a, struct alg_call *c, int ol, unsigned i,
			  struct wims_sdp_codec *k, unsigned n, unsigned cap, const struct wims_mctl_flags *f)
{
	struct alg_med *md = &c->med[i];
	const struct wims_sdp_codec *ims = ims_codec(k, n);
	(void)ol;
	if (!ims || cap < 5 || !wants_transcoding(a, f))
		return 0;
	md->xc_for_browser = true;
	md->xc_ims.pt = ims->pt;
	md->xc_ims.clock = ims->clock;
	md->xc_ims.channels = 1;
	if (wims_str_copy(md->xc_ims.enc, sizeof(md->xc_ims.enc), ims->enc) ||
	    wims_str_copy(md->xc_ims_fmtp, sizeof(md->xc_ims_fmtp), ims->fmtp))
		md->xc_ims_fmtp[0] = 0;
	md->xc_ims_te = te_of(k, n, ims->clock);
	/* what every browser decodes (RFC 7874), numbered as Chrome does */
	set_codec(&k[0], 111, "opus", 48000, 2, OPUS_FMTP);
	set_codec(&k[1], 0, "PCMU", 8000, 1, NULL);
	set_codec(&k[2], 8, "PCMA", 8000, 1, NULL);
	set_codec(&k[3], 110, "telephone-event", 48000, 1, "0-15");
	set_codec(&k[4], 126, "telephone-event", 8000, 1, "0-15");
	return 5;
}

/* ---- the answer: configure both directions ---- */

static int side_cfg(struct wims_xcode_side *s, const char *enc, uint8_t pt, int te, struct wims_str fmtp,
		    unsigned ptime)
{
	memset(s, 0, sizeof(*s));
	s->codec = wims_codec_find(wims_str_c(enc));
	if (!s->codec)
		return -ENOTSUP;
	wims_codec_params_init(&s->params);
	s->pt = pt;
	s->te_pt = te;
	s->ptime = ptime;
	if (s->codec->id == WIMS_CODEC_AMR || s->codec->id == WIMS_CODEC_AMRWB) {
		if (wims_amr_fmtp_parse(fmtp, s->codec->id == WIMS_CODEC_AMR ? WIMS_AMR_NB : WIMS_AMR_WB,
					&s->amr))
			return -ENOTSUP; /* crc, robust-sorting, interleaving */
		s->params.mode_set = s->amr.mode_set;
	} else if (s->codec->id == WIMS_CODEC_OPUS) {
		s->params.useinbandfec = true;
	}
	return 0;
}

static void xc_set(struct alg_call *c, unsigned i, int from, const struct wims_xcode_side *in,
		   const struct wims_xcode_side *out)
{
	struct wims_media_xc *x = &c->conf.s[i].xc[from];
	memset(x, 0, sizeof(*x));
	x->on = true;
	x->cfg.in = *in;
	x->cfg.out = *out;
	x->cfg.ssrc = (uint32_t)rand() * 2654435761u + 1;
	x->cfg.seq = (uint16_t)rand();
	x->cfg.ts = (uint32_t)rand();
	x->cfg.reorder_depth = 4;
}

/* The browser's codec to pair with an IMS codec of this clock: Opus for
 * wideband, G.711 for narrowband, whichever the browser has otherwise. */
static const struct alg_codec *browser_pick(const struct alg_med *md, const struct wims_sdp_codec *k,
					    unsigned n, uint32_t ims_clock, struct alg_codec *tmp)
{
	static const char *const wb[] = {"opus", "PCMA", "PCMU"}, *const nb[] = {"PCMA", "PCMU", "opus"};
	const char *const *pref = ims_clock >= 16000 ? wb : nb;
	for (unsigned p = 0; p < 3; p++) {
		if (k) { /* from an answer */
			for (unsigned j = 0; j < n; j++)
				if (wims_str_eqic(k[j].enc, pref[p])) {
					tmp->pt = k[j].pt;
					tmp->clock = k[j].clock;
					snprintf(tmp->enc, sizeof(tmp->enc), "%s", pref[p]);
					return tmp;
				}
			continue;
		}
		for (unsigned j = 0; j < md->ncodecs; j++)
			if (!strcasecmp(md->codecs[j].enc, pref[p]))
				return &md->codecs[j];
	}
	return NULL;
}

static int browser_te(const struct alg_med *md, uint32_t clock)
{
	for (unsigned j = 0; j < md->ncodecs; j++)
		if (!strcasecmp(md->codecs[j].enc, "telephone-event") && md->codecs[j].clock == clock)
			return md->codecs[j].pt;
	return -1;
}

/* IMS answered a browser offer with one of the AMR codecs we appended. */
static int answer_from_ims(struct alg_call *c, int ol, unsigned i, const struct wims_sdp_media *m,
			   struct wims_sdp_codec *k, unsigned n, unsigned *out_n, struct wims_mctl_err *err)
{
	struct alg_med *md = &c->med[i];
	const struct wims_sdp_codec *ims = NULL;
	/* by name: IMS phones often answer with their own payload numbers */
	for (unsigned j = 0; j < n && !ims; j++)
		if ((md->xc_amrwb_pt && wims_str_eqic(k[j].enc, "AMR-WB")) ||
		    (md->xc_amr_pt && wims_str_eqic(k[j].enc, "AMR")))
			ims = &k[j];
	if (!ims || (n && !wims_str_eqi(k[0].enc, ims->enc)))
		return 0; /* a shared codec came first: pass it through */
	struct alg_codec tmp;
	const struct alg_codec *b = browser_pick(md, NULL, 0, ims->clock, &tmp);
	if (!b) {
		alg__err(err, 488, "no browser codec to transcode to");
		return -ENOTSUP;
	}
	unsigned long long ptime = 0;
	const struct wims_sdp_attr *pa = wims_sdp_attrs_find(&m->attrs, "ptime");
	if (pa && wims_str_to_u64(pa->value, 120, &ptime))
		ptime = 0;
	struct wims_xcode_side bs, is;
	int bte = browser_te(md, b->clock), ite = te_of(k, n, ims->clock);
	if (side_cfg(&bs, b->enc, b->pt, bte, wims_str_c(!strcasecmp(b->enc, "opus") ? OPUS_FMTP : ""), 20) ||
	    side_cfg(&is, wims_str_eqic(ims->enc, "AMR") ? "AMR" : "AMR-WB", ims->pt, ite, ims->fmtp,
		     ptime && ptime % 20 == 0 ? (unsigned)ptime : 20)) {
		alg__err(err, 488, "AMR parameters the gateway cannot serve (crc, robust-sorting, interleaving)");
		return -ENOTSUP;
	}
	xc_set(c, i, ol, &bs, &is);
	xc_set(c, i, 1 - ol, &is, &bs);
	wims_log(WIMS_LOG_INFO, "media: call %s transcodes %s <-> %s", c->call_id, b->enc, is.codec->name);
	/* the browser's answer: its codec and the telephone-event of that clock */
	set_codec(&k[0], b->pt, b->enc, b->clock, !strcasecmp(b->enc, "opus") ? 2 : 1,
		  !strcasecmp(b->enc, "opus") ? OPUS_FMTP : NULL);
	*out_n = 1;
	if (bte >= 0)
		set_codec(&k[(*out_n)++], (uint8_t)bte, "telephone-event", b->clock, 1, "0-15");
	return 1;
}

/* A browser answered the offer we made of its codecs for an AMR-only IMS offer. */
static int answer_from_browser(struct alg_call *c, int ol, unsigned i, struct wims_sdp_codec *k,
			       unsigned n, unsigned *out_n, struct wims_mctl_err *err)
{
	struct alg_med *md = &c->med[i];
	struct alg_codec tmp;
	const struct alg_codec *b = browser_pick(md, k, n, md->xc_ims.clock, &tmp);
	if (!b) {
		alg__err(err, 488, "the browser answered no codec the gateway transcodes");
		return -ENOTSUP;
	}
	int bte = te_of(k, n, b->clock);
	struct wims_xcode_side bs, is;
	if (side_cfg(&bs, b->enc, b->pt, bte, wims_str_c(""), 20) ||
	    side_cfg(&is, md->xc_ims.enc, md->xc_ims.pt, md->xc_ims_te, wims_str_c(md->xc_ims_fmtp), 20)) {
		alg__err(err, 488, "AMR parameters the gateway cannot serve (crc, robust-sorting, interleaving)");
		return -ENOTSUP;
	}
	int al = 1 - ol; /* the browser */
	xc_set(c, i, al, &bs, &is);
	xc_set(c, i, ol, &is, &bs);
	/* the answer toward IMS: its codec, the AMR parameters echoed */
	static char fmtp[160];
	if (wims_amr_fmtp_answer(&is.amr, fmtp, sizeof(fmtp)) < 0)
		fmtp[0] = 0;
	set_codec(&k[0], md->xc_ims.pt, md->xc_ims.enc, md->xc_ims.clock, 1, fmtp[0] ? fmtp : NULL);
	*out_n = 1;
	if (md->xc_ims_te >= 0)
		set_codec(&k[(*out_n)++], (uint8_t)md->xc_ims_te, "telephone-event", md->xc_ims.clock, 1, "0-15");
	wims_log(WIMS_LOG_INFO, "media: call %s transcodes %s <-> %s", c->call_id, b->enc, md->xc_ims.enc);
	return 1;
}

int alg__xc_answer(struct wims_alg *a, struct alg_call *c, int ol, unsigned i,
		   const struct wims_sdp_media *m, struct wims_sdp_codec *k, unsigned n, unsigned *out_n,
		   struct wims_mctl_err *err)
{
	struct alg_med *md = &c->med[i];
	struct wims_media_sconf *s = &c->conf.s[i];
	(void)a;
	s->xc[0].on = s->xc[1].on = false;
	if (md->video)
		return 0;
	if (md->xc_for_browser)
		return answer_from_browser(c, ol, i, k, n, out_n, err);
	if (md->xc_amrwb_pt || md->xc_amr_pt)
		return answer_from_ims(c, ol, i, m, k, n, out_n, err);
	return 0;
}
