"""The `pytorch` checks judge the course's notebook correctly both ways.

Every submission is a notebook in the course's cell layout (tests/assignments/
course_notebooks.py): full marks for the solution (ECE's `ece662` import with its Colab
cell), for other course years (the `ece697ls` import; cs231n's CIFAR-10 notebook with
torchvision loaders and 10 classes, no Colab cell) and for correct code written another
way; zero for the untouched course notebook; and points lost on the right check, with the
right message, for realistic mistakes (assignments/pytorch/mutants.py).  The functions
are graded from the notebook's definitions, the inline Sequential model by observing
train_part34 (Note [The observed Sequential model] in assignments/pytorch/checks.py).

Every submission is graded through the real pipeline (staging, sandboxed worker, pytest
plugin), as `grade check` does.  Note [Bundled bugs] keeps the number of gradings down.
"""

from __future__ import annotations

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
# imports torch, runs the notebook and trains models; `make test-slow` (and CI) runs them.
pytestmark = [pytest.mark.slow, pytest.mark.torch]

ASSIGNMENT = "pytorch"
ROOT = Path(__file__).resolve().parents[2]
SOLUTION = solution_path(ASSIGNMENT)  # assignments/pytorch/solution/Q5-Pytorch.ipynb
STARTER = ROOT / "assignments" / "pytorch" / "starter" / course_notebooks.PYTORCH_NOTEBOOK
FILE = course_notebooks.PYTORCH_NOTEBOOK
# One real mistake each (assignments/pytorch/mutants.py, which `grade selftest` grades
# too), with a phrase the failing check's message must contain.
PHRASES = {
    "three_layer_convnet: no padding, fc_w sliced": "no zero-padding",
    "three_layer_convnet: first conv without padding": "raised",
    "three_layer_convnet: F.linear with the (D, C) fc_w": "fc_w is used transposed",
    "three_layer_convnet: its own conv layer (params ignored)": "a layer built inside the function",
    "three_layer_convnet: second ReLU missing": "the ReLU after the second convolution is missing",
    "three_layer_convnet: max pooling added": "2 times smaller in each dimension",
    "ThreeLayerConvNet: max pooling, fc sized for it": "4 times smaller in each dimension",
    "ThreeLayerConvNet: Kaiming initialisation forgotten": "default initialisation",
    "ThreeLayerConvNet: Kaiming with mode='fan_out'": "mode='fan_out'",
    "ThreeLayerConvNet: second ReLU missing": "the ReLU after the second convolution is missing",
    "ThreeLayerConvNet: first conv without padding": "raised",
    "ThreeLayerConvNet: ten classes written in (num_classes unused)": "num_classes is not used",
    "ThreeLayerConvNet: three input channels written in (in_channel unused)": "in_channel is not used",
    "Sequential: first ReLU missing": "the ReLU after the first convolution is missing",
    "Sequential: layer order (both ReLUs after the second conv)": "entries differ",
    "Sequential: flattens the batch axis too": "raised",
    "Sequential: random_weight on nn.Linear weights": "nn.Linear stores (D_out, D_in)",
    "Sequential: biases not zeroed": "starts biases at zero",
    "Sequential: PyTorch's default initialisation": "default initialisation",
}
BUGS = [(bug, PHRASES[bug.name]) for bug in load_mutants(ASSIGNMENT)]

# Note [Bundled bugs]
# Each grading starts a worker that imports torch and, when a Sequential check runs,
# executes the notebook, so bugs in *different* graded functions are planted together in
# one copy and graded once.  That is as strict as grading them one by one: each bug's
# target must lose points with its own phrase, and no function outside the bundle's
# targets may lose any.  Only the first bundle runs the training checks.
BUNDLES = [
    ("three_layer_convnet: no padding", "ThreeLayerConvNet: Kaiming initialisation forgotten",
     "Sequential: first ReLU missing"),
    ("three_layer_convnet: second ReLU", "ThreeLayerConvNet: Kaiming with mode", "Sequential: layer order"),
    ("three_layer_convnet: first conv without", "ThreeLayerConvNet: second ReLU",
     "Sequential: flattens the batch"),
    ("ThreeLayerConvNet: first conv without padding", "Sequential: random_weight on nn.Linear",
     "three_layer_convnet: F.linear"),
    ("Sequential: biases not zeroed", "ThreeLayerConvNet: ten classes written in"),
    ("Sequential: PyTorch's default", "three_layer_convnet: max pooling", "ThreeLayerConvNet: max pooling"),
    ("ThreeLayerConvNet: three input channels", "three_layer_convnet: its own conv layer"),
]
TRAINED = "Sequential: first ReLU missing"


