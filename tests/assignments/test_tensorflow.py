"""The `tensorflow` checks judge the course's notebook correctly both ways.

Every submission is a notebook in the course's cell layout (tests/assignments/
course_notebooks.py): full marks for the solution (ECE's `ece662` import, Colab cell,
6 classes) and for other course years (the `ece697ls` import; cs231n's CIFAR-10
notebook, `tf.keras.datasets` loader, 10 classes, no Colab cell: three_layer_convnet_init
returns 10-class weights, Note [Classes from the sample]); zero for the untouched course
notebook; and points lost on the right check, with the right message, for each realistic
mistake of assignments/tensorflow/mutants.py.  The Sequential model is a model_init_fn
graded by observing train_part34 (Note [The observed Sequential model] in checks.py).

Every submission is graded through the real pipeline (staging, sandboxed worker, pytest
plugin); one worker start (TensorFlow import, ~5 s) and one notebook run per grading.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from grader.scoring import assignment as assignments

from . import course_notebooks
from .conftest import (Bug, assert_bundle_caught, assert_bundles_partition, assert_full_marks, bundle,
                       grade, grade_file_with_bugs, load_mutants, solution_path)

# Note [Framework assignment tests are slow]: every grading here starts a worker that
# imports TensorFlow, runs the notebook and trains a model; `make test-slow` (and CI) runs them.
pytestmark = [pytest.mark.slow, pytest.mark.tf]

pytest.importorskip("tensorflow")

ASSIGNMENT = "tensorflow"
ROOT = Path(__file__).resolve().parents[2]
SOLUTION = solution_path(ASSIGNMENT)  # assignments/tensorflow/solution/Q5-Tensorflow.ipynb
STARTER = ROOT / "assignments" / "tensorflow" / "starter" / course_notebooks.TENSORFLOW_NOTEBOOK
FILE = course_notebooks.TENSORFLOW_NOTEBOOK

# Each bug of assignments/tensorflow/mutants.py (which `grade selftest` grades too) and a
# phrase a failing check of its target must say.
PHRASES = {
    "barebones: second ReLU missing": "a ReLU is missing",
    "barebones: flattened channels first": "entries differ",
    "barebones: ReLU on the scores": "a ReLU on the scores",
    "init: conv_w1 with std sqrt(1 / fan_in) (gain 1)": "gain 1",
    "init: fc_w not scaled": "not scaled",
    "init: first bias not zero": "conv_b1",
    "init: first bias drawn like a weight, as (1, 32)": "not zero either",
    "subclass: no softmax": "not passed through a softmax",
    "subclass: 3x3 convolution first": "weights have shapes",
    "subclass: second conv not padded": "the 3x3 convolution is not zero-padded",
    "subclass: ten classes written in (num_classes unused)": "the constructor's arguments are not used (num_classes)",
    "sequential: first ReLU missing": "a ReLU is missing",
    "sequential: no softmax": "not passed through a softmax",
    "sequential: first conv initialised to zeros": "test accuracy",
}
BUGS = [(bug, PHRASES[bug.name]) for bug in load_mutants(ASSIGNMENT)]
# Note [Bundled bugs] in test_pytorch.py: bugs of different functions graded together.
BUNDLES = [
    ("barebones: second ReLU", "init: conv_w1", "subclass: no softmax", "sequential: first conv"),
    ("barebones: flattened", "init: fc_w", "subclass: 3x3", "sequential: first ReLU"),
    ("init: first bias not", "sequential: no softmax", "subclass: ten classes"),
    ("init: first bias drawn", "barebones: ReLU on the scores", "subclass: second conv"),
]


def test_every_graded_function_has_a_bug():
    graded = {c.function for c in assignments.load(ASSIGNMENT).checks}
    assert graded <= {bug.target for bug, _ in BUGS}, sorted(graded - {bug.target for bug, _ in BUGS})


def test_every_phrase_names_a_bug():
    assert set(PHRASES) == {bug.name for bug, _ in BUGS}


def test_every_bug_is_in_exactly_one_bundle():
    assert_bundles_partition(BUGS, BUNDLES)


def test_the_committed_notebooks_are_what_the_builder_makes(tmp_path):
    for solved, path in ((True, SOLUTION), (False, STARTER)):
        made = course_notebooks.write(course_notebooks.tensorflow_cells(solved), tmp_path / FILE)
        assert made.read_text() == path.read_text(), f"{path}: rerun python -m tests.assignments.course_notebooks"


def _check(result, check_id: str):
    return next(c for c in result.checks if c.id == check_id)


def test_solution_gets_full_marks_with_the_sequential_model_observed():
    result = grade(SOLUTION, ASSIGNMENT)
    assert_full_marks(result)
    trained = _check(result, "Sequential/trains").details
    assert trained["test_accuracy"] >= trained["threshold"] and trained["classes"] == 6
    assert _check(result, "three_layer_convnet_init/init").details["fc_w"]["variant"] == "fan_in"


@pytest.mark.parametrize("year", ["ece697ls", "cs231n"])
def test_other_course_years_get_full_marks(year):
    cells = (course_notebooks.tensorflow_cells(True, package="ece697ls") if year == "ece697ls" else
             course_notebooks.tensorflow_cells(True, package="cs231n", classes=10, colab=False, data="keras"))
    folder = Path(tempfile.mkdtemp(prefix="grader-test-tensorflow-nb-"))
    os.chmod(folder, 0o755)
    try:
        path = course_notebooks.write(cells, folder / ("TensorFlow.ipynb" if year == "cs231n" else FILE))
        result = grade(path, ASSIGNMENT, select="not trains")
        assert_full_marks(result)
        if year == "cs231n":  # 10-class weights: Note [Classes from the sample]
            assert _check(result, "three_layer_convnet_init/init").status == "passed"
            assert _check(result, "Sequential/probabilities").details["sizes"] == [32, 16, 10]
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_sequential_of_its_own_before_part_iv_is_not_the_one_judged():
    """Note [Which Sequential is judged]: a deeper Sequential ConvNet trained in Part III's cell,
    before Part IV's three-layer one, is not what the Sequential checks judge."""
    notebook = json.loads(SOLUTION.read_text())
    part_iv = next(i for i, c in enumerate(notebook["cells"])
                   if c["cell_type"] == "markdown" and "".join(c["source"]).startswith("# Part IV"))
    own = ("def model_init_fn():\n"
           "    return tf.keras.Sequential([\n"
           "        tf.keras.layers.Conv2D(16, 3, padding='same', activation='relu', input_shape=(32, 32, 3)),\n"
           "        tf.keras.layers.Conv2D(16, 3, padding='same', activation='relu'),\n"
           "        tf.keras.layers.MaxPool2D(2),\n"
           "        tf.keras.layers.Conv2D(32, 3, padding='same', activation='relu'),\n"
           "        tf.keras.layers.GlobalAveragePooling2D(),\n"
           "        tf.keras.layers.Dense(6, activation='softmax')])\n\n"
           "def optimizer_init_fn():\n"
           "    return tf.keras.optimizers.SGD(learning_rate=1e-2)\n\n"
           "train_part34(model_init_fn, optimizer_init_fn)\n")
    notebook["cells"].insert(part_iv, {"cell_type": "code", "execution_count": None, "metadata": {},
                                       "outputs": [], "source": own})
    folder = Path(tempfile.mkdtemp(prefix="grader-test-tensorflow-nb-"))
    os.chmod(folder, 0o755)
    try:
        (folder / FILE).write_text(json.dumps(notebook))
        result = grade(folder / FILE, ASSIGNMENT, select="Sequential and probabilities")
        assert_full_marks(result)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# Note [Trained whatever its kernels]: Part IV's Sequential edited as (edits, whether trains passes,
