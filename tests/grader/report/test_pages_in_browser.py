"""The student report and the class dashboard, loaded in headless Chromium.

Chromium's `--dump-dom` gives the DOM after parsing (what a browser builds, not
what the template wrote), and `--enable-logging=stderr --v=0` prints every
console message as `...:INFO:CONSOLE...`, so a page that logs anything (a
script error, a blocked load) is caught; `test_the_console_check_can_fail`
shows the detector works.  `--screenshot` in the same run, at phone width,
proves the pages render at 400 px.  Skipped, saying why, when Chromium is not
installed.  About 6 s (three browser starts).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from grader.scoring import assignment as assignments
from grader.checks.compare import compare_arrays
from grader.checks.spec import CheckFailure
from grader.report.dashboard import write_dashboard
from grader.report.html import write_html
from grader.scoring.result import CheckResult, SubmissionResult

CHROMIUM = next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser"),
                             shutil.which("google-chrome")) if p), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed "
                                                         "(apt-get install chromium)")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--enable-logging=stderr", "--v=0"]
CONSOLE = re.compile(r":CONSOLE[:(\]]")


def chromium(page: Path, *mode: str, width: int = 400) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="grader-chromium-") as profile:
        return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}",
                               f"--window-size={width},2400", *mode, page.resolve().as_uri()],
                              capture_output=True, text=True, timeout=120)


def console_messages(run: subprocess.CompletedProcess) -> list[str]:
    return [line for line in run.stderr.splitlines() if CONSOLE.search(line)]


class Elements(HTMLParser):
    """Every start tag of a DOM dump as (tag, attrs), and the text inside <h1>/<h2>/<title>."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.headings: dict[str, list[str]] = {"h1": [], "h2": [], "title": []}
        self._open: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in self.headings:
            self._open.append(tag)
            self.headings[tag].append("")

    def handle_endtag(self, tag):
        if self._open and self._open[-1] == tag:
            self._open.pop()

    def handle_data(self, data):
        for tag in self._open:
            self.headings[tag][-1] += data

    def find(self, tag: str, **attrs) -> list[dict]:
        return [a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())]


def assert_no_outside_loads(dom: Elements) -> None:
    for tag, attrs in dom.tags:
        assert "src" not in attrs, f"<{tag}> loads {attrs['src']}"
        href = attrs.get("href", "#")
        assert href.startswith("#") or href.startswith("reports/"), f"<{tag}> links to {href}"


# -- pages ---------------------------------------------------------------------------------------

def failed_details() -> dict:
    e = np.random.default_rng(0).standard_normal((4, 3, 5, 5))
    a = e.copy()
    a[1, 2] += 0.5
    try:
        compare_arrays("dx", a, e)
    except CheckFailure as failure:
        return failure.details
    raise AssertionError("the comparison should fail")


def ben() -> SubmissionResult:
    checks = (
        CheckResult("conv_forward_naive/out", "conv_forward_naive", "out matches", "passed", 2, 2),
        CheckResult("conv_backward_naive/dx", "conv_backward_naive", "dx matches", "failed", 0, 1,
                    message="dx: 25 of 300 entries differ", hint="flip the kernel",
                    details=failed_details()),
        CheckResult("conv_backward_naive/dx_hidden", "conv_backward_naive", "dx (hidden samples)",
                    "failed", 0, 1, visibility="hidden", message="SECRET"),
    )
    return SubmissionResult("cnn", "ben", "graded", 2, 4, 3.2,
                            {"sandbox": "bwrap", "worker_python": "3.11", "worker_numpy": "2.4"}, checks)


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("batch")
    results = [ben(), SubmissionResult("cnn", "ada", "graded", 4, 4, 1.0, {}, tuple(
        CheckResult(c.id, c.function, c.title, "passed", c.max_points, c.max_points,
                    visibility=c.visibility) for c in ben().checks)),
               SubmissionResult("cnn", "dee", "error", 0, 4, 0.2, {}, message="no Python files found")]
    for r in results:
        r.write(out / "results" / f"{r.submission}.json")
        write_html(r, out / "reports" / f"{r.submission}.html")
    (out / "similarity.json").write_text(
        '{"schema": "grader.similarity/1", "assignment": "cnn", "method": "winnowing", "threshold": 0.7,'
        ' "submissions": 2, "functions": ["conv_forward_naive"], "skipped": {}, "truncated": false,'
        ' "pairs": [{"a": "ada", "b": "ben", "max": 0.9, "mean": 0.9, "functions":'
        ' [{"function": "conv_forward_naive", "similarity": 0.9, "tokens": [90, 95]}]}]}')
    return {"report": out / "reports" / "ben.html",
            "dashboard": write_dashboard(out, assignments.load("cnn"))}


