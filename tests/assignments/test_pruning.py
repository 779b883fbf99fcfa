"""The `pruning` checks judge the course's Pruning notebook as students hand it in: the
student's pruning is inline code in the notebook's two TODO cells, which the grader runs
in the worker against the course's helpers (grading by observation, grader/checks/observe.py).

Full marks for the solution notebook (assignments/pruning/solution/Q6-Pruning.ipynb, the
course's cell layout with the TODO cells done), also with the other course year's
imports (`ece662`), Colab lines and in a folder holding the course's other notebooks;
zero for the untouched starter notebook; points lost on the right part, with the right
message, for realistic mistakes (assignments/pruning/mutants.py, edits of one line of a
cell).  Every submission goes through the real pipeline, as `grade check` does.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest

from grader.scoring import assignment as assignments

from .conftest import (assert_bundle_caught, assert_bundles_partition, assert_full_marks,
                       assert_starter_scores_zero, bundle, grade, grade_file_with_bugs,
                       load_mutants, solution_path)

# Note [Framework assignment tests are slow]: every grading here starts a worker that
# imports torch and runs the notebook; `make test-slow` (and CI) runs them.
pytestmark = [pytest.mark.slow, pytest.mark.torch]

ASSIGNMENT = "pruning"
ROOT = Path(__file__).resolve().parents[2]
SOLUTION = solution_path(ASSIGNMENT)  # assignments/pruning/solution/Q6-Pruning.ipynb
STARTER = ROOT / "assignments" / "pruning" / "starter"
FILE = "Q6-Pruning.ipynb"

# One real mistake each, with a phrase the failing check's message must contain.
PHRASES = {
    "global: per layer (l1_unstructured on each layer)": "per-layer pruning",
    "global: masks not made permanent (prune.remove forgotten)": "not permanent",
    "global: percentages as whole numbers (an int amount counts weights)": "are steps of the notebook's 10%, 20%, ..., 80%",
    "global: random instead of smallest magnitude": "larger in magnitude",
    "global: one copy pruned again before prune.remove": "the weights the earlier steps had left",
    "structured: input channels (dim=1) instead of filters": "dim=1",
    "structured: random filters (prune.random_structured)": "random_structured",
    "structured: the Linear layer pruned too": "Linear layer",
    "structured: masks not made permanent": "not permanent",
    "structured: one percentage only": "different percentage",
}
BUGS = [(bug, PHRASES[bug.name]) for bug in load_mutants(ASSIGNMENT)]

# Note [Bundled bugs]
# The two TODO cells do not use each other, so one bug in each is planted in the same
# notebook and graded once; each bug's part must lose points with its own phrase, and
# nothing outside the bundle's parts may lose any.
BUNDLES = [
    ("global: per layer", "structured: input channels"),
    ("global: masks not", "structured: random filters"),
    ("global: percentages", "structured: the Linear layer"),
    ("global: random", "structured: masks not"),
    ("structured: one percentage", "global: one copy pruned again"),
]


def test_every_graded_part_has_a_bug() -> None:
    graded = {c.function for c in assignments.load(ASSIGNMENT).checks}
    assert graded <= {bug.target for bug, _ in BUGS}, sorted(graded - {bug.target for bug, _ in BUGS})
    assert set(PHRASES) == {bug.name for bug, _ in BUGS}
    assert_bundles_partition(BUGS, BUNDLES)


def test_solution_notebook_gets_full_marks() -> None:
    result = grade(SOLUTION, ASSIGNMENT)
    assert_full_marks(result)
    curve = next(c for c in result.checks if c.id == "global_pruning/accuracy").details["curve"]
    assert [round(p["sparsity"], 3) for p in curve] == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
    assert any("grading by observation" in note for note in result.notes)


@pytest.mark.parametrize("names", BUNDLES, ids=[" + ".join(n) for n in BUNDLES])
def test_bugs_are_caught(names: tuple[str, ...]) -> None:
    planted = bundle(BUGS, names)
    result = grade_file_with_bugs(SOLUTION, FILE, ASSIGNMENT, [bug for bug, _ in planted])
    assert_bundle_caught(result, planted)


def test_untouched_starter_scores_zero() -> None:
    assert_starter_scores_zero(grade(STARTER, ASSIGNMENT), "was not found when the notebook ran",
                               ("failed",))


def _edited(cells_edit) -> dict:
    notebook = json.loads(SOLUTION.read_text())
    for cell in notebook["cells"]:
        text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        cell["source"] = cells_edit(cell["cell_type"], text)
    return notebook


def test_colab_notebook_with_ece662_imports_in_a_folder_of_course_notebooks() -> None:
    """The 2024 course's imports (`ece662.`), a Colab `!pip` line and `drive.mount`, and the
    course's other notebooks beside it: the pruning notebook is found and gets full marks."""
    def edit(kind: str, text: str) -> str:
        if kind != "code":
            return text
        text = text.replace("ece697ls.", "ece662.").replace("ece697ls/", "ece662/")
        if "import copy" in text:
            text = "!pip install -q torch\n%matplotlib inline\n" + text
        return text

    folder = Path(tempfile.mkdtemp(prefix="grader-test-pruning-"))
    try:
        (folder / FILE).write_text(json.dumps(_edited(edit)))
        for other in ("BatchNormalization.ipynb", "Q5-Pytorch.ipynb"):
            (folder / other).write_text(json.dumps(_edited(lambda kind, text: "x = 1")))
        result = grade(folder, ASSIGNMENT)
        assert_full_marks(result)
        assert any(f"graded from {FILE}" in note for note in result.notes), result.notes
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("name, graded", [("get_trained_model", True), ("get_pruned_model", False)])
def test_the_2025_notebooks_import_of_an_older_helper_is_served(name: str, graded: bool) -> None:
    """Note [A helper the notebook still imports] in course/pruning_helper.py: the course's own
    import line names `get_trained_model`, which its 2025 helper lacks; a name the course never
    had still fails the import, and the notebook says where."""
    notebook = _variant(("from ece697ls.pruning_helper import test_model, load_model",
                         f"from ece697ls.pruning_helper import {name}, test_model, load_model"))
    try:
        result = grade(notebook.parent, ASSIGNMENT)
    finally:
        shutil.rmtree(notebook.parent, ignore_errors=True)
    if graded:
        assert_full_marks(result)
    else:
        assert result.score == 0, result.score
        assert any(f"cannot import name '{name}'" in note for note in result.notes), result.notes