# what its message says when it fails).
SECOND_CONV_5X5 = ("Conv2D(16, 3, padding='same'", "Conv2D(16, 5, padding='same'")
FIRST_CONV_ZEROS = ("activation='relu',\n                               kernel_initializer=initializer,\n"
                    "                               input_shape",
                    "activation='relu',\n                               kernel_initializer='zeros',\n"
                    "                               input_shape")
THIRD_CONV = ("        tf.keras.layers.Flatten(),",
              "        tf.keras.layers.Conv2D(16, 3, padding='same', activation='relu'),\n"
              "        tf.keras.layers.Flatten(),")
KERNEL_VARIANTS = {
    "second conv 5x5": ([SECOND_CONV_5X5], True, ""),
    "second conv 5x5, first conv zeros": ([SECOND_CONV_5X5, FIRST_CONV_ZEROS], False, "test accuracy"),
    "a third conv": ([THIRD_CONV], False, "a 5x5 Conv2D, a 3x3 Conv2D and one Dense layer"),
}


@pytest.mark.parametrize("variant", list(KERNEL_VARIANTS))
def test_a_sequential_with_other_kernels_is_still_trained(variant):
    """Note [Trained whatever its kernels]: a real notebook's Sequential with a 5x5 second Conv2D
    lost probabilities (right) and trains without being trained; trains now trains two Conv2D
    layers of any kernel size and one Dense, and still fails a model that does not learn or has
    another layout."""
    edits, trains, phrase = KERNEL_VARIANTS[variant]
    notebook = json.loads(SOLUTION.read_text())
    cell = next(c for c in notebook["cells"] if c["cell_type"] == "code"
                and "def model_init_fn" in "".join(c["source"]) and "Conv2D" in "".join(c["source"]))
    source = "".join(cell["source"])
    for old, new in edits:
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    cell["source"] = source
    folder = Path(tempfile.mkdtemp(prefix="grader-test-tensorflow-nb-"))
    os.chmod(folder, 0o755)
    try:
        (folder / FILE).write_text(json.dumps(notebook))
        result = grade(folder / FILE, ASSIGNMENT, select="Sequential")
        probabilities = _check(result, "Sequential/probabilities")
        assert probabilities.status == "failed"
        assert "a 5x5 Conv2D, a 3x3 Conv2D and one Dense layer" in probabilities.message
        named = "looks like: the second Conv2D's kernel is 5x5 where the notebook's is 3x3"
        assert (named in probabilities.message) == (SECOND_CONV_5X5 in edits)
        trained = _check(result, "Sequential/trains")
        assert trained.status == ("passed" if trains else "failed"), trained.message
        assert phrase in trained.message
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("input_shape", [False, True])
def test_keras_2_padding_lists_fail_with_the_build_error_and_a_hint(input_shape):
    """Note [Keras 2 padding lists] and [A Sequential that cannot be built]: a real 2019 notebook
    (TensorFlow 2.0) gave its Conv2D layers explicit padding lists, which Keras 3 rejects when the
    layer is first called (in model_init_fn itself where the Sequential is given input_shape).
    Both Keras models fail (the verdict is what running them gives); the messages say why, where
    the real notebook's Sequential (no input_shape) was said to have "weights []"."""
    notebook = json.loads(SOLUTION.read_text())
    for cell in notebook["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "code" and ("class ThreeLayerConvNet" in source
                                            or "def model_init_fn" in source and "Sequential" in source):
            source = source.replace("5, padding='same'", "5, padding=[[0, 0], [2, 2], [2, 2], [0, 0]]")
            source = source.replace("3, padding='same'", "3, padding=[[0, 0], [1, 1], [1, 1], [0, 0]]")
            cell["source"] = source if input_shape else source.replace("input_shape=(32, 32, 3)", "")
    folder = Path(tempfile.mkdtemp(prefix="grader-test-tensorflow-nb-"))
    os.chmod(folder, 0o755)
    try:
        (folder / FILE).write_text(json.dumps(notebook))
        result = grade(folder / FILE, ASSIGNMENT,
                       select="Sequential and probabilities" if input_shape else "probabilities")
        sequential = _check(result, "Sequential/probabilities")
        judged = [sequential] if input_shape else [sequential, _check(result, "ThreeLayerConvNet/probabilities")]
        for check in judged:
            assert check.status == "failed"
            assert "this is Keras 2 code" in check.message and "Received [[0, 0], [2, 2]" in check.message
        if input_shape:
            assert "model_init_fn() raised ValueError" in sequential.message
        else:
            assert "cannot be built" in sequential.message and "weights []" not in sequential.message
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_only_keras_3_rejecting_a_padding_list_is_called_keras_2_code():
    hint = _checks_module().keras2_hint
    assert "Keras 2" in hint("ValueError: `padding` must be either `'valid'` or `'same'`. "
                             "Received [[0, 0], [2, 2], [2, 2], [0, 0]].")
    # a misspelt padding string is the student's own mistake (Keras 3's words for Conv2D(..., padding='full'))
    assert hint("ValueError: The `padding` argument must be a list/tuple or one of {'valid', 'same'}. "
                "Received: full") == ""
    assert hint("ValueError: `padding` must be either `'valid'` or `'same'`. Received full.") == ""
    assert hint("ValueError: Dimensions must be equal") == ""


