/* SDP (RFC 8866, formerly RFC 4566): a zero-copy parser, accessors for the
 * attributes WebRTC and IMS offer/answer needs, and a writer.
 *
 * Everything the parser and the accessors return is a view (struct wims_str)
 * into the caller's buffer, which must outlive the parsed struct.  Nothing
 * here allocates, does I/O or knows about sockets or media.
 *
 *   struct wims_sdp s;                       // caller-owned, fixed size
 *   if (wims_sdp_parse(&s, body, len) != 0)  // -EBADMSG / -E2BIG, s.err says why
 *           ...;
 *   for (unsigned i = 0; i < s.n_media; i++) { const struct wims_sdp_media *m = &s.media[i]; ... }
 */
#ifndef WIMS_SDP_SDP_H
#define WIMS_SDP_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/str.h"
#include "sdp/limits.h"

/* ---- Parsed form ------------------------------------------------------ */

/* a=<name>[:<value>].  A flag attribute (a=rtcp-mux) has value.p == NULL;
 * "a=x:" has a set, empty value.  raw is "<name>[:<value>]" as written. */
struct wims_sdp_attr {
	struct wims_str name, value, raw;
};

struct wims_sdp_attrs {
	struct wims_sdp_attr a[WIMS_SDP_MAX_ATTRS];
	unsigned n;
};

/* c=<nettype> <addrtype> <addr>[/ttl[/n]].  addr excludes the /ttl part,
 * which is in ttl (unset when absent).  Unset (addr.p NULL) when no c=. */
struct wims_sdp_conn {
	struct wims_str nettype, addrtype, addr, ttl;
};

/* b=<type>:<value>, e.g. AS:64, TIAS:64000, RS:0. */
struct wims_sdp_bw {
	struct wims_str type;
	uint32_t value;
};

struct wims_sdp_origin {
	struct wims_str username, sess_id, sess_version, nettype, addrtype, addr;
};

struct wims_sdp_media {
	struct wims_str line; /* the whole m= value */
	struct wims_str type; /* audio, video, application, ... */
	uint16_t port;
	uint16_t nports;       /* m=audio 5000/2 -> 2; 1 when absent */
	struct wims_str proto; /* RTP/AVP, UDP/TLS/RTP/SAVPF, ... */
	struct wims_str fmts[WIMS_SDP_MAX_FMTS];
	unsigned n_fmts;
	struct wims_str info; /* i= */
	struct wims_sdp_conn c;
	struct wims_sdp_bw bw[WIMS_SDP_MAX_BW];
	unsigned n_bw;
	struct wims_sdp_attrs attrs;
};

struct wims_sdp {
	struct wims_str raw; /* the whole input */
	unsigned version;    /* v= (always 0 once parsed) */
	struct wims_sdp_origin o;
	struct wims_str name;	/* s= */
	struct wims_str info;	/* i= */
	struct wims_sdp_conn c; /* session c=, unset when absent */
	struct wims_sdp_bw bw[WIMS_SDP_MAX_BW];
	unsigned n_bw;
	struct wims_str t_start, t_stop; /* first t= line; unset when absent */
	struct wims_sdp_attrs attrs;	 /* session-level a= */
	struct wims_sdp_media media[WIMS_SDP_MAX_MEDIA];
	unsigned n_media;
	const char *err;   /* static reason when parsing failed */
	unsigned err_line; /* 1-based line of the failure, 0 if none */
};

/** Parse len bytes of p into s (fully overwritten).  Lines end in CRLF or LF;
 * trailing empty lines at the very end are tolerated, empty lines elsewhere
 * are not.  Returns 0, -EBADMSG for malformed input or -E2BIG when a limit of
 * sdp/limits.h is exceeded; on error s->err and s->err_line say why/where.
 * s holds views into p: p must outlive s. */
int wims_sdp_parse(struct wims_sdp *s, const char *p, size_t len) __attribute__((warn_unused_result));

/* ---- Attribute lookup ------------------------------------------------- */

/** First attribute called name (case-insensitive) in a, or NULL. */
const struct wims_sdp_attr *wims_sdp_attrs_find(const struct wims_sdp_attrs *a, const char *name);

