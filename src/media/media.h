/* The media gateway engine (eIMS-AGW): sessions of transports and streams,
 * run by media worker threads.  This is the interface the control side
 * (mediactl's ALG, on the signalling thread) uses; it knows nothing of SDP.
 *
 *   transport  local UDP socket(s) and what is known of the peer: plain RTP
 *              (RTP + RTCP ports, or rtcp-mux), SDES-SRTP, or WebRTC
 *              (ICE-lite + DTLS-SRTP, rtcp-mux, possibly BUNDLE)
 *   stream     one medium (m-line) between side 0 and side 1, each side on a
 *              transport; bundled streams share one WebRTC transport and are
 *              told apart by payload type
 *
 * The control side describes the whole session in a plain struct and applies
 * it; the worker that owns the session diffs and acts.  Packet counters are
 * written by the worker and read here without locks.
 */
#ifndef WIMS_MEDIA_MEDIA_H
#define WIMS_MEDIA_MEDIA_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "base/addr.h"
#include "codec/transcode.h"
#include "media/ice.h"

#define WIMS_MEDIA_MAX_STREAMS 8
#define WIMS_MEDIA_MAX_TRANSPORTS 12
#define WIMS_MEDIA_FP_MAX 160
#define WIMS_MEDIA_MAX_ADDRS 4 /* [media] address list: host candidates per WebRTC transport */

enum wims_media_tkind {
	WIMS_MT_NONE = 0,
	WIMS_MT_PLAIN,  /* RTP/AVP(F) */
	WIMS_MT_SDES,   /* RTP/SAVP(F) keyed by a=crypto */
	WIMS_MT_WEBRTC, /* UDP/TLS/RTP/SAVPF: ICE-lite, DTLS-SRTP, rtcp-mux */
};

struct wims_media_tconf {
	enum wims_media_tkind kind;
	int fd_rtp, fd_rtcp; /* fd_rtcp -1 with rtcp-mux; owned by the engine once applied */
	uint16_t lport_rtp, lport_rtcp;
	/* WebRTC: sockets on the other media addresses, same port (one host
	 * candidate each); ICE checks are answered on every one, media leave
	 * from the one the nominated pair's check came in on.  Owned like fd_rtp. */
	int fd_alt[WIMS_MEDIA_MAX_ADDRS - 1];
	uint16_t lport_alt[WIMS_MEDIA_MAX_ADDRS - 1];
	unsigned nalt;
	bool rtcp_mux;       /* RTCP on the RTP port */
	/* plain and SDES: where the peer said it receives */
	struct wims_addr remote_rtp, remote_rtcp;
	bool has_remote;
	/* WebRTC */
	char lufrag[WIMS_ICE_UFRAG_MAX + 1], lpwd[WIMS_ICE_PWD_MAX + 1];
	char rufrag[WIMS_ICE_UFRAG_MAX + 1], rpwd[WIMS_ICE_PWD_MAX + 1];
	char rfp[WIMS_MEDIA_FP_MAX]; /* the peer's a=fingerprint: "sha-256 AB:..." */
	bool dtls_client;            /* we send the ClientHello (we said a=setup:active) */
	uint32_t dtls_gen;           /* a change starts a new DTLS association (tls-id, restart) */
	/* SDES */
	int srtp_profile;
	uint8_t tx_key[32], tx_salt[14], rx_key[32], rx_salt[14];
};

/* Transcoding of the packets that arrive from one side (issue 5): decoded,
 * re-encoded for the other side with its own SSRC, sequence and timestamps.
 * RTCP is not relayed across a transcoded stream (its SSRCs and counts
 * would describe packets the other side never saw). */
struct wims_media_xc {
	bool on;
	struct wims_xcode_cfg cfg;
};

