"""Shared helpers of the lmtp integration tests: a scratch directory, a real `bounced serve`
started and stopped by the test, bounce messages written here, and the sqlite3 CLI to read the
views. No mocks: every program is the real one."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SKIP = 77  # meson: test skipped


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def check(cond, msg, detail=None):
    """Fails with msg (and detail, when given) unless cond; prints msg when it holds."""
    if not cond:
        fail(msg if detail is None else msg + "\n" + str(detail))
    print("ok: " + msg, flush=True)


def scratch(name):
    d = tempfile.mkdtemp(prefix="bounced-%s-" % name)
    os.chmod(d, 0o755)  # Postfix's lmtp client (user postfix) must reach the socket
    return d


def dsn(rcpt, verp_to, msgid, qid="4ABCDEF123", reason="550 5.1.1 <%s>: Recipient address rejected: User unknown"):
    """A Postfix-style DSN for a failed delivery to rcpt, sent to the VERP address verp_to."""
    diag = reason % rcpt if "%s" in reason else reason
    return (
        "Received: from mx.sender.test (mx.sender.test [192.0.2.7])\r\n"
        "\tby bounce.test (Postfix) with ESMTP id %(qid)s\r\n"
        "\tfor <%(verp)s>; Sun, 22 Nov 2026 12:00:00 +0000 (UTC)\r\n"
        "From: MAILER-DAEMON@mx.sender.test (Mail Delivery System)\r\n"
        "To: %(verp)s\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <%(msgid)s>\r\n"
        "Date: Sun, 22 Nov 2026 12:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=delivery-status;\r\n"
        "\tboundary=\"B0UND\"\r\n"
        "\r\n"
        "--B0UND\r\n"
        "Content-Type: text/plain\r\n"
        "\r\n"
        "I'm sorry to have to inform you that your message could not\r\n"
        "be delivered to one or more recipients.\r\n"
        "\r\n"
        "<%(rcpt)s>: host mx.example.test said: %(diag)s\r\n"
        ".a line starting with a dot\r\n"
        "\r\n"
        "--B0UND\r\n"
        "Content-Type: message/delivery-status\r\n"
        "\r\n"
        "Reporting-MTA: dns; mx.sender.test\r\n"
        "\r\n"
        "Final-Recipient: rfc822; %(rcpt)s\r\n"
        "Original-Recipient: rfc822;%(rcpt)s\r\n"
        "Action: failed\r\n"
        "Status: 5.1.1\r\n"
        "Remote-MTA: dns; mx.example.test\r\n"
        "Diagnostic-Code: smtp; %(diag)s\r\n"
        "\r\n"
        "--B0UND\r\n"
        "Content-Type: text/rfc822-headers\r\n"
        "\r\n"
        "From: app@sender.test\r\n"
        "To: %(rcpt)s\r\n"
        "Subject: hello\r\n"
        "\r\n"
        "--B0UND--\r\n"
    ) % {"rcpt": rcpt, "verp": verp_to, "msgid": msgid, "qid": qid, "diag": diag}


def crafted(msgid):
    """The hostile boundary of issue 5: a lone escaped quote."""
    return (
        "From: MAILER-DAEMON@evil.test\r\n"
        "To: bounces@bounce.test\r\n"
        "Subject: crafted\r\n"
        "Message-ID: <%s>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; boundary=\"\\\"\"\r\n"
        "\r\n"
        "--\"\r\n"
        "Content-Type: message/delivery-status\r\n"
        "\r\n"
        "Final-Recipient: rfc822; x@y.test\r\n"
        "Action: failed\r\n"
        "Status: 5.1.1\r\n"
        "--\"--\r\n"
    ) % msgid


class Bounced:
    """`bounced serve` in a scratch directory, on a unix socket (and optional extra listeners)."""

    def __init__(self, exe, d, config=None, extra=()):
        self.exe = exe
        self.dir = d
        self.sock = os.path.join(d, "lmtp.sock")
        self.db = os.path.join(d, "bounced.db")
        self.log = os.path.join(d, "bounced.log")
        self.conf = None
        if config is not None:
            self.conf = os.path.join(d, "bounced.conf")
            with open(self.conf, "w") as f:
                f.write(config)
        self.extra = list(extra)
        self.proc = None

    def start(self):
        args = [self.exe, "serve", "--db", self.db, "--listen", "unix:" + self.sock,
                "--hostname", "bounced.test"]
        for e in self.extra:
            args += ["--listen", e]
        if self.conf:
            args += ["--config", self.conf]
        logf = open(self.log, "a")
        self.proc = subprocess.Popen(args, cwd=self.dir, stdout=logf, stderr=logf)
        logf.close()
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.proc.poll() is not None:
                fail("bounced serve exited with %d at start:\n%s" % (self.proc.returncode, self.read_log()))
            if os.path.exists(self.sock):
                try:
                    s = socket.socket(socket.AF_UNIX)
                    s.connect(self.sock)
                    s.recv(100)
                    s.close()
                    return
                except OSError:
                    pass
            time.sleep(0.05)
        self.proc.kill()
        self.proc.wait()
        self.proc = None
        fail("bounced serve did not open %s" % self.sock)

    def stop(self, expect=0):
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            fail("bounced serve did not stop within 30 s of SIGTERM")
        self.proc = None
        check(rc == expect, "bounced serve exits %d after SIGTERM (got %d)" % (expect, rc))

    def kill(self):
        """SIGKILL; returns the exit status (-SIGKILL when the signal is what ended it)."""
        self.proc.send_signal(signal.SIGKILL)
        rc = self.proc.wait()
        self.proc = None
        return rc

    def read_log(self):
        try:
            with open(self.log) as f:
                return f.read()
        except OSError:
            return ""

    def sql(self, query):
        """Rows of query, read with the sqlite3 CLI (as the application would)."""
        out = subprocess.run(["sqlite3", "-readonly", "-separator", "|", self.db, query],
                             capture_output=True, text=True, timeout=30)
        if out.returncode != 0:
            fail("sqlite3 %r: %s" % (query, out.stderr))
        return [line.split("|") for line in out.stdout.splitlines()]


def lmtp_session(sock_path, commands, timeout=30):
    """Speaks LMTP over a raw socket: sends everything (pipelined) and returns the reply lines."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(sock_path)
    s.sendall(commands)
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        data += chunk
    s.close()
    return data.decode("utf-8", "replace").split("\r\n")[:-1]


