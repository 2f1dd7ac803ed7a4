/* Internals shared by engine.c (control side) and worker.c (packet side). */
#ifndef WIMS_MEDIA_MEDIA_INT_H
#define WIMS_MEDIA_MEDIA_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "base/log.h"
#include "codec/dtmf.h"
#include "media/dtls.h"
#include "media/ice.h"
#include "media/media.h"
#include "media/srtp.h"

struct wims_media;
struct media__worker;

/* One transport as its worker runs it. */
struct media__tp {
	struct wims_media_sess *sess;
	uint8_t index;
	struct wims_media_tconf c;
	/* open handles, NULL when closed.  Allocated apart from the transport:
	 * a transport removed and added back before the loop ran the close
	 * callbacks gets new handles while the old ones are still closing
	 * (libuv forbids re-initialising a handle before its close callback). */
	uv_udp_t *rtp, *rtcp;
	uv_udp_t *alt[WIMS_MEDIA_MAX_ADDRS - 1]; /* WebRTC: sockets on the other addresses */
	int sel_fd;   /* WebRTC: the socket the nominated pair's check came in on, -1 */
	int dtls_fd;  /* the socket DTLS talks on, -1 */
	/* WebRTC */
	struct wims_ice_lite ice;
	bool ice_ready;
	struct wims_dtls *dtls;
	uint32_t dtls_gen;
	bool dtls_failed, dtls_started;
	struct wims_addr dtls_peer;
	bool has_dtls_peer;
	struct wims_srtp *srtp_tx, *srtp_rx;
	/* plain: where RTP and RTCP go (the signalled addresses) */
	struct wims_addr rtp_to, rtcp_to;
	/* the stream a non-bundled transport carries; -1 for a bundle */
	int stream;
	/* bundle demux: payload type -> stream (0xff none) */
	uint8_t pt_stream[128];
};

struct media__side {
	int cmr_applied;    /* 1 + the AMR CMR from this side applied to the other direction, 0 none */
	uint32_t ssrc_in;   /* last SSRC received from this side */
	uint32_t ssrc_out;  /* last SSRC sent toward this side */
	/* RTT (RFC 3550 §6.4.1) between wims and this side: the SRs we passed
	 * to it (NTP middle 32 bits, when) and the LSR/DLSR of its reports */
	uint32_t sr_mid[4];
	uint64_t sr_ms[4];
	unsigned sr_next;
	/* what we last sent this side, for telephone-events blended in */
	uint16_t out_seq, seq_shift;
	uint32_t out_ts;
	uint64_t out_ms;
	bool sent_any;
	bool dtmf_on;
	struct wims_dtmf_tx dtmf;
	uint8_t dtmf_pt;
	uint32_t dtmf_ts;
	struct wims_media_counters n; /* written by the worker with relaxed atomics */
};

struct media__stream {
	struct wims_media_sconf c;
	struct media__side side[2];
	struct wims_xcode *x[2];  /* transcoder of what arrives from side s */
};

enum media__cmd_kind { MEDIA__CMD_APPLY, MEDIA__CMD_DELETE, MEDIA__CMD_STOP, MEDIA__CMD_DTMF };

/* A command to a worker.  APPLY and DTMF are allocated (an APPLY with its
 * configuration in the same block); DELETE and STOP are embedded in the
 * session and the worker, so that ending a session or the engine cannot
 * fail for want of memory. */
struct media__cmd {
	enum media__cmd_kind kind;
	struct wims_media_sess *s;
	struct media__cmd *next;
	struct { unsigned stream, side, duration_ms; uint8_t event, pt; uint32_t clock; } dtmf; /* DTMF */
	struct wims_media_sessconf *conf; /* APPLY: right after the command */
};

#define MEDIA__EV_FREED ((enum wims_media_event)100)

/* An event from a worker to the control thread.  Every event is embedded in
 * its session, one per kind, and is queued at most once at a time: a kind
 * posted again while it waits is coalesced into the one waiting.  The queue
 * is thus bounded by the sessions (two entries each), needs no memory, and
 * loses nothing: a bounded queue would have to drop an event when full, and
 * the events are what end a session (TIMEOUT makes the control side delete
 * a dead call, FREED frees the session); a second TIMEOUT while the first
 * waits says nothing the first does not. */
