/* wims-mediabench: media load for an AGW driven over the rtpengine "ng"
 * protocol (wimsd's [media] ng_listen, or rtpengine itself).
 *
 *   wims-mediabench [--ng 127.0.0.1:2223] [--streams N] [--duration S]
 *                   [--warmup S] [--pps 50] [--codec pcmu|opus] [--reverse]
 *                   [--pid PID] [--sockets K] [--setup-timeout S]
 *                   [--label NAME] [--direct] [--busy-poll] [--selftest]
 *                   [--tick-us US] [--xcode PAIR [--xcode-force]] [--raw PAIR]
 *
 * For each of N streams: ng "offer" with a WebRTC SDP (UDP/TLS/RTP/SAVPF,
 * ICE, our DTLS fingerprint, setup:actpass, rtcp-mux, one audio m-line) and
 * the flags transport-protocol=RTP/AVP and ICE=remove, so that the gateway
 * offers plain RTP onward; then "answer" with a plain RTP/AVP SDP naming one
 * of our sink sockets.  The WebRTC side then runs ICE as the controlling
 * agent (Binding requests with USE-CANDIDATE to the candidate of the
 * answer's reply, and responses to the gateway's own checks when it is a
 * full agent), DTLS in the role the reply's a=setup gives us, and sends
 * SRTP (AES_CM_128_HMAC_SHA1_80) at --pps packets a second, each payload
 * carrying its stream, its sequence and its send time.  Streams send in
 * turn, one slot of the 1/pps period each --tick-us (default 1000): with
 * 1 ms ticks at 50 pps, N/20 streams send at the same instant, a burst a
 * one-core gateway serves one packet after the other (its last packet
 * waits for the whole burst); --tick-us 50 spreads the same load over the
 * period as independent phones would.  The sinks receive
 * the plain RTP and record loss and latency; --reverse also sends plain RTP
 * from the sinks to the gateway and receives it as SRTP.
 *
 *   payload = "WMB1" | stream (4) | seq (4) | send time CLOCK_REALTIME ns (8) | fill
 *
 * Latency is the kernel receive timestamp of the datagram (SO_TIMESTAMPNS,
 * so the tool's own scheduling does not count) minus the send time: two
 * loopback hops plus the gateway.  --direct sends the same load from the
 * WebRTC sockets straight to the sinks in plain RTP, no gateway: the
 * baseline to subtract.
 *
 * SRTP is done here with OpenSSL's EVP AES-CTR and a pre-hashed HMAC-SHA1
 * (RFC 3711 §4.1.1, §4.2, §4.3), not libsrtp2: on Debian's libsrtp2 (NSS)
 * the tool would cost as much CPU as the gateway it measures.  --selftest
 * checks it against libsrtp2 (src/media/srtp.h) both ways.
 *
 * Output: one JSON object on stdout (streams, pps, loss %, latency
 * p50/p99/max µs, the gateway's CPU time over the window from
 * /proc/PID/stat, CPU per 1,000 packets and streams per core).  Progress
 * and errors go to stderr.  Exit 0 when the run completed (whatever the
 * loss), 1 on setup failure or bad options.
 *
 * --xcode PAIR (opus-amrwb, pcmu-amr, opus-pcmu, pcma-pcmu): transcoded
 * calls.  The offer carries the WebRTC codec of the pair and codec:
 * {transcode: [plain codec]}; the answer names the plain codec only, with
 * the payload type the gateway's offer gave it (--xcode-force: answer with
 * it even when the offer lacks it, to see what the gateway does).  Both
 * directions then carry real encoded frames (wims_mediabench_xcode.h: a
 * tone encoded once at start, replayed), each stream's packets placed by
 * their RTP timestamp; the report adds the UDP receive-buffer drops of the
 * namespace.  --raw PAIR prints the raw codec cost of a call of the pair
 * (--streams N: its frames go round N codec states instead of one).
 *
 * Everything is one thread: pin it with taskset to its own core. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#define OPENSSL_SUPPRESS_DEPRECATED /* wims_mediabench_srtp.h: SHA1_Init & co */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "base/addr.h"
#include "base/buf.h"
#include "media/dtls.h"
#include "media/rtp.h"
#include "media/srtp.h"
#include "media/stun.h"
#include "mediactl/bencode.h"
#include "sdp/sdp.h"
#include "wims_mediabench_srtp.h"
#include "wims_mediabench_xcode.h"

#define MAX_STREAMS 20000
#define MAX_SOCKS 64
#define BATCH 64     /* recvmmsg */
#define SEND_BATCH 8 /* sendmmsg: small, so that send stamps stay close to the wire */
#define PKT_CAP 1500
#define HIST_US 100000 /* 1 µs buckets up to 100 ms */
#define MAGIC "WMB1"
#define MAX_INFLIGHT 64 /* ICE + DTLS handshakes at once */

enum st_state { ST_NEW, ST_ICE, ST_DTLS, ST_RUN, ST_FAILED };

struct stream {
	enum st_state state;
	unsigned sock;			/* index of its WebRTC socket and of its sink socket */
	struct wims_addr gw_web, gw_plain; /* gateway ports: WebRTC side, plain side */
	char rufrag[64], rpwd[160], lufrag[16], lpwd[32];
	char rfp[160];
	bool dtls_client, ice_ok;
	struct wims_dtls *dtls;
	struct fast_srtp tx, rx;
	uint32_t ssrc, rev_ssrc;
	uint16_t seq, rev_seq;
	uint32_t pkt_no, rev_no;
	uint64_t next_check_ms, deadline_ms;
	unsigned checks, dtls_in, dtls_out;
};

struct hist {
	uint64_t n, over, sum_ns, max_ns;
	uint32_t b[HIST_US];
};

struct dir_stats {
	uint64_t sent, recv, late, bad;
	struct hist h;
};

struct opts {
	struct wims_addr ng;
	unsigned streams, pps, sockets, tick_us;
	double duration, warmup, setup_timeout;
	int pid;
	bool opus, reverse, direct, selftest, busy_poll, xc_force, streams_set;
	const char *label;
	const struct xc_pair *xc, *raw; /* --xcode, --raw */
};

struct bench {
	struct opts o;
	struct stream *st;
	int web[MAX_SOCKS], sink[MAX_SOCKS];
	struct wims_addr web_addr[MAX_SOCKS], sink_addr[MAX_SOCKS];
	int ng_fd, ep, tfd;
	struct wims_dtls_ctx *dctx;
	const char *fp;
	int32_t by_port[65536]; /* gateway WebRTC-side port -> stream */
	unsigned running, failed, inflight, next_setup;
	bool measuring, sending;
	uint64_t win_start_ns, win_end_ns;
	struct dir_stats fwd, rev;
	unsigned payload_len;
	uint8_t pt;
	/* --xcode */
	struct xc_stream *xs;
	struct xc_media xm_web, xm_plain;
	int32_t by_plain_port[65536]; /* gateway plain-side port -> stream */
	struct hist xrel[2];	      /* latency over the stream's least, by direction */
	long long udp0, udp1;
};

