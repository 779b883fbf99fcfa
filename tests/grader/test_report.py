"""The HTML report (grader/report.py, templates/report.html.j2) renders only the JSON."""

from __future__ import annotations

from grader.report import render_html
from grader.result import CheckResult, SubmissionResult


def result(**overrides) -> SubmissionResult:
    checks = (
        CheckResult("affine_forward/out", "affine_forward", "out matches", "passed", 2, 2),
        CheckResult("affine_backward/db", "affine_backward", "db matches", "failed", 0, 1,
                    message="db: 3 of 3 entries differ <script>alert(1)</script>",
                    hint="sum over axis 0"),
        CheckResult("affine_backward/dx_hidden", "affine_backward", "dx (hidden samples)", "failed",
                    0, 1, visibility="hidden", message="SECRET hidden inputs x=[1,2,3]"),
    )
    fields = dict(assignment="fc_nets", submission="ben", status="graded", score=2, max_score=4,
                  duration_s=1.5, environment={"sandbox": "bwrap", "worker_python": "3.11",
                                               "worker_numpy": "2.4"},
                  checks=checks, notes=("supplied the course's solver.py",))
    fields.update(overrides)
    return SubmissionResult(**fields)


def test_report_shows_score_functions_messages_and_hints() -> None:
    html = render_html(result())
    assert "2 / 4" in html and "affine_backward" in html
    assert "db: 3 of 3 entries differ" in html and "sum over axis 0" in html
    assert "supplied the course&#39;s solver.py" in html
    assert "bwrap" in html


def test_report_escapes_student_controlled_text() -> None:
    html = render_html(result())
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_hidden_check_messages_are_not_shown() -> None:
    html = render_html(result())
    assert "SECRET" not in html
    assert "hidden check" in html


def test_report_is_self_contained_and_accessible() -> None:
    html = render_html(result())
    assert '<html lang="en">' in html and "<title>" in html
    assert "http://" not in html and "https://" not in html and "<script" not in html
    assert 'role="img"' in html and "aria-label=" in html


def test_ungradable_submission_says_why() -> None:
    html = render_html(result(status="error", checks=(), score=0, message="no Python files found"))
    assert "could not be graded" in html and "no Python files found" in html
