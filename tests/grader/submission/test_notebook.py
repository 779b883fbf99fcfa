"""Notebooks as submissions (grader/submission/notebook.py, grader/worker/notebook_cells.py and staging).

Unit tests read and rewrite the fixtures of tests/grader/data/notebooks (built
by build.py there); end-to-end tests grade them with the real CLI against the
tiny_notebook test assignment in both modes.  About 20 s, most of it the
execute-mode run, whose looping cells cost their 1 s limit each.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from grader.submission import notebook as nb
from grader.submission.stage import Layout, SubmissionError, stage
from grader.scoring.result import InlineAnswer, SubmissionResult
from grader.worker import notebook_cells

DATA = Path(__file__).resolve().parents[1] / "data"
NOTEBOOKS = DATA / "notebooks"
WORK = NOTEBOOKS / "work.ipynb"
LAYOUT = Layout(files={"layers": "layers.py", "optim": "optim.py"},
                notebooks={"layers": "*.ipynb", "optim": "*.ipynb"}, notebook_cell_s=1,
                notebook_total_s=20)
WITH_TINY = ("import sys; from pathlib import Path; import grader.scoring.assignment as a; "
             f"a.ASSIGNMENTS_DIR = Path({str(DATA / 'assignments')!r}); "
             f"a.RUBRICS_DIR = Path({str(DATA / 'rubrics')!r}); "
             "from grader.cli import main; sys.exit(main(sys.argv[1:]))")


def code(cells: list[nb.Cell]) -> str:
    return "\n".join(source for _, source in nb.program(cells, "definitions").units)


def cells_of(*sources: str) -> list[nb.Cell]:
    return [nb.Cell(i, "code", s) for i, s in enumerate(sources, start=1)]


# -- fixtures and reading -------------------------------------------------------------------------

def test_stored_fixtures_are_what_build_py_makes() -> None:
    spec = importlib.util.spec_from_file_location("notebook_fixtures", NOTEBOOKS / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, text in module.build().items():
        assert (NOTEBOOKS / name).read_text() == text, f"run {NOTEBOOKS / 'build.py'} again"


@pytest.mark.parametrize("content, reason", [
    ("this is not json", "not a readable Jupyter notebook"),
    ('{"cells": 3, "nbformat": 4}', "not a readable Jupyter notebook"),
    ("", "not a readable Jupyter notebook"),
])
def test_a_corrupt_notebook_is_a_clear_submission_error(tmp_path, content, reason) -> None:
    path = tmp_path / "broken.ipynb"
    path.write_text(content)
    with pytest.raises(nb.NotebookError, match=reason):
        nb.read(path)
    with pytest.raises(SubmissionError, match=f"broken.ipynb is {reason}"):
        stage(path, LAYOUT)


def test_a_huge_notebook_reaches_nbformat_as_the_cells_the_grader_reads(tmp_path, monkeypatch) -> None:
    """Note [Huge notebooks]: nbformat validates only the first MAX_CELLS cells, without their
    outputs or metadata (600,000 cells took 48 s and 1 GB of the judge's memory), and the
    cells read are the same."""
    import nbformat
    monkeypatch.setattr(nb, "MAX_CELLS", 5)
    handed = []
    real_reads = nbformat.reads
    monkeypatch.setattr(nbformat, "reads", lambda text, *a, **k: handed.append(text) or real_reads(text, *a, **k))
    output = {"output_type": "stream", "name": "stdout", "text": "noise"}
    cells = [{"cell_type": "code", "metadata": {"tags": ["x"] * 50}, "source": f"x = {i}",
              "execution_count": 1, "outputs": [output] * 50} for i in range(40)]
    cells[1] = {"cell_type": "markdown", "metadata": {}, "source": "# Part 1", "attachments": {}}
    path = tmp_path / "huge.ipynb"
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 4, "metadata": {"big": "y" * 10_000},
                                "cells": cells}))
    assert [(c.number, c.kind, c.source) for c in nb.read(path)] == [
        (1, "code", "x = 0"), (2, "markdown", "# Part 1"), (3, "code", "x = 2"), (4, "code", "x = 3"),
        (5, "code", "x = 4")]
    document = json.loads(handed[-1])
    assert len(document["cells"]) == 5 and document["metadata"] == {}
    assert all(c.get("outputs", []) == [] and c["metadata"] == {} and "attachments" not in c
               for c in document["cells"])


def test_a_notebook_whose_cells_lack_the_ids_its_version_requires_is_read_without_a_warning(
        tmp_path) -> None:
    """Note [Cells without ids]: nbformat warns (and says it will refuse) a 4.5 notebook whose
    cells have no id; the grader reads the same cells, quietly; a 4.4 notebook gets no id."""
    import warnings
    cells = [{"cell_type": "code", "metadata": {}, "source": "x = 1", "execution_count": None,
              "outputs": []},
             {"cell_type": "markdown", "metadata": {}, "source": "# Part 1", "id": "kept"}]
    for minor in (5, 4):
        path = tmp_path / f"minor{minor}.ipynb"
        document = {"nbformat": 4, "nbformat_minor": minor, "metadata": {},
                    "cells": [dict(c) for c in cells] if minor == 5 else [cells[0]]}
        path.write_text(json.dumps(document))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            read = nb.read(path)
        assert [(c.number, c.kind, c.source) for c in read] == [
            (1, "code", "x = 1"), (2, "markdown", "# Part 1")][:len(document["cells"])]


def test_a_v3_notebook_is_still_read_through_its_worksheets(tmp_path) -> None:
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {"name": ""}, "worksheets": [
        {"metadata": {}, "cells": [
            {"cell_type": "heading", "level": 1, "metadata": {}, "source": "Part 1"},
            {"cell_type": "code", "collapsed": False, "input": "x = 1", "language": "python",
             "metadata": {}, "outputs": [{"output_type": "stream", "stream": "stdout", "text": "1"}]}]}]}))
    assert [(c.kind, c.source) for c in nb.read(path)] == [("markdown", "# Part 1"), ("code", "x = 1")]


def test_a_notebook_nested_beyond_the_parsers_depth_is_not_a_notebook(tmp_path) -> None:
    from grader.submission.which_notebook import code_lines
    path = tmp_path / "deep.ipynb"
    path.write_text('{"cells": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(nb.NotebookError, match="not a readable Jupyter notebook"):
        nb.read(path)
    assert code_lines(path) == 0


def test_read_numbers_every_cell_from_one() -> None:
    cells = nb.read(WORK)
    assert [c.number for c in cells] == list(range(1, len(cells) + 1))
    assert cells[0].kind == "markdown" and cells[1].kind == "code"
    assert "drive.mount" in cells[1].source


# -- IPython syntax -------------------------------------------------------------------------------

def test_magics_and_shell_lines_become_pass_keeping_line_numbers() -> None:
    source = "import os\n%cd /content\nfiles = !ls\n!pip install \\\n    torch\n  np.zeros?\nx = 1"
    text, note = nb.python_source(nb.Cell(1, "code", source))
    lines = text.split("\n")
    assert note == "" and len(lines) == 7
    assert lines[1] == "pass" and lines[2] == "files = []" and lines[3] == "pass" and lines[4] == ""
    assert lines[5] == "  pass" and lines[6] == "x = 1"


def test_a_cell_that_parses_is_left_alone() -> None:
    source = 'def f():\n    """Docs:\n%d items\n!important\n"""\n    return 1'
    assert nb.python_source(nb.Cell(1, "code", source)) == (source, "")


def test_cell_magics_run_their_body_or_are_skipped_with_a_note() -> None:
    text, note = nb.python_source(nb.Cell(4, "code", "%%time\nx = 1"))
    assert text == "\nx = 1" and note == ""
    text, note = nb.python_source(nb.Cell(5, "code", "%%bash\nls"))
    assert text is None and note == "cell 5: skipped its %%bash cell magic"


# -- definitions mode -----------------------------------------------------------------------------

def test_definitions_keep_imports_defs_and_constants_only() -> None:
    kept = code(nb.read(WORK))
    for wanted in ("def relu_forward", "def fc_forward", "def sgd(w, dw, config=None):",
                   "import numpy as np", "LEARNING_RATE = 1e-2", "SIZES = {", "DTYPE = np.float64",
                   "from google.colab import drive"):
        assert wanted in kept, wanted
    for dropped in ("drive.mount", "time.sleep", "while True", "accuracy_on_test_set", "print(",
                    "x_check", "sys.path.append", "ls /content"):
        assert dropped not in kept, dropped


def test_later_definitions_come_later_as_in_the_notebook() -> None:
    kept = code(nb.read(WORK))
    assert kept.index("np.abs(x)  # first attempt") < kept.index("np.maximum(0, x)")


def test_units_keep_their_cell_line_numbers() -> None:
    units = nb.program(cells_of("x = 1\nprint(x)\ny = 2"), "definitions").units
    assert units == [(1, "x = 1"), (1, "\n\ny = 2")]


def test_assignments_of_computed_values_are_dropped() -> None:
    units = nb.program(cells_of("import numpy as np", "a = np.zeros(3)", "b = np.pi", "c = d",
                                "e = -1e-3 * 2", "f, g = 1, (2, 'x')"), "definitions").units
    assert [s.strip() for _, s in units] == ["import numpy as np", "b = np.pi", "e = -1e-3 * 2",
                                             "f, g = 1, (2, 'x')"]


def test_a_syntax_error_skips_its_cell_with_a_note_naming_it() -> None:
    prog = nb.program(nb.read(WORK), "definitions")
    assert any(n.startswith("cell 8 was skipped: SyntaxError at line 1") for n in prog.notes), prog.notes
    assert all(number != 8 for number, _ in prog.units)


def test_execute_mode_keeps_every_parsable_cell_in_order() -> None:
    prog = nb.program(nb.read(WORK), "execute")
    assert [n for n, _ in prog.units] == [2, 3, 5, 6, 7, 9, 10, 11, 14]
    with pytest.raises(ValueError, match="notebook mode"):
        nb.program([], "run")


# -- the runner (worker side), run here on trusted test code -----------------------------------------

def test_runner_stops_a_looping_cell_and_runs_the_next() -> None:
    namespace: dict = {}
    start = time.perf_counter()
    notebook_cells.run(namespace, [(1, "try:\n    while True: pass\nexcept Exception:\n    pass"),
                                   (2, "raise ValueError('bad')"), (3, "x = 1")],
                       mode="execute", notebook="n.ipynb", cell_s=0.3, total_s=5)
    assert time.perf_counter() - start < 2
    report = namespace["_grader_notebook_report"]()
    assert [r["status"] for r in report] == ["timeout", "error"]
    assert report[1]["message"] == "ValueError at line 1: bad"
    assert namespace["x"] == 1


def test_runner_total_limit_leaves_later_cells_unrun() -> None:
    namespace: dict = {}
    notebook_cells.run(namespace, [(1, "import time\ntime.sleep(5)"), (2, "y = 2")],
                       mode="execute", notebook="n.ipynb", cell_s=5, total_s=0.3)
    report = namespace["_grader_notebook_report"]()
    assert [(r["cell"], r["status"]) for r in report] == [(1, "timeout"), (2, "not run")]
    assert "y" not in namespace


def test_every_definition_of_a_cell_reads_its_own_source() -> None:
    """Note [One cell's lines for all its units] in grader/worker/notebook_cells.py: a .py in
    definitions mode is one cell of several units under one filename; inspect.getsource (what
    @tf.function's AutoGraph converts) must give each definition its whole body, `return`
    included, not the last unit's lines."""
    import inspect
    text = ("import math\n\n\ndef first(x):\n    y = x + 1\n    return y\n\n\nprint('dropped')\n\n\n"
            "def second(x, g):\n    return g * x\n")
    prog = nb.program([nb.Cell(1, "code", text)], "definitions")
    namespace: dict = {}
    notebook_cells.run(namespace, prog.units, mode="definitions", notebook="normalization.py",
                       cell_s=5, total_s=5)
    assert inspect.getsource(namespace["first"]) == "def first(x):\n    y = x + 1\n    return y\n"
    assert inspect.getsource(namespace["second"]) == "def second(x, g):\n    return g * x\n"
    # a later run under the same filename starts afresh: no line of the earlier cell is left
    notebook_cells.run(namespace, [(1, "def third():\n    return 3")], mode="definitions",
                       notebook="normalization.py", cell_s=5, total_s=5)
    assert inspect.getsource(namespace["third"]) == "def third():\n    return 3\n"


def test_runner_stands_in_for_google_colab() -> None:
    namespace: dict = {}
    notebook_cells.run(namespace, [(1, "from google.colab import drive, files\n"
                                       "drive.mount('/content/drive')\nfiles.view('x.py')\nok = 1")],
                       mode="execute", notebook="n.ipynb", cell_s=5, total_s=5)
    assert namespace["_grader_notebook_report"]() == [] and namespace["ok"] == 1


def test_runner_leaves_out_the_courses_version_asserts_and_says_so() -> None:
    """Note [Version asserts] in grader/worker/notebook_cells.py: a top-level assert on a
    `__version__` does not stop the rest of its cell; other asserts, and version asserts inside
    a function, run as written, and line numbers stay the cell's."""
    namespace: dict = {}
    cells = [(1, "import json\nassert json.__version__ in ['0.1', '0.2']\nimported = 1"),
             (2, "assert 1 == 2, 'a real assert'\nafter = 1"),
             (3, "def f():\n    assert json.__version__ == '0.1'\n\nx = 1\nraise ValueError('x')")]
    notebook_cells.run(namespace, cells, mode="execute", notebook="n.ipynb", cell_s=5, total_s=5)
    report = namespace["_grader_notebook_report"]()
    assert json.__version__ not in ("0.1", "0.2")
    assert namespace["imported"] == 1 and "after" not in namespace and namespace["x"] == 1
    assert report == [
        {"cell": 1, "status": "note",
         "message": "the course's version check `assert json.__version__ in ['0.1', '0.2']` was "
                    "not run: it checks the course's own environment, and the grader runs a "
                    "newer one"},
        {"cell": 2, "status": "error", "message": "AssertionError at line 1: a real assert"},
        {"cell": 3, "status": "error", "message": "ValueError at line 5: x"}]
    with pytest.raises(AssertionError):
        namespace["f"]()


def test_runner_imports_the_course_package_written_through_a_drive_folder(tmp_path, monkeypatch) -> None:
    """Note [Course package under a Drive folder] in grader/worker/notebook_cells.py: the package's
    tail is imported when the folder above it is missing; anything else runs as written."""
    package = tmp_path / "coursepkg_drive"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "helper.py").write_text("value = 7\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    namespace: dict = {}
    cells = [(1, "from assignment1.coursepkg_drive.helper import value"),
             (2, "import ECE562_assignments.coursepkg_drive.helper as h\nseen = h.value"),
             (3, "from assignment1.not_a_package.helper import value as other"),
             (4, "from json.decoder import JSONDecoder")]
    notebook_cells.run(namespace, cells, mode="execute", notebook="n.ipynb", cell_s=5, total_s=5)
    report = namespace["_grader_notebook_report"]()
    assert namespace["value"] == 7 and namespace["seen"] == 7 and "JSONDecoder" in namespace
    assert "other" not in namespace
    assert [(r["cell"], r["status"]) for r in report] == [(1, "note"), (2, "note"), (3, "error")]
    assert report[0]["message"].startswith("`from assignment1.coursepkg_drive.helper` was imported as "
                                           "`coursepkg_drive.helper`")
    assert "ModuleNotFoundError" in report[2]["message"]


# -- inline answers -------------------------------------------------------------------------------

def test_answers_in_the_same_cell_and_in_following_cells() -> None:
    answers = nb.answers(nb.read(WORK), "work.ipynb")
    assert [a.question for a in answers] == ["inline_question_1", "inline_question_2"]
    assert answers[0].answer.startswith("Both saturate") and "Your Answer" not in answers[0].answer
    assert answers[0].prompt.startswith("Which activations")
    assert answers[1].answer == ""  # the "*fill this in*" placeholder
    other = nb.answers(nb.read(NOTEBOOKS / "answers_only.ipynb"))
    assert [(a.question, a.answer) for a in other] == [
        ("inline_question_1", "It maps them to zero.\n\nDetails\nSo their gradient is zero too.")]


def _markdown_and_code(*cells: tuple[str, str]) -> list[nb.Cell]:
    return [nb.Cell(number, kind, source) for number, (kind, source) in enumerate(cells, start=1)]


# Two course layouts (written here, not copied): the question as a `##` heading with a
# `## Answer:` cell after it, and a bold question with its answer in the same cell; each
# followed by the course's next section before any code cell.
SECTION_AFTER_ANSWER_CELL = ("markdown", "## Pruning filters\n\nNow remove whole filters of the conv layers.")
SECTION_AFTER_BOLD = ("markdown", "# Deeper networks\nWe now stack more layers.")


@pytest.mark.parametrize("answer", ["[FILL YOUR ANSWER HERE]", "[FILL YOU ANSWER HERE]", "[FILL THIS IN]"])
def test_a_placeholder_followed_by_the_next_section_is_unanswered(answer: str) -> None:
    """Note [Where an answer ends]: the course's next section, markdown before any code, is not
    part of the answer, so a placeholder left in place is still no answer."""
    cells = _markdown_and_code(("markdown", "## Inline Question 1:\n\nWhy does accuracy drop?"),
                               ("markdown", f"## Answer:\n\n{answer}\n"), SECTION_AFTER_ANSWER_CELL,
                               ("code", "x = 1"),
                               ("markdown", f"**Inline Question 2:**\nWhich layer?\n\n**Your Answer:** {answer}"),
                               SECTION_AFTER_BOLD, ("code", "y = 2"))
    found = nb.answers(cells)
    assert [(a.question, a.answer) for a in found] == [("inline_question_1", ""), ("inline_question_2", "")]


def test_an_answer_ends_at_the_next_section_and_keeps_its_own_sub_headings() -> None:
    """Note [Where an answer ends]: a heading at the question's level or above ends the answer,
    a deeper one continues it."""
    cells = _markdown_and_code(("markdown", "## Inline Question 1:\n\nWhy does accuracy drop?"),
                               ("markdown", "## Answer:\n\nFewer weights are left."),
                               ("markdown", "### Why\n\nThe large ones carry the signal."),
                               SECTION_AFTER_ANSWER_CELL, ("code", "x = 1"),
                               ("markdown", "**Inline Question 2:**\nWhich layer?\n\n**Your Answer:** The first."),
                               SECTION_AFTER_BOLD, ("code", "y = 2"))
    found = {a.question: a.answer for a in nb.answers(cells)}
    assert found["inline_question_1"] == "Fewer weights are left.\n\nWhy\n\nThe large ones carry the signal."
    assert found["inline_question_2"] == "The first."


def test_result_round_trips_answers_and_reads_documents_without_them() -> None:
    result = SubmissionResult("tiny", "bob", "graded", 1.0, 4.0, 0.1, {},
                              answers=(InlineAnswer("inline_question_1", "zero", 1.0, "why?", "w.ipynb"),))
    data = json.loads(result.to_json())
    assert data["answers"] == [{"question": "inline_question_1", "answer": "zero", "points": 1.0,
                                "prompt": "why?", "notebook": "w.ipynb"}]
    assert SubmissionResult.from_dict(data) == result
    del data["answers"]
    assert SubmissionResult.from_dict(data).answers == ()


# -- linear time on megabyte text (Note [Linear-time text]) ----------------------------------------

MEGABYTE_CASES = r"""
import sys
from grader.submission import notebook as nb, stage as locate
N = 1_500_000
text, note = nb.python_source(nb.Cell(1, "code", "a" + " " * N + "%\nfiles = !ls\nx = ("))
assert text.split("\n")[1] == "files = []" and len(text) > N, text[-40:]
text, _ = nb.python_source(nb.Cell(1, "code", "  result ,  b" + " " * N + "= %time f()\n!ls\n("))
assert text.split("\n")[0] == "  result ,  b = []"
assert nb._clean("x" + " " * N + "y") == "x" + " " * N + "y"
assert nb._clean("**Answer** " + "* " * N) == "Answer"
found = nb.answers([nb.Cell(1, "markdown", "Inline Question 1: q\nYour answer: " + " *" * N + "z")])
assert found[0].answer == "z", found[0].answer[-20:]
found = nb.answers([nb.Cell(1, "markdown", "Inline Question 1: q\nYour answer: todo" + " " * N + "!")])
assert found[0].answer == ""
found = nb.answers([nb.Cell(1, "markdown", "Inline Question 1: q\nYour answer: fill " + "\t" * N + "answer here!")])
assert found[0].answer == ""
found = nb.answers([nb.Cell(1, "markdown", "#" * N + " Inline Question 1: q\nYour answer: a"),
                    nb.Cell(2, "markdown", "\n" * N + "#" * N + "x" + "\n" * N)])
assert found[0].answer.endswith("x"), found[0].answer[-20:]
assert locate._ABSOLUTE_IMPORT.findall("\n" * N + "from cs231n.layers import x") == [("cs231n", "layers")]
assert locate._RELATIVE_IMPORT.search("\n" * N + "x") is None
assert locate._TOP_LEVEL_IMPORT.findall("import os\n" + "\n" * N + "from cs231n import x") == [
    ("", "os"), ("cs231n", "")]
from grader.checks import hints  # Note [Forms found in linear time]
for form in ("np.sum(", "np.reshape("):
    assert hints.restored_numpy_note({"layers": 'x = "' + form * (N // 10) + '"\n'}, "2.4.6") is None
print("ok")
"""


def test_notebook_text_is_handled_in_linear_time_on_megabyte_cells() -> None:
    # Quadratic patterns took hours on these 1.5 MB lines; linear ones take well under a
    # second.  A subprocess with a generous limit, so a regression fails instead of hanging.
    done = subprocess.run([sys.executable, "-c", MEGABYTE_CASES], capture_output=True, text=True,
                          timeout=120, cwd=Path(__file__).resolve().parents[3])
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_shell_assignment_rewrite_keeps_what_the_pattern_did() -> None:
    cases = {"files = !ls": "files = []", "  a, b=%sx ls": "  a, b = []", "x == !y": None,
             "a\t= !ls": "a = []", "1x = !ls": None, "x = 'a' + !b": None}
    for line, expected in cases.items():
        text, _ = nb.python_source(nb.Cell(1, "code", line + "\n("))
        first = text.split("\n")[0]
        assert first == (expected if expected is not None else line) or (
            expected is None and first.strip() == "pass"), (line, first)


# -- staging --------------------------------------------------------------------------------------

def test_a_lone_notebook_stages_one_module_for_both_course_modules() -> None:
    staged = stage(WORK, LAYOUT)
    try:
        assert staged.modules == {"layers": "cs231n.layers", "optim": "cs231n.layers"}
        assert staged.files == {"layers": "work.ipynb", "optim": "work.ipynb"}
        assert staged.missing == [] and set(staged.import_timeouts) == {"layers", "optim"}
        assert (staged.root / "_grader_notebook.py").exists()
        assert not (staged.root / "cs231n" / "optim.py").exists()
        assert "graded from work.ipynb (definitions mode" in staged.notes[0]
        assert [a.question for a in staged.answers] == ["inline_question_1", "inline_question_2"]
    finally:
        staged.cleanup()


def test_a_submitted_py_file_wins_over_the_notebook(submission) -> None:
    folder = submission({"optim.py": "def sgd(w, dw, config=None):\n    return w, config\n",
                         "work.ipynb": WORK.read_text()})
    staged = stage(folder, LAYOUT)
    try:
        assert staged.modules == {"layers": "cs231n.layers", "optim": "cs231n.optim"}
        assert staged.files["optim"] == "optim.py" and staged.files["layers"] == "work.ipynb"
    finally:
        staged.cleanup()


def test_a_notebook_in_a_zip_is_found(tmp_path) -> None:
    archive = tmp_path / "alice.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("alice/hw/work.ipynb", WORK.read_text())
        z.writestr("alice/hw/.ipynb_checkpoints/work-checkpoint.ipynb", "garbage")
    staged = stage(archive, LAYOUT)
    try:
        assert staged.files["layers"] == "work.ipynb" and len(staged.answers) == 2
    finally:
        staged.cleanup()


def test_cs231n_notebooks_are_read_for_answers_not_graded(submission) -> None:
    layers = (Path(__file__).resolve().parents[3] / "reference" / "cs231n" / "layers.py").read_text()
    folder = submission({"cs231n/layers.py": layers, "cs231n/optim.py": "",
                         "FullyConnectedNets.ipynb": (NOTEBOOKS / "answers_only.ipynb").read_text(),
                         "Broken.ipynb": "{"})
    staged = stage(folder, Layout(files={"layers": "layers.py", "optim": "optim.py"}))
    try:
        assert staged.modules == {"layers": "cs231n.layers", "optim": "cs231n.optim"}
        assert [(a.notebook, a.question) for a in staged.answers] == [
            ("FullyConnectedNets.ipynb", "inline_question_1")]
        assert any(n.startswith("inline answers not read: Broken.ipynb") for n in staged.notes)
    finally:
        staged.cleanup()


def test_a_notebook_graded_assignment_takes_the_answers_of_its_notebook_only(submission) -> None:
    """Note [Answers of the graded notebook] in grader/submission/stage.py: the whole assignment
    folder handed in, each notebook with an Inline Question 1; the graded notebook's answers only."""
    def notebook(answer: str) -> str:
        return json.dumps({"cells": [
            {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
             "source": "def relu_forward(x):\n    return x * (x > 0), x\n"},
            {"cell_type": "markdown", "metadata": {}, "source": f"## Inline Question 1:\nWhy?\n\n## Answer:\n{answer}"}],
            "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    folder = submission({"Q1-Other.ipynb": notebook("From the other notebook."),
                         "Q6-Graded.ipynb": notebook("From the graded notebook.")})
    staged = stage(folder, Layout(files={"layers": "layers.py"}, notebooks={"layers": "Q6*.ipynb"}))
    try:
        assert staged.files == {"layers": "Q6-Graded.ipynb"}
        assert [(a.notebook, a.answer) for a in staged.answers] == [
            ("Q6-Graded.ipynb", "From the graded notebook.")]
    finally:
        staged.cleanup()


def test_a_notebook_for_an_assignment_without_notebooks_says_why_it_is_not_graded() -> None:
    with pytest.raises(SubmissionError, match="notebooks are graded only for assignments"):
        stage(WORK, Layout(files={"layers": "layers.py"}))


# -- end to end -----------------------------------------------------------------------------------

def grade(submission: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", WITH_TINY, "check", str(submission), "-a",
                           "tiny_notebook", *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def work(submission) -> Path:
    return submission({"work.ipynb": WORK.read_text()}) / "work.ipynb"


def test_cli_definitions_mode_grades_in_seconds(work, tmp_path) -> None:
    start = time.perf_counter()
    result = grade(work, "--json", str(tmp_path / "r.json"), "--html", str(tmp_path / "r.html"))
    assert time.perf_counter() - start < 30
    assert result.returncode == 0, result.stdout + result.stderr
    assert "score 4 / 4" in result.stdout
    assert "cell 8 was skipped: SyntaxError" in result.stdout
    data = json.loads((tmp_path / "r.json").read_text())
    affine = next(c for c in data["checks"] if c["id"] == "affine_forward/out")
    assert "graded `fc_forward` in work.ipynb as `affine_forward`" in affine["message"]
    assert [(a["question"], a["points"], bool(a["answer"])) for a in data["answers"]] == [
        ("inline_question_1", 1.0, True), ("inline_question_2", 2.0, False)]
    assert data["max_score"] == 4.0
    html = (tmp_path / "r.html").read_text()
    assert "Inline question 1" in html and "Both saturate" in html and "not answered" in html


def test_cli_execute_mode_reports_bad_cells_in_bounded_time(work, tmp_path) -> None:
    start = time.perf_counter()
    result = grade(work, "--notebook-mode", "execute", "--json", str(tmp_path / "r.json"))
    elapsed = time.perf_counter() - start
    assert result.returncode == 0, result.stdout + result.stderr
    assert elapsed < 40, elapsed
    out = result.stdout
    assert "execute mode: 9 code cells" in out
    assert "work.ipynb cell 9: timeout: stopped after 1 s" in out       # the hour of training
    assert "work.ipynb cell 10: timeout: stopped after 1 s" in out      # while True
    assert "work.ipynb cell 11: error: NameError at line 1" in out
    assert "score 4 / 4" in out  # sgd, defined after them, still ran


def test_cli_buggy_notebook_loses_only_the_points_it_should(submission) -> None:
    cells = json.loads(WORK.read_text())
    # Drop the correct relu (cell 6) and the correct sgd (cell 14): the buggy relu and the
    # sgd with a syntax error remain.
    cells["cells"] = [c for i, c in enumerate(cells["cells"], start=1) if i not in (6, 14)]
    path = submission({"work.ipynb": json.dumps(cells)}) / "work.ipynb"
    result = grade(path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "score 2 / 4" in result.stdout
    assert "`sgd` not found in work.ipynb" in result.stdout


def test_cli_rejects_an_unknown_notebook_mode(work) -> None:
    result = grade(work, "--notebook-mode", "run")
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_colab_stand_in_does_not_break_tools_that_walk_sys_modules() -> None:
    """inspect.getmodule() over every module (what torch does on import) must still work."""
    import inspect
    import sys as _sys
    from grader.worker import notebook_cells
    notebook_cells._install_colab_stand_in()
    try:
        from google.colab import drive
        drive.mount("/content/drive")  # a no-op, not an error
        for module in list(_sys.modules.values()):
            getattr(module, "__file__", None)
        # a code object has no __module__, so getmodule walks sys.modules reading __file__
        code = test_colab_stand_in_does_not_break_tools_that_walk_sys_modules.__code__
        assert inspect.getmodule(code) is not None
    finally:
        for name in [n for n in _sys.modules if n == "google.colab" or n.startswith("google.colab.")]:
            del _sys.modules[name]
