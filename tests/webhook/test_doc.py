"""doc/webhooks.md as a test: the shell blocks of "Try it on your machine" run verbatim, in
order, in an empty directory, and their output must hold every line of the text blocks there;
the bounced.conf blocks of the guide, put together, load without a configuration error."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

EXE = os.path.abspath(sys.argv[1])
DOC = os.path.abspath(sys.argv[2])


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


text = open(DOC).read()
blocks = re.findall(r"```(\w+)\n(.*?)```", text, re.S)
tryit = text[text.index("## Try it on your machine"):]
try_blocks = re.findall(r"```(\w+)\n(.*?)```", tryit, re.S)
script = "set -e\n" + "".join(b for lang, b in try_blocks if lang == "sh")
want = [line for lang, b in try_blocks if lang == "text" for line in b.splitlines() if line]
if not want or "curl" not in script:
    fail("doc/webhooks.md: no commands or expected output under 'Try it on your machine'")

d = tempfile.mkdtemp(prefix="wh-test-doc-")
env = dict(os.environ, PATH=os.path.dirname(EXE) + os.pathsep + os.environ["PATH"])
p = subprocess.run(["bash", "-c", script], cwd=d, env=env, capture_output=True, text=True,
                   timeout=120)
out = p.stdout
if p.returncode != 0:
    fail("the commands exit %d:\n%s\n%s\n%s" % (p.returncode, out, p.stderr,
                                                open(os.path.join(d, "serve.log")).read()))
pos = 0
for line in want:
    i = out.find(line, pos)
    if i < 0:
        fail("the output lacks %r (in order):\n%s" % (line, out))
    pos = i + len(line)
print("ok: the commands of 'Try it on your machine' run and print what the guide shows")

# Every bounced.conf block of the guide, together, is a configuration bounced accepts.
conf = os.path.join(d, "all.conf")
with open(conf, "w") as f:
    seen = set()
    for lang, b in blocks:
        if lang != "ini":
            continue
        for section in re.findall(r"^\[([^\]]+)\]", b, re.M):
            if section in seen:
                fail("the guide's bounced.conf blocks repeat [%s]" % section)
            seen.add(section)
        f.write(b)
db = os.path.join(d, "check.db")
subprocess.run([EXE, "db", "migrate", "--db", db], capture_output=True, timeout=60)
p = subprocess.run([EXE, "suppress", "check", "--config", conf, "--db", db,
                    "nobody@example.com"], capture_output=True,
                   text=True, timeout=60)
if p.returncode == 78:
    fail("the guide's bounced.conf blocks do not load: %s" % p.stderr)
print("ok: the guide's bounced.conf blocks load (%d sections)" % len(seen))
shutil.rmtree(d, ignore_errors=True)