/** Iterate the attributes called name: start with *it = 0; returns the next
 * match and advances *it, or NULL at the end. */
const struct wims_sdp_attr *wims_sdp_attrs_next(const struct wims_sdp_attrs *a, const char *name,
						unsigned *it);

/** Attribute name of media section m; when m lacks it and name is one that
 * RFCs allow at session level (ice-ufrag, ice-pwd, ice-lite, ice-options,
 * fingerprint, setup, tls-id, extmap-allow-mixed, ice-pacing), the session
 * one.  m == NULL looks at session level only.  NULL when absent. */
const struct wims_sdp_attr *wims_sdp_attr(const struct wims_sdp *s, const struct wims_sdp_media *m,
					  const char *name);

/** Whether the attribute is present (same fallback as wims_sdp_attr()). */
bool wims_sdp_has(const struct wims_sdp *s, const struct wims_sdp_media *m, const char *name);

/** Value of attribute name as a decimal u32 (a=ptime:20, a=maxptime:240).
 * 0, -ENOENT when absent or -EBADMSG when not a number. */
int wims_sdp_attr_u32(const struct wims_sdp *s, const struct wims_sdp_media *m, const char *name,
		      uint32_t *out) __attribute__((warn_unused_result));

/** The c= that applies to m: its own, else the session's; NULL when
 * neither (m == NULL: the session's). */
const struct wims_sdp_conn *wims_sdp_conn(const struct wims_sdp *s, const struct wims_sdp_media *m);

/** a=mid of m, unset when absent. */
struct wims_str wims_sdp_mid(const struct wims_sdp_media *m);

/** Index of the m= section whose a=mid is mid, or -ENOENT. */
int wims_sdp_media_by_mid(const struct wims_sdp *s, struct wims_str mid);

/* ---- Codecs ----------------------------------------------------------- */

/* A payload type joined from m= fmt, a=rtpmap, a=fmtp and a=rtcp-fb.
 * A dynamic PT without rtpmap has enc unset and clock 0.  channels is 1
 * when the rtpmap gives none.  rtcp_fb holds the values after the PT
 * ("nack pli", "transport-cc"), wildcard (*) entries included. */
struct wims_sdp_codec {
	uint8_t pt;
	struct wims_str enc;
	uint32_t clock;
	uint8_t channels;
	struct wims_str fmtp;
	struct wims_str rtcp_fb[WIMS_SDP_MAX_RTCP_FB];
	unsigned n_rtcp_fb;
};

/** List the codecs of m in m= order into out[cap].  Static payload types
 * without rtpmap get their RFC 3551 names (0 PCMU, 3 GSM, 4 G723, 8 PCMA,
 * 9 G722, 13 CN, 15 G728, 18 G729 at 8000; 26 JPEG, 31 H261, 34 H263 at
 * 90000).  Returns the count, 0 for a non-RTP proto (fmts are not PTs),
 * -EBADMSG for a non-numeric/over-127 or duplicate PT, or a malformed rtpmap
 * of a listed PT, -E2BIG when cap is too small. */
int wims_sdp_codecs(const struct wims_sdp_media *m, struct wims_sdp_codec *out, unsigned cap)
    __attribute__((warn_unused_result));

/** First codec of c[n] whose encoding name is enc (case-insensitive) and,
 * when clock != 0, whose clock rate is clock; NULL when none. */
const struct wims_sdp_codec *wims_sdp_codec_find(const struct wims_sdp_codec *c, unsigned n, const char *enc,
						 uint32_t clock);

/** Value of parameter name in an a=fmtp parameter list ("a=1; b=2"),
 * case-insensitive name.  A parameter without '=' has an empty, set value.
 * 0 or -ENOENT. */
int wims_sdp_fmtp_param(struct wims_str fmtp, const char *name, struct wims_str *val)
    __attribute__((warn_unused_result));

/** Whether proto carries RTP (contains "RTP/"). */
bool wims_sdp_proto_is_rtp(struct wims_str proto);

/* ---- Typed attribute values: each parses one a= value ------------------ */

/* a=candidate (RFC 8839 §5.1).  addr may be an mDNS name (x.local): kept as
 * written, never resolved.  raddr/rport unset/0 when absent; ext is what
 * follows the known fields (generation 0 ufrag ... network-cost ...). */
