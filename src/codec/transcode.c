/* Per-direction transcoding pipeline (see transcode.h for the timing rules).
 *
 * RTP header (RFC 3550 §5.1), parsed with bounds checks before any use:
 *    0                   1                   2                   3
 *   |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 *   |                           timestamp                           |
 *   |                             SSRC                              |
 *   |            CSRC (CC x 32 bits), extension (X), payload ...     |
 *   |                     ... padding (P: last octet = count)       |
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "codec/dtmf.h"
#include "codec/resample.h"
#include "codec/transcode.h"

#define DTMF_QUEUE 8

struct slot {
	bool used, te, marker;
	uint16_t seq;
	uint32_t ts;
	uint16_t len;
	uint8_t data[WIMS_XCODE_MAX_PAYLOAD];
};

struct dtmf_pkt {
	uint32_t ts;
	bool marker;
	uint8_t data[4];
};

struct wims_xcode {
	struct wims_xcode_cfg cfg;
	uint32_t in_clock, out_clock;
	struct wims_dec *dec;
	struct wims_enc *enc;
	uint32_t dec_rate, enc_rate;
	bool resample;
	struct wims_resampler rs;
	unsigned depth;
	/* Reorder buffer, indexed by seq % WIMS_XCODE_MAX_DEPTH. */
	struct slot slots[WIMS_XCODE_MAX_DEPTH];
	unsigned held;
	bool started;
	uint16_t next_seq;
	uint32_t next_ts;  /* input ts expected for the next audio packet */
	uint32_t last_dur; /* input clock units of the last audio packet */
	/* Input ts <-> output ts of the FIFO tail, for telephone-event mapping. */
	uint32_t map_in_ts, map_out_ts;
	bool te_have;
	uint32_t te_in_ts, te_out_ts;
	/* Output. */
	uint16_t out_seq;
	uint32_t out_ts; /* timestamp of the FIFO head */
	bool marker;
	uint8_t cmr;
	unsigned pkt_samples; /* ptime at enc_rate */
	struct dtmf_pkt dq[DTMF_QUEUE];
	unsigned dq_head, dq_n;
	struct wims_xcode_stats st;
	/* Scratch. */
	int16_t dec_buf[WIMS_CODEC_MAX_PCM];
	int16_t rs_buf[2 * WIMS_CODEC_MAX_PCM];
	uint8_t frames[WIMS_AMR_MAX_FRAMES * WIMS_AMR_MAX_STORAGE];
	uint8_t enc_buf[WIMS_CODEC_MAX_ENC];
	/* PCM FIFO at enc_rate: samples [fifo_head, fifo_n). */
	size_t fifo_head, fifo_n, fifo_cap;
	int16_t fifo[];
};

static struct wims_ratelimit xcode_rl = WIMS_RATELIMIT_INIT(10000, 5);

static bool is_amr(const struct wims_codec_desc *d)
{
	return d->id == WIMS_CODEC_AMR || d->id == WIMS_CODEC_AMRWB;
}

static int pick_rates(struct wims_xcode *x)
{
	const struct wims_codec_desc *i = x->cfg.in.codec, *o = x->cfg.out.codec;

	if (i->id == WIMS_CODEC_OPUS && o->id == WIMS_CODEC_OPUS)
		x->dec_rate = x->enc_rate = 48000;
	else if (i->id == WIMS_CODEC_OPUS)
		x->dec_rate = x->enc_rate = o->pcm_rate;
	else if (o->id == WIMS_CODEC_OPUS)
		x->dec_rate = x->enc_rate = i->pcm_rate;
	else {
		x->dec_rate = i->pcm_rate;
		x->enc_rate = o->pcm_rate;
	}
	if (x->dec_rate == x->enc_rate)
		return 0;
	if (x->dec_rate * 2 == x->enc_rate || x->enc_rate * 2 == x->dec_rate) {
		x->resample = true;
		wims_resampler_init(&x->rs, x->enc_rate > x->dec_rate);
		return 0;
	}
	return -EINVAL;
}

