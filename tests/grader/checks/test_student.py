"""What checks see of a submission (grader/checks/student.py), against a real sandboxed worker."""

from __future__ import annotations

import time

import numpy as np
import pytest

from grader.checks.student import ImportFailure, MissingName
from grader.worker.client import (RESULT, BudgetSpent, Part, StudentError, WorkerCrashed,
                                  WorkerTimeout)

LAYERS = """
import numpy as np

def layer_norm_forward(x, gamma, beta, ln_param):
    return x, None

def relu_forward(x):
    np.maximum(x, 0, out=x)   # in place: writes into its input
    return x, x

def batchnorm_forward(x, bn_param):
    bn_param['running_mean'] = x.mean(axis=0)   # meant to change
    return x, None

def fails(x):
    raise ValueError('negative size')

class Model:
    def __init__(self, d):
        self.params = {'W': np.arange(float(d))}

    def loss(self, x):
        return float(x @ self.params['W'])
"""


def test_missing_function_suggests_the_closest_name(make_student) -> None:
    student = make_student({"layers.py": LAYERS})
    with pytest.raises(MissingName) as info:
        student.require("layers", "layernorm_forward")
    assert info.value.message == "`layernorm_forward` not found in layers.py (did you mean `layer_norm_forward`?)"


def test_missing_function_without_a_close_name(make_student) -> None:
    student = make_student({"layers.py": LAYERS})
    with pytest.raises(MissingName) as info:
        student.call("layers", "conv_forward_naive", np.zeros(1))
    assert info.value.message == "`conv_forward_naive` not found in layers.py"


def test_present_function_is_found_with_its_signature(make_student) -> None:
    student = make_student({"layers.py": LAYERS})
    student.require("layers", "layer_norm_forward")
    assert student.signature("layers", "layer_norm_forward") == "(x, gamma, beta, ln_param)"
    assert "Model" in student.members("layers")


def test_syntax_error_names_file_and_line(make_student) -> None:
    student = make_student({"layers.py": "import numpy as np\n\ndef affine_forward(x, w, b:\n    pass\n"})
    with pytest.raises(ImportFailure) as info:
        student.require("layers", "affine_forward")
    lines = info.value.message.splitlines()
    assert lines[0].startswith("layers.py line 3: SyntaxError: "), lines
    assert "line 3)" not in lines[0], lines  # the place said once (Note [A syntax error's place said once])
    assert lines[1] == "    def affine_forward(x, w, b:"
    assert "Python 2" not in info.value.message


def test_python2_print_gets_a_hint(make_student) -> None:
    student = make_student({"layers.py": "def f(x):\n    print 'x is', x\n    return x\n"})
    with pytest.raises(ImportFailure) as info:
        student.call("layers", "f", 1)
    message = info.value.message
    assert message.startswith("layers.py line 2: SyntaxError: Missing parentheses in call to 'print'")
    assert message.endswith("(This looks like Python 2 syntax; the course uses Python 3.)")


def test_failing_import_shows_the_error_and_traceback(make_student) -> None:
    student = make_student({"layers.py": "import numpy as np\nfrom im2col_cython import col2im\n"})
    with pytest.raises(ImportFailure) as info:
        student.require("layers", "affine_forward")
    message = info.value.message
    assert message.startswith("layers.py could not be imported: ModuleNotFoundError: "
                              "No module named 'im2col_cython'")
    assert 'line 2' in message  # the traceback points at the student's line


def test_call_returns_plain_data_and_student_errors_propagate(make_student) -> None:
    student = make_student({"layers.py": LAYERS})
    result = student.call("layers", "layer_norm_forward", np.ones(2), 1.0, 0.0, {})
    assert isinstance(result.value, tuple) and result.value[1] is None
    np.testing.assert_array_equal(result.value[0], [1.0, 1.0])
    with pytest.raises(StudentError) as info:
        student.call("layers", "fails", np.zeros(1))
    assert info.value.type == "ValueError" and info.value.message == "negative size"


def test_writing_into_an_input_array_is_noted_once(make_student) -> None:
    student = make_student({"layers.py": LAYERS})
    x = np.array([-1.0, 2.0])
    student.call("layers", "relu_forward", x)
    student.call("layers", "relu_forward", x)
    np.testing.assert_array_equal(x, [-1.0, 2.0])  # the judge's copy is untouched
    assert student.notes == ["`relu_forward` wrote into its input args[0]: the grader passed a "
                             "copy, but callers of your function may not expect that"]


