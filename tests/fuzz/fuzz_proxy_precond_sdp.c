/* SDP bytes -> the qos helpers of precond.c (read, strip, add with a
 * version bump): no crash, no read outside the input, and what add writes
 * strips back to something without qos lines. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/precond.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char out1[65536], out2[65536];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wims_pc_qos q;
	struct wims_wbuf w1, w2;
	struct wims_pc_qos_out o = {.curr_local = "sendrecv", .curr_remote = "none", .des_remote = "mandatory"};
	/* a copy of exactly size bytes: ASan sees any read past the input */
	char *in = malloc(size ? size : 1);

	if (!in)
		return 0;
	memcpy(in, data, size);
	struct wims_str sdp = wims_str_make(in, size);
	wims_pc_sdp_read(sdp, &q);
	(void)wims_pc_qos_met(&q);
	(void)wims_pc_sdp_has_qos(sdp);
	o.conf_remote = size & 1;
	wims_wbuf_init(&w1, out1, size & 2 ? sizeof(out1) : 64);
	if (wims_pc_sdp_add(sdp, &o, size & 4, &w1) == 0) {
		wims_wbuf_init(&w2, out2, sizeof(out2));
		if (wims_pc_sdp_strip(wims_wbuf_str(&w1), &w2) == 0 && wims_pc_sdp_has_qos(wims_wbuf_str(&w2)))
			abort();
	}
	wims_wbuf_init(&w2, out2, sizeof(out2));
	if (wims_pc_sdp_strip(sdp, &w2) == 0 && wims_pc_sdp_has_qos(wims_wbuf_str(&w2)))
		abort();
	free(in);
	return 0;
}
