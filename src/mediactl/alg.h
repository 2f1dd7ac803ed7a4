/* The in-process IMS-ALG: offer/answer between a WebRTC leg and an IMS leg
 * (TS 23.334 §6.2.x, RFC 8827, RFC 7983), anchoring every stream in this
 * wimsd's media engine.  Served through struct wims_mediactl, so the proxy
 * roles and the ng server (for Kamailio's rtpengine module) use it alike. */
#ifndef WIMS_MEDIACTL_ALG_H
#define WIMS_MEDIACTL_ALG_H

#include "media/media.h"
#include "mediactl/mediactl.h"

struct wims_alg_opts {
	/* what an IMS leg gets when a request does not say: RTP/AVP, or
	 * RTP/SAVP with SDES keys */
	bool core_sdes;
	unsigned max_calls;
	/* transcode Opus/G.711 <-> AMR-WB/AMR where the sides share no audio
	 * codec: offer AMR-WB and AMR to IMS beside the browser's codecs, and
	 * browser codecs to a browser for an AMR-only IMS offer */
	bool transcode;
	/* [media] codec_prefer: the order of the transcoding pairs and of the
	 * codecs added to an offer (n == 0: opus, AMR-WB, PCMA, PCMU, AMR) */
	struct wims_codec_pref prefer;
};

struct wims_alg;

/** The ALG over engine m (not owned). */
int wims_alg_new(struct wims_alg **ap, struct wims_media *m, const struct wims_alg_opts *o)
	__attribute__((warn_unused_result));
/** Delete every call and free. */
void wims_alg_free(struct wims_alg *a);
/** Its media control interface (valid while a lives). */
struct wims_mediactl *wims_alg_ctl(struct wims_alg *a);
/** For the log line of a media timeout only. */
void wims_alg_set_timeout(struct wims_alg *a, unsigned timeout_s);
/** Number of calls. */
unsigned wims_alg_calls(const struct wims_alg *a);
/** The transcoder configuration of stream `stream` (0-based m-line) for
 * the packets arriving from side `side` (0: the leg that made the call's first
 * offer, 1: the other): what the offer/answer decided (for tests and
 * diagnostics).  0, -ENOENT (no such call or stream), -ENODATA (that direction
 * is not transcoded). */
int wims_alg_xcode_cfg(struct wims_alg *a, struct wims_str call_id, unsigned stream, unsigned side,
		       struct wims_xcode_cfg *cfg) __attribute__((warn_unused_result));
/** The engine reports a session event (a timeout): call from the engine's event handler. */
void wims_alg_media_event(struct wims_alg *a, struct wims_media_sess *s, enum wims_media_event ev);

#endif
