"""forward_check / backward_check (grader/checks/builders.py) against real submissions in a worker."""

from __future__ import annotations

import numpy as np
import pytest

from grader.checks.builders import backward_check, forward_check
from grader.checks.spec import CheckFailure, Sample
from grader.checks.student import MissingName
from reference.cs231n import layers as ref

ARGS = ("x", "w", "b")


def samples() -> list[Sample]:
    r = np.random.default_rng(0)
    return [Sample("N=2, x (2,3,2)", (r.standard_normal((2, 3, 2)), r.standard_normal((6, 4)),
                                      r.standard_normal(4))),
            Sample("N=1, x (1,5)", (r.standard_normal((1, 5)), r.standard_normal((5, 3)),
                                    r.standard_normal(3)))]


FORWARD = """
def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w, b)
"""
BACKWARD = """
def affine_backward(dout, cache):
    x, w, b = cache
    return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)
"""
HEADER = "import numpy as np\n"

FORWARD_CHECK = forward_check("affine_forward", "layers", samples(), ref.affine_forward,
                              arg_names=ARGS, hint="reshape x first")
DX_CHECK = backward_check("affine_forward", "affine_backward", "layers", samples(),
                          ref.affine_forward, ref.affine_backward, grad="dx", grad_index=0, wrt=0,
                          arg_names=ARGS, hint="dx = dout @ w.T")


def run_failing(check, student) -> CheckFailure:
    with pytest.raises(CheckFailure) as info:
        check.run(student)
    return info.value


def test_ids_and_titles() -> None:
    assert FORWARD_CHECK.id == "affine_forward/out" and FORWARD_CHECK.function == "affine_forward"
    assert DX_CHECK.id == "affine_backward/dx" and DX_CHECK.function == "affine_backward"
    hidden = forward_check("affine_forward", "layers", samples(), ref.affine_forward, hidden=True)
    assert hidden.id == "affine_forward/out_hidden" and hidden.hidden
    assert FORWARD_CHECK.title == "affine_forward: out matches the reference"


def test_forward_check_passes_a_correct_function(make_student) -> None:
    FORWARD_CHECK.run(make_student({"layers.py": HEADER + FORWARD}))


def test_forward_check_fails_a_wrong_one_naming_the_sample(make_student) -> None:
    student = make_student({"layers.py": HEADER + FORWARD.replace(" + b", "")})
    failure = run_failing(FORWARD_CHECK, student)
    lines = failure.message.splitlines()
    assert lines[0].startswith("[sample N=2, x (2,3,2)] out: 8 of 8 entries differ")
    assert "inputs: x: float64[2,3,2], w: float64[6,4], b: float64[4]" in lines
    assert failure.hint == "reshape x first"


def test_forward_check_wrong_shape(make_student) -> None:
    student = make_student({"layers.py": HEADER + "def affine_forward(x, w, b):\n"
                                                  "    return (x.reshape(x.shape[0], -1) @ w + b).T, None\n"})
    failure = run_failing(FORWARD_CHECK, student)
    assert failure.message.startswith("[sample N=2, x (2,3,2)] out: shape (4, 2), expected (2, 4) "
                                      "(same number of entries: a reshape or transpose missing?)")


def test_bare_array_instead_of_out_cache(make_student) -> None:
    student = make_student({"layers.py": HEADER + "def affine_forward(x, w, b):\n"
                                                  "    return x.reshape(x.shape[0], -1) @ w + b\n"})
    failure = run_failing(FORWARD_CHECK, student)
    assert failure.message == ("[sample N=2, x (2,3,2)] `affine_forward` returned ndarray, expected a "
                               "tuple (out, cache) as the course's API specifies")


def test_student_exception_is_reported_with_the_sample(make_student) -> None:
    student = make_student({"layers.py": HEADER + "def affine_forward(x, w, b):\n"
                                                  "    return x @ w + b, None\n"})
    failure = run_failing(FORWARD_CHECK, student)
    assert failure.message.startswith("`affine_forward` raised ValueError: matmul: ")
    assert "on sample 'N=2, x (2,3,2)'" in failure.message
    assert "layers.py" in failure.message  # the traceback's student frame


def test_missing_function_is_not_a_plain_failure(make_student) -> None:
    with pytest.raises(MissingName, match="`affine_forward` not found in layers.py"):
        FORWARD_CHECK.run(make_student({"layers.py": HEADER + BACKWARD}))


def test_backward_check_passes_a_correct_pair(make_student) -> None:
    DX_CHECK.run(make_student({"layers.py": HEADER + FORWARD + BACKWARD}))


