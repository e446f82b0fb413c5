/* The rule engine: loading (errors name file and line; duplicate names, replace, disable,
 * definitions, examples), order (an operator's rules first), bounded
 * matching (a limit hit is no match and flagged; times are printed, not checked), and
 * rules_extract on free-form bounces written for the test, through the real MIME layer. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/test.h"
#include "limits.h"
#include "mime.h"
#include "report.h"
#include "rules.h"
#include "rules_int.h"
#include "strbuf.h"

struct load_case {
	const char *text;
	const char *error;	/* NULL: loads */
	size_t nrules;
};

static const struct load_case loads[] = {
	{ "# only a comment\n\n", NULL, 0 },
	{ "r1 reason diag mailbox_full quota\n", NULL, 1 },
	{ "r1 reason diag mailbox_full\n  quota|\n  over\\ quota\n# between\nr2 family from x mx\n", NULL, 2 },
	{ "r1 reason diag mailbox_full (quota\n", "t.rules:1: missing closing parenthesis at column 35", 0 },
	/* A pattern error is reported at the physical line and column where it is, the pattern
	 * spread over continuation lines (joined without their leading white space). */
	{ "ok reason diag mailbox_full a\n\nbad reason diag user_unknown\n  x[\n", "t.rules:4: missing terminating ] for character class at column 5", 0 },
	{ "r1 reason diag mailbox_full\n  ab\n\tc)d\n  ef\n", "t.rules:3: unmatched closing parenthesis at column 3", 0 },
	{ "r1 reason diag mailbox_full a\n  b\n# note\n\n   (c\n   d\n", "t.rules:6: missing closing parenthesis at column 5", 0 },
	{ "r1 reason diag mailbox_full a[\n  b\n", "t.rules:2: missing terminating ] for character class at column 4", 0 },
	{ "r1 reason diag mailbox_full a\r\n  b\\\r\n", "t.rules:2: \\ at end of pattern at column 5", 0 },
	{ "r1 reason diag mailbox_full (?<n>a)\n  (?<n>b)\n", "t.rules:2: two named subpatterns have the same name (PCRE2_DUPNAMES not set) at column 8", 0 },
	{ "r1 reason diag no_such_reason x\n", "t.rules:1: unknown reason 'no_such_reason'", 0 },
	{ "r1 frobnicate diag - x\n", "t.rules:1: unknown rule type 'frobnicate' (types: family, sender, cut, "
	  "forward, recipient, delayed, reason)", 0 },
	{ "r1 reason diag\n", "t.rules:1: expected NAME TYPE WHERE VALUE PATTERN", 0 },
	{ "  continued\n", "t.rules:1: continuation line without a rule", 0 },
	{ "r1 recipient text * (?<diag>\\S+@\\S+)\n", "t.rules:1: recipient rule 'r1' needs a (?<addr>...) group", 0 },
	{ "r1 reason text policy spf\n", "t.rules:1: a reason rule cannot read 'text'", 0 },
	{ "r1 cut subject - x\n", "t.rules:1: a cut rule cannot read 'subject'", 0 },
	{ "r1 reason diag user_unknown/maybe x\n", "t.rules:1: unknown reason 'user_unknown/maybe'", 0 },
	{ "r1 reason diag user_unknown/rcpt x\n", NULL, 1 },
	/* a rule name is defined once, unless a later statement replaces or disables it */
	{ "r1 reason diag policy a\nr2 reason diag policy b\n\nr1 reason diag spam_detected c\n",
	  "t.rules:4: rule 'r1' is already defined at t.rules:1 (write 'replace r1 ...' to replace "
	  "it, or 'disable r1')", 0 },
	{ "r1 reason diag policy a\nreplace r1 reason diag spam_detected c\n", NULL, 1 },
	{ "r1 reason diag policy a\nr2 reason diag policy b\ndisable r1\n", NULL, 1 },
	{ "replace r9 reason diag spam_detected c\n",
	  "t.rules:1: replace: no rule 'r9' is defined before this line", 0 },
	{ "disable r9\n", "t.rules:1: disable: no rule 'r9' is defined before this line", 0 },
	{ "r1 reason diag policy a\ndisable r1\nr1 reason diag policy b\n",
	  "t.rules:3: rule 'r1' was disabled at t.rules:2", 0 },
	{ "r1 reason diag policy a\ndisable r1\nreplace r1 reason diag policy b\n",
	  "t.rules:3: rule 'r1' was disabled at t.rules:2", 0 },
	{ "r1 reason diag policy a\ndisable r1 now\n", "t.rules:2: expected 'disable NAME'", 0 },
	{ "replace r1 reason diag\n", "t.rules:1: expected 'replace NAME TYPE WHERE VALUE PATTERN'", 0 },
	/* an unknown field (WHERE) or named group is a typo that would never match */
	{ "r1 family subjet x ^x\n", "t.rules:1: unknown field 'subjet' (fields: text, diag, headers, "
	  "or a header field: From, Sender, Reply-To, To, Cc, Subject, Date, Message-ID, In-Reply-To, "
	  "References, Received, Return-Path, Content-Type, MIME-Version, User-Agent, Auto-Submitted, "
	  "Precedence, List-Id, List-Unsubscribe, Delivered-To, Organization, Envelope-To, or any X- "
	  "field)", 0 },
	{ "r1 family X-Mailer x ^x\nr2 family SUBJECT x ^y\n", NULL, 2 },
	{ "r1 recipient text * (?<addr>\\S+@\\S+)\\s(?<diagnostic>.*)\n", "t.rules:1: unknown group "
	  "(?<diagnostic>...) (groups: (?<addr>...), (?<code>...), (?<status>...), (?<diag>...), "
	  "(?<action>...))", 0 },
	/* definitions: %{NAME} is the pattern defined before; each is written out where used */
	{ "define ac [^\\s<>@]\ndefine addr %{ac}{1,64}@%{ac}{1,255}\nr1 recipient text * <(?<addr>%{addr})>\n",
	  NULL, 1 },
	{ "r1 reason diag policy %{nope}\n", "t.rules:1: unknown definition '%{nope}' (defined before "
	  "this line: none; write '%\\{' for a literal '%{')", 0 },
	{ "define a x\nr1 reason diag policy\n  y|%{b}\ndefine b z\n", "t.rules:3: unknown definition "
	  "'%{b}' (defined before this line: a; write '%\\{' for a literal '%{')", 0 },
	{ "define a x\ndefine a y\n", "t.rules:2: 'a' is already defined at t.rules:1", 0 },
	{ "define a.b x\n", "t.rules:1: a definition's name is letters, digits, '-' and '_': 'a.b'", 0 },
	{ "r1 reason diag policy 100%\\{x\n", NULL, 1 },
	/* examples: under a rule, not before any rule nor under a definition */
	{ "# test: quota\nr1 reason diag policy quota\n",
	  "t.rules:1: an example (# test:) with no rule above it", 0 },
	{ "define a x\n# test-not: y\n", "t.rules:2: an example belongs to a rule, not to 'define'", 0 },
	{ "r1 reason diag policy quota\n#test:\n", "t.rules:2: an empty example", 0 },
	{ "r1 reason diag policy quota\n# test: over quota\n#   test-not: spf\n# tests: x\n", NULL, 1 },
};

