"""Checks for `pruning` (the course's Pruning notebook, `Q6-Pruning.ipynb`): global
unstructured magnitude pruning at 10% .. 80% of all weights and structured pruning of whole
conv filters, written inline in the notebook's cells, as students hand it in.

Why it exists: every verdict on a pruning notebook comes from here.  The judge trains the
course's convnet on digits once (reference/torch_nets, Note [Digits recipe] in
reference/torch_nets/training.py) and sends its weights to the worker; the notebook runs
there (grading by observation, grader/checks/observe.py) against the course's helpers
(course/pruning_helper.py: `load_model` hands out that model, `test_model` records every
model the cells test).  The judge reads each recorded model back as arrays and decides
everything itself: how many weights are zero, whether they were the smallest over the
whole model, whether whole filters went, whether the masks were made permanent, and the
accuracy of the pruned weights against the reference's pruning of the same model.
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.utils.prune  # noqa: F401  (reference_step with biases)

from grader.report.charts import line_chart
from grader.checks.spec import Check, CheckFailure
from grader.checks.student import Student
from grader.worker.client import StudentError
from reference.torch_nets import pruning as ref_pruning
from reference.torch_nets.data import load_digits_split
from reference.torch_nets.training import check_accuracy, train_digits

COURSE = "pruning_helper"
GLOBAL_AMOUNTS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)   # the notebook's schedule
MIN_STRUCTURED_STEPS = 3                                   # "3 different percentages"
WEIGHTS = ("conv1.weight", "conv2.weight", "fc.weight")
CONVS = ("conv1.weight", "conv2.weight")
BIASES = ("conv1.bias", "conv2.bias", "fc.bias")
GLOBAL, STRUCTURED = "global_pruning", "structured_pruning"   # the notebook's two TODO parts


# Note [Targets, not increments, in the checks]
# As the notebook asks, every step prunes a fresh copy of the trained model to the step's
# amount (10%, then 20% of the original, ...), so a step's amount is the fraction of all
# conv and linear weights that are zero (global pruning) or of each conv layer's filters
# (structured pruning).  torch.nn.utils.prune rounds a fractional amount to
# round(amount * size); a global count within one weight of 10%, 20%, ..., 80% of all
# weights counts as that step (int() instead of round() is not a mistake).  A structured
# step must zero the same fraction of every conv layer's filters, as prune rounds it
# (3 of conv1's 32 and 2 of conv2's 16 filters at 10%); the course asks for 3 different
# fractions and names none, so any 3 are accepted (10/20/30%, 15/17/45%, 5/25/60%, ...).
# The judge sees only the zeroed filters, so a step's fraction is one that rounds to every
# layer's count (a whole percentage where one does: 17% gives 5 of 32 and 3 of 16, which no
# count's own fraction reproduces), and the accuracy is compared with the reference pruned
# at that fraction, which zeroes as many filters per layer.  Two percentages that zero the
# same numbers of filters (11% and 12%) are one pruning and count once.

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
def reference_step(kind: str, amount: float, n: float = 1, biases: bool = False) -> tuple[dict, float]:
    """Weights and accuracy of the reference's pruning of the trained model at `amount`:
    global magnitude pruning (of the weights, or of weights and biases together, Note
    [Which parameters global pruning ranks]) or filters ranked by the Ln norm `n`
    (Note [Any Ln norm ranks filters]; `biases`: their biases zeroed too, Note [Biases of
    removed filters])."""
    model = _model_from(trained().state)
    if kind == "global" and biases:
        params = [(m, name) for m in model.modules() if isinstance(m, ref_pruning.PRUNABLE_LAYERS)
                  for name in ("weight", "bias")]
        total = sum(getattr(m, name).numel() for m, name in params)
        torch.nn.utils.prune.global_unstructured(
            params, pruning_method=torch.nn.utils.prune.L1Unstructured, amount=round(amount * total))
        pruned = ref_pruning.make_permanent(model)
    elif kind == "global":
        pruned = ref_pruning.make_permanent(ref_pruning.prune_global_l1(model, amount))
    else:
        pruned = ref_pruning.make_permanent(ref_pruning.prune_filters_ln(model, amount, n=n))
    state = {k: v.detach().numpy().copy() for k, v in pruned.state_dict().items()}
    if kind != "global" and biases:  # Note [Biases of removed filters]
        for bias, weight in _FILTER_BIASES.items():
            state[bias][np.all(state[weight].reshape(state[weight].shape[0], -1) == 0, axis=1)] = 0
    return state, accuracy_of(state)


def _failure(what: str, error: StudentError) -> CheckFailure:
    return CheckFailure(f"{what} raised {error}" + (f"\n{error.traceback}" if error.traceback else ""))


# Note [Device]
# The convention `device` ('cpu' by default, 'cuda' or 'auto') says where the
# worker puts the model `load_model` hands out.  Everything the judge computes
# (sparsity, masks, accuracy of the pruned weights, the reference's pruning)
# runs on the judge's CPU from arrays, so verdicts do not depend on the device.

def device(student: Student) -> str:
    return str(student.conventions.get("device", "cpu"))


def _provide(student: Student):
    """What the course's helpers hand the notebook: the trained model, the digits split."""
    def data() -> dict:
        t = trained()
        split = load_digits_split()
        x_train, y_train = split.x_train.numpy(), split.y_train.numpy()
        return {"state": t.state, "device": device(student),
                "data": {"X_train": x_train[:200], "y_train": y_train[:200],
                         "X_val": x_train[200:300], "y_val": y_train[200:300],
                         "X_test": t.x_test, "y_test": t.y_test}}
    return data


