/* The log (see log.h). */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "strbuf.h"

static enum log_target target = LOG_TARGET_CLI;
static bool verbose;
static long pid;
/* The calling thread's held lines, between log_hold and log_release. */
static _Thread_local struct strbuf *held;
static _Thread_local struct strbuf held_buf;

void
log_init(enum log_target t, bool v)
{
	log_close();
	target = t;
	verbose = v;
	pid = (long)getpid();
	if (target == LOG_TARGET_SYSLOG)
		openlog("bounced", LOG_PID, LOG_MAIL);
}

void
log_close(void)
{
	if (target == LOG_TARGET_SYSLOG)
		closelog();
	target = LOG_TARGET_CLI;
}

static void
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t r = write(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return;	/* a log that cannot be written must not stop the mail */
		p += r;
		n -= (size_t)r;
	}
}

void
log_vlog(int prio, const char *fmt, va_list ap)
{
	if (prio == LOG_DEBUG && !verbose)
		return;
	if (target == LOG_TARGET_SYSLOG) {
		vsyslog(prio, fmt, ap);
		return;
	}
	struct strbuf own = STRBUF_INIT;
	struct strbuf *b = held != NULL ? held : &own;
	if (target == LOG_TARGET_DAEMON)
		strbuf_printf(b, "bounced[%ld]: ", pid);
	else
		strbuf_puts(b, "bounced: ");
	char *line = NULL;
	if (vasprintf(&line, fmt, ap) < 0)
		abort();	/* out of memory, as xmalloc */
	strbuf_puts(b, line);
	strbuf_putc(b, '\n');
	free(line);
	if (b == &own) {
		write_all(STDERR_FILENO, own.s, own.len);
		strbuf_free(&own);
	}
}

#define LOG_FN(name, prio) \
void \
name(const char *fmt, ...) \
{ \
	va_list ap; \
	va_start(ap, fmt); \
	log_vlog(prio, fmt, ap); \
	va_end(ap); \
}

LOG_FN(log_warnx, LOG_WARNING)
LOG_FN(log_info, LOG_INFO)
LOG_FN(log_debug, LOG_DEBUG)

static void log_line(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
log_line(int prio, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vlog(prio, fmt, ap);
	va_end(ap);
}

/* Formats fmt, then logs it after prefix and, when e is not 0, before ": " and errno's text. */
static void
log_formatted(int prio, const char *prefix, int e, const char *fmt, va_list ap)
{
	char *text = NULL;
	if (vasprintf(&text, fmt, ap) < 0)
		abort();	/* out of memory, as xmalloc */
	const char *what = e != 0 ? strerror(e) : NULL;
	log_line(prio, "%s%s%s%s", prefix, text, what != NULL ? ": " : "", what != NULL ? what : "");
	free(text);
}

void
log_warn(const char *fmt, ...)
{
	int e = errno;
	va_list ap;
	va_start(ap, fmt);
	log_formatted(LOG_WARNING, "", e, fmt, ap);
	va_end(ap);
}

/* Logs "fatal: " fmt (with errno's text when e is not 0), writes held lines, aborts. */
static void die(int e, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0), noreturn));

static void
die(int e, const char *fmt, va_list ap)
{
	log_formatted(LOG_CRIT, "fatal: ", e, fmt, ap);
	log_release();
	abort();
}

void
fatal(const char *fmt, ...)
{
	int e = errno;
	va_list ap;
	va_start(ap, fmt);
	die(e, fmt, ap);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	die(0, fmt, ap);
}

void
log_hold(void)
{
	strbuf_reset(&held_buf);
	held = &held_buf;
}

void
log_release(void)
{
	if (held == NULL)
		return;
	held = NULL;
	if (held_buf.len > 0)
		write_all(STDERR_FILENO, held_buf.s, held_buf.len);
	strbuf_free(&held_buf);
}

void
log_lines(const char *prefix, const char *text)
{
	while (text != NULL && *text != '\0') {
		const char *nl = strchr(text, '\n');
		int len = nl != NULL ? (int)(nl - text) : (int)strlen(text);
		log_warnx("%s: %.*s", prefix, len, text);
		text = nl != NULL ? nl + 1 : NULL;
	}
}
