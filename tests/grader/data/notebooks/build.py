"""Build the notebook fixtures of tests/grader/submission/test_notebook.py with nbformat.

`python tests/grader/data/notebooks/build.py` rewrites the .ipynb files next to
it; test_notebook.py checks that the stored files are what this script makes.

work.ipynb is a Colab-style submission for the tiny_notebook test assignment
(tests/grader/data/assignments/tiny_notebook): a Drive-mounting first cell
with `%cd` and `!pip`, a buggy relu_forward redefined correctly later, the
affine layer under an alias name, an sgd cell with a syntax error, a training
cell that would run for an hour, a cell that loops forever, a cell that
raises, the correct sgd after all of them, and two inline answers (one left
as the placeholder).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

COLAB_SETUP = """\
# Mount Google Drive so the notebook can read the course folder.
from google.colab import drive
drive.mount('/content/drive', force_remount=True)
FOLDERNAME = 'cs231n/assignments/assignment2/'
assert FOLDERNAME is not None, "[!] Enter the foldername."
import sys
sys.path.append('/content/drive/My Drive/{}'.format(FOLDERNAME))
%cd /content/drive/My\\ Drive/$FOLDERNAME/cs231n/datasets/
!bash get_datasets.sh
%cd /content/drive/My\\ Drive/$FOLDERNAME
!pip install -q \\
    imageio
"""

IMPORTS = """\
import time
import numpy as np
import matplotlib
%matplotlib inline
%load_ext autoreload
%autoreload 2
plt_size = (10.0, 8.0)
DTYPE = np.float64
def rel_error(x, y):
    return np.max(np.abs(x - y) / (np.maximum(1e-8, np.abs(x) + np.abs(y))))
"""

RELU_BUGGY = """\
def relu_forward(x):
    out = np.abs(x)  # first attempt
    return out, x
"""

RELU = """\
def relu_forward(x):
    \"\"\"ReLU: x of any shape -> (out, cache).\"\"\"
    out = np.maximum(0, x)
    return out, x
"""

AFFINE = """\
LEARNING_RATE = 1e-2
SIZES = {"hidden": (100, 50), "classes": 10}

def fc_forward(x, w, b):
    \"\"\"x (N, d_1..d_k), w (D, M), b (M,) -> (out (N, M), cache).\"\"\"
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w, b)

x_check = np.random.randn(2, 3)
out, _ = fc_forward(x_check, np.ones((3, 4)), np.zeros(4))
print(out.shape)
"""

SGD_SYNTAX_ERROR = """\
def sgd(w, dw, config=None)
    config = config or {}
    return w - config.get("learning_rate", 1e-2) * dw, config
"""

TRAINING = """\
# Train for an hour on the full data set.
for epoch in range(3600):
    time.sleep(1.0)
    print("epoch", epoch)
"""

LOOP = """\
step = 0
while True:
    step += 1
"""

RAISES = """\
print(accuracy_on_test_set)
"""

SGD = """\
%%time
def sgd(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    w = w - config["learning_rate"] * dw
    return w, config
"""

BASH = """\
%%bash
ls /content
"""


def work_notebook() -> nbformat.NotebookNode:
    cells = [
        new_markdown_cell("# Fully-connected layers\nRun every cell in order."),
        new_code_cell(COLAB_SETUP),
        new_code_cell(IMPORTS),
        new_markdown_cell("## ReLU"),
        new_code_cell(RELU_BUGGY),
        new_code_cell(RELU),
        new_code_cell(AFFINE),
        new_code_cell(SGD_SYNTAX_ERROR),
        new_code_cell(TRAINING),
        new_code_cell(LOOP),
        new_code_cell(RAISES),
        new_code_cell(BASH),
        new_markdown_cell("## Inline Question 1:\n\nWhich activations can stop the gradient from "
                          "flowing? Explain for sigmoid and tanh.\n\n"
                          "$\\color{blue}{\\textit Your Answer:}$ Both saturate: for large |x| "
                          "their derivative is close to zero, so almost no gradient flows back."),
        new_code_cell(SGD),
        new_markdown_cell("**Inline Question 2:**\n\nWhy does a network need a bias?"),
        new_markdown_cell("**Answer:**\n\n*fill this in*"),
    ]
    notebook = new_notebook(cells=cells)
    notebook.metadata["colab"] = {"provenance": []}
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    return notebook


def answers_only_notebook() -> nbformat.NotebookNode:
    """A cs231n-style notebook whose code is in the .py files: read only for its answers."""
    cells = [
        new_code_cell("from cs231n.layers import *\n%load_ext autoreload"),
        new_markdown_cell("## Inline Question 1:\nWhat does the ReLU do to negative inputs?"),
        new_markdown_cell("## Answer:\nIt maps them to zero."),
        new_markdown_cell("### Details\nSo their gradient is zero too."),
        new_code_cell("print('done')"),
    ]
    return new_notebook(cells=cells)


NOTEBOOKS = {"work.ipynb": work_notebook, "answers_only.ipynb": answers_only_notebook}


def build() -> dict[str, str]:
    texts = {}
    for name, make in NOTEBOOKS.items():
        notebook = make()
        for number, cell in enumerate(notebook.cells, start=1):
            cell.id = f"cell-{number}"  # fixed ids, so the files are reproducible
        texts[name] = nbformat.writes(notebook)
    return texts


if __name__ == "__main__":
    for name, text in build().items():
        (HERE / name).write_text(text)
        print(f"wrote {HERE / name}")
