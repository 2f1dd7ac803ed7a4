/* wims-mediabench helpers for --xcode PAIR: transcoded calls.
 *
 * A pair names the WebRTC side's codec and the plain (IMS) side's codec the
 * gateway has to transcode between.  At start a few seconds of a two-tone
 * signal are encoded once per side (libopus, opencore AMR, vo-amrwbenc, G.711
 * through src/codec), so that the load costs a table look-up per packet; the
 * packets are replayed with fresh sequence numbers and timestamps.
 *
 * What comes out of a transcoder carries its own payload, SSRC, sequence and
 * timestamps, so the tool's marker payload cannot be used: a received packet
 * is placed by its RTP timestamp instead.  The gateway's output timeline is
 * continuous (one output packet per 20 ms input packet), so packet k of a
 * direction has timestamp first + k * step; its send time is kept in a ring
 * per stream and direction.  If the first packets were dropped before the
 * gateway was ready, the placement would give a negative latency: the base
 * is moved on until it does not.  If they were dropped or held without a
 * trace, every latency of that stream is off by a whole number of packets:
 * so besides the latency, the tool gives each packet's latency over the
 * least its stream has shown so far ("relative"), which a constant offset
 * does not move and queueing does.
 *
 * A gateway that conceals a lost input packet (wimsd does, RFC 3550 style
 * PLC) still emits a packet for it, so the count cannot show such a loss; the
 * tool therefore also reads the UDP receive-buffer drops of the network
 * namespace (/proc/net/snmp), in which only the gateway and the tool run.
 * Included by tools/wims-mediabench.c only. */
#ifndef WIMS_TOOLS_MEDIABENCH_XCODE_H
#define WIMS_TOOLS_MEDIABENCH_XCODE_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <opus/opus.h>

#include "codec/amr.h"
#include "codec/codec.h"

#define XC_PREP 150 /* pre-encoded packets per side: 3 s */
#define XC_PAYLOAD 400
#define XC_RING 128 /* send times kept per stream and direction: 2.56 s */

struct xc_pair {
	const char *name;	  /* --xcode NAME */
	enum wims_codec_id web;	  /* WebRTC side */
	uint8_t web_pt;		  /* its payload type in the offer */
	const char *web_rtpmap;	  /* a=rtpmap value after the payload type */
	enum wims_codec_id plain; /* plain RTP side, named in codec: transcode */
	const char *plain_enc;	  /* encoding name, as ng and a=rtpmap spell it */
	const char *plain_rtpmap;
	const char *plain_fmtp; /* NULL: none */
};

static const struct xc_pair xc_pairs[] = {
    {"opus-amrwb", WIMS_CODEC_OPUS, 111, "opus/48000/2", WIMS_CODEC_AMRWB, "AMR-WB", "AMR-WB/16000",
     "mode-change-capability=2;max-red=0"},
    {"pcmu-amr", WIMS_CODEC_PCMU, 0, "PCMU/8000", WIMS_CODEC_AMR, "AMR", "AMR/8000",
     "mode-change-capability=2;max-red=0"},
    {"opus-pcmu", WIMS_CODEC_OPUS, 111, "opus/48000/2", WIMS_CODEC_PCMU, "PCMU", "PCMU/8000", NULL},
    {"pcma-pcmu", WIMS_CODEC_PCMA, 8, "PCMA/8000", WIMS_CODEC_PCMU, "PCMU", "PCMU/8000", NULL},
};

static const struct xc_pair *xc_pair_find(const char *name)
{
	for (size_t i = 0; i < sizeof(xc_pairs) / sizeof(xc_pairs[0]); i++)
		if (strcmp(xc_pairs[i].name, name) == 0)
			return &xc_pairs[i];
	return NULL;
}

/* 20 ms packets of one codec, RTP payload only. */
struct xc_media {
	uint8_t pl[XC_PREP][XC_PAYLOAD];
	uint16_t len[XC_PREP];
	uint32_t step; /* RTP timestamp units per packet */
};

/* One direction of one stream, as the receiving end sees it. */
struct xc_dir {
	uint64_t sent_ns[XC_RING]; /* by packet number % XC_RING */
	uint32_t first_ts;
	int64_t base; /* packet number of the first packet received */
	bool have_first;
	uint64_t placed, unplaced;
	uint64_t min_lat_ns; /* the least latency seen so far, UINT64_MAX before */
};

