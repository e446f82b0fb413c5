/* bounced.conf: each row is a file and either the exact error ("LINE: what", after "PATH:") or the
 * fields expected after loading it over the defaults. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "strbuf.h"

static int failures;
static const char *row_name;

static void
fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
fail(const char *fmt, ...)
{
	va_list ap;
	printf("FAIL %s: ", row_name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	failures++;
}

#define EXPECT_STR(got, want) do { \
	const char *g_ = (got), *w_ = (want); \
	if ((g_ == NULL) != (w_ == NULL) || (g_ != NULL && strcmp(g_, w_) != 0)) \
		fail("%s is '%s', want '%s'", #got, g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
} while (0)
#define EXPECT_INT(got, want) do { \
	long long g_ = (long long)(got), w_ = (long long)(want); \
	if (g_ != w_) \
		fail("%s is %lld, want %lld", #got, g_, w_); \
} while (0)

static void
check_defaults(const struct config *c)
{
	EXPECT_STR(c->db_path, CONFIG_DEFAULT_DB);
	EXPECT_INT(c->busy_timeout_ms, 5000);
	EXPECT_INT(c->keep_raw_days, 30);
	EXPECT_INT(c->keep_events_days, 400);
	EXPECT_INT(c->suppress_hard, 1);
	EXPECT_INT(c->suppress_complaint, 1);
	EXPECT_INT(c->soft_threshold, 5);
	EXPECT_INT(c->soft_reset_days, 7);
	EXPECT_INT(c->soft_suppress_days, 30);
	EXPECT_INT(c->nlisten, 1);
	EXPECT_STR(c->listen[0], "unix:/run/bounced/lmtp.sock");
	EXPECT_INT(c->socket_mode, 0660);
	EXPECT_STR(c->socket_group, NULL);
	EXPECT_INT(c->max_sessions, 200);
	EXPECT_INT(c->workers, 2);
	EXPECT_INT(c->timeout_command_s, 300);
	EXPECT_INT(c->timeout_data_s, 600);
	EXPECT_INT(c->worker_cpu_s, 10);
	EXPECT_INT(c->worker_mem_mb, 512);
	EXPECT_STR(c->log, "stderr");
	EXPECT_STR(c->rules_dir, NULL);
	EXPECT_STR(c->verp_prefix, "bounces");
	EXPECT_INT(c->verp_separator, '+');
	EXPECT_INT(c->verp_at, '=');
	EXPECT_STR(c->verp_key_file, NULL);
	EXPECT_INT(c->verp_require_signature, 0);
	EXPECT_INT(c->nimap, 0);
}

static void
check_full(const struct config *c)
{
	EXPECT_STR(c->db_path, "/var/lib/bounced/bounced.db");
	EXPECT_INT(c->busy_timeout_ms, 2500);
	EXPECT_INT(c->keep_raw_days, 0);
	EXPECT_INT(c->suppress_hard, 1);
	EXPECT_INT(c->suppress_complaint, 0);
	EXPECT_INT(c->soft_threshold, 3);
	EXPECT_INT(c->soft_reset_days, 14);
	EXPECT_INT(c->soft_suppress_days, 60);
	EXPECT_INT(c->nlisten, 2);
	EXPECT_STR(c->listen[0], "unix:/run/bounced/lmtp.sock");
	EXPECT_STR(c->listen[1], "tcp:127.0.0.1:2424");
	EXPECT_INT(c->socket_mode, 0600);
	EXPECT_STR(c->socket_group, "postfix");
	EXPECT_STR(c->allow, "192.0.2.1, 192.0.2.2");
	EXPECT_INT(c->max_sessions, 50);
	EXPECT_INT(c->workers, 4);
	EXPECT_INT(c->timeout_command_s, 60);
	EXPECT_INT(c->timeout_data_s, 120);
	EXPECT_INT(c->worker_cpu_s, 5);
	EXPECT_INT(c->worker_mem_mb, 256);
	EXPECT_STR(c->log, "syslog");
	EXPECT_STR(c->rules_dir, "/usr/share/bounced/rules");
	EXPECT_STR(c->rules_local, "/etc/bounced/local.rules");
	EXPECT_STR(c->verp_prefix, "bnc");
	EXPECT_INT(c->verp_separator, '-');
	EXPECT_INT(c->verp_at, '#');
	EXPECT_STR(c->verp_key_file, "/etc/bounced/verp.key");
	EXPECT_INT(c->verp_require_signature, 1);	/* implied by the key file */
	EXPECT_INT(c->nimap, 2);
	EXPECT_STR(c->imap[0].name, "main");
	EXPECT_STR(c->imap[0].url, "imaps://bounces@imap.example.com/INBOX");
	EXPECT_STR(c->imap[0].password, "p;a#ss = word");	/* no inline comments */
	EXPECT_STR(c->imap[0].action, "flag");
	EXPECT_STR(c->imap[0].move_to, "bounced/processed");
	EXPECT_STR(c->imap[0].nonbounce_action, "leave");
	EXPECT_INT(c->imap[0].batch, 50);
	EXPECT_INT(c->imap[0].timeout_s, 120);
	EXPECT_INT(c->imap[0].allow_plaintext, 0);
	EXPECT_STR(c->imap[1].name, "old box");
	EXPECT_STR(c->imap[1].url, "imap://b@127.0.0.1:1143/Bounces");
	EXPECT_STR(c->imap[1].password_file, "/etc/bounced/imap.pw");
	EXPECT_STR(c->imap[1].tls_ca, "/etc/ssl/ca.pem");
	EXPECT_INT(c->imap[1].allow_plaintext, 1);
	EXPECT_STR(c->imap[1].action, "move");
	EXPECT_STR(c->imap[1].move_to, "Done");
	EXPECT_STR(c->imap[1].nonbounce_move_to, "Other");
	EXPECT_INT(c->imap[1].batch, 100);
	EXPECT_INT(c->imap[1].timeout_s, 600);
}

