"""Tests for reference/cs231n/solver.py: schedule, histories, learning-rate decay, best parameters, randomness."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from reference.cs231n import optim
from reference.cs231n.classifiers.fc_net import FullyConnectedNet
from reference.cs231n.solver import Solver


class ScriptedModel:
    """A model whose accuracy follows a script, to test the Solver's bookkeeping.

    params {'t': (1,)}; the gradient is always -1, so sgd with learning rate 1
    adds one to t per update.  Column 0 of X holds each row's index; the model
    predicts class 0 for rows with index < accuracy_script[t] and class 1
    otherwise, so on all-zero labels of N rows the accuracy is script[t] / N.
    Every training call records the row indices of its minibatch.
    """

    def __init__(self, accuracy_script=None):
        self.params = {"t": np.zeros(1)}
        self.script = accuracy_script or {}
        self.batches = []

    def loss(self, X, y=None):
        t = int(round(self.params["t"][0]))
        if y is None:
            correct = X[:, 0] < self.script.get(t, 0)
            return np.stack([correct, ~correct], axis=1).astype(float)
        self.batches.append(X[:, 0].astype(int))
        return float(t), {"t": -np.ones(1)}


def _indexed_data(num_train, num_val):
    """X's first column is the row index; all labels 0."""
    return {"X_train": np.arange(num_train, dtype=float)[:, None], "y_train": np.zeros(num_train, int),
            "X_val": np.arange(num_val, dtype=float)[:, None], "y_val": np.zeros(num_val, int)}


def _quiet(model, data, **kwargs):
    kwargs.setdefault("update_rule", "sgd")
    kwargs.setdefault("optim_config", {"learning_rate": 1.0})
    return Solver(model, data, verbose=False, **kwargs)


def _blobs(seed=0, n=60, d=5, c=3):
    """Seeded, well-separated Gaussian blobs: X (n, d), y (n,)."""
    rng = np.random.RandomState(seed)
    centres = 3.0 * rng.randn(c, d)
    y = rng.randint(c, size=n)
    return centres[y] + rng.randn(n, d), y


# --------------------------------------------------------------------------
# Schedule and histories
# --------------------------------------------------------------------------

@pytest.mark.parametrize("num_train, batch_size, num_epochs, iterations, evaluations", [
    (50, 25, 20, 40, 21),   # the course's overfitting cells: 2 updates per epoch
    (55, 25, 3, 6, 4),      # a partial batch does not make an extra update
    (10, 25, 3, 3, 3),      # one update per epoch: the first update is also an epoch end
])
def test_history_lengths(num_train, batch_size, num_epochs, iterations, evaluations):
    solver = _quiet(ScriptedModel(), _indexed_data(num_train, 5), batch_size=batch_size,
                    num_epochs=num_epochs)
    solver.train()
    assert len(solver.loss_history) == iterations
    assert len(solver.train_acc_history) == evaluations
    assert len(solver.val_acc_history) == evaluations
    assert solver.epoch == num_epochs
    assert all(len(batch) == batch_size for batch in solver.model.batches)