def test_a_course_package_imported_through_a_drive_folder_is_noted_once() -> None:
    """Note [Each cell said once] in grader/scoring/pipeline.py: the import cell runs in the
    definitions-mode module and in the observed run; the report says it once."""
    def edit(kind: str, text: str) -> str:
        return text.replace("from ece697ls.", "from assignment3.ece697ls.") if kind == "code" else text

    folder = Path(tempfile.mkdtemp(prefix="grader-test-pruning-"))
    try:
        (folder / FILE).write_text(json.dumps(_edited(edit)))
        result = grade(folder / FILE, ASSIGNMENT)
        assert_full_marks(result)
        drive = [n for n in result.notes if "on the student's Drive is not here" in n]
        assert sorted(drive) == [
            f"{FILE} cell 4: `from assignment3.ece697ls.{module}` was imported as "
            f"`ece697ls.{module}`: the folder above the course's package on the student's Drive "
            f"is not here (Note [Course package under a Drive folder])"
            for module in ("data_utils", "pruning_helper")], result.notes
    finally:
        shutil.rmtree(folder, ignore_errors=True)


RELOADED_IMPORTS = '''import importlib
import ece697ls.pruning_helper as helper_module
importlib.reload(helper_module)   # picks up edits made to the helper on Colab
from ece697ls.pruning_helper import test_model, load_model
from ece697ls.data_utils import get_CINIC10_data
import os'''