static void
check_require_off(const struct config *c)
{
	EXPECT_STR(c->verp_key_file, "/k");
	EXPECT_INT(c->verp_require_signature, 0);
}

/* End-of-line comments after a blank are cut for every key (issue 14: the examples of the
 * docs carry them). */
static void
check_comments(const struct config *c)
{
	EXPECT_STR(c->db_path, "/var/lib/bounced/bounced.db");
	EXPECT_INT(c->keep_events_days, 90);
	EXPECT_INT(c->socket_mode, 0660);
	EXPECT_STR(c->socket_group, "postfix");
	EXPECT_STR(c->log, "syslog");
	EXPECT_INT(c->suppress_hard, 0);
	EXPECT_STR(c->imap[0].password_file, "/etc/bounced/imap.pw");
	EXPECT_STR(c->imap[0].action, "move");
	EXPECT_INT(c->imap[0].batch, 100);
}

static void
check_quoted(const struct config *c)
{
	EXPECT_STR(c->imap[0].password, " p #a ;ss\"\\ ");
	EXPECT_STR(c->imap[0].move_to, "Done ; not a comment");
	EXPECT_STR(c->imap[0].nonbounce_move_to, "x#y;z");
}

static void
check_listen_3(const struct config *c)
{
	EXPECT_INT(c->nlisten, 3);
	EXPECT_STR(c->listen[2], "unix:/c");
}

