#!/usr/bin/env python3
"""The bounced command line as a user meets it: help, version, errors and exit codes, and the
inputs `parse` takes (file, directory, Maildir, mbox, stdin). usage: cli.py BOUNCED"""
import json
import os
import subprocess
import sys
import tempfile

BOUNCED = sys.argv[1]
passed = failed = 0


def run(args, stdin=b""):
    p = subprocess.run([BOUNCED] + args, input=stdin, capture_output=True, timeout=30)
    return p.returncode, p.stdout.decode("utf-8"), p.stderr.decode("utf-8", "replace")


def check(name, got, want):
    global passed, failed
    if got == want:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name}: got {got!r}, want {want!r}")


def lines(out):
    return [json.loads(l) for l in out.splitlines()]


DSN = (
    "From: MAILER-DAEMON@mx.example.org\n"
    "To: bounces@example.org\n"
    "Subject: Undelivered Mail Returned to Sender\n"
    "Message-ID: <dsn-1@mx.example.org>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n"
    "\n"
    "--B\n"
    "Content-Type: text/plain\n"
    "\n"
    "I could not deliver your message.\n"
    "--B\n"
    "Content-Type: message/delivery-status\n"
    "\n"
    "Reporting-MTA: dns; mx.example.org\n"
    "\n"
    "Final-Recipient: rfc822; joe@Example.COM\n"
    "Action: failed\n"
    "Status: 5.1.1\n"
    "Diagnostic-Code: smtp; 550 5.1.1 <joe@example.com>: Recipient address rejected\n"
    "--B--\n"
)

# The binary stays PIE although libetpan's .pc asks for no-pie-link.specs: ELF type ET_DYN.
with open(BOUNCED, "rb") as f:
    elf = f.read(18)
check("PIE (ELF e_type ET_DYN)", (elf[:4], int.from_bytes(elf[16:18], "little")), (b"\x7fELF", 3))

# --help, --version, unknown things
code, out, err = run(["--help"])
check("--help exit", code, 0)
check("--help lists parse", "parse" in out, True)
code, out, err = run(["--version"])
check("--version", (code, out.startswith("bounced ")), (0, True))
for args in (["--bogus"], ["frobnicate"], ["parse", "--bogus", "x"]):
    code, out, err = run(args)
    check(f"{args} exit", code, 2)
    check(f"{args} one line", err.count("\n"), 1)
code, out, err = run([])
check("no command", code, 2)
for cmd in ("parse", "ingest", "serve", "fetch", "suppress", "stats", "db", "verp"):
    code, out, err = run([cmd, "--help"])
    check(f"{cmd} --help", (code, out.startswith("usage: bounced " + cmd)), (0, True))
    code, out, err = run([cmd, "--bogus"])
    check(f"{cmd} --bogus", (code, err.count("\n"), err.startswith("bounced: ")), (2, 1, True))
# One wording for every command's option mistakes (options.c): args, exit, standard error.
serve_usage = "(try 'bounced serve --help')"
for args, want_code, want_err in (
    (["serve", "--workers", "0"], 2, "bounced: serve: --workers '0' is not a number from 1 to 256\n"),
    (["serve", "-w", "257"], 2, "bounced: serve: --workers '257' is not a number from 1 to 256\n"),
    (["serve", "--workers=-1"], 2, "bounced: serve: --workers '-1' is not a number from 1 to 256\n"),
    (["ingest", "--batch", "2x", "x.eml"], 2, "bounced: ingest: --batch '2x' is not a number from 1 to 10000\n"),
    (["serve"] + ["--listen=unix:/x"] * 9, 2, "bounced: serve: at most 8 --listen\n"),
    (["serve", "-l", "udp:1"], 2, "bounced: serve: --listen udp:1: expected unix:PATH, tcp:HOST:PORT or http:HOST:PORT\n"),
    (["parse", "--webhook", "nope", "x.json"], 2, "bounced: parse: --webhook nope: not a provider (ses, sendgrid, postmark, mailgun, sparkpost, brevo, mailjet, postal)\n"),
    (["serve", "-l", "http:"], 2, "bounced: serve: --listen http:: expected http:HOST:PORT or http:unix:PATH\n"),
    (["serve", "extra"], 2, f"bounced: serve: unexpected argument 'extra' {serve_usage}\n"),
    (["stats", "a", "b"], 2, "bounced: stats: unexpected argument 'a' (try 'bounced stats --help')\n"),
    (["ingest"], 2, "bounced: ingest: no PATH given (try 'bounced ingest --help')\n"),
    (["stats", "--db"], 2, "bounced: stats: unknown or incomplete option '--db' (try 'bounced stats --help')\n"),
    (["db", "-x", "migrate"], 2, "bounced: db: unknown or incomplete option '-x' (try 'bounced db --help')\n"),
):
    code, out, err = run(args)
    check(f"{args[:3]} says", (code, err), (want_code, want_err))