static int check_cfg(const struct wims_xcode_cfg *c)
{
	if (!c->in.codec || !c->out.codec || !c->in.codec->ops || !c->out.codec->ops)
		return -EINVAL;
	unsigned ptime = c->out.ptime ? c->out.ptime : c->out.codec->frame_ms;
	if (ptime % c->out.codec->frame_ms || ptime > WIMS_XCODE_MAX_PTIME)
		return -EINVAL;
	if (c->out.codec->id == WIMS_CODEC_OPUS && ptime > 60)
		return -ENOTSUP;
	if (c->reorder_depth > WIMS_XCODE_MAX_DEPTH)
		return -EINVAL;
	return 0;
}

static int make_codecs(struct wims_xcode *x)
{
	struct wims_codec_params ip = x->cfg.in.params, op = x->cfg.out.params;
	int err;

	ip.pcm_rate = x->dec_rate;
	op.pcm_rate = x->enc_rate;
	if (is_amr(x->cfg.out.codec) && !op.mode_set)
		op.mode_set = x->cfg.out.amr.mode_set;
	err = wims_dec_new(&x->dec, x->cfg.in.codec, &ip);
	if (err)
		return err;
	return wims_enc_new(&x->enc, x->cfg.out.codec, &op);
}

int wims_xcode_new(struct wims_xcode **xp, const struct wims_xcode_cfg *cfg)
{
	struct wims_xcode tmp = {.cfg = *cfg};
	struct wims_xcode *x;
	int err;

	err = check_cfg(cfg);
	if (err)
		return err;
	err = pick_rates(&tmp);
	if (err)
		return err;
	size_t fifo_cap = tmp.enc_rate; /* one second */
	x = calloc(1, sizeof(*x) + fifo_cap * sizeof(int16_t));
	if (!x)
		return -ENOMEM;
	memcpy(x, &tmp, sizeof(tmp));
	x->fifo_cap = fifo_cap;
	x->cfg.in.amr.kind = cfg->in.codec->id == WIMS_CODEC_AMRWB ? WIMS_AMR_WB : WIMS_AMR_NB;
	x->cfg.out.amr.kind = cfg->out.codec->id == WIMS_CODEC_AMRWB ? WIMS_AMR_WB : WIMS_AMR_NB;
	x->in_clock = cfg->in.clock ? cfg->in.clock : cfg->in.codec->rtp_clock;
	x->out_clock = cfg->out.clock ? cfg->out.clock : cfg->out.codec->rtp_clock;
	x->depth = cfg->reorder_depth ? cfg->reorder_depth : 4;
	unsigned ptime = cfg->out.ptime ? cfg->out.ptime : cfg->out.codec->frame_ms;
	x->pkt_samples = x->enc_rate / 1000 * ptime;
	x->out_seq = cfg->seq;
	x->out_ts = cfg->ts;
	x->marker = true;
	x->cmr = WIMS_AMR_CMR_NONE;
	x->st.last_cmr = -1;
	err = make_codecs(x);
	if (err) {
		wims_xcode_free(x);
		return err;
	}
	*xp = x;
	return 0;
}

void wims_xcode_free(struct wims_xcode *x)
{
	if (!x)
		return;
	wims_dec_free(x->dec);
	wims_enc_free(x->enc);
	free(x);
}

/* ---- PCM FIFO ---- */

static uint32_t out_units(const struct wims_xcode *x, uint64_t enc_samples)
{
	return (uint32_t)(enc_samples * x->out_clock / x->enc_rate);
}

static void fifo_put(struct wims_xcode *x, const int16_t *pcm, size_t n)
{
	if (x->fifo_n + n > x->fifo_cap && x->fifo_head > 0) {
		memmove(x->fifo, x->fifo + x->fifo_head,
			(x->fifo_n - x->fifo_head) * sizeof(int16_t));
		x->fifo_n -= x->fifo_head;
		x->fifo_head = 0;
	}
	if (x->fifo_n + n > x->fifo_cap) {
		x->st.overflow += n;
		return;
	}
	memcpy(x->fifo + x->fifo_n, pcm, n * sizeof(int16_t));
	x->fifo_n += n;
}

