#!/usr/bin/env python3
"""Every shipped rule is exercised by at least one fixture: runs `bounced parse --explain` over
tests/fixtures/**/*.eml, collects the rules that matched (the report's "rules") and the wording
rules that decided (each recipient's "rule"), and fails naming each rule of the shipped files
that no fixture exercises. A rule nothing exercises is either missing its fixture (write one:
HACKING.md) or can never fire (remove it).

usage: rule-coverage.py BOUNCED FIXTURES_DIR FILE.rules..."""
import json
import os
import subprocess
import sys

KEYWORDS = ("define", "disable")


def shipped_rules(paths):
    """(name, "FILE:LINE") of every rule the files define, in order."""
    rules = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for i, line in enumerate(f, 1):
                if not line.strip() or line[0] in " \t#":
                    continue
                words = line.split()
                if words[0] in KEYWORDS:
                    continue
                name = words[1] if words[0] == "replace" else words[0]
                rules.append((name, f"{os.path.basename(path)}:{i}"))
    return rules


def main():
    bounced, root, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    emls = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs if f.endswith(".eml"))
    if not emls or not files:
        print("no fixtures or no rule files")
        return 1
    p = subprocess.run([bounced, "parse", "--explain"] + emls, capture_output=True, timeout=300)
    if p.returncode != 0:
        print("bounced parse exited", p.returncode, p.stderr.decode(errors="replace"))
        return 1
    fired = {}
    for line in p.stdout.decode("utf-8").splitlines():
        o = json.loads(line)
        names = list(o.get("rules", [])) + [r["rule"] for r in o["recipients"] if r.get("rule")]
        for n in names:
            fired.setdefault(n, os.path.relpath(o["source"], root))
    passed = failed = 0
    for name, where in shipped_rules(files):
        if name in fired:
            passed += 1
        else:
            failed += 1
            print(f"FAIL rule {name} ({where}) is exercised by no fixture under {root}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
