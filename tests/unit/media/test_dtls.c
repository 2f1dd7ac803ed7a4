/* DTLS-SRTP associations pumped through memory: handshake, key export,
 * both SRTP profiles, fingerprint checks, retransmission, late answer. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "media/dtls.h"
#include "media/srtp.h"

static struct wims_dtls_ctx *cctx, *sctx; /* client and server certificates */

struct side {
	struct wims_dtls *d;
	int connected; /* times CONNECTED was returned */
	int err;       /* first error returned */
	unsigned sent; /* datagrams produced */
};

/* Each datagram holds whole DTLS records and is no larger than the MTU
 * (OpenSSL packs the records of a flight into datagrams up to the MTU). */
static unsigned records;

static void check_datagram(const uint8_t *p, size_t n)
{
	size_t off = 0;

	assert_true(n >= 13);
	assert_true(n <= WIMS_DTLS_MTU);
	while (off < n) {
		const uint8_t *r = p + off;

		assert_true(n - off >= 13);
		assert_true(r[0] >= 20 && r[0] <= 63);
		assert_int_equal(r[1], 0xfe);
		assert_true(r[2] == 0xfd || r[2] == 0xff); /* DTLS 1.2 (1.0 on the first ClientHello) */
		off += 13 + ((size_t)r[11] << 8 | r[12]);
		records++;
	}
	assert_int_equal(off, n);
}

static void note(struct side *s, int rc)
{
	if (rc == WIMS_DTLS_CONNECTED)
		s->connected++;
	else if (rc < 0 && !s->err)
		s->err = rc;
}

/* Move what from has queued to to; drop it instead when drop is set.
 * Returns the number of datagrams moved. */
static unsigned pump(struct side *from, struct side *to, bool drop)
{
	uint8_t buf[2048];
	size_t n;
	unsigned k = 0;

	while ((n = wims_dtls_output(from->d, buf, sizeof(buf))) > 0) {
		check_datagram(buf, n);
		from->sent++;
		k++;
		if (!drop)
			note(to, wims_dtls_input(to->d, buf, n));
	}
	return k;
}

static void run(struct side *c, struct side *s)
{
	for (int i = 0; i < 20; i++) {
		unsigned k = pump(c, s, false) + pump(s, c, false);

		if (!k)
			break;
	}
}

static void make(struct side *c, struct side *s, bool c_fp, bool s_fp)
{
	memset(c, 0, sizeof(*c));
	memset(s, 0, sizeof(*s));
	assert_int_equal(wims_dtls_new(&c->d, cctx, true,
				       c_fp ? wims_str_c(wims_dtls_ctx_fingerprint(sctx)) : WIMS_STR_NULL),
			 0);
	assert_int_equal(wims_dtls_new(&s->d, sctx, false,
				       s_fp ? wims_str_c(wims_dtls_ctx_fingerprint(cctx)) : WIMS_STR_NULL),
			 0);
	assert_int_equal(wims_dtls_start(s->d), 0);
	assert_int_equal(wims_dtls_start(c->d), 0);
	assert_int_equal(wims_dtls_start(c->d), -EALREADY);
}

static void check_keys(struct side *c, struct side *s, int profile)
{
	struct wims_srtp_keys kc, ks;
	struct wims_srtp *tx, *rx;
	uint8_t pkt[200] = {0x80, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9};
	size_t len = 100;

	assert_int_equal(wims_dtls_srtp_keys(c->d, &kc), 0);
	assert_int_equal(wims_dtls_srtp_keys(s->d, &ks), 0);
	assert_int_equal(kc.profile, profile);
	assert_int_equal(ks.profile, profile);
	assert_int_equal(kc.key_len, 16);
	assert_int_equal(kc.salt_len, profile == WIMS_SRTP_AEAD_AES_128_GCM ? 12 : 14);
	assert_memory_equal(kc.tx_key, ks.rx_key, kc.key_len);
	assert_memory_equal(kc.rx_key, ks.tx_key, kc.key_len);
	assert_memory_equal(kc.tx_salt, ks.rx_salt, kc.salt_len);
	assert_memory_equal(kc.rx_salt, ks.tx_salt, kc.salt_len);
	assert_memory_not_equal(kc.tx_key, kc.rx_key, kc.key_len);
	/* The keys work end to end: client protects, server unprotects. */
	assert_int_equal(wims_srtp_new(&tx, kc.profile, kc.tx_key, kc.tx_salt, true), 0);
	assert_int_equal(wims_srtp_new(&rx, ks.profile, ks.rx_key, ks.rx_salt, false), 0);
	assert_int_equal(wims_srtp_protect_rtp(tx, pkt, &len, sizeof(pkt)), 0);
	assert_int_equal(wims_srtp_unprotect_rtp(rx, pkt, &len), 0);
	assert_int_equal(len, 100);
	wims_srtp_free(tx);
	wims_srtp_free(rx);
}

static void done(struct side *c, struct side *s)
{
	wims_dtls_free(c->d);
	wims_dtls_free(s->d);
}

