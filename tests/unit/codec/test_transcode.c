/* Transcoding pipelines: a tone survives each pair, timestamps and sequence
 * numbers stay continuous through repacketising, reordering and loss;
 * telephone-event is rescaled; garbage is counted, never a crash. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "codec/dtmf.h"
#include "codec/transcode.h"
#include "tone.h"

#define AMP 8000.0
#define PT_IN 96
#define PT_OUT 97

struct run {
	enum wims_codec_id in, out;
	unsigned in_ptime, out_ptime;
	double freq;
	unsigned seconds;
	unsigned drop_every; /* 0 = none */
	bool swap;	     /* swap each pair of packets */
	bool fec;	     /* the sender adds Opus in-band FEC */
};

static void cfg_init(struct wims_xcode_cfg *c, enum wims_codec_id in, enum wims_codec_id out,
		     unsigned out_ptime)
{
	memset(c, 0, sizeof(*c));
	c->in.codec = wims_codec_get(in);
	wims_codec_params_init(&c->in.params);
	c->in.pt = PT_IN;
	c->in.te_pt = -1;
	c->out.codec = wims_codec_get(out);
	wims_codec_params_init(&c->out.params);
	c->out.pt = PT_OUT;
	c->out.te_pt = -1;
	c->out.ptime = out_ptime;
	c->ssrc = 0xabcdef01;
	c->seq = 65530; /* wraps during the run */
	c->ts = 0xfffff000;
}

static void drain_out(struct wims_xcode *x, struct receiver *rx)
{
	uint8_t pk[1500];
	size_t n;

	while ((n = wims_xcode_output(x, pk, sizeof(pk))) > 0) {
		assert_true(n > 12);
		assert_int_equal(pk[0], 0x80);
		assert_int_equal(pk[8], 0xab);
		assert_true(receiver_put(rx, pk, n) > 0);
	}
}

static void pipeline(const struct run *r)
{
	struct wims_xcode_cfg cfg;
	struct wims_xcode *x = NULL;
	struct wims_xcode_stats st;
	struct sender tx;
	struct receiver rx;
	uint8_t pk[1500], held[1500];
	size_t held_len = 0;

	cfg_init(&cfg, r->in, r->out, r->out_ptime);
	assert_int_equal(wims_xcode_new(&x, &cfg), 0);
	assert_int_equal(sender_init(&tx, r->in, PT_IN, r->in_ptime, r->freq, AMP), 0);
	if (r->fec) {
		struct wims_codec_params p;
		wims_codec_params_init(&p);
		p.useinbandfec = true;
		p.loss_pct = 10;
		wims_enc_free(tx.enc);
		assert_int_equal(wims_enc_new(&tx.enc, tx.c, &p), 0);
	}
	assert_int_equal(receiver_init(&rx, r->out, PT_OUT, 48000 * (r->seconds + 1)), 0);
	unsigned npk = r->seconds * 1000 / r->in_ptime;
	for (unsigned i = 0; i < npk; i++) {
		size_t n = sender_next(&tx, pk, sizeof(pk));
		assert_true(n > 12);
		if (r->drop_every && i % r->drop_every == r->drop_every / 2)
			continue;
		if (r->swap && i % 2 == 0 && i > 0) {
			memcpy(held, pk, n);
			held_len = n;
			continue;
		}
		assert_int_equal(wims_xcode_input(x, pk, n), 0);
		if (held_len)
			assert_int_equal(wims_xcode_input(x, held, held_len), 0);
		held_len = 0;
		drain_out(x, &rx);
	}
	wims_xcode_stats(x, &st);
	uint32_t rate = wims_dec_rate(rx.dec);
	double f = tone_freq(rx.pcm + rx.n / 3, rx.n * 2 / 3, rate);
	double db = tone_rms_db(rx.pcm + rx.n / 3, rx.n * 2 / 3) - tone_amp_db(AMP);
	print_message("%s/%u -> %s/%u: %u packets, %zu samples@%u, %.1f Hz %+.2f dB, lost %llu "
		      "plc %llu\n",
		      wims_codec_get(r->in)->name, r->in_ptime, wims_codec_get(r->out)->name,
		      r->out_ptime, rx.packets, rx.n, rate, f, db, (unsigned long long)st.lost,
		      (unsigned long long)st.plc_samples);
	assert_int_equal(rx.seq_breaks, 0);
	assert_int_equal(rx.ts_breaks, 0);
	/* Output covers the input minus at most the buffer and one packet. */
	size_t expect = (size_t)rate * r->seconds;
	assert_true(rx.n <= expect);
	assert_true(rx.n + rate / 1000 * (r->out_ptime + r->in_ptime * 5) >= expect);
	assert_true(fabs(f - r->freq) < r->freq * 0.02);
	if (!r->drop_every)
		assert_true(fabs(db) < 3.0);
	assert_int_equal(st.bad_header + st.bad_payload + st.enc_errors + st.overflow, 0);
	if (r->drop_every)
		assert_int_equal(st.lost, npk / r->drop_every);
	wims_xcode_free(x);
	wims_enc_free(tx.enc);
	receiver_free(&rx);
}