/* Decoded PCM at dec_rate into the FIFO at enc_rate. */
static void push_pcm(struct wims_xcode *x, const int16_t *pcm, size_t n)
{
	if (x->resample) {
		int r = wims_resample(&x->rs, pcm, n, x->rs_buf,
				      sizeof(x->rs_buf) / sizeof(x->rs_buf[0]));
		if (r > 0)
			fifo_put(x, x->rs_buf, (size_t)r);
		return;
	}
	fifo_put(x, pcm, n);
}

static size_t fifo_level(const struct wims_xcode *x)
{
	return x->fifo_n - x->fifo_head;
}

/* Output timestamp that the next pushed sample will carry. */
static uint32_t tail_out_ts(const struct wims_xcode *x)
{
	return x->out_ts + out_units(x, fifo_level(x));
}

/* ---- decoding ---- */

static uint32_t dec_to_in(const struct wims_xcode *x, uint64_t dec_samples)
{
	return (uint32_t)(dec_samples * x->in_clock / x->dec_rate);
}

static uint64_t in_to_dec(const struct wims_xcode *x, uint32_t units)
{
	return (uint64_t)units * x->dec_rate / x->in_clock;
}

/* Conceal `units` of input clock (rounded down to whole codec frames). */
static void conceal(struct wims_xcode *x, uint32_t units, const uint8_t *next, size_t next_len)
{
	size_t frame = x->dec_rate / 1000 * x->cfg.in.codec->frame_ms;
	/* Opus conceals any multiple of 2.5 ms, the others whole frames. */
	size_t unit = x->cfg.in.codec->id == WIMS_CODEC_OPUS ? x->dec_rate / 400 : frame;
	uint64_t want = in_to_dec(x, units) / unit * unit;

	while (want > 0) {
		size_t n = want > frame ? frame : (size_t)want;
		/* FEC applies to the audio right before `next`: only the last chunk. */
		bool last = want == n;
		int r = wims_dec_plc(x->dec, last ? next : NULL, last ? next_len : 0, x->dec_buf, n);
		if (r <= 0)
			break;
		push_pcm(x, x->dec_buf, (size_t)r);
		x->st.plc_samples += (uint64_t)r * x->enc_rate / x->dec_rate;
		want -= (size_t)r;
	}
}

static int decode_amr(struct wims_xcode *x, const uint8_t *p, size_t len, size_t *samples)
{
	size_t off[WIMS_AMR_MAX_FRAMES], flen[WIMS_AMR_MAX_FRAMES];
	uint8_t cmr;
	int nf = wims_amr_unpack(&x->cfg.in.amr, p, len, &cmr, x->frames, sizeof(x->frames), off,
				 flen);

	if (nf <= 0)
		return -EBADMSG;
	if (cmr != WIMS_AMR_CMR_NONE)
		x->st.last_cmr = cmr;
	*samples = 0;
	for (int i = 0; i < nf; i++) {
		int r = wims_dec_frame(x->dec, x->frames + off[i], flen[i], x->dec_buf,
				       WIMS_CODEC_MAX_PCM);
		if (r < 0) /* a frame the unpacker accepted: conceal that one */
			r = wims_dec_plc(x->dec, NULL, 0, x->dec_buf, x->dec_rate / 50);
		if (r < 0)
			return r;
		push_pcm(x, x->dec_buf, (size_t)r);
		*samples += (size_t)r;
	}
	return 0;
}

static int decode_payload(struct wims_xcode *x, const uint8_t *p, size_t len, size_t *samples)
{
	if (is_amr(x->cfg.in.codec))
		return decode_amr(x, p, len, samples);
	int r = wims_dec_frame(x->dec, p, len, x->dec_buf, WIMS_CODEC_MAX_PCM);
	if (r < 0)
		return r;
	push_pcm(x, x->dec_buf, (size_t)r);
	*samples = (size_t)r;
	return 0;
}

/* A timestamp jump without a sequence gap: fill DTX pauses, restart on
 * anything else. */
static void ts_gap(struct wims_xcode *x, uint32_t ts)
{
	int32_t gap = (int32_t)(ts - x->next_ts);

	if (gap == 0)
		return;
	if (gap > 0 && (uint64_t)gap * 1000 <= (uint64_t)x->in_clock * WIMS_XCODE_MAX_FILL_MS) {
		conceal(x, (uint32_t)gap, NULL, 0);
		return;
	}
	x->st.resync++;
	x->marker = true;
}

