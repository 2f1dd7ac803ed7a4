/* The reginfo parser (src/proxy/reginfo.c): RFC 3680 documents as Kamailio
 * and the 3GPP examples write them, prefixes, quoting, comments, entities,
 * and every kind of malformed input refused. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/reginfo.h"

static int parse(struct wims_reginfo *ri, const char *doc)
{
	const char *why = NULL;
	int rc = wims_reginfo_parse(ri, doc, strlen(doc), &why);

	if (rc)
		assert_non_null(why);
	else
		assert_null(why);
	return rc;
}

static const char *txt(struct wims_str raw)
{
	static char buf[4][256];
	static unsigned i;
	char *o = buf[i++ % 4];

	assert_int_equal(wims_reginfo_text(raw, o, 256, NULL), 0);
	return o;
}

/* What Kamailio's pua_reginfo publishes (presence_reginfo passes it on). */
static const char KAM[] =
    "<?xml version=\"1.0\"?>\n"
    "<reginfo xmlns=\"urn:ietf:params:xml:ns:reginfo\" version=\"0\" state=\"full\">\n"
    "  <registration aor=\"sip:alice@ims.lab\" id=\"0x7f1c\" state=\"active\">\n"
    "    <contact id=\"0x7f2a\" state=\"active\" event=\"registered\" expires=\"600\">\n"
    "      <uri>sip:u1@x1.invalid;transport=ws</uri>\n"
    "      <unknown-param name=\"+sip.instance\">&lt;urn:uuid:1&gt;</unknown-param>\n"
    "    </contact>\n"
    "    <contact id=\"0x7f2b\" state=\"terminated\" event=\"unregistered\">\n"
    "      <uri>sip:u2@x2.invalid;transport=ws</uri>\n"
    "    </contact>\n"
    "  </registration>\n"
    "</reginfo>\n";

static void t_kamailio(void **st)
{
	struct wims_reginfo ri;

	(void)st;
	assert_int_equal(parse(&ri, KAM), 0);
	assert_true(ri.full);
	assert_int_equal(ri.version, 0);
	assert_int_equal(ri.n_reg, 1);
	assert_string_equal(txt(ri.reg[0].aor), "sip:alice@ims.lab");
	assert_string_equal(txt(ri.reg[0].id), "0x7f1c");
	assert_int_equal(ri.reg[0].state, WIMS_REGINFO_ACTIVE);
	assert_int_equal(ri.reg[0].contact0, 0);
	assert_int_equal(ri.reg[0].n_contact, 2);
	assert_int_equal(ri.contact[0].state, WIMS_REGINFO_ACTIVE);
	assert_int_equal(ri.contact[0].event, WIMS_REGINFO_REGISTERED);
	assert_string_equal(txt(ri.contact[0].uri), "sip:u1@x1.invalid;transport=ws");
	assert_int_equal(ri.contact[1].state, WIMS_REGINFO_TERMINATED);
	assert_int_equal(ri.contact[1].event, WIMS_REGINFO_UNREGISTERED);
	assert_string_equal(wims_reginfo_event_name(ri.contact[1].event), "unregistered");
}

/* Prefixes, single quotes, comments, PIs, entities, several registrations. */
static void t_prefixed(void **st)
{
	struct wims_reginfo ri;
	static const char doc[] =
	    "\xef\xbb\xbf<?xml version='1.0' encoding='UTF-8'?><!-- a comment -->\r\n"
	    "<r:reginfo xmlns:r='urn:ietf:params:xml:ns:reginfo' xmlns:gr=\"urn:ietf:params:xml:ns:gruuinfo\"\n"
	    "   version = '7' state='partial' >"
	    "<?pi something?>"
	    "<r:registration aor='sip:a&amp;b@ims.lab' id=\"r&#49;\" state='terminated'>"
	    "<r:contact id='c1' state='terminated' event='deactivated'>"
	    "<r:uri>\n  sip:x&#x40;y.invalid;a=&quot;q&quot;&apos; \n</r:uri>"
	    "<gr:pub-gruu uri='sip:g@ims.lab;gr=1'/><r:display-name>A &lt;B&gt;</r:display-name>"
	    "</r:contact></r:registration>"
	    "<registration xmlns='urn:ietf:params:xml:ns:reginfo' aor='tel:+1555' id='r2' state='init'/>"
	    "<r:registration aor='sip:c@ims.lab' id='r3' state='active'>"
	    "<r:contact id='c2' state='active' event='shortened'><r:uri>sip:c@h</r:uri></r:contact>"
	    "<r:contact id='c3' state='terminated' event='rejected'><r:uri>sip:d@h</r:uri></r:contact>"
	    "</r:registration><!-- tail --></r:reginfo > <!-- after --> ";

	(void)st;
	assert_int_equal(parse(&ri, doc), 0);
	assert_false(ri.full);
	assert_int_equal(ri.version, 7);
	assert_int_equal(ri.n_reg, 3);
	assert_int_equal(ri.n_contact, 3);
	assert_string_equal(txt(ri.reg[0].aor), "sip:a&b@ims.lab");
	assert_string_equal(txt(ri.reg[0].id), "r1");
	assert_int_equal(ri.reg[0].state, WIMS_REGINFO_TERMINATED);
	assert_string_equal(txt(ri.contact[0].uri), "sip:x@y.invalid;a=\"q\"'");
	assert_int_equal(ri.contact[0].event, WIMS_REGINFO_DEACTIVATED);
	assert_int_equal(ri.reg[1].state, WIMS_REGINFO_INIT);
	assert_int_equal(ri.reg[1].n_contact, 0);
	assert_int_equal(ri.reg[2].contact0, 1);
	assert_int_equal(ri.reg[2].n_contact, 2);
	assert_int_equal(ri.contact[1].event, WIMS_REGINFO_SHORTENED);
	assert_int_equal(ri.contact[2].event, WIMS_REGINFO_REJECTED);
}