/* ------------------------------------------------------------------ clock */

static uint64_t now_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_ms(void)
{
	return now_ns(CLOCK_MONOTONIC) / 1000000u;
}

/* --------------------------------------------------------------- sockets */

static int udp_socket(struct wims_addr *bound, bool tstamp)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1, sz = 16 << 20;
	socklen_t sl = sizeof(sin);

	if (fd < 0)
		return -errno;
	/* root may exceed rmem_max; otherwise the plain call takes what it can */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)))
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)))
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	if ((tstamp && setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one))) ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) || getsockname(fd, (struct sockaddr *)&sin, &sl) ||
	    wims_addr_from_sa(bound, (struct sockaddr *)&sin)) {
		int e = -errno;
		close(fd);
		return e ? e : -EIO;
	}
	return fd;
}

static void send1(int fd, const struct wims_addr *to, const void *p, size_t n)
{
	if (sendto(fd, p, n, 0, &to->u.sa, wims_addr_len(to)) < 0 && errno != EAGAIN)
		fprintf(stderr, "sendto: %s\n", strerror(errno));
}

/* ---------------------------------------------------------------- ng */

/* One request, blocking, with retransmissions; the reply's "sdp" is
 * copied to sdp (NUL-terminated).  0, or -1 with the reason printed. */
static int ng_call(struct bench *b, const char *body, size_t blen, char *sdp, size_t cap)
{
	static char msg[65536], rep[65536];
	static struct wims_bc_node nodes[512];
	static unsigned cookie_no;
	struct wims_wbuf w;
	char cookie[32];

	snprintf(cookie, sizeof(cookie), "mb%u.%d", ++cookie_no, getpid());
	wims_wbuf_init(&w, msg, sizeof(msg));
	wims_wbuf_printf(&w, "%s ", cookie);
	wims_wbuf_put(&w, body, blen);
	if (w.err)
		return -1;
	for (int attempt = 0; attempt < 4; attempt++) {
		if (send(b->ng_fd, msg, w.len, 0) < 0)
			return -1;
		struct pollfd pfd = {.fd = b->ng_fd, .events = POLLIN};
		while (poll(&pfd, 1, 1000 << attempt) == 1) {
			ssize_t n = recv(b->ng_fd, rep, sizeof(rep), 0);
			size_t cl = strlen(cookie), used;
			struct wims_bc_doc doc;
			if (n <= (ssize_t)cl || memcmp(rep, cookie, cl) || rep[cl] != ' ')
				continue; /* a late reply to an earlier request */
			if (wims_bc_parse(&doc, nodes, 512, wims_str_make(rep + cl + 1, (size_t)n - cl - 1), &used))
				return -1;
			const struct wims_bc_node *res = wims_bc_dict_get(&doc, &doc.nodes[0], "result");
			const struct wims_bc_node *s = wims_bc_dict_get(&doc, &doc.nodes[0], "sdp");
			if (!res || !wims_str_eqc(res->s, "ok")) {
				const struct wims_bc_node *r = wims_bc_dict_get(&doc, &doc.nodes[0], "error-reason");
				fprintf(stderr, "ng: %.*s\n", r ? (int)r->s.l : 7, r ? r->s.p : "no result");
				return -1;
			}
			if (sdp && (!s || wims_str_copy(sdp, cap, s->s)))
				return -1;
			return 0;
		}
	}
	fprintf(stderr, "ng: no reply\n");
	return -1;
}

static void call_id(char *out, size_t cap, unsigned i)
{
	snprintf(out, cap, "wmb-%d-%u", getpid(), i);
}

static const char *codec_line(const struct bench *b)
{
	static char line[80];
	if (b->o.xc) {
		snprintf(line, sizeof(line), "a=rtpmap:%u %s\r\n", b->o.xc->web_pt, b->o.xc->web_rtpmap);
		return line;
	}
	return b->o.opus ? "a=rtpmap:111 opus/48000/2\r\n" : "a=rtpmap:0 PCMU/8000\r\n";
}

/* The WebRTC offer of stream i from its WebRTC socket. */
static void offer_sdp(struct bench *b, unsigned i, struct wims_wbuf *w)
{
	struct stream *s = &b->st[i];
	uint16_t port = wims_addr_port(&b->web_addr[s->sock]);

	wims_wbuf_printf(w,
			 "v=0\r\no=- %u 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
			 "m=audio %u UDP/TLS/RTP/SAVPF %u\r\nc=IN IP4 127.0.0.1\r\n"
			 "a=rtcp:%u IN IP4 127.0.0.1\r\n"
			 "a=candidate:1 1 udp 2130706431 127.0.0.1 %u typ host\r\na=end-of-candidates\r\n"
			 "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=fingerprint:%s\r\na=setup:actpass\r\n"
			 "a=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\n%sa=ssrc:%u cname:wmb%u\r\n",
			 1000 + i, port, b->pt, port, port, s->lufrag, s->lpwd, b->fp, codec_line(b), s->ssrc, i);
}

static void answer_sdp(struct bench *b, unsigned i, struct wims_wbuf *w)
{
	struct stream *s = &b->st[i];

	if (b->o.xc) {
		const struct xc_pair *x = b->o.xc;
		unsigned pt = b->xs[i].plain_pt;
		wims_wbuf_printf(w,
				 "v=0\r\no=- %u 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
				 "m=audio %u RTP/AVP %u\r\na=rtpmap:%u %s\r\n",
				 2000 + i, wims_addr_port(&b->sink_addr[s->sock]), pt, pt, x->plain_rtpmap);
		if (x->plain_fmtp)
			wims_wbuf_printf(w, "a=fmtp:%u %s\r\n", pt, x->plain_fmtp);
		wims_wbuf_printf(w, "a=ptime:20\r\na=sendrecv\r\na=rtcp-mux\r\na=ssrc:%u cname:sink%u\r\n",
				 s->rev_ssrc, i);
		return;
	}
	wims_wbuf_printf(w,
			 "v=0\r\no=- %u 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
			 "m=audio %u RTP/AVP %u\r\n%sa=sendrecv\r\na=rtcp-mux\r\na=ssrc:%u cname:sink%u\r\n",
			 2000 + i, wims_addr_port(&b->sink_addr[s->sock]), b->pt, codec_line(b), s->rev_ssrc, i);
}

