#!/usr/bin/env python3
"""Scores `bounced parse` on the development corpora and fails below the floors.

usage: check-corpus.py BOUNCED SOURCE_ROOT

Runs ../shared/tools/score-all.sh (relative to SOURCE_ROOT) and prints every figure it gives.
Exits 77 (skipped) when ../shared/corpus is not there, 1 when a figure is below its floor or a
corpus printed no figures, 0 otherwise. Raise a floor when a change raises the figure: the
floors keep what was gained (issue 13 gives the targets).
"""
import os
import re
import subprocess
import sys

# corpus -> {figure: floor}; false_positives is a ceiling.
FLOORS = {
    # Below issue 13's targets (0.995, 0.99) by rows that contradict DESIGN.md or the issue,
    # left for adjudication: four name the Final-Recipient where the DSN's Original-Recipient
    # is the address acted on (lhost-postfix-01, lhost-postfix-78, rfc3464-09,
    # rhost-google-03); four call 'User unknown' filtered where the words name the mailbox
    # (under a bare 5.7.1: lhost-messagingserver-03 twice, lhost-sendmail-48; '550 <addr>:
    # User unknown': lhost-postfix-07); lhost-apachejames-01 says filtered for 'no such user
    # here'.
    "sisimai": {"recipient_found": 0.988, "row_accuracy": 0.973},
    "bounceparser": {"row_accuracy": 1.0},
    "crisp": {"row_accuracy": 0.980},
    "bounce-email": {"row_accuracy": 1.0},
    "flufl": {"recall": 0.983},
}
CEILINGS = {
    "ordinary": {"false_positives": 0},
}

# score-all.sh parses about 720 messages a handful of times over; this bounds a hung run.
TIMEOUT_SECONDS = 600


def main():
    bounced, root = sys.argv[1], sys.argv[2]
    shared = os.path.normpath(os.path.join(root, "..", "shared"))
    script = os.path.join(shared, "tools", "score-all.sh")
    if not os.path.isdir(os.path.join(shared, "corpus")) or not os.path.isfile(script):
        print(f"skip: no corpus at {shared}/corpus")
        return 77
    out = subprocess.run(["sh", script, bounced], capture_output=True, text=True,
                         timeout=TIMEOUT_SECONDS)
    print(out.stdout, end="")
    if out.returncode != 0:
        print(f"score-all.sh exited {out.returncode}: {out.stderr}")
        return 1
    figures = {}
    for line in out.stdout.splitlines():
        parts = line.split()
        if not parts:
            continue
        figures[parts[0]] = {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", line)}
    failed = 0
    for table, below in ((FLOORS, True), (CEILINGS, False)):
        for corpus, want in table.items():
            for fig, bound in want.items():
                got = figures.get(corpus, {}).get(fig)
                if got is None:
                    print(f"FAIL {corpus}: no {fig} in the output")
                    failed += 1
                elif (got < bound) if below else (got > bound):
                    print(f"FAIL {corpus}: {fig}={got} is {'below the floor' if below else 'above the ceiling'} {bound}")
                    failed += 1
                else:
                    print(f"ok {corpus}: {fig}={got} ({'floor' if below else 'ceiling'} {bound})")
    checks = sum(len(w) for w in FLOORS.values()) + sum(len(w) for w in CEILINGS.values())
    print(f"{checks - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
