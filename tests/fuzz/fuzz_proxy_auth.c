/* The P-CSCF's removal of IMS-AKA keys from a 401 on its way to the UE
 * (src/proxy/pcscf.c wims_proxy__strip_aka_keys, TS 24.229 §5.2.2.1) on
 * arbitrary messages: its scan of WWW-Authenticate auth-params (quoted
 * strings with escapes, commas, stray tokens) may not read outside the
 * header, and the message written with its edits must parse again with no
 * ik/ck auth-param left where the scan found one. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/px.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct wims_sip_msg m, out;
	static char buf[WIMS_SIP_MAX_MESSAGE + 1];
	struct wims_sip_edits ed;
	struct wims_wbuf w;
	const char *why;

	if (wims_sip_msg_parse(&m, (const char *)data, size, &why))
		return 0;
	wims_sip_edits_init(&ed);
	wims_proxy__strip_aka_keys(&ed, &m);
	wims_wbuf_init(&w, buf, sizeof(buf));
	if (wims_sip_msg_write(&m, &ed, &w) || w.err)
		return 0; /* an edit set the writer refuses is refused cleanly */
	if (wims_sip_msg_parse(&out, w.p, w.len, &why))
		abort(); /* removing auth-params broke the message */
	/* a second pass finds nothing more to remove */
	wims_sip_edits_init(&ed);
	wims_proxy__strip_aka_keys(&ed, &out);
	if (ed.n)
		abort();
	return 0;
}
