"""Checks for `dropout`: dropout_forward, dropout_backward, FullyConnectedNet with dropout.

Why this module exists: a dropout layer's train-time output depends on the
student's own random draws, so unlike the other layers it cannot be compared
entry by entry with the reference (Note [Randomness in dropout checks]).  The
checks here grade the properties every correct implementation has, with
bounds derived for a false alarm rate of 1e-9 (Note [Statistical bounds]), and
adapt to the course year's meaning of `p` (Note [Dropout p convention]).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from grader.checks import questions
from grader.checks.answers import Answers
from grader.checks.compare import (Signature, accept_shape, compare_arrays, compare_scalar,
                                   summarize_inputs)
from grader.checks.spec import Check, CheckFailure
from grader.worker.client import Converted, StudentError
from reference.cs231n import layers as ref_layers
from reference.cs231n.classifiers import fc_net as ref_fc

LAYERS, FC_NET = "layers", "fc_net"
NET = "FullyConnectedNet"
NET_LOSS = "FullyConnectedNet.loss"

# Note [Randomness in dropout checks]
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
# A student's mask comes from the student's own generator calls
# (np.random.rand, np.random.binomial, a Generator...), so train-mode outputs
# are never compared with the reference's.  What every correct inverted
# dropout satisfies, and what is graded instead:
# - test mode returns x unchanged;
# - in train mode each entry is either 0 or x / keep, exactly (float64);
# - the kept fraction and the mean of the output are within the bounds of
#   Note [Statistical bounds] of keep and mean(x);
# - the same seed gives the same output; different seeds, or no seed twice,
#   give different ones;
# - backward is the derivative of the student's OWN forward for the same
#   call: dx = dout * out / x (x has no zero entries), so a bug in forward
#   costs points only in forward's checks;
# - in FullyConnectedNet, with a seed the masks are fixed, so the student's
#   gradients are compared with numerical derivatives of the student's own
#   loss; with keep = 1 and in test mode nothing is random and the reference
#   is compared directly; the train-time hidden activations are read from
#   the gradients (Note [Reading hidden activations]) and must each be 0 or
#   h / keep.
# Every train-mode sample except those testing "no seed" carries a seed, so a
# given submission always gets the same verdict.

# Note [Statistical bounds]
# ~~~~~~~~~~~~~~~~~~~~~~~~~
# A correct implementation fails a statistical check with probability at most
# FALSE_ALARM, whatever its generator.  The kept count K of n entries is
# Binomial(n, keep); the accepted kept fraction is [lo, hi] with
# n * KL(hi || keep) = n * KL(lo || keep) = ln(2 / FALSE_ALARM) (the
# Chernoff-Hoeffding bound P(K/n >= q) <= exp(-n KL(q || keep)), rigorous for
# every n, not a normal approximation).  The output mean minus the input mean
# is a sum of independent terms x_i (B_i / keep - 1) / n, each in an interval
# of width |x_i| / (keep n), so by Hoeffding's inequality
# |mean(out) - mean(x)| <= sqrt(ln(2 / FALSE_ALARM) * sum(x_i^2) / 2) / (keep n).
# Both bounds come from the sample itself and never from the student's output.
FALSE_ALARM = 1e-9

# Note [Dropout p convention]
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~
# This course (and cs231n since 2018) defines dropout_param['p'] as the
# probability of KEEPING a unit; earlier years used the probability of
# DROPPING it, with FullyConnectedNet(dropout=0) meaning no dropout.  Samples
# here are written in terms of the keep probability; the manifest convention
# `dropout_p: keep|drop` (or `grade check --convention dropout_p=drop`) says
# which number the student's code receives as `p`, and as FullyConnectedNet's
# `dropout` keyword.  Newer releases name that keyword `dropout_keep_ratio`,
# which means the keep probability by its name in every year; the keyword is
# chosen from the student's own constructor signature, preferring
# `dropout_keep_ratio` when both exist.
P_CONVENTIONS = ("keep", "drop")


def p_convention(student) -> str:
    """'keep' or 'drop'; an unknown value is a staff error, never the student's."""
    value = str(student.conventions.get("dropout_p", "keep")).lower()
    if value not in P_CONVENTIONS:
        raise ValueError(f"convention dropout_p={value!r} is not one of {P_CONVENTIONS}")
    return value


def p_for(student, keep: float) -> float:
    """The `p` a student's code receives for keep probability `keep` (Note [Dropout p convention])."""
    return keep if p_convention(student) == "keep" else 1.0 - keep


def p_as_other_hint(student) -> str:
    if p_convention(student) == "keep":
        return ("p is used as the probability of DROPPING a unit; in this course p is the "
                "probability of KEEPING one: mask = (np.random.rand(*x.shape) < p) / p "
                "(if your course defines p as the drop probability, staff can grade with "
                "--convention dropout_p=drop)")
    return ("p is used as the probability of KEEPING a unit; this course defines p as the "
            "probability of DROPPING one: mask = (np.random.rand(*x.shape) >= p) / (1 - p)")


def scale_text(student) -> str:
    return "1 / p" if p_convention(student) == "keep" else "1 / (1 - p)"


def keep_text(student) -> str:
    return "p" if p_convention(student) == "keep" else "1 - p"


def not_inverted_hint(student) -> str:
    return (f"kept entries equal x: the mask is not divided by the keep probability; inverted "
            f"dropout scales kept units by {scale_text(student)} at train time so that test "
            f"time needs no scaling")


# ---------------------------------------------------------------------------
# Talking to the student's code
# ---------------------------------------------------------------------------

def student_failure(what: str, error: StudentError) -> CheckFailure:
    """A CheckFailure that says what raised, and 'not implemented yet' for the starter's stubs."""
    where = f" at {error.where}" if error.where else ""
    if error.type == "NotImplementedError":
        return CheckFailure(f"{what} is not implemented yet (NotImplementedError{where})",
                            hint="replace the `raise NotImplementedError` of the starter code "
                                 "with your implementation")
    trace = f"\n{error.traceback}" if error.traceback else ""
    return CheckFailure(f"{what} raised {error}{trace}")


def call_student(student, module: str, name: str, *args, what: str = "", **kwargs):
    try:
        return student.call(module, name, *args, **kwargs)
    except StudentError as error:
        raise student_failure(what or f"`{name}`", error) from None


def call_method(obj, method: str, *args, what: str, set_items: tuple | None = None):
    """obj.method(*args); `set_items` (attr, values): assignments made first in the same request
    (Note [Sets folded into a call] in grader/worker/client.py), whose failure is raised as
    the separate `set_item` raised it."""
    try:
        if set_items is None:
            return obj.call(method, *args)
        return obj.call(method, *args, set_items=set_items)
    except StudentError as error:
        raise method_failure(error, what) from None


def method_failure(error: StudentError, what: str) -> Exception:
    """What a method call's StudentError is raised as: itself for one of its assignments
    (`set_items` or a deferred set, install_params), as a set of its own raised it; a
    CheckFailure saying what raised for the method itself."""
    if error.index >= 0:
        error.index = -1  # as from a set of its own
        return error
    return student_failure(what, error)


def plain(value):
    """The value inside a Converted (an ndarray subclass, a numpy scalar)."""
    return value.value if isinstance(value, Converted) else value


def as_float(value, what: str) -> float:
    value = plain(value)
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(())[()]
    if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        return float(value)
    raise CheckFailure(f"{what}: returned {type(value).__name__}, expected a number")


def as_array_like(value, like: np.ndarray, what: str) -> np.ndarray:
    """`value` as a float array shaped like `like`, or a CheckFailure saying what came back."""
    value = plain(value)
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
        raise CheckFailure(f"{what}: returned {type(value).__name__}, expected an array "
                           f"{like.dtype}{list(like.shape)}")
    if not accept_shape(what, value.shape, like.shape):  # Note [Singleton axes] in compare.py
        raise CheckFailure(f"{what}: shape {value.shape}, expected {like.shape}")
    return value.reshape(like.shape).astype(np.float64)


def in_sample(name: str, failure: CheckFailure) -> CheckFailure:
    return CheckFailure(f"[sample {name}] {failure.message}", hint=failure.hint,
                        details=failure.details)


# ---------------------------------------------------------------------------
# Bounds (Note [Statistical bounds])
# ---------------------------------------------------------------------------

def _kl(q: float, p: float) -> float:
    """KL divergence between Bernoulli(q) and Bernoulli(p), 0 < p < 1."""
    total = 0.0
    if q > 0:
        total += q * math.log(q / p)
    if q < 1:
        total += (1 - q) * math.log((1 - q) / (1 - p))
    return total


def _kl_crossing(n: int, p: float, limit: float, end: float) -> float:
    """The q between p and `end` where n * KL(q || p) reaches `limit`, or `end` if it never does."""
    if n * _kl(end, p) <= limit:
        return end
    inside, outside = p, end
    for _ in range(100):
        middle = (inside + outside) / 2
        inside, outside = (middle, outside) if n * _kl(middle, p) <= limit else (inside, middle)
    return inside


def kept_fraction_bounds(n: int, keep: float) -> tuple[float, float]:
    """[lo, hi] holding the kept fraction of n entries with probability >= 1 - FALSE_ALARM."""
    if keep >= 1.0:
        return 1.0, 1.0
    limit = math.log(2 / FALSE_ALARM)
    return _kl_crossing(n, keep, limit, 0.0), _kl_crossing(n, keep, limit, 1.0)