def test_every_graded_function_has_a_bug() -> None:
    graded = {c.function for c in assignments.load(ASSIGNMENT).checks}
    assert graded <= {bug.target for bug, _ in BUGS}, sorted(graded - {bug.target for bug, _ in BUGS})


def test_every_phrase_names_a_bug() -> None:
    assert set(PHRASES) == {bug.name for bug, _ in BUGS}


def test_every_bug_is_in_exactly_one_bundle() -> None:
    assert_bundles_partition(BUGS, BUNDLES)


def test_the_committed_notebooks_are_what_the_builder_makes(tmp_path) -> None:
    for solved, path in ((True, SOLUTION), (False, STARTER)):
        made = course_notebooks.write(course_notebooks.pytorch_cells(solved), tmp_path / FILE)
        assert made.read_text() == path.read_text(), f"{path}: rerun python -m tests.assignments.course_notebooks"


def _notebook(cells, name: str = FILE) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="grader-test-pytorch-nb-"))
    os.chmod(folder, 0o755)
    return course_notebooks.write(cells, folder / name)


def test_solution_gets_full_marks_with_the_sequential_model_observed() -> None:
    result = grade(SOLUTION, ASSIGNMENT)
    assert_full_marks(result)
    by_id = {c.id: c for c in result.checks}
    assert by_id["Sequential/accuracy"].details["sizes"] == [3, 32, 16, 6]
    accuracy = by_id["Sequential/accuracy"].details
    assert accuracy["accuracy"] >= accuracy["target"] > 0.5
    assert by_id["Sequential/init"].details["layer1"]["variant"] == "fan_in"
    notes = "\n".join(result.notes)
    assert "grading by observation" in notes  # the notebook was executed once, for Sequential


@pytest.mark.parametrize("year", ["ece697ls", "cs231n"])
def test_other_course_years_get_full_marks(year) -> None:
    """ECE's other package name; cs231n's CIFAR-10 notebook: torchvision loaders, 10 classes,
    no Colab cell."""
    cells = (course_notebooks.pytorch_cells(True, package="ece697ls") if year == "ece697ls" else
             course_notebooks.pytorch_cells(True, package="cs231n", classes=10, colab=False,
                                            data="torchvision"))
    path = _notebook(cells, "PyTorch.ipynb" if year == "cs231n" else FILE)
    try:
        result = grade(path, ASSIGNMENT, select="not ThreeLayerConvNet")
        assert_full_marks(result)
        if year == "cs231n":
            assert next(c for c in result.checks if c.id == "Sequential/out").status == "passed"
            details = next(c for c in result.checks if c.id == "Sequential/accuracy").details
            assert details["classes"] == 10
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)


# Correct work written another way: the Sequential built from an OrderedDict with
# nn.Flatten, its conv weights drawn by the course's random_weight and biases by
# zero_weight (as the notebook suggests), the Linear by kaiming_normal_ with
# nonlinearity='relu'; ThreeLayerConvNet registering its Linear first and flattening
# with x.flatten(1).
ALTERNATIVES = [
    ("model = nn.Sequential(\n"
     "    nn.Conv2d(3, channel_1, kernel_size=5, padding=2),\n"
     "    nn.ReLU(),\n"
     "    nn.Conv2d(channel_1, channel_2, kernel_size=3, padding=1),\n"
     "    nn.ReLU(),\n"
     "    Flatten(),\n",
     "from collections import OrderedDict\n"
     "model = nn.Sequential(OrderedDict([\n"
     "    ('conv1', nn.Conv2d(3, channel_1, kernel_size=5, padding=2)),\n"
     "    ('relu1', nn.ReLU()),\n"
     "    ('conv2', nn.Conv2d(channel_1, channel_2, kernel_size=3, padding=1)),\n"
     "    ('relu2', nn.ReLU()),\n"
     "    ('flatten', nn.Flatten()),\n"),
    ("    nn.Linear(channel_2 * 32 * 32, 6),\n)\nfor layer in model:\n"
     "    if isinstance(layer, (nn.Conv2d, nn.Linear)):\n"
     "        nn.init.kaiming_normal_(layer.weight)\n"
     "        nn.init.zeros_(layer.bias)\n",
     "    ('fc', nn.Linear(channel_2 * 32 * 32, 6)),\n]))\n"
     "with torch.no_grad():\n"
     "    for conv in (model.conv1, model.conv2):\n"
     "        conv.weight.copy_(random_weight(tuple(conv.weight.shape)))\n"
     "        conv.bias.copy_(zero_weight(tuple(conv.bias.shape)))\n"
     "    nn.init.kaiming_normal_(model.fc.weight, nonlinearity='relu')\n"
     "    model.fc.bias.zero_()\n"),
    ("        self.conv1 = nn.Conv2d(in_channel, channel_1, kernel_size=5, padding=2)\n",
     "        self.fc = nn.Linear(channel_2 * 32 * 32, num_classes)\n"
     "        self.conv1 = nn.Conv2d(in_channel, channel_1, kernel_size=5, padding=2)\n"),
    ("        self.fc = nn.Linear(channel_2 * 32 * 32, num_classes)\n        for layer",
     "        for layer"),
    ("        scores = self.fc(flatten(hidden))\n", "        scores = self.fc(hidden.flatten(1))\n"),
]