def test_only_a_sequential_is_built_by_the_observation(monkeypatch):
    """Note [Only a Sequential built]: the observation's train_part34 builds, keeps and reads
    the weights of a Sequential, and records any other model (Part V's subclassed
    CustomConvNet) by its class and layers without calling it, so its weights never hold the
    worker's memory for the checks after it."""
    import importlib.util
    import sys
    import types

    import tensorflow as tf

    records = []
    fake = types.ModuleType("_grader_observe")
    fake.record = lambda kind, objects, facts=None: records.append((kind, objects, facts))
    monkeypatch.setitem(sys.modules, "_grader_observe", fake)
    path = ROOT / "assignments" / ASSIGNMENT / "observe" / "tf_observe.py"
    spec = importlib.util.spec_from_file_location("tf_observe_under_test", path)
    tf_observe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tf_observe)

    calls = []

    class Wide(tf.keras.Model):  # a Part V model of our own: its first call would build it
        def __init__(self):
            super().__init__()
            self.flatten = tf.keras.layers.Flatten()
            self.fc = tf.keras.layers.Dense(6)

        def call(self, x, training=False):
            calls.append(x.shape)
            return self.fc(self.flatten(x))

    def sequential():
        return tf.keras.Sequential([tf.keras.Input((32, 32, 3)), tf.keras.layers.Conv2D(4, 3),
                                    tf.keras.layers.Flatten(), tf.keras.layers.Dense(6)])

    optimizer = lambda: tf.keras.optimizers.SGD(learning_rate=1e-3)  # noqa: E731
    tf_observe.train_part34(Wide, optimizer, num_epochs=10, is_training=True)
    tf_observe.train_part34(sequential, optimizer)
    (_, wide_objects, wide), (_, seq_objects, seq) = records
    assert calls == [] and "model" not in wide_objects
    assert wide["class"] == "Wide" and not wide["is_sequential"] and "shapes" not in wide
    assert wide["layers"] == ["Flatten", "Dense"]
    assert seq["is_sequential"] and seq["layers"] == ["Conv2D", "Flatten", "Dense"]
    assert seq["shapes"] == [[3, 3, 3, 4], [4], [30 * 30 * 4, 6], [6]]
    assert isinstance(seq_objects["model"], tf.keras.Sequential)


