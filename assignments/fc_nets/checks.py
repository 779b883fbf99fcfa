"""Checks for `fc_nets`, the FullyConnectedNets notebook of cs231n assignment 2.

This module is the assignment's registry (`CHECKS`, Note [Checks are data] in
grader/checks/spec.py): it alone decides what a submission of the notebook is
worth.  It grades, in the notebook's order,

- layers.py: affine_forward/backward, relu_forward/backward, softmax_loss, svm_loss;
- layer_utils.py: the affine_relu sandwich;
- classifiers/fc_net.py: TwoLayerNet and FullyConnectedNet without normalisation
  or dropout (initialisation, scores, losses, gradients, overfitting 50 points);
- optim.py: sgd_momentum, rmsprop and adam (published vectors, state over steps).

Every expected value comes from reference/cs231n, which reproduces the numbers
the course publishes (reference/published.py).  Layer checks are tables for the
builders; models and update rules need a few plain `run` functions, each
explained by a Note below.  Points live in rubrics/fc_nets.yml.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import math
import re
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from grader.checks import questions
from grader.checks.answers import Answers
from grader.checks.builders import (DIRECTIONAL_STEP, DIRECTIONAL_TOLERANCE, backward_check,
                                    constructor_failure, forward_check)
from grader.checks.compare import (Signature, Tolerance, accept_shape, collecting_notes,
                                   compare_arrays, compare_scalar, in_shape, record_note,
                                   same_up_to_singletons, summarize)
from grader.checks.spec import Check, CheckFailure, Sample
from grader.checks.trust import guard_gap, judge_sgd, verify_step
from grader.checks.student import RemoteObject, RemoteTraining
from grader.worker.client import RESULT, Converted, Part, StudentError, WorkerFailure
from reference.cs231n import layer_utils as ref_utils
from reference.cs231n import layers as ref
from reference.cs231n import optim as ref_optim
from reference.cs231n.classifiers import fc_net as ref_fc


QUESTIONS = questions.current()  # public or drawn from a secret: Note [Fresh questions]


def _rng(seed: int) -> np.random.Generator:
    """Every sample's generator (Note [Fresh questions] in grader/checks/questions.py)."""
    return QUESTIONS.rng(seed)


# ===========================================================================
# Layers and the affine_relu sandwich: tables for the builders
# ===========================================================================

# Note [fc_nets samples inside the course's contract]
# Each family of samples stays inside what the course's API text admits (cnn's
# Note [Inputs inside the course's contract] says why): affine x (N, d_1, ...,
# d_k) with prod(d_i) = D, w (D, M), b (M,); ReLU inputs at least 1e-2 away
# from 0, where the derivative is a convention; losses x (N, C) with integer y
# in [0, C) and logits of the sizes in Note [Softmax inputs]; update rules any
# w, dw of one shape, config None or holding the rule's own keys (Note [Every
# config key non-default]); networks built with the constructor arguments the
# course names, float64.

def affine_samples(seed: int = 0, hidden: bool = False) -> list[Sample]:
    r = _rng(seed)
    if hidden:
        return [
            Sample("N=3, x (3,2,3,5)", (r.standard_normal((3, 2, 3, 5)), r.standard_normal((30, 4)),
                                        r.standard_normal(4))),
            Sample("N=1, x (1,9), M=1", (r.standard_normal((1, 9)), r.standard_normal((9, 1)),
                                         r.standard_normal(1))),
        ]
    return [
        Sample("N=2, x (2,4,5,6)", (r.standard_normal((2, 4, 5, 6)), r.standard_normal((120, 3)),
                                    r.standard_normal(3))),
        Sample("N=1, x (1,7)", (r.standard_normal((1, 7)), r.standard_normal((7, 4)),
                                r.standard_normal(4))),
        Sample("N=5, x (5,3,2)", (r.standard_normal((5, 3, 2)), r.standard_normal((6, 5)),
                                  r.standard_normal(5))),
    ]


def _away_from_kink(x: np.ndarray) -> np.ndarray:
    """Move entries within 1e-2 of 0 to 0.5: ReLU's derivative at 0 is a convention, not a fact."""
    x = x.copy()
    x[np.abs(x) < 1e-2] = 0.5
    return x


def relu_samples() -> list[Sample]:
    r = _rng(1)
    return [Sample("x (4,5)", (_away_from_kink(r.standard_normal((4, 5))),)),
            Sample("x (1,3,2,2), N=1", (_away_from_kink(r.standard_normal((1, 3, 2, 2))),)),
            Sample("x (3,7), odd size", (_away_from_kink(r.standard_normal((3, 7))),))]


def loss_samples(hidden: bool = False) -> list[Sample]:
    r = _rng(12 if hidden else 2)
    if hidden:
        return [Sample("N=7, C=4", (r.standard_normal((7, 4)), r.integers(4, size=7))),
                Sample("N=3, C=6, large negative logits (-800 + 3 randn)",
                       (-800 + 3 * r.standard_normal((3, 6)), r.integers(6, size=3)))]
    return [
        Sample("N=50, C=10, small scores (course)", (0.001 * r.standard_normal((50, 10)),
                                                     r.integers(10, size=50))),
        Sample("N=1, C=3", (r.standard_normal((1, 3)), np.array([2]))),
        Sample("N=4, C=5, large logits (1000 + randn)", (1000 + r.standard_normal((4, 5)),
                                                         r.integers(5, size=4))),
    ]


def wide_row_samples() -> list[Sample]:
    """Rows whose correct class lies 1000 below the row's max (Note [Softmax inputs])."""
    r = _rng(4)
    x, y = 1000 + r.standard_normal((3, 4)), np.array([1, 3, 0])
    x[np.arange(3), y] -= 1000
    return [Sample("N=3, C=4, logits 1000 + randn, the correct class 1000 below the rest", (x, y))]


def affine_relu_samples() -> list[Sample]:
    r = _rng(3)
    return [
        Sample("N=2, x (2,3,4)", (r.standard_normal((2, 3, 4)), r.standard_normal((12, 10)),
                                  r.standard_normal(10))),
        Sample("N=1, x (1,5)", (r.standard_normal((1, 5)), r.standard_normal((5, 3)),
                                r.standard_normal(3))),
    ]


# Note [Softmax inputs]
# The course asks for a softmax_loss that does not overflow on large logits and
# names the remedy: subtract each row's max before exp.  Code that then takes
# log(probs[y]), as the course's own 2016 solution does, is right on every row
# whose correct class keeps a probability above float64's underflow (about
# exp(-745)), so the samples that carry points stay there: scores of order 1,
# tiny ones (the notebook's 0.001 * randn), logits 1000 + randn and -800 +
# 3 randn (both overflow or underflow exp without the shift).  A row whose
# correct class lies 1000 below its max is outside what the course asks: the
# max-shifted log(probs[y]) returns inf there, while the log-sum-exp form
# (shifted - log(sum(exp(shifted)))) stays finite.  That is worth telling, not
# grading: `softmax_loss/wide_rows` has 0 points (an advisory, Note [Advisory
# checks] in grader/scoring/assignment.py).  svm_loss uses the same samples; it has no
# exp, so every real input is inside its contract.

AFFINE_ARGS = ("x", "w", "b")
FORGOT_RESHAPE = "out = x.reshape(N, -1) @ w + b: flatten each example of x to a row of D numbers"
AFFINE_GRAD_HINTS = {"dx": "dx = dout @ w.T, reshaped back to x's shape",
                     "dw": "dw = x.reshape(N, -1).T @ dout",
                     "db": "db sums dout over the batch axis (axis=0)"}
SOFTMAX_HINT = ("loss = mean over examples of -log softmax(x)[y]; subtract each row's max before "
                "exp so that large logits do not overflow")
WIDE_ROWS_HINT = ("advisory, no points (outside what the course asks): log(probs[y]) is log(0) = "
                  "-inf when the correct class's probability underflows; compute the log-softmax "
                  "directly, shifted - log(sum(exp(shifted))) (log-sum-exp), and take its [y] entry")
SVM_HINT = "margins = max(0, x - x[y] + 1) for every class except the correct one; mean over N"

# The SVM's most common slip: the correct class's own margin (always exactly 1)
# counted in the loss, which adds 1 to the mean.
SVM_COUNTS_CORRECT_CLASS = Signature(
    lambda a, e: a.size == 1 and bool(np.isclose(float(a), float(e) + 1.0, rtol=1e-9, atol=0)),
    "the loss is exactly 1 too high: the correct class's own margin (x[y] - x[y] + 1 = 1) is "
    "counted; set it to zero")


def _affine_backward_checks(samples: Sequence[Sample], hidden: bool) -> list[Check]:
    return [backward_check("affine_forward", "affine_backward", "layers", samples,
                           ref.affine_forward, ref.affine_backward, grad=g, grad_index=i, wrt=i,
                           arg_names=AFFINE_ARGS, hint=AFFINE_GRAD_HINTS[g], hidden=hidden)
            for i, g in enumerate(("dx", "dw", "db"))]


def _loss_checks(function: str, reference: Callable, samples: Sequence[Sample], hint: str,
                 signatures: Sequence[Signature] = (), hidden: bool = False) -> list[Check]:
    """A loss function's two outputs, each its own check (partial credit)."""
    return [forward_check(function, "layers", samples, reference, output="loss", what="loss, dx",
                          arg_names=("x", "y"), hint=hint, signatures=signatures, hidden=hidden),
            forward_check(function, "layers", samples, reference, output="dx", index=1,
                          what="loss, dx", arg_names=("x", "y"), hint=hint, hidden=hidden)]


LAYER_CHECKS = [
    forward_check("affine_forward", "layers", affine_samples(), ref.affine_forward,
                  arg_names=AFFINE_ARGS, hint=FORGOT_RESHAPE),
    forward_check("affine_forward", "layers", affine_samples(10, hidden=True), ref.affine_forward,
                  arg_names=AFFINE_ARGS, hint=FORGOT_RESHAPE, hidden=True),
    *_affine_backward_checks(affine_samples(), hidden=False),
    _affine_backward_checks(affine_samples(10, hidden=True), hidden=True)[0],
    forward_check("relu_forward", "layers", relu_samples(), ref.relu_forward, arg_names=("x",),
                  hint="out = np.maximum(0, x), elementwise"),
    backward_check("relu_forward", "relu_backward", "layers", relu_samples(), ref.relu_forward,
                   ref.relu_backward, grad="dx", grad_index=0, wrt=0, arg_names=("x",),
                   single_grad=True, hint="dx = dout * (x > 0): the upstream gradient, masked"),
    *_loss_checks("softmax_loss", ref.softmax_loss, loss_samples(), SOFTMAX_HINT),
    _loss_checks("softmax_loss", ref.softmax_loss, loss_samples(hidden=True), SOFTMAX_HINT,
                 hidden=True)[0],
    forward_check("softmax_loss", "layers", wide_row_samples(), ref.softmax_loss, output="loss",
                  what="loss, dx", arg_names=("x", "y"), hint=WIDE_ROWS_HINT,
                  check_id="softmax_loss/wide_rows",
                  title="softmax_loss: a correct class far below the row's max gives a finite "
                        "loss (advisory, no points)"),
    *_loss_checks("svm_loss", ref.svm_loss, loss_samples(), SVM_HINT,
                  signatures=[SVM_COUNTS_CORRECT_CLASS]),
]

SANDWICH_CHECKS = [
    forward_check("affine_relu_forward", "layer_utils", affine_relu_samples(),
                  ref_utils.affine_relu_forward, arg_names=AFFINE_ARGS,
                  hint="affine_forward, then relu_forward on its output; cache both caches"),
    *[backward_check("affine_relu_forward", "affine_relu_backward", "layer_utils",
                     affine_relu_samples(), ref_utils.affine_relu_forward,
                     ref_utils.affine_relu_backward, grad=g, grad_index=i, wrt=i,
                     arg_names=AFFINE_ARGS,
                     hint="backward runs in reverse order: relu_backward first, then "
                          "affine_backward on its result")
      for i, g in enumerate(("dx", "dw", "db"))],
]


# ===========================================================================
# Models: TwoLayerNet and FullyConnectedNet
# ===========================================================================

# Note [Model checks share parameters]
# A student's model draws its weights from the worker's np.random, in whatever
# order the student wrote; the grade must not depend on that order.  So every
# check of scores, losses and gradients installs the same parameters in the
# student's model (`model.params[name] = ...`, as the Solver assigns them) and
# in a reference model, and compares the two exactly (float64, Note
# [Tolerances]).  Where a check starts from the student's own initialisation
# (the course's initial-loss cell), the expected loss is the reference's loss
# *on the student's own initial parameters*; the course's printed number is
# quoted when the student's draws happen to be the course's.  Initialisation
# itself is judged by statistics (Note [Initialisation statistics]).

# Note [dtype across the wire]
# FullyConnectedNet takes `dtype=np.float64`, a numpy type object: not plain
# data, so it cannot cross the pipe.  The checks ask the worker for
# `numpy.dtype(name)` and pass a reference to its `.type`, so the student's
# constructor receives the very object `np.float64` the notebook passes.  Model
# checks use float64 throughout, so that comparisons are exact to 1e-6.

# Note [No dropout]
# fc_nets grades FullyConnectedNet before dropout exists, so its networks must
# have none.  Course years spell that differently: `dropout=0` ("drop nothing")
# in 2017, `dropout=1` ("keep everything") in ECE697LS and 2019,
# `dropout_keep_ratio=1` since 2020; in every one of them the default means no
# dropout.  The convention `fc_no_dropout` says what the checks pass: `default`
# (the manifest's choice) passes nothing and relies on that default; NAME=VALUE
# (for a skeleton whose default turns dropout on) passes that keyword, but only
# when the student's signature has it, since a student on another year's
# skeleton would get a TypeError for a keyword that means nothing to their code.

@dataclass(frozen=True)
class ModelCase:
    """One model configuration: layer sizes, parameters to install, a minibatch, reg."""
    name: str
    dims: tuple[int, ...]           # (D, H1, ..., C)
    params: dict                     # name -> float64 array, installed in both models
    X: np.ndarray
    y: np.ndarray
    reg: float = 0.0


def _random_params(rng: np.random.Generator, dims: Sequence[int]) -> dict:
    """W_i ~ N(0, 1/fan_in), b_i ~ N(0, 0.1^2): scores of order 1, some ReLUs off, some on."""
    params = {}
    for i in range(1, len(dims)):
        params[f"W{i}"] = rng.standard_normal((dims[i - 1], dims[i])) / math.sqrt(dims[i - 1])
        params[f"b{i}"] = 0.1 * rng.standard_normal(dims[i])
    return params


