/* The parse worker's confinement: after its warm-up, a worker process sets PR_SET_NO_NEW_PRIVS
 * and a seccomp allow list of the few system calls parsing needs (reading and writing its
 * socket, memory, time, its CPU limit, exit), so a bug in a parser cannot open a file, a socket
 * or a process. Any other call kills the process (SECCOMP_RET_KILL_PROCESS, seen by the server
 * as SIGSYS): the message it held is stored unparsed. Linux only. */
#ifndef BOUNCED_SANDBOX_H
#define BOUNCED_SANDBOX_H

/* Confines the calling process: read, poll and write on sock (write also on 2, the log). Returns
 * 0, or -1 with *error_r (caller frees) when the filter could not be set (the caller must not
 * go on unconfined). Irreversible. */
int sandbox_enter(int sock, char **error_r);

#endif
