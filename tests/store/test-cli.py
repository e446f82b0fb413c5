#!/usr/bin/env python3
"""The store's commands through the real binary: db migrate, ingest (twice: the second run changes
nothing), suppress check/list/add/remove, stats, exit statuses and error messages.

usage: test-cli.py BOUNCED FIXTURES_DIR
"""
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from email.utils import formatdate

BOUNCED, FIXTURES = sys.argv[1], sys.argv[2]
failures = 0


def fail(msg):
    global failures
    failures += 1
    print('FAIL', msg)


def run(*args, stdin=None, want=0, out=None, err=None):
    """Runs bounced ARGS; checks the exit status, and that stdout/stderr match the regexes."""
    p = subprocess.run([BOUNCED, *args], input=stdin, capture_output=True)
    so, se = p.stdout.decode(), p.stderr.decode()
    what = 'bounced ' + ' '.join(args)
    if p.returncode != want:
        fail(f'{what}: exit {p.returncode}, want {want}\n  stdout: {so}\n  stderr: {se}')
    if out is not None and not re.search(out, so):
        fail(f'{what}: stdout {so!r} does not match {out!r}')
    if err is not None and not re.search(err, se):
        fail(f'{what}: stderr {se!r} does not match {err!r}')
    return so, se


def snapshot(db):
    """Everything ingest may change, as comparable rows."""
    con = sqlite3.connect(db)
    snap = {t: con.execute(f'SELECT * FROM {t} ORDER BY 1').fetchall()
            for t in ('messages', 'events', 'suppressions', 'soft_scores')}
    con.close()
    return snap


