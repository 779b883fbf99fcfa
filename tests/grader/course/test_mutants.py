"""An assignment's fixtures (grader/course/mutants.py): reading mutants.py, copying the solution,
planting a bug.  No worker runs here; tests/grader/course/test_selftest.py grades them."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.course import mutants
from grader.course.mutants import Bug, MutantError, Solution

LAYERS = "def relu_forward(x):\n    return x * (x > 0), x\n"


def write_assignment(folder: Path, mutants_source: str, files: dict[str, str] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mutants.py").write_text(mutants_source)
    for relative, text in (files or {}).items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder


MUTANTS_SOURCE = '''
from grader.course.mutants import Bug, Solution

SOLUTION = Solution("solution")
MUTANTS = [
    Bug("relu keeps negatives", "layers.py", "x * (x > 0)", "x", "relu_forward"),
]
'''


# -- load ---------------------------------------------------------------------------------------

def test_load_resolves_the_solution_against_the_assignment_folder(tmp_path):
    folder = write_assignment(tmp_path / "tiny", MUTANTS_SOURCE, {"solution/layers.py": LAYERS})
    fixtures = mutants.load("tiny", folder)
    assert fixtures.solution.path == folder / "solution"
    assert fixtures.solution.submitted_as == "solution"
    assert [b.name for b in fixtures.mutants] == ["relu keeps negatives"]
    assert fixtures.source == folder / "mutants.py"


def test_every_course_assignment_declares_an_existing_solution_and_mutants():
    from grader.scoring import assignment as assignments
    for assignment_id in assignments.available():
        fixtures = mutants.load(assignment_id)
        assert Path(fixtures.solution.path).exists(), assignment_id
        assert fixtures.mutants, assignment_id


def test_load_reference_solution_keeps_the_course_name():
    fixtures = mutants.load("fc_nets")
    assert fixtures.solution.path == mutants.REFERENCE / "cs231n"
    assert fixtures.solution.submitted_as == "cs231n"


@pytest.mark.parametrize("source, files, message", [
    (None, {}, "mutants.py not found"),
    ("SOLUTION = 1\n", {}, "SOLUTION must be a Solution(...), not 1"),
    ("import nowhere_to_be_found\n", {}, "cannot be loaded: ModuleNotFoundError"),
    ("from grader.course.mutants import Solution\nSOLUTION = Solution('solution')\nMUTANTS = ['x']\n",
     {"solution/layers.py": LAYERS}, "every entry of MUTANTS must be a Bug(...), not 'x'"),
    ("from grader.course.mutants import Solution\nSOLUTION = Solution('gone.py')\n", {},
     "gone.py does not exist"),
    ("from grader.course.mutants import Bug, Solution\nSOLUTION = Solution('solution')\n"
     "MUTANTS = [Bug('a', 'layers.py', 'x', 'y', 'f'), Bug('a', 'layers.py', 'x', 'z', 'f')]\n",
     {"solution/layers.py": LAYERS}, "more than one mutant named ['a']"),
    ("from grader.course.mutants import Solution\nSOLUTION = Solution('a.py', join=('b.py',))\n",
     {"a.py": "A = 1\n"}, "joined modules do not exist"),
])
def test_load_says_what_is_wrong(tmp_path, source, files, message):
    folder = tmp_path / "broken"
    folder.mkdir()
    if source is not None:
        write_assignment(folder, source, files)
    with pytest.raises(MutantError) as raised:
        mutants.load("broken", folder)
    assert message in str(raised.value), str(raised.value)
    assert str(folder / "mutants.py") in str(raised.value)


# -- copy_solution, apply_bug, make_mutant --------------------------------------------------------

def test_copy_solution_copies_a_package_under_another_name(tmp_path):
    copy = mutants.copy_solution(Solution(mutants.REFERENCE / "cs231n"), tmp_path, "ece662")
    assert copy == tmp_path / "ece662"
    assert (copy / "layers.py").read_text() == (mutants.REFERENCE / "cs231n" / "layers.py").read_text()
    assert not list(copy.rglob("__pycache__"))


def test_copy_solution_defaults_to_a_fresh_folder(tmp_path):
    source = tmp_path / "nets.py"
    source.write_text("X = 1\n")
    copy = mutants.copy_solution(Solution(source, name="pytorch_nets.py"))
    try:
        assert copy.name == "pytorch_nets.py" and copy.read_text() == "X = 1\n"
        assert copy.parent != tmp_path
    finally:
        import shutil
        shutil.rmtree(copy.parent)


def test_joined_solution_inlines_the_earlier_module(tmp_path):
    """Note [Joined solutions]."""
    (tmp_path / "norms.py").write_text("from __future__ import annotations\n\n"
                                       "def batch_norm(x):\n    return x\n")
    (tmp_path / "cnn.py").write_text("from __future__ import annotations\n\n"
                                     "from reference.tf_nets import norms\n\n"
                                     "def model(x, conv_norms):\n"
                                     "    conv_norms.append(1)\n"
                                     "    return norms.batch_norm(x)\n")
    text = Solution(tmp_path / "norms.py", "normalization.py", (tmp_path / "cnn.py",)).text()
    assert text.count("from __future__ import annotations") == 1
    assert text.startswith("from __future__ import annotations")
    assert "import norms" not in text
    assert "    return batch_norm(x)" in text
    assert "conv_norms.append(1)" in text  # only a whole-word `norms.` is unqualified
    compile(text, "normalization.py", "exec")


def test_text_of_a_package_solution_is_an_error():
    with pytest.raises(MutantError, match="is a folder, not one file"):
        Solution(mutants.REFERENCE / "cs231n").text()


def test_apply_bug_replaces_the_text_once(tmp_path):
    (tmp_path / "layers.py").write_text(LAYERS)
    mutants.apply_bug(tmp_path, Bug("relu keeps negatives", "layers.py", "x * (x > 0)", "x",
                                    "relu_forward"))
    assert (tmp_path / "layers.py").read_text() == "def relu_forward(x):\n    return x, x\n"


@pytest.mark.parametrize("old, file, message", [
    ("np.maximum", "layers.py", "expected the text once in layers.py, found 0"),
    ("x", "layers.py", "expected the text once in layers.py, found 4"),
    ("x", "optim.py", "optim.py is not a file of the solution"),
])
def test_apply_bug_refuses_text_that_is_not_there_once(tmp_path, old, file, message):
    (tmp_path / "layers.py").write_text(LAYERS)
    with pytest.raises(MutantError) as raised:
        mutants.apply_bug(tmp_path, Bug("broken", file, old, "y", "relu_forward"))
    assert message in str(raised.value) and "'broken'" in str(raised.value)
    assert (tmp_path / "layers.py").read_text() == LAYERS


def test_make_mutant_plants_the_bug_in_a_single_file_solution(tmp_path):
    source = tmp_path / "source" / "pruning.py"
    source.parent.mkdir()
    source.write_text("def evaluate():\n    model.eval()\n    return 1\n")
    copy = mutants.make_mutant(Solution(source), Bug("no eval", "pruning.py", "    model.eval()\n",
                                                     "", "evaluate"), tmp_path / "out")
    assert copy == tmp_path / "out" / "pruning.py"
    assert copy.read_text() == "def evaluate():\n    return 1\n"
    assert "model.eval()" in source.read_text()  # the solution itself is untouched


def test_a_bug_in_a_notebook_edits_the_one_code_cell_holding_its_text(tmp_path):
    import json

    import nbformat
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("x = F.relu(x)  # prose, never edited"),
                      nbformat.v4.new_code_cell("import torch"),
                      nbformat.v4.new_code_cell("def f(x):\n    x = F.relu(x)\n    return x")]
    path = tmp_path / "Q5.ipynb"
    nbformat.write(notebook, str(path))
    mutants.apply_bug(tmp_path, mutants.Bug("relu gone", "Q5.ipynb", "    x = F.relu(x)\n", "", "f"))
    cells = json.loads(path.read_text())["cells"]
    sources = ["".join(c["source"]) for c in cells]
    assert sources == ["x = F.relu(x)  # prose, never edited", "import torch", "def f(x):\n    return x"]
    with pytest.raises(mutants.MutantError, match="code cells of Q5.ipynb, found 0"):
        mutants.apply_bug(tmp_path, mutants.Bug("again", "Q5.ipynb", "F.relu", "F.gelu", "f"))
