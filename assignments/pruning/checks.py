"""Checks for `pruning` (the course's Pruning notebook): global unstructured
magnitude pruning at 10% .. 80%, structured pruning of whole conv filters, and
the accuracy function used after each step.

Why it exists: every verdict on `pruning.py` comes from here.  The judge
trains the course's convnet on digits once (reference/torch_nets, the recipe of
Note [Digits recipe] in reference/torch_nets/training.py), ships its weights
as arrays, and the worker rebuilds it (course/pruning_helper.py).  For every
pruning step the student's function prunes a fresh copy, as the notebook
does; the judge reads back the weights as arrays and decides everything
itself: how many weights are zero, whether they were the smallest over the
whole model, whether whole filters went, whether the masks were made
permanent, and the accuracy of the pruned weights against the reference's
pruning of the same model.  Accuracy against sparsity is reported in the
details of the accuracy checks.
"""

from __future__ import annotations

import contextlib
import copy
import functools
from dataclasses import dataclass

import numpy as np
import torch

from grader.charts import line_chart
from grader.checks.spec import Check, CheckFailure
from grader.checks.student import Student
from grader.worker.client import Converted, Opaque, Ref, StudentError
from reference.torch_nets import pruning as ref_pruning
from reference.torch_nets.data import load_digits_split
from reference.torch_nets.training import check_accuracy, train_digits

MODULE = "pruning"
COURSE = "pruning_helper"
GLOBAL_AMOUNTS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)   # the notebook's schedule
FILTER_AMOUNTS = (0.1, 0.2, 0.3, 0.5)                      # the notebook's 10-30%, and a half
WEIGHTS = ("conv1.weight", "conv2.weight", "fc.weight")
CONVS = ("conv1.weight", "conv2.weight")
BIASES = ("conv1.bias", "conv2.bias", "fc.bias")


# Note [Targets, not increments, in the checks]
# As in the notebook, every step prunes a fresh copy of the trained model to
# the step's amount (10%, then 20% of the original, ...), so `amount` is the
# target fraction of all conv and linear weights (global pruning) or of each
# conv layer's filters (structured pruning).  torch.nn.utils.prune rounds a
# fractional amount to round(amount * size); a global count within one weight
# of that target is accepted (int() instead of round() is not a mistake),
# filter counts must be exact (a filter is a whole 1/16 of a layer here).

# Note [Accuracy tolerance]
# The judge measures the accuracy of the student's pruned weights itself, on
# the 359 test digits, and compares it with the reference's pruning of the
# same trained model at the same amount.  A correct pruning selects the same
# weights (magnitudes of trained float32 weights do not tie), so both are
# equal; a pruning that differs by the one boundary weight that rounding may
# add changes at most a prediction or two.  ACCURACY_TOLERANCE is 0.01 (3.6
# test images).  The per-step numbers are in the details either way.
ACCURACY_TOLERANCE = 0.01


@contextlib.contextmanager
def _one_thread():
    """The judge trains on one thread too (the machine is shared), then restores torch's setting."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@dataclass(frozen=True)
class Trained:
    """The trained model as arrays, and the data the judge measures accuracy on."""
    state: dict
    x_test: np.ndarray
    y_test: np.ndarray
    accuracy: float


@functools.cache
def trained() -> Trained:
    """Train once per judge process (about 6 s on one CPU thread); deterministic."""
    with _one_thread():
        split = load_digits_split()
        run = train_digits(seed=0, split=split, device="cpu")
    state = {k: v.detach().cpu().numpy().copy() for k, v in run.model.state_dict().items()}
    return Trained(state, split.x_test.numpy(), split.y_test.numpy(), run.test_accuracy)


def _model_from(state: dict) -> torch.nn.Module:
    from reference.torch_nets.modules import digits_convnet
    model = digits_convnet()
    model.load_state_dict({k: torch.from_numpy(np.asarray(v, dtype=np.float32)) for k, v in state.items()})
    return model.eval()


def accuracy_of(state: dict) -> float:
    """Test accuracy of the digits convnet holding `state`, measured by the judge."""
    t = trained()
    with _one_thread():
        return check_accuracy((torch.from_numpy(t.x_test), torch.from_numpy(t.y_test)),
                              _model_from(state), "cpu")


@functools.cache
def reference_step(kind: str, amount: float) -> tuple[dict, float]:
    """Weights and accuracy of the reference's pruning of the trained model at `amount`."""
    prune_fn = ref_pruning.prune_global_l1 if kind == "global" else ref_pruning.prune_filters_ln
    model = _model_from(trained().state)
    pruned = ref_pruning.make_permanent(prune_fn(copy.deepcopy(model), amount))
    state = {k: v.detach().numpy().copy() for k, v in pruned.state_dict().items()}
    return state, accuracy_of(state)


