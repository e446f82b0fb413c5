#!/usr/bin/env python3
"""The deployment of README.md and doc/postfix.md, as a new administrator pastes it: bounced is
installed with README's `meson setup` arguments into a scratch DESTDIR; the shell blocks of the
INSTALLED postfix.md (user, /etc/bounced/bounced.conf, config check, db migrate as root, the
systemd unit's ExecStart as its User= with its SupplementaryGroups=, postconf -M, the transport
map, postconf -e, postfix reload) are run against a real Postfix in a scratch directory, and the
test bounce of step 4 sent through Postfix's SMTP ends in the `suppressed` view. Then the same
with README's pipe(8) transport instead of the service.

Every path of the guides is moved into a scratch root (deploy.py); nothing else is changed.
usage: test_guide.py   (needs root, setpriv and Debian's postfix, swaks and sqlite3)"""
import os
import pwd
import grp
import re
import shlex
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deploy  # noqa: E402
from deploy import check, run  # noqa: E402
import harness  # noqa: E402


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def bare_postfix(d, port):
    """harness.Postfix, less what the guide sets: no transport map, no relay domain, no
    `bounced` service."""
    pf = harness.Postfix(d, port, "/nonexistent")
    pf.postconf("-X", "transport_maps", "relay_domains", "bounced_destination_concurrency_limit",
                "bounced_destination_recipient_limit")
    pf.postconf("-MX", "bounced/unix")
    os.unlink(os.path.join(pf.etc, "transport"))
    return pf


def guide_blocks(inst):
    text = inst.read("/usr/share/doc/bounced/postfix.md")
    blocks = [b for _, b in deploy.md_blocks(text, "sh")]

    def find(word):
        for b in blocks:
            if word in b:
                return b
        raise SystemExit("postfix.md: no sh block with %r" % word)
    return text, {"user": find("adduser"), "start": find("db migrate"),
                  "master": find("postconf -M"), "transport": find("postmap"),
                  "check": find("swaks --server")}


def run_block(root, block, name, skip=()):
    for cmd in root.script(block):
        if any(w in cmd for w in skip):
            continue
        rc, out, err = run(cmd, timeout=120)
        check("%s: %s exits 0" % (name, cmd.splitlines()[0][:100]), rc, 0, out + err)


def start_unit(inst, root):
    """systemctl enable --now bounced, as the installed unit says: its RuntimeDirectory, its
    ExecStart as User= with SupplementaryGroups=."""
    unit = deploy.unit_settings(inst.read("/usr/lib/systemd/system/bounced.service"))
    check("the unit runs as user bounced", unit.get("User"), deploy.DOC_USER)
    check("the unit reads /etc/bounced/bounced.conf",
          unit.get("ExecStart"), "/usr/sbin/bounced serve --config /etc/bounced/bounced.conf")
    rundir = root.dir + "/run/" + unit["RuntimeDirectory"]
    os.makedirs(rundir, exist_ok=True)
    pw = pwd.getpwnam(deploy.USER)
    os.chown(rundir, pw.pw_uid, pw.pw_gid)
    os.chmod(rundir, int(unit["RuntimeDirectoryMode"], 8))
    groups = [grp.getgrnam(g).gr_gid for g in unit.get("SupplementaryGroups", "").split()]
    args = shlex.split(root.paths(unit["ExecStart"]))
    log = open(os.path.join(root.dir, "serve.log"), "w")
    proc = subprocess.Popen(["setpriv", "--reuid", str(pw.pw_uid), "--regid", str(pw.pw_gid),
                             "--groups", ",".join(map(str, groups)), "--"] + args,
                            stdout=log, stderr=log)
    log.close()
    deadline = time.time() + 20
    while time.time() < deadline and not os.path.exists(root.sock) and proc.poll() is None:
        time.sleep(0.05)
    check("bounced serve starts as the unit says and opens %s" % root.sock,
          os.path.exists(root.sock), True, open(os.path.join(root.dir, "serve.log")).read())
    st = os.stat(root.sock)
    check("the socket belongs to group postfix, mode 0660",
          (grp.getgrgid(st.st_gid).gr_name, oct(st.st_mode & 0o777)), ("postfix", "0o660"))
    return proc


