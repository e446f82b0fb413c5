#!/usr/bin/env python3
"""Hostile inputs too large to commit (issue 8) or holding NUL bytes inside addresses (issue 19):
generates each into a temporary directory, runs `bounced parse FILE` on it, and asserts it finishes
within HOSTILE_TIMEOUT seconds (default 5), exits 0 and prints exactly one valid JSON object that
carries the expected flags (and, where a case names them, exactly the expected recipients).

usage: hostile.py BOUNCED
The small hostile messages live in tests/fixtures/hostile/ (checked by the fixtures suite).
"""
import json
import os
import subprocess
import sys
import tempfile
import time

TIMEOUT = float(os.environ.get("HOSTILE_TIMEOUT", "5"))

HEAD = (b"From: MAILER-DAEMON@mx.example.org\nTo: bounces@example.org\n"
        b"Subject: Undelivered Mail Returned to Sender\nMessage-ID: <hostile@mx.example.org>\n"
        b"MIME-Version: 1.0\n")


def deep_nesting(levels=20000):
    parts = [HEAD]
    for i in range(levels):
        parts.append(b"Content-Type: multipart/mixed; boundary=\"b%d\"\n\n--b%d\n" % (i, i))
    parts.append(b"Content-Type: text/plain\n\n550 5.1.1 <joe@example.com>: user unknown\n")
    for i in reversed(range(levels)):
        parts.append(b"--b%d--\n" % i)
    return b"".join(parts)


def deep_reused_boundary(levels=20000):
    """Every level reuses the same boundary and none is closed."""
    parts = [HEAD, b"Content-Type: multipart/mixed; boundary=\"X\"\n\n"]
    for _ in range(levels):
        parts.append(b"--X\nContent-Type: multipart/mixed; boundary=\"X\"\n\n")
    parts.append(b"--X\n\n550 5.1.1 <joe@example.com>: user unknown\n")
    return b"".join(parts)


def deep_rfc822(levels=5000):
    parts = [HEAD]
    for _ in range(levels):
        parts.append(b"Content-Type: message/rfc822\n\nFrom: a@example.org\n")
    parts.append(b"\nbody\n")
    return b"".join(parts)


def many_parts(n=100000):
    parts = [HEAD, b"Content-Type: multipart/mixed; boundary=P\n\n"]
    parts.append(b"--P\n\n550 5.1.1 <joe@example.com>: user unknown\n" * n)
    parts.append(b"--P--\n")
    return b"".join(parts)


