"""The `pytorch` checks judge correctly both ways: full marks for a correct
submission (the assignment's solution, assignments/pytorch/solution/pytorch_nets.py,
a transcription of reference/torch_nets; and torch_solutions/pytorch_nets_alt.py),
points lost on the right checks, with the right message, for realistic student
mistakes (assignments/pytorch/mutants.py), and a clean zero for the starter code.

Every submission is graded through the real pipeline (staging, sandboxed
worker, pytest plugin), as `grade check` does.  Note [Bundled bugs] keeps the
number of worker starts at six, and only one bundle runs the training check.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from grader import assignment as assignments

from .conftest import (Bug, assert_bundle_caught, assert_bundles_partition, assert_full_marks,
                       assert_starter_scores_zero, bundle, grade, grade_file_with_bugs,
                       load_mutants, solution_path)

# Note [Framework assignment tests are slow]: every grading here starts a worker that
# imports torch and trains a model; `make test-slow` (and CI) runs them.
pytestmark = [pytest.mark.slow, pytest.mark.torch]

ASSIGNMENT = "pytorch"
ROOT = Path(__file__).resolve().parents[2]
SOLUTION = solution_path(ASSIGNMENT)  # assignments/pytorch/solution/pytorch_nets.py
ALTERNATIVE = Path(__file__).resolve().parent / "torch_solutions" / "pytorch_nets_alt.py"
STARTER = ROOT / "assignments" / "pytorch" / "starter" / "pytorch_nets.py"
FILE = "pytorch_nets.py"
# One real mistake each (assignments/pytorch/mutants.py, which `grade selftest` grades
# too), with a phrase the failing check's message must contain.
PHRASES = {
    "flatten: (D, N) instead of (N, D)": "shape",
    "two_layer_fc: input never flattened": "raised",
    "two_layer_fc: ReLU missing": "ReLU is missing",
    "three_layer_convnet: no padding, fc_w sliced": "no zero-padding",
    "random_weight: fan-out as fan-in": "fan-out",
    "random_weight: conv fan-in is C_in only": "C_in only",
    "random_weight: requires_grad before scaling (not a leaf)": "not a leaf",
    "zero_weight: no requires_grad": "requires_grad is False",
    "TwoLayerFC: ReLU missing": "entries differ",
    "ThreeLayerConvNet: Kaiming initialisation forgotten": "default initialisation",
    "ThreeLayerConvNet: second ReLU missing": "entries differ",
    "ThreeLayerConvNet: first conv without padding": "raised",
    "Sequential: flatten layer missing": "raised",
    "Sequential: random_weight on nn.Linear weights": "nn.Linear stores (D_out, D_in)",
    "Sequential: biases not zeroed": "biases start at zero",
    "TwoLayerFC: second layer keeps the default initialisation": "standard deviation",
}
BUGS = [(bug, PHRASES[bug.name]) for bug in load_mutants(ASSIGNMENT)]


# Note [Bundled bugs]
# Starting a worker imports torch (about 2 s, far more on a loaded machine), so
# bugs in *different* functions whose checks do not depend on each other are
# planted together in one copy and graded once.  That is as strict as grading
# them one by one: each bug's target must lose points with its own phrase, and
# no function outside the bundle's targets (and their `may_affect`) may lose
# any.  flatten is used by everything else, so its bug is graded alone.
BUNDLES = [
    ("flatten",),
    ("two_layer_fc: ReLU missing", "three_layer_convnet: no padding, fc_w sliced",
     "random_weight: fan-out as fan-in", "zero_weight: no requires_grad", "TwoLayerFC: ReLU missing",
     "ThreeLayerConvNet: Kaiming initialisation forgotten", "Sequential: flatten layer missing"),
    ("two_layer_fc: input never flattened", "random_weight: conv fan-in is C_in only",
     "ThreeLayerConvNet: second ReLU missing", "Sequential: biases not zeroed",
     "TwoLayerFC: second layer"),
    ("random_weight: requires_grad before scaling (not a leaf)",
     "ThreeLayerConvNet: first conv without padding", "Sequential: random_weight on nn.Linear"),
]


# The one bundle graded with the training check too (its model cannot even run
# forward, so the check fails fast); the others leave it out to save ~4 s each.
TRAINED = "ThreeLayerConvNet: first conv without padding"


def _bundle(names: tuple[str, ...]) -> list[tuple[Bug, str]]:
    return bundle(BUGS, names)


def grade_copy(bugs: list[Bug], select: str | None = None):
    return grade_file_with_bugs(SOLUTION, FILE, ASSIGNMENT, bugs, select)


def test_every_graded_function_has_a_bug() -> None:
    graded = {c.function for c in assignments.load(ASSIGNMENT).checks}
    assert graded <= {bug.target for bug, _ in BUGS}, sorted(graded - {bug.target for bug, _ in BUGS})


def test_every_phrase_names_a_bug() -> None:
    assert set(PHRASES) == {bug.name for bug, _ in BUGS}


def test_every_bug_is_in_exactly_one_bundle() -> None:
    assert_bundles_partition(BUGS, BUNDLES)


def test_reference_gets_full_marks() -> None:
    result = grade(SOLUTION, ASSIGNMENT)
    assert_full_marks(result)
    accuracy = next(c for c in result.checks if c.id == "ThreeLayerConvNet/accuracy")
    assert accuracy.details["device"] == "cpu"
    assert accuracy.details["accuracy"] >= accuracy.details["target"]


def test_correct_alternative_gets_full_marks() -> None:
    """Other idioms, other attribute names, the fc layer registered first; trains too."""
    assert_full_marks(grade_file_with_bugs(ALTERNATIVE, FILE, ASSIGNMENT, bugs=[]))


@pytest.mark.parametrize("names", BUNDLES, ids=[" + ".join(n) for n in BUNDLES])
def test_bugs_are_caught(names: tuple[str, ...]) -> None:
    bundle = _bundle(names)
    result = grade_copy([bug for bug, _ in bundle], None if TRAINED in names else "not accuracy")
    assert_bundle_caught(result, bundle)


def test_starter_scores_zero_and_every_message_says_not_implemented() -> None:
    assert_starter_scores_zero(grade(STARTER, ASSIGNMENT), "NotImplementedError", ("failed",))


# ---------------------------------------------------------------------------
# --data-dir: the accuracy check on an instructor's files (grader/checks/training_data.py)
# ---------------------------------------------------------------------------

def _digits_as_cifar10(folder: Path) -> Path:
    """A learnable CIFAR-10 in its real format: scikit-learn's digits (split as
    load_digits_dataset splits them, true labels) upsampled to 32 x 32 by repeating pixels,
    one tint per channel, pickled as data_batch_1..5, test_batch and batches.meta."""
    import pickle

    import numpy as np

    from reference.datasets import load_digits_dataset

    digits = load_digits_dataset(test_fraction=0.2, seed=0)
    tint = np.array([1.0, 0.8, 0.6], dtype=np.float32).reshape(1, 3, 1, 1)

    def rows(x):
        rgb = np.repeat(np.repeat(x, 4, axis=2), 4, axis=3) * tint
        return np.round(rgb * 255).astype(np.uint8).reshape(len(x), -1)

    folder.mkdir(parents=True)
    train, labels = rows(digits.X_train), digits.y_train
    for i, part in enumerate(np.array_split(np.arange(len(labels)), 5), start=1):
        (folder / f"data_batch_{i}").write_bytes(pickle.dumps(
            {b"data": train[part], b"labels": labels[part].tolist()}, protocol=2))
    (folder / "test_batch").write_bytes(pickle.dumps(
        {b"data": rows(digits.X_test), b"labels": digits.y_test.tolist()}, protocol=2))
    (folder / "batches.meta").write_bytes(pickle.dumps(
        {b"label_names": [str(d).encode() for d in range(10)]}, protocol=2))
    return folder


def _grade_cli(submission: Path, data: Path, cache: Path, out: Path):
    """`grade check SUBMISSION -a pytorch -k accuracy --data-dir DATA` in a subprocess:
    (exit status, stderr, the accuracy check's result as JSON)."""
    import json
    import os
    import subprocess

    run = subprocess.run([str(ROOT / ".venv" / "bin" / "grade"), "check", str(submission), "-a", ASSIGNMENT,
                          "-k", "accuracy", "--data-dir", str(data), "--json", str(out), "--no-html"],
                         capture_output=True, text=True, timeout=600,
                         env=dict(os.environ, XDG_CACHE_HOME=str(cache)))
    checks = json.loads(out.read_text())["checks"] if out.exists() else []
    return run.returncode, run.stderr, next((c for c in checks if c["id"] == "ThreeLayerConvNet/accuracy"), None)


def _readable_copy(text: str) -> Path:
    """The submission file in a fresh world-readable folder (the worker runs as another uid)."""
    import os
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="grader-test-pytorch-data-"))
    os.chmod(folder, 0o755)
    (folder / FILE).write_text(text)
    os.chmod(folder / FILE, 0o644)
    return folder / FILE