# More correct work written another way, one grading each: torch.flatten(x, 1) as the
# notebook's flatten; three_layer_convnet with padding tuples, torch.relu / clamp(min=0) and
# torch.matmul on a reshape; ThreeLayerConvNet with (5, 5) kernel tuples, nn.ReLU(inplace=True)
# and nn.Flatten modules, kaiming_normal_(nonlinearity='relu') and constant_ biases; the
# Sequential with padding='same', in-place ReLUs, nn.Flatten and the course's random_weight /
# zero_weight assigned through .data (the Linear's drawn as (D_in, D_out) and transposed).
ALTERNATIVES_FUNCTIONAL = [
    ('    return x.view(N, -1)  # one row of C * H * W values per image\n',
     '    return torch.flatten(x, 1)\n'),
    ('    hidden = F.relu(F.conv2d(x, conv_w1, conv_b1, padding=2))\n'
     '    hidden = F.relu(F.conv2d(hidden, conv_w2, conv_b2, padding=1))\n'
     '    scores = flatten(hidden).mm(fc_w) + fc_b\n',
     '    N = x.shape[0]\n'
     '    x1 = F.conv2d(x, conv_w1, bias=conv_b1, padding=(2, 2))\n'
     '    r1 = torch.relu(x1)\n'
     '    x2 = F.conv2d(r1, conv_w2, bias=conv_b2, stride=1, padding=(1, 1))\n'
     '    r2 = x2.clamp(min=0)\n'
     '    scores = torch.matmul(r2.reshape(N, -1), fc_w) + fc_b\n'),
    ('        self.conv1 = nn.Conv2d(in_channel, channel_1, kernel_size=5, padding=2)\n'
     '        self.conv2 = nn.Conv2d(channel_1, channel_2, kernel_size=3, padding=1)\n'
     '        self.fc = nn.Linear(channel_2 * 32 * 32, num_classes)\n'
     '        for layer in (self.conv1, self.conv2, self.fc):\n'
     '            nn.init.kaiming_normal_(layer.weight)\n',
     '        self.conv1 = nn.Conv2d(in_channel, channel_1, (5, 5), padding=(2, 2), bias=True)\n'
     "        nn.init.kaiming_normal_(self.conv1.weight, nonlinearity='relu')\n"
     '        nn.init.constant_(self.conv1.bias, 0)\n'
     '        self.relu1 = nn.ReLU(inplace=True)\n'
     '        self.conv2 = nn.Conv2d(channel_1, channel_2, (3, 3), padding=(1, 1), bias=True)\n'
     "        nn.init.kaiming_normal_(self.conv2.weight, nonlinearity='relu')\n"
     '        nn.init.constant_(self.conv2.bias, 0)\n'
     '        self.relu2 = nn.ReLU(inplace=True)\n'
     '        self.flatten = nn.Flatten()\n'
     '        self.fc3 = nn.Linear(channel_2 * 32 * 32, num_classes)\n'
     "        nn.init.kaiming_normal_(self.fc3.weight, nonlinearity='relu')\n"
     '        nn.init.constant_(self.fc3.bias, 0)\n'),
    ('        hidden = F.relu(self.conv1(x))\n'
     '        hidden = F.relu(self.conv2(hidden))\n'
     '        scores = self.fc(flatten(hidden))\n',
     '        x = self.relu1(self.conv1(x))\n'
     '        x = self.relu2(self.conv2(x))\n'
     '        x = self.flatten(x)\n'
     '        scores = self.fc3(x)\n'),
    ('model = nn.Sequential(\n'
     '    nn.Conv2d(3, channel_1, kernel_size=5, padding=2),\n'
     '    nn.ReLU(),\n'
     '    nn.Conv2d(channel_1, channel_2, kernel_size=3, padding=1),\n'
     '    nn.ReLU(),\n'
     '    Flatten(),\n',
     'model = nn.Sequential(\n'
     "    nn.Conv2d(3, channel_1, kernel_size=5, padding='same'),\n"
     '    nn.ReLU(inplace=True),\n'
     "    nn.Conv2d(channel_1, channel_2, kernel_size=3, padding='same'),\n"
     '    nn.ReLU(inplace=True),\n'
     '    nn.Flatten(),\n'),
    ('for layer in model:\n'
     '    if isinstance(layer, (nn.Conv2d, nn.Linear)):\n'
     '        nn.init.kaiming_normal_(layer.weight)\n'
     '        nn.init.zeros_(layer.bias)\n',
     'model[0].weight.data = random_weight(model[0].weight.size())\n'
     'model[0].bias.data = zero_weight(model[0].bias.size())\n'
     'model[2].weight.data = random_weight(model[2].weight.size())\n'
     'model[2].bias.data = zero_weight(model[2].bias.size())\n'
     'model[5].weight.data = random_weight((channel_2 * 32 * 32, 6)).t()\n'
     'model[5].bias.data = zero_weight(6)\n'),
]
# x.view(x.size(0), -1) as flatten; F.conv2d with positional stride and padding and `@`;
# ThreeLayerConvNet as an inner nn.Sequential initialised over self.modules(); the Sequential
# initialised by model.apply.
ALTERNATIVES_NESTED = [
    ('    return x.view(N, -1)  # one row of C * H * W values per image\n',
     '    return x.view(x.size(0), -1)\n'),
    ('    hidden = F.relu(F.conv2d(x, conv_w1, conv_b1, padding=2))\n'
     '    hidden = F.relu(F.conv2d(hidden, conv_w2, conv_b2, padding=1))\n'
     '    scores = flatten(hidden).mm(fc_w) + fc_b\n',
     '    conv1 = F.conv2d(x, conv_w1, conv_b1, 1, 2)\n'
     '    relu1 = F.relu(conv1)\n'
     '    conv2 = F.conv2d(relu1, conv_w2, conv_b2, 1, 1)\n'
     '    relu2 = F.relu(conv2)\n'
     '    scores = relu2.view(relu2.shape[0], -1) @ fc_w + fc_b\n'),
    ('        self.conv1 = nn.Conv2d(in_channel, channel_1, kernel_size=5, padding=2)\n'
     '        self.conv2 = nn.Conv2d(channel_1, channel_2, kernel_size=3, padding=1)\n'
     '        self.fc = nn.Linear(channel_2 * 32 * 32, num_classes)\n'
     '        for layer in (self.conv1, self.conv2, self.fc):\n'
     '            nn.init.kaiming_normal_(layer.weight)\n',
     '        self.layers = nn.Sequential(\n'
     '            nn.Conv2d(in_channel, channel_1, kernel_size=5, padding=2),\n'
     '            nn.ReLU(),\n'
     '            nn.Conv2d(channel_1, channel_2, kernel_size=3, padding=1),\n'
     '            nn.ReLU(),\n'
     '            nn.Flatten(),\n'
     '            nn.Linear(channel_2 * 32 * 32, num_classes),\n'
     '        )\n'
     '        for m in self.modules():\n'
     '            if isinstance(m, (nn.Conv2d, nn.Linear)):\n'
     '                nn.init.kaiming_normal_(m.weight)\n'
     '                nn.init.zeros_(m.bias)\n'),
    ('        hidden = F.relu(self.conv1(x))\n'
     '        hidden = F.relu(self.conv2(hidden))\n'
     '        scores = self.fc(flatten(hidden))\n',
     '        scores = self.layers(x)\n'),
    ('for layer in model:\n'
     '    if isinstance(layer, (nn.Conv2d, nn.Linear)):\n'
     '        nn.init.kaiming_normal_(layer.weight)\n'
     '        nn.init.zeros_(layer.bias)\n',
     'def init_weights(m):\n'
     '    if type(m) in [nn.Conv2d, nn.Linear]:\n'
     '        nn.init.kaiming_normal_(m.weight.data)\n'
     '        m.bias.data.fill_(0.0)\n'
     'model.apply(init_weights)\n'),
]
# ThreeLayerConvNet with padding='same', kaiming_normal_(a=0, mode='fan_in',
# nonlinearity='relu'), nn.functional.relu and torch.flatten(x, start_dim=1).
ALTERNATIVES_SAME = [
    ('        self.conv1 = nn.Conv2d(in_channel, channel_1, kernel_size=5, padding=2)\n'
     '        self.conv2 = nn.Conv2d(channel_1, channel_2, kernel_size=3, padding=1)\n'
     '        self.fc = nn.Linear(channel_2 * 32 * 32, num_classes)\n'
     '        for layer in (self.conv1, self.conv2, self.fc):\n'
     '            nn.init.kaiming_normal_(layer.weight)\n',
     "        self.conv1 = nn.Conv2d(in_channel, channel_1, kernel_size=5, padding='same')\n"
     "        self.conv2 = nn.Conv2d(channel_1, channel_2, kernel_size=3, padding='same')\n"
     '        self.fc = nn.Linear(channel_2 * 32 * 32, num_classes)\n'
     "        nn.init.kaiming_normal_(self.conv1.weight, a=0, mode='fan_in', nonlinearity='relu')\n"
     "        nn.init.kaiming_normal_(self.conv2.weight, a=0, mode='fan_in', nonlinearity='relu')\n"
     "        nn.init.kaiming_normal_(self.fc.weight, a=0, mode='fan_in', nonlinearity='relu')\n"
     '        nn.init.zeros_(self.conv1.bias)\n'
     '        nn.init.zeros_(self.conv2.bias)\n'
     '        nn.init.zeros_(self.fc.bias)\n'),
    ('        hidden = F.relu(self.conv1(x))\n'
     '        hidden = F.relu(self.conv2(hidden))\n'
     '        scores = self.fc(flatten(hidden))\n',
     '        x = nn.functional.relu(self.conv1(x))\n'
     '        x = nn.functional.relu(self.conv2(x))\n'
     '        scores = self.fc(torch.flatten(x, start_dim=1))\n'),
]


