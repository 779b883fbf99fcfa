"""What the benchmark scripts share: how to run our CLI, time a command, describe the machine.

Why it exists: every figure in benchmarks/RESULTS.md comes from a script in
this folder run as a user would run the tools (a subprocess per command), and
each script writes its figures as JSON (`--json FILE`) for
benchmarks/write_results.py.  The conventions live here once:

- `grade_argv`: our real CLI.  The course assignments go through the `grade`
  console script; the benchmark-only assignment (benchmarks/assignments, Note
  [Benchmark assignment]) goes through the same `grader.cli.main` with
  grader.scoring.assignment's ASSIGNMENTS_DIR / RUBRICS_DIR pointed here first, as
  tests/grader/test_cli.py does for its tiny assignment.  Job processes inherit
  those folders (grader/batch/job.py's JobSpec), so a batch grades it exactly as it
  would a course assignment.
- `timed`: wall-clock seconds of a command (time.perf_counter around
  subprocess.run), failing loudly on an unexpected exit status.
- `machine`: CPU model, cores, `nproc`, memory, load average, versions.

# Note [Benchmark assignment]
`fc_layers` (benchmarks/assignments/fc_layers, rubric in benchmarks/rubrics)
is fc_nets's layers.py checks, graded from a notebook (`notebooks: {layers:
"*.ipynb"}`).  It lives here rather than in assignments/ so that the course's
list of assignments stays the course's: it exists only so that nbgrader and
Otter can be given the same work (benchmarks/equivalent_tests.py).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GRADE = Path(sys.executable).with_name("grade")
BENCH_ASSIGNMENTS = HERE / "assignments"
BENCH_RUBRICS = HERE / "rubrics"
WITH_BENCH = ("import sys; from pathlib import Path; import grader.scoring.assignment as a; "
              f"a.ASSIGNMENTS_DIR = Path({str(BENCH_ASSIGNMENTS)!r}); "
              f"a.RUBRICS_DIR = Path({str(BENCH_RUBRICS)!r}); "
              "from grader.cli import main; sys.exit(main(sys.argv[1:]))")


def grade_argv(*args: str, bench: bool = False) -> list[str]:
    """Our CLI with `args`; `bench` for the benchmark-only assignments (Note [Benchmark assignment])."""
    if bench:
        return [sys.executable, "-c", WITH_BENCH, *args]
    return [str(GRADE), *args]


def shown(argv: list[str]) -> str:
    """A command as a person would type it (the -c wrapper shown by what it stands for)."""
    if len(argv) > 2 and argv[1] == "-c" and argv[2] == WITH_BENCH:
        return "grade " + " ".join(argv[3:]) + "  (benchmark assignment folder, see bench_common.py)"
    parts = [Path(a).name if i == 0 else a for i, a in enumerate(argv)]
    return " ".join(parts)


def timed(argv: list[str], ok: tuple[int, ...] = (0, 1), **kwargs) -> tuple[float, subprocess.CompletedProcess]:
    """(wall seconds, completed process); SystemExit with its output on another exit status."""
    start = time.perf_counter()
    completed = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    wall = time.perf_counter() - start
    if completed.returncode not in ok:
        raise SystemExit(f"{shown(argv)} failed (exit {completed.returncode}):\n"
                         f"{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}")
    return wall, completed


def result_scores(out_dir: Path) -> dict[str, float]:
    """submission id -> score, from a `grade batch` output folder's results/*.json."""
    return {p.stem: float(json.loads(p.read_text())["score"])
            for p in sorted((Path(out_dir) / "results").glob("*.json"))}


def result_durations(out_dir: Path) -> dict[str, float]:
    """submission id -> duration_s (grading time inside its job process)."""
    return {p.stem: float(json.loads(p.read_text())["duration_s"])
            for p in sorted((Path(out_dir) / "results").glob("*.json"))}


def result_environment(out_dir: Path, key: str) -> dict[str, str]:
    """submission id -> environment[key] (e.g. worker_start: "warm" or "cold")."""
    return {p.stem: str(json.loads(p.read_text())["environment"].get(key, ""))
            for p in sorted((Path(out_dir) / "results").glob("*.json"))}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 ** 2, 1)
    except OSError:
        pass
    return 0.0


def machine() -> dict:
    """The facts RESULTS.md states about the machine a run was taken on."""
    import numpy
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    return {"date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "cpu": _cpu_model(), "cpu_count": os.cpu_count(), "nproc": nproc,
            "memory_gib": _memory_gib(), "load_average": [round(x, 2) for x in os.getloadavg()],
            "platform": platform.platform(terse=True), "python": platform.python_version(),
            "numpy": numpy.__version__}


def command_line() -> str:
    """How this script was run, as RESULTS.md quotes it."""
    import shlex
    script = Path(sys.argv[0]).resolve()
    shown_script = script.relative_to(ROOT) if script.is_relative_to(ROOT) else script
    return shlex.join([".venv/bin/python", str(shown_script), *sys.argv[1:]])


def write_json(path: Path | None, payload: dict) -> None:
    """The script's figures for write_results.py, with the command line that made them."""
    if path is None:
        return
    payload = {"command_line": command_line(), **payload}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=1, sort_keys=False) + "\n")


def per_minute(count: int, seconds: float) -> float:
    return 60.0 * count / seconds if seconds > 0 else float("inf")


def job_probe(spec) -> int:
    """Run in a batch job process by overhead.py: take `spec`'s assignment as grade_job does
    (the template's, Note [Loaded once per batch] in grader/batch/job.py).
    Lives here, in a module the job process can import by name (not in a script's __main__)."""
    from grader.batch.job import assignment_of
    assignment_of(spec)
    return os.getpid()