static const char full[] =
    "# bounced.conf\n"
    "; both comment styles\n"
    "[store]\n"
    "db = /var/lib/bounced/bounced.db\n"
    "busy_timeout_ms = 2500\n"
    "keep_raw_days = 0\n"
    "\n"
    "[policy]\n"
    "suppress_hard = yes\n"
    "suppress_complaint = off\n"
    "soft_threshold = 3\n"
    "soft_reset_days = 14\n"
    "soft_suppress_days = 60\n"
    "[lmtp]\n"
    "listen = unix:/run/bounced/lmtp.sock\n"
    "listen = tcp:127.0.0.1:2424\n"
    "socket_mode = 0600\n"
    "socket_group = postfix\n"
    "allow = 192.0.2.1, 192.0.2.2\n"
    "max_sessions = 50\n"
    "workers = 4\n"
    "timeout_command = 60\n"
    "timeout_data = 120\n"
    "worker_cpu = 5\n"
    "worker_mem_mb = 256\n"
    "log = syslog\n"
    "[rules]\n"
    "dir = /usr/share/bounced/rules\n"
    "local = /etc/bounced/local.rules\n"
    "[verp]\n"
    "prefix = bnc\n"
    "separator = -\n"
    "at = \"#\"\n"
    "key_file = /etc/bounced/verp.key\n"
    "[imap main]\n"
    "url = imaps://bounces@imap.example.com/INBOX\n"
    "password = p;a#ss = word\n"
    "action = flag\n"
    "nonbounce_action = leave\n"
    "batch = 50\n"
    "timeout = 120\n"
    "[imap old box]\n"
    "url = imap://b@127.0.0.1:1143/Bounces\n"
    "password_file = /etc/bounced/imap.pw\n"
    "tls_ca = /etc/ssl/ca.pem\n"
    "allow_plaintext = true\n"
    "move_to = Done\n"
    "nonbounce_move_to = Other\n";

