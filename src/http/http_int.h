/* Names shared between the files of the http module only. */
#ifndef WIMS_HTTP_INT_H
#define WIMS_HTTP_INT_H

#include "base/stream.h"
#include "http/http.h"

/**
 * Answer a plain HTTP request on st: GET/HEAD /healthz, else a file under
 * web_root (NULL: 404).  Writes a whole response with Connection: close;
 * returns the status sent, or a negative code when nothing could be written.
 */
int wims_http__respond(struct wims_stream *st, const char *web_root, const struct wims_http_req *r);
/** Answer with a body of the given type (HEAD: headers only).  Returns status or -EIO. */
int wims_http__send_body(struct wims_stream *st, unsigned status, const char *type, const char *body, size_t len,
			 bool head);

/** Percent-decode a request path into out and check it stays inside the root:
 *  no NUL, backslash, "." or ".." segment.  Appends index.html to a trailing
 *  '/'.  0, or -EINVAL / -ENAMETOOLONG. */
int wims_http__safe_path(struct wims_str path, char *out, size_t cap);

/** The Content-Type for a file name, by extension. */
const char *wims_http__mime(const char *name);

#endif
