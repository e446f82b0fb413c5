"""A scriptable IMAP server for the hostile-server tests (test-hostile.py): plays a small
mailbox well enough for `bounced fetch` (CAPABILITY, STARTTLS, LOGIN, SELECT, UID SEARCH,
UID FETCH of sizes and bodies, LIST, CREATE, SUBSCRIBE, UID MOVE/COPY/STORE/EXPUNGE, LOGOUT)
and lets a test replace its answer to any command, or its greeting, with hostile bytes.

One connection per server, on a loopback port, in a thread. Everything the client asked to
change (moves, flags, expunges) is kept in `acted` as (command, [uids]), and every command line
in `commands`, so a test can say what was touched.
"""
import re
import socket
import ssl
import threading
import time

# A hostile answer never goes on for ever: a stall or an endless stream stops after this long
# (well past the account timeout the tests give bounced).
STALL_MAX_S = 60
# An endless stream stops after this many bytes (past every budget bounced applies).
STREAM_MAX_BYTES = 96 * 1024 * 1024


def parse_set(s):
    """UIDs of an IMAP set such as '1:3,7' ('*' taken as a very large number)."""
    out = []
    for part in s.split(','):
        a, _, b = part.partition(':')
        lo = int(a) if a != '*' else 1 << 31
        hi = (int(b) if b != '*' else 1 << 31) if b else lo
        if lo > hi:
            lo, hi = hi, lo
        out.extend(range(lo, min(hi, lo + 100000) + 1))
    return out


