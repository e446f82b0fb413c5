#!/usr/bin/env python3
"""Crash safety: while Postfix's smtp-source pushes a few thousand messages through a real
Postfix to bounced over LMTP, bounced is killed with SIGKILL and restarted. After Postfix's
retries, every message Postfix logged as delivered (bounced's 250) is in the database, under
the row ID the 250 named, and every message counts exactly once.
usage: test_crash.py BOUNCED [COUNT]   (needs root and the postfix package: skipped otherwise)"""
import os
import re
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check  # noqa: E402


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def count(b):
    try:
        return int(b.sql("SELECT count(*) FROM messages")[0][0])
    except SystemExit:
        return 0


def main():
    if not harness.have_postfix():
        print("SKIP: needs root and Debian's postfix")
        sys.exit(harness.SKIP)
    exe = os.path.abspath(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
    d = harness.scratch("crash")
    b = harness.Bounced(exe, d, config="[lmtp]\nsocket_group = postfix\n")
    port = free_port()
    pf = harness.Postfix(d, port, b.sock)
    b.start()
    src = None
    try:
        pf.start()
        rcpt = "bounces+crash=example.com@bounce.test"
        src = subprocess.Popen(["smtp-source", "-s", "10", "-m", str(n), "-l", "2000", "-f", "",
                                "-t", rcpt, "-M", "mx.sender.test", "127.0.0.1:%d" % port],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        # Kill bounced with SIGKILL once a part of the messages is in, while more are arriving.
        deadline = time.time() + 120
        while count(b) < n // 4 and time.time() < deadline:
            time.sleep(0.05)
        at = count(b)
        check(at >= n // 4, "%d messages stored before the kill" % at)
        rc = b.kill()
        check(rc == -signal.SIGKILL, "bounced killed with SIGKILL while Postfix was delivering (status %d)" % rc)
        time.sleep(1.0)
        b.start()
        check(b.proc is not None and b.proc.poll() is None,
              "bounced restarted on the same database and socket")

        out, _ = src.communicate(timeout=300)
        check(src.returncode == 0, "smtp-source handed %d messages to Postfix" % n, out)
        src = None

        # Wait for Postfix's retries to empty its queue.
        deadline = time.time() + 240
        sent = {}
        pat = re.compile(r"postfix/lmtp\[\d+\]: (\w+): to=<[^>]*>, relay=.*status=sent "
                         r"\(250 2\.0\.0 <[^>]*> Ok: (?:already )?stored as (\d+)\)")
        while time.time() < deadline:
            pf.flush()
            sent = {}
            for m in pat.finditer(pf.read_log()):
                sent[m.group(1)] = int(m.group(2))
            if len(sent) >= n and pf.queue_size() == 0:
                break
            time.sleep(1)
        check(len(sent) == n, "Postfix logged %d of %d messages delivered (250) to bounced" % (len(sent), n),
              pf.read_log()[-3000:])
        deferred = len(re.findall(r"postfix/lmtp\[\d+\]: \w+: .*status=deferred", pf.read_log()))
        print("info: %d deliveries were deferred while bounced was down" % deferred)

        rows = b.sql("SELECT id, queue_id FROM messages")
        by_id = {int(r[0]): r[1] for r in rows}
        check(all(by_id.get(rowid) == qid for qid, rowid in sent.items()),
              "every 250 names the row that holds that message (queue ID)",
              [(q, r, by_id.get(r)) for q, r in sent.items() if by_id.get(r) != q][:10])
        qids = [r[1] for r in rows]
        check(len(rows) == n and len(set(qids)) == n,
              "each message counts once: %d rows, %d distinct queue IDs" % (len(rows), len(set(qids))))
        resent = len(re.findall(r"already stored as", pf.read_log()))
        print("info: %d re-sends were recognised as already stored" % resent)
    finally:
        if src is not None:
            src.kill()
            src.wait()
        pf.stop()
        b.stop()
    harness.cleanup(d)
    print("PASS")


if __name__ == "__main__":
    main()