def _failure(what: str, error: StudentError) -> CheckFailure:
    return CheckFailure(f"{what} raised {error}" + (f"\n{error.traceback}" if error.traceback else ""))


def _call(student: Student, module: str, name: str, *args, what: str = "", **kwargs):
    try:
        return student.call(module, name, *args, **kwargs)
    except StudentError as error:
        raise _failure(what or f"`{name}`", error) from None


# Note [Device]
# The convention `device` ('cpu' by default, 'cuda' or 'auto') says where the
# worker puts the model the student prunes and the tensors `evaluate` gets.
# Everything the judge computes (sparsity, masks, accuracy of the pruned
# weights, the reference's pruning) runs on the judge's CPU from arrays, so
# verdicts do not depend on the device; the device used is in the details.

def device(student: Student) -> str:
    return str(student.conventions.get("device", "cpu"))


def _base_model(student: Student, dropout: float = 0.0, training: bool = False) -> Ref:
    _call(student, COURSE, "setup", 1, 0, what="setting up torch in the worker")
    return _call(student, COURSE, "load_model", trained().state, dropout, training, device(student),
                 what="loading the trained model").ref


def _device_used(student: Student, model: Ref) -> str:
    return _call(student, COURSE, "device_of", model, what="reading the model's device").value


@dataclass(frozen=True)
class Step:
    """One pruning step as the judge sees it."""
    amount: float
    weights: dict        # effective weights and biases after the student's call
    leftovers: dict      # pruning re-parametrisation still attached (pruning_helper.leftovers)


def run_steps(student: Student, function: str, amounts: tuple[float, ...]) -> list[Step]:
    """The student's `function` on a fresh copy of the trained model at each amount."""
    base = _base_model(student)
    steps = []
    for amount in amounts:
        copy_ref = _call(student, COURSE, "copy_model", base, what="copying the model").ref
        result = _call(student, MODULE, function, copy_ref, amount,
                       what=f"`{function}(model, {amount})`")
        pruned = copy_ref if result.value is None else result.ref
        weights = _call(student, COURSE, "weights", pruned,
                        what=f"reading the model `{function}(model, {amount})` returned").value
        leftovers = _call(student, COURSE, "leftovers", pruned, what="inspecting the pruned model").value
        if not isinstance(weights, dict) or set(weights) != set(trained().state):
            raise CheckFailure(f"`{function}(model, {amount})` returned a model whose Conv2d/Linear "
                               f"parameters are {sorted(weights) if isinstance(weights, dict) else weights}, "
                               f"expected {sorted(trained().state)}: return the pruned model (or None "
                               f"after pruning it in place)")
        steps.append(Step(amount, {k: np.asarray(v) for k, v in weights.items()}, leftovers))
    return steps


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


# ===========================================================================
# Global unstructured pruning
# ===========================================================================

def _zeros(weights: dict, names=WEIGHTS) -> dict[str, int]:
    return {name: int(np.count_nonzero(weights[name] == 0)) for name in names}


