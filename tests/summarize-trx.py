#!/usr/bin/env python3
"""Sums the trx reports of a `dotnet test` run under a folder into one closing line,
"tests: N passed, N failed, N skipped", after repeating each failed test's name and message (CI
keeps only the tail of the output, where the console logger's own lines have scrolled away).

With --failed-methods FILE it also writes the failed tests' methods, one "Namespace.Class.Method"
per line (a theory's cases share their method), for test.sh's one rerun. With --check it exits 1
unless some test passed and none failed (a rerun whose filter matched nothing proves nothing)."""
import argparse
import glob
import xml.etree.ElementTree as ET

parser = argparse.ArgumentParser()
parser.add_argument("results")
parser.add_argument("--failed-methods")
parser.add_argument("--check", action="store_true")
args = parser.parse_args()

passed = failed = skipped = 0
failures, methods = [], []
for path in sorted(glob.glob(args.results + "/**/*.trx", recursive=True)):
    root = ET.parse(path).getroot()
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "UnitTestResult" and element.get("outcome") == "Failed":
            name = element.get("testName") or "?"
            message = next((e.text or "" for e in element.iter() if e.tag.endswith("Message")), "")
            failures.append(f"FAILED {name}\n  " + "\n  ".join(message.strip().splitlines()[:25]))
            method = name.split("(", 1)[0]
            if method not in methods:
                methods.append(method)
        elif tag == "Counters":
            counts = {k: int(v) for k, v in element.attrib.items() if v.isdigit()}
            passed += counts.get("passed", 0)
            failed += counts.get("failed", 0) + counts.get("error", 0)
            skipped += counts.get("total", 0) - counts.get("executed", 0)

for failure in failures:
    print(failure)
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
if args.failed_methods:
    with open(args.failed_methods, "w", encoding="utf-8") as out:
        out.writelines(m + "\n" for m in methods)
if args.check and (failed > 0 or passed == 0):
    raise SystemExit(1)