static void test_opus_to_amrwb(void **state)
{
	pipeline(&(struct run){.in = WIMS_CODEC_OPUS, .out = WIMS_CODEC_AMRWB, .in_ptime = 20, .out_ptime = 20, .freq = 1000, .seconds = 2});
}

static void test_amrwb_to_opus(void **state)
{
	pipeline(&(struct run){.in = WIMS_CODEC_AMRWB, .out = WIMS_CODEC_OPUS, .in_ptime = 20, .out_ptime = 20, .freq = 1000, .seconds = 2});
}

static void test_pcmu_to_amr(void **state)
{
	pipeline(&(struct run){.in = WIMS_CODEC_PCMU, .out = WIMS_CODEC_AMR, .in_ptime = 20, .out_ptime = 20, .freq = 440, .seconds = 2});
}

static void test_amr_to_pcmu(void **state)
{
	pipeline(&(struct run){.in = WIMS_CODEC_AMR, .out = WIMS_CODEC_PCMU, .in_ptime = 20, .out_ptime = 20, .freq = 1000, .seconds = 2});
}

static void test_pcma_to_amrwb(void **state)
{
	pipeline(&(struct run){.in = WIMS_CODEC_PCMA, .out = WIMS_CODEC_AMRWB, .in_ptime = 20, .out_ptime = 20, .freq = 1000, .seconds = 2});
}

static void test_amrwb_to_pcma(void **state)
{
	pipeline(&(struct run){.in = WIMS_CODEC_AMRWB, .out = WIMS_CODEC_PCMA, .in_ptime = 20, .out_ptime = 20, .freq = 440, .seconds = 2});
}

static void test_opus_to_pcmu(void **state)
{
	pipeline(&(struct run){.in = WIMS_CODEC_OPUS, .out = WIMS_CODEC_PCMU, .in_ptime = 20, .out_ptime = 20, .freq = 440, .seconds = 2});
}

static void test_ptime_20_to_60(void **state)
{
	pipeline(&(struct run){.in = WIMS_CODEC_PCMU, .out = WIMS_CODEC_AMR, .in_ptime = 20, .out_ptime = 60, .freq = 1000, .seconds = 2});
	pipeline(&(struct run){.in = WIMS_CODEC_AMRWB, .out = WIMS_CODEC_OPUS, .in_ptime = 20, .out_ptime = 60, .freq = 1000, .seconds = 2});
	pipeline(&(struct run){.in = WIMS_CODEC_OPUS, .out = WIMS_CODEC_AMRWB, .in_ptime = 20, .out_ptime = 40, .freq = 1000, .seconds = 2});
}