/* The address media goes to: the host candidate, else c= and m= port. */
static int sdp_target(const struct wims_sdp *sd, const struct wims_sdp_media *m, struct wims_addr *a)
{
	const struct wims_sdp_attr *at;
	const struct wims_sdp_conn *c = wims_sdp_conn(sd, m);
	unsigned it = 0;

	while ((at = wims_sdp_attrs_next(&m->attrs, "candidate", &it))) {
		struct wims_sdp_cand cd;
		if (wims_sdp_cand_parse(at->value, &cd) == 0 && cd.component == 1 &&
		    wims_addr_parse(a, cd.addr, cd.port) == 0)
			return 0;
	}
	if (!c || wims_addr_parse(a, c->addr, m->port))
		return -1;
	return 0;
}

static int copy_attr(const struct wims_sdp *sd, const struct wims_sdp_media *m, const char *name, char *out,
		     size_t cap)
{
	const struct wims_sdp_attr *a = wims_sdp_attr(sd, m, name);
	return a ? wims_str_copy(out, cap, a->value) : -1;
}

/* What the answer's reply tells the WebRTC side. */
static int parse_webrtc_reply(struct stream *s, const char *sdp)
{
	static struct wims_sdp sd;
	if (wims_sdp_parse(&sd, sdp, strlen(sdp)) || sd.n_media < 1) {
		fprintf(stderr, "reply SDP: %s\n", sd.err ? sd.err : "no m=");
		return -1;
	}
	const struct wims_sdp_media *m = &sd.media[0];
	int setup = wims_sdp_setup(&sd, m);
	if (sdp_target(&sd, m, &s->gw_web) || copy_attr(&sd, m, "ice-ufrag", s->rufrag, sizeof(s->rufrag)) ||
	    copy_attr(&sd, m, "ice-pwd", s->rpwd, sizeof(s->rpwd)) ||
	    copy_attr(&sd, m, "fingerprint", s->rfp, sizeof(s->rfp))) {
		fprintf(stderr, "reply SDP lacks candidate, ICE credentials or fingerprint:\n%s\n", sdp);
		return -1;
	}
	/* their passive (or actpass) makes us the client; their active, the server */
	s->dtls_client = setup != WIMS_SDP_SETUP_ACTIVE;
	return 0;
}

/* --xcode: the payload type of the plain codec in the gateway's offer. */
static int xc_plain_pt(struct bench *b, unsigned i, const struct wims_sdp_media *m, const char *sdp)
{
	static struct wims_sdp_codec k[32];
	int n = wims_sdp_codecs(m, k, 32);
	const struct wims_sdp_codec *c = n > 0 ? wims_sdp_codec_find(k, (unsigned)n, b->o.xc->plain_enc, 0) : NULL;

	if (c) {
		b->xs[i].plain_pt = c->pt;
		return 0;
	}
	if (i == 0)
		fprintf(stderr, "[%s] the gateway's offer has no %s: it cannot transcode to it%s\n%s\n", b->o.label,
			b->o.xc->plain_enc, b->o.xc_force ? " (--xcode-force: answering with it anyway)" : "",
			sdp);
	if (!b->o.xc_force)
		return -1;
	b->xs[i].plain_pt = wims_codec_get(b->o.xc->plain)->static_pt >= 0
				? (uint8_t)wims_codec_get(b->o.xc->plain)->static_pt
				: 96;
	return 0;
}

static int parse_plain_reply(struct bench *b, unsigned i, const char *sdp)
{
	static struct wims_sdp sd;
	struct stream *s = &b->st[i];
	if (wims_sdp_parse(&sd, sdp, strlen(sdp)) || sd.n_media < 1 || sdp_target(&sd, &sd.media[0], &s->gw_plain)) {
		fprintf(stderr, "offer reply SDP unusable:\n%s\n", sdp);
		return -1;
	}
	if (b->o.xc && xc_plain_pt(b, i, &sd.media[0], sdp))
		return -1;
	return 0;
}

/* offer + answer for stream i. */
static int ng_setup(struct bench *b, unsigned i)
{
	static char body[16384], sdp[16384], reply[65536];
	struct stream *s = &b->st[i];
	struct wims_wbuf w, sw;
	char cid[64];

	call_id(cid, sizeof(cid), i);
	wims_wbuf_init(&sw, sdp, sizeof(sdp));
	offer_sdp(b, i, &sw);
	wims_wbuf_init(&w, body, sizeof(body));
	wims_bc_dict(&w);
	wims_bc_kvc(&w, "ICE", "remove");
	wims_bc_kvc(&w, "call-id", cid);
	if (b->o.xc) { /* codec: {transcode: [X]} */
		wims_bc_cstr(&w, "codec");
		wims_bc_dict(&w);
		wims_bc_cstr(&w, "transcode");
		wims_bc_list(&w);
		wims_bc_cstr(&w, b->o.xc->plain_enc);
		wims_bc_end(&w);
		wims_bc_end(&w);
	}
	wims_bc_kvc(&w, "command", "offer");
	wims_bc_kvc(&w, "from-tag", "wmbA");
	wims_bc_kv(&w, "sdp", wims_wbuf_str(&sw));
	wims_bc_kvc(&w, "transport-protocol", "RTP/AVP");
	wims_bc_end(&w);
	if (sw.err || w.err || ng_call(b, body, w.len, reply, sizeof(reply)) || parse_plain_reply(b, i, reply))
		return -1;
	wims_wbuf_init(&sw, sdp, sizeof(sdp));
	answer_sdp(b, i, &sw);
	wims_wbuf_init(&w, body, sizeof(body));
	wims_bc_dict(&w);
	wims_bc_kvc(&w, "call-id", cid);
	wims_bc_kvc(&w, "command", "answer");
	wims_bc_kvc(&w, "from-tag", "wmbA");
	wims_bc_kv(&w, "sdp", wims_wbuf_str(&sw));
	wims_bc_kvc(&w, "to-tag", "wmbB");
	wims_bc_end(&w);
	if (sw.err || w.err || ng_call(b, body, w.len, reply, sizeof(reply)) || parse_webrtc_reply(s, reply))
		return -1;
	return 0;
}

static void ng_delete(struct bench *b, unsigned i)
{
	char body[256], cid[64];
	struct wims_wbuf w;

	call_id(cid, sizeof(cid), i);
	wims_wbuf_init(&w, body, sizeof(body));
	wims_bc_dict(&w);
	wims_bc_kvc(&w, "call-id", cid);
	wims_bc_kvc(&w, "command", "delete");
	wims_bc_kvi(&w, "delete-delay", 0); /* rtpengine keeps a call 30 s by default */
	wims_bc_kvc(&w, "from-tag", "wmbA");
	wims_bc_end(&w);
	if (!w.err)
		(void)ng_call(b, body, w.len, NULL, 0);
}

/* --------------------------------------------------------- ICE and DTLS */

static void dtls_flush(struct bench *b, struct stream *s)
{
	uint8_t out[WIMS_DTLS_MTU + 100];
	size_t n;

	while ((n = wims_dtls_output(s->dtls, out, sizeof(out))) > 0) {
		send1(b->web[s->sock], &s->gw_web, out, n);
		s->dtls_out++;
	}
}

