#!/usr/bin/env python3
"""A real LMTP client: swaks --protocol LMTP --pipeline on bounced's unix socket, null sender,
several recipients; every reply code checked; the bounce appears in the `suppressed` and
`bounce_events` views read with the sqlite3 CLI. Also: a re-send counts once, the socket mode,
and raw pipelined sessions with exact replies.
usage: test_swaks.py BOUNCED"""
import os
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check  # noqa: E402


def swaks(sock, rcpts, path):
    out = subprocess.run(["swaks", "--protocol", "LMTP", "--pipeline", "--socket", sock,
                          "--from", "<>", "--to", ",".join(rcpts), "--helo", "client.test",
                          "--data", "@" + path],
                         capture_output=True, text=True, timeout=60)
    replies = [l[4:] for l in out.stdout.splitlines() if l.startswith(("<-  ", "<** "))]
    sent = [l[4:] for l in out.stdout.splitlines() if l.startswith(" -> ")]
    return out.returncode, replies, sent, out.stdout + out.stderr


def main():
    exe = os.path.abspath(sys.argv[1])
    d = harness.scratch("swaks")
    b = harness.Bounced(exe, d)
    b.start()
    try:
        mode = stat.S_IMODE(os.stat(b.sock).st_mode)
        check(mode == 0o660, "the socket has mode 0660 (got %o)" % mode)

        verp = "bounces+joe=example.com@bounce.test"
        msg = os.path.join(d, "dsn.eml")
        with open(msg, "w", newline="") as f:
            f.write(harness.dsn("joe@example.com", verp, "dsn-1@mx.sender.test"))
        rcpts = [verp, "postmaster@bounce.test", "bounces@bounce.test"]
        rc, replies, sent, transcript = swaks(b.sock, rcpts, msg)
        check(rc == 0, "swaks exits 0", transcript)
        check("MAIL FROM:<>" in sent, "swaks sent the null sender")
        want = (["220 bounced.test LMTP bounced ready",
                 "250-bounced.test", "250-PIPELINING", "250-ENHANCEDSTATUSCODES", "250-8BITMIME",
                 "250-SMTPUTF8", "250 SIZE",
                 "250 2.1.0 Ok"] + ["250 2.1.5 Ok"] * 3 +
                ["354 End data with <CR><LF>.<CR><LF>"])
        check(replies[:len(want)] == want, "greeting, LHLO, MAIL, 3 RCPT, DATA replies exact: %r" % replies)
        after = replies[len(want):]
        check(len(after) == 4, "one reply per recipient after the dot, then QUIT's: %r" % after)
        for i, r in enumerate(rcpts):
            check(after[i].startswith("250 2.0.0 <%s> Ok: stored as " % r),
                  "recipient %d answered 250 in order: %s" % (i, after[i]))
        check(after[3] == "221 2.0.0 Bye", "QUIT answered 221")

        rows = b.sql("SELECT address, type, reason FROM suppressed")
        check(rows == [["joe@example.com", "hard", "user_unknown"]],
              "the suppressed view has joe@example.com hard user_unknown: %r" % rows)
        rows = b.sql("SELECT address, class, reason, status, message_id FROM bounce_events")
        check(rows == [["joe@example.com", "hard", "user_unknown", "5.1.1", "<dsn-1@mx.sender.test>"]]
              or rows == [["joe@example.com", "hard", "user_unknown", "5.1.1", "dsn-1@mx.sender.test"]],
              "bounce_events has the event: %r" % rows)

        # Postfix re-sends after a lost reply: the same content counts once.
        rc, replies, sent, transcript = swaks(b.sock, rcpts, msg)
        check(rc == 0 and all(r.startswith("250 2.0.0 <%s> Ok: already stored as " % a)
                              for r, a in zip(replies[-4:-1], rcpts)),
              "a re-send is answered 250 as already stored: %r" % replies[-4:])
        rows = b.sql("SELECT count(*) FROM bounce_events")
        check(rows == [["1"]], "and counts once (%r events)" % rows)

        # Raw pipelined session: every command in one write, exact replies in order; a second
        # message in the same session; RSET, NOOP, VRFY, HELP.
        m2 = harness.dsn("ann@example.org", "bounces+ann=example.org@bounce.test", "dsn-2@x").encode()
        m2 = m2.replace(b"\r\n.", b"\r\n..")
        cmds = (b"LHLO raw.test\r\nRSET\r\nNOOP\r\nVRFY x\r\nHELP\r\n"
                b"MAIL FROM:<> BODY=8BITMIME SIZE=%d\r\nRCPT TO:<bounces+ann=example.org@bounce.test>\r\n"
                b"DATA\r\n" % len(m2) + m2 + b".\r\nMAIL FROM:<>\r\nRCPT TO:<a@bounce.test>\r\nDATA\r\n"
                b"Subject: not a bounce\r\n\r\nhello\r\n.\r\nQUIT\r\n")
        lines = harness.lmtp_session(b.sock, cmds)
        want = ["220 bounced.test LMTP bounced ready", "250-bounced.test", "250-PIPELINING",
                "250-ENHANCEDSTATUSCODES", "250-8BITMIME", "250-SMTPUTF8", "250 SIZE",
                "250 2.0.0 Ok", "250 2.0.0 Ok",
                "252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery",
                "214 2.0.0 Commands: LHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP",
                "250 2.1.0 Ok", "250 2.1.5 Ok", "354 End data with <CR><LF>.<CR><LF>"]
        check(lines[:len(want)] == want, "raw pipelined session: replies exact: %r" % lines)
        rest = lines[len(want):]
        check(len(rest) == 6 and rest[0].startswith("250 2.0.0 <bounces+ann=example.org@bounce.test> Ok")
              and rest[1:4] == ["250 2.1.0 Ok", "250 2.1.5 Ok", "354 End data with <CR><LF>.<CR><LF>"]
              and rest[4].startswith("250 2.0.0 <a@bounce.test> Ok") and rest[5] == "221 2.0.0 Bye",
              "two messages in one session answered in order: %r" % rest)
        rows = b.sql("SELECT address, type FROM suppressed ORDER BY address")
        check(rows == [["ann@example.org", "hard"], ["joe@example.com", "hard"]],
              "the second bounce is suppressed too: %r" % rows)
        log = b.read_log()
        check("qid=4ABCDEF123" in log and "class=hard reason=user_unknown" in log,
              "one log line per message with queue ID, class and reason")
    finally:
        b.stop()
    check(not os.path.exists(b.sock), "the socket is removed at exit")
    harness.cleanup(d)
    print("PASS")


if __name__ == "__main__":
    main()
