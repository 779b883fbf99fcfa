"""The bundled example submissions (examples/fc_nets) get the verdicts the demo promises.

Driven through the real `grade check` CLI in a subprocess, as a user would.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "fc_nets"
GRADE = Path(sys.executable).with_name("grade")


def grade(submission: Path, tmp_path: Path, *extra: str):
    out = tmp_path / "result.json"
    start = time.monotonic()
    proc = subprocess.run([str(GRADE), "check", str(submission), "-a", "fc_nets", "--json", str(out),
                           "--html", str(tmp_path / "report.html"), *extra],
                          capture_output=True, text=True, timeout=300)
    return proc, json.loads(out.read_text()), time.monotonic() - start


def by_function(result: dict) -> dict[str, tuple[float, float]]:
    totals: dict[str, list[float]] = {}
    for check in result["checks"]:
        got, most = totals.setdefault(check["function"], [0.0, 0.0])
        totals[check["function"]] = [got + check["points"], most + check["max_points"]]
    return {k: (v[0], v[1]) for k, v in totals.items()}


def test_ada_correct_loops_get_full_marks(tmp_path) -> None:
    proc, result, _ = grade(EXAMPLES / "ada", tmp_path)
    assert proc.returncode == 0, proc.stdout
    assert result["score"] == result["max_score"] == 42
    assert (tmp_path / "report.html").exists()


def test_ben_loses_exactly_the_bugged_and_missing_parts(tmp_path) -> None:
    proc, result, _ = grade(EXAMPLES / "ben", tmp_path)
    assert proc.returncode == 1
    totals = by_function(result)
    full = {f for f, (got, most) in totals.items() if got == most}
    assert {"affine_forward", "relu_forward", "relu_backward", "svm_loss",
            "sgd_momentum", "rmsprop"} <= full
    assert totals["affine_backward"][0] < totals["affine_backward"][1]
    assert totals["adam"][0] < totals["adam"][1]
    # ben's unshifted softmax is reported, but the course gives softmax_loss away, so it
    # costs nothing of its own (Note [Course-provided parts] in grader/scoring/assignment.py)
    softmax = [c for c in result["checks"] if c["function"] == "softmax_loss"]
    assert totals["softmax_loss"] == (0, 0) and any(c["status"] == "failed" for c in softmax)
    db = next(c for c in result["checks"] if c["id"] == "affine_backward/db")
    assert "factor of 1/N" in db["message"]
    assert "layer_utils.py not found in the submission" in proc.stdout


def test_cy_hostile_costs_only_its_own_functions_and_ends(tmp_path) -> None:
    proc, result, seconds = grade(EXAMPLES / "cy", tmp_path)
    assert proc.returncode == 1
    assert seconds < 120
    statuses = {c["id"]: c["status"] for c in result["checks"]}
    assert statuses["affine_forward/out"] == "passed"  # numpy patched in the worker only
    assert statuses["affine_backward/dx"] == "failed"  # an object claiming equality earns nothing
    assert statuses["relu_forward/out"] == "timeout"
    assert statuses["softmax_loss/loss"] == "failed"   # sys.exit is an error of that call
    assert statuses["svm_loss/loss"] == "failed"       # memory limit
    assert result["environment"]["sandbox"] in ("bwrap", "rlimits")
    assert result["score"] == 3


def test_dee_python2_zip_says_where_and_why(tmp_path) -> None:
    proc, result, _ = grade(EXAMPLES / "dee.zip", tmp_path, "-k", "affine_forward")
    assert proc.returncode == 1
    message = next(c for c in result["checks"] if c["id"] == "affine_forward/out")["message"]
    assert message.startswith("layers.py line 6: SyntaxError")
    assert "Python 2" in message


@pytest.mark.slow
def test_demo_batch_writes_reports_dashboard_and_gradebook(tmp_path) -> None:
    """What `make demo` runs: every example graded, reports, dashboard and gradebook written."""
    out = tmp_path / "demo"
    proc = subprocess.run([str(GRADE), "batch", str(EXAMPLES), "-a", "fc_nets", "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in ("ada", "ben", "cy", "dee"):
        assert (out / "reports" / f"{name}.html").exists()
        assert json.loads((out / "results" / f"{name}.json").read_text())["status"] == "graded"
    assert (out / "summary.html").exists() and (out / "gradebook.sqlite").exists()
    assert "summary.html" in proc.stdout + proc.stderr
