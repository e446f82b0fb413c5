#!/usr/bin/env python3
"""The operator's everyday tools through the real binary, each exit status checked against the
command's --help and bounced(8): suppress add/remove with many addresses, with - and --reason,
list --csv and import on another database (audited); stats --json and --by day with the
effects that say why a bounce did not suppress (unverified, sender-blamed, delayed, after-lift)
and the duplicates; db prune --older-than, [store] keep_events_days; db backup while a real
`bounced serve` takes deliveries.

usage: test_tools.py BOUNCED"""
import csv
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
from email.utils import formatdate

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deploy  # noqa: E402
from deploy import check  # noqa: E402
import harness  # noqa: E402

BOUNCED = os.path.abspath(sys.argv[1])
MAN8 = os.path.join(deploy.TOP, "doc", "bounced.8")


def run(*args, stdin=None, want=None, name=None):
    p = subprocess.run([BOUNCED] + list(args), input=stdin, capture_output=True, text=True,
                       timeout=120)
    if want is not None:
        check(name or "bounced %s exits %d" % (" ".join(args[:2]), want), p.returncode, want,
              p.stdout + p.stderr)
        documented(args, want)
    return p.returncode, p.stdout, p.stderr


_help = {}


def documented(args, code):
    """code is listed in the command's --help and in bounced(8)."""
    cmd = args[0]
    if cmd not in _help:
        _help[cmd] = subprocess.run([BOUNCED, cmd, "--help"], capture_output=True,
                                    text=True).stdout
    m = re.search(r"Exit status:(.*)", _help[cmd], re.S)
    codes = {int(n) for n in re.findall(r"(?<![\w.-])(\d{1,3})(?= )", m.group(1))} if m else set()
    key = (cmd, code)
    if key in documented.seen:
        return
    documented.seen.add(key)
    check("bounced %s --help documents exit %d" % (cmd, code), code in codes, True)
    with open(MAN8) as f:
        man = f.read().split(".SH EXIT STATUS", 1)[1].split(".SH ", 1)[0]
    check("bounced(8) documents exit %d" % code, ".B %d\n" % code in man, True)


documented.seen = set()