def mean_bound(x: np.ndarray, keep: float) -> float:
    """Largest |mean(out) - mean(x)| a correct inverted dropout reaches, but with FALSE_ALARM."""
    return math.sqrt(math.log(2 / FALSE_ALARM) * float(np.sum(x ** 2)) / 2) / (keep * x.size)


# ---------------------------------------------------------------------------
# dropout_forward / dropout_backward
# ---------------------------------------------------------------------------

# Note [Dropout samples inside the course's contract]
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
# dropout_param always has 'mode' and 'p', with the keep probability in (0, 1]
# (1: nothing dropped), or 1 - keep under the drop convention; 'seed' is
# present or absent; x is any shape with no zero entry (Note [Randomness in
# dropout checks]).  FullyConnectedNet is built with the constructor arguments
# the course names (hidden_dims, input_dim, num_classes, the dropout keyword of
# its year, normalization, reg, weight_scale, dtype, seed), each with a value
# other than its default somewhere.

QUESTIONS = questions.current()  # data drawn from it: Note [Fresh questions]


@dataclass(frozen=True)
class Case:
    """One dropout input: x (no zero entries), the keep probability, the mode and the seed."""
    name: str
    x: np.ndarray
    keep: float
    seed: int | None = None
    mode: str = "train"


def make_x(shape: tuple, data_seed: int, offset: float = 0.0) -> np.ndarray:
    x = QUESTIONS.rng(data_seed).standard_normal(shape) + offset
    x[x == 0] = 1.0  # Note [Randomness in dropout checks]: dx = dout * out / x needs x != 0
    return x


CASE_SEED = "case"  # run_forward's default: the seed the case itself names


def dropout_param(student, case: Case, seed: int | str | None = CASE_SEED,
                  mode: str | None = None) -> dict:
    """The dict the student's code receives, with `p` per Note [Dropout p convention]."""
    seed = case.seed if seed == CASE_SEED else seed
    param = {"mode": mode or case.mode, "p": p_for(student, case.keep)}
    if seed is not None:
        param["seed"] = seed
    return param


# Note [Dropout written for 2-D x]
# The course's dropout_forward takes "x: Input data, of any shape"; the notebook tries it on
# a (500, 500) x only, and the networks hand it (N, H) activations, so code that unpacks
# `N, D = x.shape` or draws np.random.rand(x.shape[0], x.shape[1]) passes there and raises
# on the grader's 3-D and 4-D samples (four real hand-ins, 2016-2019).  The exception alone
# ("too many values to unpack", "could not be broadcast") did not say what to change; a
# ValueError of either kind on an x that is not 2-D is named.  The verdict is the course's.
TWO_D_ONLY = ("dropout_forward works for 2-D x only (N, D = x.shape, or a mask drawn as "
              "np.random.rand(x.shape[0], x.shape[1])), and this x is {shape}: x is of any "
              "shape in the course; draw the mask with np.random.rand(*x.shape)")


def two_d_only(x: np.ndarray, error: StudentError) -> str:
    """What Note [Dropout written for 2-D x] names, or ''."""
    if x.ndim != 2 and error.type == "ValueError" and (
            "values to unpack" in error.message or "could not be broadcast" in error.message):
        return TWO_D_ONLY.format(shape=tuple(x.shape))
    return ""


def run_forward(student, case: Case, *, seed: int | str | None = CASE_SEED, mode: str | None = None,
                needed_by: str = ""):
    """(CallResult, out) of the student's dropout_forward on `case`."""
    what = (f"{needed_by} is checked against your `dropout_forward`, which" if needed_by
            else "`dropout_forward`")
    # out alone comes back; the cache stays in the worker, where dropout_backward takes it by
    # handle (Note [Items of a result] in grader/worker/runtime.py)
    try:
        result = student.call(LAYERS, "dropout_forward", case.x,
                              dropout_param(student, case, seed, mode), value_items=[0])
    except StudentError as error:
        # Note [Dropout written for 2-D x], before the traceback as builders' `raised` puts it
        raise student_failure(what, error).looking_like(two_d_only(case.x, error)) from None
    value = plain(result.value)
    if not isinstance(value, (tuple, list)) or len(value) < 2:
        raise CheckFailure(f"`dropout_forward` returned {type(value).__name__}, expected a tuple "
                           f"(out, cache) as the course's API specifies")
    return result, as_array_like(value[0], case.x, "dropout_forward out")


# Note [One run of each large sample]
# The train-mode fraction and mean checks both read the output of the notebook's experiment,
# x (500, 500) + 10 at three keep probabilities, each with a seed: 2 MB in, 4 MB back (out
# and the cache's mask) and about 25 ms a call, most of it the pipe.  Each sample now runs
# once per submission and both checks read that output (`shared_forward`), which halves
# those calls.  The samples carry their seed (Note [Randomness in dropout checks]), so a
# correct dropout_forward gives the same output on a second call and the verdicts are those
# of two calls; one that ignores the seed is judged on one draw by both checks, each
# statistical test keeping its own false-alarm bound (Note [Statistical bounds]).  Only an
# output is shared: a call that fails is made again by the next check, as before, where
# Note [Fail fast] refuses a function that timed out or crashed, with its own message.
def shared_forward(student, case: Case) -> np.ndarray:
    """The output of `run_forward(student, case)`, made once per submission and sample
    (Note [One run of each large sample])."""
    key = ("dropout_forward", case.name)
    out = student.shared.get(key)
    if out is None:
        _, out = run_forward(student, case)
        student.shared[key] = out
    return out


def inputs_of(student, case: Case, mode: str | None = None) -> dict:
    return {"x": case.x, "dropout_param": dropout_param(student, case, mode=mode)}


def compare_in_sample(case: Case, name: str, actual, expected, *, inputs: dict,
                      signatures=(), hint: str = "") -> None:
    __tracebackhide__ = True
    try:
        compare_arrays(name, actual, expected, inputs=inputs, signatures=signatures, hint=hint)
    except CheckFailure as failure:
        raise in_sample(case.name, failure) from None


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-6, atol=1e-12))


def kept_value_signatures(student, case: Case, out: np.ndarray) -> list[Signature]:
    kept, x, keep = out != 0, case.x, case.keep

    def kept_equal(values):
        return lambda a, e: bool(kept.any()) and _close(a[kept], values[kept])

    signatures = [Signature(lambda a, e: _close(a, x),
                            "out equals x everywhere: nothing is dropped or scaled in train "
                            "mode (is the 'train' branch reached?)"),
                  Signature(lambda a, e: not kept.all() and kept_equal(x)(a, e),
                            not_inverted_hint(student)),
                  Signature(kept_equal(x * keep), "kept entries equal x times the keep "
                            "probability: inverted dropout divides by it")]
    if keep < 1:
        signatures.append(Signature(kept_equal(x / (1 - keep)), p_as_other_hint(student)))
    return signatures


def check_kept_values(cases: list[Case], *, check_id: str, hidden: bool = False) -> Check:
    """Every train-mode entry is 0 or x / keep, exactly (Note [Randomness in dropout checks])."""
    def run(student) -> None:
        __tracebackhide__ = True
        for case in cases:
            _, out = run_forward(student, case)
            expected = np.where(out == 0, 0.0, case.x / case.keep)
            compare_in_sample(case, "out", out, expected, inputs=inputs_of(student, case),
                              signatures=kept_value_signatures(student, case, out),
                              hint=f"train mode: out = x * mask, mask = (np.random.rand("
                                   f"*x.shape) < keep) / keep, where keep = {keep_text(student)}")
            if hidden:
                check_kept_fraction(student, case, out)
    return Check(check_id, "dropout_forward",
                 "dropout_forward (train): every entry is 0 or x divided by the keep probability",
                 run, "inverted dropout: kept units are scaled by 1/keep, dropped units are 0",
                 hidden)


# Note [A mask drawn from randn]
# Three real hand-ins (cs231n 2017, 2021 and later) drew the mask as np.random.randn(*x.shape) < p:
# a standard normal where the course's np.random.rand is uniform on [0, 1), so a unit is
# kept with probability Phi(p), not p (0.60 for p = 0.25), and the kept units' 1 / p
# scaling no longer preserves the mean.  Every kept value is still x / p, so only the
# fraction and mean checks fail, and they said numbers only.  Where the kept fraction is
# what a normal draw gives, Phi(p) or 1 - Phi(p) for p = the keep or the drop probability
# (both conventions' spellings), the message names randn (`randn_hint`).


def _normal_cdf(value: float) -> float:
    return 0.5 * (1.0 + math.erf(value / math.sqrt(2.0)))


def randn_hint(case: Case, kept: float, n: int) -> str:
    """Note [A mask drawn from randn]: the hint when `kept` of `n` entries is what a mask
    drawn with np.random.randn keeps, else ""."""
    for p in {case.keep, 1 - case.keep}:
        for fraction in (_normal_cdf(p), 1 - _normal_cdf(p)):
            lo, hi = kept_fraction_bounds(n, fraction)
            if lo <= kept <= hi:
                return (f"a fraction {kept:.3f} kept is what a mask drawn from "
                        f"np.random.randn (a standard normal) keeps: randn < {p:g} holds with "
                        f"probability {_normal_cdf(p):.3f}, not {p:g}; draw the mask with "
                        f"np.random.rand, uniform on [0, 1)")
    return ""