def test_changing_a_param_dict_is_not_a_mutation(make_student) -> None:
    student = make_student({"layers.py": LAYERS})
    student.call("layers", "batchnorm_forward", np.ones((3, 2)), {"mode": "train"})
    result = student.call("layers", "batchnorm_forward", np.ones((3, 2)),
                          {"running_mean": np.zeros(2)})
    assert result.mutated == ["args[1]['running_mean']"]
    assert student.notes == []


def test_remote_objects(make_student) -> None:
    student = make_student({"layers.py": LAYERS})
    model = student.new("layers", "Model", 3)
    np.testing.assert_array_equal(model.get("params", "W"), [0.0, 1.0, 2.0])
    first = np.array([1.0, 0.0, 0.0])
    assert model.call("loss", first).value == 0.0
    model.set_item("params", "W", np.ones(3))
    assert model.call("loss", first).value == 1.0
    model.set_attr("params", {"W": np.full(3, 2.0)})
    assert model.call("loss", first).value == 2.0


# -- Note [Fail fast] ---------------------------------------------------------------------------

def test_a_module_that_will_not_import_is_remembered(make_student) -> None:
    student = make_student({"layers.py": "def f(x:\n    pass\n"})
    with pytest.raises(ImportFailure) as first:
        student.require("layers", "f")
    with pytest.raises(ImportFailure) as second:
        student.call("layers", "g", 1)
    assert second.value is first.value


def test_exit_at_import_time_is_an_import_failure(make_student) -> None:
    student = make_student({"layers.py": "import os\nos._exit(3)\n"})
    with pytest.raises(ImportFailure) as info:
        student.require("layers", "f")
    assert info.value.message.startswith("importing layers.py did not finish: the worker process ended")
    assert "(exit status 3)" in info.value.message


def test_a_function_that_timed_out_is_not_called_again(make_student) -> None:
    student = make_student({"layers.py": "def spin(x):\n    while True:\n        pass\n\n"
                                         "def double(x):\n    return 2 * x\n"}, call_timeout_s=1)
    with pytest.raises(WorkerTimeout, match="no reply within the time limit of 1 s"):
        student.call("layers", "spin", 1)
    start = time.monotonic()
    with pytest.raises(WorkerTimeout) as info:
        student.call("layers", "spin", 2)
    assert time.monotonic() - start < 1  # under the call limit: `spin` was not run again
    assert info.value.args[0].startswith("`spin` already ran out of time in an earlier check "
                                         "(no reply within the time limit of 1 s")
    assert info.value.args[0].endswith("it was not called again")
    assert student.call("layers", "double", 4).value == 8  # the rest still runs
    # what a check that words its own refusal asks (tf_norms' _timed, fc_nets' one request)
    assert student.timed_out("layers.spin") and not student.timed_out("layers.double")
    assert not student.crashed("layers.spin")


def test_a_helper_that_runs_student_functions_is_remembered_per_function(make_student) -> None:
    # Note [A course helper remembered per student function]: `run` stands for a course
    # helper (tf_norms' call_with_tensors) that runs the student's function it is named
    source = ("def spin(x):\n    while True:\n        pass\n\n"
              "def double(x):\n    return 2 * x\n\n"
              "def run(name, x):\n    return globals()[name](x)\n")
    student = make_student({"layers.py": source}, call_timeout_s=1)
    with pytest.raises(WorkerTimeout, match="no reply within the time limit of 1 s"):
        student.call("layers", "run", "spin", 1, remember_as="spin")
    assert student.call("layers", "run", "double", 4, remember_as="double").value == 8
    start = time.monotonic()
    with pytest.raises(WorkerTimeout) as info:
        student.call("layers", "run", "spin", 2, remember_as="spin")
    assert time.monotonic() - start < 1  # `spin` was not run again
    assert info.value.args[0].startswith("`spin` already ran out of time in an earlier check")
    # without it, the helper itself is what is remembered, and every later call is refused
    student = make_student({"layers.py": source}, call_timeout_s=1)
    with pytest.raises(WorkerTimeout):
        student.call("layers", "run", "spin", 1)
    with pytest.raises(WorkerTimeout, match="`run` already ran out of time"):
        student.call("layers", "run", "double", 4)


