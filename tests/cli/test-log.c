/* The log as a table: each row runs a few calls in a child process whose standard error is a
 * pipe, and compares what the child wrote and how it ended. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "strbuf.h"

/* Replaced by the child's pid in the expected text. */
#define PID	"PID"
/* Replaced by FILE:LINE of the failing ASSERT in assert_line. */
#define WHERE	"WHERE"


static void
cli_lines(void)
{
	log_warnx("parse: no PATH given (try '%s')", "bounced parse --help");
	log_info("a %s line", "plain");
	log_debug("not shown without verbose");
}

static void
daemon_lines(void)
{
	log_init(LOG_TARGET_DAEMON, false);
	log_info("listening on %s", "unix:./var/lmtp.sock");
	log_debug("not shown");
	log_close();
	log_warnx("back to the command's log");
}

static void
verbose_lines(void)
{
	log_init(LOG_TARGET_CLI, true);
	log_debug("fetch: another bounced fetch is running on %s", "x.db");
}

static void
held_lines(void)
{
	log_hold();
	log_info("one");
	log_info("two");
	/* Nothing written yet: a line written now would come first. */
	if (write(STDERR_FILENO, "direct\n", 7) != 7)
		exit(3);
	log_release();
	log_info("three");
}

static void
errno_line(void)
{
	errno = ENOENT;
	log_warn("cannot open %s", "/nope");
}

static void
fatal_line(void)
{
	log_hold();
	log_info("held before the end");
	fatalx("lmtp: %s: answered a session in state %s", "unix", "ready");
}

/* The line of the failing ASSERT below (five lines down). */
enum { ASSERT_AT = __LINE__ + 5 };
static void
assert_line(void)
{
	int one = 1;
	ASSERT(one == 2);
}

static const struct row {
	const char *name;
	void (*run)(void);
	const char *want;	/* standard error, PID for the child's pid */
	bool aborts;
} rows[] = {
	{ "a command's lines", cli_lines,
	  "bounced: parse: no PATH given (try 'bounced parse --help')\nbounced: a plain line\n",
	  false },
	{ "a daemon's lines carry the pid", daemon_lines,
	  "bounced[" PID "]: listening on unix:./var/lmtp.sock\nbounced: back to the command's log\n",
	  false },
	{ "verbose shows debug lines", verbose_lines,
	  "bounced: fetch: another bounced fetch is running on x.db\n", false },
	{ "held lines come out together at release", held_lines,
	  "direct\nbounced: one\nbounced: two\nbounced: three\n", false },
	{ "log_warn adds errno's text", errno_line,
	  "bounced: cannot open /nope: No such file or directory\n", false },
	{ "fatalx writes held lines, says fatal and aborts", fatal_line,
	  "bounced: held before the end\nbounced: fatal: lmtp: unix: answered a session in state "
	  "ready\n", true },
	{ "ASSERT names the broken invariant", assert_line,
	  "bounced: fatal: " WHERE ": assertion failed: one == 2\n", true },
};

/* Runs fn in a child; returns what it wrote on standard error, *aborted_r when SIGABRT ended it. */
static char *
run(void (*fn)(void), pid_t *pid_r, bool *aborted_r)
{
	int p[2];
	if (pipe(p) != 0)
		abort();
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		abort();
	if (pid == 0) {
		close(p[0]);
		dup2(p[1], STDERR_FILENO);
		signal(SIGABRT, SIG_DFL);
		fn();
		_exit(0);
	}
	close(p[1]);
	struct strbuf out = STRBUF_INIT;
	char buf[4096];
	ssize_t n;
	while ((n = read(p[0], buf, sizeof buf)) > 0)
		strbuf_append(&out, buf, (size_t)n);
	close(p[0]);
	int status;
	waitpid(pid, &status, 0);
	*pid_r = pid;
	*aborted_r = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
	if (!*aborted_r && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		strbuf_puts(&out, "(ended otherwise)");
	return strbuf_detach(&out);
}

int
main(void)
{
	int failures = 0;
	size_t n = sizeof rows / sizeof rows[0];
	for (size_t i = 0; i < n; i++) {
		pid_t pid;
		bool aborted;
		char *got = run(rows[i].run, &pid, &aborted);
		/* The expected text with the child's pid. */
		struct strbuf want = STRBUF_INIT;
		const char *w = rows[i].want, *at;
		while ((at = strstr(w, PID)) != NULL || (at = strstr(w, WHERE)) != NULL) {
			strbuf_append(&want, w, (size_t)(at - w));
			if (strncmp(at, PID, strlen(PID)) == 0) {
				strbuf_printf(&want, "%ld", (long)pid);
				w = at + strlen(PID);
			} else {
				strbuf_printf(&want, "%s:%d", __FILE__, (int)ASSERT_AT);
				w = at + strlen(WHERE);
			}
		}
		strbuf_puts(&want, w);
		/* A sanitizer may add its own report after an abort: the log's lines come first. */
		bool same = rows[i].aborts ? strncmp(got, want.s, want.len) == 0 :
		    strcmp(got, want.s) == 0;
		if (!same || aborted != rows[i].aborts) {
			printf("FAIL %s:\n  got  %s%s\n  want %s%s\n", rows[i].name, got,
			    aborted ? " (aborted)" : "", want.s, rows[i].aborts ? " (aborted)" : "");
			failures++;
		}
		strbuf_free(&want);
		free(got);
	}
	printf("%zu rows, %d failures\n", n, failures);
	return failures != 0;
}
