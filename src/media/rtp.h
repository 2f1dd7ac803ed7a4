/* RTP and RTCP on the packet path (RFC 3550, 5761, 7983, 8285, 4585, 5104):
 * bounded parsing, demultiplexing by first byte, in-place rewrites, RTCP
 * compound iteration and filtering toward plain-RTP IMS peers.  No
 * allocation, no I/O: every function works on the caller's buffer. */
#ifndef WIMS_MEDIA_RTP_H
#define WIMS_MEDIA_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WIMS_RTP_HDR_MIN 12
#define WIMS_RTCP_HDR_MIN 8

/** A parsed RTP fixed header; offsets index the packet that was parsed. */
struct wims_rtp_hdr {
	uint8_t version, pt, cc;
	bool padding, marker, ext;
	uint16_t seq;
	uint32_t ts, ssrc;
	size_t hdr_len;	    /* fixed header + CSRCs + extension (incl. its 4-byte head) */
	size_t ext_off;	    /* offset of the extension head (profile, length); 0 without */
	size_t ext_len;	    /* extension data length in bytes, without its 4-byte head */
	size_t payload_len; /* without padding */
};

/** Parse an RTP header (version 2) bounded by len.  0 or -EBADMSG (short,
 *  CSRC list or extension beyond the packet, padding larger than the payload). */
int wims_rtp_parse(struct wims_rtp_hdr *h, const uint8_t *p, size_t len) __attribute__((warn_unused_result));

enum wims_pkt_kind {
	WIMS_PKT_UNKNOWN,
	WIMS_PKT_STUN,
	WIMS_PKT_DTLS,
	WIMS_PKT_RTP,
	WIMS_PKT_RTCP,
	WIMS_PKT_ZRTP,
	WIMS_PKT_TURN,
};

/** Demultiplex a datagram by its first byte (RFC 7983 §7: 0..3 STUN, 16..19
 *  ZRTP, 20..63 DTLS, 64..79 TURN channel, 128..191 RTP/RTCP) and RTP from
 *  RTCP by the second byte (RFC 5761 §4: PT 64..95 after masking the marker
 *  is RTCP 192..223).  Packets too short for their kind are UNKNOWN. */
enum wims_pkt_kind wims_pkt_classify(const uint8_t *p, size_t len);

/** Remove the header extension in place (X bit cleared, payload moved up);
 *  returns the new length (len unchanged when there is no extension or the
 *  packet does not parse). */
size_t wims_rtp_strip_ext(uint8_t *p, size_t len);

/** Rewrite the payload type keeping the marker bit (p has >= 12 bytes). */
void wims_rtp_set_pt(uint8_t *p, uint8_t pt);
/** Rewrite the SSRC (p has >= 12 bytes). */
void wims_rtp_set_ssrc(uint8_t *p, uint32_t ssrc);

enum {
	WIMS_RTCP_SR = 200,
	WIMS_RTCP_RR = 201,
	WIMS_RTCP_SDES = 202,
	WIMS_RTCP_BYE = 203,
	WIMS_RTCP_APP = 204,
	WIMS_RTCP_RTPFB = 205,
	WIMS_RTCP_PSFB = 206,
	WIMS_RTCP_XR = 207,
};

/** Bounded cursor over a compound RTCP packet: set p, len and off = 0. */
struct wims_rtcp_iter {
	const uint8_t *p;
	size_t len, off;
};

/** One RTCP packet of a compound: type, RC/FMT, where it is and its first SSRC. */
struct wims_rtcp_item {
	uint8_t pt, count; /* count: RC, SC or FMT */
	size_t off, len;   /* len includes the 4-byte header */
	uint32_t ssrc;	   /* sender SSRC (packet sender / first chunk) */
};

/** Next packet of a compound: 1 (item filled), 0 at the end, -EBADMSG when
 *  the header is not version 2 or its length runs beyond the buffer. */
int wims_rtcp_next(struct wims_rtcp_iter *it, struct wims_rtcp_item *item)
    __attribute__((warn_unused_result));

/** Filter a compound RTCP in place for a plain-RTP IMS peer: keep SR, RR,
 *  SDES, BYE, RTPFB TMMBR/TMMBN (fmt 3/4, RFC 8834 honours TMMBR) and, when
 *  keep_video_fb, RTPFB NACK (fmt 1), PSFB PLI (fmt 1) and FIR (fmt 4); drop
 *  everything else (transport-cc, REMB/AFB, XR, APP, unknown).  Returns the
 *  new length, 0 when nothing is left or the compound is malformed. */
size_t wims_rtcp_filter(uint8_t *p, size_t len, bool keep_video_fb);

/** What SR/RR of a compound say about media_ssrc (RFC 3550 §6.4). */
struct wims_rtcp_report {
	bool has_sr; /* an SR was present: the fields below are the sender's */
	uint64_t sr_ntp;
	uint32_t sr_rtp_ts, sr_packets, sr_octets;
	bool has_block; /* a report block about media_ssrc was found */
	uint8_t fraction_lost;
	uint32_t cum_lost; /* 24 bits, as sent (signed in RFC 3550; not sign-extended) */
	uint32_t jitter;   /* timestamp units */
	uint32_t lsr, dlsr;
};

/** Extract SR sender info and the report block about media_ssrc.  0 (even
 *  when nothing relevant was found: check has_sr/has_block) or -EBADMSG. */
int wims_rtcp_report(const uint8_t *p, size_t len, uint32_t media_ssrc, struct wims_rtcp_report *r)
    __attribute__((warn_unused_result));

/** Translate an SSRC in a compound RTCP in place: every SSRC field equal to
 *  `from` becomes `to` -- the packet sender of every packet, the report
 *  blocks of SR/RR, SDES chunks, BYE's list, the media SSRC of RTPFB/PSFB
 *  and the SSRCs in FIR, TMMBR/TMMBN and REMB FCI.  Stops at the first
 *  malformed packet (what came before is translated).  Returns the number of
 *  fields changed. */
unsigned wims_rtcp_map_ssrc(uint8_t *p, size_t len, uint32_t from, uint32_t to);

/** Build a PLI (RFC 4585 §6.3.1) into out; returns its length (12), 0 when cap is short. */
size_t wims_rtcp_build_pli(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc);

#endif
