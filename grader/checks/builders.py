"""Builders that turn a compact table into checks: forward outputs and backward gradients.

A forward check calls the student's function on each sample and compares one
output with the reference's.  A backward check runs the student's own forward
(keeping its cache in the worker, Note [Worker objects]), calls the student's
backward with a seeded upstream gradient, and compares one gradient with the
reference's; when it differs, a directional derivative of the student's own
forward (Note [Directional gradient check]) tells whether the bug is in the
backward pass or already in the forward pass.

# Note [Forward first]
A backward pass is checked on the student's own forward pass (its cache), so
when the student's forward output on the sample already differs from the
reference's, no backward pass, however correct, can match: the failure says
so first ("your `batchnorm_forward` is wrong on this sample too: fix it
first"), and the directional derivative then only tells whether the backward
pass is at least consistent with that wrong forward pass; it never claims
that "the bug is in the backward pass" alone.
"""

from __future__ import annotations

import copy
from typing import Callable, Iterable, Sequence

import numpy as np

from grader.worker.client import Converted, Part, StudentError

from . import questions
from .answers import Answers
from .compare import Signature, Tolerance, compare_arrays, in_shape, matches
from .spec import Check, CheckFailure, Sample
from .student import Student

# Note [Known mistakes that raise]
# A known mistake is named by the wrong answer it gives (Signatures, wrong shapes),
# but the same mistake can raise instead, depending on what the student's code does
# with it next: conv_backward_naive's `dx_pad[:, :, pad:-pad, pad:-pad]` crop is
# empty at pad 0 and is returned as a (N, C, 0, 0) dx (named by its shape), or is
# assigned into a dx of the right shape and raises a broadcast error, which cost a
# student all 7 points of the function (dw and db come from the same call) with
# only NumPy's message.  A backward check may take `raised`, which reads the sample
# and the exception (its type and message, never the student's source) and returns
# what it recognises, shown as "looks like: ..." before the traceback.

DIRECTIONAL_STEP = 1e-6
DIRECTIONAL_TOLERANCE = 1e-5
HIDDEN_TITLE = " (hidden samples)"


def _pick(value, index: int | None, function: str, what: str):
    """Element `index` of a returned tuple, with a clear message when it is not a tuple."""
    if index is None:
        return value
    if not isinstance(value, (tuple, list)):
        raise CheckFailure(f"`{function}` returned {type(value).__name__}, expected a tuple "
                           f"({what}) as the course's API specifies")
    if len(value) <= index:
        raise CheckFailure(f"`{function}` returned a tuple of {len(value)}, expected at least "
                           f"{index + 1} elements ({what})")
    return value[index]


def _batch_size(sample: Sample) -> int | None:
    first = sample.args[0] if sample.args else None
    return int(first.shape[0]) if isinstance(first, np.ndarray) and first.ndim else None


def _inputs(names: Sequence[str], sample: Sample) -> dict:
    named = dict(zip(names, sample.args))
    named.update(sample.kwargs)
    return named


def _with_sample(failure: CheckFailure, sample: Sample, hint: str) -> CheckFailure:
    message = f"[sample {sample.name}] {failure.message}"
    return type(failure)(message, hint=failure.hint or hint, details=failure.details)


def _student_call(student: Student, module: str, function: str, sample: Sample, needed_by: str = "",
                  calls=None):
    """`function(*sample)` in the worker, or (with `calls`, a Student.calls) its next result."""
    try:
        if calls is not None:
            return next(calls)
        return student.call(module, function, *copy.deepcopy(sample.args),
                            **copy.deepcopy(sample.kwargs))
    except StudentError as error:
        prefix = f"{needed_by} needs your `{function}`, which" if needed_by else f"`{function}`"
        raise CheckFailure(f"{prefix} raised {error} on sample '{sample.name}'"
                           + (f"\n{error.traceback}" if error.traceback else "")) from None


# Note [The constructor's error first]
# A model check whose constructor raised said so after the whole call, "TwoLayerNet(input_dim=5,
# hidden_dim=50, num_classes=7, reg=0.0, weight_scale=0.001) raised NotImplementedError: ...",
# and the terminal's line per check and the fix-first list show a message's first line cut to
# the terminal's width: on 80 columns every model check of the fc_nets and cnn starters read
# as a constructor call and nothing else.  As a layer's message does ("`affine_forward` raised
# ... on sample ..."), the error now comes first and the call after it.
def constructor_failure(class_name: str, arguments: str, error: StudentError) -> CheckFailure:
    """`class_name(arguments)` raised `error` (Note [The constructor's error first])."""
    return CheckFailure(f"`{class_name}(...)` raised {error}, called as {class_name}({arguments})"
                        + (f"\n{error.traceback}" if error.traceback else ""))