struct media__event {
	struct wims_media_sess *s;
	enum wims_media_event ev;
	bool queued;               /* in the engine's list; guarded by wims_media.evlock */
	struct media__event *next; /* guarded by wims_media.evlock while queued */
};

enum { MEDIA__ALIVE, MEDIA__CLOSING };

struct wims_media_sess {
	struct wims_media *m;
	struct media__worker *w;
	void *user;
	int state;
	unsigned pending_close;   /* uv handles still closing */
	struct media__tp tp[WIMS_MEDIA_MAX_TRANSPORTS];
	unsigned ntp;
	struct media__stream st[WIMS_MEDIA_MAX_STREAMS];
	unsigned nst;
	uv_timer_t timer;         /* DTLS retransmission */
	bool timer_open;
	uv_timer_t dtmf_timer;    /* telephone-events being sent */
	bool deleted;             /* control side: delete requested; no more events */
	uint64_t created_ms, last_media_ms;
	bool timeout_sent;
	struct wims_media_sess *wnext, *wprev; /* the worker's list */
	/* control thread only: the engine's list of sessions not deleted yet
	 * (wims_media_free deletes those, applied or not) */
	struct wims_media_sess *cnext, *cprev;
	struct media__cmd delcmd;       /* DELETE, posted once */
	struct media__event freed_ev;   /* MEDIA__EV_FREED, posted once by the worker */
	struct media__event timeout_ev; /* WIMS_MEDIA_EV_TIMEOUT, coalesced (struct media__event) */
};

#define MEDIA__RXCHUNK 65536u  /* libuv's recvmmsg slot (UV__UDP_DGRAM_MAXSIZE) */
#define MEDIA__RXCHUNKS 64u    /* the receive ring; pages of unused slots stay untouched */
#define MEDIA__RXBATCH 16u     /* slots offered to one recvmmsg */
#define MEDIA__TXQ 64u         /* packets queued for sendmmsg */
#define MEDIA__TXCOPY 2048u
#define MEDIA__CMDQ_DEFAULT 256u /* wims_media_opts.cmd_queue 0: commands waiting per worker */

/* What a queued packet adds to its stream side's counters once the kernel
 * took it (sendmmsg), or to send_failed when it did not.  Counted by the
 * worker when the queue is flushed: plain increments, no per-packet cost
 * beyond storing this. */
struct media__txcount {
	struct wims_media_counters *n; /* NULL: not counted (STUN, DTLS) */
	uint32_t bytes;                /* RTP: its length as relayed (before SRTP) */
	bool rtcp;                     /* rtcp_out rather than packets_out/bytes_out */
};

/* Packets leave through a per-worker queue flushed with one sendmmsg per run
 * of packets on the same socket: at the end of each recvmmsg batch, when the
 * loop has run the callbacks of one poll (uv_check), before it polls again
 * (uv_prepare, after timers), when the queue or the receive ring is full,
 * and before a socket closes.
 * Relayed packets stay in place in the receive ring (the ring is not reused
 * before the flush); others (DTLS, STUN, transcoded, DTMF) are copied. */
struct media__txq {
	unsigned n;
	unsigned in_place;      /* queued packets that sit in the receive ring (relayed) */
	unsigned rx_off;        /* ring slots that may hold queued packets */
	unsigned rx_given, rx_got; /* slots offered to the current recvmmsg, filled */
	const void *rx_short;   /* handle whose last recvmmsg came back short: drained */
	int fd[MEDIA__TXQ];
	struct wims_addr to[MEDIA__TXQ];
	struct iovec iov[MEDIA__TXQ];
	struct mmsghdr mm[MEDIA__TXQ];
	struct media__txcount cnt[MEDIA__TXQ];
	uint8_t copy[MEDIA__TXQ][MEDIA__TXCOPY];
	/* written by the worker (media__add), read by wims_media_stats */
	uint64_t packets, calls, dropped;
};

