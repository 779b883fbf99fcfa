"""Checks of the tiny notebook assignment (the tiny ones): relu_forward, affine_forward, sgd."""

from __future__ import annotations

import numpy as np

from grader.checks.builders import forward_check
from grader.checks.spec import Sample
from reference.cs231n import layers, optim

_r = np.random.default_rng(0)

CHECKS = [
    forward_check("relu_forward", "layers", [Sample("x (3,4)", (_r.standard_normal((3, 4)),))],
                  layers.relu_forward, arg_names=("x",), hint="out = np.maximum(0, x)"),
    forward_check("sgd", "optim",
                  [Sample("w (2,3)", (_r.standard_normal((2, 3)), _r.standard_normal((2, 3))),
                          {"config": {"learning_rate": 0.1}})],
                  optim.sgd, output="next_w", what="next_w, config", arg_names=("w", "dw")),
    forward_check("affine_forward", "layers",
                  [Sample("N=2, x (2,3)", (_r.standard_normal((2, 3)), _r.standard_normal((3, 4)),
                                           _r.standard_normal(4)))],
                  layers.affine_forward, arg_names=("x", "w", "b")),
]