# A model that cannot learn: its "flatten" reshapes to (D, N) and transposes back, so
# every row mixes pixels of every image in the batch and no longer belongs to its label.
NO_LEARNING = ("return self.fc(flatten(x))", "return self.fc(x.reshape(-1, x.shape[0]).t())")


@pytest.fixture(scope="module")
def digits_cifar(tmp_path_factory) -> tuple[Path, Path]:
    """(the CIFAR-10 folder, an empty reference-run cache shared by the tests below)."""
    root = tmp_path_factory.mktemp("data-dir")
    return _digits_as_cifar10(root / "cifar-10-batches-py"), root / "cache"


def test_data_dir_reference_passes_relative_to_the_reference_run(digits_cifar, tmp_path):
    folder, cache = digits_cifar
    status, stderr, check = _grade_cli(SOLUTION, folder.parent, cache, tmp_path / "result.json")
    assert status == 0, stderr
    assert f"data: CIFAR-10 (python batches in {folder}): 1438 training and 359 test images" in stderr
    details = check["details"]
    assert check["status"] == "passed" and details["data_set"] == "CIFAR-10"
    assert (details["train_images"], details["test_images"], details["classes"]) == (1438, 359, 10)
    assert details["target_rule"] == "reference - 0.05"
    assert details["target"] == pytest.approx(details["reference_accuracy"] - 0.05)
    # Same initial weights, loop, images and seed on one thread: the solution's run is the
    # reference's run (Note [Accuracy check]).
    # (the reference's accuracy is stored rounded; two different runs would differ by >= 1/359)
    assert details["accuracy"] == pytest.approx(details["reference_accuracy"], abs=1e-6)
    assert details["accuracy"] > 0.9
    assert len(list(cache.glob("grader/reference-runs/*.json"))) == 1


def test_data_dir_model_that_does_not_learn_fails_naming_data_and_target(digits_cifar, tmp_path):
    folder, cache = digits_cifar
    text = SOLUTION.read_text()
    assert text.count(NO_LEARNING[0]) == 1
    buggy = _readable_copy(text.replace(*NO_LEARNING))
    trained_before = bool(list(cache.glob("grader/reference-runs/*.json")))
    try:
        status, stderr, check = _grade_cli(buggy, folder, cache, tmp_path / "result.json")
    finally:
        import shutil
        shutil.rmtree(buggy.parent, ignore_errors=True)
    assert status == 1, stderr
    details = check["details"]
    assert check["status"] == "failed" and details["accuracy"] < 0.2
    message = check["message"]
    assert "on 1438 CIFAR-10 training images" in message and "359 CIFAR-10 test images" in message
    assert f"expected at least {details['target']:.3f}" in message
    assert f"the reference model, trained the same way on the same images, reaches " \
           f"{details['reference_accuracy']:.3f}" in message
    # Run after the test above (as the file orders them), this process finds the reference's
    # run in the disk cache instead of training it again.
    assert details["reference_cached"] is trained_before
