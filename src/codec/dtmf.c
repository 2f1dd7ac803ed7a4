/* RFC 4733 telephone-event payload (§2.3):
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     event     |E|R| volume    |          duration             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * and the SIP INFO DTMF bodies a gateway converts to and from it. */
#include "codec/dtmf.h"

#include <errno.h>

int wims_dtmf_parse(const uint8_t *payload, size_t len, struct wims_dtmf_event *e)
{
	if (len < 4)
		return -EBADMSG;
	e->event = payload[0];
	e->end = (payload[1] & 0x80) != 0;
	e->volume = payload[1] & 0x3f; /* R is ignored by receivers (§2.3.3) */
	e->duration = (uint16_t)(payload[2] << 8 | payload[3]);
	return 0;
}

size_t wims_dtmf_build(const struct wims_dtmf_event *e, uint8_t *out, size_t cap)
{
	if (cap < 4)
		return 0;
	out[0] = e->event;
	out[1] = (uint8_t)((e->end ? 0x80 : 0) | (e->volume & 0x3f));
	out[2] = (uint8_t)(e->duration >> 8);
	out[3] = (uint8_t)e->duration;
	return 4;
}

static uint64_t rescale(uint32_t units, uint32_t from_clock, uint32_t to_clock)
{
	if (from_clock == 0 || to_clock == 0 || from_clock == to_clock)
		return units;
	return ((uint64_t)units * to_clock + from_clock / 2) / from_clock;
}

uint32_t wims_dtmf_rescale(uint32_t units, uint32_t from_clock, uint32_t to_clock)
{
	uint64_t v = rescale(units, from_clock, to_clock);

	return v > 0xffff ? 0xffff : (uint32_t)v;
}

