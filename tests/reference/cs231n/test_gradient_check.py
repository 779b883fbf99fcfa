"""Numerical and directional gradient checks (reference/cs231n/gradient_check.py)."""

from __future__ import annotations

import numpy as np

from reference.cs231n.gradient_check import (directional_check, eval_numerical_gradient,
                                             eval_numerical_gradient_array, grad_check_sparse,
                                             rel_error)


def test_rel_error_is_zero_for_equal_and_one_for_opposite() -> None:
    x = np.array([1.0, -2.0, 3.0])
    assert rel_error(x, x) == 0.0
    assert rel_error(x, -x) == 1.0


def test_numerical_gradient_of_quadratic() -> None:
    rng = np.random.default_rng(0)
    A = rng.standard_normal((4, 4))
    x = rng.standard_normal(4)
    grad = eval_numerical_gradient(lambda v: float(v @ A @ v), x)
    assert rel_error(grad, (A + A.T) @ x) < 1e-8


def test_numerical_gradient_restores_input() -> None:
    x = np.arange(6, dtype=np.float64).reshape(2, 3)
    before = x.copy()
    eval_numerical_gradient(lambda v: float(np.sum(v ** 3)), x)
    np.testing.assert_array_equal(x, before)


def test_numerical_gradient_array_of_elementwise_square() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 2))
    df = rng.standard_normal((3, 2))
    grad = eval_numerical_gradient_array(lambda v: v ** 2, x, df)
    assert rel_error(grad, 2 * x * df) < 1e-8


def test_grad_check_sparse_small_for_right_gradient_large_for_wrong() -> None:
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 5))
    assert max(grad_check_sparse(lambda v: float(np.sum(np.sin(v))), x, np.cos(x))) < 1e-8
    assert max(grad_check_sparse(lambda v: float(np.sum(np.sin(v))), x, 2 * np.cos(x))) > 0.3


def _matmul(x, w):
    return x @ w


def test_directional_check_accepts_right_gradient() -> None:
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((4, 3)), rng.standard_normal((3, 2))
    df = rng.standard_normal((4, 2))
    result = directional_check(_matmul, {"x": x, "w": w}, {"x": df @ w.T, "w": x.T @ df}, df=df)
    assert result.rel_error < 1e-7


def test_directional_check_rejects_gradient_off_by_factor() -> None:
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal((4, 3)), rng.standard_normal((3, 2))
    df = rng.standard_normal((4, 2))
    result = directional_check(_matmul, {"x": x, "w": w}, {"x": df @ w.T, "w": 2 * x.T @ df}, df=df)
    assert result.rel_error > 1e-3


def test_directional_check_rejects_one_wrong_entry() -> None:
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((4, 3)), rng.standard_normal((3, 2))
    df = rng.standard_normal((4, 2))
    dx = df @ w.T
    dx[2, 1] += 0.5
    result = directional_check(_matmul, {"x": x, "w": w}, {"x": dx}, df=df)
    assert result.rel_error > 1e-3


def test_directional_check_scalar_function_defaults_df_to_one() -> None:
    x = np.array([0.3, -1.2, 2.0])
    result = directional_check(lambda x: np.sum(x ** 3), {"x": x}, {"x": 3 * x ** 2})
    assert result.rel_error < 1e-7