code, out, err = run(["suppress", "-h"])
check("suppress -h", (code, out.startswith("usage: bounced suppress")), (0, True))
code, out, err = run(["parse", "--help"])
check("parse --help", (code, "--explain" in out), (0, True))
code, out, err = run(["parse"])
check("parse without PATH", code, 2)

with tempfile.TemporaryDirectory() as tmp:
    # LF, CRLF and CR-only give the same result.
    variants = {"lf": DSN, "crlf": DSN.replace("\n", "\r\n"), "cr": DSN.replace("\n", "\r")}
    results = {}
    for name, text in variants.items():
        path = os.path.join(tmp, name + ".eml")
        with open(path, "w", newline="") as f:
            f.write(text)
        code, out, err = run(["parse", path])
        check(f"{name} exit", code, 0)
        (o,) = lines(out)
        check(f"{name} source", o["source"], path)
        del o["source"]
        results[name] = o
    # The same, saved after a "From " line (one message, and an mbox of two).
    frm = "From MAILER-DAEMON Mon Jan  1 00:00:00 2024\n"
    for name, eol in (("lf", "\n"), ("crlf", "\r\n"), ("cr", "\r")):
        path = os.path.join(tmp, name + "-from.eml")
        with open(path, "w", newline="") as f:
            f.write((frm + DSN).replace("\n", eol))
        code, out, err = run(["parse", path])
        (o,) = lines(out)
        del o["source"]
        check(f"{name} after a From line same as LF", o, results["lf"])
        path = os.path.join(tmp, name + ".mbox")
        with open(path, "w", newline="") as f:
            f.write((frm + DSN + "\n" + frm + DSN + "\n").replace("\n", eol))
        code, out, err = run(["parse", path])
        got = lines(out)
        check(f"{name} mbox: two messages, each as the file",
              [(o.pop("source"), o) for o in got],
              [(path + ":1", results["lf"]), (path + ":2", results["lf"])])
    check("CRLF same as LF", results["crlf"], results["lf"])
    check("CR same as LF", results["cr"], results["lf"])
    check("message_id read", results["lf"]["message_id"], "<dsn-1@mx.example.org>")

    # standard input
    code, out, err = run(["parse", "-"], DSN.encode())
    (o,) = lines(out)
    check("stdin source", (code, o["source"]), (0, "-"))

    # mbox with an mboxrd-escaped line, two messages
    mbox = os.path.join(tmp, "box.mbox")
    with open(mbox, "w") as f:
        f.write("From MAILER-DAEMON Mon Jan  1 00:00:00 2024\n" + DSN + "\n")
        f.write("From someone Mon Jan  1 00:00:00 2024\nSubject: hi\n\n>From the desk\n"
                "From here on, an unescaped line right after text does not split\n\n")
    code, out, err = run(["parse", mbox])
    got = lines(out)
    check("mbox count", len(got), 2)
    check("mbox sources", [o["source"] for o in got], [mbox + ":1", mbox + ":2"])
    check("mbox 2 is not a bounce", got[1]["kind"], "none")

    # The empty line before a separator belongs to the mbox (RFC 4155): a message read from an
    # mbox is the same bytes as the message saved as a file, so ingest sees a duplicate.
    nomid = "From: someone@example.org\nSubject: no Message-ID\n\nbody\n"
    plain = os.path.join(tmp, "nomid.eml")
    with open(plain, "w") as f:
        f.write(nomid)
    boxed = os.path.join(tmp, "nomid.mbox")
    with open(boxed, "w") as f:
        f.write(frm + nomid + "\n" + frm + "Subject: other\n\nx\n\n")
    db = os.path.join(tmp, "dup.db")
    run(["db", "migrate", "--db", db])
    code, out, err = run(["ingest", "--db", db, plain, boxed])
    check("mbox message same bytes as the file: a duplicate", (code, out),
          (0, "ingested 3 messages: 1 duplicates, 0 events, 0 newly suppressed\n"))

    # a single message saved after a "From " line keeps the file's name
    single = os.path.join(tmp, "single.eml")
    with open(single, "w") as f:
        f.write("From MAILER-DAEMON Mon Jan  1 00:00:00 2024\n" + DSN)
    code, out, err = run(["parse", single])
    got = lines(out)
    check("single From-line message", [(o["source"], o["kind"]) for o in got], [(single, "dsn")])

    # Maildir: cur/ and new/ read, tmp/ skipped, sorted
    md = os.path.join(tmp, "Maildir")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(md, sub))
    for sub, name in (("cur", "1.a:2,S"), ("new", "2.b"), ("tmp", "3.c")):
        with open(os.path.join(md, sub, name), "w") as f:
            f.write(DSN)
    code, out, err = run(["parse", md])
    check("maildir sources", [os.path.relpath(o["source"], md) for o in lines(out)],
          ["cur/1.a:2,S", "new/2.b"])

    # invalid UTF-8 and NUL bytes still give valid JSON
    raw = os.path.join(tmp, "raw.eml")
    with open(raw, "wb") as f:
        f.write(b"From: \xff\xfe <x@\xc3.example>\nSubject: \x00bad\xe9\n\nbody \xff\x00\n")
    code, out, err = run(["parse", "--explain", raw])
    check("invalid utf-8 exit", code, 0)
    check("invalid utf-8 one valid line", len(lines(out)), 1)

    # an empty file is a message too
    empty = os.path.join(tmp, "empty.eml")
    open(empty, "w").close()
    code, out, err = run(["parse", empty])
    check("empty", (code, lines(out)[0]["kind"]), (0, "none"))

    # An operator's local rules file adds to the shipped rules (and is tried first); a bad rule
    # fails start-up naming file and line.
    local = os.path.join(tmp, "local.rules")
    with open(local, "w") as f:
        f.write("# local\nlocal-zebra reason diag rate_limited\n  zebra\\ crossing\n")
    conf = os.path.join(tmp, "bounced.conf")
    with open(conf, "w") as f:
        f.write(f"[rules]\nlocal = {local}\n")
    zebra = os.path.join(tmp, "zebra.eml")
    with open(zebra, "w") as f:
        f.write(DSN.replace("Recipient address rejected", "zebra crossing"))
    code, out, err = run(["parse", "--config", conf, zebra, results_path := os.path.join(tmp, "lf.eml")])
    got = lines(out)
    check("local rule decides", [(o["recipients"][0]["reason"]) for o in got],
          ["rate_limited", "user_unknown"])
    with open(local, "a") as f:
        f.write("broken reason diag user_unknown\n  (unclosed\n")
    code, out, err = run(["parse", "--config", conf, zebra])
    check("bad rule exit", code, 78)
    check("bad rule names file:line", f"{local}:5:" in err, True)  # the continuation line where the error is

    # An mbox on standard input over 256 MiB: what was read is parsed, and the messages past
    # the limit are reported, not silently dropped.
    line = b"x" * 999 + b"\n"
    big = (b"From a Mon Jan  1 00:00:00 2024\nSubject: big\n\n" + line * (260 * 1024 * 1024 // 1000)
           + b"\nFrom b Mon Jan  1 00:00:00 2024\nSubject: lost\n\nx\n")
    code, out, err = run(["parse", "-"], big)
    check("big stdin mbox: first message read, cut", [o["source"] for o in lines(out)], ["-"])
    check("big stdin mbox: exit and error", (code, "not read" in err), (1, True))
    del big

    # [rules] dir: the shipped files read from a directory give what the built-in copies give;
    # a missing directory is a configuration error naming it.
    import glob
    import shutil
    rdir = os.path.join(tmp, "rules.d")
    os.makedirs(rdir)
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "parsers", "rules")
    for f in glob.glob(os.path.join(src, "*.rules")):
        shutil.copy(f, rdir)
    dconf = os.path.join(tmp, "dir.conf")
    with open(dconf, "w") as f:
        f.write(f"[rules]\ndir = {rdir}\n")
    code, out, err = run(["parse", "--explain", "--config", dconf, os.path.join(tmp, "lf.eml")])
    code2, out2, err2 = run(["parse", "--explain", os.path.join(tmp, "lf.eml")])
    # (but for where a rule is written: the file in the directory, or the built-in copy's name)
    check("rules dir = built-in", (code, lines(out.replace(rdir + "/", ""))), (0, lines(out2)))
    check("rules dir: rule_at names the file", rdir + "/reasons.rules:" in out, True)
    with open(dconf, "w") as f:
        f.write(f"[rules]\ndir = {rdir}-missing\n")
    code, out, err = run(["parse", "--config", dconf, os.path.join(tmp, "lf.eml")])
    check("missing rules dir", (code, rdir + "-missing" in err), (78, True))

    # A directory nested past the limit is an error naming it, not silently skipped.
    deep = os.path.join(tmp, "deep")
    d = deep
    for i in range(10):
        d = os.path.join(d, f"d{i}")
    os.makedirs(d)
    with open(os.path.join(deep, "d0", "top.eml"), "w") as f:
        f.write(DSN)
    with open(os.path.join(d, "bottom.eml"), "w") as f:
        f.write(DSN)
    code, out, err = run(["parse", deep])
    check("deep dir: exit", code, 1)
    check("deep dir: error", "deeper than 8 levels" in err, True)

    # a missing path: the others are still read, exit 1, the error names the path
    code, out, err = run(["parse", os.path.join(tmp, "nope.eml"), raw])
    check("missing exit", code, 1)
    check("missing names path", "nope.eml" in err, True)
    check("missing: others read", len(lines(out)), 1)

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
