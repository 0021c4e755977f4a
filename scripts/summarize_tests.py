#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Counts test cases across the suite from meson's testlog.json.

Catch2 binaries end with "All tests passed (A assertions in N test cases)" or
"test cases: N | P passed | F failed"; pytest with "P passed, F failed". A
test binary whose output has neither (it crashed) counts as one failure.
Prints per-test lines and the closing "N passed, N failed".
"""
import json
import re
import sys

total_pass = total_fail = 0
with open(sys.argv[1]) as f:
    for line in f:
        t = json.loads(line)
        out = (t.get("stdout") or "") + (t.get("stderr") or "")
        ok = t.get("result") == "OK"
        p = fl = None
        m = re.search(r"All tests passed \(\d+ assertions? in (\d+) test cases?\)", out)
        if m:
            p, fl = int(m.group(1)), 0
        m = re.search(r"test cases:\s+(\d+) \|\s+(\d+) passed \|\s+(\d+) failed", out)
        if m:
            p, fl = int(m.group(2)), int(m.group(3))
        pm = re.search(r"=+ (.*) in [\d.]+s", out) or re.search(r"^(.*(?:passed|failed).*) in [\d.]+s", out, re.M)
        if pm and p is None:
            s = pm.group(1)
            pp = re.search(r"(\d+) passed", s)
            ff = re.search(r"(\d+) failed", s)
            ee = re.search(r"(\d+) errors?", s)
            p = int(pp.group(1)) if pp else 0
            fl = (int(ff.group(1)) if ff else 0) + (int(ee.group(1)) if ee else 0)
        if p is None:
            p, fl = (1, 0) if ok else (0, 1)
        if not ok and fl == 0:
            fl = 1  # crashed or timed out after reporting
        print("%-14s %-8s %d passed, %d failed" % (t["name"], t.get("result"), p, fl))
        total_pass += p
        total_fail += fl
print("%d passed, %d failed" % (total_pass, total_fail))
sys.exit(1 if total_fail else 0)
