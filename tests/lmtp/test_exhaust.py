#!/usr/bin/env python3
"""Resource exhaustion (issue 19): clients that try to hold the server's sessions or memory.
- slow-loris: max_sessions clients (200, the default) trickle a byte now and then and reconnect
  as soon as they are closed; meanwhile swaks, a real client, still gets every message
  delivered (a new client takes the place of the session slow the longest);
- a command line trickled a byte a second is closed at timeout_command, though never idle;
- DATA below data_min_rate is closed past timeout_data, though never idle;
- a TCP peer gets at most max_sessions_per_peer sessions;
- 200 sessions in DATA at once with 4 MiB messages: the server's peak RSS (VmHWM) stays under
  a bound set by message_memory_mb, the messages over the budget get 452 4.3.1, the others 250
  and are stored once;
- a client that sends a whole transaction and half-closes (shutdown(SHUT_WR), as nc -N does)
  gets every reply, 250 and 221, before the close, and the message is stored once.
The figures (sessions served during the slow-loris, peak RSS) are printed.
usage: test_exhaust.py BOUNCED"""
import os
import selectors
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check  # noqa: E402

OK = "250 2.0.0 <%s> Ok: stored as "
VERP = "bounces+joe=example.com@bounce.test"
# The slow-loris: clients, and how long the real client is measured while they trickle.
LORIS = 200
LORIS_SECONDS = 20
# The memory case: sessions in DATA at once, bytes of each message, and the budget.
DATA_SESSIONS = 200
DATA_BYTES = 4 * 1024 * 1024
BUDGET_MB = 64
# Peak RSS allowed: the budget, plus the server's own memory (rules, SQLite cache, the loop:
# about 30 MiB) and 200 sessions' buffers. Without the budget the same run holds every message
# (over 800 MiB).
RSS_BOUND_KIB = (BUDGET_MB + 96) * 1024


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def sanitized(exe):
    """True for a build with AddressSanitizer: its shadow memory and quarantine make RSS say
    nothing about the server's own buffers, and it runs several times slower."""
    with open(exe, "rb") as f:
        return b"__asan_init" in f.read()


def vm_hwm_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def swaks(sock, rcpt, path):
    out = subprocess.run(["swaks", "--protocol", "LMTP", "--pipeline", "--socket", sock,
                          "--from", "<>", "--to", rcpt, "--helo", "client.test",
                          "--data", "@" + path], capture_output=True, text=True, timeout=60)
    replies = [l[4:] for l in out.stdout.splitlines() if l.startswith(("<-  ", "<** "))]
    return out.returncode, replies, out.stdout + out.stderr


class Loris:
    """n clients on a unix socket, each sending one byte of a command line that never ends
    every interval seconds; as the Slowloris tool does, the sockets the server closed are
    opened again at the next interval. Runs in a thread until stop(); counts the sessions the
    server closed."""

    def __init__(self, path, n, interval):
        self.path, self.n, self.interval = path, n, interval
        self.sel = selectors.DefaultSelector()
        self.closed = 0
        self.refused = 0
        self.running = True
        self.thread = threading.Thread(target=self.run)

    def connect(self):
        s = socket.socket(socket.AF_UNIX)
        s.connect(self.path)
        s.setblocking(False)
        self.sel.register(s, selectors.EVENT_READ, [time.time()])

    def run(self):
        for _ in range(self.n):
            self.connect()
        deadline = time.time() + 600  # bounded whatever happens to the test
        tick, lost = time.time(), 0
        while self.running and time.time() < deadline:
            for key, _ in self.sel.select(timeout=0.1):
                s = key.fileobj
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b""
                if b"421 4.3.2" in data:
                    self.refused += 1
                if not data or b"421" in data:
                    self.sel.unregister(s)
                    s.close()
                    self.closed += 1
                    lost += 1
            now = time.time()
            if now - tick >= self.interval:
                tick = now
                for _ in range(lost):
                    self.connect()
                lost = 0
            for key in list(self.sel.get_map().values()):
                if now - key.data[0] >= self.interval:
                    key.data[0] = now
                    try:
                        key.fileobj.send(b"X")
                    except OSError:
                        pass
        for key in list(self.sel.get_map().values()):
            key.fileobj.close()

    def start(self):
        self.thread.start()

    def stop(self):
        self.running = False
        self.thread.join(60)


