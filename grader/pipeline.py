"""Grade one submission: locate -> stage -> start worker -> run checks -> score -> result.

Each stage is its own module; this one only strings them together and turns
"nothing could be graded" into a result with status `error` (never a crash).
"""

from __future__ import annotations

import contextlib
import dataclasses
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import assignment as assignments
from . import devices, plugin
from .checks.compare import on_device
from .checks.spec import CheckFailure
from .checks.student import Student
from .locate import OtherVersionError, SubmissionError, stage
from .result import CheckResult, InlineAnswer, SubmissionResult, clip
from .worker.client import Worker, WorkerFailure


@dataclass(frozen=True)
class Options:
    sandbox: str | None = None          # "auto", "bwrap", "rlimits"; None: GRADER_SANDBOX or auto
    python: str | None = None           # interpreter for the worker
    select: str | None = None           # pytest -k expression
    on_result: Callable[[CheckResult], None] | None = None
    notebook_mode: str | None = None    # "definitions" or "execute"; None: the manifest's
    device: str | None = None           # "auto", "cpu", "cuda", "cuda:N"; None: auto
    data_dir: str | None = None         # accuracy checks' data set; None: digits
    warm: tuple[str, ...] = ()          # zygote slots (grader/worker/warm.py); (): cold workers


def _environment(worker: Worker | None, device: devices.Device = devices.CPU) -> dict:
    info = worker.info if worker is not None else {}
    return {"device": str(device), "sandbox": worker.mode if worker is not None else "",
            "python": platform.python_version(), "worker_python": info.get("python", ""),
            "worker_numpy": info.get("numpy", ""), "platform": platform.platform(terse=True),
            "worker_start": worker.start_kind if worker is not None else "",
            # Note [Sandbox views] in grader/sandbox.py: what was in force for this submission
            "isolation": dict(worker.isolation) if worker is not None else {}}


def grade_submission(path: Path, assignment: assignments.Assignment,
                     options: Options = Options(), name: str | None = None) -> SubmissionResult:
    start = time.perf_counter()
    began = time.monotonic()  # the time budget counts staging too (Note [Time budget])
    path = Path(path)
    name = name or path.stem
    max_score = assignment.rubric.max_score()

    def failed(message: str, worker: Worker | None = None) -> SubmissionResult:
        return SubmissionResult(assignment.id, name, "error", 0.0, max_score,
                                round(time.perf_counter() - start, 3), _environment(worker, device),
                                message=message)

    device = devices.CPU
    try:
        device = submission_device(assignment, options.device)
    except devices.DeviceError as exc:
        return failed(str(exc))
    conventions = dict(assignment.conventions)
    if "device" in conventions:  # the framework assignments' helpers take it as an argument
        conventions["device"] = device.in_worker
    try:
        layout = assignment.layout
        if options.notebook_mode:
            layout = dataclasses.replace(layout, notebook_mode=options.notebook_mode)
        staged = stage(path, layout)
    except OtherVersionError as exc:  # one line, not a zero (grader/course_version.py)
        return dataclasses.replace(failed(str(exc)), status="other_version")
    except SubmissionError as exc:
        return failed(str(exc))
    staging_s = time.monotonic() - began
    if staging_s >= assignment.limits.budget():  # Note [Time budget] in grader/worker/client.py
        staged.cleanup()
        return failed(f"staging the submission took {staging_s:.0f} s, the whole time budget of "
                      f"{assignment.limits.budget():g} s; nothing was graded")
    worker_class, extra = Worker, {}
    if options.warm:  # Note [When workers are warm] in grader/worker/warm.py
        from .worker.warm import WarmWorker
        worker_class, extra = WarmWorker, {"slots": options.warm}
    worker = worker_class(staged.root, limits=assignment.limits, python=options.python,
                          sandbox_mode=options.sandbox, device=device, **extra)
    worker.start_budget(assignment.limits.budget(), began)
    try:
        try:
            worker.start()
        except WorkerFailure as exc:
            advice = (f"; see what that environment holds with `grade env check {options.python}`"
                      if options.python else "")
            return failed(f"the worker could not start: {exc}{advice}", worker)
        student = Student(worker, staged.modules, staged.files, conventions,
                          missing=frozenset(staged.missing), aliases=dict(assignment.aliases),
                          import_timeouts=dict(staged.import_timeouts), sources=dict(staged.sources),
                          observed=dict(staged.observed))
        cell_notes = _notebook_cells(student)
        try:
            with on_device(device.kind), _data_set(options.data_dir):
                results = plugin.run(assignment.checks, student, assignment.rubric.points,
                                     options.on_result, options.select,
                                     assignment.rubric.hidden_details)
        except plugin.NoChecks as exc:  # Note [Zero checks] in grader/plugin.py
            return failed(f"no check ran: {exc}", worker)
        score = round(sum(r.points for r in results), 6)
        notes = list(staged.notes) + cell_notes + list(worker.notes) + student.observation_notes()
        cut = [r for r in results if r.status == "timeout" and "time budget" in r.message]
        if cut or worker.refused:  # Note [Time budget] in grader/worker/client.py
            notes.append(f"the submission's time budget of {assignment.limits.budget():g} s was "
                         f"spent: {len(cut)} check(s) cut or not run (status timeout)")
        if staged.missing:
            notes.append("not found in the submission: " + ", ".join(
                assignment.layout.files[m] for m in staged.missing))
        return SubmissionResult(assignment.id, name, "graded", score,
                                max_score if not options.select else
                                round(sum(r.max_points for r in results), 6),
                                round(time.perf_counter() - start, 3), _environment(worker, device),
                                tuple(results), notes=tuple(notes + _manual_note(assignment)),
                                answers=_answers(staged.answers, assignment.rubric.manual))
    finally:
        # A warm worker also gives its slot back (grader/worker/warm.py), so that a process
        # that grades several submissions (benchmarks/overhead.py) finds the slot free.
        getattr(worker, "release", worker.close)()
        staged.cleanup()


