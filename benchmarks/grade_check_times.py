"""`grade check` wall time per assignment, cold and warm, as a student or a CI job runs it.

Why it exists: a student waits for `grade check` on every save and a course CI
on every push, so its time per assignment is the grader's most visible figure
(issue 6).  Each run is the real console script in a subprocess on the
assignment's own solution (grader/course/mutants.py names it: reference/cs231n for the
numpy assignments, the PyTorch and TensorFlow solutions for the others),
submitted under the course's file name as grader/course/mutants.py's copy_solution
writes it, which must get full marks.

- cold: the first run of the assignment in this benchmark, after the
  operating system's page cache has been given a chance to forget the
  framework's files (`--drop-caches`, root only: `sync; echo 3 >
  /proc/sys/vm/drop_caches`); without that flag "cold" only means "first
  run in a fresh process", and says so in the output;
- warm: the median of `--runs` repeats right after (the files are in the page
  cache, the reference-run cache of grader/checks/training_data.py is
  filled).

Every run is a fresh `grade` process: there is no resident server to warm.
Usage: .venv/bin/python benchmarks/grade_check_times.py [-a ID ...] [--runs 3]
           [--drop-caches] [--json FILE]
Prints per assignment the cold wall time, the warm median and minimum, and the
grading time the result itself reports (`duration_s`, without interpreter
start-up).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import bench_common as common

from grader.scoring import assignment as assignments  # noqa: E402
from grader.course import mutants  # noqa: E402


def solution(assignment_id: str) -> Path:
    """Where the assignment's solution lives (grader/course/mutants.py, Note [Where a solution is])."""
    return Path(mutants.load(assignment_id).solution.path)


def submission(assignment_id: str, folder: Path) -> Path:
    """The solution as a student submits it (under the course's file name, joined modules
    made one file), written once into `folder` with grader/course/mutants.py's copy_solution."""
    return mutants.copy_solution(mutants.load(assignment_id).solution, folder / assignment_id)


def one_run(assignment_id: str, submitted: Path, json_path: Path) -> tuple[float, float]:
    """(wall seconds of the whole command, duration_s reported in the result)."""
    argv = common.grade_argv("check", str(submitted), "-a", assignment_id,
                             "--json", str(json_path), "--no-html")
    wall, _ = common.timed(argv, ok=(0,))  # exit 0: every check passed
    result = json.loads(json_path.read_text())
    if result["score"] != result["max_score"]:
        raise SystemExit(f"{assignment_id}: the solution did not get full marks: "
                         f"{result['score']} / {result['max_score']}")
    return wall, float(result["duration_s"])


def drop_caches() -> bool:
    """Ask the kernel to forget its page cache (root only); False when it cannot."""
    if os.geteuid() != 0:
        return False
    subprocess.run(["sync"], check=False)
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-a", "--assignment", dest="assignments", nargs="+",
                        default=assignments.available(), metavar="ID",
                        help="assignments to time (default: all)")
    parser.add_argument("--runs", type=int, default=3, help="warm repeats (default 3)")
    parser.add_argument("--drop-caches", action="store_true",
                        help="drop the page cache before each cold run (root only)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    unknown = sorted(set(args.assignments) - set(assignments.available()))
    if unknown:
        parser.error(f"unknown assignment(s) {unknown}; available: {assignments.available()}")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        result = Path(folder) / "result.json"
        for assignment_id in args.assignments:
            submitted = submission(assignment_id, Path(folder) / "solutions")
            dropped = drop_caches() if args.drop_caches else False
            cold_wall, cold_grading = one_run(assignment_id, submitted, result)
            warm = [one_run(assignment_id, submitted, result) for _ in range(args.runs)]
            walls = [w for w, _ in warm]
            rows.append({"assignment": assignment_id, "solution": str(solution(assignment_id)),
                         "submitted_as": submitted.name,
                         "cold_wall_s": cold_wall, "cold_grading_s": cold_grading,
                         "page_cache_dropped": dropped, "warm_walls_s": walls,
                         "warm_median_s": statistics.median(walls), "warm_min_s": min(walls),
                         "warm_grading_median_s": statistics.median(g for _, g in warm)})
            print(f"{assignment_id:<11} cold {cold_wall:6.2f} s{' (page cache dropped)' if dropped else ''}"
                  f"   warm median {rows[-1]['warm_median_s']:6.2f} s, min {min(walls):6.2f} s"
                  f"   (grading alone: cold {cold_grading:.2f} s, warm "
                  f"{rows[-1]['warm_grading_median_s']:.2f} s)", flush=True)
    if args.drop_caches and not any(r["page_cache_dropped"] for r in rows):
        print("note: the page cache could not be dropped (not root?): cold = first run only")
    common.write_json(args.json, {"benchmark": "grade_check_times", "machine": common.machine(),
                                  "runs": args.runs, "rows": rows,
                                  "command": "grade check SOLUTION -a ID --json FILE --no-html"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
