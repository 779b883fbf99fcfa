"""Checks for `fc_nets`: affine and ReLU layers, the two losses (more entries to come)."""

from __future__ import annotations

import numpy as np

from grader.checks.builders import backward_check, forward_check
from grader.checks.compare import Signature
from grader.checks.spec import Sample
from reference.cs231n import layers as ref


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def affine_samples() -> list[Sample]:
    r = _rng(0)
    return [
        Sample("N=2, x (2,4,5,6)", (r.standard_normal((2, 4, 5, 6)), r.standard_normal((120, 3)),
                                    r.standard_normal(3))),
        Sample("N=1, x (1,7)", (r.standard_normal((1, 7)), r.standard_normal((7, 4)),
                                r.standard_normal(4))),
        Sample("N=5, x (5,3,2)", (r.standard_normal((5, 3, 2)), r.standard_normal((6, 5)),
                                  r.standard_normal(5))),
    ]


def relu_samples() -> list[Sample]:
    r = _rng(1)
    x = r.standard_normal((4, 5))
    x[np.abs(x) < 1e-2] = 0.5  # keep numerical gradients away from the kink
    return [Sample("x (4,5)", (x,)), Sample("x (1,3,2,2), N=1", (r.uniform(0.1, 1, (1, 3, 2, 2)) *
                                                                   np.sign(r.standard_normal((1, 3, 2, 2))),))]


def loss_samples() -> list[Sample]:
    r = _rng(2)
    return [
        Sample("N=50, C=10, small scores", (0.001 * r.standard_normal((50, 10)), r.integers(10, size=50))),
        Sample("N=1, C=3", (r.standard_normal((1, 3)), np.array([2]))),
        Sample("N=4, C=5, large logits (1e3)", (1e3 * r.standard_normal((4, 5)), r.integers(5, size=4))),
    ]


AFFINE_ARGS = ("x", "w", "b")
FORGOT_RESHAPE = "reshape x to (N, D) with x.reshape(x.shape[0], -1) before the product"

CHECKS = [
    forward_check("affine_forward", "layers", affine_samples(), ref.affine_forward,
                  arg_names=AFFINE_ARGS, hint=FORGOT_RESHAPE),
    *[backward_check("affine_forward", "affine_backward", "layers", affine_samples(),
                     ref.affine_forward, ref.affine_backward, grad=g, grad_index=i, wrt=i,
                     arg_names=AFFINE_ARGS,
                     hint={"dx": "dx = dout @ w.T, reshaped back to x's shape",
                           "dw": "dw = x.reshape(N, -1).T @ dout",
                           "db": "db sums dout over the batch axis (axis=0)"}[g])
      for i, g in enumerate(("dx", "dw", "db"))],
    forward_check("relu_forward", "layers", relu_samples(), ref.relu_forward, arg_names=("x",),
                  hint="out = np.maximum(0, x)"),
    backward_check("relu_forward", "relu_backward", "layers", relu_samples(), ref.relu_forward,
                   ref.relu_backward, grad="dx", grad_index=0, wrt=0, arg_names=("x",),
                   single_grad=True, hint="dx = dout * (x > 0)"),
    forward_check("softmax_loss", "layers", loss_samples(), ref.softmax_loss, output="loss",
                  what="loss, dx", arg_names=("x", "y"),
                  hint="subtract the row max before exp so large logits do not overflow"),
    forward_check("softmax_loss", "layers", loss_samples(), ref.softmax_loss, output="dx", index=1,
                  what="loss, dx", arg_names=("x", "y"),
                  signatures=[Signature(lambda a, e: np.allclose(a, e * a.shape[0] / 1.0) and a.shape[0] > 1,
                                        "dx is not divided by N")],
                  hint="dx = (softmax(x) - one_hot(y)) / N"),
    forward_check("svm_loss", "layers", loss_samples(), ref.svm_loss, output="loss", what="loss, dx",
                  arg_names=("x", "y"), hint="margins = max(0, x - x[y] + 1), excluding the correct class"),
    forward_check("svm_loss", "layers", loss_samples(), ref.svm_loss, output="dx", index=1,
                  what="loss, dx", arg_names=("x", "y"),
                  hint="each positive margin adds 1/N to its class and subtracts 1/N from the correct class"),
]