static void send_check(struct bench *b, unsigned i)
{
	struct stream *s = &b->st[i];
	uint8_t txid[12], out[600];
	char user[200];
	int ul = snprintf(user, sizeof(user), "%s:%s", s->rufrag, s->lufrag);

	put32(txid, i);
	if (RAND_bytes(txid + 4, 8) != 1 || ul <= 0 || (size_t)ul >= sizeof(user))
		return;
	/* a peer-reflexive priority, as a browser's checks carry (RFC 8445 §7.1.1) */
	size_t n = wims_stun_binding_request(out, sizeof(out), txid, wims_str_make(user, (size_t)ul), s->rpwd,
					     strlen(s->rpwd), 1853824767u, true, 0x5eed0000u + i, true);
	if (n)
		send1(b->web[s->sock], &s->gw_web, out, n);
	s->checks++;
}

static void stream_failed(struct bench *b, struct stream *s, const char *why)
{
	if (b->failed < 5)
		fprintf(stderr, "stream %u failed: %s (ICE %s after %u checks, DTLS %s, %u datagrams in, %u out)\n",
			(unsigned)(s - b->st), why, s->ice_ok ? "done" : "not done", s->checks,
			s->dtls_client ? "client" : "server", s->dtls_in, s->dtls_out);
	if (s->state == ST_ICE || s->state == ST_DTLS)
		b->inflight--;
	s->state = ST_FAILED;
	b->failed++;
}

/* The DTLS association exists from the answer on: a full ICE agent as the
 * DTLS client (rtpengine answers setup:active) may complete ICE with its
 * own checks and send its ClientHello before we get to this stream. */
static int dtls_prepare(struct bench *b, struct stream *s)
{
	if (wims_dtls_new(&s->dtls, b->dctx, s->dtls_client, wims_str_c(s->rfp)))
		return -1;
	if (!s->dtls_client && wims_dtls_start(s->dtls))
		return -1;
	return 0;
}

/* Start ICE (and a DTLS server) for the next streams, up to MAX_INFLIGHT. */
static void start_more(struct bench *b, uint64_t now)
{
	while (b->inflight < MAX_INFLIGHT && b->next_setup < b->o.streams) {
		unsigned i = b->next_setup++;
		struct stream *s = &b->st[i];
		if (s->state != ST_NEW)
			continue;
		b->inflight++;
		s->state = ST_ICE;
		s->deadline_ms = now + 10000;
		send_check(b, i);
		s->next_check_ms = now + 100;
	}
}

static void dtls_connected(struct bench *b, struct stream *s)
{
	struct wims_srtp_keys k;

	if (wims_dtls_srtp_keys(s->dtls, &k) || k.profile != WIMS_SRTP_AES_CM_128_HMAC_SHA1_80 ||
	    fast_srtp_init(&s->tx, k.tx_key, k.tx_salt) || fast_srtp_init(&s->rx, k.rx_key, k.rx_salt)) {
		stream_failed(b, s, "SRTP keys (profile not AES_CM_128_HMAC_SHA1_80?)");
		return;
	}
	if (s->state == ST_ICE || s->state == ST_DTLS)
		b->inflight--;
	s->state = ST_RUN;
	b->running++;
}

static void on_dtls(struct bench *b, struct stream *s, const uint8_t *p, size_t n)
{
	if (!s->dtls || s->state == ST_FAILED)
		return;
	s->dtls_in++;
	int rc = wims_dtls_input(s->dtls, p, n);
	dtls_flush(b, s);
	if (rc == WIMS_DTLS_CONNECTED && s->state != ST_RUN)
		dtls_connected(b, s);
	else if (rc < 0 && s->state != ST_RUN)
		stream_failed(b, s, "DTLS handshake");
}

static void on_stun(struct bench *b, unsigned sock, const uint8_t *p, size_t n, const struct wims_addr *from)
{
	struct wims_stun_msg m;
	uint8_t out[600];

	if (wims_stun_parse(&m, p, n, NULL))
		return;
	if (m.type == WIMS_STUN_BINDING_REQUEST) {
		/* a full agent's (rtpengine's) own checks: answer with our password */
		int32_t i = b->by_port[wims_addr_port(from)];
		if (i < 0)
			return;
		struct stream *s = &b->st[i];
		size_t r = wims_stun_binding_success(out, sizeof(out), m.txid, from, s->lpwd, strlen(s->lpwd));
		if (r)
			send1(b->web[sock], from, out, r);
		return;
	}
	if (m.type != WIMS_STUN_BINDING_SUCCESS)
		return;
	uint32_t i = get32(m.txid);
	if (i >= b->o.streams)
		return;
	struct stream *s = &b->st[i];
	if (s->state != ST_ICE || s->ice_ok)
		return;
	s->ice_ok = true;
	s->state = ST_DTLS;
	if (s->dtls_client) {
		if (wims_dtls_start(s->dtls)) {
			stream_failed(b, s, "wims_dtls_start");
			return;
		}
		dtls_flush(b, s);
	}
}

/* Every 10 ms: retransmit checks, DTLS flights, give up after the deadline,
 * and keep ICE consent fresh on running streams (each one every ~5 s). */
static void housekeeping(struct bench *b, uint64_t now)
{
	static unsigned consent_cursor;
	unsigned per_tick = b->o.streams / 500 + 1;

	for (unsigned i = 0; i < b->next_setup; i++) {
		struct stream *s = &b->st[i];
		if (s->state != ST_ICE && s->state != ST_DTLS)
			continue;
		if (now > s->deadline_ms) {
			stream_failed(b, s, s->state == ST_ICE ? "ICE timeout" : "DTLS timeout");
			continue;
		}
		if (!s->ice_ok && now >= s->next_check_ms) {
			send_check(b, i);
			s->next_check_ms = now + 200;
		}
		if (s->dtls && wims_dtls_timeout_ms(s->dtls) == 0) {
			wims_dtls_on_timeout(s->dtls);
			dtls_flush(b, s);
		}
	}
	start_more(b, now);
	for (unsigned k = 0; k < per_tick && b->o.streams; k++) {
		unsigned i = consent_cursor++ % b->o.streams;
		if (b->st[i].state == ST_RUN && !b->o.direct)
			send_check(b, i);
	}
}

/* ------------------------------------------------------------ media */

struct sbatch {
	struct mmsghdr h[SEND_BATCH];
	struct iovec iov[SEND_BATCH];
	uint8_t buf[SEND_BATCH][PKT_CAP];
	unsigned n;
};

static struct sbatch web_batch[MAX_SOCKS], sink_batch[MAX_SOCKS];

static void batch_flush(int fd, struct sbatch *sb)
{
	unsigned off = 0;

	while (off < sb->n) {
		int r = sendmmsg(fd, sb->h + off, sb->n - off, 0);
		if (r <= 0) {
			if (r < 0 && errno != EAGAIN)
				fprintf(stderr, "sendmmsg: %s\n", strerror(errno));
			break; /* the rest is lost, and counted as loss */
		}
		off += (unsigned)r;
	}
	sb->n = 0;
}

