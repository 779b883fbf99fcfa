"""What a check sees of a submission: named functions and objects, behind the worker.

Checks never touch the Worker directly: `Student` resolves a course name
("layers", "classifiers.fc_net") to the module the submission actually has,
says "not found (did you mean ...?)" for missing names, and turns every call
into plain data via the worker (Note [Trust boundary]).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Callable

from grader.worker.client import (RESULT, BudgetSpent, CallResult, Part, Ref, StudentError,
                                  Worker, WorkerCrashed, WorkerFailure, WorkerTimeout)

from .spec import CheckFailure


class MissingName(CheckFailure):
    """A function, class or module the assignment needs is not in the submission."""
    cause = "missing"


class MissingFile(MissingName):
    """A whole course file is not in the submission (its cause is still `missing`; Note [A
    missing file is no edition's part] in grader/scoring/assignment.py)."""


class ImportFailure(CheckFailure):
    """A module of the submission cannot be imported (syntax error, failing import...)."""
    cause = "import_error"


# Note [Names suggested for a missing one]
# A function not found is told with the closest name the file defines, which helps where the
# student renamed or misspelt it (`layer_norm_forward`, `relu_fwd`, `svm_los`).  By spelling
# alone the closest name is often another function of the course: a layers.py without
# `relu_forward` was asked "did you mean `dropout_forward`?", a missing group norm got the
# batch norm beside it, a missing forward pass its own backward pass.  A name is suggested
# only where it could be the same function: with the words the two share at the start and at
# the end set aside, what is left of each must be alike (difflib ratio 0.5 or more, the
# underscores dropped: relu/relu, batchnorm/batch_norm, forward/fwd, not relu/dropout,
# groupnorm/batchnorm, softmax/svm), or words added between shared ones (sgd_with_momentum,
# not batchnorm_backward for batchnorm_backward_alt, nor leaky_relu_forward for relu_forward),
# and never forward against backward.
def could_be_misnamed(name: str, candidate: str) -> bool:
    """Whether `candidate` may be `name` renamed or misspelt (Note [Names suggested for a
    missing one])."""
    words, others = name.lower().split("_"), candidate.lower().split("_")
    if {"forward", "backward"} <= set(words) | set(others) and (
            ("forward" in words) != ("forward" in others)):
        return False
    start = end = 0
    while start < min(len(words), len(others)) and words[start] == others[start]:
        start += 1
    while (end < min(len(words), len(others)) - start
           and words[len(words) - 1 - end] == others[len(others) - 1 - end]):
        end += 1
    left, right = words[start:len(words) - end], others[start:len(others) - end]
    if not left or not right:  # words added or left out: only between shared ones
        return start > 0 and end > 0
    return difflib.SequenceMatcher(None, "".join(left), "".join(right)).ratio() >= 0.5


@dataclass
class Student:
    """The submission as the checks see it."""
    worker: Worker
    modules: dict[str, str]          # course module name -> import name in the worker
    files: dict[str, str] = field(default_factory=dict)  # course module name -> file shown to students
    conventions: dict = field(default_factory=dict)      # the assignment's, with --convention overrides
    missing: frozenset = frozenset()                     # course modules the submission lacks
    notes: list[str] = field(default_factory=list)
    _members: dict[str, dict[str, str]] = field(default_factory=dict)
    _broken_modules: dict[str, ImportFailure] = field(default_factory=dict)
    _timed_out: dict[str, str] = field(default_factory=dict)
    _crashed: dict[str, str] = field(default_factory=dict)
    call_timeout: float | None = None  # the running check's Check.timeout_s, if it sets one
    aliases: dict = field(default_factory=dict)          # manifest name -> other names it accepts
    import_timeouts: dict = field(default_factory=dict)  # course module -> seconds (notebooks)
    sources: dict = field(default_factory=dict)          # course module -> source as staged
    _resolved: dict[tuple[str, str], str] = field(default_factory=dict)
    _warm_start: int = -1
    observed: dict = field(default_factory=dict)         # course module -> notebook run (observe.py)
    _observations: dict = field(default_factory=dict)
    _observe_failures: dict = field(default_factory=dict)
    _constants: dict = field(default_factory=dict)       # Note [Worker constants]
    # Judge-side results a check hands to later checks of the same submission, keyed by the
    # assignment's checks (e.g. Note [One run of each large sample] in assignments/dropout).
    shared: dict = field(default_factory=dict)

    def observation(self, provide=None, module: str | None = None):
        """The notebook run that recorded what the student's cells handed the course's helpers
        (grader/checks/observe.py).  Runs it on the first call (with `provide()`'s data); later calls
        reuse it; see Note [Executed only when needed] there."""
        from grader.checks.observe import Observation
        if module is None:
            if not self.observed:
                raise CheckFailure("this check grades a notebook run, and the submission has no "
                                   "notebook for it")
            module = next(iter(self.observed))
        if module not in self.observed:
            raise MissingName(f"no notebook found for {self._file(module)}")
        if module in self._observe_failures:
            raise self._observe_failures[module]
        current = self._observations.get(module)
        if current is None or current.stale:
            current = Observation(self, self.observed[module], module)
            try:
                current.execute(provide)
            except CheckFailure as failure:
                self._observe_failures[module] = failure
                raise
            self._observations[module] = current
        return current

    def observation_notes(self) -> list[str]:
        """What the notebook runs of this submission noted (failed cells, stand-ins missing)."""
        return [note for run in self._observations.values() for note in run.notes()]

    def recorded(self, kind: str, provide=None, module: str | None = None):
        """Shortcut: `observation(provide, module).recorded(kind)`."""
        return self.observation(provide, module).recorded(kind)

    def _import_name(self, module: str) -> str:
        return self.modules.get(module, module)

    def _file(self, module: str) -> str:
        return self.files.get(module, module.replace(".", "/") + ".py")

    def members(self, module: str) -> dict[str, str]:
        """Public callables of a module with their signatures; ImportFailure if it won't import."""
        # Note [Fail fast]: a module that cannot be imported, and a function (or
        # method) that once ran out of time or crashed the worker, are remembered,
        # so that the other checks needing them fail at once instead of each
        # restarting a worker or waiting out the time limit again (an infinite
        # loop at import time would otherwise cost the time limit once per check;
        # an import that sleeps just under the limit with an os._exit in every
        # function, one restart and import per check).  What is left is bounded
        # by the submission's time budget (Note [Time budget], client.py).
        if module in self._broken_modules:
            raise self._broken_modules[module]
        if module in self.missing:
            raise MissingFile(f"{self._file(module)} not found in the submission")
        if module not in self._members:
            import_name = self._import_name(module)
            try:
                # One request for both (Note [Import and describe] in grader/worker/client.py).
                self._members[module] = self.worker.import_module(
                    import_name, timeout=self.import_timeouts.get(module), describe=True)["members"]
            except StudentError as error:
                failure = ImportFailure(import_failure_message(self._file(module), error))
                self._broken_modules[module] = failure
                raise failure from None
            except (WorkerCrashed, WorkerTimeout) as error:
                failure = ImportFailure(f"importing {self._file(module)} did not finish: {error}")
                self._broken_modules[module] = failure
                raise failure from None
        return self._members[module]

    def require(self, module: str, name: str) -> str:
        """The name `module` defines for `name` (itself or an alias); MissingName otherwise."""
        # Note [Aliases]: the manifest's `aliases` lets a student's `batchnorm_forward`
        # stand for `batch_norm_forward`; the first alias defined wins and the check
        # that used it says so, so a grader reading the report knows which code ran.
        members = self.members(module)
        if name in members:
            return name
        alias = next((a for a in self.aliases.get(name, ()) if a in members), None)
        if alias is not None:
            if (module, name) not in self._resolved:
                self._resolved[(module, name)] = alias
                self.notes.append(f"graded `{alias}` in {self._file(module)} as `{name}` "
                                  f"(an alias the assignment accepts)")
            return alias
        close = [c for c in difflib.get_close_matches(name, list(members), n=5, cutoff=0.6)
                 if could_be_misnamed(name, c)]  # Note [Names suggested for a missing one]
        suggestion = f" (did you mean `{close[0]}`?)" if close else ""
        raise MissingName(f"`{name}` not found in {self._file(module)}{suggestion}")

    def signature(self, module: str, name: str) -> str:
        return self.members(module)[self.require(module, name)]

    def _warm_up(self) -> None:
        """Re-import slow (notebook) modules with their own time limit after a worker restart.

        Otherwise the first call after a restart would import them inside its own,
        shorter, call timeout.  Failures are left for that call to report."""
        if not self.import_timeouts or self.worker.alive and self.worker.starts == self._warm_start:
            return
        try:
            if not self.worker.alive:
                self.worker.start()
            for module, seconds in self.import_timeouts.items():
                if module not in self._broken_modules and module not in self.missing:
                    self.worker.import_module(self._import_name(module), timeout=seconds)
        except WorkerFailure:
            pass
        self._warm_start = self.worker.starts

    # Note [A course helper remembered per student function]
    # Note [Fail fast] remembers what ran out of time or crashed by the function called.  Some
    # checks call a course helper that runs the student's function for them (tf_norms'
    # `grader_tape.call_with_tensors(module, function, ...)`, tensorflow's `call_with_tensors`):
    # keyed by the helper, a `batch_norm` that never returned made every later check of
    # `layer_norm` and `weight_norm` fail with "`call_with_tensors` already ran out of time",
    # a wrong verdict on correct functions, naming the grader's helper.  Such a call passes
    # `remember_as`, the student's function it runs: it is remembered, refused and named by
    # that function, so only the checks of the function that failed are refused.
    def call(self, module: str, name: str, *args, timeout: float | None = None,
             return_args: bool = False, reads: list[Ref] | None = None,
             value_items: list[int] | None = None, remember_as: str | None = None,
             **kwargs) -> CallResult:
        """Call module.name in the worker; student exceptions propagate as StudentError.
        `reads`: values read after it in the same request (Note [Reads folded into a call] in
        grader/worker/client.py); `value_items`: only those items of a returned tuple or list
        come back, the others None (Note [Items of a result] in grader/worker/runtime.py);
        `remember_as`: the student's function a course helper runs (Note [A course helper
        remembered per student function])."""
        actual = self.require(module, name)
        self._warm_up()
        timeout = timeout or self.call_timeout
        more = {"reads": reads} if reads else {}
        if value_items is not None:
            more["value_items"] = value_items
        key, shown = ((f"{module}.{name}", name) if remember_as is None
                      else (f"{module}.{name}:{remember_as}", remember_as))
        result = self.remembering(key, shown, lambda: self.worker.call(
            self._import_name(module), actual, *args, timeout=timeout, return_args=return_args,
            **more, **kwargs))
        self._note_mutations(name, result)
        return result

    # Note [Worker constants]
    # Some arguments are worker-side objects of the libraries, not of the submission: fc_nets
    # passes `dtype=np.float32` as the worker's own np.float32 (Note [dtype across the wire] in
    # assignments/fc_nets/checks.py), which took one `numpy.dtype(name)` request per model
    # built, 22 per fc_nets submission.  `constant` makes such an object once per worker process
    # and hands back the same handle until that process is replaced (a handle names an object
    # of one process only), so every later use resolves the same object the first call made.
    # Note [Constants made together]
    # fc_nets builds models of two dtypes, so it made `numpy.dtype("float64")` in one request and
    # `numpy.dtype("float32")` in another, later.  `prefetch_constants` makes the constants a
    # check will need in one request (Note [Streamed calls] in grader/worker/client.py), each
    # kept as `constant` keeps it; they are library objects, made by the same calls as one by
    # one, only earlier, and no student code runs in between.  Where that request fails (a
    # submission that broke numpy in its worker), nothing is kept, and `constant` makes each
    # one again, alone, and meets the failure as it always did.
    def constant(self, module: str, attrs: str, *args) -> Ref:
        """The handle of `module.attrs(*args)` made in the worker, once per worker process
        (Note [Worker constants]); for library objects only, never student functions."""
        key = (module, attrs, args)
        if self._holds(key):
            return self._constants[key][1]
        ref = self.worker.call(module, attrs, *args).ref
        self._constants[key] = (self.worker.starts, ref)
        return ref

    def prefetch_constants(self, module: str, attrs: str, arguments: list[tuple]) -> None:
        """Make `constant(module, attrs, *args)` for each args of `arguments` not yet held, in
        one request (Note [Constants made together]); a failure is left for `constant` to meet
        again when that constant is asked for."""
        wanted = [args for args in arguments if not self._holds((module, attrs, args))]
        if len(wanted) < 2:
            return
        target = {"module": module, "attrs": attrs.split(".")}
        try:
            stream = self.worker.stream([(target, list(args), {}) for args in wanted])
            try:
                for args in wanted:
                    self._constants[(module, attrs, args)] = (self.worker.starts, next(stream).ref)
            finally:
                stream.close()
        except WorkerFailure:
            pass

    def _holds(self, key: tuple) -> bool:
        held = self._constants.get(key)
        return held is not None and self.worker.alive and held[0] == self.worker.starts

    def timed_out(self, key: str) -> bool:
        """Whether the call remembered as `key` ran out of time in an earlier check (Note [Fail
        fast]): a check that words its own message for a refused call asks this."""
        return key in self._timed_out

    def crashed(self, key: str) -> bool:
        """Whether the call remembered as `key` crashed the worker in an earlier check (Note
        [Fail fast])."""
        return key in self._crashed

    def remembering(self, key: str, name: str, call, timeouts: bool = True):
        """`call()`, unless `key` timed out (when `timeouts`) or crashed before (Note [Fail fast])."""
        if timeouts and key in self._timed_out:
            raise WorkerTimeout(f"`{name}` already ran out of time in an earlier check "
                                f"({self._timed_out[key]}); it was not called again")
        if key in self._crashed:
            raise WorkerCrashed(f"`{name}` already crashed the worker in an earlier check "
                                f"({self._crashed[key]}); it was not called again")
        try:
            return call()
        except WorkerFailure as error:
            self._remember(key, error, timeouts)
            raise

    def _remember(self, key: str, error: WorkerFailure, timeouts: bool = True) -> None:
        if isinstance(error, BudgetSpent):
            return  # not the function's doing
        if isinstance(error, WorkerTimeout):
            if timeouts:
                self._timed_out[key] = str(error).splitlines()[0]
        elif isinstance(error, WorkerCrashed):
            self._crashed[key] = str(error).splitlines()[0]

    # Note [Library calls in a stream]
    # A check may make calls of the libraries, not of the submission, in a stream: fc_nets
    # seeds the worker's np.random before building a model (Note [Model construction in one
    # request] in assignments/fc_nets/checks.py).  Such a call, marked "library", is made by
    # its import name, as `constant` and cnn's seeding (`student.worker.call`) make theirs,
    # without listing the library's members first: describing numpy.random cost 8 ms of
    # worker time per submission, to find `seed`, which numpy always has.  A submission that
    # deleted it from the worker's numpy gets the AttributeError of the call, not "not found".
    def calls(self, module: str, calls: list[tuple], timeout: float | None = None) -> "Calls":
        """`module.name(*args, **kwargs)` for each (name, args, kwargs), in order, as one request
        (Note [Streamed calls] in grader/worker/client.py); an argument may be `Part(i)` (the
        result of call i, `.item(k)`...).  A call may have a fourth element, a dict with
        "module" (another course module for that call, or with "library" a library's module,
        Note [Library calls in a stream]) and "reads" (Note [Reads folded into a call] in
        grader/worker/client.py).  Use it in a `with` and take the results with `next`:
        each call's StudentError, timeout or crash is raised at its own `next`, and is
        remembered as `call` remembers it (Note [Fail fast])."""
        return Calls(self, module, list(calls), timeout or self.call_timeout)

    def method_calls(self, calls: list[tuple], timeout: float | None = None,
                     ahead: bool = False) -> "MethodCalls":
        """`obj.method(*args, **kwargs)` for each (obj, method, args, kwargs, set_items) (obj a
        RemoteObject; `set_items` as RemoteObject.call's, or None), in order, as one request
        (Note [Streamed calls] in grader/worker/client.py).  Take the results with `next` in a
        `with`, as from `calls`: each call's StudentError (`index` >= 0: an assignment of its
        `set_items`), timeout or crash is raised at its own `next`, and a crash is remembered
        as RemoteObject.call remembers it (Note [Fail fast]).  `ahead`: sent now even when it is
        a single call, so that the judge can work before it takes the result (Note [Judge works
        while the worker computes])."""
        return MethodCalls(self, list(calls), timeout or self.call_timeout, ahead)

    def new(self, module: str, class_name: str, *args, timeout: float | None = None,
            reads: tuple = (), **kwargs) -> "RemoteObject":
        """`module.class_name(*args, **kwargs)` in the worker, as a RemoteObject.  `reads`:
        attribute paths of the new object (("params",)) read in the same request, for
        `RemoteObject.initial` (Note [Reads folded into a call] in grader/worker/client.py)."""
        refs = [_path_ref(RESULT, path) for path in reads]
        result = self.call(module, class_name, *args, timeout=timeout, reads=refs, **kwargs)
        return RemoteObject(self, result.ref, class_name, dict(zip(reads, result.reads)))

    # Note [Built and asked in one request]
    # A check that builds an object and asks it one question with the judge's values installed
    # (cnn's `exact_loss`: `ThreeLayerConvNet(...)`, its `params` read, then `params[...] = ...`
    # and `loss`) paid two round trips: the values went in the shapes the object keeps them
    # in, known only from the read.  `new_and_call` sends both calls in one request (Note
    # [Streamed calls] in grader/worker/client.py), the question on the object the first call
    # made (`Part(0)`), its values assigned "like" (Note [Sets in the student's shape] in
    # grader/worker/runtime.py: in the shapes the object holds, as that read would have put
    # them).  `model()` gives the object (its reads), raising what `new` raised; `answer()`
    # gives the question's CallResult, raising what the object's `call` raised; each failure
    # remembered as those calls remember it (Note [Fail fast]).  The same calls in the same
    # order; where the judge stops after the first (its reads fail a check), the question it
    # no longer wants was still asked and its reply is drained with the next request.  Where
    # the class is missing or a call was refused before, `model()` and `answer()` make their
    # own requests, as before.
    def new_and_call(self, module: str, class_name: str, args: tuple, kwargs: dict,
                     reads: tuple, method: str, call_args: tuple,
                     set_items: tuple) -> tuple[Callable[[], "RemoteObject"], Callable[[], CallResult]]:
        """(model, answer): `new(module, class_name, *args, reads=reads, **kwargs)` and that
        object's `call(method, *call_args, set_items=set_items)`, `set_items` (attr, values,
        "like"), in one request (Note [Built and asked in one request])."""
        made: list = []
        new_key, call_key = f"{module}.{class_name}", f"object {class_name}.{method}"
        try:
            actual = self.require(module, class_name)
        except CheckFailure:
            actual = None
        if actual is None or self.timed_out(new_key) or self.crashed(new_key) \
                or self.crashed(call_key):
            def model() -> RemoteObject:
                made.append(self.new(module, class_name, *args, reads=reads, **kwargs))
                return made[0]
            return model, lambda: made[0].call(method, *call_args, set_items=set_items)
        self._warm_up()
        built = Part(0)
        sets = [(built.attr(set_items[0]).item(key), value, *set_items[2:])
                for key, value in set_items[1].items()]
        try:
            stream = self.worker.stream(
                [({"module": self._import_name(module), "attrs": actual.split(".")}, args, kwargs,
                  {"reads": [_path_ref(RESULT, path) for path in reads]}),
                 ({"ref": built.wire(), "attrs": [method]}, call_args, {},
                  {"sets": sets, "watch_inputs": False})], timeout=self.call_timeout)
        except WorkerFailure as error:  # sending (a worker that would not start): the first call's
            self._remember(new_key, error)
            raise

        def model() -> RemoteObject:
            try:
                result = next(stream)
            except WorkerFailure as error:
                self._remember(new_key, error)
                raise
            self._note_mutations(class_name, result)
            return RemoteObject(self, result.ref, class_name, dict(zip(reads, result.reads)))

        def answer() -> CallResult:
            try:
                return next(stream)
            except WorkerFailure as error:
                self._remember(call_key, error, timeouts=False)
                raise
        return model, answer

    def _note_mutations(self, name: str, result: CallResult) -> None:
        # Only whole array arguments count; dicts such as bn_param are meant to change.
        for path in result.mutated:
            if path.count("[") == 1:
                note = f"`{name}` wrote into its input {path}: the grader passed a copy, " \
                       f"but callers of your function may not expect that"
                if note not in self.notes:
                    self.notes.append(note)


class Calls:
    """The results of `Student.calls`, one per `next`, in order (Note [Streamed calls] in
    grader/worker/client.py).  The calls go as one request when every name is found and none
    of them is refused by Note [Fail fast]; otherwise one `Student.call` each, at its `next`,
    so that what is refused or missing is said at the very call that says it one by one."""

    def __init__(self, student: Student, module: str, calls: list, timeout: float | None) -> None:
        self.student, self.timeout = student, timeout
        self.calls = [call[:3] for call in calls]
        options = [call[3] if len(call) > 3 else {} for call in calls]
        self.modules = [option.get("module", module) for option in options]
        self.reads = [option.get("reads") or [] for option in options]
        # Note [Library calls in a stream]
        self.library = [bool(option.get("library")) for option in options]
        self.results: list[CallResult] = []
        self.keys = [f"{m}.{name}" for m, (name, _, _) in zip(self.modules, self.calls)]
        self.stream = None
        try:
            actual = [name if library else student.require(m, name)
                      for m, (name, _, _), library in zip(self.modules, self.calls, self.library)]
        except CheckFailure:
            return  # one by one: the missing name is reported at its own call
        if len(calls) < 2 or any(student.timed_out(k) or student.crashed(k) for k in self.keys):
            return
        student._warm_up()
        try:
            self.stream = student.worker.stream(
                [({"module": m if library else student._import_name(m), "attrs": name.split(".")},
                  args, kwargs, {"reads": reads})
                 for m, name, (_, args, kwargs), reads, library
                 in zip(self.modules, actual, self.calls, self.reads, self.library)],
                timeout=timeout)
        except WorkerFailure as error:  # sending (a worker that would not start): the first call's
            student._remember(self.keys[0], error)
            raise

    def __iter__(self) -> "Calls":
        return self

    def __next__(self) -> CallResult:
        index = len(self.results)
        if index >= len(self.calls):
            raise StopIteration
        name, args, kwargs = self.calls[index]
        if self.stream is None and self.library[index]:
            args, kwargs = self._refs(args), self._refs(kwargs)
            worker = self.student.worker
            result = self.student.remembering(self.keys[index], name, lambda: worker.call(
                self.modules[index], name, *args, timeout=self.timeout, reads=self.reads[index],
                **kwargs))
        elif self.stream is None:
            args, kwargs = self._refs(args), self._refs(kwargs)
            result = self.student.call(self.modules[index], name, *args, timeout=self.timeout,
                                       reads=self.reads[index], **kwargs)
        else:
            try:
                result = next(self.stream)
            except WorkerFailure as error:
                self.student._remember(self.keys[index], error)
                raise
            except StopIteration:  # the stream ended early: a request came between
                raise RuntimeError("a streamed call was read after another request") from None
            self.student._note_mutations(name, result)
        self.results.append(result)
        return result

    def _refs(self, value):
        """Part(i) as the Ref of result i (one call at a time)."""
        if isinstance(value, Part):
            return Ref(self.results[value.index].ref.handle, value.path)
        if isinstance(value, (list, tuple)):
            return type(value)(self._refs(v) for v in value)
        if isinstance(value, dict):
            return {k: self._refs(v) for k, v in value.items()}
        return value

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()

    def __enter__(self) -> "Calls":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# Note [Judge works while the worker computes]
# A request's reply is read only when the check needs it, and the worker starts on a request
# as soon as it is written, so whatever the judge computes between sending a request and
# reading its reply (the reference's answer to the same question, above all) runs while the
# worker computes the student's: on two cores the two overlap instead of taking turns.  So
# checks send first and compute the reference after: each training step of fc_nets's
# overfitting check (`method_calls(..., ahead=True)`, one call sent as a stream of one, Note
# [Streamed calls] in grader/worker/client.py, then the reference's loss and gradients at the
# same parameters, then the student's reply), a backward check's chain (grader/checks/
# builders.py: the reference's forward passes first, as the upstream gradients take their
# shapes, then the chain, then the reference's backward passes), a model check's questions
# (the reference model's answer before each reply is read).  The reference is computed from
# the judge's own inputs only, never from a reply, so it is the same numbers whenever it is
# computed, and each reply is judged exactly as before: the same comparisons in the same
# order, the same messages, the same failure (a StudentError, timeout or crash is raised by
# the `next` that reads that reply, as before).  The only difference is that the reference
# is also computed when the student's call then fails, work that is thrown away.  Measured on
# a correct fc_nets submission (warm worker, load 2.9-3.8, median of 7): the overfitting check
# took 138 ms instead of 205 (with Note [Pipe size] in client.py), the checks' run functions
# together 278 ms instead of 403 (with Note [Liveness without the zygote] in warm.py too).
# A stream of one call is the request `RemoteObject.call` would send, sent earlier: the same
# target, arguments, assignments and time limit (counted from when it was sent, as a call's
# is), a crash remembered as `RemoteObject.call` remembers it; like every MethodCalls stream
# it is preceded by `Student._warm_up` (which does something only after a worker restart of a
# notebook submission, whose objects were lost with that worker anyway).

class MethodCalls:
    """The results of `Student.method_calls`, one per `next`, in order.  One request when none
    of the methods crashed the worker before (Note [Fail fast]) and there are several calls
    or `ahead` (Note [Judge works while the worker computes]); otherwise one
    `RemoteObject.call` each, at its `next`, as Calls does."""

    def __init__(self, student: Student, calls: list, timeout: float | None,
                 ahead: bool = False) -> None:
        self.student, self.timeout, self.results = student, timeout, []
        self.calls = [(obj, method, args, kwargs, obj._sets(set_items))
                      for obj, method, args, kwargs, set_items in calls]
        self.keys = [f"object {obj.class_name}.{method}" for obj, method, *_ in self.calls]
        self.stream = None
        if len(calls) < (1 if ahead else 2) or any(student.crashed(k) for k in self.keys):
            return
        student._warm_up()
        try:
            self.stream = student.worker.stream(
                [({"ref": obj.ref.wire()["__ref__"], "attrs": [method]}, args, kwargs,
                  {"sets": sets, "watch_inputs": False})
                 for obj, method, args, kwargs, sets in self.calls], timeout=timeout)
        except WorkerFailure as error:  # sending (a worker that would not start): the first call's
            student._remember(self.keys[0], error, timeouts=False)
            raise

    def __iter__(self) -> "MethodCalls":
        return self

    def __next__(self) -> CallResult:
        index = len(self.results)
        if index >= len(self.calls):
            raise StopIteration
        obj, method, args, kwargs, sets = self.calls[index]
        if self.stream is None:
            result = obj._call(method, args, kwargs, self.timeout, sets)
        else:
            try:
                result = next(self.stream)
            except WorkerFailure as error:
                self.student._remember(self.keys[index], error, timeouts=False)
                raise
            except StopIteration:  # the stream ended early: a request came between
                raise RuntimeError("a streamed call was read after another request") from None
        self.results.append(result)
        return result

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()

    def __enter__(self) -> "MethodCalls":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# Note [Training in few requests]
# The judge's side of Note [Training mirrored in the worker] (grader/worker/runtime.py).  The
# steps go in `train` requests of 1, 3, 12, 48... steps (each request sent once every step of
# the one before was read, i.e. verified), so that a training that fails its first check costs
# one step of the worker's time, as before, and one that fails at step k costs at most 3k
# steps that no check looks at (drained as Note [Streamed calls] drains a stream), while the
# 40 steps of the overfitting checks take 4 requests instead of 40 (7 with requests of 1, 1,
# 2, 4... steps).  `ahead` sends the next
# request, if one is due, before the judge computes the reference's answer to the step (Note
# [Judge works while the worker computes]); `next` reads the step's reply.  Each step is judged
# exactly as the step's own request was: the same parameters installed (the worker's mirror,
# the judge's to the bit), the same call, its StudentError (`index` >= 0 for an assignment),
# timeout or crash raised at that step's `next`, a crash remembered against the method as
# `MethodCalls` remembers it, each step's time limit counted from the reply before it.  A
# method that crashed the worker in an earlier check is not sent: each `next` then makes the
# step's own call, which `RemoteObject.call` refuses (Note [Fail fast]), as before.

class RemoteTraining:
    """SGD steps of `model.method(X[batch], y[batch])`, the judge's parameters installed into
    `model.attr` first, the worker keeping their mirror (Note [Training in few requests])."""

    def __init__(self, model: "RemoteObject", method: str, attr: str, start: dict, X, y,
                 learning_rate: float, batches: list, timeout: float | None = None) -> None:
        self.model, self.method, self.attr, self.start = model, method, attr, start
        self.X, self.y, self.learning_rate, self.batches = X, y, learning_rate, list(batches)
        self.student = model.student
        self.timeout = timeout or self.student.call_timeout
        self.key = f"object {model.class_name}.{method}"
        self.sent = self.read = 0
        self.stream = None
        self.state: int | None = None

    def ahead(self) -> None:
        """Send the next request of steps when every step sent so far was read."""
        student = self.student
        if self.read < self.sent or self.sent >= len(self.batches) or student.crashed(self.key):
            return
        count = min(max(1, 3 * self.sent), len(self.batches) - self.sent)
        chunk = self.batches[self.sent:self.sent + count]
        self.model._flush()
        student._warm_up()
        try:
            if self.state is None:
                self.stream = student.worker.train(
                    self.model.ref, self.method, chunk, owner=self.model.ref.attr(self.attr),
                    params=self.start, X=self.X, y=self.y, learning_rate=self.learning_rate,
                    timeout=self.timeout)
            else:
                self.stream = student.worker.train(self.model.ref, self.method, chunk,
                                                   state=self.state, timeout=self.timeout)
        except WorkerFailure as error:  # sending (a worker that would not start): this step's
            student._remember(self.key, error, timeouts=False)
            raise
        self.sent += count

    def next(self, values: Callable[[], dict]) -> CallResult:
        """The reply of the next step; `values()`: the parameters it installs, for a step
        that is not sent ahead (the method crashed the worker before)."""
        index = self.read
        self.read += 1
        if index >= self.sent:  # not sent: the step's own call, refused by Note [Fail fast]
            batch = self.batches[index]
            return self.model._call(self.method, (self.X[batch], self.y[batch]), {},
                                    self.timeout, self.model._sets((self.attr, values())))
        try:
            result = next(self.stream)
        except WorkerFailure as error:
            self.student._remember(self.key, error, timeouts=False)
            raise
        except StopIteration:  # the stream ended early: a request came between
            raise RuntimeError("a training step was read after another request") from None
        if self.stream.state is not None:
            self.state = self.stream.state
        return result

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()


def _path_ref(ref: Ref, path: tuple) -> Ref:
    """`ref`.attr(path[0]).item(path[1])...: an attribute, then items (RemoteObject.get's paths)."""
    ref = ref.attr(path[0])
    for key in path[1:]:
        ref = ref.item(key)
    return ref


@dataclass
class RemoteObject:
    """An object living in the worker (a model, a solver): call methods, read attributes."""
    student: Student
    ref: Ref
    class_name: str
    initial_reads: dict = field(default_factory=dict)  # path -> value or StudentError (Student.new)
    deferred: tuple | None = None  # (attr, values) for the next request (`defer_set_items`)

    def initial(self, *path: str):
        """What `get(*path)` returned right after the object was made, read in the same request
        (`Student.new(..., reads=[path])`, Note [Reads folded into a call] in
        grader/worker/client.py); a separate `get` when that path was not read then."""
        if path not in self.initial_reads:
            return self.get(*path)
        value = self.initial_reads[path]
        if isinstance(value, StudentError):
            raise value
        return value

    def call(self, method: str, *args, timeout: float | None = None, return_args: bool = False,
             set_items: tuple[str, dict] | None = None, reads: tuple = (),
             **kwargs) -> CallResult:
        """Call a method; `set_items=(attr, values)` first makes obj.attr[key] = value for each
        item, in the same request (Note [Sets folded into a call] in grader/worker/client.py):
        a StudentError with `index` >= 0 is then the assignment at that position.  `reads`:
        attribute paths of the object read after the call, in the result's `reads` (Note
        [Reads folded into a call])."""
        return self._call(method, args, kwargs, timeout, self._sets(set_items), reads, return_args)

    def _call(self, method: str, args, kwargs: dict, timeout: float | None, sets: list,
              reads: tuple = (), return_args: bool = False) -> CallResult:
        """`call` with its assignments as (Ref, value) pairs (`_sets`)."""
        timeout = timeout or self.student.call_timeout
        # A method's writes into its inputs are not reported (only functions' are: `Student.call`),
        # so the worker is not asked to look for them (`watch_inputs`).
        # Note [Fail fast]: a method that crashed the worker is not called again.  Its
        # timeouts are not remembered: objects of one class differ in size between checks.
        name = f"{self.class_name}.{method}" if method else self.class_name
        more = {"reads": [_path_ref(self.ref, path) for path in reads]} if reads else {}
        return self.student.remembering(
            f"object {name}", name, lambda: self.student.worker.call_ref(
                self.ref, method, *args, timeout=timeout, return_args=return_args,
                sets=sets or None, watch_inputs=False, **more, **kwargs),
            timeouts=False)

    def _sets(self, set_items: tuple[str, dict] | None) -> list:
        """The assignments a request makes before its call, as (Ref, value) pairs, in order:
        those `defer_set_items` left for it (taken now), then `set_items` (attr, values), or
        (attr, values, "like") for values the worker puts in the shapes it holds (Note [Sets in
        the student's shape] in grader/worker/runtime.py): (Ref, value, "like") triples."""
        sets = []
        for pending in (self.deferred, set_items):
            if pending is not None:
                attr, values, *like = pending  # like: ("like",), Note [Sets in the student's shape]
                base = self.ref.attr(attr)
                sets += [(base.item(key), value, *like) for key, value in values.items()]
        self.deferred = None
        return sets

    def _flush(self) -> None:
        """Make the deferred assignments now, before a request that does not take them."""
        if self.deferred is not None:
            self.student.worker.set_many(self._sets(None))

    def get(self, *path: str):
        """Read an attribute path as plain data: obj.get('params') or obj.get('params', 'W1')."""
        self._flush()
        return self.student.worker.get(_path_ref(self.ref, path))

    def set_attr(self, name: str, value) -> None:
        self._flush()
        self.student.worker.set(self.ref.attr(name), value)

    def set_item(self, attr: str, key: str, value) -> None:
        self._flush()
        self.student.worker.set(self.ref.attr(attr).item(key), value)

    def defer_set_items(self, attr: str, values: dict) -> None:
        """`set_items(attr, values)`, made first in the object's next request instead (a call's,
        before its own `set_items`: Note [Sets folded into a call] in grader/worker/client.py);
        that call then raises the StudentError of an assignment that raised, its `index` >= 0."""
        self.deferred = (attr, values)

    def set_items(self, attr: str, values: dict) -> None:
        """obj.attr[key] = value for each item, in order, in one request (Note [Batched sets]
        in grader/worker/client.py); a StudentError's `index` says which one raised."""
        self.student.worker.set_many(self._sets((attr, values)))


# Note [A syntax error's place said once]
# Python's text of a SyntaxError ends with its place, "invalid syntax (layers.py, line 27)",
# and the message begins with it ("layers.py line 27: SyntaxError: ..."), so students read the
# place twice.  The place at the end is left out when it is the one the message begins with.
def import_failure_message(file: str, error: StudentError) -> str:
    if error.type in ("SyntaxError", "IndentationError", "TabError"):
        text = f"\n    {error.text.strip()}" if error.text else ""
        py2 = ""
        if "print" in (error.text or "") or "Missing parentheses" in error.message:
            py2 = "\n(This looks like Python 2 syntax; the course uses Python 3.)"
        where = error.file or file
        said = error.message.removesuffix(f" ({where}, line {error.line})")  # Note [A syntax error's place said once]
        return f"{where} line {error.line}: {error.type}: {said}{text}{py2}"
    return f"{file} could not be imported: {error}\n{error.traceback}".rstrip()