def _random_case(name: str, seed: int, dims: Sequence[int], x_shape: Sequence[int],
                 reg: float = 0.0) -> ModelCase:
    r = _rng(seed)
    X = r.standard_normal(tuple(x_shape))
    y = r.integers(dims[-1], size=x_shape[0])
    return ModelCase(name, tuple(dims), _random_params(r, dims), X, y, reg)


def _course_two_layer_case(reg: float) -> ModelCase:
    """The notebook's TwoLayerNet cell: N, D, H, C = 3, 5, 50, 7 with linspace parameters."""
    N, D, H, C = 3, 5, 50, 7
    params = {"W1": np.linspace(-0.7, 0.3, num=D * H).reshape(D, H),
              "b1": np.linspace(-0.1, 0.9, num=H),
              "W2": np.linspace(-0.3, 0.4, num=H * C).reshape(H, C),
              "b2": np.linspace(-0.9, 0.1, num=C)}
    X = np.linspace(-5.5, 4.5, num=N * D).reshape(D, N).T
    return ModelCase("course's published linspace check", (D, H, C), params, X,
                     np.asarray([0, 5, 1]), reg)


def _weight_names(params: dict) -> list[str]:
    return sorted((k for k in params if k.startswith("W")), key=lambda k: int(k[1:]))


def _failure_from(error: StudentError, doing: str) -> CheckFailure:
    traceback = f"\n{error.traceback}" if error.traceback else ""
    return CheckFailure(f"{doing} raised {error}{traceback}")


def _no_dropout_kwargs(student) -> dict:
    """What to pass so that FullyConnectedNet has no dropout; see Note [No dropout]."""
    name, sep, value = str(student.conventions.get("fc_no_dropout", "default")).partition("=")
    if not sep or not re.search(rf"\b{re.escape(name)}\b",
                                student.signature("fc_net", "FullyConnectedNet")):
        return {}
    return {name: float(value)}


def _numpy_type(student, name: str):
    """A worker-side reference to np.<name>; see Note [dtype across the wire]."""
    # worker.call, not student.call: numpy is not the student's module, and student.call would
    # first list every numpy callable with its signature (about 0.3 s per submission).
    # Made once per worker process (Note [Worker constants] in grader/checks/student.py), both
    # dtypes the checks use in one request (Note [Constants made together] there).
    student.prefetch_constants("numpy", "dtype", [("float64",), ("float32",)])
    return student.constant("numpy", "dtype", name).attr("type")


# Note [Model construction in one request]
# A model check seeds the worker's np.random (the initialisation checks, Note
# [Initialisation statistics]), builds the model, and reads `model.params` (to judge
# it, or for the shapes the student keeps each parameter in before installing the
# judge's): up to three round trips, 55 of an fc_nets submission's requests (10 seeds,
# the course cell's 2 draws, 43 reads).  `_new_model` sends them as one: the calls made
# first (`before`: the seed, the course cell's draws; Note [Library calls in a stream] in
# grader/checks/student.py) and the constructor are streamed (Note [Streamed calls] in
# grader/worker/client.py), and `model.params` is read right after the constructor
# returned (Note [Reads folded into a call]), so the model sees the same calls in the same
# order and the judge the same `params` as from the separate requests.  An exception of a
# call made first propagates as it did from its own request; one of the constructor is
# the failure `_construct` has always made of it.

PARAMS = ("params",)


def _construct(student, class_name: str, args: tuple, kwargs: dict, shown: dict,
               before: Sequence[tuple] = (), read_params: bool = False):
    """student.new(...), turning an exception into a failure that shows the call; `before`:
    library calls (module, name, args, kwargs) made first (Note [Library calls in a stream] in
    grader/checks/student.py), `read_params`: model.params read after it,
    all in one request (Note [Model construction in one request])."""
    reads = (PARAMS,) if read_params else ()
    if not before:
        try:
            return student.new("fc_net", class_name, *args, reads=reads, **kwargs)
        except StudentError as error:
            raise _constructor_failure(error, class_name, args, shown) from None
    chain = [(name, tuple(a), dict(k), {"module": module, "library": True})
             for module, name, a, k in before]
    chain.append((class_name, args, kwargs,
                  {"reads": [RESULT.attr("params")] if read_params else []}))
    with student.calls("fc_net", chain) as calls:
        for _ in before:
            next(calls)  # a StudentError here is that call's, raised as from its own request
        try:
            result = next(calls)
        except StudentError as error:
            raise _constructor_failure(error, class_name, args, shown) from None
    return RemoteObject(student, result.ref, class_name, dict(zip(reads, result.reads)))


def _raise_constructor_failure(error: StudentError, class_name: str, args: tuple,
                               shown: dict) -> None:
    """Raise the failure `_construct` raises for `error`, while handling it (its cause)."""
    try:
        raise error
    except StudentError:
        raise _constructor_failure(error, class_name, args, shown) from None


def _constructor_failure(error: StudentError, class_name: str, args: tuple,
                         shown: dict) -> CheckFailure:
    text = ", ".join([*(repr(a) for a in args), *(f"{k}={v}" for k, v in shown.items())])
    return constructor_failure(class_name, text, error)


def _new_model(student, class_name: str, dims: Sequence[int], *, reg: float = 0.0,
               weight_scale: float | None = None, dtype: str = "float64",
               before: Sequence[tuple] = (), read_params: bool = False):
    """A student model with the given layer sizes (D, H1, ..., C); `before` and `read_params`:
    Note [Model construction in one request]."""
    args, kwargs, shown = _model_arguments(student, class_name, dims, reg, weight_scale, dtype)
    return _construct(student, class_name, args, kwargs, shown, before, read_params)


def _model_arguments(student, class_name: str, dims: Sequence[int], reg: float = 0.0,
                     weight_scale: float | None = None, dtype: str = "float64") -> tuple:
    """(args, kwargs, kwargs as shown in messages) of the constructor call for `dims`."""
    if class_name == "TwoLayerNet":
        kwargs = dict(input_dim=dims[0], hidden_dim=dims[1], num_classes=dims[2], reg=reg,
                      weight_scale=1e-3 if weight_scale is None else weight_scale)
        return (), kwargs, kwargs
    kwargs = dict(input_dim=dims[0], num_classes=dims[-1], reg=reg,
                  weight_scale=1e-2 if weight_scale is None else weight_scale,
                  **_no_dropout_kwargs(student))
    shown = {**{k: repr(v) for k, v in kwargs.items()}, "dtype": f"np.{dtype}"}
    return (list(dims[1:-1]),), {**kwargs, "dtype": _numpy_type(student, dtype)}, shown


# Note [A check's models made together]
# A model check asks the same question of two or three networks, each built, then asked.
# Their constructions go first, as one request (Note [Streamed calls] in
# grader/worker/client.py), each with its `params` read (Note [Reads folded into a call]);
# then each network is asked in turn, as before.  The networks are independent and their
# initial weights are replaced by the judge's, so building network 2 before asking network 1
# changes nothing a correct submission can show; what a later constructor raises is said at
# that network's turn, after the earlier networks were judged, as before.  A later
# constructor that hangs or crashes the worker stops the check at once (it ends the worker
# holding the earlier networks), where one by one the earlier networks would have been
# judged first: the check fails either way, with that constructor's timeout or crash
# unless an earlier network was also wrong.

# Note [A check's models asked together]
# Once a check's networks are built (Note [A check's models made together]), each one's
# question (the judge's parameters installed, then `loss`: Note [Sets folded into a call] in
# grader/worker/client.py) goes in one request too (`Student.method_calls`, Note [Streamed
# calls]), and the answers are judged in order, as before.  The networks are independent, so
# asking network 2 before network 1's answer is judged changes nothing a correct submission
# can show; after a wrong answer the later questions were still asked, and their answers are
# dropped (Note [Streamed calls]).  A network whose constructor raised is not asked: its
# failure is raised once the networks before it were judged.

def _new_models(student, class_name: str, cases: Sequence["ModelCase"],
                meanwhile: Callable[[], None] = lambda: None) -> list:
    """For each case, its freshly built student model with `params` read, or a function that
    raises the failure its constructor's exception makes, as `_construct` raises it (Note [A
    check's models made together]).  `meanwhile()` is the judge's own work, done once the
    constructions are sent, before their results are read (Note [Judge works while the worker
    computes] in grader/checks/student.py)."""
    if len(cases) < 2:
        meanwhile()
        return [_new_model(student, class_name, case.dims, reg=case.reg, read_params=True)
                for case in cases]
    calls = [_model_arguments(student, class_name, case.dims, case.reg) for case in cases]
    made: list = []
    with student.calls("fc_net", [(class_name, args, kwargs, {"reads": [RESULT.attr("params")]})
                                  for args, kwargs, _ in calls]) as results:
        meanwhile()
        for args, _, shown in calls:
            try:
                result = next(results)
            except StudentError as error:
                made.append(lambda error=error, args=args, shown=shown:
                            _raise_constructor_failure(error, class_name, args, shown))
                break
            made.append(RemoteObject(student, result.ref, class_name,
                                     dict(zip((PARAMS,), result.reads))))
    return made


# Note [Models built and asked together]
# A model check built its networks in one request, read each one's `params` in it for the
# shapes the student keeps them in, and asked its questions in a second request, each
# network's parameters installed in those shapes (Notes [A check's models made together],
# [A check's models asked together]).  The worker now reshapes the judge's values itself, by
# the same rule and from the same values (Note [Sets in the student's shape] in
# grader/worker/runtime.py), so the questions need nothing from the constructions' replies and
# go in the constructions' request: every constructor, then every question (`Part(i)`, the
# network built by call i), the same calls in the same order, each network handed the same
# values in the same shapes.  Each reply is read and judged where it was before: a constructor
# that raises stops the worker's answers there (Note [Streamed calls] in
# grader/worker/client.py), so the networks built before it are asked in a request of their
# own, as before, and its failure is raised after they were judged; a constructor's timeout or
# crash is raised at once, remembered against the class (Note [Fail fast]), a question's
# against `loss` (crashes only), as `Student.calls` and `Student.method_calls` do.  Where a
# name is missing or a call was refused earlier, the check makes its two requests as before.
# One request fewer per model check: 11 per fc_nets submission.
class _Answers:
    """The questions' replies of `_made_and_asked`'s request, one per `next`, as
    `Student.method_calls` hands them (Note [Models built and asked together])."""

    def __init__(self, student, key: str, stream=None, fallback=None) -> None:
        self.student, self.key, self.stream, self.fallback = student, key, stream, fallback

    def next(self):
        if self.stream is None:
            return next(self.fallback)
        try:
            return next(self.stream)
        except WorkerFailure as error:
            self.student._remember(self.key, error, timeouts=False)
            raise

    def __enter__(self) -> "_Answers":
        return self

    def __exit__(self, *exc) -> None:
        for answers in (self.stream, self.fallback):
            if answers is not None:
                answers.close()


def _made_and_asked(student, class_name: str, output: str, cases: Sequence["ModelCase"],
                    meanwhile: Callable[[], None]):
    """(models, answers): each case's model as `_new_models` gives it, and the replies to
    `loss` of each one built with the case's parameters installed, all in one request (Note
    [Models built and asked together]); None where the check makes its two requests."""
    constructor, method = f"fc_net.{class_name}", f"object {class_name}.loss"
    try:
        actual = student.require("fc_net", class_name)
    except CheckFailure:
        return None
    if student.timed_out(constructor) or student.crashed(constructor) or student.crashed(method):
        return None
    arguments = [_model_arguments(student, class_name, case.dims, case.reg) for case in cases]
    target = {"module": student._import_name("fc_net"), "attrs": actual.split(".")}
    calls = [(target, args, kwargs) for args, kwargs, _ in arguments]
    for number, case in enumerate(cases):
        params = Part(number).attr("params")
        calls.append(({"ref": Part(number).wire(), "attrs": ["loss"]},
                      (case.X,) if output == "scores" else (case.X, case.y), {},
                      {"sets": [(params.item(k), v, "like") for k, v in case.params.items()],
                       "watch_inputs": False}))
    student._warm_up()
    try:
        stream = student.worker.stream(calls, timeout=student.call_timeout)
    except WorkerFailure as error:  # sending (a worker that would not start): the first call's
        student._remember(constructor, error)
        raise
    models: list = []
    try:
        meanwhile()
        for args, _, shown in arguments:
            try:
                result = next(stream)
            except StudentError as error:
                models.append(lambda error=error, args=args, shown=shown:
                              _raise_constructor_failure(error, class_name, args, shown))
                break
            except WorkerFailure as error:
                student._remember(constructor, error)
                raise
            student._note_mutations(class_name, result)
            models.append(RemoteObject(student, result.ref, class_name))
    except BaseException:
        stream.close()
        raise
    if len(models) == len(cases) and isinstance(models[-1], RemoteObject):
        return models, _Answers(student, method, stream=stream)
    stream.close()  # stopped at the constructor that raised: the ones before it asked alone
    made = [m for m in models if isinstance(m, RemoteObject)]
    questions = [(model, "loss", (case.X,) if output == "scores" else (case.X, case.y), {},
                  ("params", case.params, "like"))
                 for case, model in zip(cases, made)]
    return models, _Answers(student, method, fallback=student.method_calls(questions))


# Note [Reference models from a prototype]
# The judge builds a reference model for every question it asks about one (123 per fc_nets
# submission, 40 of them in the overfitting check), and building one meant saving and
# restoring numpy's global generator around the constructor (its draws must not move the
# judge's np.random): about 0.25 ms of a 0.3 ms build, a fifth of the judge's CPU time on a
# correct package.  A model is now a shallow copy of a prototype built once per process for
# each (class, depth, reg), holding float64 copies of the parameters asked about.  The copy is
# the model the constructor makes: the reference's loss reads the layer sizes from the
# parameters only (so the prototype is built with every size 1), and everything else it
# reads (reg, num_layers, dtype, and for FullyConnectedNet the dropout and normalization
# settings) is the constructor's, unchanged.  What a copy shares with the prototype besides
# those immutable settings is FullyConnectedNet's empty `dropout_param` and `bn_params`,
# which its loss writes only with dropout or normalization, which these models never have
# (checked where a prototype is made); its `params` is its own dict.  In a student release
# the reference's classes are replay proxies whose objects are handles keyed by their history
# (Note [Reference objects] in grader/course/replay.py), not objects to copy: there every
# model is built as before, by its own constructor call.

_PROTOTYPES: dict = {}


