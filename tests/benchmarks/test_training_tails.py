"""benchmarks/training_tails.py: the measurement runs the checks modules' own training problems."""

import pytest

import training_tails


def test_summary_gives_min_first_percentile_and_median():
    row = training_tails.summary([0.9, 0.8, 1.0, 0.95])
    assert row["n"] == 4 and row["min"] == 0.8 and row["max"] == 1.0
    assert row["median"] == pytest.approx(0.925)
    assert 0.8 < row["p1"] < 0.9


def test_the_numpy_overfitting_runs_are_the_checks_own_under_each_secret():
    found = training_tails.numpy_overfits(2)
    assert set(found) == {"fc_nets FullyConnectedNet.loss/overfit", "cnn ThreeLayerConvNet/overfit"}
    for threshold, values in found.values():
        assert threshold == 0.9 and len(values) == 2
        assert all(value >= threshold for value in values), values
