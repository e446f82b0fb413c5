#!/usr/bin/env python3
"""Integration tests of `bounced fetch` against a real Dovecot started here (suite 'imap').

usage: test-fetch.py BOUNCED
Needs dovecot-imapd, openssl and sqlite3 (Debian packages of those names)."""
import os
import socket
import ssl
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dovecot_env import Dovecot  # noqa: E402
import mailgen  # noqa: E402

BOUNCED = os.path.abspath(sys.argv[1])
PROCESSED = 'bounced.processed'	# Dovecot's Maildir++ delimiter is '.'
NOT_BOUNCES = 'bounced.not-bounces'
failures = []


def check(name, cond, detail=''):
    print(('ok   ' if cond else 'FAIL ') + name + ('' if cond else ': ' + detail))
    if not cond:
        failures.append(name)


def fetch(dv, db, *args, url=None, ca=True, env=None, pwfile=True):
    cmd = [BOUNCED, 'fetch', '--db', db, '--imap', url or dv.url()]
    if pwfile:
        cmd += ['--password-file', f'{dv.dir}/password']
    if ca:
        cmd += ['--tls-ca', f'{dv.dir}/ca.pem']
    cmd += list(args)
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e, timeout=120,
                       stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout.decode(errors='replace'), p.stderr.decode(errors='replace')


def sql(db, query):
    out = subprocess.run(['sqlite3', db, query], check=True, stdout=subprocess.PIPE).stdout
    return out.decode().strip()


def test_tls(dv, tmp):
    db = f'{tmp}/tls.db'
    wrong_pw = f'{tmp}/wrong-password'
    with open(wrong_pw, 'w') as f:
        f.write('not-the-password\n')
    closed = socket.socket()
    closed.bind(('127.0.0.1', 0))	# bound, never listening: connection refused
    closed_port = closed.getsockname()[1]
    # name, url, extra args, use --tls-ca, expected exit, stderr must contain
    rows = [
        ('imaps with the test CA', dv.url(), [], True, 0, None),
        ('STARTTLS with the test CA', dv.url(starttls=True), [], True, 0, None),
        ('imaps without the CA: refused', dv.url(), [], False, 77, 'certificate'),
        ('STARTTLS without the CA: refused', dv.url(starttls=True), [], False, 77,
         'certificate'),
        ('wrong host name (127.0.0.1, cert is for localhost)', dv.url(host='127.0.0.1'), [],
         True, 77, 'does not match'),
        ('wrong password', dv.url(), ['--password-file', wrong_pw], True, 77, 'refused'),
        ('unreachable server', f'imaps://bounces@127.0.0.1:{closed_port}/INBOX', [], True, 75,
         'cannot connect'),
        ('bad URL', 'http://x/', [], True, 78, 'imaps://'),
        ('password on the command line is refused', dv.url(), ['secret'], True, 2, None),
    ]
    for name, url, extra, ca, want, needle in rows:
        args = list(extra)
        pw = True
        if '--password-file' in args:
            pw = False
        rc, out, err = fetch(dv, db, *args, url=url, ca=ca, pwfile=pw)
        ok = rc == want and (needle is None or needle.lower() in err.lower())
        check(f'tls: {name}', ok, f'exit {rc} (want {want}), stderr: {err.strip()}')
        if want == 0:
            check(f'tls: {name}: silent', out == '' and err == '', repr(out + err))
    closed.close()