def _reference_model(class_name: str, dims: Sequence[int], reg: float, params: dict):
    """A reference model holding float64 copies of `params`; the judge's np.random is untouched
    (Note [Reference models from a prototype])."""
    cls = ref_fc.TwoLayerNet if class_name == "TwoLayerNet" else ref_fc.FullyConnectedNet
    key = (class_name, len(dims), type(reg), reg)
    prototype = _PROTOTYPES.get(key)
    if prototype is None:
        state = np.random.get_state()
        try:
            if class_name == "TwoLayerNet":
                prototype = cls(input_dim=1, hidden_dim=1, num_classes=1, reg=reg)
            else:
                prototype = cls([1] * (len(dims) - 2), input_dim=1, num_classes=1, reg=reg,
                                dtype=np.float64)
        finally:
            np.random.set_state(state)
        if not _copyable(cls, prototype):  # a release's replay proxy: a new model each time
            prototype.params = {k: np.array(v, dtype=np.float64) for k, v in params.items()}
            return prototype
        _PROTOTYPES[key] = prototype
    model = copy.copy(prototype)
    model.params = {k: np.array(v, dtype=np.float64) for k, v in params.items()}
    return model


def _copyable(cls, prototype) -> bool:
    """Whether `prototype` is the reference's own model without dropout or normalization (Note
    [Reference models from a prototype])."""
    if not (inspect.isclass(cls) and getattr(cls, "__module__", "").startswith("reference.")):
        return False
    return cls is ref_fc.TwoLayerNet or (not prototype.use_dropout
                                         and prototype.normalization is None)


def _student_shapes(model, initial: bool = False) -> dict:
    """The shape of each array in the student's model.params ({} if it cannot be read);
    `initial`: as read when the model was made (Note [Model construction in one request])."""
    try:
        own = model.initial(*PARAMS) if initial else model.get("params")
    except StudentError:
        return {}
    return _shapes_of(own)


def _shapes_of(own) -> dict:
    """The shape of each array in `own`, a model.params as read ({} if it is not a dict)."""
    if not isinstance(own, dict):
        return {}
    own = {k: v.value if isinstance(v, Converted) else v for k, v in own.items()}
    return {k: v.shape for k, v in own.items() if isinstance(v, np.ndarray)}


def _install(model, params: dict, shapes: dict | None = None) -> None:
    """model.params[name] = value for every parameter, as the Solver assigns them, each in
    the shape the student's model keeps it in (a (1, H) bias; Note [Singleton axes] in
    grader/checks/compare.py)."""
    values = _install_values(model, params, shapes)
    try:
        model.set_items("params", values)  # one request (Note [Batched sets], client.py)
    except StudentError as error:
        raise _install_failure(error, values) from None


def _install_values(model, params: dict, shapes: dict | None = None) -> dict:
    """What `_install` assigns: each parameter in the shape the student's model keeps it in."""
    shapes = _student_shapes(model) if shapes is None else shapes
    return {name: in_shape(value, shapes.get(name, np.shape(value)))
            for name, value in params.items()}


def _install_failure(error: StudentError, values: dict) -> CheckFailure:
    name = list(values)[error.index] if 0 <= error.index < len(values) else "..."
    return _failure_from(error, f"setting model.params[{name!r}]")


def _call_installed(model, install: tuple | None, *args, shapes_after: dict | None = None,
                    answer: Callable | None = None):
    """model.loss(*args), after `_install(model, *install)` when `install` is given, in one
    request (Note [Sets folded into a call] in grader/worker/client.py); the failure of an
    assignment is reported as `_install` reports it.  StudentError: the call's own.
    `shapes_after`: see `_loss_and_grads`; `answer`: returns the CallResult of that very call,
    already sent (Note [A check's models asked together])."""
    reads = (PARAMS,) if shapes_after is not None else ()
    if install is None:
        result = answer() if answer is not None else model.call("loss", *args, reads=reads)
    else:
        values = _install_values(model, *install)
        try:
            result = (answer() if answer is not None else
                      model.call("loss", *args, set_items=("params", values), reads=reads))
        except StudentError as error:
            if error.index >= 0:
                raise _install_failure(error, values) from None
            raise
    if shapes_after is not None:
        try:
            shapes_after.update(_shapes_of(result.read(0)))
        except StudentError:
            pass  # as `_student_shapes`: {} when params cannot be read
    return result.value


def _plain_params(value, what: str) -> dict:
    """model.params as a dict of ndarrays, or a CheckFailure saying what it is instead."""
    if not isinstance(value, dict):
        raise CheckFailure(f"{what}: model.params is {summarize(value)}, expected a dict of arrays")
    params = {}
    for name, array in value.items():
        array = array.value if isinstance(array, Converted) else array
        if not isinstance(array, np.ndarray):
            raise CheckFailure(f"{what}: model.params[{name!r}] is {summarize(array)}, "
                               f"expected an array")
        params[name] = array
    return params


def _expected_shapes(dims: Sequence[int]) -> dict:
    shapes = {}
    for i in range(1, len(dims)):
        shapes[f"W{i}"] = (dims[i - 1], dims[i])
        shapes[f"b{i}"] = (dims[i],)
    return shapes


# Note [Normalization parameters without normalization]
# A real cs231n package (2021 or later) made gamma{i} (ones) and beta{i} (zeros) for every
# hidden layer whatever `normalization` said, and read them only when it normalized; its loss
# returned gradient 0 for them.  Built with normalization=None (as fc_nets builds every
# network) the network computes what the course's does, the notebook's gradient check and the
# Solver run with it, yet 'params' and 'initial_loss' lost their points to "params has keys
# [..., 'beta1', ..., 'gamma2'], expected ['W1', 'b1', ...]".  So params may also hold, for
# hidden layers only, gamma{i} all ones and beta{i} all zeros of the layer's width (up to axes
# of length 1): the values a normalization starts from, which change nothing before it is
# turned on; the check notes them (FullyConnectedNet only: TwoLayerNet has no normalization).
# Any other extra entry, a gamma that is not ones, or one for the scores' layer still fails.
# What the network does with them is the loss checks' to judge: those install the judge's W
# and b and compare the loss and their gradients.  The course's Solver
# updates every entry of params with grads[name], so such a network must also return a
# gradient for each (the real one returned 0): 'initial_loss' fails one whose grads lack them
# (its training would stop with a KeyError), naming them (_grads_for_unused_normalization).

def _unused_normalization(params: dict, dims: Sequence[int], expected: dict) -> bool:
    """Whether the entries of `params` beyond `expected` are a normalization's untouched
    scale and shift (Note [Normalization parameters without normalization]), noting them."""
    if not set(expected) <= set(params):
        return False
    extra = sorted(set(params) - set(expected))
    for name in extra:
        match = re.fullmatch(r"(gamma|beta)(\d+)", name)
        if match is None or not 1 <= int(match.group(2)) <= len(dims) - 2:
            return False
        value, width = params[name], dims[int(match.group(2))]
        if not same_up_to_singletons(value.shape, (width,)):
            return False
        if not np.all(value == (1.0 if match.group(1) == "gamma" else 0.0)):
            return False
    record_note(f"params also holds {', '.join(extra)}, a normalization's scale and shift at "
                f"their initial values, though this network has no normalization: accepted, "
                f"they change nothing until normalization is on")
    return True


def _grads_for_unused_normalization(own: dict, checked: dict, grads, what: str) -> None:
    """The gradients the Solver needs for params' accepted extra entries (Note [Normalization
    parameters without normalization]); `checked`: the entries the course names."""
    extra = sorted(set(own) - set(checked))
    missing = [name for name in extra if isinstance(grads, dict) and name not in grads]
    if missing:
        raise CheckFailure(f"[{what}] params also holds {', '.join(missing)} but grads has no "
                           f"entry for them: the course's Solver updates every entry of params "
                           f"with grads[name] and stops with a KeyError; return a gradient for "
                           f"each (zero while there is no normalization), or make gamma and beta "
                           f"only with normalization")


def _check_names_and_shapes(params: dict, dims: Sequence[int], what: str,
                            weights_only: bool = False, normalizable: bool = False) -> dict:
    """`params` in the course's shapes; a (1, H) bias passes with a note (Note [Singleton
    axes] in grader/checks/compare.py), any other shape fails.  `weights_only`: only
    W1..WL, which `params` must hold (Note [Statistics judge the weights])."""
    expected = _expected_shapes(dims)
    if weights_only:
        expected = {name: shape for name, shape in expected.items() if name.startswith("W")}
        if not set(expected) <= set(params):
            raise CheckFailure(f"{what}: params has keys {sorted(params)}, expected the weights "
                               f"{list(expected)} among them",
                               hint="one W{i} per layer, numbered from 1")
    elif sorted(params) != sorted(expected) and not (
            normalizable and _unused_normalization(params, dims, expected)):
        raise CheckFailure(f"{what}: params has keys {sorted(params)}, expected {list(expected)}",
                           hint="one W{i} and one b{i} per layer, numbered from 1")
    for name, shape in expected.items():
        if not accept_shape(f"params['{name}']", params[name].shape, shape):
            raise CheckFailure(f"{what}: params['{name}'] has shape {params[name].shape}, "
                               f"expected {shape}",
                               hint="W{i} is (fan_in, fan_out) and b{i} is (fan_out,)")
    return {name: params[name].reshape(shape) for name, shape in expected.items()}


def _student_params(model, dims: Sequence[int], what: str) -> dict:
    """The student's model.params as read when it was made (Note [Model construction in one
    request]), checked, in the course's shapes."""
    return _check_names_and_shapes(_plain_params(model.initial(*PARAMS), what), dims, what,
                                   normalizable=model.class_name == "FullyConnectedNet")


# Note [Statistics judge the weights]
# The 'weight_scale' initialisation check judges how W1..WL were drawn; names, biases and
# dtype are the 'params' check's.  Reading the whole params dict there charged one bias
# mistake twice: a real 2017 package with `self.params['b1'] = 0` (a scalar zero, which
# broadcasts and trains) and correctly drawn weights lost TwoLayerNet's weight_scale point
# with "model.params['b1'] is 0, expected an array", a message about no weight.  The
# statistics now read only the weights: they must be there, arrays, in the course's shapes;
# anything else in params is left to 'params'.

def _student_weights(model, dims: Sequence[int], what: str) -> dict:
    """W1..WL of the student's model.params as read when it was made, checked, in the
    course's shapes; other entries are not read (Note [Statistics judge the weights])."""
    value = model.initial(*PARAMS)
    if isinstance(value, dict):
        value = {name: array for name, array in value.items()
                 if isinstance(name, str) and name.startswith("W")}
    return _check_names_and_shapes(_plain_params(value, what), dims, what, weights_only=True)


def _scores(model, X: np.ndarray, case_name: str, install: tuple | None = None,
            answer: Callable | None = None):
    """model.loss(X); `install`: (params, shapes) to `_install` first (`_call_installed`)."""
    try:
        return _call_installed(model, install, X, answer=answer)
    except StudentError as error:
        raise _failure_from(error, f"[sample {case_name}] model.loss(X) (test time, y=None)") \
            from None


def _loss_and_grads(model, X: np.ndarray, y: np.ndarray, case_name: str,
                    install: tuple | None = None, shapes_after: dict | None = None,
                    answer: Callable | None = None) -> tuple:
    """model.loss(X, y) split into (loss, grads), with a clear failure when it is not a pair;
    `install`: (params, shapes) to `_install` first, in the same request (`_call_installed`);
    `shapes_after`: a dict filled with `_student_shapes(model)` as read right after the call,
    in its request (Note [Reads folded into a call] in grader/worker/client.py)."""
    try:
        value = _call_installed(model, install, X, y, shapes_after=shapes_after, answer=answer)
    except StudentError as error:
        raise _failure_from(error, f"[sample {case_name}] model.loss(X, y)") from None
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise CheckFailure(f"[sample {case_name}] model.loss(X, y) returned {summarize(value)}, "
                           f"expected a pair (loss, grads)")
    return value[0], value[1]


# Note [Regularisation signatures]
# The usual L2 mistakes change the loss and the gradients by amounts the judge
# computes from the sample itself: the penalty without the course's 0.5 (loss
# too high by the penalty, dW by reg*W), biases penalised too, the penalty
# forgotten, the last layer left out of the loop.  Each becomes a `Signature`
# comparing the student's number with that exact alternative (to 1e-9
# relative), so a hint names a mistake only when the numbers prove it.

def _near(value: float) -> Callable:
    return lambda a, e: a.size == 1 and bool(np.isclose(float(a), value, rtol=1e-9, atol=1e-12))


def _near_array(alternative: np.ndarray) -> Callable:
    return lambda a, e: (a.shape == alternative.shape
                         and bool(np.allclose(a, alternative, rtol=1e-9, atol=1e-12)))


def _loss_signatures(case: ModelCase, data_loss: float) -> list[Signature]:
    """See Note [Regularisation signatures]; `data_loss` is the reference loss at reg=0."""
    if not case.reg:
        return []
    weights = _weight_names(case.params)
    half_reg_square = {k: 0.5 * case.reg * float(np.sum(v ** 2)) for k, v in case.params.items()}
    penalty = sum(half_reg_square[k] for k in weights)
    biases = sum(v for k, v in half_reg_square.items() if k.startswith("b"))
    return [
        Signature(_near(data_loss + 2 * penalty),
                  "the L2 penalty is reg * sum(W**2); the course's is 0.5 * reg * sum(W**2), "
                  "whose gradient is reg * W"),
        Signature(_near(data_loss + penalty + biases),
                  "the biases are penalised too; the course regularises only the weights W1..WL"),
        Signature(_near(data_loss), "the loss has no regularisation term: add 0.5 * reg * "
                                    "sum(W**2) for every weight matrix"),
        Signature(_near(data_loss + penalty - half_reg_square[weights[-1]]),
                  f"the penalty leaves out the last layer's weights {weights[-1]}"),
        # a real Berkeley CS182 hand-in: the penalty written once, beside the last layer
        Signature(_near(data_loss + half_reg_square[weights[-1]]),
                  f"the penalty holds the last layer's weights {weights[-1]} only; the course "
                  f"adds 0.5 * reg * sum(W**2) for every weight matrix {', '.join(weights)}"),
        *_one_weight_per_layer(weights, half_reg_square, data_loss),
    ]


# Note [A penalty loop that ignores its index]
# A real cs231n 2022 hand-in summed its penalty in `for x in range(self.num_layers):` whose
# body read self.params['W' + str(i + 1)]: i was left over from the forward pass's loop, so
# the penalty held one weight matrix once per layer and no other ("loss: got 132.56, expected
# 91.22", numbers only, in the initial-loss and loss_reg checks).  The loss with one weight's
# term counted L times (L weight matrices) is named.