static char *
write_temp(const char *dir, const char *name, const char *text)
{
	struct strbuf p = STRBUF_INIT;
	strbuf_printf(&p, "%s/%s", dir, name);
	FILE *f = fopen(p.s, "w");
	if (f == NULL)
		abort();
	fputs(text, f);
	fclose(f);
	return strbuf_detach(&p);
}

static void
test_load(void)
{
	for (size_t i = 0; i < sizeof loads / sizeof loads[0]; i++) {
		char *err = NULL;
		struct rules *r = rules_load_text("t.rules", loads[i].text, strlen(loads[i].text), &err);
		CHECK_STR(loads[i].text, err, loads[i].error);
		CHECK_INT(loads[i].text, r != NULL, loads[i].error == NULL);
		if (r != NULL)
			CHECK_INT(loads[i].text, r->n, loads[i].nrules);
		rules_free(r);
		free(err);
	}
	rules_free(NULL);

	/* Examples are kept with their rule, unescaped. */
	const char *ex = "r1 reason diag policy a\n  |b\n# test: a\\nb\\\\c\n# comment\n# test-not: z\n"
	    "r2 reason diag policy c\n";
	char *err = NULL;
	struct rules *r = rules_load_text("t.rules", ex, strlen(ex), &err);
	CHECK_INT("examples: loads", r != NULL && r->n == 2, 1);
	CHECK_INT("examples: r1 has 2", r != NULL ? r->v[0].ntests : 0, 2);
	if (r != NULL && r->v[0].ntests == 2) {
		CHECK_STR("examples: text", r->v[0].tests[0].text, "a\nb\\c");
		CHECK_INT("examples: line", r->v[0].tests[0].line, 3);
		CHECK_INT("examples: want", r->v[0].tests[0].want, 1);
		CHECK_STR("examples: not", r->v[0].tests[1].text, "z");
		CHECK_INT("examples: not want", r->v[0].tests[1].want, 0);
		CHECK_INT("examples: r2 has none", r->v[1].ntests, 0);
	}
	rules_free(r);

	/* From files: the shipped rules (a directory, or the built-in copies), then the local file
	 * or directory, whose rules are tried first; replace keeps the place of what it replaces. */
	char dir[] = "/tmp/test-rules-XXXXXX";
	if (mkdtemp(dir) == NULL)
		abort();
	char *shipped = write_temp(dir, "a.rules", "ship-quota reason diag mailbox_full quota\n"
	    "ship-foo reason diag policy foo\nship-bar reason diag spam_detected foo|bar\n");
	char *bad = write_temp(dir, "c.rules", "\n\nbad reason diag policy (?<x\n");
	struct strbuf ldir = STRBUF_INIT;
	strbuf_printf(&ldir, "%s/local.d", dir);
	if (mkdir(ldir.s, 0700) != 0)
		abort();
	char *local = write_temp(ldir.s, "b.rules", "# local\nlocal-quota reason diag rate_limited sending\\ quota\n");
	char *dup = write_temp(ldir.s, "dup.txt", "\nship-quota reason diag rate_limited quota\n");
	char *repl = write_temp(ldir.s, "repl.txt", "replace ship-bar reason diag rate_limited foo|bar\n"
	    "disable ship-quota\n");
	char *builtin_dup = write_temp(ldir.s, "bdup.txt", "en-spam reason diag policy spam\n");
	char *builtin_repl = write_temp(ldir.s, "brepl.txt", "replace en-spam reason diag policy spam\n");
	CHECK_INT("bad file fails", (r = rules_load(dir, NULL, &err)) == NULL, 1);
	struct strbuf want = STRBUF_INIT;
	strbuf_printf(&want, "%s:3: syntax error in subpattern name (missing terminator?) at column 28", bad);
	CHECK_STR("bad file error", err, want.s);
	free(err);
	err = NULL;
	unlink(bad);

	const struct order_case {
		const char *what;
		const char *local;
		const char *text;
		const char *reason, *rule;	/* NULL: no reason rule matches */
		const char *rule_file;		/* the file the deciding rule comes from */
	} orders[] = {
		{ "local first", local, "550 daily sending quota exceeded", "rate_limited", "local-quota", local },
		{ "shipped still there", local, "552 quota exceeded", "mailbox_full", "ship-quota", shipped },
		{ "replace keeps the place", repl, "foo", "policy", "ship-foo", shipped },
		{ "replaced", repl, "bar", "rate_limited", "ship-bar", repl },
		{ "disabled", repl, "quota", NULL, NULL, NULL },
		{ "no local", NULL, "bar", "spam_detected", "ship-bar", shipped },
	};
	for (size_t i = 0; i < sizeof orders / sizeof orders[0]; i++) {
		const struct order_case *c = &orders[i];
		r = rules_load(dir, c->local, &err);
		CHECK_STR(c->what, err, NULL);
		const struct rule *ru = r != NULL ? rules_reason_rule(r, NULL, c->text, strlen(c->text),
		    NULL, NULL, NULL) : NULL;
		CHECK_STR(c->what, ru != NULL ? bounce_reason_name(ru->reason) : NULL, c->reason);
		CHECK_STR(c->what, ru != NULL ? ru->name : NULL, c->rule);
		CHECK_STR(c->what, ru != NULL ? ru->file : NULL, c->rule_file);
		rules_free(r);
	}
	/* rules_reason: the same, by name */
	r = rules_load(dir, local, &err);
	enum bounce_reason reason = REASON_UNKNOWN;
	const char *rule = NULL;
	bool limit = false;
	CHECK_INT("rules_reason", rules_reason(r, NULL, "sending quota", 13, &reason, &rule, &limit), 1);
	CHECK_STR("rules_reason: rule", rule, "local-quota");
	CHECK_INT("rules_reason: no limit", limit, 0);
	rules_free(r);

	/* A path that cannot be read is named without a line. A rules directory ([rules] dir)
	 * must be a directory that holds *.rules files. A name defined twice names both places. */
	char *empty = xstrdup(dir);
	empty = xrealloc(empty, strlen(dir) + sizeof "/empty.d");
	strcat(empty, "/empty.d");
	if (mkdir(empty, 0700) != 0)
		abort();
	char *other = write_temp(dir, "notes.txt", "r1 reason diag policy spf\n");
	const struct rules *b = rules_builtin();
	size_t nb = b->n;
	struct strbuf dup_err = STRBUF_INIT, bdup_err = STRBUF_INIT;
	strbuf_printf(&dup_err, "%s:2: rule 'ship-quota' is already defined at %s:1 (write 'replace "
	    "ship-quota ...' to replace it, or 'disable ship-quota')", dup, shipped);
	const struct rule *en_spam = NULL;
	for (size_t i = 0; i < b->n; i++)
		if (strcmp(b->v[i].name, "en-spam") == 0)
			en_spam = &b->v[i];
	strbuf_printf(&bdup_err, "%s:1: rule 'en-spam' is already defined at %s (write 'replace "
	    "en-spam ...' to replace it, or 'disable en-spam')", builtin_dup,
	    en_spam != NULL ? en_spam->origin : "?");
	const struct path_case {
		const char *what;
		const char *dir;	/* NULL: the built-in copies */
		const char *local;
		const char *error;	/* NULL: loads */
		size_t nrules;
	} pcases[] = {
		{ "builtin", NULL, NULL, NULL, nb },
		{ "builtin and local", NULL, local, NULL, nb + 1 },
		{ "builtin and a local replace", NULL, builtin_repl, NULL, nb },
		{ "builtin and a local duplicate", NULL, builtin_dup, bdup_err.s, 0 },
		{ "missing file", NULL, "/nonexistent/x.rules", "/nonexistent/x.rules: cannot open: No "
		    "such file or directory", 0 },
		{ "empty dir as local", NULL, empty, "@: no *.rules file in this directory (expected a "
		    "directory of rule files named *.rules)", 0 },
		{ "dir", dir, NULL, NULL, 3 },
		{ "dir and local", dir, local, NULL, 4 },
		{ "dir and local dir", dir, ldir.s, NULL, 4 },
		{ "dir and a local duplicate", dir, dup, dup_err.s, 0 },
		{ "dir and a local replace, disable", dir, repl, NULL, 2 },
		{ "dir missing", "/nonexistent/rules.d", NULL, "/nonexistent/rules.d: cannot open: No such "
		    "file or directory (expected a directory of rule files named *.rules)", 0 },
		{ "dir is a file", local, NULL, "#: not a directory (expected a directory of rule files "
		    "named *.rules)", 0 },
		{ "dir is empty", empty, NULL, "@: no *.rules file in this directory (expected a "
		    "directory of rule files named *.rules)", 0 },
		{ "local missing", dir, "/nonexistent/l.rules", "/nonexistent/l.rules: cannot open: No "
		    "such file or directory", 0 },
	};
	for (size_t i = 0; i < sizeof pcases / sizeof pcases[0]; i++) {
		const struct path_case *c = &pcases[i];
		err = NULL;
		r = rules_load(c->dir, c->local, &err);
		struct strbuf w = STRBUF_INIT;
		/* '@' stands for the empty directory, '#' for the local file */
		if (c->error != NULL && (c->error[0] == '@' || c->error[0] == '#'))
			strbuf_printf(&w, "%s%s", c->error[0] == '@' ? empty : local, c->error + 1);
		else if (c->error != NULL)
			strbuf_puts(&w, c->error);
		CHECK_STR(c->what, err, w.s);
		CHECK_INT(c->what, r != NULL ? r->n : 0, c->nrules);
		strbuf_free(&w);
		rules_free(r);
		free(err);
	}
	strbuf_free(&dup_err);
	strbuf_free(&bdup_err);
	unlink(other);
	rmdir(empty);
	free(other);
	free(empty);
	char *files[] = { local, dup, repl, builtin_dup, builtin_repl, shipped };
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		unlink(files[i]);
		free(files[i]);
	}
	rmdir(ldir.s);
	rmdir(dir);
	strbuf_free(&ldir);
	free(bad);
	strbuf_free(&want);

	/* The shipped rules compile, and the built-in set is compiled once. */
	CHECK_INT("builtin loads", b != NULL && b->n > 50, 1);
	CHECK_INT("builtin once", rules_builtin() == b, 1);
}