def cleanup(d):
    if os.environ.get("BOUNCED_KEEP_SCRATCH"):
        print("scratch kept: " + d)
        return
    shutil.rmtree(d, ignore_errors=True)


class Lmtp:
    """A raw LMTP connection that reads replies one line at a time."""

    def __init__(self, path=None, tcp=None, timeout=30):
        if tcp is not None:
            self.s = socket.create_connection(tcp, timeout=timeout)
        else:
            self.s = socket.socket(socket.AF_UNIX)
            self.s.settimeout(timeout)
            self.s.connect(path)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data if isinstance(data, bytes) else data.encode())

    def line(self):
        """The next reply line, or None at end of stream."""
        while b"\r\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                return None
            self.buf += chunk
        l, self.buf = self.buf.split(b"\r\n", 1)
        return l.decode("utf-8", "replace")

    def reply(self):
        """A whole (multi-line) reply: its lines."""
        lines = []
        while True:
            l = self.line()
            if l is None:
                return lines
            lines.append(l)
            if len(l) < 4 or l[3] != "-":
                return lines

    def close(self):
        self.s.close()

    def hello(self):
        g = self.reply()
        self.send("LHLO t.test\r\n")
        return g, self.reply()

    def deliver(self, rcpts, data, sender=""):
        """One transaction, pipelined; returns the per-recipient replies after the dot."""
        cmds = "MAIL FROM:<%s>\r\n" % sender + "".join("RCPT TO:<%s>\r\n" % r for r in rcpts)
        self.send(cmds + "DATA\r\n")
        pre = [self.line() for _ in range(len(rcpts) + 2)]
        if pre[-1] is None or not pre[-1].startswith("354"):
            return pre
        body = data if isinstance(data, bytes) else data.encode()
        body = body.replace(b"\r\n.", b"\r\n..")
        if body.startswith(b"."):
            body = b"." + body
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        self.send(body + b".\r\n")
        return [self.line() for _ in rcpts]


