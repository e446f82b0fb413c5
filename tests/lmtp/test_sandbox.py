#!/usr/bin/env python3
"""Parse workers are exec'd and confined (issue 19):
- a worker is `bounced worker` (exec'd, not a fork of the server): one thread, its own
  address-space layout, only /dev/null, standard error and its socket open, none of the
  server's environment;
- it runs with NoNewPrivs and a seccomp filter;
- a worker that calls open(2) (the test-only hook BOUNCED_WORKER_TEST_OPEN, read by the worker
  before it confines itself, opens a file on a message that contains the variable's value) is
  killed by the filter (SIGSYS): its message is stored unparsed and answered 250, the worker
  is replaced, and the next message is parsed normally;
- `worker` is not in --help, and run by hand it refuses.
usage: test_sandbox.py BOUNCED"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check  # noqa: E402

OK = "250 2.0.0 <%s> Ok: stored as "
VERP = "bounces+joe=example.com@bounce.test"
MARKER = "open-a-file-please-7f3a"


def children(pid):
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        return sorted(int(x) for x in f.read().split())


def status(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return line.split(":", 1)[1].strip()
    return None


def exe_base(pid):
    """Start address of the first mapping of the bounced binary."""
    exe = os.readlink("/proc/%d/exe" % pid)
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            if line.rstrip().endswith(exe):
                return line.split("-")[0]
    return None


def main():
    exe = os.path.abspath(sys.argv[1])
    out = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=30)
    check(out.returncode == 0 and "worker" not in out.stdout, "--help does not list worker",
          out.stdout)
    out = subprocess.run([exe, "worker"], capture_output=True, text=True, timeout=30)
    check(out.returncode == 2 and "run by 'bounced serve' only" in out.stderr,
          "bounced worker run by hand refuses (exit 2)", (out.returncode, out.stderr))

    d = harness.scratch("sandbox")
    b = harness.Bounced(exe, d, config="[lmtp]\nworkers = 1\n")
    os.environ[harness_env] = MARKER
    os.environ["BOUNCED_TEST_SECRET"] = "server-only"
    try:
        b.start()
    finally:
        del os.environ[harness_env]
        del os.environ["BOUNCED_TEST_SECRET"]
    try:
        c = harness.Lmtp(b.sock)
        c.hello()
        # The worker is up once it has parsed a message.
        r = c.deliver([VERP], harness.dsn("first@example.com", VERP, "sandbox-0@x"))
        check(r[0] is not None and r[0].startswith(OK % VERP), "a message is parsed and stored", r)
        w = children(b.proc.pid)
        check(len(w) == 1, "one parse worker (%s)" % w)
        pid = w[0]
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            cmd = f.read().split(b"\0")[:-1]
        check(cmd == [b"bounced", b"worker"], "the worker is exec'd as 'bounced worker'", cmd)
        check(status(pid, "Threads") == "1", "it has one thread (the server has %s)" %
              status(b.proc.pid, "Threads"))
        fds = sorted(int(x) for x in os.listdir("/proc/%d/fd" % pid))
        check(fds == [0, 1, 2, 3], "it has only descriptors 0-3 open", fds)
        targets = [os.readlink("/proc/%d/fd/%d" % (pid, fd)) for fd in (0, 1, 3)]
        check(targets[0] == "/dev/null" and targets[1] == "/dev/null" and
              targets[2].startswith("socket:"), "0 and 1 are /dev/null, 3 its socket", targets)
        with open("/proc/%d/environ" % pid, "rb") as f:
            env = f.read()
        check(b"BOUNCED_TEST_SECRET" not in env and b"PATH=" not in env,
              "the server's environment is not passed on", env)
        check(status(pid, "NoNewPrivs") == "1" and status(pid, "Seccomp") == "2",
              "NoNewPrivs and a seccomp filter are set", (status(pid, "NoNewPrivs"),
                                                          status(pid, "Seccomp")))
        with open("/proc/sys/kernel/randomize_va_space") as f:
            aslr = f.read().strip() != "0"
        if aslr:
            check(exe_base(pid) != exe_base(b.proc.pid),
                  "its address-space layout is its own (%s, server %s)" %
                  (exe_base(pid), exe_base(b.proc.pid)))

        # The hook: the worker calls open(2) on this message and the filter kills it.
        m = harness.dsn("opened@example.com", VERP, "sandbox-1@x").replace(
            "Subject: hello", "Subject: %s" % MARKER)
        r = c.deliver([VERP], m)
        check(r[0] is not None and r[0].startswith(OK % VERP),
              "the message whose worker called open() gets 250", r)
        deadline = time.time() + 10
        while "sandbox-1" not in b.read_log() and time.time() < deadline:
            time.sleep(0.05)
        log = b.read_log()
        check("unparsed=\"parse worker killed by signal 31 (a system call its sandbox forbids)\""
              in log, "the worker was killed by the filter (SIGSYS), the log says so", log[-3000:])
        r = c.deliver([VERP], harness.dsn("next@example.com", VERP, "sandbox-2@x"))
        check(r[0] is not None and r[0].startswith(OK % VERP), "the next message gets 250", r)
        w2 = children(b.proc.pid)
        check(len(w2) == 1 and w2 != w, "the worker was replaced (%s -> %s)" % (w, w2))
        rows = b.sql("SELECT outcome FROM messages ORDER BY id")
        check(rows == [["parsed"], ["unparsed"], ["parsed"]],
              "stored parsed, unparsed, then parsed by the new worker", rows)
        rows = b.sql("SELECT message_id FROM bounce_events ORDER BY occurred_at, message_id")
        check(rows == [["<sandbox-0@x>"], ["<sandbox-2@x>"]], "events for the parsed ones only",
              rows)
        c.close()
    finally:
        b.stop()
    harness.cleanup(d)
    print("PASS")


harness_env = "BOUNCED_WORKER_TEST_OPEN"

if __name__ == "__main__":
    main()
