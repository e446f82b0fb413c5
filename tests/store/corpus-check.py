#!/usr/bin/env python3
"""The policy's figures, against the shared corpus (not in the tree, so not a meson test):
ingesting it suppresses every hard address as hard and every complaint as complaint, none of the
soft one-offs, and ingesting it again changes nothing.

usage: corpus-check.py BOUNCED CORPUS_EML_DIR EXPECTED.json [-v]

Each mismatch is put down to the parsers (what `bounced parse` says about the address already
differs from expected.json) or to the store (the parse agrees, the suppression does not). The
exit status is 1 only for store mismatches or a second ingest that changed something.
"""
import collections
import json
import os
import sqlite3
import subprocess
import sys
import tempfile

args = [a for a in sys.argv[1:] if a != '-v']
verbose = '-v' in sys.argv
BOUNCED, EML, EXPECTED = args


def klass(e):  # as ../shared/tools/score.py reads expected.json
    if e['reason'] == 'feedback':
        return 'complaint'
    if e['reason'] == 'vacation':
        return 'autoreply'
    if e['reason'] == 'delivered':
        return 'none'
    return 'hard' if e['hardbounce'] else 'soft'


expected = json.load(open(EXPECTED))
want_classes = collections.defaultdict(set)
placeholders = 0
for name, rows in expected.items():
    for e in rows:
        a = e['recipient'].lower()
        if a.endswith('.invalid'):
            placeholders += 1  # the reference parser's stand-in for a redacted address
            continue
        want_classes[a].add(klass(e))


def wanted(classes):
    """The suppression types acceptable for an address seen with these classes."""
    perm = classes & {'hard', 'complaint'}
    return perm if perm else {None}


# What the parsers say, per address: [(source, class)].
parsed = collections.defaultdict(list)
out = subprocess.run([BOUNCED, 'parse', EML], capture_output=True, check=False).stdout
for line in out.decode('utf-8', 'replace').splitlines():
    o = json.loads(line)
    for r in o.get('recipients') or []:
        parsed[r['address'].lower()].append((o['source'], r['class']))


def snapshot(db):
    con = sqlite3.connect(db)
    snap = {t: con.execute(f'SELECT * FROM {t} ORDER BY 1').fetchall()
            for t in ('messages', 'events', 'suppressions', 'soft_scores')}
    con.close()
    return snap


with tempfile.TemporaryDirectory() as tmp:
    db = os.path.join(tmp, 'corpus.db')
    subprocess.run([BOUNCED, 'db', 'migrate', '--db', db], check=True, capture_output=True)
    first = subprocess.run([BOUNCED, 'ingest', '--db', db, EML], capture_output=True)
    print('first ingest: ', first.stdout.decode().strip(), f'(exit {first.returncode})')
    snap1 = snapshot(db)
    again = subprocess.run([BOUNCED, 'ingest', '--db', db, EML], capture_output=True)
    print('second ingest:', again.stdout.decode().strip(), f'(exit {again.returncode})')
    unchanged = snapshot(db) == snap1
    con = sqlite3.connect(db)
    suppressed = dict(con.execute('SELECT address, type FROM suppressed'))
    # An mbox-looking file is read as mbox: its messages are "FILE:N". parse names them alike.
    stored = {r[0] for r in con.execute('SELECT source FROM messages')}
    by_type = collections.Counter(suppressed.values())
    con.close()

store_miss, parse_miss, dup_miss, ok = [], [], [], collections.Counter()
addresses = set(want_classes) | {a.lower() for a in suppressed}
lower_supp = {a.lower(): t for a, t in suppressed.items()}
for a in sorted(addresses):
    want = wanted(want_classes.get(a, {'none'}))
    got = lower_supp.get(a)
    if got in want:
        ok['hard' if 'hard' in want and got else got or 'not suppressed'] += 1
        continue
    # Would the policy, given what the parsers said, have produced `want`? Files the store
    # counted as the same message as another (same Message-ID and recipients) do not count.
    p_all = {c for _, c in parsed.get(a, [])}
    p_kept = {c for src, c in parsed.get(a, []) if src in stored}
    line = (f'{a}: suppressed as {got or "nothing"}, want {"/".join(sorted(map(str, want)))}; '
            f'expected classes {sorted(want_classes.get(a, {"none"}))}, parser said {sorted(p_all) or "nothing"}')
    if a in parsed and wanted(p_kept & {'hard', 'complaint'}) == want:
        store_miss.append(line)
    elif a in parsed and wanted(p_all & {'hard', 'complaint'}) == want:
        dup_miss.append(line + ' (the file that says so repeats the Message-ID and recipients of another)')
    else:
        parse_miss.append(line)

print(f'addresses: {len(want_classes)} in expected.json (+{placeholders} placeholder rows skipped); '
      f'suppressed: {dict(by_type)}')
print(f'as expected: {dict(ok)}')
print(f'mismatches from parsing: {len(parse_miss)}; corpus files that are the same message '
      f'(Message-ID + recipients) but read differently: {len(dup_miss)}; from the store: '
      f'{len(store_miss)}; second ingest changed nothing: {unchanged}')
for line in store_miss:
    print('  STORE', line)
for line in dup_miss:
    print('  same-message', line)
if verbose:
    for line in parse_miss:
        print('  parse', line)
sys.exit(0 if unchanged and not store_miss else 1)