def test_mixed(dv, tmp):
    db = f'{tmp}/mixed.db'
    bounces = [mailgen.dsn(i) for i in range(1, 8)] + [mailgen.arf(1)]
    humans = [mailgen.human(i) for i in range(1, 4)]
    msgs = []
    for i in range(max(len(bounces), len(humans))):	# interleaved
        msgs += bounces[i:i + 1] + humans[i:i + 1]
    dv.append(msgs)
    rc, out, err = fetch(dv, db, '--verbose')
    check('mixed: exit 0', rc == 0, f'exit {rc}: {err}')
    check('mixed: one summary line', len(err.strip().splitlines()) == 1 and
          '11 messages' in err, repr(err))
    check('mixed: inbox empty', dv.count('INBOX') == 0, str(dv.count('INBOX')))
    check('mixed: bounces moved', dv.count(PROCESSED) == len(bounces), str(dv.count(PROCESSED)))
    check('mixed: human mail moved apart', dv.count(NOT_BOUNCES) == len(humans),
          str(dv.count(NOT_BOUNCES)))
    check('mixed: moved mail stays unread', dv.count(PROCESSED, 'UNSEEN') == len(bounces))
    check('mixed: messages recorded once', sql(db, 'SELECT count(*) FROM messages') ==
          str(len(msgs)), sql(db, 'SELECT count(*) FROM messages'))
    check('mixed: one event per bounce', sql(db, 'SELECT count(*) FROM events') ==
          str(len(bounces)), sql(db, 'SELECT count(*) FROM events'))
    check('mixed: hard bounces and the complaint suppressed',
          sql(db, 'SELECT count(*) FROM suppressions') == str(len(bounces)),
          sql(db, 'SELECT address, type FROM suppressions'))
    check('mixed: source names account, mailbox, UIDVALIDITY and UID',
          sql(db, "SELECT count(*) FROM messages WHERE source LIKE "
              "'imap:bounces@localhost/INBOX;UIDVALIDITY=%/;UID=%'") == str(len(msgs)),
          sql(db, 'SELECT source FROM messages LIMIT 1'))
    rc, out, err = fetch(dv, db)
    check('mixed: second run silent, nothing new', rc == 0 and out == '' and err == '' and
          sql(db, 'SELECT count(*) FROM messages') == str(len(msgs)), f'{rc} {err}')
    # The same mail again in the inbox (a re-delivery): duplicates, moved again, not counted.
    dv.append(bounces[:2])
    rc, out, err = fetch(dv, db, '--verbose')
    check('mixed: re-delivered mail counted once',
          rc == 0 and '2 duplicates' in err and
          sql(db, 'SELECT count(*) FROM events') == str(len(bounces)) and
          dv.count('INBOX') == 0, f'{rc} {err}')


def test_kill_after_commit(dv, tmp):
    db = f'{tmp}/kill.db'
    msgs = [mailgen.dsn(100 + i) for i in range(5)] + [mailgen.human(100)]
    dv.append(msgs)
    before = dv.count(PROCESSED) or 0
    rc, out, err = fetch(dv, db, env={'BOUNCED_TEST_DIE_AFTER_COMMIT': '1'})
    check('kill: died after commit', rc == 99, f'exit {rc}: {err}')
    check('kill: committed', sql(db, 'SELECT count(*) FROM messages') == '6')
    events = sql(db, 'SELECT count(*) FROM events')
    check('kill: nothing moved yet', dv.count('INBOX') == 6, str(dv.count('INBOX')))
    # Force a new UIDVALIDITY: Dovecot renumbers the mailbox when its uidlist is gone.
    uidlist = f'{dv.maildir}/dovecot-uidlist'
    m = dv.client()
    m.select('INBOX')
    v1 = m.response('UIDVALIDITY')[1][0]
    m.logout()
    if os.path.exists(uidlist):
        os.unlink(uidlist)
    for f in os.listdir(dv.maildir):
        if f.startswith('dovecot.index'):
            os.unlink(os.path.join(dv.maildir, f))
    m = dv.client()
    m.select('INBOX')
    v2 = m.response('UIDVALIDITY')[1][0]
    m.logout()
    check('kill: UIDVALIDITY changed', v1 != v2, f'{v1} {v2}')
    rc, out, err = fetch(dv, db, '--verbose')
    check('kill: re-run exit 0', rc == 0, f'exit {rc}: {err}')
    check('kill: re-run counts nothing twice',
          sql(db, 'SELECT count(*) FROM messages') == '6' and
          sql(db, 'SELECT count(*) FROM events') == events and '6 duplicates' in err,
          err + sql(db, 'SELECT count(*) FROM events'))
    check('kill: re-run moved everything', dv.count('INBOX') == 0 and
          dv.count(PROCESSED) == before + 5, f'{dv.count("INBOX")} {dv.count(PROCESSED)}')