@pytest.mark.parametrize("reload", [True, False], ids=["reloaded", "imported"])
def test_course_helpers_reloaded_before_their_import_still_observe(reload: bool) -> None:
    """Note [Reloading a stand-in] in grader/worker/observe.py: a lone notebook (no course
    package beside it) whose import cell reloads pruning_helper before importing from it gets
    full marks, with no error for that cell; the same cell without the reload, likewise."""
    imports = RELOADED_IMPORTS if reload else RELOADED_IMPORTS.replace(
        "importlib.reload(helper_module)", "helper_module.test_model")
    path = _variant(("from ece697ls.pruning_helper import test_model, load_model\n"
                     "from ece697ls.data_utils import get_CINIC10_data\nimport os", imports))
    try:
        result = grade(path, ASSIGNMENT)
        assert_full_marks(result)
        assert not [note for note in result.notes if "error" in note], result.notes
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)


SEED_STYLE_GLOBAL = '''import numpy as np
pruning_percentages = np.arange(0.1, 0.85, 0.1)
for prune_percent in pruning_percentages:
    print(f"Testing {prune_percent*100:.0f}% pruning:")
    pruned_model = copy.deepcopy(model)
    parameters_to_prune = []
    for name, module in pruned_model.named_modules():
        if isinstance(module, (torch.nn.Linear, torch.nn.Conv2d)):
            parameters_to_prune.append((module, 'weight'))
    prune.global_unstructured(parameters_to_prune, pruning_method=prune.L1Unstructured,
                              amount=prune_percent)
    accuracy_before_removal = test_model(pruned_model, test_data, mode=mode)
    for module, param in parameters_to_prune:
        prune.remove(module, param)
    print()

for fraction in (0.1, 0.25, 0.5):
    smaller = copy.deepcopy(model)
    for module in smaller.modules():
        if isinstance(module, torch.nn.Conv2d):
            prune.ln_structured(module, name='weight', amount=fraction, n=1, dim=0)
            prune.remove(module, 'weight')
    test_model(smaller, test_data, mode=mode)
'''


def test_other_correct_styles_get_full_marks() -> None:
    """Correct work written otherwise: the seed's loop over named_modules with numpy
    percentages, testing before prune.remove (made permanent afterwards), and both parts
    in the first TODO cell (the second left as the course gave it)."""
    def edit(kind: str, text: str) -> str:
        if kind == "code" and "pruning_percentages = [0.1 * k" in text:
            start = text.index("pruning_percentages")
            end = text.index("# *****END OF YOUR CODE")
            return text[:start] + SEED_STYLE_GLOBAL + text[end:]
        if kind == "code" and "structured_percentages = [0.1, 0.2, 0.3]" in text:
            start = text.index("structured_percentages")
            end = text.index("# *****END OF YOUR CODE")
            return text[:start] + "pass\n" + text[end:]
        return text

    folder = Path(tempfile.mkdtemp(prefix="grader-test-pruning-"))
    try:
        (folder / FILE).write_text(json.dumps(_edited(edit)))
        result = grade(folder / FILE, ASSIGNMENT)
        assert_full_marks(result)
        filters = next(c for c in result.checks if c.id == "structured_pruning/whole_filters")
        rows = filters.details["pruned_filters"]  # 32 and 16 filters, rounded as prune rounds
        assert [(row["conv1"], row["conv2"]) for row in rows] == [(3, 2), (8, 4), (16, 8)]
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# -- correct work the course allows, and mistakes the checks must name -------------------------

LN_CALL = 'prune.ln_structured(conv, name="weight", amount=fraction, n=1, dim=0)'
TARGETS = 'targets = [(m, "weight") for m in pruned.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]'


def _variant(*replacements: tuple[str, str]) -> Path:
    """The solution notebook with each (old, new) replaced in the code cell holding `old`
    (once), written to a fresh folder; the caller removes the folder."""
    notebook = json.loads(SOLUTION.read_text())
    for old, new in replacements:
        hits = 0
        for cell in notebook["cells"]:
            text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            if cell["cell_type"] == "code" and old in text:
                cell["source"] = text.replace(old, new)
                hits += text.count(old)
        assert hits == 1, (old, hits)
    folder = Path(tempfile.mkdtemp(prefix="grader-test-pruning-"))
    (folder / FILE).write_text(json.dumps(notebook))
    return folder / FILE