@dataclass(frozen=True)
class Step:
    """One model the notebook passed to `test_model`, as the judge reads it back."""
    cell: int
    part: str            # GLOBAL or STRUCTURED (Note [Which part a step belongs to])
    weights: dict        # effective weights and biases when test_model got the model
    leftovers: dict      # pruning re-parametrisation still attached then (pruning_helper.leftovers)
    leftovers_at_end: dict   # ... and on the same object once every cell had run
    device: str          # where the notebook's model lived (Note [Device])
    index: int = 0       # order of the test_model call among everything recorded


# Note [Which part a step belongs to]
# The notebook tests the model after each pruning step with the course's `test_model`,
# in two TODO cells: one under the "Unstructured Pruning" heading, one under "Structured
# Pruning".  A recorded model whose weights are the trained ones is the unpruned model
# (the course's own cell tests it first) and is no step.  A model that is unmistakably
# structured pruning (the Linear layer untouched, every conv zero part of a whole zero
# filter) belongs to the structured part wherever its cell is (a student may do both in
# one cell).  Any other belongs to the part whose heading is the nearest above its cell,
# so that a structured cell with a mistake (pruning the Linear layer too, input channels
# instead of filters) is judged as structured pruning, not as a bad global step; where no
# heading names either part (a student's own layout), to the structured part when the
# Linear layer is untouched (structured pruning here is of the convolutions only) and to
# the global part otherwise.

def _whole_filters_only(weights: dict) -> bool:
    original = trained().state
    if not np.array_equal(weights["fc.weight"], original["fc.weight"]):
        return False
    some = False
    for name in CONVS:
        filters = weights[name].reshape(weights[name].shape[0], -1)
        before = original[name].reshape(filters.shape[0], -1)
        whole = (filters == 0).all(axis=1)
        if not np.array_equal(filters[~whole], before[~whole]):
            return False
        some = some or bool(whole.any())
    return some


def _part(headings: tuple, weights: dict) -> str:
    if _whole_filters_only(weights):
        return STRUCTURED
    for heading in reversed(headings):
        text = heading.lower()
        if "unstructured" in text:
            return GLOBAL
        if "structured" in text:
            return STRUCTURED
    return STRUCTURED if np.array_equal(weights["fc.weight"], trained().state["fc.weight"]) else GLOBAL


def _read(student: Student, ref, what: str):
    try:
        return student.call(COURSE, what, ref).value
    except StudentError as error:
        raise _failure(f"reading the recorded model back ({what})", error) from None


# Note [A model that was never loaded]
# A real ECE562 hand-in (2025) loaded the model only when its file was on the student's Drive,
# `if os.path.exists(path): model = load_model(path, mode=mode)` with `model = None` otherwise
# (path '/content/drive/My Drive/...'), and handed `model` to test_model in every cell.  In
# grading there is no Drive, so load_model was never called, every test_model got None, and
# all nine checks said "reading the recorded model back (weights) raised TypeError: expected an
# nn.Module, got NoneType" with the stand-in's traceback: a message that reads as the grader's
# fault.  A test_model handed None now says so, whether any cell called load_model, and that
# load_model hands out the trained model whatever its path.  The verdict is unchanged: nothing
# was pruned or tested in this run.

def _never_loaded(observation, record) -> CheckFailure:
    """test_model was handed None (Note [A model that was never loaded])."""
    loads = observation.recorded("load_model")
    why = ("no cell called load_model, so `model` was never loaded" if not loads else
           f"load_model gave a model in cell {loads[0].cell}, but the name handed to test_model "
           f"held None")
    return CheckFailure(
        f"cell {record.cell} handed test_model None, not a model: {why}, and nothing was pruned or "
        f"tested.  In grading, load_model hands out the trained model whatever its path (your Drive "
        f"is not here): a load made only when the model's file exists (`if os.path.exists(path):`) "
        f"finds no file and is skipped",
        hint="load the model as the course's cell does: model = load_model(path, mode=mode)")


