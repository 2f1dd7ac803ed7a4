/* Fuzz the transcoding pipeline: RTP header parsing, the reorder buffer,
 * AMR unpacking and the decoders with whatever bytes arrive, and the
 * telephone-event rescaling.  Input: byte 0 picks the input codec, byte 1
 * the output codec and ptime; then packets, each a 2-byte big-endian length
 * and that many bytes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "codec/transcode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned ptimes[] = {20, 40, 60, 20};
	struct wims_xcode_cfg cfg;
	struct wims_xcode *x;
	uint8_t out[1500];

	if (size < 2)
		return 0;
	memset(&cfg, 0, sizeof(cfg));
	cfg.in.codec = wims_codec_get((enum wims_codec_id)(data[0] % WIMS_CODEC__COUNT));
	cfg.out.codec = wims_codec_get((enum wims_codec_id)(data[1] % WIMS_CODEC__COUNT));
	wims_codec_params_init(&cfg.in.params);
	wims_codec_params_init(&cfg.out.params);
	cfg.in.amr.octet_align = data[0] & 0x80;
	cfg.out.amr.octet_align = data[1] & 0x80;
	cfg.in.pt = 96;
	cfg.in.te_pt = 101;
	cfg.out.pt = 97;
	cfg.out.te_pt = 100;
	cfg.out.ptime = ptimes[(data[1] >> 4) & 3];
	cfg.reorder_depth = 1 + ((data[0] >> 4) & 7);
	if (wims_xcode_new(&x, &cfg) < 0)
		return 0;
	data += 2;
	size -= 2;
	while (size >= 2) {
		size_t len = (size_t)data[0] << 8 | data[1];
		data += 2;
		size -= 2;
		if (len > size)
			len = size;
		(void)wims_xcode_input(x, data, len);
		while (wims_xcode_output(x, out, sizeof(out)) > 0)
			;
		data += len;
		size -= len;
	}
	wims_xcode_free(x);
	return 0;
}
