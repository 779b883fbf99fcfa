"""grader/submission/which_notebook.py: the assignment's notebook among several, by the course's names only."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from grader.scoring import assignment as assignments
from grader.submission.stage import SubmissionError, stage
from grader.submission.which_notebook import NoNotebook, choose, normalized

GRADE = Path(sys.executable).with_name("grade")


def write_notebook(path: Path, code: str = "x = 1") -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.cells.append(nbformat.v4.new_code_cell(code))
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(path))
    return path


def test_names_compare_without_case_separators_or_colab_decorations() -> None:
    assert normalized("Copy of Q5-PyTorch (2).ipynb") == normalized("Q5_Pytorch.ipynb") == "q5pytorch"
    assert normalized("PyTorch.ipynb") != normalized("Q5-Pytorch.ipynb")


def test_the_course_name_wins_never_the_alphabet() -> None:
    found = [Path("BatchNormalization.ipynb"), Path("Dropout.ipynb"), Path("PyTorch.ipynb")]
    assert choose(found, ("PyTorch.ipynb", "Q5-Pytorch.ipynb")) == Path("PyTorch.ipynb")
    # the list's order of preference, then the shallowest
    found = [Path("Q5-Pytorch.ipynb"), Path("a/PyTorch.ipynb"), Path("a/b/PyTorch.ipynb")]
    assert choose(found, ("PyTorch.ipynb", "Q5-Pytorch.ipynb")) == Path("a/PyTorch.ipynb")


def test_one_notebook_is_graded_whatever_its_name() -> None:
    assert choose([Path("my homework.ipynb")], ("PyTorch.ipynb",)) == Path("my homework.ipynb")


def test_several_and_none_named_names_the_candidates() -> None:
    with pytest.raises(NoNotebook, match=r"2 notebooks found \(a.ipynb, b.ipynb\).*PyTorch.ipynb, "
                                         r"Q5-Pytorch.ipynb"):
        choose([Path("a.ipynb"), Path("b.ipynb")], ("PyTorch.ipynb", "Q5-Pytorch.ipynb"))


def test_a_folder_with_the_whole_assignment_stages_the_pytorch_notebook(tmp_path) -> None:
    for name in ("BatchNormalization.ipynb", "Dropout.ipynb", "ConvolutionalNetworks.ipynb"):
        write_notebook(tmp_path / "assignment2" / name, "import numpy as np")
    write_notebook(tmp_path / "assignment2" / "Q5-Pytorch.ipynb", "import torch")
    staged = stage(tmp_path, assignments.load("pytorch").layout)
    try:
        assert staged.files["pytorch_nets"] == "Q5-Pytorch.ipynb"
        assert any(n.startswith("graded notebook: assignment2/Q5-Pytorch.ipynb") for n in staged.notes)
    finally:
        staged.cleanup()


def test_several_unnamed_notebooks_are_a_submission_error(tmp_path) -> None:
    write_notebook(tmp_path / "BatchNormalization.ipynb")
    write_notebook(tmp_path / "Dropout.ipynb")
    with pytest.raises(SubmissionError, match="Q6-Pruning.ipynb"):
        stage(tmp_path, assignments.load("pruning").layout)


def test_cli_exits_2_naming_the_candidates(tmp_path) -> None:
    write_notebook(tmp_path / "sub" / "BatchNormalization.ipynb")
    write_notebook(tmp_path / "sub" / "Dropout.ipynb")
    out = tmp_path / "result.json"
    done = subprocess.run([str(GRADE), "check", "-a", "tensorflow", str(tmp_path / "sub"), "--no-html",
                           "--json", str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    result = json.loads(out.read_text())
    assert result["status"] == "error"
    assert "TensorFlow.ipynb, Q5-Tensorflow.ipynb" in result["message"]


STUB = "# TODO: prune the model\n# *****START OF YOUR CODE*****\n\n# *****END OF YOUR CODE*****\nimport os"
WORK = "import os\nfor amount in (0.1, 0.5, 0.8):\n    prune(model, amount)\n    test_model(model)"


@pytest.mark.parametrize("stub_name, work_name", [("Q6-Pruning.ipynb", "Q6_Pruning.ipynb"),
                                                  ("Q6_Pruning.ipynb", "Q6-Pruning.ipynb"),
                                                  ("Q6-Pruning.ipynb", "Copy of Q6-Pruning.ipynb")])
def test_a_stub_beside_the_work_of_the_same_name_is_not_graded(tmp_path, stub_name, work_name) -> None:
    # Note [Which notebook]: the course's stub uploaded next to the student's notebook, names equal
    stub = write_notebook(tmp_path / stub_name, STUB)
    work = write_notebook(tmp_path / work_name, WORK)
    found = sorted([stub, work])
    assert choose(found, ("Q6-Pruning.ipynb",)) == work
    # a deeper copy with more code does not beat the shallower one; the course's name order still rules
    deeper = write_notebook(tmp_path / "old" / "Q6-Pruning.ipynb", WORK + "\n" + WORK)
    assert choose(sorted([stub, work]) + [deeper], ("Q6-Pruning.ipynb",)) == work
    assert choose([write_notebook(tmp_path / "PyTorch.ipynb", "x = 1"), stub, work],
                  ("PyTorch.ipynb", "Q6-Pruning.ipynb")) == tmp_path / "PyTorch.ipynb"


def test_the_notes_name_the_stub_that_was_not_graded(tmp_path) -> None:
    write_notebook(tmp_path / "Q1-FCNetworks.ipynb", "import numpy as np")
    write_notebook(tmp_path / "Q6-Pruning.ipynb", STUB)
    write_notebook(tmp_path / "Q6_Pruning.ipynb", WORK)
    staged = stage(tmp_path, assignments.load("pruning").layout)
    try:
        assert any(n.startswith("graded notebook: Q6_Pruning.ipynb") for n in staged.notes), staged.notes
        assert any("also named as the course's notebook: Q6-Pruning.ipynb (1 line)" in n
                   for n in staged.notes), staged.notes
    finally:
        staged.cleanup()


def test_a_pattern_spelled_one_way_still_sees_the_other_spelling(tmp_path) -> None:
    # the pytorch manifest's first pattern is Q5-Pytorch*.ipynb: Q5_Pytorch.ipynb is the same name
    write_notebook(tmp_path / "Q5-Pytorch.ipynb", STUB)
    write_notebook(tmp_path / "Q5_Pytorch.ipynb", WORK)
    staged = stage(tmp_path, assignments.load("pytorch").layout)
    try:
        assert staged.files["pytorch_nets"] == "Q5_Pytorch.ipynb", staged.notes
    finally:
        staged.cleanup()
