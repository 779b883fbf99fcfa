"""The fix-first list (grader/report/fix_first.py, Note [Fix order])."""

from __future__ import annotations

from grader.report.fix_first import HIDDEN, diagnosis, fix_order, without_sample
from grader.scoring.result import CheckResult, SubmissionResult


def check(cid: str, status: str = "failed", cause: str | None = "wrong", lost: float = 1.0,
          message: str = "", **more) -> CheckResult:
    function = cid.split("/")[0]
    return CheckResult(cid, function, cid, status, 0.0 if status != "passed" else lost, lost,
                       message=message or f"{function}: wrong", cause=cause if status != "passed"
                       else None, **more)


def result(*checks: CheckResult) -> SubmissionResult:
    return SubmissionResult("fc_nets", "ada", "graded", 0.0, 10.0, 1.0, {}, checks)


def test_missing_files_then_imports_then_functions_forward_before_backward() -> None:
    fixes = fix_order(result(
        check("affine_forward/out", "passed"),
        check("relu_backward/dx", hint="dx = dout * (x > 0)\nmore"),
        check("relu_forward/out"),
        check("TwoLayerNet.loss/overfit", "error", "import_error",
              message="cs231n/solver.py could not be imported: ImportError: no optim"),
        check("sgd_momentum/next_w", "error", "missing", 2, "optim.py not found in the submission"),
        check("adam/next_w", "error", "missing", 3, "optim.py not found in the submission"),
        check("adam/steps_hidden", "error", "missing", 1, "optim.py not found in the submission",
              visibility="hidden"),
    ))
    assert [f.title for f in fixes] == [
        "optim.py not found in the submission",
        "cs231n/solver.py could not be imported: ImportError: no optim",
        "relu_forward", "relu_backward"]
    optim = fixes[0]
    assert optim.blocker and optim.functions == ("sgd_momentum", "adam") and optim.lost == 6
    assert fixes[3].hint == "dx = dout * (x > 0)" and not fixes[3].blocker


def test_a_function_failing_only_hidden_checks_says_so_and_nothing_more() -> None:
    fixes = fix_order(result(check("adam/steps_hidden", message="SECRET", hint="SECRET",
                                   visibility="hidden")))
    assert [(f.title, f.diagnosis, f.hint) for f in fixes] == [("adam", HIDDEN, "")]


def test_diagnosis_drops_the_sample_label_and_names_the_known_bug() -> None:
    c = check("affine_backward/db", message=(
        "[sample N=2, x (2,4,5,6)] db: 3 of 3 entries differ (max abs error 0.501)\n"
        "worst at db[2]\nlooks like: off by a factor of 1/N = 1/2: divided by N once too often"))
    assert diagnosis(c) == ("db: 3 of 3 entries differ; looks like: off by a factor of 1/N = 1/2: "
                            "divided by N once too often")
    wide = check("relu_forward/out", message="[sample x (4,5)] out: 8 of 20 entries differ (max "
                                             "abs error 1.3, max rel error 0; tolerance rtol=1e-06, "
                                             "atol=1e-09)\nworst at out[0]")
    assert diagnosis(wide) == "out: 8 of 20 entries differ (max abs error 1.3, max rel error 0)"
    assert without_sample("[FullyConnectedNet([20, 30], reg=0)] initial loss: 1 of 1") == \
        "initial loss: 1 of 1"
    assert without_sample("[unclosed") == "[unclosed"


def test_a_full_score_has_nothing_to_fix() -> None:
    assert fix_order(result(check("relu_forward/out", "passed"))) == []