with tempfile.TemporaryDirectory() as tmp:
    db = os.path.join(tmp, 'var', 'bounced.db')
    fx = FIXTURES

    # A missing database says how to create it.
    run('ingest', '--db', db, fx, want=78, err=r'no such database; create it with: bounced db migrate --db ' + re.escape(db))
    # From standard input (Postfix pipe(8)) every failure is 75, so the MTA keeps the message;
    # 78 or 70 would make Postfix bounce it. Also for a usage mistake in master.cf.
    msg = b'From: MAILER-DAEMON@example.org\nSubject: x\n\nx\n'
    run('ingest', '--db', db, '-', stdin=msg, want=75, err=r'(?s)no such database.*exiting 75')
    run('ingest', '--bogus', '--db', db, '-', stdin=msg, want=75, err='exiting 75')
    run('suppress', 'check', 'a@b.c', '--db', db, want=78, err='bounced db migrate')
    run('db', 'migrate', '--db', db, out=r'schema migrated from version 0 to 4')
    run('db', 'migrate', '--db', db, out=r'schema is current \(version 4\)')

    # First ingest: two suppressions (hard, complaint); soft one-offs, sender- and network-blamed,
    # delays and auto-replies suppress nobody.
    run('ingest', '--db', db, fx, out=r'^ingested 6 messages: 0 duplicates, 6 events, 2 newly suppressed\n$')
    first = snapshot(db)
    # What was read of the returned original is kept with the message (schema 003).
    con = sqlite3.connect(db)
    orig = con.execute("SELECT original_from, original_to, original_subject, original_x_tags "
                       "FROM messages WHERE original_to = 'gone@Example.COM'").fetchall()
    con.close()
    if orig != [('app@example.net', 'gone@Example.COM', 'Your newsletter', 'X-Campaign-ID: nov-2026\n')]:
        fail(f'returned original not kept: {orig}')
    checks = [
        ('gone@example.com', 0, r'^gone@example.com: suppressed, type hard, reason user_unknown, since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n$'),
        ('gone@EXAMPLE.com', 0, r'type hard'),
        ('<gone@example.com>', 0, r'type hard'),
        ('Gone@example.com', 0, r'type hard'),		# case is ignored (schema 002)
        ('gone@example.net', 1, r'not suppressed'),
        ('annoyed@example.org', 0, r'type complaint, reason complaint'),
        ('full@example.com', 1, r'^full@example.com: not suppressed\n$'),
        ('someone@example.org', 1, r'not suppressed'),
        ('slow@example.com', 1, r'not suppressed'),
        ('away@example.com', 1, r'not suppressed'),
    ]
    for addr, status, out in checks:
        run('suppress', 'check', addr, '--db', db, want=status, out=out)

    # Second ingest (directory, then stdin): nothing changes.
    run('ingest', '--db', db, fx, out=r'^ingested 6 messages: 6 duplicates, 0 events, 0 newly suppressed\n$')
    with open(os.path.join(fx, 'dsn-hard.eml'), 'rb') as f:
        run('ingest', '--db', db, '-', stdin=f.read(), out=r'1 duplicates, 0 events')
    if snapshot(db) != first:
        fail('the second ingest changed the database')

    # Several migrators at once on a new file: all succeed, exactly one migrates.
    race = os.path.join(tmp, 'race', 'bounced.db')
    procs = [subprocess.Popen([BOUNCED, 'db', 'migrate', '--db', race], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for _ in range(6)]
    outs = [(p.wait(), p.stdout.read().decode(), p.stderr.read().decode()) for p in procs]
    # Each migration is its own transaction, so two runs may share the work; none fails, and
    # the file ends at the newest version with each migration applied once (user_version).
    if [o for o in outs if o[0] != 0] or not any('migrated from version 0 to' in o[1] for o in outs):
        fail(f'concurrent db migrate: {outs}')
    con = sqlite3.connect(race)
    if con.execute('PRAGMA user_version').fetchone()[0] != 4 or \
            con.execute('PRAGMA integrity_check').fetchone()[0] != 'ok':
        fail('concurrent db migrate: the file is not at version 4')
    con.close()

    # --batch: the same result with fewer commits; the last, partial batch is committed too.
    db2 = os.path.join(tmp, 'batch.db')
    run('db', 'migrate', '--db', db2)
    run('ingest', '--db', db2, '--batch', '4', fx, out=r'^ingested 6 messages: 0 duplicates, 6 events, 2 newly suppressed\n$')
    run('ingest', '--db', db2, '--batch', '4', fx, out=r'^ingested 6 messages: 6 duplicates, 0 events, 0 newly suppressed\n$')
    run('ingest', '--db', db2, '--batch', '0', fx, want=2, err=r"--batch '0' is not a number from 1 to 10000")
    con = sqlite3.connect(db2)
    batch_supp = sorted(con.execute('SELECT address, type FROM suppressed'))
    con.close()
    if batch_supp != [('annoyed@example.org', 'complaint'), ('gone@example.com', 'hard')]:
        fail(f'--batch suppressions: {batch_supp}')

    # list
    so, _ = run('suppress', 'list', '--db', db, '--json')
    rows = [json.loads(line) for line in so.splitlines()]
    got = sorted((r['address'], r['type'], r['reason'], r['expires_at']) for r in rows)
    if got != [('annoyed@example.org', 'complaint', 'complaint', None), ('gone@example.com', 'hard', 'user_unknown', None)]:
        fail(f'list --json: {got}')
    run('suppress', 'list', '--db', db, '--type', 'complaint', out=r'^annoyed@example.org\tcomplaint\tcomplaint\t\S+Z\t-\n$')
    run('suppress', 'list', '--db', db, '--since', '2000-01-01', out=r'(?s)^[^\n]+\n[^\n]+\n$')
    run('suppress', 'list', '--db', db, '--since', '2999-01-01T00:00:00Z', out=r'^$')
    run('suppress', 'list', '--db', db, '--since', '1d', out=r'gone@example.com')
    run('suppress', 'list', '--db', db, '--since', 'yesterday', want=2, err=r'is not a date')
    run('suppress', 'list', '--db', db, '--type', 'bogus', want=2, err=r"--type 'bogus' is not hard, soft, complaint or manual")

    # add / remove, audited; remove keeps history and an old bounce does not suppress again.
    run('suppress', 'add', 'owner@example.com', '--reason', 'asked to stop', '--db', db, out=r'^owner@example.com: suppressed \(manual\)\n$')
    run('suppress', 'check', 'owner@example.com', '--db', db, out=r'type manual, reason asked to stop')
    run('suppress', 'add', 'owner@example.com', '--reason', 'again', '--db', db, out=r'already suppressed')
    run('suppress', 'add', 'owner@example.com', '--db', db, want=2, err=r'--reason TEXT is required')
    run('suppress', 'remove', 'owner@example.com', '--db', db, out=r'^owner@example.com: suppression lifted\n$')
    run('suppress', 'remove', 'owner@example.com', '--db', db, want=1, out=r'not suppressed')
    run('suppress', 'check', 'owner@example.com', '--db', db, want=1)
    run('suppress', 'remove', 'gone@example.com', '--db', db, out=r'lifted')
    run('ingest', '--db', db, os.path.join(fx, 'dsn-hard.eml'), out=r'1 duplicates')
    run('suppress', 'check', 'gone@example.com', '--db', db, want=1)
    con = sqlite3.connect(db)
    audit = con.execute('SELECT action, address, reason FROM audit ORDER BY id').fetchall()
    kept = con.execute("SELECT count(*) FROM events WHERE address_key = 'gone@example.com'").fetchone()[0]
    lifted = con.execute("SELECT lifted_at IS NOT NULL FROM suppressions WHERE address_key = 'gone@example.com'").fetchone()[0]
    con.close()
    if audit != [('add', 'owner@example.com', 'asked to stop'), ('add', 'owner@example.com', 'again'),
                 ('remove', 'owner@example.com', None), ('remove', 'gone@example.com', None)]:
        fail(f'audit: {audit}')
    if kept != 1 or lifted != 1:
        fail(f'history after remove: {kept} events, lifted {lifted}')

    # stats
    run('stats', '--db', db, out=r'(?s)since the beginning: 6 messages \(0 unparsed, 0 truncated; 8 more taken in again, counted once\).*by class\n.*  hard +1\n.*by reason +events +class +blame\n.*user_unknown +1  hard +recipient.*by receiving domain.*example.com +4 +1 +2 +0 +0')
    run('stats', '--db', db, '--since', '2999-01-01', out=r'(?s)0 messages.*by class\n\n')

    # Usage: --help everywhere, unknown options are one line and exit 2.
    for cmd in (['ingest'], ['suppress'], ['stats'], ['db']):
        run(*cmd, '--help', out=r'^usage: bounced ' + cmd[0])
        _, se = run(*cmd, '--frobnicate', want=2, err=r"unknown or incomplete option '--frobnicate'")
        if se.count('\n') != 1:
            fail(f'{cmd}: error is not one line: {se!r}')
    run('suppress', 'check', want=2, err='expected list')
    run('suppress', 'check', 'not-an-address', '--db', db, want=2, err='is not an address')
    run('db', 'upgrade', want=2, err='expected migrate, prune or backup FILE')
    run('ingest', '--db', db, want=2, err='no PATH')
    run('ingest', '--db', db, os.path.join(tmp, 'nope'), want=66, err='nope')

    # --envelope-sender, --queue-id, --quiet: what each puts in the messages row and prints.
    # name, args, stdin, exit, exact stdout, exact stderr, messages rows after:
    # (source, envelope_rcpt, envelope_sender, queue_id) in id order.
    db3 = os.path.join(tmp, 'opts.db')
    run('db', 'migrate', '--db', db3)
    hard, blocked = os.path.join(fx, 'dsn-hard.eml'), os.path.join(fx, 'dsn-blocked.eml')
    with open(os.path.join(fx, 'autoreply.eml'), 'rb') as f:
        auto = f.read()
    r_hard = (hard, None, 'bounces@sender.example.com', '4XyZ1k2LmN')
    r_blocked = (blocked, None, None, None)
    r_auto = ('-', 'list+u1@bounces.example.com', 'MAILER-DAEMON', 'A1B2C3')
    opt_rows = [
        ('sender and queue id recorded',
         ['--envelope-sender', 'bounces@sender.example.com', '--queue-id', '4XyZ1k2LmN', hard],
         None, 0, 'ingested 1 messages: 0 duplicates, 1 events, 1 newly suppressed\n', '',
         [r_hard]),
        ('a duplicate keeps the first sender and queue id',
         ['--envelope-sender', 'other@sender.example.com', '--queue-id', 'ZZZ', hard],
         None, 0, 'ingested 1 messages: 1 duplicates, 0 events, 0 newly suppressed\n', '',
         [r_hard]),
        ('--quiet: nothing printed, none recorded', ['--quiet', blocked],
         None, 0, '', '', [r_hard, r_blocked]),
        ('-q, stdin, all three envelope options',
         ['-q', '--envelope-recipient', 'list+u1@bounces.example.com',
          '--envelope-sender', 'MAILER-DAEMON', '--queue-id', 'A1B2C3', '-'],
         auto, 0, '', '', [r_hard, r_blocked, r_auto]),
        ('--quiet keeps errors', ['--quiet', os.path.join(tmp, 'nope')],
         None, 66, '', f'bounced: ingest: {tmp}/nope: No such file or directory\n',
         [r_hard, r_blocked, r_auto]),
        ('--queue-id without a value', ['--queue-id'],
         None, 2, '', "bounced: ingest: unknown or incomplete option '--queue-id' "
         "(try 'bounced ingest --help')\n", [r_hard, r_blocked, r_auto]),
    ]
    for name, args, stdin, want, want_out, want_err, want_rows in opt_rows:
        p = subprocess.run([BOUNCED, 'ingest', '--db', db3, *args], input=stdin,
                           capture_output=True)
        so, se = p.stdout.decode(), p.stderr.decode()
        con = sqlite3.connect(db3)
        got_rows = con.execute('SELECT source, envelope_rcpt, envelope_sender, queue_id '
                               'FROM messages ORDER BY id').fetchall()
        con.close()
        if p.returncode != want or so != want_out or \
                se != want_err or got_rows != want_rows:
            fail(f'ingest options: {name}: exit {p.returncode}, stdout {so!r}, stderr {se!r}, '
                 f'rows {got_rows}')

    # Manual changes against what is there (#4): an address is checked as ingest checks it; a
    # manual add replaces a soft suppression (which would expire) and keeps a hard or complaint
    # one; every add is audited; remove lifts whatever is there. Each row: name, args after
    # 'suppress', exit, stdout and stderr as full-match regexes (TS: a time), then the rows
    # (address_key, type, reason, lifted) of suppressions and (action, address_key, reason) of
    # audit after it.
    db4 = os.path.join(tmp, 'manual.db')
    run('db', 'migrate', '--db', db4)
    run('ingest', '--db', db4, os.path.join(fx, 'dsn-hard.eml'), os.path.join(fx, 'arf-abuse.eml'))
    con = sqlite3.connect(db4)
    now = int(time.time())
    con.execute("INSERT INTO suppressions (address_key, address, type, reason, since, expires_at) "
                "VALUES ('full@example.com', 'full@example.com', 'soft', 'mailbox_full', ?, ?)",
                (now - 86400, now + 29 * 86400))
    # What an older bounced let 'suppress add' write.
    con.execute("INSERT INTO suppressions (address_key, address, type, reason, since) "
                "VALUES ('foo@', 'foo@', 'manual', 'typo', ?)", (now - 86400,))
    con.commit()
    con.close()
    TS = r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ'
    hard = ('gone@example.com', 'hard', 'user_unknown', 0)
    compl = ('annoyed@example.org', 'complaint', 'complaint', 0)
    full = ('full@example.com', 'soft', 'mailbox_full', 0)
    foo = ('foo@', 'manual', 'typo', 0)
    bad = "bounced: suppress {}: '{}' is not an address \\(user@domain\\)\n"
    manual_rows = [
        ('add: empty domain', ['add', 'foo@', '--reason', 'x'], 2, '', bad.format('add', 'foo@'),
         [foo, compl, hard, full], []),
        ('add: empty local part', ['add', '@example.com', '--reason', 'x'], 2, '',
         bad.format('add', '@example.com'), [foo, compl, hard, full], []),
        ('add: an address type is not part of the address', ['add', 'rfc822; x@example.com', '--reason', 'x'],
         2, '', bad.format('add', 'rfc822; x@example.com'), [foo, compl, hard, full], []),
        ('add: a trailing dot', ['add', 'x@example.com.', '--reason', 'x'], 2, '',
         bad.format('add', r'x@example\.com\.'), [foo, compl, hard, full], []),
        ('check: not an address', ['check', '@example.com'], 2, '', bad.format('check', '@example.com'),
         [foo, compl, hard, full], []),
        ('remove: not an address, not in the list', ['remove', 'bar@'], 2, '', bad.format('remove', 'bar@'),
         [foo, compl, hard, full], []),
        ('add over soft: becomes manual', ['add', 'full@example.com', '--reason', 'owner asked'], 0,
         f'full@example.com: suppressed \\(manual\\), replacing soft since {TS} until {TS}\n', '',
         [foo, compl, hard, ('full@example.com', 'manual', 'owner asked', 0)],
         [('add', 'full@example.com', 'owner asked')]),
        ('add over hard: kept, audited', ['add', 'gone@example.com', '--reason', 'left'], 0,
         f'gone@example.com: already suppressed \\(hard since {TS}\\); request recorded\n', '',
         [foo, compl, hard, ('full@example.com', 'manual', 'owner asked', 0)],
         [('add', 'full@example.com', 'owner asked'), ('add', 'gone@example.com', 'left')]),
        ('add over complaint: kept, audited', ['add', 'annoyed@example.org', '--reason', 'spam'], 0,
         f'annoyed@example.org: already suppressed \\(complaint since {TS}\\); request recorded\n', '',
         [foo, compl, hard, ('full@example.com', 'manual', 'owner asked', 0)],
         [('add', 'full@example.com', 'owner asked'), ('add', 'gone@example.com', 'left'),
          ('add', 'annoyed@example.org', 'spam')]),
        ('add in <>, domain in capitals', ['add', '<Pat@Example.COM>', '--reason', 'x'], 0,
         '<Pat@Example.COM>: suppressed \\(manual\\)\n', '',
         [('Pat@example.com', 'manual', 'x', 0), foo, compl, hard,
          ('full@example.com', 'manual', 'owner asked', 0)],
         [('add', 'full@example.com', 'owner asked'), ('add', 'gone@example.com', 'left'),
          ('add', 'annoyed@example.org', 'spam'), ('add', 'Pat@example.com', 'x')]),
        ('remove after a kept add: lifted all the same', ['remove', 'gone@example.com'], 0,
         'gone@example.com: suppression lifted\n', '',
         [('Pat@example.com', 'manual', 'x', 0), foo, compl, ('gone@example.com', 'hard', 'user_unknown', 1),
          ('full@example.com', 'manual', 'owner asked', 0)],
         [('add', 'full@example.com', 'owner asked'), ('add', 'gone@example.com', 'left'),
          ('add', 'annoyed@example.org', 'spam'), ('add', 'Pat@example.com', 'x'),
          ('remove', 'gone@example.com', None)]),
        ('remove: junk an older bounced took', ['remove', 'foo@'], 0,
         r'foo@: suppression lifted \(not an address: an older bounced took it\)\n', '',
         [('Pat@example.com', 'manual', 'x', 0), ('foo@', 'manual', 'typo', 1), compl,
          ('gone@example.com', 'hard', 'user_unknown', 1), ('full@example.com', 'manual', 'owner asked', 0)],
         [('add', 'full@example.com', 'owner asked'), ('add', 'gone@example.com', 'left'),
          ('add', 'annoyed@example.org', 'spam'), ('add', 'Pat@example.com', 'x'),
          ('remove', 'gone@example.com', None), ('remove', 'foo@', None)]),
    ]
    for name, args, want, want_out, want_err, want_supp, want_audit in manual_rows:
        p = subprocess.run([BOUNCED, 'suppress', *args, '--db', db4], capture_output=True)
        so, se = p.stdout.decode(), p.stderr.decode()
        con = sqlite3.connect(db4)
        supp = con.execute('SELECT address_key, type, reason, lifted_at IS NOT NULL FROM suppressions '
                           'ORDER BY address_key').fetchall()
        aud = con.execute('SELECT action, address_key, reason FROM audit ORDER BY id').fetchall()
        con.close()
        if p.returncode != want or not re.fullmatch(want_out, so) or not re.fullmatch(want_err, se) \
                or supp != sorted(want_supp) or aud != want_audit:
            fail(f'manual: {name}: exit {p.returncode}, stdout {so!r}, stderr {se!r}, '
                 f'suppressions {supp}, audit {aud}')

    # A bounce written before the lift and taken in after it (a mailbox fetched late) does not
    # suppress again: its Date header says when it failed. The fixture with a new Message-ID,
    # written an hour ago; the lift moved to ten minutes ago, so that when it is taken in (now)
    # is clearly after the lift.
    con = sqlite3.connect(db4)
    con.execute("UPDATE suppressions SET lifted_at = ? WHERE address_key = 'gone@example.com'",
                (now - 600,))
    con.commit()
    con.close()
    with open(os.path.join(fx, 'dsn-hard.eml'), 'rb') as f:
        late = f.read().replace(b'<dsn-hard-1@', b'<dsn-hard-late@').replace(
            b'Date: Sun, 22 Nov 2026 10:00:00 +0000', b'Date: ' + formatdate(now - 3600).encode())
    run('ingest', '--db', db4, '-', stdin=late, out=r'^ingested 1 messages: 0 duplicates, 1 events, 0 newly suppressed\n$')
    run('suppress', 'check', 'gone@example.com', '--db', db4, want=1)
    con = sqlite3.connect(db4)
    eff = con.execute("SELECT e.effect FROM events e JOIN messages m ON m.id = e.message "
                      "WHERE m.message_id = '<dsn-hard-late@mx.example.net>'").fetchall()
    con.close()
    if eff != [('after-lift',)]:
        fail(f'late bounce: effects {eff}')

    # Configuration: --db overrides [store] db; errors name file and line.
    conf = os.path.join(tmp, 'bounced.conf')
    with open(conf, 'w') as f:
        f.write(f'[store]\ndb = {db}\nbusy_timeout_ms = 300\n')
    run('suppress', 'check', 'annoyed@example.org', '--config', conf, out='complaint')
    run('suppress', 'check', 'annoyed@example.org', '--config', conf, '--db', os.path.join(tmp, 'other.db'), want=78)
    bad = os.path.join(tmp, 'bad.conf')
    with open(bad, 'w') as f:
        f.write('[store]\ndb = x\nbusy = 1\n')
    run('stats', '--config', bad, want=78, err=re.escape(bad) + r":3: unknown key 'busy' in \[store\]")

    # A writer holding the lock past the busy timeout: 75, so Postfix's pipe(8) retries.
    con = sqlite3.connect(db, isolation_level=None)
    con.execute('BEGIN IMMEDIATE')
    with open(os.path.join(fx, 'dsn-full.eml'), 'rb') as f:
        run('ingest', '--config', conf, '-', stdin=f.read() + b'\n', want=75, err='busy')
    con.execute('ROLLBACK')
    con.close()

    # A database newer than the binary is refused.
    con = sqlite3.connect(db)
    con.execute('PRAGMA user_version = 7')
    con.close()
    run('ingest', '--db', db, fx, want=78, err=r'schema version 7 is newer than this bounced understands \(4\)')
    run('db', 'migrate', '--db', db, want=78, err='newer')

# The application only reads: with bounced stopped, a reader without write access to the
# directory or the files (SQLite then cannot create -wal/-shm) still opens the database and
# finds the suppression, through the view and through `bounced suppress check`. As root, the
# reader runs as nobody (file modes do not bind root); otherwise the files are made read-only.
ro = tempfile.mkdtemp(prefix='bounced-ro-')
try:
    rodb = os.path.join(ro, 'db', 'bounced.db')
    run('db', 'migrate', '--db', rodb)
    run('suppress', 'add', 'Reader@Example.COM', '--reason', 'ro test', '--db', rodb)
    if not os.path.exists(rodb + '-wal') or not os.path.exists(rodb + '-shm'):
        fail('-wal and -shm are not kept after close: a read-only reader cannot create them')
    elif os.path.getsize(rodb + '-wal') != 0:
        fail('the WAL kept after close is not truncated: every reader would rebuild its index')
    query = ("import sqlite3, sys; c = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True); "
             "print(c.execute('SELECT type FROM suppressed WHERE address = ?', "
             "('reader@example.com',)).fetchone()[0])")
    if os.geteuid() == 0:
        for d in (ro, os.path.dirname(rodb)):
            os.chmod(d, 0o755)
        for f in ('', '-wal', '-shm'):
            if os.path.exists(rodb + f):
                os.chmod(rodb + f, 0o644)
        as_reader = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups']
    else:
        os.chmod(os.path.dirname(rodb), 0o555)
        for f in ('', '-wal', '-shm'):
            if os.path.exists(rodb + f):
                os.chmod(rodb + f, 0o444)
        as_reader = []
    p = subprocess.run(as_reader + [sys.executable, '-c', query, rodb], capture_output=True)
    if p.returncode != 0 or p.stdout.decode().strip() != 'manual':
        fail(f'read-only reader: {p.returncode} {p.stdout!r} {p.stderr!r}')
    p = subprocess.run(as_reader + [BOUNCED, 'suppress', 'check', 'reader@example.com', '--db', rodb],
                       capture_output=True)
    if p.returncode != 0 or b'type manual' not in p.stdout:
        fail(f'read-only suppress check: {p.returncode} {p.stdout!r} {p.stderr!r}')
finally:
    os.chmod(os.path.dirname(rodb), 0o755)
    shutil.rmtree(ro)

print(f'{failures} failures')
sys.exit(1 if failures else 0)
