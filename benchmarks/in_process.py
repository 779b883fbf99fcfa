"""The checks' computation alone: an assignment's checks run in this process, with no worker.

Why it exists: the denominator of the overhead ratio (benchmarks/overhead.py,
Note [Computation alone]).  It must be the same work the grader does for a
submission -- the same `Check.run` functions, the same reference calls, the
same student calls and the same comparisons -- with everything that exists
only to judge safely and report taken away: no worker process, no sandbox, no
pipe or wire format, no pytest, no staging in the timed part, no result files.
Never use this to grade real submissions: student code runs in the caller's
own process here, which is exactly what the grader exists to avoid (Note
[Trust boundary] in grader/worker/client.py).

# Note [Computation alone]
`InProcessWorker` answers the requests `Student` makes of a Worker by doing
the work directly: import the module, list its members, call the function
with references into earlier results resolved (Note [Worker objects] in
grader/worker/runtime.py), keep the result under a handle.  The one piece of
the worker it keeps is the conversion of each returned value to plain data
(`to_plain`, a copy of the arrays), because the checks read values in that
form (a model arrives as an opaque marker, a numpy scalar as a 0-d array) and
must reach the same verdicts; it is a copy of a few small arrays per call.  So
is the copy of each call's arguments, which the worker gets by crossing the
pipe: without it a student function that writes into its inputs (an optimizer
updating its config in place) changes the judge's own arrays, and the scores
drifted from the batch's by the order submissions ran in.  A
student exception becomes the same `StudentError`.  Staging (to find the
package) and the first import of the submission happen before the clock
starts; what is timed is each check's `run`, back to back.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import inspect
import io
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from grader.scoring import assignment as assignments
from grader.checks.student import Student
from grader.submission.stage import SubmissionError, stage
from grader.scoring.plugin import classify
from grader.worker import runtime
from grader.worker.client import CallResult, Part, Ref, StudentError, unmark


class InProcessWorker:
    """The Worker interface `Student` uses, done in this process (Note [Computation alone])."""

    mode = "in-process"

    def __init__(self) -> None:
        self.table = runtime.Table()
        self.notes: list[str] = []
        self.info: dict = {}
        self.starts = 1
        self.alive = True

    def start(self) -> None:
        pass

    def close(self) -> None:
        self.table = runtime.Table()

    def take_output(self) -> str:
        return ""

    def import_module(self, module: str, timeout: float | None = None,
                      describe: bool = False) -> dict:
        try:
            importlib.import_module(module)
        except Exception as exc:
            raise StudentError(type(exc).__name__, str(exc)) from None
        return {"members": self.describe(module)} if describe else {}

    def describe(self, module: str, timeout: float | None = None) -> dict[str, str]:
        obj = importlib.import_module(module)
        members = {}
        for name in dir(obj):
            member = getattr(obj, name, None)
            if not name.startswith("_") and callable(member):
                try:
                    members[name] = str(inspect.signature(member))
                except (TypeError, ValueError):
                    members[name] = ""
        return members

    def _invoke(self, function, args, kwargs, reads=None) -> CallResult:
        # The worker receives copies (they crossed the pipe): so do the student's functions here,
        # else one that writes into its inputs changes the judge's own arrays and configs.
        args = runtime._materialise(copy.deepcopy(list(args)), self.table)
        kwargs = runtime._materialise(copy.deepcopy(dict(kwargs)), self.table)
        try:
            result = function(*args, **kwargs)
        except Exception as exc:  # the student's exception, as the worker reports it
            raise StudentError(type(exc).__name__, str(exc)) from None
        handle = self.table.keep(result)
        values = []  # Note [Reads folded into a call] in grader/worker/client.py
        for ref in reads or ():
            read = runtime._read(ref.wire()["__ref__"], handle, self.table)
            values.append(unmark(read["value"]) if "value" in read else
                          StudentError(read["error"]["type"], read["error"]["message"]))
        return CallResult(unmark(runtime.to_plain(result)), Ref(handle), 0.0, reads=values)

    def call(self, module: str, attrs, *args, timeout: float | None = None,
             return_args: bool = False, reads=None, **kwargs) -> CallResult:
        target = importlib.import_module(module)
        for name in attrs.split(".") if isinstance(attrs, str) else attrs:
            target = getattr(target, name)
        return self._invoke(target, _wire_refs(args), _wire_refs(kwargs), reads)

    def call_ref(self, ref: Ref, method: str | None, *args, timeout: float | None = None,
                 return_args: bool = False, sets=None, reads=None, watch_inputs: bool = True,
                 **kwargs) -> CallResult:
        if sets:  # Note [Sets folded into a call] in grader/worker/client.py
            try:
                runtime._assign(_set_items(sets, []), self.table, batch=True)
            except Exception as exc:
                raise StudentError(type(exc).__name__, str(exc),
                                   index=getattr(exc, "grader_index", -1)) from None
        target = self.table.resolve(ref.wire()["__ref__"])
        if method:
            target = getattr(target, method)
        return self._invoke(target, _wire_refs(args), _wire_refs(kwargs), reads)

    def get(self, ref: Ref, timeout: float | None = None):
        return unmark(runtime.to_plain(self.table.resolve(ref.wire()["__ref__"])))

    def set(self, ref: Ref, value, timeout: float | None = None) -> None:
        runtime.op_set({"ref": ref.wire()["__ref__"], "value": _wire_refs(value)}, self.table)

    def set_many(self, items, timeout: float | None = None) -> None:  # Note [Batched sets]
        runtime.op_set({"items": [[ref.wire()["__ref__"], _wire_refs(value)]
                                  for ref, value in items]}, self.table)


    def train(self, ref: Ref, method: str, batches, *, state=None, owner=None, params=None,
              X=None, y=None, learning_rate: float = 0.0, timeout: float | None = None):
        """Note [Training mirrored in the worker] in grader/worker/runtime.py: each step when its
        result is asked for, the worker's own Training doing the installs and the update."""
        if state is None:
            state = self.table.keep(runtime.Training({
                "target": {"ref": ref.wire()["__ref__"], "attrs": [method]},
                "owner": owner.wire()["__ref__"], "params": copy.deepcopy(params),
                "X": X.copy(), "y": y.copy(), "learning_rate": learning_rate}))
        return _Steps(self._steps(self.table.objects[state], batches), state)

    def _steps(self, training, batches):
        for batch in batches:
            try:
                reply = training.step(batch.copy(), self.table)
            except Exception as exc:
                raise StudentError(type(exc).__name__, str(exc),
                                   index=getattr(exc, "grader_index", -1)) from None
            yield CallResult(unmark(reply["value"]), Ref(reply["handle"]), 0.0)

    def stream(self, calls, timeout: float | None = None):
        """Note [Streamed calls] in grader/worker/client.py: each call when its result is asked
        for, a Part(i) standing for result i; the first that raises ends them."""
        results: list[CallResult] = []
        for target, args, kwargs, *options in calls:
            option = options[0] if options else {}
            if "ref" in target:  # a method of an object kept earlier, its sets made first
                try:
                    runtime._assign(_set_items(option.get("sets"), results), self.table,
                                    batch=True)
                except Exception as exc:
                    raise StudentError(type(exc).__name__, str(exc),
                                       index=getattr(exc, "grader_index", -1)) from None
                ref = target["ref"]
                if isinstance(ref, dict) and "__part__" in ref:  # Part(i).wire(): result i's
                    index, *path = ref["__part__"]
                    ref = Ref(results[index].ref.handle, tuple(tuple(s) for s in path))
                    ref = ref.wire()["__ref__"]
                function = self.table.resolve(ref)
            else:
                function = importlib.import_module(target["module"])
            for name in target["attrs"]:
                function = getattr(function, name)
            args, kwargs = _parts(args, results), _parts(kwargs, results)
            results.append(self._invoke(function, _wire_refs(args), _wire_refs(kwargs),
                                        option.get("reads")))
            yield results[-1]


