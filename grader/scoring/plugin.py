"""The pytest plugin that runs an assignment's checks against one submission.

A plugin, not a fork of pytest (pytest's junitxml reads reports the same way):
it parametrizes the registry test module with the assignment's checks, gives
the running check its student (Note [Student without fixtures]), and turns each
test report into a `CheckResult` as it arrives.

# Note [Statuses]
`passed` when the check returned; `failed` for a CheckFailure (a wrong
answer); `error` for a missing name, a module that will not import, an
exception or crash in student code, or a bug in the grader itself (flagged
`internal` in details so staff can regrade; never points); `timeout` when the
worker did not answer in time; `skipped` when a check chose to skip.  The
message is always the exception's own text, so pytest runs with `--tb=no`:
building its traceback report (source and locals of every frame) cost about
0.15 s per failing check, 7 s for a submission whose layers.py does not parse.
Why a check did not pass, as data, is its `cause` (`cause_of`, Note [Causes] in
grader/scoring/result.py), settled here from the exception's type alone.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import time
from pathlib import Path
from typing import Callable

import pytest

from ..checks import hints
from ..checks.spec import Check, CheckFailure
from ..checks.student import ImportFailure, MissingFile, MissingName, Student
from .assignment import edition_hint, editions_explaining
from .result import CAUSES, CheckResult
from ..worker.client import ProtocolError, StudentError, WorkerCrashed, WorkerTimeout

REGISTRY_TESTS = Path(__file__).resolve().parents[1] / "checks" / "registry_tests.py"


def classify(exc: BaseException) -> tuple[str, str, str, dict]:
    """(status, message, hint, details) for an exception raised by a check; Note [Statuses]."""
    if isinstance(exc, (MissingName, ImportFailure)):
        return "error", exc.message, exc.hint, exc.details
    if isinstance(exc, CheckFailure):
        return "failed", exc.message, exc.hint, exc.details
    if isinstance(exc, WorkerTimeout):
        return "timeout", f"timed out: {exc}", "", {}
    if isinstance(exc, (WorkerCrashed, ProtocolError)):
        return "error", str(exc), "", {}
    if isinstance(exc, StudentError):
        return "error", f"your code raised {exc}\n{exc.traceback}".rstrip(), "", {}
    return ("error", f"internal grader error ({type(exc).__name__}: {exc}); this is not your "
            f"fault: please tell the course staff", "", {"internal": True})


def cause_of(exc: BaseException) -> str:
    """The result's cause for an exception raised by a check (Note [Causes] in grader/scoring/result.py).

    A CheckFailure that names no cause of its own is a wrong answer, unless it was raised while
    handling a student exception, a timeout or a crash (the checks turn those into failures
    that say where: `_student_call` in grader/checks/builders.py and its kin): then that is the
    cause.  Python keeps the handled exception as `__context__` even under `raise ... from None`.
    """
    if isinstance(exc, CheckFailure) and not exc.cause:
        seen, context = set(), exc.__context__
        while isinstance(context, CheckFailure) and not context.cause and id(context) not in seen:
            seen.add(id(context))
            context = context.__context__
        if isinstance(context, (CheckFailure, StudentError, WorkerTimeout, WorkerCrashed,
                                ProtocolError)):
            return cause_of(context)
        return "wrong"
    cause = getattr(exc, "cause", "") if isinstance(exc, (CheckFailure, StudentError, WorkerTimeout,
                                                          WorkerCrashed, ProtocolError)) else ""
    return cause if cause in CAUSES else "internal"


class GradingPlugin:
    def __init__(self, checks: tuple[Check, ...], student: Student,
                 points: dict[str, float], on_result: Callable[[CheckResult], None] | None = None,
                 hidden_details: bool = False):
        self.checks = checks
        self.hidden_details = hidden_details  # the rubric's; Note [Hidden checks] in grader/scoring/result.py
        self._student = student
        self.points = points
        self.on_result = on_result
        self.results: dict[str, CheckResult] = {}
        self._started: dict[str, float] = {}
        self._notes_seen = 0  # student notes already attached to an earlier check's result
        self._item = None     # the check running now (record_property, Note [Lean pytest])

    def pytest_generate_tests(self, metafunc) -> None:
        if "check" in metafunc.fixturenames:
            metafunc.parametrize("check", self.checks, ids=[c.id for c in self.checks])

    def record_property(self, name: str, value: object) -> None:
        """What junitxml's fixture did, which the session does without (Note [Lean pytest]): a
        check's details go to its item's `user_properties`, and from there to its report."""
        self._item.user_properties.append((name, value))

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item) -> None:
        global _running
        self._item, _running = item, self  # Note [Student without fixtures]
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "check" in callspec.params and item.funcargs is not None:
            item.funcargs["check"] = callspec.params["check"]  # Note [The check handed over]

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item, nextitem) -> bool:
        """pytest's own protocol (setup, call, teardown, each made into a report that
        pytest_runtest_makereport sees), less its logging hooks (Note [Lean pytest])."""
        from _pytest.runner import runtestprotocol
        runtestprotocol(item, log=False, nextitem=nextitem)
        return True

    @pytest.hookimpl(tryfirst=True, specname="pytest_runtest_makereport")
    def pytest_runtest_makereport_without_traceback(self, item, call):
        """pytest's report of a check that raised when it ran, less the traceback report that
        nothing here reads (Note [No traceback report]); None, pytest's own report, otherwise."""
        excinfo = call.excinfo
        if call.when != "call" or excinfo is None \
                or isinstance(excinfo.value, (pytest.skip.Exception, BaseExceptionGroup)):
            return None
        return pytest.TestReport(
            item.nodeid, item.location, dict.fromkeys(item.keywords, 1), "failed",
            excinfo.exconly(), "call",
            [(f"Captured {key} {when}", content) for when, key, content in item._report_sections],
            call.duration, call.start, call.stop, user_properties=item.user_properties)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        check = item.callspec.params.get("check") if hasattr(item, "callspec") else None
        if check is None or report.when != "call" and not (report.when == "setup" and report.failed):
            return
        # The call has already run by now: the notes it added are those not yet seen.
        new_notes = self._student.notes[self._notes_seen:]
        self._notes_seen = len(self._student.notes)
        cause, file_missing = None, False
        if report.passed:
            status, message, hint = "passed", "", ""
            details = dict(dict(report.user_properties).get("details", {}))
        elif report.skipped:
            status, message, hint, details = "skipped", str(call.excinfo.value) if call.excinfo else "", "", {}
        else:
            status, message, hint, details = classify(call.excinfo.value)
            cause = cause_of(call.excinfo.value)
            file_missing = _file_missing(call.excinfo.value)
        if new_notes:
            message = "\n".join([message, *new_notes]).strip()
        if check.hidden:
            details = _without_pictures(details)
        max_points = self.points.get(check.id, 0.0)
        result = CheckResult(
            id=check.id, function=check.function, title=check.title, status=status,
            points=max_points if status == "passed" else 0.0, max_points=max_points,
            visibility=("hidden_details" if self.hidden_details else "hidden") if check.hidden
            else "visible", message=message,
            hint=hints.with_version_hints(message, _hint(check, hint, cause, file_missing))
            if status != "passed"
            else "",  # Note [Version hints] in grader/checks/hints.py
            details=details,
            duration_s=round(call.duration, 4), cause=cause)
        self.results[check.id] = result
        if self.on_result:
            self.on_result(result)