static void decode_slot(struct wims_xcode *x, struct slot *s)
{
	static struct wims_ratelimit rl = WIMS_RATELIMIT_INIT(10000, 3);
	size_t samples = 0;

	ts_gap(x, s->ts);
	x->map_in_ts = s->ts;
	x->map_out_ts = tail_out_ts(x);
	if (decode_payload(x, s->data, s->len, &samples) < 0) {
		x->st.bad_payload++;
		wims_log_rl(&rl, WIMS_LOG_DEBUG, "xcode: %s payload of %u octets refused",
			    x->cfg.in.codec->name, s->len);
		conceal(x, x->last_dur ? x->last_dur : dec_to_in(x, x->dec_rate / 50), NULL, 0);
		x->next_ts = s->ts + (x->last_dur ? x->last_dur : dec_to_in(x, x->dec_rate / 50));
		return;
	}
	x->last_dur = dec_to_in(x, samples);
	x->next_ts = s->ts + x->last_dur;
}

/* ---- telephone-event ---- */

static void dtmf_slot(struct wims_xcode *x, const struct slot *s)
{
	struct wims_dtmf_event ev;

	if (x->cfg.out.te_pt < 0 || wims_dtmf_parse(s->data, s->len, &ev) < 0)
		return;
	if (!x->te_have || s->ts != x->te_in_ts) {
		/* RFC 4733 §2.1: the event timestamp is on the audio timeline;
		 * place it relative to the last decoded audio packet. */
		int32_t d = (int32_t)(s->ts - x->map_in_ts);
		uint64_t mag = (uint64_t)(d < 0 ? -(int64_t)d : d);
		mag = (mag * x->out_clock + x->in_clock / 2) / x->in_clock;
		x->te_in_ts = s->ts;
		x->te_out_ts = d < 0 ? x->map_out_ts - (uint32_t)mag : x->map_out_ts + (uint32_t)mag;
		x->te_have = true;
	}
	ev.duration = (uint16_t)wims_dtmf_rescale(ev.duration, x->in_clock, x->out_clock);
	if (x->dq_n == DTMF_QUEUE)
		return;
	struct dtmf_pkt *q = &x->dq[(x->dq_head + x->dq_n) % DTMF_QUEUE];
	q->ts = x->te_out_ts;
	q->marker = s->marker;
	if (wims_dtmf_build(&ev, q->data, sizeof(q->data)) != 4)
		return;
	x->dq_n++;
	x->st.dtmf_in++;
}

/* ---- reorder buffer ---- */

static void release(struct wims_xcode *x, struct slot *s)
{
	if (s->te)
		dtmf_slot(x, s);
	else
		decode_slot(x, s);
	s->used = false;
	x->held--;
}

static void lose_next(struct wims_xcode *x)
{
	struct slot *n = &x->slots[(uint16_t)(x->next_seq + 1) % WIMS_XCODE_MAX_DEPTH];
	bool fec = n->used && !n->te && n->seq == (uint16_t)(x->next_seq + 1);
	uint32_t dur = x->last_dur ? x->last_dur : dec_to_in(x, x->dec_rate / 50);

	x->st.lost++;
	conceal(x, dur, fec ? n->data : NULL, fec ? n->len : 0);
	x->next_ts += dur;
}

static void drain(struct wims_xcode *x)
{
	for (;;) {
		struct slot *s = &x->slots[x->next_seq % WIMS_XCODE_MAX_DEPTH];
		if (s->used && s->seq == x->next_seq)
			release(x, s);
		else if (x->held >= x->depth)
			lose_next(x);
		else
			return;
		x->next_seq++;
	}
}

/* Everything buffered goes out in order, then the timeline restarts at seq. */
static void restart(struct wims_xcode *x, uint16_t seq, uint32_t ts)
{
	while (x->held > 0) {
		struct slot *s = &x->slots[x->next_seq % WIMS_XCODE_MAX_DEPTH];
		if (s->used && s->seq == x->next_seq)
			release(x, s);
		x->next_seq++;
	}
	x->next_seq = seq;
	x->next_ts = ts;
	x->marker = true;
}