def _check(result, check_id: str):
    return next(c for c in result.checks if c.id == check_id)


# The solution notebook's two TODO bodies, as OTHER_STYLES replaces them.
SOLUTION_GLOBAL = (
    'pruning_percentages = [0.1 * k for k in range(1, 9)]\n'
    'for amount in pruning_percentages:\n'
    '    pruned = copy.deepcopy(model)\n'
    '    targets = [(m, "weight") for m in pruned.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]\n'
    '    prune.global_unstructured(targets, pruning_method=prune.L1Unstructured, amount=amount)\n'
    '    for m, name in targets:\n'
    '        prune.remove(m, name)\n'
    '    print(f"{amount:.0%} of all weights pruned:")\n'
    '    test_model(pruned, test_data, mode=mode)\n'
)
SOLUTION_STRUCTURED = (
    'structured_percentages = [0.1, 0.2, 0.3]\n'
    'for fraction in structured_percentages:\n'
    '    smaller = copy.deepcopy(model)\n'
    '    convs = [m for m in smaller.modules() if isinstance(m, torch.nn.Conv2d)]\n'
    '    for conv in convs:\n'
    '        prune.ln_structured(conv, name="weight", amount=fraction, n=1, dim=0)\n'
    '    for conv in convs:\n'
    '        prune.remove(conv, "weight")\n'
    '    print(f"{fraction:.0%} of the filters of each conv layer pruned:")\n'
    '    test_model(smaller, test_data, mode=mode)\n'
)

