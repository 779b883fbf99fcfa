"""Grading by observation (grader/checks/observe.py, grader/worker/observe.py): stand-ins of the
course's helpers are installed in the worker under every package name the course used,
record what a notebook's cells hand them, and checks reach the records as worker handles;
the notebook runs only when a check asks, once; a failing cell is named.

Numpy only (no framework), so these are fast: one worker start per test.
"""

from __future__ import annotations

import dataclasses

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader.submission import notebook as nb
from grader.checks.spec import CheckFailure
from grader.checks.student import Student
from grader.submission.stage import Layout, SubmissionError, stage
from grader.checks.observe import Config
from grader.worker.client import Worker

STAND_IN = '''
import numpy as np
import _grader_observe as observe

CALLS = []

def load_data():
    """Small offline data the judge provided."""
    return {"X": np.asarray(observe.given("x")), "budget": observe.budget()}

def train(model, epochs=10):
    CALLS.append(epochs)
    observe.record("train", {"model": model}, {"epochs": epochs})
    return min(epochs, observe.budget()["max_epochs"])

def runs():
    return len(CALLS)
'''

CELLS = [
    ("markdown", "# Part I"),
    ("code", "from google.colab import drive\ndrive.mount('/content/drive')\n!pip install nothing"),
    ("code", "from ece662.helpers import load_data, train\nimport numpy as np"),
    ("markdown", "## Part II: training"),
    ("code", "data = load_data()\nclass Model:\n    def __init__(self, w):\n        self.w = w\n"
             "model = Model(data['X'] * 2)\ntrained_for = train(model, epochs=10)"),
    ("code", "undefined_name + 1"),
    ("code", "from ece697ls.helpers import train as train2\ntrain2(Model(np.zeros(2)), epochs=3)"),
]


def write_notebook(path, cells=CELLS):
    made = [new_markdown_cell(text) if kind == "markdown" else new_code_cell(text)
            for kind, text in cells]
    nbformat.write(new_notebook(cells=made), str(path))
    return path


