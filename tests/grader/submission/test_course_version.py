"""grader/submission/course_version.py: a notebook of another course year is named in one line, not graded 0."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from grader.scoring import assignment as assignments
from grader.submission.course_version import Version, code_only, recognise
from grader.submission.stage import OtherVersionError, stage

GRADE = Path(sys.executable).with_name("grade")

TF1_CELLS = [
    "import tensorflow as tf\nimport numpy as np\n%matplotlib inline",
    "tf.reset_default_graph()\nX = tf.placeholder(tf.float32, [None, 32, 32, 3])\n"
    "y = tf.placeholder(tf.int64, [None])\nis_training = tf.placeholder(tf.bool)",
    "with tf.Session() as sess:\n    sess.run(tf.global_variables_initializer())\n",
]
PYTORCH_2017_CELLS = [
    "import torch\nimport torch.nn as nn\nfrom torch.autograd import Variable\n"
    "dtype = torch.FloatTensor",
    "gpu_dtype = torch.cuda.FloatTensor\nmodel_gpu = copy.deepcopy(model).type(gpu_dtype)",
    "x_var = Variable(x.type(dtype))\nscores = model(x_var)",
]
MODERN_TF_CELLS = [
    "import tensorflow as tf\n# In TF1 you would use tf.placeholder and tf.Session here\n",
    "def model_init_fn():\n    return tf.keras.Sequential([tf.keras.layers.Dense(10)])\n"
    "print('no tf.Session() needed')",
]


def write_notebook(path: Path, cells: list[str]) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.cells.append(nbformat.v4.new_markdown_cell("Old notebooks used tf.placeholder and tf.Session."))
    notebook.cells.extend(nbformat.v4.new_code_cell(c) for c in cells)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(path))
    return path


def versions(assignment_id: str) -> tuple[Version, ...]:
    return assignments.load(assignment_id).layout.other_versions


def test_comments_and_strings_are_not_code() -> None:
    assert "placeholder" not in code_only("x = 1  # tf.placeholder\ns = 'tf.Session()'\n")
    assert "tf.placeholder (" in code_only("X = tf.placeholder(tf.float32)")


def test_tf1_graph_notebook_is_recognised_and_todays_is_not() -> None:
    hit = recognise(TF1_CELLS, versions("tensorflow"))
    assert hit is not None and "TensorFlow 1" in hit[0].name and len(hit[1]) >= 2
    assert recognise(MODERN_TF_CELLS, versions("tensorflow")) is None


def test_the_2017_pytorch_notebook_is_recognised_and_one_variable_is_not_enough() -> None:
    hit = recognise(PYTORCH_2017_CELLS, versions("pytorch"))
    assert hit is not None and "2017" in hit[0].name
    assert recognise(["from torch.autograd import Variable\nmodel = nn.Sequential()"],
                     versions("pytorch")) is None
    assert recognise(["w = tf.Variable(x)\ngpu_dtype = torch.float32"], versions("pytorch")) is None


def test_bad_marker_is_a_manifest_error() -> None:
    with pytest.raises(Exception):
        Version.from_manifest({"name": "x", "markers": ["("]})


def test_staging_refuses_another_version_in_one_line(tmp_path) -> None:
    write_notebook(tmp_path / "PyTorch.ipynb", PYTORCH_2017_CELLS)
    with pytest.raises(OtherVersionError, match=r"^PyTorch.ipynb is the 2017 PyTorch notebook .*not graded$"):
        stage(tmp_path, assignments.load("pytorch").layout)


def test_cli_reports_other_version_and_exits_2(tmp_path) -> None:
    notebook = write_notebook(tmp_path / "TensorFlow.ipynb", TF1_CELLS)
    out = tmp_path / "result.json"
    done = subprocess.run([str(GRADE), "check", "-a", "tensorflow", str(notebook), "--no-html",
                           "--json", str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    result = json.loads(out.read_text())
    assert result["status"] == "other_version" and result["checks"] == []
    assert "TensorFlow 1 graph notebook" in result["message"] and "\n" not in result["message"]
    assert "other_version: TensorFlow.ipynb is a TensorFlow 1 graph notebook" in done.stdout