static double
now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A catastrophic pattern on hostile input stops at the match limit: no match, flagged, fast. */
static void
test_limit(void)
{
	const char *text = "r1 reason diag policy ^(\\w+\\s?)*$\n";
	char *err = NULL;
	struct rules *r = rules_load_text("limit.rules", text, strlen(text), &err);
	CHECK_STR("limit rules", err, NULL);
	struct strbuf in = STRBUF_INIT;
	for (int i = 0; i < 200; i++)
		strbuf_puts(&in, "aaaa ");
	strbuf_puts(&in, "!");
	enum bounce_reason reason = REASON_UNKNOWN;
	const char *rule = NULL;
	bool limit = false;
	double t0 = now();
	bool hit = rules_reason(r, NULL, in.s, in.len, &reason, &rule, &limit);
	double dt = now() - t0;
	CHECK_INT("limit: no match", hit, 0);
	CHECK_INT("limit: flagged", limit, 1);
	printf("# limit hit after %.3f s (a figure, not a check: the limit bounds the work)\n", dt);

	/* ...and through rules_extract the report carries BOUNCE_F_REGEX_LIMIT. */
	/* the subject marks it as a report too: From alone would not let the last resort run */
	const char *rtext = "s sender from - mailer-daemon\ns2 sender subject - ^failure\n"
	    "slow recipient text * ^(\\w+\\s?)*$(?<addr>\\S*)\n";
	struct rules *r2 = rules_load_text("limit2.rules", rtext, strlen(rtext), &err);
	CHECK_STR("limit2 rules", err, NULL);
	struct strbuf msg = STRBUF_INIT;
	strbuf_puts(&msg, "From: MAILER-DAEMON@example.org\nSubject: failure\n\n");
	strbuf_append(&msg, in.s, in.len);
	strbuf_puts(&msg, "\n");
	struct mime_message *m = mime_parse(msg.s, msg.len);
	struct bounce_report *rep = bounce_report_new();
	t0 = now();
	CHECK_INT("limit2: nothing found", rules_extract(r2, NULL, m, rep), 0);
	printf("# limit2: %.3f s\n", now() - t0);
	CHECK_INT("limit2: flag", (rep->flags & BOUNCE_F_REGEX_LIMIT) != 0, 1);
	bounce_report_free(rep);
	mime_message_free(m);
	rules_free(r);
	rules_free(r2);
	strbuf_free(&in);
	strbuf_free(&msg);
}

