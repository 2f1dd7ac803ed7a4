/* The reginfo parser (src/proxy/reginfo.c) on arbitrary bytes: it must
 * neither read outside the input nor accept a document whose strings do not
 * decode, and every string it returns must lie inside the input. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/reginfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(struct wims_str s, const char *p, size_t size)
{
	char out[WIMS_REGINFO_MAX_VALUE];

	if (s.l && (s.p < p || s.p + s.l > p + size))
		abort();
	/* the parser validated every reference: decoding fails only for room */
	if (wims_reginfo_text(s, out, sizeof(out), NULL) == -EBADMSG)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct wims_reginfo ri;
	/* a copy of exactly size bytes, so that ASan sees any overread */
	char *p = malloc(size ? size : 1);
	const char *why;

	if (!p)
		return 0;
	memcpy(p, data, size);
	if (wims_reginfo_parse(&ri, p, size, &why) == 0) {
		if (ri.n_reg > WIMS_REGINFO_MAX_REG || ri.n_contact > WIMS_REGINFO_MAX_CONTACT)
			abort();
		for (size_t i = 0; i < ri.n_reg; i++) {
			inside(ri.reg[i].aor, p, size);
			inside(ri.reg[i].id, p, size);
			if (ri.reg[i].contact0 + ri.reg[i].n_contact > ri.n_contact)
				abort();
		}
		for (size_t i = 0; i < ri.n_contact; i++) {
			inside(ri.contact[i].id, p, size);
			inside(ri.contact[i].uri, p, size);
		}
	} else if (!why) {
		abort();
	}
	free(p);
	return 0;
}