struct rtp_view {
	bool marker;
	uint8_t pt;
	uint16_t seq;
	uint32_t ts;
	const uint8_t *payload;
	size_t len;
};

static int rtp_parse(const uint8_t *p, size_t len, struct rtp_view *v)
{
	if (len < 12 || (p[0] >> 6) != 2)
		return -EBADMSG;
	size_t off = 12 + 4u * (p[0] & 0x0f);
	if (off > len)
		return -EBADMSG;
	if (p[0] & 0x10) { /* RFC 3550 §5.3.1 extension: 4 octets + length words */
		if (len - off < 4)
			return -EBADMSG;
		size_t words = (size_t)p[off + 2] << 8 | p[off + 3];
		if ((len - off - 4) / 4 < words)
			return -EBADMSG;
		off += 4 + 4 * words;
	}
	size_t end = len;
	if (p[0] & 0x20) {
		uint8_t pad = p[len - 1];
		if (pad == 0 || pad > len - off)
			return -EBADMSG;
		end -= pad;
	}
	v->marker = p[1] & 0x80;
	v->pt = p[1] & 0x7f;
	v->seq = (uint16_t)(p[2] << 8 | p[3]);
	v->ts = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
	v->payload = p + off;
	v->len = end - off;
	return 0;
}

int wims_xcode_input(struct wims_xcode *x, const uint8_t *rtp, size_t len)
{
	struct rtp_view v;

	if (!rtp || rtp_parse(rtp, len, &v) < 0) {
		x->st.bad_header++;
		wims_log_rl(&xcode_rl, WIMS_LOG_DEBUG, "xcode: bad RTP header (%zu octets)", len);
		return -EBADMSG;
	}
	bool te = x->cfg.in.te_pt >= 0 && v.pt == x->cfg.in.te_pt;
	if (!te && v.pt != x->cfg.in.pt) {
		x->st.wrong_pt++;
		return -EPROTONOSUPPORT;
	}
	if (v.len > WIMS_XCODE_MAX_PAYLOAD || v.len == 0) {
		x->st.bad_payload++;
		return -EBADMSG;
	}
	if (!x->started) {
		x->started = true;
		x->next_seq = v.seq;
		x->next_ts = v.ts;
		x->map_in_ts = v.ts;
		x->map_out_ts = x->out_ts;
	}
	int16_t d = (int16_t)(v.seq - x->next_seq);
	if (d < 0 && d > -100) {
		x->st.late++;
		return -EALREADY;
	}
	if (d < 0 || d >= 100) /* a new source or a big jump: start over */
		restart(x, v.seq, v.ts);
	/* Far ahead: conceal until it fits in the buffer. */
	while ((uint16_t)(v.seq - x->next_seq) >= WIMS_XCODE_MAX_DEPTH) {
		struct slot *s = &x->slots[x->next_seq % WIMS_XCODE_MAX_DEPTH];
		if (s->used && s->seq == x->next_seq)
			release(x, s);
		else
			lose_next(x);
		x->next_seq++;
	}
	struct slot *s = &x->slots[v.seq % WIMS_XCODE_MAX_DEPTH];
	if (s->used) {
		x->st.duplicate++;
		return -EALREADY;
	}
	s->used = true;
	s->te = te;
	s->marker = v.marker;
	s->seq = v.seq;
	s->ts = v.ts;
	s->len = (uint16_t)v.len;
	memcpy(s->data, v.payload, v.len);
	x->held++;
	x->st.in_packets++;
	drain(x);
	return 0;
}

/* ---- output ---- */

static size_t rtp_header(struct wims_xcode *x, uint8_t *out, uint8_t pt, bool marker,
			 uint32_t ts)
{
	uint32_t ssrc = x->cfg.ssrc;

	out[0] = 0x80;
	out[1] = (uint8_t)((marker ? 0x80 : 0) | (pt & 0x7f));
	out[2] = (uint8_t)(x->out_seq >> 8);
	out[3] = (uint8_t)x->out_seq;
	out[4] = (uint8_t)(ts >> 24);
	out[5] = (uint8_t)(ts >> 16);
	out[6] = (uint8_t)(ts >> 8);
	out[7] = (uint8_t)ts;
	out[8] = (uint8_t)(ssrc >> 24);
	out[9] = (uint8_t)(ssrc >> 16);
	out[10] = (uint8_t)(ssrc >> 8);
	out[11] = (uint8_t)ssrc;
	x->out_seq++;
	return 12;
}