def _checks_module():
    assignments.load(ASSIGNMENT)  # loads checks.py as the grader does
    import sys
    return sys.modules[f"grader_assignment_checks_{ASSIGNMENT}"]


@pytest.mark.parametrize("package", ["ece662", "ece697ls"])
def test_the_course_import_of_invert_ch_is_no_error(package):
    """Note [The TensorFlow notebook's pruning_helper import] in
    assignments/tensorflow/observe/tf_pruning_helper.py: ECE's import cell ends with
    `from <package>.pruning_helper import invert_ch`; it is graded with no error note for
    that cell, and the course's invert_ch is what the cells get."""
    cells = course_notebooks.tensorflow_cells(True, package=package)
    imports = next(i for i, (kind, text) in enumerate(cells) if kind == "code" and "import tensorflow" in text)
    kind, text = cells[imports]
    cells[imports] = (kind, text.replace("\n%matplotlib inline",
                                         f"from {package}.pruning_helper import invert_ch\n\n%matplotlib inline"))
    # the course's helper as a later cell uses it: (N, C, H, W) -> (N, W, H, C)
    cells.insert(imports + 1, ("code", "assert invert_ch(np.zeros((2, 3, 4, 5))).shape == (2, 5, 4, 3)"))
    folder = Path(tempfile.mkdtemp(prefix="grader-test-tensorflow-nb-"))
    os.chmod(folder, 0o755)
    try:
        path = course_notebooks.write(cells, folder / FILE)
        result = grade(path, ASSIGNMENT, select="probabilities")
        assert_full_marks(result)
        assert not [note for note in result.notes if "error" in note], result.notes
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# Correct work written another way, one grading each.  pad-valid: tf.pad and 'VALID'
# convolutions with tf.nn.bias_add, tf.reshape and tf.add; weights by tf.random.normal *
# sqrt(2 / fan_in) and HeNormal, a bias from np.zeros with a dtype; the subclass with
# ZeroPadding2D and 'valid' Conv2D, HeNormal, tf.nn.relu and tf.nn.softmax in call; the
# Sequential with an InputLayer, ZeroPadding2D, ReLU and Activation layers.  layers: tf.nn.conv2d
# given explicit padding lists, Flatten() and `@`; VarianceScaling(scale=2.0) called for the conv
# weights; the subclass with ReLU, Flatten and Softmax layers; a Sequential grown by model.add.
ALTERNATIVES = {
    "pad-valid": [
        ("    hidden = tf.nn.conv2d(x, conv_w1, strides=1, padding='SAME') + conv_b1\n"
         '    hidden = tf.nn.relu(hidden)\n'
         "    hidden = tf.nn.conv2d(hidden, conv_w2, strides=1, padding='SAME') + conv_b2\n"
         '    hidden = tf.nn.relu(hidden)\n'
         '    scores = tf.matmul(flatten(hidden), fc_w) + fc_b\n',
         "    x_pad = tf.pad(x, [[0, 0], [2, 2], [2, 2], [0, 0]], 'CONSTANT')\n"
         "    conv1 = tf.nn.conv2d(x_pad, conv_w1, strides=[1, 1, 1, 1], padding='VALID')\n"
         '    relu1 = tf.nn.relu(tf.nn.bias_add(conv1, conv_b1))\n'
         '    relu1_pad = tf.pad(relu1, [[0, 0], [1, 1], [1, 1], [0, 0]])\n'
         "    conv2 = tf.nn.conv2d(relu1_pad, conv_w2, strides=[1, 1, 1, 1], padding='VALID')\n"
         '    relu2 = tf.nn.relu(tf.nn.bias_add(conv2, conv_b2))\n'
         '    relu2_flat = tf.reshape(relu2, (tf.shape(relu2)[0], -1))\n'
         '    scores = tf.add(tf.matmul(relu2_flat, fc_w), fc_b)\n'),
        ('    conv_w1 = tf.Variable(create_matrix_with_kaiming_normal((5, 5, 3, 32)))\n'
         '    conv_b1 = tf.Variable(tf.zeros((32,)))\n',
         '    conv_w1 = tf.Variable(tf.random.normal((5, 5, 3, 32)) * np.sqrt(2.0 / (5 * 5 * 3)))\n'
         '    conv_b1 = tf.Variable(np.zeros(32), dtype=tf.float32)\n'),
        ('    fc_w = tf.Variable(create_matrix_with_kaiming_normal((32 * 32 * 16, 6)))\n'
         '    fc_b = tf.Variable(tf.zeros((6,)))\n',
         '    init = tf.keras.initializers.HeNormal()\n'
         '    fc_w = tf.Variable(init(shape=(32 * 32 * 16, 6)))\n'
         '    fc_b = tf.Variable(tf.zeros([6]))\n'),
        ('        initializer = tf.initializers.VarianceScaling(scale=2.0)\n'
         "        self.conv1 = tf.keras.layers.Conv2D(channel_1, 5, padding='same',\n"
         "            activation='relu', kernel_initializer=initializer)\n"
         "        self.conv2 = tf.keras.layers.Conv2D(channel_2, 3, padding='same',\n"
         "            activation='relu', kernel_initializer=initializer)\n"
         '        self.flatten = tf.keras.layers.Flatten()\n'
         "        self.fc = tf.keras.layers.Dense(num_classes, activation='softmax',\n"
         '            kernel_initializer=initializer)\n',
         '        initializer = tf.keras.initializers.HeNormal()\n'
         '        self.pad1 = tf.keras.layers.ZeroPadding2D(padding=2)\n'
         "        self.conv1 = tf.keras.layers.Conv2D(channel_1, (5, 5), padding='valid', kernel_initializer=initializer)\n"
         '        self.pad2 = tf.keras.layers.ZeroPadding2D(padding=(1, 1))\n'
         "        self.conv2 = tf.keras.layers.Conv2D(channel_2, (3, 3), padding='valid', kernel_initializer=initializer)\n"
         '        self.fc = tf.keras.layers.Dense(num_classes, kernel_initializer=initializer)\n'),
        ('        scores = self.fc(self.flatten(self.conv2(self.conv1(x))))\n',
         '        x = tf.nn.relu(self.conv1(self.pad1(x)))\n'
         '        x = tf.nn.relu(self.conv2(self.pad2(x)))\n'
         '        x = tf.reshape(x, (tf.shape(x)[0], -1))\n'
         '        scores = tf.nn.softmax(self.fc(x))\n'),
        ('    initializer = tf.initializers.VarianceScaling(scale=2.0)\n'
         '    model = tf.keras.Sequential([\n'
         "        tf.keras.layers.Conv2D(32, 5, padding='same', activation='relu',\n"
         '                               kernel_initializer=initializer,\n'
         '                               input_shape=(32, 32, 3)),\n'
         "        tf.keras.layers.Conv2D(16, 3, padding='same', activation='relu',\n"
         '                               kernel_initializer=initializer),\n'
         '        tf.keras.layers.Flatten(),\n',
         '    initializer = tf.keras.initializers.HeNormal()\n'
         '    model = tf.keras.Sequential([\n'
         '        tf.keras.layers.InputLayer(input_shape=(32, 32, 3)),\n'
         '        tf.keras.layers.ZeroPadding2D(2),\n'
         '        tf.keras.layers.Conv2D(32, 5, kernel_initializer=initializer),\n'
         '        tf.keras.layers.ReLU(),\n'
         '        tf.keras.layers.ZeroPadding2D(1),\n'
         '        tf.keras.layers.Conv2D(16, 3, kernel_initializer=initializer),\n'
         "        tf.keras.layers.Activation('relu'),\n"
         '        tf.keras.layers.Flatten(),\n'),
    ],
    "layers": [
        ("    hidden = tf.nn.conv2d(x, conv_w1, strides=1, padding='SAME') + conv_b1\n"
         '    hidden = tf.nn.relu(hidden)\n'
         "    hidden = tf.nn.conv2d(hidden, conv_w2, strides=1, padding='SAME') + conv_b2\n"
         '    hidden = tf.nn.relu(hidden)\n'
         '    scores = tf.matmul(flatten(hidden), fc_w) + fc_b\n',
         '    h1 = tf.nn.relu(tf.nn.conv2d(x, conv_w1, [1, 1, 1, 1], [[0, 0], [2, 2], [2, 2], [0, 0]]) + conv_b1)\n'
         '    h2 = tf.nn.relu(tf.nn.conv2d(h1, conv_w2, [1, 1, 1, 1], [[0, 0], [1, 1], [1, 1], [0, 0]]) + conv_b2)\n'
         '    h2 = tf.keras.layers.Flatten()(h2)\n'
         '    scores = h2 @ fc_w + fc_b\n'),
        ('    conv_w1 = tf.Variable(create_matrix_with_kaiming_normal((5, 5, 3, 32)))\n'
         '    conv_b1 = tf.Variable(tf.zeros((32,)))\n'
         '    conv_w2 = tf.Variable(create_matrix_with_kaiming_normal((3, 3, 32, 16)))\n'
         '    conv_b2 = tf.Variable(tf.zeros((16,)))\n',
         '    initializer = tf.initializers.VarianceScaling(scale=2.0)\n'
         '    conv_w1 = tf.Variable(initializer((5, 5, 3, 32)))\n'
         '    conv_b1 = tf.Variable(tf.zeros(32))\n'
         '    conv_w2 = tf.Variable(initializer((3, 3, 32, 16)))\n'
         '    conv_b2 = tf.Variable(tf.zeros(16))\n'),
        ('        initializer = tf.initializers.VarianceScaling(scale=2.0)\n'
         "        self.conv1 = tf.keras.layers.Conv2D(channel_1, 5, padding='same',\n"
         "            activation='relu', kernel_initializer=initializer)\n"
         "        self.conv2 = tf.keras.layers.Conv2D(channel_2, 3, padding='same',\n"
         "            activation='relu', kernel_initializer=initializer)\n"
         '        self.flatten = tf.keras.layers.Flatten()\n'
         "        self.fc = tf.keras.layers.Dense(num_classes, activation='softmax',\n"
         '            kernel_initializer=initializer)\n',
         '        initializer = tf.initializers.VarianceScaling(scale=2.0)\n'
         '        self.conv1 = tf.keras.layers.Conv2D(filters=channel_1, kernel_size=(5, 5), strides=(1, 1),\n'
         "            padding='same', kernel_initializer=initializer)\n"
         '        self.relu1 = tf.keras.layers.ReLU()\n'
         '        self.conv2 = tf.keras.layers.Conv2D(filters=channel_2, kernel_size=(3, 3), strides=(1, 1),\n'
         "            padding='same', kernel_initializer=initializer)\n"
         '        self.relu2 = tf.keras.layers.ReLU()\n'
         '        self.flat = tf.keras.layers.Flatten()\n'
         '        self.fc = tf.keras.layers.Dense(num_classes, kernel_initializer=initializer)\n'
         '        self.softmax = tf.keras.layers.Softmax()\n'),
        ('        scores = self.fc(self.flatten(self.conv2(self.conv1(x))))\n',
         '        x = self.conv1(x)\n'
         '        x = self.relu1(x)\n'
         '        x = self.conv2(x)\n'
         '        x = self.relu2(x)\n'
         '        x = self.flat(x)\n'
         '        x = self.fc(x)\n'
         '        scores = self.softmax(x)\n'),
        ('    initializer = tf.initializers.VarianceScaling(scale=2.0)\n'
         '    model = tf.keras.Sequential([\n'
         "        tf.keras.layers.Conv2D(32, 5, padding='same', activation='relu',\n"
         '                               kernel_initializer=initializer,\n'
         '                               input_shape=(32, 32, 3)),\n'
         "        tf.keras.layers.Conv2D(16, 3, padding='same', activation='relu',\n"
         '                               kernel_initializer=initializer),\n'
         '        tf.keras.layers.Flatten(),\n'
         "        tf.keras.layers.Dense(6, activation='softmax',\n"
         '                              kernel_initializer=initializer),\n'
         '    ])\n',
         '    initializer = tf.initializers.VarianceScaling(scale=2.0)\n'
         '    model = tf.keras.Sequential()\n'
         '    model.add(tf.keras.Input(shape=(32, 32, 3)))\n'
         "    model.add(tf.keras.layers.Conv2D(32, (5, 5), padding='same', activation=tf.nn.relu, kernel_initializer=initializer))\n"
         "    model.add(tf.keras.layers.Conv2D(16, (3, 3), padding='same', activation=tf.nn.relu, kernel_initializer=initializer))\n"
         '    model.add(tf.keras.layers.Flatten())\n'
         '    model.add(tf.keras.layers.Dense(6, kernel_initializer=initializer))\n'
         "    model.add(tf.keras.layers.Activation('softmax'))\n"),
    ],
}


