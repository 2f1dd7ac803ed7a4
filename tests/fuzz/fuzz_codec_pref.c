/* libFuzzer target for the codec preference list ([media] codec_prefer, the
 * ng codec -> transcode list) and the Opus fmtp of the receiving side: what
 * parses is a list of distinct codecs that prints and parses back the same;
 * the fmtp gives parameters within RFC 7587's ranges. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "codec/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

static void fuzz_pref(struct wims_str s)
{
	struct wims_codec_pref p, q;
	struct wims_str bad = WIMS_STR_NULL;
	char txt[128];
	struct wims_wbuf b;

	if (wims_codec_pref_parse(&p, s, &bad)) {
		check(bad.p >= s.p && bad.p + bad.l <= s.p + s.l && bad.l > 0);
		return;
	}
	check(p.n <= WIMS_CODEC__COUNT);
	wims_wbuf_init(&b, txt, sizeof(txt));
	for (unsigned i = 0; i < p.n; i++) {
		check(wims_codec_pref_rank(&p, p.id[i]) == (int)i);
		wims_wbuf_printf(&b, "%s%s", i ? ", " : "", wims_codec_get(p.id[i])->name);
	}
	check(!b.err);
	check(wims_codec_pref_parse(&q, wims_str_make(txt, b.len), NULL) == 0);
	check(q.n == p.n && memcmp(q.id, p.id, sizeof(p.id[0]) * p.n) == 0);
}

static void fuzz_fmtp(struct wims_str s)
{
	struct wims_codec_params p;

	wims_codec_params_init(&p);
	int n = wims_opus_fmtp_apply(s, &p);
	check(n >= 0 && (size_t)n <= s.l);
	check(p.maxplaybackrate == 0 || (p.maxplaybackrate >= 8000 && p.maxplaybackrate <= 48000));
	check(p.bitrate == 0 || (p.bitrate >= 6000 && p.bitrate <= 510000));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	/* a private copy: the views must not read past it */
	char *c = malloc(size ? size : 1);
	if (!c)
		return 0;
	memcpy(c, data, size);
	struct wims_str s = wims_str_make(c, size);
	fuzz_pref(s);
	fuzz_fmtp(s);
	free(c);
	return 0;
}