static void test_handshake(void **state)
{
	struct side c, s;
	struct wims_srtp_keys k;

	make(&c, &s, true, true);
	assert_int_equal(wims_dtls_srtp_keys(c.d, &k), -ENOTCONN);
	run(&c, &s);
	assert_int_equal(c.err, 0);
	assert_int_equal(s.err, 0);
	assert_int_equal(c.connected, 1);
	assert_int_equal(s.connected, 1);
	assert_true(wims_dtls_connected(c.d));
	assert_true(wims_dtls_connected(s.d));
	assert_string_equal(wims_dtls_version_name(c.d), "DTLSv1.2");
	assert_string_equal(wims_dtls_version_name(s.d), "DTLSv1.2");
	assert_string_equal(wims_dtls_cipher_name(c.d), "ECDHE-ECDSA-AES128-GCM-SHA256");
	assert_string_equal(wims_dtls_cipher_name(s.d), "ECDHE-ECDSA-AES128-GCM-SHA256");
	/* Our default order puts GCM first and the server picks by its order. */
	check_keys(&c, &s, WIMS_SRTP_AEAD_AES_128_GCM);
	done(&c, &s);
}

static void test_profile_sha1_80(void **state)
{
	struct wims_dtls_ctx *x;
	struct side c, s;

	/* A server that only offers SHA1_80 (a browser without GCM). */
	assert_int_equal(wims_dtls_ctx_new(&x, NULL, NULL), 0);
	assert_int_equal(wims_dtls_ctx_set_srtp_profiles(x, "SRTP_AES128_CM_SHA1_80"), 0);
	memset(&c, 0, sizeof(c));
	memset(&s, 0, sizeof(s));
	assert_int_equal(wims_dtls_new(&c.d, cctx, true, wims_str_c(wims_dtls_ctx_fingerprint(x))), 0);
	assert_int_equal(wims_dtls_new(&s.d, x, false, wims_str_c(wims_dtls_ctx_fingerprint(cctx))), 0);
	assert_int_equal(wims_dtls_start(c.d), 0);
	run(&c, &s);
	assert_int_equal(c.connected, 1);
	assert_int_equal(s.connected, 1);
	check_keys(&c, &s, WIMS_SRTP_AES_CM_128_HMAC_SHA1_80);
	done(&c, &s);
	wims_dtls_ctx_free(x);
}

static void test_fingerprint_mismatch(void **state)
{
	struct side c, s;
	struct wims_srtp_keys k;
	const char *wrong = "sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
			    "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF";

	memset(&c, 0, sizeof(c));
	memset(&s, 0, sizeof(s));
	assert_int_equal(wims_dtls_new(&c.d, cctx, true, wims_str_c(wrong)), 0);
	assert_int_equal(wims_dtls_new(&s.d, sctx, false, wims_str_c(wims_dtls_ctx_fingerprint(cctx))), 0);
	assert_int_equal(wims_dtls_start(c.d), 0);
	run(&c, &s);
	assert_int_equal(c.err, -EACCES);
	assert_int_equal(c.connected, 0);
	assert_false(wims_dtls_connected(c.d));
	assert_int_equal(wims_dtls_srtp_keys(c.d, &k), -ENOTCONN);
	/* Stays failed. */
	assert_int_equal(wims_dtls_input(c.d, (const uint8_t *)"\x16\xfe\xfd", 3), -EACCES);
	done(&c, &s);

	/* The server side refuses the client's certificate the same way. */
	memset(&c, 0, sizeof(c));
	memset(&s, 0, sizeof(s));
	assert_int_equal(wims_dtls_new(&c.d, cctx, true, wims_str_c(wims_dtls_ctx_fingerprint(sctx))), 0);
	assert_int_equal(wims_dtls_new(&s.d, sctx, false, wims_str_c(wims_dtls_ctx_fingerprint(sctx))), 0);
	assert_int_equal(wims_dtls_start(c.d), 0);
	run(&c, &s);
	assert_int_equal(s.err, -EACCES);
	assert_int_equal(s.connected, 0);
	assert_int_equal(wims_dtls_srtp_keys(s.d, &k), -ENOTCONN);
	done(&c, &s);
}

