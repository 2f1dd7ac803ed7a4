/* libFuzzer target for the SRTP transform (src/media/srtp_evp.c): each
 * input is unprotected as SRTP and as SRTCP under a fixed key for every
 * profile (the streams live across inputs, so the windows and index
 * estimates see sequences), and protected as RTP and RTCP in a buffer with
 * room; anything protected must unprotect back to the input. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "media/srtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXPKT 2048

static struct wims_srtp *rx[3], *tx[3], *loop_rx[3];

static void check(int cond)
{
	if (!cond)
		abort();
}

static void setup(void)
{
	static const uint8_t key[16] = {0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe,
					0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
	static const uint8_t salt[14] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6,
					 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad};

	for (int i = 0; i < 3; i++) {
		int prof = WIMS_SRTP_AES_CM_128_HMAC_SHA1_80 + i;

		check(wims_srtp_new(&rx[i], prof, key, salt, false) == 0);
		check(wims_srtp_new(&tx[i], prof, key, salt, true) == 0);
		check(wims_srtp_new(&loop_rx[i], prof, key, salt, false) == 0);
	}
}

static int known(int rc)
{
	return rc == 0 || rc == -EPERM || rc == -EALREADY || rc == -EBADMSG || rc == -ENOSPC || rc == -EIO;
}

/* Unprotect a copy exactly size bytes long (ASan sees any overread). */
static void unprotect(int i, const uint8_t *data, size_t size, int rtcp)
{
	uint8_t *p = malloc(size ? size : 1);
	size_t len = size;
	int rc;

	check(p != NULL);
	memcpy(p, data, size);
	rc = rtcp ? wims_srtp_unprotect_rtcp(rx[i], p, &len) : wims_srtp_unprotect_rtp(rx[i], p, &len);
	check(known(rc));
	check(rc != 0 || len < size);
	free(p);
}

static void protect(int i, const uint8_t *data, size_t size, int rtcp)
{
	uint8_t p[MAXPKT + 32];
	size_t len = size;
	int rc;

	if (size > MAXPKT)
		return;
	memcpy(p, data, size);
	rc = rtcp ? wims_srtp_protect_rtcp(tx[i], p, &len, sizeof(p))
		  : wims_srtp_protect_rtp(tx[i], p, &len, sizeof(p));
	check(known(rc));
	if (rc)
		return;
	check(len > size && len <= size + WIMS_SRTCP_MAX_TRAILER);
	rc = rtcp ? wims_srtp_unprotect_rtcp(loop_rx[i], p, &len)
		  : wims_srtp_unprotect_rtp(loop_rx[i], p, &len);
	/* a sequence number the loop receiver saw far ahead may read as old or replayed */
	check(rc == 0 || rc == -EALREADY || (!rtcp && rc == -EPERM));
	if (rc == 0)
		check(len == size && memcmp(p, data, size) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!rx[0])
		setup();
	for (int i = 0; i < 3; i++) {
		unprotect(i, data, size, 0);
		unprotect(i, data, size, 1);
		protect(i, data, size, 0);
		protect(i, data, size, 1);
	}
	return 0;
}
