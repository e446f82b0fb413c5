"""Suite webhooks: every provider through the real `bounced serve`, with real HTTP clients
(Python's http.client and curl), keys made here with openssl, and an HTTPS server on loopback
with its own CA standing in for SNS. Accepted events are checked in the database (class,
reason, address, source); refused requests leave nothing."""
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from whtest import (TOPIC, Bounced, HTTPSServer, Keys, check, fail, mailgun_body, scratch,  # noqa
                    sendgrid_headers, ses_bounce, sns_message)

EXE = os.path.abspath(sys.argv[1])


def config(d, https_ca, extra=""):
    k = lambda n: os.path.join(d, n)
    return """[store]
busy_timeout_ms = 300
[http]
max_body_kb = 64
[webhook ses]
topic_arn = %(topic)s
topic_arn = arn:aws:sns:eu-west-1:123456789012:other
cert_host = localhost
tls_ca = %(ca)s
[webhook sendgrid]
public_key_file = %(sg)s
[webhook postmark]
user = pm
password_file = %(pm)s
[webhook mailgun]
signing_key_file = %(mg)s
[webhook sparkpost]
user = sp
password_file = %(sp)s
[webhook brevo]
token_file = %(brevo)s
[webhook mailjet]
user = mj
password_file = %(mj)s
[webhook postal]
public_key_file = %(postal)s
""" % {"topic": TOPIC, "ca": https_ca, "sg": k("sendgrid.pub"), "pm": k("postmark.pw"),
       "mg": k("mailgun.key"), "sp": k("sparkpost.pw"), "brevo": k("brevo.token"),
       "mj": k("mailjet.pw"), "postal": k("postal.pub")} + extra


def events_of(b, address):
    return b.sql("SELECT e.class, e.reason, e.blame, m.source FROM events e JOIN messages m "
                 "ON m.id = e.message WHERE e.address = '%s' ORDER BY e.id" % address)


def count(b):
    return int(b.sql("SELECT count(*) FROM messages")[0][0])


def refused(b, what, status, want, post):
    """post() must answer want and store nothing."""
    before = count(b)
    st, body = post()
    check(st == want and count(b) == before, "%s: answered %d, nothing stored" % (what, want),
          (st, body, b.read_log()[-2000:]))