# Note [Student without fixtures]
# The registry's test (grader/checks/registry_tests.py) took the student and the function that
# records a check's details as two session-scoped fixtures.  A session-scoped fixture is made
# once, but pytest still looks each one up, checks its cache and registers its finalizer for
# every check: in forks of one prepared process, fc_nets' 46 checks made to do nothing (one in
# five failing), CPU time of `run` in the fork, min of 20 (load 6-7), 20.3-24.3 ms a session
# with the fixtures against 17.0-17.5 ms without.  So the test takes only its `check` (the
# parametrization that makes the items) and asks `running()` for the rest: the plugin whose
# session runs the check (set by its pytest_runtest_setup, before the check's call), its
# student and its record_property.  The same objects the fixtures gave, one session at a
# time in a process (a session is never nested in a check's call), so every verdict is the
# same.
_running: GradingPlugin | None = None

# Note [The check handed over]
# The test's one argument, `check`, is its parametrization's value, which pytest hands over
# as a fixture: at each check's setup `_fillfixtures` looked it up, made the `request`
# fixture's definition and a SubRequest for it, ran the pytest_fixture_setup hook and
# registered a finalizer to forget it again, two fixture definitions built per check.  For
# fc_nets' 46 checks that was about a quarter of what pytest costs a job outside the checks
# (cProfile of 27 batch jobs: 0.30 s of _fillfixtures in 1.2 s; without the profiler, jobs
# alternated in one template, load 6: the judge's CPU 116.7 -> 114.5 ms a job, median of 45).
# The plugin's pytest_runtest_setup (tryfirst: before pytest's own, which calls
# `_fillfixtures`) puts the value in the item's `funcargs` itself, where `_fillfixtures` finds
# it and asks for nothing more: the test is called with the same object, its callspec's, as
# before.  Only a value already in `funcargs` is skipped by pytest, so any fixture the test
# module might take besides `check` would still be set up by pytest.