def dsn(rcpt, mid, status="5.1.1", action="failed", diag="550 5.1.1 user unknown",
        last_attempt=None, to="bounces@bounces.example.com"):
    la = "Last-Attempt-Date: %s\n" % last_attempt if last_attempt else ""
    return ("From: MAILER-DAEMON@mx.example.net\nTo: %s\nSubject: Delivery Status\n"
            "Message-ID: <%s@mx.example.net>\nMIME-Version: 1.0\n"
            "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\n"
            "--B\nContent-Type: text/plain\n\nReport.\n\n--B\n"
            "Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.net\n\n"
            "Final-Recipient: rfc822; %s\nAction: %s\nStatus: %s\n%s"
            "Diagnostic-Code: smtp; %s\n\n--B--\n" % (to, mid, rcpt, action, status, la, diag))


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def suppress(d):
    db = os.path.join(d, "a.db")
    run("db", "migrate", "--db", db, want=0)
    run("suppress", "add", "a@example.com", "b@example.com", "--reason", "asked, \"twice\"",
        "--db", db, want=0, name="suppress add with two addresses")
    rc, out, _ = run("suppress", "add", "-", "--reason", "list", "--db", db,
                     stdin="c@example.com\n# a comment\n\n  d@example.com  \n", want=0,
                     name="suppress add - (one address a line)")
    check("each address of standard input is suppressed", out.splitlines(),
          ["c@example.com: suppressed (manual)", "d@example.com: suppressed (manual)"])
    run("suppress", "add", "-", "--reason", "x", "--db", db, stdin="e@example.com\nnot-an-address\n",
        want=65, name="suppress add - with a line that is not an address: 65, nothing written")
    run("suppress", "check", "e@example.com", "--db", db, want=1,
        name="suppress check: not suppressed")
    run("suppress", "add", "x@example.com", "nope", "--reason", "r", "--db", db, want=2,
        name="suppress add with an argument that is not an address: 2")
    rc, out, _ = run("suppress", "remove", "a@example.com", "e@example.com", "--reason",
                     "owner asked", "--db", db, want=1,
                     name="suppress remove of two, one not suppressed: 1")
    check("remove says what it did for each", out.splitlines(),
          ["a@example.com: suppression lifted", "e@example.com: not suppressed"])
    con = sqlite3.connect(db)
    audit = con.execute("SELECT action, address, reason FROM audit ORDER BY id").fetchall()
    con.close()
    check("every change is audited with its reason", audit,
          [("add", "a@example.com", 'asked, "twice"'), ("add", "b@example.com", 'asked, "twice"'),
           ("add", "c@example.com", "list"), ("add", "d@example.com", "list"),
           ("remove", "a@example.com", "owner asked")])
    rc, out, _ = run("suppress", "list", "--csv", "--db", db, want=0)
    rows = list(csv.reader(io.StringIO(out)))
    check("list --csv: a header row, then address, type, reason, since, expires_at",
          [r[:3] + [r[4]] for r in rows],
          [["address", "type", "reason", "expires_at"],
           ["b@example.com", "manual", 'asked, "twice"', ""],
           ["c@example.com", "manual", "list", ""], ["d@example.com", "manual", "list", ""]])
    exported = write(os.path.join(d, "list.csv"), out)
    db2 = os.path.join(d, "b.db")
    run("db", "migrate", "--db", db2, want=0)
    rc, out, _ = run("suppress", "import", exported, "--db", db2, want=0,
                     name="suppress import FILE.csv")
    check("import says what it did", out.strip(),
          "%s: 3 suppressions read, 3 added, 0 already in force, 0 expired (skipped)" % exported)
    rc, out2, _ = run("suppress", "list", "--csv", "--db", db2)
    check("the other database lists the same suppressions, dates included", out2,
          open(exported).read())
    bad = write(os.path.join(d, "bad.csv"), "address,type,reason,since,expires_at\n"
                "f@example.com,hard,x,2026-01-01T00:00:00Z,\nbad,hard,x,2026-01-01,\n"
                "g@example.com,soft,x,2026-01-01,\n")
    rc, _, err = run("suppress", "import", bad, "--db", db2, want=65,
                     name="suppress import with bad rows: 65")
    check("each bad row is named FILE:LINE and nothing is imported", err.splitlines(),
          ["bounced: suppress import: %s:3: the address is not one (user@domain)" % bad,
           "bounced: suppress import: %s:4: a soft suppression needs expires_at" % bad,
           "bounced: suppress import: %s: nothing imported" % bad])
    run("suppress", "check", "f@example.com", "--db", db2, want=1,
        name="suppress check after a refused import: 1")
    run("suppress", "import", os.path.join(d, "missing.csv"), "--db", db2, want=66,
        name="suppress import of a missing file: 66")