def _sample_call(function: str, sample: Sample) -> tuple:
    """(function, args, kwargs) of one sample for Student.calls, copied as _student_call copies."""
    return function, copy.deepcopy(sample.args), copy.deepcopy(sample.kwargs)


def forward_check(function: str, module: str, samples: Iterable[Sample], reference: Callable, *,
                  output: str = "out", index: int | None = 0, what: str = "out, cache",
                  arg_names: Sequence[str] = (), tolerance: Tolerance | None = None,
                  signatures: Sequence[Signature] = (), hint: str = "", hidden: bool = False,
                  check_id: str | None = None, title: str | None = None) -> Check:
    """One check: output `index` of `function(*sample)` equals the reference's, on every sample."""
    samples = tuple(samples)

    def reference_output(number: int):
        sample = samples[number]
        return _pick(reference(*copy.deepcopy(sample.args), **copy.deepcopy(sample.kwargs)),
                     index, "reference", what)

    # The reference's outputs, once per process (Note [Answers kept per process] in
    # grader/checks/answers.py).
    answers = Answers(reference_output, range(len(samples)))

    def run(student: Student) -> None:
        __tracebackhide__ = True
        # Every sample in one request (Note [Streamed calls] in grader/worker/client.py).
        with student.calls(module, [_sample_call(function, s) for s in samples]) as calls:
            _forward_samples(student, calls)

    def _forward_samples(student: Student, calls) -> None:
        __tracebackhide__ = True
        for number, sample in enumerate(samples):
            expected = answers.get(number)
            result = _student_call(student, module, function, sample, calls=calls)
            try:
                actual = _pick(result.value, index, function, what)
                compare_arrays(output, actual, np.asarray(expected), inputs=_inputs(arg_names, sample),
                               tolerance=tolerance, signatures=signatures, hint=hint,
                               batch_size=_batch_size(sample))
            except CheckFailure as failure:
                raise _with_sample(failure, sample, hint) from None

    suffix = "_hidden" if hidden else ""
    return Check(check_id or f"{function}/{output}{suffix}", function,
                 title or f"{function}: {output} matches the reference" + HIDDEN_TITLE * hidden,
                 run, hint, hidden, prepare=lambda conventions: answers.prepare())


