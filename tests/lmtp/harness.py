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
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None

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