static void test_ptime_60_to_20(void **state)
{
	/* AMR with three frames per packet on receive. */
	pipeline(&(struct run){.in = WIMS_CODEC_AMR, .out = WIMS_CODEC_PCMU, .in_ptime = 60, .out_ptime = 20, .freq = 1000, .seconds = 2});
	pipeline(&(struct run){.in = WIMS_CODEC_OPUS, .out = WIMS_CODEC_AMRWB, .in_ptime = 60, .out_ptime = 20, .freq = 1000, .seconds = 2});
	pipeline(&(struct run){.in = WIMS_CODEC_AMRWB, .out = WIMS_CODEC_OPUS, .in_ptime = 40, .out_ptime = 20, .freq = 1000, .seconds = 2});
}

static void test_reorder(void **state)
{
	pipeline(&(struct run){.in = WIMS_CODEC_AMRWB, .out = WIMS_CODEC_OPUS, .in_ptime = 20, .out_ptime = 20, .freq = 1000, .seconds = 2, .drop_every = 0, .swap = true});
	pipeline(&(struct run){.in = WIMS_CODEC_PCMU, .out = WIMS_CODEC_AMR, .in_ptime = 20, .out_ptime = 20, .freq = 1000, .seconds = 2, .drop_every = 0, .swap = true});
}

static void test_loss(void **state)
{
	pipeline(&(struct run){.in = WIMS_CODEC_OPUS, .out = WIMS_CODEC_AMRWB, .in_ptime = 20, .out_ptime = 20, .freq = 1000, .seconds = 4, .drop_every = 20});
	pipeline(&(struct run){.in = WIMS_CODEC_AMRWB, .out = WIMS_CODEC_OPUS, .in_ptime = 20, .out_ptime = 20, .freq = 1000, .seconds = 4, .drop_every = 20});
	pipeline(&(struct run){.in = WIMS_CODEC_PCMA, .out = WIMS_CODEC_AMRWB, .in_ptime = 20, .out_ptime = 60, .freq = 440, .seconds = 4, .drop_every = 20});
	pipeline(&(struct run){.in = WIMS_CODEC_AMR, .out = WIMS_CODEC_PCMU, .in_ptime = 20, .out_ptime = 20, .freq = 440, .seconds = 4, .drop_every = 20, .swap = true});
	pipeline(&(struct run){.in = WIMS_CODEC_OPUS, .out = WIMS_CODEC_AMRWB, .in_ptime = 20,
			       .out_ptime = 20, .freq = 1000, .seconds = 4, .drop_every = 20, .fec = true});
	pipeline(&(struct run){.in = WIMS_CODEC_OPUS, .out = WIMS_CODEC_AMR, .in_ptime = 10,
			       .out_ptime = 20, .freq = 440, .seconds = 4, .drop_every = 20});
}

static void test_bad_cfg(void **state)
{
	struct wims_xcode_cfg cfg;
	struct wims_xcode *x;

	cfg_init(&cfg, WIMS_CODEC_PCMU, WIMS_CODEC_AMR, 30);
	assert_int_equal(wims_xcode_new(&x, &cfg), -EINVAL);
	cfg_init(&cfg, WIMS_CODEC_PCMU, WIMS_CODEC_OPUS, 80);
	assert_int_equal(wims_xcode_new(&x, &cfg), -ENOTSUP);
	cfg_init(&cfg, WIMS_CODEC_PCMU, WIMS_CODEC_AMR, 20);
	cfg.reorder_depth = 9;
	assert_int_equal(wims_xcode_new(&x, &cfg), -EINVAL);
	cfg_init(&cfg, WIMS_CODEC_PCMU, WIMS_CODEC_AMR, 20);
	cfg.in.codec = NULL;
	assert_int_equal(wims_xcode_new(&x, &cfg), -EINVAL);
}

