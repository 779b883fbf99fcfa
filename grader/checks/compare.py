"""Compare what a student returned with what the reference computed, and say what is wrong.

# Note [Tolerances]
Tolerances are data keyed by the dtype of the reference result and merged with
a check's overrides; they never grow with the size of an array.  An entry
passes when |actual - expected| <= atol + rtol * |expected|, entry by entry (as
numpy.isclose).  float64 gets rtol 1e-6: correct alternatives (loops,
vectorised code, im2col, einsum, another summation order) agree to about 1e-13,
while the smallest real mistakes the course cares about (eps outside the square
root, unbiased variance on a batch of 100) differ by 1e-5 or more.

The table is also keyed by device (`grading_device`, set by the pipeline for
a submission's checks; Note [Same numbers on a GPU] in grader/worker/devices.py).
With TF32 off, a GPU computes float32 and float64 to the same precision as the
CPU but sums in another order (tree reductions, cuDNN's convolution
algorithms), which perturbs a result by a few units in its last place times
the number of terms: the same size of effect the CPU rows already allow for
between two correct CPU implementations.  So the `cuda` rows start equal to
the CPU rows; tests/grader/checks/test_compare.py measures the reference's
CPU-vs-CUDA differences against them on a machine with a GPU, which is where
a row would be changed, with the measurement, never to make a check pass.

# Note [Failure messages]
One order, always (pytest's approx does the same): shape and dtype, then how
many entries differ, the largest absolute and relative error, the worst index
with both values, a summary of the inputs, then hints: first any known-bug
signature that matches (a constant factor, a sign flip, all zeros, a transpose,
or a check's own signatures), then the check's general hint.

# Note [Error map]
A failing array comparison also leaves a small picture of *where* it is wrong
in its details (`error_map`), which the student report draws as a heat map.
Each entry gets a level: 0 within tolerance, 1/2/3 off by a relative error
below 1e-3 / below 1e-1 / more, 4 NaN or infinite.  The array is laid out in two
dimensions (a 4-D gradient (N, C, H, W) as a mosaic of H x W tiles, one per
[n, c]) and shrunk to at most ERROR_MAP_CELLS x ERROR_MAP_CELLS by taking each
block's worst level; each row is a string of digits, so a map costs about 1 KB
of JSON whatever the array's size.  It holds levels only, never the expected
values.  Hidden checks must not show where they fail: grader/scoring/plugin.py drops
the map from a hidden check's details, at the boundary where visibility is known.

# Note [Singleton axes]
Working student code returns dgamma as (1, D) (a keepdims sum), db as (1, M),
keeps running statistics as (1, C) or (1, C, 1, 1) and biases as (1, H): the
course's notebook compares with rel_error, which broadcasts, and its Solver
updates whatever shape a network keeps, so the course accepts all of these.
The rule: an array whose shape differs from the expected one is still compared
when it has the same number of entries and the same shape once every axis of
length 1 is dropped (np.squeeze); it is read in the expected shape, and the
check says so in a note ("shape (1, 5) accepted; the course's shape is (5,)"),
which `collecting_notes` hands to the running check's result (a passed check
with a note; grader/checks/registry_tests.py).  Every other difference is
wrong: (3, 2) for (2, 3), (4,) for (5,), (2, 2) for (4,).
The rule also admits (5, 1) for (5,) and (C,) for (1, C, 1, 1), which numpy
broadcasts differently (into a (5, 5) matrix): the values are right, so the
points are kept, and the note warns that code mixing the two shapes goes wrong.
Where the grader hands state back to student code (a network's parameters, its
running statistics), it hands it in the student's own shape (`in_shape`), so
that code written for (1, H) biases is never fed (H,) ones.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import numpy as np

from .spec import CheckFailure


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float


TOLERANCES: dict[str, Tolerance] = {  # on the CPU
    "float64": Tolerance(rtol=1e-6, atol=1e-9),
    "float32": Tolerance(rtol=1e-4, atol=1e-6),
    "float16": Tolerance(rtol=1e-2, atol=1e-3),
}
DEVICE_TOLERANCES: dict[str, dict[str, Tolerance]] = {
    "cpu": TOLERANCES,
    "cuda": {  # TF32 off; see Note [Tolerances] for why these start equal to the CPU's
        "float64": Tolerance(rtol=1e-6, atol=1e-9),
        "float32": Tolerance(rtol=1e-4, atol=1e-6),
        "float16": Tolerance(rtol=1e-2, atol=1e-3),
    },
}
EXACT = Tolerance(rtol=0.0, atol=0.0)

# The device kind ("cpu" or "cuda") the current submission's framework code runs on.
grading_device: contextvars.ContextVar[str] = contextvars.ContextVar("grading_device", default="cpu")


@contextlib.contextmanager
def on_device(kind: str) -> Iterator[None]:
    """Compare with `kind`'s tolerances inside the block."""
    token = grading_device.set(kind)
    try:
        yield
    finally:
        grading_device.reset(token)