def fifty_megabytes():
    line = b"QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB\n"
    body = line * (50 * 1024 * 1024 // len(line) + 1)
    return (HEAD + b"Content-Type: multipart/report; report-type=delivery-status; boundary=R\n\n"
            b"--R\nContent-Type: text/plain\n\n550 5.1.1 <joe@example.com>: user unknown\n"
            b"--R\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n\n"
            b"Final-Recipient: rfc822; joe@example.com\nAction: failed\nStatus: 5.1.1\n\n"
            b"--R\nContent-Type: message/rfc822\n\nFrom: a@example.org\nSubject: big\n"
            b"Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n"
            + body + b"--R--\n")


def megabyte_header_line():
    return HEAD + b"X-Long: " + b"a" * (1024 * 1024) + b"\n\n550 5.1.1 <joe@example.com>: user unknown\n"


def megabyte_folded_header():
    return HEAD + b"X-Folded: a\n" + b" folded continuation line\n" * 60000 + b"\nbody\n"


def huge_header_block():
    return HEAD + b"".join(b"X-Filler-%07d: some value here\n" % i for i in range(40000)) + b"\nbody\n"


def nul_megabyte():
    return HEAD + b"\n" + b"\0" * (1024 * 1024) + b"\n550 5.1.1 <joe@example.com>: user unknown\n"


def ten_megabyte_line():
    return HEAD + b"\n" + b"x" * (10 * 1024 * 1024)


def cr_only_big():
    return (HEAD + b"\n" + b"550 5.1.1 <joe@example.com>: user unknown\n" * 100000).replace(b"\n", b"\r")


def encoded_words():
    return HEAD.replace(b"Subject: Undelivered", b"Subject: " + b"=?utf-8?q?a?= " * 100000 + b"Undelivered") + b"\nbody\n"


def charset_cycling_filenames():
    # 16 parts whose filenames cycle through 12 charsets: more than the converter cache holds,
    # so every word would cost an iconv_open/iconv_close without LIMIT_CHARSET_OPENS (38 s).
    cs = [b"iso-8859-%d" % i for i in range(1, 11)] + [b"koi8-r", b"windows-1251"]
    words = b"\n ".join([b"".join(b"=?" + c + b"?Q?a?=" for c in cs)] * 1200)	# folded lines
    parts = b"".join(b"--b\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename=\""
                     + words + b"\"\n\nx\n" for _ in range(16))
    return (b"From: someone@example.org\nSubject: files\nMIME-Version: 1.0\n"
            b"Content-Type: multipart/mixed; boundary=b\n\n" + parts + b"--b--\n")


def unterminated_encoded_words():
    return HEAD + b"X-Bad: " + b"=?utf-8?q?" * 100000 + b"\n\nbody\n"


def backtracking_text():
    """Diagnostic text shaped to make naive regular expressions backtrack."""
    runs = [
        b"550 5.1.1 " + b"a" * 50000 + b"!",
        b"550 5.1.1 <" + b"a." * 20000 + b"@",
        b"550 " + b"user " * 20000 + b"unknow",
        b"550 5.1.1 " + b"@" * 30000,
        b"550 5.1.1 " + b" " * 50000 + b"x",
        b"550 " + b"5.1." * 20000,
        b"550 5.7.1 " + b"<a@b" * 20000,
        b"Diagnostic-Code: smtp; 550 " + b"(" * 20000 + b"mailbox",
    ]
    text = b"\n".join(runs)
    return (HEAD + b"Content-Type: multipart/report; report-type=delivery-status; boundary=R\n\n"
            b"--R\nContent-Type: text/plain\n\n" + text + b"\n"
            b"--R\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n\n"
            b"Final-Recipient: rfc822; joe@example.com\nAction: failed\nStatus: 5.1.1\n"
            b"Diagnostic-Code: smtp; " + b"a" * 60000 + b"\n\n--R--\n")


def backtracking_plain():
    """The same, with no MIME structure: only the heuristic rules read it."""
    return (b"From: MAILER-DAEMON@mx.example.org\nSubject: failure notice\n\n"
            b"Hi. This is the qmail-send program at mx.example.org.\n"
            b"<" + b"joe." * 30000 + b"@example.com>:\n" + b"Sorry, " * 30000 + b"\n"
            + b"The following addresses had permanent fatal errors -----\n" * 5000)


def many_dsn_recipients():
    """A DSN naming 1500 recipients: the first LIMIT_RECIPIENTS (1000) are reported, flagged."""
    groups = b"".join(b"Final-Recipient: rfc822; u%d@example.com\nAction: failed\n"
                      b"Status: 5.1.1\n\n" % i for i in range(1500))
    return (HEAD + b"Content-Type: multipart/report; report-type=delivery-status; boundary=R\n\n"
            b"--R\nContent-Type: text/plain\n\nfailed\n"
            b"--R\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n\n"
            + groups + b"--R--\n")


def many_arf_recipients():
    """An ARF report with 1500 Original-Rcpt-To fields."""
    rcpts = b"".join(b"Original-Rcpt-To: u%d@example.com\n" % i for i in range(1500))
    return (b"From: fbl@isp.example\nTo: abuse@example.org\nMIME-Version: 1.0\n"
            b"Content-Type: multipart/report; report-type=feedback-report; boundary=F\n\n"
            b"--F\nContent-Type: text/plain\n\ncomplaint\n"
            b"--F\nContent-Type: message/feedback-report\n\nFeedback-Type: abuse\nVersion: 1\n"
            + rcpts + b"--F--\n")


# NUL inside an address (issue 19): "joe<NUL>evil@example.com" is no address. The guard used to
# turn the NUL into a space and every address reader then found evil@example.com, a hard bounce for
# an address nobody named. Each message also names ann@example.com plainly where it can, so the
# case shows the NUL spoils its own address only.
NUL_ADDR = b"joe\0evil@example.com"


def nul_dsn():
    """A DSN whose first Final-Recipient holds a NUL (bare, bracketed, quoted local part)."""
    groups = b"".join(b"Final-Recipient: rfc822; " + a + b"\nAction: failed\nStatus: 5.1.1\n\n"
                      for a in (NUL_ADDR, b"<" + NUL_ADDR + b">", b"\"joe\0\"@example.com",
                                b"ann@example.com"))
    return (HEAD + b"Content-Type: multipart/report; report-type=delivery-status; boundary=R\n\n"
            b"--R\nContent-Type: text/plain\n\nfailed\n"
            b"--R\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n\n"
            + groups + b"--R--\n")


def nul_postfix_text():
    """A free-form Postfix bounce naming the address with a NUL, then ann@example.com."""
    return (HEAD + b"\nThis is the mail system at host mx.example.org.\n\n"
            b"<" + NUL_ADDR + b">: host mx.example.com[192.0.2.1] said: 550 5.1.1 <" + NUL_ADDR
            + b">: Recipient address rejected: User unknown\n\n"
            b"<ann@example.com>: host mx.example.com[192.0.2.1] said: 550 5.1.1 <ann@example.com>:"
            b" Recipient address rejected: User unknown\n")


def nul_qmail_text():
    """A qmail bounce (no MIME) whose only recipient holds a NUL."""
    return (b"From: MAILER-DAEMON@mx.example.org\nSubject: failure notice\n\n"
            b"Hi. This is the qmail-send program at mx.example.org.\n"
            b"I'm afraid I wasn't able to deliver your message to the following addresses.\n"
            b"This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
            b"<" + NUL_ADDR + b">:\n192.0.2.1 does not like recipient.\n"
            b"Remote host said: 550 5.1.1 user unknown\n")


def nul_x_failed():
    return HEAD + b"X-Failed-Recipients: " + NUL_ADDR + b"\n\nunrouteable address\n"


def nul_arf():
    return (b"From: fbl@isp.example\nTo: abuse@example.org\nMIME-Version: 1.0\n"
            b"Content-Type: multipart/report; report-type=feedback-report; boundary=F\n\n"
            b"--F\nContent-Type: text/plain\n\ncomplaint\n"
            b"--F\nContent-Type: message/feedback-report\n\nFeedback-Type: abuse\nVersion: 1\n"
            b"Original-Rcpt-To: " + NUL_ADDR + b"\n--F--\n")


def nul_autoreply():
    return (b"From: Joe <" + NUL_ADDR + b">\nTo: bounces@example.org\nSubject: Out of office\n"
            b"Auto-Submitted: auto-replied\n\nI am away.\n")


# name, generator, flags that must be reported (with --explain)[, the recipients' addresses]
CASES = [
    ("20000 nested multiparts", deep_nesting, {"too_deep"}),
    ("20000 nested multiparts reusing one boundary", deep_reused_boundary, {"too_deep"}),
    ("5000 nested message/rfc822", deep_rfc822, {"too_deep"}),
    ("100000 parts", many_parts, {"too_many_parts"}),
    ("DSN with 1500 recipients", many_dsn_recipients, {"too_many_recipients"}),
    ("ARF with 1500 Original-Rcpt-To", many_arf_recipients, {"too_many_recipients"}),
    ("50 MB message", fifty_megabytes, {"truncated"}),
    ("1 MB header line", megabyte_header_line, {"long_line"}),
    ("1.5 MB folded header", megabyte_folded_header, {"header_cut"}),
    ("1.3 MB header block", huge_header_block, {"header_cut"}),
    ("1 MB of NUL bytes", nul_megabyte, {"nul_bytes"}),
    ("10 MB line", ten_megabyte_line, {"long_line", "truncated"}),
    ("4 MB CR-only", cr_only_big, {"truncated"}),
    ("100000 encoded words", encoded_words, set()),
    ("100000 unterminated encoded words", unterminated_encoded_words, set()),
    ("filenames cycling through 12 charsets", charset_cycling_filenames, set()),
    ("regex backtracking in a report", backtracking_text, set()),
    ("regex backtracking in plain text", backtracking_plain, set()),
    ("NUL inside DSN recipients", nul_dsn, {"nul_bytes"}, ["ann@example.com"]),
    ("NUL inside an address, Postfix text", nul_postfix_text, {"nul_bytes"}, ["ann@example.com"]),
    ("NUL inside an address, qmail text", nul_qmail_text, {"nul_bytes"}, []),
    ("NUL inside X-Failed-Recipients", nul_x_failed, {"nul_bytes"}, []),
    ("NUL inside ARF Original-Rcpt-To", nul_arf, {"nul_bytes"}, [""]),
    ("NUL inside an auto-reply's From", nul_autoreply, {"nul_bytes"}, []),
]


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    bounced = sys.argv[1]
    failed = 0
    with tempfile.TemporaryDirectory(prefix="bounced-hostile-") as tmp:
        for i, (name, gen, flags, *addrs) in enumerate(CASES):
            path = os.path.join(tmp, "hostile-%02d.eml" % i)
            with open(path, "wb") as f:
                f.write(gen())
            size = os.path.getsize(path)
            t0 = time.monotonic()
            problem = None
            try:
                out = subprocess.run([bounced, "parse", "--explain", path], capture_output=True,
                                     timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                problem = "did not finish within %.0f s" % TIMEOUT
            took = time.monotonic() - t0
            if problem is None:
                lines = out.stdout.splitlines()
                if out.returncode != 0:
                    problem = "exit %d: %s" % (out.returncode, out.stderr.decode(errors="replace")[-500:])
                elif len(lines) != 1:
                    problem = "%d output lines, want 1" % len(lines)
                else:
                    try:
                        o = json.loads(lines[0].decode("utf-8"))
                        if not isinstance(o, dict) or "kind" not in o or "recipients" not in o:
                            problem = "not a report: %.200s" % lines[0]
                        elif not flags <= set(o.get("flags", [])):
                            problem = "flags %s, want at least %s" % (o.get("flags"), sorted(flags))
                        elif addrs and [r["address"] for r in o["recipients"]] != addrs[0]:
                            problem = "recipients %s, want %s" % (
                                [r["address"] for r in o["recipients"]], addrs[0])
                    except (UnicodeDecodeError, ValueError) as e:
                        problem = "invalid JSON (%s): %.200r" % (e, lines[0])
            os.unlink(path)
            status = "FAIL" if problem else "ok"
            print("%-4s %-48s %9d bytes %6.2f s%s" % (status, name, size, took,
                                                       ": " + problem if problem else ""))
            failed += problem is not None
    print("%d passed, %d failed" % (len(CASES) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
