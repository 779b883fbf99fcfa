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
system; a worker under bubblewrap is not its waited child, so its CPU is not included) and,
where the benchmark may make a cgroup v1 `cpuacct` group (root), the CPU time of the whole
tree (the grade process, bubblewrap and the worker: each run in a cpuacct group of its own).
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


CPUACCT = Path("/sys/fs/cgroup/cpuacct")


def _tree_group() -> Path | None:
    """A fresh cpuacct cgroup (v1) to run one command in, or None where none can be made."""
    if not (CPUACCT / "cpuacct.usage").exists():
        return None
    folder = CPUACCT / f"grade-check-ab-{os.getpid()}-{time.monotonic_ns()}"
    try:
        folder.mkdir()
    except OSError:
        return None
    return folder


def _tree_cpu(folder: Path | None) -> float | None:
    """The CPU seconds the processes of `folder` used, the folder removed once they are gone."""
    if folder is None:
        return None
    for _ in range(200):  # the worker's tree may still be exiting
        if not (folder / "cgroup.procs").read_text().split():
            break
        time.sleep(0.01)
    used = int((folder / "cpuacct.usage").read_text()) / 1e9
    try:
        folder.rmdir()
    except OSError:
        pass
    return used


def one_run(checkout: Path, assignment_id: str, submitted: Path,
            result: Path) -> tuple[float, float, float | None]:
    """(wall seconds, CPU seconds of the grade process, CPU seconds of its whole tree or None)
    of one `grade check`."""
    env = dict(os.environ, PYTHONPATH=str(checkout))
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # both checkouts with their byte code
    group = _tree_group()
    procs = str(group / "cgroup.procs") if group is not None else None

    def join() -> None:  # in the child, before it runs Python: everything it starts is counted
        if procs is not None:
            with open(procs, "w") as handle:
                handle.write(str(os.getpid()))

    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "grader", "check", str(submitted), "-a",
                                assignment_id, "--no-html", "--json", str(result)],
                               stdout=subprocess.DEVNULL, env=env, cwd=checkout,
                               preexec_fn=join)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    tree = _tree_cpu(group)
    graded = json.loads(result.read_text())
    if os.waitstatus_to_exitcode(status) != 0 or graded["score"] != graded["max_score"]:
        raise SystemExit(f"{checkout}: {assignment_id}: the solution did not get full marks: "
                         f"{graded['score']} / {graded['max_score']}")
    return wall, usage.ru_utime + usage.ru_stime, tree


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
                walls = [w for w, _, _ in measured]
                trees = [t for _, _, t in measured if t is not None]
                row[label] = {"walls_s": walls, "wall_median_s": statistics.median(walls),
                              "wall_min_s": min(walls),
                              "cpu_median_s": statistics.median(c for _, c, _ in measured),
                              "tree_cpu_median_s": statistics.median(trees) if trees else None}
            rows.append(row)
            print(f"{assignment_id:<10} " + "   ".join(
                f"{label}: wall median {row[label]['wall_median_s']:.3f} s (min "
                f"{row[label]['wall_min_s']:.3f}), grade's CPU {row[label]['cpu_median_s']:.3f} s"
                + (f", with the worker {row[label]['tree_cpu_median_s']:.3f} s"
                   if row[label]["tree_cpu_median_s"] is not None else "")
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