def check_kept_fraction(student, case: Case, out: np.ndarray) -> None:
    kept = np.count_nonzero(out) / out.size
    lo, hi = kept_fraction_bounds(out.size, case.keep)
    if lo <= kept <= hi:
        return
    hint = ""
    other_lo, other_hi = kept_fraction_bounds(out.size, 1 - case.keep)
    if kept == 1.0:
        hint = "nothing was dropped: is dropout applied in train mode?"
    elif kept == 0.0:
        hint = "every entry was zeroed"
    elif other_lo <= kept <= other_hi:
        hint = p_as_other_hint(student)
    else:
        hint = randn_hint(case, kept, out.size)  # Note [A mask drawn from randn]
    raise CheckFailure(
        f"[sample {case.name}] {1 - kept:.6f} of the {out.size} entries of out are zero; with "
        f"keep probability {case.keep} the zeroed fraction must lie in "
        f"[{1 - hi:.6f}, {1 - lo:.6f}] (a correct implementation falls outside with "
        f"probability below {FALSE_ALARM:g})\ninputs: {summarize_inputs(inputs_of(student, case))}",
        hint=hint, details={"zeroed_fraction": 1 - kept, "bounds": [1 - hi, 1 - lo]})


def check_fraction(cases: list[Case]) -> Check:
    def run(student) -> None:
        __tracebackhide__ = True
        for case in cases:
            check_kept_fraction(student, case, shared_forward(student, case))
    return Check("dropout_forward/train_fraction_zeroed", "dropout_forward",
                 "dropout_forward (train): the fraction of zeroed entries is 1 - keep", run,
                 "each unit is dropped independently with probability 1 - keep")


def check_mean(cases: list[Case]) -> Check:
    def run(student) -> None:
        __tracebackhide__ = True
        for case in cases:
            out = shared_forward(student, case)
            x_mean, out_mean = float(case.x.mean()), float(out.mean())
            bound = mean_bound(case.x, case.keep)
            if abs(out_mean - x_mean) <= bound:
                continue
            hint = ""
            if abs(out_mean - case.keep * x_mean) <= bound * case.keep:
                hint = not_inverted_hint(student)
            else:  # Note [A mask drawn from randn]
                hint = randn_hint(case, np.count_nonzero(out) / out.size, out.size)
            raise CheckFailure(
                f"[sample {case.name}] mean of the train-time output is {out_mean:.6f}, mean of "
                f"x is {x_mean:.6f}: they must agree within {bound:.4f} (a correct "
                f"implementation differs more with probability below {FALSE_ALARM:g})\n"
                f"inputs: {summarize_inputs(inputs_of(student, case))}", hint=hint,
                details={"out_mean": out_mean, "x_mean": x_mean, "bound": bound})
    return Check("dropout_forward/train_mean_preserved", "dropout_forward",
                 "dropout_forward (train): the expected value of every unit is preserved", run,
                 "E[out] = x needs the kept units scaled by 1/keep")


def check_test_mode(cases: list[Case]) -> Check:
    def run(student) -> None:
        __tracebackhide__ = True
        for case in cases:
            _, out = run_forward(student, case)
            x = case.x
            signatures = [
                Signature(lambda a, e: bool(np.any(a == 0)),
                          "some entries are zero: dropout is applied at test time"),
                Signature(lambda a, e, x=x, k=case.keep: _close(a, x * k),
                          "out = x * p at test time is the original (non-inverted) dropout; "
                          "with inverted dropout the scaling happens at train time and test "
                          "mode returns x unchanged")]
            compare_in_sample(case, "out", out, x.copy(), inputs=inputs_of(student, case),
                              signatures=signatures, hint="in test mode out = x")
    return Check("dropout_forward/test_mode_identity", "dropout_forward",
                 "dropout_forward (test): returns x unchanged", run,
                 "test mode: no mask and no scaling, out = x")


def check_seed(case: Case) -> Check:
    """Same seed: same output; other seed or no seed: another output."""
    def run(student) -> None:
        __tracebackhide__ = True
        _, first = run_forward(student, case, seed=123)
        _, other = run_forward(student, case, seed=7)
        _, again = run_forward(student, case, seed=123)
        inputs = inputs_of(student, case)
        if not np.array_equal(first, again):
            differ = int(np.count_nonzero(first != again))
            raise CheckFailure(
                f"two calls with dropout_param['seed'] = 123 gave different outputs ({differ} of "
                f"{first.size} entries differ)\ninputs: {summarize_inputs(inputs)}",
                hint="the seed is ignored: when dropout_param has a 'seed', seed the generator "
                     "with it before drawing the mask (np.random.seed(dropout_param['seed']))")
        if np.array_equal(first, other):
            raise CheckFailure(
                f"seeds 123 and 7 gave the same output\ninputs: {summarize_inputs(inputs)}",
                hint="the mask does not depend on the seed: is a seed hard-coded?")
        _, unseeded = run_forward(student, case, seed=None)
        _, unseeded_again = run_forward(student, case, seed=None)
        if np.array_equal(unseeded, unseeded_again):
            raise CheckFailure(
                "two calls without a seed gave the same output: every training step would drop "
                f"the same units\ninputs: {summarize_inputs(inputs)}",
                hint="seed the generator only when dropout_param has a 'seed' (is a default "
                     "seed hard-coded?)")
    return Check("dropout_forward/seed_reproducible", "dropout_forward",
                 "dropout_forward (train): the same seed gives the same mask, another seed or "
                 "none gives another", run, "np.random.seed(dropout_param['seed']) when a seed is given")


def backward_signatures(student, out: np.ndarray, dout: np.ndarray) -> list[Signature]:
    dropped = out == 0
    return [
        Signature(lambda a, e: bool(dropped.any()) and _close(a, dout),
                  "dx equals dout: the mask is not applied in the backward pass"),
        Signature(lambda a, e: a.shape == dropped.shape and bool(np.any((a == 0) != dropped))
                  and not _close(a, dout),
                  "the entries that are zero in dx are not the ones dropped in out: reuse the "
                  "mask stored in the cache instead of drawing a new one"),
        Signature(lambda a, e: not dropped.all() and _close(a, dout * ~dropped),
                  f"dx misses the {scale_text(student)} scale that the forward pass applied"),
    ]


def check_backward_train(cases: list[Case], *, hidden: bool = False) -> Check:
    """dx is the derivative of the student's own forward: dout * out / x."""
    def run(student) -> None:
        __tracebackhide__ = True
        checked = 0
        for number, case in enumerate(cases):
            forward, out = run_forward(student, case, needed_by="`dropout_backward`")
            if not np.all(np.isfinite(out)):
                continue  # no derivative to compare with; dropout_forward's checks say why
            checked += 1
            dout = QUESTIONS.rng(100 + number).standard_normal(case.x.shape)
            result = call_student(student, LAYERS, "dropout_backward", dout, forward.ref.item(1))
            compare_in_sample(case, "dx", plain(result.value), dout * (out / case.x) + 0.0,
                              inputs={"dout": dout, **inputs_of(student, case)},
                              signatures=backward_signatures(student, out, dout),
                              hint="dx = dout * mask, the same mask (with its scale) as the "
                                   "forward pass, taken from the cache")
        if not checked:
            raise CheckFailure("`dropout_backward` is checked against the output of your "
                               "`dropout_forward`, which contains NaN or infinite values on "
                               "every sample: fix dropout_forward first")
    return Check("dropout_backward/train_dx" + ("_hidden" if hidden else ""), "dropout_backward",
                 "dropout_backward (train): dx = dout * mask of your own forward pass", run,
                 "dx = dout * mask, with the mask saved in the cache", hidden)


def check_backward_test(cases: list[Case]) -> Check:
    def run(student) -> None:
        __tracebackhide__ = True
        for number, case in enumerate(cases):
            forward, _ = run_forward(student, case, needed_by="`dropout_backward`")
            dout = QUESTIONS.rng(200 + number).standard_normal(case.x.shape)
            result = call_student(student, LAYERS, "dropout_backward", dout, forward.ref.item(1))
            compare_in_sample(case, "dx", plain(result.value), dout.copy(),
                              inputs={"dout": dout, **inputs_of(student, case)},
                              hint="in test mode the gradient passes through unchanged: dx = dout")
    return Check("dropout_backward/test_dx", "dropout_backward",
                 "dropout_backward (test): dx = dout", run, "test mode: dx = dout")


# ---------------------------------------------------------------------------
# FullyConnectedNet with dropout
# ---------------------------------------------------------------------------

# Note [Network parameters for dropout checks]
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
# The grader installs its own parameters in the student's network (through
# model.params), so nothing depends on the student's initialisation.  Inputs
# lie in [-1, 1]; hidden biases are +1 or -1 and each weight matrix is so
# small that |a @ W| <= 1/2 for every reachable layer input a (entries at most
# 3/2 / keep after dropout), so every pre-activation stays at least 1/2 away
# from the ReLU kink for ANY dropout mask.  Numerical derivatives with steps of
# 1e-5 then never cross a kink, while units with bias -1 still exercise the
# ReLU's zero gradient.  With all biases +1 every hidden unit is active, so a
# zero after the ReLU can only be a dropped unit
# (Note [Reading hidden activations]).