def tolerance_for(expected: np.ndarray, override: Tolerance | None = None,
                  device: str | None = None) -> Tolerance:
    """The tolerance for comparing with `expected` on `device` (default: the current
    submission's); see Note [Tolerances]."""
    if override is not None:
        return override
    if expected.dtype.kind in "biu":
        return EXACT
    table = DEVICE_TOLERANCES[device or grading_device.get()]
    return table.get(_dtype_name(expected.dtype), table["float64"])


# Note [dtype names kept]
# `str(dtype)` costs several microseconds (numpy builds the name in Python each time: 10-12 us
# measured here, 2 shared cores under load), and every comparison asked it once (218 per
# fc_nets submission).  The name of a dtype never changes, so it is kept per dtype (dtypes
# hash and compare with their byte order: '>f4' keeps its name, '>f4', not float32's).
_DTYPE_NAMES: dict = {}


def _dtype_name(dtype: np.dtype) -> str:
    name = _DTYPE_NAMES.get(dtype)
    if name is None:
        name = _DTYPE_NAMES[dtype] = str(dtype)
    return name


# Note [A named cause replaces a hint that points elsewhere]
# A check's hint says where its usual mistake lies: dropout's test-time check asks "is dropout
# applied at test time?", batchnorm's network test-scores check says to set every bn_param's
# mode to 'test'.  When a signature names a cause that lies elsewhere (a batchnorm test-mode
# slip under a right dropout switch, eps outside the root under a right mode switch), real
# hand-ins got "looks like: ... the network's dropout at test time is right" above a hint that
# still asked about dropout.  Such a signature carries `instead`, the hint to give in its
# place; the first matching one's replaces the check's hint.  A signature without it leaves
# the hint as it is (most complement their check's hint: a formula beside a named slip).
@dataclass(frozen=True)
class Signature:
    """A known bug recognisable from (actual, expected): if `matches`, say `hint`; `instead`,
    where given, replaces the check's hint (Note [A named cause replaces a hint that points
    elsewhere])."""
    matches: Callable[[np.ndarray, np.ndarray], bool]
    hint: str
    instead: str = ""


def summarize(value) -> str:
    """`float64[4,3,8,8]` for arrays, repr for small scalars, type names otherwise; a value
    that could not cross the wire by what the worker said of it (Note [What could not cross
    the wire])."""
    from grader.worker.client import Opaque
    if isinstance(value, np.ndarray):
        return f"{value.dtype}[{','.join(map(str, value.shape))}]"
    if isinstance(value, Opaque):
        return f"<{value.type_name}>"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {summarize(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)) and len(value) <= 6:
        return "(" + ", ".join(summarize(v) for v in value) + ")"
    if isinstance(value, (int, float, str, bool)) or value is None:
        text = repr(value)
        return text if len(text) <= 40 else text[:37] + "..."
    return type(value).__name__


# Note [What could not cross the wire]
# The worker describes a value it cannot send (grader/worker/runtime.py) by what it is: a
# class's name, "ndarray of dtype object", "dict with non-string keys".  `summarize` showed
# only the judge's own wrapper, "Opaque": a real cs231n 2016 package keying its
# FullyConnectedNet's params by tuples, ('W', 0), read "model.params is Opaque, expected a
# dict of arrays" in every network check.  It now reads "model.params is <dict with
# non-string keys>, ...".


def summarize_inputs(inputs: dict) -> str:
    return ", ".join(f"{name}: {summarize(value)}" for name, value in inputs.items())