# TwoLayerFC as an nn.ModuleList initialised in a loop, with an in-place relu_ and
# torch.flatten(x, 1); ThreeLayerConvNet with its convolutions in an nn.ModuleList, initialised
# over named_parameters(), run through F.relu(..., inplace=True), torch.relu_ and F.linear on the
# Linear's own weight and bias.
ALTERNATIVES_MODULES = [
    ('        self.fc1 = nn.Linear(input_size, hidden_size)\n'
     '        nn.init.kaiming_normal_(self.fc1.weight)\n'
     '        self.fc2 = nn.Linear(hidden_size, num_classes)\n'
     '        nn.init.kaiming_normal_(self.fc2.weight)\n',
     '        self.layers = nn.ModuleList([nn.Linear(input_size, hidden_size),\n'
     '                                     nn.Linear(hidden_size, num_classes)])\n'
     '        for layer in self.layers:\n'
     '            nn.init.kaiming_normal_(layer.weight)\n'),
    ('        x = flatten(x)\n'
     '        scores = self.fc2(F.relu(self.fc1(x)))\n',
     '        x = torch.flatten(x, 1)\n'
     '        x = self.layers[0](x).relu_()\n'
     '        scores = self.layers[1](x)\n'),
    ('        self.conv1 = nn.Conv2d(in_channel, channel_1, kernel_size=5, padding=2)\n'
     '        self.conv2 = nn.Conv2d(channel_1, channel_2, kernel_size=3, padding=1)\n'
     '        self.fc = nn.Linear(channel_2 * 32 * 32, num_classes)\n'
     '        for layer in (self.conv1, self.conv2, self.fc):\n'
     '            nn.init.kaiming_normal_(layer.weight)\n',
     '        self.convs = nn.ModuleList([\n'
     '            nn.Conv2d(in_channel, channel_1, kernel_size=5, padding=2),\n'
     '            nn.Conv2d(channel_1, channel_2, kernel_size=3, padding=1)])\n'
     '        self.fc = nn.Linear(channel_2 * 32 * 32, num_classes)\n'
     '        for name, p in self.named_parameters():\n'
     "            if name.endswith('weight'):\n"
     '                nn.init.kaiming_normal_(p)\n'
     '            else:\n'
     '                nn.init.zeros_(p)\n'),
    ('        hidden = F.relu(self.conv1(x))\n'
     '        hidden = F.relu(self.conv2(hidden))\n'
     '        scores = self.fc(flatten(hidden))\n',
     '        x = F.relu(self.convs[0](x), inplace=True)\n'
     '        x = torch.relu_(self.convs[1](x))\n'
     '        scores = F.linear(torch.flatten(x, 1), self.fc.weight, self.fc.bias)\n'),
]