/* Opus (48000) with telephone-event 101 -> AMR-WB (16000) with event 100. */
static void test_dtmf_rescaled(void **state)
{
	struct wims_xcode_cfg cfg;
	struct wims_xcode *x;
	struct sender tx;
	uint8_t pk[1500];
	uint32_t audio_out_ts[64];
	unsigned naudio = 0, nte = 0;
	uint32_t te_ts = 0;

	cfg_init(&cfg, WIMS_CODEC_OPUS, WIMS_CODEC_AMRWB, 20);
	cfg.in.te_pt = 101;
	cfg.out.te_pt = 100;
	cfg.ts = 5000;
	assert_int_equal(wims_xcode_new(&x, &cfg), 0);
	assert_int_equal(sender_init(&tx, WIMS_CODEC_OPUS, PT_IN, 20, 1000, AMP), 0);
	uint32_t ev_ts = 0;
	for (unsigned i = 0; i < 20; i++) {
		uint32_t ts = tx.ts;
		size_t n = sender_next(&tx, pk, sizeof(pk));
		assert_int_equal(wims_xcode_input(x, pk, n), 0);
		if (i >= 10 && i < 13) { /* event "5", starting at packet 10's timestamp */
			if (i == 10)
				ev_ts = ts;
			uint8_t te[16];
			struct wims_dtmf_event ev = {.event = 5, .end = i == 12, .volume = 10,
						      .duration = (uint16_t)(960 * (i - 9))};
			rtp_hdr(te, 101, i == 10, tx.seq++, ev_ts);
			assert_int_equal(wims_dtmf_build(&ev, te + 12, 4), 4);
			assert_int_equal(wims_xcode_input(x, te, 16), 0);
		}
		size_t m;
		while ((m = wims_xcode_output(x, pk, sizeof(pk))) > 0) {
			uint32_t ots = (uint32_t)pk[4] << 24 | (uint32_t)pk[5] << 16 |
				       (uint32_t)pk[6] << 8 | pk[7];
			if ((pk[1] & 0x7f) == 100) {
				struct wims_dtmf_event ev;
				assert_int_equal(m, 16);
				assert_int_equal(wims_dtmf_parse(pk + 12, 4, &ev), 0);
				assert_int_equal(ev.event, 5);
				assert_int_equal(ev.duration, 320 * (nte + 1));
				assert_int_equal(ev.end, nte == 2);
				assert_int_equal(!!(pk[1] & 0x80), nte == 0);
				if (nte)
					assert_int_equal(ots, te_ts);
				te_ts = ots;
				nte++;
			} else {
				assert_int_equal(pk[1] & 0x7f, PT_OUT);
				audio_out_ts[naudio++] = ots;
			}
		}
	}
	assert_int_equal(nte, 3);
	/* Event starts where packet 10's audio went out: 5000 + 10 * 320. */
	assert_int_equal(te_ts, 5000 + 10 * 320);
	assert_true(naudio >= 19);
	for (unsigned i = 1; i < naudio; i++)
		assert_int_equal(audio_out_ts[i] - audio_out_ts[i - 1], 320);
	wims_xcode_free(x);
	wims_enc_free(tx.enc);
}