def test_concurrent(dv, tmp):
    db = f'{tmp}/concurrent.db'
    msgs = [mailgen.dsn(200 + i) for i in range(40)]
    dv.append(msgs)
    results = []

    def one():
        results.append(fetch(dv, db))
    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r[0] for r in results)
    check('concurrent: one runs, the other exits 0 or 75 quietly',
          all(c in (0, 75) for c in codes) and all(r[2] == '' for r in results), str(results))
    rc, out, err = fetch(dv, db)
    check('concurrent: all counted once', rc == 0 and
          sql(db, 'SELECT count(*) FROM messages') == '40' and dv.count('INBOX') == 0,
          f'{rc} {err} {sql(db, "SELECT count(*) FROM messages")}')


def test_actions(dv, tmp):
    """flag and delete, configured in a config file with two accounts."""
    db = f'{tmp}/actions.db'
    dv.append([mailgen.dsn(300), mailgen.human(300)])
    conf = f'{tmp}/bounced.conf'
    with open(conf, 'w') as f:
        f.write(f"""[store]
db = {db}

[imap flagged]
url = {dv.url()}
password_file = {dv.dir}/password
tls_ca = {dv.dir}/ca.pem
action = flag
nonbounce_action = leave
""")
    rc, out, err = fetch_config(conf)
    check('flag: exit 0', rc == 0, f'{rc} {err}')
    check('flag: bounce flagged \\Seen in place, human mail left unread',
          dv.count('INBOX') == 2 and dv.count('INBOX', 'SEEN') == 1 and
          dv.count('INBOX', 'KEYWORD $BouncedDone') == 2, f'{dv.count("INBOX", "SEEN")}')
    rc, out, err = fetch_config(conf, '--verbose')
    check('flag: second run finds nothing', rc == 0 and '0 messages' in err, err)
    with open(conf, 'a') as f:
        f.write(f"""
[imap deleting]
url = {dv.url(mailbox='Other')}
password_file = {dv.dir}/password
tls_ca = {dv.dir}/ca.pem
action = delete
nonbounce_action = leave
""")
    m = dv.client()
    m.create('Other')
    m.logout()
    dv.append([mailgen.dsn(301), mailgen.human(301)], mailbox='Other')
    rc, out, err = fetch_config(conf, '--account', 'deleting')
    check('delete: bounce deleted, human mail kept',
          rc == 0 and dv.count('Other') == 1 and dv.count('Other', 'UNSEEN') == 1, f'{rc} {err}')
    check('delete: recorded', sql(db, "SELECT count(*) FROM messages WHERE source LIKE "
                                      "'imap:deleting/Other;%'") == '2')


