#!/usr/bin/env python3
"""Signed VERP return paths for bounced, as doc/verp.md specifies them. Standard library only.

usage: verp_example.py KEY_FILE RETURN_PATH RECIPIENT [TAG]
  e.g. verp_example.py /etc/bounced/verp.key bounces@bounce.example.org joe@example.com c42
prints bounces+s1=<mac>=c42=joe=example.com@bounce.example.org
(recipients with a quoted local part need the quoting of doc/verp.md; not shown here)"""
import base64
import hashlib
import hmac
import sys


def read_key(path):
    """The key is the bytes of the file without its trailing CR/LF: at least 16 of them."""
    with open(path, "rb") as f:
        key = f.read().rstrip(b"\r\n")
    if len(key) < 16:
        sys.exit(f"{path}: VERP key shorter than 16 bytes")
    return key


def lower(s):
    """ASCII-only lowercasing, as mail servers case-fold (bytes.lower leaves UTF-8 alone)."""
    return s.encode("utf-8").lower().decode("utf-8")


def verp_encode(key, return_path, recipient, tag="", sep="+", at="="):
    prefix, host = return_path.rsplit("@", 1)
    local, domain = recipient.rsplit("@", 1)
    tag, domain = lower(tag), lower(domain)
    msg = lower(f"s1:{tag}:{local}@{domain}").encode("utf-8")
    mac = hmac.new(key, msg, hashlib.sha256).digest()[:10]
    b32 = base64.b32encode(mac).decode("ascii").lower()  # 10 bytes: 16 chars, no padding
    return f"{prefix}{sep}s1{at}{b32}{at}{tag}{at}{local}{at}{domain}@{lower(host)}"


if __name__ == "__main__":
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    tag = sys.argv[4] if len(sys.argv) == 5 else ""
    print(verp_encode(read_key(sys.argv[1]), sys.argv[2], sys.argv[3], tag))