def test_providers(b, keys, https):
    # ---- Amazon SES through SNS ----
    body = sns_message(keys, https, ses_bounce("jane@example.com"), "sns-msg-1")
    st, r = b.post("/webhooks/ses", body)
    check(st == 200 and r["stored"] == 1, "ses: a signed Bounce notification is stored", (st, r))
    check(events_of(b, "jane@example.com") == [["hard", "user_unknown", "recipient", "webhook:ses"]],
          "ses: jane@example.com hard user_unknown from webhook:ses", events_of(b, "jane@example.com"))
    check("status 5.1.1" in r["events"][0]["recipients"][0]["evidence"],
          "ses: the evidence names what decided", r)
    raw = b.sql("SELECT CAST(raw AS TEXT) = CAST(%s AS TEXT), event_key FROM messages WHERE "
                "event_key = 'ses:sns-msg-1'" % ("x'" + body.encode().hex() + "'"))
    check(raw == [["1", "ses:sns-msg-1"]], "ses: the raw SNS body is kept with its key", raw)
    # Read again from what was kept, as schema/README.md shows: bounced parse --webhook.
    out = os.path.join(b.dir, "event.json")
    b.sql("SELECT writefile('%s', raw) FROM messages WHERE event_key = 'ses:sns-msg-1'" % out)
    p = subprocess.run([EXE, "parse", "--explain", "--webhook", "ses", out], capture_output=True,
                       text=True, timeout=60)
    parsed = json.loads(p.stdout) if p.returncode == 0 and p.stdout.count("\n") == 1 else {}
    rc = (parsed.get("recipients") or [{}])[0]
    check(parsed.get("source") == out + "#ses:sns-msg-1" and rc.get("address") == "jane@example.com"
          and rc.get("class") == "hard" and "bounceType/bounceSubType=Permanent/General" in
          rc.get("evidence", ""), "ses: bounced parse --webhook ses reads the kept body again",
          (p.returncode, p.stdout, p.stderr))
    # SignatureVersion 1 (SHA1withRSA), a complaint, through curl.
    body = sns_message(keys, https, {"notificationType": "Complaint", "complaint": {
        "complainedRecipients": [{"emailAddress": "carl@example.com"}],
        "complaintFeedbackType": "abuse", "timestamp": "2026-12-06T12:00:00Z",
        "feedbackId": "fb-1"}, "mail": {"messageId": "m"}}, "sns-msg-2", version="1")
    st, r = b.curl("/webhooks/ses", body)
    check(st == 200 and events_of(b, "carl@example.com") ==
          [["complaint", "complaint", "recipient", "webhook:ses"]],
          "ses: a SignatureVersion 1 Complaint is a complaint", (st, r))
    # Event publishing's eventType form, a Delivery (class none), a soft bounce.
    body = sns_message(keys, https, {"eventType": "Delivery", "delivery": {
        "recipients": ["dora@example.com"], "smtpResponse": "250 2.0.0 OK"}, "mail": {}},
        "sns-msg-3")
    st, r = b.post("/webhooks/ses", body)
    check(st == 200 and events_of(b, "dora@example.com") ==
          [["none", "delivered", "", "webhook:ses"]], "ses: eventType Delivery is class none",
          (st, r, events_of(b, "dora@example.com")))
    body = sns_message(keys, https, ses_bounce("erin@example.com", "smtp; 452 4.2.2 Mailbox full",
                                               "Transient", "MailboxFull"), "sns-msg-4")
    st, r = b.post("/webhooks/ses", body)
    check(st == 200 and events_of(b, "erin@example.com") ==
          [["soft", "mailbox_full", "recipient", "webhook:ses"]],
          "ses: Transient/MailboxFull is soft mailbox_full", (st, r))
    # A sender-side block never suppresses.
    body = sns_message(keys, https, ses_bounce(
        "fay@example.com", "smtp; 554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked "
        "using zen.spamhaus.org"), "sns-msg-5")
    st, r = b.post("/webhooks/ses", body)
    sup = b.sql("SELECT count(*) FROM suppressed WHERE address = 'fay@example.com'")
    check(st == 200 and events_of(b, "fay@example.com")[0][1:3] == ["blocked", "sender"] and
          sup == [["0"]], "ses: a block is the sender's: recorded, not suppressed", (st, r, sup))
    # Refusals.
    refused(b, "ses: wrong signature", 403, 403, lambda: b.post("/webhooks/ses", sns_message(
        keys, https, ses_bounce("x1@example.com"), "sns-bad-1", key="sns-other")))
    refused(b, "ses: a signature by another certificate's key", 403, 403, lambda: b.post(
        "/webhooks/ses", sns_message(keys, https, ses_bounce("x2@example.com"), "sns-bad-2",
                                     cert="other")))
    before = len(https.requests)
    refused(b, "ses: certificate URL on another host", 403, 403, lambda: b.post(
        "/webhooks/ses", sns_message(keys, https, ses_bounce("x3@example.com"), "sns-bad-3",
                                     cert_url="https://sns.example.net/SimpleNotificationService-x.pem")))
    refused(b, "ses: certificate URL over http", 403, 403, lambda: b.post(
        "/webhooks/ses", sns_message(keys, https, ses_bounce("x4@example.com"), "sns-bad-4",
                                     cert_url="http://localhost:%d/SimpleNotificationService-test.pem" % https.port)))
    refused(b, "ses: topic not on the allow list", 403, 403, lambda: b.post(
        "/webhooks/ses", sns_message(keys, https, ses_bounce("x5@example.com"), "sns-bad-5",
                                     topic="arn:aws:sns:us-east-1:999999999999:evil")))
    check(len(https.requests) == before, "ses: nothing was fetched for the refused ones",
          https.requests[before:])
    tampered = json.loads(sns_message(keys, https, ses_bounce("x6@example.com"), "sns-bad-6"))
    tampered["Message"] = json.dumps(ses_bounce("victim@example.com"))
    refused(b, "ses: a Message changed after signing", 403, 403,
            lambda: b.post("/webhooks/ses", json.dumps(tampered)))
    refused(b, "ses: not JSON", 400, 400, lambda: b.post("/webhooks/ses", "Type=Notification"))
    dup = '{"Type":"Notification","Type":"Notification"}'
    refused(b, "ses: a duplicated key", 400, 400, lambda: b.post("/webhooks/ses", dup))
    # A subscription to an allowed topic is confirmed by fetching SubscribeURL.
    sub_url = "%s/?Action=ConfirmSubscription&TopicArn=%s&Token=tok-1" % (https.base, TOPIC)
    body = sns_message(keys, https, "You have chosen to subscribe...", "sns-sub-1",
                       type_="SubscriptionConfirmation", extra={"Token": "tok-1",
                                                                 "SubscribeURL": sub_url})
    st, r = b.post("/webhooks/ses", body)
    check(st == 200 and r.get("confirmed") is True and
          any("ConfirmSubscription" in q for q in https.requests),
          "ses: SubscriptionConfirmation fetched SubscribeURL", (st, r, https.requests))
    body = sns_message(keys, https, "...", "sns-sub-2", type_="SubscriptionConfirmation",
                       extra={"Token": "t", "SubscribeURL": "https://evil.example/?Action=x"})
    refused(b, "ses: a SubscribeURL on another host", 403, 403, lambda: b.post("/webhooks/ses", body))

    # ---- SendGrid ----
    ev = [{"email": "gina@example.com", "timestamp": int(time.time()),
           "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>", "event": "bounce",
           "category": "cat facts", "sg_event_id": "6g4ZI7SA-xmRDv57GoPIPw==",
           "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
           "reason": "550 5.1.1 The email account that you tried to reach does not exist.",
           "status": "5.1.1", "type": "bounce", "bounce_classification": "Invalid Address"},
          {"email": "hank@example.com", "timestamp": int(time.time()), "event": "bounce",
           "type": "blocked", "status": "5.0.0", "reason": "550 rejected by reputation",
           "bounce_classification": "Reputation", "sg_event_id": "b2"},
          {"email": "gina@example.com", "timestamp": int(time.time()), "event": "open",
           "sg_event_id": "o1"}]
    body = json.dumps(ev)
    st, r = b.curl("/webhooks/sendgrid", body,
                   ["%s: %s" % kv for kv in sendgrid_headers(keys, body).items()])
    check(st == 200 and r["stored"] == 2 and r["ignored"] == 1,
          "sendgrid: a signed batch: 2 stored, the open ignored", (st, r))
    check(events_of(b, "gina@example.com") == [["hard", "user_unknown", "recipient", "webhook:sendgrid"]]
          and events_of(b, "hank@example.com") == [["soft", "blocked", "sender", "webhook:sendgrid"]],
          "sendgrid: Invalid Address is hard, Reputation the sender's",
          (events_of(b, "gina@example.com"), events_of(b, "hank@example.com")))
    # A retry: SendGrid changes sg_event_id; the event counts once.
    ev[0]["sg_event_id"] = "retried-id"
    body = json.dumps(ev[:1])
    st, r = b.post("/webhooks/sendgrid", body, sendgrid_headers(keys, body))
    check(st == 200 and r["duplicates"] == 1 and len(events_of(b, "gina@example.com")) == 1,
          "sendgrid: a retry with another sg_event_id counts once", (st, r))
    body = json.dumps([dict(ev[0], email="x7@example.com")])
    refused(b, "sendgrid: wrong key", 403, 403, lambda: b.post(
        "/webhooks/sendgrid", body, sendgrid_headers(keys, body, key="sendgrid-other")))
    refused(b, "sendgrid: stale timestamp", 403, 403, lambda: b.post(
        "/webhooks/sendgrid", body, sendgrid_headers(keys, body, ts=int(time.time()) - 3600)))
    h = sendgrid_headers(keys, body)
    refused(b, "sendgrid: body changed after signing", 403, 403, lambda: b.post(
        "/webhooks/sendgrid", body.replace("x7@", "x8@"), h))
    refused(b, "sendgrid: no signature", 401, 401, lambda: b.post("/webhooks/sendgrid", body))

    # ---- Postmark ----
    pm = {"RecordType": "Bounce", "MessageStream": "outbound", "ID": 4323372036854775807,
          "Type": "HardBounce", "TypeCode": 1, "Name": "Hard bounce", "Tag": "Test",
          "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483", "ServerID": 23,
          "Description": "The server was unable to deliver your message (ex: unknown user, "
          "mailbox not found).", "Details": "smtp;550 5.1.1 The email account that you tried to "
          "reach does not exist.", "Email": "ivan@example.com", "From": "sender@example.com",
          "BouncedAt": "2026-12-06T16:33:54.9070259Z", "DumpAvailable": True, "Inactive": True,
          "CanActivate": True, "Subject": "Test subject"}
    st, r = b.curl("/webhooks/postmark", json.dumps(pm), user="pm:pm-pass")
    check(st == 200 and events_of(b, "ivan@example.com") ==
          [["hard", "user_unknown", "recipient", "webhook:postmark"]],
          "postmark: a HardBounce with basic auth is hard user_unknown", (st, r))
    auto = dict(pm, ID=2, Type="AutoResponder", TypeCode=64, Email="judy@example.com",
                Details="I am out of the office")
    st, r = b.curl("/webhooks/postmark", json.dumps(auto), user="pm:pm-pass")
    sup = b.sql("SELECT count(*) FROM suppressed WHERE address = 'judy@example.com'")
    check(st == 200 and events_of(b, "judy@example.com")[0][:2] == ["autoreply", "auto_reply"]
          and sup == [["0"]], "postmark: an AutoResponder never counts", (st, r))
    refused(b, "postmark: wrong password", 401, 401, lambda: b.curl(
        "/webhooks/postmark", json.dumps(dict(pm, ID=9, Email="x9@example.com")),
        user="pm:wrong"))
    refused(b, "postmark: no credentials", 401, 401, lambda: b.curl(
        "/webhooks/postmark", json.dumps(dict(pm, ID=10, Email="x10@example.com"))))

    # ---- Mailgun ----
    ed = {"event": "failed", "id": "G9Bn5sl1TC6nu79C8C0bwg", "timestamp": time.time(),
          "log-level": "error", "severity": "permanent", "reason": "bounce",
          "recipient": "kate@example.com",
          "message": {"headers": {"to": "Kate <kate@example.com>",
                                  "message-id": "20130503192659.13651.20287@example.com",
                                  "from": "Bob <bob@example.com>", "subject": "Test"}},
          "delivery-status": {"attempt-no": 1, "message": "5.1.1 The email account that you "
                              "tried to reach does not exist", "code": 550,
                              "description": "", "session-seconds": 0.1}}
    body = mailgun_body(keys, ed, token="token-kate")
    st, r = b.post("/webhooks/mailgun", body)
    check(st == 200 and events_of(b, "kate@example.com") ==
          [["hard", "user_unknown", "recipient", "webhook:mailgun"]],
          "mailgun: a failed permanent event is hard user_unknown", (st, r))
    st, r = b.post("/webhooks/mailgun", body)
    check(st == 200 and r["duplicates"] == 1, "mailgun: the same request again is a duplicate",
          (st, r))
    replay = json.loads(body)
    replay["event-data"]["recipient"] = "x11@example.com"
    refused(b, "mailgun: a replayed token with another event", 403, 403,
            lambda: b.post("/webhooks/mailgun", json.dumps(replay)))
    refused(b, "mailgun: wrong key", 403, 403, lambda: b.post(
        "/webhooks/mailgun", mailgun_body(keys, dict(ed, recipient="x12@example.com"),
                                          key="key-wrong")))
    refused(b, "mailgun: stale timestamp", 403, 403, lambda: b.post(
        "/webhooks/mailgun", mailgun_body(keys, dict(ed, recipient="x13@example.com"),
                                          ts=int(time.time()) - 3600)))
    refused(b, "mailgun: no signature", 400, 400, lambda: b.post(
        "/webhooks/mailgun", json.dumps({"event-data": ed})))

    # ---- SparkPost, Brevo, Mailjet (credentials), Postal (signature) ----
    sp = [{"msys": {"message_event": {
        "type": "bounce", "bounce_class": "10", "campaign_id": "Example Campaign Name",
        "event_id": "92356927693813856", "friendly_from": "sender@example.com",
        "raw_reason": "550: 5.1.1 The email account that you tried to reach does not exist.",
        "rcpt_to": "liam@example.com", "subject": "Summer deals", "timestamp": "1460989507"}}}]
    st, r = b.curl("/webhooks/sparkpost", json.dumps(sp), user="sp:sp-pass")
    check(st == 200 and events_of(b, "liam@example.com") ==
          [["hard", "user_unknown", "recipient", "webhook:sparkpost"]],
          "sparkpost: bounce_class 10 is hard user_unknown", (st, r))
    refused(b, "sparkpost: wrong password", 401, 401, lambda: b.curl(
        "/webhooks/sparkpost", json.dumps(sp).replace("liam@", "x14@"), user="sp:nope"))
    br = {"event": "soft_bounce", "email": "mona@example.com", "id": 1, "date": "2026-12-06 12:00:00",
          "ts": 1604933619, "message-id": "<201798300811.5787683@relay.domain.com>",
          "ts_event": 1604933654, "subject": "My first Transactional", "tag": "",
          "sending_ip": "185.41.28.109", "ts_epoch": 1604933654223, "reason": "452 4.2.2 mailbox full"}
    st, r = b.post("/webhooks/brevo", json.dumps(br), {"Authorization": "Bearer brevo-token"})
    check(st == 200 and events_of(b, "mona@example.com") ==
          [["soft", "mailbox_full", "recipient", "webhook:brevo"]],
          "brevo: a soft bounce is soft mailbox_full", (st, r))
    score = b.sql("SELECT score FROM soft_scores WHERE address_key = 'mona@example.com'")
    check(score == [["1"]], "brevo: and it scores one point, as a mail-borne one does", score)
    refused(b, "brevo: wrong token", 401, 401, lambda: b.post(
        "/webhooks/brevo", json.dumps(dict(br, email="x15@example.com")),
        {"Authorization": "Bearer nope"}))
    mj = [{"event": "bounce", "time": 1430812195, "MessageID": 13792286917004336,
           "Message_GUID": "1ab23cd4-e567-8901-2345-6789f0gh1i2j", "email": "nina@example.com",
           "mj_campaign_id": 0, "mj_contact_id": 0, "customcampaign": "", "CustomID": "helloworld",
           "Payload": "", "blocked": False, "hard_bounce": True, "error_related_to": "recipient",
           "error": "user unknown", "comment": "550 5.1.1 <nina@example.com>: Recipient address "
           "rejected: User unknown in virtual mailbox table"}]
    st, r = b.curl("/webhooks/mailjet", json.dumps(mj), user="mj:mj-pass")
    check(st == 200 and events_of(b, "nina@example.com") ==
          [["hard", "user_unknown", "recipient", "webhook:mailjet"]],
          "mailjet: a hard bounce with basic auth", (st, r))
    po = {"event": "MessageDeliveryFailed", "timestamp": 1477945177.12994, "uuid":
          "0d2e0a64-6b7c-4e0d-9fb0-9f1e0e2d5f1a", "payload": {
              "message": {"id": 12345, "token": "abcdef123", "direction": "outgoing",
                          "message_id": "5817a64332f44_4ec93ff59e79d154565eb@app34.mail",
                          "to": "omar@example.com", "from": "sales@awesomeapp.com",
                          "subject": "Welcome to AwesomeApp", "timestamp": 1477945177.12994,
                          "spam_status": "NotSpam", "tag": "welcome"},
              "status": "HardFail", "details": "Permanent SMTP delivery error when sending to "
              "omar@example.com", "output": "550 5.1.1 No such user", "sent_with_ssl": False,
              "timestamp": 1477945177.12994, "time": 0.22}}
    body = json.dumps(po)
    st, r = b.post("/webhooks/postal", body, {"X-Postal-Signature-256": keys.sign("postal", body.encode())})
    check(st == 200 and events_of(b, "omar@example.com") ==
          [["hard", "user_unknown", "recipient", "webhook:postal"]],
          "postal: a signed MessageDeliveryFailed is hard user_unknown", (st, r))
    body2 = body.replace("omar@", "x16@")
    refused(b, "postal: wrong key", 403, 403, lambda: b.post(
        "/webhooks/postal", body2, {"X-Postal-Signature-256": keys.sign("postal-other", body2.encode())}))
    refused(b, "postal: no signature", 401, 401, lambda: b.post("/webhooks/postal", body2))

    # ---- the listener ----
    refused(b, "malformed JSON after authentication", 400, 400, lambda: b.post(
        "/webhooks/brevo", '{"event": "hard_bounce", "email": ', {"Authorization": "Bearer brevo-token"}))
    # evhttp answers as soon as it reads Content-Length, before the body: curl reads that answer.
    refused(b, "a body over max_body_kb", 413, 413, lambda: b.curl(
        "/webhooks/brevo", '{"pad": "%s"}' % ("x" * 70000), ["Authorization: Bearer brevo-token"]))
    st, r = b.post("/webhooks/unknown", "{}")
    check(st == 404 and r == {"error": "nothing is served at this path"},
          "an unknown path answers 404 in JSON", (st, r))
    check("refused (403): bad signature" in b.read_log(), "refusals are logged")


