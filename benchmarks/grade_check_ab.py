"""`grade check` of two checkouts of the grader, runs interleaved, on the same solutions.

Why it exists: on a shared, loaded machine two timings taken minutes apart compare the
load, not the code.  Alternating the runs of a "before" and an "after" checkout puts
both under the same load, so their ratio means something even when their absolute
times are upper bounds.  Each run is the real command in a fresh process,
`python -m grader check SOLUTION -a ID --no-html --json FILE` with PYTHONPATH set to the
checkout (each checkout writes its own byte code first: one unreported warm-up run
each), on the assignment's solution as benchmarks/grade_check_times.py writes it, which
must get full marks from both.  Reported per assignment: the median and minimum wall
time of `--runs` runs, and the median CPU time of the `grade` process itself (user +
system; a worker under bubblewrap is not its waited child, so its CPU is not included).
Usage: .venv/bin/python benchmarks/grade_check_ab.py BEFORE_DIR AFTER_DIR
           [-a ID ...] [--runs 5] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bench_common as common
import grade_check_times

NUMPY_ASSIGNMENTS = ["fc_nets", "batchnorm", "dropout", "cnn"]


def one_run(checkout: Path, assignment_id: str, submitted: Path, result: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the grade process) of one `grade check`."""
    env = dict(os.environ, PYTHONPATH=str(checkout))
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # both checkouts with their byte code
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "grader", "check", str(submitted), "-a",
                                assignment_id, "--no-html", "--json", str(result)],
                               stdout=subprocess.DEVNULL, env=env, cwd=checkout)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    graded = json.loads(result.read_text())
    if os.waitstatus_to_exitcode(status) != 0 or graded["score"] != graded["max_score"]:
        raise SystemExit(f"{checkout}: {assignment_id}: the solution did not get full marks: "
                         f"{graded['score']} / {graded['max_score']}")
    return wall, usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("-a", "--assignment", dest="assignments", nargs="+",
                        default=NUMPY_ASSIGNMENTS, metavar="ID")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    checkouts = {"before": args.before.resolve(), "after": args.after.resolve()}
    load = os.getloadavg()
    print(f"load average at the start: {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        result = Path(folder) / "result.json"
        for assignment_id in args.assignments:
            submitted = grade_check_times.submission(assignment_id, Path(folder) / "solutions")
            runs = {label: [] for label in checkouts}
            for number in range(args.runs + 1):
                for label, checkout in checkouts.items():
                    measured = one_run(checkout, assignment_id, submitted, result)
                    if number:  # the first run of each writes its byte code
                        runs[label].append(measured)
            row = {"assignment": assignment_id}
            for label, measured in runs.items():
                walls = [w for w, _ in measured]
                row[label] = {"walls_s": walls, "wall_median_s": statistics.median(walls),
                              "wall_min_s": min(walls),
                              "cpu_median_s": statistics.median(c for _, c in measured)}
            rows.append(row)
            print(f"{assignment_id:<10} " + "   ".join(
                f"{label}: wall median {row[label]['wall_median_s']:.3f} s (min "
                f"{row[label]['wall_min_s']:.3f}), grade's CPU {row[label]['cpu_median_s']:.3f} s"
                for label in checkouts), flush=True)
    end = os.getloadavg()
    print(f"load average at the end: {end[0]:.2f}, {end[1]:.2f}, {end[2]:.2f}")
    common.write_json(args.json, {"benchmark": "grade_check_ab", "machine": common.machine(),
                                  "runs": args.runs, "checkouts": {k: str(v) for k, v in
                                                                   checkouts.items()},
                                  "load_end": end, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
