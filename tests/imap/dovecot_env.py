"""A throw-away Dovecot for the IMAP tests and the benchmark.

Makes a test CA and a server certificate for 'localhost' with openssl (Debian package
'openssl'), writes a dovecot.conf into a scratch directory (base_dir, state_dir, log_path,
passwd-file user, Maildir storage, ssl=required) and runs `dovecot -c CONF -F` on two free
loopback ports: implicit TLS (imaps) and STARTTLS (imap).
"""
import imaplib
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time

USER = 'bounces'
PASSWORD = 'test-secret-1'


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run(*cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def make_certs(d):
    """CA (ca.pem) and a server certificate for DNS:localhost only (srv.pem, srv.key)."""
    ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']
    run('openssl', 'req', '-x509', *ec, '-keyout', f'{d}/ca.key', '-out', f'{d}/ca.pem',
        '-days', '2', '-subj', '/CN=bounced test CA')
    run('openssl', 'req', *ec, '-keyout', f'{d}/srv.key', '-out', f'{d}/srv.csr',
        '-subj', '/CN=localhost')
    with open(f'{d}/ext', 'w') as f:
        f.write('subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n'
                'keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n')
    run('openssl', 'x509', '-req', '-in', f'{d}/srv.csr', '-CA', f'{d}/ca.pem',
        '-CAkey', f'{d}/ca.key', '-CAcreateserial', '-days', '2', '-extfile', f'{d}/ext',
        '-out', f'{d}/srv.pem')


class Dovecot:
    def __init__(self, tls=True):
        self.tls = tls		# False: no TLS at all, plain-text login allowed
        self.dir = tempfile.mkdtemp(prefix='bounced-imap-')
        os.chmod(self.dir, 0o755)	# the mail user (not root) walks into it
        self.imaps_port = free_port()
        self.imap_port = free_port()
        self.proc = None
        if os.geteuid() == 0:
            self.uid = self.gid = 65534	# Dovecot refuses mail access as root
        else:
            self.uid, self.gid = os.getuid(), os.getgid()
        self.home = f'{self.dir}/mail/{USER}'
        self.maildir = f'{self.home}/Maildir'

    def conf(self):
        d = self.dir
        extra = ''
        if os.geteuid() != 0:
            me = pwd.getpwuid(os.getuid()).pw_name
            extra = f'default_internal_user = {me}\ndefault_login_user = {me}\n'
        if self.tls:
            ssl_conf = f"""ssl = required
ssl_cert = <{d}/srv.pem
ssl_key = <{d}/srv.key
disable_plaintext_auth = yes
"""
            imaps = f"""  inet_listener imaps {{
    port = {self.imaps_port}
    ssl = yes
  }}
"""
        else:
            ssl_conf = 'ssl = no\ndisable_plaintext_auth = no\n'
            imaps = ''
        return f"""{extra}base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
instance_name = bounced-test-{os.getpid()}
protocols = imap
listen = 127.0.0.1
{ssl_conf}auth_mechanisms = plain login
auth_failure_delay = 0
first_valid_uid = 1
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = {d}/passwd
}}
userdb {{
  driver = passwd-file
  args = {d}/passwd
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {self.imap_port}
  }}
{imaps}}}
service anvil {{
  chroot =
}}
service stats {{
  inet_listener http {{
    port = 0
  }}
}}
"""

    def start(self):
        d = self.dir
        make_certs(d)
        for sub in ('run', 'state', 'mail'):
            os.makedirs(f'{d}/{sub}', exist_ok=True)
        os.makedirs(self.maildir, exist_ok=True)
        for sub in ('cur', 'new', 'tmp'):
            os.makedirs(f'{self.maildir}/{sub}', exist_ok=True)
        if os.geteuid() == 0:
            for root, dirs, _ in os.walk(f'{d}/mail'):
                os.chown(root, self.uid, self.gid)
                for x in dirs:
                    os.chown(os.path.join(root, x), self.uid, self.gid)
        with open(f'{d}/passwd', 'w') as f:
            f.write(f'{USER}:{{PLAIN}}{PASSWORD}:{self.uid}:{self.gid}::{self.home}\n')
        with open(f'{d}/password', 'w') as f:
            f.write(PASSWORD + '\n')
        os.chmod(f'{d}/password', 0o600)
        with open(f'{d}/dovecot.conf', 'w') as f:
            f.write(self.conf())
        self.proc = subprocess.Popen(['dovecot', '-c', f'{d}/dovecot.conf', '-F'],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                if self.tls:
                    socket.create_connection(('127.0.0.1', self.imaps_port), 0.5).close()
                socket.create_connection(('127.0.0.1', self.imap_port), 0.5).close()
                return self
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.1)
        raise RuntimeError('dovecot did not start:\n' + self.log())

    def log(self):
        try:
            with open(f'{self.dir}/dovecot.log', errors='replace') as f:
                return f.read()
        except OSError:
            return ''

    def stop(self, keep=False):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, host='localhost', starttls=False, mailbox='INBOX'):
        if starttls:
            return f'imap://{USER}@{host}:{self.imap_port}/{mailbox}'
        return f'imaps://{USER}@{host}:{self.imaps_port}/{mailbox}'

    def client(self):
        if self.tls:
            ctx = ssl.create_default_context(cafile=f'{self.dir}/ca.pem')
            m = imaplib.IMAP4_SSL('localhost', self.imaps_port, ssl_context=ctx)
        else:
            m = imaplib.IMAP4('localhost', self.imap_port)
        m.login(USER, PASSWORD)
        return m

    def append(self, messages, mailbox='INBOX'):
        m = self.client()
        for msg in messages:
            typ, data = m.append(mailbox, None, None, msg)
            assert typ == 'OK', data
        m.logout()

    def write_maildir(self, messages):
        """Drops messages straight into Maildir/new (fast, for the benchmark)."""
        host = socket.gethostname()
        now = int(time.time())
        for i, msg in enumerate(messages):
            p = f'{self.maildir}/new/{now}.M{i}P{os.getpid()}.{host}'
            with open(p, 'wb') as f:
                f.write(msg)
            if os.geteuid() == 0:
                os.chown(p, self.uid, self.gid)

    def count(self, mailbox, criteria='ALL'):
        """Messages in mailbox matching criteria; None when the mailbox does not exist."""
        m = self.client()
        try:
            typ, _ = m.select('"' + mailbox + '"')
            if typ != 'OK':
                return None
            typ, data = m.search(None, criteria)
            return len(data[0].split())
        finally:
            m.logout()
