"""Checks for `cnn` (the ConvolutionalNetworks notebook): naive convolution and max
pooling, the convolutional sandwich layers, ThreeLayerConvNet, spatial batch
normalisation and spatial group normalisation.

Why it exists: every verdict on these functions comes from here.  Layer
outputs and gradients are compared with the trusted reference
(reference/cs231n) on small seeded samples, each list with an edge case; the
model is judged with parameters the grader sets (so losses and gradients can be
compared exactly), by statistics of its own initialisation, and by a training loop the judge
drives with the model's loss and gradients (Note [Judge holds the state]).  Where the numbers identify a known
mistake (a flipped filter, the whole pooling window receiving the gradient, a
reshape without a transpose...) the message names it.
"""

from __future__ import annotations

import copy
import functools
import inspect
import itertools
import math
import re
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from grader.checks import questions
from grader.checks.builders import backward_check, constructor_failure, forward_check
from grader.checks.compare import (TOLERANCES, Signature, Tolerance, accept_shape,
                                   compare_arrays, compare_scalar, in_shape, record_note,
                                   summarize)
from grader.checks.spec import Check, CheckFailure, Sample
from grader.checks.student import RemoteObject, RemoteTraining, Student
from grader.checks.trust import guard_gap, judge_sgd, verify_step
from grader.worker.client import Converted, Part, Ref, StudentError
from reference.cs231n import layer_utils as ref_utils
from reference.cs231n import layers as ref
from reference.cs231n.classifiers.cnn import ThreeLayerConvNet as ReferenceConvNet
from reference.published import PUBLISHED


QUESTIONS = questions.current()  # public or drawn from a secret: Note [Fresh questions]


def _rng(seed: int) -> np.random.Generator:
    """Every sample's generator (Note [Fresh questions] in grader/checks/questions.py)."""
    return QUESTIONS.rng(seed)


# ===========================================================================
# One check per entry, with signatures that know their sample
# ===========================================================================

# Note [Signatures that know their sample]
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
# The builders compare one output over a list of samples, with one list of
# `Signature`s that see only (actual, expected).  The mistakes this assignment
# cares about are recognised by recomputing what the buggy code returns *on
# the sample at hand* (the filter flipped, the gradient sent to the whole
# pooling window, a reshape without a transpose...), so each signature closes
# over its own sample (`Known`) and applies only where the comparison is that
# sample's: where `expected` is that sample's reference answer (the same
# reference on the same arguments gives the same array, and two samples never
# share one).  An entry is then one builder check over its whole list, so its
# samples go to the worker in one request (Note [Streamed calls] in
# grader/worker/client.py), and it stops at the first sample that fails, naming
# the same mistakes on it as a check of that sample alone would.  (Until issue 17's
# third round an entry was a sequence of one-sample builder checks, one request
# each.)  A known bug's result, and the sample's own reference answer, are
# computed only when a comparison has already failed, so a correct submission
# pays nothing for them.
#
# Wrong shapes never reach a signature (compare_arrays reports the shape
# first), so the shapes that known bugs produce (the stride ignored, the
# padding forgotten, db summed over the batch only) are named by `wrong_shapes`
# for the sample the failure names ("[sample NAME] ...", as the builders
# prefix it) and added to the message.
#
# Sample k of a backward entry has the upstream gradient
# QUESTIONS.rng(k).standard_normal(out.shape) (builders.backward_check draws
# questions.current().rng(seed + number), here with seed 0, Note [Fresh
# questions] in grader/checks/questions.py); `upstream` recomputes exactly that
# for the signatures, and tests/assignments/test_cnn.py checks that the hints do
# fire, which would catch a change in the builder's seeding.

MATCH = TOLERANCES["float64"]


@dataclass(frozen=True)
class Known:
    """A known mistake: what code with that mistake returns, and what to tell the student.

    `result` takes the sample (forward checks) or the sample and the upstream
    gradient (backward checks).
    """
    hint: str
    result: Callable[..., np.ndarray]


def _once(compute: Callable[[], object]) -> Callable[[], object]:
    """`compute`, run at the first call only (about 120 are made at import, few ever run)."""
    kept: list = []

    def value():
        if not kept:
            kept.append(compute())
        return kept[0]

    return value


def _signature(hint: str, compute: Callable[[], np.ndarray],
               own: Callable[[], np.ndarray]) -> Signature:
    """A Signature matching when the comparison is of the sample whose reference answer is
    `own()` and the student's array equals `compute()`; see Note [Signatures that know
    their sample]."""
    buggy, own = _once(compute), _once(own)

    def matches(actual: np.ndarray, expected: np.ndarray) -> bool:
        answer = np.asarray(own())
        if answer.shape != expected.shape or not np.array_equal(answer, expected):
            return False  # another sample's comparison
        value = np.asarray(buggy())
        return (value.shape == actual.shape and not np.allclose(value, expected, rtol=MATCH.rtol,
                                                                atol=MATCH.atol)
                and bool(np.allclose(actual, value, rtol=MATCH.rtol, atol=MATCH.atol)))

    return Signature(matches, hint)


def _name_wrong_shape(failure: CheckFailure, shapes: Sequence[tuple[tuple, str]]) -> CheckFailure:
    """Add 'looks like: ...' when the student's wrong shape is one a known bug produces."""
    got = failure.details.get("shape")
    if got is None or failure.details.get("forward_cache"):  # Note [An empty array in the
        return failure  # forward's cache] in grader/checks/builders.py: not the backward's shape
    hints = [hint for shape, hint in shapes if tuple(shape) == tuple(got)]
    if not hints:
        return failure
    message = failure.message + "".join(f"\nlooks like: {hint}" for hint in hints)
    return type(failure)(message, hint=failure.hint, details=failure.details)


def _failed_sample(failure: CheckFailure, samples: Sequence[Sample]) -> Sample | None:
    """The sample a builder's failure names ("[sample NAME] ..."), if any."""
    return next((sample for sample in samples
                 if failure.message.startswith(f"[sample {sample.name}] ")), None)


def _raising_sample(failure: CheckFailure, samples: Sequence[Sample]) -> Sample | None:
    """The sample a builder's "... raised ... on sample 'NAME'" failure names, if any."""
    first = failure.message.split("\n", 1)[0]
    return next((sample for sample in samples
                 if " raised " in first and first.endswith(f" on sample '{sample.name}'")), None)


def _name_raise(failure: CheckFailure, samples: Sequence[Sample],
                raised: Callable[[Sample, str], str]) -> CheckFailure:
    """Add 'looks like: ...' under the first line when `raised` recognises the exception of a
    forward pass, its own check's or the one a backward check needs (Note [Known mistakes
    that raise] in grader/checks/builders.py; here from the message's text)."""
    sample = _raising_sample(failure, samples)
    return failure.looking_like(raised(sample, failure.message.split("\n", 1)[0]) if sample else "")


def _entry(check: Check, samples: Sequence[Sample],
           wrong_shapes: Callable[[Sample], list] | None, keep_answers: bool = False,
           forward_raised: Callable[[Sample, str], str] | None = None) -> Check:
    """`check` (a builder check over `samples`), its wrong shapes named for the failing
    sample; with `keep_answers`, run with AnswersKept (Note [Answers kept per submission]);
    `forward_raised`: names what the forward pass raised (`_name_raise`)."""
    if wrong_shapes is None and not keep_answers and forward_raised is None:
        return check

    def run(student: Student) -> None:
        __tracebackhide__ = True
        try:
            check.run(AnswersKept(student) if keep_answers else student)
        except CheckFailure as failure:
            if forward_raised is not None:
                failure = _name_raise(failure, samples, forward_raised)
            if wrong_shapes is None:
                raise failure from None
            sample = _failed_sample(failure, samples)
            raise _name_wrong_shape(failure, wrong_shapes(sample) if sample else []) from None

    return Check(check.id, check.function, check.title, run, check.hint, check.hidden,
                 prepare=check.prepare)  # Note [Answers before the fork] in grader/batch/job.py


def _answer(reference: Callable, sample: Sample, index: int | None) -> Callable[[], np.ndarray]:
    """Output `index` of the reference on `sample`, as the forward builder computes it."""
    def compute() -> np.ndarray:
        value = reference(*copy.deepcopy(sample.args), **copy.deepcopy(sample.kwargs))
        return np.asarray(value if index is None else value[index])
    return compute


def forward_entry(function: str, module: str, samples: Sequence[Sample], reference: Callable, *,
                  arg_names: Sequence[str], hint: str, output: str = "out", index: int = 0,
                  what: str = "out, cache", known: Callable[[Sample], list[Known]] = lambda s: [],
                  wrong_shapes: Callable[[Sample], list] | None = None,
                  hidden: bool = False,
                  raised: Callable[[Sample, str], str] | None = None) -> Check:
    """Output `index` of `function` vs the reference, on every sample in one request (Note
    [Signatures that know their sample]); `raised`: see `_name_raise`."""
    samples = tuple(samples)
    signatures = [_signature(k.hint, functools.partial(k.result, sample),
                             _answer(reference, sample, index))
                  for sample in samples for k in known(sample)]
    return _entry(forward_check(function, module, samples, reference, output=output, index=index,
                                what=what, arg_names=arg_names, hint=hint, signatures=signatures,
                                hidden=hidden), samples, wrong_shapes, forward_raised=raised)


def upstream(number: int, out_shape: tuple) -> np.ndarray:
    """The upstream gradient the backward check uses for sample `number`."""
    return _rng(number).standard_normal(out_shape)


def backward_entry(forward: str, backward: str, module: str, samples: Sequence[Sample],
                   reference_forward: Callable, reference_backward: Callable, *, grad: str,
                   grad_index: int, wrt: int, arg_names: Sequence[str], hint: str,
                   known: Callable[[Sample], list[Known]] = lambda s: [],
                   wrong_shapes: Callable[[Sample], list] | None = None,
                   hidden: bool = False, single_grad: bool = False,
                   raised: Callable[[Sample, StudentError], str] | None = None,
                   forward_raised: Callable[[Sample, str], str] | None = None,
                   empty_cache: Callable[[Sample], str] | None = None) -> Check:
    """One gradient of `backward` vs the reference, on every sample in one request (Note
    [Signatures that know their sample]); `raised` and `empty_cache` as in
    builders.backward_check."""
    samples = tuple(samples)

    def signatures(number: int, sample: Sample) -> list[Signature]:
        def dout() -> np.ndarray:
            out, _ = reference_forward(*copy.deepcopy(sample.args), **copy.deepcopy(sample.kwargs))
            return upstream(number, np.shape(out))

        def own() -> np.ndarray:
            out, cache = reference_forward(*copy.deepcopy(sample.args),
                                           **copy.deepcopy(sample.kwargs))
            grads = reference_backward(upstream(number, np.shape(out)), cache)
            return np.asarray(grads if single_grad else grads[grad_index])

        return [_signature(k.hint, lambda k=k: k.result(sample, dout()), own)
                for k in known(sample)]

    check = backward_check(forward, backward, module, samples, reference_forward,
                           reference_backward, grad=grad, grad_index=grad_index, wrt=wrt,
                           arg_names=arg_names, hint=hint, hidden=hidden, seed=0,
                           single_grad=single_grad, raised=raised, empty_cache=empty_cache,
                           signatures=[signature for number, sample in enumerate(samples)
                                       for signature in signatures(number, sample)])
    # The entries for dx, dw and db ask the same question (Note [Answers kept per submission]).
    return _entry(check, samples, wrong_shapes, keep_answers=True, forward_raised=forward_raised)


def _next_result(calls, name: str):
    """The next result of a Student.calls stream, an exception in student code turned into a
    wrong answer that says where (as `_student_call` says it)."""
    try:
        return next(calls)
    except StudentError as error:
        raise CheckFailure(f"`{name}` raised {error}"
                           + (f"\n{error.traceback}" if error.traceback else "")) from None


def _student_call(student: Student, module: str, name: str, *args, what: str = "",
                  **kwargs):
    """student.call, with an exception in student code turned into a wrong answer that says where."""
    try:
        return student.call(module, name, *args, **kwargs)
    except StudentError as error:
        raise CheckFailure(f"{what or f'`{name}`'} raised {error}"
                           + (f"\n{error.traceback}" if error.traceback else "")) from None


# Note [Reference answers kept]
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
# The naive reference layers loop in Python over every output position (a conv sample
# costs the judge about a millisecond), and the checks ask them the same questions again
# and again: a conv sample's reference forward runs for its `out` check and once more in
# each of its dx, dw and db checks (the backward builder runs the reference forward for
# its cache, then the reference backward), and its reference backward in each of dx, dw
# and db.  The answers depend on the question only, never on the submission, so
# `remembered` keeps each distinct question's answer for the life of the process (one
# grade check, or every submission of a batch): the key is the arguments' values (each
# array's dtype, shape and bytes, each dict's items), so a deep copy of a sample asks the
# same question, and any other argument is asked afresh, not kept.  Every caller gets a
# deep copy of the answer, so no caller can change what the next one reads.  At most
# REMEMBERED answers are kept per function (the samples of one checks module need about
# a dozen); beyond that the function simply runs.
# A student release runs these checks against a tape of the reference's answers, one
# section per check (Note [Tape] in grader/course/replay.py), so there every check must
# ask the reference its own questions: its reference names are then replay proxies, not
# the reference's functions and classes, and nothing is kept (`is_reference`).
REMEMBERED = 64


def is_reference(value) -> bool:
    """Whether `value` is a function or class of the reference itself (not a release's
    replay proxy, Note [Reference imports] in grader/course/replay.py)."""
    return (inspect.isfunction(value) or inspect.isclass(value)) and \
        getattr(value, "__module__", "").startswith("reference.")


def _question(value):
    """A hashable key standing for `value`'s contents, or None when it has none we trust."""
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, dict):
        items = [(key, _question(item)) for key, item in value.items()]
        if any(not isinstance(key, str) or item is None for key, item in items):
            return None
        return ("dict", tuple(sorted(items)))
    if isinstance(value, (tuple, list)):
        items = tuple(_question(item) for item in value)
        return None if any(item is None for item in items) else (type(value).__name__, items)
    if value is None or type(value) in (bool, int, float, str):
        return ("value", type(value).__name__, value)
    if isinstance(value, Part):  # a result of the same stream (Note [Streamed calls])
        return ("part", value.index, value.path)
    return None


def remembered(function: Callable) -> Callable:
    """`function` (a pure reference layer), its answers kept per question; Note [Reference
    answers kept].  A replay proxy is returned as it is."""
    if not is_reference(function):
        return function
    answers: dict = {}

    @functools.wraps(function)
    def ask(*args, **kwargs):
        key = _question((args, kwargs))
        if key is None:
            return function(*args, **kwargs)
        if key not in answers:
            answer = function(*args, **kwargs)
            if len(answers) >= REMEMBERED:
                return answer
            answers[key] = copy.deepcopy(answer)
            return answer
        return copy.deepcopy(answers[key])

    return ask


# Note [Answers kept per submission]
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
# Several checks ask a submission the very same question and grade different parts of
# its answer: the dx, dw and db checks of a backward entry each ran the student's
# forward and backward on the same samples with the same upstream gradients (one
# request of six calls each), the six grad_* checks each the same model's loss (Note
# [One question for the six gradients]).  A submission's code answers a question the
# same way each time it is asked, so the first check to ask keeps the answer for the
# others, per submission: `_kept(student)` lives in the Student's `shared` dict and goes
# with it, so nothing crosses from one submission to the next.
# * `AnswersKept` is the Student a backward entry's builder check runs with: a stream of
#   calls (Student.calls) asked before, with the same module, names and argument values
#   (`_question`, Part references included), is answered from what the worker said then,
#   each result a deep copy.  Only a complete answer is kept: every call of the stream
#   read and none raised; a stream cut short (a wrong sample stops the reading), a
#   student exception, a timeout or a crash keeps nothing, and the next check asks
#   again, exactly as before.  Every other request goes to the Student as it is.
# * `asked_once` keeps what a function of the checks returned, or the CheckFailure it
#   raised (raised again as a copy with the same message and cause, Note [Causes] in
#   grader/scoring/result.py); a worker failure is not kept.
# A check answered from kept answers makes no request, so it is not refused once the
# submission's time budget is spent (Note [Time budget] in grader/worker/client.py): its
# answers were given within it.  Code whose answer to the same question changes from
# one asking to the next (state kept between calls) is graded on its first answer,
# which is what it gave; every answer graded is still the student's own, compared with
# the reference's.
def _kept(student: Student) -> dict:
    """The answers kept for this submission (Note [Answers kept per submission])."""
    return student.shared.setdefault("cnn: answers kept", {})