def test_utf8_names(dv, tmp):
    """Mailbox and folder names in UTF-8, as an operator writes them, reach Dovecot in modified
    UTF-7 (RFC 3501 5.1.3): the URL's mailbox, and a move_to folder that fetch creates."""
    db = f'{tmp}/utf8.db'
    m = dv.client()
    typ, _ = m.create('"Unzustellbar-&AOk-"')		# "Unzustellbar-é"
    m.logout()
    check('utf8: test mailbox created', typ == 'OK', typ)
    dv.append([mailgen.dsn(400)], mailbox='Unzustellbar-&AOk-')
    conf = f'{tmp}/utf8.conf'
    with open(conf, 'w', encoding='utf-8') as f:
        f.write(f"""[store]
db = {db}

[imap umlaut]
url = {dv.url(mailbox='Unzustellbar-%C3%A9')}
password_file = {dv.dir}/password
tls_ca = {dv.dir}/ca.pem
move_to = R\u00fcckl\u00e4ufer/Gepr\u00fcft & erledigt
""")
    rc, out, err = fetch_config(conf)
    check('utf8: exit 0', rc == 0, f'{rc} {err}')
    check('utf8: the bounce left the UTF-8 mailbox', dv.count('Unzustellbar-&AOk-') == 0,
          f'{dv.count("Unzustellbar-&AOk-")}')
    m = dv.client()
    typ, data = m.list('""', '""')			# (\\Noselect) "." ""
    m.logout()
    folder = 'R&APw-ckl&AOQ-ufer' + data[0].decode().split('"')[1] + 'Gepr&APw-ft &- erledigt'
    check('utf8: moved to the folder under its modified UTF-7 name',
          dv.count(folder) == 1, f'{folder}: {dv.count(folder)}')
    check('utf8: recorded with the UTF-8 name in the source',
          sql(db, "SELECT count(*) FROM messages WHERE source LIKE "
                  "'imap:umlaut/Unzustellbar-\u00e9;%'") == '1')


