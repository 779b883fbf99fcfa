"""The grader.result/1 document (grader/scoring/result.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from grader.scoring.result import CHECK_STATUSES, SCHEMA, CheckResult, SubmissionResult

CHECK_KEYS = {"id", "function", "title", "status", "points", "max_points", "visibility", "message",
              "hint", "details", "duration_s", "cause"}


def sample_result(**overrides) -> SubmissionResult:
    checks = (
        CheckResult("affine_forward/out", "affine_forward", "out matches", "passed", 2.0, 2.0,
                    details={"max_rel_error": 1.2e-9}, duration_s=0.01),
        CheckResult("relu_backward/dx", "relu_backward", "dx matches", "failed", 0.0, 1.0,
                    visibility="hidden", message="dx: 3 of 20 entries differ", hint="dout * (x > 0)",
                    details={"mismatched": 3, "worst_index": [1, 2]}),
    )
    fields = dict(assignment="fc_nets", submission="alice", status="graded", score=2.0, max_score=3.0,
                  duration_s=3.2, environment={"device": "cpu", "sandbox": "bwrap", "python": "3.11.7"},
                  checks=checks, notes=("supplied the course's solver.py",))
    fields.update(overrides)
    return SubmissionResult(**fields)


def test_to_dict_has_the_schema_and_every_field() -> None:
    data = sample_result().to_dict()
    assert data["schema"] == SCHEMA == "grader.result/1"
    assert list(data)[0] == "schema"
    assert {"assignment", "submission", "status", "score", "max_score", "duration_s", "environment",
            "checks", "message", "notes"} <= set(data)
    assert all(set(c) == CHECK_KEYS for c in data["checks"])
    assert data["checks"][1]["visibility"] == "hidden"
    assert data["notes"] == ["supplied the course's solver.py"]


def test_round_trip_through_json_and_a_file(tmp_path) -> None:
    original = sample_result()
    assert SubmissionResult.from_dict(json.loads(original.to_json())) == original
    path = tmp_path / "out" / "alice.json"  # parent folders are made
    original.write(path)
    assert SubmissionResult.from_dict(json.loads(path.read_text())) == original
    assert [p.name for p in path.parent.iterdir()] == ["alice.json"]  # no temporary file left


def test_error_result_round_trips() -> None:
    failed = sample_result(status="error", score=0.0, checks=(), notes=(),
                           message="no Python files found in alice")
    data = json.loads(failed.to_json())
    assert data["status"] == "error" and data["message"] == "no Python files found in alice"
    assert data["checks"] == []
    assert SubmissionResult.from_dict(data) == failed


def test_numpy_values_in_details_become_plain_json() -> None:
    check = CheckResult("f/x", "f", "t", "failed", 0.0, 1.0,
                        details={"err": np.float32(0.5), "n": np.int64(3), "idx": np.array([1, 2])})
    data = json.loads(sample_result(checks=(check,)).to_json())
    assert data["checks"][0]["details"] == {"err": 0.5, "n": 3, "idx": [1, 2]}


def test_unserialisable_details_are_refused() -> None:
    check = CheckResult("f/x", "f", "t", "failed", 0.0, 1.0, details={"obj": object()})
    with pytest.raises(TypeError, match="object is not JSON serialisable"):
        sample_result(checks=(check,)).to_json()


@pytest.mark.parametrize("status", CHECK_STATUSES)
def test_known_statuses(status) -> None:
    assert CheckResult("f/x", "f", "t", status, 0.0, 1.0).status == status


def test_unknown_status_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown check status 'crashed'"):
        CheckResult("f/x", "f", "t", "crashed", 0.0, 1.0)
    data = sample_result().to_dict()
    data["checks"][0]["status"] = "PASS"
    with pytest.raises(ValueError, match="unknown check status 'PASS'"):
        SubmissionResult.from_dict(data)


@pytest.mark.parametrize("schema", [None, "grader.result/2", "otter"])
def test_other_schemas_are_refused(schema) -> None:
    data = sample_result().to_dict()
    if schema is None:
        del data["schema"]
    else:
        data["schema"] = schema
    with pytest.raises(ValueError, match="not a grader.result/1 document"):
        SubmissionResult.from_dict(data)


def test_results_are_frozen() -> None:
    result = sample_result()
    with pytest.raises(AttributeError):
        result.score = 3.0  # type: ignore[misc]


# -- Note [Strict JSON] and Note [Bounded text] ---------------------------------------------------

def test_non_finite_numbers_are_written_as_strings_and_read_back_as_floats() -> None:
    import math
    check = CheckResult("a/out", "a", "t", "failed", 0.0, 1.0,
                        details={"max_abs_error": np.float64(np.inf), "worst": -math.inf,
                                 "curve": [1.0, float("nan"), np.float32(2.5)],
                                 "nested": {"x": np.array([np.nan, 1.0])}})
    text = sample_result(checks=(check,)).to_json()
    assert "Infinity" not in text and "NaN" not in text

    def refuse(name):
        raise ValueError(name)
    data = json.loads(text, parse_constant=refuse)
    assert data["checks"][0]["details"] == {"max_abs_error": "inf", "worst": "-inf",
                                            "curve": [1.0, "nan", 2.5], "nested": {"x": ["nan", 1.0]}}
    back = SubmissionResult.from_dict(data).checks[0].details
    assert back["max_abs_error"] == math.inf and back["worst"] == -math.inf
    assert math.isnan(back["curve"][1]) and math.isnan(back["nested"]["x"][0])


def test_files_written_before_strict_json_are_still_read() -> None:
    import math
    old = json.loads(sample_result().to_json())
    old["checks"][0]["details"] = {"max_rel_error": "@INF@"}
    text = json.dumps(old).replace('"@INF@"', "Infinity")
    result = SubmissionResult.from_dict(json.loads(text))
    assert result.checks[0].details["max_rel_error"] == math.inf


def test_long_student_text_is_clipped_everywhere_and_clipping_is_idempotent() -> None:
    from grader.scoring.result import MAX_NAME, MAX_TEXT, InlineAnswer, clip
    huge = "E" * 2_000_000
    check = CheckResult("a/" + huge, huge, huge, "error", 0.0, 1.0, message=huge, hint=huge,
                        details={huge: huge, "list": [huge]})
    result = sample_result(checks=(check,), submission=huge, message=huge, notes=(huge,),
                           environment={"worker_python": huge},
                           answers=(InlineAnswer("q", huge, 1.0, huge, huge),))
    assert len(result.to_json()) < 12 * MAX_TEXT
    assert len(check.function) <= MAX_NAME and len(check.message) <= MAX_TEXT
    assert check.message.endswith(f"[... {2_000_000 - (MAX_TEXT - 48)} more characters not kept]")
    assert clip(check.message) == check.message
    assert SubmissionResult.from_dict(json.loads(result.to_json())) == result
    many = sample_result(notes=("n",) * 5000, answers=(InlineAnswer("q", "a"),) * 5000)
    assert len(many.notes) == 201 and many.notes[-1] == "[... 4800 more notes not kept]"
    assert len(many.answers) == 100


@pytest.mark.parametrize("text, why", [
    ("[]", "not a grader.result/1 document (a JSON list)"),
    ('{"schema": "grader.result/1"}', "not a whole grader.result/1 document (TypeError: "),
    ('{"schema": "other"}', "not a grader.result/1 document (schema='other')"),
    ('{"schema": "grader.result/1", "assignment": "a", "submission": "s", "status": "graded", '
     '"score": "3", "max_score": 4, "duration_s": 1, "environment": {}}', "score is '3', not a number"),
    ('{"schema": "grader.result/1", "assignment": "a", "submission": "s", "status": "graded", '
     '"score": 1, "max_score": 4, "duration_s": 1, "environment": {}, "checks": [{"id": "c", '
     '"function": "f", "title": "t", "status": "passed", "points": null, "max_points": 1}]}',
     "check 'c': points is None, not a number"),
    ('{"schema": "grader.result/1", "assignment": "a", "submission": "s", "status": "graded", '
     '"score": 1, "max_score": 4, "duration_s": 1, "environment": {}, "checks": ["c"]}',
     "not a whole grader.result/1 document (TypeError: "),
])
def test_read_result_says_why_a_damaged_file_is_not_a_result(tmp_path, text, why) -> None:
    """Note [A damaged result file]: `[]` raised AttributeError, which the batch's
    reconciliation did not expect (a traceback); a string score was read and broke the exports."""
    from grader.scoring.result import read_result
    (tmp_path / "r.json").write_text(text)
    with pytest.raises(ValueError) as raised:
        read_result(tmp_path / "r.json")
    assert str(raised.value).startswith(why), str(raised.value)


def test_read_result_reads_what_write_wrote(tmp_path) -> None:
    from grader.scoring.result import read_result
    result = SubmissionResult("a", "s", "graded", 1, 2.5, 0.25, {"x": 1}, (
        CheckResult("c", "f", "t", "passed", 1, 1, details={"e": float("inf")}),))
    result.write(tmp_path / "r.json")
    assert read_result(tmp_path / "r.json") == result


def test_a_result_that_cannot_be_written_leaves_no_tmp(tmp_path) -> None:
    """Note [Atomic writes leave nothing behind] in grader/report/atomic.py (grade check --json)."""
    (tmp_path / "r.json").mkdir()
    with pytest.raises(IsADirectoryError):
        SubmissionResult("a", "s", "graded", 1, 2, 0.5, {}).write(tmp_path / "r.json")
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


@pytest.mark.parametrize("status", ["error", "other_version"])
def test_the_score_cell_is_blank_only_for_a_submission_not_graded(status) -> None:
    """Note [An ungraded submission has no score]: the one rule grades.csv, `grade export`'s
    csv and Canvas write by."""
    assert sample_result().score_cell() == 2.0
    assert sample_result(score=0.0).score_cell("{:g}".format) == "0"  # an earned 0 is kept
    assert sample_result(status=status, score=0.0, checks=()).score_cell() == ""
    assert sample_result(status=status, score=0.0, checks=()).score_cell("{:g}".format) == ""
