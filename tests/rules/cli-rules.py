#!/usr/bin/env python3
"""The rule engine as an operator meets it, through the real `bounced` binary (and a real
`bounced serve`, and a real Dovecot for `fetch` when dovecot-imapd is installed): a rule that hits
the regex limit is no match, flagged and logged naming the message; a [rules] dir that yields no
*.rules file stops start-up; rule file errors name the line where the error is; and the example
of bounced-rules(5), read from the page itself, gives what the page says.

usage: cli-rules.py BOUNCED"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(TOP, "tests", "lmtp"))
sys.path.insert(0, os.path.join(TOP, "tests", "imap"))
import harness  # noqa: E402  (tests/lmtp: a real `bounced serve` in a scratch directory)

BOUNCED = os.path.abspath(sys.argv[1])
EXIT_CONFIG = 78
EXIT_TEMPFAIL = 75
# Repeats of 'a' that make (?:a+)+[cd] give up at LIMIT_REGEX_MATCH (a few hundred suffice;
# 5000 is what the audit's message held).
HOSTILE_RUN = 5000
LIMIT_LOG = "a rule hit the regex limit (counted as no match; flag regex_limit)"

passed = failed = 0


def check(name, got, want):
    global passed, failed
    if got == want:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name}:\n  got  {got!r}\n  want {want!r}", flush=True)


def run(args, stdin=None):
    p = subprocess.run([BOUNCED] + args, input=stdin, capture_output=True, timeout=120)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def bounce(addr_line, subject="Undeliverable", sender="MAILER-DAEMON@mx.example.de"):
    return (f"From: {sender}\nTo: n@shop.example.org\nSubject: {subject}\n"
            f"Message-ID: <e1@x>\n\n{addr_line}\n")


HOSTILE = "a" * HOSTILE_RUN + "b"


def test_regex_limit(tmp):
    """Each kind of rule that hits the limit (reason, recipient, family, sender) flags the report;
    the message is still read."""
    # name, local rules, message, flags, kind, first recipient's (address, reason, evidence)
    rows = [
        ("reason rule", "evil reason diag mailbox_full (?:a+)+[cd]\n",
         bounce(f"<jana@example.de>: {HOSTILE}"), ["regex_limit"], "heuristic",
         ("jana@example.de", "unknown",
          "nothing conclusive; a wording rule hit the regex limit → unknown")),
        ("recipient rule", "evil recipient text * ^<[^>]*>:\\ (?:a+)+[cd]"
         "(?<addr>[^\\s@]{1,64}@[^\\s@]{1,64})\n",
         bounce(f"<jana@example.de>: {HOSTILE}"), ["regex_limit"], "heuristic", None),
        ("family rule", "evil family subject acme (?:a+)+[cd]\n",
         bounce("<jana@example.de>: 550 5.1.1 user unknown", subject="Undeliverable " + HOSTILE),
         ["regex_limit"], "heuristic",
         ("jana@example.de", "user_unknown", None)),
        ("sender rule", "evil sender subject - (?:a+)+[cd]\n",
         bounce("<jana@example.de>: 550 5.1.1 user unknown", subject=HOSTILE,
                sender="someone@x.example"), ["regex_limit"], "none", None),
        ("no hostile input: no flag", "evil reason diag mailbox_full (?:a+)+[cd]\n",
         bounce("<jana@example.de>: 552 aaac mailbox full"), [], "heuristic",
         ("jana@example.de", "mailbox_full", None)),
    ]
    for i, (name, rules, msg, flags, kind, rcpt) in enumerate(rows):
        local = write(f"{tmp}/limit{i}.rules", rules)
        conf = write(f"{tmp}/limit{i}.conf", f"[rules]\nlocal = {local}\n")
        eml = write(f"{tmp}/limit{i}.eml", msg)
        code, out, err = run(["parse", "--explain", "--config", conf, eml])
        check(f"limit {name}: exit, stderr", (code, err), (0, ""))
        rep = json.loads(out)
        check(f"limit {name}: flags", rep["flags"], flags)
        check(f"limit {name}: kind", rep["kind"], kind)
        if rcpt is not None:
            r = rep["recipients"][0]
            got = (r["address"], r["reason"], r["evidence"] if rcpt[2] is not None else None)
            check(f"limit {name}: recipient", got, rcpt)


def test_limit_logged(tmp):
    """ingest, serve and fetch log one line naming the message whose rule hit the limit."""
    local = write(f"{tmp}/evil.rules", "evil reason diag mailbox_full (?:a+)+[cd]\n")
    conf = write(f"{tmp}/evil.conf", f"[rules]\nlocal = {local}\n")
    evil = write(f"{tmp}/evil.eml", bounce(f"<jana@example.de>: {HOSTILE}"))
    plain = write(f"{tmp}/plain.eml", bounce("<ok@example.de>: 550 5.1.1 user unknown"))
    db = f"{tmp}/ingest.db"
    code, out, err = run(["db", "migrate", "--db", db])
    check("migrate", code, 0)
    # name, args, stdin, exit, stderr
    rows = [
        ("ingest files", ["ingest", "--quiet", "--config", conf, "--db", db, plain, evil], None, 0,
         f"bounced: ingest: {evil}: {LIMIT_LOG}\n"),
        ("ingest with queue id", ["ingest", "--quiet", "--config", conf, "--db", db,
                                  "--queue-id", "4ABC123", evil], None, 0,
         f"bounced: ingest: {evil} queue_id=4ABC123: {LIMIT_LOG}\n"),
        ("ingest batch", ["ingest", "--quiet", "--batch", "5", "--config", conf, "--db", db, evil,
                          plain], None, 0, f"bounced: ingest: {evil}: {LIMIT_LOG}\n"),
        ("ingest stdin", ["ingest", "--quiet", "--config", conf, "--db", db, "-"],
         open(evil, "rb").read(), 0, f"bounced: ingest: -: {LIMIT_LOG}\n"),
        ("ingest, nothing hit", ["ingest", "--quiet", "--config", conf, "--db", db, plain], None,
         0, ""),
    ]
    for name, args, stdin, want_code, want_err in rows:
        code, out, err = run(args, stdin)
        check(f"log {name}", (code, err), (want_code, want_err))
    got = subprocess.run(["sqlite3", db, "SELECT DISTINCT flags & 128 FROM messages WHERE "
                          "source LIKE '%evil.eml' OR source = '-'"], capture_output=True,
                         text=True).stdout.split()
    check("ingest: stored flagged", got, ["128"])

    # serve: the usual line, then the warning naming the queue id and sender.
    d = harness.scratch("rules-limit")
    bd = harness.Bounced(BOUNCED, d, config=f"[rules]\nlocal = {local}\n")
    code, _, err = run(["db", "migrate", "--db", bd.db])
    bd.start()
    c = harness.Lmtp(bd.sock)
    c.hello()
    msg = ("Received: from mx.example.de by bounce.test (Postfix) with ESMTP id 4QID77\r\n" +
           open(evil).read().replace("\n", "\r\n"))
    c.send("MAIL FROM:<>\r\n")
    c.reply()
    c.send("RCPT TO:<bounces@bounce.test>\r\n")
    c.reply()
    c.send("DATA\r\n")
    c.reply()
    c.send(msg + ".\r\n")
    answer = c.reply()
    c.send("QUIT\r\n")
    c.reply()
    c.close()
    bd.stop()
    check("serve: stored", answer[0][:3] if answer else None, "250")
    warn = [line.split("] ", 1)[-1] for line in bd.read_log().splitlines() if "regex" in line]
    check("serve: one warning", [re.sub(r"^.*?lmtp: ", "lmtp: ", w) for w in warn],
          [f"lmtp: qid=4QID77 from=<>: {LIMIT_LOG}"])
    harness.cleanup(d)

    if shutil.which("dovecot") is None:
        print("# fetch row skipped: dovecot not installed", flush=True)
        return
    from dovecot_env import Dovecot
    dv = Dovecot()
    dv.start()
    try:
        dv.append([open(plain, "rb").read().replace(b"\n", b"\r\n"),
                   open(evil, "rb").read().replace(b"\n", b"\r\n")])
        fdb = f"{tmp}/fetch.db"
        run(["db", "migrate", "--db", fdb])
        code, out, err = run(["fetch", "--config", conf, "--db", fdb, "--imap", dv.url(),
                              "--password-file", f"{dv.dir}/password", "--tls-ca",
                              f"{dv.dir}/ca.pem"])
        got = [re.sub(r"UIDVALIDITY=\d+", "UIDVALIDITY=N", line) for line in err.splitlines()]
        check("fetch: exit, one line naming the UID", (code, got),
              (0, [f"bounced: fetch: imap:bounces@localhost/INBOX;UIDVALIDITY=N/;UID=2: "
                   f"{LIMIT_LOG}"]))
    finally:
        dv.stop()


def test_rules_dir(tmp):
    """A [rules] dir that yields no *.rules file stops every command that reads mail."""
    empty = f"{tmp}/empty.d"
    os.makedirs(empty)
    afile = write(f"{tmp}/a-file.rules", "r1 reason diag policy spf\n")
    missing = f"{tmp}/missing.d"
    want = "expected a directory of rule files named *.rules"
    eml = write(f"{tmp}/t.eml", bounce("<ok@example.de>: 550 5.1.1 user unknown"))
    db = f"{tmp}/dir.db"
    run(["db", "migrate", "--db", db])
    dirs = [
        ("empty dir", empty, f"{empty}: no *.rules file in this directory ({want})"),
        ("a file", afile, f"{afile}: not a directory ({want})"),
        ("missing", missing, f"{missing}: cannot open: No such file or directory ({want})"),
    ]
    # command, args, prefix of the message, exit
    cmds = [
        ("parse", ["parse", eml], "", EXIT_CONFIG),
        ("ingest", ["ingest", "--db", db, eml], "", EXIT_CONFIG),
        # From standard input (Postfix's pipe) a broken setup defers the mail instead.
        ("ingest -", ["ingest", "--db", db, "-"], "", EXIT_TEMPFAIL),
        ("serve", ["serve", "--db", db, "--listen", f"unix:{tmp}/never.sock"], "", EXIT_CONFIG),
        ("fetch", ["fetch", "--db", db, "--imap", "imaps://u@127.0.0.1:1/INBOX"], "fetch: ",
         EXIT_CONFIG),
    ]
    for dname, path, msg in dirs:
        conf = write(f"{tmp}/dir.conf", f"[rules]\ndir = {path}\n")
        for cname, args, prefix, want_code in cmds:
            code, out, err = run(args[:1] + ["--config", conf] + args[1:],
                                 open(eml, "rb").read() if "-" in args else None)
            check(f"rules dir {dname}: {cname}", (code, err.splitlines()[0] if err else ""),
                  (want_code, f"bounced: {prefix}{msg}"))
    # A directory that holds *.rules files still works, with a local file beside it.
    good = f"{tmp}/good.d"
    os.makedirs(good)
    shutil.copy(afile, good)
    conf = write(f"{tmp}/dir.conf", f"[rules]\ndir = {good}\n")
    code, out, err = run(["parse", "--config", conf, eml])
    check("rules dir with a *.rules file", (code, err), (0, ""))


def test_errors(tmp):
    """Rule file errors name the line (and column) where the error is."""
    rows = [
        ("bad continuation line", "# c\nr1 reason diag mailbox_full\n  abc\n\n  (foo\n",
         "{f}:5: missing closing parenthesis at column 7"),
        ("bad middle continuation", "r1 reason diag mailbox_full a\n  b)\n  c\n",
         "{f}:2: unmatched closing parenthesis at column 4"),
        ("bad first line", "r1 reason diag mailbox_full a{2,1}\n  y\n",
         "{f}:1: numbers out of order in {{}} quantifier at column 34"),
        # An error found at the end of the pattern is at the end of its last line.
        ("class left open", "r1 reason diag mailbox_full x[\n  y\n",
         "{f}:2: missing terminating ] for character class at column 4"),
        ("unknown reason", "r1 reason diag nope\n  x\n", "{f}:1: unknown reason 'nope'"),
        ("missing file", None, "{f}: cannot open: No such file or directory"),
    ]
    eml = write(f"{tmp}/e.eml", bounce("<ok@example.de>: 550 5.1.1 user unknown"))
    for i, (name, text, want) in enumerate(rows):
        f = f"{tmp}/err{i}.rules"
        if text is not None:
            write(f, text)
        conf = write(f"{tmp}/err{i}.conf", f"[rules]\nlocal = {f}\n")
        code, out, err = run(["parse", "--config", conf, eml])
        check(f"error {name}", (code, err), (EXIT_CONFIG, "bounced: " + want.format(f=f) + "\n"))


def man_example():
    """The rules, the message and the documented fields of bounced-rules(5)'s EXAMPLE, read
    from the page's source: its no-fill blocks, with the escapes the page uses undone."""
    with open(os.path.join(TOP, "doc", "bounced-rules.5")) as f:
        page = f.read()
    sec = page.split("\n.SH EXAMPLE\n", 1)[1].split("\n.SH ", 1)[0]
    blocks = re.findall(r"^\.nf\n(.*?)^\.fi$", sec, re.S | re.M)
    out = []
    for b in blocks:
        t = b.replace("\\e", "\x00").replace("\\-", "-")
        if "\\" in t:
            raise SystemExit(f"FAIL man page example: an escape this test does not know: {b!r}")
        out.append(t.replace("\x00", "\\"))
    return out


def test_man_example(tmp):
    blocks = man_example()
    check("man example: three blocks (rules, message, result)", len(blocks), 3)
    if len(blocks) != 3:
        return
    rules, msg, result = blocks
    local = write(f"{tmp}/acme.rules", rules)
    conf = write(f"{tmp}/acme.conf", f"[rules]\nlocal = {local}\n")
    eml = write(f"{tmp}/acme.eml", msg)
    code, out, err = run(["parse", "--explain", "--config", conf, eml])
    check("man example: parse", (code, err), (0, ""))
    rep = json.loads(out)
    check("man example: one recipient", len(rep["recipients"]), 1)
    r = rep["recipients"][0]
    want = dict(line.split(None, 1) for line in result.splitlines() if line.strip())
    got = {k: r[k] if k in r else rep.get(k) for k in want}
    check("man example: the documented fields", got, want)
    check("man example: documents reason and rule", "reason" in want and "rule" in want, True)


def main():
    tmp = tempfile.mkdtemp(prefix="bounced-cli-rules-")
    try:
        test_regex_limit(tmp)
        test_limit_logged(tmp)
        test_rules_dir(tmp)
        test_errors(tmp)
        test_man_example(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
