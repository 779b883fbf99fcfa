"""Checks for `batchnorm`: batch and layer normalization, and FullyConnectedNet using them.

This module exists so that the BatchNormalization notebook is graded from one
registry, `CHECKS`, against the trusted layers in reference/cs231n.  Partial
credit comes from separate entries: each output and each gradient is its own
check, and the stateful parts of batchnorm_forward (running averages, test
mode) are checks of their own, so that a student who gets dx right and dgamma
wrong loses only the dgamma points.

The known mistakes of this notebook are recognised by recomputing a sample with
the mistake in (Note [Per-sample signatures]); course years that differ in
bn_param's defaults are handled through the manifest's conventions
(Note [Conventions]).
"""

from __future__ import annotations

import copy
import dataclasses
import re
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np

from grader.checks import questions
from grader.checks.answers import Answers
from grader.checks.builders import backward_check, constructor_failure, forward_check
from grader.checks.compare import (TOLERANCES, Signature, accept_shape, compare_arrays,
                                   compare_scalar, in_shape, summarize)
from grader.checks.spec import Check, CheckFailure, Sample
from grader.checks.student import RemoteObject
from grader.worker.client import RESULT, Converted, Part, StudentError, WorkerFailure
from reference.cs231n import layer_utils as ref_utils
from reference.cs231n import layers as ref
from reference.cs231n.classifiers.fc_net import FullyConnectedNet as ReferenceNet

LAYERS = "layers"
FC_NET = "fc_net"
NORM_ARGS = ("x", "gamma", "beta", "param")


QUESTIONS = questions.current()  # public or drawn from a secret: Note [Fresh questions]


def _rng(seed: int) -> np.random.Generator:
    """Every sample's generator (Note [Fresh questions] in grader/checks/questions.py)."""
    return QUESTIONS.rng(seed)


# ---------------------------------------------------------------------------
# Conventions
# ---------------------------------------------------------------------------

# Note [Conventions]
# ~~~~~~~~~~~~~~~~~~
# Course years differ in the defaults of bn_param (momentum 0.9 and eps 1e-5 in
# the notebooks this project follows).  The manifest's `conventions:` names them
# (bn_momentum, bn_eps, ln_eps; `--convention NAME=VALUE` overrides one for a
# run, as text, hence the float()).  Student functions are called with the
# notebook's minimal param dicts ({'mode': 'train'}, {}), so the student's own
# defaults are what is graded; the reference is called with the convention's
# values spelled out.  Samples whose dict names eps or momentum itself check
# that the student reads them from the dict.

COURSE_DEFAULTS = {"bn_momentum": 0.9, "bn_eps": 1e-5, "ln_eps": 1e-5}


def _convention(conventions: dict, key: str) -> float:
    return float(conventions.get(key, COURSE_DEFAULTS[key]))


def bn_defaults(conventions: dict) -> dict:
    return {"momentum": _convention(conventions, "bn_momentum"),
            "eps": _convention(conventions, "bn_eps")}


def ln_defaults(conventions: dict) -> dict:
    return {"eps": _convention(conventions, "ln_eps")}


def reference_batchnorm(conventions: dict) -> Callable:
    def forward(x, gamma, beta, bn_param):
        return ref.batchnorm_forward(x, gamma, beta, {**bn_defaults(conventions), **bn_param})
    return forward


def reference_layernorm(conventions: dict) -> Callable:
    def forward(x, gamma, beta, ln_param):
        return ref.layernorm_forward(x, gamma, beta, {**ln_defaults(conventions), **ln_param})
    return forward


# ---------------------------------------------------------------------------
# Known bugs, recomputed per sample
# ---------------------------------------------------------------------------

# Note [Per-sample signatures]
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~
# A known bug is recognised by recomputing the sample with the bug in (the
# unbiased variance, eps outside the square root, the wrong axis, a missing
# branch of the backward graph...) and asking whether the student's numbers
# equal that, to the float64 tolerance.  Those arrays depend on the sample and
# on the conventions, so an entry here is a template check (id, title, hint)
# whose run builds, per sample and at run time, the one-sample builder check
# carrying that sample's signatures.  A variant that does not differ from the
# right answer, or is not finite, is dropped: it could not name a bug.

UNBIASED = ("the variance is divided by N - 1 (unbiased, ddof=1); normalization uses the "
            "biased variance, divided by the number of entries averaged")
EPS_OUTSIDE = "eps is added outside the square root: use sqrt(var + eps), not sqrt(var) + eps"
# a real Berkeley CS182 hand-in: sigma = np.sqrt(var) + np.sqrt(eps)
SQRT_EPS_OUTSIDE = ("the standard deviation is sqrt(var) + sqrt(eps), which is not sqrt(var + "
                    "eps): add eps inside the square root")
EPS_MISSING = "eps is missing: divide by sqrt(var + eps)"
GAMMA_BETA_MISSING = "gamma and beta are not applied: out = gamma * x_hat + beta"
MEAN_NOT_SUBTRACTED = "the mean is not subtracted before dividing by the standard deviation"
IGNORES_EPS = "the eps given in the param dict is ignored: read it from the dict (default only when missing)"
BN_WRONG_AXIS = ("each row was normalized over its features (axis=1), which is layer "
                 "normalization: batch normalization averages over the batch, axis=0")
LN_WRONG_AXIS = ("each feature was normalized over the batch (axis=0), which is batch "
                 "normalization: layer normalization normalizes each row over its D features (axis=1)")
BATCH_STATS_AT_TEST = ("the batch's own mean and variance were used in test mode: at test time "
                       "normalize with bn_param['running_mean'] and bn_param['running_var']")
RUNNING_VAR_AS_STD = ("running_var was used as a standard deviation: divide by "
                      "sqrt(running_var + eps)")


def _close(actual: np.ndarray, expected: np.ndarray) -> bool:
    tol = TOLERANCES["float64"]
    return (actual.shape == expected.shape
            and bool(np.allclose(actual, expected, rtol=tol.rtol, atol=tol.atol)))


def variant_signatures(expected, variants: Iterable[tuple]) -> list[Signature]:
    """One Signature per buggy variant (value, hint[, instead]) that really differs from
    `expected`; `instead`: Note [A named cause replaces a hint that points elsewhere] in
    grader/checks/compare.py."""
    expected = np.asarray(expected, dtype=np.float64)
    signatures = []
    for variant, hint, *instead in variants:
        with np.errstate(all="ignore"):
            variant = np.asarray(variant, dtype=np.float64)
        if variant.shape != expected.shape or not np.all(np.isfinite(variant)):
            continue
        if _close(variant, expected):
            continue
        signatures.append(Signature(lambda a, e, v=variant: _close(np.asarray(a, np.float64), v),
                                    hint, *instead))
    return signatures


def _normalize(x, axis, eps, *, ddof=0, eps_outside=False, center=True):
    """(x - mean) / sqrt(var + eps) along axis, or one of its known wrong spellings."""
    with np.errstate(all="ignore"):
        mean = x.mean(axis=axis, keepdims=True)
        var = x.var(axis=axis, keepdims=True, ddof=ddof)
        denominator = np.sqrt(var) + eps if eps_outside else np.sqrt(var + eps)
        return ((x - mean) if center else x) / denominator


def _forward_variants(sample: Sample, axis: int, eps: float, default_eps: float) -> list:
    """Known wrong outputs of a normalization forward pass along `axis`."""
    x, gamma, beta, param = sample.args
    scale = lambda x_hat: gamma * x_hat + beta  # noqa: E731
    variants = [(scale(_normalize(x, axis, eps, eps_outside=True)), EPS_OUTSIDE),
                (scale(_normalize(x, axis, float(np.sqrt(eps)), eps_outside=True)), SQRT_EPS_OUTSIDE),
                (scale(_normalize(x, axis, 0.0)), EPS_MISSING),
                (_normalize(x, axis, eps), GAMMA_BETA_MISSING),
                (scale(_normalize(x, axis, eps, center=False)), MEAN_NOT_SUBTRACTED),
                (scale(_normalize(x, 1 - axis, eps)), BN_WRONG_AXIS if axis == 0 else LN_WRONG_AXIS)]
    if x.shape[axis] > 1:
        variants.append((scale(_normalize(x, axis, eps, ddof=1)), UNBIASED))
    if "eps" in param and param["eps"] != default_eps:
        variants.append((scale(_normalize(x, axis, default_eps)), IGNORES_EPS))
    return variants


DIRECT_ONLY = ("only the direct path through x_hat = (x - mean) / std was backpropagated: the "
               "gradients that flow through the mean and the variance are missing")
NO_MEAN_BRANCH = "the gradient that flows through the mean is missing"
NO_VAR_BRANCH = "the gradient that flows through the variance is missing"
MEAN_NOT_DIVIDED = "the gradient through the mean is not divided by N (mean = sum / N)"
VAR_NOT_DIVIDED = "the gradient through the variance is not divided by N (var = sum of squares / N)"
GAMMA_MISSING_DX = "dout is not multiplied by gamma before backpropagating through the normalization"
DGAMMA_USES_X = "dgamma uses x instead of the normalized x_hat: dgamma = sum(dout * x_hat)"
LN_DX_WRONG_AXIS = ("the sums run over the batch axis (axis=0) as in batch normalization; layer "
                    "normalization's run over each row's features (axis=1)")