/* Elements of the reginfo names in another namespace are not ours. */
static void t_foreign(void **st)
{
	struct wims_reginfo ri;
	static const char doc[] = "<reginfo xmlns='urn:ietf:params:xml:ns:reginfo' version='1' state='full'>"
				  "<x:registration xmlns:x='urn:other' aor='a' id='b' state='bogus'>"
				  "<contact id='1'/></x:registration></reginfo>";

	(void)st;
	assert_int_equal(parse(&ri, doc), 0);
	assert_int_equal(ri.n_reg, 0);
}

static void t_text(void **st)
{
	char out[8];
	size_t l;

	(void)st;
	assert_int_equal(wims_reginfo_text(wims_str_c("a&#233;"), out, sizeof(out), &l), 0);
	assert_int_equal(l, 3);
	assert_string_equal(out, "a\xc3\xa9");
	assert_int_equal(wims_reginfo_text(wims_str_c("&#x1F600;"), out, sizeof(out), &l), 0);
	assert_int_equal(l, 4);
	assert_int_equal(wims_reginfo_text(wims_str_c("12345678"), out, sizeof(out), &l), -ENOSPC);
	assert_int_equal(wims_reginfo_text(wims_str_c("&nbsp;"), out, sizeof(out), &l), -EBADMSG);
}

#define HEAD "<reginfo xmlns='urn:ietf:params:xml:ns:reginfo' version='1' state='full'>"
#define REG "<registration aor='sip:a@b' id='1' state='active'>"
#define CT "<contact id='1' state='active' event='created'>"

static void t_malformed(void **st)
{
	static const char *const bad[] = {
	    "",
	    "   ",
	    "<reginfo version='1' state='full'/>",             /* no namespace */
	    "<other xmlns='urn:ietf:params:xml:ns:reginfo'/>", /* wrong root */
	    HEAD,                                              /* unclosed */
	    HEAD "</reginfox>",
	    HEAD "</reginfo><reginfo/>",
	    HEAD "</reginfo>junk",
	    "junk" HEAD "</reginfo>",
	    "<reginfo xmlns='urn:ietf:params:xml:ns:reginfo' version='1'/>",
	    "<reginfo xmlns='urn:ietf:params:xml:ns:reginfo' version='x' state='full'/>",
	    "<reginfo xmlns='urn:ietf:params:xml:ns:reginfo' version='1' state='half'/>",
	    "<reginfo xmlns='urn:ietf:params:xml:ns:reginfo' version='1' version='1' state='full'/>",
	    "<reginfo xmlns='urn:ietf:params:xml:ns:reginfo' version=1 state='full'/>",
	    "<reginfo xmlns='urn:ietf:params:xml:ns:reginfo' version='1'state='full'/>",
	    "<reginfo xmlns='urn:ietf:params:xml:ns:reginfo' version='1' state='full",
	    "<reginfo xmlns='urn:ietf:params:xml:ns:reginfo' version='1' state=\"full'/>",
	    "<p:reginfo xmlns:q='urn:ietf:params:xml:ns:reginfo' version='1' state='full'/>",
	    "<!DOCTYPE reginfo [<!ENTITY x 'y'>]>" HEAD "</reginfo>",
	    HEAD "<![CDATA[x]]></reginfo>",
	    HEAD "<!-- a -- b --></reginfo>",
	    HEAD "<!-- open</reginfo>",
	    HEAD "<?xml version='1.0'?></reginfo>",
	    HEAD "&bogus;</reginfo>",
	    HEAD "&amp</reginfo>",
	    HEAD "&#0;</reginfo>",
	    HEAD "&#xD800;</reginfo>",
	    HEAD "&#99999999;</reginfo>",
	    HEAD "\x01</reginfo>",
	    HEAD "<registration aor='a' id='1'/></reginfo>",
	    HEAD "<registration aor='a' id='1' state='gone'/></reginfo>",
	    HEAD REG "<contact id='1' state='active'><uri>x</uri></contact></registration></reginfo>",
	    HEAD REG "<contact id='1' state='init' event='created'><uri>x</uri></contact></registration></reginfo>",
	    HEAD REG "<contact id='1' state='active' event='moved'><uri>x</uri></contact></registration></reginfo>",
	    HEAD REG CT "</contact></registration></reginfo>",
	    HEAD REG CT "<uri>x</uri><uri>y</uri></contact></registration></reginfo>",
	    HEAD REG CT "<uri>x<b/></uri></contact></registration></reginfo>",
	    HEAD REG CT "<uri>x<!-- c --></uri></contact></registration></reginfo>",
	    HEAD REG CT "<uri>a<b</uri></contact></registration></reginfo>",
	    HEAD REG CT "<uri>x</uri></registration></contact></reginfo>",
	    HEAD "<registration aor='a<b' id='1' state='active'/></reginfo>",
	    HEAD "<x:y/></reginfo>",
	    HEAD "<a b:c='1'/></reginfo>",
	    HEAD "<:a/></reginfo>",
	    HEAD "<a:/></reginfo>",
	    HEAD "<a xmlns:p=''/></reginfo>",
	    HEAD "<1a/></reginfo>",
	    HEAD "< a/></reginfo>",
	};

	(void)st;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct wims_reginfo ri;
		int rc = parse(&ri, bad[i]);
		if (rc != -EBADMSG) {
			print_error("accepted (%d): %s\n", rc, bad[i]);
			fail();
		}
	}
}