def test_a_function_that_crashed_the_worker_is_not_called_again(make_student) -> None:
    # Note [Fail fast]: the import sleeps, then every function exits: without the memory each
    # check of the function would pay a restart and the slow import again.
    student = make_student({"layers.py": "import os, time\ntime.sleep(0.5)\n"
                                         "def bad(x):\n    os._exit(7)\n\n"
                                         "def double(x):\n    return 2 * x\n"}, call_timeout_s=5)
    with pytest.raises(WorkerCrashed, match="exit status 7"):
        student.call("layers", "bad", 1)
    starts = student.worker.starts
    start = time.monotonic()
    with pytest.raises(WorkerCrashed) as info:
        student.call("layers", "bad", 2)
    assert time.monotonic() - start < 0.3 and student.worker.starts == starts  # no restart
    assert info.value.args[0].startswith("`bad` already crashed the worker in an earlier check "
                                         "(the worker process ended")
    assert info.value.args[0].endswith("it was not called again")
    assert student.call("layers", "double", 4).value == 8  # the rest still runs
    assert student.crashed("layers.bad") and not student.timed_out("layers.bad")
    assert not student.crashed("layers.double")


def test_a_method_that_crashed_the_worker_is_not_called_again(make_student) -> None:
    student = make_student({"layers.py": "import os\nclass Model:\n    def loss(self):\n"
                                         "        os._exit(3)\n"}, call_timeout_s=5)
    model = student.new("layers", "Model")
    with pytest.raises(WorkerCrashed, match="exit status 3"):
        model.call("loss")
    model = student.new("layers", "Model")
    starts = student.worker.starts
    with pytest.raises(WorkerCrashed, match="`Model.loss` already crashed the worker"):
        model.call("loss")
    assert student.worker.starts == starts


def test_the_time_budget_refuses_calls_once_spent_and_cuts_a_running_one(make_student) -> None:
    student = make_student({"layers.py": "import time\ndef nap(s):\n    time.sleep(s)\n    return s\n"},
                           call_timeout_s=10)
    student.worker.start_budget(1.5)
    assert student.call("layers", "nap", 0.1).value == 0.1
    start = time.monotonic()
    with pytest.raises(BudgetSpent, match="what was left of the submission.s time budget of 1.5 s"):
        student.call("layers", "nap", 5)
    assert time.monotonic() - start < 3
    with pytest.raises(BudgetSpent, match="time budget of 1.5 s was spent before this check could run"):
        student.call("layers", "nap", 0)
    assert student.worker.refused == 1


# -- aliases (Note [Aliases]) ---------------------------------------------------------------------

def test_an_alias_stands_for_the_manifest_name_and_says_so(make_student) -> None:
    student = make_student({"layers.py": LAYERS})
    student.aliases = {"batch_norm_forward": ("batchnorm_fwd", "batchnorm_forward"),
                       "conv_forward": ("conv_fwd",)}
    assert student.require("layers", "batch_norm_forward") == "batchnorm_forward"
    assert student.signature("layers", "batch_norm_forward") == "(x, bn_param)"
    out = student.call("layers", "batch_norm_forward", np.ones((2, 3)), {}).value
    assert np.array_equal(out[0], np.ones((2, 3)))
    assert student.notes == ["graded `batchnorm_forward` in layers.py as `batch_norm_forward` "
                             "(an alias the assignment accepts)"]  # once, however often it is used
    with pytest.raises(MissingName, match="`conv_forward` not found in layers.py"):
        student.require("layers", "conv_forward")
    assert student.require("layers", "relu_forward") == "relu_forward"


# -- Note [Streamed calls] (grader/worker/client.py), Note [Worker constants] -------------------

def test_calls_go_as_one_request_and_note_writes_into_inputs(make_student) -> None:
    student = make_student({"layers.py": LAYERS + "\ndef double(x):\n    return 2 * x\n"})
    student.require("layers", "double")
    before = student.worker._next_id
    with student.calls("layers", [("double", (np.ones(2) * i,), {}) for i in range(3)]
                       + [("relu_forward", (np.array([-1.0, 2.0]),), {})]) as calls:
        values = [next(calls).value for _ in range(4)]
    assert student.worker._next_id == before + 1
    assert [v.tolist() for v in values[:3]] == [[0.0, 0.0], [2.0, 2.0], [4.0, 4.0]]
    assert student.notes == ["`relu_forward` wrote into its input args[0]: the grader passed a "
                             "copy, but callers of your function may not expect that"]


