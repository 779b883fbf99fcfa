"""The grading pytest plugin (grader/scoring/plugin.py, Note [Statuses]): classify() and run()."""

from __future__ import annotations

import pytest

from grader.scoring import plugin
from grader.checks.spec import Check, CheckFailure
from grader.checks.student import ImportFailure, MissingName, Student
from grader.worker.client import ProtocolError, StudentError, WorkerCrashed, WorkerTimeout


# -- classify ----------------------------------------------------------------------------------

def test_check_failure_is_failed_with_its_hint_and_details() -> None:
    status, message, hint, details = plugin.classify(
        CheckFailure("dx: 3 of 4 entries differ", hint="use the mean", details={"mismatched": 3}))
    assert (status, message, hint, details) == ("failed", "dx: 3 of 4 entries differ", "use the mean",
                                                {"mismatched": 3})


@pytest.mark.parametrize("kind", [MissingName, ImportFailure])
def test_missing_name_and_import_failure_are_errors(kind) -> None:
    status, message, hint, details = plugin.classify(kind("`f` not found in layers.py", hint="h"))
    assert (status, message, hint, details) == ("error", "`f` not found in layers.py", "h", {})


def test_worker_timeout() -> None:
    status, message, _, details = plugin.classify(WorkerTimeout("no reply within the time limit"))
    assert status == "timeout"
    assert message == "timed out: no reply within the time limit"
    assert details == {}


@pytest.mark.parametrize("exc", [WorkerCrashed("the worker process ended (exit status 3)"),
                                 ProtocolError("the worker sent a malformed reply")])
def test_crash_and_protocol_error_are_errors(exc) -> None:
    status, message, _, details = plugin.classify(exc)
    assert (status, message, details) == ("error", str(exc), {})


def test_student_error_shows_the_traceback() -> None:
    exc = StudentError("ValueError", "bad shape", traceback='  File "layers.py", line 3\nValueError: bad shape',
                       where="layers.py:3")
    status, message, _, details = plugin.classify(exc)
    assert status == "error" and details == {}
    assert message == ('your code raised ValueError: bad shape (layers.py:3)\n'
                       '  File "layers.py", line 3\nValueError: bad shape')


@pytest.mark.parametrize("exc", [RuntimeError("reference broke"), KeyError("W1"), ZeroDivisionError()])
def test_any_other_exception_is_an_internal_error(exc) -> None:
    status, message, hint, details = plugin.classify(exc)
    assert status == "error"
    assert message.startswith(f"internal grader error ({type(exc).__name__}")
    assert "this is not your fault: please tell the course staff" in message
    assert details == {"internal": True}


# -- run over a synthetic registry ---------------------------------------------------------------

def passes(student) -> None:
    return None


def fails(student) -> None:
    raise CheckFailure("out: 1 of 4 entries differ", details={"mismatched": 1})


def breaks(student) -> None:
    raise RuntimeError("bug in the grader")


def crashes_student(student) -> None:
    raise StudentError("IndexError", "list index out of range")


def is_missing(student) -> None:
    raise MissingName("`svm_loss` not found in layers.py")


def skips(student) -> None:
    pytest.skip("needs a GPU")


def passes_with_note(student) -> None:
    student.notes.append("`relu_forward` wrote into its input args[0]")


CHECKS = (
    Check("zeta/passes", "zeta", "Z passes", passes, hint="never shown"),
    Check("alpha/fails", "alpha", "A fails", fails, hint="general hint"),
    Check("alpha/internal", "alpha", "A breaks", breaks),
    Check("beta/raises", "beta", "B raises", crashes_student),
    Check("beta/missing", "beta", "B missing", is_missing, hidden=True),
    Check("gamma/skips", "gamma", "G skips", skips),
    Check("gamma/note", "gamma", "G notes", passes_with_note),
)
POINTS = {"zeta/passes": 2.0, "alpha/fails": 1.0, "alpha/internal": 5.0, "beta/raises": 1.0,
          "beta/missing": 1.0, "gamma/skips": 1.0, "gamma/note": 0.5}


def new_student() -> Student:
    return Student(worker=None, modules={})  # these checks never reach a worker


@pytest.fixture(scope="module")
def results():
    seen = []
    out = plugin.run(CHECKS, new_student(), POINTS, on_result=seen.append)
    return out, seen


