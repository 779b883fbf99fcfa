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
from typing import TYPE_CHECKING, Callable

from . import assignment as assignments
from ..worker import devices
from ..checks.spec import CheckFailure
from ..submission.stage import OtherVersionError, SubmissionError, stage
from .result import CheckResult, InlineAnswer, SubmissionResult, clip
from ..worker import launch

if TYPE_CHECKING:
    from ..worker.client import Worker, WorkerFailure


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


def _environment(worker: Worker | None, device: devices.Device = devices.CPU,
                 questions: str = "public") -> dict:
    info = worker.info if worker is not None else {}
    return {"device": str(device), "sandbox": worker.mode if worker is not None else "",
            "python": platform.python_version(), "worker_python": info.get("python", ""),
            "worker_numpy": info.get("numpy", ""), "platform": platform.platform(terse=True),
            "worker_start": worker.start_kind if worker is not None else "",
            # Note [Sandbox views] in grader/worker/sandbox.py: what was in force for this submission
            "isolation": dict(worker.isolation) if worker is not None else {},
            # Note [Fresh questions] in grader/checks/questions.py: the kind, never the secret
            "questions": questions}


def grade_submission(path: Path, assignment: assignments.Assignment,
                     options: Options = Options(), name: str | None = None) -> SubmissionResult:
    return Grading(path, assignment, options, name).finish()