def steps(student: Student) -> list[Step]:
    """Every pruned model the notebook tested, in order (the notebook runs once per grading)."""
    observation = student.observation(_provide(student))
    cached = getattr(observation, "pruning_steps", None)
    if cached is not None:
        return cached
    original = trained().state
    found = []
    for record in observation.require("test_model", "a model passed to the course's `test_model`"):
        if record.facts.get("type") == "NoneType":  # Note [A model that was never loaded]
            raise _never_loaded(observation, record)
        weights = _read(student, record.ref("model"), "weights")
        if not isinstance(weights, dict) or set(weights) != set(original):
            raise CheckFailure(
                f"cell {record.cell} passed test_model a model whose Conv2d/Linear parameters are "
                f"{sorted(weights) if isinstance(weights, dict) else weights}, expected the model "
                f"load_model gave ({sorted(original)})")
        weights = {k: np.asarray(v) for k, v in weights.items()}
        if all(np.array_equal(weights[k], original[k]) for k in original):
            continue  # the unpruned model (Note [Which part a step belongs to])
        part = _part(record.headings, weights)
        if part == STRUCTURED and any(s.part == GLOBAL and _same(s.weights, weights) for s in found):
            continue  # the global part's model tested again (Note [A global model tested again])
        found.append(Step(record.cell, part, weights,
                          _read(student, record.ref("model"), "leftovers"),
                          _read(student, record.ref("live"), "leftovers"),
                          str(_read(student, record.ref("model"), "device_of")), record.index))
    observation.pruning_steps = found
    return found


# Note [A global model tested again]
# A real ECE562 hand-in (2025) opened its structured cell with the course's habit of testing
# the model before pruning, `test_model(model, ...)` under "Original Model Accuracy", but its
# global cell had pruned `model` in place, so that call tested the global part's last model
# again; then each of its structured steps pruned a fresh `load_model(...)`.  That re-test
# was taken for the first structured step, Note [A model pruned in place] fired on it, and
# all four structured checks failed (0/6) for steps that each started from the trained
# model.  A model in the structured part whose weights are exactly those of a model the
# global part tested prunes nothing new: it is no step, as the unpruned model is none.  A
# structured step built on the pruned model adds zero filters, so it differs and is still
# caught by Note [A model pruned in place]; the global part loses its own points for the
# pruning in place where its schedule shows it.

def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


# Note [A model pruned in place]
# Each step must prune a fresh copy of the loaded model.  A global cell that prunes `model`
# itself (no copy.deepcopy) can still reach 10% .. 80% of the smallest weights, since the
# zeros it left are the smallest at the next step, and is graded on its own merits; but
# the structured cell's copies then start from the 80%-pruned model, and every structured
# check would fail with a puzzling message (the Linear layer "changed").  The same happens
# when the global cell ends with `model = pruned`.  Structured pruning never touches the
# Linear layer, so a structured step whose Linear weights carry exactly the zeros of an
# earlier pruned model started from it: the model `load_model` handed out as it was once
# every cell had run (pruned in place), or a model the global part tested before.  The
# structured checks then say so instead.

def _pruned_before(student: Student, found: list[Step]) -> CheckFailure | None:
    observation = student.observation(_provide(student))
    original = trained().state["fc.weight"]
    earlier = []   # (record index, where it comes from, its Linear weights)
    for record in observation.recorded("load_model"):
        end = _read(student, record.ref("model"), "weights")
        if isinstance(end, dict) and "fc.weight" in end:
            earlier.append((record.index, f"the model load_model gave (cell {record.cell}) was "
                                          f"pruned in place by a later cell",
                            np.asarray(end["fc.weight"])))
    earlier += [(s.index, f"it is the model tested in cell {s.cell} at {_pct(_sparsity(s))} "
                          f"sparsity, or a copy of it", s.weights["fc.weight"])
                for s in steps(student) if s.part == GLOBAL]
    for step in found:
        fc = step.weights["fc.weight"]
        if np.array_equal(fc, original):
            continue
        for index, how, before in earlier:
            if (index < step.index and not np.array_equal(before, original)
                    and np.array_equal(fc == 0, before == 0)):
                return CheckFailure(
                    f"cell {step.cell}: the model handed to test_model was already pruned before this "
                    f"step ({_pct(float(np.mean(fc == 0)))} of its Linear weights are zero): {how}; "
                    f"deep-copy the loaded model for each step",
                    hint="pruned = copy.deepcopy(model) before each pruning, in both parts; "
                         "keep `model` the model load_model gave")
    return None


