"""Time `grade batch` on the generated fc_nets class, with 1 and 2 workers.

Why it exists: an instructor grades a class of hundreds; what they wait for is
submissions per minute, and whether a second core nearly doubles it.  Each run
is the real console script in a subprocess on a fresh output folder, on the
class built by examples/batch/make_class.py (correct, buggy, hostile, Python 2,
empty, notebook, Canvas-style), so the figures include the hostile submission's
timeouts and every job process's start.

Usage: .venv/bin/python benchmarks/batch_throughput.py [--size 40] [--workers 1 2]
Prints, per worker count, the wall time, submissions per minute, and the sum
of the grading times the results report (busy time); then the speed-up.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GRADE = Path(sys.executable).with_name("grade")
sys.path.insert(0, str(ROOT / "examples" / "batch"))

import make_class  # noqa: E402


def one_run(klass: Path, out: Path, workers: int) -> tuple[float, int, float]:
    """(wall seconds, submissions with a result, sum of their duration_s)."""
    start = time.perf_counter()
    completed = subprocess.run([str(GRADE), "batch", str(klass), "-a", "fc_nets", "-o", str(out),
                                "--workers", str(workers)], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if completed.returncode not in (0, 1):
        raise SystemExit(f"grade batch failed (exit {completed.returncode}):\n"
                         f"{completed.stdout}\n{completed.stderr}")
    results = [json.loads(p.read_text()) for p in (out / "results").glob("*.json")]
    return wall, len(results), sum(r["duration_s"] for r in results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=40)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="batch-bench-") as tmp:
        klass = Path(tmp) / "class"
        make_class.build(klass, args.size)
        print(f"class of {args.size} fc_nets submissions; {os.cpu_count()} CPUs; "
              f"load average {os.getloadavg()[0]:.1f}")
        rates = {}
        for workers in args.workers:
            wall, count, busy = one_run(klass, Path(tmp) / f"out-{workers}", workers)
            rates[workers] = 60 * count / wall
            print(f"--workers {workers}: {count} submissions in {wall:.1f} s = "
                  f"{rates[workers]:.1f} submissions/minute (grading time summed: {busy:.0f} s)")
        if len(rates) > 1:
            low, high = min(rates), max(rates)
            print(f"speed-up {low} -> {high} workers: {rates[high] / rates[low]:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