class Server:
    """messages: {uid: bytes}. hooks: {name: fn(server, conn, tag, args) -> bool}, where name
    is a command word ('SELECT', 'SEARCH', 'FETCH-SIZE', 'FETCH-BODY', 'MOVE', 'STARTTLS', ...)
    or 'GREETING'; a hook that returns True answered in full (the session goes on), False
    ends the session. certdir: srv.pem and srv.key for STARTTLS (offered only then)."""

    def __init__(self, messages, hooks=None, uidvalidity=7, certdir=None, caps='MOVE UIDPLUS'):
        self.messages = dict(messages)
        self.hooks = hooks or {}
        self.uidvalidity = uidvalidity
        self.caps = caps
        self.ctx = None
        if certdir is not None:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(f'{certdir}/srv.pem', f'{certdir}/srv.key')
        self.commands = []
        self.acted = []
        self.folders = {}
        self.flags = {uid: set() for uid in self.messages}
        self.closed = threading.Event()
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def url(self, user='bounces', mailbox='INBOX'):
        return f'imap://{user}@localhost:{self.port}/{mailbox}'

    def stop(self):
        self.closed.set()
        self.sock.close()
        self.thread.join(timeout=STALL_MAX_S + 5)

    # -- helpers for hooks --
    def send(self, conn, data):
        conn.sendall(data if isinstance(data, bytes) else data.encode())

    def stall(self):
        """Waits (bounded) until the test is over: a server that went quiet."""
        self.closed.wait(STALL_MAX_S)

    def stream(self, conn, chunk):
        """Sends chunk again and again until the client goes or STREAM_MAX_BYTES."""
        sent = 0
        t0 = time.monotonic()
        try:
            while sent < STREAM_MAX_BYTES and time.monotonic() - t0 < STALL_MAX_S and \
                    not self.closed.is_set():
                conn.sendall(chunk)
                sent += len(chunk)
        except OSError:
            pass

    def body_fetch(self, uids, seqs=None):
        """The FETCH responses a good server gives for UID FETCH uids (BODY.PEEK[])."""
        order = sorted(self.messages)
        out = b''
        for uid in uids:
            if uid in self.messages:
                seq = seqs[uid] if seqs else order.index(uid) + 1
                body = self.messages[uid]
                out += b'* %d FETCH (UID %d BODY[] {%d}\r\n%s)\r\n' % (seq, uid, len(body), body)
        return out

    # -- the session --
    def _serve(self):
        try:
            self.sock.settimeout(STALL_MAX_S)
            conn, _ = self.sock.accept()
            conn.settimeout(STALL_MAX_S)
        except OSError:
            return
        try:
            self._session(conn)
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def _readline(self, f):
        line = f.readline(65536)
        return line.decode(errors='replace').rstrip('\r\n') if line else None

    def _session(self, conn):
        if 'GREETING' in self.hooks:
            if not self.hooks['GREETING'](self, conn, None, None):
                return
        else:
            self.send(conn, '* OK [CAPABILITY IMAP4rev1] hostile test server ready\r\n')
        f = conn.makefile('rb', buffering=0)
        tls = False
        while not self.closed.is_set():
            line = self._readline(f)
            if line is None:
                return
            self.commands.append(line)
            tag, _, rest = line.partition(' ')
            word, _, args = rest.partition(' ')
            word = word.upper()
            if word == 'UID':
                word, _, args = args.partition(' ')
                word = word.upper()
                if word == 'FETCH':
                    word = 'FETCH-SIZE' if 'RFC822.SIZE' in args.upper() else 'FETCH-BODY'
            hook = self.hooks.get(word)
            if hook is not None:
                if hook(self, conn, tag, args):
                    continue
                return
            if word == 'STARTTLS' and self.ctx is not None and not tls:
                self.send(conn, f'{tag} OK begin TLS\r\n')
                conn = self.ctx.wrap_socket(conn, server_side=True)
                f = conn.makefile('rb', buffering=0)
                tls = True
                continue
            if word == 'LOGOUT':
                self.send(conn, f'* BYE bye\r\n{tag} OK logged out\r\n')
                return
            self.send(conn, self._answer(word, args) + f'{tag} OK done\r\n'.encode())

    def _answer(self, word, args):
        if word == 'CAPABILITY':
            st = ' STARTTLS' if self.ctx is not None else ''
            return f'* CAPABILITY IMAP4rev1{st} {self.caps}\r\n'.encode()
        if word == 'SELECT':
            return (f'* {len(self.messages)} EXISTS\r\n* 0 RECENT\r\n'
                    f'* OK [UIDVALIDITY {self.uidvalidity}] UIDs valid\r\n'
                    '* FLAGS (\\Seen \\Deleted)\r\n'
                    '* OK [PERMANENTFLAGS (\\Seen \\Deleted \\*)] flags\r\n').encode()
        if word == 'SEARCH':
            pending = [u for u in sorted(self.messages)
                       if '\\Deleted' not in self.flags[u] and '$BouncedDone' not in self.flags[u]]
            return ('* SEARCH' + ''.join(f' {u}' for u in pending) + '\r\n').encode()
        if word == 'FETCH-SIZE':
            order = sorted(self.messages)
            uids = parse_set(args.split(' ', 1)[0])
            return b''.join(b'* %d FETCH (UID %d RFC822.SIZE %d)\r\n'
                            % (order.index(u) + 1, u, len(self.messages[u]))
                            for u in uids if u in self.messages)
        if word == 'FETCH-BODY':
            return self.body_fetch(parse_set(args.split(' ', 1)[0]))
        if word == 'LIST':
            m = re.match(r'"[^"]*" (.*)$', args)
            name = m.group(1) if m else '""'
            if name == '""':
                return b'* LIST (\\Noselect) "." ""\r\n'
            return (f'* LIST () "." {name}\r\n' if name.strip('"') in self.folders or
                    name.strip('"') == 'INBOX' else '').encode()
        if word == 'CREATE':
            self.folders.setdefault(args.strip('"'), [])
            return b''
        if word in ('MOVE', 'COPY'):
            uidset, _, folder = args.partition(' ')
            uids = [u for u in parse_set(uidset) if u in self.messages]
            self.acted.append((word, uids))
            self.folders.setdefault(folder.strip('"'), []).extend(self.messages[u] for u in uids)
            if word == 'MOVE':
                for u in uids:
                    del self.messages[u]
            return b''
        if word == 'STORE':
            uidset, _, what = args.partition(' ')
            uids = [u for u in parse_set(uidset) if u in self.messages]
            self.acted.append(('STORE', uids))
            for u in uids:
                self.flags[u].update(re.findall(r'[\\$]?\w+', what.split('(', 1)[-1]))
            return b''
        if word == 'EXPUNGE':
            uids = [u for u in parse_set(args.split(' ', 1)[0]) if u in self.messages
                    and '\\Deleted' in self.flags[u]]
            self.acted.append(('EXPUNGE', uids))
            for u in uids:
                del self.messages[u]
            return b''
        return b''