def running() -> tuple[Student, Callable[[str, object], None]]:
    """(student, record_property) of the session whose check runs now (Note [Student without
    fixtures])."""
    if _running is None:
        raise RuntimeError("no grading session is running a check")
    return _running._student, _running.record_property


def _file_missing(exc: BaseException) -> bool:
    """Whether the check failed because a whole course file is missing: a MissingFile, or a
    failure without a cause of its own raised while handling one (as `cause_of` reads it)."""
    seen: set[int] = set()
    while isinstance(exc, CheckFailure) and id(exc) not in seen:
        if isinstance(exc, MissingFile):
            return True
        if exc.cause:
            return False
        seen.add(id(exc))
        exc = exc.__context__
    return False


def _hint(check: Check, hint: str, cause: str | None, file_missing: bool = False) -> str:
    """The failure's own hint, else the check's; first, what other course editions do not
    assign (Note [Assigned parts], Note [A missing file is no edition's part] in
    grader/scoring/assignment.py)."""
    said = [edition_hint(*edition) for edition in editions_explaining(check, cause, file_missing)]
    return "\n".join(part for part in (*said, hint or check.hint) if part)


def _without_pictures(details: dict) -> dict:
    """`details` less every `error_map` and `chart`, nested ones too: a hidden check must not
    show where it fails (Note [Error map] in grader/checks/compare.py, Note [Hidden checks])."""
    return {k: _without_pictures(v) if isinstance(v, dict) else v
            for k, v in details.items() if k not in ("error_map", "chart")}


class NoChecks(Exception):
    """No check was collected or run: never a verdict (Note [Zero checks])."""


# Note [Zero checks]
# A run that graded nothing is not a score of 0 / 0 and never a success: a `-k` that
# matches no check, a plugin or a config pytest could not load, a registry that would not
# import.  `select_checks` asks pytest which checks a run would collect, without a student
# (the checks are parametrized at collection; the student is only used when a
# check runs), so `grade check` and `grade batch` refuse such a run before grading anything,
# exit 2 with the reason.  `run` raises the same error if, all the same, no check ran.
# pytest catches Ctrl-C itself and returns; `run` raises KeyboardInterrupt again so that
# the command stops (exit 130) rather than score what ran before it.