struct media__worker {
	struct wims_media *m;
	unsigned id;
	uv_loop_t loop;
	uv_async_t async;
	uv_timer_t tick;
	pthread_t thread;
	pthread_mutex_t lock;     /* guards cmds and writes to ncmds */
	struct media__cmd *cmds, **cmds_tail;
	/* allocated commands (APPLY, DTMF) in cmds: at most wims_media.cmdq_max.
	 * Read without the lock to pick a worker for a new session. */
	atomic_uint ncmds;
	struct wims_media_sess *sessions;
	atomic_uint nsess;
	uint8_t *rxbuf;           /* MEDIA__RXCHUNKS * MEDIA__RXCHUNK, for recvmmsg */
	uv_check_t txcheck;       /* flush txq after each poll's callbacks */
	uv_prepare_t txprep;      /* and before polling again */
	struct media__txq txq;
	uint8_t txbuf[2048];      /* DTLS flights and STUN answers */
	uint8_t xbuf[2048];       /* transcoded packets (room for the SRTP tag) */
	bool stopping;
	uint64_t rx_pkts;         /* datagrams received: busy polling goes on while it grows */
	struct media__cmd stopcmd;
	struct wims_ratelimit rl_drop; /* per worker: a rate limiter is not thread-safe */
};

struct wims_media {
	struct wims_media_opts o;
	uv_loop_t *ctl;
	uv_async_t evasync;
	pthread_mutex_t evlock;   /* guards evs */
	struct media__event *evs, **evs_tail;
	wims_media_event_h *evh;
	void *evarg;
	struct wims_dtls_ctx *dtls;
	unsigned nworkers;
	struct media__worker *w;
	atomic_uint nsess;
	uint16_t next_port;
	struct wims_media_sess *csessions; /* control thread only, see cnext */
	unsigned cmdq_max;        /* per worker, see media__worker.ncmds */
	uint64_t cmds_refused;    /* control thread only */
	struct wims_ratelimit rl_busy; /* control thread only */
};

/* sendq.c */
/** Queue a datagram from fd to `to` (copied unless p is in the receive ring);
 *  flushes first when the queue is full.  false if it could not be queued
 *  (counted in cnt's send_failed).  cnt (may be NULL) is counted when the
 *  datagram leaves (struct media__txcount). */
bool media__txq_push(struct media__worker *w, int fd, const uint8_t *p, size_t len,
		     const struct wims_addr *to, const struct media__txcount *cnt);
/** Send everything queued (sendmmsg per run of one socket) and free the ring. */
void media__txq_flush(struct media__worker *w);
/** The end of one recvmmsg batch: flush when a relayed packet waits;
 * packets the worker made (transcoded, DTLS, STUN) wait for the end of the
 * loop turn (see sendq.c). */
void media__txq_flush_batch(struct media__worker *w);
/** The receive buffer for the next recvmmsg of handle h (see struct media__txq). */
void media__rx_alloc(struct media__worker *w, const void *h, uv_buf_t *buf);
/** Note a datagram received at p (or the end of a batch, p NULL). */
void media__rx_note(struct media__worker *w, const void *h, const uint8_t *p);

/* worker.c */
void *media__worker_main(void *arg);
void media__worker_wake(uv_async_t *a);
/* engine.c, callable from a worker */
void media__post_event(struct wims_media *m, struct wims_media_sess *s, enum wims_media_event ev);
void media__sess_free(struct wims_media_sess *s);

/** Busy polling ([media] busy_poll_us): the end of the current polling
 * window, given the time now (µs), the window's end so far, whether packets
 * came in since the last look, and the window's length.  The worker polls
 * without sleeping while now < the result, and blocks in epoll otherwise. */
static inline uint64_t media__spin_until(uint64_t now_us, uint64_t until_us, bool got, unsigned spin_us)
{
	return got && spin_us ? now_us + spin_us : until_us;
}

static inline void media__add(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + v, __ATOMIC_RELAXED);
}

/** The media timeout of a session, looked at once per tick: true when the
 * silence (no RTP or RTCP from either side since `last`, ms) has just
 * passed `limit` ms and is to be reported.  *reported says whether the
 * current silence was reported: it is cleared as soon as media is back
 * within the limit (nothing is posted for that), so that a later silence
 * is reported again. */
static inline bool media__timeout_due(bool *reported, uint64_t now, uint64_t last, uint64_t limit)
{
	bool silent = limit && now > last && now - last > limit;
	bool due = silent && !*reported;
	*reported = silent;
	return due;
}

#endif