class Grading:
    """`grade_submission` in two steps: `Grading(...)` stages the submission and launches its
    worker without waiting for it; `finish()` grades it and always cleans up (`close()` when
    it is not finished), so that what the judge does in between, such as `grade check`
    importing pytest and collecting the checks, overlaps the worker's start (Note [Early
    start] in grader/worker/client.py)."""

    def __init__(self, path: Path, assignment: assignments.Assignment,
                 options: Options = Options(), name: str | None = None) -> None:
        self.start = time.perf_counter()
        self.began = time.monotonic()  # the time budget counts staging too (Note [Time budget])
        self.path = Path(path)
        self.name = name or self.path.stem
        self.assignment, self.options = assignment, options
        self.device = devices.CPU
        self.worker: Worker | None = None
        self.staged = None
        self.conventions: dict = {}
        self.result: SubmissionResult | None = None  # set when nothing can be graded
        self._behind: tuple | None = None  # Note [Worker stopped behind the verdict]
        self._begin()

    def _failed(self, message: str, worker: Worker | None = None) -> SubmissionResult:
        return SubmissionResult(self.assignment.id, self.name, "error", 0.0,
                                self.assignment.rubric.max_score(),
                                round(time.perf_counter() - self.start, 3),
                                _environment(worker, self.device, self.assignment.questions.describe()),
                                message=message)

    def _begin(self) -> None:
        assignment, options = self.assignment, self.options
        try:
            self.device = submission_device(assignment, options.device)
        except devices.DeviceError as exc:
            self.result = self._failed(str(exc))
            return
        conventions = dict(assignment.conventions)
        if "device" in conventions:  # the framework assignments' helpers take it as an argument
            conventions["device"] = self.device.in_worker
        self.conventions = conventions
        try:
            layout = assignment.layout
            if options.notebook_mode:
                layout = dataclasses.replace(layout, notebook_mode=options.notebook_mode)
            staged = stage(self.path, layout)
        except OtherVersionError as exc:  # one line, not a zero (grader/submission/course_version.py)
            self.result = dataclasses.replace(self._failed(str(exc)), status="other_version")
            return
        except SubmissionError as exc:
            self.result = self._failed(str(exc))
            return
        staging_s = time.monotonic() - self.began
        if staging_s >= assignment.limits.budget():  # Note [Time budget] in grader/worker/client.py
            staged.cleanup()
            self.result = self._failed(
                f"staging the submission took {staging_s:.0f} s, the whole time budget of "
                f"{assignment.limits.budget():g} s; nothing was graded")
            return
        self.staged = staged
        # Note [NumPy names restored] in grader/worker/numpy_compat.py; `restore_numpy`
        restore_numpy = assignments.restores_numpy(assignment.conventions)
        if options.warm:  # Note [When workers are warm] in grader/worker/warm.py
            from ..worker.client import WorkerFailure
            from ..worker.warm import WarmWorker
            self.worker = WarmWorker(staged.root, limits=assignment.limits, python=options.python,
                                     sandbox_mode=options.sandbox, device=self.device,
                                     slots=options.warm, restore_numpy=restore_numpy)
            self.worker.start_budget(assignment.limits.budget(), self.began)
            try:
                self.worker.launch()  # Note [Early start]: `finish` waits for it
            except WorkerFailure as exc:
                self.result = self._could_not_start(exc)
                self.close()
            except BaseException:  # an interpreter that cannot be run, Ctrl-C: nothing left behind
                self.close()
                raise
            return
        # A cold worker's process is started before the judge imports numpy and the worker's
        # client, which its start overlaps (Note [Worker before numpy] in grader/worker/launch.py).
        try:
            launched = launch.start(Path(staged.root).resolve(), assignment.limits,
                                    launch.worker_python(options.python),
                                    launch.sandbox_mode(options.sandbox), self.device)
        except BaseException:  # an interpreter that cannot be run, Ctrl-C: nothing left behind
            self.close()
            raise
        try:
            from ..worker.client import Worker
            self.worker = Worker(staged.root, limits=assignment.limits, python=options.python,
                                 sandbox_mode=options.sandbox, device=self.device,
                                 restore_numpy=restore_numpy)
        except BaseException:
            launched.abandon()
            self.close()
            raise
        self.worker.start_budget(assignment.limits.budget(), self.began)
        self.worker.adopt(launched)  # Note [Early start]: `finish` waits for it

    def _could_not_start(self, exc: WorkerFailure) -> SubmissionResult:
        advice = (f"; see what that environment holds with `grade env check {self.options.python}`"
                  if self.options.python else "")
        return self._failed(f"the worker could not start: {exc}{advice}", self.worker)

    # Note [Teardown in parallel]
    # Stopping the worker is mostly waiting: for bubblewrap to exit, then for the killed
    # worker to leave its cgroup so that the cgroup can be removed (a few ms on a quiet
    # machine, tens on a loaded one); removing the staged copy is the judge's own file work.
    # `close` does the two at once, the worker stopped in a thread while the staged copy is
    # removed, and returns when both are done, as before: nothing is left behind, and an
    # error in either is raised here.
    def close(self) -> None:
        """Stop the worker and remove the staged copy (what `finish` does when it ends); after
        `finish(behind=True)`, wait until that is done (Note [Worker stopped behind the
        verdict])."""
        behind, self._behind = self._behind, None
        if behind is not None:
            thread, failed = behind
            thread.join()
            if failed:
                raise failed[0]
        self._close()

    def _close(self) -> None:
        worker, self.worker = self.worker, None
        staged, self.staged = self.staged, None
        # A warm worker also gives its slot back (grader/worker/warm.py), so that a process
        # that grades several submissions (benchmarks/overhead.py) finds the slot free.
        stop = getattr(worker, "release", worker.close) if worker is not None else None
        if stop is None or staged is None:
            if stop is not None:
                stop()
            if staged is not None:
                staged.cleanup()
            return
        import threading
        failed: list[BaseException] = []

        def stop_worker() -> None:
            try:
                stop()
            except BaseException as exc:  # raised below, in the caller's thread
                failed.append(exc)

        stopping = threading.Thread(target=stop_worker, name="grader-worker-stop")
        stopping.start()  # Note [Teardown in parallel]
        try:
            staged.cleanup()
        finally:
            stopping.join()
        if failed:
            raise failed[0]

    # Note [Worker stopped behind the verdict]
    # Once the checks have run, the result is made; what `close` still does (the worker's tree
    # killed and waited for, its cgroup removed, the staged copy deleted: 10-20 ms of `grade
    # check`, mostly waiting on the kernel) changes nothing in it.  `grade check` then prints
    # the verdict and writes the JSON (its two fsyncs: more waiting) and the report.  So with
    # `behind=True` `finish` starts `close` in a thread and returns the result; the caller
    # prints and writes meanwhile, then calls `close`, which waits for that thread and raises
    # what it raised, before the command returns, so that everything promised is done when it
    # ends, as before (Note [Exit without teardown] in grader/cli.py).  Nothing the verdict
    # depends on runs behind it; the worker gets no request after the result is made.
    def finish(self, behind: bool = False) -> SubmissionResult:
        """The result; the worker stopped and the staged copy removed, or with `behind`, being
        stopped and removed until `close` (Note [Worker stopped behind the verdict])."""
        if self.result is not None:
            return self.result
        try:
            result = self._grade()
        except BaseException:
            self.close()
            raise
        if not behind:
            self.close()
            return result
        import threading
        failed: list[BaseException] = []

        def close() -> None:
            try:
                self._close()
            except BaseException as exc:  # raised by `close`, in the caller's thread
                failed.append(exc)

        thread = threading.Thread(target=close, name="grader-close")
        thread.start()
        self._behind = (thread, failed)
        return result

    def complete(self, assignment: assignments.Assignment) -> None:
        """Grade with `assignment`, the whole of the one this grading began with, read as far as
        its manifest (Note [Manifest before checks] in grader/scoring/assignment.py): a result
        made already (nothing could be graded) gets its maximum score."""
        self.assignment = assignment
        if self.result is not None:
            self.result = dataclasses.replace(self.result, max_score=assignment.rubric.max_score())

    def _grade(self) -> SubmissionResult:
        from ..worker.client import WorkerFailure
        # Imported here, after the worker's launch (Note [Early start]): pytest, and the checks'
        # own machinery, which the checks module imported already where it was loaded after the
        # launch (Note [Manifest before checks] in grader/scoring/assignment.py).
        from . import plugin
        from ..checks import hints
        from ..checks.compare import on_device
        from ..checks.student import Student
        assignment, options, worker, staged = self.assignment, self.options, self.worker, self.staged
        failed = self._failed
        try:
            worker.wait_started()
        except WorkerFailure as exc:
            return self._could_not_start(exc)
        student = Student(worker, staged.modules, staged.files, self.conventions,
                          missing=frozenset(staged.missing), aliases=dict(assignment.aliases),
                          import_timeouts=dict(staged.import_timeouts), sources=dict(staged.sources),
                          observed=dict(staged.observed))
        cell_notes = _notebook_cells(student)
        try:
            with on_device(self.device.kind), _data_set(options.data_dir):
                results = plugin.run(assignment.checks, student, assignment.rubric.points,
                                     options.on_result, options.select,
                                     assignment.rubric.hidden_details)
        except plugin.NoChecks as exc:  # Note [Zero checks] in grader/scoring/plugin.py
            return failed(f"no check ran: {exc}", worker)
        score = round(sum(r.points for r in results), 6)
        notes = list(staged.notes) + cell_notes + list(worker.notes) + student.observation_notes()
        notes = list(dict.fromkeys(notes))  # Note [Each cell said once]
        cut = [r for r in results if r.status == "timeout" and "time budget" in r.message]
        if cut or worker.refused:  # Note [Time budget] in grader/worker/client.py
            notes.append(f"the submission's time budget of {assignment.limits.budget():g} s was "
                         f"spent: {len(cut)} check(s) cut or not run (status timeout)")
        if staged.missing:
            notes.append("not found in the submission: " + ", ".join(
                assignment.layout.files[m] for m in staged.missing))
        notes += _editions_notes(assignment, results)
        restored = (hints.restored_numpy_note(staged.sources, worker.info.get("numpy", ""))
                    if worker.restore_numpy else None)
        if restored:  # Note [NumPy names restored] in grader/worker/numpy_compat.py
            notes.append(restored)
        max_score = assignment.rubric.max_score()
        return SubmissionResult(assignment.id, self.name, "graded", score,
                                max_score if not options.select else
                                round(sum(r.max_points for r in results), 6),
                                round(time.perf_counter() - self.start, 3),
                                _environment(worker, self.device,
                                             self.assignment.questions.describe()),
                                tuple(results), notes=tuple(notes + _manual_note(assignment)),
                                answers=_answers(staged.answers, assignment.rubric.manual))