def test_the_console_check_can_fail(tmp_path) -> None:
    page = tmp_path / "bad.html"
    page.write_text('<!doctype html><title>x</title><script>console.error("boom"); nosuch();</script>')
    messages = console_messages(chromium(page, "--dump-dom"))
    assert any('"boom"' in m for m in messages) and any("nosuch is not defined" in m for m in messages)


@pytest.fixture(scope="module")
def rendered(pages, tmp_path_factory) -> dict[str, tuple[subprocess.CompletedProcess, Path]]:
    """Each page loaded once at phone width: (the run, with the DOM on stdout; its screenshot)."""
    shots = tmp_path_factory.mktemp("shots")
    return {name: (chromium(page, "--dump-dom", f"--screenshot={shots / name}.png"),
                   shots / f"{name}.png") for name, page in pages.items()}


def test_student_report_renders_with_its_heat_map(rendered) -> None:
    run, _ = rendered["report"]
    assert run.returncode == 0, run.stderr[-2000:]
    assert console_messages(run) == []
    dom = Elements(run.stdout)
    assert dom.headings["title"][0].startswith("cnn: ben (2/4)")
    assert dom.headings["h1"] == ["cnn — ben"]
    # Note [Report layout]: what to fix, the failed function, then the passed one (folded)
    assert [h.split()[0] for h in dom.headings["h2"]] == ["Fix", "conv_backward_naive",
                                                         "conv_forward_naive"]
    maps = [a for a in dom.find("svg", role="img")]
    assert len(maps) == 1 and maps[0]["viewbox"] == "0 0 15 20"   # 4x3 tiles of 5x5
    assert len(dom.find("rect", **{"class": "l3"})) == 25              # one wrong 5x5 tile
    assert dom.find("ul", **{"aria-label": "colour key"})
    assert "SECRET" not in run.stdout
    assert_no_outside_loads(dom)


def test_dashboard_renders_every_part(rendered) -> None:
    run, _ = rendered["dashboard"]
    assert run.returncode == 0, run.stderr[-2000:]
    assert console_messages(run) == []
    dom = Elements(run.stdout)
    assert dom.headings["h1"][0].startswith("Convolution, max pooling")
    assert [h.split()[0] for h in dom.headings["h2"]] == ["Score", "Students", "Pass", "Why", "Most",
                                                          "Slowest", "Could", "Similar", "All"]
    chart = dom.find("svg", **{"class": "chart", "role": "img"})
    assert len(chart) == 1 and chart[0]["aria-labelledby"] == "hist-title hist-desc"
    assert len(dom.find("rect", **{"class": "hbar"})) == 10
    links = {a["href"] for a in dom.find("a") if a["href"].startswith("reports/")}
    assert links == {"reports/ada.html", "reports/ben.html", "reports/dee.html"}
    assert "hidden check failed" in run.stdout and "SECRET" not in run.stdout
    assert_no_outside_loads(dom)


@pytest.mark.parametrize("page", ["report", "dashboard"])
def test_pages_render_at_phone_width(rendered, page) -> None:
    from PIL import Image
    run, shot = rendered[page]
    assert run.returncode == 0 and shot.exists(), run.stderr[-2000:]
    image = Image.open(shot).convert("L")
    assert image.size == (400, 2400)
    shades = image.crop((0, 0, 400, 300)).histogram()
    assert sum(1 for count in shades if count) > 8  # text drawn, not a blank page


# -- the report says what to fix first (Note [Report layout] in grader/report/html.py) ---------------

# Appended to a copy of the report (which has no scripts): where things are laid out, as the
# page's title, so that --dump-dom reports it.
MEASURE = """<script>
const y = e => Math.round(e.getBoundingClientRect().top + window.scrollY);
const fixes = [...document.querySelectorAll("li.fix")];
const shown = [...document.querySelectorAll("span.status.passed")].filter(e => e.checkVisibility());  // not folded away
document.title = JSON.stringify({
  fixes: fixes.map(e => e.querySelector("strong, code").textContent.trim()),
  first_fix_bottom: fixes.length ? y(fixes[0]) + fixes[0].offsetHeight : null,
  first_fix_top: fixes.length ? y(fixes[0]) : null,
  first_passed_shown: shown.length ? Math.min(...shown.map(y)) : null,
  banner: document.querySelector(".banner") ? y(document.querySelector(".banner")) : null,
  score: y(document.querySelector(".score")),
  folded: document.querySelectorAll("details.passed-functions section").length});
</script>"""