def test_a_missing_name_in_calls_is_said_at_its_own_call_after_the_earlier_ones(make_student) -> None:
    """With a name missing the calls go one by one, so what is said, and when, is what separate
    calls say: the first runs, the missing one raises MissingName at its turn."""
    student = make_student({"layers.py": LAYERS})
    with student.calls("layers", [("relu_forward", (np.ones(2),), {}),
                                  ("relu_backward", (np.ones(2), Part(0).item(1)), {})]) as calls:
        np.testing.assert_array_equal(next(calls).value[0], [1.0, 1.0])
        with pytest.raises(MissingName, match="relu_backward"):
            next(calls)


def test_a_call_that_timed_out_in_a_stream_is_remembered_and_not_streamed_again(make_student) -> None:
    student = make_student({"layers.py": "def spin(x):\n    while x:\n        pass\n    return x\n\n"
                                         "def double(x):\n    return 2 * x\n"}, call_timeout_s=1)
    with student.calls("layers", [("double", (1,), {}), ("spin", (1,), {})]) as calls:
        assert next(calls).value == 2
        with pytest.raises(WorkerTimeout, match="no reply within the time limit of 1 s"):
            next(calls)
    start = time.monotonic()
    with student.calls("layers", [("double", (1,), {}), ("spin", (0,), {})]) as calls:
        assert next(calls).value == 2
        with pytest.raises(WorkerTimeout, match="`spin` already ran out of time"):
            next(calls)
    assert time.monotonic() - start < 1  # under the call limit: not streamed again


def test_a_constant_is_made_once_per_worker_process(make_student) -> None:
    student = make_student({"layers.py": "def kind(t):\n    return t.__name__\n"})
    first = student.constant("numpy", "dtype", "float32")
    assert student.constant("numpy", "dtype", "float32") is first
    assert student.call("layers", "kind", first.attr("type")).value == "float32"
    student.worker.close()  # a new process: its handles are its own
    again = student.constant("numpy", "dtype", "float32")
    assert again is not first
    assert student.call("layers", "kind", again.attr("type")).value == "float32"


NET = """
import numpy as np

class Net:
    def __init__(self, d):
        self.params = {'W': np.arange(float(d)), 'b': np.zeros((1, 1))}
        self.calls = 0

    def loss(self, x):
        self.calls += 1
        return float(x @ self.params['W'] + self.params['b'].sum())
"""


def test_an_object_made_with_reads_answers_them_without_another_request(make_student) -> None:
    """Note [Reads folded into a call]: `new(..., reads=...)` reads in the constructor's request;
    `initial` gives what a `get` right after it gave."""
    student = make_student({"layers.py": NET})
    student.members("layers")
    before = student.worker._next_id
    model = student.new("layers", "Net", 3, reads=(("params",),))
    assert student.worker._next_id == before + 1
    np.testing.assert_array_equal(model.initial("params")["W"], [0.0, 1.0, 2.0])
    assert model.initial("params")["b"].shape == (1, 1)
    assert model.initial("calls") == 0  # not read with it: a `get` of its own
    assert student.worker._next_id == before + 2


def test_deferred_sets_go_with_the_next_call_and_a_failing_one_raises_there(make_student) -> None:
    student = make_student({"layers.py": NET + "\nclass Strict(dict):\n"
                                               "    def __setitem__(self, key, value):\n"
                                               "        raise KeyError(key)\n"})
    model = student.new("layers", "Net", 2)
    model.defer_set_items("params", {"W": np.array([2.0, 3.0]), "b": np.ones((1, 1))})
    before = student.worker._next_id
    assert model.call("loss", np.array([1.0, 1.0])).value == 6.0
    assert model.call("loss", np.array([1.0, 0.0])).value == 3.0  # made once, kept
    assert student.worker._next_id == before + 2
    model.set_attr("params", student.call("layers", "Strict").ref)
    model.defer_set_items("params", {"W": np.zeros(2)})
    with pytest.raises(StudentError) as raised:
        model.call("loss", np.array([1.0, 1.0]))
    assert raised.value.index == 0 and raised.value.type == "KeyError"
    assert student.worker.get(model.ref.attr("calls")) == 2  # the call was not made