def _editions_notes(assignment: assignments.Assignment, results) -> list[str]:
    """One note per course edition that would leave out parts this submission lost points on
    (Note [Assigned parts] in grader/scoring/assignment.py)."""
    checks = {c.id: c for c in assignment.checks}
    lost: dict[tuple[str, str, str], tuple[dict, dict]] = {}  # edition -> (parts, check -> points)
    for result in results:
        check = checks.get(result.id)
        if check is None or result.status == "passed":
            continue
        for convention, value, who, part in assignments.editions_explaining(check, result.cause):
            if assignments.edition_hint(convention, value, who, part) not in result.hint:
                continue  # not said for this check: Note [A missing file is no edition's part]
            parts, points = lost.setdefault((convention, value, who), ({}, {}))
            parts[part] = True
            points[result.id] = result.max_points
    return [f"{', '.join(parts)} {'is' if len(parts) == 1 else 'are'} not assigned in {who}: "
            f"{sum(points.values()):g} of the points lost; if your course is one of them, grade "
            f"with --convention {convention}={value}"
            for (convention, value, who), (parts, points) in lost.items()
            if sum(points.values()) > 0]  # an advisory's failure costs nothing to explain


def _data_set(data_dir: str | None):
    """Train accuracy checks on `data_dir`'s data set inside the block (None: digits).  The
    module is imported only when asked: it needs reference/, which a student release lacks."""
    if not data_dir:
        return contextlib.nullcontext()
    from ..checks import training_data
    return training_data.using(data_dir)


def submission_device(assignment: assignments.Assignment, spec: str | None) -> devices.Device:
    """Where this assignment's framework code runs: the CPU for numpy assignments, else
    `spec` resolved (Note [Choosing the device] in grader/worker/devices.py)."""
    device = devices.resolve(spec)  # also says when the GPU asked for does not exist
    return device if assignment.gpu else devices.CPU


# Note [Each cell said once]
# A notebook graded by observation runs twice in one worker: its definitions-mode module
# (imported here, and by the function-style checks) and its observed run (every cell, Note
# [Executed only when needed] in grader/checks/observe.py).  A cell both runs execute (an
# import cell) reports the same thing twice: a course package imported through a Drive
# folder (Note [Course package under a Drive folder] in grader/worker/notebook_cells.py) was
# noted once by each run, in two wordings ("cell 4: note: ..." and "cell 4: ..."), so a
# report said it twice.  Both runs' cells are now said by one function (`cell_line` in
# grader/checks/observe.py), and the result's notes keep the first of equal lines.  A cell
# that does something different in the two runs still says each.
def _notebook_cells(student) -> list[str]:
    """Import the notebook modules now and note their cells that raised or ran out of time."""
    from ..worker.client import WorkerFailure
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
                from ..checks.observe import cell_line  # notebooks only (Note [What check imports])
                notes.append(clip(cell_line(student.files.get(module, module), cell), 1_000))
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