def _one_weight_per_layer(weights: list, half_reg_square: dict,
                          data_loss: float) -> list[Signature]:
    """Note [A penalty loop that ignores its index]: one signature per weight matrix."""
    if len(weights) < 2:
        return []
    return [Signature(_near(data_loss + len(weights) * half_reg_square[name]),
                      f"the penalty adds {name}'s term {len(weights)} times (once per layer) and "
                      f"no other weight's: the loop over the layers reads W{{i}} with an index "
                      f"that is not the loop's own (a variable left over from another loop)")
            for name in weights]


# Note [Layers without their ReLU]
# Two real hand-ins put the ReLUs in the wrong places and got only numbers on scores and
# loss: a 2017 package chained its affine layers with no ReLU between them (`affine_forward`
# for every layer), a 2020 one ended with a ReLU on the scores too (`affine_relu_forward` for
# the last layer).  At the parameters the judge installs (Note [Model checks share
# parameters]) such scores are exactly the affine layers' with ReLUs where the student put
# them, and the loss that of those scores plus the course's penalty, all computed from the
# sample; a `Signature` for each names the slip only when the numbers prove it (to 1e-9
# relative, as Note [Regularisation signatures]), and is computed only when the check has
# already failed.

RELU_SLIPS = (
    (False, False, "the hidden layers have no ReLU: these are the affine layers alone; each "
                   "hidden layer is affine then ReLU (affine_relu_forward), only the last affine "
                   "layer has none"),
    (True, True, "the last affine layer has a ReLU too, so no score is below 0: the scores are "
                 "the last affine layer's output as it is (affine_forward)"),
)


def _scores_with_relus(case: ModelCase, hidden_relu: bool, last_relu: bool) -> np.ndarray:
    layers = len(case.dims) - 1
    out = case.X.reshape(len(case.X), -1)
    for i in range(1, layers + 1):
        out = out @ case.params[f"W{i}"] + case.params[f"b{i}"]
        if (hidden_relu if i < layers else last_relu):
            out = np.maximum(out, 0)
    return out


def _relu_scores_signatures(case: ModelCase) -> list[Signature]:
    """See Note [Layers without their ReLU]."""
    return [Signature(lambda a, e, hidden=hidden, last=last: _near_array(
                _scores_with_relus(case, hidden, last))(a, e), hint)
            for hidden, last, hint in RELU_SLIPS]


def _relu_loss_signatures(case: ModelCase) -> list[Signature]:
    """See Note [Layers without their ReLU]."""
    def loss(hidden: bool, last: bool) -> float:
        penalty = sum(0.5 * case.reg * float(np.sum(case.params[k] ** 2))
                      for k in _weight_names(case.params))
        return ref.softmax_loss(_scores_with_relus(case, hidden, last), case.y)[0] + penalty
    return [Signature(lambda a, e, hidden=hidden, last=last: _near(loss(hidden, last))(a, e), hint)
            for hidden, last, hint in RELU_SLIPS]


# Note [One number added to every entry]
# A real hand-in (cs231n 2017) wrote `grads[W] += reg * np.sum(W)`: the penalty's
# gradient as one number added to every entry of dW, where the gradient of
# 0.5 * reg * sum(W**2) is reg * W, an array of W's shape.  Its TwoLayerNet,
# FullyConnectedNet and ThreeLayerConvNet gradients got only numbers ("250 of 250
# entries differ"), and the same bug cost it points in batchnorm's and dropout's
# networks.  The judge computes that exact alternative from the sample (the data
# gradient plus reg * np.sum(W)) and names it only when the student's numbers are it,
# as the other signatures of Note [Regularisation signatures] do.  cnn's checks name it
# the same way for ThreeLayerConvNet (their own `_grad_signatures`).

def _grad_signatures(case: ModelCase, name: str, unregularised: dict) -> list[Signature]:
    """Known slips for grads[name]; `unregularised` holds the reference gradients at reg=0."""
    if not case.reg or name not in unregularised:
        return []
    data_grad, value = unregularised[name], case.params[name]
    if name.startswith("W"):
        return [Signature(_near_array(data_grad), f"the regularisation gradient reg * {name} is "
                                                  f"missing from grads['{name}']"),
                # see Note [One number added to every entry]
                Signature(_near_array(data_grad + case.reg * np.sum(value)),
                          f"grads['{name}'] adds reg * np.sum({name}), one number, to every entry: "
                          f"the gradient of the penalty 0.5 * reg * sum({name}**2) is reg * {name}, "
                          f"an array of {name}'s shape"),
                Signature(_near_array(data_grad + 2 * case.reg * value),
                          f"grads['{name}'] adds 2 * reg * {name}: the course's penalty is "
                          f"0.5 * reg * sum({name}**2), whose gradient is reg * {name}")]
    return [Signature(_near_array(data_grad + case.reg * value),
                      f"grads['{name}'] includes reg * {name}: biases are not regularised")]


def _own_loss_note(model, case: ModelCase, name: str, claimed, loss_wrong: bool = False) -> str:
    """Is grads[name] the gradient of the student's own loss?  One directional derivative says."""
    planned = _directional_plan(case, name, claimed)
    if planned is None:
        return ""
    base, claimed, direction = planned
    shapes = _student_shapes(model)

    def loss_at(t: float) -> float:
        value = _call_installed(model, ({name: base + t * direction}, shapes), case.X, case.y)
        return float(np.asarray(value[0]))

    try:
        numeric = (loss_at(DIRECTIONAL_STEP) - loss_at(-DIRECTIONAL_STEP)) / (2 * DIRECTIONAL_STEP)
    except Exception:
        return ""
    finally:
        _install(model, {name: base}, shapes)
    return _own_loss_text(name, claimed, direction, numeric, loss_wrong)


def _directional_plan(case: ModelCase, name: str, claimed):
    """(base, claimed in its shape, direction) of `_own_loss_note` for grads[name]; None when
    the claimed gradient cannot be compared (no note, no request)."""
    base = case.params.get(name)
    claimed = in_shape(claimed, np.shape(base))
    if not isinstance(claimed, np.ndarray) or base is None or claimed.shape != base.shape:
        return None
    direction = np.random.default_rng(12345).standard_normal(base.shape)  # scores nothing: fixed
    return base, claimed, direction


def _own_loss_text(name: str, claimed: np.ndarray, direction: np.ndarray, numeric: float,
                   loss_wrong: bool) -> str:
    """The note of `_own_loss_note` once the directional derivative `numeric` is known."""
    analytic = float(np.sum(claimed * direction))
    error = abs(numeric - analytic) / max(abs(numeric) + abs(analytic), 1e-12)
    if error < DIRECTIONAL_TOLERANCE:
        return (f"\n  grads['{name}'] IS the gradient of your own loss (directional derivative "
                f"relative error {error:.1e}): the bug is in the loss (forward pass)")
    if loss_wrong:  # Note [Forward first] in grader/checks/builders.py
        return (f"\n  grads['{name}'] is not the gradient of your own loss either (directional "
                f"derivative relative error {error:.1e}): once the loss is fixed, check the "
                f"backward pass too")
    return (f"\n  grads['{name}'] is not the gradient of your own loss either (directional "
            f"derivative relative error {error:.1e}): the bug is in the backward pass")


# Note [Directional notes in one request]
# A wrong gradient's note (`_own_loss_note`: is it the gradient of the student's own loss?)
# read the shapes of model.params, asked the loss at base + t*d and at base - t*d, and put
# base back: four round trips per wrong parameter, the largest share of a failing fc_nets
# submission's requests (a deep network with three wrong gradients made 12 for one check).
# `_own_loss_notes` asks for every wrong parameter of a check together: the shapes read once,
# then every loss question in one request (`Student.method_calls`, Note [Streamed calls] in
# grader/worker/client.py), each parameter put back by the assignments folded into the next
# parameter's first question (Note [Sets folded into a call]: made in order, before the
# call), the last one put back by its own request, as before.  So the student's `loss` is
# asked exactly the questions it was asked one parameter at a time, in the same order, at
# the same parameters in the same shapes, and each note is computed from the same two
# numbers.  The shapes are those read before the first question instead of before each
# parameter's: they differ only for a `loss` that reshapes model.params itself, and then
# only which shape a note's questions are asked in.  Where anything goes wrong (a question
# raises, times out or answers something that is not a loss, an assignment raises), that
# parameter's note is empty and it is put back, as before; the parameters after it are then
# asked one by one as before (a failed put-back raises the same failure as before); the
# questions already sent for them run and their answers are dropped (Note [Streamed calls]).
def _own_loss_notes(model, case: ModelCase, claims: list, loss_wrong: bool = False) -> list:
    """`_own_loss_note(model, case, name, claimed, loss_wrong)` for each (name, claimed) of
    `claims`, in order, their questions in one request (Note [Directional notes in one
    request])."""
    notes = [""] * len(claims)
    plan = []
    for index, (name, claimed) in enumerate(claims):
        planned = _directional_plan(case, name, claimed)
        if planned is not None:
            plan.append((index, name, *planned))
    if not plan:
        return notes
    shapes = _student_shapes(model)
    steps = (DIRECTIONAL_STEP, -DIRECTIONAL_STEP)
    questions, restores = [], []
    for number, (_, name, base, _, direction) in enumerate(plan):
        restore = _install_values(model, {plan[number - 1][1]: plan[number - 1][2]}, shapes) \
            if number else {}
        restores.append(restore)
        for t in steps:
            values = _install_values(model, {name: base + t * direction}, shapes)
            questions.append((model, "loss", (case.X, case.y), {},
                              ("params", {**restore, **values} if t > 0 else values)))
    stopped = None  # the position in `plan` where the one request stopped answering
    with model.student.method_calls(questions) as answers:
        for number, (index, name, base, claimed, direction) in enumerate(plan):
            losses = []
            try:
                for _ in steps:
                    losses.append(float(np.asarray(next(answers).value[0])))
            except StudentError as error:
                if not losses and restores[number] and error.index == 0:
                    # putting the parameter before back raised: as from its own request
                    raise _install_failure(error, restores[number]) from None
                stopped = number
                break
            except Exception:
                stopped = number
                break
            numeric = (losses[0] - losses[1]) / (2 * DIRECTIONAL_STEP)
            notes[index] = _own_loss_text(name, claimed, direction, numeric, loss_wrong)
    if stopped is None:
        _install(model, {plan[-1][1]: plan[-1][2]}, shapes)
        return notes
    _install(model, {plan[stopped][1]: plan[stopped][2]}, shapes)
    for index, name, *_ in plan[stopped + 1:]:
        notes[index] = _own_loss_note(model, case, name, claims[index][1], loss_wrong)
    return notes


def _compare_grads(grads, expected: dict, case: ModelCase, model, unregularised: dict,
                   loss_wrong: bool = False) -> None:
    """Every gradient against the reference; one failure listing each wrong parameter, after
    saying that the loss is wrong too when it is (Note [Forward first] in builders.py)."""
    where = f"[sample {case.name}, reg={case.reg:g}]"
    if not isinstance(grads, dict):
        raise CheckFailure(f"{where} grads is {summarize(grads)}, expected a dict keyed like "
                           f"params")
    missing = [k for k in expected if k not in grads]
    if missing:
        raise CheckFailure(f"{where} grads has no entry for {missing} (it has {sorted(grads)}); "
                           f"every parameter needs its gradient")
    failures, details = [], {}
    for name in sorted(expected, key=lambda k: (int(k[1:]), k[0])):
        try:
            compare_arrays(f"grads['{name}']", grads[name], expected[name],
                           signatures=_grad_signatures(case, name, unregularised),
                           batch_size=len(case.X))
        except CheckFailure as failure:
            claimed = grads[name].value if isinstance(grads[name], Converted) else grads[name]
            failures.append((failure.message, name, claimed))
            details[name] = failure.details
    # Note [Directional notes in one request]
    notes = _own_loss_notes(model, case, [(name, claimed) for _, name, claimed in failures],
                            loss_wrong)
    failures = [message + note for (message, _, _), note in zip(failures, notes)]
    if failures:
        first = ("your loss is wrong on this sample too: fix it first; correct gradients of a "
                 "wrong loss cannot match\n" if loss_wrong else "")
        raise CheckFailure(f"{where} {len(failures)} of {len(expected)} gradients differ\n"
                           + first + "\n".join(failures), details=details)


def _softmax(scores: np.ndarray) -> np.ndarray:
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


SCORES_ARE_PROBABILITIES = Signature(
    lambda a, e: a.shape == e.shape and bool(np.allclose(a, _softmax(e), rtol=1e-6, atol=1e-9)),
    "these are softmax probabilities: loss(X) without y returns the raw class scores")


def _reference_answers(output: str, class_name: str, case: ModelCase) -> tuple:
    """What `_compare_output` compares with: the reference's scores, or its loss and gradients
    at the case's reg and at reg=0.  A model check keeps them (`Answers`, Note [Answers kept per
    process] in grader/checks/answers.py): the cases are the judge's own."""
    reference = _reference_model(class_name, case.dims, case.reg, case.params)
    if output == "scores":
        return (reference.loss(case.X),)
    expected_loss, expected_grads = reference.loss(case.X, case.y)
    data_loss, data_grads = _reference_model(class_name, case.dims, 0.0, case.params).loss(
        case.X, case.y)
    return expected_loss, expected_grads, data_loss, data_grads


def _compare_output(output: str, class_name: str, model, case: ModelCase, hint: str,
                    install: tuple | None = None, answer: Callable | None = None,
                    expected: tuple | None = None) -> None:
    """One of 'scores', 'loss', 'grads' of the student's model against the reference's;
    `install`: (params, shapes) to `_install` first, in the same request; `answer`: see
    `_call_installed`; `expected`: `_reference_answers` when already computed."""
    # The reference's answers first: the question was sent, and the worker answers it
    # meanwhile (Note [Judge works while the worker computes] in grader/checks/student.py).
    if expected is None:
        expected = _reference_answers(output, class_name, case)
    if output == "scores":
        (expected_scores,) = expected
        actual = _scores(model, case.X, case.name, install, answer)
        try:
            compare_arrays("scores", actual, expected_scores, hint=hint,
                           inputs={"X": case.X}, signatures=[
                               SCORES_ARE_PROBABILITIES, *_relu_scores_signatures(case)])
        except CheckFailure as failure:
            raise CheckFailure(f"[sample {case.name}] {failure.message}"
                               f"{_renamed_params_note(model, case)}", hint=hint,
                               details=failure.details) from None
        return
    expected_loss, expected_grads, data_loss, data_grads = expected
    loss, grads = _loss_and_grads(model, case.X, case.y, case.name, install, answer=answer)
    if output == "grads":
        _compare_grads(grads, expected_grads, case, model, data_grads,
                       loss_wrong=not _same_loss(loss, expected_loss))
        return
    try:
        compare_scalar("loss", loss, expected_loss, hint=hint,
                       signatures=[*_loss_signatures(case, data_loss),
                                   *_relu_loss_signatures(case)])
    except CheckFailure as failure:
        raise CheckFailure(f"[sample {case.name}, reg={case.reg:g}] {failure.message}"
                           f"{_renamed_params_note(model, case)}", hint=hint,
                           details=failure.details) from None


