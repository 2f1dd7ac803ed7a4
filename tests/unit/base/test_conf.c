/* Configuration: defaults, every key documented, errors naming file, line and key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/conf.h"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_defaults(void **state)
{
	struct wims_conf c;

	wims_conf_defaults(&c);
	assert_int_equal(c.role, WIMS_ROLE_IWU);
	assert_string_equal(c.ws_listen, "127.0.0.1:8080");
	assert_int_equal(c.sip_udp_mtu, 1300);
	assert_int_equal(c.sip_t1_ms, 500);
	assert_string_equal(c.log_target, "stderr");
}

/* Every key of the table has a row in docs/configuration.md with its default. */
static void test_every_key_documented(void **state)
{
	const char *data = getenv("WIMS_TEST_DATA");
	char path[512], row[256];
	const char *sec, *key, *def, *doc;
	char *md;

	assert_non_null(data);
	snprintf(path, sizeof(path), "%s/../../docs/configuration.md", data);
	md = slurp(path);
	assert_non_null(md);
	for (size_t i = 0; wims_conf_key(i, &sec, &key, &def, &doc); i++) {
		char head[64];
		snprintf(head, sizeof(head), "## [%s]", sec);
		const char *s = strstr(md, head);
		if (!s)
			fail_msg("section [%s] not documented", sec);
		const char *next = strstr(s + 1, "\n## ");
		snprintf(row, sizeof(row), "| `%s` | `%s` |", key, def[0] ? def : "(empty)");
		const char *r = strstr(s, row);
		if (!r || (next && r > next))
			fail_msg("key %s.%s (default '%s') not documented in its section", sec, key, def);
	}
	free(md);
}

static void test_load_ok(void **state)
{
	char tmpl[] = "/tmp/wims-conf-XXXXXX", err[512];
	int fd = mkstemp(tmpl);
	struct wims_conf c;

	assert_true(fd >= 0);
	close(fd);
	write_file(tmpl, "; comment\n[general]\nrole = iwu\nlog_level = debug\n[ws]\nlisten = [::1]:8080\n"
			 "max_per_ip = 5\n[iwu]\npcscf = sip:10.0.0.1;transport=tcp\n");
	wims_conf_defaults(&c);
	assert_int_equal(wims_conf_load(&c, tmpl, err, sizeof(err)), 0);
	assert_string_equal(c.log_level, "debug");
	assert_string_equal(c.ws_listen, "[::1]:8080");
	assert_int_equal(c.ws_max_per_ip, 5);
	assert_string_equal(c.iwu_pcscf, "sip:10.0.0.1;transport=tcp");
	unlink(tmpl);
}

static void expect_error(const char *text, const char *want)
{
	char tmpl[] = "/tmp/wims-conf-XXXXXX", err[512];
	int fd = mkstemp(tmpl);
	struct wims_conf c;

	assert_true(fd >= 0);
	close(fd);
	write_file(tmpl, text);
	wims_conf_defaults(&c);
	assert_int_not_equal(wims_conf_load(&c, tmpl, err, sizeof(err)), 0);
	if (!strstr(err, want) || !strstr(err, tmpl))
		fail_msg("error '%s' lacks '%s' or the file name", err, want);
	unlink(tmpl);
}

/* The P-CSCF role's section: defaults, and a file that selects the role. */
static void test_pcscf_keys(void **state)
{
	char tmpl[] = "/tmp/wims-conf-XXXXXX", err[512];
	int fd = mkstemp(tmpl);
	struct wims_conf c;

	wims_conf_defaults(&c);
	assert_string_equal(c.pcscf_scscf, "sip:127.0.0.1:5080;transport=udp");
	assert_string_equal(c.pcscf_visited_network_id, "");
	assert_string_equal(c.pcscf_icid_prefix, "wims");
	assert_true(fd >= 0);
	close(fd);
	write_file(tmpl, "[general]\nrole = pcscf\n[pcscf]\nscscf = sip:10.0.0.2:5060;transport=tcp\n"
			 "visited_network_id = \"Visited Net\"\nicid_prefix = ab1\nflow_secret = s3\n");
	assert_int_equal(wims_conf_load(&c, tmpl, err, sizeof(err)), 0);
	assert_int_equal(c.role, WIMS_ROLE_PCSCF);
	assert_string_equal(c.pcscf_scscf, "sip:10.0.0.2:5060;transport=tcp");
	assert_string_equal(c.pcscf_icid_prefix, "ab1");
	assert_string_equal(c.pcscf_flow_secret, "s3");
	unlink(tmpl);
	expect_error("[pcscf]\nicid_prefix = 0123456789012345678901234567890123\n", "key 'icid_prefix' in [pcscf]");
}

static void test_load_errors(void **state)
{
	expect_error("[ws]\nlisten = 1.2.3\n", ":2: key 'listen' in [ws]");
	expect_error("[general]\n\nrole = sbc\n", ":3: key 'role' in [general]: 'sbc' is not iwu or pcscf");
	expect_error("[sip]\nt1_ms = 5\n", ":2: key 't1_ms' in [sip]: '5' is not a number in 10..10000");
	expect_error("[sip]\nnope = 1\n", ":2: key 'nope' in [sip]: unknown key");
	expect_error("[ws]\nmax_message = -1\n", "key 'max_message'");
	expect_error("[ws\nlisten = 1\n", ":1: syntax error");
	/* the first bad line is the one reported */
	expect_error("[general]\nlog_level = loud\nlog_target = disk\n", ":2: key 'log_level'");
	/* the transcoding preference: known names, each once, both sides present */
	expect_error("[media]\ncodec_prefer = opus, g729, amr\n", ":2: key 'codec_prefer' in [media]: 'g729'");
	expect_error("[media]\ncodec_prefer = opus, pcmu\n", ":2: key 'codec_prefer' in [media]");
	expect_error("[media]\ncodec_prefer = opus, amr, opus\n", ":2: key 'codec_prefer' in [media]");
}

static void test_missing_file(void **state)
{
	struct wims_conf c;
	char err[256];

	wims_conf_defaults(&c);
	assert_int_not_equal(wims_conf_load(&c, "/nonexistent/wimsd.ini", err, sizeof(err)), 0);
	assert_non_null(strstr(err, "/nonexistent/wimsd.ini: cannot open"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_key_documented),
		cmocka_unit_test(test_load_ok),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_pcscf_keys),
		cmocka_unit_test(test_missing_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
