"""Fixtures of `pruning` (Note [Mutants] in grader/course/mutants.py): the solution notebook
(solution/Q6-Pruning.ipynb, the course's notebook with its two TODO cells done), and one
real mistake each, planted as an edit of one line of a cell.

Each mutant must cost points on its target part (`global_pruning`, the Unstructured
Pruning cell, or `structured_pruning`) and nowhere else; `grade selftest -a pruning` and
tests/assignments/test_pruning.py grade them.  Data only; never part of what students
receive.
"""

from grader.course.mutants import Bug, Solution

SOLUTION = Solution("solution/Q6-Pruning.ipynb")

FILE = "Q6-Pruning.ipynb"
GLOBAL_CALL = "prune.global_unstructured(targets, pruning_method=prune.L1Unstructured, amount=amount)"

TARGETS = '[(m, "weight") for m in pruned.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]'
MUTANTS = [
    Bug("global: per layer (l1_unstructured on each layer)", FILE, GLOBAL_CALL,
        "[prune.l1_unstructured(m, name, amount=amount) for m, name in targets]", "global_pruning"),
    Bug("global: masks not made permanent (prune.remove forgotten)", FILE,
        "        prune.remove(m, name)", "        pass", "global_pruning"),
    Bug("global: percentages as whole numbers (an int amount counts weights)", FILE,
        "[0.1 * k for k in range(1, 9)]", "[10 * k for k in range(1, 9)]", "global_pruning"),
    # Note [Pruned again before prune.remove] in checks.py: one copy pruned again and again
    Bug("global: one copy pruned again before prune.remove", FILE,
        "for amount in pruning_percentages:\n    pruned = copy.deepcopy(model)\n    targets = "
        + TARGETS + "\n    " + GLOBAL_CALL + "\n    for m, name in targets:\n        prune.remove(m, name)\n",
        "pruned = copy.deepcopy(model)\ntargets = " + TARGETS + "\nfor amount in pruning_percentages:\n    "
        + GLOBAL_CALL + "\n", "global_pruning"),
    Bug("global: random instead of smallest magnitude", FILE, "pruning_method=prune.L1Unstructured",
        "pruning_method=prune.RandomUnstructured", "global_pruning"),
    Bug("structured: input channels (dim=1) instead of filters", FILE, "n=1, dim=0)", "n=1, dim=1)",
        "structured_pruning"),
    # Any Ln norm is correct (Note [Any Ln norm ranks filters] in checks.py); random filters are not.
    Bug("structured: random filters (prune.random_structured)", FILE,
        'prune.ln_structured(conv, name="weight", amount=fraction, n=1, dim=0)',
        'prune.random_structured(conv, name="weight", amount=fraction, dim=0)', "structured_pruning"),
    Bug("structured: the Linear layer pruned too", FILE, "isinstance(m, torch.nn.Conv2d)]",
        "isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]", "structured_pruning"),
    Bug("structured: masks not made permanent", FILE, "prune.remove(conv, ",
        "pass  # prune.remove(conv, ", "structured_pruning"),
    Bug("structured: one percentage only", FILE, "[0.1, 0.2, 0.3]", "[0.2, 0.2, 0.2]",
        "structured_pruning"),
]