def test_results_in_registry_order_with_statuses(results) -> None:
    out, seen = results
    assert [r.id for r in out] == [c.id for c in CHECKS]
    assert [r.status for r in out] == ["passed", "failed", "error", "error", "error", "skipped", "passed"]
    assert [r.id for r in seen] == [r.id for r in out]  # on_result saw each as it came


def test_points_come_from_the_rubric(results) -> None:
    by_id = {r.id: r for r in results[0]}
    assert {i: r.points for i, r in by_id.items()} == {
        "zeta/passes": 2.0, "alpha/fails": 0.0, "alpha/internal": 0.0, "beta/raises": 0.0,
        "beta/missing": 0.0, "gamma/skips": 0.0, "gamma/note": 0.5}
    assert {i: r.max_points for i, r in by_id.items()} == POINTS


def test_internal_error_never_gets_points(results) -> None:
    internal = results[0][2]
    assert internal.id == "alpha/internal"
    assert internal.points == 0.0 and internal.max_points == 5.0
    assert internal.details == {"internal": True}
    assert internal.message.startswith("internal grader error (RuntimeError: bug in the grader)")


def test_result_fields(results) -> None:
    passed, failed, _, raised, missing, skipped, noted = results[0]
    assert passed.hint == "" and passed.message == ""
    assert passed.function == "zeta" and passed.title == "Z passes" and passed.visibility == "visible"
    assert failed.message == "out: 1 of 4 entries differ"
    assert failed.hint == "general hint"  # the check's hint when the failure has none
    assert failed.details == {"mismatched": 1}
    assert raised.message == "your code raised IndexError: list index out of range"
    assert missing.visibility == "hidden" and missing.message == "`svm_loss` not found in layers.py"
    assert "needs a GPU" in skipped.message
    assert noted.message == "`relu_forward` wrote into its input args[0]"
    assert all(r.duration_s >= 0 for r in results[0])


def test_unscored_check_is_worth_nothing() -> None:
    out = plugin.run(CHECKS[:1], new_student(), {})
    assert out[0].status == "passed" and out[0].points == 0.0 and out[0].max_points == 0.0


@pytest.mark.parametrize("select, expected", [
    ("alpha", ["alpha/fails", "alpha/internal"]),
    ("passes or skips", ["zeta/passes", "gamma/skips"]),
    ("not alpha and not beta", ["zeta/passes", "gamma/skips", "gamma/note"]),
])
def test_select_limits_the_run(select, expected) -> None:
    out = plugin.run(CHECKS, new_student(), POINTS, select=select)
    assert [r.id for r in out] == expected


def test_a_passing_check_may_report_details() -> None:
    measured = Check("delta/speed", "delta", "D measures", lambda student: {"speedup": 3.5})
    out = plugin.run((measured,), new_student(), {"delta/speed": 1.0})
    assert out[0].status == "passed" and out[0].points == 1.0
    assert out[0].details == {"speedup": 3.5}


def test_rubric_hidden_details_lets_students_read_hidden_messages_without_pictures() -> None:
    def fails_with_pictures(student) -> None:
        raise CheckFailure("dx: 2 of 8 entries differ",
                           details={"error_map": {"grid": ["01"]}, "chart": {"type": "line"},
                                    "dx": {"error_map": {"grid": ["1"]}, "total": 8}})

    checks = (Check("beta/hidden", "beta", "B hidden", fails_with_pictures, hidden=True),)
    shown, = plugin.run(checks, new_student(), {"beta/hidden": 1.0}, hidden_details=True)
    assert shown.visibility == "hidden_details" and shown.shows_message
    assert shown.message == "dx: 2 of 8 entries differ"
    assert shown.details == {"dx": {"total": 8}}
    kept, = plugin.run(checks, new_student(), {"beta/hidden": 1.0})
    assert kept.visibility == "hidden" and not kept.shows_message


# -- causes (Note [Causes] in grader/scoring/result.py) ---------------------------------------------------

def raised_while_handling(inner: BaseException, outer: CheckFailure) -> CheckFailure:
    """`outer` raised `from None` inside `except inner`, as the checks turn student errors into
    failures that say where."""
    try:
        try:
            raise inner
        except type(inner):
            raise outer from None
    except CheckFailure as exc:
        return exc


