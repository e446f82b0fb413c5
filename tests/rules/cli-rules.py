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
    code, out, err = run(["rules", "check", local])
    check("man example: its examples pass rules check", (code, out, err), (0, "3 rules, 4 examples: ok\n", ""))


QUOTA_DSN = bounce("<ann@example.com>: 552 5.2.2 zebra crossing over quota")


def rule_line(name):
    """FILE:LINE of a shipped rule, read from the source file (what --explain must print)."""
    for f in ("families.rules", "recipients.rules", "reasons.rules"):
        with open(os.path.join(TOP, "parsers", "rules", f), encoding="utf-8") as fh:
            for i, line in enumerate(fh, 1):
                if line.split(None, 1)[:1] == [name]:
                    return f"{f}:{i}"
    return None


def test_statements(tmp):
    """A name defined twice stops start-up naming both places; replace and disable are how a
    local file changes a shipped rule; %{address} is there for local rules; --explain says
    where the rule that decided is written."""
    eml = write(f"{tmp}/quota.eml", QUOTA_DSN)
    code, out, err = run(["parse", "--explain", eml])
    r = json.loads(out)["recipients"][0]
    check("explain: shipped rule", (r["reason"], r["rule"]), ("mailbox_full", "en-mailbox-full"))
    check("explain: rule_at is the shipped file and line", r["rule_at"], rule_line("en-mailbox-full"))
    check("explain: the recipient rule's place in the evidence",
          rule_line("angle-colon") in json.loads(out)["evidence"], True)

    cases = [
        # (what, local file, exit, stderr holds, reason, rule)
        ("duplicate", "# local\nen-mailbox-full reason diag rate_limited zebra\n", EXIT_CONFIG,
         ":2: rule 'en-mailbox-full' is already defined at " + rule_line("en-mailbox-full") +
         " (write 'replace en-mailbox-full ...' to replace it, or 'disable en-mailbox-full')", None, None),
        ("replace", "replace en-mailbox-full reason diag rate_limited zebra\n", 0, "", "rate_limited",
         "en-mailbox-full"),
        ("disable", "disable en-mailbox-full\n", 0, "", "mailbox_full", "angle-colon"),
        ("replace unknown", "replace no-such-rule reason diag policy x\n", EXIT_CONFIG,
         ":1: replace: no rule 'no-such-rule' is defined before this line", None, None),
        ("unknown field", "zebra family Subjekt zebra ^x\n", EXIT_CONFIG,
         ":1: unknown field 'Subjekt' (fields: text, diag, headers, or a header field: From,", None, None),
        ("unknown group", "zebra recipient text * (?<adr>%{address})\n", EXIT_CONFIG,
         ":1: unknown group (?<adr>...) (groups: (?<addr>...),", None, None),
        ("define in a local file", "define zebra-word zebra\\ crossing\nzebra reason diag policy %{zebra-word}\n",
         0, "", "policy", "zebra"),
    ]
    for what, text, code_want, err_part, reason, rule in cases:
        local = write(f"{tmp}/local-{what.replace(' ', '-')}.rules", text)
        conf = write(f"{tmp}/local.conf", f"[rules]\nlocal = {local}\n")
        code, out, err = run(["parse", "--explain", "--config", conf, eml])
        check(f"{what}: exit", code, code_want)
        check(f"{what}: error names {local}{err_part[:40]}", (local + err_part) in err if err_part else err,
              True if err_part else "")
        if code == 0:
            r = json.loads(out)["recipients"][0]
            check(f"{what}: decided by", (r["reason"], r.get("rule")), (reason, rule))
            if what == "replace":
                check("replace: rule_at is the local file", r["rule_at"], f"{local}:1")


