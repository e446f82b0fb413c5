#!/usr/bin/env python3
"""`bounced fetch` against hostile IMAP servers (issue 19; suite 'imap'): a Python server started
here (hostile_imap.py) sends huge literals, endless lines, a UIDVALIDITY change mid-run, UIDs
that go backwards, FETCH responses for messages not asked for, and data injected after its
STARTTLS reply. For each, fetch must end within its deadline (the account's timeout, 5 s here,
plus start-up), exit 75 (doc/fetch.md says why), move or flag nothing it has not committed, and
a following run against a well-behaved server holding the same mail must store each message
exactly once and move it all.

usage: test-hostile.py BOUNCED
Needs openssl (the STARTTLS cases' certificate) and sqlite3."""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dovecot_env import PASSWORD, make_certs  # noqa: E402
from hostile_imap import Server  # noqa: E402
import mailgen  # noqa: E402

BOUNCED = os.path.abspath(sys.argv[1]) if len(sys.argv) == 2 else None
# The account's timeout (per command) in these tests; the deadline adds start-up and a loaded
# machine's slack.
TIMEOUT_S = 5
DEADLINE_S = TIMEOUT_S + 15
failures = []


def check(name, cond, detail=''):
    print(('ok   ' if cond else 'FAIL ') + name + ('' if cond else ': ' + detail))
    if not cond:
        failures.append(name)


def sql(db, query):
    if not os.path.exists(db):
        return ''
    out = subprocess.run(['sqlite3', db, query], check=True, stdout=subprocess.PIPE).stdout
    return out.decode().strip()


def fetch(tmp, srv, db, batch=100, tls=False):
    conf = f'{tmp}/bounced.conf'
    with open(conf, 'w') as f:
        f.write(f"""[store]
db = {db}

[imap hostile]
url = {srv.url()}
password_file = {tmp}/password
timeout = {TIMEOUT_S}
batch = {batch}
""" + (f'tls_ca = {tmp}/ca.pem\n' if tls else 'allow_plaintext = yes\n'))
    t = time.monotonic()
    p = subprocess.run([BOUNCED, 'fetch', '--config', conf], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=120)
    return p.returncode, p.stderr.decode(errors='replace').strip(), time.monotonic() - t


# ---- hostile behaviours: hook(server, conn, tag, args) -> True (answered) / False (hang up) ----

def greeting_endless_line(s, conn, tag, args):
    s.send(conn, b'* OK ')
    s.stream(conn, b'x' * 65536)
    return False


def literal_4gb_body(s, conn, tag, args):
    s.send(conn, b'* 1 FETCH (UID 1 BODY[] {4000000000}\r\n')
    s.stall()
    return False


def literal_2mb_list(s, conn, tag, args):	# a folder name of 2 MiB: over IMAP_LITERAL_MAX
    s.send(conn, b'* LIST () "." {2097152}\r\n')
    s.stream(conn, b'n' * 65536)
    return False


def endless_untagged(s, conn, tag, args):	# never the tagged reply
    s.stream(conn, b'* OK still searching\r\n' * 4096)
    return False