# Note [Parameters under other names]
# A real COMP4471 package kept its weights as params['w1'], params['w2'], ...; its params
# check named the keys, but its scores and loss checks, which install the course's W1, W2, ...
# (Note [Model checks share parameters]) and call loss, said only "scores: 20 of 20 entries
# differ": its loss read its own w1.. (its random initial weights), never the installed ones.
# After such a failure (never on a pass) the judge reads model.params once more; where a key
# differs from an installed name only in case, the message says the installed values went
# unread and which names the course uses.

def _renamed_params_note(model, case: ModelCase) -> str:
    """See Note [Parameters under other names]; '' when no key is a case-variant."""
    own = _student_shapes(model)
    wanted = {name.lower(): name for name in case.params}
    renamed = sorted(k for k in own if isinstance(k, str) and k not in case.params
                     and k.lower() in wanted)
    if not renamed:
        return ""
    return (f"\nyour model keeps parameters as {renamed}; the judge set the course's "
            f"{[wanted[k.lower()] for k in renamed]} (as the Solver does), which your loss never "
            f"reads: name them W1, b1, W2, ... as the course's docstring says")


def _same_loss(loss, expected: float) -> bool:
    """Whether the loss check would accept `loss`, without a message or a note."""
    with collecting_notes():
        try:
            compare_scalar("loss", loss, expected)
        except CheckFailure:
            return False
    return True


def _model_output_check(class_name: str, output: str, cases: Sequence[ModelCase], *, name: str,
                        title: str, hint: str, hidden: bool = False) -> Check:
    """Scores, loss or gradients on installed parameters; Note [Model checks share parameters]."""
    # The reference's answers, once per process (Note [Answers kept per process] in
    # grader/checks/answers.py).
    kept = Answers(lambda number: _reference_answers(output, class_name, cases[number]),
                   range(len(cases)))

    def run(student) -> None:
        __tracebackhide__ = True
        # Every case's model made first, in one request (Note [A check's models made together]),
        # then every one asked, in one request (Note [A check's models asked together]).  The
        # first submission a process grades computes the reference's answer to the first case
        # while the worker builds the models, the others while it answers (Note [Judge works
        # while the worker computes] in student.py); later ones find them kept.
        meanwhile = lambda: kept.get(0)  # noqa: E731
        # Built and asked in one request where it can be (Note [Models built and asked together]).
        together = _made_and_asked(student, class_name, output, cases, meanwhile)
        if together is not None:
            models, answers = together
            made = [m for m in models if isinstance(m, RemoteObject)]
            with answers:
                for number, (case, model) in enumerate(zip(cases, made)):
                    _compare_output(output, class_name, model, case, hint,
                                    install=(case.params, {}), answer=answers.next,
                                    expected=kept.get(number))
            if len(made) < len(models):
                models[len(made)]()  # raises the constructor's failure, after the cases before it
            return
        models = _new_models(student, class_name, cases, meanwhile=meanwhile)
        made = [m for m in models if isinstance(m, RemoteObject)]
        installs = [(case.params, _student_shapes(model, initial=True))
                    for case, model in zip(cases, made)]
        questions = [(model, "loss", (case.X,) if output == "scores" else (case.X, case.y), {},
                      ("params", _install_values(model, *install)))
                     for case, model, install in zip(cases, made, installs)]
        with student.method_calls(questions) as answers:
            for number, (case, model, install) in enumerate(zip(cases, models, installs)):
                _compare_output(output, class_name, model, case, hint, install=install,
                                answer=lambda: next(answers), expected=kept.get(number))
        if len(made) < len(models):
            models[len(made)]()  # raises the constructor's failure, after the cases before it

    function = f"{class_name}.loss"
    return Check(f"{function}/{name}", function, title, run, hint, hidden,
                 prepare=lambda conventions: kept.prepare())


# Note [Initialisation statistics]
# Weights are N(0, weight_scale^2), biases zero.  For n independent draws the
# sample standard deviation has relative standard error 1/sqrt(2n) and the
# sample mean has standard error weight_scale/sqrt(n).  The statistics checks
# use matrices of at least n = 4000 entries and accept |std - ws| < ws/10 (the
# notebook's own test) and |mean| < ws/10: for n = 4000 these are 8.9 and 6.3
# standard errors, so a correct initialisation fails with probability below
# 1e-9, while the usual mistakes miss by far more (weight_scale forgotten: std
# 1; np.random.rand: mean ws/2; weight_scale used as the variance: std
# sqrt(ws)).  The worker's np.random is seeded first, so a verdict is
# reproducible.

WEIGHT_TOLERANCE = 0.1  # of weight_scale, for both the std and the mean


def _check_zero_biases_and_dtype(params: dict, what: str, dtype: str) -> None:
    for name, value in params.items():
        if value.dtype != np.dtype(dtype):
            raise CheckFailure(f"{what}: params['{name}'] has dtype {value.dtype}, expected "
                               f"{dtype} (the dtype the constructor was given)",
                               hint="cast every parameter with .astype(dtype) at the end of "
                                    "__init__")
        if name.startswith("b") and np.any(value != 0):
            raise CheckFailure(f"{what}: params['{name}'] is not all zeros (max |b| = "
                               f"{np.max(np.abs(value)):.3g})", hint="biases start at zero")


def _check_weight_statistics(params: dict, weight_scale: float, what: str) -> None:
    """See Note [Initialisation statistics]."""
    bound = WEIGHT_TOLERANCE * weight_scale
    for name in _weight_names(params):
        value = params[name]
        std, mean = float(value.std()), float(value.mean())
        if abs(std - weight_scale) >= bound or abs(mean) >= bound:
            raise CheckFailure(
                f"{what}: params['{name}'] ({value.size} entries) has mean {mean:.4g} and std "
                f"{std:.4g}; weights drawn from N(0, weight_scale^2) have mean within {bound:g} "
                f"of 0 and std within {bound:g} of weight_scale={weight_scale:g}",
                hint="W = weight_scale * np.random.randn(fan_in, fan_out)",
                details={"name": name, "mean": mean, "std": std, "weight_scale": weight_scale})


def _seed_call(seed: int) -> tuple:
    """np.random.seed(seed) in the worker, as a call `_new_model` makes first."""
    return ("numpy.random", "seed", (seed,), {})


# (dims, weight_scale, dtype) per class and check; statistics need >= 4000 entries per matrix.
INIT_CASES = {
    ("TwoLayerNet", "params"): [((5, 50, 7), 1e-3, "float64"), ((1, 3, 2), 1e-2, "float64")],
    ("TwoLayerNet", "weight_scale"): [((100, 200, 20), 1e-3, "float64"),
                                      ((60, 80, 50), 5e-2, "float64")],  # not the default
    ("FullyConnectedNet", "params"): [((15, 20, 30, 10), 5e-2, "float64"),
                                      ((4, 3, 2), 1e-2, "float64"),
                                      ((7, 6, 5, 4, 3, 2), 1e-1, "float32")],
    ("FullyConnectedNet", "weight_scale"): [((100, 200, 100, 40), 5e-2, "float64")],
}


# Note [Initialisation cases together]
# An initialisation check judges two or three networks, each built right after
# np.random.seed(0) (Note [Model construction in one request]): one request per network.
# The seedings and constructions of all of them now go in one request (Note [Streamed calls]
# in grader/worker/client.py), in the same order, and each network is judged in turn as
# before: every construction follows its own seeding, so each network draws exactly what it
# drew before, whatever was built earlier.  A later constructor then runs before the
# earlier networks are judged, but its reply is read only at its turn: one that raises is
# said there, as before, and after an earlier network failed, one that hangs or crashes only
# costs the drain of Note [Streamed calls] (the verdict is the earlier network's, as
# before).  4 requests fewer per fc_nets submission.

def _init_check(class_name: str, name: str, title: str, hint: str) -> Check:
    """'params': names, shapes, zero biases, dtype; 'weight_scale': statistics.

    See Note [Initialisation statistics].
    """
    def run(student) -> None:
        __tracebackhide__ = True
        cases = INIT_CASES[class_name, name]
        arguments = [_model_arguments(student, class_name, dims, 0.0, weight_scale, dtype)
                     for dims, weight_scale, dtype in cases]
        # Every case's seeding and construction in one request (Note [Initialisation cases
        # together]).
        chain = []
        module, seed, seed_args, seed_kwargs = _seed_call(0)
        for args, kwargs, _ in arguments:
            chain.append((seed, seed_args, dict(seed_kwargs), {"module": module, "library": True}))
            chain.append((class_name, args, kwargs, {"reads": [RESULT.attr("params")]}))
        with student.calls("fc_net", chain) as calls:
            for (dims, weight_scale, dtype), (args, _, shown) in zip(cases, arguments):
                what = f"{class_name} with sizes {list(dims)}, weight_scale={weight_scale:g}"
                what += f", dtype={dtype}" if class_name == "FullyConnectedNet" else ""
                next(calls)  # the seeding: a StudentError here is its own, as from _new_model
                try:
                    result = next(calls)
                except StudentError as error:
                    raise _constructor_failure(error, class_name, args, shown) from None
                model = RemoteObject(student, result.ref, class_name,
                                     dict(zip((PARAMS,), result.reads)))
                if name == "params":
                    _check_zero_biases_and_dtype(_student_params(model, dims, what), what, dtype)
                else:  # Note [Statistics judge the weights]
                    _check_weight_statistics(_student_weights(model, dims, what), weight_scale,
                                             what)

    function = f"{class_name}.__init__"
    return Check(f"{function}/{name}", function, title, run, hint)


# Note [Initial loss near log C]
# With small weights every score is near 0, the softmax near uniform and the
# loss near log C.  Exactly: an example's loss lies within max_j s_j - min_j
# s_j <= 2 max_j |s_j| of log C, and with zero biases and 1-Lipschitz ReLUs
#     |s_ij| <= ||x_i|| * ||W_1|| ... ||W_{L-1}|| * ||W_L[:, j]||   (operator norms).
# For an m x n matrix of N(0, s^2) entries P(||W|| > s (sqrt m + sqrt n + t))
# <= 2 exp(-t^2/2), and a column of n entries exceeds s (sqrt n + t) with
# probability <= exp(-t^2/2) (Gaussian concentration; Vershynin, HDP 4.4.5).
# With t = 6 and a union bound over the matrices and the C columns, a correct
# network breaks the bound with probability < 1e-6; `_log_c_bound` evaluates
# it on the actual X (drawn by the judge): 0.026 for the sizes used here, while
# weights 10x too large, a loss summed instead of averaged or a stray term in
# the loss miss by far more.

LOG_C_T = 6.0


def _log_c_bound(X: np.ndarray, dims: Sequence[int], weight_scale: float) -> float:
    """See Note [Initial loss near log C]."""
    bound = 2 * float(np.max(np.linalg.norm(X.reshape(len(X), -1), axis=1)))
    for fan_in, fan_out in zip(dims[:-2], dims[1:-1]):
        bound *= weight_scale * (math.sqrt(fan_in) + math.sqrt(fan_out) + LOG_C_T)
    return bound * weight_scale * (math.sqrt(dims[-2]) + LOG_C_T)


# Note [Both near-log-C questions in one request]
# The check asked the fresh network's own loss (reading `params` after it for the shapes the
# student keeps them in), then, in a second request, the loss at the judge's small weights
# installed in those shapes.  Both questions now go in one request (`Student.method_calls`,
# Note [Streamed calls] in grader/worker/client.py), the judge's weights assigned "like"
# (Note [Sets in the student's shape] in grader/worker/runtime.py): reshaped by the worker to
# the shapes the model holds right after its own loss returned, which is what that read saw.
# The same two calls in the same order; a first answer that fails the check leaves the second
# to be drained, as after any wrong answer in a stream.

def _initial_loss_near_log_c(student) -> dict:
    __tracebackhide__ = True
    dims, weight_scale, N = (15, 20, 30, 10), 1e-2, 10
    r = _rng(231)
    X, y = r.standard_normal((N, dims[0])), r.integers(dims[-1], size=N)
    model = _new_model(student, "FullyConnectedNet", dims, weight_scale=weight_scale,
                       before=[_seed_call(231)])
    # A loss near log C is only a loss if it is the network's: the same check at small
    # weights the judge draws and installs, loss and gradients against the reference's
    # (Note [Judge holds the state] in grader/checks/trust.py; fixed inputs, so a
    # release can replay it).
    r = _rng(232)
    params = {}
    for i, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:]), start=1):
        params[f"W{i}"] = weight_scale * r.standard_normal((fan_in, fan_out))
        params[f"b{i}"] = np.zeros(fan_out)
    what = f"small weights the grader set (weight_scale={weight_scale:g}), N={N}"
    # Both questions in one request (Note [Both near-log-C questions in one request]).
    with student.method_calls([(model, "loss", (X, y), {}, None),
                               (model, "loss", (X, y), {}, ("params", params, "like"))]) as answers:
        own, _ = _loss_and_grads(model, X, y, f"freshly initialised {list(dims)}, N={N}",
                                 answer=lambda: next(answers))
        bound = _log_c_bound(X, dims, weight_scale)
        compare_scalar(f"initial loss (sizes {list(dims)}, weight_scale={weight_scale:g}, N={N})",
                       own, math.log(dims[-1]), tolerance=Tolerance(rtol=0.0, atol=bound))
        loss, grads = _loss_and_grads(model, X, y, what, install=(params, {}),
                                      answer=lambda: next(answers))
    _same_as_reference(model, ModelCase(what, dims, params, X, y, 0.0), loss, grads)
    return {"loss": float(np.asarray(getattr(own, "value", own))), "log_C": math.log(dims[-1]),
            "bound": bound}


# The notebook's cell: np.random.seed(231), X = randn(2, 15), y = randint(10,
# size=2), then one network per reg without re-seeding; it prints these losses.
COURSE_INITIAL_LOSSES = ((0.0, 2.3004790897684924), (3.14, 7.052114776533016))
COURSE_DIMS = (15, 20, 30, 10)