struct xc_stream {
	struct xc_dir d[2]; /* 0: WebRTC -> plain, 1: plain -> WebRTC */
	uint8_t plain_pt;	/* from the offer's reply */
	/* SRTP from the gateway: a transcoder starts its own sequence at
	 * random, so it may wrap within a run (RFC 3711 §3.3.1) */
	uint32_t rx_roc;
	uint16_t rx_s_l;
	bool rx_have;
};

/** Verify and decrypt an SRTP packet from the gateway, guessing its ROC
 * from the highest sequence number seen (RFC 3711 §3.3.1); wims_mediabench_srtp.h's
 * fast_unprotect assumes ROC 0.  The new length or 0. */
static size_t xc_unprotect(struct fast_srtp *s, struct xc_stream *x, uint8_t *p, size_t len)
{
	struct wims_rtp_hdr h;
	uint8_t tag[SRTP_TAG];

	if (len < WIMS_RTP_HDR_MIN + SRTP_TAG || wims_rtp_parse(&h, p, len - SRTP_TAG))
		return 0;
	uint16_t seq = (uint16_t)(p[2] << 8 | p[3]);
	if (!x->rx_have)
		x->rx_s_l = seq, x->rx_roc = 0;
	uint32_t v = x->rx_roc;
	if (x->rx_s_l < 32768) {
		if (seq > x->rx_s_l && seq - x->rx_s_l > 32768 && v > 0)
			v--;
	} else if (seq < x->rx_s_l - 32768) {
		v++;
	}
	len -= SRTP_TAG;
	srtp_auth(s, p, len, v, tag);
	if (CRYPTO_memcmp(tag, p + len, SRTP_TAG) || srtp_crypt(s, p, h.hdr_len, len, v))
		return 0;
	if (!x->rx_have || v > x->rx_roc || (v == x->rx_roc && seq > x->rx_s_l))
		x->rx_roc = v, x->rx_s_l = seq;
	x->rx_have = true;
	return len;
}

static void xc_tone(int16_t *pcm, size_t n, uint32_t rate, size_t *t)
{
	for (size_t i = 0; i < n; i++, (*t)++)
		pcm[i] = (int16_t)(6000 * sin(2 * 3.14159265358979 * 440 * (double)*t / rate) +
				   2000 * sin(2 * 3.14159265358979 * 1230 * (double)*t / rate));
}

/** Encode XC_PREP packets of 20 ms of the tone with codec id at its native
 * rate (AMR in RFC 4867 bandwidth-efficient form, no CMR).  0 or -1. */
static int xc_prepare(enum wims_codec_id id, struct xc_media *m)
{
	const struct wims_codec_desc *c = wims_codec_get(id);
	struct wims_amr_params amr = {.kind = id == WIMS_CODEC_AMRWB ? WIMS_AMR_WB : WIMS_AMR_NB};
	struct wims_enc *e;
	int16_t pcm[960];
	uint8_t fr[WIMS_CODEC_MAX_ENC];
	size_t t = 0, fs;
	int rc = 0;

	if (!c || wims_enc_new(&e, c, NULL))
		return -1;
	fs = c->pcm_rate / 50;
	m->step = c->rtp_clock / 50;
	for (unsigned i = 0; i < XC_PREP && !rc; i++) {
		int r;
		xc_tone(pcm, fs, c->pcm_rate, &t);
		if (id == WIMS_CODEC_AMR || id == WIMS_CODEC_AMRWB) {
			r = wims_enc_frame(e, pcm, fs, fr, sizeof(fr));
			const uint8_t *f[1] = {fr};
			size_t fl[1] = {r > 0 ? (size_t)r : 0};
			if (r > 0)
				r = wims_amr_pack(&amr, 15, f, fl, 1, m->pl[i], XC_PAYLOAD);
		} else {
			r = wims_enc_frame(e, pcm, fs, m->pl[i], XC_PAYLOAD);
		}
		if (r <= 0)
			rc = -1;
		else
			m->len[i] = (uint16_t)r;
	}
	wims_enc_free(e);
	return rc;
}

/** Packet number of a received packet with RTP timestamp ts and receive time
 * rx_ns in direction x, whose sender has sent `sent` packets, each step
 * units apart; its send time in *sent_ns.  -1 when it cannot be placed
 * (older than the ring, not sent yet, or off the 20 ms grid). */
