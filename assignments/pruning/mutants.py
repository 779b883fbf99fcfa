"""Fixtures of `pruning` (Note [Mutants] in grader/mutants.py): the solution
(solution/pruning.py), and one real mistake each in the graded functions.

Each mutant must cost points on its target and nowhere else but the functions in
its `may_affect`; `grade selftest -a pruning` and tests/assignments/test_pruning.py
grade them (the test plants several at once: Note [Bundled bugs] there).  Data
only; never part of what students receive.
"""

from grader.mutants import Bug, Solution

SOLUTION = Solution("solution/pruning.py")

FILE = "pruning.py"
GLOBAL_CALL = """    prune.global_unstructured(parameters_to_prune, pruning_method=prune.L1Unstructured,
                              amount=amount)
"""
GLOBAL_REMOVE = """    prune.global_unstructured(parameters_to_prune, pruning_method=prune.L1Unstructured,
                              amount=amount)
    for module, param in parameters_to_prune:
        prune.remove(module, param)
"""
FILTERS_REMOVE = """        prune.ln_structured(module, name=param, amount=amount, n=1, dim=0)
    for module, param in conv_parameters_to_prune:
        prune.remove(module, param)
"""

MUTANTS = [
    Bug("prune_global: per layer (l1_unstructured on each layer)", FILE, GLOBAL_CALL,
        "    for module, param in parameters_to_prune:\n"
        "        prune.l1_unstructured(module, param, amount=amount)\n", "prune_global"),
    Bug("prune_global: masks not made permanent", FILE, GLOBAL_REMOVE, GLOBAL_CALL, "prune_global"),
    Bug("prune_global: random instead of smallest magnitude", FILE, "pruning_method=prune.L1Unstructured",
        "pruning_method=prune.RandomUnstructured", "prune_global"),
    Bug("prune_global: biases pruned too", FILE,
        '            parameters_to_prune.append((module, "weight"))',
        '            parameters_to_prune.append((module, "weight"))\n'
        '            parameters_to_prune.append((module, "bias"))', "prune_global"),
    Bug("prune_filters: input channels (dim=1) instead of filters", FILE, "n=1, dim=0)", "n=1, dim=1)",
        "prune_filters"),
    Bug("prune_filters: ranked by L2 norm", FILE, "n=1, dim=0)", "n=2, dim=0)", "prune_filters"),
    Bug("prune_filters: the Linear layer pruned too", FILE, "if isinstance(module, nn.Conv2d):",
        "if isinstance(module, (nn.Conv2d, nn.Linear)):", "prune_filters"),
    Bug("prune_filters: masks not made permanent", FILE, FILTERS_REMOVE,
        "        prune.ln_structured(module, name=param, amount=amount, n=1, dim=0)\n", "prune_filters"),
    Bug("evaluate: never switched to eval mode", FILE, "    model.eval()\n", "", "evaluate"),
    Bug("evaluate: a percentage", FILE, "return float((preds == y).sum()) / preds.shape[0]",
        "return 100 * float((preds == y).sum()) / preds.shape[0]", "evaluate"),
]
