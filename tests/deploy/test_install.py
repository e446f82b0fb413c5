#!/usr/bin/env python3
"""What the installed man pages and guides promise, checked on the installed files: every
configuration example parses and passes `bounced config check`; a database, -wal, directory or
fetch lock this user may not write is refused before anything starts, with the message of
bounced(8) and exit 73 (75 for `ingest -`, which Postfix's pipe(8) must retry), as each
command's --help says; a database path that is a directory, exit 73; a directory with an
unreadable file, a symbolic link, a link to a directory and a FIFO is read as bounced(8) says.

usage: test_install.py   (needs root and setpriv; commands run as nobody)"""
import glob
import os
import pwd
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deploy  # noqa: E402
from deploy import check, run, USER  # noqa: E402

# A DSN for one address, as the parsers read it (kind dsn, hard, user_unknown).
DSN = ("From: MAILER-DAEMON@mx.example.net\nTo: bounces@bounces.example.com\n"
       "Subject: Undelivered Mail\nMessage-ID: <%(id)s@mx.example.net>\nMIME-Version: 1.0\n"
       "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\n"
       "--B\nContent-Type: text/plain\n\n%(marker)s\n\n--B\n"
       "Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.net\n\n"
       "Final-Recipient: rfc822; %(rcpt)s\nAction: failed\nStatus: 5.1.1\n"
       "Diagnostic-Code: smtp; 550 5.1.1 user unknown\n\n--B--\n")


def dsn(rcpt, mid, marker="bounce"):
    return DSN % {"rcpt": rcpt, "id": mid, "marker": marker}