def _dx_variants(x, gamma, dout, axis: int, eps: float) -> list:
    """Known wrong dx of a normalization along `axis` (closed forms of each mistake)."""
    m = x.shape[axis]
    x_hat = _normalize(x, axis, eps)
    inv_std = 1.0 / np.sqrt(x.var(axis=axis, keepdims=True) + eps)
    total = lambda a, ax=axis: a.sum(axis=ax, keepdims=True)  # noqa: E731
    g = dout * gamma
    variants = [(g * inv_std, DIRECT_ONLY),
                (inv_std / m * (m * g - x_hat * total(g * x_hat)), NO_MEAN_BRANCH),
                (inv_std / m * (m * g - total(g)), NO_VAR_BRANCH),
                (inv_std * (g - x_hat * total(g * x_hat) / m - total(g)), MEAN_NOT_DIVIDED),
                (inv_std * (g - x_hat * total(g * x_hat)) - inv_std * total(g) / m, VAR_NOT_DIVIDED),
                (inv_std / m * (m * dout - total(dout) - x_hat * total(dout * x_hat)), GAMMA_MISSING_DX)]
    if axis == 1:
        n = x.shape[0]
        variants.append((inv_std / n * (n * g - total(g, 0) - x_hat * total(g * x_hat, 0)),
                         LN_DX_WRONG_AXIS))
    return variants


# Note [Per-sample checks built once]
# `build` computes the reference's output and every variant on the sample (Note [Per-sample
# signatures]): judge work that depends only on the sample and the conventions, which each
# submission did again (cProfile of a correct batchnorm package: `variant_signatures` alone
# 131 calls, 48 ms of the checks' 310 under the profiler).  So each (conventions, sample) is built once per process and the check
# kept, whose own reference answers are then kept by its builder (Note [Answers kept per
# process] in grader/checks/answers.py); `prepare` builds them for the assignment's conventions
# before the batch's jobs fork (Note [Answers before the fork] in grader/batch/job.py).  The
# conventions are the course's (the manifest's and the course file's), never a submission's,
# and what a kept check holds besides its answers are its signatures, whose variant arrays
# only comparisons read.

def _conventions_key(conventions: dict) -> tuple:
    return tuple(sorted((str(k), repr(v)) for k, v in conventions.items()))


def per_sample(template: Check, samples: Iterable[Sample],
               build: Callable[[dict, Sample], Check]) -> Check:
    """The template check, run sample by sample; see Note [Per-sample signatures] and Note
    [Per-sample checks built once]."""
    samples = tuple(samples)
    built: dict = {}  # conventions -> the checks built so far, in the samples' order

    def run(student) -> None:
        __tracebackhide__ = True
        for check in _each(student.conventions):
            check.run(student)

    def _each(conventions: dict):
        key = _conventions_key(conventions)
        kept = built.setdefault(key, [])
        for number, sample in enumerate(samples):
            if number == len(kept):
                kept.append(build(conventions, sample))
            yield kept[number]

    def prepare(conventions: dict) -> None:
        for check in _each(conventions):
            if check.prepare is not None:
                check.prepare(conventions)

    return dataclasses.replace(template, run=run, prepare=prepare)


# ---------------------------------------------------------------------------
# Samples
# ---------------------------------------------------------------------------

# Note [Samples inside the course's contract]
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
# Every sample is an input the course's API admits (cnn's Note [Inputs inside
# the course's contract] says why that matters): x (N, D) with any N >= 1 and
# D >= 1 (N = 1 for batch norm and D = 1 for layer norm give x_hat = 0, out =
# beta, which the course's formula defines); gamma and beta (D,); bn_param with
# 'mode' and, optionally, 'eps', 'momentum' and (D,) 'running_mean' and
# 'running_var' (test mode always gets both, as after training); ln_param
# empty, or with 'eps' (and a 'mode' the course's FullyConnectedNet passes and
# layer norm ignores).  Every key is also given a non-default value somewhere
# (eps 1e-3 and 1e-2, momentum 0.5, running averages given), so a key read
# from nowhere but the default costs points.

def _norm_sample(r: np.random.Generator, name: str, x: np.ndarray, param: dict) -> Sample:
    d = x.shape[1]
    return Sample(name, (x, r.standard_normal(d), r.standard_normal(d), param))


def bn_train_samples() -> list[Sample]:
    r = _rng(10)
    train = {"mode": "train"}
    return [
        _norm_sample(r, "N=4, D=5, x = 5 randn + 12", 5 * r.standard_normal((4, 5)) + 12, train),
        _norm_sample(r, "N=50, D=3, wide spread", 30 * r.standard_normal((50, 3)) - [10, 20, -5], train),
        _norm_sample(r, "N=7, D=3, tiny variance (std 0.01)", 0.01 * r.standard_normal((7, 3)) + 1, train),
        _norm_sample(r, "N=6, D=4, bn_param eps=1e-3", 0.05 * r.standard_normal((6, 4)) + 1,
                     {"mode": "train", "eps": 1e-3}),
        _norm_sample(r, "N=5, D=2, mean 1e3", r.standard_normal((5, 2)) + 1e3, train),
        _norm_sample(r, "N=1, D=4 (one example: out = beta)", r.standard_normal((1, 4)), train),
    ]


def bn_train_hidden_samples() -> list[Sample]:
    r = _rng(11)
    scales = 10.0 ** r.uniform(-2, 1, 11)
    return [
        _norm_sample(r, "hidden N=9, D=11, mixed feature scales",
                     scales * r.standard_normal((9, 11)) + r.uniform(-5, 5, 11), {"mode": "train"}),
        _norm_sample(r, "hidden N=3, D=2, eps=0.1", r.standard_normal((3, 2)), {"mode": "train", "eps": 0.1}),
        _norm_sample(r, "hidden N=2, D=3", 2 * r.standard_normal((2, 3)) - 1, {"mode": "train"}),
    ]


def bn_backward_samples() -> list[Sample]:
    r = _rng(12)
    train = {"mode": "train"}
    return [
        _norm_sample(r, "N=4, D=5, x = 5 randn + 12", 5 * r.standard_normal((4, 5)) + 12, train),
        _norm_sample(r, "N=7, D=3, tiny variance (std 0.01)", 0.01 * r.standard_normal((7, 3)) + 1, train),
        _norm_sample(r, "N=2, D=6", 3 * r.standard_normal((2, 6)), train),
        _norm_sample(r, "N=10, D=4, bn_param eps=1e-3", 0.1 * r.standard_normal((10, 4)) - 2,
                     {"mode": "train", "eps": 1e-3}),
    ]


def bn_backward_hidden_samples() -> list[Sample]:
    r = _rng(13)
    scales = 10.0 ** r.uniform(-2, 1, 11)
    return [_norm_sample(r, "hidden N=9, D=11, mixed feature scales",
                         scales * r.standard_normal((9, 11)) + r.uniform(-5, 5, 11), {"mode": "train"})]


def ln_samples() -> list[Sample]:
    r = _rng(14)
    return [
        _norm_sample(r, "N=4, D=3, ln_param {'mode': 'train'}, large activations",
                     40 * r.standard_normal((4, 3)) - 45, {"mode": "train"}),
        _norm_sample(r, "N=4, D=5, x = 5 randn + 12", 5 * r.standard_normal((4, 5)) + 12, {}),
        _norm_sample(r, "N=1, D=6 (one example)", r.standard_normal((1, 6)) + 3, {}),
        _norm_sample(r, "N=5, D=5, tiny variance rows (std 0.01)", 0.01 * r.standard_normal((5, 5)) + 2, {}),
        _norm_sample(r, "N=3, D=4, ln_param eps=1e-2", 0.1 * r.standard_normal((3, 4)), {"eps": 1e-2}),
    ]


def ln_hidden_samples() -> list[Sample]:
    r = _rng(15)
    rows = 10.0 ** r.uniform(-1, 1, (6, 1))
    return [
        _norm_sample(r, "hidden N=6, D=9, rows of different scales",
                     rows * r.standard_normal((6, 9)) + r.uniform(-5, 5, (6, 1)), {}),
        _norm_sample(r, "hidden N=2, D=1 (one feature: out = beta)", r.standard_normal((2, 1)), {}),
    ]


def ln_backward_samples() -> list[Sample]:
    r = _rng(16)
    return [
        _norm_sample(r, "N=4, D=5, x = 5 randn + 12", 5 * r.standard_normal((4, 5)) + 12, {}),
        _norm_sample(r, "N=3, D=7, tiny variance rows (std 0.01)", 0.01 * r.standard_normal((3, 7)) + 1, {}),
        _norm_sample(r, "N=1, D=4 (one example)", r.standard_normal((1, 4)), {}),
        _norm_sample(r, "N=6, D=2, ln_param eps=1e-3", 0.1 * r.standard_normal((6, 2)), {"eps": 1e-3}),
    ]


def ln_backward_hidden_samples() -> list[Sample]:
    r = _rng(17)
    return [_norm_sample(r, "hidden N=5, D=8, rows of different scales",
                         10.0 ** r.uniform(-1, 1, (5, 1)) * r.standard_normal((5, 8)), {})]


# ---------------------------------------------------------------------------
# Forward and backward passes (builder checks)
# ---------------------------------------------------------------------------

BN_FORWARD_HINT = ("train mode: out = gamma * (x - mean) / sqrt(var + eps) + beta with the batch's "
                   "mean and biased variance over axis 0, eps from bn_param")
LN_FORWARD_HINT = ("out = gamma * (x - mean) / sqrt(var + eps) + beta with the mean and biased "
                   "variance of each row (axis=1), eps from ln_param")
