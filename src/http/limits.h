/* Every limit on what a peer can make the http module parse or hold. */
#ifndef WIMS_HTTP_LIMITS_H
#define WIMS_HTTP_LIMITS_H

#define WIMS_HTTP_MAX_HEAD 8192		/* bytes in one request head, CRLFCRLF included */
#define WIMS_HTTP_MAX_HEADERS 64	/* header lines in one request head */
#define WIMS_HTTP_MAX_FILE (960 * 1024) /* static file size (the stream queues at most 1 MiB) */
#define WIMS_WS_MAX_MESSAGE 65535	/* default bound on one assembled WebSocket message */
#define WIMS_WS_MAX_CONTROL 125		/* RFC 6455 §5.5: control frame payload */
#define WIMS_WS_CLOSE_WAIT_MS 5000	/* wait for the peer's Close after ours, then abort */

#define WIMS_HTTP_MAX_ROUTE_BODY (256 * 1024) /* an admin API or metrics page */

#endif
