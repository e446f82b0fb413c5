#!/usr/bin/env python3
"""Hostile and unlucky deliveries never cost a message or the server:
- the crafted boundary of issue 5 gets 250 and the server keeps serving;
- a message over the size limit is stored truncated and gets 250;
- a parse worker killed while parsing leaves its message stored unparsed with 250, and the next
  message is parsed by a restarted worker;
- a peer that goes away while its message is being stored: the message is committed once, the
  server keeps serving, and the re-sent message is recognised;
- SIGTERM during DATA: the message is still answered 250, then 421, and the exit status is 0;
- a client pipelining without reading its replies is throttled, not buffered without bound;
- the cap on sessions answers 421; the command timeout answers 421;
- TCP listens on loopback, refuses a non-loopback address without an allow list, and serves
  only the clients the allow list names;
- SIGHUP reloads the rules (a broken file is refused) and the server carries on;
- a database locked by another process past the busy timeout: 451 4.3.0 for every recipient,
  then 250 once the lock is gone.
usage: test_robust.py BOUNCED"""
import os
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check  # noqa: E402

OK = "250 2.0.0 <%s> Ok: stored as "


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def own_ipv4():
    """A non-loopback IPv4 address of this machine, or None."""
    try:
        out = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=10).stdout
    except OSError:
        return None
    for a in out.split():
        if a.count(".") == 3 and not a.startswith("127."):
            return a
    return None


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def workers(pid):
    """PIDs of the parse workers: the children of bounced."""
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        return sorted(int(x) for x in f.read().split())


