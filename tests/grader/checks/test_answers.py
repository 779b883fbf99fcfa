"""Answers (grader/checks/answers.py): the reference's answers computed once per process and kept
safe from the judge's own writes, and the builders that keep theirs."""

from __future__ import annotations

import numpy as np
import pytest

from grader.checks.answers import Answers, freeze, fresh
from grader.checks.builders import backward_check, forward_check
from grader.checks.spec import CheckFailure, Sample
from reference.cs231n import layers as ref


def test_each_answer_is_computed_once_and_prepare_computes_them_all() -> None:
    computed = []

    def compute(key):
        computed.append(key)
        return {"out": np.arange(3.0) * key, "pair": (np.ones(2), [np.zeros(1)])}

    answers = Answers(compute, keys=(1, 2))
    assert np.array_equal(answers.get(1)["out"], [0.0, 1.0, 2.0])
    answers.get(1)
    assert computed == [1]
    answers.prepare()
    assert computed == [1, 2]


def test_kept_arrays_are_read_only_and_containers_fresh() -> None:
    answers = Answers(lambda key: {"out": np.arange(3.0), "pair": (np.ones(2), [np.zeros(1)])})
    first = answers.get(0)
    with pytest.raises(ValueError):
        first["out"] += 1  # Note [Answers kept per process]: a write into a kept array raises
    with pytest.raises(ValueError):
        first["pair"][1][0][0] = 5.0
    first["out"] = np.full(3, 7.0)  # the check's own copy of the container
    first["pair"][1].append("more")
    again = answers.get(0)
    assert np.array_equal(again["out"], [0.0, 1.0, 2.0]) and len(again["pair"][1]) == 1


def test_freeze_and_fresh_leave_other_values_alone() -> None:
    assert freeze(3.5) == 3.5 and fresh("text") == "text"
    array = np.ones(2)
    assert fresh((array,))[0] is array


SAMPLES = [Sample("N=2", (np.arange(6.0).reshape(2, 3), np.ones((3, 2)), np.zeros(2))),
           Sample("N=1", (np.ones((1, 3)), np.eye(3)[:, :2].copy(), np.ones(2)))]
FORWARD = "import numpy as np\ndef affine_forward(x, w, b):\n    return x @ w + b, (x, w, b)\n"
# a hostile forward: writes into every input, returns a huge array, then a wrong one
HOSTILE = ("import numpy as np\ndef affine_forward(x, w, b):\n    x += 1e6; w *= -1; b[:] = 9\n"
           "    return x @ w + b, None\n")


def _counting(function, calls: list):
    def counted(*args, **kwargs):
        calls.append(1)
        return function(*args, **kwargs)
    return counted


def test_a_forward_check_asks_the_reference_once_and_no_submission_changes_its_answers(
        make_student) -> None:
    calls: list = []
    check = forward_check("affine_forward", "layers", SAMPLES, _counting(ref.affine_forward, calls))
    check.run(make_student({"layers.py": FORWARD}))
    assert len(calls) == 2
    with pytest.raises(CheckFailure):
        check.run(make_student({"layers.py": HOSTILE}))
    check.run(make_student({"layers.py": FORWARD}))  # judged on the same answers and samples
    assert len(calls) == 2
    assert np.array_equal(SAMPLES[0].args[0], np.arange(6.0).reshape(2, 3))


def test_a_backward_check_keeps_its_answers_and_prepare_computes_them_first(make_student) -> None:
    calls: list = []
    check = backward_check("affine_forward", "affine_backward", "layers", SAMPLES,
                           _counting(ref.affine_forward, calls), ref.affine_backward, grad="dx",
                           grad_index=0, wrt=0)
    check.prepare({})
    assert len(calls) == 2
    backward = ("def affine_backward(dout, cache):\n    x, w, b = cache\n"
                "    return dout @ w.T, x.T @ dout, dout.sum(axis=0)\n")
    check.run(make_student({"layers.py": FORWARD + backward}))
    with pytest.raises(CheckFailure):
        check.run(make_student({"layers.py": FORWARD + backward.replace("dout @ w.T", "dout @ w.T * 2")}))
    assert len(calls) == 2