/* Build the next media packet of a stream into the batch of fd. */
static void queue_pkt(struct bench *b, int fd, struct sbatch *sb, unsigned i, bool rev)
{
	struct stream *s = &b->st[i];
	uint8_t *p = sb->buf[sb->n];
	size_t len = WIMS_RTP_HDR_MIN + b->payload_len;
	uint32_t no = rev ? s->rev_no++ : s->pkt_no++;
	uint64_t t = now_ns(CLOCK_REALTIME);

	p[0] = 0x80;
	p[1] = b->pt;
	p[2] = (uint8_t)((rev ? s->rev_seq : s->seq) >> 8), p[3] = (uint8_t)(rev ? s->rev_seq : s->seq);
	put32(p + 4, no * (b->o.opus ? 960 : 160));
	put32(p + 8, rev ? s->rev_ssrc : s->ssrc);
	if (b->o.xc) { /* a pre-encoded frame; its send time kept for placing it */
		const struct xc_media *m = rev ? &b->xm_plain : &b->xm_web;
		struct xc_dir *xd = &b->xs[i].d[rev];
		if (rev)
			p[1] = b->xs[i].plain_pt;
		put32(p + 4, no * m->step);
		len = WIMS_RTP_HDR_MIN + m->len[no % XC_PREP];
		memcpy(p + WIMS_RTP_HDR_MIN, m->pl[no % XC_PREP], m->len[no % XC_PREP]);
		xd->sent_ns[no % XC_RING] = t;
	} else {
		memcpy(p + 12, MAGIC, 4);
		put32(p + 16, i);
		put32(p + 20, no);
		put64(p + 24, t);
		memset(p + 32, 0xd5, len - 32);
	}
	if (rev)
		s->rev_seq++;
	else
		s->seq++;
	if (!rev && !b->o.direct && !(len = fast_protect(&s->tx, p, len)))
		return;
	bool in_win = b->measuring && t >= b->win_start_ns && t < b->win_end_ns;
	if (in_win)
		(rev ? &b->rev : &b->fwd)->sent++;
	const struct wims_addr *to = rev ? &s->gw_plain : &s->gw_web;
	sb->iov[sb->n] = (struct iovec){p, len};
	sb->h[sb->n].msg_hdr = (struct msghdr){.msg_name = (void *)&to->u.sa,
					       .msg_namelen = wims_addr_len(to),
					       .msg_iov = &sb->iov[sb->n],
					       .msg_iovlen = 1};
	if (++sb->n == SEND_BATCH)
		batch_flush(fd, sb);
}

/* One tick (--tick-us): the streams of this slot send a packet each. */
static void send_tick(struct bench *b, uint64_t tick)
{
	unsigned period = 1000000 / b->o.pps / b->o.tick_us;

	for (unsigned i = (unsigned)(tick % period); i < b->o.streams; i += period) {
		struct stream *s = &b->st[i];
		if (s->state != ST_RUN)
			continue;
		queue_pkt(b, b->web[s->sock], &web_batch[s->sock], i, false);
		if (b->o.reverse)
			queue_pkt(b, b->sink[s->sock], &sink_batch[s->sock], i, true);
	}
	for (unsigned k = 0; k < b->o.sockets; k++) {
		if (web_batch[k].n)
			batch_flush(b->web[k], &web_batch[k]);
		if (sink_batch[k].n)
			batch_flush(b->sink[k], &sink_batch[k]);
	}
}

static void hist_add(struct hist *h, uint64_t ns)
{
	uint64_t us = ns / 1000;

	h->n++;
	h->sum_ns += ns;
	if (ns > h->max_ns)
		h->max_ns = ns;
	if (us < HIST_US)
		h->b[us]++;
	else
		h->over++;
}

/* A media payload arrived (decrypted): count it if it was sent in the window. */
static void on_media(struct bench *b, struct dir_stats *d, const uint8_t *p, size_t n, uint64_t rx_ns)
{
	struct wims_rtp_hdr h;

	if (wims_rtp_parse(&h, p, n) || h.payload_len < 20 || memcmp(p + h.hdr_len, MAGIC, 4)) {
		d->bad++;
		return;
	}
	uint64_t t = get64(p + h.hdr_len + 12);
	if (!b->measuring || t < b->win_start_ns || t >= b->win_end_ns)
		return;
	d->recv++;
	hist_add(&d->h, rx_ns > t ? rx_ns - t : 0);
}

/* --xcode: a transcoded packet of stream i in direction dir (0: at a sink,
 * 1: at a WebRTC socket, decrypted), placed by its timestamp. */
static void xc_on_media(struct bench *b, int dir, int32_t i, const uint8_t *p, size_t n, uint64_t rx_ns)
{
	struct dir_stats *d = dir ? &b->rev : &b->fwd;
	struct wims_rtp_hdr h;
	uint64_t t;

	if (i < 0 || (unsigned)i >= b->o.streams || wims_rtp_parse(&h, p, n)) {
		d->bad++;
		return;
	}
	uint8_t want = dir ? b->pt : b->xs[i].plain_pt;
	if ((p[1] & 0x7f) != want)
		return; /* RTCP, comfort noise, events: not audio of the pair */
	struct stream *s = &b->st[i];
	const struct xc_media *m = dir ? &b->xm_web : &b->xm_plain; /* what comes out */
	struct xc_dir *xd = &b->xs[i].d[dir];
	if (xc_place(xd, get32(p + 4), m->step, dir ? s->rev_no : s->pkt_no, rx_ns, &t) < 0)
		return;
	uint64_t lat = rx_ns > t ? rx_ns - t : 0;
	if (lat < xd->min_lat_ns)
		xd->min_lat_ns = lat;
	if (!b->measuring || t < b->win_start_ns || t >= b->win_end_ns)
		return;
	d->recv++;
	hist_add(&d->h, lat);
	hist_add(&b->xrel[dir], lat - xd->min_lat_ns);
}

static uint64_t rx_stamp(struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;
			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
		}
	return now_ns(CLOCK_REALTIME);
}

static void on_web_pkt(struct bench *b, unsigned sock, uint8_t *p, size_t n, const struct wims_addr *from,
		       uint64_t rx)
{
	int32_t i;

	switch (wims_pkt_classify(p, n)) {
	case WIMS_PKT_STUN:
		on_stun(b, sock, p, n, from);
		break;
	case WIMS_PKT_DTLS:
		i = b->by_port[wims_addr_port(from)];
		if (i >= 0)
			on_dtls(b, &b->st[i], p, n);
		break;
	case WIMS_PKT_RTP:
		i = b->by_port[wims_addr_port(from)];
		if (b->o.direct) {
			on_media(b, &b->fwd, p, n, rx);
		} else if (i >= 0 && b->st[i].state == ST_RUN) {
			size_t m = b->o.xc ? xc_unprotect(&b->st[i].rx, &b->xs[i], p, n)
					   : fast_unprotect(&b->st[i].rx, p, n);
			if (m && b->o.xc)
				xc_on_media(b, 1, i, p, m, rx);
			else if (m)
				on_media(b, &b->rev, p, m, rx);
			else
				b->rev.bad++;
		}
		break;
	default:
		break;
	}
}

