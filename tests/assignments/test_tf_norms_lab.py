"""The IST597 lab graded as students write it (issue 12, item 5).

tf_norms_lab/ holds our own code in the two forms students hand in: the seed
lab's (module-level `batch_norm(x, gamma, beta, epsilon=1e-5)`, last-axis
`layer_norm`, `weight_norm(v, g, axis=None, epsilon=1e-5)`, a Keras
`CNN(norm_type=...)` trained at module level by its own `train_step`) and the
course template's (`CNN_assignment4.py`: a `CNN` class whose methods the
student extends, next to the library `batch_normalization` kept for
comparison).  Both, under any file name, as a `.py` that loads data and
trains at module level and as a notebook, get full marks on the three
functions and the training checks; a realistic mistake in that style still
costs its own check.  The fast, TF-free parts (roles, source views) are in
test_tf_norms_roles.py.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

from grader.scoring import assignment as assignments

from .conftest import grade

pytestmark = [pytest.mark.slow, pytest.mark.tf]
pytest.importorskip("tensorflow")

ASSIGNMENT = "tf_norms"
LAB = Path(__file__).resolve().parent / "tf_norms_lab"
SEED_STYLE = (LAB / "lab_script.py").read_text()
TEMPLATE_STYLE = (LAB / "template_style.py").read_text()
FUNCTION_CHECKS = {f"{f}/{c}" for f in ("batch_norm", "layer_norm")
                   for c in ("out", "out_hidden", "matches_keras", "gradients", "basic_ops")} | {
    "weight_norm/out", "weight_norm/norm_equals_g", "weight_norm/gradients", "weight_norm/basic_ops"}
TRAINING_CHECKS = {f"NormalizedCNN/trains_{o}" for o in ("none", "batch", "layer", "weight")} | {
    "NormalizedCNN/test_mode"}


def as_notebook(text: str) -> nbformat.NotebookNode:
    """The script as a notebook: one cell per top-level block, after a Colab-style setup cell."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells.append(nbformat.v4.new_markdown_cell("# Assignment 01000: normalization"))
    notebook.cells.append(nbformat.v4.new_code_cell("!pip install -q tensorflow\n%matplotlib inline"))
    for block in re.split(r"\n\n\n(?=\S)", text):
        notebook.cells.append(nbformat.v4.new_code_cell(block.strip("\n")))
    return notebook


def grade_as(name: str, text: str | nbformat.NotebookNode, **options):
    folder = Path(tempfile.mkdtemp(prefix="grader-test-lab-"))
    try:
        path = folder / name
        if isinstance(text, str):
            path.write_text(text)
        else:
            nbformat.write(text, str(path))
        return grade(path, ASSIGNMENT, **options)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def assert_passes(result, checks: set[str]) -> None:
    assert result.status == "graded", result.message
    failing = {c.id: c.message for c in result.checks if c.id in checks and c.status != "passed"}
    assert not failing, failing
    assert checks <= {c.id for c in result.checks}


def check(result, check_id: str):
    return next(c for c in result.checks if c.id == check_id)


@pytest.fixture(scope="module")
def seed_script_result():
    return grade_as("ist597_lab_jdoe.py", SEED_STYLE)


def test_seed_style_script_gets_full_marks_on_functions_and_training(seed_script_result):
    assert_passes(seed_script_result, FUNCTION_CHECKS | TRAINING_CHECKS)
    assert seed_script_result.score == seed_script_result.max_score == 11
    # the lab asks for no evaluate: the advisory says so and is skipped, costing nothing
    evaluate = check(seed_script_result, "evaluate/test_mode")
    assert evaluate.status == "skipped" and evaluate.max_points == 0
    assert "not asked" in evaluate.message, evaluate.message
    notes = "\n".join(seed_script_result.notes)
    assert "graded ist597_lab_jdoe.py as the assignment's normalization.py" in notes
    assert "definitions mode" in notes  # the data download and the training loop never ran


# The lab's own formulation: batch norm always normalizes with the batch's statistics
# (no running averages), as "for each mini-batch in your forward pass" says.
BATCH_STATISTICS_ALWAYS = SEED_STYLE.replace("        if training:\n            axes",
                                             "        if True:  # the course's formulation\n            axes")