def test_wrong_backward_with_right_forward_blames_the_backward(make_student) -> None:
    student = make_student({"layers.py": HEADER + FORWARD
                            + BACKWARD.replace("(dout @ w.T)", "(dout @ w.T + 0.1)")})
    failure = run_failing(DX_CHECK, student)
    assert failure.message.startswith("[sample N=2, x (2,3,2)] dx: ")
    assert failure.message.splitlines()[-1].startswith(
        "your dx is not consistent with your own `affine_forward` either (directional derivative "
        "relative error ")
    assert failure.message.endswith("the bug is in the backward pass")
    assert failure.hint == "dx = dout @ w.T"


def test_wrong_forward_with_consistent_backward_blames_the_forward(make_student) -> None:
    # forward doubles its output, backward doubles dx: consistent with each other, both wrong
    student = make_student({"layers.py": HEADER
                            + FORWARD.replace("@ w + b", "@ (2 * w) + b")
                            + BACKWARD.replace("(dout @ w.T)", "(dout @ (2 * w).T)")})
    failure = run_failing(DX_CHECK, student)
    assert failure.message.splitlines()[-1].startswith(
        "your dx IS consistent with your own `affine_forward` (directional derivative")
    assert failure.message.endswith("the bug is likely in `affine_forward`, not the backward pass")


def test_a_wrong_forward_is_named_first_and_the_backward_is_not_blamed_alone(make_student) -> None:
    # Note [Forward first]: forward forgets the bias, backward is wrong on its own too
    student = make_student({"layers.py": HEADER + FORWARD.replace("@ w + b", "@ w")
                            + BACKWARD.replace("(dout @ w.T)", "(dout @ w.T + 0.1)")})
    lines = run_failing(DX_CHECK, student).message.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("your "))
    assert lines[start] == ("your `affine_forward` is wrong on this sample too: fix it first; a "
                            "correct backward of a wrong forward cannot match")
    assert lines[start + 1].startswith("your dx is not consistent with your own `affine_forward`")
    assert lines[start + 1].endswith("once `affine_forward` is fixed, check the backward pass too")
    assert not any("the bug is in the backward pass" in line for line in lines)


def test_a_right_forward_is_not_named(make_student) -> None:
    student = make_student({"layers.py": HEADER + FORWARD
                            + BACKWARD.replace("(dout @ w.T)", "(dout @ w.T + 0.1)")})
    assert "is wrong on this sample too" not in run_failing(DX_CHECK, student).message


def test_a_gradient_in_a_singleton_shape_is_checked_against_the_own_forward(make_student) -> None:
    db_check = backward_check("affine_forward", "affine_backward", "layers", samples(),
                              ref.affine_forward, ref.affine_backward, grad="db", grad_index=2,
                              wrt=2, arg_names=ARGS)
    student = make_student({"layers.py": HEADER + FORWARD + BACKWARD.replace(
        "dout.sum(axis=0)", "2 * dout.sum(axis=0, keepdims=True)")})
    message = run_failing(db_check, student).message
    assert "(compared in the expected shape: db: shape (1, 4) accepted" in message
    assert "your db is not consistent with your own `affine_forward` either" in message


def test_factor_of_n_in_a_gradient_is_recognised(make_student) -> None:
    student = make_student({"layers.py": HEADER + FORWARD
                            + BACKWARD.replace("(dout @ w.T)", "(x.shape[0] * dout @ w.T)")})
    failure = run_failing(DX_CHECK, student)
    assert "looks like: off by a factor of 2 (which is also N here: a sum where the mean belongs" in failure.message


def test_backward_needs_a_working_forward(make_student) -> None:
    student = make_student({"layers.py": HEADER + "def affine_forward(x, w, b):\n"
                                                  "    raise NotImplementedError('todo')\n" + BACKWARD})
    failure = run_failing(DX_CHECK, student)
    assert failure.message.startswith("`affine_backward` needs your `affine_forward`, which raised "
                                      "NotImplementedError: todo")


def test_backward_that_raises(make_student) -> None:
    student = make_student({"layers.py": HEADER + FORWARD + "def affine_backward(dout, cache):\n"
                                                            "    return cache.dx\n"})
    failure = run_failing(DX_CHECK, student)
    assert failure.message.startswith("`affine_backward` raised AttributeError: ")
    assert "on sample 'N=2, x (2,3,2)'" in failure.message


