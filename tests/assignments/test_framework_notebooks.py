"""The PyTorch and Pruning assignments graded from Colab-style notebooks (manifest `notebooks:`).

Each notebook is the assignment's solution split into cells the way the
course notebook has them, plus what real notebooks carry: `!pip` and `%`
lines, `drive.mount`, the `USE_GPU` cell that chooses `device`, a
course-style `random_weight` reading that `device` global, a training cell
that would run for hours, a cell with a syntax error and a cell that loops
forever.  Definitions mode must give full marks without running any of that;
execute mode must get through it within its cell limits with the same
verdicts.  Without the manifest's `notebook_setup` the `device` global is
missing and exactly the functions that read it lose points.
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import nbformat
import pytest

from grader.scoring import assignment as assignments
from grader.scoring.pipeline import Options, grade_submission



def write_submission(files: dict) -> Path:
    """A fresh world-readable folder: the worker runs as another uid."""
    import os
    import tempfile
    root = Path(tempfile.mkdtemp(prefix="grader-test-nb-"))
    os.chmod(root, 0o755)
    return root

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

COLAB = ["!pip install -q torch torchvision",
         "%matplotlib inline\nimport matplotlib.pyplot as plt",
         "from google.colab import drive\ndrive.mount('/content/drive')\n%cd /content/drive/MyDrive"]
USE_GPU = ("USE_GPU = True\ndtype = torch.float32\n"
           "if USE_GPU and torch.cuda.is_available():\n    device = torch.device('cuda')\n"
           "else:\n    device = torch.device('cpu')\nprint('using device:', device)")
COURSE_RANDOM_WEIGHT = ("def random_weight(shape):\n"
                        "    fan_in = shape[0] if len(shape) == 2 else int(np.prod(shape[1:]))\n"
                        "    w = torch.randn(shape, device=device, dtype=dtype) * np.sqrt(2. / fan_in)\n"
                        "    w.requires_grad = True\n    return w")
TRAINING_CELL = ("for epoch in range(10 ** 9):\n    for t in range(10 ** 6):\n        loss = t * 0.5\n"
                 "print('done training')")
SYNTAX_ERROR = "def check_accuracy(loader, model:\n    pass"
FOREVER = "while True:\n    pass"


def solution_cells(path: Path) -> list[str]:
    """The solution's top-level statements as cells, one definition per cell."""
    source = path.read_text()
    lines = source.split("\n")
    tree = ast.parse(source)
    body = tree.body[1:] if isinstance(tree.body[0], ast.Expr) else tree.body  # no module docstring
    cells = []
    for node in body:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            continue
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        cells.append("\n".join(lines[start - 1:node.end_lineno]))
    return cells


def notebook(folder: Path, name: str, cells: list[str]) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {name}\nInline Question 1: why?\n\n**Answer:** because")]
    nb.cells += [nbformat.v4.new_code_cell(c) for c in cells]
    path = folder / name
    nbformat.write(nb, str(path))
    path.chmod(0o644)
    return path


def pytorch_notebook() -> Path:
    """The course's PyTorch notebook solved (tests/assignments/course_notebooks.py), with a
    `!pip` line, an endless training cell, a syntax error and a cell that loops forever."""
    from .course_notebooks import pytorch_cells
    folder = write_submission({})
    cells = ([COLAB[0]] + [source for kind, source in pytorch_cells(True) if kind == "code"]
             + [TRAINING_CELL, SYNTAX_ERROR, FOREVER])
    notebook(folder, "PyTorch.ipynb", cells)
    return folder


def pruning_notebook() -> Path:
    """The course's Pruning notebook solved (assignments/pruning/solution/), with Colab lines,
    a matplotlib import and a cell with a syntax error after its first cell."""
    folder = write_submission({})
    solved = nbformat.read(str(ROOT / "assignments/pruning/solution/Q6-Pruning.ipynb"), as_version=4)
    solved.cells[1:1] = [nbformat.v4.new_code_cell(c) for c in COLAB + [SYNTAX_ERROR]]
    nbformat.write(solved, str(folder / "Pruning.ipynb"))
    (folder / "Pruning.ipynb").chmod(0o644)
    return folder


def full_marks(result) -> None:
    assert result.status == "graded", result.message
    lost = [(c.id, c.message[:300]) for c in result.checks if c.points < c.max_points]
    assert not lost and result.score == result.max_score, lost


def test_pytorch_notebook_in_definitions_mode_gets_full_marks_without_running_its_cells():
    """The function checks only (the Sequential checks execute the notebook once)."""
    result = grade_submission(pytorch_notebook(), assignments.load("pytorch"),
                              Options(device="cpu", select="not Sequential"))
    full_marks(result)
    notes = "\n".join(result.notes)
    assert "pytorch_nets: graded from PyTorch.ipynb (definitions mode" in notes
    assert "SyntaxError" in notes
    assert "timed out" not in notes and "timeout" not in notes  # nothing endless ran
    assert "grading by observation" not in notes
    assert result.environment["device"] == "cpu"


def test_pytorch_notebook_observed_run_survives_endless_cells_with_the_same_verdicts():
    """The Sequential checks execute every cell (grading by observation): an endless training
    cell and a loop that never ends cost their cell's limit, not the verdicts."""
    assignment = assignments.load("pytorch")
    # Each cell's limit is short to keep the test short, yet long enough for the notebook's
    # own cells on a loaded machine: at 3 s, a CI run cut the cell that first builds an
    # optimizer in the middle of importing torch._dynamo, and the next cell then found that
    # module half-initialised (a cut cell leaves what it had imported so far).
    observe = dataclasses.replace(assignment.layout.observe, cell_s=10.0, total_s=90.0)
    layout = dataclasses.replace(assignment.layout, observe=observe)
    result = grade_submission(pytorch_notebook(), dataclasses.replace(assignment, layout=layout),
                              Options(device="cpu", select="Sequential and not accuracy"))
    full_marks(result)
    notes = "\n".join(result.notes)
    assert notes.count("timeout") + notes.count("timed out") >= 2, notes  # training and forever
    assert "grading by observation" in notes


def test_pruning_notebook_gets_full_marks():
    full_marks(grade_submission(pruning_notebook(), assignments.load("pruning"), Options(device="cpu")))