def test_the_courses_formulation_gets_full_marks_with_test_mode_as_advice():
    from grader.report.terminal import render
    assert BATCH_STATISTICS_ALWAYS != SEED_STYLE
    result = grade_as("ist597_lab.py", BATCH_STATISTICS_ALWAYS)
    assert_passes(result, FUNCTION_CHECKS | TRAINING_CHECKS - {"NormalizedCNN/test_mode"})
    assert result.score == result.max_score == 11
    advice = check(result, "NormalizedCNN/test_mode")
    assert advice.status == "failed" and advice.max_points == 0 and advice.points == 0
    assert "batch statistics at test time" in advice.message and "no points" in advice.message
    assert "running averages" in advice.hint and "Keras" in advice.hint
    assert check(result, "evaluate/test_mode").status == "skipped"
    table = render(result)
    assert "advice  test_mode" in table and "ok NormalizedCNN" in table, table


def test_seed_style_is_judged_at_its_own_eps_and_layer_norm_convention(seed_script_result):
    out = check(seed_script_result, "layer_norm/out").details
    assert out["eps"] == 1e-5
    assert any("last axis" in c for c in out["conventions"].values())
    training = check(seed_script_result, "NormalizedCNN/trains_batch").details
    assert training["model"] == "CNN" and "reference's loop" in training["trained_by"]


def test_seed_style_notebook_gets_full_marks_on_functions_and_training():
    result = grade_as("Normalization_lab.ipynb", as_notebook(SEED_STYLE))
    assert_passes(result, FUNCTION_CHECKS | TRAINING_CHECKS)


def test_a_notebook_is_trained_to_the_same_accuracies_every_time_it_is_graded():
    """Note [Seeded training runs]: the lab's CNN takes no seed and Keras draws its initial
    weights from unseeded generators; the worker's generators are seeded before each model.
    Both gradings run in this process, so their held-out noise is the same draw."""
    notebook = as_notebook(SEED_STYLE)
    first, second = (grade_as("Normalization_lab.ipynb", notebook, select="trains_") for _ in range(2))
    accuracies = [{c.id: c.details["runs"] for c in result.checks if "trains_" in c.id}
                  for result in (first, second)]
    assert len(accuracies[0]) == 4, accuracies
    assert accuracies[0] == accuracies[1]


# A lab-style CNN that cannot learn from some initial weights: it zeroes its input when its
# constructor's first draw from numpy's generator is above one half (0.549 after seed 0, 0.417
# after seed 1), the way a dead-ReLU initialisation fails some seeds and not others.
UNLUCKY_AT_SEED_0 = SEED_STYLE.replace(
    '        self.norm_type = norm_type\n',
    '        self.norm_type = norm_type\n        self.dead = DEAD(np.random.rand())\n').replace(
    '    def call(self, x, training=False):\n        for i, conv',
    '    def call(self, x, training=False):\n        if self.dead:\n            x = tf.zeros_like(x)\n'
    '        for i, conv')


def test_a_run_that_falls_short_is_followed_by_one_from_the_next_seed():
    """Note [Seeded training runs]: the check passes when either run reaches the threshold,
    and a model that learns in neither fails with both accuracies named."""
    assert UNLUCKY_AT_SEED_0.count("self.dead") == 2
    unlucky = grade_as("lab.py", "def DEAD(draw):\n    return draw > 0.5\n\n\n" + UNLUCKY_AT_SEED_0,
                       select="trains_batch")
    result = check(unlucky, "NormalizedCNN/trains_batch")
    runs = result.details["runs"]
    assert result.status == "passed", result.message
    assert [run["seed"] for run in runs] == [0, 1], runs
    assert runs[0]["test_accuracy"] < 0.3 <= result.details["threshold"] <= runs[1]["test_accuracy"]

    dead = grade_as("lab.py", "def DEAD(draw):\n    return True\n\n\n" + UNLUCKY_AT_SEED_0,
                    select="trains_batch")
    result = check(dead, "NormalizedCNN/trains_batch")
    first, second = (run["test_accuracy"] for run in result.details["runs"])
    assert result.status == "failed" and max(first, second) < 0.3
    assert f"is {first:.3f}, and {second:.3f} in a second run from seed 1; at least 0.930" in result.message


