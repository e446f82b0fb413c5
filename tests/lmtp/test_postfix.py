#!/usr/bin/env python3
"""A real Postfix (Debian's) configured here in a scratch directory receives a bounce over SMTP
on a loopback port and delivers it to bounced over LMTP (transport map, unix socket owned by
group postfix); the bounce appears in the `suppressed` and `bounce_events` views, and Postfix
logs status=sent with bounced's 250 reply.
usage: test_postfix.py BOUNCED   (needs root and the postfix package: skipped otherwise)"""
import os
import re
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check  # noqa: E402


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def main():
    if not harness.have_postfix():
        print("SKIP: needs root and Debian's postfix")
        sys.exit(harness.SKIP)
    exe = os.path.abspath(sys.argv[1])
    d = harness.scratch("postfix")
    b = harness.Bounced(exe, d, config="[lmtp]\nsocket_group = postfix\n")
    port = free_port()
    pf = harness.Postfix(d, port, b.sock)
    b.start()
    try:
        pf.start()
        verp = "bounces+joe=example.com@bounce.test"
        msg = os.path.join(d, "dsn.eml")
        with open(msg, "w", newline="") as f:
            f.write(harness.dsn("joe@example.com", verp, "pf-1@mx.sender.test"))
        r = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % port, "--from", "<>",
                            "--to", verp, "--helo", "mx.sender.test", "--data", "@" + msg],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, "Postfix accepts the bounce over SMTP", r.stdout + r.stderr)
        m = re.search(r"<-  250 2\.0\.0 Ok: queued as (\w+)", r.stdout)
        check(m is not None, "and queues it", r.stdout)
        qid = m.group(1)

        deadline = time.time() + 60
        rows = []
        while time.time() < deadline:
            rows = b.sql("SELECT address, type, reason FROM suppressed")
            if rows:
                break
            time.sleep(0.2)
        check(rows == [["joe@example.com", "hard", "user_unknown"]],
              "the suppressed view has joe@example.com", (rows, pf.read_log(), b.read_log()))
        rows = b.sql("SELECT address, class, reason, status FROM bounce_events")
        check(rows == [["joe@example.com", "hard", "user_unknown", "5.1.1"]], "bounce_events has it", rows)
        rows = b.sql("SELECT queue_id, envelope_rcpt, envelope_sender, source FROM messages")
        check(rows == [[qid, verp, "", "lmtp"]],
              "the message row has Postfix's queue ID %s from its Received header" % qid, rows)

        deadline = time.time() + 20
        sent = None
        while time.time() < deadline and sent is None:
            sent = re.search(r"%s: to=<%s>, relay=[^,]*lmtp.sock[^,]*,.*status=sent \(250 2\.0\.0 <%s> Ok: "
                             r"stored as \d+\)" % (qid, re.escape(verp), re.escape(verp)), pf.read_log())
            time.sleep(0.2)
        check(sent is not None, "Postfix logs status=sent with bounced's 250", pf.read_log())
        check("qid=%s" % qid in b.read_log(), "bounced logs the queue ID")
    finally:
        pf.stop()
        b.stop()
    harness.cleanup(d)
    print("PASS")


if __name__ == "__main__":
    main()