def asked_once(student: Student, key: tuple, ask: Callable[[], object]):
    """`ask()`, or what it returned or raised (a CheckFailure) the first time this
    submission's checks asked `key` (Note [Answers kept per submission])."""
    answers = _kept(student)
    key = ("asked", key)
    if key not in answers:
        try:
            answers[key] = (True, ask())
        except CheckFailure as failure:
            answers[key] = (False, failure)
    answered, value = answers[key]
    if not answered:  # a copy, with what it was raised from (its cause: Note [Causes])
        failure = type(value)(value.message, hint=value.hint, details=value.details,
                              cause=value.cause)
        failure.__context__ = value.__context__
        raise failure from None
    return value


class AnswersKept:
    """The Student, its complete stream answers kept and given again (Note [Answers kept
    per submission])."""

    def __init__(self, student: Student) -> None:
        self.student = student

    def __getattr__(self, name: str):
        return getattr(self.student, name)

    def calls(self, module: str, calls: list[tuple], timeout: float | None = None):
        key = _question(("calls", module, list(calls)))
        if key is None:
            return self.student.calls(module, calls, timeout)
        answers = _kept(self.student)
        if key in answers:
            return _Replayed(answers[key])
        return _Recorded(self.student.calls(module, calls, timeout), len(calls),
                         lambda results: answers.setdefault(key, results))


class _Recorded:
    """A Student.calls stream whose results are handed to `keep` once every one of them
    was read (a call that raised gave none)."""

    def __init__(self, calls, size: int, keep: Callable[[list], object]) -> None:
        self._calls, self._size, self._keep = calls, size, keep
        self._results: list = []

    def __enter__(self) -> "_Recorded":
        self._calls.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._calls.__exit__(*exc)
        if len(self._results) == self._size:
            self._keep(copy.deepcopy(self._results))

    def __iter__(self) -> "_Recorded":
        return self

    def __next__(self):
        result = next(self._calls)
        self._results.append(result)
        return result


class _Replayed:
    """The kept results of a stream, as the stream gave them (deep copies)."""

    def __init__(self, results: list) -> None:
        self._results = iter(copy.deepcopy(results))

    def __enter__(self) -> "_Replayed":
        return self

    def __exit__(self, *exc) -> None:
        pass

    def __iter__(self) -> "_Replayed":
        return self

    def __next__(self):
        return next(self._results)


# The naive reference layers, each question answered once (Note [Reference answers kept]).
conv_forward_reference = remembered(ref.conv_forward_naive)
conv_backward_reference = remembered(ref.conv_backward_naive)
pool_forward_reference = remembered(ref.max_pool_forward_naive)
pool_backward_reference = remembered(ref.max_pool_backward_naive)


# ===========================================================================
# Convolution
# ===========================================================================

CONV_ARGS = ("x", "w", "b", "conv_param")

# Note [Inputs inside the course's contract]
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
# A sample is a question the course allows: code that is right for every input
# the course's API text admits must get full marks, whatever it does outside
# it.  The course lets students assume that windows tile the input, and an
# `assert` on it is a correct implementation (its own fast layers assert the
# same), so every sample here satisfies, per family:
# - convolution (conv_samples, conv_hidden_samples, the published vector, the
#   sandwiches): (H + 2 * pad - HH) % stride == 0 and (W + 2 * pad - WW) %
#   stride == 0;
# - max pooling (pool samples, the pool of conv_relu_pool): (H - pool_height)
#   % stride == 0 and (W - pool_width) % stride == 0 (windows may overlap or
#   leave rows between them: both tile in this sense);
# - ThreeLayerConvNet: odd filter_size (the course's padding (F - 1) // 2 keeps
#   H x W) and even H and W (its 2x2 pool with stride 2 tiles);
# - spatial batch norm: x (N, C, H, W) with gamma, beta (C,); running
#   statistics (C,) given or absent; eps and momentum in bn_param or absent;
# - spatial group norm: C % G == 0 (the course splits C into G equal groups).
# Coverage is kept inside those bounds: non-square inputs, kernels and pools,
# 1x1 filters, stride 1, 2 and 3, pad 0, 1 and 2, N = 1, in public and hidden
# samples alike (tests/assignments/test_cnn.py checks that every sample tiles).
# There is no advisory for inputs that do not tile: an assertion is what the
# contract allows there, so there is nothing to tell a student.


def _conv_sample(name: str, r: np.random.Generator, x_shape, w_shape, stride: int, pad: int) -> Sample:
    return Sample(name, (r.standard_normal(x_shape), r.standard_normal(w_shape),
                         r.standard_normal(w_shape[0]), {"stride": stride, "pad": pad}))


def conv_samples() -> list[Sample]:
    r = _rng(10)
    return [
        _conv_sample("x (2,3,5,5), w (2,3,3,3), stride 1, pad 1", r, (2, 3, 5, 5), (2, 3, 3, 3), 1, 1),
        _conv_sample("N=1, x (1,2,9,8), w (3,2,3,2), stride 2, pad 0", r, (1, 2, 9, 8), (3, 2, 3, 2),
                     2, 0),
        _conv_sample("x (3,1,9,6), w (2,1,4,4), stride 3, pad 2", r, (3, 1, 9, 6), (2, 1, 4, 4), 3, 2),
    ]


def conv_hidden_samples() -> list[Sample]:
    r = _rng(11)
    return [
        _conv_sample("x (2,2,7,9), w (4,2,5,3), stride 2, pad 2", r, (2, 2, 7, 9), (4, 2, 5, 3), 2, 2),
        _conv_sample("N=1, 1x1 filters, x (1,3,6,5), w (2,3,1,1), stride 1, pad 0",
                     r, (1, 3, 6, 5), (2, 3, 1, 1), 1, 0),
        _conv_sample("x (2,1,10,7), w (2,1,3,3), stride 3, pad 1", r, (2, 1, 10, 7), (2, 1, 3, 3), 3,
                     1),
    ]


def _conv_out(x, w, b, conv_param) -> np.ndarray:
    return ref.conv_forward_naive(x, w, b, conv_param)[0]