@pytest.fixture
def layout(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    (course / "helpers.py").write_text(STAND_IN)
    config = Config.parse({"notebook": "work", "packages": ["ece662", "ece697ls"],
                           "modules": {"helpers": "course/helpers.py"},
                           "budget": {"max_epochs": 2}, "limits": {"cell_s": 20, "total_s": 40}},
                          tmp_path, 10, 60)
    return Layout(files={"work": "work.py"}, default_package="ece662",
                  notebooks={"work": ["*lab*.ipynb", "*.ipynb"]}, observe=config)


@pytest.fixture
def student(tmp_path, layout):
    folder = tmp_path / "submission"
    folder.mkdir()
    write_notebook(folder / "A-other.ipynb", [("code", "x = 1")])
    write_notebook(folder / "Q9-lab.ipynb")
    staged = stage(folder, layout)
    worker = Worker(staged.root)
    yield Student(worker, staged.modules, staged.files, missing=frozenset(staged.missing),
                  import_timeouts=dict(staged.import_timeouts), observed=dict(staged.observed))
    worker.close()
    staged.cleanup()


def provide():
    import numpy as np
    return {"x": np.arange(3.0)}


def test_the_notebook_runs_only_when_asked_then_once(student) -> None:
    # definitions mode: the helpers import (stand-ins installed), nothing is trained
    student.members("work")
    assert student.worker.call("_grader_observe", "summary").value == []
    observation = student.observation(provide)
    records = observation.recorded("train")
    assert [(r.index, r.cell, r.facts) for r in records] == [(0, 5, {"epochs": 10}),
                                                             (1, 7, {"epochs": 3})]
    assert records[0].heading == "Part II: training"
    assert records[0].headings == ("Part I", "Part II: training")
    # the recorded object is the live model the cell made, reached by handle
    assert list(student.worker.get(records[0].ref("model").attr("w"))) == [0.0, 2.0, 4.0]
    # the budget bounded the call; one module object under both package names
    assert student.worker.call("ece662.helpers", "runs").value == 2
    assert student.observation(provide) is observation  # not run again
    assert student.worker.call("ece697ls.helpers", "runs").value == 2


def test_a_failing_cell_is_named_and_costs_only_what_needed_it(student) -> None:
    observation = student.observation(provide)
    assert observation.problems() == [
        "Q9-lab.ipynb cell 6: error: NameError at line 1: name 'undefined_name' is not defined"]
    with pytest.raises(CheckFailure, match="cell 6: error: NameError") as failure:
        observation.require("evaluate", "a model passed to evaluate")
    assert "a model passed to evaluate was not found" in str(failure.value)
    assert any("grading by observation" in note for note in observation.notes())


def test_after_a_worker_restart_the_notebook_runs_again(student) -> None:
    first = student.observation(provide)
    student.worker.close()
    second = student.observation(provide)
    assert second is not first and len(second.recorded("train")) == 2


def test_the_right_notebook_of_a_folder_is_observed(tmp_path, layout) -> None:
    folder = tmp_path / "two"
    folder.mkdir()
    write_notebook(folder / "A-first.ipynb", [("code", "x = 1")])
    write_notebook(folder / "Q9-lab.ipynb")
    staged = stage(folder, layout)
    try:
        assert staged.observed["work"]["notebook"] == "Q9-lab.ipynb"
        assert staged.observed["work"]["import"] == "ece662._observed_work"
    finally:
        staged.cleanup()


def test_without_a_notebook_a_check_needing_one_fails_plainly(tmp_path, layout) -> None:
    folder = tmp_path / "py"
    folder.mkdir()
    (folder / "work.py").write_text("x = 1\n")
    staged = stage(folder, layout)
    worker = Worker(staged.root)
    try:
        student = Student(worker, staged.modules, staged.files, observed=dict(staged.observed))
        with pytest.raises(CheckFailure, match="no notebook"):
            student.observation(provide)
    finally:
        worker.close()
        staged.cleanup()


def test_a_required_notebook_makes_a_submission_without_it_ungradable(tmp_path, layout) -> None:
    """Note [Graded only from the notebook]: `observe.required` turns "no notebook" into one
    SubmissionError (the pipeline's status `error`); a submission with it stages as before."""
    required = dataclasses.replace(layout, observe=dataclasses.replace(
        layout.observe, required="the lab is graded from the course notebook (Q9-lab.ipynb)"))
    folder = tmp_path / "py"
    folder.mkdir()
    (folder / "work.py").write_text("x = 1\n")
    with pytest.raises(SubmissionError, match=r"^the lab is graded from the course notebook "
                                              r"\(Q9-lab.ipynb\); none found in the submission$"):
        stage(folder, required)
    write_notebook(folder / "Q9-lab.ipynb")
    staged = stage(folder, required)   # beside a work.py, the required notebook is graded
    assert staged.observed["work"]["notebook"] == "Q9-lab.ipynb"
    staged.cleanup()
    stage(tmp_path / "py" / "work.py", layout).cleanup()   # not required: staged as before


def test_a_notebook_that_never_finishes_fails_every_later_check_at_once(tmp_path, layout) -> None:
    folder = tmp_path / "slow"
    folder.mkdir()
    write_notebook(folder / "lab.ipynb", [("code", "while True:\n    pass")])
    quick = dataclasses.replace(layout.observe, cell_s=1.0, total_s=2.0)
    staged = stage(folder, dataclasses.replace(layout, observe=quick))
    worker = Worker(staged.root)
    try:
        student = Student(worker, staged.modules, staged.files, observed=dict(staged.observed))
        observation = student.observation(provide)
        assert observation.problems()[0].startswith("lab.ipynb cell 1: timeout: stopped after 1 s")
        assert observation.recorded("train") == []
    finally:
        worker.close()
        staged.cleanup()


def test_config_names_what_is_wrong(tmp_path) -> None:
    with pytest.raises(ValueError, match="unknown keys"):
        Config.parse({"notebook": "x", "stand_ins": {}}, tmp_path, 10, 60)
    with pytest.raises(ValueError, match="does not exist"):
        Config.parse({"notebook": "x", "modules": {"h": "nowhere.py"}}, tmp_path, 10, 60)
    with pytest.raises(ValueError, match="notebook"):
        Config.parse({"packages": ["a"]}, tmp_path, 10, 60)


def test_headings_are_the_sections_above_each_code_cell() -> None:
    cells = [nb.Cell(1, "markdown", "# A\ntext\n## B"), nb.Cell(2, "code", "x"),
             nb.Cell(3, "markdown", "no heading"), nb.Cell(4, "code", "y")]
    assert nb.headings(cells) == {2: ["A", "B"], 4: ["A", "B"]}


def test_course_code_defined_in_a_cell_is_replaced_by_its_stand_in(tmp_path, layout) -> None:
    """`globals:` (Note [Course code in cells]): the notebook's own `train` is replaced after
    the cell that defines it, so later cells hand their model to the recording stand-in."""
    course = tmp_path / "course"
    config = Config.parse({"notebook": "work", "packages": ["ece662"],
                           "modules": {"helpers": "course/helpers.py"},
                           "globals": {"train": "course/helpers.py"},
                           "budget": {"max_epochs": 2}}, tmp_path, 10, 60)
    assert config.globals == {"train": course / "helpers.py"}
    folder = tmp_path / "cells"
    folder.mkdir()
    write_notebook(folder / "lab.ipynb", [
        ("code", "def train(model, epochs=10):\n    raise RuntimeError('the course trains for real')"),
        ("code", "trained_for = train([1, 2], epochs=5)")])
    staged = stage(folder, dataclasses.replace(layout, observe=config))
    worker = Worker(staged.root)
    try:
        student = Student(worker, staged.modules, staged.files, observed=dict(staged.observed))
        observation = student.observation(provide)
        assert observation.problems() == []
        assert [r.facts for r in observation.recorded("train")] == [{"epochs": 5}]
        assert worker.get(observation.recorded("train")[0].ref("model")) == [1, 2]
    finally:
        worker.close()
        staged.cleanup()


@pytest.mark.torch
def test_torchvision_and_matplotlib_stand_ins_serve_the_course_setup_cell(tmp_path, layout) -> None:
    """Note [Generic stand-ins]: the PyTorch notebook's setup and data cells run without
    torchvision or matplotlib installed, and its loaders give batches in CIFAR-10's shapes."""
    folder = tmp_path / "setup"
    folder.mkdir()
    write_notebook(folder / "lab.ipynb", [
        ("code", "import torch\nfrom torch.utils.data import DataLoader, sampler\n"
                 "import torchvision.datasets as dset\nimport torchvision.transforms as T\n"
                 "import matplotlib.pyplot as plt\n%matplotlib inline"),
        ("code", "transform = T.Compose([T.ToTensor(), T.Normalize((0.49, 0.48, 0.45), (0.2, 0.2, 0.2))])\n"
                 "train = dset.CIFAR10('./cs231n/datasets', train=True, download=True, transform=transform)\n"
                 "loader_val = DataLoader(train, batch_size=64, sampler=sampler.SubsetRandomSampler(range(49000, 50000)))\n"
                 "x, y = next(iter(loader_val))\nshape, labels = tuple(x.shape), y.dtype"),
        ("code", "fig, (left, right) = plt.subplots(1, 2)\nleft.plot([1, 2])\nplt.title('loss')\nplt.show()"),
    ])
    staged = stage(folder, layout)
    worker = Worker(staged.root)
    try:
        student = Student(worker, staged.modules, staged.files, observed=dict(staged.observed))
        observation = student.observation(provide)
        assert observation.problems() == []
        module = staged.observed["work"]["import"]
        assert [worker.call(module, "shape.__getitem__", i).value for i in range(4)] == [64, 3, 32, 32]
    finally:
        worker.close()
        staged.cleanup()


@pytest.mark.parametrize("name", ["matplotlib", "IPython"])
def test_plotting_and_display_stand_ins_accept_what_notebooks_do(name, capsys) -> None:
    """Loaded as the worker loads them (trusted course text), outside any sandbox."""
    import importlib.util

    from grader.checks.observe import GENERIC_STAND_INS
    spec = importlib.util.spec_from_file_location(f"stand_in_{name}", GENERIC_STAND_INS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if name == "matplotlib":
        plt = module.SUBMODULES["pyplot"]
        fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3))
        left.plot([1, 2], label="loss")
        plt.legend()
        plt.show()
        for ax in fig.axes:
            ax.set_title("x")
        with pytest.raises(AttributeError):
            plt.__file__
    else:
        shown = module.SUBMODULES["display"]
        shown.display(shown.HTML("<b>table</b>"), 3)
        shown.clear_output(wait=True)
        assert capsys.readouterr().out.splitlines()[-1] == "3"