/* Hostile reports: many recipients, an overlong line, piles of '@' and '<': bounded results
 * (the time taken is printed as a figure). */
static void
test_hostile(void)
{
	struct strbuf msg = STRBUF_INIT;
	const char *h = "From: MAILER-DAEMON@x.example\nTo: s@example.org\nSubject: failure notice\n\n";
	strbuf_puts(&msg, h);
	for (int i = 0; i < 20000; i++)
		strbuf_printf(&msg, "<u%d@b.example>:\n550 unknown user\n\n", i);
	struct mime_message *m = mime_parse(msg.s, msg.len);
	struct bounce_report *r = bounce_report_new();
	double t0 = now();
	size_t n = rules_extract(NULL, NULL, m, r);
	double dt = now() - t0;
	CHECK_INT("many: capped", n, LIMIT_RECIPIENTS);
	printf("# many recipients: %.3f s\n", dt);
	bounce_report_free(r);
	mime_message_free(m);

	strbuf_reset(&msg);
	strbuf_puts(&msg, h);
	for (int i = 0; i < 30000; i++)
		strbuf_puts(&msg, "a@");
	strbuf_puts(&msg, "\n");
	for (int i = 0; i < 30000; i++)
		strbuf_puts(&msg, "<");
	strbuf_puts(&msg, "x@y.example:\n");
	m = mime_parse(msg.s, msg.len);
	r = bounce_report_new();
	t0 = now();
	rules_extract(NULL, NULL, m, r);
	dt = now() - t0;
	printf("# piles: %.3f s\n", dt);
	CHECK_INT("piles: bounded", r->nrcpts <= LIMIT_RECIPIENTS, 1);
	bounce_report_free(r);
	mime_message_free(m);
	strbuf_free(&msg);
}