def backward_check(forward: str, backward: str, module: str, samples: Iterable[Sample],
                   reference_forward: Callable, reference_backward: Callable, *,
                   grad: str, grad_index: int, wrt: int, arg_names: Sequence[str] = (),
                   tolerance: Tolerance | None = None, signatures: Sequence[Signature] = (),
                   hint: str = "", hidden: bool = False, seed: int = 0,
                   single_grad: bool = False,
                   raised: Callable[[Sample, StudentError], str] | None = None,
                   empty_cache: Callable[[Sample], str] | None = None) -> Check:
    """One check: gradient `grad` (element `grad_index` of backward's result, the
    gradient with respect to forward argument `wrt`) equals the reference's.

    `raised(sample, error)`, when given, names a known mistake behind an exception of
    the backward pass ('' when it knows none); see Note [Known mistakes that raise].
    `empty_cache(sample)`: how a forward pass comes to cache an empty array on that sample
    ('' when it knows no way); see Note [An empty array in the forward's cache]."""
    samples = tuple(samples)
    asked = questions.current()  # the upstream gradients are questions too (Note [Fresh questions])

    def reference_answer(number: int) -> tuple:
        """(the reference's forward output, the upstream gradient, its backward's result)."""
        sample = samples[number]
        out, cache = reference_forward(*copy.deepcopy(sample.args), **copy.deepcopy(sample.kwargs))
        dout = asked.rng(seed + number).standard_normal(np.shape(out))
        return out, dout, reference_backward(dout, cache)

    # Once per process (Note [Answers kept per process] in grader/checks/answers.py): the
    # reference's passes are no longer computed while the worker runs the chain (Note [Judge
    # works while the worker computes] in student.py), except by the first submission a
    # process grades.
    kept = Answers(reference_answer, range(len(samples)))

    def run(student: Student) -> None:
        __tracebackhide__ = True
        answers = [kept.get(number) for number in range(len(samples))]
        # Each sample's forward, then its backward on that forward's cache, all in one request
        # (Note [Streamed calls] in grader/worker/client.py).
        chain = []
        for sample, (_, dout, _) in zip(samples, answers):
            chain += [_sample_call(forward, sample), (backward, (dout, Part(len(chain)).item(1)), {})]
        with student.calls(module, chain) as calls:
            _backward_samples(student, answers, calls)

    def _backward_samples(student: Student, answers: list, calls) -> None:
        __tracebackhide__ = True
        for number, sample in enumerate(samples):
            out, dout, expected_all = answers[number]
            expected = expected_all if single_grad else expected_all[grad_index]
            forward_result = _student_call(student, module, forward, sample, needed_by=f"`{backward}`",
                                           calls=calls)
            cache = _pick(forward_result.value, 1, forward, "out, cache")
            try:
                result = next(calls)
            except StudentError as error:
                # Note [An empty array in the forward's cache], else Note [Known mistakes that raise]
                known = (_broken_cache(forward, backward, cache, sample, empty_cache)
                         or (raised(sample, error) if raised else ""))
                raise CheckFailure(f"`{backward}` raised {error} on sample '{sample.name}'"
                                   + (f"\nlooks like: {known}" if known else "")
                                   + (f"\n{error.traceback}" if error.traceback else "")) from None
            try:
                actual = result.value if single_grad else _pick(result.value, grad_index, backward,
                                                                "gradients")
                compare_arrays(grad, actual, np.asarray(expected), inputs=_inputs(arg_names, sample),
                               tolerance=tolerance, signatures=signatures, hint=hint,
                               batch_size=_batch_size(sample))
            except CheckFailure as failure:
                failure = _with_sample(failure, sample, hint)
                broken = _broken_cache(forward, backward, cache, sample, empty_cache)
                if broken:  # Note [An empty array in the forward's cache]: its line alone
                    kept = [line for line in failure.message.splitlines()
                            if not line.startswith("looks like: ")]
                    raise type(failure)("\n".join(kept + [f"looks like: {broken}"]),
                                        hint=failure.hint,
                                        details={**failure.details, "forward_cache": broken}) from None
                forward_wrong = not matches(_pick(forward_result.value, 0, forward, "out, cache"),
                                            np.asarray(out))
                note = (f"\nyour `{forward}` is wrong on this sample too: fix it first; a correct "
                        f"backward of a wrong forward cannot match" if forward_wrong else "")
                note += _own_forward_note(student, module, forward, sample, wrt, dout, actual
                                          if "actual" in locals() else None, grad, forward_wrong)
                raise type(failure)(failure.message + note, hint=failure.hint,
                                    details=failure.details) from None

    suffix = "_hidden" if hidden else ""
    return Check(f"{backward}/{grad}{suffix}", backward,
                 f"{backward}: {grad} matches the reference" + HIDDEN_TITLE * hidden, run, hint, hidden,
                 prepare=lambda conventions: kept.prepare())


# Note [An empty array in the forward's cache]
# A backward pass works from what its forward pass cached, and a forward pass whose output is
# right can still cache something broken: a conv forward that keeps the unpadded input as
# x_pad[:, :, pad:-pad, pad:-pad] caches an empty (N, C, 0, 0) array at pad 0 (-0 is 0, so
# pad:-pad is 0:0).  A correct conv_backward_naive then raised a broadcast error or returned a
# dx with 0 rows, and the failure blamed the backward pass: "looks like: a crop like
# dx_pad[:, :, pad:-pad, pad:-pad] is empty" (a real hand-in's dw and db, its backward without
# any such crop), or "the bug is in the backward pass" from the directional check.  So when
# the backward check fails on a sample whose inputs hold no empty array and the student's own
# cache holds an empty slice of one of them (an input's shape with some axes cut to 0 and at
# least one kept, so that a placeholder such as np.array([]) is not taken for one; looked for
# down to three levels of tuples, lists and dicts), the failure says that the cache is what
# broke, where in it, and what the assignment knows makes one empty (`empty_cache`), in place
# of the backward pass's known mistakes (its `raised`, the signatures' "looks like" lines:
# "every entry is zero", which a loop over the empty cache's rows gives) and the directional
# note, which would all blame the backward pass.  The verdict is the same: the chain the
# course runs (forward, then backward on its cache) does not give the right gradient.  An
# empty array a backward pass never reads costs nothing: it is looked for only after a failure.
CACHE_DEPTH = 3