def stats(d):
    db = os.path.join(d, "s.db")
    key = write(os.path.join(d, "verp.key"), "k" * 32 + "\n")
    conf = write(os.path.join(d, "verp.conf"), "[verp]\nkey_file = %s   # signed VERP\n" % key)
    run("db", "migrate", "--db", db, want=0)
    msgs = os.path.join(d, "msgs")
    os.makedirs(msgs)
    write(os.path.join(msgs, "1-hard.eml"), dsn("hard@example.com", "m1"))
    write(os.path.join(msgs, "2-blocked.eml"), dsn(
        "blocked@example.org", "m2", "5.7.1",
        diag="550 5.7.1 Service unavailable; client host [192.0.2.1] blocked using zen.spamhaus.org"))
    write(os.path.join(msgs, "3-delayed.eml"), dsn(
        "slow@example.org", "m3", "4.4.1", action="delayed",
        diag="450 4.4.1 connection timed out"))
    run("ingest", "--db", db, msgs, want=0)
    run("ingest", "--db", db, os.path.join(msgs, "1-hard.eml"), want=0)   # a duplicate
    # A bounce for the VERP address of joe, unsigned while a key is configured: unverified.
    unv = write(os.path.join(d, "unverified.eml"), dsn("joe@example.net", "m4",
                                                       to="bounces+joe=example.net@bounces.example.com"))
    run("ingest", "--config", conf, "--db", db, "--envelope-recipient",
        "bounces+joe=example.net@bounces.example.com", unv, want=0)
    # Lifted now; a failure dated an hour before the lift cannot suppress again: after-lift.
    run("suppress", "remove", "hard@example.com", "--db", db, want=0)
    old = write(os.path.join(d, "old.eml"), dsn("hard@example.com", "m5",
                                                 last_attempt=formatdate(time.time() - 3600)))
    run("ingest", "--db", db, old, want=0)
    rc, out, _ = run("stats", "--json", "--db", db, want=0)
    j = json.loads(out)
    effects = {r["effect"]: r["events"] for r in j["by_effect"]}
    check("stats --json: the effects that say why nothing was suppressed", effects,
          {"suppressed": 1, "sender-blamed": 1, "delayed": 1, "unverified": 1, "after-lift": 1})
    check("stats --json: totals, duplicates included", j["totals"],
          {"messages": 5, "unparsed": 0, "truncated": 0, "duplicates": 1, "events": 5})
    check("stats --json: suppressed now by type", j["suppressed_now"],
          {"hard": 0, "soft": 0, "complaint": 0, "manual": 0, "total": 0})
    today = time.strftime("%Y-%m-%d", time.gmtime())
    check("stats --json: one day, labelled columns", j["days"],
          [{"day": today, "messages": 5, "unparsed": 0, "truncated": 0, "duplicates": 1,
            "events": 5, "hard": 3, "soft": 2, "complaint": 0, "autoreply": 0, "none": 0,
            "suppressed_hard": 1, "suppressed_soft": 0, "suppressed_complaint": 0,
            "manual_added": 0, "lifted": 1}])
    check("stats --json: per day by class, reason and effect",
          sorted((r["reason"], r["effect"], r["events"]) for r in j["days_by_reason"]),
          [("blocked", "sender-blamed", 1), ("network_error", "delayed", 1),
           ("user_unknown", "after-lift", 1), ("user_unknown", "suppressed", 1),
           ("user_unknown", "unverified", 1)])
    check("stats --json: by receiving domain per day",
          [(r["day"], r["domain"], r["events"], r["hard"], r["soft"], r["sender"])
           for r in j["days_by_domain"]],
          [(today, "example.com", 2, 2, 0, 0), (today, "example.org", 2, 0, 2, 1),
           (today, "example.net", 1, 1, 0, 0)])
    check("stats --json: keys", sorted(j), sorted([
        "since", "generated_at", "totals", "suppressed_now", "by_class", "by_reason", "by_effect",
        "by_domain", "days", "days_by_reason", "days_by_domain"]))
    check("stats --json: by receiving domain",
          [(r["domain"], r["events"]) for r in j["by_domain"]],
          [("example.com", 2), ("example.org", 2), ("example.net", 1)])
    rc, out, _ = run("stats", "--by", "day", "--db", db, want=0)
    check("stats --by day prints the day's row", re.search(
        r"^  %s +5 +0 +0 +1 +5 +3 +2 +0 +0 +0 +1 +0 +0 +0 +1$" % today, out, re.M) is not None,
        True, out)
    check("stats prints the effects", re.search(r"^  unverified +1$", out, re.M) is not None,
          True, out)
    run("stats", "--by", "week", "--db", db, want=2, name="stats --by week: 2")
    rc, out, _ = run("stats", "--json", "--since", "2999-01-01", "--db", db, want=0)
    check("stats --json --since the future: zeros and no days",
          (json.loads(out)["totals"]["events"], json.loads(out)["days"]), (0, []))


