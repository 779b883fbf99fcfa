"""The `pruning` checks judge correctly both ways: full marks for a correct
submission (the assignment's solution, assignments/pruning/solution/pruning.py:
the notebook's solution as a module), points lost on the right checks, with the
right message, for realistic student mistakes (assignments/pruning/mutants.py),
and a clean zero for the starter code.

Every submission is graded through the real pipeline (staging, sandboxed
worker, pytest plugin), as `grade check` does.  The judge trains the digits
convnet once per process (about 6 s on one thread); Note [Bundled bugs] keeps
the number of worker starts at six.
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

ASSIGNMENT = "pruning"
ROOT = Path(__file__).resolve().parents[2]
SOLUTION = solution_path(ASSIGNMENT)  # assignments/pruning/solution/pruning.py
STARTER = ROOT / "assignments" / "pruning" / "starter" / "pruning.py"
FILE = "pruning.py"

# One real mistake each (assignments/pruning/mutants.py, which `grade selftest` grades
# too), with a phrase the failing check's message must contain.
PHRASES = {
    "prune_global: per layer (l1_unstructured on each layer)": "per-layer pruning",
    "prune_global: masks not made permanent": "not permanent",
    "prune_global: random instead of smallest magnitude": "larger in magnitude",
    "prune_global: biases pruned too": "biases",
    "prune_filters: input channels (dim=1) instead of filters": "dim=1",
    "prune_filters: ranked by L2 norm": "L2 norm",
    "prune_filters: the Linear layer pruned too": "Linear layer",
    "prune_filters: masks not made permanent": "not permanent",
    "evaluate: never switched to eval mode": "training mode",
    "evaluate: a percentage": "percentage",
}
BUGS = [(bug, PHRASES[bug.name]) for bug in load_mutants(ASSIGNMENT)]


# Note [Bundled bugs]
# As in test_pytorch.py: prune_global, prune_filters and evaluate do not use
# each other, so one bug in each is planted in the same copy and graded once;
# each bug's target must lose points with its own phrase, and nothing outside
# the bundle's targets may lose any.
BUNDLES = [
    ("prune_global: per layer", "prune_filters: input channels", "evaluate: never switched"),
    ("prune_global: masks not", "prune_filters: ranked by L2", "evaluate: a percentage"),
    ("prune_global: random", "prune_filters: the Linear layer"),
    ("prune_global: biases", "prune_filters: masks not"),
]


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
    curve = next(c for c in result.checks if c.id == "prune_global/accuracy").details["curve"]
    assert [p["amount"] for p in curve] == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
    assert all(abs(p["sparsity"] - p["amount"]) < 1e-3 for p in curve)


@pytest.mark.parametrize("names", BUNDLES, ids=[" + ".join(n) for n in BUNDLES])
def test_bugs_are_caught(names: tuple[str, ...]) -> None:
    bundle = _bundle(names)
    result = grade_copy([bug for bug, _ in bundle])
    assert_bundle_caught(result, bundle)


def test_starter_scores_zero_and_every_message_says_not_implemented() -> None:
    assert_starter_scores_zero(grade(STARTER, ASSIGNMENT), "NotImplementedError", ("failed",))
