#!/usr/bin/env python3
"""Summarise `mutmut results --all true` output: the score per file and
overall (killed ÷ all mutants; a survivor, a timeout-free "no tests" and a
"suspicious" count against it), then the surviving mutants by function.

    python3 tools/mutation_score.py mutants/results.txt
"""
from __future__ import annotations

import collections
import re
import sys

LINE = re.compile(r"^\s*(?P<name>[\w.ǁ]+)__mutmut_\d+: (?P<status>.+)$")


def main(path: str) -> int:
    by_file: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    survivors: collections.Counter[str] = collections.Counter()
    for line in open(path, encoding="utf-8"):
        m = LINE.match(line)
        if not m:
            continue
        name, status = m["name"], m["status"].strip()
        module = name.rsplit(".", 1)[0]
        by_file[module][status] += 1
        if status not in ("killed", "timeout"):
            survivors[f"{name} ({status})"] += 1
    total = collections.Counter()
    for module, c in sorted(by_file.items()):
        n = sum(c.values())
        killed = c["killed"] + c["timeout"]  # a mutant that hangs the tests is caught by the timeout
        total.update(c)
        print(f"{module:40} {killed:5}/{n:<5} killed  {100 * killed / n:5.1f}%  " +
              ", ".join(f"{k} {v}" for k, v in sorted(c.items()) if k not in ("killed",)))
    n = sum(total.values())
    if not n:
        print("no mutants found: run `mutmut run` first", file=sys.stderr)
        return 1
    killed = total["killed"] + total["timeout"]
    print(f"{'all':40} {killed:5}/{n:<5} killed  {100 * killed / n:5.1f}%")
    print("\nnot killed, by function:")
    for name, k in survivors.most_common():
        print(f"  {k:4}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "mutants/results.txt"))
