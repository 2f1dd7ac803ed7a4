/* SDP text helpers of precond.c: RFC 3312 quality-of-service lines (segmented
 * status type) added to, read from and stripped out of SDP bodies.
 *
 *   a=curr:qos local none        what each segment has reserved now
 *   a=curr:qos remote none
 *   a=des:qos mandatory local sendrecv   what each segment needs
 *   a=des:qos none remote sendrecv
 *   a=conf:qos remote sendrecv   "tell me when yours is reserved"
 *
 * The WebRTC access leg has no QoS reservation: wims reports its local
 * segment as the state of the browser's side (none until the answer path
 * exists, then sendrecv).  Lines end in CRLF or LF; output always in CRLF. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "proxy/precond.h"

/* The next line of s from *pos (without its line end); false at the end. */
static bool next_line(struct wims_str s, size_t *pos, struct wims_str *line)
{
	if (*pos >= s.l)
		return false;
	const char *p = s.p + *pos;
	const char *nl = memchr(p, '\n', s.l - *pos);
	size_t n = nl ? (size_t)(nl - p) : s.l - *pos;

	*pos += nl ? n + 1 : n;
	if (n && p[n - 1] == '\r')
		n--;
	*line = wims_str_make(p, n);
	return true;
}

static bool starts(struct wims_str l, const char *pfx)
{
	size_t n = strlen(pfx);

	return l.l >= n && strncasecmp(l.p, pfx, n) == 0;
}

static bool is_qos_line(struct wims_str l)
{
	return starts(l, "a=curr:qos ") || starts(l, "a=des:qos ") || starts(l, "a=conf:qos ");
}

bool wims_pc_sdp_has_qos(struct wims_str sdp)
{
	struct wims_str l;
	size_t pos = 0;

	while (next_line(sdp, &pos, &l))
		if (is_qos_line(l))
			return true;
	return false;
}

int wims_pc_sdp_strip(struct wims_str sdp, struct wims_wbuf *out)
{
	struct wims_str l;
	size_t pos = 0;

	while (next_line(sdp, &pos, &l)) {
		if (is_qos_line(l))
			continue;
		wims_wbuf_putstr(out, l);
		wims_wbuf_puts(out, "\r\n");
	}
	return out->err ? -ENOSPC : 0;
}

/* The words of a qos line after its prefix: "<w0> <w1> <w2>" */
static size_t words(struct wims_str l, struct wims_str w[3])
{
	size_t n = 0, i = 0;

	while (i < l.l && l.p[i] != ' ')
		i++; /* "a=curr:qos" */
	while (i < l.l && n < 3) {
		while (i < l.l && l.p[i] == ' ')
			i++;
		size_t s = i;
		while (i < l.l && l.p[i] != ' ')
			i++;
		if (i > s)
			w[n++] = wims_str_make(l.p + s, i - s);
	}
	return n;
}

static void copy_word(char *dst, size_t cap, struct wims_str w)
{
	if (wims_str_copy(dst, cap, w))
		dst[0] = 0;
}

void wims_pc_sdp_read(struct wims_str sdp, struct wims_pc_qos *q)
{
	struct wims_str l, w[3];
	size_t pos = 0;
	unsigned m = 0;

	memset(q, 0, sizeof(*q));
	while (next_line(sdp, &pos, &l)) {
		if (starts(l, "m="))
			m++;
		if (m != 1 || !is_qos_line(l))
			continue; /* the first media line's status stands for all (one audio stream) */
		q->present = true;
		size_t n = words(l, w);
		if (starts(l, "a=curr:qos ") && n == 3 && wims_str_eqic(w[0], "e2e"))
			copy_word(q->curr_local, sizeof(q->curr_local), w[1]); /* e2e: one segment */
		else if (starts(l, "a=curr:qos ") && n == 2 && wims_str_eqic(w[0], "local"))
			copy_word(q->curr_local, sizeof(q->curr_local), w[1]);
		else if (starts(l, "a=curr:qos ") && n == 2 && wims_str_eqic(w[0], "remote"))
			copy_word(q->curr_remote, sizeof(q->curr_remote), w[1]);
		else if (starts(l, "a=des:qos ") && n == 3 && wims_str_eqic(w[1], "local")) {
			copy_word(q->des_local_strength, sizeof(q->des_local_strength), w[0]);
			copy_word(q->des_local_dir, sizeof(q->des_local_dir), w[2]);
		} else if (starts(l, "a=des:qos ") && n == 3 && wims_str_eqic(w[1], "remote")) {
			copy_word(q->des_remote_strength, sizeof(q->des_remote_strength), w[0]);
		} else if (starts(l, "a=conf:qos ") && n == 2 && wims_str_eqic(w[0], "remote")) {
			q->conf_remote = true;
		}
	}
}

