/* The bytes wims itself reads in DNS answers (everything else is parsed by
 * c-ares): wims_sip_res__min_ttl walks any message with a bounded cursor and
 * never reads out of it; its TTL never exceeds WIMS_SIP_RES_MAX_TTL.  The same
 * bytes as SRV records (prio, weight) go through the RFC 2782 ordering, which
 * must keep every record and sort them by priority. */
#include <stdbool.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sip/resolve.h"

/* check() is compiled out in release builds: fail loudly in every build */
static void check(bool ok)
{
	if (!ok)
		abort();
}

static uint32_t fuzz_rnd(void *arg)
{
	const uint8_t **p = arg;
	uint32_t v = (uint32_t)(*p)[0] << 8 | (*p)[1];
	return v * 2654435761u;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct wims_sip_res_srv s[WIMS_SIP_RES_MAX_SRV];
	unsigned char *copy = malloc(size ? size : 1);
	uint32_t ttl = 12345;
	unsigned seen = 0;
	size_t n = 0;

	/* an exact-size copy: ASan catches a read past the end */
	memcpy(copy, data, size);
	int rc = wims_sip_res__min_ttl(copy, size, &ttl);
	check(rc == 0 || rc == -EINVAL);
	check(rc || ttl <= WIMS_SIP_RES_MAX_TTL);
	free(copy);

	for (size_t i = 0; i + 4 <= size && n < WIMS_SIP_RES_MAX_SRV; i += 4, n++) {
		memset(&s[n], 0, sizeof(s[n]));
		s[n].prio = data[i] & 3;
		s[n].weight = (uint16_t)(data[i + 1] << 8 | data[i + 2]);
		s[n].port = (uint16_t)n; /* identifies the record */
	}
	const uint8_t *rp = data;
	wims_sip_res__srv_order(s, n, fuzz_rnd, &rp);
	for (size_t i = 0; i < n; i++) {
		check(s[i].port < n && !(seen & (1u << s[i].port)));
		seen |= 1u << s[i].port;
		check(i == 0 || s[i - 1].prio <= s[i].prio);
	}
	return 0;
}
