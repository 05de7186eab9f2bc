#!/usr/bin/env python3
"""Counts code lines of Rust sources without tests: non-blank lines that are not comments, in
`src/` trees, leaving out `tests/` folders, `tests.rs` files and everything from a top-level
`#[cfg(test)]` to the end of a file. Usage: scripts/loc.py DIR... (prints per-DIR and total)."""
import os
import sys


def count(path):
    lines = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#[cfg(test)]"):
                break
            s = line.strip()
            if s and not s.startswith("//"):
                lines += 1
    return lines


total = 0
for root in sys.argv[1:]:
    n = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in ("tests", "target")]
        if f"{os.sep}src" not in dirpath + os.sep and not dirpath.endswith("src"):
            if "src" not in dirpath.split(os.sep):
                continue
        for name in filenames:
            if name.endswith(".rs") and name != "tests.rs":
                n += count(os.path.join(dirpath, name))
    print(f"{n:6} {root}")
    total += n
print(f"{total:6} total")