bool wims_pc_qos_met(const struct wims_pc_qos *q)
{
	/* met when the peer's own segment is reserved, or it needs nothing */
	return !q->present || strcmp(q->curr_local, "sendrecv") == 0 ||
	       (q->des_local_strength[0] && (strcmp(q->des_local_strength, "none") == 0 ||
					     strcmp(q->des_local_strength, "optional") == 0));
}

static void put_qos(struct wims_wbuf *out, const struct wims_pc_qos_out *o)
{
	wims_wbuf_printf(out, "a=curr:qos local %s\r\na=curr:qos remote %s\r\n", o->curr_local,
			 o->curr_remote[0] ? o->curr_remote : "none");
	wims_wbuf_printf(out, "a=des:qos mandatory local sendrecv\r\na=des:qos %s remote sendrecv\r\n",
			 o->des_remote[0] ? o->des_remote : "none");
	if (o->conf_remote)
		wims_wbuf_puts(out, "a=conf:qos remote sendrecv\r\n");
}

/* "o=<user> <sess-id> <version> ..." with version + 1 (RFC 3264 §8). */
static void put_origin_bumped(struct wims_wbuf *out, struct wims_str l)
{
	struct wims_str f[3];
	size_t n = 0, i = 2, s;

	while (n < 3 && i < l.l) {
		s = i;
		while (i < l.l && l.p[i] != ' ')
			i++;
		f[n++] = wims_str_make(l.p + s, i - s);
		while (i < l.l && l.p[i] == ' ')
			i++;
	}
	unsigned long long v;
	if (n < 3 || wims_str_to_u64(f[2], 0xffffffffffffffffULL - 1, &v)) {
		wims_wbuf_putstr(out, l);
		wims_wbuf_puts(out, "\r\n");
		return;
	}
	wims_wbuf_put(out, l.p, (size_t)(f[2].p - l.p));
	wims_wbuf_printf(out, "%llu", v + 1);
	wims_wbuf_put(out, f[2].p + f[2].l, l.l - (size_t)(f[2].p + f[2].l - l.p));
	wims_wbuf_puts(out, "\r\n");
}

/* A media section with port 0 is rejected or disabled: no status for it. */
static bool media_active(struct wims_str l)
{
	size_t i = 2;

	while (i < l.l && l.p[i] != ' ')
		i++;
	return !(i + 2 < l.l && l.p[i + 1] == '0' && l.p[i + 2] == ' ');
}

int wims_pc_sdp_add(struct wims_str sdp, const struct wims_pc_qos_out *o, bool bump_version, struct wims_wbuf *out)
{
	struct wims_str l;
	size_t pos = 0;
	bool in_media = false;

	while (next_line(sdp, &pos, &l)) {
		if (is_qos_line(l))
			continue;
		if (starts(l, "m=")) {
			if (in_media)
				put_qos(out, o);
			in_media = media_active(l);
		}
		if (bump_version && starts(l, "o=")) {
			put_origin_bumped(out, l);
			continue;
		}
		wims_wbuf_putstr(out, l);
		wims_wbuf_puts(out, "\r\n");
	}
	if (in_media)
		put_qos(out, o);
	return out->err ? -ENOSPC : 0;
}