def test_repeats(b, keys, https):
    body = sns_message(keys, https, ses_bounce("paul@example.com"), "sns-repeat-1")
    codes = set()
    for _ in range(50):
        st, r = b.post("/webhooks/ses", body)
        codes.add(st)
    n = b.sql("SELECT count(*) FROM messages WHERE event_key = 'ses:sns-repeat-1'")
    e = b.sql("SELECT count(*) FROM events WHERE address = 'paul@example.com'")
    check(codes == {200} and n == [["1"]] and e == [["1"]],
          "the same event posted 50 times: 50 answers 200, one message, one event", (codes, n, e))


def test_locked(b):
    """Database locked past the busy timeout: 503 (the provider retries), then it recovers."""
    con = sqlite3.connect(b.db, timeout=5, isolation_level=None)
    con.execute("BEGIN EXCLUSIVE")
    body = json.dumps({"event": "hard_bounce", "email": "quinn@example.com", "reason": "550 5.1.1 unknown"})
    hdr = {"Authorization": "Bearer brevo-token"}
    st, r = b.post("/webhooks/brevo", body, hdr)
    con.execute("ROLLBACK")
    con.close()
    check(st == 503 and "try again" in r.get("error", ""), "database locked: 503", (st, r))
    st, r = b.post("/webhooks/brevo", body, hdr)
    check(st == 200 and r["stored"] == 1 and events_of(b, "quinn@example.com") ==
          [["hard", "user_unknown", "recipient", "webhook:brevo"]],
          "the same event once the lock is gone: 200 and stored", (st, r))