# Note [Reading hidden activations]
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
# loss(X, y) returns only the loss and gradients, but for one example (N = 1)
# the gradient of an affine layer is an outer product: dW_i = a^T db_i with a
# the layer's input.  So a = dW_i @ db_i / |db_i|^2 is the train-time output of
# hidden layer i - 1, after dropout, exactly as the student's forward pass
# computed it (it relies on the affine gradient only, not on dropout_backward).
# Each hidden layer's output must then be 0 or relu(a_prev @ W + b) / keep,
# with a plausible kept fraction, and the loss must be the softmax loss of the
# scores of the last hidden layer's output.

HIDDEN_BIAS = 1.0
DIRECTIONAL_STEP = 1e-5
DIRECTIONAL_TOLERANCE = 1e-5
ELEMENTWISE_ENTRIES = 24


@dataclass(frozen=True)
class NetCase:
    """A network, its data and the dropout setting: everything one check needs."""
    name: str
    hidden_dims: tuple[int, ...]
    input_dim: int
    num_classes: int
    batch: int
    keep: float
    seed: int | None = 123
    reg: float = 0.0
    data_seed: int = 0
    all_active: bool = False  # every hidden bias +1 (Note [Network parameters for dropout checks])
    normalization: str | None = None  # 'batchnorm' or 'layernorm' (Note [Dropout with normalization])

    def params(self) -> dict[str, np.ndarray]:
        """The case's parameters, drawn once per process (Note [Drawn once per process])."""
        return _DRAWN.get(("params", self))

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        """The case's (X, y), drawn once per process (Note [Drawn once per process])."""
        return _DRAWN.get(("data", self))

    def _params(self) -> dict[str, np.ndarray]:
        rng = QUESTIONS.rng(self.data_seed)
        dims = [self.input_dim, *self.hidden_dims, self.num_classes]
        params = {}
        for i in range(1, len(dims)):
            fan_in, fan_out = dims[i - 1], dims[i]
            if i < len(dims) - 1:
                largest_input = 1.0 if i == 1 else (HIDDEN_BIAS + 0.5) / self.keep
                scale = 0.5 / (fan_in * largest_input)
                bias = np.where(np.arange(fan_out) % 2 == 0, HIDDEN_BIAS, -HIDDEN_BIAS)
                params[f"b{i}"] = np.full(fan_out, HIDDEN_BIAS) if self.all_active else bias
                if self.normalization:
                    averaged = self.batch if self.normalization == "batchnorm" else fan_out
                    params[f"gamma{i}"] = rng.uniform(0.2, 0.5, fan_out) / math.sqrt(
                        max(averaged - 1, 1))
                    params[f"beta{i}"] = bias
            else:
                scale = 1.0 / math.sqrt(fan_in)
                params[f"b{i}"] = 0.1 * rng.standard_normal(fan_out)
            params[f"W{i}"] = rng.uniform(-scale, scale, (fan_in, fan_out))
        return params

    def _data(self) -> tuple[np.ndarray, np.ndarray]:
        rng = QUESTIONS.rng(self.data_seed + 1)
        return (rng.uniform(-1, 1, (self.batch, self.input_dim)),
                rng.integers(self.num_classes, size=self.batch))

    def describe(self) -> str:
        return (f"hidden_dims={list(self.hidden_dims)}, N={self.batch}, D={self.input_dim}, "
                f"C={self.num_classes}, reg={self.reg}, keep probability {self.keep}, "
                f"seed={self.seed}"
                + (f", normalization='{self.normalization}'" if self.normalization else ""))


# Note [Drawn once per process]
# A case's parameters and data are a pure function of the case and the questions (Note [Fresh
# questions] in grader/checks/questions.py), and the checks drew them again wherever they were
# needed: 36 parameter draws and 16 data draws per dropout submission, and 78 directions of
# the directional tests (`direction_for`, a function of the shape and the parameter's number).  They are drawn once per
# process and kept as the reference's answers are (Note [Answers kept per process] in
# grader/checks/answers.py: read-only arrays in fresh dicts and tuples, so no check can change
# what the next one reads); equal cases draw equal numbers, so they share them.
_DRAWN = Answers(lambda key: getattr(key[1], "_" + key[0])())


def parameter_names(signature: str) -> set[str]:
    return set(re.findall(r"(?:^\(|,)\s*\**([A-Za-z_]\w*)", signature))


def dropout_keyword(student, case: NetCase) -> tuple[str, float]:
    """(keyword, value) that asks the student's network for `case.keep`; Note [Dropout p convention]."""
    names = parameter_names(student.signature(FC_NET, NET))
    if "dropout_keep_ratio" in names:
        return "dropout_keep_ratio", case.keep
    if "dropout" in names:
        return "dropout", p_for(student, case.keep)
    raise CheckFailure(f"`{NET}` takes neither `dropout` nor `dropout_keep_ratio`: the course's "
                       f"constructor has one of them for the dropout probability")


def float64_in_worker(student):
    """np.dtype('float64') made inside the worker: a numpy type cannot cross the wire as data.
    Made once per worker process (Note [Worker constants] in grader/checks/student.py), where
    every network built made its own: one request per network (np.dtype('float64') is numpy's
    one float64 dtype object, so every network is handed the very object it was before)."""
    return student.constant("numpy", "dtype", "float64")


def normalization_keyword(student, normalization: str) -> dict:
    """normalization='...', or an older course's use_batchnorm=True, as the signature has it."""
    names = parameter_names(student.signature(FC_NET, NET))
    if "normalization" in names:
        return {"normalization": normalization}
    if "use_batchnorm" in names and normalization == "batchnorm":
        return {"use_batchnorm": True}
    raise CheckFailure(f"`{NET}` takes no `normalization` argument, so it cannot build a network "
                       f"with dropout and normalization='{normalization}'")


def build_net(student, case: NetCase):
    """The student's network for `case`, with the grader's parameters installed."""
    return build_net_and_shapes(student, case)[0]


def build_net_and_shapes(student, case: NetCase):
    """(the student's network for `case` with the grader's parameters installed, the shape
    its params keep each of them in)."""
    keyword, value = dropout_keyword(student, case)
    kwargs = {"input_dim": case.input_dim, "num_classes": case.num_classes,
              "weight_scale": 5e-2, "dtype": float64_in_worker(student), "reg": case.reg,
              keyword: value}
    if case.normalization:
        kwargs.update(normalization_keyword(student, case.normalization))
    if case.seed is not None:
        if "seed" not in parameter_names(student.signature(FC_NET, NET)):
            raise CheckFailure(f"`{NET}` has no `seed` argument; the course's constructor takes "
                               f"seed to fix the dropout masks")
        kwargs["seed"] = case.seed
    try:
        # its params read in the same request (Note [Reads folded into a call] in
        # grader/worker/client.py), for install_params
        model = student.new(FC_NET, NET, list(case.hidden_dims), reads=(("params",),), **kwargs)
    except StudentError as error:
        raise student_failure(f"`{NET}({list(case.hidden_dims)}, {keyword}={value}, ...)`",
                              error) from None
    try:
        return model, install_params(model, case.params())
    except CheckFailure as failure:
        if not case.normalization:
            raise
        # a network without one normalization fails here with only a parameter's name
        raise CheckFailure(f"{failure.message} (the network was built with "
                           f"normalization='{case.normalization}')", hint=failure.hint,
                           details=failure.details) from None


def install_params(model, params: dict[str, np.ndarray]) -> dict[str, tuple]:
    """Set every parameter, each in the shape the student's network keeps it in (a (1, H)
    bias passes with a note: Note [Singleton axes] in grader/checks/compare.py), in the
    request of the network's next call; returns those shapes."""
    try:
        own = plain(model.initial("params"))
    except StudentError as error:
        raise student_failure(f"reading `{NET}.params`", error) from None
    if not isinstance(own, dict):
        raise CheckFailure(f"`{NET}.params` is {type(own).__name__}, expected a dict")
    shapes = {}
    for name, value in params.items():
        if name not in own:
            raise CheckFailure(f"`{NET}.params` has no '{name}'; expected {sorted(params)}")
        shape = getattr(plain(own[name]), "shape", None)
        if shape is None or not accept_shape(f"`{NET}.params['{name}']`", shape, value.shape):
            raise CheckFailure(f"`{NET}.params['{name}']` has shape {shape}, expected {value.shape}")
        shapes[name] = shape
    # made first in the next call's request (Note [Sets folded into a call] in
    # grader/worker/client.py): every network here is called right after it is built, and
    # call_method raises a failing assignment's StudentError as a set of its own raised it
    model.defer_set_items("params", {name: value.reshape(shapes[name]) for name, value in params.items()})
    return shapes


def train_loss(model, case: NetCase, X: np.ndarray, y: np.ndarray,
               params: dict[str, np.ndarray]) -> tuple[float, dict]:
    value = plain(call_method(model, "loss", X, y, what=f"`{NET_LOSS}(X, y)`").value)
    if not isinstance(value, (tuple, list)) or len(value) != 2 or not isinstance(value[1], dict):
        raise CheckFailure(f"`{NET_LOSS}(X, y)` returned {type(value).__name__}, expected "
                           f"(loss, grads) with grads a dict")
    loss, grads = as_float(value[0], f"`{NET_LOSS}` loss"), value[1]
    for name, like in params.items():
        if name not in grads:
            raise CheckFailure(f"grads has no '{name}'; expected a gradient for every parameter")
        grads[name] = as_array_like(grads[name], like, f"grads['{name}']")
    return loss, grads