def _course_initial_losses(student) -> None:
    """The notebook's initial-loss cell, judged on the student's own initial weights."""
    __tracebackhide__ = True
    stream = np.random.RandomState(231)
    X, y = stream.randn(2, 15), stream.randint(10, size=2)
    # The cell's draws, then the first network, in one request (Note [Model construction in
    # one request]); the second network follows them in the worker's np.random.
    cell = [_seed_call(231), ("numpy.random", "randn", (2, 15), {}),
            ("numpy.random", "randint", (10,), {"size": 2})]
    for reg, published in COURSE_INITIAL_LOSSES:
        course_weights = {f"W{i}": 5e-2 * stream.randn(COURSE_DIMS[i - 1], COURSE_DIMS[i])
                          for i in range(1, len(COURSE_DIMS))}
        model = _new_model(student, "FullyConnectedNet", COURSE_DIMS, reg=reg, weight_scale=5e-2,
                           before=cell, read_params=True)
        cell = []
        what = f"FullyConnectedNet([20, 30], input_dim=15, num_classes=10, reg={reg:g})"
        params = _student_params(model, COURSE_DIMS, what)
        case = ModelCase(what, COURSE_DIMS, params, X, y, reg)
        # Note [Judge holds the state] in grader/checks/trust.py
        shapes: dict = {}
        loss, grads = _loss_and_grads(model, X, y, what,
                                      install=(params, _student_shapes(model, initial=True)),
                                      shapes_after=shapes)
        expected = _reference_model("FullyConnectedNet", COURSE_DIMS, reg, params).loss(X, y)[0]
        data_loss = _reference_model("FullyConnectedNet", COURSE_DIMS, 0.0, params).loss(X, y)[0]
        same_draws = all(np.array_equal(params[k], v) for k, v in course_weights.items())
        source = (f"your weights are the course's draws, and the notebook prints {published!r}"
                  if same_draws else "the reference's loss on your own initial weights")
        try:
            compare_scalar("initial loss", loss, expected,
                           signatures=[*_loss_signatures(case, data_loss),
                                       *_relu_loss_signatures(case)])
        except CheckFailure as failure:
            raise CheckFailure(f"[{what}] {failure.message}\nexpected: {source}",
                               details=failure.details) from None
        _same_as_reference(model, case, loss, grads)
        _grads_for_unused_normalization(_plain_params(model.initial(*PARAMS), what), params, grads,
                                        what)
        # The course's numbers are asked on the course's seed; the same network is then asked
        # at weights and inputs drawn like the course's but from the grader's questions, so a
        # table of the published answers earns nothing (Note [Fresh questions] in
        # grader/checks/questions.py).
        r = _rng(233 if reg == 0 else 234)
        drawn = {}
        for i in range(1, len(COURSE_DIMS)):
            drawn[f"W{i}"] = 5e-2 * r.standard_normal((COURSE_DIMS[i - 1], COURSE_DIMS[i]))
            drawn[f"b{i}"] = np.zeros(COURSE_DIMS[i])
        fresh = ModelCase(f"{what}, weights and X the grader drew", COURSE_DIMS, drawn,
                          r.standard_normal((2, 15)), r.integers(10, size=2), reg)
        loss, grads = _loss_and_grads(model, fresh.X, fresh.y, fresh.name, install=(drawn, shapes))
        _same_as_reference(model, fresh, loss, grads)


def _same_as_reference(model, case: ModelCase, loss, grads) -> None:
    """An initial-loss check's loss and gradients against the reference's at the parameters
    the judge installed: a constant log C with zero gradients is not a loss (Note [Judge
    holds the state] in grader/checks/trust.py)."""
    __tracebackhide__ = True
    expected_loss, expected_grads = _reference_model("FullyConnectedNet", case.dims, case.reg,
                                                     case.params).loss(case.X, case.y)
    try:
        compare_scalar("initial loss", loss, expected_loss)
    except CheckFailure as failure:
        raise CheckFailure(f"[{case.name}] {failure.message}\nexpected: the reference's loss at "
                           f"your model's own initial parameters",
                           details=failure.details) from None
    unregularised = _reference_model("FullyConnectedNet", case.dims, 0.0, case.params).loss(
        case.X, case.y)[1]
    _compare_grads(grads, expected_grads, case, model, unregularised)


# Note [Overfitting check]
# The notebook's sanity check: a three-layer network overfits 50 examples.  The
# judge runs the Solver's loop itself (Note [Judge holds the state] in
# grader/checks/trust.py): it holds the parameters, draws the minibatches
# (seed 0, with replacement, as the course's Solver), installs the parameters in
# the student's model, asks model.loss(X_batch, y_batch), verifies that loss and
# gradients against the reference at those parameters and applies plain SGD
# (the course's `sgd`) itself.  To make the verdict a property of the code and
# not of luck, the initial parameters are the judge's, the data are fixed (50
# Gaussian points with 48 features, random labels in 10 classes), and the
# parameters kept are the best on the training points.  A correct model then
# follows the reference's trajectory to rounding error; the reference reaches
# 100% training accuracy (final loss about 0.04) where the course asks for 90%.
# Official grading draws the data and starting parameters from its secret (Note [Fresh
# questions]): under 30 secrets the reference reached 100% in every one (`nice python
# benchmarks/training_tails.py --seeds 30 --only numpy`).
# The accuracy is computed in the judge, by the reference network with the
# judge's parameters, never taken from the worker, nor are the student's
# `model.params` read back.

OVERFIT_DIMS = (48, 100, 100, 10)
OVERFIT_WEIGHT_SCALE = 0.2
OVERFIT_LEARNING_RATE = 0.1
OVERFIT_TARGET = 0.9


def _overfit_problem() -> tuple[dict, dict]:
    """(data, initial parameters) for Note [Overfitting check]."""
    r = _rng(7)
    X = r.standard_normal((50, 3, 4, 4))
    y = r.integers(10, size=50)
    params = {}
    for i, (fan_in, fan_out) in enumerate(zip(OVERFIT_DIMS[:-1], OVERFIT_DIMS[1:]), start=1):
        params[f"W{i}"] = OVERFIT_WEIGHT_SCALE * r.standard_normal((fan_in, fan_out))
        params[f"b{i}"] = np.zeros(fan_out)
    return {"X_train": X, "y_train": y, "X_val": X, "y_val": y}, params


def _overfit(student) -> dict:
    __tracebackhide__ = True
    data, params = _overfit_problem()
    X, y = data["X_train"], data["y_train"]
    model = _new_model(student, "FullyConnectedNet", OVERFIT_DIMS,
                       weight_scale=OVERFIT_WEIGHT_SCALE, read_params=True)
    shapes = _student_shapes(model, initial=True)
    training: list = []

    def begin(start: dict, batches: list) -> None:
        # The worker trains a mirror of the judge's parameters (Note [Training in few
        # requests] in grader/checks/student.py); each step is still verified below.
        training.append(RemoteTraining(model, "loss", "params",
                                       _install_values(model, start, shapes), X, y,
                                       OVERFIT_LEARNING_RATE, batches))

    def step(current: dict, X_batch, y_batch, where: str):
        install = (current, shapes)
        # The steps are sent first and the reference answers each while the worker does (Note
        # [Judge works while the worker computes] in grader/checks/student.py).
        training[0].ahead()
        expected_loss, expected_grads = _reference_model(
            "FullyConnectedNet", OVERFIT_DIMS, 0.0, current).loss(X_batch, y_batch)
        loss, grads = _loss_and_grads(
            model, X_batch, y_batch, f"training, {where}", install=install,
            answer=lambda: training[0].next(lambda: _install_values(model, *install)))
        # a guard inside the log: Note [A loss a little below the reference's] in trust.py
        guard = lambda: guard_gap(_reference_model("FullyConnectedNet", OVERFIT_DIMS, 0.0,
                                                   current).loss(X_batch), y_batch)
        return (verify_step(loss, grads, expected_loss, expected_grads, where, guard),
                float(expected_loss))

    def accuracy(current: dict) -> float:
        scores = _reference_model("FullyConnectedNet", OVERFIT_DIMS, 0.0, current).loss(X)
        return float(np.mean(np.argmax(scores, axis=1) == y))

    try:
        run = judge_sgd(step, params, X, y, learning_rate=OVERFIT_LEARNING_RATE, num_epochs=20,
                        batch_size=25, seed=0, accuracy=accuracy, begin=begin)
    finally:
        for remote in training:
            remote.close()
    if run["accuracy"] < OVERFIT_TARGET:
        losses = run["losses"]
        raise CheckFailure(
            f"after 20 epochs of sgd (learning rate {OVERFIT_LEARNING_RATE:g}, batches of 25) on "
            f"50 examples, the training accuracy is {run['accuracy']:.0%}; a correct network "
            f"reaches 100% from the same start (the course asks for {OVERFIT_TARGET:.0%}); the "
            f"training loss went from {losses[0]:.4g} to {losses[-1]:.4g}",
            details={"accuracy": run["accuracy"]})
    return {"accuracy": run["accuracy"]}


def _two_layer_cases(kind: str) -> list[ModelCase]:
    if kind == "reg":
        return [_course_two_layer_case(1.0),
                _random_case("N=4, D=6, H=8, C=5", 21, (6, 8, 5), (4, 6), reg=0.7)]
    return [_course_two_layer_case(0.0),
            _random_case("N=1, x (1,2,3)", 22, (6, 8, 4), (1, 2, 3)),
            _random_case("N=6, D=9, H=11, C=3", 23, (9, 11, 3), (6, 9))]


def _fc_cases(kind: str) -> list[ModelCase]:
    if kind == "reg":
        return [_random_case("[20, 30], N=2, D=15, C=10 (course sizes)", 31, (15, 20, 30, 10),
                             (2, 15), reg=3.14),
                _random_case("[7], N=3, x (3,2,3)", 32, (6, 7, 4), (3, 2, 3), reg=3.14)]
    if kind == "hidden":
        return [_random_case("[9, 7, 5, 3, 8], N=4, D=11, C=6", 33, (11, 9, 7, 5, 3, 8, 6),
                             (4, 11), reg=0.5)]
    return [_random_case("[20, 30], N=2, D=15, C=10 (course sizes)", 34, (15, 20, 30, 10), (2, 15)),
            _random_case("[7], N=1, x (1,2,3)", 35, (6, 7, 4), (1, 2, 3)),
            _random_case("[6, 5, 4], N=5, D=3, C=7", 36, (3, 6, 5, 4, 7), (5, 3))]


SCORES_HINT = ("loss(X) with y=None runs the forward pass only and returns the raw scores (N, C): "
               "affine-relu for every hidden layer, then a last affine layer without ReLU")
LOSS_HINT = "loss = softmax data loss + 0.5 * reg * sum of every W**2 (biases are not regularised)"
GRADS_HINT = ("backpropagate through the layers in reverse order with the *_backward functions, "
              "then add reg * W to each weight's gradient; the model uses your layers, so fix "
              "any failing layer check first")


def _model_checks(class_name: str, cases: Callable[[str], list[ModelCase]], reg_text: str) -> list:
    short = class_name
    return [
        _model_output_check(class_name, "scores", cases("plain"), name="scores",
                            title=f"{short}: test-time scores", hint=SCORES_HINT),
        _model_output_check(class_name, "loss", cases("plain"), name="loss",
                            title=f"{short}: training loss, reg=0", hint=LOSS_HINT),
        _model_output_check(class_name, "loss", cases("reg"), name="loss_reg",
                            title=f"{short}: training loss with {reg_text}", hint=LOSS_HINT),
        _model_output_check(class_name, "grads", cases("plain"), name="grads",
                            title=f"{short}: gradients, reg=0", hint=GRADS_HINT),
        _model_output_check(class_name, "grads", cases("reg"), name="grads_reg",
                            title=f"{short}: gradients with {reg_text}", hint=GRADS_HINT),
    ]


TWO_LAYER_CHECKS = [
    _init_check("TwoLayerNet", "params", "TwoLayerNet: parameter names, shapes, zero biases",
                "params holds W1 (D, H), b1 (H,), W2 (H, C), b2 (C,); biases start at zero"),
    _init_check("TwoLayerNet", "weight_scale", "TwoLayerNet: weights ~ N(0, weight_scale^2)",
                "W = weight_scale * np.random.randn(fan_in, fan_out)"),
    *_model_checks("TwoLayerNet", _two_layer_cases, "reg=1.0 (course) and 0.7"),
]

FC_NET_CHECKS = [
    _init_check("FullyConnectedNet", "params",
                "FullyConnectedNet: parameter names, shapes, zero biases, dtype",
                "params holds W1..WL and b1..bL, W{i} (fan_in, fan_out), biases zero, every "
                "parameter cast to dtype"),
    _init_check("FullyConnectedNet", "weight_scale",
                "FullyConnectedNet: weights ~ N(0, weight_scale^2)",
                "W = weight_scale * np.random.randn(fan_in, fan_out) for every layer"),
    Check("FullyConnectedNet.loss/initial_loss", "FullyConnectedNet.loss",
          "FullyConnectedNet: the course's initial-loss cell (reg 0 and 3.14)",
          _course_initial_losses, LOSS_HINT),
    Check("FullyConnectedNet.loss/initial_loss_near_log_C", "FullyConnectedNet.loss",
          "FullyConnectedNet: a freshly initialised network's loss is about log(C)",
          _initial_loss_near_log_c,
          "with weight_scale 1e-2 the scores are tiny, so the loss starts at about log(10) = 2.30"),
    *_model_checks("FullyConnectedNet", _fc_cases, "reg=3.14"),
    _model_output_check("FullyConnectedNet", "grads", _fc_cases("hidden"), name="grads_hidden",
                        title="FullyConnectedNet: gradients of a deeper network with reg",
                        hint=GRADS_HINT, hidden=True),
    Check("FullyConnectedNet.loss/overfit", "FullyConnectedNet.loss",
          "FullyConnectedNet: SGD with its gradients overfits 50 examples", _overfit,
          "training needs correct gradients: see the gradient checks first"),
]


# ===========================================================================
# Update rules: sgd_momentum, rmsprop, adam
# ===========================================================================

# Note [Update-rule checks]
# Each rule gets three checks, so that partial credit follows the mistake:
# `next_w` and the state it stores in config (`velocity`, `cache`, `moments`
# m and v), both on the course's published linspace inputs and on random ones,
# and `steps`: several calls in a row from config=None or a fresh config, each
# handed the config the previous call returned (by reference, in the worker,
# as the Solver does), comparing next_w at every step; a rule that forgets to
# store its state, or Adam's step count, fails there even when one step is right.
# A velocity kept with the opposite sign (v = mu*v + lr*dw; w -= v) follows
# the same trajectory from zero velocity, so it keeps `steps`, but it misreads
# the velocity the course's published test hands it and loses `next_w` and
# `velocity`, as it does in the notebook.
#
# Epsilon placement: the course writes sqrt(cache) + eps; sqrt(cache + eps)
# (TensorFlow 1's RMSProp, some Adam write-ups) is accepted.  The samples keep
# every |dw| in [1, 2] and w in [1, 2], so cache >= 0.01 even on a first
# RMSProp step and the two forms move next_w by less than 1e-7 relative, ten
# times below the 1e-6 tolerance (examples/fc_nets/ada has
# an implementation that proves it), while the mistakes below differ by 1e-4
# or more.