def prune(d):
    db = os.path.join(d, "p.db")
    run("db", "migrate", "--db", db, want=0)
    msgs = os.path.join(d, "pmsgs")
    os.makedirs(msgs)
    for i in range(5):
        write(os.path.join(msgs, "%d.eml" % i), dsn("u%d@example.com" % i, "p%d" % i, "4.2.2",
                                                   diag="452 4.2.2 mailbox full"))
    write(os.path.join(msgs, "h.eml"), dsn("h@example.com", "ph"))
    run("ingest", "--db", db, msgs, want=0)
    # Ten days pass (the clock of the rows is moved back; bounced reads them as they are).
    con = sqlite3.connect(db)
    con.execute("UPDATE events SET occurred_at = occurred_at - 10 * 86400")
    con.execute("UPDATE messages SET received_at = received_at - 10 * 86400")
    con.commit()
    con.close()
    rc, out, _ = run("db", "prune", "--older-than", "20d", "--db", db, want=0)
    check("db prune --older-than 20d: nothing that young", out.startswith(
        "%s: deleted 0 events and 0 messages" % db), True, out)
    run("db", "prune", "--older-than", "soon", "--db", db, want=2,
        name="db prune --older-than soon: 2")
    rc, out, _ = run("db", "prune", "--older-than", "5d", "--db", db, want=0)
    check("db prune --older-than 5d: the events but the one that suppressed, their messages",
          out.startswith("%s: deleted 5 events and 5 messages" % db), True, out)
    con = sqlite3.connect(db)
    left = con.execute("SELECT address_key, effect FROM events").fetchall()
    supp = con.execute("SELECT address FROM suppressed").fetchall()
    con.close()
    check("the event a suppression points at stays, and the suppression", (left, supp),
          ([("h@example.com", "suppressed")], [("h@example.com",)]))
    # [store] keep_events_days: the next write prunes by itself.
    db2 = os.path.join(d, "k.db")
    run("db", "migrate", "--db", db2, want=0)
    run("ingest", "--db", db2, msgs, want=0)
    con = sqlite3.connect(db2)
    con.execute("UPDATE events SET occurred_at = occurred_at - 10 * 86400")
    con.execute("UPDATE messages SET received_at = received_at - 10 * 86400")
    con.commit()
    con.close()
    conf = write(os.path.join(d, "keep.conf"), "[store]\nkeep_events_days = 7   # a week\n")
    write(os.path.join(d, "new.eml"), dsn("new@example.com", "pnew", "4.2.2",
                                          diag="452 4.2.2 mailbox full"))
    run("ingest", "--config", conf, "--db", db2, os.path.join(d, "new.eml"), want=0)
    con = sqlite3.connect(db2)
    left = sorted(r[0] for r in con.execute("SELECT address_key FROM events"))
    con.close()
    check("keep_events_days = 7: ten-day-old events are gone at the next write", left,
          ["h@example.com", "new@example.com"])


def backup(d):
    srv = harness.Bounced(BOUNCED, d)
    srv.start()
    try:
        c = harness.Lmtp(srv.sock)
        c.hello()
        replies = c.deliver(["bounces@bounces.example.com"], dsn("first@example.com", "b0"))
        check("serve stores a first message", replies[0][:3], "250", replies)
        done = []

        def deliver():
            for i in range(1, 31):
                r = c.deliver(["bounces@bounces.example.com"], dsn("b%d@example.com" % i, "b%d" % i))
                done.append(r[0][:3])
        t = threading.Thread(target=deliver)
        t.start()
        copies = []
        for i in range(3):
            out = os.path.join(d, "backup-%d.db" % i)
            rc, o, e = run("db", "backup", out, "--db", srv.db, want=0,
                           name="db backup while serve takes deliveries (%d)" % i)
            copies.append(out)
        t.join(120)
        c.close()
        check("every delivery meanwhile answered 250", done, ["250"] * 30)
        for out in copies:
            con = sqlite3.connect(out)
            ok = con.execute("PRAGMA integrity_check").fetchone()[0]
            n = con.execute("SELECT count(*) FROM messages").fetchone()[0]
            mode = con.execute("PRAGMA journal_mode").fetchone()[0]
            con.close()
            check("the backup %s is whole, a single file, with 1 to 31 messages"
                  % os.path.basename(out), (ok, mode, 1 <= n <= 31), ("ok", "delete", True))
            check("and no .tmp is left", os.path.exists(out + ".tmp"), False)
        run("db", "backup", "/nonexistent/dir/b.db", "--db", srv.db, want=73,
            name="db backup to a directory that does not exist: 73")
    finally:
        srv.stop()


