"""Time `grade check` on the reference `cnn` submission, as a user runs it.

Kept for the command README.md's "Measured" table quotes; the work is done by
benchmarks/grade_check_times.py, which times every assignment cold and warm
(this is its `-a cnn`).  Usage: .venv/bin/python benchmarks/grade_check_cnn.py
[--runs 5] [--json FILE]
"""

from __future__ import annotations

import sys

import grade_check_times

if __name__ == "__main__":
    sys.exit(grade_check_times.main(["-a", "cnn", *sys.argv[1:]]))