def test_template_style_script_gets_full_marks_on_functions_and_training():
    result = grade_as("CNN_assignment4.py", TEMPLATE_STYLE)
    assert_passes(result, FUNCTION_CHECKS | TRAINING_CHECKS)
    message = check(result, "batch_norm/out").message
    assert "`CNN.batch_norm_custom`" in message  # not the library batch_normalization beside it


def test_notebook_library_normalization_loses_basic_ops_naming_the_cell():
    text = SEED_STYLE.replace(
        "    mu = tf.reduce_mean(x, axis=axes, keepdims=True)\n"
        "    sigma2 = tf.reduce_mean(tf.square(x - mu), axis=axes, keepdims=True)\n",
        "    mu, sigma2 = tf.nn.moments(x, axes=axes, keepdims=True)\n")
    assert text != SEED_STYLE
    result = grade_as("lab.ipynb", as_notebook(text), select="batch_norm")
    basic = check(result, "batch_norm/basic_ops")
    assert basic.status == "failed" and "tf.nn.moments" in basic.message
    assert re.search(r"cell \d+ line \d+: tf\.nn\.moments", basic.message), basic.message
    assert check(result, "batch_norm/out").status == "passed"


def test_layer_norm_over_height_and_width_is_still_wrong():
    text = SEED_STYLE.replace(
        "    mu = tf.reduce_mean(x, axis=-1, keepdims=True)\n"
        "    sigma2 = tf.reduce_mean(tf.square(x - mu), axis=-1, keepdims=True)\n",
        "    axes = list(range(1, len(x.shape) - 1)) or [1]\n"
        "    mu = tf.reduce_mean(x, axis=axes, keepdims=True)\n"
        "    sigma2 = tf.reduce_mean(tf.square(x - mu), axis=axes, keepdims=True)\n")
    assert text != SEED_STYLE
    result = grade_as("lab.py", text, select="layer_norm")
    out = check(result, "layer_norm/out")
    assert out.status == "failed" and "NHWC" in out.message  # on (N, D) samples it is right


def test_seed_style_eps_is_the_functions_own_but_a_wrong_formula_is_not():
    text = SEED_STYLE.replace("x_hat = (x - mu) / tf.sqrt(sigma2 + epsilon)",
                              "x_hat = (x - mu) / (tf.sqrt(sigma2) + epsilon)")
    assert text != SEED_STYLE
    result = grade_as("lab.py", text, select="batch_norm and out and not hidden")
    out = check(result, "batch_norm/out")
    assert out.status == "failed" and "outside the square root" in out.message


def test_a_model_written_for_28x28_images_is_trained_on_digits_at_that_size():
    # Keras' default 'valid' convolutions and pooling: 8x8 digits shrink to nothing
    text = SEED_STYLE.replace(', padding="same")', ")").replace('MaxPool2D(2, padding="same")', "MaxPool2D(2)")
    assert text.count("Conv2D(16, 3)") == 1
    result = grade_as("lab.py", text, select="trains_none or trains_layer or test_mode")
    assert_passes(result, {"NormalizedCNN/trains_none", "NormalizedCNN/trains_layer",
                           "NormalizedCNN/test_mode"})
    assert check(result, "NormalizedCNN/trains_none").details["images_scaled_to"] == [28, 28]


def test_evaluate_is_not_judged_on_a_model_whose_test_mode_uses_batch_statistics():
    # one image alone is normalized differently from a batch: evaluate's advice cannot tell
    # test from training mode, so it has nothing to say (and costs nothing either way)
    text = BATCH_STATISTICS_ALWAYS + (
        "\n\ndef evaluate(model, x, y):\n"
        "    return float(np.mean(np.argmax(model(x, training=False), 1) == y))\n")
    result = grade_as("lab.py", text, select="evaluate")
    evaluate = check(result, "evaluate/test_mode")
    assert evaluate.status == "skipped" and "batch statistics" in evaluate.message, evaluate.message


