"""`grade selfcheck`: show that the reference library is right before trusting it.

Every verdict the grader gives is relative to `reference/`.  This command lets
an instructor (and CI, and `make demo`) see, in a few seconds, that on this
machine the reference reproduces the course's published vectors, that each
backward pass agrees with numerical gradients, and (optionally) that the numpy
layers agree with PyTorch and TensorFlow.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np


@dataclass(frozen=True)
class SelfCheckRow:
    """One line of the self-check table."""
    group: str
    name: str
    error: float
    tolerance: float
    seconds: float
    note: str = ""

    @property
    def ok(self) -> bool:
        return bool(np.isfinite(self.error)) and self.error <= self.tolerance


def _published_rows() -> Iterable[SelfCheckRow]:
    from reference.published import PUBLISHED, reproduce
    for vector in PUBLISHED:
        start = time.perf_counter()
        result = reproduce(vector)
        yield SelfCheckRow("published", vector.name, result.max_abs_error, result.tolerance,
                           time.perf_counter() - start, f"rel_error {result.rel_error:.1e}")


# Note [Self-check gradient cases]
# One small float64 case per backward pass, chosen to include the awkward
# shapes (stride 2, odd sizes, N=1).  The error is the course's rel_error between
# the analytic gradient and the central-difference one; 1e-7 is the bound the
# reference's own tests use.  This is a smoke test, not the full test suite.
def _gradient_cases() -> list[tuple[str, Callable[[], float]]]:
    from reference.cs231n import layers as L
    from reference.cs231n.gradient_check import eval_numerical_gradient_array, rel_error

    rng = np.random.default_rng(0)

    def worst(forward, backward, inputs: dict, names: list[str]) -> float:
        out, cache = forward(**inputs)
        dout = rng.standard_normal(out.shape)
        grads = backward(dout, cache)
        if not isinstance(grads, tuple):  # relu_backward, max_pool_backward return dx alone
            grads = (grads,)
        errors = []
        for name, grad in zip(names, grads):
            def f(value, name=name):
                moved = dict(inputs, **{name: value})
                return forward(**moved)[0]
            numeric = eval_numerical_gradient_array(f, inputs[name].copy(), dout)
            errors.append(rel_error(numeric, grad))
        return max(errors)

    def affine():
        return worst(L.affine_forward, L.affine_backward,
                     {"x": rng.standard_normal((3, 2, 3)), "w": rng.standard_normal((6, 4)),
                      "b": rng.standard_normal(4)}, ["x", "w", "b"])

    def relu():
        x = rng.standard_normal((4, 5))
        x[np.abs(x) < 1e-3] = 0.5  # keep away from the kink
        return worst(L.relu_forward, L.relu_backward, {"x": x}, ["x"])

    def batchnorm():
        param = {"mode": "train"}
        return worst(lambda x, gamma, beta: L.batchnorm_forward(x, gamma, beta, dict(param)),
                     L.batchnorm_backward,
                     {"x": 3 * rng.standard_normal((5, 4)) + 2, "gamma": rng.standard_normal(4),
                      "beta": rng.standard_normal(4)}, ["x", "gamma", "beta"])

    def layernorm():
        return worst(lambda x, gamma, beta: L.layernorm_forward(x, gamma, beta, {}),
                     L.layernorm_backward,
                     {"x": 3 * rng.standard_normal((4, 5)) + 2, "gamma": rng.standard_normal(5),
                      "beta": rng.standard_normal(5)}, ["x", "gamma", "beta"])

    def conv():
        param = {"stride": 2, "pad": 1}
        return worst(lambda x, w, b: L.conv_forward_naive(x, w, b, param), L.conv_backward_naive,
                     {"x": rng.standard_normal((1, 2, 5, 5)), "w": rng.standard_normal((3, 2, 3, 3)),
                      "b": rng.standard_normal(3)}, ["x", "w", "b"])

    def max_pool():
        param = {"pool_height": 2, "pool_width": 2, "stride": 2}
        return worst(lambda x: L.max_pool_forward_naive(x, param), L.max_pool_backward_naive,
                     {"x": rng.permutation(2 * 3 * 4 * 4).reshape(2, 3, 4, 4) / 7.0}, ["x"])

    def spatial_batchnorm():
        return worst(lambda x, gamma, beta: L.spatial_batchnorm_forward(x, gamma, beta, {"mode": "train"}),
                     L.spatial_batchnorm_backward,
                     {"x": rng.standard_normal((2, 3, 3, 5)), "gamma": rng.standard_normal(3),
                      "beta": rng.standard_normal(3)}, ["x", "gamma", "beta"])

    def spatial_groupnorm():
        return worst(lambda x, gamma, beta: L.spatial_groupnorm_forward(x, gamma, beta, 2, {}),
                     L.spatial_groupnorm_backward,
                     {"x": rng.standard_normal((2, 4, 3, 3)),
                      "gamma": rng.standard_normal((1, 4, 1, 1)),
                      "beta": rng.standard_normal((1, 4, 1, 1))}, ["x", "gamma", "beta"])

    return [("affine_backward", affine), ("relu_backward", relu),
            ("batchnorm_backward", batchnorm), ("layernorm_backward", layernorm),
            ("conv_backward_naive (stride 2, N=1)", conv), ("max_pool_backward_naive", max_pool),
            ("spatial_batchnorm_backward", spatial_batchnorm),
            ("spatial_groupnorm_backward (G=2)", spatial_groupnorm)]


def _gradient_rows() -> Iterable[SelfCheckRow]:
    for name, case in _gradient_cases():
        start = time.perf_counter()
        error = case()
        yield SelfCheckRow("gradients", name, error, 1e-7, time.perf_counter() - start)


def _framework_rows() -> Iterable[SelfCheckRow]:
    """Numpy layers against torch.nn.functional, float64."""
    from reference.cs231n import layers as L
    start = time.perf_counter()
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        yield SelfCheckRow("frameworks", "torch", float("nan"), 0.0, 0.0, "torch not installed")
        return
    import_seconds = time.perf_counter() - start
    rng = np.random.default_rng(1)

    def timed(name: str, compute: Callable[[], float], extra: float = 0.0) -> SelfCheckRow:
        t0 = time.perf_counter()
        error = compute()
        return SelfCheckRow("frameworks", name, error, 1e-10, time.perf_counter() - t0 + extra)

    x = rng.standard_normal((2, 3, 7, 6))
    w = rng.standard_normal((4, 3, 3, 3))
    b = rng.standard_normal(4)

    def conv() -> float:
        ours, _ = L.conv_forward_naive(x, w, b, {"stride": 2, "pad": 1})
        theirs = F.conv2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b),
                          stride=2, padding=1).numpy()
        return float(np.max(np.abs(ours - theirs)))

    def pool() -> float:
        ours, _ = L.max_pool_forward_naive(x, {"pool_height": 2, "pool_width": 2, "stride": 2})
        theirs = F.max_pool2d(torch.from_numpy(x), 2, 2).numpy()
        return float(np.max(np.abs(ours - theirs)))

    def groupnorm() -> float:
        xg = rng.standard_normal((2, 4, 3, 3))
        gamma, beta = rng.standard_normal((1, 4, 1, 1)), rng.standard_normal((1, 4, 1, 1))
        ours, _ = L.spatial_groupnorm_forward(xg, gamma, beta, 2, {"eps": 1e-5})
        theirs = F.group_norm(torch.from_numpy(xg), 2, torch.from_numpy(gamma.ravel()),
                              torch.from_numpy(beta.ravel()), eps=1e-5).numpy()
        return float(np.max(np.abs(ours - theirs)))

    yield timed("conv_forward_naive vs torch conv2d", conv, import_seconds)
    yield timed("max_pool_forward_naive vs torch max_pool2d", pool)
    yield timed("spatial_groupnorm_forward vs torch group_norm", groupnorm)


def format_table(rows: list[SelfCheckRow]) -> str:
    """A plain-text table, one line per row, grouped as produced."""
    width = max(len(r.name) for r in rows)
    lines = [f"{'':4}{'check':<{width}}  {'error':>9}  {'bound':>9}  {'time':>7}",
             "-" * (width + 37)]
    group = None
    for row in rows:
        if row.group != group:
            group = row.group
            lines.append(f"[{group}]")
        mark = "ok " if row.ok else "BAD"
        lines.append(f"{mark} {row.name:<{width}}  {row.error:9.1e}  {row.tolerance:9.1e}  "
                     f"{row.seconds:6.2f}s" + (f"  {row.note}" if row.note else ""))
    return "\n".join(lines)


def run_selfcheck(include_frameworks: bool = True) -> int:
    """Print the self-check table; exit status 0 when every row is within its bound."""
    rows: list[SelfCheckRow] = []
    sources = [_published_rows, _gradient_rows] + ([_framework_rows] if include_frameworks else [])
    for source in sources:
        rows.extend(source())
    # --no-frameworks (make demo's) ran none of the framework rows: the title says so rather
    # than promising them
    print("Reference self-check: published course vectors, numerical gradients, "
          + ("frameworks\n" if include_frameworks else "no frameworks (--no-frameworks)\n"))
    print(format_table(rows))
    bad = [r for r in rows if not r.ok]
    print()
    if bad:
        print(f"{len(bad)} of {len(rows)} checks outside their bound: the reference is not "
              "trustworthy on this machine.")
        return 1
    print(f"All {len(rows)} checks within their bounds.")
    return 0
