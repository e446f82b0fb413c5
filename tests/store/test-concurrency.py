#!/usr/bin/env python3
"""A reader (Python sqlite3, as an application would) queries the views in a loop, sometimes
holding its read transaction open, while two `bounced ingest` processes write a few thousand
generated bounces. Neither side may see an error, and the reader must never see a half-written
message: every message it sees has both of its recipient events, and every hard bounce it sees
has its suppression.

usage: test-concurrency.py BOUNCED [MESSAGES]
"""
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time

BOUNCED = sys.argv[1]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
RCPTS = 2  # recipient events per generated message

DSN = """\
From: MAILER-DAEMON@mx.example.net
To: bounces@example.net
Subject: Undelivered Mail Returned to Sender
Message-ID: <gen-{n}@mx.example.net>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B{n}"

--B{n}
Content-Type: text/plain

Delivery failed.

--B{n}
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; hard-{n}@example.com
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <hard-{n}@example.com>: Recipient address rejected: User unknown

Final-Recipient: rfc822; soft-{n}@example.org
Action: failed
Status: 5.2.2
Diagnostic-Code: smtp; 552 5.2.2 <soft-{n}@example.org>: Mailbox full

--B{n}--
"""

failures = []


def reader(db, stop_at_messages, deadline):
    """Runs until the database holds stop_at_messages or the deadline passes. Returns loops."""
    con = sqlite3.connect(f'file:{db}?mode=ro', uri=True, timeout=5, isolation_level=None)
    last = (0, 0, 0)
    loops = 0
    while time.time() < deadline:
        loops += 1
        con.execute('BEGIN')
        msgs = con.execute('SELECT count(*) FROM messages').fetchone()[0]
        events = con.execute('SELECT count(*) FROM bounce_events').fetchone()[0]
        hard = con.execute("SELECT count(*) FROM suppressed WHERE type = 'hard'").fetchone()[0]
        half = con.execute('SELECT count(*) FROM messages m WHERE '
                           '(SELECT count(*) FROM events e WHERE e.message = m.id) != ?',
                           (RCPTS,)).fetchone()[0]
        if msgs:
            n = random.randrange(N)
            con.execute('SELECT type, reason FROM suppressed WHERE address = ?',
                        (f'hard-{n}@example.com',)).fetchall()
        if loops % 25 == 0:
            time.sleep(0.2)  # a long read transaction: writers must not fail because of it
        con.execute('COMMIT')
        if half or events != RCPTS * msgs or hard != msgs:
            failures.append(f'half-written state seen: {msgs} messages, {events} events, '
                            f'{hard} hard suppressions, {half} messages without all events')
            break
        if (msgs, events, hard) < last:
            failures.append(f'counts went backwards: {last} then {(msgs, events, hard)}')
            break
        last = (msgs, events, hard)
        if msgs >= stop_at_messages:
            break
    con.close()
    return loops, last


with tempfile.TemporaryDirectory() as tmp:
    db = os.path.join(tmp, 'bounced.db')
    dirs = [os.path.join(tmp, 'in0'), os.path.join(tmp, 'in1')]
    for d in dirs:
        os.mkdir(d)
    for n in range(N):
        with open(os.path.join(dirs[n % 2], f'{n:06d}.eml'), 'w') as f:
            f.write(DSN.format(n=n))
    subprocess.run([BOUNCED, 'db', 'migrate', '--db', db], check=True, capture_output=True)

    start = time.time()
    writers = [subprocess.Popen([BOUNCED, 'ingest', '--db', db, d], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE) for d in dirs]
    loops, last = reader(db, N, start + 300)
    for w in writers:
        out, err = w.communicate(timeout=300)
        if w.returncode != 0 or err:
            failures.append(f'ingest exit {w.returncode}: {err.decode()}')
        elif f'ingested {N // 2} messages: 0 duplicates, {RCPTS * N // 2} events' not in out.decode():
            failures.append(f'ingest said: {out.decode()}')
    elapsed = time.time() - start
    # Final state, seen by a fresh reader.
    loops2, final = reader(db, N, time.time() + 10)
    if final != (N, RCPTS * N, N):
        failures.append(f'final state {final}, want {(N, RCPTS * N, N)}')
    print(f'{N} messages by 2 writers in {elapsed:.1f}s ({N / elapsed:.0f}/s) '
          f'while the reader ran {loops} consistent snapshots')

for f in failures:
    print('FAIL', f)
sys.exit(1 if failures else 0)
