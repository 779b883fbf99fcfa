"""The `fc_nets` checks, proved both ways.

Correct code gets full marks: the reference, the reference staged as loose
files, as a zip and under another package name, and alternative
implementations (examples/fc_nets/ada/, the bundled correct example: loop-based layers,
a course-style optim.py without __all__ that updates in place with epsilon
inside the square root, and networks written differently, one of which draws
its initial weights from its own generator; and fc_nets_alternatives/, one idiom
per file, graded under every edition).  Broken code loses points: each
Bug (assignments/fc_nets/mutants.py, which `grade selftest` grades too) is one
realistic mistake in one graded function, and must cost points on that function
and nothing unrelated; several must also say what the mistake is.  The starter
code grades to zero with a message per check, without crashing.  The `fc_no_dropout` convention passes a dropout keyword only to a
student whose signature has it.  The tolerances the checks derive in their
Notes are tested here against the reference itself.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import re
import shutil
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from grader.scoring import assignment as assignments

from grader.scoring.pipeline import Options, grade_submission

from .conftest import (assert_starter_scores_zero, check_by_id, REFERENCE_PACKAGE, Bug, apply_bug,
                       assert_bug_caught, assert_full_marks, catching, copy_reference, grade,
                       grade_bug, grade_reference_with, load_mutants, remove_definition,
                       assert_edition_graded)

ASSIGNMENT = "fc_nets"
ROOT = Path(__file__).resolve().parents[2]
STARTER = ROOT / "assignments" / ASSIGNMENT / "starter" / "cs231n"
# The correct alternative implementations are the bundled example submission `ada`.
ALTERNATIVES = Path(__file__).resolve().parents[2] / "examples" / "fc_nets" / "ada" / "cs231n"
FC_NET = "classifiers/fc_net.py"
FCN = "FullyConnectedNet.loss"
BUGS = load_mutants(ASSIGNMENT)

# What a student must read for some of the bugs: (check id, text in message or hint).
EXPECTED_MESSAGES = {
    "affine forward forgets the bias": ("TwoLayerNet.loss/grads",
                                        "grads['W2'] IS the gradient of your own loss"),
    "affine backward leaves dx flat": ("affine_backward/dx", "a reshape or transpose missing?"),
    "affine backward: dx as w @ dout.T": ("affine_backward/dx", "its first axis last"),
    "softmax without the max shift": ("softmax_loss/loss", "NaN or infinite"),
    "softmax dx not divided by N": ("softmax_loss/dx", "off by a factor of N = 50"),
    "svm counts the correct class's margin": ("svm_loss/loss", "exactly 1 too high"),
    "affine_relu backward skips the relu": ("affine_relu_backward/dx",
                                            "the bug is in the backward pass"),
    "TwoLayerNet forgets weight_scale": ("TwoLayerNet.__init__/weight_scale",
                                         "weight_scale * np.random.randn"),
    "TwoLayerNet penalty without the 0.5": ("TwoLayerNet.loss/loss_reg",
                                            "the course's is 0.5 * reg * sum(W**2)"),
    "TwoLayerNet forgets reg * W1 in the gradient": ("TwoLayerNet.loss/grads_reg",
                                                     "reg * W1 is missing"),
    "FullyConnectedNet adds reg * np.sum(W) to the gradient": (
        "FullyConnectedNet.loss/grads_reg", "adds reg * np.sum(W1), one number, to every entry"),
    "FullyConnectedNet biases drawn at random": ("FullyConnectedNet.__init__/params",
                                                 "is not all zeros"),
    "FullyConnectedNet regularises the biases": ("FullyConnectedNet.loss/loss_reg",
                                                 "the biases are penalised too"),
    "FullyConnectedNet backward stops before layer 1": ("FullyConnectedNet.loss/grads",
                                                        "KeyError: 'W1'"),
    "L2 penalty without the 0.5 in both networks": ("FullyConnectedNet.loss/initial_loss",
                                                    "the notebook prints 7.052114776533016"),
    "sgd_momentum does not store the velocity": ("sgd_momentum/velocity",
                                                 "still holds the value passed in"),
    "rmsprop weights the decay the wrong way round": ("rmsprop/cache",
                                                      "decay_rate weighs the new dw**2"),
    "adam without bias correction": ("adam/next_w", "no bias correction"),
    "adam writes its corrected step size into config": (
        "adam/steps", "config['learning_rate'] came back from step 1 as"),
    "adam increments t after using it": ("adam/next_w", "bias correction with the old t"),
    "adam never stores t": ("adam/steps", "config['t'] came back from step 2 as 0, not 2"),
    "affine backward: dw from the unflattened x": ("affine_backward/dw",
                                                   "a reshape or transpose missing?"),
    "TwoLayerNet biases drawn at random": ("TwoLayerNet.__init__/params", "is not all zeros"),
    "TwoLayerNet forward skips the ReLU": ("TwoLayerNet.loss/scores",
                                          "the hidden layers have no ReLU"),
    "FullyConnectedNet puts a ReLU on the scores": ("FullyConnectedNet.loss/scores",
                                                    "the last affine layer has a ReLU too"),
    "TwoLayerNet biases a scalar zero": ("TwoLayerNet.__init__/params",
                                         "['b1'] is 0, expected an array"),
    "rmsprop ignores config epsilon": ("rmsprop/next_w", "config['epsilon'] = 0.001 is ignored"),
    "sgd_momentum steps with the velocity handed in": ("sgd_momentum/next_w",
                                                       "moved by the velocity handed in"),
    "rmsprop adds epsilon to w": ("rmsprop/next_w", "epsilon is not in the step's denominator"),
    "sgd_momentum in PyTorch's form": ("sgd_momentum/velocity", "PyTorch's form of momentum"),
    "FullyConnectedNet regularizes the last layer only": ("FullyConnectedNet.loss/loss_reg",
                                                          "only; the course adds 0.5 * reg"),
    "adam ignores config epsilon": ("adam/next_w", "config['epsilon'] = 0.001 is ignored"),
    "TwoLayerNet ignores the weight_scale argument": ("TwoLayerNet.__init__/weight_scale",
                                                      "weight_scale=0.05"),
}


def _checks_module():
    spec = importlib.util.spec_from_file_location(
        "fc_nets_checks_under_test", ROOT / "assignments" / ASSIGNMENT / "checks.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


# -- correct code ---------------------------------------------------------------------------------

def test_reference_gets_full_marks(reference_copy):
    result = grade(reference_copy, ASSIGNMENT)
    assert_full_marks(result)
    assert len(result.checks) == len(assignments.load(ASSIGNMENT).checks)
    assert {c.visibility for c in result.checks} == {"visible", "hidden"}
    assert check_by_id(result, "FullyConnectedNet.loss/overfit").details["accuracy"] == 1.0


def _package_with_alternative(name: str) -> Path:
    """A reference copy with one file of the `ada` example appended or substituted."""
    package = copy_reference()
    if name == "layers.py":  # appended: later definitions replace the reference's
        layers = package / "layers.py"
        layers.write_text(layers.read_text() + "\n\n" + (ALTERNATIVES / "layers.py").read_text())
    elif name == "optim.py":
        (package / "optim.py").write_text((ALTERNATIVES / "optim.py").read_text())
    else:
        (package / FC_NET).write_text((ALTERNATIVES / "classifiers" / "fc_net.py").read_text())
    return package


@pytest.mark.parametrize("alternative", ["layers.py", "optim.py", "fc_net.py"])
def test_correct_alternative_gets_full_marks(alternative: str):
    package = _package_with_alternative(alternative)
    try:
        assert_full_marks(grade(package, ASSIGNMENT))
    finally:
        shutil.rmtree(package.parent, ignore_errors=True)


# Each file in fc_nets_alternatives/ holds replacement definitions for one module of the
# reference package (its README.md); appended to that module, they shadow the reference's.
STUDENT_ALTERNATIVES = Path(__file__).resolve().parent / "fc_nets_alternatives"
STUDENT_ALTERNATIVE_FILES = {
    "affine_reshape_len.py": "layers.py",
    "affine_prod.py": "layers.py",
    "affine_cache_rows.py": "layers.py",
    "losses_vectorised.py": "layers.py",
    "losses_probs_copy.py": "layers.py",
    "optim_setdefault.py": "optim.py",
    "optim_inplace_state.py": "optim.py",
    "nets_unrolled.py": FC_NET,
    "nets_cache_lists.py": FC_NET,
    "relu_writes_dout.py": "layers.py",
    "optim_fresh_config.py": "optim.py",
}


EDITIONS = ["classic", "cs231n_2021", "cs231n_2025", "compsci682"]


@pytest.mark.parametrize("edition", EDITIONS)
@pytest.mark.parametrize("name", sorted(STUDENT_ALTERNATIVE_FILES))
def test_a_students_correct_alternative_gets_full_marks(name: str, edition: str):
    """Under every edition, each of which grades a different set of these functions (Note
    [Assigned parts] in grader/scoring/assignment.py); a correct solution fails no check,
    advisories included."""
    package = copy_reference()
    try:
        target = package / STUDENT_ALTERNATIVE_FILES[name]
        target.write_text(target.read_text() + "\n\n" + (STUDENT_ALTERNATIVES / name).read_text())
        assert_full_marks(grade_submission(
            package, assignments.load(ASSIGNMENT, {"edition": edition}), Options()))
    finally:
        shutil.rmtree(package.parent, ignore_errors=True)


def test_every_file_in_the_alternatives_folder_is_graded():
    assert {p.name for p in STUDENT_ALTERNATIVES.glob("*.py")} == set(STUDENT_ALTERNATIVE_FILES)


# One slip in an alternative each (file, text, replacement, function it belongs to, edition):
# the alternatives are graded, not shadowed by the reference they are appended to.
ALTERNATIVE_SLIPS = [
    ("affine_reshape_len.py", "dout.dot(w.T).reshape(*x.shape)", "dout.dot(w.T)",
     "affine_backward", "classic"),
    ("relu_writes_dout.py", "dx[x <= 0] = 0", "dx[x > 0] = 0", "relu_backward", "classic"),
    ("losses_vectorised.py", "(np.exp(x - lse) - one_hot) / N", "np.exp(x - lse) - one_hot",
     "softmax_loss", "cs231n_2025"),
    ("optim_inplace_state.py", "next_w -= lr * m_hat / (np.sqrt(v_hat) + eps)",
     "next_w -= lr * m / (np.sqrt(v) + eps)", "adam", "classic"),
    ("nets_unrolled.py", "reg_loss += 0.5 * self.reg", "reg_loss += self.reg",
     "FullyConnectedNet.loss", "classic"),
]


@pytest.mark.parametrize("name, old, new, target, edition", ALTERNATIVE_SLIPS,
                         ids=[slip[0] for slip in ALTERNATIVE_SLIPS])
def test_a_slip_in_an_alternative_loses_points_on_its_function(name, old, new, target, edition):
    source = (STUDENT_ALTERNATIVES / name).read_text()
    assert old in source
    package = copy_reference()
    try:
        file = package / STUDENT_ALTERNATIVE_FILES[name]
        file.write_text(file.read_text() + "\n\n" + source.replace(old, new))
        result = grade_submission(package, assignments.load(ASSIGNMENT, {"edition": edition}),
                                  Options())
    finally:
        shutil.rmtree(package.parent, ignore_errors=True)
    assert catching(result, target), f"{target} kept full marks"


@pytest.mark.parametrize("assignment", ["batchnorm", "dropout"])
@pytest.mark.parametrize("name", sorted(n for n, f in STUDENT_ALTERNATIVE_FILES.items()
                                        if f == FC_NET))
def test_a_students_networks_get_full_marks_in_the_later_notebooks(name: str, assignment: str):
    """The same FullyConnectedNet, with its normalization and dropout, graded by the
    notebooks that use them."""
    package = copy_reference()
    try:
        target = package / FC_NET
        target.write_text(target.read_text() + "\n\n" + (STUDENT_ALTERNATIVES / name).read_text())
        assert_full_marks(grade(package, assignment))
    finally:
        shutil.rmtree(package.parent, ignore_errors=True)


COURSE_FILES = ["layers.py", "layer_utils.py", "optim.py", FC_NET, "fast_layers.py"]


def test_loose_files_get_full_marks(tmp_path):
    for name in COURSE_FILES:
        shutil.copyfile(REFERENCE_PACKAGE / name, tmp_path / Path(name).name)
    assert_full_marks(grade(tmp_path, ASSIGNMENT))


def test_zip_of_a_differently_named_package_gets_full_marks(tmp_path):
    package = copy_reference("ece662")
    try:
        archive = tmp_path / "submission.zip"
        with zipfile.ZipFile(archive, "w") as zf:
            for path in package.rglob("*.py"):
                zf.write(path, Path("hw3") / path.relative_to(package.parent))
        result = grade(archive, ASSIGNMENT)
    finally:
        shutil.rmtree(package.parent, ignore_errors=True)
    assert_full_marks(result)


def _re_exporting_submission(shim: str, real: str) -> Path:
    """The reference as `real`, and a package `shim` whose files only re-export it, as some
    courses ship theirs (Note [Re-exporting packages] in grader/submission/stage.py)."""
    package = copy_reference(real)
    for path in [p for p in package.rglob("*.py") if p.name != "__init__.py"]:
        relative = path.relative_to(package)
        target = package.parent / shim / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        module = ".".join([real, *relative.with_suffix("").parts])
        target.write_text(f"from {module} import *\n")
    (package.parent / shim / "__init__.py").write_text("")
    return package.parent


@pytest.mark.parametrize("shim, real, form", [("ece697ls", "ece662", "folder"),
                                              ("cs231n", "ece662", "zip")])
def test_a_package_re_exporting_another_gets_full_marks(tmp_path, shim, real, form):
    folder = _re_exporting_submission(shim, real)
    try:
        if form == "zip":
            archive = tmp_path / "submission.zip"
            with zipfile.ZipFile(archive, "w") as zf:
                for path in folder.rglob("*.py"):
                    zf.write(path, Path("hw2") / path.relative_to(folder))
            result = grade(archive, ASSIGNMENT)
        else:
            result = grade(folder, ASSIGNMENT)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert_full_marks(result)


def test_a_bug_in_the_re_exported_code_loses_points_on_its_function():
    bug = next(b for b in BUGS if b.target == "affine_backward")
    folder = _re_exporting_submission("ece697ls", "ece662")
    try:
        apply_bug(folder / "ece662", bug)
        result = grade(folder, ASSIGNMENT)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert_bug_caught(result, bug)


# -- broken code ----------------------------------------------------------------------------------

@pytest.mark.parametrize("bug", BUGS, ids=[b.name for b in BUGS])
def test_bug_is_caught(bug: Bug):
    result = grade_bug(bug, ASSIGNMENT)
    assert_bug_caught(result, bug)
    if bug.name in EXPECTED_MESSAGES:
        check_id, text = EXPECTED_MESSAGES[bug.name]
        check = check_by_id(result, check_id)
        assert check in catching(result, check.function), f"{check_id} did not catch it"
        assert text in check.message + "\n" + check.hint, check.message + "\n" + check.hint


# A course-style softmax_loss (Note [Softmax inputs] in checks.py): each row's max subtracted,
# then log(probs[y]), as the course's 2016 code does.  Appended to layers.py.
COURSE_SOFTMAX = """
def softmax_loss(x, y):
    shifted = x - np.max(x, axis=1, keepdims=True)
    probs = np.exp(shifted)
    probs /= np.sum(probs, axis=1, keepdims=True)
    N = x.shape[0]
    loss = -np.sum(np.log(probs[np.arange(N), y])) / N
    dx = probs.copy()
    dx[np.arange(N), y] -= 1
    return loss, dx / N
