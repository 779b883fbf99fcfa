"""Our `grade batch` against nbgrader's autograde and `otter run`, on the same notebooks.

Why it exists: the comparison instructors care about (issue 6).  One run
builds a class of N notebook submissions (benchmarks/equivalent_tests.py: a
mix of correct work and classic bugs, all gradable by every tool), gives the
same student code to the three tools with the same tests (Note [Equivalent
tests] there), times each tool grading the whole class, and checks that the
three agree on every student's score -- a benchmark whose tools disagree
measured different work, and the script fails.

- ours: `grade batch CLASS -a fc_layers --workers W` on the very notebook
  files nbgrader grades (its submitted notebooks, copied as <student>.ipynb),
  with the default definitions mode (and, as another row, `--notebook-mode
  execute`, which runs every cell as the other tools do);
- nbgrader: `nbgrader autograde fc_layers --create` (benchmarks/nbgrader_side.py),
  one notebook after another: nbgrader has no parallel option;
- Otter: `otter run -a autograder.zip NOTEBOOK` per student
  (benchmarks/otter_side.py), without Docker (there is none here, and `otter
  grade` would add image builds), `--otter-jobs` at a time.

Set-up (nbgrader generate_assignment, otter assign, writing the notebooks) and
read-out (nbgrader export, reading JSON) are not timed.  Each timed command
starts from a fresh output folder.  Usage:

    .venv/bin/python benchmarks/compare_tools.py [--size 40] [--workers 1 2]
        [--otter-jobs 1] [--no-execute-row] [--json FILE] [--keep DIR]

Needs the tools' venv (`make bench-tools`); exits 2 saying so when it is missing.
The work folder (a temporary one unless `--keep DIR`) is removed at the end,
but kept, and named, when a tool fails, for its logs (nbgrader.log, otter.log).
Exit status: 0 when the tools agree on every score, 1 when they do not or a
tool failed, 2 for a bad command or missing tools.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bench_common as common
import equivalent_tests
import nbgrader_side
import otter_side
import tool_env


def _ours(klass: Path, out: Path, workers: int, mode: str) -> dict:
    argv = common.grade_argv("batch", str(klass), "-a", equivalent_tests.ASSIGNMENT, "-o", str(out),
                             "--workers", str(workers), "--notebook-mode", mode, bench=True)
    wall, _ = common.timed(argv)
    return {"tool": f"ours, {workers} worker{'s' * (workers > 1)}, {mode}", "wall_s": wall,
            "command": common.shown(argv).replace(str(klass.parent), "WORK"),
            "scores": common.result_scores(out),
            "processes": workers}


def _timed_call(label: str, command: str, action, processes: int) -> dict:
    start = time.perf_counter()
    action()
    return {"tool": label, "wall_s": time.perf_counter() - start, "command": command,
            "processes": processes}


def _startup(work: Path) -> dict:
    """Seconds to start each tool's command and do (next to) nothing, median of 3: ours on an
    empty class, the others printing their version.  The part of a per-submission command
    (otter run) that is paid again for every student."""
    import statistics
    empty = work / "empty-class"
    empty.mkdir(exist_ok=True)
    ours = common.grade_argv("batch", str(empty), "-a", equivalent_tests.ASSIGNMENT, "-o",
                             str(work / "empty-out"), bench=True)
    # An empty class is refused with exit 2 ("no submissions found") after the start-up,
    # the imports, loading the assignment and discovery: what is timed.
    commands = {"grade batch on an empty class": (ours, None, (0, 2)),
                "nbgrader --version": (["nbgrader", "--version"], tool_env.environment(work), (0,)),
                "otter --version": (["otter", "--version"], tool_env.environment(work), (0,))}
    return {label: statistics.median(common.timed(argv, ok=ok, env=env)[0] for _ in range(3))
            for label, (argv, env, ok) in commands.items()}


def _disagreements(rows: list[dict], students: list) -> list[str]:
    lines = []
    for student in students:
        seen = {row["tool"]: row["scores"].get(student.id) for row in rows}
        if len(set(seen.values())) > 1:
            lines.append(f"{student.id}: " + ", ".join(f"{tool} {score}" for tool, score in seen.items()))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=40, help="submissions (default 40)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2],
                        help="our --workers values to time (default 1 2)")
    parser.add_argument("--otter-jobs", type=int, default=1,
                        help="otter run commands at once (default 1)")
    parser.add_argument("--no-execute-row", action="store_true",
                        help="skip our --notebook-mode execute row")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--keep", type=Path, help="work in this (new) folder and keep it")
    args = parser.parse_args(argv)
    if args.size < 1 or min(args.workers) < 1 or args.otter_jobs < 1:
        parser.error("--size, --workers and --otter-jobs must be at least 1")
    if 1 not in args.workers:
        parser.error("--workers must include 1: the ratios are to ours with one worker")
    try:
        versions = tool_env.versions()
    except tool_env.ToolsMissing as exc:
        print(f"compare_tools: {exc}", file=sys.stderr)
        return 2
    if args.keep and args.keep.exists():
        parser.error(f"--keep {args.keep} already exists")
    work = args.keep or Path(tempfile.mkdtemp(prefix="compare-tools-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        status = _run(args, work.resolve(), versions)
    except (subprocess.CalledProcessError, RuntimeError) as exc:  # a tool failed: keep its logs
        print(f"compare_tools: {exc}\n(kept the work folder with the tools' logs: {work})",
              file=sys.stderr)
        return 1
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return status


def _run(args, work: Path, versions: dict) -> int:
    students = equivalent_tests.students(args.size)
    print(f"{args.size} notebook submissions of {equivalent_tests.ASSIGNMENT} "
          f"({len(equivalent_tests.TESTS)} tests, {equivalent_tests.MAX_SCORE:g} points); "
          f"tools: nbgrader {versions['nbgrader']}, otter-grader {versions['otter-grader']}; "
          f"load average {common.machine()['load_average'][0]}", flush=True)
    course = nbgrader_side.Course(work / "nbgrader", work)
    otter = otter_side.Assignment(work / "otter", work)
    start = time.perf_counter()
    submitted = course.prepare(students)
    otter.prepare(students)
    klass = work / "class"
    klass.mkdir()
    for student, path in zip(students, submitted):  # the same files nbgrader grades
        shutil.copyfile(path, klass / f"{student.id}.ipynb")
    print(f"set-up (not timed): {time.perf_counter() - start:.0f} s", flush=True)

    rows = []
    for workers in args.workers:
        rows.append(_ours(klass, work / f"ours-{workers}", workers, "definitions"))
        print(f"  {rows[-1]['tool']}: {rows[-1]['wall_s']:.1f} s", flush=True)
    if not args.no_execute_row:
        rows.append(_ours(klass, work / "ours-execute", 1, "execute"))
        print(f"  {rows[-1]['tool']}: {rows[-1]['wall_s']:.1f} s", flush=True)
    rows.append(_timed_call("nbgrader autograde", " ".join(course.grade_command()), course.grade, 1))
    rows[-1]["scores"] = course.scores()
    print(f"  {rows[-1]['tool']}: {rows[-1]['wall_s']:.1f} s", flush=True)
    jobs = args.otter_jobs
    rows.append(_timed_call(f"otter run, {jobs} at a time",
                            "otter run -a autograder.zip -o results/<student> <student>.ipynb "
                            f"(one per student, {jobs} at a time)",
                            lambda: otter.grade(jobs), jobs))
    rows[-1]["scores"] = otter.scores()
    print(f"  {rows[-1]['tool']}: {rows[-1]['wall_s']:.1f} s", flush=True)

    baseline = {row["processes"]: row["wall_s"] for row in rows if row["tool"].startswith("ours")
                and row["tool"].endswith("definitions")}
    print(f"\n{'tool':<38} {'wall s':>8} {'subs/min':>9}   ratio to ours (1 worker{', 2 workers' if 2 in baseline else ''})")
    for row in rows:
        row["per_minute"] = common.per_minute(args.size, row["wall_s"])
        row["ratio"] = {str(w): row["wall_s"] / seconds for w, seconds in baseline.items()}
        ratios = ", ".join(f"{row['ratio'][str(w)]:.1f}x" for w in sorted(baseline))
        print(f"{row['tool']:<38} {row['wall_s']:>8.1f} {row['per_minute']:>9.1f}   {ratios}")
    disagreements = _disagreements(rows, students)
    counts = {row["tool"]: len(row["scores"]) for row in rows}
    short = {tool: n for tool, n in counts.items() if n != len(students)}
    for row in rows:
        row["scores_match"] = not disagreements and not short
    print("\nscores: " + ("every tool gave every student the same score"
                          if not disagreements and not short else "DISAGREE"))
    for line in disagreements:
        print(f"  {line}")
    for tool, n in short.items():
        print(f"  {tool} has scores for {n} of {len(students)} students")
    startup = _startup(work)
    print("start-up alone (median of 3): " + ", ".join(f"{k} {v:.2f} s" for k, v in startup.items()))
    common.write_json(args.json, {
        "benchmark": "compare_tools", "machine": common.machine(), "size": args.size,
        "tests": len(equivalent_tests.TESTS), "max_score": equivalent_tests.MAX_SCORE,
        "kinds": sorted({s.kind for s in students}), "versions": versions, "rows": rows, "startup_s": startup,
        "agree": not disagreements and not short, "disagreements": disagreements})
    return 0 if not disagreements and not short else 1


if __name__ == "__main__":
    sys.exit(main())