@pytest.mark.parametrize("alternatives", [ALTERNATIVES, ALTERNATIVES_FUNCTIONAL, ALTERNATIVES_NESTED,
                                          ALTERNATIVES_SAME, ALTERNATIVES_MODULES],
                         ids=["ordered-dict", "functional", "nested", "same-padding", "modules"])
def test_correct_alternative_gets_full_marks(alternatives) -> None:
    bugs = [Bug(f"alternative {n}", FILE, old, new, "") for n, (old, new) in enumerate(alternatives)]
    assert_full_marks(grade_file_with_bugs(SOLUTION, FILE, ASSIGNMENT, bugs))


@pytest.mark.parametrize("names", BUNDLES, ids=[" + ".join(n) for n in BUNDLES])
def test_bugs_are_caught(names: tuple[str, ...]) -> None:
    planted = bundle(BUGS, names)
    trained = any(bug.name == TRAINED for bug, _ in planted)
    result = grade_file_with_bugs(SOLUTION, FILE, ASSIGNMENT, [bug for bug, _ in planted],
                                  None if trained else "not accuracy")
    assert_bundle_caught(result, planted)


def test_model_output_checks_name_the_mistake_behind_the_difference() -> None:
    """Note [A ReLU missing from a model]: which ReLU a model left out; Note [Sizes written into the
    model, seen when weights are copied]: a class count written in, where the grader's weights
    could not be copied (real cs231n 2020 and 2024 notebooks)."""
    bugs = {bug.name: bug for bug, _ in BUGS}
    result = grade_file_with_bugs(SOLUTION, FILE, ASSIGNMENT,
                                  [bugs["Sequential: first ReLU missing"],
                                   bugs["ThreeLayerConvNet: ten classes written in (num_classes unused)"]],
                                  "out and not three_layer_convnet")
    checks = {c.id: c for c in result.checks}
    sequential, module = checks["Sequential/out"], checks["ThreeLayerConvNet/out"]
    assert sequential.points == 0 and "the ReLU after the first convolution is missing" in sequential.message
    assert module.points == 0
    assert "\nlooks like: num_classes is not used: the layers have 10 outputs where num_classes=6" in module.message