static void t_limits(void **st)
{
	static char doc[80000];
	struct wims_reginfo ri;
	size_t n;

	(void)st;
	/* nesting */
	n = (size_t)snprintf(doc, sizeof(doc), "%s", HEAD);
	for (int i = 0; i < WIMS_REGINFO_MAX_DEPTH; i++)
		n += (size_t)snprintf(doc + n, sizeof(doc) - n, "<a>");
	assert_int_equal(wims_reginfo_parse(&ri, doc, n, NULL), -E2BIG);
	/* registrations: MAX accepted, one more refused */
	n = (size_t)snprintf(doc, sizeof(doc), "%s", HEAD);
	for (int i = 0; i < WIMS_REGINFO_MAX_REG; i++)
		n += (size_t)snprintf(doc + n, sizeof(doc) - n, "<registration aor='a' id='%d' state='init'/>", i);
	assert_int_equal(wims_reginfo_parse(&ri, doc, n + (size_t)snprintf(doc + n, sizeof(doc) - n, "</reginfo>"),
					    NULL),
			 0);
	assert_int_equal(ri.n_reg, WIMS_REGINFO_MAX_REG);
	n += (size_t)snprintf(doc + n, sizeof(doc) - n, "<registration aor='a' id='x' state='init'/></reginfo>");
	assert_int_equal(wims_reginfo_parse(&ri, doc, n, NULL), -E2BIG);
	/* contacts */
	n = (size_t)snprintf(doc, sizeof(doc), "%s%s", HEAD, REG);
	for (int i = 0; i <= WIMS_REGINFO_MAX_CONTACT; i++)
		n += (size_t)snprintf(doc + n, sizeof(doc) - n, "%s<uri>u</uri></contact>", CT);
	n += (size_t)snprintf(doc + n, sizeof(doc) - n, "</registration></reginfo>");
	assert_int_equal(wims_reginfo_parse(&ri, doc, n, NULL), -E2BIG);
	/* attributes */
	n = (size_t)snprintf(doc, sizeof(doc), "%s<a", HEAD);
	for (int i = 0; i <= WIMS_REGINFO_MAX_ATTRS; i++)
		n += (size_t)snprintf(doc + n, sizeof(doc) - n, " a%d='1'", i);
	n += (size_t)snprintf(doc + n, sizeof(doc) - n, "/></reginfo>");
	assert_int_equal(wims_reginfo_parse(&ri, doc, n, NULL), -E2BIG);
	/* size */
	memset(doc, ' ', sizeof(doc));
	assert_int_equal(wims_reginfo_parse(&ri, doc, WIMS_REGINFO_MAX_DOC + 1, NULL), -E2BIG);
}

/* Every prefix of a valid document is refused, and nothing reads past it. */
static void t_truncated(void **st)
{
	struct wims_reginfo ri;
	size_t len = strlen(KAM);

	(void)st;
	for (size_t n = 0; n + 2 < len; n++) {
		char *c = test_malloc(n ? n : 1);
		memcpy(c, KAM, n);
		assert_int_equal(wims_reginfo_parse(&ri, c, n, NULL), -EBADMSG);
		test_free(c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_kamailio),  cmocka_unit_test(t_prefixed), cmocka_unit_test(t_foreign),
	    cmocka_unit_test(t_text),      cmocka_unit_test(t_malformed), cmocka_unit_test(t_limits),
	    cmocka_unit_test(t_truncated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