def part_steps(student: Student, part: str) -> list[Step]:
    found = [s for s in steps(student) if s.part == part]
    if found and part == STRUCTURED:  # Note [A model pruned in place]
        problem = _pruned_before(student, found)
        if problem is not None:
            raise problem
    if found:
        return found
    observation = student.observation(_provide(student))
    section = "Unstructured Pruning" if part == GLOBAL else "Structured Pruning"
    raise CheckFailure(observation.missing(
        f"a pruned model passed to test_model in the \"{section}\" part"),
        hint="prune a copy of the model, then call test_model(pruned_model, test_data, mode=mode)")


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _zeros(weights: dict, names=WEIGHTS) -> dict[str, int]:
    return {name: int(np.count_nonzero(weights[name] == 0)) for name in names}


def _sizes(names=WEIGHTS) -> dict[str, int]:
    return {name: int(trained().state[name].size) for name in names}


def _where(step: Step) -> str:
    return f"cell {step.cell}, the model tested at {_pct(_sparsity(step))} sparsity"


def _sparsity(step: Step) -> float:
    """Zeros over the parameters the step ranked (Note [Which parameters global pruning ranks])."""
    names = _ranked(step)
    return sum(_zeros(step.weights, names).values()) / sum(_sizes(names).values())


# Note [Which parameters global pruning ranks]
# The notebook asks to prune "the weights of the model", "x% of the smallest weights", with
# percentages "of the entire model".  The course's own solution (and the solution here)
# passes each Conv2d and Linear layer's `weight` to prune.global_unstructured; a student
# who also passes each layer's `bias` prunes the smallest x% of all the model's conv and
# linear parameters, which is a fair reading of "the entire model" and is accepted: such a
# step is judged over weights and biases together (its sparsity, the smallest-magnitude
# rule, the per-layer counts and the reference it is compared with).  A step is read that
# way when a bias changed, or when its zeros reach a schedule step only counted over
# weights and biases (58 biases next to 15648 weights: at 10% the two readings differ by
# 6 zeros, so no bias need be zeroed).  A bias that changed to anything but zero, or
# zeros that are not the smallest over what was ranked, still fail.

def _ranked(step: Step) -> tuple[str, ...]:
    original = trained().state
    if any(not np.array_equal(step.weights[name], original[name]) for name in BIASES):
        return WEIGHTS + BIASES
    zeros = sum(_zeros(step.weights).values())

    def on_schedule(names) -> bool:
        total = sum(_sizes(names).values())
        return any(abs(zeros - round(a * total)) <= 1 for a in GLOBAL_AMOUNTS)
    if step.part == GLOBAL and not on_schedule(WEIGHTS) and on_schedule(WEIGHTS + BIASES):
        return WEIGHTS + BIASES
    return WEIGHTS


# ===========================================================================
# Global unstructured pruning
# ===========================================================================

# Note [Three steps of the schedule]
# The course says two things about the global part: its text "Increment global pruning by 10%
# until reaching total of 80% pruned weights", and its code cell's TODO "Perform unstructured
# Pruning over the trained model using 3 different prunning percentages"; the course's own
# published run of that cell tests 10%, 20% and 30% only.  So a notebook whose tested models
# reach at least GLOBAL_MIN_STEPS different steps of the text's schedule (10%, 20%, ..., 80% of
# the whole model) has done what the course asks; the whole schedule is not required (a real
# submission that followed the published run lost 2 points).  Steps off the schedule do not
# count: pruning one model again and again at amount 0.1, 0.2, ... prunes that fraction of what
# is left (10%, 28%, 50%, ...) and reaches one step only.

GLOBAL_MIN_STEPS = 3

# Note [Pruned again before prune.remove]
# A real ECE562 hand-in (2025) called prune.global_unstructured on the same model at 0.1, 0.2,
# ..., 0.8 without prune.remove in between: PyTorch's PruningContainer applies each new amount
# to the weights still unpruned, so the model reached 10%, 28%, 49.6%, 69.8% ... (1 - 0.9 *
# 0.8 * ...).  It was told only that one of its sparsities was on the schedule, with a hint
# about integer amounts.  When the tested sparsities are the running products of the
# schedule's amounts, the failure says what happened.  (With prune.remove after each step the
# zeros left are the smallest weights, so amounts count from the whole model and the same
# in-place loop does reach the schedule.)
# Two more real hand-ins (2025) did the same with amounts of their own: 0.4, 0.5, 0.6, 0.8 on one
# model (40%, 70%, 88%, 97.6%), and increments of 0.1 meant as "10% more of the whole model"
# (10%, 19%, 27.1% ...); neither is a running product of the schedule, so they were told only
# how many steps were on the schedule, with the hint about integer amounts, which was not their
# mistake.  PyTorch leaves its own trace of this: a layer pruned again before prune.remove
# carries a PruningContainer hook (pruning_helper.leftovers' "stacked"), so a tested model that
# has one is told the same thing whatever its amounts were.