struct want_rcpt {
	const char *address, *action, *status, *smtp_code, *diag_prefix;
};

struct extract_case {
	const char *name;
	const char *msg;
	const char *family;	/* NULL: none recognised */
	size_t n;
	struct want_rcpt r[3];
};

static const struct extract_case extracts[] = {
	{ "qmail",
	  "From: MAILER-DAEMON@mx.example.net\nTo: sender@example.org\nSubject: failure notice\n\n"
	  "Hi. This is the qmail-send program at mx.example.net.\n"
	  "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
	  "This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
	  "<joe@Example.COM>:\n192.0.2.9 does not like recipient.\n"
	  "Remote host said: 550 5.1.1 <joe@example.com>: No such user\nGiving up on 192.0.2.9.\n\n"
	  "--- Below this line is a copy of the message.\n\n"
	  "Return-Path: <sender@example.org>\nTo: other@example.com\nFrom: sender@example.org\n\nhello <third@example.com>:\n",
	  "qmail", 1,
	  { { "joe@example.com", "failed", "5.1.1", "550", "192.0.2.9 does not like recipient." } } },
	{ "exim, two recipients",
	  "From: Mail Delivery System <Mailer-Daemon@mx.example.net>\nTo: sender@example.org\n"
	  "Subject: Mail delivery failed: returning message to sender\n\n"
	  "This message was created automatically by mail delivery software.\n\n"
	  "A message that you sent could not be delivered to one or more of its\n"
	  "recipients. This is a permanent error. The following address(es) failed:\n\n"
	  "  ann@example.com\n    host mx.example.com [192.0.2.1]\n"
	  "    SMTP error from remote mail server after RCPT TO:<ann@example.com>:\n"
	  "    552 5.2.2 Mailbox full\n"
	  "  bob@example.com\n    Unrouteable address\n\n"
	  "------ This is a copy of the message, including all the headers. ------\n\n"
	  "To: ann@example.com, bob@example.com, carl@example.com\n\nhi\n",
	  "exim", 2,
	  { { "ann@example.com", "failed", "5.2.2", "552", "host mx.example.com" },
	    { "bob@example.com", "failed", "", "", "Unrouteable address" } } },
	{ "X-Failed-Recipients names who, the text says why",
	  "From: Mail Delivery System <Mailer-Daemon@relay.example.net>\nTo: sender@example.org\n"
	  "X-Failed-Recipients: dora@example.com\nSubject: Mail delivery failed\n\n"
	  "Your message could not be delivered.\n\n"
	  "------ This is a copy of the message, including all the headers. ------\n\nTo: x@example.com\n\n",
	  NULL, 1,
	  { { "dora@example.com", "failed", "", "", "Your message could not be delivered." } } },
	{ "sendmail, delay warning",
	  "From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.org>\nTo: sender@example.org\n"
	  "Subject: Warning: could not send message for past 4 hours\n\n"
	  "    **********************************************\n"
	  "    **      THIS IS A WARNING MESSAGE ONLY      **\n"
	  "    **********************************************\n\n"
	  "   ----- Transcript of session follows -----\n"
	  "<eve@example.com>... Deferred: Connection timed out with mx.example.com.\n"
	  "Warning: message still undelivered after 4 hours\n\n"
	  "   ----- Original message follows -----\nTo: eve@example.com\n",
	  "sendmail", 1,
	  { { "eve@example.com", "delayed", "", "", "Deferred: Connection timed out" } } },
	{ "Japanese text, quoted-printable",
	  "From: Postmaster@mail.example.jp\nTo: sender@example.org\nSubject: Mail System Error - Returned Mail\n"
	  "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"
	  "=E5=AE=9B=E5=85=88=E4=B8=8D=E6=98=8E=E3=81=AE=E3=81=9F=E3=82=81=E9=80=81=E4=BF=A1=E3=81=A7=E3=81=8D=E3=81=BE=E3=81=9B=E3=82=93=E3=81=A7=E3=81=97=E3=81=9F\n"
	  "<hana@example.jp>\n",
	  NULL, 1,
	  { { "hana@example.jp", "failed", "", "", "宛先不明" } } },
	{ "forwarded bounce",
	  "From: Ann Person <ann@example.org>\nTo: it@example.org\nSubject: Fwd: Undelivered Mail Returned to Sender\n\n"
	  "Why did this bounce?\n\n"
	  "---------- Forwarded message ---------\n"
	  "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\n"
	  "Date: Mon, 2 Nov 2026 10:00:00 +0000\nSubject: Undelivered Mail Returned to Sender\nTo: <ann@example.org>\n\n"
	  "This is the mail system at host mx.example.org.\n\n"
	  "<gus@example.com>: host mx.example.com[192.0.2.3] said: 550 5.1.1 <gus@example.com>:\n"
	  "    Recipient address rejected: User unknown in local recipient table (in reply to RCPT TO command)\n",
	  "postfix", 1,
	  { { "gus@example.com", "failed", "5.1.1", "550", "host mx.example.com" } } },
	{ "a person quoting a bounce is not a bounce",
	  "From: Bob Person <bob@example.org>\nTo: ann@example.org\nSubject: Re: that bounce\n\n"
	  "I got this back:\n\n"
	  "> <gus@example.com>: host mx.example.com said: 550 5.1.1 User unknown\n\nAny idea?\n",
	  NULL, 0, { { NULL, NULL, NULL, NULL, NULL } } },
	{ "a session log: the RCPT TO address and the reply to it, after time stamps",
	  "From: MDaemon@mail.example.net\nTo: sender@example.org\nSubject: Permanent Delivery Failure\n\n"
	  "The attached message had PERMANENT fatal delivery errors!\n\n--- Session Transcript ---\n"
	  " Tue 2026-11-03 08:00:00.100: Parsing message <q1@mail.example.net>\n"
	  " Tue 2026-11-03 08:00:01.000: --> MAIL From:<sender@example.org>\n"
	  " Tue 2026-11-03 08:00:01.050: <-- 250 2.1.0 Ok\n"
	  " Tue 2026-11-03 08:00:01.060: --> RCPT To:<wes@example.com>\n"
	  " Tue 2026-11-03 08:00:01.110: <-- 550 5.1.1 <wes@example.com>: User unknown\n"
	  "--- End Transcript ---\n",
	  NULL, 1, { { "wes@example.com", "failed", "5.1.1", "550", "550 5.1.1 <wes@example.com>: User unknown" } } },
	{ "Exim's 'after RCPT TO:' is no session log line",
	  "From: Mail Delivery System <Mailer-Daemon@mx.example.net>\nTo: sender@example.org\n"
	  "Subject: Mail delivery failed: returning message to sender\n\n"
	  "This message was created automatically by mail delivery software.\n\n"
	  "  ann@example.com\n    SMTP error from remote mail server after RCPT TO:<ann@example.com>:\n"
	  "    550 5.1.1 unknown user\n",
	  "exim", 1, { { "ann@example.com", "failed", "5.1.1", "550", "SMTP error from remote mail server after RCPT TO" } } },
	{ "Gmail: couldn't be delivered, the remote server's reply after a blank line",
	  "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\nTo: sender@example.org\n"
	  "Subject: Delivery Status Notification (Failure)\n\n"
	  "** Message not delivered **\n\nYour message couldn't be delivered to oli@example.net because the "
	  "remote server is misconfigured.\n\nThe response from the remote server was:\n\n"
	  "554 5.7.1 <oli@example.net>: Relay access denied\n",
	  "googlegroups", 1, { { "oli@example.net", "failed", "5.7.1", "554", "554 5.7.1 <oli@example.net>: Relay access denied" } } },
	{ "a gateway's 'message to <addr> was undeliverable' with the reason's code below",
	  "From: Gateway <postmaster@gw.example.net>\nTo: sender@example.org\nSubject: Notification - Undeliverable Message\n\n"
	  "The following message to <eli@example.com> was undeliverable.\nThe reason for the problem:\n"
	  "5.1.0 - Unknown address error 550-'5.1.1 <eli@example.com>: User unknown'\n",
	  NULL, 1, { { "eli@example.com", "failed", "5.1.1", "550", "message to <eli@example.com> was undeliverable." } } },
	{ "a person asking whether mail failed: only the Subject says bounce",
	  "From: Ann Bell <ann@example.org>\nTo: team@example.org\nSubject: Mail delivery failed?\n\n"
	  "Hi team, I think my mail to cliff@example.com failed, he never got it.\nAnn\n",
	  NULL, 0, { { NULL, NULL, NULL, NULL, NULL } } },
	{ "a newsletter about delivery is not a bounce",
	  "From: News <news@example.org>\nTo: ann@example.org\nSubject: Improve your mail delivery\n\n"
	  "Undelivered mail costs money. Write to <sales@example.org>: we fix user unknown errors.\n",
	  NULL, 0, { { NULL, NULL, NULL, NULL, NULL } } },
};

