#!/usr/bin/env python3
"""`bounced verp` as a user meets it, and the Python example of doc/verp.md decoded by bounced.
usage: cli.py BOUNCED SOURCE_ROOT"""
import os
import re
import subprocess
import sys
import tempfile

BOUNCED, ROOT = sys.argv[1], sys.argv[2]
EXAMPLE = os.path.join(ROOT, "contrib", "verp_example.py")
DOC = os.path.join(ROOT, "doc", "verp.md")
passed = failed = 0


def run(args, cmd=None):
    p = subprocess.run((cmd or [BOUNCED]) + args, capture_output=True, timeout=30)
    return p.returncode, p.stdout.decode("utf-8"), p.stderr.decode("utf-8", "replace")


def check(name, got, want):
    global passed, failed
    if got == want:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name}: got {got!r}, want {want!r}")


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)
    return path


def jline(addr, tag, verified):
    v = "true" if verified else "false"
    return f'{{"address": "{addr}", "tag": "{tag}", "verified": {v}}}\n'


tmp = tempfile.mkdtemp(prefix="verp-cli-")
KEY = write(os.path.join(tmp, "key"), b"k3y-for-tests-0123456789abcdef\n")
KEY_CRLF = write(os.path.join(tmp, "key-crlf"), b"k3y-for-tests-0123456789abcdef\r\n")
KEY2 = write(os.path.join(tmp, "key2"), b"another-key-0123456789abcdefgh")
SHORT = write(os.path.join(tmp, "short"), b"0123456789abcde\n")  # 15 bytes once the LF is gone
CONF_OTHER = write(os.path.join(tmp, "other.conf"),
                   b"[verp]\nprefix = bnc\nseparator = -\nat = %\n")
CONF_KEY = write(os.path.join(tmp, "key.conf"), f"[verp]\nkey_file = {KEY}\n".encode())
CONF_KEY_OPT = write(os.path.join(tmp, "key-opt.conf"),
                     f"[verp]\nkey_file = {KEY}\nrequire_signature = false\n".encode())
RP = "bounces@bounce.example.org"

# 1. The Python example's output, decoded by bounced: exact JSON and exit status.
#    { recipient, tag, decoded address }
for rcpt, tag, want in [
    ("joe@example.com", "c42", "joe@example.com"),
    ("joe@example.com", "", "joe@example.com"),
    ("Joe.Smith@Example.COM", "C42", "Joe.Smith@example.com"),
    ("a=b+c-d@example.com", "", "a=b+c-d@example.com"),
    ("jörg@exämple.de", "2026-11.news_letter", "jörg@exämple.de"),
]:
    rc, out, err = run([EXAMPLE, KEY, RP, rcpt] + ([tag] if tag else []), cmd=["python3"])
    check(f"example {rcpt} rc", (rc, err), (0, ""))
    addr = out.strip()
    check(f"example {rcpt} = bounced encode", run(
        ["verp", "encode", "--key-file", KEY, "--return-path", RP, rcpt] +
        (["--tag", tag] if tag else [])), (0, addr + "\n", ""))
    check(f"decode {addr}", run(["verp", "decode", "--key-file", KEY, addr]),
          (0, jline(want, tag.lower(), True), ""))
    upper = addr.encode("utf-8").upper().decode("utf-8")  # a relay folds ASCII letters only
    check(f"decode uppercased {addr}", run(["verp", "decode", "--key-file", KEY, upper])[0], 0)
    check(f"decode wrong key {addr}", run(["verp", "decode", "--key-file", KEY2, addr]),
          (1, jline(want, tag.lower(), False), ""))
    check(f"decode CRLF key {addr}", run(["verp", "decode", "--key-file", KEY_CRLF, addr])[0], 0)

# The example printed in doc/verp.md is the one the tests run.
with open(DOC, encoding="utf-8") as f:
    doc_code = re.search(r"```python\n(.*?)```", f.read(), re.S).group(1)
with open(EXAMPLE, encoding="utf-8") as f:
    check("doc/verp.md example == contrib/verp_example.py", doc_code, f.read())

