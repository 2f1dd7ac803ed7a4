/* G.711: known code points, the decode tables against the G.711 formulas
 * for all 256 codes, and every 16-bit sample round-tripping within half a
 * quantisation step (or clipping to the largest code). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "codec/g711.h"

static uint8_t ulaw1(int16_t s)
{
	uint8_t c;

	wims_g711_ulaw_encode(&s, &c, 1);
	return c;
}

static uint8_t alaw1(int16_t s)
{
	uint8_t c;

	wims_g711_alaw_encode(&s, &c, 1);
	return c;
}

static int ulaw_dec1(uint8_t c)
{
	int16_t s;

	wims_g711_ulaw_decode(&c, &s, 1);
	return s;
}

static int alaw_dec1(uint8_t c)
{
	int16_t s;

	wims_g711_alaw_decode(&c, &s, 1);
	return s;
}

static void test_known(void **state)
{
	(void)state;
	assert_int_equal(ulaw1(0), 0xff);
	assert_int_equal(alaw1(0), 0xd5);
	assert_int_equal(ulaw1(32767), 0x80);
	assert_int_equal(ulaw1(-32768), 0x00);
	assert_int_equal(alaw1(32767), 0xaa);
	assert_int_equal(alaw1(-32768), 0x2a);
	assert_int_equal(ulaw_dec1(0xff), 0);
	assert_int_equal(ulaw_dec1(0x7f), 0);
	assert_int_equal(ulaw_dec1(0x80), 32124);
	assert_int_equal(ulaw_dec1(0x00), -32124);
	assert_int_equal(alaw_dec1(0xd5), 8);
	assert_int_equal(alaw_dec1(0x55), -8);
	assert_int_equal(alaw_dec1(0xaa), 32256);
	assert_int_equal(alaw_dec1(0x2a), -32256);
	/* 1000 Hz digital milliwatt sample values of G.711 Table 5/6 (mu-law
	 * 0x1E / A-law 0x34 and their negatives) decode symmetrically. */
	assert_int_equal(ulaw_dec1(0x1e), -ulaw_dec1(0x9e));
	assert_int_equal(alaw_dec1(0x34), -alaw_dec1(0xb4));
}

/* G.711 §2: mu-law magnitude = ((2 * mantissa + 33) << segment) - 33 in
 * 14-bit units; A-law = (2 * mantissa + 1) in segment 0 and
 * (2 * mantissa + 33) << (segment - 1) after, in 13-bit units; scaled to 16 bits. */
static void test_tables(void **state)
{
	(void)state;
	for (unsigned c = 0; c < 256; c++) {
		unsigned u = ~c & 0xff, seg = (u >> 4) & 7, m = u & 15;
		int mag = ((int)((2 * m + 33) << seg) - 33) * 4;

		assert_int_equal(ulaw_dec1((uint8_t)c), (u & 0x80) ? -mag : mag);
		u = c ^ 0x55;
		seg = (u >> 4) & 7;
		m = u & 15;
		mag = (seg == 0 ? (int)(2 * m + 1) : (int)((2 * m + 33) << (seg - 1))) * 8;
		assert_int_equal(alaw_dec1((uint8_t)c), (u & 0x80) ? mag : -mag);
	}
}

static void test_roundtrip_all(void **state)
{
	(void)state;
	for (int x = -32768; x <= 32767; x++) {
		uint8_t cu = ulaw1((int16_t)x), ca = alaw1((int16_t)x);
		int du = ulaw_dec1(cu), da = alaw_dec1(ca);
		unsigned su = (~cu >> 4) & 7, sa = ((ca ^ 0x55) >> 4) & 7;
		int stepu = 8 << su, stepa = sa == 0 ? 16 : 8 << sa;

		if (abs(x) <= 32124 + stepu / 2)
			assert_true(abs(du - x) <= stepu / 2);
		else
			assert_int_equal(cu, x > 0 ? 0x80 : 0x00);
		/* A-law decision levels sit on 13-bit boundaries: within half a step. */
		assert_true(abs(da - x) <= stepa / 2);
		/* the sign survives, except for values that quantise to zero-ish */
		if (x > 8)
			assert_true(du >= 0 && da > 0);
		if (x < -8)
			assert_true(du <= 0 && da < 0);
	}
}

static void test_decode_encode_fixed_point(void **state)
{
	(void)state;
	/* Re-encoding a decoded value gives the code back (except the second
	 * mu-law zero 0x7F, which encodes as 0xFF). */
	for (unsigned c = 0; c < 256; c++) {
		if (c != 0x7f)
			assert_int_equal(ulaw1((int16_t)ulaw_dec1((uint8_t)c)), c);
		assert_int_equal(alaw1((int16_t)alaw_dec1((uint8_t)c)), c);
	}
}

/* The encoders as first written (segment by a shifting loop): the encoders
 * in use must give the same code for every 16-bit sample. */
static int ref_top_bit(unsigned v)
{
	int b = -1;

	while (v) {
		b++;
		v >>= 1;
	}
	return b;
}

static uint8_t ref_ulaw(int16_t s)
{
	int x = s;
	unsigned sign = 0;

	if (x < 0) {
		sign = 0x80;
		x = -x;
	}
	if (x > 32635)
		x = 32635;
	unsigned mag = (unsigned)x + 0x84;
	int seg = ref_top_bit(mag >> 7);
	return (uint8_t) ~(sign | ((unsigned)seg << 4) | ((mag >> (seg + 3)) & 0x0f));
}

static uint8_t ref_alaw(int16_t s)
{
	int x = s >> 3;
	unsigned mask = x >= 0 ? 0xd5 : 0x55, mag = x >= 0 ? (unsigned)x : (unsigned)(-x - 1);
	int seg = mag < 32 ? 0 : ref_top_bit(mag >> 4);

	if (seg == 0)
		return (uint8_t)(((mag >> 1) & 0x0f) ^ mask);
	return (uint8_t)((((unsigned)seg << 4) | ((mag >> seg) & 0x0f)) ^ mask);
}

static void test_encode_matches_reference(void **state)
{
	static int16_t pcm[65536];
	static uint8_t u[65536], a[65536];

	(void)state;
	for (int x = -32768; x <= 32767; x++)
		pcm[x + 32768] = (int16_t)x;
	wims_g711_ulaw_encode(pcm, u, 65536);
	wims_g711_alaw_encode(pcm, a, 65536);
	for (unsigned i = 0; i < 65536; i++) {
		assert_int_equal(u[i], ref_ulaw(pcm[i]));
		assert_int_equal(a[i], ref_alaw(pcm[i]));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_known),
	    cmocka_unit_test(test_tables),
	    cmocka_unit_test(test_roundtrip_all),
	    cmocka_unit_test(test_decode_encode_fixed_point),
	    cmocka_unit_test(test_encode_matches_reference),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