"""


def _graded_with_softmax(source: str, edition: str = "cs231n_2025"):
    """Graded under an edition whose students write softmax_loss (Note [Course-provided
    parts] in grader/scoring/assignment.py: the classic edition gives it away)."""
    package = copy_reference()
    try:
        layers = package / "layers.py"
        layers.write_text(layers.read_text() + "\n" + source)
        return grade_submission(package, assignments.load(ASSIGNMENT, {"edition": edition}),
                                Options(select="softmax_loss"))
    finally:
        shutil.rmtree(package.parent, ignore_errors=True)


def test_a_max_shifted_softmax_with_log_of_probs_gets_full_marks_and_advice():
    from grader.report.terminal import render
    result = _graded_with_softmax(COURSE_SOFTMAX)
    assert result.score == result.max_score > 0
    advice = {c.id: c for c in result.checks if c.status != "passed"}
    assert set(advice) == {"softmax_loss/wide_rows"}, advice
    wide = advice["softmax_loss/wide_rows"]
    assert wide.max_points == 0 and "NaN or infinite" in wide.message
    assert "log-sum-exp" in wide.hint and "no points" in wide.hint
    table = render(result)
    assert "ok softmax_loss" in table and "advice  wide_rows" in table, table


def test_grade_check_exits_0_when_only_advice_failed():
    import subprocess
    package = copy_reference()
    try:
        layers = package / "layers.py"
        layers.write_text(layers.read_text() + "\n" + COURSE_SOFTMAX)
        run = subprocess.run([sys.executable, "-m", "grader.cli", "check", str(package), "-a",
                              ASSIGNMENT, "-k", "softmax_loss", "--no-html",
                              "--convention", "edition=cs231n_2025"], cwd=ROOT,
                             capture_output=True, text=True, timeout=120)
    finally:
        shutil.rmtree(package.parent, ignore_errors=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "advice  wide_rows" in run.stdout and "score 3 / 3" in run.stdout, run.stdout


def test_the_same_softmax_without_the_shift_loses_its_points():
    result = _graded_with_softmax(COURSE_SOFTMAX.replace(
        "shifted = x - np.max(x, axis=1, keepdims=True)", "shifted = x"))
    loss = check_by_id(result, "softmax_loss/loss")
    assert loss.points == 0 and "large logits" in loss.message and "NaN or infinite" in loss.message
    assert {c.function for c in result.checks if c.points < c.max_points} == {"softmax_loss"}


def test_the_classic_editions_softmax_is_the_courses_and_earns_nothing():
    """Note [Course-provided parts]: cs231n 2017-2020 and ECE562/697LS hand softmax_loss
    out ("we'll give them to you for free"), so under the default edition its checks are
    advisories: the right one earns nothing, a broken one is reported and costs nothing of
    its own, and the networks built on it still answer for it."""
    right = _graded_with_softmax(COURSE_SOFTMAX, edition="classic")
    assert right.max_score == 0 and {c.max_points for c in right.checks} == {0}
    broken = _graded_with_softmax(COURSE_SOFTMAX.replace(
        "shifted = x - np.max(x, axis=1, keepdims=True)", "shifted = x"), edition="classic")
    loss = check_by_id(broken, "softmax_loss/loss")
    assert loss.status == "failed" and loss.points == loss.max_points == 0
    assert "large logits" in loss.message
    full = assignments.load(ASSIGNMENT)
    given = {c.id for c in full.checks if c.function in ("softmax_loss", "svm_loss",
                                                          "affine_relu_forward",
                                                          "affine_relu_backward")}
    assert given and all(full.rubric.points[i] == 0 for i in given)
    assert full.rubric.max_score() == 42


def test_bugs_cover_every_graded_function():
    graded = {c.function for c in assignments.load(ASSIGNMENT).checks}
    assert graded == {bug.target for bug in BUGS}


def test_expected_messages_name_bugs():
    assert set(EXPECTED_MESSAGES) <= {bug.name for bug in BUGS}


def test_the_no_dropout_convention_passes_the_keyword_the_course_names():
    """Note [No dropout]: a skeleton whose default turns dropout on needs the convention."""
    package = copy_reference()
    try:
        apply_bug(package, Bug("dropout on by default", FC_NET, "dropout: float = 1,",
                               "dropout: float = 0.5,", target=""))
        default = grade(package, ASSIGNMENT)
        configured = grade_submission(package, assignments.load(
            ASSIGNMENT, {"fc_no_dropout": "dropout=1"}))
    finally:
        shutil.rmtree(package.parent, ignore_errors=True)
    assert {c.function for c in default.checks if c.points < c.max_points} == {FCN}
    assert_full_marks(configured)


def test_the_no_dropout_convention_leaves_out_a_keyword_the_student_lacks():
    package = _package_with_alternative("fc_net.py")  # names it dropout_keep_ratio
    try:
        result = grade_submission(package, assignments.load(ASSIGNMENT,
                                                            {"fc_no_dropout": "dropout=1"}))
    finally:
        shutil.rmtree(package.parent, ignore_errors=True)
    assert_full_marks(result)


# -- Adam's step count (Note [Adam step count convention] in checks.py) -----------------------------

ADAM_2017 = """

