/* wimsd: configuration, roles, threads, signals. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/conf.h"
#include "base/log.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: wimsd [-c FILE] [-t] [--help] [--version]\n"
		   "  -c, --config FILE  configuration file (INI; see docs/configuration.md)\n"
		   "  -t, --check        check the configuration and exit\n"
		   "  -h, --help         this text\n"
		   "  -V, --version      print the version\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'}, {"check", no_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},         {"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *cfg = NULL;
	struct wims_conf conf;
	char err[512];
	int c, check = 0;

	while ((c = getopt_long(argc, argv, "c:thV", opts, NULL)) != -1) {
		switch (c) {
		case 'c': cfg = optarg; break;
		case 't': check = 1; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("wimsd %s\n", WIMS_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	wims_conf_defaults(&conf);
	if (cfg && wims_conf_load(&conf, cfg, err, sizeof(err))) {
		fprintf(stderr, "wimsd: %s\n", err);
		return 1;
	}
	if (check)
		return 0;
	wims_log_init("wimsd", false, WIMS_LOG_INFO);
	wims_log(WIMS_LOG_NOTICE, "wimsd %s starting", WIMS_VERSION);
	return 0;
}
