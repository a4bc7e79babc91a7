#!/usr/bin/env python3
"""gendocs.py - the option tables in docs/ come from the binary's option tables.

Between '<!-- BEGIN OPTIONS KIND NAME -->' and '<!-- END OPTIONS -->' a doc holds the output of
'ferry help KIND NAME --markdown'. Without --check the blocks are rewritten in place; with
--check nothing is written and the exit code is 1 (with a diff) when a doc and the binary
disagree, so CI fails on drift.

Usage: scripts/gendocs.py [--check] FERRY_BINARY
"""
import difflib
import pathlib
import re
import subprocess
import sys

BLOCK = re.compile(r"(<!-- BEGIN OPTIONS (\w+) ([\w-]+) -->\n)(.*?)(<!-- END OPTIONS -->)", re.S)


def main() -> int:
    args = sys.argv[1:]
    check = "--check" in args
    args = [a for a in args if a != "--check"]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    ferry = args[0]
    root = pathlib.Path(__file__).resolve().parent.parent
    drift = blocks = 0
    for doc in sorted((root / "docs").rglob("*.md")):
        text = doc.read_text()

        def render(m: "re.Match[str]") -> str:
            nonlocal blocks
            blocks += 1
            out = subprocess.run([ferry, "help", m.group(2), m.group(3), "--markdown"],
                                 capture_output=True, text=True, check=False)
            if out.returncode != 0:
                raise SystemExit(f"{doc}: ferry help {m.group(2)} {m.group(3)}: {out.stderr}")
            return m.group(1) + out.stdout + m.group(5)

        new = BLOCK.sub(render, text)
        if new != text:
            drift += 1
            rel = doc.relative_to(root)
            if check:
                sys.stdout.writelines(difflib.unified_diff(
                    text.splitlines(True), new.splitlines(True), f"{rel} (docs)",
                    f"{rel} (ferry help)"))
            else:
                doc.write_text(new)
                print(f"gendocs: rewrote {rel}")
    if check and drift:
        print(f"gendocs: {drift} doc(s) disagree with the binary; run "
              f"'python3 scripts/gendocs.py {ferry}' and commit", file=sys.stderr)
        return 1
    print(f"gendocs: {blocks} option table(s) {'match the binary' if check else 'generated'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
