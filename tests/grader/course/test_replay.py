"""grader/course/replay.py: record the reference's answers, replay them without it, never a false pass.

Each test records a small use of the real reference (reference/cs231n) with a
Recorder, saves the tape, and replays the same use with a Replayer: the answers
must be equal (values, dtypes, container types, in-place changes), and any
question the tape does not hold must fail the check, even one that swallows the
error.  No worker is needed: these are the judge-side pieces only.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from grader.course.replay import (Handle, Recorder, ReplayMismatch, Replayer, Snapshot, TapeError,
                           fingerprint)


def bind(session, statement: str) -> dict:
    """Run an import statement as checks.py would, with `session` standing in for reference."""
    namespace = {"__builtins__": session.builtins()}
    exec(statement, namespace)
    return namespace


def record_then_replay(tmp_path, statement: str, use, check_id: str = "c/1"):
    """(what `use` returned while recording, what it returned when replayed)."""
    recorder = Recorder()
    recorded = recorder.run_check(check_id, use, bind(recorder, statement))
    assert not recorder.problems, recorder.problems
    recorder.save(tmp_path)
    replayer = Replayer(tmp_path)
    replayed = replayer.run_check(check_id, use, bind(replayer, statement))
    return recorded, replayed


def assert_same(a, b) -> None:
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, (tuple, list)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            assert_same(a[key], b[key])
    else:
        assert a == b


LAYERS = "from reference.cs231n import layers as ref"


def test_a_function_replays_its_recorded_answer_with_types_kept(tmp_path):
    def use(ns):
        r = np.random.default_rng(0)
        x, w, b = r.standard_normal((2, 3, 4)), r.standard_normal((12, 5)), r.standard_normal(5)
        out, cache = ns["ref"].affine_forward(x, w, b)
        loss, dx = ns["ref"].softmax_loss(out, np.array([1, 4]))
        return out, cache, loss, dx

    recorded, replayed = record_then_replay(tmp_path, LAYERS, use)
    assert_same(recorded, replayed)
    assert isinstance(replayed[2], float)


def test_a_question_with_other_inputs_is_a_mismatch_even_when_the_check_swallows_it(tmp_path):
    recorder = Recorder()
    recorder.run_check("c/1", lambda ns: ns["ref"].relu_forward(np.arange(-2.0, 3.0)),
                       bind(recorder, LAYERS))
    recorder.save(tmp_path)
    replayer = Replayer(tmp_path)
    ns = bind(replayer, LAYERS)

    def swallowing(ns):
        try:
            ns["ref"].relu_forward(np.arange(-2.0, 3.0) + 1e-12)  # not what was recorded
        except ReplayMismatch:
            pass
        return "passed"

    with pytest.raises(ReplayMismatch, match="no recorded reference answer for "
                                             "reference.cs231n.layers.relu_forward"):
        replayer.run_check("c/1", swallowing, ns)
    assert "c/1" in replayer.mismatched
    # the recorded question itself is still answered, and only in its own check
    out, _ = replayer.run_check("c/1", lambda ns: ns["ref"].relu_forward(np.arange(-2.0, 3.0)), ns)
    np.testing.assert_array_equal(out, [0, 0, 0, 1, 2])
    with pytest.raises(ReplayMismatch):
        replayer.run_check("c/2", lambda ns: ns["ref"].relu_forward(np.arange(-2.0, 3.0)), ns)


def test_in_place_changes_to_arguments_are_replayed(tmp_path):
    def use(ns):
        x = np.random.default_rng(1).standard_normal((6, 3))
        bn_param = {"mode": "train", "running_mean": np.zeros(3), "running_var": np.ones(3)}
        running_mean = bn_param["running_mean"]
        ns["ref"].batchnorm_forward(x, np.ones(3), np.zeros(3), bn_param)
        return bn_param, running_mean

    recorded, replayed = record_then_replay(tmp_path, LAYERS, use)
    assert_same(recorded, replayed)
    assert np.any(replayed[0]["running_mean"] != 0)
    # an array the reference replaced (rather than wrote into) is replaced in the replay too
    assert (recorded[0]["running_mean"] is recorded[1]) == (replayed[0]["running_mean"] is replayed[1])


def test_arrays_changed_in_place_are_changed_in_place(tmp_path):
    def use(ns):
        x = np.random.default_rng(5).standard_normal((4, 3))
        bn_param = {"mode": "train", "running_mean": np.zeros(3), "running_var": np.ones(3)}
        config = {"velocity": np.ones(3)}
        velocity = config["velocity"]
        ns["ref"].batchnorm_forward(x, np.ones(3), np.zeros(3), bn_param)
        ns["optim"].sgd_momentum(np.ones(3), np.ones(3), config)
        return config, velocity, config["velocity"] is velocity

    statement = LAYERS + "; from reference.cs231n import optim"
    recorded, replayed = record_then_replay(tmp_path, statement, use)
    assert_same(recorded, replayed)


def test_a_returned_argument_stays_that_argument_across_steps(tmp_path):
    def use(ns):
        r = np.random.default_rng(2)
        w, config, seen = 1 + r.random((2, 3)), None, []
        for _ in range(3):
            w, config = ns["optim"].adam(w, r.random((2, 3)), config)
            seen.append((w, dict(config)))
        return seen

    recorded, replayed = record_then_replay(tmp_path, "from reference.cs231n import optim", use)
    assert_same(recorded, replayed)


NET = "from reference.cs231n.classifiers.fc_net import FullyConnectedNet"


def _params(seed: int = 3) -> dict:
    r = np.random.default_rng(seed)
    return {"W1": r.standard_normal((4, 5)), "b1": r.standard_normal(5),
            "W2": r.standard_normal((5, 3)), "b2": r.standard_normal(3)}


def test_a_reference_object_is_a_handle_whose_uses_are_replayed(tmp_path):
    def use(ns):
        X, y = np.random.default_rng(4).standard_normal((2, 4)), np.array([0, 2])
        net = ns["FullyConnectedNet"]([5], input_dim=4, num_classes=3, dtype=np.float64)
        assert isinstance(net, Handle)
        net.params = _params()
        scores = net.loss(X)
        net.params["W1"][0, 0] += 1.0  # a change the check makes to what it gave the object
        loss, grads = net.loss(X, y)
        return scores, loss, grads, net.reg

    recorded, replayed = record_then_replay(tmp_path, NET, use)
    assert_same(recorded, replayed)


def test_a_handle_state_the_tape_did_not_see_is_a_mismatch(tmp_path):
    recorder = Recorder()

    def use(ns, shift: float):
        net = ns["FullyConnectedNet"]([5], input_dim=4, num_classes=3, dtype=np.float64)
        net.params = _params()
        net.params["b2"] += shift
        return net.loss(np.ones((1, 4)))

    recorder.run_check("c/1", use, bind(recorder, NET), 0.0)
    recorder.save(tmp_path)
    replayer = Replayer(tmp_path)
    replayer.run_check("c/1", use, bind(replayer, NET), 0.0)
    with pytest.raises(ReplayMismatch, match=r"FullyConnectedNet\(\)\.loss"):
        replayer.run_check("c/1", use, bind(replayer, NET), 1.0)


def test_a_handle_cannot_be_used_as_a_value(tmp_path):
    recorder = Recorder()
    ns = bind(recorder, NET)
    net = recorder.run_check("c/1", lambda: ns["FullyConnectedNet"]([5], input_dim=4,
                                                                    num_classes=3))
    with pytest.raises(TypeError):
        iter(net)


def test_a_constant_object_is_a_snapshot_of_its_data(tmp_path):
    def use(ns):
        vector = next(v for v in ns["PUBLISHED"] if v.name == "conv_forward_naive")
        return vector.expected["out"], vector.tolerance, vector

    recorder = Recorder()
    out, tolerance, vector = recorder.run_check("c/1", use, bind(
        recorder, "from reference.published import PUBLISHED"))
    recorder.save(tmp_path)
    replayer = Replayer(tmp_path)
    ns = bind(replayer, "from reference.published import PUBLISHED")
    again, tolerance_again, snapshot = replayer.run_check("c/1", use, ns)
    assert isinstance(snapshot, Snapshot) and tolerance_again == tolerance
    np.testing.assert_array_equal(again, out)
    with pytest.raises(ReplayMismatch, match="reference code"):
        snapshot.compute()
    with pytest.raises(AttributeError, match="no data attribute 'nothing'"):
        snapshot.nothing


def test_what_the_tape_cannot_hold_is_noted_and_the_real_answer_used():
    recorder = Recorder()
    ns = bind(recorder, "from reference.cs231n import gradient_check as gc")
    value = recorder.run_check("c/1", lambda: ns["gc"].eval_numerical_gradient(
        lambda x: float(np.sum(x ** 2)), np.array([1.0, 2.0]), verbose=False))
    np.testing.assert_allclose(value, [2.0, 4.0], rtol=1e-6)
    assert "function" in recorder.problems["c/1"][0]


def test_the_replayer_knows_only_what_was_recorded(tmp_path):
    recorder = Recorder()
    bind(recorder, LAYERS)
    recorder.save(tmp_path)
    replayer = Replayer(tmp_path)
    with pytest.raises(ModuleNotFoundError, match="does not include reference code"):
        bind(replayer, "from reference.torch_nets import barebones")
    ns = bind(replayer, LAYERS)
    with pytest.raises(AttributeError, match="no attribute 'affine_forward' in this release"):
        ns["ref"].affine_forward


def test_the_tape_is_json_and_arrays_without_pickles(tmp_path):
    recorder = Recorder()
    recorder.run_check("c/1", lambda ns: ns["ref"].affine_forward(
        np.ones((1, 2)), np.ones((2, 2)), np.zeros(2)), bind(recorder, LAYERS))
    recorder.save(tmp_path)
    document = json.loads((tmp_path / "tape.json").read_text())
    assert document["schema"] == "grader.tape/1" and "c/1" in document["checks"]
    with np.load(tmp_path / "arrays.npz", allow_pickle=False) as arrays:
        assert arrays.files and all(arrays[name].dtype != object for name in arrays.files)


def test_a_damaged_tape_is_a_clear_error(tmp_path):
    (tmp_path / "tape.json").write_text("{}")
    np.savez(tmp_path / "arrays.npz")
    with pytest.raises(TapeError, match="not a grader.tape/1 document"):
        Replayer(tmp_path)
    with pytest.raises(TapeError, match="cannot read"):
        Replayer(tmp_path / "missing")


def test_fingerprints_see_exact_contents_and_order():
    assert fingerprint({"a": np.zeros(2), "b": 1}) == fingerprint({"a": np.zeros(2), "b": 1})
    assert fingerprint({"a": 1, "b": 2}) != fingerprint({"b": 2, "a": 1})
    assert fingerprint(0.0) != fingerprint(-0.0)
    assert fingerprint(np.zeros(2)) != fingerprint(np.zeros(2, np.float32))
    assert fingerprint(np.zeros((2, 1))) != fingerprint(np.zeros((1, 2)))
    assert fingerprint((1, 2)) != fingerprint([1, 2])
    assert fingerprint(np.float64) != fingerprint(np.float32)
    with pytest.raises(TapeError, match="function"):
        fingerprint(lambda: 0)
    with pytest.raises(TapeError, match="objects"):
        fingerprint(np.array([object()]))


def test_numpy_global_random_state_is_seeded_per_check_and_replayed(tmp_path):
    def use(ns):
        net = ns["FullyConnectedNet"]([5], input_dim=4, num_classes=3)  # draws from np.random
        return net.params["W1"], np.random.random()

    before = np.random.get_state()
    recorded, replayed = record_then_replay(tmp_path, NET, use)
    assert_same(recorded, replayed)
    after = np.random.get_state()
    assert np.array_equal(before[1], after[1]) and before[2] == after[2]  # left as it was