def slow_loris(exe):
    d = harness.scratch("loris")
    port = free_port()
    conf = ("[lmtp]\nmax_sessions = %d\nslow_after = 2\ntimeout_command = 8\ntimeout_data = 2\n"
            "data_min_rate = 100\nmax_sessions_per_peer = 3\n" % LORIS)
    b = harness.Bounced(exe, d, config=conf, extra=["tcp:127.0.0.1:%d" % port])
    b.start()
    try:
        msg = os.path.join(d, "dsn.eml")
        with open(msg, "w", newline="") as f:
            f.write(harness.dsn("joe@example.com", VERP, "loris-base@x"))

        # A command line trickled a byte a second, never idle: closed at timeout_command (8 s).
        c = harness.Lmtp(b.sock)
        c.reply()
        start = time.time()
        closed = None
        while time.time() - start < 15:
            try:
                c.send(b"N")
            except OSError:
                break
            c.s.settimeout(1)
            try:
                chunk = c.s.recv(200)
            except socket.timeout:
                continue
            closed = chunk
            break
        took = time.time() - start
        check(closed is not None and closed.startswith(b"421 4.4.2") and 7 <= took < 11,
              "a command line trickled a byte a second is closed at timeout_command (%.1f s)" % took,
              closed)
        c.close()

        # DATA trickled below data_min_rate (100 B/s): closed once timeout_data (2 s) plus the
        # bytes' allowance have passed, though never idle for 2 s.
        c = harness.Lmtp(b.sock)
        c.s.settimeout(30)
        c.hello()
        c.send("MAIL FROM:<>\r\nRCPT TO:<%s>\r\nDATA\r\n" % VERP)
        pre = [c.line() for _ in range(3)]
        check(pre[2] is not None and pre[2].startswith("354"), "DATA accepted", pre)
        start = time.time()
        got = None
        c.s.settimeout(0.5)
        while time.time() - start < 15:
            try:
                c.send(b"x")
            except OSError:
                break
            try:
                got = c.s.recv(200)
                break
            except socket.timeout:
                continue
        took = time.time() - start
        check(got is not None and got.startswith(b"421 4.4.2") and 2 <= took < 6,
              "DATA at 2 bytes a second is closed past timeout_data (%.1f s)" % took, got)
        c.close()

        # max_sessions_per_peer = 3 on TCP.
        t = [harness.Lmtp(tcp=("127.0.0.1", port)) for _ in range(4)]
        g = [x.reply() for x in t]
        check(all(x[0].startswith("220") for x in g[:3]) and
              g[3] == ["421 4.3.2 Too many sessions from your address, try again later"],
              "a 4th TCP session from one address is refused (max_sessions_per_peer = 3)", g)
        for x in t:
            x.close()
        time.sleep(0.3)

        # The slow-loris: every session taken by a trickling client that reconnects when closed.
        loris = Loris(b.sock, LORIS, 1.0)
        loris.start()
        time.sleep(3)  # every session is past slow_after (2 s)
        refused_at_start = loris.refused
        served, tried = 0, 0
        start = time.time()
        while time.time() - start < LORIS_SECONDS:
            tried += 1
            with open(msg, "w", newline="") as f:
                f.write(harness.dsn("joe@example.com", VERP, "loris-%d@x" % tried))
            rc, replies, out = swaks(b.sock, VERP, msg)
            if rc == 0 and any(r.startswith(OK % VERP) for r in replies):
                served += 1
        loris.stop()
        print("figure: slow-loris of %d trickling clients (%d of their sessions closed to make "
              "room or at their deadline, %d reconnects refused): swaks served %d of %d sessions "
              "in %d s" % (LORIS, loris.closed, loris.refused - refused_at_start, served, tried,
                            LORIS_SECONDS), flush=True)
        check(tried >= 5 and served == tried,
              "during the slow-loris every swaks session is served (%d of %d)" % (served, tried))
        rows = b.sql("SELECT count(*) FROM messages WHERE message_id LIKE '%loris-%'")
        check(rows == [[str(served)]], "each served message is stored once", rows)
        check("closed for a new client, slow for" in b.read_log(), "the log says which session "
              "made room", b.read_log()[-2000:])
    finally:
        b.stop()
    harness.cleanup(d)


def data_session(sock, i, body, barrier, results):
    try:
        c = harness.Lmtp(sock, timeout=300)
        c.hello()
        rcpt = "bounces+m%d=example.com@bounce.test" % i
        c.send("MAIL FROM:<>\r\nRCPT TO:<%s>\r\nDATA\r\n" % rcpt)
        pre = [c.line() for _ in range(3)]
        if pre[2] is None or not pre[2].startswith("354"):
            barrier.wait()
            results[i] = ("data", pre[2])
            return
        c.send(b"Message-ID: <mem-%d@x>\r\n" % i + body)
        barrier.wait()  # every session is in DATA with its body sent
        c.send(b".\r\n")
        results[i] = ("reply", c.line())
        c.send("QUIT\r\n")
        c.close()
    except Exception as e:  # noqa: BLE001 (reported as the session's result)
        results[i] = ("error", repr(e))
        try:
            barrier.abort()
        except threading.BrokenBarrierError:
            pass