@pytest.mark.parametrize("exc, cause", [
    (CheckFailure("out differs"), "wrong"),
    (MissingName("`f` not found in layers.py"), "missing"),
    (ImportFailure("layers.py line 3: SyntaxError"), "import_error"),
    (WorkerTimeout("no reply"), "timeout"),
    (WorkerCrashed("exit status 3"), "crashed"),
    (ProtocolError("malformed reply"), "crashed"),
    (StudentError("ValueError", "bad shape"), "raised"),
    (StudentError("NotImplementedError", ""), "not_implemented"),
    (RuntimeError("reference broke"), "internal"),
    (CheckFailure("speed not measured", cause="internal"), "internal"),
    (raised_while_handling(StudentError("NotImplementedError", ""),
                           CheckFailure("`f` raised NotImplementedError")), "not_implemented"),
    (raised_while_handling(StudentError("IndexError", "out of range"),
                           CheckFailure("`f` raised IndexError")), "raised"),
    (raised_while_handling(WorkerTimeout("no reply"), CheckFailure("`f` timed out")), "timeout"),
    # a failure re-raised with a sample prefix keeps the cause of the one it wraps
    (raised_while_handling(raised_while_handling(StudentError("NotImplementedError", ""),
                                                 CheckFailure("`f` raised")),
                           CheckFailure("[sample 1] `f` raised")), "not_implemented"),
    (raised_while_handling(CheckFailure("out differs"), CheckFailure("[sample 1] out differs")),
     "wrong"),
], ids=lambda v: v if isinstance(v, str) else type(v).__name__)
def test_each_exception_has_its_cause(exc, cause) -> None:
    assert plugin.cause_of(exc) == cause


def test_results_carry_their_causes(results) -> None:
    assert [r.cause for r in results[0]] == [None, "wrong", "internal", "raised", "missing", None,
                                             None]


CAUSE_LAYERS = """
import numpy as np

def right(x):
    return x + 1.0

def wrong(x):
    return x + 2.0

def stub(x):
    raise NotImplementedError("right is not implemented yet")

def raises(x):
    return x[10]

def loops(x):
    while True:
        pass

def exits(x):
    import os
    os._exit(3)
"""


def test_each_cause_end_to_end_on_a_real_worker(make_student) -> None:
    """The causes as a real submission earns them, through the builders' own handling."""
    import numpy as np

    from grader.checks.builders import forward_check
    from grader.checks.spec import Sample

    def check(function: str, module: str = "layers") -> Check:
        return forward_check(function, module, [Sample("x (2,)", (np.zeros(2),))],
                             lambda x: x + 1.0, index=None, what="out")

    student = make_student({"layers.py": CAUSE_LAYERS, "broken.py": "def f(:\n"}, call_timeout_s=2)
    checks = (check("right"), check("wrong"), check("stub"), check("raises"), check("loops"),
              check("absent"), check("f", "broken"), check("exits"))
    out = plugin.run(checks, student, {c.id: 1.0 for c in checks})
    assert {r.function: (r.status, r.cause) for r in out} == {
        "right": ("passed", None), "wrong": ("failed", "wrong"),
        "stub": ("failed", "not_implemented"), "raises": ("failed", "raised"),
        "loops": ("timeout", "timeout"), "absent": ("error", "missing"),
        "f": ("error", "import_error"), "exits": ("error", "crashed")}


# -- Note [Lean pytest] --------------------------------------------------------------------------

def test_plugins_installed_in_the_environment_are_not_loaded(tmp_path, monkeypatch) -> None:
    """A pytest plugin installed beside the grader (here one that breaks every run) is never
    loaded into the grading session, and the environment is left as it was."""
    (tmp_path / "hostile_plugin.py").write_text(
        "def pytest_collection_modifyitems(items):\n    items.clear()\n")
    info = tmp_path / "hostile_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: hostile-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[pytest11]\nhostile = hostile_plugin\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    import importlib.metadata
    assert any(e.name == "hostile" for e in importlib.metadata.entry_points(group="pytest11"))
    assert plugin.select_checks(CHECKS) == [c.id for c in CHECKS]
    assert [r.id for r in plugin.run(CHECKS[:1], new_student(), POINTS)] == ["zeta/passes"]
    assert "PYTEST_DISABLE_PLUGIN_AUTOLOAD" not in __import__("os").environ