def test_learning_rate_decays_once_per_epoch():
    seen = []

    def spy(w, dw, config):
        seen.append(config["learning_rate"])
        return optim.sgd(w, dw, config)

    solver = _quiet(ScriptedModel(), _indexed_data(30, 5), update_rule=spy,
                    optim_config={"learning_rate": 0.8}, lr_decay=0.5, batch_size=10,
                    num_epochs=4)
    solver.train()
    expected = [0.8 * 0.5 ** (t // 3) for t in range(12)]
    np.testing.assert_allclose(seen, expected, rtol=1e-15)
    assert solver.optim_configs["t"]["learning_rate"] == pytest.approx(0.8 * 0.5 ** 4, rel=1e-15)
    assert solver.optim_config == {"learning_rate": 0.8}  # the shared template is not decayed


def test_best_params_are_taken_at_the_first_best_validation_accuracy():
    # 10 training rows, batch 5: evaluations after updates t = 1, 2, 4, 6, 8.
    script = {1: 3, 2: 5, 4: 8, 6: 8, 8: 2}
    solver = _quiet(ScriptedModel(script), _indexed_data(10, 10), batch_size=5, num_epochs=4)
    solver.train()
    assert solver.val_acc_history == [0.3, 0.5, 0.8, 0.8, 0.2]
    assert solver.best_val_acc == 0.8
    assert solver.best_params["t"][0] == 4          # ties keep the earlier parameters
    assert solver.model.params["t"][0] == 4         # and train() installs them
    assert solver.loss_history == [float(t) for t in range(8)]


def test_best_params_are_copies():
    """An update rule that writes into w (as the course's starter sgd does) cannot reach best_params."""

    def in_place_sgd(w, dw, config):
        w -= config["learning_rate"] * dw
        return w, config

    solver = _quiet(ScriptedModel({1: 5}), _indexed_data(10, 10), update_rule=in_place_sgd,
                    batch_size=5, num_epochs=2)
    solver.train()
    assert solver.val_acc_history == [0.5, 0.0, 0.0]
    assert solver.model.params["t"][0] == 1


def test_zero_validation_accuracy_keeps_the_first_parameters():
    """See Note [Best parameters]: the model never ends up with an empty params dict."""
    solver = _quiet(ScriptedModel(), _indexed_data(10, 10), batch_size=5, num_epochs=2)
    solver.train()
    assert solver.val_acc_history == [0.0, 0.0, 0.0]
    assert solver.model.params["t"][0] == 1


# --------------------------------------------------------------------------
# Randomness
# --------------------------------------------------------------------------

def test_seed_gives_a_private_reproducible_stream():
    data = _indexed_data(40, 5)
    runs = []
    for _ in range(2):
        np.random.seed(123)  # global state must not matter
        solver = _quiet(ScriptedModel(), data, batch_size=8, num_epochs=2, seed=7)
        solver.train()
        runs.append(solver.model.batches)
    rng = np.random.RandomState(7)
    assert np.array_equal(runs[0][0], rng.choice(40, 8))
    assert all(np.array_equal(a, b) for a, b in zip(*runs))
    other = _quiet(ScriptedModel(), data, batch_size=8, num_epochs=2, seed=8)
    other.train()
    assert not np.array_equal(other.model.batches[0], runs[0][0])


def test_no_seed_draws_from_numpy_global_state_like_the_course():
    np.random.seed(231)
    solver = _quiet(ScriptedModel(), _indexed_data(40, 5), batch_size=8, num_epochs=1)
    solver.train()
    np.random.seed(231)
    assert np.array_equal(solver.model.batches[0], np.random.choice(40, 8))


# --------------------------------------------------------------------------
# check_accuracy
# --------------------------------------------------------------------------

class LookupModel:
    """Scores one-hot on the true label of each row (looked up), recording batch sizes."""

    def __init__(self, X, y, num_classes=3):
        self.params = {}
        self.labels = {tuple(row): label for row, label in zip(X, y)}
        self.num_classes = num_classes
        self.batch_sizes = []

    def loss(self, X, y=None):
        self.batch_sizes.append(len(X))
        return np.eye(self.num_classes)[[self.labels[tuple(row)] for row in X]]


def test_check_accuracy_batches_and_subsamples():
    X, y = _blobs(n=53)
    model = LookupModel(X, y)
    solver = _quiet(model, {"X_train": X, "y_train": y, "X_val": X, "y_val": y}, seed=0)
    assert solver.check_accuracy(X, y, batch_size=10) == 1.0
    assert model.batch_sizes == [10, 10, 10, 10, 10, 3]
    assert solver.check_accuracy(X, (y + 1) % 3, batch_size=7) == 0.0
    model.batch_sizes.clear()
    assert solver.check_accuracy(X, y, num_samples=20) == 1.0
    assert model.batch_sizes == [20]
    model.batch_sizes.clear()
    half_wrong = np.where(np.arange(53) < 26, y, (y + 1) % 3)
    assert solver.check_accuracy(X, half_wrong, num_samples=100) == pytest.approx(26 / 53)
    assert model.batch_sizes == [53]  # num_samples >= N: every point, once


def test_training_accuracy_uses_num_train_samples():
    data = _indexed_data(1500, 5)
    model = ScriptedModel()
    sizes = []
    original = Solver.check_accuracy

    def recording(self, X, y, num_samples=None, batch_size=100):
        sizes.append((len(X), num_samples))
        return original(self, X, y, num_samples, batch_size)

    solver = _quiet(model, data, batch_size=1500, num_epochs=1, seed=0)
    solver.check_accuracy = recording.__get__(solver)
    solver.train()
    assert sizes == [(1500, 1000), (5, None)]


# --------------------------------------------------------------------------
# Options, per-parameter state, checkpoints, output
# --------------------------------------------------------------------------

def test_options_are_validated():
    data = _indexed_data(10, 5)
    with pytest.raises(ValueError, match="Unrecognized"):
        Solver(ScriptedModel(), data, learning_rate=1e-3)
    with pytest.raises(ValueError, match="update_rule"):
        Solver(ScriptedModel(), data, update_rule="adagrad")
    with pytest.raises(ValueError, match="update_rule"):
        Solver(ScriptedModel(), data, update_rule="_with_defaults")
    assert Solver(ScriptedModel(), data, update_rule="adam").update_rule is optim.adam


def test_each_parameter_has_its_own_optimizer_state():
    X, y = _blobs()
    data = {"X_train": X, "y_train": y, "X_val": X, "y_val": y}
    np.random.seed(0)
    model = FullyConnectedNet([8], input_dim=5, num_classes=3, dtype=np.float64)
    solver = _quiet(model, data, update_rule="sgd_momentum",
                    optim_config={"learning_rate": 1e-2}, batch_size=20, num_epochs=1, seed=0)
    solver.train()
    assert sorted(solver.optim_configs) == sorted(model.params)
    for name, config in solver.optim_configs.items():
        assert config["velocity"].shape == model.params[name].shape
    assert solver.optim_config == {"learning_rate": 1e-2}


def test_solver_trains_a_two_layer_net_on_blobs():
    from reference.cs231n.classifiers.fc_net import TwoLayerNet
    X, y = _blobs(seed=1, n=300)
    data = {"X_train": X[:200], "y_train": y[:200], "X_val": X[200:], "y_val": y[200:]}
    np.random.seed(1)
    model = TwoLayerNet(input_dim=5, hidden_dim=20, num_classes=3, weight_scale=0.1)
    solver = _quiet(model, data, update_rule="adam", optim_config={"learning_rate": 1e-2},
                    batch_size=50, num_epochs=10, seed=1)
    solver.train()
    assert solver.val_acc_history[0] < 0.9
    assert solver.best_val_acc >= 0.95
    assert solver.check_accuracy(data["X_val"], data["y_val"]) == solver.best_val_acc


def test_checkpoints(tmp_path):
    X, y = _blobs()
    data = {"X_train": X, "y_train": y, "X_val": X, "y_val": y}
    np.random.seed(0)
    model = FullyConnectedNet([8], input_dim=5, num_classes=3, dtype=np.float64)
    name = str(tmp_path / "run")
    solver = _quiet(model, data, batch_size=30, num_epochs=2, seed=0, checkpoint_name=name,
                    optim_config={"learning_rate": 1e-2})
    solver.train()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "run_epoch_0.pkl", "run_epoch_1.pkl", "run_epoch_2.pkl"]
    with open(tmp_path / "run_epoch_2.pkl", "rb") as f:
        checkpoint = pickle.load(f)
    assert checkpoint["epoch"] == 2
    assert checkpoint["loss_history"] == solver.loss_history
    assert checkpoint["val_acc_history"] == solver.val_acc_history
    assert checkpoint["batch_size"] == 30


def test_verbose_output(capsys):
    solver = Solver(ScriptedModel({1: 2}), _indexed_data(10, 4), update_rule="sgd",
                    optim_config={"learning_rate": 1.0}, batch_size=5, num_epochs=2,
                    print_every=3)
    solver.train()
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "(Iteration 1 / 4) loss: 0.000000",
        "(Epoch 0 / 2) train acc: 0.200000; val_acc: 0.500000",
        "(Epoch 1 / 2) train acc: 0.000000; val_acc: 0.000000",
        "(Iteration 4 / 4) loss: 3.000000",
        "(Epoch 2 / 2) train acc: 0.000000; val_acc: 0.000000",
    ]
