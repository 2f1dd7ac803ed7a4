/* The registration-state document of the reg event package (RFC 3680 §5,
 * application/reginfo+xml) as the S-CSCF NOTIFYs it to the P-CSCF
 * (TS 24.229 §5.2.3, §5.2.5.2).
 *
 * A bounded, zero-copy parser of its own (no XML library): every string it
 * returns points into the caller's buffer, raw, entity references included
 * (wims_reginfo_text() decodes them).  It understands what a well-formed
 * XML 1.0 document of that type may hold: an XML declaration, comments,
 * processing instructions, whitespace, namespace declarations and prefixes
 * (elements are matched by namespace URI and local name), attributes in
 * either quote style, the predefined entities and character references.
 * Elements of other namespaces (RFC 5628 gruu, extensions) are skipped.
 * Anything else is refused: DOCTYPE (no DTD, so no entity expansion),
 * CDATA sections, mismatched or unclosed tags, duplicate attributes,
 * unknown entities, undeclared prefixes, a missing required attribute, an
 * unknown state or event value.
 */
#ifndef WIMS_PROXY_REGINFO_H
#define WIMS_PROXY_REGINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/str.h"

/* Limits: a document beyond any of them is refused with -E2BIG. */
#define WIMS_REGINFO_MAX_DOC 65536     /* bytes of the body */
#define WIMS_REGINFO_MAX_REG 16        /* <registration> elements */
#define WIMS_REGINFO_MAX_CONTACT 32    /* <contact> elements, all registrations together */
#define WIMS_REGINFO_MAX_DEPTH 16      /* element nesting */
#define WIMS_REGINFO_MAX_ATTRS 32      /* attributes of one element */
#define WIMS_REGINFO_MAX_NS 32         /* namespace declarations in scope */
#define WIMS_REGINFO_MAX_VALUE 1024    /* bytes of a decoded value (wims_reginfo_text) */

#define WIMS_REGINFO_NS "urn:ietf:params:xml:ns:reginfo"

enum wims_reginfo_state {
	WIMS_REGINFO_INIT,       /* registration only */
	WIMS_REGINFO_ACTIVE,
	WIMS_REGINFO_TERMINATED,
};

enum wims_reginfo_event { /* RFC 3680 §5.2 */
	WIMS_REGINFO_REGISTERED,
	WIMS_REGINFO_CREATED,
	WIMS_REGINFO_REFRESHED,
	WIMS_REGINFO_SHORTENED,
	WIMS_REGINFO_EXPIRED,
	WIMS_REGINFO_DEACTIVATED,
	WIMS_REGINFO_PROBATION,
	WIMS_REGINFO_UNREGISTERED,
	WIMS_REGINFO_REJECTED,
};

struct wims_reginfo_contact {
	struct wims_str id;             /* raw attribute values */
	enum wims_reginfo_state state;  /* ACTIVE or TERMINATED */
	enum wims_reginfo_event event;
	struct wims_str uri;            /* raw text of <uri>, whitespace trimmed */
};

struct wims_reginfo_reg {
	struct wims_str aor, id;        /* raw attribute values */
	enum wims_reginfo_state state;
	size_t contact0, n_contact;     /* its contacts: contact[contact0 .. +n_contact) */
};

struct wims_reginfo {
	uint32_t version;
	bool full;                      /* state="full" (else "partial") */
	struct wims_reginfo_reg reg[WIMS_REGINFO_MAX_REG];
	size_t n_reg;
	struct wims_reginfo_contact contact[WIMS_REGINFO_MAX_CONTACT];
	size_t n_contact;
};

/**
 * Parse the reginfo document doc[0..len) into *ri (overwritten).  The
 * strings of *ri point into doc.  No allocation, no I/O.
 * Errors: -EBADMSG malformed or not a reginfo document (*why, when not
 * NULL, gets a static description), -E2BIG over a limit above.
 */
int wims_reginfo_parse(struct wims_reginfo *ri, const char *doc, size_t len, const char **why)
	__attribute__((warn_unused_result));

/**
 * Decode the entity and character references of a raw value of *ri into
 * out (cap bytes, NUL-terminated; characters as UTF-8).  *outlen (may be
 * NULL) receives the length.  Errors: -ENOSPC when it does not fit,
 * -EBADMSG for a bad reference (the parser already refused those).
 */
int wims_reginfo_text(struct wims_str raw, char *out, size_t cap, size_t *outlen)
	__attribute__((warn_unused_result));

/** Name of an event value ("deactivated"), for logs and Reason headers. */
const char *wims_reginfo_event_name(enum wims_reginfo_event e);

#endif