def _describe_type(value) -> str:
    from grader.worker.client import Converted, Opaque
    if isinstance(value, Opaque):
        return f"an object of type {value.type_name}"
    if isinstance(value, Converted):
        return f"a {value.type_name}"
    if isinstance(value, np.ndarray):
        return f"an array {summarize(value)}"
    return f"{type(value).__name__} {summarize(value)}"


def as_array(name: str, value, expected: np.ndarray, *, hint: str = "") -> np.ndarray:
    """The student's value as an ndarray, or a CheckFailure saying what came back instead."""
    from grader.worker.client import Converted
    if isinstance(value, Converted) and isinstance(value.value, np.ndarray):
        value = value.value  # an ndarray subclass or tensor, converted in the worker
    if isinstance(value, (int, float, bool, np.ndarray)) and not isinstance(value, np.ndarray):
        value = np.asarray(value)
    if value is None:  # the course's stubs return None until their TODO is filled in
        raise CheckFailure(f"{name}: returned None, expected an array {summarize(expected)} (the "
                           f"course's code returns None until its TODO block is filled in; or a "
                           f"`return` is missing)", hint=hint)
    if not isinstance(value, np.ndarray):
        raise CheckFailure(f"{name}: returned {_describe_type(value)}, expected an array "
                           f"{summarize(expected)}", hint=hint)
    return value


def _constant_factor(actual: np.ndarray, expected: np.ndarray) -> float | None:
    """k when actual is (to 1e-6) k * expected for one k, else None."""
    e, a = expected.ravel().astype(np.float64), actual.ravel().astype(np.float64)
    norm = float(e @ e)
    if norm == 0.0 or not np.all(np.isfinite(a)):
        return None
    k = float(a @ e) / norm
    if np.linalg.norm(a - k * e) <= 1e-6 * np.linalg.norm(a) + 1e-12:
        return k
    return None


# Note [A ReLU where none belongs]
# Real hand-ins (a 2020 package, and an older one through batchnorm's and dropout's networks)
# end FullyConnectedNet with `affine_relu_forward`, so every score is max(score, 0).  fc_nets'
# scores checks name it from the sample (Note [Layers without their ReLU] in
# assignments/fc_nets/checks.py); batchnorm's test-time scores and dropout's keep-1 and
# test-time scores compared numbers only ("25 of 40 entries differ").  Where the expected
# array has a negative entry and the actual one is, to the comparison's tolerance, the expected
# one with its negative entries set to 0, the numbers alone prove that shape, whatever
# computed it: the message says so, unless a check's own signature already named the failure.
RELU_WHERE_NONE_BELONGS = ("every negative entry is 0 and the others match: a ReLU is applied "
                           "where none belongs (for a network's scores: the last affine layer "
                           "has no ReLU; use affine_forward there, not affine_relu_forward)")


def _relu_of_expected(actual: np.ndarray, expected: np.ndarray, tol: Tolerance) -> bool:
    """Note [A ReLU where none belongs]."""
    if actual.dtype.kind == "c" or expected.dtype.kind == "c" or not np.any(expected < 0):
        return False
    clipped = np.maximum(expected, 0)
    return bool(np.all(np.isfinite(actual))
                and np.all(np.abs(actual - clipped) <= tol.atol + tol.rtol * np.abs(clipped)))


def generic_signatures(actual: np.ndarray, expected: np.ndarray, batch_size: int | None) -> list[str]:
    """Hints that follow from the numbers alone."""
    hints = []
    if not np.any(actual) and np.any(expected):
        return ["every entry is zero: is the result computed but never assigned or returned?"]
    k = _constant_factor(actual, expected)
    if k is not None and not np.isclose(k, 1.0, rtol=1e-6):
        if np.isclose(k, -1.0, rtol=1e-6):
            hints.append("the sign is flipped everywhere")
        elif batch_size == 2 and np.isclose(k, 2.0, rtol=1e-6):
            hints.append("off by a factor of 2 (which is also N here: a sum where the mean "
                         "belongs, or a doubled term)")
        elif batch_size and np.isclose(k, batch_size, rtol=1e-6):
            hints.append(f"off by a factor of N = {batch_size}: a sum where the mean belongs "
                         f"(or a missing division by N)")
        elif batch_size and np.isclose(k, 1.0 / batch_size, rtol=1e-6):
            hints.append(f"off by a factor of 1/N = 1/{batch_size}: divided by N once too often")
        elif actual.size > 1 and abs(k - 1.0) > 1e-3:  # any two numbers differ by "a factor"
            hints.append(f"off by a constant factor of {k:.4g} everywhere")
    if (actual.ndim == 2 and actual.shape[0] == actual.shape[1]
            and np.allclose(actual, expected.T) and not np.allclose(actual, expected)):
        hints.append("the result is the transpose of the expected one")
    elif _transposed_and_reshaped(actual, expected):  # Note [Transposed, then reshaped back]
        n = expected.shape[0]
        hints.append(f"the entries are those of the expected array as ({expected.size // n}, {n}), "
                     f"its first axis last, reshaped to {expected.shape}: a product taken in the "
                     f"transposed order (such as w @ dout.T for dout @ w.T) and reshaped without "
                     f"its .T")
    return hints


