/* Helpers shared by the files of the sdp module. */
#ifndef WIMS_SDP_SDP_INT_H
#define WIMS_SDP_SDP_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/str.h"

/** Next space-separated token of *rest (runs of spaces/tabs skipped). */
bool wims_sdp__tok(struct wims_str *rest, struct wims_str *tok);

/** Decimal number filling s, at most max. */
bool wims_sdp__num(struct wims_str s, uint32_t max, uint32_t *out);

#endif
