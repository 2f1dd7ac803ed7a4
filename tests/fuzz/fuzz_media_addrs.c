/* The [media] address list: wims_media_addrs_parse (the engine's parser)
 * on arbitrary bytes.  Checks: at most WIMS_MEDIA_MAX_ADDRS addresses, no
 * port, no repeats, addr == addrs[0], and every accepted address prints and
 * parses back to itself (with brackets for IPv6). */
/* the checks below are the point of this target: keep them in release builds */
#undef NDEBUG
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "media/media.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wims_media_opts o;
	memset(&o, 0, sizeof(o));
	if (wims_media_addrs_parse(&o, (struct wims_str){(const char *)data, size}) != 0)
		return 0;
	assert(o.naddrs >= 1 && o.naddrs <= WIMS_MEDIA_MAX_ADDRS);
	assert(wims_addr_eq(&o.addr, &o.addrs[0]));
	for (unsigned i = 0; i < o.naddrs; i++) {
		assert(wims_addr_port(&o.addrs[i]) == 0);
		for (unsigned j = 0; j < i; j++)
			assert(!wims_addr_eq(&o.addrs[i], &o.addrs[j]));
		char host[WIMS_ADDR_STRLEN];
		assert(wims_addr_host(&o.addrs[i], host, sizeof(host), true) >= 0);
		struct wims_addr back;
		assert(wims_addr_parse(&back, wims_str_c(host), 0) == 0);
		assert(wims_addr_eq(&back, &o.addrs[i]));
	}
	return 0;
}