GRAD_HINTS = {
    "dx": "backpropagate through the mean, the variance and x_hat; sum the gradients of every branch",
    "dgamma": "dgamma = sum over the batch (axis=0) of dout * x_hat: one number per feature, shape (D,)",
    "dbeta": "dbeta = sum over the batch (axis=0) of dout: one number per feature, shape (D,)",
}


def norm_forward_check(function: str, samples: list[Sample], reference: Callable[[dict], Callable],
                       axis: int, eps_key: str, hint: str, hidden: bool = False) -> Check:
    """Output 0 of a normalization forward pass, with Note [Per-sample signatures]."""
    def build(conventions: dict, sample: Sample) -> Check:
        reference_forward = reference(conventions)
        default_eps = _convention(conventions, eps_key)
        eps = sample.args[3].get("eps", default_eps)
        expected = reference_forward(*copy.deepcopy(sample.args))[0]
        signatures = variant_signatures(expected, _forward_variants(sample, axis, eps, default_eps))
        return forward_check(function, LAYERS, [sample], reference_forward, arg_names=NORM_ARGS,
                             signatures=signatures, hint=hint, hidden=hidden, check_id=check_id)

    check_id = f"{function}/{'train_out' if axis == 0 else 'out'}{'_hidden' if hidden else ''}"
    template = forward_check(function, LAYERS, samples, reference(COURSE_DEFAULTS),
                             arg_names=NORM_ARGS, hint=hint, hidden=hidden, check_id=check_id,
                             title=f"{function}: {'train-mode ' if axis == 0 else ''}output matches "
                                   f"the reference")
    return per_sample(template, samples, build)


def norm_backward_check(forward: str, backward: str, samples: list[Sample],
                        reference: Callable[[dict], Callable], reference_backward: Callable,
                        axis: int, eps_key: str, grad: str, hidden: bool = False) -> Check:
    """One gradient of a normalization backward pass, with Note [Per-sample signatures]."""
    index = ("dx", "dgamma", "dbeta").index(grad)

    def build(conventions: dict, sample: Sample) -> Check:
        x, gamma, _, param = sample.args
        eps = param.get("eps", _convention(conventions, eps_key))
        out, cache = reference(conventions)(*copy.deepcopy(sample.args))
        dout = _rng(0).standard_normal(np.shape(out))  # the builder's, for seed=0
        expected = reference_backward(dout, cache)[index]
        if grad == "dx":
            variants = _dx_variants(x, gamma, dout, axis, eps)
        elif grad == "dgamma":
            variants = [((dout * x).sum(axis=0), DGAMMA_USES_X)]
        else:
            variants = []
        return backward_check(forward, backward, LAYERS, [sample], reference(conventions),
                              reference_backward, grad=grad, grad_index=index, wrt=index,
                              arg_names=NORM_ARGS, signatures=variant_signatures(expected, variants),
                              hint=GRAD_HINTS[grad], hidden=hidden, seed=0)

    template = backward_check(forward, backward, LAYERS, samples, reference(COURSE_DEFAULTS),
                              reference_backward, grad=grad, grad_index=index, wrt=index,
                              arg_names=NORM_ARGS, hint=GRAD_HINTS[grad], hidden=hidden)
    return per_sample(template, samples, build)


# ---------------------------------------------------------------------------
# Calling the student directly (custom checks)
# ---------------------------------------------------------------------------

def _call(student, module: str, function: str, *args, what: str, **kwargs):
    """student.call with a student exception turned into a CheckFailure naming `what`."""
    try:
        return student.call(module, function, *args, **kwargs)
    except StudentError as error:
        raise CheckFailure(f"`{function}` raised {error} {what}"
                           + (f"\n{error.traceback}" if error.traceback else "")) from None


def _out_of(value, function: str):
    """Element 0 of a forward pass's (out, cache)."""
    if not isinstance(value, (tuple, list)) or len(value) < 2:
        raise CheckFailure(f"`{function}` returned {type(value).__name__}, expected a tuple "
                           f"(out, cache) as the course's API specifies")
    return value[0]


def _param_after(result, function: str) -> dict:
    """The param dict (4th argument) as the student's call left it."""
    args = result.args_after
    if not isinstance(args, (list, tuple)) or len(args) < 4 or not isinstance(args[3], dict):
        raise CheckFailure(f"`{function}` replaced its bn_param argument by something that is not "
                           f"a dict")
    return args[3]


# Note [Running statistics shape]
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
# The course stores running_mean and running_var as arrays of shape (D,).  A
# student who keeps the (1, D) shape of a keepdims mean has working code (it
# broadcasts the same at test time), so a (1, D) array passes with a note, as
# every shape equal up to singleton axes does (Note [Singleton axes] in
# grader/checks/compare.py); any other shape is reported as wrong.  The
# training passes hand the student's own bn_param back to it, in its own shape.


# ---------------------------------------------------------------------------
# batchnorm_forward: running averages and test mode
# ---------------------------------------------------------------------------

RUNNING_HINT = ("in train mode, after normalizing: running = momentum * running + (1 - momentum) "
                "* batch statistic, for the mean and the (biased) variance, stored back into bn_param")
TEST_HINT = ("in test mode: out = gamma * (x - running_mean) / sqrt(running_var + eps) + beta, "
             "and bn_param's running averages stay as they are")


@dataclass(frozen=True)
class RunningSequence:
    """Training passes on one bn_param, compared step by step with the reference."""
    name: str
    start: dict
    batches: tuple
    gamma: np.ndarray
    beta: np.ndarray


def running_sequences() -> list[RunningSequence]:
    r = _rng(18)
    return [
        RunningSequence("running averages given, default momentum",
                        {"mode": "train", "running_mean": 0.5 * r.standard_normal(4),
                         "running_var": r.uniform(0.5, 2.0, 4)},
                        tuple(3 * r.standard_normal((8, 4)) + shift for shift in (2.0, -1.0, 4.0)),
                        r.standard_normal(4), r.standard_normal(4)),
        RunningSequence("empty bn_param, momentum=0.5", {"mode": "train", "momentum": 0.5},
                        tuple(2 * r.standard_normal((5, 3)) - shift for shift in (1.0, 3.0)),
                        r.standard_normal(3), r.standard_normal(3)),
    ]


OTHER_MOMENTA = (0.9, 0.99, 0.95, 0.1)  # other course years, and PyTorch's meaning of 0.1


def _running_variants(key: str, before, batch: np.ndarray, momentum: float, default_momentum: float,
                      momentum_given: bool) -> list:
    """Known wrong values of bn_param[key] after one training pass."""
    mean, var = batch.mean(axis=0), batch.var(axis=0)
    stat = mean if key == "running_mean" else var
    update = lambda m, s: m * before + (1 - m) * s  # noqa: E731
    variants = [(update(1 - momentum, stat), "momentum weighs the batch statistic instead of the "
                 "running value: running = momentum * running + (1 - momentum) * batch"),
                (stat, "the batch statistic was stored instead of a running average"),
                (before, "the running average was not updated"),
                ((1 - momentum) * stat, "the running average started again from zeros instead of "
                 "the value already in bn_param")]
    if key == "running_var":
        variants += [(update(momentum, batch.var(axis=0, ddof=1)), "running_var averages the "
                      "unbiased variance (N - 1); the course uses the biased one, as in the forward pass"),
                     (update(momentum, np.sqrt(var)), "running_var averages the standard deviation "
                      "instead of the variance")]
    if momentum_given and momentum != default_momentum:
        variants.append((update(default_momentum, stat), "bn_param['momentum'] is ignored: read it "
                         "from the dict (default only when missing)"))
    if not momentum_given:
        variants += [(update(other, stat), f"the default momentum looks like {other:g}; this course's "
                      f"is {momentum:g} (convention bn_momentum)")
                     for other in OTHER_MOMENTA if other != momentum]
    return variants


# Note [eps in the running variance]
# Two real hand-ins (cs231n 2021 packages) averaged std**2 with std = sqrt(var + eps), so
# their running_var gains (1 - momentum) * eps a pass: a relative error near 1e-6, just past
# the tolerance after a pass or two, reported as numbers only.  Their own running_var before
# the pass (the student's bn_param is handed back each pass, in its own shape) updated with
# var + eps is what they return, exactly; compared with that, the message names the slip.
# Variants that equal the course's value are dropped by `variant_signatures`, so a correct
# submission is never told this.