def test_oversized(dv, tmp):
    """A message over LIMIT_MESSAGE_BYTES (64 MiB) is fetched up to the limit, stored marked
    truncated, and moved like any other: never dropped, never left behind."""
    db = f'{tmp}/big.db'
    limit = 64 * 1024 * 1024
    head = mailgen.dsn(400)
    big = head + (b'X' * 76 + b'\r\n') * ((limit - len(head)) // 78 + 2000)
    dv.write_maildir([big])
    rc, out, err = fetch(dv, db, '--verbose')
    check('oversized: exit 0, counted as truncated', rc == 0 and '1 truncated' in err, err)
    check('oversized: stored marked truncated, cut at the limit',
          sql(db, "SELECT outcome, size FROM messages") == f'truncated|{limit}',
          sql(db, "SELECT outcome, size FROM messages"))
    check('oversized: moved', dv.count('INBOX', 'UNKEYWORD $BouncedDone') == 0)


def test_db_busy(dv, tmp):
    """The application holds a write lock past the busy timeout: exit 75, nothing moved."""
    db = f'{tmp}/busy.db'
    conf = f'{tmp}/busy.conf'
    with open(conf, 'w') as f:
        f.write(f"""[store]
db = {db}
busy_timeout_ms = 300

[imap busy]
url = {dv.url(mailbox='Busy')}
password_file = {dv.dir}/password
tls_ca = {dv.dir}/ca.pem
""")
    m = dv.client()
    m.create('Busy')
    m.logout()
    dv.append([mailgen.dsn(500)], mailbox='Busy')
    rc, out, err = fetch_config(conf)	# creates the database
    dv.append([mailgen.dsn(501)], mailbox='Busy')
    holder = subprocess.Popen(['sqlite3', db], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    holder.stdin.write(b'BEGIN IMMEDIATE;\nSELECT 1;\n')
    holder.stdin.flush()
    holder.stdout.readline()	# the lock is held once this answers
    rc, out, err = fetch_config(conf)
    check('db busy: exit 75, said so', rc == 75 and err != '', f'{rc} {err}')
    check('db busy: mail left in place', dv.count('Busy') == 1, str(dv.count('Busy')))
    holder.stdin.write(b'ROLLBACK;\n')
    holder.stdin.close()
    holder.wait()
    rc, out, err = fetch_config(conf)
    check('db busy: next run takes it', rc == 0 and dv.count('Busy') == 0 and
          sql(db, 'SELECT count(*) FROM messages') == '2', f'{rc} {err}')


def test_plaintext(tmp):
    """A server without TLS: refused unless the account says allow_plaintext = yes."""
    plain = Dovecot(tls=False).start()
    try:
        db = f'{tmp}/plain.db'
        plain.append([mailgen.dsn(600), mailgen.human(600)])
        rc, out, err = fetch(plain, db, url=plain.url(starttls=True), ca=False)
        check('plaintext: refused by default (no STARTTLS offered)',
              rc == 77 and 'STARTTLS' in err and plain.count('INBOX') == 2, f'{rc} {err}')
        conf = f'{tmp}/plain.conf'
        with open(conf, 'w') as f:
            f.write(f"""[store]
db = {db}

[imap plain]
url = {plain.url(starttls=True)}
password_file = {plain.dir}/password
allow_plaintext = yes
""")
        rc, out, err = fetch_config(conf)
        check('plaintext: allowed when configured', rc == 0 and plain.count('INBOX') == 0 and
              sql(db, 'SELECT count(*) FROM messages') == '2', f'{rc} {err}')
    finally:
        plain.stop()


class HostileServer:
    """An IMAP server that behaves until the body fetch, then misbehaves as told: a peer that
    is broken or hostile, which a real Dovecot cannot play."""

    def __init__(self, dv, body_reply, sizes=None):
        self.body_reply = body_reply
        self.sizes = sizes or {1: 100}	# UID -> the RFC822.SIZE it announces
        self.cmds = []
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(f'{dv.dir}/srv.pem', f'{dv.dir}/srv.key')
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        try:
            conn, _ = self.sock.accept()
            conn = self.ctx.wrap_socket(conn, server_side=True)
            f = conn.makefile('rwb', buffering=0)
            conn.sendall(b'* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hostile ready\r\n')
            while True:
                line = f.readline()
                if not line:
                    return
                tag, _, cmd = line.decode(errors='replace').strip().partition(' ')
                up = cmd.upper()
                self.cmds.append(up)
                if up.startswith('CAPABILITY'):
                    out = '* CAPABILITY IMAP4rev1 MOVE UIDPLUS\r\n'
                elif up.startswith('SELECT'):
                    out = (f'* {len(self.sizes)} EXISTS\r\n* OK [UIDVALIDITY 7] v\r\n'
                           '* OK [PERMANENTFLAGS (\\* \\Seen)] p\r\n')
                elif up.startswith('UID SEARCH'):
                    out = '* SEARCH ' + ' '.join(map(str, self.sizes)) + '\r\n'
                elif up.startswith('LIST'):
                    out = '* LIST () "." INBOX\r\n' if '""' in cmd.split(' ', 2)[-1] else \
                          '* LIST () "." ' + cmd.split(' ', 2)[-1] + '\r\n'
                elif up.startswith('UID FETCH') and 'RFC822.SIZE' in up:
                    out = ''.join(f'* {n} FETCH (UID {uid} RFC822.SIZE {size})\r\n'
                                  for n, (uid, size) in enumerate(self.sizes.items(), 1))
                elif up.startswith('UID FETCH'):
                    if self.body_reply(conn, tag):
                        continue	# it answered in full: the session goes on
                    return
                elif up.startswith('LOGOUT'):
                    conn.sendall(f'* BYE\r\n{tag} OK bye\r\n'.encode())
                    return
                else:
                    out = ''
                conn.sendall(f'{out}{tag} OK done\r\n'.encode())
        except (OSError, ssl.SSLError):
            return


def nil_body(conn, tag):	# a well-formed answer without the message
    conn.sendall(f'* 1 FETCH (UID 1 BODY[] NIL)\r\n{tag} OK done\r\n'.encode())
    return True


def huge_literal(conn, tag):
    conn.sendall(b'* 1 FETCH (UID 1 BODY[] {4000000000}\r\n')
    time.sleep(2)


def lying_size(conn, tag):	# announced 100 bytes, sends 8 MiB
    n = 8 * 1024 * 1024
    conn.sendall(b'* 1 FETCH (UID 1 BODY[] {%d}\r\n' % n)
    try:
        for _ in range(n // 65536):
            conn.sendall(b'x' * 65536)
    except OSError:
        pass


def zero_padded_literal(conn, tag):	# libetpan reads 31 digits as 5
    conn.sendall(b'* 1 FETCH (UID 1 BODY[] {%s5}\r\nhello)\r\n%s OK done\r\n'
                 % (b'0' * 30, tag.encode()))
    return True


def bare_lf_literal(conn, tag):	# libetpan takes "{N}\n" as a literal too
    conn.sendall(b'* 1 FETCH (UID 1 BODY[] {5}\nhello)\r\n%s OK done\r\n' % tag.encode())
    return True


def literal_after_text(conn, tag):	# libetpan reads "{5}" here as text, not as a literal
    body = b'Subject: x\r\n\r\n' + b'x' * 86	# the 100 bytes RFC822.SIZE announced
    conn.sendall(b'* OK {5}\r\n* 1 FETCH (UID 1 BODY[] {100}\r\n%s)\r\n%s OK done\r\n'
                 % (body, tag.encode()))
    return True


def trickle(conn, tag):	# a byte every 0.2 s: each read succeeds, the fetch never ends
    conn.sendall(b'* 1 FETCH (UID 1 BODY[] {100000}\r\n')
    try:
        for _ in range(600):
            conn.sendall(b'x')
            time.sleep(0.2)
    except OSError:
        pass


def endless_line(conn, tag):
    try:
        conn.sendall(b'* 1 FETCH (UID 1 FLAGS (')
        for _ in range(1024):
            conn.sendall(b'\\Seen ' * 10000)
    except OSError:
        pass


def test_hostile(dv, tmp):
    rows = [
        ('literal of 4 GB announced', huge_literal, 'literal larger'),
        ('more bytes than RFC822.SIZE said', lying_size, 'more than'),
        ('endless response line', endless_line, 'more than'),
        ('literal size of 31 digits', zero_padded_literal, 'more than 10 digits'),
        ('literal announced with a bare LF', bare_lf_literal, 'bare LF'),
        ('"{N}" ending a status response', literal_after_text, 'status response'),
    ]
    for name, behaviour, needle in rows:
        srv = HostileServer(dv, behaviour)
        db = f'{tmp}/hostile.db'
        t = time.time()
        rc, out, err = fetch(dv, db, url=f'imaps://bounces@localhost:{srv.port}/INBOX')
        secs = time.time() - t
        check(f'hostile: {name}: exit 75, nothing recorded, quick',
              rc == 75 and needle in err and secs < 30 and
              sql(db, 'SELECT count(*) FROM messages') == '0', f'{rc} {secs:.1f}s {err}')
        srv.sock.close()

    # A body shorter than its RFC822.SIZE (a server that lost part of it, or estimates sizes):
    # stored marked truncated but not acted on, named in the error, exit 75; the other message
    # of the batch goes on as usual. The next run acts on it when the server sends the same
    # bytes again (a duplicate), or when it sends the whole message (a duplicate as well: same
    # Message-ID and recipients, so counted once).
    whole, cut = mailgen.dsn(701), mailgen.dsn(702)
    half = len(cut) // 2

    def fetch_reply(parts):
        def reply(conn, tag):
            conn.sendall(b''.join(b'* %d FETCH (UID %d BODY[] {%d}\r\n%s)\r\n'
                                  % (i, uid, len(body), body)
                                  for i, (uid, body) in enumerate(parts, 1))
                         + b'%s OK done\r\n' % tag.encode())
            return True
        return reply

    def acted(srv):
        return [c for c in srv.cmds
                if 'MOVE' in c or 'STORE' in c or 'EXPUNGE' in c or 'COPY' in c]

    # run, server's messages (UID, body), expected exit, stderr needle, UIDs moved,
    # messages rows (outcome, size) after
    for db_name, runs in (
            ('short-same', [
                ([(1, whole), (2, cut[:half])], 75, f'UID 2: {half} of {len(cut)} bytes',
                 'UID MOVE 1 ', f'parsed|{len(whole)}\ntruncated|{half}'),
                ([(2, cut[:half])], 0, '', 'UID MOVE 2 ',
                 f'parsed|{len(whole)}\ntruncated|{half}')]),
            ('short-whole', [
                ([(2, cut[:half])], 75, f'UID 2: {half} of {len(cut)} bytes', None,
                 f'truncated|{half}'),
                ([(2, cut)], 0, '', 'UID MOVE 2 ', f'truncated|{half}')])):
        db = f'{tmp}/hostile-{db_name}.db'
        for k, (parts, want, needle, moved, rows) in enumerate(runs, 1):
            srv = HostileServer(dv, fetch_reply(parts),
                                sizes={uid: len(whole) if uid == 1 else len(cut)
                                       for uid, _ in parts})
            rc, out, err = fetch(dv, db, url=f'imaps://bounces@localhost:{srv.port}/INBOX')
            got = sql(db, 'SELECT outcome, size FROM messages ORDER BY id')
            a = acted(srv)
            check(f'hostile: short body, {db_name}, run {k}: exit {want}, moved {moved}',
                  rc == want and needle in err and got == rows and
                  (a == [] if moved is None else len(a) == 1 and a[0].startswith(moved)),
                  f'{rc} {a} {got!r} {err}')
            srv.sock.close()

    # A server that trickles: only the account's command timeout (timeout = 2 here, 600 s by
    # default) ends the run, with exit 75 and nothing recorded or moved.
    srv = HostileServer(dv, trickle, sizes={1: 100000})
    db = f'{tmp}/hostile-trickle.db'
    conf = f'{tmp}/trickle.conf'
    with open(conf, 'w') as f:
        f.write(f"""[store]
db = {db}

[imap slow]
url = imaps://bounces@localhost:{srv.port}/INBOX
password_file = {dv.dir}/password
tls_ca = {dv.dir}/ca.pem
timeout = 2
""")
    t = time.time()
    rc, out, err = fetch_config(conf)
    secs = time.time() - t
    check('hostile: trickling server: exit 75 after the configured timeout, nothing recorded',
          rc == 75 and 'longer than 2 s' in err and secs < 30 and acted(srv) == [] and
          sql(db, 'SELECT count(*) FROM messages') == '0', f'{rc} {secs:.1f}s {err}')
    srv.sock.close()

    # BODY[] NIL: nothing is stored, and the message is neither moved nor deleted.
    srv = HostileServer(dv, nil_body)
    db = f'{tmp}/hostile-nil.db'
    rc, out, err = fetch(dv, db, url=f'imaps://bounces@localhost:{srv.port}/INBOX')
    acted = [c for c in srv.cmds if 'MOVE' in c or 'STORE' in c or 'EXPUNGE' in c or 'COPY' in c]
    check('hostile: BODY[] NIL: nothing stored, nothing moved',
          sql(db, 'SELECT count(*) FROM messages') == '0' and acted == [], f'{rc} {acted} {err}')
    srv.sock.close()


def fetch_config(conf, *args):
    p = subprocess.run([BOUNCED, 'fetch', '--config', conf, *args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout.decode(errors='replace'), p.stderr.decode(errors='replace')


def main():
    dv = Dovecot().start()
    tmp = dv.dir + '/client'
    os.makedirs(tmp)
    try:
        test_tls(dv, tmp)
        test_mixed(dv, tmp)
        test_kill_after_commit(dv, tmp)
        test_concurrent(dv, tmp)
        test_actions(dv, tmp)
        test_utf8_names(dv, tmp)
        test_oversized(dv, tmp)
        test_hostile(dv, tmp)
        test_db_busy(dv, tmp)
        test_plaintext(tmp)
    finally:
        if failures:
            print('--- dovecot.log (tail) ---')
            print('\n'.join(dv.log().splitlines()[-30:]))
        dv.stop(keep=bool(os.environ.get('BOUNCED_KEEP_SCRATCH')))
    if failures:
        print(f'{len(failures)} failed: ' + ', '.join(failures))
        return 1
    print('all passed')
    return 0


if __name__ == '__main__':
    sys.exit(main())