def test_blocked_plugins_leave_what_the_checks_use() -> None:
    """record_property (the plugin's own, junitxml being blocked), skips and warnings still
    work in the lean session."""
    import warnings

    def warns(student) -> dict:
        warnings.warn("overflow in the reference", RuntimeWarning)
        return {"measured": 1}

    out = plugin.run((Check("w/warns", "w", "W", warns), CHECKS[5]), new_student(),
                     {"w/warns": 1.0, "gamma/skips": 1.0})
    assert [(r.status, r.details) for r in out] == [("passed", {"measured": 1}),
                                                    ("skipped", {})]


def test_a_check_that_raised_is_reported_without_pytests_traceback_report(monkeypatch) -> None:
    """Note [No traceback report]: every status and message as before, and pytest's
    `repr_failure` (the traceback report nothing reads) never called."""
    from _pytest.python import Function

    expected = _summary(plugin.run(CHECKS, new_student(), POINTS))

    def refused(self, excinfo):
        raise AssertionError("the traceback report was made")
    with monkeypatch.context() as patched:  # undone before this test's own report is made
        patched.setattr(Function, "repr_failure", refused)
        try:
            out = _summary(plugin.run(CHECKS, new_student(), POINTS))
        except plugin.NoChecks as exc:  # the session broke on the refused report
            out = str(exc)
    assert out == expected


def test_each_check_is_handed_its_own_check_without_pytests_fixture_lookup(monkeypatch) -> None:
    """Note [The check handed over]: every status and message as before, each check's run given
    its own Check (the item's callspec value), and pytest's fixture lookup never asked for it,
    in a plain run and in a prepared session."""
    from _pytest.fixtures import FixtureRequest

    expected = _summary(plugin.run(CHECKS, new_student(), POINTS))
    handed = []
    real_run = plugin.GradingPlugin.pytest_runtest_setup

    def spy(self, item) -> None:
        real_run(self, item)
        handed.append((item.callspec.params["check"], item.funcargs["check"]))
    spy.__dict__.update(real_run.__dict__)  # the hookimpl's tryfirst marker

    def refused(self, argname):
        raise AssertionError(f"pytest looked up the fixture {argname!r}")
    with monkeypatch.context() as patched:  # undone before this test's own setup and report
        patched.setattr(plugin.GradingPlugin, "pytest_runtest_setup", spy)
        patched.setattr(FixtureRequest, "getfixturevalue", refused)
        out = _summary(plugin.run(CHECKS, new_student(), POINTS))
        plugin.prepare(CHECKS)
        prepared = _summary(plugin.run(CHECKS, new_student(), POINTS))
    assert out == expected and prepared == expected
    assert [given.id for given, _ in handed] == [c.id for c in CHECKS] * 2
    assert all(given is in_funcargs for given, in_funcargs in handed)


# -- Note [Config made once] ----------------------------------------------------------------------

def _summary(results) -> list[tuple]:
    return [(r.id, r.status, r.points, r.max_points, r.message, r.hint, r.details, r.visibility,
             r.cause) for r in results]


def test_a_prepared_configuration_grades_as_pytest_main_does(monkeypatch) -> None:
    """The first run after `prepare` (same checks, same -k) uses the configuration made then,
    never calls pytest.main, and gives the very results of a run without it; the next run
    builds its own (a configuration is used once)."""
    expected, seen = _summary(plugin.run(CHECKS, new_student(), POINTS)), []
    plugin.prepare(CHECKS)
    mains = []
    real_main = pytest.main
    monkeypatch.setattr(pytest, "main", lambda *a, **k: mains.append(a) or real_main(*a, **k))
    out = plugin.run(CHECKS, new_student(), POINTS, on_result=seen.append)
    assert mains == [] and plugin._prepared is None
    assert _summary(out) == expected and [r.id for r in seen] == [r.id for r in out]
    assert _summary(plugin.run(CHECKS, new_student(), POINTS)) == expected
    assert len(mains) == 1


