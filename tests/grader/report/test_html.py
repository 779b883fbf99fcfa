"""The HTML report (grader/report/html.py, templates/report.html.j2) renders only the JSON."""

from __future__ import annotations

from grader.report.html import render_html
from grader.scoring.result import CheckResult, SubmissionResult


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


def test_report_says_how_memory_was_limited() -> None:
    environment = {"sandbox": "bwrap", "isolation": {
        "memory": "4096 MiB for the whole submission (cgroup v1); 4096 MiB of address space per process too"}}
    html = render_html(result(environment=environment))
    assert "memory\n  4096 MiB for the whole submission (cgroup v1) &middot;" in html
    assert "memory" not in render_html(result()).split('class="meta"')[1].split("</p>")[0]


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
    # Note [An ungraded submission has no score] in grader/course/export.py: the tab said (0/42)
    assert "(not graded)</title>" in html and "0/" not in html.split("</title>")[0]


# -- error maps (Note [Error map] in grader/checks/compare.py) ----------------------------------

ERROR_MAP = {"name": "dx", "grid": ["0300", "0004"], "shape": [2, 4], "block": [1, 1],
             "layout": "rows: axis 0, columns: axis 1"}


def with_details(details: dict, visibility: str = "visible") -> SubmissionResult:
    check = CheckResult("affine_backward/dx", "affine_backward", "dx matches", "failed", 0, 1,
                        visibility=visibility, message="dx: 2 of 8 entries differ", details=details)
    return result(checks=(check,))


def test_a_failed_comparison_gets_a_heat_map() -> None:
    import re
    html = render_html(with_details({"mismatched": 2, "total": 8, "error_map": ERROR_MAP}))
    svg = re.search(r"<svg role=\"img\".*?</svg>", html, re.S).group(0)
    assert "<title>Where dx differs from the reference: 2 of 8 entries wrong</title>" in svg
    assert 'viewBox="0 0 4 2"' in svg
    cells = re.findall(r'<rect class="l(\d)" x="([\d.]+)" y="([\d.]+)" width="0.9"', svg)
    assert cells == [("3", "1.05", "0.05"), ("4", "3.05", "1.05")]
    assert "NaN or infinite" in html and "shape [2, 4]" in html
    assert "block showing" not in html  # one cell per entry here


def test_nested_maps_are_drawn_with_their_names() -> None:
    grads = {"W1": {"mismatched": 1, "total": 8, "error_map": dict(ERROR_MAP, name="grads['W1']")},
             "W2": {"mismatched": 3, "total": 8, "error_map": dict(ERROR_MAP, name="grads['W2']")}}
    html = render_html(with_details(grads))
    assert html.count("<svg") == 2
    assert "Where grads[&#39;W1&#39;] differs" in html and "3 of 8 entries wrong" in html


def test_big_arrays_say_each_cell_is_a_block() -> None:
    html = render_html(with_details({"mismatched": 9, "total": 10000,
                                     "error_map": dict(ERROR_MAP, block=[32, 22])}))
    assert "32 x 22 block showing its worst entry" in html


def test_hidden_checks_never_get_a_map_even_if_one_slipped_through() -> None:
    html = render_html(with_details({"mismatched": 2, "total": 8, "error_map": ERROR_MAP}, "hidden"))
    assert "<svg" not in html and "Where dx differs" not in html


CHART = {"type": "line", "title": "Accuracy vs sparsity", "x_label": "sparsity (%)",
         "y_label": "accuracy", "target": None, "target_label": "",
         "series": [{"name": "yours", "points": [[10, 0.9], [50, 0.5]]},
                    {"name": "reference", "points": [[10, 0.9], [50, 0.88]]}]}


def test_a_check_with_a_chart_gets_a_drawing_with_a_text_alternative() -> None:
    import re
    html = render_html(with_details({"chart": CHART}))
    svg = re.search(r'<figure class="chart">.*?</figure>', html, re.S).group(0)
    assert svg.count("<polyline") == 2
    assert "<title>Accuracy vs sparsity: yours: (10, 0.9), (50, 0.5); reference: (10, 0.9), " \
           "(50, 0.88)</title>" in svg
    assert ">yours</li>" in svg and ">reference</li>" in svg


def test_passed_checks_show_their_charts_too() -> None:
    check = CheckResult("prune/accuracy", "prune", "accuracy", "passed", 1, 1, details={"chart": CHART})
    assert '<figure class="chart">' in render_html(result(checks=(check,)))


def test_hidden_checks_never_get_a_chart() -> None:
    for visibility in ("hidden", "hidden_details"):
        html = render_html(with_details({"chart": CHART}, visibility))
        assert '<figure class="chart">' not in html


def test_hidden_details_shows_the_message_but_not_the_map() -> None:
    html = render_html(with_details({"mismatched": 2, "total": 8, "error_map": ERROR_MAP},
                                    "hidden_details"))
    assert "dx: 2 of 8 entries differ" in html
    assert "Where dx differs" not in html
    html = render_html(with_details({}, "hidden"))
    assert "dx: 2 of 8 entries differ" not in html


