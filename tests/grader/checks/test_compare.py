"""Comparing student values with the reference (grader/checks/compare.py, Notes [Tolerances], [Failure messages])."""

from __future__ import annotations

import numpy as np
import pytest

from grader.checks import compare
from grader.checks.compare import (EXACT, Signature, Tolerance, collecting_notes, compare_arrays,
                                   compare_scalar, in_shape, matches, record_note,
                                   same_up_to_singletons, summarize, summarize_inputs,
                                   tolerance_for)
from grader.checks.spec import CheckFailure
from grader.worker.client import Converted, Opaque


def expected_array(shape=(4, 3), dtype=np.float64, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def failure(*args, **kwargs) -> CheckFailure:
    with pytest.raises(CheckFailure) as info:
        compare_arrays(*args, **kwargs)
    return info.value


# -- passing -------------------------------------------------------------------------------------

def test_float64_within_tolerance_passes_and_reports_errors() -> None:
    e = expected_array()
    details = compare_arrays("out", e * (1 + 1e-8), e)
    assert 0 < details["max_rel_error"] < 2e-8
    assert details["rtol"] == 1e-6 and details["atol"] == 1e-9


def test_float64_just_outside_tolerance_fails() -> None:
    e = expected_array()
    f = failure("out", e * (1 + 1e-5), e)
    assert f.message.startswith("out: 12 of 12 entries differ")


@pytest.mark.filterwarnings("ignore::numpy.exceptions.ComplexWarning")  # failure messages' signatures
@pytest.mark.parametrize("kind", ["float64", "complex128"])
def test_close_entries_are_those_np_isclose_finds_among_the_finite_ones(kind) -> None:
    """Note [Closeness in ufuncs]: compare_arrays passes exactly when np.isclose(a, e) holds at
    every entry where a is finite (and a has no other entry), and counts the same mismatches,
    infinities and NaN on either side included."""
    rng = np.random.default_rng(7)
    specials = [np.inf, -np.inf, np.nan, 0.0, 1e300, -1e-300]
    tol = Tolerance(rtol=1e-7, atol=1e-9)
    for trial in range(300):
        expected = rng.standard_normal(12)
        actual = expected + rng.choice([0.0, 1e-12, 1e-9, 1e-3], size=12)
        if kind == "complex128":
            expected = expected + 1j * rng.standard_normal(12)
            actual = actual + 1j * expected.imag
        for values in (actual, expected):
            hit = rng.random(12) < 0.15
            values[hit] = rng.choice(specials, size=int(hit.sum()))
        close = np.isclose(actual, expected, rtol=tol.rtol, atol=tol.atol) & np.isfinite(actual)
        with np.errstate(invalid="ignore", over="ignore"):
            if close.all():
                compare_arrays("x", actual, expected, tolerance=tol)
                continue
            with pytest.raises(CheckFailure, match=f"x: {int((~close).sum())} of 12 entries differ"):
                compare_arrays("x", actual, expected, tolerance=tol)


def test_float32_gets_the_float32_tolerance() -> None:
    e = expected_array(dtype=np.float32)
    a = (e * np.float32(1 + 1e-5)).astype(np.float32)
    compare_arrays("out", a, e)  # rel 1e-5: fine for float32
    with pytest.raises(CheckFailure):
        compare_arrays("out", a.astype(np.float64), e.astype(np.float64))  # not for float64


def test_tolerance_table_and_override() -> None:
    assert tolerance_for(np.zeros(1, np.float32)) == Tolerance(1e-4, 1e-6)
    assert tolerance_for(np.zeros(1, np.int64)) == EXACT
    assert tolerance_for(np.zeros(1, bool)) == EXACT
    assert tolerance_for(np.zeros(1), Tolerance(0.5, 0.0)) == Tolerance(0.5, 0.0)
    e = expected_array()
    compare_arrays("out", e * 1.1, e, tolerance=Tolerance(rtol=0.2, atol=0.0))


def test_tolerance_does_not_grow_with_size() -> None:
    small, large = expected_array((2,)), expected_array((300, 300))
    for e in (small, large):
        with pytest.raises(CheckFailure):
            compare_arrays("out", e * (1 + 1e-5), e)


def test_integer_results_must_be_exact() -> None:
    compare_arrays("y", np.array([1, 2, 3]), np.array([1, 2, 3]))
    f = failure("y", np.array([1, 2, 4]), np.array([1, 2, 3]))
    assert f.message.startswith("y: 1 of 3 entries differ")
    assert "worst at y[2]: got 4, expected 3" in f.message


def test_python_scalar_and_bool_arrays_are_accepted() -> None:
    compare_arrays("x", 2.0, np.array(2.0))
    compare_arrays("mask", np.array([True, False]), np.array([True, False]))


# -- failure messages, in their one order ------------------------------------------------------

def test_shape_comes_first_and_stops_there() -> None:
    e = expected_array((4, 3))
    f = failure("dx", np.zeros((3, 5)), e, inputs={"x": e}, hint="reshape")
    assert f.message.splitlines()[0] == "dx: shape (3, 5), expected (4, 3)"
    assert "inputs: x: float64[4,3]" in f.message
    assert "entries differ" not in f.message
    assert f.hint == "reshape"
    assert f.details == {"shape": [3, 5], "expected_shape": [4, 3]}


def test_same_size_wrong_shape_suggests_a_reshape() -> None:
    f = failure("dx", np.zeros((3, 4)), expected_array((4, 3)))
    assert "(same number of entries: a reshape or transpose missing?)" in f.message


# -- Note [Singleton axes] ------------------------------------------------------------------------

@pytest.mark.parametrize("shape, expected", [((1, 5), (5,)), ((5,), (1, 5)), ((1, 3, 1, 1), (3,)),
                                             ((1, 3), (1, 3, 1, 1)), ((5, 1), (5,)), ((1,), ())])
def test_singleton_axes_are_accepted_with_a_note(shape, expected) -> None:
    e = expected_array(expected)
    with collecting_notes() as notes:
        details = compare_arrays("dgamma", e.reshape(shape), e)
    note = f"dgamma: shape {shape} accepted; the course's shape is {expected}"
    assert notes == [details["shape_note"]] and details["shape_note"].startswith(note)


def test_a_singleton_shape_that_broadcasts_differently_is_accepted_with_a_caution() -> None:
    e = expected_array((5,))
    assert "careful" not in compare_arrays("db", e.reshape(1, 5), e)["shape_note"]
    note = compare_arrays("db", e.reshape(5, 1), e)["shape_note"]
    assert "careful: numpy does not line up (5, 1) with (5,)" in note and "(5, 5)" in note


@pytest.mark.parametrize("shape, expected", [((3, 2), (2, 3)), ((4,), (5,)), ((2, 2), (4,)),
                                             ((1, 4), (5,)), ((2, 1, 3), (3, 2)), ((5, 5), (5,))])
def test_every_other_shape_difference_is_still_wrong(shape, expected) -> None:
    with collecting_notes() as notes:
        f = failure("dx", np.zeros(shape), expected_array(expected))
    assert f.message.startswith(f"dx: shape {shape}, expected {expected}")
    assert notes == [] and not same_up_to_singletons(shape, expected)


def test_wrong_values_in_a_singleton_shape_still_fail_and_say_how_they_were_read() -> None:
    e = expected_array((5,))
    wrong = 2 * e.reshape(1, 5)
    f = failure("dgamma", wrong, e, signatures=[Signature(lambda a, x: a.shape == x.shape, "seen")])
    assert f.message.startswith("dgamma: 5 of 5 entries differ")
    assert "(compared in the expected shape: dgamma: shape (1, 5) accepted" in f.message
    assert "looks like: seen" in f.message  # signatures see the array in the expected shape
    assert f.details["worst_index"][0] < 5


def test_notes_are_kept_only_inside_collecting_notes_and_not_by_matches() -> None:
    e = expected_array((3,))
    compare_arrays("db", e.reshape(1, 3), e)  # no collector: nothing to record, no error
    with collecting_notes() as notes:
        assert matches(e.reshape(1, 3), e) and not matches(e.reshape(1, 3) + 1, e)
    assert notes == []


def test_in_shape_reshapes_only_across_singleton_axes() -> None:
    b = np.arange(4.0)
    assert in_shape(b, (1, 4)).shape == (1, 4)
    assert in_shape(b, (4,)) is b
    assert in_shape(b, (2, 2)) is b  # not the same up to singleton axes: left as it is
    assert in_shape([1.0], (1,)) == [1.0]


def test_non_numeric_dtype_is_reported() -> None:
    f = failure("out", np.array(["a", "b"]), np.zeros(2))
    assert f.message == "out: dtype <U1, expected float64"


def test_value_mismatch_message_order() -> None:
    e = np.arange(1.0, 7.0).reshape(2, 3)
    a = e.copy()
    a[1, 2] += 0.5   # the worst entry
    a[0, 0] += 0.01
    signature = Signature(lambda a, e: True, "the last entry is off")
    f = failure("out", a, e, inputs={"x": e, "eps": 1e-5}, signatures=[signature],
                hint="use the mean", batch_size=2)
    lines = f.message.splitlines()
    assert lines[0] == ("out: 2 of 6 entries differ (max abs error 0.5, max rel error 0.0833; "
                        "tolerance rtol=1e-06, atol=1e-09)")
    assert lines[1] == "worst at out[1, 2]: got 6.5, expected 6"
    assert lines[2] == "inputs: x: float64[2,3], eps: 1e-05"
    assert lines[3] == "looks like: the last entry is off"
    assert len(lines) == 4
    assert f.hint == "use the mean"
    assert f.details["mismatched"] == 2 and f.details["total"] == 6
    assert f.details["worst_index"] == [1, 2]
    assert f.details["signatures"] == ["the last entry is off"]


def test_worst_index_is_relative_to_tolerance() -> None:
    # abs error 1e-3 on an entry of 1e6 is fine; abs error 1e-4 on an entry of 1 is not.
    e = np.array([1e6, 1.0])
    f = failure("out", e + np.array([1e-3, 1e-4]), e)
    assert f.message.splitlines()[0].startswith("out: 1 of 2 entries differ")
    assert "worst at out[1]" in f.message


def test_a_signature_that_raises_is_ignored() -> None:
    e = expected_array()

    def broken(a, e):
        raise ZeroDivisionError

    f = failure("out", e + 1, e, signatures=[Signature(broken, "never shown")])
    assert "never shown" not in f.message


def test_nan_and_inf_entries_fail_and_are_counted() -> None:
    e = np.ones((2, 2))
    a = e.copy()
    a[0, 1] = np.nan
    a[1, 0] = np.inf
    f = failure("out", a, e)
    assert f.message.splitlines()[0].startswith("out: 2 of 4 entries differ (max abs error inf")
    assert f.message.splitlines()[1] == "2 entries are NaN or infinite"
    assert "worst at out[0, 1]: got nan, expected 1" in f.message
    assert not any(line.startswith("looks like") for line in f.message.splitlines())


# -- generic signatures ------------------------------------------------------------------------

@pytest.mark.parametrize("transform, batch_size, hint", [
    (lambda e: 8 * e, 8, "off by a factor of N = 8: a sum where the mean belongs"),
    (lambda e: e / 8, 8, "off by a factor of 1/N = 1/8: divided by N once too often"),
    (lambda e: -e, 8, "the sign is flipped everywhere"),
    (lambda e: np.zeros_like(e), 8, "every entry is zero: is the result computed but never assigned"),
    (lambda e: e.T, None, "the result is the transpose of the expected one"),
    (lambda e: 2.5 * e, 8, "off by a constant factor of 2.5 everywhere"),
    (lambda e: 8 * e, None, "off by a constant factor of 8 everywhere"),
], ids=["factor_N", "factor_1_over_N", "sign", "zeros", "transpose", "constant", "N_unknown"])
def test_generic_signatures(transform, batch_size, hint) -> None:
    e = expected_array((4, 4), seed=3)
    f = failure("dx", transform(e), e, batch_size=batch_size)
    found = [line for line in f.message.splitlines() if line.startswith("looks like: ")]
    assert len(found) == 1, f.message
    assert found[0].startswith("looks like: " + hint), found


def test_a_relu_where_none_belongs_is_named_unless_a_signature_named_the_failure() -> None:
    """Note [A ReLU where none belongs]: scores of a network that ends with affine_relu_forward."""
    e = expected_array((4, 5), seed=3)
    assert np.any(e < 0) and np.any(e > 0)
    f = failure("scores", np.maximum(e, 0), e)
    found = [line for line in f.message.splitlines() if line.startswith("looks like: ")]
    assert found == ["looks like: " + compare.RELU_WHERE_NONE_BELONGS], f.message
    own = Signature(lambda a, x: True, "the check's own name for it")
    f = failure("scores", np.maximum(e, 0), e, signatures=[own])
    assert "a ReLU is applied" not in f.message and "the check's own name for it" in f.message
    # not for a clip that misses one negative entry, nor where nothing was negative
    almost = np.maximum(e, 0)
    almost[np.unravel_index(np.argmin(e), e.shape)] = e.min()
    almost[0, 0] += 1.0
    assert "a ReLU is applied" not in failure("scores", almost, e).message
    positive = np.abs(e) + 0.1
    assert "a ReLU is applied" not in failure("scores", positive * 2, positive).message


@pytest.mark.parametrize("shape", [(2, 5), (3, 2, 4), (4, 6)])
def test_an_array_transposed_then_reshaped_back_is_named(shape) -> None:
    """Note [Transposed, then reshaped back]: dx = (w @ dout.T).reshape(x.shape)."""
    e = expected_array(shape, seed=5)
    n = shape[0]
    f = failure("dx", e.reshape(n, -1).T.reshape(shape), e)
    found = [line for line in f.message.splitlines() if line.startswith("looks like: ")]
    assert len(found) == 1 and "its first axis last, reshaped to" in found[0], f.message


def test_no_signature_for_an_unrelated_error() -> None:
    e = expected_array((4, 4), seed=3)
    f = failure("dx", e + expected_array((4, 4), seed=4), e, batch_size=4)
    assert "looks like" not in f.message
    assert f.details["signatures"] == []


# -- what comes back is not an array ------------------------------------------------------------

@pytest.mark.parametrize("value, described", [
    (Opaque("MyTensor"), "returned an object of type MyTensor"),
    ([1.0, 2.0], "returned list (1.0, 2.0)"),
    ({"out": 1}, "returned dict {out: 1}"),
    (Converted("Tensor", [1.0, 2.0]), "returned a Tensor"),
])
def test_non_array_returns_say_what_came_back(value, described) -> None:
    f = failure("out", value, np.zeros((2, 3)), hint="return an array")
    assert f.message == f"out: {described}, expected an array float64[2,3]"
    assert f.hint == "return an array"


def test_none_says_the_todo_may_be_empty() -> None:
    f = failure("out", None, np.zeros((2, 3)), hint="return an array")
    assert f.message == ("out: returned None, expected an array float64[2,3] (the course's code "
                         "returns None until its TODO block is filled in; or a `return` is "
                         "missing)")


def test_converted_arrays_are_compared() -> None:
    e = expected_array()
    compare_arrays("out", Converted("torch.Tensor", e.copy()), e)
    f = failure("out", Converted("torch.Tensor", e + 1), e)
    assert "entries differ" in f.message


# -- scalars -------------------------------------------------------------------------------------

# What crosses the wire: numpy scalars arrive as 0-d arrays (grader/worker/runtime.py, to_plain).
@pytest.mark.parametrize("value", [2.302585, np.float64(2.302585), np.asarray(np.float32(2.302585)),
                                   np.array([2.302585]), Converted("Tensor", 2.302585)],
                         ids=["float", "np.float64", "float32_0d", "array1", "converted"])
def test_scalar_accepts_any_number_like(value) -> None:
    compare_scalar("loss", value, 2.302585, tolerance=Tolerance(1e-6, 1e-6))


def test_scalar_mismatch_message() -> None:
    with pytest.raises(CheckFailure) as info:
        compare_scalar("loss", 4.6, 2.3, inputs={"x": np.zeros((5, 10))}, hint="average over N")
    lines = info.value.message.splitlines()
    assert lines[0].startswith("loss: 1 of 1 entries differ (max abs error 2.3, max rel error 1")
    assert lines[1] == "worst at loss: got 4.6, expected 2.3"
    assert lines[2] == "inputs: x: float64[5,10]"
    assert len(lines) == 3  # two single numbers always differ by "a constant factor": not said
    assert info.value.hint == "average over N"


def test_scalar_that_is_not_a_number() -> None:
    with pytest.raises(CheckFailure) as info:
        compare_scalar("loss", (1.0, 2.0), 2.3)
    assert info.value.message == "loss: returned tuple (1.0, 2.0), expected an array float64[]"


# -- summaries ---------------------------------------------------------------------------------

def test_summarize() -> None:
    assert summarize(np.zeros((4, 3, 8, 8), np.float32)) == "float32[4,3,8,8]"
    assert summarize(3) == "3"
    assert summarize(None) == "None"
    assert summarize("x" * 50) == "'" + "x" * 36 + "..."
    assert summarize({"mode": "train", "eps": 1e-5}) == "{mode: 'train', eps: 1e-05}"
    assert summarize((np.zeros(2), 1)) == "(float64[2], 1)"
    assert summarize(list(range(10))) == "list"
    assert summarize(object()) == "object"
    assert summarize_inputs({"x": np.zeros((2, 3)), "p": 0.5}) == "x: float64[2,3], p: 0.5"


# -- error map (Note [Error map]) ------------------------------------------------------------------

def test_error_map_levels_for_a_2d_result() -> None:
    e = np.ones((3, 4))
    a = e.copy()
    a[0, 1] = 1 + 1e-4   # relative error 1e-4: level 1
    a[1, 2] = 1.05       # 5e-2: level 2
    a[2, 3] = 3.0        # 2: level 3
    a[2, 0] = np.nan     # level 4
    m = failure("dx", a, e).details["error_map"]
    assert m == {"name": "dx", "grid": ["0100", "0020", "4003"], "shape": [3, 4], "block": [1, 1],
                 "layout": "rows: axis 0, columns: axis 1"}


def test_error_map_lays_out_4d_as_a_mosaic_of_tiles() -> None:
    e = expected_array((2, 3, 4, 5))
    a = e.copy()
    a[1, 2, 3, 4] += 1.0  # tile row 1, tile column 2, last entry of the tile
    m = failure("dx", a, e).details["error_map"]
    assert len(m["grid"]) == 2 * 4 and all(len(row) == 3 * 5 for row in m["grid"])
    bad = [(r, c) for r, row in enumerate(m["grid"]) for c, level in enumerate(row) if level != "0"]
    assert bad == [(1 * 4 + 3, 2 * 5 + 4)]


def test_error_map_is_capped_in_size_and_keeps_the_worst_level() -> None:
    e = expected_array((1000, 700))
    a = e.copy()
    a[500, 350] = np.inf
    a[10:20] *= 1 + 1e-2
    m = failure("dx", a, e).details["error_map"]
    assert len(m["grid"]) <= 32 and all(len(row) <= 32 for row in m["grid"])
    assert m["block"] == [32, 22]
    assert m["grid"][500 // 32][350 // 22] == "4"
    assert set(m["grid"][0]) == {"2"} and set(m["grid"][5]) == {"0"}
    import json
    assert len(json.dumps(m)) < 1500


def test_error_map_holds_levels_only_and_skips_single_numbers() -> None:
    e = np.array([123.456, 7.0])
    m = failure("out", np.array([1.0, 7.0]), e).details["error_map"]
    assert set(m) == {"name", "grid", "shape", "block", "layout"}
    assert m["grid"] == ["30"] and "123" not in str(m)
    with pytest.raises(CheckFailure) as info:
        compare_scalar("loss", 4.6, 2.3)
    assert "error_map" not in info.value.details
    assert "error_map" not in failure("out", np.zeros((2, 2)), np.ones((3, 2))).details  # shape first


def test_hidden_checks_lose_their_error_maps_at_the_plugin() -> None:
    from grader.scoring import plugin
    from grader.checks.spec import Check
    from grader.checks.student import Student

    def wrong(student) -> None:
        try:
            compare_arrays("dx", np.zeros((2, 2)), np.ones((2, 2)))
        except CheckFailure as f:  # nested, as model checks report one map per parameter
            raise CheckFailure(f.message, details={**f.details, "W1": dict(f.details)}) from None

    checks = (Check("f/visible", "f", "visible", wrong), Check("f/hidden", "f", "hidden", wrong, hidden=True))
    visible, hidden = plugin.run(checks, Student(worker=None, modules={}), {"f/visible": 1, "f/hidden": 1})
    assert "error_map" in visible.details and "error_map" in visible.details["W1"]
    assert "error_map" not in hidden.details and "error_map" not in hidden.details["W1"]
    assert hidden.details["mismatched"] == 4  # the rest of the details stay


def test_a_value_that_could_not_cross_the_wire_is_summarized_by_what_it_is() -> None:
    """Note [What could not cross the wire]."""
    assert compare.summarize(Opaque("dict with non-string keys")) == "<dict with non-string keys>"
    assert compare.summarize({"W1": Opaque("MyLayer")}) == "{W1: <MyLayer>}"
def test_a_recorded_note_joins_the_running_checks_notes_once():
    with collecting_notes() as notes:
        record_note("params also holds gamma1: accepted")
        record_note("params also holds gamma1: accepted")
    assert notes == ["params also holds gamma1: accepted"]
    record_note("outside a check: nowhere to go, and no error")


def test_a_matching_signature_with_instead_replaces_the_hint() -> None:
    """Note [A named cause replaces a hint that points elsewhere]: the first matching
    signature's `instead` is the hint; one that does not match, or has none, leaves it."""
    e = np.arange(6.0).reshape(2, 3)
    elsewhere = Signature(lambda a, x: True, "the slip is in another layer", instead="look there")
    missed = Signature(lambda a, x: False, "never shown", instead="never given")
    plain = Signature(lambda a, x: True, "a slip here")
    f = failure("out", e + 1, e, hint="look here", signatures=[missed, plain, elsewhere])
    assert f.hint == "look there"
    assert "looks like: a slip here" in f.message and "the slip is in another layer" in f.message
    assert failure("out", e + 1, e, hint="look here", signatures=[missed, plain]).hint == "look here"
