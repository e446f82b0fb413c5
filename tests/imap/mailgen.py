"""Messages for the IMAP tests and benchmark: RFC 3464 bounces, ARF complaints and ordinary
replies, each unique (its own Message-ID and recipient), CRLF line endings as IMAP carries them."""


def crlf(text):
    return text.replace('\r\n', '\n').replace('\n', '\r\n').encode()


def dsn(i, status='5.1.1', code='550', words='Recipient address rejected: User unknown'):
    rcpt = f'user{i}@example.org'
    return crlf(f"""Return-Path: <>
Delivered-To: bounces+user{i}=example.org@sender.example.com
From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
To: bounces+user{i}=example.org@sender.example.com
Subject: Undelivered Mail Returned to Sender
Message-ID: <dsn-{i}@mx.example.net>
Date: Sun, 22 Nov 2026 10:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BOUNDARY-{i}"

--BOUNDARY-{i}
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.net.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<{rcpt}>: host mx.example.org[192.0.2.1] said: {code} {status} <{rcpt}>:
    {words}

--BOUNDARY-{i}
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net
Arrival-Date: Sun, 22 Nov 2026 09:59:58 +0000

Final-Recipient: rfc822; {rcpt}
Original-Recipient: rfc822;{rcpt}
Action: failed
Status: {status}
Remote-MTA: dns; mx.example.org
Diagnostic-Code: smtp; {code} {status} <{rcpt}>: {words}

--BOUNDARY-{i}
Content-Type: text/rfc822-headers

From: news@sender.example.com
To: {rcpt}
Subject: Our newsletter
Message-ID: <orig-{i}@sender.example.com>

--BOUNDARY-{i}--
""")


def arf(i):
    rcpt = f'reader{i}@example.org'
    return crlf(f"""From: abuse@isp.example.net
To: fbl@sender.example.com
Subject: FW: Our newsletter
Message-ID: <arf-{i}@isp.example.net>
Date: Sun, 22 Nov 2026 10:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="ARF-{i}"

--ARF-{i}
Content-Type: text/plain

This is an email abuse report.

--ARF-{i}
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: ExampleFBL/1.0
Version: 1
Original-Rcpt-To: {rcpt}

--ARF-{i}
Content-Type: message/rfc822

From: news@sender.example.com
To: {rcpt}
Subject: Our newsletter
Message-ID: <orig-arf-{i}@sender.example.com>

Hello.

--ARF-{i}--
""")


def human(i):
    return crlf(f"""From: Alice Example <alice{i}@example.org>
To: bounces@sender.example.com
Subject: Re: Our newsletter
Message-ID: <reply-{i}@example.org>
Date: Sun, 22 Nov 2026 10:00:00 +0000
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Thanks for the newsletter, please keep sending it. ({i})
""")