# Note [Lean pytest]
# The grader's pytest session runs one test module of its own, with its own plugin: it needs
# collection, parametrization, fixtures, `-k`, skips, `record_property` and the
# warnings filter, and nothing else.  pytest's other default plugins cost time in every
# session (building their options, a hook call per test, `faulthandler`, and
# `unraisableexception` / `threadexception`, which run the garbage collector several times
# when a session ends: 60 ms of a `grade check`), so they are blocked; none of them sees
# student code, which never runs in this process.  Plugins installed in the environment
# (pytest-randomly, pytest-xdist, ...) are not loaded at all (PYTEST_DISABLE_PLUGIN_AUTOLOAD,
# which every pytest reads, unlike the newer --disable-plugin-autoload): they could reorder
# or change the checks' run, and looking them up costs time too.  Unknown names in `-p no:`
# are ignored, so the list is safe on any pytest the student package may get.
# Also blocked, for 3.5 ms of a 30 ms session of 46 checks (pytest scans every plugin for
# fixtures when a session starts, and each plugin's hooks run for every check): `junitxml`,
# whose `record_property` fixture the plugin provides itself, as junitxml writes it;
# `capture`, which captured nothing under `-s` (nothing here prints: the session's output
# is redirected, and student code runs in the worker); `reports`, which only serialises
# reports for pytest-xdist.  The `student` fixture was session-scoped: the same object for
# every check, made once instead of once per check (now no fixture at all: Note [Student
# without fixtures]).
# Then, for 3 of the 20 ms a prepared session of fc_nets' 46 checks costs in a job (forks of
# one prepared process, checks made to do nothing, one in five failing, CPU min of 20, A/B
# against the lines before: 20 -> 17 ms): `skipping`, which evaluates skip/xfail marks for
# every check (the registry has none; `pytest.skip()` in a check is an outcome pytest's
# runner reports by itself); and the plugin's `record_property` was session-scoped too (now
# no fixture: Note [Student without fixtures]), one function appending to the item that runs (set by the plugin's pytest_runtest_setup): a
# function-scoped fixture asking for `request` made five fixture definitions per check.
# And each check runs through pytest's own `runtestprotocol` with `log=False` (the plugin's
# pytest_runtest_protocol, as pytest-rerunfailures calls it): setup, call and teardown, their
# reports made by pytest_runtest_makereport as before (where the plugin reads them), the
# warnings plugin's wrapper around the whole, but not the logging hooks (logstart, logfinish
# and pytest_runtest_logreport for each of the three reports), whose only listeners here were
# the terminal reporter, writing progress to an output nobody reads, and the session's count
# of failures, which made the exit code: a run's results come from the reports, and its exit
# code is read only when no check ran (Note [Zero checks]).  17.9 -> 15.9 ms a session, as
# measured above.
# Note [No traceback report]
# pytest makes each check's report from its outcome, and for a check that raised it also
# formats the traceback (`repr_failure`: each frame's path made absolute and stat'ed, pytest's
# own frames cut away) even under --tb=no, which only changes how the result is printed.
# Nothing in the grader reads it: a result's message is the exception's own text and its cause
# comes from the exception's type (Note [Statuses]), both from `call.excinfo`, and nothing
# prints reports (Note [Lean pytest]).  So the plugin makes the report of a check that raised
# in its call itself, first (tryfirst; pytest's own then does not run), with every field pytest
# gives it (outcome "failed", duration, keywords, user properties) and the exception's one
# line (`exconly`) where the traceback report was; skips (pytest.skip() in a check, an
# exception group of skips), errors in setup or teardown, and passes keep pytest's own report.
# (pytest only takes a hook method whose name starts with `pytest_`, hence the long name.)
# Measured in forks of a process that prepared fc_nets' 46 checks made to do nothing but raise
# a CheckFailure, CPU of `run` (Note [Config made once]'s harness, min of 20, two interleaved
# runs each, load about 7.5): 28-30 ms a session, 43-47 ms with pytest's report, so about
# 0.3 ms a failing check with the shallowest traceback there is (a real check's is deeper:
# strace showed pytest stat'ing its own and pluggy's files 20-40 times a failing job).  An
# fc_nets submission of benchmarks/overhead.py's class fails 3.5 checks on average (104 of
# 1380 in a class of 30); a package that does not import fails all of them.

_UNUSED_PLUGINS = ("cacheprovider", "randomly", "doctest", "pastebin", "legacypath", "tmpdir",
                   "monkeypatch", "recwarn", "setuponly", "setupplan", "stepwise", "unittest",
                   "debugging", "faulthandler", "unraisableexception", "threadexception",
                   "logging", "python_path", "subtests", "terminalprogress", "assertion",
                   "junitxml", "capture", "reports", "skipping")


def _pytest_args(select: str | None) -> list[str]:
    args = [str(REGISTRY_TESTS), "-c", str(REGISTRY_TESTS.parent / "pytest.ini"),
            "--rootdir", str(REGISTRY_TESTS.parent), "-q",
            "--no-header", "--no-summary", "-qq",
            "--tb=no"]  # Note [Statuses]
    for name in _UNUSED_PLUGINS:  # Note [Lean pytest]
        args += ["-p", f"no:{name}"]
    return args + ["-k", select] if select else args


@contextlib.contextmanager
def _environment(name: str, value: str):
    """Environment variable `name` set to `value` for the block, as it was after."""
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


