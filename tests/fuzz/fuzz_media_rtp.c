/* libFuzzer target for RTP/RTCP handling: classify, parse, strip the
 * header extension and rewrite on a copy, iterate a compound RTCP, filter
 * it on a copy, extract a report and translate an SSRC on a copy; check
 * what each promises. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "media/rtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

static void fuzz_rtp(const uint8_t *data, size_t size, uint8_t *copy)
{
	struct wims_rtp_hdr h, h2;
	size_t n;

	if (wims_rtp_parse(&h, data, size) != 0)
		return;
	check(h.hdr_len + h.payload_len <= size);
	check(!h.ext || (h.ext_off >= 12 && h.ext_off + 4 + h.ext_len == h.hdr_len));
	memcpy(copy, data, size);
	n = wims_rtp_strip_ext(copy, size);
	check(n <= size);
	check(wims_rtp_parse(&h2, copy, n) == 0);
	check(!h2.ext && h2.payload_len == h.payload_len && h2.seq == h.seq && h2.ssrc == h.ssrc);
	check(memcmp(copy + h2.hdr_len, data + h.hdr_len, h.payload_len) == 0);
	wims_rtp_set_pt(copy, 0x7f);
	wims_rtp_set_ssrc(copy, 0x01020304);
	check(wims_rtp_parse(&h2, copy, n) == 0 && h2.pt == 0x7f && h2.marker == h.marker);
}

static void fuzz_rtcp(const uint8_t *data, size_t size, uint8_t *copy)
{
	struct wims_rtcp_iter it = {data, size, 0};
	struct wims_rtcp_item item;
	struct wims_rtcp_report r;
	size_t total = 0, n;
	int rc;

	while ((rc = wims_rtcp_next(&it, &item)) == 1) {
		check(item.off == total && item.len >= 4 && item.off + item.len <= size);
		total += item.len;
	}
	check(rc == 0 ? total == size : rc < 0);
	for (int keep = 0; keep < 2; keep++) {
		memcpy(copy, data, size);
		n = wims_rtcp_filter(copy, size, keep != 0);
		check(n <= size);
		if (rc < 0) {
			check(n == 0);
			continue;
		}
		/* What is left is a well-formed compound again. */
		it = (struct wims_rtcp_iter){copy, n, 0};
		while ((rc = wims_rtcp_next(&it, &item)) == 1)
			;
		check(rc == 0);
		check(wims_rtcp_filter(copy, n, keep != 0) == n);
	}
	if (wims_rtcp_report(data, size, size >= 12 ? (uint32_t)data[8] << 24 | data[9] : 0, &r) == 0)
		check(!r.has_block || r.cum_lost <= 0xffffff);
}

/* SSRC translation on a copy: the compound keeps its length and headers,
 * and mapping back restores it when the new SSRC was nowhere in it. */
static void fuzz_map(const uint8_t *data, size_t size, uint8_t *copy)
{
	uint32_t from = size >= 8 ? (uint32_t)data[4] << 24 | (uint32_t)data[5] << 16 | (uint32_t)data[6] << 8 | data[7] : 1;
	uint32_t to = 0xf00dcafe;
	const uint8_t tob[4] = {0xf0, 0x0d, 0xca, 0xfe};
	memcpy(copy, data, size);
	unsigned n = wims_rtcp_map_ssrc(copy, size, from, to);
	check(n <= size / 4);
	for (size_t i = 0; i + 4 <= size; i++)
		if (memcmp(data + i, tob, 4) == 0)
			return;
	check(wims_rtcp_map_ssrc(copy, size, to, from) == n);
	check(memcmp(copy, data, size) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	(void)wims_pkt_classify(data, size);
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	fuzz_rtp(data, size, copy);
	fuzz_rtcp(data, size, copy);
	fuzz_map(data, size, copy);
	if (size >= 8) {
		uint8_t pli[12];

		check(wims_rtcp_build_pli(pli, sizeof(pli), data[0], data[1]) == 12);
		check(wims_pkt_classify(pli, 12) == WIMS_PKT_RTCP);
	}
	free(copy);
	return 0;
}
