/* The one log of every bounced process and command, shaped like OpenSMTPD's log.h. A line goes
 * to standard error as one write(2) ("bounced: TEXT", or "bounced[PID]: TEXT" for a daemon), so
 * lines of several threads or processes never interleave, or to syslog (facility mail). Before
 * log_init the log is the command line's: standard error, "bounced: ". Parsers never log. */
#ifndef BOUNCED_LOG_H
#define BOUNCED_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum log_target {
	LOG_TARGET_CLI = 0,	/* standard error, "bounced: " (the default) */
	LOG_TARGET_DAEMON,	/* standard error, "bounced[PID]: " with the pid at log_init */
	LOG_TARGET_SYSLOG,	/* syslog(3), ident bounced, facility mail, with the pid */
};

/* Chooses where lines go; verbose lets log_debug lines through. Call it from the main thread
 * before starting others. */
void log_init(enum log_target target, bool verbose);
/* Closes syslog when it was opened; the log is the command line's again. */
void log_close(void);

/* Error with the text of errno appended (": No such file or directory"). */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Error or warning. */
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* What happened (a message stored, a listener opened). */
/* log_warnx("PREFIX: LINE") for each line of text (lines separated by '\n'). */
void log_lines(const char *prefix, const char *text);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Only with verbose. */
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A line at syslog priority prio (LOG_ERR, LOG_WARNING, LOG_INFO...). */
void log_vlog(int prio, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* A broken invariant (or, with errno, a resource the process cannot go on without): logs
 * "fatal: TEXT" and aborts. Never for bad input from a peer or a file: that is a reply, a log
 * line or an error return. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Checks an invariant, as Dovecot's i_assert: fatalx naming the file, line and expression when
 * it does not hold. Always compiled in. */
#define ASSERT(expr) \
	((expr) ? (void)0 : fatalx("%s:%d: assertion failed: %s", __FILE__, __LINE__, #expr))

/* Lines the calling thread logs to standard error between log_hold and log_release are kept and
 * written with one write(2) at log_release: a loop answering a batch of messages logs one line
 * per message without one system call each. Other threads are not affected; syslog lines are
 * never held. Not nested. */
void log_hold(void);
void log_release(void);

#endif