def first_bounce(inst, root, blocks, text, name):
    """Step 4 of postfix.md: the test bounce through Postfix's SMTP; the suppress check of the
    block succeeds once delivered; the query prints what the guide says."""
    cmds = root.script(blocks["check"])
    swaks = [c for c in cmds if c.startswith("swaks ")]
    rc, out, err = run(swaks[0], timeout=120)
    check("%s: Postfix accepts the test bounce" % name, rc, 0, out + err)
    supp = [c for c in cmds if " suppress check " in c][0]
    deadline = time.time() + 60
    rc = None
    while time.time() < deadline:
        rc, out, err = run(supp)
        if rc == 0:
            break
        time.sleep(0.3)
    check("%s: bounced suppress check joe@example.org exits 0" % name, rc, 0, out + err)
    want = re.search(r"prints `(joe@example.org: suppressed, type hard, reason user_unknown),",
                     text.replace("\n", " "))
    check("%s: it prints what postfix.md says" % name,
          out.startswith(want.group(1) + ", since ") if want else None, True, out)
    query = [c for c in cmds if c.startswith("sqlite3 ")][0]
    rc, out, err = run(query)
    want = re.search(r"the query `([^`]+)`", text)
    check("%s: the suppressed view has the row postfix.md shows" % name,
          (rc, out.strip()), (0, want.group(1) if want else None), err)


def lmtp(inst, d):
    port = free_port()
    pf = bare_postfix(d, port)
    root = deploy.Root(inst, d, postfix_etc=pf.etc, smtp_port=port)
    text, blocks = guide_blocks(inst)
    root.as_service_user_dir()
    run_block(root, blocks["user"], "step 1")
    with open(root.conf) as f, open(inst.path("/usr/share/doc/bounced/examples/bounced.conf")) as g:
        check("the configuration of postfix.md is examples/bounced.conf", f.read(),
              root.paths(g.read()))
    run_block(root, blocks["start"], "step 1")
    st = os.stat(root.db)
    check("db migrate run as root leaves the database to the directory's owner",
          pwd.getpwuid(st.st_uid).pw_name, deploy.USER)
    for sfx in ("-wal", "-shm"):
        if os.path.exists(root.db + sfx):
            check("and its " + sfx, pwd.getpwuid(os.stat(root.db + sfx).st_uid).pw_name,
                  deploy.USER)
    serve = start_unit(inst, root)
    try:
        pf.start()
        run_block(root, blocks["master"], "step 2")
        rc, out, _ = run(["postconf", "-c", pf.etc, "-M", "bounced/unix"])
        check("master.cf has the line postfix.md shows", out.split(),
              "bounced unix - - n - 20 lmtp".split())
        run_block(root, blocks["transport"], "step 3")
        first_bounce(inst, root, blocks, text, "LMTP")
    finally:
        pf.stop()
        serve.send_signal(signal.SIGTERM)
        try:
            serve.wait(30)
        except subprocess.TimeoutExpired:
            serve.kill()
    check("bounced serve exits 0 on SIGTERM", serve.returncode, 0)


def pipe(inst, d):
    """README's pipe(8) transport: postfix.md's step 1 but the service, then README's block."""
    port = free_port()
    pf = bare_postfix(d, port)
    root = deploy.Root(inst, d, postfix_etc=pf.etc, smtp_port=port)
    text, blocks = guide_blocks(inst)
    readme = inst.read("/usr/share/doc/bounced/README.md")
    pblock = [b for b in deploy.indented_blocks(readme) if " pipe flags=" in b]
    check("README.md has the pipe(8) block", len(pblock), 1)
    check("README's pipe(8) line runs the installed program with the configuration",
          "argv=/usr/sbin/bounced ingest --config /etc/bounced/bounced.conf" in pblock[0], True)
    root.as_service_user_dir()
    run_block(root, blocks["user"], "pipe step 1")
    run_block(root, blocks["start"], "pipe step 1")
    try:
        pf.start()
        run_block(root, pblock[0], "pipe")
        first_bounce(inst, root, blocks, text, "pipe(8)")
    finally:
        pf.stop()


def main():
    deploy.need_root()
    if not harness.have_postfix() or not all(
            subprocess.run(["which", p], capture_output=True).returncode == 0
            for p in ("swaks", "sqlite3")):
        print("SKIP: needs Debian's postfix, swaks and sqlite3")
        sys.exit(deploy.SKIP)
    d = deploy.scratch("guide")
    inst = deploy.Install(d)
    rc, out, _ = run([inst.exe, "--version"])
    check("the installed bounced reads the files the guides name",
          out.splitlines()[1:], ["configuration: /etc/bounced/bounced.conf" +
                                 (" (absent: built-in defaults)"
                                  if not os.path.exists("/etc/bounced/bounced.conf") else ""),
                                 "database: /var/lib/bounced/bounced.db"]
          if not os.path.exists("/etc/bounced/bounced.conf") else out.splitlines()[1:])
    for sub in ("lmtp", "pipe"):
        os.makedirs(os.path.join(d, sub))
        os.chmod(os.path.join(d, sub), 0o755)
    lmtp(inst, os.path.join(d, "lmtp"))
    pipe(inst, os.path.join(d, "pipe"))
    deploy.cleanup(d)
    deploy.finish()


if __name__ == "__main__":
    main()