static int64_t xc_place(struct xc_dir *x, uint32_t ts, uint32_t step, uint64_t sent, uint64_t rx_ns,
			uint64_t *sent_ns)
{
	if (!x->have_first) {
		x->have_first = true;
		x->first_ts = ts;
		x->base = 0;
	}
	int32_t d = (int32_t)(ts - x->first_ts);
	if (d < 0 || !step || (uint32_t)d % step) {
		x->unplaced++;
		return -1;
	}
	int64_t k = x->base + d / (int32_t)step;
	/* the first packets never came out: move the base until the latency is not negative */
	while (k < (int64_t)sent && k + XC_RING > (int64_t)sent && x->sent_ns[k % XC_RING] > rx_ns && x->base < 50) {
		x->base++;
		k++;
	}
	if (k >= (int64_t)sent || k + XC_RING <= (int64_t)sent) {
		x->unplaced++;
		return -1;
	}
	x->placed++;
	*sent_ns = x->sent_ns[k % XC_RING];
	return k;
}

/** UDP datagrams the kernel dropped in this network namespace (receive
 * buffer full, or other input errors): Udp RcvbufErrors + InErrors of
 * /proc/net/snmp (InErrors includes RcvbufErrors on Linux, so the larger
 * of the two).  -1 when unreadable. */
static long long xc_udp_drops(void)
{
	char line[1024], head[1024] = "";
	long long best = -1;
	FILE *f = fopen("/proc/net/snmp", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "Udp: ", 5) != 0)
			continue;
		if (!head[0]) {
			memcpy(head, line, sizeof(head));
			continue;
		}
		/* the value line: walk both lines column by column */
		char *hs = NULL, *vs = NULL;
		char *h = strtok_r(head, " \n", &hs), *v = strtok_r(line, " \n", &vs);
		while (h && v) {
			if (!strcmp(h, "InErrors") || !strcmp(h, "RcvbufErrors")) {
				long long n = strtoll(v, NULL, 10);
				best = n > best ? n : best;
			}
			h = strtok_r(NULL, " \n", &hs);
			v = strtok_r(NULL, " \n", &vs);
		}
		break;
	}
	fclose(f);
	return best;
}

static double xc_thread_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

#define XC_RAW_MAX_STATES 512

struct xc_raw_states {
	struct wims_enc *e[XC_RAW_MAX_STATES];
	struct wims_dec *d[XC_RAW_MAX_STATES];
	unsigned n;
};

static void xc_raw_free(struct xc_raw_states *r)
{
	for (unsigned i = 0; i < r->n; i++) {
		wims_enc_free(r->e[i]);
		wims_dec_free(r->d[i]);
	}
	r->n = 0;
}

static int xc_raw_new(struct xc_raw_states *r, const struct wims_codec_desc *c, uint32_t rate, unsigned n)
{
	struct wims_codec_params p;

	wims_codec_params_init(&p);
	p.pcm_rate = rate;
	r->n = 0;
	for (unsigned i = 0; i < n; i++) {
		if (wims_enc_new(&r->e[i], c, &p))
			break;
		if (wims_dec_new(&r->d[i], c, &p)) {
			wims_enc_free(r->e[i]);
			break;
		}
		r->n++;
	}
	if (r->n == n)
		return 0;
	xc_raw_free(r);
	return -1;
}

/* Raw cost per 20 ms of one codec at rate (0 = native): encoders on the
 * tone, decoders on packets the far end encoded at the native rate; the
 * frames go round nstates encoder and decoder states, as a gateway's calls
 * do (one state in a loop stays in the CPU's caches, many do not). */
