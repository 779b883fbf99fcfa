"""Grading one submission end to end (grader/scoring/pipeline.py): stage, worker, checks, score.

Uses the tiny assignment in tests/grader/data (three functions, a 2 s call timeout),
so that hostile submissions cost seconds; the CLI tests run the real fc_nets.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from grader.scoring import assignment as assignments
from grader.scoring.pipeline import Options, grade_submission

DATA = Path(__file__).resolve().parents[1] / "data"

LAYERS = """
import numpy as np

def relu_forward(x):
    return np.maximum(0, x), x

def affine_forward(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b, (x, w, b)
"""
OPTIM = """
def sgd(w, dw, config=None):
    config = config or {}
    config.setdefault('learning_rate', 1e-2)
    return w - config['learning_rate'] * dw, config
"""


@pytest.fixture
def tiny(monkeypatch) -> assignments.Assignment:
    monkeypatch.setattr(assignments, "ASSIGNMENTS_DIR", DATA / "assignments")
    monkeypatch.setattr(assignments, "RUBRICS_DIR", DATA / "rubrics")
    return assignments.load("tiny")


def statuses(result) -> dict[str, str]:
    return {c.id: c.status for c in result.checks}


def test_a_correct_submission_gets_full_marks(submission, tiny) -> None:
    seen = []
    result = grade_submission(submission({"layers.py": LAYERS, "optim.py": OPTIM}), tiny,
                              Options(on_result=seen.append), name="alice")
    assert result.status == "graded", result.message
    assert result.submission == "alice" and result.assignment == "tiny"
    assert statuses(result) == {"relu_forward/out": "passed", "sgd/next_w": "passed",
                                "affine_forward/out": "passed"}
    assert result.score == result.max_score == 4.0
    assert [c.id for c in seen] == [c.id for c in result.checks]
    assert result.environment["sandbox"] in ("bwrap", "rlimits")
    assert result.environment["worker_numpy"]
    assert result.notes == ()


def test_a_wrong_function_loses_only_its_points(submission, tiny) -> None:
    result = grade_submission(submission({"layers.py": LAYERS.replace("np.maximum(0, x)", "np.abs(x)"),
                                          "optim.py": OPTIM}), tiny)
    assert statuses(result)["relu_forward/out"] == "failed"
    assert result.score == 3.0
    relu = result.checks[0]
    assert relu.message.startswith("[sample x (3,4)] out: ")
    assert relu.hint == "out = np.maximum(0, x)"


def test_hostile_submission_costs_only_its_own_checks(submission, tiny) -> None:
    # relu_forward never returns; optim.py ends the worker as soon as it is imported
    layers = LAYERS.replace("    return np.maximum(0, x), x", "    while True:\n        pass")
    optim = "import os\nos._exit(3)\n" + OPTIM
    start = time.monotonic()
    result = grade_submission(submission({"layers.py": layers, "optim.py": optim}), tiny)
    elapsed = time.monotonic() - start
    assert result.status == "graded"
    assert statuses(result) == {"relu_forward/out": "timeout", "sgd/next_w": "error",
                                "affine_forward/out": "passed"}
    relu, sgd, affine = result.checks
    assert relu.message.startswith("timed out: no reply within the time limit")
    assert "exit status 3" in sgd.message
    assert result.score == affine.points == 2.0
    assert elapsed < 20, f"grading took {elapsed:.1f}s with a 2s call timeout"


def test_missing_module_is_an_error_and_a_note(submission, tiny) -> None:
    result = grade_submission(submission({"layers.py": LAYERS}), tiny)
    assert statuses(result)["sgd/next_w"] == "error"
    assert result.checks[1].message == "optim.py not found in the submission"
    assert "not found in the submission: optim.py" in result.notes
    assert result.score == 3.0


@pytest.mark.parametrize("shim, real", [("ece697ls", "ece662"), ("cs231n", "zz_code")])
def test_a_re_exporting_package_is_graded_from_the_code_it_re_exports(submission, tiny, shim,
                                                                       real) -> None:
    """Note [Re-exporting packages]: `shim` only re-exports `real`; a name missing from the code
    is reported as missing where the grader looked, which is the real package's file."""
    layers = LAYERS.split("def affine_forward")[0]  # affine_forward left out
    result = grade_submission(submission({
        f"{shim}/__init__.py": "", f"{shim}/layers.py": f"from {real}.layers import *\n",
        f"{shim}/optim.py": f"from {real}.optim import *\n",
        f"{real}/__init__.py": "", f"{real}/layers.py": layers, f"{real}/optim.py": OPTIM}), tiny)
    assert statuses(result) == {"relu_forward/out": "passed", "sgd/next_w": "passed",
                                "affine_forward/out": "error"}
    assert result.checks[2].message.startswith(f"`affine_forward` not found in {real}/layers.py")


def test_writing_into_inputs_is_noted_on_the_check(submission, tiny) -> None:
    layers = LAYERS.replace("    return np.maximum(0, x), x", "    np.maximum(0, x, out=x)\n    return x, x")
    result = grade_submission(submission({"layers.py": layers, "optim.py": OPTIM}), tiny)
    relu = result.checks[0]
    assert relu.status == "passed" and relu.points == 1.0
    assert relu.message == ("`relu_forward` wrote into its input args[0]: the grader passed a copy, "
                            "but callers of your function may not expect that")
    assert result.checks[2].message == ""  # the note belongs to relu_forward's check only


def test_select_grades_a_subset(submission, tiny) -> None:
    result = grade_submission(submission({"layers.py": LAYERS, "optim.py": OPTIM}), tiny,
                              Options(select="affine"))
    assert [c.id for c in result.checks] == ["affine_forward/out"]
    assert result.score == result.max_score == 2.0


def test_an_ungradable_submission_is_a_result_not_a_crash(tmp_path, tiny) -> None:
    (tmp_path / "alice").mkdir()
    result = grade_submission(tmp_path / "alice", tiny)
    assert result.status == "error"
    assert result.message == "no Python files found in alice, which is empty"
    assert result.checks == () and result.score == 0.0 and result.max_score == 4.0
    assert result.environment["sandbox"] == ""


# -- second round: a judge with bounds -----------------------------------------------------------

def with_limits(assignment: assignments.Assignment, **limits) -> assignments.Assignment:
    import dataclasses
    return dataclasses.replace(assignment, limits=dataclasses.replace(assignment.limits, **limits))


def test_a_slow_import_that_exits_in_every_function_is_bounded_by_the_budget(submission, tiny) -> None:
    # Every check restarts the worker, waits out an import just under the call limit, then
    # crashes: the time budget cuts the rest, and the result says what was cut.
    slow = "import os, time\ntime.sleep(1.6)\n"
    layers = slow + LAYERS.replace("    return np.maximum(0, x), x", "    os._exit(1)").replace(
        "    return x.reshape(x.shape[0], -1) @ w + b, (x, w, b)", "    os._exit(1)")
    optim = slow + OPTIM.replace("    return w - config['learning_rate'] * dw, config", "    os._exit(1)")
    start = time.monotonic()
    result = grade_submission(submission({"layers.py": layers, "optim.py": optim}),
                              with_limits(tiny, budget_s=3.0))
    assert time.monotonic() - start < 8
    assert result.status == "graded" and result.score == 0.0
    cut = [c for c in result.checks if c.status == "timeout"]
    assert cut and all("time budget of 3 s" in c.message for c in cut), result.checks
    assert any("time budget of 3 s was spent" in n for n in result.notes), result.notes


def test_a_two_megabyte_class_name_makes_a_small_result_and_report(submission, tiny) -> None:
    from grader.report.html import render_html
    from grader.report.terminal import render
    huge = "E" * 2_000_000
    layers = LAYERS.replace("    return np.maximum(0, x), x",
                            f"    E = type({huge!r}, (Exception,), {{}})\n"
                            f"    E.__qualname__ = {huge!r}\n    raise E('x' * 2_000_000)")
    result = grade_submission(submission({"layers.py": layers, "optim.py": OPTIM}), tiny)
    relu = result.checks[0]
    assert relu.status in ("error", "failed") and relu.points == 0
    assert "EEEE" in relu.message and "more characters not kept" in relu.message, relu.message[:3000]
    assert len(result.to_json()) < 100_000
    assert len(render(result, verbose=True)) < 100_000
    assert len(render_html(result)) < 400_000
    assert result.score == 3.0  # the other functions are graded as ever


def test_student_text_cannot_draw_on_the_terminal(submission, tiny) -> None:
    from grader.report.terminal import render
    forged = "\\x1b[2J\\x1b[H\\rscore 51 / 51\\u202e"
    layers = LAYERS.replace("    return np.maximum(0, x), x", f"    raise ValueError('{forged}')")
    result = grade_submission(submission({"layers.py": layers, "optim.py": OPTIM}), tiny)
    shown = render(result, verbose=True)
    assert "\x1b" not in shown and "\r" not in shown and "\u202e" not in shown
    assert "\\x1b[2J\\x1b[H" in shown and "score 51 / 51\\u202e" in shown  # a lone \r: a new line


def test_non_finite_errors_are_strict_json_and_read_back(submission, tiny) -> None:
    import json
    import math

    from grader.scoring.result import SubmissionResult
    layers = LAYERS.replace("    return np.maximum(0, x), x", "    return np.full_like(x, np.inf), x")
    result = grade_submission(submission({"layers.py": layers, "optim.py": OPTIM}), tiny)
    text = result.to_json()

    def refuse(name):
        raise ValueError(f"{name} is not JSON")
    data = json.loads(text, parse_constant=refuse)  # what JSON.parse accepts
    assert result.checks[0].status == "failed"
    written = json.dumps(data["checks"][0]["details"])
    assert '"inf"' in written or '"nan"' in written, written
    back = SubmissionResult.from_dict(data).checks[0].details
    assert any(isinstance(v, float) and not math.isfinite(v) for v in _leaves(back)), back


def _leaves(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


def test_staging_that_takes_the_whole_budget_is_an_error_saying_so(submission, tiny, monkeypatch) -> None:
    from grader.scoring import pipeline

    def slow_stage(*args, **kwargs):
        time.sleep(1.2)
        return real_stage(*args, **kwargs)
    real_stage = pipeline.stage
    monkeypatch.setattr(pipeline, "stage", slow_stage)
    result = grade_submission(submission({"layers.py": LAYERS, "optim.py": OPTIM}),
                              with_limits(tiny, budget_s=1.0))
    assert result.status == "error" and result.checks == ()
    assert result.message.startswith("staging the submission took 1 s, the whole time budget of 1 s")


def test_grading_in_two_steps_closed_before_finishing_leaves_nothing(submission, tiny) -> None:
    """pipeline.Grading (Note [Early start] in grader/worker/client.py): the worker is
    launched when grading begins; closed without finishing, its process and the staged copy
    are gone; finished, it grades as grade_submission does."""
    import os

    from grader.scoring.pipeline import Grading
    grading = Grading(submission({"layers.py": LAYERS, "optim.py": OPTIM}), tiny)
    worker, staged = grading.worker, grading.staged
    assert grading.result is None and worker.process is not None
    pid = worker.process.pid
    grading.close()
    assert not worker.alive and not Path(staged.root).exists()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    done = Grading(submission({"layers.py": LAYERS, "optim.py": OPTIM}), tiny).finish()
    assert done.status == "graded" and done.score == done.max_score == 4.0


def test_a_worker_stopped_behind_the_verdict_is_gone_once_closed(submission, tiny) -> None:
    """Note [Worker stopped behind the verdict]: `finish(behind=True)` returns the result that
    `finish()` returns; `close` then waits until the worker's process and the staged copy are
    gone, and raises what stopping them raised."""
    import os

    from grader.scoring.pipeline import Grading
    grading = Grading(submission({"layers.py": LAYERS, "optim.py": OPTIM}), tiny)
    worker, staged = grading.worker, grading.staged
    pid = worker.process.pid
    result = grading.finish(behind=True)
    assert result.status == "graded" and result.score == result.max_score == 4.0
    grading.close()
    assert not worker.alive and not Path(staged.root).exists()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    grading.close()  # once more: nothing left to do

    failing = Grading(submission({"layers.py": LAYERS, "optim.py": OPTIM}), tiny)
    real_close, failing_staged = failing.worker.close, failing.staged

    def close_that_fails() -> None:
        real_close()
        raise OSError("the cgroup could not be removed")
    failing.worker.close = close_that_fails
    assert failing.finish(behind=True).score == 4.0
    with pytest.raises(OSError, match="could not be removed"):
        failing.close()
    assert not Path(failing_staged.root).exists()  # the staged copy went all the same
    failing.close()  # the error was raised once


def test_each_submission_graded_in_turn_gets_the_warm_slot_back(submission, tiny, tmp_path) -> None:
    # grade_submission gives a warm worker's slot back when it ends, so a process that grades
    # several submissions (benchmarks/overhead.py) forks every one of them from the zygote.
    import os

    from grader.worker import sandbox
    from grader.worker.warm import SlotPool
    if os.geteuid() != 0 or sandbox.bwrap_path() is None:
        pytest.skip("warm workers need the judge to run as root with bubblewrap installed")
    with SlotPool(1) as pool:
        slots = tuple(pool.start())
        assert slots, (pool.slots[0] / "zygote.log").read_text()
        for _ in range(2):
            result = grade_submission(submission({"layers.py": LAYERS, "optim.py": OPTIM}), tiny,
                                      Options(warm=slots))
            assert result.score == result.max_score
            assert result.environment["worker_start"] == "warm", result.notes


# -- a notebook's cells said once (Note [Each cell said once] in grader/scoring/pipeline.py) -------

def test_a_cell_both_notebook_runs_execute_is_said_in_the_same_words(tmp_path) -> None:
    """A course package imported through a Drive folder, in a notebook graded by observation: its
    definitions-mode module and its observed run each note it, in the same line, which the
    result keeps once."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    from grader.checks.observe import Config
    from grader.checks.student import Student
    from grader.scoring import pipeline
    from grader.submission.stage import Layout, stage
    from grader.worker.client import Worker

    course = tmp_path / "course"
    course.mkdir()
    (course / "helpers.py").write_text("def load_data():\n    return 3\n")
    config = Config.parse({"notebook": "work", "packages": ["ece662"],
                           "modules": {"helpers": "course/helpers.py"},
                           "limits": {"cell_s": 20, "total_s": 40}}, tmp_path, 10, 60)
    layout = Layout(files={"work": "work.py"}, default_package="ece662",
                    notebooks={"work": ["*.ipynb"]}, observe=config)
    folder = tmp_path / "submission"
    folder.mkdir()
    cells = ["from google.colab import drive\ndrive.mount('/content/drive')",
             "from assignment3.ece662.helpers import load_data",
             "def twice(x):\n    return 2 * x\nvalue = twice(load_data())"]
    nbformat.write(new_notebook(cells=[new_code_cell(c) for c in cells]), str(folder / "Q1.ipynb"))
    staged = stage(folder, layout)
    worker = Worker(staged.root)
    try:
        student = Student(worker, staged.modules, staged.files, import_timeouts=dict(staged.import_timeouts),
                          observed=dict(staged.observed))
        from_module = pipeline._notebook_cells(student)
        student.observation(None)
        from_run = student.observation_notes()
    finally:
        worker.close()
        staged.cleanup()
    drive = ("Q1.ipynb cell 2: `from assignment3.ece662.helpers` was imported as `ece662.helpers`: "
             "the folder above the course's package on the student's Drive is not here (Note "
             "[Course package under a Drive folder])")
    assert from_module == [drive]
    assert drive in from_run  # the same words: the result keeps one (the slow end-to-end test:
    # tests/assignments/test_pruning.py, a Drive-folder import said once in the report)