@pytest.mark.parametrize("name", sorted(ALTERNATIVES))
def test_correct_alternative_gets_full_marks(name):
    bugs = [Bug(f"alternative {n}", FILE, old, new, "") for n, (old, new) in enumerate(ALTERNATIVES[name])]
    assert_full_marks(grade_file_with_bugs(SOLUTION, FILE, ASSIGNMENT, bugs))


@pytest.mark.parametrize("names", BUNDLES, ids=[" + ".join(n) for n in BUNDLES])
def test_bugs_are_caught(names):
    planted = bundle(BUGS, names)
    trained = any("initialised to zeros" in bug.name for bug, _ in planted)
    result = grade_file_with_bugs(SOLUTION, FILE, ASSIGNMENT, [bug for bug, _ in planted],
                                  None if trained else "not trains")
    assert_bundle_caught(result, planted)


def test_gain_1_keeps_half_the_init_points():
    """Note [Kaiming variants]: init passes, init_fan_in fails naming the variant."""
    bug = next(bug for bug, _ in BUGS if bug.name.startswith("init: conv_w1"))
    result = grade_file_with_bugs(SOLUTION, FILE, ASSIGNMENT, [bug], "three_layer_convnet_init")
    assert _check(result, "three_layer_convnet_init/init").status == "passed"
    assert "gain 1" in _check(result, "three_layer_convnet_init/init_fan_in").message
    assert result.score == result.max_score / 2