def test_check(tmp):
    """bounced rules check: the shipped files pass; an operator's file is checked with them;
    a failing example, a rule without one, a duplicate and bad usage are told apart."""
    shipped = [os.path.join(TOP, "parsers", "rules", f)
               for f in ("families.rules", "recipients.rules", "reasons.rules")]
    code, out, err = run(["rules", "check"] + shipped)
    check("check shipped", (code, err), (0, ""))
    check("check shipped: summary", re.fullmatch(r"\d+ rules, \d+ examples: ok\n", out) is not None, True)
    good = write(f"{tmp}/good.rules", "zebra reason diag policy zebra\\ crossing\n# test: 550 zebra crossing\n"
                 "# test-not: 550 zebra\nzebra-rcpt recipient text * ^Zebra:\\ (?<addr>%{address})\n"
                 "# test: Zebra: ann@example.com\n")
    code, out, err = run(["rules", "check", good])
    check("check good", (code, out, err), (0, "2 rules, 3 examples: ok\n", ""))
    cases = [
        ("fails", "zebra reason diag policy zebra\\ crossing\n# test: 550 zebra\n",
         ":2: rule 'zebra': does not match its example: '550 zebra'\n"),
        ("must not", "zebra reason diag policy zebra\n# test: zebra\n# test-not: 550 zebra crossing\n",
         ":3: rule 'zebra': matches what it must not (# test-not:): '550 zebra crossing'\n"),
        ("shadowed", "zebra reason diag policy zebra\n# test: zebra\n"
         "zebra-crossing reason diag rate_limited zebra\\ crossing\n# test: zebra crossing\n",
         ":4: rule 'zebra-crossing': its example is decided by rule 'zebra' ("),
        ("no example", "\nzebra reason diag policy zebra\n",
         ":2: rule 'zebra': no example it must match (write '# test: TEXT' under it)\n"),
        # a capture without '@' is a bare local part ("nobody"); "<nobody>" is neither
        ("no address", "zebra-rcpt recipient text * ^Zebra:\\ (?<addr>\\S+)\n# test: Zebra: <nobody>\n",
         ":2: rule 'zebra-rcpt': its example captures no address in (?<addr>...): 'Zebra: <nobody>'\n"),
        ("duplicate", "en-spam reason diag policy spam\n# test: spam\n",
         ":1: rule 'en-spam' is already defined at " + rule_line("en-spam")),
    ]
    for what, text, err_want in cases:
        path = write(f"{tmp}/check-{what.replace(' ', '-')}.rules", text)
        code, out, err = run(["rules", "check", path])
        check(f"check {what}: exit", code, EXIT_CONFIG)
        if err_want:
            check(f"check {what}: error", err.startswith(path + err_want), True)
    path = f"{tmp}/check-shadowed.rules"
    code, out, err = run(["rules", "check", path])
    check("check shadowed: names the rule tried first and where",
          f"is decided by rule 'zebra' ({path}:1), tried first: 'zebra crossing'" in err, True)
    # a shipped file edited in place stands in for the built-in copy
    edited = os.path.join(tmp, "edited")
    os.makedirs(edited)
    with open(shipped[2], encoding="utf-8") as f:
        text = f.read()
    write(os.path.join(edited, "reasons.rules"), text.replace("# test: 552 Too many recipients",
                                                               "# test: 552 Too many zebras"))
    code, out, err = run(["rules", "check", os.path.join(edited, "reasons.rules")])
    check("check edited shipped file: exit", code, EXIT_CONFIG)
    check("check edited shipped file: the example named", "rule 'en-rate-limited': does not match its "
          "example: '552 Too many zebras'" in err, True)
    for args, want in [(["rules"], 2), (["rules", "check"], 2), (["rules", "frob"], 2),
                       (["rules", "check", "--frob", good], 2), (["rules", "--help"], 0),
                       (["rules", "check", f"{tmp}/missing.rules"], EXIT_CONFIG)]:
        code, out, err = run(args)
        check(f"usage {args[1:]}", code, want)
    code, out, err = run(["--help"])
    check("--help lists rules", "rules " in out, True)


def main():
    tmp = tempfile.mkdtemp(prefix="bounced-cli-rules-")
    try:
        test_regex_limit(tmp)
        test_limit_logged(tmp)
        test_rules_dir(tmp)
        test_errors(tmp)
        test_man_example(tmp)
        test_statements(tmp)
        test_check(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
