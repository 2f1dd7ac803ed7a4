/* Logging to stderr or syslog, with levels and a per-call-site rate limit. */
#ifndef WIMS_BASE_LOG_H
#define WIMS_BASE_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum wims_log_level {
	WIMS_LOG_ERR = 3,
	WIMS_LOG_WARN = 4,
	WIMS_LOG_NOTICE = 5,
	WIMS_LOG_INFO = 6,
	WIMS_LOG_DEBUG = 7,
};

/** Choose the sink (stderr when use_syslog is false) and the lowest level kept. */
void wims_log_init(const char *ident, bool use_syslog, enum wims_log_level level);

/** Parse "err", "warn", "notice", "info", "debug"; -1 when unknown. */
int wims_log_level_parse(const char *s);

bool wims_log_enabled(enum wims_log_level level);

void wims_log(enum wims_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void wims_vlog(enum wims_log_level level, const char *fmt, va_list ap);

/* Rate limit for log lines caused by peers (malformed input): at most
 * `burst` lines per `interval_ms`, then one summary of what was suppressed. */
struct wims_ratelimit {
	unsigned long long window_start_ms;
	unsigned interval_ms;
	unsigned burst;
	unsigned printed;
	unsigned suppressed;
};

#define WIMS_RATELIMIT_INIT(ms, b) {0, (ms), (b), 0, 0}

/** Log through rate limit rl (one struct per call site, usually static). */
void wims_log_rl(struct wims_ratelimit *rl, enum wims_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static inline void wims_err(const char *m) { wims_log(WIMS_LOG_ERR, "%s", m); }

#endif