static void
test_extract(void)
{
	for (size_t i = 0; i < sizeof extracts / sizeof extracts[0]; i++) {
		const struct extract_case *c = &extracts[i];
		struct mime_message *m = mime_parse(c->msg, strlen(c->msg));
		struct bounce_report *r = bounce_report_new();
		size_t n = rules_extract(NULL, NULL, m, r);
		CHECK_INT(c->name, n, c->n);
		CHECK_INT(c->name, r->nrcpts, c->n);
		CHECK_STR(c->name, bounce_kind_name(r->kind), c->n > 0 ? "heuristic" : "none");
		if (c->n > 0)
			CHECK_STR(c->name, r->mta_family, c->family);
		for (size_t k = 0; k < c->n && k < r->nrcpts; k++) {
			const struct bounce_recipient *rc = &r->rcpts[k];
			const struct want_rcpt *w = &c->r[k];
			CHECK_STR(c->name, rc->address, w->address);
			CHECK_STR(c->name, rc->action, w->action);
			CHECK_STR(c->name, rc->status, w->status);
			CHECK_STR(c->name, rc->smtp_code, w->smtp_code);
			bool prefix = rc->diagnostic != NULL &&
			    strncmp(rc->diagnostic, w->diag_prefix, strlen(w->diag_prefix)) == 0;
			if (!prefix)
				printf("# %s: diagnostic \"%s\"\n", c->name, rc->diagnostic ? rc->diagnostic : "(null)");
			CHECK_INT(c->name, prefix, 1);
			CHECK_INT(c->name, rc->rule != NULL, 1);
		}
		bounce_report_free(r);
		mime_message_free(m);
	}
}