class Postfix:
    """A real Postfix from Debian in a scratch directory: its own config, queue and data
    directories, SMTP on 127.0.0.1:port, and a transport map sending bounce.test to bounced's
    LMTP socket. Nothing is chrooted (Debian's master.cf chroots lmtp; a scratch queue has no
    chroot environment). Needs root (master runs as root) and the postfix user."""

    def __init__(self, d, port, lmtp_sock):
        self.dir = os.path.join(d, "postfix")
        self.etc = os.path.join(self.dir, "etc")
        self.port = port
        self.maillog = os.path.join(self.dir, "maillog")
        os.makedirs(self.etc)
        for sub in ("spool", "lib"):
            os.makedirs(os.path.join(self.dir, sub))
        pw = subprocess.run(["id", "-u", "postfix"], capture_output=True, text=True).stdout.strip()
        os.chown(os.path.join(self.dir, "lib"), int(pw), -1)
        with open(os.path.join(self.etc, "transport"), "w") as f:
            # The set-up of doc/postfix.md: a non-chrooted service "bounced" running lmtp(8).
            f.write("bounce.test bounced:unix:%s\n" % lmtp_sock)
        main = {
            "compatibility_level": "3.6",
            "config_directory": self.etc,
            "queue_directory": os.path.join(self.dir, "spool"),
            "data_directory": os.path.join(self.dir, "lib"),
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "myhostname": "postfix.test",
            "mydomain": "postfix.test",
            "myorigin": "postfix.test",
            "mydestination": "",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "relay_domains": "bounce.test",
            "transport_maps": "texthash:" + os.path.join(self.etc, "transport"),
            "smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination",
            "alias_maps": "", "alias_database": "", "local_recipient_maps": "",
            "maillog_file": self.maillog,
            "maillog_file_prefixes": self.dir,
            "smtputf8_enable": "yes",
            "smtp_dns_support_level": "disabled",
            "disable_dns_lookups": "yes",
            # Retry soon after bounced comes back (the crash test).
            "queue_run_delay": "1s", "minimal_backoff_time": "1s", "maximal_backoff_time": "2s",
            "lmtp_connection_cache_on_demand": "yes",
            "default_process_limit": "50",
            "bounced_destination_concurrency_limit": "20",
            "bounced_destination_recipient_limit": "50",
            "in_flow_delay": "0",
        }
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            for k, v in main.items():
                f.write("%s = %s\n" % (k, v))
        with open("/etc/postfix/master.cf") as f:
            master = f.read()
        # Our own SMTP port instead of :25, nothing chrooted, no postscreen.
        out = []
        for line in master.splitlines():
            if line.startswith("smtp ") and " inet " in line:
                line = "127.0.0.1:%d inet n - n - - smtpd" % port
            out.append(line)
        out.append("bounced   unix  -       -       n       -       20      lmtp")
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write("\n".join(out) + "\n")
        self.postconf("-F", "*/*/chroot=n")

    def postconf(self, *args):
        r = subprocess.run(["postconf", "-c", self.etc] + list(args), capture_output=True, text=True)
        if r.returncode != 0:
            fail("postconf %s: %s" % (" ".join(args), r.stderr))
        return r.stdout

    def start(self):
        r = subprocess.run(["postfix", "-c", self.etc, "start"], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            fail("postfix start: %s%s\n%s" % (r.stdout, r.stderr, self.read_log()))
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
                s.recv(100)
                s.close()
                return
            except OSError:
                time.sleep(0.2)
        fail("postfix did not listen on 127.0.0.1:%d\n%s" % (self.port, self.read_log()))

    def stop(self):
        subprocess.run(["postfix", "-c", self.etc, "stop"], capture_output=True, timeout=60)
        # master waits for its children; make sure it is gone before the scratch dir is removed
        pidf = os.path.join(self.dir, "spool", "pid", "master.pid")
        deadline = time.time() + 20
        while os.path.exists(pidf) and time.time() < deadline:
            time.sleep(0.2)

    def flush(self):
        subprocess.run(["postqueue", "-c", self.etc, "-f"], capture_output=True, timeout=60)

    def queue_size(self):
        r = subprocess.run(["postqueue", "-c", self.etc, "-j"], capture_output=True, text=True, timeout=60)
        return len([l for l in r.stdout.splitlines() if l.strip()])

    def read_log(self):
        try:
            with open(self.maillog) as f:
                return f.read()
        except OSError:
            return ""


def have_postfix():
    return os.geteuid() == 0 and shutil.which("postfix") is not None and \
        os.path.exists("/etc/postfix/master.cf") and subprocess.run(
            ["getent", "passwd", "postfix"], capture_output=True).returncode == 0
