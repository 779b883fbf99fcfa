"""Grade one submission: locate -> stage -> start worker -> run checks -> score -> result.

Each stage is its own module; this one only strings them together and turns
"nothing could be graded" into a result with status `error` (never a crash).
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import assignment as assignments
from . import plugin
from .checks.student import Student
from .locate import SubmissionError, stage
from .result import CheckResult, SubmissionResult
from .worker.client import Worker, WorkerFailure


@dataclass(frozen=True)
class Options:
    sandbox: str | None = None          # "auto", "bwrap", "rlimits"; None: GRADER_SANDBOX or auto
    python: str | None = None           # interpreter for the worker
    select: str | None = None           # pytest -k expression
    on_result: Callable[[CheckResult], None] | None = None


def _environment(worker: Worker | None) -> dict:
    info = worker.info if worker is not None else {}
    return {"device": "cpu", "sandbox": worker.mode if worker is not None else "",
            "python": platform.python_version(), "worker_python": info.get("python", ""),
            "worker_numpy": info.get("numpy", ""), "platform": platform.platform(terse=True)}


def grade_submission(path: Path, assignment: assignments.Assignment,
                     options: Options = Options(), name: str | None = None) -> SubmissionResult:
    start = time.perf_counter()
    path = Path(path)
    name = name or path.stem
    max_score = assignment.rubric.max_score()

    def failed(message: str, worker: Worker | None = None) -> SubmissionResult:
        return SubmissionResult(assignment.id, name, "error", 0.0, max_score,
                                round(time.perf_counter() - start, 3), _environment(worker),
                                message=message)

    try:
        staged = stage(path, assignment.layout)
    except SubmissionError as exc:
        return failed(str(exc))
    worker = Worker(staged.root, limits=assignment.limits, python=options.python,
                    sandbox_mode=options.sandbox)
    try:
        try:
            worker.start()
        except WorkerFailure as exc:
            return failed(f"the worker could not start: {exc}", worker)
        student = Student(worker, staged.modules, staged.files, dict(assignment.conventions),
                          missing=frozenset(staged.missing))
        results = plugin.run(assignment.checks, student, assignment.rubric.points,
                             options.on_result, options.select)
        score = round(sum(r.points for r in results), 6)
        notes = list(staged.notes) + list(worker.notes)
        if staged.missing:
            notes.append("not found in the submission: " + ", ".join(
                assignment.layout.files[m] for m in staged.missing))
        return SubmissionResult(assignment.id, name, "graded", score,
                                max_score if not options.select else
                                round(sum(r.max_points for r in results), 6),
                                round(time.perf_counter() - start, 3), _environment(worker),
                                tuple(results), notes=tuple(notes))
    finally:
        worker.close()
        staged.cleanup()