def _sizes(names=WEIGHTS) -> dict[str, int]:
    return {name: int(trained().state[name].size) for name in names}


def check_global_sparsity(student: Student) -> dict:
    __tracebackhide__ = True
    steps = run_steps(student, "prune_global", GLOBAL_AMOUNTS)
    sizes = _sizes()
    total = sum(sizes.values())
    reached = []
    for step in steps:
        zeros = sum(_zeros(step.weights).values())
        target = round(step.amount * total)
        reached.append({"amount": step.amount, "zeros": zeros, "sparsity": zeros / total})
        if abs(zeros - target) > 1:
            raise CheckFailure(
                f"prune_global(model, {step.amount}): {zeros} of the {total} conv and linear weights "
                f"are zero ({_pct(zeros / total)}), expected {target} ({_pct(step.amount)} of all of "
                f"them); each step prunes a fresh copy of the trained model to `amount`",
                hint="prune.global_unstructured(parameters, pruning_method=prune.L1Unstructured, "
                     "amount=amount) over every Conv2d and Linear weight",
                details={"steps": reached})
    return {"steps": reached}


def check_global_not_per_layer(student: Student) -> dict:
    __tracebackhide__ = True
    steps = run_steps(student, "prune_global", GLOBAL_AMOUNTS)
    sizes = _sizes()
    per_layer = []
    for step in steps:
        zeros = _zeros(step.weights)
        expected = _zeros(reference_step("global", step.amount)[0])
        per_layer.append({"amount": step.amount, "zeros": zeros, "reference_zeros": expected})
        if any(abs(zeros[name] - expected[name]) > 1 for name in WEIGHTS):
            layers = ", ".join(f"{name.split('.')[0]} {_pct(zeros[name] / sizes[name])}"
                               for name in WEIGHTS)
            wanted = ", ".join(f"{name.split('.')[0]} {_pct(expected[name] / sizes[name])}"
                               for name in WEIGHTS)
            per_layer_pruned = all(abs(zeros[name] - round(step.amount * sizes[name])) <= 1
                                   for name in WEIGHTS)
            raise CheckFailure(
                f"prune_global(model, {step.amount}): pruned per layer {layers}; global pruning of "
                f"the same model prunes {wanted}"
                + ("\nlooks like: every layer was pruned by the same fraction (per-layer pruning, "
                   "e.g. prune.l1_unstructured on each layer); the notebook's percentages are of the "
                   "entire model, so layers with many small weights lose more" if per_layer_pruned
                   else ""),
                hint="one prune.global_unstructured call over all layers ranks every weight together",
                details={"steps": per_layer})
    return {"steps": per_layer}


def _smallest_violation(original: dict, pruned: dict, names) -> str:
    """'' when the zeros of `pruned` are the smallest |w| over all `names` and nothing else changed."""
    removed, kept = [], []
    for name in names:
        before, after = original[name], pruned[name]
        newly = (after == 0) & (before != 0)
        stays = after != 0
        changed = stays & (after != before)
        if changed.any():
            return (f"{int(changed.sum())} weights of {name.split('.')[0]} that were kept have "
                    f"different values than before pruning: pruning only zeroes weights")
        removed.append(np.abs(before[newly]))
        kept.append(np.abs(before[stays]))
    removed_all, kept_all = np.concatenate(removed), np.concatenate(kept)
    if removed_all.size and kept_all.size and removed_all.max() > kept_all.min():
        bigger = int(np.count_nonzero(removed_all > kept_all.min()))
        return (f"{bigger} of the {removed_all.size} zeroed weights are larger in magnitude than the "
                f"smallest kept one ({removed_all.max():.4g} was zeroed, {kept_all.min():.4g} kept): "
                f"the weights removed must be the smallest over all layers together")
    return ""