def _compounded(sparsities: list[float]) -> bool:
    """Whether the steps are 1 - (1 - a1)(1 - a2)... of the schedule's amounts, in order, from the
    second step on (Note [Pruned again before prune.remove])."""
    if len(sparsities) < 2:
        return False
    left, expected = 1.0, []
    for amount in GLOBAL_AMOUNTS[:len(sparsities)]:
        left *= 1.0 - amount
        expected.append(1.0 - left)
    return len(expected) == len(sparsities) and all(abs(s - e) < 0.005 for s, e in zip(sparsities, expected))


def _stacked(found: list[Step]) -> Step | None:
    """The first step tested with its pruning stacked on an earlier one (Note [Pruned again
    before prune.remove])."""
    return next((step for step in found if step.leftovers.get("stacked")), None)


def check_global_sparsity(student: Student) -> dict:
    __tracebackhide__ = True
    found = part_steps(student, GLOBAL)
    reached = []   # (zeros, size of what was ranked) per step
    for step in found:
        names = _ranked(step)
        reached.append((sum(_zeros(step.weights, names).values()), sum(_sizes(names).values())))
    hit = [a for a in GLOBAL_AMOUNTS if any(abs(z - round(a * total)) <= 1 for z, total in reached)]
    details = {"sparsities": [z / total for z, total in reached], "expected": list(GLOBAL_AMOUNTS),
               "with_biases": [total != sum(_sizes().values()) for _, total in reached],
               "schedule_steps_reached": hit, "at_least": GLOBAL_MIN_STEPS}
    if len(hit) < GLOBAL_MIN_STEPS:  # Note [Three steps of the schedule]
        reached_text = f" (only {', '.join(_pct(a) for a in hit)})" if hit else ""
        stacked = _stacked(found)
        if _compounded(details["sparsities"]) or stacked:  # Note [Pruned again before prune.remove]
            how = (f" ({_where(stacked)} was pruned again before prune.remove, on "
                   f"{', '.join(stacked.leftovers['stacked'])})" if stacked else "")
            raise CheckFailure(
                f"the models tested in the Unstructured Pruning part have sparsities "
                f"{', '.join(_pct(z / total) for z, total in reached)}: each step pruned its amount of "
                f"the weights the earlier steps had left, not of the whole model{how}",
                hint="pruning a model again before prune.remove applies the new amount to the weights "
                     "still unpruned; prune a fresh copy.deepcopy(model) at each step (or call "
                     "prune.remove after each step)",
                details=details)
        raise CheckFailure(
            f"the models tested in the Unstructured Pruning part have {len(reached)} sparsities "
            f"({', '.join(_pct(z / total) for z, total in reached)} of all conv and linear weights); "
            f"{len(hit)} of them{reached_text} are steps of the notebook's 10%, 20%, ..., 80% of the "
            f"whole model, and the course asks for at least {GLOBAL_MIN_STEPS} different ones, each "
            f"pruned from a fresh copy of the trained model",
            hint="amount is a fraction in [0, 1]: prune.global_unstructured(..., amount=0.3) "
                 "prunes 30%; an int amount is a number of weights",
            details=details)
    return details