struct wims_sdp_cand {
	struct wims_str foundation;
	uint16_t component;
	struct wims_str transport; /* UDP, TCP */
	uint32_t priority;
	struct wims_str addr;
	uint16_t port;
	struct wims_str type; /* host, srflx, prflx, relay */
	struct wims_str raddr;
	uint16_t rport;
	struct wims_str tcptype;
	struct wims_str ext;
};

/** Parse an a=candidate value. 0 or -EBADMSG. */
int wims_sdp_cand_parse(struct wims_str v, struct wims_sdp_cand *c) __attribute__((warn_unused_result));

/** Whether a candidate address is an mDNS name (ends in ".local"). */
bool wims_sdp_cand_is_mdns(const struct wims_sdp_cand *c);

/* a=fingerprint:<hash> <value> (RFC 8122). */
struct wims_sdp_fingerprint {
	struct wims_str hash, value;
};

/** Parse an a=fingerprint value. 0 or -EBADMSG. */
int wims_sdp_fingerprint_parse(struct wims_str v, struct wims_sdp_fingerprint *f)
    __attribute__((warn_unused_result));

enum wims_sdp_setup {
	WIMS_SDP_SETUP_NONE = 0, /* absent (writer: not written) */
	WIMS_SDP_SETUP_ACTPASS,
	WIMS_SDP_SETUP_ACTIVE,
	WIMS_SDP_SETUP_PASSIVE,
	WIMS_SDP_SETUP_HOLDCONN,
};

/** a=setup of m (session fallback): the role (WIMS_SDP_SETUP_NONE when
 * absent) or -EBADMSG for an unknown value. */
int wims_sdp_setup(const struct wims_sdp *s, const struct wims_sdp_media *m);

/** Name of a setup role ("actpass", ...), NULL for NONE/unknown. */
const char *wims_sdp_setup_name(enum wims_sdp_setup r);

enum wims_sdp_dir {
	WIMS_SDP_DIR_UNSET = 0, /* writer: not written */
	WIMS_SDP_DIR_SENDRECV,
	WIMS_SDP_DIR_SENDONLY,
	WIMS_SDP_DIR_RECVONLY,
	WIMS_SDP_DIR_INACTIVE,
};

/** Direction of m: its own direction attribute (the last one), else the
 * session's, else sendrecv (RFC 8866 §6.7).  m == NULL: session only. */
enum wims_sdp_dir wims_sdp_direction(const struct wims_sdp *s, const struct wims_sdp_media *m);

/** Name of a direction ("sendrecv", ...), NULL for UNSET. */
const char *wims_sdp_dir_name(enum wims_sdp_dir d);

/* a=group:<semantics> <tag>... (RFC 5888). */
struct wims_sdp_group {
	struct wims_str semantics;
	struct wims_str mids[WIMS_SDP_MAX_GROUP];
	unsigned n;
};

/** Parse an a=group value. 0, -EBADMSG or -E2BIG. */
int wims_sdp_group_parse(struct wims_str v, struct wims_sdp_group *g) __attribute__((warn_unused_result));

/** The session's a=group:BUNDLE (the first). 0, -ENOENT or a parse error. */
int wims_sdp_bundle(const struct wims_sdp *s, struct wims_sdp_group *g) __attribute__((warn_unused_result));

/* a=rtcp:<port> [<nettype> <addrtype> <addr>] (RFC 3605). */
struct wims_sdp_rtcp {
	uint16_t port;
	struct wims_str nettype, addrtype, addr; /* unset when absent */
};

/** Parse an a=rtcp value. 0 or -EBADMSG. */
int wims_sdp_rtcp_parse(struct wims_str v, struct wims_sdp_rtcp *r) __attribute__((warn_unused_result));

/* a=ssrc:<id> <attribute>[:<value>] (RFC 5576). */
struct wims_sdp_ssrc {
	uint32_t id;
	struct wims_str attr, value; /* "cname", "abc"; value unset for a flag */
};

/** Parse an a=ssrc value. 0 or -EBADMSG. */
int wims_sdp_ssrc_parse(struct wims_str v, struct wims_sdp_ssrc *x) __attribute__((warn_unused_result));