def check_global_smallest(student: Student) -> None:
    __tracebackhide__ = True
    original = trained().state
    for step in run_steps(student, "prune_global", GLOBAL_AMOUNTS):
        problem = _smallest_violation(original, step.weights, WEIGHTS)
        changed_bias = [name for name in BIASES if not np.array_equal(step.weights[name], original[name])]
        if changed_bias:
            problem = (f"the biases of {', '.join(n.split('.')[0] for n in changed_bias)} changed: the "
                       f"course prunes weights only")
        if problem:
            raise CheckFailure(f"prune_global(model, {step.amount}): {problem}",
                               hint="prune.L1Unstructured ranks weights by |w|")


def _permanent_problem(step: Step, function: str) -> str:
    left = step.leftovers
    parts = []
    if left.get("parameters"):
        parts.append(f"parameters {left['parameters']}")
    if left.get("buffers"):
        parts.append(f"buffers {left['buffers']}")
    if left.get("hooks"):
        parts.append(f"pruning hooks on {left['hooks']}")
    if left.get("not_parameters") and not parts:
        parts.append(f"{left['not_parameters']} are no longer Parameters")
    if not parts:
        return ""
    return (f"{function}(model, {step.amount}): the pruning is not permanent: the model still has "
            + ", ".join(parts) + "; call prune.remove(module, 'weight') on every pruned layer")


def _permanent_check(function: str, amounts: tuple[float, ...]):
    def run(student: Student) -> None:
        __tracebackhide__ = True
        for step in run_steps(student, function, amounts):
            problem = _permanent_problem(step, function)
            if problem:
                raise CheckFailure(problem, hint="prune.remove folds weight_orig * weight_mask "
                                                 "into a plain weight Parameter")
    return run


def _accuracy_check(function: str, kind: str, amounts: tuple[float, ...]):
    def run(student: Student) -> dict:
        __tracebackhide__ = True
        total = sum(_sizes().values())
        curve, worst = [], None
        for step in run_steps(student, function, amounts):
            reference_state, reference_accuracy = reference_step(kind, step.amount)
            accuracy = accuracy_of({k: v for k, v in step.weights.items()})
            zeros = sum(_zeros(step.weights).values())
            point = {"amount": step.amount, "sparsity": zeros / total, "accuracy": accuracy,
                     "reference_sparsity": sum(_zeros(reference_state).values()) / total,
                     "reference_accuracy": reference_accuracy}
            curve.append(point)
            if abs(accuracy - reference_accuracy) > ACCURACY_TOLERANCE and worst is None:
                worst = point
        details = {"curve": curve, "unpruned_accuracy": trained().accuracy,
                   "tolerance": ACCURACY_TOLERANCE, "device": _device_used(student, _base_model(student)),
                   "chart": line_chart(
                       f"{function}: test accuracy vs sparsity", "sparsity of the prunable weights (%)",
                       "test accuracy",
                       {"your pruning": [(100 * p["sparsity"], p["accuracy"]) for p in curve],
                        "reference pruning": [(100 * p["reference_sparsity"], p["reference_accuracy"])
                                              for p in curve]})}
        if worst is not None:
            table = "\n".join(f"  {p['amount']:.1f}: sparsity {_pct(p['sparsity'])}, accuracy "
                              f"{p['accuracy']:.3f} (reference {p['reference_accuracy']:.3f})"
                              for p in curve)
            raise CheckFailure(
                f"{function}(model, {worst['amount']}): the pruned model's test accuracy is "
                f"{worst['accuracy']:.3f}, the reference's pruning of the same trained model gives "
                f"{worst['reference_accuracy']:.3f} (accepted difference {ACCURACY_TOLERANCE}); "
                f"accuracy after each step (measured by the grader):\n{table}",
                hint="see the other checks of this function for which weights went wrong",
                details=details)
        return details
    return run


# ===========================================================================
# Structured filter pruning
# ===========================================================================

