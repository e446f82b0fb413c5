"""What the deploy tests share: bounced built and installed as README.md says into a scratch
DESTDIR, the code blocks of the installed guides, and those blocks run with the root of every
path moved into a scratch directory (the only change made to what a reader pastes).

The installed binary keeps Debian's defaults (/etc/bounced/bounced.conf, /var/lib/bounced/...):
`bounced --version` is checked to say so, and each `bounced` command of a block is given
`--config` for the scratch copy of that file. User `bounced` is played by `nobody` (group
`nogroup`), created by nothing: the tests change no account of the machine."""
import os
import pwd
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "lmtp"))
import harness  # noqa: E402,F401  (a real Postfix in a scratch directory)

SKIP = 77
# Exit codes of bounced(8).
EXIT_NO, EXIT_USAGE, EXIT_DATAERR, EXIT_NOINPUT, EXIT_CANTCREAT = 1, 2, 65, 66, 73
EXIT_TEMPFAIL, EXIT_CONFIG = 75, 78
# The service user of the docs, and who plays it here.
DOC_USER = "bounced"
USER, GROUP = "nobody", "nogroup"

passed = failed = 0


def check(name, got, want, detail=""):
    global passed, failed
    if got == want:
        passed += 1
        print("ok: " + name, flush=True)
    else:
        failed += 1
        print("FAIL %s:\n  got  %r\n  want %r%s" % (name, got, want,
              ("\n  " + str(detail)) if detail else ""), flush=True)


def finish():
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


def need_root():
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        print("SKIP: needs root and setpriv (util-linux)")
        sys.exit(SKIP)
    pwd.getpwnam(USER)


def readme_setup_args():
    """The arguments of README.md's `meson setup build ...` line (the install command)."""
    with open(os.path.join(TOP, "README.md")) as f:
        for line in f:
            m = re.match(r"\s+meson setup build (--prefix=\S+ --sysconfdir=\S+)\s*$", line)
            if m:
                return m.group(1).split()
    raise SystemExit("README.md has no 'meson setup build --prefix=... --sysconfdir=...' line")


class Install:
    """bounced configured with README's arguments, built (the program only) and installed with
    `meson install --destdir`."""

    def __init__(self, scratch):
        self.build = os.path.join(scratch, "build")
        self.dest = os.path.join(scratch, "destdir")
        args = readme_setup_args()
        for cmd in (["meson", "setup", self.build, TOP] + args,
                    ["ninja", "-C", self.build, "bounced/bounced"],
                    ["meson", "install", "-C", self.build, "--no-rebuild", "--destdir", self.dest]):
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=1200)
            if r.returncode != 0:
                raise SystemExit("%s: %s%s" % (" ".join(cmd), r.stdout[-3000:], r.stderr[-3000:]))
        os.chmod(scratch, 0o755)
        self.exe = self.dest + "/usr/sbin/bounced"
        self.doc = self.dest + "/usr/share/doc/bounced"

    def path(self, p):
        return self.dest + p

    def read(self, p):
        with open(self.dest + p) as f:
            return f.read()


def md_blocks(text, lang=None):
    """The fenced code blocks of a markdown text: (language, body)."""
    out = []
    for m in re.finditer(r"^```(\w*)\n(.*?)^```\s*$", text, re.S | re.M):
        if lang is None or m.group(1) == lang:
            out.append((m.group(1), m.group(2)))
    return out


def indented_blocks(text):
    """The indented (4 blanks) code blocks of a markdown text."""
    out, cur = [], []
    for line in text.splitlines():
        if line.startswith("    ") or (cur and line.strip() == ""):
            cur.append(line[4:] if line.startswith("    ") else "")
        else:
            if cur:
                out.append("\n".join(cur).strip("\n") + "\n")
            cur = []
    if cur:
        out.append("\n".join(cur).strip("\n") + "\n")
    return out


def man_nf_blocks(text):
    """The .nf ... .fi blocks of a man page, as text."""
    return [m.group(1) for m in re.finditer(r"^\.nf\n(.*?)^\.fi$", text, re.S | re.M)]


def run(args, user=None, groups=None, stdin=None, timeout=120, cwd=None, env=None):
    """Runs args (a list, or a string for sh -c), as user when given (setpriv)."""
    if isinstance(args, str):
        args = ["sh", "-ec", args]
    if user is not None:
        pw = pwd.getpwnam(user)
        grp = ",".join(str(g) for g in (groups or [])) or "-"
        prefix = ["setpriv", "--reuid", str(pw.pw_uid), "--regid", str(pw.pw_gid)]
        prefix += ["--groups", grp] if groups else ["--clear-groups"]
        args = prefix + ["--"] + args
    r = subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=timeout,
                       cwd=cwd, env=env)
    return r.returncode, r.stdout, r.stderr