/* a=ssrc-group:<semantics> <ssrc>... (RFC 5576). */
struct wims_sdp_ssrc_group {
	struct wims_str semantics; /* FID, SIM, FEC-FR */
	uint32_t ssrcs[WIMS_SDP_MAX_SSRC_GROUP];
	unsigned n;
};

/** Parse an a=ssrc-group value. 0, -EBADMSG or -E2BIG. */
int wims_sdp_ssrc_group_parse(struct wims_str v, struct wims_sdp_ssrc_group *g)
    __attribute__((warn_unused_result));

/* a=msid:<stream id> [<track id>] (RFC 8830). */
struct wims_sdp_msid {
	struct wims_str stream, track; /* track unset when absent */
};

/** Parse an a=msid value. 0 or -EBADMSG. */
int wims_sdp_msid_parse(struct wims_str v, struct wims_sdp_msid *x) __attribute__((warn_unused_result));

/* a=extmap:<id>[/<direction>] <uri> [<ext attributes>] (RFC 8285). */
struct wims_sdp_extmap {
	uint16_t id;
	struct wims_str dir;	     /* unset when absent */
	struct wims_str uri, params; /* params unset when absent */
};

/** Parse an a=extmap value (id 1..255: one- and two-byte headers; 0 and
 * larger ids are rejected). 0 or -EBADMSG. */
int wims_sdp_extmap_parse(struct wims_str v, struct wims_sdp_extmap *x) __attribute__((warn_unused_result));

/* a=crypto:<tag> <suite> <key-params> [<session-params>] (RFC 4568). */
struct wims_sdp_crypto {
	uint32_t tag;
	struct wims_str suite;		/* AES_CM_128_HMAC_SHA1_80 */
	struct wims_str key_params;	/* inline:<key||salt>[|lifetime][|MKI:len] */
	struct wims_str key;		/* the base64 after "inline:" up to '|' */
	struct wims_str session_params; /* unset when absent */
};

/** Parse an a=crypto value. 0 or -EBADMSG. */
int wims_sdp_crypto_parse(struct wims_str v, struct wims_sdp_crypto *x) __attribute__((warn_unused_result));

/* a=curr / a=des / a=conf (RFC 3312): raw token views.  strength is set
 * for a=des only ("mandatory", "optional", "none", "failure", "unknown"). */
struct wims_sdp_precond {
	struct wims_str type; /* qos */
	struct wims_str strength;
	struct wims_str status; /* e2e, local, remote */
	struct wims_str dir;	/* none, send, recv, sendrecv */
};

/** Parse an a=curr/a=conf (is_des false) or a=des (true) value. 0 or -EBADMSG. */
int wims_sdp_precond_parse(struct wims_str v, bool is_des, struct wims_sdp_precond *x)
    __attribute__((warn_unused_result));

/* ---- Writer ----------------------------------------------------------- */

/* An address for o=, c= and a=rtcp: "IN IP4 <addr>" or "IN IP6 <addr>". */
struct wims_sdp_out_addr {
	bool ip6;
	struct wims_str addr; /* unset: the line is not written */
};

/* One m= section to write.  Zeroed fields are not written.  Every string is
 * copied verbatim and must not hold CR, LF or NUL (-EINVAL otherwise). */