static void drain_sock(struct bench *b, int fd, unsigned sock, bool is_sink)
{
	static uint8_t bufs[BATCH][PKT_CAP];
	static char ctl[BATCH][CMSG_SPACE(sizeof(struct timespec))];
	static struct sockaddr_in6 names[BATCH];
	static struct mmsghdr h[BATCH];
	static struct iovec iov[BATCH];

	for (int round = 0; round < 16; round++) {
		for (unsigned k = 0; k < BATCH; k++) {
			iov[k] = (struct iovec){bufs[k], PKT_CAP};
			h[k].msg_hdr = (struct msghdr){.msg_name = &names[k], .msg_namelen = sizeof(names[k]),
						       .msg_iov = &iov[k], .msg_iovlen = 1,
						       .msg_control = ctl[k], .msg_controllen = sizeof(ctl[k])};
		}
		int r = recvmmsg(fd, h, BATCH, MSG_DONTWAIT, NULL);
		if (r <= 0)
			return;
		for (int k = 0; k < r; k++) {
			uint64_t rx = rx_stamp(&h[k].msg_hdr);
			struct wims_addr from;
			if (wims_addr_from_sa(&from, (struct sockaddr *)&names[k]))
				continue;
			if (is_sink && b->o.xc)
				xc_on_media(b, 0, b->by_plain_port[wims_addr_port(&from)], bufs[k], h[k].msg_len, rx);
			else if (is_sink)
				on_media(b, &b->fwd, bufs[k], h[k].msg_len, rx);
			else
				on_web_pkt(b, sock, bufs[k], h[k].msg_len, &from, rx);
		}
		if (r < BATCH)
			return;
	}
}

/* ------------------------------------------------------------ report */

/* utime + stime of a process (all its threads), in clock ticks; -1 unknown. */
static long long proc_cpu_ticks(int pid)
{
	char path[64], buf[1024];
	unsigned long long ut, stt;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	const char *p = strrchr(buf, ')');
	/* after "pid (comm)": state ppid pgrp session tty tpgid flags minflt
	 * cminflt majflt cmajflt utime stime */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &stt) != 2)
		return -1;
	return (long long)(ut + stt);
}

static double self_cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
	       ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

static double pct_us(const struct hist *h, double q)
{
	uint64_t want = (uint64_t)(q * (double)h->n), acc = 0;

	if (!h->n)
		return -1;
	for (unsigned i = 0; i < HIST_US; i++) {
		acc += h->b[i];
		if (acc > want)
			return i + 0.5;
	}
	return (double)h->max_ns / 1000.0;
}

static void print_dir(const char *name, const struct dir_stats *d)
{
	double loss = d->sent ? 100.0 * (double)(d->sent > d->recv ? d->sent - d->recv : 0) / (double)d->sent : 0;
	const struct hist *h = &d->h;

	printf("\"%s\":{\"sent\":%" PRIu64 ",\"recv\":%" PRIu64 ",\"bad\":%" PRIu64 ",\"loss_pct\":%.4f,"
	       "\"lat_us\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f,\"mean\":%.1f}}",
	       name, d->sent, d->recv, d->bad, loss, pct_us(h, 0.5), pct_us(h, 0.9), pct_us(h, 0.99),
	       pct_us(h, 0.999), (double)h->max_ns / 1000.0, h->n ? (double)h->sum_ns / (double)h->n / 1000.0 : -1);
}

static void report(struct bench *b, double elapsed, long long ticks, double tool_cpu)
{
	double hz = (double)sysconf(_SC_CLK_TCK), gw_cpu = ticks >= 0 ? (double)ticks / hz : -1;
	uint64_t pkts = b->fwd.recv + b->rev.recv;
	double cpu_frac = gw_cpu >= 0 && elapsed > 0 ? gw_cpu / elapsed : -1;

	printf("{\"label\":\"%s\",\"direct\":%s,\"streams\":%u,\"established\":%u,\"failed_setup\":%u,"
	       "\"pps_per_stream\":%u,\"tick_us\":%u,\"reverse\":%s,\"window_s\":%.3f,\"pps\":%.0f,",
	       b->o.label, b->o.direct ? "true" : "false", b->o.streams, b->running, b->failed, b->o.pps,
	       b->o.tick_us, b->o.reverse ? "true" : "false", elapsed, elapsed > 0 ? (double)pkts / elapsed : 0);
	print_dir("fwd", &b->fwd);
	printf(",");
	if (b->o.reverse)
		print_dir("rev", &b->rev);
	else
		printf("\"rev\":null");
	if (b->o.xc)
		printf(",\"xcode\":\"%s\",\"udp_drops\":%lld,\"rel_lat_us\":{\"fwd\":{\"p50\":%.1f,\"p99\":%.1f},"
		       "\"rev\":{\"p50\":%.1f,\"p99\":%.1f}}",
		       b->o.xc->name, b->udp0 >= 0 && b->udp1 >= 0 ? b->udp1 - b->udp0 : -1,
		       pct_us(&b->xrel[0], 0.5), pct_us(&b->xrel[0], 0.99), pct_us(&b->xrel[1], 0.5),
		       pct_us(&b->xrel[1], 0.99));
	printf(",\"gw_pid\":%d,\"gw_cpu_s\":%.2f,\"gw_cpu_pct\":%.1f,\"gw_cpu_ms_per_1000_pkts\":%.4f,"
	       "\"streams_per_core\":%.0f,\"tool_cpu_pct\":%.1f}\n",
	       b->o.pid, gw_cpu, cpu_frac >= 0 ? 100 * cpu_frac : -1,
	       gw_cpu >= 0 && pkts ? 1000.0 * gw_cpu * 1000.0 / (double)pkts : -1,
	       cpu_frac > 0 ? (double)b->running / cpu_frac : -1, elapsed > 0 ? 100 * tool_cpu / elapsed : -1);
	fflush(stdout);
}

/* ------------------------------------------------------------ setup */

static void usage(void)
{
	fprintf(stderr, "usage: wims-mediabench [--ng ADDR:PORT] [--streams N] [--duration S] [--warmup S]\n"
			"       [--pps N] [--codec pcmu|opus] [--reverse] [--pid PID] [--sockets K]\n"
			"       [--setup-timeout S] [--label NAME] [--direct] [--busy-poll] [--selftest] [--tick-us US]\n"
			"       [--xcode opus-amrwb|pcmu-amr|opus-pcmu|pcma-pcmu [--xcode-force]] [--raw PAIR]\n");
}