# 2. Decode: { args, exit status, stdout }
SIGNED = "bounces+s1=to2iqgf6i2f45unc=c42=joe=example.com@bounce.example.org"
for args, want_rc, want_out in [
    (["bounces+joe=example.com@b.example"], 0, jline("joe@example.com", "", True)),
    (["<BOUNCES+Joe=EXAMPLE.COM@b.example>"], 0, jline("Joe@example.com", "", True)),
    (['"bounces+john doe=example.com"@b.example'], 0, jline('\\"john doe\\"@example.com', "", True)),
    (["SRS0=HHHH=TT=b.example=bounces+joe=example.com@fwd.example"], 0,
     jline("joe@example.com", "", True)),
    (["--key-file", KEY, "bounces+joe=example.com@b.example"], 1, jline("joe@example.com", "", False)),
    (["--key-file=" + KEY, SIGNED], 0, jline("joe@example.com", "c42", True)),
    (["--key-file", KEY, SIGNED.replace("joe", "ann")], 1, jline("ann@example.com", "c42", False)),
    (["--key-file", KEY, SIGNED.replace("c42", "c43")], 1, jline("joe@example.com", "c43", False)),
    (["--key-file", KEY, SIGNED.replace("to2i", "to3i")], 1, jline("joe@example.com", "c42", False)),
    ([SIGNED], 1, jline("joe@example.com", "c42", False)),
    (["--config", CONF_KEY, SIGNED], 0, jline("joe@example.com", "c42", True)),
    (["--config", CONF_KEY, "bounces+joe=example.com@b.example"], 1, jline("joe@example.com", "", False)),
    (["--config", CONF_KEY_OPT, "bounces+joe=example.com@b.example"], 0, jline("joe@example.com", "", True)),
    (["--config", CONF_KEY_OPT, SIGNED.replace("to2i", "to3i")], 1, jline("joe@example.com", "c42", False)),
    (["--config", CONF_OTHER, "bnc-joe-x%example.com@b.example"], 0, jline("joe-x@example.com", "", True)),
    (["--config", CONF_OTHER, "bounces+joe=example.com@b.example"], 1, ""),
    (["joe@example.com"], 1, ""),
    (["bounces+joe@b.example"], 1, ""),
    (["--", "bounces+joe=example.com@b.example"], 0, jline("joe@example.com", "", True)),
]:
    rc, out, err = run(["verp", "decode"] + args)
    check(f"decode {args}", (rc, out), (want_rc, want_out))
    if want_out == "":
        check(f"decode {args} says why", err.startswith("bounced: verp: ") and err.count("\n") == 1, True)

# 3. Encode: { args, exit status, stdout }
for args, want_rc, want_out in [
    (["--return-path", RP, "joe@example.com"], 0, "bounces+joe=example.com@bounce.example.org\n"),
    (["--return-path=" + RP, '"john doe"@Example.COM'], 0,
     '"bounces+john doe=example.com"@bounce.example.org\n'),
    (["--key-file", KEY, "--tag", "c42", "--return-path", RP, "joe@example.com"], 0, SIGNED + "\n"),
    (["joe@example.com", "--return-path", RP, "--tag", "c42", "--key-file", KEY], 0, SIGNED + "\n"),
    (["--config", CONF_KEY, "--tag", "c42", "--return-path", RP, "joe@example.com"], 0, SIGNED + "\n"),
    (["--config", CONF_OTHER, "--return-path", "bnc@b.example", "joe@example.com"], 0,
     "bnc-joe%example.com@b.example\n"),
    (["--tag", "c42", "--return-path", RP, "joe@example.com"], 65, ""),
    (["--key-file", KEY, "--tag", "c 42", "--return-path", RP, "joe@example.com"], 65, ""),
    (["--key-file", KEY, "--return-path", RP, "joe"], 65, ""),
    (["--return-path", "bounces", "joe@example.com"], 65, ""),
]:
    rc, out, err = run(["verp", "encode"] + args)
    check(f"encode {args}", (rc, out), (want_rc, want_out))
    if want_rc != 0:
        check(f"encode {args} says why", err.startswith("bounced: verp: ") and err.count("\n") == 1, True)

# A return path whose local part is not the prefix: encoded, with a warning.
rc, out, err = run(["verp", "encode", "--return-path", "rp@b.example", "joe@example.com"])
check("encode other prefix", (rc, out, "decode will not recognise" in err), (0, "rp+joe=example.com@b.example\n", True))

# 4. Usage, keys and configuration: { args, exit status, start of stderr }
for args, want_rc, want_err in [
    (["verp", "decode", "--foo", "x"], 2, "bounced: verp: unknown option '--foo'"),
    (["verp", "decode", "--tag", "x", "y"], 2, "bounced: verp: unknown option '--tag'"),
    (["verp", "decode", "--key-file"], 2, "bounced: verp: missing value for option '--key-file'"),
    (["verp", "decode"], 2, "bounced: verp: no ADDRESS given"),
    (["verp", "decode", "a", "b"], 2, "bounced: verp: one ADDRESS only"),
    (["verp", "encode", "joe@example.com"], 2, "bounced: verp: encode needs --return-path"),
    (["verp", "frobnicate"], 2, "bounced: verp: unknown subcommand 'frobnicate'"),
    (["verp", "--frob"], 2, "bounced: verp: unknown option '--frob'"),
    (["verp"], 2, "usage: bounced verp"),
    (["verp", "decode", "--key-file", SHORT, "x"], 78,
     f"bounced: verp: VERP key file {SHORT}: key shorter than 16 bytes"),
    (["verp", "decode", "--key-file", os.path.join(tmp, "nope"), "x"], 78,
     f"bounced: verp: VERP key file {os.path.join(tmp, 'nope')}: "),
    (["verp", "decode", "--config", os.path.join(tmp, "nope.conf"), "x"], 78, "bounced: verp: "),
]:
    rc, out, err = run(args)
    check(f"{args}", (rc, out, err[:len(want_err)]), (want_rc, "", want_err))
    if want_rc != 2 or args[-1] != "verp":
        check(f"{args} one line", err.count("\n"), 1)

for args in (["verp", "--help"], ["verp", "help"], ["verp", "decode", "--help"], ["verp", "encode", "-h"]):
    rc, out, err = run(args)
    check(f"{args}", (rc, out.startswith("usage: bounced verp encode"), err), (0, True, ""))

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