def test_kill(exe, keys, https_ca, d):
    """SIGKILL during a stream of posts: every event that got a 200 is in the database."""
    b = Bounced(exe, os.path.join(d, "kill"), config(d, https_ca))
    b.start()
    acked, lock, stop = [], threading.Lock(), threading.Event()

    def poster(n):
        i = 0
        while not stop.is_set() and i < 2000:
            addr = "k%d-%d@example.com" % (n, i)
            body = json.dumps({"event": "hard_bounce", "email": addr, "reason": "550 5.1.1 x"})
            try:
                st, _ = b.post("/webhooks/brevo", body, {"Authorization": "Bearer brevo-token"},
                               timeout=10)
            except OSError:
                return
            if st == 200:
                with lock:
                    acked.append(addr)
            i += 1

    threads = [threading.Thread(target=poster, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    deadline = time.time() + 30
    while time.time() < deadline and len(acked) < 200:
        time.sleep(0.02)
    b.kill()
    stop.set()
    for t in threads:
        t.join(30)
    got = {row[0] for row in b.sql("SELECT address FROM events")}
    missing = [a for a in acked if a not in got]
    check(len(acked) >= 200 and not missing,
          "SIGKILL after %d answers 200: every one of them is in the database" % len(acked),
          missing[:10])


def test_default_pattern(exe, keys, https, d):
    """The default host pattern (sns.*.amazonaws.com) refuses the test server's host, even with
    its CA trusted; a TCP listener and a provider's allow list; [http] max_connections."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = """[http]
max_connections = 3
[webhook ses]
topic_arn = %s
tls_ca = %s
[webhook brevo]
token_file = %s
allow = 192.0.2.1
""" % (TOPIC, keys.path("ca.pem"), keys.path("brevo.token"))
    b = Bounced(exe, os.path.join(d, "default"), conf, tcp_port=port)
    b.start()
    before = len(https.requests)
    refused(b, "ses: the default pattern refuses https://localhost", 403, 403, lambda: b.post(
        "/webhooks/ses", sns_message(keys, https, ses_bounce("rita@example.com"), "sns-def-1")))
    check(len(https.requests) == before, "ses: nothing fetched from a host the pattern refuses")
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("POST", "/webhooks/brevo", body=json.dumps({"event": "hard_bounce",
                                                          "email": "sam@example.com"}),
              headers={"Authorization": "Bearer brevo-token"})
    r = c.getresponse()
    r.read()
    check(r.status == 403, "brevo: a source not in [webhook brevo] allow answers 403 over TCP",
          r.status)
    c.close()
    # [http] max_connections: three idle clients hold every place; a fourth is answered 503.
    idle = []
    for _ in range(3):
        s = socket.socket(socket.AF_UNIX)
        s.connect(b.http)
        idle.append(s)
    # They are counted on the server's next turn of its loop, and one more is answered at once,
    # before it sends anything (a client that sends may find the socket closed under it): read.
    deadline, got = time.time() + 10, b""
    while time.time() < deadline and not got.startswith(b"HTTP/1.1 503"):
        extra = socket.socket(socket.AF_UNIX)
        extra.settimeout(1)
        extra.connect(b.http)
        got = b""
        try:
            while True:
                part = extra.recv(4096)
                if not part:
                    break
                got += part
        except socket.timeout:
            pass	# let in: the others were not counted yet
        extra.close()
    check(got.startswith(b"HTTP/1.1 503") and b"too many connections" in got,
          "max_connections: one connection too many is answered 503", got)
    for s in idle:
        s.close()
    deadline = time.time() + 10
    st = r = None
    while time.time() < deadline:
        try:
            st, r = b.post("/webhooks/unknown", "{}")
        except OSError as e:	# refused while the server had not seen them leave yet
            st, r = None, e
        if st == 404:
            break
        time.sleep(0.1)
    check(st == 404, "max_connections: places free again once those clients leave", (st, r))
    b.stop()


def test_config_check(d, keys):
    """bounced config check reads the webhook sections: their files readable, a key others may
    read a warning, a missing one a problem; the settings printed."""
    conf = config(d, keys.path("ca.pem")).replace("[store]\n", "[store]\ndb = %s\n" %
                                                   os.path.join(d, "check.db"), 1)
    path = os.path.join(d, "check.conf")
    with open(path, "w") as f:
        f.write(conf)
    p = subprocess.run([EXE, "config", "check", "--config", path, "--user", "root"],
                       capture_output=True, text=True, timeout=60)
    check(p.returncode == 0 and "[webhook ses]\ntopic_arn = %s" % TOPIC in p.stdout and
          "[webhook postal]\npublic_key_file = " in p.stdout,
          "config check: the webhook sections pass and are printed", (p.returncode, p.stdout, p.stderr))
    os.chmod(keys.path("mailgun.key"), 0o644)
    with open(path, "w") as f:
        f.write(conf.replace(keys.path("postal.pub"), keys.path("missing.pub")))
    p = subprocess.run([EXE, "config", "check", "--config", path, "--user", "root"],
                       capture_output=True, text=True, timeout=60)
    os.chmod(keys.path("mailgun.key"), 0o600)
    check(p.returncode == 78 and "missing.pub: webhook public key: No such file" in p.stderr and
          "the webhook signing key is readable by every user" in p.stderr,
          "config check: a missing key is a problem (78), a readable one a warning", p.stderr)


def main():
    d = scratch("webhooks")
    keys = Keys(d)
    https = HTTPSServer(keys)
    test_config_check(d, keys)
    b = Bounced(EXE, os.path.join(d, "main"), config(d, keys.path("ca.pem")))
    b.start()
    try:
        test_providers(b, keys, https)
        test_repeats(b, keys, https)
        test_locked(b)
        b.stop()
        test_default_pattern(EXE, keys, https, d)
        test_kill(EXE, keys, keys.path("ca.pem"), d)
    finally:
        if b.proc is not None:
            b.proc.kill()
        https.stop()
    shutil.rmtree(d, ignore_errors=True)
    print("webhooks: all checks passed")


main()