static const struct row {
	const char *name;
	const char *text;
	const char *error;	/* "LINE: what" after "PATH:", or NULL */
	void (*check)(const struct config *c);
} rows[] = {
	{ "empty file", "", NULL, check_defaults },
	{ "comments only", "# nothing\n; nothing\n\n", NULL, check_defaults },
	{ "every key", full, NULL, check_full },
	{ "require_signature off with a key", "[verp]\nkey_file = /k\nrequire_signature = no\n",
	    NULL, check_require_off },
	{ "listen replaces the default, then adds",
	    "[lmtp]\nlisten = unix:/a\nlisten = unix:/b\nlisten = unix:/c\n", NULL, check_listen_3 },
	{ "end-of-line comments, every kind of key",
	    "[store]\ndb = /var/lib/bounced/bounced.db   # where\nkeep_events_days = 90\t; days\n"
	    "[policy]\nsuppress_hard = no # bool\n"
	    "[lmtp]\nsocket_mode = 0660   # octal\nsocket_group = postfix      # a group\n"
	    "log = syslog                # one line per message\n"
	    "[imap a]\nurl = imaps://u@h/INBOX\npassword_file = /etc/bounced/imap.pw   ; or ...\n"
	    "action = move                               ; move (default) | delete | flag\n"
	    "batch = 100 ; messages\n", NULL, check_comments },
	{ "quoted values keep # and ; and blanks",
	    "[imap a]\nurl = imaps://u@h/INBOX\npassword = \" p #a ;ss\\\"\\\\ \"   # the password\n"
	    "move_to = \"Done ; not a comment\"\nnonbounce_move_to = x#y;z\n", NULL, check_quoted },
	{ "a quote not closed", "[imap a]\nurl = imaps://u@h/INBOX\npassword = \"abc\n",
	    "3: password: no closing '\"' in \"abc", NULL },
	{ "text after the closing quote", "[store]\ndb = \"/a\" b\n",
	    "2: db: text after the closing '\"': b", NULL },
	{ "only a comment is an empty value", "[store]\ndb = # nothing\n",
	    "2: db: empty value ('#' after blanks starts a comment: write \"# nothing\" for a value "
	    "that starts with it)", NULL },
	{ "a comment after a bad number names the number",
	    "[lmtp]\nsocket_mode = 0999   # x\n",
	    "2: socket_mode: '0999' is not an octal mode from 0 to 0777", NULL },
	{ "a key given twice", "[store]\ndb = /a\nbusy_timeout_ms = 1\ndb = /b\n",
	    "4: db given twice in [store] (first on line 2)", NULL },
	{ "a key given twice in a repeated section", "[lmtp]\nworkers = 2\n[store]\n[lmtp]\nworkers = 3\n",
	    "5: workers given twice in [lmtp] (first on line 2)", NULL },
	{ "a key given twice in an [imap] section",
	    "[imap a]\nurl = imaps://u@h/INBOX\n[imap b]\nurl = imaps://u@h/INBOX\n"
	    "action = flag\naction = move\n", "6: action given twice in [imap b] (first on line 5)",
	    NULL },
	{ "unknown key", "[store]\ndb = x\nfoo = 1\n", "3: unknown key 'foo' in [store]", NULL },
	{ "unknown section", "[store]\n[nope]\nx = 1\n", "2: unknown section [nope]", NULL },
	{ "empty unknown section", "[nope]\n", "1: unknown section [nope]", NULL },
	{ "key outside a section", "db = x\n", "1: 'db' outside a section", NULL },
	{ "not a number", "[policy]\nsoft_threshold = abc\n",
	    "2: soft_threshold: 'abc' is not a number from 0 to 1000", NULL },
	{ "negative number", "[store]\nbusy_timeout_ms = -5\n",
	    "2: busy_timeout_ms: '-5' is not a number from 0 to 3600000", NULL },
	{ "number too large", "[policy]\nsoft_reset_days = 99999999999999999999\n",
	    "2: soft_reset_days: '99999999999999999999' is not a number from 1 to 3650", NULL },
	{ "zero days", "[policy]\nsoft_suppress_days = 0\n",
	    "2: soft_suppress_days: '0' is not a number from 1 to 36500", NULL },
	{ "not a boolean", "[policy]\nsuppress_hard = maybe\n",
	    "2: suppress_hard: 'maybe' is not a boolean (yes or no)", NULL },
	{ "syntax error", "[store]\nthis is not ini\n",
	    "2: syntax error: expected 'key = value' or '[section]'", NULL },
	{ "empty value", "[store]\ndb =\n", "2: db: empty value", NULL },
	{ "listen scheme", "[lmtp]\nlisten = udp:1\n",
	    "2: listen: 'udp:1' is not unix:PATH or tcp:HOST:PORT", NULL },
	{ "too many listeners",
	    "[lmtp]\nlisten = unix:/1\nlisten = unix:/2\nlisten = unix:/3\nlisten = unix:/4\n"
	    "listen = unix:/5\nlisten = unix:/6\nlisten = unix:/7\nlisten = unix:/8\n"
	    "listen = unix:/9\n", "10: listen: more than 8 listeners", NULL },
	{ "socket mode not octal", "[lmtp]\nsocket_mode = 0999\n",
	    "2: socket_mode: '0999' is not an octal mode from 0 to 0777", NULL },
	{ "log target", "[lmtp]\nlog = file\n", "2: log: 'file' is not stderr or syslog", NULL },
	{ "allow: a host name", "[lmtp]\nallow = 192.0.2.1, mx.example.com\n",
	    "2: allow: 'mx.example.com' is not an IP address or prefix (192.0.2.1, "
	    "198.51.100.0/24, 2001:db8::1, 2001:db8::/32)", NULL },
	{ "allow: a prefix too long", "[lmtp]\nallow = 10.0.0.0/33\n",
	    "2: allow: '10.0.0.0/33' is not an IP address or prefix (192.0.2.1, "
	    "198.51.100.0/24, 2001:db8::1, 2001:db8::/32)", NULL },
	{ "verp separator", "[verp]\nseparator = ab\n",
	    "2: separator: 'ab' is not one of + - = . _ # % ~", NULL },
	{ "imap without a name", "[imap]\nurl = imaps://u@h/INBOX\n",
	    "1: [imap] needs a name: [imap NAME]", NULL },
	{ "imap twice", "[imap a]\nurl = imaps://u@h/INBOX\n[imap a]\n",
	    "3: [imap a] appears twice", NULL },
	{ "imap without url", "[store]\n[imap a]\npassword = x\n", "2: [imap a] has no url", NULL },
	{ "imap url scheme", "[imap a]\nurl = ftp://u@h/\n",
	    "2: url: 'ftp://u@h/' is not imaps://USER@HOST[:PORT]/MAILBOX or imap://...", NULL },
	{ "imap action", "[imap a]\nurl = imaps://u@h/INBOX\naction = burn\n",
	    "3: action: 'burn' is not move, delete or flag", NULL },
	{ "imap nonbounce action", "[imap a]\nurl = imaps://u@h/INBOX\nnonbounce_action = move2\n",
	    "3: nonbounce_action: 'move2' is not move, leave or delete", NULL },
	{ "imap both passwords",
	    "[imap a]\nurl = imaps://u@h/INBOX\npassword = x\npassword_file = /p\n",
	    "1: [imap a] has both password and password_file", NULL },
	{ "imap batch", "[imap a]\nurl = imaps://u@h/INBOX\nbatch = 0\n",
	    "3: batch: '0' is not a number from 1 to 1000", NULL },
	{ "imap batch over the maximum", "[imap a]\nurl = imaps://u@h/INBOX\nbatch = 5000\n",
	    "3: batch: '5000' is not a number from 1 to 1000", NULL },
	{ "imap timeout 0", "[imap a]\nurl = imaps://u@h/INBOX\ntimeout = 0\n",
	    "3: timeout: '0' is not a number of seconds from 1 to 86400", NULL },
	{ "imap timeout words", "[imap a]\nurl = imaps://u@h/INBOX\ntimeout = 10m\n",
	    "3: timeout: '10m' is not a number of seconds from 1 to 86400", NULL },
	{ "imap unknown key", "[imap a]\nurl = imaps://u@h/INBOX\nuser = x\n",
	    "3: unknown key 'user' in [imap a]", NULL },
	{ "the first error is reported", "[store]\n\nfoo = 1\n[bar]\nbroken\n",
	    "3: unknown key 'foo' in [store]", NULL },
	{ "an earlier syntax error wins", "[store]\nbroken\nfoo = 1\n",
	    "2: syntax error: expected 'key = value' or '[section]'", NULL },
};