# Correct work written another way.  by-hand: global pruning without torch.nn.utils.prune (one
# torch.kthvalue threshold over every weight, masks multiplied in place, np.arange
# percentages) and filters zeroed by a mask multiplied into weight.data.  tuple-positional:
# parameters_to_prune as a tuple built over named_modules, the sparsity printed, and
# prune.ln_structured with positional arguments, removed layer by layer.  helpers: each part
# a helper function returning the pruned copy (the copy made inside it), integer percentages
# divided by 100, torch.nn.utils.prune spelled out, the layers found by type() in a tuple, and
# the removal checked with prune.is_pruned.
OTHER_STYLES = {
    "by-hand": [
        (SOLUTION_GLOBAL,
         'for p in np.arange(0.1, 0.9, 0.1):\n'
         '    m2 = copy.deepcopy(model)\n'
         '    layers = [m for m in m2.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]\n'
         '    all_w = torch.cat([l.weight.detach().abs().flatten() for l in layers])\n'
         '    k = int(round(p * all_w.numel()))\n'
         '    threshold = torch.kthvalue(all_w, k).values\n'
         '    with torch.no_grad():\n'
         '        for l in layers:\n'
         '            l.weight.mul_((l.weight.abs() > threshold).float())\n'
         "    print('pruned', p)\n"
         '    test_model(m2, test_data, mode=mode)\n'),
        (SOLUTION_STRUCTURED,
         'for p in [0.2, 0.4, 0.6]:\n'
         '    m3 = copy.deepcopy(model)\n'
         '    for name, module in m3.named_modules():\n'
         '        if isinstance(module, nn.Conv2d):\n'
         '            l1 = torch.sum(torch.abs(module.weight.data), dim=(1, 2, 3))\n'
         '            n_prune = int(round(p * len(l1)))\n'
         '            idx = torch.argsort(l1)[:n_prune]\n'
         '            mask = torch.ones_like(l1)\n'
         '            mask[idx] = 0\n'
         '            module.weight.data = module.weight.data * mask.view(-1, 1, 1, 1)\n'
         '    test_model(m3, test_data, mode=mode)\n'),
        ('import copy\n'
         'import torch\n',
         'import copy\n'
         'import numpy as np\n'
         'import torch\n'
         'import torch.nn as nn\n'),
    ],
    "tuple-positional": [
        (SOLUTION_GLOBAL,
         'amounts = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]\n'
         'results = []\n'
         'for amount in amounts:\n'
         '    model_copy = copy.deepcopy(model)\n'
         '    parameters_to_prune = []\n'
         '    for name, module in model_copy.named_modules():\n'
         '        if isinstance(module, torch.nn.Conv2d) or isinstance(module, torch.nn.Linear):\n'
         "            parameters_to_prune.append((module, 'weight'))\n"
         '    parameters_to_prune = tuple(parameters_to_prune)\n'
         '    prune.global_unstructured(\n'
         '        parameters_to_prune,\n'
         '        pruning_method=prune.L1Unstructured,\n'
         '        amount=amount,\n'
         '    )\n'
         '    for module, name in parameters_to_prune:\n'
         '        prune.remove(module, name)\n'
         '    zeros = sum(float(torch.sum(m.weight == 0)) for m, _ in parameters_to_prune)\n'
         '    total = sum(float(m.weight.nelement()) for m, _ in parameters_to_prune)\n'
         '    print("Global sparsity: {:.2f}%".format(100. * zeros / total))\n'
         '    results.append(test_model(model_copy, test_data, mode=mode))\n'),
        (SOLUTION_STRUCTURED,
         'for amount in (0.25, 0.5, 0.75):\n'
         '    pruned_model = copy.deepcopy(model)\n'
         '    for name, module in pruned_model.named_modules():\n'
         '        if isinstance(module, torch.nn.Conv2d):\n'
         "            prune.ln_structured(module, 'weight', amount, 1, 0)\n"
         "            prune.remove(module, 'weight')\n"
         '    test_model(pruned_model, test_data, mode=mode)\n'),
    ],
    "helpers": [
        (SOLUTION_GLOBAL,
         'def prune_globally(net, amount):\n'
         '    net = copy.deepcopy(net)\n'
         '    params = [(m, "weight") for m in net.modules() if type(m) in (torch.nn.Conv2d, torch.nn.Linear)]\n'
         '    torch.nn.utils.prune.global_unstructured(params, pruning_method=torch.nn.utils.prune.L1Unstructured,\n'
         '                                             amount=amount)\n'
         '    for m, name in params:\n'
         '        torch.nn.utils.prune.remove(m, name)\n'
         '    assert not any(torch.nn.utils.prune.is_pruned(m) for m, _ in params)\n'
         '    return net\n'
         '\n'
         'for percent in range(10, 90, 10):\n'
         '    print(f"global pruning, {percent}%")\n'
         '    test_model(prune_globally(model, percent / 100), test_data, mode=mode)\n'),
        (SOLUTION_STRUCTURED,
         'def prune_filters(net, fraction):\n'
         '    net = copy.deepcopy(net)\n'
         '    for module in net.modules():\n'
         '        if type(module) is torch.nn.Conv2d:\n'
         '            torch.nn.utils.prune.ln_structured(module, "weight", amount=fraction, n=1, dim=0)\n'
         '            torch.nn.utils.prune.remove(module, "weight")\n'
         '    return net\n'
         '\n'
         'for percent in (10, 30, 50):\n'
         '    test_model(prune_filters(model, percent / 100), test_data, mode=mode)\n'),
    ],
}


@pytest.mark.parametrize("name", sorted(OTHER_STYLES))
def test_more_correct_styles_get_full_marks(name: str) -> None:
    path = _variant(*OTHER_STYLES[name])
    try:
        assert_full_marks(grade(path, ASSIGNMENT))
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)