def many_functions() -> SubmissionResult:
    """A student who passed most functions, with a missing file, a bug in a forward pass and
    its backward, and a release's note: the shape of report that used to need 8,400 px."""
    passed = tuple(CheckResult(f"layer{i}_forward/{name}", f"layer{i}_forward", f"{name} matches",
                               "passed", 1, 1) for i in range(12) for name in ("out", "cache"))
    failing = (
        CheckResult("conv_backward_naive/dx", "conv_backward_naive", "dx matches", "failed", 0, 2,
                    message="[sample x (2,3,5,5)] dx: 25 of 300 entries differ\nworst at dx[0]",
                    hint="flip the kernel", cause="wrong"),
        CheckResult("conv_forward_naive/out", "conv_forward_naive", "out matches", "failed", 0, 2,
                    message="[sample x (2,3,5,5)] out: 9 of 50 entries differ\nlooks like: the "
                            "padding is on one side only", hint="pad both sides", cause="wrong"),
        *(CheckResult(f"{f}/next_w", f, "next_w matches", "error", 0, 1,
                      message="optim.py not found in the submission", cause="missing")
          for f in ("sgd_momentum", "adam")),
    )
    notes = ("public checks only: this run replays the reference's recorded answers",
             "not found in the submission: optim.py")
    return SubmissionResult("cnn", "eve", "graded", 24, 30, 2.0, {"sandbox": "bwrap"},
                            passed[:12] + failing[:2] + passed[12:] + failing[2:], notes=notes)


def layout(report: Path, tmp_path: Path, width: int) -> dict:
    import json
    page = tmp_path / f"measured-{width}.html"
    page.write_text(report.read_text().replace("</body>", MEASURE + "</body>"))
    run = chromium(page, "--dump-dom", width=width)
    assert run.returncode == 0, run.stderr[-2000:]
    assert console_messages(run) == []
    return json.loads(Elements(run.stdout).headings["title"][0])


def test_the_report_lists_what_to_fix_in_order_and_folds_what_passed(tmp_path) -> None:
    report = tmp_path / "eve.html"
    write_html(many_functions(), report)
    assert "<script" not in report.read_text()
    seen = layout(report, tmp_path, 1200)
    # the missing file once, for both functions; a forward before its backward
    assert seen["fixes"] == ["optim.py not found in the submission", "conv_forward_naive",
                             "conv_backward_naive"]
    assert seen["folded"] == 12 and seen["first_passed_shown"] is None
    assert abs(seen["banner"] - seen["score"]) < 40  # beside the score, not at the bottom


def test_a_phone_shows_the_first_failure_without_scrolling_past_passed_checks(tmp_path) -> None:
    report = tmp_path / "eve.html"
    write_html(many_functions(), report)
    seen = layout(report, tmp_path, 400)
    assert seen["first_fix_bottom"] <= 700, seen   # on a phone's first screen
    assert seen["first_passed_shown"] is None or seen["first_passed_shown"] > seen["first_fix_top"]


# -- the dashboard's students x functions heat map (Note [Heat map] in grader/report/dashboard.py) -------

SORT_BY = """<script>
const order = () => [...document.querySelectorAll("table.heat tbody th")].map(e => e.dataset.v);
const before = order();
const button = [...document.querySelectorAll("table.heat thead button")]
  .find(b => b.textContent.trim() === "conv_backward_naive");
button.click();
const worst_first = order();
const sort = button.closest("th").getAttribute("aria-sort");
button.click();
document.title = JSON.stringify({before, worst_first, sort, again: order(),
  cells: [...document.querySelectorAll("table.heat td.cell")].map(e => e.className)});
</script>"""


def test_the_heat_map_shows_every_cell_and_sorts_by_a_function(pages, tmp_path) -> None:
    import json
    page = tmp_path / "dashboard.html"
    # after the page's own script, so that its sorting is in place
    page.write_text(pages["dashboard"].read_text().replace("</body>", SORT_BY + "</body>"))
    run = chromium(page, "--dump-dom", width=1200)
    assert run.returncode == 0 and console_messages(run) == [], run.stderr[-2000:]
    seen = json.loads(Elements(run.stdout).headings["title"][0])
    assert seen["before"] == ["ada", "ben", "dee"]
    # ada and ben by conv_forward_naive, conv_backward_naive; dee could not be graded
    assert seen["cells"] == ["cell full", "cell full", "cell full", "cell zero", "cell none",
                             "cell none"]
    assert seen["worst_first"] == ["dee", "ben", "ada"] and seen["sort"] == "ascending"
    assert seen["again"] == ["ada", "ben", "dee"]


def test_the_heat_map_fits_a_phone(rendered) -> None:
    run, _ = rendered["dashboard"]
    dom = Elements(run.stdout)
    assert len(dom.find("table", **{"class": "heat"})) == 1
    assert len(dom.find("button", **{"data-col": "0"})) == 1
