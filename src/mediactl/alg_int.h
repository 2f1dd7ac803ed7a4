/* Internals of the in-process ALG (alg.c: calls; alg_sdp.c: offer/answer). */
#ifndef WIMS_MEDIACTL_ALG_INT_H
#define WIMS_MEDIACTL_ALG_INT_H

#include "base/hash.h"
#include "mediactl/alg.h"
#include "sdp/sdp.h"

#define ALG_TAG_MAX 128
#define ALG_MAX_CODECS WIMS_SDP_MAX_FMTS

struct alg_codec {
	uint8_t pt, channels;
	uint8_t fwd_pt;          /* the PT we forwarded it as (bundle collisions renumber) */
	uint32_t clock;
	char enc[24];
};

struct alg_leg {
	char tag[ALG_TAG_MAX];
	enum wims_media_tkind kind;
	bool bundle;            /* WebRTC: its media share transport btp */
	int btp;
	uint32_t sess_version;  /* o= version of the SDP we send toward this leg */
	/* SDES: the key we send with toward this leg, as offered/answered */
	int sdes_profile;
	char sdes_line[160];
	uint32_t sdes_tag;
};

struct alg_med {
	char type[16];
	bool rejected, video;
	uint32_t clock;          /* of the first codec, for jitter in ms */
	char mid[2][32];         /* per leg */
	int tp[2];               /* transport index per leg */
	unsigned ncodecs;        /* what the last offerer listed (answer mapping) */
	struct alg_codec codecs[ALG_MAX_CODECS];
	/* transcoding (alg_xcode.c) */
	uint8_t xc_amrwb_pt, xc_amr_pt, xc_te16_pt; /* appended to an IMS offer (0: none) */
	uint8_t xc_g711;         /* ng: PCMU (1), PCMA (2) appended to an Opus offer */
	bool xc_for_browser;     /* a browser offer made of our codecs for an IMS-only offer */
	struct alg_codec xc_ims; /* ...and the IMS offer's codec it will be transcoded to */
	char xc_ims_fmtp[160];
	int xc_ims_te;           /* its telephone-event PT with the same clock, -1 none */
	struct wims_codec_pref xc_bpref; /* the browser codecs to pair with, preferred first */
	char xc_opus_fmtp[160];  /* a browser offer's Opus fmtp: drives our Opus encoder */
};

struct alg_call {
	struct wims_hnode hn;    /* first: the hash node is the call */
	struct wims_alg *a;
	char call_id[256];
	struct wims_media_sess *sess;
	struct wims_media_sessconf conf;
	unsigned applied_tp;     /* transports the engine owns (their fds) */
	char tls_id[WIMS_MEDIA_MAX_TRANSPORTS][80]; /* the peer's a=tls-id per transport */
	char our_tls_id[WIMS_MEDIA_MAX_TRANSPORTS][24]; /* ours (RFC 8842), new with each association */
	struct alg_leg leg[2];
	unsigned nmed;
	struct alg_med med[WIMS_MEDIA_MAX_STREAMS];
	int offer_leg;           /* leg whose offer awaits an answer, -1 */
	int answered_leg;        /* offerer of the last completed offer/answer, -1 */
	uint64_t created, last_signal;
	uint64_t sess_id;
};

struct wims_alg {
	struct wims_mediactl ctl;
	struct wims_media *m;
	struct wims_alg_opts o;
	unsigned timeout_s;
	struct wims_hash calls;
	/* working memory for one offer/answer at a time (signalling thread) */
	struct wims_sdp sdp;
	struct wims_sdp_out_store st;
	struct wims_sdp_codec codecs[WIMS_SDP_MAX_MEDIA][WIMS_SDP_MAX_FMTS];
	struct wims_str attrs[WIMS_SDP_MAX_MEDIA][WIMS_SDP_MAX_ATTRS];
	struct wims_sdp_cand cand[WIMS_SDP_MAX_MEDIA][WIMS_MEDIA_MAX_ADDRS];
	char hosts[WIMS_MEDIA_MAX_ADDRS][WIMS_ADDR_STRLEN]; /* the media addresses, for candidates */
	struct wims_sdp_fingerprint fp;
	struct wims_sdp_crypto crypto[WIMS_SDP_MAX_MEDIA];
	struct wims_str bundle[WIMS_SDP_MAX_MEDIA];
	char host[WIMS_ADDR_STRLEN];
	char fpval[WIMS_MEDIA_FP_MAX];
	char msid[WIMS_SDP_MAX_MEDIA][64];
	char ssrc[WIMS_SDP_MAX_MEDIA][64]; /* a=ssrc toward a browser */
};

/* A fresh a=tls-id value for transport ti (RFC 8842 §4: random, at least 120 bits). */
void alg__new_tls_id(struct alg_call *c, unsigned ti);

/* alg_sdp.c: the SSRC the engine sends leg `to` in medium i (0: the
 * sender's, unchanged); the SDP toward that leg announces it. */
uint32_t alg__ssrc_out(const struct alg_call *c, unsigned i, int to);

/* The profile an SDP's m-line speaks. */
enum wims_media_tkind alg__kind_of(const struct wims_sdp *s, const struct wims_sdp_media *m);
void alg__err(struct wims_mctl_err *err, int status, const char *reason);

/* alg_xcode.c: transcoding where the two sides share no audio codec */
unsigned alg__xc_offer_ims(struct wims_alg *a, struct alg_call *c, int ol, unsigned i,
			   struct wims_sdp_codec *k, unsigned kept, unsigned cap,
			   const struct wims_mctl_flags *f);
int alg__xc_offer_browser(struct wims_alg *a, struct alg_call *c, int ol, unsigned i,
			  struct wims_sdp_codec *k, unsigned n, unsigned cap, const struct wims_mctl_flags *f);
int alg__xc_answer(struct wims_alg *a, struct alg_call *c, int ol, unsigned i,
		   const struct wims_sdp_media *m, struct wims_sdp_codec *k, unsigned n, unsigned *out_n,
		   struct wims_mctl_err *err);
int alg__offer(struct wims_alg *a, struct alg_call *c, int ol, const struct wims_sdp *sdp,
	       const struct wims_mctl_flags *f, struct wims_wbuf *out, struct wims_mctl_err *err);
int alg__answer(struct wims_alg *a, struct alg_call *c, int ol, const struct wims_sdp *sdp,
		const struct wims_mctl_flags *f, struct wims_wbuf *out, struct wims_mctl_err *err);

#endif
