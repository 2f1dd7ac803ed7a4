/* libFuzzer target for the RFC 4867 AMR payload and the DTMF parsers: the
 * first byte picks AMR/AMR-WB and BE/OA; what unpacks must pack again and
 * unpack to the same frames.  Then telephone-event and INFO body parsing. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/amr.h"
#include "codec/dtmf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

static void fuzz_amr(uint8_t sel, const uint8_t *data, size_t size)
{
	struct wims_amr_params p = {.kind = sel & 1 ? WIMS_AMR_WB : WIMS_AMR_NB,
				    .octet_align = (sel & 2) != 0};
	static uint8_t out[WIMS_AMR_MAX_FRAMES * WIMS_AMR_MAX_STORAGE], out2[sizeof(out)], pkt[2048];
	size_t off[WIMS_AMR_MAX_FRAMES], flen[WIMS_AMR_MAX_FRAMES], off2[WIMS_AMR_MAX_FRAMES],
	    flen2[WIMS_AMR_MAX_FRAMES];
	const uint8_t *fr[WIMS_AMR_MAX_FRAMES];
	uint8_t cmr, cmr2;
	int n, len;

	n = wims_amr_unpack(&p, data, size, &cmr, out, (sel & 4) ? 40 : sizeof(out), off, flen);
	if (n <= 0)
		return;
	check(n <= WIMS_AMR_MAX_FRAMES && cmr < 16);
	for (int i = 0; i < n; i++) {
		check(flen[i] >= 1 && off[i] + flen[i] <= sizeof(out));
		fr[i] = out + off[i];
	}
	len = wims_amr_pack(&p, cmr, fr, flen, (unsigned)n, pkt, sizeof(pkt));
	check(len > 0 && (size_t)len == size); /* strict lengths: the same size back */
	check(wims_amr_unpack(&p, pkt, (size_t)len, &cmr2, out2, sizeof(out2), off2, flen2) == n);
	check(cmr2 == cmr);
	for (int i = 0; i < n; i++)
		check(flen2[i] == flen[i] && memcmp(out2 + off2[i], out + off[i], flen[i]) == 0);
}

static void fuzz_dtmf(const uint8_t *data, size_t size)
{
	struct wims_dtmf_event e;
	uint8_t b[4];
	unsigned ms;
	uint8_t ev;

	if (wims_dtmf_parse(data, size, &e) == 0) {
		check(wims_dtmf_build(&e, b, sizeof(b)) == 4);
		check(b[0] == data[0] && (b[1] & 0xbf) == (data[1] & 0xbf) && b[2] == data[2] &&
		      b[3] == data[3]);
	}
	struct wims_str body = wims_str_make((const char *)data, size);
	if (wims_dtmf_info_parse(wims_str_c("application/dtmf-relay"), body, &ev, &ms) == 0)
		check(ev < 16 && ms >= WIMS_DTMF_MIN_MS && ms <= WIMS_DTMF_MAX_MS);
	if (wims_dtmf_info_parse(wims_str_c("application/dtmf"), body, &ev, &ms) == 0)
		check(ev < 16 && ms == WIMS_DTMF_DEFAULT_MS);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wims_amr_params p;

	if (size < 1)
		return 0;
	fuzz_amr(data[0], data + 1, size - 1);
	fuzz_dtmf(data + 1, size - 1);
	if (wims_amr_fmtp_parse(wims_str_make((const char *)data + 1, size - 1), data[0] & 1, &p) == 0) {
		char buf[256];

		check(wims_amr_fmtp_answer(&p, buf, sizeof(buf)) >= 0);
	}
	return 0;
}