def _conv_out_shape(sample: Sample, stride: int | None = None, pad: int | None = None) -> tuple:
    x, w, _, conv_param = sample.args
    stride = conv_param["stride"] if stride is None else stride
    pad = conv_param["pad"] if pad is None else pad
    return (x.shape[0], w.shape[0], 1 + (x.shape[2] + 2 * pad - w.shape[2]) // stride,
            1 + (x.shape[3] + 2 * pad - w.shape[3]) // stride)


def _with_stride_one_windows(x, w, b, conv_param) -> np.ndarray:
    """Right output size, but windows start at i and j instead of i * stride and j * stride."""
    h_out, w_out = _conv_out_shape(Sample("", (x, w, b, conv_param)))[2:]
    return _conv_out(x, w, b, {**conv_param, "stride": 1})[:, :, :h_out, :w_out]


# Note [Padding fixed at the notebook's 1]
# The notebook checks conv_forward_naive and conv_backward_naive at pad 1 only, so code that
# pads by 1 (np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))) or crops dx by 1 (dx_pad[:, :, 1:-1,
# 1:-1], np.delete(dx, [0, -1], axis=2)) whatever conv_param['pad'] says passes there (three
# real hand-ins, 2017 and 2022).  At pad 0 the forward pass then slides over a frame of zeros
# (right size, wrong values) and the backward pass returns dx two rows and columns short; at
# pad 2 the forward windows run off the padded input and raise.  Both are named here; the
# verdict is unchanged (the course's pad is an argument).
def _padded_by_one(x, w, b, conv_param) -> np.ndarray:
    """The output of windows slid over x padded by 1, at the output size of the real pad."""
    h_out, w_out = _conv_out_shape(Sample("", (x, w, b, conv_param)))[2:]
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    return _conv_out(padded, w, b, {**conv_param, "pad": 0})[:, :, :h_out, :w_out]


PADDED_BY_ONE = ("x is zero-padded by 1 whatever conv_param['pad'] is (1 is the notebook's "
                 "value): pad by conv_param['pad'] rows and columns on each side")


def conv_forward_known(sample: Sample) -> list[Known]:
    x, w, b, conv_param = sample.args
    # Note [Padding fixed at the notebook's 1]: at pad 0 the windows stay inside the frame
    fixed_pad = ([Known(PADDED_BY_ONE, lambda s: _padded_by_one(x, w, b, conv_param))]
                 if conv_param["pad"] == 0 else [])
    return fixed_pad + [
        Known("the filters are flipped (true convolution); the course's conv layer is a "
              "cross-correlation: out = sum(window * w) with w as given",
              lambda s: _conv_out(x, w[:, :, ::-1, ::-1], b, conv_param)),
        Known("the bias b is not added", lambda s: _conv_out(x, w, np.zeros_like(b), conv_param)),
        Known("the windows move by 1 pixel instead of by `stride` (use i * stride, j * stride)",
              lambda s: _with_stride_one_windows(x, w, b, conv_param)),
    ]


def conv_forward_shapes(sample: Sample) -> list[tuple[tuple, str]]:
    return [(_conv_out_shape(sample, stride=1), "the stride is ignored in the output size "
             "(H_out = 1 + (H + 2 * pad - HH) // stride)"),
            (_conv_out_shape(sample, pad=0), "the padding is missing: zero-pad H and W by "
             "conv_param['pad'] on each side before sliding the filters")]


def conv_backward_known(grad: str) -> Callable[[Sample], list[Known]]:
    def known(sample: Sample) -> list[Known]:
        x, w, b, conv_param = sample.args
        if grad == "dx":
            return [Known("dx uses flipped filters (the forward pass does not flip them, so "
                          "neither does its gradient)",
                          lambda s, dout: ref.conv_backward_naive(
                              dout, (x, w[:, :, ::-1, ::-1], b, conv_param))[0])]
        if grad == "dw":
            return [Known("dw holds the contribution of the last image only: dw must be summed "
                          "over every image n (accumulate with +=)",
                          lambda s, dout: ref.conv_backward_naive(
                              dout[-1:], (x[-1:], w, b, conv_param))[1]),
                    Known("dw holds the contribution of the first image only: dw must be summed "
                          "over every image n (accumulate with +=)",
                          lambda s, dout: ref.conv_backward_naive(
                              dout[:1], (x[:1], w, b, conv_param))[1])]
        return []
    return known


def conv_backward_shapes(grad: str) -> Callable[[Sample], list]:
    def shapes(sample: Sample) -> list[tuple[tuple, str]]:
        x, w, _, conv_param = sample.args
        pad = conv_param["pad"]
        n, c, h, wd = x.shape
        _, f, h_out, w_out = _conv_out_shape(sample)
        return {"dx": [((n, c, h + 2 * pad, wd + 2 * pad),
                        "dx still includes the padding: crop `pad` rows and columns off each side")]
                + ([((n, c, 0, 0), "with pad = 0 a crop like dx_pad[:, :, pad:-pad, pad:-pad] is "
                                   "empty (-0 is 0, so pad:-pad is 0:0); crop with "
                                   "pad:pad + H and pad:pad + W")] if pad == 0 else [])
                # Note [Padding fixed at the notebook's 1]
                + ([((n, c, h + 2 * pad - 2, wd + 2 * pad - 2),
                     "dx is cropped by 1 on each side whatever conv_param['pad'] is (1 is the "
                     "notebook's value): crop `pad` rows and columns off each side, "
                     "dx_pad[:, :, pad:pad + H, pad:pad + W]")] if pad != 1 else []),
                "db": [((f, h_out, w_out), "db is summed over the batch only; sum dout over N, "
                        "H_out and W_out (axis=(0, 2, 3))"),
                       ((n, f), "db is summed over H_out and W_out only; sum over N too")],
                }.get(grad, [])
    return shapes


# A shape whose last two sizes are 0, as NumPy prints it in a broadcast error:
# "(3,0,0)", "(2, 3, 0, 0)".
_EMPTY_MAP = re.compile(r"\(\s*(?:\d+\s*,\s*)*0\s*,\s*0\s*\)")


_SHAPE = re.compile(r"\((\d+(?:\s*,\s*\d+)*)\)")

# Note [Filter rows and columns swapped]
# A window sliced as x_pad[..., i*stride:i*stride + WW, j*stride:j*stride + HH] (width for
# the rows) is right for the notebook's square filters; with the grader's 3x2 and 5x3
# filters its product with w[f] raises a broadcast error between (C, HH, WW) and
# (C, WW, HH) (a real 2017 hand-in's conv backward lost 7 points with only NumPy's line).
FILTER_SIDES_SWAPPED = ("a window is sliced with the filter's height and width swapped "
                        "(its last axes are (WW, HH) against w's (HH, WW)): rows take HH = "
                        "w.shape[2], columns WW = w.shape[3]")


def _filter_sides_swapped(sample: Sample, error: StudentError) -> bool:
    """Note [Filter rows and columns swapped]: shapes ending (HH, WW) and (WW, HH) both in
    the error ((C, HH, WW) against (C, WW, HH), or dw's (F, C, ...) against a window's)."""
    hh, ww = sample.args[1].shape[2:]
    if hh == ww or error.type != "ValueError":
        return False
    tails = {tuple(int(v) for v in m.split(","))[-2:] for m in _SHAPE.findall(error.message)}
    return (hh, ww) in tails and (ww, hh) in tails


def conv_backward_raised(sample: Sample, error: StudentError) -> str:
    """The pad:-pad crop at pad 0, when it raised rather than being returned (Note [Known
    mistakes that raise] in grader/checks/builders.py); a window with its sides swapped."""
    pad = sample.args[3].get("pad")
    if pad == 0 and error.type in ("ValueError", "IndexError") and _EMPTY_MAP.search(error.message):
        return ("with pad = 0 a crop like dx_pad[:, :, pad:-pad, pad:-pad] is empty (-0 is 0, "
                "so pad:-pad is 0:0), which is the shape with 0 rows and columns above; crop "
                "with pad:pad + H and pad:pad + W")
    if _filter_sides_swapped(sample, error):
        return FILTER_SIDES_SWAPPED
    return ""


def conv_empty_cache(sample: Sample) -> str:
    """How a conv forward caches an empty array (Note [An empty array in the forward's cache]
    in grader/checks/builders.py): the pad:-pad crop of x_pad, at pad 0."""
    if sample.args[3].get("pad") != 0:
        return ""
    return ("with pad = 0 a crop like x_pad[:, :, pad:-pad, pad:-pad] is empty (-0 is 0, so "
            "pad:-pad is 0:0): cache x itself, or crop with pad:pad + H and pad:pad + W")


# Note [Every axis padded]
# np.pad(x, pad) with an int pad pads all four axes, N and C as well as H and W.  Two real
# hand-ins (2017, CS682) padded so and then cropped 1 off the first axes (x_pad[1:-1, 1:-1],
# or np.pad(x[n], pad)[1:-1] per image), which undoes the extra padding only at the
# notebook's pad 1.  At pad 0 the crop leaves N - 2 images or C - 2 channels (none, for the
# grader's N = 1 or C = 2), at pad 2 it leaves C + 2 channels, and the window's product with
# w[f] raises a broadcast error between (C', HH, WW) and (C, HH, WW), or x_pad[n] an IndexError
# on axis 0: 7 points of the forward and backward checks with only NumPy's line.  A broadcast
# error between those two shapes, or an IndexError on an axis 0 of the size the padding gives N
# or C (and not N or C itself), is named; the verdict is unchanged.
EVERY_AXIS_PADDED = ("x is zero-padded on every axis, N and C too, not only H and W "
                     "(np.pad(x, pad) with an int pad pads all four axes){crop}: {what}; pad H "
                     "and W alone, np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))")
_CROPPED = (", and cropping 1 off the first axes afterwards ([1:-1]) undoes that only at the "
            "notebook's pad 1")


def conv_forward_raised(sample: Sample, text: str) -> str:
    """Note [Every axis padded], from the first line of what conv_forward_naive (or the
    backward pass padding x the same way) raised; '' when it is not that."""
    x, w, _, conv_param = sample.args
    n, c = x.shape[:2]
    hh, ww = w.shape[2:]
    pad = conv_param["pad"]
    # the padded size of an axis of size `size`, without and with the [1:-1] crop
    padded = {size: {size + 2 * pad: "", max(size + 2 * pad - 2, 0): _CROPPED} for size in (n, c)}
    if "broadcast" in text:
        shapes = [tuple(int(v) for v in m.split(",")) for m in _SHAPE.findall(text)]
        tails = {shape[-3:] for shape in shapes if len(shape) >= 3}
        for got in sorted(padded[c]):
            if got != c and (got, hh, ww) in tails and (c, hh, ww) in tails:
                return EVERY_AXIS_PADDED.format(crop=padded[c][got], what=(
                    f"the windows have {got} channels against w's {c} (pad = {pad})"))
        return ""
    match = re.search(r"IndexError: index \d+ is out of bounds for axis 0 with size (\d+)", text)
    if match:
        got = int(match.group(1))
        for size, name in ((n, "images"), (c, "channels")):
            if got != size and got in padded[size] and got not in (n, c):
                return EVERY_AXIS_PADDED.format(crop=padded[size][got], what=(
                    f"x_pad has {got} {name} where x has {size} (pad = {pad})"))
    return ""


CONV_HINTS = {
    "out": "H_out = 1 + (H + 2 * pad - HH) // stride; zero-pad only H and W; out[n, f, i, j] = "
           "sum(x_pad[n, :, i*stride:i*stride+HH, j*stride:j*stride+WW] * w[f]) + b[f]",
    "dx": "each window adds dout[n, f, i, j] * w[f] into the padded dx (overlapping windows "
          "accumulate); crop the padding at the end",
    "dw": "dw[f] += dout[n, f, i, j] * x_pad window, summed over every image n and position (i, j)",
    "db": "db[f] = sum of dout[:, f, :, :] over N, H_out and W_out",
}


def _published_conv_inputs() -> tuple:
    x_shape, w_shape = (2, 3, 4, 4), (3, 3, 4, 4)
    x = np.linspace(-0.1, 0.5, num=int(np.prod(x_shape))).reshape(x_shape)
    w = np.linspace(-0.2, 0.3, num=int(np.prod(w_shape))).reshape(w_shape)
    b = np.linspace(-0.1, 0.2, num=3)
    return x, w, b, {"stride": 2, "pad": 1}


def published_conv_check() -> Check:
    """conv_forward_naive on the notebook's linspace inputs vs the numbers the course printed.

    The tolerance is the rounding of the printed numbers (Note [Published precision]
    in reference/published.py), not a comparison tolerance.
    """
    vector = next(v for v in PUBLISHED if v.name == "conv_forward_naive")
    expected = vector.expected["out"]

    def run(student: Student) -> None:
        __tracebackhide__ = True
        inputs = _published_conv_inputs()
        # The same question at inputs of the same shapes the grader draws, so a table of the
        # published numbers earns nothing (Note [Fresh questions] in grader/checks/questions.py).
        x, w, b, conv_param = inputs
        r = _rng(44)
        drawn = (r.standard_normal(x.shape), r.standard_normal(w.shape), r.standard_normal(b.shape),
                 dict(conv_param))
        # Both in one request (Note [Streamed calls] in grader/worker/client.py).
        with student.calls("layers", [("conv_forward_naive", inputs, {}),
                                      ("conv_forward_naive", drawn, {})]) as calls:
            result = _next_result(calls, "conv_forward_naive")
            if not isinstance(result.value, (tuple, list)) or not result.value:
                raise CheckFailure("`conv_forward_naive` should return a tuple (out, cache)")
            compare_arrays("out", result.value[0], expected, inputs=dict(zip(CONV_ARGS, inputs)),
                           tolerance=Tolerance(rtol=0.0, atol=vector.tolerance),
                           hint=CONV_HINTS["out"])
            result = _next_result(calls, "conv_forward_naive")
        if not isinstance(result.value, (tuple, list)) or not result.value:
            raise CheckFailure("`conv_forward_naive` should return a tuple (out, cache)")
        compare_arrays("out", result.value[0], conv_forward_reference(*copy.deepcopy(drawn))[0],
                       inputs=dict(zip(CONV_ARGS, drawn)), hint=CONV_HINTS["out"])

    return Check("conv_forward_naive/published", "conv_forward_naive",
                 "conv_forward_naive: reproduces the notebook's published output "
                 "(stride 2, pad 1)", run, CONV_HINTS["out"])


def conv_checks() -> list[Check]:
    public, hidden_samples = conv_samples(), conv_hidden_samples()  # drawn once, read only
    checks = [
        forward_entry("conv_forward_naive", "layers", public, conv_forward_reference,
                      arg_names=CONV_ARGS, hint=CONV_HINTS["out"], known=conv_forward_known,
                      wrong_shapes=conv_forward_shapes, raised=conv_forward_raised),
        published_conv_check(),
        forward_entry("conv_forward_naive", "layers", hidden_samples, conv_forward_reference,
                      arg_names=CONV_ARGS, hint=CONV_HINTS["out"], known=conv_forward_known,
                      wrong_shapes=conv_forward_shapes, hidden=True,
                      raised=conv_forward_raised),
    ]
    for samples, hidden, grads in ((public, False, ("dx", "dw", "db")),
                                   (hidden_samples, True, ("dx", "dw"))):
        for grad in grads:
            index = ("dx", "dw", "db").index(grad)
            checks.append(backward_entry(
                "conv_forward_naive", "conv_backward_naive", "layers", samples,
                conv_forward_reference, conv_backward_reference, grad=grad, grad_index=index,
                wrt=index, arg_names=CONV_ARGS, hint=CONV_HINTS[grad],
                known=conv_backward_known(grad), wrong_shapes=conv_backward_shapes(grad),
                hidden=hidden, raised=conv_backward_raised, empty_cache=conv_empty_cache,
                forward_raised=conv_forward_raised))  # Note [Every axis padded]
    return checks


# ===========================================================================
# Max pooling
# ===========================================================================

# Note [No ties in max pooling]
# Where a window holds two equal maxima, correct implementations legitimately
# differ (the first one, every one, or a share each: Note [Max-pool ties] in
# reference/cs231n/layers.py).  So pooling inputs are a seeded permutation of
# evenly spaced values: all entries differ by at least 4 / size, which also
# keeps the argmax fixed under the directional check's 1e-6 perturbation.

POOL_ARGS = ("x", "pool_param")


def _distinct(r: np.random.Generator, shape: tuple) -> np.ndarray:
    """Entries that are pairwise different; see Note [No ties in max pooling]."""
    size = int(np.prod(shape))
    return ((r.permutation(size) - size / 2) * (4.0 / size)).reshape(shape)


def _pool_sample(name: str, r: np.random.Generator, shape: tuple, ph: int, pw: int, stride: int) -> Sample:
    return Sample(name, (_distinct(r, shape), {"pool_height": ph, "pool_width": pw, "stride": stride}))


def pool_samples() -> list[Sample]:
    r = _rng(20)
    return [
        _pool_sample("x (2,3,4,6), 2x2 pool, stride 2", r, (2, 3, 4, 6), 2, 2, 2),
        _pool_sample("N=1, x (1,2,7,9), 3x3 pool, stride 2 (overlapping windows)", r, (1, 2, 7, 9), 3, 3, 2),
        _pool_sample("x (3,1,8,9), 2x3 pool, stride 3 (rows 2 and 5 between windows)",
                     r, (3, 1, 8, 9), 2, 3, 3),
    ]


def pool_hidden_samples() -> list[Sample]:
    r = _rng(21)
    return [
        _pool_sample("x (2,2,5,5), 2x2 pool, stride 1", r, (2, 2, 5, 5), 2, 2, 1),
        _pool_sample("N=1, x (1,3,6,5), 3x2 pool, stride 3", r, (1, 3, 6, 5), 3, 2, 3),
        _pool_sample("x (2,1,7,5), 3x3 pool, stride 2 (overlapping windows)", r, (2, 1, 7, 5), 3, 3,
                     2),
    ]


def _pool_out_shape(x_shape: tuple, ph: int, pw: int, stride_h: int, stride_w: int) -> tuple:
    return (x_shape[0], x_shape[1], 1 + (x_shape[2] - ph) // stride_h, 1 + (x_shape[3] - pw) // stride_w)


def _pool_windows(x, pool_param, sized_by_stride: bool = False):
    """(rows, cols) slices of every pooling window, in row-major order of positions;
    `sized_by_stride`: each window stride x stride instead (Note [Windows the size of the
    stride])."""
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    _, _, h_out, w_out = _pool_out_shape(x.shape, ph, pw, stride, stride)
    wh, ww = (stride, stride) if sized_by_stride else (ph, pw)
    for i in range(h_out):
        for j in range(w_out):
            yield i, j, slice(i * stride, i * stride + wh), slice(j * stride, j * stride + ww)


# Note [Windows the size of the stride]
# A real package (cs231n 2021 or later, both max-pool layers) sliced each window as
# x[..., stride*k:stride*(k+1), stride*h:stride*(h+1)]: a stride x stride window, which is
# the course's pool_height x pool_width window only where the two are equal, as in the
# notebook's 2x2 pool with stride 2.  On the samples where they differ it got numbers only
# ("out: 11 of 24 entries differ").  The judge computes max pooling over such windows, in
# the course's number of positions (the student's own H' and W'), and names the slip when
# the student's output, or gradient, is that.

def _stride_sized_pool(x, pool_param) -> np.ndarray:
    """Note [Windows the size of the stride]."""
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    out = np.empty(_pool_out_shape(x.shape, ph, pw, stride, stride))
    for i, j, rows, cols in _pool_windows(x, pool_param, sized_by_stride=True):
        out[:, :, i, j] = x[:, :, rows, cols].max(axis=(2, 3))
    return out


STRIDE_SIZED_WINDOWS = ("each window is stride x stride (x[..., i*stride:(i+1)*stride, ...]); "
                        "the window is pool_height x pool_width, x[..., i*stride:i*stride + "
                        "pool_height, j*stride:j*stride + pool_width], stepped by stride")


def _average_pool(x, pool_param) -> np.ndarray:
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    out = np.empty(_pool_out_shape(x.shape, ph, pw, stride, stride))
    for i, j, rows, cols in _pool_windows(x, pool_param):
        out[:, :, i, j] = x[:, :, rows, cols].mean(axis=(2, 3))
    return out


# Note [Two ways to overwrite]
# "= instead of +=" in max_pool_backward comes in two shapes in real hand-ins, and
# they give different gradients wherever windows overlap: assigning the whole routed
# window (`dx[:, :, rows, cols] = routed`, which also zeroes what earlier windows put
# at the other entries), and assigning the maximum's entry only
# (`dx[n, c, i*stride + r, j*stride + s] = dout[n, c, i, j]`, which keeps every other
# entry and replaces only a shared maximum).  Two cs231n 2019/2020 notebooks of
# three graded in this audit wrote the second; the message named only the first, so
# they lost the check with no hint.  Each is a Known of its own (`combine` below).


# Note [Windows counted without the stride]
# A real 2020 hand-in's max_pool_backward (ECNU DaSE, on the cs231n 2020 package) counted its
# windows as H // pool_height by W // pool_width while stepping by the stride: right for the
# notebook's 2x2 stride-2 pooling, but with 3x3 stride 2 the last row and column of windows
# are never visited and their maxima get no gradient.  Its forward pass counted right, so only
# numbers came back; the count is a Known of its own (`counted_by_size` below).


def _pool_gradient(x, pool_param, dout, route: str, combine: str = "add",
                   counted_by_size: bool = False, sized_by_stride: bool = False) -> np.ndarray:
    """What max_pool_backward returns when each window's dout goes to `route`:
    'max' (correct), 'window' (every entry) or 'mean' (every entry, divided by the size);
    combine 'add' accumulates (correct), 'window' assigns the whole routed window and
    'max' assigns the maximum's entry only (Note [Two ways to overwrite]);
    `counted_by_size`: only the first H // pool_height by W // pool_width windows (Note
    [Windows counted without the stride]); `sized_by_stride`: Note [Windows the size of the
    stride]."""
    dx = np.zeros_like(x)
    rows_seen = x.shape[2] // pool_param["pool_height"]
    cols_seen = x.shape[3] // pool_param["pool_width"]
    for i, j, rows, cols in _pool_windows(x, pool_param, sized_by_stride):
        if counted_by_size and (i >= rows_seen or j >= cols_seen):
            continue
        window = x[:, :, rows, cols]
        g = dout[:, :, i, j][:, :, None, None]
        is_max = window == window.max(axis=(2, 3), keepdims=True)
        if route == "max":
            share = g * is_max
        elif route == "window":
            share = g * np.ones_like(window)
        else:
            share = g * np.ones_like(window) / window[0, 0].size
        if combine == "add":
            dx[:, :, rows, cols] += share
        elif combine == "window":
            dx[:, :, rows, cols] = share
        else:
            np.copyto(dx[:, :, rows, cols], share, where=is_max)
    return dx


# Note [Columns counted by the rows]
# A real cs231n 2021 hand-in looped `for w in range(H_out)` over the output's columns in
# max_pool_forward_naive: right whenever H' = W', as in the notebook's square inputs.  Where
# H' < W' the last columns stay zero (its np.zeros), and the check said only "out: 12 of 36
# entries differ"; where H' > W' it raised IndexError on axis 3.  Both are named: the output
# with only the first H' columns pooled is a Known, and the IndexError on axis 3 where
# H' > W' a `raised` message (`pool_forward_raised`).
COLUMNS_BY_ROWS = ("only the first H_out columns of out are pooled: the loop over columns runs "
                   "over range(H_out); it must run over range(W_out), W_out = 1 + (W - "
                   "pool_width) // stride")


def _columns_by_rows_pool(x, pool_param) -> np.ndarray:
    """Note [Columns counted by the rows]: zeros past column H_out."""
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    out = np.zeros(_pool_out_shape(x.shape, ph, pw, stride, stride))
    for i, j, rows, cols in _pool_windows(x, pool_param):
        if j < out.shape[2]:
            out[:, :, i, j] = x[:, :, rows, cols].max(axis=(2, 3))
    return out


# Note [Pool height and width swapped]
# A real 2017 hand-in sliced each window as x[n, c, i*S:i*S + pool_width, j*S:j*S +
# pool_height]: right for the notebook's 2x2 pooling, wrong for the grader's 2x3 and 3x2
# windows, where the check said only "out: 15 of 27 entries differ".  The output with each
# window's sides swapped (its positions and count as the course's) is a Known, for
# non-square pools only; a swapped window that would be empty gives NaN, which matches
# nothing.
POOL_SIDES_SWAPPED = ("each window is pool_width rows by pool_height columns (the two swapped): "
                      "window (i, j) is x[n, c, i*stride:i*stride + pool_height, "
                      "j*stride:j*stride + pool_width]")


def _sides_swapped_pool(x, pool_param) -> np.ndarray:
    """Note [Pool height and width swapped]."""
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    out = np.full(_pool_out_shape(x.shape, ph, pw, stride, stride), np.nan)
    for i, j, _, _ in _pool_windows(x, pool_param):
        window = x[:, :, i * stride:i * stride + pw, j * stride:j * stride + ph]
        if window.size:
            out[:, :, i, j] = window.max(axis=(2, 3))
    return out


def pool_forward_known(sample: Sample) -> list[Known]:
    x, pool_param = sample.args
    known = [Known("the windows are averaged; max pooling takes each window's maximum",
                   lambda s: _average_pool(x, pool_param)),
             Known(STRIDE_SIZED_WINDOWS, lambda s: _stride_sized_pool(x, pool_param))]
    _, _, h_out, w_out = _pool_out_shape(x.shape, pool_param["pool_height"],
                                         pool_param["pool_width"], pool_param["stride"],
                                         pool_param["stride"])
    if h_out < w_out:  # Note [Columns counted by the rows]
        known.append(Known(COLUMNS_BY_ROWS, lambda s: _columns_by_rows_pool(x, pool_param)))
    # Note [Pool height and width swapped]
    if pool_param["pool_height"] != pool_param["pool_width"]:
        known.append(Known(POOL_SIDES_SWAPPED, lambda s: _sides_swapped_pool(x, pool_param)))
    return known


# Note [An output side sized by the other pool side]
# A real CS682 hand-in computed W_out = 1 + (W - pool_height) / stride: right for square pools,
# one column short on the grader's 3x2 pool ("out: shape (1, 3, 2, 1), expected (1, 3, 2, 2)").
# Shapes with H_out or W_out sized by the other side of the window are named (non-square pools).

def pool_forward_shapes(sample: Sample) -> list[tuple[tuple, str]]:
    x, p = sample.args
    ph, pw, stride = p["pool_height"], p["pool_width"], p["stride"]
    shapes = [(_pool_out_shape(x.shape, ph, pw, 1, 1), "the stride is ignored "
               "(H_out = 1 + (H - pool_height) // stride)"),
              (_pool_out_shape(x.shape, ph, pw, ph, pw), "the windows step by the pool size "
               "instead of by pool_param['stride']")]
    if ph != pw:  # Note [An output side sized by the other pool side]
        shapes += [(_pool_out_shape(x.shape, ph, ph, stride, stride), "W_out is computed with "
                    "pool_height: W_out = 1 + (W - pool_width) // stride"),
                   (_pool_out_shape(x.shape, pw, pw, stride, stride), "H_out is computed with "
                    "pool_width: H_out = 1 + (H - pool_height) // stride")]
    return shapes


# Note [An argmax unravelled by the pool height]
# A window's flat argmax idx (np.argmax of x[n, c, rows, cols], pool_height x pool_width) is
# row * pool_width + column.  A real 2022 hand-in unravelled it with pool_height for both,
# row idx // pool_height and column idx % pool_height (np.unravel_index(idx, (pool_width,
# pool_height)) is the same): right for the notebook's square pools.  On the grader's 2x3 and
# 3x2 pools the maximum's dout goes to another entry, or past x's edge, where writing it (or a
# mask of it, in the forward pass) raises "index H is out of bounds for axis 2 with size H"
# (axis 3 and W for a tall window).  Both are named: the gradient as a Known (non-square
# pools only, where it differs), the IndexError at an index the wrong unravel reaches.
ARGMAX_BY_HEIGHT = ("a window's argmax is unravelled with pool_height for both its row and "
                    "column (idx // pool_height, idx % pool_height, or np.unravel_index(idx, "
                    "(pool_width, pool_height))): the flat index of a pool_height x pool_width "
                    "window is row * pool_width + column, so np.unravel_index(idx, "
                    "(pool_height, pool_width))")


def _argmax_by_height_gradient(x, pool_param, dout) -> np.ndarray:
    """Note [An argmax unravelled by the pool height]: NaN where a maximum is sent past x."""
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    n, c, h, wd = x.shape
    dx = np.zeros_like(x)
    images, channels = np.indices((n, c))
    for i, j, rows, cols in _pool_windows(x, pool_param):
        idx = x[:, :, rows, cols].reshape(n, c, ph * pw).argmax(axis=2)
        r, q = i * stride + idx // ph, j * stride + idx % ph
        if (r >= h).any() or (q >= wd).any():
            return np.full(x.shape, np.nan)
        np.add.at(dx, (images, channels, r, q), dout[:, :, i, j])
    return dx


def _argmax_by_height_raised(x_shape: tuple, pool_param: dict, text: str) -> str:
    """Note [An argmax unravelled by the pool height], from an IndexError past x's edge at an
    index the wrong unravel reaches, or ''."""
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    match = re.search(r"index (\d+) is out of bounds for axis ([23]) with size (\d+)", text)
    if ph == pw or not match:
        return ""
    index, axis, size = (int(group) for group in match.groups())
    _, _, h_out, w_out = _pool_out_shape(x_shape, ph, pw, stride, stride)
    # the last window's first row (column), how far past it the wrong unravel reaches, and
    # the window's own side there: rows reach pw (of ph), columns ph (of pw)
    last, reach, side = (((h_out - 1) * stride, pw, ph) if axis == 2
                         else ((w_out - 1) * stride, ph, pw))
    if size != x_shape[axis] or reach <= side or not size <= index < last + reach:
        return ""
    return ARGMAX_BY_HEIGHT


def pool_backward_known(sample: Sample) -> list[Known]:
    x, pool_param = sample.args
    return [
        Known("the gradient is sent to the whole pooling window; only the entry that was the "
              "maximum receives dout", lambda s, dout: _pool_gradient(x, pool_param, dout, "window")),
        Known("the gradient is spread evenly over the window (average pooling); only the "
              "maximum receives dout", lambda s, dout: _pool_gradient(x, pool_param, dout, "mean")),
        Known("overlapping windows overwrite each other's gradient: accumulate with += "
              "instead of assigning with =",
              lambda s, dout: _pool_gradient(x, pool_param, dout, "max", combine="window")),
        # Note [Two ways to overwrite]
        Known("where overlapping windows share their maximum, the later window's dout "
              "replaces the earlier one's: add it (dx[...] += dout[n, c, i, j]) instead of "
              "assigning it with =",
              lambda s, dout: _pool_gradient(x, pool_param, dout, "max", combine="max")),
        # Note [Windows the size of the stride]
        Known(STRIDE_SIZED_WINDOWS,
              lambda s, dout: _pool_gradient(x, pool_param, dout, "max", sized_by_stride=True)),
        # Note [Windows counted without the stride]
        Known("only H // pool_height by W // pool_width windows get their gradient, so the "
              "last windows' maxima get none: there are 1 + (H - pool_height) // stride windows "
              "down and 1 + (W - pool_width) // stride across, as in the forward pass",
              lambda s, dout: _pool_gradient(x, pool_param, dout, "max", counted_by_size=True)),
    ] + ([Known(ARGMAX_BY_HEIGHT,  # Note [An argmax unravelled by the pool height]
                lambda s, dout: _argmax_by_height_gradient(x, pool_param, dout))]
         if pool_param["pool_height"] != pool_param["pool_width"] else [])


# Note [Pooling windows stepped by their size]
# Windows that start at i * pool_height, j * pool_width instead of i * stride, j * stride are
# right whenever the stride equals the pool size, as in the notebook's 2x2 stride-2 pooling.
# With overlapping windows (3x3, stride 2) the last ones start past the input and np.max of
# an empty slice raises "zero-size array to reduction operation maximum which has no
# identity" (a real 2022 hand-in lost the forward and backward checks with only that line).
# That error on a sample whose stride differs from its pool size is named, in the forward
# check and in the backward checks that need the forward's cache.
POOL_STEPPED_BY_SIZE = ("the windows step by the pool size instead of by `stride` (the two "
                        "differ here, so the last windows start past the input and are empty): "
                        "window (i, j) starts at i * stride, j * stride")


# Note [Windows counted to the input's edge]
# A real 2020 hand-in stepped its windows through x while the next start stayed inside it
# (x_h = 0, stride, 2 * stride, ... < H), so it counted ceil(H / stride) windows down, one for
# every stride-th row of x, instead of H_out = 1 + (H - pool_height) // stride.  The two agree
# for the notebook's 2x2 pool with stride 2 on even sizes; with a stride below the pool size
# (2x2, stride 1) the loop writes past out's last row and the check gave only "IndexError:
# index 4 is out of bounds for axis 2 with size 4".  That IndexError, at index H_out (W_out on
# axis 3) of a sample where ceil(H / stride) > H_out, is named.
COUNTED_TO_THE_EDGE = ("the loop over windows {down} reaches index {index}, past out's {size} "
                       "({name} = 1 + ({dim} - {pool}) // stride): it counts a window at every "
                       "stride-th {line} of x ({count} of them), but the last window must fit "
                       "inside x")


def _counted_to_the_edge(x_shape: tuple, pool_param: dict, out_shape: tuple, text: str) -> str:
    """Note [Windows counted to the input's edge], or ''."""
    match = re.search(r"index (\d+) is out of bounds for axis ([23]) with size (\d+)", text)
    if not match:
        return ""
    index, axis, size = (int(group) for group in match.groups())
    stride = pool_param["stride"]
    if index != size or size != out_shape[axis] or -(-x_shape[axis] // stride) <= size:
        return ""
    down, line, name, dim, pool = (("down", "row", "H_out", "H", "pool_height") if axis == 2
                                   else ("across", "column", "W_out", "W", "pool_width"))
    return COUNTED_TO_THE_EDGE.format(down=down, index=index, size=size, line=line,
                                      count=-(-x_shape[axis] // stride), name=name, dim=dim,
                                      pool=pool)


def pool_forward_raised(sample: Sample, text: str) -> str:
    """Note [Pooling windows stepped by their size], Note [An argmax unravelled by the pool
    height], Note [Columns counted by the rows], Note [Windows counted to the input's edge]."""
    x, pool_param = sample.args
    sizes = (pool_param["pool_height"], pool_param["pool_width"])
    if "zero-size array" in text and any(size != pool_param["stride"] for size in sizes):
        return POOL_STEPPED_BY_SIZE
    unravelled = _argmax_by_height_raised(x.shape, pool_param, text)
    if unravelled:
        return unravelled
    out_shape = _pool_out_shape(x.shape, *sizes, pool_param["stride"], pool_param["stride"])
    _, _, h_out, w_out = out_shape
    if h_out > w_out and re.search(r"index \d+ is out of bounds for axis 3", text):
        return COLUMNS_BY_ROWS
    return _counted_to_the_edge(x.shape, pool_param, out_shape, text)


POOL_HINTS = {
    "out": "out[n, c, i, j] = max of x[n, c, i*stride:i*stride+pool_height, "
           "j*stride:j*stride+pool_width]",
    "dx": "each dout[n, c, i, j] goes to the position of its window's maximum only, added (+=) "
          "so that overlapping windows accumulate",
}


def pool_checks() -> list[Check]:
    checks = []
    for samples, hidden in ((pool_samples(), False), (pool_hidden_samples(), True)):
        checks.append(forward_entry(
            "max_pool_forward_naive", "layers", samples, pool_forward_reference,
            arg_names=POOL_ARGS, hint=POOL_HINTS["out"], known=pool_forward_known,
            wrong_shapes=pool_forward_shapes, hidden=hidden, raised=pool_forward_raised))
        checks.append(backward_entry(
            "max_pool_forward_naive", "max_pool_backward_naive", "layers", samples,
            pool_forward_reference, pool_backward_reference, grad="dx", grad_index=0,
            wrt=0, arg_names=POOL_ARGS, hint=POOL_HINTS["dx"], known=pool_backward_known,
            hidden=hidden, single_grad=True, forward_raised=pool_forward_raised))
    return checks


# ===========================================================================
# Convolutional sandwich layers (layer_utils)
# ===========================================================================

POOL_2X2 = {"pool_height": 2, "pool_width": 2, "stride": 2}


def conv_relu_samples() -> list[Sample]:
    r = _rng(30)
    return [
        _conv_sample("x (2,3,6,6), w (4,3,3,3), stride 1, pad 1", r, (2, 3, 6, 6), (4, 3, 3, 3), 1, 1),
        _conv_sample("N=1, x (1,2,7,5), w (3,2,3,3), stride 2, pad 1", r, (1, 2, 7, 5), (3, 2, 3, 3), 2, 1),
    ]


def conv_relu_pool_samples() -> list[Sample]:
    r = _rng(31)
    samples = [("x (2,3,8,8), w (3,3,3,3), stride 1, pad 1, 2x2 pool stride 2", (2, 3, 8, 8),
                (3, 3, 3, 3), {"stride": 1, "pad": 1}, dict(POOL_2X2)),
               ("N=1, x (1,2,6,11), w (2,2,3,3), stride 1, pad 0, 2x3 pool stride 2", (1, 2, 6, 11),
                (2, 2, 3, 3), {"stride": 1, "pad": 0},
                {"pool_height": 2, "pool_width": 3, "stride": 2})]
    return [Sample(name, (r.standard_normal(xs), r.standard_normal(ws), r.standard_normal(ws[0]),
                          conv_param, pool_param))
            for name, xs, ws, conv_param, pool_param in samples]


def _conv_backward_without_relu(x, w, b, conv_param, dout) -> tuple:
    return ref.conv_backward_naive(dout, (x, w, b, conv_param))


def _conv_relu_pool_backward_without_relu(x, w, b, conv_param, pool_param, dout) -> tuple:
    a = _conv_out(x, w, b, conv_param)
    da = ref.max_pool_backward_naive(dout, (np.maximum(a, 0), pool_param))
    return ref.conv_backward_naive(da, (x, w, b, conv_param))


def conv_relu_known(sample: Sample) -> list[Known]:
    return [Known("the ReLU is missing: the output is the convolution itself",
                  lambda s: _conv_out(*s.args))]


def conv_relu_pool_known(sample: Sample) -> list[Known]:
    return [Known("the ReLU is missing: the map is pooled straight after the convolution",
                  lambda s: ref.max_pool_forward_naive(_conv_out(*s.args[:4]), s.args[4])[0])]


def relu_skipped(without_relu: Callable, index: int, hint: str) -> Callable[[Sample], list[Known]]:
    """Known: gradient `index` of a backward pass that leaves out the ReLU's backward."""
    return lambda sample: [Known(hint, lambda s, dout: without_relu(*s.args, dout)[index])]


SANDWICH_GRADS = ("dx", "dw", "db")
SANDWICH_HINTS = {
    "conv_relu_forward": "conv_forward_fast, then relu_forward; cache both caches",
    "conv_relu_backward": "relu_backward first, then conv_backward_fast, with the caches of "
                          "the forward pass",
    "conv_relu_pool_forward": "conv_forward_fast, relu_forward, max_pool_forward_fast, in that order",
    "conv_relu_pool_backward": "the forward steps in reverse: max_pool_backward_fast, "
                               "relu_backward, conv_backward_fast",
}


def sandwich_checks() -> list[Check]:
    pool_args = CONV_ARGS + ("pool_param",)
    relu_samples, relu_pool_samples = conv_relu_samples(), conv_relu_pool_samples()  # read only
    checks = [forward_entry("conv_relu_forward", "layer_utils", relu_samples,
                            ref_utils.conv_relu_forward, arg_names=CONV_ARGS,
                            hint=SANDWICH_HINTS["conv_relu_forward"], known=conv_relu_known)]
    checks += [backward_entry(
        "conv_relu_forward", "conv_relu_backward", "layer_utils", relu_samples,
        ref_utils.conv_relu_forward, ref_utils.conv_relu_backward, grad=grad, grad_index=index,
        wrt=index, arg_names=CONV_ARGS, hint=SANDWICH_HINTS["conv_relu_backward"],
        known=relu_skipped(_conv_backward_without_relu, index,
                           "the ReLU's backward pass is skipped: dout goes straight into the "
                           "convolution's backward"))
        for index, grad in enumerate(SANDWICH_GRADS)]
    checks.append(forward_entry("conv_relu_pool_forward", "layer_utils", relu_pool_samples,
                                ref_utils.conv_relu_pool_forward, arg_names=pool_args,
                                hint=SANDWICH_HINTS["conv_relu_pool_forward"],
                                known=conv_relu_pool_known))
    checks += [backward_entry(
        "conv_relu_pool_forward", "conv_relu_pool_backward", "layer_utils",
        relu_pool_samples, ref_utils.conv_relu_pool_forward,
        ref_utils.conv_relu_pool_backward, grad=grad, grad_index=index, wrt=index,
        arg_names=pool_args, hint=SANDWICH_HINTS["conv_relu_pool_backward"],
        known=relu_skipped(_conv_relu_pool_backward_without_relu, index,
                           "the ReLU's backward pass is skipped between pooling and convolution"))
        for index, grad in enumerate(SANDWICH_GRADS)]
    return checks


# ===========================================================================
# Spatial batch normalisation
# ===========================================================================

BN_ARGS = ("x", "gamma", "beta", "bn_param")


def _bn_sample(name: str, r: np.random.Generator, shape: tuple, bn_param: dict,
               scale: float = 4.0) -> Sample:
    c = shape[1]
    return Sample(name, (scale * r.standard_normal(shape) + 10, r.standard_normal(c),
                         r.standard_normal(c), bn_param))


def spatial_bn_train_samples() -> list[Sample]:
    r = _rng(40)
    return [
        _bn_sample("x (2,3,4,5), train", r, (2, 3, 4, 5), {"mode": "train"}),
        _bn_sample("N=1, x (1,4,3,3), train, eps 1e-3", r, (1, 4, 3, 3), {"mode": "train", "eps": 1e-3}),
        _bn_sample("x (3,2,5,3), train", r, (3, 2, 5, 3), {"mode": "train"}),
    ]


def spatial_bn_hidden_samples() -> list[Sample]:
    r = _rng(41)
    return [_bn_sample("x (4,5,3,2), train", r, (4, 5, 3, 2), {"mode": "train"}),
            _bn_sample("x (2,1,6,5), one channel, train", r, (2, 1, 6, 5), {"mode": "train"})]


# Note [A running variance far from eps]
# A running_var that averages var + eps instead of var (std**2 with std = sqrt(var + eps),
# in a real hand-in's batchnorm_forward; batchnorm's Note [eps in the running variance]) is
# off by (1 - momentum) * eps: 1e-6 after one pass from zeros at momentum 0.9.  The course's
# docstring gives running_var = momentum * running_var + (1 - momentum) * sample_var, and
# batchnorm's running-averages check fails the slip every time; the notebook's own test
# (test-mode means and stds after 50 warm-up passes, printed to two decimals) cannot see it,
# nor most slips these checks catch.  With x = 4 N(0, 1) + 10 the channels' variance is near
# 16, where 1e-6 is about rtol * 0.1 * var: a draw with a channel variance under 10 failed
# the slip, others passed it (17 of 20 secrets did).  The running-statistics samples use
# x = 0.5 N(0, 1) + 10 (variance near 0.25; in the first sample the slip is 40 times the
# tolerance on every channel, whatever the draw), so the verdict is batchnorm's for every
# secret, and `_running_known` names the slip.

def spatial_bn_running_samples() -> list[Sample]:
    r = _rng(42)
    # Note [A running variance far from eps]: scale 0.5
    return [
        _bn_sample("x (2,3,4,5), running stats start empty", r, (2, 3, 4, 5), {"mode": "train"},
                   scale=0.5),
        _bn_sample("x (3,2,3,4), momentum 0.8, running stats given", r, (3, 2, 3, 4),
                   {"mode": "train", "momentum": 0.8, "running_mean": r.standard_normal(2),
                    "running_var": r.uniform(0.5, 2.0, 2)}, scale=0.5),
    ]


def spatial_bn_test_samples() -> list[Sample]:
    r = _rng(43)
    return [
        _bn_sample("x (2,3,4,5), test mode", r, (2, 3, 4, 5),
                   {"mode": "test", "running_mean": 10 + r.standard_normal(3),
                    "running_var": r.uniform(8.0, 24.0, 3)}),
        _bn_sample("N=1, x (1,2,3,3), test mode, eps 1e-3", r, (1, 2, 3, 3),
                   {"mode": "test", "eps": 1e-3, "running_mean": 10 + r.standard_normal(2),
                    "running_var": r.uniform(8.0, 24.0, 2)}),
    ]


def _rows_without_transpose(x: np.ndarray) -> np.ndarray:
    return x.reshape(-1, x.shape[1])


def _rows(x: np.ndarray) -> np.ndarray:
    return x.transpose(0, 2, 3, 1).reshape(-1, x.shape[1])


def _train_param(bn_param: dict) -> dict:
    return {"mode": "train", **({"eps": bn_param["eps"]} if "eps" in bn_param else {})}


def _instance_norm(x, gamma, beta, eps) -> np.ndarray:
    mean = x.mean(axis=(2, 3), keepdims=True)
    var = x.var(axis=(2, 3), keepdims=True)
    return gamma.reshape(1, -1, 1, 1) * (x - mean) / np.sqrt(var + eps) + beta.reshape(1, -1, 1, 1)


# Note [Each pixel normalized over the batch alone]
# A real cs231n hand-in called batchnorm_forward on x.reshape(N, C * H * W) with gamma and beta
# repeated H * W times, and a real 2017 one on each channel's x[:, c].reshape(N, H * W): every
# (channel, pixel) is a feature of its own, normalized over the N images only, where spatial
# batchnorm pools each channel's statistics over N, H and W.  The check said only "out: 120
# of 120 entries differ".  That output (the same for both spellings) is a Known.

def _per_pixel_batchnorm(x, gamma, beta, param) -> np.ndarray:
    """Note [Each pixel normalized over the batch alone]."""
    n, c, h, w = x.shape
    return ref.batchnorm_forward(x.reshape(n, -1), np.repeat(gamma, h * w), np.repeat(beta, h * w),
                                 dict(param))[0].reshape(x.shape)


def spatial_bn_forward_known(sample: Sample) -> list[Known]:
    x, gamma, beta, bn_param = sample.args
    param = _train_param(bn_param)
    eps = bn_param.get("eps", 1e-5)
    return [
        Known("x was reshaped to (N*H*W, C) without moving the channels last first: "
              "transpose to (N, H, W, C) before reshaping (and back afterwards)",
              lambda s: ref.batchnorm_forward(_rows_without_transpose(x), gamma, beta,
                                              dict(param))[0].reshape(x.shape)),
        Known("the rows were built correctly, but the result was reshaped to (N, C, H, W) "
              "without transposing the channels back",
              lambda s: ref.batchnorm_forward(_rows(x), gamma, beta, dict(param))[0].reshape(x.shape)),
        Known("the statistics are per image and channel (over H and W only); spatial batchnorm "
              "averages over N, H and W for each channel",
              lambda s: _instance_norm(x, gamma, beta, eps)),
        Known("each channel and pixel is normalized over the batch alone (batchnorm_forward on "
              "x reshaped to (N, C*H*W), or a channel's x[:, c] to (N, H*W), averages over N "
              "only): spatial batchnorm takes each channel's statistics over N, H and W "
              "together: move channels last, reshape to (N*H*W, C)",
              # Note [Each pixel normalized over the batch alone]
              lambda s: _per_pixel_batchnorm(x, gamma, beta, param)),
        # a real 2017 package wrote np.sqrt(x_var + 1e-5) whatever bn_param said
        *([Known(f"bn_param['eps'] = {eps:g} is ignored: the output is the one with eps = 1e-5; "
                 f"read eps = bn_param.get('eps', 1e-5)",
                 lambda s: ref.spatial_batchnorm_forward(x, gamma, beta, {"mode": "train"})[0])]
          if eps != 1e-5 else []),
    ]


def _test_mode_on_rows(x, gamma, beta, bn_param) -> np.ndarray:
    """Test-mode batchnorm applied to x reshaped to (N*H*W, C) without a transpose."""
    rows = _rows_without_transpose(x)
    eps = bn_param.get("eps", 1e-5)
    normalised = (rows - bn_param["running_mean"]) / np.sqrt(bn_param["running_var"] + eps)
    return (gamma * normalised + beta).reshape(x.shape)


def spatial_bn_test_known(sample: Sample) -> list[Known]:
    x, gamma, beta, bn_param = sample.args
    return [Known("x was reshaped to (N*H*W, C) without moving the channels last first: "
                  "transpose to (N, H, W, C) before reshaping (and back afterwards)",
                  lambda s: _test_mode_on_rows(x, gamma, beta, bn_param)),
            Known("test mode used the batch's own statistics; at test time normalise with "
                  "bn_param['running_mean'] and bn_param['running_var']",
                  lambda s: ref.spatial_batchnorm_forward(x, gamma, beta,
                                                          _train_param(bn_param))[0]),
            # a real 2017 package's batchnorm_forward (batchnorm's own test-mode check names it)
            Known("test mode adds eps outside the square root: normalise with "
                  "sqrt(running_var + eps), not sqrt(running_var) + eps",
                  lambda s: _test_mode_eps(x, gamma, beta, bn_param, outside=True)),
            Known("test mode leaves eps out: normalise with sqrt(running_var + eps)",
                  lambda s: _test_mode_eps(x, gamma, beta, bn_param, outside=False)),
            # Note [beta subtracted at test time] in assignments/batchnorm/checks.py: a real
            # 2020 hand-in's batchnorm_forward, two slips in one line
            *(Known(f"test mode subtracts beta: out = gamma * x_hat + beta, not - beta{slip}",
                    lambda s, eps_at=eps_at: _test_mode_eps(x, gamma, beta, bn_param,
                                                            outside=eps_at, beta_sign=-1))
              for eps_at, slip in ((None, ""),
                                   (True, "; and eps is added outside the square root: "
                                          "sqrt(running_var + eps), not sqrt(running_var) + eps"),
                                   (False, "; and eps is left out: sqrt(running_var + eps)")))]


def _test_mode_eps(x, gamma, beta, bn_param, outside: bool | None,
                   beta_sign: int = 1) -> np.ndarray:
    """Test-mode spatial batchnorm with eps outside the square root, with none, or (outside
    None) where it belongs; beta_sign -1 subtracts beta."""
    eps = bn_param.get("eps", 1e-5)
    shape = (1, -1, 1, 1)
    var = np.asarray(bn_param["running_var"]).reshape(shape)
    scale = {True: np.sqrt(var) + eps, False: np.sqrt(var), None: np.sqrt(var + eps)}[outside]
    centred = x - np.asarray(bn_param["running_mean"]).reshape(shape)
    return gamma.reshape(shape) * centred / scale + beta_sign * beta.reshape(shape)


def spatial_bn_backward_known(grad: str) -> Callable[[Sample], list[Known]]:
    def known(sample: Sample) -> list[Known]:
        if grad != "dx":
            return []
        x, gamma, beta, bn_param = sample.args

        def rows_dx(dout_rows):
            _, cache = ref.batchnorm_forward(_rows(x), gamma, beta, _train_param(bn_param))
            return ref.batchnorm_backward_alt(dout_rows, cache)[0]

        return [Known("dout was reshaped to (N*H*W, C) without moving the channels last "
                      "(transpose to (N, H, W, C) first, and transpose dx back)",
                      lambda s, dout: rows_dx(_rows_without_transpose(dout)).reshape(x.shape)),
                Known("dx was reshaped back to (N, C, H, W) without transposing the channels "
                      "back: reshape to (N, H, W, C), then transpose(0, 3, 1, 2)",
                      lambda s, dout: rows_dx(_rows(dout)).reshape(x.shape))]
    return known


def spatial_bn_param_shapes(sample: Sample) -> list[tuple[tuple, str]]:
    c = sample.args[0].shape[1]  # (1, C, 1, 1) passes: Note [Singleton axes] in compare.py
    return [((sample.args[0].shape[0], c), "the gradient is summed over H and W only: sum over N too")]


def _running_stats_expected(sample: Sample) -> dict:
    bn_param = copy.deepcopy(sample.args[3])
    ref.spatial_batchnorm_forward(*copy.deepcopy(sample.args[:3]), bn_param)
    return bn_param


def _running_known(sample: Sample, key: str) -> list[Signature]:
    x, _, _, bn_param = sample.args
    momentum = bn_param.get("momentum", 0.9)
    c = x.shape[1]
    old = np.asarray(bn_param.get(f"running_{key}", np.zeros(c)))
    axes = (0, 2, 3)
    batch = x.mean(axis=axes) if key == "mean" else x.var(axis=axes)
    m = x.size // c
    unbiased = x.var(axis=axes) * m / max(m - 1, 1)
    rows = _rows_without_transpose(x)
    wrong_rows = rows.mean(axis=0) if key == "mean" else rows.var(axis=0)
    hints = [Signature(_matches_value(momentum * old + (1 - momentum) * wrong_rows),
                       "the statistics come from x reshaped to (N*H*W, C) without moving the "
                       "channels last: transpose to (N, H, W, C) first"),
             Signature(_matches_value((1 - momentum) * old + momentum * batch),
                       "momentum is applied the wrong way round: running = momentum * running "
                       "+ (1 - momentum) * batch_statistic")]
    if key == "var":
        hints.append(Signature(_matches_value(momentum * old + (1 - momentum) * unbiased),
                               "the running variance uses the unbiased batch variance (divided by "
                               "m - 1); the course uses the biased one, as in the forward pass"))
        eps = bn_param.get("eps", 1e-5)  # Note [A running variance far from eps]
        hints.append(Signature(_matches_value(momentum * old + (1 - momentum) * (batch + eps)),
                               "running_var averages var + eps (std**2 with std = sqrt(var + eps)); "
                               "eps belongs only in the normalization's denominator: average the "
                               "batch variance itself"))
    return hints


def _matches_value(value: np.ndarray) -> Callable[[np.ndarray, np.ndarray], bool]:
    def matches(actual: np.ndarray, expected: np.ndarray) -> bool:
        return (actual.shape == value.shape
                and bool(np.allclose(actual, value, rtol=MATCH.rtol, atol=MATCH.atol)))
    return matches


def running_stats_check() -> Check:
    """bn_param['running_mean'] / ['running_var'] after one training-mode call."""
    samples = spatial_bn_running_samples()
    hint = ("in train mode, update bn_param['running_mean'] and bn_param['running_var'] with "
            "running = momentum * running + (1 - momentum) * batch statistic (per channel, shape (C,))")

    def run(student: Student) -> None:
        __tracebackhide__ = True
        for sample in samples:
            expected = _running_stats_expected(sample)
            result = _student_call(student, "layers", "spatial_batchnorm_forward",
                                   *copy.deepcopy(sample.args), return_args=True)
            after = result.args_after[3] if isinstance(result.args_after, list) else {}
            for key in ("mean", "var"):
                name = f"running_{key}"
                if not isinstance(after, dict) or name not in after:
                    # an empty TODO block returns (None, None): say that, not only the missing key
                    unfilled = (" (it returned None: the course's code returns None until its "
                                "TODO block is filled in)"
                                if result.value is None or (isinstance(result.value, (tuple, list))
                                                            and result.value
                                                            and result.value[0] is None) else "")
                    raise CheckFailure(f"[sample {sample.name}] bn_param has no '{name}' after a "
                                       f"training-mode call of spatial_batchnorm_forward"
                                       f"{unfilled}", hint=hint)
                try:
                    compare_arrays(f"bn_param['{name}']", after[name], expected[name],
                                   inputs=dict(zip(BN_ARGS, sample.args)), hint=hint,
                                   signatures=_running_known(sample, key))
                except CheckFailure as failure:
                    raise CheckFailure(f"[sample {sample.name}] {failure.message}", hint=hint,
                                       details=failure.details) from None

    return Check("spatial_batchnorm_forward/running_stats", "spatial_batchnorm_forward",
                 "spatial_batchnorm_forward: running mean and variance updated in bn_param", run, hint)


BN_HINTS = {
    "out": "per channel, statistics over N, H and W: move channels last, reshape to (N*H*W, C), "
           "use batchnorm_forward, reshape and transpose back",
    "test": "test mode normalises with the running mean and variance stored in bn_param",
    "dx": "the same reshapes as the forward pass around batchnorm_backward (dout to (N*H*W, C), dx back)",
    "dgamma": "dgamma = sum of dout * x_hat over N, H and W, shape (C,)",
    "dbeta": "dbeta = sum of dout over N, H and W, shape (C,)",
}


def spatial_bn_checks() -> list[Check]:
    train = spatial_bn_train_samples()  # drawn once, read only
    checks = [
        forward_entry("spatial_batchnorm_forward", "layers", train,
                      ref.spatial_batchnorm_forward, arg_names=BN_ARGS, hint=BN_HINTS["out"],
                      known=spatial_bn_forward_known),
        forward_entry("spatial_batchnorm_forward", "layers", spatial_bn_hidden_samples(),
                      ref.spatial_batchnorm_forward, arg_names=BN_ARGS, hint=BN_HINTS["out"],
                      known=spatial_bn_forward_known, hidden=True),
        running_stats_check(),
    ]
    test_mode = forward_entry("spatial_batchnorm_forward", "layers", spatial_bn_test_samples(),
                              ref.spatial_batchnorm_forward, arg_names=BN_ARGS,
                              hint=BN_HINTS["test"], known=spatial_bn_test_known)
    checks.append(Check("spatial_batchnorm_forward/out_test", test_mode.function,
                        "spatial_batchnorm_forward: test-mode output uses the running statistics",
                        test_mode.run, test_mode.hint))
    for index, grad in enumerate(("dx", "dgamma", "dbeta")):
        checks.append(backward_entry(
            "spatial_batchnorm_forward", "spatial_batchnorm_backward", "layers",
            train, ref.spatial_batchnorm_forward,
            ref.spatial_batchnorm_backward, grad=grad, grad_index=index, wrt=index,
            arg_names=BN_ARGS, hint=BN_HINTS[grad], known=spatial_bn_backward_known(grad),
            wrong_shapes=None if grad == "dx" else spatial_bn_param_shapes))
    return checks


# ===========================================================================
# Spatial group normalisation
# ===========================================================================

# Note [Group norm parameter shape]
# The course's notebook passes gamma and beta to spatial_groupnorm_forward as
# (1, C, 1, 1) arrays and expects dgamma and dbeta back in that shape; some
# course years use (C,) instead.  The manifest's convention
# `groupnorm_param_shape` ("(1, C, 1, 1)" or "(C,)", overridable per run with
# --convention) says which; samples are built in that shape and the reference
# (written for (1, C, 1, 1)) is wrapped to take and return it.  The entries are
# built per convention when a check first runs (`by_convention`).

GN_ARGS = ("x", "gamma", "beta", "G", "gn_param")
GN_SHAPES = {"1,C,1,1": (1, -1, 1, 1), "C": (-1,)}
GN_DEFAULT = "1,C,1,1"


def groupnorm_param_shape(conventions: dict) -> str:
    """The convention's key in GN_SHAPES; see Note [Group norm parameter shape]."""
    raw = str(conventions.get("groupnorm_param_shape", GN_DEFAULT))
    key = raw.replace(" ", "").strip("()").rstrip(",")
    if key not in GN_SHAPES:
        raise ValueError(f"convention groupnorm_param_shape={raw!r}: expected '(1, C, 1, 1)' or '(C,)'")
    return key


def _gn_sample(name: str, r: np.random.Generator, shape: tuple, G: int, gn_param: dict,
               convention: str) -> Sample:
    c = shape[1]
    gamma, beta = r.standard_normal(c), r.standard_normal(c)
    target = GN_SHAPES[convention]
    return Sample(name, (5 * r.standard_normal(shape) + 12, gamma.reshape(target),
                         beta.reshape(target), G, gn_param))


def groupnorm_samples(convention: str) -> list[Sample]:
    r = _rng(50)
    return [
        _gn_sample("x (2,6,4,5), G=2", r, (2, 6, 4, 5), 2, {}, convention),
        _gn_sample("N=1, x (1,4,3,3), G=2", r, (1, 4, 3, 3), 2, {}, convention),
        _gn_sample("x (3,6,2,3), G=3, eps 1e-3", r, (3, 6, 2, 3), 3, {"eps": 1e-3}, convention),
    ]


def groupnorm_hidden_samples(convention: str) -> list[Sample]:
    r = _rng(51)
    return [
        _gn_sample("x (2,8,3,3), G=4", r, (2, 8, 3, 3), 4, {}, convention),
        _gn_sample("x (2,6,5,3), G=3", r, (2, 6, 5, 3), 3, {"mode": "train"}, convention),
    ]


def groupnorm_reference(convention: str) -> tuple[Callable, Callable]:
    """Reference forward and backward taking and returning gamma-shaped parameters."""
    if convention == GN_DEFAULT:
        return ref.spatial_groupnorm_forward, ref.spatial_groupnorm_backward

    def forward(x, gamma, beta, G, gn_param):
        return ref.spatial_groupnorm_forward(x, gamma.reshape(1, -1, 1, 1), beta.reshape(1, -1, 1, 1),
                                             G, gn_param)

    def backward(dout, cache):
        dx, dgamma, dbeta = ref.spatial_groupnorm_backward(dout, cache)
        return dx, dgamma.reshape(-1), dbeta.reshape(-1)

    return forward, backward


def _normalise_groups(x, gamma, beta, eps, grouped: np.ndarray, axis) -> np.ndarray:
    """gamma * x_hat + beta, x_hat standardised with statistics of `grouped` (a reshape of x) over `axis`."""
    mean = grouped.mean(axis=axis, keepdims=True)
    std = np.sqrt(grouped.var(axis=axis, keepdims=True) + eps)
    x_hat = ((grouped - mean) / std).reshape(x.shape)
    return gamma.reshape(1, -1, 1, 1) * x_hat + beta.reshape(1, -1, 1, 1)


def _strided_groups(x, gamma, beta, G, eps) -> np.ndarray:
    """Channel c in group c % G (reshape to (N, C // G, G, H, W) and normalise over axes 1, 3, 4)."""
    n, c, h, w = x.shape
    grouped = x.reshape(n, c // G, G, h, w)
    mean = grouped.mean(axis=(1, 3, 4), keepdims=True)
    std = np.sqrt(grouped.var(axis=(1, 3, 4), keepdims=True) + eps)
    return gamma.reshape(1, -1, 1, 1) * ((grouped - mean) / std).reshape(x.shape) + beta.reshape(1, -1, 1, 1)


def groupnorm_forward_known(sample: Sample) -> list[Known]:
    x, gamma, beta, G, gn_param = sample.args
    eps = gn_param.get("eps", 1e-5)
    n, c, h, w = x.shape
    return [
        Known("the statistics are per channel (over H and W only); group norm averages over the "
              "C // G channels of a group and all their pixels",
              lambda s: _normalise_groups(x, gamma, beta, eps, x, (2, 3))),
        Known("the statistics are over all channels of an image (layer norm); each of the G "
              "groups of C // G consecutive channels has its own mean and variance",
              lambda s: _normalise_groups(x, gamma, beta, eps, x.reshape(n, -1), 1)),
        Known("the groups mix images: reshape to (N, G, -1) (or (N*G, -1)), not (G, -1)",
              lambda s: _normalise_groups(x, gamma, beta, eps, x.reshape(G, -1), 1)),
        Known("the groups take every G-th channel; a group is C // G *consecutive* channels "
              "(reshape to (N, G, C // G, H, W))",
              lambda s: _strided_groups(x, gamma, beta, G, eps)),
        # a real 2020 hand-in: layernorm_forward on (N*H*W, C // G) slices of channels-last x
        Known("the statistics are per pixel (over a group's C // G channels at each position); "
              "group norm averages over the group's channels and all of their H x W pixels",
              lambda s: _normalise_groups(x, gamma, beta, eps, x.reshape(n, G, c // G, h, w), 2)),
    ]


# Note [dgamma from the input]
# dgamma = sum of dout * x (the input) instead of dout * x_hat (the normalised input): a real
# 2025 hand-in's group norm, which got only numbers.  batchnorm names the same slip
# (DGAMMA_USES_X in assignments/batchnorm/checks.py); here it is a Known of the dgamma check.
DGAMMA_FROM_X = ("dgamma sums dout * x, the input; it is the sum of dout * x_hat, the "
                 "normalised input, over N, H and W")


def groupnorm_backward_known(grad: str, convention: str) -> Callable[[Sample], list[Known]]:
    forward, _ = groupnorm_reference(convention)

    def known(sample: Sample) -> list[Known]:
        if grad == "dgamma":  # Note [dgamma from the input]
            x, gamma = sample.args[:2]
            return [Known(DGAMMA_FROM_X, lambda s, dout: (dout * x).sum(axis=(0, 2, 3))
                          .reshape(np.shape(gamma)))]
        if grad != "dx":
            return []
        x, gamma, beta, G, gn_param = sample.args

        def without_mean_terms(s, dout):
            _, (_, _, inv_std, _) = forward(x, gamma, beta, G, dict(gn_param))
            g = (dout * gamma.reshape(1, -1, 1, 1)).reshape(x.shape[0], G, -1)
            return (g * inv_std).reshape(x.shape)

        return [Known("dx = dout * gamma / std only: the gradient through the group mean and "
                      "variance is missing", without_mean_terms)]
    return known


def groupnorm_param_shapes(convention: str) -> Callable[[Sample], list]:
    """Wrong shapes of dgamma and dbeta that known bugs produce.  The other convention's
    shape ((C,) for (1, C, 1, 1)) passes with a note (Note [Singleton axes] in compare.py)."""
    def shapes(sample: Sample) -> list[tuple[tuple, str]]:
        n, c = sample.args[0].shape[:2]
        return [(shape, "the gradient is summed over H and W only: sum over N too")
                for shape in ((n, c, 1, 1), (n, c))]
    return shapes


GN_HINTS = {
    "out": "reshape x to (N, G, C // G * H * W), normalise each group over its last axis, "
           "reshape back, then gamma * x_hat + beta",
    "dx": "the batchnorm-style backward formula applied within each (image, group), over its "
          "C // G * H * W entries",
    "dgamma": "dgamma = sum of dout * x_hat over N, H and W, in gamma's shape",
    "dbeta": "dbeta = sum of dout over N, H and W, in beta's shape",
}


def by_convention(build: Callable[[str], Check]) -> Check:
    """A check built for the submission's convention when it runs; Note [Group norm parameter shape]."""
    built = {GN_DEFAULT: build(GN_DEFAULT)}
    template = built[GN_DEFAULT]

    def run(student: Student) -> None:
        __tracebackhide__ = True
        key = groupnorm_param_shape(student.conventions)
        if key not in built:
            built[key] = build(key)
        built[key].run(student)

    return Check(template.id, template.function, template.title, run, template.hint, template.hidden)


def groupnorm_checks() -> list[Check]:
    drawn: dict[str, list[Sample]] = {}

    def public(convention: str) -> list[Sample]:
        """The public samples in `convention`, drawn once and shared (read only)."""
        if convention not in drawn:
            drawn[convention] = groupnorm_samples(convention)
        return drawn[convention]

    def forward(samples: Callable[[str], list[Sample]], hidden: bool) -> Check:
        return by_convention(lambda conv: forward_entry(
            "spatial_groupnorm_forward", "layers", samples(conv), groupnorm_reference(conv)[0],
            arg_names=GN_ARGS, hint=GN_HINTS["out"], known=groupnorm_forward_known, hidden=hidden))

    def backward(grad: str, index: int) -> Check:
        return by_convention(lambda conv: backward_entry(
            "spatial_groupnorm_forward", "spatial_groupnorm_backward", "layers",
            public(conv), *groupnorm_reference(conv), grad=grad, grad_index=index,
            wrt=index, arg_names=GN_ARGS, hint=GN_HINTS[grad],
            known=groupnorm_backward_known(grad, conv),
            wrong_shapes=None if grad == "dx" else groupnorm_param_shapes(conv)))

    return [forward(public, False), forward(groupnorm_hidden_samples, True),
            *[backward(grad, index) for index, grad in enumerate(("dx", "dgamma", "dbeta"))]]


# ===========================================================================
# ThreeLayerConvNet
# ===========================================================================

# Note [Judging the model]
# ~~~~~~~~~~~~~~~~~~~~~~~~
# * Exact checks (scores, loss, each gradient) construct the student's model,
#   overwrite every parameter with seeded arrays (nonzero biases included) and
#   compare with the reference model holding the same arrays.  The model is
#   built with dtype=np.float64: the grader hands the worker's own np.float64
#   (a handle, Note [Worker objects]) so `astype(dtype)` and `dtype == ...`
#   behave as in the notebook.
# * Statistical checks use the student's own initialisation, after seeding the
#   worker's global generator (np.random.seed, as the notebook does), so a
#   submission always gets the same verdict.  Their tolerances are derived in
#   `check_params` and `check_initial_loss`.
# * The L2 penalty is c * reg * (|W1|^2 + |W2|^2 + |W3|^2) with c = 0.5 in the
#   course (the notebook's published initial losses, 2.3026 -> 2.5083 at
#   reg 0.5 with the default sizes, are that); the manifest's convention
#   `l2_scale` holds c.  The reference uses 0.5, so it runs with reg * 2c.
# * Overfitting is trained by the judge (Note [Judge holds the state] in
#   grader/checks/trust.py): it holds the parameters, installs them in the
#   student's model, asks only for loss and gradients (each verified against
#   the reference at those parameters), applies SGD itself and scores the
#   result with the reference network.  The parameters start from seeded
#   arrays, so a correct model follows the reference's trajectory up to rounding.

@dataclass(frozen=True)
class NetSpec:
    """Constructor arguments of one ThreeLayerConvNet."""
    input_dim: tuple[int, int, int]
    num_filters: int
    filter_size: int
    hidden_dim: int
    num_classes: int

    def kwargs(self) -> dict:
        return {"input_dim": self.input_dim, "num_filters": self.num_filters,
                "filter_size": self.filter_size, "hidden_dim": self.hidden_dim,
                "num_classes": self.num_classes}

    def describe(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.kwargs().items())

    def pooled(self) -> tuple[int, int, int]:
        """(F, H', W') of the pooled map: conv keeps H x W (pad (k-1)//2), the 2x2 pool halves
        it (floor)."""
        _, h, w = self.input_dim
        k = self.filter_size
        return (self.num_filters,
                *[(size + 2 * ((k - 1) // 2) - k + 1 - 2) // 2 + 1 for size in (h, w)])

    def shapes(self) -> dict[str, tuple]:
        """Parameter shapes (the course's): W2 takes the pooled map flattened."""
        c, k, (f, ph, pw) = self.input_dim[0], self.filter_size, self.pooled()
        return {"W1": (f, c, k, k), "b1": (f,), "W2": (f * ph * pw, self.hidden_dim),
                "b2": (self.hidden_dim,), "W3": (self.hidden_dim, self.num_classes),
                "b3": (self.num_classes,)}

    def unflattened_w2(self) -> tuple[int, int, int, int]:
        """W2 with the pooled map's axes kept: Note [W2 over the pooled map's axes]."""
        return (*self.pooled(), self.hidden_dim)


WEIGHTS = ("W1", "W2", "W3")
MODEL_SPEC = NetSpec((3, 8, 8), num_filters=4, filter_size=3, hidden_dim=10, num_classes=6)
HIDDEN_SPEC = NetSpec((2, 8, 6), num_filters=3, filter_size=5, hidden_dim=6, num_classes=4)
INIT_SPEC = NetSpec((3, 10, 10), num_filters=8, filter_size=5, hidden_dim=50, num_classes=10)
OVERFIT_SPEC = NetSpec((1, 8, 8), num_filters=8, filter_size=3, hidden_dim=50, num_classes=5)
GRAD_REG = 0.3


def seeded_params(spec: NetSpec, seed: int, weight_scale: float) -> dict[str, np.ndarray]:
    r = _rng(seed)
    return {name: (weight_scale if name.startswith("W") else 0.1) * r.standard_normal(shape)
            for name, shape in spec.shapes().items()}


def model_data(spec: NetSpec, seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    r = _rng(seed)
    return r.standard_normal((n, *spec.input_dim)), r.integers(spec.num_classes, size=n)


def l2_scale(conventions: dict) -> float:
    """c in the penalty c * reg * sum |W|^2; see Note [Judging the model]."""
    return float(conventions.get("l2_scale", 0.5))


# Note [One reference net per shape]
# The overfit check alone asks the reference model 61 times (a loss and gradients per SGD
# step, the training accuracy per epoch), and building a ReferenceConvNet draws its own
# initial weights (and saves and restores the judge's np.random around them) only for
# them to be overwritten: 0.2 ms a build, a seventh of the check.  The judge builds one
# net per shape and regularization, once per process, and hands out shallow copies of it
# (its settings are numbers and a dtype), each given copies of the question's parameters:
# `loss` reads self.params and changes nothing, so the answer is the one a fresh net would
# give, and no two callers share a net.  (Not in a release's replay, where each check asks
# the reference its own questions: Note [Reference answers kept].)
_REFERENCE_NETS: dict[tuple, ReferenceConvNet] = {}


def reference_net(spec: NetSpec, params: dict, reg: float, scale: float = 0.5) -> ReferenceConvNet:
    """The reference model holding copies of `params`; the judge's np.random is left as it
    was (Note [One reference net per shape])."""
    key = (spec, reg * 2 * scale)
    built = _REFERENCE_NETS.get(key)
    if built is None:
        state = np.random.get_state()
        try:
            built = ReferenceConvNet(**spec.kwargs(), reg=key[1], dtype=np.float64)
        finally:
            np.random.set_state(state)
        if not is_reference(ReferenceConvNet):  # a release's replay: each check builds its own
            built.params = {name: value.copy() for name, value in params.items()}
            return built
        _REFERENCE_NETS[key] = built
    net = copy.copy(built)
    net.params = {name: value.copy() for name, value in params.items()}
    return net


def _worker_float64(student: Student) -> Ref:
    """np.float64 as the worker knows it, made once per worker process (Note [Worker
    constants] in grader/checks/student.py); see Note [Judging the model]."""
    return student.constant("numpy", "dtype", "float64").attr("type")


def _seed_worker(student: Student, seed: int) -> None:
    student.worker.call("numpy.random", "seed", seed)


NET_WEIGHT_SCALE = 1e-3  # the weight_scale the checks build ThreeLayerConvNet with


def student_net(student: Student, spec: NetSpec, *, weight_scale: float = NET_WEIGHT_SCALE,
                reg: float = 0.0) -> RemoteObject:
    try:
        # model.params read in the construction's own request (Note [Reads folded into a
        # call] in grader/worker/client.py): every caller reads it next (`student_params`).
        return student.new("cnn", "ThreeLayerConvNet", **spec.kwargs(), weight_scale=weight_scale,
                           reg=reg, dtype=_worker_float64(student), reads=(("params",),))
    except StudentError as error:
        raise _net_failure(spec, weight_scale, reg, error) from None


def _net_failure(spec: NetSpec, weight_scale: float, reg: float, error: StudentError) -> CheckFailure:
    """What `student_net` raises for the constructor's exception."""
    return constructor_failure("ThreeLayerConvNet", f"{spec.describe()}, weight_scale="
                               f"{weight_scale}, reg={reg}, dtype=np.float64", error)


# Note [A hint for parameters not found]
# Every model check but ThreeLayerConvNet/params (whose hint is about shapes) has no hint of
# its own, so the five that fail on "model.params has no W1, ..." (eight real hand-ins, most of
# them the starter's __init__ left unfilled, params empty) showed an empty hint.  The failure
# carries one: where the parameters go, under which names, and what this model's params holds.
def missing_params_hint(params: dict) -> str:
    """Note [A hint for parameters not found]."""
    holds = (f"this model's params holds {', '.join(map(str, list(params)[:8]))}"
             + (", ..." if len(params) > 8 else "") if params
             else "this model's params is empty: is __init__'s TODO block filled in?")
    return ("ThreeLayerConvNet.__init__ stores every parameter in self.params: 'W1', 'b1' the "
            "conv layer's filters and biases, 'W2', 'b2' the hidden affine layer's, 'W3', 'b3' "
            "the output layer's, weights drawn with standard deviation weight_scale and biases "
            f"zero; {holds}")


def student_params(model: RemoteObject, spec: NetSpec, *,
                   own_shapes: bool = False) -> dict[str, np.ndarray]:
    """The model's params, checked for names and shapes, in the course's shapes (or, with
    `own_shapes`, the student's own: a (1, H) bias passes with a note, Note [Singleton
    axes] in grader/checks/compare.py).  Read with the model (`student_net`), as a `get` right
    after it would have read it."""
    return checked_params(model.initial("params"), spec, own_shapes=own_shapes)


def checked_params(params, spec: NetSpec, *, own_shapes: bool = False) -> dict[str, np.ndarray]:
    """`student_params` on params already read from the model."""
    if not isinstance(params, dict):
        raise CheckFailure(f"model.params is {summarize(params)}, expected a dict of arrays")
    missing = [name for name in spec.shapes() if name not in params]
    if missing:
        raise CheckFailure(f"model.params has no {', '.join(missing)}: the course names the "
                           f"parameters W1, b1 (conv), W2, b2 (hidden affine), W3, b3 (output)",
                           hint=missing_params_hint(params))
    for name, shape in spec.shapes().items():
        value = params[name]
        if not isinstance(value, np.ndarray):
            raise CheckFailure(f"params['{name}'] is {type(value).__name__}, expected an array")
        if name == "W2" and value.shape == spec.unflattened_w2():
            record_note(W2_NOTE.format(shape=value.shape, expected=shape))
            continue  # Note [W2 over the pooled map's axes]
        if not accept_shape(f"params['{name}']", value.shape, shape):
            raise CheckFailure(f"params['{name}'] has shape {value.shape}, expected {shape} for "
                               f"ThreeLayerConvNet({spec.describe()})",
                               hint=PARAM_SHAPE_HINT)
    return params if own_shapes else {name: params[name].reshape(shape)
                                      for name, shape in spec.shapes().items()}


# Note [W2 over the pooled map's axes]
# A real cs231n 2016 hand-in (kingtaurus) keeps W2 as (F, H', W', hidden_dim), the pooled
# map's axes unflattened, and its affine layer reshapes w to (D, M) as it reshapes x.  The
# course names W2 "the weights of the hidden affine layer" and gives no shape for it, so
# that network is right: it computes the course's function, and its Solver updates W2 in
# any shape.  It lost 12.5 of 44.5 points (params and every loss check refused it for
# "params['W2'] has shape (8, 5, 5, 50), expected (200, 50)").  Flattening (F, H', W') in C
# order is what the course's affine_forward does to the pooled map, so the course's (D,
# hidden_dim) W2 and this one are the same numbers in the same order: the judge hands its
# W2 to such a model reshaped to (F, H', W', hidden_dim) (`own_shaped`) and reads the
# model's W2 and grads['W2'] back in the course's shape (`course_grads`), with a note.  Only
# that exact shape is accepted (checked_params); any other shape still fails, and the
# model's numbers are judged as everyone's.
W2_NOTE = ("params['W2']: shape {shape} accepted (the pooled map's axes kept, the hidden "
           "units last); the course's affine layer takes it flattened, {expected}")


def own_shaped(value, shape: tuple):
    """`value` (the judge's, in the course's shape) in the shape the student's model keeps it
    in: axes of length 1 (`in_shape`) or W2's pooled axes unflattened (Note [W2 over the
    pooled map's axes]; checked_params has accepted that shape)."""
    value = in_shape(value, shape)
    if (isinstance(value, np.ndarray) and value.ndim == 2 and len(shape) == 4
            and value.shape[1] == shape[3] and value.size == math.prod(shape)):
        return value.reshape(shape)
    return value


def course_grads(grads: dict, spec: NetSpec) -> dict:
    """`grads` with a grads['W2'] of the unflattened shape read in the course's (Note [W2
    over the pooled map's axes]); every other entry as it is."""
    value = grads.get("W2")
    if isinstance(value, np.ndarray) and value.shape == spec.unflattened_w2():
        return {**grads, "W2": value.reshape(spec.shapes()["W2"])}
    return grads


PARAM_SHAPE_HINT = ("W1 (F, C, filter_size, filter_size); the conv keeps H x W and the 2x2 pool "
                    "halves it, so W2 is (F * (H // 2) * (W // 2), hidden_dim); W3 (hidden_dim, "
                    "num_classes)")


def installing(own: dict[str, np.ndarray], params: dict[str, np.ndarray]) -> tuple:
    """`call_loss`'s `install`: `params`, each in the shape the student's model keeps it in
    (`own`, from `student_params(..., own_shapes=True)`), set in the loss call's request."""
    return ({name: own_shaped(value, own[name].shape) for name, value in params.items()},
            "setting model.params[...]")


def call_loss(model: RemoteObject, X: np.ndarray, y: np.ndarray | None, what: str,
              install: tuple | None = None, answer: Callable | None = None,
              spec: NetSpec | None = None):
    """model.loss(X[, y]); `install`: (values, failure message) to set model.params[name] =
    value for each first, in the same request (Note [Sets folded into a call] in
    grader/worker/client.py), a failing assignment reported with that message.  `answer`:
    returns the CallResult of that very call, already sent (a training step, Note [Training
    in few requests] in grader/checks/student.py).  `spec`: the model's, to read grads['W2']
    in the course's shape (`course_grads`)."""
    args = (X,) if y is None else (X, y)
    try:
        if answer is not None:
            value = answer().value
        elif install is None:
            value = model.call("loss", *args).value
        else:
            value = model.call("loss", *args, set_items=("params", install[0])).value
    except StudentError as error:
        if install is not None and error.index >= 0:
            raise CheckFailure(f"{install[1]} raised {error}") from None
        raise CheckFailure(f"model.loss({what}) raised {error}"
                           + (f"\n{error.traceback}" if error.traceback else "")) from None
    if y is None:
        return value
    if not isinstance(value, (tuple, list)) or len(value) != 2 or not isinstance(value[1], dict):
        raise CheckFailure(f"model.loss(X, y) returned {type(value).__name__}, expected a tuple "
                           f"(loss, grads) with grads a dict keyed like params")
    return value if spec is None else (value[0], course_grads(value[1], spec))


def exact_loss(student: Student, spec: NetSpec, params: dict, reg: float, X: np.ndarray,
               y: np.ndarray | None, what: str):
    """A new model's loss(X[, y]) with every parameter overwritten by `params` (Note [Judging
    the model]); the model built, its params read and the loss asked with the parameters in
    one request (Note [Built and asked in one request] in grader/checks/student.py)."""
    model, answer = student_net_asked(student, spec, reg, params, (X,) if y is None else (X, y))
    own = student_params(model, spec, own_shapes=True)
    return call_loss(model, X, y, what, install=installing(own, params), answer=answer,
                     spec=spec)


def student_net_asked(student: Student, spec: NetSpec, reg: float, params: dict,
                      args: tuple) -> tuple:
    """(`student_net(student, spec, reg=reg)`, the `answer` of its `loss(*args)` with `params`
    installed), both in one request (Note [Built and asked in one request] in
    grader/checks/student.py); the model's failures raised as `student_net` raises them."""
    weight_scale = NET_WEIGHT_SCALE  # as student_net builds it
    model, answer = student.new_and_call(
        "cnn", "ThreeLayerConvNet", (), {**spec.kwargs(), "weight_scale": weight_scale,
                                         "reg": reg, "dtype": _worker_float64(student)},
        (("params",),), "loss", args, ("params", params, "like"))
    try:
        return model(), answer
    except StudentError as error:
        raise _net_failure(spec, weight_scale, reg, error) from None


def check_params(student: Student) -> None:
    """Names and shapes; the dtype asked for; biases zero; weights ~ N(0, weight_scale^2).

    Tolerances: the smallest weight array of INIT_SPEC has n = 500 entries.  For
    n iid N(0, s^2) draws the sample std has relative standard deviation
    1/sqrt(2n) = 0.032 and the mean has standard deviation s/sqrt(n) = 0.045 s,
    so accepting std within 25% of s (7.9 standard deviations) and |mean| <= 0.3 s
    (6.7 standard deviations) fails a correct initialisation with probability
    below 1e-10, while a missing weight_scale (std 1) or a uniform [0, s) draw
    (mean s/2) fails always.
    """
    __tracebackhide__ = True
    scale = 1e-2
    _seed_worker(student, 0)
    params = student_params(student_net(student, INIT_SPEC, weight_scale=scale), INIT_SPEC)
    for name in INIT_SPEC.shapes():  # dtype=np.float64 was passed; the course's default is float32
        if params[name].dtype != np.float64:
            raise CheckFailure(f"params['{name}'] has dtype {params[name].dtype} after "
                               f"ThreeLayerConvNet(..., dtype=np.float64)",
                               hint="cast every parameter to the dtype the constructor was given "
                                    "(for k, v in self.params.items(): self.params[k] = "
                                    "v.astype(dtype))")
    for name in ("b1", "b2", "b3"):
        if np.any(params[name] != 0):
            raise CheckFailure(f"params['{name}'] is not all zeros after __init__",
                               hint="biases start at zero")
    for name in WEIGHTS:
        std, mean = float(np.std(params[name])), float(np.mean(params[name]))
        if not (0.75 * scale <= std <= 1.25 * scale) or abs(mean) > 0.3 * scale:
            raise CheckFailure(
                f"params['{name}'] has mean {mean:.3g} and standard deviation {std:.3g} with "
                f"weight_scale={scale}; expected mean 0 and standard deviation {scale} "
                f"(accepted: |mean| <= {0.3 * scale:g}, std within 25%)",
                hint="weights are weight_scale * np.random.randn(...) (a Gaussian with standard "
                     "deviation weight_scale)")


def check_initial_loss(student: Student) -> None:
    """With its own small initialisation and reg = 0 the loss is about log(C).

    Tolerance: for scores s_i, loss_i = logsumexp(s_i) - s_{i, y_i} lies within
    max_c s_ic - min_c s_ic <= 2 max|s_i| of log C.  So a correct loss is within
    2 max|s| of log C, where s are the scores the reference computes with the
    student's own parameters (about 1e-5 here, weight_scale 1e-3).
    """
    __tracebackhide__ = True
    spec = MODEL_SPEC
    X, y = model_data(spec, 60, 20)
    _seed_worker(student, 1)
    model = student_net(student, spec, weight_scale=1e-3)
    own = student_params(model, spec, own_shapes=True)
    params = {name: np.asarray(own[name].reshape(shape), np.float64)
              for name, shape in spec.shapes().items()}
    scores = reference_net(spec, params, 0.0).loss(X)
    tolerance = 2 * float(np.max(np.abs(scores))) + 1e-12
    # Its own draws, set again: Note [Judge holds the state] in grader/checks/trust.py.
    loss, grads = call_loss(model, X, y, "X, y", install=installing(own, params), spec=spec)
    log_c = math.log(spec.num_classes)
    size = X.shape[0]
    compare_scalar("initial loss", loss, log_c, tolerance=Tolerance(rtol=0.0, atol=tolerance),
                   inputs={"X": X, "y": y},
                   signatures=[Signature(lambda a, e: np.isclose(a, size * log_c, rtol=1e-3),
                                         f"about N * log(C): the loss is summed over the batch "
                                         f"(N = {size}) instead of averaged")],
                   hint=f"with tiny random weights every class scores about the same, so the "
                        f"softmax loss is about log(C) = log({spec.num_classes}) = {log_c:.4f}")
    expected_loss, expected = reference_net(spec, params, 0.0).loss(X, y)
    compare_scalar("initial loss (the reference's at your initial parameters)", loss,
                   expected_loss, inputs={"X": X, "y": y})
    for name in spec.shapes():
        if name not in grads:
            raise CheckFailure(f"grads has no '{name}': return a gradient for every parameter")
        compare_arrays(f"grads['{name}'] at your initial parameters", grads[name], expected[name],
                       inputs={"X": X, "y": y})


def _as_number(value, what: str = "model.loss(X, y)") -> float:
    """A number as a float, accepting what compare_scalar accepts (numbers, size-1 arrays)."""
    if isinstance(value, Converted):
        value = value.value
    if isinstance(value, (int, float, np.ndarray)) and np.size(value) == 1 \
            and np.asarray(value).dtype.kind in "biuf":
        return float(np.asarray(value).reshape(()))
    raise CheckFailure(f"{what} returned {type(value).__name__}, expected a number")


# Note [A penalty split over lines]
# A real 2019 hand-in wrote the penalty over three lines,
#     loss += 0.5 * self.reg * np.sum(W1 ** 2)
#         + 0.5 * self.reg * np.sum(W2 ** 2)
# where each continued line is an expression statement of its own: the loss holds
# W1's term only, with no error.  The regularization check lost its points with
# only the numbers; a penalty that equals the terms of some of W1, W2, W3 is now
# named, with this cause.


def _partial_penalties(squares: dict, factor: float) -> list[Signature]:
    """Signatures of a penalty that holds some of W1, W2, W3 only (Note [A penalty split
    over lines]); `factor` * sum of the squares of the weights kept."""
    found = []
    for size in range(1, len(WEIGHTS)):
        for kept in itertools.combinations(WEIGHTS, size):
            left = [name for name in WEIGHTS if name not in kept]
            found.append(Signature(
                lambda a, e, kept=kept: np.isclose(a, factor * sum(squares[n] for n in kept),
                                                   rtol=1e-6),
                f"the penalty holds {' and '.join(kept)} only, not {' and '.join(left)} (a sum "
                f"continued on a new line that starts with + is a statement of its own and adds "
                f"nothing: put the whole sum in parentheses)"))
    return found


# Note [A weight not squared in the penalty]
# A real cs231n 2021 hand-in wrote its penalty as np.sum(W1 **2) + np.sum(W2 **2) +
# np.sum(W3): W3 itself summed, its square left out.  Its gradient (reg * W3) is right, so
# only the loss's penalty is off, and the regularization check gave the two numbers only.
# A penalty off by exactly one weight's sum(W) for sum(W**2) is named (`_unsquared`).
def _unsquared(params: dict, squares: dict, factor: float) -> list[Signature]:
    """Note [A weight not squared in the penalty]: one signature per weight."""
    return [Signature(
        lambda a, e, name=name: np.isclose(
            a, e + factor * (float(np.sum(params[name])) - squares[name]), rtol=1e-6),
        f"the penalty sums {name} itself, not its squares: sum({name}**2), not sum({name})")
        for name in WEIGHTS]


# Note [A weight named twice in the penalty]
# A real cs231n hand-in wrote `0.5 * reg * (np.sum(W3*W3) + np.sum(W2*W2) + np.sum(W3*W3))`:
# W3 twice, W1 never (its gradients were right).  The check said only "loss(reg=0.5) -
# loss(reg=0): ... got 0.488, expected 0.514".  A penalty with three terms of which one names
# a weight another term already names, leaving a weight out, is now recognised from the
# squares of the judge's own weights and named.

def _misnamed_penalties(squares: dict, factor: float) -> list[Signature]:
    """Signatures of a penalty whose terms name one weight twice and leave one out (Note [A
    weight named twice in the penalty])."""
    found = []
    for twice in WEIGHTS:
        for left in WEIGHTS:
            if left == twice:
                continue
            counts = {name: 2 if name == twice else 0 if name == left else 1 for name in WEIGHTS}
            found.append(Signature(
                lambda a, e, counts=counts: np.isclose(
                    a, factor * sum(k * squares[n] for n, k in counts.items()), rtol=1e-6),
                f"the penalty holds {twice} twice and {left} not at all: one of its terms names "
                f"{twice} where {left} belongs"))
    return found


def check_regularization(student: Student) -> None:
    """loss(reg) - loss(0) is the L2 penalty c * reg * sum |W|^2 on the weights (not the biases)."""
    __tracebackhide__ = True
    spec, reg, scale = MODEL_SPEC, 0.5, l2_scale(student.conventions)
    params = seeded_params(spec, 61, 0.05)
    X, y = model_data(spec, 62, 8)
    plain, _ = exact_loss(student, spec, params, 0.0, X, y, "X, y")
    regularized, _ = exact_loss(student, spec, params, reg, X, y, "X, y")
    squares = {name: float(np.sum(params[name] ** 2)) for name in params}
    penalty = scale * reg * sum(squares[name] for name in WEIGHTS)
    with_biases = scale * reg * sum(squares.values())
    difference = _as_number(regularized) - _as_number(plain)
    compare_scalar(f"loss(reg={reg}) - loss(reg=0)", difference, penalty,
                   signatures=[
                       Signature(lambda a, e: np.isclose(a, 0.0, atol=1e-12),
                                 "the loss does not change with reg: add the L2 penalty"),
                       Signature(lambda a, e: np.isclose(a, e / scale, rtol=1e-6),
                                 f"the penalty is reg * sum(W**2); this course uses "
                                 f"{_times(scale)}reg * sum(W**2)"),
                       Signature(lambda a, e: np.isclose(a, with_biases, rtol=1e-6),
                                 "the biases are regularized too; only W1, W2, W3 are"),
                       *_partial_penalties(squares, scale * reg),
                       *_unsquared(params, squares, scale * reg),
                       *_misnamed_penalties(squares, scale * reg),
                   ],
                   hint=f"loss += {_times(scale)}reg * (sum(W1**2) + sum(W2**2) + sum(W3**2))")


def _grad_params(seed: int, spec: NetSpec) -> dict[str, np.ndarray]:
    return seeded_params(spec, seed, 0.2)


def check_scores(student: Student) -> None:
    __tracebackhide__ = True
    spec = MODEL_SPEC
    params = _grad_params(63, spec)
    X, _ = model_data(spec, 64, 5)
    scores = exact_loss(student, spec, params, 0.0, X, None, "X")
    compare_arrays("scores", scores, reference_net(spec, params, 0.0).loss(X), inputs={"X": X},
                   hint="conv - relu - 2x2 max pool - affine - relu - affine; loss(X) with y=None "
                        "returns the scores")


def check_loss(student: Student) -> None:
    __tracebackhide__ = True
    spec = MODEL_SPEC
    params = _grad_params(63, spec)
    X, y = model_data(spec, 64, 5)
    loss, _ = exact_loss(student, spec, params, 0.0, X, y, "X, y")
    expected, _ = reference_net(spec, params, 0.0).loss(X, y)
    compare_scalar("loss", loss, expected, inputs={"X": X, "y": y},
                   hint="the softmax loss of the scores, averaged over the batch")


def _times(factor: float) -> str:
    """'2 * ' for 2, '' for 1: a coefficient as the student would write it."""
    return "" if factor == 1 else f"{factor:g} * "


# Note [A penalty split over lines, seen from the loss]
# The regularization check names a penalty that holds some of W1, W2, W3 only (Note [A
# penalty split over lines]).  A real 2018 hand-in whose penalty left out W1 also lost the
# hidden non-square check, whose loss at reg = 0.1 is off by 0.05 * sum(W1**2): it said
# only "loss: got 1.65, expected 1.92" with an empty hint.  The loss signatures name the
# weights left out there too (the loss less the terms of the weights left out), and the
# check has a hint of its own.

def _loss_signatures(params: dict, reg: float, scale: float) -> list[Signature]:
    """Known mistakes in the L2 term of a loss computed with `params` at `reg`."""
    weights = reg * sum(float(np.sum(params[name] ** 2)) for name in WEIGHTS)
    biases = reg * sum(float(np.sum(value ** 2)) for name, value in params.items()
                       if name not in WEIGHTS)

    def shifted(delta: float):
        return lambda a, e: not np.isclose(delta, 0.0) and np.isclose(a, e + delta, rtol=1e-6, atol=1e-9)

    # Note [A penalty split over lines, seen from the loss]
    partial = []
    for size in range(1, len(WEIGHTS)):
        for left in itertools.combinations(WEIGHTS, size):
            kept = [name for name in WEIGHTS if name not in left]
            missing = reg * sum(float(np.sum(params[name] ** 2)) for name in left)
            partial.append(Signature(
                shifted(-scale * missing),
                f"the penalty holds {' and '.join(kept)} only, not {' and '.join(left)} (a sum "
                f"continued on a new line that starts with + is a statement of its own and adds "
                f"nothing: put the whole sum in parentheses)"))
    return [Signature(shifted(-scale * weights), "the L2 penalty is missing from the loss"),
            Signature(shifted((1 - scale) * weights), f"the penalty is reg * sum(W**2); this course "
                                                      f"uses {_times(scale)}reg * sum(W**2)"),
            Signature(shifted(scale * biases),
                      "the biases are regularized too; only W1, W2, W3 are"),
            *partial]


def _grad_signatures(name: str, params: dict, reg: float, scale: float) -> list[Signature]:
    value = params[name]
    if name.startswith("b"):
        return [Signature(lambda a, e: np.allclose(a, e + 2 * scale * reg * value, rtol=1e-6, atol=1e-9),
                          "the bias gradient includes a regularization term; biases are not regularized")]
    return [
        Signature(lambda a, e: np.allclose(a, e - 2 * scale * reg * value, rtol=1e-6, atol=1e-9),
                  f"the regularization gradient is missing: add {_times(2 * scale)}reg * {name}"),
        Signature(lambda a, e: np.allclose(a, e + 2 * scale * reg * value, rtol=1e-6, atol=1e-9),
                  f"the regularization gradient is doubled: the penalty {_times(scale)}reg * "
                  f"sum({name}**2) has gradient {_times(2 * scale)}reg * {name}"),
        # see Note [One number added to every entry] in assignments/fc_nets/checks.py
        Signature(lambda a, e: np.allclose(a, e - 2 * scale * reg * value
                                           + 2 * scale * reg * np.sum(value), rtol=1e-6, atol=1e-9),
                  f"grads['{name}'] adds {_times(2 * scale)}reg * np.sum({name}), one number, to "
                  f"every entry: the gradient of the penalty {_times(scale)}reg * sum({name}**2) "
                  f"is {_times(2 * scale)}reg * {name}, an array of {name}'s shape"),
    ]


# Note [One question for the six gradients]
# The six grad_* checks grade one answer each of the same question: the gradients of a
# model holding the same seeded parameters at the same reg on the same minibatch.  They
# asked it six times (a model built, its params read, the loss called: 3 requests and a
# reference pass each), and a submission answers it the same way every time.  So the
# first of them to run asks, and the answer (the student's gradients, or the failure
# that asking raised, CheckFailure and its message) is kept for the others, per
# submission (`asked_once`, Note [Answers kept per submission]).  Each check
# still compares its own gradient and names its own mistakes; a failure is raised again
# as a copy with the same message and cause (Note [Causes] in grader/scoring/result.py),
# and each check checks the model's params as read again (`checked_params`), so that
# every one of them notes an accepted shape (Note [Singleton axes] in
# grader/checks/compare.py) as it did when it read them itself.  A worker failure (a
# timeout, a crash) is not kept: the next check asks again, as before, and Note [Fail
# fast] in grader/checks/student.py decides whether the method is called again.
def grad_check(name: str) -> Check:
    layer = {"1": "conv", "2": "hidden affine", "3": "output affine"}[name[1]]

    def ask(student: Student, params: dict, X: np.ndarray, y: np.ndarray) -> tuple[dict, dict]:
        model, answer = student_net_asked(student, MODEL_SPEC, GRAD_REG, params, (X, y))
        own = student_params(model, MODEL_SPEC, own_shapes=True)
        _, grads = call_loss(model, X, y, "X, y", install=installing(own, params), answer=answer,
                             spec=MODEL_SPEC)
        return grads, own

    def run(student: Student) -> None:
        __tracebackhide__ = True
        spec, scale = MODEL_SPEC, l2_scale(student.conventions)
        params = _grad_params(65, spec)
        X, y = model_data(spec, 66, 6)
        grads, own = asked_once(student, ("grads", GRAD_REG),  # Note [One question for the six gradients]
                                lambda: ask(student, params, X, y))
        checked_params(own, spec, own_shapes=True)  # the notes of its shapes, for this check too
        _, expected = reference_net(spec, params, GRAD_REG, scale).loss(X, y)
        if name not in grads:
            raise CheckFailure(f"grads has no '{name}': return a gradient for every parameter")
        compare_arrays(f"grads['{name}']", grads[name], expected[name], inputs={"X": X, "y": y},
                       signatures=_grad_signatures(name, params, GRAD_REG, scale),
                       hint=f"backpropagate through the {layer} layer with the caches of the "
                            f"forward pass" + ("; add the regularization gradient"
                                               if name.startswith("W") else ""))

    return Check(f"ThreeLayerConvNet/grad_{name}", "ThreeLayerConvNet.loss",
                 f"ThreeLayerConvNet.loss: grads['{name}'] matches the reference (reg={GRAD_REG})",
                 run, f"gradient of the loss with respect to {name}")


# Note [A penalty split over lines, seen from the loss]
HIDDEN_MODEL_HINT = ("the same network on a non-square input with 5x5 filters and reg > 0: the "
                     "softmax loss plus the L2 penalty of W1, W2 and W3, and its gradients")


def check_hidden_model(student: Student) -> None:
    """Another shape (non-square input, 5x5 filters): loss and every gradient."""
    __tracebackhide__ = True
    spec, scale, reg = HIDDEN_SPEC, l2_scale(student.conventions), 0.1
    params = _grad_params(67, spec)
    X, y = model_data(spec, 68, 3)
    loss, grads = exact_loss(student, spec, params, reg, X, y, "X, y")
    expected_loss, expected = reference_net(spec, params, reg, scale).loss(X, y)
    compare_scalar("loss", loss, expected_loss, inputs={"X": X, "y": y},
                   signatures=_loss_signatures(params, reg, scale))
    for name in spec.shapes():
        if name not in grads:
            raise CheckFailure(f"grads has no '{name}': return a gradient for every parameter")
        compare_arrays(f"grads['{name}']", grads[name], expected[name], inputs={"X": X, "y": y},
                       signatures=_grad_signatures(name, params, reg, scale))


# Overfitting: 20 random 1x8x8 images with random labels among 5 classes, trained
# by plain SGD (learning rate 0.1, batches of 10) for 20 epochs, i.e. 40 updates
# (about 0.06 s with the reference).  From these seeded parameters the reference
# reaches 100% training accuracy by epoch 7 of 20, the loss falling from 3.7 to
# 0.02 (and it reached 100% for each of 10 other data and parameter seeds we tried),
# so a correct model, which follows the same trajectory up to rounding, clears
# the course's 90% with room to spare.  Under 30 official-grading secrets (data and
# parameters drawn from each, Note [Fresh questions]) it reached 100% in every one
# (`nice python benchmarks/training_tails.py --seeds 30 --only numpy`).
OVERFIT = {"num_train": 20, "weight_scale": 0.3, "learning_rate": 0.1, "num_epochs": 20,
           "batch_size": 10, "target": 0.9,
           "timeout_s": 60.0}  # per call: a student's naive conv layers in the model may be slow


def check_overfit(student: Student) -> None:
    """The judge runs the Solver's loop (Note [Judge holds the state] in grader/checks/trust.py):
    it holds the parameters, installs them, verifies each loss and gradient against the
    reference, applies SGD and scores the result with the reference network."""
    __tracebackhide__ = True
    spec, config = OVERFIT_SPEC, OVERFIT
    X, y = model_data(spec, 70, config["num_train"])
    model = student_net(student, spec, weight_scale=config["weight_scale"])
    shapes = {name: value.shape for name, value in
              student_params(model, spec, own_shapes=True).items() if name in spec.shapes()}

    training: list = []

    def installed(current: dict) -> dict:
        return {name: own_shaped(value, shapes[name]) for name, value in current.items()}

    def begin(start: dict, batches: list) -> None:
        # The worker trains a mirror of the judge's parameters (Note [Training in few
        # requests] in grader/checks/student.py); each step is still verified below.
        training.append(RemoteTraining(model, "loss", "params", installed(start), X, y,
                                       config["learning_rate"], batches))

    def step(current: dict, X_batch, y_batch, where: str):
        values = installed(current)
        # The steps are sent first and the reference answers each while the worker does (Note
        # [Judge works while the worker computes] in grader/checks/student.py).
        training[0].ahead()
        expected_loss, expected_grads = reference_net(spec, current, 0.0).loss(X_batch, y_batch)
        loss, grads = call_loss(model, X_batch, y_batch, f"X, y ({where})",
                                install=(values, f"setting model.params[...] ({where})"),
                                answer=lambda: training[0].next(lambda: values), spec=spec)
        # a guard inside the log: Note [A loss a little below the reference's] in trust.py
        guard = lambda: guard_gap(reference_net(spec, current, 0.0).loss(X_batch), y_batch)
        return (verify_step(loss, grads, expected_loss, expected_grads, where, guard),
                float(expected_loss))

    def accuracy(current: dict) -> float:
        return float(np.mean(np.argmax(reference_net(spec, current, 0.0).loss(X), axis=1) == y))

    try:
        run = judge_sgd(step, seeded_params(spec, 71, config["weight_scale"]), X, y,
                        learning_rate=config["learning_rate"], num_epochs=config["num_epochs"],
                        batch_size=config["batch_size"], seed=0, accuracy=accuracy, begin=begin)
    finally:
        for remote in training:
            remote.close()
    if run["accuracy"] < config["target"]:
        first, last = run["losses"][0], run["losses"][-1]
        raise CheckFailure(
            f"after {config['num_epochs']} epochs of SGD on {config['num_train']} images the "
            f"training accuracy is {run['accuracy']:.2f}, expected at least {config['target']}; "
            f"the loss went from {first:.4g} to {last:.4g}",
            hint="a model that cannot overfit 20 images usually has a wrong gradient: see the "
                 "grad_* checks")
    return {"accuracy": run["accuracy"]}


def model_checks() -> list[Check]:
    init, loss = "ThreeLayerConvNet.__init__", "ThreeLayerConvNet.loss"
    return [
        Check("ThreeLayerConvNet/params", init,
              "ThreeLayerConvNet: parameter names, shapes and initialisation", check_params,
              PARAM_SHAPE_HINT),
        Check("ThreeLayerConvNet/initial_loss", loss,
              "ThreeLayerConvNet: initial loss is about log(C)", check_initial_loss),
        Check("ThreeLayerConvNet/regularization", loss,
              "ThreeLayerConvNet: the loss rises by the L2 penalty of the weights",
              check_regularization),
        Check("ThreeLayerConvNet/scores", loss,
              "ThreeLayerConvNet.loss(X): scores match the reference", check_scores),
        Check("ThreeLayerConvNet/loss", loss,
              "ThreeLayerConvNet.loss(X, y): loss matches the reference", check_loss),
        *[grad_check(name) for name in ("W1", "b1", "W2", "b2", "W3", "b3")],
        Check("ThreeLayerConvNet/hidden_shape", loss,
              "ThreeLayerConvNet: loss and gradients on a non-square input (hidden)",
              check_hidden_model, HIDDEN_MODEL_HINT, hidden=True),
        Check("ThreeLayerConvNet/overfit", loss,
              "ThreeLayerConvNet: SGD with its gradients overfits 20 images", check_overfit,
              timeout_s=OVERFIT["timeout_s"]),
    ]


CHECKS = [*conv_checks(), *pool_checks(), *sandwich_checks(), *model_checks(),
          *spatial_bn_checks(), *groupnorm_checks()]