def main():
    exe = os.path.abspath(sys.argv[1])
    d = harness.scratch("robust")
    port = free_port()
    conf = "[lmtp]\nmax_sessions = 3\ntimeout_command = 2\n"
    b = harness.Bounced(exe, d, config=conf, extra=["tcp:127.0.0.1:%d" % port])
    verp = "bounces+joe=example.com@bounce.test"
    # Built before any session is open: the sessions below time out after 2 idle seconds.
    big = harness.dsn("big@example.com", verp, "big-1@x") + ("x" * 998 + "\r\n") * (67 * 1024 + 100)
    b.start()
    try:
        c = harness.Lmtp(b.sock)
        c.hello()
        r = c.deliver(["bounces@bounce.test"], harness.crafted("crafted-1@evil.test"))
        check(r[0] is not None and r[0].startswith(OK % "bounces@bounce.test"),
              "the crafted boundary=\"\\\"\" message gets 250", r)
        r = c.deliver([verp], harness.dsn("joe@example.com", verp, "after-crafted@x"))
        check(r[0] is not None and r[0].startswith(OK % verp), "the server keeps serving after it", r)
        rows = b.sql("SELECT address, type FROM suppressed WHERE address = 'joe@example.com'")
        check(rows == [["joe@example.com", "hard"]], "and the next bounce is acted on", rows)
        # The log line of a stored message says stored=, never result=451 (an else that
        # bound to the wrong if wrote both).
        stored = [l for l in b.read_log().splitlines() if "after-crafted@x" in l or " stored=" in l]
        check(stored and not any("result=451" in l for l in stored),
              "a stored message is logged stored=, without result=451", stored)

        # Over LIMIT_MESSAGE_BYTES (64 MiB): kept truncated, 250.
        r = c.deliver([verp], big)
        check(r[0] is not None and r[0].startswith(OK % verp), "a 67 MiB message gets 250", r)
        rows = b.sql("SELECT size, outcome, length(raw) FROM messages WHERE message_id LIKE '%big-1@x%'")
        check(len(rows) == 1 and rows[0][1] == "truncated" and int(rows[0][2]) == 64 * 1024 * 1024,
              "and is stored truncated at 64 MiB", rows)
        c.send("QUIT\r\n")
        check(c.reply() == ["221 2.0.0 Bye"], "QUIT after it")
        c.close()

        # A client that pipelines commands without reading the replies is throttled: the
        # server's memory stays flat, and every reply arrives once the client reads.
        rss0 = rss_kib(b.proc.pid)
        f = harness.Lmtp(b.sock)
        f.hello()
        f.s.setblocking(False)
        chunk = b"NOOP\r\n" * 10000
        sent, deadline = 0, time.time() + 1.2  # under the 2 s timeout of this server
        while time.time() < deadline:
            try:
                sent += f.s.send(chunk[sent % len(chunk):])
            except BlockingIOError:
                time.sleep(0.01)
        rss1 = rss_kib(b.proc.pid)
        f.s.setblocking(True)
        f.s.settimeout(30)
        got = 0
        while got < sent // 6:
            line = f.line()
            if line != "250 2.0.0 Ok":
                break
            got += 1
        if sent % 6:  # the last command was cut: complete it now that the replies are read
            f.send(b"NOOP\r\n"[sent % 6:])
            got += f.line() == "250 2.0.0 Ok"
        check(got == (sent + 5) // 6, "%d pipelined NOOPs sent without reading, all %d replies arrive" %
              ((sent + 5) // 6, got))
        check(rss1 - rss0 < 8 * 1024, "server memory grew %d KiB meanwhile" % (rss1 - rss0))
        f.close()

        # A second server on the same socket refuses to start instead of stealing it.
        out = subprocess.run([exe, "serve", "--db", os.path.join(d, "other.db"), "--listen",
                              "unix:" + b.sock], capture_output=True, text=True, timeout=30)
        check(out.returncode != 0 and "another server is listening" in out.stderr,
              "a second server on the same socket refuses to start", out.stderr)

        # TCP on loopback.
        t = harness.Lmtp(tcp=("127.0.0.1", port))
        g, _ = t.hello()
        check(g == ["220 bounced.test LMTP bounced ready"], "TCP listener on 127.0.0.1 greets", g)

        # The session cap: 3 sessions (t is one).
        c1 = harness.Lmtp(b.sock)
        c2 = harness.Lmtp(b.sock)
        check(c1.reply()[0].startswith("220") and c2.reply()[0].startswith("220"), "sessions 2 and 3 greeted")
        c3 = harness.Lmtp(b.sock)
        g = c3.reply()
        check(g == ["421 4.3.2 Too many sessions, try again later"], "session 4 is refused with 421", g)
        c3.close()

        # The command timeout (2 s): idle sessions get 421 and are closed.
        start = time.time()
        g = c1.reply()
        took = time.time() - start
        check(g == ["421 4.4.2 bounced.test Error: timeout exceeded"] and 1 <= took < 6,
              "an idle session times out with 421 after ~2 s (%.1f s)" % took, g)
        check(c1.line() is None, "and is closed")
        for x in (c1, c2, t):
            x.close()

        # SIGHUP: reload; the server carries on.
        b.proc.send_signal(signal.SIGHUP)
        time.sleep(0.3)
        c = harness.Lmtp(b.sock)
        c.hello()
        r = c.deliver(["bounces@bounce.test"], "Subject: after hup\r\n\r\nhi\r\n")
        check(r[0] is not None and r[0].startswith(OK % "bounces@bounce.test"), "SIGHUP: still serving", r)
        check("reloaded" in b.read_log(), "SIGHUP is logged as a reload")

        # SIGTERM during DATA: the message is finished and answered, then 421, then exit 0.
        c.send("MAIL FROM:<>\r\nRCPT TO:<%s>\r\nDATA\r\n" % verp)
        pre = [c.line() for _ in range(3)]
        check(pre[2].startswith("354"), "DATA accepted", pre)
        c.send(harness.dsn("term@example.com", verp, "term-1@x")[:300])
        time.sleep(0.2)
        b.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        check(b.proc.poll() is None, "SIGTERM waits for the message in flight")
        refused = False
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(b.sock)
            refused = s.recv(100) == b""
        except OSError:
            refused = True
        check(refused, "and no longer accepts sessions")
        c.send(harness.dsn("term@example.com", verp, "term-1@x")[300:] + ".\r\n")
        r = [c.line(), c.line(), c.line()]
        check(r[0].startswith(OK % verp) and r[1] == "421 4.3.2 Service shutting down, closing connection"
              and r[2] is None, "the message in flight gets 250, then 421", r)
        rc = b.proc.wait(20)
        b.proc = None
        check(rc == 0, "exit status 0 after SIGTERM", rc)
        rows = b.sql("SELECT count(*) FROM messages WHERE message_id LIKE '%term-1@x%'")
        check(rows == [["1"]], "the message in flight is in the database", rows)
    finally:
        b.stop()

    # A non-loopback TCP address without an allow list is refused at start.
    out = subprocess.run([exe, "serve", "--db", os.path.join(d, "x.db"), "--listen",
                          "tcp:0.0.0.0:%d" % free_port()], capture_output=True, text=True, timeout=30)
    check(out.returncode != 0 and "allow" in out.stderr,
          "tcp:0.0.0.0 without [lmtp] allow is refused (%d)" % out.returncode, out.stderr)

    # An error about a listener names it whole, however long (it was cut at 512 bytes).
    long_path = os.path.join(d, "x" * 600, "lmtp.sock")
    out = subprocess.run([exe, "serve", "--db", os.path.join(d, "x.db"), "--listen",
                          "unix:" + long_path], capture_output=True, text=True, timeout=30)
    check(out.returncode != 0 and ("unix:%s: path too long" % long_path) in out.stderr,
          "a socket path too long is named whole (%d)" % out.returncode, out.stderr)

    # [lmtp] allow: on a non-loopback address only the named clients are served (loopback
    # always is). Needs an address other than loopback on this machine.
    ip = own_ipv4()
    if ip is None:
        print("skip: no non-loopback IPv4 address for the allow-list check")
    else:
        net24 = ".".join(ip.split(".")[:3]) + ".0/24"
        for allow, served in (("192.0.2.254, 198.51.100.7", False), ("198.51.100.7," + ip, True),
                              # A prefix, and the client seen on an IPv6 socket's terms.
                              ("198.51.100.0/24 " + net24, True), ("::ffff:" + ip, True)):
            da = harness.scratch("allow")
            p2 = free_port()
            b = harness.Bounced(exe, da, config="[lmtp]\nallow = %s\n" % allow,
                                extra=["tcp:0.0.0.0:%d" % p2])
            b.start()
            try:
                s2 = socket.create_connection((ip, p2), timeout=10)
                g = s2.recv(200)
                s2.close()
                check((g.startswith(b"220 ")) == served, "allow = %s: a client at %s is %s" %
                      (allow, ip, "served" if served else "refused"), g)
                t = harness.Lmtp(tcp=("127.0.0.1", p2))
                check(t.reply()[0].startswith("220"), "loopback is always served")
                t.close()
            finally:
                b.stop()
            harness.cleanup(da)

    # A parse worker that dies while parsing (as under the OOM killer): its message is stored
    # unparsed and answered 250, the worker is replaced and parses the next message. The worker
    # is stopped first so that it is certainly holding the message when it is killed.
    d2 = harness.scratch("worker")
    b = harness.Bounced(exe, d2, config="[lmtp]\nworkers = 1\n")
    b.start()
    try:
        c = harness.Lmtp(b.sock)
        c.hello()
        w1 = workers(b.proc.pid)
        check(len(w1) == 1, "one parse worker (pid %s)" % w1)
        os.kill(w1[0], signal.SIGSTOP)
        c.send("MAIL FROM:<>\r\nRCPT TO:<%s>\r\nDATA\r\n" % verp)
        pre = [c.line() for _ in range(3)]
        c.send(harness.dsn("w1@example.com", verp, "worker-1@x") + ".\r\n")
        time.sleep(0.5)
        os.kill(w1[0], signal.SIGKILL)
        r = c.line()
        check(pre[2].startswith("354") and r is not None and r.startswith(OK % verp),
              "the message whose worker was killed gets 250", (pre, r))
        w2 = workers(b.proc.pid)
        check(len(w2) == 1 and w2 != w1, "the worker was replaced at once (%s -> %s)" % (w1, w2))
        r = c.deliver([verp], harness.dsn("w2@example.com", verp, "worker-2@x"))
        check(r[0] is not None and r[0].startswith(OK % verp), "the next message gets 250", r)
        check(workers(b.proc.pid) == w2, "and that worker parsed the next one")
        rows = b.sql("SELECT outcome FROM messages ORDER BY id")
        check(rows == [["unparsed"], ["parsed"]], "stored unparsed, then parsed by the new worker", rows)
        rows = b.sql("SELECT count(*) FROM bounce_events")
        check(rows == [["1"]], "only the second one has an event", rows)
        check("unparsed=\"parse worker killed by signal 9\"" in b.read_log(),
              "the log says why the first was not parsed", b.read_log())
        c.close()

        # The peer goes away while its message is being stored (its worker is stopped, so the
        # message is certainly in flight): it is committed all the same, once, and the server
        # keeps serving; Postfix re-sending it later is recognised.
        w = workers(b.proc.pid)
        os.kill(w[0], signal.SIGSTOP)
        gone = harness.Lmtp(b.sock)
        gone.hello()
        gone.send("MAIL FROM:<>\r\nRCPT TO:<%s>\r\nDATA\r\n" % verp)
        pre = [gone.line() for _ in range(3)]
        lost = harness.dsn("gone@example.com", verp, "gone-1@x", qid="4GONE12345")
        gone.send(lost + ".\r\n")
        gone.s.shutdown(socket.SHUT_RDWR)
        gone.close()
        os.kill(w[0], signal.SIGCONT)
        check(pre[2].startswith("354"), "DATA accepted before the peer went away", pre)
        deadline = time.time() + 20
        while "qid=4GONE12345" not in b.read_log() and time.time() < deadline:
            time.sleep(0.05)
        check("qid=4GONE12345" in b.read_log() and "stored=" in b.read_log().split("qid=4GONE12345")[1],
              "the message of the peer that went away is stored (logged)", b.read_log())
        rows = b.sql("SELECT count(*) FROM messages WHERE queue_id = '4GONE12345'")
        check(rows == [["1"]], "once", rows)
        c = harness.Lmtp(b.sock)
        c.hello()
        r = c.deliver([verp], harness.dsn("w3@example.com", verp, "worker-3@x"))
        check(r[0] is not None and r[0].startswith(OK % verp), "the server keeps serving", r)
        r = c.deliver([verp], lost)
        check(r[0] is not None and r[0].startswith("250 2.0.0 <%s> Ok: already stored as " % verp),
              "the re-sent message is recognised as already stored", r)
        rows = b.sql("SELECT count(*) FROM messages WHERE queue_id = '4GONE12345'")
        check(rows == [["1"]], "and still counts once", rows)
        c.close()
    finally:
        b.stop()
    # Database trouble: another process holds the write lock past the busy timeout. Every
    # recipient of the message gets 451 4.3.0 (Postfix keeps it queued); once the lock is gone
    # the same message is stored and gets 250.
    d3 = harness.scratch("busy")
    b = harness.Bounced(exe, d3, config="[store]\nbusy_timeout_ms = 300\n")
    b.start()
    try:
        locker = subprocess.Popen(["sqlite3", b.db], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
        locker.stdin.write("BEGIN IMMEDIATE;\nSELECT 'locked';\n")
        locker.stdin.flush()
        check(locker.stdout.readline().strip() == "locked", "sqlite3 holds the write lock")
        c = harness.Lmtp(b.sock)
        c.hello()
        rcpts = [verp, "postmaster@bounce.test"]
        m = harness.dsn("busy@example.com", verp, "busy-1@x")
        r = c.deliver(rcpts, m)
        check(r == ["451 4.3.0 <%s> Error: database unavailable, try again later" % a for a in rcpts],
              "database locked: 451 4.3.0 for every recipient", r)
        locker.stdin.write("ROLLBACK;\n.quit\n")
        locker.stdin.close()
        locker.wait(10)
        r = c.deliver(rcpts, m)
        check(all(x is not None and x.startswith(OK % a) for x, a in zip(r, rcpts)),
              "lock gone: the re-sent message gets 250", r)
        rows = b.sql("SELECT count(*) FROM messages")
        check(rows == [["1"]], "and is stored once", rows)
        check("result=451" in b.read_log(), "the 451 is logged", b.read_log())
        c.close()
    finally:
        b.stop()
    # SIGHUP re-reads the rules: a local reason rule added while serving decides the next
    # message; a broken rules file is refused and the running rules stay.
    d4 = harness.scratch("hup")
    local = os.path.join(d4, "local.rules")
    with open(local, "w") as f:
        f.write("# empty for now\n")
    b = harness.Bounced(exe, d4, config="[rules]\nlocal = %s\n" % local)
    b.start()
    try:
        zebra = "451 4.0.0 <%s>: zebra crossing ahead"
        c = harness.Lmtp(b.sock)
        c.hello()
        r = c.deliver([verp], harness.dsn("z1@example.com", verp, "hup-1@x", reason=zebra))
        check(r[0] is not None and r[0].startswith(OK % verp), "before SIGHUP: 250", r)
        with open(local, "w") as f:
            f.write("zebra reason diag mailbox_full \\bzebra\\ crossing\\b\n")
        b.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while "reloaded" not in b.read_log() and time.time() < deadline:
            time.sleep(0.05)
        r = c.deliver([verp], harness.dsn("z2@example.com", verp, "hup-2@x", reason=zebra))
        check(r[0] is not None and r[0].startswith(OK % verp), "after SIGHUP: 250", r)
        rows = b.sql("SELECT reason FROM bounce_events ORDER BY occurred_at, rowid")
        check(len(rows) == 2 and rows[0] != ["mailbox_full"] and rows[1] == ["mailbox_full"],
              "the rule added before SIGHUP decides the second message only", rows)
        with open(local, "w") as f:
            f.write("broken reason diag no_such_reason x\n")
        b.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while "keeping the running configuration" not in b.read_log() and time.time() < deadline:
            time.sleep(0.05)
        check("keeping the running configuration" in b.read_log(), "a broken rules file is refused",
              b.read_log())
        r = c.deliver([verp], harness.dsn("z3@example.com", verp, "hup-3@x", reason=zebra))
        rows = b.sql("SELECT reason FROM bounce_events ORDER BY occurred_at, rowid")
        check(r[0] is not None and r[0].startswith(OK % verp) and rows[-1] == ["mailbox_full"],
              "and the running rules stay", rows)
        c.close()
    finally:
        b.stop()
    harness.cleanup(d)
    harness.cleanup(d2)
    harness.cleanup(d3)
    harness.cleanup(d4)
    print("PASS")


if __name__ == "__main__":
    main()
