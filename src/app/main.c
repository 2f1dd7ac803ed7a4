/* wimsd: options, configuration, the loop. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "app/app.h"
#include "base/log.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: wimsd [-c FILE] [-t] [--help] [--version]\n"
		   "  -c, --config FILE  configuration file (INI; every key in docs/configuration.md)\n"
		   "  -t, --check        check the configuration and exit\n"
		   "  -h, --help         this text\n"
		   "  -V, --version      print the version\n"
		   "Signals: SIGTERM/SIGINT stop gracefully (a second one stops at once).\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'}, {"check", no_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},         {"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	static struct wims_app app;
	const char *cfg = NULL;
	char err[512];
	int c, check = 0, rc;

	while ((c = getopt_long(argc, argv, "c:thV", opts, NULL)) != -1) {
		switch (c) {
		case 'c': cfg = optarg; break;
		case 't': check = 1; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("wimsd %s\n", WIMS_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	wims_conf_defaults(&app.conf);
	if (cfg && wims_conf_load(&app.conf, cfg, err, sizeof(err))) {
		fprintf(stderr, "wimsd: %s\n", err);
		return 1;
	}
	if (check) {
		printf("wimsd: %s: configuration ok\n", cfg ? cfg : "(defaults)");
		return 0;
	}
	wims_log_init("wimsd", strcasecmp(app.conf.log_target, "syslog") == 0,
		      (enum wims_log_level)wims_log_level_parse(app.conf.log_level));
	signal(SIGPIPE, SIG_IGN);
	app.loop = uv_default_loop();
	rc = wims_app_start(&app);
	if (rc == 0)
		rc = uv_run(app.loop, UV_RUN_DEFAULT);
	else
		wims_app_stop(&app), uv_run(app.loop, UV_RUN_DEFAULT), rc = 1;
	wims_app_free(&app);
	uv_run(app.loop, UV_RUN_NOWAIT);
	wims_log(WIMS_LOG_NOTICE, "wimsd stopped");
	return rc ? 1 : 0;
}
