"""Helpers shared by the classifier tests: numerical gradients of a model's loss and the digits data."""

from __future__ import annotations

import numpy as np
import pytest

from reference.cs231n.gradient_check import eval_numerical_gradient, rel_error


def _gradient_errors(model, X, y, h=1e-5, skip=()):
    """rel_error between analytic and numerical gradients of model.loss, per parameter.

    Parameters named in `skip` are left out (the caller checks them another way).
    Returns (errors: dict name -> float, grads: the analytic gradients).
    """
    _, grads = model.loss(X, y)
    assert sorted(grads) == sorted(model.params)
    errors = {}
    for name in sorted(grads):
        if name in skip:
            continue
        numeric = eval_numerical_gradient(lambda _: model.loss(X, y)[0], model.params[name], h=h)
        errors[name] = rel_error(numeric, grads[name])
    return errors, grads


@pytest.fixture
def gradient_errors():
    """The function `_gradient_errors(model, X, y, h=1e-5, skip=())`."""
    return _gradient_errors


@pytest.fixture(scope="session")
def digits():
    """scikit-learn's bundled 8x8 digits: X (1797, 1, 8, 8) float64 scaled to [0, 1] and centred, y (1797,)."""
    datasets = pytest.importorskip("sklearn.datasets")
    bunch = datasets.load_digits()
    X = bunch.images[:, None, :, :] / 16.0
    X = X - X.mean(axis=0)
    return X, bunch.target.astype(np.int64)