class Root:
    """The scratch root standing for /: etc/bounced, var/lib/bounced, run/bounced, and the
    localisation of a command from the guides into it."""

    def __init__(self, inst, scratch, postfix_etc=None, smtp_port=None):
        self.inst = inst
        self.dir = os.path.join(scratch, "root")
        for d in ("etc", "var/lib", "run"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        os.chmod(self.dir, 0o755)
        for d in ("etc", "var", "var/lib", "run"):
            os.chmod(os.path.join(self.dir, d), 0o755)
        self.conf = self.dir + "/etc/bounced/bounced.conf"
        self.db = self.dir + "/var/lib/bounced/bounced.db"
        self.sock = self.dir + "/run/bounced/lmtp.sock"
        self.postfix_etc = postfix_etc
        self.smtp_port = smtp_port

    def paths(self, text):
        """Moves the root of every path the guides name into the scratch root."""
        d = self.inst.dest
        subs = [("/usr/sbin/bounced", d + "/usr/sbin/bounced"),
                ("/usr/share/doc/bounced", d + "/usr/share/doc/bounced"),
                ("/etc/bounced", self.dir + "/etc/bounced"),
                ("/var/lib/bounced", self.dir + "/var/lib/bounced"),
                ("/run/bounced", self.dir + "/run/bounced")]
        if self.postfix_etc:
            subs.append(("/etc/postfix", self.postfix_etc))
        # One pass, longest first, so a replacement is never replaced again.
        rx = re.compile("|".join(re.escape(a) for a, _ in sorted(subs, key=lambda s: -len(s[0]))))
        return rx.sub(lambda m: dict(subs)[m.group(0)], text)

    def command(self, line):
        """One shell line of a guide, localised: paths, `bounced` with --config, Postfix's
        commands with -c, user bounced played by nobody, the SMTP server on our port. Returns
        None for a line that installs packages or manages accounts and services (done by the
        test itself)."""
        s = line.strip()
        if s.startswith("apt-get ") or s.startswith("adduser ") or s.startswith("systemctl "):
            return None
        if re.fullmatch(r"sleep \d+", s):
            return None
        s = self.paths(s)
        exe = self.inst.exe
        if re.match(r"bounced\s", s) or s.startswith(exe + " "):
            s = re.sub(r"^(?:bounced|%s)\s" % re.escape(exe), exe + " ", s)
            if " --config " not in s:
                s += " --config " + self.conf
            if re.match(re.escape(exe) + r" config check", s):
                s += " --user " + USER
        if self.postfix_etc:
            s = re.sub(r"^postconf\s", "postconf -c %s " % self.postfix_etc, s)
            s = re.sub(r"^postmap\s", "postmap -c %s " % self.postfix_etc, s)
            s = re.sub(r"^postfix\s", "postfix -c %s " % self.postfix_etc, s)
        s = s.replace("user=" + DOC_USER + " ", "user=" + USER + " ")
        if self.smtp_port:
            s = s.replace("--server localhost", "--server 127.0.0.1:%d" % self.smtp_port)
        return s

    def script(self, block):
        """A shell block of a guide as a list of localised commands (continuation lines
        joined; a here-document kept whole)."""
        lines = block.splitlines()
        cmds, i = [], 0
        while i < len(lines):
            line = lines[i]
            i += 1
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            while line.endswith("\\") and i < len(lines):
                line = line[:-1] + " " + lines[i].strip()
                i += 1
            m = re.search(r"<<'?(\w+)'?\s*$", line)
            if m:
                body = []
                while i < len(lines) and lines[i] != m.group(1):
                    body.append(lines[i])
                    i += 1
                i += 1
                cmds.append(self.paths(line + "\n" + "\n".join(body)) + "\n" + m.group(1))
                continue
            c = self.command(line)
            if c is not None:
                cmds.append(c)
        return cmds

    def as_service_user_dir(self):
        """What `adduser --system --home /var/lib/bounced bounced` leaves: the home directory,
        owned by the user."""
        home = self.dir + "/var/lib/bounced"
        os.makedirs(home, exist_ok=True)
        pw = pwd.getpwnam(USER)
        os.chown(home, pw.pw_uid, pw.pw_gid)
        os.chmod(home, 0o755)


def unit_settings(text):
    """Key = value settings of a systemd unit file (the last of each key)."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z]+)=(.*)$", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def scratch(name):
    # Not "bounced-*": other sessions on a shared machine clean /tmp/bounced-* up by a glob.
    d = tempfile.mkdtemp(prefix="bncdeploy-%s-" % name)
    os.chmod(d, 0o755)
    return d


def cleanup(d):
    if os.environ.get("BOUNCED_KEEP_SCRATCH"):
        print("scratch kept: " + d)
        return
    shutil.rmtree(d, ignore_errors=True)


def quote(s):
    return shlex.quote(s)