def reference_net(case: NetCase, keep: float) -> ref_fc.FullyConnectedNet:
    """The reference network with the case's parameters; numpy's global generator is left as it was."""
    state = np.random.get_state()
    try:
        net = ref_fc.FullyConnectedNet(list(case.hidden_dims), input_dim=case.input_dim,
                                       num_classes=case.num_classes, dropout_keep_ratio=keep,
                                       reg=case.reg, dtype=np.float64, seed=case.seed,
                                       normalization=case.normalization)
    finally:
        np.random.set_state(state)
    net.params = case.params()
    return net


TEST_TIME_HINT = ("is dropout applied at test time? When y is None, set "
                  "self.dropout_param['mode'] = 'test' before the forward pass")


# Note [Which penalty the loss holds, without dropout]
# With keep probability 1 the scores are compared first, so a loss that differs after them
# differs in its penalty or its softmax.  A real 2022 hand-in left the last layer's W out of
# its penalty and was told only "loss: got 1.267, expected 1.296".  The loss is now compared
# with the known wrong penalties of Note [Which penalty the loss holds] (the reference's data
# loss plus each), and a match is named.  The verdict is unchanged.

def penalty_signatures(case: NetCase, params: dict) -> list[Signature]:
    """Note [Which penalty the loss holds, without dropout]."""
    if case.reg == 0:
        return []
    full, known = known_penalties(case, params)
    return [Signature(lambda actual, expected, shift=penalty - full: math.isclose(
                float(actual), float(expected) + shift, rel_tol=1e-6, abs_tol=1e-9), text)
            for text, penalty in known
            if not math.isclose(penalty, full, rel_tol=1e-9, abs_tol=1e-12)]


def check_no_dropout(cases: list[NetCase]) -> Check:
    """With keep = 1 nothing is random: scores, loss and grads equal the reference's."""
    def run(student) -> None:
        __tracebackhide__ = True
        for case in cases:
            X, y = case.data()
            params = case.params()
            model = build_net(student, case)
            loss, grads = train_loss(model, case, X, y, params)
            scores = plain(call_method(model, "loss", X, what=f"`{NET_LOSS}(X)`").value)
            reference = reference_net(case, keep=1.0)
            ref_scores = reference.loss(X)
            ref_loss, ref_grads = reference.loss(X, y)
            inputs = {"X": X, "y": y}
            try:
                compare_arrays("scores", scores, ref_scores, inputs=inputs)
                compare_scalar("loss", loss, ref_loss, inputs=inputs,
                               signatures=penalty_signatures(case, params))
                for name in sorted(ref_grads):
                    compare_arrays(f"grads['{name}']", grads[name], ref_grads[name], inputs=inputs)
            except CheckFailure as failure:
                raise in_sample(case.name, failure) from None
    return Check("FullyConnectedNet.loss/no_dropout_matches_reference", NET_LOSS,
                 "FullyConnectedNet without dropout (keep probability 1): scores, loss and "
                 "gradients match the reference", run,
                 "with keep probability 1 the network must not add dropout layers")


def compare_test_time_scores(student, case: NetCase, name: str) -> None:
    """loss(X) after one training pass equals the reference's after the same pass (its batch
    norm's running averages included; nothing else keeps state)."""
    __tracebackhide__ = True
    X, y = case.data()
    model = build_net(student, case)
    train_loss(model, case, X, y, case.params())
    scores = plain(call_method(model, "loss", X, what=f"`{NET_LOSS}(X)`").value)
    reference = reference_net(case, case.keep)
    reference.loss(X, y)
    expected = reference.loss(X)
    try:
        # Note [A wrong batchnorm test mode under dropout]
        compare_arrays(name, scores, expected, inputs={"X": X}, hint=TEST_TIME_HINT,
                       signatures=bn_test_mode_signatures(case, reference, X, expected))
    except CheckFailure as failure:
        raise in_sample(case.name, failure) from None


# Note [A wrong batchnorm test mode under dropout]
# With batchnorm on, the test-time scores after one training pass go through batchnorm's test
# mode, which the batchnorm assignment grades.  Real hand-ins with a right dropout switch
# failed here on a batchnorm_forward slip the batchnorm assignment names, and got only numbers
# and a hint asking whether dropout runs at test time: a 2020 test mode gamma * (x -
# running_mean) / (sqrt(running_var) + eps) - beta (Note [beta subtracted at test time] in
# assignments/batchnorm/checks.py), and two 2021 ones with eps outside the root, or with
# running_var averaging var + eps during training.  The reference's network with each known
# wrong line, from its own running averages after the same one training pass (for var + eps,
# the eps * (1 - momentum) that pass added), gives the scores that name the layer.  Only the
# message changes: the scores still differ from the reference's, and the check fails as
# before; whether one batchnorm bug should also cost this check is an open question for the
# instructor.
BN_TEST_SLIPS = (
    ("beta is subtracted (gamma * x_hat - beta)", -1.0, "root"),
    ("eps is added outside the square root (sqrt(running_var) + eps)", 1.0, "outside"),
    ("eps is missing (sqrt(running_var))", 1.0, "missing"),
    ("beta is subtracted (gamma * x_hat - beta) and eps is added outside the square root "
     "(sqrt(running_var) + eps)", -1.0, "outside"),
    ("beta is subtracted (gamma * x_hat - beta) and eps is missing (sqrt(running_var))",
     -1.0, "missing"),
)
BN_TEST_SLIP_HINT = ("batchnorm's test mode is wrong: {what}; it must be gamma * (x - "
                     "running_mean) / sqrt(running_var + eps) + beta (the batchnorm assignment's "
                     "batchnorm_forward); the network's dropout at test time is right")
# Note [A named cause replaces a hint that points elsewhere] in grader/checks/compare.py
BN_TEST_MODE_HINT = ("dropout at test time is right here; batchnorm's test mode is not: out = "
                     "gamma * (x - running_mean) / sqrt(running_var + eps) + beta, with "
                     "running_var averaging the batch variances themselves (the batchnorm "
                     "assignment's batchnorm_forward)")
EPS_IN_RUNNING_VAR = ("batchnorm's running_var averages var + eps during training (the batchnorm "
                      "assignment's running_averages check names it), so test mode divides by a "
                      "slightly larger variance: average the batch variance itself; the "
                      "network's dropout at test time is right")
TRAINING_PASSES = 1  # compare_test_time_scores trains once before its test pass


def _bn_test_slip_scores(case: NetCase, reference, X: np.ndarray, sign: float,
                         eps_at: str) -> np.ndarray:
    """The reference's test-time scores with one wrong batchnorm test-mode line, from its own
    running averages (Note [A wrong batchnorm test mode under dropout])."""
    params, layers = case.params(), len(case.hidden_dims) + 1
    out = X
    for i in range(1, layers):
        a = out @ params[f"W{i}"] + params[f"b{i}"]
        p = reference.bn_params[i - 1]
        var, eps = p["running_var"], p.get("eps", 1e-5)
        grown = eps * (1 - p.get("momentum", 0.9) ** TRAINING_PASSES)
        std = {"root": np.sqrt(var + eps), "outside": np.sqrt(var) + eps, "missing": np.sqrt(var),
               "in the running variance": np.sqrt(var + grown + eps)}[eps_at]
        out = np.maximum(params[f"gamma{i}"] * (a - p["running_mean"]) / std
                         + sign * params[f"beta{i}"], 0)
    return out @ params[f"W{layers}"] + params[f"b{layers}"]


def bn_test_mode_signatures(case: NetCase, reference, X: np.ndarray,
                            expected: np.ndarray) -> list[Signature]:
    """Note [A wrong batchnorm test mode under dropout]; none without batchnorm."""
    if case.normalization != "batchnorm":
        return []
    signatures = []
    slips = [(BN_TEST_SLIP_HINT.format(what=what), sign, eps_at)
             for what, sign, eps_at in BN_TEST_SLIPS]
    for text, sign, eps_at in slips + [(EPS_IN_RUNNING_VAR, 1.0, "in the running variance")]:
        with np.errstate(all="ignore"):
            scores = _bn_test_slip_scores(case, reference, X, sign, eps_at)
        if np.all(np.isfinite(scores)) and not _close(scores, expected):
            signatures.append(Signature(lambda a, e, v=scores: _close(np.asarray(a), v), text,
                                        instead=BN_TEST_MODE_HINT))
    return signatures


def check_test_time(cases: list[NetCase]) -> Check:
    """With keep < 1, loss(X) after a training call returns the scores without dropout."""
    def run(student) -> None:
        __tracebackhide__ = True
        for case in cases:
            compare_test_time_scores(student, case, "scores")
    return Check("FullyConnectedNet.loss/test_time_no_dropout", NET_LOSS,
                 "FullyConnectedNet with dropout: loss(X) (test time) applies no dropout", run,
                 "at test time (y is None) the network runs without dropout")