def test_l2_filters_other_percentages_and_biases_in_the_global_ranking_get_full_marks() -> None:
    """Note [Any Ln norm ranks filters]: n=2 (the PyTorch documentation's example) removes
    other filters than the course's n=1 here; percentages the student chose (0.17 gives 5 of
    32 and 3 of 16 filters, no one fraction of the counts rounds back to both); and biases
    ranked with the weights (Note [Which parameters global pruning ranks])."""
    path = _variant((TARGETS, TARGETS.replace('(m, "weight")', "(m, kind)").replace(
                        "Linear))]", 'Linear)) for kind in ("weight", "bias")]')),
                    ("[0.1, 0.2, 0.3]", "[0.15, 0.17, 0.45]"),
                    (LN_CALL, LN_CALL.replace("n=1", "n=2")))
    try:
        result = grade(path, ASSIGNMENT)
        assert_full_marks(result)
        rows = _check(result, "structured_pruning/whole_filters").details["pruned_filters"]
        assert [(row["conv1"], row["conv2"]) for row in rows] == [(5, 2), (5, 3), (14, 7)]
        smallest = _check(result, "structured_pruning/smallest").details
        assert smallest["norms"] == ["L2"], smallest        # L1 does not explain these filters
        assert all("L1" not in row["conv1"] for row in smallest["steps"]), smallest
        assert all(_check(result, "global_pruning/sparsity").details["with_biases"])
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)


def test_linf_filters_get_full_marks() -> None:
    path = _variant(("[0.1, 0.2, 0.3]", "[0.05, 0.25, 0.6]"),
                    (LN_CALL, LN_CALL.replace("n=1", "n=float('inf')")))
    try:
        result = grade(path, ASSIGNMENT)
        assert_full_marks(result)
        steps = _check(result, "structured_pruning/smallest").details["steps"]
        assert all("Linf" in row["conv1"] and "Linf" in row["conv2"] for row in steps), steps
        # at 5% L2 removes the same filters (named first); at 25% and 60% only Linf does
        assert [row["norm"] for row in steps] == ["L2", "Linf", "Linf"], steps
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)


MANUAL_FILTERS = '''k = round(fraction * conv.weight.shape[0])
        norms = conv.weight.detach().abs().sum(dim=(1, 2, 3))
        with torch.no_grad():
            conv.weight[norms.argsort()[:k]] = 0'''


def test_filters_zeroed_by_hand_get_full_marks() -> None:
    """No torch.nn.utils.prune at all: the smallest-L1 filters set to zero by indexing."""
    path = _variant((LN_CALL, MANUAL_FILTERS), ('prune.remove(conv, "weight")', "pass"))
    try:
        assert_full_marks(grade(path, ASSIGNMENT))
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)


@pytest.mark.parametrize("which", ["[:k]", "[k:]"], ids=["removed filters", "kept filters"])
def test_biases_zeroed_with_their_filters_are_accepted_others_are_not(which: str) -> None:
    """Note [Biases of removed filters]: the "entire neuron" of a removed filter may go, bias
    and all (full marks); zeroing the biases of filters that stay is a mistake."""
    code = MANUAL_FILTERS + f"\n            conv.bias[norms.argsort(){which}] = 0"
    path = _variant((LN_CALL, code), ('prune.remove(conv, "weight")', "pass"))
    try:
        result = grade(path, ASSIGNMENT)
        if which == "[:k]":
            assert_full_marks(result)
        else:
            filters = _check(result, "structured_pruning/whole_filters")
            assert filters.status == "failed" and "biases of conv1, conv2 changed" in filters.message, (
                filters.message)
            assert all(c.points == c.max_points for c in result.checks if c.function == "global_pruning")
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)


def test_largest_filters_removed_fail_the_smallest_check_only() -> None:
    path = _variant((LN_CALL, MANUAL_FILTERS.replace("argsort()", "argsort(descending=True)")),
                    ('prune.remove(conv, "weight")', "pass"))
    try:
        result = grade(path, ASSIGNMENT)
        smallest = _check(result, "structured_pruning/smallest")
        assert smallest.status == "failed" and "LARGEST" in smallest.message, smallest.message
        assert _check(result, "structured_pruning/whole_filters").status == "passed"
        lost = {c.function for c in result.checks if c.points < c.max_points}
        assert lost == {"structured_pruning"}, lost
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)