/* A DSN group without Status or Diagnostic-Code gets them from the human-readable part. */
static void
test_fill_dsn(void)
{
	const char *msg = "From: MAILER-DAEMON@mx.example.org\nTo: sender@example.org\n"
	    "Subject: Undelivered Mail Returned to Sender\nMIME-Version: 1.0\n"
	    "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\n"
	    "--B\nContent-Type: text/plain\n\n"
	    "This is the mail system at host mx.example.org.\n\n"
	    "<ivy@example.com>: host mx.example.com[192.0.2.3] said: 552 5.2.2 Mailbox full\n"
	    "    (in reply to RCPT TO command)\n\n"
	    "--B\nContent-Type: message/delivery-status\n\n"
	    "Reporting-MTA: dns; mx.example.org\n\nFinal-Recipient: rfc822; ivy@example.com\nAction: failed\n\n"
	    "--B--\n";
	struct mime_message *m = mime_parse(msg, strlen(msg));
	struct bounce_report *r = bounce_report_new();
	struct bounce_recipient *rc = bounce_report_add(r, "ivy@example.com");
	bounce_set(&rc->action, "failed");
	r->kind = KIND_DSN;
	CHECK_INT("fill: adds nobody", rules_extract(NULL, NULL, m, r), 0);
	CHECK_INT("fill: one recipient", r->nrcpts, 1);
	CHECK_STR("fill: kind kept", bounce_kind_name(r->kind), "dsn");
	CHECK_STR("fill: status", r->rcpts[0].status, "5.2.2");
	CHECK_STR("fill: code", r->rcpts[0].smtp_code, "552");
	CHECK_STR("fill: diagnostic", r->rcpts[0].diagnostic,
	    "host mx.example.com[192.0.2.3] said: 552 5.2.2 Mailbox full (in reply to RCPT TO command)");
	bounce_report_free(r);
	mime_message_free(m);
}

