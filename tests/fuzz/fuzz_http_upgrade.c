/* Request head bytes → parser, upgrade decision, response builders, path check.
 * Also checks that parsing is resumable: a prefix gives -EAGAIN or the same head. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"
#include "http/http_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct wims_http_req r, r2;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct wims_http_decision d;
	char out[1024], path[512];
	struct wims_wbuf b;
	int rc = wims_http_parse_req(&r, buf, size);

	if (size) {
		size_t k = (size_t)data[0] % size;
		int rc2 = wims_http_parse_req(&r2, buf, k);
		if (rc2 > 0 && rc2 != rc)
			abort(); /* a head found in a prefix is the head of the whole */
		if (rc > 0 && (size_t)rc <= k && rc2 != rc)
			abort();
		if (rc2 != -EAGAIN && rc2 <= 0 && rc > 0 && (size_t)rc > k)
			abort(); /* an error in a prefix cannot become a head later */
	}
	if (rc <= 0)
		return 0;
	if ((size_t)rc > size || r.nheaders > WIMS_HTTP_MAX_HEADERS)
		abort();
	for (int ws_only = 0; ws_only < 2; ws_only++) {
		wims_http_upgrade_decide(&r, wims_str_c("https://a.example, https://b.example"), ws_only, &d);
		wims_wbuf_init(&b, out, sizeof(out));
		if (d.action == WIMS_HTTP_UPGRADE)
			wims_http_build_101(&b, r.ws_key);
		else if (d.action == WIMS_HTTP_REFUSE)
			wims_http_build_error(&b, &d);
		if (b.err)
			abort();
	}
	if (wims_http__safe_path(r.path, path, sizeof(path)) == 0) {
		if (strstr(path, "/../") || strstr(path, "\\") || path[0] != '/')
			abort();
		(void)wims_http__mime(path);
	}
	(void)wims_http_has_token(&r, "connection", "upgrade");
	return 0;
}