def _data_set(data_dir: str | None):
    """Train accuracy checks on `data_dir`'s data set inside the block (None: digits).  The
    module is imported only when asked: it needs reference/, which a student release lacks."""
    if not data_dir:
        return contextlib.nullcontext()
    from .checks import training_data
    return training_data.using(data_dir)


def submission_device(assignment: assignments.Assignment, spec: str | None) -> devices.Device:
    """Where this assignment's framework code runs: the CPU for numpy assignments, else
    `spec` resolved (Note [Choosing the device] in grader/devices.py)."""
    device = devices.resolve(spec)  # also says when the GPU asked for does not exist
    return device if assignment.gpu else devices.CPU


def _notebook_cells(student: Student) -> list[str]:
    """Import the notebook modules now and note their cells that raised or ran out of time."""
    notes = []
    for module in dict.fromkeys(student.import_timeouts):
        try:
            student.members(module)
            report = student.worker.call(student.modules[module], "_grader_notebook_report").value
        except Exception as exc:  # the checks that need the module report the failure
            if not isinstance(exc, (CheckFailure, WorkerFailure)):
                raise
            continue
        for cell in report if isinstance(report, list) else []:
            if isinstance(cell, dict):
                notes.append(clip(f"{student.files.get(module, module)} cell {cell.get('cell')}: "
                                  f"{cell.get('status')}: {cell.get('message')}", 1_000))
    return list(dict.fromkeys(notes))


def _answers(found, manual: dict[str, float]) -> tuple[InlineAnswer, ...]:
    """Inline answers with the points the rubric sets aside; questions not found are listed too."""
    answers, seen = [], set()
    for a in found:
        key = f"{Path(a.notebook).stem}/{a.question}"
        points = manual.get(key, manual.get(a.question, 0.0))
        seen.update((key, a.question))
        answers.append(InlineAnswer(a.question, a.answer, points, a.prompt, a.notebook))
    answers += [InlineAnswer(q, "", p, "(not found in the submission)") for q, p in manual.items()
                if q not in seen]
    return tuple(answers)


def _manual_note(assignment: assignments.Assignment) -> list[str]:
    total = sum(assignment.rubric.manual.values())
    return [f"{total:g} more points are for inline questions graded by hand; they are not part "
            f"of this score or its maximum"] if total else []
