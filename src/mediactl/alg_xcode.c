/* Codec negotiation with transcoding (issue 5): where the browser and the
 * IMS phone share no audio codec the gateway decodes and re-encodes.
 *
 *  browser offer -> IMS   the browser's codecs are offered as they are, and
 *                         the IMS codecs of the preference after them, in
 *                         its order (+ telephone-event/16000 with AMR-WB);
 *                         the IMS answer picks.  A shared codec passes
 *                         through; AMR-WB/AMR is paired with the browser
 *                         codec the preference puts first among those of the
 *                         same band (Opus wideband, G.711 narrowband), or
 *                         else with the first the browser has.
 *  IMS offer -> browser   with an audio codec a browser decodes, passed
 *                         through; with AMR-WB/AMR only, the IMS codec the
 *                         preference puts first is kept and the browser is
 *                         offered the browser codecs of the preference (and
 *                         telephone-event); its answer is paired likewise.
 *
 * The preference is [media] codec_prefer (wims_alg_opts.prefer), or per call
 * the ng codec -> transcode/offer list: its IMS codecs are exactly those
 * added to an offer toward IMS, in its order, and its browser codecs, if any,
 * order the pairing and the browser offer.
 *
 * Over ng only, a G.711 codec the list names that an Opus offer lacks is
 * added to the offer toward the plain leg as well (with telephone-event/8000
 * when the offer has it for Opus); an answer picking it first is transcoded
 * Opus <-> G.711.  The roles' automatic mode never needs this (browsers speak
 * G.711 themselves).
 *
 * The AMR parameters of the answer toward IMS echo the offer's (RFC 4867
 * §8.3.1); telephone-event keeps the clock of the audio codec on each side
 * (RFC 4733 §2.1); the browser's Opus fmtp drives the Opus encoder that
 * sends to it (RFC 7587 §6.1). */
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

static const struct wims_codec_pref default_pref = {
	5, {WIMS_CODEC_OPUS, WIMS_CODEC_AMRWB, WIMS_CODEC_PCMA, WIMS_CODEC_PCMU, WIMS_CODEC_AMR}};

/* The call's order of one side's codecs (amr: the IMS side): the codecs of
 * that side on the ng codec -> transcode/offer list, in its order, else the
 * configuration's.  strict: an ng list without codecs of that side gives none. */
static void side_pref(const struct wims_alg *a, const struct wims_mctl_flags *f, bool amr, bool strict,
		      struct wims_codec_pref *out)
{
	out->n = 0;
	for (unsigned i = 0; i < f->n_codec_offer && out->n < WIMS_CODEC__COUNT; i++) {
		const struct wims_codec_desc *d = wims_codec_find(f->codec_offer[i]);
		if (d && wims_codec_is_amr(d->id) == amr && wims_codec_pref_rank(out, d->id) < 0)
			out->id[out->n++] = d->id;
	}
	if (out->n || (strict && f->n_codec_offer))
		return;
	const struct wims_codec_pref *p = a->o.prefer.n ? &a->o.prefer : &default_pref;
	for (unsigned i = 0; i < p->n && i < WIMS_CODEC__COUNT; i++)
		if (wims_codec_is_amr(p->id[i]) == amr)
			out->id[out->n++] = p->id[i];
}

static bool has_enc(const struct wims_sdp_codec *k, unsigned n, const char *enc, uint32_t clock)
{
	for (unsigned i = 0; i < n; i++)
		if (wims_str_eqic(k[i].enc, enc) && (!clock || k[i].clock == clock))
			return true;
	return false;
}

