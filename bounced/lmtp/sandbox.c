/* The parse worker's seccomp allow list (sandbox.h), with libseccomp: it picks the right
 * numbers for the architecture and checks the architecture itself. */
#include <errno.h>
#include <seccomp.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "sandbox.h"
#include "strbuf.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
#define SANDBOX_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define SANDBOX_SANITIZER 1
#endif
#endif

#ifdef SANDBOX_SANITIZER
#include <sanitizer/common_interface_defs.h>
#endif

/* Calls allowed whatever their arguments. */
static const int allowed[] = {
	/* memory: malloc, PCRE2's match stacks, libetpan */
	SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise),
	SCMP_SYS(mprotect),
	/* waiting for the next message (rbuf_fill) */
	SCMP_SYS(poll), SCMP_SYS(ppoll),
	/* time (the vDSO's fallbacks), the CPU limit set before each message (limit_cpu) */
	SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday), SCMP_SYS(time), SCMP_SYS(getrusage),
	/* glibc's locks and abort(): a failed assertion still ends as SIGABRT */
	SCMP_SYS(futex), SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigreturn),
	/* a worker stopped and continued (SIGSTOP/SIGCONT, a debugger) resumes its poll(2) so */
	SCMP_SYS(restart_syscall),
	SCMP_SYS(exit), SCMP_SYS(exit_group),
#ifdef SANDBOX_SANITIZER
	/* Sanitizer builds only (the tests): what the ASan/UBSan runtime calls while the program
	 * runs normally (its allocator, its stack and thread bookkeeping). A sanitizer's report
	 * itself may need more (reading /proc/self/maps): a worker that hits one is then killed
	 * by the filter with the report cut short; __sanitizer_sandbox_on_notify below caches
	 * what it can beforehand. */
	SCMP_SYS(sched_yield), SCMP_SYS(sigaltstack), SCMP_SYS(prctl), SCMP_SYS(getrlimit),
	SCMP_SYS(readlink), SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep),
#endif
};

int
sandbox_enter(int sock, char **error_r)
{
#ifdef SANDBOX_SANITIZER
	__sanitizer_sandbox_on_notify(NULL);
#endif
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		error_set(error_r, "prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
		return -1;
	}
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (ctx == NULL) {
		error_set(error_r, "seccomp_init failed");
		return -1;
	}
	/* The calls made per message are looked up first: a binary tree of the rules where this
	 * libseccomp can build one, the hot calls at its top (a failure here only costs time). */
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	static const int hot[] = { SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(writev),
	    SCMP_SYS(poll), SCMP_SYS(getrusage) };
	for (size_t i = 0; i < sizeof hot / sizeof hot[0]; i++)
		(void)seccomp_syscall_priority(ctx, hot[i], 255);
	int rc = 0;
	for (size_t i = 0; i < sizeof allowed / sizeof allowed[0] && rc == 0; i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
	/* I/O only on the socket to the server, and writes to standard error (the log). */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(read), 1,
		    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)sock));
	for (int fd = 0; fd < 2 && rc == 0; fd++) {
		scmp_datum_t to = fd == 0 ? (scmp_datum_t)sock : STDERR_FILENO;
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(write), 1, SCMP_A0(SCMP_CMP_EQ, to));
		if (rc == 0)
			rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(writev), 1,
			    SCMP_A0(SCMP_CMP_EQ, to));
	}
	/* setrlimit(RLIMIT_CPU) is prlimit64 on this process (pid 0); a signal only to itself. */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 1,
		    SCMP_A0(SCMP_CMP_EQ, 0));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
		    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc != 0) {
		error_set(error_r, "seccomp: %s", strerror(-rc));
		return -1;
	}
	return 0;
}