@dataclass(frozen=True)
class UpdateCase:
    name: str
    w: np.ndarray
    dw: np.ndarray
    config: dict | None


def _linspace_inputs() -> tuple[np.ndarray, np.ndarray, Callable]:
    N, D = 4, 5
    grid = lambda a, b: np.linspace(a, b, num=N * D).reshape(N, D)  # noqa: E731
    return grid(-0.4, 0.6), grid(-0.6, 0.4), grid


def _away_from_zero(r: np.random.Generator, shape, low: float) -> np.ndarray:
    """Entries of magnitude in [low, low + 1], random signs."""
    return (low + r.random(shape)) * np.where(r.random(shape) < 0.5, -1.0, 1.0)


def _update_cases(rule: str) -> list[UpdateCase]:
    w, dw, grid = _linspace_inputs()
    r = _rng({"sgd_momentum": 41, "rmsprop": 42, "adam": 43}[rule])
    shape = (3, 2, 4)
    rw, rdw = 1.0 + r.random(shape), _away_from_zero(r, shape, 1.0)
    if rule == "sgd_momentum":
        return [UpdateCase("course published values", w, dw,
                           {"learning_rate": 1e-3, "velocity": grid(0.6, 0.9)}),
                UpdateCase("w (3,2,4), lr 5e-2, momentum 0.5", rw, rdw,
                           {"learning_rate": 5e-2, "momentum": 0.5,
                            "velocity": 0.1 * r.standard_normal(shape)}),
                UpdateCase("w (1,5), no velocity yet", 1.0 + r.random((1, 5)),
                           _away_from_zero(r, (1, 5), 1.0), {"learning_rate": 2e-2})]
    if rule == "rmsprop":
        return [UpdateCase("course published values", w, dw,
                           {"learning_rate": 1e-2, "cache": grid(0.6, 0.9)}),
                UpdateCase("w (3,2,4), decay 0.9", rw, rdw,
                           {"learning_rate": 3e-2, "decay_rate": 0.9,
                            "cache": 0.5 + r.random(shape)}),
                UpdateCase("w (1,5), no cache yet", 1.0 + r.random((1, 5)),
                           _away_from_zero(r, (1, 5), 1.0), {"learning_rate": 1e-2})]
    return [UpdateCase("course published values (t=5)", w, dw,
                       {"learning_rate": 1e-2, "m": grid(0.6, 0.9), "v": grid(0.7, 0.5), "t": 5}),
            UpdateCase("w (3,2,4), beta1 0.8, beta2 0.99, t=2", rw, rdw,
                       {"learning_rate": 5e-2, "beta1": 0.8, "beta2": 0.99, "t": 2,
                        "m": 0.3 * r.standard_normal(shape), "v": 0.5 + r.random(shape)}),
            UpdateCase("w (1,5), first step", 1.0 + r.random((1, 5)),
                       _away_from_zero(r, (1, 5), 1.0), {"learning_rate": 1e-2})]


# Note [Every config key non-default]
# Each key of an update rule's config that the course's API lets a caller set is
# given a value other than its default by some case: learning_rate, momentum and
# velocity; learning_rate, decay_rate, cache and (below) epsilon; learning_rate,
# beta1, beta2, m, v, t and epsilon.  `sgd` is the course's own code, not graded;
# its learning_rate is exercised by the overfitting check (0.1, default 1e-2).
# A key read from nowhere but the default fails with a message naming it
# (`_ignored_key_signatures`).
#
# Epsilon needs its own case because both placements of it are accepted (Note
# [Update-rule checks]): with dw, the old cache (or v), decay 0.5 (or beta2 0.5)
# chosen so that the new cache is exactly 1/4 in every entry, sqrt(cache) + eps
# and sqrt(cache + eps) = 0.5 + eps - eps**2 + ... agree to eps**2, while eps =
# 1e-3 itself moves next_w by about 1e-4: the two placements differ by 1e-7,
# a tenth of the tolerance, and a rule that ignores config['epsilon'] misses it
# by a hundred times the tolerance.  Adam's case has beta1 = beta2 = 0.5 and t =
# 60, so the bias corrections are 1 to float64 precision whether t is
# incremented before or after use (every course year's convention).

EPSILON = 1e-3


def _epsilon_cases(rule: str) -> list[UpdateCase]:
    """One case per rule with a non-default epsilon; Note [Every config key non-default]."""
    if rule == "sgd_momentum":
        return []
    r = _rng({"rmsprop": 44, "adam": 45}[rule])
    shape = (2, 5)
    w, dw = 0.5 + r.random(shape), _away_from_zero(r, shape, 0.2) * 0.4 / 1.2
    old = (0.25 - 0.5 * dw ** 2) / 0.5  # the new running average is then exactly 1/4
    if rule == "rmsprop":
        return [UpdateCase(f"w (2,5), epsilon {EPSILON:g}, decay 0.5, cache -> 1/4", w, dw,
                           {"learning_rate": 5e-2, "decay_rate": 0.5, "epsilon": EPSILON,
                            "cache": old})]
    return [UpdateCase(f"w (2,5), epsilon {EPSILON:g}, beta1 = beta2 = 0.5, t=60, v -> 1/4", w, dw,
                       {"learning_rate": 5e-2, "beta1": 0.5, "beta2": 0.5, "epsilon": EPSILON,
                        "t": 60, "m": 0.3 * r.standard_normal(shape), "v": old})]


REFERENCE_RULES = {"sgd_momentum": ref_optim.sgd_momentum, "rmsprop": ref_optim.rmsprop,
                   "adam": ref_optim.adam}


_DEFAULTS = {"sgd_momentum": {"learning_rate": 1e-2, "momentum": 0.9},
             "rmsprop": {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8},
             "adam": {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "t": 0}}


def _with_defaults(rule: str, config: dict | None) -> dict:
    """The config with the course's defaults filled in, as the rule itself starts."""
    return {**_DEFAULTS[rule], **(config or {})}


# Note [Steps taken with the velocity handed in]
# A real ECE562 hand-in (2025) wrote `next_w = w - v` and only then updated v: the step uses
# the velocity of the previous call, and with the course's sign convention (v already holds
# the minus) it goes the wrong way as well.  It lost its points with only "20 of 20 entries
# differ"; next_w = w + v and w - v with the velocity handed in now say what happened.  On
# a first step (no velocity yet) both are w unchanged, which the same message explains.
STALE_VELOCITY = ("next_w moved by the velocity handed in, before this step's update: update v = "
                  "momentum*v - learning_rate*dw first, then next_w = w + v with the new v")

# Note [Epsilon outside the denominator]
# A real ECE562 hand-in (2025) wrote `w - lr * dw / np.sqrt(cache) + epsilon`: epsilon added
# to w, the step divided by sqrt(cache) alone.  It lost a point with only "10 of 10 entries
# differ".  That form and the step without any epsilon are both named (1e-8 added to w is
# farther than _near_array's rtol of 1e-9, so they are two signatures, one message).
EPS_OUTSIDE = ("epsilon is not in the step's denominator: next_w = w - learning_rate * dw / "
               "(sqrt(cache) + epsilon)")


# Note [Momentum in PyTorch's form]
# Some courses that reuse this assignment teach momentum as PyTorch's torch.optim.SGD writes
# it: v = momentum * v + dw, next_w = w - learning_rate * v (Berkeley CS182's 2022 hw1, whose
# notebook publishes its own expected values for that form; four real hand-ins).  From zero
# velocity with a constant learning rate the two forms take the same steps (the course's v is
# -learning_rate times PyTorch's), so `steps` passes; on the published test, which hands in a
# velocity of the course's form, next_w and velocity differ, and the student saw only numbers.
# The signature names the form; the verdict is the course's (its velocity is a step, not a
# sum of gradients).
TORCH_FORM = ("this is PyTorch's form of momentum (v = momentum * v + dw, next_w = w - "
              "learning_rate * v); this course keeps the learning rate inside the velocity: "
              "v = momentum * v - learning_rate * dw, next_w = w + v")


def _update_signatures(rule: str, output: str, case: UpdateCase,
                       adam_t: str = "from_0") -> list[Signature]:
    """Known slips of each rule, computed from this case's inputs (Note [Update-rule checks]);
    Adam's under its step-count convention (Note [Adam step count convention])."""
    c = _with_defaults(rule, _reference_config(rule, case.config, adam_t))
    w, dw, lr = case.w, case.dw, c["learning_rate"]
    if rule == "sgd_momentum":
        v, mu = c.get("velocity", np.zeros_like(w)), c["momentum"]
        course = mu * v - lr * dw
        opposite = ("the velocity has the opposite sign: the course's is v = momentum*v - "
                    "learning_rate*dw with next_w = w + v, and the velocity handed in follows it")
        return {"next_w": [Signature(_near_array(w - (mu * v + lr * dw)), opposite),
                           Signature(_near_array(w - course), "next_w = w - v: the course's "
                                     "velocity already carries the minus sign (next_w = w + v)"),
                           Signature(_near_array(w - mu * v + (1 + mu) * course),
                                     "this is Nesterov momentum; the course asks for the classical "
                                     "update next_w = w + v"),
                           # Note [Steps taken with the velocity handed in]
                           Signature(_near_array(w + v), STALE_VELOCITY),
                           Signature(_near_array(w - v), STALE_VELOCITY),
                           # Note [Momentum in PyTorch's form]
                           Signature(_near_array(w - lr * (mu * v + dw)), TORCH_FORM)],
                "velocity": [Signature(_near_array(mu * v + lr * dw), opposite),
                             Signature(_near_array(mu * v + dw), TORCH_FORM)]}[output]
    if rule == "rmsprop":
        cache, decay, eps = c.get("cache", np.zeros_like(w)), c["decay_rate"], c["epsilon"]
        right = decay * cache + (1 - decay) * dw ** 2
        swapped = (1 - decay) * cache + decay * dw ** 2
        with np.errstate(divide="ignore", invalid="ignore"):  # a zero cache entry: inf, never near
            bare_step = lr * dw / np.sqrt(right)
        return {"next_w": [Signature(_near_array(w - lr * dw / (right + eps)),
                                     "the step divides by cache, not by sqrt(cache)"),
                           # Note [Epsilon outside the denominator]
                           Signature(_near_array(w - bare_step + eps), EPS_OUTSIDE),
                           Signature(_near_array(w - bare_step), EPS_OUTSIDE)],
                "cache": [Signature(_near_array(swapped),
                                    "decay_rate weighs the new dw**2 instead of the old cache: "
                                    "cache = decay*cache + (1 - decay)*dw**2")]}[output]
    m, v, t = c.get("m", np.zeros_like(w)), c.get("v", np.zeros_like(w)), c["t"]
    b1, b2, eps = c["beta1"], c["beta2"], c["epsilon"]
    m1, v1 = b1 * m + (1 - b1) * dw, b2 * v + (1 - b2) * dw ** 2

    def step(m_hat, v_hat):
        return w - lr * m_hat / (np.sqrt(v_hat) + eps)

    signatures = {"next_w": [Signature(_near_array(step(m1, v1)),
                                       "no bias correction: divide m by (1 - beta1**t) and v by "
                                       "(1 - beta2**t)")],
                  "moments": []}[output]
    if output == "next_w" and t > 0:  # the t the reference uses is t + 1
        first_of_2017 = adam_t == "from_1" and "t" not in (case.config or {})
        signatures.append(Signature(
            _near_array(step(m1 / (1 - b1 ** t), v1 / (1 - b2 ** t))),
            "bias correction with t = 1 on a first step: under the 2017 starter's convention t "
            "starts at 1 (config.setdefault('t', 1)) and is incremented before use, so the "
            "first step divides by 1 - beta**2" if first_of_2017 else
            "bias correction with the old t: increment t first (t = t + 1), then use it"))
    return signatures


# Note [Adam step count convention]
# Two course years start Adam's step count differently (the convention `adam_t`):
# `from_0`, the course since 2018 and the reference (Note [Adam step count] in
# reference/cs231n/optim.py): `config.setdefault('t', 0)`; `from_1`, the 2017 starter:
# `config.setdefault('t', 1)`.  In both, t is incremented before the bias correction:
# the 2017 notebook publishes the very Adam vectors of later years (config t=5 on entry,
# bias correction with t=6), and real 2017 packages whose notebooks print 1e-7 against
# them (AKSoo, Burton2000) increment first; one that uses t and increments after
# (alyssaq) printed 1.5e-3, a failure by the course's own test.  So the two differ only
# where a config has no t: a 2017 Adam's first step divides by 1 - beta**2, and that is
# the reference's question under `from_1` (t = 1 handed in).  Before this, `after_use`
# graded the 2017 course's right answer as wrong and the one its test failed as right.
# `auto` (the manifest's default) tells a submission's convention by behaviour, not
# by reading its source (a default may be written setdefault, get, `or 1`...):
# one step from a config without t, and the t it stores is 2 only under the 2017
# starter's default (1 under the 2018 one); then the check says which convention
# it graded (a t kept as a NumPy scalar, `np.uint32(1)` say, reaches the judge as a 0-d
# array and counts as the number it holds: a real 2018 package's Adam, right under the
# 2017 convention, was graded under the 2018 one and lost 2 of its 4 points).  A step
# that raises or stores something else is graded under `from_0`, the course's own, and
# fails on its own merits: a 2018 Adam that uses t before incrementing it divides by
# 1 - beta**0 = 0 and stores 1; a 2017 Adam that uses t before incrementing it stores 2
# and misses every step by one.  The
# checks ask the reference both conventions' questions on every run, so that a
# student release's tape (grader/course/replay.py) holds the answers for either year.
ADAM_T = ("from_0", "from_1")
ADAM_HINT_2017 = ("the 2017 starter's convention: t starts at 1 (config.setdefault('t', 1)); "
                  "first t = t + 1, then m = beta1*m + (1-beta1)*dw; v = beta2*v + "
                  "(1-beta2)*dw**2; next_w = w - learning_rate * (m / (1-beta1**t)) / (sqrt(v / "
                  "(1-beta2**t)) + epsilon); store m, v and t in config")


def adam_t_convention(student) -> str:
    """`from_0` or `from_1` for this submission; Note [Adam step count convention]."""
    configured = _configured_adam_t(student)
    if configured is not None:
        return configured
    name, args, kwargs = _adam_probe()
    try:
        result = student.call("optim", name, *args, **kwargs)
    except StudentError:
        return "from_0"
    return _adam_t_of(student, result.value)