def test_the_courses_torch_version_assert_does_not_cost_the_sequential_points() -> None:
    """cs231n 2020 opens the notebook with an assert on torch.__version__ (1.4-1.6) before its
    imports: the grader's torch fails it, and the imports after it must still run (Note
    [Version asserts] in grader/worker/notebook_cells.py)."""
    pinned = Bug("the course's version assert", FILE, "import torch\nimport torch.nn as nn\n",
                 "import torch\nassert '.'.join(torch.__version__.split('.')[:2]) in "
                 "['1.4','1.5','1.6']\nimport torch.nn as nn\n", "")
    result = grade_file_with_bugs(SOLUTION, FILE, ASSIGNMENT, [pinned], "Sequential and not accuracy")
    assert_full_marks(result)
    assert any("version check `assert '.'.join(torch.__version__" in note for note in result.notes)


def test_the_2021_edition_leaves_the_sequential_init_rule_out() -> None:
    """Note [Assigned parts] in grader/scoring/assignment.py: cs231n's notebooks of 2021 and
    later let the Sequential ConvNet keep PyTorch's default initialisation; ECE562's (the
    default) ask for random_weight, and a failure says how a 2021 course grades it."""
    bug = next(b for b, _ in BUGS if b.name == "Sequential: PyTorch's default initialisation")
    as_ece = grade_file_with_bugs(SOLUTION, FILE, ASSIGNMENT, [bug], "Sequential and not accuracy")
    lost = {c.id: c for c in as_ece.checks if c.points < c.max_points}
    assert set(lost) == {"Sequential/init", "Sequential/init_fan_in"}
    assert all("--convention sequential_init=default" in c.hint for c in lost.values())
    as_2021 = grade_file_with_bugs(SOLUTION, FILE, ASSIGNMENT, [bug], "Sequential and not accuracy",
                                   {"sequential_init": "default"})
    assert_full_marks(as_2021)
    assert [c.id for c in as_2021.checks] == ["Sequential/out"]