# Note [Transposed, then reshaped back]
# A real hand-in's affine_backward computed dx as w @ dout.T, a (D, N) array, and reshaped it
# to x's (N, d_1, ..., d_k): the right numbers in the wrong places, reported as numbers only
# (the transpose signature above needs a square 2-D array).  Where the expected array,
# flattened to (N, rest) and transposed, reshapes to exactly the actual one (and that
# differs from the expected one), the message names the order.
def _transposed_and_reshaped(actual: np.ndarray, expected: np.ndarray) -> bool:
    if expected.ndim < 2 or actual.shape != expected.shape or expected.shape[0] < 2:
        return False
    n = expected.shape[0]
    if expected.size // n < 2:
        return False
    moved = expected.reshape(n, -1).T.reshape(expected.shape)
    return bool(np.allclose(actual, moved) and not np.allclose(moved, expected))


def same_up_to_singletons(shape: Iterable[int], expected: Iterable[int]) -> bool:
    """Same number of entries and equal once the axes of length 1 are dropped; Note [Singleton axes]."""
    shape, expected = tuple(shape), tuple(expected)
    return (math.prod(shape) == math.prod(expected)
            and tuple(d for d in shape if d != 1) == tuple(d for d in expected if d != 1))


def shape_note(name: str, shape: tuple, expected: tuple) -> str:
    """What a check says when it accepts `shape` for `expected`; Note [Singleton axes]."""
    text = f"{name}: shape {tuple(shape)} accepted; the course's shape is {tuple(expected)}"
    try:
        together = np.broadcast_shapes(tuple(shape), tuple(expected))
    except ValueError:
        together = None
    if together is None or math.prod(together) != math.prod(expected):
        text += (f" (careful: numpy does not line up {tuple(shape)} with {tuple(expected)} entry "
                 f"by entry{f', it broadcasts them to {together}' if together else ''}, so code "
                 f"that mixes the two shapes goes wrong)")
    return text


def in_shape(value, shape: tuple):
    """`value` reshaped to `shape` when the two differ only by axes of length 1, else as it is.

    The grader hands state back to student code in the student's own shape (Note [Singleton axes])."""
    if isinstance(value, np.ndarray) and value.shape != tuple(shape) \
            and same_up_to_singletons(value.shape, shape):
        return value.reshape(shape)
    return value


# The notes of the running check (None outside a check); Note [Singleton axes].
_notes: contextvars.ContextVar[list | None] = contextvars.ContextVar("comparison_notes", default=None)


@contextlib.contextmanager
def collecting_notes() -> Iterator[list[str]]:
    """The notes comparisons make inside the block (a shape accepted), in order."""
    notes: list[str] = []
    token = _notes.set(notes)
    try:
        yield notes
    finally:
        _notes.reset(token)


def record_note(note: str) -> None:
    """A note line for the running check, once (nothing outside a check): a shape accepted by
    the singleton rule (`accept_shape`) or by a rule of an assignment's own, unused parameters
    at their initial values, a guard inside the log."""
    notes = _notes.get()
    if notes is not None and note not in notes:
        notes.append(note)


def accept_shape(name: str, shape: tuple, expected: tuple) -> bool:
    """Whether `shape` passes for `expected` (Note [Singleton axes]), noting it when they differ.

    For checks that test a shape without comparing values (a network's parameters)."""
    if tuple(shape) == tuple(expected):
        return True
    if not same_up_to_singletons(shape, expected):
        return False
    record_note(shape_note(name, shape, expected))
    return True