def _eps_in_running_var(own_before, batch: np.ndarray, momentum: float, eps: float) -> tuple:
    """See Note [eps in the running variance]."""
    with np.errstate(all="ignore"):
        try:
            own = np.asarray(own_before, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            own = np.full(batch.shape[1], np.nan)  # not numbers: no signature
    return (momentum * own + (1 - momentum) * (batch.var(axis=0) + eps),
            "running_var averages var + eps (std**2 with std = sqrt(var + eps)); eps belongs "
            "only in the normalization's denominator: average the batch variance itself")


def _check_running_sequence(student, sequence: RunningSequence) -> None:
    defaults = bn_defaults(student.conventions)
    reference_param = {**defaults, **copy.deepcopy(sequence.start)}
    momentum = reference_param["momentum"]
    student_param = copy.deepcopy(sequence.start)
    d = sequence.gamma.shape[0]
    for step, batch in enumerate(sequence.batches, start=1):
        where = f"[{sequence.name}, training pass {step} of {len(sequence.batches)}]"
        before = {key: reference_param.get(key, np.zeros(d)) for key in ("running_mean", "running_var")}
        own_var_before = student_param.get("running_var", np.zeros(d))  # Note [eps in the running variance]
        ref.batchnorm_forward(batch, sequence.gamma, sequence.beta, reference_param)
        result = _call(student, LAYERS, "batchnorm_forward", batch, sequence.gamma, sequence.beta,
                       student_param, return_args=True, what=f"on {where}")
        student_param = _param_after(result, "batchnorm_forward")
        for key in ("running_mean", "running_var"):
            if key not in student_param:
                raise CheckFailure(f"{where} bn_param has no '{key}' after a training pass: store "
                                   f"the updated running average back into bn_param", hint=RUNNING_HINT)
            expected = reference_param[key]
            variants = _running_variants(key, before[key], batch, momentum, defaults["momentum"],
                                         "momentum" in sequence.start)
            if key == "running_var":
                variants.append(_eps_in_running_var(own_var_before, batch, momentum,
                                                    reference_param["eps"]))
            signatures = variant_signatures(expected, variants)
            try:
                compare_arrays(f"bn_param['{key}']", student_param[key], expected,
                               inputs={"x": batch, "momentum": momentum},
                               signatures=signatures, hint=RUNNING_HINT)
            except CheckFailure as failure:
                raise CheckFailure(f"{where} {failure.message}", hint=failure.hint,
                                   details=failure.details) from None


def check_running_averages(student) -> None:
    __tracebackhide__ = True
    for sequence in running_sequences():
        _check_running_sequence(student, sequence)


def bn_test_samples() -> list[Sample]:
    r = _rng(19)

    def sample(name, x, **extra):
        d = x.shape[1]
        param = {"mode": "test", "running_mean": 0.5 * r.standard_normal(d),
                 "running_var": r.uniform(0.5, 2.0, d), **extra}
        return Sample(name, (x, r.standard_normal(d), r.standard_normal(d), param))

    return [
        sample("N=6, D=4, batch statistics far from the running ones", 4 * r.standard_normal((6, 4)) + 3),
        sample("N=1, D=3 (one example)", r.standard_normal((1, 3)) - 2),
        sample("N=5, D=3, bn_param eps=1e-2, running_var 1e-3", r.standard_normal((5, 3)),
               eps=1e-2, running_var=np.full(3, 1e-3)),
    ]


# Note [Running averages updated at test time]
# A real 2019 hand-in (COMP4901J) moved the running-average update into the test branch:
# in test mode it folds the test batch into running_mean and running_var (momentum *
# running + (1 - momentum) * batch) and normalizes with the result.  Its running_averages
# check says the averages were not updated in training; test_mode gave only numbers.
UPDATED_AT_TEST = ("the running averages are updated with the test batch in test mode and then "
                   "used: only training passes update them; at test time normalize with "
                   "bn_param['running_mean'] and bn_param['running_var'] as they are")


# Note [beta subtracted at test time]
# A real 2020 hand-in wrote its test mode as gamma * (x - running_mean) / (sqrt(running_var)
# + eps) - beta: two slips in one line, so none of the one-slip variants matched, and
# test_mode, the network's test-time scores and dropout's network with batchnorm gave only
# numbers.  Each test-mode denominator (right or a known slip) is also tried with beta
# subtracted, and the message names every slip of the line.
BETA_SUBTRACTED = "beta is subtracted: out = gamma * x_hat + beta, not gamma * x_hat - beta"


def test_mode_layers(eps: float) -> list[tuple[Callable, str]]:
    """[(layer(x, gamma, beta, running_mean, running_var), what is wrong)]: the known wrong
    test-mode batchnorm lines (Note [beta subtracted at test time])."""
    denominators = [(lambda var: np.sqrt(var + eps), ""),
                    (lambda var: var + eps, RUNNING_VAR_AS_STD),
                    (lambda var: np.sqrt(var) + eps, EPS_OUTSIDE),
                    (lambda var: np.sqrt(var), EPS_MISSING)]
    layers = []
    for denominator, slip in denominators:
        for sign, beta_slip in ((1, ""), (-1, BETA_SUBTRACTED)):
            if slip or beta_slip:
                layers.append((lambda x, gamma, beta, mean, var, d=denominator, sign=sign:
                               gamma * (x - mean) / d(var) + sign * beta,
                               "; and ".join(filter(None, (beta_slip, slip)))))
    return layers


def _test_variants(sample: Sample, eps: float, default_eps: float,
                   default_momentum: float = 0.9) -> list:
    x, gamma, beta, param = sample.args
    mean, var = param["running_mean"], param["running_var"]
    scale = lambda x_hat: gamma * x_hat + beta  # noqa: E731
    m = param.get("momentum", default_momentum)  # Note [Running averages updated at test time]
    folded_mean, folded_var = m * mean + (1 - m) * x.mean(axis=0), m * var + (1 - m) * x.var(axis=0)
    variants = [(scale((x - folded_mean) / np.sqrt(folded_var + eps)), UPDATED_AT_TEST),
                (scale(_normalize(x, 0, eps)), BATCH_STATS_AT_TEST),
                *((layer(x, gamma, beta, mean, var), what) for layer, what in test_mode_layers(eps)),
                ((x - mean) / np.sqrt(var + eps), GAMMA_BETA_MISSING)]
    if "eps" in param and param["eps"] != default_eps:
        variants.append((scale((x - mean) / np.sqrt(var + default_eps)), IGNORES_EPS))
    return variants


def check_test_mode(student) -> None:
    __tracebackhide__ = True
    default_eps = bn_defaults(student.conventions)["eps"]
    for sample in bn_test_samples():
        x, gamma, beta, param = sample.args
        expected = reference_batchnorm(student.conventions)(*copy.deepcopy(sample.args))[0]
        result = _call(student, LAYERS, "batchnorm_forward", *copy.deepcopy(sample.args),
                       return_args=True, what=f"on sample '{sample.name}' (mode 'test')")
        signatures = variant_signatures(expected, _test_variants(
            sample, param.get("eps", default_eps), default_eps,
            bn_defaults(student.conventions)["momentum"]))
        try:
            compare_arrays("out", _out_of(result.value, "batchnorm_forward"), expected,
                           inputs=dict(zip(NORM_ARGS, sample.args)), signatures=signatures,
                           hint=TEST_HINT, batch_size=x.shape[0])
            after = _param_after(result, "batchnorm_forward")
            for key in ("running_mean", "running_var"):
                if key in after and not _unchanged(in_shape(after[key], param[key].shape), param[key]):
                    raise CheckFailure(f"bn_param['{key}'] changed during a test-mode pass: only "
                                       f"training passes update the running averages", hint=TEST_HINT)
        except CheckFailure as failure:
            raise CheckFailure(f"[sample {sample.name}] {failure.message}", hint=failure.hint,
                               details=failure.details) from None


def _unchanged(value, before: np.ndarray) -> bool:
    return isinstance(value, np.ndarray) and _close(value.astype(np.float64), before)


# ---------------------------------------------------------------------------
# batchnorm_backward_alt: agreement is graded, speed only reported
# ---------------------------------------------------------------------------

# Note [Speed is reported, not graded]
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
# The notebook asks for an alternative backward pass that is "a bit faster" and
# prints the speedup; timings depend on the machine and its load, so they never
# cost points.  Once batchnorm_backward_alt's dx check has passed, both student
# backward passes run on the notebook's size (N=100, D=500) with the cache of
# one student forward pass, a few times each; the best worker-side times and
# their ratio go into the check's details.  Anything going wrong there (the
# other backward pass missing or raising) is written into the details too and
# never changes the verdict.

SPEED_RUNS = 3
SPEED_TIMEOUT_S = 10.0


# Note [Speed runs in one request]
# The speed report made one request for the forward pass and one per timed run (seven).  They
# go as one request now (Note [Streamed calls] in grader/worker/client.py): the same calls in
# the same order, each backward pass given the cache of that forward pass (`Part(0).item(1)`,
# as `forward.ref.item(1)` gave it) and a fresh copy of dout, each with its own time limit;
# each run's time is still the worker's own measurement of that call, and a call that raises,
# times out or is missing ends the report with the same "not measured" as before (names that
# are missing or refused make the calls one by one: Note [Fail fast] in student.py).


def speed_report(student) -> dict:
    r = _rng(20)
    x = 5 * r.standard_normal((100, 500)) + 12
    gamma, beta, dout = r.standard_normal(500), r.standard_normal(500), r.standard_normal((100, 500))
    names = ("batchnorm_backward", "batchnorm_backward_alt")
    # The forward pass and every timed run in one request (Note [Speed runs in one request]).
    chain = [("batchnorm_forward", (x, gamma, beta, {"mode": "train"}), {})]
    chain += [(name, (dout, Part(0).item(1)), {}) for name in names for _ in range(SPEED_RUNS)]
    try:
        with student.calls(LAYERS, chain, timeout=SPEED_TIMEOUT_S) as calls:
            next(calls)
            seconds = {}
            for name in names:
                seconds[name] = min(next(calls).seconds for _ in range(SPEED_RUNS))
    except (WorkerFailure, CheckFailure) as problem:
        message = getattr(problem, "message", "") or str(problem)
        return {"speed": f"not measured: {message.splitlines()[0] if message else type(problem).__name__}"}
    ratio = seconds["batchnorm_backward"] / max(seconds["batchnorm_backward_alt"], 1e-9)
    return {"speed_shape": [100, 500], "batchnorm_backward_s": seconds["batchnorm_backward"],
            "batchnorm_backward_alt_s": seconds["batchnorm_backward_alt"],
            "speedup": round(ratio, 3),
            "speed": f"batchnorm_backward_alt ran {ratio:.2f}x as fast as batchnorm_backward "
                     f"(N=100, D=500; reported, not graded)"}


def with_speed_report(check: Check) -> Check:
    def run(student) -> dict:
        __tracebackhide__ = True
        check.run(student)
        return speed_report(student)

    return dataclasses.replace(check, run=run)


# ---------------------------------------------------------------------------
# FullyConnectedNet with normalization
# ---------------------------------------------------------------------------

# Note [Same parameters in both models]
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
# A student's FullyConnectedNet initialises its weights from its own random
# draws, so every check builds the student's model, overwrites each parameter
# (W, b, gamma, beta, with seeded non-trivial values: gamma != 1, beta != 0,
# b != 0) through the remote handle, and gives a reference model the very same
# arrays and the convention's bn_param defaults (Note [Conventions]).  Both see
# the same batches in the same order, so losses, gradients and running
# averages must agree to the float64 tolerance.  The model is built with
# dtype=np.float64: the real numpy type, made inside the worker
# (Note [float64 in the worker]).  Keyword names follow the student's
# signature: only keywords it accepts are passed, and an older course's
# `use_batchnorm=True` stands in for normalization='batchnorm'.

# Note [float64 in the worker]
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~
# Types cannot cross the wire, and the string 'float64' is not the same
# argument as np.float64 for code that compares `dtype == np.float64`.  The
# judge asks the worker's numpy for np.dtype('float64') and passes a reference
# to its `.type` attribute, which the worker resolves to np.float64 itself.

NET_HINT = ("each hidden layer is affine -> batchnorm/layernorm -> relu, with gamma{i}/beta{i} of "
            "that layer; the last affine layer is not normalized")
# Note [A named cause replaces a hint that points elsewhere] in grader/checks/compare.py: a
# test-mode slip the signatures name is not the mode switch TEST_SCORES_HINT is about.
TEST_MODE_FORMULA_HINT = ("the bn_params' mode is switched to 'test'; what batchnorm_forward "
                          "computes in test mode is not right: out = gamma * (x - running_mean) "
                          "/ sqrt(running_var + eps) + beta, with running_var averaging the "
                          "batch variances themselves (see the batchnorm_forward checks)")
TEST_SCORES_HINT = ("loss(X) with y=None is a test-time pass: set every bn_param's mode to 'test' "
                    "so batchnorm uses the running averages collected during training")


@dataclass(frozen=True)
class NetCase:
    name: str
    hidden_dims: tuple
    input_dim: int
    num_classes: int
    batch: int
    regs: tuple
    seed: int


NET = NetCase("hidden [20, 30], D=15, C=10, N=4", (20, 30), 15, 10, 4, (0.0, 3.14), 30)
NET_HIDDEN = NetCase("hidden [7, 6, 5], D=8, C=4, N=5", (7, 6, 5), 8, 4, 5, (0.7,), 31)


def net_param_names(case: NetCase) -> list[str]:
    layers = len(case.hidden_dims) + 1
    names = [f"{kind}{i}" for i in range(1, layers + 1) for kind in ("W", "b")]
    return names + [f"{kind}{i}" for i in range(1, layers) for kind in ("gamma", "beta")]


def net_params(case: NetCase) -> dict:
    r = _rng(case.seed)
    dims = [case.input_dim, *case.hidden_dims, case.num_classes]
    params = {}
    for i in range(1, len(dims)):
        params[f"W{i}"] = r.standard_normal((dims[i - 1], dims[i])) * np.sqrt(2.0 / dims[i - 1])
        params[f"b{i}"] = 0.1 * r.standard_normal(dims[i])
        if i < len(dims) - 1:
            params[f"gamma{i}"] = 1 + 0.2 * r.standard_normal(dims[i])
            params[f"beta{i}"] = 0.2 * r.standard_normal(dims[i])
    return params


def net_batches(case: NetCase, count: int) -> list[tuple[np.ndarray, np.ndarray]]:
    r = _rng(case.seed + 100)
    return [(2 * r.standard_normal((case.batch, case.input_dim)) + 0.5,
             r.integers(case.num_classes, size=case.batch)) for _ in range(count)]


def _argument_names(signature: str) -> set[str]:
    return set(re.findall(r"(?:^\(|,)\s*\**(\w+)", signature))


def _float64_in_worker(student):
    """np.float64 inside the worker; see Note [float64 in the worker].  Made once per worker
    process (Note [Worker constants] in grader/checks/student.py)."""
    return student.constant("numpy", "dtype", "float64").attr("type")


def _net_kwargs(student, case: NetCase, normalization: str, reg: float) -> dict:
    """Constructor keywords the student's FullyConnectedNet accepts (Note [Same parameters...])."""
    signature = student.signature(FC_NET, "FullyConnectedNet")
    names = _argument_names(signature)
    open_ended = "**" in signature or not signature
    kwargs = {"input_dim": case.input_dim, "num_classes": case.num_classes, "reg": reg,
              "weight_scale": 5e-2, "dtype": _float64_in_worker(student)}
    kwargs = {k: v for k, v in kwargs.items() if open_ended or k in names}
    if open_ended or "normalization" in names:
        kwargs["normalization"] = normalization
    elif "use_batchnorm" in names and normalization == "batchnorm":
        kwargs["use_batchnorm"] = True
    else:
        raise CheckFailure(f"FullyConnectedNet takes no `normalization` argument, so it cannot build "
                           f"a network with normalization='{normalization}' (its arguments: "
                           f"{signature})", hint=NET_HINT)
    return kwargs


# Note [Net set-up in the first pass]
# A network check built the model, read `model.params` (for the shapes the student keeps
# them in), installed the judge's parameters and then ran its first pass: four round trips
# for what is one question.  The read now comes with the construction (Note [Reads folded
# into a call] in grader/worker/client.py) and the assignments with the first call of the
# model, `_net_loss` (Note [Sets folded into a call]); an assignment that raises is raised
# from there as the StudentError it was, so the model sees the same calls in the same order
# and every failure reads as before.

def student_net(student, case: NetCase, normalization: str, reg: float, *, set_params: bool = True):
    """The student's network for `case`; with `set_params`, the judge's parameters are
    installed in the request of its first call (Note [Net set-up in the first pass]); else
    its `params` as made are `model.initial("params")`."""
    kwargs = _net_kwargs(student, case, normalization, reg)
    try:
        model = student.new(FC_NET, "FullyConnectedNet", list(case.hidden_dims),
                            reads=(("params",),), **kwargs)
    except StudentError as error:
        raise _net_failure(error, case, normalization) from None
    if set_params:
        _defer_params(model, case)
    return model


def _net_failure(error: StudentError, case: NetCase, normalization: str) -> CheckFailure:
    return constructor_failure("FullyConnectedNet", f"{list(case.hidden_dims)}, normalization="
                               f"'{normalization}', ...", error)


def _defer_params(model, case: NetCase) -> None:
    """The judge's parameters for the model's first call, each in the shape the student's
    model keeps it in (a (1, H) bias): Note [Net set-up in the first pass]."""
    own = model.initial("params")
    shapes = {k: np.shape(v.value if isinstance(v, Converted) else v)
              for k, v in own.items()} if isinstance(own, dict) else {}
    model.defer_set_items("params", {name: in_shape(value, shapes.get(name, value.shape))
                                     for name, value in net_params(case).items()})


# Note [Nets of a check together]
# A loss check builds one network per reg and asks each one pass; the test-scores check
# asks one network three training passes and a test pass.  The judge needs no answer before
# the next question, so the constructions go as one request and the passes as one more
# (Note [Streamed calls] in grader/worker/client.py, `Student.method_calls`), with the reads
# and sets of Note [Net set-up in the first pass]; the answers are judged in order, as
# before.  The networks are independent and the passes of one network come in the order they
# always came, so nothing a correct submission can show changes; after a wrong answer the
# later passes were still asked, and their answers are dropped.  A constructor that raises
# is said at its network's turn, after the networks before it were judged.

def student_nets(student, case: NetCase, normalization: str, regs) -> list:
    """`student_net` for each reg, built in one request: each a model, or a function raising
    its constructor's failure (Note [Nets of a check together])."""
    if len(regs) < 2:
        return [student_net(student, case, normalization, reg) for reg in regs]
    made: list = []
    calls = [("FullyConnectedNet", (list(case.hidden_dims),),
              _net_kwargs(student, case, normalization, reg), {"reads": [RESULT.attr("params")]})
             for reg in regs]
    with student.calls(FC_NET, calls) as results:
        for _ in regs:
            try:
                result = next(results)
            except StudentError as error:
                made.append(lambda error=error: _raise_net_failure(error, case, normalization))
                break
            model = RemoteObject(student, result.ref, "FullyConnectedNet",
                                 {("params",): result.reads[0]})
            _defer_params(model, case)
            made.append(model)
    return made


def _raise_net_failure(error: StudentError, case: NetCase, normalization: str) -> None:
    try:
        raise error
    except StudentError:
        raise _net_failure(error, case, normalization) from None


def reference_net(conventions: dict, case: NetCase, normalization: str, reg: float) -> ReferenceNet:
    model = ReferenceNet(list(case.hidden_dims), input_dim=case.input_dim,
                         num_classes=case.num_classes, normalization=normalization, reg=reg,
                         dtype=np.float64)
    model.params = copy.deepcopy(net_params(case))
    defaults = bn_defaults(conventions) if normalization == "batchnorm" else ln_defaults(conventions)
    model.bn_params = [{**param, **defaults} for param in model.bn_params]
    return model


def _net_loss(model, X, y, what: str, answer: Callable | None = None):
    """model.loss(X, y) as (loss, grads); `answer`: returns the CallResult of that call, already
    sent (Note [Nets of a check together])."""
    try:
        value = (answer() if answer is not None else model.call("loss", X, y)).value
    except StudentError as error:
        if error.index >= 0:  # an assignment of the judge's parameters (Note [Net set-up ...])
            raise
        raise CheckFailure(f"`FullyConnectedNet.loss` raised {error} {what}"
                           + (f"\n{error.traceback}" if error.traceback else "")) from None
    if not isinstance(value, (tuple, list)) or len(value) != 2 or not isinstance(value[1], dict):
        raise CheckFailure(f"`FullyConnectedNet.loss(X, y)` returned {type(value).__name__}, "
                           f"expected (loss, grads) with grads a dict {what}")
    return value


REGULARIZED = "{kind} is regularized: the L2 penalty 0.5 * reg * sum(W ** 2) covers the weight matrices only"
SWAPPED = "grads['{name}'] holds the gradient of {partner}: dgamma and dbeta are swapped"


def _partner(name: str) -> str:
    return name.replace("gamma", "beta") if name.startswith("gamma") else name.replace("beta", "gamma")


def _grad_variants(name: str, expected: dict, params: dict, reg: float) -> list:
    """Known wrong values of grads[name] in a normalized FullyConnectedNet."""
    variants = []
    if name.startswith(("gamma", "beta")):
        variants.append((expected[_partner(name)], SWAPPED.format(name=name, partner=_partner(name))))
    if name[0] != "W" and reg:
        variants.append((expected[name] + reg * params[name], REGULARIZED.format(kind=name)))
    if name[0] == "W" and reg:  # Note [The last layer left out of the penalty]
        variants.append((expected[name] - reg * params[name],
                         f"the regularisation gradient reg * {name} is missing from grads['{name}']"))
    return variants


# Note [The last layer left out of the penalty]
# A real cs231n 2021 package added 0.5 * reg * sum(W**2) and reg * W inside its backward loop
# over the hidden layers only, so the last affine layer's weights were never regularised.
# fc_nets and dropout name it (their penalty signatures); batchnorm's networks, the same
# FullyConnectedNet, said "loss: 1 of 1 entries differ (max abs error 28.1 ...)" and
# "grads['W3']: 300 of 300 entries differ".  The loss less the last weights' half penalty,
# and a gradient less reg * W, are computed from the parameters the judge installed and named
# only when the student's numbers are them (`variant_signatures`, as the other variants).


def _loss_variants(expected: float, params: dict, reg: float) -> list:
    """Known wrong losses: the L2 penalty on the wrong parameters, or spelled wrong."""
    penalty = lambda prefix: 0.5 * reg * sum(float(np.sum(v ** 2)) for k, v in params.items()  # noqa: E731
                                             if re.fullmatch(prefix + r"\d+", k))
    weights = sorted((k for k in params if re.fullmatch(r"W\d+", k)), key=lambda k: int(k[1:]))
    last = [(expected - 0.5 * reg * float(np.sum(params[weights[-1]] ** 2)),
             f"the L2 penalty leaves out the last layer's weights {weights[-1]}: 0.5 * reg * "
             f"sum(W ** 2) covers every weight matrix")] if weights and reg else []
    return [*last, (expected + penalty("gamma"), REGULARIZED.format(kind="gamma")),
            (expected + penalty("b"), REGULARIZED.format(kind="b")),
            (expected - penalty("W"), "the L2 penalty 0.5 * reg * sum(W ** 2) is missing from the loss"),
            (expected + penalty("W"), "the L2 penalty is reg * sum(W ** 2); the course's has a factor 0.5")]


# Note [The other normalization in the network]
# A real hand-in (UMass COMPSCI 682, 2021) called batchnorm_forward in FullyConnectedNet
# whatever `normalization` said, so its layer-norm network trained with batch norm and got
# only numbers ("loss: 1 of 1 entries differ ... got 3.220, expected 3.084").  The judge
# computes the loss the reference network has with the other normalization on the same
# parameters and batch (a training pass: no running statistics in it) and names the mistake
# only when the student's loss is that number (the same closeness as the other variants).
# The same number comes from a {asked}_forward that itself computes the other
# normalization (a SYSU hand-in's layernorm_forward normalized each feature over the batch,
# and its network called it correctly), so the hint names both causes.

OTHER_NORMALIZATION = {"layernorm": "batchnorm", "batchnorm": "layernorm"}
OTHER_NORMALIZATION_HINT = (
    "the network with normalization='{asked}' computes the loss of normalization='{used}': "
    "either its hidden layers call {used}_forward, or your {asked}_forward itself normalizes "
    "as {used} does (see {asked}_forward's own checks)")


def _other_normalization_variant(conventions: dict, case: NetCase, normalization: str,
                                 reg: float, X, y) -> list:
    """See Note [The other normalization in the network]."""
    other = OTHER_NORMALIZATION.get(normalization)
    if other is None:
        return []
    loss = reference_net(conventions, case, other, reg).loss(X, y)[0]
    return [(loss, OTHER_NORMALIZATION_HINT.format(asked=normalization, used=other))]


# Note [gamma along the batch where a layer is as wide as the batch]
# A real cs231n 2022 hand-in shared one batchnorm_forward between batch and layer norm and
# chose gamma's axis by its length: `if len(gamma) == N` scaled each row, else each column.
# Right whenever a layer's width D differs from the batch size N, as in the notebook and in
# batchnorm_forward's own samples; in the hidden network ([7, 6, 5] hidden units, N = 5) its
# last hidden layer had D = N, and the check said only "loss: got 17.90, expected 17.85".  The
# judge computes the training loss with gamma and beta applied along the batch in every
# batch-normalized layer whose width is N (the parameters and batch it installed) and names
# the mistake when the student's loss is that number.  The verdict is unchanged.
GAMMA_BY_ROWS = ("in the hidden layer(s) of width {widths}, as many units as the batch has "
                 "examples, gamma and beta scale each example (row) instead of each feature: "
                 "gamma and beta have one entry per feature, shape (D,), and broadcast along "
                 "axis 0 whatever N is (check batchnorm_forward on a square x)")


def _gamma_by_rows_variant(conventions: dict, case: NetCase, normalization: str, reg: float,
                           X, y) -> list:
    """See Note [gamma along the batch where a layer is as wide as the batch]."""
    if normalization != "batchnorm" or case.batch not in case.hidden_dims:
        return []
    params, eps = net_params(case), bn_defaults(conventions)["eps"]
    out, layers = X, len(case.hidden_dims) + 1
    for i in range(1, layers):
        a = out @ params[f"W{i}"] + params[f"b{i}"]
        x_hat = (a - a.mean(axis=0)) / np.sqrt(a.var(axis=0) + eps)
        gamma, beta = params[f"gamma{i}"], params[f"beta{i}"]
        if a.shape[1] == a.shape[0]:
            gamma, beta = gamma[:, None], beta[:, None]
        out = np.maximum(gamma * x_hat + beta, 0)
    scores = out @ params[f"W{layers}"] + params[f"b{layers}"]
    penalty = 0.5 * reg * sum(float(np.sum(params[f"W{i}"] ** 2)) for i in range(1, layers + 1))
    widths = " and ".join(str(d) for d in case.hidden_dims if d == case.batch)
    return [(ref.softmax_loss(scores, y)[0] + penalty, GAMMA_BY_ROWS.format(widths=widths))]


# Note [The network's own eps]
# A real cs231n package (2021 or later) built its FullyConnectedNet's layer norms with a dict
# of its own, `{'eps': 1e-9}`, instead of self.bn_params[i] (the course's default eps, 1e-5): its
# layernorm_forward was right, and the network's gradients were off by about 1e-6 ("grads['W1']:
# 288 of 300 entries differ (max abs error 2.01e-06, max rel error 0.000844)"), numbers only.
# The judge also computes the reference network with a few other eps (EPS_ELSEWHERE: any eps of
# 1e-7 or less gives the numbers of eps = 0 to the tolerance; 1e-6, 1e-4, and Keras' 1e-3) on
# the same parameters and batch, and names the mistake only when the student's loss or
# gradient is one of them; the layer-norm network's test-time scores likewise (a batch-norm
# network's would need the other eps in its training passes too: not computed).  The verdict
# is unchanged: the course's network passes its bn_params to the normalization, whose eps it
# reads there.

EPS_ELSEWHERE = ((0.0, "1e-7 or less"), (1e-6, "1e-06"), (1e-4, "0.0001"), (1e-3, "0.001"))
OWN_EPS_HINT = ("the network's {normalization} uses eps = {eps}, not the eps in its bn_params "
                "(the course's {default}): pass self.bn_params[i] to {normalization}_forward "
                "and let it read eps from there")


def _own_eps_variants(conventions: dict, case: NetCase, normalization: str, reg: float,
                      X, y) -> list:
    """See Note [The network's own eps]: [(loss, grads, hint)] for each other eps."""
    default = (bn_defaults(conventions) if normalization == "batchnorm"
               else ln_defaults(conventions))["eps"]
    variants = []
    for eps, spelled in EPS_ELSEWHERE:
        if eps == default:
            continue
        model = reference_net(conventions, case, normalization, reg)
        model.bn_params = [{**param, "eps": eps} for param in model.bn_params]
        with np.errstate(all="ignore"):
            loss, grads = model.loss(X, y)
        variants.append((loss, grads, OWN_EPS_HINT.format(normalization=normalization, eps=spelled,
                                                          default=default)))
    return variants


def _compare_loss(loss, expected: float, params: dict, reg: float, what: str,
                  more: list = ()) -> None:
    variants = [*_loss_variants(expected, params, reg), *more]
    try:
        compare_scalar("loss", loss, expected, hint=NET_HINT,
                       signatures=variant_signatures(expected, variants))
    except CheckFailure as failure:
        raise CheckFailure(f"{failure.message}\n({what})", hint=failure.hint,
                           details=failure.details) from None


def _compare_grads(grads: dict, expected: dict, names: list[str], params: dict, reg: float,
                   what: str, own_eps: list = ()) -> None:
    for name in names:
        if name not in grads:
            raise CheckFailure(f"grads has no '{name}' {what}", hint=NET_HINT)
        own = [(other[name], hint) for _, other, hint in own_eps if name in other]
        signatures = variant_signatures(  # own: Note [The network's own eps]
            expected[name], [*_grad_variants(name, expected, params, reg), *own])
        try:
            compare_arrays(f"grads['{name}']", grads[name], expected[name], signatures=signatures,
                           hint=NET_HINT)
        except CheckFailure as failure:
            raise CheckFailure(f"{failure.message}\n({what})", hint=failure.hint,
                               details=failure.details) from None


def net_loss_check(case: NetCase, normalization: str, part: str, *, hidden: bool = False) -> Check:
    """The loss, the W/b gradients or the gamma/beta gradients of one training pass."""
    names = net_param_names(case)
    wanted = {"loss": [], "grads": [n for n in names if re.fullmatch(r"[Wb]\d+", n)],
              "norm_grads": [n for n in names if n.startswith(("gamma", "beta"))],
              "all": names}[part]

    # The batch, the parameters and the reference's answers, once per process and conventions
    # (Note [Per-sample checks built once], Note [Answers kept per process] in answers.py).
    kept: dict = {}  # conventions key -> Answers keyed by reg

    def reference_answers(conventions: dict) -> Answers:
        key = _conventions_key(conventions)
        if key not in kept:
            conventions = dict(conventions)

            def answer(reg: float) -> tuple:
                X, y = net_batches(case, 1)[0]
                expected_loss, expected_grads = reference_net(conventions, case, normalization,
                                                              reg).loss(X, y)
                # see Note [The other normalization in the network]
                other = (_other_normalization_variant(conventions, case, normalization, reg, X, y)
                         if part in ("loss", "all") else [])
                # see Note [The network's own eps]
                own_eps = _own_eps_variants(conventions, case, normalization, reg, X, y)
                other += [(loss, hint) for loss, _, hint in own_eps] if part in ("loss", "all") else []
                # see Note [gamma along the batch where a layer is as wide as the batch]
                other += (_gamma_by_rows_variant(conventions, case, normalization, reg, X, y)
                          if part in ("loss", "all") else [])
                return X, y, expected_loss, expected_grads, other, own_eps, net_params(case)
            kept[key] = Answers(answer, case.regs)
        return kept[key]

    def run(student) -> None:
        __tracebackhide__ = True
        answers_of = reference_answers(student.conventions)
        X, y = answers_of.get(case.regs[0])[:2]
        models = student_nets(student, case, normalization, case.regs)
        made = [m for m in models if isinstance(m, RemoteObject)]
        # Note [Nets of a check together]
        with student.method_calls([(m, "loss", (X, y), {}, None) for m in made]) as answers:
            for reg, model in zip(case.regs, made):
                what = f"(normalization='{normalization}', {case.name}, reg={reg})"
                loss, grads = _net_loss(model, X, y, what, answer=lambda: next(answers))
                _, _, expected_loss, expected_grads, other, own_eps, params = answers_of.get(reg)
                if part in ("loss", "all"):
                    _compare_loss(loss, expected_loss, params, reg, what, other)
                _compare_grads(grads, expected_grads, wanted, params, reg, what, own_eps)
        if len(made) < len(models):
            models[len(made)]()  # raises the constructor's failure, after the nets before it

    label = {"loss": "training loss", "grads": "gradients of W and b",
             "norm_grads": "gradients of gamma and beta", "all": "loss and every gradient"}[part]
    suffix = "_hidden" if hidden else ""
    return Check(f"FullyConnectedNet/{normalization}_{part}{suffix}", "FullyConnectedNet.loss",
                 f"FullyConnectedNet with {normalization}: {label} match the reference "
                 f"with the same parameters", run, NET_HINT, hidden,
                 prepare=lambda conventions: reference_answers(conventions).prepare())


def net_params_check(case: NetCase, normalization: str) -> Check:
    """Parameter names and shapes, gamma initialised to ones and beta to zeros."""
    def run(student) -> None:
        __tracebackhide__ = True
        model = student_net(student, case, normalization, 0.0, set_params=False)
        params = model.initial("params")
        if not isinstance(params, dict):
            raise CheckFailure(f"model.params is {summarize(params)}, expected a dict")
        expected = ReferenceNet(list(case.hidden_dims), input_dim=case.input_dim,
                                num_classes=case.num_classes, normalization=normalization,
                                dtype=np.float64).params
        last = len(case.hidden_dims) + 1
        extra = [k for k in (f"gamma{last}", f"beta{last}") if k in params]
        if extra:
            raise CheckFailure(f"params has {extra}: the scores of the last layer must not be "
                               f"normalized", hint=NET_HINT)
        missing = [name for name in net_param_names(case) if name not in params]
        if missing:
            raise CheckFailure(f"params has no {missing} (with normalization='{normalization}' "
                               f"and {len(case.hidden_dims)} hidden layers)", hint=NET_HINT)
        for name in net_param_names(case):
            value = params[name]
            if (not isinstance(value, np.ndarray)
                    or not accept_shape(f"params['{name}']", value.shape, expected[name].shape)):
                shape = getattr(value, "shape", type(value).__name__)
                raise CheckFailure(f"params['{name}'] has shape {shape}, expected "
                                   f"{expected[name].shape}", hint=NET_HINT)
            if name.startswith(("gamma", "beta")):
                compare_arrays(f"params['{name}'] after __init__", value, expected[name],
                               hint="initialise every gamma to ones and every beta to zeros")

    return Check(f"FullyConnectedNet/{normalization}_params", "FullyConnectedNet",
                 f"FullyConnectedNet with {normalization}: parameter names, shapes, initial "
                 f"gamma and beta", run, NET_HINT)


def _scores(params: dict, X: np.ndarray, layers: int, normalization: str | None, norm_params) -> np.ndarray:
    """Scores of the reference block structure with the given normalization state."""
    out = X
    for i in range(1, layers):
        if normalization is None:
            out, _ = ref_utils.affine_relu_forward(out, params[f"W{i}"], params[f"b{i}"])
        else:
            out, _ = ref_utils.affine_norm_relu_forward(out, params[f"W{i}"], params[f"b{i}"],
                                                        params[f"gamma{i}"], params[f"beta{i}"],
                                                        norm_params[i - 1], normalization)
    return ref.affine_forward(out, params[f"W{layers}"], params[f"b{layers}"])[0]


# Note [eps missing at test time, seen from the network]
# batchnorm_forward's test mode without eps (out = gamma * (x - running_mean) /
# sqrt(running_var) + beta; a real 2017 hand-in and a real Berkeley CS182 one) loses its
# own check, which names it, and the network's test-time scores, which use that layer.
# There the scores differ by about 1e-4 relative and the check's hint ("set every
# bn_param's mode to 'test'") sent the student to a network that was right.  The variant
# below recomputes the reference's test pass with eps = 0 and the running averages of the
# reference's own training passes, and names the layer.
EPS_MISSING_AT_TEST = ("eps is missing from batchnorm's test mode (see batchnorm_forward's "
                       "test_mode check): divide by sqrt(running_var + eps); the network's "
                       "switch to test mode is right")


# Note [eps outside the root at test time, seen from the network]
# The same for a test mode that adds eps to the standard deviation, gamma * (x - running_mean)
# / (sqrt(running_var) + eps) + beta (a real hand-in): batchnorm_forward's test_mode check
# names it, and the network's test-time scores, a few 1e-3 off, gave only numbers.  The
# variant runs the reference's test pass with that layer and the running averages of the
# reference's own training passes, and names the layer.
EPS_OUTSIDE_AT_TEST = ("eps is added outside the square root in batchnorm's test mode (see "
                       "batchnorm_forward's test_mode check): divide by sqrt(running_var + eps), "
                       "not sqrt(running_var) + eps; the network's switch to test mode is right")


# Note [eps in the running variance, seen from the network]
# A batchnorm_forward whose running_var averages var + eps (Note [eps in the running
# variance]; a real cs231n 2021 hand-in) loses its running_averages check, which names it,
# and the network's test-time scores, which divide by that running variance: each training
# pass adds (1 - momentum) * eps, so after k passes from zero the variance is the
# reference's plus eps * (1 - momentum**k), and the scores were a few 1e-4 off with only
# numbers and the hint to switch the network to test mode, which was right.  The variant
# runs the reference's test pass with that variance and names the layer.
EPS_IN_RUNNING_VAR_AT_TEST = ("batchnorm's running_var averages var + eps during training (see "
                              "batchnorm_forward's running_averages check), so test mode divides "
                              "by a slightly larger variance: average the batch variance itself; "
                              "the network's switch to test mode is right")


# Note [beta subtracted at test time] seen from the network: each known wrong test-mode line.
WRONG_TEST_MODE = ("batchnorm's test mode is wrong (see batchnorm_forward's test_mode check): "
                   "{what}; the network's switch to test mode is right")


def _scores_test_layer(params: dict, X: np.ndarray, layers: int, bn_params: list,
                       default_eps: float, slip: str) -> np.ndarray:
    """The reference's test-time scores with each batchnorm layer computed by the line of
    `test_mode_layers` whose mistake is `slip`, at that layer's own eps (Note [eps outside the
    root at test time, seen from the network], Note [beta subtracted at test time])."""
    out = X
    for i in range(1, layers):
        a = ref.affine_forward(out, params[f"W{i}"], params[f"b{i}"])[0]
        p = bn_params[i - 1]
        test_layer = dict((what, layer) for layer, what in
                          test_mode_layers(p.get("eps", default_eps)))[slip]
        an = test_layer(a, params[f"gamma{i}"], params[f"beta{i}"], p["running_mean"],
                        p["running_var"])
        out = np.maximum(an, 0)
    return ref.affine_forward(out, params[f"W{layers}"], params[f"b{layers}"])[0]


def _test_score_variants(conventions: dict, case: NetCase, normalization: str, X: np.ndarray,
                         trained: ReferenceNet | None = None, passes: int = 0) -> list:
    """Scores of known mistakes; `trained`: the reference network after the same `passes`
    training passes as the student's (its running averages)."""
    params, layers = net_params(case), len(case.hidden_dims) + 1
    if normalization == "batchnorm":
        eps = bn_defaults(conventions)["eps"]
        train = [{"mode": "train", **bn_defaults(conventions)} for _ in range(layers - 1)]
        never = [{"mode": "test", "eps": eps, "running_mean": np.zeros(d), "running_var": np.zeros(d)}
                 for d in case.hidden_dims]
        variants = [(_scores(params, X, layers, "batchnorm", train), BATCH_STATS_AT_TEST),
                    (_scores(params, X, layers, "batchnorm", never), "the running averages in "
                     "bn_params were never updated during the training passes")]
        if trained is not None:  # Note [eps missing at test time, seen from the network]
            no_eps = [{**param, "mode": "test", "eps": 0.0} for param in trained.bn_params]
            variants.append((_scores(params, X, layers, "batchnorm", no_eps), EPS_MISSING_AT_TEST,
                             TEST_MODE_FORMULA_HINT))
            # Note [eps outside the root at test time, seen from the network]
            variants.append((_scores_test_layer(params, X, layers, trained.bn_params, eps,
                                                EPS_OUTSIDE),
                             EPS_OUTSIDE_AT_TEST, TEST_MODE_FORMULA_HINT))
            # Note [eps in the running variance, seen from the network]
            grown = eps * (1 - bn_defaults(conventions)["momentum"] ** passes)
            eps_in_var = [{**param, "mode": "test", "running_var": param["running_var"] + grown}
                          for param in trained.bn_params]
            variants.append((_scores(params, X, layers, "batchnorm", eps_in_var),
                             EPS_IN_RUNNING_VAR_AT_TEST, TEST_MODE_FORMULA_HINT))
            # Note [beta subtracted at test time]
            variants += [(_scores_test_layer(params, X, layers, trained.bn_params, eps, what),
                          WRONG_TEST_MODE.format(what=what), TEST_MODE_FORMULA_HINT)
                         for _, what in test_mode_layers(eps) if BETA_SUBTRACTED in what]
        return variants
    default = ln_defaults(conventions)["eps"]
    own_eps = [(_scores(params, X, layers, "layernorm", [{"eps": eps}] * (layers - 1)),
                OWN_EPS_HINT.format(normalization="layernorm", eps=spelled, default=default))
               for eps, spelled in EPS_ELSEWHERE if eps != default]  # Note [The network's own eps]
    return [(_scores(params, X, layers, None, None), "layer normalization was skipped at test time: "
             "it behaves the same in training and testing"), *own_eps]


def _test_scores(answers):
    """The scores of the test-time pass, the next of `answers`."""
    try:
        return next(answers).value
    except StudentError as error:
        raise CheckFailure(f"`FullyConnectedNet.loss(X)` (test time, y=None) raised {error}"
                           + (f"\n{error.traceback}" if error.traceback else "")) from None


def net_test_scores_check(case: NetCase, normalization: str, training_passes: int = 3) -> Check:
    """Scores of loss(X) after a few training passes, against the reference's."""
    def run(student) -> None:
        __tracebackhide__ = True
        model = student_net(student, case, normalization, 0.0)
        reference = reference_net(student.conventions, case, normalization, 0.0)
        *batches, (X_test, _) = net_batches(case, training_passes + 1)
        # Every pass in one request (Note [Nets of a check together]).
        with student.method_calls([(model, "loss", (X, y), {}, None) for X, y in batches]
                                  + [(model, "loss", (X_test,), {}, None)]) as answers:
            for number, (X, y) in enumerate(batches, start=1):
                _net_loss(model, X, y, f"(training pass {number})", answer=lambda: next(answers))
                reference.loss(X, y)
            scores = _test_scores(answers)
        expected = reference.loss(X_test)
        signatures = variant_signatures(expected, _test_score_variants(
            student.conventions, case, normalization, X_test, trained=reference,
            passes=training_passes))
        compare_arrays("scores", scores, expected, inputs={"X": X_test}, signatures=signatures,
                       hint=TEST_SCORES_HINT if normalization == "batchnorm" else NET_HINT)

    detail = ("test-time scores use the running averages of the training passes"
              if normalization == "batchnorm" else "test-time scores match the reference")
    return Check(f"FullyConnectedNet/{normalization}_test_scores", "FullyConnectedNet.loss",
                 f"FullyConnectedNet with {normalization}: {detail}", run,
                 TEST_SCORES_HINT if normalization == "batchnorm" else NET_HINT)


# ---------------------------------------------------------------------------
# The registry
# ---------------------------------------------------------------------------

def _norm_backward_checks(forward, backward, samples, reference, reference_backward, axis, eps_key,
                          grads=("dx", "dgamma", "dbeta"), hidden=False) -> list[Check]:
    return [norm_backward_check(forward, backward, samples, reference, reference_backward, axis,
                                eps_key, grad, hidden=hidden) for grad in grads]


def _alt_checks() -> list[Check]:
    dx, dgamma, dbeta = _norm_backward_checks("batchnorm_forward", "batchnorm_backward_alt",
                                              bn_backward_samples(), reference_batchnorm,
                                              ref.batchnorm_backward_alt, 0, "bn_eps")
    return [with_speed_report(dx), dgamma, dbeta]


CHECKS = [
    norm_forward_check("batchnorm_forward", bn_train_samples(), reference_batchnorm, 0, "bn_eps",
                       BN_FORWARD_HINT),
    norm_forward_check("batchnorm_forward", bn_train_hidden_samples(), reference_batchnorm, 0,
                       "bn_eps", BN_FORWARD_HINT, hidden=True),
    Check("batchnorm_forward/running_averages", "batchnorm_forward",
          "batchnorm_forward: training passes update bn_param's running mean and variance",
          check_running_averages, RUNNING_HINT),
    Check("batchnorm_forward/test_mode", "batchnorm_forward",
          "batchnorm_forward: test mode normalizes with the running statistics", check_test_mode,
          TEST_HINT),
    *_norm_backward_checks("batchnorm_forward", "batchnorm_backward", bn_backward_samples(),
                           reference_batchnorm, ref.batchnorm_backward, 0, "bn_eps"),
    *_norm_backward_checks("batchnorm_forward", "batchnorm_backward", bn_backward_hidden_samples(),
                           reference_batchnorm, ref.batchnorm_backward, 0, "bn_eps", grads=("dx",),
                           hidden=True),
    *_alt_checks(),
    norm_forward_check("layernorm_forward", ln_samples(), reference_layernorm, 1, "ln_eps",
                       LN_FORWARD_HINT),
    norm_forward_check("layernorm_forward", ln_hidden_samples(), reference_layernorm, 1, "ln_eps",
                       LN_FORWARD_HINT, hidden=True),
    *_norm_backward_checks("layernorm_forward", "layernorm_backward", ln_backward_samples(),
                           reference_layernorm, ref.layernorm_backward, 1, "ln_eps"),
    *_norm_backward_checks("layernorm_forward", "layernorm_backward", ln_backward_hidden_samples(),
                           reference_layernorm, ref.layernorm_backward, 1, "ln_eps", grads=("dx",),
                           hidden=True),
    *[check for normalization in ("batchnorm", "layernorm") for check in (
        net_params_check(NET, normalization),
        net_loss_check(NET, normalization, "loss"),
        net_loss_check(NET, normalization, "grads"),
        net_loss_check(NET, normalization, "norm_grads"),
        net_test_scores_check(NET, normalization),
        net_loss_check(NET_HIDDEN, normalization, "all", hidden=True),
    )],
]