static void test_garbage(void **state)
{
	static const enum wims_codec_id ids[] = {WIMS_CODEC_PCMU, WIMS_CODEC_AMR, WIMS_CODEC_AMRWB,
						 WIMS_CODEC_OPUS};
	uint8_t pk[1600], out[1500];
	uint32_t seed = 777;

	for (size_t a = 0; a < 4; a++) {
		for (size_t b = 0; b < 4; b++) {
			struct wims_xcode_cfg cfg;
			struct wims_xcode *x;
			struct wims_xcode_stats st;
			if (a == b)
				continue;
			cfg_init(&cfg, ids[a], ids[b], 40);
			cfg.in.te_pt = 101;
			cfg.out.te_pt = 100;
			assert_int_equal(wims_xcode_new(&x, &cfg), 0);
			for (int k = 0; k < 600; k++) {
				seed = seed * 1103515245u + 12345u;
				size_t len = (seed >> 8) % sizeof(pk);
				for (size_t j = 0; j < len; j++) {
					seed = seed * 1103515245u + 12345u;
					pk[j] = (uint8_t)(seed >> 16);
				}
				if (k % 2 && len >= 12) { /* valid header, junk payload */
					pk[0] = 0x80;
					pk[1] = k % 10 == 1 ? 101 : PT_IN;
					pk[2] = (uint8_t)(k >> 8);
					pk[3] = (uint8_t)k;
				}
				(void)wims_xcode_input(x, pk, len);
				while (wims_xcode_output(x, out, sizeof(out)) > 0)
					;
			}
			assert_int_equal(wims_xcode_input(x, pk, 5), -EBADMSG);
			assert_int_equal(wims_xcode_input(x, NULL, 0), -EBADMSG);
			wims_xcode_stats(x, &st);
			assert_true(st.bad_header > 100);
			assert_true(st.bad_payload + st.wrong_pt > 0);
			wims_xcode_free(x);
		}
	}
}

static void test_header_forms(void **state)
{
	struct wims_xcode_cfg cfg;
	struct wims_xcode *x;
	uint8_t pk[12 + 4 + 4 + 8 + 160 + 4];
	uint8_t out[1500];

	cfg_init(&cfg, WIMS_CODEC_PCMU, WIMS_CODEC_PCMA, 20);
	assert_int_equal(wims_xcode_new(&x, &cfg), 0);
	memset(pk, 0xff, sizeof(pk));
	/* CC=1, X=1 (2 words), P=1 (4 octets): 160 payload octets. */
	rtp_hdr(pk, PT_IN, 1, 1, 0);
	pk[0] = 0x80 | 0x20 | 0x10 | 1;
	pk[16] = 0xbe;
	pk[17] = 0xde;
	pk[18] = 0;
	pk[19] = 2;
	pk[sizeof(pk) - 1] = 4;
	assert_int_equal(wims_xcode_input(x, pk, sizeof(pk)), 0);
	size_t n = wims_xcode_output(x, out, sizeof(out));
	assert_int_equal(n, 12 + 160);
	assert_true(out[1] & 0x80);
	assert_int_equal(out[1] & 0x7f, PT_OUT);
	assert_int_equal(wims_xcode_input(x, pk, sizeof(pk)), -EALREADY); /* late now */
	pk[19] = 60; /* extension longer than the packet */
	pk[2] = 0;
	pk[3] = 2;
	assert_int_equal(wims_xcode_input(x, pk, sizeof(pk)), -EBADMSG);
	pk[19] = 2;
	pk[sizeof(pk) - 1] = 200; /* padding longer than the payload */
	assert_int_equal(wims_xcode_input(x, pk, sizeof(pk)), -EBADMSG);
	pk[sizeof(pk) - 1] = 4;
	pk[1] = 50;
	assert_int_equal(wims_xcode_input(x, pk, sizeof(pk)), -EPROTONOSUPPORT);
	wims_xcode_free(x);
}

