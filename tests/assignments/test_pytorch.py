"""The `pytorch` checks judge correctly both ways: full marks for a correct
submission (torch_solutions/pytorch_nets.py, a transcription of
reference/torch_nets), points lost on the right checks, with the right message,
for realistic student mistakes, and a clean zero for the starter code.

Every submission is graded through the real pipeline (staging, sandboxed
worker, pytest plugin), as `grade check` does.  Note [Bundled bugs] keeps the
number of worker starts at six, and only one bundle runs the training check.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from grader import assignment as assignments

from .conftest import bundle, grade_file_with_bugs, Bug, apply_bug, assert_bug_caught, assert_full_marks, grade

# Note [Framework assignment tests are slow]: every grading here starts a worker that
# imports torch and trains a model; `make test-slow` (and CI) runs them.
pytestmark = [pytest.mark.slow, pytest.mark.torch]

ASSIGNMENT = "pytorch"
ROOT = Path(__file__).resolve().parents[2]
SOLUTION = Path(__file__).resolve().parent / "torch_solutions" / "pytorch_nets.py"
ALTERNATIVE = Path(__file__).resolve().parent / "torch_solutions" / "pytorch_nets_alt.py"
STARTER = ROOT / "assignments" / "pytorch" / "starter" / "pytorch_nets.py"
FILE = "pytorch_nets.py"
# Functions built on flatten: a broken flatten may cost their points too.
USES_FLATTEN = ("two_layer_fc", "three_layer_convnet", "TwoLayerFC", "ThreeLayerConvNet",
                "three_layer_convnet_sequential")

# One real mistake each, with a phrase the failing check's message must contain.
BUGS = [
    (Bug("flatten: (D, N) instead of (N, D)", FILE, "return x.view(N, -1)", "return x.view(-1, N)",
         "flatten", USES_FLATTEN), "shape"),
    (Bug("two_layer_fc: input never flattened", FILE, "    x = flatten(x)\n    w1, w2 = params\n",
         "    w1, w2 = params\n", "two_layer_fc"), "raised"),
    (Bug("two_layer_fc: ReLU missing", FILE, "x = F.relu(x.mm(w1))", "x = x.mm(w1)", "two_layer_fc"),
     "ReLU is missing"),
    # The notebook's own printed solution: no padding, fc_w sliced to fit.
    (Bug("three_layer_convnet: no padding, fc_w sliced", FILE,
         "    x = F.relu(F.conv2d(x, conv_w1, conv_b1, padding=2))\n"
         "    x = F.relu(F.conv2d(x, conv_w2, conv_b2, padding=1))\n"
         "    x = flatten(x)\n    return x.mm(fc_w) + fc_b",
         "    x = F.relu(F.conv2d(x, conv_w1, conv_b1))\n"
         "    x = F.relu(F.conv2d(x, conv_w2, conv_b2))\n"
         "    x = flatten(x)\n    return x.mm(fc_w[:x.size(1), :]) + fc_b", "three_layer_convnet"),
     "no zero-padding"),
    (Bug("random_weight: fan-out as fan-in", FILE, "        fan_in = shape[0]", "        fan_in = shape[1]",
         "random_weight"), "fan-out"),
    (Bug("random_weight: conv fan-in is C_in only", FILE, "fan_in = math.prod(shape[1:])",
         "fan_in = shape[1]", "random_weight"), "C_in only"),
    (Bug("random_weight: requires_grad before scaling (not a leaf)", FILE,
         "w = torch.randn(shape, dtype=dtype) * math.sqrt(2.0 / fan_in)\n    w.requires_grad = True",
         "w = torch.randn(shape, dtype=dtype, requires_grad=True) * math.sqrt(2.0 / fan_in)",
         "random_weight"), "not a leaf"),
    (Bug("zero_weight: no requires_grad", FILE,
         "return torch.zeros(shape, dtype=dtype, requires_grad=True)",
         "return torch.zeros(shape, dtype=dtype)", "zero_weight"), "requires_grad is False"),
    (Bug("TwoLayerFC: ReLU missing", FILE, "return self.fc2(F.relu(self.fc1(x)))",
         "return self.fc2(self.fc1(x))", "TwoLayerFC"), "entries differ"),
    (Bug("ThreeLayerConvNet: Kaiming initialisation forgotten", FILE,
         "        nn.init.kaiming_normal_(self.conv1.weight)\n"
         "        nn.init.kaiming_normal_(self.conv2.weight)\n"
         "        nn.init.kaiming_normal_(self.fc.weight)\n", "", "ThreeLayerConvNet"),
     "default initialisation"),
    (Bug("ThreeLayerConvNet: second ReLU missing", FILE, "x = F.relu(self.conv2(x))", "x = self.conv2(x)",
         "ThreeLayerConvNet"), "entries differ"),
    (Bug("ThreeLayerConvNet: first conv without padding", FILE,
         "nn.Conv2d(in_channel, channel_1, kernel_size=5, padding=2)",
         "nn.Conv2d(in_channel, channel_1, kernel_size=5)", "ThreeLayerConvNet"), "raised"),
    (Bug("Sequential: flatten layer missing", FILE, "        Flatten(),\n", "",
         "three_layer_convnet_sequential"),
     "raised"),
    # The notebook says "use random_weight"; on nn.Linear's (D_out, D_in) weight it reads
    # D_out as the fan-in (Note [Fan-in of a barebones weight] in reference/torch_nets).
    (Bug("Sequential: random_weight on nn.Linear weights", FILE,
         "            nn.init.kaiming_normal_(layer.weight)\n            nn.init.zeros_(layer.bias)",
         "            with torch.no_grad():\n"
         "                layer.weight.copy_(random_weight(tuple(layer.weight.shape)))\n"
         "            nn.init.zeros_(layer.bias)", "three_layer_convnet_sequential"),
     "nn.Linear stores (D_out, D_in)"),
    (Bug("Sequential: biases not zeroed", FILE, "            nn.init.zeros_(layer.bias)\n", "",
         "three_layer_convnet_sequential"), "biases start at zero"),
]


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
     "ThreeLayerConvNet: second ReLU missing", "Sequential: biases not zeroed"),
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


def test_every_bug_is_in_exactly_one_bundle() -> None:
    counts = {bug.name: sum(any(bug.name.startswith(n) for n in names) for names in BUNDLES)
              for bug, _ in BUGS}
    assert all(count == 1 for count in counts.values()), counts
    for names in BUNDLES:
        targets = [bug.target for bug, _ in _bundle(names)]
        assert len(targets) == len(set(targets)), names


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
    targets = {bug.target for bug, _ in bundle}
    result = grade_copy([bug for bug, _ in bundle], None if TRAINED in names else "not accuracy")
    lost = [c for c in result.checks if c.points < c.max_points]
    assert all(c.status == "failed" for c in lost), {c.id: (c.status, c.message) for c in lost}
    allowed = targets | {f for bug, _ in bundle for f in bug.may_affect}
    for bug, phrase in bundle:
        assert_bug_caught(result, Bug(bug.name, bug.file, bug.old, bug.new, bug.target,
                                      tuple(allowed - {bug.target})))
        assert any(phrase in c.message for c in lost if c.function == bug.target), (
            f"no failing check of {bug.target} says {phrase!r}:\n"
            + "\n---\n".join(c.message for c in lost if c.function == bug.target))


def test_starter_scores_zero_and_every_message_says_not_implemented() -> None:
    result = grade(STARTER, ASSIGNMENT)
    assert result.status == "graded", result.message
    assert result.score == 0
    for check in result.checks:
        assert check.status == "failed", (check.id, check.status, check.message)
        assert "NotImplementedError" in check.message, (check.id, check.message)