static int xc_raw_codec(enum wims_codec_id id, uint32_t rate, unsigned frames, unsigned nstates,
			double *enc_us, double *dec_us)
{
	static struct xc_media m;
	static struct xc_raw_states st;
	static int16_t pcm[XC_PREP][960], out[WIMS_CODEC_MAX_PCM];
	const struct wims_codec_desc *c = wims_codec_get(id);
	uint8_t tmp[WIMS_CODEC_MAX_ENC], fr[WIMS_CODEC_MAX_ENC];
	struct wims_amr_params amr = {.kind = id == WIMS_CODEC_AMRWB ? WIMS_AMR_WB : WIMS_AMR_NB};
	bool is_amr = id == WIMS_CODEC_AMR || id == WIMS_CODEC_AMRWB;
	size_t t = 0;
	int bad = 0;

	if (!c || !nstates || nstates > XC_RAW_MAX_STATES || xc_prepare(id, &m) ||
	    xc_raw_new(&st, c, rate, nstates))
		return -1;
	size_t fs = wims_enc_rate(st.e[0]) / 50;
	for (unsigned i = 0; i < XC_PREP; i++)
		xc_tone(pcm[i], fs, wims_enc_rate(st.e[0]), &t);
	double t0 = xc_thread_us();
	for (unsigned i = 0; i < frames; i++)
		bad |= wims_enc_frame(st.e[i % nstates], pcm[(i / nstates) % XC_PREP], fs, tmp, sizeof(tmp)) < 0;
	double t1 = xc_thread_us();
	for (unsigned i = 0; i < frames; i++) {
		const uint8_t *in = m.pl[(i / nstates) % XC_PREP];
		size_t len = m.len[(i / nstates) % XC_PREP];
		if (is_amr) { /* the payload unpack is part of the decoder's job */
			uint8_t cmr;
			size_t off[WIMS_AMR_MAX_FRAMES], fl[WIMS_AMR_MAX_FRAMES];
			if (wims_amr_unpack(&amr, in, len, &cmr, fr, sizeof(fr), off, fl) < 1) {
				bad = 1;
				continue;
			}
			in = fr + off[0], len = fl[0];
		}
		bad |= wims_dec_frame(st.d[i % nstates], in, len, out, WIMS_CODEC_MAX_PCM) < 0;
	}
	double t2 = xc_thread_us();
	*enc_us = (t1 - t0) / frames;
	*dec_us = (t2 - t1) / frames;
	xc_raw_free(&st);
	return bad ? -1 : 0;
}

/* The Opus encoder and decoder as Debian's rtpengine 10.5 runs them
 * (libavcodec's libopus wrapper: 48 kHz, 2 channels, complexity 10, 32 kb/s,
 * as its log says: "Encoder created with clockrate 48000, 2 channels ...
 * bitrate 32000"), per 20 ms, on the tone copied to both channels. */
static int xc_raw_opus_rtpengine(unsigned frames, double *enc_us, double *dec_us)
{
	static int16_t pcm[XC_PREP][1920], out[5760 * 2];
	static uint8_t pk[XC_PREP][XC_PAYLOAD];
	static int len[XC_PREP];
	int err = 0, bad = 0;
	size_t t = 0;
	OpusEncoder *e = opus_encoder_create(48000, 2, OPUS_APPLICATION_AUDIO, &err);
	OpusDecoder *d = e ? opus_decoder_create(48000, 2, &err) : NULL;

	if (!e || !d) {
		opus_encoder_destroy(e);
		return -1;
	}
	opus_encoder_ctl(e, OPUS_SET_COMPLEXITY(10));
	opus_encoder_ctl(e, OPUS_SET_BITRATE(32000));
	for (unsigned i = 0; i < XC_PREP; i++) {
		int16_t mono[960];
		xc_tone(mono, 960, 48000, &t);
		for (unsigned k = 0; k < 960; k++)
			pcm[i][2 * k] = pcm[i][2 * k + 1] = mono[k];
		len[i] = opus_encode(e, pcm[i], 960, pk[i], XC_PAYLOAD);
		bad |= len[i] <= 0;
	}
	double t0 = xc_thread_us();
	for (unsigned i = 0; i < frames; i++)
		bad |= opus_encode(e, pcm[i % XC_PREP], 960, pk[i % XC_PREP], XC_PAYLOAD) <= 0;
	double t1 = xc_thread_us();
	for (unsigned i = 0; i < frames; i++)
		bad |= opus_decode(d, pk[i % XC_PREP], len[i % XC_PREP], out, 5760, 0) <= 0;
	double t2 = xc_thread_us();
	*enc_us = (t1 - t0) / frames;
	*dec_us = (t2 - t1) / frames;
	opus_encoder_destroy(e);
	opus_decoder_destroy(d);
	return bad ? -1 : 0;
}

/** --raw PAIR: the raw codec cost of a call of the pair (both directions:
 * decoder + encoder of each side, per 20 ms, best of three) and the calls
 * per core it allows, as one JSON line.  rate_web: the PCM rate the Opus side
 * runs at (48000 as rtpengine does, 16000 beside AMR-WB in wimsd); nstates:
 * codec states the frames go round (--streams).  0, or 1 on failure. */