def memory(exe):
    d = harness.scratch("memory")
    asan = sanitized(exe)
    # Under AddressSanitizer the same run with 1 MiB messages and a 16 MiB budget: the replies
    # and the store are checked, the RSS is printed but not bounded (see sanitized()).
    size, budget = (1024 * 1024, 16) if asan else (DATA_BYTES, BUDGET_MB)
    conf = "[lmtp]\nmax_sessions = %d\nmessage_memory_mb = %d\n" % (DATA_SESSIONS + 10, budget)
    b = harness.Bounced(exe, d, config=conf)
    b.start()
    try:
        line = b"x" * 998 + b"\r\n"
        body = b"Subject: big\r\n\r\n" + line * (size // len(line))
        barrier = threading.Barrier(DATA_SESSIONS)
        results = [None] * DATA_SESSIONS
        threads = [threading.Thread(target=data_session, args=(b.sock, i, body, barrier, results))
                   for i in range(DATA_SESSIONS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(600)
        hwm = vm_hwm_kib(b.proc.pid)
        stored = [i for i, r in enumerate(results) if r and r[0] == "reply" and r[1] and
                  r[1].startswith(OK % ("bounces+m%d=example.com@bounce.test" % i))]
        later = [r for r in results if r and r[1] and "452 4.3.1" in r[1]]
        other = [r for r in results if r is None or not r[1] or
                 not (r[1].startswith("250 2.0.0") or "452 4.3.1" in r[1])]
        print("figure: %d sessions in DATA at once, %d MiB each, message_memory_mb = %d: "
              "peak RSS of bounced %d KiB (%.0f MiB); %d stored, %d answered 452 4.3.1" %
              (DATA_SESSIONS, size >> 20, budget, hwm, hwm / 1024.0, len(stored),
               len(later)), flush=True)
        check(not other, "every session got 250 or 452 4.3.1", other[:5])
        check(len(stored) >= 1 and len(later) >= 1, "some fit the budget, the rest wait (%d, %d)" %
              (len(stored), len(later)))
        if asan:
            print("skip: the RSS bound under AddressSanitizer")
        else:
            check(hwm < RSS_BOUND_KIB, "peak RSS %d KiB stays under %d KiB" % (hwm, RSS_BOUND_KIB))
        rows = b.sql("SELECT count(*), count(DISTINCT message_id) FROM messages")
        check(rows == [[str(len(stored)), str(len(stored))]],
              "the messages answered 250 are stored, once each", rows)
        c = harness.Lmtp(b.sock)
        c.hello()
        r = c.deliver([VERP], harness.dsn("joe@example.com", VERP, "after-mem@x"))
        check(r[0] is not None and r[0].startswith(OK % VERP), "the budget is free again: 250", r)
        c.close()
    finally:
        b.stop()
    check("message memory peak" in b.read_log(), "the budget's peak is logged at stop")
    harness.cleanup(d)


def half_close(exe):
    d = harness.scratch("halfclose")
    b = harness.Bounced(exe, d)
    b.start()
    try:
        for name, tail, want_last in (("with QUIT", "QUIT\r\n", "221 2.0.0 Bye"),
                                      ("without QUIT", "", None)):
            msgid = "half-%s@x" % name.split()[0]
            body = harness.dsn("joe@example.com", VERP, msgid).replace("\r\n.", "\r\n..")
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(30)
            s.connect(b.sock)
            s.sendall(("LHLO c.test\r\nMAIL FROM:<>\r\nRCPT TO:<%s>\r\nDATA\r\n" % VERP).encode())
            # Wait for 354 as a client must (RFC 2920), then the rest and the half-close.
            data = b""
            while b"354 " not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            s.sendall((body + ".\r\n" + tail).encode())
            s.shutdown(socket.SHUT_WR)
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            s.close()
            lines = data.decode().split("\r\n")[:-1]
            check(len(lines) >= 2 and lines[-2 if want_last else -1].startswith(OK % VERP) and
                  (want_last is None or lines[-1] == want_last),
                  "half-closed %s: the 250%s arrive before the close" %
                  (name, " and 221" if want_last else ""), lines)
            rows = b.sql("SELECT count(*) FROM messages WHERE message_id LIKE '%%%s%%'" % msgid)
            check(rows == [["1"]], "and the message is stored once", rows)
    finally:
        b.stop()
    harness.cleanup(d)


def main():
    exe = os.path.abspath(sys.argv[1])
    half_close(exe)
    slow_loris(exe)
    memory(exe)
    print("PASS")


if __name__ == "__main__":
    main()