def test_fan_out_and_gain_1_keep_half_the_init_points() -> None:
    """Note [Kaiming variants]: init passes, init_fan_in fails saying which variant it was."""
    for old, new, says in (("            nn.init.kaiming_normal_(layer.weight)\n",
                            "            nn.init.kaiming_normal_(layer.weight, mode='fan_out')\n", "fan_out"),
                           ("            nn.init.kaiming_normal_(layer.weight)\n",
                            "            nn.init.kaiming_normal_(layer.weight, nonlinearity='linear')\n",
                            "gain 1")):
        result = grade_file_with_bugs(SOLUTION, FILE, ASSIGNMENT, [Bug(says, FILE, old, new, "")],
                                      "ThreeLayerConvNet and init")
        by_id = {c.id: c for c in result.checks}
        assert by_id["ThreeLayerConvNet/init"].status == "passed", by_id["ThreeLayerConvNet/init"].message
        assert by_id["ThreeLayerConvNet/init_fan_in"].status == "failed"
        assert says in by_id["ThreeLayerConvNet/init_fan_in"].message
        assert result.score == result.max_score / 2


def test_untouched_course_notebook_scores_zero_with_a_message_per_check() -> None:
    result = grade(STARTER, ASSIGNMENT)
    assert result.status == "graded", result.message
    assert result.score == 0
    for check in result.checks:
        assert check.status == "failed", (check.id, check.status, check.message)
        assert check.message.strip() and "internal grader error" not in check.message, check.id
    sequential = next(c for c in result.checks if c.id == "Sequential/out")
    assert "none of the models passed to train_part34 is an nn.Sequential" in sequential.message


def test_a_failing_sequential_cell_is_named() -> None:
    bug = Bug("undefined layer", FILE, "    nn.Conv2d(3, channel_1, kernel_size=5, padding=2),\n",
              "    nn.Conv2D(3, channel_1, kernel_size=5, padding=2),\n", "Sequential")
    result = grade_file_with_bugs(SOLUTION, FILE, ASSIGNMENT, [bug], "Sequential and out")
    check = next(c for c in result.checks if c.id == "Sequential/out")
    assert check.status == "failed"
    assert "AttributeError" in check.message and "cell" in check.message, check.message


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
    """`grade check SUBMISSION -a pytorch -k "ThreeLayerConvNet and accuracy" --data-dir DATA`
    in a subprocess: (exit status, stderr, the accuracy check's result as JSON)."""
    import json
    import subprocess

    run = subprocess.run([str(ROOT / ".venv" / "bin" / "grade"), "check", str(submission), "-a", ASSIGNMENT,
                          "-k", "ThreeLayerConvNet and accuracy", "--data-dir", str(data), "--json", str(out),
                          "--no-html"],
                         capture_output=True, text=True, timeout=600,
                         env=dict(os.environ, XDG_CACHE_HOME=str(cache)))
    checks = json.loads(out.read_text())["checks"] if out.exists() else []
    return run.returncode, run.stderr, next((c for c in checks if c["id"] == "ThreeLayerConvNet/accuracy"), None)


def _readable_copy(text: str) -> Path:
    """The submission notebook in a fresh world-readable folder (the worker runs as another uid)."""
    folder = Path(tempfile.mkdtemp(prefix="grader-test-pytorch-data-"))
    os.chmod(folder, 0o755)
    (folder / FILE).write_text(text)
    os.chmod(folder / FILE, 0o644)
    return folder / FILE