def read_layer_inputs(grads: dict, num_layers: int) -> dict[int, np.ndarray]:
    """{i: input of layer i} for i >= 2, from dW_i = a^T db_i (Note [Reading hidden activations])."""
    inputs = {}
    for i in range(2, num_layers + 1):
        db, dW = grads[f"b{i}"], grads[f"W{i}"]
        norm = float(db @ db)
        if norm == 0.0:
            raise CheckFailure(f"grads['b{i}'] is all zero for one example, so the train-time "
                               f"output of hidden layer {i - 1} cannot be read from grads['W{i}']")
        a = dW @ db / norm
        if not np.allclose(dW, np.outer(a, db), rtol=1e-6, atol=1e-12 * float(np.max(np.abs(dW)))):
            raise CheckFailure(f"for one example grads['W{i}'] must be the outer product of layer "
                               f"{i}'s input and grads['b{i}'], and it is not: check affine_backward "
                               f"and how the network calls it")
        inputs[i] = a
    return inputs


def check_hidden_output(student, case: NetCase, layer: int, out: np.ndarray,
                        before_dropout: np.ndarray) -> None:
    """Hidden layer `layer`'s train-time output: 0 or h / keep, with a plausible kept fraction."""
    dropped = np.abs(out) <= 1e-12 * np.abs(before_dropout)
    name = f"hidden layer {layer} output"
    if case.keep < 1 and not dropped.any():
        raise CheckFailure(f"{name}: none of its {out.size} units was dropped: dropout must follow "
                           f"every hidden ReLU at train time", hint=
                           "add a dropout layer after the ReLU of every hidden layer when the "
                           "keep probability is below 1, in 'train' mode when y is given")
    expected = np.where(dropped, 0.0, before_dropout / case.keep)
    kept = ~dropped
    signatures = [Signature(lambda a, e: _close(a[kept], before_dropout[kept]),
                            not_inverted_hint(student))]
    if case.keep < 1:
        signatures.append(Signature(
            lambda a, e: _close(a[kept], before_dropout[kept] / (1 - case.keep)),
            p_as_other_hint(student)))
    try:
        compare_arrays(name, out, expected, signatures=signatures,
                       hint="each hidden unit after dropout is 0 or its ReLU output / keep")
    except CheckFailure as failure:
        raise CheckFailure(f"{failure.message}\n(the train-time output of hidden layer {layer} is "
                           f"read from grads['W{layer + 1}'] and grads['b{layer + 1}'] for one "
                           f"example)", hint=failure.hint, details=failure.details) from None
    lo, hi = kept_fraction_bounds(out.size, case.keep)
    fraction = float(np.mean(kept))
    if not lo <= fraction <= hi:
        raise CheckFailure(f"{name}: {fraction:.3f} of its {out.size} units were kept; with keep "
                           f"probability {case.keep} the fraction must lie in [{lo:.3f}, {hi:.3f}]",
                           hint=p_as_other_hint(student) if fraction < case.keep else "")


def check_train_dropout(cases: list[NetCase]) -> Check:
    """Dropout really happens after every hidden ReLU at train time, even after a test-time call."""
    def run(student) -> None:
        __tracebackhide__ = True
        for case in cases:
            X, y = case.data()
            params = case.params()
            model = build_net(student, case)
            call_method(model, "loss", X, what=f"`{NET_LOSS}(X)`")
            loss, grads = train_loss(model, case, X, y, params)
            num_layers = len(case.hidden_dims) + 1
            try:
                inputs = read_layer_inputs(grads, num_layers)
                a = X.reshape(1, -1)[0]
                for layer in range(1, num_layers):
                    h = np.maximum(0.0, a @ params[f"W{layer}"] + params[f"b{layer}"])
                    check_hidden_output(student, case, layer, inputs[layer + 1], h)
                    a = inputs[layer + 1]
                scores = a @ params[f"W{num_layers}"] + params[f"b{num_layers}"]
                expected = ref_layers.softmax_loss(scores[None, :], y)[0]
                compare_scalar("loss", loss, expected, hint=(
                    "the train-time loss must be the softmax loss of the scores computed from "
                    "the last hidden layer's output after dropout (no dropout on the scores)"))
            except CheckFailure as failure:
                raise in_sample(case.name, failure) from None
    return Check("FullyConnectedNet.loss/train_dropout_applied", NET_LOSS,
                 "FullyConnectedNet with dropout: at train time every hidden layer's output is "
                 "dropped and scaled", run,
                 "dropout after every hidden ReLU, in 'train' mode when y is given")


SEED_HINT = ("the seed is not used: store it in self.dropout_param['seed'] so every forward "
             "pass draws the same masks")


def check_gradients(cases: list[NetCase], *, hidden: bool = False) -> Check:
    """With a seed the masks are fixed: grads equal numerical derivatives of the student's own loss."""
    def run(student) -> None:
        __tracebackhide__ = True
        for case in cases:
            check_case_gradients(student, case)
    return Check("FullyConnectedNet.loss/dropout_gradients" + ("_hidden" if hidden else ""),
                 NET_LOSS, "FullyConnectedNet with dropout: gradients match numerical derivatives "
                 "of your own loss (masks fixed by the seed)", run,
                 "in the backward pass, call dropout_backward with each hidden layer's own "
                 "dropout cache (if dropout_backward's own checks fail, fix those first)",
                 hidden)


def check_case_gradients(student, case: NetCase) -> float:
    """The case's masks are fixed by its seed, and every gradient matches the numerical
    derivative of the student's own loss; returns that loss."""
    __tracebackhide__ = True
    X, y = case.data()
    params = case.params()
    model, shapes = build_net_and_shapes(student, case)
    loss, grads = train_loss(model, case, X, y, params)
    again, _ = train_loss(model, case, X, y, params)
    if not math.isclose(loss, again, rel_tol=1e-12, abs_tol=0.0):
        raise CheckFailure(f"[sample {case.name}] two identical calls loss(X, y) with "
                           f"seed={case.seed} gave {loss!r} and {again!r}: the dropout "
                           f"masks are not fixed by the seed", hint=SEED_HINT)
    try:
        check_softmax_consistency(case, loss, grads, params, y)
    except CheckFailure as failure:
        raise in_sample(case.name, failure) from None
    tested = [(number, name) for number, name in enumerate(sorted(params))
              if not (name in batchnormed_biases(case)  # exactly 0: Note [Dropout with normalization]
                      and float(np.max(np.abs(grads[name]))) <= 1e-9)]
    numeric, moved = directional_derivatives(model, X, y, params, tested, shapes)
    for (number, name), derivative in zip(tested, numeric):
        try:
            check_param_gradient(model, case, X, y, params, name, grads[name], number,
                                 shapes.get(name, params[name].shape), derivative, moved)
        except CheckFailure as failure:
            raise in_sample(case.name, failure) from None
    return loss


# Note [The loss is a softmax loss]
# Gradients are compared with numerical derivatives of the student's own loss
# (the masks are the student's, fixed by the seed), so a constant loss with zero
# gradients would agree with itself (Note [Judge holds the state] in
# grader/checks/trust.py).  Whatever the masks, the last layer is affine with
# no dropout, so its bias gradient is mean_i (p_i - onehot(y_i)) for the softmax
# probabilities p_i: the judge reads the mean probabilities back from it and
# requires them to be a probability vector, the data loss (the loss less
# 0.5 * reg * sum W**2 of the judge's parameters) to be at least
# -log(sum of the mean probabilities of the labels present) (Jensen), and, for
# one example, exactly -log p_y.  A correct network meets these to rounding.

def check_softmax_consistency(case: NetCase, loss: float, grads: dict, params: dict,
                              y: np.ndarray) -> None:
    """See Note [The loss is a softmax loss]."""
    last = f"b{len(case.hidden_dims) + 1}"
    g = np.asarray(grads[last], dtype=np.float64).reshape(-1)
    counts = np.bincount(np.asarray(y), minlength=g.size)[:g.size] / len(y)
    mean_p = g + counts
    if abs(float(g.sum())) > 1e-8 or mean_p.min() < -1e-9 or mean_p.max() > 1 + 1e-9:
        raise CheckFailure(f"grads['{last}'] + (label frequencies) = {np.round(mean_p, 6)} is "
                           f"not a probability vector: the last layer's bias gradient of a "
                           f"softmax loss is the mean of (softmax probabilities - one-hot labels)")
    penalty = 0.5 * case.reg * sum(float(np.sum(v ** 2)) for k, v in params.items()
                                   if k.startswith("W"))
    data_loss = loss - penalty
    # sorted(set(...)), not np.unique, whose first call imports numpy.ma (10 ms of a check)
    present = float(np.clip(mean_p[sorted(set(np.asarray(y).tolist()))].sum(), 1e-300, 1.0))
    if len(y) == 1:
        expected = -math.log(max(float(mean_p[int(y[0])]), 1e-300))
        if not math.isclose(data_loss, expected, rel_tol=1e-6, abs_tol=1e-9):
            raise CheckFailure(f"the loss less the L2 penalty is {data_loss:.8g}, but grads['{last}'] "
                               f"says the softmax probability of the label is "
                               f"{math.exp(-expected):.6g}, whose loss is {expected:.8g}: the loss "
                               f"and the gradients do not belong together"
                               + _penalty_note(case, loss - expected, params))
    elif data_loss < -math.log(present) - 1e-9:
        raise CheckFailure(f"the loss less the L2 penalty is {data_loss:.8g}, below what the "
                           f"softmax probabilities in grads['{last}'] allow ({-math.log(present):.8g})")