def views_and_log(d):
    """schema 4's bounce_events columns, and serve's per-message line saying unverified."""
    key = write(os.path.join(d, "verp.key"), "s" * 32 + "\n")
    srv = harness.Bounced(BOUNCED, d, config="[verp]\nkey_file = %s\n" % key)
    rc, verp, err = run("verp", "encode", "--config", srv.conf, "--tag", "c42", "--return-path",
                        "bounces@bounces.example.com", "joe@example.net", want=0)
    verp = verp.strip()
    failed = time.time() - 7200
    msg = dsn("joe@example.net", "v1", last_attempt=formatdate(failed), to=verp)
    msg = msg.replace("--B--\n", "--B\nContent-Type: text/rfc822-headers\n\nFrom: app@shop.example\n"
                      "To: joe@example.net\nMessage-ID: <sent-1@shop.example>\n"
                      "X-Campaign-ID: winter-7\n\n--B--\n")
    srv.start()
    try:
        c = harness.Lmtp(srv.sock)
        c.hello()
        r1 = c.deliver([verp], msg)
        r2 = c.deliver(["bounces+ann=example.net@bounces.example.com"],
                       dsn("ann@example.net", "v2", to="bounces+ann=example.net@bounces.example.com"))
        c.close()
        check("serve stores both", (r1[0][:3], r2[0][:3]), ("250", "250"))
    finally:
        srv.stop()
    lines = [l for l in srv.read_log().splitlines() if " lmtp: " in l and "ann@example.net" in l]
    check("the per-message line of the unsigned VERP says unverified",
          len(lines) == 1 and lines[0].endswith(" suppressed=0 unverified"), True, srv.read_log())
    con = sqlite3.connect("file:%s?mode=ro" % srv.db, uri=True)
    rows = con.execute("SELECT address, class, reason, status, smtp_code, occurred_at, message_id, "
                   "failed_at, original_message_id, verp_tag, x_tags, blame, effect FROM "
                   "bounce_events ORDER BY address DESC").fetchall()
    con.close()
    rows = [list(r) for r in rows]
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(failed)))
    check("bounce_events: the eight columns of version 1, then failed_at (the report's date), "
          "original_message_id, verp_tag, x_tags, blame, effect",
          [r[:5] + r[6:] for r in rows],
          [["joe@example.net", "hard", "user_unknown", "5.1.1", "550", "<v1@mx.example.net>",
            when, "<sent-1@shop.example>", "c42", "X-Campaign-ID: winter-7\n", "recipient",
            "suppressed"],
           ["ann@example.net", "hard", "user_unknown", "5.1.1", "550", "<v2@mx.example.net>",
            rows[1][5] if len(rows) > 1 else "", None, None, None, "recipient", "unverified"]])
    check("occurred_at stays the time bounced took it in",
          len(rows) > 0 and rows[0][5] >= time.strftime("%Y-%m-%dT%H", time.gmtime(time.time() - 60)),
          True, rows)


def main():
    d = deploy.scratch("tools")
    for part in (suppress, stats, prune, backup, views_and_log):
        sub = os.path.join(d, part.__name__)
        os.makedirs(sub)
        part(sub)
    deploy.cleanup(d)
    deploy.finish()


if __name__ == "__main__":
    main()
