#!/usr/bin/env python3
"""Benchmark of `bounced fetch`: N messages (default 10,000) in a loopback Dovecot over
imaps, fetched, parsed, recorded and moved. Prints the figures.

usage: imap-bench.py BOUNCED [N] [BATCH]"""
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'imap'))
from dovecot_env import Dovecot  # noqa: E402
import mailgen  # noqa: E402


def main():
    bounced = os.path.abspath(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    msgs = []
    for i in range(n):
        k = i % 20
        msgs.append(mailgen.arf(i) if k == 0 else mailgen.human(i) if k == 1 else
                    mailgen.dsn(i, '4.2.2', '452', 'Mailbox full') if k == 2 else
                    mailgen.dsn(i))
    dv = Dovecot().start()
    try:
        dv.write_maildir(msgs)
        t = time.time()
        assert dv.count('INBOX') == n	# lets Dovecot index the new mail before timing us
        index_s = time.time() - t
        db = f'{dv.dir}/bench.db'
        conf = f'{dv.dir}/bounced.conf'
        with open(conf, 'w') as f:
            f.write(f"""[store]
db = {db}

[imap bench]
url = {dv.url()}
password_file = {dv.dir}/password
tls_ca = {dv.dir}/ca.pem
batch = {batch}
""")
        t = time.time()
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        p = subprocess.run([bounced, 'fetch', '--config', conf, '--verbose'],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        secs = time.time() - t
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
        err = p.stderr.decode(errors='replace').strip()
        rows = subprocess.run(['sqlite3', db, 'SELECT count(*) FROM messages'],
                              stdout=subprocess.PIPE).stdout.decode().strip()
        size = sum(len(m) for m in msgs)
        print(f'imap fetch: {n} messages ({size / n:.0f} bytes average), batch {batch}')
        print(f'  exit {p.returncode}; {err}')
        print(f'  recorded {rows}; left in INBOX {dv.count("INBOX")}')
        print(f'  {secs:.2f} s wall, {n / secs:.0f} messages/s '
              f'(Dovecot indexing beforehand: {index_s:.2f} s, not counted)')
        print(f'  bounced CPU {cpu:.2f} s ({n / cpu:.0f} messages per CPU second); '
              f'load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs')
        return 0 if p.returncode == 0 and rows == str(n) else 1
    finally:
        dv.stop()


if __name__ == '__main__':
    sys.exit(main())