static void
run(const struct row *r, const char *path)
{
	row_name = r->name;
	FILE *f = fopen(path, "w");
	if (f == NULL || fputs(r->text, f) < 0 || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	struct config c;
	config_defaults(&c);
	char *error = NULL;
	int rc = config_load(&c, path, &error);
	if (r->error == NULL) {
		if (rc != 0)
			fail("unexpected error: %s", error);
		else if (r->check != NULL)
			r->check(&c);
	} else if (rc == 0) {
		fail("loaded, want error %s", r->error);
	} else {
		size_t n = strlen(path);
		if (strncmp(error, path, n) != 0 || error[n] != ':' || strcmp(error + n + 1, r->error) != 0)
			fail("error '%s', want '%s:%s'", error, path, r->error);
	}
	free(error);
	config_free(&c);
}

/* A line over the limit, and a file that does not exist. */
static void
special(const char *path)
{
	row_name = "long line";
	FILE *f = fopen(path, "w");
	fputs("[store]\ndb = ", f);
	for (int i = 0; i < 5000; i++)
		fputc('x', f);
	fputs("\n", f);
	fclose(f);
	struct config c;
	config_defaults(&c);
	char *error = NULL;
	struct strbuf want = STRBUF_INIT;
	strbuf_printf(&want, "%s:2: line longer than 4093 bytes", path);
	if (config_load(&c, path, &error) == 0 || strcmp(error, want.s) != 0)
		fail("error '%s', want '%s'", error ? error : "(none)", want.s);
	free(error);
	config_free(&c);
	strbuf_free(&want);

	row_name = "missing file";
	config_defaults(&c);
	error = NULL;
	unlink(path);
	strbuf_printf(&want, "%s: No such file or directory", path);
	if (config_load(&c, path, &error) == 0 || strcmp(error, want.s) != 0)
		fail("error '%s', want '%s'", error ? error : "(none)", want.s);
	free(error);
	config_free(&c);
	strbuf_free(&want);
}

int
main(void)
{
	char dir[] = "/tmp/bounced-config-XXXXXX";
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	char path[256];
	snprintf(path, sizeof path, "%s/bounced.conf", dir);
	size_t n = sizeof rows / sizeof rows[0];
	for (size_t i = 0; i < n; i++)
		run(&rows[i], path);
	special(path);
	unlink(path);
	rmdir(dir);
	printf("%zu rows, %d failures\n", n + 2, failures);
	return failures != 0;
}