# Note [Which penalty the loss holds]
# With one example the data loss is exactly -log p_y, read from the last bias
# gradient (Note [The loss is a softmax loss]), so the loss less that is the
# penalty the student's loss holds.  Where it equals a penalty a known mistake
# gives (one weight matrix left out, the 0.5 missing, none at all), the failure
# says so: a real 2020 hand-in regularized only its hidden layers' W and was told
# only that "the loss and the gradients do not belong together", with a hint
# about dropout caches.  The verdict is unchanged; only the message names it.

def known_penalties(case: NetCase, params: dict) -> tuple[float, list[tuple[str, float]]]:
    """The course's penalty and [(mistake, the penalty it gives)]; Note [Which penalty the
    loss holds]."""
    squares = {k: 0.5 * case.reg * float(np.sum(v ** 2)) for k, v in sorted(params.items())
               if k.startswith("W")}
    full = sum(squares.values())
    known = [(f"the L2 penalty leaves out {name}: 0.5 * reg * sum(W**2) covers every weight "
              f"matrix, the last layer's too", full - part) for name, part in squares.items()]
    known += [("the L2 penalty is reg * sum(W**2); the course's is 0.5 * reg * sum(W**2)",
               2 * full), ("the loss holds no L2 penalty; add 0.5 * reg * sum(W**2) over "
                           "every weight matrix", 0.0)]
    return full, known


def _penalty_note(case: NetCase, held: float, params: dict) -> str:
    """'looks like: ...' when `held` (the loss less -log p_y) is a known wrong penalty;
    see Note [Which penalty the loss holds]."""
    if case.reg == 0:
        return ""
    _, known = known_penalties(case, params)
    for text, penalty in known:
        if math.isclose(held, penalty, rel_tol=1e-6, abs_tol=1e-9):
            return f"\nlooks like: {text}"
    return ""


# Note [Dropout with normalization]
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
# The course's best-model cell builds FullyConnectedNet with dropout AND batch
# normalization, so the two are checked together, each hidden block being
# affine -> batchnorm/layernorm -> relu -> dropout.  What holds for every
# correct network whatever its masks:
# - dropout happens: the train-time loss differs from the reference's without
#   dropout (same parameters, same batch; equal only if no unit is dropped,
#   0.6**45 and 0.7**42 < 1e-6 for the samples here, and since the masks are
#   seeded a submission's verdict never changes);
# - gradients match numerical derivatives of the student's own loss (masks
#   fixed by the seed), gamma and beta included;
# - test-time scores after one training pass equal the reference's: layer
#   norm has no state, and with one hidden layer the batch norm's running
#   averages come from X @ W1 + b1 alone, never from a mask (with the
#   course's bn_param defaults, momentum 0.9 and eps 1e-5, which every
#   cs231n year shares; the batchnorm assignment's conventions name them).
# A batch-normalized layer's bias b{i} has gradient exactly 0 (batchnorm
# subtracts the batch mean, so b{i} cancels); its numerical derivative is
# rounding noise (~1e-11) that the directional test's floor cannot tell from a
# wrong value, so a claimed gradient within 1e-9 of 0 is accepted as it is
# and any larger one goes through the directional test (which fails it).
# gamma{i} is at most 0.5 / sqrt(m - 1) (m the number of entries averaged, so
# |gamma * x_hat| <= 1/2) and beta{i} is +1 or -1, so every ReLU input stays
# 1/2 away from the kink (Note [Network parameters for dropout checks]).

def batchnormed_biases(case: NetCase) -> set[str]:
    """b{i} of the batch-normalized hidden layers, whose gradient is 0 (batchnorm removes the mean)."""
    if case.normalization != "batchnorm":
        return set()
    return {f"b{i}" for i in range(1, len(case.hidden_dims) + 1)}


NORMALIZED_HINT = ("each hidden block is affine -> batchnorm/layernorm -> relu -> dropout: with "
                   "normalization on, dropout still follows every ReLU, and the backward pass "
                   "undoes both (dropout_backward, then the normalization's backward)")


def check_with_normalization(cases: list[NetCase]) -> Check:
    """Dropout together with batch or layer normalization; Note [Dropout with normalization]."""
    def run(student) -> None:
        __tracebackhide__ = True
        for case in cases:
            compare_test_time_scores(student, case, "test-time scores after one training pass")
            loss = check_case_gradients(student, case)
            X, y = case.data()
            without = reference_net(case, 1.0).loss(X, y)[0]
            if math.isclose(loss, without, rel_tol=1e-9, abs_tol=1e-12):
                raise CheckFailure(
                    f"[sample {case.name}] the training loss {loss!r} is the loss of the same "
                    f"network without dropout: no unit is dropped when normalization is on",
                    hint=NORMALIZED_HINT)
    return Check("FullyConnectedNet.loss/dropout_with_normalization", NET_LOSS,
                 "FullyConnectedNet with dropout and batch or layer normalization (the course's "
                 "best-model configuration)", run, NORMALIZED_HINT)


def loss_with(model, X, y, name: str, value: np.ndarray, shape: tuple) -> float:
    """The loss with params[name] = value, handed over in the student's own `shape`."""
    return loss_of(call_method(model, "loss", X, y, what=f"`{NET_LOSS}(X, y)`",
                               set_items=("params", {name: value.reshape(shape)})))


def direction_for(theta: np.ndarray, number: int) -> np.ndarray:
    """The random direction of the directional test of the `number`-th parameter (drawn once
    per process and shape, read-only: Note [Drawn once per process])."""
    return _DIRECTIONS.get((tuple(np.shape(theta)), number))


_DIRECTIONS = Answers(lambda key: QUESTIONS.rng(1000 + key[1]).standard_normal(key[0]))


# Note [Directional derivatives in one request]
# The directional test of a network's gradients needs the student's loss at theta +- step * v
# for each parameter: two calls and a set that puts theta back, three requests a parameter
# and about 120 for a `grade check`.  The calls do not depend on each other's replies, so
# they go as one streamed request (Note [Streamed calls] in grader/worker/client.py), each
# with its assignments folded in (Note [Sets folded into a call]): the call for theta + step
# * v of a parameter also puts the parameter before it back.  The network sees the very same
# sequence of parameter values and loss calls as with separate requests, so a correct
# network answers the same; every result is judged after the stream, in the same order.
# The last parameter is put back only where the network is used again: before a failing
# parameter's element-wise report (`check_param_gradient`); otherwise the network is
# dropped with the check.
def directional_derivatives(model, X, y, params: dict, tested: list[tuple[int, str]],
                            shapes: dict) -> tuple[list[float], dict]:
    """(the central difference of the student's loss along `direction_for` each tested
    parameter, all calls in one request; the parameter left moved, {name: theta} to put
    back): Note [Directional derivatives in one request]."""
    calls, previous = [], {}
    for number, name in tested:
        theta, shape = params[name], shapes.get(name, params[name].shape)
        step = DIRECTIONAL_STEP * direction_for(theta, number)
        calls.append((model, "loss", (X, y), {},
                      ("params", {**previous, name: (theta + step).reshape(shape)})))
        calls.append((model, "loss", (X, y), {}, ("params", {name: (theta - step).reshape(shape)})))
        previous = {name: theta.reshape(shape)}
    losses = []
    with model.student.method_calls(calls) as results:
        for _ in calls:
            losses.append(loss_of(next_result(results, what=f"`{NET_LOSS}(X, y)`")))
    return ([(plus - minus) / (2 * DIRECTIONAL_STEP) for plus, minus in zip(losses[::2], losses[1::2])],
            previous)


def next_result(results, what: str):
    """The next CallResult of `Student.method_calls`, its failure raised as `call_method` raises
    a call's with folded sets."""
    try:
        return next(results)
    except StudentError as error:
        raise method_failure(error, what) from None


def loss_of(result) -> float:
    """The loss of a (loss, grads) reply."""
    value = plain(result.value)
    if not isinstance(value, (tuple, list)) or not value:
        raise CheckFailure(f"`{NET_LOSS}(X, y)` returned {type(value).__name__}, expected "
                           f"(loss, grads)")
    return as_float(value[0], f"`{NET_LOSS}` loss")


# Note [Directional error scale]
# The directional test compares two estimates of <g, v> for a standard normal
# direction v: the central difference of the student's own loss, and the claimed
# gradient's projection.  Its error was |numeric - claimed| / (|numeric| + |claimed|),
# which is sound while <g, v> has its usual size, about |g| (for v with independent
# N(0, 1) entries <g, v> is N(0, |g|^2)).  But now and then the entries of g * v
# nearly cancel: a correct solution under one course secret had grads['beta1'] with
# entries of 1e-4 to 5e-4, |g| about 8e-4, and <g, v> = 3.1e-7; the central
# difference's rounding (machine epsilon times the loss over the step, about 1e-11)
# was then 1.7e-5 of the projection, over the tolerance of 1e-5, and the correct
# solution lost 2 points (about 1 `grade check` in 100, each drawing its own secret).
# So the error is measured against the projection's usual size as well:
#     error = |numeric - claimed| / max(|numeric| + |claimed|, |g|, 1e-6)
# with g the claimed gradient.  A wrong gradient g + e moves the projection by <e, v>,
# itself about |e|, so the error is about |e| / |g|: the gradient's normwise relative
# error, which is what the tolerance is about.  A gradient of zeros still gets error 1
# (0.3 with the 1e-6 floor in the case above), a gradient k times too large an error near
# (k - 1) / (k + 1) along a usual direction (3.7e-4 for k = 1e6 in the case above, still
# over the tolerance), and NaN or infinity an error that is not a number, which fails.
# Where a wrong g + e nearly cancels too (<e, v> far under |e|), this test can pass it
# while the old one may not; the chance of that is that of |<e, v>| < 1e-5 |g| for a
# random v, and every gradient is tested on several samples and parameters.  Rounding stays
# 1e-11 / |g|, far under the tolerance for any gradient these networks have.