def test_deferred_sets_come_before_a_calls_own_and_before_a_read(make_student) -> None:
    student = make_student({"layers.py": NET})
    model = student.new("layers", "Net", 2)
    model.defer_set_items("params", {"W": np.array([2.0, 3.0]), "b": np.ones((1, 1))})
    before = student.worker._next_id
    # the call's own set follows the deferred ones, in the same request
    assert model.call("loss", np.ones(2), set_items=("params", {"W": np.zeros(2)})).value == 1.0
    assert student.worker._next_id == before + 1 and model.deferred is None
    model.defer_set_items("params", {"b": np.full((1, 1), 5.0)})
    assert model.get("params", "b").tolist() == [[5.0]]  # made before the read
    assert model.call("loss", np.ones(2)).value == 5.0


def test_calls_may_name_another_module_and_ask_for_reads(make_student) -> None:
    student = make_student({"layers.py": NET, "other.py": "def seed(n):\n    return n + 1\n"})
    with student.calls("layers", [("seed", (1,), {}, {"module": "other"}),
                                  ("Net", (2,), {}, {"reads": [RESULT.attr("params")]})]) as calls:
        assert next(calls).value == 2
        made = next(calls)
    assert made.read(0)["W"].shape == (2,)


def test_method_calls_of_several_objects_go_in_one_request_with_their_sets(make_student) -> None:
    """Student.method_calls: each object's sets, then its method, in one request; an assignment
    that raises is that call's StudentError with its index, at its own `next`."""
    student = make_student({"layers.py": NET + "\nclass Strict(dict):\n"
                                               "    def __setitem__(self, key, value):\n"
                                               "        raise KeyError(key)\n"})
    one, two = student.new("layers", "Net", 2), student.new("layers", "Net", 2)
    before = student.worker._next_id
    questions = [(one, "loss", (np.ones(2),), {}, ("params", {"W": np.array([1.0, 2.0])})),
                 (two, "loss", (np.ones(2),), {}, None)]
    with student.method_calls(questions) as answers:
        assert [next(answers).value, next(answers).value] == [3.0, 1.0]
    assert student.worker._next_id == before + 1
    two.set_attr("params", student.call("layers", "Strict").ref)
    questions = [(one, "loss", (np.ones(2),), {}, None),
                 (two, "loss", (np.ones(2),), {}, ("params", {"W": np.zeros(2)}))]
    with student.method_calls(questions) as answers:
        assert next(answers).value == 3.0
        with pytest.raises(StudentError) as raised:
            next(answers)
    assert raised.value.index == 0 and raised.value.type == "KeyError"


def test_a_library_call_in_a_stream_lists_no_members(make_student) -> None:
    """Note [Library calls in a stream]: made by its import name, nothing described first."""
    student = make_student({"layers.py": NET})
    with student.calls("layers", [("seed", (3,), {}, {"module": "numpy.random", "library": True}),
                                  ("rand", (), {}, {"module": "numpy.random", "library": True}),
                                  ("Net", (2,), {})]) as calls:
        next(calls)
        drawn = next(calls).value
        assert next(calls).ref is not None
    assert drawn == np.random.RandomState(3).rand()
    assert "numpy.random" not in student._members


MODEL_THAT_FAILS = """
import os
import numpy as np

class Model:
    def __init__(self):
        self.params = {'W': np.zeros(2), 'b': 0.0}

    def loss(self, x):
        if self.params['b'] == 13.0:
            os._exit(5)
        if self.params['b'] < 0:
            raise ValueError('negative b')
        return float(x @ self.params['W'] + self.params['b'])
"""