def test_a_known_mistake_that_raises_is_named(make_student) -> None:
    """Note [Known mistakes that raise]: `raised` names what it recognises in the exception,
    before the traceback, and adds nothing for an exception it does not recognise."""
    def raised(sample: Sample, error) -> str:
        return "the cache is a tuple" if error.type == "AttributeError" else ""

    check = backward_check("affine_forward", "affine_backward", "layers", samples(),
                           ref.affine_forward, ref.affine_backward, grad="dx", grad_index=0, wrt=0,
                           arg_names=ARGS, hint="dx = dout @ w.T", raised=raised)
    named = run_failing(check, make_student({"layers.py": HEADER + FORWARD + (
        "def affine_backward(dout, cache):\n    return cache.dx\n")}))
    assert named.message.splitlines()[1] == "looks like: the cache is a tuple"  # before the traceback
    other = run_failing(check, make_student({"layers.py": HEADER + FORWARD + (
        "def affine_backward(dout, cache):\n    raise KeyError('dx')\n")}))
    assert other.message.startswith("`affine_backward` raised KeyError")
    assert "looks like" not in other.message


def test_an_empty_array_in_the_forwards_cache_is_named_not_the_backward(make_student) -> None:
    """Note [An empty array in the forward's cache]: a forward whose output is right caches an
    empty crop (x[:, pad:-pad] at pad 0); the failure blamed the backward pass (the directional
    note said "the bug is in the backward pass", a known mistake named its crop)."""
    forward = FORWARD.replace("return out, (x, w, b)",
                              "pad = 0\n    return out, (x[:, pad:-pad], w, b)")
    backward = ("def affine_backward(dout, cache):\n    x, w, b = cache\n"
                "    rows = x.reshape(x.shape[0], -1)\n    dw = np.zeros_like(w)\n"
                "    dw[:rows.shape[1]] = rows.T @ dout\n"
                "    return None, dw, dout.sum(axis=0)\n")
    dw_check = backward_check("affine_forward", "affine_backward", "layers", samples(),
                              ref.affine_forward, ref.affine_backward, grad="dw", grad_index=1,
                              wrt=1, arg_names=ARGS, raised=lambda s, e: "a crop in the backward",
                              empty_cache=lambda s: "pad:-pad is 0:0 at pad 0")
    failure = run_failing(dw_check, make_student({"layers.py": HEADER + forward + backward}))
    assert failure.message.startswith("[sample N=2, x (2,3,2)] dw: 24 of 24 entries differ")
    assert failure.message.splitlines()[-1] == (
        "looks like: your `affine_forward` cached an empty array (cache[0], shape (2, 0, 2)) "
        "though no input is empty, and `affine_backward` works from that cache: the cache is "
        "what broke, not the backward pass; pad:-pad is 0:0 at pad 0")
    assert "backward pass\n" not in failure.message and "directional" not in failure.message
    assert "every entry is zero" not in failure.message  # a signature that blames the backward
    assert failure.details["forward_cache"].startswith("your `affine_forward` cached")
    # the same cache where the backward raises: named in place of the backward's known mistake
    raising = backward.replace("return None,", "dx = (dout @ w.T).reshape(x.shape)\n    return dx,")
    failure = run_failing(dw_check, make_student({"layers.py": HEADER + forward + raising}))
    assert failure.message.startswith("`affine_backward` raised ValueError")
    assert failure.message.splitlines()[1].startswith("looks like: your `affine_forward` cached an "
                                                      "empty array (cache[0], shape (2, 0, 2))")
    assert "a crop in the backward" not in failure.message
    # a placeholder np.array([]) beside a wrong backward is not taken for a broken cache
    placeholder = FORWARD.replace("return out, (x, w, b)", "return out, (x, w, b, np.array([]))")
    failure = run_failing(DX_CHECK, make_student({"layers.py": HEADER + placeholder + BACKWARD.replace(
        "x, w, b = cache", "x, w, b, _ = cache").replace("(dout @ w.T)", "(dout @ w.T + 0.1)")}))
    assert "cached an empty array" not in failure.message
    assert failure.message.endswith("the bug is in the backward pass")
    # an empty array in a cache the backward pass gets right costs nothing
    unused = FORWARD.replace("return out, (x, w, b)", "return out, (x, w, b, x[:, 0:0])")
    DX_CHECK.run(make_student({"layers.py": HEADER + unused + BACKWARD.replace(
        "x, w, b = cache", "x, w, b, _ = cache")}))


def test_mutating_inputs_produces_a_note(make_student) -> None:
    relu = forward_check("relu_forward", "layers", [Sample("x (3,4)", (np.linspace(-1, 1, 12).reshape(3, 4),))],
                         ref.relu_forward, arg_names=("x",))
    student = make_student({"layers.py": HEADER + "def relu_forward(x):\n"
                                                  "    x[x < 0] = 0\n    return x, x\n"})
    relu.run(student)  # right values: it passes
    assert student.notes == ["`relu_forward` wrote into its input args[0]: the grader passed a copy, "
                             "but callers of your function may not expect that"]