def check_whole_filters(student: Student) -> dict:
    __tracebackhide__ = True
    original = trained().state
    counts = []
    for step in run_steps(student, "prune_filters", FILTER_AMOUNTS):
        where = f"prune_filters(model, {step.amount})"
        if not np.array_equal(step.weights["fc.weight"], original["fc.weight"]):
            raise CheckFailure(f"{where}: the Linear layer's weights changed: structured pruning here "
                               f"is of the convolution layers only")
        changed_bias = [n for n in BIASES if not np.array_equal(step.weights[n], original[n])]
        if changed_bias:
            raise CheckFailure(f"{where}: the biases of {', '.join(n.split('.')[0] for n in changed_bias)} "
                               f"changed: the course prunes weights only")
        row = {"amount": step.amount}
        # Whole filters in every layer first: a layer with one input channel (conv1) shows
        # nothing when channels are pruned instead of filters, the next layer does.
        for name in CONVS:
            weight, before = step.weights[name], original[name]
            filters = weight.reshape(weight.shape[0], -1)
            zero_filters = np.all(filters == 0, axis=1)
            kept_same = np.all(filters == before.reshape(before.shape[0], -1), axis=1)
            if not np.all(zero_filters | kept_same):
                along_inputs = np.all((weight == 0).all(axis=(0, 2, 3))
                                      | (weight == before).all(axis=(0, 2, 3)))
                raise CheckFailure(
                    f"{where}: {name.split('.')[0]} has zeros that are not whole filters (weight[k] "
                    f"for a filter k must be all zero or unchanged)"
                    + ("\nlooks like: input channels (dim=1) were pruned instead of filters (dim=0)"
                       if along_inputs else ""),
                    hint="prune.ln_structured(module, 'weight', amount=amount, n=1, dim=0)")
        for name in CONVS:
            filters = step.weights[name].reshape(step.weights[name].shape[0], -1)
            pruned = int(np.all(filters == 0, axis=1).sum())
            expected = round(step.amount * filters.shape[0])
            row[name.split(".")[0]] = pruned
            if pruned != expected:
                raise CheckFailure(f"{where}: {name.split('.')[0]} has {pruned} of its "
                                   f"{filters.shape[0]} filters zeroed, expected round({step.amount} * "
                                   f"{filters.shape[0]}) = {expected}",
                                   hint="amount is the fraction of each conv layer's filters")
        counts.append(row)
    return {"pruned_filters": counts}


def check_smallest_filters(student: Student) -> None:
    __tracebackhide__ = True
    original = trained().state
    for step in run_steps(student, "prune_filters", FILTER_AMOUNTS):
        for name in CONVS:
            before = original[name].reshape(original[name].shape[0], -1)
            gone = np.all(step.weights[name].reshape(before.shape[0], -1) == 0, axis=1)
            if not gone.any() or gone.all():
                continue
            l1 = np.abs(before).sum(axis=1)
            if l1[gone].max() > l1[~gone].min():
                l2 = np.sqrt((before ** 2).sum(axis=1))
                by_l2 = set(np.argsort(l2)[:int(gone.sum())]) == set(np.flatnonzero(gone))
                raise CheckFailure(
                    f"prune_filters(model, {step.amount}): {name.split('.')[0]} zeroed filters "
                    f"{sorted(np.flatnonzero(gone).tolist())}, but the {int(gone.sum())} with the "
                    f"smallest L1 norm are {sorted(np.argsort(l1)[:int(gone.sum())].tolist())}"
                    + ("\nlooks like: filters ranked by their L2 norm (n=2); the course uses n=1"
                       if by_l2 else ""),
                    hint="prune.ln_structured(..., n=1, dim=0) ranks filters by L1 norm")


# ===========================================================================
# Accuracy of a model
# ===========================================================================

