#!/usr/bin/env python3
"""Summarises an XCTest log from `swift test`: totals, and every skipped test grouped by reason.

Usage: test-report.py LOG. Exits 1 when the log has no test summary, or when VLSAM_REQUIRE_ALL is
set and any test was skipped (CI must not be green having skipped the parity tests).
"""
import collections
import os
import re
import sys

SKIP = re.compile(r": (\S+) : Test skipped - (.*)$")
SUMMARY = re.compile(r"Executed (\d+) tests?, with (?:(\d+) tests? skipped and )?(\d+) failures?")


def main(path):
    with open(path, encoding="utf-8", errors="replace") as log:
        lines = log.read().splitlines()
    summaries = [m for m in map(SUMMARY.search, lines) if m]
    if not summaries:
        sys.exit(f"test-report: {path} has no XCTest summary (did the build or the test run fail?)")
    executed, skipped, failures = (int(g or 0) for g in summaries[-1].groups())
    reasons = collections.defaultdict(list)
    for match in filter(None, map(SKIP.search, lines)):
        reasons[match.group(2)].append(match.group(1))
    print(f"test-report: {executed} tests, {failures} failures, {skipped} skipped")
    if skipped:
        print(f"test-report: SKIPPED {skipped} tests:")
        for reason, tests in sorted(reasons.items(), key=lambda item: -len(item[1])):
            print(f"  {len(tests):3d} × {reason}")
            print(f"        e.g. {', '.join(tests[:3])}")
        if os.environ.get("VLSAM_REQUIRE_ALL"):
            sys.exit(f"test-report: FAILED: {skipped} tests skipped, and VLSAM_REQUIRE_ALL is set "
                     "(CI needs ../shared beside the checkout and the SmolLM2 download)")
        print("test-report: these tests proved nothing here; CI (VLSAM_REQUIRE_ALL=1) fails on any skip")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