def matches(value, expected: np.ndarray, tolerance: Tolerance | None = None) -> bool:
    """Whether compare_arrays would accept `value`, without a message or a note."""
    with collecting_notes():
        try:
            compare_arrays("value", value, np.asarray(expected), tolerance=tolerance)
        except CheckFailure:
            return False
    return True


# Note [Closeness in ufuncs]
# A `grade check` compares a few hundred arrays (218 for fc_nets, 151 for batchnorm), nearly
# all of them small and equal, and np.isclose's own Python (argument conversion, a result
# type, a check of the tolerances, an errstate block) took more of each comparison than the
# arithmetic.  For the finite entries of `a`, the only ones a comparison can count as close,
# np.isclose(a, e, rtol, atol) is `|a - e| <= atol + rtol * |e|` where e is finite (NumPy 2:
# `(|x - y| <= atol + rtol * |y|) & isfinite(y) | (x == y)`, and x == y adds nothing for a
# finite x; NumPy 1.x: that inequality where both are finite, x == y elsewhere), so
# `compare_arrays` computes exactly that from the |a - e| and |e| it needs for its errors
# anyway; the reductions are the arrays' own methods.  The same entries are close, with the
# same errors and messages (tests/grader/checks/test_compare.py holds the cases at infinity and
# NaN).
def compare_arrays(name: str, value, expected: np.ndarray, *, inputs: dict | None = None,
                   tolerance: Tolerance | None = None, signatures: Iterable[Signature] = (),
                   hint: str = "", batch_size: int | None = None) -> dict:
    """Raise CheckFailure unless `value` matches `expected`; return details when it does.

    Message order: Note [Failure messages].  `name` says which output ("dx").
    """
    __tracebackhide__ = True
    actual = as_array(name, value, expected, hint=hint)
    note = ""
    if actual.shape != expected.shape and same_up_to_singletons(actual.shape, expected.shape):
        note = shape_note(name, actual.shape, expected.shape)  # Note [Singleton axes]
        record_note(note)
        actual = actual.reshape(expected.shape)
    if actual.shape != expected.shape:
        extra = ""
        if actual.size == expected.size:
            extra = " (same number of entries: a reshape or transpose missing?)"
        # the inputs are summarised only for a failure: a passing comparison never shows them
        inputs_text = f"\ninputs: {summarize_inputs(inputs)}" if inputs else ""
        raise CheckFailure(f"{name}: shape {actual.shape}, expected {expected.shape}{extra}"
                           f"{inputs_text}", hint=hint,
                           details={"shape": list(actual.shape), "expected_shape": list(expected.shape)})
    if actual.dtype.kind not in "biufc":
        raise CheckFailure(f"{name}: dtype {actual.dtype}, expected {expected.dtype}", hint=hint)
    tol = tolerance_for(expected, tolerance)
    a = actual.astype(np.float64) if actual.dtype.kind != "c" else actual
    e = expected.astype(np.float64) if expected.dtype.kind != "c" else expected
    finite = np.isfinite(a)
    difference, size = np.abs(a - e), np.abs(e)
    # np.isclose(a, e, rtol, atol) & finite, in three ufunc calls (Note [Closeness in ufuncs])
    close = (difference <= tol.atol + tol.rtol * size) & np.isfinite(e) & finite
    abs_err = np.where(finite, difference, np.inf)
    rel_err = abs_err / np.maximum(size, 1e-300)
    details = {"max_abs_error": float(abs_err.max()) if abs_err.size else 0.0,
               "max_rel_error": float(np.where(size > 0, rel_err, 0).max()) if e.size else 0.0,
               "rtol": tol.rtol, "atol": tol.atol}
    if note:
        details["shape_note"] = note
    if bool(close.all()):
        return details
    bad = int(np.size(close) - np.count_nonzero(close))
    worst = np.unravel_index(int(np.argmax(np.where(finite, abs_err - tol.rtol * np.abs(e), np.inf))),
                             expected.shape) if expected.ndim else ()
    lines = [f"{name}: {bad} of {close.size} entries differ"
             f" (max abs error {details['max_abs_error']:.3g}, max rel error "
             f"{details['max_rel_error']:.3g}; tolerance rtol={tol.rtol:g}, atol={tol.atol:g})"]
    if not np.all(finite):
        lines.append(f"{int(np.size(finite) - np.count_nonzero(finite))} entries are NaN or infinite")
    index_text = f"[{', '.join(map(str, worst))}]" if worst != () else ""
    lines.append(f"worst at {name}{index_text}: got {_number(a[worst])}, expected {_number(e[worst])}")
    if note:
        lines.append(f"(compared in the expected shape: {note})")
    if inputs:
        lines.append(f"inputs: {summarize_inputs(inputs)}")
    matched = [s for s in signatures if safe_match(s, actual, expected)]
    found = [s.hint for s in matched]
    # Note [A named cause replaces a hint that points elsewhere]
    hint = next((s.instead for s in matched if s.instead), hint)
    if not found and _relu_of_expected(a, e, tol):  # Note [A ReLU where none belongs]
        found.append(RELU_WHERE_NONE_BELONGS)
    found += generic_signatures(a, e, batch_size)
    lines += [f"looks like: {h}" for h in found]
    details.update(mismatched=bad, total=int(close.size), worst_index=[int(i) for i in worst],
                   signatures=found)
    picture = error_map(name, a, e, close)
    if picture is not None:
        details["error_map"] = picture
    raise CheckFailure("\n".join(lines), hint=hint, details=details)