def test_untouched_course_notebook_scores_zero_with_a_message_per_check():
    result = grade(STARTER, ASSIGNMENT)
    assert result.status == "graded", result.message
    assert result.score == 0
    for check in result.checks:
        assert check.status == "failed", (check.id, check.status, check.message)
        assert check.message.strip() and "internal grader error" not in check.message, check.id
    assert "no model_init_fn passed to train_part34 builds a tf.keras.Sequential" in \
        _check(result, "Sequential/probabilities").message


def test_the_trained_model_does_not_depend_on_which_checks_ran_before():
    """Note [Seeded model_init_fn]: Sequential/trains alone, and after Sequential/probabilities
    built a model of its own in the same worker, starts from the same weights: the same loss
    curve and accuracy (the test noise fixed, Note [A fixed noise seed for measurements])."""
    from grader.checks import held_out
    with held_out.fixed_seed(11):
        alone = _check(grade(SOLUTION, ASSIGNMENT, select="Sequential and trains"), "Sequential/trains")
        after = _check(grade(SOLUTION, ASSIGNMENT, select="Sequential"), "Sequential/trains")
    assert alone.status == after.status == "passed"
    for key in ("first_loss", "last_loss", "test_accuracy"):
        assert alone.details[key] == after.details[key], (key, alone.details, after.details)