def literal_cut_then_close(s, conn, tag, args):	# {N} announced, fewer bytes, then FIN
    body = s.messages[1]
    s.send(conn, b'* 1 FETCH (UID 1 BODY[] {%d}\r\n%s' % (len(body), body[:len(body) // 2]))
    return False


def greeting_list_code(s, conn, tag, args):	# libetpan 1.9.4 crashed on it
    s.send(conn, b'* OK [BADCHARSET (UTF-8)] ready\r\n')
    return True


def permanentflags_not_a_flag(s, conn, tag, args):	# libetpan 1.9.4 crashed on it
    s.send(conn, b'* 3 EXISTS\r\n* OK [UIDVALIDITY 7] v\r\n* OK [PERMANENTFLAGS (\\()] p\r\n'
           + f'{tag} OK [READ-WRITE] done\r\n'.encode())
    return True


def capability_empty(s, conn, tag, args):	# libetpan 1.9.4 crashed on it
    s.send(conn, f'* CAPABILITY\r\n{tag} OK done\r\n')
    return True


def endless_line_body(s, conn, tag, args):
    s.send(conn, b'* 1 FETCH (UID 1 FLAGS (')
    s.stream(conn, b'\\Seen ' * 10000)
    return False


def uidvalidity_in(word):
    """The answer to word carries a new UIDVALIDITY (mailbox rebuilt under the session)."""
    def hook(s, conn, tag, args):
        s.uidvalidity += 1
        s.send(conn, b'* OK [UIDVALIDITY %d] mailbox rebuilt\r\n' % s.uidvalidity +
               s._answer(word, args) + f'{tag} OK done\r\n'.encode())
        return True
    return hook


def uidvalidity_in_second_body_fetch():
    seen = []

    def hook(s, conn, tag, args):
        seen.append(args)
        if len(seen) == 2:
            s.uidvalidity += 1
            s.send(conn, b'* OK [UIDVALIDITY %d] mailbox rebuilt\r\n' % s.uidvalidity)
        s.send(conn, s._answer('FETCH-BODY', args) + f'{tag} OK done\r\n'.encode())
        return True
    return hook


def uids_backwards(s, conn, tag, args):	# sequence numbers up, UIDs down
    uids = sorted(s.messages)
    seqs = {u: len(uids) - i for i, u in enumerate(uids)}
    s.send(conn, s.body_fetch(uids, seqs) + f'{tag} OK done\r\n'.encode())
    return True


def uid_twice(s, conn, tag, args):	# UID 1 answered with two different bodies
    other = mailgen.dsn(999)
    s.send(conn, s.body_fetch(sorted(s.messages)) +
           b'* 1 FETCH (UID 1 BODY[] {%d}\r\n%s)\r\n' % (len(other), other) +
           f'{tag} OK done\r\n'.encode())
    return True


def not_asked_body(s, conn, tag, args):	# batch = 1: asked for one, given all
    s.send(conn, s.body_fetch(sorted(s.messages)) + f'{tag} OK done\r\n'.encode())
    return True


def unsolicited_flags(s, conn, tag, args):	# legal (RFC 3501 7.4.2): no body, ignored
    uids = sorted(s.messages)
    s.send(conn, b''.join(b'* %d FETCH (UID %d FLAGS (\\Seen))\r\n' % (i, u)
                          for i, u in enumerate(uids, 1)) +
           s._answer('FETCH-BODY', args) + f'{tag} OK done\r\n'.encode())
    return True


def starttls_injected(s, conn, tag, args):	# in the same segment as the reply
    s.send(conn, f'{tag} OK begin TLS\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n'
                 f'{tag}X OK injected\r\n')
    s.stall()
    return False


def starttls_injected_late(s, conn, tag, args):	# a moment after it, before the handshake
    s.send(conn, f'{tag} OK begin TLS\r\n')
    time.sleep(0.5)
    s.send(conn, b'* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n')
    s.stall()
    return False


# name, hooks, fetch options, what stderr must hold (or one of them), UIDs committed by the
# hostile run
CASES = [
    ('endless greeting line', {'GREETING': greeting_endless_line}, {}, 'more than', []),
    ('literal of 4 GB announced in a body', {'FETCH-BODY': literal_4gb_body}, {},
     'literal larger', []),
    ('literal of 2 MiB in a LIST', {'LIST': literal_2mb_list}, {}, 'literal larger', []),
    ('endless untagged lines, no reply', {'SEARCH': endless_untagged}, {},
     ('more than', 'longer than'), []),
    ('endless line in a body fetch', {'FETCH-BODY': endless_line_body}, {}, 'more than', []),
    ('literal cut short by the end of the connection', {'FETCH-BODY': literal_cut_then_close}, {},
     'lost or garbled', []),
    ('a list in the greeting\'s response code', {'GREETING': greeting_list_code}, {}, 'greeting',
     []),
    ('PERMANENTFLAGS whose first item is not a flag', {'SELECT': permanentflags_not_a_flag}, {},
     'PERMANENTFLAGS', []),
    ('CAPABILITY without a capability', {'CAPABILITY': capability_empty}, {},
     'without a capability', []),
    ('UIDVALIDITY changes in the SEARCH reply', {'SEARCH': uidvalidity_in('SEARCH')}, {},
     'UIDVALIDITY', []),
    ('UIDVALIDITY changes in a body fetch', {'FETCH-BODY': uidvalidity_in('FETCH-BODY')}, {},
     'UIDVALIDITY', []),
    ('UIDVALIDITY changes in the second batch', {'FETCH-BODY': uidvalidity_in_second_body_fetch()},
     {'batch': 1}, 'UIDVALIDITY', [1]),
    ('UIDs go backwards', {'FETCH-BODY': uids_backwards}, {}, 'backwards', []),
    ('a UID answered twice', {'FETCH-BODY': uid_twice}, {}, 'twice', []),
    ('bodies of messages not asked for', {'FETCH-BODY': not_asked_body}, {'batch': 1},
     'not asked', []),
    ('STARTTLS reply followed by injected data', {'STARTTLS': starttls_injected}, {'tls': True},
     'injection', []),
    ('STARTTLS reply, then injected data', {'STARTTLS': starttls_injected_late}, {'tls': True},
     'TLS', []),
]


def run_case(tmp, i, name, hooks, opts, needle, committed):
    msgs = {uid: mailgen.dsn(100 * i + uid) for uid in (1, 2, 3)}
    db = f'{tmp}/case-{i}.db'
    tls = opts.get('tls', False)
    srv = Server(msgs, hooks, certdir=tmp if tls else None)
    try:
        rc, err, secs = fetch(tmp, srv, db, batch=opts.get('batch', 100), tls=tls)
    finally:
        srv.stop()
    stored = sql(db, 'SELECT count(*) FROM messages') or '0'
    touched = sorted({u for _, uids in srv.acted for u in uids})
    logins = [c for c in srv.commands if ' LOGIN ' in c.upper()]
    check(f'{name}: exit 75 within {DEADLINE_S} s', rc == 75 and secs < DEADLINE_S,
          f'exit {rc} after {secs:.1f} s: {err}')
    needles = needle if isinstance(needle, tuple) else (needle,)
    check(f'{name}: says why', any(n in err for n in needles), err)
    check(f'{name}: committed {committed}', stored == str(len(committed)),
          f'{stored} messages stored')
    check(f'{name}: nothing moved or flagged', touched == [], f'{srv.acted}')
    if tls:
        check(f'{name}: no LOGIN sent', logins == [], f'{logins}')
    # The next run, against a server that behaves, holding the same mail (under the new
    # UIDVALIDITY if it changed): every message stored exactly once, all moved.
    good = Server(srv.messages, uidvalidity=srv.uidvalidity)
    try:
        rc, err, secs = fetch(tmp, good, db)
    finally:
        good.stop()
    rows = sql(db, "SELECT count(*), count(DISTINCT sha256) FROM messages")
    check(f'{name}: next run stores each message once and moves all',
          rc == 0 and rows == '3|3' and good.messages == {} and
          good.acted == [('MOVE', [1, 2, 3])], f'exit {rc} {rows} {good.acted} {err}')


def main():
    if BOUNCED is None:
        print(__doc__)
        return 2
    with tempfile.TemporaryDirectory(prefix='bounced-hostile-imap-') as tmp:
        make_certs(tmp)
        with open(f'{tmp}/password', 'w') as f:
            f.write(PASSWORD + '\n')
        for i, (name, hooks, opts, needle, committed) in enumerate(CASES, 1):
            run_case(tmp, i, name, hooks, opts, needle, committed)
        # Unsolicited FETCH responses with flags only are legal (RFC 3501 7.4.2) and change
        # nothing: the run goes on.
        db = f'{tmp}/unsolicited.db'
        srv = Server({uid: mailgen.dsn(900 + uid) for uid in (1, 2, 3)},
                     {'FETCH-BODY': unsolicited_flags})
        try:
            rc, err, secs = fetch(tmp, srv, db)
        finally:
            srv.stop()
        check('unsolicited flag updates: exit 0, all stored once and moved',
              rc == 0 and sql(db, 'SELECT count(*) FROM messages') == '3' and srv.messages == {},
              f'exit {rc} {srv.acted} {err}')
    total = sum(5 + (1 if c[2].get('tls') else 0) for c in CASES) + 1
    print(f'{total - len(failures)} passed, {len(failures)} failed')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