def directional_error(numeric: float, claimed: float, analytic: np.ndarray) -> float:
    """The directional test's error; Note [Directional error scale]."""
    size = float(np.linalg.norm(np.ravel(np.asarray(analytic, dtype=np.float64))))
    scale = max(abs(numeric) + abs(claimed), 1e-6)
    if size > scale or math.isnan(size):
        scale = size
    return abs(numeric - claimed) / scale


def check_param_gradient(model, case: NetCase, X, y, params: dict, name: str,
                         analytic: np.ndarray, number: int, shape: tuple, numeric: float,
                         moved: dict) -> None:
    """Directional derivative first (`numeric`, from `directional_derivatives`, which left
    `moved` to put back); element-wise only when it fails (STYLE point 3)."""
    theta = params[name]
    claimed = float(np.sum(analytic * direction_for(theta, number)))
    error = directional_error(numeric, claimed, analytic)
    if error <= DIRECTIONAL_TOLERANCE:
        return
    model.set_items("params", moved)  # Note [Directional derivatives in one request]
    raise CheckFailure(
        f"grads['{name}'] does not match your own loss: along a random direction the "
        f"numerical derivative is {numeric:.8g}, your gradient gives {claimed:.8g} (relative "
        f"error {error:.1e}, tolerance {DIRECTIONAL_TOLERANCE:g})\n"
        f"{elementwise_report(model, X, y, name, theta, analytic, shape)}\n"
        f"network: {case.describe()}",
        details={"directional_error": error, "param": name})


def elementwise_report(model, X, y, name: str, theta: np.ndarray, analytic: np.ndarray,
                       shape: tuple) -> str:
    """Numerical gradient of a few entries, to say where the gradient is wrong."""
    rng = np.random.default_rng(7)  # which entries to report: a diagnostic, fixed
    count = min(theta.size, ELEMENTWISE_ENTRIES)
    flat = rng.choice(theta.size, size=count, replace=False)
    rows = []
    try:
        for index in flat:
            position = np.unravel_index(int(index), theta.shape)
            bumped = theta.copy()
            bumped[position] += DIRECTIONAL_STEP
            plus = loss_with(model, X, y, name, bumped, shape)
            bumped[position] -= 2 * DIRECTIONAL_STEP
            minus = loss_with(model, X, y, name, bumped, shape)
            numeric = (plus - minus) / (2 * DIRECTIONAL_STEP)
            rows.append((abs(numeric - analytic[position]), position, numeric, analytic[position]))
    finally:
        model.set_item("params", name, theta.reshape(shape))
    rows.sort(key=lambda row: -row[0])
    wrong = sum(1 for diff, _, numeric, ours in rows if diff > 1e-6 * (abs(numeric) + abs(ours)) + 1e-9)
    worst = "; ".join(f"{name}[{', '.join(map(str, pos))}]: yours {ours:.6g}, numerical {num:.6g}"
                      for _, pos, num, ours in rows[:3])
    return f"{wrong} of {count} entries checked one by one differ; largest: {worst}"


# ---------------------------------------------------------------------------
# The registry
# ---------------------------------------------------------------------------

TEST_MODE_CASES = [
    Case("x (6,7), keep 0.3, seed given", make_x((6, 7), 10), 0.3, seed=5, mode="test"),
    Case("N=1, x (1,2,3,4), keep 0.8", make_x((1, 2, 3, 4), 11), 0.8, mode="test"),
]
KEPT_VALUE_CASES = [
    Case("x (10,10) + 10, keep 0.2, seed 123", make_x((10, 10), 231, 10.0), 0.2, seed=123),
    Case("x (4,5,6), keep 0.6, seed 0", make_x((4, 5, 6), 12), 0.6, seed=0),
    Case("N=1, x (1,8), keep 1 (nothing dropped)", make_x((1, 8), 13), 1.0, seed=3),
]
LARGE_CASES = [  # the notebook's experiment: x (500, 500) + 10
    Case(f"x (500,500) + 10, keep {keep}, seed 231", make_x((500, 500), 231, 10.0), keep, seed=231)
    for keep in (0.25, 0.4, 0.7)
]
SEED_CASE = Case("x (20,50), keep 0.5", make_x((20, 50), 14), 0.5)
HIDDEN_TRAIN_CASES = [
    Case("N=1, x (1,3,20,30), keep 0.6, seed 5", make_x((1, 3, 20, 30), 15), 0.6, seed=5),
    Case("x (40,50) - 3, keep 0.85, seed 77", make_x((40, 50), 16, -3.0), 0.85, seed=77),
]
BACKWARD_CASES = [
    Case("x (10,10) + 10, keep 0.2, seed 123", make_x((10, 10), 231, 10.0), 0.2, seed=123),
    Case("x (4,25), keep 0.6, no seed", make_x((4, 25), 17), 0.6),
    Case("N=1, x (1,7), keep 1", make_x((1, 7), 18), 1.0, seed=1),
]
HIDDEN_BACKWARD_CASES = [
    Case("x (2,3,4,5), keep 0.35, no seed", make_x((2, 3, 4, 5), 19), 0.35),
    Case("x (6,6), keep 0.9, seed 9", make_x((6, 6), 20), 0.9, seed=9),
]
BACKWARD_TEST_CASES = [Case("x (3,4), keep 0.5, test mode", make_x((3, 4), 21), 0.5, mode="test")]

NO_DROPOUT_NETS = [
    NetCase("[6, 5], N=3, keep 1, seed 123", (6, 5), 4, 3, 3, keep=1.0, data_seed=30),
    NetCase("[7], N=1, keep 1, reg 0.1, no seed", (7,), 3, 2, 1, keep=1.0, seed=None, reg=0.1,
            data_seed=31),
]
TEST_TIME_NETS = [
    NetCase("[8, 6], N=4, keep 0.5, seed 123", (8, 6), 5, 3, 4, keep=0.5, data_seed=32),
    NetCase("[5], N=2, keep 0.75, no seed", (5,), 4, 3, 2, keep=0.75, seed=None, data_seed=33),
]
TRAIN_DROPOUT_NETS = [
    NetCase("[300, 300], N=1, keep 0.75, seed 123", (300, 300), 5, 4, 1, keep=0.75,
            data_seed=34, all_active=True),
    NetCase("[200], N=1, keep 0.3, seed 7", (200,), 3, 3, 1, keep=0.3, seed=7, data_seed=35,
            all_active=True),
]
GRADIENT_NETS = [  # the notebook's gradient check: [20, 30], N=2, D=15, C=10, seed 123
    NetCase("[20, 30], N=2, D=15, C=10, keep 0.75, seed 123", (20, 30), 15, 10, 2, keep=0.75,
            data_seed=36),
    NetCase("[10], N=1, keep 0.5, reg 0.1, seed 3", (10,), 6, 4, 1, keep=0.5, seed=3, reg=0.1,
            data_seed=37),
]
HIDDEN_GRADIENT_NETS = [
    NetCase("[12, 9, 7], N=3, keep 0.6, reg 0.05, seed 31", (12, 9, 7), 5, 4, 3, keep=0.6,
            seed=31, reg=0.05, data_seed=38),
    # one example: its loss is pinned by its gradients (Note [The loss is a softmax loss])
    NetCase("[8, 6], N=1, keep 0.7, reg 0.2, seed 17", (8, 6), 5, 3, 1, keep=0.7, seed=17,
            reg=0.2, data_seed=41),
]

NORMALIZED_NETS = [  # the course's best model: dropout with batchnorm (Note [Dropout with ...])
    NetCase("[9], N=5, keep 0.6, batchnorm, reg 0.1, seed 41", (9,), 6, 4, 5, keep=0.6, seed=41,
            reg=0.1, data_seed=39, normalization="batchnorm"),
    NetCase("[8, 6], N=3, keep 0.7, layernorm, seed 42", (8, 6), 5, 3, 3, keep=0.7, seed=42,
            data_seed=40, normalization="layernorm"),
]

CHECKS = [
    check_test_mode(TEST_MODE_CASES),
    check_kept_values(KEPT_VALUE_CASES, check_id="dropout_forward/train_kept_values"),
    check_fraction(LARGE_CASES),
    check_mean(LARGE_CASES),
    check_seed(SEED_CASE),
    check_kept_values(HIDDEN_TRAIN_CASES, check_id="dropout_forward/train_hidden", hidden=True),
    check_backward_train(BACKWARD_CASES),
    check_backward_test(BACKWARD_TEST_CASES),
    check_backward_train(HIDDEN_BACKWARD_CASES, hidden=True),
    check_no_dropout(NO_DROPOUT_NETS),
    check_test_time(TEST_TIME_NETS),
    check_train_dropout(TRAIN_DROPOUT_NETS),
    check_gradients(GRADIENT_NETS),
    check_gradients(HIDDEN_GRADIENT_NETS, hidden=True),
    check_with_normalization(NORMALIZED_NETS),
]