def _no_plugin_autoload():
    """PYTEST_DISABLE_PLUGIN_AUTOLOAD set for the block (Note [Lean pytest])."""
    return _environment("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


class _Collected:
    def __init__(self) -> None:
        self.ids: list[str] = []
        self.interrupted = False

    def pytest_collection_finish(self, session) -> None:
        self.ids = [item.callspec.params["check"].id for item in session.items
                    if hasattr(item, "callspec") and "check" in item.callspec.params]

    def pytest_keyboard_interrupt(self, excinfo) -> None:
        self.interrupted = True


def _pytest(args: list[str], plugins: list) -> tuple[int, str]:
    """pytest.main with its output captured: (exit code, what it printed)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out), _no_plugin_autoload():
        code = pytest.main(args, plugins=plugins)
    return int(code), out.getvalue()


def _why_none(code: int, printed: str, select: str | None, checks: tuple[Check, ...]) -> str:
    """One line: why a run collected no check (Note [Zero checks])."""
    if not checks:
        return "the assignment has no checks"
    if select and code in (0, 5):
        return (f"-k {select!r} matches none of the {len(checks)} checks (their ids look like "
                f"{checks[0].id}; `-k {checks[0].function}` selects a function's checks)")
    said = [line.strip() for line in printed.splitlines() if line.strip()]
    error = next((line for line in reversed(said) if "rror" in line), said[-1] if said else "")
    return f"pytest collected no check (exit code {code}{': ' + error if error else ''})"


def select_checks(checks: tuple[Check, ...], select: str | None = None) -> list[str]:
    """The ids of the checks a run with `select` would run; NoChecks says why when none."""
    collected = _Collected()
    plugin = GradingPlugin(checks, None, {})  # type: ignore[arg-type]  # no check runs
    code, printed = _pytest(_pytest_args(select) + ["--collect-only"], [plugin, collected])
    if collected.interrupted:
        raise KeyboardInterrupt
    if not collected.ids:
        raise NoChecks(_why_none(code, printed, select, checks))
    return collected.ids


# Note [One session for grade check]
# `grade check` asked pytest twice: once which checks a run selects (`select_checks`, a whole
# session with --collect-only: configuration, plugins, collection) and once to run them, each
# building its own configuration and collecting the same registry.  `prepare_selected` does
# what `prepare` does for a batch's job template (Note [Config made once], Note [Session
# collected once]) in the command's own process, before the worker is waited for: it builds the
# configuration, collects the session, and returns the ids that session collected, which are
# the ids `select_checks` would have returned (the same arguments, the same plugins, the same
# collection); the run that follows with the very same checks and -k runs that session.  Where
# the session could not be collected cleanly (no check selected, an error, a pytest whose
# private API differs), the ids come from `select_checks` as before, which raises NoChecks with
# its reason, and the run builds its own session.  One configuration and collection fewer per
# `grade check`; verdicts come from the same checks run by the same session code.
def prepare_selected(checks: tuple[Check, ...], select: str | None = None) -> list[str]:
    """`select_checks(checks, select)`, leaving the collected session prepared for the `run`
    of the same checks and -k that follows (Note [One session for grade check])."""
    try:
        prepare(checks, select)
    except KeyboardInterrupt:
        raise
    except BaseException:
        _drop_prepared()
    prepared = _prepared
    if prepared is not None and prepared[5] is not None and prepared[4].ids:
        return list(prepared[4].ids)
    return select_checks(checks, select)


# Note [Config made once]
# Of a session's own machinery (Note [Lean pytest]), about 11 ms (in a warm process) go to
# building its configuration before anything is collected: a plugin manager, the default
# plugins registered one by one (each scanned for hooks), pytest.ini read, the rootdir found,
# the command line parsed.  None of that depends on the submission: only on the checks and -k.
# So a process that forks graders (the batch's job template, grader/batch/job.py) calls
# `prepare` once, and the first `run` in each fork with the very same checks and -k takes
# that configuration, with its own GradingPlugin state (the student, the points, the
# callback) set on the plugin object the configuration holds, and runs its session from
# there: pytest_configure, collection, the checks, the reports, as pytest.main would.  Each
# job is a fork, so each session still has a configuration no other session used; a
# configuration is used once (`run` drops it), and any other run builds its own, as before.
# Only a cache: where `prepare` fails (another pytest whose private `_prepareconfig` differs)
# every run goes through pytest.main.  Measured in forks of one process, fc_layers' 14
# checks made to do nothing (min of 20, 2 shared cores): 25 -> 20 ms CPU a session; with the
# real checks of a notebook, 40 -> 34 ms.  What remains is pytest_configure, the fixture
# manager scanning each plugin at the session's start, collection and parametrization, and
# the hooks and reports of each check; Note [Session collected once] does the first three once
# too.

# Note [Session collected once]
# Of what Note [Config made once] left in each session, the part before the first check does
# not depend on the submission either: pytest_configure (the terminal reporter and the other
# plugins' set-up, each registration scanned for hooks and fixtures), the session's start (the
# fixture manager scanning every plugin for fixtures) and collection (importing the registry
# module, parametrizing `check` with the checks, -k's deselection).  The plugin's student
# is only asked for when a check runs.  So `prepare` goes on, in the template, to
# what pytest's wrap_session does up to that point: a Session, configure, sessionstart,
# collection; each fork then runs the checks from there (`_run_collected`: the run loop, the
# session's finish and unconfigure, with wrap_session's handling of interrupts and errors)
# with its own GradingPlugin state, as before.  Each fork has its own copy of a session no
# check has run in, used once; the template never runs a check.  The session's student is
# the fork's own, set on the plugin before its run (Note [Student without fixtures]).  Where collecting ahead fails or is not clean (an error, no item, a
# private pytest API that differs), `prepare` keeps the configuration alone, as before, and
# where that fails too, runs go through pytest.main.  The other plugins' pytest_cmdline_main
# hooks are skipped, as they were with the configuration made once: they act only on options
# the grader never passes (--help, --version, --markers, --fixtures).  What the session's
# terminal reporter prints goes to an output made in the template, which the fork's run
# passes on as its own.  A prepared session not used (another checks or -k) is unconfigured
# when it is dropped, so that pytest's globals (the mark generator's config) are restored.
# Each item's `location` (a cached property of its path alone, read by every report) is read
# in the template too.  Measured as Note [Config made once] was, in forks of one process that
# prepared, fc_nets' 46 checks made to do nothing (one in five failing), CPU time of `run` in
# the fork, min of 20 (2 shared cores, load 1-2): 34 ms with the configuration made once,
# 24 ms with the session collected ahead, 20 ms with the locations read too; results the same.

# (checks, select, config, plugin, collected, session or None, output); Note [Config made once]
_prepared: tuple | None = None


def prepare(checks: tuple[Check, ...], select: str | None = None) -> None:
    """Build the pytest configuration of a run of `checks` with `select` now, and collect its
    session, for the first `run` of each forked process (Note [Config made once], Note
    [Session collected once])."""
    global _prepared
    _drop_prepared()
    from _pytest.config import _prepareconfig
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out), \
            _no_plugin_autoload(), _pytest_version():
        plugin, collected = GradingPlugin(checks, None, {}), _Collected()  # type: ignore[arg-type]
        config = _prepareconfig(_pytest_args(select), [plugin, collected])
        session = _collect(config, collected)
        if session is None:  # the configuration alone, unused (Note [Session collected once])
            plugin, collected = GradingPlugin(checks, None, {}), _Collected()  # type: ignore[arg-type]
            config = _prepareconfig(_pytest_args(select), [plugin, collected])
    _prepared = (checks, select, config, plugin, collected, session, out)


def _collect(config, collected: _Collected):
    """The session of `config`, started and collected, as pytest's wrap_session and _main have
    it before the run loop; None where that is not clean (Note [Session collected once])."""
    try:
        from _pytest.main import Session
        session = Session.from_config(config)
        session.exitstatus = pytest.ExitCode.OK
        config._do_configure()
        config.hook.pytest_sessionstart(session=session)
        config.hook.pytest_collection(session=session)
        for item in session.items:
            item.location  # Note [Session collected once]
        if not session.testsfailed and session.items and collected.ids \
                and not session.shouldfail and not session.shouldstop and not collected.interrupted:
            return session
    except BaseException:
        pass
    try:
        config._ensure_unconfigure()
    except BaseException:
        pass
    return None


def _drop_prepared() -> None:
    """Forget the prepared session unused, unconfigured (Note [Session collected once])."""
    global _prepared
    prepared, _prepared = _prepared, None
    if prepared is not None and prepared[5] is not None:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            try:
                prepared[2]._ensure_unconfigure()
            except BaseException:
                pass


def _run_collected(config, session) -> int:
    """What pytest's wrap_session does once collection is done: the run loop (as _main),
    then the session's finish and unconfigure (Note [Session collected once])."""
    from _pytest.main import Failed
    from _pytest.outcomes import Exit
    from _pytest._code import ExceptionInfo
    from _pytest.config import UsageError
    try:
        try:
            config.hook.pytest_runtestloop(session=session)
            session.exitstatus = (pytest.ExitCode.TESTS_FAILED if session.testsfailed else
                                  pytest.ExitCode.NO_TESTS_COLLECTED
                                  if session.testscollected == 0 else pytest.ExitCode.OK)
        except UsageError:
            session.exitstatus = pytest.ExitCode.USAGE_ERROR
            raise
        except Failed:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        except (KeyboardInterrupt, Exit):
            excinfo = ExceptionInfo.from_current()
            exitstatus = pytest.ExitCode.INTERRUPTED
            if isinstance(excinfo.value, Exit) and excinfo.value.returncode is not None:
                exitstatus = excinfo.value.returncode
            config.hook.pytest_keyboard_interrupt(excinfo=excinfo)
            session.exitstatus = exitstatus
        except BaseException:
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR
            excinfo = ExceptionInfo.from_current()
            try:
                config.notify_exception(excinfo, config.option)
            except Exit as exc:
                if exc.returncode is not None:
                    session.exitstatus = exc.returncode
                sys.stderr.write(f"{type(exc).__name__}: {exc}\n")
    finally:
        excinfo = None
        os.chdir(session.startpath)
        try:
            config.hook.pytest_sessionfinish(session=session, exitstatus=session.exitstatus)
        except Exit as exc:
            if exc.returncode is not None:
                session.exitstatus = exc.returncode
            sys.stderr.write(f"{type(exc).__name__}: {exc}\n")
        config._ensure_unconfigure()
    return session.exitstatus


def _pytest_version():
    """PYTEST_VERSION set for the block, as pytest.main sets it."""
    return _environment("PYTEST_VERSION", pytest.__version__)


def _session(checks, select, student, points, on_result, hidden_details):
    """(exit code, GradingPlugin, _Collected) of one pytest session over `checks`."""
    global _prepared
    prepared = _prepared
    if prepared is not None and prepared[0] is checks and prepared[1] == select:
        _prepared = None  # used once, whoever uses it (Note [Config made once])
        _, _, config, plugin, collected, session, printed = prepared
        plugin._student, plugin.points, plugin.on_result = student, points, on_result
        plugin.hidden_details = hidden_details
        from _pytest.config import UsageError, print_usage_error
        with _no_plugin_autoload(), _pytest_version():
            try:  # what pytest.main does once it has its configuration
                try:
                    if session is not None:  # Note [Session collected once]
                        code = _run_collected(config, session)
                    else:
                        code = config.hook.pytest_cmdline_main(config=config)
                finally:
                    config._ensure_unconfigure()
            except UsageError as exc:
                print_usage_error(exc, file=sys.stderr)
                code = pytest.ExitCode.USAGE_ERROR
        sys.stdout.write(printed.getvalue())  # the session's reporter writes there
        return int(code), plugin, collected
    _drop_prepared()
    plugin, collected = GradingPlugin(checks, student, points, on_result, hidden_details), _Collected()
    with _no_plugin_autoload():
        code = pytest.main(_pytest_args(select), plugins=[plugin, collected])
    return int(code), plugin, collected


def run(checks: tuple[Check, ...], student: Student, points: dict[str, float],
        on_result: Callable[[CheckResult], None] | None = None,
        select: str | None = None, hidden_details: bool = False) -> list[CheckResult]:
    """Run `checks` through pytest; results in registry order (Note [Zero checks])."""
    with contextlib.redirect_stdout(io.StringIO()) as out:  # stderr: progress
        code, plugin, collected = _session(checks, select, student, points, on_result,
                                           hidden_details)
    printed = out.getvalue()
    if collected.interrupted:
        raise KeyboardInterrupt
    results = [plugin.results[c.id] for c in checks if c.id in plugin.results]
    if not results:
        raise NoChecks(_why_none(code, printed, select, checks))
    return results
