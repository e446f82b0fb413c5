"""Shared pieces of the webhook integration tests: keys and certificates made with openssl in a
scratch directory, each provider's signature computed as the provider does (openssl for RSA and
ECDSA, hmac for Mailgun), an HTTPS server on loopback with its own test CA (the SNS signing
certificate and the SubscribeURL), a real `bounced serve`, and HTTP clients: Python's
http.client and curl. No mocks: every program is the real one."""
import base64
import hashlib
import hmac
import http.client
import http.server
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

SKIP = 77
TOPIC = "arn:aws:sns:us-east-1:123456789012:bounces"


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def check(cond, msg, detail=None):
    if not cond:
        fail(msg if detail is None else msg + "\n" + str(detail))
    print("ok: " + msg, flush=True)


def run(*args, data=None):
    p = subprocess.run(list(args), input=data, capture_output=True, timeout=60)
    if p.returncode != 0:
        fail("%s: %s" % (" ".join(args), p.stderr.decode(errors="replace")))
    return p.stdout


class Keys:
    """Every key, certificate and secret file of a test run, made in directory d."""

    def __init__(self, d):
        self.d = d
        p = lambda n: os.path.join(d, n)
        self.path = p
        # The test CA and the HTTPS server's certificate for localhost.
        run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
            "/CN=bounced test CA", "-keyout", p("ca.key"), "-out", p("ca.pem"))
        run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
            "-keyout", p("https.key"), "-out", p("https.csr"))
        with open(p("san.ext"), "w") as f:
            f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
        run("openssl", "x509", "-req", "-in", p("https.csr"), "-CA", p("ca.pem"), "-CAkey",
            p("ca.key"), "-CAcreateserial", "-days", "2", "-extfile", p("san.ext"), "-out",
            p("https.pem"))
        # SNS's signing certificate (self-signed, as SNS's own is checked only by where it
        # comes from) and another one bounced must not accept signatures of.
        for n in ("sns", "sns-other"):
            run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                "/CN=sns.amazonaws.com", "-keyout", p(n + ".key"), "-out", p(n + ".pem"))
        # SendGrid's ECDSA P-256 key, the public half as base64 DER (as SendGrid shows it).
        for n in ("sendgrid", "sendgrid-other"):
            run("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out",
                p(n + ".key"))
        der = run("openssl", "ec", "-in", p("sendgrid.key"), "-pubout", "-outform", "DER")
        self.write("sendgrid.pub", base64.b64encode(der).decode() + "\n")
        # Postal's RSA key, the public half as base64 DER.
        for n in ("postal", "postal-other"):
            run("openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                "-out", p(n + ".key"))
        der = run("openssl", "pkey", "-in", p("postal.key"), "-pubout", "-outform", "DER")
        self.write("postal.pub", base64.b64encode(der).decode() + "\n")
        self.mailgun_key = "key-" + hashlib.sha256(os.urandom(16)).hexdigest()[:32]
        self.write("mailgun.key", self.mailgun_key + "\n")
        for n, v in (("postmark.pw", "pm-pass"), ("sparkpost.pw", "sp-pass"),
                     ("mailjet.pw", "mj-pass"), ("brevo.token", "brevo-token")):
            self.write(n, v + "\n")

    def write(self, name, text):
        with open(self.path(name), "w") as f:
            f.write(text)
        os.chmod(self.path(name), 0o600)

    def sign(self, key, data, digest="sha256"):
        """base64 of openssl's signature of data (bytes) with key (RSA PKCS#1 v1.5 or ECDSA DER)."""
        sig = run("openssl", "dgst", "-" + digest, "-sign", self.path(key + ".key"), data=data)
        return base64.b64encode(sig).decode()


class HTTPSServer:
    """The stand-in for sns.REGION.amazonaws.com on loopback: serves the signing certificates
    and answers SubscribeURL, with a certificate of the test CA. Counts what it was asked."""

    def __init__(self, keys):
        self.requests = []
        files = {"/SimpleNotificationService-test.pem": keys.path("sns.pem"),
                 "/SimpleNotificationService-other.pem": keys.path("sns-other.pem")}
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests.append(self.path)
                path = self.path.split("?")[0]
                if path in files:
                    with open(files[path], "rb") as f:
                        body = f.read()
                elif path == "/" and "Action=ConfirmSubscription" in self.path:
                    body = b"<ConfirmSubscriptionResponse/>"
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(keys.path("https.pem"), keys.path("https.key"))
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.base = "https://localhost:%d" % self.port
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


class Bounced:
    """`bounced serve` with an HTTP listener on a unix socket (and an LMTP one)."""

    def __init__(self, exe, d, config, tcp_port=None):
        self.exe, self.dir = exe, d
        os.makedirs(d, exist_ok=True)
        self.http = os.path.join(d, "http.sock")
        self.db = os.path.join(d, "bounced.db")
        self.log = os.path.join(d, "bounced.log")
        self.conf = os.path.join(d, "bounced.conf")
        self.tcp_port = tcp_port
        with open(self.conf, "w") as f:
            f.write(config)
        self.proc = None

    def start(self):
        args = [self.exe, "serve", "--config", self.conf, "--db", self.db, "--listen",
                "unix:" + os.path.join(self.dir, "lmtp.sock"), "--listen", "http:unix:" + self.http]
        if self.tcp_port:
            args += ["--listen", "http:127.0.0.1:%d" % self.tcp_port]
        with open(self.log, "a") as logf:
            self.proc = subprocess.Popen(args, cwd=self.dir, stdout=logf, stderr=logf)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                fail("bounced serve exited with %d at start:\n%s" % (self.proc.returncode,
                                                                        self.read_log()))
            try:
                c = UnixHTTPConnection(self.http, timeout=5)
                c.request("GET", "/")
                c.getresponse().read()
                c.close()
                return
            except OSError:
                time.sleep(0.05)
        self.proc.kill()
        fail("bounced serve did not open %s:\n%s" % (self.http, self.read_log()))

    def stop(self):
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            fail("bounced serve did not stop within 30 s of SIGTERM")
        self.proc = None
        check(rc == 0, "bounced serve exits 0 after SIGTERM (got %d)" % rc)

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None

    def read_log(self):
        try:
            with open(self.log) as f:
                return f.read()
        except OSError:
            return ""

    def post(self, path, body, headers=None, timeout=30):
        """POST with Python's http.client; returns (status, parsed JSON or text)."""
        c = UnixHTTPConnection(self.http, timeout=timeout)
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        c.request("POST", path, body=body if isinstance(body, bytes) else body.encode(),
                  headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        try:
            return r.status, json.loads(data)
        except ValueError:
            return r.status, data.decode(errors="replace")

    def curl(self, path, body, headers=(), user=None):
        """POST with curl; returns (status, parsed JSON or text)."""
        args = ["curl", "-sS", "--unix-socket", self.http, "-o", "-", "-w", "\n%{http_code}",
                "-H", "Content-Type: application/json", "--data-binary", "@-"]
        for h in headers:
            args += ["-H", h]
        if user:
            args += ["-u", user]
        p = subprocess.run(args + ["http://localhost" + path], input=body.encode(),
                           capture_output=True, timeout=60)
        out = p.stdout.decode(errors="replace")
        text, _, code = out.rpartition("\n")
        try:
            return int(code), json.loads(text)
        except ValueError:
            return int(code) if code.isdigit() else 0, text

    def sql(self, query):
        out = subprocess.run(["sqlite3", "-readonly", "-separator", "|", self.db, query],
                             capture_output=True, text=True, timeout=30)
        if out.returncode != 0:
            fail("sqlite3 %r: %s" % (query, out.stderr))
        return [line.split("|") for line in out.stdout.splitlines()]


# ---- payloads shaped as each provider documents them, and their signatures ----

def sns_string_to_sign(m):
    if m["Type"] == "Notification":
        names = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
    else:
        names = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
    return "".join("%s\n%s\n" % (n, m[n]) for n in names if n in m).encode()


def sns_message(keys, https, inner, msg_id, topic=TOPIC, version="2", cert="test", key="sns",
                cert_url=None, type_="Notification", extra=None):
    """An SNS message carrying inner (the SES notification, a dict), signed as SNS signs."""
    m = {"Type": type_, "MessageId": msg_id, "TopicArn": topic,
         "Message": json.dumps(inner) if isinstance(inner, dict) else inner,
         "Timestamp": "2026-12-06T12:00:00.000Z", "SignatureVersion": version,
         "SigningCertURL": cert_url or "%s/SimpleNotificationService-%s.pem" % (https.base, cert)}
    if extra:
        m.update(extra)
    m["Signature"] = keys.sign(key, sns_string_to_sign(m), "sha1" if version == "1" else "sha256")
    return json.dumps(m)


def ses_bounce(address, diag="smtp; 550 5.1.1 user unknown", btype="Permanent", sub="General"):
    return {"notificationType": "Bounce",
            "bounce": {"bounceType": btype, "bounceSubType": sub,
                       "bouncedRecipients": [{"emailAddress": address, "action": "failed",
                                              "status": "5.1.1", "diagnosticCode": diag}],
                       "timestamp": "2026-12-06T11:59:58.000Z",
                       "feedbackId": "0100018c-test", "reportingMTA": "dsn; a8-70.smtp-out.amazonses.com"},
            "mail": {"timestamp": "2026-12-06T11:59:50.000Z", "source": "app@sender.test",
                     "messageId": "0100018c-mail", "destination": [address],
                     "commonHeaders": {"messageId": "<orig-1@sender.test>", "subject": "Hello"}}}


def sendgrid_headers(keys, body, ts=None, key="sendgrid"):
    ts = str(int(time.time())) if ts is None else str(ts)
    sig = keys.sign(key, ts.encode() + body.encode())
    return {"X-Twilio-Email-Event-Webhook-Signature": sig,
            "X-Twilio-Email-Event-Webhook-Timestamp": ts}


def mailgun_body(keys, event_data, token=None, ts=None, key=None):
    ts = str(int(time.time())) if ts is None else str(ts)
    token = token or hashlib.sha256(os.urandom(16)).hexdigest()[:50]
    mac = hmac.new((key or keys.mailgun_key).encode(), (ts + token).encode(),
                   hashlib.sha256).hexdigest()
    return json.dumps({"signature": {"timestamp": ts, "token": token, "signature": mac},
                       "event-data": event_data})


def scratch(name):
    return tempfile.mkdtemp(prefix="wh-test-%s-" % name)