# A model that cannot learn: its "flatten" reshapes to (D, N) and transposes back, so
# every row mixes pixels of every image in the batch and no longer belongs to its label.
NO_LEARNING = ("self.fc(flatten(hidden))", "self.fc(hidden.reshape(-1, hidden.shape[0]).t())")


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
        shutil.rmtree(buggy.parent, ignore_errors=True)
    assert status == 1, stderr
    details = check["details"]
    assert check["status"] == "failed" and details["accuracy"] < 0.2
    message = check["message"]
    assert "on 1438 CIFAR-10 training images" in message and "359 CIFAR-10 test images" in message
    assert f"expected at least {details['target']:.3f}" in message
    assert f"the reference model, trained the same way on the same images, reaches " \
           f"{details['reference_accuracy']:.3f}" in message
    assert details["reference_cached"] is trained_before


def test_a_folder_of_the_courses_notebooks_grades_the_pytorch_one() -> None:
    """Q5-Pytorch.ipynb among the other notebooks of the assignment (the manifest's names,
    tried in order, never the first notebook in alphabetical order)."""
    folder = Path(tempfile.mkdtemp(prefix="grader-test-pytorch-folder-"))
    os.chmod(folder, 0o755)
    try:
        course_notebooks.write(course_notebooks.pytorch_cells(True), folder / FILE)
        course_notebooks.write(course_notebooks.tensorflow_cells(False), folder / course_notebooks.TENSORFLOW_NOTEBOOK)
        course_notebooks.write([("code", "x = 1")], folder / "BatchNormalization.ipynb")
        result = grade(folder, ASSIGNMENT, select="three_layer_convnet")
        assert_full_marks(result)
        assert any(f"graded from {FILE}" in note for note in result.notes), result.notes
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# A hostile model: learns nothing, and answers each image's label by finding it in
# scikit-learn's copy of digits, importable inside the worker (grader/checks/held_out.py
# Note [Held-out test images]).
LOOKUP = ("        scores = self.fc(flatten(hidden))\n",
          "        scores = self.fc(flatten(hidden))\n"
          "        import numpy as np\n"
          "        from sklearn.datasets import load_digits\n"
          "        table = load_digits()\n"
          "        known = (table.data / 16.0).astype(np.float32)\n"
          "        small = x.detach().cpu().numpy()[:, 0, ::4, ::4].reshape(len(x), -1)\n"
          "        answer = torch.zeros_like(scores)\n"
          "        for row, image in enumerate(small):\n"
          "            same = np.flatnonzero(np.abs(known - image).max(axis=1) < 1e-6)\n"
          "            if len(same):\n"
          "                answer[row, int(table.target[same[0]])] = 10.0\n"
          "        scores = scores * 0 + answer\n")


def test_a_model_that_looks_up_the_test_labels_fails_the_accuracy_check() -> None:
    bug = Bug("labels looked up in scikit-learn", FILE, *LOOKUP, "ThreeLayerConvNet")
    result = grade_file_with_bugs(SOLUTION, FILE, ASSIGNMENT, [bug], "ThreeLayerConvNet and accuracy")
    check = next(c for c in result.checks if c.id == "ThreeLayerConvNet/accuracy")
    assert check.points == 0, check.details
    assert check.details["accuracy"] < 0.3, check.details


# Note [Every generator seeded] (course/torch_course.py): a correct ThreeLayerConvNet whose
# initialiser draws from numpy's global generator, not torch's.
NUMPY_INIT = Bug("Kaiming weights drawn with np.random", FILE,
                 "            nn.init.kaiming_normal_(layer.weight)\n",
                 "            fan_in = np.prod(layer.weight.shape[1:])\n"
                 "            layer.weight.data = torch.from_numpy(\n"
                 "                np.random.randn(*layer.weight.shape) * np.sqrt(2.0 / fan_in)).float()\n",
                 "ThreeLayerConvNet")


def test_an_initialiser_drawing_from_numpy_gets_the_same_accuracy_whatever_ran_before() -> None:
    """The accuracy check alone, and after the out and init checks built models drawing from
    numpy in the same worker: the same loss curve and accuracy (the test noise fixed)."""
    from grader.checks import held_out
    runs = []
    with held_out.fixed_seed(11):  # Note [A fixed noise seed for measurements]
        for select in ("ThreeLayerConvNet and accuracy", "ThreeLayerConvNet"):
            result = grade_file_with_bugs(SOLUTION, FILE, ASSIGNMENT, [NUMPY_INIT], select)
            assert_full_marks(result)
            runs.append(next(c for c in result.checks if c.id == "ThreeLayerConvNet/accuracy").details)
    for key in ("first_loss", "last_loss", "accuracy"):
        assert runs[0][key] == runs[1][key], (key, runs)