def adam(w, dw, config=None):
    \"\"\"Adam as the 2017 course wants it: t starts at 1 (the starter's default) and is
    incremented before the bias correction, as the notebook's published vectors require.\"\"\"
    if config is None:
        config = {}
    config.setdefault('learning_rate', 1e-3)
    config.setdefault('beta1', 0.9)
    config.setdefault('beta2', 0.999)
    config.setdefault('epsilon', 1e-8)
    config.setdefault('m', np.zeros_like(w))
    config.setdefault('v', np.zeros_like(w))
    config.setdefault('t', 1)
    b1, b2, t = config['beta1'], config['beta2'], config['t'] + 1
    m = b1 * config['m'] + (1 - b1) * dw
    v = b2 * config['v'] + (1 - b2) * dw ** 2
    m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
    config['m'], config['v'], config['t'] = m, v, t
    return w - config['learning_rate'] * m_hat / (np.sqrt(v_hat) + config['epsilon']), config
"""
# The same year's default, but t used before it is incremented: the 2017 notebook's own test
# printed a next_w error of 1.5e-3 for it (a real 2017 package), wrong in either convention.
ADAM_2017_USES_T_FIRST = ADAM_2017.replace(
    "b1, b2, t = config['beta1'], config['beta2'], config['t'] + 1",
    "b1, b2, t = config['beta1'], config['beta2'], config['t']").replace(
    "config['t'] = m, v, t\n", "config['t'] = m, v, t + 1\n")


def _grade_adam(source: str, conventions: dict | None = None):
    package = copy_reference()
    try:
        optim = package / "optim.py"
        optim.write_text(optim.read_text() + source)  # the later adam replaces the reference's
        return grade_submission(package, assignments.load(ASSIGNMENT, conventions))
    finally:
        shutil.rmtree(package.parent, ignore_errors=True)


def test_a_2017_style_adam_gets_full_marks_and_is_told_why():
    result = _grade_adam(ADAM_2017)
    assert_full_marks(result)
    assert "graded `adam` under the 2017 starter's convention" in check_by_id(result, "adam/next_w").message


def test_a_2018_style_adam_is_graded_under_its_own_convention():
    result = _grade_adam("")
    assert_full_marks(result)
    assert "2017" not in check_by_id(result, "adam/next_w").message


def test_the_2017_adam_matches_the_2017_notebooks_published_vectors():
    """What the convention rests on: the 2017 notebook's t=5 case and its published next_w
    (the same vectors as later years'), met by the 2017 Adam and missed by the one that uses
    t first, as the course's own test cell says."""
    from reference.published import PUBLISHED
    namespace: dict = {"np": np}
    exec(ADAM_2017, namespace)
    grid = lambda a, b: np.linspace(a, b, num=20).reshape(4, 5)  # noqa: E731
    config = {"learning_rate": 1e-2, "m": grid(0.6, 0.9), "v": grid(0.7, 0.5), "t": 5}
    published = next(v for v in PUBLISHED if v.name == "adam").expected["next_w"]
    next_w, _ = namespace["adam"](grid(-0.4, 0.6), grid(-0.6, 0.4), dict(config))
    assert np.max(np.abs(next_w - published)) < 1e-8
    exec(ADAM_2017_USES_T_FIRST, namespace)
    next_w, _ = namespace["adam"](grid(-0.4, 0.6), grid(-0.6, 0.4), dict(config))
    assert np.max(np.abs(next_w - published)) > 1e-5


def test_a_2017_default_with_t_used_first_loses_points_on_adam_only():
    result = _grade_adam(ADAM_2017_USES_T_FIRST)
    lost = {c.id for c in result.checks if c.points < c.max_points}
    assert lost and {c.split("/")[0] for c in lost} == {"adam"}, lost
    assert "adam/next_w" in lost
    message = check_by_id(result, "adam/next_w").message
    assert "graded `adam` under the 2017 starter's convention" in message
    assert "t = 1 on a first step" in message or "increment t first" in message, message


# t kept as a NumPy scalar (a real 2018 package wrote its default as np.uint32(1)): the worker
# hands it over as a 0-d array, which must count as the number it holds.
ADAM_2017_NUMPY_T = ADAM_2017.replace("config.setdefault('t', 1)",
                                      "config.setdefault('t', np.uint32(1))")


def test_a_2017_adam_keeping_t_as_a_numpy_scalar_gets_full_marks():
    assert "np.uint32(1)" in ADAM_2017_NUMPY_T
    result = _grade_adam(ADAM_2017_NUMPY_T)
    assert_full_marks(result)
    assert "graded `adam` under the 2017 starter's convention" in check_by_id(result, "adam/next_w").message


def test_a_numpy_scalar_t_used_before_its_increment_still_loses_adam():
    source = ADAM_2017_USES_T_FIRST.replace("config.setdefault('t', 1)",
                                            "config.setdefault('t', np.uint32(1))")
    assert "np.uint32(1)" in source
    result = _grade_adam(source)
    lost = {c.id for c in result.checks if c.points < c.max_points}
    assert "adam/next_w" in lost and {c.split("/")[0] for c in lost} == {"adam"}, lost
    assert "graded `adam` under the 2017 starter's convention" in check_by_id(result, "adam/next_w").message


@pytest.mark.parametrize("source, convention", [(ADAM_2017, "from_0"), ("", "from_1")],
                         ids=["2017_graded_as_2018", "2018_graded_as_2017"])
def test_a_fixed_adam_convention_grades_the_other_year_as_wrong(source, convention):
    """The convention decides: set explicitly, it is not detected, and the other year's
    first steps (from a config without t) miss by one."""
    result = _grade_adam(source, {"adam_t": convention})
    lost = {c.id for c in result.checks if c.points < c.max_points}
    assert lost == {"adam/next_w", "adam/steps", "adam/steps_hidden"}, lost


@pytest.fixture(scope="module")
def package_2021():
    """The reference as a cs231n 2021-2024 assignment 2 student hands it in: no svm_loss in
    layers.py, no TwoLayerNet in classifiers/fc_net.py (both moved to assignment 1)."""
    package = copy_reference()
    remove_definition(package / "layers.py", "svm_loss")
    remove_definition(package / FC_NET, "TwoLayerNet")
    yield package
    shutil.rmtree(package.parent, ignore_errors=True)


def test_a_2021_edition_package_is_graded_on_what_its_edition_assigns(package_2021):
    """Note [Assigned parts] in grader/scoring/assignment.py: under `edition=cs231n_2021` the
    package gets full marks out of 40; graded as the default edition it loses exactly the
    svm_loss and TwoLayerNet checks, each saying "not found" and naming the setting."""
    left_out = {c.id for c in assignments.load(ASSIGNMENT).checks
                if c.function.startswith(("svm_loss", "TwoLayerNet"))}
    assert len(left_out) == 9
    # svm_loss earns nothing under the classic edition either (the course's code there)
    assert_edition_graded(package_2021, ASSIGNMENT, "edition", "cs231n_2021", left_out, 36,
                          lost={i for i in left_out if i.startswith("TwoLayerNet")})
    classic = grade(package_2021, ASSIGNMENT)
    missing = check_by_id(classic, "TwoLayerNet.loss/grads")
    assert missing.cause == "missing" and "not found" in missing.message
    # one line per edition, which `grade check` prints without -v
    assert [n for n in classic.notes if "edition=" in n] == [
        "svm_loss, TwoLayerNet are not assigned in cs231n 2021-2024 (assignment 2): 9 of "
        "the points lost; if your course is one of them, grade with --convention "
        "edition=cs231n_2021"]


def test_a_2025_edition_package_is_graded_on_what_its_edition_assigns():
    """cs231n 2025 has this material in assignment 1, TwoLayerNet included, and svm_loss "not
    required for this assignment": out of 45 under `edition=cs231n_2025` (the affine_relu
    sandwich is the course's there too).  Under the classic edition svm_loss earns nothing,
    so leaving it out costs nothing either."""
    package = copy_reference()
    try:
        remove_definition(package / "layers.py", "svm_loss")
        assert_edition_graded(package, ASSIGNMENT, "edition", "cs231n_2025",
                              {"svm_loss/loss", "svm_loss/dx"}, 45, lost=set())
    finally:
        shutil.rmtree(package.parent, ignore_errors=True)


def test_a_compsci682_package_is_graded_on_what_its_edition_assigns():
    """UMass COMPSCI 682 (2021-2024) has no rmsprop in its optim.py and gives adam and the
    losses away (Note [Course-provided parts]): a package without rmsprop gets full marks out
    of 35 under `edition=compsci682`; as the default edition it loses exactly rmsprop's checks,
    which name that setting."""
    package = copy_reference()
    try:
        remove_definition(package / "optim.py", "rmsprop")
        left_out = {c.id for c in assignments.load(ASSIGNMENT).checks
                    if c.function == "rmsprop"}
        assert left_out
        assert_edition_graded(package, ASSIGNMENT, "edition", "compsci682", left_out, 35)
        given = grade_submission(package, assignments.load(ASSIGNMENT,
                                                           {"edition": "compsci682"}))
        assert {c.id for c in given.checks if c.function == "adam"} and all(
            c.max_points == 0 for c in given.checks if c.function in ("adam", "softmax_loss"))
    finally:
        shutil.rmtree(package.parent, ignore_errors=True)


def test_a_broken_svm_loss_is_not_hinted_away_under_the_classic_edition():
    """The hint is for a function that is not there; a wrong one gets the check's own hint."""
    bug = next(b for b in BUGS if b.name == "svm counts the correct class's margin")
    result = grade_bug(bug, ASSIGNMENT)
    check = check_by_id(result, "svm_loss/loss")
    assert check.points == 0 and check.cause == "wrong"
    assert "edition" not in check.hint


def test_the_full_reference_under_the_2021_edition_is_graded_on_what_it_assigns():
    result = grade_submission(REFERENCE_PACKAGE, assignments.load(ASSIGNMENT,
                                                                  {"edition": "cs231n_2021"}))
    assert_full_marks(result)
    assert result.max_score == 36


def test_starter_grades_to_zero_and_says_what_is_missing():
    result = grade(STARTER, ASSIGNMENT)
    assert_starter_scores_zero(result, "is not implemented yet")


def test_starter_leaves_the_course_helpers_to_the_grader() -> None:
    """Course helpers are not copied into the starter: staging (and a release) supply them
    from reference/cs231n (manifest `replace` / `provide`), so there is one copy of each."""
    from grader.scoring import assignment as assignments
    layout = assignments.load(ASSIGNMENT).layout
    reference = Path(__file__).resolve().parents[2] / "reference" / "cs231n"
    for name in layout.replace + layout.provide:
        assert not (STARTER / name).exists(), name
        assert (reference / name).exists(), name


# -- the tolerances the checks derive -------------------------------------------------------------

def test_initialisation_statistics_are_six_standard_errors_wide():
    """Note [Initialisation statistics]: every matrix judged has n >= 4000 entries."""
    checks = _checks_module()
    for (class_name, name), cases in checks.INIT_CASES.items():
        if name != "weight_scale":
            continue
        for dims, _, _ in cases:
            for n in (a * b for a, b in zip(dims[:-1], dims[1:])):
                assert checks.WEIGHT_TOLERANCE * math.sqrt(n) >= 6.0, (class_name, dims)
                assert checks.WEIGHT_TOLERANCE * math.sqrt(2 * n) >= 8.0, (class_name, dims)


def test_log_c_bound_holds_for_correct_networks_and_not_for_large_weights():
    """Note [Initial loss near log C], against 300 reference initialisations."""
    from reference.cs231n.classifiers.fc_net import FullyConnectedNet
    checks = _checks_module()
    dims, N = (15, 20, 30, 10), 10
    r = np.random.default_rng(231)
    X, y = r.standard_normal((N, dims[0])), r.integers(dims[-1], size=N)
    bound = checks._log_c_bound(X, dims, 1e-2)
    assert 0.01 < bound < 0.05

    def worst(weight_scale: float) -> float:
        deviations = []
        for seed in range(300):
            np.random.seed(seed)
            model = FullyConnectedNet(list(dims[1:-1]), input_dim=dims[0], num_classes=dims[-1],
                                      weight_scale=weight_scale, dtype=np.float64)
            deviations.append(abs(model.loss(X, y)[0] - math.log(dims[-1])))
        return max(deviations)

    assert worst(1e-2) < bound / 10  # the bound is loose, never tight
    assert worst(1e-1) > bound  # weights 10x too large miss it


def test_overfitting_problem_is_solved_by_the_reference_and_not_by_broken_gradients():
    """Note [Overfitting check]: 100% for the reference, far below 90% without learning."""
    from reference.cs231n.solver import Solver
    checks = _checks_module()

    def train(transform) -> float:
        data, params = checks._overfit_problem()
        model = checks._reference_model("FullyConnectedNet", checks.OVERFIT_DIMS, 0.0, params)
        loss = model.loss

        def transformed(X, y=None):
            if y is None:
                return loss(X)
            value, grads = loss(X, y)
            return value, {name: transform(grad) for name, grad in grads.items()}
        model.loss = transformed
        Solver(model, data, update_rule="sgd", num_epochs=20, batch_size=25, verbose=False,
               optim_config={"learning_rate": checks.OVERFIT_LEARNING_RATE}, seed=0).train()
        scores = model.loss(data["X_train"])
        return float(np.mean(np.argmax(scores, axis=1) == data["y_train"]))

    assert train(lambda grad: grad) == 1.0
    with np.errstate(all="ignore"):  # gradient ascent overflows
        assert train(lambda grad: -grad) < checks.OVERFIT_TARGET / 2
    assert train(np.zeros_like) < checks.OVERFIT_TARGET / 2  # a backward pass that never assigns


def test_model_gradients_name_a_wrong_loss_first():
    """Note [Forward first] in grader/checks/builders.py, for a model: with the bias left out
    of affine_forward the loss is wrong, and the gradient check says so before anything else."""
    bug = next(b for b in BUGS if b.name == "affine forward forgets the bias")
    package = copy_reference()
    try:
        apply_bug(package, bug)
        result = grade(package, ASSIGNMENT, select="TwoLayerNet and grads")
        lines = check_by_id(result, "TwoLayerNet.loss/grads").message.splitlines()
        assert lines[1] == ("your loss is wrong on this sample too: fix it first; correct "
                            "gradients of a wrong loss cannot match"), lines
        assert not any("the bug is in the backward pass" in line for line in lines)
    finally:
        shutil.rmtree(package.parent, ignore_errors=True)


# -- hostile: what the model reports about itself is not scored (Note [Judge holds the state]) ---

MEMORISING_NET = '''

_Honest = FullyConnectedNet


class FullyConnectedNet(_Honest):
    """Never learns (zero gradients), but once it has seen enough training examples its
    `params` hands back weights built from them: one hidden unit per example."""

    def __init__(self, *args, **kwargs):
        self._seen, self._real = {}, {}
        super().__init__(*args, **kwargs)

    @property
    def params(self):
        if len(self._seen) < 50:
            return self._real
        X = np.array([x for x, _ in self._seen.values()])
        labels = [label for _, label in self._seen.values()]
        D, H = X.shape[1], self._real["W2"].shape[0]
        forged = {k: np.zeros_like(v) for k, v in self._real.items()}
        forged["W1"][:, :len(X)] = X.T
        forged["b1"][:] = -30.0
        forged["W2"][:] = np.eye(H, forged["W2"].shape[1])
        for i, label in enumerate(labels):
            forged["W3"][i, label] = 1.0
        return forged

    @params.setter
    def params(self, value):
        self._real = value

    def loss(self, X, y=None):
        if y is None:
            return _Honest.loss(self, X)
        flat = X.reshape(len(X), -1)
        for row, label in zip(flat, y):
            self._seen[row.tobytes()] = (row, int(label))
        loss, grads = _Honest.loss(self, X, y)
        return loss, {k: np.zeros_like(v) for k, v in grads.items()}
'''

CONSTANT_LOG_C_NET = '''

_Honest = FullyConnectedNet


class FullyConnectedNet(_Honest):
    """The loss every freshly initialised network should have, and no gradient at all."""

    def loss(self, X, y=None):
        C = self.params["W%d" % self.num_layers].shape[-1]
        if y is None:
            return np.zeros((len(X), C))
        return float(np.log(C)), {k: np.zeros_like(v) for k, v in self.params.items()}
'''


def _grade_with_net(source: str, select: str):
    return grade_reference_with("classifiers/fc_net.py", source, ASSIGNMENT, select)


def test_overfit_does_not_score_the_params_a_model_reports():
    result = _grade_with_net(MEMORISING_NET, "FullyConnectedNet and overfit")
    check = check_by_id(result, "FullyConnectedNet.loss/overfit")
    assert check.status == "failed", check.message
    assert "is not the gradient of the loss" in check.message


# Student code shares the worker with the mirror of the judge's parameters (Note [Training
# mirrored in the worker] in grader/worker/runtime.py) and can reach it: this one swaps the
# mirror for weights of its own after its first answer, so every later step is computed at
# parameters the judge does not hold.
MIRROR_TAMPERING_NET = '''

import gc

_Honest = FullyConnectedNet


class FullyConnectedNet(_Honest):
    def loss(self, X, y=None):
        answer = super().loss(X, y)
        if y is not None:
            for thing in gc.get_objects():
                if type(thing).__name__ == "Training" and isinstance(getattr(thing, "params", None), dict):
                    thing.params = {k: 3.0 * v for k, v in thing.params.items()}
        return answer
'''


def test_overfit_is_judged_at_the_judges_parameters_not_the_workers_mirror():
    result = _grade_with_net(MIRROR_TAMPERING_NET, "FullyConnectedNet and overfit")
    check = check_by_id(result, "FullyConnectedNet.loss/overfit")
    assert check.status == "failed", check.message
    assert check.message.startswith("epoch 1, update 2: your loss is"), check.message


def test_initial_loss_checks_need_the_loss_and_gradients_not_a_constant_log_c():
    result = _grade_with_net(CONSTANT_LOG_C_NET, "FullyConnectedNet and initial_loss")
    for check_id in ("FullyConnectedNet.loss/initial_loss",
                     "FullyConnectedNet.loss/initial_loss_near_log_C"):
        check = check_by_id(result, check_id)
        assert check.status == "failed", (check_id, check.message)


# -- loose files importing each other by bare name (Note [Loose files importing each other by name]
# in grader/submission/stage.py): written to sit in one folder, as in real hand-ins -----------------

def _loose_files_importing_by_name(folder: Path) -> Path:
    for name in COURSE_FILES:
        text = (REFERENCE_PACKAGE / name).read_text()
        text = re.sub(r"^from \.+(\w+) import", r"from \1 import", text, flags=re.MULTILINE)
        (folder / Path(name).name).write_text(text)
    assert "from layers import" in (folder / "fc_net.py").read_text()
    return folder


def test_loose_files_importing_each_other_by_name_get_full_marks(tmp_path):
    result = grade(_loose_files_importing_by_name(tmp_path), ASSIGNMENT)
    assert_full_marks(result)
    assert any("import `fast_layers`, `layer_utils`, `layers` by bare name" in n for n in result.notes), \
        result.notes


def test_a_bug_in_loose_files_importing_by_name_loses_points_on_its_function(tmp_path):
    bug = next(b for b in BUGS if b.name == "affine forward forgets the bias")
    folder = _loose_files_importing_by_name(tmp_path)
    apply_bug(folder, dataclasses.replace(bug, file=Path(bug.file).name))
    assert_bug_caught(grade(folder, ASSIGNMENT), bug)


# A scalar zero for each bias (broadcasts and trains) with the weights drawn as the course
# says, as a real 2017 package wrote it.
SCALAR_BIASES = '''

_Honest = {name}


class {name}(_Honest):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for key in self.params:
            if key.startswith("b"):
                self.params[key] = 0
'''


@pytest.mark.parametrize("class_name", ["TwoLayerNet", "FullyConnectedNet"])
def test_scalar_biases_cost_the_params_check_only_not_the_weight_statistics(class_name):
    # Note [Statistics judge the weights]
    result = _grade_with_net(SCALAR_BIASES.format(name=class_name), f"{class_name} and __init__")
    params = check_by_id(result, f"{class_name}.__init__/params")
    assert params.status == "failed" and "['b1'] is 0, expected an array" in params.message
    assert check_by_id(result, f"{class_name}.__init__/weight_scale").status == "passed"


MISSING_WEIGHT = '''

_Honest = TwoLayerNet


class TwoLayerNet(_Honest):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.params["w2"] = self.params.pop("W2")
'''


def test_the_weight_statistics_still_need_every_weight():
    result = _grade_with_net(MISSING_WEIGHT, "TwoLayerNet and __init__")
    check = check_by_id(result, "TwoLayerNet.__init__/weight_scale")
    assert check.status == "failed" and "expected the weights ['W1', 'W2']" in check.message


@pytest.mark.parametrize("name, net, words", [
    ("TwoLayerNet forward skips the ReLU", "TwoLayerNet", "the hidden layers have no ReLU"),
    ("FullyConnectedNet puts a ReLU on the scores", "FullyConnectedNet",
     "the last affine layer has a ReLU too")])
def test_relus_in_the_wrong_places_are_named_on_the_loss_too(name, net, words):
    # Note [Layers without their ReLU]: the loss of those scores, penalty included
    result = grade_bug(next(b for b in BUGS if b.name == name), ASSIGNMENT)
    for check_id in (f"{net}.loss/loss", f"{net}.loss/loss_reg"):
        check = check_by_id(result, check_id)
        assert check.status == "failed" and words in check.message, check.message


# Note [Parameters under other names]: a real COMP4471 package's FullyConnectedNet kept its
# weights as params['w1'], ... and its loss read those, never the installed W1, ...
LOWERCASE_WEIGHTS = '''

_CourseNet = FullyConnectedNet


class FullyConnectedNet(_CourseNet):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.params = {(k.lower() if k.startswith("W") else k): v for k, v in self.params.items()}

    def loss(self, X, y=None):
        own = self.params
        self.params = {("W" + k[1:] if k.startswith("w") else k): v for k, v in own.items()
                       if not k.startswith("W")}
        try:
            return super().loss(X, y)
        finally:
            self.params = own
'''


def test_weights_under_lowercase_names_are_named_in_scores_and_loss() -> None:
    result = grade_reference_with("classifiers/fc_net.py", LOWERCASE_WEIGHTS, ASSIGNMENT,
                                  "FullyConnectedNet and (scores or loss)")
    for check_id in ("FullyConnectedNet.loss/scores", "FullyConnectedNet.loss/loss"):
        check = check_by_id(result, check_id)
        assert check.status == "failed"
        assert "your model keeps parameters as ['w1', 'w2', 'w3']" in check.message, check.message


# Note [What could not cross the wire] in grader/checks/compare.py: params keyed by tuples.
TUPLE_KEYS = '''

_FullyConnectedNet = FullyConnectedNet


class FullyConnectedNet(_FullyConnectedNet):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.params = {(k[0], int(k[1:]) - 1): v for k, v in self.params.items()}
'''


def test_params_keyed_by_tuples_are_said_to_be_so() -> None:
    result = grade_reference_with("classifiers/fc_net.py", TUPLE_KEYS, ASSIGNMENT,
                                  "FullyConnectedNet and initial_loss")
    check = check_by_id(result, "FullyConnectedNet.loss/initial_loss")
    assert check.status == "failed"
    assert "model.params is <dict with non-string keys>, expected a dict" in check.message, \
        check.message
# -- Note [Normalization parameters without normalization] in checks.py -----------------------------

def _always_normalization_params(gamma: str = "np.ones(fan_out)", grads: bool = True) -> Path:
    """The reference, storing gamma{i}/beta{i} for every hidden layer whatever `normalization`
    says, with zero gradients for them when it is None (the Solver updates every parameter)
    unless `grads` is False."""
    package = copy_reference()
    apply_bug(package, Bug("always gamma and beta", FC_NET,
                           'if self.normalization is not None and i < self.num_layers:\n'
                           '                params[f"gamma{i}"] = np.ones(fan_out)',
                           'if i < self.num_layers:\n'
                           f'                params[f"gamma{{i}}"] = {gamma}', target=""))
    if not grads:
        return package
    apply_bug(package, Bug("zero gradients for them", FC_NET,
                           '            if self.normalization is not None:\n'
                           '                grads[f"gamma{i}"], grads[f"beta{i}"] = dgamma, dbeta',
                           '            if self.normalization is not None:\n'
                           '                grads[f"gamma{i}"], grads[f"beta{i}"] = dgamma, dbeta\n'
                           '            else:\n'
                           '                grads[f"gamma{i}"] = np.zeros_like(p[f"gamma{i}"])\n'
                           '                grads[f"beta{i}"] = np.zeros_like(p[f"beta{i}"])',
                           target=""))
    return package


def test_unused_normalization_parameters_at_their_initial_values_keep_full_marks():
    package = _always_normalization_params()
    try:
        result = grade(package, ASSIGNMENT)
    finally:
        shutil.rmtree(package.parent, ignore_errors=True)
    assert_full_marks(result)
    params = check_by_id(result, "FullyConnectedNet.__init__/params")
    assert any("a normalization's scale and shift at their initial values" in note
               for note in params.details.get("notes", [])), params.details


def test_a_normalization_scale_that_is_not_ones_still_fails_params():
    package = _always_normalization_params(gamma="np.zeros(fan_out)")
    try:
        result = grade(package, ASSIGNMENT)
    finally:
        shutil.rmtree(package.parent, ignore_errors=True)
    params = check_by_id(result, "FullyConnectedNet.__init__/params")
    assert params.points < params.max_points
    assert "params has keys" in params.message


def test_unused_normalization_parameters_without_gradients_fail_initial_loss():
    # the course's Solver would stop with a KeyError on grads['gamma1']
    package = _always_normalization_params(grads=False)
    try:
        result = grade(package, ASSIGNMENT)
    finally:
        shutil.rmtree(package.parent, ignore_errors=True)
    lost = {c.id: c for c in result.checks if c.points < c.max_points}
    assert set(lost) == {"FullyConnectedNet.loss/initial_loss"}, set(lost)
    assert "grads has no entry for them" in lost["FullyConnectedNet.loss/initial_loss"].message


def test_a_penalty_loop_that_ignores_its_index_is_named():
    """Note [A penalty loop that ignores its index]: a penalty holding one weight matrix once
    per layer loses the regularised loss checks with a message naming the loop."""
    bug = Bug("penalty loop reads one weight", "classifiers/fc_net.py",
              "loss = data_loss + _l2_penalty(p, weight_names, self.reg)",
              "loss = data_loss + sum(_l2_penalty(p, [weight_names[0]], self.reg)\n"
              "                                for _ in weight_names)",
              "FullyConnectedNet.loss")
    result = grade_bug(bug, ASSIGNMENT)
    for check_id in ("FullyConnectedNet.loss/loss_reg", "FullyConnectedNet.loss/initial_loss"):
        check = check_by_id(result, check_id)
        assert check.points < check.max_points
        assert "the penalty adds W1's term 3 times (once per layer)" in check.message, check.message