struct wims_media_sconf {
	bool active;
	bool video;
	uint8_t t[2];            /* transport index of side 0 and side 1 */
	/* payload type arriving from side s -> payload type sent to the other
	 * side; 0xff: not of this stream (bundle demux) or dropped */
	uint8_t pt_map[2][128];
	bool strip_ext[2];       /* strip RTP header extensions when sending toward side s */
	bool keep_video_fb;
	struct wims_media_xc xc[2]; /* packets from side s transcoded (pt_map unused then) */
	/* nonzero: the SSRC of every RTP packet sent toward side s (the one its
	 * SDP announces in a=ssrc).  RTCP toward s says it in place of the real
	 * sender's SSRC, and RTCP from s that names it (report blocks, NACK, PLI,
	 * FIR) names the real one again toward the other side. */
	uint32_t ssrc_out[2];
};

struct wims_media_sessconf {
	unsigned ntransports;
	struct wims_media_tconf t[WIMS_MEDIA_MAX_TRANSPORTS];
	unsigned nstreams;
	struct wims_media_sconf s[WIMS_MEDIA_MAX_STREAMS];
};

/* Counters of one stream side, as seen by the gateway:
 * in = received from that side, out = sent toward it.  "Sent" is what the
 * kernel took: counted when the worker's send queue is handed to sendmmsg,
 * and moved to send_failed when refused; bytes are RTP lengths before SRTP. */
struct wims_media_counters {
	uint64_t packets_in, bytes_in, packets_out, bytes_out, errors;
	uint64_t rtcp_in, rtcp_out;
	uint64_t send_failed;     /* RTP and RTCP toward that side the kernel refused (or too long to queue) */
	uint64_t transcoded;      /* packets from that side that went through a transcoder */
	uint64_t last_in_ms;      /* monotonic ms of the last packet from that side, 0 never */
	uint32_t lost;            /* cumulative lost that side reported in RTCP */
	uint32_t jitter;          /* interarrival jitter that side reported, timestamp units */
	uint32_t rtt_ms;
	char remote[WIMS_ADDR_STRLEN]; /* where media of that side goes; set by the worker */
};

struct wims_media_opts {
	struct wims_addr addr;    /* bind and advertise (port ignored); = addrs[0] */
	/* all media addresses (naddrs 0: addr alone).  Plain (IMS) transports
	 * bind to the first; WebRTC ones get a socket and a host candidate on each */
	struct wims_addr addrs[WIMS_MEDIA_MAX_ADDRS];
	unsigned naddrs;
	uint16_t port_min, port_max;
	unsigned workers;         /* 0: number of CPUs */
	unsigned max_sessions;
	unsigned timeout_s;       /* no media in either direction: session expires */
	unsigned consent_s;       /* RFC 7675: stop sending toward a silent browser */
	unsigned busy_poll_us;    /* 0: workers sleep when idle; else they poll this long after a packet */
	/* commands (session configurations, DTMF) waiting for one worker; beyond
	 * it (a stalled worker) new sessions, offers and DTMF toward that worker
	 * are refused with -EBUSY.  0: 256 */
	unsigned cmd_queue;
	const char *cert_file, *key_file; /* NULL: generate an ECDSA P-256 certificate */
};

struct wims_media;
struct wims_media_sess;

enum wims_media_event { WIMS_MEDIA_EV_TIMEOUT = 1 };

/** Called on the control loop when a session needs the control side. */
typedef void(wims_media_event_h)(struct wims_media_sess *s, enum wims_media_event ev, void *arg);

/** Start the engine and its workers; events are delivered on ctl_loop. */
int wims_media_new(struct wims_media **mp, uv_loop_t *ctl_loop, const struct wims_media_opts *o,
		   wims_media_event_h *evh, void *arg) __attribute__((warn_unused_result));
/** Stop the workers (sessions are dropped) and free the engine.  Must be
 * called before ctl_loop is closed (it closes a handle there). */
void wims_media_free(struct wims_media *m);