struct wims_sdp_out_media {
	struct wims_str type; /* audio, video, application */
	uint16_t port;
	uint16_t nports; /* written as /n when > 1 */
	struct wims_str proto;
	/* rejected: "m=<type> 0 <proto> <fmts>" followed by c= (if set) and
	 * a=mid (if set) only; port and every other attribute are ignored. */
	bool rejected;
	/* Payload formats: codecs when n_codecs > 0 (m= fmts, a=rtpmap always,
	 * a=fmtp when set, a=rtcp-fb), else fmts verbatim (e.g.
	 * webrtc-datachannel); "0" when both are empty. */
	const struct wims_sdp_codec *codecs;
	unsigned n_codecs;
	const struct wims_str *fmts;
	unsigned n_fmts;
	struct wims_sdp_out_addr c; /* written when set and != session c= */
	const struct wims_sdp_bw *bw;
	unsigned n_bw;
	uint16_t rtcp_port; /* a=rtcp:<port> [IN IP4 <rtcp_addr>] when != 0 */
	struct wims_sdp_out_addr rtcp_addr;
	bool rtcp_mux, rtcp_mux_only, rtcp_rsize;
	struct wims_str mid;
	enum wims_sdp_dir dir;
	struct wims_str ice_ufrag, ice_pwd, ice_options;
	const struct wims_sdp_cand *cands; /* type unset is written as host */
	unsigned n_cands;
	bool end_of_candidates;
	const struct wims_sdp_fingerprint *fps;
	unsigned n_fps;
	enum wims_sdp_setup setup;
	struct wims_str tls_id;
	const struct wims_sdp_crypto *cryptos; /* tag suite key_params [session_params] */
	unsigned n_cryptos;
	uint32_t ptime, maxptime;
	const struct wims_str *attrs; /* "name[:value]" written as a=<attr> */
	unsigned n_attrs;
};

struct wims_sdp_out {
	struct wims_str o_user; /* "-" when unset */
	uint64_t sess_id, sess_version;
	struct wims_str sess_id_s, sess_version_s; /* when set, written instead */
	struct wims_sdp_out_addr o_addr;
	struct wims_str name; /* s=, "-" when unset */
	struct wims_sdp_out_addr c;
	const struct wims_sdp_bw *bw;
	unsigned n_bw;
	/* t=0 0 is always written */
	bool ice_lite;
	const struct wims_str *bundle; /* a=group:BUNDLE <mids> when n_bundle > 0 */
	unsigned n_bundle;
	struct wims_str msid_semantic; /* a=msid-semantic:<value>, e.g. " WMS *" */
	const struct wims_str *attrs;  /* session "name[:value]", verbatim */
	unsigned n_attrs;
	const struct wims_sdp_out_media *media;
	unsigned n_media;
};

/** Append the SDP described by o to b, CRLF line ends, deterministic.
 * Returns 0; -EINVAL when a string holds CR/LF/NUL or a required field
 * (o_addr, media type/proto) is missing; -E2BIG when a count exceeds
 * sdp/limits.h or a line would exceed WIMS_SDP_MAX_LINE; -ENOSPC when b is
 * full (b->err set).  On error what was appended must be discarded. */
int wims_sdp_write(struct wims_wbuf *b, const struct wims_sdp_out *o) __attribute__((warn_unused_result));

/* Storage for describing a parsed SDP as a wims_sdp_out (round trips, the
 * base of a rewrite).  Large (~100 KB): allocate it, don't put it on a
 * small stack. */
struct wims_sdp_out_mstore {
	struct wims_sdp_codec codecs[WIMS_SDP_MAX_FMTS];
	struct wims_str fmts[WIMS_SDP_MAX_FMTS];
	struct wims_sdp_cand cands[WIMS_SDP_MAX_ATTRS];
	struct wims_sdp_fingerprint fps[WIMS_SDP_MAX_ATTRS];
	struct wims_sdp_crypto cryptos[WIMS_SDP_MAX_ATTRS];
	struct wims_str attrs[WIMS_SDP_MAX_ATTRS];
};

struct wims_sdp_out_store {
	struct wims_sdp_out out;
	struct wims_sdp_out_media media[WIMS_SDP_MAX_MEDIA];
	struct wims_sdp_out_mstore m[WIMS_SDP_MAX_MEDIA];
	struct wims_str bundle[WIMS_SDP_MAX_GROUP];
	struct wims_str attrs[WIMS_SDP_MAX_ATTRS];
};

/** Describe parsed s in st->out: every field the writer knows is taken
 * from its attribute (codecs, ICE, DTLS, SDES, rtcp, mid, direction...),
 * all other attributes go to the raw lists verbatim.  Session-level ICE and
 * DTLS attributes are moved into each m= section.  Views point into s's
 * buffer.  0, or the error of a malformed attribute the writer would have
 * to understand (-EBADMSG) — st->out is then unusable. */
int wims_sdp_out_from(struct wims_sdp_out_store *st, const struct wims_sdp *s)
    __attribute__((warn_unused_result));

#endif