def test_a_batch_norm_that_returns_its_statistics_is_graded_on_its_output():
    # Note [Output with its statistics]: `return z, mean, var` (kept for running averages)
    text = SEED_STYLE.replace("    x_hat = (x - mu) / tf.sqrt(sigma2 + epsilon)\n    return gamma * x_hat + beta\n",
                              "    x_hat = (x - mu) / tf.sqrt(sigma2 + epsilon)\n"
                              "    return gamma * x_hat + beta, mu, sigma2\n")
    assert text != SEED_STYLE
    result = grade_as("lab.py", text, select="batch_norm")
    assert_passes(result, {c for c in FUNCTION_CHECKS if c.startswith("batch_norm/")})
    assert any("returns 3 values: the first" in c.message for c in result.checks), \
        [c.message for c in result.checks]
    # the output it returns is still judged: a variance without the mean subtracted fails
    wrong = text.replace("sigma2 = tf.reduce_mean(tf.square(x - mu), axis=axes, keepdims=True)",
                         "sigma2 = tf.reduce_mean(tf.square(x), axis=axes, keepdims=True)", 1)
    assert wrong != text
    result = grade_as("lab.py", wrong, select="batch_norm and (out or gradients) and not hidden")
    assert check(result, "batch_norm/out").status == "failed"
    assert check(result, "batch_norm/gradients").status == "failed"


def test_running_averages_kept_in_python_attributes_train_as_they_do_eagerly():
    # grader_tape.py Note [State left by a trace]: `self.avg = 0.9 * self.avg + 0.1 * mean` left a
    # graph tensor behind when the reference's loop traced the step, and the next call failed
    text = TEMPLATE_STYLE.replace(
        "        self.epsilon = 1e-3\n",
        "        self.epsilon = 1e-3\n        self.avg_mean0 = tf.zeros([16])\n").replace(
        "                mean_var = self.running[i]\n",
        "                mean_var = self.running[i]\n"
        "                if i == 0:\n"
        "                    self.avg_mean0 = 0.9 * self.avg_mean0 + 0.1 * tf.reduce_mean(x, axes)\n"
        "                    mean_var[0].assign(self.avg_mean0)\n")
    assert text.count("self.avg_mean0") == 4
    result = grade_as("CNN_assignment4.py", text, select="trains_batch or trains_none")
    assert_passes(result, {"NormalizedCNN/trains_batch", "NormalizedCNN/trains_none"})


def test_a_training_run_out_of_time_names_the_students_model_and_where_it_is_slow(monkeypatch):
    """Note [Training that runs out of time]: the training call's limit, the judge's own
    TRAIN_TIMEOUT_S (no student code reaches it), shortened to 1 s cuts the template-style model's
    first training run; that check and the next name the student's model and loop, not the
    grader's helper, and the first says where the model is slow."""
    assignments.load(ASSIGNMENT)  # loads checks.py as the grader does
    monkeypatch.setattr(sys.modules[f"grader_assignment_checks_{ASSIGNMENT}"], "TRAIN_TIMEOUT_S", 1.0)
    text = (LAB / "template_loops.py").read_text()
    loop = text.splitlines().index("        for row in range(out_h):") + 1
    result = grade_as("cs599_lab3_jdoe.py", text, select="trains_batch or trains_layer")
    assert result.status == "graded", result.message
    first, second = check(result, "NormalizedCNN/trains_batch"), check(result, "NormalizedCNN/trains_layer")
    assert (first.status, second.status) == ("timeout", "timeout"), (first.message, second.message)
    built = "`CNN(norm_type='batch', output_size=10, hidden_size=32)`"
    assert first.message.startswith(f"timed out: training {built} on 28x28 images with the reference's "
                                     f"training loop (200 steps of 64 images"), first.message
    assert "did not finish within 1 s, the limit of one training run" in first.message
    assert f"Python loop (`CNN.windows` (line {loop}))" in first.message
    assert second.message.startswith("timed out: training `CNN(norm_type='layer', output_size=10, "
                                      "hidden_size=32)` on 28x28 images"), second.message
    assert f"was not started: training {built} ran out of time in an earlier check" in second.message
    assert "train_model" not in first.message + second.message