def write(path, text, mode=0o644, owner=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    if owner is not None:
        pw = pwd.getpwnam(owner)
        os.chown(path, pw.pw_uid, pw.pw_gid)
    return path


def chown(path, user):
    pw = pwd.getpwnam(user)
    os.chown(path, pw.pw_uid, pw.pw_gid)


def help_text(exe, *cmd):
    return run([exe] + list(cmd) + ["--help"])[1]


def exit_codes(text):
    """The exit statuses a --help lists ("Exit status: 0 done, 2 usage, 73 ..."), as numbers."""
    m = re.search(r"Exit status:(.*)", text, re.S)
    return {int(n) for n in re.findall(r"(?<![\w.-])(\d{1,3})(?= )", m.group(1))} if m else set()


def config_examples(inst, root, d):
    """Every configuration example of the installed pages: bounced.conf(5)'s EXAMPLE, fetch.md's
    [imap main], the unit's comment, examples/bounced.conf, and bounced.conf(5)'s comment and
    quote examples. The files they name are made (in the scratch root)."""
    man = inst.read("/usr/share/man/man5/bounced.conf.5")
    example = man.split(".SH EXAMPLE", 1)[1]
    examples = {"bounced.conf(5) EXAMPLE": deploy.man_nf_blocks(example)[0]}
    fetch = inst.read("/usr/share/doc/bounced/fetch.md")
    imap = [b for b in deploy.indented_blocks(fetch) if b.startswith("[imap ")]
    check("fetch.md has an [imap NAME] example", len(imap), 1)
    examples["fetch.md [imap main]"] = "[store]\ndb = /var/lib/bounced/bounced.db\n\n" + imap[0]
    unit = inst.read("/usr/lib/systemd/system/bounced.service")
    lines = re.search(r"for example.*?\n((?:#   .*\n)+)", unit).group(1)
    examples["bounced.service comment"] = "".join(l[4:] + "\n" for l in lines.splitlines())
    examples["examples/bounced.conf"] = inst.read("/usr/share/doc/bounced/examples/bounced.conf")
    frags = deploy.man_nf_blocks(man.split(".SH \"[store]\"", 1)[0])
    comments = [f for f in frags if "socket_mode" in f][0]
    quotes = [f for f in frags if "password =" in f][0]
    # The fragments of DESCRIPTION, each key in its section.
    store = "[store]\ndb = /var/lib/bounced/bounced.db\n"
    examples["bounced.conf(5) end-of-line comments"] = (
        store + "[lmtp]\n" + comments.splitlines()[0] + "\n[imap x]\nurl = imaps://u@h/INBOX\n" +
        comments.splitlines()[1] + "\n")
    examples["bounced.conf(5) quotes"] = (
        store + "[imap x]\nurl = imaps://u@h/INBOX\n" + quotes.splitlines()[0] + "\n[verp]\n" +
        quotes.splitlines()[1] + "\n")
    os.makedirs(root.dir + "/var/lib/bounced", exist_ok=True)
    chown(root.dir + "/var/lib/bounced", USER)
    for name, text in examples.items():
        text = root.paths(re.sub(r"\\-", "-", text))
        for key, path in re.findall(r"^(\w+) = (/\S+)", text, re.M):
            if key in ("key_file", "password_file", "tls_ca") and not os.path.exists(path):
                write(path, "k" * 32 + "\n", 0o640)
                os.chown(path, 0, pwd.getpwnam(USER).pw_gid)
        f = write(os.path.join(d, "example.conf"), text)
        rc, out, err = run([inst.exe, "config", "check", "--config", f, "--user", USER])
        check("%s: config check exits 0" % name, rc, 0, text + out + err)
        if name.endswith("comments"):
            check("a comment after a blank is not part of the value",
                  ("socket_mode = 0660" in out, "action = move" in out), (True, True), out)
        if name.endswith("quotes"):
            check("a quoted value keeps its #", "at = #\n" in out, True, out)
    # A password others may read: a warning, not an error.
    pw = write(os.path.join(d, "imap.pw"), "secret\n", 0o644)
    f = write(os.path.join(d, "pw.conf"), "[imap a]\nurl = imaps://u@h/INBOX\npassword_file = %s\n"
              "[store]\ndb = %s\n" % (pw, root.db))
    rc, out, err = run([inst.exe, "config", "check", "--config", f, "--user", USER])
    check("a password file every user may read: a warning, exit 0",
          (rc, "%s: the password file is readable by every user (mode 0644): chmod o-r %s"
           % (pw, pw) in err), (0, True), err)
    f = write(os.path.join(d, "inline.conf"), "[imap a]\nurl = imaps://u@h/INBOX\n"
              "password = \"x ;y\"\n", 0o644)
    rc, out, err = run([inst.exe, "config", "check", "--config", f, "--user", USER])
    check("a configuration holding a password every user may read: a warning",
          "%s: the configuration, which holds a password, is readable by every user" % f in err,
          True, err)
    f = write(os.path.join(d, "twice.conf"), "[lmtp]\nsocket_group = postfix\nworkers = 2\n"
              "socket_group = mail\n")
    rc, out, err = run([inst.exe, "config", "check", "--config", f])
    check("a key given twice: exit 78 naming both lines",
          (rc, err.strip()), (78, "bounced: %s:4: socket_group given twice in [lmtp] (first on "
                                  "line 2)" % f))


def permissions(inst, root, d):
    """The refusals of bounced(8) EXIT STATUS 73, run as nobody."""
    exe = inst.exe
    man = inst.read("/usr/share/man/man8/bounced.8")
    status = man.split(".SH EXIT STATUS", 1)[1].split(".SH ", 1)[0]
    templates = deploy.man_nf_blocks(status)[0].splitlines()
    cant_write = [t for t in templates if "cannot write it" in t][0]
    is_dir = [t for t in templates if "is a directory" in t][0]
    for cmd in (("serve",), ("ingest",), ("fetch",), ("suppress",), ("db",)):
        check("bounced %s --help documents exit 73" % cmd[0], 73 in exit_codes(help_text(exe, *cmd)),
              True)
    check("bounced(8) documents exit 73", ".B 73" in status, True)

    home = root.dir + "/var/lib/bounced"
    db = root.db
    conf = write(root.conf, "[store]\ndb = %s\n[lmtp]\nlisten = unix:%s/lmtp.sock\n"
                 "[imap main]\nurl = imaps://u@127.0.0.1:9/INBOX\npassword_file = %s/pw\n"
                 % (db, d, d))
    write(d + "/pw", "pw\n", 0o640)
    os.chown(d + "/pw", 0, pwd.getpwnam(USER).pw_gid)
    msg = write(d + "/m.eml", dsn("x@example.net", "perm-1"))
    os.makedirs(home, exist_ok=True)
    chown(home, USER)
    rc, out, err = run([exe, "db", "migrate", "--config", conf])
    check("db migrate as root", rc, 0, err)
    # The database left to root, as `db migrate` of an older bounced did.
    for f in (db, db + "-wal", db + "-shm"):
        os.chown(f, 0, 0)
        os.chmod(f, 0o644)
    want = deploy.Root.paths(root, cant_write).replace("user bounced", "user " + USER)
    want = want.replace("chown bounced", "chown " + USER)
    runs = {
        "serve": ([exe, "serve", "--config", conf], None, 73),
        "ingest FILE": ([exe, "ingest", "--config", conf, msg], None, 73),
        "ingest - (pipe(8): 75, so Postfix retries)": ([exe, "ingest", "--config", conf, "-"],
                                                       dsn("y@example.net", "perm-2"), 75),
        "fetch": ([exe, "fetch", "--config", conf], None, 73),
        "suppress add (the application's user)": ([exe, "suppress", "add", "a@example.net",
                                                   "--reason", "r", "--config", conf], None, 73),
        "db migrate": ([exe, "db", "migrate", "--config", conf], None, 73),
    }
    for name, (args, stdin, code) in runs.items():
        rc, out, err = run(args, user=USER, stdin=stdin, timeout=60)
        check("%s as %s over a root-owned database: exit %d with bounced(8)'s message"
              % (name, USER, code), (rc, err.splitlines()[0] if err else ""), (code, want), err)
    rc, out, err = run([exe, "suppress", "list", "--config", conf], user=USER)
    check("suppress list (read-only) still works", rc, 0, err)

    # -wal alone left to root.
    chown(db, USER)
    chown(db + "-shm", USER)
    rc, out, err = run([exe, "ingest", "--config", conf, msg], user=USER)
    check("a root-owned -wal is named", (rc, "%s-wal: user %s cannot write it (owned by root:root"
                                         % (db, USER) in err), (73, True), err)
    # db migrate run as root on an existing file owned by another user keeps its owner.
    chown(db + "-wal", USER)
    rc, out, err = run([exe, "db", "migrate", "--config", conf])
    check("db migrate as root over nobody's database", rc, 0, err)
    owners = [pwd.getpwuid(os.stat(db + s).st_uid).pw_name for s in ("", "-wal", "-shm")]
    check("keeps the owner of the database and its -wal and -shm", owners, [USER] * 3)
    rc, out, err = run([exe, "ingest", "--config", conf, msg], user=USER)
    check("and the service user can write it then", rc, 0, err)

    # fetch's lock file left by root.
    lock = write(db + ".fetch.lock", "", 0o600)
    rc, out, err = run([exe, "fetch", "--config", conf], user=USER)
    check("a root-owned fetch lock: exit 73 naming it",
          (rc, "%s: user %s cannot write it (owned by root:root, mode 0600)" % (lock, USER) in err),
          (73, True), err)
    os.unlink(lock)

    # A directory the user cannot enter.
    os.chown(home, 0, 0)
    os.chmod(home, 0o750)
    rc, out, err = run([exe, "suppress", "remove", "a@example.net", "--config", conf], user=USER)
    check("a database directory the user cannot enter: exit 73 naming it",
          (rc, "%s: user %s cannot enter it (owned by root:root, mode 0750)" % (home, USER)
           in err), (73, True), err)
    chown(home, USER)
    os.chmod(home, 0o755)

    # The database path is a directory.
    d2 = d + "/dir.db"
    os.makedirs(d2)
    want = is_dir.replace("/var/lib/bounced/bounced.db", d2)
    for args in (["ingest", "--db", d2, msg], ["serve", "--db", d2, "--listen",
                                               "unix:%s/x.sock" % d], ["db", "migrate", "--db", d2],
                 ["stats", "--db", d2]):
        rc, out, err = run([exe] + args + ["--config", conf])
        check("%s with a directory as database: exit 73, bounced(8)'s message" % args[0],
              (rc, err.strip()), (73, want))


def directories(inst, root, d):
    """bounced(8): in a directory, dot-files, tmp/, symbolic links and special files are skipped;
    an unreadable entry is reported and the walk goes on (parse 1, ingest 66)."""
    exe = inst.exe
    box = d + "/box"
    secret = write(d + "/secret.eml", dsn("secret@example.net", "secret-1", "SECRET-MARKER"), 0o600)
    write(box + "/a.eml", dsn("a@example.net", "dir-a"))
    write(box + "/c.eml", dsn("c@example.net", "dir-c"), 0o600)   # nobody cannot read it
    write(box + "/d.eml", dsn("d@example.net", "dir-d"))
    write(box + "/.hidden.eml", dsn("h@example.net", "dir-h"))
    write(box + "/tmp/t.eml", dsn("t@example.net", "dir-t"))
    write(box + "/sub/e.eml", dsn("e@example.net", "dir-e"))
    os.symlink(secret, box + "/b.eml")
    os.symlink(box + "/sub", box + "/link")
    os.mkfifo(box + "/fifo")
    for p in (box, box + "/sub", box + "/tmp"):
        os.chmod(p, 0o755)
    rc, out, err = run([exe, "parse", box], user=USER, timeout=60)
    sources = [re.search(r'"source":"([^"]*)"', l).group(1) for l in out.splitlines()]
    check("parse as nobody: every readable file, in order, none through a link",
          sources, [box + "/a.eml", box + "/d.eml", box + "/sub/e.eml"])
    check("the unreadable one is reported and parse exits 1",
          (rc, err.strip()), (1, "bounced: parse: %s/c.eml: Permission denied" % box))
    db = d + "/dirs.db"
    run([exe, "db", "migrate", "--db", db])
    os.chown(d, pwd.getpwnam(USER).pw_uid, -1)
    for f in (db, db + "-wal", db + "-shm"):
        chown(f, USER)
    rc, out, err = run([exe, "ingest", "--db", db, box], user=USER, timeout=60)
    check("ingest as nobody records the others and exits 66",
          (rc, err.strip(), out.strip()),
          (66, "bounced: ingest: %s/c.eml: Permission denied" % box,
           "ingested 3 messages: 0 duplicates, 3 events, 3 newly suppressed"))
    os.chown(d, 0, -1)
    # As root (who can read c.eml): the link to /etc/shadow's stand-in is still not followed.
    rc, out, err = run([exe, "ingest", "--db", db, box], timeout=60)
    check("ingest as root: c.eml too, the links not followed, the FIFO skipped",
          (rc, out.strip()), (0, "ingested 4 messages: 3 duplicates, 1 events, 1 newly suppressed"),
          err)
    rc, out, err = run(["sqlite3", "-readonly", db, "SELECT count(*) FROM messages WHERE "
                        "CAST(raw AS TEXT) LIKE '%SECRET-MARKER%'"])
    check("what the symbolic link points to is not stored", out.strip(), "0", err)
    # A link given on the command line is the caller's choice: followed.
    rc, out, err = run([exe, "parse", box + "/b.eml"])
    check("a symbolic link named on the command line is read", (rc, "secret@example.net" in out),
          (0, True), err)


def pages(inst, root, d):
    """What is installed besides the program: every man page's SEE ALSO names the others; the
    reason table is a man page listing every reason the parsers give; bounced-rules(5) names no
    internal function; every path under /usr the pages name is installed; the units and the
    cron line run the installed program with the installed configuration; run.sh installs
    only what running needs and ends with a swaks line."""
    mans = {"bounced.8": "/usr/share/man/man8/bounced.8",
            "bounced.conf.5": "/usr/share/man/man5/bounced.conf.5",
            "bounced-rules.5": "/usr/share/man/man5/bounced-rules.5",
            "bounced-reasons.7": "/usr/share/man/man7/bounced-reasons.7"}
    for name, path in mans.items():
        see = inst.read(path).split(".SH SEE ALSO", 1)[-1].split(".SH \"SEE ALSO\"")[-1]
        text = inst.read(path)
        see = re.split(r'^\.SH "?SEE ALSO"?$', text, flags=re.M)[-1]
        others = ["%s (%s)" % tuple(o.rsplit(".", 1)) for o in mans if o != name]
        missing = [o for o in others if ".BR %s" % o.replace(" (", " (") not in see]
        check("%s: SEE ALSO names every other page" % name, missing, [])
    # Every reason of the parsers (report.c's table) is in bounced-reasons(7).
    with open(os.path.join(deploy.TOP, "parsers", "report.c")) as f:
        reasons = re.findall(r'\[REASON_\w+\]\s*=\s*\{\s*"(\w+)"', f.read())
    table = inst.read(mans["bounced-reasons.7"])
    check("bounced-reasons(7) lists every reason (%d)" % len(reasons),
          [r for r in reasons if not re.search(r"^%s\t" % r, table, re.M)], [])
    rules = inst.read(mans["bounced-rules.5"])
    check("bounced-rules(5) names no internal function",
          re.findall(r"\b[a-z]+_[a-z_]+\(\)|\b(?:rules|bounce|store|policy)_[a-z_]+\b", rules), [])
    # Paths the installed pages name under /usr exist in the installation.
    texts = [inst.read(p) for p in mans.values()]
    for p in glob.glob(inst.doc + "/*.md"):
        with open(p) as f:
            texts.append(f.read())
    named = set()
    for t in texts:
        named.update(m.rstrip(".,;:)`'") for m in re.findall(r"/usr/[\w./*-]*bounced[\w./*-]*", t))
    absent = sorted(p for p in named if not glob.glob(inst.dest + p))
    check("every /usr path the pages name is installed (%d)" % len(named), absent, [])
    fetch_unit = deploy.unit_settings(inst.read("/usr/lib/systemd/system/bounced-fetch.service"))
    check("bounced-fetch.service runs the installed fetch with the configuration",
          (fetch_unit.get("ExecStart"), fetch_unit.get("User")),
          ("/usr/sbin/bounced fetch --config /etc/bounced/bounced.conf", "bounced"))
    timer = deploy.unit_settings(inst.read("/usr/lib/systemd/system/bounced-fetch.timer"))
    check("bounced-fetch.timer: every five minutes", timer.get("OnUnitActiveSec"), "5min")
    fetch = inst.read("/usr/share/doc/bounced/fetch.md")
    cron = [l for l in fetch.splitlines() if l.strip().startswith("*/5 ")]
    check("fetch.md's cron line runs the installed program with the configuration", cron,
          ["    */5 * * * *  bounced  /usr/sbin/bounced fetch --config /etc/bounced/bounced.conf"])
    for u in (fetch_unit["ExecStart"], cron[0].split("bounced  ", 1)[1]):
        rc, out, err = run(shlex_split(root.paths(u)) + ["--help"])
        check("%s --help runs" % u.split()[1], rc, 0, err)
    with open(os.path.join(deploy.TOP, "scripts", "deps.sh")) as f:
        deps = f.read()
    runs = re.search(r'RUN="([^"]*)"', deps, re.S).group(1).split()
    check("deps.sh run installs none of the test tools",
          [p for p in ("postfix", "dovecot-imapd", "swaks", "valgrind") if p in runs], [])
    with open(os.path.join(deploy.TOP, "scripts", "run.sh")) as f:
        runsh = f.read()
    last = runsh.split("cat <<MSG", 1)[1].split("\nMSG\n", 1)[0].strip().splitlines()
    check("run.sh installs with deps.sh run and prints a swaks line last",
          ("./scripts/deps.sh run" in runsh, [l for l in last if "swaks " in l] != []),
          (True, True))
    # config check finds what serve would trip on: 78.
    home = root.dir + "/var/lib/bounced"
    os.makedirs(home, exist_ok=True)
    os.chmod(home, 0o755)
    conf = write(d + "/c.conf", "[store]\ndb = %s/bounced.db\n[lmtp]\nsocket_group = nosuchgroup\n"
                 "listen = unix:%s/s.sock\n" % (home, d))
    rc, out, err = run([inst.exe, "config", "check", "--config", conf, "--user", USER])
    check("config check: directories the user cannot write, an unknown group: 78, each named",
          (rc, err.splitlines()),
          (78, ["bounced: %s: user %s cannot create files in it (owned by root:root, mode 0755); "
                "%s/bounced.db is created there: chown %s '%s'" % (home, USER, home, USER, home),
                "bounced: %s: user %s cannot create files in it (owned by root:root, mode 0755); "
                "%s/s.sock is created there: chown %s '%s'" % (d, USER, d, USER, d),
                "bounced: %s: socket_group: no such group 'nosuchgroup'" % conf,
                "bounced: config check: 3 problems"]))


def shlex_split(s):
    import shlex
    return shlex.split(s)


def main():
    deploy.need_root()
    if shutil.which("sqlite3") is None:
        print("SKIP: needs sqlite3")
        sys.exit(deploy.SKIP)
    d = deploy.scratch("install")
    inst = deploy.Install(d)
    for part in (config_examples, permissions, directories, pages):
        sub = os.path.join(d, part.__name__)
        os.makedirs(sub)
        os.chmod(sub, 0o755)
        root = deploy.Root(inst, sub)
        part(inst, root, sub)
    deploy.cleanup(d)
    deploy.finish()


if __name__ == "__main__":
    main()