static size_t dtmf_out(struct wims_xcode *x, uint8_t *out, size_t cap)
{
	struct dtmf_pkt *q = &x->dq[x->dq_head];

	if (cap < 16)
		return 0;
	x->dq_head = (x->dq_head + 1) % DTMF_QUEUE;
	x->dq_n--;
	size_t n = rtp_header(x, out, (uint8_t)x->cfg.out.te_pt, q->marker, q->ts);
	memcpy(out + n, q->data, 4);
	x->st.dtmf_out++;
	x->st.out_packets++;
	return n + 4;
}

static int encode_amr(struct wims_xcode *x, const int16_t *pcm, uint8_t *out, size_t cap)
{
	const uint8_t *fr[WIMS_AMR_MAX_FRAMES];
	size_t flen[WIMS_AMR_MAX_FRAMES];
	size_t frame = x->enc_rate / 50, used = 0;
	unsigned n = (unsigned)(x->pkt_samples / frame);

	for (unsigned i = 0; i < n; i++) {
		int r = wims_enc_frame(x->enc, pcm + i * frame, frame, x->frames + used,
				       sizeof(x->frames) - used);
		if (r <= 0)
			return r < 0 ? r : -EIO;
		fr[i] = x->frames + used;
		flen[i] = (size_t)r;
		used += (size_t)r;
	}
	/* All NO_DATA (DTX pause): nothing to send. */
	bool speech = false;
	for (unsigned i = 0; i < n; i++)
		if (((fr[i][0] >> 3) & 0x0f) != WIMS_AMR_NO_DATA)
			speech = true;
	if (!speech)
		return 0;
	return wims_amr_pack(&x->cfg.out.amr, x->cmr, fr, flen, n, out, cap);
}

static int encode_packet(struct wims_xcode *x, const int16_t *pcm, uint8_t *out, size_t cap)
{
	if (is_amr(x->cfg.out.codec))
		return encode_amr(x, pcm, out, cap);
	return wims_enc_frame(x->enc, pcm, x->pkt_samples, out, cap);
}

size_t wims_xcode_output(struct wims_xcode *x, uint8_t *out, size_t cap)
{
	static struct wims_ratelimit rl = WIMS_RATELIMIT_INIT(10000, 3);

	if (x->dq_n > 0)
		return dtmf_out(x, out, cap);
	while (fifo_level(x) >= x->pkt_samples) {
		if (cap < 12 + 1)
			return 0;
		const int16_t *pcm = x->fifo + x->fifo_head;
		int r = encode_packet(x, pcm, out + 12, cap - 12);
		uint32_t ts = x->out_ts;

		x->fifo_head += x->pkt_samples;
		x->out_ts += out_units(x, x->pkt_samples);
		if (x->fifo_head == x->fifo_n)
			x->fifo_head = x->fifo_n = 0;
		if (r < 0) {
			x->st.enc_errors++;
			wims_log_rl(&rl, WIMS_LOG_WARN, "xcode: %s encoder failed (%d)",
				    x->cfg.out.codec->name, r);
			continue;
		}
		if (r == 0) { /* DTX: the next speech packet starts a talkspurt */
			x->marker = true;
			continue;
		}
		rtp_header(x, out, x->cfg.out.pt, x->marker, ts);
		x->marker = false;
		x->st.out_packets++;
		return 12 + (size_t)r;
	}
	return 0;
}

int wims_xcode_set_out_mode(struct wims_xcode *x, unsigned mode)
{
	if (mode == WIMS_AMR_CMR_NONE)
		return 0;
	return wims_enc_set_mode(x->enc, mode);
}

void wims_xcode_set_cmr(struct wims_xcode *x, uint8_t cmr)
{
	x->cmr = cmr;
}

void wims_xcode_stats(const struct wims_xcode *x, struct wims_xcode_stats *st)
{
	*st = x->st;
}

int wims_xcode_last_cmr(const struct wims_xcode *x)
{
	return x->st.last_cmr;
}