def test_a_failing_method_call_in_a_stream_raises_at_its_own_call(make_student) -> None:
    student = make_student({"layers.py": MODEL_THAT_FAILS}, call_timeout_s=5)
    model = student.new("layers", "Model")
    x = np.ones(2)
    questions = [(model, "loss", (x,), {}, None), (model, "loss", (x,), {}, ("params", {"b": -1.0})),
                 (model, "loss", (x,), {}, None)]
    with student.method_calls(questions) as answers:
        assert next(answers).value == 0.0
        with pytest.raises(StudentError, match="negative b") as raised:
            next(answers)
    assert raised.value.index == -1  # the call raised, not its set
    questions = [(model, "loss", (x,), {}, ("params", {"b": 0.0})),
                 (model, "loss", (x,), {}, ("params", {"b": 13.0}))]
    with student.method_calls(questions) as answers:
        assert next(answers).value == 0.0
        with pytest.raises(WorkerCrashed, match="exit status 5"):
            next(answers)
    # Note [Fail fast]: the method crashed the worker, so its next calls are not streamed and
    # the first is refused as a separate call is
    model = student.new("layers", "Model")
    starts = student.worker.starts
    with student.method_calls([(model, "loss", (x,), {}, None)] * 2) as answers:
        assert answers.stream is None
        with pytest.raises(WorkerCrashed, match="`Model.loss` already crashed the worker"):
            next(answers)
    assert student.worker.starts == starts


def test_a_single_call_sent_ahead_is_sent_at_once_and_answers_as_a_call(make_student) -> None:
    """Note [Judge works while the worker computes]: `method_calls(..., ahead=True)` with one
    call sends it when made (the judge works before reading it), with its sets, and its result,
    StudentError (with the set's index) and crash are those of `RemoteObject.call`."""
    student = make_student({"layers.py": MODEL_THAT_FAILS}, call_timeout_s=5)
    model = student.new("layers", "Model")
    x = np.ones(2)
    before = student.worker._next_id
    with student.method_calls([(model, "loss", (x,), {}, ("params", {"b": 2.0}))],
                              ahead=True) as answers:
        assert student.worker._next_id == before + 1  # sent before anything is read
        assert answers.stream is not None
        assert next(answers).value == 2.0 == model.call("loss", x).value
    with student.method_calls([(model, "loss", (x,), {}, ("params", {"b": -1.0}))],
                              ahead=True) as answers:
        with pytest.raises(StudentError, match="negative b") as raised:
            next(answers)
    assert raised.value.index == -1
    without = student.method_calls([(model, "loss", (x,), {}, ("params", {"b": 2.0}))])
    assert without.stream is None  # one call without `ahead`: sent at its `next`, as before
    assert next(without).value == 2.0
    with student.method_calls([(model, "loss", (x,), {}, ("params", {"b": 13.0}))],
                              ahead=True) as answers:
        with pytest.raises(WorkerCrashed, match="exit status 5"):
            next(answers)
    with pytest.raises(WorkerCrashed, match="`Model.loss` already crashed the worker"):
        student.method_calls([(student.new("layers", "Model"), "loss", (x,), {}, None)],
                             ahead=True).__next__()


SGD_MODEL = """
import os
import numpy as np

class Model:
    def __init__(self, wrong_from=0, crash=False):
        self.params = {'w': np.zeros(2)}
        self.steps, self.wrong_from, self.crash = 0, wrong_from, crash

    def loss(self, X, y):
        self.steps += 1
        if self.crash:
            os._exit(5)
        w = self.params['w']
        residual = X @ w - y
        grad = X.T @ residual / len(y)
        if self.wrong_from and self.steps >= self.wrong_from:
            grad = -grad
        return 0.5 * float(residual @ residual) / len(y), {'w': grad}
"""


def _train(student, model, steps: int, stop_at: int = 0):
    """The judge's loop of Note [Training in few requests]: `ahead`, then `next` per step,
    stopping (as a failed verification would) at step `stop_at`; (requests sent, losses)."""
    from grader.checks.student import RemoteTraining
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((8, 2)), rng.standard_normal(8)
    batches = [rng.choice(8, 4) for _ in range(steps)]
    training = RemoteTraining(model, "loss", "params", {"w": np.zeros(2)}, X, y, 0.1, batches)
    before, losses = student.worker._next_id, []
    try:
        for step in range(steps):
            training.ahead()
            losses.append(training.next(lambda: {"w": np.zeros(2)}).value[0])
            if step + 1 == stop_at:
                break
    finally:
        training.close()
    return student.worker._next_id - before, losses