class _Steps:
    """A `train` request's steps as the Stream RemoteTraining reads (its `state`, `close`)."""

    def __init__(self, steps, state: int) -> None:
        self.steps, self.state = steps, state

    def __iter__(self) -> "_Steps":
        return self

    def __next__(self) -> CallResult:
        return next(self.steps)

    def close(self) -> None:
        self.steps.close()


def _set_items(sets, results: list) -> list:
    """A call's folded assignments, (Ref or Part, value[, "like"]) each, as runtime._assign
    takes them (Note [Sets in the student's shape] in grader/worker/runtime.py)."""
    return [[_parts(ref, results).wire()["__ref__"], _wire_refs(value), *like]
            for ref, value, *like in sets or ()]


def _parts(value, results: list):
    """Part(i) -> the Ref of results[i]."""
    if isinstance(value, Part):
        return Ref(results[value.index].ref.handle, value.path)
    if isinstance(value, dict):
        return {k: _parts(v, results) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_parts(v, results) for v in value)
    return value


def _wire_refs(value):
    """Ref objects -> the {"__ref__": [...]} markers runtime._materialise resolves."""
    if isinstance(value, Ref):
        return value.wire()
    if isinstance(value, dict):
        return {k: _wire_refs(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire_refs(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_wire_refs(v) for v in value)
    return value


@dataclass(frozen=True)
class Computed:
    submission: str
    seconds: float          # the checks' run functions, back to back
    score: float
    statuses: dict          # check id -> passed / failed / error


def compute_alone(path: Path, assignment: assignments.Assignment, name: str) -> Computed:
    """Run `assignment`'s checks on one submission in this process; see Note [Computation alone]."""
    try:
        staged = stage(Path(path), assignment.layout)
    except SubmissionError:
        return Computed(name, 0.0, 0.0, {})
    before = set(sys.modules)
    sys.path.insert(0, str(staged.root))
    try:
        worker = InProcessWorker()
        student = Student(worker, staged.modules, staged.files, dict(assignment.conventions),
                          missing=frozenset(staged.missing), aliases=dict(assignment.aliases))
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
                warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a buggy submission's RuntimeWarnings
            for module in staged.modules:  # the first import, outside the clock
                with contextlib.suppress(Exception):
                    student.members(module)
            statuses, score, seconds = {}, 0.0, 0.0
            for check in assignment.checks:
                student.call_timeout = check.timeout_s
                start = time.perf_counter()
                try:
                    check.run(student)
                    status = "passed"
                except Exception as exc:  # scored as the plugin scores it
                    status = classify(exc)[0]
                seconds += time.perf_counter() - start
                statuses[check.id] = status
                if status == "passed":
                    score += assignment.rubric.points[check.id]
        return Computed(name, seconds, round(score, 6), statuses)
    finally:
        sys.path.remove(str(staged.root))
        for module in set(sys.modules) - before:  # the next submission imports its own package
            if not module.startswith(("numpy", "grader", "reference")):
                del sys.modules[module]
        staged.cleanup()
