#include "base/log.h"

#include <stdio.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

/* The logger is process-wide by nature (stderr and syslog are). */
static struct {
	bool use_syslog;
	enum wims_log_level level;
} g_log = {false, WIMS_LOG_INFO};

static const char *const level_names[] = {
	[WIMS_LOG_ERR] = "err", [WIMS_LOG_WARN] = "warn", [WIMS_LOG_NOTICE] = "notice",
	[WIMS_LOG_INFO] = "info", [WIMS_LOG_DEBUG] = "debug",
};

void wims_log_init(const char *ident, bool use_syslog, enum wims_log_level level)
{
	g_log.use_syslog = use_syslog;
	g_log.level = level;
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

int wims_log_level_parse(const char *s)
{
	for (int i = WIMS_LOG_ERR; i <= WIMS_LOG_DEBUG; i++)
		if (level_names[i] && strcasecmp(s, level_names[i]) == 0)
			return i;
	if (strcasecmp(s, "error") == 0)
		return WIMS_LOG_ERR;
	if (strcasecmp(s, "warning") == 0)
		return WIMS_LOG_WARN;
	return -1;
}

bool wims_log_enabled(enum wims_log_level level)
{
	return level <= g_log.level;
}

void wims_vlog(enum wims_log_level level, const char *fmt, va_list ap)
{
	if (!wims_log_enabled(level))
		return;
	if (g_log.use_syslog) {
		vsyslog((int)level, fmt, ap);
		return;
	}
	struct timespec ts;
	struct tm tm;
	char tbuf[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%S", &tm);
	flockfile(stderr);
	fprintf(stderr, "%s.%03ldZ %-6s ", tbuf, ts.tv_nsec / 1000000, level_names[level]);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

void wims_log(enum wims_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	wims_vlog(level, fmt, ap);
	va_end(ap);
}

static unsigned long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000 + (unsigned long long)ts.tv_nsec / 1000000;
}

void wims_log_rl(struct wims_ratelimit *rl, enum wims_log_level level, const char *fmt, ...)
{
	unsigned long long now = now_ms();
	va_list ap;

	if (!wims_log_enabled(level))
		return;
	if (now - rl->window_start_ms >= rl->interval_ms) {
		if (rl->suppressed)
			wims_log(level, "(%u similar messages suppressed)", rl->suppressed);
		rl->window_start_ms = now;
		rl->printed = 0;
		rl->suppressed = 0;
	}
	if (rl->printed >= rl->burst) {
		rl->suppressed++;
		return;
	}
	rl->printed++;
	va_start(ap, fmt);
	wims_vlog(level, fmt, ap);
	va_end(ap);
}
