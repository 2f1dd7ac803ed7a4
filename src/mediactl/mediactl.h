/* Media control: the one interface through which signalling asks an AGW to
 * anchor a call's media (3GPP Iq, rtpengine's "ng" commands).
 *
 * Requests carry the SDP as the signalling saw it and get back the SDP to
 * forward.  Two implementations sit behind struct wims_mediactl: the
 * in-process AGW of this wimsd (alg.c, which uses sdp/ and media/) and, for a
 * remote AGW, the ng protocol over UDP.  The ng *server* (ng.c) exposes the
 * in-process implementation to Kamailio's or OpenSIPS's rtpengine module.
 */
#ifndef WIMS_MEDIACTL_MEDIACTL_H
#define WIMS_MEDIACTL_MEDIACTL_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/str.h"

enum wims_mctl_op {
	WIMS_MCTL_PING,
	WIMS_MCTL_OFFER,
	WIMS_MCTL_ANSWER,
	WIMS_MCTL_DELETE,
	WIMS_MCTL_QUERY,
	WIMS_MCTL_LIST,
};

/* What the SDP sent onward must look like: rtpengine's flags, reduced to
 * their meaning.  A zero-initialised struct means "decide from the SDP": an
 * SDP with ICE/DTLS is a WebRTC leg and becomes RTP/AVP, and the reverse. */
enum wims_mctl_proto {
	WIMS_MCTL_PROTO_AUTO = 0,
	WIMS_MCTL_PROTO_RTP_AVP,       /* plain RTP toward IMS */
	WIMS_MCTL_PROTO_RTP_SAVP,      /* SDES-SRTP toward IMS */
	WIMS_MCTL_PROTO_RTP_AVPF,
	WIMS_MCTL_PROTO_RTP_SAVPF,
	WIMS_MCTL_PROTO_WEBRTC,        /* UDP/TLS/RTP/SAVPF with ICE-lite and DTLS */
};

enum wims_mctl_tristate { WIMS_MCTL_DEFAULT = 0, WIMS_MCTL_FORCE, WIMS_MCTL_REMOVE };

#define WIMS_MCTL_MAX_CODEC_LIST 16

struct wims_mctl_flags {
	enum wims_mctl_proto proto;    /* transport-protocol=... */
	enum wims_mctl_tristate ice;   /* ICE=force|remove */
	enum wims_mctl_tristate dtls;  /* DTLS=off -> REMOVE; passive/active -> FORCE */
	int dtls_setup;                /* 0 auto, 1 active, 2 passive */
	enum wims_mctl_tristate sdes;  /* SDES=off -> REMOVE */
	bool rtcp_mux_offer, rtcp_mux_demux, rtcp_mux_accept, rtcp_mux_require;
	bool replace_origin, replace_session_conn;
	bool strip_extmap;             /* strip-extmap, or always toward plain RTP */
	bool generate_mid;
	bool trust_address;
	bool no_rtcp_attribute;        /* no a=rtcp (some WebRTC stacks refuse it beside rtcp-mux) */
	bool symmetric, asymmetric;
	struct wims_str direction[2];  /* interface names; informational */
	struct wims_str codec_strip[WIMS_MCTL_MAX_CODEC_LIST];
	unsigned n_codec_strip;        /* "all" strips everything not masked back */
	struct wims_str codec_mask[WIMS_MCTL_MAX_CODEC_LIST];
	unsigned n_codec_mask;
	struct wims_str codec_offer[WIMS_MCTL_MAX_CODEC_LIST]; /* transcode/offer */
	unsigned n_codec_offer;
	struct wims_str media_address; /* media-address=... */
	bool transcode_auto;           /* the roles of this wimsd: transcode without being asked */
};

struct wims_mctl_req {
	enum wims_mctl_op op;
	struct wims_str call_id, from_tag, to_tag, via_branch;
	struct wims_str sdp;           /* offer/answer only */
	struct wims_mctl_flags flags;
};

/* Per-stream figures for `query`: one entry per (leg, medium). */
struct wims_mctl_stream_stats {
	struct wims_str tag;           /* the leg's tag (view into the AGW's state) */
	unsigned media_index;          /* 1-based, as rtpengine numbers them */
	struct wims_str media_type;
	char local[64], remote[64];    /* "addr:port" */
	uint64_t packets_in, bytes_in, packets_out, bytes_out, errors;
	uint32_t lost;                 /* cumulative, from the peer's RTCP */
	uint32_t jitter_ms;
	uint32_t rtt_ms;               /* from RTCP SR/RR LSR/DLSR, 0 if unknown */
	uint64_t last_packet_s;        /* wall clock seconds */
};

#define WIMS_MCTL_MAX_STATS 16

struct wims_mctl_query {
	uint64_t created_s, last_signal_s;
	unsigned nstreams;
	struct wims_mctl_stream_stats s[WIMS_MCTL_MAX_STATS];
};

/* Why a request failed, for the ng "error-reason" and for the SIP status a
 * role answers with (488 for SDP that cannot be served, 503 for capacity). */
struct wims_mctl_err {
	int sip_status;                /* 488, 503, 500 */
	char reason[120];
	/* flags the AGW did not understand: reported, not silently ignored */
	char unknown_flags[200];
};

/* A call list entry for `list`. */
typedef void(wims_mctl_list_h)(struct wims_str call_id, void *arg);

struct wims_mctl_ops {
	/* offer/answer: `out` receives the SDP to forward.  0 or -errno with
	 * err filled. */
	int (*offer)(void *impl, const struct wims_mctl_req *rq, struct wims_wbuf *out,
		     struct wims_mctl_err *err);
	int (*answer)(void *impl, const struct wims_mctl_req *rq, struct wims_wbuf *out,
		      struct wims_mctl_err *err);
	/* delete: the whole call when from_tag is empty, else that leg's call */
	int (*del)(void *impl, const struct wims_mctl_req *rq, struct wims_mctl_err *err);
	int (*query)(void *impl, const struct wims_mctl_req *rq, struct wims_mctl_query *q,
		     struct wims_mctl_err *err);
	/* list: up to `limit` call-ids */
	int (*list)(void *impl, unsigned limit, wims_mctl_list_h *h, void *arg);
	/* a DTMF digit (0-15) the leg with rq->from_tag sent out of band (SIP
	 * INFO): played toward the other leg as RFC 4733 telephone-events.
	 * NULL when the AGW cannot. */
	int (*dtmf)(void *impl, const struct wims_mctl_req *rq, uint8_t event, unsigned duration_ms,
		    struct wims_mctl_err *err);
};

struct wims_mediactl {
	const struct wims_mctl_ops *ops;
	void *impl;
};

#endif