@pytest.mark.tf
@pytest.mark.slow
def test_keras_data_set_loaders_are_offline_with_the_real_shapes(tmp_path, layout) -> None:
    """Note [Keras data sets]: cs231n's TensorFlow notebook loads CIFAR-10 through
    tf.keras.datasets; the worker has no network, and the stand-in gives the real layout
    (small: the notebook's validation slice X_train[49000:50000] is empty)."""
    folder = tmp_path / "keras"
    folder.mkdir()
    write_notebook(folder / "lab.ipynb", [
        ("code", "import numpy as np\nimport tensorflow as tf\nfrom tensorflow.keras.datasets import mnist"),
        ("code", "(X_train, y_train), (X_test, y_test) = tf.keras.datasets.cifar10.load_data()\n"
                 "X_val = X_train[49000:50000]\n"
                 "cifar = [X_train.shape, y_train.shape, X_test.shape, str(X_train.dtype), X_val.shape]\n"
                 "(m, n), _ = mnist.load_data()\nmnist_shapes = [m.shape, n.shape]\n"
                 "classes = sorted(set(np.unique(y_test).tolist()))"),
    ])
    staged = stage(folder, layout)
    worker = Worker(staged.root)
    try:
        student = Student(worker, staged.modules, staged.files, observed=dict(staged.observed))
        observation = student.observation(provide)
        assert observation.problems() == []
        module = staged.observed["work"]["import"]
        assert worker.call(module, "cifar.__repr__").value == (
            "[(2000, 32, 32, 3), (2000, 1), (500, 32, 32, 3), 'uint8', (0, 32, 32, 3)]")
        assert worker.call(module, "mnist_shapes.__repr__").value == "[(2000, 28, 28), (2000,)]"
        assert worker.call(module, "classes.__repr__").value == repr(list(range(10)))
    finally:
        worker.close()
        staged.cleanup()


def test_a_stand_in_that_cannot_be_installed_is_said(tmp_path, layout) -> None:
    (tmp_path / "course" / "broken.py").write_text("raise ImportError('needs a library the worker lacks')\n")
    config = Config.parse({"notebook": "work", "packages": ["ece662"],
                           "modules": {"helpers": "course/helpers.py", "broken": "course/broken.py"}},
                          tmp_path, 10, 60)
    folder = tmp_path / "one"
    folder.mkdir()
    write_notebook(folder / "lab.ipynb", [("code", "from ece662.broken import thing")])
    staged = stage(folder, dataclasses.replace(layout, observe=config))
    worker = Worker(staged.root)
    try:
        student = Student(worker, staged.modules, staged.files, observed=dict(staged.observed))
        problems = student.observation(provide).problems()
        assert problems[0].startswith("lab.ipynb cell 1: error: ModuleNotFoundError")
        assert problems[1] == ("lab.ipynb: stand-in for broken not installed: ImportError: needs a "
                               "library the worker lacks")
    finally:
        worker.close()
        staged.cleanup()