/** "sha-256 AB:CD:..." of the DTLS certificate. */
const char *wims_media_fingerprint(const struct wims_media *m);
const struct wims_addr *wims_media_addr(const struct wims_media *m);
/** Number of media addresses (>= 1) and the i-th (NULL beyond). */
unsigned wims_media_naddrs(const struct wims_media *m);
const struct wims_addr *wims_media_addr_n(const struct wims_media *m, unsigned i);
/** Parse an address list "127.0.0.1, ::1" (commas and/or blanks, at most
 *  WIMS_MEDIA_MAX_ADDRS, no port, no repeats) into o->addrs/naddrs and o->addr.
 *  0 or -EINVAL. */
int wims_media_addrs_parse(struct wims_media_opts *o, struct wims_str list)
	__attribute__((warn_unused_result));
unsigned wims_media_sessions(const struct wims_media *m);

/* Engine-wide counters (/metrics). */
struct wims_media_stats {
	uint64_t sessions;
	uint64_t cmds_refused;  /* sessions, configurations, DTMF refused: a worker's command queue was full */
	uint64_t packets_sent;  /* datagrams the kernel took from the workers (sendmmsg) */
	uint64_t send_failed;   /* datagrams it refused */
};
/** Read the engine's counters (control thread; the workers' are lock-free snapshots). */
void wims_media_stats(const struct wims_media *m, struct wims_media_stats *out);

/** Bind a UDP socket (an even/odd pair when pair) from the port range.
 * The fds belong to the caller until applied in a session; close them with
 * wims_media_port_free otherwise. */
int wims_media_port_alloc(struct wims_media *m, bool pair, int *fd_rtp, int *fd_rtcp,
			  uint16_t *port) __attribute__((warn_unused_result));
void wims_media_port_free(int fd_rtp, int fd_rtcp);
/** Close every fd of a transport configuration that was never applied. */
void wims_media_tconf_close(const struct wims_media_tconf *t);
/** For a WebRTC transport: a socket on each media address after the first,
 *  on `port` (the one fd_rtp holds on the first) where it is free, else on
 *  another port of the range.  fds/ports[0..*n) belong to the caller as with
 *  wims_media_port_alloc (close with wims_media_port_free).  0 (*n 0 with
 *  one address) or -EADDRINUSE (nothing left open). */
int wims_media_port_alloc_alt(struct wims_media *m, uint16_t port, int fds[WIMS_MEDIA_MAX_ADDRS - 1],
			      uint16_t ports[WIMS_MEDIA_MAX_ADDRS - 1], unsigned *n)
	__attribute__((warn_unused_result));

/** A new session on the least busy worker.  -EBUSY beyond max_sessions or
 * when every worker's command queue is full (stalled workers). */
int wims_media_sess_new(struct wims_media *m, struct wims_media_sess **sp, void *user)
	__attribute__((warn_unused_result));
void *wims_media_sess_user(const struct wims_media_sess *s);
/** Copy c to the session's worker.  Transports whose fds change or vanish
 * are closed there.  -EINVAL, -ENOMEM, or -EBUSY when the worker's command
 * queue is full (c's fds stay the caller's on any error). */
int wims_media_sess_apply(struct wims_media_sess *s, const struct wims_media_sessconf *c)
	__attribute__((warn_unused_result));
/** Read a stream side's counters (lock-free snapshot). */
void wims_media_sess_counters(const struct wims_media_sess *s, unsigned stream, unsigned side,
			      struct wims_media_counters *out);
/** Send an RFC 4733 telephone-event toward side to_side of stream (a DTMF
 *  digit the browser sent as SIP INFO): payload type pt at clock, blended
 *  into the RTP stream wims sends that side (same SSRC, sequence numbers
 *  shifted after it).  0, -EINVAL, -ENOMEM, -EBUSY (queue full). */
int wims_media_sess_dtmf(struct wims_media_sess *s, unsigned stream, unsigned to_side, uint8_t event,
			 unsigned duration_ms, uint8_t pt, uint32_t clock) __attribute__((warn_unused_result));
/** End the session: its sockets close and its memory goes on its worker.
 * s must not be used afterwards. */
void wims_media_sess_delete(struct wims_media_sess *s);

#endif