def test_a_passed_check_shows_its_notes_unless_hidden() -> None:
    note = "db: shape (1, 3) accepted; the course's shape is (3,)"
    checks = (CheckResult("affine_backward/db", "affine_backward", "db matches", "passed", 1, 1,
                          message=note, details={"notes": [note]}),
              CheckResult("affine_backward/db_hidden", "affine_backward", "db (hidden)", "passed",
                          1, 1, visibility="hidden", message="SECRET note",
                          details={"notes": ["SECRET note"]}))
    html = render_html(result(checks=checks))
    assert "Note: db: shape (1, 3) accepted; the course&#39;s shape is (3,)" in html
    assert "SECRET" not in html

def test_a_failing_zero_point_check_is_shown_as_advice() -> None:
    """Note [Advisory checks] in grader/scoring/assignment.py."""
    advice = CheckResult("softmax_loss/wide_rows", "softmax_loss", "finite loss (advisory)",
                         "failed", 0, 0, message="loss: NaN or infinite", hint="log-sum-exp")
    html = render_html(result(checks=(advice,)))
    assert '<span class="status advice">advice</span>' in html
    assert "log-sum-exp" in html and 'class="status failed"' not in html

# -- Note [Report layout] ------------------------------------------------------------------------

def test_a_release_result_gets_the_public_checks_banner_and_a_full_run_does_not() -> None:
    import dataclasses

    from grader.course import release
    from grader.report.html import PUBLIC_ONLY_PREFIX
    assert release.PUBLIC_ONLY.startswith(PUBLIC_ONLY_PREFIX)  # the report reads it by its prefix
    released = release.public_only(result())
    assert '<p class="banner" role="note"><strong>Public checks only.</strong>' in render_html(released)
    assert 'class="banner"' not in render_html(result())
    assert 'class="banner"' not in render_html(dataclasses.replace(released, status="error"))


def test_fix_first_links_to_the_details_and_passed_functions_are_folded() -> None:
    html = render_html(result())
    fix = html.index('<h2 id="fix-first">')
    assert html.index('<a href="#f2"><code>affine_backward</code></a>') > fix
    assert html.index('<h2 id="f2">') < html.index('<details class="passed-functions">')
    assert html.index('<h2 id="f1">') > html.index('<details class="passed-functions">')
    assert "1 function passed every check\n    (2 points)" in html


def test_a_full_score_has_no_fix_list() -> None:
    passed = (CheckResult("affine_forward/out", "affine_forward", "out matches", "passed", 2, 2),)
    html = render_html(result(checks=passed, score=2, max_score=2))
    assert 'id="fix-first"' not in html and '<details class="passed-functions">' in html


def test_the_template_is_compiled_once_and_pages_depend_on_their_result_alone() -> None:
    """Note [Compiled once]: the second and later reports reuse the compiled template, and
    rendering one result does not leak into the next page."""
    from grader.report import html
    compiled = html._template()
    escaped, plain = render_html(result()), render_html(result(checks=(), score=0, max_score=0))
    assert html._template() is compiled
    assert "alert(1)" in escaped and "alert(1)" not in plain
    assert render_html(result()) == escaped


def test_a_template_compiled_ahead_renders_what_a_fresh_compilation_renders(tmp_path,
                                                                             monkeypatch) -> None:
    """Note [Template compiled ahead]: `compile_ahead` stores the code, a report loads it for
    the same source and renders the same pages; an edited template finds none and is compiled
    afresh, so a stale compilation is never used."""
    from grader.report import html
    monkeypatch.setattr(html, "COMPILED", tmp_path / "compiled")
    html._template.cache_clear()
    fresh = [render_html(r) for r in (result(), result(checks=(), score=0, max_score=0))]
    assert not (tmp_path / "compiled").exists()  # rendering never writes one
    path = html.compile_ahead()
    assert path.parent == tmp_path / "compiled" and path.is_file()
    html._template.cache_clear()
    loaded = []
    real_load = html._StoredOnly.load_bytecode

    def load(cache, bucket):
        real_load(cache, bucket)
        loaded.append(bucket.code is not None)
    monkeypatch.setattr(html._StoredOnly, "load_bytecode", load)
    assert [render_html(r) for r in (result(), result(checks=(), score=0, max_score=0))] == fresh
    assert loaded == [True]

    templates = tmp_path / "templates"  # the same template, edited: the stored code is not its
    templates.mkdir()
    edited = (html.TEMPLATES / html.REPORT).read_text().replace("</body>", "<!-- edited --></body>")
    (templates / html.REPORT).write_text(edited)
    monkeypatch.setattr(html, "TEMPLATES", templates)
    html._template.cache_clear()
    try:
        assert "<!-- edited -->" in render_html(result())
        assert loaded == [True, False]  # the stored code is for another source: not used
        assert len(list((tmp_path / "compiled").iterdir())) == 1  # and nothing written
    finally:
        html._template.cache_clear()