static int xc_raw(const struct xc_pair *p, uint32_t rate_web, uint32_t rate_plain, unsigned seconds,
		  unsigned nstates)
{
	double ew = 1e9, dw = 1e9, ep = 1e9, dp = 1e9;
	unsigned frames = seconds * 50 > nstates * 10 ? seconds * 50 : nstates * 10;

	for (int run = 0; run < 3; run++) {
		double a, b, c, d;
		if (xc_raw_codec(p->web, rate_web, frames, nstates, &a, &b) ||
		    xc_raw_codec(p->plain, rate_plain, frames, nstates, &c, &d)) {
			fprintf(stderr, "wims-mediabench: raw codec run of %s failed\n", p->name);
			return 1;
		}
		ew = fmin(ew, a), dw = fmin(dw, b), ep = fmin(ep, c), dp = fmin(dp, d);
	}
	double call = ew + dw + ep + dp, re = 1e9, rd = 1e9;
	for (int run = 0; run < 3 && p->web == WIMS_CODEC_OPUS && p->plain != WIMS_CODEC_AMRWB; run++) {
		double a, b;
		if (xc_raw_opus_rtpengine(frames, &a, &b) == 0)
			re = fmin(re, a), rd = fmin(rd, b);
	}
	if (re < 1e9) /* Opus as rtpengine runs it, beside the same plain codec */
		printf("{\"rtpengine_opus\":{\"enc_us\":%.2f,\"dec_us\":%.2f,\"raw_call_us\":%.2f,"
		       "\"raw_calls_per_core\":%.0f},",
		       re, rd, re + rd + ep + dp, 20000.0 / (re + rd + ep + dp));
	else
		printf("{");
	printf("\"pair\":\"%s\",\"states\":%u,\"rate_web\":%u,\"rate_plain\":%u,\"enc_web_us\":%.2f,"
	       "\"dec_web_us\":%.2f,\"enc_plain_us\":%.2f,\"dec_plain_us\":%.2f,\"raw_call_us\":%.2f,"
	       "\"raw_calls_per_core\":%.0f}\n",
	       p->name, nstates, rate_web, rate_plain, ew, dw, ep, dp, call, 20000.0 / call);
	return 0;
}

/** --selftest, transcoding part: xc_unprotect across a sequence wrap
 * against libsrtp2's protect, and xc_place.  0 or 1. */
static int xc_selftest(void)
{
	uint8_t key[16], salt[14], a[256];
	struct fast_srtp f = {0};
	struct wims_srtp *lp = NULL;
	struct xc_stream x = {0};
	int bad = 0;

	if (RAND_bytes(key, 16) != 1 || RAND_bytes(salt, 14) != 1 || fast_srtp_init(&f, key, salt) ||
	    wims_srtp_new(&lp, WIMS_SRTP_AES_CM_128_HMAC_SHA1_80, key, salt, true))
		return 1;
	for (unsigned i = 0; i < 40 && !bad; i++) {
		uint16_t seq = (uint16_t)(65520 + i);
		size_t n = 12 + 33, ln = n;
		memset(a, 0, 12);
		a[0] = 0x80, a[1] = 111, a[2] = (uint8_t)(seq >> 8), a[3] = (uint8_t)seq;
		put32(a + 8, 0x55aa55aa);
		for (size_t j = 12; j < n; j++)
			a[j] = (uint8_t)(j * 3 + i);
		if (wims_srtp_protect_rtp(lp, a, &ln, sizeof(a)) || xc_unprotect(&f, &x, a, ln) != n || a[12] != (uint8_t)(36 + i))
			bad = 1;
	}
	if (!bad && x.rx_roc != 1)
		bad = 1;
	/* placement: packets 0, 1 never came out, 2.. arrive 1 ms after their
	 * sending: a constant offset of two packets (what rel_lat_us removes);
	 * a timestamp off the grid or past what was sent is not placed */
	struct xc_dir d = {0};
	uint64_t t = 0;
	for (unsigned k = 0; k < 10; k++)
		d.sent_ns[k] = 1000000000ull + k * 20000000ull;
	for (unsigned k = 2; k < 10 && !bad; k++)
		if (xc_place(&d, 5000 + (k - 2) * 320, 320, 10, d.sent_ns[k] + 1000000, &t) != (int64_t)k - 2 ||
		    t != d.sent_ns[k - 2])
			bad = 2;
	if (!bad && (xc_place(&d, 5000 + 100, 320, 10, d.sent_ns[9], &t) != -1 ||
		     xc_place(&d, 5000 + 10 * 320, 320, 10, d.sent_ns[9], &t) != -1 || d.unplaced != 2))
		bad = 2;
	fast_srtp_free(&f);
	wims_srtp_free(lp);
	fprintf(stderr, "xcode selftest: %s\n", bad == 1 ? "SRTP across a wrap FAILED" : bad ? "placement FAILED" : "ok");
	return bad ? 1 : 0;
}

#endif