def _configured_adam_t(student) -> str | None:
    """The convention `--convention adam_t=...` names; None: `auto`, the submission says."""
    value = str(student.conventions.get("adam_t", "auto")).lower()
    return value if value in ADAM_T else None


def _adam_probe() -> tuple:
    """The call that tells the conventions apart: one step from a config without t."""
    return "adam", (np.full((1, 3), 1.5), np.full((1, 3), 0.5), {"learning_rate": 1e-3}), {}


def _adam_t_of(student, value) -> str:
    """The convention the probe's returned `value` shows (Note [Adam step count convention])."""
    config = value[1] if isinstance(value, (tuple, list)) and len(value) == 2 else None
    stored = config.get("t") if isinstance(config, dict) else None
    stored = stored.value if isinstance(stored, Converted) else stored
    if isinstance(stored, np.ndarray) and stored.shape == () and stored.dtype.kind in "iuf":
        stored = stored.item()  # a NumPy scalar t crosses the pipe 0-d (Note [Adam step count convention])
    if isinstance(stored, (int, float, np.number)) and not isinstance(stored, bool) and stored == 2:
        note = ("graded `adam` under the 2017 starter's convention (t starts at 1 and, as in "
                "every year, is incremented before the bias correction): after one step from a "
                "config without t it stored t = 2 (Note [Adam step count convention]; "
                "`--convention adam_t=from_0` grades it under the 2018 one)")
        if note not in student.notes:
            student.notes.append(note)
        return "from_1"
    return "from_0"


# Note [Adam probe in the check's request]
# Three Adam checks ask `adam_t_convention` first (Note [Adam step count convention]): one
# round trip for the probe, then the check's own calls in a second.  The probe's inputs do not
# depend on its answer, nor do the check's calls (the convention changes only the reference's
# side), so `_optim_calls` sends the probe as the first call of the check's own request
# (Note [Streamed calls] in grader/worker/client.py): the student's `adam` sees the same calls
# in the same order, the convention is read from the probe's reply before any case is judged,
# and a probe that raises is `from_0` as before, the check's calls then sent in a request of
# their own (the worker stops a stream at a call that raised), as before.  A probe that times
# out or crashes fails the check as its own request did.
@contextlib.contextmanager
def _optim_calls(student, rule: str, probe: bool, chain: Callable[[int], list]):
    """Yield (adam_t, `student.calls("optim", chain(offset))`), `offset` the position of the
    chain's first call in the request (for its `Part`s), with adam_t_convention's probe made
    first in the same request when `probe` and `rule` is adam (Note [Adam probe in the
    check's request]); adam_t is then the convention, else `from_0`."""
    configured = _configured_adam_t(student) if probe and rule == "adam" else "from_0"
    if configured is not None:
        with student.calls("optim", chain(0)) as calls:
            yield configured, calls
        return
    with student.calls("optim", [_adam_probe(), *chain(1)]) as calls:
        try:
            adam_t = _adam_t_of(student, next(calls).value)
        except StudentError:
            adam_t = None
        if adam_t is not None:
            yield adam_t, calls
            return
    with student.calls("optim", chain(0)) as calls:
        yield "from_0", calls


def _reference_config(rule: str, config: dict | None, adam_t: str) -> dict | None:
    """The reference's config for the same update under `adam_t`: the 2017 starter's t starts
    at 1, the reference's at 0 (Note [Adam step count convention])."""
    if rule != "adam" or adam_t == "from_0" or "t" in (config or {}):
        return copy.deepcopy(config)
    return {**copy.deepcopy(config or {}), "t": 1}


HYPERPARAMETERS = ("learning_rate", "momentum", "decay_rate", "beta1", "beta2", "epsilon")


def _ignored_key_signatures(rule: str, case: UpdateCase, compared: str) -> list[Signature]:
    """'config[key] is ignored' for each hyperparameter the case sets to a non-default value;
    `compared` is 'next_w' or the state key whose value is compared."""
    signatures = []
    for key in HYPERPARAMETERS:
        default = _DEFAULTS[rule].get(key)
        if default is None or key not in (case.config or {}) or case.config[key] == default:
            continue
        config = {**copy.deepcopy(case.config), key: default}
        next_w, state = REFERENCE_RULES[rule](case.w.copy(), case.dw.copy(), config)
        value = next_w if compared == "next_w" else state[compared]
        signatures.append(Signature(_near_array(value),
                                    f"config['{key}'] = {case.config[key]:g} is ignored: the "
                                    f"default {default:g} was used; read it from config"))
    return signatures


def _unchanged_state(case: UpdateCase, key: str) -> list[Signature]:
    if not case.config or key not in case.config:
        return []
    return [Signature(_near_array(np.asarray(case.config[key])),
                      f"config['{key}'] still holds the value passed in: store the updated "
                      f"{key} back in config")]


def _pair(value, rule: str, where: str) -> tuple:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise CheckFailure(f"{where} `{rule}` returned {summarize(value)}, expected the pair "
                           f"(next_w, config)")
    if not isinstance(value[1], dict):
        raise CheckFailure(f"{where} `{rule}` returned config {summarize(value[1])}, expected "
                           f"a dict")
    return value[0], value[1]


def _state_value(config: dict, key: str, rule: str, where: str):
    if key not in config:
        raise CheckFailure(f"{where} the config `{rule}` returned has no {key!r} "
                           f"(its keys: {sorted(config)}); the course's API keeps the rule's "
                           f"state in config")
    return config[key]


STATE_KEYS = {"velocity": ("velocity",), "cache": ("cache",), "moments": ("m", "v")}


def _update_output_check(rule: str, output: str, hint: str, hidden: bool = False) -> Check:
    """next_w, or the state stored in config (velocity, cache, moments m and v)."""
    cases = _update_cases(rule) + _epsilon_cases(rule)

    def run(student) -> None:
        __tracebackhide__ = True
        # Every case in one request (Note [Streamed calls] in grader/worker/client.py), after
        # Adam's probe (Note [Adam probe in the check's request]).
        with _optim_calls(student, rule, output == "next_w", lambda offset: [
                (rule, (case.w, case.dw, copy.deepcopy(case.config)), {})
                for case in cases]) as (adam_t, calls):
            _cases(student, adam_t, calls)

    def _cases(student, adam_t: str, calls) -> None:
        __tracebackhide__ = True
        for case in cases:
            where = f"[sample {case.name}]"
            both = {t: REFERENCE_RULES[rule](case.w.copy(), case.dw.copy(),
                                             _reference_config(rule, case.config, t))
                    for t in (ADAM_T if rule == "adam" else ADAM_T[:1])}  # Note [Adam step ...]
            expected_w, expected_config = both[adam_t]
            try:
                result = next(calls)
            except StudentError as error:
                raise _failure_from(error, f"{where} `{rule}`") from None
            next_w, config = _pair(result.value, rule, where)
            targets = ([("next_w", next_w, expected_w,
                         _update_signatures(rule, output, case, adam_t)
                         + _ignored_key_signatures(rule, case, "next_w"))]
                       if output == "next_w" else
                       [(f"config['{k}']", _state_value(config, k, rule, where), expected_config[k],
                         _update_signatures(rule, output, case) + _unchanged_state(case, k)
                         + _ignored_key_signatures(rule, case, k))
                        for k in STATE_KEYS[output]])
            for name, actual, expected, signatures in targets:
                try:
                    compare_arrays(name, actual, expected, signatures=signatures,
                                   hint=ADAM_HINT_2017 if adam_t == "from_1" else hint,
                                   inputs={"w": case.w, "dw": case.dw, "config": case.config})
                except CheckFailure as failure:
                    raise CheckFailure(f"{where} {failure.message}", hint=failure.hint,
                                       details=failure.details) from None

    return Check(f"{rule}/{output}", rule, f"{rule}: {output} matches the reference", run, hint,
                 hidden)


def _steps_check(rule: str, start: dict | None, *, seed: int, shape=(2, 3), steps: int = 5,
                 hidden: bool = False, hint: str = "") -> Check:
    """`steps` calls in a row, each given the config the previous one returned."""
    def run(student) -> None:
        __tracebackhide__ = True
        r = _rng(seed)
        w = 1.0 + r.random(shape)
        gradients = [_away_from_zero(r, shape, 1.0) for _ in range(steps)]
        # From a config without t the two Adam conventions differ (Note [Adam step count
        # convention]): each submission is asked under its own.
        # The steps in one request (Note [Streamed calls] in grader/worker/client.py), after
        # Adam's probe (Note [Adam probe in the check's request]); each call gets the very
        # objects the previous one returned, as in the Solver.
        def chain(offset: int) -> list:
            calls = [(rule, (w.copy(), gradients[0], copy.deepcopy(start)), {})]
            for number, dw in enumerate(gradients[1:], start=offset):
                calls.append((rule, (Part(number).item(0), dw, Part(number).item(1)), {}))
            return calls
        with _optim_calls(student, rule, "t" not in (start or {}), chain) as (adam_t, calls):
            _steps(calls, w, gradients, adam_t)

    def _steps(calls, w: np.ndarray, gradients: list, adam_t: str) -> None:
        __tracebackhide__ = True
        # Both conventions' trajectories on every run, so that a release's tape holds either
        # (Note [Adam step count convention]).
        conventions = ADAM_T if rule == "adam" else ADAM_T[:1]
        states = {t: (w.copy(), _reference_config(rule, start, t)) for t in conventions}
        rewritten = ""  # see Note [A hyperparameter written back]
        for number, dw in enumerate(gradients, start=1):
            where = f"[step {number} of {steps}, starting from config={start!r}]"
            states = {t: REFERENCE_RULES[rule](state[0], dw.copy(), state[1])
                      for t, state in states.items()}
            expected_w = states[adam_t][0]
            try:
                result = next(calls)
            except StudentError as error:
                raise _failure_from(error, f"{where} `{rule}`") from None
            next_w, returned = _pair(result.value, rule, where)
            # Note [A step count never stored]: this step's own t, where it failed
            later = (rewritten or _step_count_note(returned, states[adam_t][1], number)
                     or ("\nthe first steps matched: is the state stored in the returned "
                         "config and read back from it on the next call?" if number > 1 else ""))
            said = ADAM_HINT_2017 if adam_t == "from_1" else hint
            try:
                compare_arrays("next_w", next_w, expected_w, hint=said)
            except CheckFailure as failure:
                raise CheckFailure(f"{where} {failure.message}{later}", hint=said,
                                   details=failure.details) from None
            rewritten = rewritten or _rewritten_hyperparameter(returned, states[adam_t][1], number)

    suffix = "_hidden" if hidden else ""
    return Check(f"{rule}/steps{suffix}", rule, f"{rule}: {steps} steps in a row, state carried "
                 f"in config", run, hint, hidden)


# Note [A hyperparameter written back]
# A real hand-in (cs231n 2016) stored Adam's bias-corrected step size in
# config['learning_rate'], so every call shrank the rate the next one started from: its first
# step matched and the later ones drifted, and the steps check asked "is the state stored in
# the returned config?" (it was).  The judge's own trajectory keeps every hyperparameter as
# it came in, so after each step it compares the returned config's hyperparameters with it;
# the first one that changed is named where a later step fails, instead of that question.

HYPERPARAMETERS = ("learning_rate", "momentum", "decay_rate", "beta1", "beta2", "epsilon")


def _rewritten_hyperparameter(returned: dict, reference: dict, number: int) -> str:
    """See Note [A hyperparameter written back]; '' when every hyperparameter came back as sent."""
    for key in HYPERPARAMETERS:
        if key not in returned or key not in reference:
            continue
        try:
            same = bool(np.isclose(float(returned[key]), float(reference[key]),
                                   rtol=1e-12, atol=0.0))
        except (TypeError, ValueError):
            continue
        if not same:
            return (f"\nconfig[{key!r}] came back from step {number} as {float(returned[key]):.10g}, "
                    f"not {float(reference[key]):.10g}: the update changed a hyperparameter the next "
                    f"call reads; compute the step's values in local variables and leave "
                    f"config[{key!r}] as it came in")
    return ""


# Note [A step count never stored]
# Two real COMP4901J (HKUST, 2018) packages read t from config for Adam's bias correction
# but never wrote t + 1 back, so every step corrected as the first: their first step matched
# and step 2 failed with numbers and the question "is the state stored in the returned
# config?".  Where Adam's returned config holds a t other than the one the judge's own
# trajectory stores after that step, the message says which t came back and which was due.

def _step_count_note(returned: dict, reference: dict, number: int) -> str:
    """See Note [A step count never stored]; '' when t came back as due (or is not Adam's)."""
    if "t" not in returned or "t" not in reference or "beta1" not in reference:
        return ""
    try:
        same = float(returned["t"]) == float(reference["t"])
    except (TypeError, ValueError):
        return ""
    if same:
        return ""
    return (f"\nconfig['t'] came back from step {number} as {float(returned['t']):g}, not "
            f"{float(reference['t']):g}: increment t on every step (t = t + 1, before the bias "
            f"correction) and store it in config, so the next step's correction uses the next t")


MOMENTUM_HINT = ("v = momentum * v - learning_rate * dw; next_w = w + v; store v in "
                 "config['velocity']")
RMSPROP_HINT = ("cache = decay_rate * cache + (1 - decay_rate) * dw**2; next_w = w - learning_rate "
                "* dw / (sqrt(cache) + epsilon); store cache in config['cache']")
ADAM_HINT = ("t += 1; m = beta1*m + (1-beta1)*dw; v = beta2*v + (1-beta2)*dw**2; next_w = w - "
             "learning_rate * (m / (1-beta1**t)) / (sqrt(v / (1-beta2**t)) + epsilon); store m, v "
             "and t in config")

OPTIM_CHECKS = [
    _update_output_check("sgd_momentum", "next_w", MOMENTUM_HINT),
    _update_output_check("sgd_momentum", "velocity", MOMENTUM_HINT),
    _steps_check("sgd_momentum", None, seed=51, hint=MOMENTUM_HINT),
    _update_output_check("rmsprop", "next_w", RMSPROP_HINT),
    _update_output_check("rmsprop", "cache", RMSPROP_HINT),
    _steps_check("rmsprop", None, seed=52, hint=RMSPROP_HINT),
    _update_output_check("adam", "next_w", ADAM_HINT),
    _update_output_check("adam", "moments", ADAM_HINT),
    _steps_check("adam", None, seed=53, hint=ADAM_HINT),
    _steps_check("adam", {"learning_rate": 3e-2, "beta1": 0.8, "beta2": 0.95}, seed=54,
                 shape=(3, 1, 4), steps=7, hidden=True, hint=ADAM_HINT),
]

CHECKS = [*LAYER_CHECKS, *SANDWICH_CHECKS, *TWO_LAYER_CHECKS, *FC_NET_CHECKS, *OPTIM_CHECKS]
