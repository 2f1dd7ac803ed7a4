/* libFuzzer target for the SIP message module: parse, run every lazy value
 * parser over every header, then write the message back with a few edits
 * and check what comes out parses again with the right Content-Length. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sip/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

static void exercise_value(const struct wims_sip_hdr *h, struct wims_str v)
{
	struct wims_sip_addr a;
	struct wims_sip_uri u;
	struct wims_sip_via via;
	struct wims_sip_cseq cs;
	struct wims_str n, pv;
	size_t pos = 0;
	uint32_t x;

	if (wims_sip_via_parse(&via, v) == 0) {
		pos = 0;
		while (wims_sip_param_next(via.params, &pos, &n, &pv))
			check(n.l > 0);
	}
	if (wims_sip_addr_parse(&a, v) == 0 && !a.star) {
		(void)wims_sip_param_get(a.params, "tag", &pv);
		if (wims_sip_uri_parse(&u, a.uri) == 0) {
			pos = 0;
			while (wims_sip_param_next(u.params, &pos, &n, &pv))
				check(n.l > 0);
			(void)wims_sip_param_get(u.params, "lr", NULL);
		}
	}
	(void)wims_sip_cseq_parse(&cs, v);
	(void)wims_sip_uint_parse(v, UINT32_MAX, &x);
	(void)wims_sip_uri_parse(&u, v);
	pos = 0;
	while (wims_sip_param_next(v, &pos, &n, &pv))
		;
	(void)h;
}

static void exercise_values(const struct wims_sip_msg *m)
{
	struct wims_sip_vals it;
	struct wims_sip_via via;
	struct wims_sip_uri u;

	for (size_t i = 0; i < m->nhdrs; i++) {
		const struct wims_sip_hdr *h = &m->hdrs[i];
		struct wims_str v;
		size_t pos = 0;

		check(h->value.p >= m->raw.p && h->value.p + h->value.l <= m->raw.p + m->raw.l);
		exercise_value(h, h->value);
		while (wims_sip_list_next(h->value, &pos, &v))
			exercise_value(h, v);
		(void)wims_sip_msg_hdr_by_name(m, h->name);
		(void)wims_sip_msg_hdr_next(m, h);
	}
	for (int id = 1; id < WIMS_HDR__COUNT; id++) {
		wims_sip_vals_init(&it, m, (enum wims_sip_hdr_id)id);
		while (wims_sip_vals_next(&it))
			check(it.value.l > 0);
		(void)wims_sip_msg_hdr_count(m, (enum wims_sip_hdr_id)id);
	}
	check(wims_sip_msg_top_via(m, &via) == 0);
	(void)wims_sip_msg_tag(m, WIMS_HDR_FROM);
	(void)wims_sip_msg_tag(m, WIMS_HDR_TO);
	if (m->is_request)
		(void)wims_sip_uri_parse(&u, m->ruri);
}

/* What wims writes must parse again, unless the lines it added (a Via, a
 * Record-Route, a Content-Length) pushed it over a limit. */
static void reparse(const struct wims_sip_msg *orig, const char *p, size_t l, size_t want_body)
{
	static struct wims_sip_msg m2;
	const char *why;

	if (wims_sip_msg_parse(&m2, p, l, &why) != 0) {
		if (strcmp(why, "Too many headers") == 0)
			check(orig->nhdrs + 3 > WIMS_SIP_MAX_HEADERS);
		else
			check(strcmp(why, "Too many Via") == 0 || strcmp(why, "Too many Record-Route") == 0);
		return;
	}
	check(m2.body.l == want_body);
}

static void exercise_write(const struct wims_sip_msg *m)
{
	static char out[WIMS_SIP_MAX_MESSAGE + 4096];
	static struct wims_sip_edits ed;
	struct wims_wbuf w;
	struct wims_sip_vals it;
	const struct wims_sip_hdr *h;

	wims_sip_edits_init(&ed);
	wims_sip_edit_prepend_hdr(&ed, m, wims_str_c("Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKf\r\n"));
	wims_sip_edit_append_hdr(&ed, m, wims_str_c("Record-Route: <sip:192.0.2.1;lr>\r\n"));
	wims_sip_vals_init(&it, m, WIMS_HDR_ROUTE);
	if (wims_sip_vals_next(&it))
		wims_sip_edit_remove_val(&ed, m, &it);
	if ((h = wims_sip_msg_hdr(m, WIMS_HDR_MAX_FORWARDS)) != NULL)
		wims_sip_edit_replace(&ed, m, h->value, wims_str_c("69"));
	if ((h = wims_sip_msg_hdr(m, WIMS_HDR_CONTACT)) != NULL)
		wims_sip_edit_remove_hdr(&ed, m, h);
	wims_wbuf_init(&w, out, sizeof(out));
	if (wims_sip_msg_write(m, &ed, &w) == 0 && w.len <= WIMS_SIP_MAX_MESSAGE)
		reparse(m, w.p, w.len, m->body.l);

	/* a replaced body */
	wims_sip_edits_init(&ed);
	ed.body_set = true;
	ed.new_body = wims_str_c("v=0\r\n");
	wims_wbuf_init(&w, out, sizeof(out));
	check(wims_sip_msg_write(m, &ed, &w) == 0);
	if (w.len <= WIMS_SIP_MAX_MESSAGE)
		reparse(m, w.p, w.len, 5);

	if (m->is_request) {
		wims_wbuf_init(&w, out, sizeof(out));
		if (wims_sip_reply(m, 200, NULL, wims_str_c("t1"), WIMS_STR_NULL, &w) == 0 &&
		    w.len <= WIMS_SIP_MAX_MESSAGE)
			reparse(m, w.p, w.len, 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct wims_sip_msg m;
	const char *why = NULL;
	char *copy;

	/* An exact-size heap copy so that ASan sees any read past the end. */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (wims_sip_msg_parse(&m, copy, size, &why) == 0) {
		exercise_values(&m);
		exercise_write(&m);
	} else {
		check(why != NULL && why[0] != '\0');
	}
	free(copy);
	return 0;
}
