/* wims-srtpbench: the CPU cost of SRTP per packet, wims's transform on
 * OpenSSL EVP (src/media/srtp_evp.c) beside libsrtp2 (Debian's, on NSS).
 *
 *   wims-srtpbench [--packets N] [--payload BYTES]
 *
 * For each profile, N RTP packets (default 1,000,000, payload 160 bytes:
 * 20 ms of G.711) are protected by a sender and unprotected by a receiver,
 * sequence numbers running on (and rolling over).  Time is the thread's CPU
 * time (CLOCK_THREAD_CPUTIME_ID) of whole loops: a protect-only loop, then
 * a protect + unprotect loop; unprotect is their difference.  Figures are
 * ns per packet. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <srtp2/srtp.h>

#include "media/srtp.h"

#define MAXPAY 1400

struct cost {
	double prot, unprot; /* ns per packet */
};

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static size_t make_rtp(uint8_t *p, uint16_t seq, size_t payload)
{
	const uint8_t hdr[12] = {0x80, 0x00, (uint8_t)(seq >> 8), (uint8_t)seq, 0, 0, 0, 160, 0x12, 0x34,
				 0x56, 0x78};

	memcpy(p, hdr, 12);
	memset(p + 12, 0xd5, payload);
	return 12 + payload;
}

/* Protect alone with one sender, then protect + unprotect with another
 * sender and a receiver; both loops timed as a whole. */
static int run_wims(int prof, const uint8_t *key, const uint8_t *salt, size_t n, size_t payload,
		    struct cost *c)
{
	struct wims_srtp *tx, *tx2, *rx;
	uint8_t p[12 + MAXPAY + WIMS_SRTP_MAX_TRAILER];
	double t0, t1, t2;

	if (wims_srtp_new(&tx, prof, key, salt, true) || wims_srtp_new(&tx2, prof, key, salt, true) ||
	    wims_srtp_new(&rx, prof, key, salt, false))
		return -1;
	t0 = now_ns();
	for (size_t i = 0; i < n; i++) {
		size_t len = make_rtp(p, (uint16_t)i, payload);

		if (wims_srtp_protect_rtp(tx, p, &len, sizeof(p)))
			return -1;
	}
	t1 = now_ns();
	for (size_t i = 0; i < n; i++) {
		size_t len = make_rtp(p, (uint16_t)i, payload);

		if (wims_srtp_protect_rtp(tx2, p, &len, sizeof(p)) || wims_srtp_unprotect_rtp(rx, p, &len))
			return -1;
	}
	t2 = now_ns();
	wims_srtp_free(tx);
	wims_srtp_free(tx2);
	wims_srtp_free(rx);
	c->prot = (t1 - t0) / (double)n;
	c->unprot = (t2 - t1 - (t1 - t0)) / (double)n;
	return 0;
}

static int raw_new(srtp_t *s, int prof, const uint8_t *key, const uint8_t *salt, bool out)
{
	uint8_t master[30];
	srtp_policy_t pol;
	size_t kl, sl;

	if (wims_srtp_key_len(prof, &kl, &sl))
		return -1;
	memset(&pol, 0, sizeof(pol));
	if (prof == WIMS_SRTP_AES_CM_128_HMAC_SHA1_80) {
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtcp);
	} else if (prof == WIMS_SRTP_AES_CM_128_HMAC_SHA1_32) {
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&pol.rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtcp);
	} else {
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtcp);
	}
	memcpy(master, key, kl);
	memcpy(master + kl, salt, sl);
	pol.ssrc.type = out ? ssrc_any_outbound : ssrc_any_inbound;
	pol.key = master;
	pol.window_size = 1024;
	return srtp_create(s, &pol) == srtp_err_status_ok ? 0 : -1;
}

static int run_libsrtp(int prof, const uint8_t *key, const uint8_t *salt, size_t n, size_t payload,
		       struct cost *c)
{
	uint8_t p[12 + MAXPAY + WIMS_SRTP_MAX_TRAILER];
	double t0, t1, t2;
	srtp_t tx, tx2, rx;

	if (raw_new(&tx, prof, key, salt, true) || raw_new(&tx2, prof, key, salt, true) ||
	    raw_new(&rx, prof, key, salt, false))
		return -1;
	t0 = now_ns();
	for (size_t i = 0; i < n; i++) {
		int len = (int)make_rtp(p, (uint16_t)i, payload);

		if (srtp_protect(tx, p, &len) != srtp_err_status_ok)
			return -1;
	}
	t1 = now_ns();
	for (size_t i = 0; i < n; i++) {
		int len = (int)make_rtp(p, (uint16_t)i, payload);

		if (srtp_protect(tx2, p, &len) != srtp_err_status_ok ||
		    srtp_unprotect(rx, p, &len) != srtp_err_status_ok)
			return -1;
	}
	t2 = now_ns();
	srtp_dealloc(tx);
	srtp_dealloc(tx2);
	srtp_dealloc(rx);
	c->prot = (t1 - t0) / (double)n;
	c->unprot = (t2 - t1 - (t1 - t0)) / (double)n;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"packets", required_argument, NULL, 'n'},
					     {"payload", required_argument, NULL, 'p'},
					     {NULL, 0, NULL, 0}};
	uint8_t key[16], salt[14];
	size_t n = 1000000, payload = 160;
	int o;

	while ((o = getopt_long(argc, argv, "n:p:", opts, NULL)) != -1) {
		char *end;

		if (o == 'n')
			n = strtoul(optarg, &end, 10);
		else if (o == 'p')
			payload = strtoul(optarg, &end, 10);
		else
			return 2;
		if (*end || n == 0 || payload > MAXPAY) {
			fprintf(stderr, "bad value: %s\n", optarg);
			return 2;
		}
	}
	if (wims_srtp_global_init() || srtp_init() != srtp_err_status_ok)
		return 1;
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(0x11 * i + 3);
	for (size_t i = 0; i < sizeof(salt); i++)
		salt[i] = (uint8_t)(0x5a ^ i);
	printf("%zu packets, %zu-byte payload; ns per packet (thread CPU time)\n", n, payload);
	printf("%-24s %-8s %9s %9s %9s\n", "profile", "engine", "protect", "unprotect", "both");
	for (int prof = WIMS_SRTP_AES_CM_128_HMAC_SHA1_80; prof <= WIMS_SRTP_AEAD_AES_128_GCM; prof++) {
		struct cost w, l;

		if (run_wims(prof, key, salt, n, payload, &w) ||
		    run_libsrtp(prof, key, salt, n, payload, &l)) {
			fprintf(stderr, "%s: SRTP failed\n", wims_srtp_profile_name(prof));
			return 1;
		}
		printf("%-24s %-8s %9.0f %9.0f %9.0f\n", wims_srtp_profile_name(prof), "wims", w.prot,
		       w.unprot, w.prot + w.unprot);
		printf("%-24s %-8s %9.0f %9.0f %9.0f\n", "", "libsrtp2", l.prot, l.unprot, l.prot + l.unprot);
	}
	return 0;
}
