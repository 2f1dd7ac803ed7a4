/* Plain HTTP on the WebSocket listener: /healthz and static files (the WIC).
 * Files are small and read synchronously; one response per connection
 * (Connection: close), so there is no keep-alive state to keep. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "http/http_int.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Whether the segment [s, e) of a decoded path is "." or "..". */
static bool dot_segment(const char *s, const char *e)
{
	return (e - s == 1 && s[0] == '.') || (e - s == 2 && s[0] == '.' && s[1] == '.');
}

int wims_http__safe_path(struct wims_str path, char *out, size_t cap)
{
	size_t n = 0;

	if (path.l == 0 || path.p[0] != '/' || cap < 12)
		return -EINVAL;
	for (size_t i = 0; i < path.l; i++) {
		char c = path.p[i];
		if (c == '%') {
			int h, l;
			if (i + 2 >= path.l || (h = hexval(path.p[i + 1])) < 0 ||
			    (l = hexval(path.p[i + 2])) < 0)
				return -EINVAL;
			c = (char)(h << 4 | l);
			i += 2;
		}
		if (c == '\0' || c == '\\')
			return -EINVAL;
		if (n + 1 >= cap)
			return -ENAMETOOLONG;
		out[n++] = c;
	}
	out[n] = '\0';
	/* Check segments after decoding, so "%2e%2e" counts as "..". */
	for (const char *s = out + 1;;) {
		const char *e = strchr(s, '/');
		if (!e)
			e = out + n;
		if (dot_segment(s, e))
			return -EINVAL;
		if (*e == '\0')
			break;
		s = e + 1;
	}
	if (out[n - 1] == '/') {
		if (n + sizeof("index.html") > cap)
			return -ENAMETOOLONG;
		memcpy(out + n, "index.html", sizeof("index.html"));
	}
	return 0;
}

const char *wims_http__mime(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
	    {"html", "text/html; charset=utf-8"},
	    {"htm", "text/html; charset=utf-8"},
	    {"js", "text/javascript; charset=utf-8"},
	    {"mjs", "text/javascript; charset=utf-8"},
	    {"css", "text/css; charset=utf-8"},
	    {"json", "application/json"},
	    {"txt", "text/plain; charset=utf-8"},
	    {"svg", "image/svg+xml"},
	    {"png", "image/png"},
	    {"jpg", "image/jpeg"},
	    {"jpeg", "image/jpeg"},
	    {"ico", "image/x-icon"},
	    {"wasm", "application/wasm"},
	    {"wav", "audio/wav"},
	    {"map", "application/json"},
	    {"webmanifest", "application/manifest+json"},
	};
	const char *dot = strrchr(name, '.'), *slash = strrchr(name, '/');

	if (dot && (!slash || dot > slash)) {
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (strcasecmp(dot + 1, types[i].ext) == 0)
				return types[i].type;
	}
	return "application/octet-stream";
}

static int send_simple(struct wims_stream *st, unsigned status, const char *extra, const char *body,
		       bool head)
{
	char buf[512];
	struct wims_wbuf b;
	size_t bl = strlen(body);

	wims_wbuf_init(&b, buf, sizeof(buf));
	wims_wbuf_printf(&b,
			 "HTTP/1.1 %u %s\r\n%sContent-Type: text/plain; charset=utf-8\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			 status, wims_http_reason(status), extra, bl);
	if (!head)
		wims_wbuf_put(&b, body, bl);
	if (b.err || wims_stream_write(st, b.p, b.len) < 0)
		return -EIO;
	return (int)status;
}

int wims_http__send_body(struct wims_stream *st, unsigned status, const char *type, const char *body, size_t len,
			 bool head)
{
	char hdr[256];
	int n = snprintf(hdr, sizeof(hdr),
			 "HTTP/1.1 %u %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Cache-Control: no-cache\r\nConnection: close\r\n\r\n",
			 status, wims_http_reason(status), type, len);

	if (n < 0 || (size_t)n >= sizeof(hdr) || wims_stream_write(st, hdr, (size_t)n) < 0)
		return -EIO;
	if (!head && len && wims_stream_write(st, body, len) < 0)
		return -EIO;
	return (int)status;
}

/* Read a regular file of at most WIMS_HTTP_MAX_FILE bytes into *data. */
static int read_file(const char *path, char **data, size_t *len)
{
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	int rc = 0;

	*data = NULL;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		rc = -ENOENT;
		goto out;
	}
	if ((uint64_t)sb.st_size > WIMS_HTTP_MAX_FILE) {
		rc = -EFBIG;
		goto out;
	}
	*data = malloc((size_t)sb.st_size + 1);
	if (!*data) {
		rc = -ENOMEM;
		goto out;
	}
	*len = 0;
	while (*len < (size_t)sb.st_size) {
		ssize_t n = read(fd, *data + *len, (size_t)sb.st_size - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		*len += (size_t)n;
	}
out:
	close(fd);
	if (rc) {
		free(*data);
		*data = NULL;
	}
	return rc;
}

static int send_file(struct wims_stream *st, const char *web_root, const struct wims_http_req *r, bool head)
{
	static struct wims_ratelimit rl = WIMS_RATELIMIT_INIT(10000, 5);
	char rel[1024], full[2048], hbuf[512];
	struct wims_wbuf b;
	char *data;
	size_t len = 0;
	int rc;

	if (!web_root || !*web_root)
		return send_simple(st, 404, "", "not found\n", head);
	if (wims_http__safe_path(r->path, rel, sizeof(rel)) != 0)
		return send_simple(st, 404, "", "not found\n", head);
	if ((size_t)snprintf(full, sizeof(full), "%s%s", web_root, rel) >= sizeof(full))
		return send_simple(st, 404, "", "not found\n", head);
	rc = read_file(full, &data, &len);
	if (rc == -EFBIG || rc == -ENOMEM) {
		wims_log_rl(&rl, WIMS_LOG_WARN, "http: cannot serve %s: %s", full, strerror(-rc));
		return send_simple(st, 500, "", "cannot serve this file\n", head);
	}
	if (rc)
		return send_simple(st, 404, "", "not found\n", head);
	wims_wbuf_init(&b, hbuf, sizeof(hbuf));
	wims_http_build_head(&b, 200, wims_http__mime(rel), len);
	rc = b.err ? -EIO : wims_stream_write(st, b.p, b.len);
	if (rc == 0 && !head && len)
		rc = wims_stream_write(st, data, len);
	free(data);
	return rc < 0 ? rc : 200;
}

int wims_http__respond(struct wims_stream *st, const char *web_root, const struct wims_http_req *r)
{
	bool head = wims_str_eqc(r->method, "HEAD");

	if (!head && !wims_str_eqc(r->method, "GET"))
		return send_simple(st, 405, "Allow: GET, HEAD\r\n", "method not allowed\n", false);
	if (wims_str_eqc(r->path, "/healthz"))
		return send_simple(st, 200, "", "ok\n", head);
	return send_file(st, web_root, r, head);
}