static bool has_pt(const struct wims_sdp_codec *k, unsigned n, unsigned pt)
{
	for (unsigned i = 0; i < n; i++)
		if (k[i].pt == pt)
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

static void keep_opus_fmtp(struct alg_med *md, const struct wims_sdp_codec *k, unsigned n)
{
	md->xc_opus_fmtp[0] = 0;
	for (unsigned i = 0; i < n; i++)
		if (wims_str_eqic(k[i].enc, "opus") &&
		    wims_str_copy(md->xc_opus_fmtp, sizeof(md->xc_opus_fmtp), k[i].fmtp))
			md->xc_opus_fmtp[0] = 0;
}

static bool is_g711(enum wims_codec_id id)
{
	return id == WIMS_CODEC_PCMU || id == WIMS_CODEC_PCMA;
}

/* ng: the G.711 codecs of the codec -> transcode list an Opus offer lacks,
 * appended in the list's order (static PT when free); md->xc_g711 says which. */
static unsigned offer_g711(struct alg_med *md, struct wims_sdp_codec *k, unsigned kept, unsigned cap,
			   const struct wims_mctl_flags *f)
{
	if (!has_enc(k, kept, "opus", 48000))
		return kept;
	for (unsigned x = 0; x < f->n_codec_offer && kept < cap; x++) {
		const struct wims_codec_desc *d = wims_codec_find(f->codec_offer[x]);
		if (!d || !is_g711(d->id) || has_enc(k, kept, d->name, 8000))
			continue;
		uint8_t pt = d->id == WIMS_CODEC_PCMU ? 0 : 8;
		if (has_pt(k, kept, pt) && !(pt = free_pt(k, kept)))
			break;
		set_codec(&k[kept++], pt, d->name, 8000, 1, NULL);
		md->xc_g711 |= d->id == WIMS_CODEC_PCMU ? 1 : 2;
	}
	if (md->xc_g711 && kept < cap && has_enc(k, kept, "telephone-event", 48000) &&
	    !has_enc(k, kept, "telephone-event", 8000)) {
		uint8_t pt = free_pt(k, kept);
		if (pt)
			set_codec(&k[kept++], pt, "telephone-event", 8000, 1, "0-15");
	}
	return kept;
}

unsigned alg__xc_offer_ims(struct wims_alg *a, struct alg_call *c, int ol, unsigned i,
			   struct wims_sdp_codec *k, unsigned kept, unsigned cap,
			   const struct wims_mctl_flags *f)
{
	struct alg_med *md = &c->med[i];
	int al = 1 - ol;
	md->xc_g711 = 0;
	if (md->video || c->leg[al].kind == WIMS_MT_WEBRTC || !wants_transcoding(a, f))
		return kept;
	keep_opus_fmtp(md, k, kept);
	kept = offer_g711(md, k, kept, cap, f);
	if (has_enc(k, kept, "AMR-WB", 0) || has_enc(k, kept, "AMR", 0))
		return kept; /* the offerer speaks AMR itself */
	struct wims_codec_pref ims;
	side_pref(a, f, true, true, &ims);
	side_pref(a, f, false, false, &md->xc_bpref);
	bool wb_added = false, te = has_enc(k, kept, "telephone-event", 0);
	for (unsigned x = 0; x < ims.n && kept < cap; x++) {
		bool wb = ims.id[x] == WIMS_CODEC_AMRWB;
		uint8_t *slot = wb ? &md->xc_amrwb_pt : &md->xc_amr_pt;
		uint8_t pt = *slot ? *slot : free_pt(k, kept);
		if (!pt)
			break;
		set_codec(&k[kept++], pt, wb ? "AMR-WB" : "AMR", wb ? 16000 : 8000, 1, AMR_FMTP);
		*slot = pt;
		wb_added |= wb;
	}
	if (te && wb_added && kept < cap) {
		uint8_t pt = md->xc_te16_pt ? md->xc_te16_pt : free_pt(k, kept);
		if (pt) {
			set_codec(&k[kept++], pt, "telephone-event", 16000, 1, "0-15");
			md->xc_te16_pt = pt;
		}
	}
	return kept;
}

/* The IMS codec of an offer a browser cannot decode: the first of pref the
 * offer has, else AMR-WB, then AMR. */
static const struct wims_sdp_codec *ims_codec(const struct wims_sdp_codec *k, unsigned n,
					      const struct wims_codec_pref *pref)
{
	for (unsigned p = 0; p < pref->n + 2u; p++) {
		enum wims_codec_id id = p < pref->n ? pref->id[p] : WIMS_CODEC_AMRWB;
		if (p == pref->n + 1u)
			id = WIMS_CODEC_AMR;
		const struct wims_codec_desc *d = wims_codec_get(id);
		for (unsigned i = 0; d && i < n; i++)
			if (wims_str_eqic(k[i].enc, d->name))
				return &k[i];
	}
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
	struct wims_codec_pref ip;
	(void)ol;
	if (!wants_transcoding(a, f))
		return 0;
	side_pref(a, f, true, false, &ip);
	const struct wims_sdp_codec *ims = ims_codec(k, n, &ip);
	if (!ims || cap < 5)
		return 0;
	md->xc_for_browser = true;
	md->xc_ims.pt = ims->pt;
	md->xc_ims.clock = ims->clock;
	md->xc_ims.channels = 1;
	if (wims_str_copy(md->xc_ims.enc, sizeof(md->xc_ims.enc), ims->enc) ||
	    wims_str_copy(md->xc_ims_fmtp, sizeof(md->xc_ims_fmtp), ims->fmtp))
		md->xc_ims_fmtp[0] = 0;
	md->xc_ims_te = te_of(k, n, ims->clock);
	side_pref(a, f, false, false, &md->xc_bpref);
	/* what every browser decodes (RFC 7874) in the preference's order,
	 * numbered as Chrome does, then telephone-event for their clocks */
	unsigned o = 0;
	bool wb = false, nb = false;
	for (unsigned p = 0; p < md->xc_bpref.n; p++) {
		enum wims_codec_id id = md->xc_bpref.id[p];
		if (id == WIMS_CODEC_OPUS)
			set_codec(&k[o++], 111, "opus", 48000, 2, OPUS_FMTP);
		else
			set_codec(&k[o++], id == WIMS_CODEC_PCMU ? 0 : 8, id == WIMS_CODEC_PCMU ? "PCMU" : "PCMA",
				  8000, 1, NULL);
		wb |= id == WIMS_CODEC_OPUS;
		nb |= id != WIMS_CODEC_OPUS;
	}
	if (wb)
		set_codec(&k[o++], 110, "telephone-event", 48000, 1, "0-15");
	if (nb)
		set_codec(&k[o++], 126, "telephone-event", 8000, 1, "0-15");
	return (int)o;
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
		(void)wims_opus_fmtp_apply(fmtp, &s->params); /* of the browser, that decodes it */
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

static bool wideband(enum wims_codec_id id)
{
	return id == WIMS_CODEC_OPUS || id == WIMS_CODEC_AMRWB;
}

/* The browser's codec to pair with IMS codec ims: the first of the call's
 * browser preference of the same band, else the first of it, else Opus, PCMA,
 * PCMU (an ng list naming only G.711 the offer lacks); from a
 * browser's answer k (its Opus fmtp in *fmtp) or from its offer (md). */
static const struct alg_codec *browser_pick(const struct alg_med *md, const struct wims_sdp_codec *k,
					    unsigned n, enum wims_codec_id ims, struct alg_codec *tmp,
					    struct wims_str *fmtp)
{
	const struct wims_codec_pref *pref = &md->xc_bpref;
	*fmtp = wims_str_c(md->xc_opus_fmtp);
	static const enum wims_codec_id any[] = {WIMS_CODEC_OPUS, WIMS_CODEC_PCMA, WIMS_CODEC_PCMU};
	for (unsigned p = 0; p < 2u * pref->n + 3u; p++) {
		enum wims_codec_id id = p < 2u * pref->n ? pref->id[p % pref->n] : any[p - 2u * pref->n];
		if (p < pref->n && wideband(id) != wideband(ims))
			continue;
		const char *name = wims_codec_get(id)->name;
		for (unsigned j = 0; k && j < n; j++) /* from an answer */
			if (wims_str_eqic(k[j].enc, name)) {
				tmp->pt = k[j].pt;
				tmp->clock = k[j].clock;
				snprintf(tmp->enc, sizeof(tmp->enc), "%s", name);
				*fmtp = k[j].fmtp;
				return tmp;
			}
		for (unsigned j = 0; !k && j < md->ncodecs; j++)
			if (!strcasecmp(md->codecs[j].enc, name))
				return &md->codecs[j];
	}
	return NULL;
}

/* The Opus of the offer a G.711 codec was added to (its fmtp in *fmtp). */
static const struct alg_codec *offered_opus(const struct alg_med *md, struct wims_str *fmtp)
{
	*fmtp = wims_str_c(md->xc_opus_fmtp);
	for (unsigned j = 0; j < md->ncodecs; j++)
		if (!strcasecmp(md->codecs[j].enc, "opus"))
			return &md->codecs[j];
	return NULL;
}

static int browser_te(const struct alg_med *md, uint32_t clock)
{
	for (unsigned j = 0; j < md->ncodecs; j++)
		if (!strcasecmp(md->codecs[j].enc, "telephone-event") && md->codecs[j].clock == clock)
			return md->codecs[j].pt;
	return -1;
}

/* IMS answered a browser offer with one of the AMR codecs we appended (or,
 * over ng, the plain side one of the G.711 codecs added to an Opus offer). */
static int answer_from_ims(struct alg_call *c, int ol, unsigned i, const struct wims_sdp_media *m,
			   struct wims_sdp_codec *k, unsigned n, unsigned *out_n, struct wims_mctl_err *err)
{
	struct alg_med *md = &c->med[i];
	const struct wims_sdp_codec *ims = NULL;
	/* by name: IMS phones often answer with their own payload numbers */
	for (unsigned j = 0; j < n && !ims; j++)
		if ((md->xc_amrwb_pt && wims_str_eqic(k[j].enc, "AMR-WB")) ||
		    (md->xc_amr_pt && wims_str_eqic(k[j].enc, "AMR")) ||
		    ((md->xc_g711 & 1) && wims_str_eqic(k[j].enc, "PCMU")) ||
		    ((md->xc_g711 & 2) && wims_str_eqic(k[j].enc, "PCMA")))
			ims = &k[j];
	if (!ims || (n && !wims_str_eqi(k[0].enc, ims->enc)))
		return 0; /* a shared codec came first: pass it through */
	struct alg_codec tmp;
	struct wims_str bfmtp;
	const struct wims_codec_desc *idesc = wims_codec_find(ims->enc);
	if (!idesc)
		return 0;
	const struct alg_codec *b = is_g711(idesc->id) ? offered_opus(md, &bfmtp)
						       : browser_pick(md, NULL, 0, idesc->id, &tmp, &bfmtp);
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
	if (side_cfg(&bs, b->enc, b->pt, bte, bfmtp, 20) ||
	    side_cfg(&is, idesc->name, ims->pt, ite, ims->fmtp,
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
	struct wims_str bfmtp;
	enum wims_codec_id iid = !strcasecmp(md->xc_ims.enc, "AMR") ? WIMS_CODEC_AMR : WIMS_CODEC_AMRWB;
	const struct alg_codec *b = browser_pick(md, k, n, iid, &tmp, &bfmtp);
	if (!b) {
		alg__err(err, 488, "the browser answered no codec the gateway transcodes");
		return -ENOTSUP;
	}
	int bte = te_of(k, n, b->clock);
	struct wims_xcode_side bs, is;
	if (side_cfg(&bs, b->enc, b->pt, bte, bfmtp, 20) ||
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
	if (md->xc_amrwb_pt || md->xc_amr_pt || md->xc_g711)
		return answer_from_ims(c, ol, i, m, k, n, out_n, err);
	return 0;
}

int wims_alg_xcode_cfg(struct wims_alg *a, struct wims_str call_id, unsigned stream, unsigned side,
		       struct wims_xcode_cfg *cfg)
{
	for (struct wims_hnode *n = wims_hash_find(&a->calls, wims_hash_str(call_id)); n;
	     n = wims_hash_next_same(n)) {
		const struct alg_call *c = (const struct alg_call *)n;
		if (!wims_str_eqc(call_id, c->call_id))
			continue;
		if (stream >= c->nmed || side > 1)
			return -ENOENT;
		const struct wims_media_xc *x = &c->conf.s[stream].xc[side];
		if (!x->on)
			return -ENODATA;
		*cfg = x->cfg;
		return 0;
	}
	return -ENOENT;
}