def test_a_prepared_configuration_is_used_only_for_its_checks_and_select(monkeypatch) -> None:
    mains = []
    real_main = pytest.main
    monkeypatch.setattr(pytest, "main", lambda *a, **k: mains.append(a) or real_main(*a, **k))
    plugin.prepare(CHECKS, "alpha")
    assert [r.id for r in plugin.run(CHECKS, new_student(), POINTS)] == [c.id for c in CHECKS]
    plugin.prepare(CHECKS)
    assert [r.id for r in plugin.run(CHECKS[:2], new_student(), POINTS)] == ["zeta/passes",
                                                                            "alpha/fails"]
    assert len(mains) == 2 and plugin._prepared is None
    plugin.prepare(CHECKS, "alpha")
    assert [r.id for r in plugin.run(CHECKS, new_student(), POINTS, select="alpha")] == [
        "alpha/fails", "alpha/internal"]
    assert len(mains) == 2


def test_a_prepared_run_in_a_fork_each(tmp_path) -> None:
    """As in a batch: prepared once in the parent, each fork runs its own session from it."""
    import json
    import os
    plugin.prepare(CHECKS)
    expected = _summary(plugin.run(CHECKS, new_student(), POINTS))
    plugin.prepare(CHECKS)
    for n in range(2):
        pid = os.fork()
        if pid == 0:
            try:
                out = _summary(plugin.run(CHECKS, new_student(), POINTS))
                (tmp_path / f"{n}.json").write_text(json.dumps([out, plugin._prepared is None]))
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        out, used = json.loads((tmp_path / f"{n}.json").read_text())
        assert [tuple(r) for r in out] == expected and used
    plugin._prepared = None


def test_a_prepared_session_is_collected_ahead_and_grades_as_pytest_main_does() -> None:
    """Note [Session collected once]: prepare collects the session (no check runs then); the
    run gives the very results of pytest.main, and each check's student is the run's own."""
    expected = _summary(plugin.run(CHECKS, new_student(), POINTS))
    plugin.prepare(CHECKS)
    session = plugin._prepared[5]
    assert session is not None and len(session.items) == len(CHECKS)
    assert plugin._prepared[4].ids == [c.id for c in CHECKS]
    assert _summary(plugin.run(CHECKS, new_student(), POINTS)) == expected
    assert plugin._prepared is None


def test_a_prepared_session_selecting_nothing_is_not_kept() -> None:
    """A -k that selects no check: prepare keeps the configuration alone, and the run says why
    no check ran, as without it (Note [Zero checks])."""
    plugin.prepare(CHECKS, "nothing_is_called_this")
    assert plugin._prepared is not None and plugin._prepared[5] is None
    with pytest.raises(plugin.NoChecks, match="matches none of the"):
        plugin.run(CHECKS, new_student(), POINTS, select="nothing_is_called_this")


def test_a_prepared_session_dropped_unused_is_unconfigured() -> None:
    """A prepared session another run does not use is unconfigured: pytest's globals are as
    they were (Note [Session collected once])."""
    from _pytest.mark.structures import MARK_GEN
    before = MARK_GEN._config
    plugin.prepare(CHECKS, "alpha")
    assert MARK_GEN._config is plugin._prepared[2]
    plugin.prepare(CHECKS)  # drops the first
    plugin.run(CHECKS[:2], new_student(), POINTS)  # drops the second
    assert plugin._prepared is None and MARK_GEN._config is before


def test_an_editions_hints_come_first_and_only_where_they_explain_the_failure() -> None:
    """Note [Assigned parts] in grader/scoring/assignment.py: an edition's hint when the part is
    not found (not when it is wrong), or, marked `failing`, whenever its check fails; never on a
    pass."""
    newer = ("edition", "new", "the new editions")
    checks = (Check("f/missing", "f", "F missing", is_missing, hint="own",
                    editions=(newer + ("f", "missing"),)),
              Check("f/wrong", "f", "F wrong", fails, hint="own", editions=(newer + ("f", "missing"),)),
              Check("g/wrong", "g", "G wrong", fails, hint="own",
                    editions=(newer + ("g/wrong", "failing"),)),
              Check("g/passes", "g", "G passes", passes, editions=(newer + ("g/passes", "failing"),)))
    out = {r.id: r for r in plugin.run(checks, new_student(), {c.id: 1.0 for c in checks})}
    assert out["f/missing"].hint.startswith("`f` is not assigned in the new editions: if your "
                                            "course is one of them, grade with `--convention "
                                            "edition=new`")
    assert out["f/missing"].hint.endswith("\nown")
    assert out["f/wrong"].hint == "own"
    assert out["g/wrong"].hint.startswith("the rule of `g/wrong` is not assigned in the new editions")
    assert out["g/passes"].hint == ""