static int parse_opts(struct opts *o, int argc, char **argv)
{
	static const struct option lo[] = {
	    {"ng", 1, 0, 'n'},	  {"streams", 1, 0, 's'}, {"duration", 1, 0, 'd'}, {"warmup", 1, 0, 'w'},
	    {"pps", 1, 0, 'p'},	  {"codec", 1, 0, 'c'},	  {"reverse", 0, 0, 'r'},  {"pid", 1, 0, 'P'},
	    {"sockets", 1, 0, 'k'}, {"setup-timeout", 1, 0, 't'}, {"label", 1, 0, 'l'}, {"direct", 0, 0, 'D'},
	    {"selftest", 0, 0, 'T'}, {"busy-poll", 0, 0, 'B'}, {"help", 0, 0, 'h'}, {"xcode", 1, 0, 'X'},
	    {"xcode-force", 0, 0, 'F'}, {"raw", 1, 0, 'R'}, {"tick-us", 1, 0, 'U'}, {0, 0, 0, 0}};
	int c;

	*o = (struct opts){.streams = 10, .pps = 50, .sockets = 8, .duration = 10, .warmup = 1,
			   .setup_timeout = 60, .label = "agw", .tick_us = 1000};
	if (wims_addr_parse(&o->ng, wims_str_c("127.0.0.1:2223"), 2223))
		return -1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		char *end = NULL;
		switch (c) {
		case 'n': if (wims_addr_parse(&o->ng, wims_str_c(optarg), 2223)) return -1; break;
		case 's': o->streams = (unsigned)strtoul(optarg, &end, 10), o->streams_set = true; break;
		case 'd': o->duration = strtod(optarg, &end); break;
		case 'w': o->warmup = strtod(optarg, &end); break;
		case 'p': o->pps = (unsigned)strtoul(optarg, &end, 10); break;
		case 'c': o->opus = strcmp(optarg, "opus") == 0; break;
		case 'r': o->reverse = true; break;
		case 'P': o->pid = (int)strtol(optarg, &end, 10); break;
		case 'k': o->sockets = (unsigned)strtoul(optarg, &end, 10); break;
		case 't': o->setup_timeout = strtod(optarg, &end); break;
		case 'l': o->label = optarg; break;
		case 'D': o->direct = true; break;
		case 'T': o->selftest = true; break;
		case 'B': o->busy_poll = true; break;
		case 'X': if (!(o->xc = xc_pair_find(optarg))) return -1; break;
		case 'F': o->xc_force = true; break;
		case 'R': if (!(o->raw = xc_pair_find(optarg))) return -1; break;
		case 'U': o->tick_us = (unsigned)strtoul(optarg, &end, 10); break;
		default: return -1;
		}
		if (end && *end)
			return -1;
	}
	if (!o->streams || o->streams > MAX_STREAMS || !o->pps || o->pps > 1000 || 1000 % o->pps ||
	    !o->sockets || o->sockets > MAX_SOCKS || o->duration <= 0 || (o->xc && (o->direct || o->pps != 50)))
		return -1;
	/* a whole number of ticks per packet period, and 10 ms (housekeeping) */
	if (o->tick_us < 10 || o->tick_us > 1000 || (1000000 / o->pps) % o->tick_us || 10000 % o->tick_us)
		return -1;
	if (o->xc)
		o->reverse = true; /* a call: both directions */
	return 0;
}

