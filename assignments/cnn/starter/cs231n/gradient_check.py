"""Numerical gradients, cs231n style, and a directional (vector-Jacobian) check.

The course hands students `eval_numerical_gradient` (for scalar functions such as
a loss) and `eval_numerical_gradient_array` (for array-valued layers, contracted
with an upstream gradient `df`).  The grader also needs a check whose cost does
not grow with the size of the input, which is what `directional_check` gives.

# Note [Directional gradient check]
A backward pass computes the vector-Jacobian product  g = J^T df.  For a random
direction v, the directional derivative of <df, f(x)> along v is

    d/dt <df, f(x + t v)>  =  <df, J v>  =  <J^T df, v>  =  <g, v>,

so one central difference (two forward calls) checks the whole gradient up to a
scalar, whatever the size of x.  A wrong gradient passes only if its error is
orthogonal to v, which has probability zero for a random Gaussian v.  When the
scalar check fails, the element-wise numerical gradient tells *which* entries are
wrong (as torch.autograd.gradcheck's fast mode falls back to its slow mode).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


def rel_error(x, y) -> float:
    """Largest element-wise relative error, as the course notebooks define it."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def eval_numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray,
                            verbose: bool = False, h: float = 1e-5) -> np.ndarray:
    """Central-difference gradient of a scalar function `f` at `x`.

    `x` is perturbed in place and restored after each entry, so `f` must read
    `x` (for example a closure over model parameters).
    """
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        fxph = f(x)
        x[ix] = old - h
        fxmh = f(x)
        x[ix] = old
        grad[ix] = (fxph - fxmh) / (2 * h)
        if verbose:
            print(ix, grad[ix])
        it.iternext()
    return grad


def eval_numerical_gradient_array(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray,
                                  df: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Central-difference gradient of sum(f(x) * df) at `x`, for array-valued `f`."""
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        pos = np.array(f(x), copy=True)
        x[ix] = old - h
        neg = np.array(f(x), copy=True)
        x[ix] = old
        grad[ix] = np.sum((pos - neg) * df) / (2 * h)
        it.iternext()
    return grad


def grad_check_sparse(f: Callable[[np.ndarray], float], x: np.ndarray, analytic_grad: np.ndarray,
                      num_checks: int = 10, h: float = 1e-5, seed: int = 0) -> list[float]:
    """Compare `analytic_grad` with central differences at `num_checks` random entries."""
    rng = np.random.default_rng(seed)
    errors = []
    for _ in range(num_checks):
        ix = tuple(int(rng.integers(m)) for m in x.shape)
        old = x[ix]
        x[ix] = old + h
        fxph = f(x)
        x[ix] = old - h
        fxmh = f(x)
        x[ix] = old
        numeric = (fxph - fxmh) / (2 * h)
        analytic = analytic_grad[ix]
        errors.append(abs(numeric - analytic) / max(1e-12, abs(numeric) + abs(analytic)))
    return errors


@dataclass(frozen=True)
class DirectionalResult:
    """Outcome of one directional check: the two estimates of <g, v> and their relative error."""
    numeric: float
    analytic: float
    rel_error: float


def directional_check(f: Callable[..., np.ndarray], inputs: dict[str, np.ndarray],
                      grads: dict[str, np.ndarray], df: np.ndarray | None = None,
                      h: float = 1e-6, seed: int = 0) -> DirectionalResult:
    """Check analytic gradients `grads` of `<df, f(**inputs)>` along one random direction.

    `inputs` maps argument names to float64 arrays; `grads` maps a subset of those
    names to the claimed gradients.  `f` may return a scalar (then `df` defaults
    to 1).  Only the inputs named in `grads` are perturbed.  See
    Note [Directional gradient check].
    """
    rng = np.random.default_rng(seed)
    directions = {name: rng.standard_normal(np.shape(inputs[name])) for name in grads}

    def objective(t: float) -> float:
        moved = {name: (value + t * directions[name] if name in directions else value)
                 for name, value in inputs.items()}
        out = np.asarray(f(**moved), dtype=np.float64)
        weight = np.ones_like(out) if df is None else df
        return float(np.sum(out * weight))

    numeric = (objective(h) - objective(-h)) / (2 * h)
    analytic = float(sum(np.sum(np.asarray(grads[n], dtype=np.float64) * directions[n]) for n in grads))
    scale = max(abs(numeric) + abs(analytic), 1e-8)
    return DirectionalResult(numeric, analytic, abs(numeric - analytic) / scale)