def check_global_not_per_layer(student: Student) -> dict:
    __tracebackhide__ = True
    per_layer = []
    for step in part_steps(student, GLOBAL):
        names = _ranked(step)
        sizes = _sizes(names)
        zeros = _zeros(step.weights, names)
        fraction = sum(zeros.values()) / sum(sizes.values())
        expected = _zeros(reference_step("global", fraction, biases=names != WEIGHTS)[0], names)
        per_layer.append({"sparsity": fraction, "zeros": zeros, "reference_zeros": expected})
        if any(abs(zeros[name] - expected[name]) > 1 for name in names):
            layers = ", ".join(f"{name.split('.')[0]} {_pct(zeros[name] / sizes[name])}"
                               for name in WEIGHTS)
            wanted = ", ".join(f"{name.split('.')[0]} {_pct(expected[name] / sizes[name])}"
                               for name in WEIGHTS)
            same = all(abs(zeros[name] / sizes[name] - fraction) < 0.01 for name in WEIGHTS)
            raise CheckFailure(
                f"{_where(step)}: pruned per layer {layers}; global pruning of the same model to "
                f"the same sparsity prunes {wanted}"
                + ("\nlooks like: every layer was pruned by the same fraction (per-layer pruning, "
                   "e.g. prune.l1_unstructured on each layer); the notebook's percentages are of the "
                   "entire model, so layers with many small weights lose more" if same else ""),
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
    for step in part_steps(student, GLOBAL):
        # biases that changed are ranked with the weights (Note [Which parameters global
        # pruning ranks]): a bias changed to anything but zero fails there
        problem = _smallest_violation(original, step.weights, _ranked(step))
        if problem:
            raise CheckFailure(f"{_where(step)}: {problem}",
                               hint="prune.L1Unstructured ranks weights by |w|")


def _permanent_problem(step: Step) -> str:
    """'' when the model was permanent when tested or became so by the end of the notebook."""
    if not any(step.leftovers_at_end.get(k) for k in ("parameters", "buffers", "hooks")):
        return ""
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
    return (f"{_where(step)}: the pruning is not permanent: the model still has "
            + ", ".join(parts) + "; call prune.remove(module, 'weight') on every pruned layer")


def _permanent_check(part: str):
    def run(student: Student) -> None:
        __tracebackhide__ = True
        for step in part_steps(student, part):
            problem = _permanent_problem(step)
            if problem:
                raise CheckFailure(problem, hint="prune.remove folds weight_orig * weight_mask "
                                                 "into a plain weight Parameter")
    return run


def _filter_counts(step: Step) -> dict[str, int]:
    return {name: int(np.all(step.weights[name].reshape(step.weights[name].shape[0], -1) == 0,
                             axis=1).sum()) for name in CONVS}


def _filter_fraction(step: Step) -> float:
    """A fraction of filters that gives every conv layer's count of zero filters when
    rounded as prune rounds (round(fraction * filters)), preferring a whole percentage
    (Note [Targets, not increments, in the checks]); the mean of the layers' fractions
    when none does (the whole-filters check then says the layers differ)."""
    counts = _filter_counts(step)
    sizes = {name: step.weights[name].shape[0] for name in CONVS}
    low = max((counts[n] - 0.5) / sizes[n] for n in CONVS)
    high = min((counts[n] + 0.5) / sizes[n] for n in CONVS)
    middle = (low + high) / 2
    percents = sorted((k / 100 for k in range(101) if low <= k / 100 <= high),
                      key=lambda f: abs(f - middle))
    for fraction in [*percents, middle, low, high]:
        if all(round(fraction * sizes[n]) == counts[n] for n in CONVS):
            return fraction
    return float(np.mean([counts[n] / sizes[n] for n in CONVS]))


def _accuracy_check(part: str):
    kind = "global" if part == GLOBAL else "filters"

    def run(student: Student) -> dict:
        __tracebackhide__ = True
        total = sum(_sizes().values())
        curve, worst = [], None
        found = part_steps(student, part)
        for step in found:
            if part == GLOBAL:
                amount, how = _sparsity(step), {"biases": _ranked(step) != WEIGHTS}
            else:  # the same percentage and norm as the student's (and biases, Note [Biases of removed filters])
                amount, how = _filter_fraction(step), {"n": NORMS[_step_norm(step)],
                                                       "biases": _zeroes_filter_biases(step)}
            reference_state, reference_accuracy = reference_step(kind, amount, **how)
            accuracy = accuracy_of(step.weights)
            point = {"cell": step.cell, "amount": amount, "sparsity": _sparsity(step),
                     "accuracy": accuracy,
                     "reference_sparsity": sum(_zeros(reference_state).values()) / total,
                     "reference_accuracy": reference_accuracy}
            curve.append(point)
            if abs(accuracy - reference_accuracy) > ACCURACY_TOLERANCE and worst is None:
                worst = point
        title = "global pruning" if part == GLOBAL else "structured pruning"
        details = {"curve": curve, "unpruned_accuracy": trained().accuracy,
                   "tolerance": ACCURACY_TOLERANCE, "device": found[0].device,
                   "chart": line_chart(
                       f"{title}: test accuracy vs sparsity", "sparsity of the prunable weights (%)",
                       "test accuracy",
                       {"your pruning": [(100 * p["sparsity"], p["accuracy"]) for p in curve],
                        "reference pruning": [(100 * p["reference_sparsity"], p["reference_accuracy"])
                                              for p in curve]})}
        if worst is not None:
            table = "\n".join(f"  cell {p['cell']}: sparsity {_pct(p['sparsity'])}, accuracy "
                              f"{p['accuracy']:.3f} (reference {p['reference_accuracy']:.3f})"
                              for p in curve)
            raise CheckFailure(
                f"{title}, cell {worst['cell']}: the pruned model's test accuracy is "
                f"{worst['accuracy']:.3f}, the reference's {title} of the same trained model to the "
                f"same amount gives {worst['reference_accuracy']:.3f} (accepted difference "
                f"{ACCURACY_TOLERANCE}); accuracy after each step (measured by the grader):\n{table}",
                hint="see the other checks of this part for which weights went wrong",
                details=details)
        return details
    return run


# ===========================================================================
# Structured filter pruning
# ===========================================================================

# Note [Biases of removed filters]
# prune.ln_structured(conv, "weight", ...) zeroes a filter's weights and leaves its bias,
# as the course's solution does; a student who removes the "entire neuron" by also zeroing
# the bias of each removed filter (and of no other) does what the text says too, and is
# accepted.  Such a step's accuracy is compared with the reference's pruning at the same
# fraction and norm with the biases of its removed filters zeroed as well.  A bias changed
# anywhere else (a kept filter's, the Linear layer's) fails the whole-filters check.

_FILTER_BIASES = {"conv1.bias": "conv1.weight", "conv2.bias": "conv2.weight"}


def _bias_follows_filters(step: Step, bias: str) -> bool:
    """The bias changed only by zeroing entries of filters the step zeroed."""
    before, after = trained().state[bias], step.weights[bias]
    changed = after != before
    return bool(np.all(after[changed] == 0) and np.all(_gone(step, _FILTER_BIASES[bias])[changed]))


def _zeroes_filter_biases(step: Step) -> bool:
    original = trained().state
    return any(not np.array_equal(step.weights[b], original[b]) for b in _FILTER_BIASES)


def check_whole_filters(student: Student) -> dict:
    __tracebackhide__ = True
    original = trained().state
    counts = []
    for step in part_steps(student, STRUCTURED):
        where = f"cell {step.cell}"
        if not np.array_equal(step.weights["fc.weight"], original["fc.weight"]):
            raise CheckFailure(f"{where}: the Linear layer's weights changed: structured pruning here "
                               f"is of the convolution layers only")
        # a removed filter's bias may go with it (Note [Biases of removed filters])
        changed_bias = [n for n in BIASES if not np.array_equal(step.weights[n], original[n])
                        and not (n in _FILTER_BIASES and _bias_follows_filters(step, n))]
        if changed_bias:
            raise CheckFailure(f"{where}: the biases of {', '.join(n.split('.')[0] for n in changed_bias)} "
                               f"changed other than by zeroing the bias of a removed filter: structured "
                               f"pruning here removes whole filters of the conv layers' weights")
        row = {"cell": step.cell}
        # Whole filters in every layer first: a layer with one input channel (conv1) shows
        # nothing odd when channels are pruned instead of filters, the next layer does.
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
        fraction = _filter_fraction(step)
        for name in CONVS:
            filters = step.weights[name].reshape(step.weights[name].shape[0], -1)
            pruned = int(np.all(filters == 0, axis=1).sum())
            row[name.split(".")[0]] = pruned
            if pruned != round(fraction * filters.shape[0]):
                raise CheckFailure(
                    f"{where}: the conv layers lost different fractions of their filters "
                    f"({', '.join(f'{k} {v}' for k, v in row.items() if k != 'cell')} of "
                    f"{', '.join(str(original[n].shape[0]) for n in CONVS)}): the same percentage "
                    f"applies to each conv layer", hint="amount is the fraction of each layer's filters")
        row["fraction"] = fraction
        counts.append(row)
    fractions = sorted({round(r["fraction"], 6) for r in counts})
    if len(fractions) < MIN_STRUCTURED_STEPS:
        raise CheckFailure(f"the Structured Pruning part tested {len(fractions)} different "
                           f"percentage(s) of filters ({', '.join(_pct(f) for f in fractions)}); "
                           f"the notebook asks for {MIN_STRUCTURED_STEPS} (percentages that zero the "
                           f"same numbers of filters count once)",
                           details={"pruned_filters": counts})
    return {"pruned_filters": counts}


# Note [Any Ln norm ranks filters]
# The notebook asks to remove whole filters of the convolution layers ("removing filters",
# "entire neurons") and names no criterion for choosing them; the course's example solution
# uses prune.ln_structured(..., n=1, dim=0), the PyTorch documentation's example n=2, and
# some students n=float('inf').  Each removes the filters (weight[k], dim 0) with the
# smallest norm of one kind, so each is correct: a layer passes when its zeroed filters are
# the smallest by the L1, the L2 or the L-infinity norm (ties allowed), and the details say
# which norm(s) matched.  What fails is a choice that ignores the filters' size (random
# filters, prune.random_structured) or keeps the wrong end (the largest removed); input
# channels (dim=1) and the Linear layer are outside "filters of the convolution layers" and
# fail the whole-filters check.  The accuracy check compares each step with the reference's
# pruning at the same fraction by the norm that matched (L1 first when several do: they
# then remove the same filters).

NORMS = {"L1": 1, "L2": 2, "Linf": float("inf")}


def _filter_norms(name: str) -> dict[str, np.ndarray]:
    before = trained().state[name].astype(np.float64)
    filters = before.reshape(before.shape[0], -1)
    return {label: np.linalg.norm(filters, ord=n, axis=1) for label, n in NORMS.items()}


def _gone(step: Step, name: str) -> np.ndarray:
    return np.all(step.weights[name].reshape(step.weights[name].shape[0], -1) == 0, axis=1)


def _layer_norms(step: Step, name: str) -> list[str]:
    """The norms by which the filters `step` zeroed in layer `name` are the smallest."""
    gone = _gone(step, name)
    if not gone.any() or gone.all():
        return list(NORMS)
    return [label for label, norm in _filter_norms(name).items()
            if norm[gone].max() <= norm[~gone].min()]


def _step_norm(step: Step) -> str:
    """The first norm that explains every conv layer of `step` (L1 when none does)."""
    matched = [set(_layer_norms(step, name)) for name in CONVS]
    return next((label for label in NORMS if all(label in m for m in matched)), "L1")


def check_smallest_filters(student: Student) -> dict:
    __tracebackhide__ = True
    rows = []
    for step in part_steps(student, STRUCTURED):
        row = {"cell": step.cell}
        for name in CONVS:
            layer = name.split(".")[0]
            gone = _gone(step, name)
            matched = _layer_norms(step, name)
            row[layer] = matched
            if matched:
                continue
            k = int(gone.sum())
            norms = _filter_norms(name)
            smallest = "; ".join(f"by {label} {sorted(np.argsort(norm)[:k].tolist())}"
                                 for label, norm in norms.items())
            largest = any(set(np.argsort(norm)[-k:].tolist()) == set(np.flatnonzero(gone).tolist())
                          for norm in norms.values())
            raise CheckFailure(
                f"cell {step.cell}: {layer} zeroed filters {sorted(np.flatnonzero(gone).tolist())}, "
                f"which are not the {k} with the smallest norm ({smallest})"
                + ("\nlooks like: the filters with the LARGEST norm were removed" if largest else
                   "\nlooks like: filters chosen without ranking them by a norm (e.g. "
                   "prune.random_structured)"),
                hint="prune.ln_structured(module, 'weight', amount=amount, n=1, dim=0) removes the "
                     "filters with the smallest L1 norm (n=2 or n=float('inf') are fine too)",
                details={"steps": rows + [row]})
        row["norm"] = _step_norm(step)
        rows.append(row)
    return {"steps": rows, "norms": sorted({r["norm"] for r in rows}, key=list(NORMS).index)}


# ===========================================================================
# The registry
# ===========================================================================

CHECKS = [
    Check("global_pruning/sparsity", GLOBAL,
          "global pruning: the models tested reach at least 3 of 10%, 20%, .., 80% of all conv and linear weights",
          check_global_sparsity, timeout_s=120),
    Check("global_pruning/global", GLOBAL,
          "global pruning: global, not per layer (per-layer sparsities match the reference)",
          check_global_not_per_layer, timeout_s=120),
    Check("global_pruning/smallest", GLOBAL,
          "global pruning: the zeroed weights are the smallest in magnitude; nothing else changes",
          check_global_smallest, timeout_s=120),
    Check("global_pruning/permanent", GLOBAL,
          "global pruning: the pruning is made permanent (prune.remove)",
          _permanent_check(GLOBAL), timeout_s=120),
    Check("global_pruning/accuracy", GLOBAL,
          "global pruning: accuracy after each step matches the reference's pruning",
          _accuracy_check(GLOBAL), timeout_s=120),
    Check("structured_pruning/whole_filters", STRUCTURED,
          "structured pruning: whole conv filters are zeroed, the same share of each conv layer, "
          "3 percentages", check_whole_filters, timeout_s=120),
    Check("structured_pruning/smallest", STRUCTURED,
          "structured pruning: the zeroed filters are the smallest by a norm (L1, L2 or Linf)", check_smallest_filters,
          timeout_s=120),
    Check("structured_pruning/permanent", STRUCTURED,
          "structured pruning: the pruning is made permanent (prune.remove)",
          _permanent_check(STRUCTURED), timeout_s=120),
    Check("structured_pruning/accuracy", STRUCTURED,
          "structured pruning: accuracy after each step matches the reference's pruning",
          _accuracy_check(STRUCTURED), timeout_s=120),
]