static void rand_token(char *out, size_t n)
{
	static const char al[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	uint8_t r[64];

	if (RAND_bytes(r, (int)n) != 1)
		memset(r, 7, sizeof(r));
	for (size_t i = 0; i < n; i++)
		out[i] = al[r[i] % (sizeof(al) - 1)];
	out[n] = 0;
}

static int open_all(struct bench *b)
{
	struct epoll_event ev = {.events = EPOLLIN};

	b->ep = epoll_create1(EPOLL_CLOEXEC);
	b->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (b->ep < 0 || b->tfd < 0)
		return -1;
	for (unsigned k = 0; k < b->o.sockets; k++) {
		b->web[k] = udp_socket(&b->web_addr[k], true);
		b->sink[k] = udp_socket(&b->sink_addr[k], true);
		if (b->web[k] < 0 || b->sink[k] < 0)
			return -1;
		ev.data.u32 = k;
		if (epoll_ctl(b->ep, EPOLL_CTL_ADD, b->web[k], &ev))
			return -1;
		ev.data.u32 = 0x10000 | k;
		if (epoll_ctl(b->ep, EPOLL_CTL_ADD, b->sink[k], &ev))
			return -1;
	}
	ev.data.u32 = 0x20000;
	long tick_ns = (long)b->o.tick_us * 1000;
	struct itimerspec its = {.it_interval = {0, tick_ns}, .it_value = {0, tick_ns}};
	if (epoll_ctl(b->ep, EPOLL_CTL_ADD, b->tfd, &ev) || timerfd_settime(b->tfd, 0, &its, NULL))
		return -1;
	b->ng_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (b->ng_fd < 0 || connect(b->ng_fd, &b->o.ng.u.sa, wims_addr_len(&b->o.ng)))
		return -1;
	return 0;
}

/* Streams: credentials, SSRCs, start sequences; offer/answer over ng. */
static int setup_streams(struct bench *b)
{
	uint8_t r[8];
	unsigned ok = 0;

	for (unsigned i = 0; i < b->o.streams; i++) {
		struct stream *s = &b->st[i];
		s->sock = i % b->o.sockets;
		rand_token(s->lufrag, 8);
		rand_token(s->lpwd, 24);
		if (RAND_bytes(r, sizeof(r)) != 1)
			return -1;
		s->ssrc = get32(r), s->rev_ssrc = get32(r + 4);
		/* start well below a wrap: the transform assumes ROC 0 */
		s->seq = (uint16_t)(r[0] << 4), s->rev_seq = (uint16_t)(r[1] << 4);
		if (b->o.direct) {
			s->gw_web = b->sink_addr[s->sock];
			s->state = ST_RUN;
			b->running++;
			continue;
		}
		if (ng_setup(b, i) || dtls_prepare(b, s)) {
			s->state = ST_FAILED;
			b->failed++;
			continue;
		}
		if (b->o.xc)
			b->by_plain_port[wims_addr_port(&s->gw_plain)] = (int32_t)i;
		uint16_t port = wims_addr_port(&s->gw_web);
		if (b->by_port[port] >= 0)
			fprintf(stderr, "warning: gateway port %u used by streams %d and %u\n", port,
				b->by_port[port], i);
		b->by_port[port] = (int32_t)i;
		ok++;
	}
	if (b->o.direct)
		b->next_setup = b->o.streams; /* nothing to set up */
	else
		fprintf(stderr, "[%s] %u/%u streams offered and answered\n", b->o.label, ok, b->o.streams);
	return b->o.direct || ok ? 0 : -1;
}

/* ------------------------------------------------------------ the loop */

struct window {
	long long cpu0, cpu1;
	double tool0, tool1;
	uint64_t drain_until;
	bool started, ended;
};

/* Set-up done: open the window after the warm-up. */
static void window_plan(struct bench *b)
{
	uint64_t now = now_ns(CLOCK_REALTIME);

	b->win_start_ns = now + (uint64_t)(b->o.warmup * 1e9);
	b->win_end_ns = b->win_start_ns + (uint64_t)(b->o.duration * 1e9);
	b->measuring = true;
	fprintf(stderr, "[%s] %u streams running, %u failed; measuring %.0f s after %.1f s warm-up\n", b->o.label,
		b->running, b->failed, b->o.duration, b->o.warmup);
}

/* Open/close the window on time; true when the run is over. */
static bool window_step(struct bench *b, struct window *w)
{
	uint64_t now = now_ns(CLOCK_REALTIME);

	if (!b->measuring)
		return false;
	if (!w->started && now >= b->win_start_ns) {
		w->started = true;
		b->udp0 = xc_udp_drops();
		w->cpu0 = proc_cpu_ticks(b->o.pid);
		w->tool0 = self_cpu_s();
	}
	if (w->started && !w->ended && now >= b->win_end_ns) {
		w->ended = true;
		w->cpu1 = proc_cpu_ticks(b->o.pid);
		w->tool1 = self_cpu_s();
		/* --xcode: packets are placed by timestamp, so the streams go on
		 * (the next ones are not counted) */
		b->sending = b->o.xc != NULL;
		w->drain_until = now + 300000000u; /* late packets still count */
	}
	if (w->ended && now >= w->drain_until) {
		b->udp1 = xc_udp_drops();
		return true;
	}
	return false;
}

static bool setup_done(const struct bench *b)
{
	return b->inflight == 0 && b->next_setup >= b->o.streams;
}

static void run_loop(struct bench *b)
{
	struct epoll_event evs[2 * MAX_SOCKS + 1];
	struct window w = {0};
	uint64_t tick = 0, setup_deadline = mono_ms() + (uint64_t)(b->o.setup_timeout * 1000);

	b->sending = true;
	for (;;) {
		/* --busy-poll: never sleep, so that a gateway's send finds no
		 * sleeping reader to wake (on a VM, a cross-CPU wake-up is an IPI
		 * and a VM exit that the sender pays: a loopback artefact) */
		int n = epoll_wait(b->ep, evs, 2 * MAX_SOCKS + 1, b->o.busy_poll ? 0 : 100);
		for (int k = 0; k < n; k++) {
			uint32_t id = evs[k].data.u32;
			if (id == 0x20000) {
				uint64_t exp = 0;
				if (read(b->tfd, &exp, sizeof(exp)) != sizeof(exp))
					continue;
				/* catch up a little (20 ms) when late, never flood */
				for (uint64_t e = 0; e < exp && e < 20000 / b->o.tick_us; e++, tick++) {
					if (b->sending)
						send_tick(b, tick);
					if (tick % (10000 / b->o.tick_us) == 0 && !b->o.direct)
						housekeeping(b, mono_ms());
				}
			} else if (id & 0x10000) {
				drain_sock(b, b->sink[id & 0xffff], id & 0xffff, true);
			} else {
				drain_sock(b, b->web[id], id, false);
			}
		}
		if (!b->measuring && (setup_done(b) || mono_ms() > setup_deadline))
			window_plan(b);
		if (window_step(b, &w))
			break;
	}
	double el = (double)(b->win_end_ns - b->win_start_ns) / 1e9;
	report(b, el, w.cpu0 >= 0 && w.cpu1 >= 0 ? w.cpu1 - w.cpu0 : -1, w.tool1 - w.tool0);
}

int main(int argc, char **argv)
{
	static struct bench bench;
	struct bench *b = &bench;

	if (parse_opts(&b->o, argc, argv)) {
		usage();
		return 1;
	}
	if (b->o.selftest)
		return selftest() || xc_selftest();
	if (b->o.raw) /* the PCM rates each gateway runs the pair's codecs at */
		return xc_raw(b->o.raw, b->o.raw->web == WIMS_CODEC_OPUS && b->o.raw->plain == WIMS_CODEC_AMRWB ? 16000
				   : b->o.raw->web == WIMS_CODEC_OPUS ? 48000 : 8000,
			      0, (unsigned)b->o.duration, b->o.streams_set ? b->o.streams : 1);
	b->pt = b->o.opus ? 111 : 0;
	b->payload_len = b->o.opus ? 80 : 160; /* opus ~32 kb/s, PCMU 64 kb/s: 20 ms each */
	memset(b->by_port, 0xff, sizeof(b->by_port));
	memset(b->by_plain_port, 0xff, sizeof(b->by_plain_port));
	b->udp0 = b->udp1 = -1;
	if (b->o.xc) {
		b->pt = b->o.xc->web_pt;
		b->xs = calloc(b->o.streams, sizeof(*b->xs));
		for (unsigned i = 0; b->xs && i < b->o.streams; i++)
			b->xs[i].d[0].min_lat_ns = b->xs[i].d[1].min_lat_ns = UINT64_MAX;
		if (!b->xs || xc_prepare(b->o.xc->web, &b->xm_web) || xc_prepare(b->o.xc->plain, &b->xm_plain)) {
			fprintf(stderr, "wims-mediabench: encoding the %s frames failed\n", b->o.xc->name);
			return 1;
		}
	}
	b->st = calloc(b->o.streams, sizeof(*b->st));
	if (!b->st || open_all(b)) {
		fprintf(stderr, "wims-mediabench: set-up failed: %s\n", strerror(errno));
		return 1;
	}
	if (wims_dtls_ctx_new(&b->dctx, NULL, NULL) ||
	    wims_dtls_ctx_set_srtp_profiles(b->dctx, "SRTP_AES128_CM_SHA1_80")) {
		fprintf(stderr, "wims-mediabench: DTLS context\n");
		return 1;
	}
	b->fp = wims_dtls_ctx_fingerprint(b->dctx);
	if (setup_streams(b))
		return 1;
	run_loop(b);
	int rc = b->running ? 0 : 1;
	for (unsigned i = 0; i < b->o.streams && !b->o.direct; i++) {
		wims_dtls_free(b->st[i].dtls);
		fast_srtp_free(&b->st[i].tx);
		fast_srtp_free(&b->st[i].rx);
		if (b->st[i].state != ST_FAILED || b->st[i].gw_web.u.sa.sa_family)
			ng_delete(b, i);
	}
	wims_dtls_ctx_free(b->dctx);
	free(b->st);
	free(b->xs);
	return rc;
}
