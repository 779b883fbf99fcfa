"""Time `grade check` on the reference `cnn` submission, as a user runs it.

Why it exists: a correct submission must be graded in a few seconds, and the
cnn checks (about 45, one of them training a model) are the heaviest numpy
assignment so far.  Each run is the real console script in a subprocess
(interpreter start, staging, sandboxed worker, every check), so the figures are
what a student or a CI job waits for.

Usage: .venv/bin/python benchmarks/grade_check_cnn.py [--runs 5]
Prints every run, then the median and the minimum wall time, and the grading
time the result itself reports (`duration_s`, without interpreter start-up).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GRADE = Path(sys.executable).with_name("grade")
SUBMISSION = ROOT / "reference" / "cs231n"


def one_run(json_path: Path) -> tuple[float, float]:
    """(wall seconds of the whole command, duration_s reported in the result)."""
    start = time.perf_counter()
    completed = subprocess.run([str(GRADE), "check", str(SUBMISSION), "-a", "cnn",
                                "--json", str(json_path)], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if completed.returncode != 0:
        raise SystemExit(f"grade check failed (exit {completed.returncode}):\n"
                         f"{completed.stdout}\n{completed.stderr}")
    result = json.loads(json_path.read_text())
    if result["score"] != result["max_score"]:
        raise SystemExit(f"the reference did not get full marks: {result['score']} / "
                         f"{result['max_score']}")
    return wall, float(result["duration_s"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    walls, graded = [], []
    with tempfile.TemporaryDirectory() as folder:
        for number in range(1, args.runs + 1):
            wall, duration = one_run(Path(folder) / "result.json")
            walls.append(wall)
            graded.append(duration)
            print(f"run {number}: {wall:.2f} s wall, {duration:.2f} s grading")
    print(f"grade check reference/cs231n -a cnn, {args.runs} runs: "
          f"median {statistics.median(walls):.2f} s, min {min(walls):.2f} s wall; "
          f"grading alone median {statistics.median(graded):.2f} s, min {min(graded):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