def test_the_global_parts_model_tested_again_before_fresh_structured_steps_is_no_step() -> None:
    """Note [A global model tested again]: the global cell prunes `model` in place, the structured
    cell first tests `model` again ("original accuracy"), then prunes a fresh load_model() per
    step: the re-test is no structured step, and the structured part is graded on its own."""
    path = _variant(("pruned = copy.deepcopy(model)", "pruned = model"),
                    ("structured_percentages = [0.1, 0.2, 0.3]\n",
                     "structured_percentages = [0.1, 0.2, 0.3]\ntest_model(model, test_data, mode=mode)\n"),
                    ("smaller = copy.deepcopy(model)", "smaller = load_model(path, mode=mode)"))
    try:
        result = grade(path, ASSIGNMENT)
        assert_full_marks(result)
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)


@pytest.mark.parametrize("edit", [("pruned = copy.deepcopy(model)", "pruned = model"),
                                  ("    test_model(pruned, test_data, mode=mode)\n",
                                   "    test_model(pruned, test_data, mode=mode)\nmodel = pruned\n")],
                         ids=["no deepcopy", "model = pruned"])
def test_model_pruned_before_the_structured_part_is_named_there(edit) -> None:
    """Note [A model pruned in place]: the global cell prunes `model` itself (with
    prune.remove after each step its 10% .. 80% are still the smallest weights), or ends
    by rebinding `model` to its last pruned copy: full marks there, and every structured
    check says why its models were already pruned."""
    path = _variant(edit)
    try:
        result = grade(path, ASSIGNMENT)
        for check in result.checks:
            if check.function == "global_pruning":
                assert check.points == check.max_points, (check.id, check.message)
            else:
                assert check.status == "failed", check.id
                assert "already pruned before this step" in check.message, check.message
                assert "deep-copy the loaded model" in check.message, check.message
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)


def test_a_model_loaded_only_from_a_drive_file_is_named_as_never_loaded() -> None:
    """Note [A model that was never loaded]: the load is guarded by a file check on the
    student's Drive, so in grading `model` stays None and test_model is handed None; every
    check says that, not the stand-in's TypeError."""
    path = _variant(("model = load_model(path, mode=mode)\n",
                     "drive_path = os.path.join('/content/drive/My Drive/ece697ls/assignment3', path)\n"
                     "model = load_model(drive_path, mode=mode) if os.path.exists(drive_path) else None\n"
                     "if model is None:\n    print('no model at', drive_path)\n"))
    try:
        result = grade(path, ASSIGNMENT)
        assert result.status == "graded", result.message
        for check in result.checks:
            assert check.status == "failed", (check.id, check.status)
            assert "handed test_model None, not a model: no cell called load_model" in check.message
            assert "expected an nn.Module" not in check.message, check.message
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)