/* CMR received is reported; CMR we send is in the first four bits (BE). */
static void test_cmr(void **state)
{
	struct wims_xcode_cfg cfg;
	struct wims_xcode *x;
	struct wims_xcode_stats st;
	struct sender tx;
	uint8_t pk[1500];
	size_t n;

	cfg_init(&cfg, WIMS_CODEC_AMR, WIMS_CODEC_AMRWB, 20);
	assert_int_equal(wims_xcode_new(&x, &cfg), 0);
	assert_int_equal(sender_init(&tx, WIMS_CODEC_AMR, PT_IN, 20, 1000, AMP), 0);
	n = sender_next(&tx, pk, sizeof(pk));
	pk[12] = (uint8_t)((5 << 4) | (pk[12] & 0x0f)); /* CMR 5 (7.95) */
	wims_xcode_set_cmr(x, 2);
	assert_int_equal(wims_xcode_set_out_mode(x, 1), 0);
	assert_int_equal(wims_xcode_input(x, pk, n), 0);
	wims_xcode_stats(x, &st);
	assert_int_equal(st.last_cmr, 5);
	n = wims_xcode_output(x, pk, sizeof(pk));
	assert_true(n > 12);
	assert_int_equal(pk[12] >> 4, 2);
	assert_int_equal((pk[12] >> 3) & 1, 0);			  /* F: last frame */
	assert_int_equal((pk[12] & 0x07) << 1 | pk[13] >> 7, 1); /* FT 1: AMR-WB 8.85 as set */
	wims_xcode_free(x);
	wims_enc_free(tx.enc);
	cfg_init(&cfg, WIMS_CODEC_AMR, WIMS_CODEC_PCMU, 20);
	assert_int_equal(wims_xcode_new(&x, &cfg), 0);
	assert_int_equal(wims_xcode_set_out_mode(x, 3), -ENOTSUP);
	wims_xcode_free(x);
}

/* A timestamp jump with no sequence gap (DTX): filled, output continuous;
 * a jump of seconds restarts the timeline with the marker set. */
static void test_ts_jump(void **state)
{
	struct wims_xcode_cfg cfg;
	struct wims_xcode *x;
	struct wims_xcode_stats st;
	struct sender tx;
	struct receiver rx;
	uint8_t pk[1500];
	size_t n;
	unsigned markers = 0;

	cfg_init(&cfg, WIMS_CODEC_AMRWB, WIMS_CODEC_OPUS, 20);
	assert_int_equal(wims_xcode_new(&x, &cfg), 0);
	assert_int_equal(sender_init(&tx, WIMS_CODEC_AMRWB, PT_IN, 20, 1000, AMP), 0);
	assert_int_equal(receiver_init(&rx, WIMS_CODEC_OPUS, PT_OUT, 48000 * 4), 0);
	for (unsigned i = 0; i < 60; i++) {
		if (i == 20)
			tx.ts += 16000 / 10; /* 100 ms pause */
		if (i == 40)
			tx.ts += 16000 * 3; /* 3 s */
		n = sender_next(&tx, pk, sizeof(pk));
		assert_int_equal(wims_xcode_input(x, pk, n), 0);
		while ((n = wims_xcode_output(x, pk, sizeof(pk))) > 0) {
			markers += !!(pk[1] & 0x80);
			assert_true(receiver_put(&rx, pk, n) > 0);
		}
	}
	wims_xcode_stats(x, &st);
	assert_int_equal(st.resync, 1);
	assert_int_equal(st.plc_samples, 1600);
	assert_int_equal(markers, 2);
	assert_int_equal(rx.ts_breaks, 0);
	assert_int_equal(rx.packets, 60 + 5);
	wims_xcode_free(x);
	wims_enc_free(tx.enc);
	receiver_free(&rx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_opus_to_amrwb),
		cmocka_unit_test(test_amrwb_to_opus),
		cmocka_unit_test(test_pcmu_to_amr),
		cmocka_unit_test(test_amr_to_pcmu),
		cmocka_unit_test(test_pcma_to_amrwb),
		cmocka_unit_test(test_amrwb_to_pcma),
		cmocka_unit_test(test_opus_to_pcmu),
		cmocka_unit_test(test_ptime_20_to_60),
		cmocka_unit_test(test_ptime_60_to_20),
		cmocka_unit_test(test_reorder),
		cmocka_unit_test(test_loss),
		cmocka_unit_test(test_bad_cfg),
		cmocka_unit_test(test_dtmf_rescaled),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_header_forms),
		cmocka_unit_test(test_cmr),
		cmocka_unit_test(test_ts_jump),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