def test_a_training_goes_in_requests_of_1_3_12_steps(make_student) -> None:
    """Note [Training in few requests]: 20 steps in 4 requests (1, 3, 12, 4 steps); a training
    stopped after its first step made the student's model run that step only, one stopped at
    step 2 at most 4 (the steps of the requests sent)."""
    student = make_student({"layers.py": SGD_MODEL})
    model = student.new("layers", "Model")
    requests, losses = _train(student, model, 20)
    assert requests == 4 and len(losses) == 20 and len(set(losses)) == 20
    assert model.get("steps") == 20 and np.all(model.get("params", "w") != 0)
    model = student.new("layers", "Model")
    assert _train(student, model, 20, stop_at=1)[0] == 1 and model.get("steps") == 1
    model = student.new("layers", "Model")
    assert _train(student, model, 20, stop_at=2)[0] == 2 and model.get("steps") == 4


def test_a_training_that_crashes_is_remembered_and_not_sent_again(make_student) -> None:
    student = make_student({"layers.py": SGD_MODEL}, call_timeout_s=5)
    with pytest.raises(WorkerCrashed, match="exit status 5"):
        _train(student, student.new("layers", "Model", crash=True), 4)
    model = student.new("layers", "Model")
    before = student.worker._next_id
    with pytest.raises(WorkerCrashed, match="`Model.loss` already crashed the worker"):
        _train(student, model, 4)
    assert student.worker._next_id == before and model.get("steps") == 0


# -- Note [Built and asked in one request] -------------------------------------------------------

def test_an_object_built_and_asked_in_one_request_answers_as_in_two(make_student) -> None:
    """`new_and_call`: the object (its reads) and its answer at the values installed "like" (in
    the shape it keeps them in) in one request, the same as `new` then `call`; a constructor
    that raises raises at `model()`; where the class is missing, each makes its own request
    and the missing name is said at `model()`, as `new` says it."""
    student = make_student({"layers.py": LAYERS + """
class Keepdims(Model):
    def __init__(self, d):
        self.params = {'W': np.zeros((1, d))}

    def loss(self, x):
        return float(x @ self.params['W'].ravel()), self.params['W'].shape

class Broken:
    def __init__(self, d):
        raise ValueError('no model')
"""})
    x = np.array([1.0, 2.0, 3.0])
    student.new("layers", "Model", 3)  # started, the module imported and described
    before = student.worker._next_id
    model, answer = student.new_and_call("layers", "Keepdims", (3,), {}, (("params",),),
                                         "loss", (x,), ("params", {"W": np.ones(3)}, "like"))
    np.testing.assert_array_equal(model().initial("params")["W"], np.zeros((1, 3)))
    assert answer().value == (6.0, (1, 3))
    assert student.worker._next_id == before + 1
    model, _ = student.new_and_call("layers", "Broken", (3,), {}, (), "loss", (x,),
                                    ("params", {}, "like"))
    with pytest.raises(StudentError, match="no model"):
        model()
    model, answer = student.new_and_call("layers", "Absent", (3,), {}, (), "loss", (x,),
                                         ("params", {}, "like"))
    with pytest.raises(MissingName):
        model()


@pytest.mark.parametrize("name, candidate, suggested", [
    ("layernorm_forward", "layer_norm_forward", True), ("relu_forward", "relu_fwd", True),
    ("affine_forward", "affine_foward", True), ("sgd_momentum", "sgd_with_momentum", True),
    ("max_pool_forward_naive", "maxpool_forward_naive", True), ("svm_loss", "svm_los", True),
    ("relu_forward", "dropout_forward", False), ("relu_forward", "relu_backward", False),
    ("conv_forward_naive", "conv_backward_naive", False), ("softmax_loss", "svm_loss", False),
    ("spatial_groupnorm_forward", "spatial_batchnorm_forward", False),
    ("batchnorm_backward_alt", "batchnorm_backward", False),
    ("relu_forward", "leaky_relu_forward", False),
])
def test_a_name_is_suggested_only_where_it_could_be_the_same_function(name, candidate,
                                                                      suggested) -> None:
    """Note [Names suggested for a missing one]: another function of the course, close in
    spelling, is not what the student meant."""
    from grader.checks.student import could_be_misnamed
    assert could_be_misnamed(name, candidate) is suggested