def test_a_python_file_is_ungradable_with_one_message() -> None:
    """Note [Graded only from the notebook] in grader/checks/observe.py: no notebook, no grading."""
    folder = Path(tempfile.mkdtemp(prefix="grader-test-pruning-"))
    try:
        (folder / "pruning.py").write_text("import torch.nn.utils.prune as prune\n")
        result = grade(folder / "pruning.py", ASSIGNMENT)
        assert result.status == "error" and result.score == 0 and not result.checks
        assert result.message == ("the pruning assignment is graded from the course notebook "
                                  "(Q6-Pruning.ipynb); none found in the submission"), result.message
        assert grade(folder, ASSIGNMENT).message == result.message   # a folder without it too
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_model_pruned_in_place_and_tested_before_remove_is_judged_step_by_step() -> None:
    """Note [Snapshots of a model with pruning pending] in course/pruning_helper.py: the global
    cell prunes `model` itself and tests it before prune.remove (pruning still pending, which
    copy.deepcopy refuses): each step is judged as it was tested (10% .. 80%), not as the model
    ended; the structured part, which starts from that pruned model, still says so."""
    path = _variant(("pruned = copy.deepcopy(model)", "pruned = model"),
                    ("    for m, name in targets:\n        prune.remove(m, name)\n"
                     "    print(f\"{amount:.0%} of all weights pruned:\")\n"
                     "    test_model(pruned, test_data, mode=mode)\n",
                     "    test_model(pruned, test_data, mode=mode)\n"
                     "    for m, name in targets:\n        prune.remove(m, name)\n"))
    try:
        result = grade(path, ASSIGNMENT, select="global_pruning and (sparsity or global or accuracy)")
        for check in result.checks:
            assert check.points == check.max_points, (check.id, check.message)
        sparsities = _check(result, "global_pruning/sparsity").details["sparsities"]
        assert [round(s, 2) for s in sparsities] == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)
    # without the remove the next step prunes 20% of what is left (28% in all): still wrong
    path = _variant(("pruned = copy.deepcopy(model)", "pruned = model"),
                    ("    for m, name in targets:\n        prune.remove(m, name)\n", ""))
    try:
        result = grade(path, ASSIGNMENT, select="global_pruning and sparsity")
        sparsity = _check(result, "global_pruning/sparsity")
        assert sparsity.status == "failed" and "28.0%" in sparsity.message, sparsity.message
        # Note [Pruned again before prune.remove]
        assert "the weights the earlier steps had left" in sparsity.message, sparsity.message
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)


@pytest.mark.parametrize("percentages, passes", [("[0.1, 0.2, 0.3]", True), ("[0.3, 0.5, 0.8, 0.55]", True),
                                                 ("[0.1, 0.2]", False), ("[0.25, 0.5, 0.75]", False)])
def test_three_steps_of_the_schedule_are_what_the_course_asks(percentages, passes) -> None:
    """Note [Three steps of the schedule] in checks.py: the course's TODO asks for 3 different
    percentages and its published run tests 10%, 20%, 30%; its text's steps are 10% .. 80%."""
    path = _variant(("pruning_percentages = [0.1 * k for k in range(1, 9)]",
                     f"pruning_percentages = {percentages}"))
    try:
        result = grade(path, ASSIGNMENT, select="global_pruning and (sparsity or global or smallest)")
        sparsity = _check(result, "global_pruning/sparsity")
        assert (sparsity.status == "passed") == passes, sparsity.message
        if not passes:
            assert "at least 3 different ones" in sparsity.message, sparsity.message
        for other in ("global_pruning/global", "global_pruning/smallest"):
            assert _check(result, other).status == "passed", _check(result, other).message
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)


@pytest.mark.parametrize("amounts", ["[0.1] * 8", "[0.4, 0.5, 0.6, 0.8]"])
def test_one_model_pruned_again_with_amounts_of_its_own_is_told_why(amounts) -> None:
    """Note [Pruned again before prune.remove] in checks.py: one model pruned again and again
    before prune.remove, with amounts that are not the schedule's (increments of 10% meant as
    "10% more of the whole model", or the student's own 40/50/60/80%), is told that each amount
    was taken from what was left, not given the hint about integer amounts."""
    path = _variant(("pruning_percentages = [0.1 * k for k in range(1, 9)]\n"
                     "for amount in pruning_percentages:\n    pruned = copy.deepcopy(model)\n",
                     f"pruning_percentages = {amounts}\npruned = copy.deepcopy(model)\n"
                     "for amount in pruning_percentages:\n"),
                    ("    for m, name in targets:\n        prune.remove(m, name)\n", ""))
    try:
        result = grade(path, ASSIGNMENT, select="global_pruning and sparsity")
        sparsity = _check(result, "global_pruning/sparsity")
        assert sparsity.status == "failed", sparsity.message
        assert "the weights the earlier steps had left" in sparsity.message, sparsity.message
        assert "pruned again before prune.remove, on conv1, conv2, fc" in sparsity.message, sparsity.message
        assert "an int amount" not in (sparsity.hint or ""), sparsity.hint
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)
