/* RFC 4733 telephone-event payloads, SIP INFO DTMF bodies
 * (application/dtmf-relay, application/dtmf) and the RFC 4733 §2.5 sender
 * sequence a gateway emits when it converts INFO into RTP events. */
#ifndef WIMS_CODEC_DTMF_H
#define WIMS_CODEC_DTMF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/str.h"

/* RFC 7874 §5: events 0-15, 40..8000 ms, default 100 ms. */
#define WIMS_DTMF_MIN_MS 40
#define WIMS_DTMF_MAX_MS 8000
#define WIMS_DTMF_DEFAULT_MS 100

struct wims_dtmf_event {
	uint8_t event;
	bool end;
	uint8_t volume;	   /* 0..63, -dBm0 */
	uint16_t duration; /* in the payload's clock units */
};

/** Parse a telephone-event payload (first 4 octets; more, e.g. redundancy,
 * ignored): 0 / -EBADMSG (len < 4). */
int wims_dtmf_parse(const uint8_t *payload, size_t len, struct wims_dtmf_event *e)
    __attribute__((warn_unused_result));

/** Build a telephone-event payload: returns 4, or 0 when cap < 4. */
size_t wims_dtmf_build(const struct wims_dtmf_event *e, uint8_t *out, size_t cap);

/** Rescale a duration between clocks (8000, 16000, 48000, any nonzero),
 * rounding to nearest, saturating at 0xffff (the duration field is 16 bits).
 * A zero clock returns units unchanged (saturated). */
uint32_t wims_dtmf_rescale(uint32_t units, uint32_t from_clock, uint32_t to_clock);

/** The same for a timestamp delta, which may exceed 16 bits: rounds to
 * nearest, saturates at UINT32_MAX. */
uint32_t wims_dtmf_rescale_ts(uint32_t units, uint32_t from_clock, uint32_t to_clock);

/** SIP INFO bodies: application/dtmf-relay ("Signal=5\r\nDuration=160\r\n",
 * also Signal=* # A-D, 10=* 11=#) and application/dtmf ("5").  Returns 0 with
 * the event number 0..15 and the duration in ms (default 100 ms when absent,
 * clamped to 40..8000 per RFC 7874 §5), or -EBADMSG (also for an unknown
 * content type). */
int wims_dtmf_info_parse(struct wims_str content_type, struct wims_str body, uint8_t *event,
			 unsigned *duration_ms) __attribute__((warn_unused_result));

/** Plan an RFC 4733 event sequence for a digit of duration_ms at clock: the
 * packets a sender emits every step_ms (RFC 4733 §2.5.1.2 updates), with 3
 * end packets; for the gateway that converts INFO to RFC 4733.  All packets
 * share one RTP timestamp (the event start). */
struct wims_dtmf_tx {
	uint8_t event;
	uint32_t clock;
	uint32_t total_units, sent_units;
	unsigned end_sent;
	uint16_t step_units;
};

/** Start a sequence (duration clamped to 40..8000 ms; step_ms 0 = 50 ms;
 * total duration saturates at 0xffff units). */
void wims_dtmf_tx_start(struct wims_dtmf_tx *t, uint8_t event, unsigned duration_ms, uint32_t clock,
			unsigned step_ms);

/** Next packet payload (4 bytes) or 0 when done (or cap < 4); *marker true
 * for the first. */
size_t wims_dtmf_tx_next(struct wims_dtmf_tx *t, uint8_t *out, size_t cap, bool *marker);

#endif