struct sender_case {
	const char *headers;
	bool bounce;
};

static const struct sender_case senders[] = {
	{ "From: MAILER-DAEMON@example.org\nSubject: x\n\n", true },
	{ "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\n\n", true },
	{ "From: postmaster@example.org\n\n", true },
	{ "From: ann@example.org\nSubject: Undeliverable: report\n\n", true },
	{ "From: ann@example.org\nSubject: =?UTF-8?Q?Unzustellbar:_Bericht?=\n\n", true },
	{ "From: ann@example.org\nSubject: Lunch?\n\n", false },
	{ "From: Daemon Fan Club <fans@example.org>\nSubject: Mail delivery tips\n\n", false },
};

/* Bare local parts: the domain from the returned message, else the reporting system's; and
 * a hostile report naming thousands is resolved for EXTRACT_LOCAL_PARTS_MAX (16) of them. */
static void
test_bare_local(void)
{
	const char *one = "From: MAILER-DAEMON@Mail.Example.com\nSubject: Mail Delivery Problem\n\n"
	    "Your mail to the following recipients could not be delivered:\n\tskipper77\n";
	struct mime_message *m = mime_parse(one, strlen(one));
	struct bounce_report *r = bounce_report_new();
	CHECK_INT("bare local: one", rules_extract(NULL, NULL, m, r), 1);
	if (r->nrcpts == 1)
		CHECK_STR("bare local: the reporting system's domain", r->rcpts[0].address,
		    "skipper77@mail.example.com");
	bounce_report_free(r);
	mime_message_free(m);

	struct strbuf b = STRBUF_INIT;
	strbuf_puts(&b, "From: MAILER-DAEMON@example.com\nSubject: Undelivered Mail\n\n");
	for (int i = 0; i < 2000; i++)
		strbuf_printf(&b, "Mail to the following recipients failed:\n  user%d\n\n", i);
	m = mime_parse(b.s, b.len);
	r = bounce_report_new();
	CHECK_INT("bare local: bounded", rules_extract(NULL, NULL, m, r), 16);
	bounce_report_free(r);
	mime_message_free(m);
	strbuf_free(&b);
}

/* rules_text_expanded_from: the alias named right after a recipient's address. */
static const struct {
	const char *after, *alias;	/* alias NULL: none */
} expanded[] = {
	{ "> (expanded from <Sales@Example.COM>): host mx said: 550", "Sales@example.com" },
	{ "\n    (expanded from: list@example.org)\n", "list@example.org" },
	{ " (EXPANDED FROM <a@x.example>)", "a@x.example" },
	{ "\n\n(expanded from <a@x.example>)", NULL },	/* another paragraph */
	{ ": host mx said: 550 (expanded from <a@x.example>)", NULL },	/* not right after */
	{ " (expanded from <no address>)", NULL },
	{ " (expanded from <a@x.example>", NULL },	/* never closed */
	{ "", NULL },
};

static void
test_expanded_from(void)
{
	for (size_t i = 0; i < sizeof expanded / sizeof expanded[0]; i++) {
		struct strbuf b = STRBUF_INIT;
		bool got = rules_text_expanded_from(expanded[i].after, strlen(expanded[i].after), &b);
		CHECK_STR(expanded[i].after, got ? b.s : NULL, expanded[i].alias);
		strbuf_free(&b);
	}
}

int
main(void)
{
	test_expanded_from();
	test_bare_local();
	test_load();
	test_limit();
	test_hostile();
	test_extract();
	test_fill_dsn();
	for (size_t i = 0; i < sizeof senders / sizeof senders[0]; i++) {
		const char *h = senders[i].headers;
		struct mime_message *m = mime_parse(h, strlen(h));
		CHECK_INT(h, rules_is_bounce_sender(NULL, NULL, m, NULL), senders[i].bounce);
		mime_message_free(m);
	}
	return TEST_DONE();
}