# Note [Judging evaluate]
# `evaluate(model, x, y)` must return the accuracy of the model as used for
# testing.  The judge passes (a) the trained model and (b) the same weights in
# a copy with dropout (p = 0.8) before the fully-connected layer, handed over in
# training mode, as a model fresh out of a training loop is.  In eval mode
# dropout is the identity, so both must give exactly the accuracy the judge
# computes from the weights; a model left in training mode drops features at
# random and gets another number.  Accuracy is a count over 359 images, so the
# comparison is exact up to float rounding (1e-9).
EVAL_DROPOUT = 0.8


def _as_number(value) -> float | None:
    if isinstance(value, Converted):
        value = value.value
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(()).item()
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return float(value)
    return None


def check_evaluate(student: Student) -> dict:
    __tracebackhide__ = True
    t = trained()
    x = _call(student, COURSE, "tensor", t.x_test, "float32", device(student),
              what="making the test tensor").ref
    y = _call(student, COURSE, "tensor", t.y_test, "int64", device(student),
              what="making the label tensor").ref
    expected = accuracy_of(t.state)
    details = {"expected": expected, "device": device(student)}
    for label, dropout, training in (("the trained model", 0.0, False),
                                     (f"the trained model with dropout p={EVAL_DROPOUT}, handed over "
                                      f"in training mode", EVAL_DROPOUT, True)):
        model = _base_model(student, dropout, training)
        value = _call(student, MODULE, "evaluate", model, x, y, what=f"`evaluate` on {label}").value
        number = _as_number(value)
        if number is None:
            shown = value.type_name if isinstance(value, Opaque) else type(value).__name__
            raise CheckFailure(f"evaluate(model, x, y) returned {shown}, expected the accuracy as a number")
        details[label] = number
        if abs(number - expected) > 1e-9:
            hint = ""
            if dropout and abs(number - expected) > 0:
                hint = ("\nlooks like: the model was left in training mode, so dropout was active "
                        "while testing; call model.eval() first")
            if abs(number - 100 * expected) < 1e-6:
                hint = "\nlooks like: a percentage; return a fraction in [0, 1]"
            raise CheckFailure(f"evaluate on {label} returned {number:.6g}, expected {expected:.6g} "
                               f"({round(expected * len(t.y_test))} of {len(t.y_test)} test digits)"
                               + hint, details=details)
    return details


# ===========================================================================
# The registry
# ===========================================================================

CHECKS = [
    Check("prune_global/sparsity", "prune_global",
          "prune_global: 10% .. 80% of all conv and linear weights are zero", check_global_sparsity),
    Check("prune_global/global", "prune_global",
          "prune_global: global, not per layer (per-layer sparsities match the reference)",
          check_global_not_per_layer),
    Check("prune_global/smallest", "prune_global",
          "prune_global: the zeroed weights are the smallest in magnitude; nothing else changes",
          check_global_smallest),
    Check("prune_global/permanent", "prune_global",
          "prune_global: the pruning is made permanent (prune.remove)",
          _permanent_check("prune_global", GLOBAL_AMOUNTS)),
    Check("prune_global/accuracy", "prune_global",
          "prune_global: accuracy after each step matches the reference's pruning",
          _accuracy_check("prune_global", "global", GLOBAL_AMOUNTS), timeout_s=60),
    Check("prune_filters/whole_filters", "prune_filters",
          "prune_filters: whole conv filters are zeroed, the right number per layer",
          check_whole_filters),
    Check("prune_filters/smallest", "prune_filters",
          "prune_filters: the zeroed filters have the smallest L1 norm", check_smallest_filters),
    Check("prune_filters/permanent", "prune_filters",
          "prune_filters: the pruning is made permanent (prune.remove)",
          _permanent_check("prune_filters", FILTER_AMOUNTS)),
    Check("prune_filters/accuracy", "prune_filters",
          "prune_filters: accuracy after each step matches the reference's pruning",
          _accuracy_check("prune_filters", "filters", FILTER_AMOUNTS), timeout_s=60),
    Check("evaluate/accuracy", "evaluate",
          "evaluate: the test accuracy, in eval mode", check_evaluate),
]