uint32_t wims_dtmf_rescale_ts(uint32_t units, uint32_t from_clock, uint32_t to_clock)
{
	uint64_t v = rescale(units, from_clock, to_clock);

	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* RFC 4733 §3.2: 0-9, * = 10, # = 11, A-D = 12-15. */
static int digit_event(struct wims_str s, bool numeric)
{
	static const char ev[] = "0123456789*#ABCD";
	unsigned long long n;

	if (s.l == 1) {
		char c = s.p[0] >= 'a' && s.p[0] <= 'd' ? (char)(s.p[0] - 'a' + 'A') : s.p[0];
		const char *f = c ? memchr(ev, c, 16) : NULL;

		if (f)
			return (int)(f - ev);
	}
	/* dtmf-relay as some phones send it: Signal=10 for '*', 11 for '#'. */
	if (numeric && s.l == 2 && wims_str_to_u64(s, 99, &n) == 0 && n <= 15)
		return (int)n;
	return -EBADMSG;
}

static unsigned clamp_ms(unsigned long long ms)
{
	if (ms < WIMS_DTMF_MIN_MS)
		return WIMS_DTMF_MIN_MS;
	return ms > WIMS_DTMF_MAX_MS ? WIMS_DTMF_MAX_MS : (unsigned)ms;
}

/* A decimal number of any length; a huge one saturates (clamped later). */
static int parse_ms(struct wims_str v, unsigned long long *ms)
{
	if (v.l == 0)
		return -EBADMSG;
	for (size_t i = 0; i < v.l; i++)
		if (v.p[i] < '0' || v.p[i] > '9')
			return -EBADMSG;
	if (v.l > 9) {
		*ms = WIMS_DTMF_MAX_MS;
		return 0;
	}
	return wims_str_to_u64(v, UINT32_MAX, ms) ? -EBADMSG : 0;
}

/* application/dtmf-relay: lines "Signal=<d>" and "Duration=<ms>", any order,
 * CRLF or LF, names case-insensitive; other lines ignored. */
static int parse_relay(struct wims_str body, uint8_t *event, unsigned *duration_ms)
{
	int ev = -EBADMSG;
	unsigned long long ms = WIMS_DTMF_DEFAULT_MS;

	while (body.l > 0) {
		const char *nl = memchr(body.p, '\n', body.l);
		size_t l = nl ? (size_t)(nl - body.p) : body.l;
		struct wims_str line = wims_str_trim(wims_str_make(body.p, l));
		const char *eq;
		struct wims_str name, val;

		body = nl ? wims_str_make(nl + 1, body.l - l - 1) : wims_str_make(body.p + l, 0);
		if (line.l && line.p[line.l - 1] == '\r')
			line = wims_str_trim(wims_str_make(line.p, line.l - 1));
		eq = line.l ? memchr(line.p, '=', line.l) : NULL;
		if (!eq)
			continue;
		name = wims_str_trim(wims_str_make(line.p, (size_t)(eq - line.p)));
		val = wims_str_trim(wims_str_make(eq + 1, line.l - (size_t)(eq - line.p) - 1));
		if (wims_str_eqic(name, "Signal")) {
			ev = digit_event(val, true);
			if (ev < 0)
				return -EBADMSG;
		} else if (wims_str_eqic(name, "Duration")) {
			if (parse_ms(val, &ms))
				return -EBADMSG;
		}
	}
	if (ev < 0)
		return -EBADMSG;
	*event = (uint8_t)ev;
	*duration_ms = clamp_ms(ms);
	return 0;
}

/* The media type without parameters: "application/dtmf-relay; x=y". */
static struct wims_str base_type(struct wims_str ct)
{
	const char *semi = ct.l ? memchr(ct.p, ';', ct.l) : NULL;

	if (semi)
		ct.l = (size_t)(semi - ct.p);
	return wims_str_trim(ct);
}

int wims_dtmf_info_parse(struct wims_str content_type, struct wims_str body, uint8_t *event,
			 unsigned *duration_ms)
{
	struct wims_str ct = base_type(content_type);
	int ev;

	if (wims_str_eqic(ct, "application/dtmf-relay"))
		return parse_relay(body, event, duration_ms);
	if (!wims_str_eqic(ct, "application/dtmf"))
		return -EBADMSG;
	body = wims_str_trim(body);
	while (body.l && (body.p[body.l - 1] == '\r' || body.p[body.l - 1] == '\n'))
		body = wims_str_trim(wims_str_make(body.p, body.l - 1));
	ev = digit_event(body, false);
	if (ev < 0)
		return -EBADMSG;
	*event = (uint8_t)ev;
	*duration_ms = WIMS_DTMF_DEFAULT_MS;
	return 0;
}

void wims_dtmf_tx_start(struct wims_dtmf_tx *t, uint8_t event, unsigned duration_ms, uint32_t clock,
			unsigned step_ms)
{
	uint64_t total, step;

	if (step_ms == 0)
		step_ms = 50;
	total = (uint64_t)clamp_ms(duration_ms) * clock / 1000;
	step = (uint64_t)step_ms * clock / 1000;
	t->event = event;
	t->clock = clock;
	t->total_units = total > 0xffff ? 0xffff : (uint32_t)total;
	t->step_units = step > 0xffff ? 0xffff : step == 0 ? 1 : (uint16_t)step;
	if (t->total_units == 0)
		t->total_units = 1; /* clock 0: still a terminating sequence */
	t->sent_units = 0;
	t->end_sent = 0;
}

/* RFC 4733 §2.5.1.2: while the tone lasts, packets repeat the start
 * timestamp with a growing duration; §2.5.1.4: the final packet has E set
 * and is sent three times. The first packet is never an end packet. */
size_t wims_dtmf_tx_next(struct wims_dtmf_tx *t, uint8_t *out, size_t cap, bool *marker)
{
	struct wims_dtmf_event e = {.event = t->event, .volume = 10};
	uint32_t next;

	if (t->end_sent >= 3 || cap < 4)
		return 0;
	*marker = t->sent_units == 0;
	next = t->sent_units + t->step_units;
	if (*marker) {
		t->sent_units = next < t->total_units ? next : t->total_units;
	} else if (next < t->total_units) {
		t->sent_units = next;
	} else {
		t->sent_units = t->total_units;
		e.end = true;
		t->end_sent++;
	}
	e.duration = (uint16_t)t->sent_units;
	return wims_dtmf_build(&e, out, cap);
}
