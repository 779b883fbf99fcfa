"""The class dashboard (grader/report/dashboard.py, templates/dashboard.html.j2) renders only
OUT_DIR/results/*.json and OUT_DIR/similarity.json.  About 1 s."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from grader.scoring import assignment as assignments
from grader.report.dashboard import build_view, failure_key, load_results, render_dashboard, write_dashboard
from grader.scoring.result import CheckResult, SubmissionResult


@pytest.fixture(scope="module")
def fc_nets():
    return assignments.load("fc_nets")


def check(cid: str, status: str = "passed", points: float = 1.0, **fields) -> CheckResult:
    function = cid.split("/")[0]
    return CheckResult(cid, function, f"{cid} title", status, points if status == "passed" else 0.0,
                       points, **fields)


def result(name: str, checks=(), status: str = "graded", duration: float = 1.0, **fields) -> SubmissionResult:
    score = sum(c.points for c in checks)
    return SubmissionResult("fc_nets", name, status, score, 4.0, duration,
                            {"sandbox": "bwrap"}, tuple(checks), **fields)


DB_WRONG = "[sample N={n}, x (2,4,5,6)] db: 3 of 3 entries differ (max abs error {e})\nworst at db[2]"


def class_of_five() -> list[SubmissionResult]:
    return [
        result("ada", [check("affine_forward/out", points=2), check("affine_backward/db"),
                       check("affine_backward/dx_hidden", visibility="hidden")]),
        result("ben", [check("affine_forward/out", points=2),
                       check("affine_backward/db", "failed", message=DB_WRONG.format(n=2, e=0.501),
                             hint="sum over axis 0"),
                       check("affine_backward/dx_hidden", "failed", visibility="hidden",
                             message="SECRET hidden inputs x=[1,2,3]", hint="SECRET HINT")],
               duration=7.5),
        result("cy", [check("affine_forward/out", "timeout", points=2, message="timed out: no reply",
                            duration_s=20.0),
                      check("affine_backward/db", "failed", message=DB_WRONG.format(n=3, e=1.25e-3),
                            hint="sum over axis 0"),
                      check("affine_backward/dx_hidden", "failed", visibility="hidden",
                            message="SECRET again")], duration=25.0),
        result("dee", status="error", message="none of the assignment's files (layers.py) were found"),
        result("eve <x>", [check("affine_forward/out", "error", points=2,
                                 message="layers.py line 6: SyntaxError <script>alert(1)</script>"),
                           check("affine_backward/db", "error",
                                 message="layers.py line 6: SyntaxError <script>alert(1)</script>"),
                           check("affine_backward/dx_hidden", "error", visibility="hidden",
                                 message="layers.py line 6: SyntaxError <script>alert(1)</script>")]),
    ]


@pytest.fixture
def out_dir(tmp_path) -> Path:
    for r in class_of_five():
        r.write(tmp_path / "results" / f"{r.submission}.json")
    (tmp_path / "reports").mkdir()
    for name in ("ada", "ben", "eve <x>"):
        (tmp_path / "reports" / f"{name}.html").write_text("report")
    return tmp_path


def test_counts_histogram_and_pass_rates(out_dir, fc_nets) -> None:
    view = build_view(out_dir, fc_nets)
    assert view["counts"] == {"total": 5, "graded": 4, "errors": 1}
    # scores 4/4, 2/4, 0/4, 0/4: two in the lowest bin, one at 50%, one full (last bin)
    counts = [b["count"] for b in view["histogram"]]
    assert counts[0] == 2 and counts[5] == 1 and counts[9] == 1 and sum(counts) == 4
    assert view["stats"]["full_marks"] == 1 and view["stats"]["median"] == 1.0
    functions = {f["function"]: (f["passed"], f["total"], f["rate"]) for f in view["functions"]}
    assert functions == {"affine_forward": (2, 4, 50.0), "affine_backward": (1, 4, 25.0)}
    db = next(c for c in view["checks"] if c["id"] == "affine_backward/db")
    assert (db["passed"], db["total"], db["statuses"]) == (1, 4, {"error": 1, "failed": 2})


def test_failures_are_grouped_by_message_without_numbers(out_dir, fc_nets) -> None:
    failures = build_view(out_dir, fc_nets)["failures"]
    db = [g for g in failures if g["checks"] == ["affine_backward/db"] and g["status"] == "failed"]
    assert len(db) == 1 and db[0]["submissions"] == ["ben", "cy"] and db[0]["count"] == 2
    assert db[0]["example"].startswith("db: 3 of 3 entries differ") and db[0]["hint"] == "sum over axis 0"
    syntax = next(g for g in failures if g["status"] == "error" and not g["hidden"])
    assert syntax["checks"] == ["affine_forward/out", "affine_backward/db"]  # one cause, one group
    hidden = [g for g in failures if g["hidden"]]
    assert {g["example"] for g in hidden} == {"hidden check failed"}
    assert all(g["hint"] == "" and g["looks_like"] == [] for g in hidden)
    assert failures[0]["count"] >= failures[-1]["count"]


def test_failure_key_blanks_samples_and_numbers() -> None:
    assert failure_key(DB_WRONG.format(n=2, e=0.501)) == failure_key(DB_WRONG.format(n=7, e=1e-3))
    assert failure_key("dx: 3 of 3 entries differ") != failure_key("db: 3 of 3 entries differ")
    assert failure_key("`f` raised ValueError on sample 'N=2'") == "`f` raised ValueError"
    assert failure_key("") == ""


def test_causes_say_why_per_function_in_a_sentence(tmp_path, fc_nets) -> None:
    """Note [Causes on the dashboard]: counted from `cause`, never from messages."""
    stub = "`conv_backward_naive` raised NotImplementedError"
    for number in range(12):
        result(f"s{number:02d}", [
            check("conv_backward_naive/dx", "failed", message=stub, cause="not_implemented"),
            check("conv_backward_naive/dw", "failed", message=stub, cause="not_implemented"),
            check("conv_forward_naive/out", "failed" if number < 3 else "passed",
                  message="out: 1 of 4 entries differ", cause="wrong" if number < 3 else None),
            check("conv_forward_naive/hidden", "failed", visibility="hidden", message="SECRET",
                  cause="raised")]).write(tmp_path / "results" / f"s{number:02d}.json")
    result("old", [check("conv_forward_naive/out", "failed", message="out differs")]).write(
        tmp_path / "results" / "old.json")  # written before causes existed: not counted
    causes = build_view(tmp_path, fc_nets)["causes"]
    assert [(c["count"], c["function"], c["cause"]) for c in causes] == [
        (12, "conv_backward_naive", "not_implemented"), (3, "conv_forward_naive", "wrong")]
    assert causes[0]["submissions"] == [f"s{n:02d}" for n in range(12)]
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", render_dashboard(tmp_path, fc_nets)))
    assert "12 submissions raise NotImplementedError in conv_backward_naive" in text
    assert "3 submissions get wrong answers from conv_forward_naive" in text
    assert "SECRET" not in text and "raise an exception" not in text  # the hidden check's cause


def test_slowest_and_ungraded(out_dir, fc_nets) -> None:
    view = build_view(out_dir, fc_nets)
    assert [s["id"] for s in view["slowest"][:2]] == ["cy", "ben"]
    assert view["slowest"][0]["slowest_check"] == "affine_forward/out" and view["slowest"][0]["timeouts"] == 1
    assert [(u["id"], u["message"]) for u in view["ungraded"]] == [
        ("dee", "none of the assignment's files (layers.py) were found")]


def test_an_ungraded_submission_has_no_score_in_the_table(out_dir, fc_nets) -> None:
    """Note [An ungraded submission has no score] in grader/course/export.py: dee (no files)
    was "0 / 6.5" and "0%" in the table of all submissions, as if it had earned nothing."""
    html = render_dashboard(out_dir, fc_nets)
    table = html.split('<h2 id="all">')[1]
    row = re.sub(r"\s+", " ", next(r for r in table.split("</tr>") if "<td>dee " in r))
    assert re.search(r'<td class="num">– / [\d.]+</td><td class="num">–</td>', row), row
    assert "0%" not in row and '"error">error' in row


def test_hidden_messages_never_reach_the_page(out_dir, fc_nets) -> None:
    html = render_dashboard(out_dir, fc_nets)
    assert "SECRET" not in html
    assert "hidden check failed" in html


def test_page_links_every_report_and_escapes_student_text(out_dir, fc_nets) -> None:
    html = render_dashboard(out_dir, fc_nets)
    assert 'href="reports/ada.html"' in html and 'href="reports/ben.html"' in html
    assert 'href="reports/eve%20%3Cx%3E.html"' in html        # names are URL-quoted...
    assert "eve &lt;x&gt;" in html and "<script>alert" not in html  # ...and HTML-escaped
    assert html.count("<script") == 1  # the heat map's sorting (Note [Heat map]), nothing else
    assert re.search(r"dee\s*<span class=\"tag\">no report</span>", html)  # no file, no link
    assert "none of the assignment&#39;s files (layers.py) were found" in html


def test_page_is_self_contained_and_accessible(out_dir, fc_nets) -> None:
    html = render_dashboard(out_dir, fc_nets)
    assert '<html lang="en">' in html and "<title>" in html and 'name="viewport"' in html
    assert "http://" not in html and "https://" not in html
    assert html.count("<script>") == 1 and "<script src" not in html  # Note [Heat map]
    assert "<link" not in html and "<img" not in html
    assert re.search(r'<svg class="chart" role="img" aria-labelledby="hist-title hist-desc"', html)
    assert '<title id="hist-title">' in html and "50 to 60 percent: 1" in html
    for section in ("scores", "heatmap", "functions", "causes", "failures", "slowest", "ungraded", "similar",
                    "all"):
        assert f'<h2 id="{section}">' in html and f'href="#{section}"' in html
    assert html.count("<caption>") >= 4 and 'scope="col"' in html


def test_similarity_pairs_are_listed_when_computed(out_dir, fc_nets) -> None:
    assert "Similar-code detection was not run" in render_dashboard(out_dir, fc_nets)
    (out_dir / "similarity.json").write_text(json.dumps({
        "schema": "grader.similarity/1", "assignment": "fc_nets", "method": "winnowing",
        "threshold": 0.7, "submissions": 4, "functions": ["svm_loss"], "skipped": {"dee": "no files"},
        "truncated": False, "pairs": [{"a": "ada", "b": "ben", "max": 0.93, "mean": 0.93, "functions": [
            {"function": "svm_loss", "similarity": 0.93, "tokens": [80, 82]}]}]}))
    html = render_dashboard(out_dir, fc_nets)
    assert "not evidence and never a penalty" in html
    assert re.search(r'href="reports/ada.html">ada</a> &amp; <a href="reports/ben.html">ben</a>', html)
    assert "93%" in html and "dee: no files" in html
    (out_dir / "similarity.json").write_text("{broken")
    assert "similarity.json cannot be read" in render_dashboard(out_dir, fc_nets)


def test_unreadable_results_are_listed_not_fatal(out_dir, fc_nets) -> None:
    (out_dir / "results" / "zed.json").write_text('{"schema": "something else"}')
    (out_dir / "results" / "list.json").write_text("[]")
    loaded, unreadable = load_results(out_dir)
    assert len(loaded) == 5 and [u[0] for u in unreadable] == ["results/list.json", "results/zed.json"]
    view = build_view(out_dir, fc_nets)
    assert view["counts"] == {"total": 7, "graded": 4, "errors": 3}
    assert "results/zed.json" in render_dashboard(out_dir, fc_nets)


def test_an_empty_batch_renders(tmp_path, fc_nets) -> None:
    path = write_dashboard(tmp_path, fc_nets)
    html = path.read_text()
    assert path == tmp_path / "summary.html"
    assert "No submission could be graded" in html and "0 submissions" in html


def test_module_command_rerenders_the_page(out_dir) -> None:
    done = subprocess.run([sys.executable, "-m", "grader.report.dashboard", str(out_dir), "-a", "fc_nets"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (out_dir / "summary.html").read_text().count('href="reports/') >= 3
    bad = subprocess.run([sys.executable, "-m", "grader.report.dashboard", str(out_dir), "-a", "nope"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "unknown assignment" in bad.stderr


# -- Note [Failure snippets], Note [Heat map] ---------------------------------------------------

def test_snippets_are_cut_at_a_word_and_labels_with_brackets_are_dropped(tmp_path, fc_nets) -> None:
    from grader.report.dashboard import SNIPPET_CHARS, snippet
    words = "dx differs in the first channel " * 10
    cut = snippet(words)
    assert cut.endswith(" …") and len(cut) <= SNIPPET_CHARS + 2
    assert words.startswith(cut[:-2]) and words[len(cut) - 2] == " "  # ends where a word does
    assert snippet("x" * 400) == "x" * SNIPPET_CHARS + " …"
    message = ("[sample [20, 30], N=2, D=15, C=10 (course sizes)] scores: 20 of 20 entries differ\n"
               "looks like: off by a factor of 2\n  looks like: off by a factor of 2")
    r = result("ada", [check("FullyConnectedNet.loss/scores", "failed", message=message)])
    r.write(tmp_path / "results" / "ada.json")
    group = build_view(tmp_path, fc_nets)["failures"][0]
    assert group["example"] == "scores: 20 of 20 entries differ"
    assert group["looks_like"] == ["off by a factor of 2"]  # repeated lines merged


def test_a_group_is_labelled_by_its_most_common_status(tmp_path, fc_nets) -> None:
    statuses = ["error", "failed", "failed"]
    for name, status in zip(("ada", "ben", "cy"), statuses):
        result(name, [check("adam/steps_hidden", status, visibility="hidden",
                            message="x")]).write(tmp_path / "results" / f"{name}.json")
    groups = build_view(tmp_path, fc_nets)["failures"]
    assert [(g["status"], g["count"]) for g in groups] == [("failed", 3)]


def test_heat_map_has_a_cell_per_student_and_function(out_dir, fc_nets) -> None:
    heat = build_view(out_dir, fc_nets)["heat_map"]
    assert heat["functions"] == ["affine_forward", "affine_backward"]  # the assignment's order
    cells = {row["id"]: [c["state"] for c in row["cells"]] for row in heat["rows"]}
    assert cells == {"ada": ["full", "full"], "ben": ["full", "zero"], "cy": ["zero", "zero"],
                     "dee": ["none", "none"], "eve <x>": ["zero", "zero"]}
    ben = next(row for row in heat["rows"] if row["id"] == "ben")
    assert ben["cells"][1]["title"] == ("ben: affine_backward: 0 of 2 points; first failure: "
                                        "failed")
    some = result("fay", [check("affine_backward/db"), check("affine_backward/dx", "failed",
                                                              cause="wrong")])
    some.write(out_dir / "results" / "fay.json")
    fay = next(row for row in build_view(out_dir, fc_nets)["heat_map"]["rows"] if row["id"] == "fay")
    assert [(c["state"], c["share"]) for c in fay["cells"]] == [("none", -1), ("some", 0.5)]
    assert fay["cells"][1]["title"].endswith("first failure: failed (wrong)")