ERROR_MAP_CELLS = 32


def _grid(levels: np.ndarray) -> tuple[np.ndarray, str]:
    """`levels` laid out in two dimensions, and which axes run along rows and columns."""
    if levels.ndim == 1:
        return levels.reshape(1, -1), "one row: axis 0"
    if levels.ndim == 2:
        return levels, "rows: axis 0, columns: axis 1"
    if levels.ndim == 4:  # (N, C, H, W): one H x W tile per [n, c]
        n, c, h, w = levels.shape
        return (levels.transpose(0, 2, 1, 3).reshape(n * h, c * w),
                "tiles: axis 0 down, axis 1 across; each tile: axes 2 x 3")
    return levels.reshape(levels.shape[0], -1), "rows: axis 0, columns: the other axes flattened"


def error_map(name: str, actual: np.ndarray, expected: np.ndarray,
              close: np.ndarray) -> dict | None:
    """Where output `name` differs from `expected`, as a small grid of levels; Note [Error map]."""
    if actual.ndim == 0 or actual.size < 2:
        return None
    with np.errstate(all="ignore"):
        relative = np.abs(actual - expected) / np.maximum(np.abs(expected), 1e-300)
    levels = np.where(relative < 1e-3, 1, np.where(relative < 1e-1, 2, 3))
    levels = np.where(np.isfinite(actual), levels, 4)
    levels = np.where(close, 0, levels).astype(np.int8)
    grid, layout = _grid(levels)
    rows, cols = grid.shape
    block = (-(-rows // ERROR_MAP_CELLS), -(-cols // ERROR_MAP_CELLS))
    out_rows, out_cols = -(-rows // block[0]), -(-cols // block[1])
    padded = np.zeros((out_rows * block[0], out_cols * block[1]), np.int8)
    padded[:rows, :cols] = grid
    cells = padded.reshape(out_rows, block[0], out_cols, block[1]).max(axis=(1, 3))
    return {"name": name, "grid": ["".join(map(str, row)) for row in cells.tolist()],
            "shape": list(actual.shape), "block": list(block), "layout": layout}


def _number(value) -> str:
    value = complex(value) if np.iscomplexobj(value) else float(value)
    return f"{value:.10g}"


def safe_match(signature: Signature, actual: np.ndarray, expected: np.ndarray) -> bool:
    try:
        return bool(signature.matches(actual, expected))
    except Exception:
        return False


def compare_scalar(name: str, value, expected: float, *, tolerance: Tolerance | None = None,
                   hint: str = "", inputs: dict | None = None,
                   signatures: Iterable[Signature] = ()) -> dict:
    """compare_arrays for one number (a loss), accepting Python or numpy scalars."""
    __tracebackhide__ = True
    from grader.worker.client import Converted
    if isinstance(value, Converted):
        value = value.value
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(())
    return compare_arrays(name, value, np.asarray(expected, dtype=np.float64), inputs=inputs,
                          tolerance=tolerance, hint=hint, signatures=signatures)