static void test_bad_fingerprint_values(void **state)
{
	struct wims_dtls *d;
	const char *bad[] = {
	    "sha-256 AB:CD",
	    "md5 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF",
	    "sha-1 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:3",
	    "sha-1 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:",
	    "sha-1 00-11-22-33-44-55-66-77-88-99-AA-BB-CC-DD-EE-FF-00-11-22-33",
	    "sha-1 0G:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(wims_dtls_new(&d, cctx, true, wims_str_c(bad[i])), -EINVAL);
	assert_int_equal(
	    wims_dtls_new(&d, cctx, true,
			  wims_str_c("SHA-1 00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33")),
	    0);
	assert_int_equal(wims_dtls_set_fingerprint(d, wims_str_c("sha-1 00")), -EINVAL);
	wims_dtls_free(d);
}

/* The first flight is lost; the client resends it when its timer fires. */
static void test_retransmit(void **state)
{
	struct side c, s;
	uint64_t ms;

	make(&c, &s, true, true);
	assert_int_equal(wims_dtls_timeout_ms(s.d), UINT64_MAX);
	assert_true(pump(&c, &s, true) >= 1); /* ClientHello lost */
	ms = wims_dtls_timeout_ms(c.d);
	assert_true(ms > 0 && ms <= 1000);
	wims_dtls_on_timeout(c.d); /* not yet expired: nothing */
	assert_int_equal(pump(&c, &s, true), 0);
	{
		struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L + 5000000L};

		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		nanosleep(&ts, NULL);
	}
	assert_int_equal(wims_dtls_timeout_ms(c.d), 0);
	wims_dtls_on_timeout(c.d);
	run(&c, &s);
	assert_int_equal(c.connected, 1);
	assert_int_equal(s.connected, 1);
	check_keys(&c, &s, WIMS_SRTP_AEAD_AES_128_GCM);
	done(&c, &s);
}

/* Early ClientHello: the server has no fingerprint yet when it arrives. */
static void test_early_client_hello(void **state)
{
	struct side c, s;

	make(&c, &s, true, false);
	pump(&c, &s, false); /* ClientHello */
	assert_int_equal(wims_dtls_set_fingerprint(s.d, wims_str_c(wims_dtls_ctx_fingerprint(cctx))), 0);
	run(&c, &s);
	assert_int_equal(c.connected, 1);
	assert_int_equal(s.connected, 1);
	check_keys(&c, &s, WIMS_SRTP_AEAD_AES_128_GCM);
	done(&c, &s);

	/* Fingerprint only after the handshake completed: set_fingerprint reports it. */
	make(&c, &s, false, true);
	run(&c, &s);
	assert_int_equal(s.connected, 1);
	assert_int_equal(c.connected, 0);
	assert_false(wims_dtls_connected(c.d));
	assert_int_equal(wims_dtls_set_fingerprint(c.d, wims_str_c(wims_dtls_ctx_fingerprint(sctx))),
			 WIMS_DTLS_CONNECTED);
	assert_true(wims_dtls_connected(c.d));
	check_keys(&c, &s, WIMS_SRTP_AEAD_AES_128_GCM);
	done(&c, &s);

	/* ...and a late wrong one fails. */
	make(&c, &s, false, true);
	run(&c, &s);
	assert_int_equal(wims_dtls_set_fingerprint(c.d, wims_str_c(wims_dtls_ctx_fingerprint(cctx))),
			 -EACCES);
	assert_false(wims_dtls_connected(c.d));
	done(&c, &s);
}

/* close_notify after connection: the peer reports -ECONNRESET, and an
 * application-data record (no data channels here) is ignored. */
static void test_close_notify(void **state)
{
	struct side c, s;

	make(&c, &s, true, true);
	run(&c, &s);
	assert_int_equal(c.connected, 1);
	assert_int_equal(s.connected, 1);
	wims_dtls_close(c.d);
	assert_false(wims_dtls_connected(c.d));
	assert_int_equal(pump(&c, &s, false), 1);
	assert_int_equal(s.err, -ECONNRESET);
	assert_false(wims_dtls_connected(s.d));
	wims_dtls_close(c.d); /* twice is harmless */
	done(&c, &s);
}

static void test_ctx(void **state)
{
	const char *fp = wims_dtls_ctx_fingerprint(cctx);

	assert_int_equal(strncmp(fp, "sha-256 ", 8), 0);
	assert_int_equal(strlen(fp), 8 + 32 * 3 - 1);
	for (size_t i = 8; fp[i]; i++)
		assert_true((fp[i] >= '0' && fp[i] <= '9') || (fp[i] >= 'A' && fp[i] <= 'F') || fp[i] == ':');
	assert_string_not_equal(fp, wims_dtls_ctx_fingerprint(sctx));
	{
		struct wims_dtls_ctx *x;

		assert_int_equal(wims_dtls_ctx_new(&x, "/nonexistent.pem", "/nonexistent.key"), -EINVAL);
		assert_null(x);
		assert_int_equal(wims_dtls_ctx_new(&x, "/nonexistent.pem", NULL), -EINVAL);
	}
}

static int setup(void **state)
{
	if (wims_srtp_global_init() != 0 || wims_dtls_ctx_new(&cctx, NULL, NULL) != 0 ||
	    wims_dtls_ctx_new(&sctx, NULL, NULL) != 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	wims_dtls_ctx_free(cctx);
	wims_dtls_ctx_free(sctx);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ctx),
	    cmocka_unit_test(test_handshake),
	    cmocka_unit_test(test_profile_sha1_80),
	    cmocka_unit_test(test_fingerprint_mismatch),
	    cmocka_unit_test(test_bad_fingerprint_values),
	    cmocka_unit_test(test_retransmit),
	    cmocka_unit_test(test_early_client_hello),
	    cmocka_unit_test(test_close_notify),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