def _a_crop(empty: np.ndarray, inputs: list) -> bool:
    """`empty` has an input array's shape except for axes cut to 0, and keeps one of them:
    a slice of that input, not a placeholder such as np.array([])."""
    return any(isinstance(a, np.ndarray) and a.ndim == empty.ndim
               and all(e in (0, s) for e, s in zip(empty.shape, a.shape))
               and any(e == s and e > 0 for e, s in zip(empty.shape, a.shape)) for a in inputs)


def _empty_in(value, where: str, inputs: list, depth: int = 0) -> str:
    """Where in `value` (the student's cache, as it came back) an empty slice of one of
    `inputs` is, and its shape: "cache[0], shape (1, 2, 0, 0)"; '' when none is."""
    value = value.value if isinstance(value, Converted) else value
    if isinstance(value, np.ndarray):
        return f"{where}, shape {value.shape}" if value.size == 0 and _a_crop(value, inputs) else ""
    if depth < CACHE_DEPTH and isinstance(value, (tuple, list)):
        items = enumerate(value)
    elif depth < CACHE_DEPTH and isinstance(value, dict):
        items = ((repr(k), v) for k, v in value.items())
    else:
        return ""
    for key, item in items:
        found = _empty_in(item, f"{where}[{key}]", inputs, depth + 1)
        if found:
            return found
    return ""


def _broken_cache(forward: str, backward: str, cache, sample: Sample,
                  empty_cache: Callable[[Sample], str] | None) -> str:
    """The "looks like" of Note [An empty array in the forward's cache], or ''."""
    inputs = [*sample.args, *sample.kwargs.values()]
    if any(isinstance(a, np.ndarray) and a.size == 0 for a in inputs):
        return ""
    where = _empty_in(cache, "cache", inputs)
    if not where:
        return ""
    how = empty_cache(sample) if empty_cache else ""
    return (f"your `{forward}` cached an empty array ({where}) though no input is empty, and "
            f"`{backward}` works from that cache: the cache is what broke, not the backward pass"
            + (f"; {how}" if how else ""))


def _own_forward_note(student: Student, module: str, forward: str, sample: Sample, wrt: int,
                      dout: np.ndarray, claimed, grad: str, forward_wrong: bool = False) -> str:
    """Is the student's gradient at least consistent with the student's own forward?"""
    claimed = claimed.value if isinstance(claimed, Converted) else claimed
    if not isinstance(claimed, np.ndarray) or not isinstance(sample.args[wrt], np.ndarray):
        return ""
    base = sample.args[wrt]
    claimed = in_shape(claimed, base.shape)  # Note [Singleton axes] in compare.py
    if claimed.shape != base.shape or base.dtype.kind != "f":
        return ""
    direction = np.random.default_rng(12345).standard_normal(base.shape)

    def objective(t: float) -> float:
        args = list(copy.deepcopy(sample.args))
        args[wrt] = base + t * direction
        value = student.call(module, forward, *args, **copy.deepcopy(sample.kwargs)).value
        out = value[0] if isinstance(value, (tuple, list)) else value
        return float(np.sum(np.asarray(out, dtype=np.float64) * dout))

    try:
        numeric = (objective(DIRECTIONAL_STEP) - objective(-DIRECTIONAL_STEP)) / (2 * DIRECTIONAL_STEP)
    except Exception:
        return ""
    analytic = float(np.sum(claimed * direction))
    error = abs(numeric - analytic) / max(abs(numeric) + abs(analytic), 1e-12)
    if error < DIRECTIONAL_TOLERANCE:
        return (f"\nyour {grad} IS consistent with your own `{forward}` (directional derivative "
                f"relative error {error:.1e}): the bug is likely in `{forward}`, not the backward pass")
    if forward_wrong:  # Note [Forward first]
        return (f"\nyour {grad} is not consistent with your own `{forward}` either (directional "
                f"derivative relative error {error:.1e}): once `{forward}` is fixed, check the "
                f"backward pass too")
    return (f"\nyour {grad} is not consistent with your own `{forward}` either (directional "
            f"derivative relative error {error:.1e}): the bug is in the backward pass")
